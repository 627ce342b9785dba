//! Running the `firebreak` binary from tests that reach the emulator.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The account the leaked-key tests act in (the example IR plan's production account).
pub const ACCOUNT: &str = "111122223333";

/// A CloudTrail file: ci-deployer's key `leaked` creates key `created` for svc-backup.
#[allow(dead_code)]
pub fn trail_record(leaked: &str, created: &str) -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAFIREBREAKCI", "arn": format!("arn:aws:iam::{ACCOUNT}:user/ci-deployer"),
                          "accountId": ACCOUNT, "accessKeyId": leaked, "userName": "ci-deployer"},
        "eventTime": "2026-11-30T10:00:00Z", "eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.15",
        "requestParameters": {"userName": "svc-backup"},
        "responseElements": {"accessKey": {"accessKeyId": created, "status": "Active", "userName": "svc-backup",
                             "createDate": "Nov 30, 2026 10:00:00 AM"}},
        "requestID": "7e1a", "eventID": "5b0c8e0e-1f0a-4a43-9f51-7d0c7b3a5e01", "readOnly": false,
        "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": ACCOUNT}]})
    .to_string()
}

/// In the emulator's [`ACCOUNT`]: users ci-deployer (with a console password) and
/// svc-backup, each with an access key; returns the account, the leaked key and the
/// created one.
#[allow(dead_code)]
pub fn leaked_key_account(
    rt: &tokio::runtime::Runtime,
    endpoint: &str,
) -> (aws::Connection, String, String) {
    let base = aws::Connection::emulator(endpoint);
    let acct = rt
        .block_on(base.assume(&format!("arn:aws:iam::{ACCOUNT}:role/setup"), None, "setup"))
        .unwrap();
    let iam = acct.iam("us-east-1");
    let (leaked, created) = rt.block_on(async {
        let mut keys = Vec::new();
        for user in ["ci-deployer", "svc-backup"] {
            iam.create_user().user_name(user).send().await.unwrap();
            let k = iam
                .create_access_key()
                .user_name(user)
                .send()
                .await
                .unwrap();
            keys.push(k.access_key().unwrap().access_key_id().to_string());
        }
        iam.create_login_profile()
            .user_name("ci-deployer")
            .password("Tr0ub4dor&3")
            .send()
            .await
            .unwrap();
        (keys.remove(0), keys.remove(0))
    });
    (acct, leaked, created)
}

/// Runs `firebreak ARGS` in `dir` with test AWS credentials (and `endpoint` as the default
/// endpoint); returns the exit code, standard output and standard error.
/// The `firebreak` command in `dir` with test AWS credentials (and `endpoint` as the
/// default endpoint), acting as `actor`.
pub fn command(dir: &Path, endpoint: Option<&str>, actor: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_firebreak"));
    c.current_dir(dir)
        .env_remove("FIREBREAK_DB")
        .env_remove("FIREBREAK_PLAN")
        .env_remove("FIREBREAK_CONFIG")
        .env_remove("FIREBREAK_ENDPOINT_URL")
        .env_remove("FIREBREAK_FAULT")
        .env_remove("FIREBREAK_APPROVAL_KEY")
        .env("FIREBREAK_ACTOR", actor)
        .env("AWS_ACCESS_KEY_ID", "AKIAFIREBREAKTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE");
    if let Some(e) = endpoint {
        c.env("FIREBREAK_ENDPOINT_URL", e);
    }
    c
}

/// The status (`Active`, `Inactive`) of `user`'s access key `key` in `acct`.
#[allow(dead_code)]
pub fn key_status(
    rt: &tokio::runtime::Runtime,
    acct: &aws::Connection,
    user: &str,
    key: &str,
) -> String {
    let iam = acct.iam("us-east-1");
    rt.block_on(async {
        let out = iam.list_access_keys().user_name(user).send().await.unwrap();
        out.access_key_metadata()
            .iter()
            .find(|k| k.access_key_id() == Some(key))
            .unwrap()
            .status()
            .unwrap()
            .as_str()
            .to_string()
    })
}

#[allow(dead_code)]
pub fn firebreak_aws(
    dir: &Path,
    endpoint: Option<&str>,
    actor: &str,
    args: &[&str],
) -> (Option<i32>, String, String) {
    let mut c = command(dir, endpoint, actor);
    let o = c.args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `firebreak serve` on a free loopback port, killed when the test ends; `.1` is its
/// address.
#[allow(dead_code)]
pub struct Serving(pub Child, pub String);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd serve --listen 127.0.0.1:0 ARGS` and reads its address off its first line.
#[allow(dead_code)]
pub fn serve(mut cmd: Command, args: &[&str]) -> Serving {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its first line names the address; the rest is drained (a closed pipe would make the
    // server's later messages fail).
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
        for line in lines.map_while(Result::ok) {
            eprintln!("serve: {line}");
        }
    });
    let first = rx.recv().unwrap_or_default();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    Serving(child, addr)
}

/// A team in `dir`: the example IR plan, the server's attestation key (`keys/server.key`)
/// trusted by it for signed-in approvals, and accounts for alice, bob, carmen and dana with
/// `password`.
#[allow(dead_code)]
pub fn team(dir: &Path, endpoint: &str, password: &str) {
    let run = |args: &[&str]| {
        let o = command(dir, Some(endpoint), "tester")
            .env("FIREBREAK_PASSWORD", password)
            .args(args)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {out}{err}");
        out
    };
    run(&["plan", "init"]);
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let public = run(&["keygen", "keys/server.key"]);
    let mut plan = std::fs::read_to_string(dir.join("ir-plan.toml")).unwrap();
    plan.push_str(&format!(
        "\n[team_server]\nattestation_keys = [\"{}\"]\n",
        public.trim()
    ));
    std::fs::write(dir.join("ir-plan.toml"), plan).unwrap();
    for who in ["alice", "bob", "carmen", "dana"] {
        run(&["user", "add", who]);
    }
}
