//! `firebreak respond …`: plan a playbook against a case (with a dry-run of the exact
//! calls), approve it, run it, roll it back, and print the responder role's IAM policy.

use crate::settings::{Output, StoreArgs, open_app};
use anyhow::Result;
use app::respond::{Execution, PlanRequest, load_playbooks};
use aws::respond::{Report, StepStatus};
use case::CaseId;
use clap::{Args, Subcommand};
use model::time::format_iso;
use neutral::terminal::Printable;
use std::io::Write;
use std::path::PathBuf;
use store::Store;

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
        plan_id: Option<store::ResponsePlanId>,
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
        plan_id: Option<store::ResponsePlanId>,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Undo what a plan's runs did, from their receipts, last step first.
    Rollback {
        case: CaseId,
        #[arg(long = "plan", visible_alias = "plan-id", value_name = "ID")]
        plan_id: Option<store::ResponsePlanId>,
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
        plan_id: Option<store::ResponsePlanId>,
        #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
        output: Output,
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
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
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
        } => status_cmd(case, plan_id, output, args),
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

fn plan_cmd(args: PlanArgs, store_args: &StoreArgs) -> Result<bool> {
    let settings = store_args.resolve()?;
    let mut store = Store::open(&settings.db)?;
    let app = open_app(settings, args.aws.endpoint_url.as_deref())?;
    let made = app::respond::plan_response(
        &app,
        &mut store,
        args.case,
        &PlanRequest {
            playbook: args.playbook.clone(),
            playbook_dirs: args.playbooks.clone(),
            include: args.include.clone(),
            exclude: args.exclude.clone(),
            overrides: args.overrides.clone(),
            offline: args.offline,
        },
    )?;
    let app::respond::Made {
        id: plan_id,
        case,
        plan,
        dry,
        also,
    } = made;
    let digest = plan.digest();
    let complete = plan.incomplete.is_empty();
    if args.output == Output::Json {
        let v = serde_json::json!({ "plan_id": plan_id, "digest": digest, "plan": plan, "dry_run": dry,
            "approval": plan.approval, "complete": complete, "also_answering": also });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(complete);
    }
    let mut out = Printable(std::io::stdout().lock());
    say!(
        out,
        "Plan {plan_id} for case {}: {} ({})",
        case,
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
        case
    )?;
    Ok(true)
}

fn approve_cmd(
    case: CaseId,
    plan_id: Option<store::ResponsePlanId>,
    key: Option<PathBuf>,
    args: &StoreArgs,
) -> Result<bool> {
    let settings = args.resolve()?;
    let mut store = Store::open(&settings.db)?;
    let app = open_app(settings, None)?;
    for n in app::respond::notes_before(&app, &store, case, plan_id)? {
        eprintln!("{}", neutral::terminal::Field(&n));
    }
    let done = app::respond::approve(&app, &mut store, case, plan_id, key.as_deref())?;
    let unsigned = if done.signed {
        ""
    } else {
        " (unsigned approvals)"
    };
    let mut out = Printable(std::io::stdout().lock());
    if done.missing.is_empty() {
        say!(
            out,
            "plan {} approved by {}{unsigned}: run it with firebreak respond run {case} --plan {}",
            done.plan,
            done.who,
            done.plan
        )?;
    } else {
        say!(
            out,
            "approval by {}{unsigned} recorded; still needed: {}",
            done.who,
            done.missing.join("; ")
        )?;
    }
    Ok(true)
}

fn run_cmd(
    case: CaseId,
    plan_id: Option<store::ResponsePlanId>,
    aws_args: &AwsArgs,
    args: &StoreArgs,
    rollback: Option<Vec<String>>,
) -> Result<bool> {
    let settings = args.resolve()?;
    let mut store = Store::open(&settings.db)?;
    let app = open_app(settings, aws_args.endpoint_url.as_deref())?;
    let how = match &rollback {
        None => Execution::Run,
        Some(steps) => Execution::Rollback(steps.clone()),
    };
    for n in app::respond::notes_before(&app, &store, case, plan_id)? {
        eprintln!("{}", neutral::terminal::Field(&n));
    }
    let app::respond::Executed { row, report, notes } =
        app::respond::execute(&app, &mut store, case, plan_id, &how)?;
    for n in &notes {
        eprintln!("{}", neutral::terminal::Field(n));
    }
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

pub fn print_report(out: &mut impl Write, report: &Report) -> Result<()> {
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

fn status_cmd(
    case: CaseId,
    plan_id: Option<store::ResponsePlanId>,
    output: Output,
    args: &StoreArgs,
) -> Result<bool> {
    let settings = args.resolve()?;
    let store = Store::open_read_only(&settings.db)?;
    let app = open_app(settings, None)?;
    let app::respond::PlanStatus {
        row,
        plan,
        approvals,
        approved,
        receipts,
        calls,
        intents,
        notes,
    } = app::respond::status(&app, &store, case, plan_id)?;
    if output == Output::Json {
        let v = serde_json::json!({
            "plan_id": row.id, "digest": row.digest, "plan": plan, "approvals": approvals,
            "approved": approved.is_ok(), "approval_rule": plan.approval,
            "not_counted": approved.as_ref().err().map(|p| p.ignored.clone()).unwrap_or_default(),
            "receipts": receipts, "calls": calls, "intents": intents,
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
    for n in &notes {
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
            (playbook::ApprovalKind::Exercise, _) => {
                "EXERCISE approval by a game day (counts for its own plan only)".to_string()
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

/// One line per response plan of a case: playbook, approvals, step progress.
pub fn write_summary(out: &mut impl Write, store: &Store, case: CaseId) -> Result<()> {
    let plans = app::respond::summaries(store, case)?;
    if plans.is_empty() {
        return Ok(());
    }
    say!(out, "\nResponse plans")?;
    for p in plans {
        let progress: Vec<String> = p.progress.iter().map(|(k, n)| format!("{n} {k}")).collect();
        say!(
            out,
            "  plan {} {}: {} step(s): {}; approved by: {}{}{}",
            p.row.id,
            p.row.playbook,
            p.steps,
            progress.join(", "),
            if p.approvers.is_empty() {
                "nobody yet".to_string()
            } else {
                p.approvers.join(", ")
            },
            if p.signed {
                ""
            } else {
                " (unsigned approvals)"
            },
            if p.complete {
                ""
            } else {
                " (INCOMPLETE: plan again)"
            }
        )?;
    }
    Ok(())
}
