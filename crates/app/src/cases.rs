//! Reading and working a case beyond its store rows: what its timeline says about each
//! entity, its response metrics, the full export document, and closing it (which anchors
//! its custody ledger outside the host).

use crate::evidence::CustodyLog;
use crate::{App, Error, Result};
use case::phase::Metrics;
use case::summary::AlertRecord;
use case::timeline::{EntitySighting, blast_radius_by_actor, sightings};
use case::{CaseId, Phase};
use model::time::format_iso;
use std::io::Write;
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
    if to == Phase::Closed {
        crate::report::check_close(app, store, id)?;
    }
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

/// How a case is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseExportFormat {
    /// The whole case as one JSON document.
    Json,
    /// The timeline, one row per event, every cell neutralised for spreadsheets.
    Csv,
    /// Timesketch JSONL, one line per event.
    Timesketch,
}

/// What an export wrote: records, and events without a timestamp (Timesketch needs one;
/// they are placed at the case's first activity with `time_unknown`).
pub struct CaseExport {
    pub records: usize,
    pub untimed: usize,
}

const TIMELINE_CSV: [&str; 16] = [
    "time",
    "source",
    "actor",
    "access_key_id",
    "src_ip",
    "service",
    "operation",
    "outcome",
    "error_code",
    "region",
    "account",
    "resources",
    "alerts",
    "message",
    "location",
    "key",
];

/// Writes the export; returns how many records (timeline rows, or 1 for JSON) it wrote.
pub fn export(
    store: &Store,
    id: CaseId,
    format: CaseExportFormat,
    sink: &mut dyn Write,
) -> Result<CaseExport> {
    let written = |e: std::io::Error| Error::Export(e.to_string());
    let c = store.case(id)?;
    let timeline = store.timeline(id)?;
    let n = match format {
        CaseExportFormat::Json => {
            let doc = export_document(store, id)?;
            serde_json::to_writer_pretty(&mut *sink, &doc)?;
            writeln!(sink).map_err(written)?;
            1
        }
        CaseExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut *sink);
            w.write_record(TIMELINE_CSV).map_err(csv_error)?;
            for r in &timeline {
                let e = &r.event;
                let o = |s: &Option<String>| s.clone().unwrap_or_default();
                w.write_record(
                    [
                        e.time_ms.map_or_else(|| "-".to_string(), format_iso),
                        e.source.clone(),
                        o(&e.actor),
                        o(&e.access_key_id),
                        o(&e.src_ip),
                        o(&e.service),
                        o(&e.operation),
                        e.outcome.clone(),
                        o(&e.error_code),
                        o(&e.region),
                        o(&e.account),
                        e.resources.join(" "),
                        r.alerts.join(" | "),
                        e.message.clone(),
                        e.location.clone(),
                        e.key.clone(),
                    ]
                    .iter()
                    .map(|c| neutral::csv::cell(c).into_owned()),
                )
                .map_err(csv_error)?;
            }
            w.flush().map_err(written)?;
            timeline.len()
        }
        CaseExportFormat::Timesketch => {
            let mut untimed = 0;
            for r in &timeline {
                let e = &r.event;
                let time = e.time_ms.or_else(|| {
                    untimed += 1;
                    c.first_ms
                });
                let time = time.unwrap_or(c.opened_ms);
                let mut line = serde_json::json!({
                    "message": e.message,
                    "datetime": format_iso(time),
                    "timestamp": time * 1000,
                    "timestamp_desc": match e.source.as_str() {
                        "vpcflow" => "Flow Start",
                        "guardduty" | "securityhub" => "Finding Updated",
                        _ => "Event Time",
                    },
                    "data_type": format!("aws:{}", e.source),
                    "firebreak_case": id,
                    "source": e.source,
                    "event_key": e.key,
                    "location": e.location,
                    "outcome": e.outcome,
                });
                let obj = line.as_object_mut().expect("built as an object");
                for (k, v) in [
                    ("actor", &e.actor),
                    ("access_key_id", &e.access_key_id),
                    ("src_ip", &e.src_ip),
                    ("service", &e.service),
                    ("operation", &e.operation),
                    ("error_code", &e.error_code),
                    ("region", &e.region),
                    ("account", &e.account),
                ] {
                    if let Some(v) = v {
                        obj.insert(k.to_string(), v.clone().into());
                    }
                }
                if !e.resources.is_empty() {
                    obj.insert("resources".into(), e.resources.join(" ").into());
                }
                if e.time_ms.is_none() {
                    obj.insert("time_unknown".into(), true.into());
                }
                if !r.alerts.is_empty() {
                    obj.insert("tag".into(), serde_json::json!(["firebreak-alert"]));
                    obj.insert("alerts".into(), r.alerts.join(" | ").into());
                }
                writeln!(sink, "{line}").map_err(written)?;
            }
            return finish(sink, timeline.len(), untimed);
        }
    };
    finish(sink, n, 0)
}

fn finish(sink: &mut dyn Write, records: usize, untimed: usize) -> Result<CaseExport> {
    sink.flush().map_err(|e| Error::Export(e.to_string()))?;
    Ok(CaseExport { records, untimed })
}

fn csv_error(e: csv::Error) -> Error {
    Error::Export(e.to_string())
}
