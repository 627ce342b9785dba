//! Each response action: how it reads the state it changes (its before-state), the calls
//! that change it, how the new state is proven, and the calls that undo it.

use super::Cx;
use super::call::{AclRef, Call, GroupRef, Shareable, Sharing};
use crate::AwsError;
use playbook::Step;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// One action's behaviour against AWS.
pub(crate) trait Act {
    type State: Serialize + DeserializeOwned + PartialEq + Debug;
    /// The state the action changes (read-only calls only).
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Self::State, AwsError>;
    /// The calls that bring `before` to the action's effect (none when already there).
    fn effect(cx: &Cx<'_>, s: &Step, before: &Self::State) -> Result<Vec<Call>, String>;
    /// Whether `after` (read again after the calls) shows the effect.
    fn holds(cx: &Cx<'_>, s: &Step, after: &Self::State, outputs: &[Value]) -> Result<(), String>;
    /// The calls that bring the resource back to `before`.
    fn undo(_cx: &Cx<'_>, _s: &Step, _before: &Self::State) -> Vec<Call> {
        Vec::new()
    }
    /// Whether `now` (read after an undo) is the recorded `before` again.
    fn restored(before: &Self::State, now: &Self::State) -> Result<(), String> {
        if before == now {
            Ok(())
        } else {
            Err(format!(
                "state is {now:?}, before the run it was {before:?}"
            ))
        }
    }
}

fn check(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(why()) }
}

fn not_found(e: &AwsError, codes: &[&str]) -> bool {
    e.code().is_some_and(|c| codes.contains(&c))
}

/// IAM returns policy documents URL-encoded; decode when they are.
pub fn policy_json(doc: &str) -> Value {
    let decoded = if doc.trim_start().starts_with('%') {
        percent_decode(doc)
    } else {
        doc.to_string()
    };
    serde_json::from_str(&decoded).unwrap_or(Value::String(decoded))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn param<'a>(s: &'a Step, key: &str) -> Option<&'a str> {
    s.params.get(key).and_then(Value::as_str)
}

// --- EC2 reads shared by several actions ---------------------------------------------------

/// The instance, described.
async fn instance(cx: &Cx<'_>, id: &str) -> Result<aws_sdk_ec2::types::Instance, AwsError> {
    let out = send!(
        "ec2",
        "DescribeInstances",
        cx.ec2().describe_instances().instance_ids(id)
    )?;
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .next()
        .cloned()
        .ok_or_else(|| AwsError::Call {
            service: "ec2",
            operation: "DescribeInstances",
            code: Some("InvalidInstanceID.NotFound".into()),
            message: format!("no instance {id}"),
        })
}

/// The instance's current instance-profile association (id, profile ARN).
pub(crate) async fn profile_association(
    cx: &Cx<'_>,
    id: &str,
) -> Result<Option<(String, String)>, AwsError> {
    use aws_sdk_ec2::types::{Filter, IamInstanceProfileAssociationState as S};
    let out = send!(
        "ec2",
        "DescribeIamInstanceProfileAssociations",
        cx.ec2()
            .describe_iam_instance_profile_associations()
            .filters(Filter::builder().name("instance-id").values(id).build())
    )?;
    Ok(out
        .iam_instance_profile_associations()
        .iter()
        .find(|a| matches!(a.state(), Some(S::Associated) | Some(S::Associating) | None))
        .map(|a| {
            (
                a.association_id().unwrap_or_default().to_string(),
                a.iam_instance_profile()
                    .and_then(|p| p.arn())
                    .unwrap_or_default()
                    .to_string(),
            )
        }))
}

/// The subnet's network ACL association (association id, ACL id).
pub(crate) async fn subnet_acl(cx: &Cx<'_>, subnet: &str) -> Result<(String, String), AwsError> {
    use aws_sdk_ec2::types::Filter;
    let out = send!(
        "ec2",
        "DescribeNetworkAcls",
        cx.ec2().describe_network_acls().filters(
            Filter::builder()
                .name("association.subnet-id")
                .values(subnet)
                .build()
        )
    )?;
    for acl in out.network_acls() {
        for a in acl.associations() {
            if a.subnet_id() == Some(subnet) {
                return Ok((
                    a.network_acl_association_id()
                        .unwrap_or_default()
                        .to_string(),
                    acl.network_acl_id().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    Err(AwsError::Call {
        service: "ec2",
        operation: "DescribeNetworkAcls",
        code: None,
        message: format!("subnet {subnet} has no network ACL association"),
    })
}

// --- EC2 ---------------------------------------------------------------------------------

const CASE_TAG: &str = "firebreak:case";
/// On an evidence copy: the snapshot it copies.
pub(crate) const COPY_TAG: &str = "firebreak:copy-of";
const STATUS_TAG: &str = "firebreak:status";

pub(crate) struct TagInstance;
impl Act for TagInstance {
    type State = BTreeMap<String, String>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Self::State, AwsError> {
        let i = instance(cx, &s.target.id).await?;
        Ok(i.tags()
            .iter()
            .filter(|t| matches!(t.key(), Some(CASE_TAG | STATUS_TAG)))
            .map(|t| {
                (
                    t.key().unwrap_or_default().into(),
                    t.value().unwrap_or_default().into(),
                )
            })
            .collect())
    }
    fn effect(cx: &Cx<'_>, s: &Step, _: &Self::State) -> Result<Vec<Call>, String> {
        Ok(vec![Call::CreateTags {
            resource: s.target.id.clone(),
            tags: vec![
                (CASE_TAG.into(), cx.case.to_string()),
                (STATUS_TAG.into(), "quarantined".into()),
            ],
        }])
    }
    fn holds(cx: &Cx<'_>, _: &Step, after: &Self::State, _: &[Value]) -> Result<(), String> {
        check(
            after.get(CASE_TAG) == Some(&cx.case.to_string())
                && after.get(STATUS_TAG).is_some_and(|v| v == "quarantined"),
            || format!("tags are {after:?}"),
        )
    }
    fn undo(_: &Cx<'_>, s: &Step, before: &Self::State) -> Vec<Call> {
        let mut calls = Vec::new();
        let absent: Vec<String> = [CASE_TAG, STATUS_TAG]
            .into_iter()
            .filter(|k| !before.contains_key(*k))
            .map(str::to_string)
            .collect();
        if !absent.is_empty() {
            calls.push(Call::DeleteTags {
                resource: s.target.id.clone(),
                keys: absent,
            });
        }
        if !before.is_empty() {
            calls.push(Call::CreateTags {
                resource: s.target.id.clone(),
                tags: before.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            });
        }
        calls
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Protection {
    termination_protected: bool,
    shutdown_behavior: String,
}

pub(crate) struct ProtectInstance;
impl Act for ProtectInstance {
    type State = Protection;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Protection, AwsError> {
        use aws_sdk_ec2::types::InstanceAttributeName as N;
        let id = &s.target.id;
        let term = send!(
            "ec2",
            "DescribeInstanceAttribute",
            cx.ec2()
                .describe_instance_attribute()
                .instance_id(id)
                .attribute(N::DisableApiTermination)
        )?;
        let shut = send!(
            "ec2",
            "DescribeInstanceAttribute",
            cx.ec2()
                .describe_instance_attribute()
                .instance_id(id)
                .attribute(N::InstanceInitiatedShutdownBehavior)
        )?;
        Ok(Protection {
            termination_protected: term
                .disable_api_termination()
                .and_then(|v| v.value())
                .unwrap_or(false),
            shutdown_behavior: shut
                .instance_initiated_shutdown_behavior()
                .and_then(|v| v.value())
                .unwrap_or("stop")
                .to_string(),
        })
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Protection) -> Result<Vec<Call>, String> {
        let id = s.target.id.clone();
        let mut calls = Vec::new();
        if !b.termination_protected {
            calls.push(Call::SetTerminationProtection {
                instance: id.clone(),
                on: true,
            });
        }
        if b.shutdown_behavior != "stop" {
            calls.push(Call::SetShutdownBehavior {
                instance: id,
                behavior: "stop".into(),
            });
        }
        Ok(calls)
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Protection, _: &[Value]) -> Result<(), String> {
        check(
            a.termination_protected && a.shutdown_behavior == "stop",
            || format!("{a:?}"),
        )
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Protection) -> Vec<Call> {
        vec![
            Call::SetTerminationProtection {
                instance: s.target.id.clone(),
                on: b.termination_protected,
            },
            Call::SetShutdownBehavior {
                instance: s.target.id.clone(),
                behavior: b.shutdown_behavior.clone(),
            },
        ]
    }
}

pub(crate) struct CaptureMetadata;
impl Act for CaptureMetadata {
    type State = ();
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<(), AwsError> {
        instance(cx, &s.target.id).await.map(|_| ())
    }
    fn effect(_: &Cx<'_>, s: &Step, _: &()) -> Result<Vec<Call>, String> {
        Ok(vec![Call::CaptureInstance {
            instance: s.target.id.clone(),
        }])
    }
    fn holds(_: &Cx<'_>, _: &Step, _: &(), outputs: &[Value]) -> Result<(), String> {
        check(
            outputs
                .iter()
                .any(|o| o["metadata_sha256"].as_str().is_some_and(|h| h.len() == 64)),
            || "no metadata was captured".into(),
        )
    }
}

pub(crate) struct CaptureMemory;
impl Act for CaptureMemory {
    type State = ();
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<(), AwsError> {
        instance(cx, &s.target.id).await.map(|_| ())
    }
    fn effect(cx: &Cx<'_>, s: &Step, _: &()) -> Result<Vec<Call>, String> {
        let bucket = param(s, "bucket")
            .or(cx.evidence_bucket())
            .ok_or("no evidence bucket: the IR plan's [forensics] evidence_bucket, or the step's `bucket` parameter")?;
        Ok(vec![Call::CaptureMemory {
            instance: s.target.id.clone(),
            case: cx.case,
            bucket: bucket.to_string(),
        }])
    }
    fn holds(_: &Cx<'_>, _: &Step, _: &(), outputs: &[Value]) -> Result<(), String> {
        check(
            outputs
                .iter()
                .any(|o| o["sha256"].as_str().is_some_and(|h| h.len() == 64)),
            || "no memory image was verified".into(),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Volumes {
    volumes: Vec<String>,
    /// Volume → the case's snapshot of it.
    snapshots: BTreeMap<String, String>,
}

pub(crate) struct SnapshotVolumes;
impl Act for SnapshotVolumes {
    type State = Volumes;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Volumes, AwsError> {
        use aws_sdk_ec2::types::Filter;
        let volumes = crate::forensics::volumes_of(&instance(cx, &s.target.id).await?);
        let mut snapshots = BTreeMap::new();
        if !volumes.is_empty() {
            let out = send!(
                "ec2",
                "DescribeSnapshots",
                cx.ec2()
                    .describe_snapshots()
                    .owner_ids("self")
                    .filters(
                        Filter::builder()
                            .name(format!("tag:{CASE_TAG}"))
                            .values(cx.case.to_string())
                            .build()
                    )
                    .filters(
                        Filter::builder()
                            .name("volume-id")
                            .set_values(Some(volumes.clone()))
                            .build()
                    )
            )?;
            for snap in out.snapshots() {
                if let (Some(v), Some(id)) = (snap.volume_id(), snap.snapshot_id()) {
                    snapshots.insert(v.to_string(), id.to_string());
                }
            }
        }
        Ok(Volumes { volumes, snapshots })
    }
    fn effect(cx: &Cx<'_>, s: &Step, b: &Volumes) -> Result<Vec<Call>, String> {
        if b.volumes.iter().all(|v| b.snapshots.contains_key(v)) {
            return Ok(Vec::new());
        }
        Ok(vec![Call::CreateSnapshots {
            instance: s.target.id.clone(),
            case: cx.case,
        }])
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Volumes, _: &[Value]) -> Result<(), String> {
        let missing: Vec<&String> = a
            .volumes
            .iter()
            .filter(|v| !a.snapshots.contains_key(*v))
            .collect();
        check(missing.is_empty(), || {
            format!("volumes without a case snapshot: {missing:?}")
        })
    }
}

/// One case snapshot of an instance's volume and its encrypted evidence copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EvidenceCopy {
    snapshot: String,
    volume: String,
    copy: Option<String>,
    /// The copy is shared with the forensic account.
    shared: bool,
}

pub(crate) struct CopySnapshotsToForensics;
impl Act for CopySnapshotsToForensics {
    type State = Vec<EvidenceCopy>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Self::State, AwsError> {
        use aws_sdk_ec2::types::Filter;
        let volumes = crate::forensics::volumes_of(&instance(cx, &s.target.id).await?);
        let out = send!(
            "ec2",
            "DescribeSnapshots",
            cx.ec2().describe_snapshots().owner_ids("self").filters(
                Filter::builder()
                    .name(format!("tag:{CASE_TAG}"))
                    .values(cx.case.to_string())
                    .build()
            )
        )?;
        let tag = |snap: &aws_sdk_ec2::types::Snapshot, key: &str| {
            snap.tags()
                .iter()
                .find(|t| t.key() == Some(key))
                .and_then(|t| t.value())
                .map(str::to_string)
        };
        let mut copies: BTreeMap<String, String> = BTreeMap::new();
        for snap in out.snapshots() {
            if let (Some(of), Some(id)) = (tag(snap, COPY_TAG), snap.snapshot_id()) {
                copies.insert(of, id.to_string());
            }
        }
        let mut state = Vec::new();
        for snap in out.snapshots() {
            let (Some(id), Some(vol)) = (snap.snapshot_id(), snap.volume_id()) else {
                continue;
            };
            if tag(snap, COPY_TAG).is_some() || !volumes.iter().any(|v| v == vol) {
                continue;
            }
            let copy = copies.get(id).cloned();
            let shared = match (&copy, cx.forensic_account()) {
                (Some(c), Some(fx)) => super::call::shared_with(cx, c)
                    .await?
                    .contains(&fx.to_string()),
                _ => false,
            };
            state.push(EvidenceCopy {
                snapshot: id.to_string(),
                volume: vol.to_string(),
                copy,
                shared,
            });
        }
        state.sort_by(|a, b| a.snapshot.cmp(&b.snapshot));
        Ok(state)
    }
    fn effect(cx: &Cx<'_>, s: &Step, b: &Self::State) -> Result<Vec<Call>, String> {
        let fx = cx.forensic_account().map(str::to_string);
        if b.is_empty() {
            // The plan's snapshot step makes them: copy whichever exist when this step runs.
            return Ok(vec![Call::CopyCaseSnapshots {
                instance: s.target.id.clone(),
                case: cx.case,
                kms_key: cx.kms_key().map(str::to_string),
                share_with: fx,
            }]);
        }
        Ok(b.iter()
            .filter_map(|c| match &c.copy {
                None => Some(Call::CopyForForensics {
                    instance: s.target.id.clone(),
                    snapshot: c.snapshot.clone(),
                    volume: c.volume.clone(),
                    case: cx.case,
                    kms_key: cx.kms_key().map(str::to_string),
                    share_with: fx.clone(),
                }),
                Some(copy) if fx.is_some() && !c.shared => Some(Call::Share {
                    kind: Shareable::Snapshot,
                    id: copy.clone(),
                    add: true,
                    with: Sharing {
                        accounts: fx.iter().cloned().collect(),
                        public: false,
                    },
                }),
                Some(_) => None,
            })
            .collect())
    }
    fn holds(cx: &Cx<'_>, _: &Step, a: &Self::State, _: &[Value]) -> Result<(), String> {
        let missing: Vec<&str> = a
            .iter()
            .filter(|c| c.copy.is_none() || (cx.forensic_account().is_some() && !c.shared))
            .map(|c| c.snapshot.as_str())
            .collect();
        check(!a.is_empty() && missing.is_empty(), || {
            format!("snapshots without a shared encrypted copy: {missing:?}")
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Eni {
    id: String,
    vpc: String,
    groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Interfaces {
    enis: Vec<Eni>,
    /// VPC → the isolation group's id and rule count, where it exists.
    isolation: BTreeMap<String, (String, usize)>,
}

pub(crate) struct IsolateInstance;
impl Act for IsolateInstance {
    type State = Interfaces;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Interfaces, AwsError> {
        let i = instance(cx, &s.target.id).await?;
        let enis: Vec<Eni> = i
            .network_interfaces()
            .iter()
            .map(|n| {
                let mut groups: Vec<String> = n
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id())
                    .map(str::to_string)
                    .collect();
                groups.sort();
                Eni {
                    id: n.network_interface_id().unwrap_or_default().into(),
                    vpc: n.vpc_id().or(i.vpc_id()).unwrap_or_default().into(),
                    groups,
                }
            })
            .collect();
        let mut isolation = BTreeMap::new();
        for vpc in enis
            .iter()
            .map(|e| e.vpc.clone())
            .collect::<std::collections::BTreeSet<_>>()
        {
            use aws_sdk_ec2::types::Filter;
            let out = send!(
                "ec2",
                "DescribeSecurityGroups",
                cx.ec2()
                    .describe_security_groups()
                    .filters(Filter::builder().name("vpc-id").values(&vpc).build())
                    .filters(
                        Filter::builder()
                            .name("group-name")
                            .values(cx.isolation_group())
                            .build()
                    )
            )?;
            if let Some(g) = out.security_groups().first() {
                let rules = g.ip_permissions().len() + g.ip_permissions_egress().len();
                isolation.insert(vpc, (g.group_id().unwrap_or_default().to_string(), rules));
            }
        }
        Ok(Interfaces { enis, isolation })
    }
    fn effect(cx: &Cx<'_>, _: &Step, b: &Interfaces) -> Result<Vec<Call>, String> {
        if b.enis.is_empty() {
            return Err("the instance has no network interface".into());
        }
        let name = cx.isolation_group().to_string();
        let open = format!("{name}-open");
        // Interfaces already in the isolation group alone stay where they are: moving them
        // through the allow-all group again would reopen them.
        let isolated = |e: &Eni| {
            b.isolation
                .get(&e.vpc)
                .is_some_and(|(gid, _)| e.groups == [gid.clone()])
        };
        let pending: Vec<&Eni> = b.enis.iter().filter(|e| !isolated(e)).collect();
        let vpcs: std::collections::BTreeSet<&str> =
            b.enis.iter().map(|e| e.vpc.as_str()).collect();
        let mut calls = Vec::new();
        for vpc in &vpcs {
            match b.isolation.get(*vpc) {
                // A group left with rules (a run killed between creating it and revoking its
                // default egress, or a hand edit) is repaired before anything trusts it.
                Some((gid, rules)) if *rules > 0 => {
                    calls.push(Call::RevokeGroupRules { group: gid.clone() })
                }
                Some(_) => {}
                None => calls.push(Call::EnsureGroup {
                    vpc: vpc.to_string(),
                    name: name.clone(),
                    open: false,
                }),
            }
        }
        let open_vpcs: std::collections::BTreeSet<&str> =
            pending.iter().map(|e| e.vpc.as_str()).collect();
        for vpc in open_vpcs {
            calls.push(Call::EnsureGroup {
                vpc: vpc.to_string(),
                name: open.clone(),
                open: true,
            });
        }
        // Step one: allow-all, so tracked connections become untracked; step two: no rules.
        for group in [&open, &name] {
            for e in &pending {
                calls.push(Call::SetEniGroups {
                    eni: e.id.clone(),
                    groups: vec![GroupRef::Named {
                        vpc: e.vpc.clone(),
                        name: group.clone(),
                    }],
                });
            }
        }
        Ok(calls)
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Interfaces, _: &[Value]) -> Result<(), String> {
        for e in &a.enis {
            let Some((gid, rules)) = a.isolation.get(&e.vpc) else {
                return Err(format!("no isolation group in {}", e.vpc));
            };
            if e.groups != [gid.clone()] {
                return Err(format!(
                    "{} has groups {:?}, not only {gid}",
                    e.id, e.groups
                ));
            }
            if *rules != 0 {
                return Err(format!("isolation group {gid} has {rules} rules"));
            }
        }
        Ok(())
    }
    fn undo(_: &Cx<'_>, _: &Step, b: &Interfaces) -> Vec<Call> {
        b.enis
            .iter()
            .map(|e| Call::SetEniGroups {
                eni: e.id.clone(),
                groups: e.groups.iter().cloned().map(GroupRef::Id).collect(),
            })
            .collect()
    }
    fn restored(before: &Interfaces, now: &Interfaces) -> Result<(), String> {
        check(before.enis == now.enis, || {
            format!("interfaces are {:?}, were {:?}", now.enis, before.enis)
        })
    }
}

pub(crate) struct DetachFromAutoScaling;
impl Act for DetachFromAutoScaling {
    type State = Option<String>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Option<String>, AwsError> {
        let out = send!(
            "autoscaling",
            "DescribeAutoScalingInstances",
            cx.autoscaling()
                .describe_auto_scaling_instances()
                .instance_ids(&s.target.id)
        )?;
        Ok(out
            .auto_scaling_instances()
            .iter()
            .find(|i| i.instance_id() == Some(s.target.id.as_str()))
            .and_then(|i| i.auto_scaling_group_name())
            .map(str::to_string))
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Option<String>) -> Result<Vec<Call>, String> {
        Ok(b.iter()
            .map(|g| Call::DetachFromAsg {
                instance: s.target.id.clone(),
                group: g.clone(),
            })
            .collect())
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Option<String>, _: &[Value]) -> Result<(), String> {
        check(a.is_none(), || format!("still in Auto Scaling group {a:?}"))
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Option<String>) -> Vec<Call> {
        b.iter()
            .map(|g| Call::AttachToAsg {
                instance: s.target.id.clone(),
                group: g.clone(),
            })
            .collect()
    }
}

pub(crate) struct DeregisterFromTargetGroups;
impl Act for DeregisterFromTargetGroups {
    /// (target group ARN, port) pairs routing to the instance.
    type State = Vec<(String, Option<i32>)>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Self::State, AwsError> {
        let groups = send!(
            "elasticloadbalancing",
            "DescribeTargetGroups",
            cx.elbv2().describe_target_groups()
        )?;
        let mut out = Vec::new();
        for g in groups.target_groups() {
            let Some(arn) = g.target_group_arn() else {
                continue;
            };
            let health = send!(
                "elasticloadbalancing",
                "DescribeTargetHealth",
                cx.elbv2().describe_target_health().target_group_arn(arn)
            )?;
            for d in health.target_health_descriptions() {
                if let Some(t) = d.target().filter(|t| t.id() == Some(s.target.id.as_str())) {
                    out.push((arn.to_string(), t.port()));
                }
            }
        }
        out.sort();
        Ok(out)
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Self::State) -> Result<Vec<Call>, String> {
        Ok(b.iter()
            .map(|(arn, port)| Call::DeregisterTarget {
                group_arn: arn.clone(),
                instance: s.target.id.clone(),
                port: *port,
            })
            .collect())
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Self::State, _: &[Value]) -> Result<(), String> {
        check(a.is_empty(), || format!("still registered in {a:?}"))
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Self::State) -> Vec<Call> {
        b.iter()
            .map(|(arn, port)| Call::RegisterTarget {
                group_arn: arn.clone(),
                instance: s.target.id.clone(),
                port: *port,
            })
            .collect()
    }
}

pub(crate) struct RemoveInstanceProfile;
impl Act for RemoveInstanceProfile {
    /// (association id, profile ARN).
    type State = Option<(String, String)>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Self::State, AwsError> {
        profile_association(cx, &s.target.id).await
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Self::State) -> Result<Vec<Call>, String> {
        Ok(match (b, param(s, "profile")) {
            (_, Some(p)) => vec![Call::SetInstanceProfile {
                instance: s.target.id.clone(),
                profile_arn: p.into(),
            }],
            (Some((assoc, _)), None) => vec![Call::DisassociateProfile {
                association: assoc.clone(),
            }],
            (None, None) => Vec::new(),
        })
    }
    fn holds(_: &Cx<'_>, s: &Step, a: &Self::State, _: &[Value]) -> Result<(), String> {
        match param(s, "profile") {
            Some(p) => check(a.as_ref().is_some_and(|(_, arn)| arn == p), || {
                format!("profile is {a:?}")
            }),
            None => check(a.is_none(), || format!("still associated: {a:?}")),
        }
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Self::State) -> Vec<Call> {
        b.iter()
            .map(|(_, arn)| Call::SetInstanceProfile {
                instance: s.target.id.clone(),
                profile_arn: arn.clone(),
            })
            .collect()
    }
    fn restored(before: &Self::State, now: &Self::State) -> Result<(), String> {
        // A new association has a new id; the profile is what must match.
        check(
            before.as_ref().map(|b| &b.1) == now.as_ref().map(|n| &n.1),
            || format!("profile is {now:?}, was {before:?}"),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Imds {
    tokens: String,
    endpoint: String,
}

pub(crate) struct RestrictImds;
impl Act for RestrictImds {
    type State = Imds;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Imds, AwsError> {
        let i = instance(cx, &s.target.id).await?;
        let m = i.metadata_options();
        Ok(Imds {
            tokens: m
                .and_then(|m| m.http_tokens())
                .map_or("optional", |t| t.as_str())
                .to_string(),
            endpoint: m
                .and_then(|m| m.http_endpoint())
                .map_or("enabled", |t| t.as_str())
                .to_string(),
        })
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Imds) -> Result<Vec<Call>, String> {
        let endpoint = if disable(s) {
            "disabled"
        } else {
            b.endpoint.as_str()
        };
        Ok(vec![Call::SetMetadataOptions {
            instance: s.target.id.clone(),
            tokens: "required".into(),
            endpoint: endpoint.into(),
        }])
    }
    fn holds(_: &Cx<'_>, s: &Step, a: &Imds, _: &[Value]) -> Result<(), String> {
        check(
            a.tokens == "required" && (!disable(s) || a.endpoint == "disabled"),
            || format!("{a:?}"),
        )
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Imds) -> Vec<Call> {
        vec![Call::SetMetadataOptions {
            instance: s.target.id.clone(),
            tokens: b.tokens.clone(),
            endpoint: b.endpoint.clone(),
        }]
    }
}

fn disable(s: &Step) -> bool {
    s.params
        .get("disable")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SubnetAcl {
    subnet: String,
    vpc: String,
    acl: String,
    quarantine: Option<String>,
}

pub(crate) struct QuarantineSubnet;
impl Act for QuarantineSubnet {
    type State = SubnetAcl;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<SubnetAcl, AwsError> {
        let i = instance(cx, &s.target.id).await?;
        let subnet = i.subnet_id().unwrap_or_default().to_string();
        let vpc = i.vpc_id().unwrap_or_default().to_string();
        let (_, acl) = subnet_acl(cx, &subnet).await?;
        let quarantine = super::call::quarantine_acl(cx, &vpc).await?;
        Ok(SubnetAcl {
            subnet,
            vpc,
            acl,
            quarantine,
        })
    }
    fn effect(_: &Cx<'_>, _: &Step, b: &SubnetAcl) -> Result<Vec<Call>, String> {
        Ok(vec![
            Call::EnsureQuarantineAcl { vpc: b.vpc.clone() },
            Call::SetSubnetAcl {
                subnet: b.subnet.clone(),
                acl: AclRef::Quarantine { vpc: b.vpc.clone() },
            },
        ])
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &SubnetAcl, _: &[Value]) -> Result<(), String> {
        check(a.quarantine.as_ref() == Some(&a.acl), || {
            format!("subnet {} uses {}", a.subnet, a.acl)
        })
    }
    fn undo(_: &Cx<'_>, _: &Step, b: &SubnetAcl) -> Vec<Call> {
        vec![Call::SetSubnetAcl {
            subnet: b.subnet.clone(),
            acl: AclRef::Id(b.acl.clone()),
        }]
    }
    fn restored(before: &SubnetAcl, now: &SubnetAcl) -> Result<(), String> {
        check(before.acl == now.acl, || {
            format!("subnet uses {}, used {}", now.acl, before.acl)
        })
    }
}

pub(crate) struct StopInstance;
impl Act for StopInstance {
    type State = String;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<String, AwsError> {
        let i = instance(cx, &s.target.id).await?;
        Ok(i.state()
            .and_then(|s| s.name())
            .map_or("unknown", |n| n.as_str())
            .to_string())
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &String) -> Result<Vec<Call>, String> {
        Ok(if matches!(b.as_str(), "running" | "pending") {
            vec![Call::StopInstance {
                instance: s.target.id.clone(),
            }]
        } else {
            Vec::new()
        })
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &String, _: &[Value]) -> Result<(), String> {
        check(matches!(a.as_str(), "stopping" | "stopped"), || {
            format!("instance is {a}")
        })
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &String) -> Vec<Call> {
        if matches!(b.as_str(), "running" | "pending") {
            vec![Call::StartInstance {
                instance: s.target.id.clone(),
            }]
        } else {
            Vec::new()
        }
    }
    fn restored(before: &String, now: &String) -> Result<(), String> {
        let up = |s: &str| matches!(s, "running" | "pending");
        check(up(before) == up(now), || {
            format!("instance is {now}, was {before}")
        })
    }
}

/// Removes every outside permission from a snapshot (`IMAGE = false`) or an AMI.
pub(crate) struct Unshare<const IMAGE: bool>;

impl<const IMAGE: bool> Unshare<IMAGE> {
    const KIND: Shareable = if IMAGE {
        Shareable::Image
    } else {
        Shareable::Snapshot
    };

    fn call(s: &Step, add: bool, with: &Sharing) -> Vec<Call> {
        if with.is_empty() {
            return Vec::new();
        }
        vec![Call::Share {
            kind: Self::KIND,
            id: s.target.id.clone(),
            add,
            with: with.clone(),
        }]
    }
}

impl<const IMAGE: bool> Act for Unshare<IMAGE> {
    type State = Sharing;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Sharing, AwsError> {
        use aws_sdk_ec2::types::{ImageAttributeName, SnapshotAttributeName};
        let id = &s.target.id;
        // (account, everyone) per permission.
        let perms: Vec<(Option<String>, bool)> = if IMAGE {
            let out = send!(
                "ec2",
                "DescribeImageAttribute",
                cx.ec2()
                    .describe_image_attribute()
                    .image_id(id)
                    .attribute(ImageAttributeName::LaunchPermission)
            )?;
            out.launch_permissions()
                .iter()
                .map(|p| (p.user_id().map(str::to_string), p.group().is_some()))
                .collect()
        } else {
            let out = send!(
                "ec2",
                "DescribeSnapshotAttribute",
                cx.ec2()
                    .describe_snapshot_attribute()
                    .snapshot_id(id)
                    .attribute(SnapshotAttributeName::CreateVolumePermission)
            )?;
            out.create_volume_permissions()
                .iter()
                .map(|p| (p.user_id().map(str::to_string), p.group().is_some()))
                .collect()
        };
        let mut sh = Sharing::default();
        for (account, everyone) in perms {
            sh.accounts.extend(account);
            sh.public |= everyone;
        }
        sh.accounts.sort();
        Ok(sh)
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Sharing) -> Result<Vec<Call>, String> {
        Ok(Self::call(s, false, b))
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Sharing, _: &[Value]) -> Result<(), String> {
        check(a.is_empty(), || format!("still shared: {a:?}"))
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Sharing) -> Vec<Call> {
        Self::call(s, true, b)
    }
}

pub(crate) struct RestoreFlowLogs;
impl Act for RestoreFlowLogs {
    /// VPCs of the region without an active flow log.
    type State = Vec<String>;
    async fn read(cx: &Cx<'_>, _: &Step) -> Result<Vec<String>, AwsError> {
        let vpcs = send!("ec2", "DescribeVpcs", cx.ec2().describe_vpcs())?;
        let logs = send!("ec2", "DescribeFlowLogs", cx.ec2().describe_flow_logs())?;
        let covered: std::collections::BTreeSet<&str> = logs
            .flow_logs()
            .iter()
            .filter(|f| {
                f.flow_log_status()
                    .is_none_or(|s| s.eq_ignore_ascii_case("ACTIVE"))
            })
            .filter_map(|f| f.resource_id())
            .collect();
        let mut out: Vec<String> = vpcs
            .vpcs()
            .iter()
            .filter_map(|v| v.vpc_id())
            .filter(|v| !covered.contains(v))
            .map(str::to_string)
            .collect();
        out.sort();
        Ok(out)
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Vec<String>) -> Result<Vec<Call>, String> {
        if b.is_empty() {
            return Ok(Vec::new());
        }
        let bucket_arn = param(s, "bucket_arn").map(str::to_string);
        let role_arn = param(s, "role_arn").map(str::to_string).or_else(|| {
            Some(format!(
                "arn:aws:iam::{}:role/{}",
                s.target.account,
                param(s, "role").unwrap_or("flow-logs-delivery")
            ))
        });
        Ok(vec![Call::CreateFlowLogs {
            vpcs: b.clone(),
            log_group: param(s, "log_group").map(str::to_string),
            role_arn: if bucket_arn.is_some() { None } else { role_arn },
            bucket_arn,
        }])
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Vec<String>, _: &[Value]) -> Result<(), String> {
        check(a.is_empty(), || format!("VPCs without flow logs: {a:?}"))
    }
}

// --- IAM ---------------------------------------------------------------------------------

pub(crate) struct DeactivateAccessKey;
impl Act for DeactivateAccessKey {
    type State = Option<String>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Option<String>, AwsError> {
        let user = s.target.parent.as_deref().unwrap_or_default();
        let out = send!(
            "iam",
            "ListAccessKeys",
            cx.iam().list_access_keys().user_name(user)
        )?;
        let status = out
            .access_key_metadata()
            .iter()
            .find(|k| k.access_key_id() == Some(s.target.id.as_str()))
            .map(|k| k.status().map_or("Active", |st| st.as_str()).to_string());
        match status {
            Some(st) => Ok(Some(st)),
            None => Err(AwsError::Call {
                service: "iam",
                operation: "ListAccessKeys",
                code: Some("NoSuchEntity".into()),
                message: format!("user {user} has no access key {}", s.target.id),
            }),
        }
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Option<String>) -> Result<Vec<Call>, String> {
        let Some(user) = &s.target.parent else {
            return Err(format!("access key {} has no known user", s.target.id));
        };
        if b.is_none() {
            return Err(format!("user {user} has no access key {}", s.target.id));
        }
        Ok(vec![Call::SetAccessKeyStatus {
            user: user.clone(),
            key: s.target.id.clone(),
            status: "Inactive".into(),
        }])
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Option<String>, _: &[Value]) -> Result<(), String> {
        check(a.as_deref() == Some("Inactive"), || {
            format!("key status is {a:?}")
        })
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Option<String>) -> Vec<Call> {
        match (b, &s.target.parent) {
            (Some(status), Some(user)) => vec![Call::SetAccessKeyStatus {
                user: user.clone(),
                key: s.target.id.clone(),
                status: status.clone(),
            }],
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LoginProfile {
    exists: bool,
}

pub(crate) struct DeleteLoginProfile;
impl Act for DeleteLoginProfile {
    type State = LoginProfile;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<LoginProfile, AwsError> {
        match send!(
            "iam",
            "GetLoginProfile",
            cx.iam().get_login_profile().user_name(&s.target.id)
        ) {
            Ok(_) => Ok(LoginProfile { exists: true }),
            Err(e) if not_found(&e, &["NoSuchEntity"]) => Ok(LoginProfile { exists: false }),
            Err(e) => Err(e),
        }
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &LoginProfile) -> Result<Vec<Call>, String> {
        Ok(if b.exists {
            vec![Call::DeleteLoginProfile {
                user: s.target.id.clone(),
            }]
        } else {
            Vec::new()
        })
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &LoginProfile, _: &[Value]) -> Result<(), String> {
        check(!a.exists, || "the login profile still exists".into())
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &LoginProfile) -> Vec<Call> {
        if b.exists {
            vec![Call::CreateLoginProfile {
                user: s.target.id.clone(),
            }]
        } else {
            Vec::new()
        }
    }
}

/// An inline policy of a user or role, by name: its document when present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Inline {
    document: Option<Value>,
}

#[derive(Clone, Copy)]
enum Holder {
    User,
    Role,
}

#[derive(Clone, Copy)]
enum Policy {
    DenyAll,
    RevokeSessions,
}

fn inline_name(p: Policy, h: Holder, cx: &Cx<'_>) -> String {
    match (p, h) {
        (Policy::RevokeSessions, Holder::Role) => "AWSRevokeOlderSessions".into(),
        (Policy::RevokeSessions, Holder::User) => {
            format!("FirebreakRevokeSessions-case-{}", cx.case)
        }
        (Policy::DenyAll, _) => format!("FirebreakDenyAll-case-{}", cx.case),
    }
}

fn inline_document(p: Policy, cx: &Cx<'_>) -> Value {
    match p {
        Policy::DenyAll => json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "FirebreakDenyAll", "Effect": "Deny", "Action": "*", "Resource": "*"}]}),
        Policy::RevokeSessions => json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "FirebreakRevokeOlderSessions", "Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"DateLessThan": {"aws:TokenIssueTime": model::time::format_iso(cx.now_ms)}}}]}),
    }
}

async fn read_inline(cx: &Cx<'_>, h: Holder, who: &str, name: &str) -> Result<Inline, AwsError> {
    let doc = match h {
        Holder::User => send!(
            "iam",
            "GetUserPolicy",
            cx.iam().get_user_policy().user_name(who).policy_name(name)
        )
        .map(|o| o.policy_document().to_string()),
        Holder::Role => send!(
            "iam",
            "GetRolePolicy",
            cx.iam().get_role_policy().role_name(who).policy_name(name)
        )
        .map(|o| o.policy_document().to_string()),
    };
    match doc {
        Ok(d) => Ok(Inline {
            document: Some(policy_json(&d)),
        }),
        Err(e) if not_found(&e, &["NoSuchEntity"]) => Ok(Inline { document: None }),
        Err(e) => Err(e),
    }
}

fn put_inline(h: Holder, who: &str, name: String, document: String) -> Call {
    match h {
        Holder::User => Call::PutUserPolicy {
            user: who.into(),
            name,
            document,
        },
        Holder::Role => Call::PutRolePolicy {
            role: who.into(),
            name,
            document,
        },
    }
}

fn inline_undo(h: Holder, who: &str, name: String, before: &Inline) -> Vec<Call> {
    match &before.document {
        Some(d) => vec![put_inline(h, who, name, d.to_string())],
        None => vec![match h {
            Holder::User => Call::DeleteUserPolicy {
                user: who.into(),
                name,
            },
            Holder::Role => Call::DeleteRolePolicy {
                role: who.into(),
                name,
            },
        }],
    }
}

fn inline_holds(p: Policy, a: &Inline) -> Result<(), String> {
    let sid = match p {
        Policy::DenyAll => "FirebreakDenyAll",
        Policy::RevokeSessions => "FirebreakRevokeOlderSessions",
    };
    let ok = a.document.as_ref().is_some_and(|d| {
        d["Statement"]
            .as_array()
            .is_some_and(|st| st.iter().any(|s| s["Sid"] == sid && s["Effect"] == "Deny"))
    });
    check(ok, || {
        format!("the {sid} statement is not in place: {:?}", a.document)
    })
}

macro_rules! inline_action {
    ($name:ident, $holder:expr, $policy:expr) => {
        pub(crate) struct $name;
        impl Act for $name {
            type State = Inline;
            async fn read(cx: &Cx<'_>, s: &Step) -> Result<Inline, AwsError> {
                read_inline(
                    cx,
                    $holder,
                    &s.target.id,
                    &inline_name($policy, $holder, cx),
                )
                .await
            }
            fn effect(cx: &Cx<'_>, s: &Step, _: &Inline) -> Result<Vec<Call>, String> {
                let doc = inline_document($policy, cx).to_string();
                Ok(vec![put_inline(
                    $holder,
                    &s.target.id,
                    inline_name($policy, $holder, cx),
                    doc,
                )])
            }
            fn holds(_: &Cx<'_>, _: &Step, a: &Inline, _: &[Value]) -> Result<(), String> {
                inline_holds($policy, a)
            }
            fn undo(cx: &Cx<'_>, s: &Step, b: &Inline) -> Vec<Call> {
                inline_undo($holder, &s.target.id, inline_name($policy, $holder, cx), b)
            }
        }
    };
}

inline_action!(DenyAllUser, Holder::User, Policy::DenyAll);
inline_action!(RevokeUserSessions, Holder::User, Policy::RevokeSessions);
inline_action!(DenyAllRole, Holder::Role, Policy::DenyAll);
inline_action!(RevokeRoleSessions, Holder::Role, Policy::RevokeSessions);

pub(crate) struct RestrictRoleTrust;

/// Whether a trust statement lets in someone outside `account` (another account, or anyone).
fn foreign(statement: &Value, account: &str) -> bool {
    let principals: Vec<&str> = match &statement["Principal"] {
        Value::String(s) => vec![s.as_str()],
        p => match &p["AWS"] {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        },
    };
    principals.iter().any(|p| {
        *p == "*" || {
            let acct = if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
                Some(*p)
            } else {
                model::entity::arn_account(p)
            };
            acct.is_some_and(|a| a != account)
        }
    })
}

impl Act for RestrictRoleTrust {
    type State = Value;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Value, AwsError> {
        let out = send!(
            "iam",
            "GetRole",
            cx.iam().get_role().role_name(&s.target.id)
        )?;
        let doc = out
            .role()
            .and_then(|r| r.assume_role_policy_document())
            .unwrap_or("{}");
        Ok(policy_json(doc))
    }
    fn effect(cx: &Cx<'_>, s: &Step, b: &Value) -> Result<Vec<Call>, String> {
        let statements = b["Statement"].as_array().cloned().unwrap_or_default();
        let (drop, mut keep): (Vec<Value>, Vec<Value>) = statements
            .into_iter()
            .partition(|st| foreign(st, &s.target.account));
        if drop.is_empty() {
            return Ok(Vec::new());
        }
        if keep.is_empty() {
            keep.push(json!({"Sid": "FirebreakResponderOnly", "Effect": "Allow",
                "Principal": {"AWS": cx.responder_arn(&s.target.account)}, "Action": "sts:AssumeRole"}));
        }
        let doc =
            json!({"Version": b["Version"].as_str().unwrap_or("2012-10-17"), "Statement": keep});
        Ok(vec![Call::SetTrustPolicy {
            role: s.target.id.clone(),
            document: doc.to_string(),
        }])
    }
    fn holds(_: &Cx<'_>, s: &Step, a: &Value, _: &[Value]) -> Result<(), String> {
        let bad: Vec<&Value> = a["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|st| st["Effect"] == "Allow" && foreign(st, &s.target.account))
            .collect();
        check(bad.is_empty(), || {
            format!("trust still admits outsiders: {bad:?}")
        })
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Value) -> Vec<Call> {
        vec![Call::SetTrustPolicy {
            role: s.target.id.clone(),
            document: b.to_string(),
        }]
    }
}

pub(crate) struct CaptureCredentialReport;
impl Act for CaptureCredentialReport {
    type State = ();
    async fn read(_: &Cx<'_>, _: &Step) -> Result<(), AwsError> {
        Ok(())
    }
    fn effect(_: &Cx<'_>, _: &Step, _: &()) -> Result<Vec<Call>, String> {
        Ok(vec![Call::CaptureCredentialReport])
    }
    fn holds(_: &Cx<'_>, _: &Step, _: &(), outputs: &[Value]) -> Result<(), String> {
        check(
            outputs
                .iter()
                .any(|o| o["report"].as_str().is_some_and(|r| !r.is_empty())),
            || "the credential report is empty".into(),
        )
    }
}

// --- S3 ----------------------------------------------------------------------------------

pub(crate) struct BlockPublicAccess;
impl Act for BlockPublicAccess {
    type State = Option<[bool; 4]>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Self::State, AwsError> {
        match send!(
            "s3",
            "GetPublicAccessBlock",
            cx.s3().get_public_access_block().bucket(&s.target.id)
        ) {
            Ok(o) => Ok(o.public_access_block_configuration().map(|c| {
                [
                    c.block_public_acls().unwrap_or(false),
                    c.ignore_public_acls().unwrap_or(false),
                    c.block_public_policy().unwrap_or(false),
                    c.restrict_public_buckets().unwrap_or(false),
                ]
            })),
            Err(e) if not_found(&e, &["NoSuchPublicAccessBlockConfiguration"]) => Ok(None),
            Err(e) => Err(e),
        }
    }
    fn effect(_: &Cx<'_>, s: &Step, _: &Self::State) -> Result<Vec<Call>, String> {
        Ok(vec![Call::PutPublicAccessBlock {
            bucket: s.target.id.clone(),
            settings: [true; 4],
        }])
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Self::State, _: &[Value]) -> Result<(), String> {
        check(*a == Some([true; 4]), || {
            format!("public access block is {a:?}")
        })
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Self::State) -> Vec<Call> {
        vec![match b {
            Some(settings) => Call::PutPublicAccessBlock {
                bucket: s.target.id.clone(),
                settings: *settings,
            },
            None => Call::DeletePublicAccessBlock {
                bucket: s.target.id.clone(),
            },
        }]
    }
}

pub(crate) struct EnableVersioning;
impl Act for EnableVersioning {
    type State = Option<String>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Option<String>, AwsError> {
        let out = send!(
            "s3",
            "GetBucketVersioning",
            cx.s3_versioning()
                .get_bucket_versioning()
                .bucket(&s.target.id)
        )?;
        Ok(out.status().map(|st| st.as_str().to_string()))
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Option<String>) -> Result<Vec<Call>, String> {
        Ok(if b.as_deref() == Some("Enabled") {
            Vec::new()
        } else {
            vec![Call::SetVersioning {
                bucket: s.target.id.clone(),
                status: "Enabled".into(),
            }]
        })
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Option<String>, _: &[Value]) -> Result<(), String> {
        check(a.as_deref() == Some("Enabled"), || {
            format!("versioning is {a:?}")
        })
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Option<String>) -> Vec<Call> {
        if b.as_deref() == Some("Enabled") {
            Vec::new()
        } else {
            vec![Call::SetVersioning {
                bucket: s.target.id.clone(),
                status: "Suspended".into(),
            }]
        }
    }
    fn restored(before: &Option<String>, now: &Option<String>) -> Result<(), String> {
        // Versioning never returns to "never enabled": suspended is the closest state.
        let off = |s: &Option<String>| s.as_deref() != Some("Enabled");
        check(off(before) == off(now), || {
            format!("versioning is {now:?}, was {before:?}")
        })
    }
}

pub(crate) struct LockBucketPolicy;
impl Act for LockBucketPolicy {
    type State = Option<Value>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Option<Value>, AwsError> {
        match send!(
            "s3",
            "GetBucketPolicy",
            cx.s3().get_bucket_policy().bucket(&s.target.id)
        ) {
            Ok(o) => Ok(o.policy().map(policy_json)),
            Err(e) if not_found(&e, &["NoSuchBucketPolicy"]) => Ok(None),
            Err(e) => Err(e),
        }
    }
    fn effect(cx: &Cx<'_>, s: &Step, _: &Option<Value>) -> Result<Vec<Call>, String> {
        let b = &s.target.id;
        let policy = json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "FirebreakIncidentLock", "Effect": "Deny", "Principal": "*",
            "NotAction": ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
            "Resource": [format!("arn:aws:s3:::{b}"), format!("arn:aws:s3:::{b}/*")],
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": cx.responder_arn(&s.target.account)}}}]});
        Ok(vec![Call::PutBucketPolicy {
            bucket: b.clone(),
            policy: policy.to_string(),
        }])
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Option<Value>, _: &[Value]) -> Result<(), String> {
        let ok = a.as_ref().is_some_and(|p| {
            p["Statement"]
                .as_array()
                .is_some_and(|st| st.iter().any(|s| s["Sid"] == "FirebreakIncidentLock"))
        });
        check(ok, || format!("bucket policy is {a:?}"))
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Option<Value>) -> Vec<Call> {
        vec![match b {
            Some(p) => Call::PutBucketPolicy {
                bucket: s.target.id.clone(),
                policy: p.to_string(),
            },
            None => Call::DeleteBucketPolicy {
                bucket: s.target.id.clone(),
            },
        }]
    }
}

// --- Lambda ------------------------------------------------------------------------------

pub(crate) struct ZeroConcurrency;
impl Act for ZeroConcurrency {
    type State = Option<i32>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Option<i32>, AwsError> {
        let out = send!(
            "lambda",
            "GetFunctionConcurrency",
            cx.lambda()
                .get_function_concurrency()
                .function_name(&s.target.id)
        )?;
        Ok(out.reserved_concurrent_executions())
    }
    fn effect(_: &Cx<'_>, s: &Step, _: &Option<i32>) -> Result<Vec<Call>, String> {
        Ok(vec![Call::SetConcurrency {
            function: s.target.id.clone(),
            reserved: Some(0),
        }])
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Option<i32>, _: &[Value]) -> Result<(), String> {
        check(*a == Some(0), || format!("reserved concurrency is {a:?}"))
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Option<i32>) -> Vec<Call> {
        vec![Call::SetConcurrency {
            function: s.target.id.clone(),
            reserved: *b,
        }]
    }
}

/// A Lambda resource-policy statement, as AddPermission takes it.
pub(crate) struct LambdaGrant {
    pub sid: String,
    pub action: String,
    pub principal: String,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
}

impl LambdaGrant {
    pub(crate) fn from_statement(st: &Value) -> LambdaGrant {
        let principal = match &st["Principal"] {
            Value::String(s) => s.clone(),
            p => p["AWS"]
                .as_str()
                .or(p["Service"].as_str())
                .unwrap_or("*")
                .to_string(),
        };
        let cond = &st["Condition"];
        LambdaGrant {
            sid: st["Sid"].as_str().unwrap_or_default().to_string(),
            action: st["Action"]
                .as_str()
                .unwrap_or("lambda:InvokeFunction")
                .to_string(),
            principal,
            source_arn: cond["ArnLike"]["AWS:SourceArn"]
                .as_str()
                .map(str::to_string),
            source_account: cond["StringEquals"]["AWS:SourceAccount"]
                .as_str()
                .map(str::to_string),
        }
    }
}

pub(crate) struct RemovePublicPermissions;
impl Act for RemovePublicPermissions {
    /// The statements that let anyone or another account invoke the function.
    type State = Vec<Value>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Vec<Value>, AwsError> {
        let policy = match send!(
            "lambda",
            "GetPolicy",
            cx.lambda().get_policy().function_name(&s.target.id)
        ) {
            Ok(o) => o.policy().map(policy_json).unwrap_or(Value::Null),
            Err(e) if not_found(&e, &["ResourceNotFoundException"]) => Value::Null,
            Err(e) => return Err(e),
        };
        let mut out: Vec<Value> = policy["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|st| st["Effect"] == "Allow" && foreign(st, &s.target.account))
            .cloned()
            .collect();
        out.sort_by_key(|st| st["Sid"].as_str().unwrap_or_default().to_string());
        Ok(out)
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Vec<Value>) -> Result<Vec<Call>, String> {
        Ok(b.iter()
            .map(|st| Call::RemovePermission {
                function: s.target.id.clone(),
                sid: st["Sid"].as_str().unwrap_or_default().to_string(),
            })
            .collect())
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Vec<Value>, _: &[Value]) -> Result<(), String> {
        check(a.is_empty(), || format!("public statements remain: {a:?}"))
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Vec<Value>) -> Vec<Call> {
        b.iter()
            .map(|st| Call::AddPermission {
                function: s.target.id.clone(),
                statement: st.clone(),
            })
            .collect()
    }
    fn restored(before: &Vec<Value>, now: &Vec<Value>) -> Result<(), String> {
        let sids = |v: &Vec<Value>| v.iter().map(|s| s["Sid"].clone()).collect::<Vec<_>>();
        check(sids(before) == sids(now), || {
            format!("statements are {now:?}, were {before:?}")
        })
    }
}

// --- Organizations, CloudTrail, GuardDuty ------------------------------------------------

pub(crate) struct QuarantineAccount;
impl Act for QuarantineAccount {
    type State = bool;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<bool, AwsError> {
        let out = send!(
            "organizations",
            "ListPoliciesForTarget",
            cx.organizations()
                .list_policies_for_target()
                .target_id(&s.target.id)
                .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        )?;
        Ok(out
            .policies()
            .iter()
            .any(|p| p.name() == Some(super::call::QUARANTINE_SCP)))
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &bool) -> Result<Vec<Call>, String> {
        if s.target.parent.is_none() {
            return Err(
                "the IR plan names no [aws] management_account to attach the SCP from".into(),
            );
        }
        Ok(if *b {
            Vec::new()
        } else {
            vec![
                Call::EnsureQuarantineScp,
                Call::AttachScp {
                    target: s.target.id.clone(),
                },
            ]
        })
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &bool, _: &[Value]) -> Result<(), String> {
        check(*a, || "the quarantine SCP is not attached".into())
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &bool) -> Vec<Call> {
        if *b {
            Vec::new()
        } else {
            vec![Call::DetachScp {
                target: s.target.id.clone(),
            }]
        }
    }
}

pub(crate) struct StartLogging;
impl Act for StartLogging {
    type State = bool;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<bool, AwsError> {
        let out = send!(
            "cloudtrail",
            "GetTrailStatus",
            cx.cloudtrail().get_trail_status().name(&s.target.id)
        )?;
        Ok(out.is_logging().unwrap_or(false))
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &bool) -> Result<Vec<Call>, String> {
        Ok(if *b {
            Vec::new()
        } else {
            vec![Call::StartLogging {
                trail: s.target.id.clone(),
            }]
        })
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &bool, _: &[Value]) -> Result<(), String> {
        check(*a, || "the trail is not logging".into())
    }
}

pub(crate) struct EnableGuardDuty;
impl Act for EnableGuardDuty {
    /// The region's detector and whether it is enabled.
    type State = Option<(String, bool)>;
    async fn read(cx: &Cx<'_>, _: &Step) -> Result<Self::State, AwsError> {
        let gd = cx.guardduty();
        let list = send!("guardduty", "ListDetectors", gd.list_detectors())?;
        let Some(id) = list.detector_ids().first() else {
            return Ok(None);
        };
        let d = send!(
            "guardduty",
            "GetDetector",
            gd.get_detector().detector_id(id)
        )?;
        let on = d
            .status()
            .is_some_and(|s| s.as_str().eq_ignore_ascii_case("ENABLED"));
        Ok(Some((id.clone(), on)))
    }
    fn effect(_: &Cx<'_>, _: &Step, b: &Self::State) -> Result<Vec<Call>, String> {
        Ok(match b {
            Some((_, true)) => Vec::new(),
            Some((id, false)) => vec![Call::EnableGuardDuty {
                detector: Some(id.clone()),
            }],
            None => vec![Call::EnableGuardDuty { detector: None }],
        })
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Self::State, _: &[Value]) -> Result<(), String> {
        check(matches!(a, Some((_, true))), || {
            format!("detector is {a:?}")
        })
    }
}
