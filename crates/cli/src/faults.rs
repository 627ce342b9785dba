//! Where a debug build can be made to die on purpose, for the kill tests: `FIREBREAK_FAULT`
//! set to `POINT:N` aborts the process (as a SIGKILL would: no destructor, no flush) the
//! N-th time it reaches POINT. Release builds ignore it.
//!
//! - `abort-after-intent`: a mutating AWS call was journaled as intended, not sent;
//! - `abort-after-call`: the call was sent and answered, its outcome not journaled;
//! - `abort-after-custody-append`: a custody entry was appended to the ledger file, not yet
//!   witnessed by the store;
//! - `skip-gameday-rollback`: a game day does not roll its N-th containment back (it must
//!   then fail at *rolled back*).

use anyhow::{Context, Result, bail};
use app::ports::{FaultPoint, FaultProbe};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Default)]
pub struct Faults {
    at: Option<(FaultPoint, usize)>,
    seen: [AtomicUsize; 4],
}

impl Faults {
    pub fn from_environment() -> Result<Faults> {
        if !cfg!(debug_assertions) {
            return Ok(Faults::default());
        }
        let Ok(v) = std::env::var("FIREBREAK_FAULT") else {
            return Ok(Faults::default());
        };
        let (point, n) = v
            .split_once(':')
            .with_context(|| format!("FIREBREAK_FAULT={v}: expected POINT:N"))?;
        let point = match point {
            "abort-after-intent" => FaultPoint::Intended,
            "abort-after-call" => FaultPoint::Sent,
            "abort-after-custody-append" => FaultPoint::CustodyAppended,
            "skip-gameday-rollback" => FaultPoint::GameDayRollback,
            other => bail!("FIREBREAK_FAULT: unknown point {other}"),
        };
        let n = n.parse().with_context(|| format!("FIREBREAK_FAULT={v}"))?;
        Ok(Faults {
            at: Some((point, n)),
            ..Default::default()
        })
    }
}

impl Faults {
    /// Counts one more arrival at `point`; whether it is the one named.
    fn arrive(&self, point: FaultPoint) -> bool {
        let slot = match point {
            FaultPoint::Intended => 0,
            FaultPoint::Sent => 1,
            FaultPoint::CustodyAppended => 2,
            FaultPoint::GameDayRollback => 3,
        };
        let seen = self.seen[slot].fetch_add(1, Ordering::SeqCst) + 1;
        self.at == Some((point, seen))
    }
}

impl FaultProbe for Faults {
    fn skips(&self, point: FaultPoint) -> bool {
        let skip = self.arrive(point);
        if skip {
            eprintln!("FIREBREAK_FAULT: skipping {point:?}");
        }
        skip
    }

    /// Counts one more arrival at `point`, and dies there if that is the one named.
    fn reached(&self, point: FaultPoint) {
        if self.arrive(point) {
            eprintln!("FIREBREAK_FAULT: aborting at {point:?}");
            std::process::abort();
        }
    }
}
