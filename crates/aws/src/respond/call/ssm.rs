//! SSM: memory capture through Run Command.

use super::*;

/// Sends an SSM call (`Call::send` routes only those here).
pub(super) async fn send(call: &Call, cx: &Cx<'_>) -> Result<Value, AwsError> {
    let Call::CaptureMemory {
        instance,
        case,
        bucket,
    } = call
    else {
        unreachable!("not an SSM call: {}", call.describe())
    };
    let m =
        crate::forensics::capture_memory(cx.conn(), cx.region(), instance, *case, bucket).await?;
    Ok(serde_json::to_value(&m).unwrap_or(Value::Null))
}
