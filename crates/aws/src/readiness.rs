//! `firebreak readiness`: is each account of the plan ready for an incident? Checks,
//! per account and region, the detective controls and access the AWS Security Incident
//! Response Guide asks for before anything happens, each mapped to a SEC10 practice.

use crate::connect::Connection;
use crate::{AwsError, call_error};
use aws_sdk_ec2::types::Filter;
use plan::IrPlan;
use plan::readiness::{Check, Finding, Practice, Status};

/// Role session name readiness uses (visible in CloudTrail).
pub const SESSION: &str = "firebreak-readiness";

/// What to check.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Accounts (default: every account of the plan).
    pub accounts: Vec<String>,
    /// Regions (default: the plan's).
    pub regions: Vec<String>,
}

impl Scope {
    pub fn of(plan: &IrPlan) -> Scope {
        Scope {
            accounts: plan
                .aws
                .accounts
                .iter()
                .map(|a| a.id.value.clone())
                .collect(),
            regions: plan.aws.regions.value.clone(),
        }
    }
}

/// Collects findings for one account and region.
struct Place<'a> {
    account: &'a str,
    region: Option<&'a str>,
    out: &'a mut Vec<Finding>,
}

impl Place<'_> {
    fn push(&mut self, check: &Check, status: Status, detail: String, fix: Option<String>) {
        self.out.push(Finding::new(
            check,
            Some(self.account.to_string()),
            self.region.map(str::to_string),
            status,
            detail,
            fix,
        ));
    }

    fn pass_fail(&mut self, check: &Check, ok: bool, detail: String, fix: &str) {
        let status = if ok { Status::Pass } else { Status::Fail };
        self.push(check, status, detail, Some(fix.to_string()));
    }

    /// A check that could not run.
    fn unknown(&mut self, check: &Check, e: &AwsError, action: &str) {
        let fix = if e.is_access_denied() {
            format!("allow {action} to the responder role")
        } else {
            "retry; if it persists, check the endpoint and the service's availability in this region".to_string()
        };
        self.push(
            check,
            Status::Unknown,
            format!("could not check: {e}"),
            Some(fix),
        );
    }
}

/// Checks made once per account (from its first region).
const ACCOUNT_CHECKS: &[Check] = &[CT_TRAIL, CT_VALID, CT_LOCK];

/// Checks made in every region.
const REGION_CHECKS: &[Check] = &[GD, CFG, HUB, FLOW, ISO, SUB];

const ACCESS: Check = Check {
    id: "access.responder_role",
    title: "Responder role can be assumed",
    practice: Practice::PreProvisionAccess,
};
const CT_TRAIL: Check = Check {
    id: "cloudtrail.multi_region_logging",
    title: "Multi-region CloudTrail trail logging",
    practice: Practice::PreDeployTools,
};
const CT_VALID: Check = Check {
    id: "cloudtrail.log_file_validation",
    title: "CloudTrail log file validation",
    practice: Practice::Forensics,
};
const CT_LOCK: Check = Check {
    id: "cloudtrail.bucket_locked",
    title: "CloudTrail bucket versioned with Object Lock",
    practice: Practice::Forensics,
};
const GD: Check = Check {
    id: "guardduty.enabled",
    title: "GuardDuty enabled",
    practice: Practice::PreDeployTools,
};
const CFG: Check = Check {
    id: "config.recording",
    title: "AWS Config recorder on",
    practice: Practice::PreDeployTools,
};
const HUB: Check = Check {
    id: "securityhub.enabled",
    title: "Security Hub enabled",
    practice: Practice::PreDeployTools,
};
const FLOW: Check = Check {
    id: "vpc.flow_logs",
    title: "VPC Flow Logs on every VPC",
    practice: Practice::PreDeployTools,
};
const ISO: Check = Check {
    id: "vpc.isolation_group",
    title: "Isolation security group in every VPC",
    practice: Practice::PreDeployTools,
};
const SUB: Check = Check {
    id: "logs.central_subscription",
    title: "CloudWatch Logs feeding the central stream",
    practice: Practice::PreDeployTools,
};
const FX_ACCESS: Check = Check {
    id: "forensics.access",
    title: "Forensic account reachable",
    practice: Practice::Forensics,
};
const FX_BUCKET: Check = Check {
    id: "forensics.evidence_bucket",
    title: "Evidence bucket with Object Lock",
    practice: Practice::Forensics,
};
const STREAM: Check = Check {
    id: "logs.central_stream",
    title: "Central log stream active",
    practice: Practice::PreDeployTools,
};

/// Runs every readiness check the plan implies against `conn` (the caller's credentials:
/// they must be allowed to assume the responder role into each account).
pub async fn run(conn: &Connection, plan: &IrPlan, scope: &Scope) -> Vec<Finding> {
    let mut out = Vec::new();
    let home = scope
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| "us-east-1".to_string());
    for account in &scope.accounts {
        let role = plan.aws.responder_role_arn(account);
        let mut place = Place {
            account,
            region: None,
            out: &mut out,
        };
        let Some(acct) = responder_access(conn, plan, &role, &home, &mut place).await else {
            // Without access nothing else in the account can be checked: each check
            // counts as unknown, so the score shows how much is unseen.
            let fix = format!("make {role} assumable, then re-run");
            let places = std::iter::once((None, ACCOUNT_CHECKS))
                .chain(scope.regions.iter().map(|r| (Some(r), REGION_CHECKS)));
            for (region, checks) in places {
                for check in checks {
                    out.push(Finding::new(
                        check,
                        Some(account.clone()),
                        region.cloned(),
                        Status::Unknown,
                        "not checked: no access to the account".into(),
                        Some(fix.clone()),
                    ));
                }
            }
            continue;
        };
        cloudtrail(&acct, &home, &mut place).await;
        for region in &scope.regions {
            let mut place = Place {
                account,
                region: Some(region),
                out: &mut out,
            };
            guardduty(&acct, region, &mut place).await;
            config_recorder(&acct, region, &mut place).await;
            security_hub(&acct, region, &mut place).await;
            vpcs(
                &acct,
                region,
                &plan.aws.isolation_security_group,
                &mut place,
            )
            .await;
            log_subscriptions(&acct, region, &plan.aws.central_log_stream, &mut place).await;
        }
    }
    forensics(conn, plan, &mut out).await;
    central_stream(conn, plan, &mut out).await;
    out
}

/// Assumes the responder role into `account` (a live `sts:AssumeRole`) and proves the
/// role exists there; on failure, why.
async fn assume_verified(
    conn: &Connection,
    plan: &IrPlan,
    account: &str,
    region: &str,
) -> Result<Connection, String> {
    let role = plan.aws.responder_role_arn(account);
    let acct = conn
        .assume(&role, plan.aws.external_id.as_deref(), SESSION)
        .await
        .map_err(|e| format!("sts:AssumeRole {role} failed: {e}"))?;
    // AWS refuses AssumeRole on a missing role; emulators may not, so ask IAM too. A role
    // that may not read IAM proves itself by having been assumed.
    let iam = aws_sdk_iam::Client::new(&acct.in_region(region));
    match iam
        .get_role()
        .role_name(plan.aws.responder_role.value.clone())
        .send()
        .await
    {
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Err(format!("{role} does not exist"))
        }
        _ => Ok(acct),
    }
}

/// The responder-access check for one account.
async fn responder_access(
    conn: &Connection,
    plan: &IrPlan,
    role: &str,
    home: &str,
    place: &mut Place<'_>,
) -> Option<Connection> {
    let fix = format!(
        "create role {} in the account, trusting the security account's responders, with the SecurityAudit managed policy for readiness and investigation",
        plan.aws.responder_role.value
    );
    let result = assume_verified(conn, plan, place.account, home).await;
    let (ok, detail) = match &result {
        Ok(_) => (true, format!("assumed {role}")),
        Err(why) => (false, why.clone()),
    };
    place.pass_fail(&ACCESS, ok, detail, &fix);
    result.ok()
}

async fn cloudtrail(acct: &Connection, home: &str, place: &mut Place<'_>) {
    let ct = aws_sdk_cloudtrail::Client::new(&acct.in_region(home));
    let trails = match ct
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
    {
        Ok(t) => t.trail_list.unwrap_or_default(),
        Err(e) => {
            let e = call_error("cloudtrail", "DescribeTrails", e);
            for check in ACCOUNT_CHECKS {
                place.unknown(check, &e, "cloudtrail:DescribeTrails");
            }
            return;
        }
    };
    // The best trail: multi-region and logging, then validated.
    let mut best: Option<(&aws_sdk_cloudtrail::types::Trail, bool)> = None;
    for t in trails
        .iter()
        .filter(|t| t.is_multi_region_trail() == Some(true))
    {
        let name = t.trail_arn().or(t.name()).unwrap_or_default();
        let logging = ct
            .get_trail_status()
            .name(name)
            .send()
            .await
            .is_ok_and(|s| s.is_logging() == Some(true));
        let rank = (logging, t.log_file_validation_enabled() == Some(true));
        if best.is_none_or(|(b, l)| rank > (l, b.log_file_validation_enabled() == Some(true))) {
            best = Some((t, logging));
        }
    }
    let fix_trail = "create a multi-region trail (aws cloudtrail create-trail --is-multi-region-trail --enable-log-file-validation) and start logging";
    let Some((trail, logging)) = best else {
        place.pass_fail(
            &CT_TRAIL,
            false,
            format!("{} trail(s), none multi-region", trails.len()),
            fix_trail,
        );
        place.pass_fail(&CT_VALID, false, "no multi-region trail".into(), fix_trail);
        place.pass_fail(&CT_LOCK, false, "no multi-region trail".into(), fix_trail);
        return;
    };
    let name = trail.name().unwrap_or("?");
    place.pass_fail(
        &CT_TRAIL,
        logging,
        format!(
            "trail {name} is multi-region and {}",
            if logging { "logging" } else { "NOT logging" }
        ),
        &format!("aws cloudtrail start-logging --name {name}"),
    );
    let validated = trail.log_file_validation_enabled() == Some(true);
    place.pass_fail(
        &CT_VALID,
        validated,
        format!(
            "trail {name}: log file validation {}",
            if validated { "on" } else { "off" }
        ),
        &format!("aws cloudtrail update-trail --name {name} --enable-log-file-validation"),
    );
    let Some(bucket) = trail.s3_bucket_name() else {
        place.pass_fail(
            &CT_LOCK,
            false,
            format!("trail {name} names no bucket"),
            fix_trail,
        );
        return;
    };
    let region = trail.home_region().unwrap_or(home);
    match bucket_lock(acct, region, bucket).await {
        Ok((versioned, lock)) => {
            let ok = versioned && lock.enabled;
            place.pass_fail(
                &CT_LOCK,
                ok,
                format!(
                    "bucket {bucket}: versioning {}, Object Lock {}",
                    if versioned { "enabled" } else { "off" },
                    if lock.enabled { "enabled" } else { "off" }
                ),
                &format!("deliver the trail to a new bucket created with Object Lock (versioning comes with it): aws s3api create-bucket --bucket {bucket}-locked --object-lock-enabled-for-bucket"),
            );
        }
        Err(e) => place.unknown(
            &CT_LOCK,
            &e,
            "s3:GetBucketVersioning and s3:GetBucketObjectLockConfiguration",
        ),
    }
}

/// A bucket's Object Lock settings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Lock {
    enabled: bool,
    /// Default retention mode and days (years counted as 365 days).
    mode: Option<String>,
    days: Option<i64>,
}

/// (versioning enabled, object lock) of `bucket`.
async fn bucket_lock(
    acct: &Connection,
    region: &str,
    bucket: &str,
) -> Result<(bool, Lock), AwsError> {
    let v = acct
        .s3_versioning(region)
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| call_error("s3", "GetBucketVersioning", e))?;
    let versioned = v.status() == Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled);
    let lock = match acct
        .s3(region)
        .get_object_lock_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(o) => {
            let conf = o.object_lock_configuration();
            let retention = conf
                .and_then(|c| c.rule())
                .and_then(|r| r.default_retention());
            Lock {
                enabled: conf.and_then(|c| c.object_lock_enabled())
                    == Some(&aws_sdk_s3::types::ObjectLockEnabled::Enabled),
                mode: retention
                    .and_then(|r| r.mode())
                    .map(|m| m.as_str().to_string()),
                days: retention.and_then(|r| {
                    r.days()
                        .map(i64::from)
                        .or(r.years().map(|y| i64::from(y) * 365))
                }),
            }
        }
        Err(e) => {
            let e = call_error("s3", "GetObjectLockConfiguration", e);
            if e.code() == Some("ObjectLockConfigurationNotFoundError") {
                Lock::default()
            } else {
                return Err(e);
            }
        }
    };
    Ok((versioned, lock))
}

async fn guardduty(acct: &Connection, region: &str, place: &mut Place<'_>) {
    let gd = acct.guardduty(region);
    let ids = match gd.list_detectors().send().await {
        Ok(o) => o.detector_ids.unwrap_or_default(),
        Err(e) => {
            place.unknown(
                &GD,
                &call_error("guardduty", "ListDetectors", e),
                "guardduty:ListDetectors",
            );
            return;
        }
    };
    let fix = format!(
        "aws guardduty create-detector --enable --region {region} (or enable it organization-wide from the delegated administrator)"
    );
    let Some(id) = ids.first() else {
        place.pass_fail(&GD, false, "no detector".into(), &fix);
        return;
    };
    match gd.get_detector().detector_id(id).send().await {
        Ok(d) => {
            let enabled = d.status() == Some(&aws_sdk_guardduty::types::DetectorStatus::Enabled);
            place.pass_fail(
                &GD,
                enabled,
                format!(
                    "detector {id} {}",
                    d.status().map_or("without status", |s| s.as_str())
                ),
                &format!(
                    "aws guardduty update-detector --detector-id {id} --enable --region {region}"
                ),
            );
        }
        Err(e) => place.unknown(
            &GD,
            &call_error("guardduty", "GetDetector", e),
            "guardduty:GetDetector",
        ),
    }
}

async fn config_recorder(acct: &Connection, region: &str, place: &mut Place<'_>) {
    let cfg = aws_sdk_config::Client::new(&acct.in_region(region));
    match cfg.describe_configuration_recorder_status().send().await {
        Ok(o) => {
            let recs = o.configuration_recorders_status.unwrap_or_default();
            let on: Vec<&str> = recs
                .iter()
                .filter(|r| r.recording)
                .filter_map(|r| r.name())
                .collect();
            place.pass_fail(
                &CFG,
                !on.is_empty(),
                if on.is_empty() {
                    format!("{} recorder(s), none recording", recs.len())
                } else {
                    format!("recording: {}", on.join(", "))
                },
                &format!("set up AWS Config in {region} (aws configservice put-configuration-recorder, put-delivery-channel, start-configuration-recorder)"),
            );
        }
        Err(e) => place.unknown(
            &CFG,
            &call_error("config", "DescribeConfigurationRecorderStatus", e),
            "config:DescribeConfigurationRecorderStatus",
        ),
    }
}

async fn security_hub(acct: &Connection, region: &str, place: &mut Place<'_>) {
    let hub = aws_sdk_securityhub::Client::new(&acct.in_region(region));
    let fix = format!("aws securityhub enable-security-hub --region {region}");
    match hub.describe_hub().send().await {
        Ok(h) => place.pass_fail(
            &HUB,
            true,
            format!("hub {}", h.hub_arn().unwrap_or("enabled")),
            &fix,
        ),
        Err(e) => {
            let e = call_error("securityhub", "DescribeHub", e);
            match e.code() {
                Some("InvalidAccessException" | "ResourceNotFoundException") => {
                    place.pass_fail(&HUB, false, "not enabled".into(), &fix)
                }
                _ => place.unknown(&HUB, &e, "securityhub:DescribeHub"),
            }
        }
    }
}

async fn vpcs(acct: &Connection, region: &str, isolation: &str, place: &mut Place<'_>) {
    let ec2 = aws_sdk_ec2::Client::new(&acct.in_region(region));
    let vpcs: Vec<String> = match ec2
        .describe_vpcs()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
    {
        Ok(v) => v.into_iter().filter_map(|v| v.vpc_id).collect(),
        Err(e) => {
            let e = call_error("ec2", "DescribeVpcs", e);
            place.unknown(&FLOW, &e, "ec2:DescribeVpcs");
            place.unknown(&ISO, &e, "ec2:DescribeVpcs");
            return;
        }
    };
    let flows = ec2
        .describe_flow_logs()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    match flows {
        Ok(flows) => {
            let missing: Vec<&str> = vpcs
                .iter()
                .filter(|v| {
                    !flows.iter().any(|f| {
                        f.resource_id() == Some(v.as_str())
                            && f.flow_log_status().is_none_or(|s| s == "ACTIVE")
                    })
                })
                .map(String::as_str)
                .collect();
            place.pass_fail(
                &FLOW,
                missing.is_empty(),
                if missing.is_empty() {
                    format!("{} VPC(s), all with flow logs", vpcs.len())
                } else {
                    format!("{} of {} VPC(s) without flow logs: {}", missing.len(), vpcs.len(), missing.join(", "))
                },
                &format!(
                    "aws ec2 create-flow-logs --resource-type VPC --traffic-type ALL --resource-ids {} --log-destination-type s3 --log-destination arn:aws:s3:::YOUR-LOG-BUCKET --region {region}",
                    missing.join(" ")
                ),
            );
        }
        Err(e) => place.unknown(
            &FLOW,
            &call_error("ec2", "DescribeFlowLogs", e),
            "ec2:DescribeFlowLogs",
        ),
    }
    let groups = ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values(isolation)
                .build(),
        )
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    match groups {
        Ok(groups) => {
            let mut missing = Vec::new();
            let mut open = Vec::new();
            for v in &vpcs {
                match groups.iter().find(|g| g.vpc_id() == Some(v.as_str())) {
                    None => missing.push(v.as_str()),
                    Some(g)
                        if !g.ip_permissions().is_empty()
                            || !g.ip_permissions_egress().is_empty() =>
                    {
                        open.push(format!("{} ({})", g.group_id().unwrap_or("?"), v))
                    }
                    Some(_) => {}
                }
            }
            let ok = missing.is_empty() && open.is_empty();
            let mut detail = format!("{} VPC(s)", vpcs.len());
            if !missing.is_empty() {
                detail.push_str(&format!(
                    "; no `{isolation}` group in {}",
                    missing.join(", ")
                ));
            }
            if !open.is_empty() {
                detail.push_str(&format!(
                    "; groups with rules (an isolation group has none): {}",
                    open.join(", ")
                ));
            }
            if ok {
                detail.push_str(&format!(", each with a rule-less `{isolation}` group"));
            }
            place.pass_fail(
                &ISO,
                ok,
                detail,
                &format!("in each VPC: aws ec2 create-security-group --group-name {isolation} --description 'Firebreak isolation: no traffic' --vpc-id VPC, then revoke its default egress rule"),
            );
        }
        Err(e) => place.unknown(
            &ISO,
            &call_error("ec2", "DescribeSecurityGroups", e),
            "ec2:DescribeSecurityGroups",
        ),
    }
}

async fn log_subscriptions(acct: &Connection, region: &str, stream: &str, place: &mut Place<'_>) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&acct.in_region(region));
    let groups = match logs
        .describe_log_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
    {
        Ok(g) => g,
        Err(e) => {
            place.unknown(
                &SUB,
                &call_error("logs", "DescribeLogGroups", e),
                "logs:DescribeLogGroups",
            );
            return;
        }
    };
    // A subscription reaches the stream directly or through a CloudWatch Logs
    // destination in the stream's account (the cross-account pattern).
    let stream_account = stream.split(':').nth(4).unwrap_or_default();
    let mut fed = Vec::new();
    for g in &groups {
        let Some(name) = g.log_group_name() else {
            continue;
        };
        match logs
            .describe_subscription_filters()
            .log_group_name(name)
            .send()
            .await
        {
            Ok(f) => {
                if f.subscription_filters().iter().any(|s| {
                    s.destination_arn().is_some_and(|d| {
                        d == stream
                            || (d.starts_with("arn:aws:logs:")
                                && d.contains(":destination:")
                                && d.split(':').nth(4) == Some(stream_account))
                    })
                }) {
                    fed.push(name);
                }
            }
            Err(e) => {
                place.unknown(
                    &SUB,
                    &call_error("logs", "DescribeSubscriptionFilters", e),
                    "logs:DescribeSubscriptionFilters",
                );
                return;
            }
        }
    }
    place.pass_fail(
        &SUB,
        !fed.is_empty(),
        format!("{} of {} log group(s) subscribed to {stream}", fed.len(), groups.len()),
        &format!("aws logs put-subscription-filter --log-group-name GROUP --filter-name central --filter-pattern '' --destination-arn {stream} --role-arn CWL-TO-KINESIS-ROLE --region {region}"),
    );
}

/// The forensic account: reachable, with an evidence bucket under Object Lock as the
/// plan says.
async fn forensics(conn: &Connection, plan: &IrPlan, out: &mut Vec<Finding>) {
    let fx = &plan.forensics;
    let account = fx.account.value.as_str();
    let mut place = Place {
        account,
        region: Some(&fx.region.value),
        out,
    };
    let acct = match assume_verified(conn, plan, account, &fx.region.value).await {
        Ok(a) => {
            let role = plan.aws.responder_role_arn(account);
            place.pass_fail(&FX_ACCESS, true, format!("assumed {role}"), "");
            a
        }
        Err(why) => {
            place.pass_fail(
                &FX_ACCESS,
                false,
                why,
                &format!(
                    "create the forensic account {account} and role {} in it",
                    plan.aws.responder_role.value
                ),
            );
            return;
        }
    };
    let bucket = fx.evidence_bucket.value.as_str();
    let region = fx.region.value.as_str();
    let fix = format!(
        "aws s3api create-bucket --bucket {bucket} --object-lock-enabled-for-bucket --region {region}; aws s3api put-object-lock-configuration --bucket {bucket} --object-lock-configuration '{{\"ObjectLockEnabled\":\"Enabled\",\"Rule\":{{\"DefaultRetention\":{{\"Mode\":\"{}\",\"Days\":{}}}}}}}'",
        fx.object_lock_mode.value, fx.retention_days.value
    );
    if let Err(e) = acct.s3(region).head_bucket().bucket(bucket).send().await {
        let e = call_error("s3", "HeadBucket", e);
        let missing = matches!(e.code(), Some("NotFound" | "NoSuchBucket"))
            || e.to_string().contains("NotFound");
        if missing {
            place.pass_fail(
                &FX_BUCKET,
                false,
                format!("bucket {bucket} does not exist"),
                &fix,
            );
        } else {
            place.unknown(&FX_BUCKET, &e, "s3:ListBucket");
        }
        return;
    }
    match bucket_lock(&acct, region, bucket).await {
        Ok((_, lock)) => {
            let mode_ok = lock.mode.as_deref() == Some(fx.object_lock_mode.value.as_str());
            let days_ok = lock
                .days
                .is_some_and(|d| d >= i64::from(fx.retention_days.value));
            let ok = lock.enabled && mode_ok && days_ok;
            let detail = if !lock.enabled {
                format!("bucket {bucket} has no Object Lock")
            } else {
                format!(
                    "bucket {bucket}: Object Lock on, default retention {} {} day(s); the plan asks {} {} day(s)",
                    lock.mode.as_deref().unwrap_or("none"),
                    lock.days.map_or("-".to_string(), |d| d.to_string()),
                    fx.object_lock_mode.value,
                    fx.retention_days.value
                )
            };
            place.pass_fail(&FX_BUCKET, ok, detail, &fix);
        }
        Err(e) => place.unknown(&FX_BUCKET, &e, "s3:GetBucketObjectLockConfiguration"),
    }
}

/// The central Kinesis stream exists and is active, read from its own account.
async fn central_stream(conn: &Connection, plan: &IrPlan, out: &mut Vec<Finding>) {
    let arn = plan.aws.central_log_stream.value.as_str();
    let parts: Vec<&str> = arn.split(':').collect();
    let (region, account) = (
        parts.get(3).copied().unwrap_or_default(),
        parts.get(4).copied().unwrap_or_default(),
    );
    let mut place = Place {
        account,
        region: Some(region),
        out,
    };
    let acct = match assume_verified(conn, plan, account, region).await {
        Ok(a) => a,
        Err(why) => {
            place.push(
                &STREAM,
                Status::Unknown,
                format!("could not check: {why}"),
                Some("make the responder role assumable in the stream's account".into()),
            );
            return;
        }
    };
    let kinesis = aws_sdk_kinesis::Client::new(&acct.in_region(region));
    let fix = format!(
        "create the stream: aws kinesis create-stream --stream-name {} --region {region}",
        arn.rsplit('/').next().unwrap_or("central")
    );
    match kinesis
        .describe_stream_summary()
        .stream_arn(arn)
        .send()
        .await
    {
        Ok(s) => {
            let status = s
                .stream_description_summary()
                .map(|d| d.stream_status().as_str().to_string())
                .unwrap_or_default();
            place.pass_fail(
                &STREAM,
                status == "ACTIVE" || status == "UPDATING",
                format!("stream {arn} is {status}"),
                &fix,
            );
        }
        Err(e) => {
            let e = call_error("kinesis", "DescribeStreamSummary", e);
            if e.code() == Some("ResourceNotFoundException") {
                place.pass_fail(&STREAM, false, format!("stream {arn} does not exist"), &fix);
            } else {
                place.unknown(&STREAM, &e, "kinesis:DescribeStreamSummary");
            }
        }
    }
}
