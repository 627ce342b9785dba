//! Helpers shared by the detect integration tests.
#![allow(dead_code)]

use detect::{Detector, Matches};
use ingest::{EventHandler, IngestOptions, Input};
use model::{Alert, Event};
use std::path::PathBuf;

/// `../shared/data`, or `None` (reason printed) when absent outside CI; absent under
/// `CI=true` is a failure.
pub fn shared() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.join("README.md").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "shared data missing under CI=true"
    );
    eprintln!("skipping: no shared data at {}", dir.display());
    None
}

/// The detector as an ingest handler.
pub struct Run<'d>(pub &'d Detector);

impl EventHandler for Run<'_> {
    type Output = Matches;
    fn begin(&self) -> Matches {
        Matches::default()
    }
    fn event(&self, out: &mut Matches, ev: &Event<'_>) {
        self.0.evaluate(ev, out);
    }
}

/// Every alert (rules, findings, correlations) over `inputs`; rejections fail the test.
pub fn alerts(det: &Detector, inputs: &[Input], opts: &IngestOptions) -> Vec<Alert> {
    let mut out = Vec::new();
    let mut hits = Vec::new();
    ingest::ingest(inputs, opts, &Run(det), |c| {
        assert!(c.rejections.is_empty(), "{:?}", c.rejections);
        out.extend(c.output.alerts);
        hits.extend(c.output.hits);
    })
    .unwrap();
    out.extend(det.correlate(hits));
    out
}
