//! Every input shape issue #2 names, from fixtures written in this repo.

mod support;

use base64::Engine;
use ingest::{IngestOptions, InputFormat, RecordKind};
use support::*;

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[test]
fn cloudtrail_s3_records_file_pretty_and_gzipped() {
    for data in [
        fixture("ct_s3_records.json"),
        gzip(&fixture("ct_s3_records.json")),
    ] {
        let run = run_bytes("AWSLogs/ct.json.gz", &data);
        assert!(run.rejections.is_empty(), "{:?}", run.rejections);
        assert_eq!(
            names(&run),
            ["CreateAccessKey", "PutBucketAcl", "ConsoleLogin"]
        );
        let [key, acl, login] = &run.events[..] else {
            panic!()
        };
        assert_eq!(key["class"], "ApiActivity");
        assert_eq!(key["actor"]["access_key_id"], "AKIAFIXTURE0001");
        assert_eq!(
            key["actor"]["principal_arn"],
            "arn:aws:iam::444455556666:user/dev"
        );
        assert_eq!(key["outcome"]["status"], "success");
        assert_eq!(key["ocsf"]["type_uid"], 600301);
        assert_eq!(
            key["origin"]["line"], 3,
            "line where the record starts in the pretty file"
        );
        assert_eq!(
            acl["outcome"],
            serde_json::json!({"status": "failure", "code": "AccessDenied", "message": "Access Denied"})
        );
        assert_eq!(acl["actor"]["session_name"], "sess-1");
        assert_eq!(
            acl["actor"]["session_issuer_arn"],
            "arn:aws:iam::444455556666:role/Deploy"
        );
        assert_eq!(acl["actor"]["mfa"], false);
        assert_eq!(acl["resources"][0]["uid"], "arn:aws:s3:::fixture-bucket");
        assert_eq!(
            acl["raw"]["requestParameters"]["bucketName"],
            "fixture-bucket"
        );
        assert_eq!(login["class"], "Authentication");
        assert_eq!(login["ocsf"]["class_uid"], 3002);
        assert_eq!(login["ocsf"]["is_mfa"], false);
        assert_eq!(login["outcome"]["status"], "failure");
        assert_eq!(run.summary.kind(RecordKind::CloudTrail).events, 3);
    }
}

#[test]
fn multi_member_gzip_is_read_to_the_end() {
    let mut data = gzip(&fixture("ct_logstash.jsonl"));
    data.extend(gzip(&fixture("ct_athena.jsonl")));
    let run = run_bytes("two-members.jsonl.gz", &data);
    assert_eq!(run.events.len(), 2, "{:?}", run.rejections);
    assert_eq!(run.events[1]["origin"]["line"], 2);
}

#[test]
fn json_lines_array_and_single_object() {
    let doc: serde_json::Value = serde_json::from_slice(&fixture("ct_s3_records.json")).unwrap();
    let records = doc["Records"].as_array().unwrap();
    let lines: String = records.iter().map(|r| format!("{r}\n")).collect();
    assert_eq!(names(&run_bytes("l.jsonl", lines.as_bytes())).len(), 3);
    let array = serde_json::to_string_pretty(records).unwrap();
    assert_eq!(
        names(&run_bytes("a.json", array.as_bytes())),
        ["CreateAccessKey", "PutBucketAcl", "ConsoleLogin"]
    );
    let single = serde_json::to_string_pretty(&records[0]).unwrap();
    assert_eq!(
        names(&run_bytes("one.json", single.as_bytes())),
        ["CreateAccessKey"]
    );
    // An array on a single line of a JSON-lines file.
    let run = run_bytes(
        "mixed.jsonl",
        format!(
            "{}\n{}\n",
            records[0],
            serde_json::Value::Array(records[1..].to_vec())
        )
        .as_bytes(),
    );
    assert_eq!(
        names(&run),
        ["CreateAccessKey", "PutBucketAcl", "ConsoleLogin"]
    );
}

#[test]
fn cloudtrail_lake_export_with_json_strings_is_addressable() {
    let run = run_bytes("lake.json", &fixture("ct_lake_export.json"));
    assert!(run.rejections.is_empty(), "{:?}", run.rejections);
    let acl = &run.events[1];
    assert_eq!(
        acl["raw"]["requestParameters"]["bucketName"],
        "fixture-bucket"
    );
    assert_eq!(
        acl["actor"]["access_key_id"], "ASIAFIXTURE0002",
        "userIdentity string expanded"
    );
    assert_eq!(acl["resources"][0]["type"], "AWS::S3::Bucket");
    assert_eq!(
        acl["time_ms"], 1_740_996_002_000i64,
        "space-separated Lake time"
    );
}

#[test]
fn athena_lowercase_logstash_digest_and_eventbridge() {
    let athena = run_bytes("athena.jsonl", &fixture("ct_athena.jsonl"));
    assert_eq!(athena.events[0]["api"]["operation"], "CreateAccessKey");
    assert_eq!(
        athena.events[0]["actor"]["access_key_id"],
        "AKIAFIXTURE0001"
    );
    assert_eq!(athena.events[0]["region"], "eu-west-1");

    let logstash = run_bytes("logstash.jsonl", &fixture("ct_logstash.jsonl"));
    assert_eq!(logstash.events[0]["time_ms"], 1_740_909_601_500i64);

    let digest = run_bytes("digest.json", &fixture("ct_digest.json"));
    assert!(digest.events.is_empty() && digest.rejections.is_empty());
    assert_eq!(digest.summary.digest_files, 1);

    let eb = run_bytes("eb.json", &fixture("ct_eventbridge.json"));
    assert_eq!(names(&eb), ["CreateAccessKey"]);
    assert_eq!(
        eb.events[0]["raw"]["eventID"], "evt-1",
        "raw is the CloudTrail event, not the envelope"
    );
}

#[test]
fn vpc_flow_default_format_with_nodata_and_skipdata() {
    let run = run_bytes("flow.log", &gzip(&fixture("flow_default.log")));
    assert!(run.rejections.is_empty(), "{:?}", run.rejections);
    assert_eq!(run.events.len(), 4);
    let first = &run.events[0];
    assert_eq!(first["class"], "NetworkActivity");
    assert_eq!(first["network"]["dst_port"], 22);
    assert_eq!(first["raw"]["srcaddr"], "172.31.16.139");
    assert_eq!(first["ocsf"]["class_uid"], 4001);
    assert_eq!(first["ocsf"]["dst_endpoint"]["port"], 22);
    assert_eq!(run.events[1]["ocsf"]["disposition_id"], 2);
    assert_eq!(run.events[2]["network"]["log_status"], "NODATA");
    assert!(
        run.events[2]["raw"].get("srcaddr").is_none(),
        "`-` values are absent"
    );
    assert_eq!(run.events[3]["network"]["log_status"], "SKIPDATA");
}

#[test]
fn vpc_flow_custom_order_every_field_to_v8_crlf() {
    let run = run_bytes("flow-v8.log", &fixture("flow_custom_v8.log"));
    assert!(run.rejections.is_empty(), "{:?}", run.rejections);
    assert_eq!(run.summary.header_lines, 1);
    assert_eq!(run.events.len(), 2);
    let out = &run.events[1];
    assert_eq!(out["network"]["direction"], "egress");
    assert_eq!(out["network"]["bytes"], 1_048_576);
    assert_eq!(out["network"]["instance_id"], "i-01234567890123456");
    assert_eq!(out["region"], "us-east-1");
    assert_eq!(out["raw"]["reject-reason"], "BPA");
    assert_eq!(out["raw"]["traffic-path"], "8");
    assert_eq!(run.events[0]["raw"]["pkt-src-aws-service"], "AMAZON");
}

#[test]
fn vpc_flow_custom_order_without_header_needs_the_field_list() {
    let line = "10.0.0.1 10.0.0.2 443 ACCEPT 1566848875\n";
    let run = run_bytes("headerless.log", line.as_bytes());
    assert_eq!(run.events.len(), 0);
    assert!(
        run.rejections[0].reason.contains("--vpc-flow-fields"),
        "{}",
        run.rejections[0]
    );
    let opts = IngestOptions {
        vpc_flow_fields: Some("srcaddr dstaddr dstport action start".into()),
        ..IngestOptions::default()
    };
    let run = run_with("headerless.log", line.as_bytes(), &opts);
    assert_eq!(run.events[0]["network"]["dst_port"], 443);
    assert_eq!(run.events[0]["time_ms"], 1_566_848_875_000i64);
}

#[test]
fn guardduty_raw_list_and_eventbridge() {
    let raw = run_bytes("gd.json", &fixture("gd_raw.json"));
    let f = &raw.events[0];
    assert_eq!(f["class"], "DetectionFinding");
    assert_eq!(f["severity"], "high");
    assert_eq!(
        f["finding"]["types"][0],
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
    );
    assert_eq!(f["actor"]["access_key_id"], "ASIAFIXTURE0002");
    assert_eq!(f["src_ip"], "198.51.100.200");
    assert_eq!(f["ocsf"]["class_uid"], 2004);
    assert_eq!(f["ocsf"]["finding_info"]["uid"], "gd-fixture-1");
    assert_eq!(
        f["ocsf"]["activity_id"], 2,
        "updatedAt after createdAt is an update"
    );

    let list = run_bytes("findings.json", &fixture("gd_getfindings.json"));
    assert_eq!(list.events.len(), 2);
    assert_eq!(list.events[1]["severity"], "low");
    let eb = run_bytes("eb.json", &fixture("gd_eventbridge.json"));
    assert_eq!(eb.events[0]["finding"]["uid"], "gd-fixture-3");
    assert_eq!(eb.summary.kind(RecordKind::GuardDuty).events, 1);
}

#[test]
fn security_hub_asff_batch_and_eventbridge() {
    let batch = run_bytes("asff.json", &fixture("asff_findings.json"));
    assert!(batch.rejections.is_empty(), "{:?}", batch.rejections);
    assert_eq!(batch.events.len(), 2);
    assert_eq!(batch.events[0]["severity"], "high");
    assert_eq!(batch.events[0]["src_ip"], "198.51.100.7");
    assert_eq!(batch.events[0]["resources"][0]["type"], "AwsEc2Instance");
    assert_eq!(batch.events[1]["severity"], "critical");
    assert_eq!(
        batch.events[1]["ocsf"]["activity_id"], 3,
        "archived findings are closed"
    );
    let eb = run_bytes("asff-eb.json", &fixture("asff_eventbridge.json"));
    assert_eq!(eb.events[0]["finding"]["uid"], "asff-fixture-3");
    assert_eq!(eb.summary.kind(RecordKind::SecurityHub).events, 1);
}

#[test]
fn cloudwatch_logs_payloads_in_every_wrapper() {
    let payload = fixture("cwl_data_message.json");
    let control = br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination"}]}"#;
    // Kinesis records exported one base64 string per line.
    let lines = format!("{}\n{}\n", b64(&gzip(&payload)), b64(&gzip(control)));
    let run = run_bytes("kinesis.b64", lines.as_bytes());
    assert!(run.rejections.is_empty(), "{:?}", run.rejections);
    assert_eq!(run.summary.control_messages, 1);
    assert_eq!(run.summary.kind(RecordKind::CloudWatchLogs).records, 2);
    assert_eq!(run.summary.kind(RecordKind::CloudTrail).events, 1);
    assert_eq!(run.summary.kind(RecordKind::VpcFlow).events, 1);
    assert_eq!(
        run.events[1]["account"], "444455556666",
        "flow account from the payload owner when absent"
    );

    // A Lambda Kinesis event and a Lambda CloudWatch Logs event.
    let kinesis_event = serde_json::json!({"Records": [{"kinesis": {"data": b64(&gzip(&payload)), "partitionKey": "p"}, "eventSource": "aws:kinesis"}]});
    assert_eq!(
        run_bytes("lambda.json", kinesis_event.to_string().as_bytes())
            .events
            .len(),
        2
    );
    let awslogs_event = serde_json::json!({"awslogs": {"data": b64(&gzip(&payload))}});
    assert_eq!(
        run_bytes("awslogs.json", awslogs_event.to_string().as_bytes())
            .events
            .len(),
        2
    );
    // Firehose to S3: gzip of concatenated payloads without separators.
    let firehose = [payload.clone(), payload.clone()].concat();
    let run = run_bytes("firehose.gz", &gzip(&firehose));
    assert_eq!(run.events.len(), 4, "{:?}", run.rejections);
    // Already decoded payload JSON.
    assert_eq!(run_bytes("decoded.json", &payload).events.len(), 2);
}

#[test]
fn format_override_rejects_other_shapes() {
    let opts = IngestOptions {
        format: InputFormat::GuardDuty,
        ..IngestOptions::default()
    };
    let run = run_with("ct.json", &fixture("ct_s3_records.json"), &opts);
    assert_eq!(run.events.len(), 0);
    assert_eq!(run.rejections.len(), 3);
    assert!(
        run.rejections[0]
            .reason
            .contains("not a guardduty record (looks like cloudtrail)"),
        "{}",
        run.rejections[0]
    );
    let opts = IngestOptions {
        format: InputFormat::CloudTrail,
        ..IngestOptions::default()
    };
    let run = run_with("odd.jsonl", b"{\"someField\": 1}\n", &opts);
    assert_eq!(
        run.events.len(),
        1,
        "forced CloudTrail reads an unrecognized object"
    );
}
