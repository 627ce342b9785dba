//! A case's resources, found in its alerts and their CloudTrail records: who acted (keys,
//! users, roles), what they launched or changed (instances, buckets, snapshots, AMIs,
//! functions, trails), and where (accounts, regions).

use crate::target::{Target, TargetKind};
use case::summary::AlertRecord;
use model::EntityKind;
use serde_json::Value;
use std::collections::BTreeSet;

/// Everything a case names that a playbook may act on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bindings {
    pub targets: BTreeSet<Target>,
}

impl Bindings {
    pub fn of_kind(&self, kind: TargetKind) -> impl Iterator<Item = &Target> {
        self.targets.iter().filter(move |t| t.kind == kind)
    }
}

/// What binding must never return: the responder's own role (acting on it locks the
/// response out) and AWS service-linked roles.
#[derive(Debug, Clone, Default)]
pub struct Exclusions {
    /// Role name the responders assume (`FirebreakResponder`).
    pub responder_role: Option<String>,
}

/// Binds the resources of a case from its alerts and the records they fired on.
pub fn bind(alerts: &[AlertRecord], records: &[Value], ex: &Exclusions) -> Bindings {
    let mut b = Binder {
        out: Default::default(),
        ex,
    };
    for a in alerts {
        let account = a.account.as_deref().unwrap_or_default();
        b.add(TargetKind::Account, account, account, GLOBAL_REGION, None);
        if let Some(region) = a.region.as_deref() {
            for e in &a.entities {
                if e.kind == EntityKind::Instance {
                    b.add(TargetKind::Instance, &e.value, account, region, None);
                }
            }
        }
        if let Some(p) = &a.principal {
            b.principal(p, a.access_key_id.as_deref(), GLOBAL_REGION);
        }
    }
    for r in records {
        b.record(r);
    }
    Bindings {
        targets: b.out.into_values().collect(),
    }
}

/// Where calls for global resources (IAM, Organizations) go.
const GLOBAL_REGION: &str = "us-east-1";

struct Binder<'a> {
    /// One target per (kind, account, id): a resource seen in several records is bound once.
    out: std::collections::BTreeMap<(TargetKind, String, String), Target>,
    ex: &'a Exclusions,
}

fn s<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

impl Binder<'_> {
    fn add(
        &mut self,
        kind: TargetKind,
        id: &str,
        account: &str,
        region: &str,
        parent: Option<&str>,
    ) {
        let Ok(account) = model::AccountId::parse(account) else {
            return;
        };
        if id.is_empty() {
            return;
        }
        if kind == TargetKind::Role
            && (self.ex.responder_role.as_deref() == Some(id)
                || id.starts_with("AWSServiceRole")
                || id.starts_with("AWSReservedSSO_"))
        {
            return;
        }
        if kind == TargetKind::Instance && !model::entity::is_instance_id(id) {
            return;
        }
        let region = if kind.is_global() {
            GLOBAL_REGION
        } else {
            region
        };
        let key = (kind, account.to_string(), id.to_string());
        let mut t = Target::new(kind, id, account, region);
        t.parent = parent.map(str::to_string);
        self.out.entry(key).or_insert(t);
    }

    /// The actor: an IAM user and its access key, or an assumed role.
    fn principal(&mut self, arn: &str, key: Option<&str>, region: &str) {
        let Ok(arn) = model::Arn::parse(arn) else {
            return;
        };
        let (account, resource) = (arn.account(), arn.resource());
        if let Some(path) = resource.strip_prefix("user/") {
            let user = path.rsplit('/').next().unwrap_or(path);
            self.add(TargetKind::User, user, account, region, None);
            if let Some(k) =
                key.filter(|k| k.starts_with("AKIA") && model::entity::is_access_key_id(k))
            {
                self.add(TargetKind::AccessKey, k, account, region, Some(user));
            }
        } else if let Some(rest) = resource.strip_prefix("assumed-role/") {
            let role = rest.split('/').next().unwrap_or(rest);
            self.add(TargetKind::Role, role, account, region, None);
        } else if let Some(path) = resource.strip_prefix("role/") {
            let role = path.rsplit('/').next().unwrap_or(path);
            self.add(TargetKind::Role, role, account, region, None);
        }
    }

    fn record(&mut self, r: &Value) {
        let account = s(r, &["recipientAccountId"])
            .or_else(|| s(r, &["userIdentity", "accountId"]))
            .unwrap_or_default()
            .to_string();
        let region = s(r, &["awsRegion"]).unwrap_or("us-east-1").to_string();
        let (acct, reg) = (account.as_str(), region.as_str());
        if let Some(arn) = s(r, &["userIdentity", "arn"]) {
            self.principal(arn, s(r, &["userIdentity", "accessKeyId"]), reg);
        }
        if s(r, &["userIdentity", "type"]) == Some("Root") {
            self.add(TargetKind::Account, acct, acct, reg, None);
        }
        let source = s(r, &["eventSource"]).unwrap_or_default();
        let name = s(r, &["eventName"]).unwrap_or_default();
        let req = r.get("requestParameters").unwrap_or(&Value::Null);
        let resp = r.get("responseElements").unwrap_or(&Value::Null);
        match source {
            "iam.amazonaws.com" => {
                if let Some(user) = s(req, &["userName"]) {
                    self.add(TargetKind::User, user, acct, reg, None);
                }
                if let (Some(key), Some(user)) = (
                    s(resp, &["accessKey", "accessKeyId"]),
                    s(resp, &["accessKey", "userName"]),
                ) {
                    self.add(TargetKind::AccessKey, key, acct, reg, Some(user));
                }
                if let Some(role) = s(req, &["roleName"]) {
                    self.add(TargetKind::Role, role, acct, reg, None);
                }
            }
            "ec2.amazonaws.com" => {
                if let Some(i) = s(req, &["instanceId"]) {
                    self.add(TargetKind::Instance, i, acct, reg, None);
                }
                for set in [req, resp] {
                    for item in set
                        .pointer("/instancesSet/items")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(i) = s(item, &["instanceId"]) {
                            self.add(TargetKind::Instance, i, acct, reg, None);
                        }
                    }
                }
                match name {
                    "ModifySnapshotAttribute" => {
                        if let Some(id) = s(req, &["snapshotId"]) {
                            self.add(TargetKind::Snapshot, id, acct, reg, None);
                        }
                    }
                    "ModifyImageAttribute" => {
                        if let Some(id) = s(req, &["imageId"]) {
                            self.add(TargetKind::Image, id, acct, reg, None);
                        }
                    }
                    "DeleteFlowLogs" => self.add(TargetKind::Region, reg, acct, reg, None),
                    _ => {}
                }
            }
            "s3.amazonaws.com" => {
                if let Some(b) = s(req, &["bucketName"]) {
                    self.add(TargetKind::Bucket, b, acct, reg, None);
                }
            }
            "lambda.amazonaws.com" => {
                if let Some(f) = s(req, &["functionName"]) {
                    // A name, or an ARN possibly with a version or alias qualifier.
                    match model::Arn::parse(f) {
                        Ok(arn) => {
                            let res = arn.resource();
                            let name = res.split(':').nth(1).unwrap_or(res);
                            self.add(TargetKind::Function, name, acct, reg, None);
                        }
                        Err(_) => {
                            let name = f.split(':').next().unwrap_or(f);
                            self.add(TargetKind::Function, name, acct, reg, None);
                        }
                    }
                }
            }
            "cloudtrail.amazonaws.com" => {
                if let Some(trail) = s(req, &["name"]) {
                    match model::Arn::parse(trail) {
                        Ok(arn) => {
                            let res = arn.resource();
                            let name = res.strip_prefix("trail/").unwrap_or(res);
                            self.add(TargetKind::Trail, name, arn.account(), arn.region(), None)
                        }
                        Err(_) => self.add(TargetKind::Trail, trail, acct, reg, None),
                    }
                }
            }
            "guardduty.amazonaws.com" => self.add(TargetKind::Region, reg, acct, reg, None),
            _ => {}
        }
    }
}
