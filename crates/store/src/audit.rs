//! The append-only audit log: what changed a case, who did it, when.

use super::*;

/// What an audit entry records. Entries keep the name as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditAction {
    Opened,
    AlertsAdded,
    Transition,
    Assign,
    Note,
    Communication,
    TaskAdded,
    TaskClosed,
    Tag,
    Untag,
    Severity,
    /// This case was merged into another.
    Merged,
    /// This case took in another.
    Absorbed,
    ResponsePlanned,
    ResponseApproved,
    /// The case was restricted to named people (need-to-know), or the restriction lifted.
    Restricted,
    /// A response step's receipt, by its status name (`done`, `rolled-back`, …).
    ResponseStep(String),
    /// A fact recorded (it may start regulator clocks).
    Fact,
    /// A narrative field of the post-incident review written.
    Review,
    ReviewFinished,
    /// What the case turned out to be (true positive, false positive, benign).
    Resolved,
    /// An improvement action added to the case.
    ActionAdded,
}

impl AuditAction {
    pub fn name(&self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow::Borrowed;
        match self {
            AuditAction::Opened => Borrowed("opened"),
            AuditAction::AlertsAdded => Borrowed("alerts added"),
            AuditAction::Transition => Borrowed("transition"),
            AuditAction::Assign => Borrowed("assign"),
            AuditAction::Note => Borrowed("note"),
            AuditAction::Communication => Borrowed("communication"),
            AuditAction::TaskAdded => Borrowed("task added"),
            AuditAction::TaskClosed => Borrowed("task closed"),
            AuditAction::Tag => Borrowed("tag"),
            AuditAction::Untag => Borrowed("untag"),
            AuditAction::Severity => Borrowed("severity"),
            AuditAction::Merged => Borrowed("merged"),
            AuditAction::Absorbed => Borrowed("absorbed"),
            AuditAction::ResponsePlanned => Borrowed("response planned"),
            AuditAction::ResponseApproved => Borrowed("response approved"),
            AuditAction::Restricted => Borrowed("restricted"),
            AuditAction::ResponseStep(status) => format!("response step {status}").into(),
            AuditAction::Fact => Borrowed("fact"),
            AuditAction::Review => Borrowed("review"),
            AuditAction::ReviewFinished => Borrowed("review finished"),
            AuditAction::Resolved => Borrowed("resolved"),
            AuditAction::ActionAdded => Borrowed("action added"),
        }
    }
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

pub(crate) fn audit(
    conn: &Connection,
    case: CaseId,
    at_ms: i64,
    actor: &str,
    action: AuditAction,
    detail: serde_json::Value,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (case_id, at_ms, actor, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        case.0,
        at_ms,
        actor,
        action.name(),
        detail.to_string()
    ])?;
    Ok(())
}

impl Store {
    /// The audit log of a case and of every case merged into it, oldest first.
    pub fn audit(&self, id: CaseId) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "WITH RECURSIVE family(id) AS (SELECT ?1 UNION SELECT c.id FROM cases c JOIN family f ON c.merged_into = f.id) \
             SELECT id, case_id, at_ms, actor, action, detail FROM audit WHERE case_id IN family ORDER BY id",
        )?;
        let rows = stmt
            .query_map([id.0], |r| {
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
                    case_id: CaseId(case_id),
                    at_ms,
                    actor,
                    action,
                    detail: from_json("audit.detail", &detail)?,
                })
            })
            .collect()
    }
}
