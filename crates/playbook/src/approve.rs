//! Approval: who may let a plan run. The rule is worked out once, from the IR plan, when
//! the plan is made, and pinned inside it (so inside its digest): the level, the roles that
//! approve, how many distinct people, whether the plan's author may be one of them, whether
//! approvals must be signed, and every approver's roles and public keys. `approve` and
//! `run` check that pinned rule and nothing else, so a weaker or missing IR plan at run
//! time changes nothing. An [`ApprovedPlan`] can only be made here, and only for the exact
//! plan approved.

use crate::action::Class;
use crate::plan::ResponsePlan;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One person the IR plan lets approve, as pinned in a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approver {
    pub roles: Vec<String>,
    /// Ed25519 public keys (hex) whose signatures are this person's.
    pub keys: Vec<String>,
}

/// What a plan's approval takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRule {
    /// The IR plan level the rule comes from.
    pub level: Option<String>,
    /// Roles whose members may approve; empty: anyone.
    pub roles: Vec<String>,
    /// Distinct approvers needed.
    pub count: u32,
    /// The plan's author may not approve it.
    pub two_person: bool,
    /// Approvals must be signed by a key listed for the approver.
    pub signed: bool,
    /// Plans of evidence steps only need no approver.
    pub preapprove_evidence: bool,
    /// Contact id → roles and keys, from the IR plan when the plan was made.
    pub approvers: BTreeMap<String, Approver>,
    /// SHA-256 of the IR plan file the rule was taken from; `None`: no IR plan.
    pub ir_plan: Option<signing::Sha256Digest>,
    /// Team-server keys whose attestation of a signed-in approver counts as a signature.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attesters: Vec<String>,
    /// A game day's plan: approved only by that game day, only for its exercise accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise: Option<ExerciseTerms>,
}

/// What makes a plan an exercise's: the game-day run that may approve it and the accounts
/// (the emulator's, or those the IR plan marks as exercise accounts) its steps may touch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseTerms {
    pub run: String,
    pub accounts: Vec<model::AccountId>,
}

impl ApprovalRule {
    /// The rule without an IR plan: one approval by anyone, unsigned (no plan lists keys).
    pub fn without_plan() -> ApprovalRule {
        ApprovalRule {
            level: None,
            roles: Vec::new(),
            count: 1,
            two_person: false,
            signed: false,
            preapprove_evidence: false,
            approvers: BTreeMap::new(),
            ir_plan: None,
            attesters: Vec::new(),
            exercise: None,
        }
    }

    /// The rule of a game day's plan: one exercise approval by run `run`, valid only while
    /// every step acts in one of `accounts`. No person's approval counts under it, and an
    /// exercise approval counts under no other rule.
    pub fn exercise(
        run: &str,
        accounts: Vec<model::AccountId>,
        ir_plan: Option<signing::Sha256Digest>,
    ) -> ApprovalRule {
        ApprovalRule {
            exercise: Some(ExerciseTerms {
                run: run.to_string(),
                accounts,
            }),
            ir_plan,
            ..ApprovalRule::without_plan()
        }
    }

    /// The rule of an IR plan level (see [`plan::IrPlan::approval_terms`]); `ir_digest` is the
    /// SHA-256 of the plan file's text.
    pub fn from_plan(
        ir: &plan::IrPlan,
        ir_digest: &signing::Sha256Digest,
        level: Option<&str>,
    ) -> ApprovalRule {
        let terms = ir.approval_terms(level);
        let approvers = ir
            .contacts
            .iter()
            .map(|c| {
                let id = c.id.value.clone();
                let a = Approver {
                    roles: ir.roles_of(&id),
                    keys: c
                        .approval_keys
                        .iter()
                        .map(|k| k.value.trim().to_ascii_lowercase())
                        .collect(),
                };
                (id, a)
            })
            .filter(|(_, a)| !a.roles.is_empty())
            .collect();
        ApprovalRule {
            level: level.map(str::to_string),
            roles: terms.roles,
            count: terms.count,
            two_person: terms.two_person,
            signed: terms.signed,
            preapprove_evidence: terms.preapprove_evidence,
            approvers,
            ir_plan: Some(ir_digest.clone()),
            attesters: ir
                .team_server
                .iter()
                .flat_map(|s| &s.attestation_keys)
                .map(|k| k.value.trim().to_ascii_lowercase())
                .collect(),
            exercise: None,
        }
    }

    /// One line for people: who, how many, signed or not.
    pub fn describe(&self) -> String {
        let who = if self.roles.is_empty() {
            "anyone".to_string()
        } else {
            format!("members of {}", self.roles.join(" or "))
        };
        let mut s = format!("{} distinct approver(s) from {who}", self.count);
        if self.two_person {
            s.push_str(", not the plan's author");
        }
        s.push_str(if self.signed {
            ", each signing with a key the IR plan lists"
        } else {
            "; UNSIGNED APPROVALS (names are not verified)"
        });
        if let Some(l) = &self.level {
            s.push_str(&format!(" (level {l})"));
        }
        if self.ir_plan.is_none() {
            s.push_str(" (no IR plan)");
        }
        s
    }

    fn key_owner(&self, key: &str) -> Option<&str> {
        let key = key.trim().to_ascii_lowercase();
        self.approvers
            .iter()
            .find(|(_, a)| a.keys.contains(&key))
            .map(|(id, _)| id.as_str())
    }

    fn roles_of(&self, who: &str) -> &[String] {
        self.approvers.get(who).map_or(&[], |a| a.roles.as_slice())
    }
}

/// The text an approver signs: the plan's digest, under a fixed prefix so the signature
/// means nothing anywhere else.
pub fn approval_message(plan_digest: &signing::Sha256Digest) -> Vec<u8> {
    format!("firebreak response-plan approval v1\n{plan_digest}").into_bytes()
}

/// How an approval was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalKind {
    /// By a person (signed, unless the rule allows unsigned approvals).
    #[default]
    Person,
    /// By the IR plan itself: an evidence-only plan at a level that pre-approves them.
    PreapprovedEvidence,
    /// By a person signed in to the team server, which attests it with its own key (one the
    /// IR plan lists under `team_server.attestation_keys` when approvals must be signed).
    SignedIn,
    /// By a game day, for its own exercise plan only (recorded as an exercise approval).
    Exercise,
}

/// The text a team server signs to attest a signed-in person's approval.
pub fn attestation_message(plan_digest: &signing::Sha256Digest, by: &str, method: &str) -> Vec<u8> {
    format!("firebreak team-server approval attestation v1\n{plan_digest}\n{by}\n{method}")
        .into_bytes()
}

/// One approval of one plan digest, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Who says they approve (a contact id).
    pub by: String,
    /// The roles the rule gives them (what counts is the pinned rule, not this copy).
    pub roles: Vec<String>,
    pub at_ms: i64,
    pub plan_digest: signing::Sha256Digest,
    #[serde(default)]
    pub kind: ApprovalKind,
    /// The public key that signed (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Ed25519 signature of [`approval_message`] (hex), or for a [`ApprovalKind::SignedIn`]
    /// approval the server's signature of [`attestation_message`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// How a signed-in approver proved who they are (`password+totp`, `oidc`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_in_by: Option<String>,
}

impl Approval {
    /// A person's approval, signed with `key` when given.
    pub fn new(
        plan: &ResponsePlan,
        by: &str,
        at_ms: i64,
        key: Option<&signing::SigningKey>,
    ) -> Approval {
        let digest = plan.digest();
        Approval {
            by: by.to_string(),
            roles: plan.approval.roles_of(by).to_vec(),
            at_ms,
            kind: ApprovalKind::Person,
            key: key.map(signing::public_hex),
            signature: key.map(|k| signing::sign_hex(k, &approval_message(&digest))),
            plan_digest: digest,
            signed_in_by: None,
        }
    }

    /// A signed-in person's approval, attested by the team server's key when it has one.
    pub fn signed_in(
        plan: &ResponsePlan,
        by: &str,
        method: &str,
        at_ms: i64,
        server_key: Option<&signing::SigningKey>,
    ) -> Approval {
        let digest = plan.digest();
        Approval {
            by: by.to_string(),
            roles: plan.approval.roles_of(by).to_vec(),
            at_ms,
            kind: ApprovalKind::SignedIn,
            key: server_key.map(signing::public_hex),
            signature: server_key
                .map(|k| signing::sign_hex(k, &attestation_message(&digest, by, method))),
            plan_digest: digest,
            signed_in_by: Some(method.to_string()),
        }
    }

    /// A game day's approval of its own exercise plan.
    pub fn exercise(plan: &ResponsePlan, run: &str, at_ms: i64) -> Approval {
        Approval {
            by: format!("gameday:{run}"),
            roles: Vec::new(),
            at_ms,
            kind: ApprovalKind::Exercise,
            key: None,
            signature: None,
            plan_digest: plan.digest(),
            signed_in_by: None,
        }
    }

    /// The IR plan's pre-approval of an evidence-only plan.
    pub fn preapproved(plan: &ResponsePlan, at_ms: i64) -> Approval {
        Approval {
            by: "ir-plan".into(),
            roles: Vec::new(),
            at_ms,
            kind: ApprovalKind::PreapprovedEvidence,
            key: None,
            signature: None,
            plan_digest: plan.digest(),
            signed_in_by: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("the approval is for another version of the plan (digest {found}, plan is {expected})")]
    WrongPlan {
        expected: signing::Sha256Digest,
        found: signing::Sha256Digest,
    },
    #[error("{by} may not approve: approval needs one of the roles {needed:?} (holds {held:?})")]
    NotAllowed {
        by: String,
        needed: Vec<String>,
        held: Vec<String>,
    },
    #[error("{0} has already approved this plan")]
    Twice(String),
    #[error(
        "{0} made this plan and the IR plan's two-person rule forbids approving one's own plan"
    )]
    OwnPlan(String),
    #[error(
        "approvals at this level must be signed: approve with --key FILE (a seed from `firebreak keygen` whose public key the IR plan lists for {0})"
    )]
    Unsigned(String),
    #[error(
        "approvals at this level must be signed, and {0} approved through a team server that holds no attestation key the IR plan lists (team_server.attestation_keys)"
    )]
    Unattested(String),
    #[error(
        "team-server key {key} is not listed in the IR plan's team_server.attestation_keys (as pinned when the plan was made)"
    )]
    UnknownAttester { key: String },
    #[error("the signature does not verify against its key")]
    BadSignature,
    #[error(
        "key {key} is not listed in the IR plan for any approver (as pinned when the plan was made)"
    )]
    UnknownKey { key: String },
    #[error("key {key} belongs to {owner}, not {by}")]
    NotTheirKey {
        key: String,
        owner: String,
        by: String,
    },
    #[error("the IR plan pre-approves evidence-only plans only, and only where its level says so")]
    NotPreapprovable,
    #[error("the plan is incomplete (its dry-run could not read AWS: {0}); plan again")]
    Incomplete(String),
    #[error("{0} is an exercise approval: it counts only for a game day's own plan")]
    ExerciseApproval(String),
    #[error("the plan belongs to a game day: only that game day approves it, not {0}")]
    ExercisePlan(String),
    #[error("{0} is not the game day this plan belongs to")]
    NotThisExercise(String),
    #[error("step {step} acts in account {account}, outside the exercise")]
    OutsideExercise { step: String, account: String },
}

/// Who an approval counts as under the plan's pinned rule, or why it does not count.
pub fn identify(plan: &ResponsePlan, a: &Approval) -> Result<String, ApprovalError> {
    let rule = &plan.approval;
    let digest = plan.digest();
    if a.plan_digest != digest {
        return Err(ApprovalError::WrongPlan {
            expected: digest,
            found: a.plan_digest.clone(),
        });
    }
    match (&rule.exercise, a.kind) {
        (Some(terms), ApprovalKind::Exercise) => {
            if a.by != format!("gameday:{}", terms.run) {
                return Err(ApprovalError::NotThisExercise(a.by.clone()));
            }
            if let Some(s) = plan
                .steps
                .iter()
                .find(|s| !terms.accounts.contains(&s.target.account))
            {
                return Err(ApprovalError::OutsideExercise {
                    step: s.key.clone(),
                    account: s.target.account.to_string(),
                });
            }
            return Ok(a.by.clone());
        }
        (Some(_), _) => return Err(ApprovalError::ExercisePlan(a.by.clone())),
        (None, ApprovalKind::Exercise) => {
            return Err(ApprovalError::ExerciseApproval(a.by.clone()));
        }
        (None, _) => {}
    }
    if a.kind == ApprovalKind::PreapprovedEvidence {
        let evidence_only = plan
            .steps
            .iter()
            .all(|s| matches!(s.action.class(), Class::Evidence | Class::Manual));
        return if rule.preapprove_evidence && evidence_only {
            Ok(a.by.clone())
        } else {
            Err(ApprovalError::NotPreapprovable)
        };
    }
    let who = if a.kind == ApprovalKind::SignedIn && rule.signed {
        let (Some(key), Some(sig)) = (&a.key, &a.signature) else {
            return Err(ApprovalError::Unattested(a.by.clone()));
        };
        let key_lc = key.trim().to_ascii_lowercase();
        if !rule.attesters.contains(&key_lc) {
            return Err(ApprovalError::UnknownAttester { key: key.clone() });
        }
        let method = a.signed_in_by.as_deref().unwrap_or_default();
        if !signing::verifies(key, &attestation_message(&digest, &a.by, method), sig) {
            return Err(ApprovalError::BadSignature);
        }
        a.by.clone()
    } else if rule.signed {
        let (Some(key), Some(sig)) = (&a.key, &a.signature) else {
            return Err(ApprovalError::Unsigned(a.by.clone()));
        };
        if !signing::verifies(key, &approval_message(&digest), sig) {
            return Err(ApprovalError::BadSignature);
        }
        let owner = rule
            .key_owner(key)
            .ok_or_else(|| ApprovalError::UnknownKey { key: key.clone() })?;
        if owner != a.by {
            return Err(ApprovalError::NotTheirKey {
                key: key.clone(),
                owner: owner.to_string(),
                by: a.by.clone(),
            });
        }
        owner.to_string()
    } else {
        a.by.clone()
    };
    if rule.two_person && who == plan.created_by {
        return Err(ApprovalError::OwnPlan(who));
    }
    Ok(who)
}

/// Roles of which one must approve, besides the level's approvers.
fn extra_roles(plan: &ResponsePlan) -> BTreeSet<&str> {
    plan.steps
        .iter()
        .flat_map(|s| s.approval_roles.iter().map(String::as_str))
        .collect()
}

/// Checks one more approval before it is recorded; returns who it counts as.
pub fn admit(
    plan: &ResponsePlan,
    earlier: &[Approval],
    a: &Approval,
) -> Result<String, ApprovalError> {
    let rule = &plan.approval;
    if !plan.incomplete.is_empty() {
        return Err(ApprovalError::Incomplete(plan.incomplete.join("; ")));
    }
    let who = identify(plan, a)?;
    if earlier
        .iter()
        .filter_map(|e| identify(plan, e).ok())
        .any(|e| e == who)
    {
        return Err(ApprovalError::Twice(who));
    }
    if a.kind == ApprovalKind::PreapprovedEvidence {
        return Ok(who);
    }
    // Anyone who can satisfy the level, or a step's extra role, may approve.
    let mut allowed: BTreeSet<&str> = rule.roles.iter().map(String::as_str).collect();
    allowed.extend(extra_roles(plan));
    let held = rule.roles_of(&who);
    if !rule.roles.is_empty() && !held.iter().any(|r| allowed.contains(r.as_str())) {
        return Err(ApprovalError::NotAllowed {
            by: who,
            needed: allowed.into_iter().map(str::to_string).collect(),
            held: held.to_vec(),
        });
    }
    Ok(who)
}

/// What an approval still lacks, and the recorded approvals that did not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plan not approved: {}", missing.join("; "))]
pub struct Pending {
    pub missing: Vec<String>,
    /// Approvals on record that count for nothing, with the reason.
    pub ignored: Vec<String>,
}

/// A plan whose approvals satisfy its pinned rule. Only [`approve`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovedPlan {
    plan: ResponsePlan,
    approvals: Vec<Approval>,
}

impl ApprovedPlan {
    pub fn plan(&self) -> &ResponsePlan {
        &self.plan
    }
    /// The approvals that counted.
    pub fn approvals(&self) -> &[Approval] {
        &self.approvals
    }
}

/// Checks `approvals` against the rule pinned in the plan and the plan's own step
/// requirements. Approvals that do not verify, repeat a person, or come from the plan's
/// author under the two-person rule count for nothing.
pub fn approve(plan: ResponsePlan, approvals: &[Approval]) -> Result<ApprovedPlan, Pending> {
    let rule = plan.approval.clone();
    if !plan.incomplete.is_empty() {
        return Err(Pending {
            missing: vec![format!(
                "nothing: the plan is incomplete and cannot be approved ({}); plan again",
                plan.incomplete.join("; ")
            )],
            ignored: Vec::new(),
        });
    }
    let mut ignored = Vec::new();
    // Distinct people (or the plan's pre-approval), first approval of each.
    let mut counted: BTreeMap<String, &Approval> = BTreeMap::new();
    for a in approvals {
        match identify(&plan, a) {
            Ok(who) => match counted.entry(who) {
                std::collections::btree_map::Entry::Occupied(e) => ignored.push(format!(
                    "{}: approved more than once (counted once)",
                    e.key()
                )),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(a);
                }
            },
            Err(e) => ignored.push(format!("approval by {}: {e}", a.by)),
        }
    }
    let preapproved = counted
        .values()
        .any(|a| a.kind == ApprovalKind::PreapprovedEvidence);
    // A game day's plan runs on its own exercise approval, which `identify` admitted only
    // for that game day and only while every step stays in its exercise accounts.
    let exercised =
        rule.exercise.is_some() && counted.values().any(|a| a.kind == ApprovalKind::Exercise);
    let mut missing = Vec::new();
    if !preapproved && !exercised {
        let qualified = counted
            .iter()
            .filter(|(_, a)| matches!(a.kind, ApprovalKind::Person | ApprovalKind::SignedIn))
            .filter(|(who, _)| {
                rule.roles.is_empty() || rule.roles_of(who).iter().any(|r| rule.roles.contains(r))
            })
            .count() as u32;
        if qualified < rule.count {
            let who = if rule.roles.is_empty() {
                "anyone".to_string()
            } else {
                format!("members of {}", rule.roles.join(" or "))
            };
            missing.push(format!(
                "{} of {} approvals from {who} (have {qualified})",
                rule.count - qualified,
                rule.count,
            ));
        }
        for role in extra_roles(&plan) {
            if !counted
                .keys()
                .any(|who| rule.roles_of(who).iter().any(|r| r == role))
            {
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
    }
    if !missing.is_empty() {
        return Err(Pending { missing, ignored });
    }
    let approvals = counted.into_values().cloned().collect();
    Ok(ApprovedPlan { plan, approvals })
}
