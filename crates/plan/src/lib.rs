//! The incident response plan as code: a versioned TOML or YAML file holding the team,
//! roles (RACI per phase), contacts, communication channels with out-of-band backups,
//! phases and actions, severity levels with SLAs and escalation chains, which playbook
//! answers which detection, the forensic account, and the exercise cadence.
//!
//! [`parse`] reads a plan with located errors, [`check`] validates it, [`render`] writes
//! the formal document, and [`PlanPolicy`] gives cases their severity and escalation.
//! Pure: no IO, no clock (callers pass today's date).

pub mod check;
pub mod deadline;
pub mod located;
pub mod model;
pub mod policy;
pub mod readiness;
pub mod render;

pub use check::{CheckContext, Gravity, OpenWork, Problem, RecordedGameDay, check};
pub use deadline::Span;
pub use located::{Date, Format, Interval, Located};
pub use model::{IrPlan, PhaseName};
pub use policy::PlanPolicy;

/// A complete, commented example plan (`firebreak plan init`).
pub const EXAMPLE: &str = include_str!("example.toml");

/// A plan file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: u32,
        message: String,
    },
}

/// Parses a plan from `text`; `file` names it in errors.
pub fn parse(text: &str, file: &str, format: Format) -> Result<IrPlan, PlanError> {
    located::with_source(text, format, || match format {
        Format::Toml => toml::from_str::<IrPlan>(text).map_err(|e| PlanError::Syntax {
            file: file.to_string(),
            line: e.span().map_or(0, |s| located::line_at(s.start)),
            message: e.message().trim().to_string(),
        }),
        Format::Yaml => serde_saphyr::from_str::<IrPlan>(text).map_err(|e| PlanError::Syntax {
            file: file.to_string(),
            line: e.location().map_or(0, |l| l.line() as u32),
            message: yaml_message(&e),
        }),
    })
}

/// serde-saphyr's message without its source snippet (we print file:line ourselves).
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default().trim();
    first
        .split_once(" at line ")
        .map_or(first, |(m, _)| m)
        .to_string()
}
