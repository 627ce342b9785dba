//! Running the `firebreak` binary from tests that reach the emulator.

use std::path::Path;
use std::process::Command;

/// Runs `firebreak ARGS` in `dir` with test AWS credentials (and `endpoint` as the default
/// endpoint); returns the exit code, standard output and standard error.
pub fn firebreak_aws(
    dir: &Path,
    endpoint: Option<&str>,
    actor: &str,
    args: &[&str],
) -> (Option<i32>, String, String) {
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
    let o = c.args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
