//! Every rejection `plan check` promises, each with the line it names.

use plan::{CheckContext, Date, Format, Gravity, Problem, check, parse};
use std::collections::BTreeSet;

const PLAYBOOKS: &[&str] = &[
    "iam-user-access-key-compromise",
    "role-credentials-compromise",
    "ec2-instance-compromise",
    "crypto-mining-instance",
    "s3-public-or-exfiltration",
    "snapshot-ami-shared-out",
    "logging-tampering",
    "lambda-backdoor",
];

fn today() -> Date {
    Date::parse("2026-11-22").unwrap()
}

fn run(text: &str) -> Vec<Problem> {
    let plan = parse(text, "plan.toml", Format::Toml).unwrap_or_else(|e| panic!("{e}"));
    let playbooks: BTreeSet<String> = PLAYBOOKS.iter().map(|s| s.to_string()).collect();
    check(
        &plan,
        &CheckContext {
            today: today(),
            playbooks: &playbooks,
            rules: None,
            last_game_day: None,
            open_work: Vec::new(),
        },
    )
}

/// The example with `from` replaced by `to` (which must occur exactly once).
fn edit(from: &str, to: &str) -> String {
    assert_eq!(
        plan::EXAMPLE.matches(from).count(),
        1,
        "`{from}` must occur once"
    );
    plan::EXAMPLE.replacen(from, to, 1)
}

/// The 1-based line of the first occurrence of `needle` in `text`.
fn line(text: &str, needle: &str) -> u32 {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in text"));
    text[..at].matches('\n').count() as u32 + 1
}

/// Asserts exactly one error, on the line of `at`, whose message contains `says`.
fn one_error(text: &str, at: &str, says: &str) -> Problem {
    one_error_on(text, line(text, at), says)
}

/// Asserts exactly one error, on line `at`, whose message contains `says`.
fn one_error_on(text: &str, at: u32, says: &str) -> Problem {
    let errors: Vec<Problem> = run(text)
        .into_iter()
        .filter(|p| p.gravity == Gravity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let p = errors.into_iter().next().unwrap();
    assert!(p.message.contains(says), "{p}");
    assert_eq!(p.line, at, "{p}");
    p
}

/// Phase problems point at the phase's `actions`, two lines below its header.
fn actions_line(text: &str, phase: &str) -> u32 {
    line(text, &format!("[phases.{phase}]")) + 2
}

#[test]
fn the_example_is_clean() {
    let problems = run(plan::EXAMPLE);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_role_nobody_fills() {
    let text = edit("members = [\"auditor\"]", "members = []");
    let p = one_error(&text, "id = \"auditors\"", "filled by nobody");
    assert_eq!(p.field, "roles[auditors].members");
    // A member who is not a contact fills nothing either.
    let text = edit("members = [\"auditor\"]", "members = [\"mallory\"]");
    one_error(
        &text,
        "members = [\"mallory\"]",
        "unknown contact `mallory`",
    );
}

#[test]
fn an_escalation_to_an_unknown_contact_or_role() {
    let text = edit(
        "{ after = \"30m\", notify = [\"dana\"], via = \"phone-tree\" }",
        "{ after = \"30m\", notify = [\"zed\"], via = \"phone-tree\" }",
    );
    let p = one_error(&text, "notify = [\"zed\"]", "unknown contact `zed`");
    assert_eq!(p.field, "severity[sev1].escalation[2].notify");
    let text = edit(
        "{ after = \"8h\", notify = [\"role:incident-commander\"]",
        "{ after = \"8h\", notify = [\"role:night-shift\"]",
    );
    one_error(&text, "role:night-shift", "unknown role `night-shift`");
    let text = edit("via = \"phone-tree\" }", "via = \"carrier-pigeon\" }");
    one_error(&text, "carrier-pigeon", "unknown channel `carrier-pigeon`");
}

#[test]
fn a_severity_without_an_sla() {
    let text = edit(
        "sla = { acknowledge = \"4h\", contain = \"3d\", communicate = \"1d\" }\n",
        "",
    );
    let p = one_error(&text, "id = \"sev3\"", "has no SLA");
    assert_eq!(p.field, "severity[sev3].sla");
    let text = edit(
        "sla = { acknowledge = \"1d\", contain = \"7d\", communicate = \"7d\" }",
        "sla = { acknowledge = \"1d\", contain = \"7d\" }",
    );
    one_error(
        &text,
        "sla = { acknowledge = \"1d\"",
        "no `communicate` time",
    );
}

#[test]
fn a_channel_without_backup() {
    let text = edit(
        "purpose = \"Paging the on-call responder and escalations\"\nbackup = \"phone-tree\"\n",
        "purpose = \"Paging the on-call responder and escalations\"\n",
    );
    let p = one_error(&text, "id = \"pager\"", "has no backup");
    assert_eq!(p.field, "channels[pager].backup");
    // A backup that rides on the same corporate systems is no backup.
    let text = edit(
        "purpose = \"Status updates to leadership every 2 hours during sev1\"\nbackup = \"signal-group\"",
        "purpose = \"Status updates to leadership every 2 hours during sev1\"\nbackup = \"war-room\"",
    );
    one_error(&text, "backup = \"war-room\"", "is not out of band");
    let text = edit("backup = \"phone-tree\"", "backup = \"fax\"");
    one_error(&text, "backup = \"fax\"", "unknown channel `fax`");
}

#[test]
fn a_playbook_reference_that_does_not_exist() {
    let text = edit(
        "playbook = \"lambda-backdoor\"",
        "playbook = \"lambda-exorcism\"",
    );
    let p = one_error(
        &text,
        "lambda-exorcism",
        "playbook `lambda-exorcism` does not exist",
    );
    assert!(p.message.contains("iam-user-access-key-compromise"), "{p}");
}

#[test]
fn escalation_cycles() {
    // sev1 → sev3 → sev2 → sev1.
    let text = edit(
        "  { after = \"30m\", notify = [\"dana\"], via = \"phone-tree\" },\n]\n",
        "  { after = \"30m\", notify = [\"dana\"], via = \"phone-tree\" },\n]\nescalate_to = \"sev3\"\n",
    );
    let text = text.replacen(
        "  { after = \"8h\", notify = [\"role:incident-commander\"], via = \"war-room\" },\n]\n",
        "  { after = \"8h\", notify = [\"role:incident-commander\"], via = \"war-room\" },\n]\nescalate_to = \"sev2\"\n",
        1,
    );
    let errors: Vec<Problem> = run(&text)
        .into_iter()
        .filter(|p| p.gravity == Gravity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "one cycle, reported once: {errors:#?}");
    let p = &errors[0];
    assert!(p.message.starts_with("escalation cycle: "), "{p}");
    for level in ["sev1", "sev2", "sev3"] {
        assert!(p.message.contains(level), "{p}");
    }
    assert!(
        text.lines()
            .nth(p.line as usize - 1)
            .unwrap()
            .starts_with("escalate_to"),
        "{p}"
    );
    // A level escalating to itself is a cycle too.
    let text = edit("escalate_to = \"sev1\"", "escalate_to = \"sev2\"");
    one_error(
        &text,
        "escalate_to = \"sev2\"",
        "escalation cycle: sev2 → sev2",
    );
    let text = edit("escalate_to = \"sev1\"", "escalate_to = \"sev0\"");
    one_error(
        &text,
        "escalate_to = \"sev0\"",
        "unknown severity level `sev0`",
    );
}

#[test]
fn a_plan_past_its_review_date_warns() {
    let text = edit(
        "last_reviewed = \"2026-09-15\"",
        "last_reviewed = \"2025-01-10\"",
    );
    let problems = run(&text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    assert_eq!(p.gravity, Gravity::Warning);
    assert!(p.message.contains("past its review date"), "{p}");
    assert!(p.message.contains("review was due 2025-07-09"), "{p}");
    assert_eq!(p.line, line(&text, "last_reviewed"));
    // So does an overdue game day.
    let text = edit(
        "last_game_day = \"2026-10-20\"",
        "last_game_day = \"2026-01-20\"",
    );
    let problems = run(&text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].message.contains("game day is overdue"),
        "{}",
        problems[0]
    );
}

#[test]
fn raci_needs_one_accountable_role_per_phase() {
    let text = edit(
        "raci = { detect = \"I\", analyze = \"A\", contain = \"A\"",
        "raci = { detect = \"I\", analyze = \"R\", contain = \"A\"",
    );
    let p = one_error_on(
        &text,
        actions_line(&text, "analyze"),
        "no role is accountable",
    );
    assert_eq!(p.field, "phases.analyze");
    let text = edit(
        "raci = { analyze = \"C\", contain = \"C\" }",
        "raci = { analyze = \"C\", contain = \"A\" }",
    );
    one_error_on(
        &text,
        actions_line(&text, "contain"),
        "2 roles are accountable",
    );
    let text = edit(
        "raci = { post-incident = \"I\" }",
        "raci = { post-incident = \"X\" }",
    );
    one_error(
        &text,
        "raci = { post-incident = \"X\" }",
        "not RACI letters",
    );
}

#[test]
fn unknown_references_in_criteria_and_estate() {
    let text = edit(
        "{ min_alert = \"medium\", data_at_least = \"restricted\" }",
        "{ min_alert = \"medium\", data_at_least = \"top-secret\" }",
    );
    one_error(&text, "top-secret", "unknown data classification");
    let text = edit("id = \"444455556666\"", "id = \"44445555\"");
    one_error(&text, "id = \"44445555\"", "not a 12-digit account id");
    let text = edit(
        "object_lock_mode = \"COMPLIANCE\"",
        "object_lock_mode = \"STRICT\"",
    );
    one_error(&text, "object_lock_mode", "COMPLIANCE or GOVERNANCE");
    let text = edit(
        "evidence_bucket = \"example-ir-evidence\"",
        "evidence_bucket = \"Example_Evidence\"",
    );
    one_error(&text, "evidence_bucket", "not a valid S3 bucket name");
    let text = edit("stream/central-security-logs", "table/central");
    one_error(&text, "central_log_stream", "not a Kinesis stream ARN");
    let text = edit(
        "owner = \"dana\"                    #",
        "owner = \"nobody\" #",
    );
    one_error(&text, "owner = \"nobody\"", "unknown contact `nobody`");
}

#[test]
fn syntax_and_shape_errors_name_the_line() {
    let text = edit("retention_days = 365", "retention_days = \"a year\"");
    let e = parse(&text, "ir.toml", Format::Toml)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("ir.toml:{}:", line(&text, "retention_days"))),
        "{e}"
    );
    let text = edit("review_every = \"180d\"", "review_every = \"half a year\"");
    let e = parse(&text, "ir.toml", Format::Toml)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("ir.toml:{}:", line(&text, "review_every"))),
        "{e}"
    );
    assert!(e.contains("not a duration"), "{e}");
    let text = edit(
        "game_day_every = \"90d\"",
        "game_day_every = \"90d\"\ngameday_typo = 1",
    );
    let e = parse(&text, "ir.toml", Format::Toml)
        .unwrap_err()
        .to_string();
    assert!(e.contains("gameday_typo"), "{e}");
    assert!(
        e.starts_with(&format!("ir.toml:{}:", line(&text, "gameday_typo"))),
        "{e}"
    );
    let e = parse("version = 1\n[meta\n", "bad.toml", Format::Toml)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("bad.toml:2:"), "{e}");
}

const YAML: &str = include_str!("plan.yaml");

#[test]
fn yaml_plans_read_and_locate_the_same() {
    let plan = parse(YAML, "plan.yaml", Format::Yaml).unwrap_or_else(|e| panic!("{e}"));
    let playbooks: BTreeSet<String> = ["ec2-instance-compromise".to_string()].into();
    let ctx = CheckContext {
        today: today(),
        playbooks: &playbooks,
        rules: None,
        last_game_day: None,
        open_work: Vec::new(),
    };
    let problems = check(&plan, &ctx);
    // The fixture has two deliberate faults.
    let errors: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.gravity == Gravity::Error)
        .collect();
    assert_eq!(errors.len(), 2, "{problems:#?}");
    assert!(errors[0].message.contains("has no backup"), "{}", errors[0]);
    assert_eq!(errors[0].line, line(YAML, "- id: chat"));
    assert!(
        errors[1].message.contains("unknown contact `ghost`"),
        "{}",
        errors[1]
    );
    assert_eq!(errors[1].line, line(YAML, "ghost"));
    let e = parse(
        &YAML.replace("retention_days: 90", "retention_days: ninety"),
        "p.yaml",
        Format::Yaml,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with(&format!("p.yaml:{}:", line(YAML, "retention_days"))),
        "{e}"
    );
}

#[test]
fn approval_keys_are_checked() {
    let alice_key = "6235921149d37678b14b72f0646834f87b44df0f31460e41ded37704f3582229";
    // Not hex, and not a key.
    let text = edit(alice_key, "../../etc/passwd");
    one_error(&text, "../../etc/passwd", "is not an Ed25519 public key");
    // One key listed for two people.
    let bob_key = "650ad83ec5889b114c71e91bc6db4ab288744875a938ff552499b431d4f9683e";
    let text = edit(bob_key, alice_key);
    let p = run(&text)
        .into_iter()
        .find(|p| p.message.contains("also listed for alice"))
        .expect("a shared key is an error");
    assert_eq!(p.gravity, Gravity::Error);
    assert_eq!(p.field, "contacts[bob].approval_keys");
    // Signed approvals with too few keyed approvers.
    let text = edit(&format!("approval_keys = [\"{bob_key}\"]\n"), "");
    let text = text.replace(
        "approval_keys = [\"bfc10a12ad35916f855337e5173d1cc4e0bae061b989aed5da79d03d5caac96b\"]\n",
        "",
    );
    let p = run(&text)
        .into_iter()
        .find(|p| p.field == "severity[sev1].approval")
        .expect("sev1 needs two keyed approvers");
    assert!(p.message.contains("only 1 of the 2 approver(s)"), "{p}");
    // Unsigned approvals are allowed by saying so, with a warning.
    let text = edit(
        "count = 2, two_person = true }",
        "count = 2, two_person = true, signed = false }",
    );
    let p = run(&text)
        .into_iter()
        .find(|p| p.field == "severity[sev1].approval.signed")
        .expect("unsigned approvals are warned about");
    assert_eq!(p.gravity, Gravity::Warning);
}

#[test]
fn approval_roles_exist_and_have_enough_members() {
    let text = edit(
        r#"approval = { roles = ["incident-commander", "responder"], count = 2, two_person = true }"#,
        r#"approval = { roles = ["incident-commander", "janitor"], count = 2 }"#,
    );
    one_error(
        &text,
        r#"roles = ["incident-commander", "janitor"]"#,
        "unknown role `janitor`",
    );
    let text = edit(
        r#"approval = { roles = ["incident-commander", "responder"], count = 2, two_person = true }"#,
        r#"approval = { roles = ["ciso"], count = 3 }"#,
    );
    let p = one_error(
        &text,
        r#"roles = ["ciso"], count = 3"#,
        "3 distinct approvers are needed, but the roles have 2 members",
    );
    assert_eq!(p.field, "severity[sev1].approval.count");
    let text = edit(
        r#"management_account = "999988887777""#,
        r#"management_account = "9999""#,
    );
    one_error(
        &text,
        r#"management_account = "9999""#,
        "`9999` is not a 12-digit account id",
    );
}

#[test]
fn post_incident_sections_are_checked_where_they_are_written() {
    let t = edit(
        r#"within = { sev1 = "5bd", sev2 = "5bd", sev3 = "10bd" }"#,
        r#"within = { sev1 = "5bd", sev9 = "5bd" }"#,
    );
    one_error(&t, "sev9 = ", "no severity level `sev9`");
    let t = edit(
        r#"required_to_close = ["sev1", "sev2"]"#,
        r#"required_to_close = ["sev1", "sev7"]"#,
    );
    one_error(&t, "sev7", "no severity level `sev7`");
    let t = edit(
        r#"after = "notification", what"#,
        r#"after = "final-warning", what"#,
    );
    one_error(&t, "final-warning", "not an earlier deadline");
    let t = edit(
        r#"trigger = "personal-data-breach""#,
        r#"trigger = "Personal Data""#,
    );
    one_error(&t, "Personal Data", "not a fact name");
    let e = parse(
        &edit(r#"within = "4bd""#, r#"within = "four days""#),
        "plan.toml",
        Format::Toml,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("not a deadline") && e.contains("4bd"), "{e}");
}

#[test]
fn late_post_incident_work_is_a_warning_and_a_failed_readiness_finding() {
    let plan = parse(plan::EXAMPLE, "plan.toml", Format::Toml).unwrap();
    let playbooks: BTreeSet<String> = PLAYBOOKS.iter().map(|s| s.to_string()).collect();
    let work = vec![
        plan::OpenWork {
            case: case::CaseId(4),
            field: "action item 7".into(),
            what: "action item 7 (prevent): rotate keys".into(),
            due_ms: 0,
            overdue: true,
        },
        plan::OpenWork {
            case: case::CaseId(5),
            field: "regulations[gdpr-art33]".into(),
            what: "gdpr-art33 notification: Notify".into(),
            due_ms: 4_000_000_000_000,
            overdue: false,
        },
    ];
    let ctx = CheckContext {
        today: today(),
        playbooks: &playbooks,
        rules: None,
        last_game_day: None,
        open_work: work,
    };
    let problems = check(&plan, &ctx);
    let late = problems
        .iter()
        .find(|p| p.field == "case 4: action item 7")
        .expect("the overdue action");
    assert_eq!(late.gravity, Gravity::Warning);
    assert!(late.message.contains("OVERDUE"), "{late}");
    let due = problems
        .iter()
        .find(|p| p.field == "case 5: regulations[gdpr-art33]")
        .expect("the running regulator clock");
    assert!(due.message.contains("due by"), "{due}");
    let findings = plan::readiness::plan_findings(&plan, &ctx);
    let f = findings
        .iter()
        .find(|f| f.check == "cases.post_incident_work")
        .unwrap();
    assert_eq!(f.status, plan::readiness::Status::Fail);
    assert!(f.detail.contains("case 4: action item 7"), "{}", f.detail);
}
