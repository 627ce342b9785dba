//! `firebreak evidence collect`: what the case names (account, regions, instances, keys,
//! users, time window) becomes a collection request; every artifact goes into the locker
//! and the custody ledger (and the evidence bucket), every failure into the ledger too, and
//! the collected logs through ingest and detection into the case timeline.
//!
//! Only reads happen here directly. Evidence that changes AWS to take (snapshots, their
//! encrypted copies shared with the forensic account, memory through SSM) becomes an
//! evidence-only response plan, run like any other once approved, or at once when the IR
//! plan's level pre-approves evidence plans (the pre-approval is recorded as an approval).

use crate::evidence_cmd::{Custody, connection, draft, runtime, upload};
use crate::settings::{Settings, now_ms};
use anyhow::Result;
use case::CaseId;
use ingest::Input;
use playbook::TargetKind;
use serde_json::json;
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
use store::Store;

/// The collection request a case implies.
pub fn request(
    store: &Store,
    settings: &Settings,
    case: CaseId,
) -> Result<aws::forensics::Request> {
    let c = store.live_case(case)?;
    let alerts = store.alerts(c.id)?;
    let records = crate::respond_cmd::alert_records(store, c.id, &alerts)?;
    let plan = settings.plan.as_ref().map(|p| &p.plan);
    let ex = playbook::Exclusions {
        responder_role: plan.map(|p| p.aws.responder_role.value.clone()),
    };
    let b = playbook::bind(&alerts, &records, &ex);
    let ids = |k: TargetKind| b.of_kind(k).map(|t| t.id.clone()).collect::<Vec<_>>();
    let account = b
        .of_kind(TargetKind::Account)
        .next()
        .map(|t| t.id.clone())
        .ok_or_else(|| anyhow::anyhow!("case {case} names no AWS account to collect from"))?;
    let mut regions: BTreeSet<String> = alerts.iter().filter_map(|a| a.region.clone()).collect();
    regions.extend(b.of_kind(TargetKind::Instance).map(|t| t.region.clone()));
    if regions.is_empty() {
        regions.insert("us-east-1".into());
    }
    let margin = settings.grouping.window_ms;
    let now = now_ms();
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

pub fn run(
    settings: &Settings,
    case: CaseId,
    endpoint: Option<&str>,
    memory: bool,
    kms_key: Option<String>,
    upload_to_bucket: bool,
    examine: bool,
) -> Result<bool> {
    let mut store = Store::open(&settings.db)?;
    let req = request(&store, settings, case)?;
    if memory && settings.plan.is_none() {
        anyhow::bail!(
            "--memory needs an IR plan naming the evidence bucket the instance uploads to"
        );
    }
    let custody = Custody::open(settings)?;
    let rt = runtime()?;
    let actor = &settings.actor;
    let collection = rt.block_on(async {
        let conn = connection(settings, endpoint, &req.account).await?;
        anyhow::Ok(aws::forensics::collect(&conn, &req).await)
    })?;
    let mut logs = Vec::new();
    let mut stored = 0;
    let mut uploaded = 0;
    let mut problems = 0;
    for item in &collection.items {
        let a = custody.locker.put(&item.bytes, &item.name, &item.source)?;
        let mut detail = item.detail.clone();
        detail["request"] = json!({"account": req.account, "from": model::time::format_iso(req.from_ms), "to": model::time::format_iso(req.to_ms)});
        custody.record(
            &mut store,
            draft(
                case,
                actor,
                "collected",
                Some(a.clone()),
                Some(custody.locker.location(&a.sha256)),
                detail,
            ),
        )?;
        stored += 1;
        if upload_to_bucket && settings.plan.is_some() {
            match rt.block_on(upload(
                settings,
                endpoint,
                case,
                &a,
                aws::forensics::Body::Bytes(&item.bytes),
            )) {
                Ok(at) => {
                    custody.record(
                        &mut store,
                        draft(
                            case,
                            actor,
                            "uploaded",
                            Some(a.clone()),
                            Some(at),
                            json!({"object_lock": true}),
                        ),
                    )?;
                    uploaded += 1;
                }
                Err(e) => {
                    problems += 1;
                    custody.record(
                        &mut store,
                        draft(
                            case,
                            actor,
                            "upload-failed",
                            Some(a.clone()),
                            None,
                            json!({"why": format!("{e:#}")}),
                        ),
                    )?;
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
        problems += 1;
        let mut detail = json!({"what": f.what, "why": f.why});
        if f.what.starts_with("memory of ") {
            detail["note"] = json!(
                "memory was not captured: nothing in this run stops or terminates the instance"
            );
        }
        custody.record(
            &mut store,
            draft(case, actor, "collection-failed", None, None, detail),
        )?;
    }
    let mut examined = None;
    if examine && !logs.is_empty() {
        let run = crate::cases::detect_and_open(&mut store, settings, &logs)?;
        custody.record(
            &mut store,
            draft(case, actor, "examined", None, None, json!({
                "inputs": logs.iter().map(Input::name).collect::<Vec<_>>(),
                "alerts_new": run.hunt.alerts_new, "alerts_known": run.hunt.alerts_known, "timeline_added": run.timeline_added,
            })),
        )?;
        examined = Some(run);
    }
    println!(
        "Collected {stored} artifact(s) for case {case} into {} ({uploaded} uploaded under Object Lock)",
        custody.locker.root().display()
    );
    if upload_to_bucket && settings.plan.is_none() {
        println!(
            "  (no IR plan names an evidence bucket: the evidence is in the local locker only)"
        );
    }
    for f in &collection.failures {
        println!("  not collected: {}: {}", f.what, f.why);
    }
    if let Some(run) = examined {
        println!(
            "Examined {} log artifact(s): {} new alert(s), {} already known, {} event(s) added to timelines",
            logs.len(),
            run.hunt.alerts_new,
            run.hunt.alerts_known,
            run.timeline_added
        );
    }
    if !req.instances.is_empty() {
        problems += evidence_plan(settings, &mut store, case, endpoint, memory, kms_key)?;
    }
    // Every collection ends by anchoring the ledger head outside the host.
    if upload_to_bucket && settings.plan.is_some() {
        match custody.anchor(settings, endpoint, case) {
            Ok(Some(at)) => println!("Custody ledger head anchored at {at}"),
            Ok(None) => {}
            Err(e) => {
                problems += 1;
                println!(
                    "  NOT ANCHORED: the ledger head could not be written to the evidence bucket: {e:#}"
                );
            }
        }
    }
    println!(
        "Next: firebreak evidence verify {case}    firebreak evidence export {case} --out custody-{case}/"
    );
    Ok(problems == 0)
}

/// Plans the evidence that changes AWS (snapshots, encrypted copies shared with the forensic
/// account, memory) as an evidence-only response plan, and runs it at once when the IR
/// plan's level pre-approves evidence plans. Returns how many steps failed.
fn evidence_plan(
    settings: &Settings,
    store: &mut Store,
    case: CaseId,
    endpoint: Option<&str>,
    memory: bool,
    kms_key: Option<String>,
) -> Result<usize> {
    let c = store.live_case(case)?;
    let alerts = store.alerts(c.id)?;
    let records = crate::respond_cmd::alert_records(store, c.id, &alerts)?;
    let book = playbook::bundled()
        .into_iter()
        .find(|b| b.name == "evidence-collection")
        .expect("the evidence-collection playbook is bundled");
    let mut rs = crate::respond_cmd::response_settings(settings);
    rs.kms_key = kms_key;
    let made = crate::respond_cmd::make_plan(
        store,
        settings,
        &c,
        &alerts,
        &records,
        &book,
        rs,
        playbook::Request {
            created_by: settings.actor.clone(),
            created_ms: now_ms(),
            include: if memory {
                vec!["capture-memory".into()]
            } else {
                Vec::new()
            },
            ..Default::default()
        },
        Some(endpoint),
    )?;
    let id = made.id;
    // Ids and error text come from the case's records and AWS: through the terminal layer.
    let mut out = neutral::terminal::Printable(std::io::stdout().lock());
    writeln!(
        out,
        "\nSnapshots{} change AWS: they are response plan {id} (evidence only; {}):",
        if memory { " and memory" } else { "" },
        made.plan.approval.describe()
    )?;
    for d in made.dry.iter().flatten() {
        for call in &d.calls {
            writeln!(out, "  → {call}")?;
        }
    }
    if !made.plan.incomplete.is_empty() {
        writeln!(
            out,
            "  plan {id} is INCOMPLETE ({}): plan again once AWS can be read",
            made.plan.incomplete.join("; ")
        )?;
        return Ok(1);
    }
    if !made.plan.approval.preapprove_evidence {
        writeln!(
            out,
            "  approve it (firebreak respond approve {case} --plan {id}), then run it (firebreak respond run {case} --plan {id})"
        )?;
        return Ok(0);
    }
    let pre = playbook::Approval::preapproved(&made.plan, now_ms());
    store.add_approval(id, &pre.by, &serde_json::to_string(&pre)?, pre.at_ms)?;
    writeln!(
        out,
        "  pre-approved by the IR plan's level for evidence plans (recorded as an approval): running it"
    )?;
    let (_, report) = crate::respond_cmd::execute(settings, store, case, Some(id), endpoint, None)?;
    crate::respond_cmd::print_report(&mut out, &report)?;
    Ok(usize::from(!report.ok()))
}
