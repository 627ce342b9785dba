//! Working a case: notes, tasks, tags, the owner and need-to-know restrictions, each one
//! transaction with its audit entry, by the person acting (`actor`). The CLI acts as
//! `settings.actor`; the server as the signed-in person's contact.

use crate::{App, Result};
use case::CaseId;
use store::{Store, TaskStatus};

pub fn note(
    app: &App,
    store: &mut Store,
    case: CaseId,
    text: &str,
    communication: bool,
    actor: &str,
) -> Result<i64> {
    Ok(store.add_note(case, text, communication, actor, app.now_ms())?)
}

pub fn add_task(
    app: &App,
    store: &mut Store,
    case: CaseId,
    title: &str,
    owner: Option<&str>,
    due_ms: Option<i64>,
    actor: &str,
) -> Result<i64> {
    Ok(store.add_task(case, title, owner, due_ms, actor, app.now_ms())?)
}

pub fn close_task(
    app: &App,
    store: &mut Store,
    case: CaseId,
    task: i64,
    status: TaskStatus,
    actor: &str,
) -> Result<()> {
    Ok(store.close_task(case, task, status, actor, app.now_ms())?)
}

pub fn assign(app: &App, store: &mut Store, case: CaseId, owner: &str, actor: &str) -> Result<()> {
    Ok(store.assign(case, owner, actor, app.now_ms())?)
}

pub fn tag(
    app: &App,
    store: &mut Store,
    case: CaseId,
    tags: &[String],
    remove: bool,
    actor: &str,
) -> Result<()> {
    Ok(store.tag(case, tags, remove, actor, app.now_ms())?)
}

/// Restricts a case to the named IR plan contacts (need-to-know); none lifts it. The
/// person restricting must be among them, so nobody locks themselves out by mistake.
pub fn restrict(
    app: &App,
    store: &mut Store,
    case: CaseId,
    contacts: &[String],
    actor: &str,
) -> Result<()> {
    let mut contacts: Vec<String> = contacts
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    if let Some(p) = &app.settings.plan
        && let Some(unknown) = contacts.iter().find(|c| p.plan.contact(c).is_none())
    {
        return Err(crate::people::AccessRefusal::UnknownContact(unknown.clone()).into());
    }
    if !contacts.is_empty() && !contacts.iter().any(|c| c == actor) {
        contacts.push(actor.to_string());
    }
    contacts.sort();
    contacts.dedup();
    Ok(store.restrict_case(case, &contacts, actor, app.now_ms())?)
}

/// A case's SLA clocks and escalation state now, when it has plan terms.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResponseClocks {
    pub level: String,
    pub level_name: String,
    pub plan: String,
    pub since_ms: i64,
    pub clocks: Vec<(case::sla::Clock, case::sla::ClockState)>,
    pub escalated: Vec<(case::EscalationStep, i64)>,
    pub next: Option<(case::EscalationStep, i64)>,
    pub acknowledged: bool,
}

impl ResponseClocks {
    /// Any clock breached.
    pub fn breached(&self) -> bool {
        self.clocks
            .iter()
            .any(|(_, s)| *s == case::sla::ClockState::Breached)
    }
}

/// What a case's SLA clocks are measured from: its plan level's terms, since when, and
/// its milestones. Only the clock changes them between two changes of the store.
#[derive(Debug, Clone)]
pub struct SlaInputs {
    pub terms: case::ResponseTerms,
    pub since_ms: i64,
    pub milestones: case::sla::Milestones,
}

/// `c`'s SLA inputs, when it has plan terms.
pub fn sla_inputs(store: &Store, c: &store::CaseRow) -> Result<Option<SlaInputs>> {
    let (Some(terms), Some(since)) = (&c.response, c.response_since_ms) else {
        return Ok(None);
    };
    let (assigned, communicated) = store.first_assigned_and_communicated(c.id)?;
    let transitions = store.transitions(c.id)?;
    Ok(Some(SlaInputs {
        terms: terms.clone(),
        since_ms: since,
        milestones: case::sla::Milestones::derive(&transitions, assigned, communicated),
    }))
}

/// [`sla_inputs`] of many cases (a queue page) in three store reads.
pub fn sla_inputs_of(store: &Store, cases: &[store::CaseRow]) -> Result<Vec<Option<SlaInputs>>> {
    let with_terms: Vec<CaseId> = cases
        .iter()
        .filter(|c| c.response.is_some() && c.response_since_ms.is_some())
        .map(|c| c.id)
        .collect();
    let mut read = store
        .sla_milestones(&with_terms)?
        .into_iter()
        .zip(with_terms);
    Ok(cases
        .iter()
        .map(|c| {
            let (Some(terms), Some(since)) = (&c.response, c.response_since_ms) else {
                return None;
            };
            let (m, _) = read.next()?;
            Some(SlaInputs {
                terms: terms.clone(),
                since_ms: since,
                milestones: case::sla::Milestones::derive(
                    &m.transitions,
                    m.assigned_ms,
                    m.communicated_ms,
                ),
            })
        })
        .collect())
}

impl SlaInputs {
    /// The clocks and escalation state at `now_ms`.
    pub fn at(&self, now_ms: i64) -> ResponseClocks {
        let m = self.milestones;
        let terms = &self.terms;
        let st = case::sla::status(terms, self.since_ms, m, now_ms);
        ResponseClocks {
            level: terms.level.clone(),
            level_name: terms.level_name.clone(),
            plan: terms.plan.clone(),
            since_ms: self.since_ms,
            clocks: st
                .clocks
                .iter()
                .map(|k| (k.clone(), k.state(now_ms)))
                .collect(),
            escalated: st
                .escalated
                .iter()
                .map(|(s, at)| ((*s).clone(), *at))
                .collect(),
            next: st.next.map(|(s, at)| (s.clone(), at)),
            acknowledged: m.acknowledged_ms.is_some(),
        }
    }
}

/// Where `c` stands against its plan level at `now_ms`.
pub fn response_clocks(
    store: &Store,
    c: &store::CaseRow,
    now_ms: i64,
) -> Result<Option<ResponseClocks>> {
    Ok(sla_inputs(store, c)?.map(|i| i.at(now_ms)))
}
