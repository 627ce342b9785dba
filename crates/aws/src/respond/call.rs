//! The mutating AWS calls response actions make, as data: a dry-run prints them, a run
//! sends them, and the same values are recorded in the case. Values only known when the
//! call is sent (a security group created a moment earlier) are named, then resolved.

mod autoscaling;
mod cloudtrail;
mod ec2;
mod elbv2;
mod guardduty;
mod iam;
mod lambda_fn;
mod organizations;
mod s3;
mod ssm;

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
        case: case::CaseId,
        bucket: String,
    },
    CaptureInstance {
        instance: String,
    },
    CreateSnapshots {
        instance: String,
        case: case::CaseId,
    },
    /// Encrypted copies of every case snapshot of the instance's volumes found when sent
    /// (those an earlier step of the same plan made), each shared with the forensic account.
    CopyCaseSnapshots {
        instance: String,
        case: case::CaseId,
        kms_key: Option<String>,
        share_with: Option<String>,
    },
    /// An encrypted copy of a case snapshot, shared with the forensic account (read back).
    CopyForForensics {
        instance: String,
        snapshot: String,
        volume: String,
        case: case::CaseId,
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
    )?;
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
    case: case::CaseId,
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
    )?;
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
    )?;
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
    )?;
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
        )?;
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
    /// Sends the call; returns what it produced worth keeping (ids, evidence hashes). Each
    /// service's calls are sent by its own module.
    pub(crate) async fn send(&self, cx: &Cx<'_>) -> Result<Value, AwsError> {
        use Call::*;
        match self {
            CaptureInstance { .. }
            | CopyCaseSnapshots { .. }
            | CopyForForensics { .. }
            | CreateFlowLogs { .. }
            | CreateSnapshots { .. }
            | CreateTags { .. }
            | DeleteTags { .. }
            | DisassociateProfile { .. }
            | EnsureGroup { .. }
            | EnsureQuarantineAcl { .. }
            | RevokeGroupRules { .. }
            | SetEniGroups { .. }
            | SetInstanceProfile { .. }
            | SetMetadataOptions { .. }
            | SetShutdownBehavior { .. }
            | SetSubnetAcl { .. }
            | SetTerminationProtection { .. }
            | Share { .. }
            | StartInstance { .. }
            | StopInstance { .. } => ec2::send(self, cx).await,
            CaptureMemory { .. } => ssm::send(self, cx).await,
            AttachToAsg { .. } | DetachFromAsg { .. } => autoscaling::send(self, cx).await,
            DeregisterTarget { .. } | RegisterTarget { .. } => elbv2::send(self, cx).await,
            CaptureCredentialReport
            | CreateLoginProfile { .. }
            | DeleteLoginProfile { .. }
            | DeleteRolePolicy { .. }
            | DeleteUserPolicy { .. }
            | PutRolePolicy { .. }
            | PutUserPolicy { .. }
            | SetAccessKeyStatus { .. }
            | SetTrustPolicy { .. } => iam::send(self, cx).await,
            DeleteBucketPolicy { .. }
            | DeletePublicAccessBlock { .. }
            | PutBucketPolicy { .. }
            | PutPublicAccessBlock { .. }
            | SetVersioning { .. } => s3::send(self, cx).await,
            AddPermission { .. } | RemovePermission { .. } | SetConcurrency { .. } => {
                lambda_fn::send(self, cx).await
            }
            AttachScp { .. } | DetachScp { .. } | EnsureQuarantineScp => {
                organizations::send(self, cx).await
            }
            StartLogging { .. } => cloudtrail::send(self, cx).await,
            EnableGuardDuty { .. } => guardduty::send(self, cx).await,
        }
    }
}
