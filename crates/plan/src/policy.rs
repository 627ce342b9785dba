//! Cases take their severity and escalation from the plan: the first level whose
//! criteria a case meets, with that level's SLAs and escalation chain.

use crate::model::{Criteria, IrPlan, Level};
use case::{Assessment, CaseFacts, EscalationStep, ResponseTerms, SeverityPolicy};
use model::Severity;
use std::collections::BTreeSet;

/// The plan's severity levels as a [`SeverityPolicy`].
#[derive(Debug, Clone, Copy)]
pub struct PlanPolicy<'p> {
    pub plan: &'p IrPlan,
}

impl<'p> PlanPolicy<'p> {
    pub fn new(plan: &'p IrPlan) -> Self {
        PlanPolicy { plan }
    }

    /// Why `c` holds for `facts` (one reason per condition), or `None` when it does not.
    fn meets(&self, c: &Criteria, facts: &CaseFacts<'_>) -> Option<Vec<String>> {
        let plan = self.plan;
        let mut why = Vec::new();
        let accounts: Vec<&crate::model::Account> = facts
            .accounts
            .iter()
            .filter_map(|a| plan.account(a))
            .collect();
        if let Some(min) = c.min_alert {
            let top = facts
                .alert_severities
                .iter()
                .copied()
                .max()
                .unwrap_or(Severity::Unknown);
            if top < min {
                return None;
            }
            why.push(format!(
                "an alert is {} (at least {})",
                top.name(),
                min.name()
            ));
        }
        if !c.domains.is_empty() {
            let hit = facts
                .domains
                .iter()
                .find(|d| c.domains.iter().any(|x| x.value == d.name()))?;
            why.push(format!("{} domain", hit.name()));
        }
        if !c.accounts.is_empty() {
            let hit = facts
                .accounts
                .iter()
                .find(|a| c.accounts.iter().any(|x| &x.value == *a))?;
            why.push(format!("account {hit}"));
        }
        if !c.tags.is_empty() {
            let tagged = |tags: &dyn Fn(&str, &str) -> bool| c.tags.iter().all(|(k, v)| tags(k, v));
            let wanted = c
                .tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            if let Some(a) = accounts
                .iter()
                .find(|a| tagged(&|k, v| a.tags.get(k).is_some_and(|x| x == v)))
            {
                why.push(format!(
                    "account {} ({}) is tagged {wanted}",
                    a.id.value, a.name
                ));
            } else if tagged(&|k, v| facts.resource_tags.iter().any(|(a, b)| a == k && b == v)) {
                why.push(format!("a resource in the findings is tagged {wanted}"));
            } else {
                return None;
            }
        }
        if let Some(min) = &c.data_at_least {
            let rank = |d: &str| plan.data_classifications.iter().position(|x| x == d);
            let need = rank(&min.value)?;
            let a = accounts.iter().find(|a| {
                a.data
                    .as_ref()
                    .and_then(|d| rank(&d.value))
                    .is_some_and(|r| r >= need)
            })?;
            let data = a.data.as_ref().map_or("", |d| d.value.as_str());
            why.push(format!(
                "account {} ({}) holds {data} data",
                a.id.value, a.name
            ));
        }
        if !c.tactics.is_empty() {
            let hit = facts.tactics.iter().find(|t| c.tactics.contains(t))?;
            why.push(format!("ATT&CK {hit}"));
        }
        if let Some(root) = c.root {
            if facts.root_involved != root {
                return None;
            }
            why.push(
                if root {
                    "the root user acted"
                } else {
                    "no root activity"
                }
                .to_string(),
            );
        }
        if why.is_empty() {
            why.push("matches every case".to_string());
        }
        Some(why)
    }

    /// `Name (id)` for a contact, every member for `role:<id>`.
    fn people(&self, who: &str) -> Vec<String> {
        let contact = |id: &str| match self.plan.contact(id) {
            Some(c) => format!("{} ({id})", c.name),
            None => id.to_string(),
        };
        match who.strip_prefix("role:") {
            Some(role) => match self.plan.role(role) {
                Some(r) => r
                    .members
                    .iter()
                    .map(|m| format!("{} as {}", contact(&m.value), r.name))
                    .collect(),
                None => vec![who.to_string()],
            },
            None => vec![contact(who)],
        }
    }

    /// The level's chain, continued into the chains it escalates to (each once).
    fn chain(&self, level: &Level) -> Vec<EscalationStep> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut offset = 0;
        let mut at = Some(level);
        while let Some(l) = at.filter(|l| seen.insert(l.id.value.as_str())) {
            for s in &l.escalation {
                out.push(EscalationStep {
                    after_ms: offset + s.after.0,
                    notify: s
                        .notify
                        .iter()
                        .flat_map(|w| self.people(&w.value))
                        .collect(),
                    via: s.via.as_ref().map(|v| v.value.clone()),
                    level: l.id.value.clone(),
                });
            }
            offset = out.last().map_or(offset, |s| s.after_ms);
            at = l
                .escalate_to
                .as_ref()
                .and_then(|n| self.plan.level(&n.value));
        }
        out
    }

    fn terms(&self, level: &Level) -> ResponseTerms {
        let sla = level.sla.as_ref();
        let ms = |f: fn(&crate::model::Sla) -> Option<crate::Interval>| {
            sla.and_then(|s| f(s)).map_or(0, |i| i.0)
        };
        ResponseTerms {
            plan: self.plan.title(),
            level: level.id.value.clone(),
            level_name: level.name.clone(),
            acknowledge_ms: ms(|s| s.acknowledge),
            contain_ms: ms(|s| s.contain),
            communicate_ms: ms(|s| s.communicate),
            escalation: self.chain(level),
        }
    }
}

impl SeverityPolicy for PlanPolicy<'_> {
    fn assess(&self, facts: &CaseFacts<'_>) -> Assessment {
        let chosen = self.plan.severity.iter().find_map(|level| {
            if level.when.is_empty() {
                return Some((level, vec!["the level has no criteria".to_string()]));
            }
            level
                .when
                .iter()
                .find_map(|c| self.meets(c, facts))
                .map(|why| (level, why))
        });
        let (level, why) = match chosen {
            Some(x) => x,
            None => match self.plan.severity.last() {
                Some(last) => (
                    last,
                    vec!["no level's criteria met: the plan's lowest level applies".to_string()],
                ),
                None => {
                    return Assessment {
                        severity: Severity::Unknown,
                        reasons: vec!["the plan defines no severity levels".to_string()],
                        response: None,
                    };
                }
            },
        };
        let mut reasons = vec![format!(
            "plan level {} ({}): {}",
            level.id.value,
            level.name,
            why.join("; ")
        )];
        if let Some(d) = &level.description {
            reasons.push(d.clone());
        }
        Assessment {
            severity: level.severity,
            reasons,
            response: Some(self.terms(level)),
        }
    }
}
