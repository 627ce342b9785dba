//! One pass over a JSON record that both recognizes its shape and captures the CloudTrail
//! fields, so the common case (a CloudTrail event) is parsed exactly once, borrowing.

use crate::lenient::{Key, Str};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// Top-level keys of a JSON record, as far as recognizing and normalizing it needs.
/// Lowercase spellings (Athena exports) are accepted for the CloudTrail fields.
#[derive(Default)]
pub(crate) struct Probe<'a> {
    pub event_time: Str<'a>,
    pub timestamp: Str<'a>,
    pub event_name: Str<'a>,
    pub event_source: Str<'a>,
    pub aws_region: Str<'a>,
    pub event_id: Str<'a>,
    pub event_type: Str<'a>,
    pub source_ip: Str<'a>,
    pub user_agent: Str<'a>,
    pub error_code: Str<'a>,
    pub error_message: Str<'a>,
    pub recipient_account: Str<'a>,
    pub request_id: Str<'a>,
    pub read_only: Str<'a>,
    pub event_version: Str<'a>,
    pub user_identity: Option<&'a RawValue>,
    pub request_parameters: Option<&'a RawValue>,
    pub response_elements: Option<&'a RawValue>,
    pub additional_event_data: Option<&'a RawValue>,
    pub service_event_details: Option<&'a RawValue>,
    pub resources: Option<&'a RawValue>,
    pub tls_details: Option<&'a RawValue>,

    /// `Records` array (CloudTrail S3 files, Lambda Kinesis/S3 events).
    pub records: Option<&'a RawValue>,
    /// `Findings` / `findings` array (GetFindings responses, ASFF batches).
    pub findings: Option<&'a RawValue>,
    pub message_type: Str<'a>,
    pub detail_type: Str<'a>,
    pub detail: Option<&'a RawValue>,
    pub awslogs: Option<&'a RawValue>,
    pub kinesis: Option<&'a RawValue>,
    /// Panther's `p_log_type`, a reliable hint when present.
    pub log_type_hint: Str<'a>,
    pub digest: bool,
    pub asff: bool,
    pub guardduty: u8,
    pub flow: bool,
    /// Every top-level member, value unparsed.
    pub members: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl Probe<'_> {
    fn has_cloudtrail_keys(&self) -> bool {
        self.event_name.is_some()
            || self.event_source.is_some()
            || self.event_version.is_some()
            || self.user_identity.is_some()
            || (self.event_time.is_some()
                && (self.aws_region.is_some() || self.recipient_account.is_some()))
    }
}

/// What a JSON record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    CloudTrail,
    /// `{"Records":[…]}`: CloudTrail file or Lambda event batch.
    RecordsEnvelope,
    /// `{"Findings":[…]}`.
    FindingsEnvelope,
    /// EventBridge envelope (`detail-type`, `detail`).
    EventBridge,
    CloudWatchLogs,
    /// Lambda CloudWatch Logs event: `{"awslogs":{"data":"…"}}`.
    AwsLogs,
    /// Kinesis record in a Lambda event: `{"kinesis":{"data":"…"}}`.
    Kinesis,
    Digest,
    GuardDuty,
    SecurityHub,
    FlowJson,
    Unknown,
}

impl Probe<'_> {
    pub fn shape(&self) -> Shape {
        match self.log_type_hint.get() {
            Some("AWS.CloudTrail") => return Shape::CloudTrail,
            Some("AWS.VPCFlow" | "OCSF.NetworkActivity") => return Shape::FlowJson,
            Some("AWS.GuardDuty") => return Shape::GuardDuty,
            Some("AWS.SecurityFindingFormat" | "AWS.SecurityHub") => return Shape::SecurityHub,
            _ => {}
        }
        if self.records.is_some() {
            Shape::RecordsEnvelope
        } else if self.findings.is_some() {
            Shape::FindingsEnvelope
        } else if self.digest {
            Shape::Digest
        } else if self.message_type.is_some() {
            Shape::CloudWatchLogs
        } else if self.awslogs.is_some() {
            Shape::AwsLogs
        } else if self.kinesis.is_some() {
            Shape::Kinesis
        } else if self.detail_type.is_some() && self.detail.is_some() {
            Shape::EventBridge
        } else if self.has_cloudtrail_keys() {
            Shape::CloudTrail
        } else if self.asff {
            Shape::SecurityHub
        } else if self.guardduty >= 2 {
            Shape::GuardDuty
        } else if self.flow {
            Shape::FlowJson
        } else {
            Shape::Unknown
        }
    }
}

struct ProbeVisitor;

impl<'de> Visitor<'de> for ProbeVisitor {
    type Value = Probe<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Probe<'de>, A::Error> {
        let mut p = Probe {
            members: Vec::with_capacity(24),
            ..Probe::default()
        };
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let raw: &'de RawValue = map.next_value()?;
            // First occurrence wins for duplicated keys.
            macro_rules! str_field {
                ($f:ident) => {{
                    if p.$f.0.is_none() {
                        p.$f = Str::from_raw(raw);
                    }
                }};
            }
            macro_rules! raw_field {
                ($f:ident) => {{
                    if p.$f.is_none() {
                        p.$f = Some(raw);
                    }
                }};
            }
            match key.as_ref() {
                "eventTime" | "eventtime" => str_field!(event_time),
                "@timestamp" => str_field!(timestamp),
                "eventName" | "eventname" => str_field!(event_name),
                "eventSource" | "eventsource" => str_field!(event_source),
                "awsRegion" | "awsregion" => str_field!(aws_region),
                "eventID" | "eventid" => str_field!(event_id),
                "eventType" | "eventtype" => str_field!(event_type),
                "sourceIPAddress" | "sourceipaddress" => str_field!(source_ip),
                "userAgent" | "useragent" => str_field!(user_agent),
                "errorCode" | "errorcode" => str_field!(error_code),
                "errorMessage" | "errormessage" => str_field!(error_message),
                "recipientAccountId" | "recipientaccountid" => str_field!(recipient_account),
                "requestID" | "requestid" => str_field!(request_id),
                "readOnly" | "readonly" => str_field!(read_only),
                "eventVersion" | "eventversion" => str_field!(event_version),
                "userIdentity" | "useridentity" => raw_field!(user_identity),
                "requestParameters" | "requestparameters" => raw_field!(request_parameters),
                "responseElements" | "responseelements" => raw_field!(response_elements),
                "additionalEventData" | "additionaleventdata" => raw_field!(additional_event_data),
                "serviceEventDetails" | "serviceeventdetails" => raw_field!(service_event_details),
                "resources" => raw_field!(resources),
                "tlsDetails" | "tlsdetails" => raw_field!(tls_details),
                "Records" => raw_field!(records),
                "Findings" | "findings" => raw_field!(findings),
                "messageType" => str_field!(message_type),
                "detail-type" => str_field!(detail_type),
                "detail" => raw_field!(detail),
                "awslogs" => raw_field!(awslogs),
                "kinesis" => raw_field!(kinesis),
                "p_log_type" => str_field!(log_type_hint),
                "digestStartTime"
                | "digestEndTime"
                | "digestPublicKeyFingerprint"
                | "previousDigestSignature" => p.digest = true,
                "SchemaVersion" | "ProductArn" | "AwsAccountId" | "GeneratorId" => p.asff = true,
                "schemaVersion" | "service" | "severity" | "partition" => p.guardduty += 1,
                "srcAddr" | "dstAddr" | "srcaddr" | "dstaddr" | "src_endpoint" | "dst_endpoint"
                | "interfaceId" | "logStatus" | "log-status" => p.flow = true,
                _ => {}
            }
            p.members.push((key, raw));
        }
        Ok(p)
    }
}

impl<'de> Deserialize<'de> for Probe<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ProbeVisitor)
    }
}
