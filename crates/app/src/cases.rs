//! Reading and working a case beyond its store rows: what its timeline says about each
//! entity, its response metrics, the full export document, and closing it (which anchors
//! its custody ledger outside the host).

use crate::evidence::CustodyLog;
use crate::{App, Result};
use case::phase::Metrics;
use case::summary::AlertRecord;
use case::timeline::{EntitySighting, blast_radius_by_actor, sightings};
use case::{CaseId, Phase};
use store::{CaseRow, Store, TimelineRow};

/// Entity sightings over the timeline, with alert counts from the alerts.
pub fn entity_sightings(timeline: &[TimelineRow], alerts: &[AlertRecord]) -> Vec<EntitySighting> {
    let mut s = sightings(timeline);
    for a in alerts {
        for e in &a.entities {
            match s.iter_mut().find(|x| &x.entity == e) {
                Some(x) => x.alerts += 1,
                None => s.push(EntitySighting {
                    entity: e.clone(),
                    first_ms: a.time_ms,
                    last_ms: a.time_ms,
                    events: 0,
                    alerts: 1,
                }),
            }
        }
    }
    s.sort_by_key(|a| (a.entity.kind, a.first_ms));
    s
}

/// Response times, counted from the case's earliest activity: its first alert or the
/// earliest event on its timeline.
pub fn metrics(c: &CaseRow, timeline: &[TimelineRow], transitions: &[case::Transition]) -> Metrics {
    let first = timeline
        .iter()
        .filter_map(|r| r.event.time_ms)
        .chain(c.first_ms)
        .min();
    Metrics::compute(first, transitions)
}

/// Everything known of a case as one JSON document (`case export --format json`): the case,
/// metrics, entities, alerts, blast radius per actor, the timeline with each original
/// record, transitions, tasks, notes, audit and response plans.
pub fn export_document(store: &Store, id: CaseId) -> Result<serde_json::Value> {
    let c = store.case(id)?;
    let timeline = store.timeline(id)?;
    let transitions = store.transitions(id)?;
    let alerts = store.alerts(id)?;
    let timeline_json: Vec<serde_json::Value> = timeline
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r)?;
            v["record"] =
                serde_json::from_str(&r.raw).unwrap_or(serde_json::Value::String(r.raw.clone()));
            Ok(v)
        })
        .collect::<Result<_>>()?;
    Ok(serde_json::json!({
        "case": c,
        "metrics": metrics(&c, &timeline, &transitions),
        "entities": entity_sightings(&timeline, &alerts),
        "alerts": alerts,
        "blast_radius": blast_radius_by_actor(&timeline)
            .into_iter()
            .map(|(actor, b)| serde_json::json!({ "actor": actor, "radius": b }))
            .collect::<Vec<_>>(),
        "timeline": timeline_json,
        "transitions": transitions,
        "tasks": store.tasks(id)?,
        "notes": store.notes(id)?,
        "audit": store.audit(id)?,
        "responses": crate::respond::case_responses(store, id)?,
    }))
}

/// What a transition did besides moving the case.
pub enum Transitioned {
    Moved,
    /// Closed, and the custody ledger's final head anchored at this location (`None`: no
    /// plan names a bucket, or the ledger is empty).
    ClosedAndAnchored(Option<String>),
    /// Closed, but the anchor could not be written (why).
    ClosedNotAnchored(String),
}

/// Moves a case to `to` (at `at_ms`, default now) if its state machine allows it; closing
/// anchors the custody ledger's final head outside the host.
pub fn transition(
    app: &App,
    store: &mut Store,
    id: CaseId,
    to: Phase,
    reason: Option<&str>,
    at_ms: Option<i64>,
) -> Result<Transitioned> {
    store.transition(
        id,
        to,
        reason,
        &app.settings.actor,
        at_ms.unwrap_or_else(|| app.now_ms()),
    )?;
    if to != Phase::Closed {
        return Ok(Transitioned::Moved);
    }
    let anchored = CustodyLog::open(app).and_then(|c| c.anchor(app, id));
    Ok(match anchored {
        Ok(at) => Transitioned::ClosedAndAnchored(at),
        Err(e) => Transitioned::ClosedNotAnchored(e.to_string()),
    })
}
