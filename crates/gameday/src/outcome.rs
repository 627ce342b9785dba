//! What a run of a scenario found: each stage passed, failed, did not apply, could not run
//! (and why), or was left out on request, with its wall time; time to detect; and, when
//! the technique went unseen, the detection gap with the events that should have been caught.

use crate::scenario::{Mode, ScenarioId, Tactic};
use serde::{Deserialize, Serialize};

/// The stages of a game day, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    #[serde(rename = "warm-up")]
    Warmup,
    Detonate,
    Detected,
    Cased,
    Planned,
    Contained,
    RolledBack,
    Cleanup,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::Warmup,
        Stage::Detonate,
        Stage::Detected,
        Stage::Cased,
        Stage::Planned,
        Stage::Contained,
        Stage::RolledBack,
        Stage::Cleanup,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Warmup => "warm-up",
            Stage::Detonate => "detonate",
            Stage::Detected => "detected",
            Stage::Cased => "cased",
            Stage::Planned => "planned",
            Stage::Contained => "contained",
            Stage::RolledBack => "rolled-back",
            Stage::Cleanup => "cleanup",
        }
    }

    pub fn from_name(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|x| x.name() == s)
    }
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Passed,
    Failed,
    /// The scenario asks nothing of this stage (no response declared).
    NotApplicable,
    /// The stage could not run (an earlier stage failed, no AWS to act on); never a pass.
    CannotRun,
    /// Left out on request (`--until`, team mode stopping at *cased*).
    Stopped,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::NotApplicable => "n/a",
            Verdict::CannotRun => "not run",
            Verdict::Stopped => "stopped",
        }
    }
}

/// One stage's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageResult {
    pub stage: Stage,
    pub verdict: Verdict,
    pub ms: u64,
    /// What was found, or why it failed or could not run.
    pub detail: String,
}

/// A technique nothing detected: the rules that should have fired and the records they
/// should have fired on, ready to become rule tests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gap {
    pub missing_rules: Vec<String>,
    pub events: Vec<serde_json::Value>,
}

impl Gap {
    /// Rule-test lines (`rules/*.tests.jsonl` format): one must-match case per missing rule.
    pub fn rule_tests(&self, scenario: &ScenarioId) -> String {
        let mut out = String::new();
        for rule in &self.missing_rules {
            let line = serde_json::json!({
                "rule": rule,
                "expect": "match",
                "case": format!("game day {scenario}: the technique's events went undetected"),
                "events": self.events,
            });
            out.push_str(&line.to_string());
            out.push('\n');
        }
        out
    }
}

/// A scenario's run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioOutcome {
    pub scenario: ScenarioId,
    pub name: String,
    pub attack: Vec<String>,
    pub tactics: Vec<Tactic>,
    pub mode: Mode,
    pub stages: Vec<StageResult>,
    /// From the detonation's first event to the first expected alert's event.
    pub time_to_detect_ms: Option<i64>,
    /// The case the scenario made (in team mode, in the real store).
    pub case: Option<i64>,
    pub gap: Option<Gap>,
    pub total_ms: u64,
}

impl ScenarioOutcome {
    /// Passed when no stage failed or could not run.
    pub fn passed(&self) -> bool {
        self.stages
            .iter()
            .all(|s| !matches!(s.verdict, Verdict::Failed | Verdict::CannotRun))
    }

    pub fn stage(&self, stage: Stage) -> Option<&StageResult> {
        self.stages.iter().find(|s| s.stage == stage)
    }

    /// The first stage that failed or could not run.
    pub fn first_problem(&self) -> Option<&StageResult> {
        self.stages
            .iter()
            .find(|s| matches!(s.verdict, Verdict::Failed | Verdict::CannotRun))
    }

    /// Stages passed out of those that apply (for the Navigator score).
    pub fn score(&self) -> u32 {
        let applicable: Vec<_> = self
            .stages
            .iter()
            .filter(|s| !matches!(s.verdict, Verdict::NotApplicable | Verdict::Stopped))
            .collect();
        if applicable.is_empty() {
            return 0;
        }
        let passed = applicable
            .iter()
            .filter(|s| s.verdict == Verdict::Passed)
            .count();
        (passed * 100 / applicable.len()) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(verdicts: &[Verdict]) -> ScenarioOutcome {
        ScenarioOutcome {
            scenario: serde_json::from_str("\"s\"").unwrap(),
            name: "s".into(),
            attack: vec![],
            tactics: vec![],
            mode: Mode::Replay,
            stages: verdicts
                .iter()
                .zip(Stage::ALL)
                .map(|(v, stage)| StageResult {
                    stage,
                    verdict: *v,
                    ms: 0,
                    detail: String::new(),
                })
                .collect(),
            time_to_detect_ms: None,
            case: None,
            gap: None,
            total_ms: 0,
        }
    }

    #[test]
    fn a_stage_that_could_not_run_never_passes_the_scenario() {
        use Verdict::*;
        assert!(outcome(&[Passed, Passed, Passed, NotApplicable, Stopped]).passed());
        assert!(!outcome(&[Passed, Passed, Failed]).passed());
        assert!(!outcome(&[Passed, Passed, Passed, CannotRun]).passed());
        assert_eq!(outcome(&[Passed, Passed, Failed, CannotRun]).score(), 50);
        assert_eq!(
            outcome(&[Passed, Failed]).first_problem().unwrap().stage,
            Stage::Detonate
        );
    }
}
