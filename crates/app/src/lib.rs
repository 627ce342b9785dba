//! Firebreak's use cases, written once for every entry point: the CLI and the server parse
//! their input, call one of these and present what it returns.
//!
//! - [`pipeline`]: ingest → detect → correlate, and a hunt's alerts into cases with their
//!   timelines (the timeline pass);
//! - [`evidence`]: custody recording (chain → announce → append → witness), verification,
//!   anchors and uploads to the evidence bucket;
//! - [`collect`]: a case's collection request, run into the locker and the ledger;
//! - [`respond`]: choose a playbook, plan (with a dry-run), approve, run, roll back, and the
//!   journal a run keeps in the store;
//! - [`cases`]: entity sightings, metrics, the export document, closing with an anchor;
//! - [`people`] and [`access`]: accounts, sign-in, API tokens, and what the IR plan's roles
//!   let each person see and do;
//! - [`work`]: notes, tasks, tags, owner, restrictions, and the SLA clocks;
//! - [`readiness`]: the IR plan's checks and its accounts' through AWS;
//! - [`rules`]: the Sigma rules a hunt runs, bundled and a team's own;
//! - [`report`]: the post-incident review (drafted with every figure's source, verified
//!   again), facts and regulator clocks, communications, improvement actions, metrics;
//! - [`gameday`]: attacker techniques run end to end against the emulator or an exercise
//!   account, each stage proven, every run recorded.
//!
//! What the use cases need from outside comes through [`ports`]: the clock, AWS access,
//! keys, notifications and the fault points of the kill tests. The store is the `store`
//! crate's [`store::Store`].

pub mod access;
pub mod cases;
pub mod collect;
pub mod error;
pub mod evidence;
pub mod gameday;
pub mod people;
pub mod pipeline;
pub mod ports;
pub mod readiness;
pub mod report;
pub mod respond;
pub mod rules;
pub mod settings;
pub mod work;

pub use error::{Error, Result};
pub use ports::Ports;
pub use settings::{ApprovalSettings, EvidenceSettings, LoadedPlan, Settings};

/// What a use case runs with: resolved settings and the ports.
pub struct App {
    pub settings: Settings,
    pub ports: Ports,
}

impl App {
    pub fn new(settings: Settings, ports: Ports) -> App {
        App { settings, ports }
    }

    /// Milliseconds since the Unix epoch, by the clock port.
    pub fn now_ms(&self) -> i64 {
        self.ports.clock.now_ms()
    }

    /// A single-threaded async runtime for the AWS calls of one use case.
    pub fn runtime(&self) -> Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)
    }
}
