//! Every kind of tampering with a ledger or its evidence is found and named.

use custody::{Artifact, Draft, Entry, Kind, Stored, chain, sha256_hex, signing_key, verify};
use std::collections::BTreeMap;

const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/// A ledger, the bytes of its artifacts by hash, and the store's witness.
type Fixture = (Vec<Entry>, BTreeMap<String, Vec<u8>>, Vec<(u64, String)>);

/// Five entries, each with an artifact; the bytes by hash; the store's witness.
fn ledger(signed: bool) -> Fixture {
    let key = signing_key(SEED).unwrap();
    let mut entries: Vec<Entry> = Vec::new();
    let mut bytes = BTreeMap::new();
    for i in 1..=5u64 {
        let data = format!("evidence {i}").into_bytes();
        let a = Artifact {
            sha256: sha256_hex(&data),
            name: format!("e{i}.json"),
            size: data.len() as u64,
            source: format!("test:{i}"),
        };
        bytes.insert(a.sha256.clone(), data);
        let d = Draft {
            case_id: 7,
            at_ms: 1_790_000_000_000 + i as i64,
            actor: "carmen".into(),
            action: "collected".into(),
            artifact: Some(a),
            location: Some(format!("locker:e{i}")),
            detail: serde_json::json!({"i": i}),
        };
        let e = chain(entries.last(), d, signed.then_some(&key));
        entries.push(e);
    }
    let witness = entries.iter().map(|e| (e.seq, e.hash.clone())).collect();
    (entries, bytes, witness)
}

fn check(
    entries: &[Entry],
    bytes: &BTreeMap<String, Vec<u8>>,
    witness: &[(u64, String)],
    trusted: bool,
) -> Vec<(Kind, u64)> {
    let key = signing_key(SEED).unwrap().verifying_key();
    let v = verify(
        7,
        entries,
        witness,
        trusted.then_some(&key),
        |a: &Artifact| match bytes.get(&a.sha256) {
            None => Stored::Missing,
            Some(b) if sha256_hex(b) == a.sha256 => Stored::Intact,
            Some(b) => Stored::Changed {
                actual: sha256_hex(b),
            },
        },
    );
    v.problems.iter().map(|p| (p.kind, p.seq)).collect()
}

#[test]
fn an_untouched_ledger_verifies() {
    for signed in [false, true] {
        let (e, b, w) = ledger(signed);
        assert!(check(&e, &b, &w, signed).is_empty());
    }
}

#[test]
fn an_edited_entry_is_named() {
    let (mut e, b, w) = ledger(false);
    e[2].body.actor = "mallory".into();
    assert_eq!(check(&e, &b, &w, false), [(Kind::Edited, 3)]);
}

#[test]
fn an_edited_and_rehashed_entry_breaks_the_chain_and_the_witness() {
    let (mut e, b, w) = ledger(false);
    e[2].body.detail = serde_json::json!({"i": 99});
    e[2].hash = e[2].computed_hash();
    let found = check(&e, &b, &w, false);
    assert!(found.contains(&(Kind::Edited, 3)), "{found:?}");
    assert!(
        found.iter().all(|(k, s)| *k == Kind::Edited && *s == 3),
        "{found:?}"
    );
}

#[test]
fn a_rewritten_tail_differs_from_the_witness_and_its_signatures() {
    let (mut e, b, w) = ledger(true);
    // The intruder rewrites entry 3 and re-chains everything after it, without the key.
    e[2].body.action = "deleted".into();
    for i in 2..e.len() {
        if i > 2 {
            e[i].prev = e[i - 1].hash.clone();
        }
        e[i].hash = e[i].computed_hash();
    }
    let found = check(&e, &b, &w, true);
    for seq in 3..=5 {
        assert!(found.contains(&(Kind::Edited, seq)), "{seq}: {found:?}");
        assert!(
            found.contains(&(Kind::BadSignature, seq)),
            "{seq}: {found:?}"
        );
    }
}

#[test]
fn reordered_entries_are_named() {
    let (mut e, b, w) = ledger(false);
    e.swap(1, 2);
    assert_eq!(check(&e, &b, &w, false), [(Kind::Reordered, 2)]);
}

#[test]
fn removed_entries_are_named_in_the_middle_and_at_the_end() {
    let (mut e, b, w) = ledger(false);
    e.remove(2);
    assert_eq!(check(&e, &b, &w, false), [(Kind::Removed, 3)]);
    let (mut e, b, w) = ledger(false);
    e.pop();
    assert_eq!(check(&e, &b, &w, false), [(Kind::Removed, 5)]);
}

/// An entry nobody should have written.
fn mallory() -> Draft {
    Draft {
        case_id: 7,
        at_ms: 1,
        actor: "mallory".into(),
        action: "collected".into(),
        artifact: None,
        location: None,
        detail: serde_json::Value::Null,
    }
}

#[test]
fn an_added_entry_is_named_even_when_chained_correctly() {
    let (mut e, b, w) = ledger(false);
    let forged = chain(e.last(), mallory(), None);
    e.push(forged);
    assert_eq!(check(&e, &b, &w, false), [(Kind::Added, 6)]);
    // Signed ledgers refuse it even without the witness.
    let (mut e, b, _) = ledger(true);
    let forged = chain(
        e.last(),
        mallory(),
        Some(&signing_key(&"11".repeat(32)).unwrap()),
    );
    e.push(forged);
    let w: Vec<(u64, String)> = e.iter().map(|x| (x.seq, x.hash.clone())).collect();
    assert_eq!(check(&e, &b, &w, true), [(Kind::BadSignature, 6)]);
}

#[test]
fn changed_or_missing_artifact_bytes_are_named() {
    let (e, mut b, w) = ledger(false);
    let second = e[1].body.artifact.clone().unwrap();
    b.insert(second.sha256.clone(), b"evidence 2, altered".to_vec());
    let fourth = e[3].body.artifact.clone().unwrap();
    b.remove(&fourth.sha256);
    assert_eq!(
        check(&e, &b, &w, false),
        [(Kind::ArtifactChanged, 2), (Kind::ArtifactMissing, 4)]
    );
}

#[test]
fn unsigned_entries_fail_when_a_key_is_trusted() {
    let (e, b, w) = ledger(false);
    let found = check(&e, &b, &w, true);
    assert_eq!(found.len(), 5);
    assert!(found.iter().all(|(k, _)| *k == Kind::Unsigned));
}

#[test]
fn the_ledger_round_trips_through_its_file_and_reports_escape() {
    let (mut e, b, w) = ledger(true);
    e[0].body.actor = "<script>alert(1)</script>".into();
    e[0].hash = e[0].computed_hash();
    let text: String = e.iter().map(|x| x.to_line() + "\n").collect();
    let back = custody::parse_ledger(&text, "custody.jsonl").unwrap();
    assert_eq!(back, e);
    let err = custody::parse_ledger("{\"seq\":1}\nnot json\n", "custody.jsonl").unwrap_err();
    assert!(err.to_string().starts_with("custody.jsonl:1:"), "{err}");
    let v = verify(7, &e, &w, None, |_| Stored::Intact);
    let html = custody::report::html(7, &e, &v, 0);
    assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
    let m = custody::report::manifest(7, &e, &v, 0);
    assert_eq!(m["artifacts"].as_array().unwrap().len(), b.len());
    assert_eq!(
        m["verified"], false,
        "entry 1 no longer matches its signature or the witness"
    );
}
