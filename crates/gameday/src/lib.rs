//! Game days as data, pure: scenarios (YAML: technique, ATT&CK ids, warm-up, detonation,
//! expectations, containment proofs), traces re-bound to a run's resources ([`replay`]),
//! the CloudTrail record of an emulated call ([`trail`]), what each stage found
//! ([`outcome`]) and the reports made of it ([`report`]). Running a scenario is
//! `app::gameday`'s job; calling AWS is `aws::gameday`'s.

pub mod api;
pub mod outcome;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod trail;

pub use api::Api;
pub use outcome::{Gap, ScenarioOutcome, Stage, StageResult, Verdict};
pub use scenario::{
    Condition, EmulatedCall, Mode, Resource, ResourceKind, Scenario, ScenarioError, ScenarioId,
    Tactic, parse,
};

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

pub use bundled::{SCENARIOS, TRACES};

/// The bundled scenarios, parsed. A bundled file that does not parse is a build defect:
/// the tests load every one.
pub fn bundled() -> Result<Vec<Scenario>, Vec<ScenarioError>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (file, text) in SCENARIOS {
        match parse(text, &format!("gamedays/{file}")) {
            Ok(s) => out.push(s),
            Err(e) => problems.extend(e),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// A bundled trace by file name.
pub fn bundled_trace(name: &str) -> Option<&'static str> {
    TRACES.iter().find(|(f, _)| *f == name).map(|(_, t)| *t)
}
