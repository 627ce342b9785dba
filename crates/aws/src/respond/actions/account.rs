//! Account-wide: the quarantine SCP, CloudTrail logging, GuardDuty.

use super::*;

pub(crate) struct QuarantineAccount;
impl Act for QuarantineAccount {
    type State = bool;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<bool, AwsError> {
        let out = send!(
            "organizations",
            "ListPoliciesForTarget",
            cx.organizations()
                .list_policies_for_target()
                .target_id(&s.target.id)
                .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        )?;
        Ok(out
            .policies()
            .iter()
            .any(|p| p.name() == Some(crate::respond::call::QUARANTINE_SCP)))
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &bool) -> Result<Vec<Call>, String> {
        if s.target.parent.is_none() {
            return Err(
                "the IR plan names no [aws] management_account to attach the SCP from".into(),
            );
        }
        Ok(if *b {
            Vec::new()
        } else {
            vec![
                Call::EnsureQuarantineScp,
                Call::AttachScp {
                    target: s.target.id.clone(),
                },
            ]
        })
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &bool, _: &[Value]) -> Result<(), String> {
        check(*a, || "the quarantine SCP is not attached".into())
    }
    fn undo(_: &Cx<'_>, s: &Step, b: &bool) -> Vec<Call> {
        if *b {
            Vec::new()
        } else {
            vec![Call::DetachScp {
                target: s.target.id.clone(),
            }]
        }
    }
}

pub(crate) struct StartLogging;
impl Act for StartLogging {
    type State = bool;
    async fn read(cx: &Cx<'_>, s: &Step) -> Result<bool, AwsError> {
        let out = send!(
            "cloudtrail",
            "GetTrailStatus",
            cx.cloudtrail().get_trail_status().name(&s.target.id)
        )?;
        Ok(out.is_logging().unwrap_or(false))
    }
    fn effect(_: &Cx<'_>, s: &Step, b: &bool) -> Result<Vec<Call>, String> {
        Ok(if *b {
            Vec::new()
        } else {
            vec![Call::StartLogging {
                trail: s.target.id.clone(),
            }]
        })
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &bool, _: &[Value]) -> Result<(), String> {
        check(*a, || "the trail is not logging".into())
    }
}

pub(crate) struct EnableGuardDuty;
impl Act for EnableGuardDuty {
    /// The region's detector and whether it is enabled.
    type State = Option<(String, bool)>;
    async fn read(cx: &Cx<'_>, _: &Step) -> Result<Self::State, AwsError> {
        let gd = cx.guardduty();
        let list = send!("guardduty", "ListDetectors", gd.list_detectors())?;
        let Some(id) = list.detector_ids().first() else {
            return Ok(None);
        };
        let d = send!(
            "guardduty",
            "GetDetector",
            gd.get_detector().detector_id(id)
        )?;
        let on = d
            .status()
            .is_some_and(|s| s.as_str().eq_ignore_ascii_case("ENABLED"));
        Ok(Some((id.clone(), on)))
    }
    fn effect(_: &Cx<'_>, _: &Step, b: &Self::State) -> Result<Vec<Call>, String> {
        Ok(match b {
            Some((_, true)) => Vec::new(),
            Some((id, false)) => vec![Call::EnableGuardDuty {
                detector: Some(id.clone()),
            }],
            None => vec![Call::EnableGuardDuty { detector: None }],
        })
    }
    fn holds(_: &Cx<'_>, _: &Step, a: &Self::State, _: &[Value]) -> Result<(), String> {
        check(matches!(a, Some((_, true))), || {
            format!("detector is {a:?}")
        })
    }
}
