//! Game days as they were run (append-only), so `plan check` and `readiness` report the
//! last one from records rather than a date typed into the plan; and the cases a team-mode
//! game day opened, marked as exercises.

use crate::{Result, Store, from_json};
use case::CaseId;

/// One scenario's run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GameDayRun {
    pub id: i64,
    /// The game day it was part of (one `gameday run` invocation).
    pub run: String,
    pub scenario: String,
    pub mode: String,
    pub started_ms: i64,
    pub finished_ms: i64,
    pub passed: bool,
    pub actor: String,
    /// The scenario's outcome as `gameday run -o json` prints it.
    pub outcome: serde_json::Value,
}

/// What a finished scenario run records.
pub struct NewGameDayRun<'a> {
    pub run: &'a str,
    pub scenario: &'a str,
    pub mode: &'a str,
    pub started_ms: i64,
    pub finished_ms: i64,
    pub passed: bool,
    pub actor: &'a str,
    pub outcome: &'a serde_json::Value,
}

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<(GameDayRun, String)> {
    Ok((
        GameDayRun {
            id: r.get(0)?,
            run: r.get(1)?,
            scenario: r.get(2)?,
            mode: r.get(3)?,
            started_ms: r.get(4)?,
            finished_ms: r.get(5)?,
            passed: r.get(6)?,
            actor: r.get(7)?,
            outcome: serde_json::Value::Null,
        },
        r.get(8)?,
    ))
}

const COLUMNS: &str = "id, run, scenario, mode, started_ms, finished_ms, passed, actor, outcome";

impl Store {
    /// Keeps a scenario's run.
    pub fn record_gameday(&mut self, g: &NewGameDayRun<'_>) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO gameday_runs (run, scenario, mode, started_ms, finished_ms, passed, actor, outcome) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                g.run,
                g.scenario,
                g.mode,
                g.started_ms,
                g.finished_ms,
                g.passed,
                g.actor,
                g.outcome.to_string()
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Every scenario run of the newest game day (by when it finished), in order.
    pub fn latest_gameday(&self) -> Result<Vec<GameDayRun>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM gameday_runs WHERE run = \
             (SELECT run FROM gameday_runs ORDER BY finished_ms DESC, id DESC LIMIT 1) ORDER BY id"
        );
        self.gameday_query(&sql, [])
    }

    /// Every scenario run that finished at or after `since_ms`, oldest first.
    pub fn gameday_runs_since(&self, since_ms: i64) -> Result<Vec<GameDayRun>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM gameday_runs WHERE finished_ms >= ?1 ORDER BY finished_ms, id"
        );
        self.gameday_query(&sql, [since_ms])
    }

    /// Every scenario run of game day `run`, in order.
    pub fn gameday(&self, run: &str) -> Result<Vec<GameDayRun>> {
        let sql = format!("SELECT {COLUMNS} FROM gameday_runs WHERE run = ?1 ORDER BY id");
        self.gameday_query(&sql, [run])
    }

    fn gameday_query<P: rusqlite::Params>(&self, sql: &str, p: P) -> Result<Vec<GameDayRun>> {
        let rows = self
            .conn
            .prepare_cached(sql)?
            .query_map(p, read)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(mut g, outcome)| {
                g.outcome = from_json("gameday_runs.outcome", &outcome)?;
                Ok(g)
            })
            .collect()
    }

    /// Marks `case` as the exercise of game day `run` (scenario `scenario`); a case already
    /// marked keeps its first mark.
    pub fn mark_exercise(
        &mut self,
        case: CaseId,
        run: &str,
        scenario: &str,
        at_ms: i64,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO exercise_cases (case_id, run, scenario, at_ms) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![case.0, run, scenario, at_ms],
        )?;
        Ok(())
    }
}
