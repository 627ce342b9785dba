//! The incident response plan, as written in the plan file.

use crate::deadline::Span;
use crate::located::{Date, Interval, Located};
use model::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The plan file format this build reads.
pub const FORMAT_VERSION: u32 = 1;

/// An organization's incident response plan.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IrPlan {
    /// Plan file format version (`1`).
    pub version: Located<u32>,
    pub meta: Meta,
    pub team: Team,
    pub contacts: Vec<Contact>,
    pub roles: Vec<Role>,
    pub channels: Vec<Channel>,
    pub phases: Phases,
    /// Levels, most severe first. A case takes the first level whose criteria it meets.
    pub severity: Vec<Level>,
    /// Which playbook answers which detection.
    #[serde(default)]
    pub responses: Vec<Response>,
    pub forensics: Forensics,
    pub aws: Aws,
    /// Data classifications, least sensitive first (`public`, …, `restricted`).
    #[serde(default)]
    pub data_classifications: Vec<String>,
    pub exercises: Exercises,
    /// The team server, when approvals are given in its web UI.
    #[serde(default)]
    pub team_server: Option<TeamServer>,
    /// The post-incident review: its deadline per level, the levels whose cases cannot
    /// close without one, and the questions it answers.
    #[serde(default)]
    pub review: ReviewPolicy,
    /// Communication templates and how often each level's stakeholders hear from us.
    #[serde(default)]
    pub communications: Communications,
    /// Notification duties to regulators, started by a fact recorded on a case.
    #[serde(default)]
    pub regulations: Vec<Regulation>,
    /// Dates (UTC) that are not business days, for deadlines written in business days.
    #[serde(default)]
    pub holidays: Vec<Located<Date>>,
}

/// What the plan demands of post-incident reviews.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewPolicy {
    /// Level id → how long after the case reaches recovery (or post-incident) the review
    /// must be held (`sev1 = "5bd"`).
    #[serde(default)]
    pub within: BTreeMap<String, Located<Span>>,
    /// Level ids whose cases cannot close before their review is finished.
    #[serde(default)]
    pub required_to_close: Vec<Located<String>>,
    /// Questions every review answers (the plan's question bank).
    #[serde(default)]
    pub questions: Vec<String>,
}

/// Communication templates and update cadence.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Communications {
    /// Folder of templates (`internal.md.j2`, `executive.md.j2`, `customer.md.j2`,
    /// `regulator.md.j2`), relative to the plan file; default `comms`. Missing files fall
    /// back to the bundled templates.
    #[serde(default)]
    pub templates: Option<Located<String>>,
    /// Level id → how often stakeholders get an update while the case is open
    /// (`sev1 = "2h"`): each communication says when the next one comes.
    #[serde(default)]
    pub cadence: BTreeMap<String, Located<Interval>>,
}

/// A regulator's notification duty (GDPR article 33, NIS2 article 23, SEC 8-K 1.05).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Regulation {
    pub id: Located<String>,
    pub name: String,
    /// Who is notified (`Lead supervisory authority`).
    #[serde(default)]
    pub authority: Option<String>,
    /// The case fact whose recording starts the clocks (`personal-data-breach`).
    pub trigger: Located<String>,
    /// What the fact's time is (`awareness of the breach`, `materiality determination`).
    #[serde(default)]
    pub start: Option<String>,
    /// Deadlines, each from the fact's time or from an earlier deadline.
    pub deadlines: Vec<RegulatoryDeadline>,
    /// What a notification must contain; the regulator template refuses to render without
    /// these facts of the case.
    #[serde(default)]
    pub content: Vec<String>,
    /// The notification may be given in phases as information becomes available.
    #[serde(default)]
    pub phased: bool,
}

/// One deadline of a regulation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegulatoryDeadline {
    /// `early-warning`, `notification`, `final-report`.
    pub id: Located<String>,
    pub within: Located<Span>,
    /// An earlier deadline of the same regulation this one counts from (when it was met,
    /// else when it fell due); default: the fact's time.
    #[serde(default)]
    pub after: Option<Located<String>>,
    /// What is due.
    pub what: String,
}

/// What the plan trusts the team server with.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TeamServer {
    /// Ed25519 public keys (hex) of team servers whose attestation of a signed-in person's
    /// approval counts as that person's signed approval. The server signs the plan digest,
    /// the contact and how they signed in; its seed stays on the server.
    #[serde(default)]
    pub attestation_keys: Vec<Located<String>>,
}

/// Identity and upkeep of the document.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    /// Revision label (`2026.2`).
    pub revision: String,
    /// Contact id of the plan's owner.
    pub owner: Located<String>,
    pub last_reviewed: Located<Date>,
    /// How often the plan must be reviewed (`180d`).
    pub review_every: Located<Interval>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    pub overview: String,
    #[serde(default)]
    pub goals: Vec<String>,
    /// What the plan covers (accounts, workloads), in prose.
    #[serde(default)]
    pub scope: Option<String>,
}

/// A person or outside party, reachable two ways.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub id: Located<String>,
    pub name: String,
    /// Organization for third parties (`AWS Support`, `Outside counsel`).
    #[serde(default)]
    pub organization: Option<String>,
    /// IANA time zone (`Europe/Berlin`).
    pub timezone: Located<String>,
    /// First way to reach them (`phone:+1…`, `email:…`, `slack:@…`).
    pub primary: Located<String>,
    /// Second way, not through the same system as the first.
    pub backup: Option<Located<String>>,
    /// Ed25519 public keys (hex, from `firebreak keygen`) whose signatures count as this
    /// contact's approval of a response plan.
    #[serde(default)]
    pub approval_keys: Vec<Located<String>>,
}

/// RACI letters for one role in one phase.
pub type Raci = Located<String>;

/// A role and who fills it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub id: Located<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Contact ids, first the primary then the backups.
    #[serde(default)]
    pub members: Vec<Located<String>>,
    /// Outside the organization (AWS Support, legal counsel, PR agency, auditors).
    #[serde(default)]
    pub third_party: bool,
    /// Letters R, A, C, I per phase (`contain = "RA"`).
    #[serde(default)]
    pub raci: BTreeMap<PhaseName, Raci>,
}

/// A communication channel. Every in-band channel names an out-of-band backup.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub id: Located<String>,
    /// `slack`, `webhook`, `email`, `chime`, `teams`, `pager`, `signal`, `wickr`,
    /// `phone-tree`, `sms`.
    pub kind: Located<String>,
    /// Where: a channel name, URL, group or distribution list.
    pub target: String,
    #[serde(default)]
    pub purpose: Option<String>,
    /// Does not depend on the organization's own identity provider, email or chat (which
    /// an intruder may control or watch).
    #[serde(default)]
    pub out_of_band: bool,
    /// Channel id used when this one is down or compromised.
    #[serde(default)]
    pub backup: Option<Located<String>>,
}

/// The incident response phases (NIST SP 800-61, AWS Security Incident Response Guide).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseName {
    Detect,
    Analyze,
    Contain,
    Eradicate,
    Recover,
    PostIncident,
}

impl PhaseName {
    pub const ALL: [PhaseName; 6] = [
        PhaseName::Detect,
        PhaseName::Analyze,
        PhaseName::Contain,
        PhaseName::Eradicate,
        PhaseName::Recover,
        PhaseName::PostIncident,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PhaseName::Detect => "detect",
            PhaseName::Analyze => "analyze",
            PhaseName::Contain => "contain",
            PhaseName::Eradicate => "eradicate",
            PhaseName::Recover => "recover",
            PhaseName::PostIncident => "post-incident",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            PhaseName::Detect => "Detect",
            PhaseName::Analyze => "Analyze",
            PhaseName::Contain => "Contain",
            PhaseName::Eradicate => "Eradicate",
            PhaseName::Recover => "Recover",
            PhaseName::PostIncident => "Post-incident",
        }
    }
}

/// Every phase and what is done in it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Phases {
    pub detect: PhaseSpec,
    pub analyze: PhaseSpec,
    pub contain: PhaseSpec,
    pub eradicate: PhaseSpec,
    pub recover: PhaseSpec,
    pub post_incident: PhaseSpec,
}

impl Phases {
    pub fn get(&self, p: PhaseName) -> &PhaseSpec {
        match p {
            PhaseName::Detect => &self.detect,
            PhaseName::Analyze => &self.analyze,
            PhaseName::Contain => &self.contain,
            PhaseName::Eradicate => &self.eradicate,
            PhaseName::Recover => &self.recover,
            PhaseName::PostIncident => &self.post_incident,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    #[serde(default)]
    pub goal: Option<String>,
    pub actions: Located<Vec<String>>,
}

/// A severity level: when it applies, what service it demands, who is called.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// Short id (`sev1`).
    pub id: Located<String>,
    /// Display name (`Critical`).
    pub name: String,
    /// The case severity this level stands for.
    pub severity: Severity,
    #[serde(default)]
    pub description: Option<String>,
    /// Any of these criteria sets selects the level; an empty set matches every case.
    #[serde(default)]
    pub when: Vec<Criteria>,
    pub sla: Option<Located<Sla>>,
    #[serde(default)]
    pub escalation: Vec<EscalationStep>,
    /// Level whose chain runs next when this chain ends unacknowledged.
    #[serde(default)]
    pub escalate_to: Option<Located<String>>,
    /// Who approves response plans for cases at this level (default: the roles
    /// responsible or accountable for containment, one approver).
    #[serde(default)]
    pub approval: Option<Approval>,
}

/// Who must approve a response plan before it runs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Role ids whose members may approve.
    pub roles: Vec<Located<String>>,
    /// Distinct approvers needed (two-person rule: 2).
    #[serde(default = "one")]
    pub count: Located<u32>,
    /// Approvals are Ed25519 signatures by a key listed for the approver (default); `false`
    /// accepts unsigned approvals by name, and every plan, status and report says so.
    #[serde(default = "yes")]
    pub signed: Located<bool>,
    /// The person who made the response plan may not approve it.
    #[serde(default)]
    pub two_person: bool,
    /// Evidence-only plans (snapshots, memory, metadata) at this level need no approver:
    /// the pre-approval is recorded like an approval.
    #[serde(default)]
    pub preapprove_evidence: bool,
}

fn one() -> Located<u32> {
    Located::new(1)
}

fn yes() -> Located<bool> {
    Located::new(true)
}

/// What approving a response plan takes at one level, resolved from the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalTerms {
    pub roles: Vec<String>,
    pub count: u32,
    pub signed: bool,
    pub two_person: bool,
    pub preapprove_evidence: bool,
}

/// Conditions that must all hold.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Criteria {
    /// Highest alert severity at least this.
    #[serde(default)]
    pub min_alert: Option<Severity>,
    /// The case touches one of these domains (`service`, `infrastructure`, `application`).
    #[serde(default)]
    pub domains: Vec<Located<String>>,
    /// The case touches one of these account ids.
    #[serde(default)]
    pub accounts: Vec<Located<String>>,
    /// A touched account (per `aws.accounts`) or a resource a finding names has all these tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// A touched account holds data at least this sensitive.
    #[serde(default)]
    pub data_at_least: Option<Located<String>>,
    /// The case shows one of these ATT&CK tactics (`impact`, `exfiltration`).
    #[serde(default)]
    pub tactics: Vec<String>,
    /// The account root user acted.
    #[serde(default)]
    pub root: Option<bool>,
}

/// Response deadlines, from the moment a case reaches the level.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    pub acknowledge: Option<Interval>,
    pub contain: Option<Interval>,
    pub communicate: Option<Interval>,
}

/// Notify `notify` (contact ids, or `role:<id>` for every member of a role) through
/// `via` once a case has waited `after` unacknowledged.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    pub after: Located<Interval>,
    pub notify: Vec<Located<String>>,
    #[serde(default)]
    pub via: Option<Located<String>>,
}

/// A playbook and the detections it answers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    pub playbook: Located<String>,
    /// Sigma rule ids.
    #[serde(default)]
    pub rules: Vec<Located<String>>,
    /// Rule tags (`attack.t1078.004`, `attack.impact`).
    #[serde(default)]
    pub tags: Vec<Located<String>>,
}

/// Where evidence goes and how long it is kept.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Forensics {
    /// Account id of the isolated forensic account.
    pub account: Located<String>,
    pub region: Located<String>,
    pub evidence_bucket: Located<String>,
    /// S3 Object Lock mode: `COMPLIANCE` or `GOVERNANCE`.
    pub object_lock_mode: Located<String>,
    pub retention_days: Located<u32>,
    /// AMI id of the forensic workstation image, when built.
    #[serde(default)]
    pub workstation_ami: Option<String>,
    /// Ed25519 public keys (hex) custody ledger entries may be signed with: `evidence
    /// verify` checks signatures against these only.
    #[serde(default)]
    pub custody_keys: Vec<Located<String>>,
    /// Every custody entry must be signed by one of `custody_keys` (default: when any are
    /// listed).
    #[serde(default)]
    pub require_signed_custody: Option<bool>,
}

impl Forensics {
    /// Whether unsigned custody entries are failures.
    pub fn custody_signing_required(&self) -> bool {
        self.require_signed_custody
            .unwrap_or(!self.custody_keys.is_empty())
    }
}

/// The AWS estate the plan covers and how responders reach it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Aws {
    /// Role name assumed in every account (`FirebreakResponder`).
    pub responder_role: Located<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    pub regions: Located<Vec<String>>,
    /// Security group name pre-created in each VPC for isolation.
    pub isolation_security_group: String,
    /// ARN of the Kinesis stream CloudWatch Logs subscriptions feed.
    pub central_log_stream: Located<String>,
    /// The Organizations management account (quarantine SCPs are attached from it).
    #[serde(default)]
    pub management_account: Option<Located<String>>,
    pub accounts: Vec<Account>,
}

impl Aws {
    /// The responder role's ARN in `account`.
    pub fn responder_role_arn(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:role/{}", self.responder_role.value)
    }
}

/// An account the plan covers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub id: Located<String>,
    pub name: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Most sensitive data the account holds, from `data_classifications`.
    #[serde(default)]
    pub data: Option<Located<String>>,
    /// Contact id of the account owner.
    #[serde(default)]
    pub owner: Option<Located<String>>,
}

/// Game days.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Exercises {
    /// How often a game day is run (`90d`).
    pub game_day_every: Located<Interval>,
    pub last_game_day: Option<Located<Date>>,
    /// Scenarios to rehearse, in prose.
    #[serde(default)]
    pub scenarios: Vec<String>,
    /// Sandbox accounts a live game day may detonate in (`firebreak gameday run --mode
    /// live` refuses every other account).
    #[serde(default)]
    pub accounts: Vec<Located<String>>,
}

impl IrPlan {
    pub fn contact(&self, id: &str) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.id.value == id)
    }

    pub fn role(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id.value == id)
    }

    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id.value == id)
    }

    pub fn level(&self, id: &str) -> Option<&Level> {
        self.severity.iter().find(|l| l.id.value == id)
    }

    /// The holidays business-day deadlines skip.
    pub fn holiday_dates(&self) -> Vec<Date> {
        self.holidays.iter().map(|d| d.value).collect()
    }

    /// Whether a case at `level` may close only after its review is finished.
    pub fn review_required_to_close(&self, level: &str) -> bool {
        self.review
            .required_to_close
            .iter()
            .any(|l| l.value == level)
    }

    pub fn regulation(&self, id: &str) -> Option<&Regulation> {
        self.regulations.iter().find(|r| r.id.value == id)
    }

    /// Who approves response plans at `level`: its `approval`, else the roles responsible
    /// or accountable for containment, one signed approval.
    pub fn approval_terms(&self, level: Option<&str>) -> ApprovalTerms {
        if let Some(a) = level
            .and_then(|l| self.level(l))
            .and_then(|l| l.approval.as_ref())
        {
            return ApprovalTerms {
                roles: a.roles.iter().map(|r| r.value.clone()).collect(),
                count: a.count.value.max(1),
                signed: a.signed.value,
                two_person: a.two_person,
                preapprove_evidence: a.preapprove_evidence,
            };
        }
        let roles = self
            .roles
            .iter()
            .filter(|r| {
                r.raci
                    .get(&PhaseName::Contain)
                    .is_some_and(|l| l.value.contains('A') || l.value.contains('R'))
            })
            .map(|r| r.id.value.clone())
            .collect();
        ApprovalTerms {
            roles,
            count: 1,
            signed: true,
            two_person: false,
            preapprove_evidence: false,
        }
    }

    /// The roles a contact fills.
    pub fn roles_of(&self, contact: &str) -> Vec<String> {
        self.roles
            .iter()
            .filter(|r| r.members.iter().any(|m| m.value == contact))
            .map(|r| r.id.value.clone())
            .collect()
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.aws.accounts.iter().find(|a| a.id.value == id)
    }

    /// `Name rev Revision`.
    pub fn title(&self) -> String {
        format!("{} rev {}", self.meta.name, self.meta.revision)
    }

    /// When the next review is due.
    pub fn next_review(&self) -> Date {
        self.meta
            .last_reviewed
            .add_days(self.meta.review_every.days())
    }

    /// When the next game day is due (`None` when none was ever run).
    pub fn next_game_day(&self) -> Option<Date> {
        let last = self.exercises.last_game_day.as_ref()?;
        Some(last.add_days(self.exercises.game_day_every.days()))
    }

    /// Playbooks answering a rule (by id) or any of its tags, in plan order.
    pub fn playbooks_for<'a>(&'a self, rule_id: &str, tags: &[String]) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.responses {
            let hit = r.rules.iter().any(|x| x.value == rule_id)
                || r.tags
                    .iter()
                    .any(|t| tags.iter().any(|x| x.eq_ignore_ascii_case(t)));
            if hit && !out.contains(&r.playbook.value.as_str()) {
                out.push(&r.playbook.value);
            }
        }
        out
    }
}
