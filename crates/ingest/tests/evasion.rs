//! No record evades ingest: padding, bad heads, NUL bytes, damaged gzip members, mixed
//! shapes, links and unreadable times. Each case asserts exact event and rejection counts.

mod support;

use ingest::{IngestOptions, Input, RecordKind, expand_inputs};
use support::*;

fn event_line(i: usize) -> String {
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2025-01-01T00:00:{:02}Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","eventID":"id-{i}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u{i}"}},"recipientAccountId":"111111111111"}}"#,
        i % 60
    )
}

fn jsonl(range: std::ops::Range<usize>) -> String {
    range.map(|i| event_line(i) + "\n").collect()
}

fn lines_of(run: &Run) -> Vec<u64> {
    run.rejections.iter().map(|r| r.line).collect()
}

#[test]
fn padding_longer_than_any_head_hides_nothing() {
    for pad in ["\n", " ", "\r\n", "\t \n"] {
        let padding = pad.repeat(100_000);
        let newlines = padding.matches('\n').count();
        let body = format!("{padding}{}", jsonl(0..10));
        let run = run_bytes("padded.jsonl", body.as_bytes());
        assert_eq!((run.events.len(), run.rejections.len()), (10, 0), "{pad:?}");
        assert_eq!(run.events[0]["origin"]["line"], newlines as u64 + 1);
        assert_eq!(run.events[9]["origin"]["line"], newlines as u64 + 10);
        // The same padding before a pretty-printed envelope.
        let body = format!(
            "{padding}{{\n \"Records\": [\n{}\n]}}",
            jsonl(0..5).trim_end().replace('\n', ",\n")
        );
        let run = run_bytes("padded.json", body.as_bytes());
        assert_eq!((run.events.len(), run.rejections.len()), (5, 0), "{pad:?}");
    }
}

#[test]
fn a_bad_first_line_rejects_only_itself() {
    for head in [
        "garbage {",
        "{garbage",
        "{\"eventName\": \"Broken\"",
        "\u{1b}]0;owned\u{7}",
        "-- comment --",
    ] {
        let body = format!("{head}\n{}", jsonl(0..779));
        let run = run_bytes("bad-head.jsonl", body.as_bytes());
        assert_eq!(run.events.len(), 779, "{head:?}: {:?}", run.rejections);
        assert_eq!(lines_of(&run), [1], "{head:?}");
    }
    // A head that opens an array that is never valid: every record after it still counts.
    let run = run_bytes(
        "bad-array.json",
        format!("[not json\n{}", jsonl(0..779)).as_bytes(),
    );
    assert_eq!(run.events.len(), 779, "{:?}", run.rejections);
    assert!(
        !run.rejections.is_empty() && run.rejections[0].line == 1,
        "{:?}",
        run.rejections
    );
}

#[test]
fn nul_bytes_reject_only_themselves() {
    // A NUL line in the head, and NULs between two records on one line.
    let body = format!(
        "{}\n\0\n{}\0\0\0{}\n{}",
        event_line(0),
        event_line(1),
        event_line(2),
        jsonl(3..103)
    );
    let run = run_bytes("nul.jsonl", body.as_bytes());
    assert_eq!(run.events.len(), 103, "{:?}", run.rejections);
    assert_eq!(lines_of(&run), [2, 3]);
    assert!(
        run.rejections
            .iter()
            .all(|r| r.reason.contains("NUL bytes"))
    );
    // A file of zeros with records after a megabyte of them.
    let mut zeros = vec![0u8; 1 << 20];
    zeros.extend_from_slice(jsonl(0..7).as_bytes());
    let run = run_bytes("zeros.jsonl", &zeros);
    assert_eq!((run.events.len(), run.rejections.len()), (7, 1));
}

#[test]
fn a_damaged_gzip_member_loses_only_itself() {
    let mut file = gzip(jsonl(0..100).as_bytes());
    file.extend_from_slice(&gzip(&vec![0u8; 64 << 10])); // a member of zeros
    file.extend_from_slice(&gzip(jsonl(100..200).as_bytes()));
    file.extend_from_slice(&[0u8; 512]); // padding between members
    file.extend_from_slice(&gzip(jsonl(200..300).as_bytes()));
    let run = run_bytes("members.json.gz", &file);
    assert_eq!(run.events.len(), 300, "{:?}", run.rejections);
    assert_eq!(run.rejections.len(), 2, "{:?}", run.rejections);
    assert!(run.rejections[0].reason.contains("NUL bytes"));
    assert_eq!(run.rejections[0].line, 101);
    assert!(
        run.rejections[1]
            .reason
            .contains("512 bytes at compressed byte")
    );
    assert_eq!(run.rejections[1].line, 201);

    // A member whose body is damaged: the members after it are still read.
    let first = gzip(jsonl(0..50).as_bytes());
    let mut broken = gzip(jsonl(50..100).as_bytes());
    let mid = broken.len() / 2;
    broken[mid..mid + 64].fill(0xAA);
    let mut file = first.clone();
    file.extend_from_slice(&broken);
    file.extend_from_slice(&gzip(jsonl(100..150).as_bytes()));
    let run = run_bytes("damaged.json.gz", &file);
    let ids: Vec<&str> = run
        .events
        .iter()
        .filter_map(|e| e["uid"].as_str())
        .collect();
    assert!(ids.contains(&"id-0") && ids.contains(&"id-49"));
    assert!(
        ids.contains(&"id-100") && ids.contains(&"id-149"),
        "{:?}",
        run.rejections
    );
    assert!(
        run.rejections
            .iter()
            .any(|r| r.reason.contains("is corrupt or truncated"))
    );
    assert_eq!(run.summary.rejected(), run.rejections.len() as u64);
}

const FLOW_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
const FLOW: &str = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";

#[test]
fn mixed_shapes_in_one_file_are_each_read() {
    let finding = String::from_utf8(fixture("gd_raw.json")).unwrap();
    let finding =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&finding).unwrap())
            .unwrap();
    let body = format!(
        "{FLOW_HEADER}\n{FLOW}\n{}{finding}\nnot a record at all\n{FLOW}\n",
        jsonl(0..3)
    );
    let run = run_bytes("mixed.log", body.as_bytes());
    assert_eq!(run.summary.kind(RecordKind::VpcFlow).events, 2);
    assert_eq!(run.summary.kind(RecordKind::CloudTrail).events, 3);
    assert_eq!(run.summary.kind(RecordKind::GuardDuty).events, 1);
    assert_eq!(run.summary.header_lines, 1);
    assert_eq!(lines_of(&run), [7]);

    // A pretty-printed document followed by text lines: the lines are records too.
    let body = format!(
        "{{\n  \"Records\": [\n{}\n  ]\n}}\n{FLOW}\ngarbage\n",
        event_line(0)
    );
    let run = run_bytes("doc-then-lines.log", body.as_bytes());
    assert_eq!(run.summary.kind(RecordKind::CloudTrail).events, 1);
    assert_eq!(
        run.summary.kind(RecordKind::VpcFlow).events,
        1,
        "{:?}",
        run.rejections
    );
    assert_eq!(lines_of(&run), [7]);
}

#[test]
fn an_envelope_that_never_closes_is_reported() {
    for body in ["{\"Records\":[", "{\"Records\":[\n\n    \n", "[   \n"] {
        let run = run_bytes("open.json", body.as_bytes());
        assert_eq!(run.events.len(), 0);
        assert_eq!(run.rejections.len(), 1, "{body:?}");
        assert!(
            run.rejections[0]
                .reason
                .contains("input ends inside the array"),
            "{}",
            run.rejections[0]
        );
    }
    // An empty envelope that closes is a file with no records, not a rejection.
    let run = run_bytes("empty-envelope.json", b"{\"Records\":[]}");
    assert_eq!((run.events.len(), run.rejections.len()), (0, 0));
    assert_eq!(run.summary.envelopes, 1);
}

#[test]
fn a_huge_line_that_is_not_json_costs_one_rejection() {
    let huge = "A ".repeat(3 << 20);
    let body = format!("{}\n{huge}\n{}", event_line(0), event_line(1));
    let opts = IngestOptions {
        chunk_bytes: 64 << 10,
        ..IngestOptions::default()
    };
    let run = run_with("huge.log", body.as_bytes(), &opts);
    assert_eq!(run.events.len(), 2);
    assert_eq!(lines_of(&run), [2]);
    assert!(
        run.rejections[0].reason.len() < 400,
        "reasons quote no megabytes"
    );
}

#[test]
fn unreadable_event_times_are_kept_counted_and_located() {
    let body = format!(
        "{}\n{}\n{}\n",
        event_line(0),
        event_line(1).replace("2025-01-01T00:00:01Z", "yesterday-ish"),
        event_line(2).replace(r#""eventTime":"2025-01-01T00:00:02Z","#, "")
    );
    let run = run_bytes("times.jsonl", body.as_bytes());
    assert_eq!((run.events.len(), run.rejections.len()), (3, 0));
    assert_eq!(run.summary.time_unknown, 2);
    let at: Vec<String> = run
        .summary
        .time_unknown_at
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert_eq!(at, ["times.jsonl:2", "times.jsonl:3"]);
}

#[test]
fn links_in_a_directory_are_followed_once_or_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("a.jsonl"), jsonl(0..4)).unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/b.jsonl"), jsonl(4..6)).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("c.jsonl"), jsonl(6..9)).unwrap();
    std::os::unix::fs::symlink(outside.path().join("c.jsonl"), root.join("c-link.jsonl")).unwrap();
    std::os::unix::fs::symlink(root.join("a.jsonl"), root.join("z-again.jsonl")).unwrap();
    std::os::unix::fs::symlink(root.join("gone.jsonl"), root.join("broken.jsonl")).unwrap();
    std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
    let inputs = expand_inputs(&[root]).unwrap();
    let skipped: Vec<(String, String)> = inputs
        .iter()
        .filter_map(|i| match i {
            Input::Skipped { path, reason } => Some((
                path.strip_prefix(root).unwrap().display().to_string(),
                reason.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(
        skipped
            .iter()
            .any(|(p, r)| p == "broken.jsonl" && r.contains("broken symbolic link"))
    );
    assert!(
        skipped
            .iter()
            .any(|(p, r)| p == "sub/loop" && r.contains("loops back"))
    );
    assert!(
        skipped
            .iter()
            .any(|(p, r)| p == "z-again.jsonl" && r.contains("same file as"))
    );
    let run = run_inputs(&inputs, &IngestOptions::default());
    assert_eq!(
        run.events.len(),
        9,
        "the linked file outside the tree is read"
    );
    assert_eq!(run.rejections.len(), 3);
}
