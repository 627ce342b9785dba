//! What a case is, derived from its alerts: title, severity, domains, ATT&CK, time span.

use crate::domain::{self, Domain};
use crate::severity::{Assessment, CaseFacts, SeverityPolicy};
use model::{Alert, AlertKind, Entity, EntityKind, Severity};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

/// An alert as a case keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// Identifies the alert across re-runs: rule id and record key.
    pub key: String,
    pub rule_id: String,
    pub rule_title: String,
    pub severity: Severity,
    /// `rule`, `finding` or `correlation`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<i64>,
    pub event_key: String,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub location: String,
    pub tactics: Vec<String>,
    pub techniques: Vec<String>,
    pub domain: Domain,
    pub entities: Vec<Entity>,
    /// Tags of the resources a finding names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_tags: Vec<(String, String)>,
}

impl AlertRecord {
    /// The record of an alert raised with event context (`Detector::with_context`);
    /// `None` without it.
    pub fn from_alert(a: &Alert) -> Option<Self> {
        let ctx = a.event.context.as_deref()?;
        let kind = match &a.kind {
            AlertKind::Rule => "rule",
            AlertKind::Finding => "finding",
            AlertKind::Correlation { .. } => "correlation",
        };
        Some(AlertRecord {
            key: format!("{}|{}", a.rule.id, ctx.key),
            rule_id: a.rule.id.clone(),
            rule_title: a.rule.title.clone(),
            severity: a.rule.severity,
            kind: kind.to_string(),
            time_ms: a.event.time_ms,
            event_key: ctx.key.clone(),
            source: a.event.source.name().to_string(),
            operation: a.event.operation.clone(),
            principal: a.event.principal.clone(),
            access_key_id: a.event.access_key_id.clone(),
            src_ip: a.event.src_ip.clone(),
            account: a.event.account.clone(),
            region: a.event.region.clone(),
            location: a.location(),
            tactics: a.rule.tactics.clone(),
            techniques: a.rule.techniques.clone(),
            domain: domain::classify(
                a.event.source,
                ctx.service.as_deref(),
                a.event.operation.as_deref(),
                &ctx.finding_types,
            ),
            entities: ctx.entities.clone(),
            resource_tags: ctx.resource_tags.clone(),
        })
    }
}

/// A case's derived description.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derived {
    pub title: String,
    pub assessment: Assessment,
    /// Domains, most alerts first.
    pub domains: Vec<Domain>,
    pub tactics: Vec<String>,
    pub techniques: Vec<String>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

fn short(entity: &Entity) -> &str {
    match entity.kind {
        EntityKind::Principal | EntityKind::Session | EntityKind::Role => entity
            .value
            .rsplit(['/', ':'])
            .next()
            .unwrap_or(&entity.value),
        _ => &entity.value,
    }
}

/// Most severe first, then earliest, then by key: which alert names the case.
fn rank(a: &AlertRecord) -> (Severity, Reverse<Option<i64>>, Reverse<&str>) {
    (a.severity, Reverse(a.time_ms), Reverse(a.key.as_str()))
}

/// Derives the case description from its alerts (in any order).
pub fn derive(alerts: &[AlertRecord], policy: &dyn SeverityPolicy) -> Derived {
    let mut tactics: BTreeSet<&String> = BTreeSet::new();
    let mut techniques: BTreeSet<&String> = BTreeSet::new();
    let mut domains: BTreeMap<Domain, usize> = BTreeMap::new();
    let mut actors: BTreeMap<&Entity, usize> = BTreeMap::new();
    let mut accounts: Vec<String> = Vec::new();
    let mut root = false;
    let mut tags: BTreeSet<&(String, String)> = BTreeSet::new();
    for a in alerts {
        tags.extend(&a.resource_tags);
        tactics.extend(&a.tactics);
        techniques.extend(&a.techniques);
        *domains.entry(a.domain).or_default() += 1;
        for e in &a.entities {
            match e.kind {
                EntityKind::Principal | EntityKind::Session => {
                    root |= e.value.ends_with(":root");
                    *actors.entry(e).or_default() += 1;
                }
                EntityKind::Account if !accounts.contains(&e.value) => {
                    accounts.push(e.value.clone())
                }
                _ => {}
            }
        }
    }
    let tactics: Vec<String> = tactics.into_iter().cloned().collect();
    let techniques: Vec<String> = techniques.into_iter().cloned().collect();
    let mut domain_list: Vec<(Domain, usize)> = domains.into_iter().collect();
    domain_list.sort_by_key(|(d, n)| (Reverse(*n), *d));
    let domains: Vec<Domain> = domain_list.into_iter().map(|(d, _)| d).collect();
    let facts = CaseFacts {
        alert_severities: alerts.iter().map(|a| a.severity).collect(),
        tactics: &tactics,
        domains: &domains,
        accounts: &accounts,
        root_involved: root,
        resource_tags: &tags.into_iter().cloned().collect::<Vec<_>>(),
    };
    let assessment = policy.assess(&facts);
    let main_actor = actors
        .iter()
        .max_by_key(|(e, n)| (**n, Reverse(*e)))
        .map(|(e, _)| *e);
    // The title names the most severe alert of the main actor, else the most severe overall.
    let top = alerts
        .iter()
        .filter(|a| main_actor.is_some_and(|m| a.entities.contains(m)))
        .max_by_key(|a| rank(a))
        .or_else(|| alerts.iter().max_by_key(|a| rank(a)));
    let actor = main_actor.map(|e| short(e).to_string()).or_else(|| {
        let first = alerts.iter().flat_map(|a| &a.entities).find(|e| {
            matches!(e.kind, EntityKind::AccessKey | EntityKind::Instance)
                || (e.kind == EntityKind::Ip && e.links())
        })?;
        Some(first.value.clone())
    });
    let title = match (top, actor) {
        (Some(a), Some(who)) => format!("{} ({who})", a.rule_title),
        (Some(a), None) => a.rule_title.clone(),
        (None, _) => "Empty case".to_string(),
    };
    Derived {
        title,
        assessment,
        domains,
        tactics,
        techniques,
        first_ms: alerts.iter().filter_map(|a| a.time_ms).min(),
        last_ms: alerts.iter().filter_map(|a| a.time_ms).max(),
    }
}
