//! The detector as an ingest handler: every command that detects reads through this.

use detect::{Detector, Matches};
use ingest::EventHandler;
use model::Event;

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
