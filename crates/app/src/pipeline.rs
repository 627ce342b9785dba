//! Ingest → detect → correlate, and a hunt's alerts into cases: record them in the store
//! (grouping, merging, severity), then read the inputs again to put every event of each open
//! case's entities on its timeline (the timeline pass).

use crate::ports::{Notice, Progress};
use crate::{App, Error, Result};
use case::CaseId;
use case::summary::AlertRecord;
use case::timeline::TimelineEvent;
use detect::{Correlator, Detector, Matches};
use ingest::{
    ChunkOutcome, EventHandler, IngestError, IngestOptions, Input, RecordFilter, Rejection, Summary,
};
use model::entity::{RecordMemo, entities, event_key, event_key_literal};
use model::{Alert, Entity, Event, Raw};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use store::{HuntOutcome, Store, TimelineTarget};

/// Timeline rows written per transaction.
const TIMELINE_BATCH: usize = 2_000;

/// Reads `inputs` through `handler`, reporting progress, and feeds every chunk to
/// `on_chunk` in input order; the first error `on_chunk` returns stops the run.
pub fn read<H: EventHandler, E: From<IngestError>>(
    inputs: &[Input],
    mut opts: IngestOptions,
    progress: &dyn Progress,
    handler: &H,
    mut on_chunk: impl FnMut(ChunkOutcome<H::Output>) -> Result<(), E>,
) -> Result<Summary, E> {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    progress.begin(inputs.iter().map(Input::size).sum::<Option<u64>>());
    opts.progress = Some(counter.clone());
    let mut failure = None;
    let summary = ingest::ingest(inputs, &opts, handler, |chunk| {
        progress.advance(counter.load(std::sync::atomic::Ordering::Relaxed));
        if failure.is_none()
            && let Err(e) = on_chunk(chunk)
        {
            failure = Some(e);
        }
    });
    progress.finish();
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(summary?)
}

/// Evaluates each event read against the detector; one `Matches` per chunk.
pub struct Evaluate<'d>(pub &'d Detector);

impl EventHandler for Evaluate<'_> {
    type Output = Matches;
    fn begin(&self) -> Matches {
        Matches::default()
    }
    fn event(&self, out: &mut Matches, ev: &Event<'_>) {
        self.0.evaluate(ev, out);
    }
}

/// Runs `detector` over `inputs` (detection-only ingest: actors stay in the records) and
/// hands every alert to `on_alert` in input order, correlation alerts as they complete and
/// the rest at the end; rejected records go to `on_rejections`.
pub fn detect_inputs<E: From<IngestError>>(
    inputs: &[Input],
    opts: IngestOptions,
    progress: &dyn Progress,
    detector: &Detector,
    mut on_rejections: impl FnMut(Vec<Rejection>) -> Result<(), E>,
    mut on_alert: impl FnMut(&Alert) -> Result<(), E>,
) -> Result<Summary, E> {
    let mut correlator = Correlator::new(detector);
    let mut completed = Vec::new();
    let opts = IngestOptions {
        normalize_actor: false,
        ..opts
    };
    let summary = read(inputs, opts, progress, &Evaluate(detector), |chunk| {
        for a in &chunk.output.alerts {
            on_alert(a)?;
        }
        for hit in chunk.output.hits {
            correlator.push(hit, &mut completed);
        }
        for a in completed.drain(..) {
            on_alert(&a)?;
        }
        on_rejections(chunk.rejections)
    })?;
    for a in correlator.finish() {
        on_alert(&a)?;
    }
    Ok(summary)
}

/// What opening cases did.
pub struct CaseRun {
    pub hunt: HuntOutcome,
    /// New (event, case) pairs on timelines.
    pub timeline_added: usize,
}

/// The case records of a hunt's alerts, each alert once: a record fed in twice (the same
/// log file given twice, overlapping exports) raises the same alert twice, and keeping only
/// the first holds memory to the distinct alerts however large the input.
#[derive(Default)]
pub struct AlertRecords {
    records: Vec<AlertRecord>,
    keys: HashSet<String>,
    /// Alerts seen again in this run.
    repeated: usize,
}

impl AlertRecords {
    /// Adds the record of an alert raised by a detector built `with_context(true)`.
    pub fn push(&mut self, a: &Alert) -> Result<()> {
        let r =
            AlertRecord::from_alert(a).ok_or_else(|| Error::AlertWithoutContext(a.location()))?;
        if self.keys.insert(r.key.clone()) {
            self.records.push(r);
        } else {
            self.repeated += 1;
        }
        Ok(())
    }
}

/// Records `alerts` as cases in `store`, then builds timelines from `inputs`.
pub fn open_cases(
    app: &App,
    store: &mut Store,
    alerts: &AlertRecords,
    inputs: &[Input],
    opts: IngestOptions,
    progress: &dyn Progress,
) -> Result<CaseRun> {
    let settings = &app.settings;
    let actor = format!("{} (hunt)", settings.actor);
    let mut hunt = store
        .record_hunt(
            &alerts.records,
            settings.grouping,
            &*settings.policy(),
            &actor,
            app.now_ms(),
        )
        .map_err(|source| Error::RecordCases {
            db: settings.db.clone(),
            source,
        })?;
    hunt.alerts_known += alerts.repeated;
    if !hunt.cases_opened.is_empty() {
        app.ports
            .notifier
            .notify(Notice::CasesOpened(hunt.cases_opened.clone()));
    }
    let targets = store.timeline_targets(settings.grouping.window_ms)?;
    let mut index = TimelineIndex::new(&targets);
    let exhaustive = settings.exhaustive_timeline;
    if exhaustive {
        index.filter = None;
        index.spans = vec![(i64::MIN, i64::MAX)];
    }
    let mut batch = Vec::new();
    let mut timeline_added = 0;
    // Each (record, cases) once, decided here in input order: which of two records sharing
    // a key is kept must not depend on which worker got there first.
    let mut queued: HashSet<(String, Vec<CaseId>)> = HashSet::new();
    if !targets.is_empty() {
        let opts = IngestOptions {
            normalize_actor: true,
            ..opts
        };
        read(
            inputs,
            opts,
            progress,
            &Collect {
                index: &index,
                handled: Mutex::new(RecordMemo::new(HANDLED_RECORDS)),
                memo: !exhaustive,
            },
            |chunk| {
                batch.extend(
                    chunk
                        .output
                        .into_iter()
                        .filter(|(ev, _, cases)| queued.insert((ev.key.clone(), cases.clone()))),
                );
                if batch.len() >= TIMELINE_BATCH {
                    timeline_added += store.add_timeline_events(&batch)?;
                    batch.clear();
                }
                Ok::<_, Error>(())
            },
        )?;
        timeline_added += store.add_timeline_events(&batch)?;
    }
    Ok(CaseRun {
        hunt,
        timeline_added,
    })
}

/// Open cases by entity and by alerting record, with their windows.
struct TimelineIndex {
    by_entity: HashMap<Entity, Vec<(CaseId, i64, i64)>>,
    by_key: HashMap<String, Vec<CaseId>>,
    /// The records that can belong: those holding an entity's or alerting record's text.
    /// `None` (read everything) when a target has no text to look for (a record known
    /// only by its content hash, a value JSON would escape).
    filter: Option<RecordFilter>,
    /// Every case window and alerting record's time, merged, sorted and disjoint: an event
    /// of known time outside them all belongs on no timeline.
    spans: Vec<(i64, i64)>,
}

impl TimelineIndex {
    fn new(targets: &[TimelineTarget]) -> Self {
        let mut by_entity: HashMap<Entity, Vec<(CaseId, i64, i64)>> = HashMap::new();
        let mut by_key: HashMap<String, Vec<CaseId>> = HashMap::new();
        for t in targets {
            for e in &t.entities {
                by_entity
                    .entry(e.clone())
                    .or_default()
                    .push((t.case, t.from_ms, t.to_ms));
            }
            for a in &t.alerted {
                by_key.entry(a.event_key.clone()).or_default().push(t.case);
            }
        }
        // An alerting record known by its id is found by the id; one known by a content
        // hash, by the text of any entity it names (the same content names the same ones).
        let alerted = targets.iter().flat_map(|t| &t.alerted).map(|a| {
            event_key_literal(&a.event_key).or_else(|| {
                a.entities
                    .iter()
                    .map(Entity::literal_part)
                    .max_by_key(|l| l.len())
            })
        });
        let literals: Option<Vec<&str>> = by_entity
            .keys()
            .map(|e| Some(e.literal_part()))
            .chain(alerted)
            .collect();
        let filter = literals.and_then(|l| RecordFilter::new(l).ok());
        let mut spans: Vec<(i64, i64)> = targets
            .iter()
            .flat_map(|t| {
                let alerted = t
                    .alerted
                    .iter()
                    .filter_map(|a| a.time_ms)
                    .map(|ms| (ms, ms));
                std::iter::once((t.from_ms, t.to_ms)).chain(alerted)
            })
            .collect();
        spans.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
        for (from, to) in spans {
            match merged.last_mut() {
                Some(last) if from <= last.1.saturating_add(1) => last.1 = last.1.max(to),
                _ => merged.push((from, to)),
            }
        }
        TimelineIndex {
            by_entity,
            by_key,
            filter,
            spans: merged,
        }
    }

    /// Whether a time falls in a case window or is an alerting record's.
    fn covers(&self, ms: i64) -> bool {
        let after = self.spans.partition_point(|&(from, _)| from <= ms);
        after > 0 && self.spans[after - 1].1 >= ms
    }

    /// The cases whose timeline `ev` belongs on.
    fn cases(&self, ev: &Event<'_>, ents: &[Entity], key: &str) -> Vec<CaseId> {
        let mut out: Vec<CaseId> = self.by_key.get(key).cloned().unwrap_or_default();
        for e in ents {
            for &(case, from, to) in self.by_entity.get(e).into_iter().flatten() {
                if ev.time_ms.is_none_or(|t| t >= from && t <= to) && !out.contains(&case) {
                    out.push(case);
                }
            }
        }
        out
    }
}

/// Collects the events of open cases' timelines with the cases each belongs to (the ordered
/// merge keeps each (record, cases) once).
struct Collect<'i> {
    index: &'i TimelineIndex,
    /// Records already placed (or found to belong nowhere), by key and a keyed hash of their
    /// text, with their entities and cases: a repeat (the same file given twice, overlapping
    /// exports) is not extracted again. Bounded; it only saves work.
    handled: Mutex<RecordMemo<(Vec<Entity>, Vec<CaseId>)>>,
    /// Whether `handled` is consulted.
    memo: bool,
}

/// Distinct records [`Collect`] remembers (see [`RecordMemo`]).
const HANDLED_RECORDS: usize = 1 << 14;

impl EventHandler for Collect<'_> {
    type Output = Vec<(TimelineEvent, String, Vec<CaseId>)>;

    fn begin(&self) -> Self::Output {
        Vec::new()
    }

    fn filter(&self) -> Option<&RecordFilter> {
        self.index.filter.as_ref()
    }

    fn event(&self, out: &mut Self::Output, ev: &Event<'_>) {
        if ev.time_ms.is_some_and(|ms| !self.index.covers(ms)) {
            return;
        }
        let key = event_key(ev);
        let known = if self.memo {
            let handled = self
                .handled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let record = handled.identity(key.clone(), &ev.raw);
            handled.get(&record).cloned()
        } else {
            None
        };
        let (ents, cases) = match known {
            Some(v) => v,
            None => {
                let ents = entities(ev);
                let cases = self.index.cases(ev, &ents, &key);
                if self.memo {
                    let mut handled = self
                        .handled
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    let record = handled.identity(key.clone(), &ev.raw);
                    handled.insert(record, (ents.clone(), cases.clone()));
                }
                (ents, cases)
            }
        };
        if cases.is_empty() {
            return;
        }
        let raw = match &ev.raw {
            Raw::Json(t) => model::event::compact_json(t).into_owned(),
            fields => model::ocsf::raw_text(fields),
        };
        out.push((TimelineEvent::with_identity(ev, key, ents), raw, cases));
    }
}

/// The bundled detections, with alert contexts (for cases).
pub fn bundled_detector() -> Result<Detector> {
    Ok(Detector::new(crate::rules::bundled_set()?, true).with_context(true))
}

/// Runs the bundled detections over `inputs` and records what fires as cases, with
/// timelines (what `hunt --cases` does with the bundled rules; collected evidence uses it).
pub fn detect_and_open(app: &App, store: &mut Store, inputs: &[Input]) -> Result<CaseRun> {
    detect_and_open_with(app, store, inputs, &bundled_detector()?)
}

/// Runs `detector` (built with alert contexts) over `inputs` and records what fires as
/// cases, with timelines.
pub fn detect_and_open_with(
    app: &App,
    store: &mut Store,
    inputs: &[Input],
    detector: &Detector,
) -> Result<CaseRun> {
    let mut records = AlertRecords::default();
    detect_inputs(
        inputs,
        IngestOptions::default(),
        &crate::ports::NoProgress,
        detector,
        |_| Ok::<_, Error>(()),
        |a| records.push(a),
    )?;
    open_cases(
        app,
        store,
        &records,
        inputs,
        IngestOptions::default(),
        &crate::ports::NoProgress,
    )
}
