//! Firebreak's domain model: normalized events aligned with OCSF 1.1, and the
//! small value types shared by every other crate. Pure: no IO, no clock.

pub mod alert;
pub mod entity;
pub mod event;
pub mod field;
pub mod ids;
pub mod ocsf;
pub mod scan;
pub mod time;

pub use alert::{Alert, AlertKind, EventContext, EventRef, RuleRef};
pub use entity::{Entity, EntityKind};
pub use event::{
    Actor, Api, Event, EventClass, Finding, FlowAction, Network, Origin, Outcome, Raw, Resource,
    Severity, SourceKind, Text,
};
pub use field::FieldValue;
pub use ids::{AccountId, Arn, IdError};
