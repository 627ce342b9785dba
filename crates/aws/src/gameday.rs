//! Game days in an exercise account (the emulator's, or a sandbox the IR plan marks as an
//! exercise account): the warm-up makes what a technique needs, an emulated detonation
//! sends the technique's calls signed with the warm-up's stolen key and answers each with
//! the CloudTrail record AWS would write, state probes read resources back for the
//! containment and rollback proofs, and cleanup removes everything the warm-up made.
//!
//! These are the only SDK writes outside `respond::call`: they act as the attacker and the
//! exercise's own set-up, never as the responder, and `app::gameday` reaches them only for
//! the emulator on loopback or an account the IR plan lists under `exercises.accounts`.

use crate::{AwsError, Connection, call_error};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use gameday::scenario::{Condition, Resource, ResourceKind};
use gameday::trail::SentCall;
use gameday::{Api, EmulatedCall};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What the warm-up made, in the order it made it (cleanup goes backwards).
#[derive(Debug, Clone, Default)]
pub struct WarmedUp {
    /// `intruder.key` → `AKIA…`, `account`, `region`.
    pub values: BTreeMap<String, String>,
    /// A user's access key and secret, by resource id (the detonation signs with them).
    pub secrets: BTreeMap<String, (String, String)>,
    pub made: Vec<Made>,
}

/// One thing the warm-up made.
#[derive(Debug, Clone)]
pub enum Made {
    User(String),
    Role(String),
    Group(String),
    Instance(String),
    Bucket(String),
    Trail(String),
}

impl Made {
    /// `user gd-…-intruder`, for people.
    pub fn describe(&self) -> String {
        match self {
            Made::User(n) => format!("user {n}"),
            Made::Role(n) => format!("role {n}"),
            Made::Group(n) => format!("security group {n}"),
            Made::Instance(n) => format!("instance {n}"),
            Made::Bucket(n) => format!("bucket {n}"),
            Made::Trail(n) => format!("trail {n}"),
        }
    }
}

/// A name for resource `id` of run `run` (short, valid for IAM, S3 and CloudTrail).
pub fn resource_name(run: &str, id: &str) -> String {
    let mut n = format!("gd-{run}-{id}").to_ascii_lowercase();
    n.truncate(60);
    n
}

const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Makes `resources` in the connection's account; on failure, what was made so far is in
/// `into` for cleanup.
pub async fn warm_up(
    conn: &Connection,
    account: &str,
    region: &str,
    run: &str,
    resources: &[Resource],
    into: &mut WarmedUp,
) -> Result<(), AwsError> {
    into.values.insert("account".into(), account.to_string());
    into.values.insert("region".into(), region.to_string());
    let iam = conn.iam(region);
    let ec2 = conn.ec2(region);
    let s3 = conn.s3(region);
    let tag = |k: &str| {
        aws_sdk_iam::types::Tag::builder()
            .key("firebreak:gameday")
            .value(k)
            .build()
            .expect("key and value set")
    };
    for r in resources {
        let name = resource_name(run, &r.id);
        let put = |into: &mut WarmedUp, attr: &str, v: &str| {
            into.values
                .insert(format!("{}.{attr}", r.id), v.to_string());
        };
        match r.kind {
            ResourceKind::IamUser => {
                let out = send!(
                    "iam",
                    "CreateUser",
                    iam.create_user().user_name(&name).tags(tag(run))
                )?;
                into.made.push(Made::User(name.clone()));
                let u = out.user();
                put(into, "name", &name);
                put(into, "arn", u.map_or("", |u| u.arn()));
                put(into, "id", u.map_or("", |u| u.user_id()));
                if r.access_key {
                    let k = send!(
                        "iam",
                        "CreateAccessKey",
                        iam.create_access_key().user_name(&name)
                    )?;
                    let k = k.access_key().ok_or_else(|| AwsError::Call {
                        service: "iam",
                        operation: "CreateAccessKey",
                        code: None,
                        message: "no key in the answer".into(),
                    })?;
                    put(into, "key", k.access_key_id());
                    into.secrets.insert(
                        r.id.clone(),
                        (
                            k.access_key_id().to_string(),
                            k.secret_access_key().to_string(),
                        ),
                    );
                }
                if r.console {
                    send!(
                        "iam",
                        "CreateLoginProfile",
                        iam.create_login_profile()
                            .user_name(&name)
                            .password("Gameday-Only-Pa55word!")
                    )?;
                }
            }
            ResourceKind::IamRole => {
                let out = send!(
                    "iam",
                    "CreateRole",
                    iam.create_role()
                        .role_name(&name)
                        .assume_role_policy_document(EC2_TRUST)
                        .tags(tag(run))
                )?;
                into.made.push(Made::Role(name.clone()));
                put(into, "name", &name);
                put(into, "arn", out.role().map_or("", |r| r.arn()));
                put(into, "id", out.role().map_or("", |r| r.role_id()));
            }
            ResourceKind::Instance => {
                let vpc = send!(
                    "ec2",
                    "DescribeVpcs",
                    ec2.describe_vpcs().filters(
                        aws_sdk_ec2::types::Filter::builder()
                            .name("is-default")
                            .values("true")
                            .build()
                    )
                )?
                .vpcs()
                .first()
                .and_then(|v| v.vpc_id())
                .map(str::to_string);
                let g = send!(
                    "ec2",
                    "CreateSecurityGroup",
                    ec2.create_security_group()
                        .group_name(&name)
                        .description("firebreak game day workload")
                        .set_vpc_id(vpc)
                )?;
                let gid = g.group_id().unwrap_or_default().to_string();
                into.made.push(Made::Group(gid.clone()));
                // A workload's own rule, so isolation has something to take away and
                // rollback something to give back.
                send!(
                    "ec2",
                    "AuthorizeSecurityGroupIngress",
                    ec2.authorize_security_group_ingress()
                        .group_id(&gid)
                        .ip_permissions(
                            aws_sdk_ec2::types::IpPermission::builder()
                                .ip_protocol("tcp")
                                .from_port(443)
                                .to_port(443)
                                .ip_ranges(
                                    aws_sdk_ec2::types::IpRange::builder()
                                        .cidr_ip("10.0.0.0/8")
                                        .build()
                                )
                                .build()
                        )
                )?;
                let image = send!(
                    "ec2",
                    "DescribeImages",
                    ec2.describe_images().owners("amazon")
                )?
                .images()
                .iter()
                .filter_map(|i| i.image_id())
                .next()
                .map(str::to_string)
                .ok_or_else(|| AwsError::Call {
                    service: "ec2",
                    operation: "DescribeImages",
                    code: None,
                    message: "no Amazon image to launch".into(),
                })?;
                let out = send!(
                    "ec2",
                    "RunInstances",
                    ec2.run_instances()
                        .image_id(image)
                        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                        .min_count(1)
                        .max_count(1)
                        .tag_specifications(
                            aws_sdk_ec2::types::TagSpecification::builder()
                                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                                .tags(
                                    aws_sdk_ec2::types::Tag::builder()
                                        .key("firebreak:gameday")
                                        .value(run)
                                        .build()
                                )
                                .build()
                        )
                )?;
                let id = out
                    .instances()
                    .first()
                    .and_then(|i| i.instance_id())
                    .unwrap_or_default()
                    .to_string();
                into.made.push(Made::Instance(id.clone()));
                // The workload's group goes on its interface (as a launch template would).
                for eni in out
                    .instances()
                    .iter()
                    .flat_map(|i| i.network_interfaces())
                    .filter_map(|n| n.network_interface_id())
                {
                    send!(
                        "ec2",
                        "ModifyNetworkInterfaceAttribute",
                        ec2.modify_network_interface_attribute()
                            .network_interface_id(eni)
                            .groups(&gid)
                    )?;
                }
                put(into, "id", &id);
                put(into, "group", &gid);
            }
            ResourceKind::Bucket => {
                make_bucket(&s3, region, &name).await?;
                into.made.push(Made::Bucket(name.clone()));
                // A bucket as it should be: no public access of any kind.
                send!(
                    "s3",
                    "PutPublicAccessBlock",
                    s3.put_public_access_block()
                        .bucket(&name)
                        .public_access_block_configuration(
                            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                                .block_public_acls(true)
                                .ignore_public_acls(true)
                                .block_public_policy(true)
                                .restrict_public_buckets(true)
                                .build()
                        )
                )?;
                put(into, "name", &name);
                put(into, "arn", &format!("arn:aws:s3:::{name}"));
            }
            ResourceKind::Trail => {
                let bucket = format!("{name}-logs");
                make_bucket(&s3, region, &bucket).await?;
                into.made.push(Made::Bucket(bucket.clone()));
                let ct = conn.cloudtrail(region);
                let t = send!(
                    "cloudtrail",
                    "CreateTrail",
                    ct.create_trail().name(&name).s3_bucket_name(&bucket)
                )?;
                into.made.push(Made::Trail(name.clone()));
                send!("cloudtrail", "StartLogging", ct.start_logging().name(&name))?;
                put(into, "name", &name);
                put(into, "arn", t.trail_arn().unwrap_or_default());
                put(into, "bucket", &bucket);
            }
        }
    }
    Ok(())
}

async fn make_bucket(s3: &aws_sdk_s3::Client, region: &str, name: &str) -> Result<(), AwsError> {
    let mut req = s3.create_bucket().bucket(name);
    if region != "us-east-1" {
        req = req.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    send!("s3", "CreateBucket", req)?;
    Ok(())
}

/// The connection `user`'s stolen key signs with, its user agent carrying `agent` (the
/// game-day id), so every detonated call can be told apart in the account's own trail.
pub fn as_user(conn: &Connection, key: &str, secret: &str, agent: &str) -> Connection {
    let app = aws_config::AppName::new(agent.to_string()).ok();
    let mut builder = conn
        .base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            key, secret, None, None, "gameday",
        )));
    builder.set_app_name(app);
    let base = builder.build();
    Connection {
        base,
        path_style_s3: conn.path_style_s3,
        overrides: conn.overrides.clone(),
        recorder: None,
    }
}

fn param<'a>(p: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    p.get(name).map_or("", String::as_str)
}

/// Sends one emulated call with `params` rendered; the answer (or refusal) as CloudTrail
/// would log it. A refusal is a result, not an error: CloudTrail logs refused calls too.
pub async fn detonate(
    conn: &Connection,
    call: &EmulatedCall,
    params: &BTreeMap<String, String>,
    region: &str,
    at_ms: i64,
    request_id: &str,
) -> SentCall {
    let p = |n: &str| param(params, n).to_string();
    let iam = conn.iam(region);
    let ec2 = conn.ec2(region);
    let s3 = conn.s3(region);
    let ct = conn.cloudtrail(region);
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&conn.in_region(region)).build(),
    );
    let request = request_parameters(call.api, params);
    let answer: Result<Option<Value>, AwsError> = match call.api {
        Api::IamCreateUser => send!("iam", "CreateUser", iam.create_user().user_name(p("UserName")))
            .map(|o| o.user().map(|u| json!({"user": {"userName": u.user_name(), "userId": u.user_id(), "arn": u.arn(), "path": u.path()}}))),
        Api::IamCreateAccessKey => send!("iam", "CreateAccessKey", iam.create_access_key().user_name(p("UserName")))
            .map(|o| o.access_key().map(|k| json!({"accessKey": {"userName": k.user_name(), "accessKeyId": k.access_key_id(), "status": k.status().as_str()}}))),
        Api::IamAttachUserPolicy => send!("iam", "AttachUserPolicy", iam.attach_user_policy().user_name(p("UserName")).policy_arn(p("PolicyArn"))).map(|_| None),
        Api::IamCreateLoginProfile => send!("iam", "CreateLoginProfile", iam.create_login_profile().user_name(p("UserName")).password(p("Password")))
            .map(|_| Some(json!({"loginProfile": {"userName": p("UserName"), "passwordResetRequired": false}}))),
        Api::IamUpdateLoginProfile => send!("iam", "UpdateLoginProfile", iam.update_login_profile().user_name(p("UserName")).password(p("Password"))).map(|_| None),
        Api::IamCreateRole => send!("iam", "CreateRole", iam.create_role().role_name(p("RoleName")).assume_role_policy_document(p("AssumeRolePolicyDocument")))
            .map(|o| o.role().map(|r| json!({"role": {"roleName": r.role_name(), "roleId": r.role_id(), "arn": r.arn(), "assumeRolePolicyDocument": p("AssumeRolePolicyDocument")}}))),
        Api::IamAttachRolePolicy => send!("iam", "AttachRolePolicy", iam.attach_role_policy().role_name(p("RoleName")).policy_arn(p("PolicyArn"))).map(|_| None),
        Api::IamUpdateAssumeRolePolicy => send!("iam", "UpdateAssumeRolePolicy", iam.update_assume_role_policy().role_name(p("RoleName")).policy_document(p("PolicyDocument"))).map(|_| None),
        Api::CloudTrailStopLogging => send!("cloudtrail", "StopLogging", ct.stop_logging().name(p("Name"))).map(|_| None),
        Api::CloudTrailDeleteTrail => send!("cloudtrail", "DeleteTrail", ct.delete_trail().name(p("Name"))).map(|_| None),
        Api::CloudTrailPutEventSelectors => {
            let rw = aws_sdk_cloudtrail::types::ReadWriteType::from(
                params.get("ReadWriteType").map_or("WriteOnly", String::as_str),
            );
            send!(
                "cloudtrail",
                "PutEventSelectors",
                ct.put_event_selectors().trail_name(p("TrailName")).event_selectors(
                    aws_sdk_cloudtrail::types::EventSelector::builder()
                        .read_write_type(rw)
                        .include_management_events(false)
                        .build()
                )
            )
            .map(|o| Some(json!({"trailARN": o.trail_arn()})))
        }
        Api::Ec2AuthorizeSecurityGroupIngress => {
            let port: i32 = p("Port").parse().unwrap_or(0);
            send!(
                "ec2",
                "AuthorizeSecurityGroupIngress",
                ec2.authorize_security_group_ingress().group_id(p("GroupId")).ip_permissions(
                    aws_sdk_ec2::types::IpPermission::builder()
                        .ip_protocol("tcp")
                        .from_port(port)
                        .to_port(port)
                        .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(p("CidrIp")).build())
                        .build()
                )
            )
            .map(|o| Some(json!({"requestId": request_id, "_return": o.r#return().unwrap_or(true)})))
        }
        Api::Ec2ModifyInstanceAttribute => send!(
            "ec2",
            "ModifyInstanceAttribute",
            ec2.modify_instance_attribute().instance_id(p("InstanceId")).user_data(
                aws_sdk_ec2::types::SecureBlobAttributeValue::builder()
                    .value(aws_smithy_types::Blob::new(p("UserData").into_bytes()))
                    .build()
            )
        )
        .map(|_| Some(json!({"requestId": request_id, "_return": true}))),
        Api::Ec2DescribeInstanceAttribute => send!(
            "ec2",
            "DescribeInstanceAttribute",
            ec2.describe_instance_attribute()
                .instance_id(p("InstanceId"))
                .attribute(aws_sdk_ec2::types::InstanceAttributeName::from(p("Attribute").as_str()))
        )
        .map(|_| None),
        Api::S3DeletePublicAccessBlock => send!("s3", "DeletePublicAccessBlock", s3.delete_public_access_block().bucket(p("Bucket"))).map(|_| None),
        Api::S3PutBucketPolicy => send!("s3", "PutBucketPolicy", s3.put_bucket_policy().bucket(p("Bucket")).policy(p("Policy"))).map(|_| None),
        Api::StsGetCallerIdentity => send!("sts", "GetCallerIdentity", sts.get_caller_identity())
            .map(|o| Some(json!({"userId": o.user_id(), "account": o.account(), "arn": o.arn()}))),
        Api::StsGetFederationToken => send!(
            "sts",
            "GetFederationToken",
            sts.get_federation_token().name(p("Name")).set_policy(params.get("Policy").cloned())
        )
        .map(|o| {
            Some(json!({
                "credentials": {"accessKeyId": o.credentials().map(|c| c.access_key_id()), "sessionToken": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                "federatedUser": {"federatedUserId": o.federated_user().map(|f| f.federated_user_id()), "arn": o.federated_user().map(|f| f.arn())}
            }))
        }),
    };
    let (response_elements, error) = match answer {
        Ok(r) => (r, None),
        Err(e) => {
            let code = e.code().unwrap_or("ServiceError").to_string();
            (None, Some((code, e.to_string())))
        }
    };
    SentCall {
        api: call.api,
        region: region.to_string(),
        at_ms,
        request_parameters: request,
        response_elements,
        error,
        request_id: request_id.to_string(),
    }
}

/// A call's `requestParameters` in CloudTrail's spelling (camelCase; EC2's item lists).
fn request_parameters(api: Api, p: &BTreeMap<String, String>) -> Value {
    let g = |n: &str| param(p, n);
    match api {
        Api::Ec2AuthorizeSecurityGroupIngress => {
            let port: i64 = g("Port").parse().unwrap_or(0);
            json!({"groupId": g("GroupId"), "ipPermissions": {"items": [{
                "ipProtocol": "tcp", "fromPort": port, "toPort": port,
                "groups": {}, "ipRanges": {"items": [{"cidrIp": g("CidrIp")}]},
                "ipv6Ranges": {}, "prefixListIds": {}}]}})
        }
        Api::Ec2ModifyInstanceAttribute => {
            json!({"instanceId": g("InstanceId"), "userData": "<sensitiveDataRemoved>"})
        }
        Api::Ec2DescribeInstanceAttribute => {
            json!({"instanceId": g("InstanceId"), "attribute": g("Attribute")})
        }
        Api::CloudTrailPutEventSelectors => {
            json!({"trailName": g("TrailName"), "eventSelectors": [{
            "readWriteType": p.get("ReadWriteType").map_or("WriteOnly", String::as_str),
            "includeManagementEvents": false, "dataResources": [], "excludeManagementEventSources": []}]})
        }
        Api::IamCreateLoginProfile | Api::IamUpdateLoginProfile => {
            json!({"userName": g("UserName"), "passwordResetRequired": false})
        }
        Api::S3DeletePublicAccessBlock => {
            json!({"bucketName": g("Bucket"), "publicAccessBlock": "", "Host": format!("{}.s3.amazonaws.com", g("Bucket"))})
        }
        Api::S3PutBucketPolicy => {
            json!({"bucketName": g("Bucket"), "bucketPolicy": serde_json::from_str::<Value>(g("Policy")).unwrap_or(Value::Null), "policy": ""})
        }
        Api::StsGetCallerIdentity => Value::Null,
        _ => {
            let mut o = serde_json::Map::new();
            for (k, v) in p {
                let mut c = k.chars();
                let key = c
                    .next()
                    .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
                    .unwrap_or_default();
                o.insert(key, Value::String(v.clone()));
            }
            Value::Object(o)
        }
    }
}

/// A policy document as IAM returns it (URL-encoded, or plain from some emulators).
fn policy_json(doc: &str) -> Value {
    let decoded = if doc.trim_start().starts_with('%') {
        let b = doc.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && i + 2 < b.len()
                && let Some(x) = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(x);
                i += 3;
                continue;
            }
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    } else {
        doc.to_string()
    };
    serde_json::from_str(&decoded).unwrap_or(Value::Null)
}

/// What an inline policy does: denies everything, or only sessions issued before a time.
fn deny_kind(doc: &Value) -> (bool, bool) {
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s) => vec![s],
        None => Vec::new(),
    };
    let mut deny_all = false;
    let mut revokes = false;
    for s in statements {
        let everything = s.get("Effect").and_then(Value::as_str) == Some("Deny")
            && s.get("Action")
                .is_some_and(|a| a == "*" || a == &json!(["*"]))
            && s.get("Resource")
                .is_some_and(|a| a == "*" || a == &json!(["*"]));
        if !everything {
            continue;
        }
        match s.get("Condition") {
            None => deny_all = true,
            Some(c) if c.to_string().contains("aws:TokenIssueTime") => revokes = true,
            Some(_) => {}
        }
    }
    (deny_all, revokes)
}

/// Reads a warm-up resource's state as it stands (what the proofs are judged on).
pub async fn state(
    conn: &Connection,
    region: &str,
    r: &Resource,
    values: &BTreeMap<String, String>,
) -> Result<Value, AwsError> {
    let v = |attr: &str| {
        values
            .get(&format!("{}.{attr}", r.id))
            .cloned()
            .unwrap_or_default()
    };
    match r.kind {
        ResourceKind::IamUser => {
            let iam = conn.iam(region);
            let name = v("name");
            let keys = send!(
                "iam",
                "ListAccessKeys",
                iam.list_access_keys().user_name(&name)
            )?;
            let keys: BTreeMap<String, String> = keys
                .access_key_metadata()
                .iter()
                .map(|k| {
                    (
                        k.access_key_id().unwrap_or_default().to_string(),
                        k.status().map_or("", |s| s.as_str()).to_string(),
                    )
                })
                .collect();
            let (deny_all, revokes, policies) = inline_policies(&iam, Holder::User(&name)).await?;
            let console = iam
                .get_login_profile()
                .user_name(&name)
                .send()
                .await
                .is_ok();
            Ok(
                json!({"keys": keys, "inline_policies": policies, "deny_all": deny_all, "revokes_sessions": revokes, "console": console}),
            )
        }
        ResourceKind::IamRole => {
            let iam = conn.iam(region);
            let name = v("name");
            let (deny_all, revokes, policies) = inline_policies(&iam, Holder::Role(&name)).await?;
            let role = send!("iam", "GetRole", iam.get_role().role_name(&name))?;
            let trust = role
                .role()
                .and_then(|r| r.assume_role_policy_document())
                .map(policy_json)
                .unwrap_or(Value::Null);
            Ok(
                json!({"inline_policies": policies, "deny_all": deny_all, "revokes_sessions": revokes, "trust": trust}),
            )
        }
        ResourceKind::Instance => {
            let ec2 = conn.ec2(region);
            let out = send!(
                "ec2",
                "DescribeInstances",
                ec2.describe_instances().instance_ids(v("id"))
            )?;
            let inst = out.reservations().iter().flat_map(|r| r.instances()).next();
            // The groups of its interfaces: what reaches it, and what isolation changes.
            let enis = send!(
                "ec2",
                "DescribeNetworkInterfaces",
                ec2.describe_network_interfaces().filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("attachment.instance-id")
                        .values(v("id"))
                        .build()
                )
            )?;
            let mut groups: Vec<String> = enis
                .network_interfaces()
                .iter()
                .flat_map(|n| n.groups())
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect();
            groups.sort();
            groups.dedup();
            let mut rules = BTreeMap::new();
            if !groups.is_empty() {
                let g = send!(
                    "ec2",
                    "DescribeSecurityGroups",
                    ec2.describe_security_groups()
                        .set_group_ids(Some(groups.clone()))
                )?;
                for sg in g.security_groups() {
                    let n = sg.ip_permissions().len() + sg.ip_permissions_egress().len();
                    rules.insert(sg.group_id().unwrap_or_default().to_string(), n);
                }
            }
            Ok(
                json!({"groups": groups, "rules": rules, "state": inst.and_then(|i| i.state()).and_then(|s| s.name()).map(|n| n.as_str().to_string())}),
            )
        }
        ResourceKind::Bucket => {
            let s3 = conn.s3(region);
            let pab = s3
                .get_public_access_block()
                .bucket(v("name"))
                .send()
                .await
                .ok();
            let c = pab
                .as_ref()
                .and_then(|p| p.public_access_block_configuration());
            let all = c.is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            });
            let policy = s3
                .get_bucket_policy()
                .bucket(v("name"))
                .send()
                .await
                .ok()
                .and_then(|p| p.policy().map(str::to_string));
            Ok(json!({"public_access_blocked": all, "policy": policy}))
        }
        ResourceKind::Trail => {
            let ct = conn.cloudtrail(region);
            match ct.get_trail_status().name(v("name")).send().await {
                Ok(s) => Ok(json!({"exists": true, "logging": s.is_logging().unwrap_or(false)})),
                Err(e) => {
                    let e = call_error("cloudtrail", "GetTrailStatus", e);
                    if e.code().is_some_and(|c| c.contains("TrailNotFound")) {
                        Ok(json!({"exists": false, "logging": false}))
                    } else {
                        Err(e)
                    }
                }
            }
        }
    }
}

enum Holder<'a> {
    User(&'a str),
    Role(&'a str),
}

async fn inline_policies(
    iam: &aws_sdk_iam::Client,
    who: Holder<'_>,
) -> Result<(bool, bool, Vec<String>), AwsError> {
    let names: Vec<String> = match who {
        Holder::User(n) => send!(
            "iam",
            "ListUserPolicies",
            iam.list_user_policies().user_name(n)
        )?
        .policy_names()
        .to_vec(),
        Holder::Role(n) => send!(
            "iam",
            "ListRolePolicies",
            iam.list_role_policies().role_name(n)
        )?
        .policy_names()
        .to_vec(),
    };
    let mut deny_all = false;
    let mut revokes = false;
    for p in &names {
        let doc = match who {
            Holder::User(n) => send!(
                "iam",
                "GetUserPolicy",
                iam.get_user_policy().user_name(n).policy_name(p)
            )?
            .policy_document()
            .to_string(),
            Holder::Role(n) => send!(
                "iam",
                "GetRolePolicy",
                iam.get_role_policy().role_name(n).policy_name(p)
            )?
            .policy_document()
            .to_string(),
        };
        let (d, r) = deny_kind(&policy_json(&doc));
        deny_all |= d;
        revokes |= r;
    }
    Ok((deny_all, revokes, names))
}

/// Whether a resource's state (from [`state`]) meets `condition`.
pub fn holds(condition: Condition, state: &Value) -> bool {
    match condition {
        Condition::KeyInactive => state["keys"]
            .as_object()
            .is_some_and(|k| !k.is_empty() && k.values().all(|s| s == "Inactive")),
        Condition::Denied => state["deny_all"] == true,
        Condition::NoConsole => state["console"] == false,
        Condition::SessionsRevoked => state["revokes_sessions"] == true,
        Condition::Isolated => state["rules"]
            .as_object()
            .is_some_and(|r| !r.is_empty() && r.values().all(|n| n == 0)),
        Condition::Blocked => state["public_access_blocked"] == true,
        Condition::Logging => state["logging"] == true,
    }
}

/// Removes what the warm-up made (and what the technique added to it), last first; every
/// failure is returned, none stops the rest.
pub async fn clean_up(conn: &Connection, region: &str, warmed: &WarmedUp) -> Vec<String> {
    let iam = conn.iam(region);
    let ec2 = conn.ec2(region);
    let s3 = conn.s3(region);
    let ct = conn.cloudtrail(region);
    let mut problems = Vec::new();
    for m in warmed.made.iter().rev() {
        let r: Result<(), AwsError> = match m {
            Made::User(n) => delete_user(&iam, n).await,
            Made::Role(n) => delete_role(&iam, n).await,
            Made::Instance(id) => terminate(&ec2, id).await,
            Made::Group(id) => send!(
                "ec2",
                "DeleteSecurityGroup",
                ec2.delete_security_group().group_id(id)
            )
            .map(|_| ()),
            Made::Trail(n) => match send!("cloudtrail", "DeleteTrail", ct.delete_trail().name(n)) {
                Err(e) if e.code().is_some_and(|c| c.contains("TrailNotFound")) => Ok(()),
                r => r.map(|_| ()),
            },
            Made::Bucket(n) => empty_and_delete_bucket(&s3, n).await,
        };
        if let Err(e) = r {
            problems.push(format!("{}: {e}", m.describe()));
        }
    }
    problems
}

/// Terminates a game day's instance, lifting the termination protection a containment
/// step may have left on it.
async fn terminate(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<(), AwsError> {
    match send!(
        "ec2",
        "TerminateInstances",
        ec2.terminate_instances().instance_ids(id)
    ) {
        Err(e) if e.code() == Some("OperationNotPermitted") => {
            send!(
                "ec2",
                "ModifyInstanceAttribute",
                ec2.modify_instance_attribute()
                    .instance_id(id)
                    .disable_api_termination(
                        aws_sdk_ec2::types::AttributeBooleanValue::builder()
                            .value(false)
                            .build()
                    )
            )?;
            send!(
                "ec2",
                "TerminateInstances",
                ec2.terminate_instances().instance_ids(id)
            )?;
            Ok(())
        }
        r => r.map(|_| ()),
    }
}

async fn delete_user(iam: &aws_sdk_iam::Client, n: &str) -> Result<(), AwsError> {
    for k in
        send!("iam", "ListAccessKeys", iam.list_access_keys().user_name(n))?.access_key_metadata()
    {
        if let Some(id) = k.access_key_id() {
            send!(
                "iam",
                "DeleteAccessKey",
                iam.delete_access_key().user_name(n).access_key_id(id)
            )?;
        }
    }
    for p in send!(
        "iam",
        "ListUserPolicies",
        iam.list_user_policies().user_name(n)
    )?
    .policy_names()
    {
        send!(
            "iam",
            "DeleteUserPolicy",
            iam.delete_user_policy().user_name(n).policy_name(p)
        )?;
    }
    for p in send!(
        "iam",
        "ListAttachedUserPolicies",
        iam.list_attached_user_policies().user_name(n)
    )?
    .attached_policies()
    {
        if let Some(arn) = p.policy_arn() {
            send!(
                "iam",
                "DetachUserPolicy",
                iam.detach_user_policy().user_name(n).policy_arn(arn)
            )?;
        }
    }
    let _ = iam.delete_login_profile().user_name(n).send().await;
    send!("iam", "DeleteUser", iam.delete_user().user_name(n))?;
    Ok(())
}

async fn delete_role(iam: &aws_sdk_iam::Client, n: &str) -> Result<(), AwsError> {
    for p in send!(
        "iam",
        "ListRolePolicies",
        iam.list_role_policies().role_name(n)
    )?
    .policy_names()
    {
        send!(
            "iam",
            "DeleteRolePolicy",
            iam.delete_role_policy().role_name(n).policy_name(p)
        )?;
    }
    for p in send!(
        "iam",
        "ListAttachedRolePolicies",
        iam.list_attached_role_policies().role_name(n)
    )?
    .attached_policies()
    {
        if let Some(arn) = p.policy_arn() {
            send!(
                "iam",
                "DetachRolePolicy",
                iam.detach_role_policy().role_name(n).policy_arn(arn)
            )?;
        }
    }
    send!("iam", "DeleteRole", iam.delete_role().role_name(n))?;
    Ok(())
}

async fn empty_and_delete_bucket(s3: &aws_sdk_s3::Client, n: &str) -> Result<(), AwsError> {
    let listed = send!("s3", "ListObjectsV2", s3.list_objects_v2().bucket(n))?;
    for o in listed.contents() {
        if let Some(k) = o.key() {
            send!("s3", "DeleteObject", s3.delete_object().bucket(n).key(k))?;
        }
    }
    send!("s3", "DeleteBucket", s3.delete_bucket().bucket(n))?;
    Ok(())
}

/// The account a connection acts in (live mode checks it against the IR plan).
pub async fn caller_account(conn: &Connection) -> Result<String, AwsError> {
    let sts = aws_sdk_sts::Client::new(&conn.base);
    let out = send!("sts", "GetCallerIdentity", sts.get_caller_identity())?;
    Ok(out.account().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_read_whether_encoded_or_not() {
        let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
        let encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Deny%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        assert_eq!(deny_kind(&policy_json(deny)), (true, false));
        assert_eq!(deny_kind(&policy_json(encoded)), (true, false));
        let revoke = json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}}}]});
        assert_eq!(deny_kind(&revoke), (false, true));
        assert!(holds(
            Condition::KeyInactive,
            &json!({"keys": {"AKIA1": "Inactive"}})
        ));
        assert!(!holds(
            Condition::KeyInactive,
            &json!({"keys": {"AKIA1": "Inactive", "AKIA2": "Active"}})
        ));
        assert!(!holds(Condition::Isolated, &json!({"rules": {}})));
        assert!(holds(Condition::Isolated, &json!({"rules": {"sg-1": 0}})));
    }
}
