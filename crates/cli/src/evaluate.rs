//! The detector as an ingest handler: every command that detects reads through this.

use crate::ingest_cmd::{RejectSink, run_with_progress};
use anyhow::Result;
use detect::{Correlator, Detector, Matches};
use ingest::{EventHandler, IngestOptions, Input, Summary};
use model::{Alert, Event};

/// Evaluates each event read against the detector; one `Matches` per chunk.
pub struct Evaluate<'d>(pub &'d Detector);

impl EventHandler for Evaluate<'_> {
    type Output = Matches;
    fn begin(&self) -> Matches {
        Matches::default()
    }
    fn event(&self, out: &mut Matches, ev: &Event<'_>) {
        self.0.evaluate(ev, out);
    }
}

/// Runs `detector` over `inputs` (detection-only ingest: actors stay in the records) and
/// hands every alert to `on_alert` in input order, correlation alerts as they complete and
/// the rest at the end.
pub fn detect_inputs(
    inputs: &[Input],
    opts: IngestOptions,
    show_progress: bool,
    detector: &Detector,
    rejects: &mut RejectSink,
    mut on_alert: impl FnMut(&Alert) -> Result<()>,
) -> Result<Summary> {
    let mut correlator = Correlator::new(detector);
    let mut completed = Vec::new();
    let opts = IngestOptions {
        normalize_actor: false,
        ..opts
    };
    let summary = run_with_progress(inputs, opts, show_progress, &Evaluate(detector), |chunk| {
        for a in &chunk.output.alerts {
            on_alert(a)?;
        }
        for hit in chunk.output.hits {
            correlator.push(hit, &mut completed);
        }
        for a in completed.drain(..) {
            on_alert(&a)?;
        }
        rejects.add(chunk.rejections)
    })?;
    for a in correlator.finish() {
        on_alert(&a)?;
    }
    Ok(summary)
}
