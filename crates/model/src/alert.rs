//! Alerts: a rule (or a finding, or a correlation) fired on events.
//!
//! An alert shares its two heavy parts: the rule's description (one per rule) and the
//! event's context (one per matching event, however many rules matched it).

use crate::entity::Entity;
use crate::event::{Severity, SourceKind};
use serde::Serialize;
use std::sync::{Arc, OnceLock};

/// What raised the alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AlertKind {
    /// A Sigma rule matched one event.
    Rule,
    /// A GuardDuty or Security Hub finding.
    Finding,
    /// A Sigma correlation rule over several events.
    Correlation {
        correlation: String,
        /// `group-by` field → value.
        group: Vec<(String, String)>,
        /// The count, sum, average or percentile that met the condition.
        value: f64,
        /// Every contributing event as `file:line`.
        events: Vec<String>,
    },
}

/// The rule side of an alert.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRef {
    #[serde(rename = "rule_id")]
    pub id: String,
    #[serde(rename = "rule_title")]
    pub title: String,
    pub severity: Severity,
    /// Rule tags as written (`attack.t1078.004`, `attack.persistence`).
    pub tags: Vec<String>,
    /// ATT&CK technique ids (`T1078.004`).
    pub techniques: Vec<String>,
    /// ATT&CK tactics (`persistence`).
    pub tactics: Vec<String>,
    /// These fields as JSON object members, rendered once.
    #[serde(skip)]
    pub json: OnceLock<Box<str>>,
}

impl PartialEq for RuleRef {
    fn eq(&self, o: &Self) -> bool {
        (
            &self.id,
            &self.title,
            self.severity,
            &self.tags,
            &self.techniques,
            &self.tactics,
        ) == (
            &o.id,
            &o.title,
            o.severity,
            &o.tags,
            &o.techniques,
            &o.tactics,
        )
    }
}

/// An object's JSON members without the braces (`"a":1,"b":2`).
fn members_json<T: Serialize>(value: &T) -> Box<str> {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "{}".into());
    text[1..text.len() - 1].into()
}

impl RuleRef {
    fn json(&self) -> &str {
        self.json.get_or_init(|| members_json(self))
    }
}

/// The event side of an alert: what a responder triages on.
#[derive(Debug, Clone, Serialize)]
pub struct EventRef {
    pub source: SourceKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub file: Arc<str>,
    pub line: u64,
    /// What case building needs beyond triage fields; filled only when the detector is
    /// asked for it (`hunt --cases`), so plain hunting does not pay for it.
    #[serde(skip)]
    pub context: Option<Arc<EventContext>>,
    /// These fields as JSON object members, rendered once.
    #[serde(skip)]
    pub json: OnceLock<Box<str>>,
}

/// The parts of an alerting event that case building reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventContext {
    /// [`crate::entity::event_key`]: identifies the record across re-reads.
    pub key: String,
    /// [`crate::entity::entities`] of the event.
    pub entities: Vec<Entity>,
    /// `eventSource` (`iam.amazonaws.com`) of API events.
    pub service: Option<String>,
    /// Finding types (`CryptoCurrency:EC2/BitcoinTool.B!DNS`) of findings.
    pub finding_types: Vec<String>,
    /// [`crate::entity::resource_tags`] of findings.
    pub resource_tags: Vec<(String, String)>,
}

impl PartialEq for EventRef {
    fn eq(&self, o: &Self) -> bool {
        (
            self.source,
            self.time_ms,
            &self.account,
            &self.region,
            &self.principal,
            &self.access_key_id,
            &self.src_ip,
            &self.event_uid,
            &self.operation,
            &self.file,
            self.line,
        ) == (
            o.source,
            o.time_ms,
            &o.account,
            &o.region,
            &o.principal,
            &o.access_key_id,
            &o.src_ip,
            &o.event_uid,
            &o.operation,
            &o.file,
            o.line,
        )
    }
}

impl EventRef {
    /// `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    #[serde(flatten)]
    pub rule: Arc<RuleRef>,
    #[serde(flatten)]
    pub event: Arc<EventRef>,
    pub kind: AlertKind,
}

impl Alert {
    /// Appends the alert as one JSON object (no newline). The rule and event parts are
    /// rendered once and reused by every alert that shares them.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.push(b'{');
        out.extend_from_slice(self.rule.json().as_bytes());
        out.push(b',');
        out.extend_from_slice(
            self.event
                .json
                .get_or_init(|| members_json(&*self.event))
                .as_bytes(),
        );
        match &self.kind {
            AlertKind::Rule => out.extend_from_slice(br#","kind":{"type":"rule"}"#),
            AlertKind::Finding => out.extend_from_slice(br#","kind":{"type":"finding"}"#),
            kind => {
                out.extend_from_slice(b",\"kind\":");
                serde_json::to_writer(&mut *out, kind)?;
            }
        }
        out.push(b'}');
        Ok(())
    }

    /// `file:line` of the event the alert is located at.
    pub fn location(&self) -> String {
        self.event.location()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spliced_json_equals_serde() {
        let rule = Arc::new(RuleRef {
            id: "r\"1".into(),
            title: "T".into(),
            severity: Severity::High,
            tags: vec!["attack.t1078".into()],
            techniques: vec!["T1078".into()],
            tactics: vec![],
            json: OnceLock::new(),
        });
        let event = Arc::new(EventRef {
            source: SourceKind::CloudTrail,
            time_ms: Some(1),
            account: Some("1".into()),
            region: None,
            principal: Some("arn:\u{e9}".into()),
            access_key_id: None,
            src_ip: None,
            event_uid: None,
            operation: Some("X".into()),
            file: Arc::from("f"),
            line: 3,
            context: None,
            json: OnceLock::new(),
        });
        let alert = Alert {
            rule,
            event,
            kind: AlertKind::Correlation {
                correlation: "event_count".into(),
                group: vec![("a".into(), "b".into())],
                value: 2.0,
                events: vec!["f:3".into()],
            },
        };
        let mut spliced = Vec::new();
        alert.write_json(&mut spliced).unwrap();
        alert.write_json(&mut Vec::new()).unwrap();
        let a: serde_json::Value = serde_json::from_slice(&spliced).unwrap();
        let b: serde_json::Value = serde_json::to_value(&alert).unwrap();
        assert_eq!(a, b);
    }
}
