//! The only crate that talks to AWS: connections (cross-account role assumption,
//! per-region clients, emulator endpoints), the IR readiness checks, and response actions
//! run from approved plans (`respond`). Evidence collection joins it later.

/// Sends an SDK request; a failure becomes an [`AwsError`] naming the service and
/// operation: `send!("ec2", "DescribeInstances", cx.ec2().describe_instances())?`.
macro_rules! send {
    ($svc:literal, $op:literal, $req:expr) => {
        $req.send()
            .await
            .map_err(|e| $crate::call_error($svc, $op, e))
    };
}

pub mod connect;
pub mod forensics;
pub mod gameday;
pub mod readiness;
pub mod respond;

pub use connect::{ApiCall, Connection, Overrides, Recorder};

/// An AWS call that failed, named by service and operation.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("{service}:{operation}: {message}")]
    Call {
        service: &'static str,
        operation: &'static str,
        /// The AWS error code (`AccessDenied`), when the service gave one.
        code: Option<String>,
        message: String,
    },
}

impl AwsError {
    /// Whether AWS refused the call for lack of permission.
    pub fn is_access_denied(&self) -> bool {
        let AwsError::Call { code, .. } = self;
        code.as_deref().is_some_and(|c| {
            c.contains("AccessDenied") || c == "UnauthorizedOperation" || c == "AuthorizationError"
        })
    }

    pub fn code(&self) -> Option<&str> {
        let AwsError::Call { code, .. } = self;
        code.as_deref()
    }
}

/// Wraps an SDK error with the service and operation it came from.
pub(crate) fn call_error<E>(service: &'static str, operation: &'static str, e: E) -> AwsError
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = e.code().map(str::to_string);
    let message = match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {}", one_line(m)),
        (Some(c), None) => c.to_string(),
        _ => root_cause(&e),
    };
    AwsError::Call {
        service,
        operation,
        code,
        message,
    }
}

/// The innermost cause of an error without an AWS error code (no credentials, no route to
/// the endpoint, a timeout), on one short line: the SDK's own chain runs to a kilobyte.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    let text = one_line(&last.to_string());
    let lower = text.to_ascii_lowercase();
    let kind = if lower.contains("credential") {
        "no usable AWS credentials"
    } else if [
        "connect",
        "refused",
        "timed out",
        "timeout",
        "dns",
        "resolve",
        "unreachable",
        "dispatch",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        "AWS could not be reached"
    } else {
        "the answer could not be read"
    };
    format!("{kind}: {text}")
}

/// Collapses white space and cuts at 200 characters.
fn one_line(s: &str) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

/// Lower-case hex SHA-256 of `bytes` (evidence hashes).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
