//! Sigma correlation rules over the hits of the rules they reference: event_count,
//! value_count, value_sum/avg/percentile, temporal and temporal_ordered, with group-by,
//! timespan and chaining (a correlation referencing another).

use crate::engine::{Detector, Hit, severity_of};
use model::{Alert, AlertKind};
use sigma::ast::CorrelationKind;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    if values.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}

/// The correlation's measure over a window of hits, and whether it holds.
fn measure(kind: CorrelationKind, pct: Option<f64>, window: &[Hit], n_rules: usize) -> Option<f64> {
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
            let mut next = 0;
            for h in window {
                if h.rule_pos == next {
                    next += 1;
                    if next == n_rules {
                        break;
                    }
                }
            }
            if next < n_rules {
                return None;
            }
            n_rules as f64
        }
    })
}

impl Detector {
    /// Evaluates every correlation over the collected hits (any order). Chained
    /// correlations see the alerts of the correlations they reference.
    pub fn correlate(&self, mut hits: Vec<Hit>) -> Vec<Alert> {
        let corrs = &self.set.correlations;
        // Order so that referenced correlations are evaluated first.
        let mut order = Vec::new();
        let mut state = vec![0u8; corrs.len()];
        fn visit(
            i: usize,
            corrs: &[sigma::compile::CompiledCorrelation],
            state: &mut [u8],
            order: &mut Vec<usize>,
        ) {
            if state[i] != 0 {
                return;
            }
            state[i] = 1;
            for &j in &corrs[i].correlations {
                visit(j, corrs, state, order);
            }
            state[i] = 2;
            order.push(i);
        }
        for i in 0..corrs.len() {
            visit(i, corrs, &mut state, &mut order);
        }
        let mut alerts = Vec::new();
        let mut outputs: Vec<Vec<Alert>> = vec![Vec::new(); corrs.len()];
        for ci in order {
            let c = &corrs[ci];
            let n_rules = c.rules.len() + c.correlations.len();
            let mut mine: Vec<Hit> = Vec::new();
            hits.retain(|h| {
                if h.correlation == ci {
                    mine.push(h.clone());
                    false
                } else {
                    true
                }
            });
            // Chained inputs: alerts of referenced correlations.
            for (k, &cj) in c.correlations.iter().enumerate() {
                for a in &outputs[cj] {
                    let AlertKind::Correlation { group, .. } = &a.kind else {
                        continue;
                    };
                    let value_of = |name: &str| {
                        group
                            .iter()
                            .find(|(g, _)| g == name)
                            .map(|(_, v)| v.clone())
                    };
                    mine.push(Hit {
                        correlation: ci,
                        rule_pos: c.rules.len() + k,
                        time_ms: a.time_ms.unwrap_or(0),
                        group: c
                            .rule
                            .group_by
                            .iter()
                            .map(|g| value_of(g).unwrap_or_default())
                            .collect(),
                        value: c.rule.field.as_deref().and_then(value_of),
                        context: Arc::new(a.clone()),
                    });
                }
            }
            let mut groups: BTreeMap<Vec<String>, Vec<Hit>> = BTreeMap::new();
            // Events without a value for every group-by field cannot be grouped.
            for h in mine
                .into_iter()
                .filter(|h| h.group.iter().all(|g| !g.is_empty()))
            {
                groups.entry(h.group.clone()).or_default().push(h);
            }
            for (group, mut list) in groups {
                list.sort_by(|a, b| {
                    a.time_ms
                        .cmp(&b.time_ms)
                        .then(a.context.line.cmp(&b.context.line))
                });
                let mut i = 0;
                while i < list.len() {
                    let end = list[i].time_ms.saturating_add(c.rule.timespan_ms);
                    let j = i + list[i..].partition_point(|h| h.time_ms <= end);
                    let window = &list[i..j];
                    let held = measure(c.rule.kind, c.rule.percentile, window, n_rules)
                        .filter(|v| c.rule.condition.iter().all(|cmp| cmp.holds(*v)));
                    match held {
                        Some(value) => {
                            let alert = self.correlation_alert(ci, &group, value, window);
                            outputs[ci].push(alert.clone());
                            alerts.push(alert);
                            i = j;
                        }
                        None => i += 1,
                    }
                }
            }
        }
        alerts
    }

    fn correlation_alert(&self, ci: usize, group: &[String], value: f64, window: &[Hit]) -> Alert {
        let c = &self.set.correlations[ci];
        let last = &window[window.len() - 1].context;
        let (techniques, tactics) = crate::attack::from_tags(&c.rule.meta.tags);
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
            rule_id: c
                .rule
                .meta
                .id
                .clone()
                .or_else(|| c.rule.meta.name.clone())
                .unwrap_or_default(),
            rule_title: c.rule.meta.title.clone(),
            severity: severity_of(c.rule.meta.level),
            tags: c.rule.meta.tags.clone(),
            techniques,
            tactics,
            time_ms: last.time_ms,
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
            // Located at the event that completed the condition.
            ..(**last).clone()
        }
    }
}
