//! Alerts: a rule (or a finding, or a correlation) fired on events.
//!
//! An alert shares its two heavy parts: the rule's description (one per rule) and the
//! event's context (one per matching event, however many rules matched it).

use crate::event::{Severity, SourceKind};
use serde::Serialize;
use std::sync::Arc;

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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

/// The event side of an alert: what a responder triages on.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// `file:line` of the event the alert is located at.
    pub fn location(&self) -> String {
        self.event.location()
    }
}
