//! The `firebreak` binary as a user runs it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn firebreak() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_firebreak"));
    c.current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."));
    c
}

fn stdout_of(c: &mut Command) -> String {
    let out = c.output().expect("runs");
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The demo keeps to a store of its own and says which plan it used, so its made-up case
/// never sits among real ones.
#[test]
fn the_demo_uses_its_own_store_and_names_its_plan() {
    let dir = tempfile::tempdir().unwrap();
    let o = firebreak()
        .current_dir(dir.path())
        .env_remove("FIREBREAK_DB")
        .env_remove("FIREBREAK_PLAN")
        .env_remove("FIREBREAK_CONFIG")
        .arg("demo")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(dir.path().join("firebreak-demo.db").exists());
    assert!(
        !dir.path().join("firebreak.db").exists(),
        "the demo wrote into the real store"
    );
    assert!(
        out.contains("Store: firebreak-demo.db (the demo's own"),
        "{out}"
    );
    assert!(
        out.contains("IR plan: the bundled EXAMPLE plan (a made-up team"),
        "{out}"
    );
    assert!(
        out.contains("--db firebreak-demo.db"),
        "the next commands name the demo store: {out}"
    );
}

#[test]
fn demo_reads_every_bundled_sample_opens_cases_and_says_what_next() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = stdout_of(firebreak().arg("demo").arg("--db").arg(&db));
    let row = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in\n{out}"))
            .to_string()
    };
    assert_eq!(
        row("cloudtrail").split_whitespace().collect::<Vec<_>>(),
        ["cloudtrail", "21", "21", "0"]
    );
    assert_eq!(
        row("vpcflow").split_whitespace().collect::<Vec<_>>(),
        ["vpcflow", "25", "25", "0"]
    );
    assert!(out.contains("CloudTrail digest files recognized (not events): 1"));
    for alert in [
        "CloudTrail Logging Stopped",
        "New IAM User or Role Granted AdministratorA",
        "Port Scan: Many Ports Refused",
        "EC2 instance i-0badc0ffee0ddf00d is communi",
        "S3 Bucket Opened to the Public",
    ] {
        assert!(out.contains(alert), "missing {alert} in\n{out}");
    }
    assert!(out.contains("AKIAQXAMPLELEAKED001") && out.contains("Next:"));
    // The incident is one case holding every alert, and the user is told how to open it.
    assert!(
        out.contains("22 alert(s) new, 0 already recorded; 1 case(s) opened"),
        "{out}"
    );
    assert!(out.contains("firebreak case show 1 --db"), "{out}");
    let again = stdout_of(firebreak().arg("demo").arg("--db").arg(&db));
    assert!(
        again.contains("0 alert(s) new, 22 already recorded; 0 case(s) opened"),
        "{again}"
    );
}

#[test]
fn hunt_exit_status_and_formats() {
    let out = firebreak()
        .args(["hunt", "examples/sample-logs", "--output", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "alerts fired");
    let alerts: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(alerts.len() >= 15);
    let stopped = alerts
        .iter()
        .find(|a| a["rule_title"] == "CloudTrail Logging Stopped")
        .unwrap();
    assert_eq!(stopped["access_key_id"], "AKIAQXAMPLELEAKED001");
    assert_eq!(stopped["techniques"][0], "T1562.008");
    assert!(
        stopped["file"]
            .as_str()
            .unwrap()
            .ends_with("later-events.jsonl")
    );

    let out = firebreak()
        .args(["hunt", "examples/sample-logs", "--output", "csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("time,level,rule_id,title,attack,account,region,principal,access_key_id,src_ip,operation,source,location,kind"));

    let dir = tempfile::tempdir().unwrap();
    let quiet = dir.path().join("quiet.jsonl");
    std::fs::write(&quiet, r#"{"eventVersion":"1.09","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2026-01-01T00:00:00Z"}"#).unwrap();
    let out = firebreak().arg("hunt").arg(&quiet).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "nothing fired: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rules_check_reports_located_errors() {
    let out = firebreak().args(["rules", "check"]).output().unwrap();
    assert!(
        out.status.success(),
        "bundled rules load: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yml"), "title: bad\nlogsource:\n  product: aws\ndetection:\n  sel:\n    eventName|containz: x\n  condition: sel or missing\n").unwrap();
    let out = firebreak()
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("bad.yml:6:5: `eventName|containz`: unknown modifier `containz`"),
        "{text}"
    );
    assert!(text.contains("unknown search `missing`"), "{text}");
}

#[test]
fn ingest_from_stdin_to_ocsf() {
    let mut child = firebreak()
        .args(["ingest", "-", "--output", "ocsf-jsonl"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let line = r#"{"eventVersion":"1.08","eventTime":"2025-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"DeleteBucket","awsRegion":"us-east-1","recipientAccountId":"123456789012","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/a"}}"#;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{line}\nnot json\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["class_uid"], 6003);
    assert_eq!(events[0]["activity_name"], "Delete");
    assert_eq!(events[0]["cloud"]["account"]["uid"], "123456789012");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("-:2: unrecognized line"), "{stderr}");
}

#[test]
fn ingest_directory_to_file_with_all_rejections() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let bad: String = (0..30).map(|i| format!("{{\"broken\": {i}\n")).collect();
    let bad =
        format!("{{\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\"}}\n{bad}");
    std::fs::write(logs.join("bad.jsonl"), bad).unwrap();
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/sample-logs/cloudtrail/later-events.jsonl"),
        logs.join("good.jsonl"),
    )
    .unwrap();
    let events = dir.path().join("events.jsonl");
    let rejects = dir.path().join("rejects.txt");
    let out = stdout_of(
        firebreak()
            .arg("ingest")
            .arg(&logs)
            .args(["--output", "jsonl", "--out"])
            .arg(&events)
            .arg("--rejects")
            .arg(&rejects),
    );
    assert!(out.contains("… and 10 more"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap().lines().count(),
        30
    );
    let written = std::fs::read_to_string(&events).unwrap();
    assert_eq!(
        written.lines().count(),
        8,
        "7 sample events and the good line of bad.jsonl"
    );
    let first: serde_json::Value = serde_json::from_str(written.lines().next().unwrap()).unwrap();
    assert_eq!(first["raw"]["eventSource"], first["api"]["service"]);
}

#[test]
fn missing_input_is_a_clear_error() {
    let out = firebreak()
        .args(["ingest", "/no/such/logs"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/no/such/logs") && stderr.contains("No such file"),
        "{stderr}"
    );
    let out = firebreak()
        .args(["ingest", "x", "--format", "syslog"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format `syslog`"));
}
