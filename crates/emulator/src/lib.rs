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
