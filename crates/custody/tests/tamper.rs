//! Every kind of tampering with a ledger or its evidence is found and named.

use custody::{
    Against, Anchor, AnchorCheck, Artifact, Draft, Entry, Kind, Stored, Trust, chain, sha256_hex,
    signing_key, verify,
};
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
            case_id: case::CaseId(7),
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
    let trust = Trust {
        keys: trusted
            .then(|| signing_key(SEED).unwrap().verifying_key())
            .into_iter()
            .collect(),
        required: trusted,
    };
    let v = verify(
        case::CaseId(7),
        entries,
        &[],
        Against {
            witness,
            pending: &[],
            trust: &trust,
            anchor: Err(AnchorCheck::NotConfigured),
        },
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
        case_id: case::CaseId(7),
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
    assert_eq!(check(&e, &b, &w, true), [(Kind::UnknownKey, 6)]);
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
    let (back, bad) = custody::parse_ledger(&text);
    assert_eq!(back, e);
    assert!(bad.is_empty());
    let (_, bad) = custody::parse_ledger("{\"seq\":1}\nnot json\n");
    assert_eq!(
        bad.iter().map(|m| m.line).collect::<Vec<_>>(),
        [1, 2],
        "{bad:?}"
    );
    let v = verify(
        case::CaseId(7),
        &e,
        &[],
        Against {
            witness: &w,
            pending: &[],
            trust: &Trust::default(),
            anchor: Err(AnchorCheck::NotConfigured),
        },
        |_| Stored::Intact,
    );
    let html = custody::report::html(case::CaseId(7), &e, &v, 0);
    assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
    let m = custody::report::manifest(case::CaseId(7), &e, &v, 0);
    assert_eq!(m["artifacts"].as_array().unwrap().len(), b.len());
    assert_eq!(
        m["verified"], false,
        "entry 1 no longer matches its signature or the witness"
    );
}

/// The ledger rewritten whole and re-signed by an intruder's key (with the witness rewritten
/// to match) verifies against no key the IR plan lists: before, verify trusted the key each
/// entry carried.
#[test]
fn signatures_are_checked_against_the_plans_keys_never_the_entrys_own() {
    let (e, b, _) = ledger(true);
    let intruder = signing_key(&"33".repeat(32)).unwrap();
    let mut forged: Vec<Entry> = Vec::new();
    for x in &e {
        let mut d = x.body.clone();
        d.actor = "mallory".into();
        forged.push(chain(forged.last(), d, Some(&intruder)));
    }
    let w: Vec<(u64, String)> = forged.iter().map(|x| (x.seq, x.hash.clone())).collect();
    let found = check(&forged, &b, &w, true);
    assert_eq!(found.len(), 5, "{found:?}");
    assert!(
        found.iter().all(|(k, _)| *k == Kind::UnknownKey),
        "{found:?}"
    );
    // Re-written unsigned: every entry is unsigned where the plan requires signing.
    let mut plain: Vec<Entry> = Vec::new();
    for x in &e {
        plain.push(chain(plain.last(), x.body.clone(), None));
    }
    let w: Vec<(u64, String)> = plain.iter().map(|x| (x.seq, x.hash.clone())).collect();
    assert!(
        check(&plain, &b, &w, true)
            .iter()
            .all(|(k, _)| *k == Kind::Unsigned)
    );
}

/// Unknown members and digests that are not SHA-256 are named findings: never ignored,
/// never a panic, never a read outside the locker.
#[test]
fn a_hostile_ledger_is_named_line_by_line() {
    let (e, _, _) = ledger(false);
    let mut lines: Vec<String> = e.iter().map(Entry::to_line).collect();
    lines[1] = lines[1].replacen("{", "{\"note\":\"ignore me\",", 1);
    let escape = e[2].body.artifact.as_ref().unwrap().sha256.clone();
    lines[2] = lines[2].replace(&escape, "../../../../etc/passwd");
    lines[3] = lines[3].replace(&e[3].body.artifact.as_ref().unwrap().sha256, "zz");
    let text = lines.join("\n");
    let (good, bad) = custody::parse_ledger(&text);
    assert_eq!(good.len(), 2);
    assert_eq!(bad.iter().map(|m| m.line).collect::<Vec<_>>(), [2, 3, 4]);
    assert!(bad[0].message.contains("unknown field `note`"), "{bad:?}");
    assert!(bad[1].message.contains("is not a SHA-256"), "{bad:?}");
    // An entry built in memory with a bad digest: a finding, and the store is never asked.
    let mut hostile = e.clone();
    hostile[0].body.artifact.as_mut().unwrap().sha256 = "../x".into();
    let w: Vec<(u64, String)> = e.iter().map(|x| (x.seq, x.hash.clone())).collect();
    let v = verify(
        case::CaseId(7),
        &hostile,
        &bad,
        Against {
            witness: &w,
            pending: &[],
            trust: &Trust::default(),
            anchor: Err(AnchorCheck::NotConfigured),
        },
        |a| {
            assert!(custody::is_sha256_hex(&a.sha256), "asked for {}", a.sha256);
            Stored::Intact
        },
    );
    let kinds: Vec<Kind> = v.problems.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == Kind::Malformed).count(),
        4,
        "{:#?}",
        v.problems
    );
}

/// A consistent rewrite of ledger and witness together passes every local check; only the
/// anchor outside the host catches it. An entry a writer announced but never witnessed is an
/// interruption, not tampering.
#[test]
fn the_anchor_catches_a_consistent_rewrite_and_interruptions_are_told_apart() {
    let (e, b, w) = ledger(false);
    let anchor = Anchor {
        case_id: case::CaseId(7),
        seq: 5,
        hash: e[4].hash.clone(),
        at_ms: 1,
    };
    let run = |entries: &[Entry], witness: &[(u64, String)], pending: &[(u64, String)]| {
        verify(
            case::CaseId(7),
            entries,
            &[],
            Against {
                witness,
                pending,
                trust: &Trust::default(),
                anchor: Ok(Some((
                    anchor.clone(),
                    "s3://evidence/cases/7/anchor".into(),
                ))),
            },
            |a| match b.get(&a.sha256) {
                Some(_) => Stored::Intact,
                None => Stored::Missing,
            },
        )
    };
    let v = run(&e, &w, &[]);
    assert!(v.ok(), "{v:#?}");
    assert!(matches!(v.anchor, AnchorCheck::Holds { seq: 5, .. }));
    let mut rewritten: Vec<Entry> = Vec::new();
    for x in &e {
        let mut d = x.body.clone();
        d.action = "never-collected".into();
        rewritten.push(chain(rewritten.last(), d, None));
    }
    let w2: Vec<(u64, String)> = rewritten.iter().map(|x| (x.seq, x.hash.clone())).collect();
    let v = run(&rewritten, &w2, &[]);
    assert_eq!(
        v.problems
            .iter()
            .map(|p| (p.kind, p.seq))
            .collect::<Vec<_>>(),
        [(Kind::AnchorMismatch, 5)],
        "{v:#?}"
    );
    let v = run(&e[..3], &w[..3], &[]);
    assert!(
        v.problems.iter().any(|p| p.kind == Kind::AnchorMismatch),
        "{v:#?}"
    );
    // Interrupted: entry 5 appended and announced, not witnessed.
    let v = run(&e, &w[..4], &[(5, e[4].hash.clone())]);
    assert_eq!(
        v.problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
        [Kind::Interrupted]
    );
    // Announced with another hash: the entry is still an addition.
    let v = run(&e, &w[..4], &[(5, "0".repeat(64))]);
    assert_eq!(
        v.problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
        [Kind::Added]
    );
}
