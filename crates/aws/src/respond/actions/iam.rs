//! IAM: access keys, console passwords, deny-all and session-revoking inline policies, role trust,
//! the credential report.

use super::*;

pub(crate) struct DeactivateAccessKey;
impl Act for DeactivateAccessKey {
    type State = Option<String>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Option<String>, AwsError> {
        let user = s.target.parent.as_deref().unwrap_or_default();
        let out = send!(
            "iam",
            "ListAccessKeys",
            cx.iam().list_access_keys().user_name(user)
        )?;
        let status = out
            .access_key_metadata()
            .iter()
            .find(|k| k.access_key_id() == Some(s.target.id.as_str()))
            .map(|k| k.status().map_or("Active", |st| st.as_str()).to_string());
        match status {
            Some(st) => Ok(Some(st)),
            None => Err(AwsError::Call {
                service: "iam",
                operation: "ListAccessKeys",
                code: Some("NoSuchEntity".into()),
                message: format!("user {user} has no access key {}", s.target.id),
            }),
        }
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Option<String>) -> Result<Vec<Call>, String> {
        let Some(user) = &s.target.parent else {
            return Err(format!("access key {} has no known user", s.target.id));
        };
        if b.is_none() {
            return Err(format!("user {user} has no access key {}", s.target.id));
        }
        Ok(vec![Call::SetAccessKeyStatus {
            user: user.clone(),
            key: s.target.id.clone(),
            status: "Inactive".into(),
        }])
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Option<String>, _: &[Value]) -> Result<(), String> {
        check(a.as_deref() == Some("Inactive"), || {
            format!("key status is {a:?}")
        })
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Option<String>) -> Vec<Call> {
        match (b, &s.target.parent) {
            (Some(status), Some(user)) => vec![Call::SetAccessKeyStatus {
                user: user.clone(),
                key: s.target.id.clone(),
                status: status.clone(),
            }],
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LoginProfile {
    exists: bool,
}

pub(crate) struct DeleteLoginProfile;
impl Act for DeleteLoginProfile {
    type State = LoginProfile;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<LoginProfile, AwsError> {
        match send!(
            "iam",
            "GetLoginProfile",
            cx.iam().get_login_profile().user_name(&s.target.id)
        ) {
            Ok(_) => Ok(LoginProfile { exists: true }),
            Err(e) if not_found(&e, &["NoSuchEntity"]) => Ok(LoginProfile { exists: false }),
            Err(e) => Err(e),
        }
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &LoginProfile) -> Result<Vec<Call>, String> {
        Ok(if b.exists {
            vec![Call::DeleteLoginProfile {
                user: s.target.id.clone(),
            }]
        } else {
            Vec::new()
        })
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &LoginProfile, _: &[Value]) -> Result<(), String> {
        check(!a.exists, || "the login profile still exists".into())
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &LoginProfile) -> Vec<Call> {
        if b.exists {
            vec![Call::CreateLoginProfile {
                user: s.target.id.clone(),
            }]
        } else {
            Vec::new()
        }
    }
}

/// An inline policy of a user or role, by name: its document when present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Inline {
    document: Option<Value>,
}

#[derive(Clone, Copy)]
pub(crate) enum Holder {
    User,
    Role,
}

#[derive(Clone, Copy)]
pub(crate) enum Policy {
    DenyAll,
    RevokeSessions,
}

pub(crate) fn inline_name(p: Policy, h: Holder, cx: &Cx<'_>) -> String {
    match (p, h) {
        (Policy::RevokeSessions, Holder::Role) => "AWSRevokeOlderSessions".into(),
        (Policy::RevokeSessions, Holder::User) => {
            format!("FirebreakRevokeSessions-case-{}", cx.case)
        }
        (Policy::DenyAll, _) => format!("FirebreakDenyAll-case-{}", cx.case),
    }
}

pub(crate) fn inline_document(p: Policy, cx: &Cx<'_>) -> Value {
    match p {
        Policy::DenyAll => json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "FirebreakDenyAll", "Effect": "Deny", "Action": "*", "Resource": "*"}]}),
        Policy::RevokeSessions => json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "FirebreakRevokeOlderSessions", "Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"DateLessThan": {"aws:TokenIssueTime": model::time::format_iso(cx.now_ms)}}}]}),
    }
}

pub(crate) async fn read_inline(
    cx: &Cx<'_>,
    h: Holder,
    who: &str,
    name: &str,
) -> Result<Inline, AwsError> {
    let doc = match h {
        Holder::User => send!(
            "iam",
            "GetUserPolicy",
            cx.iam().get_user_policy().user_name(who).policy_name(name)
        )
        .map(|o| o.policy_document().to_string()),
        Holder::Role => send!(
            "iam",
            "GetRolePolicy",
            cx.iam().get_role_policy().role_name(who).policy_name(name)
        )
        .map(|o| o.policy_document().to_string()),
    };
    match doc {
        Ok(d) => Ok(Inline {
            document: Some(policy_json(&d)),
        }),
        Err(e) if not_found(&e, &["NoSuchEntity"]) => Ok(Inline { document: None }),
        Err(e) => Err(e),
    }
}

pub(crate) fn put_inline(h: Holder, who: &str, name: String, document: String) -> Call {
    match h {
        Holder::User => Call::PutUserPolicy {
            user: who.into(),
            name,
            document,
        },
        Holder::Role => Call::PutRolePolicy {
            role: who.into(),
            name,
            document,
        },
    }
}

pub(crate) fn inline_undo(h: Holder, who: &str, name: String, before: &Inline) -> Vec<Call> {
    match &before.document {
        Some(d) => vec![put_inline(h, who, name, d.to_string())],
        None => vec![match h {
            Holder::User => Call::DeleteUserPolicy {
                user: who.into(),
                name,
            },
            Holder::Role => Call::DeleteRolePolicy {
                role: who.into(),
                name,
            },
        }],
    }
}

pub(crate) fn inline_holds(p: Policy, a: &Inline) -> Result<(), String> {
    let sid = match p {
        Policy::DenyAll => "FirebreakDenyAll",
        Policy::RevokeSessions => "FirebreakRevokeOlderSessions",
    };
    let ok = a.document.as_ref().is_some_and(|d| {
        d["Statement"]
            .as_array()
            .is_some_and(|st| st.iter().any(|s| s["Sid"] == sid && s["Effect"] == "Deny"))
    });
    check(ok, || {
        format!("the {sid} statement is not in place: {:?}", a.document)
    })
}

macro_rules! inline_action {
    ($name:ident, $holder:expr, $policy:expr) => {
        pub(crate) struct $name;
        impl Act for $name {
            type State = Inline;
            async fn read(cx: &Cx<'_>, s: &Step) -> Result<Inline, AwsError> {
                read_inline(
                    cx,
                    $holder,
                    &s.target.id,
                    &inline_name($policy, $holder, cx),
                )
                .await
            }
            fn effect(cx: &Cx<'_>, s: &Step, _: &Inline) -> Result<Vec<Call>, String> {
                let doc = inline_document($policy, cx).to_string();
                Ok(vec![put_inline(
                    $holder,
                    &s.target.id,
                    inline_name($policy, $holder, cx),
                    doc,
                )])
            }
            fn holds(_: &Cx<'_>, _: &Step, a: &Inline, _: &[Value]) -> Result<(), String> {
                inline_holds($policy, a)
            }
            fn undo(cx: &Cx<'_>, s: &Step, b: &Inline) -> Vec<Call> {
                inline_undo($holder, &s.target.id, inline_name($policy, $holder, cx), b)
            }
        }
    };
}

inline_action!(DenyAllUser, Holder::User, Policy::DenyAll);
inline_action!(RevokeUserSessions, Holder::User, Policy::RevokeSessions);
inline_action!(DenyAllRole, Holder::Role, Policy::DenyAll);
inline_action!(RevokeRoleSessions, Holder::Role, Policy::RevokeSessions);

pub(crate) struct RestrictRoleTrust;

/// Whether a trust statement lets in someone outside `account` (another account, or anyone).
pub(crate) fn foreign(statement: &Value, account: &str) -> bool {
    let principals: Vec<&str> = match &statement["Principal"] {
        Value::String(s) => vec![s.as_str()],
        p => match &p["AWS"] {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        },
    };
    principals.iter().any(|p| {
        *p == "*" || {
            let acct = if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
                Some(*p)
            } else {
                model::entity::arn_account(p)
            };
            acct.is_some_and(|a| a != account)
        }
    })
}

impl Act for RestrictRoleTrust {
    type State = Value;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Value, AwsError> {
        let out = send!(
            "iam",
            "GetRole",
            cx.iam().get_role().role_name(&s.target.id)
        )?;
        let doc = out
            .role()
            .and_then(|r| r.assume_role_policy_document())
            .unwrap_or("{}");
        Ok(policy_json(doc))
    }
    fn effect(cx: &Cx<'_>, s: &Step, b: &Value) -> Result<Vec<Call>, String> {
        let statements = b["Statement"].as_array().cloned().unwrap_or_default();
        let (drop, mut keep): (Vec<Value>, Vec<Value>) = statements
            .into_iter()
            .partition(|st| foreign(st, &s.target.account));
        if drop.is_empty() {
            return Ok(Vec::new());
        }
        if keep.is_empty() {
            keep.push(json!({"Sid": "FirebreakResponderOnly", "Effect": "Allow",
                "Principal": {"AWS": cx.responder_arn(&s.target.account)}, "Action": "sts:AssumeRole"}));
        }
        let doc =
            json!({"Version": b["Version"].as_str().unwrap_or("2012-10-17"), "Statement": keep});
        Ok(vec![Call::SetTrustPolicy {
            role: s.target.id.clone(),
            document: doc.to_string(),
        }])
    }
    fn holds(_: &Cx<'_>, s: &Step, a: &Value, _: &[Value]) -> Result<(), String> {
        let bad: Vec<&Value> = a["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|st| st["Effect"] == "Allow" && foreign(st, &s.target.account))
            .collect();
        check(bad.is_empty(), || {
            format!("trust still admits outsiders: {bad:?}")
        })
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Value) -> Vec<Call> {
        vec![Call::SetTrustPolicy {
            role: s.target.id.clone(),
            document: b.to_string(),
        }]
    }
}

pub(crate) struct CaptureCredentialReport;
impl Act for CaptureCredentialReport {
    type State = ();
    async fn read(_: &Cx<'_>, _: &Step) -> Result<(), AwsError> {
        Ok(())
    }
    fn effect(_: &Cx<'_>, _: &Step, _: &()) -> Result<Vec<Call>, String> {
        Ok(vec![Call::CaptureCredentialReport])
    }
    fn holds(_: &Cx<'_>, _: &Step, _: &(), outputs: &[Value]) -> Result<(), String> {
        check(
            outputs
                .iter()
                .any(|o| o["report"].as_str().is_some_and(|r| !r.is_empty())),
            || "the credential report is empty".into(),
        )
    }
}

// --- S3 ----------------------------------------------------------------------------------
