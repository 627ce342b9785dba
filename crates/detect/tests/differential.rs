//! Differential testing against rsigma 0.23.0: rules and events generated from a fixed seed
//! are evaluated by Firebreak (rule text → ingest → detector, as `hunt` runs them) and by
//! rsigma's evaluator (`rsigma-eval`, the library its `engine eval` runs); every (rule, event) on which the two disagree must be listed, with
//! the reason and the specification text that decides it, in
//! `tests/differential/rsigma-disagreements.tsv` — and every listed one must still occur.

mod support;

use detect::Detector;
use ingest::{IngestOptions, Input};
use serde_json::{Value, json};
use sigma::compile::Placeholders;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

const SEED: u64 = 0x5167_4d41_2026_1202;
const RULES: usize = 600;
const EVENTS: usize = 160;

/// splitmix64: a small deterministic generator, so the cases are the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Text values events carry and rules test: case variants, wildcard and backslash
/// characters, dashes of several kinds, non-ASCII, addresses, numbers as text.
const TEXTS: &[&str] = &[
    "GetObject",
    "getobject",
    "GETOBJECT",
    "PutBucketPolicy",
    "ListBuckets",
    "C:\\Windows\\",
    "C:\\Windows\\x.exe",
    "C:\\Windows",
    "a*b",
    "a?b",
    "axb",
    "ab",
    "a\\b",
    "a\\\\b",
    "-enc",
    "/enc",
    "\u{2013}enc",
    "x -enc y",
    "aws-cli/2.15.0 Python/3.11",
    "Boto3/1.34 md/Botocore",
    "",
    " ",
    "Ünïcode",
    "ünïcode",
    "10.0.0.5",
    "192.168.1.1",
    "203.0.113.9",
    "2001:db8::1",
    "AWS Internal",
    "12",
    "7",
    "007",
    "1.5",
    "true",
    "null",
];

/// Values rules test with (besides the texts): wildcard patterns and escapes.
const PATTERNS: &[&str] = &[
    "Get*",
    "*object",
    "*Bucket*",
    "a\\*b",
    "a\\?b",
    "a?b",
    "C:\\Windows\\*",
    "C:\\Windows\\\\*",
    "*\\x.exe",
    "a\\\\b",
    "*",
    "?",
    "aws-cli/*",
    "*Python*",
];

const FIELDS: &[&str] = &[
    "eventName",
    "userAgent",
    "sourceIPAddress",
    "errorCode",
    "requestParameters.key",
    "requestParameters.count",
    "requestParameters.items",
    "userIdentity.userName",
];

const NUMBERS: &[i64] = &[0, 5, 7, 12, 100, -3];
const CIDRS: &[&str] = &[
    "10.0.0.0/8",
    "192.168.1.0/24",
    "203.0.113.9/32",
    "2001:db8::/32",
];
const REGEXES: &[&str] = &[
    "^Get", "object$", "(?i)^get", "^a.b$", "^[0-9]+$", "enc", "^$", "\\\\",
];

/// A YAML scalar that holds `s` exactly (single-quoted; `'` doubled).
fn yaml(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One field test: `field|modifiers: value(s)`.
fn field_test(r: &mut Rng) -> String {
    let field = r.pick(FIELDS);
    let one = |r: &mut Rng| -> String {
        if r.chance(30) {
            yaml(r.pick(PATTERNS))
        } else {
            yaml(r.pick(TEXTS))
        }
    };
    let values = |r: &mut Rng, n: usize| -> String {
        if n == 1 {
            one(r)
        } else {
            let items: Vec<String> = (0..n).map(|_| one(r)).collect();
            format!("[{}]", items.join(", "))
        }
    };
    let n = if r.chance(25) { 2 + r.below(2) } else { 1 };
    match r.below(14) {
        0..=3 => format!("{field}: {}", values(r, n)),
        4 => format!("{field}|contains: {}", values(r, n)),
        5 => format!("{field}|startswith: {}", values(r, n)),
        6 => format!("{field}|endswith: {}", values(r, n)),
        7 => format!("{field}|contains|all: {}", values(r, 2)),
        8 => format!("{field}|re: {}", yaml(r.pick(REGEXES))),
        9 => format!("{field}|cidr: {}", yaml(r.pick(CIDRS))),
        10 => format!("{field}|exists: {}", r.chance(50)),
        11 => {
            let op = r.pick(&["lt", "lte", "gt", "gte"]);
            format!("{field}|{op}: {}", r.pick(NUMBERS))
        }
        12 => format!("{field}: null"),
        _ => format!(
            "{field}|windash|contains: {}",
            yaml(r.pick(&["-enc", "/enc", " -e "]))
        ),
    }
}

/// A rule with two to three selections and a condition over them.
fn rule(r: &mut Rng, index: usize) -> (String, String) {
    let id = format!("00000000-0000-4000-8000-{index:012}");
    let searches = 2 + r.below(2);
    let mut detection = String::new();
    for s in 0..searches {
        writeln!(detection, "    sel{s}:").unwrap();
        let mut keys = BTreeSet::new();
        for _ in 0..(1 + r.below(2)) {
            let test = field_test(r);
            // A mapping holds each `field|modifiers` key once.
            if keys.insert(test.split(": ").next().unwrap_or_default().to_string()) {
                writeln!(detection, "        {test}").unwrap();
            }
        }
    }
    let condition = match r.below(8) {
        0 => "sel0".to_string(),
        1 => "sel0 and sel1".to_string(),
        2 => "sel0 or sel1".to_string(),
        3 => "sel0 and not sel1".to_string(),
        4 => "1 of sel*".to_string(),
        5 => "all of sel*".to_string(),
        6 => "not (sel0 or sel1)".to_string(),
        _ => "1 of them and not sel1".to_string(),
    };
    writeln!(detection, "    condition: {condition}").unwrap();
    let text = format!(
        "title: generated {index}\nid: {id}\nstatus: test\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n{detection}level: low\n"
    );
    (id, text)
}

/// A CloudTrail-shaped event whose generated fields are drawn from the same values.
fn event(r: &mut Rng, case: usize) -> Value {
    let text = |r: &mut Rng| Value::String(r.pick(TEXTS).to_string());
    let mut ev = json!({
        "eventVersion": "1.09",
        "eventSource": "s3.amazonaws.com",
        "eventTime": "2026-01-01T10:00:00Z",
        "awsRegion": "us-east-1",
        "recipientAccountId": "111122223333",
        "eventID": format!("e-{case}"),
    });
    let mut params = serde_json::Map::new();
    let mut identity = serde_json::Map::new();
    identity.insert("type".into(), "IAMUser".into());
    for &field in FIELDS {
        if r.chance(20) {
            continue; // absent
        }
        let value = match r.below(10) {
            0 => Value::Null,
            1 if field.ends_with("count") => json!(r.pick(NUMBERS)),
            2 if field.ends_with("items") => {
                Value::Array((0..1 + r.below(3)).map(|_| text(r)).collect())
            }
            3 if field.ends_with("count") => Value::String(r.pick(NUMBERS).to_string()),
            _ => text(r),
        };
        match field.split_once('.') {
            Some(("requestParameters", leaf)) => {
                params.insert(leaf.into(), value);
            }
            Some(("userIdentity", leaf)) => {
                identity.insert(leaf.into(), value);
            }
            _ => {
                ev[field] = value;
            }
        }
    }
    ev["requestParameters"] = Value::Object(params);
    ev["userIdentity"] = Value::Object(identity);
    ev
}

/// Who matched where the other did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Only {
    Firebreak,
    Rsigma,
}

impl Only {
    fn parse(s: &str) -> Self {
        match s {
            "firebreak" => Only::Firebreak,
            "rsigma" => Only::Rsigma,
            other => {
                panic!("disagreement file: `matched` must be firebreak or rsigma, not {other:?}")
            }
        }
    }
    fn name(self) -> &'static str {
        match self {
            Only::Firebreak => "firebreak",
            Only::Rsigma => "rsigma",
        }
    }
}

/// The listed disagreements: (rule index, event case) → who matched.
fn listed() -> BTreeMap<(usize, usize), Only> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/differential/rsigma-disagreements.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() || line.starts_with("rule\t") {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        assert!(
            f.len() >= 5 && !f[3].trim().is_empty() && !f[4].trim().is_empty(),
            "{}:{}: rule, event, matched, reason and specification text are all required",
            path.display(),
            n + 1
        );
        let key = (f[0].parse().unwrap(), f[1].parse().unwrap());
        assert!(
            out.insert(key, Only::parse(f[2])).is_none(),
            "{}:{}: listed twice",
            path.display(),
            n + 1
        );
    }
    out
}

#[test]
fn firebreak_and_rsigma_agree_on_generated_rules_and_events() {
    let mut r = Rng(SEED);
    let rules: Vec<(String, String)> = (0..RULES).map(|i| rule(&mut r, i)).collect();
    let events: Vec<Value> = (0..EVENTS).map(|i| event(&mut r, i)).collect();
    let body: String = events.iter().map(|e| format!("{e}\n")).collect();

    // Firebreak, as `hunt` runs: one rule file, events read by ingest.
    let all_rules = rules
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join("---\n");
    let (set, errors, _) = detect::rules::build(
        [("generated.yml", all_rules.as_str())],
        &Placeholders::default(),
    );
    assert!(errors.is_empty(), "generated rules must load: {errors:#?}");
    let det = Detector::new(set, false);
    let input = Input::Memory {
        name: "events.jsonl".into(),
        data: body.into_bytes().into(),
    };
    let ours: BTreeSet<(usize, usize)> = support::alerts(&det, &[input], &IngestOptions::default())
        .iter()
        .map(|a| (rule_index(&a.rule.id), a.event.line as usize - 1))
        .collect();

    // rsigma's evaluator, in process: each rule parsed and compiled on its own, every
    // event evaluated.
    let mut engine = rsigma_eval::Engine::new();
    for (i, (_, text)) in rules.iter().enumerate() {
        let collection = rsigma_parser::parse_sigma_yaml(text)
            .unwrap_or_else(|e| panic!("rsigma cannot parse rule {i}: {e}\n{text}"));
        engine
            .add_collection(&collection)
            .unwrap_or_else(|e| panic!("rsigma cannot compile rule {i}: {e}\n{text}"));
    }
    let mut theirs = BTreeSet::new();
    for (case, ev) in events.iter().enumerate() {
        for m in engine.evaluate(&rsigma_eval::event::JsonEvent::borrow(ev)) {
            theirs.insert((
                rule_index(m.header.rule_id.as_deref().expect("rule id")),
                case,
            ));
        }
    }
    assert!(
        !theirs.is_empty() && !ours.is_empty(),
        "both engines must match something (ours {}, rsigma {})",
        ours.len(),
        theirs.len()
    );

    let mut found = BTreeMap::new();
    for k in ours.difference(&theirs) {
        found.insert(*k, Only::Firebreak);
    }
    for k in theirs.difference(&ours) {
        found.insert(*k, Only::Rsigma);
    }
    let listed = listed();
    let mut report = String::new();
    for (k, who) in &found {
        if listed.get(k) != Some(who) {
            let (rule, case) = *k;
            writeln!(
                report,
                "NEW {rule}\t{case}\t{}\n--- rule\n{}--- event\n{}\n",
                who.name(),
                rules[rule].1,
                events[case]
            )
            .unwrap();
        }
    }
    for (k, who) in &listed {
        if found.get(k) != Some(who) {
            writeln!(
                report,
                "GONE {}\t{}\t{} (remove it from the file)",
                k.0,
                k.1,
                who.name()
            )
            .unwrap();
        }
    }
    eprintln!(
        "differential: {} rules x {} events; firebreak {} matches, rsigma {}; {} disagreement(s), all listed: {}",
        RULES,
        EVENTS,
        ours.len(),
        theirs.len(),
        found.len(),
        report.is_empty()
    );
    assert!(
        report.is_empty(),
        "unlisted or stale disagreements:\n{report}"
    );
}

fn rule_index(id: &str) -> usize {
    id.rsplit('-').next().unwrap().parse().unwrap()
}
