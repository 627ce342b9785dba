//! Every OCSF event `ingest --output ocsf-jsonl` writes for the test fixtures validates against
//! the official OCSF 1.1.0 schema with the profiles it declares (scripts/ocsf-validate.py,
//! in the test venv that scripts/test.sh installs: PyPI's ocsf-json-schema, which ships the
//! schema's exports, and jsonschema). Records that cannot be valid are counted, not written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> Option<PathBuf> {
    let from_env = std::env::var_os("FIREBREAK_TEST_PYTHON").map(PathBuf::from);
    let venv = repo().join("target/moto-venv/bin/python");
    let found = from_env.or(venv.exists().then_some(venv)).filter(|p| {
        Command::new(p)
            .args(["-c", "import ocsf_json_schema, jsonschema"])
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the OCSF validator is required under CI=true: run scripts/test.sh"
        );
        eprintln!("skipped: no Python with ocsf-json-schema and jsonschema (run scripts/test.sh)");
    }
    found
}

fn ocsf_of(input: &Path) -> (String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_firebreak"))
        .args([
            "ingest",
            input.to_str().unwrap(),
            "--output",
            "ocsf-jsonl",
            "--no-progress",
        ])
        .env_remove("FIREBREAK_CONFIG")
        .output()
        .unwrap();
    (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn every_ocsf_event_validates_against_the_official_schema() {
    let Some(python) = python() else { return };
    let mut inputs = vec![repo().join("crates/ingest/tests/fixtures")];
    let shared = repo().join("../shared/data");
    if shared.join("README.md").exists() {
        inputs.push(shared.join("stratus-detonations/stratus_cloudtrail.jsonl"));
        inputs.push(shared.join("panther-tests/panther_cloudtrail_tests.jsonl"));
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "../shared/data is required under CI=true"
        );
        eprintln!("../shared/data is absent: validating the fixtures only");
    }
    let mut events = String::new();
    let mut left_out = String::new();
    for input in &inputs {
        let (out, err) = ocsf_of(input);
        events.push_str(&out);
        left_out.extend(
            err.lines()
                .filter(|l| l.starts_with("not written as OCSF"))
                .map(|l| format!("{l}\n")),
        );
    }
    let count = events.lines().count();
    assert!(count > 20, "{count} events");
    let mut child = Command::new(python)
        .arg(repo().join("scripts/ocsf-validate.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(events.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let problems = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{} of the OCSF events are invalid:\n{}",
        problems.lines().count(),
        problems.lines().take(30).collect::<Vec<_>>().join("\n")
    );
    eprintln!("{count} OCSF events valid; left out:\n{left_out}");
    // The flow fixture's NODATA / SKIPDATA records are counted, not written.
    assert!(
        left_out.contains("no destination (NODATA / SKIPDATA flow record)"),
        "{left_out}"
    );
}
