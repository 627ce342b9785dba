//! GuardDuty and Security Hub (ASFF) findings → Detection Finding (2004) events.
//! Findings are few, so they are read through a `serde_json::Value`.

use model::time::parse_timestamp;
use model::{
    Actor, Event, EventClass, Finding, Network, Origin, Outcome, Raw, Resource, Severity,
    SourceKind, Text,
};
use serde_json::Value;
use std::borrow::Cow;

fn s<'a>(v: Option<&Value>) -> Option<Text<'a>> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(Cow::Owned(s.clone())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

fn path<'v>(v: &'v Value, keys: &[&str]) -> Option<&'v Value> {
    keys.iter().try_fold(v, |v, k| v.get(*k))
}

fn time(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::String(s) => parse_timestamp(s),
        Value::Number(n) => parse_timestamp(&n.to_string()),
        _ => None,
    }
}

/// GuardDuty's 0–10 score to OCSF severity (GuardDuty's own bands).
pub(crate) fn guardduty_severity(score: f64) -> Severity {
    match score {
        s if s >= 9.0 => Severity::Critical,
        s if s >= 7.0 => Severity::High,
        s if s >= 4.0 => Severity::Medium,
        s if s >= 1.0 => Severity::Low,
        _ => Severity::Informational,
    }
}

/// ASFF normalized 0–100 score to OCSF severity (the ASFF label bands).
pub(crate) fn asff_severity(normalized: f64) -> Severity {
    match normalized {
        s if s >= 90.0 => Severity::Critical,
        s if s >= 70.0 => Severity::High,
        s if s >= 40.0 => Severity::Medium,
        s if s >= 1.0 => Severity::Low,
        _ => Severity::Informational,
    }
}

fn activity(created: Option<i64>, updated: Option<i64>, closed: bool) -> u8 {
    if closed {
        3
    } else if created.is_some() && updated.is_some() && created != updated {
        2
    } else {
        1
    }
}

/// Why a value is not a finding of the expected product.
fn require<'v>(v: &'v Value, key: &str, product: &str) -> Result<&'v Value, String> {
    v.get(key)
        .ok_or_else(|| format!("{product} finding has no `{key}`"))
}

/// A GuardDuty finding (as `GetFindings` or EventBridge `detail` gives it).
pub(crate) fn guardduty<'a>(
    v: &Value,
    raw: Text<'a>,
    origin: Origin<'a>,
) -> Result<Event<'a>, String> {
    if !v.is_object() {
        return Err("GuardDuty finding is not a JSON object".into());
    }
    let id = s(Some(require(v, "id", "GuardDuty")?)).ok_or("GuardDuty finding `id` is not text")?;
    let score =
        path(v, &["severity"]).and_then(|x| x.as_f64().or_else(|| x.as_str()?.parse().ok()));
    let created = time(v.get("createdAt"));
    let updated = time(v.get("updatedAt"));
    let service = v.get("service");
    let action = service.and_then(|s| s.get("action"));
    let remote_ip = action.and_then(|a| {
        [
            "awsApiCallAction",
            "networkConnectionAction",
            "kubernetesApiCallAction",
            "rdsLoginAttemptAction",
        ]
        .iter()
        .find_map(|k| path(a, &[k, "remoteIpDetails", "ipAddressV4"]))
        .or_else(|| {
            path(a, &["portProbeAction", "portProbeDetails"])?
                .get(0)?
                .get("remoteIpDetails")?
                .get("ipAddressV4")
        })
    });
    let resource = v.get("resource");
    let key = resource.and_then(|r| r.get("accessKeyDetails"));
    let mut resources = Vec::new();
    if let Some(r) = resource {
        if let Some(id) = s(path(r, &["instanceDetails", "instanceId"])) {
            resources.push(Resource {
                uid: id,
                kind: Some("AwsEc2Instance".into()),
                account: s(v.get("accountId")),
            });
        }
        if let Some(Value::Array(buckets)) = r.get("s3BucketDetails") {
            for b in buckets {
                if let Some(uid) = s(b.get("arn")).or_else(|| s(b.get("name"))) {
                    resources.push(Resource {
                        uid,
                        kind: Some("AwsS3Bucket".into()),
                        account: None,
                    });
                }
            }
        }
        if let Some(uid) = s(path(r, &["lambdaDetails", "functionArn"])) {
            resources.push(Resource {
                uid,
                kind: Some("AwsLambdaFunction".into()),
                account: None,
            });
        }
        if let Some(uid) = s(path(r, &["eksClusterDetails", "arn"])) {
            resources.push(Resource {
                uid,
                kind: Some("AwsEksCluster".into()),
                account: None,
            });
        }
    }
    let mut ev = Event::new(
        EventClass::DetectionFinding,
        SourceKind::GuardDuty,
        origin,
        Raw::Json(raw),
    );
    ev.uid = Some(id.clone());
    ev.time_ms = updated
        .or_else(|| time(service.and_then(|s| s.get("eventLastSeen"))))
        .or(created);
    ev.account = s(v.get("accountId"));
    ev.region = s(v.get("region"));
    ev.severity = score.map_or(Severity::Unknown, guardduty_severity);
    ev.activity_id = activity(
        created,
        updated,
        service
            .and_then(|s| s.get("archived"))
            .and_then(Value::as_bool)
            == Some(true),
    );
    ev.src_ip = s(remote_ip);
    ev.outcome = Outcome::Unknown;
    if let Some(k) = key {
        ev.actor = Actor {
            access_key_id: s(k.get("accessKeyId")),
            principal_id: s(k.get("principalId")),
            user_name: s(k.get("userName")),
            principal_type: s(k.get("userType")),
            account: s(v.get("accountId")),
            ..Actor::default()
        };
    }
    ev.resources = resources;
    ev.finding = Some(Box::new(Finding {
        uid: id,
        title: s(v.get("title")).unwrap_or(Cow::Borrowed("GuardDuty finding")),
        description: s(v.get("description")),
        types: s(v.get("type")).into_iter().collect(),
        vendor_severity: score,
        product: Cow::Borrowed("GuardDuty"),
        created_ms: created,
        updated_ms: updated,
    }));
    Ok(ev)
}

/// A Security Hub finding in the AWS Security Finding Format.
pub(crate) fn asff<'a>(v: &Value, raw: Text<'a>, origin: Origin<'a>) -> Result<Event<'a>, String> {
    if !v.is_object() {
        return Err("ASFF finding is not a JSON object".into());
    }
    let id = s(Some(require(v, "Id", "ASFF")?)).ok_or("ASFF finding `Id` is not text")?;
    let sev = v.get("Severity");
    let normalized = sev
        .and_then(|x| x.get("Normalized"))
        .and_then(Value::as_f64);
    let severity = match sev.and_then(|x| x.get("Label")).and_then(Value::as_str) {
        Some(label) => Severity::from_label(label),
        None => normalized.map_or(Severity::Unknown, asff_severity),
    };
    let created = time(v.get("CreatedAt"));
    let updated = time(v.get("UpdatedAt"));
    let mut resources = Vec::new();
    if let Some(Value::Array(items)) = v.get("Resources") {
        for r in items {
            if let Some(uid) = s(r.get("Id")) {
                resources.push(Resource {
                    uid,
                    kind: s(r.get("Type")),
                    account: None,
                });
            }
        }
    }
    let network = v.get("Network").map(|n| Network {
        src_ip: s(n.get("SourceIpV4")).or_else(|| s(n.get("SourceIpV6"))),
        src_port: n
            .get("SourcePort")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok()),
        dst_ip: s(n.get("DestinationIpV4")).or_else(|| s(n.get("DestinationIpV6"))),
        dst_port: n
            .get("DestinationPort")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok()),
        direction: s(n.get("Direction")).map(|d| Cow::Owned(d.to_ascii_lowercase())),
        ..Network::default()
    });
    let remote_ip = v.get("Action").and_then(|a| {
        [
            "AwsApiCallAction",
            "NetworkConnectionAction",
            "PortProbeAction",
        ]
        .iter()
        .find_map(|k| path(a, &[k, "RemoteIpDetails", "IpAddressV4"]))
    });
    let mut ev = Event::new(
        EventClass::DetectionFinding,
        SourceKind::SecurityHub,
        origin,
        Raw::Json(raw),
    );
    ev.uid = Some(id.clone());
    ev.time_ms = updated
        .or(created)
        .or_else(|| time(v.get("LastObservedAt")));
    ev.account = s(v.get("AwsAccountId"));
    ev.region =
        s(v.get("Region")).or_else(|| s(v.get("Resources").and_then(|r| r.get(0)?.get("Region"))));
    ev.severity = severity;
    let closed = v.get("RecordState").and_then(Value::as_str) == Some("ARCHIVED")
        || path(v, &["Workflow", "Status"])
            .and_then(Value::as_str)
            .is_some_and(|s| s == "RESOLVED" || s == "SUPPRESSED");
    ev.activity_id = activity(created, updated, closed);
    ev.src_ip = s(remote_ip).or_else(|| network.as_ref().and_then(|n| n.src_ip.clone()));
    ev.outcome = Outcome::Unknown;
    ev.resources = resources;
    ev.network = network.map(Box::new);
    let types = match v.get("Types") {
        Some(Value::Array(t)) => t.iter().filter_map(|x| s(Some(x))).collect(),
        _ => Vec::new(),
    };
    ev.finding = Some(Box::new(Finding {
        uid: id,
        title: s(v.get("Title")).unwrap_or(Cow::Borrowed("Security Hub finding")),
        description: s(v.get("Description")),
        types,
        vendor_severity: normalized,
        product: s(v.get("ProductName"))
            .or_else(|| s(v.get("ProductArn")))
            .unwrap_or(Cow::Borrowed("Security Hub")),
        created_ms: created,
        updated_ms: updated,
    }));
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_bands() {
        assert_eq!(guardduty_severity(8.0), Severity::High);
        assert_eq!(guardduty_severity(2.0), Severity::Low);
        assert_eq!(guardduty_severity(9.0), Severity::Critical);
        assert_eq!(asff_severity(40.0), Severity::Medium);
        assert_eq!(asff_severity(0.0), Severity::Informational);
    }
}
