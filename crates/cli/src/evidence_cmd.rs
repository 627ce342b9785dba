//! `firebreak evidence …`: the evidence locker and chain of custody of a case: collect from
//! AWS, add files, verify, export the custody report; `keygen` for the signing key.

use crate::settings::{Settings, StoreArgs, now_ms};
use anyhow::{Context, Result, bail};
use case::CaseId;
use clap::{Subcommand, ValueEnum};
use custody::{Artifact, Draft, Entry};
use locker::Locker;
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
        /// `text` or `json`.
        #[arg(long, short = 'o', default_value = "text")]
        output: String,
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

/// The locker, the signing key and the keys custody is checked against, as configured.
pub struct Custody {
    pub locker: Locker,
    key: Option<ed25519_dalek::SigningKey>,
    trust: custody::Trust,
    faults: crate::faults::Faults,
}

impl Custody {
    pub fn open(settings: &Settings) -> Result<Custody> {
        let root = settings
            .evidence
            .locker
            .clone()
            .unwrap_or_else(|| PathBuf::from("evidence"));
        let locker = Locker::open(&root)?;
        let key = settings
            .evidence
            .signing_key_file
            .as_deref()
            .map(crate::keygen_cmd::read)
            .transpose()?;
        // The keys the IR plan lists (and, from firebreak.toml, `[evidence] public_key`):
        // never the key an entry names for itself.
        let mut trust = custody::Trust::default();
        if let Some(p) = &settings.plan {
            for k in &p.plan.forensics.custody_keys {
                trust
                    .keys
                    .push(custody::verifying_key(&k.value).with_context(|| {
                        format!("{}: forensics.custody_keys", p.path.display())
                    })?);
            }
            trust.required = p.plan.forensics.custody_signing_required();
        }
        if let Some(k) = settings.evidence.public_key.as_deref() {
            // A key configured to verify with means entries are expected to be signed.
            trust
                .keys
                .push(custody::verifying_key(k).context("[evidence] public_key")?);
            trust.required = true;
        }
        Ok(Custody {
            locker,
            key,
            trust,
            faults: crate::faults::Faults::from_environment()?,
        })
    }

    /// Chains `draft` onto the case's ledger, under the ledger's writer lock: announced to
    /// the store, appended to the file, then witnessed. An entry left appended but not
    /// witnessed by an interrupted writer is repaired first (witnessed, and the repair
    /// recorded as an entry of its own); an entry nobody announced stops every write.
    pub fn record(&self, store: &mut Store, draft: Draft) -> Result<Entry> {
        let case = draft.case_id;
        let _lock = self.locker.lock(case)?;
        let (entries, malformed) = self.locker.ledger(case)?;
        if let Some(m) = malformed.first() {
            bail!(
                "the custody ledger of case {case} has {} malformed line(s) (line {}: {}): nothing more is recorded until `firebreak evidence verify {case}` is resolved",
                malformed.len(),
                m.line,
                m.message
            );
        }
        let mut last = self.repair(store, case, &entries)?;
        if let Some(repaired) = last.take() {
            let d = draft_at(
                case,
                &draft.actor,
                "witness-repaired",
                serde_json::json!({"seq": repaired.seq, "hash": repaired.hash,
                    "why": "appended by a writer interrupted before the store witnessed it"}),
            );
            last = Some(self.append(store, Some(&repaired), d)?);
        }
        let last = last.or_else(|| entries.last().cloned());
        self.append(store, last.as_ref(), draft)
    }

    fn append(&self, store: &mut Store, last: Option<&Entry>, draft: Draft) -> Result<Entry> {
        let case = draft.case_id;
        let entry = custody::chain(last, draft, self.key.as_ref());
        store.announce_custody(case, entry.seq, &entry.hash, now_ms())?;
        self.locker.append(case, &entry)?;
        self.faults.reached(crate::faults::Point::CustodyAppended);
        store.witness_custody(case, entry.seq, &entry.hash, now_ms())?;
        Ok(entry)
    }

    /// Compares the ledger with the store's witness before a write: returns the entry it
    /// witnessed now if the last one was left by an interrupted writer; fails on anything
    /// that is not that.
    fn repair(&self, store: &mut Store, case: CaseId, entries: &[Entry]) -> Result<Option<Entry>> {
        let witness = store.custody_witness(case)?;
        if entries.len() < witness.len() {
            bail!(
                "the custody ledger of case {case} has {} entries but the store witnessed {}: it was cut short (firebreak evidence verify {case})",
                entries.len(),
                witness.len()
            );
        }
        let extra = &entries[witness.len()..];
        let Some(last) = extra.first() else {
            return Ok(None);
        };
        let pending = store.custody_pending(case)?;
        let chained = match witness.last() {
            Some((_, h)) => &last.prev == h,
            None => last.prev == custody::GENESIS,
        };
        let announced = pending
            .iter()
            .any(|(s, h)| *s == last.seq && *h == last.hash);
        if extra.len() == 1
            && chained
            && announced
            && last.seq == witness.len() as u64 + 1
            && last.computed_hash() == last.hash
        {
            store.witness_custody(case, last.seq, &last.hash, now_ms())?;
            return Ok(Some(last.clone()));
        }
        bail!(
            "the custody ledger of case {case} has entry {} that the store never witnessed and no writer announced: possible tampering; nothing more is recorded until `firebreak evidence verify {case}` is resolved",
            last.seq
        )
    }

    /// Verifies the ledger; `anchor` is what is known of its latest anchor outside the host.
    pub fn verify(
        &self,
        store: &Store,
        case: CaseId,
        anchor: Result<Option<(custody::Anchor, String)>, custody::AnchorCheck>,
    ) -> Result<(Vec<Entry>, custody::Verification)> {
        let (entries, malformed) = self.locker.ledger(case)?;
        let witness = store.custody_witness(case)?;
        let pending = store.custody_pending(case)?;
        let v = custody::verify(
            case,
            &entries,
            &malformed,
            custody::Against {
                witness: &witness,
                pending: &pending,
                trust: &self.trust,
                anchor,
            },
            |a| self.locker.check(a),
        );
        Ok((entries, v))
    }

    /// Writes the ledger head to the IR plan's evidence bucket under Object Lock: the anchor
    /// `verify` compares a ledger with, which nobody on this host can rewrite.
    pub fn anchor(
        &self,
        settings: &Settings,
        endpoint: Option<&str>,
        case: CaseId,
    ) -> Result<Option<String>> {
        let Some(p) = &settings.plan else {
            return Ok(None);
        };
        let (entries, _) = self.locker.ledger(case)?;
        let Some(head) = entries.last() else {
            return Ok(None);
        };
        let anchor = custody::Anchor {
            case_id: case,
            seq: head.seq,
            hash: head.hash.clone(),
            at_ms: now_ms(),
        };
        let bytes = serde_json::to_vec(&anchor)?;
        let fx = &p.plan.forensics;
        let key = format!(
            "{}{:012}-{}.json",
            aws::forensics::anchor_prefix(case),
            head.seq,
            head.hash
        );
        let rt = runtime()?;
        let at = rt.block_on(async {
            let conn = connection(settings, endpoint, &fx.account.value).await?;
            let lock = lock_of(settings);
            anyhow::Ok(
                aws::forensics::upload(
                    &conn,
                    &fx.region.value,
                    &fx.evidence_bucket.value,
                    &key,
                    aws::forensics::Body::Bytes(&bytes),
                    &custody::sha256_hex(&bytes),
                    &lock,
                )
                .await?,
            )
        })?;
        Ok(Some(at))
    }
}

/// The latest anchor of a case's ledger in the evidence bucket, or why it is not known.
pub(crate) fn latest_anchor(
    settings: &Settings,
    endpoint: Option<&str>,
    case: CaseId,
    offline: bool,
) -> Result<Option<(custody::Anchor, String)>, custody::AnchorCheck> {
    use custody::AnchorCheck;
    let Some(p) = &settings.plan else {
        return Err(AnchorCheck::NotConfigured);
    };
    if offline {
        return Err(AnchorCheck::NotChecked("--offline".into()));
    }
    let fx = &p.plan.forensics;
    let found = runtime()
        .map_err(|e| AnchorCheck::NotChecked(e.to_string()))?
        .block_on(async {
            let conn = connection(settings, endpoint, &fx.account.value).await?;
            anyhow::Ok(
                aws::forensics::latest_anchor(
                    &conn,
                    &fx.region.value,
                    &fx.evidence_bucket.value,
                    case,
                )
                .await?,
            )
        })
        .map_err(|e| AnchorCheck::NotChecked(format!("{e:#}")))?;
    match found {
        None => Ok(None),
        Some((location, bytes)) => serde_json::from_slice(&bytes)
            .map(|a| Some((a, location.clone())))
            .map_err(|e| AnchorCheck::NotChecked(format!("{location} is not an anchor: {e}"))),
    }
}

fn lock_of(settings: &Settings) -> aws::forensics::Lock {
    let fx = &settings.plan.as_ref().expect("a plan").plan.forensics;
    aws::forensics::Lock {
        mode: fx.object_lock_mode.value.clone(),
        retain_until_ms: now_ms() + i64::from(fx.retention_days.value) * 86_400_000,
    }
}

fn draft_at(case: CaseId, actor: &str, action: &str, detail: serde_json::Value) -> Draft {
    draft(case, actor, action, None, None, detail)
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
    body: aws::forensics::Body<'_>,
) -> Result<String> {
    let Some(p) = &settings.plan else {
        bail!("uploading needs an IR plan naming the evidence bucket ([forensics])")
    };
    let fx = &p.plan.forensics;
    let conn = connection(settings, endpoint, &fx.account.value).await?;
    let lock = lock_of(settings);
    let key = format!("cases/{case}/{}/{}", a.sha256, a.name.replace('/', "_"));
    Ok(aws::forensics::upload(
        &conn,
        &fx.region.value,
        &fx.evidence_bucket.value,
        &key,
        body,
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
            let c = Custody::open(&settings)?;
            match c.anchor(&settings, endpoint_url.as_deref(), case)? {
                Some(at) => println!("ledger head of case {case} anchored at {at}"),
                None => println!(
                    "nothing anchored: {}",
                    if settings.plan.is_none() {
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
            let c = Custody::open(&settings)?;
            let anchor = latest_anchor(&settings, endpoint_url.as_deref(), case, offline);
            let (_, v) = c.verify(&store, case, anchor)?;
            if output == "json" {
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
            let c = Custody::open(&settings)?;
            let (entries, v) = c.verify(
                &store,
                case,
                Err(custody::AnchorCheck::NotChecked(
                    "not read for the export: run evidence verify".into(),
                )),
            )?;
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
            let name = file
                .file_name()
                .map_or("artifact".into(), |n| n.to_string_lossy().into_owned());
            // Streamed into the locker, hashed while copied: memory stays flat for any size.
            let a = c.locker.put_file(
                &file,
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
                    aws::forensics::Body::File(&c.locker.object_path(&a.sha256)?),
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

/// One line on the anchor, for people.
pub(crate) fn describe_anchor(a: &custody::AnchorCheck) -> String {
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
