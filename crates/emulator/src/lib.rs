//! The AWS emulator (moto) for integration tests: one server per test process, started
//! on a free loopback port and ended with the process.
//!
//! `scripts/test.sh` installs moto into `target/moto-venv`; `FIREBREAK_MOTO_ENDPOINT`
//! points at a server already running instead. Without either, [`endpoint`] is `None`
//! (tests skip with a printed reason), except under `CI=true`, where that is a failure.

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
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
    let child = run_until_listening(cmd, port, "moto_server");
    Some(Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        _child: Some(child),
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `cmd` so that it dies with the test process, and waits until it listens on `port`.
fn run_until_listening(mut cmd: Command, port: u16, what: &str) -> Child {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    // PR_SET_PDEATHSIG fires when the spawning *thread* exits, so a thread that lives as
    // long as the process spawns it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        tx.send(spawn(cmd)).unwrap();
        loop {
            std::thread::park();
        }
    });
    let child = rx.recv().expect("spawner thread");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

fn spawn(mut cmd: Command) -> Child {
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    cmd.spawn().expect("start a test helper")
}

static OIDC: OnceLock<Option<Server>> = OnceLock::new();

fn start_oidc() -> Option<Server> {
    let python = std::env::var("FIREBREAK_TEST_PYTHON").ok().or_else(|| {
        let venv =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/moto-venv/bin/python");
        venv.is_file().then(|| venv.display().to_string())
    });
    let installed = python.as_ref().is_some_and(|py| {
        Command::new(py)
            .args(["-c", "import oidc_provider_mock"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !installed {
        let why = "oidc-provider-mock is not installed (run scripts/test.sh)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("skipping OpenID Connect tests: {why}");
        return None;
    }
    let port = free_port();
    let mut cmd = Command::new(python.unwrap());
    cmd.args([
        "-m",
        "oidc_provider_mock",
        "-H",
        "127.0.0.1",
        "-p",
        &port.to_string(),
    ]);
    let child = run_until_listening(cmd, port, "oidc-provider-mock");
    Some(Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        _child: Some(child),
    })
}

/// A mock OpenID Connect provider (`oidc-provider-mock` from PyPI) on loopback: its issuer
/// URL, or `None` (skip) when it is not installed outside CI. Any client id is accepted;
/// its authorization form asks for the subject, which also becomes the `email` claim.
pub fn oidc_provider() -> Option<String> {
    OIDC.get_or_init(start_oidc)
        .as_ref()
        .map(|s| s.endpoint.clone())
}

/// The emulator's endpoint, or `None` (skip) when moto is unavailable outside CI.
pub fn endpoint() -> Option<String> {
    SERVER
        .get_or_init(start)
        .as_ref()
        .map(|s| s.endpoint.clone())
}
