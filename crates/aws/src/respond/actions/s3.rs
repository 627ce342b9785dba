//! S3: public access blocks, versioning, bucket policies.

use super::*;

pub(crate) struct BlockPublicAccess;
impl Act for BlockPublicAccess {
    type State = Option<[bool; 4]>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Self::State, AwsError> {
        match send!(
            "s3",
            "GetPublicAccessBlock",
            cx.s3().get_public_access_block().bucket(&s.target.id)
        ) {
            Ok(o) => Ok(o.public_access_block_configuration().map(|c| {
                [
                    c.block_public_acls().unwrap_or(false),
                    c.ignore_public_acls().unwrap_or(false),
                    c.block_public_policy().unwrap_or(false),
                    c.restrict_public_buckets().unwrap_or(false),
                ]
            })),
            Err(e) if not_found(&e, &["NoSuchPublicAccessBlockConfiguration"]) => Ok(None),
            Err(e) => Err(e),
        }
    }
    fn effect(_: &Cx<'_>, s: &Step, _: &Self::State) -> Result<Vec<Call>, String> {
        Ok(vec![Call::PutPublicAccessBlock {
            bucket: s.target.id.clone(),
            settings: [true; 4],
        }])
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Self::State, _: &[Value]) -> Result<(), String> {
        check(*a == Some([true; 4]), || {
            format!("public access block is {a:?}")
        })
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Self::State) -> Vec<Call> {
        vec![match b {
            Some(settings) => Call::PutPublicAccessBlock {
                bucket: s.target.id.clone(),
                settings: *settings,
            },
            None => Call::DeletePublicAccessBlock {
                bucket: s.target.id.clone(),
            },
        }]
    }
}

pub(crate) struct EnableVersioning;
impl Act for EnableVersioning {
    type State = Option<String>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Option<String>, AwsError> {
        let out = send!(
            "s3",
            "GetBucketVersioning",
            cx.s3_versioning()
                .get_bucket_versioning()
                .bucket(&s.target.id)
        )?;
        Ok(out.status().map(|st| st.as_str().to_string()))
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &Option<String>) -> Result<Vec<Call>, String> {
        Ok(if b.as_deref() == Some("Enabled") {
            Vec::new()
        } else {
            vec![Call::SetVersioning {
                bucket: s.target.id.clone(),
                status: "Enabled".into(),
            }]
        })
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Option<String>, _: &[Value]) -> Result<(), String> {
        check(a.as_deref() == Some("Enabled"), || {
            format!("versioning is {a:?}")
        })
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Option<String>) -> Vec<Call> {
        if b.as_deref() == Some("Enabled") {
            Vec::new()
        } else {
            vec![Call::SetVersioning {
                bucket: s.target.id.clone(),
                status: "Suspended".into(),
            }]
        }
    }
    fn restored(before: &Option<String>, now: &Option<String>) -> Result<(), String> {
        // Versioning never returns to "never enabled": suspended is the closest state.
        let off = |s: &Option<String>| s.as_deref() != Some("Enabled");
        check(off(before) == off(now), || {
            format!("versioning is {now:?}, was {before:?}")
        })
    }
}

pub(crate) struct LockBucketPolicy;
impl Act for LockBucketPolicy {
    type State = Option<Value>;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<Option<Value>, AwsError> {
        match send!(
            "s3",
            "GetBucketPolicy",
            cx.s3().get_bucket_policy().bucket(&s.target.id)
        ) {
            Ok(o) => Ok(o.policy().map(policy_json)),
            Err(e) if not_found(&e, &["NoSuchBucketPolicy"]) => Ok(None),
            Err(e) => Err(e),
        }
    }
    fn effect(cx: &Cx<'_>, s: &Step, _: &Option<Value>) -> Result<Vec<Call>, String> {
        let b = &s.target.id;
        let policy = json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "FirebreakIncidentLock", "Effect": "Deny", "Principal": "*",
            "NotAction": ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
            "Resource": [format!("arn:aws:s3:::{b}"), format!("arn:aws:s3:::{b}/*")],
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": cx.responder_arn(&s.target.account)}}}]});
        Ok(vec![Call::PutBucketPolicy {
            bucket: b.clone(),
            policy: policy.to_string(),
        }])
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Option<Value>, _: &[Value]) -> Result<(), String> {
        let ok = a.as_ref().is_some_and(|p| {
            p["Statement"]
                .as_array()
                .is_some_and(|st| st.iter().any(|s| s["Sid"] == "FirebreakIncidentLock"))
        });
        check(ok, || format!("bucket policy is {a:?}"))
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &Option<Value>) -> Vec<Call> {
        vec![match b {
            Some(p) => Call::PutBucketPolicy {
                bucket: s.target.id.clone(),
                policy: p.to_string(),
            },
            None => Call::DeleteBucketPolicy {
                bucket: s.target.id.clone(),
            },
        }]
    }
}

// --- Lambda ------------------------------------------------------------------------------
