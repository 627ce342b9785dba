//! Organizations: the quarantine service control policy.

use super::*;

/// Sends an Organizations call (`Call::send` routes only those here).
pub(super) async fn send(call: &Call, cx: &Cx<'_>) -> Result<Value, AwsError> {
    use Call::*;
    match call {
        EnsureQuarantineScp => {
            if let Some(id) = quarantine_scp(cx).await? {
                return Ok(json!({ "policy": id, "created": false }));
            }
            let content = json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "FirebreakQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}]});
            let out = send!(
                "organizations",
                "CreatePolicy",
                cx.organizations()
                    .create_policy()
                    .name(QUARANTINE_SCP)
                    .description("Firebreak: deny everything in a quarantined account")
                    .r#type(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
                    .content(content.to_string())
            )?;
            let id = out
                .policy()
                .and_then(|p| p.policy_summary())
                .and_then(|s| s.id())
                .unwrap_or_default();
            return Ok(json!({ "policy": id, "created": true }));
        }
        AttachScp { target } | DetachScp { target } => {
            let id = quarantine_scp(cx).await?.ok_or_else(|| AwsError::Call {
                service: "organizations",
                operation: "AttachPolicy",
                code: None,
                message: format!("no {QUARANTINE_SCP} policy in the organization"),
            })?;
            if matches!(call, AttachScp { .. }) {
                send!(
                    "organizations",
                    "AttachPolicy",
                    cx.organizations()
                        .attach_policy()
                        .policy_id(&id)
                        .target_id(target)
                )?;
            } else {
                send!(
                    "organizations",
                    "DetachPolicy",
                    cx.organizations()
                        .detach_policy()
                        .policy_id(&id)
                        .target_id(target)
                )?;
            }
        }
        other => unreachable!("not an Organizations call: {}", other.describe()),
    }
    Ok(Value::Null)
}
