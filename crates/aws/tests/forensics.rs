//! Evidence collection against moto: CloudTrail files checked against digests, flow logs,
//! volatile metadata and console output, snapshots copied encrypted and shared with the
//! forensic account, Object Lock uploads read back, memory through SSM; GuardDuty findings,
//! LookupEvents and SSM through aws-smithy-mocks (moto lacks them or runs nothing). moto
//! does not mark snapshot copies made with Encrypted=true as encrypted: not asserted.

mod moto;

use aws::Connection;
use aws::forensics::{Body, Lock, Request, capture_memory, collect, upload};
use aws_smithy_mocks::{Rule, mock};
use moto::{config, inside, mocked};
use std::io::Write;

const REGION: &str = "us-east-1";
const FORENSIC: &str = "339999999999";
/// The day the fixture's logs are from: yesterday (UTC), because CloudWatch Logs (and so
/// moto) refuses events older than 14 days, so a fixed date stops working two weeks on.
fn day_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now / 86_400_000 - 1) * 86_400_000
}

/// `text` with the fixture's template date (2026-11-21, in its three spellings) moved to
/// [`day_ms`].
fn dated(text: &str) -> String {
    let iso = model::time::format_iso(day_ms());
    let (y, m, d) = (&iso[0..4], &iso[5..7], &iso[8..10]);
    text.replace("2026-11-21", &format!("{y}-{m}-{d}"))
        .replace("2026/11/21", &format!("{y}/{m}/{d}"))
        .replace("20261121", &format!("{y}{m}{d}"))
}

fn sha256(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

async fn env(account: &str) -> Option<(Connection, Connection)> {
    let endpoint = moto::endpoint()?;
    let base = Connection::new(config(&endpoint), true);
    let acct = inside(&base, account).await;
    Some((base, acct))
}

async fn launch(acct: &Connection) -> (String, String) {
    let out = acct
        .ec2(REGION)
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    let i = &out.instances()[0];
    (
        i.instance_id().unwrap().to_string(),
        i.network_interfaces()[0]
            .network_interface_id()
            .unwrap()
            .to_string(),
    )
}

async fn locked_bucket(acct: &Connection, bucket: &str) {
    acct.s3(REGION)
        .create_bucket()
        .bucket(bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
}

fn ssm(online: bool, stdout: String) -> (aws_sdk_ssm::Client, Rule) {
    use aws_sdk_ssm::operation::{
        describe_instance_information::DescribeInstanceInformationOutput,
        get_command_invocation::GetCommandInvocationOutput, send_command::SendCommandOutput,
    };
    use aws_sdk_ssm::types::{Command, CommandInvocationStatus, InstanceInformation, PingStatus};
    let info = mock!(aws_sdk_ssm::Client::describe_instance_information).then_output(move || {
        DescribeInstanceInformationOutput::builder()
            .instance_information_list(
                InstanceInformation::builder()
                    .ping_status(if online {
                        PingStatus::Online
                    } else {
                        PingStatus::ConnectionLost
                    })
                    .build(),
            )
            .build()
    });
    let send = mock!(aws_sdk_ssm::Client::send_command)
        .match_requests(|r| r.document_name() == Some("AWS-RunShellScript"))
        .then_output(|| {
            SendCommandOutput::builder()
                .command(Command::builder().command_id("cmd-1").build())
                .build()
        });
    let get = mock!(aws_sdk_ssm::Client::get_command_invocation).then_output(move || {
        GetCommandInvocationOutput::builder()
            .status(CommandInvocationStatus::Success)
            .standard_output_content(stdout.clone())
            .build()
    });
    (mocked!(aws_sdk_ssm, [&info, &send, &get]), send)
}

#[tokio::test]
async fn collects_logs_and_metadata_and_changes_nothing() {
    let account = "330000000001";
    let Some((mut base, acct)) = env(account).await else {
        return;
    };
    let (instance, eni) = launch(&acct).await;

    // A trail delivering to S3: one log file a digest vouches for, one it does not match.
    let s3 = acct.s3(REGION);
    s3.create_bucket()
        .bucket("trail-330000000001")
        .send()
        .await
        .unwrap();
    acct.cloudtrail(REGION)
        .create_trail()
        .name("org")
        .s3_bucket_name("trail-330000000001")
        .send()
        .await
        .unwrap();
    let day = dated("AWSLogs/330000000001/CloudTrail/us-east-1/2026/11/21/");
    let record = |name: &str| {
        gz(dated(&format!(r#"{{"Records":[{{"eventVersion":"1.08","eventTime":"2026-11-21T09:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","recipientAccountId":"330000000001","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::330000000001:user/ci","accessKeyId":"AKIAQXAMPLELEAKED001"}},"eventID":"{name}-1"}}]}}"#)).as_bytes())
    };
    let (good, bad) = (record("DescribeInstances"), record("StopLogging"));
    let good_key = dated(&format!(
        "{day}330000000001_CloudTrail_us-east-1_20261121T0900Z_good.json.gz"
    ));
    let bad_key = dated(&format!(
        "{day}330000000001_CloudTrail_us-east-1_20261121T0905Z_bad.json.gz"
    ));
    for (k, b) in [(&good_key, &good), (&bad_key, &bad)] {
        s3.put_object()
            .bucket("trail-330000000001")
            .key(k)
            .body(b.clone().into())
            .send()
            .await
            .unwrap();
    }
    let digest = serde_json::json!({"logFiles": [
        {"s3Bucket": "trail-330000000001", "s3Object": good_key, "hashValue": sha256(&good), "hashAlgorithm": "SHA-256"},
        {"s3Bucket": "trail-330000000001", "s3Object": bad_key, "hashValue": sha256(b"something else"), "hashAlgorithm": "SHA-256"}]});
    s3.put_object().bucket("trail-330000000001")
        .key(dated("AWSLogs/330000000001/CloudTrail-Digest/us-east-1/2026/11/21/330000000001_CloudTrail-Digest_us-east-1_org_us-east-1_20261121T1000Z.json.gz"))
        .body(gz(digest.to_string().as_bytes()).into()).send().await.unwrap();

    // Flow logs of the instance's interface in CloudWatch Logs.
    let logs = acct.logs(REGION);
    logs.create_log_group()
        .log_group_name("flow")
        .send()
        .await
        .unwrap();
    logs.create_log_stream()
        .log_group_name("flow")
        .log_stream_name(format!("{eni}-all"))
        .send()
        .await
        .unwrap();
    logs.put_log_events().log_group_name("flow").log_stream_name(format!("{eni}-all"))
        .log_events(aws_sdk_cloudwatchlogs::types::InputLogEvent::builder().timestamp(day_ms() + 3_600_000)
            .message(format!("2 330000000001 {eni} 10.0.0.5 203.0.113.9 44321 3333 6 20 4000 {} {} ACCEPT OK", day_ms() / 1000 + 3600, day_ms() / 1000 + 3660)).build().unwrap())
        .send().await.unwrap();
    acct.ec2(REGION)
        .create_flow_logs()
        .resource_ids(&eni)
        .resource_type(aws_sdk_ec2::types::FlowLogsResourceType::NetworkInterface)
        .traffic_type(aws_sdk_ec2::types::TrafficType::All)
        .log_group_name("flow")
        .deliver_logs_permission_arn("arn:aws:iam::330000000001:role/flow")
        .send()
        .await
        .unwrap();

    // GuardDuty and LookupEvents answered by mocks; memory uploaded by "the instance".
    use aws_sdk_guardduty::operation::{
        get_findings::GetFindingsOutput, list_detectors::ListDetectorsOutput,
        list_findings::ListFindingsOutput,
    };
    let inst = instance.clone();
    let gd_list = mock!(aws_sdk_guardduty::Client::list_detectors)
        .then_output(|| ListDetectorsOutput::builder().detector_ids("d-1").build());
    let gd_find = mock!(aws_sdk_guardduty::Client::list_findings)
        .then_output(|| ListFindingsOutput::builder().finding_ids("f-1").build());
    let gd_get = mock!(aws_sdk_guardduty::Client::get_findings).then_output(move || {
        use aws_sdk_guardduty::types::*;
        GetFindingsOutput::builder()
            .findings(
                Finding::builder()
                    .account_id("330000000001")
                    .arn("arn:aws:guardduty:us-east-1:330000000001:detector/d-1/finding/f-1")
                    .created_at(dated("2026-11-21T09:10:00Z"))
                    .id("f-1")
                    .region("us-east-1")
                    .schema_version("2.0")
                    .r#type("CryptoCurrency:EC2/BitcoinTool.B!DNS")
                    .updated_at(dated("2026-11-21T09:10:00Z"))
                    .severity(8.0)
                    .resource(
                        Resource::builder()
                            .resource_type("Instance")
                            .instance_details(InstanceDetails::builder().instance_id(&inst).build())
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    base.overrides.guardduty = Some(mocked!(aws_sdk_guardduty, [&gd_list, &gd_find, &gd_get]));
    use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput;
    let lookup = mock!(aws_sdk_cloudtrail::Client::lookup_events).then_output(|| {
        LookupEventsOutput::builder().events(aws_sdk_cloudtrail::types::Event::builder()
            .cloud_trail_event(dated(r#"{"eventVersion":"1.08","eventName":"GetCallerIdentity","eventSource":"sts.amazonaws.com","eventTime":"2026-11-21T09:01:00Z","eventID":"lk-1","awsRegion":"us-east-1","recipientAccountId":"330000000001","userIdentity":{"type":"IAMUser","accessKeyId":"AKIAQXAMPLELEAKED001"}}"#)).build()).build()
    });
    base.overrides.cloudtrail_lookup = Some(mocked!(aws_sdk_cloudtrail, [&lookup]));
    let image = b"LiME memory image".to_vec();
    let (ssm_client, _) = ssm(true, format!("{}\n", sha256(&image)));
    base.overrides.ssm = Some(ssm_client);
    let fx = inside(&base, FORENSIC).await;
    locked_bucket(&acct, "memory-330000000001").await;
    use base64::Engine;
    let digest_bytes: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&sha256(&image)[i..i + 2], 16).unwrap())
        .collect();
    s3.put_object()
        .bucket("memory-330000000001")
        .key(format!("cases/9/memory/{instance}.lime"))
        .body(image.clone().into())
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(&digest_bytes))
        .send()
        .await
        .unwrap();

    let conn = inside(&base, account).await;
    let req = Request {
        case: case::CaseId(9),
        account: model::AccountId::parse(account).unwrap(),
        regions: vec![REGION.into()],
        instances: vec![(instance.clone(), REGION.into())],
        access_keys: vec!["AKIAQXAMPLELEAKED001".into()],
        users: vec!["ci".into()],
        from_ms: day_ms(),
        to_ms: day_ms() + 86_399_000,
    };
    let c = collect(&conn, &req).await;
    let names: Vec<&str> = c.items.iter().map(|i| i.name.as_str()).collect();
    for want in [
        &dated("330000000001_CloudTrail_us-east-1_20261121T0900Z_good.json.gz"),
        "lookup-events-330000000001-us-east-1.jsonl",
        &format!("flow-{eni}.log"),
        "guardduty-330000000001-us-east-1.jsonl",
        &format!("describe-instances-{instance}.txt"),
        &format!("console-output-{instance}.txt"),
    ] {
        assert!(
            names.contains(&want),
            "{want} not in {names:#?}; failures {:#?}",
            c.failures
        );
    }
    let item = |n: &str| c.items.iter().find(|i| i.name == n).unwrap();
    assert_eq!(
        item(&dated(
            "330000000001_CloudTrail_us-east-1_20261121T0900Z_good.json.gz"
        ))
        .detail["digest"],
        "verified against a digest file"
    );
    assert_eq!(
        item(&dated(
            "330000000001_CloudTrail_us-east-1_20261121T0905Z_bad.json.gz"
        ))
        .detail["digest"],
        "DOES NOT MATCH its digest file"
    );
    assert!(
        c.failures.iter().any(
            |f| f.what.starts_with("CloudTrail digest check") && f.why.contains("_bad.json.gz")
        ),
        "{:#?}",
        c.failures
    );
    assert!(
        String::from_utf8_lossy(&item(&format!("flow-{eni}.log")).bytes).contains("203.0.113.9")
    );
    assert!(
        String::from_utf8_lossy(&item("guardduty-330000000001-us-east-1.jsonl").bytes)
            .contains("BitcoinTool")
    );
    // Collection only reads: snapshots and memory are an evidence response plan's steps.
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("snapshots-") || n.starts_with("memory-")),
        "{names:#?}"
    );
    let mine = acct
        .ec2(REGION)
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:firebreak:case")
                .values("9")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        mine.snapshots().is_empty(),
        "collect made a snapshot: {mine:#?}"
    );
    drop(fx);
}

#[tokio::test]
async fn memory_capture_fails_clearly_without_an_ssm_agent() {
    let Some((mut base, acct)) = env("330000000002").await else {
        return;
    };
    let (instance, _) = launch(&acct).await;
    let (client, send) = ssm(false, String::new());
    base.overrides.ssm = Some(client);
    let conn = inside(&base, "330000000002").await;
    let e = capture_memory(&conn, REGION, &instance, case::CaseId(9), "memory")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("has no SSM agent online"), "{e}");
    assert_eq!(send.num_calls(), 0);
    // With an agent but no uploaded image (moto runs nothing), the checksum check fails.
    let (client, _) = ssm(true, format!("{}\n", "ab".repeat(32)));
    base.overrides.ssm = Some(client);
    locked_bucket(&acct, "memory-330000000002").await;
    let conn = inside(&base, "330000000002").await;
    // No image at all: the HeadObject fails and says which object.
    let e = capture_memory(
        &conn,
        REGION,
        &instance,
        case::CaseId(9),
        "memory-330000000002",
    )
    .await
    .unwrap_err();
    assert!(e.to_string().starts_with("s3:HeadObject"), "{e}");
    // An image whose bytes are not what the instance hashed (changed in transit, or
    // replaced): the checksum S3 holds differs from the instance's, and the capture fails.
    let other = b"not the memory the instance read".to_vec();
    use base64::Engine;
    use sha2::Digest;
    acct.s3(REGION)
        .put_object()
        .bucket("memory-330000000002")
        .key(format!("cases/9/memory/{instance}.lime"))
        .body(other.clone().into())
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .checksum_sha256(
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&other)),
        )
        .send()
        .await
        .unwrap();
    let e = capture_memory(
        &conn,
        REGION,
        &instance,
        case::CaseId(9),
        "memory-330000000002",
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains(&format!(
            "s3://memory-330000000002/cases/9/memory/{instance}.lime has checksum Some(\"{}\"), the instance computed {}",
            sha256(&other),
            "ab".repeat(32)
        )),
        "{e}"
    );
}

#[tokio::test]
async fn uploads_are_locked_and_read_back() {
    let Some((_, acct)) = env("330000000003").await else {
        return;
    };
    locked_bucket(&acct, "evidence-330000000003").await;
    let bytes = b"console output".to_vec();
    let lock = Lock {
        mode: "COMPLIANCE".into(),
        retain_until_ms: day_ms() + 365 * 86_400_000,
    };
    let at = upload(
        &acct,
        REGION,
        "evidence-330000000003",
        "cases/9/x/console.txt",
        Body::Bytes(&bytes),
        &sha256(&bytes),
        &lock,
    )
    .await
    .unwrap();
    assert_eq!(at, "s3://evidence-330000000003/cases/9/x/console.txt");
    let head = acct
        .s3(REGION)
        .head_object()
        .bucket("evidence-330000000003")
        .key("cases/9/x/console.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode().map(|m| m.as_str()),
        Some("COMPLIANCE")
    );
    assert!(head.object_lock_retain_until_date().is_some());
    // Locked: deleting the version is refused.
    let versions = acct
        .s3(REGION)
        .list_object_versions()
        .bucket("evidence-330000000003")
        .send()
        .await
        .unwrap();
    let v = versions.versions()[0].version_id().unwrap().to_string();
    assert!(
        acct.s3(REGION)
            .delete_object()
            .bucket("evidence-330000000003")
            .key("cases/9/x/console.txt")
            .version_id(v)
            .send()
            .await
            .is_err()
    );
    // A hash that does not match the bytes is refused by S3 itself, and nothing is kept.
    let e = upload(
        &acct,
        REGION,
        "evidence-330000000003",
        "cases/9/x/other.txt",
        Body::Bytes(&bytes),
        &"00".repeat(32),
        &lock,
    )
    .await
    .unwrap_err();
    // Real S3 refuses the PutObject (BadDigest). moto 5.2.5 stores the object with the
    // checksum it was given, so here the refusal comes from the read-back: the SDK checks the
    // stored checksum against the bytes, and the upload is not trusted either way.
    let msg = e.to_string();
    assert!(
        (msg.starts_with("s3:PutObject:") && e.code().is_some_and(|c| c.contains("Digest")))
            || (msg.starts_with("s3:GetObject:")
                && msg.contains("s3://evidence-330000000003/cases/9/x/other.txt")
                && msg.contains(&"00".repeat(32))),
        "{msg}"
    );
    // A file is streamed from disk and read back the same way.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("image.lime");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &big).unwrap();
    let at = upload(
        &acct,
        REGION,
        "evidence-330000000003",
        "cases/9/x/image.lime",
        Body::File(&file),
        &sha256(&big),
        &lock,
    )
    .await
    .unwrap();
    assert_eq!(at, "s3://evidence-330000000003/cases/9/x/image.lime");
}
