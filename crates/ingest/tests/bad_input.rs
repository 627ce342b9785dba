//! Damaged and hostile inputs: each yields a located rejection and the rest is still read.

mod support;

use ingest::{IngestOptions, RecordKind};
use support::*;

fn event_line(i: usize) -> String {
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2025-01-01T00:00:{:02}Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","eventID":"id-{i}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u{i}"}},"recipientAccountId":"111111111111"}}"#,
        i % 60
    )
}

fn jsonl(n: usize) -> String {
    (0..n).map(|i| event_line(i) + "\n").collect()
}

#[test]
fn truncated_gzip_keeps_what_was_decoded() {
    let full = gzip(jsonl(2000).as_bytes());
    let cut = &full[..full.len() * 2 / 3];
    let run = run_bytes("cut.jsonl.gz", cut);
    assert!(
        run.events.len() > 100 && run.events.len() < 2000,
        "{} events",
        run.events.len()
    );
    let last = run.rejections.last().expect("truncation is reported");
    assert!(
        last.reason
            .contains("gzip member at compressed byte 0 is corrupt or truncated"),
        "{last}"
    );
    assert!(
        last.line > 100,
        "located near where decoding stopped: {last}"
    );
    // Every decoded line is accounted for: events, or the partial last line rejected.
    let partial = run
        .rejections
        .iter()
        .filter(|r| r.reason.contains("invalid JSON"))
        .count();
    assert!(partial <= 1);
    assert_eq!(
        run.events.last().unwrap()["origin"]["line"]
            .as_u64()
            .unwrap() as usize,
        run.events.len()
    );
}

#[test]
fn corrupt_gzip_body_is_reported() {
    let mut data = gzip(jsonl(50).as_bytes());
    let mid = data.len() / 2;
    data[mid..mid + 40].fill(0xAA);
    let run = run_bytes("corrupt.json.gz", &data);
    assert!(
        run.rejections.iter().any(|r| r.reason.contains("gzip")),
        "{:?}",
        run.rejections
    );
    assert!(run.events.len() < 50);
}

#[test]
fn broken_line_in_the_middle() {
    let mut lines: Vec<String> = (0..5).map(event_line).collect();
    lines[2] = r#"{"eventName": "Broken", "eventTime": "2025-01-01T00:00:00Z", "userIdentity": {"arn": "x""#.to_string();
    let run = run_bytes("broken.jsonl", (lines.join("\n") + "\n").as_bytes());
    assert_eq!(run.events.len(), 4);
    assert_eq!(run.rejections.len(), 1);
    let r = &run.rejections[0];
    assert_eq!((r.file.as_ref(), r.line), ("broken.jsonl", 3));
    assert!(
        r.reason.starts_with("invalid JSON: EOF while parsing"),
        "{r}"
    );
    assert_eq!(run.events[3]["origin"]["line"], 5);
}

#[test]
fn broken_first_line_does_not_swallow_the_file() {
    let body = format!(
        "{{\"eventName\": \"Broken\"\n{}\n{{\"also\": \n{}",
        event_line(2),
        event_line(4)
    );
    let run = run_bytes("first-broken.jsonl", body.as_bytes());
    assert_eq!(run.events.len(), 2, "{:?}", run.rejections);
    assert_eq!(
        run.rejections.iter().map(|r| r.line).collect::<Vec<_>>(),
        [1, 3]
    );
}

#[test]
fn bom_crlf_and_blank_lines() {
    let body = format!("\u{feff}{}\r\n\r\n{}\r\n", event_line(1), event_line(2));
    let run = run_bytes("bom.jsonl", body.as_bytes());
    assert!(run.rejections.is_empty(), "{:?}", run.rejections);
    assert_eq!(run.events.len(), 2);
    assert_eq!(run.events[1]["origin"]["line"], 3);
}

#[test]
fn empty_and_whitespace_files() {
    let run = run_bytes("empty.json", b"");
    assert!(run.events.is_empty() && run.rejections.is_empty());
    assert_eq!(run.summary.files, 1);
    // Bytes but no record: the file itself is a located rejection.
    for data in [&b"\n\n  \n"[..], b"\xEF\xBB\xBF"] {
        let run = run_bytes("blank.json", data);
        assert!(run.events.is_empty());
        assert_eq!(run.rejections.len(), 1, "{:?}", run.rejections);
        assert!(
            run.rejections[0].to_string().starts_with("blank.json: ")
                && run.rejections[0].reason.contains("bytes but no record"),
            "{}",
            run.rejections[0]
        );
    }
}

#[test]
fn oversized_line_is_skipped_and_the_rest_read() {
    let huge = format!("{{\"eventName\":\"{}\"}}", "A".repeat(3 << 20));
    let body = format!("{}\n{}\n{}\n", event_line(1), huge, event_line(3));
    let opts = IngestOptions {
        max_record_bytes: 1 << 20,
        chunk_bytes: 64 << 10,
        ..IngestOptions::default()
    };
    let run = run_with("huge.jsonl", body.as_bytes(), &opts);
    assert_eq!(run.events.len(), 2);
    assert_eq!(run.events[1]["origin"]["line"], 3);
    assert_eq!(run.rejections.len(), 1);
    assert_eq!(run.rejections[0].line, 2);
    assert!(
        run.rejections[0]
            .reason
            .contains("longer than the 1048576 byte limit")
    );
}

#[test]
fn one_line_records_file_larger_than_the_record_limit_streams() {
    // S3 delivers CloudTrail as one line; a file far larger than one record is streamed.
    let records: Vec<String> = (0..5000).map(event_line).collect();
    let body = format!("{{\"Records\":[{}]}}", records.join(","));
    assert!(body.len() > 1 << 20);
    let opts = IngestOptions {
        max_record_bytes: 64 << 10,
        chunk_bytes: 64 << 10,
        ..IngestOptions::default()
    };
    let run = run_with("big.json", gzip(body.as_bytes()).as_slice(), &opts);
    assert!(run.rejections.is_empty(), "{:?}", &run.rejections[..1]);
    assert_eq!(run.events.len(), 5000);
    assert_eq!(run.events[4999]["uid"], "id-4999");
}

#[test]
fn binary_garbage() {
    let garbage: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let run = run_bytes("garbage.bin", &garbage);
    assert!(run.events.is_empty());
    // Every line of it is rejected where it is; none is dropped without a count.
    let lines = garbage
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .count();
    assert!(
        run.rejections.len() >= lines,
        "{} < {lines}",
        run.rejections.len()
    );
    assert_eq!(run.summary.rejected(), run.rejections.len() as u64);
    assert!(run.rejections.iter().all(|r| r.line >= 1));

    // Invalid UTF-8 on one line of an otherwise good file.
    let mut body = (event_line(1) + "\n").into_bytes();
    body.extend_from_slice(b"{\"eventName\": \"\xff\xfe\"}\n");
    body.extend_from_slice((event_line(3) + "\n").as_bytes());
    let run = run_bytes("mixed.jsonl", &body);
    assert_eq!(run.events.len(), 2);
    assert_eq!(run.rejections[0].line, 2);
    assert!(
        run.rejections[0].reason.contains("UTF-8"),
        "{}",
        run.rejections[0]
    );
}

#[test]
fn truncated_and_unrecognized_json_documents() {
    let run = run_bytes("trunc.json", b"{\n \"Records\": [\n  {\"eventName\": \"A\", \"eventSource\": \"s\", \"eventTime\": \"2025-01-01T00:00:00Z\"},\n  {\"eventName\": \"B\"");
    assert_eq!(names(&run), ["A"]);
    assert_eq!(run.rejections[0].line, 4);
    assert!(
        run.rejections[0]
            .reason
            .contains("input ends inside this record")
    );

    let run = run_bytes("other.jsonl", b"{\"hello\": \"world\", \"n\": 1}\n");
    assert_eq!(run.summary.kind(RecordKind::Unknown).rejected, 1);
    assert!(
        run.rejections[0]
            .reason
            .contains("unrecognized record shape (keys: hello, n)"),
        "{}",
        run.rejections[0]
    );

    let run = run_bytes(
        "scalar.json",
        b"[1, {\"eventName\": \"A\", \"eventSource\": \"s\"}]",
    );
    assert_eq!(names(&run), ["A"]);
    assert!(run.rejections[0].reason.contains("not a JSON object"));
}

#[test]
fn hostile_nesting_and_duplicate_keys() {
    let deep = "[".repeat(200) + &"]".repeat(200);
    let run = run_bytes("deep.json", deep.as_bytes());
    assert!(run.events.is_empty());
    assert!(!run.rejections.is_empty());
    let dup = br#"{"eventName":"First","eventName":"Second","eventSource":"s3.amazonaws.com"}"#;
    assert_eq!(names(&run_bytes("dup.json", dup)), ["First"]);
}

#[test]
fn parallel_chunks_keep_input_order() {
    let body = jsonl(20_000);
    let one = run_with(
        "o.jsonl",
        body.as_bytes(),
        &IngestOptions {
            threads: 1,
            ..IngestOptions::default()
        },
    );
    let many = run_with(
        "o.jsonl",
        body.as_bytes(),
        &IngestOptions {
            threads: 3,
            chunk_bytes: 4096,
            ..IngestOptions::default()
        },
    );
    assert_eq!(one.events.len(), 20_000);
    assert_eq!(one.events, many.events);
}
