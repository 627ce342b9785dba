//! A case's severity. The incident response plan's severity rules decide when a plan
//! is configured (crate `plan`); otherwise a built-in matrix does.

use crate::domain::Domain;
use model::Severity;
use serde::{Deserialize, Serialize};

/// What severity is decided on.
#[derive(Debug, Clone, Default)]
pub struct CaseFacts<'a> {
    /// Severity of each alert.
    pub alert_severities: Vec<Severity>,
    /// ATT&CK tactics across the case's alerts (`persistence`, `impact`).
    pub tactics: &'a [String],
    pub domains: &'a [Domain],
    pub accounts: &'a [String],
    /// Whether the account root user acted.
    pub root_involved: bool,
    /// Tags of the resources the case's findings name (`env` = `prod`).
    pub resource_tags: &'a [(String, String)],
}

/// A decided severity and the reasons behind it, in the order they applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub severity: Severity,
    pub reasons: Vec<String>,
    /// What the incident response plan demands at this severity; `None` without a plan.
    pub response: Option<ResponseTerms>,
}

/// A plan's severity level as it applies to one case: response deadlines and the
/// escalation chain, as offsets from the moment the case reached the level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseTerms {
    /// The plan and its revision (`Example Corp IR plan rev 2026.2`).
    pub plan: String,
    /// Level id (`sev1`) and display name (`Critical`).
    pub level: String,
    pub level_name: String,
    /// Service levels: acknowledge (an owner takes the case), contain, communicate.
    pub acknowledge_ms: i64,
    pub contain_ms: i64,
    pub communicate_ms: i64,
    pub escalation: Vec<EscalationStep>,
}

/// One escalation step: who is called, how, once the case has been at its level this
/// long without being acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStep {
    pub after_ms: i64,
    /// People to notify, as `Name (contact-id)`.
    pub notify: Vec<String>,
    /// Channel id, when the plan names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The level this step belongs to: differs from the case's level once the chain has
    /// run into a more severe level's chain.
    pub level: String,
}

/// Decides a case's severity from its facts.
pub trait SeverityPolicy {
    fn assess(&self, facts: &CaseFacts<'_>) -> Assessment;
}

/// The built-in matrix: the highest alert severity, raised one level (to at most
/// critical) when the case shows a multi-stage attack (three or more ATT&CK tactics),
/// root user activity, or impact or exfiltration.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultMatrix;

fn raise(s: Severity) -> Severity {
    match s {
        Severity::Unknown | Severity::Informational => Severity::Low,
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        Severity::High | Severity::Critical => Severity::Critical,
    }
}

impl SeverityPolicy for DefaultMatrix {
    fn assess(&self, facts: &CaseFacts<'_>) -> Assessment {
        let base = facts
            .alert_severities
            .iter()
            .copied()
            .max()
            .unwrap_or(Severity::Unknown);
        let mut reasons = vec![format!("highest alert severity is {}", base.name())];
        let mut raisers = Vec::new();
        if facts.tactics.len() >= 3 {
            raisers.push(format!(
                "{} ATT&CK tactics suggest a multi-stage attack",
                facts.tactics.len()
            ));
        }
        if facts.root_involved {
            raisers.push("the account root user acted".to_string());
        }
        let hit: Vec<&str> = ["impact", "exfiltration"]
            .into_iter()
            .filter(|t| facts.tactics.iter().any(|x| x == t))
            .collect();
        if !hit.is_empty() {
            raisers.push(format!("ATT&CK {} observed", hit.join(" and ")));
        }
        let severity = if raisers.is_empty() || base < Severity::Low {
            base
        } else {
            reasons.push(format!(
                "raised to {}: {}",
                raise(base).name(),
                raisers.join("; ")
            ));
            raise(base)
        };
        Assessment {
            severity,
            reasons,
            response: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix() {
        let tactics = [
            "persistence".to_string(),
            "defense-evasion".into(),
            "impact".into(),
        ];
        let facts = CaseFacts {
            alert_severities: vec![Severity::Medium, Severity::High],
            tactics: &tactics,
            ..Default::default()
        };
        let a = DefaultMatrix.assess(&facts);
        assert_eq!(a.severity, Severity::Critical);
        assert!(a.reasons[1].contains("3 ATT&CK tactics"), "{:?}", a.reasons);
        let one = ["discovery".to_string()];
        let facts = CaseFacts {
            alert_severities: vec![Severity::Low],
            tactics: &one,
            ..Default::default()
        };
        assert_eq!(DefaultMatrix.assess(&facts).severity, Severity::Low);
        let facts = CaseFacts {
            alert_severities: vec![Severity::Medium],
            root_involved: true,
            ..Default::default()
        };
        assert_eq!(DefaultMatrix.assess(&facts).severity, Severity::High);
        let info = CaseFacts {
            alert_severities: vec![Severity::Informational],
            root_involved: true,
            ..Default::default()
        };
        assert_eq!(
            DefaultMatrix.assess(&info).severity,
            Severity::Informational
        );
    }
}
