//! What the use cases need from outside, each behind a small trait the binary fills in:
//! the clock, AWS access, signing keys, notifications, and the named points where a debug
//! build can be made to die for the kill tests.

use crate::{Error, Result};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

/// A future a port returns (boxed, so ports can be trait objects).
pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Time.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// AWS as the caller's credentials reach it (the binary resolves them, and the endpoint of
/// an emulator when one is named); use cases assume the plan's responder role from it.
pub trait AwsAccess: Send + Sync {
    /// The caller's connection, in `region` (else the configured default).
    fn caller<'a>(&'a self, region: Option<&'a str>) -> PortFuture<'a, aws::Connection>;
}

/// Signing keys (approval and custody seeds) by where they are kept.
pub trait KeyStore: Send + Sync {
    fn signing_key(&self, at: &Path) -> Result<signing::SigningKey>;
}

/// Seeds in files written by `firebreak keygen`.
pub struct KeyFiles;

impl KeyStore for KeyFiles {
    fn signing_key(&self, at: &Path) -> Result<signing::SigningKey> {
        let seed = std::fs::read_to_string(at).map_err(Error::io("read key", at))?;
        signing::signing_key(&seed).map_err(|source| Error::Key {
            path: at.to_path_buf(),
            source,
        })
    }
}

/// Something people should hear about now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A hunt opened cases.
    CasesOpened(Vec<case::CaseId>),
    /// A response plan waits for approval.
    ApprovalRequested {
        case: case::CaseId,
        plan: store::ResponsePlanId,
    },
    /// A plan's run or rollback finished; `ok` when every step did.
    PlanFinished {
        case: case::CaseId,
        plan: store::ResponsePlanId,
        rollback: bool,
        ok: bool,
    },
}

/// Where notices go. Delivery (channels, retries, failover) is the notifier's business.
pub trait Notifier: Send + Sync {
    fn notify(&self, notice: Notice);
}

/// Tells nobody.
pub struct Silent;

impl Notifier for Silent {
    fn notify(&self, _: Notice) {}
}

/// Named points in the use cases where a kill test stops the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// A mutating AWS call was journaled as intended, not sent.
    Intended,
    /// The call was sent and answered, its outcome not journaled.
    Sent,
    /// A custody entry was appended to the ledger file, not yet witnessed by the store.
    CustodyAppended,
    /// A game day is about to roll its containment back (a test skips it, to prove the
    /// rolled-back stage notices).
    GameDayRollback,
}

/// Reports arrival at each [`FaultPoint`]; a test build may die there.
pub trait FaultProbe: Send + Sync {
    fn reached(&self, point: FaultPoint);
    /// Whether a test asks that the work at `point` be left undone (counts an arrival).
    fn skips(&self, _point: FaultPoint) -> bool {
        false
    }
}

/// Never dies.
pub struct NoFaults;

impl FaultProbe for NoFaults {
    fn reached(&self, _: FaultPoint) {}
}

/// Every port a use case may use.
#[derive(Clone)]
pub struct Ports {
    pub clock: Arc<dyn Clock>,
    pub aws: Arc<dyn AwsAccess>,
    pub keys: Arc<dyn KeyStore>,
    pub notifier: Arc<dyn Notifier>,
    pub faults: Arc<dyn FaultProbe>,
}

/// How far a long read has got, for a progress bar.
pub trait Progress: Sync {
    /// A read of `total_bytes` (when known) starts.
    fn begin(&self, total_bytes: Option<u64>);
    /// `read_bytes` have been read so far.
    fn advance(&self, read_bytes: u64);
    fn finish(&self);
}

/// Shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
