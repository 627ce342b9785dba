//! After the incident: facts that start regulator clocks, the review's narrative and its
//! finishing, communications as sent, and a case's resolution. Every table is append-only;
//! the newest row of a kind is the one in force. Rows of cases merged into a case count
//! as the case's own.

use super::*;

/// The case and every case merged into it, for `WHERE case_id IN family`.
const FAMILY: &str = "WITH RECURSIVE family(id) AS (SELECT ?1 UNION SELECT c.id FROM cases c JOIN family f ON c.merged_into = f.id) ";

/// A fact recorded on a case (`personal-data-breach` at the moment the organization
/// became aware of it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactRow {
    pub id: i64,
    pub fact: String,
    /// When the fact became true (awareness, the materiality decision).
    pub at_ms: i64,
    pub note: Option<String>,
    pub actor: String,
    pub recorded_ms: i64,
}

/// One field of the review's narrative as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NarrativeRow {
    pub id: i64,
    pub field: String,
    pub text: String,
    pub actor: String,
    pub at_ms: i64,
}

/// A communication as sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommunicationRow {
    pub id: i64,
    pub audience: String,
    /// The regulation and deadline it meets, for a regulator notification.
    pub regulation: Option<String>,
    pub deadline: Option<String>,
    pub sent_ms: i64,
    pub actor: String,
    pub recorded_ms: i64,
    /// SHA-256 of the text sent.
    pub digest: String,
    #[serde(skip)]
    pub body: String,
}

/// What is recorded of a sent communication.
#[derive(Debug, Clone)]
pub struct NewCommunication<'a> {
    pub audience: &'a str,
    pub regulation: Option<&'a str>,
    pub deadline: Option<&'a str>,
    pub sent_ms: i64,
    pub digest: &'a str,
    pub body: &'a str,
}

/// What a case turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// A real incident.
    TruePositive,
    /// Nothing happened: the detection was wrong.
    FalsePositive,
    /// It happened, and it was allowed (a pentest, an admin at work).
    Benign,
}

impl Resolution {
    pub const ALL: [Resolution; 3] = [
        Resolution::TruePositive,
        Resolution::FalsePositive,
        Resolution::Benign,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Resolution::TruePositive => "true-positive",
            Resolution::FalsePositive => "false-positive",
            Resolution::Benign => "benign",
        }
    }

    pub fn parse(s: &str) -> Option<Resolution> {
        Resolution::ALL.into_iter().find(|r| r.name() == s)
    }

    /// Counts in incident metrics (a false positive or a benign event is no incident).
    pub fn is_incident(self) -> bool {
        self == Resolution::TruePositive
    }
}

impl std::fmt::Display for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A finished review: who finished it and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewFinished {
    pub actor: String,
    pub at_ms: i64,
}

impl Store {
    /// Records `fact` on a case as true from `at_ms`.
    pub fn record_fact(
        &mut self,
        id: CaseId,
        fact: &str,
        at_ms: i64,
        note: Option<&str>,
        actor: &str,
        now_ms: i64,
    ) -> Result<i64> {
        if fact.trim().is_empty() {
            return Err(StoreError::Invalid("the fact has no name".into()));
        }
        self.change(id, |tx, _| {
            tx.execute(
                "INSERT INTO case_facts (case_id, fact, at_ms, note, actor, recorded_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id.0, fact, at_ms, note, actor, now_ms],
            )?;
            let row = tx.last_insert_rowid();
            touch(tx, id, now_ms)?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                AuditAction::Fact,
                serde_json::json!({ "fact": fact, "at_ms": at_ms, "note": note }),
            )?;
            Ok(row)
        })
    }

    /// The facts in force: the newest recording of each fact, oldest fact first.
    pub fn facts(&self, id: CaseId) -> Result<Vec<FactRow>> {
        let sql = format!(
            "{FAMILY}SELECT id, fact, at_ms, note, actor, recorded_ms FROM case_facts \
             WHERE id IN (SELECT max(id) FROM case_facts WHERE case_id IN family GROUP BY fact) ORDER BY at_ms, id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        Ok(stmt
            .query_map([id.0], |r| {
                Ok(FactRow {
                    id: r.get(0)?,
                    fact: r.get(1)?,
                    at_ms: r.get(2)?,
                    note: r.get(3)?,
                    actor: r.get(4)?,
                    recorded_ms: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Writes one narrative field of the review (the newest text wins).
    pub fn set_narrative(
        &mut self,
        id: CaseId,
        field: &str,
        text: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<i64> {
        self.change(id, |tx, _| {
            tx.execute(
                "INSERT INTO review_narrative (case_id, field, text, actor, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id.0, field, text, actor, now_ms],
            )?;
            let row = tx.last_insert_rowid();
            touch(tx, id, now_ms)?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                AuditAction::Review,
                serde_json::json!({ "field": field, "chars": text.chars().count() }),
            )?;
            Ok(row)
        })
    }

    /// The narrative in force: the newest text of each field.
    pub fn narrative(&self, id: CaseId) -> Result<Vec<NarrativeRow>> {
        let sql = format!(
            "{FAMILY}SELECT id, field, text, actor, at_ms FROM review_narrative \
             WHERE id IN (SELECT max(id) FROM review_narrative WHERE case_id IN family GROUP BY field) ORDER BY field"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        Ok(stmt
            .query_map([id.0], |r| {
                Ok(NarrativeRow {
                    id: r.get(0)?,
                    field: r.get(1)?,
                    text: r.get(2)?,
                    actor: r.get(3)?,
                    at_ms: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Records that the review is finished.
    pub fn finish_review(&mut self, id: CaseId, actor: &str, now_ms: i64) -> Result<()> {
        self.change(id, |tx, _| {
            tx.execute(
                "INSERT INTO review_finished (case_id, actor, at_ms) VALUES (?1, ?2, ?3)",
                params![id.0, actor, now_ms],
            )?;
            touch(tx, id, now_ms)?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                AuditAction::ReviewFinished,
                serde_json::json!({}),
            )
        })
    }

    /// When the review was first finished, if it was.
    pub fn review_finished(&self, id: CaseId) -> Result<Option<ReviewFinished>> {
        let sql = format!(
            "{FAMILY}SELECT actor, at_ms FROM review_finished WHERE case_id IN family ORDER BY id LIMIT 1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id.0], |r| {
                Ok(ReviewFinished {
                    actor: r.get(0)?,
                    at_ms: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// Records a communication as sent. It also meets the plan's communicate SLA: a
    /// communication note is added with it.
    pub fn record_communication(
        &mut self,
        id: CaseId,
        c: &NewCommunication<'_>,
        actor: &str,
        now_ms: i64,
    ) -> Result<i64> {
        self.change(id, |tx, _| {
            tx.execute(
                "INSERT INTO communications (case_id, audience, regulation, deadline, sent_ms, actor, recorded_ms, digest, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![id.0, c.audience, c.regulation, c.deadline, c.sent_ms, actor, now_ms, c.digest, c.body],
            )?;
            let row = tx.last_insert_rowid();
            let text = match (c.regulation, c.deadline) {
                (Some(r), Some(d)) => format!("{} communication sent ({r}: {d}), sha256 {}", c.audience, c.digest),
                _ => format!("{} communication sent, sha256 {}", c.audience, c.digest),
            };
            tx.execute(
                "INSERT INTO notes (case_id, actor, at_ms, text, kind) VALUES (?1, ?2, ?3, ?4, 'communication')",
                params![id.0, actor, c.sent_ms, text],
            )?;
            touch(tx, id, now_ms)?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                AuditAction::Communication,
                serde_json::json!({
                    "communication": row, "audience": c.audience, "regulation": c.regulation,
                    "deadline": c.deadline, "sent_ms": c.sent_ms, "digest": c.digest,
                }),
            )?;
            Ok(row)
        })
    }

    /// Every communication sent on a case, oldest first.
    pub fn communications(&self, id: CaseId) -> Result<Vec<CommunicationRow>> {
        let sql = format!(
            "{FAMILY}SELECT id, audience, regulation, deadline, sent_ms, actor, recorded_ms, digest, body \
             FROM communications WHERE case_id IN family ORDER BY sent_ms, id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        Ok(stmt
            .query_map([id.0], |r| {
                Ok(CommunicationRow {
                    id: r.get(0)?,
                    audience: r.get(1)?,
                    regulation: r.get(2)?,
                    deadline: r.get(3)?,
                    sent_ms: r.get(4)?,
                    actor: r.get(5)?,
                    recorded_ms: r.get(6)?,
                    digest: r.get(7)?,
                    body: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Records what the case turned out to be.
    pub fn resolve(
        &mut self,
        id: CaseId,
        resolution: Resolution,
        reason: Option<&str>,
        actor: &str,
        now_ms: i64,
    ) -> Result<()> {
        self.change(id, |tx, _| {
            tx.execute(
                "INSERT INTO case_resolutions (case_id, resolution, reason, actor, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id.0, resolution.name(), reason, actor, now_ms],
            )?;
            touch(tx, id, now_ms)?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                AuditAction::Resolved,
                serde_json::json!({ "resolution": resolution.name(), "reason": reason }),
            )
        })
    }

    /// The case's resolution in force, if it was resolved.
    pub fn resolution(&self, id: CaseId) -> Result<Option<Resolution>> {
        let r: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT resolution FROM case_resolutions WHERE case_id = ?1 ORDER BY id DESC LIMIT 1",
            )?
            .query_row([id.0], |r| r.get(0))
            .optional()?;
        r.map(|r| {
            Resolution::parse(&r)
                .ok_or_else(|| StoreError::Invalid(format!("case {id}: unknown resolution {r:?}")))
        })
        .transpose()
    }

    /// Every case's resolution in force (cases never resolved are absent).
    pub fn resolutions(&self) -> Result<BTreeMap<CaseId, Resolution>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT case_id, resolution FROM case_resolutions \
             WHERE id IN (SELECT max(id) FROM case_resolutions GROUP BY case_id)",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(c, r)| {
                Resolution::parse(&r)
                    .map(|r| (CaseId(c), r))
                    .ok_or_else(|| {
                        StoreError::Invalid(format!("case {c}: unknown resolution {r:?}"))
                    })
            })
            .collect()
    }

    /// The earliest event on every case's timeline, by case (for time to detect).
    pub fn first_event_times(&self) -> Result<BTreeMap<CaseId, i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ce.case_id, min(e.time_ms) FROM case_events ce JOIN events e ON e.id = ce.event_id \
             WHERE e.time_ms IS NOT NULL GROUP BY ce.case_id",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((CaseId(r.get(0)?), r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The first AWS call a response plan of every case made, by case (time to respond).
    pub fn first_response_calls(&self) -> Result<BTreeMap<CaseId, i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.case_id, min(c.at_ms) FROM response_calls c JOIN response_plans p ON p.id = c.plan_id \
             WHERE c.phase = 'run' GROUP BY p.case_id",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((CaseId(r.get(0)?), r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The first communication of every case, by case (for time to notify).
    pub fn first_communications(&self) -> Result<BTreeMap<CaseId, i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT case_id, min(sent_ms) FROM communications GROUP BY case_id")?;
        let rows = stmt
            .query_map([], |r| Ok((CaseId(r.get(0)?), r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

fn touch(tx: &Transaction<'_>, id: CaseId, now_ms: i64) -> Result<()> {
    tx.execute(
        "UPDATE cases SET updated_ms = ?2 WHERE id = ?1",
        params![id.0, now_ms],
    )?;
    Ok(())
}
