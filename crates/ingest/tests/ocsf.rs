//! OCSF 1.1.0 mapping faults an OCSF consumer rejects: profiles, the Authentication service,
//! AWS-service actors, the required direction, finding evidence, empty endpoints, non-address
//! sources and the source's own activity names.

mod support;

use serde_json::Value;
use support::*;

fn ct(extra: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"2026-01-01T10:00:00Z","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"e-1",{extra}}}"#
    ) + "\n"
}

fn ocsf(name: &str, body: &str) -> Vec<Value> {
    let run = run_bytes(name, body.as_bytes());
    assert!(run.rejections.is_empty(), "{:?}", run.rejections);
    run.events.into_iter().map(|e| e["ocsf"].clone()).collect()
}

#[test]
fn every_event_declares_the_profiles_it_uses() {
    let api = &ocsf(
        "a.jsonl",
        &ct(
            r#""eventSource":"s3.amazonaws.com","eventName":"ListBuckets","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","accountId":"111122223333"}"#,
        ),
    )[0];
    assert_eq!(api["metadata"]["profiles"], serde_json::json!(["cloud"]));
    let flows = ocsf(
        "flow.log",
        &String::from_utf8(fixture("flow_default.log")).unwrap(),
    );
    assert!(
        flows
            .iter()
            .all(|f| f["metadata"]["profiles"][0] == "cloud")
    );
    assert!(
        flows
            .iter()
            .any(|f| f["metadata"]["profiles"] == serde_json::json!(["cloud", "security_control"]))
    );
}

#[test]
fn authentication_names_its_service_and_has_no_api() {
    let login = &ocsf(
        "l.jsonl",
        &ct(
            r#""eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","accountId":"111122223333"},"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}"#,
        ),
    )[0];
    assert_eq!(login["class_uid"], 3002);
    assert_eq!(login["service"]["name"], "signin.amazonaws.com");
    assert!(login.get("api").is_none(), "{login}");
}

#[test]
fn aws_service_identities_are_named_by_the_service() {
    let e = &ocsf(
        "s.jsonl",
        &ct(
            r#""eventSource":"kms.amazonaws.com","eventName":"Decrypt","sourceIPAddress":"AWS Internal","userIdentity":{"type":"AWSService","invokedBy":"s3.amazonaws.com"}"#,
        ),
    )[0];
    assert_eq!(e["actor"]["user"]["name"], "s3.amazonaws.com", "{e}");
    assert_eq!(e["actor"]["invoked_by"], "s3.amazonaws.com");
    assert!(e["actor"]["user"].get("uid").is_none());
    assert_eq!(e["src_endpoint"]["svc_name"], "AWS Internal");
    assert!(
        e["src_endpoint"].get("ip").is_none(),
        "a non-address is no ip: {e}"
    );
    let svc = &ocsf(
        "v.jsonl",
        &ct(
            r#""eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"cloudtrail.amazonaws.com","userIdentity":{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"}"#,
        ),
    )[0];
    assert_eq!(svc["src_endpoint"]["svc_name"], "cloudtrail.amazonaws.com");
    let host = &ocsf(
        "h.jsonl",
        &ct(
            r#""eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"ip-10-0-0-1.ec2.internal","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}"#,
        ),
    )[0];
    assert_eq!(host["src_endpoint"]["hostname"], "ip-10-0-0-1.ec2.internal");
}

#[test]
fn network_activity_always_has_a_direction_and_no_empty_endpoints() {
    let flows = ocsf(
        "flow.log",
        &String::from_utf8(fixture("flow_default.log")).unwrap(),
    );
    for f in &flows {
        assert!(f["connection_info"]["direction_id"].is_u64(), "{f}");
        for side in ["src_endpoint", "dst_endpoint"] {
            assert_ne!(f.get(side), Some(&serde_json::json!({})), "{f}");
        }
    }
    let nodata = flows
        .iter()
        .find(|f| f["raw_data"].as_str().unwrap().contains("NODATA"))
        .unwrap();
    assert!(nodata.get("dst_endpoint").is_none(), "{nodata}");
}

#[test]
fn findings_keep_their_source_as_evidence_and_activities_their_own_name() {
    for fixture_name in ["gd_raw.json", "asff_findings.json"] {
        let text = String::from_utf8(fixture(fixture_name)).unwrap();
        for f in ocsf(fixture_name, &text) {
            assert_eq!(f["class_uid"], 2004);
            assert!(f.get("src_endpoint").is_none(), "{f}");
        }
    }
    let other = &ocsf(
        "o.jsonl",
        &ct(
            r#""eventSource":"ssm.amazonaws.com","eventName":"StartSession","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}"#,
        ),
    )[0];
    if other["activity_id"] == 99 {
        assert_eq!(other["activity_name"], "StartSession", "{other}");
    }
    assert_ne!(other["activity_name"], "Other", "{other}");
}
