//! `firebreak case …`: list, show, timeline, note, task, assign, transition, tag, audit,
//! export.

use crate::settings::{Settings, StoreArgs, now_ms};
use anyhow::{Context, Result, bail};
use app::pipeline::CaseRun;
use case::phase::human_duration;
use case::timeline::{BlastRadius, blast_radius_by_actor};
use case::{CaseId, Phase};
use clap::{Subcommand, ValueEnum};
use model::time::{format_iso, parse_timestamp};
use model::{Entity, EntityKind};
use neutral::terminal::Printable;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use store::{CaseRow, Store, TimelineRow};

#[derive(Subcommand, Debug)]
pub enum CaseCommand {
    /// Open cases, newest first.
    List {
        /// Include closed cases.
        #[arg(long)]
        all: bool,
        #[arg(short, long, value_enum, default_value = "table")]
        output: ListFormat,
    },
    /// Everything about a case: severity and why, ATT&CK, entities, blast radius, alerts,
    /// tasks, notes, phase history and response times.
    Show { id: CaseId },
    /// Every event of the case's entities in its window, alerts marked. With `--entity`,
    /// the attacker timeline of one principal, session, access key, instance or address.
    Timeline {
        id: CaseId,
        /// `VALUE` or `KIND:VALUE` (kinds: access_key, principal, session, instance, ip).
        #[arg(long)]
        entity: Option<String>,
        /// Only events that raised alerts.
        #[arg(long)]
        alerts_only: bool,
        #[arg(short, long, value_enum, default_value = "table")]
        output: ListFormat,
    },
    /// Add a note. `--communication` records a stakeholder update (it meets the plan's
    /// communicate SLA).
    Note {
        id: CaseId,
        text: String,
        #[arg(long)]
        communication: bool,
    },
    /// Re-assess severity, plan level, SLAs and escalation of every open case (after
    /// the plan changed).
    Reassess,
    /// Tasks: add, list, done, cancel.
    Task {
        id: CaseId,
        #[command(subcommand)]
        action: TaskAction,
    },
    /// Set the case owner.
    Assign { id: CaseId, owner: String },
    /// Move the case to another phase (detected, analyzing, contained, eradicated,
    /// recovered, post-incident, closed).
    Transition {
        id: CaseId,
        #[arg(value_parser = parse_phase)]
        phase: Phase,
        /// Why (required to skip to post-incident, go back to analyzing, or reopen).
        #[arg(long)]
        reason: Option<String>,
        /// When it happened (ISO 8601; default now).
        #[arg(long, value_parser = parse_time)]
        at: Option<i64>,
        /// Where the evidence bucket is reached when closing writes the custody anchor (an
        /// emulator).
        #[arg(long, env = "FIREBREAK_ENDPOINT_URL")]
        endpoint_url: Option<String>,
    },
    /// Add tags (or remove them with `--remove`).
    Tag {
        id: CaseId,
        #[arg(required = true)]
        tags: Vec<String>,
        #[arg(long)]
        remove: bool,
    },
    /// The case's audit log: every change and who made it.
    Audit { id: CaseId },
    /// Record a fact on the case (`personal-data-breach`, `significant-incident`,
    /// `material-cybersecurity-incident`): it starts every regulator clock in the IR plan
    /// whose trigger it is.
    Fact {
        id: CaseId,
        fact: String,
        /// When the fact became true: when the organization became aware (or decided).
        #[arg(long, value_parser = parse_time)]
        aware_at: i64,
        #[arg(long)]
        note: Option<String>,
    },
    /// The post-incident review's narrative: set a field, show it, finish the review.
    Review {
        id: CaseId,
        #[command(subcommand)]
        action: ReviewAction,
    },
    /// Improvement actions: add (with kind, owner, due date and an optional verification),
    /// list, done (only once the verification passes), cancel.
    Action {
        id: CaseId,
        #[command(subcommand)]
        action: ActionCommand,
    },
    /// Record what the case turned out to be: true-positive, false-positive or benign
    /// (false positives and benign cases are left out of metrics, counted apart).
    Resolve {
        id: CaseId,
        resolution: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Export a case: full JSON, the timeline as CSV, or Timesketch JSONL.
    Export {
        id: CaseId,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TaskAction {
    /// Add a task.
    Add {
        title: String,
        #[arg(long)]
        owner: Option<String>,
        /// Due date (`2026-11-30` or ISO 8601).
        #[arg(long, value_parser = parse_time)]
        due: Option<i64>,
    },
    /// List the case's tasks.
    List,
    /// Mark a task done.
    Done { task: i64 },
    /// Cancel a task.
    Cancel { task: i64 },
}

#[derive(Subcommand, Debug)]
pub enum ReviewAction {
    /// Write one narrative field (summary, impact, contributing-factors, five-whys,
    /// went-well, went-badly, lucky, lessons, answer-N, nature-of-breach, data-subjects,
    /// data-categories, likely-consequences, measures, customer-actions).
    Set {
        field: String,
        /// The text (or `--file`).
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        text: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// The narrative as written, and whether the review is finished.
    Show,
    /// Finish the review (summary, contributing factors, what went well and badly must be
    /// written).
    Finish,
}

#[derive(Subcommand, Debug)]
pub enum ActionCommand {
    Add {
        title: String,
        /// detect, prevent, mitigate or process.
        #[arg(long, value_parser = parse_action_kind)]
        kind: store::ActionKind,
        #[arg(long)]
        owner: String,
        #[arg(long, value_parser = parse_time)]
        due: i64,
        /// What must pass before it can be closed: `rule-test:FILE.tests.jsonl`,
        /// `readiness:CHECK_ID` or `gameday:SCENARIO`.
        #[arg(long, value_parser = parse_verification)]
        verify: Option<store::Verification>,
    },
    List,
    /// Close the action once its verification passes.
    Done {
        task: i64,
        #[command(flatten)]
        rules: crate::rules_cmd::RuleArgs,
    },
    Cancel {
        task: i64,
    },
}

fn parse_action_kind(s: &str) -> Result<store::ActionKind, String> {
    store::ActionKind::parse(s)
        .ok_or_else(|| format!("unknown kind {s:?}: detect, prevent, mitigate or process"))
}

fn parse_verification(s: &str) -> Result<store::Verification, String> {
    match s.split_once(':') {
        Some(("rule-test", f)) if !f.is_empty() => Ok(store::Verification::RuleTest(f.to_string())),
        Some(("readiness", c)) if !c.is_empty() => {
            Ok(store::Verification::Readiness(c.to_string()))
        }
        Some(("gameday", g)) if !g.is_empty() => Ok(store::Verification::GameDay(g.to_string())),
        _ => Err(format!(
            "{s:?}: use rule-test:FILE.tests.jsonl, readiness:CHECK_ID or gameday:SCENARIO"
        )),
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum ListFormat {
    Table,
    Jsonl,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum ExportFormat {
    Json,
    Csv,
    Timesketch,
}

fn parse_phase(s: &str) -> Result<Phase, String> {
    Phase::from_name(s).ok_or_else(|| {
        format!(
            "unknown phase {s:?}; phases: {}",
            Phase::ALL.map(Phase::name).join(", ")
        )
    })
}

fn parse_time(s: &str) -> Result<i64, String> {
    parse_timestamp(s).ok_or_else(|| format!("invalid time {s:?}: use 2026-11-30 or ISO 8601"))
}

fn iso(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".to_string(), format_iso)
}

/// Resolution, facts and the regulator clocks they started, the review and open actions.
fn write_post_incident(
    out: &mut impl Write,
    store: &Store,
    c: &CaseRow,
    plan: Option<&plan::IrPlan>,
) -> Result<()> {
    let now = now_ms();
    if let Some(r) = store.resolution(c.id)? {
        say!(out, "  Resolved:  {}", r.name())?;
    }
    for f in store.facts(c.id)? {
        say!(
            out,
            "  Fact:      {} as of {}{}",
            f.fact,
            format_iso(f.at_ms),
            f.note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        )?;
    }
    for k in app::report::clocks_under(plan, store, c.id)? {
        say!(
            out,
            "  Regulator: {} {} by {} ({}) — {}",
            k.regulation,
            k.deadline,
            format_iso(k.due_ms),
            k.within,
            k.state_at(now)
        )?;
    }
    let review = store.review_finished(c.id)?;
    let written = store.narrative(c.id)?.len();
    if review.is_some() || written > 0 || matches!(c.phase, Phase::Recovered | Phase::PostIncident)
    {
        say!(
            out,
            "  Review:    {} ({} narrative field(s) written; firebreak report review {})",
            review
                .map(|f| format!("finished by {} at {}", f.actor, format_iso(f.at_ms)))
                .unwrap_or_else(|| "not finished".into()),
            written,
            c.id
        )?;
    }
    let open: Vec<store::Task> = store
        .tasks(c.id)?
        .into_iter()
        .filter(|t| t.action.is_some() && t.status == store::TaskStatus::Open)
        .collect();
    if !open.is_empty() {
        let late = open
            .iter()
            .filter(|t| t.due_ms.is_some_and(|d| d < now))
            .count();
        say!(
            out,
            "  Actions:   {} open improvement action(s), {} overdue (firebreak case action {} list)",
            open.len(),
            late,
            c.id
        )?;
    }
    Ok(())
}

/// The plan level's SLA clocks and escalation chain, as of now.
fn write_response_status(out: &mut impl Write, store: &Store, c: &CaseRow) -> Result<()> {
    use case::sla::ClockState;
    let now = now_ms();
    let Some(st) = app::work::response_clocks(store, c, now)? else {
        return Ok(());
    };
    say!(
        out,
        "  Plan:      {} {} under {}, since {}",
        st.level,
        st.level_name,
        st.plan,
        format_iso(st.since_ms)
    )?;
    let clocks: Vec<String> = st
        .clocks
        .iter()
        .map(|(k, state)| {
            let state = match state {
                ClockState::MetOnTime => "met".to_string(),
                ClockState::MetLate => format!(
                    "met late ({} over)",
                    human_duration(k.met_ms.unwrap_or(now) - k.due_ms)
                ),
                ClockState::Running => format!("due in {}", human_duration(k.due_ms - now)),
                ClockState::Breached => format!("BREACHED {} ago", human_duration(now - k.due_ms)),
            };
            format!("{} by {} {state}", k.name, format_iso(k.due_ms))
        })
        .collect();
    say!(out, "  SLA:       {}", clocks.join("; "))?;
    // `2026-11-21T09:30:00.000Z Alice (alice) as Incident commander via pager`
    let step = |s: &case::EscalationStep, at: i64| {
        let via = s
            .via
            .as_deref()
            .map(|v| format!(" via {v}"))
            .unwrap_or_default();
        format!("{} {}{via}", format_iso(at), s.notify.join(", "))
    };
    for (s, at) in &st.escalated {
        say!(out, "  Escalated: {}", step(s, *at))?;
    }
    match &st.next {
        Some((s, at)) => say!(
            out,
            "  Next:      {} unless acknowledged (`case assign {}`)",
            step(s, *at),
            c.id
        )?,
        None if st.acknowledged => say!(out, "  Escalation stopped: acknowledged")?,
        None => say!(out, "  Escalation chain exhausted")?,
    }
    Ok(())
}

fn open(settings: &Settings) -> Result<Store> {
    if !settings.db.exists() {
        bail!(
            "no case store at {} (run `firebreak hunt LOGS --cases` or `firebreak demo` first, or pass --db)",
            settings.db.display()
        );
    }
    Ok(Store::open(&settings.db)?)
}

pub fn run(cmd: CaseCommand, args: &StoreArgs) -> Result<()> {
    let settings = args.resolve()?;
    let mut store = open(&settings)?;
    let actor = settings.actor.as_str();
    let mut out = Printable(BufWriter::new(std::io::stdout().lock()));
    match cmd {
        CaseCommand::List { all, output } => {
            let cases = store.cases(all)?;
            match output {
                ListFormat::Jsonl => {
                    let mut raw = std::io::stdout().lock();
                    for c in &cases {
                        writeln!(raw, "{}", serde_json::to_string(c)?)?;
                    }
                }
                ListFormat::Table => write_case_table(&mut out, &cases)?,
            }
        }
        CaseCommand::Show { id } => show(
            &mut out,
            &store,
            id,
            settings.plan.as_ref().map(|p| &p.plan),
        )?,
        CaseCommand::Timeline {
            id,
            entity,
            alerts_only,
            output,
        } => {
            store.case(id)?;
            let filter = entity.as_deref().map(parse_entity_filter);
            let rows: Vec<TimelineRow> = store
                .timeline(id)?
                .into_iter()
                .filter(|r| !alerts_only || !r.alerts.is_empty())
                .filter(|r| filter.as_ref().is_none_or(|f| f.matches(&r.event.entities)))
                .collect();
            match output {
                ListFormat::Jsonl => {
                    let mut raw = std::io::stdout().lock();
                    for r in &rows {
                        writeln!(raw, "{}", serde_json::to_string(r)?)?;
                    }
                }
                ListFormat::Table => write_timeline(&mut out, &rows)?,
            }
            if rows.is_empty() {
                eprintln!("no events match");
            }
        }
        CaseCommand::Note {
            id,
            text,
            communication,
        } => {
            let n = store.add_note(id, &text, communication, actor, now_ms())?;
            let what = if communication {
                "communication"
            } else {
                "note"
            };
            say!(out, "{what} {n} added to case {id}")?;
        }
        CaseCommand::Reassess => {
            let changed = store.reassess(&*settings.policy(), actor, now_ms())?;
            let by = settings
                .plan
                .as_ref()
                .map_or("the built-in matrix".to_string(), |p| p.plan.title());
            writeln!(
                out,
                "re-assessed open cases by {by}: {} changed",
                changed.len()
            )?;
            for id in changed {
                let c = store.case(id)?;
                let level = c.response.as_ref().map_or(String::new(), |r| {
                    format!(" ({} {})", r.level, r.level_name)
                });
                say!(out, "  case {id}: {}{level}", c.severity.name())?;
            }
        }
        CaseCommand::Task { id, action } => match action {
            TaskAction::Add { title, owner, due } => {
                let t = store.add_task(id, &title, owner.as_deref(), due, actor, now_ms())?;
                say!(out, "task {t} added to case {id}")?;
            }
            TaskAction::List => {
                store.case(id)?;
                write_tasks(&mut out, &store.tasks(id)?)?;
            }
            TaskAction::Done { task } => {
                store.close_task(id, task, store::TaskStatus::Done, actor, now_ms())?;
                say!(out, "task {task} done")?;
            }
            TaskAction::Cancel { task } => {
                store.close_task(id, task, store::TaskStatus::Cancelled, actor, now_ms())?;
                say!(out, "task {task} cancelled")?;
            }
        },
        CaseCommand::Assign { id, owner } => {
            store.assign(id, &owner, actor, now_ms())?;
            say!(out, "case {id} assigned to {owner}")?;
        }
        CaseCommand::Transition {
            id,
            phase,
            reason,
            at,
            endpoint_url,
        } => {
            let app = crate::settings::open_app(settings.clone(), endpoint_url.as_deref())?;
            let done = app::cases::transition(&app, &mut store, id, phase, reason.as_deref(), at)?;
            say!(out, "case {id} is now {phase}")?;
            match done {
                app::cases::Transitioned::ClosedAndAnchored(Some(at)) => {
                    say!(out, "custody ledger head anchored at {at}")?
                }
                app::cases::Transitioned::ClosedNotAnchored(e) => say!(
                    out,
                    "WARNING: the custody ledger could not be anchored in the evidence bucket: {e} (run firebreak evidence anchor {id})"
                )?,
                _ => {}
            }
        }
        CaseCommand::Tag { id, tags, remove } => {
            store.tag(id, &tags, remove, actor, now_ms())?;
            let c = store.case(id)?;
            say!(out, "case {id} tags: {}", c.tags.join(", "))?;
        }
        CaseCommand::Audit { id } => {
            store.case(id)?;
            for a in store.audit(id)? {
                let from = if a.case_id == id {
                    String::new()
                } else {
                    format!(" [case {}]", a.case_id)
                };
                writeln!(
                    out,
                    "{}  {:<24} {:<14} {}{from}",
                    format_iso(a.at_ms),
                    a.actor,
                    a.action,
                    a.detail
                )?;
            }
        }
        CaseCommand::Fact {
            id,
            fact,
            aware_at,
            note,
        } => {
            let app = crate::settings::open_app(settings.clone(), None)?;
            let started =
                app::report::record_fact(&app, &mut store, id, &fact, aware_at, note.as_deref())?;
            say!(
                out,
                "fact {} recorded on case {} as of {}",
                fact,
                id,
                format_iso(aware_at)
            )?;
            if started.is_empty() {
                say!(
                    out,
                    "  no regulation in the IR plan is triggered by {}",
                    fact
                )?;
            }
            for k in started {
                say!(
                    out,
                    "  {} {}: due {} ({}) — {}",
                    k.regulation,
                    k.deadline,
                    format_iso(k.due_ms),
                    k.within,
                    k.state_at(now_ms())
                )?;
            }
        }
        CaseCommand::Review { id, action } => {
            let app = crate::settings::open_app(settings.clone(), None)?;
            match action {
                ReviewAction::Set { field, text, file } => {
                    let text = match (text, file) {
                        (Some(t), _) => t,
                        (None, Some(f)) => std::fs::read_to_string(&f)
                            .with_context(|| format!("cannot read {}", f.display()))?,
                        (None, None) => unreachable!("clap requires one"),
                    };
                    let f = app::report::set_narrative(&app, &mut store, id, &field, &text)?;
                    say!(out, "review of case {}: {} written", id, f.name())?;
                }
                ReviewAction::Show => {
                    for n in store.narrative(id)? {
                        say!(
                            out,
                            "{} (by {} at {}):",
                            n.field,
                            n.actor,
                            format_iso(n.at_ms)
                        )?;
                        for line in n.text.lines() {
                            say!(out, "  {}", line)?;
                        }
                    }
                    match store.review_finished(id)? {
                        Some(f) => say!(out, "finished by {} at {}", f.actor, format_iso(f.at_ms))?,
                        None => say!(out, "not finished (firebreak case review finish {})", id)?,
                    }
                }
                ReviewAction::Finish => {
                    app::report::finish_review(&app, &mut store, id)?;
                    say!(out, "review of case {} finished", id)?;
                }
            }
        }
        CaseCommand::Action { id, action } => {
            let app = crate::settings::open_app(settings.clone(), None)?;
            match action {
                ActionCommand::Add {
                    title,
                    kind,
                    owner,
                    due,
                    verify,
                } => {
                    let t = app::report::add_action(
                        &app,
                        &mut store,
                        id,
                        &store::NewAction {
                            title: &title,
                            kind,
                            owner: &owner,
                            due_ms: due,
                            verification: verify.as_ref(),
                        },
                    )?;
                    say!(out, "action {} added to case {}", t, id)?;
                }
                ActionCommand::List => {
                    store.case(id)?;
                    let now = now_ms();
                    for t in store.tasks(id)? {
                        let Some(a) = &t.action else { continue };
                        let late = t.status == store::TaskStatus::Open
                            && t.due_ms.is_some_and(|d| d < now);
                        say!(
                            out,
                            "{:>4}  {:<9} {:<10} due {}{}  owner {}  {}{}",
                            t.id,
                            t.status.name(),
                            a.kind.name(),
                            iso(t.due_ms),
                            if late { " OVERDUE" } else { "" },
                            t.owner.as_deref().unwrap_or("-"),
                            t.title,
                            a.verification
                                .as_ref()
                                .map(|v| format!("  [verify: {v}]"))
                                .unwrap_or_default()
                        )?;
                    }
                }
                ActionCommand::Done { task, rules } => {
                    let configured = crate::settings::load_config(&args.config)?.aws_ip_ranges;
                    let sources = rules.sources(configured.as_deref());
                    let found = app::report::complete_action(&app, &mut store, id, task, &sources)?;
                    say!(
                        out,
                        "action {} done{}",
                        task,
                        found.map(|f| format!(": {f}")).unwrap_or_default()
                    )?;
                }
                ActionCommand::Cancel { task } => {
                    store.close_task(id, task, store::TaskStatus::Cancelled, actor, now_ms())?;
                    say!(out, "action {} cancelled", task)?;
                }
            }
        }
        CaseCommand::Resolve {
            id,
            resolution,
            reason,
        } => {
            let app = crate::settings::open_app(settings.clone(), None)?;
            let r = app::report::resolve(&app, &mut store, id, &resolution, reason.as_deref())?;
            say!(out, "case {} resolved as {}", id, r.name())?;
        }
        CaseCommand::Export {
            id,
            format,
            out: path,
        } => {
            let sink: Box<dyn Write> = match &path {
                Some(p) => Box::new(BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("cannot create {}", p.display()))?,
                )),
                None => Box::new(std::io::stdout().lock()),
            };
            drop(out);
            let mut sink = sink;
            let format = match format {
                ExportFormat::Json => app::cases::CaseExportFormat::Json,
                ExportFormat::Csv => app::cases::CaseExportFormat::Csv,
                ExportFormat::Timesketch => app::cases::CaseExportFormat::Timesketch,
            };
            let done = app::cases::export(&store, id, format, &mut sink)?;
            if done.untimed > 0 {
                eprintln!(
                    "case {id}: {} event(s) have no timestamp; exported at the case's first activity with time_unknown=true",
                    done.untimed
                );
            }
            let n = done.records;
            if let Some(p) = path {
                eprintln!("case {id}: {n} record(s) written to {}", p.display());
            }
            return Ok(());
        }
    }
    out.flush()?;
    Ok(())
}

/// `VALUE` or `KIND:VALUE`.
struct EntityFilter {
    kind: Option<EntityKind>,
    value: String,
}

impl EntityFilter {
    fn matches(&self, entities: &[Entity]) -> bool {
        entities
            .iter()
            .any(|e| e.value == self.value && self.kind.is_none_or(|k| k == e.kind))
    }
}

fn parse_entity_filter(s: &str) -> EntityFilter {
    match s.split_once(':') {
        Some((k, v)) if EntityKind::from_name(k).is_some() => EntityFilter {
            kind: EntityKind::from_name(k),
            value: v.to_string(),
        },
        _ => EntityFilter {
            kind: None,
            value: s.to_string(),
        },
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// One line per case.
pub fn write_case_table(out: &mut impl Write, cases: &[CaseRow]) -> Result<()> {
    if cases.is_empty() {
        say!(out, "no open cases")?;
        return Ok(());
    }
    say!(
        out,
        "{:>4}  {:<8}  {:<13}  {:>6}  {:<24}  {:<12}  TITLE",
        "ID",
        "SEVERITY",
        "PHASE",
        "ALERTS",
        "FIRST SEEN",
        "OWNER"
    )?;
    for c in cases {
        say!(
            out,
            "{:>4}  {:<8}  {:<13}  {:>6}  {:<24}  {:<12}  {}",
            c.id,
            c.severity.name(),
            c.phase.name(),
            c.alert_count,
            iso(c.first_ms),
            clip(c.owner.as_deref().unwrap_or("-"), 12),
            exercise_title(c)
        )?;
    }
    Ok(())
}

/// A case's title, marked when a game day opened it.
pub fn exercise_title(c: &CaseRow) -> String {
    match &c.exercise {
        Some(_) => format!("[EXERCISE] {}", c.title),
        None => c.title.clone(),
    }
}

fn write_timeline(out: &mut impl Write, rows: &[TimelineRow]) -> Result<()> {
    for r in rows {
        let e = &r.event;
        let mark = if r.alerts.is_empty() { " " } else { "!" };
        say!(
            out,
            "{} {mark} {:<10} {}{}",
            iso(e.time_ms),
            e.source,
            e.message,
            e.region
                .as_deref()
                .map(|r| format!(" [{r}]"))
                .unwrap_or_default()
        )?;
        for a in &r.alerts {
            say!(out, "{:>28}└ alert: {a}", "")?;
        }
    }
    Ok(())
}

fn write_tasks(out: &mut impl Write, tasks: &[store::Task]) -> Result<()> {
    if tasks.is_empty() {
        say!(out, "  (none)")?;
    }
    for t in tasks {
        say!(
            out,
            "  #{:<4} [{}] {}{}{}",
            t.id,
            t.status,
            t.title,
            t.owner
                .as_deref()
                .map(|o| format!(" — owner {o}"))
                .unwrap_or_default(),
            t.due_ms
                .map(|d| format!(", due {}", format_iso(d)))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

fn top(map: &std::collections::BTreeMap<String, u64>, n: usize) -> String {
    let mut v: Vec<(&String, &u64)> = map.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let more = v.len().saturating_sub(n);
    let mut s = v
        .into_iter()
        .take(n)
        .map(|(k, c)| format!("{k} ({c})"))
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        s.push_str(&format!(", +{more} more"));
    }
    s
}

fn write_blast_radius(out: &mut impl Write, actor: &Entity, b: &BlastRadius) -> Result<()> {
    say!(
        out,
        "  {}: {} call(s) to {} service(s) in {} region(s); {} refused across {} API(s){}",
        actor.value,
        b.events,
        b.services.len(),
        b.regions.len(),
        b.denied_calls,
        b.denied_apis,
        if b.enumeration_suspected {
            " — ENUMERATION SUSPECTED"
        } else {
            ""
        }
    )?;
    let short = |s: &str| s.trim_end_matches(".amazonaws.com").to_string();
    let services: std::collections::BTreeMap<String, u64> =
        b.services.iter().map(|(k, v)| (short(k), *v)).collect();
    say!(out, "    services:  {}", top(&services, 8))?;
    let apis: std::collections::BTreeMap<String, u64> = b
        .apis
        .iter()
        .map(|a| (format!("{}:{}", short(&a.service), a.operation), a.calls))
        .collect();
    say!(out, "    APIs:      {}", top(&apis, 10))?;
    if !b.resources.is_empty() {
        say!(out, "    resources: {}", top(&b.resources, 8))?;
    }
    say!(out, "    regions:   {}", top(&b.regions, 6))?;
    let denied: Vec<String> = b
        .apis
        .iter()
        .filter(|a| a.denied > 0)
        .map(|a| format!("{}:{} ×{}", short(&a.service), a.operation, a.denied))
        .collect();
    if !denied.is_empty() {
        say!(out, "    refused:   {}", clip(&denied.join(", "), 400))?;
    }
    Ok(())
}

fn show(
    out: &mut impl Write,
    store: &Store,
    id: CaseId,
    plan: Option<&plan::IrPlan>,
) -> Result<()> {
    let c = store.case(id)?;
    if let Some(into) = c.merged_into {
        say!(
            out,
            "Case {id} was merged into case {into}: `firebreak case show {into}`"
        )?;
        return Ok(());
    }
    let timeline = store.timeline(id)?;
    let alerts = store.alerts(id)?;
    let transitions = store.transitions(id)?;
    let metrics = app::cases::metrics(&c, &timeline, &transitions);
    say!(out, "Case {}: {}", c.id, exercise_title(&c))?;
    if let Some(run) = &c.exercise {
        say!(
            out,
            "EXERCISE: opened by game day {} (firebreak gameday score {}); never counted in real metrics",
            run,
            run
        )?;
    }
    say!(
        out,
        "  Phase:     {} since {}    Owner: {}    Tags: {}",
        c.phase,
        format_iso(c.phase_since_ms),
        c.owner.as_deref().unwrap_or("(none)"),
        if c.tags.is_empty() {
            "-".to_string()
        } else {
            c.tags.join(", ")
        }
    )?;
    say!(
        out,
        "  Severity:  {} — {}",
        c.severity.name(),
        c.severity_reasons.join("; ")
    )?;
    say!(out, "  Domains:   {}", c.domains.join(", "))?;
    say!(
        out,
        "  ATT&CK:    tactics {}; techniques {}",
        if c.tactics.is_empty() {
            "-".into()
        } else {
            c.tactics.join(", ")
        },
        if c.techniques.is_empty() {
            "-".into()
        } else {
            c.techniques.join(", ")
        }
    )?;
    say!(
        out,
        "  Activity:  {} → {}; {} alert(s), {} timeline event(s)",
        iso(c.first_ms),
        iso(c.last_ms),
        c.alert_count,
        timeline.len()
    )?;
    let d = |v: Option<i64>| v.map_or("-".to_string(), human_duration);
    say!(
        out,
        "  Response:  time to detect {}, to contain {}, to recover {}, to close {}",
        d(metrics.time_to_detect_ms),
        d(metrics.time_to_contain_ms),
        d(metrics.time_to_recover_ms),
        d(metrics.time_to_close_ms)
    )?;
    write_response_status(out, store, &c)?;
    write_post_incident(out, store, &c, plan)?;
    let notes = store.notes(id)?;

    if let Some(plan) = plan {
        let mut answers: Vec<(&str, Vec<&str>)> = Vec::new();
        for a in &alerts {
            // Sigma tags as the rule wrote them: attack.t1078.004, attack.persistence.
            let tags: Vec<String> = a
                .techniques
                .iter()
                .chain(&a.tactics)
                .map(|t| format!("attack.{}", t.to_ascii_lowercase()))
                .collect();
            for p in plan.playbooks_for(&a.rule_id, &tags) {
                match answers.iter_mut().find(|(name, _)| *name == p) {
                    Some((_, rules)) if !rules.contains(&a.rule_title.as_str()) => {
                        rules.push(&a.rule_title)
                    }
                    Some(_) => {}
                    None => answers.push((p, vec![&a.rule_title])),
                }
            }
        }
        if !answers.is_empty() {
            say!(out, "\nPlaybooks the plan maps to these detections")?;
            for (p, rules) in answers {
                say!(out, "  {p}: {}", rules.join("; "))?;
            }
            say!(out, "  (firebreak respond plan {id} dry-runs one)")?;
        }
    }
    crate::respond_cmd::write_summary(out, store, id)?;

    say!(out, "\nAlerts ({})", alerts.len())?;
    for a in &alerts {
        say!(
            out,
            "  {}  {:<8} {}  [{}]  {}",
            iso(a.time_ms),
            a.severity.name(),
            a.rule_title,
            a.domain,
            a.location
        )?;
    }

    say!(out, "\nEntities (first seen → last seen, events, alerts)")?;
    for s in app::cases::entity_sightings(&timeline, &alerts) {
        say!(
            out,
            "  {:<10} {:<64} {} → {}  {:>5} {:>4}",
            s.entity.kind.name(),
            clip(&s.entity.value, 64),
            iso(s.first_ms),
            iso(s.last_ms),
            s.events,
            s.alerts
        )?;
    }

    let radius = blast_radius_by_actor(&timeline);
    if !radius.is_empty() {
        say!(out, "\nBlast radius (per actor, over the timeline)")?;
        for (actor, b) in &radius {
            write_blast_radius(out, actor, b)?;
        }
    }

    say!(out, "\nTasks")?;
    write_tasks(out, &store.tasks(id)?)?;
    if !notes.is_empty() {
        say!(out, "\nNotes")?;
        for n in notes {
            let kind = if n.communication {
                " [communication]"
            } else {
                ""
            };
            writeln!(
                out,
                "  {}  {}{kind}: {}",
                format_iso(n.at_ms),
                n.actor,
                n.text
            )?;
        }
    }
    say!(out, "\nPhase history")?;
    for t in &transitions {
        say!(
            out,
            "  {}  {} → {}  by {}{}",
            format_iso(t.at_ms),
            t.from.map_or("-", Phase::name),
            t.to,
            t.actor,
            t.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )?;
    }
    let next = c
        .phase
        .next()
        .iter()
        .map(|(p, _)| p.name())
        .collect::<Vec<_>>()
        .join(" | ");
    say!(
        out,
        "\nNext: firebreak case timeline {id}    firebreak case {}    firebreak case transition {id} {next}",
        if c.owner.is_none() {
            format!("assign {id} NAME")
        } else {
            format!("task {id} add \"…\"")
        }
    )?;
    Ok(())
}

/// What `hunt --cases` and the demo print after recording cases.
pub fn write_run_summary(out: &mut impl Write, settings: &Settings, run: &CaseRun) -> Result<()> {
    let h = &run.hunt;
    say!(
        out,
        "cases in {}: {} alert(s) new, {} already recorded; {} case(s) opened, {} updated, {} merge(s); {} timeline event(s) added",
        settings.db.display(),
        h.alerts_new,
        h.alerts_known,
        h.cases_opened.len(),
        h.cases_updated.len(),
        h.merges.len(),
        run.timeline_added
    )?;
    for (from, into) in &h.merges {
        say!(out, "  case {from} merged into case {into}")?;
    }
    Ok(())
}
