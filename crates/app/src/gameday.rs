//! Game days: a scenario run end to end through the same use cases as a real incident
//! (warm-up → detonate → detected → cased → planned → contained → rolled back → cleanup),
//! each stage judged by what it can read back, and every run recorded in the store.
//!
//! Where it runs: the emulator on loopback (replay and emulate; each scenario in its own
//! account), or, for `live`, the caller's account only when the IR plan lists it under
//! `exercises.accounts`. An automated game day keeps its cases, plans and evidence in a
//! scratch store of its own; a team game day (`team`) opens its case in the real store,
//! marked as an exercise, and stops at *cased* for people to work it.

use crate::ports::{AwsAccess, PortFuture};
use crate::respond::{Execution, approve_exercise, execute, load_playbooks, make_plan_under};
use crate::rules::{LoadedRules, RuleSources};
use crate::{App, Error, LoadedPlan, Result};
use case::CaseId;
use gameday::replay::fresh_event_id;
use gameday::{Gap, Mode, Scenario, ScenarioOutcome, Stage, StageResult, Verdict};
use ingest::{IngestOptions, Input};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use store::Store;

/// Why a game day does not start.
#[derive(Debug, thiserror::Error)]
pub enum GameDayRefusal {
    #[error("invalid scenario:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<gameday::ScenarioError>),
    #[error("rules that do not load would make a detection gap that is not there:\n{0}")]
    Rules(String),
    #[error("the exercise account `{account}` is not an account id: {reason}")]
    BadAccount { account: String, reason: String },
    #[error("no scenario `{0}` (firebreak gameday list shows them)")]
    Unknown(String),
    #[error(
        "live mode detonates real attacker techniques: account {account} is not an exercise account (list it under [exercises] accounts in the IR plan)"
    )]
    NotExercise { account: String },
    #[error("live mode needs an IR plan that lists its exercise accounts ([exercises] accounts)")]
    LiveWithoutPlan,
    #[error("{0} mode runs against the AWS emulator: give --endpoint-url (moto on loopback)")]
    NeedsEmulator(Mode),
    #[error(
        "{url} is not on loopback: replay and emulate run only against an emulator on this host; a sandbox account is --mode live"
    )]
    NotLoopback { url: String },
    #[error("the scenario `{scenario}` cannot be detonated by {mode} (it can: {can})")]
    NoSuchDetonation {
        scenario: String,
        mode: Mode,
        can: String,
    },
}

/// The scenarios a game day can run: the bundled ones, and a team's own folders
/// (`*.yaml`, with traces under `traces/`); a team scenario with a bundled one's id
/// replaces it.
pub struct Catalog {
    pub scenarios: Vec<Scenario>,
    traces: BTreeMap<String, String>,
}

impl Catalog {
    pub fn load(dirs: &[PathBuf]) -> Result<Catalog> {
        let mut scenarios = gameday::bundled().map_err(GameDayRefusal::Invalid)?;
        let mut traces: BTreeMap<String, String> = gameday::TRACES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let mut problems = Vec::new();
        for dir in dirs {
            for p in [files(dir, "yaml")?, files(dir, "yml")?].concat() {
                let text = std::fs::read_to_string(&p).map_err(Error::io("read", &p))?;
                match gameday::parse(&text, &p.display().to_string()) {
                    Ok(s) => {
                        scenarios.retain(|x| x.id != s.id);
                        scenarios.push(s);
                    }
                    Err(e) => problems.extend(e),
                }
            }
            let tdir = dir.join("traces");
            if tdir.is_dir() {
                for p in [files(&tdir, "jsonl")?, files(&tdir, "log")?].concat() {
                    let text = std::fs::read_to_string(&p).map_err(Error::io("read", &p))?;
                    let name = p.file_name().map(|n| n.to_string_lossy().to_string());
                    traces.insert(name.unwrap_or_default(), text);
                }
            }
        }
        if !problems.is_empty() {
            return Err(GameDayRefusal::Invalid(problems).into());
        }
        for s in &scenarios {
            if let Some(r) = &s.replay
                && !traces.contains_key(&r.trace)
            {
                return Err(GameDayRefusal::Invalid(vec![gameday::ScenarioError {
                    file: s.file.clone(),
                    line: 0,
                    field: "detonate.replay.trace".into(),
                    message: format!("no trace `{}` in the traces folder", r.trace),
                }])
                .into());
            }
        }
        scenarios.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Catalog { scenarios, traces })
    }

    /// The scenarios named, in the order named.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Scenario>> {
        names
            .iter()
            .map(|n| {
                self.scenarios
                    .iter()
                    .find(|s| s.id.as_str() == n)
                    .ok_or_else(|| GameDayRefusal::Unknown(n.clone()).into())
            })
            .collect()
    }
}

fn files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(Error::io("read", dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some(ext))
        .collect();
    out.sort();
    Ok(out)
}

/// How a game day runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// `None`: each scenario's own (emulate when it can, else replay).
    pub mode: Option<Mode>,
    /// The emulator (replay and emulate).
    pub endpoint: Option<String>,
    /// Stop after this stage (cleanup still runs).
    pub until: Option<Stage>,
    /// Open the case in the real store, marked as an exercise, and stop at *cased*.
    pub team: bool,
    pub rules: RuleSources,
    pub playbook_dirs: Vec<PathBuf>,
    /// Where automated runs keep their scratch stores and evidence.
    pub work_dir: PathBuf,
    /// The region resources are made in.
    pub region: String,
}

/// One game day: an id, the rules it detects with, and where it records.
pub struct GameDay<'a> {
    pub run: String,
    app: &'a App,
    opts: Options,
    rules: Vec<crate::rules::RuleSummary>,
    detector: detect::Detector,
    plan: LoadedPlan,
    traces: &'a BTreeMap<String, String>,
}

/// AWS reached through the emulator with its static test credentials.
struct Emulator(String);

impl AwsAccess for Emulator {
    fn caller<'a>(&'a self, _region: Option<&'a str>) -> PortFuture<'a, aws::Connection> {
        Box::pin(async move { aws::Connection::emulator(&self.0) })
    }
}

fn loopback(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A game day's id: time-ordered and short (it names resources and tags calls).
pub fn new_run_id(now_ms: i64) -> String {
    let mut n = now_ms as u64;
    let mut s = String::new();
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    while n > 0 {
        s.insert(0, ALPHABET[(n % 36) as usize] as char);
        n /= 36;
    }
    let pid = std::process::id() % 1296;
    s.push(ALPHABET[(pid / 36) as usize] as char);
    s.push(ALPHABET[(pid % 36) as usize] as char);
    s
}

/// The emulator account a scenario of run `run` detonates in (its own: nothing one
/// scenario leaves can touch another).
pub fn scenario_account(run: &str, scenario: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (run, scenario).hash(&mut h);
    format!("{}", 100_000_000_000 + h.finish() % 800_000_000_000)
}

/// The newest recorded game day, for `plan check` and `readiness`.
pub fn recorded(store: &Store) -> Result<Option<plan::RecordedGameDay>> {
    let runs = store.latest_gameday()?;
    let Some(last) = runs.iter().map(|r| r.finished_ms).max() else {
        return Ok(None);
    };
    Ok(Some(plan::RecordedGameDay {
        date: plan::Date::from_unix_ms(last),
        scenarios: runs.len(),
        passed: runs.iter().filter(|r| r.passed).count(),
    }))
}

/// How a team worked one exercise case, against the plan's SLAs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TeamScore {
    pub scenario: String,
    pub case: CaseId,
    pub level: Option<String>,
    pub opened_ms: i64,
    /// Acknowledge, contain and communicate: due, met, and how that stands now.
    pub clocks: Vec<ScoredClock>,
    /// Every approval of the case's response plans, in order.
    pub approvals: Vec<ScoredApproval>,
    /// Every step of the case's response plans with where it ended.
    pub steps: Vec<ScoredStep>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ScoredClock {
    pub name: &'static str,
    pub due_ms: i64,
    pub met_ms: Option<i64>,
    pub state: case::sla::ClockState,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ScoredApproval {
    pub plan: store::ResponsePlanId,
    pub by: String,
    pub kind: playbook::ApprovalKind,
    pub at_ms: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ScoredStep {
    pub plan: store::ResponsePlanId,
    pub playbook: String,
    pub step: String,
    pub status: String,
}

/// How the team worked the cases of team game day `run` (the newest one when `None`),
/// measured at `now_ms`: time to acknowledge, approve and contain against the plan's
/// SLAs, and which plan steps and approvals happened.
pub fn score(store: &Store, run: Option<&str>, now_ms: i64) -> Result<(String, Vec<TeamScore>)> {
    let runs = match run {
        Some(r) => store.gameday(r)?,
        None => store.latest_gameday()?,
    };
    let name = runs.first().map(|r| r.run.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for r in &runs {
        let Some(case) = r.outcome.get("case").and_then(serde_json::Value::as_i64) else {
            continue;
        };
        let Ok(c) = store.live_case(CaseId(case)) else {
            continue;
        };
        if c.exercise.as_deref() != Some(r.run.as_str()) {
            continue;
        }
        let clocks = crate::work::sla_inputs(store, &c)?
            .map(|s| {
                s.at(now_ms)
                    .clocks
                    .into_iter()
                    .map(|(k, state)| ScoredClock {
                        name: k.name,
                        due_ms: k.due_ms,
                        met_ms: k.met_ms,
                        state,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut approvals = Vec::new();
        let mut steps = Vec::new();
        for p in store.response_plans(c.id)? {
            for a in crate::respond::stored_approvals(store, p.id)? {
                approvals.push(ScoredApproval {
                    plan: p.id,
                    by: a.by,
                    kind: a.kind,
                    at_ms: a.at_ms,
                });
            }
            let plan: playbook::ResponsePlan = serde_json::from_str(&p.plan)?;
            let receipts = crate::respond::stored_receipts(store, p.id)?;
            for st in &plan.steps {
                steps.push(ScoredStep {
                    plan: p.id,
                    playbook: p.playbook.clone(),
                    step: st.key.clone(),
                    status: receipts
                        .get(&st.key)
                        .map_or("not run", |r| r.status.name())
                        .to_string(),
                });
            }
        }
        approvals.sort_by_key(|a| a.at_ms);
        out.push(TeamScore {
            scenario: r.scenario.clone(),
            case: c.id,
            level: c.response.as_ref().map(|t| t.level.clone()),
            opened_ms: c.opened_ms,
            clocks,
            approvals,
            steps,
        });
    }
    Ok((name, out))
}

/// The stages as they end.
struct Stages {
    list: Vec<StageResult>,
    until: Option<Stage>,
}

impl Stages {
    fn put(&mut self, stage: Stage, verdict: Verdict, since: Instant, detail: impl Into<String>) {
        self.list.push(StageResult {
            stage,
            verdict,
            ms: since.elapsed().as_millis() as u64,
            detail: detail.into(),
        });
    }

    /// Whether `stage` runs: not when an earlier one failed or could not run (it is then
    /// recorded as not run, with why), nor after `--until` (recorded as stopped).
    fn may_run(&mut self, stage: Stage) -> bool {
        if let Some(p) = self
            .list
            .iter()
            .find(|s| matches!(s.verdict, Verdict::Failed | Verdict::CannotRun))
        {
            let why = format!("{} did not pass", p.stage.name());
            self.put(stage, Verdict::CannotRun, Instant::now(), why);
            return false;
        }
        if let Some(u) = self.until
            && stage > u
        {
            self.put(
                stage,
                Verdict::Stopped,
                Instant::now(),
                format!("stopped after {}", u.name()),
            );
            return false;
        }
        true
    }
}

/// Where a scenario acts.
struct Target {
    conn: Option<aws::Connection>,
    account: String,
    ports: crate::Ports,
}

impl<'a> GameDay<'a> {
    /// Prepares a game day: loads the rules it detects with, checks where it may act.
    pub fn new(app: &'a App, catalog: &'a Catalog, opts: Options) -> Result<GameDay<'a>> {
        let run = new_run_id(app.now_ms());
        if let Some(url) = &opts.endpoint
            && opts.mode != Some(Mode::Live)
            && !loopback(url)
        {
            return Err(GameDayRefusal::NotLoopback { url: url.clone() }.into());
        }
        if opts.mode == Some(Mode::Emulate) && opts.endpoint.is_none() {
            return Err(GameDayRefusal::NeedsEmulator(Mode::Emulate).into());
        }
        let loaded: LoadedRules = crate::rules::load(&opts.rules)?;
        if !loaded.errors.is_empty() {
            return Err(GameDayRefusal::Rules(
                loaded
                    .errors
                    .iter()
                    .map(|e| format!("  {e}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
            .into());
        }
        let rules = crate::rules::summaries(&loaded.set);
        let detector = loaded.detector(true, true);
        let plan = match &app.settings.plan {
            Some(p) => p.clone(),
            None => LoadedPlan {
                path: "the bundled example plan".into(),
                plan: plan::parse(plan::EXAMPLE, "example plan", plan::Format::Toml)?,
                digest: signing::Sha256Digest::of(plan::EXAMPLE.as_bytes()),
            },
        };
        Ok(GameDay {
            run,
            app,
            opts,
            rules,
            detector,
            plan,
            traces: &catalog.traces,
        })
    }

    /// The rule ids an expected rule name stands for (id, title, name or file stem).
    fn rule_ids(&self, name: &str) -> BTreeSet<String> {
        if name.starts_with("guardduty:") || name.starts_with("securityhub:") {
            return BTreeSet::from([name.to_string()]);
        }
        self.rules
            .iter()
            .filter(|r| {
                r.id == name
                    || r.name.as_deref() == Some(name)
                    || r.title == name
                    || Path::new(&r.file).file_stem().and_then(|s| s.to_str()) == Some(name)
            })
            .map(|r| r.id.clone())
            .collect()
    }

    /// Where `scenario` acts in `mode`, or why it may not.
    async fn target(&self, scenario: &Scenario, mode: Mode) -> Result<Target> {
        match (mode, &self.opts.endpoint) {
            (Mode::Live, _) => {
                let conn = self.app.ports.aws.caller(Some(&self.opts.region)).await;
                let account = aws::gameday::caller_account(&conn).await?;
                let Some(p) = &self.app.settings.plan else {
                    return Err(GameDayRefusal::LiveWithoutPlan.into());
                };
                if !p.plan.exercises.accounts.iter().any(|a| a.value == account) {
                    return Err(GameDayRefusal::NotExercise { account }.into());
                }
                Ok(Target {
                    conn: Some(conn),
                    account,
                    ports: self.app.ports.clone(),
                })
            }
            (_, Some(url)) => {
                let account = scenario_account(&self.run, scenario.id.as_str());
                let base = aws::Connection::emulator(url);
                let conn = base
                    .assume(
                        &format!("arn:aws:iam::{account}:role/firebreak-gameday"),
                        None,
                        "firebreak-gameday",
                    )
                    .await?;
                let mut ports = self.app.ports.clone();
                ports.aws = Arc::new(Emulator(url.clone()));
                Ok(Target {
                    conn: Some(conn),
                    account,
                    ports,
                })
            }
            (Mode::Emulate, None) => Err(GameDayRefusal::NeedsEmulator(Mode::Emulate).into()),
            (Mode::Replay, None) => Ok(Target {
                conn: None,
                account: scenario_account(&self.run, scenario.id.as_str()),
                ports: self.app.ports.clone(),
            }),
        }
    }

    /// Runs one scenario; `records` is the store the run is recorded in (and, in team
    /// mode, where its case opens).
    pub fn run(&self, records: &mut Store, scenario: &Scenario) -> Result<ScenarioOutcome> {
        let started_ms = self.app.now_ms();
        let started = Instant::now();
        // Without an emulator a scenario replays (when it can): emulation needs AWS.
        let mode = self
            .opts
            .mode
            .unwrap_or_else(|| match scenario.default_mode() {
                Mode::Emulate if self.opts.endpoint.is_none() && scenario.replay.is_some() => {
                    Mode::Replay
                }
                m => m,
            });
        if !scenario.modes().contains(&mode) {
            return Err(GameDayRefusal::NoSuchDetonation {
                scenario: scenario.id.to_string(),
                mode,
                can: scenario
                    .modes()
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .into());
        }
        let rt = self.app.runtime()?;
        let target = rt.block_on(self.target(scenario, mode))?;
        let mut stages = Stages {
            list: Vec::new(),
            until: if self.opts.team {
                Some(Stage::Cased)
            } else {
                self.opts.until
            },
        };
        let mut outcome = ScenarioOutcome {
            scenario: scenario.id.clone(),
            name: scenario.name.clone(),
            attack: scenario.attack.clone(),
            tactics: scenario.tactics.clone(),
            mode,
            stages: Vec::new(),
            time_to_detect_ms: None,
            case: None,
            gap: None,
            total_ms: 0,
        };
        let mut warmed = aws::gameday::WarmedUp::default();
        let scratch = self
            .opts
            .work_dir
            .join(format!("{}-{}", self.run, scenario.id));
        let result = self.stages(
            &rt,
            records,
            scenario,
            mode,
            &target,
            &mut warmed,
            &scratch,
            &mut stages,
            &mut outcome,
        );
        // Every stage is accounted for: those after a failure could not run.
        for stage in Stage::ALL.into_iter().filter(|s| *s != Stage::Cleanup) {
            if !stages.list.iter().any(|r| r.stage == stage) && stages.may_run(stage) {
                stages.put(stage, Verdict::CannotRun, Instant::now(), "not reached");
            }
        }
        stages.list.sort_by_key(|r| r.stage);
        // Cleanup runs whatever happened before it, unless the team works on.
        let t = Instant::now();
        match (&target.conn, self.opts.team) {
            (_, true) => stages.put(
                Stage::Cleanup,
                Verdict::Stopped,
                t,
                format!(
                    "team mode: the resources stay for the team to work the case: {}",
                    warmed
                        .made
                        .iter()
                        .map(aws::gameday::Made::describe)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            (None, _) => stages.put(
                Stage::Cleanup,
                Verdict::NotApplicable,
                t,
                "nothing was made (no AWS)",
            ),
            (Some(conn), false) => {
                let problems =
                    rt.block_on(aws::gameday::clean_up(conn, &self.opts.region, &warmed));
                if problems.is_empty() {
                    stages.put(
                        Stage::Cleanup,
                        Verdict::Passed,
                        t,
                        format!("removed {} resource(s)", warmed.made.len()),
                    );
                } else {
                    stages.put(Stage::Cleanup, Verdict::Failed, t, problems.join("; "));
                }
            }
        }
        outcome.stages = stages.list;
        outcome.total_ms = started.elapsed().as_millis() as u64;
        // A passing run's scratch store goes; a failing one stays for whoever investigates.
        if outcome.passed() && scratch.exists() {
            let _ = std::fs::remove_dir_all(&scratch);
        }
        let recorded = serde_json::to_value(&outcome)?;
        records.record_gameday(&store::NewGameDayRun {
            run: &self.run,
            scenario: scenario.id.as_str(),
            mode: mode.name(),
            started_ms,
            finished_ms: self.app.now_ms(),
            passed: outcome.passed(),
            actor: &self.app.settings.actor,
            outcome: &recorded,
        })?;
        result.map(|()| outcome)
    }

    #[allow(clippy::too_many_arguments)]
    fn stages(
        &self,
        rt: &tokio::runtime::Runtime,
        records: &mut Store,
        scenario: &Scenario,
        mode: Mode,
        target: &Target,
        warmed: &mut aws::gameday::WarmedUp,
        scratch: &Path,
        stages: &mut Stages,
        outcome: &mut ScenarioOutcome,
    ) -> Result<()> {
        let region = self.opts.region.clone();
        // Warm-up.
        let t = Instant::now();
        match &target.conn {
            Some(conn) => {
                match rt.block_on(aws::gameday::warm_up(
                    conn,
                    &target.account,
                    &region,
                    &self.run,
                    &scenario.warmup,
                    warmed,
                )) {
                    Ok(()) => stages.put(
                        Stage::Warmup,
                        Verdict::Passed,
                        t,
                        format!(
                            "made {} resource(s) in {}",
                            warmed.made.len(),
                            target.account
                        ),
                    ),
                    Err(e) => stages.put(Stage::Warmup, Verdict::Failed, t, e.to_string()),
                }
            }
            None => {
                *warmed = stand_ins(&self.run, &target.account, &region, scenario);
                stages.put(
                    Stage::Warmup,
                    Verdict::Passed,
                    t,
                    "no AWS: stand-in identifiers (containment cannot run without --endpoint-url)",
                );
            }
        }

        // Detonate.
        if !stages.may_run(Stage::Detonate) {
            return Ok(());
        }
        let t = Instant::now();
        let detonation = match mode {
            Mode::Replay => self.replay(scenario, warmed),
            Mode::Emulate | Mode::Live => rt.block_on(self.emulate(
                scenario,
                target.conn.as_ref().expect("emulate and live have AWS"),
                warmed,
                &region,
            )),
        };
        let (lines, first_ms) = match detonation {
            Ok(d) => d,
            Err(why) => {
                stages.put(Stage::Detonate, Verdict::Failed, t, why);
                return Ok(());
            }
        };
        stages.put(
            Stage::Detonate,
            Verdict::Passed,
            t,
            format!("{} record(s), {mode}", lines.len()),
        );
        let before = match &target.conn {
            Some(conn) => match rt.block_on(states(conn, &region, scenario, &warmed.values)) {
                Ok(s) => Some(s),
                Err(e) => {
                    stages.put(
                        Stage::Detonate,
                        Verdict::Failed,
                        t,
                        format!("the state after detonation could not be read: {e}"),
                    );
                    return Ok(());
                }
            },
            None => None,
        };

        // Detected.
        if !stages.may_run(Stage::Detected) {
            return Ok(());
        }
        let t = Instant::now();
        let mut data = lines.join("\n");
        data.push('\n');
        let inputs = vec![Input::Memory {
            name: format!("gameday/{}.jsonl", scenario.id),
            data: Arc::from(data.into_bytes()),
        }];
        let mut alert_records = crate::pipeline::AlertRecords::default();
        let mut fired: BTreeMap<String, i64> = BTreeMap::new();
        let summary = crate::pipeline::detect_inputs(
            &inputs,
            IngestOptions::default(),
            &crate::ports::NoProgress,
            &self.detector,
            |_| Ok::<_, Error>(()),
            |a| {
                let at = a.event.time_ms.unwrap_or(first_ms);
                fired
                    .entry(a.rule.id.clone())
                    .and_modify(|x| *x = (*x).min(at))
                    .or_insert(at);
                alert_records.push(a)
            },
        )?;
        let mut missing = Vec::new();
        let mut first_alert: Option<i64> = None;
        for name in &scenario.expect.rules {
            let ids = self.rule_ids(name);
            if ids.is_empty() {
                missing.push(format!("{name} (not loaded)"));
                continue;
            }
            match ids.iter().filter_map(|id| fired.get(id)).min() {
                Some(at) => first_alert = Some(first_alert.map_or(*at, |f| f.min(*at))),
                None => missing.push(name.clone()),
            }
        }
        outcome.time_to_detect_ms = first_alert.map(|a| (a - first_ms).max(0));
        if missing.is_empty() {
            stages.put(
                Stage::Detected,
                Verdict::Passed,
                t,
                format!(
                    "{} rule(s) fired over {} event(s): {}",
                    fired.len(),
                    summary.events(),
                    fired.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
        } else {
            outcome.gap = Some(Gap {
                missing_rules: missing.clone(),
                events: lines
                    .iter()
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .collect(),
            });
            stages.put(
                Stage::Detected,
                Verdict::Failed,
                t,
                format!(
                    "detection gap: {} did not fire ({} other rule(s) did)",
                    missing.join(", "),
                    fired.len()
                ),
            );
            return Ok(());
        }

        // Cased.
        if !stages.may_run(Stage::Cased) {
            return Ok(());
        }
        let t = Instant::now();
        let mut scratch_store;
        let exercise_app;
        let (app, store): (&App, &mut Store) = if self.opts.team {
            // The team's store and IR plan (the bundled example's when none is configured),
            // so the exercise case gets the plan's level, escalation and SLAs.
            let mut settings = self.app.settings.clone();
            settings.plan = Some(self.plan.clone());
            exercise_app = App::new(settings, target.ports.clone());
            (&exercise_app, records)
        } else {
            std::fs::create_dir_all(scratch).map_err(Error::io("create", scratch))?;
            let mut settings = self.app.settings.clone();
            settings.db = scratch.join("cases.db");
            settings.evidence.locker = Some(scratch.join("evidence"));
            settings.actor = format!("gameday:{}", self.run);
            settings.plan = Some(self.plan.clone());
            exercise_app = App::new(settings, target.ports.clone());
            scratch_store = Store::open(&exercise_app.settings.db)?;
            (&exercise_app, &mut scratch_store)
        };
        let run = crate::pipeline::open_cases(
            app,
            store,
            &alert_records,
            &inputs,
            IngestOptions::default(),
            &crate::ports::NoProgress,
        )?;
        let touched: BTreeSet<CaseId> = run
            .hunt
            .cases_opened
            .iter()
            .chain(&run.hunt.cases_updated)
            .copied()
            .collect();
        if touched.len() != 1 {
            stages.put(
                Stage::Cased,
                Verdict::Failed,
                t,
                format!(
                    "the alerts made {} case(s), not one: {:?}",
                    touched.len(),
                    touched.iter().map(|c| c.0).collect::<Vec<_>>()
                ),
            );
            return Ok(());
        }
        let case_id = *touched.iter().next().expect("one case");
        let case = store.live_case(case_id)?;
        outcome.case = Some(case.id.0);
        if self.opts.team {
            store.mark_exercise(case.id, &self.run, scenario.id.as_str(), self.app.now_ms())?;
        }
        let alerts = store.alerts(case.id)?;
        let books = load_playbooks(&self.opts.playbook_dirs)?;
        let chosen = crate::respond::choose(&books, &app.settings, &alerts)
            .ok()
            .map(|(b, _)| b);
        let level = case.response.as_ref().map(|r| r.level.clone());
        let mut wrong = Vec::new();
        if let Some(s) = scenario.expect.severity
            && s != case.severity
        {
            wrong.push(format!(
                "severity {} (expected {})",
                case.severity.name(),
                s.name()
            ));
        }
        if let Some(l) = &scenario.expect.level
            && Some(l) != level.as_ref()
        {
            wrong.push(format!(
                "level {} (expected {l})",
                level.as_deref().unwrap_or("none")
            ));
        }
        if let Some(p) = &scenario.expect.playbook
            && chosen.map(|b| &b.name) != Some(p)
        {
            wrong.push(format!(
                "the plan maps playbook {} (expected {p})",
                chosen.map_or("none", |b| b.name.as_str())
            ));
        }
        let said = format!(
            "case {} ({}, {}, {} alert(s)){}{}",
            case.id,
            case.severity.name(),
            level.as_deref().unwrap_or("no level"),
            case.alert_count,
            chosen.map_or(String::new(), |b| format!(", playbook {}", b.name)),
            if self.opts.team {
                ", marked as an exercise"
            } else {
                ""
            }
        );
        if !wrong.is_empty() {
            stages.put(
                Stage::Cased,
                Verdict::Failed,
                t,
                format!("{said}: {}", wrong.join("; ")),
            );
            return Ok(());
        }
        stages.put(Stage::Cased, Verdict::Passed, t, said);

        // Planned.
        let Some(book) = scenario
            .expect
            .playbook
            .as_ref()
            .and_then(|p| books.iter().find(|b| &b.name == p))
        else {
            let why = "the scenario declares no response";
            for s in [Stage::Planned, Stage::Contained, Stage::RolledBack] {
                if stages.may_run(s) {
                    stages.put(s, Verdict::NotApplicable, Instant::now(), why);
                }
            }
            return Ok(());
        };
        if !stages.may_run(Stage::Planned) {
            return Ok(());
        }
        let t = Instant::now();
        let account =
            model::AccountId::parse(&target.account).map_err(|e| GameDayRefusal::BadAccount {
                account: target.account.clone(),
                reason: e.to_string(),
            })?;
        let rule = playbook::approve::ApprovalRule::exercise(
            &self.run,
            vec![account],
            Some(self.plan.digest.clone()),
        );
        let case_records = crate::respond::alert_records(store, case.id, &alerts)?;
        let made = match make_plan_under(
            app,
            store,
            &case,
            &alerts,
            &case_records,
            book,
            app.settings.response(),
            playbook::Request {
                created_by: app.settings.actor.clone(),
                created_ms: app.now_ms(),
                include: Vec::new(),
                exclude: Vec::new(),
                overrides: Vec::new(),
            },
            target.conn.is_some(),
            rule,
        ) {
            Ok(m) => m,
            Err(e) => {
                stages.put(Stage::Planned, Verdict::Failed, t, e.to_string());
                return Ok(());
            }
        };
        let calls: usize = made
            .dry
            .as_ref()
            .map_or(0, |d| d.iter().map(|s| s.calls.len()).sum());
        if !made.plan.incomplete.is_empty() {
            stages.put(
                Stage::Planned,
                Verdict::Failed,
                t,
                format!(
                    "the dry-run could not read AWS: {}",
                    made.plan.incomplete.join("; ")
                ),
            );
            return Ok(());
        }
        if made.plan.steps.is_empty() {
            stages.put(
                Stage::Planned,
                Verdict::Failed,
                t,
                format!(
                    "{} bound no step to the case ({} left out)",
                    book.name,
                    made.plan.left.len()
                ),
            );
            return Ok(());
        }
        let Some(conn) = &target.conn else {
            stages.put(
                Stage::Planned,
                Verdict::Passed,
                t,
                format!(
                    "plan {} of {}: {} step(s), offline (no AWS to dry-run against)",
                    made.id,
                    book.name,
                    made.plan.steps.len()
                ),
            );
            for s in [Stage::Contained, Stage::RolledBack] {
                if stages.may_run(s) {
                    stages.put(
                        s,
                        Verdict::CannotRun,
                        Instant::now(),
                        "no AWS to act on: give --endpoint-url (the emulator) or run --mode live in an exercise account",
                    );
                }
            }
            return Ok(());
        };
        stages.put(
            Stage::Planned,
            Verdict::Passed,
            t,
            format!(
                "plan {} of {}: {} step(s), dry-run worked out {calls} call(s)",
                made.id,
                book.name,
                made.plan.steps.len()
            ),
        );

        // Contained.
        if !stages.may_run(Stage::Contained) {
            return Ok(());
        }
        let t = Instant::now();
        let contained = approve_exercise(app, store, case.id, made.id, &self.run)
            .and_then(|_| execute(app, store, case.id, Some(made.id), &Execution::Run))
            .and_then(|ran| {
                let after = rt.block_on(states(conn, &region, scenario, &warmed.values))?;
                Ok((ran, after))
            });
        let (ran, after) = match contained {
            Ok(x) => x,
            Err(e) => {
                stages.put(Stage::Contained, Verdict::Failed, t, e.to_string());
                return Ok(());
            }
        };
        let unmet: Vec<String> = scenario
            .contained
            .iter()
            .filter(|p| {
                !after
                    .get(&p.resource)
                    .is_some_and(|s| aws::gameday::holds(p.condition, s))
            })
            .map(|p| format!("{} is not {}", p.resource, p.condition.name()))
            .collect();
        let failed_steps = step_problems(
            Some(&ran.report),
            &[
                aws::respond::StepStatus::Failed,
                aws::respond::StepStatus::Skipped,
            ],
        );
        if !failed_steps.is_empty() || !unmet.is_empty() {
            stages.put(
                Stage::Contained,
                Verdict::Failed,
                t,
                failed_steps
                    .into_iter()
                    .chain(unmet)
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            return Ok(());
        }
        stages.put(
            Stage::Contained,
            Verdict::Passed,
            t,
            format!(
                "plan {} ran on an exercise approval; read back: {}",
                made.id,
                scenario
                    .contained
                    .iter()
                    .map(|p| format!("{} {}", p.resource, p.condition.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );

        // Rolled back.
        if !stages.may_run(Stage::RolledBack) {
            return Ok(());
        }
        let t = Instant::now();
        let undone = if app
            .ports
            .faults
            .skips(crate::ports::FaultPoint::GameDayRollback)
        {
            Ok(None)
        } else {
            execute(
                app,
                store,
                case.id,
                Some(made.id),
                &Execution::Rollback(Vec::new()),
            )
            .map(Some)
        };
        let read = undone.and_then(|u| {
            let now = rt.block_on(states(conn, &region, scenario, &warmed.values))?;
            Ok((u, now))
        });
        let (undone, now) = match read {
            Ok(x) => x,
            Err(e) => {
                stages.put(Stage::RolledBack, Verdict::Failed, t, e.to_string());
                return Ok(());
            }
        };
        let before = before.unwrap_or_default();
        let differs: Vec<String> = scenario
            .warmup
            .iter()
            .filter(|r| comparable(before.get(&r.id)) != comparable(now.get(&r.id)))
            .map(|r| {
                format!(
                    "{} is {} (before: {})",
                    r.id,
                    comparable(now.get(&r.id)),
                    comparable(before.get(&r.id))
                )
            })
            .collect();
        let failed = step_problems(
            undone.as_ref().map(|u| &u.report),
            &[
                aws::respond::StepStatus::Failed,
                aws::respond::StepStatus::RollbackFailed,
            ],
        );
        if failed.is_empty() && differs.is_empty() {
            stages.put(
                Stage::RolledBack,
                Verdict::Passed,
                t,
                "every warm-up resource reads as before containment (restored logging is kept on by design)",
            );
        } else {
            stages.put(
                Stage::RolledBack,
                Verdict::Failed,
                t,
                failed
                    .into_iter()
                    .chain(differs)
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        }
        Ok(())
    }

    /// The scenario's trace, made fresh for this run.
    fn replay(
        &self,
        scenario: &Scenario,
        warmed: &aws::gameday::WarmedUp,
    ) -> std::result::Result<(Vec<String>, i64), String> {
        let r = scenario.replay.as_ref().expect("a replay scenario");
        let trace = self
            .traces
            .get(&r.trace)
            .ok_or_else(|| format!("no trace {}", r.trace))?;
        let out = gameday::replay::replay(
            trace,
            &r.trace,
            scenario,
            &warmed.values,
            &self.run,
            self.app.now_ms(),
        )
        .map_err(|e| e.to_string())?;
        Ok((out.lines, out.first_ms))
    }

    /// The technique's calls, signed with the actor's key, each answered with its record.
    async fn emulate(
        &self,
        scenario: &Scenario,
        conn: &aws::Connection,
        warmed: &mut aws::gameday::WarmedUp,
        region: &str,
    ) -> std::result::Result<(Vec<String>, i64), String> {
        let agent = format!("firebreak-gameday-{}", self.run);
        let mut lines = Vec::new();
        let mut first_ms = None;
        for (i, call) in scenario.emulate.iter().enumerate() {
            let params: BTreeMap<String, String> = call
                .params
                .iter()
                .map(|(k, v)| {
                    v.render(&warmed.values)
                        .map(|v| (k.clone(), v))
                        .map_err(|r| format!("{}: `{{{r}}}` has no value", call.api.name()))
                })
                .collect::<std::result::Result<_, _>>()?;
            let (key, secret) = warmed
                .secrets
                .get(&call.actor)
                .cloned()
                .ok_or_else(|| format!("{} has no access key", call.actor))?;
            let as_actor = aws::gameday::as_user(conn, &key, &secret, &agent);
            let at = self.app.now_ms();
            first_ms.get_or_insert(at);
            let request_id = fresh_event_id(&self.run, &format!("{}:request:{i}", scenario.id));
            let sent =
                aws::gameday::detonate(&as_actor, call, &params, region, at, &request_id).await;
            if let Some((code, message)) = &sent.error {
                return Err(format!(
                    "{} (line {}) was refused: {code}: {message}",
                    call.api.name(),
                    call.line
                ));
            }
            // What the technique made goes with the warm-up at cleanup.
            match call.api {
                gameday::Api::IamCreateUser => warmed
                    .made
                    .push(aws::gameday::Made::User(params["UserName"].clone())),
                gameday::Api::IamCreateRole => warmed
                    .made
                    .push(aws::gameday::Made::Role(params["RoleName"].clone())),
                _ => {}
            }
            let v = |a: &str| {
                warmed
                    .values
                    .get(&format!("{}.{a}", call.actor))
                    .cloned()
                    .unwrap_or_default()
            };
            let caller = gameday::trail::Caller {
                account: warmed.values.get("account").cloned().unwrap_or_default(),
                user_name: v("name"),
                user_id: v("id"),
                arn: v("arn"),
                access_key: key,
            };
            let record = gameday::trail::record(
                &sent,
                &caller,
                &scenario.source_ip,
                &format!("aws-sdk-rust/1 {agent}"),
                &fresh_event_id(&self.run, &format!("{}:{i}", scenario.id)),
            );
            lines.push(record.to_string());
        }
        Ok((lines, first_ms.unwrap_or_else(|| self.app.now_ms())))
    }
}

/// The steps of a run or rollback that ended in one of `bad`, and why it halted.
fn step_problems(
    report: Option<&aws::respond::Report>,
    bad: &[aws::respond::StepStatus],
) -> Vec<String> {
    let Some(r) = report else {
        return Vec::new();
    };
    r.steps
        .iter()
        .filter(|s| bad.contains(&s.status))
        .map(|s| {
            format!(
                "{} {}: {}",
                s.key,
                s.status.name(),
                s.detail.as_deref().unwrap_or("")
            )
        })
        .chain(r.halted.iter().map(|h| format!("halted: {h}")))
        .collect()
}

/// A resource state as rollback compares it: restored logging is left on by design.
fn comparable(state: Option<&Value>) -> Value {
    let mut s = state.cloned().unwrap_or(Value::Null);
    if let Some(o) = s.as_object_mut() {
        o.remove("logging");
    }
    s
}

/// Every warm-up resource's state, by id.
async fn states(
    conn: &aws::Connection,
    region: &str,
    scenario: &Scenario,
    values: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for r in &scenario.warmup {
        out.insert(
            r.id.clone(),
            aws::gameday::state(conn, region, r, values).await?,
        );
    }
    Ok(out)
}

/// Identifiers for a replay without AWS: well-formed, never real.
fn stand_ins(
    run: &str,
    account: &str,
    region: &str,
    scenario: &Scenario,
) -> aws::gameday::WarmedUp {
    let mut w = aws::gameday::WarmedUp::default();
    w.values.insert("account".into(), account.to_string());
    w.values.insert("region".into(), region.to_string());
    for r in &scenario.warmup {
        let name = aws::gameday::resource_name(run, &r.id);
        let hex = fresh_event_id(run, &r.id).replace('-', "");
        let upper = hex.to_ascii_uppercase();
        let mut put = |a: &str, v: String| {
            w.values.insert(format!("{}.{a}", r.id), v);
        };
        match r.kind {
            gameday::ResourceKind::IamUser => {
                put("arn", format!("arn:aws:iam::{account}:user/{name}"));
                put("id", format!("AIDA{}", &upper[..16]));
                put("key", format!("AKIA{}", &upper[16..32]));
                put("name", name);
            }
            gameday::ResourceKind::IamRole => {
                put("arn", format!("arn:aws:iam::{account}:role/{name}"));
                put("id", format!("AROA{}", &upper[..16]));
                put("name", name);
            }
            gameday::ResourceKind::Instance => {
                put("id", format!("i-{}", &hex[..17]));
                put("group", format!("sg-{}", &hex[15..32]));
            }
            gameday::ResourceKind::Bucket => {
                put("arn", format!("arn:aws:s3:::{name}"));
                put("name", name);
            }
            gameday::ResourceKind::Trail => {
                put(
                    "arn",
                    format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}"),
                );
                put("bucket", format!("{name}-logs"));
                put("name", name);
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_an_emulator() {
        assert!(loopback("http://127.0.0.1:5000"));
        assert!(loopback("http://localhost:5000/"));
        assert!(loopback("http://[::1]:5000"));
        assert!(!loopback("https://iam.amazonaws.com"));
        assert!(!loopback("http://10.0.0.5:5000"));
        assert!(!loopback("http://127.0.0.1.attacker.example:5000"));
    }

    #[test]
    fn each_scenario_gets_its_own_account() {
        let a = scenario_account("r1", "x");
        assert_eq!(a.len(), 12);
        assert_ne!(a, scenario_account("r1", "y"));
        assert_eq!(a, scenario_account("r1", "x"));
    }
}
