//! The work on a case: notes (communication notes among them) and tasks.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub id: i64,
    pub actor: String,
    pub at_ms: i64,
    pub text: String,
    /// A stakeholder communication rather than a working note.
    pub communication: bool,
}

/// What a case's SLA clocks are measured from, as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaMilestones {
    /// The first assignment (the case's or a case merged into it).
    pub assigned_ms: Option<i64>,
    /// The first communication note.
    pub communicated_ms: Option<i64>,
    /// Its phase history, in order.
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub owner: Option<String>,
    pub due_ms: Option<i64>,
    pub status: TaskStatus,
    pub created_by: String,
    pub created_ms: i64,
    pub closed_ms: Option<i64>,
    /// Set when the task is an improvement action from the post-incident review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionItem>,
}

/// An improvement action: what kind, and what must pass before it can be closed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionItem {
    pub kind: ActionKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// What the verification found when the action was closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<String>,
}

/// The kind of an improvement action (the correction-of-errors categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    /// See it sooner: a rule, an alarm, a log source.
    Detect,
    /// Stop it happening: a guardrail, a policy, a fix.
    Prevent,
    /// Make it smaller when it happens: isolation, least privilege, backups.
    Mitigate,
    /// Change how the team works: the plan, a playbook, training.
    Process,
}

impl ActionKind {
    pub const ALL: [ActionKind; 4] = [
        ActionKind::Detect,
        ActionKind::Prevent,
        ActionKind::Mitigate,
        ActionKind::Process,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Detect => "detect",
            ActionKind::Prevent => "prevent",
            ActionKind::Mitigate => "mitigate",
            ActionKind::Process => "process",
        }
    }

    pub fn parse(s: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What must pass before an improvement action can be closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    /// A detection rule (file stem, id or title) whose must-match and must-not-match
    /// cases pass.
    RuleTest(String),
    /// A readiness check (`cloudtrail.multi_region_logging`) passing in the newest report
    /// recorded after the action was added.
    Readiness(String),
    /// A game-day scenario passing in a run recorded after the action was added.
    GameDay(String),
}

impl std::fmt::Display for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verification::RuleTest(r) => write!(f, "rule test {r}"),
            Verification::Readiness(c) => write!(f, "readiness check {c}"),
            Verification::GameDay(s) => write!(f, "game-day scenario {s}"),
        }
    }
}

/// What is recorded of a new improvement action.
#[derive(Debug, Clone)]
pub struct NewAction<'a> {
    pub title: &'a str,
    pub kind: ActionKind,
    pub owner: &'a str,
    pub due_ms: i64,
    pub verification: Option<&'a Verification>,
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Open,
    Done,
    Cancelled,
}

impl TaskStatus {
    pub fn name(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Done => "done",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Option<TaskStatus> {
        [TaskStatus::Open, TaskStatus::Done, TaskStatus::Cancelled]
            .into_iter()
            .find(|t| t.name() == s)
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl rusqlite::types::FromSql for TaskStatus {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let s = v.as_str()?;
        TaskStatus::parse(s).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown task status {s:?}").into())
        })
    }
}

impl Store {
    pub fn notes(&self, id: CaseId) -> Result<Vec<Note>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, actor, at_ms, text, kind FROM notes WHERE case_id = ?1 ORDER BY at_ms, id",
        )?;
        Ok(stmt
            .query_map([id.0], |r| {
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

    /// When the case was first assigned (its own audit or a case merged into it) and when
    /// its first communication note was written: the SLA clocks' acknowledgement and
    /// communication milestones, by index, without reading the whole audit or notes.
    pub fn first_assigned_and_communicated(
        &self,
        id: CaseId,
    ) -> Result<(Option<i64>, Option<i64>)> {
        let assigned = self
            .conn
            .prepare_cached(
                "WITH RECURSIVE family(id) AS (SELECT ?1 UNION SELECT c.id FROM cases c JOIN family f ON c.merged_into = f.id) \
                 SELECT at_ms FROM audit WHERE case_id IN family AND action = ?2 ORDER BY id LIMIT 1",
            )?
            .query_row(params![id.0, AuditAction::Assign.name()], |r| r.get(0))
            .optional()?;
        let communicated = self
            .conn
            .prepare_cached(
                "SELECT at_ms FROM notes WHERE case_id = ?1 AND kind = 'communication' ORDER BY at_ms, id LIMIT 1",
            )?
            .query_row([id.0], |r| r.get(0))
            .optional()?;
        Ok((assigned, communicated))
    }

    /// [`Store::first_assigned_and_communicated`] and [`Store::transitions`] for many
    /// cases in three queries (a queue page's SLA clocks), in the order of `ids`.
    pub fn sla_milestones(&self, ids: &[CaseId]) -> Result<Vec<SlaMilestones>> {
        let list = serde_json::to_string(&ids.iter().map(|i| i.0).collect::<Vec<_>>()).map_err(
            |source| StoreError::Json {
                what: "case ids",
                source,
            },
        )?;
        let mut out: BTreeMap<CaseId, SlaMilestones> = ids
            .iter()
            .map(|id| (*id, SlaMilestones::default()))
            .collect();
        // The first assignment in each case's merged family (SQLite takes a bare column
        // from the row min() chose).
        let mut assigned = self.conn.prepare_cached(
            "WITH RECURSIVE family(root, id) AS (SELECT value, value FROM json_each(?1) \
             UNION SELECT f.root, c.id FROM cases c JOIN family f ON c.merged_into = f.id) \
             SELECT f.root, a.at_ms, min(a.id) FROM audit a JOIN family f ON a.case_id = f.id \
             WHERE a.action = ?2 GROUP BY f.root",
        )?;
        let rows = assigned
            .query_map(params![list, AuditAction::Assign.name()], |r| {
                Ok((CaseId(r.get(0)?), r.get::<_, i64>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, at) in rows {
            if let Some(m) = out.get_mut(&id) {
                m.assigned_ms = Some(at);
            }
        }
        let mut communicated = self.conn.prepare_cached(
            "SELECT case_id, min(at_ms) FROM notes WHERE kind = 'communication' \
             AND case_id IN (SELECT value FROM json_each(?1)) GROUP BY case_id",
        )?;
        let rows = communicated
            .query_map([&list], |r| Ok((CaseId(r.get(0)?), r.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, at) in rows {
            if let Some(m) = out.get_mut(&id) {
                m.communicated_ms = Some(at);
            }
        }
        let mut transitions = self.conn.prepare_cached(
            "SELECT case_id, from_phase, to_phase, actor, at_ms, reason FROM transitions \
             WHERE case_id IN (SELECT value FROM json_each(?1)) ORDER BY case_id, id",
        )?;
        let rows = transitions
            .query_map([&list], crate::cases::StoredTransition::read)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for row in rows {
            let (id, t) = row.parse()?;
            if let Some(m) = out.get_mut(&id) {
                m.transitions.push(t);
            }
        }
        Ok(ids
            .iter()
            .map(|id| out.get(id).cloned().unwrap_or_default())
            .collect())
    }

    pub fn tasks(&self, id: CaseId) -> Result<Vec<Task>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, title, owner, due_ms, status, created_by, created_ms, closed_ms, action_kind, verification, verified \
             FROM tasks WHERE case_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([id.0], task_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(task_of).collect()
    }

    /// Every open improvement action of every case, with its case, soonest due first.
    pub fn open_actions(&self) -> Result<Vec<(CaseId, Task)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, title, owner, due_ms, status, created_by, created_ms, closed_ms, action_kind, verification, verified, case_id \
             FROM tasks WHERE action_kind IS NOT NULL AND status = 'open' ORDER BY due_ms, id",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((CaseId(r.get(11)?), task_row(r)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(c, t)| Ok((c, task_of(t)?)))
            .collect()
    }

    /// Adds an improvement action (a task with a kind, an owner, a due date and an optional
    /// verification). Open actions do not hold a case open.
    pub fn add_action(
        &mut self,
        id: CaseId,
        a: &NewAction<'_>,
        actor: &str,
        now_ms: i64,
    ) -> Result<i64> {
        if a.title.trim().is_empty() {
            return Err(StoreError::Invalid("the action's title is empty".into()));
        }
        if a.owner.trim().is_empty() {
            return Err(StoreError::Invalid("an action needs an owner".into()));
        }
        let verification = a.verification.map(json);
        self.change(id, |tx, _| {
            tx.execute(
                "INSERT INTO tasks (case_id, title, owner, due_ms, created_by, created_ms, action_kind, verification) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![id.0, a.title, a.owner, a.due_ms, actor, now_ms, a.kind.name(), verification],
            )?;
            let task = tx.last_insert_rowid();
            tx.execute("UPDATE cases SET updated_ms = ?2 WHERE id = ?1", params![id.0, now_ms])?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                AuditAction::ActionAdded,
                serde_json::json!({
                    "task": task, "title": a.title, "kind": a.kind.name(), "owner": a.owner,
                    "due_ms": a.due_ms, "verification": a.verification,
                }),
            )?;
            Ok(task)
        })
    }

    /// Closes an improvement action as done, keeping what its verification found.
    pub fn complete_action(
        &mut self,
        id: CaseId,
        task: i64,
        verified: Option<&str>,
        actor: &str,
        now_ms: i64,
    ) -> Result<()> {
        self.close_task(id, task, TaskStatus::Done, actor, now_ms)?;
        if let Some(v) = verified {
            self.conn.execute(
                "UPDATE tasks SET verified = ?2 WHERE id = ?1",
                params![task, v],
            )?;
        }
        Ok(())
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
                    id.0,
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
                params![id.0, now_ms],
            )?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                if communication {
                    AuditAction::Communication
                } else {
                    AuditAction::Note
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
                params![id.0, title, owner, due_ms, actor, now_ms],
            )?;
            let task = tx.last_insert_rowid();
            tx.execute("UPDATE cases SET updated_ms = ?2 WHERE id = ?1", params![id.0, now_ms])?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                AuditAction::TaskAdded,
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
        status: TaskStatus,
        actor: &str,
        now_ms: i64,
    ) -> Result<()> {
        if status == TaskStatus::Open {
            return Err(StoreError::Invalid(
                "a task can be done or cancelled, not open".into(),
            ));
        }
        self.change(id, |tx, _| {
            let current: Option<TaskStatus> = tx
                .query_row(
                    "SELECT status FROM tasks WHERE id = ?1 AND case_id = ?2",
                    params![task, id.0],
                    |r| r.get(0),
                )
                .optional()?;
            match current {
                None => return Err(StoreError::NoTask { case: id, task }),
                Some(TaskStatus::Open) => {}
                Some(s) => return Err(StoreError::TaskClosed(task, s.to_string())),
            }
            tx.execute(
                "UPDATE tasks SET status = ?2, closed_ms = ?3 WHERE id = ?1",
                params![task, status.name(), now_ms],
            )?;
            tx.execute(
                "UPDATE cases SET updated_ms = ?2 WHERE id = ?1",
                params![id.0, now_ms],
            )?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                AuditAction::TaskClosed,
                serde_json::json!({ "task": task, "status": status.name() }),
            )
        })
    }
}

type TaskColumns = (
    i64,
    String,
    Option<String>,
    Option<i64>,
    TaskStatus,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn task_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TaskColumns> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

fn task_of(c: TaskColumns) -> Result<Task> {
    let (
        id,
        title,
        owner,
        due_ms,
        status,
        created_by,
        created_ms,
        closed_ms,
        kind,
        verification,
        verified,
    ) = c;
    let action = match kind {
        None => None,
        Some(k) => Some(ActionItem {
            kind: ActionKind::parse(&k).ok_or_else(|| {
                StoreError::Invalid(format!("task {id}: unknown action kind {k:?}"))
            })?,
            verification: verification
                .as_deref()
                .map(|v| from_json("tasks.verification", v))
                .transpose()?,
            verified,
        }),
    };
    Ok(Task {
        id,
        title,
        owner,
        due_ms,
        status,
        created_by,
        created_ms,
        closed_ms,
        action,
    })
}
