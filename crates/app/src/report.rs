//! After the incident: the post-incident review drafted from the store and the custody
//! ledger, and verified against them again; the review's narrative and its finishing;
//! facts that start regulator clocks; communications rendered from the plan's templates and
//! recorded as sent; improvement actions closed only once their verification passes; a
//! case's resolution; metrics across cases; and the late post-incident work `plan check`
//! and `readiness` report.

use crate::{App, Error, Result};
use case::{CaseId, Phase};
use model::time::format_iso;
use plan::OpenWork;
use report::Review;
use report::clocks::RegulatoryClock;
use report::comms::{Audience, CommsError};
use report::metrics::{CaseTimes, Metrics};
use report::narrative::Field;
use report::review::{
    ActionRecord, CallRecord, CommunicationRecord, FactRecord, NarrativeText, ResponseRecord,
    ReviewInputs, SlaRecord, StepRecord,
};
use report::verify::Mismatch;
use std::collections::BTreeMap;
use std::path::PathBuf;
use store::{NewAction, NewCommunication, Resolution, Store, Verification};

/// Why post-incident work was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReviewRefusal {
    #[error("unknown review field `{field}`: fields are {}", Field::names())]
    UnknownField { field: String },
    #[error(
        "the review of case {case} cannot be finished: {} still empty (firebreak case review set {case} FIELD \"…\")",
        .missing.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
    )]
    Unfinished { case: CaseId, missing: Vec<Field> },
    #[error(
        "case {case} is {level}: the IR plan (review.required_to_close) requires a finished review before it closes (firebreak case review finish {case})"
    )]
    ReviewRequired { case: CaseId, level: String },
    #[error("`{0}` is not a fact name: use lowercase words joined by `-` (personal-data-breach)")]
    BadFact(String),
    #[error("no regulation `{0}` in the IR plan ({1})")]
    NoRegulation(String, String),
    #[error("regulation `{regulation}` has no deadline `{deadline}` (it has {known})")]
    NoDeadline {
        regulation: String,
        deadline: String,
        known: String,
    },
    #[error(
        "case {case} has no `{fact}` fact, so `{regulation}` has not started (firebreak case fact {case} {fact} --aware-at TIME)"
    )]
    NotStarted {
        case: CaseId,
        regulation: String,
        fact: String,
    },
    #[error("a regulator communication names its regulation: --regulation ID --deadline ID")]
    RegulatorNeedsRegulation,
    #[error("--regulation is only for the regulator audience")]
    RegulationForOtherAudience,
    #[error(
        "communications need an IR plan (their templates, cadence and regulations are plan data)"
    )]
    NoPlan,
    #[error(transparent)]
    Template(#[from] CommsError),
    #[error("task {task} of case {case} is not an improvement action")]
    NotAnAction { case: CaseId, task: i64 },
    #[error(
        "action {task} cannot be closed: its verification ({verification}) does not pass: {why}"
    )]
    NotVerified {
        task: i64,
        verification: String,
        why: String,
    },
    #[error("unknown resolution `{0}`: true-positive, false-positive or benign")]
    UnknownResolution(String),
}

/// How the anchor of the ledger head is read for a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorCheck {
    /// Read the newest anchor from the evidence bucket.
    Read,
    /// Do not reach AWS: the review says so.
    Offline,
}

/// Everything a review of `case` is drafted from.
pub fn review_inputs(
    app: &App,
    store: &Store,
    case: CaseId,
    anchor: AnchorCheck,
) -> Result<ReviewInputs> {
    let c = store.live_case(case)?;
    let transitions = store.transitions(case)?;
    let milestones = store.sla_milestones(&[case])?.pop().unwrap_or_default();
    let resolution = store.resolution(case)?.map(|r| r.name().to_string());
    let mut responses = Vec::new();
    for row in store.response_plans(case)? {
        let plan: playbook::ResponsePlan = serde_json::from_str(&row.plan)?;
        let receipts = crate::respond::stored_receipts(store, row.id)?;
        let approvals = crate::respond::stored_approvals(store, row.id)?
            .into_iter()
            .map(|a| {
                let how = match (&a.signed_in_by, a.signature.is_some()) {
                    (Some(by), _) => format!("signed in by {by}"),
                    (None, true) => "signed".to_string(),
                    (None, false) => format!("{:?}", a.kind).to_lowercase(),
                };
                (a.by, a.at_ms, how)
            })
            .collect();
        let steps = plan
            .steps
            .iter()
            .map(|s| StepRecord {
                key: s.key.clone(),
                action: s.action.name().to_string(),
                status: receipts
                    .get(&s.key)
                    .map_or("pending".to_string(), |r| r.status.name().to_string()),
                disruptive: s.action.class() == playbook::action::Class::Disruptive,
            })
            .collect();
        let calls = store
            .calls(row.id)?
            .into_iter()
            .map(|c| CallRecord {
                step: c.step,
                rollback: c.phase == "rollback",
                operation: format!("{}:{}", c.service, c.operation),
                ok: c.ok,
                at_ms: c.at_ms,
            })
            .collect();
        responses.push(ResponseRecord {
            plan: row.id.0,
            playbook: row.playbook,
            created_by: row.created_by,
            created_ms: row.created_ms,
            approvals,
            steps,
            calls,
        });
    }
    let (custody, custody_problems, anchor_text) = custody_state(app, store, case, anchor)?;
    let sla = crate::work::response_clocks(store, &c, app.now_ms())?
        .map(|st| {
            st.clocks
                .iter()
                .map(|(k, _)| SlaRecord {
                    name: k.name.to_string(),
                    due_ms: k.due_ms,
                    met_ms: k.met_ms,
                })
                .collect()
        })
        .unwrap_or_default();
    let actions = store
        .tasks(case)?
        .into_iter()
        .filter_map(|t| {
            let a = t.action?;
            Some(ActionRecord {
                task: t.id,
                title: t.title,
                kind: a.kind.name().to_string(),
                owner: t.owner.unwrap_or_default(),
                due_ms: t.due_ms,
                status: t.status.name().to_string(),
                verification: a.verification.map(|v| match a.verified {
                    Some(found) => format!("{v}: {found}"),
                    None => v.to_string(),
                }),
            })
        })
        .collect();
    Ok(ReviewInputs {
        case,
        title: c.title.clone(),
        phase: c.phase,
        owner: c.owner.clone(),
        severity: c.severity,
        level: c
            .response
            .as_ref()
            .map(|r| (r.level.clone(), r.level_name.clone())),
        opened_ms: c.opened_ms,
        domains: c.domains.clone(),
        tactics: c.tactics.clone(),
        techniques: c.techniques.clone(),
        exercise: c.exercise.clone(),
        resolution,
        assigned_ms: milestones.assigned_ms,
        timeline: store.timeline(case)?.into_iter().map(|r| r.event).collect(),
        alerts: store.alerts(case)?,
        transitions,
        responses,
        custody,
        custody_problems,
        anchor: anchor_text,
        communications: communications(store, case)?,
        facts: facts(store, case)?,
        actions,
        narrative: narrative(store, case)?,
        review_finished: store.review_finished(case)?.map(|f| (f.actor, f.at_ms)),
        sla,
    })
}

type CustodyState = (Vec<custody::Entry>, Vec<String>, String);

type AnchorRead = std::result::Result<Option<(custody::Anchor, String)>, custody::AnchorCheck>;

/// The ledger head's anchor in the evidence bucket (unless offline), and what a review says
/// of it.
fn read_anchor(app: &App, case: CaseId, anchor: AnchorCheck) -> (AnchorRead, String) {
    let read = crate::evidence::latest_anchor(app, case, anchor == AnchorCheck::Offline);
    let text = match &read {
        Ok(Some((a, at))) => format!("entry {} sha256 {} at {at}", a.seq, a.hash),
        Ok(None) => "none uploaded yet".to_string(),
        Err(custody::AnchorCheck::NotConfigured) => "no evidence bucket in the IR plan".to_string(),
        Err(custody::AnchorCheck::NotChecked(why)) => format!("not checked ({why})"),
        Err(other) => format!("{other:?}"),
    };
    (read, text)
}

/// The ledger, what verifying it finds, and its anchor (or why it is not known).
fn custody_state(
    app: &App,
    store: &Store,
    case: CaseId,
    anchor: AnchorCheck,
) -> Result<CustodyState> {
    // No locker and nothing witnessed: there is no ledger to read, and opening the locker
    // would create its folder. A witnessed ledger whose locker is gone is verified (and
    // reported cut short) as usual.
    if !app.settings.evidence.locker_root().is_dir() && store.custody_witness(case)?.is_empty() {
        let (_, text) = read_anchor(app, case, anchor);
        return Ok((Vec::new(), Vec::new(), text));
    }
    let log = match crate::evidence::CustodyLog::open(app) {
        Ok(l) => l,
        Err(e) => {
            return Ok((
                Vec::new(),
                vec![format!("the ledger cannot be opened: {e}")],
                "not checked".into(),
            ));
        }
    };
    let (anchor_read, anchor_text) = read_anchor(app, case, anchor);
    let (entries, v) = log.verify(store, case, anchor_read)?;
    let problems = v
        .problems
        .iter()
        .map(|p| format!("entry {}: {:?}: {}", p.seq, p.kind, p.message))
        .collect();
    Ok((entries, problems, anchor_text))
}

fn communications(store: &Store, case: CaseId) -> Result<Vec<CommunicationRecord>> {
    Ok(store
        .communications(case)?
        .into_iter()
        .map(|m| CommunicationRecord {
            id: m.id,
            audience: m.audience,
            regulation: m.regulation,
            deadline: m.deadline,
            sent_ms: m.sent_ms,
            actor: m.actor,
        })
        .collect())
}

fn facts(store: &Store, case: CaseId) -> Result<Vec<FactRecord>> {
    Ok(store
        .facts(case)?
        .into_iter()
        .map(|f| FactRecord {
            id: f.id,
            fact: f.fact,
            at_ms: f.at_ms,
            note: f.note,
        })
        .collect())
}

fn narrative(store: &Store, case: CaseId) -> Result<BTreeMap<Field, NarrativeText>> {
    Ok(store
        .narrative(case)?
        .into_iter()
        .filter(|n| !n.text.trim().is_empty())
        .filter_map(|n| {
            Some((
                Field::parse(&n.field)?,
                NarrativeText {
                    text: n.text,
                    by: n.actor,
                    at_ms: n.at_ms,
                },
            ))
        })
        .collect())
}

fn plan_of(app: &App) -> Option<&plan::IrPlan> {
    app.settings.plan.as_ref().map(|p| &p.plan)
}

/// The review of `case` drafted as of `as_of_ms` (default: now).
pub fn draft(
    app: &App,
    store: &Store,
    case: CaseId,
    as_of_ms: Option<i64>,
    anchor: AnchorCheck,
) -> Result<Review> {
    let inputs = review_inputs(app, store, case, anchor)?;
    Ok(report::draft(
        &inputs,
        plan_of(app),
        as_of_ms.unwrap_or_else(|| app.now_ms()),
    ))
}

/// What verifying a rendered review found.
pub struct Verified {
    pub header: report::verify::Header,
    /// Tagged figures, rows and narrative lines the file holds.
    pub checked: usize,
    pub mismatches: Vec<Mismatch>,
}

/// Drafts the review `text` claims to be again, from the store and the ledger as of the
/// moment it names, and names every figure, row or line that no longer matches.
pub fn verify(
    app: &App,
    store: &Store,
    text: &str,
    anchor: AnchorCheck,
) -> Result<Verified, VerifyError> {
    let header = report::verify::header(text)?;
    let fresh = draft(app, store, header.case, Some(header.as_of_ms), anchor)?;
    let checked = report::verify::tagged(text, header.format).len();
    Ok(Verified {
        header,
        checked,
        mismatches: report::verify::compare(text, header.format, &fresh),
    })
}

/// Why a review could not be verified at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    NotAReview(#[from] report::verify::NotAReview),
    #[error(transparent)]
    App(#[from] Error),
}

/// Writes one narrative field of the review.
pub fn set_narrative(
    app: &App,
    store: &mut Store,
    case: CaseId,
    field: &str,
    text: &str,
) -> Result<Field> {
    let f = Field::parse(field).ok_or_else(|| ReviewRefusal::UnknownField {
        field: field.to_string(),
    })?;
    store.set_narrative(case, &f.name(), text, &app.settings.actor, app.now_ms())?;
    Ok(f)
}

/// Finishes the review once the fields a review cannot go without are written.
pub fn finish_review(app: &App, store: &mut Store, case: CaseId) -> Result<()> {
    let written = narrative(store, case)?;
    let missing: Vec<Field> = Field::REQUIRED_TO_FINISH
        .into_iter()
        .filter(|f| !written.contains_key(f))
        .collect();
    if !missing.is_empty() {
        return Err(ReviewRefusal::Unfinished { case, missing }.into());
    }
    store.finish_review(case, &app.settings.actor, app.now_ms())?;
    Ok(())
}

/// Refuses to close a case whose plan level requires a finished review it lacks.
pub fn check_close(app: &App, store: &Store, case: CaseId) -> Result<()> {
    let Some(plan) = plan_of(app) else {
        return Ok(());
    };
    let c = store.live_case(case)?;
    let Some(level) = c.response.as_ref().map(|r| r.level.clone()) else {
        return Ok(());
    };
    if plan.review_required_to_close(&level) && store.review_finished(case)?.is_none() {
        return Err(ReviewRefusal::ReviewRequired { case, level }.into());
    }
    Ok(())
}

/// Records `fact` on a case; returns the regulations it starts.
pub fn record_fact(
    app: &App,
    store: &mut Store,
    case: CaseId,
    fact: &str,
    at_ms: i64,
    note: Option<&str>,
) -> Result<Vec<RegulatoryClock>> {
    let ok = !fact.is_empty()
        && fact
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(ReviewRefusal::BadFact(fact.to_string()).into());
    }
    store.record_fact(case, fact, at_ms, note, &app.settings.actor, app.now_ms())?;
    Ok(regulatory_clocks(app, store, case)?
        .into_iter()
        .filter(|k| k.fact == fact)
        .collect())
}

/// The regulator clocks a case's facts started.
pub fn regulatory_clocks(app: &App, store: &Store, case: CaseId) -> Result<Vec<RegulatoryClock>> {
    clocks_under(plan_of(app), store, case)
}

/// The regulator clocks a case's facts started under `plan`.
pub fn clocks_under(
    plan: Option<&plan::IrPlan>,
    store: &Store,
    case: CaseId,
) -> Result<Vec<RegulatoryClock>> {
    let Some(plan) = plan else {
        return Ok(Vec::new());
    };
    Ok(report::clocks::regulatory(
        plan,
        &facts(store, case)?,
        &communications(store, case)?,
    ))
}

/// A regulator notice's regulation and deadline.
#[derive(Debug, Clone)]
pub struct RegulatorTarget {
    pub regulation: String,
    pub deadline: String,
}

/// A communication rendered from its template.
pub struct Rendered {
    pub audience: Audience,
    pub text: String,
    /// SHA-256 of the text.
    pub digest: String,
    /// The template file, or `None` for the bundled one.
    pub template: Option<PathBuf>,
    pub target: Option<RegulatorTarget>,
}

/// The plan's templates folder.
fn templates_dir(app: &App) -> Option<PathBuf> {
    let p = app.settings.plan.as_ref()?;
    let dir = p
        .plan
        .communications
        .templates
        .as_ref()
        .map_or("comms", |t| t.value.as_str());
    Some(
        p.path
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(dir),
    )
}

/// Renders the communication for `audience` from the case.
pub fn render_communication(
    app: &App,
    store: &Store,
    case: CaseId,
    audience: Audience,
    target: Option<RegulatorTarget>,
) -> Result<Rendered> {
    let plan = plan_of(app).ok_or(ReviewRefusal::NoPlan)?;
    match (audience, &target) {
        (Audience::Regulator, None) => return Err(ReviewRefusal::RegulatorNeedsRegulation.into()),
        (a, Some(_)) if a != Audience::Regulator => {
            return Err(ReviewRefusal::RegulationForOtherAudience.into());
        }
        _ => {}
    }
    let now = app.now_ms();
    let inputs = review_inputs(app, store, case, AnchorCheck::Offline)?;
    let review = report::draft(&inputs, Some(plan), now);
    let mut also_required = Vec::new();
    let mut regulation = serde_json::Value::Null;
    if let Some(t) = &target {
        let r = plan.regulation(&t.regulation).ok_or_else(|| {
            ReviewRefusal::NoRegulation(
                t.regulation.clone(),
                plan.regulations
                    .iter()
                    .map(|r| r.id.value.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })?;
        if !r.deadlines.iter().any(|d| d.id.value == t.deadline) {
            return Err(ReviewRefusal::NoDeadline {
                regulation: t.regulation.clone(),
                deadline: t.deadline.clone(),
                known: r
                    .deadlines
                    .iter()
                    .map(|d| d.id.value.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .into());
        }
        let clocks = report::clocks::regulatory(plan, &inputs.facts, &inputs.communications);
        let k = clocks
            .iter()
            .find(|k| k.regulation == t.regulation && k.deadline == t.deadline)
            .ok_or_else(|| ReviewRefusal::NotStarted {
                case,
                regulation: t.regulation.clone(),
                fact: r.trigger.value.clone(),
            })?;
        also_required = r.content.iter().map(|c| c.replace('-', "_")).collect();
        regulation = serde_json::json!({
            "id": r.id.value, "name": r.name, "authority": r.authority, "deadline": k.deadline,
            "what": k.what, "due": format_iso(k.due_ms), "within": k.within,
            "start": format_iso(k.start_ms), "start_meaning": r.start.clone().unwrap_or_else(|| k.fact.clone()),
            "phased": r.phased, "state": k.state_at(now),
        });
    }
    let context = communication_context(app, plan, &inputs, &review, now, regulation);
    let (template, path) = match templates_dir(app).map(|d| d.join(audience.file_name())) {
        Some(p) if p.is_file() => (
            std::fs::read_to_string(&p).map_err(Error::io("read template", &p))?,
            Some(p),
        ),
        _ => (audience.bundled().to_string(), None),
    };
    let name = path.as_ref().map_or_else(
        || format!("bundled {}", audience.file_name()),
        |p| p.display().to_string(),
    );
    let text = report::comms::render(&name, &template, &context, &also_required)
        .map_err(ReviewRefusal::Template)?;
    Ok(Rendered {
        audience,
        digest: signing::sha256_hex(text.as_bytes()),
        text,
        template: path,
        target,
    })
}

/// What a template sees of the case.
fn communication_context(
    app: &App,
    plan: &plan::IrPlan,
    c: &ReviewInputs,
    review: &Review,
    now: i64,
    regulation: serde_json::Value,
) -> serde_json::Value {
    let figure = |id: &str| {
        review
            .sections
            .iter()
            .flat_map(|s| &s.blocks)
            .filter_map(|b| match b {
                report::review::Block::Figures(f) => Some(f),
                _ => None,
            })
            .flatten()
            .find(|f| f.id == id)
            .map(|f| f.value.clone())
    };
    let mut accounts: Vec<String> = c.alerts.iter().filter_map(|a| a.account.clone()).collect();
    accounts.extend(c.timeline.iter().filter_map(|e| e.account.clone()));
    accounts.sort();
    accounts.dedup();
    let mut regions: Vec<String> = c.alerts.iter().filter_map(|a| a.region.clone()).collect();
    regions.sort();
    regions.dedup();
    let first_activity = c
        .timeline
        .iter()
        .filter_map(|e| e.time_ms)
        .chain(c.alerts.iter().filter_map(|a| a.time_ms))
        .min();
    let actions_taken: Vec<String> = c
        .responses
        .iter()
        .flat_map(|r| {
            r.steps
                .iter()
                .filter(|s| s.status != "pending")
                .map(move |s| format!("{} ({}): {}", s.key, r.playbook, s.status))
        })
        .collect();
    let contained = c
        .transitions
        .iter()
        .find(|t| t.to >= Phase::Contained && t.to != Phase::PostIncident)
        .map(|t| format_iso(t.at_ms));
    let cadence = c
        .level
        .as_ref()
        .and_then(|(l, _)| plan.communications.cadence.get(l))
        .map(|i| i.value.0);
    let last_sent = c.communications.iter().map(|m| m.sent_ms).max();
    let next_update_at =
        cadence.map(|every| format_iso(last_sent.unwrap_or(now).max(now - every) + every));
    let ic = c.owner.as_deref().map(|o| match plan.contact(o) {
        Some(k) => serde_json::json!({ "name": k.name, "contact": k.primary.value, "id": o }),
        None => serde_json::json!({ "name": o, "contact": o, "id": o }),
    });
    let text = |f: Field| c.narrative.get(&f).map(|n| n.text.clone());
    let clocks: Vec<String> = report::clocks::regulatory(plan, &c.facts, &c.communications)
        .iter()
        .map(|k| {
            format!(
                "{} {}: due {} — {}",
                k.regulation,
                k.deadline,
                format_iso(k.due_ms),
                k.state_at(now)
            )
        })
        .collect();
    serde_json::json!({
        "organization": plan.meta.name,
        "now": format_iso(now),
        "case": {
            "id": c.case.0, "title": c.title, "severity": c.severity.name(), "phase": c.phase.name(),
            "level": c.level.as_ref().map(|l| l.0.clone()), "level_name": c.level.as_ref().map(|l| l.1.clone()),
            "owner": c.owner, "opened": format_iso(c.opened_ms),
            "first_activity": first_activity.map(format_iso), "tactics": c.tactics, "techniques": c.techniques,
        },
        "impact": {
            "accounts": accounts, "regions": regions,
            "data_classification": figure("i.data"),
            "resources": figure("i.resources"), "identities": figure("i.identities"),
        },
        "impact_narrative": text(Field::Impact),
        "summary": text(Field::Summary),
        "nature_of_breach": text(Field::NatureOfBreach),
        "data_subjects": text(Field::DataSubjects),
        "data_categories": text(Field::DataCategories),
        "likely_consequences": text(Field::LikelyConsequences),
        "measures": text(Field::Measures),
        "customer_actions": text(Field::CustomerActions),
        "lessons": text(Field::Lessons),
        "contained": contained,
        "actions_taken": actions_taken,
        "next_update_at": next_update_at,
        "incident_commander": ic,
        "regulation": regulation,
        "clocks": clocks,
        "facts": c.facts.iter().map(|f| serde_json::json!({ "fact": f.fact, "at": format_iso(f.at_ms) })).collect::<Vec<_>>(),
        "actor": app.settings.actor,
    })
}

/// Records a rendered communication as sent at `sent_ms` (default now).
pub fn record_sent(
    app: &App,
    store: &mut Store,
    case: CaseId,
    r: &Rendered,
    sent_ms: Option<i64>,
) -> Result<i64> {
    let now = app.now_ms();
    Ok(store.record_communication(
        case,
        &NewCommunication {
            audience: r.audience.name(),
            regulation: r.target.as_ref().map(|t| t.regulation.as_str()),
            deadline: r.target.as_ref().map(|t| t.deadline.as_str()),
            sent_ms: sent_ms.unwrap_or(now),
            digest: &r.digest,
            body: &r.text,
        },
        &app.settings.actor,
        now,
    )?)
}

/// Adds an improvement action.
pub fn add_action(
    app: &App,
    store: &mut Store,
    case: CaseId,
    action: &NewAction<'_>,
) -> Result<i64> {
    Ok(store.add_action(case, action, &app.settings.actor, app.now_ms())?)
}

/// Closes an improvement action once its verification passes; returns what it found.
pub fn complete_action(
    app: &App,
    store: &mut Store,
    case: CaseId,
    task: i64,
    rules: &crate::rules::RuleSources,
) -> Result<Option<String>> {
    let t = store
        .tasks(case)?
        .into_iter()
        .find(|t| t.id == task)
        .ok_or(store::StoreError::NoTask { case, task })?;
    let action = t.action.ok_or(ReviewRefusal::NotAnAction { case, task })?;
    let found = match &action.verification {
        None => None,
        Some(v) => Some(
            check_verification(store, v, t.created_ms, rules).map_err(|why| {
                ReviewRefusal::NotVerified {
                    task,
                    verification: v.to_string(),
                    why,
                }
            })?,
        ),
    };
    store.complete_action(
        case,
        task,
        found.as_deref(),
        &app.settings.actor,
        app.now_ms(),
    )?;
    Ok(found)
}

/// Whether `v` passes now; what it found, or why not.
fn check_verification(
    store: &Store,
    v: &Verification,
    since_ms: i64,
    rules: &crate::rules::RuleSources,
) -> std::result::Result<String, String> {
    match v {
        Verification::RuleTest(file) => run_rule_tests(std::path::Path::new(file), rules),
        Verification::Readiness(check) => {
            let run = store
                .latest_readiness()
                .map_err(|e| e.to_string())?
                .filter(|r| r.at_ms >= since_ms)
                .ok_or("no readiness report was recorded after the action was added (firebreak readiness)")?;
            let finding = run.report["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|f| f["check"] == check.as_str())
                .collect::<Vec<_>>();
            if finding.is_empty() {
                return Err(format!(
                    "the newest readiness report has no check `{check}`"
                ));
            }
            let failing: Vec<String> = finding
                .iter()
                .filter(|f| f["status"] != "pass")
                .map(|f| {
                    format!(
                        "{} {} {}",
                        f["account"].as_str().unwrap_or("plan"),
                        f["region"].as_str().unwrap_or(""),
                        f["status"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            if failing.is_empty() {
                Ok(format!(
                    "readiness check {check} passed in the report of {}",
                    format_iso(run.at_ms)
                ))
            } else {
                Err(format!(
                    "readiness check {check} does not pass: {}",
                    failing.join(", ")
                ))
            }
        }
        Verification::GameDay(scenario) => {
            let runs = store
                .gameday_runs_since(since_ms)
                .map_err(|e| e.to_string())?;
            match runs.iter().rev().find(|r| r.scenario == *scenario) {
                Some(r) if r.passed => Ok(format!(
                    "game day {} passed scenario {scenario} at {}",
                    r.run,
                    format_iso(r.finished_ms)
                )),
                Some(r) => Err(format!("game day {} failed scenario {scenario}", r.run)),
                None => Err(format!(
                    "no game day ran scenario {scenario} after the action was added (firebreak gameday run {scenario})"
                )),
            }
        }
    }
}

/// Runs the must-match and must-not-match cases of a rule tests file (`NAME.tests.jsonl`:
/// one `{"rule", "expect": "match"|"nomatch", "events": [...]}` per line) against the rules.
pub fn run_rule_tests(
    file: &std::path::Path,
    rules: &crate::rules::RuleSources,
) -> std::result::Result<String, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let loaded = crate::rules::load(rules).map_err(|e| e.to_string())?;
    let summaries = crate::rules::summaries(&loaded.set);
    let detector = loaded.detector(true, false);
    let mut passed = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = format!("{}:{}", file.display(), i + 1);
        let case: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{at}: {e}"))?;
        let name = case["rule"].as_str().ok_or(format!("{at}: no `rule`"))?;
        let expect = case["expect"].as_str().unwrap_or("match");
        let ids: Vec<&str> = summaries
            .iter()
            .filter(|r| {
                r.id == name
                    || r.name.as_deref() == Some(name)
                    || r.title == name
                    || std::path::Path::new(&r.file)
                        .file_stem()
                        .and_then(|s| s.to_str())
                        == Some(name)
            })
            .map(|r| r.id.as_str())
            .collect();
        if ids.is_empty() {
            return Err(format!("{at}: rule `{name}` is not loaded"));
        }
        let mut data = String::new();
        for e in case["events"].as_array().into_iter().flatten() {
            data.push_str(&e.to_string());
            data.push('\n');
        }
        let inputs = [ingest::Input::Memory {
            name: at.clone(),
            data: std::sync::Arc::from(data.into_bytes()),
        }];
        let mut fired = false;
        crate::pipeline::detect_inputs(
            &inputs,
            ingest::IngestOptions::default(),
            &crate::ports::NoProgress,
            &detector,
            |_| Ok::<_, Error>(()),
            |a| {
                fired |= ids.contains(&a.rule.id.as_str());
                Ok(())
            },
        )
        .map_err(|e| format!("{at}: {e}"))?;
        if fired != (expect == "match") {
            return Err(format!(
                "{at}: rule `{name}` {} (expected {expect})",
                if fired { "fired" } else { "did not fire" }
            ));
        }
        passed += 1;
    }
    if passed == 0 {
        return Err(format!("{} holds no test case", file.display()));
    }
    Ok(format!(
        "{passed} rule test case(s) in {} pass",
        file.display()
    ))
}

/// Records what a case turned out to be.
pub fn resolve(
    app: &App,
    store: &mut Store,
    case: CaseId,
    resolution: &str,
    reason: Option<&str>,
) -> Result<Resolution> {
    let r = Resolution::parse(resolution)
        .ok_or_else(|| ReviewRefusal::UnknownResolution(resolution.to_string()))?;
    store.resolve(case, r, reason, &app.settings.actor, app.now_ms())?;
    Ok(r)
}

/// The moments each case's metrics are measured from.
pub fn case_times(store: &Store) -> Result<Vec<CaseTimes>> {
    let cases = store.cases(true)?;
    let ids: Vec<CaseId> = cases.iter().map(|c| c.id).collect();
    let milestones = store.sla_milestones(&ids)?;
    let resolutions = store.resolutions()?;
    let first_events = store.first_event_times()?;
    let first_calls = store.first_response_calls()?;
    let first_comms = store.first_communications()?;
    Ok(cases
        .iter()
        .zip(milestones)
        .map(|(c, m)| {
            let at = |p: Phase| m.transitions.iter().find(|t| t.to == p).map(|t| t.at_ms);
            let ms =
                case::sla::Milestones::derive(&m.transitions, m.assigned_ms, m.communicated_ms);
            CaseTimes {
                case: c.id,
                level: c
                    .response
                    .as_ref()
                    .map_or_else(|| c.severity.name().to_string(), |r| r.level.clone()),
                first_activity_ms: first_events
                    .get(&c.id)
                    .copied()
                    .into_iter()
                    .chain(c.first_ms)
                    .min(),
                detected_ms: at(Phase::Detected).unwrap_or(c.opened_ms),
                acknowledged_ms: ms.acknowledged_ms,
                notified_ms: first_comms.get(&c.id).copied(),
                responded_ms: first_calls.get(&c.id).copied(),
                contained_ms: ms.contained_ms,
                recovered_ms: at(Phase::Recovered),
                closed_ms: at(Phase::Closed),
                not_an_incident: resolutions.get(&c.id).is_some_and(|r| !r.is_incident()),
                exercise: !c.counts_in_metrics(),
            }
        })
        .collect())
}

/// Metrics across every case of the store.
pub fn metrics(store: &Store) -> Result<Metrics> {
    Ok(report::metrics::compute(&case_times(store)?))
}

/// Late or coming post-incident work: open improvement actions with due dates, regulator
/// deadlines not met, reviews not finished, as of `now_ms`.
pub fn open_work(plan: Option<&plan::IrPlan>, store: &Store, now_ms: i64) -> Result<Vec<OpenWork>> {
    let mut out = Vec::new();
    for (case, t) in store.open_actions()? {
        if let (Some(due), Some(a)) = (t.due_ms, &t.action) {
            out.push(OpenWork {
                case,
                field: format!("action item {}", t.id),
                what: format!(
                    "action item {} ({}): {} — owner {}",
                    t.id,
                    a.kind,
                    t.title,
                    t.owner.as_deref().unwrap_or("-")
                ),
                due_ms: due,
                overdue: due < now_ms,
            });
        }
    }
    let Some(plan) = plan else {
        return Ok(out);
    };
    let holidays = plan.holiday_dates();
    for c in store.cases(false)? {
        if !c.counts_in_metrics() {
            continue;
        }
        for k in clocks_under(Some(plan), store, c.id)? {
            if k.met_ms.is_none() {
                out.push(OpenWork {
                    case: c.id,
                    field: format!("regulations[{}]", k.regulation),
                    what: format!("{} {}: {}", k.regulation, k.deadline, k.what),
                    due_ms: k.due_ms,
                    overdue: k.due_ms < now_ms,
                });
            }
        }
        let Some(level) = c.response.as_ref().map(|r| r.level.clone()) else {
            continue;
        };
        let Some(within) = plan.review.within.get(&level) else {
            continue;
        };
        if !matches!(c.phase, Phase::Recovered | Phase::PostIncident)
            || store.review_finished(c.id)?.is_some()
        {
            continue;
        }
        if let Some(start) = store
            .transitions(c.id)?
            .iter()
            .find(|t| t.to == Phase::Recovered || t.to == Phase::PostIncident)
        {
            let due = within.value.after(start.at_ms, &holidays);
            out.push(OpenWork {
                case: c.id,
                field: format!("review.within.{level}"),
                what: "post-incident review".into(),
                due_ms: due,
                overdue: due < now_ms,
            });
        }
    }
    out.sort_by_key(|w| (w.due_ms, w.case));
    Ok(out)
}
