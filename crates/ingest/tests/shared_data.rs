//! The data sets in `../shared/data` (written by others) read completely.

mod support;

use ingest::{IngestOptions, Input, RecordKind, expand_inputs};
use std::collections::HashSet;
use support::*;

fn file(dir: &std::path::Path, rel: &str) -> Vec<Input> {
    vec![Input::File(dir.join(rel))]
}

#[test]
fn stratus_detonations_every_labelled_event_is_read() {
    let Some(dir) = shared_data() else { return };
    let run = run_inputs(
        &file(&dir, "stratus-detonations/stratus_cloudtrail.jsonl"),
        &IngestOptions::default(),
    );
    assert!(run.rejections.is_empty(), "{:?}", run.rejections);
    assert_eq!(run.events.len(), 310);
    let ids: HashSet<&str> = run
        .events
        .iter()
        .filter_map(|e| e["uid"].as_str())
        .collect();
    let labels = std::fs::read_to_string(dir.join("stratus-detonations/labels.tsv")).unwrap();
    for line in labels.lines().skip(1) {
        let id = line.split('\t').next().unwrap();
        assert!(ids.contains(id), "labelled event {id} missing");
    }
    // The original record stays addressable by its own paths.
    let first = &run.events[0];
    assert_eq!(
        first["raw"]["requestParameters"]["instanceId"],
        "i-i2jnm5swa59p4fxg"
    );
    assert_eq!(first["outcome"]["code"], "Client.UnauthorizedOperation");
    assert!(
        first["actor"]["principal_arn"]
            .as_str()
            .unwrap()
            .contains(":assumed-role/")
    );
}

#[test]
fn stratus_per_technique_pretty_json_documents() {
    let Some(dir) = shared_data() else { return };
    let inputs = expand_inputs(&[dir.join("stratus-detonations/docs/detonation-logs")]).unwrap();
    assert_eq!(inputs.len(), 35);
    let run = run_inputs(&inputs, &IngestOptions::default());
    assert!(run.rejections.is_empty(), "{:?}", run.rejections);
    assert_eq!(run.events.len(), 310);
}

#[test]
fn panther_cloudtrail_odd_shapes_all_read() {
    let Some(dir) = shared_data() else { return };
    let run = run_inputs(
        &file(&dir, "panther-tests/panther_cloudtrail_tests.jsonl"),
        &IngestOptions::default(),
    );
    assert!(run.rejections.is_empty(), "{:?}", run.rejections);
    assert_eq!(run.events.len(), 461);
    assert_eq!(run.summary.kind(RecordKind::CloudTrail).events, 461);
    // Line numbers are the JSONL lines, so oracles keyed by line can be matched.
    for (i, e) in run.events.iter().enumerate() {
        assert_eq!(e["origin"]["line"].as_u64(), Some(i as u64 + 1));
    }
    // Non-ISO times (`2023-01-10 21:04:02`) are read; unreadable ones leave time unset.
    assert_eq!(run.events[31]["time_ms"], 1_673_384_642_000i64);
    assert_eq!(
        run.events[31]["region"], "eu-west-1",
        "Athena lowercase keys"
    );
    let without_time = run
        .events
        .iter()
        .filter(|e| e.get("time_ms").is_none())
        .count();
    assert!(without_time < 40, "{without_time}");
}

#[test]
fn panther_guardduty_and_flow_records() {
    let Some(dir) = shared_data() else { return };
    let gd = run_inputs(
        &file(&dir, "panther-tests/panther_guardduty_tests.jsonl"),
        &IngestOptions::default(),
    );
    assert!(gd.rejections.is_empty(), "{:?}", gd.rejections);
    assert_eq!(gd.summary.kind(RecordKind::GuardDuty).events, 8);
    assert!(gd.events.iter().all(|e| e["severity"] != "unknown"));
    let flow = run_inputs(
        &file(&dir, "panther-tests/panther_vpcflow_tests.jsonl"),
        &IngestOptions::default(),
    );
    assert!(flow.rejections.is_empty(), "{:?}", flow.rejections);
    assert_eq!(flow.summary.kind(RecordKind::VpcFlow).events, 29);
    let ssh = flow
        .events
        .iter()
        .find(|e| e["raw"]["dstPort"] == 22)
        .unwrap();
    assert_eq!(ssh["network"]["dst_port"], 22);
    let ocsf_shaped = flow
        .events
        .iter()
        .find(|e| e["raw"].get("dst_endpoint").is_some())
        .unwrap();
    assert!(ocsf_shaped["network"]["dst_ip"].is_string());
}
