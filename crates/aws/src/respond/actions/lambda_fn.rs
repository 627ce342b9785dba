//! Lambda: concurrency and public resource policies.

use super::*;

pub(crate) struct ZeroConcurrency;
impl Act for ZeroConcurrency {
    type State = Option<i32>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Option<i32>, AwsError> {
        let out = send!(
            "lambda",
            "GetFunctionConcurrency",
            cx.lambda()
                .get_function_concurrency()
                .function_name(&s.target.id)
        )?;
        Ok(out.reserved_concurrent_executions())
    }
    fn effect(_: &Cx<'_>, s: &Step, _: &Option<i32>) -> Result<Vec<Call>, String> {
        Ok(vec![Call::SetConcurrency {
            function: s.target.id.clone(),
            reserved: Some(0),
        }])
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Option<i32>, _: &[Value]) -> Result<(), String> {
        check(*a == Some(0), || format!("reserved concurrency is {a:?}"))
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Option<i32>) -> Vec<Call> {
        vec![Call::SetConcurrency {
            function: s.target.id.clone(),
            reserved: *b,
        }]
    }
}

/// A Lambda resource-policy statement, as AddPermission takes it.
pub(crate) struct LambdaGrant {
    pub sid: String,
    pub action: String,
    pub principal: String,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
}

impl LambdaGrant {
    pub(crate) fn from_statement(st: &Value) -> LambdaGrant {
        let principal = match &st["Principal"] {
            Value::String(s) => s.clone(),
            p => p["AWS"]
                .as_str()
                .or(p["Service"].as_str())
                .unwrap_or("*")
                .to_string(),
        };
        let cond = &st["Condition"];
        LambdaGrant {
            sid: st["Sid"].as_str().unwrap_or_default().to_string(),
            action: st["Action"]
                .as_str()
                .unwrap_or("lambda:InvokeFunction")
                .to_string(),
            principal,
            source_arn: cond["ArnLike"]["AWS:SourceArn"]
                .as_str()
                .map(str::to_string),
            source_account: cond["StringEquals"]["AWS:SourceAccount"]
                .as_str()
                .map(str::to_string),
        }
    }
}

pub(crate) struct RemovePublicPermissions;
impl Act for RemovePublicPermissions {
    /// The statements that let anyone or another account invoke the function.
    type State = Vec<Value>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Vec<Value>, AwsError> {
        let policy = match send!(
            "lambda",
            "GetPolicy",
            cx.lambda().get_policy().function_name(&s.target.id)
        ) {
            Ok(o) => o.policy().map(policy_json).unwrap_or(Value::Null),
            Err(e) if not_found(&e, &["ResourceNotFoundException"]) => Value::Null,
            Err(e) => return Err(e),
        };
        let mut out: Vec<Value> = policy["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|st| st["Effect"] == "Allow" && foreign(st, &s.target.account))
            .cloned()
            .collect();
        out.sort_by_key(|st| st["Sid"].as_str().unwrap_or_default().to_string());
        Ok(out)
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Vec<Value>) -> Result<Vec<Call>, String> {
        Ok(b.iter()
            .map(|st| Call::RemovePermission {
                function: s.target.id.clone(),
                sid: st["Sid"].as_str().unwrap_or_default().to_string(),
            })
            .collect())
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Vec<Value>, _: &[Value]) -> Result<(), String> {
        check(a.is_empty(), || format!("public statements remain: {a:?}"))
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Vec<Value>) -> Vec<Call> {
        b.iter()
            .map(|st| Call::AddPermission {
                function: s.target.id.clone(),
                statement: st.clone(),
            })
            .collect()
    }
    fn restored(before: &Vec<Value>, now: &Vec<Value>) -> Result<(), String> {
        let sids = |v: &Vec<Value>| v.iter().map(|s| s["Sid"].clone()).collect::<Vec<_>>();
        check(sids(before) == sids(now), || {
            format!("statements are {now:?}, were {before:?}")
        })
    }
}

// --- Organizations, CloudTrail, GuardDuty ------------------------------------------------
