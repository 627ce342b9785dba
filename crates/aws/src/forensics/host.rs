//! The instances of a case: volatile metadata and console output, EBS snapshots and their encrypted
//! copies shared with the forensic account, memory through SSM Run Command and AVML.

use super::*;

/// Instance metadata (DescribeInstances, as returned) and console output.
pub(crate) async fn volatile(conn: &Connection, req: &Request, out: &mut Collection) {
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
    case: case::CaseId,
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
    pub case: case::CaseId,
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
pub(crate) async fn wait_completed(
    conn: &Connection,
    region: &str,
    snapshot: &str,
) -> Result<(), AwsError> {
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
    case: case::CaseId,
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
