//! Readiness: the IR plan's own checks (review dates, game days, the playbooks and rules it
//! names) and the accounts it names checked through AWS, scored against the
//! Well-Architected SEC10 practices.

use crate::{App, Result};
use plan::readiness::{Report, plan_findings};
use plan::{CheckContext, Date};
use std::collections::BTreeSet;

/// Why readiness cannot run.
#[derive(Debug, thiserror::Error)]
#[error(
    "readiness checks the accounts your IR plan names: write one with `firebreak plan init`, or pass --plan"
)]
pub struct NoPlan;

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only these accounts (default: the plan's).
    pub accounts: Vec<String>,
    /// Only these regions (default: the plan's).
    pub regions: Vec<String>,
    /// Judge freshness as of this day (default: today by the clock).
    pub today: Option<Date>,
    /// Playbook names that exist (for the plan's mappings).
    pub playbooks: BTreeSet<String>,
    /// Rule ids that exist (for the plan's mappings).
    pub rules: BTreeSet<String>,
    /// The newest game day recorded in the store ([`crate::gameday::recorded`]).
    pub last_game_day: Option<plan::RecordedGameDay>,
    /// Post-incident work the store holds ([`crate::report::open_work`]).
    pub open_work: Vec<plan::OpenWork>,
}

/// Runs the checks.
pub fn check(app: &App, scope: &Scope) -> Result<Report> {
    let Some(loaded) = &app.settings.plan else {
        return Err(NoPlan.into());
    };
    let plan = &loaded.plan;
    let today = scope
        .today
        .unwrap_or_else(|| Date::from_unix_ms(app.now_ms()));
    let mut aws_scope = aws::readiness::Scope::of(plan);
    if !scope.accounts.is_empty() {
        aws_scope.accounts = scope.accounts.clone();
    }
    if !scope.regions.is_empty() {
        aws_scope.regions = scope.regions.clone();
    }
    let mut findings = plan_findings(
        plan,
        &CheckContext {
            today,
            playbooks: &scope.playbooks,
            rules: Some(&scope.rules),
            last_game_day: scope.last_game_day,
            open_work: scope.open_work.clone(),
        },
    );
    findings.extend(app.runtime()?.block_on(async {
        let region = aws_scope.regions.first().map(String::as_str);
        let conn = app.ports.aws.caller(region).await;
        aws::readiness::run(&conn, plan, &aws_scope).await
    }));
    Ok(Report::new(plan, findings))
}

/// Runs the checks as [`check`] does and keeps the report in the store (who ran it and
/// when), where the team server's readiness page reads it without calling AWS itself.
pub fn check_and_record(app: &App, store: &mut store::Store, scope: &Scope) -> Result<Report> {
    let mut scope = scope.clone();
    if scope.last_game_day.is_none() {
        scope.last_game_day = crate::gameday::recorded(store)?;
    }
    if scope.open_work.is_empty() {
        scope.open_work = crate::report::open_work(
            app.settings.plan.as_ref().map(|p| &p.plan),
            store,
            app.now_ms(),
        )?;
    }
    let report = check(app, &scope)?;
    store.record_readiness(
        &serde_json::to_value(&report)?,
        &app.settings.actor,
        app.now_ms(),
    )?;
    Ok(report)
}
