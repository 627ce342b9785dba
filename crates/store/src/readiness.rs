//! Readiness reports as they were run (append-only), so the team server shows the latest
//! one without calling AWS on a page load.

use crate::{Result, Store, from_json};
use rusqlite::OptionalExtension;

/// One readiness run: when, by whom, and its report (the JSON `firebreak readiness -o json`
/// prints).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReadinessRun {
    pub id: i64,
    pub at_ms: i64,
    pub actor: String,
    pub report: serde_json::Value,
}

impl Store {
    /// Keeps a readiness report.
    pub fn record_readiness(
        &mut self,
        report: &serde_json::Value,
        actor: &str,
        at_ms: i64,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO readiness_runs (at_ms, actor, report) VALUES (?1, ?2, ?3)",
            rusqlite::params![at_ms, actor, report.to_string()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The newest readiness report, if any was run.
    pub fn latest_readiness(&self) -> Result<Option<ReadinessRun>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT id, at_ms, actor, report FROM readiness_runs ORDER BY id DESC LIMIT 1",
            )?
            .query_row([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .optional()?;
        row.map(|(id, at_ms, actor, report)| {
            Ok(ReadinessRun {
                id,
                at_ms,
                actor,
                report: from_json("readiness_runs.report", &report)?,
            })
        })
        .transpose()
    }
}
