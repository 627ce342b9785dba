//! Playbooks as written: YAML files of inputs and steps, parsed with the line of every
//! step and validated (actions exist, inputs fit them, evidence comes before disruption).

use crate::action::{Action, Class};
use crate::target::TargetKind;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;

/// A playbook file that cannot be used, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {field}: {message}")]
pub struct SpecError {
    pub file: String,
    pub line: usize,
    /// The offending field (`steps[2].action`), or `playbook` for a syntax error.
    pub field: String,
    pub message: String,
}

/// A response playbook.
#[derive(Debug, Clone, Serialize)]
pub struct Playbook {
    pub name: String,
    pub title: String,
    pub description: String,
    /// Detections it answers when the IR plan does not map one (rule ids, rule tags).
    pub answers: Answers,
    pub guardrails: Guardrails,
    pub inputs: Vec<Input>,
    pub steps: Vec<StepSpec>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    #[serde(default)]
    pub rules: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Limits a run respects whatever the plan says.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardrails {
    /// A resource carrying this tag (`key` or `key=value`) is acted on only with an
    /// explicit override recorded in the plan.
    #[serde(default = "default_protected_tag")]
    pub protected_tag: String,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            protected_tag: default_protected_tag(),
        }
    }
}

fn default_protected_tag() -> String {
    "firebreak:protected=true".into()
}

/// Resources bound from the case.
#[derive(Debug, Clone, Serialize)]
pub struct Input {
    pub name: String,
    pub kind: TargetKind,
    /// Planning fails when the case yields none.
    pub required: bool,
    pub description: Option<String>,
}

/// What to do when a step fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Halt the run; later steps wait for a re-run.
    #[default]
    Stop,
    /// Record the failure and go on (evidence failures still stop disruptive steps).
    Continue,
    /// Halt and roll back every step this run completed.
    Rollback,
}

impl fmt::Display for OnFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnFailure::Stop => "stop",
            OnFailure::Continue => "continue",
            OnFailure::Rollback => "rollback",
        })
    }
}

/// Conditions a step needs before it acts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preconditions {
    /// Planned only for cases at least this severe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_at_least: Option<model::Severity>,
    /// Acts only on resources carrying this tag (`key` or `key=value`), read at run time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tagged: Option<String>,
    /// Skips resources carrying this tag (`key` or `key=value`), read at run time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_tagged: Option<String>,
}

impl Preconditions {
    /// Whether any condition needs the resource's tags.
    pub fn need_tags(&self) -> bool {
        self.tagged.is_some() || self.not_tagged.is_some()
    }

    /// The first run-time condition `tags` fail, as a reason.
    pub fn unmet(&self, tags: &[(String, String)]) -> Option<String> {
        if let Some(t) = &self.tagged
            && !has_tag(tags, t)
        {
            return Some(format!("precondition: the resource is not tagged {t}"));
        }
        if let Some(t) = &self.not_tagged
            && has_tag(tags, t)
        {
            return Some(format!("precondition: the resource is tagged {t}"));
        }
        None
    }
}

/// Whether `tags` hold `spec` (`key`: any value; `key=value`: that value).
pub fn has_tag(tags: &[(String, String)], spec: &str) -> bool {
    let (key, value) = match spec.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (spec, None),
    };
    tags.iter()
        .any(|(k, v)| k == key && value.is_none_or(|want| v == want))
}

/// One step as written.
#[derive(Debug, Clone, Serialize)]
pub struct StepSpec {
    pub id: String,
    pub line: usize,
    pub action: Action,
    /// The input whose every resource the step acts on (`None`: the case's account).
    pub for_each: Option<String>,
    pub params: BTreeMap<String, serde_json::Value>,
    pub on_failure: OnFailure,
    /// Planned only when asked for (`respond plan --include STEP`).
    pub optional: bool,
    /// Roles (from the IR plan) of which one must approve, besides the level's approvers.
    pub approval_roles: Vec<String>,
    /// What a person does, for manual steps.
    pub instructions: Option<String>,
    pub title: Option<String>,
    pub preconditions: Preconditions,
}

// --- The file's shape ------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlaybook {
    name: Spanned<String>,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    answers: Answers,
    #[serde(default)]
    guardrails: Guardrails,
    #[serde(default)]
    inputs: Vec<RawInput>,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    name: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: Spanned<String>,
    action: Spanned<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    for_each: Option<Spanned<String>>,
    #[serde(default)]
    params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    on_failure: OnFailure,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    approval_roles: Vec<String>,
    #[serde(default)]
    instructions: Option<String>,
    #[serde(default)]
    preconditions: Preconditions,
}

/// Parses and validates a playbook; `file` names it in errors. Every problem found is
/// returned, each with its line.
pub fn parse(text: &str, file: &str) -> Result<Playbook, Vec<SpecError>> {
    let err = |line: usize, field: &str, message: String| SpecError {
        file: file.to_string(),
        line,
        field: field.to_string(),
        message,
    };
    let raw: RawPlaybook = serde_saphyr::from_str(text).map_err(|e| {
        let first = e.to_string();
        let message = first.lines().next().unwrap_or_default();
        let message = message.split_once(" at line ").map_or(message, |(m, _)| m);
        vec![err(
            e.location().map_or(0, |l| l.line() as usize),
            "playbook",
            message.trim().to_string(),
        )]
    })?;
    let mut problems = Vec::new();
    let line = |s: &Spanned<String>| s.referenced.line() as usize;

    if !is_name(&raw.name.value) {
        problems.push(err(
            line(&raw.name),
            "name",
            format!(
                "`{}` is not a playbook name (lower-case letters, digits, `-`)",
                raw.name.value
            ),
        ));
    }
    let mut inputs: Vec<Input> = Vec::new();
    for (i, r) in raw.inputs.iter().enumerate() {
        let field = format!("inputs[{i}]");
        let Some(kind) = TargetKind::from_name(&r.kind.value) else {
            let known: Vec<_> = TargetKind::ALL.iter().map(|k| k.name()).collect();
            problems.push(err(
                line(&r.kind),
                &format!("{field}.kind"),
                format!(
                    "unknown kind `{}` (one of {})",
                    r.kind.value,
                    known.join(", ")
                ),
            ));
            continue;
        };
        if inputs.iter().any(|x| x.name == r.name.value) {
            problems.push(err(
                line(&r.name),
                &format!("{field}.name"),
                format!("input `{}` is declared twice", r.name.value),
            ));
        }
        inputs.push(Input {
            name: r.name.value.clone(),
            kind,
            required: r.required,
            description: r.description.clone(),
        });
    }

    let mut steps: Vec<StepSpec> = Vec::new();
    let mut first_disruptive: Option<String> = None;
    for (i, r) in raw.steps.iter().enumerate() {
        let field = format!("steps[{i}]");
        if !is_name(&r.id.value) || steps.iter().any(|s| s.id == r.id.value) {
            problems.push(err(
                line(&r.id),
                &format!("{field}.id"),
                format!(
                    "step id `{}` is not a unique name (lower-case letters, digits, `-`)",
                    r.id.value
                ),
            ));
        }
        let Some(action) = Action::from_name(&r.action.value) else {
            problems.push(err(
                line(&r.action),
                &format!("{field}.action"),
                format!(
                    "unknown action `{}` (`firebreak respond actions` lists them)",
                    r.action.value
                ),
            ));
            continue;
        };
        if let Some(f) = &r.for_each {
            match inputs.iter().find(|x| x.name == f.value) {
                None => problems.push(err(
                    line(f),
                    &format!("{field}.for_each"),
                    format!("no input named `{}`", f.value),
                )),
                Some(input) if action != Action::Manual && input.kind != action.target() => {
                    problems.push(err(
                        line(f),
                        &format!("{field}.for_each"),
                        format!(
                            "`{}` acts on {}s, but input `{}` holds {}s",
                            action,
                            action.target(),
                            input.name,
                            input.kind
                        ),
                    ))
                }
                Some(_) => {}
            }
        } else if action != Action::Manual && action.target() != TargetKind::Account {
            problems.push(err(
                line(&r.action),
                &format!("{field}.for_each"),
                format!(
                    "`{action}` acts on a {}: name the input to act on",
                    action.target()
                ),
            ));
        }
        if action == Action::Manual
            && r.instructions
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
        {
            problems.push(err(
                line(&r.id),
                &format!("{field}.instructions"),
                "a manual step says what to do".into(),
            ));
        }
        match action.class() {
            Class::Disruptive if first_disruptive.is_none() => {
                first_disruptive = Some(r.id.value.clone())
            }
            Class::Evidence => {
                if let Some(d) = &first_disruptive {
                    problems.push(err(
                        line(&r.id),
                        &format!("{field}.action"),
                        format!("evidence step `{}` comes after disruptive step `{d}`: preserve evidence first", r.id.value),
                    ));
                }
            }
            _ => {}
        }
        steps.push(StepSpec {
            id: r.id.value.clone(),
            line: line(&r.id),
            action,
            for_each: r.for_each.as_ref().map(|f| f.value.clone()),
            params: r.params.clone(),
            on_failure: r.on_failure,
            optional: r.optional,
            approval_roles: r.approval_roles.clone(),
            instructions: r.instructions.clone(),
            title: r.title.clone(),
            preconditions: r.preconditions.clone(),
        });
    }
    if raw.steps.is_empty() {
        problems.push(err(
            line(&raw.name),
            "steps",
            "a playbook needs at least one step".into(),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Playbook {
        name: raw.name.value,
        title: raw.title,
        description: raw.description,
        answers: raw.answers,
        guardrails: raw.guardrails,
        inputs,
        steps,
    })
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Playbook {
    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// Whether it answers a rule by id or one of the rule's tags.
    pub fn answers(&self, rule_id: &str, tags: &[String]) -> bool {
        self.answers.rules.iter().any(|r| r == rule_id)
            || self
                .answers
                .tags
                .iter()
                .any(|t| tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
    }
}
