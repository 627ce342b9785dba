//! Firebreak's store: cases, their alerts and timelines, phases, notes, tasks, tags and an
//! append-only audit log, in SQLite (WAL mode, so readers never block the writer).
//!
//! Every change is one transaction: a process killed mid-write leaves the store as it
//! was before the change. Alerts and timeline events carry stable keys, so feeding the
//! same logs twice changes nothing.

mod custody_witness;
mod response;
#[doc(hidden)]
pub mod schema;

pub use response::{CallRow, IntentRow, ResponsePlanRow};

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

/// A case as listed and shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRow {
    pub id: CaseId,
    pub title: String,
    pub phase: Phase,
    pub phase_since_ms: i64,
    pub severity: Severity,
    pub severity_reasons: Vec<String>,
    pub domains: Vec<String>,
    pub tactics: Vec<String>,
    pub techniques: Vec<String>,
    pub owner: Option<String>,
    pub merged_into: Option<CaseId>,
    pub opened_ms: i64,
    pub updated_ms: i64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    pub alert_count: i64,
    pub tags: Vec<String>,
    /// The plan's level, SLAs and escalation chain; `None` when assessed without a plan.
    pub response: Option<ResponseTerms>,
    /// When the case reached its plan level: SLA and escalation clocks start here.
    pub response_since_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub id: i64,
    pub actor: String,
    pub at_ms: i64,
    pub text: String,
    /// A stakeholder communication rather than a working note.
    pub communication: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub owner: Option<String>,
    pub due_ms: Option<i64>,
    pub status: String,
    pub created_by: String,
    pub created_ms: i64,
    pub closed_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub case_id: CaseId,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub detail: serde_json::Value,
}

/// One timeline event with the alerts raised on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineRow {
    #[serde(flatten)]
    pub event: TimelineEvent,
    /// Titles of the rules that fired on this event.
    pub alerts: Vec<String>,
    /// The original record (JSON, or the flow log fields as JSON).
    #[serde(skip)]
    pub raw: String,
}

impl AsRef<TimelineEvent> for TimelineRow {
    fn as_ref(&self) -> &TimelineEvent {
        &self.event
    }
}

/// What recording a hunt did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HuntOutcome {
    pub alerts_new: usize,
    pub alerts_known: usize,
    pub cases_opened: Vec<CaseId>,
    pub cases_updated: Vec<CaseId>,
    /// (merged case, into)
    pub merges: Vec<(CaseId, CaseId)>,
}

/// What the timeline pass looks for: each open case's linking entities, the keys of its
/// alerting records, and its time window.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineTarget {
    pub case: CaseId,
    pub from_ms: i64,
    pub to_ms: i64,
    pub entities: Vec<Entity>,
    pub alerted: Vec<AlertedRecord>,
}

/// A record a case's alert fired on: its key, time and every entity it names (linking or
/// not).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertedRecord {
    pub event_key: String,
    pub time_ms: Option<i64>,
    pub entities: Vec<Entity>,
}

/// A store handle: one SQLite connection.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// How a case entity seen again combines with what the case knew: it links if either did,
/// and its first and last sightings widen.
const MERGE_ENTITY: &str = "ON CONFLICT (case_id, kind, value) DO UPDATE SET \
    links = max(links, excluded.links), \
    first_ms = min(coalesce(first_ms, excluded.first_ms), coalesce(excluded.first_ms, first_ms)), \
    last_ms = max(coalesce(last_ms, excluded.last_ms), coalesce(excluded.last_ms, last_ms))";

const CASE_COLUMNS: &str = "id, title, phase, phase_since_ms, severity, severity_reasons, domains, tactics, \
     techniques, owner, merged_into, opened_ms, updated_ms, first_ms, last_ms, alert_count, response, \
     response_since_ms";

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

    /// Records alerts from a hunt: skips alerts already stored, groups the rest into open
    /// cases and new ones (merging cases an alert links), and re-derives the title,
    /// severity, domains and ATT&CK of every case touched. One transaction.
    pub fn record_hunt(
        &mut self,
        alerts: &[AlertRecord],
        cfg: GroupingConfig,
        policy: &dyn SeverityPolicy,
        actor: &str,
        now_ms: i64,
    ) -> Result<HuntOutcome> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = HuntOutcome::default();
        let mut fresh: Vec<&AlertRecord> = Vec::new();
        {
            let mut known = tx.prepare_cached("SELECT 1 FROM alerts WHERE key = ?1")?;
            let mut seen = BTreeSet::new();
            for a in alerts {
                if !seen.insert(a.key.as_str()) || known.exists([&a.key])? {
                    out.alerts_known += 1;
                } else {
                    fresh.push(a);
                }
            }
        }
        out.alerts_new = fresh.len();
        if fresh.is_empty() {
            tx.commit()?;
            return Ok(out);
        }
        let open = open_cases(&tx)?;
        let links: Vec<case::AlertLinks<'_>> = fresh
            .iter()
            .map(|a| case::AlertLinks {
                time_ms: a.time_ms,
                entities: &a.entities,
            })
            .collect();
        let grouping = case::group(&open, &links, cfg);

        let mut new_ids = Vec::with_capacity(grouping.new_cases);
        for _ in 0..grouping.new_cases {
            tx.execute(
                "INSERT INTO cases (title, phase, phase_since_ms, severity, opened_ms, updated_ms) \
                 VALUES ('', ?1, ?2, 'unknown', ?2, ?2)",
                params![Phase::Detected.name(), now_ms],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO transitions (case_id, from_phase, to_phase, actor, at_ms, reason) \
                 VALUES (?1, NULL, ?2, ?3, ?4, 'opened from alerts')",
                params![id, Phase::Detected.name(), actor, now_ms],
            )?;
            audit(&tx, id, now_ms, actor, "opened", serde_json::json!({}))?;
            new_ids.push(id);
            out.cases_opened.push(id);
        }
        let resolve = |r: CaseRef| match r {
            CaseRef::Existing(id) => id,
            CaseRef::New(n) => new_ids[n],
        };
        let mut touched: BTreeSet<CaseId> = new_ids.iter().copied().collect();
        for &(from, into) in &grouping.merges {
            let into = resolve(into);
            merge(&tx, from, into, actor, now_ms)?;
            out.merges.push((from, into));
            touched.insert(into);
        }
        let mut added: BTreeMap<CaseId, usize> = BTreeMap::new();
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO alerts (key, case_id, time_ms, event_key, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut entity = tx.prepare_cached(&format!(
                "INSERT INTO case_entities (case_id, kind, value, links, first_ms, last_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) {MERGE_ENTITY}"
            ))?;
            for (a, r) in fresh.iter().zip(&grouping.assignment) {
                let id = resolve(*r);
                insert.execute(params![a.key, id, a.time_ms, a.event_key, json(a)])?;
                for e in &a.entities {
                    let links = e.links()
                        && !(e.kind == EntityKind::Ip && grouping.shared_ips.contains(&e.value));
                    entity.execute(params![id, e.kind.name(), e.value, links, a.time_ms])?;
                }
                *added.entry(id).or_default() += 1;
                touched.insert(id);
            }
        }
        for (&id, &n) in &added {
            audit(
                &tx,
                id,
                now_ms,
                actor,
                "alerts added",
                serde_json::json!({ "count": n }),
            )?;
        }
        for &id in &touched {
            assess(&tx, id, policy, actor, now_ms)?;
            if !new_ids.contains(&id) {
                out.cases_updated.push(id);
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Re-assesses every case not closed or merged (after the plan changed, say); returns
    /// the ids whose severity or plan level changed. One transaction.
    pub fn reassess(
        &mut self,
        policy: &dyn SeverityPolicy,
        actor: &str,
        now_ms: i64,
    ) -> Result<Vec<CaseId>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids: Vec<CaseId> = tx
            .prepare(
                "SELECT id FROM cases WHERE merged_into IS NULL AND phase != 'closed' ORDER BY id",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut changed = Vec::new();
        for id in ids {
            if assess(&tx, id, policy, actor, now_ms)? {
                changed.push(id);
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// What the timeline pass looks for in open cases; `margin_ms` widens each case's
    /// window on both sides (activity before the first alert matters most).
    pub fn timeline_targets(&self, margin_ms: i64) -> Result<Vec<TimelineTarget>> {
        let mut cases = self.conn.prepare(
            "SELECT id, first_ms, last_ms FROM cases WHERE merged_into IS NULL AND phase != 'closed' ORDER BY id",
        )?;
        let rows: Vec<(CaseId, Option<i64>, Option<i64>)> = cases
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut ents = self.conn.prepare_cached(
            "SELECT kind, value FROM case_entities WHERE case_id = ?1 AND links = 1",
        )?;
        let mut keys = self
            .conn
            .prepare_cached("SELECT event_key, data, time_ms FROM alerts WHERE case_id = ?1")?;
        let mut out = Vec::new();
        for (id, first, last) in rows {
            let entities = ents
                .query_map([id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .filter_map(|r| {
                    r.map(|(k, v)| EntityKind::from_name(&k).map(|k| Entity::new(k, v)))
                        .transpose()
                })
                .collect::<rusqlite::Result<Vec<_>>>()?;
            /// The part of an alert's stored record this reads.
            #[derive(serde::Deserialize)]
            struct Named {
                #[serde(default)]
                entities: Vec<Entity>,
            }
            let alerted = keys
                .query_map([id], |r| {
                    let data: String = r.get(1)?;
                    Ok(AlertedRecord {
                        event_key: r.get(0)?,
                        time_ms: r.get(2)?,
                        entities: serde_json::from_str::<Named>(&data)
                            .map(|n| n.entities)
                            .unwrap_or_default(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push(TimelineTarget {
                case: id,
                from_ms: first.map_or(i64::MIN, |f| f.saturating_sub(margin_ms)),
                to_ms: last.map_or(i64::MAX, |l| l.saturating_add(margin_ms)),
                entities,
                alerted,
            });
        }
        Ok(out)
    }

    /// Adds events to case timelines: `(event, original record, cases)`. Events already on
    /// a timeline are skipped. One transaction; returns how many (event, case) pairs were new.
    pub fn add_timeline_events(
        &mut self,
        batch: &[(TimelineEvent, String, Vec<CaseId>)],
    ) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut added = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (key, time_ms, data, raw) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO NOTHING",
            )?;
            let mut find = tx.prepare_cached("SELECT id FROM events WHERE key = ?1")?;
            let mut link = tx.prepare_cached(
                "INSERT INTO case_events (case_id, event_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?;
            for (ev, raw, cases) in batch {
                insert.execute(params![ev.key, ev.time_ms, json(ev), raw])?;
                let id: i64 = find.query_row([&ev.key], |r| r.get(0))?;
                for c in cases {
                    added += link.execute(params![c, id])?;
                }
            }
        }
        tx.commit()?;
        Ok(added)
    }

    // ---- reading -------------------------------------------------------------------

    /// Cases, newest first; merged cases are left out, closed ones unless `include_closed`.
    pub fn cases(&self, include_closed: bool) -> Result<Vec<CaseRow>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE merged_into IS NULL {} ORDER BY id DESC",
            if include_closed {
                ""
            } else {
                "AND phase != 'closed'"
            }
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map([], raw_case)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|r| self.finish_case(r)).collect()
    }

    /// One case, whatever its state (a merged case says where it went).
    pub fn case(&self, id: CaseId) -> Result<CaseRow> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?1");
        let raw = self
            .conn
            .query_row(&sql, [id], raw_case)
            .optional()?
            .ok_or(StoreError::NoCase(id))?;
        self.finish_case(raw)
    }

    /// One case that can still be worked on: not merged away.
    pub fn live_case(&self, id: CaseId) -> Result<CaseRow> {
        let c = self.case(id)?;
        match c.merged_into {
            Some(into) => Err(StoreError::Merged { id, into }),
            None => Ok(c),
        }
    }

    fn finish_case(&self, r: RawCase) -> Result<CaseRow> {
        let mut tags = self
            .conn
            .prepare_cached("SELECT tag FROM tags WHERE case_id = ?1 ORDER BY tag")?;
        let tags = tags
            .query_map([r.id], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(CaseRow {
            id: r.id,
            title: r.title,
            phase: Phase::from_name(&r.phase).ok_or_else(|| {
                StoreError::Invalid(format!("case {}: unknown phase {:?}", r.id, r.phase))
            })?,
            phase_since_ms: r.phase_since_ms,
            severity: Severity::from_label(&r.severity),
            severity_reasons: from_json("cases.severity_reasons", &r.severity_reasons)?,
            domains: from_json("cases.domains", &r.domains)?,
            tactics: from_json("cases.tactics", &r.tactics)?,
            techniques: from_json("cases.techniques", &r.techniques)?,
            owner: r.owner,
            merged_into: r.merged_into,
            opened_ms: r.opened_ms,
            updated_ms: r.updated_ms,
            first_ms: r.first_ms,
            last_ms: r.last_ms,
            alert_count: r.alert_count,
            tags,
            response: r
                .response
                .as_deref()
                .map(|s| from_json("cases.response", s))
                .transpose()?,
            response_since_ms: r.response_since_ms,
        })
    }

    /// The case's alerts in time order.
    pub fn alerts(&self, id: CaseId) -> Result<Vec<AlertRecord>> {
        case_alerts(&self.conn, id)
    }

    /// Total alerts, cases (not merged) and timeline events stored.
    pub fn counts(&self) -> Result<(i64, i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM cases WHERE merged_into IS NULL), (SELECT count(*) FROM case_events)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }

    /// The case timeline in time order, each event with the alerts raised on it.
    pub fn timeline(&self, id: CaseId) -> Result<Vec<TimelineRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.data, e.raw, e.key FROM case_events ce JOIN events e ON e.id = ce.event_id \
             WHERE ce.case_id = ?1 ORDER BY e.time_ms IS NULL, e.time_ms, e.id",
        )?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut titles: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in self.alerts(id)? {
            let t = titles.entry(a.event_key).or_default();
            if !t.contains(&a.rule_title) {
                t.push(a.rule_title);
            }
        }
        rows.into_iter()
            .map(|(data, raw, key)| {
                Ok(TimelineRow {
                    event: from_json("events.data", &data)?,
                    alerts: titles.remove(&key).unwrap_or_default(),
                    raw,
                })
            })
            .collect()
    }

    /// The phase history, oldest first.
    pub fn transitions(&self, id: CaseId) -> Result<Vec<Transition>> {
        let mut stmt = self.conn.prepare(
            "SELECT from_phase, to_phase, actor, at_ms, reason FROM transitions WHERE case_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(from, to, actor, at_ms, reason)| {
                let phase = |s: &str| {
                    Phase::from_name(s)
                        .ok_or_else(|| StoreError::Invalid(format!("unknown phase {s:?}")))
                };
                Ok(Transition {
                    from: from.as_deref().map(phase).transpose()?,
                    to: phase(&to)?,
                    actor,
                    at_ms,
                    reason,
                })
            })
            .collect()
    }

    pub fn notes(&self, id: CaseId) -> Result<Vec<Note>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, actor, at_ms, text, kind FROM notes WHERE case_id = ?1 ORDER BY at_ms, id",
        )?;
        Ok(stmt
            .query_map([id], |r| {
                Ok(Note {
                    id: r.get(0)?,
                    actor: r.get(1)?,
                    at_ms: r.get(2)?,
                    text: r.get(3)?,
                    communication: r.get::<_, String>(4)? == "communication",
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    pub fn tasks(&self, id: CaseId) -> Result<Vec<Task>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, title, owner, due_ms, status, created_by, created_ms, closed_ms FROM tasks \
             WHERE case_id = ?1 ORDER BY id",
        )?;
        Ok(stmt
            .query_map([id], |r| {
                Ok(Task {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    owner: r.get(2)?,
                    due_ms: r.get(3)?,
                    status: r.get(4)?,
                    created_by: r.get(5)?,
                    created_ms: r.get(6)?,
                    closed_ms: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The audit log of a case and of every case merged into it, oldest first.
    pub fn audit(&self, id: CaseId) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare(
            "WITH RECURSIVE family(id) AS (SELECT ?1 UNION SELECT c.id FROM cases c JOIN family f ON c.merged_into = f.id) \
             SELECT id, case_id, at_ms, actor, action, detail FROM audit WHERE case_id IN family ORDER BY id",
        )?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, case_id, at_ms, actor, action, detail)| {
                Ok(AuditEntry {
                    id,
                    case_id,
                    at_ms,
                    actor,
                    action,
                    detail: from_json("audit.detail", &detail)?,
                })
            })
            .collect()
    }

    // ---- working a case ------------------------------------------------------------

    fn change<T>(
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

    /// Moves the case to `to`, if the state machine allows it.
    pub fn transition(
        &mut self,
        id: CaseId,
        to: Phase,
        reason: Option<&str>,
        actor: &str,
        at_ms: i64,
    ) -> Result<()> {
        self.change(id, |tx, c| {
            let open_tasks: i64 = tx.query_row(
                "SELECT count(*) FROM tasks WHERE case_id = ?1 AND status = 'open'",
                [id],
                |r| r.get(0),
            )?;
            let state = case::phase::PhaseState {
                phase: c.phase,
                owner: c.owner.as_deref(),
                open_tasks: open_tasks as usize,
                since_ms: c.phase_since_ms,
            };
            case::phase::check_transition(&state, to, at_ms, reason)
                .map_err(|source| StoreError::Transition { id, source })?;
            tx.execute(
                "INSERT INTO transitions (case_id, from_phase, to_phase, actor, at_ms, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, c.phase.name(), to.name(), actor, at_ms, reason],
            )?;
            tx.execute(
                "UPDATE cases SET phase = ?2, phase_since_ms = ?3, updated_ms = ?3 WHERE id = ?1",
                params![id, to.name(), at_ms],
            )?;
            audit(
                tx,
                id,
                at_ms,
                actor,
                "transition",
                serde_json::json!({ "from": c.phase.name(), "to": to.name(), "reason": reason }),
            )
        })
    }

    pub fn assign(&mut self, id: CaseId, owner: &str, actor: &str, now_ms: i64) -> Result<()> {
        let owner = owner.trim();
        if owner.is_empty() {
            return Err(StoreError::Invalid("the owner cannot be empty".into()));
        }
        self.change(id, |tx, c| {
            tx.execute(
                "UPDATE cases SET owner = ?2, updated_ms = ?3 WHERE id = ?1",
                params![id, owner, now_ms],
            )?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                "assign",
                serde_json::json!({ "from": c.owner, "to": owner }),
            )
        })
    }

    /// Adds a note; `communication` marks a stakeholder update (the plan's communicate SLA).
    pub fn add_note(
        &mut self,
        id: CaseId,
        text: &str,
        communication: bool,
        actor: &str,
        now_ms: i64,
    ) -> Result<i64> {
        if text.trim().is_empty() {
            return Err(StoreError::Invalid("the note is empty".into()));
        }
        self.change(id, |tx, _| {
            tx.execute(
                "INSERT INTO notes (case_id, actor, at_ms, text, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id,
                    actor,
                    now_ms,
                    text,
                    if communication {
                        "communication"
                    } else {
                        "note"
                    }
                ],
            )?;
            let note = tx.last_insert_rowid();
            tx.execute(
                "UPDATE cases SET updated_ms = ?2 WHERE id = ?1",
                params![id, now_ms],
            )?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                if communication {
                    "communication"
                } else {
                    "note"
                },
                serde_json::json!({ "note": note, "text": text }),
            )?;
            Ok(note)
        })
    }

    pub fn add_task(
        &mut self,
        id: CaseId,
        title: &str,
        owner: Option<&str>,
        due_ms: Option<i64>,
        actor: &str,
        now_ms: i64,
    ) -> Result<i64> {
        if title.trim().is_empty() {
            return Err(StoreError::Invalid("the task title is empty".into()));
        }
        self.change(id, |tx, _| {
            tx.execute(
                "INSERT INTO tasks (case_id, title, owner, due_ms, created_by, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, title, owner, due_ms, actor, now_ms],
            )?;
            let task = tx.last_insert_rowid();
            tx.execute("UPDATE cases SET updated_ms = ?2 WHERE id = ?1", params![id, now_ms])?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                "task added",
                serde_json::json!({ "task": task, "title": title, "owner": owner, "due_ms": due_ms }),
            )?;
            Ok(task)
        })
    }

    /// Marks an open task `done` or `cancelled`.
    pub fn close_task(
        &mut self,
        id: CaseId,
        task: i64,
        status: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<()> {
        if !matches!(status, "done" | "cancelled") {
            return Err(StoreError::Invalid(format!(
                "a task can be done or cancelled, not {status:?}"
            )));
        }
        self.change(id, |tx, _| {
            let current: Option<String> = tx
                .query_row(
                    "SELECT status FROM tasks WHERE id = ?1 AND case_id = ?2",
                    params![task, id],
                    |r| r.get(0),
                )
                .optional()?;
            match current.as_deref() {
                None => return Err(StoreError::NoTask { case: id, task }),
                Some("open") => {}
                Some(s) => return Err(StoreError::TaskClosed(task, s.to_string())),
            }
            tx.execute(
                "UPDATE tasks SET status = ?2, closed_ms = ?3 WHERE id = ?1",
                params![task, status, now_ms],
            )?;
            tx.execute(
                "UPDATE cases SET updated_ms = ?2 WHERE id = ?1",
                params![id, now_ms],
            )?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                "task closed",
                serde_json::json!({ "task": task, "status": status }),
            )
        })
    }

    /// Adds (or with `remove`, removes) tags.
    pub fn tag(
        &mut self,
        id: CaseId,
        tags: &[String],
        remove: bool,
        actor: &str,
        now_ms: i64,
    ) -> Result<()> {
        if let Some(bad) = tags.iter().find(|t| t.trim().is_empty()) {
            return Err(StoreError::Invalid(format!("invalid tag {bad:?}")));
        }
        self.change(id, |tx, _| {
            for t in tags {
                if remove {
                    tx.execute(
                        "DELETE FROM tags WHERE case_id = ?1 AND tag = ?2",
                        params![id, t.trim()],
                    )?;
                } else {
                    tx.execute(
                        "INSERT INTO tags (case_id, tag) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                        params![id, t.trim()],
                    )?;
                }
            }
            tx.execute(
                "UPDATE cases SET updated_ms = ?2 WHERE id = ?1",
                params![id, now_ms],
            )?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                if remove { "untag" } else { "tag" },
                serde_json::json!({ "tags": tags }),
            )
        })
    }

    /// The underlying connection, for tests that must prove what SQL allows.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Re-derives a case's title, severity, plan terms, domains and ATT&CK from its alerts;
/// audits a change of severity or plan level. The plan level's clock restarts when the
/// level changes.
fn assess(
    tx: &rusqlite::Transaction<'_>,
    id: CaseId,
    policy: &dyn SeverityPolicy,
    actor: &str,
    now_ms: i64,
) -> Result<bool> {
    let (before, before_response): (String, Option<String>) = tx.query_row(
        "SELECT severity, response FROM cases WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let alerts = case_alerts(tx, id)?;
    let d = derive(&alerts, policy);
    let severity = d.assessment.severity.name().to_ascii_lowercase();
    let response = d.assessment.response.as_ref().map(json);
    let level_before = before_response
        .as_deref()
        .and_then(|r| serde_json::from_str::<ResponseTerms>(r).ok())
        .map(|r| r.level);
    let level = d.assessment.response.as_ref().map(|r| r.level.clone());
    tx.execute(
        "UPDATE cases SET title = ?2, severity = ?3, severity_reasons = ?4, domains = ?5, \
         tactics = ?6, techniques = ?7, first_ms = ?8, last_ms = ?9, alert_count = ?10, \
         updated_ms = ?11, response = ?12, \
         response_since_ms = CASE WHEN ?13 THEN ?11 ELSE response_since_ms END WHERE id = ?1",
        params![
            id,
            d.title,
            severity,
            json(&d.assessment.reasons),
            json(&d.domains),
            json(&d.tactics),
            json(&d.techniques),
            d.first_ms,
            d.last_ms,
            alerts.len() as i64,
            now_ms,
            response,
            level != level_before,
        ],
    )?;
    if before != severity || level != level_before {
        audit(
            tx,
            id,
            now_ms,
            actor,
            "severity",
            serde_json::json!({
                "from": before, "to": severity,
                "level_from": level_before, "level_to": level,
                "reasons": d.assessment.reasons,
            }),
        )?;
    }
    Ok(before != severity || level != level_before)
}

struct RawCase {
    id: CaseId,
    title: String,
    phase: String,
    phase_since_ms: i64,
    severity: String,
    severity_reasons: String,
    domains: String,
    tactics: String,
    techniques: String,
    owner: Option<String>,
    merged_into: Option<CaseId>,
    opened_ms: i64,
    updated_ms: i64,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    alert_count: i64,
    response: Option<String>,
    response_since_ms: Option<i64>,
}

fn raw_case(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawCase> {
    Ok(RawCase {
        id: r.get(0)?,
        title: r.get(1)?,
        phase: r.get(2)?,
        phase_since_ms: r.get(3)?,
        severity: r.get(4)?,
        severity_reasons: r.get(5)?,
        domains: r.get(6)?,
        tactics: r.get(7)?,
        techniques: r.get(8)?,
        owner: r.get(9)?,
        merged_into: r.get(10)?,
        opened_ms: r.get(11)?,
        updated_ms: r.get(12)?,
        first_ms: r.get(13)?,
        last_ms: r.get(14)?,
        alert_count: r.get(15)?,
        response: r.get(16)?,
        response_since_ms: r.get(17)?,
    })
}

fn audit(
    conn: &Connection,
    case: CaseId,
    at_ms: i64,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (case_id, at_ms, actor, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![case, at_ms, actor, action, detail.to_string()])?;
    Ok(())
}

fn case_alerts(conn: &Connection, id: CaseId) -> Result<Vec<AlertRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT data FROM alerts WHERE case_id = ?1 ORDER BY time_ms IS NULL, time_ms, id",
    )?;
    let rows = stmt
        .query_map([id], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.iter().map(|d| from_json("alerts.data", d)).collect()
}

/// Open cases with the entities of their alerts, for grouping.
fn open_cases(conn: &Connection) -> Result<Vec<OpenCase>> {
    let mut stmt = conn.prepare(
        "SELECT ce.case_id, ce.kind, ce.value, ce.first_ms, ce.last_ms FROM case_entities ce \
         JOIN cases c ON c.id = ce.case_id WHERE c.merged_into IS NULL AND c.phase != 'closed' \
         ORDER BY ce.case_id",
    )?;
    let mut out: Vec<OpenCase> = Vec::new();
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, CaseId>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    for row in rows {
        let (id, kind, value, first, last) = row?;
        let Some(kind) = EntityKind::from_name(&kind) else {
            return Err(StoreError::Invalid(format!(
                "case {id}: unknown entity kind {kind:?}"
            )));
        };
        if out.last().is_none_or(|c| c.id != id) {
            out.push(OpenCase {
                id,
                entities: Vec::new(),
            });
        }
        let untimed = i64::MIN / 4;
        out.last_mut()
            .expect("pushed above")
            .entities
            .push(KnownEntity {
                entity: Entity::new(kind, value),
                first_ms: first.unwrap_or(untimed),
                last_ms: last.unwrap_or(untimed),
            });
    }
    Ok(out)
}

/// Moves everything of case `from` into `into` and marks `from` merged.
fn merge(tx: &Transaction<'_>, from: CaseId, into: CaseId, actor: &str, now_ms: i64) -> Result<()> {
    let from_phase: String =
        tx.query_row("SELECT phase FROM cases WHERE id = ?1", [from], |r| {
            r.get(0)
        })?;
    tx.execute(
        "UPDATE alerts SET case_id = ?2 WHERE case_id = ?1",
        params![from, into],
    )?;
    tx.execute(
        &format!(
            "INSERT INTO case_entities (case_id, kind, value, links, first_ms, last_ms) \
             SELECT ?2, kind, value, links, first_ms, last_ms FROM case_entities WHERE case_id = ?1 \
             {MERGE_ENTITY}"
        ),
        params![from, into],
    )?;
    tx.execute("DELETE FROM case_entities WHERE case_id = ?1", [from])?;
    tx.execute(
        "INSERT INTO case_events (case_id, event_id) SELECT ?2, event_id FROM case_events WHERE case_id = ?1 \
         ON CONFLICT DO NOTHING",
        params![from, into],
    )?;
    tx.execute("DELETE FROM case_events WHERE case_id = ?1", [from])?;
    tx.execute(
        "INSERT INTO tags (case_id, tag) SELECT ?2, tag FROM tags WHERE case_id = ?1 ON CONFLICT DO NOTHING",
        params![from, into],
    )?;
    tx.execute("DELETE FROM tags WHERE case_id = ?1", [from])?;
    tx.execute(
        "UPDATE notes SET case_id = ?2 WHERE case_id = ?1",
        params![from, into],
    )?;
    tx.execute(
        "UPDATE tasks SET case_id = ?2 WHERE case_id = ?1",
        params![from, into],
    )?;
    tx.execute(
        "UPDATE response_plans SET case_id = ?2 WHERE case_id = ?1",
        params![from, into],
    )?;
    tx.execute(
        "UPDATE cases SET merged_into = ?2, alert_count = 0, updated_ms = ?3 WHERE id = ?1",
        params![from, into, now_ms],
    )?;
    audit(
        tx,
        from,
        now_ms,
        actor,
        "merged",
        serde_json::json!({ "into": into, "phase": from_phase }),
    )?;
    audit(
        tx,
        into,
        now_ms,
        actor,
        "absorbed",
        serde_json::json!({ "case": from, "phase": from_phase }),
    )?;
    Ok(())
}
