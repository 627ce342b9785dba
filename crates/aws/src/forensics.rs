//! Evidence collection for a case: CloudTrail log files from the trail's bucket (checked
//! against CloudTrail digest files) and LookupEvents, VPC Flow Logs of the case's network
//! interfaces, GuardDuty findings, AWS Config history, EBS snapshots (an encrypted copy
//! shared with the forensic account), volatile instance metadata and console output, and
//! memory through SSM Run Command with AVML; plus the upload of artifacts to the evidence
//! bucket under S3 Object Lock, verified by reading them back.

use crate::AwsError;
use crate::connect::Connection;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;

/// What to collect.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub case: i64,
    pub account: String,
    /// Regions the case saw activity in.
    pub regions: Vec<String>,
    /// (instance id, region).
    pub instances: Vec<(String, String)>,
    pub access_keys: Vec<String>,
    pub users: Vec<String>,
    /// The case window (first alert − margin … last alert + margin).
    pub from_ms: i64,
    pub to_ms: i64,
}

/// One collected artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct Collected {
    pub name: String,
    pub source: String,
    pub bytes: Vec<u8>,
    /// Logs are examined again (ingest and detection) into the case timeline.
    pub is_log: bool,
    pub detail: Value,
}

/// Something that could not be collected, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub what: String,
    pub why: String,
}

#[derive(Debug, Default)]
pub struct Collection {
    pub items: Vec<Collected>,
    pub failures: Vec<Failure>,
}

impl Collection {
    fn note<T>(&mut self, what: impl Into<String>, r: Result<T, AwsError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.failures.push(Failure {
                    what: what.into(),
                    why: e.to_string(),
                });
                None
            }
        }
    }
}

fn days(from_ms: i64, to_ms: i64) -> Vec<(i64, i64, i64)> {
    let (first, last) = (from_ms.div_euclid(86_400_000), to_ms.div_euclid(86_400_000));
    (first..=last.min(first + 92))
        .map(model::time::civil_from_days)
        .collect()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        if flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .is_ok()
        {
            return out;
        }
    }
    bytes.to_vec()
}

/// What CloudTrail digest files say about the log files collected.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DigestCheck {
    /// Log files whose SHA-256 matches a digest.
    pub verified: Vec<String>,
    /// Log files whose SHA-256 differs from what a digest recorded.
    pub mismatched: Vec<String>,
    /// Log files no digest collected covers.
    pub uncovered: Vec<String>,
    pub digests: usize,
}

/// Checks collected log files (key → SHA-256 hex of the object as stored) against digest
/// files (JSON, gzipped or not). Digest signatures are not checked here (that needs AWS's
/// public keys: `aws cloudtrail validate-logs` does both).
pub fn check_digests(digests: &[Vec<u8>], logs: &BTreeMap<String, String>) -> DigestCheck {
    let mut recorded: BTreeMap<String, String> = BTreeMap::new();
    for d in digests {
        let v: Value = serde_json::from_slice(&gunzip(d)).unwrap_or(Value::Null);
        for f in v["logFiles"].as_array().into_iter().flatten() {
            if let (Some(k), Some(h)) = (f["s3Object"].as_str(), f["hashValue"].as_str()) {
                recorded.insert(k.to_string(), h.to_ascii_lowercase());
            }
        }
    }
    let mut out = DigestCheck {
        digests: digests.len(),
        ..Default::default()
    };
    for (key, sha) in logs {
        match recorded.get(key) {
            Some(h) if h == sha => out.verified.push(key.clone()),
            Some(_) => out.mismatched.push(key.clone()),
            None => out.uncovered.push(key.clone()),
        }
    }
    out
}

async fn list_keys(
    conn: &Connection,
    region: &str,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, AwsError> {
    let s3 = conn.s3(region);
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let out = send!(
            "s3",
            "ListObjectsV2",
            s3.list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token)
        )?;
        keys.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_string),
        );
        match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => return Ok(keys),
        }
    }
}

async fn get_object(
    conn: &Connection,
    region: &str,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, AwsError> {
    let out = send!(
        "s3",
        "GetObject",
        conn.s3(region).get_object().bucket(bucket).key(key)
    )?;
    let body = out.body.collect().await.map_err(|e| AwsError::Call {
        service: "s3",
        operation: "GetObject",
        code: None,
        message: format!("reading s3://{bucket}/{key}: {e}"),
    })?;
    Ok(body.into_bytes().to_vec())
}

/// CloudTrail log files of the case's days from every trail's bucket, checked against the
/// digest files of the same days.
async fn cloudtrail_files(conn: &Connection, req: &Request, out: &mut Collection) {
    let home = req
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| "us-east-1".into());
    let Some(trails) = out.note(
        "cloudtrail:DescribeTrails",
        send!(
            "cloudtrail",
            "DescribeTrails",
            conn.cloudtrail(&home).describe_trails()
        ),
    ) else {
        return;
    };
    let mut seen_buckets = std::collections::BTreeSet::new();
    for t in trails.trail_list() {
        let Some(bucket) = t.s3_bucket_name() else {
            continue;
        };
        let base = t
            .s3_key_prefix()
            .map(|p| format!("{p}/"))
            .unwrap_or_default();
        if !seen_buckets.insert(format!("{bucket}/{base}")) {
            continue;
        }
        let mut logs = BTreeMap::new();
        let mut digests = Vec::new();
        for region in &req.regions {
            for (y, m, d) in days(req.from_ms, req.to_ms) {
                let day = format!("{y:04}/{m:02}/{d:02}/");
                for (kind, is_digest) in [("CloudTrail", false), ("CloudTrail-Digest", true)] {
                    let prefix = format!("{base}AWSLogs/{}/{kind}/{region}/{day}", req.account);
                    let Some(keys) = out.note(
                        format!("s3://{bucket}/{prefix}"),
                        list_keys(conn, &home, bucket, &prefix).await,
                    ) else {
                        continue;
                    };
                    for key in keys {
                        let Some(bytes) = out.note(
                            format!("s3://{bucket}/{key}"),
                            get_object(conn, &home, bucket, &key).await,
                        ) else {
                            continue;
                        };
                        if is_digest {
                            digests.push(bytes);
                        } else {
                            logs.insert(key.clone(), crate::sha256_hex(&bytes));
                            let name = key.rsplit('/').next().unwrap_or(&key).to_string();
                            out.items.push(Collected {
                                name,
                                source: format!("s3://{bucket}/{key}"),
                                bytes,
                                is_log: true,
                                detail: json!({"kind": "cloudtrail-log", "trail": t.name()}),
                            });
                        }
                    }
                }
            }
        }
        let check = check_digests(&digests, &logs);
        for item in out
            .items
            .iter_mut()
            .filter(|i| i.source.starts_with(&format!("s3://{bucket}/")))
        {
            let key = item
                .source
                .trim_start_matches(&format!("s3://{bucket}/"))
                .to_string();
            let status = if check.verified.contains(&key) {
                "verified against a digest file"
            } else if check.mismatched.contains(&key) {
                "DOES NOT MATCH its digest file"
            } else {
                "not covered by a collected digest file"
            };
            item.detail["digest"] = json!(status);
        }
        if !check.mismatched.is_empty() {
            out.failures.push(Failure {
                what: format!("CloudTrail digest check for s3://{bucket}"),
                why: format!(
                    "{} log file(s) differ from their digest: {}",
                    check.mismatched.len(),
                    check.mismatched.join(", ")
                ),
            });
        }
    }
}

/// CloudTrail LookupEvents for the case's keys and users in the window (90 days of
/// management events, even where no trail delivers to S3).
async fn lookup_events(conn: &Connection, req: &Request, out: &mut Collection) {
    use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
    let attrs = req
        .access_keys
        .iter()
        .map(|k| (LookupAttributeKey::AccessKeyId, k))
        .chain(req.users.iter().map(|u| (LookupAttributeKey::Username, u)));
    for region in &req.regions {
        let ct = conn.cloudtrail_lookup(region);
        let mut lines = Vec::new();
        for (key, value) in attrs.clone() {
            let mut token = None;
            loop {
                let r = send!(
                    "cloudtrail",
                    "LookupEvents",
                    ct.lookup_events()
                        .lookup_attributes(
                            LookupAttribute::builder()
                                .attribute_key(key.clone())
                                .attribute_value(value)
                                .build()
                                .expect("key and value set")
                        )
                        .start_time(aws_smithy_types::DateTime::from_millis(req.from_ms))
                        .end_time(aws_smithy_types::DateTime::from_millis(req.to_ms))
                        .set_next_token(token)
                );
                let Some(page) =
                    out.note(format!("cloudtrail:LookupEvents {value} in {region}"), r)
                else {
                    break;
                };
                lines.extend(
                    page.events()
                        .iter()
                        .filter_map(|e| e.cloud_trail_event())
                        .map(str::to_string),
                );
                match page.next_token() {
                    Some(t) => token = Some(t.to_string()),
                    None => break,
                }
            }
        }
        lines.sort();
        lines.dedup();
        if !lines.is_empty() {
            let n = lines.len();
            out.items.push(Collected {
                name: format!("lookup-events-{}-{region}.jsonl", req.account),
                source: format!("cloudtrail:LookupEvents {}/{region}", req.account),
                bytes: (lines.join("\n") + "\n").into_bytes(),
                is_log: true,
                detail: json!({"kind": "cloudtrail-lookup", "events": n}),
            });
        }
    }
}

/// The network interfaces of an instance, with its VPC and subnet.
async fn interfaces(
    conn: &Connection,
    region: &str,
    id: &str,
) -> Result<(Vec<String>, Vec<String>), AwsError> {
    let d = send!(
        "ec2",
        "DescribeInstances",
        conn.ec2(region).describe_instances().instance_ids(id)
    )?;
    let mut enis = Vec::new();
    let mut parents = Vec::new();
    for i in d.reservations().iter().flat_map(|r| r.instances()) {
        for n in i.network_interfaces() {
            enis.extend(n.network_interface_id().map(str::to_string));
            parents.extend(n.subnet_id().map(str::to_string));
            parents.extend(n.vpc_id().map(str::to_string));
        }
    }
    Ok((enis, parents))
}

/// Flow log records of the case's instances' interfaces: from CloudWatch Logs streams named
/// after the interface, or the flow-log objects of the case's days in S3.
async fn flow_logs(conn: &Connection, req: &Request, out: &mut Collection) {
    use aws_sdk_ec2::types::Filter;
    for (id, region) in &req.instances {
        let Some((enis, parents)) = out.note(
            format!("ec2:DescribeInstances {id}"),
            interfaces(conn, region, id).await,
        ) else {
            continue;
        };
        let resources: Vec<String> = enis.iter().chain(&parents).cloned().collect();
        let r = send!(
            "ec2",
            "DescribeFlowLogs",
            conn.ec2(region).describe_flow_logs().filter(
                Filter::builder()
                    .name("resource-id")
                    .set_values(Some(resources))
                    .build()
            )
        );
        let Some(logs) = out.note(format!("ec2:DescribeFlowLogs for {id}"), r) else {
            continue;
        };
        if logs.flow_logs().is_empty() {
            out.failures.push(Failure {
                what: format!("VPC Flow Logs of {id}"),
                why: "no flow log covers its interfaces, subnet or VPC".into(),
            });
        }
        for f in logs.flow_logs() {
            if let Some(group) = f.log_group_name() {
                let cw = conn.logs(region);
                for eni in &enis {
                    let mut lines = Vec::new();
                    let mut token = None;
                    loop {
                        let r = send!(
                            "logs",
                            "FilterLogEvents",
                            cw.filter_log_events()
                                .log_group_name(group)
                                .log_stream_name_prefix(eni)
                                .start_time(req.from_ms)
                                .end_time(req.to_ms)
                                .set_next_token(token)
                        );
                        let Some(page) = out.note(format!("logs:FilterLogEvents {group}/{eni}"), r)
                        else {
                            break;
                        };
                        lines.extend(
                            page.events()
                                .iter()
                                .filter_map(|e| e.message())
                                .map(str::to_string),
                        );
                        match page.next_token() {
                            Some(t) => token = Some(t.to_string()),
                            None => break,
                        }
                    }
                    if !lines.is_empty() {
                        let n = lines.len();
                        out.items.push(Collected {
                            name: format!("flow-{eni}.log"),
                            source: format!("logs:{group}/{eni}"),
                            bytes: (lines.join("\n") + "\n").into_bytes(),
                            is_log: true,
                            detail: json!({"kind": "vpc-flow-logs", "interface": eni, "instance": id, "records": n}),
                        });
                    }
                }
            } else if let Some(dest) = f
                .log_destination()
                .and_then(|d| d.strip_prefix("arn:aws:s3:::"))
            {
                let (bucket, base) = dest
                    .split_once('/')
                    .map_or((dest, String::new()), |(b, p)| {
                        (b, format!("{}/", p.trim_end_matches('/')))
                    });
                for (y, m, d) in days(req.from_ms, req.to_ms) {
                    let prefix = format!(
                        "{base}AWSLogs/{}/vpcflowlogs/{region}/{y:04}/{m:02}/{d:02}/",
                        req.account
                    );
                    let Some(keys) = out.note(
                        format!("s3://{bucket}/{prefix}"),
                        list_keys(conn, region, bucket, &prefix).await,
                    ) else {
                        continue;
                    };
                    for key in keys {
                        if let Some(bytes) = out.note(
                            format!("s3://{bucket}/{key}"),
                            get_object(conn, region, bucket, &key).await,
                        ) {
                            out.items.push(Collected {
                                name: key.rsplit('/').next().unwrap_or(&key).to_string(),
                                source: format!("s3://{bucket}/{key}"),
                                bytes,
                                is_log: true,
                                detail: json!({"kind": "vpc-flow-logs", "instance": id}),
                            });
                        }
                    }
                }
            }
        }
    }
}

/// GuardDuty findings about the case's instances and access keys, as GuardDuty's JSON.
async fn guardduty_findings(conn: &Connection, req: &Request, out: &mut Collection) {
    use aws_sdk_guardduty::types::{Condition, FindingCriteria};
    for region in &req.regions {
        let gd = conn.guardduty(region);
        let Some(list) = out.note(
            format!("guardduty:ListDetectors in {region}"),
            send!("guardduty", "ListDetectors", gd.list_detectors()),
        ) else {
            continue;
        };
        for detector in list.detector_ids() {
            let criteria: Vec<(&str, &String)> = req
                .instances
                .iter()
                .filter(|(_, r)| r == region)
                .map(|(i, _)| ("resource.instanceDetails.instanceId", i))
                .chain(
                    req.access_keys
                        .iter()
                        .map(|k| ("resource.accessKeyDetails.accessKeyId", k)),
                )
                .collect();
            let mut ids = Vec::new();
            for (field, value) in criteria {
                let c = FindingCriteria::builder()
                    .criterion(field, Condition::builder().equals(value.clone()).build())
                    .build();
                let r = send!(
                    "guardduty",
                    "ListFindings",
                    gd.list_findings().detector_id(detector).finding_criteria(c)
                );
                if let Some(found) = out.note(format!("guardduty:ListFindings {value}"), r) {
                    ids.extend(found.finding_ids().iter().cloned());
                }
            }
            ids.sort();
            ids.dedup();
            if ids.is_empty() {
                continue;
            }
            let r = send!(
                "guardduty",
                "GetFindings",
                gd.get_findings()
                    .detector_id(detector)
                    .set_finding_ids(Some(ids))
            );
            let Some(found) = out.note("guardduty:GetFindings", r) else {
                continue;
            };
            let lines: Vec<String> = found
                .findings()
                .iter()
                .map(|f| finding_json(f).to_string())
                .collect();
            let n = lines.len();
            out.items.push(Collected {
                name: format!("guardduty-{}-{region}.jsonl", req.account),
                source: format!("guardduty:{detector}/{region}"),
                bytes: (lines.join("\n") + "\n").into_bytes(),
                is_log: true,
                detail: json!({"kind": "guardduty-findings", "findings": n}),
            });
        }
    }
}

/// A GuardDuty finding in the shape GuardDuty exports (the fields Firebreak reads).
fn finding_json(f: &aws_sdk_guardduty::types::Finding) -> Value {
    let r = f.resource();
    let instance = r
        .and_then(|r| r.instance_details())
        .and_then(|i| i.instance_id());
    let key = r.and_then(|r| r.access_key_details());
    json!({
        "schemaVersion": f.schema_version(),
        "accountId": f.account_id(),
        "region": f.region(),
        "partition": f.partition(),
        "id": f.id(),
        "arn": f.arn(),
        "type": f.r#type(),
        "title": f.title(),
        "description": f.description(),
        "severity": f.severity(),
        "createdAt": f.created_at(),
        "updatedAt": f.updated_at(),
        "resource": {
            "resourceType": r.and_then(|r| r.resource_type()),
            "instanceDetails": instance.map(|i| json!({"instanceId": i})),
            "accessKeyDetails": key.map(|k| json!({"accessKeyId": k.access_key_id(), "principalId": k.principal_id(),
                                                   "userName": k.user_name(), "userType": k.user_type()})),
        },
        "service": {"serviceName": "guardduty", "count": f.service().and_then(|s| s.count())},
    })
}

/// AWS Config history of the case's instances in the window.
async fn config_history(conn: &Connection, req: &Request, out: &mut Collection) {
    use aws_sdk_config::types::ResourceType;
    for (id, region) in &req.instances {
        let r = send!(
            "config",
            "GetResourceConfigHistory",
            conn.config_service(region)
                .get_resource_config_history()
                .resource_type(ResourceType::Instance)
                .resource_id(id)
                .earlier_time(aws_smithy_types::DateTime::from_millis(req.from_ms))
                .later_time(aws_smithy_types::DateTime::from_millis(req.to_ms))
        );
        let Some(h) = out.note(format!("config:GetResourceConfigHistory {id}"), r) else {
            continue;
        };
        let items: Vec<Value> = h
            .configuration_items()
            .iter()
            .map(|c| {
                json!({
                    "resourceId": c.resource_id(), "resourceType": c.resource_type().map(|t| t.as_str()),
                    "configurationItemCaptureTime": c.configuration_item_capture_time().map(|t| t.to_string()),
                    "configurationItemStatus": c.configuration_item_status().map(|s| s.as_str()),
                    "configuration": c.configuration().map(|s| serde_json::from_str::<Value>(s).unwrap_or(json!(s))),
                    "relationships": c.relationships().iter().map(|r| json!({"resourceId": r.resource_id(), "name": r.relationship_name()})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let n = items.len();
        out.items.push(Collected {
            name: format!("config-history-{id}.json"),
            source: format!("config:{region}/{id}"),
            bytes: serde_json::to_vec_pretty(&json!({"configurationItems": items}))
                .unwrap_or_default(),
            is_log: false,
            detail: json!({"kind": "config-history", "items": n}),
        });
    }
}

/// Instance metadata (DescribeInstances, as returned) and console output.
async fn volatile(conn: &Connection, req: &Request, out: &mut Collection) {
    for (id, region) in &req.instances {
        let ec2 = conn.ec2(region);
        if let Some(d) = out.note(
            format!("ec2:DescribeInstances {id}"),
            send!(
                "ec2",
                "DescribeInstances",
                ec2.describe_instances().instance_ids(id)
            ),
        ) {
            out.items.push(Collected {
                name: format!("describe-instances-{id}.txt"),
                source: format!("ec2:DescribeInstances {region}/{id}"),
                bytes: format!("{d:#?}\n").into_bytes(),
                is_log: false,
                detail: json!({"kind": "instance-metadata", "instance": id}),
            });
        }
        let r = send!(
            "ec2",
            "GetConsoleOutput",
            ec2.get_console_output().instance_id(id).latest(true)
        );
        if let Some(c) = out.note(format!("ec2:GetConsoleOutput {id}"), r) {
            use base64::Engine;
            let text = c.output().unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_else(|_| text.as_bytes().to_vec());
            out.items.push(Collected {
                name: format!("console-output-{id}.txt"),
                source: format!("ec2:GetConsoleOutput {region}/{id}"),
                bytes,
                is_log: false,
                detail: json!({"kind": "console-output", "instance": id}),
            });
        }
    }
}

/// One snapshot taken for a case and its encrypted, shared copy.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SnapshotEvidence {
    pub instance: String,
    pub volume: String,
    pub snapshot: String,
    pub encrypted_copy: String,
    pub shared_with: Option<String>,
}

/// The snapshots tagged with the case of the instance's current volumes that are not
/// themselves evidence copies: (snapshot, volume).
pub async fn case_snapshots(
    conn: &Connection,
    region: &str,
    instance: &str,
    case: i64,
) -> Result<Vec<(String, String)>, AwsError> {
    use aws_sdk_ec2::types::Filter;
    let ec2 = conn.ec2(region);
    let d = send!(
        "ec2",
        "DescribeInstances",
        ec2.describe_instances().instance_ids(instance)
    )?;
    let volumes: Vec<String> = d
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .flat_map(volumes_of)
        .collect();
    let out = send!(
        "ec2",
        "DescribeSnapshots",
        ec2.describe_snapshots().owner_ids("self").filters(
            Filter::builder()
                .name("tag:firebreak:case")
                .values(case.to_string())
                .build()
        )
    )?;
    let mut found: Vec<(String, String)> = out
        .snapshots()
        .iter()
        .filter(|s| {
            !s.tags()
                .iter()
                .any(|t| t.key() == Some("firebreak:copy-of"))
        })
        .filter_map(|s| Some((s.snapshot_id()?.to_string(), s.volume_id()?.to_string())))
        .filter(|(_, v)| volumes.contains(v))
        .collect();
    found.sort();
    Ok(found)
}

/// The EBS volumes attached to an instance.
pub(crate) fn volumes_of(i: &aws_sdk_ec2::types::Instance) -> Vec<String> {
    i.block_device_mappings()
        .iter()
        .filter_map(|m| m.ebs().and_then(|e| e.volume_id()))
        .map(str::to_string)
        .collect()
}

/// One case snapshot to copy as evidence.
#[derive(Debug, Clone, Copy)]
pub struct CopyRequest<'a> {
    pub instance: &'a str,
    pub snapshot: &'a str,
    pub volume: &'a str,
    pub case: i64,
    /// Share the copy with this account (read back).
    pub forensic_account: Option<&'a str>,
    /// KMS key of the copy (default: the account's EBS key).
    pub kms_key: Option<&'a str>,
}

/// Copies a case snapshot encrypted (tagged with the case and the snapshot it copies, once
/// the snapshot has completed) and shares the copy with the forensic account; the sharing
/// is read back. Called only by the `ec2.copy-snapshots-to-forensics` response action, so
/// it runs only from an approved plan.
pub async fn copy_for_forensics(
    conn: &Connection,
    region: &str,
    r: CopyRequest<'_>,
) -> Result<SnapshotEvidence, AwsError> {
    use aws_sdk_ec2::types::*;
    let ec2 = conn.ec2(region);
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    wait_completed(conn, region, r.snapshot).await?;
    let copy = send!(
        "ec2",
        "CopySnapshot",
        ec2.copy_snapshot()
            .source_snapshot_id(r.snapshot)
            .source_region(region)
            .encrypted(true)
            .set_kms_key_id(r.kms_key.map(str::to_string))
            .description(format!(
                "Firebreak case {}: encrypted copy of {} ({} of {})",
                r.case, r.snapshot, r.volume, r.instance
            ))
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Snapshot)
                    .tags(tag("firebreak:case", &r.case.to_string()))
                    .tags(tag("firebreak:evidence", r.instance))
                    .tags(tag("firebreak:copy-of", r.snapshot))
                    .build()
            )
    )?;
    let copy = copy.snapshot_id().unwrap_or_default().to_string();
    if let Some(fx) = r.forensic_account {
        wait_completed(conn, region, &copy).await?;
        send!(
            "ec2",
            "ModifySnapshotAttribute",
            ec2.modify_snapshot_attribute()
                .snapshot_id(&copy)
                .attribute(SnapshotAttributeName::CreateVolumePermission)
                .operation_type(OperationType::Add)
                .user_ids(fx)
        )?;
        let perms = send!(
            "ec2",
            "DescribeSnapshotAttribute",
            ec2.describe_snapshot_attribute()
                .snapshot_id(&copy)
                .attribute(SnapshotAttributeName::CreateVolumePermission)
        )?;
        if !perms
            .create_volume_permissions()
            .iter()
            .any(|p| p.user_id() == Some(fx))
        {
            return Err(AwsError::Call {
                service: "ec2",
                operation: "ModifySnapshotAttribute",
                code: None,
                message: format!("{copy} is not shared with {fx} after sharing it"),
            });
        }
    }
    Ok(SnapshotEvidence {
        instance: r.instance.to_string(),
        volume: r.volume.to_string(),
        snapshot: r.snapshot.to_string(),
        encrypted_copy: copy,
        shared_with: r.forensic_account.map(str::to_string),
    })
}

/// Waits (up to 30 minutes) for a snapshot to complete.
async fn wait_completed(conn: &Connection, region: &str, snapshot: &str) -> Result<(), AwsError> {
    for attempt in 0..360 {
        let d = send!(
            "ec2",
            "DescribeSnapshots",
            conn.ec2(region).describe_snapshots().snapshot_ids(snapshot)
        )?;
        match d
            .snapshots()
            .first()
            .and_then(|s| s.state())
            .map(|s| s.as_str())
        {
            Some("completed") | None => return Ok(()),
            Some("error") => {
                return Err(AwsError::Call {
                    service: "ec2",
                    operation: "CreateSnapshots",
                    code: None,
                    message: format!("{snapshot} failed"),
                });
            }
            _ if attempt < 359 => tokio::time::sleep(std::time::Duration::from_secs(5)).await,
            _ => {}
        }
    }
    Err(AwsError::Call {
        service: "ec2",
        operation: "DescribeSnapshots",
        code: None,
        message: format!("{snapshot} did not complete in 30 minutes"),
    })
}

/// A memory image taken by AVML through SSM and uploaded by the instance.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MemoryImage {
    pub instance: String,
    pub location: String,
    pub sha256: String,
    pub command_id: String,
}

/// Captures an instance's memory with AVML (SSM Run Command), has the instance upload it to
/// `bucket` with a SHA-256 checksum, and checks the uploaded object's checksum against the
/// hash the instance computed. Any failure is an error: the caller records it and must not
/// stop or terminate the instance afterwards.
pub async fn capture_memory(
    conn: &Connection,
    region: &str,
    instance: &str,
    case: i64,
    bucket: &str,
) -> Result<MemoryImage, AwsError> {
    use aws_sdk_ssm::types::CommandInvocationStatus as S;
    let key = format!("cases/{case}/memory/{instance}.lime");
    let fail = |message: String| AwsError::Call {
        service: "ssm",
        operation: "SendCommand",
        code: None,
        message,
    };
    let ssm = conn.ssm(region);
    let info = send!(
        "ssm",
        "DescribeInstanceInformation",
        ssm.describe_instance_information().filters(
            aws_sdk_ssm::types::InstanceInformationStringFilter::builder()
                .key("InstanceIds")
                .values(instance)
                .build()
                .expect("key and values set")
        )
    )?;
    if !info
        .instance_information_list()
        .iter()
        .any(|i| i.ping_status().map(|p| p.as_str()) == Some("Online"))
    {
        return Err(fail(format!(
            "{instance} has no SSM agent online: memory cannot be captured remotely"
        )));
    }
    let commands = vec![
        "set -eu".to_string(),
        "command -v avml >/dev/null || { echo 'avml is not installed' >&2; exit 3; }".to_string(),
        "avml /var/tmp/firebreak-memory.lime".to_string(),
        "sha256sum /var/tmp/firebreak-memory.lime | cut -d' ' -f1".to_string(),
        format!(
            "aws s3 cp --checksum-algorithm SHA256 /var/tmp/firebreak-memory.lime s3://{bucket}/{key}"
        ),
        "rm -f /var/tmp/firebreak-memory.lime".to_string(),
    ];
    let sent = send!(
        "ssm",
        "SendCommand",
        ssm.send_command()
            .document_name("AWS-RunShellScript")
            .instance_ids(instance)
            .comment(format!("Firebreak case {case}: memory capture"))
            .parameters("commands", commands)
            .timeout_seconds(600)
    )?;
    let command_id = sent
        .command()
        .and_then(|c| c.command_id())
        .unwrap_or_default()
        .to_string();
    let mut stdout = String::new();
    for attempt in 0.. {
        let inv = send!(
            "ssm",
            "GetCommandInvocation",
            ssm.get_command_invocation()
                .command_id(&command_id)
                .instance_id(instance)
        )?;
        match inv.status() {
            Some(S::Success) => {
                stdout = inv
                    .standard_output_content()
                    .unwrap_or_default()
                    .to_string();
                break;
            }
            Some(S::Pending | S::InProgress | S::Delayed) if attempt < 240 => {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await
            }
            other => {
                return Err(fail(format!(
                    "memory capture on {instance} ended {:?}: {}",
                    other.map(|s| s.as_str()),
                    inv.standard_error_content().unwrap_or_default().trim()
                )));
            }
        }
    }
    let sha256 = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| fail(format!("the capture on {instance} printed no SHA-256")))?
        .to_ascii_lowercase();
    let head = send!(
        "s3",
        "HeadObject",
        conn.s3(region)
            .head_object()
            .bucket(bucket)
            .key(&key)
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
    )?;
    use base64::Engine;
    let uploaded = head
        .checksum_sha256()
        .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
        .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>());
    if uploaded.as_deref() != Some(sha256.as_str()) {
        return Err(fail(format!(
            "s3://{bucket}/{key} has checksum {uploaded:?}, the instance computed {sha256}"
        )));
    }
    Ok(MemoryImage {
        instance: instance.to_string(),
        location: format!("s3://{bucket}/{key}"),
        sha256,
        command_id,
    })
}

/// Collects everything the request names that only reads; what fails is listed, never
/// fatal. Snapshots and memory change AWS, so they run as an evidence response plan
/// (`ec2.snapshot-volumes`, `ec2.copy-snapshots-to-forensics`, `ec2.capture-memory`).
pub async fn collect(conn: &Connection, req: &Request) -> Collection {
    let mut out = Collection::default();
    cloudtrail_files(conn, req, &mut out).await;
    lookup_events(conn, req, &mut out).await;
    flow_logs(conn, req, &mut out).await;
    guardduty_findings(conn, req, &mut out).await;
    config_history(conn, req, &mut out).await;
    volatile(conn, req, &mut out).await;
    out
}

/// How long and how strictly the evidence bucket keeps an object.
#[derive(Debug, Clone)]
pub struct Lock {
    /// `COMPLIANCE` or `GOVERNANCE`.
    pub mode: String,
    pub retain_until_ms: i64,
}

/// What an upload sends: bytes in memory, or a file streamed from disk.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    Bytes(&'a [u8]),
    File(&'a std::path::Path),
}

/// Uploads an artifact under S3 Object Lock with its SHA-256 checksum (S3 refuses bytes that
/// do not match it), then reads it back, streamed, and compares hashes. Returns
/// `s3://bucket/key`. A file is streamed from disk, never held in memory.
pub async fn upload(
    conn: &Connection,
    region: &str,
    bucket: &str,
    key: &str,
    body: Body<'_>,
    sha256: &str,
    lock: &Lock,
) -> Result<String, AwsError> {
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::{ChecksumAlgorithm, ObjectLockMode};
    use base64::Engine;
    let digest: Vec<u8> = (0..sha256.len())
        .step_by(2)
        .filter_map(|i| {
            sha256
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let stream = match body {
        Body::Bytes(b) => ByteStream::from(b.to_vec()),
        Body::File(path) => ByteStream::from_path(path)
            .await
            .map_err(|e| AwsError::Call {
                service: "s3",
                operation: "PutObject",
                code: None,
                message: format!("reading {}: {e}", path.display()),
            })?,
    };
    send!(
        "s3",
        "PutObject",
        conn.s3(region)
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(stream)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(&digest))
            .object_lock_mode(ObjectLockMode::from(lock.mode.as_str()))
            .object_lock_retain_until_date(aws_smithy_types::DateTime::from_millis(
                lock.retain_until_ms
            ))
    )?;
    let got = object_sha256(conn, region, bucket, key)
        .await
        .map_err(|e| AwsError::Call {
            service: "s3",
            operation: "GetObject",
            code: e.code().map(str::to_string),
            message: format!(
                "s3://{bucket}/{key} does not read back as the SHA-256 {sha256} it was uploaded with: {e}"
            ),
        })?;
    if got != sha256 {
        return Err(AwsError::Call {
            service: "s3",
            operation: "GetObject",
            code: None,
            message: format!("s3://{bucket}/{key} reads back as {got}, uploaded {sha256}"),
        });
    }
    Ok(format!("s3://{bucket}/{key}"))
}

/// The SHA-256 of an object's bytes, read as a stream.
async fn object_sha256(
    conn: &Connection,
    region: &str,
    bucket: &str,
    key: &str,
) -> Result<String, AwsError> {
    use sha2::{Digest, Sha256};
    let mut out = send!(
        "s3",
        "GetObject",
        conn.s3(region).get_object().bucket(bucket).key(key)
    )?;
    let mut h = Sha256::new();
    while let Some(chunk) = out.body.next().await {
        let chunk = chunk.map_err(|e| AwsError::Call {
            service: "s3",
            operation: "GetObject",
            code: None,
            message: format!("reading s3://{bucket}/{key}: {e}"),
        })?;
        h.update(&chunk);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Where a case's custody anchors are kept in the evidence bucket.
pub fn anchor_prefix(case: i64) -> String {
    format!("cases/{case}/custody-anchors/")
}

/// The newest anchor object under the case's prefix (keys sort by sequence): its location
/// and bytes; `None` when there is none.
pub async fn latest_anchor(
    conn: &Connection,
    region: &str,
    bucket: &str,
    case: i64,
) -> Result<Option<(String, Vec<u8>)>, AwsError> {
    let prefix = anchor_prefix(case);
    let mut newest: Option<String> = None;
    let mut token: Option<String> = None;
    loop {
        let out = send!(
            "s3",
            "ListObjectsV2",
            conn.s3(region)
                .list_objects_v2()
                .bucket(bucket)
                .prefix(&prefix)
                .set_continuation_token(token.take())
        )?;
        for o in out.contents() {
            if let Some(k) = o.key()
                && newest.as_deref().is_none_or(|n| k > n)
            {
                newest = Some(k.to_string());
            }
        }
        match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => break,
        }
    }
    let Some(key) = newest else {
        return Ok(None);
    };
    let bytes = get_object(conn, region, bucket, &key).await?;
    Ok(Some((format!("s3://{bucket}/{key}"), bytes)))
}
