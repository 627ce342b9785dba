//! Running approved response plans against AWS. For every step: check the guardrail,
//! record the before-state, make the calls, read the state again to prove the effect,
//! and keep a receipt from which the step can be rolled back. A dry-run makes only the
//! reads and prints the calls a run would make.
//!
//! Progress lives in a [`Journal`] (the case store): a run killed midway resumes from its
//! receipts without repeating finished steps, and a step interrupted after its
//! before-state was recorded keeps that before-state (the resource may already be changed)
//! while its calls are worked out again from the state as it is.

mod actions;
pub mod call;

pub use actions::policy_json;

use crate::connect::{ApiCall, Connection, Recorder};
use crate::{AwsError, call_error};
use actions::Act;
pub use call::Call;
use playbook::{Action, ApprovedPlan, Class, OnFailure, ResponsePlan, Step, TargetKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Role session name response runs use (visible in CloudTrail).
pub const SESSION: &str = "firebreak-respond";

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not begun.
    #[default]
    Pending,
    /// The before-state is recorded; calls may have been made.
    Started,
    /// The calls were made and the effect verified.
    Done,
    Failed,
    /// Not run (guardrail, or an evidence step before it failed).
    Skipped,
    /// The resource no longer exists: nothing to act on.
    NothingToDo,
    /// A manual step, handed to a person as a case task.
    Task,
    RolledBack,
    RollbackFailed,
}

impl StepStatus {
    pub fn name(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Started => "started",
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::NothingToDo => "nothing-to-do",
            StepStatus::Task => "task",
            StepStatus::RolledBack => "rolled-back",
            StepStatus::RollbackFailed => "rollback-failed",
        }
    }
}

/// What a step did: its before-state, the calls made, outputs (evidence hashes, created
/// ids), the state after, and its rollback.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// Mutating calls sent, as `service:Operation Param=value`.
    #[serde(default)]
    pub calls: Vec<String>,
    #[serde(default)]
    pub outputs: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// Why the step failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A protected resource acted on by override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<String>,
    #[serde(default)]
    pub rollback_calls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_error: Option<String>,
}

impl Receipt {
    /// Whether the step changed (or may have changed) something a rollback should undo.
    pub fn has_effect(&self) -> bool {
        self.before.is_some()
            && match self.status {
                // Interrupted: a call may have landed without being recorded.
                StepStatus::Started | StepStatus::Done | StepStatus::RollbackFailed => true,
                StepStatus::Failed => !self.calls.is_empty(),
                _ => false,
            }
    }
}

/// Which pass over a plan a call belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Run,
    Rollback,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Run => "run",
            Phase::Rollback => "rollback",
        }
    }
}

/// What came of a mutating call recorded as intended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum CallOutcome {
    /// AWS accepted it.
    Landed,
    /// AWS refused or failed it (the error).
    Failed(String),
    /// The run was interrupted before the outcome was recorded; on resume the state was
    /// read again (what it showed).
    Reconciled(String),
}

/// A mutating call recorded before it was sent, with no outcome yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub id: i64,
    pub phase: Phase,
    /// As `Call::describe` gives it.
    pub call: String,
}

/// Where receipts and calls are kept (the case store, or memory in tests).
pub trait Journal {
    /// Receipts recorded so far, by step key.
    fn receipts(&self) -> Result<BTreeMap<String, Receipt>, JournalError>;
    /// Durably records a step's receipt (before anything else happens).
    fn save(&mut self, step: &Step, receipt: &Receipt) -> Result<(), JournalError>;
    /// Records the AWS calls (as the SDK recorder saw them) a phase of a step made.
    fn calls(&mut self, step: &Step, phase: Phase, calls: &[ApiCall]) -> Result<(), JournalError>;
    /// Durably records a mutating call as intended, before it is sent; returns its id.
    fn intend(&mut self, step: &Step, phase: Phase, call: &str) -> Result<i64, JournalError>;
    /// Records what came of an intended call.
    fn settle(&mut self, intent: i64, outcome: &CallOutcome) -> Result<(), JournalError>;
    /// A step's intended calls with no outcome: they may have landed before a kill.
    fn unsettled(&self, step: &Step) -> Result<Vec<Intent>, JournalError>;
    /// Hands a manual step to a person.
    fn task(&mut self, step: &Step) -> Result<(), JournalError>;
}

/// The journal could not record progress: the run stops, since it could not resume.
#[derive(Debug, thiserror::Error)]
#[error("recording progress: {0}")]
pub struct JournalError(pub String);

/// A journal in memory. `stop_before_settling` makes it fail to record the outcome of the
/// n-th intended call (1-based), as a kill right after that call landed would: the run
/// stops there with its step caught `started`.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    pub receipts: BTreeMap<String, Receipt>,
    pub calls: Vec<(String, Phase, ApiCall)>,
    pub tasks: Vec<String>,
    /// (step key, intent, outcome once settled).
    pub intents: Vec<(String, Intent, Option<CallOutcome>)>,
    pub stop_before_settling: Option<usize>,
}

impl Journal for MemoryJournal {
    fn receipts(&self) -> Result<BTreeMap<String, Receipt>, JournalError> {
        Ok(self.receipts.clone())
    }
    fn save(&mut self, step: &Step, r: &Receipt) -> Result<(), JournalError> {
        self.receipts.insert(step.key.clone(), r.clone());
        Ok(())
    }
    fn calls(&mut self, step: &Step, phase: Phase, calls: &[ApiCall]) -> Result<(), JournalError> {
        self.calls
            .extend(calls.iter().map(|c| (step.key.clone(), phase, c.clone())));
        Ok(())
    }
    fn intend(&mut self, step: &Step, phase: Phase, call: &str) -> Result<i64, JournalError> {
        let id = self.intents.len() as i64 + 1;
        self.intents.push((
            step.key.clone(),
            Intent {
                id,
                phase,
                call: call.to_string(),
            },
            None,
        ));
        Ok(id)
    }
    fn settle(&mut self, intent: i64, outcome: &CallOutcome) -> Result<(), JournalError> {
        if self.stop_before_settling == Some(intent as usize) {
            self.stop_before_settling = None;
            return Err(JournalError(format!(
                "stopped before recording the outcome of call {intent}"
            )));
        }
        if let Some(i) = self.intents.iter_mut().find(|i| i.1.id == intent) {
            i.2 = Some(outcome.clone());
        }
        Ok(())
    }
    fn unsettled(&self, step: &Step) -> Result<Vec<Intent>, JournalError> {
        Ok(self
            .intents
            .iter()
            .filter(|(k, _, o)| k == &step.key && o.is_none())
            .map(|(_, i, _)| i.clone())
            .collect())
    }
    fn task(&mut self, step: &Step) -> Result<(), JournalError> {
        self.tasks.push(step.key.clone());
        Ok(())
    }
}

/// What happened to one step in a run or rollback.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepOutcome {
    pub key: String,
    pub action: Action,
    pub target: String,
    pub status: StepStatus,
    /// Finished in an earlier run (not repeated).
    pub earlier: bool,
    pub calls: Vec<String>,
    pub detail: Option<String>,
}

/// A run's or rollback's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub steps: Vec<StepOutcome>,
    /// Why the run stopped before the end.
    pub halted: Option<String>,
    /// Steps rolled back because a step's failure policy asked for it.
    pub rolled_back: Vec<StepOutcome>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.halted.is_none()
            && self
                .steps
                .iter()
                .all(|s| !matches!(s.status, StepStatus::Failed | StepStatus::RollbackFailed))
    }
}

/// Why a run could not go on at all.
#[derive(Debug, thiserror::Error)]
pub enum RespondError {
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// One step's context: clients in its account and region, and the plan's settings.
pub struct Cx<'a> {
    conn: &'a Connection,
    region: &'a str,
    pub case: case::CaseId,
    pub now_ms: i64,
    isolation_group: &'a str,
    evidence_bucket: Option<&'a str>,
    forensic_account: Option<&'a str>,
    kms_key: Option<&'a str>,
    responder: String,
}

impl Cx<'_> {
    pub(crate) fn ec2(&self) -> aws_sdk_ec2::Client {
        self.conn.ec2(self.region)
    }
    pub(crate) fn iam(&self) -> aws_sdk_iam::Client {
        self.conn.iam(self.region)
    }
    pub(crate) fn s3(&self) -> aws_sdk_s3::Client {
        self.conn.s3(self.region)
    }
    pub(crate) fn s3_versioning(&self) -> aws_sdk_s3::Client {
        self.conn.s3_versioning(self.region)
    }
    pub(crate) fn lambda(&self) -> aws_sdk_lambda::Client {
        self.conn.lambda(self.region)
    }
    pub(crate) fn autoscaling(&self) -> aws_sdk_autoscaling::Client {
        self.conn.autoscaling(self.region)
    }
    pub(crate) fn elbv2(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        self.conn.elbv2(self.region)
    }
    pub(crate) fn organizations(&self) -> aws_sdk_organizations::Client {
        self.conn.organizations(self.region)
    }
    pub(crate) fn cloudtrail(&self) -> aws_sdk_cloudtrail::Client {
        self.conn.cloudtrail(self.region)
    }
    pub(crate) fn guardduty(&self) -> aws_sdk_guardduty::Client {
        self.conn.guardduty(self.region)
    }
    pub(crate) fn conn(&self) -> &Connection {
        self.conn
    }
    pub(crate) fn region(&self) -> &str {
        self.region
    }
    pub(crate) fn evidence_bucket(&self) -> Option<&str> {
        self.evidence_bucket
    }
    pub(crate) fn forensic_account(&self) -> Option<&str> {
        self.forensic_account
    }
    pub(crate) fn kms_key(&self) -> Option<&str> {
        self.kms_key
    }
    pub(crate) fn isolation_group(&self) -> &str {
        self.isolation_group
    }
    /// The responder role's ARN in `account` (what locked resources still admit).
    pub(crate) fn responder_arn(&self, account: &str) -> String {
        self.responder.replace("{account}", account)
    }
}

/// A step phase, dispatched to the action's implementation.
enum Op<'v> {
    Read,
    Effect(&'v Value),
    Holds(&'v Value, &'v [Value]),
    Undo(&'v Value),
    Restored(&'v Value, &'v Value),
}

enum Out {
    State(Value),
    Calls(Vec<Call>),
    Holds,
}

/// A phase that failed: AWS refused or failed, or the state was not what it must be.
#[derive(Debug)]
enum Fail {
    Aws(AwsError),
    State(String),
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fail::Aws(e) => {
                write!(f, "{e}")?;
                if e.is_access_denied() {
                    let AwsError::Call {
                        service, operation, ..
                    } = e;
                    write!(
                        f,
                        " (the responder role needs {}: see `firebreak respond iam-policy`)",
                        crate::connect::permission_for(service, operation)
                    )?;
                } else if e
                    .code()
                    .is_some_and(|c| c.contains("Throttl") || c == "RequestLimitExceeded")
                {
                    write!(f, " (throttled: run again to resume)")?;
                }
                Ok(())
            }
            Fail::State(s) => f.write_str(s),
        }
    }
}

impl From<AwsError> for Fail {
    fn from(e: AwsError) -> Self {
        Fail::Aws(e)
    }
}

async fn phase<A: Act>(cx: &Cx<'_>, s: &Step, op: Op<'_>) -> Result<Out, Fail> {
    let state = |v: &Value| -> Result<A::State, Fail> {
        serde_json::from_value(v.clone())
            .map_err(|e| Fail::State(format!("recorded state unreadable: {e}")))
    };
    Ok(match op {
        Op::Read => Out::State(serde_json::to_value(A::read(cx, s).await?).unwrap_or(Value::Null)),
        Op::Effect(b) => Out::Calls(A::effect(cx, s, &state(b)?).map_err(Fail::State)?),
        Op::Holds(a, outputs) => {
            A::holds(cx, s, &state(a)?, outputs)
                .map_err(|e| Fail::State(format!("not verified: {e}")))?;
            Out::Holds
        }
        Op::Undo(b) => Out::Calls(A::undo(cx, s, &state(b)?)),
        Op::Restored(b, n) => {
            A::restored(&state(b)?, &state(n)?)
                .map_err(|e| Fail::State(format!("not restored: {e}")))?;
            Out::Holds
        }
    })
}

async fn dispatch(cx: &Cx<'_>, s: &Step, op: Op<'_>) -> Result<Out, Fail> {
    use actions::*;
    match s.action {
        Action::TagInstance => phase::<TagInstance>(cx, s, op).await,
        Action::CaptureMetadata => phase::<CaptureMetadata>(cx, s, op).await,
        Action::CaptureMemory => phase::<CaptureMemory>(cx, s, op).await,
        Action::CopySnapshotsToForensics => phase::<CopySnapshotsToForensics>(cx, s, op).await,
        Action::SnapshotVolumes => phase::<SnapshotVolumes>(cx, s, op).await,
        Action::ProtectInstance => phase::<ProtectInstance>(cx, s, op).await,
        Action::IsolateInstance => phase::<IsolateInstance>(cx, s, op).await,
        Action::DetachFromAutoScaling => phase::<DetachFromAutoScaling>(cx, s, op).await,
        Action::DeregisterFromTargetGroups => phase::<DeregisterFromTargetGroups>(cx, s, op).await,
        Action::RemoveInstanceProfile => phase::<RemoveInstanceProfile>(cx, s, op).await,
        Action::RestrictImds => phase::<RestrictImds>(cx, s, op).await,
        Action::QuarantineSubnet => phase::<QuarantineSubnet>(cx, s, op).await,
        Action::StopInstance => phase::<StopInstance>(cx, s, op).await,
        Action::UnshareSnapshot => phase::<Unshare<false>>(cx, s, op).await,
        Action::UnshareImage => phase::<Unshare<true>>(cx, s, op).await,
        Action::RestoreFlowLogs => phase::<RestoreFlowLogs>(cx, s, op).await,
        Action::DeactivateAccessKey => phase::<DeactivateAccessKey>(cx, s, op).await,
        Action::DeleteLoginProfile => phase::<DeleteLoginProfile>(cx, s, op).await,
        Action::DenyAllUser => phase::<DenyAllUser>(cx, s, op).await,
        Action::RevokeUserSessions => phase::<RevokeUserSessions>(cx, s, op).await,
        Action::RevokeRoleSessions => phase::<RevokeRoleSessions>(cx, s, op).await,
        Action::DenyAllRole => phase::<DenyAllRole>(cx, s, op).await,
        Action::RestrictRoleTrust => phase::<RestrictRoleTrust>(cx, s, op).await,
        Action::CaptureCredentialReport => phase::<CaptureCredentialReport>(cx, s, op).await,
        Action::BlockPublicAccess => phase::<BlockPublicAccess>(cx, s, op).await,
        Action::EnableVersioning => phase::<EnableVersioning>(cx, s, op).await,
        Action::LockBucketPolicy => phase::<LockBucketPolicy>(cx, s, op).await,
        Action::ZeroConcurrency => phase::<ZeroConcurrency>(cx, s, op).await,
        Action::RemovePublicPermissions => phase::<RemovePublicPermissions>(cx, s, op).await,
        Action::QuarantineAccount => phase::<QuarantineAccount>(cx, s, op).await,
        Action::StartLogging => phase::<StartLogging>(cx, s, op).await,
        Action::EnableGuardDuty => phase::<EnableGuardDuty>(cx, s, op).await,
        Action::Manual => Err(Fail::State("a manual step has no AWS effect".into())),
    }
}

async fn read(cx: &Cx<'_>, s: &Step) -> Result<Value, Fail> {
    match dispatch(cx, s, Op::Read).await? {
        Out::State(v) => Ok(v),
        _ => unreachable!("read returns a state"),
    }
}

async fn calls(cx: &Cx<'_>, s: &Step, op: Op<'_>) -> Result<Vec<Call>, Fail> {
    match dispatch(cx, s, op).await? {
        Out::Calls(c) => Ok(c),
        _ => unreachable!("effect and undo return calls"),
    }
}

/// Connections per account: the responder role assumed once per account.
struct Accounts<'a> {
    base: &'a Connection,
    plan: &'a ResponsePlan,
    conns: BTreeMap<String, Connection>,
    /// The caller's role ARN (`{account}` stands for the account) when no role is assumed.
    caller: Option<String>,
}

impl<'a> Accounts<'a> {
    fn new(base: &'a Connection, plan: &'a ResponsePlan) -> Self {
        Accounts {
            base,
            plan,
            conns: BTreeMap::new(),
            caller: None,
        }
    }

    /// The account a step's calls go to: the target's, or the management account for SCPs.
    fn account_of(step: &Step) -> &str {
        match step.action {
            Action::QuarantineAccount => step
                .target
                .parent
                .as_deref()
                .unwrap_or(&step.target.account),
            _ => &step.target.account,
        }
    }

    async fn cx(&mut self, step: &'a Step, now_ms: i64) -> Result<Cx<'_>, Fail> {
        let account = Self::account_of(step).to_string();
        let settings = &self.plan.settings;
        let responder = match &settings.responder_role {
            Some(role) => format!("arn:aws:iam::{{account}}:role/{role}"),
            None => match &self.caller {
                Some(c) => c.clone(),
                None => {
                    let c = caller_role(self.base).await?;
                    self.caller = Some(c.clone());
                    c
                }
            },
        };
        if !self.conns.contains_key(&account) {
            let conn = match &settings.responder_role {
                Some(role) => {
                    let arn = format!("arn:aws:iam::{account}:role/{role}");
                    let session = format!("{SESSION}-case-{}", self.plan.case_id);
                    self.base
                        .assume(&arn, settings.external_id.as_deref(), &session)
                        .await?
                }
                None => self.base.clone(),
            };
            self.conns.insert(account.clone(), conn);
        }
        Ok(Cx {
            conn: &self.conns[&account],
            region: &step.target.region,
            case: self.plan.case_id,
            now_ms,
            isolation_group: &settings.isolation_group,
            evidence_bucket: settings.evidence_bucket.as_deref(),
            forensic_account: settings.forensic_account.as_deref(),
            kms_key: settings.kms_key.as_deref(),
            responder,
        })
    }
}

/// The caller's role ARN, with `{account}` for the account (so it fits any account of a
/// single-account run); an IAM user's ARN as it is.
async fn caller_role(conn: &Connection) -> Result<String, AwsError> {
    let sts = aws_sdk_sts::Client::new(&conn.base);
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| call_error("sts", "GetCallerIdentity", e))?;
    let arn = me.arn().unwrap_or_default();
    Ok(match arn.split_once(":assumed-role/") {
        Some((head, rest)) => {
            let role = rest.split('/').next().unwrap_or(rest);
            let account = head.rsplit(':').next().unwrap_or_default();
            format!("arn:aws:iam::{account}:role/{role}")
        }
        None => arn.to_string(),
    })
}

/// The tags of a step's resource (none for trails, regions and accounts).
async fn resource_tags(cx: &Cx<'_>, step: &Step) -> Result<Vec<(String, String)>, AwsError> {
    let t = &step.target;
    Ok(match t.kind {
        TargetKind::Instance | TargetKind::Snapshot | TargetKind::Image => {
            use aws_sdk_ec2::types::Filter;
            let out = cx
                .ec2()
                .describe_tags()
                .filters(Filter::builder().name("resource-id").values(&t.id).build())
                .send()
                .await
                .map_err(|e| call_error("ec2", "DescribeTags", e))?;
            out.tags()
                .iter()
                .map(|d| {
                    (
                        d.key().unwrap_or_default().into(),
                        d.value().unwrap_or_default().into(),
                    )
                })
                .collect()
        }
        TargetKind::User | TargetKind::AccessKey => {
            let user = if t.kind == TargetKind::User {
                t.id.as_str()
            } else {
                t.parent.as_deref().unwrap_or_default()
            };
            let out = cx
                .iam()
                .list_user_tags()
                .user_name(user)
                .send()
                .await
                .map_err(|e| call_error("iam", "ListUserTags", e))?;
            out.tags()
                .iter()
                .map(|d| (d.key().into(), d.value().into()))
                .collect()
        }
        TargetKind::Role => {
            let out = cx
                .iam()
                .list_role_tags()
                .role_name(&t.id)
                .send()
                .await
                .map_err(|e| call_error("iam", "ListRoleTags", e))?;
            out.tags()
                .iter()
                .map(|d| (d.key().into(), d.value().into()))
                .collect()
        }
        TargetKind::Bucket => match cx.s3().get_bucket_tagging().bucket(&t.id).send().await {
            Ok(out) => out
                .tag_set()
                .iter()
                .map(|d| (d.key().into(), d.value().into()))
                .collect(),
            Err(e) => {
                let e = call_error("s3", "GetBucketTagging", e);
                if e.code() == Some("NoSuchTagSet") {
                    Vec::new()
                } else {
                    return Err(e);
                }
            }
        },
        TargetKind::Function => {
            let f = cx
                .lambda()
                .get_function()
                .function_name(&t.id)
                .send()
                .await
                .map_err(|e| call_error("lambda", "GetFunction", e))?;
            f.tags()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        }
        TargetKind::Trail | TargetKind::Region | TargetKind::Account => Vec::new(),
    })
}

/// What the resource's tags say before a step acts: why it must not act (a precondition
/// fails, or the guardrail holds without an override), and the protected tag it carries.
struct Gate {
    stop: Option<String>,
    protected: Option<String>,
}

async fn gate(cx: &Cx<'_>, plan: &ResponsePlan, step: &Step) -> Result<Gate, AwsError> {
    let tags = resource_tags(cx, step).await?;
    let protected =
        playbook::spec::has_tag(&tags, &plan.protected_tag).then(|| plan.protected_tag.clone());
    let stop = step
        .preconditions
        .unmet(&tags)
        .or_else(|| match &protected {
            Some(tag) if !step.override_protected => Some(format!(
                "guardrail: {} is tagged {tag}; plan again with --override {} to act on it",
                step.target,
                step.target.key()
            )),
            _ => None,
        });
    Ok(Gate { stop, protected })
}

/// What a dry-run found for one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryStep {
    pub key: String,
    pub action: Action,
    pub target: String,
    /// The exact calls a run would make now (empty: already in effect).
    pub calls: Vec<String>,
    /// The before-state read.
    pub before: Option<Value>,
    /// The protected tag, when the resource carries it.
    pub protected: Option<String>,
    /// Why a run would not act (a precondition, or the guardrail without override).
    pub skip: Option<String>,
    /// Why the calls could not be worked out (the run would fail here too).
    pub error: Option<String>,
    /// Why there is nothing to do (the resource no longer exists).
    pub note: Option<String>,
}

/// Reads every step's before-state and works out its exact calls; sends nothing that
/// changes anything.
pub async fn dry_run(conn: &Connection, plan: &ResponsePlan, now_ms: i64) -> Vec<DryStep> {
    let mut accounts = Accounts::new(conn, plan);
    let mut out = Vec::new();
    for step in &plan.steps {
        let mut d = DryStep {
            key: step.key.clone(),
            action: step.action,
            target: step.target.to_string(),
            calls: Vec::new(),
            before: None,
            protected: None,
            skip: None,
            error: None,
            note: None,
        };
        if step.action == Action::Manual {
            out.push(d);
            continue;
        }
        let r: Result<(), Fail> = async {
            let cx = accounts.cx(step, now_ms).await?;
            let g = gate(&cx, plan, step).await?;
            d.protected = g.protected;
            d.skip = g.stop;
            let before = read(&cx, step).await?;
            d.calls = calls_now(&cx, step, &before)
                .await?
                .iter()
                .map(Call::describe)
                .collect();
            d.before = Some(before);
            Ok(())
        }
        .await;
        match r {
            Err(Fail::Aws(e)) if gone(&e) => {
                d.note = Some(format!("{} no longer exists ({e})", step.target))
            }
            Err(e) => d.error = Some(e.to_string()),
            Ok(()) => {}
        }
        out.push(d);
    }
    out
}

/// Runs an approved plan, resuming from the journal's receipts.
pub async fn run(
    conn: &Connection,
    approved: &ApprovedPlan,
    journal: &mut dyn Journal,
    now_ms: i64,
) -> Result<Report, RespondError> {
    let plan = approved.plan();
    let recorder = Recorder::default();
    let mut conn = conn.clone();
    conn.recorder = Some(recorder.clone());
    let mut accounts = Accounts::new(&conn, plan);
    let receipts = journal.receipts()?;
    let mut report = Report::default();
    let mut evidence_failed: Option<String> = None;
    let mut this_run: Vec<&Step> = Vec::new();

    for step in &plan.steps {
        let mut rec = receipts.get(&step.key).cloned().unwrap_or_default();
        let mut outcome = StepOutcome {
            key: step.key.clone(),
            action: step.action,
            target: step.target.to_string(),
            status: rec.status,
            earlier: true,
            calls: Vec::new(),
            detail: None,
        };
        if matches!(
            rec.status,
            StepStatus::Done | StepStatus::Task | StepStatus::NothingToDo
        ) {
            report.steps.push(outcome);
            continue;
        }
        outcome.earlier = false;
        rec.error = None;
        if rec.status == StepStatus::RolledBack {
            rec = Receipt::default();
        }
        if step.action.class() == Class::Disruptive
            && let Some(ev) = &evidence_failed
        {
            rec.status = StepStatus::Skipped;
            rec.error = Some(format!(
                "evidence step {ev} failed: disruptive steps do not run"
            ));
            journal.save(step, &rec)?;
            outcome.status = rec.status;
            outcome.detail = rec.error.clone();
            report.steps.push(outcome);
            continue;
        }
        if step.action == Action::Manual {
            journal.task(step)?;
            rec.status = StepStatus::Task;
            journal.save(step, &rec)?;
            outcome.status = rec.status;
            outcome.detail = step.instructions.clone();
            report.steps.push(outcome);
            continue;
        }

        let mut resumed = Vec::new();
        let result = run_step(
            &mut accounts,
            plan,
            step,
            &mut rec,
            journal,
            now_ms,
            &mut resumed,
        )
        .await;
        journal.calls(step, Phase::Run, &recorder.take())?;
        match result {
            Ok(()) => rec.status = StepStatus::Done,
            Err(StepEnd::Gone(why)) => {
                rec.status = StepStatus::NothingToDo;
                rec.error = Some(why);
            }
            Err(StepEnd::Skipped(why)) => {
                rec.status = StepStatus::Skipped;
                rec.error = Some(why);
            }
            Err(StepEnd::Failed(why)) => {
                rec.status = StepStatus::Failed;
                rec.error = Some(why);
            }
            Err(StepEnd::Journal(e)) => return Err(e.into()),
        }
        journal.save(step, &rec)?;
        outcome.status = rec.status;
        outcome.calls = rec.calls.clone();
        outcome.detail = rec.error.clone().or_else(|| {
            rec.overridden
                .clone()
                .map(|t| format!("protected ({t}): acted on by override"))
        });
        if !resumed.is_empty() {
            let note = format!(
                "resumed after an interruption; these calls may have landed then: {}",
                resumed.join("; ")
            );
            outcome.detail = Some(match outcome.detail.take() {
                Some(d) => format!("{note}; {d}"),
                None => note,
            });
        }
        let failed = rec.status == StepStatus::Failed;
        let skipped = rec.status == StepStatus::Skipped;
        report.steps.push(outcome);
        if rec.has_effect() {
            this_run.push(step);
        }
        if (failed || skipped) && step.action.class() == Class::Evidence {
            evidence_failed.get_or_insert(step.key.clone());
        }
        if failed {
            let why = format!(
                "step {} failed: {}",
                step.key,
                rec.error.as_deref().unwrap_or_default()
            );
            match step.on_failure {
                OnFailure::Continue => {}
                OnFailure::Stop => {
                    report.halted = Some(why);
                    break;
                }
                OnFailure::Rollback => {
                    report.halted = Some(format!("{why}; rolling back this run's steps"));
                    let keys: Vec<String> = this_run.iter().map(|s| s.key.clone()).collect();
                    drop(accounts);
                    let undo = rollback(&conn, approved, journal, Some(&keys)).await?;
                    report.rolled_back = undo.steps;
                    return Ok(report);
                }
            }
        }
    }
    Ok(report)
}

enum StepEnd {
    Skipped(String),
    /// The resource no longer exists.
    Gone(String),
    Failed(String),
    Journal(JournalError),
}

impl From<Fail> for StepEnd {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Aws(e) if gone(&e) => StepEnd::Gone(format!("nothing to do: {e}")),
            f => StepEnd::Failed(f.to_string()),
        }
    }
}

impl From<JournalError> for StepEnd {
    fn from(e: JournalError) -> Self {
        StepEnd::Journal(e)
    }
}

/// Whether AWS says the resource itself does not exist (as opposed to refusing or failing).
fn gone(e: &AwsError) -> bool {
    e.code().is_some_and(|c| {
        matches!(
            c,
            "NoSuchEntity"
                | "NoSuchBucket"
                | "ResourceNotFoundException"
                | "TrailNotFoundException"
                | "TargetNotFoundException"
                | "InvalidInstanceID.NotFound"
                | "InvalidSnapshot.NotFound"
                | "InvalidAMIID.NotFound"
                | "InvalidAMIID.Unavailable"
        )
    })
}

/// The calls that bring `current` to the step's effect: none when the effect already holds
/// (a repeat, a resumed step whose calls landed, a resource contained by another plan).
async fn calls_now(cx: &Cx<'_>, s: &Step, current: &Value) -> Result<Vec<Call>, Fail> {
    if matches!(
        dispatch(cx, s, Op::Holds(current, &[])).await,
        Ok(Out::Holds)
    ) {
        return Ok(Vec::new());
    }
    calls(cx, s, Op::Effect(current)).await
}

/// Sends `calls` write-ahead: each is recorded as intended before it is sent and settled
/// with its outcome after. Returns what each produced.
async fn send_journaled(
    cx: &Cx<'_>,
    step: &Step,
    phase: Phase,
    calls: Vec<Call>,
    journal: &mut dyn Journal,
    sent: &mut Vec<String>,
) -> Result<Vec<Value>, StepEnd> {
    let mut outputs = Vec::new();
    for call in calls {
        let described = call.describe();
        let intent = journal.intend(step, phase, &described)?;
        match call.send(cx).await {
            Ok(out) => {
                journal.settle(intent, &CallOutcome::Landed)?;
                sent.push(described);
                if !out.is_null() {
                    outputs.push(out);
                }
            }
            Err(e) => {
                let why = Fail::from(e).to_string();
                journal.settle(intent, &CallOutcome::Failed(why.clone()))?;
                return Err(StepEnd::Failed(format!("{described}: {why}")));
            }
        }
    }
    Ok(outputs)
}

async fn run_step<'a>(
    accounts: &mut Accounts<'a>,
    plan: &'a ResponsePlan,
    step: &'a Step,
    rec: &mut Receipt,
    journal: &mut dyn Journal,
    now_ms: i64,
    resumed: &mut Vec<String>,
) -> Result<(), StepEnd> {
    let cx = accounts.cx(step, now_ms).await?;
    // The calls are worked out from the state as it is now. A step interrupted after its
    // before-state was recorded may already have changed the resource: its recorded
    // before-state stands (rollback returns to it), and only what is still missing is done.
    let current = match rec.before {
        Some(_) => read(&cx, step).await?,
        None => {
            let g = gate(&cx, plan, step).await.map_err(Fail::from)?;
            if let Some(why) = g.stop {
                return Err(StepEnd::Skipped(why));
            }
            rec.overridden = g.protected;
            let b = read(&cx, step).await?;
            rec.before = Some(b.clone());
            rec.status = StepStatus::Started;
            journal.save(step, rec).map_err(StepEnd::Journal)?;
            b
        }
    };
    let todo = calls_now(&cx, step, &current).await?;
    // Calls recorded as intended but never settled were cut off by a kill: they may have
    // landed. The state just read is their reconciliation.
    for intent in journal.unsettled(step)? {
        let seen = if todo.is_empty() {
            "the state read on resume shows the step's effect in place".to_string()
        } else {
            format!(
                "the state read on resume still lacks the effect; {} call(s) are sent",
                todo.len()
            )
        };
        journal.settle(intent.id, &CallOutcome::Reconciled(seen))?;
        rec.calls.push(format!(
            "{} (may have landed before an interruption)",
            intent.call
        ));
        resumed.push(intent.call);
    }
    let mut sent = Vec::new();
    let result = send_journaled(&cx, step, Phase::Run, todo, journal, &mut sent).await;
    rec.calls.extend(sent);
    rec.outputs.extend(result?);
    let after = read(&cx, step).await?;
    rec.after = Some(after.clone());
    dispatch(&cx, step, Op::Holds(&after, &rec.outputs)).await?;
    Ok(())
}

/// Undoes the steps that took effect (all, or the keys in `only`), last first, from their
/// recorded before-states, and proves each resource is back. Steps that cannot be undone
/// (evidence, restored logging) are reported and left.
pub async fn rollback(
    conn: &Connection,
    approved: &ApprovedPlan,
    journal: &mut dyn Journal,
    only: Option<&[String]>,
) -> Result<Report, RespondError> {
    let plan = approved.plan();
    let recorder = Recorder::default();
    let mut conn = conn.clone();
    conn.recorder = Some(recorder.clone());
    let mut accounts = Accounts::new(&conn, plan);
    let receipts = journal.receipts()?;
    let mut report = Report::default();
    for step in plan.steps.iter().rev() {
        if only.is_some_and(|keys| !keys.contains(&step.key)) {
            continue;
        }
        let Some(mut rec) = receipts.get(&step.key).cloned() else {
            continue;
        };
        if !rec.has_effect() {
            continue;
        }
        let mut outcome = StepOutcome {
            key: step.key.clone(),
            action: step.action,
            target: step.target.to_string(),
            status: rec.status,
            earlier: false,
            calls: Vec::new(),
            detail: None,
        };
        if !step.action.reversible() {
            outcome.detail = Some(format!("not rolled back: {}", step.action.undo()));
            report.steps.push(outcome);
            continue;
        }
        let before = rec.before.clone().unwrap_or(Value::Null);
        rec.rollback_calls.clear();
        let result: Result<(), StepEnd> = async {
            let cx = accounts.cx(step, 0).await?;
            let now = read(&cx, step).await?;
            // Already back where it was (a rollback interrupted after its calls): nothing.
            let undo = if matches!(
                dispatch(&cx, step, Op::Restored(&before, &now)).await,
                Ok(Out::Holds)
            ) {
                Vec::new()
            } else {
                calls(&cx, step, Op::Undo(&before)).await?
            };
            for intent in journal.unsettled(step)? {
                journal.settle(
                    intent.id,
                    &CallOutcome::Reconciled(
                        "interrupted; the rollback read the state again and works from it".into(),
                    ),
                )?;
            }
            let mut sent = Vec::new();
            let r = send_journaled(&cx, step, Phase::Rollback, undo, journal, &mut sent).await;
            rec.rollback_calls.extend(sent);
            r?;
            let now = read(&cx, step).await?;
            dispatch(&cx, step, Op::Restored(&before, &now)).await?;
            Ok(())
        }
        .await;
        journal.calls(step, Phase::Rollback, &recorder.take())?;
        match result {
            Ok(()) => {
                rec.status = StepStatus::RolledBack;
                rec.rollback_error = None;
            }
            Err(StepEnd::Journal(e)) => return Err(e.into()),
            Err(StepEnd::Failed(e) | StepEnd::Gone(e) | StepEnd::Skipped(e)) => {
                rec.status = StepStatus::RollbackFailed;
                rec.rollback_error = Some(e);
            }
        }
        journal.save(step, &rec)?;
        outcome.status = rec.status;
        outcome.calls = rec.rollback_calls.clone();
        outcome.detail = rec.rollback_error.clone();
        report.steps.push(outcome);
    }
    Ok(report)
}
