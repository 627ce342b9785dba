//! Firebreak's domain model: normalized events aligned with OCSF 1.1, and the
//! small value types shared by every other crate. Pure: no IO, no clock.

pub mod alert;
pub mod event;
pub mod field;
pub mod ocsf;
pub mod scan;
pub mod time;

pub use alert::{Alert, AlertKind, EventRef, RuleRef};
pub use event::{
    Actor, Api, Event, EventClass, Finding, FlowAction, Network, Origin, Outcome, Raw, Resource,
    Severity, SourceKind, Text,
};
pub use field::FieldValue;
