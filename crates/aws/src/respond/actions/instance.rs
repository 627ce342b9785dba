//! Containing an EC2 instance: tagging, protection, volatile evidence, snapshots and their forensic
//! copies, isolation, Auto Scaling and target groups, instance profiles, IMDS, subnet quarantine,
//! stopping.

use super::*;

pub(crate) const CASE_TAG: &str = "firebreak:case";
/// On an evidence copy: the snapshot it copies.
pub(crate) const COPY_TAG: &str = "firebreak:copy-of";
pub(crate) const STATUS_TAG: &str = "firebreak:status";

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
                (Some(c), Some(fx)) => crate::respond::call::shared_with(cx, c)
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

pub(crate) fn disable(s: &Step) -> bool {
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
        let quarantine = crate::respond::call::quarantine_acl(cx, &vpc).await?;
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
