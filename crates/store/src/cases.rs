//! Cases: recording a hunt (grouping, merging, re-deriving), reading cases and their alerts, and
//! the changes a responder makes (phase, owner, tags).

use super::*;

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
    /// The game-day run that made it: an exercise, never counted in real metrics.
    pub exercise: Option<String>,
}

impl CaseRow {
    /// Whether the case counts in incident metrics: a game day's exercise never does.
    pub fn counts_in_metrics(&self) -> bool {
        self.exercise.is_none()
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

/// How a case entity seen again combines with what the case knew: it links if either did,
/// and its first and last sightings widen.
pub(crate) const MERGE_ENTITY: &str = "ON CONFLICT (case_id, kind, value) DO UPDATE SET \
    links = max(links, excluded.links), \
    first_ms = min(coalesce(first_ms, excluded.first_ms), coalesce(excluded.first_ms, first_ms)), \
    last_ms = max(coalesce(last_ms, excluded.last_ms), coalesce(excluded.last_ms, last_ms))";

pub(crate) const CASE_COLUMNS: &str = "id, title, phase, phase_since_ms, severity, severity_reasons, domains, tactics, \
     techniques, owner, merged_into, opened_ms, updated_ms, first_ms, last_ms, alert_count, response, \
     response_since_ms, (SELECT run FROM exercise_cases x WHERE x.case_id = cases.id)";

/// Re-derives a case's title, severity, plan terms, domains and ATT&CK from its alerts;
/// audits a change of severity or plan level. The plan level's clock restarts when the
/// level changes.
pub(crate) fn assess(
    tx: &rusqlite::Transaction<'_>,
    id: CaseId,
    policy: &dyn SeverityPolicy,
    actor: &str,
    now_ms: i64,
) -> Result<bool> {
    let (before, before_response): (String, Option<String>) = tx.query_row(
        "SELECT severity, response FROM cases WHERE id = ?1",
        [id.0],
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
            id.0,
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
            AuditAction::Severity,
            serde_json::json!({
                "from": before, "to": severity,
                "level_from": level_before, "level_to": level,
                "reasons": d.assessment.reasons,
            }),
        )?;
    }
    Ok(before != severity || level != level_before)
}

pub(crate) struct RawCase {
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
    exercise: Option<String>,
}

pub(crate) fn raw_case(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawCase> {
    Ok(RawCase {
        id: CaseId(r.get(0)?),
        title: r.get(1)?,
        phase: r.get(2)?,
        phase_since_ms: r.get(3)?,
        severity: r.get(4)?,
        severity_reasons: r.get(5)?,
        domains: r.get(6)?,
        tactics: r.get(7)?,
        techniques: r.get(8)?,
        owner: r.get(9)?,
        merged_into: r.get::<_, Option<i64>>(10)?.map(CaseId),
        opened_ms: r.get(11)?,
        updated_ms: r.get(12)?,
        first_ms: r.get(13)?,
        last_ms: r.get(14)?,
        alert_count: r.get(15)?,
        response: r.get(16)?,
        response_since_ms: r.get(17)?,
        exercise: r.get(18)?,
    })
}

/// A `transitions` row as read (`case_id, from_phase, to_phase, actor, at_ms, reason`).
pub(crate) struct StoredTransition {
    case: CaseId,
    from: Option<String>,
    to: String,
    actor: String,
    at_ms: i64,
    reason: Option<String>,
}

impl StoredTransition {
    pub(crate) fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredTransition> {
        Ok(StoredTransition {
            case: CaseId(r.get(0)?),
            from: r.get(1)?,
            to: r.get(2)?,
            actor: r.get(3)?,
            at_ms: r.get(4)?,
            reason: r.get(5)?,
        })
    }

    /// The case and the transition, its phases checked.
    pub(crate) fn parse(self) -> Result<(CaseId, Transition)> {
        let phase = |s: &str| {
            Phase::from_name(s).ok_or_else(|| StoreError::Invalid(format!("unknown phase {s:?}")))
        };
        Ok((
            self.case,
            Transition {
                from: self.from.as_deref().map(phase).transpose()?,
                to: phase(&self.to)?,
                actor: self.actor,
                at_ms: self.at_ms,
                reason: self.reason,
            },
        ))
    }
}

pub(crate) fn case_alerts(conn: &Connection, id: CaseId) -> Result<Vec<AlertRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT data FROM alerts WHERE case_id = ?1 ORDER BY time_ms IS NULL, time_ms, id",
    )?;
    let rows = stmt
        .query_map([id.0], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.iter().map(|d| from_json("alerts.data", d)).collect()
}

/// Open cases with the entities of their alerts, for grouping.
pub(crate) fn open_cases(conn: &Connection) -> Result<Vec<OpenCase>> {
    let mut stmt = conn.prepare(
        "SELECT ce.case_id, ce.kind, ce.value, ce.first_ms, ce.last_ms FROM case_entities ce \
         JOIN cases c ON c.id = ce.case_id WHERE c.merged_into IS NULL AND c.phase != 'closed' \
         ORDER BY ce.case_id",
    )?;
    let mut out: Vec<OpenCase> = Vec::new();
    let rows = stmt.query_map([], |r| {
        Ok((
            CaseId(r.get::<_, i64>(0)?),
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
pub(crate) fn merge(
    tx: &Transaction<'_>,
    from: CaseId,
    into: CaseId,
    actor: &str,
    now_ms: i64,
) -> Result<()> {
    let from_phase: String =
        tx.query_row("SELECT phase FROM cases WHERE id = ?1", [from.0], |r| {
            r.get(0)
        })?;
    tx.execute(
        "UPDATE alerts SET case_id = ?2 WHERE case_id = ?1",
        params![from.0, into.0],
    )?;
    tx.execute(
        &format!(
            "INSERT INTO case_entities (case_id, kind, value, links, first_ms, last_ms) \
             SELECT ?2, kind, value, links, first_ms, last_ms FROM case_entities WHERE case_id = ?1 \
             {MERGE_ENTITY}"
        ),
        params![from.0, into.0],
    )?;
    tx.execute("DELETE FROM case_entities WHERE case_id = ?1", [from.0])?;
    tx.execute(
        "INSERT INTO case_events (case_id, event_id) SELECT ?2, event_id FROM case_events WHERE case_id = ?1 \
         ON CONFLICT DO NOTHING",
        params![from.0, into.0],
    )?;
    tx.execute("DELETE FROM case_events WHERE case_id = ?1", [from.0])?;
    tx.execute(
        "INSERT INTO tags (case_id, tag) SELECT ?2, tag FROM tags WHERE case_id = ?1 ON CONFLICT DO NOTHING",
        params![from.0, into.0],
    )?;
    tx.execute("DELETE FROM tags WHERE case_id = ?1", [from.0])?;
    tx.execute(
        "UPDATE notes SET case_id = ?2 WHERE case_id = ?1",
        params![from.0, into.0],
    )?;
    tx.execute(
        "UPDATE tasks SET case_id = ?2 WHERE case_id = ?1",
        params![from.0, into.0],
    )?;
    tx.execute(
        "UPDATE response_plans SET case_id = ?2 WHERE case_id = ?1",
        params![from.0, into.0],
    )?;
    tx.execute(
        "UPDATE cases SET merged_into = ?2, alert_count = 0, updated_ms = ?3 WHERE id = ?1",
        params![from.0, into.0, now_ms],
    )?;
    audit(
        tx,
        from,
        now_ms,
        actor,
        AuditAction::Merged,
        serde_json::json!({ "into": into, "phase": from_phase }),
    )?;
    audit(
        tx,
        into,
        now_ms,
        actor,
        AuditAction::Absorbed,
        serde_json::json!({ "case": from, "phase": from_phase }),
    )?;
    Ok(())
}

impl Store {
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
            let id = CaseId(tx.last_insert_rowid());
            tx.execute(
                "INSERT INTO transitions (case_id, from_phase, to_phase, actor, at_ms, reason) \
                 VALUES (?1, NULL, ?2, ?3, ?4, 'opened from alerts')",
                params![id.0, Phase::Detected.name(), actor, now_ms],
            )?;
            audit(
                &tx,
                id,
                now_ms,
                actor,
                AuditAction::Opened,
                serde_json::json!({}),
            )?;
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
                insert.execute(params![a.key, id.0, a.time_ms, a.event_key, json(a)])?;
                for e in &a.entities {
                    let links = e.links()
                        && !(e.kind == EntityKind::Ip && grouping.shared_ips.contains(&e.value));
                    entity.execute(params![id.0, e.kind.name(), e.value, links, a.time_ms])?;
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
                AuditAction::AlertsAdded,
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
            .query_map([], |r| r.get(0).map(CaseId))?
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
            .query_row(&sql, [id.0], raw_case)
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

    pub(crate) fn finish_case(&self, r: RawCase) -> Result<CaseRow> {
        let mut tags = self
            .conn
            .prepare_cached("SELECT tag FROM tags WHERE case_id = ?1 ORDER BY tag")?;
        let tags = tags
            .query_map([r.id.0], |row| row.get(0))?
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
            exercise: r.exercise,
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

    /// The phase history, oldest first.
    pub fn transitions(&self, id: CaseId) -> Result<Vec<Transition>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT case_id, from_phase, to_phase, actor, at_ms, reason FROM transitions WHERE case_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([id.0], StoredTransition::read)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|t| Ok(t.parse()?.1)).collect()
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
                "SELECT count(*) FROM tasks WHERE case_id = ?1 AND status = 'open' AND action_kind IS NULL",
                [id.0],
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
                params![id.0, c.phase.name(), to.name(), actor, at_ms, reason],
            )?;
            tx.execute(
                "UPDATE cases SET phase = ?2, phase_since_ms = ?3, updated_ms = ?3 WHERE id = ?1",
                params![id.0, to.name(), at_ms],
            )?;
            audit(
                tx,
                id,
                at_ms,
                actor,
                AuditAction::Transition,
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
                params![id.0, owner, now_ms],
            )?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                AuditAction::Assign,
                serde_json::json!({ "from": c.owner, "to": owner }),
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
                        params![id.0, t.trim()],
                    )?;
                } else {
                    tx.execute(
                        "INSERT INTO tags (case_id, tag) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                        params![id.0, t.trim()],
                    )?;
                }
            }
            tx.execute(
                "UPDATE cases SET updated_ms = ?2 WHERE id = ?1",
                params![id.0, now_ms],
            )?;
            audit(
                tx,
                id,
                now_ms,
                actor,
                if remove {
                    AuditAction::Untag
                } else {
                    AuditAction::Tag
                },
                serde_json::json!({ "tags": tags }),
            )
        })
    }
}
