//! The logs of a case: CloudTrail files from the trail bucket (checked against the digest files),
//! LookupEvents, VPC Flow Logs of its interfaces, GuardDuty findings, AWS Config history.

use super::*;

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

pub(crate) async fn list_keys(
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

pub(crate) async fn get_object(
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
pub(crate) async fn cloudtrail_files(conn: &Connection, req: &Request, out: &mut Collection) {
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
pub(crate) async fn lookup_events(conn: &Connection, req: &Request, out: &mut Collection) {
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
pub(crate) async fn interfaces(
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
pub(crate) async fn flow_logs(conn: &Connection, req: &Request, out: &mut Collection) {
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
pub(crate) async fn guardduty_findings(conn: &Connection, req: &Request, out: &mut Collection) {
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
pub(crate) fn finding_json(f: &aws_sdk_guardduty::types::Finding) -> Value {
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
pub(crate) async fn config_history(conn: &Connection, req: &Request, out: &mut Collection) {
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
