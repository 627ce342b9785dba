//! Response: choose the playbook a case calls for, plan it (with a dry-run of the exact
//! calls), approve it, run it or roll it back from an approved plan only, with every call
//! journaled in the store before and after it is sent.

use crate::error::ResponseRefusal;
use crate::evidence::CustodyLog;
use crate::ports::{FaultPoint, FaultProbe, Notice};
use crate::{App, Error, Result, Settings};
use aws::respond::{
    CallOutcome, Intent, Journal, JournalError, Phase, Receipt, Report, StepStatus,
};
use case::CaseId;
use case::summary::AlertRecord;
use playbook::approve::{ApprovalRule, admit};
use playbook::{Approval, Playbook, ResponsePlan, Step};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use store::{CallRow, ResponsePlanRow, Store};

/// The bundled playbooks plus every `*.yaml` / `*.yml` under `dirs`; invalid ones are an
/// error naming file, line and field.
pub fn load_playbooks(dirs: &[PathBuf]) -> Result<Vec<Playbook>> {
    let mut books = playbook::bundled();
    for dir in dirs {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(Error::io("read", dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(Error::io("read", &p))?;
            let book =
                playbook::parse(&text, &p.display().to_string()).map_err(Error::InvalidPlaybook)?;
            books.retain(|b| b.name != book.name);
            books.push(book);
        }
    }
    Ok(books)
}

/// The original records of a case's alerts, as JSON.
pub fn alert_records(
    store: &Store,
    case: CaseId,
    alerts: &[AlertRecord],
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
pub fn choose<'a>(
    books: &'a [Playbook],
    settings: &Settings,
    alerts: &[AlertRecord],
) -> Result<(&'a Playbook, Vec<String>)> {
    let mut names: Vec<String> = Vec::new();
    let mut ordered: Vec<&AlertRecord> = alerts.iter().collect();
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
        return Err(ResponseRefusal::NoPlaybookMapped.into());
    };
    let book = books
        .iter()
        .find(|b| &b.name == first)
        .ok_or_else(|| ResponseRefusal::MappedPlaybookMissing(first.clone()))?;
    Ok((book, names[1..].to_vec()))
}

/// What a responder asks a plan to cover.
#[derive(Debug, Default, Clone)]
pub struct PlanRequest {
    /// The playbook by name; `None`: the one [`choose`] finds.
    pub playbook: Option<String>,
    pub playbook_dirs: Vec<PathBuf>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub overrides: Vec<String>,
    /// Work the calls out from the templates only, reaching nothing.
    pub offline: bool,
}

/// A response plan as made and stored, with its dry-run.
pub struct Made {
    pub id: store::ResponsePlanId,
    pub case: CaseId,
    pub plan: ResponsePlan,
    pub dry: Option<Vec<aws::respond::DryStep>>,
    /// Other playbooks that answer some alert of the case.
    pub also: Vec<String>,
}

/// Plans a playbook against a live case (`respond plan`).
pub fn plan_response(
    app: &App,
    store: &mut Store,
    case: CaseId,
    req: &PlanRequest,
) -> Result<Made> {
    let c = store.live_case(case)?;
    let alerts = store.alerts(c.id)?;
    let records = alert_records(store, c.id, &alerts)?;
    let books = load_playbooks(&req.playbook_dirs)?;
    let (book, also) = match &req.playbook {
        Some(name) => (
            books
                .iter()
                .find(|b| &b.name == name)
                .ok_or_else(|| ResponseRefusal::NoSuchPlaybook(name.clone()))?,
            Vec::new(),
        ),
        None => choose(&books, &app.settings, &alerts)?,
    };
    let mut made = make_plan(
        app,
        store,
        &c,
        &alerts,
        &records,
        book,
        app.settings.response(),
        playbook::Request {
            created_by: app.settings.actor.clone(),
            created_ms: app.now_ms(),
            include: req.include.clone(),
            exclude: req.exclude.clone(),
            overrides: req.overrides.clone(),
        },
        !req.offline,
    )?;
    made.also = also;
    Ok(made)
}

/// Plans `book` against a case and stores the plan; with `dry_run`, every step's state is
/// read first, and a plan whose reads failed is stored incomplete, so that nobody approves
/// calls that were never worked out. Without: offline, templates only.
#[allow(clippy::too_many_arguments)]
pub fn make_plan(
    app: &App,
    store: &mut Store,
    case: &store::CaseRow,
    alerts: &[AlertRecord],
    records: &[serde_json::Value],
    book: &Playbook,
    rs: playbook::Settings,
    req: playbook::Request,
    dry_run: bool,
) -> Result<Made> {
    let level = case.response.as_ref().map(|r| r.level.clone());
    let rule = approval_rule(&app.settings, level.as_deref());
    make_plan_under(
        app, store, case, alerts, records, book, rs, req, dry_run, rule,
    )
}

/// [`make_plan`] under a given approval rule (a game day's exercise rule).
#[allow(clippy::too_many_arguments)]
pub fn make_plan_under(
    app: &App,
    store: &mut Store,
    case: &store::CaseRow,
    alerts: &[AlertRecord],
    records: &[serde_json::Value],
    book: &Playbook,
    rs: playbook::Settings,
    req: playbook::Request,
    dry_run: bool,
    rule: ApprovalRule,
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
        rule,
        &req,
    )?;
    let dry = if dry_run {
        let d = app.runtime()?.block_on(async {
            let conn = app.ports.aws.caller(None).await;
            aws::respond::dry_run(&conn, &plan, req.created_ms).await
        });
        plan.incomplete = d
            .iter()
            .filter_map(|d| d.error.as_ref().map(|e| format!("{}: {e}", d.key)))
            .collect();
        Some(d)
    } else {
        None
    };
    let dry_json = dry.as_ref().map(serde_json::to_string).transpose()?;
    let id = store.add_response_plan(
        case.id,
        &store::NewResponsePlan {
            playbook: &plan.playbook,
            digest: &plan.digest(),
            plan_json: &serde_json::to_string(&plan)?,
            dry_run_json: dry_json.as_deref(),
        },
        &app.settings.actor,
        req.created_ms,
    )?;
    if plan.incomplete.is_empty() {
        app.ports.notifier.notify(Notice::ApprovalRequested {
            case: case.id,
            plan: id,
        });
    }
    Ok(Made {
        id,
        case: case.id,
        plan,
        dry,
        also: Vec::new(),
    })
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
pub fn pinned_note(settings: &Settings, plan: &ResponsePlan) -> Option<String> {
    let pinned = plan.approval.ir_plan.as_ref()?;
    let same = settings.plan.as_ref().map(|p| &p.digest == pinned);
    let pinned = pinned.as_str();
    let pinned_short = &pinned[..pinned.len().min(12)];
    Some(match &settings.plan {
        None => format!(
            "note: no IR plan is loaded now; the approval rule pinned when the plan was made (IR plan {pinned_short}…) still holds"
        ),
        Some(p) if same == Some(false) => format!(
            "note: the IR plan {} differs from the one the plan was made under ({pinned_short}…); the pinned approval rule still holds: plan again to take up the new one",
            p.path.display()
        ),
        Some(_) => return None,
    })
}

/// What a responder should know before acting on a case's plan (`plan_id`, else its
/// latest): whether the IR plan in force differs from the one its rule was pinned from.
pub fn notes_before(
    app: &App,
    store: &Store,
    case: CaseId,
    plan_id: Option<store::ResponsePlanId>,
) -> Result<Vec<String>> {
    let (_, plan) = pick_plan(store, case, plan_id)?;
    Ok(pinned_note(&app.settings, &plan).into_iter().collect())
}

/// The plan a command works on: `plan_id` (of this case), else the case's latest; checked
/// against its digest.
pub fn pick_plan(
    store: &Store,
    case: CaseId,
    plan_id: Option<store::ResponsePlanId>,
) -> Result<(ResponsePlanRow, ResponsePlan)> {
    let row = match plan_id {
        Some(id) => {
            let row = store.response_plan(id)?;
            let live = store.live_case(case)?.id;
            if row.case_id != live {
                return Err(ResponseRefusal::OtherCase {
                    plan: id,
                    owner: row.case_id,
                    case,
                }
                .into());
            }
            row
        }
        None => store
            .response_plans(store.live_case(case)?.id)?
            .pop()
            .ok_or(ResponseRefusal::NoPlan(case))?,
    };
    let plan: ResponsePlan =
        serde_json::from_str(&row.plan).map_err(|source| ResponseRefusal::Unreadable {
            plan: row.id,
            source,
        })?;
    if plan.digest() != row.digest {
        return Err(ResponseRefusal::Altered(row.id).into());
    }
    Ok((row, plan))
}

/// A plan's approvals on record.
pub fn stored_approvals(store: &Store, plan_id: store::ResponsePlanId) -> Result<Vec<Approval>> {
    store
        .approvals(plan_id)?
        .iter()
        .map(|a| Ok(serde_json::from_str(a)?))
        .collect()
}

/// A plan's receipts by step key.
pub fn stored_receipts(
    store: &Store,
    plan_id: store::ResponsePlanId,
) -> Result<BTreeMap<String, Receipt>> {
    store
        .receipts(plan_id)?
        .into_iter()
        .map(|(k, v)| Ok((k, serde_json::from_str(&v)?)))
        .collect()
}

/// What one approval did.
pub struct Approved {
    pub plan: store::ResponsePlanId,
    /// Who the approval counts as (by the IR plan's contacts).
    pub who: String,
    pub signed: bool,
    /// What the rule still needs; empty when the plan can run now.
    pub missing: Vec<String>,
}

/// Approves a case's plan as `app.settings.actor`, signed with the key at `key_file`.
pub fn approve(
    app: &App,
    store: &mut Store,
    case: CaseId,
    plan_id: Option<store::ResponsePlanId>,
    key_file: Option<&std::path::Path>,
) -> Result<Approved> {
    let (row, plan) = pick_plan(store, case, plan_id)?;
    let key_file = key_file.or(app.settings.approval.key_file.as_deref());
    let key = key_file
        .map(|f| app.ports.keys.signing_key(f))
        .transpose()?;
    if plan.approval.signed && key.is_none() {
        return Err(ResponseRefusal::SignatureRequired {
            plan: row.id,
            actor: app.settings.actor.clone(),
        }
        .into());
    }
    let approval = Approval::new(&plan, &app.settings.actor, app.now_ms(), key.as_ref());
    record_approval(app, store, case, &row, plan, approval)
}

/// Approves a game day's own plan as that game day (`run`): an exercise approval, which
/// counts under the plan's exercise rule only and is entered in the custody ledger as such.
pub fn approve_exercise(
    app: &App,
    store: &mut Store,
    case: CaseId,
    plan_id: store::ResponsePlanId,
    run: &str,
) -> Result<Approved> {
    let (row, plan) = pick_plan(store, case, Some(plan_id))?;
    let approval = Approval::exercise(&plan, run, app.now_ms());
    record_approval(app, store, case, &row, plan, approval)
}

/// Approves a case's plan as the signed-in `person`, attested with the team server's key
/// (`server_key`) when it has one. Whether that counts where approvals must be signed is
/// the IR plan's choice (`team_server.attestation_keys`).
pub fn approve_signed_in(
    app: &App,
    store: &mut Store,
    case: CaseId,
    plan_id: Option<store::ResponsePlanId>,
    person: &crate::people::Person,
    server_key: Option<&signing::SigningKey>,
) -> Result<Approved> {
    let (row, plan) = pick_plan(store, case, plan_id)?;
    let approval = Approval::signed_in(
        &plan,
        &person.contact,
        &person.method,
        app.now_ms(),
        server_key,
    );
    record_approval(app, store, case, &row, plan, approval)
}

/// Admits an approval under the plan's pinned rule, records it (the audit log follows) and
/// enters it in the case's custody ledger.
fn record_approval(
    app: &App,
    store: &mut Store,
    case: CaseId,
    row: &ResponsePlanRow,
    plan: ResponsePlan,
    approval: Approval,
) -> Result<Approved> {
    let earlier = stored_approvals(store, row.id)?;
    let who = admit(&plan, &earlier, &approval)?;
    store.add_approval(
        row.id,
        &who,
        &serde_json::to_string(&approval)?,
        approval.at_ms,
    )?;
    let custody = CustodyLog::open(app)?;
    let entry = custody.draft(
        case,
        &who,
        custody::Action::Approved,
        None,
        None,
        serde_json::json!({
            "plan": row.id,
            "digest": approval.plan_digest,
            "kind": approval.kind,
            "signed_in_by": approval.signed_in_by,
            "key": approval.key,
        }),
    );
    custody.record(store, entry)?;
    let mut all = earlier;
    all.push(approval);
    let signed = plan.approval.signed;
    let missing = match playbook::approve(plan, &all) {
        Ok(_) => Vec::new(),
        Err(p) => p.missing,
    };
    Ok(Approved {
        plan: row.id,
        who,
        signed,
        missing,
    })
}

/// Receipts and calls kept in the case store.
struct StoreJournal<'a> {
    store: &'a mut Store,
    plan: store::ResponsePlanId,
    case: CaseId,
    playbook: String,
    actor: String,
    /// Evidence a step captures goes into the locker and the case's custody ledger.
    custody: CustodyLog,
    faults: Arc<dyn FaultProbe>,
    clock: Arc<dyn crate::ports::Clock>,
}

impl StoreJournal<'_> {
    /// Puts what an evidence step captured (metadata, console output, snapshot ids, memory
    /// image location, credential report) into the locker and the custody ledger.
    fn keep_evidence(&mut self, step: &Step, r: &Receipt) -> Result<()> {
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
            let d = self.custody.draft(
                self.case,
                &self.actor,
                custody::Action::Collected,
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
        stored_receipts(self.store, self.plan).map_err(journal_error)
    }
    fn save(&mut self, step: &Step, r: &Receipt) -> Result<(), JournalError> {
        if r.status == StepStatus::Done && step.action.class() == playbook::Class::Evidence {
            self.keep_evidence(step, r).map_err(journal_error)?;
        }
        let json = serde_json::to_string(r).map_err(journal_error)?;
        self.store
            .save_receipt(
                self.plan,
                &step.key,
                r.status.name(),
                &json,
                &self.actor,
                self.clock.now_ms(),
            )
            .map_err(journal_error)
    }
    fn calls(
        &mut self,
        step: &Step,
        phase: Phase,
        calls: &[aws::ApiCall],
    ) -> Result<(), JournalError> {
        let at_ms = self.clock.now_ms();
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
            .intend_call(
                self.plan,
                &step.key,
                phase.name(),
                call,
                self.clock.now_ms(),
            )
            .map_err(journal_error)?;
        self.faults.reached(FaultPoint::Intended);
        Ok(id)
    }
    fn settle(&mut self, intent: i64, outcome: &CallOutcome) -> Result<(), JournalError> {
        // A kill here: the call landed (or failed) and nobody wrote it down.
        self.faults.reached(FaultPoint::Sent);
        let json = serde_json::to_string(outcome).map_err(journal_error)?;
        self.store
            .settle_call(intent, &json, self.clock.now_ms())
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
            .add_task(
                self.case,
                &title,
                None,
                None,
                &self.actor,
                self.clock.now_ms(),
            )
            .map(|_| ())
            .map_err(journal_error)
    }
}

/// Run or roll back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Execution {
    Run,
    /// Undo, last step first; only these step keys when any are named.
    Rollback(Vec<String>),
}

/// What a run or rollback did.
pub struct Executed {
    pub row: ResponsePlanRow,
    pub report: Report,
    /// Whether it ran on unsigned approvals, said once.
    pub notes: Vec<String>,
}

/// Runs (or rolls back) a stored plan once its approvals meet the rule pinned in it: the
/// only way Firebreak changes AWS.
pub fn execute(
    app: &App,
    store: &mut Store,
    case: CaseId,
    plan_id: Option<store::ResponsePlanId>,
    how: &Execution,
) -> Result<Executed> {
    let (row, plan) = pick_plan(store, case, plan_id)?;
    let mut notes = Vec::new();
    let approvals = stored_approvals(store, row.id)?;
    let unsigned = !plan.approval.signed;
    let approved =
        playbook::approve(plan, &approvals).map_err(|p| ResponseRefusal::NotApproved {
            plan: row.id,
            case,
            pending: p.to_string(),
            ignored: p.ignored.clone(),
        })?;
    if unsigned {
        notes.push(format!("note: plan {} runs on unsigned approvals", row.id));
    }
    let mut journal = StoreJournal {
        store,
        plan: row.id,
        case: row.case_id,
        playbook: row.playbook.clone(),
        actor: app.settings.actor.clone(),
        custody: CustodyLog::open(app)?,
        faults: app.ports.faults.clone(),
        clock: app.ports.clock.clone(),
    };
    let now = app.now_ms();
    let report = app.runtime()?.block_on(async {
        let conn = app.ports.aws.caller(None).await;
        match how {
            Execution::Run => aws::respond::run(&conn, &approved, &mut journal, now).await,
            Execution::Rollback(steps) => {
                let only = (!steps.is_empty()).then_some(steps.as_slice());
                aws::respond::rollback(&conn, &approved, &mut journal, only).await
            }
        }
    })?;
    app.ports.notifier.notify(Notice::PlanFinished {
        case: row.case_id,
        plan: row.id,
        rollback: matches!(how, Execution::Rollback(_)),
        ok: report.ok(),
    });
    Ok(Executed { row, report, notes })
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

/// One response plan of a case as it stands: its approvals, whether they suffice, its
/// receipts, calls and intents.
pub struct PlanStatus {
    pub row: ResponsePlanRow,
    pub plan: ResponsePlan,
    pub approvals: Vec<Approval>,
    pub approved: std::result::Result<(), playbook::Pending>,
    pub receipts: BTreeMap<String, Receipt>,
    pub calls: Vec<CallRow>,
    pub intents: Vec<store::IntentRow>,
    pub notes: Vec<String>,
}

/// The status of a case's plan (`plan_id`, else its latest).
pub fn status(
    app: &App,
    store: &Store,
    case: CaseId,
    plan_id: Option<store::ResponsePlanId>,
) -> Result<PlanStatus> {
    let (row, plan) = pick_plan(store, case, plan_id)?;
    let approvals = stored_approvals(store, row.id)?;
    let receipts = stored_receipts(store, row.id)?;
    let calls = store.calls(row.id)?;
    let approved = playbook::approve(plan.clone(), &approvals).map(|_| ());
    let intents = store.intents(row.id, None)?;
    let notes = pinned_note(&app.settings, &plan).into_iter().collect();
    Ok(PlanStatus {
        row,
        plan,
        approvals,
        approved,
        receipts,
        calls,
        intents,
        notes,
    })
}

/// One line's worth per response plan of a case: its steps' progress and who approved.
pub struct PlanSummary {
    pub row: ResponsePlanRow,
    pub steps: usize,
    /// Steps by status name (`pending` for those with no receipt).
    pub progress: BTreeMap<String, usize>,
    pub approvers: Vec<String>,
    pub signed: bool,
    pub complete: bool,
}

/// Every response plan of a case, summarised.
pub fn summaries(store: &Store, case: CaseId) -> Result<Vec<PlanSummary>> {
    store
        .response_plans(case)?
        .into_iter()
        .map(|row| {
            let plan: ResponsePlan = serde_json::from_str(&row.plan)?;
            let receipts = stored_receipts(store, row.id)?;
            let mut progress: BTreeMap<String, usize> = BTreeMap::new();
            for s in &plan.steps {
                *progress
                    .entry(
                        receipts
                            .get(&s.key)
                            .map_or("pending", |r| r.status.name())
                            .to_string(),
                    )
                    .or_default() += 1;
            }
            let approvers = stored_approvals(store, row.id)?
                .into_iter()
                .map(|a| a.by)
                .collect();
            Ok(PlanSummary {
                steps: plan.steps.len(),
                progress,
                approvers,
                signed: plan.approval.signed,
                complete: plan.incomplete.is_empty(),
                row,
            })
        })
        .collect()
}
