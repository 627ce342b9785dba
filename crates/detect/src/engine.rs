//! The detector: routes each event to the rules that can match it, evaluates them, and
//! turns matches into alerts (and into hits for correlation rules).

use crate::attack;
use crate::doc::{EventDoc, FieldPaths};
use model::entity::RecordMemo;
use model::{Alert, AlertKind, Event, EventContext, EventRef, RuleRef, Severity, SourceKind};
use sigma::compile::RuleSet;
use sigma::matcher::fold;
use sigma::{Document, FieldId, Level, LogSource};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Severity of a Sigma level.
pub fn severity_of(level: Level) -> Severity {
    match level {
        Level::Informational => Severity::Informational,
        Level::Low => Severity::Low,
        Level::Medium => Severity::Medium,
        Level::High => Severity::High,
        Level::Critical => Severity::Critical,
    }
}

/// Which event sources a logsource applies to.
pub fn sources_of(ls: &LogSource) -> Vec<SourceKind> {
    let product_ok = ls.product.as_deref().is_none_or(|p| p == "aws");
    if !product_ok {
        return Vec::new();
    }
    match ls.service.as_deref() {
        None => SourceKind::ALL.to_vec(),
        Some("cloudtrail") => vec![SourceKind::CloudTrail],
        Some("vpcflow" | "vpc_flow" | "vpcflowlogs" | "vpc-flow-logs" | "flowlogs") => {
            vec![SourceKind::VpcFlow]
        }
        Some("guardduty") => vec![SourceKind::GuardDuty],
        Some("securityhub" | "security_hub") => vec![SourceKind::SecurityHub],
        Some(_) => Vec::new(),
    }
}

fn source_index(k: SourceKind) -> usize {
    match k {
        SourceKind::CloudTrail => 0,
        SourceKind::VpcFlow => 1,
        SourceKind::GuardDuty => 2,
        SourceKind::SecurityHub => 3,
    }
}

/// Candidate rules for one source: by exact `eventName`, else by exact `eventSource`,
/// else evaluated on every event.
#[derive(Debug, Default)]
struct Route {
    field: Option<FieldId>,
    by_value: HashMap<String, Vec<usize>>,
    second_field: Option<FieldId>,
    by_second: HashMap<String, Vec<usize>>,
    always: Vec<usize>,
}

/// A referenced rule's match, kept for correlation.
#[derive(Debug, Clone)]
pub struct Hit {
    pub correlation: usize,
    /// Position of the matching rule in the correlation's `rules`.
    pub rule_pos: usize,
    pub time_ms: i64,
    pub group: Vec<String>,
    pub value: Option<String>,
    pub context: Arc<Alert>,
}

/// What evaluating events produced.
#[derive(Debug, Default)]
pub struct Matches {
    pub alerts: Vec<Alert>,
    pub hits: Vec<Hit>,
    /// Matches of rules that only feed correlations (no alert of their own).
    pub silent_matches: u64,
    /// The last input name seen, shared by the events of one file.
    last_file: Option<Arc<str>>,
}

impl Matches {
    fn file(&mut self, name: &str) -> Arc<str> {
        match &self.last_file {
            Some(f) if &**f == name => f.clone(),
            _ => {
                let f: Arc<str> = Arc::from(name);
                self.last_file = Some(f.clone());
                f
            }
        }
    }
}

/// Compiled rules with their routing.
pub struct Detector {
    pub(crate) set: RuleSet,
    paths: FieldPaths,
    routes: [Route; 4],
    /// rule index → (correlation, position in its rules)
    feeds: Vec<Vec<(usize, usize)>>,
    findings_as_alerts: bool,
    /// Whether alerts carry an [`EventContext`] (entities, record key) for case building.
    with_context: bool,
    /// Contexts already built, by record: one record read twice (a file given twice, an
    /// organization trail and an account trail delivering the same events) is described once.
    contexts: Mutex<RecordMemo<Arc<EventContext>>>,
    /// Each rule's alert description.
    rule_refs: Vec<Arc<RuleRef>>,
    /// Each correlation's alert description.
    pub(crate) correlation_refs: Vec<Arc<RuleRef>>,
}

fn rule_ref(meta: &sigma::ast::Meta) -> Arc<RuleRef> {
    let (techniques, tactics) = attack::from_tags(&meta.tags);
    Arc::new(RuleRef {
        id: meta
            .id
            .clone()
            .or_else(|| meta.name.clone())
            .unwrap_or_else(|| meta.file.clone()),
        title: meta.title.clone(),
        severity: severity_of(meta.level),
        tags: meta.tags.clone(),
        techniques,
        tactics,
        json: Default::default(),
    })
}

impl Detector {
    /// Builds routing for a rule set. GuardDuty and Security Hub findings become alerts
    /// themselves when `findings_as_alerts`.
    pub fn new(set: RuleSet, findings_as_alerts: bool) -> Self {
        let paths = FieldPaths::new(set.fields());
        let mut routes: [Route; 4] = Default::default();
        let key_fields = [
            (set.field_id("eventName"), set.field_id("eventSource")),
            (None, None),
            (None, None),
            (None, None),
        ];
        for (ri, rule) in set.rules.iter().enumerate() {
            for kind in sources_of(&rule.logsource) {
                let route = &mut routes[source_index(kind)];
                let (key, second) = key_fields[source_index(kind)];
                route.field = key;
                route.second_field = second;
                if let Some(values) = key.and_then(|k| rule.required.get(&k)) {
                    for v in values {
                        route.by_value.entry(v.clone()).or_default().push(ri);
                    }
                } else if let Some(values) = second.and_then(|k| rule.required.get(&k)) {
                    for v in values {
                        route.by_second.entry(v.clone()).or_default().push(ri);
                    }
                } else {
                    route.always.push(ri);
                }
            }
        }
        let mut feeds = vec![Vec::new(); set.rules.len()];
        for (ci, c) in set.correlations.iter().enumerate() {
            for (pos, &ri) in c.rules.iter().enumerate() {
                feeds[ri].push((ci, pos));
            }
        }
        let rule_refs = set.rules.iter().map(|r| rule_ref(&r.meta)).collect();
        let correlation_refs = set
            .correlations
            .iter()
            .map(|c| rule_ref(&c.rule.meta))
            .collect();
        Detector {
            set,
            paths,
            routes,
            feeds,
            findings_as_alerts,
            with_context: false,
            contexts: Mutex::new(RecordMemo::new(CONTEXT_CACHE_ENTRIES)),
            rule_refs,
            correlation_refs,
        }
    }

    /// Alerts carry an [`EventContext`] (entities, record key, service): what case building
    /// needs. Off by default: plain hunting does not pay for it.
    pub fn with_context(mut self, on: bool) -> Self {
        self.with_context = on;
        self
    }

    /// For CloudTrail: rules reached through the `eventName`/`eventSource` indexes, and rules evaluated on
    /// every event (titles).
    pub fn routing(&self) -> (usize, Vec<&str>) {
        let r = &self.routes[source_index(SourceKind::CloudTrail)];
        let mut indexed: Vec<usize> = r
            .by_value
            .values()
            .chain(r.by_second.values())
            .flatten()
            .copied()
            .collect();
        indexed.sort_unstable();
        indexed.dedup();
        (
            indexed.len(),
            r.always
                .iter()
                .map(|&i| self.set.rules[i].meta.title.as_str())
                .collect(),
        )
    }

    pub fn rule_count(&self) -> usize {
        self.set.rules.len()
    }

    pub fn correlation_count(&self) -> usize {
        self.set.correlations.len()
    }

    /// Evaluates every rule that can match `ev`.
    pub fn evaluate(&self, ev: &Event<'_>, out: &mut Matches) {
        let doc = EventDoc::new(ev, &self.paths);
        let route = &self.routes[source_index(ev.source)];
        let mut context: Option<Arc<EventRef>> = None;
        let mut check = |ri: usize, out: &mut Matches| {
            let rule = &self.set.rules[ri];
            if !rule.matches(&doc) {
                return;
            }
            let event = match &context {
                Some(c) => c.clone(),
                None => {
                    let record = self.with_context.then(|| self.context(ev));
                    let c = Arc::new(event_ref(ev, out.file(&ev.origin.file), record));
                    context = Some(c.clone());
                    c
                }
            };
            let alert = Alert {
                rule: self.rule_refs[ri].clone(),
                event,
                kind: AlertKind::Rule,
            };
            if !self.feeds[ri].is_empty() {
                let context = Arc::new(alert.clone());
                for &(ci, pos) in &self.feeds[ri] {
                    let c = &self.set.correlations[ci];
                    let first_text = |id: FieldId| {
                        doc.field(id)
                            .iter()
                            .find_map(|v| v.text().map(str::to_string))
                    };
                    out.hits.push(Hit {
                        correlation: ci,
                        rule_pos: pos,
                        time_ms: ev.time_ms.unwrap_or(0),
                        group: c.group_fields[pos]
                            .iter()
                            .map(|&f| first_text(f).unwrap_or_default())
                            .collect(),
                        value: c.value_fields[pos].and_then(first_text),
                        context: context.clone(),
                    });
                }
            }
            if rule.emit {
                out.alerts.push(alert);
            } else {
                out.silent_matches += 1;
            }
        };
        let mut buf = [0u8; 128];
        if let Some(key) = route.field
            && let Some(name) = doc.field(key).iter().find_map(sigma::Value::text)
            && let Some(rules) = route.by_value.get(lowercase(name, &mut buf).as_ref())
        {
            rules.iter().for_each(|&ri| check(ri, out));
        }
        if let Some(key) = route.second_field
            && let Some(source) = doc.field(key).iter().find_map(sigma::Value::text)
            && let Some(rules) = route.by_second.get(lowercase(source, &mut buf).as_ref())
        {
            rules.iter().for_each(|&ri| check(ri, out));
        }
        route.always.iter().for_each(|&ri| check(ri, out));
        if self.findings_as_alerts && ev.finding.is_some() {
            let file = out.file(&ev.origin.file);
            let context = self.with_context.then(|| self.context(ev));
            if let Some(alert) = crate::findings::finding_alert(ev, file, context) {
                out.alerts.push(alert);
            }
        }
    }
}

impl Detector {
    /// The context of an alerting event, built once per distinct record.
    fn context(&self, ev: &Event<'_>) -> Arc<EventContext> {
        let key = model::entity::event_key(ev);
        let cache = self.contexts.lock().unwrap_or_else(PoisonError::into_inner);
        let record = cache.identity(key, &ev.raw);
        if let Some(c) = cache.get(&record) {
            return c.clone();
        }
        drop(cache);
        let built = Arc::new(event_context(ev, record.0.clone()));
        self.contexts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(record, built.clone());
        built
    }
}

/// Distinct records whose contexts are kept (see [`RecordMemo`]).
const CONTEXT_CACHE_ENTRIES: usize = 1 << 12;

/// Lowercases a short ASCII key into `buf` without allocating (longer or non-ASCII keys
/// allocate).
fn lowercase<'b>(s: &'b str, buf: &'b mut [u8; 128]) -> std::borrow::Cow<'b, str> {
    if s.is_ascii() && s.len() <= buf.len() {
        let out = &mut buf[..s.len()];
        out.copy_from_slice(s.as_bytes());
        out.make_ascii_lowercase();
        // ASCII stays valid UTF-8.
        std::borrow::Cow::Borrowed(std::str::from_utf8(out).unwrap_or_default())
    } else {
        fold(s)
    }
}

/// What case building reads from an alerting event.
fn event_context(ev: &Event<'_>, key: String) -> EventContext {
    EventContext {
        key,
        entities: model::entity::entities(ev),
        service: ev.api.as_ref().map(|a| a.service.to_string()),
        finding_types: ev
            .finding
            .as_ref()
            .map(|f| f.types.iter().map(|t| t.to_string()).collect())
            .unwrap_or_default(),
        resource_tags: model::entity::resource_tags(ev),
    }
}

/// The first of `names` in the record's `userIdentity`: the fallback when the reader left
/// the actor unparsed (detection-only ingest). Where the actor was parsed the record gives
/// the same answer.
fn identity_field(ev: &Event<'_>, names: &[&str]) -> Option<String> {
    let identity = ev
        .members
        .0
        .iter()
        .find(|(k, _)| k == "userIdentity" || k == "useridentity")?
        .1
        .get();
    names
        .iter()
        .find_map(|n| model::scan::member(identity, n))
        .and_then(model::scan::string)
        .filter(|s| !s.is_empty())
        .map(std::borrow::Cow::into_owned)
}

/// The context of an event, for its alerts.
pub fn event_ref(ev: &Event<'_>, file: Arc<str>, context: Option<Arc<EventContext>>) -> EventRef {
    EventRef {
        context,
        source: ev.source,
        time_ms: ev.time_ms,
        account: ev
            .account
            .as_deref()
            .map(str::to_string)
            .or_else(|| identity_field(ev, &["accountId", "accountid"])),
        region: ev.region.as_deref().map(str::to_string),
        principal: ev.principal().map(str::to_string).or_else(|| {
            identity_field(ev, &["arn"])
                .or_else(|| identity_field(ev, &["userName", "username"]))
                .or_else(|| identity_field(ev, &["principalId", "principalid"]))
        }),
        access_key_id: ev
            .actor
            .access_key_id
            .as_deref()
            .map(str::to_string)
            .or_else(|| identity_field(ev, &["accessKeyId", "accesskeyid"])),
        src_ip: ev.src_ip.as_deref().map(str::to_string),
        event_uid: ev.uid.as_deref().map(str::to_string),
        operation: ev.api.as_ref().map(|a| a.operation.to_string()),
        file,
        line: ev.origin.line,
        json: Default::default(),
    }
}
