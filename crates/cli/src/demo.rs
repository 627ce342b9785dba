//! `firebreak demo`: the quick start. Reads the bundled sample incident, runs the bundled
//! detections over it, and shows what Firebreak made of it and what to type next.

use crate::evaluate::detect_inputs;
use crate::hunt::{AlertFormat, AlertWriter};
use crate::ingest_cmd::{RejectSink, write_summary};
use crate::samples;
use anyhow::Result;
use detect::Detector;
use ingest::IngestOptions;
use model::Alert;
use sigma::compile::Placeholders;

pub fn run() -> Result<()> {
    println!("Firebreak quick start: the bundled sample incident (no AWS account needed).\n");
    let (set, errors, _) = detect::rules::build(
        detect::rules::BUNDLED.iter().copied(),
        &Placeholders::default(),
    );
    anyhow::ensure!(
        errors.is_empty(),
        "bundled rules failed to load: {}",
        errors[0]
    );
    let detector = Detector::new(set, true);
    let mut alerts: Vec<Alert> = Vec::new();
    let mut rejects = RejectSink::new(20, None)?;
    let summary = detect_inputs(
        &samples::inputs(),
        IngestOptions::default(),
        true,
        &detector,
        &mut rejects,
        |a| {
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
         and opened a bucket to the world.\n\
         \nNext:\n  \
         firebreak hunt examples/sample-logs --output jsonl          # the same alerts as JSON lines\n  \
         firebreak hunt YOUR_LOGS/ --rules MORE_SIGMA_RULES/          # your logs, bundled rules plus yours\n  \
         firebreak ingest examples/sample-logs --output ocsf-jsonl   # the events as OCSF 1.1\n  \
         firebreak rules check MY_RULES/                              # validate Sigma rules"
    );
    Ok(())
}
