//! The three incident domains of the AWS Security Incident Response Guide.
//!
//! * **Service**: the AWS account itself: IAM, API-level configuration, billing, logging;
//!   answered entirely through AWS APIs.
//! * **Infrastructure**: data and network activity: processes and data on instances,
//!   traffic within VPCs, data read from storage.
//! * **Application**: code and software deployed on the services or infrastructure
//!   (functions, APIs, user pools).

use model::SourceKind;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    Service,
    Infrastructure,
    Application,
}

impl Domain {
    pub fn name(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Infrastructure => "infrastructure",
            Self::Application => "application",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [Self::Service, Self::Infrastructure, Self::Application]
            .into_iter()
            .find(|d| d.name() == s)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// API services whose calls act inside instances or on data rather than on account
/// configuration.
const INFRASTRUCTURE_APIS: &[(&str, &[&str])] = &[
    (
        "ssm.amazonaws.com",
        &["SendCommand", "StartSession", "ResumeSession"],
    ),
    ("ec2-instance-connect.amazonaws.com", &[]),
    (
        "ec2.amazonaws.com",
        &[
            "GetPasswordData",
            "GetConsoleOutput",
            "GetConsoleScreenshot",
            "SendSerialConsoleSSHPublicKey",
        ],
    ),
    (
        "s3.amazonaws.com",
        &[
            "GetObject",
            "PutObject",
            "DeleteObject",
            "DeleteObjects",
            "CopyObject",
            "RestoreObject",
            "SelectObjectContent",
        ],
    ),
    ("rds-data.amazonaws.com", &[]),
    (
        "dynamodb.amazonaws.com",
        &[
            "GetItem",
            "Query",
            "Scan",
            "BatchGetItem",
            "ExportTableToPointInTime",
        ],
    ),
];

/// Services that host application code and its front doors.
const APPLICATION_SERVICES: &[&str] = &[
    "lambda.amazonaws.com",
    "apigateway.amazonaws.com",
    "cognito-idp.amazonaws.com",
    "cognito-identity.amazonaws.com",
    "appsync.amazonaws.com",
    "elasticbeanstalk.amazonaws.com",
    "amplify.amazonaws.com",
    "bedrock.amazonaws.com",
    "states.amazonaws.com",
];

/// Classifies one alerting event: its log source, API (`eventSource`, `eventName`) and,
/// for findings, their types (`CryptoCurrency:EC2/BitcoinTool.B!DNS`, ASFF type paths).
pub fn classify(
    source: SourceKind,
    service: Option<&str>,
    operation: Option<&str>,
    finding_types: &[String],
) -> Domain {
    match source {
        SourceKind::VpcFlow => Domain::Infrastructure,
        SourceKind::GuardDuty | SourceKind::SecurityHub => finding_types
            .iter()
            .find_map(|t| finding_domain(t))
            .unwrap_or(Domain::Service),
        SourceKind::CloudTrail => {
            let service = service.unwrap_or_default();
            let operation = operation.unwrap_or_default();
            if APPLICATION_SERVICES.contains(&service) {
                return Domain::Application;
            }
            let infra = INFRASTRUCTURE_APIS
                .iter()
                .any(|(s, ops)| *s == service && (ops.is_empty() || ops.contains(&operation)));
            if infra {
                Domain::Infrastructure
            } else {
                Domain::Service
            }
        }
    }
}

/// A GuardDuty type names the affected resource after the colon
/// (`Backdoor:EC2/…`, `UnauthorizedAccess:IAMUser/…`, `Exfiltration:S3/…`).
fn finding_domain(t: &str) -> Option<Domain> {
    let resource = t.split_once(':').map_or(t, |(_, r)| r);
    let resource = resource.split('/').next().unwrap_or(resource);
    match resource {
        "EC2" | "Runtime" | "Kubernetes" | "EKS" | "ECS" | "RDS" | "Execution" => {
            Some(Domain::Infrastructure)
        }
        "S3" if !t.starts_with("Policy:") => Some(Domain::Infrastructure),
        "Lambda" => Some(Domain::Application),
        "IAMUser" | "S3" | "Root" => Some(Domain::Service),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let ct = |s, o| classify(SourceKind::CloudTrail, Some(s), Some(o), &[]);
        assert_eq!(ct("iam.amazonaws.com", "CreateUser"), Domain::Service);
        assert_eq!(
            ct("cloudtrail.amazonaws.com", "StopLogging"),
            Domain::Service
        );
        assert_eq!(
            ct("ssm.amazonaws.com", "SendCommand"),
            Domain::Infrastructure
        );
        assert_eq!(ct("ssm.amazonaws.com", "GetParameters"), Domain::Service);
        assert_eq!(ct("s3.amazonaws.com", "GetObject"), Domain::Infrastructure);
        assert_eq!(ct("s3.amazonaws.com", "PutBucketPolicy"), Domain::Service);
        assert_eq!(
            ct("lambda.amazonaws.com", "UpdateFunctionCode20150331v2"),
            Domain::Application
        );
        assert_eq!(
            classify(SourceKind::VpcFlow, None, None, &[]),
            Domain::Infrastructure
        );
        let gd = |t: &str| classify(SourceKind::GuardDuty, None, None, &[t.to_string()]);
        assert_eq!(
            gd("CryptoCurrency:EC2/BitcoinTool.B!DNS"),
            Domain::Infrastructure
        );
        assert_eq!(
            gd("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"),
            Domain::Service
        );
        assert_eq!(
            gd("Exfiltration:S3/AnomalousBehavior"),
            Domain::Infrastructure
        );
        assert_eq!(
            gd("Policy:S3/BucketBlockPublicAccessDisabled"),
            Domain::Service
        );
        assert_eq!(
            gd("Stealth:IAMUser/CloudTrailLoggingDisabled"),
            Domain::Service
        );
    }
}
