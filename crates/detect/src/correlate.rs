//! Sigma correlation rules over the hits of the rules they reference: event_count,
//! value_count, value_sum/avg/percentile, temporal and temporal_ordered, with group-by,
//! timespan and chaining (a correlation referencing another).
//!
//! Streaming: hits arrive in input order; each group keeps only the hits inside its
//! current window, and groups that cannot gain in-window hits any more are flushed, so
//! memory follows the activity inside one timespan, not the input size. For input in time
//! order the result equals evaluating every window over all hits at once.

use crate::engine::{Detector, Hit};
use model::{Alert, AlertKind};
use sigma::ast::CorrelationKind;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    if values.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}

/// The correlation's measure over a window of hits, when it is defined.
fn measure(
    kind: CorrelationKind,
    pct: Option<f64>,
    window: &[&Hit],
    n_rules: usize,
) -> Option<f64> {
    let numbers = || {
        window
            .iter()
            .filter_map(|h| h.value.as_deref()?.trim().parse::<f64>().ok())
            .collect::<Vec<_>>()
    };
    Some(match kind {
        CorrelationKind::EventCount => window.len() as f64,
        CorrelationKind::ValueCount => window
            .iter()
            .filter_map(|h| h.value.as_deref())
            .collect::<HashSet<_>>()
            .len() as f64,
        CorrelationKind::ValueSum => numbers().iter().sum(),
        CorrelationKind::ValueAvg => {
            let n = numbers();
            if n.is_empty() {
                return None;
            }
            n.iter().sum::<f64>() / n.len() as f64
        }
        CorrelationKind::ValuePercentile => percentile(&mut numbers(), pct.unwrap_or(50.0)),
        CorrelationKind::Temporal => {
            let seen: HashSet<usize> = window.iter().map(|h| h.rule_pos).collect();
            if seen.len() < n_rules {
                return None;
            }
            seen.len() as f64
        }
        CorrelationKind::TemporalOrdered => {
            // Hits of the same instant count as simultaneous: CloudTrail's times have one-
            // second resolution and its records arrive in no particular order, so a
            // CreateUser logged after the AttachUserPolicy of the same second still came
            // first as far as anyone can tell.
            let mut next = 0;
            let mut i = 0;
            while i < window.len() && next < n_rules {
                let t = window[i].time_ms;
                let end = window[i..]
                    .iter()
                    .position(|h| h.time_ms != t)
                    .map_or(window.len(), |n| i + n);
                let same = &window[i..end];
                while next < n_rules && same.iter().any(|h| h.rule_pos == next) {
                    next += 1;
                }
                i = end;
            }
            if next < n_rules {
                return None;
            }
            n_rules as f64
        }
    })
}

/// Most hits one group keeps inside one timespan; past it the oldest windows are decided
/// early, so a flood of identical events cannot grow memory without bound.
pub const MAX_PENDING_PER_GROUP: usize = 4096;

/// Pending hits of one group, in time order.
#[derive(Default)]
struct Group {
    hits: VecDeque<Hit>,
    newest: i64,
}

/// Streaming state of every correlation of a detector.
pub struct Correlator<'d> {
    det: &'d Detector,
    groups: Vec<BTreeMap<Vec<String>, Group>>,
    /// Correlations that consume each correlation's alerts (chaining).
    consumers: Vec<Vec<(usize, usize)>>,
    newest: i64,
    pushes: u64,
}

impl<'d> Correlator<'d> {
    pub fn new(det: &'d Detector) -> Self {
        let corrs = &det.set.correlations;
        let mut consumers = vec![Vec::new(); corrs.len()];
        for (ci, c) in corrs.iter().enumerate() {
            for (k, &cj) in c.correlations.iter().enumerate() {
                consumers[cj].push((ci, c.rules.len() + k));
            }
        }
        Correlator {
            det,
            groups: (0..corrs.len()).map(|_| BTreeMap::new()).collect(),
            consumers,
            newest: i64::MIN,
            pushes: 0,
        }
    }

    /// Adds a hit; returns the correlation alerts it completed (and those they chained).
    pub fn push(&mut self, hit: Hit, out: &mut Vec<Alert>) {
        // Events without a value for every group-by field cannot be grouped.
        if hit.group.iter().any(String::is_empty) {
            return;
        }
        self.newest = self.newest.max(hit.time_ms);
        let ci = hit.correlation;
        let span = self.det.set.correlations[ci].rule.timespan_ms;
        let key = hit.group.clone();
        let group = self.groups[ci].entry(key.clone()).or_default();
        let at = group.hits.partition_point(|h| h.time_ms <= hit.time_ms);
        group.newest = group.newest.max(hit.time_ms);
        group.hits.insert(at, hit);
        let newest = group.newest;
        let flood = group.hits.len() > MAX_PENDING_PER_GROUP;
        self.evaluate(ci, &key, Some(newest.saturating_sub(span)), out);
        if flood {
            self.evaluate_front(ci, &key, out);
        }
        self.pushes += 1;
        if self.pushes.is_multiple_of(4096) {
            self.sweep(out);
        }
    }

    /// Flushes groups that can no longer gain hits inside their windows.
    fn sweep(&mut self, out: &mut Vec<Alert>) {
        for ci in 0..self.groups.len() {
            let span = self.det.set.correlations[ci].rule.timespan_ms;
            let stale: Vec<Vec<String>> = self.groups[ci]
                .iter()
                .filter(|(_, g)| g.newest < self.newest.saturating_sub(span))
                .map(|(k, _)| k.clone())
                .collect();
            for key in stale {
                self.evaluate(ci, &key, None, out);
                self.groups[ci].remove(&key);
            }
        }
    }

    /// Decides the oldest windows of an overfull group until it is back under the limit.
    fn evaluate_front(&mut self, ci: usize, key: &[String], out: &mut Vec<Alert>) {
        while self.groups[ci]
            .get(key)
            .is_some_and(|g| g.hits.len() > MAX_PENDING_PER_GROUP / 2)
        {
            self.evaluate_one(ci, key, out);
        }
    }

    fn evaluate_one(&mut self, ci: usize, key: &[String], out: &mut Vec<Alert>) {
        self.evaluate_limited(ci, key, None, 1, out);
    }

    /// Evaluates windows of a group whose start is before `complete_before` (all of them
    /// when `None`), dropping hits no later window can use.
    fn evaluate(
        &mut self,
        ci: usize,
        key: &[String],
        complete_before: Option<i64>,
        out: &mut Vec<Alert>,
    ) {
        self.evaluate_limited(ci, key, complete_before, usize::MAX, out);
    }

    fn evaluate_limited(
        &mut self,
        ci: usize,
        key: &[String],
        complete_before: Option<i64>,
        max_steps: usize,
        out: &mut Vec<Alert>,
    ) {
        let c = &self.det.set.correlations[ci];
        let n_rules = c.rules.len() + c.correlations.len();
        let mut emitted = Vec::new();
        {
            let Some(group) = self.groups[ci].get_mut(key) else {
                return;
            };
            let mut steps = 0;
            while let Some(first) = group.hits.front() {
                if steps == max_steps {
                    break;
                }
                steps += 1;
                let start = first.time_ms;
                if complete_before.is_some_and(|limit| start >= limit) {
                    break;
                }
                let end = start.saturating_add(c.rule.timespan_ms);
                let j = group.hits.partition_point(|h| h.time_ms <= end);
                let window: Vec<&Hit> = group.hits.range(..j).collect();
                let value = measure(c.rule.kind, c.rule.percentile, &window, n_rules);
                let held = value.filter(|v| c.rule.condition.iter().all(|cmp| cmp.holds(*v)));
                // A window past an upper bound (`gt: 2, lte: 5` with six hits) is decided
                // whole: no smaller window is carved out of it to fire after all.
                let over = value.is_some_and(|v| {
                    c.rule
                        .condition
                        .iter()
                        .any(|cmp| cmp.is_upper_bound() && !cmp.holds(v))
                });
                match held {
                    Some(value) => {
                        emitted.push(self.det.correlation_alert(ci, key, value, &window));
                        group.hits.drain(..j);
                    }
                    None if over => {
                        group.hits.drain(..j);
                    }
                    None => {
                        group.hits.pop_front();
                    }
                }
            }
        }
        for alert in emitted {
            for &(consumer, pos) in &self.consumers[ci].clone() {
                let cc = &self.det.set.correlations[consumer];
                let AlertKind::Correlation { group, .. } = &alert.kind else {
                    continue;
                };
                let value_of = |name: &str| {
                    group
                        .iter()
                        .find(|(g, _)| g == name)
                        .map(|(_, v)| v.clone())
                };
                let hit = Hit {
                    correlation: consumer,
                    rule_pos: pos,
                    time_ms: alert.event.time_ms.unwrap_or(0),
                    group: cc
                        .rule
                        .group_by
                        .iter()
                        .map(|g| value_of(g).unwrap_or_default())
                        .collect(),
                    value: cc.rule.field.as_deref().and_then(value_of),
                    context: Arc::new(alert.clone()),
                };
                self.push(hit, out);
            }
            out.push(alert);
        }
    }

    /// Evaluates everything still pending.
    pub fn finish(mut self) -> Vec<Alert> {
        let mut out = Vec::new();
        // Chained correlations come after the ones they consume.
        for ci in 0..self.groups.len() {
            let keys: Vec<Vec<String>> = self.groups[ci].keys().cloned().collect();
            for key in keys {
                self.evaluate(ci, &key, None, &mut out);
            }
            self.groups[ci].clear();
        }
        // Chained hits pushed while finishing may have landed in earlier correlations.
        if self.groups.iter().any(|g| !g.is_empty()) {
            let rest = self.finish_rest();
            out.extend(rest);
        }
        out
    }

    fn finish_rest(mut self) -> Vec<Alert> {
        let mut out = Vec::new();
        for _ in 0..self.groups.len() {
            for ci in 0..self.groups.len() {
                let keys: Vec<Vec<String>> = self.groups[ci].keys().cloned().collect();
                for key in keys {
                    self.evaluate(ci, &key, None, &mut out);
                }
                self.groups[ci].clear();
            }
        }
        out
    }
}

impl Detector {
    /// Evaluates every correlation over hits collected in input order.
    pub fn correlate(&self, hits: Vec<Hit>) -> Vec<Alert> {
        let mut c = Correlator::new(self);
        let mut out = Vec::new();
        for h in hits {
            c.push(h, &mut out);
        }
        out.extend(c.finish());
        out
    }

    pub(crate) fn correlation_alert(
        &self,
        ci: usize,
        group: &[String],
        value: f64,
        window: &[&Hit],
    ) -> Alert {
        let c = &self.set.correlations[ci];
        let last = &window[window.len() - 1].context;
        let mut events: Vec<String> = Vec::new();
        for h in window {
            match &h.context.kind {
                AlertKind::Correlation { events: inner, .. } => {
                    events.extend(inner.iter().cloned())
                }
                _ => events.push(h.context.location()),
            }
        }
        events.dedup();
        Alert {
            rule: self.correlation_refs[ci].clone(),
            // Located at the last event of the window that met the condition.
            event: last.event.clone(),
            kind: AlertKind::Correlation {
                correlation: c.rule.kind.name().to_string(),
                group: c
                    .rule
                    .group_by
                    .iter()
                    .cloned()
                    .zip(group.iter().cloned())
                    .collect(),
                value,
                events,
            },
        }
    }
}
