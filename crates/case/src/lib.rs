//! Cases: alerts grouped into incidents by the entities they share, with severity, domain,
//! ATT&CK, a guarded phase state machine, timelines and blast radius. Pure: no IO, no
//! clock (times come in as arguments).

pub mod domain;
pub mod group;
pub mod phase;
pub mod severity;
pub mod sla;
pub mod summary;
pub mod timeline;

pub use domain::Domain;
pub use group::{AlertLinks, CaseId, CaseRef, GroupingConfig, OpenCase, group};
pub use phase::{Metrics, Phase, Transition, TransitionError};
pub use severity::{
    Assessment, CaseFacts, DefaultMatrix, EscalationStep, ResponseTerms, SeverityPolicy,
};
pub use timeline::{BlastRadius, EntitySighting, TimelineEvent};
