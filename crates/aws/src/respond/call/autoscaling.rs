//! Auto Scaling: instances out of and back into their groups.

use super::*;

/// Sends an Auto Scaling call (`Call::send` routes only those here).
pub(super) async fn send(call: &Call, cx: &Cx<'_>) -> Result<Value, AwsError> {
    use Call::*;
    match call {
        DetachFromAsg { instance, group } => {
            send!(
                "autoscaling",
                "DetachInstances",
                cx.autoscaling()
                    .detach_instances()
                    .auto_scaling_group_name(group)
                    .instance_ids(instance)
                    .should_decrement_desired_capacity(false)
            )?;
        }
        AttachToAsg { instance, group } => {
            send!(
                "autoscaling",
                "AttachInstances",
                cx.autoscaling()
                    .attach_instances()
                    .auto_scaling_group_name(group)
                    .instance_ids(instance)
            )?;
        }
        other => unreachable!("not an Auto Scaling call: {}", other.describe()),
    }
    Ok(Value::Null)
}
