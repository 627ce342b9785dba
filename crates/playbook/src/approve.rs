//! Approval: who may let a plan run. The IR plan's level for the case names the roles
//! that approve and how many distinct people must; steps may demand one more role. An
//! [`ApprovedPlan`] can only be made here, and only for the exact plan approved.

use crate::plan::Plan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What a plan's approval takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRule {
    /// Roles whose members may approve; empty: anyone.
    pub roles: Vec<String>,
    /// Distinct approvers needed.
    pub count: u32,
}

impl Default for ApprovalRule {
    fn default() -> Self {
        ApprovalRule {
            roles: Vec::new(),
            count: 1,
        }
    }
}

impl ApprovalRule {
    /// The rule of an IR plan level: its `approval`, else the roles responsible or
    /// accountable for containment, one approver.
    pub fn from_plan(ir: &plan::Plan, level: Option<&str>) -> ApprovalRule {
        if let Some(a) = level
            .and_then(|l| ir.level(l))
            .and_then(|l| l.approval.as_ref())
        {
            return ApprovalRule {
                roles: a.roles.iter().map(|r| r.value.clone()).collect(),
                count: a.count.value.max(1),
            };
        }
        let roles = ir
            .roles
            .iter()
            .filter(|r| {
                r.raci
                    .get(&plan::PhaseName::Contain)
                    .is_some_and(|l| l.value.contains('A') || l.value.contains('R'))
            })
            .map(|r| r.id.value.clone())
            .collect();
        ApprovalRule { roles, count: 1 }
    }
}

/// The roles `who` (a contact id) fills in the IR plan.
pub fn roles_of(ir: &plan::Plan, who: &str) -> Vec<String> {
    ir.roles
        .iter()
        .filter(|r| r.members.iter().any(|m| m.value == who))
        .map(|r| r.id.value.clone())
        .collect()
}

/// One person's approval of one plan digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub by: String,
    /// The roles the approver held when approving.
    pub roles: Vec<String>,
    pub at_ms: i64,
    pub plan_digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("the approval is for another version of the plan (digest {found}, plan is {expected})")]
    WrongPlan { expected: String, found: String },
    #[error("{by} may not approve: approval needs one of the roles {needed:?} (holds {held:?})")]
    NotAllowed {
        by: String,
        needed: Vec<String>,
        held: Vec<String>,
    },
    #[error("{0} has already approved this plan")]
    Twice(String),
}

/// Checks one more approval before it is recorded.
pub fn admit(
    plan: &Plan,
    rule: &ApprovalRule,
    earlier: &[Approval],
    a: &Approval,
) -> Result<(), ApprovalError> {
    let digest = plan.digest();
    if a.plan_digest != digest {
        return Err(ApprovalError::WrongPlan {
            expected: digest,
            found: a.plan_digest.clone(),
        });
    }
    if earlier.iter().any(|e| e.by == a.by) {
        return Err(ApprovalError::Twice(a.by.clone()));
    }
    // Anyone who can satisfy the level, or a step's extra role, may approve.
    let mut allowed: BTreeSet<&str> = rule.roles.iter().map(String::as_str).collect();
    allowed.extend(
        plan.steps
            .iter()
            .flat_map(|s| s.approval_roles.iter().map(String::as_str)),
    );
    if !rule.roles.is_empty() && !a.roles.iter().any(|r| allowed.contains(r.as_str())) {
        return Err(ApprovalError::NotAllowed {
            by: a.by.clone(),
            needed: allowed.into_iter().map(str::to_string).collect(),
            held: a.roles.clone(),
        });
    }
    Ok(())
}

/// What an approval still lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plan not approved: {}", missing.join("; "))]
pub struct Pending {
    pub missing: Vec<String>,
}

/// A plan whose approvals satisfy its rule. Only [`approve`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovedPlan {
    plan: Plan,
    approvals: Vec<Approval>,
}

impl ApprovedPlan {
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
    pub fn approvals(&self) -> &[Approval] {
        &self.approvals
    }
}

/// Checks `approvals` against the rule and the plan's own step requirements.
pub fn approve(
    plan: Plan,
    rule: &ApprovalRule,
    approvals: &[Approval],
) -> Result<ApprovedPlan, Pending> {
    let digest = plan.digest();
    let valid: Vec<&Approval> = approvals
        .iter()
        .filter(|a| a.plan_digest == digest)
        .collect();
    let mut missing = Vec::new();
    let qualified: BTreeSet<&str> = valid
        .iter()
        .filter(|a| rule.roles.is_empty() || a.roles.iter().any(|r| rule.roles.contains(r)))
        .map(|a| a.by.as_str())
        .collect();
    if (qualified.len() as u32) < rule.count {
        let who = if rule.roles.is_empty() {
            "anyone".to_string()
        } else {
            format!("members of {}", rule.roles.join(" or "))
        };
        missing.push(format!(
            "{} of {} approvals from {who} (have {})",
            rule.count - qualified.len() as u32,
            rule.count,
            qualified.len()
        ));
    }
    let extra: BTreeSet<&str> = plan
        .steps
        .iter()
        .flat_map(|s| s.approval_roles.iter().map(String::as_str))
        .collect();
    for role in extra {
        if !valid.iter().any(|a| a.roles.iter().any(|r| r == role)) {
            let steps: Vec<&str> = plan
                .steps
                .iter()
                .filter(|s| s.approval_roles.iter().any(|r| r == role))
                .map(|s| s.key.as_str())
                .collect();
            missing.push(format!(
                "an approval from role {role} (for {})",
                steps.join(", ")
            ));
        }
    }
    if !missing.is_empty() {
        return Err(Pending { missing });
    }
    Ok(ApprovedPlan {
        plan,
        approvals: valid.into_iter().cloned().collect(),
    })
}
