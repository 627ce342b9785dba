//! The catalog of response actions: what each acts on, whether it preserves evidence or
//! disrupts, the AWS calls it makes, the IAM permissions it needs, and how it is undone.
//! The AWS adapter implements each one (read before-state, apply, verify, roll back).

use crate::target::TargetKind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an action stands in the response: evidence first, then disruption, then repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Preserves evidence or marks the resource; changes nothing an attacker relies on.
    Evidence,
    /// Cuts access or stops a workload (containment and eradication).
    Disruptive,
    /// Restores what an attacker disabled (logging, detection).
    Recovery,
    /// Done by a person; becomes a case task.
    Manual,
}

macro_rules! actions {
    ($( $variant:ident = $name:literal, $target:ident, $class:ident, $desc:literal,
        calls [$($call:literal),* $(,)?], perms [$($perm:literal),* $(,)?], undo $undo:literal; )*) => {
        /// A response action, named `service.verb-object` in playbooks.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Action { $($variant),* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }

            pub fn target(self) -> TargetKind {
                match self { $(Action::$variant => TargetKind::$target),* }
            }

            pub fn class(self) -> Class {
                match self { $(Action::$variant => Class::$class),* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Action::$variant => $desc),* }
            }

            /// The calls a run makes, as templates (`{id}`, `{parent}`, `{case}`, `{param}`);
            /// a dry-run against AWS replaces them with the exact calls.
            pub fn calls(self) -> &'static [&'static str] {
                match self { $(Action::$variant => &[$($call),*]),* }
            }

            /// IAM actions the responder role needs: reads for before-state and
            /// verification, writes for the effect and the rollback.
            pub fn permissions(self) -> &'static [&'static str] {
                match self { $(Action::$variant => &[$($perm),*]),* }
            }

            /// How a rollback undoes it (or why it is not undone).
            pub fn undo(self) -> &'static str {
                match self { $(Action::$variant => $undo),* }
            }
        }
    };
}

actions! {
    // --- EC2: preserve, then isolate ------------------------------------------------------
    TagInstance = "ec2.tag-instance", Instance, Evidence,
        "Tag the instance with the case id and quarantine status",
        calls ["ec2:CreateTags Resources=[{id}] Tags=[firebreak:case={case}, firebreak:status=quarantined]"],
        perms ["ec2:DescribeTags", "ec2:CreateTags", "ec2:DeleteTags"],
        undo "restore the tags' previous values, delete the ones that were absent";
    CaptureMetadata = "ec2.capture-metadata", Instance, Evidence,
        "Record the instance's metadata and console output as evidence (SHA-256 in the receipt)",
        calls ["ec2:DescribeInstances InstanceIds=[{id}]", "ec2:GetConsoleOutput InstanceId={id} Latest=true"],
        perms ["ec2:DescribeInstances", "ec2:GetConsoleOutput"],
        undo "nothing to undo (read-only)";
    SnapshotVolumes = "ec2.snapshot-volumes", Instance, Evidence,
        "Snapshot every EBS volume of the instance (crash-consistent, tagged with the case)",
        calls ["ec2:CreateSnapshots InstanceSpecification.InstanceId={id} CopyTagsFromSource=volume TagSpecifications=[firebreak:case={case}]"],
        perms ["ec2:DescribeInstances", "ec2:DescribeSnapshots", "ec2:CreateSnapshots", "ec2:CreateTags"],
        undo "never undone: snapshots are evidence";
    CopySnapshotsToForensics = "ec2.copy-snapshots-to-forensics", Instance, Evidence,
        "Copy the case's snapshots of the instance encrypted (the plan's KMS key, else the account's) and share the copies with the forensic account",
        calls ["ec2:CopySnapshot SourceSnapshotId=<each case snapshot of {id}> Encrypted=true TagSpecifications=[firebreak:case={case}, firebreak:copy-of=<snapshot>]",
               "ec2:ModifySnapshotAttribute SnapshotId=<copy> CreateVolumePermission Add UserId=<forensic account>"],
        perms ["ec2:DescribeInstances", "ec2:DescribeSnapshots", "ec2:CopySnapshot", "ec2:CreateTags", "ec2:ModifySnapshotAttribute", "ec2:DescribeSnapshotAttribute", "kms:CreateGrant", "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"],
        undo "never undone: the copies are evidence";
    CaptureMemory = "ec2.capture-memory", Instance, Evidence,
        "Capture memory with AVML through SSM Run Command; the instance uploads the image to the evidence bucket and its SHA-256 is checked",
        calls ["ssm:SendCommand DocumentName=AWS-RunShellScript InstanceIds=[{id}] (avml; sha256sum; aws s3 cp --checksum-algorithm SHA256 → s3://{evidence_bucket}/cases/{case}/memory/{id}.lime)",
               "s3:HeadObject Bucket={evidence_bucket} Key=cases/{case}/memory/{id}.lime ChecksumMode=ENABLED"],
        perms ["ssm:DescribeInstanceInformation", "ssm:SendCommand", "ssm:GetCommandInvocation", "s3:GetObject"],
        undo "never undone: the memory image is evidence";
    ProtectInstance = "ec2.protect-instance", Instance, Evidence,
        "Enable termination protection and set shutdown behaviour to stop, so the disk survives",
        calls ["ec2:ModifyInstanceAttribute InstanceId={id} DisableApiTermination=true",
               "ec2:ModifyInstanceAttribute InstanceId={id} InstanceInitiatedShutdownBehavior=stop"],
        perms ["ec2:DescribeInstanceAttribute", "ec2:ModifyInstanceAttribute"],
        undo "restore both attributes' previous values";
    IsolateInstance = "ec2.isolate-instance", Instance, Disruptive,
        "Isolate every network interface: first an allow-all group (tracked connections become untracked), then the rule-less isolation group, so existing connections die",
        calls ["ec2:CreateSecurityGroup GroupName={isolation_group}-open VpcId=<instance VPC> (when absent; ingress and egress 0.0.0.0/0)",
               "ec2:CreateSecurityGroup GroupName={isolation_group} VpcId=<instance VPC> (when absent; egress rule revoked)",
               "ec2:ModifyNetworkInterfaceAttribute NetworkInterfaceId=<each ENI of {id}> Groups=[{isolation_group}-open]",
               "ec2:ModifyNetworkInterfaceAttribute NetworkInterfaceId=<each ENI of {id}> Groups=[{isolation_group}]"],
        perms ["ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
               "ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
               "ec2:RevokeSecurityGroupEgress", "ec2:ModifyNetworkInterfaceAttribute", "ec2:CreateTags"],
        undo "put each interface's previous security groups back (the isolation groups stay for the next incident)";
    DetachFromAutoScaling = "ec2.detach-from-autoscaling", Instance, Disruptive,
        "Detach the instance from its Auto Scaling group (the group launches a replacement; the instance is kept)",
        calls ["autoscaling:DetachInstances AutoScalingGroupName=<group of {id}> InstanceIds=[{id}] ShouldDecrementDesiredCapacity=false"],
        perms ["autoscaling:DescribeAutoScalingInstances", "autoscaling:DetachInstances", "autoscaling:AttachInstances"],
        undo "attach the instance to its group again";
    DeregisterFromTargetGroups = "ec2.deregister-from-target-groups", Instance, Disruptive,
        "Deregister the instance from every load-balancer target group that routes to it",
        calls ["elasticloadbalancing:DeregisterTargets TargetGroupArn=<each group with {id}> Targets=[{id}:port]"],
        perms ["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
               "elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"],
        undo "register the instance again on the same ports";
    RemoveInstanceProfile = "ec2.remove-instance-profile", Instance, Disruptive,
        "Remove the instance profile (or replace it with `profile`), so the instance's role credentials stop being issued",
        calls ["ec2:DisassociateIamInstanceProfile AssociationId=<association of {id}> (or ReplaceIamInstanceProfileAssociation with {profile})"],
        perms ["ec2:DescribeIamInstanceProfileAssociations", "ec2:DisassociateIamInstanceProfile",
               "ec2:AssociateIamInstanceProfile", "ec2:ReplaceIamInstanceProfileAssociation", "iam:PassRole"],
        undo "associate the previous instance profile again";
    RestrictImds = "ec2.restrict-imds", Instance, Disruptive,
        "Require IMDSv2 tokens (or with `disable: true`, turn the metadata endpoint off)",
        calls ["ec2:ModifyInstanceMetadataOptions InstanceId={id} HttpTokens=required (HttpEndpoint=disabled with disable)"],
        perms ["ec2:DescribeInstances", "ec2:ModifyInstanceMetadataOptions"],
        undo "restore the previous token requirement and endpoint state";
    QuarantineSubnet = "ec2.quarantine-subnet", Instance, Disruptive,
        "Associate the instance's subnet with a deny-all network ACL (affects every host in the subnet)",
        calls ["ec2:CreateNetworkAcl VpcId=<instance VPC> (when absent; tagged firebreak:quarantine)",
               "ec2:ReplaceNetworkAclAssociation AssociationId=<subnet association> NetworkAclId=<deny-all ACL>"],
        perms ["ec2:DescribeInstances", "ec2:DescribeNetworkAcls", "ec2:CreateNetworkAcl", "ec2:CreateTags",
               "ec2:ReplaceNetworkAclAssociation"],
        undo "associate the subnet with its previous network ACL";
    StopInstance = "ec2.stop-instance", Instance, Disruptive,
        "Stop the instance (volatile memory is lost: capture it first)",
        calls ["ec2:StopInstances InstanceIds=[{id}]"],
        perms ["ec2:DescribeInstances", "ec2:StopInstances", "ec2:StartInstances"],
        undo "start the instance if it was running";
    UnshareSnapshot = "ec2.unshare-snapshot", Snapshot, Disruptive,
        "Remove every account and public permission to create volumes from the snapshot",
        calls ["ec2:ModifySnapshotAttribute SnapshotId={id} Attribute=createVolumePermission OperationType=remove UserIds=<shared accounts> GroupNames=<all when public>"],
        perms ["ec2:DescribeSnapshotAttribute", "ec2:ModifySnapshotAttribute"],
        undo "add the removed permissions back";
    UnshareImage = "ec2.unshare-image", Image, Disruptive,
        "Remove every account and public launch permission from the AMI",
        calls ["ec2:ModifyImageAttribute ImageId={id} LaunchPermission.Remove=<shared accounts, all when public>"],
        perms ["ec2:DescribeImageAttribute", "ec2:ModifyImageAttribute"],
        undo "add the removed launch permissions back";
    RestoreFlowLogs = "ec2.restore-flow-logs", Region, Recovery,
        "Create flow logs on every VPC of the region that has none (to `log_group` with `role_arn`, or to `bucket_arn`)",
        calls ["ec2:CreateFlowLogs ResourceType=VPC ResourceIds=<VPCs without an active flow log> TrafficType=ALL"],
        perms ["ec2:DescribeVpcs", "ec2:DescribeFlowLogs", "ec2:CreateFlowLogs", "iam:PassRole",
               "logs:CreateLogDelivery"],
        undo "not undone: restored logging stays on";
    // --- IAM users ------------------------------------------------------------------------
    DeactivateAccessKey = "iam.deactivate-access-key", AccessKey, Disruptive,
        "Deactivate the access key (not deleted: the key id stays searchable in CloudTrail)",
        calls ["iam:UpdateAccessKey UserName={parent} AccessKeyId={id} Status=Inactive"],
        perms ["iam:ListAccessKeys", "iam:UpdateAccessKey"],
        undo "set the key's previous status";
    DeleteLoginProfile = "iam.delete-login-profile", User, Disruptive,
        "Delete the user's console password",
        calls ["iam:DeleteLoginProfile UserName={id}"],
        perms ["iam:GetLoginProfile", "iam:DeleteLoginProfile", "iam:CreateLoginProfile"],
        undo "create a login profile again with a random password that must be reset (the old password cannot be restored)";
    DenyAllUser = "iam.deny-all-user", User, Disruptive,
        "Attach an inline policy denying every action to the user",
        calls ["iam:PutUserPolicy UserName={id} PolicyName=FirebreakDenyAll-case-{case} PolicyDocument={Deny *:*}"],
        perms ["iam:GetUserPolicy", "iam:PutUserPolicy", "iam:DeleteUserPolicy"],
        undo "delete the inline policy (or restore its previous document)";
    RevokeUserSessions = "iam.revoke-user-sessions", User, Disruptive,
        "Deny every action to sessions the user's credentials issued before now (aws:TokenIssueTime)",
        calls ["iam:PutUserPolicy UserName={id} PolicyName=FirebreakRevokeSessions-case-{case} PolicyDocument={Deny *:* when aws:TokenIssueTime < now}"],
        perms ["iam:GetUserPolicy", "iam:PutUserPolicy", "iam:DeleteUserPolicy"],
        undo "delete the inline policy (or restore its previous document)";
    // --- IAM roles ------------------------------------------------------------------------
    RevokeRoleSessions = "iam.revoke-role-sessions", Role, Disruptive,
        "Deny every action to sessions of the role issued before now (aws:TokenIssueTime), as the console's Revoke sessions does",
        calls ["iam:PutRolePolicy RoleName={id} PolicyName=AWSRevokeOlderSessions PolicyDocument={Deny *:* when aws:TokenIssueTime < now}"],
        perms ["iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"],
        undo "delete the inline policy (or restore its previous document)";
    DenyAllRole = "iam.deny-all-role", Role, Disruptive,
        "Attach an inline policy denying every action to the role",
        calls ["iam:PutRolePolicy RoleName={id} PolicyName=FirebreakDenyAll-case-{case} PolicyDocument={Deny *:*}"],
        perms ["iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"],
        undo "delete the inline policy (or restore its previous document)";
    RestrictRoleTrust = "iam.restrict-role-trust", Role, Disruptive,
        "Remove trust statements for other accounts and wildcard principals (keeping service principals); an empty result trusts only the responder role",
        calls ["iam:UpdateAssumeRolePolicy RoleName={id} PolicyDocument=<trust without foreign and * principals>"],
        perms ["iam:GetRole", "iam:UpdateAssumeRolePolicy"],
        undo "restore the previous trust policy";
    CaptureCredentialReport = "iam.capture-credential-report", Account, Evidence,
        "Record the account's IAM credential report (root and user keys, passwords, MFA) as evidence",
        calls ["iam:GenerateCredentialReport", "iam:GetCredentialReport"],
        perms ["iam:GenerateCredentialReport", "iam:GetCredentialReport", "iam:GetAccountSummary"],
        undo "nothing to undo (read-only)";
    // --- S3 -------------------------------------------------------------------------------
    BlockPublicAccess = "s3.block-public-access", Bucket, Disruptive,
        "Turn on all four S3 Block Public Access settings for the bucket",
        calls ["s3:PutPublicAccessBlock Bucket={id} BlockPublicAcls=true IgnorePublicAcls=true BlockPublicPolicy=true RestrictPublicBuckets=true"],
        perms ["s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"],
        undo "restore the previous settings (or delete the configuration if there was none)";
    EnableVersioning = "s3.enable-versioning", Bucket, Evidence,
        "Enable versioning, so overwritten and deleted objects are kept",
        calls ["s3:PutBucketVersioning Bucket={id} Status=Enabled"],
        perms ["s3:GetBucketVersioning", "s3:PutBucketVersioning"],
        undo "suspend versioning if it was not enabled (versions already kept stay)";
    LockBucketPolicy = "s3.lock-bucket-policy", Bucket, Disruptive,
        "Replace the bucket policy with one denying every principal but the responder role (policy management stays possible for the account)",
        calls ["s3:PutBucketPolicy Bucket={id} Policy={Deny * unless aws:PrincipalArn is the responder role}"],
        perms ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
        undo "restore the previous policy (or delete it if there was none)";
    // --- Lambda ---------------------------------------------------------------------------
    ZeroConcurrency = "lambda.zero-concurrency", Function, Disruptive,
        "Set the function's reserved concurrency to 0, so it cannot run",
        calls ["lambda:PutFunctionConcurrency FunctionName={id} ReservedConcurrentExecutions=0"],
        perms ["lambda:GetFunctionConcurrency", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency"],
        undo "restore the previous reserved concurrency (or remove the reservation)";
    RemovePublicPermissions = "lambda.remove-public-permissions", Function, Disruptive,
        "Remove resource-policy statements that let anyone or another account invoke the function",
        calls ["lambda:RemovePermission FunctionName={id} StatementId=<each public or cross-account statement>"],
        perms ["lambda:GetPolicy", "lambda:RemovePermission", "lambda:AddPermission"],
        undo "add the removed statements back";
    // --- Organizations --------------------------------------------------------------------
    QuarantineAccount = "org.quarantine-account", Account, Disruptive,
        "Attach a deny-all service control policy to the account (from the Organizations management account)",
        calls ["organizations:CreatePolicy Name=FirebreakQuarantine Type=SERVICE_CONTROL_POLICY (when absent)",
               "organizations:AttachPolicy PolicyId=<FirebreakQuarantine> TargetId={id}"],
        perms ["organizations:ListPolicies", "organizations:ListPoliciesForTarget", "organizations:CreatePolicy",
               "organizations:AttachPolicy", "organizations:DetachPolicy"],
        undo "detach the quarantine policy from the account";
    // --- Recovery -------------------------------------------------------------------------
    StartLogging = "cloudtrail.start-logging", Trail, Recovery,
        "Start logging on the trail again",
        calls ["cloudtrail:StartLogging Name={id}"],
        perms ["cloudtrail:GetTrailStatus", "cloudtrail:StartLogging"],
        undo "not undone: restored logging stays on";
    EnableGuardDuty = "guardduty.enable", Region, Recovery,
        "Enable the region's GuardDuty detector again (or create one)",
        calls ["guardduty:UpdateDetector DetectorId=<the region's detector> Enable=true (CreateDetector when none)"],
        perms ["guardduty:ListDetectors", "guardduty:GetDetector", "guardduty:UpdateDetector", "guardduty:CreateDetector"],
        undo "not undone: restored detection stays on";
    // --- People ---------------------------------------------------------------------------
    Manual = "manual", Account, Manual,
        "A step a person does; it becomes a case task with the step's instructions",
        calls [],
        perms [],
        undo "nothing to undo";
}

impl Action {
    pub fn from_name(s: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == s)
    }

    /// Whether a rollback does anything: disruptive actions and the markings that change
    /// configuration are undone; reads, snapshots and restored logging are not.
    pub fn reversible(self) -> bool {
        self.class() == Class::Disruptive
            || matches!(
                self,
                Action::TagInstance | Action::ProtectInstance | Action::EnableVersioning
            )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Action::from_name(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown action `{s}`")))
    }
}
