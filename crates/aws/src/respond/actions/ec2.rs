//! EC2 resources beyond instances: snapshot and image sharing, flow logs.

use super::*;

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
