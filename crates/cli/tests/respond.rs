//! `firebreak respond` end to end against moto: a leaked key's CloudTrail record becomes a
//! case, the IR plan maps it to a playbook, the dry-run prints the exact calls and changes
//! nothing, the plan waits for two approvers (sev1), runs, is recorded in the case, and
//! rolls back.

mod support;

use std::path::Path;

use support::trail_record;

fn firebreak(dir: &Path, endpoint: &str, args: &[&str]) -> (Option<i32>, String, String) {
    support::firebreak_aws(dir, Some(endpoint), "tester", args)
}

/// Makes approval keys for alice, bob and dana with `firebreak keygen` and lists them in the
/// IR plan in place of the example's placeholders.
fn team_keys(dir: &Path, endpoint: &str) {
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let mut plan = std::fs::read_to_string(dir.join("ir-plan.toml")).unwrap();
    for who in ["alice", "bob", "dana"] {
        let (code, public, err) = firebreak(dir, endpoint, &["keygen", &format!("keys/{who}.key")]);
        assert_eq!(code, Some(0), "{err}");
        let at = plan.find(&format!("id = \"{who}\"")).unwrap();
        let k = at + plan[at..].find("approval_keys = [\"").unwrap() + 18;
        plan.replace_range(k..k + 64, public.trim());
    }
    std::fs::write(dir.join("ir-plan.toml"), plan).unwrap();
    let (code, out, err) = firebreak(dir, endpoint, &["plan", "check"]);
    assert_ne!(code, Some(2), "{out}{err}");
}

/// `respond approve CASE --plan ID` as WHO, signing with WHO's key.
fn approve(dir: &Path, endpoint: &str, who: &str, plan: &str) -> (Option<i32>, String, String) {
    let key = format!("keys/{who}.key");
    firebreak(
        dir,
        endpoint,
        &[
            "--actor", who, "respond", "approve", "1", "--plan", plan, "--key", &key,
        ],
    )
}

#[test]
fn a_leaked_key_is_contained_and_rolled_back_from_the_command_line() {
    let Some(endpoint) = emulator::endpoint() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (acct, leaked, created) = support::leaked_key_account(&rt, &endpoint);
    let iam = acct.iam("us-east-1");
    let status = |user: &str, key: &str| support::key_status(&rt, &acct, user, key);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("trail.json"), trail_record(&leaked, &created)).unwrap();
    assert_eq!(firebreak(dir, &endpoint, &["plan", "init"]).0, Some(0));
    team_keys(dir, &endpoint);
    let (code, out, err) = firebreak(dir, &endpoint, &["hunt", "trail.json", "--cases"]);
    assert_eq!(code, Some(1), "{out}{err}");

    // Plan: the IR plan maps the rule to the playbook; the dry-run names the real keys.
    let (code, out, err) = firebreak(dir, &endpoint, &["respond", "plan", "1"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("Plan 1 for case 1: Compromised IAM user access key"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "→ iam:UpdateAccessKey UserName=ci-deployer AccessKeyId={leaked} Status=Inactive"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "→ iam:UpdateAccessKey UserName=svc-backup AccessKeyId={created} Status=Inactive"
        )),
        "{out}"
    );
    assert!(
        out.contains("→ iam:DeleteLoginProfile UserName=ci-deployer"),
        "{out}"
    );
    assert!(
        out.contains("2 distinct approver(s) from members of incident-commander or responder, not the plan's author, each signing with a key the IR plan lists (level sev1)"),
        "{out}"
    );
    // The dry-run changed nothing: both keys active, the login profile there, no policy.
    assert_eq!(status("ci-deployer", &leaked), "Active");
    assert_eq!(status("svc-backup", &created), "Active");
    rt.block_on(async {
        iam.get_login_profile()
            .user_name("ci-deployer")
            .send()
            .await
            .expect("the login profile survives a dry-run");
        for user in ["ci-deployer", "svc-backup"] {
            let p = iam
                .list_user_policies()
                .user_name(user)
                .send()
                .await
                .unwrap();
            assert!(
                p.policy_names().is_empty(),
                "{user}: {:?}",
                p.policy_names()
            );
        }
    });

    // Nothing runs unapproved; approvers come from the plan's roles; sev1 takes two.
    let (code, _, err) = firebreak(dir, &endpoint, &["respond", "run", "1"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("plan 1 cannot run: plan not approved"),
        "{err}"
    );
    let (code, _, err) = approve(dir, &endpoint, "dana", "1");
    assert_eq!(code, Some(2));
    assert!(err.contains("dana may not approve"), "{err}");
    // Approvals are signed: none without a key, and nobody approves with another's key.
    let (code, _, err) = firebreak(
        dir,
        &endpoint,
        &["--actor", "alice", "respond", "approve", "1", "--plan", "1"],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("must be signed: pass --key FILE"), "{err}");
    let (code, _, err) = firebreak(
        dir,
        &endpoint,
        &[
            "--actor",
            "alice",
            "respond",
            "approve",
            "1",
            "--key",
            "keys/bob.key",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("belongs to bob, not alice"), "{err}");
    let (_, out, _) = approve(dir, &endpoint, "alice", "1");
    assert!(out.contains("still needed: 1 of 2 approvals"), "{out}");

    // The rule was pinned when the plan was made: without the IR plan, or with a weaker
    // one, a sev1 plan still needs its second approver, and the run says why.
    std::fs::rename(dir.join("ir-plan.toml"), dir.join("ir-plan.kept")).unwrap();
    let (code, _, err) = firebreak(dir, &endpoint, &["respond", "run", "1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("1 of 2 approvals"), "{err}");
    assert!(err.contains("no IR plan is loaded now"), "{err}");
    let weaker = std::fs::read_to_string(dir.join("ir-plan.kept"))
        .unwrap()
        .replace("count = 2, two_person = true", "count = 1");
    std::fs::write(dir.join("weak.toml"), weaker).unwrap();
    let (code, _, err) = firebreak(
        dir,
        &endpoint,
        &["--ir-plan", "weak.toml", "respond", "run", "1"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("1 of 2 approvals")
            && err.contains("differs from the one the plan was made under"),
        "{err}"
    );
    std::fs::rename(dir.join("ir-plan.kept"), dir.join("ir-plan.toml")).unwrap();

    let (_, out, _) = approve(dir, &endpoint, "bob", "1");
    assert!(out.contains("plan 1 approved by bob"), "{out}");

    let (code, out, err) = firebreak(dir, &endpoint, &["respond", "run", "1"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(status("ci-deployer", &leaked), "Inactive");
    assert_eq!(status("svc-backup", &created), "Inactive");
    // Running again repeats nothing.
    let (code, out, _) = firebreak(dir, &endpoint, &["respond", "run", "1"]);
    assert_eq!(code, Some(0));
    assert!(!out.contains('→'), "{out}");

    // Everything is in the case: receipts, calls, audit, the manual step as a task.
    let (_, out, _) = firebreak(dir, &endpoint, &["respond", "status", "1", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["approved"], true);
    assert_eq!(
        v["receipts"][format!("deactivate-keys@{leaked}")]["before"],
        "Active"
    );
    assert!(
        v["calls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["operation"] == "UpdateAccessKey" && c["ok"] == true)
    );
    let (_, audit, _) = firebreak(dir, &endpoint, &["case", "audit", "1"]);
    for needle in [
        "response planned",
        "response approved",
        "response step done",
    ] {
        assert!(audit.contains(needle), "{needle}: {audit}");
    }
    let (_, show, _) = firebreak(dir, &endpoint, &["case", "show", "1"]);
    assert!(show.contains("plan 1 iam-user-access-key-compromise: 10 step(s): 9 done, 1 task; approved by: alice, bob"), "{show}");
    let (_, export, _) = firebreak(dir, &endpoint, &["case", "export", "1", "--format", "json"]);
    let export: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(
        export["responses"][0]["receipts"][format!("deactivate-keys@{created}")]["status"],
        "done"
    );
    let (_, tasks, _) = firebreak(dir, &endpoint, &["case", "task", "1", "list"]);
    assert!(
        tasks.contains("iam-user-access-key-compromise / review-and-rotate"),
        "{tasks}"
    );

    // The credential report the evidence step captured is in the locker and the ledger.
    let (_, listed, _) = firebreak(dir, &endpoint, &["evidence", "list", "1"]);
    assert!(
        listed.contains("capture-credential-report-111122223333-1.json"),
        "{listed}"
    );
    let (code, verified, _) = firebreak(dir, &endpoint, &["evidence", "verify", "1"]);
    assert_eq!(code, Some(0), "{verified}");

    let (code, out, err) = firebreak(dir, &endpoint, &["respond", "rollback", "1"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(status("ci-deployer", &leaked), "Active");
    assert_eq!(status("svc-backup", &created), "Active");

    let (code, out, _) = firebreak(dir, &endpoint, &["respond", "iam-policy"]);
    assert_eq!(code, Some(0));
    let policy: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(policy["Version"], "2012-10-17");

    killed_runs_resume(dir, &endpoint, &|| {
        (
            status("ci-deployer", &leaked),
            status("svc-backup", &created),
        )
    });
}

/// Runs of a fresh, approved plan are killed at a named point (`FIREBREAK_FAULT`, honoured
/// by debug builds): right after its N-th mutating call landed and before its outcome was
/// journaled, for every N, and once right after a call was journaled as intended but before
/// it was sent. After each kill the store names the call that may have landed; the re-run
/// finishes the plan without sending any step's landed call again, settles the cut-off call
/// as reconciled, and leaves both keys inactive; rollback restores them.
fn killed_runs_resume(dir: &Path, endpoint: &str, keys: &dyn Fn() -> (String, String)) {
    let (_, out, _) = firebreak(
        dir,
        endpoint,
        &["respond", "status", "1", "--plan", "1", "-o", "json"],
    );
    let first: serde_json::Value = serde_json::from_str(&out).unwrap();
    let calls_in_a_run = first["intents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["phase"] == "run")
        .count();
    assert!(calls_in_a_run >= 5, "{first:#}");
    let mut faults: Vec<String> = (1..=calls_in_a_run)
        .map(|n| format!("abort-after-call:{n}"))
        .collect();
    faults.push("abort-after-intent:2".into());
    for (round, fault) in faults.iter().enumerate() {
        let plan_id = (round + 2).to_string();
        assert_eq!(
            firebreak(dir, endpoint, &["respond", "plan", "1", "--offline"]).0,
            Some(0)
        );
        for who in ["alice", "bob"] {
            assert_eq!(approve(dir, endpoint, who, &plan_id).0, Some(0));
        }
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_firebreak"))
            .current_dir(dir)
            .env_remove("FIREBREAK_DB")
            .env_remove("FIREBREAK_PLAN")
            .env_remove("FIREBREAK_CONFIG")
            .env("FIREBREAK_ACTOR", "tester")
            .env("FIREBREAK_ENDPOINT_URL", endpoint)
            .env("FIREBREAK_FAULT", fault)
            .env("AWS_ACCESS_KEY_ID", "AKIAFIREBREAKTEST")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["respond", "run", "1", "--plan", &plan_id])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            None,
            "{fault}: the run must die there: {o:?}"
        );
        let status = |format: &str| {
            let (code, out, err) = firebreak(
                dir,
                endpoint,
                &["respond", "status", "1", "--plan", &plan_id, "-o", format],
            );
            assert_eq!(
                code,
                Some(0),
                "the store stays readable after a kill: {out}{err}"
            );
            out
        };
        let before: serde_json::Value = serde_json::from_str(&status("json")).unwrap();
        let open: Vec<&serde_json::Value> = before["intents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["outcome"].is_null())
            .collect();
        assert_eq!(
            open.len(),
            1,
            "{fault}: the call cut off is named: {before:#}"
        );
        let cut_step = open[0]["step"].as_str().unwrap().to_string();
        let cut_call = open[0]["call"].as_str().unwrap().to_string();
        let text = status("text");
        assert!(
            text.contains("MAY HAVE LANDED") && text.contains(&cut_call),
            "{fault}: {text}"
        );
        let receipt = &before["receipts"][&cut_step];
        assert_eq!(
            receipt["status"], "started",
            "{fault}: the step is caught started"
        );

        let (code, out, err) =
            firebreak(dir, endpoint, &["respond", "run", "1", "--plan", &plan_id]);
        assert_eq!(code, Some(0), "{fault}: {out}{err}");
        assert!(
            out.contains("may have landed"),
            "{fault}: the resume says so: {out}"
        );
        let after: serde_json::Value = serde_json::from_str(&status("json")).unwrap();
        // The write-ahead journal: every intended call settled; the cut-off one reconciled.
        let intents = after["intents"].as_array().unwrap();
        assert!(
            intents.iter().all(|i| !i["outcome"].is_null()),
            "{fault}: {after:#}"
        );
        let settled: serde_json::Value = serde_json::from_str(
            intents
                .iter()
                .find(|i| i["call"] == cut_call.as_str())
                .unwrap()["outcome"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(settled["outcome"], "reconciled", "{fault}: {settled}");
        // A call that landed is never sent again: the resumed step sent nothing that
        // changes anything, unless the kill came before its call was sent (then it sends it
        // once) or it is the credential report (evidence, captured again).
        let sent_again: Vec<&str> = after["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["step"] == cut_step.as_str() && c["phase"] == "run")
            .filter_map(|c| c["operation"].as_str())
            .filter(|op| {
                !["Describe", "Get", "List", "AssumeRole"]
                    .iter()
                    .any(|p| op.starts_with(p))
            })
            .filter(|op| *op != "GenerateCredentialReport")
            .collect();
        if fault.starts_with("abort-after-call") {
            assert!(
                sent_again.is_empty(),
                "{fault}: {cut_step} sent {sent_again:?} again"
            );
        } else {
            assert_eq!(
                sent_again.len(),
                1,
                "{fault}: the unsent call goes out once: {sent_again:?}"
            );
        }
        let calls_now = intents.iter().filter(|i| i["phase"] == "run").count();
        assert!(
            calls_now <= calls_in_a_run + 1,
            "{fault}: {calls_now} calls in all, a run makes {calls_in_a_run}"
        );
        assert_eq!(
            keys(),
            ("Inactive".to_string(), "Inactive".to_string()),
            "{fault}"
        );
        let (code, out, err) = firebreak(
            dir,
            endpoint,
            &["respond", "rollback", "1", "--plan", &plan_id],
        );
        assert_eq!(code, Some(0), "{fault}: {out}{err}");
        assert_eq!(
            keys(),
            ("Active".to_string(), "Active".to_string()),
            "{fault}"
        );
    }
}

/// The response commands say what they did, including nothing, when AWS cannot be read or
/// the world has moved.
#[test]
fn the_response_commands_say_what_they_did() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let leaked = "AKIAFIREBREAKLEAK001";
    let created = "AKIAFIREBREAKMADE001";
    std::fs::write(dir.join("trail.json"), trail_record(leaked, created)).unwrap();
    let nowhere = "http://127.0.0.1:9";
    let run = |args: &[&str]| support::firebreak_aws(dir, Some(nowhere), "tester", args);
    assert_eq!(run(&["hunt", "trail.json", "--cases"]).0, Some(1));

    // AWS cannot be reached: every step says so in one line, the plan is incomplete, the
    // command fails, and the plan cannot be approved.
    let (code, out, err) = run(&[
        "respond",
        "plan",
        "1",
        "--playbook",
        "iam-user-access-key-compromise",
    ]);
    assert_eq!(code, Some(1), "{out}{err}");
    let failures: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("cannot plan calls:"))
        .collect();
    assert!(!failures.is_empty(), "{out}");
    for l in &failures {
        assert!(l.len() < 400, "one short line per step: {l}");
        assert!(l.contains("AWS could not be reached"), "{l}");
    }
    assert!(
        out.contains("Plan 1 is INCOMPLETE and cannot be approved"),
        "{out}"
    );
    let (code, _, err) = run(&["respond", "approve", "1", "--plan", "1"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("the plan is incomplete"), "{err}");

    // Without credentials at all.
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_firebreak"));
    let o = c
        .current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("FIREBREAK_ACTOR", "tester")
        .args([
            "respond",
            "plan",
            "1",
            "--playbook",
            "iam-user-access-key-compromise",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("no usable AWS credentials"), "{out}");

    // Every key excluded: the key step is left out with the reason, not an error.
    let (code, out, err) = run(&[
        "respond",
        "plan",
        "1",
        "--offline",
        "--playbook",
        "iam-user-access-key-compromise",
        "--exclude",
        &format!("access_key:{leaked}"),
        "--exclude",
        &format!("access_key:{created}"),
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!(
            "not planned: deactivate-keys: access_key:{leaked} excluded"
        )),
        "{out}"
    );
    assert!(!out.contains("deactivate-keys@"), "{out}");

    // `--plan ID` names the response plan; approving and rolling back an offline plan
    // that never ran says there is nothing to undo.
    let plan_id = "4";
    let (code, out, err) = run(&[
        "respond",
        "plan",
        "1",
        "--offline",
        "--playbook",
        "iam-user-access-key-compromise",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains(&format!("Plan {plan_id} for case 1")), "{out}");
    let (code, out, err) = run(&["respond", "approve", "1", "--plan", plan_id]);
    assert_eq!(
        code,
        Some(0),
        "no IR plan: one approval by anyone: {out}{err}"
    );
    assert!(out.contains("(unsigned approvals)"), "{out}");
    let (code, out, err) = run(&["respond", "rollback", "1", "--plan", plan_id]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("nothing to roll back"), "{out}");
    let (_, out, _) = run(&["respond", "status", "1", "--plan", plan_id]);
    assert!(
        out.contains("UNSIGNED APPROVALS") && out.contains("UNSIGNED"),
        "{out}"
    );
}

/// The README's `firebreak respond plan 1` works on the demo case, whose alerts several
/// playbooks answer: the one for its most severe alert is chosen and the others named.
#[test]
fn respond_plan_chooses_for_the_most_severe_alert() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = |args: &[&str]| support::firebreak_aws(dir, None, "tester", args);
    assert_eq!(run(&["demo", "--db", "firebreak.db"]).0, Some(0));
    let (code, out, err) = run(&["respond", "plan", "1", "--offline"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Plan 1 for case 1:"), "{out}");
    assert!(out.contains("also answering:"), "{out}");
}
