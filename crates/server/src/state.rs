//! What every request shares: the application, its store connections and the server's
//! settings.

use crate::error::{Failure, Result};
use std::path::PathBuf;
use std::sync::Mutex;
use store::Store;

/// How the server runs.
#[derive(Clone, Default)]
pub struct ServerConfig {
    /// Mark cookies `Secure` (on unless the server listens on loopback without TLS in front).
    pub secure_cookies: bool,
    /// The team server's attestation key for approvals by signed-in people.
    pub attestation_key: Option<signing::SigningKey>,
    /// Directories of the playbooks response plans are made from.
    pub playbooks: Vec<PathBuf>,
    /// Behind an ALB that authenticates: trust its signed identity header, verified.
    pub alb: Option<crate::alb::AlbTrust>,
    /// Sign-in through the organization's OpenID Connect provider (discovered at start).
    pub oidc: Option<std::sync::Arc<crate::oidc::Oidc>>,
    /// The rules the server's hunts run (none: the bundled rules).
    pub rules: Option<std::sync::Arc<ServerRules>>,
    /// Read everything from the store on every request, keeping nothing (the bench's
    /// measure of the uncached cost).
    pub cold_reads: bool,
}

/// The rules the server's hunts run, as loaded at start.
pub struct ServerRules {
    /// Built with alert contexts, for cases.
    pub detector: detect::Detector,
    /// Each rule and correlation that raises alerts, bundled or the team's own.
    pub listed: Vec<app::rules::RuleSummary>,
    /// Rules that did not load and were left out (`--skip-invalid-rules`), each with file,
    /// line and reason.
    pub skipped: Vec<String>,
}

impl ServerRules {
    /// The rules `loaded` names, with what did not load listed as skipped.
    pub fn new(loaded: app::rules::LoadedRules) -> ServerRules {
        let listed = app::rules::summaries(&loaded.set);
        let skipped = loaded.errors.iter().map(ToString::to_string).collect();
        ServerRules {
            detector: loaded.detector(true, true),
            listed,
            skipped,
        }
    }

    /// The bundled rules alone.
    pub fn bundled() -> app::Result<ServerRules> {
        Ok(ServerRules::new(app::rules::LoadedRules {
            set: app::rules::bundled_set()?,
            errors: Vec::new(),
            files: detect::rules::BUNDLED.len(),
        }))
    }
}

/// Connections kept, and store work run at once (SQLite in WAL mode lets readers run
/// beside the one writer).
const STORE_WORKERS: usize = 8;

/// The state behind every handler.
pub struct Shared {
    pub app: app::App,
    pub config: ServerConfig,
    pool: Mutex<Vec<Store>>,
    /// Store work running at once: as many as the pool keeps connections for, so a burst
    /// of requests queues here instead of opening and closing connections and switching
    /// among more threads than the machine has cores for.
    store_work: tokio::sync::Semaphore,
    /// A connection that never writes: its `data_version` moves with every commit made
    /// anywhere, which is the version kept reads are checked against.
    probe: Mutex<Option<Store>>,
    cold_version: std::sync::atomic::AtomicI64,
    /// Reads the pages repeat, kept until the store changes.
    pub(crate) kept: crate::cache::KeptReads,
    bundled_rules: std::sync::OnceLock<std::sync::Arc<ServerRules>>,
    /// Bumped whenever the store is seen to change (what live pages wait on).
    pub changes: tokio::sync::watch::Sender<i64>,
}

impl Shared {
    pub fn new(app: app::App, config: ServerConfig) -> Shared {
        Shared {
            app,
            config,
            pool: Mutex::new(Vec::new()),
            store_work: tokio::sync::Semaphore::new(STORE_WORKERS),
            probe: Mutex::new(None),
            cold_version: std::sync::atomic::AtomicI64::new(1),
            kept: Default::default(),
            bundled_rules: std::sync::OnceLock::new(),
            changes: tokio::sync::watch::channel(0).0,
        }
    }

    /// The rules hunts run: those configured at start, else the bundled ones.
    pub fn rules(&self) -> Result<std::sync::Arc<ServerRules>> {
        if let Some(r) = &self.config.rules {
            return Ok(r.clone());
        }
        if let Some(r) = self.bundled_rules.get() {
            return Ok(r.clone());
        }
        let built = std::sync::Arc::new(ServerRules::bundled()?);
        Ok(self.bundled_rules.get_or_init(|| built).clone())
    }

    /// The store's version now: it changes whenever anyone commits.
    pub fn store_version(&self) -> Result<i64> {
        if self.config.cold_reads {
            // A version nothing was kept at.
            return Ok(-self
                .cold_version
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        }
        let mut probe = self
            .probe
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if probe.is_none() {
            *probe = Some(Store::open_read_only(&self.app.settings.db).map_err(app::Error::from)?);
        }
        let version = probe
            .as_ref()
            .map(Store::data_version)
            .transpose()
            .map_err(app::Error::from)?;
        Ok(version.unwrap_or_default())
    }

    fn take(&self) -> Result<Store> {
        let reused = self.pool.lock().ok().and_then(|mut p| p.pop());
        match reused {
            Some(s) => Ok(s),
            None => Ok(Store::open(&self.app.settings.db).map_err(app::Error::from)?),
        }
    }

    fn give(&self, s: Store) {
        if let Ok(mut p) = self.pool.lock()
            && p.len() < STORE_WORKERS
        {
            p.push(s);
        }
    }

    /// Runs `f` with a store connection on a blocking thread (SQLite and the use cases are
    /// synchronous; AWS calls inside a use case run on their own runtime).
    pub async fn with_store<T: Send + 'static>(
        self: &std::sync::Arc<Self>,
        f: impl FnOnce(&Shared, &mut Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let me = self.clone();
        let _turn = self
            .store_work
            .acquire()
            .await
            .map_err(|e| Failure::Internal(format!("store work: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let mut store = me.take()?;
            let out = f(&me, &mut store);
            me.give(store);
            out
        })
        .await
        .map_err(|e| Failure::Internal(format!("worker stopped: {e}")))?
    }
}

impl Shared {
    /// The application acting as `person` (their IR plan contact is the actor in the audit
    /// log, the custody ledger and response plans).
    pub fn app_as(&self, person: &app::people::Person) -> app::App {
        let mut settings = self.app.settings.clone();
        settings.actor = person.contact.clone();
        app::App::new(settings, self.app.ports.clone())
    }
}
