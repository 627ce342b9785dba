//! Where a case stands against its plan's response terms: each SLA clock (met, running,
//! breached) and the escalation chain (steps due so far, the next one).

use crate::phase::{Phase, Transition};
use crate::severity::{EscalationStep, ResponseTerms};
use serde::Serialize;

/// One service-level clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clock {
    /// `acknowledge`, `contain` or `communicate`.
    pub name: &'static str,
    pub due_ms: i64,
    /// When it was met, if it was.
    pub met_ms: Option<i64>,
}

/// A clock's state at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    MetOnTime,
    MetLate,
    Running,
    Breached,
}

impl Clock {
    pub fn state(&self, now_ms: i64) -> ClockState {
        match self.met_ms {
            Some(t) if t <= self.due_ms => ClockState::MetOnTime,
            Some(_) => ClockState::MetLate,
            None if now_ms <= self.due_ms => ClockState::Running,
            None => ClockState::Breached,
        }
    }
}

/// What happened on a case that the terms measure.
#[derive(Debug, Clone, Copy, Default)]
pub struct Milestones {
    /// An owner took the case (assignment or leaving `detected`).
    pub acknowledged_ms: Option<i64>,
    /// The case reached `contained` (or beyond).
    pub contained_ms: Option<i64>,
    /// The first stakeholder communication was recorded.
    pub communicated_ms: Option<i64>,
}

impl Milestones {
    /// From a case's phase `history` (in order), when it was first assigned, and when
    /// its first stakeholder communication was recorded. Acknowledged is the earlier of
    /// the first assignment and leaving `detected`; contained is the first phase at or
    /// past `contained` (a false positive sent to post-incident needs no containment).
    pub fn derive(
        history: &[Transition],
        assigned_ms: Option<i64>,
        communicated_ms: Option<i64>,
    ) -> Self {
        let left_detected = history
            .iter()
            .find(|t| t.from == Some(Phase::Detected))
            .map(|t| t.at_ms);
        Milestones {
            acknowledged_ms: assigned_ms.into_iter().chain(left_detected).min(),
            contained_ms: history
                .iter()
                .find(|t| t.to >= Phase::Contained)
                .map(|t| t.at_ms),
            communicated_ms,
        }
    }
}

/// The case against its terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseStatus<'t> {
    pub clocks: Vec<Clock>,
    /// Steps whose time came before the case was acknowledged (or now), with their times.
    pub escalated: Vec<(&'t EscalationStep, i64)>,
    /// The next step and when it is due, while the case is unacknowledged.
    pub next: Option<(&'t EscalationStep, i64)>,
}

/// Measures `m` against `terms`, whose clocks started at `since_ms`.
pub fn status(
    terms: &ResponseTerms,
    since_ms: i64,
    m: Milestones,
    now_ms: i64,
) -> ResponseStatus<'_> {
    let clock = |name, after: i64, met: Option<i64>| Clock {
        name,
        due_ms: since_ms + after,
        met_ms: met,
    };
    let clocks = vec![
        clock("acknowledge", terms.acknowledge_ms, m.acknowledged_ms),
        clock("contain", terms.contain_ms, m.contained_ms),
        clock("communicate", terms.communicate_ms, m.communicated_ms),
    ];
    let stop = m.acknowledged_ms.unwrap_or(now_ms).min(now_ms);
    let mut escalated = Vec::new();
    let mut next = None;
    for s in &terms.escalation {
        let at = since_ms + s.after_ms;
        if at <= stop {
            escalated.push((s, at));
        } else if m.acknowledged_ms.is_none() {
            next = Some((s, at));
            break;
        }
    }
    ResponseStatus {
        clocks,
        escalated,
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> ResponseTerms {
        let step = |after_ms, who: &str| EscalationStep {
            after_ms,
            notify: vec![who.to_string()],
            via: None,
            level: "sev1".into(),
        };
        ResponseTerms {
            plan: "p".into(),
            level: "sev1".into(),
            level_name: "Critical".into(),
            acknowledge_ms: 15,
            contain_ms: 100,
            communicate_ms: 50,
            escalation: vec![step(0, "a"), step(15, "b"), step(30, "c")],
        }
    }

    #[test]
    fn milestones_from_history() {
        let t = |from: Option<Phase>, to, at_ms| Transition {
            from,
            to,
            actor: "a".into(),
            at_ms,
            reason: None,
        };
        let history = [
            t(None, Phase::Detected, 0),
            t(Some(Phase::Detected), Phase::Analyzing, 30),
            t(Some(Phase::Analyzing), Phase::Contained, 90),
        ];
        let m = Milestones::derive(&history, Some(20), Some(40));
        assert_eq!(
            (m.acknowledged_ms, m.contained_ms, m.communicated_ms),
            (Some(20), Some(90), Some(40))
        );
        let m = Milestones::derive(&history[..2], None, None);
        assert_eq!((m.acknowledged_ms, m.contained_ms), (Some(30), None));
    }

    #[test]
    fn clocks_and_escalation() {
        let t = terms();
        // Unacknowledged at +20: two steps due, the third next; ack clock breached.
        let s = status(&t, 1000, Milestones::default(), 1020);
        assert_eq!(s.escalated.len(), 2);
        assert_eq!(
            s.next.map(|(x, at)| (x.notify[0].as_str(), at)),
            Some(("c", 1030))
        );
        assert_eq!(s.clocks[0].state(1020), ClockState::Breached);
        assert_eq!(s.clocks[1].state(1020), ClockState::Running);
        // Acknowledged at +10: escalation stopped after the first step.
        let m = Milestones {
            acknowledged_ms: Some(1010),
            contained_ms: Some(1200),
            communicated_ms: Some(1040),
        };
        let s = status(&t, 1000, m, 5000);
        assert_eq!(s.escalated.len(), 1);
        assert!(s.next.is_none());
        let states: Vec<ClockState> = s.clocks.iter().map(|c| c.state(5000)).collect();
        assert_eq!(
            states,
            [
                ClockState::MetOnTime,
                ClockState::MetLate,
                ClockState::MetOnTime
            ]
        );
    }
}
