//! What a use case can fail with: each adapter's error, and the refusals of the use cases
//! themselves, each naming the case, plan or entry it is about.

use case::CaseId;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot record cases in {}: {source}", db.display())]
    RecordCases {
        db: PathBuf,
        source: store::StoreError,
    },
    #[error(transparent)]
    Locker(#[from] locker::LockerError),
    #[error(transparent)]
    Aws(#[from] aws::AwsError),
    #[error(transparent)]
    Respond(#[from] aws::respond::RespondError),
    #[error(transparent)]
    Ingest(#[from] ingest::IngestError),
    #[error(transparent)]
    Playbook(#[from] playbook::PlanError),
    #[error(transparent)]
    Approval(#[from] playbook::approve::ApprovalError),
    #[error(transparent)]
    Custody(#[from] custody::CustodyError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot {doing} {}: {source}", path.display())]
    Io {
        /// What was being done: `read plan`, `read key`, `create`.
        doing: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Key {
        path: PathBuf,
        source: signing::KeyError,
    },
    #[error("{context}: {source}")]
    TrustedKey {
        context: String,
        source: custody::CustodyError,
    },
    #[error("{0}")]
    Plan(#[from] plan::PlanError),
    #[error("invalid playbook:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    InvalidPlaybook(Vec<playbook::SpecError>),
    #[error(transparent)]
    RuleSource(#[from] crate::rules::RuleSourceError),
    #[error("bundled rules failed to load: {0}")]
    BundledRules(String),
    #[error("alert at {0} carries no event context")]
    AlertWithoutContext(String),
    #[error(transparent)]
    Ledger(#[from] LedgerRefusal),
    #[error(transparent)]
    Response(#[from] ResponseRefusal),
    #[error(transparent)]
    Collection(#[from] CollectionRefusal),
    #[error("cannot write the export: {0}")]
    Export(String),
    #[error(transparent)]
    Identity(#[from] identity::IdentityError),
    #[error(transparent)]
    Access(#[from] crate::people::AccessRefusal),
    #[error(transparent)]
    NoPlan(#[from] crate::readiness::NoPlan),
    #[error(transparent)]
    GameDay(#[from] crate::gameday::GameDayRefusal),
    #[error(transparent)]
    Review(#[from] crate::report::ReviewRefusal),
}

impl Error {
    /// Names what was being done to `path` when an I/O error came: `map_err(Error::io("read
    /// key", path))`.
    pub(crate) fn io(
        doing: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = path.to_path_buf();
        move |source| Error::Io {
            doing,
            path,
            source,
        }
    }
}

/// Why nothing more is written to a custody ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerRefusal {
    #[error(
        "the custody ledger of case {case} has {count} malformed line(s) (line {line}: {message}): nothing more is recorded until `firebreak evidence verify {case}` is resolved"
    )]
    Malformed {
        case: CaseId,
        count: usize,
        line: usize,
        message: String,
    },
    #[error(
        "the custody ledger of case {case} has {entries} entries but the store witnessed {witnessed}: it was cut short (firebreak evidence verify {case})"
    )]
    CutShort {
        case: CaseId,
        entries: usize,
        witnessed: usize,
    },
    #[error(
        "the custody ledger of case {case} has entry {seq} that the store never witnessed and no writer announced: possible tampering; nothing more is recorded until `firebreak evidence verify {case}` is resolved"
    )]
    Unannounced { case: CaseId, seq: u64 },
    #[error("uploading needs an IR plan naming the evidence bucket ([forensics])")]
    NoEvidenceBucket,
}

/// Why a response plan cannot be made, approved or run.
#[derive(Debug, thiserror::Error)]
pub enum ResponseRefusal {
    #[error(
        "no playbook is mapped to this case's detections: name one with --playbook (firebreak respond playbooks lists them)"
    )]
    NoPlaybookMapped,
    #[error("the IR plan maps playbook {0}, which does not exist")]
    MappedPlaybookMissing(String),
    #[error("no playbook {0} (firebreak respond playbooks lists them)")]
    NoSuchPlaybook(String),
    #[error("plan {plan} belongs to case {owner}, not case {case}")]
    OtherCase {
        plan: store::ResponsePlanId,
        owner: CaseId,
        case: CaseId,
    },
    #[error("case {0} has no response plan: make one with firebreak respond plan {0}")]
    NoPlan(CaseId),
    #[error("stored plan {plan} is unreadable: {source}")]
    Unreadable {
        plan: store::ResponsePlanId,
        source: serde_json::Error,
    },
    #[error("stored plan {0} does not match its digest: it was altered after it was made")]
    Altered(store::ResponsePlanId),
    #[error(
        "approvals of plan {plan} must be signed: pass --key FILE (or set $FIREBREAK_APPROVAL_KEY or [approval] key_file) with the seed whose public key the IR plan lists for {actor}"
    )]
    SignatureRequired {
        plan: store::ResponsePlanId,
        actor: String,
    },
    #[error("plan {plan} cannot run: {pending} (firebreak respond approve {case} --plan {plan}){}",
        if ignored.is_empty() { String::new() } else { format!("; not counted: {}", ignored.join("; ")) })]
    NotApproved {
        plan: store::ResponsePlanId,
        case: CaseId,
        pending: String,
        ignored: Vec<String>,
    },
}

/// Why evidence cannot be collected.
#[derive(Debug, thiserror::Error)]
pub enum CollectionRefusal {
    #[error("case {0} names no AWS account to collect from")]
    NoAccount(CaseId),
    #[error("--memory needs an IR plan naming the evidence bucket the instance uploads to")]
    MemoryNeedsPlan,
}
