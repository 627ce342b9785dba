//! `firebreak readiness`: the plan's accounts checked for incident readiness through the
//! AWS SDK, scored against the Well-Architected SEC10 best practices.

use crate::plan_cmd::{playbook_names, rule_ids};
use crate::settings::{Output, StoreArgs, open_app};
use anyhow::{Context, Result};
use clap::Args;
use plan::Date;

#[derive(Args)]
pub struct ReadinessArgs {
    /// Send every AWS call here (an emulator such as moto), with path-style S3.
    #[arg(long, env = "FIREBREAK_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Only these accounts (default: every account of the plan); repeatable.
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// Only these regions (default: the plan's); repeatable.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Judge plan freshness as of this date (YYYY-MM-DD; default today).
    #[arg(long)]
    pub today: Option<String>,
}

/// Runs the checks; `Ok(false)` when anything did not pass.
pub fn run(args: ReadinessArgs, store: &StoreArgs) -> Result<bool> {
    let settings = store.resolve()?;
    // The report is kept in the case store, where the team server shows the latest.
    let mut db = store::Store::open(&settings.db)?;
    let app = open_app(settings, args.endpoint_url.as_deref())?;
    let today = args
        .today
        .as_deref()
        .map(|d| Date::parse(d).with_context(|| format!("--today {d:?} is not YYYY-MM-DD")))
        .transpose()?;
    let report = app::readiness::check_and_record(
        &app,
        &mut db,
        &app::readiness::Scope {
            accounts: args.accounts.clone(),
            regions: args.regions.clone(),
            today,
            playbooks: playbook_names(&[])?,
            rules: rule_ids(&[])?,
            last_game_day: None,
            open_work: Vec::new(),
        },
    )?;
    if args.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        use std::io::Write;
        let mut out = neutral::terminal::Printable(std::io::stdout().lock());
        write!(out, "{}", report.to_text())?;
    }
    Ok(report.score.passed == report.score.total)
}
