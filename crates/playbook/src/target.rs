//! What a response step acts on: an AWS resource with the account and region that hold it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kinds of resource a step can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// An IAM user's access key (`id` the key id, `parent` the user name).
    AccessKey,
    /// An IAM user, by name.
    User,
    /// An IAM role, by name.
    Role,
    /// An EC2 instance id.
    Instance,
    /// An S3 bucket name.
    Bucket,
    /// An EBS snapshot id.
    Snapshot,
    /// An AMI id.
    Image,
    /// A Lambda function name.
    Function,
    /// A CloudTrail trail name or ARN.
    Trail,
    /// A region of an account (GuardDuty, flow logs on its VPCs): `id` is the region.
    Region,
    /// An AWS account id.
    Account,
}

impl TargetKind {
    pub const ALL: [TargetKind; 11] = [
        Self::AccessKey,
        Self::User,
        Self::Role,
        Self::Instance,
        Self::Bucket,
        Self::Snapshot,
        Self::Image,
        Self::Function,
        Self::Trail,
        Self::Region,
        Self::Account,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::AccessKey => "access_key",
            Self::User => "user",
            Self::Role => "role",
            Self::Instance => "instance",
            Self::Bucket => "bucket",
            Self::Snapshot => "snapshot",
            Self::Image => "image",
            Self::Function => "function",
            Self::Trail => "trail",
            Self::Region => "region",
            Self::Account => "account",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// IAM and Organizations resources are global: their region is only where the call goes.
    pub fn is_global(self) -> bool {
        matches!(
            self,
            Self::AccessKey | Self::User | Self::Role | Self::Account
        )
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One resource, located.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    pub id: String,
    pub account: model::AccountId,
    pub region: String,
    /// The owning resource where the id alone does not locate it (an access key's user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

impl Target {
    pub fn new(kind: TargetKind, id: &str, account: model::AccountId, region: &str) -> Target {
        Target {
            kind,
            id: id.to_string(),
            account,
            region: region.to_string(),
            parent: None,
        }
    }

    /// `kind:id` as written on the command line (`--exclude access_key:AKIA…`).
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind, self.id)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)?;
        if let Some(p) = &self.parent {
            write!(f, " (of {p})")?;
        }
        if self.kind.is_global() {
            write!(f, " in {}", self.account)
        } else {
            write!(f, " in {}/{}", self.account, self.region)
        }
    }
}
