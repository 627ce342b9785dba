//! Custody recording: every change to a case's evidence is chained onto its ledger under
//! the ledger's writer lock, announced to the store, appended to the file, then witnessed;
//! verification, anchors in the evidence bucket and uploads under Object Lock.

use crate::error::LedgerRefusal;
use crate::ports::{Clock, FaultPoint, FaultProbe};
use crate::{App, Result, Settings};
use case::CaseId;
use custody::{Action, Artifact, Draft, Entry};
use locker::Locker;
use std::sync::Arc;
use store::Store;

/// The locker, the signing key and the keys custody is checked against, as configured.
pub struct CustodyLog {
    pub locker: Locker,
    key: Option<signing::SigningKey>,
    trust: custody::Trust,
    clock: Arc<dyn Clock>,
    faults: Arc<dyn FaultProbe>,
}

impl CustodyLog {
    pub fn open(app: &App) -> Result<CustodyLog> {
        let settings = &app.settings;
        let root = settings.evidence.locker_root();
        let locker = Locker::open(&root)?;
        let key = settings
            .evidence
            .signing_key_file
            .as_deref()
            .map(|f| app.ports.keys.signing_key(f))
            .transpose()?;
        // The keys the IR plan lists (and, from firebreak.toml, `[evidence] public_key`):
        // never the key an entry names for itself.
        let mut trust = custody::Trust::default();
        if let Some(p) = &settings.plan {
            for k in &p.plan.forensics.custody_keys {
                trust
                    .keys
                    .push(custody::verifying_key(&k.value).map_err(|source| {
                        crate::Error::TrustedKey {
                            context: format!("{}: forensics.custody_keys", p.path.display()),
                            source,
                        }
                    })?);
            }
            trust.required = p.plan.forensics.custody_signing_required();
        }
        if let Some(k) = settings.evidence.public_key.as_deref() {
            // A key configured to verify with means entries are expected to be signed.
            trust.keys.push(custody::verifying_key(k).map_err(|source| {
                crate::Error::TrustedKey {
                    context: "[evidence] public_key".into(),
                    source,
                }
            })?);
            trust.required = true;
        }
        Ok(CustodyLog {
            locker,
            key,
            trust,
            clock: app.ports.clock.clone(),
            faults: app.ports.faults.clone(),
        })
    }

    /// A draft entry made now.
    pub fn draft(
        &self,
        case: CaseId,
        actor: &str,
        action: Action,
        artifact: Option<Artifact>,
        location: Option<String>,
        detail: serde_json::Value,
    ) -> Draft {
        Draft {
            case_id: case,
            at_ms: self.clock.now_ms(),
            actor: actor.to_string(),
            action: action.name().to_string(),
            artifact,
            location,
            detail,
        }
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
            return Err(LedgerRefusal::Malformed {
                case,
                count: malformed.len(),
                line: m.line,
                message: m.message.clone(),
            }
            .into());
        }
        let mut last = self.repair(store, case, &entries)?;
        if let Some(repaired) = last.take() {
            let d = self.draft(
                case,
                &draft.actor,
                Action::WitnessRepaired,
                None,
                None,
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
        store.announce_custody(case, entry.seq, &entry.hash, self.clock.now_ms())?;
        self.locker.append(case, &entry)?;
        self.faults.reached(FaultPoint::CustodyAppended);
        store.witness_custody(case, entry.seq, &entry.hash, self.clock.now_ms())?;
        Ok(entry)
    }

    /// Compares the ledger with the store's witness before a write: returns the entry it
    /// witnessed now if the last one was left by an interrupted writer; fails on anything
    /// that is not that.
    fn repair(&self, store: &mut Store, case: CaseId, entries: &[Entry]) -> Result<Option<Entry>> {
        let witness = store.custody_witness(case)?;
        if entries.len() < witness.len() {
            return Err(LedgerRefusal::CutShort {
                case,
                entries: entries.len(),
                witnessed: witness.len(),
            }
            .into());
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
            store.witness_custody(case, last.seq, &last.hash, self.clock.now_ms())?;
            return Ok(Some(last.clone()));
        }
        Err(LedgerRefusal::Unannounced {
            case,
            seq: last.seq,
        }
        .into())
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
    /// `verify` compares a ledger with, which nobody on this host can rewrite. `None`: no
    /// plan names a bucket, or the ledger is empty.
    pub fn anchor(&self, app: &App, case: CaseId) -> Result<Option<String>> {
        let Some(p) = &app.settings.plan else {
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
            at_ms: self.clock.now_ms(),
        };
        let bytes = serde_json::to_vec(&anchor)?;
        let fx = &p.plan.forensics;
        let key = format!(
            "{}{:012}-{}.json",
            aws::forensics::anchor_prefix(case),
            head.seq,
            head.hash
        );
        let at = app.runtime()?.block_on(async {
            let conn = connection(app, &fx.account.value).await?;
            let lock = lock_of(&app.settings, self.clock.now_ms());
            Ok::<_, crate::Error>(
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
pub fn latest_anchor(
    app: &App,
    case: CaseId,
    offline: bool,
) -> Result<Option<(custody::Anchor, String)>, custody::AnchorCheck> {
    use custody::AnchorCheck;
    let Some(p) = &app.settings.plan else {
        return Err(AnchorCheck::NotConfigured);
    };
    if offline {
        return Err(AnchorCheck::NotChecked("--offline".into()));
    }
    let fx = &p.plan.forensics;
    let found = app
        .runtime()
        .map_err(|e| AnchorCheck::NotChecked(e.to_string()))?
        .block_on(async {
            let conn = connection(app, &fx.account.value).await?;
            Ok::<_, crate::Error>(
                aws::forensics::latest_anchor(
                    &conn,
                    &fx.region.value,
                    &fx.evidence_bucket.value,
                    case,
                )
                .await?,
            )
        })
        .map_err(|e| AnchorCheck::NotChecked(e.to_string()))?;
    match found {
        None => Ok(None),
        Some((location, bytes)) => serde_json::from_slice(&bytes)
            .map(|a| Some((a, location.clone())))
            .map_err(|e| AnchorCheck::NotChecked(format!("{location} is not an anchor: {e}"))),
    }
}

/// The Object Lock an upload made at `now_ms` carries: the plan's mode and retention.
fn lock_of(settings: &Settings, now_ms: i64) -> aws::forensics::Lock {
    let fx = &settings.plan.as_ref().expect("a plan").plan.forensics;
    aws::forensics::Lock {
        mode: fx.object_lock_mode.value.clone(),
        retain_until_ms: now_ms + i64::from(fx.retention_days.value) * 86_400_000,
    }
}

/// The connection acting in `account`: the plan's responder role, else the caller.
pub async fn connection(app: &App, account: &str) -> Result<aws::Connection> {
    let base = app.ports.aws.caller(None).await;
    Ok(match &app.settings.plan {
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
pub async fn upload(
    app: &App,
    case: CaseId,
    a: &Artifact,
    body: aws::forensics::Body<'_>,
) -> Result<String> {
    let Some(p) = &app.settings.plan else {
        return Err(LedgerRefusal::NoEvidenceBucket.into());
    };
    let fx = &p.plan.forensics;
    let conn = connection(app, &fx.account.value).await?;
    let lock = lock_of(&app.settings, app.now_ms());
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

/// Puts a file into the locker as evidence of a live case and records it; with `upload`,
/// also into the evidence bucket (recorded too). Returns the artifact and where it was
/// uploaded.
pub fn add_file(
    app: &App,
    store: &mut Store,
    case: CaseId,
    file: &std::path::Path,
    source: Option<&str>,
    upload_it: bool,
) -> Result<(Artifact, Option<String>)> {
    store.live_case(case)?;
    let c = CustodyLog::open(app)?;
    let name = file
        .file_name()
        .map_or("artifact".into(), |n| n.to_string_lossy().into_owned());
    // Streamed into the locker, hashed while copied: memory stays flat for any size.
    let a = c
        .locker
        .put_file(file, &name, source.unwrap_or(&file.display().to_string()))?;
    let actor = &app.settings.actor;
    c.record(
        store,
        c.draft(
            case,
            actor,
            Action::Collected,
            Some(a.clone()),
            Some(c.locker.location(&a.sha256)),
            serde_json::Value::Null,
        ),
    )?;
    if !upload_it {
        return Ok((a, None));
    }
    let at = app.runtime()?.block_on(upload(
        app,
        case,
        &a,
        aws::forensics::Body::File(&c.locker.object_path(&a.sha256)?),
    ))?;
    c.record(
        store,
        c.draft(
            case,
            actor,
            Action::Uploaded,
            Some(a.clone()),
            Some(at.clone()),
            serde_json::Value::Null,
        ),
    )?;
    Ok((a, Some(at)))
}

/// The custody report (Markdown or HTML), the JSON manifest and the ledger, as written to a
/// directory by [`export`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Html,
}

/// What [`export`] wrote.
pub struct Exported {
    /// The report's file name.
    pub report: &'static str,
    pub verified: bool,
}

/// Writes the custody report, `manifest.json` and `custody.jsonl` to `out`, and records the
/// export in the ledger.
pub fn export(
    app: &App,
    store: &mut Store,
    case: CaseId,
    out: &std::path::Path,
    format: ReportFormat,
) -> Result<Exported> {
    let c = CustodyLog::open(app)?;
    let (entries, v) = c.verify(
        store,
        case,
        Err(custody::AnchorCheck::NotChecked(
            "not read for the export: run evidence verify".into(),
        )),
    )?;
    let io = crate::Error::io;
    std::fs::create_dir_all(out).map_err(io("create", out))?;
    let now = app.now_ms();
    let (name, text) = match format {
        ReportFormat::Markdown => (
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
    let report_path = out.join(name);
    std::fs::write(&report_path, &text).map_err(io("write", &report_path))?;
    let manifest_path = out.join("manifest.json");
    std::fs::write(&manifest_path, &manifest).map_err(io("write", &manifest_path))?;
    let ledger = c.locker.ledger_path(case);
    std::fs::copy(&ledger, out.join("custody.jsonl")).map_err(io("copy the ledger", &ledger))?;
    c.record(
        store,
        c.draft(
            case,
            &app.settings.actor,
            Action::Exported,
            None,
            Some(out.display().to_string()),
            serde_json::json!({"report": name, "manifest_sha256": custody::sha256_hex(manifest.as_bytes()), "verified": v.ok()}),
        ),
    )?;
    Ok(Exported {
        report: name,
        verified: v.ok(),
    })
}
