//! The store on its own: grouping and merging across hunts, the append-only history, and
//! schema versions.

use case::summary::AlertRecord;
use case::{DefaultMatrix, Domain, GroupingConfig, Phase};
use model::{Entity, EntityKind, Severity};
use store::{Store, StoreError};

const H: i64 = 3_600_000;

fn alert(
    key: &str,
    t: i64,
    severity: Severity,
    tactics: &[&str],
    entities: &[(EntityKind, &str)],
) -> AlertRecord {
    AlertRecord {
        key: key.into(),
        rule_id: format!("rule-{key}"),
        rule_title: format!("Rule {key}"),
        severity,
        kind: "rule".into(),
        time_ms: Some(t),
        event_key: format!("cloudtrail:{key}"),
        source: "cloudtrail".into(),
        operation: None,
        principal: None,
        access_key_id: None,
        src_ip: None,
        account: Some("111122223333".into()),
        region: None,
        location: format!("f:{t}"),
        tactics: tactics.iter().map(|s| s.to_string()).collect(),
        techniques: vec![],
        domain: Domain::Service,
        resource_tags: vec![],
        entities: entities
            .iter()
            .map(|(k, v)| Entity::new(*k, *v))
            .chain([Entity::new(EntityKind::Account, "111122223333")])
            .collect(),
    }
}

fn user(n: &str) -> String {
    format!("arn:aws:iam::111122223333:user/{n}")
}

#[test]
fn a_later_alert_linking_two_cases_merges_them_into_the_older() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("c.db")).unwrap();
    let (a, b) = (user("a"), user("b"));
    let first = [
        alert(
            "1",
            0,
            Severity::Medium,
            &["discovery"],
            &[(EntityKind::Principal, &a)],
        ),
        alert(
            "2",
            H,
            Severity::Low,
            &["persistence"],
            &[(EntityKind::Principal, &b)],
        ),
    ];
    let out = s
        .record_hunt(&first, GroupingConfig::default(), &DefaultMatrix, "t", 10)
        .unwrap();
    assert_eq!(out.cases_opened, vec![case::CaseId(1), case::CaseId(2)]);
    s.assign(case::CaseId(2), "bob", "t", 11).unwrap();
    s.add_note(case::CaseId(2), "b looks like a CI user", false, "t", 12)
        .unwrap();

    // An alert naming both principals (e.g. one created the other's key) links the cases.
    let link = [alert(
        "3",
        2 * H,
        Severity::High,
        &["privilege-escalation"],
        &[(EntityKind::Principal, &a), (EntityKind::Principal, &b)],
    )];
    let out = s
        .record_hunt(&link, GroupingConfig::default(), &DefaultMatrix, "t", 20)
        .unwrap();
    assert_eq!(out.merges, vec![(case::CaseId(2), case::CaseId(1))]);
    assert!(out.cases_opened.is_empty());
    let merged = s.case(case::CaseId(2)).unwrap();
    assert_eq!(merged.merged_into, Some(case::CaseId(1)));
    assert!(matches!(
        s.live_case(case::CaseId(2)),
        Err(StoreError::Merged {
            id: case::CaseId(2),
            into: case::CaseId(1)
        })
    ));
    let c = s.case(case::CaseId(1)).unwrap();
    assert_eq!(c.alert_count, 3);
    // Three tactics: the default matrix raises the highest alert severity one level.
    assert_eq!(c.severity, Severity::Critical);
    assert_eq!(
        s.notes(case::CaseId(1)).unwrap().len(),
        1,
        "notes follow the merge"
    );
    let audit = s.audit(case::CaseId(1)).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "absorbed" && e.detail["case"] == 2)
    );
    assert!(
        audit
            .iter()
            .any(|e| e.case_id == case::CaseId(2) && e.action == "merged"),
        "the merged case's history is kept"
    );
    assert!(
        audit
            .iter()
            .any(|e| e.action == "severity" && e.detail["to"] == "critical")
    );
    assert_eq!(s.check().unwrap(), Vec::<String>::new());
    assert_eq!(
        s.cases(false).unwrap().len(),
        1,
        "merged cases leave the list"
    );

    // Outside the window, the same principal starts a new case; closed cases take no alerts.
    let late = [alert(
        "4",
        100 * H,
        Severity::Low,
        &[],
        &[(EntityKind::Principal, &a)],
    )];
    let out = s
        .record_hunt(&late, GroupingConfig::default(), &DefaultMatrix, "t", 30)
        .unwrap();
    assert_eq!(out.cases_opened, vec![case::CaseId(3)]);

    // A queue page reads every case's SLA milestones at once, as each case alone would:
    // case 1's assignment came with the case merged into it.
    s.add_note(case::CaseId(3), "told the owner", true, "t", 31)
        .unwrap();
    s.add_note(case::CaseId(3), "told legal", true, "t", 32)
        .unwrap();
    s.assign(case::CaseId(3), "carol", "t", 33).unwrap();
    s.transition(case::CaseId(3), Phase::Analyzing, None, "t", 34)
        .unwrap();
    let ids = [
        case::CaseId(3),
        case::CaseId(1),
        case::CaseId(2),
        case::CaseId(9),
    ];
    let many = s.sla_milestones(&ids).unwrap();
    for (id, m) in ids.iter().zip(&many) {
        let (assigned, communicated) = s.first_assigned_and_communicated(*id).unwrap();
        assert_eq!(m.assigned_ms, assigned, "case {id}");
        assert_eq!(m.communicated_ms, communicated, "case {id}");
        assert_eq!(m.transitions, s.transitions(*id).unwrap(), "case {id}");
    }
    assert_eq!(many[1].assigned_ms, Some(11), "through the merged case");
    assert_eq!(many[0].communicated_ms, Some(31));
    assert_eq!(many[0].assigned_ms, Some(33));
    assert_eq!(many[0].transitions.len(), 2);
    assert_eq!(many[3], store::SlaMilestones::default());
}

/// A store holding one case (id 1) with one low alert.
fn store_with_one_case(dir: &std::path::Path) -> Store {
    let mut s = Store::open(&dir.join("c.db")).unwrap();
    let a = user("a");
    s.record_hunt(
        &[alert(
            "1",
            0,
            Severity::Low,
            &[],
            &[(EntityKind::Principal, &a)],
        )],
        GroupingConfig::default(),
        &DefaultMatrix,
        "t",
        10,
    )
    .unwrap();
    s
}

#[test]
fn history_and_audit_are_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store_with_one_case(dir.path());
    s.assign(case::CaseId(1), "alice", "t", 11).unwrap();
    s.transition(case::CaseId(1), Phase::Analyzing, None, "alice", 12)
        .unwrap();
    let e = s
        .transition(case::CaseId(1), Phase::Analyzing, None, "alice", 13)
        .unwrap_err();
    assert!(e.to_string().contains("already analyzing"), "{e}");
    let before = s.audit(case::CaseId(1)).unwrap();
    for sql in [
        "UPDATE audit SET actor = 'mallory'",
        "DELETE FROM audit",
        "UPDATE transitions SET actor = 'mallory'",
        "DELETE FROM transitions",
    ] {
        let err = s.connection().execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(s.audit(case::CaseId(1)).unwrap(), before);
    let t = s.transitions(case::CaseId(1)).unwrap();
    assert_eq!(
        t.iter().map(|t| t.to).collect::<Vec<_>>(),
        vec![Phase::Detected, Phase::Analyzing]
    );
    assert!(matches!(
        s.close_task(case::CaseId(1), 99, store::TaskStatus::Done, "t", 14),
        Err(StoreError::NoTask {
            case: case::CaseId(1),
            task: 99
        })
    ));
    assert!(matches!(
        s.case(case::CaseId(42)),
        Err(StoreError::NoCase(case::CaseId(42)))
    ));
}

#[test]
fn schema_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let v = Store::open(&path).unwrap().schema_version().unwrap();
    assert!(v >= 1);
    assert_eq!(
        Store::open(&path).unwrap().schema_version().unwrap(),
        v,
        "re-opening migrates nothing"
    );
    Store::open(&path)
        .unwrap()
        .connection()
        .pragma_update(None, "user_version", v + 1)
        .unwrap();
    let err = Store::open(&path).err().expect("a newer schema is refused");
    assert!(err.to_string().contains("newer Firebreak"), "{err}");
    std::fs::write(
        dir.path().join("junk.db"),
        b"not a database at all, just text",
    )
    .unwrap();
    let err = Store::open(&dir.path().join("junk.db"))
        .err()
        .expect("junk is refused");
    assert!(err.to_string().contains("junk.db"), "{err}");
}

#[test]
fn a_version_1_store_migrates_keeping_its_cases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        // A store as the first release wrote it: schema 1, one case, one note.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(store::schema::MIGRATIONS[0]).unwrap();
        conn.execute_batch(
            "INSERT INTO cases (id, title, phase, phase_since_ms, severity, opened_ms, updated_ms) \
             VALUES (1, 'old case', 'analyzing', 5, 'high', 1, 5);
             INSERT INTO transitions (case_id, from_phase, to_phase, actor, at_ms) VALUES (1, NULL, 'detected', 't', 1);
             INSERT INTO transitions (case_id, from_phase, to_phase, actor, at_ms) VALUES (1, 'detected', 'analyzing', 't', 5);
             INSERT INTO notes (case_id, actor, at_ms, text) VALUES (1, 't', 3, 'kept');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(
        s.schema_version().unwrap(),
        store::schema::MIGRATIONS.len() as i64
    );
    let c = s.case(case::CaseId(1)).unwrap();
    assert_eq!((c.title.as_str(), c.severity), ("old case", Severity::High));
    assert_eq!((c.response, c.response_since_ms), (None, None));
    let notes = s.notes(case::CaseId(1)).unwrap();
    assert_eq!(notes.len(), 1);
    assert!(!notes[0].communication);
    assert_eq!(s.check().unwrap(), Vec::<String>::new());
}

/// The response and custody records refuse edits and deletes in the database itself:
/// response plans, approvals, the call log, the write-ahead call journal (settled once),
/// the custody witness and custody intents.
#[test]
fn response_and_custody_records_are_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store_with_one_case(dir.path());
    let plan = s
        .add_response_plan(
            case::CaseId(1),
            &store::NewResponsePlan {
                playbook: "pb",
                digest: &signing::Sha256Digest::parse(&"d".repeat(64)).unwrap(),
                plan_json: "{}",
                dry_run_json: None,
            },
            "t",
            11,
        )
        .unwrap();
    s.add_approval(plan, "alice", "{}", 12).unwrap();
    s.add_calls(
        plan,
        &[store::CallRow {
            step: "s@x".into(),
            phase: "run".into(),
            service: "iam".into(),
            operation: "UpdateAccessKey".into(),
            status: Some(200),
            ok: true,
            at_ms: 13,
        }],
    )
    .unwrap();
    let intent = s
        .intend_call(plan, "s@x", "run", "iam:UpdateAccessKey …", 14)
        .unwrap();
    s.settle_call(intent, r#"{"outcome":"landed"}"#, 15)
        .unwrap();
    assert!(
        s.settle_call(intent, r#"{"outcome":"failed"}"#, 16)
            .is_err(),
        "settled once"
    );
    s.announce_custody(case::CaseId(1), 1, &"e".repeat(64), 17)
        .unwrap();
    s.witness_custody(case::CaseId(1), 1, &"e".repeat(64), 18)
        .unwrap();
    for sql in [
        "UPDATE response_plans SET plan = '{\"steps\":[]}'",
        "UPDATE response_plans SET digest = 'x'",
        "UPDATE response_approvals SET approver = 'mallory'",
        "DELETE FROM response_approvals",
        "UPDATE response_calls SET ok = 0",
        "DELETE FROM response_calls",
        "UPDATE response_intents SET outcome = '{\"outcome\":\"failed\"}'",
        "UPDATE response_intents SET call = 'nothing'",
        "DELETE FROM response_intents",
        "UPDATE custody_witness SET hash = 'x'",
        "DELETE FROM custody_witness",
        "UPDATE custody_intents SET hash = 'x'",
        "DELETE FROM custody_intents",
    ] {
        let err = s.connection().execute(sql, []).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("append-only")
                || msg.contains("never edited")
                || msg.contains("settled once"),
            "{sql}: {msg}"
        );
    }
    assert_eq!(
        s.custody_witness(case::CaseId(1)).unwrap(),
        [(1, "e".repeat(64))]
    );
    assert_eq!(s.approvals(plan).unwrap().len(), 1);
    assert_eq!(
        s.intents(plan, None).unwrap()[0].outcome.as_deref(),
        Some(r#"{"outcome":"landed"}"#)
    );
}
