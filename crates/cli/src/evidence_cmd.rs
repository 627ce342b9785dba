//! `firebreak evidence …`: the evidence locker and chain of custody of a case: collect from
//! AWS, add files, verify, export the custody report; `keygen` for the signing key.

use crate::settings::{Output, StoreArgs, open_app};
use anyhow::Result;
use app::collect::{Collected, EvidencePlan};
use app::evidence::CustodyLog;
use case::CaseId;
use clap::{Subcommand, ValueEnum};
use neutral::terminal::Printable;
use std::io::Write;
use std::path::PathBuf;
use store::Store;

#[derive(Subcommand)]
pub enum EvidenceCommand {
    /// Collect a case's evidence from AWS into the locker (and the plan's evidence bucket
    /// under Object Lock): CloudTrail files (checked against digests) and LookupEvents, VPC
    /// Flow Logs, GuardDuty findings, Config history, instance metadata and console output,
    /// EBS snapshots (encrypted copies shared with the forensic account), and with
    /// `--memory`, memory via SSM and AVML. Logs are then examined into the case timeline.
    Collect {
        case: CaseId,
        /// Send every AWS call here (an emulator such as moto), with path-style S3.
        #[arg(long, env = "FIREBREAK_ENDPOINT_URL")]
        endpoint_url: Option<String>,
        /// Capture memory with AVML through SSM Run Command (the instance uploads it).
        #[arg(long)]
        memory: bool,
        /// KMS key for the encrypted snapshot copies (default: the account's EBS key).
        #[arg(long)]
        kms_key: Option<String>,
        /// Keep evidence in the local locker only.
        #[arg(long)]
        no_upload: bool,
        /// Do not run collected logs through ingest and detection.
        #[arg(long)]
        no_examine: bool,
    },
    /// Put a file into the locker as evidence of a case (recorded in its custody ledger).
    Add {
        case: CaseId,
        file: PathBuf,
        /// Where it came from (default: the file's path).
        #[arg(long)]
        source: Option<String>,
        #[arg(long, env = "FIREBREAK_ENDPOINT_URL")]
        endpoint_url: Option<String>,
        /// Also upload it to the plan's evidence bucket under Object Lock.
        #[arg(long)]
        upload: bool,
    },
    /// The case's custody ledger.
    List { case: CaseId },
    /// Check the ledger (chain, store witness, signatures against the IR plan's custody
    /// keys, the latest anchor in the evidence bucket) and every artifact's bytes; every
    /// problem names its entry. Exit status 1 when anything is wrong.
    Verify {
        case: CaseId,
        #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
        output: Output,
        /// Do not read the anchor from the evidence bucket (the report says it was not checked).
        #[arg(long)]
        offline: bool,
        #[arg(long, env = "FIREBREAK_ENDPOINT_URL")]
        endpoint_url: Option<String>,
    },
    /// Write the ledger's head (sequence, hash) to the IR plan's evidence bucket under Object
    /// Lock: the anchor `verify` compares the ledger with. `collect` and closing the case do
    /// it too.
    Anchor {
        case: CaseId,
        #[arg(long, env = "FIREBREAK_ENDPOINT_URL")]
        endpoint_url: Option<String>,
    },
    /// Write the custody report (Markdown or HTML), the JSON manifest and the ledger to a
    /// directory.
    Export {
        case: CaseId,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "md")]
        format: ReportFormat,
    },
    /// The same as `firebreak keygen`.
    #[command(hide = true)]
    Keygen { file: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Md,
    Html,
}

pub fn run(cmd: EvidenceCommand, args: &StoreArgs) -> Result<bool> {
    let settings = args.resolve()?;
    match cmd {
        EvidenceCommand::Keygen { file } => crate::keygen_cmd::run(&file).map(|()| true),
        EvidenceCommand::List { case } => {
            let app = open_app(settings, None)?;
            let c = CustodyLog::open(&app)?;
            let mut out = Printable(std::io::stdout().lock());
            let (entries, malformed) = c.locker.ledger(case)?;
            for m in &malformed {
                writeln!(out, "  line {}: MALFORMED: {}", m.line, m.message)?;
            }
            for e in entries {
                let a = e.body.artifact.as_ref();
                writeln!(
                    out,
                    "{:>4}  {}  {:<10} {:<18} {:<44} {}",
                    e.seq,
                    model::time::format_iso(e.body.at_ms),
                    e.body.actor,
                    e.body.action,
                    a.map_or(String::new(), |a| format!("{} ({} bytes)", a.name, a.size)),
                    e.body.location.as_deref().unwrap_or("")
                )?;
            }
            Ok(true)
        }
        EvidenceCommand::Anchor { case, endpoint_url } => {
            let store = Store::open(&settings.db)?;
            store.live_case(case)?;
            let app = open_app(settings, endpoint_url.as_deref())?;
            let c = CustodyLog::open(&app)?;
            match c.anchor(&app, case)? {
                Some(at) => println!("ledger head of case {case} anchored at {at}"),
                None => println!(
                    "nothing anchored: {}",
                    if app.settings.plan.is_none() {
                        "no IR plan names an evidence bucket"
                    } else {
                        "the case has no custody entry yet"
                    }
                ),
            }
            Ok(true)
        }
        EvidenceCommand::Verify {
            case,
            output,
            offline,
            endpoint_url,
        } => {
            let store = Store::open_read_only(&settings.db)?;
            let app = open_app(settings, endpoint_url.as_deref())?;
            let c = CustodyLog::open(&app)?;
            let anchor = app::evidence::latest_anchor(&app, case, offline);
            let (_, v) = c.verify(&store, case, anchor)?;
            if output == Output::Json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let mut out = Printable(std::io::stdout().lock());
                for p in &v.problems {
                    writeln!(out, "entry {}: {:?}: {}", p.seq, p.kind, p.message)?;
                }
                writeln!(out, "anchor: {}", describe_anchor(&v.anchor))?;
                writeln!(
                    out,
                    "{}: {} entries, {} artifacts, {} problem(s); head {}",
                    if v.ok() { "verified" } else { "NOT VERIFIED" },
                    v.entries,
                    v.artifacts,
                    v.problems.len(),
                    v.head.as_deref().unwrap_or("(empty)")
                )?;
            }
            Ok(v.ok())
        }
        EvidenceCommand::Export { case, out, format } => {
            let mut store = Store::open(&settings.db)?;
            let app = open_app(settings, None)?;
            let format = match format {
                ReportFormat::Md => app::evidence::ReportFormat::Markdown,
                ReportFormat::Html => app::evidence::ReportFormat::Html,
            };
            let done = app::evidence::export(&app, &mut store, case, &out, format)?;
            println!(
                "{} and manifest.json written to {} ({})",
                done.report,
                out.display(),
                if done.verified {
                    "verified"
                } else {
                    "NOT VERIFIED"
                }
            );
            Ok(done.verified)
        }
        EvidenceCommand::Add {
            case,
            file,
            source,
            endpoint_url,
            upload,
        } => {
            let mut store = Store::open(&settings.db)?;
            let app = open_app(settings, endpoint_url.as_deref())?;
            let (a, at) =
                app::evidence::add_file(&app, &mut store, case, &file, source.as_deref(), upload)?;
            let mut out = Printable(std::io::stdout().lock());
            match at {
                Some(at) => say!(out, "{} {} stored and uploaded to {at}", a.sha256, a.name)?,
                None => say!(out, "{} {} stored", a.sha256, a.name)?,
            }
            Ok(true)
        }
        EvidenceCommand::Collect {
            case,
            endpoint_url,
            memory,
            kms_key,
            no_upload,
            no_examine,
        } => {
            let mut store = Store::open(&settings.db)?;
            let app = open_app(settings, endpoint_url.as_deref())?;
            let opts = app::collect::CollectOptions {
                memory,
                kms_key,
                upload: !no_upload,
                examine: !no_examine,
            };
            let done = app::collect::collect(&app, &mut store, case, &opts)?;
            print_collected(&app, case, &opts, &done)?;
            Ok(done.ok())
        }
    }
}

/// What `evidence collect` did, for people. Ids and error text come from the case's
/// records and AWS: through the terminal layer.
fn print_collected(
    app: &app::App,
    case: CaseId,
    opts: &app::collect::CollectOptions,
    done: &Collected,
) -> Result<()> {
    let mut out = Printable(std::io::stdout().lock());
    say!(
        out,
        "Collected {} artifact(s) for case {case} into {} ({} uploaded under Object Lock)",
        done.stored,
        done.locker.display(),
        done.uploaded
    )?;
    if opts.upload && app.settings.plan.is_none() {
        say!(
            out,
            "  (no IR plan names an evidence bucket: the evidence is in the local locker only)"
        )?;
    }
    for (what, why) in &done.failures {
        say!(out, "  not collected: {what}: {why}")?;
    }
    for (name, why) in &done.upload_failures {
        say!(out, "  NOT UPLOADED: {name}: {why}")?;
    }
    if let Some((n, run)) = &done.examined {
        say!(
            out,
            "Examined {n} log artifact(s): {} new alert(s), {} already known, {} event(s) added to timelines",
            run.hunt.alerts_new,
            run.hunt.alerts_known,
            run.timeline_added
        )?;
    }
    let made = match &done.evidence_plan {
        EvidencePlan::NotNeeded => None,
        EvidencePlan::AwaitingApproval(m) | EvidencePlan::Incomplete(m) => Some(&**m),
        EvidencePlan::Ran(ran) => Some(&ran.0),
    };
    if let Some(made) = made {
        let id = made.id;
        say!(
            out,
            "\nSnapshots{} change AWS: they are response plan {id} (evidence only; {}):",
            if opts.memory { " and memory" } else { "" },
            made.plan.approval.describe()
        )?;
        for d in made.dry.iter().flatten() {
            for call in &d.calls {
                say!(out, "  → {call}")?;
            }
        }
        match &done.evidence_plan {
            EvidencePlan::Incomplete(_) => say!(
                out,
                "  plan {id} is INCOMPLETE ({}): plan again once AWS can be read",
                made.plan.incomplete.join("; ")
            )?,
            EvidencePlan::AwaitingApproval(_) => say!(
                out,
                "  approve it (firebreak respond approve {case} --plan {id}), then run it (firebreak respond run {case} --plan {id})"
            )?,
            EvidencePlan::Ran(ran) => {
                let ran = &ran.1;
                say!(
                    out,
                    "  pre-approved by the IR plan's level for evidence plans (recorded as an approval): running it"
                )?;
                for n in &ran.notes {
                    eprintln!("{}", neutral::terminal::Field(n));
                }
                crate::respond_cmd::print_report(&mut out, &ran.report)?;
            }
            EvidencePlan::NotNeeded => {}
        }
    }
    match &done.anchor {
        Some(Ok(at)) => say!(out, "Custody ledger head anchored at {at}")?,
        Some(Err(e)) => say!(
            out,
            "  NOT ANCHORED: the ledger head could not be written to the evidence bucket: {e}"
        )?,
        None => {}
    }
    say!(
        out,
        "Next: firebreak evidence verify {case}    firebreak evidence export {case} --out custody-{case}/"
    )?;
    Ok(())
}

/// One line on the anchor, for people.
pub fn describe_anchor(a: &custody::AnchorCheck) -> String {
    use custody::AnchorCheck::*;
    match a {
        NotConfigured => {
            "none: no IR plan names an evidence bucket, so the ledger is anchored only on this host"
                .into()
        }
        NotChecked(why) => format!("NOT CHECKED ({why})"),
        None => {
            "NONE in the evidence bucket yet (firebreak evidence anchor CASE writes one)".into()
        }
        Holds { seq, location } => format!("entry {seq} matches the anchor at {location}"),
        Mismatch { seq, location } => {
            format!("MISMATCH: the anchor at {location} (entry {seq}) disagrees with this ledger")
        }
    }
}
