//! A recorded trace made fresh: shifted so its last event is now, its accounts, the actor's
//! user, ARN and access key, and the scenario's bound literals replaced by the warm-up's
//! resources, and every `eventID` made new (derived from the run and the old id), so a
//! second run is a second incident rather than a duplicate of the first.

use crate::scenario::{Scenario, Template};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// A trace that cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("{file}:{line}: not a JSON object: {reason}")]
    NotJson {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("{file}:{line}: {reason}")]
    BadFlow {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("{file}: holds no record")]
    Empty { file: String },
    #[error("{file}: `{{{reference}}}` has no value in this run")]
    Unbound { file: String, reference: String },
}

/// What a trace's replay is made of: the rewritten records (one JSON line each) and the
/// time of the first (the detonation's start, for time to detect).
#[derive(Debug, Clone)]
pub struct Replayed {
    pub lines: Vec<String>,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// A fresh event id for `old` in run `run`: same run and id, same result.
pub fn fresh_event_id(run: &str, old: &str) -> String {
    let d = Sha256::digest(format!("{run}\n{old}").as_bytes());
    let h: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Rewrites `trace` (JSON lines) for `scenario` with the warm-up's `values`
/// (`intruder.key` → `AKIA…`, `account`, `region`), so that its last event happens at
/// `now_ms`.
pub fn replay(
    trace: &str,
    file: &str,
    scenario: &Scenario,
    values: &BTreeMap<String, String>,
    run: &str,
    now_ms: i64,
) -> Result<Replayed, ReplayError> {
    if trace
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| !l.trim_start().starts_with('{'))
    {
        return replay_flow(trace, file, scenario, values, now_ms);
    }
    let mut records = Vec::new();
    for (i, l) in trace.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(l).map_err(|e| ReplayError::NotJson {
            file: file.to_string(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        if !v.is_object() {
            return Err(ReplayError::NotJson {
                file: file.to_string(),
                line: i + 1,
                reason: "a JSON value that is not an object".into(),
            });
        }
        records.push(v);
    }
    if records.is_empty() {
        return Err(ReplayError::Empty {
            file: file.to_string(),
        });
    }
    let get = |name: &str| {
        values
            .get(name)
            .cloned()
            .ok_or_else(|| ReplayError::Unbound {
                file: file.to_string(),
                reference: name.to_string(),
            })
    };
    // Old text → new text. Accounts first gathered from every record; the actor is every
    // IAM user that signed with a long-term key.
    let mut swaps: BTreeMap<String, String> = BTreeMap::new();
    let account = get("account")?;
    let mut accounts = BTreeSet::new();
    for r in &records {
        for p in ["recipientAccountId", "/userIdentity/accountId", "accountId"] {
            let v = if p.starts_with('/') {
                r.pointer(p)
            } else {
                r.get(p)
            };
            if let Some(a) = v.and_then(Value::as_str)
                && a.len() == 12
                && a.bytes().all(|b| b.is_ascii_digit())
            {
                accounts.insert(a.to_string());
            }
        }
    }
    for a in accounts {
        swaps.insert(a, account.clone());
    }
    // Regions too: a recorded (or anonymized) region becomes the run's.
    let region = get("region")?;
    for r in &records {
        if let Some(old) = r.get("awsRegion").and_then(Value::as_str)
            && old.len() >= 4
            && old != region
        {
            swaps.insert(old.to_string(), region.clone());
        }
    }
    let actor = &scenario.actor;
    for r in &records {
        let Some(who) = r.get("userIdentity") else {
            continue;
        };
        if who.get("type").and_then(Value::as_str) != Some("IAMUser") {
            continue;
        }
        let Some(key) = who.get("accessKeyId").and_then(Value::as_str) else {
            continue;
        };
        if key.starts_with("AKIA") {
            swaps.insert(key.to_string(), get(&format!("{actor}.key"))?);
            if let Some(id) = who.get("principalId").and_then(Value::as_str) {
                swaps.insert(id.to_string(), get(&format!("{actor}.id"))?);
            }
            if let Some(name) = who.get("userName").and_then(Value::as_str) {
                swaps.insert(
                    format!("user/{name}"),
                    format!("user/{}", get(&format!("{actor}.name"))?),
                );
                swaps.insert(format!("\u{0}{name}"), get(&format!("{actor}.name"))?);
            }
        }
    }
    if let Some(r) = &scenario.replay {
        for (lit, to) in &r.bind {
            swaps.insert(lit.clone(), render(to, values, file)?);
        }
    }
    // Longest first, so a bound ARN wins over the account inside it.
    let mut ordered: Vec<(String, String)> = swaps.into_iter().collect();
    ordered.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));

    let times: Vec<Option<i64>> = records
        .iter()
        .map(|r| {
            TIME_FIELDS[..2].iter().find_map(|p| {
                r.pointer(p)
                    .and_then(Value::as_str)
                    .and_then(model::time::parse_timestamp)
            })
        })
        .collect();
    let last = times.iter().flatten().max().copied().unwrap_or(now_ms);
    let shift = now_ms - last;
    let mut lines = Vec::with_capacity(records.len());
    let mut first_ms = i64::MAX;
    for (i, (mut r, t)) in records.into_iter().zip(times).enumerate() {
        rewrite(&mut r, &ordered);
        if let Some(t) = t {
            first_ms = first_ms.min(t + shift);
        }
        for p in TIME_FIELDS {
            if let Some(v) = r.pointer_mut(p)
                && let Some(at) = v.as_str().and_then(model::time::parse_timestamp)
            {
                *v = Value::String(model::time::format_iso(at + shift));
            }
        }
        if let Some(obj) = r.as_object_mut() {
            let old = obj
                .get("eventID")
                .and_then(Value::as_str)
                .map_or_else(|| format!("line {}", i + 1), str::to_string);
            obj.insert("eventID".into(), Value::String(fresh_event_id(run, &old)));
        }
        lines.push(r.to_string());
    }
    Ok(Replayed {
        lines,
        first_ms: if first_ms == i64::MAX {
            now_ms
        } else {
            first_ms
        },
        last_ms: now_ms,
    })
}

/// The times a record carries: a CloudTrail event's, a finding's (updated first: it is
/// the record's own time), and a finding's activity window.
const TIME_FIELDS: [&str; 5] = [
    "/eventTime",
    "/updatedAt",
    "/createdAt",
    "/service/eventFirstSeen",
    "/service/eventLastSeen",
];

/// A VPC Flow Logs text trace: accounts and bound tokens swapped whole, `start` and `end`
/// shifted so the last flow ends now.
fn replay_flow(
    trace: &str,
    file: &str,
    scenario: &Scenario,
    values: &BTreeMap<String, String>,
    now_ms: i64,
) -> Result<Replayed, ReplayError> {
    let account = values
        .get("account")
        .cloned()
        .ok_or_else(|| ReplayError::Unbound {
            file: file.to_string(),
            reference: "account".into(),
        })?;
    let mut swaps: BTreeMap<String, String> = BTreeMap::new();
    if let Some(r) = &scenario.replay {
        for (lit, to) in &r.bind {
            swaps.insert(lit.clone(), render(to, values, file)?);
        }
    }
    let mut lines: Vec<Vec<String>> = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for l in trace.lines().filter(|l| !l.trim().is_empty()) {
        let tokens: Vec<String> = l.split_whitespace().map(str::to_string).collect();
        if tokens.first().is_some_and(|t| t == "version") && header.is_none() {
            header = Some(tokens);
        } else {
            lines.push(tokens);
        }
    }
    if lines.is_empty() {
        return Err(ReplayError::Empty {
            file: file.to_string(),
        });
    }
    let col = |name: &str, default: usize| {
        header
            .as_ref()
            .and_then(|h| h.iter().position(|x| x == name))
            .unwrap_or(default)
    };
    let (acct, start, end) = (col("account-id", 1), col("start", 10), col("end", 11));
    let region_col = col("region", usize::MAX);
    let region = values.get("region").cloned().unwrap_or_default();
    let secs = |t: &[String], i: usize| t.get(i).and_then(|v| v.parse::<i64>().ok());
    let last = lines
        .iter()
        .filter_map(|t| secs(t, end))
        .max()
        .unwrap_or(now_ms / 1000);
    let shift = now_ms / 1000 - last;
    let mut first_ms = i64::MAX;
    let mut out = Vec::with_capacity(lines.len() + 1);
    if let Some(h) = &header {
        out.push(h.join(" "));
    }
    for (n, mut t) in lines.into_iter().enumerate() {
        for (i, tok) in t.iter_mut().enumerate() {
            if i == acct && tok.len() == 12 && tok.bytes().all(|b| b.is_ascii_digit()) {
                *tok = account.clone();
            } else if i == region_col && tok != "-" {
                *tok = region.clone();
            } else if let Some(new) = swaps.get(tok.as_str()) {
                *tok = new.clone();
            }
        }
        for i in [start, end] {
            let Some(v) = secs(&t, i) else {
                return Err(ReplayError::BadFlow {
                    file: file.to_string(),
                    line: n + 1 + usize::from(header.is_some()),
                    reason: "a flow record without its start and end times".into(),
                });
            };
            t[i] = (v + shift).to_string();
        }
        first_ms = first_ms.min(secs(&t, start).unwrap_or(0) * 1000);
        out.push(t.join(" "));
    }
    Ok(Replayed {
        lines: out,
        first_ms,
        last_ms: now_ms,
    })
}

fn render(
    t: &Template,
    values: &BTreeMap<String, String>,
    file: &str,
) -> Result<String, ReplayError> {
    t.render(values).map_err(|reference| ReplayError::Unbound {
        file: file.to_string(),
        reference,
    })
}

/// Replaces every old text by its new one in every string of `v` (a `\0`-prefixed key
/// replaces only a whole string: a bare user name).
fn rewrite(v: &mut Value, swaps: &[(String, String)]) {
    match v {
        Value::String(s) => {
            for (old, new) in swaps {
                if let Some(whole) = old.strip_prefix('\u{0}') {
                    if s == whole {
                        *s = new.clone();
                    }
                } else if s.contains(old.as_str()) {
                    *s = s.replace(old.as_str(), new);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, swaps)),
        Value::Object(o) => o.values_mut().for_each(|x| rewrite(x, swaps)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"
id: t
name: t
tactics: [persistence]
warmup:
  - { id: intruder, kind: iam-user, access_key: true }
  - { id: web, kind: instance }
detonate:
  actor: intruder
  replay:
    trace: t.jsonl
    bind: { "i-0abc1234": "{web.id}" }
expect:
  rules: [x]
"#;

    #[test]
    fn a_trace_is_rebound_to_the_warm_up_and_shifted_to_now() {
        let s = crate::scenario::parse(SCENARIO, "t.yaml").unwrap();
        let trace = r#"{"eventTime":"2024-07-30T10:00:00Z","eventID":"a","recipientAccountId":"457448411975","userIdentity":{"type":"IAMUser","principalId":"AIDAOLD","arn":"arn:aws:iam::457448411975:user/christophe","accountId":"457448411975","accessKeyId":"AKIAOLDKEY0000000000","userName":"christophe"},"requestParameters":{"instanceId":"i-0abc1234"}}
{"eventTime":"2024-07-30T10:05:00Z","eventID":"b","recipientAccountId":"457448411975","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::457448411975:user/christophe","accountId":"457448411975","accessKeyId":"AKIAOLDKEY0000000000","userName":"christophe"}}
"#;
        let mut values = BTreeMap::new();
        for (k, v) in [
            ("account", "210987654321"),
            ("region", "us-east-1"),
            ("intruder.name", "gd-intruder"),
            ("intruder.id", "AIDANEW"),
            ("intruder.key", "AKIANEWKEY0000000000"),
            ("web.id", "i-0fff"),
        ] {
            values.insert(k.to_string(), v.to_string());
        }
        let now = model::time::parse_timestamp("2026-12-05T12:00:00Z").unwrap();
        let r = replay(trace, "t.jsonl", &s, &values, "run-1", now).unwrap();
        let first: Value = serde_json::from_str(&r.lines[0]).unwrap();
        assert_eq!(first["eventTime"], "2026-12-05T11:55:00.000Z");
        assert_eq!(first["recipientAccountId"], "210987654321");
        assert_eq!(
            first["userIdentity"]["arn"],
            "arn:aws:iam::210987654321:user/gd-intruder"
        );
        assert_eq!(first["userIdentity"]["userName"], "gd-intruder");
        assert_eq!(first["userIdentity"]["principalId"], "AIDANEW");
        assert_eq!(first["userIdentity"]["accessKeyId"], "AKIANEWKEY0000000000");
        assert_eq!(first["requestParameters"]["instanceId"], "i-0fff");
        assert_eq!(first["eventID"], fresh_event_id("run-1", "a"));
        assert_ne!(first["eventID"], fresh_event_id("run-2", "a"));
        assert!(
            !r.lines
                .iter()
                .any(|l| l.contains("457448411975") || l.contains("christophe"))
        );
        assert_eq!(r.first_ms, now - 300_000);

        values.remove("web.id");
        assert_eq!(
            replay(trace, "t.jsonl", &s, &values, "run-1", now).unwrap_err(),
            ReplayError::Unbound {
                file: "t.jsonl".into(),
                reference: "web.id".into()
            }
        );
        assert!(matches!(
            replay("{\"a\":1}\nnot json\n", "t.jsonl", &s, &values, "r", now),
            Err(ReplayError::NotJson { line: 2, .. })
        ));
    }
}
