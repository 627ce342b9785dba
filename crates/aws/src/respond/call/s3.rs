//! S3: public access blocks, versioning, bucket policies.

use super::*;

/// Sends an S3 call (`Call::send` routes only those here).
pub(super) async fn send(call: &Call, cx: &Cx<'_>) -> Result<Value, AwsError> {
    use Call::*;
    match call {
        PutPublicAccessBlock {
            bucket,
            settings: [a, b, c, d],
        } => {
            send!(
                "s3",
                "PutPublicAccessBlock",
                cx.s3()
                    .put_public_access_block()
                    .bucket(bucket)
                    .public_access_block_configuration(
                        aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                            .block_public_acls(*a)
                            .ignore_public_acls(*b)
                            .block_public_policy(*c)
                            .restrict_public_buckets(*d)
                            .build()
                    )
            )?;
        }
        DeletePublicAccessBlock { bucket } => {
            send!(
                "s3",
                "DeletePublicAccessBlock",
                cx.s3().delete_public_access_block().bucket(bucket)
            )?;
        }
        SetVersioning { bucket, status } => {
            send!(
                "s3",
                "PutBucketVersioning",
                cx.s3()
                    .put_bucket_versioning()
                    .bucket(bucket)
                    .versioning_configuration(
                        aws_sdk_s3::types::VersioningConfiguration::builder()
                            .status(aws_sdk_s3::types::BucketVersioningStatus::from(
                                status.as_str()
                            ))
                            .build()
                    )
            )?;
        }
        PutBucketPolicy { bucket, policy } => {
            send!(
                "s3",
                "PutBucketPolicy",
                cx.s3().put_bucket_policy().bucket(bucket).policy(policy)
            )?;
        }
        DeleteBucketPolicy { bucket } => {
            send!(
                "s3",
                "DeleteBucketPolicy",
                cx.s3().delete_bucket_policy().bucket(bucket)
            )?;
        }
        other => unreachable!("not an S3 call: {}", other.describe()),
    }
    Ok(Value::Null)
}
