//! The mutating AWS calls response actions make, as data: a dry-run prints them, a run
//! sends them, and the same values are recorded in the case. Values only known when the
//! call is sent (a security group created a moment earlier) are named, then resolved.

use super::Cx;
use crate::{AwsError, call_error};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A security group by id, or the one of this name in a VPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum GroupRef {
    Id(String),
    Named { vpc: String, name: String },
}

/// A network ACL by id, or the quarantine ACL of a VPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AclRef {
    Id(String),
    Quarantine { vpc: String },
}

/// What can be shared with other accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shareable {
    /// An EBS snapshot (`createVolumePermission`).
    Snapshot,
    /// An AMI (`launchPermission`).
    Image,
}

/// Who a permission names: accounts, and whether everyone (`all`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sharing {
    pub accounts: Vec<String>,
    pub public: bool,
}

impl Sharing {
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && !self.public
    }
}

/// One AWS call a step makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Call {
    CreateTags {
        resource: String,
        tags: Vec<(String, String)>,
    },
    DeleteTags {
        resource: String,
        keys: Vec<String>,
    },
    SetTerminationProtection {
        instance: String,
        on: bool,
    },
    SetShutdownBehavior {
        instance: String,
        behavior: String,
    },
    CaptureMemory {
        instance: String,
        case: i64,
        bucket: String,
    },
    CaptureInstance {
        instance: String,
    },
    CreateSnapshots {
        instance: String,
        case: i64,
    },
    /// Encrypted copies of every case snapshot of the instance's volumes found when sent
    /// (those an earlier step of the same plan made), each shared with the forensic account.
    CopyCaseSnapshots {
        instance: String,
        case: i64,
        kms_key: Option<String>,
        share_with: Option<String>,
    },
    /// An encrypted copy of a case snapshot, shared with the forensic account (read back).
    CopyForForensics {
        instance: String,
        snapshot: String,
        volume: String,
        case: i64,
        kms_key: Option<String>,
        share_with: Option<String>,
    },
    EnsureGroup {
        vpc: String,
        name: String,
        open: bool,
    },
    SetEniGroups {
        eni: String,
        groups: Vec<GroupRef>,
    },
    /// Revokes every ingress and egress rule of a group (the isolation group's repair).
    RevokeGroupRules {
        group: String,
    },
    DetachFromAsg {
        instance: String,
        group: String,
    },
    AttachToAsg {
        instance: String,
        group: String,
    },
    DeregisterTarget {
        group_arn: String,
        instance: String,
        port: Option<i32>,
    },
    RegisterTarget {
        group_arn: String,
        instance: String,
        port: Option<i32>,
    },
    DisassociateProfile {
        association: String,
    },
    SetInstanceProfile {
        instance: String,
        profile_arn: String,
    },
    SetMetadataOptions {
        instance: String,
        tokens: String,
        endpoint: String,
    },
    EnsureQuarantineAcl {
        vpc: String,
    },
    SetSubnetAcl {
        subnet: String,
        acl: AclRef,
    },
    StopInstance {
        instance: String,
    },
    StartInstance {
        instance: String,
    },
    Share {
        kind: Shareable,
        id: String,
        add: bool,
        with: Sharing,
    },
    CreateFlowLogs {
        vpcs: Vec<String>,
        log_group: Option<String>,
        role_arn: Option<String>,
        bucket_arn: Option<String>,
    },
    SetAccessKeyStatus {
        user: String,
        key: String,
        status: String,
    },
    DeleteLoginProfile {
        user: String,
    },
    CreateLoginProfile {
        user: String,
    },
    PutUserPolicy {
        user: String,
        name: String,
        document: String,
    },
    DeleteUserPolicy {
        user: String,
        name: String,
    },
    PutRolePolicy {
        role: String,
        name: String,
        document: String,
    },
    DeleteRolePolicy {
        role: String,
        name: String,
    },
    SetTrustPolicy {
        role: String,
        document: String,
    },
    CaptureCredentialReport,
    PutPublicAccessBlock {
        bucket: String,
        settings: [bool; 4],
    },
    DeletePublicAccessBlock {
        bucket: String,
    },
    SetVersioning {
        bucket: String,
        status: String,
    },
    PutBucketPolicy {
        bucket: String,
        policy: String,
    },
    DeleteBucketPolicy {
        bucket: String,
    },
    SetConcurrency {
        function: String,
        reserved: Option<i32>,
    },
    RemovePermission {
        function: String,
        sid: String,
    },
    AddPermission {
        function: String,
        statement: Value,
    },
    EnsureQuarantineScp,
    AttachScp {
        target: String,
    },
    DetachScp {
        target: String,
    },
    StartLogging {
        trail: String,
    },
    EnableGuardDuty {
        detector: Option<String>,
    },
}

/// Name of the deny-all SCP quarantine attaches.
pub const QUARANTINE_SCP: &str = "FirebreakQuarantine";
const QUARANTINE_TAG: &str = "firebreak:quarantine";

impl Call {
    /// `service:Operation Param=value …`, as printed and recorded.
    pub fn describe(&self) -> String {
        use Call::*;
        match self {
            CreateTags { resource, tags } => format!(
                "ec2:CreateTags Resources=[{resource}] Tags=[{}]",
                tags.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            DeleteTags { resource, keys } => format!(
                "ec2:DeleteTags Resources=[{resource}] Tags=[{}]",
                keys.join(", ")
            ),
            SetTerminationProtection { instance, on } => {
                format!(
                    "ec2:ModifyInstanceAttribute InstanceId={instance} DisableApiTermination={on}"
                )
            }
            SetShutdownBehavior { instance, behavior } => {
                format!(
                    "ec2:ModifyInstanceAttribute InstanceId={instance} InstanceInitiatedShutdownBehavior={behavior}"
                )
            }
            CaptureMemory {
                instance,
                case,
                bucket,
            } => format!(
                "ssm:SendCommand DocumentName=AWS-RunShellScript InstanceIds=[{instance}] (avml, sha256sum, upload to s3://{bucket}/cases/{case}/memory/{instance}.lime); s3:HeadObject ChecksumMode=ENABLED"
            ),
            CaptureInstance { instance } => format!(
                "ec2:DescribeInstances InstanceIds=[{instance}]; ec2:GetConsoleOutput InstanceId={instance} Latest=true"
            ),
            CreateSnapshots { instance, case } => format!(
                "ec2:CreateSnapshots InstanceSpecification.InstanceId={instance} CopyTagsFromSource=volume Tags=[firebreak:case={case}]"
            ),
            EnsureGroup { vpc, name, open } => format!(
                "ec2:CreateSecurityGroup GroupName={name} VpcId={vpc} (if absent; {})",
                if *open {
                    "ingress and egress allow all"
                } else {
                    "no rules: default egress revoked"
                }
            ),
            RevokeGroupRules { group } => format!(
                "ec2:RevokeSecurityGroupIngress/Egress GroupId={group} (every rule: repair of the isolation group)"
            ),
            CopyCaseSnapshots {
                instance,
                case,
                kms_key,
                share_with,
            } => format!(
                "ec2:CopySnapshot of each snapshot of {instance} tagged firebreak:case={case} (those the snapshot step makes) Encrypted=true KmsKeyId={}{}",
                kms_key.as_deref().unwrap_or("(account default)"),
                share_with.as_deref().map_or(String::new(), |fx| format!(
                    ", then ec2:ModifySnapshotAttribute CreateVolumePermission Add UserId={fx}"
                ))
            ),
            CopyForForensics {
                snapshot,
                kms_key,
                share_with,
                ..
            } => format!(
                "ec2:CopySnapshot SourceSnapshotId={snapshot} Encrypted=true KmsKeyId={}{}",
                kms_key.as_deref().unwrap_or("(account default)"),
                share_with.as_deref().map_or(String::new(), |fx| format!(
                    ", then ec2:ModifySnapshotAttribute CreateVolumePermission Add UserId={fx}"
                ))
            ),
            SetEniGroups { eni, groups } => format!(
                "ec2:ModifyNetworkInterfaceAttribute NetworkInterfaceId={eni} Groups=[{}]",
                groups
                    .iter()
                    .map(|g| match g {
                        GroupRef::Id(id) => id.clone(),
                        GroupRef::Named { name, .. } => name.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            DetachFromAsg { instance, group } => format!(
                "autoscaling:DetachInstances AutoScalingGroupName={group} InstanceIds=[{instance}] ShouldDecrementDesiredCapacity=false"
            ),
            AttachToAsg { instance, group } => {
                format!(
                    "autoscaling:AttachInstances AutoScalingGroupName={group} InstanceIds=[{instance}]"
                )
            }
            DeregisterTarget {
                group_arn,
                instance,
                port,
            } => format!(
                "elasticloadbalancing:DeregisterTargets TargetGroupArn={group_arn} Targets=[{instance}{}]",
                port.map(|p| format!(":{p}")).unwrap_or_default()
            ),
            RegisterTarget {
                group_arn,
                instance,
                port,
            } => format!(
                "elasticloadbalancing:RegisterTargets TargetGroupArn={group_arn} Targets=[{instance}{}]",
                port.map(|p| format!(":{p}")).unwrap_or_default()
            ),
            DisassociateProfile { association } => {
                format!("ec2:DisassociateIamInstanceProfile AssociationId={association}")
            }
            SetInstanceProfile {
                instance,
                profile_arn,
            } => format!(
                "ec2:AssociateIamInstanceProfile (or ReplaceIamInstanceProfileAssociation) InstanceId={instance} IamInstanceProfile.Arn={profile_arn}"
            ),
            SetMetadataOptions {
                instance,
                tokens,
                endpoint,
            } => format!(
                "ec2:ModifyInstanceMetadataOptions InstanceId={instance} HttpTokens={tokens} HttpEndpoint={endpoint}"
            ),
            EnsureQuarantineAcl { vpc } => {
                format!(
                    "ec2:CreateNetworkAcl VpcId={vpc} Tags=[{QUARANTINE_TAG}=true] (if absent; denies all)"
                )
            }
            SetSubnetAcl { subnet, acl } => format!(
                "ec2:ReplaceNetworkAclAssociation AssociationId=<{subnet}'s association> NetworkAclId={}",
                match acl {
                    AclRef::Id(id) => id.clone(),
                    AclRef::Quarantine { vpc } => format!("<quarantine ACL of {vpc}>"),
                }
            ),
            StopInstance { instance } => format!("ec2:StopInstances InstanceIds=[{instance}]"),
            StartInstance { instance } => format!("ec2:StartInstances InstanceIds=[{instance}]"),
            Share {
                kind: Shareable::Snapshot,
                id,
                add,
                with,
            } => format!(
                "ec2:ModifySnapshotAttribute SnapshotId={id} Attribute=createVolumePermission OperationType={} {}",
                if *add { "add" } else { "remove" },
                sharing(with)
            ),
            Share {
                kind: Shareable::Image,
                id,
                add,
                with,
            } => format!(
                "ec2:ModifyImageAttribute ImageId={id} LaunchPermission.{}={}",
                if *add { "Add" } else { "Remove" },
                sharing(with)
            ),
            CreateFlowLogs {
                vpcs,
                log_group,
                role_arn,
                bucket_arn,
            } => format!(
                "ec2:CreateFlowLogs ResourceType=VPC ResourceIds=[{}] TrafficType=ALL {}",
                vpcs.join(", "),
                match (bucket_arn, log_group) {
                    (Some(b), _) => format!("LogDestinationType=s3 LogDestination={b}"),
                    (None, g) => format!(
                        "LogGroupName={} DeliverLogsPermissionArn={}",
                        g.as_deref().unwrap_or("?"),
                        role_arn.as_deref().unwrap_or("?")
                    ),
                }
            ),
            SetAccessKeyStatus { user, key, status } => {
                format!("iam:UpdateAccessKey UserName={user} AccessKeyId={key} Status={status}")
            }
            DeleteLoginProfile { user } => format!("iam:DeleteLoginProfile UserName={user}"),
            CreateLoginProfile { user } => format!(
                "iam:CreateLoginProfile UserName={user} Password=<random, not recorded> PasswordResetRequired=true"
            ),
            PutUserPolicy {
                user,
                name,
                document,
            } => {
                format!(
                    "iam:PutUserPolicy UserName={user} PolicyName={name} PolicyDocument={document}"
                )
            }
            DeleteUserPolicy { user, name } => {
                format!("iam:DeleteUserPolicy UserName={user} PolicyName={name}")
            }
            PutRolePolicy {
                role,
                name,
                document,
            } => {
                format!(
                    "iam:PutRolePolicy RoleName={role} PolicyName={name} PolicyDocument={document}"
                )
            }
            DeleteRolePolicy { role, name } => {
                format!("iam:DeleteRolePolicy RoleName={role} PolicyName={name}")
            }
            SetTrustPolicy { role, document } => {
                format!("iam:UpdateAssumeRolePolicy RoleName={role} PolicyDocument={document}")
            }
            CaptureCredentialReport => {
                "iam:GenerateCredentialReport; iam:GetCredentialReport".into()
            }
            PutPublicAccessBlock {
                bucket,
                settings: [a, b, c, d],
            } => format!(
                "s3:PutPublicAccessBlock Bucket={bucket} BlockPublicAcls={a} IgnorePublicAcls={b} BlockPublicPolicy={c} RestrictPublicBuckets={d}"
            ),
            DeletePublicAccessBlock { bucket } => {
                format!("s3:DeletePublicAccessBlock Bucket={bucket}")
            }
            SetVersioning { bucket, status } => {
                format!("s3:PutBucketVersioning Bucket={bucket} Status={status}")
            }
            PutBucketPolicy { bucket, policy } => {
                format!("s3:PutBucketPolicy Bucket={bucket} Policy={policy}")
            }
            DeleteBucketPolicy { bucket } => format!("s3:DeleteBucketPolicy Bucket={bucket}"),
            SetConcurrency {
                function,
                reserved: Some(n),
            } => {
                format!(
                    "lambda:PutFunctionConcurrency FunctionName={function} ReservedConcurrentExecutions={n}"
                )
            }
            SetConcurrency {
                function,
                reserved: None,
            } => {
                format!("lambda:DeleteFunctionConcurrency FunctionName={function}")
            }
            RemovePermission { function, sid } => {
                format!("lambda:RemovePermission FunctionName={function} StatementId={sid}")
            }
            AddPermission {
                function,
                statement,
            } => {
                format!("lambda:AddPermission FunctionName={function} Statement={statement}")
            }
            EnsureQuarantineScp => format!(
                "organizations:CreatePolicy Name={QUARANTINE_SCP} Type=SERVICE_CONTROL_POLICY Content={{Deny *:*}} (if absent)"
            ),
            AttachScp { target } => {
                format!("organizations:AttachPolicy PolicyId=<{QUARANTINE_SCP}> TargetId={target}")
            }
            DetachScp { target } => {
                format!("organizations:DetachPolicy PolicyId=<{QUARANTINE_SCP}> TargetId={target}")
            }
            StartLogging { trail } => format!("cloudtrail:StartLogging Name={trail}"),
            EnableGuardDuty { detector: Some(d) } => {
                format!("guardduty:UpdateDetector DetectorId={d} Enable=true")
            }
            EnableGuardDuty { detector: None } => "guardduty:CreateDetector Enable=true".into(),
        }
    }
}

fn sharing(s: &Sharing) -> String {
    let mut parts: Vec<String> = s.accounts.iter().map(|a| format!("UserId={a}")).collect();
    if s.public {
        parts.push("Group=all".into());
    }
    format!("[{}]", parts.join(", "))
}

macro_rules! send {
    ($svc:literal, $op:literal, $req:expr) => {
        $req.send().await.map_err(|e| call_error($svc, $op, e))?
    };
}

/// A random password meeting common IAM password policies; never recorded or shown.
fn random_password() -> Result<String, AwsError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| AwsError::Call {
        service: "iam",
        operation: "CreateLoginProfile",
        code: None,
        message: format!("no randomness for a password: {e}"),
    })?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("Fb!9a{hex}"))
}

/// The group id of `name` in `vpc`, if it exists.
pub(crate) async fn group_id(
    cx: &Cx<'_>,
    vpc: &str,
    name: &str,
) -> Result<Option<String>, AwsError> {
    use aws_sdk_ec2::types::Filter;
    let out = send!(
        "ec2",
        "DescribeSecurityGroups",
        cx.ec2()
            .describe_security_groups()
            .filters(Filter::builder().name("vpc-id").values(vpc).build())
            .filters(Filter::builder().name("group-name").values(name).build())
    );
    Ok(out
        .security_groups()
        .first()
        .and_then(|g| g.group_id())
        .map(str::to_string))
}

fn copy_request<'a>(
    instance: &'a str,
    snapshot: &'a str,
    volume: &'a str,
    case: i64,
    kms_key: &'a Option<String>,
    share_with: &'a Option<String>,
) -> crate::forensics::CopyRequest<'a> {
    crate::forensics::CopyRequest {
        instance,
        snapshot,
        volume,
        case,
        forensic_account: share_with.as_deref(),
        kms_key: kms_key.as_deref(),
    }
}

/// The accounts a snapshot is shared with.
pub(crate) async fn shared_with(cx: &Cx<'_>, snapshot: &str) -> Result<Vec<String>, AwsError> {
    let out = send!(
        "ec2",
        "DescribeSnapshotAttribute",
        cx.ec2()
            .describe_snapshot_attribute()
            .snapshot_id(snapshot)
            .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
    );
    Ok(out
        .create_volume_permissions()
        .iter()
        .filter_map(|p| p.user_id().map(str::to_string))
        .collect())
}

/// The quarantine ACL of `vpc`, if it exists.
pub(crate) async fn quarantine_acl(cx: &Cx<'_>, vpc: &str) -> Result<Option<String>, AwsError> {
    use aws_sdk_ec2::types::Filter;
    let out = send!(
        "ec2",
        "DescribeNetworkAcls",
        cx.ec2()
            .describe_network_acls()
            .filters(Filter::builder().name("vpc-id").values(vpc).build())
            .filters(
                Filter::builder()
                    .name(format!("tag:{QUARANTINE_TAG}"))
                    .values("true")
                    .build()
            )
    );
    Ok(out
        .network_acls()
        .first()
        .and_then(|a| a.network_acl_id())
        .map(str::to_string))
}

/// The quarantine SCP's id, if it exists.
pub(crate) async fn quarantine_scp(cx: &Cx<'_>) -> Result<Option<String>, AwsError> {
    use aws_sdk_organizations::types::PolicyType;
    let out = send!(
        "organizations",
        "ListPolicies",
        cx.organizations()
            .list_policies()
            .filter(PolicyType::ServiceControlPolicy)
    );
    Ok(out
        .policies()
        .iter()
        .find(|p| p.name() == Some(QUARANTINE_SCP))
        .and_then(|p| p.id())
        .map(str::to_string))
}

/// How long a credential report may take to be generated: IAM answers `ReportInProgress`
/// (or a `STARTED` state) until it is ready, usually within seconds.
pub(crate) const CREDENTIAL_REPORT_TRIES: u32 = 8;

/// Generates the credential report and reads it once IAM has finished, polling with a
/// doubling delay (0.25 s, 0.5 s, … 16 s: about half a minute at most) and failing with a
/// clear message when it is still not ready.
async fn credential_report(
    cx: &Cx<'_>,
) -> Result<aws_sdk_iam::operation::get_credential_report::GetCredentialReportOutput, AwsError> {
    let mut delay = std::time::Duration::from_millis(250);
    for attempt in 1..=CREDENTIAL_REPORT_TRIES {
        let generated = send!(
            "iam",
            "GenerateCredentialReport",
            cx.iam().generate_credential_report()
        );
        let ready = generated
            .state()
            .is_none_or(|s| *s == aws_sdk_iam::types::ReportStateType::Complete);
        if ready {
            match cx.iam().get_credential_report().send().await {
                Ok(out) => return Ok(out),
                Err(e) => {
                    let e = call_error("iam", "GetCredentialReport", e);
                    if !matches!(e.code(), Some("ReportInProgress" | "ReportNotPresent")) {
                        return Err(e);
                    }
                }
            }
        }
        if attempt < CREDENTIAL_REPORT_TRIES {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    Err(AwsError::Call {
        service: "iam",
        operation: "GetCredentialReport",
        code: Some("ReportInProgress".into()),
        message: format!(
            "the credential report was still being generated after {CREDENTIAL_REPORT_TRIES} tries: run again to resume"
        ),
    })
}

impl Call {
    /// Sends the call; returns what it produced worth keeping (ids, evidence hashes).
    pub(crate) async fn send(&self, cx: &Cx<'_>) -> Result<Value, AwsError> {
        use Call::*;
        use aws_sdk_ec2::types as ec2t;
        match self {
            CreateTags { resource, tags } => {
                let mut req = cx.ec2().create_tags().resources(resource);
                for (k, v) in tags {
                    req = req.tags(ec2t::Tag::builder().key(k).value(v).build());
                }
                send!("ec2", "CreateTags", req);
            }
            DeleteTags { resource, keys } => {
                let mut req = cx.ec2().delete_tags().resources(resource);
                for k in keys {
                    req = req.tags(ec2t::Tag::builder().key(k).build());
                }
                send!("ec2", "DeleteTags", req);
            }
            SetTerminationProtection { instance, on } => {
                send!(
                    "ec2",
                    "ModifyInstanceAttribute",
                    cx.ec2()
                        .modify_instance_attribute()
                        .instance_id(instance)
                        .disable_api_termination(
                            ec2t::AttributeBooleanValue::builder().value(*on).build()
                        )
                );
            }
            SetShutdownBehavior { instance, behavior } => {
                send!(
                    "ec2",
                    "ModifyInstanceAttribute",
                    cx.ec2()
                        .modify_instance_attribute()
                        .instance_id(instance)
                        .instance_initiated_shutdown_behavior(
                            ec2t::AttributeValue::builder().value(behavior).build()
                        )
                );
            }
            CaptureMemory {
                instance,
                case,
                bucket,
            } => {
                let m = crate::forensics::capture_memory(
                    cx.conn(),
                    cx.region(),
                    instance,
                    *case,
                    bucket,
                )
                .await?;
                return Ok(serde_json::to_value(&m).unwrap_or(Value::Null));
            }
            CaptureInstance { instance } => {
                let described = send!(
                    "ec2",
                    "DescribeInstances",
                    cx.ec2().describe_instances().instance_ids(instance)
                );
                let metadata = format!("{described:#?}");
                let console = send!(
                    "ec2",
                    "GetConsoleOutput",
                    cx.ec2()
                        .get_console_output()
                        .instance_id(instance)
                        .latest(true)
                );
                let console = console.output().unwrap_or_default().to_string();
                return Ok(json!({
                    "evidence": "instance-metadata",
                    "metadata_sha256": crate::sha256_hex(metadata.as_bytes()),
                    "console_output_sha256": crate::sha256_hex(console.as_bytes()),
                    "metadata": metadata,
                    "console_output_base64": console,
                }));
            }
            CreateSnapshots { instance, case } => {
                let out = send!(
                    "ec2",
                    "CreateSnapshots",
                    cx.ec2()
                        .create_snapshots()
                        .instance_specification(
                            ec2t::InstanceSpecification::builder()
                                .instance_id(instance)
                                .build()
                        )
                        .copy_tags_from_source(ec2t::CopyTagsFromSource::Volume)
                        .description(format!("Firebreak case {case}: evidence of {instance}"))
                        .tag_specifications(
                            ec2t::TagSpecification::builder()
                                .resource_type(ec2t::ResourceType::Snapshot)
                                .tags(
                                    ec2t::Tag::builder()
                                        .key("firebreak:case")
                                        .value(case.to_string())
                                        .build()
                                )
                                .build()
                        )
                );
                let ids: Vec<&str> = out
                    .snapshots()
                    .iter()
                    .filter_map(|s| s.snapshot_id())
                    .collect();
                return Ok(json!({ "snapshots": ids }));
            }
            CopyCaseSnapshots {
                instance,
                case,
                kms_key,
                share_with,
            } => {
                let found =
                    crate::forensics::case_snapshots(cx.conn(), cx.region(), instance, *case)
                        .await?;
                if found.is_empty() {
                    return Err(AwsError::Call {
                        service: "ec2",
                        operation: "DescribeSnapshots",
                        code: None,
                        message: format!(
                            "no snapshot of {instance} is tagged with case {case}: snapshot its volumes first (ec2.snapshot-volumes)"
                        ),
                    });
                }
                let mut copies = Vec::new();
                for (snapshot, volume) in &found {
                    let r = copy_request(instance, snapshot, volume, *case, kms_key, share_with);
                    copies.push(
                        crate::forensics::copy_for_forensics(cx.conn(), cx.region(), r).await?,
                    );
                }
                return Ok(json!({ "copies": copies }));
            }
            CopyForForensics {
                instance,
                snapshot,
                volume,
                case,
                kms_key,
                share_with,
            } => {
                let r = copy_request(instance, snapshot, volume, *case, kms_key, share_with);
                let copy = crate::forensics::copy_for_forensics(cx.conn(), cx.region(), r).await?;
                return Ok(serde_json::to_value(&copy).unwrap_or(Value::Null));
            }
            EnsureGroup { vpc, name, open } => {
                if let Some(id) = group_id(cx, vpc, name).await? {
                    return Ok(json!({ "group": id, "created": false }));
                }
                let out = send!(
                    "ec2",
                    "CreateSecurityGroup",
                    cx.ec2()
                        .create_security_group()
                        .group_name(name)
                        .vpc_id(vpc)
                        .description(if *open {
                            "Firebreak isolation, step 1: allows all so tracked connections become untracked"
                        } else {
                            "Firebreak isolation: no rules"
                        })
                );
                let id = out.group_id().unwrap_or_default().to_string();
                let all = ec2t::IpPermission::builder()
                    .ip_protocol("-1")
                    .ip_ranges(ec2t::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build();
                if *open {
                    send!(
                        "ec2",
                        "AuthorizeSecurityGroupIngress",
                        cx.ec2()
                            .authorize_security_group_ingress()
                            .group_id(&id)
                            .ip_permissions(all)
                    );
                } else {
                    send!(
                        "ec2",
                        "RevokeSecurityGroupEgress",
                        cx.ec2()
                            .revoke_security_group_egress()
                            .group_id(&id)
                            .ip_permissions(all)
                    );
                }
                return Ok(json!({ "group": id, "created": true }));
            }
            RevokeGroupRules { group } => {
                let out = send!(
                    "ec2",
                    "DescribeSecurityGroups",
                    cx.ec2().describe_security_groups().group_ids(group)
                );
                let Some(g) = out.security_groups().first() else {
                    return Err(AwsError::Call {
                        service: "ec2",
                        operation: "DescribeSecurityGroups",
                        code: Some("InvalidGroup.NotFound".into()),
                        message: format!("no security group {group}"),
                    });
                };
                let (ingress, egress) = (
                    g.ip_permissions().to_vec(),
                    g.ip_permissions_egress().to_vec(),
                );
                if !ingress.is_empty() {
                    send!(
                        "ec2",
                        "RevokeSecurityGroupIngress",
                        cx.ec2()
                            .revoke_security_group_ingress()
                            .group_id(group)
                            .set_ip_permissions(Some(ingress.clone()))
                    );
                }
                if !egress.is_empty() {
                    send!(
                        "ec2",
                        "RevokeSecurityGroupEgress",
                        cx.ec2()
                            .revoke_security_group_egress()
                            .group_id(group)
                            .set_ip_permissions(Some(egress.clone()))
                    );
                }
                return Ok(json!({ "group": group, "repaired": true,
                    "revoked": ingress.len() + egress.len() }));
            }
            SetEniGroups { eni, groups } => {
                let mut ids = Vec::new();
                for g in groups {
                    ids.push(match g {
                        GroupRef::Id(id) => id.clone(),
                        GroupRef::Named { vpc, name } => group_id(cx, vpc, name)
                            .await?
                            .ok_or_else(|| AwsError::Call {
                                service: "ec2",
                                operation: "ModifyNetworkInterfaceAttribute",
                                code: None,
                                message: format!("security group {name} does not exist in {vpc}"),
                            })?,
                    });
                }
                send!(
                    "ec2",
                    "ModifyNetworkInterfaceAttribute",
                    cx.ec2()
                        .modify_network_interface_attribute()
                        .network_interface_id(eni)
                        .set_groups(Some(ids.clone()))
                );
                return Ok(json!({ "eni": eni, "groups": ids }));
            }
            DetachFromAsg { instance, group } => {
                send!(
                    "autoscaling",
                    "DetachInstances",
                    cx.autoscaling()
                        .detach_instances()
                        .auto_scaling_group_name(group)
                        .instance_ids(instance)
                        .should_decrement_desired_capacity(false)
                );
            }
            AttachToAsg { instance, group } => {
                send!(
                    "autoscaling",
                    "AttachInstances",
                    cx.autoscaling()
                        .attach_instances()
                        .auto_scaling_group_name(group)
                        .instance_ids(instance)
                );
            }
            DeregisterTarget {
                group_arn,
                instance,
                port,
            }
            | RegisterTarget {
                group_arn,
                instance,
                port,
            } => {
                let target = aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                    .id(instance)
                    .set_port(*port)
                    .build();
                if matches!(self, DeregisterTarget { .. }) {
                    send!(
                        "elasticloadbalancing",
                        "DeregisterTargets",
                        cx.elbv2()
                            .deregister_targets()
                            .target_group_arn(group_arn)
                            .targets(target)
                    );
                } else {
                    send!(
                        "elasticloadbalancing",
                        "RegisterTargets",
                        cx.elbv2()
                            .register_targets()
                            .target_group_arn(group_arn)
                            .targets(target)
                    );
                }
            }
            DisassociateProfile { association } => {
                send!(
                    "ec2",
                    "DisassociateIamInstanceProfile",
                    cx.ec2()
                        .disassociate_iam_instance_profile()
                        .association_id(association)
                );
            }
            SetInstanceProfile {
                instance,
                profile_arn,
            } => {
                let spec = ec2t::IamInstanceProfileSpecification::builder()
                    .arn(profile_arn)
                    .build();
                match super::actions::profile_association(cx, instance).await? {
                    Some((association, _)) => {
                        send!(
                            "ec2",
                            "ReplaceIamInstanceProfileAssociation",
                            cx.ec2()
                                .replace_iam_instance_profile_association()
                                .association_id(association)
                                .iam_instance_profile(spec)
                        );
                    }
                    None => {
                        send!(
                            "ec2",
                            "AssociateIamInstanceProfile",
                            cx.ec2()
                                .associate_iam_instance_profile()
                                .instance_id(instance)
                                .iam_instance_profile(spec)
                        );
                    }
                }
            }
            SetMetadataOptions {
                instance,
                tokens,
                endpoint,
            } => {
                send!(
                    "ec2",
                    "ModifyInstanceMetadataOptions",
                    cx.ec2()
                        .modify_instance_metadata_options()
                        .instance_id(instance)
                        .http_tokens(ec2t::HttpTokensState::from(tokens.as_str()))
                        .http_endpoint(ec2t::InstanceMetadataEndpointState::from(
                            endpoint.as_str()
                        ))
                );
            }
            EnsureQuarantineAcl { vpc } => {
                if let Some(id) = quarantine_acl(cx, vpc).await? {
                    return Ok(json!({ "acl": id, "created": false }));
                }
                let out = send!(
                    "ec2",
                    "CreateNetworkAcl",
                    cx.ec2()
                        .create_network_acl()
                        .vpc_id(vpc)
                        .tag_specifications(
                            ec2t::TagSpecification::builder()
                                .resource_type(ec2t::ResourceType::NetworkAcl)
                                .tags(
                                    ec2t::Tag::builder()
                                        .key(QUARANTINE_TAG)
                                        .value("true")
                                        .build()
                                )
                                .build()
                        )
                );
                let id = out
                    .network_acl()
                    .and_then(|a| a.network_acl_id())
                    .unwrap_or_default();
                return Ok(json!({ "acl": id, "created": true }));
            }
            SetSubnetAcl { subnet, acl } => {
                let acl_id = match acl {
                    AclRef::Id(id) => id.clone(),
                    AclRef::Quarantine { vpc } => {
                        quarantine_acl(cx, vpc)
                            .await?
                            .ok_or_else(|| AwsError::Call {
                                service: "ec2",
                                operation: "ReplaceNetworkAclAssociation",
                                code: None,
                                message: format!("no quarantine network ACL in {vpc}"),
                            })?
                    }
                };
                let (association, _) = super::actions::subnet_acl(cx, subnet).await?;
                send!(
                    "ec2",
                    "ReplaceNetworkAclAssociation",
                    cx.ec2()
                        .replace_network_acl_association()
                        .association_id(association)
                        .network_acl_id(&acl_id)
                );
                return Ok(json!({ "subnet": subnet, "acl": acl_id }));
            }
            StopInstance { instance } => {
                send!(
                    "ec2",
                    "StopInstances",
                    cx.ec2().stop_instances().instance_ids(instance)
                );
            }
            StartInstance { instance } => {
                send!(
                    "ec2",
                    "StartInstances",
                    cx.ec2().start_instances().instance_ids(instance)
                );
            }
            Share {
                kind: Shareable::Snapshot,
                id,
                add,
                with,
            } => {
                let op = if *add {
                    ec2t::OperationType::Add
                } else {
                    ec2t::OperationType::Remove
                };
                send!(
                    "ec2",
                    "ModifySnapshotAttribute",
                    cx.ec2()
                        .modify_snapshot_attribute()
                        .snapshot_id(id)
                        .attribute(ec2t::SnapshotAttributeName::CreateVolumePermission)
                        .operation_type(op)
                        .set_user_ids((!with.accounts.is_empty()).then(|| with.accounts.clone()))
                        .set_group_names(with.public.then(|| vec!["all".to_string()]))
                );
            }
            Share {
                kind: Shareable::Image,
                id,
                add,
                with,
            } => {
                let perms: Vec<ec2t::LaunchPermission> = with
                    .accounts
                    .iter()
                    .map(|a| ec2t::LaunchPermission::builder().user_id(a).build())
                    .chain(with.public.then(|| {
                        ec2t::LaunchPermission::builder()
                            .group(ec2t::PermissionGroup::All)
                            .build()
                    }))
                    .collect();
                let mods = if *add {
                    ec2t::LaunchPermissionModifications::builder()
                        .set_add(Some(perms))
                        .build()
                } else {
                    ec2t::LaunchPermissionModifications::builder()
                        .set_remove(Some(perms))
                        .build()
                };
                send!(
                    "ec2",
                    "ModifyImageAttribute",
                    cx.ec2()
                        .modify_image_attribute()
                        .image_id(id)
                        .launch_permission(mods)
                );
            }
            CreateFlowLogs {
                vpcs,
                log_group,
                role_arn,
                bucket_arn,
            } => {
                let mut req = cx
                    .ec2()
                    .create_flow_logs()
                    .set_resource_ids(Some(vpcs.clone()))
                    .resource_type(ec2t::FlowLogsResourceType::Vpc)
                    .traffic_type(ec2t::TrafficType::All);
                req = match bucket_arn {
                    Some(b) => req
                        .log_destination_type(ec2t::LogDestinationType::S3)
                        .log_destination(b),
                    None => req
                        .log_destination_type(ec2t::LogDestinationType::CloudWatchLogs)
                        .set_log_group_name(log_group.clone())
                        .set_deliver_logs_permission_arn(role_arn.clone()),
                };
                let out = send!("ec2", "CreateFlowLogs", req);
                if let Some(u) = out.unsuccessful().first() {
                    return Err(AwsError::Call {
                        service: "ec2",
                        operation: "CreateFlowLogs",
                        code: u.error().and_then(|e| e.code()).map(str::to_string),
                        message: format!("{:?}", u.error()),
                    });
                }
                return Ok(json!({ "flow_logs": out.flow_log_ids() }));
            }
            SetAccessKeyStatus { user, key, status } => {
                send!(
                    "iam",
                    "UpdateAccessKey",
                    cx.iam()
                        .update_access_key()
                        .user_name(user)
                        .access_key_id(key)
                        .status(aws_sdk_iam::types::StatusType::from(status.as_str()))
                );
            }
            DeleteLoginProfile { user } => {
                send!(
                    "iam",
                    "DeleteLoginProfile",
                    cx.iam().delete_login_profile().user_name(user)
                );
            }
            CreateLoginProfile { user } => {
                send!(
                    "iam",
                    "CreateLoginProfile",
                    cx.iam()
                        .create_login_profile()
                        .user_name(user)
                        .password(random_password()?)
                        .password_reset_required(true)
                );
            }
            PutUserPolicy {
                user,
                name,
                document,
            } => {
                send!(
                    "iam",
                    "PutUserPolicy",
                    cx.iam()
                        .put_user_policy()
                        .user_name(user)
                        .policy_name(name)
                        .policy_document(document)
                );
            }
            DeleteUserPolicy { user, name } => {
                send!(
                    "iam",
                    "DeleteUserPolicy",
                    cx.iam()
                        .delete_user_policy()
                        .user_name(user)
                        .policy_name(name)
                );
            }
            PutRolePolicy {
                role,
                name,
                document,
            } => {
                send!(
                    "iam",
                    "PutRolePolicy",
                    cx.iam()
                        .put_role_policy()
                        .role_name(role)
                        .policy_name(name)
                        .policy_document(document)
                );
            }
            DeleteRolePolicy { role, name } => {
                send!(
                    "iam",
                    "DeleteRolePolicy",
                    cx.iam()
                        .delete_role_policy()
                        .role_name(role)
                        .policy_name(name)
                );
            }
            SetTrustPolicy { role, document } => {
                send!(
                    "iam",
                    "UpdateAssumeRolePolicy",
                    cx.iam()
                        .update_assume_role_policy()
                        .role_name(role)
                        .policy_document(document)
                );
            }
            CaptureCredentialReport => {
                let out = credential_report(cx).await?;
                let content = out
                    .content()
                    .map(|b| b.as_ref().to_vec())
                    .unwrap_or_default();
                return Ok(json!({
                    "evidence": "credential-report",
                    "sha256": crate::sha256_hex(&content),
                    "report": String::from_utf8_lossy(&content),
                }));
            }
            PutPublicAccessBlock {
                bucket,
                settings: [a, b, c, d],
            } => {
                send!(
                    "s3",
                    "PutPublicAccessBlock",
                    cx.s3()
                        .put_public_access_block()
                        .bucket(bucket)
                        .public_access_block_configuration(
                            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                                .block_public_acls(*a)
                                .ignore_public_acls(*b)
                                .block_public_policy(*c)
                                .restrict_public_buckets(*d)
                                .build()
                        )
                );
            }
            DeletePublicAccessBlock { bucket } => {
                send!(
                    "s3",
                    "DeletePublicAccessBlock",
                    cx.s3().delete_public_access_block().bucket(bucket)
                );
            }
            SetVersioning { bucket, status } => {
                send!(
                    "s3",
                    "PutBucketVersioning",
                    cx.s3()
                        .put_bucket_versioning()
                        .bucket(bucket)
                        .versioning_configuration(
                            aws_sdk_s3::types::VersioningConfiguration::builder()
                                .status(aws_sdk_s3::types::BucketVersioningStatus::from(
                                    status.as_str()
                                ))
                                .build()
                        )
                );
            }
            PutBucketPolicy { bucket, policy } => {
                send!(
                    "s3",
                    "PutBucketPolicy",
                    cx.s3().put_bucket_policy().bucket(bucket).policy(policy)
                );
            }
            DeleteBucketPolicy { bucket } => {
                send!(
                    "s3",
                    "DeleteBucketPolicy",
                    cx.s3().delete_bucket_policy().bucket(bucket)
                );
            }
            SetConcurrency {
                function,
                reserved: Some(n),
            } => {
                send!(
                    "lambda",
                    "PutFunctionConcurrency",
                    cx.lambda()
                        .put_function_concurrency()
                        .function_name(function)
                        .reserved_concurrent_executions(*n)
                );
            }
            SetConcurrency {
                function,
                reserved: None,
            } => {
                send!(
                    "lambda",
                    "DeleteFunctionConcurrency",
                    cx.lambda()
                        .delete_function_concurrency()
                        .function_name(function)
                );
            }
            RemovePermission { function, sid } => {
                send!(
                    "lambda",
                    "RemovePermission",
                    cx.lambda()
                        .remove_permission()
                        .function_name(function)
                        .statement_id(sid)
                );
            }
            AddPermission {
                function,
                statement,
            } => {
                let p = super::actions::LambdaGrant::from_statement(statement);
                send!(
                    "lambda",
                    "AddPermission",
                    cx.lambda()
                        .add_permission()
                        .function_name(function)
                        .statement_id(&p.sid)
                        .action(&p.action)
                        .principal(&p.principal)
                        .set_source_arn(p.source_arn)
                        .set_source_account(p.source_account)
                );
            }
            EnsureQuarantineScp => {
                if let Some(id) = quarantine_scp(cx).await? {
                    return Ok(json!({ "policy": id, "created": false }));
                }
                let content = json!({"Version": "2012-10-17", "Statement": [{
                    "Sid": "FirebreakQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}]});
                let out = send!(
                    "organizations",
                    "CreatePolicy",
                    cx.organizations()
                        .create_policy()
                        .name(QUARANTINE_SCP)
                        .description("Firebreak: deny everything in a quarantined account")
                        .r#type(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
                        .content(content.to_string())
                );
                let id = out
                    .policy()
                    .and_then(|p| p.policy_summary())
                    .and_then(|s| s.id())
                    .unwrap_or_default();
                return Ok(json!({ "policy": id, "created": true }));
            }
            AttachScp { target } | DetachScp { target } => {
                let id = quarantine_scp(cx).await?.ok_or_else(|| AwsError::Call {
                    service: "organizations",
                    operation: "AttachPolicy",
                    code: None,
                    message: format!("no {QUARANTINE_SCP} policy in the organization"),
                })?;
                if matches!(self, AttachScp { .. }) {
                    send!(
                        "organizations",
                        "AttachPolicy",
                        cx.organizations()
                            .attach_policy()
                            .policy_id(&id)
                            .target_id(target)
                    );
                } else {
                    send!(
                        "organizations",
                        "DetachPolicy",
                        cx.organizations()
                            .detach_policy()
                            .policy_id(&id)
                            .target_id(target)
                    );
                }
            }
            StartLogging { trail } => {
                send!(
                    "cloudtrail",
                    "StartLogging",
                    cx.cloudtrail().start_logging().name(trail)
                );
            }
            EnableGuardDuty { detector: Some(d) } => {
                send!(
                    "guardduty",
                    "UpdateDetector",
                    cx.guardduty().update_detector().detector_id(d).enable(true)
                );
            }
            EnableGuardDuty { detector: None } => {
                let out = send!(
                    "guardduty",
                    "CreateDetector",
                    cx.guardduty().create_detector().enable(true)
                );
                return Ok(json!({ "detector": out.detector_id() }));
            }
        }
        Ok(Value::Null)
    }
}
