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
    /// The profiles whose attributes the event carries (`cloud` always).
    profiles: Vec<&'static str>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<User<'e>>,
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
    /// A source that is a service, not an address (`s3.amazonaws.com`, `AWS Internal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    svc_name: Option<&'e str>,
    /// A source that is a host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<&'e str>,
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
struct Evidence<'e> {
    #[serde(skip_serializing_if = "Option::is_none")]
    src_endpoint: Option<Endpoint<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst_endpoint: Option<Endpoint<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_info: Option<ConnectionInfo>,
}

impl Endpoint<'_> {
    /// OCSF's `network_endpoint` must name at least one of these; a port alone is not one.
    fn is_empty(&self) -> bool {
        self.ip.is_none()
            && self.svc_name.is_none()
            && self.hostname.is_none()
            && self.interface_uid.is_none()
            && self.instance_uid.is_none()
    }
}

/// A source address as the record gives it: an IP address, a service (`*.amazonaws.com`,
/// `AWS Internal`) or a host name, each in the attribute OCSF has for it.
fn source<'e>(value: &'e str) -> Endpoint<'e> {
    if value.parse::<std::net::IpAddr>().is_ok() {
        Endpoint {
            ip: Some(value),
            ..Endpoint::default()
        }
    } else if value.ends_with(".amazonaws.com") || value.eq_ignore_ascii_case("AWS Internal") {
        Endpoint {
            svc_name: Some(value),
            ..Endpoint::default()
        }
    } else {
        Endpoint {
            hostname: Some(value),
            ..Endpoint::default()
        }
    }
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
    /// Required: 0 when the record does not say.
    direction_id: u8,
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
    activity_name: &'e str,
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
    service: Option<ServiceName<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_endpoint: Option<Endpoint<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst_endpoint: Option<Endpoint<'e>>,
    /// Detection Finding: where the finding's activity came from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    evidences: Vec<Evidence<'e>>,
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

/// Why `event` cannot be written as a valid OCSF 1.1 event, if it cannot: every class
/// requires a time; API Activity an actor and a source endpoint; Authentication a user;
/// Network Activity both endpoints (NODATA / SKIPDATA flow records have none).
pub fn unwritable(event: &Event<'_>) -> Option<&'static str> {
    if event.time_ms.is_none() {
        return Some("time unknown");
    }
    let a = &event.actor;
    let identified = a.principal_arn.is_some()
        || a.principal_id.is_some()
        || a.user_name.is_some()
        || a.session_name.is_some()
        || a.account.is_some()
        || a.invoked_by.is_some();
    match event.class {
        EventClass::ApiActivity | EventClass::Authentication if !identified => {
            Some("no identity (userIdentity missing or empty)")
        }
        EventClass::ApiActivity if event.src_ip.is_none() => {
            Some("no source address (sourceIPAddress missing)")
        }
        EventClass::NetworkActivity => {
            let n = event.network.as_deref();
            let named = |ip: Option<&str>, interface: bool| ip.is_some() || interface;
            let src = n.is_some_and(|n| {
                named(
                    n.src_ip.as_deref(),
                    n.interface_id.is_some() || n.instance_id.is_some(),
                )
            });
            let dst = n.is_some_and(|n| named(n.dst_ip.as_deref(), false));
            if !dst {
                Some("no destination (NODATA / SKIPDATA flow record)")
            } else if !src {
                Some("no source endpoint")
            } else {
                None
            }
        }
        _ => None,
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
    // An AWS service identity names no account, user or id: the service it was is its name.
    let user = user.map(|mut u| {
        if u.uid.is_none() && u.name.is_none() && u.account.is_none() {
            u.name = a.invoked_by.as_deref();
        }
        u
    });
    let user = user.filter(|u| u.uid.is_some() || u.name.is_some() || u.account.is_some());
    let (actor, auth_user) = match user {
        Some(u) if is_auth => (None, Some(u)),
        user if user.is_some() || a.invoked_by.is_some() => (
            Some(ActorView {
                user,
                session,
                invoked_by: a.invoked_by.as_deref(),
            }),
            None,
        ),
        _ => (None, None),
    };
    let net = e.network.as_deref();
    let src_endpoint = match net {
        Some(n) => Some(Endpoint {
            port: n.src_port,
            interface_uid: n.interface_id.as_deref(),
            vpc_uid: n.vpc_id.as_deref(),
            subnet_uid: n.subnet_id.as_deref(),
            instance_uid: n.instance_id.as_deref(),
            ..n.src_ip.as_deref().map(source).unwrap_or_default()
        }),
        None => e.src_ip.as_deref().map(source),
    }
    // NODATA / SKIPDATA flow records name no endpoint: none is written, not `{}`.
    .filter(|ep| !ep.is_empty());
    let dst_endpoint = net
        .map(|n| Endpoint {
            port: n.dst_port,
            ..n.dst_ip.as_deref().map(source).unwrap_or_default()
        })
        .filter(|ep| !ep.is_empty());
    let is_finding = e.class == EventClass::DetectionFinding;
    let connection_info = net.map(|n| ConnectionInfo {
        protocol_num: n.protocol,
        direction_id: match n.direction.as_deref() {
            Some("ingress") => 1,
            Some("egress") => 2,
            _ => 0,
        },
        tcp_flags: n.tcp_flags,
    });
    // Detection Finding 1.1 has no top-level endpoints or connection: they are evidence.
    let (src_endpoint, dst_endpoint, connection_info, evidences) = if is_finding {
        let evidence = Evidence {
            src_endpoint,
            dst_endpoint,
            connection_info,
        };
        let any = evidence.src_endpoint.is_some()
            || evidence.dst_endpoint.is_some()
            || evidence.connection_info.is_some();
        (
            None,
            None,
            None,
            if any { vec![evidence] } else { Vec::new() },
        )
    } else {
        (src_endpoint, dst_endpoint, connection_info, Vec::new())
    };
    let mut profiles = vec!["cloud"];
    if net.is_some_and(|n| n.action.is_some()) {
        profiles.push("security_control");
    }
    if is_finding && actor.is_some() {
        profiles.push("host");
    }
    let (action_id, action, disposition_id) = match net.and_then(|n| n.action) {
        Some(FlowAction::Accept) => (Some(1), Some("Allowed"), Some(1)),
        Some(FlowAction::Reject) => (Some(2), Some("Denied"), Some(2)),
        None => (None, None, None),
    };
    // `Other` is OCSF's word for "the source's own activity": name it as the source does.
    let activity: &str = match (activity_name(e.class, e.activity_id), &e.api) {
        ("Other", Some(api)) => &api.operation,
        (name, _) => name,
    };
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
            profiles,
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
        // Authentication names its service instead (`service`).
        api: e.api.as_ref().filter(|_| !is_auth).map(|api| ApiView {
            operation: &api.operation,
            service: ServiceName { name: &api.service },
            request: api.request_id.as_deref().map(|uid| Request { uid }),
            response: (status_id == 2).then_some(Response {
                error: status_code,
                error_message: status_detail,
            }),
        }),
        service: e
            .api
            .as_ref()
            .filter(|_| is_auth)
            .map(|api| ServiceName { name: &api.service }),
        src_endpoint,
        dst_endpoint,
        evidences,
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
        connection_info,
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
