//! The incident response plan from the command line: `plan init | check | render`, cases
//! taking severity, SLAs, escalation and playbooks from it, and `readiness` against moto.

use std::path::{Path, PathBuf};
use std::process::Command;

fn firebreak(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_firebreak"));
    c.current_dir(dir)
        .env_remove("FIREBREAK_DB")
        .env_remove("FIREBREAK_PLAN")
        .env_remove("FIREBREAK_CONFIG")
        .env("FIREBREAK_ACTOR", "tester");
    c
}

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = firebreak(dir).args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

#[test]
fn init_check_and_render() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (code, out, _) = run(dir, &["plan", "init"]);
    assert_eq!(code, Some(0), "{out}");
    let plan_file = dir.join("ir-plan.toml");
    let text = std::fs::read_to_string(&plan_file).unwrap();
    assert_eq!(text, plan::EXAMPLE);
    let (code, _, err) = run(dir, &["plan", "init"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("exists: pass --force"), "{err}");

    let (code, out, _) = run(dir, &["plan", "check", "--today", "2026-11-22"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("0 error(s), 0 warning(s)"), "{out}");

    // Break it twice: a role nobody fills, a channel without backup.
    let broken = text
        .replace("members = [\"auditor\"]", "members = []")
        .replace(
            "purpose = \"Paging the on-call responder and escalations\"\nbackup = \"phone-tree\"\n",
            "purpose = \"Paging the on-call responder and escalations\"\n",
        );
    std::fs::write(&plan_file, &broken).unwrap();
    let (code, out, _) = run(dir, &["plan", "check", "--today", "2026-11-22"]);
    assert_eq!(code, Some(1), "{out}");
    let role_line = line_of(&broken, "id = \"auditors\"");
    let pager_line = line_of(&broken, "id = \"pager\"");
    assert!(
        out.contains(&format!(
            "ir-plan.toml:{pager_line}: error: channels[pager].backup: channel has no backup"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "ir-plan.toml:{role_line}: error: roles[auditors].members: role is filled by nobody"
        )),
        "{out}"
    );
    let (code, out, _) = run(
        dir,
        &["plan", "check", "-o", "json", "--today", "2026-11-22"],
    );
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["errors"], 2);
    assert_eq!(v["problems"][0]["line"], role_line, "in line order");
    assert_eq!(v["problems"][1]["line"], pager_line);

    // A malformed value names file and line; exit status 2.
    std::fs::write(
        &plan_file,
        text.replace("retention_days = 365", "retention_days = \"a year\""),
    )
    .unwrap();
    let (code, _, err) = run(dir, &["plan", "check"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains(&format!(
            "ir-plan.toml:{}:",
            line_of(&text, "retention_days")
        )),
        "{err}"
    );

    // Render from a named file (YAML-free TOML here), both formats.
    std::fs::write(dir.join("other.toml"), &text).unwrap();
    let (code, md, _) = run(dir, &["plan", "render", "other.toml"]);
    assert_eq!(code, Some(0));
    for section in plan::render::SECTIONS {
        assert!(md.contains(&format!("## {section}")), "{section}");
    }
    let (code, _, err) = run(
        dir,
        &[
            "--ir-plan",
            "other.toml",
            "plan",
            "render",
            "--format",
            "html",
            "--out",
            "plan.html",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let html = std::fs::read_to_string(dir.join("plan.html")).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("<h2>Backup communication</h2>"));
}

#[test]
fn cases_take_severity_sla_escalation_and_playbooks_from_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let plan_file = dir.join("plan.toml");
    std::fs::write(&plan_file, plan::EXAMPLE).unwrap();
    let db = dir.join("cases.db");
    let samples = repo().join("examples/sample-logs");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "--db".into(),
            db.display().to_string(),
            "--ir-plan".into(),
            plan_file.display().to_string(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let call = |extra: &[&str]| {
        let a = args(extra);
        run(dir, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (code, _, err) = call(&[
        "hunt",
        samples.to_str().unwrap(),
        "--cases",
        "--no-progress",
        "-o",
        "jsonl",
    ]);
    assert_eq!(code, Some(1), "{err}");
    let (_, show, _) = call(&["case", "show", "1"]);
    assert!(show.contains("plan level sev1 (Critical)"), "{show}");
    assert!(
        show.contains("account 111122223333 (production) is tagged env=prod"),
        "{show}"
    );
    assert!(
        show.contains(
            "Plan:      sev1 Critical under Example Corp incident response plan rev 2026.2"
        ),
        "{show}"
    );
    assert!(show.contains("SLA:       acknowledge by"), "{show}");
    assert!(
        show.contains("Escalated: ") && show.contains("Bob Okafor (bob) as Security responder"),
        "{show}"
    );
    assert!(
        show.contains("Next:      ")
            && show.contains("as Incident commander via pager unless acknowledged"),
        "{show}"
    );
    assert!(
        show.contains("logging-tampering: CloudTrail Logging Stopped; VPC Flow Logs Deleted"),
        "{show}"
    );
    assert!(show.contains("crypto-mining-instance:"), "{show}");

    // Taking the case acknowledges it: escalation stops, the clock is met.
    call(&["case", "assign", "1", "alice"]);
    call(&[
        "case",
        "note",
        "1",
        "Status update sent to leadership",
        "--communication",
    ]);
    let (_, show, _) = call(&["case", "show", "1"]);
    assert!(show.contains("Escalation stopped: acknowledged"), "{show}");
    let sla = show.lines().find(|l| l.contains("SLA:")).unwrap();
    assert!(
        sla.contains("acknowledge by") && sla.matches(" met").count() == 2,
        "{sla}"
    );
    assert!(
        sla.contains("contain by") && sla.contains("due in"),
        "{sla}"
    );
    assert!(
        show.contains("[communication]: Status update sent to leadership"),
        "{show}"
    );

    // The plan changes: sev1 now covers only staging. Re-assessing moves the case to sev2.
    let edited = plan::EXAMPLE.replace(
        "when = [\n  { min_alert = \"high\", tags = { env = \"prod\" } },\n  { min_alert = \"medium\", data_at_least = \"restricted\" },\n  { root = true },\n  { tactics = [\"impact\", \"exfiltration\"] },\n]",
        "when = [{ accounts = [\"444455556666\"] }]",
    );
    assert_ne!(edited, plan::EXAMPLE);
    std::fs::write(&plan_file, edited).unwrap();
    let (code, out, err) = call(&["case", "reassess"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("1 changed") && out.contains("case 1: High (sev2 High)"),
        "{out}"
    );
    let (_, audit, _) = call(&["case", "audit", "1"]);
    assert!(
        audit.contains("\"level_from\":\"sev1\"") && audit.contains("\"level_to\":\"sev2\""),
        "{audit}"
    );
    // Without a plan, cases keep what was assessed; re-assessing falls back to the matrix.
    let (_, list, _) = run(dir, &["--db", db.to_str().unwrap(), "case", "list"]);
    assert!(list.contains("High"), "{list}");
}

#[test]
fn readiness_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (code, _, err) = run(dir, &["readiness"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("firebreak plan init"), "{err}");
    let Some(endpoint) = emulator::endpoint() else {
        return;
    };
    run(dir, &["plan", "init"]);
    let o = firebreak(dir)
        .args([
            "readiness",
            "--endpoint-url",
            &endpoint,
            "--account",
            "111122223333",
            "--region",
            "us-east-1",
        ])
        .args(["--today", "2026-11-22", "-o", "json"])
        .env("AWS_ACCESS_KEY_ID", "AKIAFIREBREAKTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let status = |check: &str| {
        findings
            .iter()
            .find(|f| f["check"] == check)
            .map(|f| f["status"].as_str().unwrap().to_string())
    };
    // The plan itself is sound; the account behind it does not exist in the emulator.
    assert_eq!(status("plan.valid").as_deref(), Some("pass"));
    assert_eq!(status("access.responder_role").as_deref(), Some("fail"));
    assert_eq!(status("guardduty.enabled").as_deref(), Some("unknown"));
    assert_eq!(status("forensics.access").as_deref(), Some("fail"));
    assert_eq!(v["score"]["total"], findings.len());
    assert!(
        v["practices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["practice"] == "SEC10-BP05")
    );
}
