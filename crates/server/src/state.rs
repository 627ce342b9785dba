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
}

/// The state behind every handler.
pub struct Shared {
    pub app: app::App,
    pub config: ServerConfig,
    pool: Mutex<Vec<Store>>,
    /// Bumped whenever the store is seen to change (what live pages wait on).
    pub changes: tokio::sync::watch::Sender<i64>,
}

impl Shared {
    pub fn new(app: app::App, config: ServerConfig) -> Shared {
        Shared {
            app,
            config,
            pool: Mutex::new(Vec::new()),
            changes: tokio::sync::watch::channel(0).0,
        }
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
            && p.len() < 16
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
