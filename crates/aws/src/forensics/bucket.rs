//! The evidence bucket: uploads under S3 Object Lock, read back and checked; custody anchors.

use super::*;

/// How long and how strictly the evidence bucket keeps an object.
#[derive(Debug, Clone)]
pub struct Lock {
    /// `COMPLIANCE` or `GOVERNANCE`.
    pub mode: String,
    pub retain_until_ms: i64,
}

/// What an upload sends: bytes in memory, or a file streamed from disk.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    Bytes(&'a [u8]),
    File(&'a std::path::Path),
}

/// Uploads an artifact under S3 Object Lock with its SHA-256 checksum (S3 refuses bytes that
/// do not match it), then reads it back, streamed, and compares hashes. Returns
/// `s3://bucket/key`. A file is streamed from disk, never held in memory.
pub async fn upload(
    conn: &Connection,
    region: &str,
    bucket: &str,
    key: &str,
    body: Body<'_>,
    sha256: &str,
    lock: &Lock,
) -> Result<String, AwsError> {
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::{ChecksumAlgorithm, ObjectLockMode};
    use base64::Engine;
    let digest: Vec<u8> = (0..sha256.len())
        .step_by(2)
        .filter_map(|i| {
            sha256
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let stream = match body {
        Body::Bytes(b) => ByteStream::from(b.to_vec()),
        Body::File(path) => ByteStream::from_path(path)
            .await
            .map_err(|e| AwsError::Call {
                service: "s3",
                operation: "PutObject",
                code: None,
                message: format!("reading {}: {e}", path.display()),
            })?,
    };
    send!(
        "s3",
        "PutObject",
        conn.s3(region)
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(stream)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(&digest))
            .object_lock_mode(ObjectLockMode::from(lock.mode.as_str()))
            .object_lock_retain_until_date(aws_smithy_types::DateTime::from_millis(
                lock.retain_until_ms
            ))
    )?;
    let got = object_sha256(conn, region, bucket, key)
        .await
        .map_err(|e| AwsError::Call {
            service: "s3",
            operation: "GetObject",
            code: e.code().map(str::to_string),
            message: format!(
                "s3://{bucket}/{key} does not read back as the SHA-256 {sha256} it was uploaded with: {e}"
            ),
        })?;
    if got != sha256 {
        return Err(AwsError::Call {
            service: "s3",
            operation: "GetObject",
            code: None,
            message: format!("s3://{bucket}/{key} reads back as {got}, uploaded {sha256}"),
        });
    }
    Ok(format!("s3://{bucket}/{key}"))
}

/// The SHA-256 of an object's bytes, read as a stream.
pub(crate) async fn object_sha256(
    conn: &Connection,
    region: &str,
    bucket: &str,
    key: &str,
) -> Result<String, AwsError> {
    use sha2::{Digest, Sha256};
    let mut out = send!(
        "s3",
        "GetObject",
        conn.s3(region).get_object().bucket(bucket).key(key)
    )?;
    let mut h = Sha256::new();
    while let Some(chunk) = out.body.next().await {
        let chunk = chunk.map_err(|e| AwsError::Call {
            service: "s3",
            operation: "GetObject",
            code: None,
            message: format!("reading s3://{bucket}/{key}: {e}"),
        })?;
        h.update(&chunk);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Where a case's custody anchors are kept in the evidence bucket.
pub fn anchor_prefix(case: case::CaseId) -> String {
    format!("cases/{case}/custody-anchors/")
}

/// The newest anchor object under the case's prefix (keys sort by sequence): its location
/// and bytes; `None` when there is none.
pub async fn latest_anchor(
    conn: &Connection,
    region: &str,
    bucket: &str,
    case: case::CaseId,
) -> Result<Option<(String, Vec<u8>)>, AwsError> {
    let prefix = anchor_prefix(case);
    let mut newest: Option<String> = None;
    let mut token: Option<String> = None;
    loop {
        let out = send!(
            "s3",
            "ListObjectsV2",
            conn.s3(region)
                .list_objects_v2()
                .bucket(bucket)
                .prefix(&prefix)
                .set_continuation_token(token.take())
        )?;
        for o in out.contents() {
            if let Some(k) = o.key()
                && newest.as_deref().is_none_or(|n| k > n)
            {
                newest = Some(k.to_string());
            }
        }
        match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => break,
        }
    }
    let Some(key) = newest else {
        return Ok(None);
    };
    let bytes = get_object(conn, region, bucket, &key).await?;
    Ok(Some((format!("s3://{bucket}/{key}"), bytes)))
}
