//! Regulator clocks under the example plan, every bundled template's refusals, and metrics
//! over a generated set of cases with hand-computed answers.

use case::CaseId;
use model::time::parse_timestamp;
use report::clocks::regulatory;
use report::comms::{Audience, render, required_fields};
use report::metrics::{CaseTimes, Measure, compute};
use report::review::{CommunicationRecord, FactRecord};

fn at(s: &str) -> i64 {
    parse_timestamp(s).unwrap()
}

fn example() -> plan::IrPlan {
    plan::parse(plan::EXAMPLE, "example.toml", plan::Format::Toml).unwrap()
}

fn fact(id: i64, fact: &str, when: &str) -> FactRecord {
    FactRecord {
        id,
        fact: fact.into(),
        at_ms: at(when),
        note: None,
    }
}

fn sent(id: i64, regulation: &str, deadline: &str, when: &str) -> CommunicationRecord {
    CommunicationRecord {
        id,
        audience: "regulator".into(),
        regulation: Some(regulation.into()),
        deadline: Some(deadline.into()),
        sent_ms: at(when),
        actor: "dana".into(),
    }
}

#[test]
fn gdpr_counts_calendar_hours_across_a_weekend() {
    // Aware Friday 2026-12-04 16:00 → due Monday 16:00 (72 hours, the weekend counts).
    let k = regulatory(
        &example(),
        &[fact(1, "personal-data-breach", "2026-12-04T16:00:00Z")],
        &[],
    );
    assert_eq!(k.len(), 1);
    assert_eq!(
        (k[0].regulation.as_str(), k[0].deadline.as_str()),
        ("gdpr-art33", "notification")
    );
    assert_eq!(k[0].due_ms, at("2026-12-07T16:00:00Z"));
    assert!(
        k[0].state_at(at("2026-12-07T15:00:00Z"))
            .starts_with("due in 1h")
    );
    assert!(
        k[0].state_at(at("2026-12-07T18:00:00Z"))
            .starts_with("BREACHED 2h")
    );
}

#[test]
fn sec_counts_business_days_and_the_plans_holidays() {
    // Materiality decided Thursday 2026-12-03 10:00: four business days skip the weekend →
    // Wednesday 2026-12-09 10:00.
    let k = regulatory(
        &example(),
        &[fact(
            1,
            "material-cybersecurity-incident",
            "2026-12-03T10:00:00Z",
        )],
        &[],
    );
    assert_eq!(k[0].due_ms, at("2026-12-09T10:00:00Z"));
    // Decided Tuesday 2026-12-22: Christmas (a holiday in the plan) and the weekend are
    // skipped → Wednesday 23, Thursday 24, Monday 28, Tuesday 29.
    let k = regulatory(
        &example(),
        &[fact(
            1,
            "material-cybersecurity-incident",
            "2026-12-22T10:00:00Z",
        )],
        &[],
    );
    assert_eq!(k[0].due_ms, at("2026-12-29T10:00:00Z"));
    // Filed in time.
    let k = regulatory(
        &example(),
        &[fact(
            1,
            "material-cybersecurity-incident",
            "2026-12-22T10:00:00Z",
        )],
        &[sent(5, "sec-8k-105", "form-8k", "2026-12-28T09:00:00Z")],
    );
    assert_eq!(k[0].met_by, Some((5, "regulator".to_string())));
    assert!(
        k[0].state_at(at("2027-01-10T00:00:00Z"))
            .starts_with("met ")
    );
}

#[test]
fn nis2_final_report_counts_from_the_notification_as_sent() {
    let facts = [fact(1, "significant-incident", "2026-11-30T08:00:00Z")];
    let k = regulatory(&example(), &facts, &[]);
    let due = |k: &[report::clocks::RegulatoryClock], d: &str| {
        k.iter().find(|c| c.deadline == d).unwrap().due_ms
    };
    assert_eq!(due(&k, "early-warning"), at("2026-12-01T08:00:00Z"));
    assert_eq!(due(&k, "notification"), at("2026-12-03T08:00:00Z"));
    // Not sent: one month from the notification's due time.
    assert_eq!(due(&k, "final-report"), at("2027-01-03T08:00:00Z"));
    // Sent late on the 4th: one month from when it was sent, and the notification is late.
    let k = regulatory(
        &example(),
        &facts,
        &[sent(
            9,
            "nis2-art23",
            "notification",
            "2026-12-04T12:00:00Z",
        )],
    );
    assert_eq!(due(&k, "final-report"), at("2027-01-04T12:00:00Z"));
    let n = k.iter().find(|c| c.deadline == "notification").unwrap();
    assert!(
        n.state_at(at("2026-12-05T00:00:00Z"))
            .starts_with("met late"),
        "{}",
        n.state_at(0)
    );
}

#[test]
fn a_fact_no_regulation_names_starts_nothing() {
    assert!(
        regulatory(
            &example(),
            &[fact(1, "ransom-note", "2026-12-01T00:00:00Z")],
            &[]
        )
        .is_empty()
    );
}

/// A context in which every field any bundled template requires has a value.
fn full_context() -> serde_json::Value {
    serde_json::json!({
        "organization": "Example Corp", "now": "2026-12-05T10:00:00.000Z",
        "case": { "id": 3, "title": "Leaked key", "severity": "critical", "phase": "contained",
                  "level": "sev1", "level_name": "Critical", "owner": "alice",
                  "opened": "2026-12-05T09:00:00.000Z", "first_activity": "2026-12-05T08:00:00.000Z",
                  "tactics": ["persistence"], "techniques": ["T1098"] },
        "impact": { "accounts": ["111122223333"], "regions": ["us-east-1"],
                    "data_classification": "restricted", "resources": "2", "identities": "1" },
        "impact_narrative": null, "summary": "A CI key leaked.", "nature_of_breach": "Unauthorised access.",
        "data_subjects": "About 1,200 customers", "data_categories": "names, email addresses",
        "likely_consequences": "phishing", "measures": "keys revoked", "customer_actions": "reset passwords",
        "lessons": null, "contained": "2026-12-05T09:30:00.000Z", "actions_taken": ["deactivate key: done"],
        "next_update_at": "2026-12-05T12:00:00.000Z",
        "incident_commander": { "name": "Alice Chen", "contact": "slack:@alice", "id": "alice" },
        "regulation": { "id": "gdpr-art33", "name": "GDPR article 33", "authority": "DPC",
                        "deadline": "notification", "what": "Notify", "due": "2026-12-08T09:00:00.000Z",
                        "within": "72 hours", "start": "2026-12-05T09:00:00.000Z",
                        "start_meaning": "awareness", "phased": true, "state": "due in 71h" },
        "clocks": [], "facts": [], "actor": "alice",
    })
}

fn blank(v: &mut serde_json::Value, path: &str) {
    let mut cur = v;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = cur.get_mut(*p).unwrap();
    }
    cur[parts[parts.len() - 1]] = serde_json::Value::String("  ".into());
}

#[test]
fn every_template_renders_and_refuses_each_missing_field_by_name() {
    for a in Audience::ALL {
        let t = a.bundled();
        let required = required_fields(t);
        assert!(!required.is_empty(), "{a} names no required field");
        let out = render(a.name(), t, &full_context(), &[]).unwrap_or_else(|e| panic!("{a}: {e}"));
        assert!(
            out.contains("Example Corp") || out.contains("Leaked key"),
            "{a}: {out}"
        );
        for f in &required {
            let mut ctx = full_context();
            blank(&mut ctx, f);
            let e = render(a.name(), t, &ctx, &[]).unwrap_err().to_string();
            assert!(e.contains(&format!("`{f}`")), "{a} without {f}: {e}");
            assert!(e.contains(a.name()), "{e}");
        }
    }
    // A regulation's required content counts too.
    let mut ctx = full_context();
    blank(&mut ctx, "data_subjects");
    let e = render(
        "regulator",
        Audience::Regulator.bundled(),
        &ctx,
        &["data_subjects".into()],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("`data_subjects`") && e.contains("case review set 3 data-subjects"),
        "{e}"
    );
}

const H: i64 = 3_600_000;

fn times(
    case: i64,
    level: &str,
    detected: &str,
    first_h: i64,
    contain_h: Option<i64>,
) -> CaseTimes {
    let d = at(detected);
    CaseTimes {
        case: CaseId(case),
        level: level.into(),
        first_activity_ms: Some(d - first_h * H),
        detected_ms: d,
        acknowledged_ms: Some(d + H / 4),
        contained_ms: contain_h.map(|c| d + c * H),
        ..Default::default()
    }
}

#[test]
fn metrics_by_level_and_quarter_match_hand_computed_values() {
    let mut cases = vec![
        // sev1, Q4 2026: detect 2h, 4h, 6h, 8h → median 5h, p90 (rank ⌈3.6⌉ = 4) 8h.
        times(1, "sev1", "2026-10-02T00:00:00Z", 2, Some(1)),
        times(2, "sev1", "2026-11-02T00:00:00Z", 4, Some(3)),
        times(3, "sev1", "2026-12-02T00:00:00Z", 6, Some(5)),
        times(4, "sev1", "2026-12-03T00:00:00Z", 8, None),
        // sev2, Q3 2026: detect 10h, 20h, 30h → median 20h, p90 (rank 3) 30h.
        times(5, "sev2", "2026-07-01T00:00:00Z", 10, Some(2)),
        times(6, "sev2", "2026-08-01T00:00:00Z", 20, Some(4)),
        times(7, "sev2", "2026-09-01T00:00:00Z", 30, None),
    ];
    // A false positive and an exercise with absurd times: neither may move any figure.
    let mut fp = times(8, "sev1", "2026-12-04T00:00:00Z", 1000, Some(1000));
    fp.not_an_incident = true;
    let mut ex = times(9, "sev2", "2026-12-04T00:00:00Z", 1000, Some(1000));
    ex.exercise = true;
    cases.push(fp);
    cases.push(ex);
    let m = compute(&cases);
    assert_eq!((m.incidents, m.not_incidents, m.exercises), (7, 1, 1));
    let s = m.by_level["sev1"][&Measure::Detect];
    assert_eq!((s.n, s.median_ms, s.p90_ms), (4, Some(5 * H), Some(8 * H)));
    let s = m.by_level["sev2"][&Measure::Detect];
    assert_eq!(
        (s.n, s.median_ms, s.p90_ms),
        (3, Some(20 * H), Some(30 * H))
    );
    // Contain: sev1 1h, 3h, 5h → median 3h, p90 5h; case 4 never contained.
    let s = m.by_level["sev1"][&Measure::Contain];
    assert_eq!((s.n, s.median_ms, s.p90_ms), (3, Some(3 * H), Some(5 * H)));
    // Dwell (first activity → contained): sev2 10+2 = 12h, 20+4 = 24h → median 18h.
    let s = m.by_level["sev2"][&Measure::Dwell];
    assert_eq!((s.n, s.median_ms), (2, Some(18 * H)));
    // Quarters: Q3 holds the three sev2 cases, Q4 the four sev1 cases.
    assert_eq!(m.by_quarter["2026-Q3"][&Measure::Detect].n, 3);
    assert_eq!(
        m.by_quarter["2026-Q4"][&Measure::Detect].median_ms,
        Some(5 * H)
    );
    // All seven: detect 2 4 6 8 10 20 30 → median 8h, p90 (rank ⌈6.3⌉ = 7) 30h.
    let s = m.overall[&Measure::Detect];
    assert_eq!((s.median_ms, s.p90_ms), (Some(8 * H), Some(30 * H)));
    assert_eq!(m.overall[&Measure::Acknowledge].median_ms, Some(H / 4));
    assert_eq!(m.overall[&Measure::Notify].n, 0);
    let page = report::metrics::html(&m, "metrics");
    assert!(page.contains("data-chart=\"trend-time-to-detect\""));
    assert!(page.contains("1 false positive or benign"));
}
