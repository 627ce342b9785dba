//! After the incident, pure: the post-incident review drafted from a case with the source
//! of every figure and row ([`review`], rendered by [`render`] with [`chart`]s, checked
//! again by [`verify`]); the narrative responders write ([`narrative`]); communication
//! templates ([`comms`]); regulator clocks ([`clocks`]); and metrics across cases
//! ([`metrics`]).

pub mod chart;
pub mod clocks;
pub mod comms;
pub mod metrics;
pub mod narrative;
pub mod render;
pub mod review;
pub mod verify;

pub use comms::Audience;
pub use narrative::Field;
pub use render::Format;
pub use review::{Review, ReviewInputs, draft};
