//! `firebreak evidence …`: the evidence locker and chain of custody of a case: collect from
//! AWS, add files, verify, export the custody report; `keygen` for the signing key.

use crate::settings::{Settings, StoreArgs, now_ms};
use crate::terminal::Printable;
use anyhow::{Context, Result, bail};
use case::CaseId;
use clap::{Subcommand, ValueEnum};
use custody::{Artifact, Draft, Entry};
use locker::Locker;
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
    /// Check the ledger (chain, store witness, signatures) and every artifact's bytes; every
    /// problem names its entry. Exit status 1 when anything is wrong.
    Verify {
        case: CaseId,
        /// `text` or `json`.
        #[arg(long, short = 'o', default_value = "text")]
        output: String,
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

/// The locker, the signing key and the trusted key, as configured.
pub struct Custody {
    pub locker: Locker,
    key: Option<ed25519_dalek::SigningKey>,
    trusted: Option<ed25519_dalek::VerifyingKey>,
}

impl Custody {
    pub fn open(settings: &Settings) -> Result<Custody> {
        let root = settings
            .evidence
            .locker
            .clone()
            .unwrap_or_else(|| PathBuf::from("evidence"));
        let locker = Locker::open(&root)?;
        let key = match &settings.evidence.signing_key_file {
            Some(f) => {
                let seed = std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read signing key {}", f.display()))?;
                Some(custody::signing_key(&seed).with_context(|| f.display().to_string())?)
            }
            None => None,
        };
        let trusted = settings
            .evidence
            .public_key
            .as_deref()
            .map(custody::verifying_key)
            .transpose()?;
        Ok(Custody {
            locker,
            key,
            trusted,
        })
    }

    /// Chains `draft` onto the case's ledger, appends it, and has the store witness it.
    pub fn record(&self, store: &mut Store, draft: Draft) -> Result<Entry> {
        let case = draft.case_id;
        let ledger = self.locker.ledger(case)?;
        let entry = custody::chain(ledger.last(), draft, self.key.as_ref());
        self.locker.append(case, &entry)?;
        store.witness_custody(case, entry.seq, &entry.hash, now_ms())?;
        Ok(entry)
    }

    pub fn verify(
        &self,
        store: &Store,
        case: CaseId,
    ) -> Result<(Vec<Entry>, custody::Verification)> {
        let entries = self.locker.ledger(case)?;
        let witness = store.custody_witness(case)?;
        let v = custody::verify(case, &entries, &witness, self.trusted.as_ref(), |a| {
            self.locker.check(a)
        });
        Ok((entries, v))
    }
}

pub(crate) fn draft(
    case: CaseId,
    actor: &str,
    action: &str,
    artifact: Option<Artifact>,
    location: Option<String>,
    detail: serde_json::Value,
) -> Draft {
    Draft {
        case_id: case,
        at_ms: now_ms(),
        actor: actor.to_string(),
        action: action.to_string(),
        artifact,
        location,
        detail,
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The connection acting in `account`: the plan's responder role, else the caller.
pub(crate) async fn connection(
    settings: &Settings,
    endpoint: Option<&str>,
    account: &str,
) -> Result<aws::Connection> {
    let base = aws::Connection::from_environment(endpoint, None).await;
    Ok(match &settings.plan {
        Some(p) => {
            let arn = p.plan.aws.responder_role_arn(account);
            base.assume(
                &arn,
                p.plan.aws.external_id.as_deref(),
                "firebreak-evidence",
            )
            .await?
        }
        None => base,
    })
}

/// Uploads an artifact to the plan's evidence bucket (forensic account, Object Lock with the
/// plan's mode and retention); the ledger records where.
pub(crate) async fn upload(
    settings: &Settings,
    endpoint: Option<&str>,
    case: CaseId,
    a: &Artifact,
    bytes: &[u8],
) -> Result<String> {
    let Some(p) = &settings.plan else {
        bail!("uploading needs an IR plan naming the evidence bucket ([forensics])")
    };
    let fx = &p.plan.forensics;
    let conn = connection(settings, endpoint, &fx.account.value).await?;
    let lock = aws::forensics::Lock {
        mode: fx.object_lock_mode.value.clone(),
        retain_until_ms: now_ms() + i64::from(fx.retention_days.value) * 86_400_000,
    };
    let key = format!("cases/{case}/{}/{}", a.sha256, a.name.replace('/', "_"));
    Ok(aws::forensics::upload(
        &conn,
        &fx.region.value,
        &fx.evidence_bucket.value,
        &key,
        bytes,
        &a.sha256,
        &lock,
    )
    .await?)
}

pub fn run(cmd: EvidenceCommand, args: &StoreArgs) -> Result<bool> {
    let settings = args.resolve()?;
    match cmd {
        EvidenceCommand::Keygen { file } => crate::keygen_cmd::run(&file).map(|()| true),
        EvidenceCommand::List { case } => {
            let c = Custody::open(&settings)?;
            let mut out = Printable(std::io::stdout().lock());
            for e in c.locker.ledger(case)? {
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
        EvidenceCommand::Verify { case, output } => {
            let store = Store::open_read_only(&settings.db)?;
            let c = Custody::open(&settings)?;
            let (_, v) = c.verify(&store, case)?;
            if output == "json" {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let mut out = Printable(std::io::stdout().lock());
                for p in &v.problems {
                    writeln!(out, "entry {}: {:?}: {}", p.seq, p.kind, p.message)?;
                }
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
            let c = Custody::open(&settings)?;
            let (entries, v) = c.verify(&store, case)?;
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let now = now_ms();
            let (name, text) = match format {
                ReportFormat::Md => (
                    "custody-report.md",
                    custody::report::markdown(case, &entries, &v, now),
                ),
                ReportFormat::Html => (
                    "custody-report.html",
                    custody::report::html(case, &entries, &v, now),
                ),
            };
            let manifest =
                serde_json::to_string_pretty(&custody::report::manifest(case, &entries, &v, now))?;
            std::fs::write(out.join(name), &text)?;
            std::fs::write(out.join("manifest.json"), &manifest)?;
            std::fs::copy(c.locker.ledger_path(case), out.join("custody.jsonl"))
                .context("copying the ledger")?;
            c.record(
                &mut store,
                draft(case, &settings.actor, "exported", None, Some(out.display().to_string()),
                      serde_json::json!({"report": name, "manifest_sha256": custody::sha256_hex(manifest.as_bytes()), "verified": v.ok()})),
            )?;
            println!(
                "{} and manifest.json written to {} ({})",
                name,
                out.display(),
                if v.ok() { "verified" } else { "NOT VERIFIED" }
            );
            Ok(v.ok())
        }
        EvidenceCommand::Add {
            case,
            file,
            source,
            endpoint_url,
            upload: up,
        } => {
            let mut store = Store::open(&settings.db)?;
            store.live_case(case)?;
            let c = Custody::open(&settings)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let name = file
                .file_name()
                .map_or("artifact".into(), |n| n.to_string_lossy().into_owned());
            let a = c.locker.put(
                &bytes,
                &name,
                source.as_deref().unwrap_or(&file.display().to_string()),
            )?;
            c.record(
                &mut store,
                draft(
                    case,
                    &settings.actor,
                    "collected",
                    Some(a.clone()),
                    Some(c.locker.location(&a.sha256)),
                    serde_json::Value::Null,
                ),
            )?;
            if up {
                let at = runtime()?.block_on(upload(
                    &settings,
                    endpoint_url.as_deref(),
                    case,
                    &a,
                    &bytes,
                ))?;
                c.record(
                    &mut store,
                    draft(
                        case,
                        &settings.actor,
                        "uploaded",
                        Some(a.clone()),
                        Some(at.clone()),
                        serde_json::Value::Null,
                    ),
                )?;
                println!("{} {} stored and uploaded to {at}", a.sha256, a.name);
            } else {
                println!("{} {} stored", a.sha256, a.name);
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
        } => crate::collect::run(
            &settings,
            case,
            endpoint_url.as_deref(),
            memory,
            kms_key,
            !no_upload,
            !no_examine,
        ),
    }
}
