//! Reaching accounts and regions: the caller's configuration, the responder role assumed
//! into each account, and clients per region (pointed at an emulator when asked).

use crate::{AwsError, call_error};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

/// Clients tests put in place of the SDK's own, for the calls the emulator (moto)
/// does not implement or answers wrongly.
#[derive(Clone, Default)]
pub struct Overrides {
    /// GuardDuty (moto has no detector status or findings worth asserting).
    pub guardduty: Option<aws_sdk_guardduty::Client>,
    /// S3 `GetBucketVersioning` only (moto 5.2.5 answers with the wrong XML root).
    pub s3_versioning: Option<aws_sdk_s3::Client>,
}

/// How to reach AWS: the caller's configuration plus test overrides.
#[derive(Clone)]
pub struct Connection {
    pub base: SdkConfig,
    /// Path-style S3 addressing (emulators serve one host).
    pub path_style_s3: bool,
    pub overrides: Overrides,
}

impl Connection {
    /// The default credential chain and region (environment, profile, instance role);
    /// `endpoint_url` points every client at an emulator.
    pub async fn from_environment(endpoint_url: Option<&str>, region: Option<&str>) -> Connection {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(r) = region {
            loader = loader.region(Region::new(r.to_string()));
        }
        Connection {
            base: loader.load().await,
            path_style_s3: endpoint_url.is_some(),
            overrides: Overrides::default(),
        }
    }

    /// A connection from a ready configuration (tests: static credentials, no retries).
    pub fn new(base: SdkConfig, path_style_s3: bool) -> Connection {
        Connection {
            base,
            path_style_s3,
            overrides: Overrides::default(),
        }
    }

    /// Assumes `role_arn` (with `external_id` when the trust policy asks for one) and
    /// returns a connection acting as that role.
    pub async fn assume(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: &str,
    ) -> Result<Connection, AwsError> {
        let sts = aws_sdk_sts::Client::new(&self.base);
        let out = sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .set_external_id(external_id.map(str::to_string))
            .send()
            .await
            .map_err(|e| call_error("sts", "AssumeRole", e))?;
        let c = out.credentials().ok_or_else(|| AwsError::Call {
            service: "sts",
            operation: "AssumeRole",
            code: None,
            message: "the response carries no credentials".into(),
        })?;
        let expiry = std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(c.expiration().secs().max(0) as u64);
        let creds = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            Some(expiry),
            "firebreak-assume-role",
        );
        Ok(Connection {
            base: self
                .base
                .to_builder()
                .credentials_provider(SharedCredentialsProvider::new(creds))
                .build(),
            path_style_s3: self.path_style_s3,
            overrides: self.overrides.clone(),
        })
    }

    /// The configuration for `region`.
    pub fn in_region(&self, region: &str) -> SdkConfig {
        self.base
            .to_builder()
            .region(Region::new(region.to_string()))
            .build()
    }

    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.in_region(region))
            .force_path_style(self.path_style_s3)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub fn s3_versioning(&self, region: &str) -> aws_sdk_s3::Client {
        self.overrides
            .s3_versioning
            .clone()
            .unwrap_or_else(|| self.s3(region))
    }

    pub fn guardduty(&self, region: &str) -> aws_sdk_guardduty::Client {
        self.overrides
            .guardduty
            .clone()
            .unwrap_or_else(|| aws_sdk_guardduty::Client::new(&self.in_region(region)))
    }
}
