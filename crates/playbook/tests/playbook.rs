//! Playbooks: the bundled ones are valid and ordered evidence-first; bad playbooks are
//! refused with file, line and field; cases bind to resources; plans, approvals and the
//! responder policy.

use case::summary::AlertRecord;
use model::Severity;
use playbook::approve::{ApprovalError, ApprovalRule, admit};
use playbook::{
    Action, Approval, Bindings, Class, Exclusions, Request, Settings, Target, TargetKind,
};
use serde_json::json;

#[test]
fn bundled_playbooks_are_valid_and_preserve_evidence_first() {
    let books = playbook::bundled();
    assert_eq!(books.len(), 10);
    for b in &books {
        let first_disruptive = b
            .steps
            .iter()
            .position(|s| s.action.class() == Class::Disruptive);
        let last_evidence = b
            .steps
            .iter()
            .rposition(|s| s.action.class() == Class::Evidence);
        if let (Some(d), Some(ev)) = (first_disruptive, last_evidence) {
            assert!(ev < d, "{}: evidence after disruption", b.name);
        }
        assert!(
            b.steps.iter().any(|s| s.action == Action::Manual),
            "{}: a person's step",
            b.name
        );
    }
    // The IR plan example maps detections only to playbooks that exist.
    let ir = plan::parse(plan::EXAMPLE, "example.toml", plan::Format::Toml).unwrap();
    for r in &ir.responses {
        assert!(
            books.iter().any(|b| b.name == r.playbook.value),
            "{}",
            r.playbook.value
        );
    }
}

fn errors(yaml: &str) -> Vec<String> {
    playbook::parse(yaml, "my.yaml")
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn invalid_playbooks_are_located() {
    let e =
        errors("name: x\ntitle: X\nsteps:\n  - id: a\n    action: ec2.explode\n    for_each: i\n");
    assert_eq!(
        e,
        [
            "my.yaml:5: steps[0].action: unknown action `ec2.explode` (`firebreak respond actions` lists them)"
        ]
    );

    let e = errors(
        "name: x\ntitle: X\ninputs:\n  - name: i\n    kind: instance\nsteps:\n  - id: stop\n    action: ec2.stop-instance\n    for_each: i\n  - id: snap\n    action: ec2.snapshot-volumes\n    for_each: i\n",
    );
    assert_eq!(
        e,
        [
            "my.yaml:10: steps[1].action: evidence step `snap` comes after disruptive step `stop`: preserve evidence first"
        ]
    );

    let e = errors(
        "name: x\ntitle: X\ninputs:\n  - name: k\n    kind: access_key\nsteps:\n  - id: a\n    action: ec2.stop-instance\n    for_each: k\n",
    );
    assert_eq!(
        e,
        [
            "my.yaml:9: steps[0].for_each: `ec2.stop-instance` acts on instances, but input `k` holds access_keys"
        ]
    );

    let e = errors(
        "name: x\ntitle: X\nsteps:\n  - id: a\n    action: manual\n  - id: b\n    action: iam.deny-all-user\n    for_each: nobody\n",
    );
    assert_eq!(
        e,
        [
            "my.yaml:4: steps[0].instructions: a manual step says what to do",
            "my.yaml:8: steps[1].for_each: no input named `nobody`",
        ]
    );

    let e = errors("name: x\ntitle: X\ninputs:\n  - name: i\n    kind: vm\nsteps: []\n");
    assert!(
        e[0].starts_with("my.yaml:5: inputs[0].kind: unknown kind `vm`"),
        "{e:?}"
    );

    let e = errors(
        "name: x\ntitle: X\nsteps:\n  - id: a\n    action: manual\n    instructions: do it\n    colour: red\n",
    );
    assert!(
        e[0].starts_with("my.yaml:") && e[0].contains("colour"),
        "{e:?}"
    );
}

fn alert(principal: &str, key: Option<&str>, account: &str) -> AlertRecord {
    serde_json::from_value(json!({
        "key": "r|e", "rule_id": "r", "rule_title": "t", "severity": "high", "kind": "rule", "event_key": "e",
        "source": "cloudtrail", "principal": principal, "access_key_id": key, "account": account, "region": "eu-west-1",
        "location": "f:1", "tactics": [], "techniques": [], "domain": "service", "entities": [],
    }))
    .unwrap()
}

fn ct(
    source: &str,
    name: &str,
    arn: &str,
    req: serde_json::Value,
    resp: serde_json::Value,
) -> serde_json::Value {
    json!({"eventSource": source, "eventName": name, "awsRegion": "eu-west-1", "recipientAccountId": "111122223333",
           "userIdentity": {"type": "IAMUser", "arn": arn, "accessKeyId": "AKIAQXAMPLELEAKED001"},
           "requestParameters": req, "responseElements": resp})
}

#[test]
fn a_case_binds_its_actors_and_the_resources_they_touched() {
    let user = "arn:aws:iam::111122223333:user/ci-deployer";
    let records = vec![
        ct(
            "iam.amazonaws.com",
            "CreateAccessKey",
            user,
            json!({"userName": "svc-backup"}),
            json!({"accessKey": {"accessKeyId": "AKIAQXAMPLEBACKDOOR1", "userName": "svc-backup"}}),
        ),
        ct(
            "ec2.amazonaws.com",
            "RunInstances",
            user,
            json!({"instancesSet": {"items": [{"imageId": "ami-0abc"}]}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-0123456789abcdef0"}]}}),
        ),
        ct(
            "ec2.amazonaws.com",
            "ModifySnapshotAttribute",
            user,
            json!({"snapshotId": "snap-1"}),
            json!(null),
        ),
        ct(
            "lambda.amazonaws.com",
            "AddPermission20150331v2",
            user,
            json!({"functionName": "arn:aws:lambda:eu-west-1:111122223333:function:resize:prod"}),
            json!(null),
        ),
        ct(
            "cloudtrail.amazonaws.com",
            "StopLogging",
            user,
            json!({"name": "arn:aws:cloudtrail:us-east-2:111122223333:trail/org"}),
            json!(null),
        ),
        ct(
            "guardduty.amazonaws.com",
            "DeleteDetector",
            user,
            json!({"detectorId": "d"}),
            json!(null),
        ),
        ct(
            "s3.amazonaws.com",
            "PutBucketPolicy",
            user,
            json!({"bucketName": "exposed"}),
            json!(null),
        ),
        ct(
            "sts.amazonaws.com",
            "GetCallerIdentity",
            "arn:aws:sts::111122223333:assumed-role/FirebreakResponder/firebreak-respond",
            json!({}),
            json!(null),
        ),
    ];
    let alerts = vec![alert(user, Some("AKIAQXAMPLELEAKED001"), "111122223333")];
    let b = playbook::bind(
        &alerts,
        &records,
        &Exclusions {
            responder_role: Some("FirebreakResponder".into()),
        },
    );
    let got: Vec<String> = b.targets.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        got,
        [
            "access_key:AKIAQXAMPLEBACKDOOR1 (of svc-backup) in 111122223333",
            "access_key:AKIAQXAMPLELEAKED001 (of ci-deployer) in 111122223333",
            "user:ci-deployer in 111122223333",
            "user:svc-backup in 111122223333",
            "instance:i-0123456789abcdef0 in 111122223333/eu-west-1",
            "bucket:exposed in 111122223333/eu-west-1",
            "snapshot:snap-1 in 111122223333/eu-west-1",
            "function:resize in 111122223333/eu-west-1",
            "trail:org in 111122223333/us-east-2",
            "region:eu-west-1 in 111122223333/eu-west-1",
            "account:111122223333 in 111122223333",
        ]
    );
}

fn bindings() -> Bindings {
    let mut key = Target::new(
        TargetKind::AccessKey,
        "AKIAQXAMPLELEAKED001",
        model::AccountId::parse("111122223333").unwrap(),
        "us-east-1",
    );
    key.parent = Some("ci-deployer".into());
    Bindings {
        targets: [
            key,
            Target::new(
                TargetKind::User,
                "ci-deployer",
                model::AccountId::parse("111122223333").unwrap(),
                "us-east-1",
            ),
            Target::new(
                TargetKind::User,
                "svc-backup",
                model::AccountId::parse("111122223333").unwrap(),
                "us-east-1",
            ),
            Target::new(
                TargetKind::Account,
                "111122223333",
                model::AccountId::parse("111122223333").unwrap(),
                "us-east-1",
            ),
        ]
        .into(),
    }
}

fn book(name: &str) -> playbook::Playbook {
    playbook::bundled()
        .into_iter()
        .find(|b| b.name == name)
        .unwrap()
}

#[test]
fn plans_bind_steps_to_resources_and_leave_what_was_asked() {
    let req = Request {
        exclude: vec!["user:svc-backup".into()],
        ..Default::default()
    };
    let p = playbook::plan(
        &book("iam-user-access-key-compromise"),
        case::CaseId(4),
        Severity::High,
        None,
        &bindings(),
        &Settings::default(),
        ApprovalRule::without_plan(),
        &req,
    )
    .unwrap();
    let keys: Vec<&str> = p.steps.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "capture-credential-report@111122223333",
            "deactivate-keys@AKIAQXAMPLELEAKED001",
            "revoke-sessions@ci-deployer",
            "deny-all@ci-deployer",
            "delete-login-profile@ci-deployer",
            "review-and-rotate@111122223333",
        ]
    );
    assert_eq!(p.left.len(), 3, "{:#?}", p.left);
    assert_eq!(
        p.steps[1].call_templates(&p),
        [
            "iam:UpdateAccessKey UserName=ci-deployer AccessKeyId=AKIAQXAMPLELEAKED001 Status=Inactive"
        ]
    );

    // Required input missing.
    let none = Bindings {
        targets: bindings()
            .targets
            .into_iter()
            .filter(|t| t.kind == TargetKind::Account)
            .collect(),
    };
    let e = playbook::plan(
        &book("iam-user-access-key-compromise"),
        case::CaseId(4),
        Severity::High,
        None,
        &none,
        &Settings::default(),
        ApprovalRule::without_plan(),
        &Request::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "playbook iam-user-access-key-compromise: input `keys` (access_key) is required, but case 4 names no access_key"
    );
    // Optional steps only when asked for; unknown ones are an error.
    let req = Request {
        include: vec!["deny-all".into()],
        ..Default::default()
    };
    let roles = Bindings {
        targets: [
            Target::new(
                TargetKind::Role,
                "app",
                model::AccountId::parse("111122223333").unwrap(),
                "us-east-1",
            ),
            Target::new(
                TargetKind::Account,
                "111122223333",
                model::AccountId::parse("111122223333").unwrap(),
                "us-east-1",
            ),
        ]
        .into(),
    };
    let p = playbook::plan(
        &book("role-credentials-compromise"),
        case::CaseId(4),
        Severity::High,
        None,
        &roles,
        &Settings::default(),
        ApprovalRule::without_plan(),
        &req,
    )
    .unwrap();
    assert!(p.steps.iter().any(|s| s.spec == "deny-all"));
    assert!(
        p.left
            .iter()
            .any(|l| l.spec == "remove-instance-profile" && l.reason.starts_with("optional"))
    );
    let req = Request {
        include: vec!["nope".into()],
        ..Default::default()
    };
    assert!(
        playbook::plan(
            &book("role-credentials-compromise"),
            case::CaseId(4),
            Severity::High,
            None,
            &roles,
            &Settings::default(),
            ApprovalRule::without_plan(),
            &req
        )
        .is_err()
    );
}

/// The example IR plan with alice's, bob's and carmen's placeholder keys replaced by keys
/// whose seeds the test holds (seed bytes 0x01, 0x02, 0x03).
fn keyed_plan() -> (
    plan::IrPlan,
    signing::Sha256Digest,
    Vec<signing::SigningKey>,
) {
    let mut text = plan::EXAMPLE.to_string();
    let mut keys = Vec::new();
    for (i, who) in ["alice", "bob", "carmen"].into_iter().enumerate() {
        let k = signing::signing_key(&format!("{:02x}", i + 1).repeat(32)).unwrap();
        let at = text.find(&format!("id = \"{who}\"")).unwrap();
        let line = at + text[at..].find("approval_keys = [\"").unwrap() + 18;
        text.replace_range(line..line + 64, &signing::public_hex(&k));
        keys.push(k);
    }
    let ir = plan::parse(&text, "ir-plan.toml", plan::Format::Toml).unwrap();
    (ir, signing::Sha256Digest::of(text.as_bytes()), keys)
}

fn sev1_plan(
    ir: &plan::IrPlan,
    digest: &signing::Sha256Digest,
    author: &str,
) -> playbook::ResponsePlan {
    playbook::plan(
        &book("iam-user-access-key-compromise"),
        case::CaseId(4),
        Severity::Critical,
        Some("sev1"),
        &bindings(),
        &Settings::default(),
        ApprovalRule::from_plan(ir, digest, Some("sev1")),
        &Request {
            created_by: author.into(),
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn approval_follows_the_rule_pinned_in_the_plan() {
    let (ir, digest, keys) = keyed_plan();
    let p = sev1_plan(&ir, &digest, "tester");
    let rule = &p.approval;
    assert_eq!(rule.roles, ["incident-commander", "responder"]);
    assert_eq!((rule.count, rule.signed, rule.two_person), (2, true, true));
    assert_eq!(rule.level.as_deref(), Some("sev1"));
    assert_eq!(rule.ir_plan.as_ref(), Some(&digest));
    assert_eq!(
        rule.approvers["alice"].keys,
        [signing::public_hex(&keys[0])]
    );
    let [alice_key, bob_key, carmen_key] = [&keys[0], &keys[1], &keys[2]];
    let signed = |who: &str, k: &signing::SigningKey| Approval::new(&p, who, 1, Some(k));

    // Not a member of an approving role: dana has no key pinned at all.
    let dana_key = signing::signing_key(&"04".repeat(32)).unwrap();
    assert!(matches!(
        admit(&p, &[], &signed("dana", &dana_key)),
        Err(ApprovalError::UnknownKey { .. })
    ));
    // Unsigned approvals are refused when the rule says signed.
    assert!(matches!(
        admit(&p, &[], &Approval::new(&p, "alice", 1, None)),
        Err(ApprovalError::Unsigned(_))
    ));
    // Someone else's key does not make them alice.
    assert!(matches!(
        admit(&p, &[], &signed("alice", bob_key)),
        Err(ApprovalError::NotTheirKey { .. })
    ));
    // A forged signature.
    let mut forged = signed("alice", alice_key);
    forged.signature = Some(signing::sign_hex(alice_key, b"something else"));
    assert!(matches!(
        admit(&p, &[], &forged),
        Err(ApprovalError::BadSignature)
    ));

    let alice = signed("alice", alice_key);
    assert_eq!(admit(&p, &[], &alice).unwrap(), "alice");
    assert!(matches!(
        admit(&p, std::slice::from_ref(&alice), &alice),
        Err(ApprovalError::Twice(_))
    ));
    // Two approvals by one key count as one.
    let pending = playbook::approve(p.clone(), &[alice.clone(), alice.clone()]).unwrap_err();
    assert_eq!(
        pending.missing,
        ["1 of 2 approvals from members of incident-commander or responder (have 1)"]
    );
    assert_eq!(pending.ignored.len(), 1, "{pending:?}");
    // Approvals that do not verify count as none.
    let pending = playbook::approve(p.clone(), &[alice.clone(), forged.clone()]).unwrap_err();
    assert!(
        pending.ignored[0].contains("does not verify"),
        "{pending:?}"
    );
    let bob = signed("bob", bob_key);
    let ok = playbook::approve(p.clone(), &[alice.clone(), bob.clone()]).unwrap();
    assert_eq!(ok.approvals().len(), 2);
    // A changed plan is a different plan: approvals of the old digest do not carry over.
    let mut changed = p.clone();
    changed.steps.pop();
    assert!(playbook::approve(changed.clone(), &[alice.clone(), bob.clone()]).is_err());
    assert!(matches!(
        admit(&changed, &[], &alice),
        Err(ApprovalError::WrongPlan { .. })
    ));
    // Weakening the pinned rule changes the digest, so the approvals no longer match it.
    let mut weaker = p.clone();
    weaker.approval.count = 1;
    assert!(playbook::approve(weaker, std::slice::from_ref(&alice)).is_err());

    // The two-person rule: the plan's author cannot approve it.
    let by_carmen = sev1_plan(&ir, &digest, "carmen");
    let own = Approval::new(&by_carmen, "carmen", 1, Some(carmen_key));
    assert!(matches!(
        admit(&by_carmen, &[], &own),
        Err(ApprovalError::OwnPlan(_))
    ));

    // Without an approval section, the roles responsible or accountable for containment.
    assert_eq!(
        ApprovalRule::from_plan(&ir, &digest, Some("sev4")).roles,
        ["incident-commander", "responder"]
    );
    assert!(ApprovalRule::from_plan(&ir, &digest, Some("sev4")).signed);
}

#[test]
fn unsigned_approvals_only_where_the_plan_says_so_and_then_said_everywhere() {
    let text = plan::EXAMPLE.replace(
        "count = 2, two_person = true }",
        "count = 2, two_person = true, signed = false }",
    );
    let ir = plan::parse(&text, "ir-plan.toml", plan::Format::Toml).unwrap();
    let p = sev1_plan(&ir, &signing::Sha256Digest::of(b"d"), "tester");
    assert!(!p.approval.signed);
    assert!(
        p.approval.describe().contains("UNSIGNED APPROVALS"),
        "{}",
        p.approval.describe()
    );
    let a = Approval::new(&p, "alice", 1, None);
    let b = Approval::new(&p, "bob", 1, None);
    assert!(playbook::approve(p.clone(), &[a.clone(), b]).is_ok());
    // Still distinct people and approving roles.
    assert!(playbook::approve(p.clone(), &[a.clone(), a]).is_err());
    assert!(matches!(
        admit(&p, &[], &Approval::new(&p, "dana", 1, None)),
        Err(ApprovalError::NotAllowed { .. })
    ));
    // Without any IR plan: one unsigned approval by anyone, and it says so.
    let rule = ApprovalRule::without_plan();
    assert!(
        rule.describe().contains("UNSIGNED APPROVALS") && rule.describe().contains("no IR plan")
    );
}

#[test]
fn an_incomplete_plan_cannot_be_approved() {
    let (ir, digest, keys) = keyed_plan();
    let mut p = sev1_plan(&ir, &digest, "tester");
    p.incomplete = vec!["deactivate-keys@AKIA…: iam:ListAccessKeys: AccessDenied".into()];
    let a = Approval::new(&p, "alice", 1, Some(&keys[0]));
    let b = Approval::new(&p, "bob", 1, Some(&keys[1]));
    assert!(matches!(
        admit(&p, &[], &a),
        Err(ApprovalError::Incomplete(_))
    ));
    let pending = playbook::approve(p, &[a, b]).unwrap_err();
    assert!(pending.missing[0].contains("incomplete"), "{pending:?}");
}

#[test]
fn evidence_only_plans_may_be_preapproved_by_the_level() {
    let text = plan::EXAMPLE.replace(
        "count = 2, two_person = true }",
        "count = 2, two_person = true, preapprove_evidence = true }",
    );
    let ir = plan::parse(&text, "ir-plan.toml", plan::Format::Toml).unwrap();
    let full = sev1_plan(&ir, &signing::Sha256Digest::of(b"d"), "tester");
    // A plan with disruptive steps is not pre-approvable.
    assert!(matches!(
        admit(&full, &[], &Approval::preapproved(&full, 1)),
        Err(ApprovalError::NotPreapprovable)
    ));
    let mut evidence = full.clone();
    evidence
        .steps
        .retain(|s| s.action.class() == playbook::Class::Evidence);
    assert!(!evidence.steps.is_empty());
    let pre = Approval::preapproved(&evidence, 1);
    admit(&evidence, &[], &pre).unwrap();
    assert!(playbook::approve(evidence.clone(), &[pre]).is_ok());
    // A level that does not pre-approve: the same evidence-only plan needs its approvers.
    let (ir, digest, _) = keyed_plan();
    let mut strict = sev1_plan(&ir, &digest, "tester");
    strict
        .steps
        .retain(|s| s.action.class() == playbook::Class::Evidence);
    assert!(playbook::approve(strict.clone(), &[Approval::preapproved(&strict, 1)]).is_err());
}

#[test]
fn the_responder_policy_grants_exactly_what_the_playbooks_use() {
    let books = playbook::bundled();
    let policy = playbook::iam::responder_policy(&books);
    let actions: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
        })
        .collect();
    for needed in [
        "iam:UpdateAccessKey",
        "ec2:ModifyNetworkInterfaceAttribute",
        "ec2:CreateSnapshots",
        "s3:PutBucketPolicy",
        "lambda:PutFunctionConcurrency",
        "organizations:AttachPolicy",
        "cloudtrail:StartLogging",
        "guardduty:UpdateDetector",
        "autoscaling:DetachInstances",
        "elasticloadbalancing:DeregisterTargets",
    ] {
        assert!(actions.contains(&needed), "{needed}");
    }
    assert!(
        actions.iter().all(|a| !a.contains('*')),
        "no wildcard actions"
    );
    assert!(
        !actions.contains(&"iam:DeleteAccessKey"),
        "keys are deactivated, never deleted"
    );
    assert!(
        !actions.contains(&"ec2:TerminateInstances") && !actions.contains(&"ec2:DeleteSnapshot"),
        "evidence is never destroyed"
    );
    let used: std::collections::BTreeSet<Action> = books
        .iter()
        .flat_map(|b| b.steps.iter().map(|s| s.action))
        .collect();
    for a in used {
        for p in a.permissions() {
            assert!(actions.contains(p), "{a}: {p}");
        }
    }
}

#[test]
fn severity_preconditions_leave_steps_out_of_milder_cases() {
    let yaml = "name: x\ntitle: X\ninputs:\n  - name: u\n    kind: user\nsteps:\n  - id: deny\n    action: iam.deny-all-user\n    for_each: u\n    preconditions: { severity_at_least: critical, not_tagged: team=security }\n  - id: tell\n    action: manual\n    instructions: call the owner\n";
    let b = playbook::parse(yaml, "x.yaml").unwrap();
    let high = playbook::plan(
        &b,
        case::CaseId(1),
        Severity::High,
        None,
        &bindings(),
        &Settings::default(),
        ApprovalRule::without_plan(),
        &Request::default(),
    )
    .unwrap_err();
    assert!(
        high.to_string().contains("every step was left out"),
        "{high}"
    );
    let crit = playbook::plan(
        &b,
        case::CaseId(1),
        Severity::Critical,
        None,
        &bindings(),
        &Settings::default(),
        ApprovalRule::without_plan(),
        &Request::default(),
    )
    .unwrap();
    assert_eq!(crit.steps.len(), 3);
    let tags = vec![("team".to_string(), "security".to_string())];
    assert_eq!(
        crit.steps[0].preconditions.unmet(&tags).as_deref(),
        Some("precondition: the resource is tagged team=security")
    );
    assert_eq!(crit.steps[0].preconditions.unmet(&[]), None);
}

/// Approvals given on the team server by signed-in people count where approvals must be
/// signed only when the server attests them with a key the IR plan lists; the attestation
/// binds the plan, the person and how they signed in.
#[test]
fn signed_in_approvals_count_only_when_a_trusted_server_attests_them() {
    let (ir, digest, _) = keyed_plan();
    let server = signing::signing_key(&"0a".repeat(32)).unwrap();
    let stranger = signing::signing_key(&"0b".repeat(32)).unwrap();
    // Without team_server.attestation_keys, nothing a server says counts.
    let p = sev1_plan(&ir, &digest, "carmen");
    let alice = Approval::signed_in(&p, "alice", "password+totp", 1, Some(&server));
    assert!(matches!(
        admit(&p, &[], &alice),
        Err(ApprovalError::UnknownAttester { .. })
    ));
    assert!(matches!(
        admit(
            &p,
            &[],
            &Approval::signed_in(&p, "alice", "password", 1, None)
        ),
        Err(ApprovalError::Unattested(_))
    ));
    // The plan trusts the server's key.
    let mut trusting = ir.clone();
    trusting.team_server = Some(plan::model::TeamServer {
        attestation_keys: vec![plan::Located::new(signing::public_hex(&server))],
    });
    let p = sev1_plan(&trusting, &digest, "carmen");
    assert_eq!(p.approval.attesters, [signing::public_hex(&server)]);
    let alice = Approval::signed_in(&p, "alice", "password+totp", 1, Some(&server));
    assert_eq!(admit(&p, &[], &alice).unwrap(), "alice");
    // Another server's key, a changed person or sign-in method, the author: refused.
    let other = Approval::signed_in(&p, "alice", "password", 1, Some(&stranger));
    assert!(matches!(
        admit(&p, &[], &other),
        Err(ApprovalError::UnknownAttester { .. })
    ));
    let mut as_bob = alice.clone();
    as_bob.by = "bob".into();
    assert!(matches!(
        admit(&p, &[], &as_bob),
        Err(ApprovalError::BadSignature)
    ));
    let mut weaker = alice.clone();
    weaker.signed_in_by = Some("password".into());
    assert!(matches!(
        admit(&p, &[], &weaker),
        Err(ApprovalError::BadSignature)
    ));
    let own = Approval::signed_in(&p, "carmen", "password", 1, Some(&server));
    assert!(matches!(
        admit(&p, &[], &own),
        Err(ApprovalError::OwnPlan(_))
    ));
    // Two distinct signed-in people satisfy the two-person sev1 rule.
    let bob = Approval::signed_in(&p, "bob", "oidc", 2, Some(&server));
    assert!(playbook::approve(p.clone(), std::slice::from_ref(&alice)).is_err());
    let ok = playbook::approve(p, &[alice, bob]).unwrap();
    assert_eq!(ok.approvals().len(), 2);
}

/// A game day's plan runs on its own exercise approval and nothing else; an exercise
/// approval counts for no real plan, for no other game day, and for no step outside the
/// exercise's accounts.
#[test]
fn exercise_approvals_count_only_for_their_own_game_day_in_its_accounts() {
    let (ir, digest, keys) = keyed_plan();
    let exercise_plan = |accounts: &[&str]| {
        playbook::plan(
            &book("iam-user-access-key-compromise"),
            case::CaseId(4),
            Severity::Critical,
            Some("sev1"),
            &bindings(),
            &Settings::default(),
            ApprovalRule::exercise(
                "gd1",
                accounts
                    .iter()
                    .map(|a| model::AccountId::parse(a).unwrap())
                    .collect(),
                Some(digest.clone()),
            ),
            &Request {
                created_by: "gameday:gd1".into(),
                ..Default::default()
            },
        )
        .unwrap()
    };
    let p = exercise_plan(&["111122223333"]);
    let ok = Approval::exercise(&p, "gd1", 1);
    assert_eq!(admit(&p, &[], &ok).unwrap(), "gameday:gd1");
    let approved = playbook::approve(p.clone(), std::slice::from_ref(&ok)).unwrap();
    assert_eq!(
        approved.approvals()[0].kind,
        playbook::ApprovalKind::Exercise
    );
    // Another game day's approval, or a person's (even signed by a key the IR plan lists).
    assert!(matches!(
        admit(&p, &[], &Approval::exercise(&p, "gd2", 1)),
        Err(ApprovalError::NotThisExercise(_))
    ));
    let alice = Approval::new(&p, "alice", 1, Some(&keys[0]));
    assert!(matches!(
        admit(&p, &[], &alice),
        Err(ApprovalError::ExercisePlan(_))
    ));
    assert!(playbook::approve(p, &[alice]).is_err());
    // A step outside the exercise accounts.
    let outside = exercise_plan(&["444455556666"]);
    assert!(matches!(
        admit(&outside, &[], &Approval::exercise(&outside, "gd1", 1)),
        Err(ApprovalError::OutsideExercise { .. })
    ));
    assert!(playbook::approve(outside.clone(), &[Approval::exercise(&outside, "gd1", 1)]).is_err());
    // An exercise approval on a real plan.
    let real = sev1_plan(&ir, &digest, "tester");
    assert!(matches!(
        admit(&real, &[], &Approval::exercise(&real, "gd1", 1)),
        Err(ApprovalError::ExerciseApproval(_))
    ));
    assert!(playbook::approve(real.clone(), &[Approval::exercise(&real, "gd1", 1)]).is_err());
}
