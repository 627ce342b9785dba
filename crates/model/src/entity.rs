//! Entities: the principals, credentials, hosts and addresses an event involves. Cases are
//! built by linking alerts that share entities, and a case's timeline is every event of
//! its entities.

use crate::event::{Event, Raw, SourceKind};
use crate::field::FieldValue;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// What kind of thing an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// An access key id (`AKIA…` long-term, `ASIA…` temporary).
    AccessKey,
    /// An IAM user, root, federated user or service principal, by ARN.
    Principal,
    /// An assumed-role session, by its `assumed-role/ROLE/SESSION` ARN.
    Session,
    /// The role behind sessions; shared by every session of the role, so it never links.
    Role,
    /// An EC2 instance id.
    Instance,
    /// A source or peer IP address.
    Ip,
    /// An AWS account id.
    Account,
}

impl EntityKind {
    pub const ALL: [EntityKind; 7] = [
        Self::AccessKey,
        Self::Principal,
        Self::Session,
        Self::Role,
        Self::Instance,
        Self::Ip,
        Self::Account,
    ];

    /// Stable snake_case name (`access_key`), as stored and printed.
    pub fn name(self) -> &'static str {
        match self {
            Self::AccessKey => "access_key",
            Self::Principal => "principal",
            Self::Session => "session",
            Self::Role => "role",
            Self::Instance => "instance",
            Self::Ip => "ip",
            Self::Account => "account",
        }
    }

    /// Parses [`EntityKind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether an entity of this kind identifies an actor (who did it), as opposed to a
    /// place (address, account) or a shared role.
    pub fn is_identity(self) -> bool {
        matches!(self, Self::AccessKey | Self::Principal | Self::Session)
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One entity an event involves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entity {
    pub kind: EntityKind,
    pub value: String,
}

impl Entity {
    pub fn new(kind: EntityKind, value: impl Into<String>) -> Self {
        Entity {
            kind,
            value: value.into(),
        }
    }

    /// Whether two alerts sharing this entity are about the same actor or asset.
    ///
    /// Roles and accounts are shared by unrelated actors; malformed access key ids
    /// (test placeholders such as `1`) and private, loopback or link-local addresses (NAT,
    /// VPC-internal) are not evidence of a common actor. Whether a public address links is
    /// decided again by the case grouper, which also checks how many principals share it.
    pub fn links(&self) -> bool {
        match self.kind {
            EntityKind::AccessKey => is_access_key_id(&self.value),
            EntityKind::Principal | EntityKind::Session | EntityKind::Instance => true,
            EntityKind::Ip => is_routable_ip(&self.value),
            EntityKind::Role | EntityKind::Account => false,
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

impl Entity {
    /// A part of [`Entity::value`] that the text of every record yielding this entity
    /// contains, unless the text escapes it: the value itself, except that a user or role
    /// ARN may be built from its name (`userName` with the account, a session's role), so
    /// only the name after the last `/` is sure to be there.
    pub fn literal_part(&self) -> &str {
        match self.kind {
            EntityKind::Principal | EntityKind::Role => self
                .value
                .rsplit_once('/')
                .map_or(self.value.as_str(), |(_, name)| name),
            _ => &self.value,
        }
    }
}

/// `AKIA…`, `ASIA…` (and the rarer `ABIA`/`ACCA`) followed by 16 upper-case letters or digits.
pub fn is_access_key_id(s: &str) -> bool {
    s.len() == 20
        && ["AKIA", "ASIA", "ABIA", "ACCA"]
            .iter()
            .any(|p| s.starts_with(p))
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// An EC2 instance id (`i-` and 8 or 17 hex digits).
pub fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|h| {
        (h.len() == 8 || h.len() == 17) && h.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Parses a dotted IPv4 address, tolerating leading zeros in octets (`08.1.250.216`), which
/// anonymized logs contain and `std` rejects.
pub fn parse_ipv4(s: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for slot in &mut out {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = p.parse::<u16>().ok().and_then(|v| u8::try_from(v).ok())?;
    }
    parts.next().is_none().then_some(out)
}

/// Whether `s` is an IP address (v4 or v6) rather than a host name such as
/// `ec2.amazonaws.com` or the literal `AWS Internal`.
pub fn is_ip(s: &str) -> bool {
    parse_ipv4(s).is_some() || s.parse::<std::net::Ipv6Addr>().is_ok()
}

/// A public unicast address: not private (RFC 1918, unique-local), shared CGNAT, loopback,
/// link-local, multicast, broadcast or unspecified. Documentation ranges and the reserved
/// 240/4 block count as public: sample data uses the former for attackers, and anonymized
/// logs map real addresses into the latter.
pub fn is_routable_ip(s: &str) -> bool {
    if let Some([a, b, c, d]) = parse_ipv4(s) {
        return !(a == 10
            || a == 127
            || a == 0
            || (224..240).contains(&a)
            || [a, b, c, d] == [255; 4]
            || (a == 172 && (16..32).contains(&b))
            || (a == 192 && b == 168)
            || (a == 169 && b == 254)
            || (a == 100 && (64..128).contains(&b)));
    }
    match s.parse::<std::net::Ipv6Addr>() {
        Ok(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
        Err(_) => false,
    }
}

fn text<'e>(ev: &'e Event<'_>, paths: &[&str]) -> Option<Cow<'e, str>> {
    paths.iter().find_map(|p| match ev.field(p)? {
        FieldValue::Str(s) if !s.is_empty() => Some(s),
        _ => None,
    })
}

fn texts<'e>(ev: &'e Event<'_>, paths: &[&str]) -> Vec<Cow<'e, str>> {
    let mut out = Vec::new();
    for p in paths {
        for v in ev.field_values(p) {
            if let FieldValue::Str(s) = v
                && !s.is_empty()
            {
                out.push(s);
            }
        }
    }
    out
}

/// The session name of an assumed-role ARN (`arn:aws:sts::A:assumed-role/ROLE/SESSION`).
pub fn session_parts(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.split_once(":assumed-role/")?.1;
    rest.split_once('/')
}

struct Collector(Vec<Entity>);

impl Collector {
    fn add(&mut self, kind: EntityKind, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        if !self.0.iter().any(|e| e.kind == kind && e.value == value) {
            self.0.push(Entity::new(kind, value));
        }
    }

    fn principal(&mut self, arn: &str) {
        if let Some((role, session)) = session_parts(arn) {
            self.add(EntityKind::Session, arn);
            if let Some(account) = arn_account(arn) {
                self.add(
                    EntityKind::Role,
                    &format!("arn:aws:iam::{account}:role/{role}"),
                );
            }
            // EC2 instance-profile credentials carry the instance id as session name.
            if is_instance_id(session) {
                self.add(EntityKind::Instance, session);
            }
        } else {
            self.add(EntityKind::Principal, arn);
        }
    }

    fn ip(&mut self, ip: &str) {
        if is_ip(ip) {
            self.add(EntityKind::Ip, ip);
        }
    }
}

/// The normalized field, else (CloudTrail read without actor normalization) the record's.
fn or_record<'e>(
    ev: &'e Event<'_>,
    cloudtrail: bool,
    normalized: Option<&'e str>,
    paths: &[&str],
) -> Option<Cow<'e, str>> {
    match normalized {
        Some(v) => Some(Cow::Borrowed(v)),
        None if cloudtrail => text(ev, paths),
        None => None,
    }
}

/// The account id in an ARN (`arn:aws:iam::123456789012:user/x`).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| is_account_id(a))
}

/// Twelve digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Every entity `ev` involves: its actor (principal or session, access key, the role behind
/// a session), source and peer addresses, the instances it ran on or touched, and its
/// account. Reads the normalized fields and falls back to the record itself, so it works
/// on events ingested without actor normalization.
pub fn entities<'e>(ev: &'e Event<'_>) -> Vec<Entity> {
    let mut c = Collector(Vec::new());
    let cloudtrail = ev.source == SourceKind::CloudTrail && matches!(ev.raw, Raw::Json(_));
    let or_record =
        |normalized: Option<&'e str>, paths: &[&str]| or_record(ev, cloudtrail, normalized, paths);

    // Actor.
    let arn = or_record(
        ev.actor.principal_arn.as_deref(),
        &["userIdentity.arn", "useridentity.arn"],
    );
    let account = or_record(
        ev.account.as_deref(),
        &[
            "recipientAccountId",
            "userIdentity.accountId",
            "useridentity.accountid",
        ],
    );
    match arn {
        Some(arn) => c.principal(&arn),
        None => {
            // Console sign-in failures and GuardDuty access-key details name a user
            // without an ARN.
            let user = or_record(
                ev.actor.user_name.as_deref(),
                &["userIdentity.userName", "useridentity.username"],
            );
            let kind = or_record(
                ev.actor.principal_type.as_deref(),
                &["userIdentity.type", "useridentity.type"],
            );
            if let (Some(user), Some(account)) = (&user, &account)
                && kind.as_deref().is_none_or(|k| k == "IAMUser")
                && is_account_id(account)
            {
                c.add(
                    EntityKind::Principal,
                    &format!("arn:aws:iam::{account}:user/{user}"),
                );
            }
        }
    }
    if let Some(issuer) = ev.actor.session_issuer_arn.as_deref() {
        c.add(EntityKind::Role, issuer);
    }
    let key = or_record(
        ev.actor.access_key_id.as_deref(),
        &["userIdentity.accessKeyId", "useridentity.accesskeyid"],
    );
    if let Some(key) = key {
        c.add(EntityKind::AccessKey, &key);
    }
    // Credentials this call issued (AssumeRole*, GetSessionToken, GetFederationToken): the
    // new session and its key belong to whoever asked for them.
    if cloudtrail {
        if let Some(issued) = text(
            ev,
            &[
                "responseElements.assumedRoleUser.arn",
                "responseElements.federatedUser.arn",
            ],
        ) {
            c.principal(&issued);
        }
        if let Some(key) = text(ev, &["responseElements.credentials.accessKeyId"]) {
            c.add(EntityKind::AccessKey, &key);
        }
    }

    // Addresses.
    let src_ip = or_record(
        ev.src_ip.as_deref(),
        &["sourceIPAddress", "sourceipaddress"],
    );
    if let Some(ip) = src_ip {
        c.ip(&ip);
    }
    if let Some(n) = &ev.network {
        for ip in [&n.src_ip, &n.dst_ip].into_iter().flatten() {
            c.ip(ip);
        }
        if let Some(id) = n.instance_id.as_deref().filter(|i| is_instance_id(i)) {
            c.add(EntityKind::Instance, id);
        }
    }

    // Instances the event ran on or acted upon.
    for r in &ev.resources {
        let id = r.uid.rsplit('/').next().unwrap_or(&r.uid);
        if is_instance_id(id) {
            c.add(EntityKind::Instance, id);
        }
    }
    if cloudtrail {
        for id in texts(
            ev,
            &[
                "requestParameters.instanceId",
                "requestParameters.instancesSet.items.instanceId",
                "responseElements.instancesSet.items.instanceId",
                "resources.ARN",
            ],
        ) {
            let id = id.rsplit('/').next().unwrap_or(&id);
            if is_instance_id(id) {
                c.add(EntityKind::Instance, id);
            }
        }
    }
    if let Some(account) = account {
        c.add(EntityKind::Account, &account);
    }
    c.0
}

/// Tags of the resources a finding names (GuardDuty `resource.instanceDetails.tags`,
/// S3 bucket tags, Security Hub `Resources[].Tags`), as `(key, value)` pairs, sorted and
/// unique. Empty for other events: CloudTrail and flow records do not carry tags.
pub fn resource_tags(ev: &Event<'_>) -> Vec<(String, String)> {
    let Raw::Json(text) = &ev.raw else {
        return Vec::new();
    };
    if !matches!(ev.source, SourceKind::GuardDuty | SourceKind::SecurityHub) {
        return Vec::new();
    }
    let Ok(record) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut tags = Vec::new();
    collect_tags(&record, &mut tags);
    tags.sort();
    tags.dedup();
    tags
}

fn collect_tags(v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if k.eq_ignore_ascii_case("tags") {
                    match v {
                        // GuardDuty: [{"key": "env", "value": "prod"}] (or Key/Value).
                        Value::Array(items) => out.extend(items.iter().filter_map(|t| {
                            let get = |a: &str, b: &str| {
                                t.get(a).or_else(|| t.get(b)).and_then(Value::as_str)
                            };
                            Some((
                                get("key", "Key")?.to_string(),
                                get("value", "Value")?.to_string(),
                            ))
                        })),
                        // Security Hub ASFF: {"env": "prod"}.
                        Value::Object(m) => out.extend(
                            m.iter()
                                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))),
                        ),
                        _ => {}
                    }
                } else {
                    collect_tags(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_tags(i, out)),
        _ => {}
    }
}

/// A stable identity for the record behind `ev`, the same however and wherever it is read
/// again: `cloudtrail:<eventID>`, `guardduty:<finding id>`, `securityhub:<finding id>`, or
/// `<source>:h:<hash of the record's content>` when the record has no id of its own.
pub fn event_key(ev: &Event<'_>) -> String {
    let uid = ev.uid.as_deref().map(Cow::Borrowed).or_else(|| {
        (ev.source == SourceKind::CloudTrail)
            .then(|| text(ev, &["eventID", "eventid"]))
            .flatten()
    });
    match uid.as_deref() {
        Some(uid) if !uid.is_empty() => format!("{}:{}", ev.source.name(), uid),
        _ => {
            let mut h = Fnv128::default();
            match &ev.raw {
                Raw::Json(t) => h.write(crate::event::compact_json(t).as_bytes()),
                Raw::Fields(fields) => {
                    for (k, v) in fields {
                        h.write(k.as_bytes());
                        h.write(b"=");
                        h.write(v.as_bytes());
                        h.write(b"\x1f");
                    }
                }
            }
            format!("{}:h:{:032x}", ev.source.name(), h.0)
        }
    }
}

/// Values remembered per distinct record: its [`event_key`] plus a keyed (randomly seeded)
/// hash of its text, so two records that share an id but not their content (a forged
/// `eventID`) are never confused. Holds at most `capacity` records; past it, it starts again,
/// so it may only ever save work, never decide a result.
pub struct RecordMemo<V> {
    map: std::collections::HashMap<(String, u64), V>,
    hasher: std::hash::RandomState,
    capacity: usize,
}

impl<V> RecordMemo<V> {
    pub fn new(capacity: usize) -> Self {
        RecordMemo {
            map: Default::default(),
            hasher: Default::default(),
            capacity,
        }
    }

    /// The identity the memo knows `raw` by, given its event key.
    pub fn identity(&self, key: String, raw: &Raw<'_>) -> (String, u64) {
        use std::hash::BuildHasher;
        let content = match raw {
            Raw::Json(t) => self.hasher.hash_one(t.as_bytes()),
            Raw::Fields(f) => self.hasher.hash_one(f),
        };
        (key, content)
    }

    pub fn get(&self, record: &(String, u64)) -> Option<&V> {
        self.map.get(record)
    }

    pub fn insert(&mut self, record: (String, u64), value: V) {
        if self.map.len() >= self.capacity {
            self.map.clear();
        }
        self.map.insert(record, value);
    }
}

/// The part of an [`event_key`] that the record's text holds (its id), or `None` for a
/// content hash, which no text search can find.
pub fn event_key_literal(key: &str) -> Option<&str> {
    let (_, uid) = key.split_once(':')?;
    (!uid.starts_with("h:") && !uid.is_empty()).then_some(uid)
}

/// FNV-1a, 128-bit: a stable content fingerprint (not a security boundary: keys only
/// deduplicate records the user feeds in twice).
struct Fnv128(u128);

impl Default for Fnv128 {
    fn default() -> Self {
        Fnv128(0x6c62272e07bb014262b821756295c58d)
    }
}

impl Fnv128 {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u128::from(b);
            self.0 = self.0.wrapping_mul(0x0000000001000000000000000000013B);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventClass, Origin};

    fn ct(json: &str) -> Event<'_> {
        Event::new(
            EventClass::ApiActivity,
            SourceKind::CloudTrail,
            Origin {
                file: "t".into(),
                line: 1,
            },
            Raw::Json(Cow::Borrowed(json)),
        )
    }

    #[test]
    fn resource_tags_come_from_findings_only() {
        let finding = |source, json| {
            Event::new(
                EventClass::DetectionFinding,
                source,
                Origin {
                    file: "t".into(),
                    line: 1,
                },
                Raw::Json(Cow::Borrowed(json)),
            )
        };
        let gd = r#"{"detail":{"resource":{"instanceDetails":{"tags":[{"key":"env","value":"prod"},{"Key":"team","Value":"web"}]}},
            "service":{"additionalInfo":{"tags":"not a list"}}}}"#;
        let tags = resource_tags(&finding(SourceKind::GuardDuty, gd));
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(tags, [pair("env", "prod"), pair("team", "web")]);
        let asff = r#"{"Resources":[{"Type":"AwsS3Bucket","Tags":{"data":"restricted","env":"prod"}},{"Tags":{"env":"prod"}}]}"#;
        let tags = resource_tags(&finding(SourceKind::SecurityHub, asff));
        assert_eq!(tags, [pair("data", "restricted"), pair("env", "prod")]);
        // CloudTrail request tags describe what a caller asked for, not the resource at risk.
        let ct_tags =
            r#"{"eventID":"x","requestParameters":{"tags":[{"key":"env","value":"prod"}]}}"#;
        assert!(resource_tags(&ct(ct_tags)).is_empty());
    }

    #[test]
    fn assumed_role_on_an_instance_yields_session_role_and_instance() {
        let ev = ct(
            r#"{"eventID":"e1","recipientAccountId":"111122223333","sourceIPAddress":"08.1.250.216",
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0","accessKeyId":"ASIAABCDEFGHIJKLMNOP"},
            "requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0aaaaaaaaaaaaaaa1"}]}}}"#,
        );
        let es = entities(&ev);
        let has = |k, v: &str| es.iter().any(|e| e.kind == k && e.value == v);
        assert!(has(
            EntityKind::Session,
            "arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0"
        ));
        assert!(has(EntityKind::Role, "arn:aws:iam::111122223333:role/web"));
        assert!(has(EntityKind::Instance, "i-0123456789abcdef0"));
        assert!(has(EntityKind::Instance, "i-0aaaaaaaaaaaaaaa1"));
        assert!(has(EntityKind::AccessKey, "ASIAABCDEFGHIJKLMNOP"));
        assert!(has(EntityKind::Ip, "08.1.250.216"));
        assert!(has(EntityKind::Account, "111122223333"));
        assert_eq!(event_key(&ev), "cloudtrail:e1");
    }

    #[test]
    fn issued_credentials_belong_to_the_caller() {
        let ev = ct(
            r#"{"eventID":"e2","eventName":"AssumeRole","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u","accessKeyId":"AKIAAAAAAAAAAAAAAAAA"},
            "responseElements":{"credentials":{"accessKeyId":"ASIABBBBBBBBBBBBBBBB"},"assumedRoleUser":{"arn":"arn:aws:sts::111122223333:assumed-role/r/s"}}}"#,
        );
        let es = entities(&ev);
        for (k, v) in [
            (EntityKind::Principal, "arn:aws:iam::111122223333:user/u"),
            (EntityKind::AccessKey, "AKIAAAAAAAAAAAAAAAAA"),
            (
                EntityKind::Session,
                "arn:aws:sts::111122223333:assumed-role/r/s",
            ),
            (EntityKind::AccessKey, "ASIABBBBBBBBBBBBBBBB"),
        ] {
            assert!(es.contains(&Entity::new(k, v)), "{k}:{v} in {es:?}");
        }
    }

    #[test]
    fn user_without_arn_and_service_hostnames() {
        let ev = ct(
            r#"{"recipientAccountId":"111122223333","sourceIPAddress":"ec2.amazonaws.com",
            "userIdentity":{"type":"IAMUser","userName":"alice"}}"#,
        );
        let es = entities(&ev);
        assert_eq!(
            es,
            vec![
                Entity::new(
                    EntityKind::Principal,
                    "arn:aws:iam::111122223333:user/alice"
                ),
                Entity::new(EntityKind::Account, "111122223333"),
            ]
        );
        assert!(event_key(&ev).starts_with("cloudtrail:h:"));
        let same = ct(
            r#"{"recipientAccountId": "111122223333", "sourceIPAddress": "ec2.amazonaws.com",
            "userIdentity": {"type": "IAMUser", "userName": "alice"}}"#,
        );
        assert_eq!(
            event_key(&ev),
            event_key(&same),
            "whitespace does not change identity"
        );
    }

    #[test]
    fn linking_rules() {
        assert!(Entity::new(EntityKind::AccessKey, "AKIAIOSFODNN7EXAMPLE").links());
        assert!(!Entity::new(EntityKind::AccessKey, "1111").links());
        assert!(!Entity::new(EntityKind::AccessKey, "ASIA-MOCKACCESSKEYID-1").links());
        assert!(Entity::new(EntityKind::Ip, "203.0.113.77").links());
        for private in [
            "10.0.0.1",
            "172.20.1.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "fd00::1",
            "fe80::1",
            "100.64.0.1",
        ] {
            assert!(!Entity::new(EntityKind::Ip, private).links(), "{private}");
        }
        assert!(Entity::new(EntityKind::Ip, "2001:db8::1").links());
        assert!(!Entity::new(EntityKind::Account, "111122223333").links());
        assert!(!Entity::new(EntityKind::Role, "arn:aws:iam::1:role/r").links());
        assert_eq!(parse_ipv4("035.249.253.232"), Some([35, 249, 253, 232]));
        assert_eq!(parse_ipv4("256.1.1.1"), None);
        assert!(!is_ip("AWS Internal"));
        assert!(
            is_routable_ip("252.5.222.230"),
            "anonymized addresses in 240/4 link"
        );
        assert!(!is_routable_ip("239.1.1.1") && !is_routable_ip("255.255.255.255"));
    }
}
