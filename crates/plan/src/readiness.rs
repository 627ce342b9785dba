//! IR readiness: checks scored against the AWS Well-Architected SEC10 best practices.
//! This module holds the report model, the checks the plan alone answers (freshness,
//! validity), and scoring; crate `aws` runs the checks against the accounts.

use crate::check::{CheckContext, Gravity, check};
use crate::model::{IrPlan, PhaseName};
use serde::Serialize;

/// SEC10 (Incident response) best practices of the Security Pillar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Practice {
    #[serde(rename = "SEC10-BP01")]
    KeyPersonnel,
    #[serde(rename = "SEC10-BP02")]
    ManagementPlans,
    #[serde(rename = "SEC10-BP03")]
    Forensics,
    #[serde(rename = "SEC10-BP04")]
    Playbooks,
    #[serde(rename = "SEC10-BP05")]
    PreProvisionAccess,
    #[serde(rename = "SEC10-BP06")]
    PreDeployTools,
    #[serde(rename = "SEC10-BP07")]
    Simulations,
    #[serde(rename = "SEC10-BP08")]
    Learning,
}

impl Practice {
    pub const ALL: [Practice; 8] = [
        Practice::KeyPersonnel,
        Practice::ManagementPlans,
        Practice::Forensics,
        Practice::Playbooks,
        Practice::PreProvisionAccess,
        Practice::PreDeployTools,
        Practice::Simulations,
        Practice::Learning,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Practice::KeyPersonnel => "SEC10-BP01",
            Practice::ManagementPlans => "SEC10-BP02",
            Practice::Forensics => "SEC10-BP03",
            Practice::Playbooks => "SEC10-BP04",
            Practice::PreProvisionAccess => "SEC10-BP05",
            Practice::PreDeployTools => "SEC10-BP06",
            Practice::Simulations => "SEC10-BP07",
            Practice::Learning => "SEC10-BP08",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Practice::KeyPersonnel => "Identify key personnel and external resources",
            Practice::ManagementPlans => "Develop incident management plans",
            Practice::Forensics => "Prepare forensic capabilities",
            Practice::Playbooks => "Develop and test security incident response playbooks",
            Practice::PreProvisionAccess => "Pre-provision access",
            Practice::PreDeployTools => "Pre-deploy tools",
            Practice::Simulations => "Run simulations",
            Practice::Learning => "Establish a framework for learning from incidents",
        }
    }
}

/// A readiness check: stable id (`cloudtrail.multi_region_logging`), title, and the
/// SEC10 practice it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub practice: Practice,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Could not be checked (no access, API error): counts against the score.
    Unknown,
}

/// One check in one place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id (`cloudtrail.multi_region`).
    pub check: &'static str,
    pub title: &'static str,
    pub practice: Practice,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it, for anything that did not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    /// `check`'s outcome in a place; the fix is kept only for what did not pass.
    pub fn new(
        check: &Check,
        account: Option<String>,
        region: Option<String>,
        status: Status,
        detail: String,
        fix: Option<String>,
    ) -> Finding {
        Finding {
            check: check.id,
            title: check.title,
            practice: check.practice,
            account,
            region,
            status,
            fix: fix.filter(|_| status != Status::Pass),
            detail,
        }
    }
}

/// Passed out of total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Score {
    pub passed: usize,
    pub total: usize,
    /// Whole percent, rounded down; 0 for no checks.
    pub percent: u32,
}

impl Score {
    fn of<'a>(findings: impl Iterator<Item = &'a Finding>) -> Score {
        let (mut passed, mut total) = (0, 0);
        for f in findings {
            total += 1;
            passed += usize::from(f.status == Status::Pass);
        }
        let percent = (passed * 100).checked_div(total).unwrap_or(0) as u32;
        Score {
            passed,
            total,
            percent,
        }
    }
}

/// A practice's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PracticeScore {
    pub practice: Practice,
    pub title: &'static str,
    pub score: Score,
}

/// The readiness report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub plan: String,
    pub score: Score,
    pub practices: Vec<PracticeScore>,
    pub findings: Vec<Finding>,
}

impl Report {
    /// Scores `findings` overall and per practice.
    pub fn new(plan: &IrPlan, findings: Vec<Finding>) -> Report {
        let practices = Practice::ALL
            .iter()
            .filter(|p| findings.iter().any(|f| f.practice == **p))
            .map(|&p| PracticeScore {
                practice: p,
                title: p.title(),
                score: Score::of(findings.iter().filter(|f| f.practice == p)),
            })
            .collect();
        Report {
            plan: plan.title(),
            score: Score::of(findings.iter()),
            practices,
            findings,
        }
    }

    /// The report as text: per-practice scores, then every finding that did not pass.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "IR readiness against {}: {}% ({} of {} checks pass)\n\n",
            self.plan, self.score.percent, self.score.passed, self.score.total
        );
        for p in &self.practices {
            out.push_str(&format!(
                "  {}  {:<55} {:>3}%  ({}/{})\n",
                p.practice.id(),
                p.title,
                p.score.percent,
                p.score.passed,
                p.score.total
            ));
        }
        let failed: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.status != Status::Pass)
            .collect();
        if failed.is_empty() {
            out.push_str("\nEvery check passes.\n");
            return out;
        }
        out.push_str(&format!("\nTo fix ({}):\n", failed.len()));
        for f in failed {
            let place = match (&f.account, &f.region) {
                (Some(a), Some(r)) => format!(" [{a} {r}]"),
                (Some(a), None) => format!(" [{a}]"),
                _ => String::new(),
            };
            let tag = if f.status == Status::Unknown {
                "UNKNOWN"
            } else {
                "FAIL"
            };
            out.push_str(&format!(
                "\n  {tag} {} {}{place}\n    {}\n",
                f.practice.id(),
                f.title,
                f.detail
            ));
            if let Some(fix) = &f.fix {
                out.push_str(&format!("    fix: {fix}\n"));
            }
        }
        out
    }
}

/// A finding with no account or region.
fn plan_finding(
    id: &'static str,
    title: &'static str,
    practice: Practice,
    ok: bool,
    detail: String,
    fix: &str,
) -> Finding {
    let check = Check {
        id,
        title,
        practice,
    };
    let status = if ok { Status::Pass } else { Status::Fail };
    Finding::new(&check, None, None, status, detail, Some(fix.to_string()))
}

/// The checks the plan answers by itself: validity, roles and third parties, playbook
/// coverage, review and game-day freshness, the post-incident phase.
pub fn plan_findings(plan: &IrPlan, ctx: &CheckContext<'_>) -> Vec<Finding> {
    let problems = check(plan, ctx);
    let errors: Vec<String> = problems
        .iter()
        .filter(|p| p.gravity == Gravity::Error)
        .map(|p| format!("line {}: {}: {}", p.line, p.field, p.message))
        .collect();
    let mut out = Vec::new();
    out.push(plan_finding(
        "plan.valid",
        "Incident response plan passes plan check",
        Practice::ManagementPlans,
        errors.is_empty(),
        if errors.is_empty() {
            "no errors".into()
        } else {
            format!("{} error(s); first: {}", errors.len(), errors[0])
        },
        "run `firebreak plan check` and fix every error it names",
    ));
    let unfilled: Vec<&str> = plan
        .roles
        .iter()
        .filter(|r| r.members.is_empty())
        .map(|r| r.id.value.as_str())
        .collect();
    let third = plan.roles.iter().filter(|r| r.third_party).count();
    out.push(plan_finding(
        "plan.personnel",
        "Every role filled; external parties named",
        Practice::KeyPersonnel,
        unfilled.is_empty() && third > 0,
        format!(
            "{} role(s), {} unfilled{}; {third} third-party role(s)",
            plan.roles.len(),
            unfilled.len(),
            if unfilled.is_empty() { String::new() } else { format!(" ({})", unfilled.join(", ")) }
        ),
        "fill every role with a primary and a backup; name AWS Support, legal, PR and auditors as third-party roles",
    ));
    out.push(plan_finding(
        "plan.playbooks",
        "Detections mapped to playbooks",
        Practice::Playbooks,
        !plan.responses.is_empty(),
        format!("{} playbook mapping(s)", plan.responses.len()),
        "add [[responses]] naming which playbook answers which rule or ATT&CK tag",
    ));
    let due = plan.next_review();
    out.push(plan_finding(
        "plan.reviewed",
        "Plan reviewed on schedule",
        Practice::ManagementPlans,
        due >= ctx.today,
        format!(
            "last reviewed {}, next review due {due}",
            plan.meta.last_reviewed.value
        ),
        "review the plan with the team, then update meta.last_reviewed",
    ));
    let (ok, detail) = match crate::check::last_game_day(plan, ctx) {
        Some((last, said)) => {
            let due = last.add_days(plan.exercises.game_day_every.days());
            (
                due >= ctx.today,
                format!("last game day {said}, next due {due}"),
            )
        }
        None => (false, "no game day recorded".to_string()),
    };
    out.push(plan_finding(
        "plan.game_day",
        "Game day run on schedule",
        Practice::Simulations,
        ok,
        detail,
        "run a game day (firebreak gameday run --all); it is recorded in the store",
    ));
    let post = plan.phases.get(PhaseName::PostIncident);
    let accountable = plan.roles.iter().any(|r| {
        r.raci
            .get(&PhaseName::PostIncident)
            .is_some_and(|l| l.value.to_ascii_uppercase().contains('A'))
    });
    out.push(plan_finding(
        "plan.post_incident",
        "Post-incident review owned and defined",
        Practice::Learning,
        accountable && !post.actions.is_empty(),
        format!(
            "{} post-incident action(s); {}",
            post.actions.len(),
            if accountable { "a role is accountable" } else { "no role is accountable" }
        ),
        "give the post-incident phase actions (review, metrics, owned improvements) and an accountable role",
    ));
    let overdue: Vec<&crate::check::OpenWork> =
        ctx.open_work.iter().filter(|w| w.overdue).collect();
    out.push(plan_finding(
        "cases.post_incident_work",
        "Improvement actions, reviews and notifications on time",
        Practice::Learning,
        overdue.is_empty(),
        if overdue.is_empty() {
            format!(
                "nothing overdue ({} item(s) open with a due date)",
                ctx.open_work.len()
            )
        } else {
            overdue
                .iter()
                .map(|w| {
                    format!(
                        "case {}: {} (due {})",
                        w.case,
                        w.what,
                        model::time::format_iso(w.due_ms)
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        },
        "finish or re-plan the overdue work (firebreak case action list, firebreak report review)",
    ));
    out
}
