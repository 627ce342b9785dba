//! Rendering an [`Event`] as an OCSF 1.1 JSON object (classes 6003, 3002, 4001, 2004).
//!
//! Typed, borrowed views serialized by serde: no JSON DOM is built per event.

use crate::event::{Event, EventClass, FlowAction, Outcome, Raw, SourceKind};
use crate::time::format_iso;
use serde::Serialize;

/// OCSF schema version the output claims.
pub const OCSF_VERSION: &str = "1.1.0";

#[derive(Serialize)]
struct Product {
    name: &'static str,
    vendor_name: &'static str,
}

#[derive(Serialize)]
struct Metadata<'e> {
    version: &'static str,
    product: Product,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_time: Option<String>,
    log_name: String,
}

#[derive(Serialize)]
struct Account<'e> {
    uid: &'e str,
}

#[derive(Serialize)]
struct Cloud<'e> {
    provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<Account<'e>>,
}

#[derive(Serialize)]
struct User<'e> {
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid_alt: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'e str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credential_uid: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<Account<'e>>,
}

#[derive(Serialize)]
struct Session<'e> {
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_mfa: Option<bool>,
}

#[derive(Serialize)]
struct ActorView<'e> {
    user: User<'e>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<Session<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoked_by: Option<&'e str>,
}

#[derive(Serialize)]
struct ServiceName<'e> {
    name: &'e str,
}

#[derive(Serialize)]
struct Request<'e> {
    uid: &'e str,
}

#[derive(Serialize)]
struct Response<'e> {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'e str>,
}

#[derive(Serialize)]
struct ApiView<'e> {
    operation: &'e str,
    service: ServiceName<'e>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<Request<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<Response<'e>>,
}

#[derive(Serialize, Default)]
struct Endpoint<'e> {
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interface_uid: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_uid: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subnet_uid: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance_uid: Option<&'e str>,
}

#[derive(Serialize)]
struct HttpRequest<'e> {
    user_agent: &'e str,
}

#[derive(Serialize)]
struct ResourceView<'e> {
    uid: &'e str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<User<'e>>,
}

#[derive(Serialize)]
struct ConnectionInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol_num: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction_id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp_flags: Option<u16>,
}

#[derive(Serialize)]
struct Traffic {
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    packets: Option<u64>,
}

#[derive(Serialize)]
struct FindingInfo<'e> {
    uid: &'e str,
    title: &'e str,
    #[serde(skip_serializing_if = "Option::is_none")]
    desc: Option<&'e str>,
    types: Vec<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    modified_time: Option<i64>,
    product_uid: &'e str,
}

#[derive(Serialize)]
struct OcsfEvent<'e> {
    class_uid: u32,
    class_name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    activity_id: u8,
    activity_name: &'static str,
    type_uid: u64,
    type_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<i64>,
    severity_id: u8,
    severity: &'static str,
    status_id: u8,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_detail: Option<&'e str>,
    metadata: Metadata<'e>,
    cloud: Cloud<'e>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<ActorView<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<User<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_mfa: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api: Option<ApiView<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_endpoint: Option<Endpoint<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst_endpoint: Option<Endpoint<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_request: Option<HttpRequest<'e>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resources: Vec<ResourceView<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_info: Option<ConnectionInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    traffic: Option<Traffic>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action_id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disposition_id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finding_info: Option<FindingInfo<'e>>,
    raw_data: String,
}

/// OCSF activity name for a class and activity id.
pub fn activity_name(class: EventClass, activity_id: u8) -> &'static str {
    match (class, activity_id) {
        (EventClass::ApiActivity, 1) | (EventClass::DetectionFinding, 1) => "Create",
        (EventClass::ApiActivity, 2) => "Read",
        (EventClass::ApiActivity, 3) | (EventClass::DetectionFinding, 2) => "Update",
        (EventClass::ApiActivity, 4) => "Delete",
        (EventClass::DetectionFinding, 3) => "Close",
        (EventClass::Authentication, 1) => "Logon",
        (EventClass::Authentication, 2) => "Logoff",
        (EventClass::NetworkActivity, 6) => "Traffic",
        (_, 0) => "Unknown",
        _ => "Other",
    }
}

fn product_name(source: SourceKind) -> &'static str {
    match source {
        SourceKind::CloudTrail => "CloudTrail",
        SourceKind::VpcFlow => "Amazon VPC",
        SourceKind::GuardDuty => "GuardDuty",
        SourceKind::SecurityHub => "Security Hub",
    }
}

/// The record's original text for `raw_data`.
pub fn raw_text(raw: &Raw<'_>) -> String {
    match raw {
        Raw::Json(text) => text.to_string(),
        Raw::Fields(fields) => {
            let map: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(k, v)| ((*k).to_string(), serde_json::Value::from(v.as_ref())))
                .collect();
            serde_json::Value::Object(map).to_string()
        }
    }
}

/// Serializes `event` as one OCSF 1.1 JSON object appended to `out`.
pub fn write_ocsf(event: &Event<'_>, out: &mut Vec<u8>) -> serde_json::Result<()> {
    serde_json::to_writer(out, &view(event))
}

fn account(uid: Option<&str>) -> Option<Account<'_>> {
    uid.map(|uid| Account { uid })
}

fn view<'e>(e: &'e Event<'_>) -> OcsfEvent<'e> {
    let (status_id, status, status_code, status_detail) = match &e.outcome {
        Outcome::Success => (1, "Success", None, None),
        Outcome::Failure { code, message } => (2, "Failure", code.as_deref(), message.as_deref()),
        Outcome::Unknown => (0, "Unknown", None, None),
    };
    let a = &e.actor;
    let user = (!a.is_empty()).then(|| User {
        uid: a.principal_arn.as_deref().or(a.principal_id.as_deref()),
        uid_alt: a.principal_arn.as_ref().and(a.principal_id.as_deref()),
        name: a.user_name.as_deref().or(a.session_name.as_deref()),
        kind: a.principal_type.as_deref(),
        credential_uid: a.access_key_id.as_deref(),
        account: account(a.account.as_deref()),
    });
    let session =
        (a.session_issuer_arn.is_some() || a.session_created_ms.is_some() || a.mfa.is_some())
            .then_some(Session {
                uid: a.session_name.as_deref(),
                issuer: a.session_issuer_arn.as_deref(),
                created_time: a.session_created_ms,
                is_mfa: a.mfa,
            });
    let is_auth = e.class == EventClass::Authentication;
    let (actor, auth_user) = match user {
        Some(u) if is_auth => (None, Some(u)),
        Some(u) => (
            Some(ActorView {
                user: u,
                session,
                invoked_by: a.invoked_by.as_deref(),
            }),
            None,
        ),
        None => (None, None),
    };
    let net = e.network.as_deref();
    let src_endpoint = match net {
        Some(n) => Some(Endpoint {
            ip: n.src_ip.as_deref(),
            port: n.src_port,
            interface_uid: n.interface_id.as_deref(),
            vpc_uid: n.vpc_id.as_deref(),
            subnet_uid: n.subnet_id.as_deref(),
            instance_uid: n.instance_id.as_deref(),
        }),
        None => e.src_ip.as_deref().map(|ip| Endpoint {
            ip: Some(ip),
            ..Endpoint::default()
        }),
    };
    let dst_endpoint = net.map(|n| Endpoint {
        ip: n.dst_ip.as_deref(),
        port: n.dst_port,
        ..Endpoint::default()
    });
    let (action_id, action, disposition_id) = match net.and_then(|n| n.action) {
        Some(FlowAction::Accept) => (Some(1), Some("Allowed"), Some(1)),
        Some(FlowAction::Reject) => (Some(2), Some("Denied"), Some(2)),
        None => (None, None, None),
    };
    let activity = activity_name(e.class, e.activity_id);
    let severity = e.severity;
    OcsfEvent {
        class_uid: e.class.uid(),
        class_name: e.class.name(),
        category_uid: e.class.category_uid(),
        category_name: e.class.category_name(),
        activity_id: e.activity_id,
        activity_name: activity,
        type_uid: e.type_uid(),
        type_name: format!("{}: {}", e.class.name(), activity),
        time: e.time_ms,
        severity_id: severity.id(),
        severity: severity.name(),
        status_id,
        status,
        status_code,
        status_detail,
        metadata: Metadata {
            version: OCSF_VERSION,
            product: Product {
                name: product_name(e.source),
                vendor_name: "AWS",
            },
            uid: e.uid.as_deref(),
            original_time: e.time_ms.map(format_iso),
            log_name: format!("{}:{}", e.origin.file, e.origin.line),
        },
        cloud: Cloud {
            provider: "AWS",
            region: e.region.as_deref(),
            account: account(e.account.as_deref()),
        },
        actor,
        user: auth_user,
        is_mfa: if is_auth { a.mfa } else { None },
        api: e.api.as_ref().map(|api| ApiView {
            operation: &api.operation,
            service: ServiceName { name: &api.service },
            request: api.request_id.as_deref().map(|uid| Request { uid }),
            response: (status_id == 2).then_some(Response {
                error: status_code,
                error_message: status_detail,
            }),
        }),
        src_endpoint,
        dst_endpoint,
        http_request: e
            .user_agent
            .as_deref()
            .map(|user_agent| HttpRequest { user_agent }),
        resources: e
            .resources
            .iter()
            .map(|r| ResourceView {
                uid: &r.uid,
                kind: r.kind.as_deref(),
                owner: r.account.as_deref().map(|uid| User {
                    uid: None,
                    uid_alt: None,
                    name: None,
                    kind: None,
                    credential_uid: None,
                    account: Some(Account { uid }),
                }),
            })
            .collect(),
        connection_info: net.map(|n| ConnectionInfo {
            protocol_num: n.protocol,
            direction_id: match n.direction.as_deref() {
                Some("ingress") => Some(1),
                Some("egress") => Some(2),
                _ => None,
            },
            tcp_flags: n.tcp_flags,
        }),
        traffic: net
            .filter(|n| n.bytes.is_some() || n.packets.is_some())
            .map(|n| Traffic {
                bytes: n.bytes,
                packets: n.packets,
            }),
        start_time: net.and_then(|n| n.start_ms),
        end_time: net.and_then(|n| n.end_ms),
        action_id,
        action,
        disposition_id,
        finding_info: e.finding.as_deref().map(|f| FindingInfo {
            uid: &f.uid,
            title: &f.title,
            desc: f.description.as_deref(),
            types: f.types.iter().map(|t| t.as_ref()).collect(),
            created_time: f.created_ms,
            modified_time: f.updated_ms,
            product_uid: &f.product,
        }),
        raw_data: raw_text(&e.raw),
    }
}
