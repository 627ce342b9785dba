//! CloudTrail: logging restarted.

use super::*;

/// Sends a CloudTrail call (`Call::send` routes only those here).
pub(super) async fn send(call: &Call, cx: &Cx<'_>) -> Result<Value, AwsError> {
    use Call::*;
    match call {
        StartLogging { trail } => {
            send!(
                "cloudtrail",
                "StartLogging",
                cx.cloudtrail().start_logging().name(trail)
            )?;
        }
        other => unreachable!("not a CloudTrail call: {}", other.describe()),
    }
    Ok(Value::Null)
}
