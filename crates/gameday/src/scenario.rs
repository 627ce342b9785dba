//! Scenarios as written: a YAML file per technique with its ATT&CK ids, the resources it
//! needs (warm-up), how it is detonated (a recorded trace to replay, API calls to emulate),
//! what must be detected and cased, and what containment must prove. Parsed with the line
//! of every field and validated: unknown actions, references to resources the warm-up does
//! not make, and anything acting in an account other than the scenario's are refused.

use crate::api::Api;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;

/// A scenario file that cannot be used, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {field}: {message}")]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    /// The offending field (`detonate.emulate[1].call`), or `scenario` for a syntax error.
    pub field: String,
    pub message: String,
}

/// A scenario's name (`aws.persistence.iam-backdoor-user`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScenarioId(String);

impl ScenarioId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ScenarioId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The ATT&CK enterprise tactics, in the matrix's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tactic {
    Reconnaissance,
    ResourceDevelopment,
    InitialAccess,
    Execution,
    Persistence,
    PrivilegeEscalation,
    DefenseEvasion,
    CredentialAccess,
    Discovery,
    LateralMovement,
    Collection,
    CommandAndControl,
    Exfiltration,
    Impact,
}

impl Tactic {
    pub const ALL: [Tactic; 14] = [
        Tactic::Reconnaissance,
        Tactic::ResourceDevelopment,
        Tactic::InitialAccess,
        Tactic::Execution,
        Tactic::Persistence,
        Tactic::PrivilegeEscalation,
        Tactic::DefenseEvasion,
        Tactic::CredentialAccess,
        Tactic::Discovery,
        Tactic::LateralMovement,
        Tactic::Collection,
        Tactic::CommandAndControl,
        Tactic::Exfiltration,
        Tactic::Impact,
    ];

    /// The name ATT&CK Navigator uses (`defense-evasion`).
    pub fn name(self) -> &'static str {
        match self {
            Tactic::Reconnaissance => "reconnaissance",
            Tactic::ResourceDevelopment => "resource-development",
            Tactic::InitialAccess => "initial-access",
            Tactic::Execution => "execution",
            Tactic::Persistence => "persistence",
            Tactic::PrivilegeEscalation => "privilege-escalation",
            Tactic::DefenseEvasion => "defense-evasion",
            Tactic::CredentialAccess => "credential-access",
            Tactic::Discovery => "discovery",
            Tactic::LateralMovement => "lateral-movement",
            Tactic::Collection => "collection",
            Tactic::CommandAndControl => "command-and-control",
            Tactic::Exfiltration => "exfiltration",
            Tactic::Impact => "impact",
        }
    }

    pub fn from_name(s: &str) -> Option<Tactic> {
        Tactic::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// What the warm-up makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    IamUser,
    IamRole,
    Instance,
    Bucket,
    Trail,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 5] = [
        ResourceKind::IamUser,
        ResourceKind::IamRole,
        ResourceKind::Instance,
        ResourceKind::Bucket,
        ResourceKind::Trail,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::IamUser => "iam-user",
            ResourceKind::IamRole => "iam-role",
            ResourceKind::Instance => "instance",
            ResourceKind::Bucket => "bucket",
            ResourceKind::Trail => "trail",
        }
    }

    pub fn from_name(s: &str) -> Option<ResourceKind> {
        ResourceKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The attributes a template may read (`{intruder.key}`).
    pub fn attributes(self) -> &'static [&'static str] {
        match self {
            ResourceKind::IamUser => &["name", "arn", "id", "key"],
            ResourceKind::IamRole => &["name", "arn", "id"],
            ResourceKind::Instance => &["id", "group"],
            ResourceKind::Bucket => &["name", "arn"],
            ResourceKind::Trail => &["name", "arn", "bucket"],
        }
    }
}

/// One resource the warm-up makes, named by the scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    pub id: String,
    pub kind: ResourceKind,
    /// An IAM user with an access key (the technique's stolen credential).
    pub access_key: bool,
    /// A console password (for the login-profile techniques).
    pub console: bool,
    pub line: usize,
}

/// How a scenario is detonated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A recorded trace, shifted to now and re-bound to the warm-up's resources.
    Replay,
    /// The technique's API calls made against the emulator, each turned into the CloudTrail
    /// record AWS would write.
    Emulate,
    /// The same calls against a sandbox account the IR plan marks as an exercise account.
    Live,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Replay => "replay",
            Mode::Emulate => "emulate",
            Mode::Live => "live",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A text with `{resource.attribute}`, `{account}` and `{region}` references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Template(String);

impl Template {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The references it makes, in order. A brace whose content is not a name
    /// (`{"Version": …}` in a policy document) is literal text.
    pub fn references(&self) -> Vec<&str> {
        self.pieces()
            .into_iter()
            .filter_map(|p| match p {
                Piece::Reference(r) => Some(r),
                Piece::Text(_) => None,
            })
            .collect()
    }

    /// Fills the references from `values`; names the first one missing.
    pub fn render(&self, values: &BTreeMap<String, String>) -> Result<String, String> {
        let mut out = String::with_capacity(self.0.len());
        for p in self.pieces() {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Reference(r) => out.push_str(values.get(r).ok_or_else(|| r.to_string())?),
            }
        }
        Ok(out)
    }

    fn pieces(&self) -> Vec<Piece<'_>> {
        let is_name = |r: &str| {
            !r.is_empty()
                && r.split('.').count() <= 2
                && r.split('.').all(|part| {
                    part.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                })
        };
        let mut out = Vec::new();
        let s = self.0.as_str();
        let mut text_from = 0;
        let mut i = 0;
        while let Some(open) = s[i..].find('{').map(|o| i + o) {
            let Some(close) = s[open..].find('}').map(|c| open + c) else {
                break;
            };
            let name = &s[open + 1..close];
            if is_name(name) {
                out.push(Piece::Text(&s[text_from..open]));
                out.push(Piece::Reference(name));
                text_from = close + 1;
                i = close + 1;
            } else {
                i = open + 1;
            }
        }
        out.push(Piece::Text(&s[text_from..]));
        out
    }
}

enum Piece<'a> {
    Text(&'a str),
    Reference(&'a str),
}

/// A recorded trace to replay.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    /// A file under the scenario folder's `traces/`.
    pub trace: String,
    /// Literal text of the trace → what it becomes (instance ids, bucket and role names).
    pub bind: Vec<(String, Template)>,
}

/// One API call of an emulated detonation.
#[derive(Debug, Clone, Serialize)]
pub struct EmulatedCall {
    pub api: Api,
    /// The warm-up user whose key signs it (default: the detonation's actor).
    pub actor: String,
    pub params: BTreeMap<String, Template>,
    pub line: usize,
}

/// What containment must leave true of a warm-up resource, read back from AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// The user's access key is inactive.
    KeyInactive,
    /// The user carries an inline policy denying everything.
    Denied,
    /// The user has no console password.
    NoConsole,
    /// The role refuses sessions issued before containment.
    SessionsRevoked,
    /// The instance's security groups allow nothing in or out.
    Isolated,
    /// The bucket blocks every kind of public access.
    Blocked,
    /// The trail is logging.
    Logging,
}

impl Condition {
    pub const ALL: [Condition; 7] = [
        Condition::KeyInactive,
        Condition::Denied,
        Condition::NoConsole,
        Condition::SessionsRevoked,
        Condition::Isolated,
        Condition::Blocked,
        Condition::Logging,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Condition::KeyInactive => "key-inactive",
            Condition::Denied => "denied",
            Condition::NoConsole => "no-console",
            Condition::SessionsRevoked => "sessions-revoked",
            Condition::Isolated => "isolated",
            Condition::Blocked => "blocked",
            Condition::Logging => "logging",
        }
    }

    pub fn from_name(s: &str) -> Option<Condition> {
        Condition::ALL.into_iter().find(|c| c.name() == s)
    }

    /// The kind of resource it can be said of.
    pub fn kind(self) -> ResourceKind {
        match self {
            Condition::KeyInactive | Condition::Denied | Condition::NoConsole => {
                ResourceKind::IamUser
            }
            Condition::SessionsRevoked => ResourceKind::IamRole,
            Condition::Isolated => ResourceKind::Instance,
            Condition::Blocked => ResourceKind::Bucket,
            Condition::Logging => ResourceKind::Trail,
        }
    }
}

/// One proof of containment.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    pub resource: String,
    pub condition: Condition,
    pub line: usize,
}

/// What the stages assert.
#[derive(Debug, Clone, Serialize)]
pub struct Expectations {
    /// Rules (by file name, id or title) that must fire.
    pub rules: Vec<String>,
    pub severity: Option<model::Severity>,
    /// The IR plan level the case must get.
    pub level: Option<String>,
    /// The playbook the IR plan must map the case to; `None`: the scenario has no response
    /// (containment and rollback do not apply).
    pub playbook: Option<String>,
}

/// A validated scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub id: ScenarioId,
    pub name: String,
    /// Where the technique and any trace come from, for attribution.
    pub source: Option<String>,
    pub attack: Vec<String>,
    pub tactics: Vec<Tactic>,
    pub warmup: Vec<Resource>,
    /// The warm-up user whose access key the technique uses.
    pub actor: String,
    /// The address emulated calls come from.
    pub source_ip: String,
    pub replay: Option<Replay>,
    pub emulate: Vec<EmulatedCall>,
    pub expect: Expectations,
    pub contained: Vec<Proof>,
    /// The file it was read from.
    pub file: String,
}

impl Scenario {
    /// The ways it can be detonated.
    pub fn modes(&self) -> Vec<Mode> {
        let mut m = Vec::new();
        if self.replay.is_some() {
            m.push(Mode::Replay);
        }
        if !self.emulate.is_empty() {
            m.push(Mode::Emulate);
            m.push(Mode::Live);
        }
        m
    }

    /// The way it runs when none is asked for: emulated when it can be, else replayed.
    pub fn default_mode(&self) -> Mode {
        if self.emulate.is_empty() {
            Mode::Replay
        } else {
            Mode::Emulate
        }
    }

    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.warmup.iter().find(|r| r.id == id)
    }
}

// ---- the file as written ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    id: Spanned<String>,
    name: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    attack: Vec<Spanned<String>>,
    #[serde(default)]
    tactics: Vec<Spanned<String>>,
    #[serde(default)]
    warmup: Option<Spanned<Vec<RawResource>>>,
    detonate: Spanned<RawDetonation>,
    expect: Spanned<RawExpect>,
    #[serde(default)]
    contained: Vec<RawProof>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResource {
    id: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    access_key: bool,
    #[serde(default)]
    console: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDetonation {
    actor: Spanned<String>,
    #[serde(default)]
    source_ip: Option<Spanned<String>>,
    #[serde(default)]
    replay: Option<Spanned<RawReplay>>,
    #[serde(default)]
    emulate: Vec<RawCall>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReplay {
    trace: Spanned<String>,
    #[serde(default)]
    bind: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCall {
    call: Spanned<String>,
    #[serde(default, rename = "as")]
    actor: Option<Spanned<String>>,
    /// Where the call is made; only the scenario's own account is allowed.
    #[serde(default)]
    account: Option<Spanned<String>>,
    #[serde(default)]
    params: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default)]
    rules: Vec<Spanned<String>>,
    #[serde(default)]
    severity: Option<Spanned<String>>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    playbook: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProof {
    resource: Spanned<String>,
    is: Spanned<String>,
}

fn is_scenario_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

fn is_resource_id(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_attack_id(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => b[0] == b'T' && digits(&b[1..]),
        9 => b[0] == b'T' && digits(&b[1..5]) && b[5] == b'.' && digits(&b[6..]),
        _ => false,
    }
}

/// Twelve-digit runs in `s` that are not the scenario's account reference: a literal
/// account, which a detonation may not act in.
fn literal_account(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 12 {
                return Some(&s[start..i]);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// Parses and validates a scenario; `file` names it in errors. Every problem found is
/// returned, each with its line and field.
pub fn parse(text: &str, file: &str) -> Result<Scenario, Vec<ScenarioError>> {
    let err = |line: usize, field: &str, message: String| ScenarioError {
        file: file.to_string(),
        line,
        field: field.to_string(),
        message,
    };
    let raw: RawScenario = serde_saphyr::from_str(text).map_err(|e| {
        let first = e.to_string();
        let message = first.lines().next().unwrap_or_default();
        let message = message.split_once(" at line ").map_or(message, |(m, _)| m);
        vec![err(
            e.location().map_or(0, |l| l.line() as usize),
            "scenario",
            message.trim().to_string(),
        )]
    })?;
    let line = |s: &Spanned<String>| s.referenced.line() as usize;
    let mut problems = Vec::new();

    if !is_scenario_id(&raw.id.value) {
        problems.push(err(
            line(&raw.id),
            "id",
            format!(
                "`{}` is not a scenario id (lower-case letters, digits, `.` and `-`)",
                raw.id.value
            ),
        ));
    }
    for (i, a) in raw.attack.iter().enumerate() {
        if !is_attack_id(&a.value) {
            problems.push(err(
                line(a),
                &format!("attack[{i}]"),
                format!(
                    "`{}` is not an ATT&CK technique id (T1234 or T1234.001)",
                    a.value
                ),
            ));
        }
    }
    let mut tactics = Vec::new();
    for (i, t) in raw.tactics.iter().enumerate() {
        match Tactic::from_name(&t.value) {
            Some(t) => tactics.push(t),
            None => problems.push(err(
                line(t),
                &format!("tactics[{i}]"),
                format!(
                    "unknown tactic `{}` (one of {})",
                    t.value,
                    Tactic::ALL.map(Tactic::name).join(", ")
                ),
            )),
        }
    }
    if tactics.is_empty() && problems.iter().all(|p| !p.field.starts_with("tactics")) {
        problems.push(err(
            line(&raw.id),
            "tactics",
            "name at least one ATT&CK tactic (for the coverage matrix)".into(),
        ));
    }

    // Warm-up.
    let mut warmup: Vec<Resource> = Vec::new();
    match &raw.warmup {
        None => problems.push(err(
            line(&raw.id),
            "warmup",
            "missing: the technique needs resources to act on or as (at least its actor, an IAM user with an access key)".into(),
        )),
        Some(w) if w.value.is_empty() => problems.push(err(
            w.referenced.line() as usize,
            "warmup",
            "empty: the technique needs at least its actor, an IAM user with an access key".into(),
        )),
        Some(w) => {
            for (i, r) in w.value.iter().enumerate() {
                let field = format!("warmup[{i}]");
                if !is_resource_id(&r.id.value) {
                    problems.push(err(
                        line(&r.id),
                        &format!("{field}.id"),
                        format!(
                            "`{}` is not a resource id (lower-case letters, digits, `-`)",
                            r.id.value
                        ),
                    ));
                } else if warmup.iter().any(|x| x.id == r.id.value)
                    || r.id.value == "account"
                    || r.id.value == "region"
                {
                    problems.push(err(
                        line(&r.id),
                        &format!("{field}.id"),
                        format!("`{}` is used twice (or is reserved)", r.id.value),
                    ));
                }
                let Some(kind) = ResourceKind::from_name(&r.kind.value) else {
                    problems.push(err(
                        line(&r.kind),
                        &format!("{field}.kind"),
                        format!(
                            "unknown kind `{}` (one of {})",
                            r.kind.value,
                            ResourceKind::ALL.map(ResourceKind::name).join(", ")
                        ),
                    ));
                    continue;
                };
                if (r.access_key || r.console) && kind != ResourceKind::IamUser {
                    problems.push(err(
                        line(&r.kind),
                        &field,
                        "access_key and console are for an iam-user".into(),
                    ));
                }
                warmup.push(Resource {
                    id: r.id.value.clone(),
                    kind,
                    access_key: r.access_key,
                    console: r.console,
                    line: line(&r.id),
                });
            }
        }
    }
    let values: BTreeMap<String, ResourceKind> =
        warmup.iter().map(|r| (r.id.clone(), r.kind)).collect();
    // A template may name the scenario's account and region, and the warm-up's attributes.
    let check_template = |t: &Spanned<String>, field: &str, problems: &mut Vec<ScenarioError>| {
        let tpl = Template(t.value.clone());
        for r in tpl.references() {
            let ok = match r.split_once('.') {
                None => r == "account" || r == "region",
                Some((id, attr)) => values
                    .get(id)
                    .is_some_and(|k| k.attributes().contains(&attr)),
            };
            if !ok {
                problems.push(err(
                    line(t),
                    field,
                    format!(
                        "`{{{r}}}` names nothing the warm-up makes (use {{account}}, {{region}} or {{RESOURCE.ATTRIBUTE}})"
                    ),
                ));
            }
        }
        tpl
    };

    // Detonation.
    let d = &raw.detonate.value;
    let actor = d.actor.value.clone();
    match warmup.iter().find(|r| r.id == actor) {
        Some(r) if r.kind == ResourceKind::IamUser && r.access_key => {}
        Some(_) => problems.push(err(
            line(&d.actor),
            "detonate.actor",
            format!("`{actor}` must be an iam-user with access_key: true (its key signs the technique's calls)"),
        )),
        None if raw.warmup.is_some() => problems.push(err(
            line(&d.actor),
            "detonate.actor",
            format!("`{actor}` is not made by the warm-up"),
        )),
        None => {}
    }
    let source_ip = match &d.source_ip {
        Some(ip) if ip.value.parse::<std::net::IpAddr>().is_err() => {
            problems.push(err(
                line(ip),
                "detonate.source_ip",
                format!("`{}` is not an IP address", ip.value),
            ));
            String::new()
        }
        Some(ip) => ip.value.clone(),
        None => "203.0.113.66".to_string(),
    };
    let replay = d.replay.as_ref().map(|r| {
        let trace = &r.value.trace;
        if trace.value.contains('/') || trace.value.contains('\\') || trace.value.starts_with('.')
        {
            problems.push(err(
                line(trace),
                "detonate.replay.trace",
                format!(
                    "`{}` must name a file in the traces folder, without a path",
                    trace.value
                ),
            ));
        }
        let mut bind = Vec::new();
        for (lit, to) in &r.value.bind {
            let field = format!("detonate.replay.bind.{lit}");
            if lit.len() < 4 {
                problems.push(err(
                    line(to),
                    &field,
                    "a bound literal needs at least four characters (shorter ones would rewrite unrelated text)".into(),
                ));
            }
            if let Some(acct) = literal_account(&to.value) {
                problems.push(err(
                    line(to),
                    &field,
                    format!("account {acct} is outside the scenario: a replay acts only in {{account}}"),
                ));
            }
            bind.push((lit.clone(), check_template(to, &field, &mut problems)));
        }
        Replay {
            trace: trace.value.clone(),
            bind,
        }
    });
    let mut emulate = Vec::new();
    for (i, c) in d.emulate.iter().enumerate() {
        let field = format!("detonate.emulate[{i}]");
        let Some(api) = Api::from_name(&c.call.value) else {
            problems.push(err(
                line(&c.call),
                &format!("{field}.call"),
                format!(
                    "unknown action `{}` (one of {})",
                    c.call.value,
                    Api::ALL.map(Api::name).join(", ")
                ),
            ));
            continue;
        };
        if let Some(acct) = &c.account
            && acct.value != "{account}"
        {
            problems.push(err(
                line(acct),
                &format!("{field}.account"),
                format!(
                    "`{}` is outside the scenario: a detonation acts only in its own account ({{account}})",
                    acct.value
                ),
            ));
        }
        let call_actor = c.actor.as_ref().map_or(actor.clone(), |a| a.value.clone());
        if let Some(a) = &c.actor
            && !warmup
                .iter()
                .any(|r| r.id == a.value && r.kind == ResourceKind::IamUser && r.access_key)
        {
            problems.push(err(
                line(a),
                &format!("{field}.as"),
                format!("`{}` is not a warm-up iam-user with an access key", a.value),
            ));
        }
        let mut params = BTreeMap::new();
        for (k, v) in &c.params {
            let pf = format!("{field}.params.{k}");
            if !api.params().iter().any(|p| p.name == k) {
                problems.push(err(
                    line(v),
                    &pf,
                    format!(
                        "{} takes no parameter `{k}` (it takes {})",
                        api.name(),
                        api.params()
                            .iter()
                            .map(|p| p.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            let shares = api.params().iter().any(|p| p.name == k && p.share_target);
            if !shares && let Some(acct) = literal_account(&v.value) {
                problems.push(err(
                    line(v),
                    &pf,
                    format!("account {acct} is outside the scenario: a detonation acts only in {{account}}"),
                ));
            }
            params.insert(k.clone(), check_template(v, &pf, &mut problems));
        }
        for p in api.params().iter().filter(|p| p.required) {
            if !params.contains_key(p.name) {
                problems.push(err(
                    line(&c.call),
                    &format!("{field}.params"),
                    format!("{} needs `{}`", api.name(), p.name),
                ));
            }
        }
        emulate.push(EmulatedCall {
            api,
            actor: call_actor,
            params,
            line: line(&c.call),
        });
    }
    if replay.is_none() && d.emulate.is_empty() {
        problems.push(err(
            raw.detonate.referenced.line() as usize,
            "detonate",
            "say how to detonate: a replay trace, emulated calls, or both".into(),
        ));
    }

    // Expectations.
    let e = &raw.expect.value;
    if e.rules.is_empty() {
        problems.push(err(
            raw.expect.referenced.line() as usize,
            "expect.rules",
            "name the rules that must fire (a scenario asserts its detection)".into(),
        ));
    }
    let severity = e.severity.as_ref().and_then(|s| {
        let v = match s.value.to_ascii_lowercase().as_str() {
            "informational" => Some(model::Severity::Informational),
            "low" => Some(model::Severity::Low),
            "medium" => Some(model::Severity::Medium),
            "high" => Some(model::Severity::High),
            "critical" => Some(model::Severity::Critical),
            _ => None,
        };
        if v.is_none() {
            problems.push(err(
                line(s),
                "expect.severity",
                format!(
                    "`{}` is not a severity (informational, low, medium, high, critical)",
                    s.value
                ),
            ));
        }
        v
    });
    let mut contained = Vec::new();
    for (i, p) in raw.contained.iter().enumerate() {
        let field = format!("contained[{i}]");
        let Some(condition) = Condition::from_name(&p.is.value) else {
            problems.push(err(
                line(&p.is),
                &format!("{field}.is"),
                format!(
                    "unknown condition `{}` (one of {})",
                    p.is.value,
                    Condition::ALL.map(Condition::name).join(", ")
                ),
            ));
            continue;
        };
        match warmup.iter().find(|r| r.id == p.resource.value) {
            None => problems.push(err(
                line(&p.resource),
                &format!("{field}.resource"),
                format!("`{}` is not made by the warm-up", p.resource.value),
            )),
            Some(r) if r.kind != condition.kind() => problems.push(err(
                line(&p.is),
                &format!("{field}.is"),
                format!(
                    "`{}` is said of an {}, and `{}` is an {}",
                    condition.name(),
                    condition.kind().name(),
                    r.id,
                    r.kind.name()
                ),
            )),
            Some(_) => {}
        }
        contained.push(Proof {
            resource: p.resource.value.clone(),
            condition,
            line: line(&p.is),
        });
    }
    if !contained.is_empty() && e.playbook.is_none() {
        problems.push(err(
            raw.expect.referenced.line() as usize,
            "expect.playbook",
            "containment proofs need the playbook that contains".into(),
        ));
    }
    if e.playbook.is_some() && contained.is_empty() {
        problems.push(err(
            raw.expect.referenced.line() as usize,
            "contained",
            "a scenario with a response says what containment must leave true".into(),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Scenario {
        id: ScenarioId(raw.id.value),
        name: raw.name,
        source: raw.source,
        attack: raw.attack.into_iter().map(|a| a.value).collect(),
        tactics,
        warmup,
        actor,
        source_ip,
        replay,
        emulate,
        expect: Expectations {
            rules: e.rules.iter().map(|r| r.value.clone()).collect(),
            severity,
            level: e.level.clone(),
            playbook: e.playbook.clone(),
        },
        contained,
        file: file.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id: aws.persistence.iam-backdoor-user
name: Create an access key on another IAM user
attack: [T1098.001]
tactics: [persistence]
warmup:
  - { id: intruder, kind: iam-user, access_key: true }
  - { id: victim, kind: iam-user }
detonate:
  actor: intruder
  emulate:
    - call: iam:CreateAccessKey
      params: { UserName: "{victim.name}" }
expect:
  rules: [iam_access_key_created_for_other_user]
  playbook: iam-user-access-key-compromise
contained:
  - { resource: intruder, is: key-inactive }
"#;

    #[test]
    fn a_good_scenario_reads() {
        let s = parse(GOOD, "good.yaml").unwrap();
        assert_eq!(s.id.as_str(), "aws.persistence.iam-backdoor-user");
        assert_eq!(s.modes(), vec![Mode::Emulate, Mode::Live]);
        assert_eq!(s.emulate[0].actor, "intruder");
        assert_eq!(s.emulate[0].line, 12);
        assert_eq!(s.contained[0].condition, Condition::KeyInactive);
    }

    #[test]
    fn templates_render_and_name_what_is_missing() {
        let t = Template("arn:aws:iam::{account}:user/{victim.name}".into());
        let mut v = BTreeMap::new();
        v.insert("account".to_string(), "123456789012".to_string());
        assert_eq!(t.render(&v), Err("victim.name".to_string()));
        v.insert("victim.name".to_string(), "bob".to_string());
        assert_eq!(t.render(&v).unwrap(), "arn:aws:iam::123456789012:user/bob");
        let policy = Template(r#"{"Principal":{"AWS":"arn:aws:iam::{account}:root"}}"#.into());
        assert_eq!(policy.references(), ["account"]);
        assert_eq!(
            policy.render(&v).unwrap(),
            r#"{"Principal":{"AWS":"arn:aws:iam::123456789012:root"}}"#
        );
    }

    fn problems(text: &str) -> Vec<String> {
        parse(text, "bad.yaml")
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn hostile_scenarios_are_refused_with_file_line_and_field() {
        let unknown = GOOD.replace("iam:CreateAccessKey", "iam:DeleteEverything");
        let p = problems(&unknown);
        assert!(
            p.iter().any(|p| p.starts_with(
                "bad.yaml:12: detonate.emulate[0].call: unknown action `iam:DeleteEverything`"
            )),
            "{p:?}"
        );

        let no_warmup = GOOD
            .replace("warmup:\n", "")
            .replace(
                "  - { id: intruder, kind: iam-user, access_key: true }\n",
                "",
            )
            .replace("  - { id: victim, kind: iam-user }\n", "");
        let p = problems(&no_warmup);
        assert!(
            p.iter()
                .any(|p| p.starts_with("bad.yaml:2: warmup: missing")),
            "{p:?}"
        );

        let outside = GOOD.replace(
            "params: { UserName: \"{victim.name}\" }",
            "account: \"999988887777\"\n      params: { UserName: \"arn:aws:iam::111122223333:user/x\" }",
        );
        let p = problems(&outside);
        assert!(
            p.iter().any(|p| p.starts_with(
                "bad.yaml:13: detonate.emulate[0].account: `999988887777` is outside the scenario"
            )),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.starts_with("bad.yaml:14: detonate.emulate[0].params.UserName: account 111122223333 is outside the scenario")),
            "{p:?}"
        );

        let dangling = GOOD.replace("{victim.name}", "{ghost.name}");
        let p = problems(&dangling);
        assert!(
            p.iter()
                .any(|p| p
                    .contains("detonate.emulate[0].params.UserName: `{ghost.name}` names nothing")),
            "{p:?}"
        );

        let wrong = GOOD.replace("is: key-inactive", "is: isolated");
        let p = problems(&wrong);
        assert!(
            p.iter().any(|p| p
                .starts_with("bad.yaml:18: contained[0].is: `isolated` is said of an instance")),
            "{p:?}"
        );

        let syntax = problems("id: [unclosed\n");
        assert!(syntax[0].starts_with("bad.yaml:"), "{syntax:?}");
        let extra = problems(&GOOD.replace("name: Create", "nmae: x\nname: Create"));
        assert!(extra[0].contains("nmae"), "{extra:?}");
    }
}
