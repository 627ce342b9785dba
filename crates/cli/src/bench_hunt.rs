//! `firebreak bench hunt`: detection throughput with the SigmaHQ AWS rules plus the
//! bundled rules, on 1 and N threads, plain and gzip, next to a baseline measured in the
//! same run: a `serde_json::Value` DOM per event with every rule evaluated against it (the
//! conventional engine design), using the same compiled matchers. Both must agree on every
//! single-event match.

use crate::bench::{BenchArgs, Measurement, corpus_paths, header, rusage, timed};
use anyhow::{Context, Result, bail};
use app::pipeline::Evaluate;
use detect::{Correlator, Detector};
use flate2::read::MultiGzDecoder;
use ingest::{IngestOptions, Input};
use model::AlertKind;
use serde_json::Value as Json;
use sigma::compile::{Placeholders, RuleSet};
use sigma::{Document, FieldId, Value};
use std::borrow::Cow;
use std::cell::OnceCell;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

fn rules(shared: &Path) -> Result<RuleSet> {
    let dir = shared.join("sigmahq-aws/rules");
    let mut sources = app::rules::sources(std::slice::from_ref(&dir), true)
        .with_context(|| format!("reading {}", dir.display()))?;
    sources.sort();
    let (set, errors, _) = detect::rules::build(
        sources.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        &Placeholders::default(),
    );
    if !errors.is_empty() {
        bail!("rules failed to load: {}", errors[0]);
    }
    Ok(set)
}

/// A rule-evaluation document over a `serde_json::Value` (the baseline).
struct ValueDoc<'v> {
    value: &'v Json,
    text: &'v str,
    paths: &'v [Vec<String>],
    cache: Vec<OnceCell<Vec<Value<'v>>>>,
}

fn push<'v>(v: &'v Json, out: &mut Vec<Value<'v>>) {
    match v {
        Json::Null => out.push(Value::Null),
        Json::Bool(b) => out.push(Value::Bool(*b)),
        Json::Number(n) => out.push(Value::Num(Cow::Owned(n.to_string()))),
        Json::String(s) => out.push(Value::Str(Cow::Borrowed(s))),
        Json::Array(items) => {
            for i in items {
                match i {
                    Json::Array(_) => out.push(Value::Json(Cow::Owned(i.to_string()))),
                    other => push(other, out),
                }
            }
            out.push(Value::Json(Cow::Owned(v.to_string())));
        }
        Json::Object(_) => out.push(Value::Json(Cow::Owned(v.to_string()))),
    }
}

fn walk<'v>(v: &'v Json, segs: &[String], out: &mut Vec<Value<'v>>) {
    if segs.is_empty() {
        return push(v, out);
    }
    match v {
        Json::Object(m) => {
            for take in (1..=segs.len()).rev() {
                if let Some(child) = m.get(&segs[..take].join(".")) {
                    return walk(child, &segs[take..], out);
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|i| walk(i, segs, out)),
        _ => {}
    }
}

impl Document for ValueDoc<'_> {
    fn field(&self, id: FieldId) -> &[Value<'_>] {
        self.cache[id.0 as usize].get_or_init(|| {
            let mut out = Vec::new();
            walk(self.value, &self.paths[id.0 as usize], &mut out);
            out
        })
    }
    fn text(&self) -> &str {
        self.text
    }
}

/// Baseline: DOM per event, every CloudTrail rule evaluated; returns (bytes, matches).
fn baseline(set: &RuleSet, path: &Path, gz: bool) -> Result<(u64, u64, u64)> {
    let paths: Vec<Vec<String>> = set
        .fields()
        .iter()
        .map(|f| f.split('.').map(str::to_string).collect())
        .collect();
    let rules: Vec<_> = set
        .rules
        .iter()
        .filter(|r| detect::sources_of(&r.logsource).contains(&model::SourceKind::CloudTrail))
        .collect();
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn Read> = if gz {
        Box::new(MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let (mut bytes, mut events, mut matches) = (0u64, 0u64, 0u64);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        let text = std::str::from_utf8(&line)?.trim_end();
        let Ok(value) = serde_json::from_str::<Json>(text) else {
            continue;
        };
        events += 1;
        let doc = ValueDoc {
            value: &value,
            text,
            paths: &paths,
            cache: (0..paths.len()).map(|_| OnceCell::new()).collect(),
        };
        matches += rules.iter().filter(|r| r.matches(&doc)).count() as u64;
    }
    Ok((bytes, events, matches))
}

/// Firebreak: the ingest pipeline with the routed detector; returns (bytes, events, matches)
/// where matches counts rule matches (alerts, plus rules that only feed correlations).
fn firebreak(det: &Detector, path: &Path, threads: usize) -> Result<(u64, u64, u64, u64)> {
    let opts = IngestOptions {
        threads,
        normalize_actor: false,
        ..IngestOptions::default()
    };
    let mut correlator = Correlator::new(det);
    let mut completed = Vec::new();
    let (mut matches, mut alerts) = (0u64, 0u64);
    let summary = ingest::ingest(
        &[Input::File(path.to_path_buf())],
        &opts,
        &Evaluate(det),
        |c| {
            for a in &c.output.alerts {
                if matches!(a.kind, AlertKind::Rule) {
                    matches += 1;
                }
            }
            alerts += c.output.alerts.len() as u64;
            matches += c.output.silent_matches;
            for h in c.output.hits {
                correlator.push(h, &mut completed);
            }
        },
    )?;
    alerts += (completed.len() + correlator.finish().len()) as u64;
    Ok((summary.bytes, summary.events(), matches, alerts))
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let (corpus, gz) = corpus_paths(args)?;
    // The separate-process runs come first, while this process is small: a child's peak RSS
    // as the kernel reports it starts from its parent's.
    crate::bench_ratios::run(
        &corpus,
        &args.shared_data.join("sigmahq-aws/rules"),
        args.rsigma.as_deref(),
        args.rounds,
    )?;
    println!();
    println!("in process, against a DOM-per-event baseline with the same compiled rules:");
    let set = rules(&args.shared_data)?;
    let det = Detector::new(set.clone(), true);
    println!(
        "rules: {} ({} correlations): SigmaHQ AWS + bundled",
        det.rule_count(),
        det.correlation_count()
    );
    let (indexed, always) = det.routing();
    println!(
        "routing (CloudTrail): {indexed} rules behind the eventName/eventSource indexes, {} evaluated on every event; {} distinct fields",
        always.len(),
        set.fields().len()
    );
    if std::env::var_os("FIREBREAK_BENCH_VERBOSE").is_some() {
        for t in always {
            println!("  always: {t}");
        }
    }
    header();
    for (path, compressed) in [(&corpus, false), (&gz, true)] {
        let kind = if compressed { "gz" } else { "plain" };
        let mut base_matches = 0;
        let base = timed(format!("baseline DOM + all rules ({kind})"), || {
            let (bytes, events, m) = baseline(&set, path, compressed)?;
            base_matches = m;
            Ok((bytes, events))
        })?;
        base.print(None);
        for &t in &args.threads {
            let mut got = (0, 0);
            let m: Measurement = timed(format!("firebreak hunt {t} thread(s) ({kind})"), || {
                let (bytes, events, matches, alerts) = firebreak(&det, path, t)?;
                got = (matches, alerts);
                Ok((bytes, events))
            })?;
            m.print(Some(&base));
            if got.0 != base_matches {
                bail!(
                    "rule matches differ: firebreak {} vs baseline {base_matches}",
                    got.0
                );
            }
        }
        println!("  rule matches: {base_matches} (identical in every run)");
    }
    let (_, rss) = rusage();
    println!(
        "peak RSS: {:.1} MiB (the baseline and every run included)",
        rss as f64 / 1024.0
    );
    Ok(())
}
