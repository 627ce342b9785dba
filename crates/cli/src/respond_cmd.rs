//! `firebreak respond …`: plan a playbook against a case (with a dry-run of the exact
//! calls), approve it, run it, roll it back, and print the responder role's IAM policy.

use crate::faults::{Faults, Point};
use crate::settings::{Settings, StoreArgs, now_ms};
use anyhow::{Context, Result, bail};
use aws::respond::{
    CallOutcome, Intent, Journal, JournalError, Phase, Receipt, Report, StepStatus,
};
use case::CaseId;
use clap::{Args, Subcommand};
use model::time::format_iso;
use neutral::terminal::Printable;
use playbook::approve::{ApprovalRule, admit};
use playbook::{Approval, Playbook, ResponsePlan, Step};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use store::{CallRow, ResponsePlanRow, Store};

#[derive(Subcommand)]
pub enum RespondCommand {
    /// Plan a playbook against a case and print the exact API calls a run would make
    /// (a dry-run: only reads reach AWS). The plan is stored in the case for approval.
    Plan(PlanArgs),
    /// Approve a case's latest plan (or `--plan ID`) as `--actor`, signed with your key
    /// (`--key FILE`, `$FIREBREAK_APPROVAL_KEY`, or `[approval] key_file`).
    Approve {
        case: CaseId,
        #[arg(long = "plan", visible_alias = "plan-id", value_name = "ID")]
        plan_id: Option<i64>,
        /// Your approval key (a seed file from `firebreak keygen`; the IR plan lists its
        /// public key under your contact).
        #[arg(long, env = "FIREBREAK_APPROVAL_KEY", value_name = "FILE")]
        key: Option<PathBuf>,
    },
    /// Run an approved plan; a run that stopped resumes where it stopped. Exit status 1
    /// when a step failed.
    Run {
        case: CaseId,
        #[arg(long = "plan", visible_alias = "plan-id", value_name = "ID")]
        plan_id: Option<i64>,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Undo what a plan's runs did, from their receipts, last step first.
    Rollback {
        case: CaseId,
        #[arg(long = "plan", visible_alias = "plan-id", value_name = "ID")]
        plan_id: Option<i64>,
        /// Only these steps (`step@resource` keys, as `respond status` shows); repeatable.
        #[arg(long = "step", value_name = "KEY")]
        steps: Vec<String>,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// A case's plans: steps, approvals, receipts and the calls made.
    Status {
        case: CaseId,
        #[arg(long = "plan", visible_alias = "plan-id", value_name = "ID")]
        plan_id: Option<i64>,
        /// `text` or `json`.
        #[arg(long, short = 'o', default_value = "text")]
        output: String,
    },
    /// The least-privilege IAM policy the responder role needs for the playbooks.
    IamPolicy {
        /// A directory of your own playbooks; repeatable.
        #[arg(long = "playbooks", value_name = "DIR")]
        playbooks: Vec<PathBuf>,
    },
    /// The actions playbooks can use.
    Actions,
    /// The playbooks available: bundled and your own.
    Playbooks {
        #[arg(long = "playbooks", value_name = "DIR")]
        playbooks: Vec<PathBuf>,
    },
}

#[derive(Args)]
pub struct AwsArgs {
    /// Send every AWS call here (an emulator such as moto), with path-style S3.
    #[arg(long, env = "FIREBREAK_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Args)]
pub struct PlanArgs {
    pub case: CaseId,
    /// The playbook (default: the one the IR plan or the playbooks map to the case's detections).
    #[arg(long)]
    pub playbook: Option<String>,
    /// A directory of your own playbooks (`NAME.yaml`); repeatable.
    #[arg(long = "playbooks", value_name = "DIR")]
    pub playbooks: Vec<PathBuf>,
    /// Plan this optional step too (`stop`, `quarantine-subnet`, …); repeatable.
    #[arg(long = "include", value_name = "STEP")]
    pub include: Vec<String>,
    /// Leave this resource alone (`kind:id`, e.g. `user:ci-deploy`); repeatable.
    #[arg(long = "exclude", value_name = "KIND:ID")]
    pub exclude: Vec<String>,
    /// Act on this protected resource anyway (`kind:id`); repeatable.
    #[arg(long = "override", value_name = "KIND:ID")]
    pub overrides: Vec<String>,
    /// Do not reach AWS: print the calls from the actions' templates.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// `text` or `json`.
    #[arg(long, short = 'o', default_value = "text")]
    pub output: String,
}

/// The bundled playbooks plus every `*.yaml` / `*.yml` under `dirs`; invalid ones are an
/// error naming file, line and field.
pub fn load_playbooks(dirs: &[PathBuf]) -> Result<Vec<Playbook>> {
    let mut books = playbook::bundled();
    for dir in dirs {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let book = playbook::parse(&text, &p.display().to_string()).map_err(|problems| {
                anyhow::anyhow!(
                    "invalid playbook:\n{}",
                    problems
                        .iter()
                        .map(|e| format!("  {e}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })?;
            books.retain(|b| b.name != book.name);
            books.push(book);
        }
    }
    Ok(books)
}

pub fn run(cmd: RespondCommand, args: &StoreArgs) -> Result<bool> {
    match cmd {
        RespondCommand::Plan(p) => plan_cmd(p, args),
        RespondCommand::Approve { case, plan_id, key } => approve_cmd(case, plan_id, key, args),
        RespondCommand::Run { case, plan_id, aws } => run_cmd(case, plan_id, &aws, args, None),
        RespondCommand::Rollback {
            case,
            plan_id,
            steps,
            aws,
        } => run_cmd(case, plan_id, &aws, args, Some(steps)),
        RespondCommand::Status {
            case,
            plan_id,
            output,
        } => status_cmd(case, plan_id, &output, args),
        RespondCommand::IamPolicy { playbooks } => {
            let books = load_playbooks(&playbooks)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&playbook::iam::responder_policy(&books))?
            );
            Ok(true)
        }
        RespondCommand::Actions => {
            let mut out = std::io::stdout().lock();
            for a in playbook::Action::ALL {
                writeln!(
                    out,
                    "{:<34} {:<10} {:<10} {}",
                    a.name(),
                    a.target().name(),
                    format!("{:?}", a.class()).to_lowercase(),
                    a.description()
                )?;
                say!(out, "{:<34} undo: {}", "", a.undo())?;
            }
            Ok(true)
        }
        RespondCommand::Playbooks { playbooks } => {
            let mut out = std::io::stdout().lock();
            for b in load_playbooks(&playbooks)? {
                say!(out, "{:<34} {} ({} steps)", b.name, b.title, b.steps.len())?;
            }
            Ok(true)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The response settings the IR plan gives (or the defaults without one).
pub(crate) fn response_settings(settings: &Settings) -> playbook::Settings {
    match &settings.plan {
        Some(p) => {
            let aws = &p.plan.aws;
            playbook::Settings {
                responder_role: Some(aws.responder_role.value.clone()),
                external_id: aws.external_id.clone(),
                isolation_group: aws.isolation_security_group.clone(),
                management_account: aws.management_account.as_ref().map(|m| m.value.clone()),
                evidence_bucket: Some(p.plan.forensics.evidence_bucket.value.clone()),
                forensic_account: Some(p.plan.forensics.account.value.clone()),
                kms_key: None,
            }
        }
        None => playbook::Settings::default(),
    }
}

/// The original records of a case's alerts, as JSON.
pub(crate) fn alert_records(
    store: &Store,
    case: CaseId,
    alerts: &[case::summary::AlertRecord],
) -> Result<Vec<serde_json::Value>> {
    let keys: BTreeSet<&str> = alerts.iter().map(|a| a.event_key.as_str()).collect();
    Ok(store
        .timeline(case)?
        .into_iter()
        .filter(|r| keys.contains(r.event.key.as_str()))
        .filter_map(|r| serde_json::from_str(&r.raw).ok())
        .collect())
}

/// Which playbook answers the case: the one answering its most severe alert (earliest
/// first), by the IR plan's mapping, else by the playbooks' own; and the others that answer
/// some alert too.
fn choose<'a>(
    books: &'a [Playbook],
    settings: &Settings,
    alerts: &[case::summary::AlertRecord],
) -> Result<(&'a Playbook, Vec<String>)> {
    let mut names: Vec<String> = Vec::new();
    let mut ordered: Vec<&case::summary::AlertRecord> = alerts.iter().collect();
    ordered.sort_by_key(|a| (std::cmp::Reverse(a.severity), a.time_ms.unwrap_or(i64::MAX)));
    for a in ordered {
        let tags: Vec<String> = a
            .tactics
            .iter()
            .chain(&a.techniques)
            .map(|t| format!("attack.{}", t.to_lowercase()))
            .collect();
        let mut found: Vec<String> = match &settings.plan {
            Some(p) => p
                .plan
                .playbooks_for(&a.rule_id, &tags)
                .into_iter()
                .map(str::to_string)
                .collect(),
            None => Vec::new(),
        };
        if found.is_empty() {
            found = books
                .iter()
                .filter(|b| b.answers(&a.rule_id, &tags))
                .map(|b| b.name.clone())
                .collect();
        }
        for n in found {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    let Some(first) = names.first() else {
        bail!(
            "no playbook is mapped to this case's detections: name one with --playbook (firebreak respond playbooks lists them)"
        )
    };
    let book = books
        .iter()
        .find(|b| &b.name == first)
        .with_context(|| format!("the IR plan maps playbook {first}, which does not exist"))?;
    Ok((book, names[1..].to_vec()))
}

fn plan_cmd(args: PlanArgs, store_args: &StoreArgs) -> Result<bool> {
    if !matches!(args.output.as_str(), "text" | "json") {
        bail!("unknown output {:?}: use text or json", args.output);
    }
    let settings = store_args.resolve()?;
    let mut store = Store::open(&settings.db)?;
    let case = store.live_case(args.case)?;
    let alerts = store.alerts(case.id)?;
    let records = alert_records(&store, case.id, &alerts)?;
    let books = load_playbooks(&args.playbooks)?;
    let (book, also) = match &args.playbook {
        Some(name) => (
            books.iter().find(|b| &b.name == name).with_context(|| {
                format!("no playbook {name} (firebreak respond playbooks lists them)")
            })?,
            Vec::new(),
        ),
        None => choose(&books, &settings, &alerts)?,
    };
    let made = make_plan(
        &mut store,
        &settings,
        &case,
        &alerts,
        &records,
        book,
        response_settings(&settings),
        playbook::Request {
            created_by: settings.actor.clone(),
            created_ms: now_ms(),
            include: args.include.clone(),
            exclude: args.exclude.clone(),
            overrides: args.overrides.clone(),
        },
        (!args.offline).then_some(args.aws.endpoint_url.as_deref()),
    )?;
    let Made {
        id: plan_id,
        plan,
        dry,
    } = made;
    let digest = plan.digest();
    let complete = plan.incomplete.is_empty();
    if args.output == "json" {
        let v = serde_json::json!({ "plan_id": plan_id, "digest": digest, "plan": plan, "dry_run": dry,
            "approval": plan.approval, "complete": complete, "also_answering": also });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(complete);
    }
    let mut out = Printable(std::io::stdout().lock());
    say!(
        out,
        "Plan {plan_id} for case {}: {} ({})",
        case.id,
        plan.playbook_title,
        plan.playbook
    )?;
    if !also.is_empty() {
        say!(
            out,
            "(chosen for the case's most severe alert; also answering: {}: plan one with --playbook NAME)",
            also.join(", ")
        )?;
    }
    say!(out, "digest {digest}")?;
    say!(
        out,
        "{}",
        match &dry {
            Some(_) if complete =>
                "Dry-run: the exact calls a run would make now (only reads were sent):",
            Some(_) => "Dry-run INCOMPLETE: some reads failed (only reads were sent):",
            None => "Offline: the calls from the actions' templates:",
        }
    )?;
    for (i, step) in plan.steps.iter().enumerate() {
        say!(
            out,
            "\n{:>2}. {} [{}] {}",
            i + 1,
            step.key,
            step.action,
            step.target
        )?;
        say!(out, "    {}", step.title)?;
        if let Some(i) = &step.instructions {
            writeln!(
                out,
                "    to do (becomes a case task): {}",
                i.split_whitespace().collect::<Vec<_>>().join(" ")
            )?;
        }
        match dry.as_ref().map(|d| &d[i]) {
            Some(d) => {
                if let (Some(tag), true) = (&d.protected, step.override_protected) {
                    say!(out, "    PROTECTED ({tag}): acted on by override")?;
                }
                if let Some(why) = &d.skip {
                    say!(out, "    will be SKIPPED: {why}")?;
                }
                if let Some(e) = &d.error {
                    say!(out, "    cannot plan calls: {e}")?;
                } else if d.calls.is_empty() && step.action != playbook::Action::Manual {
                    writeln!(
                        out,
                        "    nothing to do: {}",
                        d.note.as_deref().unwrap_or("already in effect, no call")
                    )?;
                }
                for c in &d.calls {
                    say!(out, "    → {c}")?;
                }
            }
            None => {
                for c in step.call_templates(&plan) {
                    say!(out, "    → {c}")?;
                }
            }
        }
        if step.action.reversible() {
            say!(out, "    rollback: {}", step.action.undo())?;
        }
    }
    for l in &plan.left {
        say!(out, "\n  not planned: {}: {}", l.spec, l.reason)?;
    }
    say!(out, "\nApproval: {}", plan.approval.describe())?;
    if !complete {
        say!(
            out,
            "\nPlan {plan_id} is INCOMPLETE and cannot be approved: {} step(s) could not be read. Fix access (credentials, the responder role, --endpoint-url) and plan again.",
            plan.incomplete.len()
        )?;
        return Ok(false);
    }
    say!(
        out,
        "Next: firebreak respond approve {} --plan {plan_id}   (as each approver: --actor NAME --key FILE)",
        case.id
    )?;
    Ok(true)
}

/// A response plan as made and stored, with its dry-run.
pub(crate) struct Made {
    pub id: i64,
    pub plan: ResponsePlan,
    pub dry: Option<Vec<aws::respond::DryStep>>,
}

/// Plans `book` against a case and stores the plan; `dry_run` (the endpoint, if any) reads
/// every step's state first, and a plan whose reads failed is stored incomplete, so that
/// nobody approves calls that were never worked out. `None`: offline, templates only.
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_plan(
    store: &mut Store,
    settings: &Settings,
    case: &store::CaseRow,
    alerts: &[case::summary::AlertRecord],
    records: &[serde_json::Value],
    book: &Playbook,
    rs: playbook::Settings,
    req: playbook::Request,
    dry_run: Option<Option<&str>>,
) -> Result<Made> {
    let bindings = playbook::bind(
        alerts,
        records,
        &playbook::Exclusions {
            responder_role: rs.responder_role.clone(),
        },
    );
    let level = case.response.as_ref().map(|r| r.level.clone());
    let mut plan = playbook::plan(
        book,
        case.id,
        case.severity,
        level.as_deref(),
        &bindings,
        &rs,
        approval_rule(settings, level.as_deref()),
        &req,
    )?;
    let dry = match dry_run {
        None => None,
        Some(endpoint) => {
            let d = runtime()?.block_on(async {
                let conn = aws::Connection::from_environment(endpoint, None).await;
                aws::respond::dry_run(&conn, &plan, req.created_ms).await
            });
            plan.incomplete = d
                .iter()
                .filter_map(|d| d.error.as_ref().map(|e| format!("{}: {e}", d.key)))
                .collect();
            Some(d)
        }
    };
    let id = store.add_response_plan(
        case.id,
        &plan.playbook,
        &plan.digest(),
        &serde_json::to_string(&plan)?,
        &settings.actor,
        req.created_ms,
    )?;
    Ok(Made { id, plan, dry })
}

/// The approval rule a new plan pins: the IR plan's for the case's level, else one
/// unsigned approval by anyone.
fn approval_rule(settings: &Settings, level: Option<&str>) -> ApprovalRule {
    match &settings.plan {
        Some(p) => ApprovalRule::from_plan(&p.plan, &p.digest, level),
        None => ApprovalRule::without_plan(),
    }
}

/// Says when the IR plan in force now is not the one the plan's rule was pinned from.
fn pinned_note(settings: &Settings, plan: &ResponsePlan) -> Option<String> {
    let pinned = plan.approval.ir_plan.as_deref()?;
    let pinned_short = &pinned[..pinned.len().min(12)];
    Some(match &settings.plan {
        None => format!(
            "note: no IR plan is loaded now; the approval rule pinned when the plan was made (IR plan {pinned_short}…) still holds"
        ),
        Some(p) if p.digest != pinned => format!(
            "note: the IR plan {} differs from the one the plan was made under ({pinned_short}…); the pinned approval rule still holds: plan again to take up the new one",
            p.path.display()
        ),
        Some(_) => return None,
    })
}

/// The plan a command works on: `--plan-id ID` (of this case), else the case's latest.
fn pick_plan(
    store: &Store,
    case: CaseId,
    plan_id: Option<i64>,
) -> Result<(ResponsePlanRow, ResponsePlan)> {
    let row = match plan_id {
        Some(id) => {
            let row = store.response_plan(id)?;
            let live = store.live_case(case)?.id;
            if row.case_id != live {
                bail!("plan {id} belongs to case {}, not case {case}", row.case_id);
            }
            row
        }
        None => store
            .response_plans(store.live_case(case)?.id)?
            .pop()
            .with_context(|| {
                format!(
                    "case {case} has no response plan: make one with firebreak respond plan {case}"
                )
            })?,
    };
    let plan: ResponsePlan = serde_json::from_str(&row.plan)
        .with_context(|| format!("stored plan {} is unreadable", row.id))?;
    if plan.digest() != row.digest {
        bail!(
            "stored plan {} does not match its digest: it was altered after it was made",
            row.id
        );
    }
    Ok((row, plan))
}

fn stored_approvals(store: &Store, plan_id: i64) -> Result<Vec<Approval>> {
    store
        .approvals(plan_id)?
        .iter()
        .map(|a| serde_json::from_str(a).context("stored approval is unreadable"))
        .collect()
}

fn approve_cmd(
    case: CaseId,
    plan_id: Option<i64>,
    key: Option<PathBuf>,
    args: &StoreArgs,
) -> Result<bool> {
    let settings = args.resolve()?;
    let mut store = Store::open(&settings.db)?;
    let (row, plan) = pick_plan(&store, case, plan_id)?;
    if let Some(n) = pinned_note(&settings, &plan) {
        eprintln!("{n}");
    }
    let key_file = key.or_else(|| settings.approval.key_file.clone());
    let key = key_file
        .as_deref()
        .map(crate::keygen_cmd::read)
        .transpose()?;
    if plan.approval.signed && key.is_none() {
        bail!(
            "approvals of plan {} must be signed: pass --key FILE (or set $FIREBREAK_APPROVAL_KEY or [approval] key_file) with the seed whose public key the IR plan lists for {}",
            row.id,
            settings.actor
        );
    }
    let approval = Approval::new(&plan, &settings.actor, now_ms(), key.as_ref());
    let earlier = stored_approvals(&store, row.id)?;
    let who = admit(&plan, &earlier, &approval)?;
    store.add_approval(
        row.id,
        &who,
        &serde_json::to_string(&approval)?,
        approval.at_ms,
    )?;
    let mut all = earlier;
    all.push(approval);
    let unsigned = if plan.approval.signed {
        ""
    } else {
        " (unsigned approvals)"
    };
    match playbook::approve(plan, &all) {
        Ok(_) => println!(
            "plan {} approved by {who}{unsigned}: run it with firebreak respond run {case} --plan {}",
            row.id, row.id
        ),
        Err(p) => println!(
            "approval by {who} recorded{unsigned}; still needed: {}",
            p.missing.join("; ")
        ),
    }
    Ok(true)
}

/// Receipts and calls kept in the case store.
struct StoreJournal<'a> {
    store: &'a mut Store,
    plan: i64,
    case: CaseId,
    playbook: String,
    actor: String,
    /// Evidence a step captures goes into the locker and the case's custody ledger.
    custody: crate::evidence_cmd::Custody,
    faults: Faults,
}

impl StoreJournal<'_> {
    /// Puts what an evidence step captured (metadata, console output, snapshot ids, memory
    /// image location, credential report) into the locker and the custody ledger.
    fn keep_evidence(&mut self, step: &Step, r: &Receipt) -> anyhow::Result<()> {
        for (i, out) in r.outputs.iter().enumerate() {
            let bytes = serde_json::to_vec_pretty(out)?;
            let name = format!("{}-{}.json", step.key.replace(['@', '/', ':'], "-"), i + 1);
            let source = format!(
                "respond plan {}: {} on {}",
                self.plan, step.action, step.target
            );
            let a = self.custody.locker.put(&bytes, &name, &source)?;
            let location = self.custody.locker.location(&a.sha256);
            let mut detail = serde_json::json!({"plan": self.plan, "step": step.key, "kind": step.action.name()});
            // Evidence copies of snapshots, named so the forensic workstation finds them.
            let copies: Vec<&serde_json::Value> = std::iter::once(out)
                .chain(out["copies"].as_array().into_iter().flatten())
                .filter_map(|o| o.get("encrypted_copy"))
                .collect();
            if !copies.is_empty() {
                detail["encrypted_copies"] = serde_json::json!(copies);
            }
            let d = crate::evidence_cmd::draft(
                self.case,
                &self.actor,
                "collected",
                Some(a),
                Some(location),
                detail,
            );
            self.custody.record(self.store, d)?;
        }
        Ok(())
    }
}

fn journal_error(e: impl std::fmt::Display) -> JournalError {
    JournalError(e.to_string())
}

impl Journal for StoreJournal<'_> {
    fn receipts(&self) -> Result<BTreeMap<String, Receipt>, JournalError> {
        self.store
            .receipts(self.plan)
            .map_err(journal_error)?
            .into_iter()
            .map(|(k, v)| Ok((k, serde_json::from_str(&v).map_err(journal_error)?)))
            .collect()
    }
    fn save(&mut self, step: &Step, r: &Receipt) -> Result<(), JournalError> {
        if r.status == StepStatus::Done && step.action.class() == playbook::Class::Evidence {
            self.keep_evidence(step, r)
                .map_err(|e| journal_error(format!("{e:#}")))?;
        }
        let json = serde_json::to_string(r).map_err(journal_error)?;
        self.store
            .save_receipt(
                self.plan,
                &step.key,
                r.status.name(),
                &json,
                &self.actor,
                now_ms(),
            )
            .map_err(journal_error)
    }
    fn calls(
        &mut self,
        step: &Step,
        phase: Phase,
        calls: &[aws::ApiCall],
    ) -> Result<(), JournalError> {
        let at_ms = now_ms();
        let rows: Vec<CallRow> = calls
            .iter()
            .map(|c| CallRow {
                step: step.key.clone(),
                phase: phase.name().to_string(),
                service: c.service.clone(),
                operation: c.operation.clone(),
                status: c.status.map(i64::from),
                ok: c.ok,
                at_ms,
            })
            .collect();
        self.store
            .add_calls(self.plan, &rows)
            .map_err(journal_error)
    }
    fn intend(&mut self, step: &Step, phase: Phase, call: &str) -> Result<i64, JournalError> {
        let id = self
            .store
            .intend_call(self.plan, &step.key, phase.name(), call, now_ms())
            .map_err(journal_error)?;
        self.faults.reached(Point::Intended);
        Ok(id)
    }
    fn settle(&mut self, intent: i64, outcome: &CallOutcome) -> Result<(), JournalError> {
        // A kill here: the call landed (or failed) and nobody wrote it down.
        self.faults.reached(Point::Sent);
        let json = serde_json::to_string(outcome).map_err(journal_error)?;
        self.store
            .settle_call(intent, &json, now_ms())
            .map_err(journal_error)
    }
    fn unsettled(&self, step: &Step) -> Result<Vec<Intent>, JournalError> {
        Ok(self
            .store
            .intents(self.plan, Some(&step.key))
            .map_err(journal_error)?
            .into_iter()
            .filter(|i| i.outcome.is_none())
            .map(|i| Intent {
                id: i.id,
                phase: if i.phase == "rollback" {
                    Phase::Rollback
                } else {
                    Phase::Run
                },
                call: i.call,
            })
            .collect())
    }
    fn task(&mut self, step: &Step) -> Result<(), JournalError> {
        let text = step
            .instructions
            .as_deref()
            .unwrap_or(&step.title)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let title = format!("{} / {}: {text}", self.playbook, step.spec);
        self.store
            .add_task(self.case, &title, None, None, &self.actor, now_ms())
            .map(|_| ())
            .map_err(journal_error)
    }
}

fn run_cmd(
    case: CaseId,
    plan_id: Option<i64>,
    aws_args: &AwsArgs,
    args: &StoreArgs,
    rollback: Option<Vec<String>>,
) -> Result<bool> {
    let settings = args.resolve()?;
    let mut store = Store::open(&settings.db)?;
    let (row, report) = execute(
        &settings,
        &mut store,
        case,
        plan_id,
        aws_args.endpoint_url.as_deref(),
        rollback.as_deref(),
    )?;
    let mut out = Printable(std::io::stdout().lock());
    let what = if rollback.is_some() {
        "Rollback of plan"
    } else {
        "Run of plan"
    };
    say!(
        out,
        "{what} {} ({}) for case {}",
        row.id,
        row.playbook,
        row.case_id
    )?;
    print_report(&mut out, &report)?;
    if report.steps.is_empty() {
        say!(
            out,
            "  nothing to {}: no step of plan {} {}",
            if rollback.is_some() {
                "roll back"
            } else {
                "run"
            },
            row.id,
            if rollback.is_some() {
                "took effect (or every one was rolled back already)"
            } else {
                "is left"
            }
        )?;
    }
    if rollback.is_none() && report.ok() {
        say!(
            out,
            "\nEvery step done and verified. When containment holds: firebreak case transition {} contained",
            row.case_id
        )?;
    }
    Ok(report.ok())
}

/// Runs (or, with `rollback`, undoes) a stored plan once its approvals meet the rule pinned
/// in it: the only way the command line changes AWS.
pub(crate) fn execute(
    settings: &Settings,
    store: &mut Store,
    case: CaseId,
    plan_id: Option<i64>,
    endpoint: Option<&str>,
    rollback: Option<&[String]>,
) -> Result<(ResponsePlanRow, Report)> {
    let (row, plan) = pick_plan(store, case, plan_id)?;
    if let Some(n) = pinned_note(settings, &plan) {
        eprintln!("{n}");
    }
    let approvals = stored_approvals(store, row.id)?;
    let unsigned = !plan.approval.signed;
    let approved = playbook::approve(plan, &approvals).map_err(|p| {
        anyhow::anyhow!(
            "plan {} cannot run: {p} (firebreak respond approve {case} --plan {}){}",
            row.id,
            row.id,
            if p.ignored.is_empty() {
                String::new()
            } else {
                format!("; not counted: {}", p.ignored.join("; "))
            }
        )
    })?;
    if unsigned {
        eprintln!("note: plan {} runs on unsigned approvals", row.id);
    }
    let mut journal = StoreJournal {
        store,
        plan: row.id,
        case: row.case_id,
        playbook: row.playbook.clone(),
        actor: settings.actor.clone(),
        custody: crate::evidence_cmd::Custody::open(settings)?,
        faults: Faults::from_environment()?,
    };
    let rt = runtime()?;
    let report = rt.block_on(async {
        let conn = aws::Connection::from_environment(endpoint, None).await;
        match rollback {
            None => aws::respond::run(&conn, &approved, &mut journal, now_ms()).await,
            Some(steps) => {
                let only = (!steps.is_empty()).then_some(steps);
                aws::respond::rollback(&conn, &approved, &mut journal, only).await
            }
        }
    })?;
    Ok((row, report))
}

pub(crate) fn print_report(out: &mut impl Write, report: &Report) -> Result<()> {
    for s in &report.steps {
        let mark = match s.status {
            StepStatus::Done | StepStatus::RolledBack => "ok  ",
            StepStatus::Task => "task",
            StepStatus::Skipped => "skip",
            StepStatus::NothingToDo => "none",
            _ => "FAIL",
        };
        let earlier = if s.earlier { " (earlier run)" } else { "" };
        say!(
            out,
            "  [{mark}] {} {}{earlier}: {}",
            s.key,
            s.target,
            s.status.name()
        )?;
        for c in &s.calls {
            say!(out, "         → {c}")?;
        }
        if let Some(d) = &s.detail {
            say!(out, "         {d}")?;
        }
    }
    if let Some(h) = &report.halted {
        say!(out, "\nHALTED: {h}")?;
        say!(
            out,
            "Fix the cause and run again (finished steps are not repeated), or undo: firebreak respond rollback"
        )?;
    }
    if !report.rolled_back.is_empty() {
        say!(out, "\nRolled back:")?;
        print_report(
            out,
            &Report {
                steps: report.rolled_back.clone(),
                ..Default::default()
            },
        )?;
    }
    Ok(())
}

fn status_cmd(case: CaseId, plan_id: Option<i64>, output: &str, args: &StoreArgs) -> Result<bool> {
    let settings = args.resolve()?;
    let store = Store::open_read_only(&settings.db)?;
    let (row, plan) = pick_plan(&store, case, plan_id)?;
    let approvals = stored_approvals(&store, row.id)?;
    let receipts = stored_receipts(&store, row.id)?;
    let calls = store.calls(row.id)?;
    let approved = playbook::approve(plan.clone(), &approvals);
    if output == "json" {
        let v = serde_json::json!({
            "plan_id": row.id, "digest": row.digest, "plan": plan, "approvals": approvals,
            "approved": approved.is_ok(), "approval_rule": plan.approval,
            "not_counted": approved.as_ref().err().map(|p| p.ignored.clone()).unwrap_or_default(),
            "receipts": receipts, "calls": calls, "intents": store.intents(row.id, None)?,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(true);
    }
    let mut out = Printable(std::io::stdout().lock());
    say!(
        out,
        "Plan {} for case {}: {} ({}), made by {} at {}",
        row.id,
        row.case_id,
        plan.playbook_title,
        plan.playbook,
        row.created_by,
        format_iso(row.created_ms)
    )?;
    say!(out, "Approval rule: {}", plan.approval.describe())?;
    if let Some(n) = pinned_note(&settings, &plan) {
        say!(out, "{n}")?;
    }
    match &approved {
        Ok(_) => say!(out, "Approved")?,
        Err(p) => {
            say!(out, "Not approved: {}", p.missing.join("; "))?;
            for i in &p.ignored {
                say!(out, "  not counted: {i}")?;
            }
        }
    }
    for a in &approvals {
        let how = match (a.kind, &a.key) {
            (playbook::ApprovalKind::PreapprovedEvidence, _) => {
                "pre-approved by the IR plan (evidence only)".to_string()
            }
            (_, Some(k)) => format!("signed by key {}…", &k[..k.len().min(16)]),
            (_, None) => "UNSIGNED".to_string(),
        };
        say!(
            out,
            "  approved by {} ({}) at {}: {how}",
            a.by,
            a.roles.join(", "),
            format_iso(a.at_ms)
        )?;
    }
    for s in &plan.steps {
        let r = receipts.get(&s.key);
        let status = r.map_or("pending", |r| r.status.name());
        say!(
            out,
            "  {:<16} {} [{}] {}",
            status,
            s.key,
            s.action,
            s.target
        )?;
        if let Some(r) = r {
            for c in &r.calls {
                say!(out, "      → {c}")?;
            }
            for c in &r.rollback_calls {
                say!(out, "      ↩ {c}")?;
            }
            if let Some(e) = r.error.as_ref().or(r.rollback_error.as_ref()) {
                say!(out, "      {e}")?;
            }
        }
    }
    say!(
        out,
        "{} AWS calls recorded ({} failed)",
        calls.len(),
        calls.iter().filter(|c| !c.ok).count()
    )?;
    let intents = store.intents(row.id, None)?;
    let open: Vec<&store::IntentRow> = intents.iter().filter(|i| i.outcome.is_none()).collect();
    if !open.is_empty() {
        say!(
            out,
            "{} mutating call(s) MAY HAVE LANDED (recorded as intended, then the run was interrupted; a re-run reconciles them):",
            open.len()
        )?;
        for i in open {
            say!(out, "  ? {} {} {}", i.step, i.phase, i.call)?;
        }
    }
    Ok(true)
}

/// A plan's receipts by step key.
fn stored_receipts(store: &Store, plan_id: i64) -> Result<BTreeMap<String, Receipt>> {
    store
        .receipts(plan_id)?
        .into_iter()
        .map(|(k, v)| {
            Ok((
                k,
                serde_json::from_str(&v).context("stored receipt is unreadable")?,
            ))
        })
        .collect()
}

/// Every response plan of a case with its approvals, receipts and calls (for export).
pub fn case_responses(store: &Store, case: CaseId) -> Result<Vec<serde_json::Value>> {
    store
        .response_plans(case)?
        .into_iter()
        .map(|row| {
            let plan: serde_json::Value = serde_json::from_str(&row.plan)?;
            Ok(serde_json::json!({
                "plan_id": row.id, "digest": row.digest, "created_by": row.created_by, "created_ms": row.created_ms,
                "plan": plan, "approvals": stored_approvals(store, row.id)?,
                "receipts": stored_receipts(store, row.id)?, "calls": store.calls(row.id)?,
            }))
        })
        .collect()
}

/// One line per response plan of a case: playbook, approvals, step progress.
pub fn write_summary(out: &mut impl Write, store: &Store, case: CaseId) -> Result<()> {
    let rows = store.response_plans(case)?;
    if rows.is_empty() {
        return Ok(());
    }
    say!(out, "\nResponse plans")?;
    for row in rows {
        let plan: ResponsePlan = serde_json::from_str(&row.plan)?;
        let receipts = stored_receipts(store, row.id)?;
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &plan.steps {
            *counts
                .entry(receipts.get(&s.key).map_or("pending", |r| r.status.name()))
                .or_default() += 1;
        }
        let progress: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let approvers: Vec<String> = stored_approvals(store, row.id)?
            .into_iter()
            .map(|a| a.by)
            .collect();
        say!(
            out,
            "  plan {} {}: {} step(s): {}; approved by: {}{}{}",
            row.id,
            row.playbook,
            plan.steps.len(),
            progress.join(", "),
            if approvers.is_empty() {
                "nobody yet".to_string()
            } else {
                approvers.join(", ")
            },
            if plan.approval.signed {
                ""
            } else {
                " (unsigned approvals)"
            },
            if plan.incomplete.is_empty() {
                ""
            } else {
                " (INCOMPLETE: plan again)"
            }
        )?;
    }
    Ok(())
}
