//! `/api/v1`: JSON for everything the UI does. The page handlers call the same functions
//! here and render what they return.

use crate::error::{Failure, Result};
use crate::state::Shared;
use app::people::Person;
use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse, Response};
use case::{CaseId, Phase};
use model::Severity;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use store::{QueueFilter, ResponsePlanId, TimelineFilter};

/// How many rows a page shows unless asked otherwise.
pub const PAGE_ROWS: i64 = 50;

fn some(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn flag(s: &Option<String>) -> bool {
    matches!(some(s), Some("1" | "true" | "on" | "yes"))
}

/// The case queue's query string.
#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    pub severity: Option<String>,
    pub phase: Option<String>,
    pub owner: Option<String>,
    pub tag: Option<String>,
    pub q: Option<String>,
    pub breached: Option<String>,
    pub closed: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

impl QueueQuery {
    pub fn filter(&self) -> Result<QueueFilter> {
        let severity = match some(&self.severity) {
            None => None,
            Some(s) => match Severity::from_label(s) {
                Severity::Unknown if !s.eq_ignore_ascii_case("unknown") => {
                    return Err(Failure::bad(
                        "severity",
                        format!(
                            "unknown severity {s:?}: informational, low, medium, high or critical"
                        ),
                    ));
                }
                v => Some(v),
            },
        };
        let phase = match some(&self.phase) {
            None => None,
            Some(p) => Some(Phase::from_name(p).ok_or_else(|| {
                Failure::bad(
                    "phase",
                    format!(
                        "unknown phase {p:?}: {}",
                        Phase::ALL.map(Phase::name).join(", ")
                    ),
                )
            })?),
        };
        Ok(QueueFilter {
            severity,
            phase,
            owner: some(&self.owner).map(str::to_string),
            tag: some(&self.tag).map(str::to_string),
            text: some(&self.q).map(str::to_string),
            include_closed: flag(&self.closed),
        })
    }
}

/// One queue row: the case and its SLA state.
#[derive(Debug, serde::Serialize)]
pub struct QueueRow {
    #[serde(flatten)]
    pub case: store::CaseRow,
    pub breached: bool,
}

/// A page of the queue as `person` may see it.
#[derive(Debug, serde::Serialize)]
pub struct Queue {
    pub rows: Vec<QueueRow>,
    pub total: i64,
    pub more: bool,
    pub offset: i64,
    pub limit: i64,
}

/// A queue page as read from the store: each case with what its SLA clocks are measured
/// from (the clocks themselves are worked out per request).
pub struct QueueRead {
    rows: Vec<(store::CaseRow, Option<app::work::SlaInputs>)>,
    total: i64,
    more: bool,
    /// Every filtered case was read (the SLA-breached filter pages after the clocks).
    whole: bool,
}

fn with_sla(
    store: &store::Store,
    rows: Vec<store::CaseRow>,
) -> Result<Vec<(store::CaseRow, Option<app::work::SlaInputs>)>> {
    let sla = app::work::sla_inputs_of(store, &rows)?;
    Ok(rows.into_iter().zip(sla).collect())
}

pub async fn queue_of(shared: &Arc<Shared>, person: &Person, q: QueueQuery) -> Result<Queue> {
    let filter = q.filter()?;
    let breached_only = flag(&q.breached);
    let offset = q.offset.unwrap_or(0).max(0);
    let limit = q.limit.unwrap_or(PAGE_ROWS).clamp(1, 500);
    let contact = person.contact.clone();
    let read = shared
        .with_store(move |s, store| {
            let key = if breached_only {
                format!("{filter:?} breached")
            } else {
                format!("{filter:?} {offset} {limit}")
            };
            s.kept
                .queues
                .get_or_load(s.store_version()?, (contact.clone(), key), || {
                    let viewer = store::Viewer::Contact(&contact);
                    if !breached_only {
                        let page = store.queue(&filter, viewer, offset, limit)?;
                        return Ok(QueueRead {
                            rows: with_sla(store, page.rows)?,
                            total: page.total,
                            more: page.more,
                            whole: false,
                        });
                    }
                    // SLA state depends on the clock: read every filtered case once,
                    // judge the breaches per request.
                    let mut rows = Vec::new();
                    let mut at = 0;
                    loop {
                        let page = store.queue(&filter, viewer, at, 200)?;
                        let n = page.rows.len() as i64;
                        rows.extend(with_sla(store, page.rows)?);
                        at += n;
                        if n < 200 {
                            break;
                        }
                    }
                    Ok(QueueRead {
                        rows,
                        total: 0,
                        more: false,
                        whole: true,
                    })
                })
        })
        .await?;
    let now = shared.app.now_ms();
    let breached =
        |sla: &Option<app::work::SlaInputs>| sla.as_ref().is_some_and(|i| i.at(now).breached());
    if !read.whole {
        return Ok(Queue {
            rows: read
                .rows
                .iter()
                .map(|(c, sla)| QueueRow {
                    breached: breached(sla),
                    case: c.clone(),
                })
                .collect(),
            total: read.total,
            more: read.more,
            offset,
            limit,
        });
    }
    let hits: Vec<&store::CaseRow> = read
        .rows
        .iter()
        .filter(|(_, sla)| breached(sla))
        .map(|(c, _)| c)
        .collect();
    Ok(Queue {
        total: hits.len() as i64,
        rows: hits
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|c| QueueRow {
                breached: true,
                case: c.clone(),
            })
            .collect(),
        more: false,
        offset,
        limit,
    })
}

pub async fn cases(
    State(shared): State<Arc<Shared>>,
    Extension(person): Extension<Person>,
    Query(q): Query<QueueQuery>,
) -> Result<Json<Queue>> {
    Ok(Json(queue_of(&shared, &person, q).await?))
}

/// What the case page shows as read from the store, and what its SLA clocks are measured
/// from.
pub struct CaseRead {
    view: Value,
    sla: Option<app::work::SlaInputs>,
}

/// Everything the case page shows.
pub async fn case_view(shared: &Arc<Shared>, id: CaseId) -> Result<Value> {
    let read = shared
        .with_store(move |s, store| {
            // The ledger lives in a file beside the store: a kept view is good only while
            // the file is as it was.
            let ledger = app::evidence::CustodyLog::open(&s.app)
                .ok()
                .and_then(|l| std::fs::metadata(l.locker.ledger_path(id)).ok())
                .and_then(|m| Some((m.len(), m.modified().ok()?)));
            s.kept
                .cases
                .get_or_load(s.store_version()?, (id, ledger), || read_case(s, store, id))
        })
        .await?;
    let mut view = read.view.clone();
    view["clocks"] = json!(read.sla.as_ref().map(|i| i.at(shared.app.now_ms())));
    Ok(view)
}

fn read_case(s: &Shared, store: &store::Store, id: CaseId) -> Result<CaseRead> {
    let c = store.case(id)?;
    let alerts = store.alerts(id)?;
    let timeline = store.timeline(id)?;
    let transitions = store.transitions(id)?;
    let entities = app::cases::entity_sightings(&timeline, &alerts);
    let blast: Vec<Value> = case::timeline::blast_radius_by_actor(&timeline)
        .into_iter()
        .map(|(actor, b)| json!({"actor": actor, "radius": b}))
        .collect();
    let metrics = app::cases::metrics(&c, &timeline, &transitions);
    let sla = app::work::sla_inputs(store, &c)?;
    let responses: Vec<Value> = app::respond::summaries(store, id)?
        .into_iter()
        .map(|p| {
            json!({
                "plan": p.row.id, "playbook": p.row.playbook, "digest": p.row.digest,
                "created_by": p.row.created_by, "created_ms": p.row.created_ms,
                "steps": p.steps, "progress": p.progress, "approvers": p.approvers,
                "signed": p.signed, "complete": p.complete,
            })
        })
        .collect();
    let evidence = custody_state(&s.app, store, id);
    let view = json!({
        "case": c,
        "restricted_to": store.case_restrictions(id)?,
        "clocks": null,
        "metrics": metrics,
        "entities": entities,
        "blast_radius": blast,
        "alerts": alerts,
        "timeline_events": timeline.len(),
        "tasks": store.tasks(id)?,
        "notes": store.notes(id)?,
        "review": {
            "narrative": store.narrative(id)?,
            "finished": store.review_finished(id)?,
            "facts": store.facts(id)?,
        },
        "transitions": transitions,
        "audit": store.audit(id)?,
        "responses": responses,
        "evidence": evidence,
        "next_phases": Phase::ALL.iter().filter(|p| **p != c.phase).map(|p| p.name()).collect::<Vec<_>>(),
    });
    Ok(CaseRead { view, sla })
}

/// The custody ledger's entries and whether it verifies, or why it could not be read.
fn custody_state(app: &app::App, store: &store::Store, id: CaseId) -> Value {
    let log = match app::evidence::CustodyLog::open(app) {
        Ok(l) => l,
        Err(e) => return json!({"error": e.to_string()}),
    };
    match log.verify(store, id, Ok(None)) {
        Ok((entries, v)) => json!({
            "entries": entries,
            "intact": v.ok(),
            "problems": v.problems.iter().map(|p| format!("entry {}: {}", p.seq, p.message)).collect::<Vec<_>>(),
            "head": v.head,
            "anchor": v.anchor,
        }),
        Err(e) => json!({"error": e.to_string()}),
    }
}

pub async fn case(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<CaseId>,
) -> Result<Json<Value>> {
    Ok(Json(case_view(&shared, id).await?))
}

/// A timeline page's query string.
#[derive(Debug, Default, Deserialize)]
pub struct TimelineQuery {
    pub entity: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub alerts: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

impl TimelineQuery {
    pub fn filter(&self) -> Result<TimelineFilter> {
        let time = |field: &str, v: &Option<String>| -> Result<Option<i64>> {
            some(v)
                .map(|s| {
                    model::time::parse_timestamp(s).ok_or_else(|| {
                        Failure::bad(
                            field,
                            format!("invalid time {s:?}: use 2026-11-30 or ISO 8601"),
                        )
                    })
                })
                .transpose()
        };
        Ok(TimelineFilter {
            entity: some(&self.entity).map(|e| {
                // `KIND:VALUE` is accepted like the CLI's filter; the value is what matches.
                match e.split_once(':') {
                    Some((k, v)) if model::EntityKind::from_name(k).is_some() => v.to_string(),
                    _ => e.to_string(),
                }
            }),
            from_ms: time("from", &self.from)?,
            to_ms: time("to", &self.to)?,
            alerts_only: flag(&self.alerts),
        })
    }
}

pub async fn timeline_of(
    shared: &Arc<Shared>,
    id: CaseId,
    q: &TimelineQuery,
) -> Result<store::Page<store::TimelineRow>> {
    let filter = q.filter()?;
    let offset = q.offset.unwrap_or(0).max(0);
    let limit = q.limit.unwrap_or(PAGE_ROWS).clamp(1, 500);
    let page = shared
        .with_store(move |s, store| {
            s.kept.timelines.get_or_load(
                s.store_version()?,
                (id, format!("{filter:?} {offset} {limit}")),
                || {
                    store.case(id)?;
                    Ok(store.timeline_page(id, &filter, offset, limit)?)
                },
            )
        })
        .await?;
    Ok(store::Page::clone(&page))
}

pub async fn timeline(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<CaseId>,
    Query(q): Query<TimelineQuery>,
) -> Result<Json<Value>> {
    let page = timeline_of(&shared, id, &q).await?;
    let rows: Vec<Value> = page
        .rows
        .iter()
        .map(|r| json!({"event": r.event, "alerts": r.alerts}))
        .collect();
    Ok(Json(
        json!({"rows": rows, "total": page.total, "more": page.more}),
    ))
}

#[derive(Debug, Deserialize)]
pub struct RecordQuery {
    pub key: String,
}

/// The original record of one event of the case's timeline.
pub async fn record_of(shared: &Arc<Shared>, id: CaseId, key: String) -> Result<(Value, String)> {
    shared
        .with_store(move |_, store| {
            store.case(id)?;
            let row = store
                .timeline_event(id, &key)?
                .ok_or_else(|| Failure::NotFound(format!("event {key} in case {id}")))?;
            Ok((
                serde_json::to_value(&row.event).unwrap_or(Value::Null),
                row.raw,
            ))
        })
        .await
}

pub async fn record(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<CaseId>,
    Query(q): Query<RecordQuery>,
) -> Result<Json<Value>> {
    let (event, raw) = record_of(&shared, id, q.key).await?;
    let raw: Value = serde_json::from_str(&raw).unwrap_or(Value::String(raw));
    Ok(Json(json!({"event": event, "record": raw})))
}

/// One narrative field of the post-incident review.
#[derive(Debug, Deserialize)]
pub struct ReviewInput {
    pub field: String,
    pub text: String,
}

/// The post-incident review drafted now from the store and the ledger (its anchor is not
/// read: a page load never calls AWS), as HTML for a download or as JSON.
fn draft_review(app: &app::App, store: &store::Store, id: CaseId) -> Result<report::Review> {
    Ok(app::report::draft(
        app,
        store,
        id,
        None,
        app::report::AnchorCheck::Offline,
    )?)
}

/// The review as a self-contained HTML download (`firebreak report verify` checks it).
pub async fn review_document(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<CaseId>,
) -> Result<Response> {
    let html = shared
        .with_store(move |s, store| Ok(report::render::html(&draft_review(&s.app, store, id)?)))
        .await?;
    let mut r = html.into_response();
    let h = r.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        axum::http::header::CONTENT_DISPOSITION,
        axum::http::HeaderValue::from_str(&format!(
            "attachment; filename=\"case-{id}-review.html\""
        ))
        .map_err(|e| Failure::Internal(e.to_string()))?,
    );
    Ok(r)
}

/// The review as JSON: sections, figures, rows and their sources.
pub async fn review(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<CaseId>,
) -> Result<Json<Value>> {
    let v = shared
        .with_store(move |s, store| {
            serde_json::to_value(draft_review(&s.app, store, id)?)
                .map_err(|e| Failure::Internal(e.to_string()))
        })
        .await?;
    Ok(Json(v))
}

pub async fn set_review(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Json(b): Json<ReviewInput>,
) -> Result<Json<Value>> {
    Ok(Json(apply(&s, &p, id, Change::Review(b)).await?))
}

#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    /// `json` (default), `csv` (the timeline, spreadsheet-safe) or `timesketch` (JSONL).
    pub format: Option<String>,
}

/// The case's export as a download.
pub async fn export(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<CaseId>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    use app::cases::CaseExportFormat as F;
    let (format, kind, ext) = match some(&q.format).unwrap_or("json") {
        "json" => (F::Json, "application/json", "json"),
        "csv" => (F::Csv, "text/csv; charset=utf-8", "csv"),
        "timesketch" => (F::Timesketch, "application/x-ndjson", "jsonl"),
        other => {
            return Err(Failure::bad(
                "format",
                format!("{other:?}: json, csv or timesketch"),
            ));
        }
    };
    let bytes = shared
        .with_store(move |_, store| {
            let mut out = Vec::new();
            app::cases::export(store, id, format, &mut out)?;
            Ok(out)
        })
        .await?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(kind),
    );
    h.insert(
        axum::http::header::CONTENT_DISPOSITION,
        axum::http::HeaderValue::from_str(&format!("attachment; filename=\"case-{id}.{ext}\""))
            .map_err(|e| Failure::Internal(e.to_string()))?,
    );
    Ok(r)
}

/// A response plan with its dry-run, approvals, receipts, calls and intents.
pub async fn response_of(shared: &Arc<Shared>, id: CaseId, plan: i64) -> Result<Value> {
    shared
        .with_store(move |s, store| {
            let st = app::respond::status(&s.app, store, id, Some(ResponsePlanId(plan)))?;
            if st.row.case_id != id {
                return Err(Failure::NotFound(format!("plan {plan} of case {id}")));
            }
            let dry: Value = st
                .row
                .dry_run
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| Failure::Internal(e.to_string()))?
                .unwrap_or(Value::Null);
            let templates: Vec<Value> = st
                .plan
                .steps
                .iter()
                .map(|step| json!({"key": step.key, "calls": step.call_templates(&st.plan)}))
                .collect();
            Ok(json!({
                "plan": st.row.id,
                "case": id,
                "digest": st.row.digest,
                "created_by": st.row.created_by,
                "created_ms": st.row.created_ms,
                "response_plan": st.plan,
                "rule": st.plan.approval.describe(),
                "dry_run": dry,
                "call_templates": templates,
                "approvals": st.approvals,
                "approved": st.approved.is_ok(),
                "pending": st.approved.as_ref().err().map(|p| p.to_string()),
                "receipts": st.receipts,
                "calls": st.calls,
                "intents": st.intents,
                "notes": st.notes,
            }))
        })
        .await
}

pub async fn response(
    State(shared): State<Arc<Shared>>,
    Path((id, plan)): Path<(CaseId, i64)>,
) -> Result<Json<Value>> {
    Ok(Json(response_of(&shared, id, plan).await?))
}

pub async fn me(Extension(person): Extension<Person>) -> Json<Person> {
    Json(person)
}

// --- changes -------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct NoteInput {
    pub text: String,
    #[serde(default)]
    pub communication: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TaskInput {
    pub title: String,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub due: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CloseInput {
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TagInput {
    pub tag: String,
    #[serde(default)]
    pub remove: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OwnerInput {
    pub owner: String,
}

#[derive(Debug, Deserialize)]
pub struct PhaseInput {
    pub phase: String,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RestrictInput {
    /// Contact ids; a form sends them comma- or space-separated in one field.
    #[serde(default)]
    pub contacts: Contacts,
}

#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
pub enum Contacts {
    #[default]
    None,
    List(Vec<String>),
    Text(String),
}

impl Contacts {
    fn list(&self) -> Vec<String> {
        match self {
            Contacts::None => Vec::new(),
            Contacts::List(v) => v.clone(),
            Contacts::Text(t) => t
                .split([',', ' ', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PlanInput {
    #[serde(default)]
    pub playbook: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RollbackInput {
    #[serde(default)]
    pub steps: Vec<String>,
}

/// One change to a case, as the API and the forms both make it.
pub enum Change {
    Note(NoteInput),
    Task(TaskInput),
    CloseTask(i64, CloseInput),
    Tag(TagInput),
    Owner(OwnerInput),
    Phase(PhaseInput),
    Restrict(RestrictInput),
    Plan(PlanInput),
    Approve(i64),
    Run(i64),
    Rollback(i64, RollbackInput),
    Review(ReviewInput),
}

/// Applies `change` to case `id` as `person`; returns what it did as JSON.
pub async fn apply(
    shared: &Arc<Shared>,
    person: &Person,
    id: CaseId,
    change: Change,
) -> Result<Value> {
    let person = person.clone();
    shared
        .with_store(move |s, store| {
            let app = s.app_as(&person);
            let actor = person.contact.as_str();
            let done = match change {
                Change::Note(n) => {
                    let note = app::work::note(&app, store, id, &n.text, flag(&n.communication), actor)?;
                    json!({"note": note})
                }
                Change::Task(t) => {
                    let due = some(&t.due)
                        .map(|d| {
                            model::time::parse_timestamp(d)
                                .ok_or_else(|| Failure::bad("due", format!("invalid time {d:?}")))
                        })
                        .transpose()?;
                    let task = app::work::add_task(&app, store, id, &t.title, some(&t.assignee), due, actor)?;
                    json!({"task": task})
                }
                Change::CloseTask(task, c) => {
                    let status = match some(&c.status).unwrap_or("done") {
                        "done" => store::TaskStatus::Done,
                        "cancelled" | "cancel" => store::TaskStatus::Cancelled,
                        other => {
                            return Err(Failure::bad("status", format!("{other:?}: done or cancelled")));
                        }
                    };
                    app::work::close_task(&app, store, id, task, status, actor)?;
                    json!({"task": task, "status": status.name()})
                }
                Change::Tag(t) => {
                    let tags: Vec<String> = t.tag.split(',').map(|s| s.trim().to_string()).collect();
                    app::work::tag(&app, store, id, &tags, flag(&t.remove), actor)?;
                    json!({"tags": store.case(id)?.tags})
                }
                Change::Owner(o) => {
                    app::work::assign(&app, store, id, &o.owner, actor)?;
                    json!({"owner": o.owner.trim()})
                }
                Change::Phase(p) => {
                    let phase = Phase::from_name(p.phase.trim()).ok_or_else(|| {
                        Failure::bad("phase", format!("unknown phase {:?}", p.phase))
                    })?;
                    app::cases::transition(&app, store, id, phase, some(&p.reason), None)?;
                    json!({"phase": phase.name()})
                }
                Change::Restrict(r) => {
                    app::work::restrict(&app, store, id, &r.contacts.list(), actor)?;
                    json!({"restricted_to": store.case_restrictions(id)?})
                }
                Change::Plan(p) => {
                    let made = app::respond::plan_response(
                        &app,
                        store,
                        id,
                        &app::respond::PlanRequest {
                            playbook: some(&p.playbook).map(str::to_string),
                            playbook_dirs: s.config.playbooks.clone(),
                            include: Vec::new(),
                            exclude: Vec::new(),
                            overrides: Vec::new(),
                            offline: false,
                        },
                    )?;
                    json!({"plan": made.id, "incomplete": made.plan.incomplete, "also": made.also})
                }
                Change::Approve(plan) => {
                    let c = store.live_case(id)?;
                    let level = c.response.as_ref().map(|r| r.level.as_str());
                    if !person.grants.may_approve_at(level) {
                        return Err(Failure::Forbidden(format!(
                            "approve at level {}",
                            level.unwrap_or("(none)")
                        )));
                    }
                    let a = app::respond::approve_signed_in(
                        &app,
                        store,
                        id,
                        Some(ResponsePlanId(plan)),
                        &person,
                        s.config.attestation_key.as_ref(),
                    )?;
                    json!({"plan": a.plan, "approved_by": a.who, "missing": a.missing})
                }
                Change::Run(plan) => {
                    let e = app::respond::execute(&app, store, id, Some(ResponsePlanId(plan)), &app::respond::Execution::Run)?;
                    json!({"plan": e.row.id, "report": e.report, "ok": e.report.ok(), "notes": e.notes})
                }
                Change::Review(r) => {
                    let field = app::report::set_narrative(&app, store, id, &r.field, &r.text)?;
                    json!({"field": field.name()})
                }
                Change::Rollback(plan, r) => {
                    let e = app::respond::execute(
                        &app,
                        store,
                        id,
                        Some(ResponsePlanId(plan)),
                        &app::respond::Execution::Rollback(r.steps),
                    )?;
                    json!({"plan": e.row.id, "report": e.report, "ok": e.report.ok(), "notes": e.notes})
                }
            };
            s.changes.send_modify(|n| *n += 1);
            Ok(done)
        })
        .await
}

type Who = Extension<Person>;
type St = State<Arc<Shared>>;

pub async fn add_note(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Json(b): Json<NoteInput>,
) -> Result<Json<Value>> {
    Ok(Json(apply(&s, &p, id, Change::Note(b)).await?))
}
pub async fn add_task(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Json(b): Json<TaskInput>,
) -> Result<Json<Value>> {
    Ok(Json(apply(&s, &p, id, Change::Task(b)).await?))
}
pub async fn close_task(
    State(s): St,
    Extension(p): Who,
    Path((id, task)): Path<(CaseId, i64)>,
    b: Option<Json<CloseInput>>,
) -> Result<Json<Value>> {
    let b = b.map(|j| j.0).unwrap_or(CloseInput { status: None });
    Ok(Json(apply(&s, &p, id, Change::CloseTask(task, b)).await?))
}
pub async fn tag(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Json(b): Json<TagInput>,
) -> Result<Json<Value>> {
    Ok(Json(apply(&s, &p, id, Change::Tag(b)).await?))
}
pub async fn assign(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Json(b): Json<OwnerInput>,
) -> Result<Json<Value>> {
    Ok(Json(apply(&s, &p, id, Change::Owner(b)).await?))
}
pub async fn transition(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Json(b): Json<PhaseInput>,
) -> Result<Json<Value>> {
    Ok(Json(apply(&s, &p, id, Change::Phase(b)).await?))
}
pub async fn restrict(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    Json(b): Json<RestrictInput>,
) -> Result<Json<Value>> {
    Ok(Json(apply(&s, &p, id, Change::Restrict(b)).await?))
}
pub async fn plan_response(
    State(s): St,
    Extension(p): Who,
    Path(id): Path<CaseId>,
    b: Option<Json<PlanInput>>,
) -> Result<Json<Value>> {
    Ok(Json(
        apply(&s, &p, id, Change::Plan(b.map(|j| j.0).unwrap_or_default())).await?,
    ))
}
pub async fn approve(
    State(s): St,
    Extension(p): Who,
    Path((id, plan)): Path<(CaseId, i64)>,
) -> Result<Json<Value>> {
    Ok(Json(apply(&s, &p, id, Change::Approve(plan)).await?))
}
pub async fn run(
    State(s): St,
    Extension(p): Who,
    Path((id, plan)): Path<(CaseId, i64)>,
) -> Result<Json<Value>> {
    Ok(Json(apply(&s, &p, id, Change::Run(plan)).await?))
}
pub async fn rollback(
    State(s): St,
    Extension(p): Who,
    Path((id, plan)): Path<(CaseId, i64)>,
    b: Option<Json<RollbackInput>>,
) -> Result<Json<Value>> {
    Ok(Json(
        apply(
            &s,
            &p,
            id,
            Change::Rollback(plan, b.map(|j| j.0).unwrap_or_default()),
        )
        .await?,
    ))
}

// --- hunt, plan, rules, access --------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct HuntInput {
    /// Files or directories on the server.
    #[serde(default)]
    pub paths: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct HuntQuery {
    /// With a raw body: the uploaded file's name.
    pub name: Option<String>,
}

/// Hunts `inputs` (paths on the server) into cases as `person`.
pub async fn hunt_paths(
    shared: &Arc<Shared>,
    person: &Person,
    paths: Vec<std::path::PathBuf>,
) -> Result<Value> {
    if paths.is_empty() {
        return Err(Failure::bad("paths", "name at least one file or directory"));
    }
    let person = person.clone();
    let rules = shared.rules()?;
    shared
        .with_store(move |s, store| {
            let app = s.app_as(&person);
            let inputs =
                ingest::expand_inputs(&paths).map_err(|e| Failure::bad("paths", e.to_string()))?;
            let run = app::pipeline::detect_and_open_with(&app, store, &inputs, &rules.detector)?;
            s.changes.send_modify(|n| *n += 1);
            Ok(json!({
                "files": inputs.len(),
                "alerts_new": run.hunt.alerts_new,
                "alerts_known": run.hunt.alerts_known,
                "cases_opened": run.hunt.cases_opened,
                "cases_updated": run.hunt.cases_updated,
                "merges": run.hunt.merges,
                "timeline_events": run.timeline_added,
            }))
        })
        .await
}

/// Writes uploaded files into a private directory, then hunts them.
pub async fn hunt_uploads(
    shared: &Arc<Shared>,
    person: &Person,
    files: Vec<(String, Vec<u8>)>,
) -> Result<Value> {
    if files.is_empty() {
        return Err(Failure::bad("files", "choose at least one log file"));
    }
    let dir =
        tempfile::tempdir().map_err(|e| Failure::Internal(format!("temporary directory: {e}")))?;
    let mut paths = Vec::new();
    for (i, (name, bytes)) in files.into_iter().enumerate() {
        // Only the final component, and never an empty or dot name.
        let base = std::path::Path::new(&name)
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.starts_with('.'))
            .unwrap_or("upload.log");
        let p = dir.path().join(format!("{i:03}-{base}"));
        std::fs::write(&p, bytes)
            .map_err(|e| Failure::Internal(format!("{}: {e}", p.display())))?;
        paths.push(p);
    }
    let out = hunt_paths(shared, person, paths).await;
    drop(dir);
    out
}

pub async fn hunt(
    State(s): St,
    Extension(p): Who,
    Query(q): Query<HuntQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>> {
    let json_body = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json_body && q.name.is_none() {
        let input: HuntInput = serde_json::from_slice(&body)
            .map_err(|e| Failure::bad("body", format!("expected {{\"paths\": [...]}}: {e}")))?;
        let paths = input
            .paths
            .into_iter()
            .map(std::path::PathBuf::from)
            .collect();
        return Ok(Json(hunt_paths(&s, &p, paths).await?));
    }
    let name = q.name.unwrap_or_else(|| "upload.log".into());
    Ok(Json(
        hunt_uploads(&s, &p, vec![(name, body.to_vec())]).await?,
    ))
}

/// The playbook names and bundled rule ids the IR plan's mappings are checked against.
pub fn known_names(
    shared: &Shared,
) -> (
    std::collections::BTreeSet<String>,
    std::collections::BTreeSet<String>,
) {
    let playbooks = app::respond::load_playbooks(&shared.config.playbooks)
        .map(|b| b.into_iter().map(|b| b.name).collect())
        .unwrap_or_default();
    let rules = shared
        .rules()
        .map(|r| r.listed.iter().map(|r| r.id.clone()).collect())
        .unwrap_or_default();
    (playbooks, rules)
}

/// What the IR plan is checked against today.
pub fn check_context<'a>(
    app: &app::App,
    playbooks: &'a std::collections::BTreeSet<String>,
    rules: &'a std::collections::BTreeSet<String>,
) -> plan::CheckContext<'a> {
    plan::CheckContext {
        today: plan::Date::from_unix_ms(app.now_ms()),
        playbooks,
        rules: Some(rules),
        last_game_day: None,
        open_work: Vec::new(),
    }
}

/// The newest recorded game day and the late post-incident work the store holds.
async fn recorded_work(
    shared: &Arc<Shared>,
) -> Result<(Option<plan::RecordedGameDay>, Vec<plan::OpenWork>)> {
    shared
        .with_store(|shared, store| {
            Ok((
                app::gameday::recorded(store)?,
                app::report::open_work(
                    shared.app.settings.plan.as_ref().map(|p| &p.plan),
                    store,
                    shared.app.now_ms(),
                )?,
            ))
        })
        .await
}

/// The IR plan's check results (or that none is configured).
pub async fn plan_checks(shared: &Arc<Shared>) -> Result<Value> {
    let (recorded, open_work) = recorded_work(shared).await?;
    let app = &shared.app;
    match &app.settings.plan {
        None => Ok(json!({"plan": null, "problems": []})),
        Some(p) => {
            let (playbooks, rules) = known_names(shared);
            let mut ctx = check_context(app, &playbooks, &rules);
            ctx.last_game_day = recorded;
            ctx.open_work = open_work;
            let problems = plan::check(&p.plan, &ctx);
            Ok(json!({
                "plan": p.plan.title(),
                "path": p.path,
                "digest": p.digest,
                "problems": problems.iter().map(|x| json!({"gravity": format!("{:?}", x.gravity), "line": x.line, "field": x.field, "message": x.message})).collect::<Vec<_>>(),
            }))
        }
    }
}

/// The latest readiness report people ran (through the CLI or the server), beside the IR
/// plan's own checks as of now. Reading it never calls AWS.
pub async fn readiness_of(shared: &Arc<Shared>) -> Result<Value> {
    let (recorded, open_work) = recorded_work(shared).await?;
    let plan_report = shared.app.settings.plan.as_ref().map(|l| {
        let (playbooks, rules) = known_names(shared);
        let mut ctx = check_context(&shared.app, &playbooks, &rules);
        ctx.last_game_day = recorded;
        ctx.open_work = open_work;
        plan::readiness::Report::new(&l.plan, plan::readiness::plan_findings(&l.plan, &ctx))
    });
    let latest = shared
        .with_store(|_, store| Ok(store.latest_readiness()?))
        .await?;
    Ok(json!({"plan_checks": plan_report, "latest": latest}))
}

pub async fn readiness(State(s): St) -> Result<Json<Value>> {
    Ok(Json(readiness_of(&s).await?))
}

/// Runs the readiness checks through AWS as `person` and keeps the report.
pub async fn run_readiness_as(shared: &Arc<Shared>, person: &Person) -> Result<Value> {
    if shared.app.settings.plan.is_none() {
        return Err(app::Error::from(app::readiness::NoPlan).into());
    }
    let (playbooks, rules) = known_names(shared);
    let person = person.clone();
    shared
        .with_store(move |s, store| {
            let app = s.app_as(&person);
            let report = app::readiness::check_and_record(
                &app,
                store,
                &app::readiness::Scope {
                    playbooks,
                    rules,
                    ..Default::default()
                },
            )?;
            s.changes.send_modify(|n| *n += 1);
            Ok(serde_json::to_value(report).map_err(app::Error::from)?)
        })
        .await
}

pub async fn run_readiness(State(s): St, Extension(p): Who) -> Result<Json<Value>> {
    Ok(Json(run_readiness_as(&s, &p).await?))
}

pub async fn ir_plan(State(s): St) -> Result<Json<Value>> {
    Ok(Json(plan_checks(&s).await?))
}

/// The server's rules, how many alerts each raised in the store, and the rules that
/// raised alerts here but are not loaded by the server (a CLI hunt with other rules).
#[derive(Debug, serde::Serialize)]
pub struct RulesView {
    pub loaded: Vec<RuleFired>,
    pub elsewhere: Vec<store::RuleCount>,
    /// Rules that did not load and were left out at start.
    pub skipped: Vec<String>,
}

#[derive(Debug, serde::Serialize)]
pub struct RuleFired {
    #[serde(flatten)]
    pub rule: app::rules::RuleSummary,
    pub fired: i64,
}

pub async fn rules_of(shared: &Arc<Shared>) -> Result<RulesView> {
    let rules = shared.rules()?;
    shared
        .with_store(move |_, store| {
            let mut fired: std::collections::BTreeMap<String, store::RuleCount> = store
                .rule_counts()?
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect();
            let loaded = rules
                .listed
                .iter()
                .map(|r| RuleFired {
                    fired: fired.remove(&r.id).map_or(0, |c| c.alerts),
                    rule: r.clone(),
                })
                .collect();
            Ok(RulesView {
                loaded,
                elsewhere: fired.into_values().collect(),
                skipped: rules.skipped.clone(),
            })
        })
        .await
}

pub async fn rules(State(s): St) -> Result<Json<RulesView>> {
    Ok(Json(rules_of(&s).await?))
}

pub async fn access_log(State(s): St) -> Result<Json<Vec<store::AccessEntry>>> {
    Ok(Json(
        s.with_store(|_, store| Ok(store.access_log(500)?)).await?,
    ))
}
