//! Each response action: how it reads the state it changes (its before-state), the calls
//! that change it, how the new state is proven, and the calls that undo it.

mod account;
mod ec2;
mod iam;
mod instance;
mod lambda_fn;
mod s3;

pub(crate) use {account::*, ec2::*, iam::*, instance::*, lambda_fn::*, s3::*};

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
