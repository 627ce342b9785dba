//! Response actions and playbooks against moto: each action in an account of its own,
//! run from an approved plan, its effect proven through Describe/Get calls, then rolled
//! back and the before-state proven again; every bundled playbook run and rolled back
//! whole; dry-runs make no mutating call; failures (AccessDenied halfway, throttling)
//! through aws-smithy-mocks.
//!
//! moto gaps, not asserted against moto: S3 `GetBucketVersioning` (wrong XML root in
//! 5.2.5) and GuardDuty detectors are answered by aws-smithy-mocks; IAM policy conditions
//! (`aws:TokenIssueTime`, `aws:PrincipalArn`) are not evaluated by moto, so the tests
//! prove the policies are in place, not that moto enforces them; an inactive key still
//! authenticates in moto; Lambda concurrency 0 is stored but not enforced; moto ignores
//! changes of InstanceInitiatedShutdownBehavior (always `stop`), the
//! CreateVolumePermission structure of ModifySnapshotAttribute (the action uses the
//! OperationType/UserIds/GroupNames form, which AWS also takes), and a login profile's
//! PasswordResetRequired.

mod moto;

use aws::Connection;
use aws::respond::{self, MemoryJournal, Report, StepStatus};
use aws_smithy_mocks::mock;
use moto::{config, inside, mocked};
use playbook::approve::ApprovalRule;
use playbook::{
    Action, Approval, ApprovedPlan, OnFailure, ResponsePlan, Settings, Step, Target, TargetKind,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const NOW: i64 = 1_790_000_000_000;
const REGION: &str = "us-east-1";
const AMI: &str = "ami-12c6146b";

/// The base connection (acting as the test caller) and one inside `account`.
struct Env {
    base: Connection,
    acct: Connection,
    account: String,
}

async fn env(account: &str) -> Option<Env> {
    let endpoint = moto::endpoint()?;
    let base = Connection::new(config(&endpoint), true);
    let acct = inside(&base, account).await;
    Some(Env {
        base,
        acct,
        account: account.to_string(),
    })
}

fn target(kind: TargetKind, id: &str, account: &str) -> Target {
    Target::new(kind, id, model::AccountId::parse(account).unwrap(), REGION)
}

fn step(action: Action, t: Target, params: Value) -> Step {
    Step {
        key: format!("{}@{}", action.name(), t.id),
        spec: action.name().to_string(),
        title: action.description().to_string(),
        action,
        params: params
            .as_object()
            .map(|m| m.clone().into_iter().collect())
            .unwrap_or_default(),
        target: t,
        on_failure: OnFailure::Stop,
        approval_roles: Vec::new(),
        override_protected: false,
        instructions: None,
        preconditions: Default::default(),
    }
}

fn settings() -> Settings {
    Settings {
        responder_role: Some("FirebreakResponder".into()),
        external_id: None,
        isolation_group: "firebreak-isolation".into(),
        management_account: None,
        evidence_bucket: None,
        forensic_account: None,
        kms_key: None,
    }
}

fn plan_of(steps: Vec<Step>) -> ResponsePlan {
    ResponsePlan {
        case_id: case::CaseId(7),
        playbook: "test".into(),
        playbook_title: "test".into(),
        severity: model::Severity::High,
        level: None,
        created_by: "tester".into(),
        created_ms: NOW,
        settings: settings(),
        protected_tag: "firebreak:protected=true".into(),
        steps,
        left: Vec::new(),
        approval: ApprovalRule::without_plan(),
        incomplete: Vec::new(),
    }
}

fn approved(plan: ResponsePlan) -> ApprovedPlan {
    let a = Approval::new(&plan, "tester", NOW, None);
    playbook::approve(plan, &[a]).unwrap()
}

/// An approved plan and its journal.
struct Trial {
    conn: Connection,
    plan: ApprovedPlan,
    journal: MemoryJournal,
}

impl Trial {
    fn new(conn: &Connection, plan: ResponsePlan) -> Trial {
        Trial {
            conn: conn.clone(),
            plan: approved(plan),
            journal: MemoryJournal::default(),
        }
    }

    /// Runs; every step must end done (or as a task). Then proves the run cannot repeat a
    /// change: a new plan of the same steps over the now-contained resources sends no
    /// mutating call. A plan of one step is first stopped right after its last mutating call
    /// landed and before its outcome was journaled (as a kill there would), and its resume
    /// must send no mutating call either, and settle the cut-off call as reconciled.
    async fn run(&mut self) -> Report {
        let single = self
            .plan
            .plan()
            .steps
            .iter()
            .filter(|s| s.action != Action::Manual)
            .count()
            == 1;
        let r = if single {
            self.killed_after_last_call_then_resumed().await
        } else {
            self.dry_calls().await;
            respond::run(&self.conn, &self.plan, &mut self.journal, NOW)
                .await
                .unwrap()
        };
        assert!(r.ok(), "{r:#?}");
        for s in &r.steps {
            assert!(
                matches!(s.status, StepStatus::Done | StepStatus::Task),
                "{s:#?}"
            );
        }
        self.a_new_plan_sends_nothing().await;
        r
    }

    /// The plan's mutating calls, as the dry-run works them out now; the dry-run itself
    /// sends only reads (and AssumeRole), as the SDK recorder saw them.
    async fn dry_calls(&self) -> usize {
        let recorder = aws::Recorder::default();
        let mut conn = self.conn.clone();
        conn.recorder = Some(recorder.clone());
        let n = respond::dry_run(&conn, self.plan.plan(), NOW)
            .await
            .iter()
            .map(|d| {
                assert!(d.error.is_none(), "{d:#?}");
                d.calls.len()
            })
            .sum();
        let sent = recorder.take();
        let changing: Vec<&aws::ApiCall> = sent.iter().filter(|c| !c.changes_nothing()).collect();
        assert!(changing.is_empty(), "the dry-run sent {changing:#?}");
        n
    }

    async fn killed_after_last_call_then_resumed(&mut self) -> Report {
        let n = self.dry_calls().await;
        if n == 0 {
            return respond::run(&self.conn, &self.plan, &mut self.journal, NOW)
                .await
                .unwrap();
        }
        self.journal.stop_before_settling = Some(self.journal.intents.len() + n);
        let cut = respond::run(&self.conn, &self.plan, &mut self.journal, NOW).await;
        assert!(cut.is_err(), "the run must stop at call {n}: {cut:#?}");
        let step = &self
            .plan
            .plan()
            .steps
            .iter()
            .find(|s| s.action != Action::Manual)
            .unwrap()
            .key;
        assert_eq!(self.journal.receipts[step].status, StepStatus::Started);
        assert_eq!(
            self.journal
                .intents
                .iter()
                .filter(|i| i.2.is_none())
                .count(),
            1,
            "the cut-off call is journaled as intended, without outcome"
        );
        self.journal.calls.clear();
        let r = respond::run(&self.conn, &self.plan, &mut self.journal, NOW)
            .await
            .unwrap();
        let sent: Vec<&str> = self
            .journal
            .calls
            .iter()
            .filter(|(_, _, c)| !c.changes_nothing())
            .map(|(_, _, c)| c.operation.as_str())
            .collect();
        let action = self
            .plan
            .plan()
            .steps
            .iter()
            .find(|s| s.action != Action::Manual)
            .unwrap()
            .action;
        if !recaptures(action) {
            assert!(sent.is_empty(), "the resume of {action} sent {sent:?}");
        }
        assert!(
            self.journal.intents.iter().all(|i| i.2.is_some()),
            "every intended call is settled after the resume: {:#?}",
            self.journal.intents
        );
        assert!(
            self.journal
                .intents
                .iter()
                .any(|i| matches!(i.2, Some(respond::CallOutcome::Reconciled(_)))),
            "the cut-off call is reconciled"
        );
        r
    }

    /// A second plan of the same steps (a new digest, a fresh journal) sends no mutating
    /// call: every effect already holds.
    async fn a_new_plan_sends_nothing(&self) {
        let mut again = self.plan.plan().clone();
        again.created_ms += 1;
        let approvals: Vec<Approval> = self
            .plan
            .approvals()
            .iter()
            .map(|a| Approval::new(&again, &a.by, NOW, None))
            .collect();
        let approved = playbook::approve(again, &approvals).unwrap();
        let mut journal = MemoryJournal::default();
        let r = respond::run(&self.conn, &approved, &mut journal, NOW + 1)
            .await
            .unwrap();
        let sent: Vec<String> = journal
            .calls
            .iter()
            .filter(|(k, _, c)| {
                !c.changes_nothing() && !recaptures(approved.plan().step(k).unwrap().action)
            })
            .map(|(k, _, c)| format!("{k}: {}", c.operation))
            .collect();
        assert!(sent.is_empty(), "a repeat sent {sent:?}: {r:#?}");
        assert!(r.ok(), "{r:#?}");
    }

    /// Rolls back; every reversible step must be back to its before-state.
    async fn rollback(&mut self) -> Report {
        let r = respond::rollback(&self.conn, &self.plan, &mut self.journal, None)
            .await
            .unwrap();
        for s in &r.steps {
            if s.action.reversible() {
                assert_eq!(s.status, StepStatus::RolledBack, "{s:#?}");
            } else {
                assert!(
                    s.detail
                        .as_deref()
                        .is_some_and(|d| d.starts_with("not rolled back")),
                    "{s:#?}"
                );
            }
        }
        r
    }

    fn receipt(&self, key: &str) -> &respond::Receipt {
        &self.journal.receipts[key]
    }
}

/// Evidence captures whose output is the point (metadata, memory, the credential report):
/// a repeat or a resume after their output was lost captures again. They change nothing in
/// the resource.
fn recaptures(a: Action) -> bool {
    matches!(
        a,
        Action::CaptureMetadata | Action::CaptureMemory | Action::CaptureCredentialReport
    )
}

// --- fixtures ----------------------------------------------------------------------------

async fn launch(acct: &Connection) -> String {
    let out = acct
        .ec2(REGION)
        .run_instances()
        .image_id(AMI)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    out.instances()[0].instance_id().unwrap().to_string()
}

async fn describe(acct: &Connection, id: &str) -> aws_sdk_ec2::types::Instance {
    let out = acct
        .ec2(REGION)
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .unwrap();
    out.reservations()[0].instances()[0].clone()
}

/// Role `role` (see [`role`]) in instance profile `profile`, associated with the instance;
/// returns the profile's ARN.
async fn attach_profile(e: &Env, instance: &str, role_name: &str, profile: &str) -> String {
    role(&e.acct, role_name, &e.account).await;
    let iam = e.acct.iam(REGION);
    let out = iam
        .create_instance_profile()
        .instance_profile_name(profile)
        .send()
        .await
        .unwrap();
    let arn = out.instance_profile().unwrap().arn().to_string();
    iam.add_role_to_instance_profile()
        .instance_profile_name(profile)
        .role_name(role_name)
        .send()
        .await
        .unwrap();
    e.acct
        .ec2(REGION)
        .associate_iam_instance_profile()
        .instance_id(instance)
        .iam_instance_profile(
            aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
                .arn(&arn)
                .build(),
        )
        .send()
        .await
        .unwrap();
    arn
}

/// A snapshot of the instance's root volume.
async fn snapshot_of(acct: &Connection, id: &str) -> String {
    let volume = describe(acct, id).await.block_device_mappings()[0]
        .ebs()
        .unwrap()
        .volume_id()
        .unwrap()
        .to_string();
    let out = acct
        .ec2(REGION)
        .create_snapshot()
        .volume_id(&volume)
        .send()
        .await
        .unwrap();
    out.snapshot_id().unwrap().to_string()
}

async fn eni_groups(acct: &Connection, id: &str) -> Vec<String> {
    let i = describe(acct, id).await;
    let mut g: Vec<String> = i.network_interfaces()[0]
        .groups()
        .iter()
        .map(|g| g.group_id().unwrap().to_string())
        .collect();
    g.sort();
    g
}

async fn user_with_key(acct: &Connection, user: &str) -> String {
    let iam = acct.iam(REGION);
    iam.create_user().user_name(user).send().await.unwrap();
    iam.create_login_profile()
        .user_name(user)
        .password("Correct-Horse-9")
        .send()
        .await
        .unwrap();
    let k = iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .unwrap();
    k.access_key().unwrap().access_key_id().to_string()
}

async fn key_status(acct: &Connection, user: &str, key: &str) -> String {
    let out = acct
        .iam(REGION)
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .unwrap();
    out.access_key_metadata()
        .iter()
        .find(|k| k.access_key_id() == Some(key))
        .unwrap()
        .status()
        .unwrap()
        .as_str()
        .to_string()
}

async fn user_policies(acct: &Connection, user: &str) -> Vec<String> {
    acct.iam(REGION)
        .list_user_policies()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .policy_names()
        .to_vec()
}

async fn role_policies(acct: &Connection, role: &str) -> Vec<String> {
    acct.iam(REGION)
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .policy_names()
        .to_vec()
}

const FOREIGN: &str = "999999999999";

async fn role(acct: &Connection, name: &str, account: &str) {
    let trust = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Ec2", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Sid": "Own", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "sts:AssumeRole"},
        {"Sid": "Backdoor", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{FOREIGN}:root")}, "Action": "sts:AssumeRole"}]});
    acct.iam(REGION)
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
}

async fn trust_sids(acct: &Connection, name: &str) -> Vec<String> {
    let out = acct
        .iam(REGION)
        .get_role()
        .role_name(name)
        .send()
        .await
        .unwrap();
    let doc = out.role().unwrap().assume_role_policy_document().unwrap();
    let doc = aws_policy(doc);
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap_or("").to_string())
        .collect()
}

/// IAM returns documents URL-encoded (moto sometimes does not).
fn aws_policy(doc: &str) -> Value {
    respond::policy_json(doc)
}

async fn bucket(acct: &Connection, name: &str) {
    acct.s3(REGION)
        .create_bucket()
        .bucket(name)
        .send()
        .await
        .unwrap();
}

async fn lambda_function(acct: &Connection, account: &str, name: &str) {
    let role = format!("arn:aws:iam::{account}:role/lambda-exec");
    let _ = acct.iam(REGION).create_role().role_name("lambda-exec")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send().await;
    // A minimal zip holding h.py.
    let zip = zip_with("h.py", b"def h(e, c):\n    return 1\n");
    acct.lambda(REGION)
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(role)
        .handler("h.h")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_smithy_types::Blob::new(zip))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let l = acct.lambda(REGION);
    l.add_permission()
        .function_name(name)
        .statement_id("public")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .unwrap();
    l.add_permission()
        .function_name(name)
        .statement_id("other-account")
        .action("lambda:InvokeFunction")
        .principal(FOREIGN)
        .send()
        .await
        .unwrap();
    l.add_permission()
        .function_name(name)
        .statement_id("s3-own")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_account(account)
        .send()
        .await
        .unwrap();
}

/// A stored (uncompressed) zip archive with one file.
fn zip_with(name: &str, data: &[u8]) -> Vec<u8> {
    fn crc32(d: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in d {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0xedb8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let crc = crc32(data);
    let (n, len) = (name.len() as u16, data.len() as u32);
    let mut out = Vec::new();
    out.extend_from_slice(&[0x50, 0x4b, 3, 4, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(data);
    let central = out.len() as u32;
    out.extend_from_slice(&[0x50, 0x4b, 1, 2, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    let size = out.len() as u32 - central;
    out.extend_from_slice(&[0x50, 0x4b, 5, 6, 0, 0, 0, 0, 1, 0, 1, 0]);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&central.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

async fn lambda_sids(acct: &Connection, name: &str) -> Vec<String> {
    let p = acct
        .lambda(REGION)
        .get_policy()
        .function_name(name)
        .send()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(p.policy().unwrap()).unwrap();
    let mut s: Vec<String> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap().to_string())
        .collect();
    s.sort();
    s
}

// --- EC2 ---------------------------------------------------------------------------------

#[tokio::test]
async fn tag_instance() {
    let Some(e) = env("310000000001").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::TagInstance,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    let tags: BTreeMap<String, String> = describe(&e.acct, &id)
        .await
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().into(), t.value().unwrap().into()))
        .collect();
    assert_eq!(tags.get("firebreak:case").map(String::as_str), Some("7"));
    assert_eq!(
        tags.get("firebreak:status").map(String::as_str),
        Some("quarantined")
    );
    t.rollback().await;
    assert!(
        describe(&e.acct, &id)
            .await
            .tags()
            .iter()
            .all(|t| !t.key().unwrap().starts_with("firebreak:"))
    );
}

#[tokio::test]
async fn protect_instance() {
    let Some(e) = env("310000000002").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let ec2 = e.acct.ec2(REGION);
    // moto ignores InstanceInitiatedShutdownBehavior changes (always `stop`), so only
    // termination protection changes observably here.
    let attr = |a| {
        ec2.describe_instance_attribute()
            .instance_id(&id)
            .attribute(a)
            .send()
    };
    use aws_sdk_ec2::types::InstanceAttributeName as N;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::ProtectInstance,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    assert_eq!(
        attr(N::DisableApiTermination)
            .await
            .unwrap()
            .disable_api_termination()
            .unwrap()
            .value(),
        Some(true)
    );
    assert_eq!(
        attr(N::InstanceInitiatedShutdownBehavior)
            .await
            .unwrap()
            .instance_initiated_shutdown_behavior()
            .unwrap()
            .value(),
        Some("stop")
    );
    // Termination protection holds: moto refuses to terminate.
    assert!(
        ec2.terminate_instances()
            .instance_ids(&id)
            .send()
            .await
            .is_err()
    );
    t.rollback().await;
    assert_eq!(
        attr(N::DisableApiTermination)
            .await
            .unwrap()
            .disable_api_termination()
            .unwrap()
            .value(),
        Some(false)
    );
    assert_eq!(
        attr(N::InstanceInitiatedShutdownBehavior)
            .await
            .unwrap()
            .instance_initiated_shutdown_behavior()
            .unwrap()
            .value(),
        Some("stop")
    );
    ec2.terminate_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn capture_metadata() {
    let Some(e) = env("310000000003").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::CaptureMetadata,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    let ev = &t.receipt(&format!("ec2.capture-metadata@{id}")).outputs[0];
    assert_eq!(ev["metadata_sha256"].as_str().unwrap().len(), 64);
    assert!(ev["metadata"].as_str().unwrap().contains(&id));
    assert!(!ev["console_output_base64"].as_str().unwrap().is_empty());
    let rb = t.rollback().await;
    assert!(rb.steps.iter().all(|s| {
        s.detail
            .as_deref()
            .is_some_and(|d| d.contains("not rolled back"))
    }));
}

/// The case's snapshots are copied encrypted and the copies shared with the forensic
/// account, read back; a repeat (or a resume) copies nothing twice.
#[tokio::test]
async fn copy_snapshots_to_forensics() {
    let Some(e) = env("310000000041").await else {
        return;
    };
    const FORENSIC: &str = "999988887777";
    let id = launch(&e.acct).await;
    let mut snap = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::SnapshotVolumes,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        )]),
    );
    snap.run().await;
    let mut plan = plan_of(vec![step(
        Action::CopySnapshotsToForensics,
        target(TargetKind::Instance, &id, &e.account),
        json!({}),
    )]);
    plan.settings.forensic_account = Some(FORENSIC.into());
    let mut t = Trial::new(&e.base, plan);
    t.run().await;
    let ec2 = e.acct.ec2(REGION);
    let copies = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag-key")
                .values("firebreak:copy-of")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        copies.snapshots().len(),
        1,
        "one copy, whatever the repeats: {copies:#?}"
    );
    let copy = copies.snapshots()[0].snapshot_id().unwrap();
    let perms = ec2
        .describe_snapshot_attribute()
        .snapshot_id(copy)
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .unwrap();
    assert_eq!(
        perms.create_volume_permissions()[0].user_id(),
        Some(FORENSIC)
    );
    // Evidence is never undone.
    let rb = t.rollback().await;
    assert!(
        rb.steps[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("never undone"),
        "{rb:#?}"
    );
    // Without a case snapshot there is nothing to copy: the step fails and says why.
    let other = launch(&e.acct).await;
    let mut journal = MemoryJournal::default();
    let r = respond::run(
        &e.base,
        &approved(plan_of(vec![step(
            Action::CopySnapshotsToForensics,
            target(TargetKind::Instance, &other, &e.account),
            json!({}),
        )])),
        &mut journal,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(r.steps[0].status, StepStatus::Failed);
    assert!(
        r.steps[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("snapshot its volumes first"),
        "{r:#?}"
    );
}

#[tokio::test]
async fn snapshot_volumes() {
    let Some(e) = env("310000000040").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::SnapshotVolumes,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    let snaps = e
        .acct
        .ec2(REGION)
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap();
    let volume = describe(&e.acct, &id).await.block_device_mappings()[0]
        .ebs()
        .unwrap()
        .volume_id()
        .unwrap()
        .to_string();
    let case_snaps = snaps.snapshots().iter().filter(|s| {
        s.volume_id() == Some(&volume)
            && s.tags()
                .iter()
                .any(|t| t.key() == Some("firebreak:case") && t.value() == Some("7"))
    });
    assert_eq!(case_snaps.count(), 1);
    // Evidence is never destroyed: a rollback leaves the snapshot.
    let rb = t.rollback().await;
    assert!(rb.steps.iter().all(|s| {
        s.detail
            .as_deref()
            .is_some_and(|d| d.contains("not rolled back"))
    }));
    let after = e
        .acct
        .ec2(REGION)
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap();
    assert_eq!(after.snapshots().len(), snaps.snapshots().len());
    // A second run snapshots nothing twice.
    let mut again = Trial::new(&e.base, t.plan.plan().clone());
    again.run().await;
    assert!(
        again
            .receipt(&format!("ec2.snapshot-volumes@{id}"))
            .calls
            .is_empty()
    );
}

#[tokio::test]
async fn isolate_instance_two_step() {
    let Some(e) = env("310000000004").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let before = eni_groups(&e.acct, &id).await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::IsolateInstance,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    // Every call the step made, from the write-ahead journal (the run was cut off after its
    // last call and resumed).
    let calls: Vec<&String> = t.journal.intents.iter().map(|i| &i.1.call).collect();
    let swaps: Vec<&&String> = calls
        .iter()
        .filter(|c| c.starts_with("ec2:ModifyNetworkInterfaceAttribute"))
        .collect();
    assert_eq!(swaps.len(), 2, "{calls:#?}");
    assert!(
        swaps[0].contains("firebreak-isolation-open")
            && swaps[1].ends_with("Groups=[firebreak-isolation]")
    );
    let vpc = describe(&e.acct, &id).await.vpc_id().unwrap().to_string();
    let groups = e
        .acct
        .ec2(REGION)
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc)
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("firebreak-isolation")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let g = &groups.security_groups()[0];
    assert!(
        g.ip_permissions().is_empty() && g.ip_permissions_egress().is_empty(),
        "the isolation group has no rules"
    );
    assert_eq!(
        eni_groups(&e.acct, &id).await,
        vec![g.group_id().unwrap().to_string()]
    );
    t.rollback().await;
    assert_eq!(eni_groups(&e.acct, &id).await, before);
}

#[tokio::test]
async fn detach_from_autoscaling() {
    web_tier("310000000005", Action::DetachFromAutoScaling).await;
}

#[tokio::test]
async fn deregister_from_target_groups() {
    web_tier("310000000041", Action::DeregisterFromTargetGroups).await;
}

/// An instance in an Auto Scaling group and a target group; `action` takes it out of one.
async fn web_tier(account: &str, action: Action) {
    let Some(e) = env(account).await else {
        return;
    };
    let ec2 = e.acct.ec2(REGION);
    let subnet = ec2.describe_subnets().send().await.unwrap().subnets()[0]
        .subnet_id()
        .unwrap()
        .to_string();
    let vpc = ec2.describe_vpcs().send().await.unwrap().vpcs()[0]
        .vpc_id()
        .unwrap()
        .to_string();
    ec2.create_launch_template()
        .launch_template_name("web-lt")
        .launch_template_data(
            aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                .image_id(AMI)
                .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let asg = e.acct.autoscaling(REGION);
    asg.create_auto_scaling_group()
        .auto_scaling_group_name("web")
        .min_size(1)
        .max_size(3)
        .desired_capacity(1)
        .launch_template(
            aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                .launch_template_name("web-lt")
                .build(),
        )
        .vpc_zone_identifier(&subnet)
        .send()
        .await
        .unwrap();
    let id = asg
        .describe_auto_scaling_instances()
        .send()
        .await
        .unwrap()
        .auto_scaling_instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    let elb = e.acct.elbv2(REGION);
    let tg = elb
        .create_target_group()
        .name("web-tg")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    elb.register_targets()
        .target_group_arn(&tg)
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(&id)
                .port(8080)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let in_group = |id: String| {
        let asg = asg.clone();
        async move {
            asg.describe_auto_scaling_instances()
                .instance_ids(id)
                .send()
                .await
                .unwrap()
                .auto_scaling_instances()
                .len()
        }
    };
    let registered = || async {
        elb.describe_target_health()
            .target_group_arn(&tg)
            .send()
            .await
            .unwrap()
            .target_health_descriptions()
            .iter()
            .filter(|d| d.target().and_then(|t| t.id()) == Some(id.as_str()))
            .map(|d| d.target().unwrap().port())
            .collect::<Vec<_>>()
    };
    let t_ = target(TargetKind::Instance, &id, &e.account);
    let mut t = Trial::new(&e.base, plan_of(vec![step(action, t_, json!({}))]));
    let asg_only = action == Action::DetachFromAutoScaling;
    t.run().await;
    // Only the step's own effect: the other membership is untouched.
    assert_eq!(in_group(id.clone()).await, if asg_only { 0 } else { 1 });
    assert_eq!(registered().await.is_empty(), !asg_only);
    t.rollback().await;
    assert_eq!(in_group(id.clone()).await, 1);
    assert_eq!(registered().await, vec![Some(8080)]);
}

#[tokio::test]
async fn remove_instance_profile() {
    let Some(e) = env("310000000006").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let profile = attach_profile(&e, &id, "app-role", "app-profile").await;
    let ec2 = e.acct.ec2(REGION);
    let associated = || async {
        ec2.describe_iam_instance_profile_associations()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("instance-id")
                    .values(&id)
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .iam_instance_profile_associations()
            .iter()
            .filter(|a| a.state().map(|s| s.as_str()) != Some("disassociated"))
            .filter_map(|a| {
                a.iam_instance_profile()
                    .and_then(|p| p.arn())
                    .map(str::to_string)
            })
            .collect::<Vec<_>>()
    };
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::RemoveInstanceProfile,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    assert!(associated().await.is_empty());
    t.rollback().await;
    assert_eq!(associated().await, vec![profile]);
}

#[tokio::test]
async fn restrict_imds() {
    let Some(e) = env("310000000007").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::RestrictImds,
            target(TargetKind::Instance, &id, &e.account),
            json!({"disable": true}),
        )]),
    );
    t.run().await;
    let m = describe(&e.acct, &id)
        .await
        .metadata_options()
        .cloned()
        .unwrap();
    assert_eq!(m.http_tokens().unwrap().as_str(), "required");
    assert_eq!(m.http_endpoint().unwrap().as_str(), "disabled");
    t.rollback().await;
    let m = describe(&e.acct, &id)
        .await
        .metadata_options()
        .cloned()
        .unwrap();
    assert_eq!(
        (
            m.http_tokens().unwrap().as_str(),
            m.http_endpoint().unwrap().as_str()
        ),
        ("optional", "enabled")
    );
}

#[tokio::test]
async fn quarantine_subnet() {
    let Some(e) = env("310000000008").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let subnet = describe(&e.acct, &id)
        .await
        .subnet_id()
        .unwrap()
        .to_string();
    let acl_of = || async {
        let out = e
            .acct
            .ec2(REGION)
            .describe_network_acls()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("association.subnet-id")
                    .values(&subnet)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let acl = out.network_acls()[0].clone();
        (
            acl.network_acl_id().unwrap().to_string(),
            acl.entries()
                .iter()
                .filter(|e| e.rule_action().map(|a| a.as_str()) == Some("allow"))
                .count(),
            acl.tags()
                .iter()
                .any(|t| t.key() == Some("firebreak:quarantine")),
        )
    };
    let (before, _, _) = acl_of().await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::QuarantineSubnet,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    let (now, allows, quarantine) = acl_of().await;
    assert!(
        now != before && quarantine && allows == 0,
        "{now} allows {allows}"
    );
    t.rollback().await;
    assert_eq!(acl_of().await.0, before);
}

#[tokio::test]
async fn stop_instance() {
    let Some(e) = env("310000000009").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let state = || async {
        describe(&e.acct, &id)
            .await
            .state()
            .unwrap()
            .name()
            .unwrap()
            .as_str()
            .to_string()
    };
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::StopInstance,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    assert!(matches!(state().await.as_str(), "stopping" | "stopped"));
    t.rollback().await;
    assert!(matches!(state().await.as_str(), "pending" | "running"));
}

#[tokio::test]
async fn unshare_snapshot() {
    shared_out("310000000010", Action::UnshareSnapshot).await;
}

#[tokio::test]
async fn unshare_image() {
    shared_out("310000000042", Action::UnshareImage).await;
}

/// A snapshot shared with another account and everyone, an AMI shared with another account;
/// `action` unshares one of them.
async fn shared_out(account: &str, action: Action) {
    let Some(e) = env(account).await else {
        return;
    };
    let id = launch(&e.acct).await;
    let ec2 = e.acct.ec2(REGION);
    let snap = snapshot_of(&e.acct, &id).await;
    use aws_sdk_ec2::types::*;
    ec2.modify_snapshot_attribute()
        .snapshot_id(&snap)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Add)
        .user_ids(FOREIGN)
        .group_names("all")
        .send()
        .await
        .unwrap();
    let image = ec2
        .create_image()
        .instance_id(&id)
        .name("golden")
        .send()
        .await
        .unwrap()
        .image_id()
        .unwrap()
        .to_string();
    ec2.modify_image_attribute()
        .image_id(&image)
        .launch_permission(
            LaunchPermissionModifications::builder()
                .add(LaunchPermission::builder().user_id(FOREIGN).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let snap_perms = || async {
        ec2.describe_snapshot_attribute()
            .snapshot_id(&snap)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .unwrap()
            .create_volume_permissions()
            .len()
    };
    let image_perms = || async {
        ec2.describe_image_attribute()
            .image_id(&image)
            .attribute(ImageAttributeName::LaunchPermission)
            .send()
            .await
            .unwrap()
            .launch_permissions()
            .iter()
            .filter_map(|p| p.user_id().map(str::to_string))
            .collect::<Vec<_>>()
    };
    assert_eq!(snap_perms().await, 2);
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![match action {
            Action::UnshareSnapshot => step(
                action,
                target(TargetKind::Snapshot, &snap, &e.account),
                json!({}),
            ),
            _ => step(
                action,
                target(TargetKind::Image, &image, &e.account),
                json!({}),
            ),
        }]),
    );
    t.run().await;
    if action == Action::UnshareSnapshot {
        assert_eq!(snap_perms().await, 0);
        assert_eq!(image_perms().await, vec![FOREIGN.to_string()]);
    } else {
        assert_eq!(snap_perms().await, 2);
        assert!(image_perms().await.is_empty());
    }
    t.rollback().await;
    assert_eq!(snap_perms().await, 2);
    assert_eq!(image_perms().await, vec![FOREIGN.to_string()]);
}

#[tokio::test]
async fn restore_flow_logs() {
    let Some(e) = env("310000000011").await else {
        return;
    };
    let ec2 = e.acct.ec2(REGION);
    let vpcs = ec2.describe_vpcs().send().await.unwrap().vpcs().len();
    let t_ = Target::new(
        TargetKind::Region,
        REGION,
        model::AccountId::parse(&e.account).unwrap(),
        REGION,
    );
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::RestoreFlowLogs,
            t_,
            json!({"log_group": "restored-flow-logs"}),
        )]),
    );
    t.run().await;
    let logs = ec2.describe_flow_logs().send().await.unwrap();
    assert_eq!(logs.flow_logs().len(), vpcs);
    assert!(
        logs.flow_logs()
            .iter()
            .all(|f| f.log_group_name() == Some("restored-flow-logs"))
    );
    // Restored logging is never undone.
    t.rollback().await;
    assert_eq!(
        ec2.describe_flow_logs()
            .send()
            .await
            .unwrap()
            .flow_logs()
            .len(),
        vpcs
    );
}

// --- IAM ---------------------------------------------------------------------------------

#[tokio::test]
async fn deactivate_access_key() {
    let Some(e) = env("310000000012").await else {
        return;
    };
    let key = user_with_key(&e.acct, "ci-deployer").await;
    let mut t_ = target(TargetKind::AccessKey, &key, &e.account);
    t_.parent = Some("ci-deployer".into());
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(Action::DeactivateAccessKey, t_, json!({}))]),
    );
    t.run().await;
    assert_eq!(key_status(&e.acct, "ci-deployer", &key).await, "Inactive");
    // Deactivated, not deleted: the key id stays.
    t.rollback().await;
    assert_eq!(key_status(&e.acct, "ci-deployer", &key).await, "Active");
}

#[tokio::test]
async fn delete_login_profile() {
    let Some(e) = env("310000000013").await else {
        return;
    };
    user_with_key(&e.acct, "alice").await;
    let exists = || async {
        e.acct
            .iam(REGION)
            .get_login_profile()
            .user_name("alice")
            .send()
            .await
            .is_ok()
    };
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::DeleteLoginProfile,
            target(TargetKind::User, "alice", &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    assert!(!exists().await);
    t.rollback().await;
    // Recreated with a random password and PasswordResetRequired (moto does not keep the flag).
    assert!(exists().await);
    assert!(
        t.journal.receipts["iam.delete-login-profile@alice"].rollback_calls[0]
            .contains("PasswordResetRequired=true")
    );
}

#[tokio::test]
async fn revoke_user_sessions() {
    let statement = user_policy_action(
        "310000000014",
        Action::RevokeUserSessions,
        "FirebreakRevokeSessions-case-7",
    )
    .await;
    if let Some(st) = statement {
        assert_eq!(
            st["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            json!(model::time::format_iso(NOW))
        );
    }
}

#[tokio::test]
async fn deny_all_user() {
    let statement = user_policy_action(
        "310000000043",
        Action::DenyAllUser,
        "FirebreakDenyAll-case-7",
    )
    .await;
    if let Some(st) = statement {
        assert_eq!(
            (st["Effect"].as_str(), st["Action"].as_str()),
            (Some("Deny"), Some("*"))
        );
    }
}

/// Runs `action` on user bob; checks it added exactly `policy`, that rollback removes it, and
/// returns the policy's first statement as it was in place (`None`: moto not available).
async fn user_policy_action(account: &str, action: Action, policy: &str) -> Option<Value> {
    let e = env(account).await?;
    user_with_key(&e.acct, "bob").await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            action,
            target(TargetKind::User, "bob", &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    assert_eq!(user_policies(&e.acct, "bob").await, [policy]);
    let doc = e
        .acct
        .iam(REGION)
        .get_user_policy()
        .user_name("bob")
        .policy_name(policy)
        .send()
        .await
        .unwrap();
    let statement = aws_policy(doc.policy_document())["Statement"][0].clone();
    t.rollback().await;
    assert!(user_policies(&e.acct, "bob").await.is_empty());
    Some(statement)
}

#[tokio::test]
async fn revoke_role_sessions() {
    role_action("310000000015", Action::RevokeRoleSessions).await;
}

#[tokio::test]
async fn deny_all_role() {
    role_action("310000000044", Action::DenyAllRole).await;
}

#[tokio::test]
async fn restrict_role_trust() {
    role_action("310000000045", Action::RestrictRoleTrust).await;
}

/// A role trusted by EC2, its own account and a foreign account; `action` acts on it.
async fn role_action(account: &str, action: Action) {
    let Some(e) = env(account).await else { return };
    role(&e.acct, "app-role", &e.account).await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            action,
            target(TargetKind::Role, "app-role", &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    let (policies, trust): (Vec<&str>, Vec<&str>) = match action {
        Action::RevokeRoleSessions => (
            vec!["AWSRevokeOlderSessions"],
            vec!["Ec2", "Own", "Backdoor"],
        ),
        Action::DenyAllRole => (
            vec!["FirebreakDenyAll-case-7"],
            vec!["Ec2", "Own", "Backdoor"],
        ),
        _ => (vec![], vec!["Ec2", "Own"]),
    };
    assert_eq!(role_policies(&e.acct, "app-role").await, policies);
    assert_eq!(trust_sids(&e.acct, "app-role").await, trust);
    t.rollback().await;
    assert!(role_policies(&e.acct, "app-role").await.is_empty());
    assert_eq!(
        trust_sids(&e.acct, "app-role").await,
        ["Ec2", "Own", "Backdoor"]
    );
}

#[tokio::test]
async fn capture_credential_report() {
    let Some(e) = env("310000000016").await else {
        return;
    };
    user_with_key(&e.acct, "carol").await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::CaptureCredentialReport,
            target(TargetKind::Account, &e.account, &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    let r = t.receipt(&format!("iam.capture-credential-report@{}", e.account));
    assert!(r.outputs[0]["report"].as_str().unwrap().contains("carol"));
    assert_eq!(r.outputs[0]["sha256"].as_str().unwrap().len(), 64);
}

/// IAM answers "in progress" before the report exists (real AWS does; moto never does, so
/// a mock plays IAM here): GenerateCredentialReport says STARTED, GetCredentialReport
/// refuses with ReportInProgress, twice, before the report is read.
#[tokio::test]
async fn the_credential_report_is_polled_until_it_exists() {
    use aws_sdk_iam::operation::generate_credential_report::GenerateCredentialReportOutput as Gen;
    use aws_sdk_iam::operation::get_credential_report::GetCredentialReportOutput as Get;
    use aws_sdk_iam::types::ReportStateType as State;
    let Some(mut e) = env("310000000036").await else {
        return;
    };
    let generate = mock!(aws_sdk_iam::Client::generate_credential_report)
        .sequence()
        .output(|| Gen::builder().state(State::Started).build())
        .output(|| Gen::builder().state(State::Inprogress).build())
        .output(|| Gen::builder().state(State::Complete).build())
        .repeatedly()
        .build();
    let get = mock!(aws_sdk_iam::Client::get_credential_report)
        .sequence()
        .http_response(iam_error(410, "ReportInProgress"))
        .times(2)
        .output(|| {
            Get::builder()
                .content(aws_smithy_types::Blob::new(
                    "user,arn\ncarol,arn:aws:iam::1:user/carol\n",
                ))
                .build()
        })
        .repeatedly()
        .build();
    e.base.overrides.iam = Some(mocked!(aws_sdk_iam, [&generate, &get]));
    let mut plan = plan_of(vec![step(
        Action::CaptureCredentialReport,
        target(TargetKind::Account, &e.account, &e.account),
        json!({}),
    )]);
    plan.settings.responder_role = None;
    let mut journal = MemoryJournal::default();
    let r = respond::run(&e.base, &approved(plan), &mut journal, NOW)
        .await
        .unwrap();
    assert!(r.ok(), "{r:#?}");
    assert_eq!(r.steps[0].status, StepStatus::Done);
    let rec = &journal.receipts[&format!("iam.capture-credential-report@{}", e.account)];
    assert!(rec.outputs[0]["report"].as_str().unwrap().contains("carol"));
    assert_eq!(get.num_calls(), 3, "two refusals, then the report");
}

/// A bound key that no longer exists (the owner rotated it) is nothing to do, not a halt:
/// the dry-run says so, the run goes on to the user's other steps, and a rollback leaves it.
#[tokio::test]
async fn a_target_that_no_longer_exists_is_nothing_to_do() {
    let Some(e) = env("310000000038").await else {
        return;
    };
    let key = user_with_key(&e.acct, "gail").await;
    e.acct
        .iam(REGION)
        .delete_access_key()
        .user_name("gail")
        .access_key_id(&key)
        .send()
        .await
        .unwrap();
    let mut kt = target(TargetKind::AccessKey, &key, &e.account);
    kt.parent = Some("gail".into());
    let plan = plan_of(vec![
        step(Action::DeactivateAccessKey, kt, json!({})),
        step(
            Action::DenyAllUser,
            target(TargetKind::User, "gail", &e.account),
            json!({}),
        ),
    ]);
    let dry = respond::dry_run(&e.base, &plan, NOW).await;
    assert!(dry[0].error.is_none(), "{dry:#?}");
    assert!(
        dry[0].note.as_deref().unwrap().contains("no longer exists"),
        "{dry:#?}"
    );
    let mut journal = MemoryJournal::default();
    let ap = approved(plan);
    let r = respond::run(&e.base, &ap, &mut journal, NOW).await.unwrap();
    assert!(r.ok(), "{r:#?}");
    let status: Vec<StepStatus> = r.steps.iter().map(|s| s.status).collect();
    assert_eq!(
        status,
        [StepStatus::NothingToDo, StepStatus::Done],
        "{r:#?}"
    );
    assert!(
        user_policies(&e.acct, "gail")
            .await
            .contains(&"FirebreakDenyAll-case-7".to_string())
    );
    let rb = respond::rollback(&e.base, &ap, &mut journal, None)
        .await
        .unwrap();
    assert_eq!(rb.steps.len(), 1, "only the deny-all is undone: {rb:#?}");
}

/// A run killed between CreateSecurityGroup and RevokeSecurityGroupEgress leaves the
/// isolation group with its default egress rule: the next isolation repairs it (every rule
/// revoked, the repair journaled) before trusting it, and proves it has no rule.
#[tokio::test]
async fn a_half_made_isolation_group_is_repaired_before_use() {
    let Some(e) = env("310000000037").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let vpc = describe(&e.acct, &id).await.vpc_id().unwrap().to_string();
    let ec2 = e.acct.ec2(REGION);
    let half = ec2
        .create_security_group()
        .group_name("firebreak-isolation")
        .vpc_id(&vpc)
        .description("left by a killed run")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    let rules = || async {
        let g = ec2
            .describe_security_groups()
            .group_ids(&half)
            .send()
            .await
            .unwrap();
        let g = &g.security_groups()[0];
        g.ip_permissions().len() + g.ip_permissions_egress().len()
    };
    assert!(rules().await > 0, "a new group has default egress");
    let dry = respond::dry_run(
        &e.base,
        &plan_of(vec![step(
            Action::IsolateInstance,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        )]),
        NOW,
    )
    .await;
    assert!(
        dry[0].calls[0].starts_with(&format!(
            "ec2:RevokeSecurityGroupIngress/Egress GroupId={half}"
        )),
        "{dry:#?}"
    );
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::IsolateInstance,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    assert_eq!(rules().await, 0);
    assert_eq!(eni_groups(&e.acct, &id).await, std::slice::from_ref(&half));
    assert!(
        t.journal
            .intents
            .iter()
            .any(|i| i.1.call.contains(&format!("GroupId={half} (every rule")) && i.2.is_some()),
        "the repair is journaled: {:#?}",
        t.journal.intents
    );
}

// --- S3 ----------------------------------------------------------------------------------

/// GetBucketVersioning answered by a mock: first never enabled, then Enabled (moto 5.2.5
/// returns a root element the SDK rejects); PutBucketVersioning goes to moto.
fn versioning_mock(states: &[Option<&'static str>]) -> aws_sdk_s3::Client {
    use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput as Out;
    use aws_sdk_s3::types::BucketVersioningStatus as S;
    let mut seq = mock!(aws_sdk_s3::Client::get_bucket_versioning).sequence();
    for s in states {
        let s = *s;
        seq = seq.output(move || Out::builder().set_status(s.map(S::from)).build());
    }
    let rule = seq.repeatedly().build();
    mocked!(aws_sdk_s3, [&rule])
}

/// A bucket with a public-read policy, in `account`.
async fn public_bucket(e: &Env) -> String {
    let b = format!("public-data-{}", e.account);
    bucket(&e.acct, &b).await;
    let old_policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Public", "Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{b}/*")}]});
    e.acct
        .s3(REGION)
        .put_bucket_policy()
        .bucket(&b)
        .policy(old_policy.to_string())
        .send()
        .await
        .unwrap();
    b
}

async fn bucket_policy_sid(acct: &Connection, b: &str) -> Value {
    let p = acct
        .s3(REGION)
        .get_bucket_policy()
        .bucket(b)
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(p.policy().unwrap()).unwrap();
    policy["Statement"][0].clone()
}

#[tokio::test]
async fn enable_versioning() {
    let Some(mut e) = env("310000000017").await else {
        return;
    };
    let b = public_bucket(&e).await;
    // GetBucketVersioning, as moto's state goes: the dry-run and the before-state (never
    // enabled); after the call, on resume, its verification, the repeat's read and proof, and
    // the rollback's first read (Enabled); the rollback's proof (Suspended).
    let on = Some("Enabled");
    e.base.overrides.s3_versioning = Some(versioning_mock(&[
        None,
        None,
        on,
        on,
        on,
        on,
        on,
        Some("Suspended"),
    ]));
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::EnableVersioning,
            target(TargetKind::Bucket, &b, &e.account),
            json!({}),
        )]),
    );
    let r = t.run().await;
    assert_eq!(
        r.steps[0].calls,
        [format!(
            "s3:PutBucketVersioning Bucket={b} Status=Enabled (may have landed before an interruption)"
        )]
    );
    // moto keeps what PutBucketVersioning set: a new version per write.
    let s3 = e.acct.s3(REGION);
    for body in ["one", "two"] {
        s3.put_object()
            .bucket(&b)
            .key("k")
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        s3.list_object_versions()
            .bucket(&b)
            .send()
            .await
            .unwrap()
            .versions()
            .len(),
        2
    );
    let rb = t.rollback().await;
    assert_eq!(
        rb.steps[0].calls,
        [format!(
            "s3:PutBucketVersioning Bucket={b} Status=Suspended"
        )]
    );
}

#[tokio::test]
async fn block_public_access() {
    let Some(e) = env("310000000046").await else {
        return;
    };
    let b = public_bucket(&e).await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::BlockPublicAccess,
            target(TargetKind::Bucket, &b, &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    let s3 = e.acct.s3(REGION);
    let pab = s3
        .get_public_access_block()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    let c = pab.public_access_block_configuration().unwrap();
    assert!(
        c.block_public_acls().unwrap()
            && c.ignore_public_acls().unwrap()
            && c.block_public_policy().unwrap()
            && c.restrict_public_buckets().unwrap()
    );
    t.rollback().await;
    let gone = s3
        .get_public_access_block()
        .bucket(&b)
        .send()
        .await
        .unwrap_err();
    assert!(format!("{gone:?}").contains("NoSuchPublicAccessBlockConfiguration"));
}

#[tokio::test]
async fn lock_bucket_policy() {
    let Some(e) = env("310000000047").await else {
        return;
    };
    let b = public_bucket(&e).await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::LockBucketPolicy,
            target(TargetKind::Bucket, &b, &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    let st = bucket_policy_sid(&e.acct, &b).await;
    assert_eq!(st["Sid"], "FirebreakIncidentLock");
    assert_eq!(
        st["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        json!(format!(
            "arn:aws:iam::{}:role/FirebreakResponder",
            e.account
        ))
    );
    t.rollback().await;
    assert_eq!(bucket_policy_sid(&e.acct, &b).await["Sid"], "Public");
}

#[tokio::test]
async fn lambda_zero_concurrency() {
    let Some(e) = env("310000000018").await else {
        return;
    };
    lambda_function(&e.acct, &e.account, "thumbnailer").await;
    let conc = || async {
        e.acct
            .lambda(REGION)
            .get_function_concurrency()
            .function_name("thumbnailer")
            .send()
            .await
            .unwrap()
            .reserved_concurrent_executions()
    };
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::ZeroConcurrency,
            target(TargetKind::Function, "thumbnailer", &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    assert_eq!(conc().await, Some(0));
    t.rollback().await;
    assert_eq!(conc().await, None);
}

#[tokio::test]
async fn lambda_remove_public_permissions() {
    let Some(e) = env("310000000048").await else {
        return;
    };
    lambda_function(&e.acct, &e.account, "thumbnailer").await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::RemovePublicPermissions,
            target(TargetKind::Function, "thumbnailer", &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    assert_eq!(lambda_sids(&e.acct, "thumbnailer").await, ["s3-own"]);
    t.rollback().await;
    assert_eq!(
        lambda_sids(&e.acct, "thumbnailer").await,
        ["other-account", "public", "s3-own"]
    );
}

#[tokio::test]
async fn organizations_quarantine_account() {
    let Some(e) = env("310000000019").await else {
        return;
    };
    let org = e.acct.organizations(REGION);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let created = org
        .create_account()
        .email("victim@example.com")
        .account_name("victim")
        .send()
        .await
        .unwrap();
    let victim = created
        .create_account_status()
        .unwrap()
        .account_id()
        .unwrap()
        .to_string();
    let attached = || async {
        org.list_policies_for_target()
            .target_id(&victim)
            .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
            .send()
            .await
            .unwrap()
            .policies()
            .iter()
            .filter_map(|p| p.name().map(str::to_string))
            .collect::<Vec<_>>()
    };
    let mut t_ = target(TargetKind::Account, &victim, &victim);
    t_.parent = Some(e.account.clone()); // the management account
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(Action::QuarantineAccount, t_, json!({}))]),
    );
    t.run().await;
    assert!(
        attached()
            .await
            .contains(&"FirebreakQuarantine".to_string())
    );
    t.rollback().await;
    assert!(
        !attached()
            .await
            .contains(&"FirebreakQuarantine".to_string())
    );
}

#[tokio::test]
async fn cloudtrail_start_logging() {
    let Some(e) = env("310000000020").await else {
        return;
    };
    bucket(&e.acct, "trail-310000000020").await;
    let ct = e.acct.cloudtrail(REGION);
    ct.create_trail()
        .name("org-trail")
        .s3_bucket_name("trail-310000000020")
        .send()
        .await
        .unwrap();
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::StartLogging,
            target(TargetKind::Trail, "org-trail", &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    assert_eq!(
        ct.get_trail_status()
            .name("org-trail")
            .send()
            .await
            .unwrap()
            .is_logging(),
        Some(true)
    );
    t.rollback().await;
    assert_eq!(
        ct.get_trail_status()
            .name("org-trail")
            .send()
            .await
            .unwrap()
            .is_logging(),
        Some(true),
        "restored logging stays on"
    );
}

/// GuardDuty through aws-smithy-mocks: a disabled detector, enabled by UpdateDetector.
fn guardduty_mock() -> (aws_sdk_guardduty::Client, aws_smithy_mocks::Rule) {
    use aws_sdk_guardduty::operation::{
        get_detector::GetDetectorOutput, list_detectors::ListDetectorsOutput,
        update_detector::UpdateDetectorOutput,
    };
    use aws_sdk_guardduty::types::DetectorStatus;
    let list = mock!(aws_sdk_guardduty::Client::list_detectors)
        .then_output(|| ListDetectorsOutput::builder().detector_ids("d-1").build());
    // Disabled for the dry-run and the run's before-state, enabled once updated.
    let get = mock!(aws_sdk_guardduty::Client::get_detector)
        .sequence()
        .output(|| {
            GetDetectorOutput::builder()
                .status(DetectorStatus::Disabled)
                .service_role("r")
                .build()
        })
        .times(2)
        .output(|| {
            GetDetectorOutput::builder()
                .status(DetectorStatus::Enabled)
                .service_role("r")
                .build()
        })
        .repeatedly()
        .build();
    let update = mock!(aws_sdk_guardduty::Client::update_detector)
        .match_requests(|r| r.detector_id() == Some("d-1") && r.enable() == Some(true))
        .then_output(|| UpdateDetectorOutput::builder().build());
    (mocked!(aws_sdk_guardduty, [&list, &get, &update]), update)
}

/// Against moto's GuardDuty detectors (created disabled, read back enabled): no mock.
#[tokio::test]
async fn guardduty_enable() {
    let Some(e) = env("310000000021").await else {
        return;
    };
    let gd = e.acct.guardduty(REGION);
    let id = gd
        .create_detector()
        .enable(false)
        .send()
        .await
        .unwrap()
        .detector_id()
        .unwrap()
        .to_string();
    let status = || async {
        gd.get_detector()
            .detector_id(&id)
            .send()
            .await
            .unwrap()
            .status()
            .unwrap()
            .as_str()
            .to_string()
    };
    assert_eq!(status().await, "DISABLED");
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::EnableGuardDuty,
            Target::new(
                TargetKind::Region,
                REGION,
                model::AccountId::parse(&e.account).unwrap(),
                REGION,
            ),
            json!({}),
        )]),
    );
    let r = t.run().await;
    assert_eq!(status().await, "ENABLED");
    assert_eq!(
        t.journal.intents[0].1.call,
        format!("guardduty:UpdateDetector DetectorId={id} Enable=true"),
        "{r:#?}"
    );
}

// --- Dry-run, guardrails, resumption, failures -------------------------------------------

#[tokio::test]
async fn dry_run_makes_no_mutating_call() {
    let Some(e) = env("310000000030").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let groups = eni_groups(&e.acct, &id).await;
    let snapshots = e
        .acct
        .ec2(REGION)
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap()
        .snapshots()
        .len();
    let book = playbook::bundled()
        .into_iter()
        .find(|b| b.name == "ec2-instance-compromise")
        .unwrap();
    let bindings = playbook::Bindings {
        targets: [
            target(TargetKind::Instance, &id, &e.account),
            target(TargetKind::Account, &e.account, &e.account),
        ]
        .into(),
    };
    let req = playbook::Request {
        include: vec!["stop".into(), "quarantine-subnet".into()],
        ..Default::default()
    };
    let plan = playbook::plan(
        &book,
        case::CaseId(7),
        model::Severity::High,
        None,
        &bindings,
        &settings(),
        ApprovalRule::without_plan(),
        &req,
    )
    .unwrap();
    let recorder = aws::Recorder::default();
    let mut conn = e.base.clone();
    conn.recorder = Some(recorder.clone());
    let dry = respond::dry_run(&conn, &plan, NOW).await;
    let calls = recorder.take();
    assert!(
        calls.len() > 10,
        "the dry-run read the before-states: {calls:#?}"
    );
    let mutating: Vec<_> = calls.iter().filter(|c| !c.changes_nothing()).collect();
    assert!(
        mutating.is_empty(),
        "a dry-run sent mutating calls: {mutating:#?}"
    );
    for d in &dry {
        assert!(d.error.is_none(), "{d:#?}");
    }
    let by_step = |spec: &str| {
        dry.iter()
            .find(|d| d.key.starts_with(&format!("{spec}@")))
            .unwrap()
    };
    assert_eq!(
        by_step("stop").calls,
        [format!("ec2:StopInstances InstanceIds=[{id}]")]
    );
    let isolate = &by_step("isolate").calls;
    assert_eq!(
        isolate
            .iter()
            .filter(|c| c.starts_with("ec2:ModifyNetworkInterfaceAttribute"))
            .count(),
        2,
        "{isolate:#?}"
    );
    assert!(by_step("tag").calls[0].contains("firebreak:case=7"));
    // Nothing changed.
    let i = describe(&e.acct, &id).await;
    assert_eq!(i.state().unwrap().name().unwrap().as_str(), "running");
    assert!(i.tags().is_empty());
    assert_eq!(eni_groups(&e.acct, &id).await, groups);
    let snaps = e
        .acct
        .ec2(REGION)
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap();
    assert_eq!(snaps.snapshots().len(), snapshots);
}

#[tokio::test]
async fn protected_resources_need_an_override() {
    let Some(e) = env("310000000031").await else {
        return;
    };
    let id = launch(&e.acct).await;
    e.acct
        .ec2(REGION)
        .create_tags()
        .resources(&id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("firebreak:protected")
                .value("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let t_ = target(TargetKind::Instance, &id, &e.account);
    let plan = plan_of(vec![step(Action::StopInstance, t_.clone(), json!({}))]);
    let mut journal = MemoryJournal::default();
    let r = respond::run(&e.base, &approved(plan), &mut journal, NOW)
        .await
        .unwrap();
    assert_eq!(r.steps[0].status, StepStatus::Skipped);
    assert!(
        r.steps[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("firebreak:protected=true"),
        "{r:#?}"
    );
    assert_eq!(
        describe(&e.acct, &id)
            .await
            .state()
            .unwrap()
            .name()
            .unwrap()
            .as_str(),
        "running"
    );

    // Preconditions on tags are read at run time too.
    let mut conditional = step(Action::TagInstance, t_.clone(), json!({}));
    conditional.preconditions.tagged = Some("env=prod".into());
    let r = respond::run(
        &e.base,
        &approved(plan_of(vec![conditional])),
        &mut MemoryJournal::default(),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        r.steps[0].detail.as_deref(),
        Some("precondition: the resource is not tagged env=prod")
    );

    let mut s = step(Action::StopInstance, t_, json!({}));
    s.override_protected = true;
    let mut t = Trial::new(&e.base, plan_of(vec![s]));
    t.run().await;
    assert_eq!(
        t.receipt(&format!("ec2.stop-instance@{id}"))
            .overridden
            .as_deref(),
        Some("firebreak:protected=true")
    );
    assert_ne!(
        describe(&e.acct, &id)
            .await
            .state()
            .unwrap()
            .name()
            .unwrap()
            .as_str(),
        "running"
    );
}

#[tokio::test]
async fn a_run_killed_mid_step_keeps_its_recorded_before_state() {
    let Some(e) = env("310000000032").await else {
        return;
    };
    let key = user_with_key(&e.acct, "dave").await;
    let mut kt = target(TargetKind::AccessKey, &key, &e.account);
    kt.parent = Some("dave".into());
    let u = target(TargetKind::User, "dave", &e.account);
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![
            step(Action::DenyAllUser, u, json!({})),
            step(Action::DeactivateAccessKey, kt, json!({})),
        ]),
    );
    t.run().await;
    // As if killed after the key was deactivated but before the step was recorded done.
    let k = format!("iam.deactivate-access-key@{key}");
    let r = t.journal.receipts.get_mut(&k).unwrap();
    r.status = StepStatus::Started;
    r.calls.clear();
    r.after = None;
    let calls_before = t.journal.calls.len();
    let again = t.run().await;
    assert!(again.steps[0].earlier, "a finished step is not repeated");
    assert!(!again.steps[1].earlier);
    let repeated: Vec<_> = t.journal.calls[calls_before..]
        .iter()
        .filter(|(s, _, _)| s.starts_with("iam.deny-all-user"))
        .collect();
    assert!(repeated.is_empty(), "{repeated:#?}");
    assert_eq!(
        t.receipt(&k).before,
        Some(json!("Active")),
        "the recorded before-state stands"
    );
    t.rollback().await;
    assert_eq!(key_status(&e.acct, "dave", &key).await, "Active");
    assert!(user_policies(&e.acct, "dave").await.is_empty());
}

#[tokio::test]
async fn a_failed_evidence_step_stops_disruptive_steps() {
    let Some(e) = env("310000000033").await else {
        return;
    };
    let id = launch(&e.acct).await;
    // Memory capture with no evidence bucket to put the image in: the evidence step fails.
    let mut capture = step(
        Action::CaptureMemory,
        target(TargetKind::Instance, &id, &e.account),
        json!({}),
    );
    capture.on_failure = OnFailure::Continue;
    let plan = plan_of(vec![
        capture,
        step(
            Action::TagInstance,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        ),
        step(
            Action::StopInstance,
            target(TargetKind::Instance, &id, &e.account),
            json!({}),
        ),
    ]);
    let mut journal = MemoryJournal::default();
    let r = respond::run(&e.base, &approved(plan), &mut journal, NOW)
        .await
        .unwrap();
    let status: Vec<StepStatus> = r.steps.iter().map(|s| s.status).collect();
    assert_eq!(
        status,
        [StepStatus::Failed, StepStatus::Done, StepStatus::Skipped],
        "{r:#?}"
    );
    assert!(
        r.steps[2]
            .detail
            .as_deref()
            .unwrap()
            .contains(&format!("evidence step ec2.capture-memory@{id} failed"))
    );
    assert_eq!(
        describe(&e.acct, &id)
            .await
            .state()
            .unwrap()
            .name()
            .unwrap()
            .as_str(),
        "running"
    );
}

/// An IAM error response as the service sends it (query protocol XML).
fn iam_error(
    status: u16,
    code: &'static str,
) -> impl Fn() -> aws_smithy_runtime_api::http::Response + Send + Sync + 'static {
    move || {
        let body = format!(
            r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} from the mock</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"#
        );
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
            aws_smithy_types::body::SdkBody::from(body),
        )
    }
}

fn key_list(
    status: &'static str,
) -> impl Fn() -> aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput + Send + Sync + 'static
{
    move || {
        use aws_sdk_iam::types::{AccessKeyMetadata, StatusType};
        aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput::builder()
            .access_key_metadata(
                AccessKeyMetadata::builder()
                    .user_name("erin")
                    .access_key_id("AKIAERINKEY000000001")
                    .status(StatusType::from(status))
                    .build(),
            )
            .build()
            .unwrap()
    }
}

fn erin_plan(account: &str, on_failure: OnFailure) -> ResponsePlan {
    let mut kt = target(TargetKind::AccessKey, "AKIAERINKEY000000001", account);
    kt.parent = Some("erin".into());
    let u = target(TargetKind::User, "erin", account);
    let mut revoke = step(Action::RevokeUserSessions, u.clone(), json!({}));
    revoke.on_failure = on_failure;
    let mut p = plan_of(vec![
        step(Action::DeactivateAccessKey, kt, json!({})),
        revoke,
        step(Action::DenyAllUser, u, json!({})),
    ]);
    p.settings.responder_role = None; // act as the caller: the IAM client is the mock
    p
}

/// An IAM mock where erin's key deactivates (Active → Inactive → Active again on rollback)
/// and putting a user policy is refused with AccessDenied. Returns the UpdateAccessKey rule.
fn iam_denying_policies() -> (aws_sdk_iam::Client, aws_smithy_mocks::Rule) {
    use aws_sdk_iam::operation::{
        list_user_tags::ListUserTagsOutput, update_access_key::UpdateAccessKeyOutput,
    };
    let tags = mock!(aws_sdk_iam::Client::list_user_tags).then_output(|| {
        ListUserTagsOutput::builder()
            .set_tags(Some(vec![]))
            .build()
            .unwrap()
    });
    let list = mock!(aws_sdk_iam::Client::list_access_keys)
        .sequence()
        .output(key_list("Active"))
        .output(key_list("Inactive"))
        // The rollback reads the state first (still deactivated), then proves it back.
        .output(key_list("Inactive"))
        .output(key_list("Active"))
        .repeatedly()
        .build();
    let update = mock!(aws_sdk_iam::Client::update_access_key)
        .then_output(|| UpdateAccessKeyOutput::builder().build());
    let get = mock!(aws_sdk_iam::Client::get_user_policy)
        .then_http_response(iam_error(404, "NoSuchEntity"));
    let put = mock!(aws_sdk_iam::Client::put_user_policy)
        .then_http_response(iam_error(403, "AccessDenied"));
    (
        mocked!(aws_sdk_iam, [&tags, &list, &update, &get, &put]),
        update,
    )
}

#[tokio::test]
async fn access_denied_halfway_halts_with_a_clear_report_and_rolls_back_what_ran() {
    let Some(mut e) = env("310000000034").await else {
        return;
    };
    let (iam, update) = iam_denying_policies();
    e.base.overrides.iam = Some(iam);
    let plan = approved(erin_plan(&e.account, OnFailure::Stop));
    let mut journal = MemoryJournal::default();
    let r = respond::run(&e.base, &plan, &mut journal, NOW)
        .await
        .unwrap();
    assert!(!r.ok());
    assert_eq!(r.steps.len(), 2, "the run stops at the failed step: {r:#?}");
    assert_eq!(r.steps[0].status, StepStatus::Done);
    assert_eq!(r.steps[1].status, StepStatus::Failed);
    let why = r.steps[1].detail.as_deref().unwrap();
    assert!(
        why.contains("iam:PutUserPolicy UserName=erin")
            && why.contains("AccessDenied")
            && why.contains("the responder role needs iam:PutUserPolicy")
            && why.contains("firebreak respond iam-policy"),
        "{why}"
    );
    assert!(
        r.halted
            .as_deref()
            .unwrap()
            .starts_with("step iam.revoke-user-sessions@erin failed")
    );
    assert!(!journal.receipts.contains_key("iam.deny-all-user@erin"));
    let failed_calls: Vec<_> = journal
        .calls
        .iter()
        .filter(|(_, _, c)| !c.ok)
        .map(|(_, _, c)| c.operation.as_str())
        .collect();
    assert_eq!(
        failed_calls,
        ["GetUserPolicy", "PutUserPolicy"],
        "every call and its outcome is journaled"
    );

    let rb = respond::rollback(&e.base, &plan, &mut journal, None)
        .await
        .unwrap();
    assert_eq!(
        rb.steps.len(),
        1,
        "only the step that took effect is undone: {rb:#?}"
    );
    assert_eq!(rb.steps[0].status, StepStatus::RolledBack);
    assert_eq!(
        rb.steps[0].calls,
        ["iam:UpdateAccessKey UserName=erin AccessKeyId=AKIAERINKEY000000001 Status=Active"]
    );
    assert_eq!(update.num_calls(), 2);
}

#[tokio::test]
async fn a_failure_policy_of_rollback_undoes_the_run() {
    let Some(mut e) = env("310000000035").await else {
        return;
    };
    let (iam, update) = iam_denying_policies();
    e.base.overrides.iam = Some(iam);
    let mut journal = MemoryJournal::default();
    let r = respond::run(
        &e.base,
        &approved(erin_plan(&e.account, OnFailure::Rollback)),
        &mut journal,
        NOW,
    )
    .await
    .unwrap();
    assert!(r.halted.as_deref().unwrap().contains("rolling back"));
    assert_eq!(r.rolled_back.len(), 1);
    assert_eq!(r.rolled_back[0].status, StepStatus::RolledBack);
    assert_eq!(
        journal.receipts["iam.deactivate-access-key@AKIAERINKEY000000001"].status,
        StepStatus::RolledBack
    );
    assert_eq!(
        update.num_calls(),
        2,
        "deactivated, then reactivated by the rollback"
    );
}

#[tokio::test]
async fn a_throttled_run_resumes_without_repeating_finished_steps() {
    let Some(mut e) = env("310000000036").await else {
        return;
    };
    use aws_sdk_iam::operation::{
        list_user_tags::ListUserTagsOutput, update_access_key::UpdateAccessKeyOutput,
    };
    let tags = || {
        mock!(aws_sdk_iam::Client::list_user_tags).then_output(|| {
            ListUserTagsOutput::builder()
                .set_tags(Some(vec![]))
                .build()
                .unwrap()
        })
    };
    use aws_sdk_iam::operation::{
        generate_credential_report::GenerateCredentialReportOutput,
        get_credential_report::GetCredentialReportOutput,
    };
    let credential_report = || {
        (
            mock!(aws_sdk_iam::Client::generate_credential_report)
                .then_output(|| GenerateCredentialReportOutput::builder().build()),
            mock!(aws_sdk_iam::Client::get_credential_report).then_output(|| {
                GetCredentialReportOutput::builder()
                    .content(aws_smithy_types::Blob::new(
                        "user,arn\nerin,arn:aws:iam::1:user/erin\n",
                    ))
                    .build()
            }),
        )
    };
    // First run: the key step is throttled.
    let (t1, list1) = (
        tags(),
        mock!(aws_sdk_iam::Client::list_access_keys).then_output(key_list("Active")),
    );
    let throttled = mock!(aws_sdk_iam::Client::update_access_key)
        .then_http_response(iam_error(400, "Throttling"));
    let (g1, r1) = credential_report();
    e.base.overrides.iam = Some(mocked!(aws_sdk_iam, [&t1, &list1, &throttled, &g1, &r1]));
    let mut kt = target(TargetKind::AccessKey, "AKIAERINKEY000000001", &e.account);
    kt.parent = Some("erin".into());
    let mut plan = plan_of(vec![
        step(
            Action::CaptureCredentialReport,
            target(TargetKind::Account, &e.account, &e.account),
            json!({}),
        ),
        step(Action::DeactivateAccessKey, kt, json!({})),
    ]);
    plan.settings.responder_role = None;
    let plan = approved(plan);
    let mut journal = MemoryJournal::default();
    let r = respond::run(&e.base, &plan, &mut journal, NOW)
        .await
        .unwrap();
    assert_eq!(r.steps[1].status, StepStatus::Failed);
    assert!(
        r.steps[1]
            .detail
            .as_deref()
            .unwrap()
            .contains("throttled: run again to resume"),
        "{r:#?}"
    );
    // Second run: AWS answers; the credential report is not captured again.
    assert_eq!(g1.num_calls(), 1);
    let (generate, report) = credential_report();
    let (t2, list2) = (
        tags(),
        // Still active after the throttled attempt; inactive once the update lands.
        mock!(aws_sdk_iam::Client::list_access_keys)
            .sequence()
            .output(key_list("Active"))
            .output(key_list("Inactive"))
            .repeatedly()
            .build(),
    );
    let update = mock!(aws_sdk_iam::Client::update_access_key)
        .then_output(|| UpdateAccessKeyOutput::builder().build());
    e.base.overrides.iam = Some(mocked!(
        aws_sdk_iam,
        [&t2, &list2, &update, &generate, &report]
    ));
    let r = respond::run(&e.base, &plan, &mut journal, NOW)
        .await
        .unwrap();
    assert!(r.ok(), "{r:#?}");
    assert!(r.steps[0].earlier);
    assert_eq!(generate.num_calls(), 0);
    assert_eq!(update.num_calls(), 1);
    assert_eq!(
        journal.receipts["iam.deactivate-access-key@AKIAERINKEY000000001"].before,
        Some(json!("Active"))
    );
}

// --- Every bundled playbook, run and rolled back whole --------------------------------------

/// Plans a bundled playbook against `targets` (every optional step included).
fn bundled_plan(name: &str, targets: Vec<Target>, mut s: Settings) -> ResponsePlan {
    let book = playbook::bundled()
        .into_iter()
        .find(|b| b.name == name)
        .unwrap();
    // Memory capture has tests of its own (moto runs no SSM command).
    let include = book
        .steps
        .iter()
        .filter(|st| st.optional && st.id != "capture-memory")
        .map(|st| st.id.clone())
        .collect();
    if s.management_account.is_none() {
        s.management_account = targets
            .iter()
            .find(|t| t.kind == TargetKind::Account)
            .map(|t| t.account.to_string());
    }
    let bindings = playbook::Bindings {
        targets: targets.into_iter().collect(),
    };
    let req = playbook::Request {
        include,
        created_by: "tester".into(),
        created_ms: NOW,
        ..Default::default()
    };
    playbook::plan(
        &book,
        case::CaseId(7),
        model::Severity::Critical,
        Some("sev1"),
        &bindings,
        &s,
        ApprovalRule::without_plan(),
        &req,
    )
    .unwrap()
}

/// Every step of the playbook appears in the plan and ran (manual ones as tasks).
fn ran_every_step(plan: &ResponsePlan, r: &Report) {
    assert!(
        plan.left.iter().all(|l| l.spec == "capture-memory"),
        "{:#?}",
        plan.left
    );
    assert_eq!(r.steps.len(), plan.steps.len());
}

#[tokio::test]
async fn playbook_iam_user_access_key_compromise() {
    let Some(e) = env("320000000001").await else {
        return;
    };
    let key = user_with_key(&e.acct, "ci-deployer").await;
    let mut k = target(TargetKind::AccessKey, &key, &e.account);
    k.parent = Some("ci-deployer".into());
    let plan = bundled_plan(
        "iam-user-access-key-compromise",
        vec![
            k,
            target(TargetKind::User, "ci-deployer", &e.account),
            target(TargetKind::Account, &e.account, &e.account),
        ],
        settings(),
    );
    let mut t = Trial::new(&e.base, plan.clone());
    let r = t.run().await;
    ran_every_step(&plan, &r);
    assert_eq!(
        t.journal.tasks,
        [format!("review-and-rotate@{}", e.account)]
    );
    assert_eq!(key_status(&e.acct, "ci-deployer", &key).await, "Inactive");
    assert_eq!(user_policies(&e.acct, "ci-deployer").await.len(), 2);
    assert!(
        e.acct
            .iam(REGION)
            .get_login_profile()
            .user_name("ci-deployer")
            .send()
            .await
            .is_err()
    );
    t.rollback().await;
    assert_eq!(key_status(&e.acct, "ci-deployer", &key).await, "Active");
    assert!(user_policies(&e.acct, "ci-deployer").await.is_empty());
    assert!(
        e.acct
            .iam(REGION)
            .get_login_profile()
            .user_name("ci-deployer")
            .send()
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn playbook_role_credentials_compromise() {
    let Some(e) = env("320000000002").await else {
        return;
    };
    let id = launch(&e.acct).await;
    attach_profile(&e, &id, "web-role", "web").await;
    let plan = bundled_plan(
        "role-credentials-compromise",
        vec![
            target(TargetKind::Role, "web-role", &e.account),
            target(TargetKind::Instance, &id, &e.account),
            target(TargetKind::Account, &e.account, &e.account),
        ],
        settings(),
    );
    let mut t = Trial::new(&e.base, plan.clone());
    ran_every_step(&plan, &t.run().await);
    assert_eq!(trust_sids(&e.acct, "web-role").await, ["Ec2", "Own"]);
    assert_eq!(role_policies(&e.acct, "web-role").await.len(), 2);
    assert_eq!(
        describe(&e.acct, &id)
            .await
            .metadata_options()
            .unwrap()
            .http_tokens()
            .unwrap()
            .as_str(),
        "required"
    );
    t.rollback().await;
    assert_eq!(
        trust_sids(&e.acct, "web-role").await,
        ["Ec2", "Own", "Backdoor"]
    );
    assert!(role_policies(&e.acct, "web-role").await.is_empty());
    assert_eq!(
        describe(&e.acct, &id)
            .await
            .metadata_options()
            .unwrap()
            .http_tokens()
            .unwrap()
            .as_str(),
        "optional"
    );
}

#[tokio::test]
async fn playbook_ec2_instance_compromise() {
    let Some(e) = env("320000000003").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let groups = eni_groups(&e.acct, &id).await;
    let plan = bundled_plan(
        "ec2-instance-compromise",
        vec![
            target(TargetKind::Instance, &id, &e.account),
            target(TargetKind::Account, &e.account, &e.account),
        ],
        settings(),
    );
    let mut t = Trial::new(&e.base, plan.clone());
    let r = t.run().await;
    ran_every_step(&plan, &r);
    let order: Vec<&str> = r
        .steps
        .iter()
        .map(|s| s.key.split('@').next().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "tag",
            "protect",
            "capture-metadata",
            "snapshot-volumes",
            "isolate",
            "detach-autoscaling",
            "deregister-targets",
            "remove-instance-profile",
            "require-imdsv2",
            "quarantine-subnet",
            "stop",
            "analyze"
        ]
    );
    let i = describe(&e.acct, &id).await;
    assert_ne!(i.state().unwrap().name().unwrap().as_str(), "running");
    assert_ne!(eni_groups(&e.acct, &id).await, groups);
    t.rollback().await;
    let i = describe(&e.acct, &id).await;
    assert!(matches!(
        i.state().unwrap().name().unwrap().as_str(),
        "pending" | "running"
    ));
    assert_eq!(eni_groups(&e.acct, &id).await, groups);
    assert!(
        i.tags()
            .iter()
            .all(|t| !t.key().unwrap().starts_with("firebreak:"))
    );
}

#[tokio::test]
async fn playbook_crypto_mining_instance() {
    let Some(e) = env("320000000004").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let key = user_with_key(&e.acct, "ci").await;
    let mut k = target(TargetKind::AccessKey, &key, &e.account);
    k.parent = Some("ci".into());
    let plan = bundled_plan(
        "crypto-mining-instance",
        vec![
            target(TargetKind::Instance, &id, &e.account),
            k,
            target(TargetKind::Account, &e.account, &e.account),
        ],
        settings(),
    );
    let mut t = Trial::new(&e.base, plan.clone());
    ran_every_step(&plan, &t.run().await);
    assert_eq!(key_status(&e.acct, "ci", &key).await, "Inactive");
    assert_ne!(
        describe(&e.acct, &id)
            .await
            .state()
            .unwrap()
            .name()
            .unwrap()
            .as_str(),
        "running"
    );
    t.rollback().await;
    assert_eq!(key_status(&e.acct, "ci", &key).await, "Active");
}

#[tokio::test]
async fn playbook_s3_public_or_exfiltration() {
    let Some(mut e) = env("320000000005").await else {
        return;
    };
    let b = "exposed-320000000005";
    bucket(&e.acct, b).await;
    e.base.overrides.s3_versioning =
        // The dry-run; before; after; the repeat's read and proof; the rollback's read; its
        // proof.
        Some(versioning_mock(&[
            None,
            None,
            Some("Enabled"),
            Some("Enabled"),
            Some("Enabled"),
            Some("Enabled"),
            Some("Suspended"),
        ]));
    let plan = bundled_plan(
        "s3-public-or-exfiltration",
        vec![
            target(TargetKind::Bucket, b, &e.account),
            target(TargetKind::Account, &e.account, &e.account),
        ],
        settings(),
    );
    let mut t = Trial::new(&e.base, plan.clone());
    ran_every_step(&plan, &t.run().await);
    assert!(
        e.acct
            .s3(REGION)
            .get_public_access_block()
            .bucket(b)
            .send()
            .await
            .is_ok()
    );
    assert!(
        e.acct
            .s3(REGION)
            .get_bucket_policy()
            .bucket(b)
            .send()
            .await
            .is_ok()
    );
    t.rollback().await;
    assert!(
        e.acct
            .s3(REGION)
            .get_public_access_block()
            .bucket(b)
            .send()
            .await
            .is_err()
    );
    assert!(
        e.acct
            .s3(REGION)
            .get_bucket_policy()
            .bucket(b)
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn playbook_snapshot_ami_shared_out() {
    let Some(e) = env("320000000006").await else {
        return;
    };
    let id = launch(&e.acct).await;
    let ec2 = e.acct.ec2(REGION);
    use aws_sdk_ec2::types::*;
    let snap = snapshot_of(&e.acct, &id).await;
    ec2.modify_snapshot_attribute()
        .snapshot_id(&snap)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Add)
        .user_ids(FOREIGN)
        .send()
        .await
        .unwrap();
    let image = ec2
        .create_image()
        .instance_id(&id)
        .name("shared")
        .send()
        .await
        .unwrap()
        .image_id()
        .unwrap()
        .to_string();
    ec2.modify_image_attribute()
        .image_id(&image)
        .launch_permission(
            LaunchPermissionModifications::builder()
                .add(
                    LaunchPermission::builder()
                        .group(PermissionGroup::All)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let plan = bundled_plan(
        "snapshot-ami-shared-out",
        vec![
            target(TargetKind::Snapshot, &snap, &e.account),
            target(TargetKind::Image, &image, &e.account),
            target(TargetKind::Account, &e.account, &e.account),
        ],
        settings(),
    );
    let mut t = Trial::new(&e.base, plan.clone());
    ran_every_step(&plan, &t.run().await);
    let public = || async {
        ec2.describe_image_attribute()
            .image_id(&image)
            .attribute(ImageAttributeName::LaunchPermission)
            .send()
            .await
            .unwrap()
            .launch_permissions()
            .iter()
            .any(|p| p.group().is_some())
    };
    assert!(!public().await);
    t.rollback().await;
    assert!(public().await);
}

#[tokio::test]
async fn playbook_logging_tampering() {
    let Some(mut e) = env("320000000007").await else {
        return;
    };
    bucket(&e.acct, "trail-320000000007").await;
    e.acct
        .cloudtrail(REGION)
        .create_trail()
        .name("org-trail")
        .s3_bucket_name("trail-320000000007")
        .send()
        .await
        .unwrap();
    let key = user_with_key(&e.acct, "intruder").await;
    let mut k = target(TargetKind::AccessKey, &key, &e.account);
    k.parent = Some("intruder".into());
    role(&e.acct, "ops", &e.account).await;
    let (gd, update) = guardduty_mock();
    e.base.overrides.guardduty = Some(gd);
    let plan = bundled_plan(
        "logging-tampering",
        vec![
            target(TargetKind::Trail, "org-trail", &e.account),
            Target::new(
                TargetKind::Region,
                REGION,
                model::AccountId::parse(&e.account).unwrap(),
                REGION,
            ),
            k,
            target(TargetKind::Role, "ops", &e.account),
            target(TargetKind::Account, &e.account, &e.account),
        ],
        settings(),
    );
    let mut t = Trial::new(&e.base, plan.clone());
    ran_every_step(&plan, &t.run().await);
    assert_eq!(
        e.acct
            .cloudtrail(REGION)
            .get_trail_status()
            .name("org-trail")
            .send()
            .await
            .unwrap()
            .is_logging(),
        Some(true)
    );
    assert!(
        !e.acct
            .ec2(REGION)
            .describe_flow_logs()
            .send()
            .await
            .unwrap()
            .flow_logs()
            .is_empty()
    );
    assert_eq!(update.num_calls(), 1);
    assert_eq!(key_status(&e.acct, "intruder", &key).await, "Inactive");
    let rb = t.rollback().await;
    // The actor's access comes back; restored logging and detection stay on.
    assert_eq!(key_status(&e.acct, "intruder", &key).await, "Active");
    assert_eq!(
        e.acct
            .cloudtrail(REGION)
            .get_trail_status()
            .name("org-trail")
            .send()
            .await
            .unwrap()
            .is_logging(),
        Some(true)
    );
    assert_eq!(
        rb.steps
            .iter()
            .filter(|s| s
                .detail
                .as_deref()
                .is_some_and(|d| d.starts_with("not rolled back")))
            .count(),
        3
    );
}

#[tokio::test]
async fn playbook_root_account_use() {
    let Some(e) = env("320000000008").await else {
        return;
    };
    let org = e.acct.organizations(REGION);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let victim = org
        .create_account()
        .email("member@example.com")
        .account_name("member")
        .send()
        .await
        .unwrap()
        .create_account_status()
        .unwrap()
        .account_id()
        .unwrap()
        .to_string();
    let mut s = settings();
    s.management_account = Some(e.account.clone());
    let plan = bundled_plan(
        "root-account-use",
        vec![target(TargetKind::Account, &victim, &victim)],
        s,
    );
    // The quarantine step asks for a CISO's approval besides the level's.
    let mut plan = plan;
    for (who, role) in [("alice", "responder"), ("dana", "ciso")] {
        plan.approval.approvers.insert(
            who.into(),
            playbook::approve::Approver {
                roles: vec![role.into()],
                keys: Vec::new(),
            },
        );
    }
    let anyone = Approval::new(&plan, "alice", NOW, None);
    let pending = playbook::approve(plan.clone(), std::slice::from_ref(&anyone)).unwrap_err();
    assert!(pending.missing[0].contains("role ciso"), "{pending}");
    let ciso = Approval::new(&plan, "dana", NOW, None);
    let ap = playbook::approve(plan.clone(), &[anyone, ciso]).unwrap();
    let mut t = Trial {
        conn: e.base.clone(),
        plan: ap,
        journal: MemoryJournal::default(),
    };
    ran_every_step(&plan, &t.run().await);
    let attached = || async {
        org.list_policies_for_target()
            .target_id(&victim)
            .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
            .send()
            .await
            .unwrap()
            .policies()
            .iter()
            .any(|p| p.name() == Some("FirebreakQuarantine"))
    };
    assert!(attached().await);
    t.rollback().await;
    assert!(!attached().await);
}

#[tokio::test]
async fn playbook_lambda_backdoor() {
    let Some(e) = env("320000000009").await else {
        return;
    };
    lambda_function(&e.acct, &e.account, "resize").await;
    let plan = bundled_plan(
        "lambda-backdoor",
        vec![
            target(TargetKind::Function, "resize", &e.account),
            target(TargetKind::Account, &e.account, &e.account),
        ],
        settings(),
    );
    let mut t = Trial::new(&e.base, plan.clone());
    ran_every_step(&plan, &t.run().await);
    assert_eq!(lambda_sids(&e.acct, "resize").await, ["s3-own"]);
    t.rollback().await;
    assert_eq!(
        lambda_sids(&e.acct, "resize").await,
        ["other-account", "public", "s3-own"]
    );
}

#[tokio::test]
async fn a_failed_memory_capture_is_never_followed_by_a_stop() {
    let Some(mut e) = env("320000000010").await else {
        return;
    };
    let id = launch(&e.acct).await;
    use aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationOutput;
    let offline = mock!(aws_sdk_ssm::Client::describe_instance_information)
        .then_output(|| DescribeInstanceInformationOutput::builder().build());
    e.base.overrides.ssm = Some(mocked!(aws_sdk_ssm, [&offline]));
    let book = playbook::bundled()
        .into_iter()
        .find(|b| b.name == "crypto-mining-instance")
        .unwrap();
    let bindings = playbook::Bindings {
        targets: [
            target(TargetKind::Instance, &id, &e.account),
            target(TargetKind::Account, &e.account, &e.account),
        ]
        .into(),
    };
    let mut s = settings();
    s.evidence_bucket = Some("evidence".into());
    let req = playbook::Request {
        include: vec!["capture-memory".into()],
        ..Default::default()
    };
    let plan = playbook::plan(
        &book,
        case::CaseId(7),
        model::Severity::Critical,
        None,
        &bindings,
        &s,
        ApprovalRule::without_plan(),
        &req,
    )
    .unwrap();
    let mut journal = MemoryJournal::default();
    let r = respond::run(&e.base, &approved(plan), &mut journal, NOW)
        .await
        .unwrap();
    let status = |spec: &str| {
        r.steps
            .iter()
            .find(|x| x.key.starts_with(&format!("{spec}@")))
            .map(|x| x.status)
    };
    assert_eq!(status("capture-memory"), Some(StepStatus::Failed), "{r:#?}");
    assert!(
        r.steps
            .iter()
            .find(|x| x.key.starts_with("capture-memory@"))
            .unwrap()
            .detail
            .as_deref()
            .unwrap()
            .contains("no SSM agent online")
    );
    // The run halts at the failed evidence step: nothing disruptive ran, the miner still runs.
    assert_eq!(status("stop"), None);
    assert_eq!(status("isolate"), None);
    assert_eq!(
        describe(&e.acct, &id)
            .await
            .state()
            .unwrap()
            .name()
            .unwrap()
            .as_str(),
        "running"
    );
    // Even with a failure policy of continue, the disruptive steps are skipped, not run.
    let mut plan = playbook::plan(
        &book,
        case::CaseId(7),
        model::Severity::Critical,
        None,
        &bindings,
        &s,
        ApprovalRule::without_plan(),
        &req,
    )
    .unwrap();
    for st in plan
        .steps
        .iter_mut()
        .filter(|st| st.spec == "capture-memory")
    {
        st.on_failure = OnFailure::Continue;
    }
    let r = respond::run(&e.base, &approved(plan), &mut MemoryJournal::default(), NOW)
        .await
        .unwrap();
    let status = |spec: &str| {
        r.steps
            .iter()
            .find(|x| x.key.starts_with(&format!("{spec}@")))
            .map(|x| x.status)
    };
    assert_eq!(status("stop"), Some(StepStatus::Skipped));
    assert_eq!(status("isolate"), Some(StepStatus::Skipped));
    assert_eq!(
        describe(&e.acct, &id)
            .await
            .state()
            .unwrap()
            .name()
            .unwrap()
            .as_str(),
        "running"
    );
}

#[tokio::test]
async fn capture_memory() {
    let Some(mut e) = env("310000000049").await else {
        return;
    };
    let id = launch(&e.acct).await;
    use aws_sdk_ssm::operation::{
        describe_instance_information::DescribeInstanceInformationOutput,
        get_command_invocation::GetCommandInvocationOutput, send_command::SendCommandOutput,
    };
    use aws_sdk_ssm::types::{Command, CommandInvocationStatus, InstanceInformation, PingStatus};
    let image = b"LiME image".to_vec();
    let sha = custody_sha(&image);
    let printed = format!("{sha}\n");
    let info = mock!(aws_sdk_ssm::Client::describe_instance_information).then_output(|| {
        DescribeInstanceInformationOutput::builder()
            .instance_information_list(
                InstanceInformation::builder()
                    .ping_status(PingStatus::Online)
                    .build(),
            )
            .build()
    });
    let send = mock!(aws_sdk_ssm::Client::send_command).then_output(|| {
        SendCommandOutput::builder()
            .command(Command::builder().command_id("c-1").build())
            .build()
    });
    let get = mock!(aws_sdk_ssm::Client::get_command_invocation).then_output(move || {
        GetCommandInvocationOutput::builder()
            .status(CommandInvocationStatus::Success)
            .standard_output_content(printed.clone())
            .build()
    });
    e.base.overrides.ssm = Some(mocked!(aws_sdk_ssm, [&info, &send, &get]));
    // What the instance would upload (moto runs no command).
    let bucket_name = format!("evidence-{}", e.account);
    bucket(&e.acct, &bucket_name).await;
    let digest: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&sha[i..i + 2], 16).unwrap())
        .collect();
    use base64::Engine;
    e.acct
        .s3(REGION)
        .put_object()
        .bucket(&bucket_name)
        .key(format!("cases/7/memory/{id}.lime"))
        .body(image.into())
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(&digest))
        .send()
        .await
        .unwrap();
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::CaptureMemory,
            target(TargetKind::Instance, &id, &e.account),
            json!({"bucket": bucket_name}),
        )]),
    );
    t.run().await;
    let r = t.receipt(&format!("ec2.capture-memory@{id}"));
    assert_eq!(r.outputs[0]["sha256"], json!(sha));
    assert_eq!(
        r.outputs[0]["location"],
        json!(format!("s3://{bucket_name}/cases/7/memory/{id}.lime"))
    );
    // Captured by the run cut off before its outcome was recorded, again on resume (that
    // image was never recorded), and again by the repeat plan: a new request, a new image.
    assert_eq!(send.num_calls(), 3);
}

fn custody_sha(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[tokio::test]
async fn a_step_killed_after_its_call_landed_is_not_sent_again() {
    let Some(e) = env("310000000050").await else {
        return;
    };
    user_with_key(&e.acct, "frank").await;
    let mut t = Trial::new(
        &e.base,
        plan_of(vec![step(
            Action::DeleteLoginProfile,
            target(TargetKind::User, "frank", &e.account),
            json!({}),
        )]),
    );
    t.run().await;
    // Killed after DeleteLoginProfile landed, before the step was recorded done.
    let r = t
        .journal
        .receipts
        .get_mut("iam.delete-login-profile@frank")
        .unwrap();
    r.status = StepStatus::Started;
    r.calls.clear();
    let again = t.run().await;
    assert!(
        again.steps[0].calls.is_empty(),
        "the profile is already gone: nothing to send ({again:#?})"
    );
    assert_eq!(
        t.receipt("iam.delete-login-profile@frank").before,
        Some(json!({"exists": true}))
    );
    t.rollback().await;
    assert!(
        e.acct
            .iam(REGION)
            .get_login_profile()
            .user_name("frank")
            .send()
            .await
            .is_ok()
    );
}
