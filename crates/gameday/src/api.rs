//! The API calls an emulated detonation may make, as data: the name a scenario writes
//! (`iam:CreateAccessKey`), the CloudTrail event it produces, and its parameters. The AWS
//! adapter sends each one; nothing outside this list can be detonated.

use serde::Serialize;

/// A parameter of an emulated call.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub required: bool,
    /// The value may name another account: the technique shares or trusts outward (a role
    /// trusting the attacker's account). The call itself still runs in the scenario's.
    pub share_target: bool,
}

const fn req(name: &'static str) -> Param {
    Param {
        name,
        required: true,
        share_target: false,
    }
}

const fn opt(name: &'static str) -> Param {
    Param {
        name,
        required: false,
        share_target: false,
    }
}

const fn share(name: &'static str) -> Param {
    Param {
        name,
        required: true,
        share_target: true,
    }
}

/// A parameter list as a constant (so it lives as long as the program).
macro_rules! consts {
    ($($p:expr),* $(,)?) => {{
        const P: &[Param] = &[$($p),*];
        P
    }};
}

/// One emulated API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "&'static str")]
pub enum Api {
    IamCreateUser,
    IamCreateAccessKey,
    IamAttachUserPolicy,
    IamCreateLoginProfile,
    IamUpdateLoginProfile,
    IamCreateRole,
    IamAttachRolePolicy,
    IamUpdateAssumeRolePolicy,
    CloudTrailStopLogging,
    CloudTrailDeleteTrail,
    CloudTrailPutEventSelectors,
    Ec2AuthorizeSecurityGroupIngress,
    Ec2ModifyInstanceAttribute,
    Ec2DescribeInstanceAttribute,
    S3DeletePublicAccessBlock,
    S3PutBucketPolicy,
    StsGetCallerIdentity,
    StsGetFederationToken,
}

impl From<Api> for &'static str {
    fn from(a: Api) -> &'static str {
        a.name()
    }
}

impl Api {
    pub const ALL: [Api; 18] = [
        Api::IamCreateUser,
        Api::IamCreateAccessKey,
        Api::IamAttachUserPolicy,
        Api::IamCreateLoginProfile,
        Api::IamUpdateLoginProfile,
        Api::IamCreateRole,
        Api::IamAttachRolePolicy,
        Api::IamUpdateAssumeRolePolicy,
        Api::CloudTrailStopLogging,
        Api::CloudTrailDeleteTrail,
        Api::CloudTrailPutEventSelectors,
        Api::Ec2AuthorizeSecurityGroupIngress,
        Api::Ec2ModifyInstanceAttribute,
        Api::Ec2DescribeInstanceAttribute,
        Api::S3DeletePublicAccessBlock,
        Api::S3PutBucketPolicy,
        Api::StsGetCallerIdentity,
        Api::StsGetFederationToken,
    ];

    /// `service:Operation`, as a scenario writes it and IAM names the permission.
    pub fn name(self) -> &'static str {
        match self {
            Api::IamCreateUser => "iam:CreateUser",
            Api::IamCreateAccessKey => "iam:CreateAccessKey",
            Api::IamAttachUserPolicy => "iam:AttachUserPolicy",
            Api::IamCreateLoginProfile => "iam:CreateLoginProfile",
            Api::IamUpdateLoginProfile => "iam:UpdateLoginProfile",
            Api::IamCreateRole => "iam:CreateRole",
            Api::IamAttachRolePolicy => "iam:AttachRolePolicy",
            Api::IamUpdateAssumeRolePolicy => "iam:UpdateAssumeRolePolicy",
            Api::CloudTrailStopLogging => "cloudtrail:StopLogging",
            Api::CloudTrailDeleteTrail => "cloudtrail:DeleteTrail",
            Api::CloudTrailPutEventSelectors => "cloudtrail:PutEventSelectors",
            Api::Ec2AuthorizeSecurityGroupIngress => "ec2:AuthorizeSecurityGroupIngress",
            Api::Ec2ModifyInstanceAttribute => "ec2:ModifyInstanceAttribute",
            Api::Ec2DescribeInstanceAttribute => "ec2:DescribeInstanceAttribute",
            Api::S3DeletePublicAccessBlock => "s3:DeletePublicAccessBlock",
            Api::S3PutBucketPolicy => "s3:PutBucketPolicy",
            Api::StsGetCallerIdentity => "sts:GetCallerIdentity",
            Api::StsGetFederationToken => "sts:GetFederationToken",
        }
    }

    pub fn from_name(s: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.name() == s)
    }

    /// The service prefix (`iam`).
    pub fn service(self) -> &'static str {
        self.name().split_once(':').map_or("", |(s, _)| s)
    }

    /// The operation (`CreateAccessKey`).
    pub fn operation(self) -> &'static str {
        self.name().split_once(':').map_or("", |(_, o)| o)
    }

    /// CloudTrail's `eventName` (S3's bucket-level public access block is logged under the
    /// bucket's name for it).
    pub fn event_name(self) -> &'static str {
        match self {
            Api::S3DeletePublicAccessBlock => "DeleteBucketPublicAccessBlock",
            other => other.operation(),
        }
    }

    /// CloudTrail's `eventSource`.
    pub fn event_source(self) -> &'static str {
        match self.service() {
            "iam" => "iam.amazonaws.com",
            "cloudtrail" => "cloudtrail.amazonaws.com",
            "ec2" => "ec2.amazonaws.com",
            "s3" => "s3.amazonaws.com",
            "sts" => "sts.amazonaws.com",
            _ => "",
        }
    }

    /// Whether CloudTrail marks it read-only.
    pub fn read_only(self) -> bool {
        matches!(
            self,
            Api::Ec2DescribeInstanceAttribute | Api::StsGetCallerIdentity
        )
    }

    /// Global services log in us-east-1 whatever region the caller names.
    pub fn global(self) -> bool {
        self.service() == "iam"
    }

    pub fn params(self) -> &'static [Param] {
        match self {
            Api::IamCreateUser => consts![req("UserName")],
            Api::IamCreateAccessKey => consts![req("UserName")],
            Api::IamAttachUserPolicy => consts![req("UserName"), req("PolicyArn")],
            Api::IamCreateLoginProfile | Api::IamUpdateLoginProfile => {
                consts![req("UserName"), req("Password")]
            }
            Api::IamCreateRole => consts![req("RoleName"), share("AssumeRolePolicyDocument")],
            Api::IamAttachRolePolicy => consts![req("RoleName"), req("PolicyArn")],
            Api::IamUpdateAssumeRolePolicy => consts![req("RoleName"), share("PolicyDocument")],
            Api::CloudTrailStopLogging | Api::CloudTrailDeleteTrail => consts![req("Name")],
            Api::CloudTrailPutEventSelectors => consts![req("TrailName"), opt("ReadWriteType")],
            Api::Ec2AuthorizeSecurityGroupIngress => {
                consts![req("GroupId"), req("CidrIp"), req("Port")]
            }
            Api::Ec2ModifyInstanceAttribute => consts![req("InstanceId"), req("UserData")],
            Api::Ec2DescribeInstanceAttribute => consts![req("InstanceId"), req("Attribute")],
            Api::S3DeletePublicAccessBlock => consts![req("Bucket")],
            Api::S3PutBucketPolicy => consts![req("Bucket"), share("Policy")],
            Api::StsGetCallerIdentity => consts![],
            Api::StsGetFederationToken => consts![req("Name"), opt("Policy")],
        }
    }
}
