//! The settings a use case runs with, resolved by the binary (flags, environment,
//! `firebreak.toml`) before it calls in: where the store and the locker are, who is acting,
//! how cases group, which IR plan applies, which keys sign.

use crate::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Settings {
    pub db: PathBuf,
    /// Who is acting, for the audit log and the custody ledger.
    pub actor: String,
    pub grouping: case::GroupingConfig,
    /// The IR plan, when one is configured.
    pub plan: Option<LoadedPlan>,
    pub evidence: EvidenceSettings,
    pub approval: ApprovalSettings,
    /// The timeline pass reads and examines every record (no prefilter, time gate or memo),
    /// so tests can prove those shortcuts change nothing.
    pub exhaustive_timeline: bool,
}

/// A parsed IR plan and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedPlan {
    pub path: PathBuf,
    pub plan: plan::IrPlan,
    /// SHA-256 of the file's text (what a response plan's pinned approval rule names).
    pub digest: signing::Sha256Digest,
}

/// How this person signs approvals of response plans (`[approval]` in `firebreak.toml`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSettings {
    /// A file holding this person's Ed25519 approval seed (from `firebreak keygen`).
    pub key_file: Option<PathBuf>,
}

/// Where evidence is kept and how the custody ledger is signed (`[evidence]`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceSettings {
    /// The local locker (default `./evidence`).
    pub locker: Option<PathBuf>,
    /// A file holding the Ed25519 signing seed (64 hex digits); entries are signed with it.
    pub signing_key_file: Option<PathBuf>,
    /// The public key (hex) custody entries must be signed with to verify.
    pub public_key: Option<String>,
}

impl EvidenceSettings {
    /// The local locker's folder (`./evidence` unless configured).
    pub fn locker_root(&self) -> PathBuf {
        self.locker
            .clone()
            .unwrap_or_else(|| PathBuf::from("evidence"))
    }
}

impl Settings {
    /// The severity policy cases follow: the plan's levels, else the built-in matrix.
    pub fn policy(&self) -> Box<dyn case::SeverityPolicy + '_> {
        match &self.plan {
            Some(p) => Box::new(plan::PlanPolicy::new(&p.plan)),
            None => Box::new(case::DefaultMatrix),
        }
    }

    /// The response settings the IR plan gives (or the defaults without one).
    pub fn response(&self) -> playbook::Settings {
        match &self.plan {
            Some(p) => {
                let aws = &p.plan.aws;
                playbook::Settings {
                    responder_role: Some(aws.responder_role.value.clone()),
                    external_id: aws.external_id.clone(),
                    isolation_group: aws.isolation_security_group.clone(),
                    management_account: aws.management_account.as_ref().map(|m| m.value.clone()),
                    evidence_bucket: Some(p.plan.forensics.evidence_bucket.value.clone()),
                    forensic_account: Some(p.plan.forensics.account.value.clone()),
                    kms_key: None,
                }
            }
            None => playbook::Settings::default(),
        }
    }
}

/// Reads and parses an IR plan file (TOML, or YAML by extension).
pub fn read_plan(path: &Path) -> Result<LoadedPlan> {
    let text = std::fs::read_to_string(path).map_err(Error::io("read plan", path))?;
    let name = path.display().to_string();
    let plan = plan::parse(&text, &name, plan::Format::from_path(&name))?;
    Ok(LoadedPlan {
        path: path.to_path_buf(),
        plan,
        digest: signing::Sha256Digest::of(text.as_bytes()),
    })
}
