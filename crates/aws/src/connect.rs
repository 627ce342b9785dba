//! Reaching accounts and regions: the caller's configuration, the responder role assumed
//! into each account, and clients per region (pointed at an emulator when asked).

use crate::{AwsError, call_error};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

/// Clients tests put in place of the SDK's own, for the calls the emulator (moto)
/// does not implement or answers wrongly, and for failures it cannot produce
/// (AccessDenied halfway through a playbook, throttling).
#[derive(Clone, Default)]
pub struct Overrides {
    pub iam: Option<aws_sdk_iam::Client>,
    pub ec2: Option<aws_sdk_ec2::Client>,
    /// CloudTrail `LookupEvents` only (moto does not implement it).
    pub cloudtrail_lookup: Option<aws_sdk_cloudtrail::Client>,
    /// SSM Run Command (moto reports success without running anything).
    pub ssm: Option<aws_sdk_ssm::Client>,
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
    /// Notes every call made through this connection's clients (response runs).
    pub recorder: Option<Recorder>,
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
            recorder: None,
        }
    }

    /// A connection to an emulator (moto, LocalStack) at `endpoint_url`: static test
    /// credentials, us-east-1, no retries (an unimplemented call fails at once), path-style S3.
    pub fn emulator(endpoint_url: &str) -> Connection {
        let base = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint_url)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIAFIREBREAKTEST",
                "secret",
                None,
                None,
                "emulator",
            )))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        Connection::new(base, true)
    }

    /// A connection from a ready configuration (tests: static credentials, no retries).
    pub fn new(base: SdkConfig, path_style_s3: bool) -> Connection {
        Connection {
            base,
            path_style_s3,
            overrides: Overrides::default(),
            recorder: None,
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
        let sts = aws_sdk_sts::Client::from_conf(
            self.with_recorder(aws_sdk_sts::config::Builder::from(&self.base))
                .build(),
        );
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
            recorder: self.recorder.clone(),
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
            .force_path_style(self.path_style_s3);
        aws_sdk_s3::Client::from_conf(self.with_recorder(conf).build())
    }

    pub fn s3_versioning(&self, region: &str) -> aws_sdk_s3::Client {
        match &self.overrides.s3_versioning {
            Some(c) => {
                aws_sdk_s3::Client::from_conf(self.with_recorder(c.config().to_builder()).build())
            }
            None => self.s3(region),
        }
    }

    pub fn guardduty(&self, region: &str) -> aws_sdk_guardduty::Client {
        match &self.overrides.guardduty {
            Some(c) => aws_sdk_guardduty::Client::from_conf(
                self.with_recorder(c.config().to_builder()).build(),
            ),
            None => aws_sdk_guardduty::Client::from_conf(
                self.with_recorder(aws_sdk_guardduty::config::Builder::from(
                    &self.in_region(region),
                ))
                .build(),
            ),
        }
    }

    pub fn iam(&self, region: &str) -> aws_sdk_iam::Client {
        match &self.overrides.iam {
            Some(c) => {
                aws_sdk_iam::Client::from_conf(self.with_recorder(c.config().to_builder()).build())
            }
            None => aws_sdk_iam::Client::from_conf(
                self.with_recorder(aws_sdk_iam::config::Builder::from(&self.in_region(region)))
                    .build(),
            ),
        }
    }

    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        match &self.overrides.ec2 {
            Some(c) => {
                aws_sdk_ec2::Client::from_conf(self.with_recorder(c.config().to_builder()).build())
            }
            None => aws_sdk_ec2::Client::from_conf(
                self.with_recorder(aws_sdk_ec2::config::Builder::from(&self.in_region(region)))
                    .build(),
            ),
        }
    }

    pub fn autoscaling(&self, region: &str) -> aws_sdk_autoscaling::Client {
        aws_sdk_autoscaling::Client::from_conf(
            self.with_recorder(aws_sdk_autoscaling::config::Builder::from(
                &self.in_region(region),
            ))
            .build(),
        )
    }

    pub fn elbv2(&self, region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::from_conf(
            self.with_recorder(aws_sdk_elasticloadbalancingv2::config::Builder::from(
                &self.in_region(region),
            ))
            .build(),
        )
    }

    pub fn lambda(&self, region: &str) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::from_conf(
            self.with_recorder(aws_sdk_lambda::config::Builder::from(
                &self.in_region(region),
            ))
            .build(),
        )
    }

    pub fn organizations(&self, region: &str) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::from_conf(
            self.with_recorder(aws_sdk_organizations::config::Builder::from(
                &self.in_region(region),
            ))
            .build(),
        )
    }

    pub fn cloudtrail(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::from_conf(
            self.with_recorder(aws_sdk_cloudtrail::config::Builder::from(
                &self.in_region(region),
            ))
            .build(),
        )
    }

    pub fn cloudtrail_lookup(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        match &self.overrides.cloudtrail_lookup {
            Some(c) => aws_sdk_cloudtrail::Client::from_conf(
                self.with_recorder(c.config().to_builder()).build(),
            ),
            None => self.cloudtrail(region),
        }
    }

    pub fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        match &self.overrides.ssm {
            Some(c) => {
                aws_sdk_ssm::Client::from_conf(self.with_recorder(c.config().to_builder()).build())
            }
            None => aws_sdk_ssm::Client::from_conf(
                self.with_recorder(aws_sdk_ssm::config::Builder::from(&self.in_region(region)))
                    .build(),
            ),
        }
    }

    pub fn logs(&self, region: &str) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::from_conf(
            self.with_recorder(aws_sdk_cloudwatchlogs::config::Builder::from(
                &self.in_region(region),
            ))
            .build(),
        )
    }

    pub fn config_service(&self, region: &str) -> aws_sdk_config::Client {
        aws_sdk_config::Client::from_conf(
            self.with_recorder(aws_sdk_config::config::Builder::from(
                &self.in_region(region),
            ))
            .build(),
        )
    }

    /// Adds the recorder, when there is one, to a client's configuration.
    fn with_recorder<B: Interceptable>(&self, b: B) -> B {
        match &self.recorder {
            Some(r) => b.add(r.clone()),
            None => b,
        }
    }
}

/// A client configuration builder that takes interceptors (every SDK crate has one).
trait Interceptable {
    fn add(self, r: Recorder) -> Self;
}

macro_rules! interceptable {
    ($($krate:ident),*) => {$(
        impl Interceptable for $krate::config::Builder {
            fn add(self, r: Recorder) -> Self {
                self.interceptor(r)
            }
        }
    )*};
}

interceptable!(
    aws_sdk_s3,
    aws_sdk_guardduty,
    aws_sdk_iam,
    aws_sdk_ec2,
    aws_sdk_autoscaling,
    aws_sdk_elasticloadbalancingv2,
    aws_sdk_lambda,
    aws_sdk_organizations,
    aws_sdk_cloudtrail,
    aws_sdk_sts,
    aws_sdk_ssm,
    aws_sdk_cloudwatchlogs,
    aws_sdk_config
);

/// One AWS call as the recorder saw it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApiCall {
    pub service: String,
    pub operation: String,
    /// HTTP status of the last attempt (`None`: no response).
    pub status: Option<u16>,
    pub ok: bool,
}

impl ApiCall {
    /// Whether the operation changes nothing in the account: reads (Describe, Get, List,
    /// …) and taking on an identity (AssumeRole, GetCallerIdentity).
    pub fn changes_nothing(&self) -> bool {
        ["Describe", "Get", "List", "Lookup", "Search", "Head"]
            .iter()
            .any(|p| self.operation.starts_with(p))
            || matches!(self.operation.as_str(), "AssumeRole" | "GetCallerIdentity")
    }
}

/// An SDK interceptor noting every call's service, operation and outcome.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    calls: std::sync::Arc<std::sync::Mutex<Vec<ApiCall>>>,
}

impl Recorder {
    /// The calls noted since the last take.
    pub fn take(&self) -> Vec<ApiCall> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for Recorder {
    fn name(&self) -> &'static str {
        "firebreak-call-recorder"
    }

    fn read_after_execution(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<
            '_,
        >,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let meta = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>();
        let call = ApiCall {
            service: meta.map_or("?", |m| m.service()).to_string(),
            operation: meta.map_or("?", |m| m.name()).to_string(),
            status: ctx.response().map(|r| r.status().as_u16()),
            ok: matches!(ctx.output_or_error(), Some(Ok(_))),
        };
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
        Ok(())
    }
}

/// The IAM permission an API call needs: `service:Operation`, except where S3 and
/// Elastic Load Balancing name it differently.
pub fn permission_for(service: &str, operation: &str) -> String {
    let op = match (service, operation) {
        ("s3", "GetPublicAccessBlock") => "GetBucketPublicAccessBlock",
        ("s3", "PutPublicAccessBlock") => "PutBucketPublicAccessBlock",
        ("s3", "DeletePublicAccessBlock") => "PutBucketPublicAccessBlock",
        ("s3", "HeadObject") => "GetObject",
        ("s3", "ListObjectsV2") => "ListBucket",
        (_, op) => op,
    };
    format!("{service}:{op}")
}
