//! Validation: everything that makes a plan unusable in an incident is an error; what
//! makes it stale or thin is a warning. Each problem names its line.

use crate::located::{Date, Located};
use crate::model::{IrPlan, Level, PhaseName};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Gravity {
    Error,
    Warning,
}

/// One thing wrong with a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub gravity: Gravity,
    /// 1-based line in the plan file (0 when the plan was built in code).
    pub line: u32,
    /// Where in the plan (`roles[ir-lead].members`).
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = match self.gravity {
            Gravity::Error => "error",
            Gravity::Warning => "warning",
        };
        write!(
            f,
            "line {}: {g}: {}: {}",
            self.line, self.field, self.message
        )
    }
}

/// What a plan is checked against besides itself.
#[derive(Debug, Clone)]
pub struct CheckContext<'a> {
    /// Today, for review and game-day freshness.
    pub today: Date,
    /// Names of the playbooks that exist.
    pub playbooks: &'a BTreeSet<String>,
    /// Ids of the loaded detection rules; `None` skips the rule-id check.
    pub rules: Option<&'a BTreeSet<String>>,
    /// The newest game day recorded in the store (`firebreak gameday run`), which wins
    /// over a date typed into the plan.
    pub last_game_day: Option<RecordedGameDay>,
    /// Post-incident work the store holds that is late: overdue improvement actions,
    /// regulator deadlines breached or due, reviews past their deadline.
    pub open_work: Vec<OpenWork>,
}

/// One piece of post-incident work the store holds, late or coming due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenWork {
    pub case: case::CaseId,
    /// Which part of the plan demands it (`review.within`, `regulations[gdpr-art33]`,
    /// `action item 4`).
    pub field: String,
    /// What is due (`notify the supervisory authority`, `action item 4 (prevent): …`).
    pub what: String,
    pub due_ms: i64,
    /// Past due and not done.
    pub overdue: bool,
}

/// A game day as the store recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedGameDay {
    pub date: Date,
    pub scenarios: usize,
    pub passed: usize,
}

/// The last game day: the recorded one, else the date typed into the plan; with what to
/// say about it.
pub fn last_game_day(plan: &IrPlan, ctx: &CheckContext<'_>) -> Option<(Date, String)> {
    match (&ctx.last_game_day, &plan.exercises.last_game_day) {
        (Some(r), _) => Some((
            r.date,
            format!(
                "{} (recorded: {} of {} scenarios passed)",
                r.date, r.passed, r.scenarios
            ),
        )),
        (None, Some(typed)) => Some((
            typed.value,
            format!(
                "{} (typed into the plan; no game day is recorded in the store)",
                typed.value
            ),
        )),
        (None, None) => None,
    }
}

/// Channel kinds that ride on the organization's own chat, mail or identity provider:
/// an intruder holding the IdP can read and cut them.
const IN_BAND_KINDS: &[&str] = &["slack", "webhook", "email", "chime", "teams", "pager"];
const KNOWN_KINDS: &[&str] = &[
    "slack",
    "webhook",
    "email",
    "chime",
    "teams",
    "pager",
    "signal",
    "wickr",
    "phone-tree",
    "phone",
    "sms",
    "bridge",
];
const DOMAINS: &[&str] = &["service", "infrastructure", "application"];

struct Checker<'p> {
    plan: &'p IrPlan,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn error(&mut self, line: u32, field: impl Into<String>, message: impl Into<String>) {
        self.push(Gravity::Error, line, field.into(), message.into());
    }

    fn warn(&mut self, line: u32, field: impl Into<String>, message: impl Into<String>) {
        self.push(Gravity::Warning, line, field.into(), message.into());
    }

    fn push(&mut self, gravity: Gravity, line: u32, field: String, message: String) {
        self.problems.push(Problem {
            gravity,
            line,
            field,
            message,
        });
    }

    fn unique<'a>(&mut self, what: &str, ids: impl Iterator<Item = &'a Located<String>>) {
        let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
        for id in ids {
            if id.value.trim().is_empty() {
                self.error(id.line, format!("{what}.id"), "empty id");
            } else if let Some(first) = seen.insert(&id.value, id.line) {
                self.error(
                    id.line,
                    format!("{what}[{}]", id.value),
                    format!("duplicate id (first defined on line {first})"),
                );
            }
        }
    }

    /// A contact id, or `role:<id>`: who an escalation step or owner names.
    fn person(&mut self, who: &Located<String>, field: String) {
        match who.value.strip_prefix("role:") {
            Some(role) if self.plan.role(role).is_none() => self.error(
                who.line,
                field,
                format!("escalates to unknown role `{role}`"),
            ),
            Some(_) => {}
            None if self.plan.contact(&who.value).is_none() => {
                self.error(who.line, field, format!("unknown contact `{}`", who.value))
            }
            None => {}
        }
    }
}

/// Checks `plan`; problems in line order, errors first on the same line.
pub fn check(plan: &IrPlan, ctx: &CheckContext<'_>) -> Vec<Problem> {
    let mut c = Checker {
        plan,
        problems: Vec::new(),
    };
    if plan.version.value != crate::model::FORMAT_VERSION {
        c.error(
            plan.version.line,
            "version",
            format!(
                "plan format version {} is not supported (this build reads {})",
                plan.version.value,
                crate::model::FORMAT_VERSION
            ),
        );
    }
    c.unique("contacts", plan.contacts.iter().map(|x| &x.id));
    c.unique("roles", plan.roles.iter().map(|x| &x.id));
    c.unique("channels", plan.channels.iter().map(|x| &x.id));
    c.unique("severity", plan.severity.iter().map(|x| &x.id));
    c.unique("aws.accounts", plan.aws.accounts.iter().map(|x| &x.id));

    check_meta(&mut c, ctx);
    check_contacts(&mut c);
    check_roles(&mut c);
    check_channels(&mut c);
    for p in PhaseName::ALL {
        let spec = plan.phases.get(p);
        if spec.actions.value.iter().all(|a| a.trim().is_empty()) {
            c.error(
                spec.actions.line,
                format!("phases.{}.actions", p.name()),
                "a phase needs at least one action",
            );
        }
    }
    check_severity(&mut c);
    check_responses(&mut c, ctx);
    check_forensics(&mut c);
    check_aws(&mut c);
    check_post_incident(&mut c, ctx);

    let mut problems = c.problems;
    problems.sort_by_key(|p| (p.line, p.gravity));
    problems
}

fn check_meta(c: &mut Checker<'_>, ctx: &CheckContext<'_>) {
    let plan = c.plan;
    let owner = &plan.meta.owner;
    if plan.contact(&owner.value).is_none() {
        c.error(
            owner.line,
            "meta.owner",
            format!("unknown contact `{}`", owner.value),
        );
    }
    if plan.meta.review_every.days() < 1 {
        c.error(
            plan.meta.review_every.line,
            "meta.review_every",
            "must be at least a day",
        );
    }
    let due = plan.next_review();
    if due < ctx.today {
        c.warn(
            plan.meta.last_reviewed.line,
            "meta.last_reviewed",
            format!(
                "the plan is past its review date: last reviewed {}, review was due {due}",
                plan.meta.last_reviewed.value
            ),
        );
    }
    if *plan.meta.last_reviewed > ctx.today {
        c.warn(
            plan.meta.last_reviewed.line,
            "meta.last_reviewed",
            "lies in the future",
        );
    }
    let ex = &plan.exercises;
    let line = ex
        .last_game_day
        .as_ref()
        .map_or(ex.game_day_every.line, |l| l.line);
    match last_game_day(plan, ctx) {
        None => c.warn(
            ex.game_day_every.line,
            "exercises.last_game_day",
            "no game day has been run: rehearse the plan before an incident does (firebreak gameday run --all)",
        ),
        Some((last, said)) => {
            let due = last.add_days(ex.game_day_every.days());
            if due < ctx.today {
                c.warn(
                    line,
                    "exercises.last_game_day",
                    format!("a game day is overdue: last {said}, due {due}"),
                );
            }
        }
    }
    for (i, a) in ex.accounts.iter().enumerate() {
        let field = format!("exercises.accounts[{i}]");
        if model::AccountId::parse(&a.value).is_err() {
            c.error(
                a.line,
                &field,
                format!("`{}` is not a twelve-digit account id", a.value),
            );
        } else if plan.forensics.account.value == a.value
            || plan
                .aws
                .management_account
                .as_ref()
                .is_some_and(|m| m.value == a.value)
        {
            c.error(
                a.line,
                &field,
                "the forensic and management accounts are never exercise accounts: a game day would detonate where evidence and the organization are kept",
            );
        } else if plan
            .aws
            .accounts
            .iter()
            .any(|x| x.id.value == a.value && x.tags.get("env").is_some_and(|e| e == "prod"))
        {
            c.error(
                a.line,
                &field,
                "is tagged env = prod: live game days detonate real attacker techniques and belong in a sandbox",
            );
        }
    }
}

fn check_contacts(c: &mut Checker<'_>) {
    for contact in &c.plan.contacts {
        let f = format!("contacts[{}]", contact.id.value);
        let tz = &contact.timezone.value;
        if !(tz == "UTC" || tz.contains('/')) {
            c.warn(
                contact.timezone.line,
                format!("{f}.timezone"),
                format!("`{tz}` is not an IANA time zone (Area/City or UTC)"),
            );
        }
        if contact.primary.value.trim().is_empty() {
            c.error(
                contact.primary.line,
                format!("{f}.primary"),
                "no way to reach this contact",
            );
        }
        match &contact.backup {
            None => c.warn(
                contact.id.line,
                format!("{f}.backup"),
                "reachable one way only: add a backup (phone, personal email)",
            ),
            Some(b) if b.value == contact.primary.value => c.error(
                b.line,
                format!("{f}.backup"),
                "backup is the same as primary",
            ),
            Some(_) => {}
        }
        for key in &contact.approval_keys {
            if let Err(e) = signing::verifying_key(&key.value) {
                c.error(
                    key.line,
                    format!("{f}.approval_keys"),
                    format!("`{}` is not an Ed25519 public key: {e}", key.value),
                );
            }
        }
    }
    if let Some(server) = &c.plan.team_server {
        for key in &server.attestation_keys {
            if let Err(e) = signing::verifying_key(&key.value) {
                c.error(
                    key.line,
                    "team_server.attestation_keys".to_string(),
                    format!("`{}` is not an Ed25519 public key: {e}", key.value),
                );
            }
        }
    }
    let mut owners: std::collections::BTreeMap<String, &str> = Default::default();
    for contact in &c.plan.contacts {
        for key in &contact.approval_keys {
            let k = key.value.trim().to_ascii_lowercase();
            if let Some(other) = owners.insert(k, &contact.id.value)
                && other != contact.id.value
            {
                c.error(
                    key.line,
                    format!("contacts[{}].approval_keys", contact.id.value),
                    format!("this key is also listed for {other}: a key belongs to one person"),
                );
            }
        }
    }
}

fn check_roles(c: &mut Checker<'_>) {
    let plan = c.plan;
    for role in &plan.roles {
        let f = format!("roles[{}]", role.id.value);
        if role.members.is_empty() {
            c.error(
                role.id.line,
                format!("{f}.members"),
                "role is filled by nobody",
            );
        }
        for m in &role.members {
            if plan.contact(&m.value).is_none() {
                c.error(
                    m.line,
                    format!("{f}.members"),
                    format!("unknown contact `{}`", m.value),
                );
            }
        }
        if role.members.len() == 1 && !role.third_party {
            c.warn(
                role.id.line,
                format!("{f}.members"),
                "no backup: one person fills this role",
            );
        }
        for (phase, letters) in &role.raci {
            let bad: String = letters
                .value
                .chars()
                .filter(|ch| !matches!(ch.to_ascii_uppercase(), 'R' | 'A' | 'C' | 'I'))
                .collect();
            if letters.value.is_empty() || !bad.is_empty() {
                c.error(
                    letters.line,
                    format!("{f}.raci.{}", phase.name()),
                    format!("`{}` is not RACI letters (R, A, C, I)", letters.value),
                );
            }
        }
    }
    for phase in PhaseName::ALL {
        let with = |letter: char| -> Vec<&str> {
            plan.roles
                .iter()
                .filter(|r| {
                    r.raci
                        .get(&phase)
                        .is_some_and(|l| l.value.to_ascii_uppercase().contains(letter))
                })
                .map(|r| r.id.value.as_str())
                .collect()
        };
        let line = plan.phases.get(phase).actions.line;
        let field = format!("phases.{}", phase.name());
        match with('A').as_slice() {
            [] => c.error(
                line,
                field.clone(),
                "no role is accountable (A) for this phase",
            ),
            [_] => {}
            many => c.error(
                line,
                field.clone(),
                format!(
                    "{} roles are accountable (A): {}; exactly one must be",
                    many.len(),
                    many.join(", ")
                ),
            ),
        }
        if with('R').is_empty() {
            c.error(line, field, "no role is responsible (R) for this phase");
        }
    }
}

fn check_channels(c: &mut Checker<'_>) {
    let plan = c.plan;
    for ch in &plan.channels {
        let f = format!("channels[{}]", ch.id.value);
        let kind = ch.kind.value.to_ascii_lowercase();
        if !KNOWN_KINDS.contains(&kind.as_str()) {
            c.error(
                ch.kind.line,
                format!("{f}.kind"),
                format!(
                    "unknown channel kind `{}` (one of {})",
                    ch.kind.value,
                    KNOWN_KINDS.join(", ")
                ),
            );
        }
        match &ch.backup {
            None if !ch.out_of_band => c.error(
                ch.id.line,
                format!("{f}.backup"),
                "channel has no backup: name an out-of-band channel (Signal, Wickr, phone tree) for when it is down or compromised",
            ),
            None => {}
            Some(b) => match plan.channel(&b.value) {
                None => c.error(b.line, format!("{f}.backup"), format!("unknown channel `{}`", b.value)),
                Some(other) if other.id.value == ch.id.value => {
                    c.error(b.line, format!("{f}.backup"), "a channel cannot back itself up")
                }
                Some(other) if !other.out_of_band => c.error(
                    b.line,
                    format!("{f}.backup"),
                    format!("backup `{}` is not out of band (set out_of_band = true only for channels independent of your own IdP, mail and chat)", b.value),
                ),
                Some(_) => {}
            },
        }
        if ch.out_of_band && IN_BAND_KINDS.contains(&kind.as_str()) {
            c.warn(
                ch.kind.line,
                format!("{f}.out_of_band"),
                format!("a `{kind}` channel is out of band only on a separate tenant and identity provider"),
            );
        }
    }
}

fn check_severity(c: &mut Checker<'_>) {
    let plan = c.plan;
    if plan.severity.is_empty() {
        c.error(
            plan.version.line,
            "severity",
            "the plan defines no severity levels",
        );
        return;
    }
    let mut catch_all: Option<&str> = None;
    for (i, level) in plan.severity.iter().enumerate() {
        let f = format!("severity[{}]", level.id.value);
        if let Some(prev) = catch_all {
            c.warn(
                level.id.line,
                f.clone(),
                format!("unreachable: level `{prev}` above it matches every case"),
            );
        }
        if level.when.is_empty() || level.when.iter().any(criteria_empty) {
            catch_all.get_or_insert(&level.id.value);
        }
        if i > 0 && level.severity > plan.severity[i - 1].severity {
            c.warn(
                level.id.line,
                format!("{f}.severity"),
                "levels must run from most to least severe",
            );
        }
        match &level.sla {
            None => c.error(
                level.id.line,
                format!("{f}.sla"),
                "severity level has no SLA (acknowledge, contain, communicate)",
            ),
            Some(sla) => {
                for (name, v) in [
                    ("acknowledge", sla.acknowledge),
                    ("contain", sla.contain),
                    ("communicate", sla.communicate),
                ] {
                    if v.is_none() {
                        c.error(
                            sla.line,
                            format!("{f}.sla.{name}"),
                            format!("SLA has no `{name}` time"),
                        );
                    }
                }
            }
        }
        check_criteria(c, level, &f);
        if level.escalation.is_empty() {
            c.error(
                level.id.line,
                format!("{f}.escalation"),
                "level has no escalation chain",
            );
        }
        let mut previous = None;
        for (n, step) in level.escalation.iter().enumerate() {
            let sf = format!("{f}.escalation[{n}]");
            if step.notify.is_empty() {
                c.error(
                    step.after.line,
                    format!("{sf}.notify"),
                    "escalation step notifies nobody",
                );
            }
            for who in &step.notify {
                c.person(who, format!("{sf}.notify"));
            }
            if let Some(via) = &step.via
                && plan.channel(&via.value).is_none()
            {
                c.error(
                    via.line,
                    format!("{sf}.via"),
                    format!("unknown channel `{}`", via.value),
                );
            }
            if previous.is_some_and(|p| step.after.value <= p) {
                c.error(
                    step.after.line,
                    format!("{sf}.after"),
                    "escalation steps must come in increasing time",
                );
            }
            previous = Some(step.after.value);
        }
        if let Some(approval) = &level.approval {
            check_approval(c, approval, &f);
        }
        check_approval_keys(c, level, &f);
        if let Some(next) = &level.escalate_to
            && plan.level(&next.value).is_none()
        {
            c.error(
                next.line,
                format!("{f}.escalate_to"),
                format!("unknown severity level `{}`", next.value),
            );
        }
    }
    if catch_all.is_none() {
        let last = plan.severity.last().expect("non-empty");
        c.warn(
            last.id.line,
            format!("severity[{}].when", last.id.value),
            "no level matches every case: cases meeting no criteria take this, the last level",
        );
    }
    // Escalation cycles: each level escalates to at most one other, so walk each chain.
    let mut reported: BTreeSet<Vec<&str>> = BTreeSet::new();
    for start in &plan.severity {
        let mut path: Vec<&Level> = vec![start];
        let mut at = start;
        while let Some(next) = at.escalate_to.as_ref().and_then(|n| plan.level(&n.value)) {
            if let Some(pos) = path.iter().position(|l| l.id.value == next.id.value) {
                let cycle: Vec<&Level> = path[pos..].to_vec();
                let mut key: Vec<&str> = cycle.iter().map(|l| l.id.value.as_str()).collect();
                key.sort();
                if reported.insert(key) {
                    let names: Vec<&str> = cycle
                        .iter()
                        .chain(std::iter::once(&next))
                        .map(|l| l.id.value.as_str())
                        .collect();
                    let at_line = cycle[cycle.len() - 1];
                    c.error(
                        at_line
                            .escalate_to
                            .as_ref()
                            .map_or(at_line.id.line, |e| e.line),
                        format!("severity[{}].escalate_to", at_line.id.value),
                        format!("escalation cycle: {}", names.join(" → ")),
                    );
                }
                break;
            }
            path.push(next);
            at = next;
        }
    }
}

fn criteria_empty(c: &crate::model::Criteria) -> bool {
    c.min_alert.is_none()
        && c.domains.is_empty()
        && c.accounts.is_empty()
        && c.tags.is_empty()
        && c.data_at_least.is_none()
        && c.tactics.is_empty()
        && c.root.is_none()
}

/// Signed approvals at a level need enough approvers with keys.
fn check_approval_keys(c: &mut Checker<'_>, level: &Level, f: &str) {
    let plan = c.plan;
    let terms = plan.approval_terms(Some(&level.id.value));
    if !terms.signed {
        c.warn(
            level
                .approval
                .as_ref()
                .map_or(level.id.line, |a| a.signed.line),
            format!("{f}.approval.signed"),
            "unsigned approvals: anyone who can run firebreak can approve as anyone",
        );
        return;
    }
    let keyed: BTreeSet<&str> = plan
        .roles
        .iter()
        .filter(|r| terms.roles.is_empty() || terms.roles.contains(&r.id.value))
        .flat_map(|r| r.members.iter().map(|m| m.value.as_str()))
        .filter(|m| {
            plan.contact(m).is_some_and(|c| !c.approval_keys.is_empty())
                || plan
                    .team_server
                    .as_ref()
                    .is_some_and(|s| !s.attestation_keys.is_empty())
        })
        .collect();
    let people: BTreeSet<&str> = plan
        .roles
        .iter()
        .filter(|r| terms.roles.is_empty() || terms.roles.contains(&r.id.value))
        .flat_map(|r| r.members.iter().map(|m| m.value.as_str()))
        .collect();
    // Too few people at all is reported with the count already.
    if (keyed.len() as u32) < terms.count && (people.len() as u32) >= terms.count {
        c.error(
            level.approval.as_ref().map_or(level.id.line, |a| a.count.line),
            format!("{f}.approval"),
            format!(
                "approvals must be signed, but only {} of the {} approver(s) needed from {} list approval_keys: make keys with `firebreak keygen` and list them, or set approval.signed = false",
                keyed.len(),
                terms.count,
                if terms.roles.is_empty() { "anyone".to_string() } else { terms.roles.join(", ") }
            ),
        );
    }
}

/// Approval roles exist and have enough distinct members for the count.
fn check_approval(c: &mut Checker<'_>, approval: &crate::model::Approval, f: &str) {
    let plan = c.plan;
    if approval.roles.is_empty() {
        c.error(
            approval.count.line,
            format!("{f}.approval.roles"),
            "name the roles that approve",
        );
    }
    let mut people = BTreeSet::new();
    for r in &approval.roles {
        match plan.role(&r.value) {
            None => c.error(
                r.line,
                format!("{f}.approval.roles"),
                format!("unknown role `{}`", r.value),
            ),
            Some(role) => people.extend(role.members.iter().map(|m| m.value.as_str())),
        }
    }
    let count = approval.count.value;
    if count == 0 {
        c.error(
            approval.count.line,
            format!("{f}.approval.count"),
            "at least one approver is needed",
        );
    } else if !approval.roles.is_empty() && (people.len() as u32) < count {
        c.error(
            approval.count.line,
            format!("{f}.approval.count"),
            format!(
                "{count} distinct approvers are needed, but the roles have {} members",
                people.len()
            ),
        );
    }
}

fn check_criteria(c: &mut Checker<'_>, level: &Level, f: &str) {
    let plan = c.plan;
    for (n, crit) in level.when.iter().enumerate() {
        let cf = format!("{f}.when[{n}]");
        for d in &crit.domains {
            if !DOMAINS.contains(&d.value.as_str()) {
                c.error(
                    d.line,
                    format!("{cf}.domains"),
                    format!(
                        "unknown domain `{}` (one of {})",
                        d.value,
                        DOMAINS.join(", ")
                    ),
                );
            }
        }
        for a in &crit.accounts {
            if plan.account(&a.value).is_none() {
                c.error(
                    a.line,
                    format!("{cf}.accounts"),
                    format!("account `{}` is not in aws.accounts", a.value),
                );
            }
        }
        if let Some(d) = &crit.data_at_least
            && !plan.data_classifications.contains(&d.value)
        {
            c.error(
                d.line,
                format!("{cf}.data_at_least"),
                format!("unknown data classification `{}`", d.value),
            );
        }
    }
}

fn check_responses(c: &mut Checker<'_>, ctx: &CheckContext<'_>) {
    for (n, r) in c.plan.responses.iter().enumerate() {
        let f = format!("responses[{n}]");
        if !ctx.playbooks.contains(&r.playbook.value) {
            let known: Vec<&str> = ctx.playbooks.iter().map(String::as_str).collect();
            c.error(
                r.playbook.line,
                format!("{f}.playbook"),
                format!(
                    "playbook `{}` does not exist (known: {})",
                    r.playbook.value,
                    known.join(", ")
                ),
            );
        }
        if r.rules.is_empty() && r.tags.is_empty() {
            c.error(
                r.playbook.line,
                f.clone(),
                "answers no detection: give rules or tags",
            );
        }
        if let Some(rules) = ctx.rules {
            for id in &r.rules {
                if !rules.contains(&id.value) {
                    c.warn(
                        id.line,
                        format!("{f}.rules"),
                        format!("no loaded rule has id `{}`", id.value),
                    );
                }
            }
        }
        for t in &r.tags {
            if !t.value.contains('.') {
                c.error(
                    t.line,
                    format!("{f}.tags"),
                    format!(
                        "`{}` is not a rule tag (attack.t1078, attack.impact)",
                        t.value
                    ),
                );
            }
        }
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// S3 bucket naming rules (general purpose buckets).
fn is_bucket_name(s: &str) -> bool {
    (3..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
        && !s.contains("..")
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn check_forensics(c: &mut Checker<'_>) {
    for key in &c.plan.forensics.custody_keys {
        if let Err(e) = signing::verifying_key(&key.value) {
            c.error(
                key.line,
                "forensics.custody_keys",
                format!("`{}` is not an Ed25519 public key: {e}", key.value),
            );
        }
    }
    if c.plan.forensics.require_signed_custody == Some(true)
        && c.plan.forensics.custody_keys.is_empty()
    {
        c.error(
            c.plan.forensics.evidence_bucket.line,
            "forensics.require_signed_custody",
            "signed custody is required, but no custody_keys are listed to check it against",
        );
    }
    let fx = &c.plan.forensics;
    if !is_account(&fx.account.value) {
        c.error(
            fx.account.line,
            "forensics.account",
            format!("`{}` is not a 12-digit account id", fx.account.value),
        );
    }
    if !is_region(&fx.region.value) {
        c.error(
            fx.region.line,
            "forensics.region",
            format!("`{}` is not an AWS region", fx.region.value),
        );
    }
    if !is_bucket_name(&fx.evidence_bucket.value) {
        c.error(
            fx.evidence_bucket.line,
            "forensics.evidence_bucket",
            format!(
                "`{}` is not a valid S3 bucket name",
                fx.evidence_bucket.value
            ),
        );
    }
    if !matches!(
        fx.object_lock_mode.value.as_str(),
        "COMPLIANCE" | "GOVERNANCE"
    ) {
        c.error(
            fx.object_lock_mode.line,
            "forensics.object_lock_mode",
            "must be COMPLIANCE or GOVERNANCE",
        );
    }
    if fx.retention_days.value == 0 {
        c.error(
            fx.retention_days.line,
            "forensics.retention_days",
            "evidence must be retained at least a day",
        );
    }
}

fn check_aws(c: &mut Checker<'_>) {
    let plan = c.plan;
    let aws = &plan.aws;
    let role = &aws.responder_role.value;
    if role.is_empty()
        || role.len() > 64
        || !role
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "+=,.@_-".contains(ch))
    {
        c.error(
            aws.responder_role.line,
            "aws.responder_role",
            format!("`{role}` is not an IAM role name"),
        );
    }
    if aws.regions.value.is_empty() {
        c.error(aws.regions.line, "aws.regions", "name at least one region");
    }
    for r in &aws.regions.value {
        if !is_region(r) {
            c.error(
                aws.regions.line,
                "aws.regions",
                format!("`{r}` is not an AWS region"),
            );
        }
    }
    let stream = &aws.central_log_stream;
    let parts: Vec<&str> = stream.value.splitn(6, ':').collect();
    if parts.len() != 6
        || parts[2] != "kinesis"
        || !is_account(parts[4])
        || !parts[5].starts_with("stream/")
    {
        c.error(
            stream.line,
            "aws.central_log_stream",
            format!(
                "`{}` is not a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)",
                stream.value
            ),
        );
    }
    if let Some(m) = &aws.management_account
        && !is_account(&m.value)
    {
        c.error(
            m.line,
            "aws.management_account",
            format!("`{}` is not a 12-digit account id", m.value),
        );
    }
    if aws.accounts.is_empty() {
        c.error(
            aws.responder_role.line,
            "aws.accounts",
            "the plan covers no accounts",
        );
    }
    for a in &aws.accounts {
        let f = format!("aws.accounts[{}]", a.id.value);
        if !is_account(&a.id.value) {
            c.error(
                a.id.line,
                f.clone(),
                format!("`{}` is not a 12-digit account id", a.id.value),
            );
        }
        if let Some(d) = &a.data
            && !plan.data_classifications.contains(&d.value)
        {
            c.error(
                d.line,
                format!("{f}.data"),
                format!("unknown data classification `{}`", d.value),
            );
        }
        if let Some(o) = &a.owner {
            c.person(o, format!("{f}.owner"));
        }
    }
}

/// The review policy, communication cadence, regulations and holidays; then the late
/// post-incident work the store holds.
fn check_post_incident(c: &mut Checker<'_>, ctx: &CheckContext<'_>) {
    let plan = c.plan;
    let known_level = |id: &str| plan.level(id).is_some();
    for (level, span) in &plan.review.within {
        if !known_level(level) {
            c.error(
                span.line,
                format!("review.within.{level}"),
                format!("no severity level `{level}`"),
            );
        }
    }
    for l in &plan.review.required_to_close {
        if !known_level(&l.value) {
            c.error(
                l.line,
                "review.required_to_close",
                format!("no severity level `{}`", l.value),
            );
        }
    }
    for (level, every) in &plan.communications.cadence {
        if !known_level(level) {
            c.error(
                every.line,
                format!("communications.cadence.{level}"),
                format!("no severity level `{level}`"),
            );
        } else if every.value.0 <= 0 {
            c.error(
                every.line,
                format!("communications.cadence.{level}"),
                "an update cadence must be longer than zero",
            );
        }
    }
    c.unique("regulations", plan.regulations.iter().map(|r| &r.id));
    for r in &plan.regulations {
        let f = format!("regulations[{}]", r.id.value);
        let trigger = r.trigger.value.trim();
        if trigger.is_empty()
            || !trigger
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        {
            c.error(
                r.trigger.line,
                format!("{f}.trigger"),
                format!(
                    "`{}` is not a fact name: use lowercase words joined by `-` (personal-data-breach)",
                    r.trigger.value
                ),
            );
        }
        if r.deadlines.is_empty() {
            c.error(
                r.id.line,
                format!("{f}.deadlines"),
                "a regulation needs a deadline",
            );
        }
        c.unique(&format!("{f}.deadlines"), r.deadlines.iter().map(|d| &d.id));
        for (i, d) in r.deadlines.iter().enumerate() {
            if let Some(after) = &d.after
                && !r.deadlines[..i].iter().any(|e| e.id.value == after.value)
            {
                c.error(
                    after.line,
                    format!("{f}.deadlines[{}].after", d.id.value),
                    format!(
                        "`{}` is not an earlier deadline of this regulation",
                        after.value
                    ),
                );
            }
        }
    }
    let mut seen = BTreeSet::new();
    for h in &plan.holidays {
        if !seen.insert(h.value) {
            c.warn(h.line, "holidays", format!("{} is listed twice", h.value));
        }
    }
    for w in &ctx.open_work {
        let due = model::time::format_iso(w.due_ms);
        if w.overdue {
            c.warn(
                0,
                format!("case {}: {}", w.case, w.field),
                format!("{}: OVERDUE since {due}", w.what),
            );
        } else if w.field.starts_with("regulations[") {
            c.warn(
                0,
                format!("case {}: {}", w.case, w.field),
                format!("{}: due by {due}", w.what),
            );
        }
    }
}
