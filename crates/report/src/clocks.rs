//! Regulator clocks: the plan's regulations, started by facts recorded on a case and met by
//! the communications sent for each deadline.

use crate::review::{CommunicationRecord, FactRecord};
use case::phase::human_duration;
use case::sla::ClockState;
use model::time::format_iso;
use serde::Serialize;

/// One deadline of one regulation on one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegulatoryClock {
    pub regulation: String,
    pub regulation_name: String,
    pub authority: Option<String>,
    pub deadline: String,
    /// What is due.
    pub what: String,
    /// The deadline's length in words (`72 hours`, `4 business days`).
    pub within: String,
    /// The fact that started it, and its row.
    pub fact: String,
    pub fact_id: i64,
    /// When the clock started (the fact's time, or the earlier deadline it counts from).
    pub start_ms: i64,
    pub due_ms: i64,
    /// When the communication that meets it was sent, and its id and audience.
    pub met_ms: Option<i64>,
    pub met_by: Option<(i64, String)>,
}

impl RegulatoryClock {
    pub fn state(&self, now_ms: i64) -> ClockState {
        match self.met_ms {
            Some(t) if t <= self.due_ms => ClockState::MetOnTime,
            Some(_) => ClockState::MetLate,
            None if now_ms <= self.due_ms => ClockState::Running,
            None => ClockState::Breached,
        }
    }

    /// `met 2026-…`, `due in 5h 3m`, `BREACHED 2h ago`.
    pub fn state_at(&self, now_ms: i64) -> String {
        match self.state(now_ms) {
            ClockState::MetOnTime => format!("met {}", format_iso(self.met_ms.unwrap_or(0))),
            ClockState::MetLate => format!(
                "met late {} ({} over)",
                format_iso(self.met_ms.unwrap_or(0)),
                human_duration(self.met_ms.unwrap_or(0) - self.due_ms)
            ),
            ClockState::Running => format!("due in {}", human_duration(self.due_ms - now_ms)),
            ClockState::Breached => {
                format!("BREACHED {} ago", human_duration(now_ms - self.due_ms))
            }
        }
    }
}

/// Every clock the case's facts start under `plan`, in the plan's order.
pub fn regulatory(
    plan: &plan::IrPlan,
    facts: &[FactRecord],
    communications: &[CommunicationRecord],
) -> Vec<RegulatoryClock> {
    let holidays = plan.holiday_dates();
    let mut out = Vec::new();
    for r in &plan.regulations {
        let Some(fact) = facts.iter().find(|f| f.fact == r.trigger.value) else {
            continue;
        };
        let mut done: Vec<RegulatoryClock> = Vec::new();
        for d in &r.deadlines {
            let start_ms = match &d.after {
                Some(after) => match done.iter().find(|c| c.deadline == after.value) {
                    Some(prev) => prev.met_ms.unwrap_or(prev.due_ms),
                    None => fact.at_ms,
                },
                None => fact.at_ms,
            };
            let due_ms = d.within.value.after(start_ms, &holidays);
            let met = communications
                .iter()
                .filter(|m| {
                    m.regulation.as_deref() == Some(r.id.value.as_str())
                        && m.deadline.as_deref() == Some(d.id.value.as_str())
                })
                .min_by_key(|m| m.sent_ms);
            done.push(RegulatoryClock {
                regulation: r.id.value.clone(),
                regulation_name: r.name.clone(),
                authority: r.authority.clone(),
                deadline: d.id.value.clone(),
                what: d.what.clone(),
                within: match &d.after {
                    Some(a) => format!("{} after {}", d.within.value.words(), a.value),
                    None => d.within.value.words(),
                },
                fact: fact.fact.clone(),
                fact_id: fact.id,
                start_ms,
                due_ms,
                met_ms: met.map(|m| m.sent_ms),
                met_by: met.map(|m| (m.id, m.audience.clone())),
            });
        }
        out.extend(done);
    }
    out
}
