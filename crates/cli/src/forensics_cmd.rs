//! `firebreak forensics workstation`: CloudFormation for the isolated forensic workstation
//! of a case (its snapshots attached) and the Image Builder pipeline of its AMI.

use crate::settings::StoreArgs;
use anyhow::{Context, Result};
use app::evidence::CustodyLog;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ForensicsCommand {
    /// Write `workstation-case-N.json` (the workstation stack) and
    /// `forensic-ami-pipeline.json` (the AMI pipeline) to a directory.
    Workstation {
        /// The case whose collected snapshots (encrypted copies) become attached volumes.
        #[arg(long)]
        case: Option<case::CaseId>,
        /// Snapshot ids to attach besides (or without) the case's; repeatable.
        #[arg(long = "snapshot", value_name = "ID")]
        snapshots: Vec<String>,
        /// The forensic AMI (default: the plan's `forensics.workstation_ami`).
        #[arg(long)]
        ami: Option<String>,
        /// A KMS key the workstation may decrypt with.
        #[arg(long)]
        kms_key_arn: Option<String>,
        #[arg(long, default_value = "forensics")]
        out: PathBuf,
    },
}

pub fn run(cmd: ForensicsCommand, args: &StoreArgs) -> Result<()> {
    let ForensicsCommand::Workstation {
        case,
        mut snapshots,
        ami,
        kms_key_arn,
        out,
    } = cmd;
    let app = crate::settings::open_app(args.resolve()?, None)?;
    let settings = &app.settings;
    if let Some(case) = case {
        let log = CustodyLog::open(&app)?;
        for e in log.locker.ledger(case)?.0 {
            let d = &e.body.detail;
            // The encrypted copies the evidence plan's copy step made (kept in the ledger
            // as the step's outputs).
            if e.body.action == custody::Action::Collected.name()
                && d["kind"] == "ec2.copy-snapshots-to-forensics"
            {
                for id in d["encrypted_copies"].as_array().into_iter().flatten() {
                    if let Some(id) = id.as_str().filter(|id| !snapshots.iter().any(|x| x == id)) {
                        snapshots.push(id.to_string());
                    }
                }
            }
        }
    }
    let plan = settings.plan.as_ref().map(|p| &p.plan);
    let w = workstation::Workstation {
        case: case.unwrap_or(case::CaseId(0)),
        evidence_bucket: plan.map_or_else(
            || "REPLACE-WITH-EVIDENCE-BUCKET".to_string(),
            |p| p.forensics.evidence_bucket.value.clone(),
        ),
        ami: ami.or_else(|| plan.and_then(|p| p.forensics.workstation_ami.clone())),
        snapshots,
        kms_key_arn,
    };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let stack = out.join(format!("workstation-case-{}.json", w.case));
    let pipeline = out.join("forensic-ami-pipeline.json");
    std::fs::write(
        &stack,
        serde_json::to_string_pretty(&workstation::workstation(&w))?,
    )?;
    std::fs::write(
        &pipeline,
        serde_json::to_string_pretty(&workstation::image_pipeline())?,
    )?;
    println!(
        "{} ({} evidence volume(s)) and {} written.\nDeploy the pipeline in the forensic account first; then:\n  aws cloudformation deploy --template-file {} --stack-name firebreak-case-{} --capabilities CAPABILITY_IAM --parameter-overrides AvailabilityZone=<az of the snapshots' region>",
        stack.display(),
        w.snapshots.len(),
        pipeline.display(),
        stack.display(),
        w.case
    );
    Ok(())
}
