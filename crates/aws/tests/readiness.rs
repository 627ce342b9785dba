//! `firebreak readiness` against moto: a well-prepared account scores 100%, a neglected
//! one the expected findings. Each test works in accounts of its own.
//!
//! moto gaps, answered with aws-smithy-mocks instead: GuardDuty (`ListDetectors`,
//! `GetDetector`: the issue asks for mocks there) and S3 `GetBucketVersioning` (moto 5.2.5
//! answers with a `GetBucketVersioningResponse` root the SDK rejects).

mod moto;

use moto::{config, inside, mocked};

use aws::readiness::{Scope, run};
use aws::{Connection, Overrides};
use aws_smithy_mocks::{Rule, mock};
use plan::readiness::{Finding, Report, Status, plan_findings};
use plan::{CheckContext, Date, Format, IrPlan};
use std::collections::{BTreeMap, BTreeSet};

const REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];

/// The example plan moved onto `workload` and `forensic` accounts; the central stream
/// lives in the workload account (a single-account shop's pipeline).
fn test_plan(workload: &str, forensic: &str) -> IrPlan {
    let text = plan::EXAMPLE
        .replace(
            "arn:aws:kinesis:us-east-1:999988887777:stream/central-security-logs",
            &format!("arn:aws:kinesis:us-east-1:{workload}:stream/central-security-logs"),
        )
        .replace("999988887777", forensic)
        .replace("111122223333", workload)
        .replace("example-ir-evidence", &format!("evidence-{forensic}"));
    plan::parse(&text, "test-plan.toml", Format::Toml).unwrap()
}

fn scope(account: &str) -> Scope {
    Scope {
        accounts: vec![account.to_string()],
        regions: REGIONS.map(String::from).to_vec(),
    }
}

fn guardduty(rules: &[&Rule]) -> aws_sdk_guardduty::Client {
    mocked!(aws_sdk_guardduty, rules)
}

fn s3_versioning(rules: &[&Rule]) -> aws_sdk_s3::Client {
    mocked!(aws_sdk_s3, rules)
}

async fn create_responder_role(acct: &Connection) {
    aws_sdk_iam::Client::new(&acct.in_region("us-east-1"))
        .create_role()
        .role_name("FirebreakResponder")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
}

async fn locked_bucket(acct: &Connection, bucket: &str, retention_days: Option<i32>) {
    let s3 = acct.s3("us-east-1");
    s3.create_bucket()
        .bucket(bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    if let Some(days) = retention_days {
        use aws_sdk_s3::types::*;
        s3.put_object_lock_configuration()
            .bucket(bucket)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(
                        ObjectLockRule::builder()
                            .default_retention(
                                DefaultRetention::builder()
                                    .mode(ObjectLockRetentionMode::Compliance)
                                    .days(days)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
}

/// Everything the guide asks for, in `account` and both regions.
async fn prepare(acct: &Connection, account: &str) {
    create_responder_role(acct).await;
    let trail_bucket = format!("trail-{account}");
    locked_bucket(acct, &trail_bucket, None).await;
    let ct = aws_sdk_cloudtrail::Client::new(&acct.in_region("us-east-1"));
    ct.create_trail()
        .name("org-trail")
        .s3_bucket_name(&trail_bucket)
        .is_multi_region_trail(true)
        .enable_log_file_validation(true)
        .send()
        .await
        .unwrap();
    ct.start_logging().name("org-trail").send().await.unwrap();
    let kinesis = aws_sdk_kinesis::Client::new(&acct.in_region("us-east-1"));
    kinesis
        .create_stream()
        .stream_name("central-security-logs")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let stream = format!("arn:aws:kinesis:us-east-1:{account}:stream/central-security-logs");
    let to_kinesis = format!("arn:aws:iam::{account}:role/CWLtoKinesis");
    for region in REGIONS {
        let conf = acct.in_region(region);
        {
            use aws_sdk_config::types::*;
            let cfg = aws_sdk_config::Client::new(&conf);
            cfg.put_configuration_recorder()
                .configuration_recorder(
                    ConfigurationRecorder::builder()
                        .name("default")
                        .role_arn(format!("arn:aws:iam::{account}:role/config"))
                        .recording_group(RecordingGroup::builder().all_supported(true).build())
                        .build(),
                )
                .send()
                .await
                .unwrap();
            cfg.put_delivery_channel()
                .delivery_channel(
                    DeliveryChannel::builder()
                        .name("default")
                        .s3_bucket_name(&trail_bucket)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            cfg.start_configuration_recorder()
                .configuration_recorder_name("default")
                .send()
                .await
                .unwrap();
        }
        aws_sdk_securityhub::Client::new(&conf)
            .enable_security_hub()
            .send()
            .await
            .unwrap();
        let ec2 = aws_sdk_ec2::Client::new(&conf);
        ec2.create_vpc()
            .cidr_block("10.42.0.0/16")
            .send()
            .await
            .unwrap();
        let vpcs = ec2
            .describe_vpcs()
            .send()
            .await
            .unwrap()
            .vpcs
            .unwrap_or_default();
        assert!(vpcs.len() >= 2, "the default VPC and ours");
        for vpc in &vpcs {
            let id = vpc.vpc_id().unwrap();
            ec2.create_flow_logs()
                .resource_ids(id)
                .resource_type(aws_sdk_ec2::types::FlowLogsResourceType::Vpc)
                .traffic_type(aws_sdk_ec2::types::TrafficType::All)
                .log_destination_type(aws_sdk_ec2::types::LogDestinationType::S3)
                .log_destination(format!("arn:aws:s3:::{trail_bucket}"))
                .send()
                .await
                .unwrap();
            let sg = ec2
                .create_security_group()
                .group_name("firebreak-isolation")
                .description("Firebreak isolation: no traffic")
                .vpc_id(id)
                .send()
                .await
                .unwrap();
            ec2.revoke_security_group_egress()
                .group_id(sg.group_id().unwrap())
                .ip_permissions(
                    aws_sdk_ec2::types::IpPermission::builder()
                        .ip_protocol("-1")
                        .ip_ranges(
                            aws_sdk_ec2::types::IpRange::builder()
                                .cidr_ip("0.0.0.0/0")
                                .build(),
                        )
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
        logs.create_log_group()
            .log_group_name("/aws/lambda/app")
            .send()
            .await
            .unwrap();
        // In the stream's region the group feeds it directly. Elsewhere AWS routes a
        // subscription through a CloudWatch Logs destination in the stream's account
        // (readiness accepts that), but moto 5.2.5 reads a destination ARN as a log group
        // name, so that region stays unsubscribed here: the test expects it to fail.
        if region == "us-east-1" {
            logs.put_subscription_filter()
                .log_group_name("/aws/lambda/app")
                .filter_name("central")
                .filter_pattern("")
                .destination_arn(&stream)
                .role_arn(&to_kinesis)
                .send()
                .await
                .unwrap();
        }
    }
}

fn ctx_playbooks() -> BTreeSet<String> {
    [
        "iam-user-access-key-compromise",
        "role-credentials-compromise",
        "ec2-instance-compromise",
        "crypto-mining-instance",
        "s3-public-or-exfiltration",
        "snapshot-ami-shared-out",
        "logging-tampering",
        "lambda-backdoor",
    ]
    .map(String::from)
    .into()
}

fn report(plan: &IrPlan, today: &str, aws_findings: Vec<Finding>) -> Report {
    let playbooks = ctx_playbooks();
    let mut findings = plan_findings(
        plan,
        &CheckContext {
            today: Date::parse(today).unwrap(),
            playbooks: &playbooks,
            rules: None,
            last_game_day: None,
            open_work: Vec::new(),
        },
    );
    findings.extend(aws_findings);
    Report::new(plan, findings)
}

/// `check` (and region, if any) → status.
fn statuses(r: &Report) -> BTreeMap<String, Status> {
    r.findings
        .iter()
        .map(|f| {
            let key = match &f.region {
                Some(reg)
                    if !f.check.starts_with("forensics") && f.check != "logs.central_stream" =>
                {
                    format!("{} {reg}", f.check)
                }
                _ => f.check.to_string(),
            };
            (key, f.status)
        })
        .collect()
}

#[tokio::test]
async fn a_well_prepared_account_passes_everything_moto_can_set_up() {
    let Some(endpoint) = moto::endpoint() else {
        return;
    };
    let (workload, forensic) = ("100000000001", "100000000009");
    let base = Connection::new(config(&endpoint), true);
    let acct = inside(&base, workload).await;
    prepare(&acct, workload).await;
    let fx = inside(&base, forensic).await;
    create_responder_role(&fx).await;
    locked_bucket(&fx, &format!("evidence-{forensic}"), Some(365)).await;

    let list = mock!(aws_sdk_guardduty::Client::list_detectors).then_output(|| {
        aws_sdk_guardduty::operation::list_detectors::ListDetectorsOutput::builder()
            .detector_ids("d-ready")
            .build()
    });
    let get = mock!(aws_sdk_guardduty::Client::get_detector)
        .match_requests(|r| r.detector_id() == Some("d-ready"))
        .then_output(|| {
            aws_sdk_guardduty::operation::get_detector::GetDetectorOutput::builder()
                .status(aws_sdk_guardduty::types::DetectorStatus::Enabled)
                .service_role("r")
                .build()
        });
    // Both buckets were made with Object Lock, which turns versioning on.
    let buckets = [format!("trail-{workload}"), format!("evidence-{forensic}")];
    let versioning = mock!(aws_sdk_s3::Client::get_bucket_versioning)
        .match_requests(move |r| buckets.iter().any(|b| r.bucket() == Some(b.as_str())))
        .then_output(|| {
            aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build()
        });
    let mut conn = base.clone();
    conn.overrides = Overrides {
        guardduty: Some(guardduty(&[&list, &get])),
        s3_versioning: Some(s3_versioning(&[&versioning])),
        ..Overrides::default()
    };
    let plan = test_plan(workload, forensic);
    let r = report(
        &plan,
        "2026-11-22",
        run(&conn, &plan, &scope(workload)).await,
    );
    let failing: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .map(|f| {
            format!(
                "{} {}: {}",
                f.check,
                f.region.as_deref().unwrap_or("-"),
                f.detail
            )
        })
        .collect();
    // The one thing moto cannot set up (see `prepare`).
    assert_eq!(
        failing,
        [
            "logs.central_subscription us-west-2: 0 of 1 log group(s) subscribed to arn:aws:kinesis:us-east-1:100000000001:stream/central-security-logs"
        ]
    );
    // 7 plan checks (the last: no post-incident work overdue), responder access, 3 CloudTrail checks, 6 checks in each of 2 regions,
    // the forensic account and its bucket, the central stream.
    assert_eq!(
        (r.score.passed, r.score.total, r.score.percent),
        (25, 26, 96)
    );
    assert_eq!(r.practices.len(), 8, "every SEC10 practice is scored");
    assert!(
        list.num_calls() >= 2 && get.num_calls() >= 2,
        "GuardDuty read in each region"
    );
    assert_eq!(
        versioning.num_calls(),
        2,
        "the trail bucket and the evidence bucket"
    );
    let text = r.to_text();
    assert!(text.contains("96% (25 of 26 checks pass)"), "{text}");
    assert!(
        text.contains("SEC10-BP03  Prepare forensic capabilities"),
        "{text}"
    );
    assert!(
        text.contains("fix: aws logs put-subscription-filter"),
        "{text}"
    );
}

#[tokio::test]
async fn a_neglected_account_gets_the_expected_findings_and_fixes() {
    let Some(endpoint) = moto::endpoint() else {
        return;
    };
    let (workload, forensic) = ("100000000002", "100000000008");
    let base = Connection::new(config(&endpoint), true);
    // Only the responder role exists; the forensic account has a role but no bucket.
    create_responder_role(&inside(&base, workload).await).await;
    create_responder_role(&inside(&base, forensic).await).await;
    let list = mock!(aws_sdk_guardduty::Client::list_detectors).then_output(|| {
        aws_sdk_guardduty::operation::list_detectors::ListDetectorsOutput::builder()
            .set_detector_ids(Some(vec![]))
            .build()
    });
    let mut conn = base.clone();
    conn.overrides.guardduty = Some(guardduty(&[&list]));
    // A stale plan: last reviewed 2025, no game day.
    let mut plan = test_plan(workload, forensic);
    plan.meta.last_reviewed.value = Date::parse("2025-01-15").unwrap();
    plan.exercises.last_game_day = None;
    let r = report(
        &plan,
        "2026-11-22",
        run(&conn, &plan, &scope(workload)).await,
    );
    let s = statuses(&r);
    let mut expected: BTreeMap<String, Status> = [
        ("plan.valid", Status::Pass),
        ("plan.personnel", Status::Pass),
        ("plan.playbooks", Status::Pass),
        ("plan.reviewed", Status::Fail),
        ("plan.game_day", Status::Fail),
        ("plan.post_incident", Status::Pass),
        ("cases.post_incident_work", Status::Pass),
        ("access.responder_role", Status::Pass),
        ("cloudtrail.multi_region_logging", Status::Fail),
        ("cloudtrail.log_file_validation", Status::Fail),
        ("cloudtrail.bucket_locked", Status::Fail),
        ("forensics.access", Status::Pass),
        ("forensics.evidence_bucket", Status::Fail),
        ("logs.central_stream", Status::Fail),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for region in REGIONS {
        for check in [
            "guardduty.enabled",
            "config.recording",
            "securityhub.enabled",
            "vpc.flow_logs",
            "vpc.isolation_group",
            "logs.central_subscription",
        ] {
            expected.insert(format!("{check} {region}"), Status::Fail);
        }
    }
    assert_eq!(s, expected);
    assert_eq!(
        (r.score.passed, r.score.total, r.score.percent),
        (7, 26, 26)
    );
    // Every failure says how to fix it, naming the place.
    for f in r.findings.iter().filter(|f| f.status != Status::Pass) {
        assert!(f.fix.as_deref().is_some_and(|x| !x.is_empty()), "{f:?}");
    }
    let flow = r
        .findings
        .iter()
        .find(|f| f.check == "vpc.flow_logs" && f.region.as_deref() == Some("us-west-2"))
        .unwrap();
    assert!(
        flow.detail.contains("without flow logs: vpc-"),
        "{}",
        flow.detail
    );
    assert!(flow.fix.as_deref().unwrap().contains("--region us-west-2"));
    let bucket = r
        .findings
        .iter()
        .find(|f| f.check == "forensics.evidence_bucket")
        .unwrap();
    assert_eq!(
        bucket.detail,
        format!("bucket evidence-{forensic} does not exist")
    );
    assert!(
        bucket
            .fix
            .as_deref()
            .unwrap()
            .contains("\"Mode\":\"COMPLIANCE\",\"Days\":365")
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["score"]["percent"], 26);
    assert_eq!(json["findings"][0]["practice"], "SEC10-BP02");
}

#[tokio::test]
async fn an_account_without_the_responder_role_is_unseen_not_passed() {
    let Some(endpoint) = moto::endpoint() else {
        return;
    };
    let (workload, forensic) = ("100000000003", "100000000007");
    let conn = Connection::new(config(&endpoint), true);
    let plan = test_plan(workload, forensic);
    let r = report(
        &plan,
        "2026-11-22",
        run(&conn, &plan, &scope(workload)).await,
    );
    let s = statuses(&r);
    assert_eq!(s["access.responder_role"], Status::Fail);
    let unseen = r
        .findings
        .iter()
        .filter(|f| f.account.as_deref() == Some(workload) && f.status == Status::Unknown)
        .count();
    // Every account check, and the central stream, which lives in this account.
    assert_eq!(
        unseen,
        3 + 6 * REGIONS.len() + 1,
        "every check in the account is unknown"
    );
    assert_eq!(s["forensics.access"], Status::Fail);
    let access = r
        .findings
        .iter()
        .find(|f| f.check == "access.responder_role")
        .unwrap();
    assert!(
        access
            .detail
            .ends_with("role/FirebreakResponder does not exist"),
        "{}",
        access.detail
    );
}
