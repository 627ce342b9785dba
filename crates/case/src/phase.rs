//! The incident lifecycle as a state machine with guarded transitions, and the response
//! metrics its history yields.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a case is in the NIST SP 800-61 / AWS incident response lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Detected,
    Analyzing,
    Contained,
    Eradicated,
    Recovered,
    PostIncident,
    Closed,
}

impl Phase {
    pub const ALL: [Phase; 7] = [
        Self::Detected,
        Self::Analyzing,
        Self::Contained,
        Self::Eradicated,
        Self::Recovered,
        Self::PostIncident,
        Self::Closed,
    ];

    /// Stable kebab-case name (`post-incident`), as typed and stored.
    pub fn name(self) -> &'static str {
        match self {
            Self::Detected => "detected",
            Self::Analyzing => "analyzing",
            Self::Contained => "contained",
            Self::Eradicated => "eradicated",
            Self::Recovered => "recovered",
            Self::PostIncident => "post-incident",
            Self::Closed => "closed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Phases reachable from this one, and whether going there needs a stated reason.
    ///
    /// The forward path is one step at a time. Three side doors exist, each needing a
    /// reason: analysis concluding there is nothing to contain (false positive or benign,
    /// straight to post-incident), containment found incomplete (back to analyzing), and
    /// reopening a closed case.
    pub fn next(self) -> &'static [(Phase, bool)] {
        use Phase::*;
        match self {
            Detected => &[(Analyzing, false)],
            Analyzing => &[(Contained, false), (PostIncident, true)],
            Contained => &[(Eradicated, false), (Analyzing, true)],
            Eradicated => &[(Recovered, false)],
            Recovered => &[(PostIncident, false)],
            PostIncident => &[(Closed, false)],
            Closed => &[(Analyzing, true)],
        }
    }

    /// Whether the case still needs work (every phase but closed).
    pub fn is_open(self) -> bool {
        self != Self::Closed
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a transition is checked against.
#[derive(Debug, Clone)]
pub struct PhaseState<'a> {
    pub phase: Phase,
    pub owner: Option<&'a str>,
    pub open_tasks: usize,
    /// When the case entered its current phase (epoch ms).
    pub since_ms: i64,
}

/// A transition the state machine refused, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransitionError {
    #[error("the case is already {0}")]
    Same(Phase),
    #[error("cannot go from {from} to {to}; from {from} the case can go to {allowed}")]
    NotAllowed {
        from: Phase,
        to: Phase,
        allowed: String,
    },
    #[error("going from {from} to {to} needs a reason (--reason)")]
    ReasonRequired { from: Phase, to: Phase },
    #[error(
        "the case has no owner; assign one before leaving detected (firebreak case assign ID NAME)"
    )]
    NoOwner,
    #[error("{0} task(s) still open; finish or cancel them before closing")]
    OpenTasks(usize),
    #[error("the transition time is before the case entered {0}")]
    BeforeCurrent(Phase),
}

/// Checks a transition to `to` at `at_ms`, with an optional reason.
pub fn check_transition(
    state: &PhaseState<'_>,
    to: Phase,
    at_ms: i64,
    reason: Option<&str>,
) -> Result<(), TransitionError> {
    let from = state.phase;
    if from == to {
        return Err(TransitionError::Same(to));
    }
    let Some(&(_, needs_reason)) = from.next().iter().find(|(p, _)| *p == to) else {
        let allowed = from
            .next()
            .iter()
            .map(|(p, _)| p.name())
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(TransitionError::NotAllowed { from, to, allowed });
    };
    if needs_reason && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(TransitionError::ReasonRequired { from, to });
    }
    if from == Phase::Detected && state.owner.is_none_or(|o| o.trim().is_empty()) {
        return Err(TransitionError::NoOwner);
    }
    if to == Phase::Closed && state.open_tasks > 0 {
        return Err(TransitionError::OpenTasks(state.open_tasks));
    }
    if at_ms < state.since_ms {
        return Err(TransitionError::BeforeCurrent(from));
    }
    Ok(())
}

/// One recorded transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub from: Option<Phase>,
    pub to: Phase,
    pub actor: String,
    pub at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Response times in milliseconds, from a case's first activity and phase history.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// First malicious activity to detection (the case opening).
    pub time_to_detect_ms: Option<i64>,
    /// Detection to first containment.
    pub time_to_contain_ms: Option<i64>,
    /// Detection to recovery.
    pub time_to_recover_ms: Option<i64>,
    /// Detection to closing.
    pub time_to_close_ms: Option<i64>,
}

impl Metrics {
    /// `history` in order; `first_seen_ms` is the case's earliest event.
    pub fn compute(first_seen_ms: Option<i64>, history: &[Transition]) -> Self {
        let first = |p: Phase| history.iter().find(|t| t.to == p).map(|t| t.at_ms);
        let detected = first(Phase::Detected);
        let since = |p: Phase| Some(first(p)? - detected?);
        Metrics {
            time_to_detect_ms: detected.zip(first_seen_ms).map(|(d, f)| d - f),
            time_to_contain_ms: since(Phase::Contained),
            time_to_recover_ms: since(Phase::Recovered),
            time_to_close_ms: since(Phase::Closed),
        }
    }
}

/// `3d 4h`, `2h 5m`, `45s`: a duration for people.
pub fn human_duration(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let s = ms.unsigned_abs() / 1000;
    let (d, h, m) = (s / 86_400, s / 3600 % 24, s / 60 % 60);
    let body = if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {}s", s % 60)
    } else {
        format!("{s}s")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(phase: Phase) -> PhaseState<'static> {
        PhaseState {
            phase,
            owner: Some("alice"),
            open_tasks: 0,
            since_ms: 100,
        }
    }

    #[test]
    fn the_forward_path_is_one_step_at_a_time() {
        let path = [
            Phase::Detected,
            Phase::Analyzing,
            Phase::Contained,
            Phase::Eradicated,
            Phase::Recovered,
            Phase::PostIncident,
            Phase::Closed,
        ];
        for w in path.windows(2) {
            assert_eq!(check_transition(&state(w[0]), w[1], 200, None), Ok(()));
        }
        assert!(matches!(
            check_transition(&state(Phase::Detected), Phase::Contained, 200, None),
            Err(TransitionError::NotAllowed { .. })
        ));
        assert!(matches!(
            check_transition(&state(Phase::Eradicated), Phase::Closed, 200, None),
            Err(TransitionError::NotAllowed { .. })
        ));
        assert_eq!(
            check_transition(&state(Phase::Analyzing), Phase::Analyzing, 200, None),
            Err(TransitionError::Same(Phase::Analyzing))
        );
    }

    #[test]
    fn guards() {
        let mut s = state(Phase::Detected);
        s.owner = None;
        assert_eq!(
            check_transition(&s, Phase::Analyzing, 200, None),
            Err(TransitionError::NoOwner)
        );
        let mut s = state(Phase::PostIncident);
        s.open_tasks = 2;
        assert_eq!(
            check_transition(&s, Phase::Closed, 200, None),
            Err(TransitionError::OpenTasks(2))
        );
        assert_eq!(
            check_transition(&state(Phase::Analyzing), Phase::PostIncident, 200, None),
            Err(TransitionError::ReasonRequired {
                from: Phase::Analyzing,
                to: Phase::PostIncident
            })
        );
        assert_eq!(
            check_transition(
                &state(Phase::Analyzing),
                Phase::PostIncident,
                200,
                Some("benign: pentest")
            ),
            Ok(())
        );
        assert_eq!(
            check_transition(&state(Phase::Closed), Phase::Analyzing, 200, Some("  ")),
            Err(TransitionError::ReasonRequired {
                from: Phase::Closed,
                to: Phase::Analyzing
            })
        );
        assert_eq!(
            check_transition(&state(Phase::Analyzing), Phase::Contained, 50, None),
            Err(TransitionError::BeforeCurrent(Phase::Analyzing))
        );
    }

    #[test]
    fn names_round_trip_and_metrics() {
        for p in Phase::ALL {
            assert_eq!(Phase::from_name(p.name()), Some(p));
        }
        assert_eq!(Phase::from_name("Post_Incident"), Some(Phase::PostIncident));
        let t = |to, at_ms| Transition {
            from: None,
            to,
            actor: "a".into(),
            at_ms,
            reason: None,
        };
        let m = Metrics::compute(
            Some(1_000),
            &[
                t(Phase::Detected, 61_000),
                t(Phase::Analyzing, 70_000),
                t(Phase::Contained, 121_000),
                t(Phase::Recovered, 3_661_000),
            ],
        );
        assert_eq!(m.time_to_detect_ms, Some(60_000));
        assert_eq!(m.time_to_contain_ms, Some(60_000));
        assert_eq!(m.time_to_recover_ms, Some(3_600_000));
        assert_eq!(m.time_to_close_ms, None);
        assert_eq!(human_duration(3_600_000 + 5 * 60_000), "1h 5m");
        assert_eq!(human_duration(90_061_000), "1d 1h");
    }
}
