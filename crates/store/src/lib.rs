//! Firebreak's store: cases, their alerts and timelines, phases, notes, tasks, tags and an
//! append-only audit log, in SQLite (WAL mode, so readers never block the writer).
//!
//! Every change is one transaction: a process killed mid-write leaves the store as it
//! was before the change. Alerts and timeline events carry stable keys, so feeding the
//! same logs twice changes nothing.

mod audit;
mod cases;
mod custody_witness;
mod gameday;
mod people;
mod post_incident;
mod readiness;
mod response;
#[doc(hidden)]
pub mod schema;
mod timeline;
mod work;

pub use audit::{AuditAction, AuditEntry};
pub use cases::{CaseRow, HuntOutcome};
pub use gameday::{GameDayRun, NewGameDayRun};
pub use people::{
    AccessAction, AccessEntry, COUNT_CAP, Page, QueueFilter, RuleCount, SessionRow, TimelineFilter,
    TokenRow, UserRow, Viewer,
};
pub use post_incident::{
    CommunicationRow, FactRow, NarrativeRow, NewCommunication, Resolution, ReviewFinished,
};
pub use readiness::ReadinessRun;
pub use response::{CallRow, IntentRow, NewResponsePlan, ResponsePlanId, ResponsePlanRow};
pub use timeline::{AlertedRecord, TimelineRow, TimelineTarget};
pub use work::{
    ActionItem, ActionKind, NewAction, Note, SlaMilestones, Task, TaskStatus, Verification,
};

use audit::audit;

use case::group::KnownEntity;
use case::summary::{AlertRecord, derive};
use case::timeline::TimelineEvent;
use case::{
    CaseId, CaseRef, GroupingConfig, OpenCase, Phase, ResponseTerms, SeverityPolicy, Transition,
};
use model::{Entity, EntityKind, Severity};
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{path}: written by a newer Firebreak (schema version {found}, this build knows up to {known})"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored JSON in {what}: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("no case {0}")]
    NoCase(CaseId),
    #[error("case {id} was merged into case {into}; use case {into}")]
    Merged { id: CaseId, into: CaseId },
    #[error("case {id}: {source}")]
    Transition {
        id: CaseId,
        source: case::TransitionError,
    },
    #[error("case {case} has no task {task}")]
    NoTask { case: CaseId, task: i64 },
    #[error("task {0} is already {1}")]
    TaskClosed(i64, String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn from_json<T: serde::de::DeserializeOwned>(what: &'static str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|source| StoreError::Json { what, source })
}

/// A store handle: one SQLite connection.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        let at_path = |e: StoreError| match e {
            StoreError::Sql(source) => StoreError::Open {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        };
        store.configure().map_err(at_path)?;
        store.migrate().map_err(at_path)?;
        Ok(store)
    }

    /// Opens an existing store for reading only (concurrent with a writer).
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        conn.busy_timeout(Duration::from_secs(30))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        let version = store.schema_version()?;
        if version > schema::MIGRATIONS.len() as i64 {
            return Err(StoreError::TooNew {
                path: store.path.clone(),
                found: version,
                known: schema::MIGRATIONS.len() as i64,
            });
        }
        Ok(store)
    }

    fn configure(&mut self) -> Result<()> {
        self.conn.busy_timeout(Duration::from_secs(30))?;
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        // The server's pages reuse a few dozen statements per connection.
        self.conn.set_prepared_statement_cache_capacity(64);
        Ok(())
    }

    /// `PRAGMA user_version`: how many migrations the file has.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<()> {
        let known = schema::MIGRATIONS.len() as i64;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
                known,
            });
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// `PRAGMA integrity_check` and the store's own invariants; the problems found.
    pub fn check(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let row = row?;
            if row != "ok" {
                problems.push(row);
            }
        }
        let bad: i64 = self.conn.query_row(
            "SELECT count(*) FROM cases c WHERE alert_count != (SELECT count(*) FROM alerts a WHERE a.case_id = c.id)",
            [],
            |r| r.get(0),
        )?;
        if bad > 0 {
            problems.push(format!(
                "{bad} case(s) whose alert count disagrees with their alerts"
            ));
        }
        let orphans: i64 = self.conn.query_row(
            "SELECT count(*) FROM alerts a JOIN cases c ON c.id = a.case_id WHERE c.merged_into IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        if orphans > 0 {
            problems.push(format!("{orphans} alert(s) left in merged cases"));
        }
        let no_history: i64 = self.conn.query_row(
            "SELECT count(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM transitions t WHERE t.case_id = c.id)",
            [],
            |r| r.get(0),
        )?;
        if no_history > 0 {
            problems.push(format!(
                "{no_history} case(s) without a detected transition"
            ));
        }
        Ok(problems)
    }

    // ---- hunting -------------------------------------------------------------------

    // ---- reading -------------------------------------------------------------------

    // ---- working a case ------------------------------------------------------------

    pub(crate) fn change<T>(
        &mut self,
        id: CaseId,
        f: impl FnOnce(&Transaction<'_>, &CaseRow) -> Result<T>,
    ) -> Result<T> {
        let case = self.live_case(id)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx, &case)?;
        tx.commit()?;
        Ok(out)
    }

    /// The underlying connection, for tests that must prove what SQL allows.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}
