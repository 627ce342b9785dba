//! The moto server (crate `emulator`), clients pointed at it, and mocked clients for the
//! calls moto lacks.

use aws::Connection;
use aws_config::SdkConfig;

/// The emulator's endpoint, or `None` (skip) when moto is unavailable outside CI.
pub fn endpoint() -> Option<String> {
    emulator::endpoint()
}

/// Static test credentials, us-east-1, no retries, pointed at moto.
pub fn config(endpoint: &str) -> SdkConfig {
    Connection::emulator(endpoint).base
}

/// Acts inside `account` (moto isolates accounts reached by AssumeRole).
pub async fn inside(base: &Connection, account: &str) -> Connection {
    base.assume(&format!("arn:aws:iam::{account}:role/setup"), None, "setup")
        .await
        .unwrap()
}

/// A client of `$krate` answering from `$rules` only (aws-smithy-mocks), without the
/// SDK's `test-util` feature that `mock_client!` needs.
#[allow(unused_macros)]
macro_rules! mocked {
    ($krate:ident, $rules:expr) => {{
        let mut i = ::aws_smithy_mocks::MockResponseInterceptor::new()
            .rule_mode(::aws_smithy_mocks::RuleMode::MatchAny);
        for r in $rules {
            i = i.with_rule(r);
        }
        $krate::Client::from_conf(
            $krate::Config::builder()
                .behavior_version(::aws_config::BehaviorVersion::latest())
                .region(::aws_config::Region::new("us-east-1"))
                .credentials_provider(::aws_credential_types::Credentials::new(
                    "a", "b", None, None, "mock",
                ))
                .http_client(::aws_smithy_mocks::create_mock_http_client())
                .interceptor(i)
                .build(),
        )
    }};
}

#[allow(unused_imports)]
pub(crate) use mocked;
