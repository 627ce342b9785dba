//! `firebreak readiness`: the plan's accounts checked for incident readiness through the
//! AWS SDK, scored against the Well-Architected SEC10 best practices.

use crate::plan_cmd::{playbook_names, rule_ids};
use crate::settings::{StoreArgs, now_ms};
use anyhow::{Context, Result, bail};
use clap::Args;
use plan::readiness::{Report, plan_findings};
use plan::{CheckContext, Date};

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
    /// `text` or `json`.
    #[arg(long, short = 'o', default_value = "text")]
    pub output: String,
    /// Judge plan freshness as of this date (YYYY-MM-DD; default today).
    #[arg(long)]
    pub today: Option<String>,
}

/// Runs the checks; `Ok(false)` when anything did not pass.
pub fn run(args: ReadinessArgs, store: &StoreArgs) -> Result<bool> {
    let settings = store.resolve()?;
    let Some(loaded) = settings.plan else {
        bail!(
            "readiness checks the accounts your IR plan names: write one with `firebreak plan init`, or pass --plan"
        );
    };
    let plan = &loaded.plan;
    if !matches!(args.output.as_str(), "text" | "json") {
        bail!("unknown output {:?}: use text or json", args.output);
    }
    let today = match &args.today {
        Some(d) => Date::parse(d).with_context(|| format!("--today {d:?} is not YYYY-MM-DD"))?,
        None => Date::from_unix_ms(now_ms()),
    };
    let mut scope = aws::readiness::Scope::of(plan);
    if !args.accounts.is_empty() {
        scope.accounts = args.accounts.clone();
    }
    if !args.regions.is_empty() {
        scope.regions = args.regions.clone();
    }
    let playbooks = playbook_names(&[])?;
    let rules = rule_ids(&[])?;
    let mut findings = plan_findings(
        plan,
        &CheckContext {
            today,
            playbooks: &playbooks,
            rules: Some(&rules),
        },
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    findings.extend(runtime.block_on(async {
        let region = scope.regions.first().map(String::as_str);
        let conn = aws::Connection::from_environment(args.endpoint_url.as_deref(), region).await;
        aws::readiness::run(&conn, plan, &scope).await
    }));
    let report = Report::new(plan, findings);
    if args.output == "json" {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        use std::io::Write;
        let mut out = neutral::terminal::Printable(std::io::stdout().lock());
        write!(out, "{}", report.to_text())?;
    }
    Ok(report.score.passed == report.score.total)
}
