//! `firebreak gameday`: list the scenarios, run them end to end (against the emulator, or
//! live in an exercise account), and write the coverage matrix, the ATT&CK Navigator layer
//! and JUnit. Exit status: 0 when every scenario passed every stage, 1 otherwise, 2 error.

use crate::rules_cmd::RuleArgs;
use crate::settings::{Output, StoreArgs, open_app};
use anyhow::{Context, Result, bail};
use app::gameday::{Catalog, GameDay, Options};
use clap::{Args, Subcommand, ValueEnum};
use gameday::{Mode, ScenarioOutcome, Stage, Verdict};
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum GameDayCommand {
    /// The scenarios: technique, ATT&CK ids, how each can be detonated, where it comes from.
    List(ListArgs),
    /// Run scenarios through every stage: warm-up, detonate, detected, cased, planned,
    /// contained, rolled back, cleanup.
    Run(Box<RunArgs>),
    /// How the team worked a team game day's exercise cases: time to acknowledge, approve
    /// and contain against the plan's SLAs, and which plan steps and approvals happened.
    Score(ScoreArgs),
}

#[derive(Args)]
pub struct ScoreArgs {
    /// The game day (default: the newest recorded).
    pub run: Option<String>,
    #[arg(short, long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(Args)]
pub struct ListArgs {
    /// A team's scenario folders (`*.yaml`, traces under `traces/`), besides the bundled.
    #[arg(long = "scenarios", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    #[arg(short, long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Replay,
    Emulate,
    Live,
}

#[derive(Args)]
pub struct RunArgs {
    /// Scenario ids (see `gameday list`).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub scenarios: Vec<String>,
    /// Every scenario.
    #[arg(long)]
    pub all: bool,
    /// How to detonate (default: emulate where the scenario has emulated calls, else replay).
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// The AWS emulator (moto on loopback) for replay and emulate; with `--mode live`, an
    /// endpoint for the sandbox account's calls.
    #[arg(long, env = "FIREBREAK_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Stop after this stage (warm-up, detonate, detected, cased, planned, contained,
    /// rolled-back); cleanup still runs.
    #[arg(long, value_parser = parse_stage)]
    pub until: Option<Stage>,
    /// Team mode: open each scenario's case in the real store, marked as an exercise, with
    /// the plan's escalation and SLAs live, and stop at *cased* for the team to work it.
    #[arg(long)]
    pub team: bool,
    /// A team's scenario folders, besides the bundled.
    #[arg(long = "scenarios", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Folders of a team's own playbooks.
    #[arg(long = "playbooks", value_name = "DIR")]
    pub playbooks: Vec<PathBuf>,
    /// The region resources are made in.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Where automated runs keep their scratch case stores and evidence.
    #[arg(long, default_value = "gameday-runs")]
    pub work_dir: PathBuf,
    /// The coverage matrix: Markdown (`.md`) or HTML with an SVG heat map (`.html`).
    #[arg(long)]
    pub matrix: Option<PathBuf>,
    /// An ATT&CK Navigator layer (JSON).
    #[arg(long)]
    pub navigator: Option<PathBuf>,
    /// JUnit XML, for a team's CI.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Where a detection gap's events go, as rule tests (`SCENARIO.tests.jsonl`).
    #[arg(long, default_value = "gameday-gaps")]
    pub gaps: PathBuf,
    #[arg(short, long, value_enum, default_value = "text")]
    pub output: Output,
}

fn parse_stage(s: &str) -> Result<Stage, String> {
    Stage::from_name(s).ok_or_else(|| {
        format!(
            "unknown stage `{s}` (one of {})",
            Stage::ALL.map(Stage::name).join(", ")
        )
    })
}

pub fn run(cmd: GameDayCommand, store: &StoreArgs) -> Result<bool> {
    match cmd {
        GameDayCommand::List(args) => list(&args),
        GameDayCommand::Run(args) => run_scenarios(*args, store),
        GameDayCommand::Score(args) => score(&args, store),
    }
}

fn score(args: &ScoreArgs, store: &StoreArgs) -> Result<bool> {
    let settings = store.resolve()?;
    let db = store::Store::open(&settings.db)?;
    let now = crate::settings::now_ms();
    let (run, scores) = app::gameday::score(&db, args.run.as_deref(), now)?;
    let mut out = neutral::terminal::Printable(std::io::stdout().lock());
    if args.output == Output::Json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"run": run, "cases": scores}))?
        )?;
        return Ok(true);
    }
    if scores.is_empty() {
        say!(
            out,
            "game day {} opened no exercise case in this store (team mode is `gameday run --team`)",
            if run.is_empty() {
                "(none recorded)"
            } else {
                run.as_str()
            }
        )?;
        return Ok(true);
    }
    let iso = |ms: Option<i64>| ms.map_or("-".to_string(), model::time::format_iso);
    let span = |ms: i64| {
        if ms < 60_000 {
            format!("{} s", ms / 1000)
        } else {
            format!("{} min", ms / 60_000)
        }
    };
    let took = |from: i64, to: Option<i64>| to.map_or("not yet".to_string(), |t| span(t - from));
    let mut all_on_time = true;
    say!(
        out,
        "Game day {} — how the team worked its exercise cases",
        run
    )?;
    for s in &scores {
        say!(
            out,
            "\n{} → case {} ({}), opened {}",
            s.scenario,
            s.case,
            s.level.as_deref().unwrap_or("no level"),
            iso(Some(s.opened_ms))
        )?;
        for c in &s.clocks {
            all_on_time &= !matches!(
                c.state,
                case::sla::ClockState::MetLate | case::sla::ClockState::Breached
            );
            say!(
                out,
                "  {:<12} {:<10} took {} (due within {}, by {})",
                c.name,
                format!("{:?}", c.state),
                took(s.opened_ms, c.met_ms),
                span(c.due_ms - s.opened_ms),
                iso(Some(c.due_ms))
            )?;
        }
        match s.approvals.first() {
            Some(a) => say!(
                out,
                "  approved     took {} (first approval by {}, plan {})",
                took(s.opened_ms, Some(a.at_ms)),
                a.by,
                a.plan
            )?,
            None => say!(out, "  approved     no plan was approved")?,
        }
        for a in s.approvals.iter().skip(1) {
            say!(
                out,
                "               then {} at {} (plan {})",
                a.by,
                iso(Some(a.at_ms)),
                a.plan
            )?;
        }
        for st in &s.steps {
            say!(
                out,
                "  step {:<44} {} ({})",
                st.step,
                st.status,
                st.playbook
            )?;
        }
        if s.steps.is_empty() {
            say!(out, "  no response plan was made")?;
        }
    }
    Ok(all_on_time)
}

fn list(args: &ListArgs) -> Result<bool> {
    let catalog = Catalog::load(&args.dirs)?;
    let mut out = neutral::terminal::Printable(std::io::stdout().lock());
    if args.output == Output::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&catalog.scenarios)?)?;
        return Ok(true);
    }
    for s in &catalog.scenarios {
        let modes: Vec<&str> = s.modes().iter().map(|m| m.name()).collect();
        say!(
            out,
            "{}  {}  [{}]  {}  response: {}",
            s.id,
            s.attack.join(","),
            modes.join("/"),
            s.name,
            s.expect.playbook.as_deref().unwrap_or("none")
        )?;
    }
    let derived = catalog
        .scenarios
        .iter()
        .filter(|s| s.source.is_some())
        .count();
    writeln!(
        out,
        "\n{} scenario(s); {derived} derive from published traces (see each file's source and gamedays/traces/NOTICE)",
        catalog.scenarios.len()
    )?;
    Ok(true)
}

fn run_scenarios(args: RunArgs, store: &StoreArgs) -> Result<bool> {
    let settings = store.resolve()?;
    let mut records = store::Store::open(&settings.db)?;
    let mode = args.mode.map(|m| match m {
        ModeArg::Replay => Mode::Replay,
        ModeArg::Emulate => Mode::Emulate,
        ModeArg::Live => Mode::Live,
    });
    let live_endpoint = if mode == Some(Mode::Live) {
        args.endpoint_url.as_deref()
    } else {
        None
    };
    let app = open_app(settings, live_endpoint)?;
    let catalog = Catalog::load(&args.dirs)?;
    let mut left_out = 0;
    let chosen: Vec<&gameday::Scenario> = if args.all {
        // With a mode asked for, every scenario that can be detonated that way.
        let (can, cannot): (Vec<_>, Vec<_>) = catalog
            .scenarios
            .iter()
            .partition(|s| mode.is_none_or(|m| s.modes().contains(&m)));
        left_out = cannot.len();
        can
    } else {
        catalog.select(&args.scenarios)?
    };
    if chosen.is_empty() {
        bail!("no scenario to run");
    }
    let configured = crate::settings::load_config(&store.config)?.aws_ip_ranges;
    let day = GameDay::new(
        &app,
        &catalog,
        Options {
            mode,
            endpoint: args.endpoint_url.clone(),
            until: args.until,
            team: args.team,
            rules: args.rules.sources(configured.as_deref()),
            playbook_dirs: args.playbooks.clone(),
            work_dir: args.work_dir.clone(),
            region: args.region.clone(),
        },
    )?;
    let mut out = neutral::terminal::Printable(std::io::stdout().lock());
    if args.output == Output::Text {
        writeln!(
            out,
            "Game day {} ({} scenario(s){}){}",
            day.run,
            chosen.len(),
            if left_out > 0 {
                format!(
                    "; {left_out} left out: they have no {} detonation",
                    mode.map_or("", |m| m.name())
                )
            } else {
                String::new()
            },
            if args.team {
                ": team mode, cases open in the real store marked as exercises"
            } else {
                ""
            }
        )?;
    }
    let mut outcomes: Vec<ScenarioOutcome> = Vec::new();
    for s in chosen {
        let o = day.run(&mut records, s)?;
        if args.output == Output::Text {
            write_outcome(&mut out, &o)?;
        }
        if let Some(gap) = &o.gap {
            std::fs::create_dir_all(&args.gaps)
                .with_context(|| format!("create {}", args.gaps.display()))?;
            let path = args.gaps.join(format!("{}.tests.jsonl", o.scenario));
            std::fs::write(&path, gap.rule_tests(&o.scenario))
                .with_context(|| format!("write {}", path.display()))?;
            if args.output == Output::Text {
                say!(
                    out,
                    "    detection gap: the events that went unseen are in {} (rule tests, ready to fill in)",
                    path.display()
                )?;
            }
        }
        outcomes.push(o);
    }
    let title = format!("Firebreak game day {}", day.run);
    if let Some(p) = &args.matrix {
        let text = if p.extension().and_then(|e| e.to_str()) == Some("html") {
            gameday::report::matrix_html(&title, &outcomes)
        } else {
            gameday::report::matrix_markdown(&title, &outcomes)
        };
        std::fs::write(p, text).with_context(|| format!("write {}", p.display()))?;
    }
    if let Some(p) = &args.navigator {
        let layer = gameday::report::navigator_layer(&title, &outcomes);
        std::fs::write(p, serde_json::to_string_pretty(&layer)?)
            .with_context(|| format!("write {}", p.display()))?;
    }
    if let Some(p) = &args.junit {
        std::fs::write(p, gameday::report::junit(&outcomes))
            .with_context(|| format!("write {}", p.display()))?;
    }
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    match args.output {
        Output::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "run": day.run,
                "passed": passed,
                "scenarios": outcomes,
            }))?
        )?,
        Output::Text => {
            let total: u64 = outcomes.iter().map(|o| o.total_ms).sum();
            let detect: u64 = outcomes
                .iter()
                .filter_map(|o| o.stage(Stage::Detected).map(|s| s.ms))
                .sum();
            writeln!(
                out,
                "\n{passed} of {} scenario(s) passed every stage in {:.1} s (detection stages alone: {:.2} s). Recorded in {} as game day {}.",
                outcomes.len(),
                total as f64 / 1000.0,
                detect as f64 / 1000.0,
                app.settings.db.display(),
                day.run
            )?;
        }
    }
    Ok(passed == outcomes.len())
}

fn write_outcome(out: &mut impl Write, o: &ScenarioOutcome) -> Result<()> {
    say!(
        out,
        "\n{} {} ({}, {}) {} s",
        if o.passed() { "PASS" } else { "FAIL" },
        o.scenario,
        o.attack.join(","),
        o.mode.name(),
        format!("{:.1}", o.total_ms as f64 / 1000.0)
    )?;
    for s in &o.stages {
        let mark = match s.verdict {
            Verdict::Passed => "ok  ",
            Verdict::Failed => "FAIL",
            Verdict::NotApplicable => "n/a ",
            Verdict::CannotRun => "----",
            Verdict::Stopped => "stop",
        };
        say!(
            out,
            "  {} {:<12} {:>6} ms  {}",
            mark,
            s.stage.name(),
            s.ms,
            s.detail
        )?;
    }
    if let Some(t) = o.time_to_detect_ms {
        say!(
            out,
            "  time to detect: {} s after the first event",
            format!("{:.1}", t as f64 / 1000.0)
        )?;
    }
    Ok(())
}
