//! `firebreak respond` end to end against moto: a leaked key's CloudTrail record becomes a
//! case, the IR plan maps it to a playbook, the dry-run prints the exact calls and changes
//! nothing, the plan waits for two approvers (sev1), runs, is recorded in the case, and
//! rolls back.

mod support;

use std::path::Path;

const ACCOUNT: &str = "111122223333";

fn firebreak(dir: &Path, endpoint: &str, args: &[&str]) -> (Option<i32>, String, String) {
    support::firebreak_aws(dir, Some(endpoint), "tester", args)
}

fn trail_record(leaked: &str, created: &str) -> String {
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

#[test]
fn a_leaked_key_is_contained_and_rolled_back_from_the_command_line() {
    let Some(endpoint) = emulator::endpoint() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = aws::Connection::emulator(&endpoint);
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
    let status = |user: &str, key: &str| {
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
    };

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("trail.json"), trail_record(&leaked, &created)).unwrap();
    assert_eq!(firebreak(dir, &endpoint, &["plan", "init"]).0, Some(0));
    let (code, out, err) = firebreak(dir, &endpoint, &["hunt", "trail.json", "--cases"]);
    assert_eq!(code, Some(1), "{out}{err}");

    // Plan: the IR plan maps the rule to the playbook; the dry-run names the real keys.
    let (code, out, err) = firebreak(dir, &endpoint, &["respond", "plan", "1"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("Plan 1 for case 1: Compromised IAM user access key"),
        "{out}"
    );
    assert!(out.contains("only reads were sent"), "{out}");
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
        out.contains("2 distinct approver(s) from members of incident-commander or responder"),
        "{out}"
    );
    assert_eq!(
        status("ci-deployer", &leaked),
        "Active",
        "the dry-run changed nothing"
    );

    // Nothing runs unapproved; approvers come from the plan's roles; sev1 takes two.
    let (code, _, err) = firebreak(dir, &endpoint, &["respond", "run", "1"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("plan 1 cannot run: plan not approved"),
        "{err}"
    );
    let (code, _, err) = firebreak(
        dir,
        &endpoint,
        &["--actor", "dana", "respond", "approve", "1"],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("dana may not approve"), "{err}");
    let (_, out, _) = firebreak(
        dir,
        &endpoint,
        &["--actor", "alice", "respond", "approve", "1"],
    );
    assert!(out.contains("still needed: 1 of 2 approvals"), "{out}");
    let (_, out, _) = firebreak(
        dir,
        &endpoint,
        &["--actor", "bob", "respond", "approve", "1"],
    );
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

/// Runs of a fresh, approved plan are SIGKILLed at growing delays; each re-run finishes the
/// plan without repeating a step recorded done before the kill, and leaves both keys
/// inactive. At least one kill must land mid-run.
fn killed_runs_resume(dir: &Path, endpoint: &str, keys: &dyn Fn() -> (String, String)) {
    let mut mid_run = 0;
    for (round, delay_ms) in [40u64, 80, 120, 160, 220, 300, 400].into_iter().enumerate() {
        let plan_id = (round + 2).to_string();
        assert_eq!(
            firebreak(dir, endpoint, &["respond", "plan", "1", "--offline"]).0,
            Some(0)
        );
        for who in ["alice", "bob"] {
            assert_eq!(
                firebreak(
                    dir,
                    endpoint,
                    &[
                        "--actor",
                        who,
                        "respond",
                        "approve",
                        "1",
                        "--plan-id",
                        &plan_id
                    ]
                )
                .0,
                Some(0)
            );
        }
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_firebreak"))
            .current_dir(dir)
            .env_remove("FIREBREAK_DB")
            .env_remove("FIREBREAK_PLAN")
            .env_remove("FIREBREAK_CONFIG")
            .env("FIREBREAK_ACTOR", "tester")
            .env("FIREBREAK_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "AKIAFIREBREAKTEST")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["respond", "run", "1", "--plan-id", &plan_id])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let (code, out, err) = firebreak(
            dir,
            endpoint,
            &[
                "respond",
                "status",
                "1",
                "--plan-id",
                &plan_id,
                "-o",
                "json",
            ],
        );
        assert_eq!(
            code,
            Some(0),
            "the store stays readable after a kill: {out}{err}"
        );
        let before: serde_json::Value = serde_json::from_str(&out).unwrap();
        let done: Vec<String> = before["receipts"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| r["status"] == "done")
            .map(|(k, _)| k.clone())
            .collect();
        let steps = before["plan"]["steps"].as_array().unwrap().len();
        if !done.is_empty() && done.len() < steps - 1 {
            mid_run += 1;
        }
        let calls_of = |v: &serde_json::Value, step: &str| {
            v["calls"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["step"] == step && c["phase"] == "run")
                .count()
        };
        let (code, out, err) = firebreak(
            dir,
            endpoint,
            &["respond", "run", "1", "--plan-id", &plan_id],
        );
        assert_eq!(code, Some(0), "round {round}: {out}{err}");
        let (_, out, _) = firebreak(
            dir,
            endpoint,
            &[
                "respond",
                "status",
                "1",
                "--plan-id",
                &plan_id,
                "-o",
                "json",
            ],
        );
        let after: serde_json::Value = serde_json::from_str(&out).unwrap();
        for step in &done {
            assert_eq!(
                calls_of(&after, step),
                calls_of(&before, step),
                "round {round}: {step} was repeated"
            );
        }
        assert_eq!(
            keys(),
            ("Inactive".to_string(), "Inactive".to_string()),
            "round {round}"
        );
        let (code, out, err) = firebreak(
            dir,
            endpoint,
            &["respond", "rollback", "1", "--plan-id", &plan_id],
        );
        assert_eq!(code, Some(0), "round {round}: {out}{err}");
        assert_eq!(
            keys(),
            ("Active".to_string(), "Active".to_string()),
            "round {round}"
        );
    }
    assert!(
        mid_run > 0,
        "no kill landed in the middle of a run: the delays need tuning"
    );
}
