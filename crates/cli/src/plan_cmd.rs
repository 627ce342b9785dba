//! `firebreak plan init | check | render`: the incident response plan as code.

use crate::settings::{DEFAULT_PLAN, Output, StoreArgs, now_ms, read_plan};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use plan::render::DocFormat;
use plan::{CheckContext, Date, Gravity};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum PlanCommand {
    /// Write a complete, commented example plan to edit (default ./ir-plan.toml).
    Init {
        #[arg(default_value = DEFAULT_PLAN)]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Validate a plan: every problem with file, line and reason. Exit status 1 on errors.
    Check(CheckArgs),
    /// Render the formal plan document.
    Render {
        /// The plan (default: --plan, `[plan] path`, or ./ir-plan.toml).
        path: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "md")]
        format: RenderFormat,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args)]
pub struct CheckArgs {
    /// The plan (default: --plan, `[plan] path`, or ./ir-plan.toml).
    pub path: Option<PathBuf>,
    /// A directory of your own playbooks (`NAME.yaml`); repeatable.
    #[arg(long = "playbooks", value_name = "DIR")]
    pub playbooks: Vec<PathBuf>,
    /// Rule directories whose ids `responses` may name, besides the bundled rules.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Judge review and game-day freshness as of this date (YYYY-MM-DD; default today).
    #[arg(long)]
    pub today: Option<String>,
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RenderFormat {
    Md,
    Html,
}

/// The plan file a command works on.
fn plan_path(explicit: Option<PathBuf>, store: &StoreArgs) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    let config = crate::settings::load_config(&store.config)?;
    Ok(store
        .named_plan(&config)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PLAN)))
}

/// Playbook names: the bundled ones plus the valid playbooks under `dirs`.
pub fn playbook_names(dirs: &[PathBuf]) -> Result<BTreeSet<String>> {
    Ok(app::respond::load_playbooks(dirs)?
        .into_iter()
        .map(|b| b.name)
        .collect())
}

/// Rule ids (and names) of the bundled rules plus those under `dirs`.
pub fn rule_ids(dirs: &[PathBuf]) -> Result<BTreeSet<String>> {
    let sources = app::rules::sources(dirs, true)?;
    let (set, _, _) = detect::rules::build(
        sources.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        &sigma::compile::Placeholders::default(),
    );
    let metas = set
        .rules
        .iter()
        .map(|r| &*r.meta)
        .chain(set.correlations.iter().map(|c| &c.rule.meta));
    Ok(metas
        .flat_map(|m| m.id.iter().chain(m.name.iter()).cloned())
        .collect())
}

/// Runs a plan command; `Ok(false)` when `check` found errors.
pub fn run(cmd: PlanCommand, store: &StoreArgs) -> Result<bool> {
    match cmd {
        PlanCommand::Init { path, force } => {
            if path.exists() && !force {
                bail!("{} exists: pass --force to overwrite it", path.display());
            }
            std::fs::write(&path, plan::EXAMPLE)
                .with_context(|| format!("cannot write {}", path.display()))?;
            // The communication templates the plan names (`communications.templates`).
            let comms = path.parent().unwrap_or(Path::new(".")).join("comms");
            std::fs::create_dir_all(&comms)
                .with_context(|| format!("cannot create {}", comms.display()))?;
            for a in report::Audience::ALL {
                let file = comms.join(a.file_name());
                if !file.exists() || force {
                    std::fs::write(&file, a.bundled())
                        .with_context(|| format!("cannot write {}", file.display()))?;
                }
            }
            println!(
                "Wrote {}: edit it, then `firebreak plan check` and `firebreak plan render`.\n\
                 Cases follow its severity levels from now on when run in this directory.",
                path.display()
            );
            Ok(true)
        }
        PlanCommand::Check(args) => check(args, store),
        PlanCommand::Render { path, format, out } => {
            let path = plan_path(path, store)?;
            let loaded = read_plan(&path)?;
            let doc = plan::render::render(
                &loaded.plan,
                match format {
                    RenderFormat::Md => DocFormat::Markdown,
                    RenderFormat::Html => DocFormat::Html,
                },
            );
            write_out(out.as_deref(), doc.as_bytes())?;
            Ok(true)
        }
    }
}

fn write_out(out: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match out {
        Some(p) => {
            std::fs::write(p, bytes).with_context(|| format!("cannot write {}", p.display()))
        }
        None => Ok(std::io::stdout().write_all(bytes)?),
    }
}

fn check(args: CheckArgs, store: &StoreArgs) -> Result<bool> {
    let path = plan_path(args.path, store)?;
    let loaded = read_plan(&path)?;
    let today = match &args.today {
        Some(d) => Date::parse(d).with_context(|| format!("--today {d:?} is not YYYY-MM-DD"))?,
        None => Date::from_unix_ms(now_ms()),
    };
    let playbooks = playbook_names(&args.playbooks)?;
    let rules = rule_ids(&args.rules)?;
    let problems = plan::check(
        &loaded.plan,
        &CheckContext {
            today,
            playbooks: &playbooks,
            rules: Some(&rules),
            last_game_day: recorded_game_day(store)?,
            open_work: open_work(store, &loaded.plan)?,
        },
    );
    let errors = problems
        .iter()
        .filter(|p| p.gravity == Gravity::Error)
        .count();
    let warnings = problems.len() - errors;
    let name = path.display().to_string();
    match args.output {
        Output::Json => {
            let doc = serde_json::json!({
                "file": name,
                "plan": loaded.plan.title(),
                "errors": errors,
                "warnings": warnings,
                "problems": problems,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Output::Text => {
            let mut out = neutral::terminal::Printable(std::io::stdout().lock());
            for p in &problems {
                let g = match p.gravity {
                    Gravity::Error => "error",
                    Gravity::Warning => "warning",
                };
                writeln!(out, "{name}:{}: {g}: {}: {}", p.line, p.field, p.message)?;
            }
            writeln!(
                out,
                "{}: {} — {errors} error(s), {warnings} warning(s)",
                name,
                loaded.plan.title()
            )?;
        }
    }
    Ok(errors == 0)
}

/// The newest game day the case store recorded (none when the store does not exist yet:
/// checking a plan creates no store).
/// Late or coming post-incident work in the store, measured against the plan being checked.
fn open_work(store: &StoreArgs, plan: &plan::IrPlan) -> Result<Vec<plan::OpenWork>> {
    let settings = store.resolve()?;
    if !settings.db.exists() {
        return Ok(Vec::new());
    }
    Ok(app::report::open_work(
        Some(plan),
        &store::Store::open(&settings.db)?,
        now_ms(),
    )?)
}

fn recorded_game_day(store: &StoreArgs) -> Result<Option<plan::RecordedGameDay>> {
    let settings = store.resolve()?;
    if !settings.db.exists() {
        return Ok(None);
    }
    Ok(app::gameday::recorded(&store::Store::open(&settings.db)?)?)
}
