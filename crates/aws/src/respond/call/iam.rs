//! IAM: access keys, login profiles, inline policies, trust policies, the credential report.

use super::*;

/// Sends an IAM call (`Call::send` routes only those here).
pub(super) async fn send(call: &Call, cx: &Cx<'_>) -> Result<Value, AwsError> {
    use Call::*;
    match call {
        SetAccessKeyStatus { user, key, status } => {
            send!(
                "iam",
                "UpdateAccessKey",
                cx.iam()
                    .update_access_key()
                    .user_name(user)
                    .access_key_id(key)
                    .status(aws_sdk_iam::types::StatusType::from(status.as_str()))
            )?;
        }
        DeleteLoginProfile { user } => {
            send!(
                "iam",
                "DeleteLoginProfile",
                cx.iam().delete_login_profile().user_name(user)
            )?;
        }
        CreateLoginProfile { user } => {
            send!(
                "iam",
                "CreateLoginProfile",
                cx.iam()
                    .create_login_profile()
                    .user_name(user)
                    .password(random_password()?)
                    .password_reset_required(true)
            )?;
        }
        PutUserPolicy {
            user,
            name,
            document,
        } => {
            send!(
                "iam",
                "PutUserPolicy",
                cx.iam()
                    .put_user_policy()
                    .user_name(user)
                    .policy_name(name)
                    .policy_document(document)
            )?;
        }
        DeleteUserPolicy { user, name } => {
            send!(
                "iam",
                "DeleteUserPolicy",
                cx.iam()
                    .delete_user_policy()
                    .user_name(user)
                    .policy_name(name)
            )?;
        }
        PutRolePolicy {
            role,
            name,
            document,
        } => {
            send!(
                "iam",
                "PutRolePolicy",
                cx.iam()
                    .put_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .policy_document(document)
            )?;
        }
        DeleteRolePolicy { role, name } => {
            send!(
                "iam",
                "DeleteRolePolicy",
                cx.iam()
                    .delete_role_policy()
                    .role_name(role)
                    .policy_name(name)
            )?;
        }
        SetTrustPolicy { role, document } => {
            send!(
                "iam",
                "UpdateAssumeRolePolicy",
                cx.iam()
                    .update_assume_role_policy()
                    .role_name(role)
                    .policy_document(document)
            )?;
        }
        CaptureCredentialReport => {
            let out = credential_report(cx).await?;
            let content = out
                .content()
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default();
            return Ok(json!({
                "evidence": "credential-report",
                "sha256": crate::sha256_hex(&content),
                "report": String::from_utf8_lossy(&content),
            }));
        }
        other => unreachable!("not an IAM call: {}", other.describe()),
    }
    Ok(Value::Null)
}
