//! A playbook planned against one case: every step bound to a concrete resource, in
//! order, with what it will call. A `ResponsePlan` runs nothing; only an approved plan
//! ([`crate::approve`]) reaches AWS.

use crate::action::{Action, Class};
use crate::approve::ApprovalRule;
use crate::bind::Bindings;
use crate::spec::{OnFailure, Playbook, Preconditions};
use crate::target::{Target, TargetKind};
use case::CaseId;
use model::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A playbook that cannot be planned against a case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "playbook {playbook}: input `{input}` ({kind}) is required, but case {case} names no {kind}"
    )]
    MissingInput {
        playbook: String,
        case: CaseId,
        input: String,
        kind: TargetKind,
    },
    #[error("playbook {playbook} has no step `{step}` (--include)")]
    UnknownStep { playbook: String, step: String },
    #[error(
        "playbook {playbook}: every step was left out or found nothing to act on in case {case}"
    )]
    Empty { playbook: String, case: CaseId },
    #[error("case {case} names no account to act in")]
    NoAccount { case: CaseId },
}

/// The response settings a plan is made with (from the IR plan, or defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Role name assumed in each target account; `None` acts with the caller's credentials.
    pub responder_role: Option<String>,
    /// External id the responder role's trust policy asks for.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The rule-less security group used for isolation (per VPC, by name).
    pub isolation_group: String,
    /// The Organizations management account (for quarantine SCPs).
    pub management_account: Option<String>,
    /// Where memory images go (the IR plan's evidence bucket).
    #[serde(default)]
    pub evidence_bucket: Option<String>,
    /// The isolated forensic account that evidence snapshot copies are shared with.
    #[serde(default)]
    pub forensic_account: Option<String>,
    /// KMS key for encrypted evidence copies (default: the account's EBS key).
    #[serde(default)]
    pub kms_key: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            responder_role: None,
            external_id: None,
            isolation_group: "firebreak-isolation".into(),
            management_account: None,
            evidence_bucket: None,
            forensic_account: None,
            kms_key: None,
        }
    }
}

/// What the responder asked for besides the playbook.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub created_by: String,
    pub created_ms: i64,
    /// Optional steps to plan (by step id).
    pub include: Vec<String>,
    /// Resources to leave alone (`kind:id`).
    pub exclude: Vec<String>,
    /// Protected resources the responder decided to act on anyway (`kind:id`).
    pub overrides: Vec<String>,
}

/// One step bound to one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// `step-id@resource`: stable across re-runs, so a resumed run knows what is done.
    pub key: String,
    /// The playbook step it comes from.
    pub spec: String,
    pub title: String,
    pub action: Action,
    pub target: Target,
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    pub on_failure: OnFailure,
    /// Roles of which one must approve, besides the level's approvers.
    #[serde(default)]
    pub approval_roles: Vec<String>,
    /// Act even though the resource carries the protected tag.
    #[serde(default)]
    pub override_protected: bool,
    #[serde(default)]
    pub instructions: Option<String>,
    /// Run-time conditions on the resource (tags).
    #[serde(default)]
    pub preconditions: Preconditions,
}

impl Step {
    /// The calls the step makes, from the action's templates; exact values come from a
    /// dry-run against AWS.
    pub fn call_templates(&self, plan: &ResponsePlan) -> Vec<String> {
        let group = &plan.settings.isolation_group;
        self.action
            .calls()
            .iter()
            .map(|c| {
                let mut out = c
                    .replace("{id}", &self.target.id)
                    .replace("{parent}", self.target.parent.as_deref().unwrap_or("?"))
                    .replace("{case}", &plan.case_id.to_string())
                    .replace("{isolation_group}", group)
                    .replace(
                        "{evidence_bucket}",
                        plan.settings
                            .evidence_bucket
                            .as_deref()
                            .unwrap_or("<evidence bucket>"),
                    );
                for (k, v) in &self.params {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    out = out.replace(&format!("{{{k}}}"), &v);
                }
                out
            })
            .collect()
    }
}

/// A step of the playbook that the plan does not carry, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Left {
    pub spec: String,
    pub reason: String,
}

/// A playbook bound to a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponsePlan {
    pub case_id: CaseId,
    pub playbook: String,
    pub playbook_title: String,
    /// The case's severity and plan level when planned: approval follows them.
    pub severity: Severity,
    pub level: Option<String>,
    pub created_by: String,
    pub created_ms: i64,
    pub settings: Settings,
    /// Tag that marks protected resources (`key` or `key=value`).
    pub protected_tag: String,
    pub steps: Vec<Step>,
    pub left: Vec<Left>,
    /// Who must approve, pinned when the plan was made (part of the digest).
    pub approval: ApprovalRule,
    /// Why the dry-run could not work out every step's calls; such a plan cannot be
    /// approved (plan again once AWS can be read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
}

impl ResponsePlan {
    /// SHA-256 of the plan's JSON: what an approval is bound to.
    pub fn digest(&self) -> signing::Sha256Digest {
        let json = serde_json::to_vec(self).expect("a plan serializes");
        signing::Sha256Digest::of(&json)
    }

    pub fn step(&self, key: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.key == key)
    }
}

/// Plans `book` against a case's bindings.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    book: &Playbook,
    case_id: CaseId,
    severity: Severity,
    level: Option<&str>,
    bindings: &Bindings,
    settings: &Settings,
    approval: ApprovalRule,
    req: &Request,
) -> Result<ResponsePlan, PlanError> {
    for inc in &req.include {
        if !book.steps.iter().any(|s| &s.id == inc) {
            return Err(PlanError::UnknownStep {
                playbook: book.name.clone(),
                step: inc.clone(),
            });
        }
    }
    let excluded = |t: &Target| req.exclude.iter().any(|x| x == &t.key());
    // A required input the case does not bind is an error; one whose every binding was
    // excluded by the responder only leaves its steps out (each with the reason).
    for input in book.inputs.iter().filter(|i| i.required) {
        if bindings.of_kind(input.kind).next().is_none() {
            return Err(PlanError::MissingInput {
                playbook: book.name.clone(),
                case: case_id,
                input: input.name.clone(),
                kind: input.kind,
            });
        }
    }
    let accounts: Vec<&Target> = bindings.of_kind(TargetKind::Account).collect();
    let mut steps = Vec::new();
    let mut left = Vec::new();
    for spec in &book.steps {
        if let Some(min) = spec.preconditions.severity_at_least
            && severity < min
        {
            left.push(Left {
                spec: spec.id.clone(),
                reason: format!("precondition: only for {} cases and above", min.name()),
            });
            continue;
        }
        if spec.optional && !req.include.contains(&spec.id) {
            left.push(Left {
                spec: spec.id.clone(),
                reason: format!("optional: plan it with --include {}", spec.id),
            });
            continue;
        }
        let targets: Vec<&Target> = match &spec.for_each {
            Some(input) => {
                let kind = book
                    .input(input)
                    .map(|i| i.kind)
                    .unwrap_or(spec.action.target());
                bindings.of_kind(kind).collect()
            }
            None => {
                // Account-wide and manual steps: the case's account(s); a manual step runs once.
                let first = accounts
                    .first()
                    .copied()
                    .ok_or(PlanError::NoAccount { case: case_id })?;
                if spec.action == Action::Manual {
                    vec![first]
                } else {
                    accounts.clone()
                }
            }
        };
        let mut any = false;
        for t in targets {
            if excluded(t) {
                left.push(Left {
                    spec: spec.id.clone(),
                    reason: format!("{} excluded", t.key()),
                });
                continue;
            }
            any = true;
            let mut target = t.clone();
            if spec.action == Action::QuarantineAccount {
                // The SCP is attached from the management account; the target stays the account.
                target.parent = settings.management_account.clone();
            }
            steps.push(Step {
                key: format!("{}@{}", spec.id, t.id),
                spec: spec.id.clone(),
                title: spec.title.clone().unwrap_or_else(|| match spec.action {
                    Action::Manual => "Manual step (a case task)".to_string(),
                    a => a.description().to_string(),
                }),
                action: spec.action,
                params: spec.params.clone(),
                on_failure: spec.on_failure,
                approval_roles: spec.approval_roles.clone(),
                override_protected: req.overrides.contains(&t.key()),
                instructions: spec.instructions.clone(),
                preconditions: spec.preconditions.clone(),
                target,
            });
        }
        if !any && spec.for_each.is_some() {
            left.push(Left {
                spec: spec.id.clone(),
                reason: format!("the case names no {}", spec.action.target()),
            });
        }
    }
    if steps.iter().all(|s| s.action.class() == Class::Manual) {
        return Err(PlanError::Empty {
            playbook: book.name.clone(),
            case: case_id,
        });
    }
    Ok(ResponsePlan {
        case_id,
        playbook: book.name.clone(),
        playbook_title: book.title.clone(),
        severity,
        level: level.map(str::to_string),
        created_by: req.created_by.clone(),
        created_ms: req.created_ms,
        settings: settings.clone(),
        protected_tag: book.guardrails.protected_tag.clone(),
        steps,
        left,
        approval,
        incomplete: Vec::new(),
    })
}
