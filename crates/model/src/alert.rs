//! Alerts: a rule (or a finding, or a correlation) fired on events.

use crate::event::{Severity, SourceKind};
use serde::Serialize;

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

/// One alert, with the context a responder triages on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub rule_id: String,
    pub rule_title: String,
    pub severity: Severity,
    /// Rule tags as written (`attack.t1078.004`, `attack.persistence`).
    pub tags: Vec<String>,
    /// ATT&CK technique ids (`T1078.004`).
    pub techniques: Vec<String>,
    /// ATT&CK tactics (`persistence`).
    pub tactics: Vec<String>,
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
    pub file: String,
    pub line: u64,
    pub kind: AlertKind,
}

impl Alert {
    /// `file:line` of the (first) event.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}
