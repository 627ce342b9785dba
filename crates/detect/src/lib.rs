//! Detection over normalized AWS events: compiled Sigma rules routed by logsource and
//! `eventName`, evaluated lazily against the original records; GuardDuty and Security Hub
//! findings as alerts; correlation rules over the matches.

pub mod attack;
pub mod aws_ranges;
pub mod correlate;
pub mod doc;
mod engine;
mod findings;
pub mod rules;

pub use correlate::Correlator;
pub use engine::{Detector, Hit, Matches, event_ref, severity_of, sources_of};
pub use findings::finding_alert;
