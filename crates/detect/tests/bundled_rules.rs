//! The bundled rules: each loads, passes its own must-match / must-not-match cases, and
//! together they detect the Stratus Red Team techniques while staying quiet on Panther's
//! negative cases.

mod support;

use detect::Detector;
use ingest::{IngestOptions, Input};
use model::{Alert, AlertKind};
use serde_json::Value;
use sigma::compile::Placeholders;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use support::shared;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn detector() -> Detector {
    let (set, errors, files) = detect::rules::build(
        detect::rules::BUNDLED.iter().copied(),
        &Placeholders::default(),
    );
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(files >= 40, "{files} bundled rule files");
    Detector::new(set, true)
}

fn alerts(det: &Detector, inputs: &[Input]) -> Vec<Alert> {
    support::alerts(det, inputs, &IngestOptions::default())
}

/// `(file, line)` of every event an alert stands on.
fn alert_lines(a: &Alert) -> Vec<(String, u64)> {
    match &a.kind {
        AlertKind::Correlation { events, .. } => events
            .iter()
            .map(|e| {
                let (f, l) = e.rsplit_once(':').unwrap();
                (f.to_string(), l.parse().unwrap())
            })
            .collect(),
        _ => vec![(a.event.file.to_string(), a.event.line)],
    }
}

#[test]
fn every_rule_passes_its_own_cases() {
    let det = detector();
    let dir = repo().join("rules");
    let mut rule_files = 0;
    let mut cases_run = 0;
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_some_and(|x| x == "yml") {
                rule_files += 1;
                let tests = p.with_extension("tests.jsonl");
                assert!(tests.exists(), "{} has no {}", p.display(), tests.display());
                let text = std::fs::read_to_string(&tests).unwrap();
                let mut expects: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
                for line in text.lines() {
                    let case: Value = serde_json::from_str(line).unwrap();
                    let rule = case["rule"].as_str().unwrap();
                    let expect = case["expect"].as_str().unwrap();
                    expects
                        .entry(rule.to_string())
                        .or_default()
                        .insert(expect.to_string());
                    let body: String = case["events"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| match e {
                            Value::String(s) => format!("{s}\n"),
                            other => format!("{other}\n"),
                        })
                        .collect();
                    let fired = alerts(
                        &det,
                        &[Input::Memory {
                            name: "case".into(),
                            data: body.into_bytes().into(),
                        }],
                    )
                    .iter()
                    .any(|a| a.rule.id == rule);
                    assert_eq!(
                        fired,
                        expect == "match",
                        "{}: case `{}` expected {expect}",
                        p.display(),
                        case["case"]
                    );
                    cases_run += 1;
                }
                for (rule, kinds) in expects {
                    assert!(
                        kinds.contains("match") && kinds.contains("nomatch"),
                        "{}: rule {rule} needs match and nomatch cases",
                        p.display()
                    );
                }
            }
        }
    }
    assert_eq!(rule_files, detect::rules::BUNDLED.len());
    assert!(cases_run > 100, "{cases_run}");
}

/// Stratus `labels.tsv`: eventID → technique.
fn stratus_techniques(data: &std::path::Path) -> HashMap<String, String> {
    let labels = std::fs::read_to_string(data.join("stratus-detonations/labels.tsv")).unwrap();
    labels
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .map(|f| (f[0].to_string(), f[1].to_string()))
        .collect()
}

#[test]
fn stratus_techniques_detected() {
    let Some(data) = shared() else { return };
    let det = detector();
    let file = data.join("stratus-detonations/stratus_cloudtrail.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let id_by_line: HashMap<u64, String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            (
                i as u64 + 1,
                serde_json::from_str::<Value>(l).unwrap()["eventID"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    let technique_of = stratus_techniques(&data);
    let all: BTreeSet<&String> = technique_of.values().collect();
    let mut detected = BTreeSet::new();
    for a in alerts(&det, &[Input::File(file.clone())]) {
        for (_, line) in alert_lines(&a) {
            if let Some(t) = id_by_line.get(&line).and_then(|id| technique_of.get(id)) {
                detected.insert(t.clone());
            }
        }
    }
    let missed: Vec<_> = all.iter().filter(|t| !detected.contains(**t)).collect();
    eprintln!(
        "stratus: {} of {} techniques detected; missed: {missed:?}",
        detected.len(),
        all.len()
    );
    assert_eq!(all.len(), 35);
    assert!(
        detected.len() >= 33,
        "only {} detected, missed {missed:?}",
        detected.len()
    );
}

#[test]
fn panther_negative_cases_rarely_fire() {
    let Some(data) = shared() else { return };
    let det = detector();
    let file = data.join("panther-tests/panther_cloudtrail_tests.jsonl");
    let labels = std::fs::read_to_string(data.join("panther-tests/labels.tsv")).unwrap();
    let negatives: BTreeMap<u64, String> = labels
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f[0] == "AWS.CloudTrail" && f[3] == "False")
        .map(|f| (f[1].parse().unwrap(), format!("{} / {}", f[2], f[4])))
        .collect();
    let mut fired: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    // An alert fires on the event it is located at (for a correlation, the one that completed it).
    for a in alerts(&det, &[Input::File(file.clone())]) {
        if negatives.contains_key(&a.event.line) {
            fired
                .entry(a.event.line)
                .or_default()
                .insert(a.rule.title.clone());
        }
    }
    let rate = fired.len() as f64 / negatives.len() as f64;
    eprintln!(
        "panther negatives: {} of {} fired ({:.2}%)",
        fired.len(),
        negatives.len(),
        rate * 100.0
    );
    for (line, rules) in &fired {
        eprintln!("  line {line} ({}): {rules:?}", negatives[line]);
    }
    assert_eq!(negatives.len(), 250);
    assert!(rate <= 0.01, "{:.2}% of negative cases fired", rate * 100.0);
}

#[test]
fn bundled_sample_incident_raises_the_expected_alerts() {
    let det = detector();
    let dir = repo().join("examples/sample-logs");
    let inputs = ingest::expand_inputs(&[dir]).unwrap();
    let titles: BTreeSet<String> = alerts(&det, &inputs)
        .into_iter()
        .map(|a| a.rule.title.clone())
        .collect();
    for want in [
        "CloudTrail Logging Stopped",
        "VPC Flow Logs Deleted",
        "New IAM User or Role Granted AdministratorAccess",
        "EC2 GPU or Unusually Large Instance Launched",
        "Console Sign-in by an IAM User Without MFA",
        "Outbound Connection to a Crypto-Mining Pool Port",
        "Port Scan: Many Ports Refused From One Source",
    ] {
        assert!(titles.contains(want), "missing {want:?} in {titles:#?}");
    }
    assert!(
        titles.iter().any(|t| t.contains("Bitcoin mining pool")),
        "GuardDuty finding alert"
    );
}

/// Stratus's instance credential theft is detected through the credentials' use (the
/// attacker's GetCallerIdentity from outside the instance), not only the SSM command that
/// read them.
#[test]
fn stolen_instance_credentials_are_detected_by_their_use() {
    let Some(data) = shared() else { return };
    let det = detector();
    let file = data.join("stratus-detonations/stratus_cloudtrail.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("b379479b-05c9-4c3c-af4b-cbd43acf29e1"))
        .expect("the attacker's call is in the trace") as u64
        + 1;
    let rules: BTreeSet<String> = alerts(&det, &[Input::File(file)])
        .into_iter()
        .filter(|a| a.event.line == line)
        .map(|a| a.rule.title.clone())
        .collect();
    assert!(
        rules.contains("EC2 Instance Credentials Used Outside AWS"),
        "{rules:?}"
    );
}

/// `rules/stratus-use.tsv` names, for every Stratus technique, the bundled rule that sees
/// the attacker *use* what the technique produced. `trace`: the rule fires on that
/// technique's events in the detonation trace; `cases`: the use comes after the detonation,
/// so the rule's own must-match cases stand for it; `outside` / `left`: no rule, with the
/// reason.
#[test]
fn every_stratus_technique_names_the_rule_that_sees_its_use() {
    let Some(data) = shared() else { return };
    let table = std::fs::read_to_string(repo().join("rules/stratus-use.tsv")).unwrap();
    let loaded = detect::rules::parse_sources(detect::rules::BUNDLED.iter().copied());
    let id_of: HashMap<String, String> = loaded
        .items
        .iter()
        .filter_map(|i| Some((i.meta().name.clone()?, i.meta().id.clone()?)))
        .collect();
    let file_of: HashMap<String, String> = loaded
        .items
        .iter()
        .filter_map(|i| Some((i.meta().id.clone()?, i.meta().file.clone())))
        .collect();

    let file = data.join("stratus-detonations/stratus_cloudtrail.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let technique_of = stratus_techniques(&data);
    let technique_at: HashMap<u64, &String> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let id = serde_json::from_str::<Value>(l).ok()?["eventID"]
                .as_str()?
                .to_string();
            Some((i as u64 + 1, technique_of.get(&id)?))
        })
        .collect();
    // rule id -> techniques whose events it fired on.
    let mut fired: HashMap<String, BTreeSet<String>> = HashMap::new();
    for a in alerts(&detector(), &[Input::File(file)]) {
        for (_, line) in alert_lines(&a) {
            if let Some(t) = technique_at.get(&line) {
                fired
                    .entry(a.rule.id.clone())
                    .or_default()
                    .insert((*t).clone());
            }
        }
    }

    let mut rows = BTreeSet::new();
    for (n, line) in table.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 5, "stratus-use.tsv:{}: five columns", n + 1);
        let (technique, use_rule, seen, note) = (f[0], f[2], f[3], f[4]);
        assert!(rows.insert(technique.to_string()), "{technique} twice");
        assert!(!note.is_empty(), "{technique}: say how the use is seen");
        match seen {
            "trace" | "cases" => {
                let id = id_of
                    .get(use_rule)
                    .unwrap_or_else(|| panic!("{technique}: no bundled rule named {use_rule}"));
                if seen == "trace" {
                    assert!(
                        fired.get(id).is_some_and(|t| t.contains(technique)),
                        "{technique}: {use_rule} does not fire on the technique's events"
                    );
                } else {
                    let file = repo().join(&file_of[id]).with_extension("tests.jsonl");
                    let cases = std::fs::read_to_string(&file).unwrap();
                    assert!(
                        cases.lines().any(|l| {
                            let c: Value = serde_json::from_str(l).unwrap();
                            c["rule"] == id.as_str() && c["expect"] == "match"
                        }),
                        "{technique}: {use_rule} has no must-match case in {}",
                        file.display()
                    );
                }
            }
            "outside" | "left" => assert_eq!(use_rule, "-", "{technique}"),
            other => panic!("{technique}: unknown `seen` value {other:?}"),
        }
    }
    let techniques: BTreeSet<String> = technique_of.values().cloned().collect();
    assert_eq!(rows, techniques, "one row per Stratus technique");
    let with_rule = table
        .lines()
        .skip(1)
        .filter(|l| !l.contains("\t-\t"))
        .count();
    eprintln!(
        "stratus: a rule sees the use of {with_rule} of {} techniques",
        rows.len()
    );
    assert!(with_rule >= 28, "{with_rule}");
}
