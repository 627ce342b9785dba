//! GuardDuty: detectors.

use super::*;

/// Sends a GuardDuty call (`Call::send` routes only those here).
pub(super) async fn send(call: &Call, cx: &Cx<'_>) -> Result<Value, AwsError> {
    use Call::*;
    match call {
        EnableGuardDuty { detector: Some(d) } => {
            send!(
                "guardduty",
                "UpdateDetector",
                cx.guardduty().update_detector().detector_id(d).enable(true)
            )?;
        }
        EnableGuardDuty { detector: None } => {
            let out = send!(
                "guardduty",
                "CreateDetector",
                cx.guardduty().create_detector().enable(true)
            )?;
            return Ok(json!({ "detector": out.detector_id() }));
        }
        other => unreachable!("not a GuardDuty call: {}", other.describe()),
    }
    Ok(Value::Null)
}
