//! The post-incident review, drafted from a case: every generated figure and row names its
//! source (an event, an alert, a phase transition, a custody entry, a response call, …),
//! and the narrative comes from what responders wrote, kept with the case.

use crate::clocks::{self, RegulatoryClock};
use crate::narrative::Field;
use case::phase::human_duration;
use case::summary::AlertRecord;
use case::timeline::TimelineEvent;
use case::{CaseId, Phase, Transition};
use model::time::format_iso;
use model::{Entity, Severity};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Where a figure or a row comes from: something `report verify` can read again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// A record on the case's timeline, by its event key.
    Event { key: String, location: String },
    /// An alert, by its key (rule id and event key).
    Alert { key: String, rule: String },
    /// The case's `seq`-th phase transition (1-based).
    Transition { seq: usize, to: Phase, at_ms: i64 },
    /// A custody ledger entry, by its hash.
    Custody { seq: u64, hash: String },
    /// An AWS call a response plan's step made.
    Call {
        plan: i64,
        step: String,
        operation: String,
        at_ms: i64,
    },
    /// An approval of a response plan.
    Approval { plan: i64, by: String, at_ms: i64 },
    /// A communication as sent.
    Communication { id: i64, audience: String },
    /// A fact recorded on the case.
    Fact { id: i64, fact: String },
    /// An improvement action (a task).
    Action { task: i64 },
    /// The case's first assignment, in its audit log.
    Assignment { at_ms: i64 },
    /// The IR plan's own text.
    Plan { field: String },
}

/// FNV-1a, 64-bit: a short stable name for a long key (not a security boundary).
fn fnv(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{:010x}", h >> 24)
}

impl Source {
    /// One line naming it fully, for the appendix.
    pub fn describe(&self) -> String {
        match self {
            Source::Event { key, location } => format!("event {key} ({location})"),
            Source::Alert { key, rule } => format!("alert {key} ({rule})"),
            Source::Transition { seq, to, at_ms } => {
                format!("phase transition {seq} to {to} at {}", format_iso(*at_ms))
            }
            Source::Custody { seq, hash } => format!("custody entry {seq} sha256 {hash}"),
            Source::Call {
                plan,
                step,
                operation,
                at_ms,
            } => format!(
                "response plan {plan} step {step}: {operation} at {}",
                format_iso(*at_ms)
            ),
            Source::Approval { plan, by, at_ms } => format!(
                "approval of response plan {plan} by {by} at {}",
                format_iso(*at_ms)
            ),
            Source::Communication { id, audience } => format!("communication {id} ({audience})"),
            Source::Fact { id, fact } => format!("fact {id}: {fact}"),
            Source::Action { task } => format!("action item (task) {task}"),
            Source::Assignment { at_ms } => {
                format!(
                    "first assignment of the case (audit log) at {}",
                    format_iso(*at_ms)
                )
            }
            Source::Plan { field } => format!("IR plan: {field}"),
        }
    }

    /// A short name that stays the same whatever else a review cites (`ev-…`, `ph-2`).
    pub fn short(&self) -> String {
        match self {
            Source::Event { key, .. } => format!("ev-{}", fnv(&[key])),
            Source::Alert { key, .. } => format!("al-{}", fnv(&[key])),
            Source::Transition { seq, .. } => format!("ph-{seq}"),
            Source::Custody { seq, .. } => format!("cu-{seq}"),
            Source::Call {
                plan,
                step,
                operation,
                at_ms,
            } => format!(
                "call-{plan}-{}",
                fnv(&[step, operation, &at_ms.to_string()])
            ),
            Source::Approval { plan, by, .. } => format!("ap-{plan}-{}", fnv(&[by])),
            Source::Communication { id, .. } => format!("cm-{id}"),
            Source::Fact { id, .. } => format!("fa-{id}"),
            Source::Action { task } => format!("ta-{task}"),
            Source::Assignment { .. } => "as-1".to_string(),
            Source::Plan { field } => format!("plan-{}", fnv(&[field])),
        }
    }
}

/// A generated value with its label and sources.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Stable within a case's review: what `report verify` matches by.
    pub id: String,
    pub label: String,
    pub value: String,
    pub sources: Vec<Source>,
}

/// A generated row of a table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: String,
    pub cells: Vec<String>,
    pub sources: Vec<Source>,
}

/// Which chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChartKind {
    PhaseGantt,
    SwimLane,
    AlertsOverTime,
}

/// A part of a section.
#[derive(Debug, Clone, Serialize)]
pub enum Block {
    /// Label, value, sources.
    Figures(Vec<Figure>),
    Table {
        columns: Vec<String>,
        rows: Vec<Row>,
        /// Said when there are no rows.
        empty: String,
    },
    /// What responders wrote; `None` until someone does.
    Narrative {
        field: Field,
        text: Option<String>,
        by: Option<(String, i64)>,
    },
    /// Fixed text of the review itself (not log text).
    Prose(String),
    Chart(ChartKind),
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
    pub blocks: Vec<Block>,
}

/// A drafted review.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub case: CaseId,
    pub title: String,
    /// The moment the review is drafted as of: durations and clocks are measured to it.
    pub as_of_ms: i64,
    pub sections: Vec<Section>,
    pub charts: Charts,
    /// Every source cited, in order of first citation; each is cited by [`Source::short`].
    pub sources: Vec<Source>,
}

/// What the charts draw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Charts {
    /// Each phase from entry to exit (or `as_of`).
    pub phases: Vec<(Phase, i64, i64)>,
    /// The attacker's entities' events, by time, with a label.
    pub attacker: Vec<(i64, String)>,
    /// Responders' actions (transitions, approvals, calls, communications), by time.
    pub responders: Vec<(i64, String)>,
    pub alerts: Vec<i64>,
    /// The span the charts cover.
    pub from_ms: i64,
    pub to_ms: i64,
}

/// A response plan as the review needs it.
#[derive(Debug, Clone)]
pub struct ResponseRecord {
    pub plan: i64,
    pub playbook: String,
    pub created_by: String,
    pub created_ms: i64,
    pub approvals: Vec<(String, i64, String)>,
    /// Step key, action, status, whether it is disruptive.
    pub steps: Vec<StepRecord>,
    /// Every AWS call, in order: step, `run`/`rollback`, `service:Operation`, ok, time.
    pub calls: Vec<CallRecord>,
}

#[derive(Debug, Clone)]
pub struct StepRecord {
    pub key: String,
    pub action: String,
    pub status: String,
    pub disruptive: bool,
}

#[derive(Debug, Clone)]
pub struct CallRecord {
    pub step: String,
    pub rollback: bool,
    pub operation: String,
    pub ok: bool,
    pub at_ms: i64,
}

/// A sent communication.
#[derive(Debug, Clone)]
pub struct CommunicationRecord {
    pub id: i64,
    pub audience: String,
    pub regulation: Option<String>,
    pub deadline: Option<String>,
    pub sent_ms: i64,
    pub actor: String,
}

/// A recorded fact.
#[derive(Debug, Clone)]
pub struct FactRecord {
    pub id: i64,
    pub fact: String,
    pub at_ms: i64,
    pub note: Option<String>,
}

/// An improvement action.
#[derive(Debug, Clone)]
pub struct ActionRecord {
    pub task: i64,
    pub title: String,
    pub kind: String,
    pub owner: String,
    pub due_ms: Option<i64>,
    pub status: String,
    pub verification: Option<String>,
}

/// A narrative field as written.
#[derive(Debug, Clone)]
pub struct NarrativeText {
    pub text: String,
    pub by: String,
    pub at_ms: i64,
}

/// One SLA clock of the case's plan level.
#[derive(Debug, Clone)]
pub struct SlaRecord {
    pub name: String,
    pub due_ms: i64,
    pub met_ms: Option<i64>,
}

/// The case as the store and the ledger hold it.
#[derive(Debug, Clone)]
pub struct ReviewInputs {
    pub case: CaseId,
    pub title: String,
    pub phase: Phase,
    pub owner: Option<String>,
    pub severity: Severity,
    /// Plan level id and name.
    pub level: Option<(String, String)>,
    pub opened_ms: i64,
    pub domains: Vec<String>,
    pub tactics: Vec<String>,
    pub techniques: Vec<String>,
    pub exercise: Option<String>,
    pub resolution: Option<String>,
    pub assigned_ms: Option<i64>,
    pub timeline: Vec<TimelineEvent>,
    pub alerts: Vec<AlertRecord>,
    pub transitions: Vec<Transition>,
    pub responses: Vec<ResponseRecord>,
    pub custody: Vec<custody::Entry>,
    /// What verifying the ledger found (empty: intact).
    pub custody_problems: Vec<String>,
    /// The ledger head's anchor outside the host, or why it is not known.
    pub anchor: String,
    pub communications: Vec<CommunicationRecord>,
    pub facts: Vec<FactRecord>,
    pub actions: Vec<ActionRecord>,
    pub narrative: BTreeMap<Field, NarrativeText>,
    pub review_finished: Option<(String, i64)>,
    pub sla: Vec<SlaRecord>,
}

/// Timeline rows kept in a review: alerting events and the detection gap are all listed up
/// to this many each; the rest are counted.
const GAP_ROWS: usize = 25;

/// Drafts the review of `c` as of `as_of_ms` under `plan`.
pub fn draft(c: &ReviewInputs, plan: Option<&plan::IrPlan>, as_of_ms: i64) -> Review {
    let mut b = Builder::default();
    let attacker = attacker_entities(&c.alerts);
    let first_alert = c.alerts.iter().filter_map(|a| a.time_ms).min();
    let first_activity = c
        .timeline
        .iter()
        .filter_map(|e| e.time_ms)
        .chain(c.alerts.iter().filter_map(|a| a.time_ms))
        .min();
    let trans = |p: Phase| {
        c.transitions
            .iter()
            .enumerate()
            .find(|(_, t)| t.to == p)
            .map(|(i, t)| (i + 1, t))
    };
    let at_or_past = |p: Phase| {
        c.transitions
            .iter()
            .enumerate()
            .find(|(_, t)| t.to >= p)
            .map(|(i, t)| (i + 1, t))
    };
    let tsrc = |(seq, t): (usize, &Transition)| Source::Transition {
        seq,
        to: t.to,
        at_ms: t.at_ms,
    };
    let detected = trans(Phase::Detected);
    let contained = at_or_past(Phase::Contained);
    let recovered = trans(Phase::Recovered);
    let closed = trans(Phase::Closed);
    let first_event_src = |t: i64| {
        c.timeline
            .iter()
            .find(|e| e.time_ms == Some(t))
            .map(|e| Source::Event {
                key: e.key.clone(),
                location: e.location.clone(),
            })
            .or_else(|| {
                c.alerts
                    .iter()
                    .find(|a| a.time_ms == Some(t))
                    .map(alert_source)
            })
    };

    // Header.
    let review_start = c
        .transitions
        .iter()
        .enumerate()
        .find(|(_, t)| t.to == Phase::Recovered || t.to == Phase::PostIncident)
        .map(|(i, t)| (i + 1, t));
    let level_id = c.level.as_ref().map(|l| l.0.as_str());
    let within = plan.and_then(|p| level_id.and_then(|l| p.review.within.get(l)));
    let holidays = plan.map(|p| p.holiday_dates()).unwrap_or_default();
    let (deadline, deadline_src) = match (within, review_start) {
        (None, _) => (
            "the plan sets no review deadline for this level".to_string(),
            vec![],
        ),
        (Some(w), None) => (
            format!(
                "{} after the case reaches recovery (not yet)",
                w.value.words()
            ),
            vec![Source::Plan {
                field: format!("review.within.{}", level_id.unwrap_or("-")),
            }],
        ),
        (Some(w), Some(start)) => {
            let due = w.value.after(start.1.at_ms, &holidays);
            let state = match &c.review_finished {
                Some((_, at)) if *at <= due => "finished on time".to_string(),
                Some(_) => "finished late".to_string(),
                None if as_of_ms <= due => format!("due in {}", human_duration(due - as_of_ms)),
                None => format!("OVERDUE by {}", human_duration(as_of_ms - due)),
            };
            (
                format!(
                    "{} ({} from {}; {state})",
                    format_iso(due),
                    w.value.words(),
                    start.1.to
                ),
                vec![
                    tsrc(start),
                    Source::Plan {
                        field: format!("review.within.{}", level_id.unwrap_or("-")),
                    },
                ],
            )
        }
    };
    let mut header = vec![
        b.fig(
            "h.case",
            "Case",
            format!("{} — {}", c.case, c.title),
            vec![],
        ),
        b.fig(
            "h.status",
            "Status",
            format!(
                "{}{}",
                c.phase,
                c.resolution
                    .as_deref()
                    .map(|r| format!(", resolved as {r}"))
                    .unwrap_or_default()
            ),
            c.transitions
                .len()
                .checked_sub(1)
                .map(|i| vec![tsrc((i + 1, &c.transitions[i]))])
                .unwrap_or_default(),
        ),
        b.fig(
            "h.owner",
            "Owner (incident commander)",
            c.owner.clone().unwrap_or_else(|| "(none)".into()),
            vec![],
        ),
        b.fig(
            "h.level",
            "Severity and plan level",
            match &c.level {
                Some((id, name)) => format!("{} — {id} {name}", c.severity.name()),
                None => c.severity.name().to_string(),
            },
            vec![],
        ),
        b.fig("h.review_due", "Review deadline", deadline, deadline_src),
        b.fig(
            "h.review",
            "Review",
            match &c.review_finished {
                Some((by, at)) => format!("finished by {by} at {}", format_iso(*at)),
                None => "draft (not finished)".into(),
            },
            vec![],
        ),
    ];
    if let Some(run) = &c.exercise {
        header.push(b.fig(
            "h.exercise",
            "Exercise",
            format!("opened by game day {run}: not counted in incident metrics"),
            vec![],
        ));
    }
    b.section("header", "Case", vec![Block::Figures(header)]);

    // Summary.
    b.section(
        "summary",
        "Summary",
        vec![c.narrative_block(Field::Summary)],
    );

    // Impact.
    let mut accounts: BTreeMap<String, Vec<Source>> = BTreeMap::new();
    let mut regions: BTreeMap<String, Vec<Source>> = BTreeMap::new();
    let mut resources: BTreeMap<String, Vec<Source>> = BTreeMap::new();
    let mut identities: BTreeMap<String, Vec<Source>> = BTreeMap::new();
    for e in c.timeline.iter().filter(|e| touches(e, &attacker)) {
        let s = event_source(e);
        let add = |m: &mut BTreeMap<String, Vec<Source>>, v: &Option<String>| {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                let list = m.entry(v.to_string()).or_default();
                if list.is_empty() {
                    list.push(s.clone());
                }
            }
        };
        add(&mut accounts, &e.account);
        add(&mut regions, &e.region);
        add(&mut identities, &e.actor);
        for r in &e.resources {
            resources
                .entry(r.clone())
                .or_insert_with(|| vec![s.clone()]);
        }
    }
    for a in &c.alerts {
        let s = alert_source(a);
        for (m, v) in [
            (&mut accounts, &a.account),
            (&mut regions, &a.region),
            (&mut identities, &a.principal),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                m.entry(v.to_string()).or_insert_with(|| vec![s.clone()]);
            }
        }
    }
    let classification = plan.map(|p| data_classification(p, accounts.keys()));
    let list = |m: &BTreeMap<String, Vec<Source>>| {
        if m.is_empty() {
            "none seen".to_string()
        } else {
            let shown: Vec<&str> = m.keys().take(12).map(String::as_str).collect();
            let more = m.len().saturating_sub(12);
            format!(
                "{}: {}{}",
                m.len(),
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        }
    };
    let first_srcs = |m: &BTreeMap<String, Vec<Source>>| {
        m.values().flatten().take(3).cloned().collect::<Vec<_>>()
    };
    let mut impact = vec![
        b.fig(
            "i.accounts",
            "Accounts",
            list(&accounts),
            first_srcs(&accounts),
        ),
        b.fig("i.regions", "Regions", list(&regions), first_srcs(&regions)),
        b.fig(
            "i.resources",
            "Resources acted on",
            list(&resources),
            first_srcs(&resources),
        ),
        b.fig(
            "i.identities",
            "Identities (attacker's and touched)",
            list(&identities),
            first_srcs(&identities),
        ),
        b.fig(
            "i.domains",
            "Domains",
            if c.domains.is_empty() {
                "-".into()
            } else {
                c.domains.join(", ")
            },
            vec![],
        ),
        b.fig(
            "i.attack",
            "ATT&CK",
            format!(
                "tactics {}; techniques {}",
                dash(&c.tactics.join(", ")),
                dash(&c.techniques.join(", "))
            ),
            c.alerts.iter().take(1).map(alert_source).collect(),
        ),
    ];
    if let Some((class, field)) = classification {
        impact.push(b.fig(
            "i.data",
            "Data classification (most sensitive account)",
            class,
            vec![Source::Plan { field }],
        ));
    }
    b.section(
        "impact",
        "Impact",
        vec![Block::Figures(impact), c.narrative_block(Field::Impact)],
    );

    // Timeline.
    let mut rows: Vec<(i64, u8, Row)> = Vec::new();
    let alert_by_event: BTreeMap<&str, Vec<&AlertRecord>> =
        c.alerts.iter().fold(BTreeMap::new(), |mut m, a| {
            m.entry(a.event_key.as_str()).or_default().push(a);
            m
        });
    for e in &c.timeline {
        let Some(alerts) = alert_by_event.get(e.key.as_str()) else {
            continue;
        };
        let mut sources = vec![event_source(e)];
        sources.extend(alerts.iter().map(|a| alert_source(a)));
        let titles: BTreeSet<&str> = alerts.iter().map(|a| a.rule_title.as_str()).collect();
        rows.push((
            e.time_ms.unwrap_or(i64::MIN),
            1,
            Row {
                id: format!("t.e.{}", e.key),
                cells: vec![
                    e.time_ms.map_or("time unknown".into(), format_iso),
                    "attacker".into(),
                    e.actor.clone().unwrap_or_else(|| "-".into()),
                    format!(
                        "{} — ALERT: {}",
                        e.message,
                        titles.into_iter().collect::<Vec<_>>().join("; ")
                    ),
                ],
                sources,
            },
        ));
    }
    let in_timeline: BTreeSet<&str> = c.timeline.iter().map(|e| e.key.as_str()).collect();
    for a in c
        .alerts
        .iter()
        .filter(|a| !in_timeline.contains(a.event_key.as_str()))
    {
        rows.push((
            a.time_ms.unwrap_or(i64::MIN),
            1,
            Row {
                id: format!("t.a.{}", a.key),
                cells: vec![
                    a.time_ms.map_or("time unknown".into(), format_iso),
                    "attacker".into(),
                    a.principal.clone().unwrap_or_else(|| "-".into()),
                    format!(
                        "{} — ALERT: {}",
                        a.operation.as_deref().unwrap_or("-"),
                        a.rule_title
                    ),
                ],
                sources: vec![alert_source(a)],
            },
        ));
    }
    for (i, t) in c.transitions.iter().enumerate() {
        rows.push((
            t.at_ms,
            2,
            Row {
                id: format!("t.p.{}", i + 1),
                cells: vec![
                    format_iso(t.at_ms),
                    "responder".into(),
                    t.actor.clone(),
                    format!(
                        "phase {} → {}{}",
                        t.from.map_or("-".to_string(), |f| f.to_string()),
                        t.to,
                        t.reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ),
                ],
                sources: vec![tsrc((i + 1, t))],
            },
        ));
    }
    for r in &c.responses {
        for (by, at, how) in &r.approvals {
            rows.push((
                *at,
                3,
                Row {
                    id: format!("t.ap.{}.{by}", r.plan),
                    cells: vec![
                        format_iso(*at),
                        "responder".into(),
                        by.clone(),
                        format!("approved response plan {} ({}; {how})", r.plan, r.playbook),
                    ],
                    sources: vec![Source::Approval {
                        plan: r.plan,
                        by: by.clone(),
                        at_ms: *at,
                    }],
                },
            ));
        }
        for (i, call) in r.calls.iter().enumerate() {
            rows.push((
                call.at_ms,
                4,
                Row {
                    id: format!("t.c.{}.{}", r.plan, i + 1),
                    cells: vec![
                        format_iso(call.at_ms),
                        "responder".into(),
                        format!("response plan {}", r.plan),
                        format!(
                            "{}{} for {} — {}",
                            if call.rollback { "ROLLBACK " } else { "" },
                            call.operation,
                            call.step,
                            if call.ok { "ok" } else { "FAILED" }
                        ),
                    ],
                    sources: vec![call_source(r.plan, call)],
                },
            ));
        }
    }
    for m in &c.communications {
        rows.push((
            m.sent_ms,
            5,
            Row {
                id: format!("t.m.{}", m.id),
                cells: vec![
                    format_iso(m.sent_ms),
                    "responder".into(),
                    m.actor.clone(),
                    format!(
                        "{} communication sent{}",
                        m.audience,
                        match (&m.regulation, &m.deadline) {
                            (Some(r), Some(d)) => format!(" ({r}: {d})"),
                            _ => String::new(),
                        }
                    ),
                ],
                sources: vec![Source::Communication {
                    id: m.id,
                    audience: m.audience.clone(),
                }],
            },
        ));
    }
    for f in &c.facts {
        rows.push((
            f.at_ms,
            0,
            Row {
                id: format!("t.f.{}", f.id),
                cells: vec![
                    format_iso(f.at_ms),
                    "decision".into(),
                    "-".into(),
                    format!(
                        "fact: {}{}",
                        f.fact,
                        f.note
                            .as_deref()
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default()
                    ),
                ],
                sources: vec![Source::Fact {
                    id: f.id,
                    fact: f.fact.clone(),
                }],
            },
        ));
    }
    rows.sort_by(|a, b| (a.0, a.1, &a.2.id).cmp(&(b.0, b.1, &b.2.id)));
    let rows: Vec<Row> = rows.into_iter().map(|(_, _, r)| b.row(r)).collect();
    b.section(
        "timeline",
        "Timeline",
        vec![
            Block::Prose(
                "Alerting events, phase changes, approvals, every AWS call of the response, communications and recorded facts, in time order.".into(),
            ),
            Block::Table {
                columns: cols(&["Time (UTC)", "Side", "Who", "What"]),
                rows,
                empty: "nothing recorded".into(),
            },
        ],
    );

    // Detection.
    let mut by_rule: BTreeMap<&str, Vec<&AlertRecord>> = BTreeMap::new();
    for a in &c.alerts {
        by_rule.entry(a.rule_title.as_str()).or_default().push(a);
    }
    let rule_rows: Vec<Row> = by_rule
        .iter()
        .map(|(title, alerts)| {
            let first = alerts.iter().filter_map(|a| a.time_ms).min();
            b.row(Row {
                id: format!("d.r.{}", alerts[0].rule_id),
                cells: vec![
                    title.to_string(),
                    alerts[0].severity.name().to_string(),
                    alerts.len().to_string(),
                    first.map_or("time unknown".into(), format_iso),
                ],
                sources: alerts.iter().take(3).map(|a| alert_source(a)).collect(),
            })
        })
        .collect();
    let gap: Vec<&TimelineEvent> = match first_alert {
        Some(first) => c
            .timeline
            .iter()
            .filter(|e| e.time_ms.is_some_and(|t| t < first) && touches(e, &attacker))
            .collect(),
        None => Vec::new(),
    };
    let ttd = match (first_activity, detected) {
        (Some(f), Some(d)) => b.fig(
            "d.ttd",
            "Time to detect (first activity → case opened)",
            human_duration(d.1.at_ms - f),
            first_event_src(f).into_iter().chain([tsrc(d)]).collect(),
        ),
        _ => b.fig("d.ttd", "Time to detect", "not measurable".into(), vec![]),
    };
    let first_alert_fig = b.fig(
        "d.first_alert",
        "First alert",
        first_alert.map_or("none".into(), format_iso),
        c.alerts
            .iter()
            .filter(|a| a.time_ms == first_alert)
            .take(1)
            .map(alert_source)
            .collect(),
    );
    let gap_fig = b.fig(
        "d.gap",
        "Detection gap: the attacker's events before the first alert",
        match (gap.first(), first_alert) {
            (Some(g), Some(f)) => format!(
                "{} event(s) over {} before the first alert",
                gap.len(),
                human_duration(f - g.time_ms.unwrap_or(f))
            ),
            _ => "none: the first alert was the attacker's first event on the timeline".into(),
        },
        gap.first().map(|e| event_source(e)).into_iter().collect(),
    );
    let alerts_fig = b.fig(
        "d.alerts",
        "Alerts",
        format!("{} from {} rule(s)", c.alerts.len(), by_rule.len()),
        vec![],
    );
    let gap_rows: Vec<Row> = gap
        .iter()
        .take(GAP_ROWS)
        .map(|e| {
            b.row(Row {
                id: format!("d.g.{}", e.key),
                cells: vec![
                    e.time_ms.map_or("time unknown".into(), format_iso),
                    e.actor.clone().unwrap_or_else(|| "-".into()),
                    e.message.clone(),
                ],
                sources: vec![event_source(e)],
            })
        })
        .collect();
    let mut detection = vec![
        Block::Figures(vec![alerts_fig, first_alert_fig, ttd, gap_fig]),
        Block::Table {
            columns: cols(&["Rule", "Severity", "Alerts", "First"]),
            rows: rule_rows,
            empty: "no alerts".into(),
        },
        Block::Table {
            columns: cols(&["Before the first alert", "Actor", "What"]),
            rows: gap_rows,
            empty: "no events of the attacker's entities came before the first alert".into(),
        },
    ];
    if gap.len() > GAP_ROWS {
        detection.push(Block::Prose(format!(
            "{} more event(s) before the first alert are on the case timeline (firebreak case timeline {}).",
            gap.len() - GAP_ROWS,
            c.case
        )));
    }
    detection.push(Block::Chart(ChartKind::AlertsOverTime));
    b.section("detection", "Detection", detection);

    // Response.
    let mut plan_rows = Vec::new();
    let mut step_rows = Vec::new();
    let mut first_containing: Option<(i64, Source)> = None;
    let mut rollbacks = 0usize;
    for r in &c.responses {
        let approvers: Vec<&str> = r.approvals.iter().map(|a| a.0.as_str()).collect();
        plan_rows.push(
            b.row(Row {
                id: format!("r.p.{}", r.plan),
                cells: vec![
                    r.plan.to_string(),
                    r.playbook.clone(),
                    format!("{} at {}", r.created_by, format_iso(r.created_ms)),
                    dash(&approvers.join(", ")),
                    r.calls.iter().filter(|c| !c.rollback).count().to_string(),
                ],
                sources: r
                    .approvals
                    .iter()
                    .map(|(by, at, _)| Source::Approval {
                        plan: r.plan,
                        by: by.clone(),
                        at_ms: *at,
                    })
                    .collect(),
            }),
        );
        for s in &r.steps {
            let calls: Vec<&CallRecord> = r.calls.iter().filter(|c| c.step == s.key).collect();
            let run_done = calls
                .iter()
                .filter(|c| !c.rollback && c.ok)
                .map(|c| c.at_ms)
                .max();
            let rolled = calls.iter().any(|c| c.rollback);
            if rolled {
                rollbacks += 1;
            }
            if s.disruptive
                && let Some(at) = run_done
                && first_containing.as_ref().is_none_or(|(t, _)| at < *t)
            {
                let call = calls
                    .iter()
                    .find(|c| c.at_ms == at)
                    .expect("a call at that time");
                first_containing = Some((at, call_source(r.plan, call)));
            }
            step_rows.push(
                b.row(Row {
                    id: format!("r.s.{}.{}", r.plan, s.key),
                    cells: vec![
                        r.plan.to_string(),
                        s.key.clone(),
                        s.status.clone(),
                        run_done.map_or("-".into(), format_iso),
                        if rolled { "yes".into() } else { "no".into() },
                    ],
                    sources: calls
                        .iter()
                        .take(2)
                        .map(|call| call_source(r.plan, call))
                        .collect(),
                }),
            );
        }
    }
    let contained_fig = b.fig(
        "r.contained",
        "Contained",
        match (&first_containing, contained) {
            (Some((at, _)), Some(t)) => format!(
                "first containing call {}; case marked contained {}",
                format_iso(*at),
                format_iso(t.1.at_ms)
            ),
            (Some((at, _)), None) => format!("first containing call {}", format_iso(*at)),
            (None, Some(t)) => format!("case marked {} {}", t.1.to, format_iso(t.1.at_ms)),
            (None, None) => "not contained".into(),
        },
        first_containing
            .iter()
            .map(|(_, s)| s.clone())
            .chain(contained.map(tsrc))
            .collect(),
    );
    let rollback_fig = b.fig(
        "r.rollbacks",
        "Steps rolled back",
        rollbacks.to_string(),
        vec![],
    );
    b.section(
        "response",
        "Response",
        vec![
            Block::Figures(vec![contained_fig, rollback_fig]),
            Block::Table {
                columns: cols(&["Plan", "Playbook", "Made by", "Approved by", "Calls"]),
                rows: plan_rows,
                empty: "no response plan was made".into(),
            },
            Block::Table {
                columns: cols(&["Plan", "Step", "Status", "Took effect", "Rolled back"]),
                rows: step_rows,
                empty: "no steps".into(),
            },
            Block::Chart(ChartKind::PhaseGantt),
            Block::Chart(ChartKind::SwimLane),
        ],
    );

    // Evidence.
    let head = c.custody.last();
    let mut actions: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &c.custody {
        *actions.entry(e.body.action.as_str()).or_default() += 1;
    }
    let evidence = vec![
        b.fig(
            "e.entries",
            "Custody ledger entries",
            if c.custody.is_empty() {
                "none: no evidence was recorded".into()
            } else {
                format!(
                    "{} ({})",
                    c.custody.len(),
                    actions
                        .iter()
                        .map(|(a, n)| format!("{a} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            c.custody
                .first()
                .map(|e| Source::Custody {
                    seq: e.seq,
                    hash: e.hash.clone(),
                })
                .into_iter()
                .collect(),
        ),
        b.fig(
            "e.head",
            "Ledger head",
            head.map_or("-".into(), |e| format!("entry {} sha256 {}", e.seq, e.hash)),
            head.map(|e| Source::Custody {
                seq: e.seq,
                hash: e.hash.clone(),
            })
            .into_iter()
            .collect(),
        ),
        b.fig(
            "e.verified",
            "Ledger verification",
            if c.custody_problems.is_empty() {
                "intact: chain, store witness and signatures check".into()
            } else {
                format!(
                    "{} problem(s): {}",
                    c.custody_problems.len(),
                    c.custody_problems.join("; ")
                )
            },
            vec![],
        ),
        b.fig(
            "e.anchor",
            "Anchor outside the host",
            c.anchor.clone(),
            vec![],
        ),
    ];
    b.section("evidence", "Evidence", vec![Block::Figures(evidence)]);

    // Metrics.
    let mut metrics = Vec::new();
    let dur = |from: Option<(i64, Source)>, to: Option<(i64, Source)>| match (from, to) {
        (Some((f, fs)), Some((t, ts))) => (human_duration(t - f), vec![fs, ts]),
        _ => ("not reached".to_string(), vec![]),
    };
    let det = detected.map(|d| (d.1.at_ms, tsrc(d)));
    let first = first_activity.and_then(|f| first_event_src(f).map(|s| (f, s)));
    let ack = match (
        c.assigned_ms,
        c.transitions
            .iter()
            .enumerate()
            .find(|(_, t)| t.from == Some(Phase::Detected)),
    ) {
        (Some(a), Some((i, t))) if t.at_ms <= a => Some((t.at_ms, tsrc((i + 1, t)))),
        (Some(a), _) => Some((a, Source::Assignment { at_ms: a })),
        (None, Some((i, t))) => Some((t.at_ms, tsrc((i + 1, t)))),
        (None, None) => None,
    };
    let notified = c.communications.first().map(|m| {
        (
            m.sent_ms,
            Source::Communication {
                id: m.id,
                audience: m.audience.clone(),
            },
        )
    });
    let responded = c
        .responses
        .iter()
        .flat_map(|r| {
            r.calls
                .iter()
                .filter(|c| !c.rollback)
                .map(move |c| (r.plan, c))
        })
        .min_by_key(|(_, c)| c.at_ms)
        .map(|(p, call)| (call.at_ms, call_source(p, call)));
    let cont = contained.map(|t| (t.1.at_ms, tsrc(t)));
    let rec = recovered.map(|t| (t.1.at_ms, tsrc(t)));
    let clo = closed.map(|t| (t.1.at_ms, tsrc(t)));
    for (id, label, (value, srcs)) in [
        ("m.ttd", "Time to detect", dur(first.clone(), det.clone())),
        ("m.tta", "Time to acknowledge", dur(det.clone(), ack)),
        (
            "m.ttn",
            "Time to notify (first communication)",
            dur(det.clone(), notified),
        ),
        (
            "m.ttr",
            "Time to respond (first response call)",
            dur(det.clone(), responded),
        ),
        ("m.ttc", "Time to contain", dur(det.clone(), cont.clone())),
        ("m.ttrec", "Time to recover", dur(det.clone(), rec)),
        ("m.ttclose", "Time to close", dur(det.clone(), clo)),
        (
            "m.dwell",
            "Attacker dwell time (first activity → contained)",
            dur(first, cont),
        ),
    ] {
        metrics.push(b.fig(id, label, value, srcs));
    }
    let sla_rows: Vec<Row> = c
        .sla
        .iter()
        .map(|k| {
            let state = match k.met_ms {
                Some(m) if m <= k.due_ms => format!("met at {}", format_iso(m)),
                Some(m) => format!(
                    "met late at {} ({} over)",
                    format_iso(m),
                    human_duration(m - k.due_ms)
                ),
                None if as_of_ms <= k.due_ms => {
                    format!("due in {}", human_duration(k.due_ms - as_of_ms))
                }
                None => format!("BREACHED {} ago", human_duration(as_of_ms - k.due_ms)),
            };
            b.row(Row {
                id: format!("m.sla.{}", k.name),
                cells: vec![k.name.clone(), format_iso(k.due_ms), state],
                sources: vec![Source::Plan {
                    field: format!("severity[{}].sla.{}", level_id.unwrap_or("-"), k.name),
                }],
            })
        })
        .collect();
    let reg = plan
        .map(|p| clocks::regulatory(p, &c.facts, &c.communications))
        .unwrap_or_default();
    let reg_rows: Vec<Row> = reg
        .iter()
        .map(|k| b.row(regulatory_row(k, as_of_ms)))
        .collect();
    b.section(
        "metrics",
        "Metrics and clocks",
        vec![
            Block::Figures(metrics),
            Block::Table {
                columns: cols(&["SLA", "Due", "State"]),
                rows: sla_rows,
                empty: "no plan level: no SLA clocks".into(),
            },
            Block::Table {
                columns: cols(&["Regulation", "Deadline", "Due", "State"]),
                rows: reg_rows,
                empty: "no fact recorded on the case starts a regulator clock".into(),
            },
        ],
    );

    // Analysis.
    b.section(
        "analysis",
        "Contributing factors",
        vec![
            c.narrative_block(Field::ContributingFactors),
            c.narrative_block(Field::FiveWhys),
        ],
    );
    b.section(
        "lessons",
        "What went well, what went badly, where we got lucky",
        vec![
            c.narrative_block(Field::WentWell),
            c.narrative_block(Field::WentBadly),
            c.narrative_block(Field::Lucky),
            c.narrative_block(Field::Lessons),
        ],
    );
    let mut questions = Vec::new();
    for (i, q) in plan
        .map(|p| p.review.questions.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        questions.push(Block::Prose(format!("Q{}. {q}", i + 1)));
        questions.push(c.narrative_block(Field::Answer(i as u32 + 1)));
    }
    if questions.is_empty() {
        questions.push(Block::Prose(
            "The IR plan has no question bank (review.questions).".into(),
        ));
    }
    b.section("questions", "Questions", questions);

    // Actions.
    let action_rows: Vec<Row> = c
        .actions
        .iter()
        .map(|a| {
            let late = a.status == "open" && a.due_ms.is_some_and(|d| d < as_of_ms);
            b.row(Row {
                id: format!("a.{}", a.task),
                cells: vec![
                    a.task.to_string(),
                    a.kind.clone(),
                    a.title.clone(),
                    a.owner.clone(),
                    a.due_ms.map_or("-".into(), format_iso),
                    if late {
                        format!("{} (OVERDUE)", a.status)
                    } else {
                        a.status.clone()
                    },
                    a.verification.clone().unwrap_or_else(|| "-".into()),
                ],
                sources: vec![Source::Action { task: a.task }],
            })
        })
        .collect();
    b.section(
        "actions",
        "Action items",
        vec![Block::Table {
            columns: cols(&["Task", "Kind", "Action", "Owner", "Due", "Status", "Verified by"]),
            rows: action_rows,
            empty: format!(
                "none yet: firebreak case action {} add TITLE --kind prevent --owner WHO --due DATE",
                c.case
            ),
        }],
    );

    let charts = charts(c, &attacker, as_of_ms);
    b.finish(
        c.case,
        format!("Post-incident review: case {} — {}", c.case, c.title),
        as_of_ms,
        charts,
    )
}

impl ReviewInputs {
    fn narrative_block(&self, field: Field) -> Block {
        let n = self.narrative.get(&field);
        Block::Narrative {
            field,
            text: n.map(|n| n.text.clone()),
            by: n.map(|n| (n.by.clone(), n.at_ms)),
        }
    }
}

/// The regulator clock's row of a review.
fn regulatory_row(k: &RegulatoryClock, as_of_ms: i64) -> Row {
    let mut sources = vec![Source::Fact {
        id: k.fact_id,
        fact: k.fact.clone(),
    }];
    if let Some((id, audience)) = &k.met_by {
        sources.push(Source::Communication {
            id: *id,
            audience: audience.clone(),
        });
    }
    Row {
        id: format!("m.reg.{}.{}", k.regulation, k.deadline),
        cells: vec![
            k.regulation_name.clone(),
            format!("{} ({})", k.deadline, k.within),
            format_iso(k.due_ms),
            k.state_at(as_of_ms),
        ],
        sources,
    }
}

fn charts(c: &ReviewInputs, attacker: &BTreeSet<Entity>, as_of_ms: i64) -> Charts {
    let mut phases = Vec::new();
    for (i, t) in c.transitions.iter().enumerate() {
        let end = c.transitions.get(i + 1).map_or(as_of_ms, |n| n.at_ms);
        if t.to != Phase::Closed {
            phases.push((t.to, t.at_ms, end.max(t.at_ms)));
        }
    }
    let attacker_events: Vec<(i64, String)> = c
        .timeline
        .iter()
        .filter(|e| touches(e, attacker))
        .filter_map(|e| {
            Some((
                e.time_ms?,
                e.operation.clone().unwrap_or_else(|| e.message.clone()),
            ))
        })
        .collect();
    let mut responders: Vec<(i64, String)> = c
        .transitions
        .iter()
        .map(|t| (t.at_ms, format!("phase {}", t.to)))
        .collect();
    for r in &c.responses {
        responders.extend(
            r.approvals
                .iter()
                .map(|(by, at, _)| (*at, format!("approved by {by}"))),
        );
        responders.extend(r.calls.iter().map(|c| (c.at_ms, c.operation.clone())));
    }
    responders.extend(
        c.communications
            .iter()
            .map(|m| (m.sent_ms, format!("{} communication", m.audience))),
    );
    responders.sort();
    let alerts: Vec<i64> = c.alerts.iter().filter_map(|a| a.time_ms).collect();
    let times = phases
        .iter()
        .flat_map(|p| [p.1, p.2])
        .chain(attacker_events.iter().map(|e| e.0))
        .chain(responders.iter().map(|e| e.0))
        .chain(alerts.iter().copied());
    let (from_ms, to_ms) = times.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    Charts {
        phases,
        attacker: attacker_events,
        responders,
        alerts,
        from_ms: if from_ms == i64::MAX {
            as_of_ms
        } else {
            from_ms
        },
        to_ms: if to_ms == i64::MIN { as_of_ms } else { to_ms },
    }
}

/// The entities the case's alerts link on: the attacker's keys, principals, sessions,
/// instances and addresses.
fn attacker_entities(alerts: &[AlertRecord]) -> BTreeSet<Entity> {
    alerts
        .iter()
        .flat_map(|a| a.entities.iter())
        .filter(|e| e.links())
        .cloned()
        .collect()
}

fn touches(e: &TimelineEvent, attacker: &BTreeSet<Entity>) -> bool {
    e.entities.iter().any(|x| attacker.contains(x))
}

fn event_source(e: &TimelineEvent) -> Source {
    Source::Event {
        key: e.key.clone(),
        location: e.location.clone(),
    }
}

fn alert_source(a: &AlertRecord) -> Source {
    Source::Alert {
        key: a.key.clone(),
        rule: a.rule_title.clone(),
    }
}

fn call_source(plan: i64, c: &CallRecord) -> Source {
    Source::Call {
        plan,
        step: c.step.clone(),
        operation: c.operation.clone(),
        at_ms: c.at_ms,
    }
}

/// The most sensitive classification among the touched accounts the plan knows.
fn data_classification<'a>(
    plan: &plan::IrPlan,
    accounts: impl Iterator<Item = &'a String>,
) -> (String, String) {
    let rank = |c: &str| plan.data_classifications.iter().position(|x| x == c);
    let mut best: Option<(usize, String, String)> = None;
    for a in accounts {
        if let Some(acc) = plan.aws.accounts.iter().find(|x| &x.id.value == a)
            && let Some(d) = &acc.data
            && let Some(r) = rank(&d.value)
            && best.as_ref().is_none_or(|b| r > b.0)
        {
            best = Some((r, d.value.clone(), format!("aws.accounts[{a}].data")));
        }
    }
    match best {
        Some((_, class, field)) => (class, field),
        None => (
            "unknown: no touched account is in the plan's inventory".into(),
            "aws.accounts".into(),
        ),
    }
}

fn dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

fn cols(c: &[&str]) -> Vec<String> {
    c.iter().map(|s| s.to_string()).collect()
}

/// Numbers sources in order of first citation while sections are built.
#[derive(Default)]
struct Builder {
    sections: Vec<Section>,
    sources: Vec<Source>,
}

impl Builder {
    fn cite(&mut self, s: &[Source]) {
        for x in s {
            if !self.sources.contains(x) {
                self.sources.push(x.clone());
            }
        }
    }

    fn fig(&mut self, id: &str, label: &str, value: String, sources: Vec<Source>) -> Figure {
        self.cite(&sources);
        Figure {
            id: id.to_string(),
            label: label.to_string(),
            value,
            sources,
        }
    }

    fn row(&mut self, r: Row) -> Row {
        self.cite(&r.sources);
        r
    }

    fn section(&mut self, id: &'static str, title: &'static str, blocks: Vec<Block>) {
        self.sections.push(Section { id, title, blocks });
    }

    fn finish(self, case: CaseId, title: String, as_of_ms: i64, charts: Charts) -> Review {
        Review {
            case,
            title,
            as_of_ms,
            sections: self.sections,
            charts,
            sources: self.sources,
        }
    }
}
