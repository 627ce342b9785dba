//! The normalized event every reader produces, aligned with OCSF 1.1 classes.
//!
//! Fields borrow from the input buffer where they can (`Text<'a>`), so the ingest hot path
//! allocates only for the few values that needed unescaping.

use serde::Serialize;
use std::borrow::Cow;

/// Text borrowed from the input where possible.
pub type Text<'a> = Cow<'a, str>;

/// Which AWS log family a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    CloudTrail,
    VpcFlow,
    GuardDuty,
    SecurityHub,
}

impl SourceKind {
    pub const ALL: [SourceKind; 4] = [
        Self::CloudTrail,
        Self::VpcFlow,
        Self::GuardDuty,
        Self::SecurityHub,
    ];

    /// Stable lowercase name used on the command line and in output.
    pub fn name(self) -> &'static str {
        match self {
            Self::CloudTrail => "cloudtrail",
            Self::VpcFlow => "vpcflow",
            Self::GuardDuty => "guardduty",
            Self::SecurityHub => "securityhub",
        }
    }
}

/// OCSF 1.1 event class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum EventClass {
    /// API Activity (6003): CloudTrail management and data events.
    ApiActivity,
    /// Authentication (3002): console sign-ins.
    Authentication,
    /// Network Activity (4001): VPC Flow Log records.
    NetworkActivity,
    /// Detection Finding (2004): GuardDuty and Security Hub findings.
    DetectionFinding,
}

impl EventClass {
    pub fn uid(self) -> u32 {
        match self {
            Self::ApiActivity => 6003,
            Self::Authentication => 3002,
            Self::NetworkActivity => 4001,
            Self::DetectionFinding => 2004,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::ApiActivity => "API Activity",
            Self::Authentication => "Authentication",
            Self::NetworkActivity => "Network Activity",
            Self::DetectionFinding => "Detection Finding",
        }
    }
    pub fn category_uid(self) -> u32 {
        self.uid() / 1000
    }
    pub fn category_name(self) -> &'static str {
        match self {
            Self::ApiActivity => "Application Activity",
            Self::Authentication => "Identity & Access Management",
            Self::NetworkActivity => "Network Activity",
            Self::DetectionFinding => "Findings",
        }
    }
}

/// OCSF severity (`severity_id`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Unknown,
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn id(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::Informational => 1,
            Self::Low => 2,
            Self::Medium => 3,
            Self::High => 4,
            Self::Critical => 5,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "Unknown",
            Self::Informational => "Informational",
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
            Self::Critical => "Critical",
        }
    }
    /// Maps a label such as `HIGH`, `informational` or Sigma's `critical`.
    pub fn from_label(label: &str) -> Self {
        match label.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Self::Informational,
            "low" => Self::Low,
            "medium" | "moderate" => Self::Medium,
            "high" => Self::High,
            "critical" => Self::Critical,
            _ => Self::Unknown,
        }
    }
}

/// Who acted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Actor<'a> {
    /// `IAMUser`, `AssumedRole`, `Root`, `AWSService`, … as the log says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_type: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_arn: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<Text<'a>>,
    /// ARN of the role (or user) that issued the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_issuer_arn: Option<Text<'a>>,
    /// Session name of an assumed-role ARN (`…:assumed-role/Role/<session>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_created_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa: Option<bool>,
    /// An AWS service acting on the principal's behalf (`invokedBy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<Text<'a>>,
}

impl Actor<'_> {
    pub fn is_empty(&self) -> bool {
        *self == Actor::default()
    }
}

/// The API call of an API Activity or Authentication event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Api<'a> {
    /// `eventSource`, e.g. `iam.amazonaws.com`.
    pub service: Text<'a>,
    /// `eventName`, e.g. `CreateAccessKey`.
    pub operation: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// A resource the event touched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource<'a> {
    /// ARN or id.
    pub uid: Text<'a>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Text<'a>>,
}

/// Whether the action succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome<'a> {
    Success,
    Failure {
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<Text<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<Text<'a>>,
    },
    #[default]
    Unknown,
}

/// Flow log `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowAction {
    Accept,
    Reject,
}

/// Network details of a flow record.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Network<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_ip: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
    /// IANA protocol number (6 TCP, 17 UDP, 1 ICMP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<FlowAction>,
    /// `OK`, `NODATA` or `SKIPDATA`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_status: Option<Text<'a>>,
    /// `ingress` or `egress` (v5+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_id: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<i64>,
}

/// A security finding (GuardDuty, Security Hub).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Finding<'a> {
    pub uid: Text<'a>,
    pub title: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Text<'a>>,
    /// Finding types, e.g. `UnauthorizedAccess:IAMUser/TorIPCaller`.
    pub types: Vec<Text<'a>>,
    /// Vendor score (GuardDuty 0–10, Security Hub normalized 0–100) as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_severity: Option<f64>,
    /// Product that raised it (`GuardDuty`, or the ASFF product name/ARN).
    pub product: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_ms: Option<i64>,
}

/// The original record, kept so rules can address it by its own field paths.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw<'a> {
    /// The record's JSON text (for CloudTrail Lake exports, with embedded JSON strings expanded).
    Json(Text<'a>),
    /// A delimited text record (VPC Flow Logs) as `(field name, value)` pairs; `-` values omitted.
    Fields(Vec<(&'static str, Text<'a>)>),
}

/// Where a record was read: file (or `-`) and 1-based line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Origin<'a> {
    pub file: Text<'a>,
    pub line: u64,
}

/// One normalized event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event<'a> {
    pub class: EventClass,
    pub source: SourceKind,
    /// OCSF activity (`activity_id`) within the class.
    pub activity_id: u8,
    /// UTC epoch milliseconds; `None` when the record's time was missing or unreadable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<i64>,
    /// The record's own id (`eventID`, finding id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<Text<'a>>,
    /// Account the event happened in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Actor::is_empty")]
    pub actor: Actor<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<Api<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource<'a>>,
    pub outcome: Outcome<'a>,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Box<Network<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<Box<Finding<'a>>>,
    pub origin: Origin<'a>,
    #[serde(skip)]
    pub raw: Raw<'a>,
    /// Top-level members of a JSON record (key, unparsed value), when the reader kept
    /// them: lets rules address fields without parsing the record again.
    #[serde(skip)]
    pub members: Members<'a>,
}

/// Top-level members of a JSON record: key and unparsed value.
#[derive(Debug, Clone, Default)]
pub struct Members<'a>(pub Vec<(Text<'a>, &'a serde_json::value::RawValue)>);

impl PartialEq for Members<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|(a, b)| a.0 == b.0 && a.1.get() == b.1.get())
    }
}

impl<'a> Event<'a> {
    /// An empty event of the given class and source, to be filled by a reader.
    pub fn new(class: EventClass, source: SourceKind, origin: Origin<'a>, raw: Raw<'a>) -> Self {
        Event {
            class,
            source,
            activity_id: 0,
            time_ms: None,
            uid: None,
            account: None,
            region: None,
            actor: Actor::default(),
            src_ip: None,
            user_agent: None,
            api: None,
            resources: Vec::new(),
            outcome: Outcome::Unknown,
            severity: Severity::Informational,
            network: None,
            finding: None,
            origin,
            raw,
            members: Members::default(),
        }
    }

    /// OCSF `type_uid`: class uid × 100 + activity id.
    pub fn type_uid(&self) -> u64 {
        u64::from(self.class.uid()) * 100 + u64::from(self.activity_id)
    }

    /// The principal's display name: user name, session name or ARN.
    pub fn principal(&self) -> Option<&str> {
        self.actor
            .principal_arn
            .as_deref()
            .or(self.actor.user_name.as_deref())
            .or(self.actor.principal_id.as_deref())
    }
}

/// `text` without whitespace outside strings (compact JSON), borrowed when already compact.
pub fn compact_json(text: &str) -> Cow<'_, str> {
    let mut in_string = false;
    let mut escaped = false;
    let mut needs = false;
    for b in text.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b.is_ascii_whitespace() {
            needs = true;
            break;
        }
    }
    if !needs {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    Cow::Owned(out)
}

impl Event<'_> {
    /// Appends the normalized event as one JSON line (no trailing newline), with the
    /// original record under `raw`.
    pub fn write_jsonl(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        out.pop(); // the closing `}`
        out.extend_from_slice(b",\"raw\":");
        match &self.raw {
            Raw::Json(text) => out.extend_from_slice(compact_json(text).as_bytes()),
            Raw::Fields(fields) => {
                let map: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), serde_json::Value::from(v.as_ref())))
                    .collect();
                serde_json::to_writer(&mut *out, &map)?;
            }
        }
        out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_only_outside_strings() {
        assert_eq!(
            compact_json("{\n \"a b\": \"x\\\" y\",\n\t\"c\": [1, 2]\n}"),
            "{\"a b\":\"x\\\" y\",\"c\":[1,2]}"
        );
        assert_eq!(
            compact_json("{\"a\": 1, \"b c\": [1, 2]}"),
            "{\"a\":1,\"b c\":[1,2]}"
        );
        assert!(matches!(compact_json("{\"a\":\"x y\"}"), Cow::Borrowed(_)));
    }

    #[test]
    fn jsonl_embeds_the_original_record() {
        let ev = Event::new(
            EventClass::ApiActivity,
            SourceKind::CloudTrail,
            Origin {
                file: "f.json".into(),
                line: 3,
            },
            Raw::Json("{\n\"eventName\": \"X\"\n}".into()),
        );
        let mut out = Vec::new();
        ev.write_jsonl(&mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["raw"]["eventName"], "X");
        assert_eq!(v["origin"]["line"], 3);
        assert!(!out.contains(&b'\n'));
    }
}
