//! Evidence collection: what a case names (account, regions, instances, keys, users, time
//! window) becomes a collection request; every artifact goes into the locker and the
//! custody ledger (and the evidence bucket), every failure into the ledger too, and the
//! collected logs through ingest and detection into the case timeline.
//!
//! Only reads happen here directly. Evidence that changes AWS to take (snapshots, their
//! encrypted copies shared with the forensic account, memory through SSM) becomes an
//! evidence-only response plan, run like any other once approved, or at once when the IR
//! plan's level pre-approves evidence plans (the pre-approval is recorded as an approval).

use crate::error::CollectionRefusal;
use crate::evidence::{CustodyLog, connection, upload};
use crate::pipeline::{CaseRun, detect_and_open};
use crate::respond::{Execution, alert_records, execute, make_plan};
use crate::{App, Result};
use case::CaseId;
use custody::Action;
use ingest::Input;
use playbook::TargetKind;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use store::Store;

/// The collection request a case implies.
pub fn request(app: &App, store: &Store, case: CaseId) -> Result<aws::forensics::Request> {
    let c = store.live_case(case)?;
    let alerts = store.alerts(c.id)?;
    let records = alert_records(store, c.id, &alerts)?;
    let plan = app.settings.plan.as_ref().map(|p| &p.plan);
    let ex = playbook::Exclusions {
        responder_role: plan.map(|p| p.aws.responder_role.value.clone()),
    };
    let b = playbook::bind(&alerts, &records, &ex);
    let ids = |k: TargetKind| b.of_kind(k).map(|t| t.id.clone()).collect::<Vec<_>>();
    let account = b
        .of_kind(TargetKind::Account)
        .next()
        .map(|t| t.account.clone())
        .ok_or(CollectionRefusal::NoAccount(case))?;
    let mut regions: BTreeSet<String> = alerts.iter().filter_map(|a| a.region.clone()).collect();
    regions.extend(b.of_kind(TargetKind::Instance).map(|t| t.region.clone()));
    if regions.is_empty() {
        regions.insert("us-east-1".into());
    }
    let margin = app.settings.grouping.window_ms;
    let now = app.now_ms();
    Ok(aws::forensics::Request {
        case: c.id,
        account,
        regions: regions.into_iter().collect(),
        instances: b
            .of_kind(TargetKind::Instance)
            .map(|t| (t.id.clone(), t.region.clone()))
            .collect(),
        access_keys: ids(TargetKind::AccessKey),
        users: ids(TargetKind::User),
        from_ms: c.first_ms.unwrap_or(now) - margin,
        to_ms: c.last_ms.unwrap_or(now) + margin,
    })
}

/// How a collection runs.
#[derive(Debug, Clone, Default)]
pub struct CollectOptions {
    /// Capture memory with AVML through SSM Run Command.
    pub memory: bool,
    /// KMS key for the encrypted snapshot copies (default: the account's EBS key).
    pub kms_key: Option<String>,
    /// Upload to the IR plan's evidence bucket (when a plan names one).
    pub upload: bool,
    /// Run collected logs through ingest and detection into the case.
    pub examine: bool,
}

/// What became of the evidence that changes AWS to take.
pub enum EvidencePlan {
    /// No instance to snapshot.
    NotNeeded,
    /// Planned; waits for approval.
    AwaitingApproval(Box<crate::respond::Made>),
    /// Planned, but some reads failed: it cannot be approved.
    Incomplete(Box<crate::respond::Made>),
    /// Pre-approved by the IR plan's level and run.
    Ran(Box<(crate::respond::Made, crate::respond::Executed)>),
}

/// What a collection did.
pub struct Collected {
    pub request: aws::forensics::Request,
    pub locker: std::path::PathBuf,
    pub stored: usize,
    pub uploaded: usize,
    /// What could not be collected, with why.
    pub failures: Vec<(String, String)>,
    /// Uploads that failed, by artifact name, with why.
    pub upload_failures: Vec<(String, String)>,
    /// Log artifacts examined and what that added, when examined.
    pub examined: Option<(usize, CaseRun)>,
    pub evidence_plan: EvidencePlan,
    /// Where the ledger head was anchored, or why it was not (`None`: not attempted).
    pub anchor: Option<std::result::Result<String, String>>,
}

impl Collected {
    /// Everything was collected, uploaded, planned and anchored as asked.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
            && self.upload_failures.is_empty()
            && !matches!(self.anchor, Some(Err(_)))
            && match &self.evidence_plan {
                EvidencePlan::Incomplete(_) => false,
                EvidencePlan::Ran(ran) => ran.1.report.ok(),
                _ => true,
            }
    }
}

/// Collects a case's evidence (`evidence collect`).
pub fn collect(
    app: &App,
    store: &mut Store,
    case: CaseId,
    opts: &CollectOptions,
) -> Result<Collected> {
    let settings = &app.settings;
    let req = request(app, store, case)?;
    if opts.memory && settings.plan.is_none() {
        return Err(CollectionRefusal::MemoryNeedsPlan.into());
    }
    let custody = CustodyLog::open(app)?;
    let rt = app.runtime()?;
    let actor = &settings.actor;
    let collection = rt.block_on(async {
        let conn = connection(app, &req.account).await?;
        Ok::<_, crate::Error>(aws::forensics::collect(&conn, &req).await)
    })?;
    let upload_to_bucket = opts.upload && settings.plan.is_some();
    let mut logs = Vec::new();
    let mut stored = 0;
    let mut uploaded = 0;
    let mut upload_failures = Vec::new();
    for item in &collection.items {
        let a = custody.locker.put(&item.bytes, &item.name, &item.source)?;
        let mut detail = item.detail.clone();
        detail["request"] = json!({"account": req.account, "from": model::time::format_iso(req.from_ms), "to": model::time::format_iso(req.to_ms)});
        custody.record(
            store,
            custody.draft(
                case,
                actor,
                Action::Collected,
                Some(a.clone()),
                Some(custody.locker.location(&a.sha256)),
                detail,
            ),
        )?;
        stored += 1;
        if upload_to_bucket {
            match rt.block_on(upload(
                app,
                case,
                &a,
                aws::forensics::Body::Bytes(&item.bytes),
            )) {
                Ok(at) => {
                    custody.record(
                        store,
                        custody.draft(
                            case,
                            actor,
                            Action::Uploaded,
                            Some(a.clone()),
                            Some(at),
                            json!({"object_lock": true}),
                        ),
                    )?;
                    uploaded += 1;
                }
                Err(e) => {
                    custody.record(
                        store,
                        custody.draft(
                            case,
                            actor,
                            Action::UploadFailed,
                            Some(a.clone()),
                            None,
                            json!({"why": e.to_string()}),
                        ),
                    )?;
                    upload_failures.push((a.name.clone(), e.to_string()));
                }
            }
        }
        if item.is_log {
            logs.push(Input::Memory {
                name: format!("evidence:{}/{}", &a.sha256[..12], a.name),
                data: Arc::from(item.bytes.as_slice()),
            });
        }
    }
    for f in &collection.failures {
        let mut detail = json!({"what": f.what, "why": f.why});
        if f.what.starts_with("memory of ") {
            detail["note"] = json!(
                "memory was not captured: nothing in this run stops or terminates the instance"
            );
        }
        custody.record(
            store,
            custody.draft(case, actor, Action::CollectionFailed, None, None, detail),
        )?;
    }
    let mut examined = None;
    if opts.examine && !logs.is_empty() {
        let run = detect_and_open(app, store, &logs)?;
        custody.record(
            store,
            custody.draft(case, actor, Action::Examined, None, None, json!({
                "inputs": logs.iter().map(Input::name).collect::<Vec<_>>(),
                "alerts_new": run.hunt.alerts_new, "alerts_known": run.hunt.alerts_known, "timeline_added": run.timeline_added,
            })),
        )?;
        examined = Some((logs.len(), run));
    }
    let evidence_plan = if req.instances.is_empty() {
        EvidencePlan::NotNeeded
    } else {
        evidence_plan(app, store, case, opts)?
    };
    // Every collection ends by anchoring the ledger head outside the host.
    let anchor = if upload_to_bucket {
        match custody.anchor(app, case) {
            Ok(Some(at)) => Some(Ok(at)),
            Ok(None) => None,
            Err(e) => Some(Err(e.to_string())),
        }
    } else {
        None
    };
    Ok(Collected {
        locker: custody.locker.root().to_path_buf(),
        stored,
        uploaded,
        failures: collection
            .failures
            .iter()
            .map(|f| (f.what.clone(), f.why.clone()))
            .collect(),
        upload_failures,
        examined,
        evidence_plan,
        anchor,
        request: req,
    })
}

/// Plans the evidence that changes AWS (snapshots, encrypted copies shared with the forensic
/// account, memory) as an evidence-only response plan, and runs it at once when the IR
/// plan's level pre-approves evidence plans.
fn evidence_plan(
    app: &App,
    store: &mut Store,
    case: CaseId,
    opts: &CollectOptions,
) -> Result<EvidencePlan> {
    let c = store.live_case(case)?;
    let alerts = store.alerts(c.id)?;
    let records = alert_records(store, c.id, &alerts)?;
    let book = playbook::bundled()
        .into_iter()
        .find(|b| b.name == "evidence-collection")
        .expect("the evidence-collection playbook is bundled");
    let mut rs = app.settings.response();
    rs.kms_key = opts.kms_key.clone();
    let made = make_plan(
        app,
        store,
        &c,
        &alerts,
        &records,
        &book,
        rs,
        playbook::Request {
            created_by: app.settings.actor.clone(),
            created_ms: app.now_ms(),
            include: if opts.memory {
                vec!["capture-memory".into()]
            } else {
                Vec::new()
            },
            ..Default::default()
        },
        true,
    )?;
    if !made.plan.incomplete.is_empty() {
        return Ok(EvidencePlan::Incomplete(Box::new(made)));
    }
    if !made.plan.approval.preapprove_evidence {
        return Ok(EvidencePlan::AwaitingApproval(Box::new(made)));
    }
    let pre = playbook::Approval::preapproved(&made.plan, app.now_ms());
    store.add_approval(made.id, &pre.by, &serde_json::to_string(&pre)?, pre.at_ms)?;
    let ran = execute(app, store, case, Some(made.id), &Execution::Run)?;
    Ok(EvidencePlan::Ran(Box::new((made, ran))))
}
