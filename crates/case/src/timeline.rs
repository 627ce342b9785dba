//! Case timelines: every event of a case's entities, owned and storable, and what they
//! show: entities with first and last seen, and the blast radius of each actor.

use model::entity::{entities, event_key};
use model::{Entity, EntityKind, Event, FieldValue, Outcome, Raw, SourceKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One event on a case timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// [`model::entity::event_key`].
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<i64>,
    pub source: String,
    /// `eventSource` for API events (`iam.amazonaws.com`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `eventName`, the flow action, or the finding type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Principal or session ARN (or user name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `success`, `failure` or `unknown`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Resources acted on, as `kind:id` (`bucket:logs`, `instance:i-0abc…`) or ARNs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// One line for people.
    pub message: String,
    /// `file:line` where the record was read.
    pub location: String,
    #[serde(default)]
    pub entities: Vec<Entity>,
}

/// Request parameters naming the resource a call acts on, with a short kind label.
const RESOURCE_PARAMS: &[(&str, &str)] = &[
    ("requestParameters.bucketName", "bucket"),
    ("requestParameters.userName", "user"),
    ("requestParameters.roleName", "role"),
    ("requestParameters.policyArn", "policy"),
    ("requestParameters.instanceId", "instance"),
    (
        "requestParameters.instancesSet.items.instanceId",
        "instance",
    ),
    ("responseElements.instancesSet.items.instanceId", "instance"),
    ("requestParameters.groupId", "security-group"),
    ("requestParameters.functionName", "function"),
    ("requestParameters.secretId", "secret"),
    ("requestParameters.snapshotId", "snapshot"),
    ("requestParameters.imageId", "image"),
    ("requestParameters.volumeId", "volume"),
    ("requestParameters.flowLogIds.item", "flow-log"),
    ("requestParameters.detectorId", "detector"),
    ("requestParameters.keyId", "kms-key"),
    ("requestParameters.dBSnapshotIdentifier", "db-snapshot"),
    ("requestParameters.trailName", "trail"),
    ("requestParameters.parameterName", "parameter"),
    ("requestParameters.names", "parameter"),
    ("requestParameters.hostedZoneId", "hosted-zone"),
    ("resources.ARN", ""),
];

impl TimelineEvent {
    /// The timeline form of `ev` (read with full actor normalization or not).
    pub fn from_event(ev: &Event<'_>) -> Self {
        Self::with_identity(ev, event_key(ev), entities(ev))
    }

    /// As [`TimelineEvent::from_event`], with the event's entities already extracted.
    pub fn with_identity(ev: &Event<'_>, key: String, entities: Vec<Entity>) -> Self {
        let find = |k: EntityKind| {
            entities
                .iter()
                .find(|e| e.kind == k)
                .map(|e| e.value.clone())
        };
        // The caller comes first; sessions a call issued (AssumeRole) come after it.
        let actor = entities
            .iter()
            .find(|e| matches!(e.kind, EntityKind::Session | EntityKind::Principal))
            .map(|e| e.value.clone())
            .or_else(|| ev.principal().map(str::to_string));
        let (outcome, error_code) = match &ev.outcome {
            Outcome::Success => ("success", None),
            Outcome::Failure { code, .. } => ("failure", code.as_ref().map(|c| c.to_string())),
            Outcome::Unknown => ("unknown", None),
        };
        let json = matches!(ev.raw, Raw::Json(_));
        let mut resources: Vec<String> = Vec::new();
        let mut add = |r: String| {
            if !resources.contains(&r) {
                resources.push(r);
            }
        };
        for r in &ev.resources {
            add(r.uid.to_string());
        }
        if ev.source == SourceKind::CloudTrail && json {
            for (path, label) in RESOURCE_PARAMS {
                for v in ev.field_values(path) {
                    if let FieldValue::Str(s) = v
                        && !s.is_empty()
                    {
                        add(if label.is_empty() {
                            // A bucket ARN reads as the bucket.
                            match s.strip_prefix("arn:aws:s3:::").filter(|b| !b.contains('/')) {
                                Some(bucket) => format!("bucket:{bucket}"),
                                None => s.into_owned(),
                            }
                        } else {
                            format!("{label}:{s}")
                        });
                    }
                }
            }
        }
        let service = ev.api.as_ref().map(|a| a.service.to_string());
        let mut operation = ev.api.as_ref().map(|a| a.operation.to_string());
        let src_ip = ev.src_ip.as_ref().map(|s| s.to_string());
        let message = match (ev.source, &ev.network, &ev.finding) {
            (_, _, Some(f)) => {
                operation = f.types.first().map(|t| t.to_string());
                f.title.to_string()
            }
            (SourceKind::VpcFlow, Some(n), _) => {
                let end = |ip: &Option<model::Text<'_>>, port: Option<u16>| {
                    let ip = ip.as_deref().unwrap_or("?");
                    port.map_or(ip.to_string(), |p| format!("{ip}:{p}"))
                };
                let action = match n.action {
                    Some(model::FlowAction::Accept) => "ACCEPT",
                    Some(model::FlowAction::Reject) => "REJECT",
                    None => n.log_status.as_deref().unwrap_or("-"),
                };
                operation = Some(action.to_string());
                let proto = match n.protocol {
                    Some(6) => "tcp".to_string(),
                    Some(17) => "udp".to_string(),
                    Some(1) => "icmp".to_string(),
                    Some(p) => format!("proto {p}"),
                    None => "-".to_string(),
                };
                format!(
                    "{} → {} {proto} {action}{}{}",
                    end(&n.src_ip, n.src_port),
                    end(&n.dst_ip, n.dst_port),
                    n.bytes.map(|b| format!(" {b} bytes")).unwrap_or_default(),
                    n.interface_id
                        .as_deref()
                        .map(|i| format!(" on {i}"))
                        .unwrap_or_default(),
                )
            }
            _ => {
                let who = actor
                    .as_deref()
                    .map(|a| a.rsplit('/').next().unwrap_or(a))
                    .unwrap_or("?");
                let svc = service
                    .as_deref()
                    .map(|s| s.trim_end_matches(".amazonaws.com"))
                    .unwrap_or("?");
                let mut m = format!("{who} called {svc}:{}", operation.as_deref().unwrap_or("?"));
                if let Some(ip) = &src_ip {
                    m.push_str(&format!(" from {ip}"));
                }
                if let Some(code) = &error_code {
                    m.push_str(&format!(", failed with {code}"));
                }
                m
            }
        };
        TimelineEvent {
            key,
            time_ms: ev.time_ms,
            source: ev.source.name().to_string(),
            service,
            operation,
            access_key_id: find(EntityKind::AccessKey),
            account: find(EntityKind::Account),
            actor,
            src_ip,
            region: ev.region.as_ref().map(|s| s.to_string()),
            outcome: outcome.to_string(),
            error_code,
            read_only: ev.api.as_ref().and_then(|a| a.read_only).or_else(|| {
                (json && ev.source == SourceKind::CloudTrail)
                    .then(|| ev.field("readOnly"))
                    .flatten()
                    .and_then(|v| match v {
                        FieldValue::Bool(b) => Some(b),
                        _ => None,
                    })
            }),
            resources,
            message,
            location: format!("{}:{}", ev.origin.file, ev.origin.line),
            entities,
        }
    }

    /// Whether the call was refused for lack of permission.
    pub fn access_denied(&self) -> bool {
        self.error_code.as_deref().is_some_and(is_access_denied)
    }

    /// Whether this event involves `entity`.
    pub fn involves(&self, entity: &Entity) -> bool {
        self.entities.contains(entity)
    }
}

impl AsRef<TimelineEvent> for TimelineEvent {
    fn as_ref(&self) -> &TimelineEvent {
        self
    }
}

/// `AccessDenied`, `AccessDeniedException`, `UnauthorizedOperation`,
/// `Client.UnauthorizedOperation`, `UnauthorizedAccess`.
pub fn is_access_denied(code: &str) -> bool {
    let code = code.trim_start_matches("Client.");
    code.starts_with("AccessDenied") || code.starts_with("Unauthorized")
}

/// An entity as a case saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitySighting {
    pub entity: Entity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ms: Option<i64>,
    pub events: u64,
    pub alerts: u64,
}

/// One API as an actor used it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiUse {
    pub service: String,
    pub operation: String,
    pub calls: u64,
    pub denied: u64,
}

/// What an actor touched: services, APIs, resources and regions, and the calls refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BlastRadius {
    pub events: u64,
    /// Service → calls.
    pub services: BTreeMap<String, u64>,
    pub apis: Vec<ApiUse>,
    /// Resource → calls.
    pub resources: BTreeMap<String, u64>,
    /// Region → calls.
    pub regions: BTreeMap<String, u64>,
    /// Calls refused for lack of permission.
    pub denied_calls: u64,
    /// Distinct APIs refused.
    pub denied_apis: usize,
    /// Many distinct refused APIs: the actor was probing what the credentials can do.
    pub enumeration_suspected: bool,
}

/// Refused distinct APIs at or above which enumeration is suspected.
pub const ENUMERATION_DENIED_APIS: usize = 5;

impl BlastRadius {
    /// Over the API events among `events`.
    pub fn compute<'e>(events: impl IntoIterator<Item = &'e TimelineEvent>) -> Self {
        let mut b = BlastRadius::default();
        let mut apis: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for e in events {
            let (Some(service), Some(op)) = (&e.service, &e.operation) else {
                continue;
            };
            b.events += 1;
            *b.services.entry(service.clone()).or_default() += 1;
            let denied = e.access_denied();
            let entry = apis.entry((service.clone(), op.clone())).or_default();
            entry.0 += 1;
            if denied {
                entry.1 += 1;
                b.denied_calls += 1;
            }
            for r in &e.resources {
                *b.resources.entry(r.clone()).or_default() += 1;
            }
            if let Some(r) = &e.region {
                *b.regions.entry(r.clone()).or_default() += 1;
            }
        }
        b.apis = apis
            .into_iter()
            .map(|((service, operation), (calls, denied))| ApiUse {
                service,
                operation,
                calls,
                denied,
            })
            .collect();
        b.denied_apis = b.apis.iter().filter(|a| a.denied > 0).count();
        b.enumeration_suspected = b.denied_apis >= ENUMERATION_DENIED_APIS;
        b
    }
}

/// Each actor (session, principal, or bare access key) on the timeline, with its blast radius.
pub fn blast_radius_by_actor<T: AsRef<TimelineEvent>>(events: &[T]) -> Vec<(Entity, BlastRadius)> {
    let mut actors: BTreeSet<Entity> = BTreeSet::new();
    for e in events.iter().map(AsRef::as_ref) {
        let actor = e
            .entities
            .iter()
            .find(|x| matches!(x.kind, EntityKind::Session | EntityKind::Principal))
            .or_else(|| e.entities.iter().find(|x| x.kind == EntityKind::AccessKey));
        if let Some(a) = actor
            && e.service.is_some()
        {
            actors.insert(a.clone());
        }
    }
    actors
        .into_iter()
        .map(|a| {
            let radius =
                BlastRadius::compute(events.iter().map(AsRef::as_ref).filter(|e| e.involves(&a)));
            (a, radius)
        })
        .collect()
}

/// Entities on the timeline with first and last seen and event counts (alert counts are
/// the caller's to add).
pub fn sightings<T: AsRef<TimelineEvent>>(events: &[T]) -> Vec<EntitySighting> {
    let mut map: BTreeMap<&Entity, EntitySighting> = BTreeMap::new();
    for e in events.iter().map(AsRef::as_ref) {
        for x in &e.entities {
            let s = map.entry(x).or_insert_with(|| EntitySighting {
                entity: x.clone(),
                first_ms: None,
                last_ms: None,
                events: 0,
                alerts: 0,
            });
            s.events += 1;
            if let Some(t) = e.time_ms {
                s.first_ms = Some(s.first_ms.map_or(t, |f| f.min(t)));
                s.last_ms = Some(s.last_ms.map_or(t, |l| l.max(t)));
            }
        }
    }
    map.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Api, EventClass, Origin};
    use std::borrow::Cow;

    fn call(op: &str, denied: bool, json: &'static str) -> TimelineEvent {
        let mut ev = Event::new(
            EventClass::ApiActivity,
            SourceKind::CloudTrail,
            Origin {
                file: "f".into(),
                line: 1,
            },
            Raw::Json(Cow::Borrowed(json)),
        );
        ev.api = Some(Api {
            service: "iam.amazonaws.com".into(),
            operation: op.to_string().into(),
            request_id: None,
            read_only: None,
        });
        ev.region = Some("us-east-1".into());
        ev.outcome = if denied {
            Outcome::Failure {
                code: Some("AccessDenied".into()),
                message: None,
            }
        } else {
            Outcome::Success
        };
        TimelineEvent::from_event(&ev)
    }

    #[test]
    fn blast_radius_counts_denials_and_resources() {
        const J: &str = r#"{"userIdentity":{"arn":"arn:aws:iam::111122223333:user/x","accessKeyId":"AKIAAAAAAAAAAAAAAAAA"},"sourceIPAddress":"203.0.113.1","requestParameters":{"userName":"backdoor"}}"#;
        let mut events: Vec<TimelineEvent> = [
            "ListUsers",
            "ListRoles",
            "GetUser",
            "ListGroups",
            "ListPolicies",
        ]
        .iter()
        .map(|op| call(op, true, J))
        .collect();
        events.push(call("CreateUser", false, J));
        let e = &events[5];
        assert_eq!(e.resources, vec!["user:backdoor"]);
        assert_eq!(e.message, "x called iam:CreateUser");
        let by = blast_radius_by_actor(&events);
        assert_eq!(by.len(), 1);
        let (actor, b) = &by[0];
        assert_eq!(actor.value, "arn:aws:iam::111122223333:user/x");
        assert_eq!(b.events, 6);
        assert_eq!(b.denied_calls, 5);
        assert_eq!(b.denied_apis, 5);
        assert!(b.enumeration_suspected);
        assert_eq!(b.resources.get("user:backdoor"), Some(&6));
        assert_eq!(b.regions.get("us-east-1"), Some(&6));
        let s = sightings(&events);
        assert!(
            s.iter()
                .any(|x| x.entity.kind == EntityKind::AccessKey && x.events == 6)
        );
    }

    #[test]
    fn denied_codes() {
        for c in [
            "AccessDenied",
            "AccessDeniedException",
            "Client.UnauthorizedOperation",
            "UnauthorizedOperation",
        ] {
            assert!(is_access_denied(c), "{c}");
        }
        assert!(!is_access_denied("ThrottlingException"));
    }
}
