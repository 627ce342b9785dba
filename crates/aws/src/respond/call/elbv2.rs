//! Elastic Load Balancing: targets out of and back into their groups.

use super::*;

/// Sends an Elastic Load Balancing call (`Call::send` routes only those here).
pub(super) async fn send(call: &Call, cx: &Cx<'_>) -> Result<Value, AwsError> {
    use Call::*;
    match call {
        DeregisterTarget {
            group_arn,
            instance,
            port,
        }
        | RegisterTarget {
            group_arn,
            instance,
            port,
        } => {
            let target = aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(instance)
                .set_port(*port)
                .build();
            if matches!(call, DeregisterTarget { .. }) {
                send!(
                    "elasticloadbalancing",
                    "DeregisterTargets",
                    cx.elbv2()
                        .deregister_targets()
                        .target_group_arn(group_arn)
                        .targets(target)
                )?;
            } else {
                send!(
                    "elasticloadbalancing",
                    "RegisterTargets",
                    cx.elbv2()
                        .register_targets()
                        .target_group_arn(group_arn)
                        .targets(target)
                )?;
            }
        }
        other => unreachable!("not an Elastic Load Balancing call: {}", other.describe()),
    }
    Ok(Value::Null)
}
