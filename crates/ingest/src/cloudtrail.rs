//! CloudTrail record → API Activity (6003) or Authentication (3002) event.

use crate::classify::Probe;
use crate::lenient::{Str, truthy};
use model::time::parse_timestamp;
use model::{
    Actor, Api, Event, EventClass, Origin, Outcome, Raw, Resource, Severity, SourceKind, Text,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

#[derive(Deserialize, Default)]
struct SessionIssuer<'a> {
    #[serde(borrow, default)]
    arn: Str<'a>,
}

#[derive(Deserialize, Default)]
struct SessionAttributes<'a> {
    #[serde(
        borrow,
        default,
        rename = "mfaAuthenticated",
        alias = "mfaauthenticated"
    )]
    mfa_authenticated: Str<'a>,
    #[serde(borrow, default, rename = "creationDate", alias = "creationdate")]
    creation_date: Str<'a>,
}

#[derive(Deserialize, Default)]
struct SessionContext<'a> {
    #[serde(borrow, default, rename = "sessionIssuer", alias = "sessionissuer")]
    session_issuer: Option<SessionIssuer<'a>>,
    #[serde(borrow, default)]
    attributes: Option<SessionAttributes<'a>>,
}

#[derive(Deserialize, Default)]
struct UserIdentity<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Str<'a>,
    #[serde(borrow, default, rename = "principalId", alias = "principalid")]
    principal_id: Str<'a>,
    #[serde(borrow, default)]
    arn: Str<'a>,
    #[serde(borrow, default, rename = "accountId", alias = "accountid")]
    account_id: Str<'a>,
    #[serde(borrow, default, rename = "accessKeyId", alias = "accesskeyid")]
    access_key_id: Str<'a>,
    #[serde(borrow, default, rename = "userName", alias = "username")]
    user_name: Str<'a>,
    #[serde(borrow, default, rename = "invokedBy", alias = "invokedby")]
    invoked_by: Str<'a>,
    #[serde(borrow, default, rename = "sessionContext", alias = "sessioncontext")]
    session_context: Option<SessionContext<'a>>,
}

#[derive(Deserialize)]
struct ResourceItem<'a> {
    #[serde(borrow, default, rename = "ARN", alias = "arn")]
    arn: Str<'a>,
    #[serde(borrow, default, rename = "accountId", alias = "accountid")]
    account_id: Str<'a>,
    #[serde(borrow, default, rename = "type")]
    kind: Str<'a>,
}

#[derive(Deserialize, Default)]
struct ConsoleLoginResult<'a> {
    #[serde(borrow, default, rename = "ConsoleLogin")]
    console_login: Str<'a>,
}

#[derive(Deserialize, Default)]
struct MfaUsed<'a> {
    #[serde(borrow, default, rename = "MFAUsed")]
    mfa_used: Str<'a>,
}

/// Fields whose value CloudTrail Lake and Athena export as a JSON-encoded string.
const EMBEDDED_JSON_FIELDS: [&str; 7] = [
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "userIdentity",
    "resources",
    "tlsDetails",
];

fn is_json_string(raw: Option<&RawValue>) -> bool {
    raw.is_some_and(|r| {
        let t = r.get();
        t.starts_with("\"{") || t.starts_with("\"[")
    })
}

/// Whether this is a Lake/Athena export whose nested objects are JSON strings.
pub(crate) fn has_embedded_json(p: &Probe<'_>) -> bool {
    [
        p.request_parameters,
        p.response_elements,
        p.additional_event_data,
        p.service_event_details,
        p.user_identity,
        p.resources,
        p.tls_details,
    ]
    .into_iter()
    .any(is_json_string)
}

/// Rewrites a Lake/Athena export so that embedded JSON strings become objects, making
/// `requestParameters.x` addressable. Field names are also given their CloudTrail spelling.
pub(crate) fn expand_embedded_json(record: &str) -> Result<String, serde_json::Error> {
    let mut map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(record)?;
    for name in EMBEDDED_JSON_FIELDS {
        let lower = name.to_ascii_lowercase();
        let key = if map.contains_key(name) {
            name.to_string()
        } else {
            lower
        };
        if let Some(serde_json::Value::String(text)) = map.get(&key)
            && let Ok(parsed) = serde_json::from_str::<serde_json::Value>(text)
            && (parsed.is_object() || parsed.is_array())
        {
            map.insert(key, parsed);
        }
    }
    serde_json::to_string(&map)
}

/// Session name from `arn:aws:sts::123:assumed-role/Role/Session`.
fn session_name<'a>(arn: &Text<'a>) -> Option<Text<'a>> {
    let idx = arn.find(":assumed-role/")?;
    let tail_start = arn[idx..].find('/')? + idx + 1;
    let name_start = arn[tail_start..].find('/')? + tail_start + 1;
    Some(match arn {
        Cow::Borrowed(s) => Cow::Borrowed(&s[name_start..]),
        Cow::Owned(s) => Cow::Owned(s[name_start..].to_string()),
    })
}

/// OCSF API Activity activity from the operation's verb.
pub(crate) fn api_activity(operation: &str) -> u8 {
    const CREATE: [&str; 12] = [
        "Create",
        "Put",
        "Run",
        "Attach",
        "Add",
        "Import",
        "Register",
        "Allocate",
        "Associate",
        "Copy",
        "Issue",
        "Generate",
    ];
    const READ: [&str; 7] = [
        "Get", "List", "Describe", "Lookup", "Search", "BatchGet", "Head",
    ];
    const UPDATE: [&str; 12] = [
        "Update",
        "Modify",
        "Set",
        "Enable",
        "Disable",
        "Start",
        "Stop",
        "Reset",
        "Change",
        "Replace",
        "Authorize",
        "Revoke",
    ];
    const DELETE: [&str; 8] = [
        "Delete",
        "Remove",
        "Detach",
        "Terminate",
        "Deregister",
        "Disassociate",
        "Release",
        "Cancel",
    ];
    let starts = |verbs: &[&str]| verbs.iter().any(|v| operation.starts_with(v));
    if starts(&READ) {
        2
    } else if starts(&DELETE) {
        4
    } else if starts(&CREATE) {
        1
    } else if starts(&UPDATE) {
        3
    } else {
        99
    }
}

fn parse_sub<'a, T: Deserialize<'a> + Default>(raw: Option<&'a RawValue>) -> T {
    raw.and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default()
}

/// Builds the normalized event from a probed CloudTrail record whose JSON text is `raw`.
/// Without `full`, the actor and resources are left empty (the record still holds them).
pub(crate) fn to_event<'a>(
    mut p: Probe<'a>,
    raw: Text<'a>,
    origin: Origin<'a>,
    full: bool,
) -> Event<'a> {
    let is_login = p.event_name.get() == Some("ConsoleLogin");
    let class = if is_login {
        EventClass::Authentication
    } else {
        EventClass::ApiActivity
    };
    let mut ev = Event::new(class, SourceKind::CloudTrail, origin, Raw::Json(raw));
    ev.members = model::event::Members(std::mem::take(&mut p.members));
    ev.time_ms = p
        .event_time
        .get()
        .and_then(parse_timestamp)
        .or_else(|| p.timestamp.get().and_then(parse_timestamp));
    ev.severity = Severity::Informational;

    let identity: UserIdentity<'a> = if full {
        parse_sub(p.user_identity)
    } else {
        UserIdentity::default()
    };
    let ctx = identity.session_context.unwrap_or_default();
    let issuer = ctx.session_issuer.unwrap_or_default();
    let attributes = ctx.attributes.unwrap_or_default();
    let principal_arn = identity.arn.take();
    let mut actor = Actor {
        session_name: principal_arn.as_ref().and_then(session_name),
        principal_type: identity.kind.take(),
        principal_arn,
        principal_id: identity.principal_id.take(),
        account: identity.account_id.take(),
        user_name: identity.user_name.take(),
        access_key_id: identity.access_key_id.take(),
        session_issuer_arn: issuer.arn.take(),
        session_created_ms: attributes.creation_date.get().and_then(parse_timestamp),
        mfa: truthy(attributes.mfa_authenticated.get()),
        invoked_by: identity.invoked_by.take(),
    };

    ev.activity_id = if is_login {
        1
    } else {
        p.event_name.get().map_or(0, api_activity)
    };
    let error_code = p.error_code.take();
    ev.outcome = if error_code.is_some() {
        Outcome::Failure {
            code: error_code,
            message: p.error_message.take(),
        }
    } else if is_login {
        let result: ConsoleLoginResult<'a> = parse_sub(p.response_elements);
        let mfa: MfaUsed<'a> = parse_sub(p.additional_event_data);
        if let Some(used) = truthy(mfa.mfa_used.get()) {
            actor.mfa = Some(used);
        }
        match result.console_login.get() {
            Some("Failure") => Outcome::Failure {
                code: None,
                message: p.error_message.take(),
            },
            Some("Success") => Outcome::Success,
            _ => Outcome::Unknown,
        }
    } else {
        Outcome::Success
    };

    ev.account = p.recipient_account.take().or_else(|| actor.account.clone());
    ev.actor = actor;
    ev.uid = p.event_id.take();
    ev.region = p.aws_region.take();
    ev.src_ip = p.source_ip.take();
    ev.user_agent = p.user_agent.take();
    if let (Some(service), Some(operation)) = (p.event_source.0.clone(), p.event_name.0.clone()) {
        ev.api = Some(Api {
            service,
            operation,
            request_id: p.request_id.take(),
            read_only: truthy(p.read_only.get()),
        });
    }
    if let Some(resources) = p.resources.filter(|_| full)
        && let Ok(items) = serde_json::from_str::<Vec<ResourceItem<'a>>>(resources.get())
    {
        ev.resources = items
            .into_iter()
            .filter_map(|r| {
                Some(Resource {
                    uid: r.arn.take()?,
                    kind: r.kind.take(),
                    account: r.account_id.take(),
                })
            })
            .collect();
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_and_activities() {
        let arn: Text = Cow::Borrowed("arn:aws:sts::1:assumed-role/Admin/alice@example.com");
        assert_eq!(session_name(&arn).as_deref(), Some("alice@example.com"));
        assert_eq!(
            session_name(&Cow::Borrowed("arn:aws:iam::1:user/bob")),
            None
        );
        assert_eq!(api_activity("CreateAccessKey"), 1);
        assert_eq!(api_activity("ListBuckets"), 2);
        assert_eq!(api_activity("StopLogging"), 3);
        assert_eq!(api_activity("DeleteTrail"), 4);
        assert_eq!(api_activity("AssumeRole"), 99);
    }
}
