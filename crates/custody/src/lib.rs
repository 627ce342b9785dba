//! Chain of custody. Every case has a ledger of entries (who did what to which artifact,
//! when, where it is kept), each committing to the previous entry's SHA-256, optionally
//! signed with Ed25519. [`verify`] names every edited, reordered, removed or added entry and
//! every artifact whose bytes changed; [`report`] renders the custody report. Pure: callers
//! read files and the store.

pub mod report;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The `prev` of a ledger's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

use signing::{hex, unhex};
pub use signing::{is_sha256_hex, sha256_hex};

/// A piece of evidence, by content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    pub sha256: String,
    /// A file name for people (`cloudtrail-111122223333-us-east-1-2026-11-30.json.gz`).
    pub name: String,
    pub size: u64,
    /// Where it came from (`s3://trail-bucket/AWSLogs/…`, `ec2:console-output:i-…`).
    pub source: String,
}

/// What a ledger entry records. Entries keep the name as text, so a ledger written by a
/// later version (with actions this one does not know) still reads and verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Put into the locker.
    Collected,
    /// Copied to the evidence bucket under Object Lock.
    Uploaded,
    UploadFailed,
    CollectionFailed,
    /// Collected logs run through ingest and detection into the case.
    Examined,
    /// The custody report written out.
    Exported,
    /// An entry an interrupted writer appended was witnessed by the next writer.
    WitnessRepaired,
    /// A response plan was approved (who, how they proved it, the plan digest).
    Approved,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Collected => "collected",
            Action::Uploaded => "uploaded",
            Action::UploadFailed => "upload-failed",
            Action::CollectionFailed => "collection-failed",
            Action::Examined => "examined",
            Action::Exported => "exported",
            Action::WitnessRepaired => "witness-repaired",
            Action::Approved => "approved",
        }
    }
}

/// What is being recorded, before it is chained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub case_id: case::CaseId,
    pub at_ms: i64,
    pub actor: String,
    /// An [`Action`] by name (`collected`, `uploaded`, `examined`, …).
    pub action: String,
    pub artifact: Option<Artifact>,
    /// Where the artifact is kept (`locker:sha256/ab/…`, `s3://bucket/key`).
    pub location: Option<String>,
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// 1-based position in the case's ledger.
    pub seq: u64,
    #[serde(flatten)]
    pub body: Draft,
    /// The previous entry's hash ([`GENESIS`] for the first).
    pub prev: String,
    /// SHA-256 of this entry's canonical JSON (everything above).
    pub hash: String,
    /// Ed25519 signature of `hash`, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The verifying key that signed, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// What an entry's hash covers.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: u64,
    body: &'a Draft,
    prev: &'a str,
}

impl Entry {
    /// The hash this entry's contents give.
    pub fn computed_hash(&self) -> String {
        let c = Canonical {
            seq: self.seq,
            body: &self.body,
            prev: &self.prev,
        };
        sha256_hex(&serde_json::to_vec(&c).expect("an entry serializes"))
    }

    /// The entry as one JSON line.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("an entry serializes")
    }
}

/// Chains `draft` after `last` (the ledger's current head), signing with `key` if given.
pub fn chain(last: Option<&Entry>, draft: Draft, key: Option<&SigningKey>) -> Entry {
    let mut e = Entry {
        seq: last.map_or(1, |l| l.seq + 1),
        body: draft,
        prev: last.map_or_else(|| GENESIS.to_string(), |l| l.hash.clone()),
        hash: String::new(),
        signature: None,
        key: None,
    };
    e.hash = e.computed_hash();
    if let Some(k) = key {
        let sig = k.sign(e.hash.as_bytes());
        e.signature = Some(hex(&sig.to_bytes()));
        e.key = Some(hex(k.verifying_key().as_bytes()));
    }
    e
}

/// A signing key from its 32-byte seed in hex (how configuration holds it).
pub fn signing_key(seed_hex: &str) -> Result<SigningKey, CustodyError> {
    signing::signing_key(seed_hex).map_err(|e| CustodyError::Key(e.to_string()))
}

/// A verifying key from hex.
pub fn verifying_key(hex_key: &str) -> Result<VerifyingKey, CustodyError> {
    signing::verifying_key(hex_key).map_err(|e| CustodyError::Key(e.to_string()))
}

pub use signing::public_hex;

#[derive(Debug, thiserror::Error)]
pub enum CustodyError {
    #[error("signing key: {0}")]
    Key(String),
}

/// The members a ledger line may have, and those of its artifact.
const ENTRY_FIELDS: &[&str] = &[
    "seq",
    "case_id",
    "at_ms",
    "actor",
    "action",
    "artifact",
    "location",
    "detail",
    "prev",
    "hash",
    "signature",
    "key",
];
const ARTIFACT_FIELDS: &[&str] = &["sha256", "name", "size", "source"];

/// A ledger line that is not an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    /// 1-based line of the ledger file.
    pub line: usize,
    pub message: String,
}

/// Reads one ledger line strictly: unknown members (of the entry or its artifact) and an
/// artifact digest that is not 64 lower-case hex digits are errors, not ignored.
pub fn parse_entry(line: &str) -> Result<Entry, String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let Some(obj) = v.as_object() else {
        return Err("a ledger line is a JSON object".into());
    };
    if let Some(k) = obj.keys().find(|k| !ENTRY_FIELDS.contains(&k.as_str())) {
        return Err(format!("unknown field `{k}`"));
    }
    if let Some(a) = obj.get("artifact").and_then(|a| a.as_object())
        && let Some(k) = a.keys().find(|k| !ARTIFACT_FIELDS.contains(&k.as_str()))
    {
        return Err(format!("unknown field `artifact.{k}`"));
    }
    let e: Entry = serde_json::from_value(v).map_err(|e| e.to_string())?;
    if let Some(a) = &e.body.artifact
        && !is_sha256_hex(&a.sha256)
    {
        return Err(format!(
            "artifact.sha256 `{}` is not a SHA-256 (64 lower-case hex digits)",
            a.sha256.escape_debug()
        ));
    }
    Ok(e)
}

/// Reads a ledger file (one entry per line): the entries, and every line that is not one.
pub fn parse_ledger(text: &str) -> (Vec<Entry>, Vec<Malformed>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match parse_entry(l) {
            Ok(e) => entries.push(e),
            Err(message) => bad.push(Malformed {
                line: i + 1,
                message,
            }),
        }
    }
    (entries, bad)
}

/// The state of an artifact's bytes where they are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Intact,
    /// The bytes hash to something else now.
    Changed {
        actual: String,
    },
    Missing,
}

/// The kinds of tampering [`verify`] finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Edited,
    Reordered,
    Removed,
    Added,
    Unsigned,
    BadSignature,
    /// Signed by a key the IR plan does not list.
    UnknownKey,
    /// A ledger line that is not an entry (not JSON, unknown fields, a bad digest).
    Malformed,
    /// Appended by a writer that was interrupted before the store witnessed it; the next
    /// custody write repairs it.
    Interrupted,
    /// The ledger disagrees with its anchor outside the host.
    AnchorMismatch,
    ArtifactChanged,
    ArtifactMissing,
    WrongCase,
}

/// One thing wrong with a ledger or its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: Kind,
    /// The entry concerned.
    pub seq: u64,
    pub message: String,
}

/// A ledger head written outside the host (the evidence bucket, under Object Lock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub case_id: case::CaseId,
    pub seq: u64,
    pub hash: String,
    pub at_ms: i64,
}

/// What was known of the ledger's anchor when verifying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "detail")]
pub enum AnchorCheck {
    /// No evidence bucket is configured: the ledger is anchored only on this host.
    NotConfigured,
    /// The anchor could not be read (why).
    NotChecked(String),
    /// The bucket holds no anchor for the case yet.
    None,
    /// The latest anchor (seq, where) is an entry of this ledger.
    Holds { seq: u64, location: String },
    /// The latest anchor is not in this ledger (a problem names it).
    Mismatch { seq: u64, location: String },
}

/// Which signing keys the ledger is checked against: those the IR plan lists, never a
/// key an entry carries.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    pub keys: Vec<VerifyingKey>,
    /// Every entry must be signed by one of them.
    pub required: bool,
}

/// What `verify` compares the ledger against.
pub struct Against<'a> {
    /// The store's witness: (seq, hash) as each entry was appended.
    pub witness: &'a [(u64, String)],
    /// Entries a writer announced (seq, hash) and had not witnessed yet.
    pub pending: &'a [(u64, String)],
    pub trust: &'a Trust,
    /// The latest anchor outside the host, with where it is kept.
    pub anchor: Result<Option<(Anchor, String)>, AnchorCheck>,
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub entries: usize,
    pub artifacts: usize,
    pub head: Option<String>,
    pub anchor: AnchorCheck,
    pub problems: Vec<Problem>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies a case's ledger against the witness the store keeps, the keys the IR plan
/// trusts, the latest anchor outside the host, and the artifacts' bytes (`stored`, called
/// only with well-formed digests). `malformed` lines are findings of their own.
pub fn verify(
    case_id: case::CaseId,
    entries: &[Entry],
    malformed: &[Malformed],
    against: Against<'_>,
    mut stored: impl FnMut(&Artifact) -> Stored,
) -> Verification {
    let Against {
        witness,
        pending,
        trust,
        anchor,
    } = against;
    let mut problems: Vec<Problem> = Vec::new();
    fn push(problems: &mut Vec<Problem>, kind: Kind, seq: u64, message: String) {
        problems.push(Problem { kind, seq, message });
    }
    for m in malformed {
        push(
            &mut problems,
            Kind::Malformed,
            0,
            format!("ledger line {}: {}", m.line, m.message),
        );
    }
    let present: std::collections::BTreeSet<u64> = entries.iter().map(|e| e.seq).collect();
    let mut max_seen = 0u64;
    for e in entries {
        if e.computed_hash() != e.hash {
            push(
                &mut problems,
                Kind::Edited,
                e.seq,
                format!(
                    "entry {} was edited: its contents no longer give its hash",
                    e.seq
                ),
            );
        }
        if e.body.case_id != case_id {
            push(
                &mut problems,
                Kind::WrongCase,
                e.seq,
                format!("entry {} belongs to case {}", e.seq, e.body.case_id),
            );
        }
        if e.seq <= max_seen {
            push(
                &mut problems,
                Kind::Reordered,
                e.seq,
                format!("entry {} stands after entry {max_seen}", e.seq),
            );
        } else {
            for missing in (max_seen + 1..e.seq).filter(|s| !present.contains(s)) {
                push(
                    &mut problems,
                    Kind::Removed,
                    missing,
                    format!("entry {missing} was removed"),
                );
            }
            // Each entry commits to the hash of the entry before it.
            let prev = match e.seq {
                1 => Some(GENESIS),
                n => entries
                    .iter()
                    .find(|x| x.seq == n - 1)
                    .map(|x| x.hash.as_str()),
            };
            if let Some(prev) = prev
                && e.prev != prev
            {
                let before = e.seq - 1;
                push(
                    &mut problems,
                    Kind::Edited,
                    before,
                    format!(
                        "entry {before} was altered: entry {} committed to another hash",
                        e.seq
                    ),
                );
            }
            max_seen = e.seq;
        }
        check_signature(e, trust, &mut problems);
    }
    // The witness the store kept at each append.
    for (seq, hash) in witness {
        match entries.iter().find(|e| e.seq == *seq) {
            None if !problems.iter().any(|p| p.seq == *seq) => {
                push(
                    &mut problems,
                    Kind::Removed,
                    *seq,
                    format!("entry {seq} was removed"),
                );
            }
            Some(e)
                if &e.hash != hash
                    && !problems
                        .iter()
                        .any(|p| p.seq == *seq && p.kind == Kind::Edited) =>
            {
                push(
                    &mut problems,
                    Kind::Edited,
                    *seq,
                    format!("entry {seq} was edited: it differs from the store's witness"),
                );
            }
            _ => {}
        }
    }
    for e in entries {
        if !witness.iter().any(|(s, _)| *s == e.seq) && !problems.iter().any(|p| p.seq == e.seq) {
            if pending.iter().any(|(s, h)| *s == e.seq && *h == e.hash) {
                push(
                    &mut problems,
                    Kind::Interrupted,
                    e.seq,
                    format!(
                        "entry {} was appended by a writer interrupted before the store witnessed it: the next custody write repairs it",
                        e.seq
                    ),
                );
            } else {
                push(
                    &mut problems,
                    Kind::Added,
                    e.seq,
                    format!("entry {} was added: the store never recorded it", e.seq),
                );
            }
        }
    }
    let anchor = match anchor {
        Err(state) => state,
        Ok(None) => AnchorCheck::None,
        Ok(Some((a, location))) => {
            let here = entries.iter().find(|e| e.seq == a.seq);
            if a.case_id == case_id && here.is_some_and(|e| e.hash == a.hash) {
                AnchorCheck::Holds {
                    seq: a.seq,
                    location,
                }
            } else {
                push(
                    &mut problems,
                    Kind::AnchorMismatch,
                    a.seq,
                    match here {
                        None => format!(
                            "the anchor at {location} names entry {} ({}), which this ledger does not have: it was cut short or rewritten",
                            a.seq, a.hash
                        ),
                        Some(e) => format!(
                            "the anchor at {location} says entry {} is {}, the ledger has {}: the ledger was rewritten",
                            a.seq, a.hash, e.hash
                        ),
                    },
                );
                AnchorCheck::Mismatch {
                    seq: a.seq,
                    location,
                }
            }
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    for e in entries {
        let Some(a) = &e.body.artifact else { continue };
        if !is_sha256_hex(&a.sha256) {
            push(
                &mut problems,
                Kind::Malformed,
                e.seq,
                format!(
                    "entry {}: artifact digest `{}` is not a SHA-256",
                    e.seq,
                    a.sha256.escape_debug()
                ),
            );
            continue;
        }
        if !seen.insert(a.sha256.clone()) {
            continue;
        }
        match stored(a) {
            Stored::Intact => {}
            Stored::Changed { actual } => push(
                &mut problems,
                Kind::ArtifactChanged,
                e.seq,
                format!(
                    "artifact {} ({}) changed: its bytes now hash to {actual}",
                    a.name, a.sha256
                ),
            ),
            Stored::Missing => push(
                &mut problems,
                Kind::ArtifactMissing,
                e.seq,
                format!("artifact {} ({}) is missing", a.name, a.sha256),
            ),
        }
    }
    problems.sort_by_key(|p| p.seq);
    Verification {
        entries: entries.len(),
        artifacts: seen.len(),
        head: entries.last().map(|e| e.hash.clone()),
        anchor,
        problems,
    }
}

/// An entry's signature, checked against the trusted keys only.
fn check_signature(e: &Entry, trust: &Trust, problems: &mut Vec<Problem>) {
    let push = |problems: &mut Vec<Problem>, kind, message| {
        problems.push(Problem {
            kind,
            seq: e.seq,
            message,
        })
    };
    let Some(sig) = &e.signature else {
        if trust.required {
            push(
                problems,
                Kind::Unsigned,
                format!("entry {} is not signed", e.seq),
            );
        }
        return;
    };
    let named = e.key.as_deref().and_then(|k| verifying_key(k).ok());
    let Some(key) = trust.keys.iter().find(|k| Some(**k) == named) else {
        if trust.required || !trust.keys.is_empty() {
            push(
                problems,
                Kind::UnknownKey,
                format!(
                    "entry {} is signed by an unknown key ({}): the IR plan does not list it",
                    e.seq,
                    e.key.as_deref().unwrap_or("none named")
                ),
            );
        }
        return;
    };
    let good = unhex(sig)
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .is_some_and(|b| {
            key.verify(e.hash.as_bytes(), &Signature::from_bytes(&b))
                .is_ok()
        });
    if !good {
        push(
            problems,
            Kind::BadSignature,
            format!("entry {}: the signature does not verify", e.seq),
        );
    }
}
