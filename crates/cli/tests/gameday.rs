//! `firebreak gameday` against moto: every bundled scenario end to end, the outputs a team's
//! CI reads, and proof that each stage checks what it claims (a removed rule fails
//! *detected*, a playbook that no longer contains fails *contained*, a skipped rollback
//! fails *rolled back*); live mode only in an exercise account; hostile scenario files
//! refused; a team game day opens an exercise case and scores how it was worked.

mod support;

use serde_json::Value;
use std::path::Path;

fn firebreak(dir: &Path, endpoint: &str, args: &[&str]) -> (Option<i32>, String, String) {
    support::firebreak_aws(dir, Some(endpoint), "tester", args)
}

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The stage `name` of the only scenario in a `gameday run -o json` report.
fn stage<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["scenarios"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {report}"))
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn every_bundled_scenario_passes_end_to_end_with_its_matrix_layer_and_junit() {
    let Some(endpoint) = emulator::endpoint() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (code, out, err) = firebreak(dir, &endpoint, &["gameday", "list", "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let listed = json(&out);
    let scenarios = listed.as_array().unwrap();
    let stratus = scenarios
        .iter()
        .filter(|s| s["id"].as_str().unwrap().starts_with("aws."))
        .count();
    assert_eq!(
        stratus, 35,
        "one scenario per Stratus technique in the shared traces"
    );
    for id in [
        "demo.leaked-ci-key",
        "vpcflow.port-scan",
        "vpcflow.crypto-mining",
        "guardduty.crypto-mining",
    ] {
        assert!(scenarios.iter().any(|s| s["id"] == id), "{id}");
    }
    let n = scenarios.len();

    let (code, out, err) = firebreak(
        dir,
        &endpoint,
        &[
            "gameday",
            "run",
            "--all",
            "--matrix",
            "matrix.html",
            "--navigator",
            "layer.json",
            "--junit",
            "junit.xml",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("{n} of {n} scenario(s) passed every stage")),
        "{out}"
    );
    // Scenarios with emulated calls ran them; the rest replayed their traces.
    let emulated = scenarios
        .iter()
        .filter(|s| !s["emulate"].as_array().unwrap().is_empty())
        .count();
    assert!(emulated >= 10, "{emulated}");
    assert_eq!(out.matches(", emulate) ").count(), emulated, "{out}");
    // Containment was proven by reading state back, and undone, where scenarios respond.
    let responding = scenarios
        .iter()
        .filter(|s| !s["contained"].as_array().unwrap().is_empty())
        .count();
    assert!(responding >= 15, "{responding}");
    assert_eq!(
        out.matches("ran on an exercise approval; read back:")
            .count(),
        responding,
        "{out}"
    );

    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains(&format!("tests=\"{}\" failures=\"0\"", n * 8)),
        "{}",
        &junit[..300]
    );
    let layer: Value = json(&std::fs::read_to_string(dir.join("layer.json")).unwrap());
    assert_eq!(layer["versions"]["layer"], "4.5");
    assert_eq!(layer["domain"], "enterprise-attack");
    let techniques = layer["techniques"].as_array().unwrap();
    assert!(techniques.iter().any(|t| t["techniqueID"] == "T1098.001"));
    assert!(techniques.iter().all(|t| t["score"] == 100), "{layer}");
    let html = std::fs::read_to_string(dir.join("matrix.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("By ATT&amp;CK tactic"));
    assert!(!html.contains("<script") && !html.contains(" src=") && !html.contains("href=\"http"));

    // The same scenarios replayed: both ways of detonating pass.
    let (code, out, err) = firebreak(
        dir,
        &endpoint,
        &[
            "gameday",
            "run",
            "--all",
            "--mode",
            "replay",
            "--matrix",
            "matrix.md",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("{n} of {n} scenario(s) passed")),
        "{out}"
    );
    let md = std::fs::read_to_string(dir.join("matrix.md")).unwrap();
    assert!(md.contains("| persistence |"), "{md}");
    // Passing runs leave no scratch store behind.
    let left = std::fs::read_dir(dir.join("gameday-runs")).map_or(0, |d| d.count());
    assert_eq!(left, 0);
}

#[test]
fn a_removed_rule_fails_the_scenario_at_detected_and_leaves_the_events_as_rule_tests() {
    let Some(endpoint) = emulator::endpoint() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The bundled rules, less the one the scenario relies on.
    let rules = dir.join("rules");
    for sub in ["cloudtrail", "correlations", "vpcflow"] {
        std::fs::create_dir_all(rules.join(sub)).unwrap();
        for e in std::fs::read_dir(repo().join("rules").join(sub)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".yml") && name != "cloudtrail_logging_stopped.yml" {
                std::fs::copy(&p, rules.join(sub).join(&name)).unwrap();
            }
        }
    }
    let rules = rules.to_string_lossy().to_string();
    let (code, out, err) = firebreak(
        dir,
        &endpoint,
        &[
            "gameday",
            "run",
            "aws.defense-evasion.cloudtrail-stop",
            "--no-bundled",
            "--rules",
            &rules,
            "-o",
            "json",
        ],
    );
    assert_eq!(code, Some(1), "{out}{err}");
    let report = json(&out);
    let detected = stage(&report, "detected");
    assert_eq!(detected["verdict"], "failed", "{report}");
    assert!(
        detected["detail"]
            .as_str()
            .unwrap()
            .contains("detection gap: cloudtrail_logging_stopped (not loaded)"),
        "{detected}"
    );
    for later in ["cased", "planned", "contained", "rolled-back"] {
        assert_eq!(stage(&report, later)["verdict"], "cannot-run", "{later}");
    }
    assert_eq!(stage(&report, "cleanup")["verdict"], "passed");
    // The events that went unseen, as a rule test to fill in.
    let gap = std::fs::read_to_string(
        dir.join("gameday-gaps/aws.defense-evasion.cloudtrail-stop.tests.jsonl"),
    )
    .unwrap();
    let case: Value = json(gap.lines().next().unwrap());
    assert_eq!(case["expect"], "match");
    assert_eq!(case["events"][0]["eventName"], "StopLogging");
    assert!(
        case["events"][0]["userAgent"]
            .as_str()
            .unwrap()
            .contains("firebreak-gameday-"),
        "every detonated call carries the game day's id: {case}"
    );
    // With the rule back, the same scenario passes.
    let (code, out, err) = firebreak(
        dir,
        &endpoint,
        &["gameday", "run", "aws.defense-evasion.cloudtrail-stop"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
}

#[test]
fn a_playbook_that_no_longer_contains_fails_at_contained() {
    let Some(endpoint) = emulator::endpoint() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A team's edit of the playbook drops the steps that cut the key off.
    let book =
        std::fs::read_to_string(repo().join("playbooks/iam-user-access-key-compromise.yaml"))
            .unwrap();
    let start = book.find("  - id: deactivate-keys").unwrap();
    let end = book.find("  - id: delete-login-profile").unwrap();
    std::fs::create_dir_all(dir.join("books")).unwrap();
    std::fs::write(
        dir.join("books/iam-user-access-key-compromise.yaml"),
        format!("{}{}", &book[..start], &book[end..]),
    )
    .unwrap();
    let (code, out, err) = firebreak(
        dir,
        &endpoint,
        &[
            "gameday",
            "run",
            "aws.persistence.iam-backdoor-user",
            "--playbooks",
            "books",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, Some(1), "{out}{err}");
    let report = json(&out);
    let contained = stage(&report, "contained");
    assert_eq!(contained["verdict"], "failed", "{report}");
    let why = contained["detail"].as_str().unwrap();
    assert!(
        why.contains("intruder is not key-inactive") && why.contains("intruder is not denied"),
        "{why}"
    );
    assert_eq!(stage(&report, "rolled-back")["verdict"], "cannot-run");
    assert_eq!(stage(&report, "cleanup")["verdict"], "passed");
}

#[test]
fn a_skipped_rollback_fails_at_rolled_back() {
    let Some(endpoint) = emulator::endpoint() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let o = support::command(tmp.path(), Some(&endpoint), "tester")
        .env("FIREBREAK_FAULT", "skip-gameday-rollback:1")
        .args([
            "gameday",
            "run",
            "aws.persistence.iam-backdoor-user",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let report = json(&out);
    assert_eq!(stage(&report, "contained")["verdict"], "passed");
    let rolled = stage(&report, "rolled-back");
    assert_eq!(rolled["verdict"], "failed", "{report}");
    let why = rolled["detail"].as_str().unwrap();
    assert!(why.starts_with("intruder is {"), "{why}");
    assert!(
        why.contains("\"Inactive\"") && why.contains("(before: {"),
        "{why}"
    );
    // Cleanup still ran: nothing of the game day is left behind.
    assert_eq!(stage(&report, "cleanup")["verdict"], "passed");
}

#[test]
fn live_mode_detonates_only_in_an_account_the_plan_marks_for_exercises() {
    let Some(endpoint) = emulator::endpoint() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert_eq!(firebreak(dir, &endpoint, &["plan", "init"]).0, Some(0));
    // moto answers the test credentials as account 123456789012, which the plan does not
    // mark.
    let args = [
        "gameday",
        "run",
        "aws.persistence.iam-backdoor-user",
        "--mode",
        "live",
    ];
    let (code, out, err) = firebreak(dir, &endpoint, &args);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("account 123456789012 is not an exercise account"),
        "{err}"
    );
    assert!(!out.contains("warm-up"), "nothing ran: {out}");
    // Marked, it runs there, through every stage.
    let plan = std::fs::read_to_string(dir.join("ir-plan.toml"))
        .unwrap()
        .replace("accounts = []", "accounts = [\"123456789012\"]");
    std::fs::write(dir.join("ir-plan.toml"), plan).unwrap();
    let (code, out, err) = firebreak(dir, &endpoint, &["plan", "check"]);
    assert_ne!(code, Some(2), "{out}{err}");
    let (code, out, err) = firebreak(dir, &endpoint, &args);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("made 2 resource(s) in 123456789012"), "{out}");
    // Production, the forensic account and the management account are never exercise
    // accounts.
    let plan = std::fs::read_to_string(dir.join("ir-plan.toml"))
        .unwrap()
        .replace(
            "accounts = [\"123456789012\"]",
            "accounts = [\"111122223333\", \"999988887777\"]",
        );
    std::fs::write(dir.join("ir-plan.toml"), plan).unwrap();
    let (code, out, _) = firebreak(dir, &endpoint, &["plan", "check"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("exercises.accounts[0]") && out.contains("env = prod"),
        "{out}"
    );
    assert!(
        out.contains("exercises.accounts[1]") && out.contains("forensic and management"),
        "{out}"
    );
}

#[test]
fn hostile_scenario_files_are_refused_with_file_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("mine")).unwrap();
    let good =
        std::fs::read_to_string(repo().join("gamedays/aws.persistence.iam-backdoor-user.yaml"))
            .unwrap();
    std::fs::write(
        dir.join("mine/unknown-action.yaml"),
        good.replace("iam:CreateAccessKey", "iam:DeleteAccountEverything"),
    )
    .unwrap();
    let no_warmup: String = good
        .lines()
        .filter(|l| !l.starts_with("warmup:") && !l.starts_with("  - { id:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("mine/no-warmup.yaml"), no_warmup).unwrap();
    std::fs::write(
        dir.join("mine/outside.yaml"),
        good.replace(
            "{ call: \"iam:CreateAccessKey\",",
            "{ account: \"999988887777\", call: \"iam:CreateAccessKey\",",
        ),
    )
    .unwrap();
    let o = support::command(dir, None, "tester")
        .args(["gameday", "list", "--scenarios", "mine"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let line_of = |needle: &str| good.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let call = line_of("iam:CreateAccessKey");
    for expected in [
        format!(
            "mine/unknown-action.yaml:{call}: detonate.emulate[0].call: unknown action `iam:DeleteAccountEverything`"
        ),
        format!(
            "mine/outside.yaml:{call}: detonate.emulate[0].account: `999988887777` is outside the scenario"
        ),
        "mine/no-warmup.yaml:".to_string(),
        "warmup: missing".to_string(),
    ] {
        assert!(err.contains(&expected), "{expected}\n{err}");
    }
}

#[test]
fn a_team_game_day_opens_an_exercise_case_and_scores_how_it_was_worked() {
    let Some(endpoint) = emulator::endpoint() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert_eq!(firebreak(dir, &endpoint, &["plan", "init"]).0, Some(0));
    let plan = std::fs::read_to_string(dir.join("ir-plan.toml"))
        .unwrap()
        .replace(
            "last_game_day = \"2026-10-20\"",
            "last_game_day = \"2020-01-01\"",
        );
    std::fs::write(dir.join("ir-plan.toml"), plan).unwrap();
    let (_, out, _) = firebreak(dir, &endpoint, &["plan", "check"]);
    assert!(
        out.contains("a game day is overdue: last 2020-01-01 (typed into the plan"),
        "{out}"
    );

    let (code, out, err) = firebreak(
        dir,
        &endpoint,
        &[
            "gameday",
            "run",
            "aws.persistence.iam-backdoor-user",
            "--team",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("marked as an exercise"), "{out}");
    assert!(out.contains("stop planned"), "{out}");
    // The case is in the real store, marked wherever it appears.
    let (_, out, _) = firebreak(dir, &endpoint, &["case", "list"]);
    assert!(out.contains("[EXERCISE]"), "{out}");
    let (_, out, _) = firebreak(dir, &endpoint, &["case", "show", "1"]);
    assert!(out.contains("EXERCISE: opened by game day"), "{out}");
    // The team works it: takes it, plans, approves (the sev3 rule: one responder).
    let (code, _, err) = firebreak(
        dir,
        &endpoint,
        &["--actor", "alice", "case", "assign", "1", "alice"],
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = firebreak(
        dir,
        &endpoint,
        &["--actor", "alice", "respond", "plan", "1"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = firebreak(dir, &endpoint, &["gameday", "score", "-o", "json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let score = json(&out);
    let case = &score["cases"][0];
    assert_eq!(case["scenario"], "aws.persistence.iam-backdoor-user");
    assert_eq!(case["level"], "sev3");
    let ack = case["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "acknowledge")
        .unwrap();
    assert_eq!(ack["state"], "met_on_time", "{case}");
    assert!(
        case["steps"].as_array().unwrap().iter().any(|s| s["step"]
            .as_str()
            .unwrap()
            .starts_with("deactivate-keys@")
            && s["status"] == "not run"),
        "{case}"
    );
    // The plan check now reads the game day from the store, not the typed date.
    let (_, out, _) = firebreak(dir, &endpoint, &["plan", "check"]);
    assert!(!out.contains("a game day is overdue"), "{out}");
}
