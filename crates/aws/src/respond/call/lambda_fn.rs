//! Lambda: reserved concurrency and resource policies.

use super::*;

/// Sends a Lambda call (`Call::send` routes only those here).
pub(super) async fn send(call: &Call, cx: &Cx<'_>) -> Result<Value, AwsError> {
    use Call::*;
    match call {
        SetConcurrency {
            function,
            reserved: Some(n),
        } => {
            send!(
                "lambda",
                "PutFunctionConcurrency",
                cx.lambda()
                    .put_function_concurrency()
                    .function_name(function)
                    .reserved_concurrent_executions(*n)
            )?;
        }
        SetConcurrency {
            function,
            reserved: None,
        } => {
            send!(
                "lambda",
                "DeleteFunctionConcurrency",
                cx.lambda()
                    .delete_function_concurrency()
                    .function_name(function)
            )?;
        }
        RemovePermission { function, sid } => {
            send!(
                "lambda",
                "RemovePermission",
                cx.lambda()
                    .remove_permission()
                    .function_name(function)
                    .statement_id(sid)
            )?;
        }
        AddPermission {
            function,
            statement,
        } => {
            let p = crate::respond::actions::LambdaGrant::from_statement(statement);
            send!(
                "lambda",
                "AddPermission",
                cx.lambda()
                    .add_permission()
                    .function_name(function)
                    .statement_id(&p.sid)
                    .action(&p.action)
                    .principal(&p.principal)
                    .set_source_arn(p.source_arn)
                    .set_source_account(p.source_account)
            )?;
        }
        other => unreachable!("not a Lambda call: {}", other.describe()),
    }
    Ok(Value::Null)
}
