//! SigmaHQ's AWS rules over the Stratus and Panther traces give exactly the hand-checked
//! hits in `../shared/data/oracles` (rule file + 1-based JSONL line).

mod support;

use detect::Detector;
use ingest::{IngestOptions, Input};
use sigma::compile::Placeholders;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use support::{Run, shared};

fn rule_sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml") {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn hits(
    detector: &Detector,
    files: &HashMap<String, String>,
    input: &Path,
) -> BTreeSet<(String, u64)> {
    let mut out = BTreeSet::new();
    ingest::ingest(
        &[Input::File(input.to_path_buf())],
        &IngestOptions::default(),
        &Run(detector),
        |c| {
            assert!(c.rejections.is_empty(), "{:?}", c.rejections);
            for a in c.output.alerts {
                out.insert((files[&a.rule.id].clone(), a.event.line));
            }
        },
    )
    .unwrap();
    out
}

fn oracle(path: &Path) -> BTreeSet<(String, u64)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split('\t');
            (
                f.next().unwrap().to_string(),
                f.next().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

fn detector(data: &Path) -> (Detector, HashMap<String, String>) {
    let sources = rule_sources(&data.join("sigmahq-aws/rules"));
    assert_eq!(sources.len(), 57);
    let (set, errors, _) = detect::rules::build(
        sources.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        &Placeholders::default(),
    );
    assert!(errors.is_empty(), "{errors:#?}");
    let files = set
        .rules
        .iter()
        .map(|r| {
            (
                r.meta.id.clone().unwrap(),
                Path::new(&r.meta.file)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            )
        })
        .collect();
    (Detector::new(set, false), files)
}

fn compare(got: &BTreeSet<(String, u64)>, want: &BTreeSet<(String, u64)>) {
    let missing: Vec<_> = want.difference(got).collect();
    let extra: Vec<_> = got.difference(want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
}

#[test]
fn stratus_hits_equal_the_oracle() {
    let Some(data) = shared() else { return };
    let (det, files) = detector(&data);
    let got = hits(
        &det,
        &files,
        &data.join("stratus-detonations/stratus_cloudtrail.jsonl"),
    );
    compare(
        &got,
        &oracle(&data.join("oracles/reference_hits_stratus.tsv")),
    );
}

#[test]
fn panther_hits_equal_the_oracle() {
    let Some(data) = shared() else { return };
    let (det, files) = detector(&data);
    let got = hits(
        &det,
        &files,
        &data.join("panther-tests/panther_cloudtrail_tests.jsonl"),
    );
    compare(
        &got,
        &oracle(&data.join("oracles/reference_hits_panther.tsv")),
    );
}

#[test]
fn every_sigmahq_rule_loads_and_legacy_aggregations_are_located() {
    let Some(data) = shared() else { return };
    let mut sources = rule_sources(&data.join("sigmahq-aws/rules"));
    sources.extend(rule_sources(&data.join("sigmahq-aws/rules-placeholder")));
    let mut ph = Placeholders::default();
    ph.add("Legitimate_Countries=US").unwrap();
    ph.add("Legitimate_IP_Ranges=192.0.2.0/24").unwrap();
    let (set, errors, files) =
        detect::rules::build(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())), &ph);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!((files, set.rules.len()), (58, 58));

    // Without placeholder values, the placeholder rule says which are missing and where.
    let (_, errors, _) = detect::rules::build(
        sources.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        &Placeholders::default(),
    );
    assert_eq!(errors.len(), 1);
    assert!(errors[0].to_string().contains("aws_cloudtrail_console_login_success_from_susp_locations.yml:25:9: placeholder %Legitimate_Countries%"), "{}", errors[0]);

    // Sigma 1 aggregations are rejected with their location and what to do instead.
    let legacy = rule_sources(&data.join("sigmahq-aws/unsupported"));
    let (_, errors, _) = detect::rules::build(
        legacy.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        &Placeholders::default(),
    );
    assert_eq!(errors.len(), 7, "{errors:#?}");
    assert!(
        errors
            .iter()
            .all(|e| e.line > 0 && e.message.contains("write a correlation rule instead")),
        "{errors:#?}"
    );
}

#[test]
fn detection_only_ingest_gives_identical_alerts() {
    let Some(data) = shared() else { return };
    let mut sources = rule_sources(&data.join("sigmahq-aws/rules"));
    sources.extend(
        detect::rules::BUNDLED
            .iter()
            .map(|(n, t)| ((*n).to_string(), (*t).to_string())),
    );
    let (set, errors, _) = detect::rules::build(
        sources.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        &Placeholders::default(),
    );
    assert!(errors.is_empty(), "{errors:#?}");
    let det = Detector::new(set, true);
    let inputs = [
        Input::File(data.join("stratus-detonations/stratus_cloudtrail.jsonl")),
        Input::File(data.join("panther-tests/panther_cloudtrail_tests.jsonl")),
        Input::File(data.join("panther-tests/panther_guardduty_tests.jsonl")),
    ];
    let full = support::alerts(&det, &inputs, &IngestOptions::default());
    let light = support::alerts(
        &det,
        &inputs,
        &IngestOptions {
            normalize_actor: false,
            ..IngestOptions::default()
        },
    );
    assert!(full.len() > 400);
    assert_eq!(full.len(), light.len());
    for (a, b) in full.iter().zip(&light) {
        assert_eq!(
            (
                &a.rule.id,
                &a.event.line,
                &a.event.principal,
                &a.event.access_key_id,
                &a.event.account
            ),
            (
                &b.rule.id,
                &b.event.line,
                &b.event.principal,
                &b.event.access_key_id,
                &b.event.account
            )
        );
    }
}
