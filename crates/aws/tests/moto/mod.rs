//! One moto server per test binary, started on a free loopback port.
//!
//! `scripts/test.sh` installs moto into `target/moto-venv`; `FIREBREAK_MOTO_ENDPOINT`
//! points at a server already running instead. Without either the tests skip with a
//! printed reason, except under `CI=true`, where that is a failure.

use aws::Connection;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

struct Server {
    endpoint: String,
    _child: Option<Child>,
}

static SERVER: OnceLock<Option<Server>> = OnceLock::new();

fn moto_binary() -> Option<PathBuf> {
    let root =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/moto-venv/bin/moto_server");
    root.is_file().then_some(root)
}

fn start() -> Option<Server> {
    if let Ok(url) = std::env::var("FIREBREAK_MOTO_ENDPOINT") {
        return Some(Server {
            endpoint: url,
            _child: None,
        });
    }
    let Some(bin) = moto_binary() else {
        let why = "moto is not installed (run scripts/test.sh, or set FIREBREAK_MOTO_ENDPOINT)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("skipping AWS integration tests: {why}");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(bin);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // The server dies with the test process: PR_SET_PDEATHSIG fires when the spawning
    // *thread* exits, so a thread that lives as long as the process spawns it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        tx.send(spawn(cmd)).unwrap();
        loop {
            std::thread::park();
        }
    });
    let child = rx.recv().expect("moto spawner thread");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        _child: Some(child),
    })
}

fn spawn(mut cmd: Command) -> Child {
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    cmd.spawn().expect("start moto_server")
}

/// The emulator's endpoint, or `None` (skip) when moto is unavailable outside CI.
pub fn endpoint() -> Option<String> {
    SERVER
        .get_or_init(start)
        .as_ref()
        .map(|s| s.endpoint.clone())
}

/// Static test credentials, us-east-1, no retries, pointed at moto.
pub fn config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIAFIREBREAKTEST",
            "secret",
            None,
            None,
            "test",
        )))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build()
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
