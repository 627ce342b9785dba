//! `firebreak demo`: the quick start. Reads the bundled sample incident, runs the bundled
//! detections over it, and shows what Firebreak made of it and what to type next.

use crate::case_cmd::{write_case_table, write_run_summary};
use crate::hunt::{AlertFormat, AlertWriter};
use crate::ingest_cmd::{RejectSink, write_summary};
use crate::progress::Progress;
use crate::samples;
use crate::settings::StoreArgs;
use anyhow::Result;
use app::pipeline::{AlertRecords, detect_inputs, open_cases};
use ingest::IngestOptions;
use model::Alert;
use store::Store;

/// The demo's own store, unless `--db`, `$FIREBREAK_DB` or `[store] db` names one: the
/// sample incident never lands among real cases.
pub const DEMO_DB: &str = "firebreak-demo.db";

pub fn run(store_args: &StoreArgs) -> Result<()> {
    let mut args = store_args.clone();
    if args.db.is_none()
        && crate::settings::load_config(&args.config)?
            .store
            .db
            .is_none()
    {
        args.db = Some(DEMO_DB.into());
    }
    let mut settings = args.resolve()?;
    let mut store = Store::open(&settings.db)?;
    println!("Firebreak quick start: the bundled sample incident (no AWS account needed).");
    println!(
        "Store: {}{}",
        settings.db.display(),
        if settings.db == std::path::Path::new(DEMO_DB) {
            " (the demo's own: real cases in firebreak.db are not touched)"
        } else {
            ""
        }
    );
    match &settings.plan {
        Some(p) => println!("IR plan: {} ({})\n", p.plan.title(), p.path.display()),
        None => {
            println!(
                "IR plan: the bundled EXAMPLE plan (a made-up team and contacts; write your own with firebreak plan init)\n"
            );
            settings.plan = Some(crate::settings::LoadedPlan {
                path: "the bundled example plan".into(),
                plan: plan::parse(plan::EXAMPLE, "example plan", plan::Format::Toml)?,
                digest: signing::Sha256Digest::of(plan::EXAMPLE.as_bytes()),
            });
        }
    }
    let detector = app::pipeline::bundled_detector()?;
    let mut alerts: Vec<Alert> = Vec::new();
    let mut records = AlertRecords::default();
    let mut rejects = RejectSink::new(20, None)?;
    let inputs = samples::inputs();
    let summary = detect_inputs(
        &inputs,
        IngestOptions::default(),
        &Progress::new(true),
        &detector,
        |r| rejects.add(r),
        |a| {
            records.push(a)?;
            alerts.push(a.clone());
            Ok(())
        },
    )?;
    println!("1. Read the logs");
    write_summary(&mut std::io::stdout(), &summary, &rejects.shown)?;
    alerts.sort_by_key(|a| a.event.time_ms);
    println!(
        "\n2. Ran {} bundled detections ({} correlations) and GuardDuty / Security Hub findings: {} alert(s)\n",
        detector.rule_count(),
        detector.correlation_count(),
        alerts.len()
    );
    let mut table = AlertWriter::new(AlertFormat::Table, Box::new(std::io::stdout()));
    for a in &alerts {
        table.write(a)?;
    }
    table.finish()?;
    println!(
        "\nThe story: access key AKIAQXAMPLELEAKED001 of `ci-deployer`, used from 203.0.113.77, enumerated the account,\n\
         created a backdoor admin, stopped CloudTrail, deleted flow logs, launched a GPU instance that mines crypto\n\
         and opened a bucket to the world."
    );
    let app = crate::settings::open_app(settings, None)?;
    let run = open_cases(
        &app,
        &mut store,
        &records,
        &inputs,
        IngestOptions::default(),
        &app::ports::NoProgress,
    )?;
    let settings = &app.settings;
    println!(
        "\n3. Grouped the alerts into cases by the entities they share (access keys, principals, sessions,\n   instances, addresses), each with a timeline of every event of its entities\n"
    );
    write_run_summary(&mut std::io::stdout(), settings, &run)?;
    if let Some(p) = &settings.plan {
        println!(
            "Severity, SLAs and escalation follow {} ({}).",
            p.plan.title(),
            p.path.display()
        );
    }
    let cases = store.cases(false)?;
    println!();
    write_case_table(&mut std::io::stdout(), &cases)?;
    let first = cases
        .iter()
        .max_by_key(|c| (c.severity, c.alert_count, std::cmp::Reverse(c.id)))
        .map_or(case::CaseId(1), |c| c.id);
    let db = format!(" --db {}", settings.db.display());
    println!(
        "\nNext:\n  \
         firebreak case show {first}{db}                       # severity and why, entities, blast radius, alerts\n  \
         firebreak case timeline {first}{db}                   # every event of the case's entities, alerts marked\n  \
         firebreak case assign {first} YOUR_NAME{db}           # take it, then: case transition {first} analyzing\n  \
         firebreak case export {first} --format timesketch{db} # for Timesketch (also json, csv)\n  \
         firebreak respond plan {first} --offline{db}            # containment: calls, approval, rollback\n  \
         firebreak plan init && firebreak plan render   # your own IR plan: edit ir-plan.toml, then plan check\n  \
         firebreak readiness                         # is the AWS account ready for an incident? (SEC10)\n  \
         firebreak hunt YOUR_LOGS/ --cases           # your own logs into cases (re-running adds nothing twice)"
    );
    Ok(())
}
