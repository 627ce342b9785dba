//! Response plans in the case: each plan as made (never edited), its approvals, one
//! receipt per step (rewritten as the step progresses), and every AWS call a run made.
//! The plan, approvals and receipts are JSON the playbook and AWS crates define.

use super::{AuditAction, Result, Store, StoreError, audit};
use case::CaseId;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// A response plan's id in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResponsePlanId(pub i64);

impl std::fmt::Display for ResponsePlanId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for ResponsePlanId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        s.parse().map(ResponsePlanId)
    }
}

impl rusqlite::ToSql for ResponsePlanId {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

impl rusqlite::types::FromSql for ResponsePlanId {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        i64::column_result(v).map(ResponsePlanId)
    }
}

/// A response plan as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponsePlanRow {
    pub id: ResponsePlanId,
    pub case_id: CaseId,
    pub playbook: String,
    /// SHA-256 of the plan JSON: what approvals are bound to.
    pub digest: signing::Sha256Digest,
    pub plan: String,
    pub created_by: String,
    pub created_ms: i64,
    /// JSON of the dry-run made with the plan (the exact calls a run would make then, and
    /// the before-state read); `None` for an offline plan.
    pub dry_run: Option<String>,
}

/// A response plan to record: its playbook, digest, JSON and the dry-run made with it.
#[derive(Debug, Clone, Copy)]
pub struct NewResponsePlan<'a> {
    pub playbook: &'a str,
    pub digest: &'a signing::Sha256Digest,
    pub plan_json: &'a str,
    pub dry_run_json: Option<&'a str>,
}

/// One AWS call a response step made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRow {
    pub step: String,
    /// `run` or `rollback`.
    pub phase: String,
    pub service: String,
    pub operation: String,
    pub status: Option<i64>,
    pub ok: bool,
    pub at_ms: i64,
}

/// A mutating call recorded before it was sent, and its outcome once known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntentRow {
    pub id: i64,
    pub step: String,
    pub phase: String,
    pub call: String,
    pub intended_ms: i64,
    /// JSON of the outcome; `None`: never settled (the call may have landed).
    pub outcome: Option<String>,
    pub settled_ms: Option<i64>,
}

const PLAN_COLUMNS: &str = "id, case_id, playbook, digest, plan, created_by, created_ms, dry_run";

fn plan_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ResponsePlanRow> {
    Ok(ResponsePlanRow {
        id: r.get(0)?,
        case_id: CaseId(r.get(1)?),
        playbook: r.get(2)?,
        digest: signing::Sha256Digest::parse(&r.get::<_, String>(3)?).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?,
        plan: r.get(4)?,
        created_by: r.get(5)?,
        created_ms: r.get(6)?,
        dry_run: r.get(7)?,
    })
}

impl Store {
    /// Records a new response plan for a live case.
    pub fn add_response_plan(
        &mut self,
        case: CaseId,
        plan: &NewResponsePlan<'_>,
        actor: &str,
        now_ms: i64,
    ) -> Result<ResponsePlanId> {
        let NewResponsePlan {
            playbook,
            digest,
            plan_json,
            dry_run_json,
        } = *plan;
        self.change(case, |tx, _| {
            tx.execute(
                "INSERT INTO response_plans (case_id, playbook, digest, plan, created_by, created_ms, dry_run) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![case.0, playbook, digest.as_str(), plan_json, actor, now_ms, dry_run_json],
            )?;
            let id = ResponsePlanId(tx.last_insert_rowid());
            audit(
                tx,
                case,
                now_ms,
                actor,
                AuditAction::ResponsePlanned,
                serde_json::json!({ "plan": id, "playbook": playbook, "digest": digest }),
            )?;
            Ok(id)
        })
    }

    /// A case's response plans, oldest first.
    pub fn response_plans(&self, case: CaseId) -> Result<Vec<ResponsePlanRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {PLAN_COLUMNS} FROM response_plans WHERE case_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt
            .query_map([case.0], plan_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    pub fn response_plan(&self, id: ResponsePlanId) -> Result<ResponsePlanRow> {
        self.conn
            .query_row(
                &format!("SELECT {PLAN_COLUMNS} FROM response_plans WHERE id = ?1"),
                [id],
                plan_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::Invalid(format!("no response plan {id}")))
    }

    /// Records one approval (JSON) of a plan by `approver`; approving twice is refused.
    pub fn add_approval(
        &mut self,
        plan: ResponsePlanId,
        approver: &str,
        approval_json: &str,
        now_ms: i64,
    ) -> Result<()> {
        let row = self.response_plan(plan)?;
        self.change(row.case_id, |tx, _| {
            tx.execute(
                "INSERT INTO response_approvals (plan_id, approver, approval, at_ms) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT DO NOTHING",
                params![plan, approver, approval_json, now_ms],
            )?;
            if tx.changes() == 0 {
                return Err(StoreError::Invalid(format!("{approver} has already approved plan {plan}")));
            }
            audit(
                tx,
                row.case_id,
                now_ms,
                approver,
                AuditAction::ResponseApproved,
                serde_json::json!({ "plan": plan, "digest": row.digest }),
            )
        })
    }

    /// A plan's approvals (JSON), in the order given.
    pub fn approvals(&self, plan: ResponsePlanId) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT approval FROM response_approvals WHERE plan_id = ?1 ORDER BY at_ms, approver",
        )?;
        let rows = stmt
            .query_map([plan], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Saves a step's receipt (JSON) in its own transaction; a change of status is audited.
    pub fn save_receipt(
        &mut self,
        plan: ResponsePlanId,
        step: &str,
        status: &str,
        receipt_json: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<()> {
        let row = self.response_plan(plan)?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let previous: Option<String> = tx
            .query_row(
                "SELECT status FROM response_steps WHERE plan_id = ?1 AND step = ?2",
                params![plan, step],
                |r| r.get(0),
            )
            .optional()?;
        tx.execute(
            "INSERT INTO response_steps (plan_id, step, status, receipt, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (plan_id, step) DO UPDATE SET status = excluded.status, receipt = excluded.receipt, \
             updated_ms = excluded.updated_ms",
            params![plan, step, status, receipt_json, now_ms],
        )?;
        if previous.as_deref() != Some(status) {
            let receipt: serde_json::Value = serde_json::from_str(receipt_json).unwrap_or_default();
            audit(
                &tx,
                row.case_id,
                now_ms,
                actor,
                AuditAction::ResponseStep(status.to_string()),
                serde_json::json!({ "plan": plan, "step": step, "receipt": receipt }),
            )?;
        }
        tx.execute(
            "UPDATE cases SET updated_ms = ?2 WHERE id = ?1",
            params![row.case_id.0, now_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A plan's receipts: (step key, receipt JSON).
    pub fn receipts(&self, plan: ResponsePlanId) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT step, receipt FROM response_steps WHERE plan_id = ?1 ORDER BY step",
        )?;
        let rows = stmt
            .query_map([plan], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Appends AWS calls a step made.
    pub fn add_calls(&mut self, plan: ResponsePlanId, calls: &[CallRow]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO response_calls (plan_id, step, phase, service, operation, status, ok, at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for c in calls {
                stmt.execute(params![
                    plan,
                    c.step,
                    c.phase,
                    c.service,
                    c.operation,
                    c.status,
                    c.ok,
                    c.at_ms
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every AWS call a plan's runs and rollbacks made, in order.
    pub fn calls(&self, plan: ResponsePlanId) -> Result<Vec<CallRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT step, phase, service, operation, status, ok, at_ms FROM response_calls WHERE plan_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([plan], |r| {
                Ok(CallRow {
                    step: r.get(0)?,
                    phase: r.get(1)?,
                    service: r.get(2)?,
                    operation: r.get(3)?,
                    status: r.get(4)?,
                    ok: r.get(5)?,
                    at_ms: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Records a mutating call as intended (before it is sent), in its own transaction.
    pub fn intend_call(
        &mut self,
        plan: ResponsePlanId,
        step: &str,
        phase: &str,
        call: &str,
        now_ms: i64,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO response_intents (plan_id, step, phase, call, intended_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![plan, step, phase, call, now_ms],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records what came of an intended call (JSON); a call is settled once.
    pub fn settle_call(&mut self, intent: i64, outcome_json: &str, now_ms: i64) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE response_intents SET outcome = ?2, settled_ms = ?3 WHERE id = ?1 AND outcome IS NULL",
            params![intent, outcome_json, now_ms],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "intended call {intent} does not exist or is settled already"
            )));
        }
        Ok(())
    }

    /// A plan's intended calls, in order (all steps, or one).
    pub fn intents(&self, plan: ResponsePlanId, step: Option<&str>) -> Result<Vec<IntentRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, step, phase, call, intended_ms, outcome, settled_ms FROM response_intents \
             WHERE plan_id = ?1 AND (?2 IS NULL OR step = ?2) ORDER BY id",
        )?;
        let rows = stmt
            .query_map(params![plan, step], |r| {
                Ok(IntentRow {
                    id: r.get(0)?,
                    step: r.get(1)?,
                    phase: r.get(2)?,
                    call: r.get(3)?,
                    intended_ms: r.get(4)?,
                    outcome: r.get(5)?,
                    settled_ms: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}
