//! Response playbooks as data. A [`Playbook`] (YAML, bundled or a team's own) is bound to
//! a case's resources ([`bind`]) and [`plan`]ned into concrete steps; an approved plan
//! ([`approve`]) is what the AWS adapter runs. Pure: no IO, no clock, no AWS.

pub mod action;
pub mod approve;
pub mod bind;
pub mod iam;
pub mod plan;
pub mod spec;
pub mod target;

pub use action::{Action, Class};
pub use approve::{Approval, ApprovalKind, ApprovalRule, ApprovedPlan, Pending, approve};
pub use bind::{Bindings, Exclusions, bind};
pub use plan::{PlanError, Request, ResponsePlan, Settings, Step, plan};
pub use spec::{OnFailure, Playbook, SpecError, parse};
pub use target::{Target, TargetKind};

/// The bundled playbooks: (name, YAML).
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "iam-user-access-key-compromise",
        include_str!("../../../playbooks/iam-user-access-key-compromise.yaml"),
    ),
    (
        "role-credentials-compromise",
        include_str!("../../../playbooks/role-credentials-compromise.yaml"),
    ),
    (
        "ec2-instance-compromise",
        include_str!("../../../playbooks/ec2-instance-compromise.yaml"),
    ),
    (
        "s3-public-or-exfiltration",
        include_str!("../../../playbooks/s3-public-or-exfiltration.yaml"),
    ),
    (
        "snapshot-ami-shared-out",
        include_str!("../../../playbooks/snapshot-ami-shared-out.yaml"),
    ),
    (
        "logging-tampering",
        include_str!("../../../playbooks/logging-tampering.yaml"),
    ),
    (
        "root-account-use",
        include_str!("../../../playbooks/root-account-use.yaml"),
    ),
    (
        "crypto-mining-instance",
        include_str!("../../../playbooks/crypto-mining-instance.yaml"),
    ),
    (
        "lambda-backdoor",
        include_str!("../../../playbooks/lambda-backdoor.yaml"),
    ),
    (
        "evidence-collection",
        include_str!("../../../playbooks/evidence-collection.yaml"),
    ),
];

/// The bundled playbooks, parsed (they are validated by the test suite).
pub fn bundled() -> Vec<Playbook> {
    BUNDLED
        .iter()
        .map(|(name, text)| {
            parse(text, &format!("playbooks/{name}.yaml"))
                .unwrap_or_else(|e| panic!("bundled playbook {name} is invalid: {e:?}"))
        })
        .collect()
}
