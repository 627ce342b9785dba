//! Helpers shared by the ingest integration tests.
#![allow(dead_code)]

use ingest::{EventHandler, IngestOptions, Input, Rejection, Summary};
use model::Event;
use serde_json::Value;
use std::path::PathBuf;

/// Renders each event as its normalized JSON (with `raw`).
pub struct Collect;

impl EventHandler for Collect {
    type Output = Vec<Value>;
    fn begin(&self) -> Vec<Value> {
        Vec::new()
    }
    fn event(&self, out: &mut Vec<Value>, ev: &Event<'_>) {
        let mut buf = Vec::new();
        ev.write_jsonl(&mut buf).expect("serializes");
        let mut v: Value = serde_json::from_slice(&buf).expect("valid JSON");
        // Also check the OCSF rendering of every event parses and has its class.
        let mut ocsf = Vec::new();
        model::ocsf::write_ocsf(ev, &mut ocsf).expect("ocsf serializes");
        let o: Value = serde_json::from_slice(&ocsf).expect("ocsf is JSON");
        assert_eq!(o["class_uid"].as_u64(), Some(u64::from(ev.class.uid())));
        v["ocsf"] = o;
        out.push(v);
    }
}

pub struct Run {
    pub events: Vec<Value>,
    pub rejections: Vec<Rejection>,
    pub summary: Summary,
}

pub fn run_inputs(inputs: &[Input], opts: &IngestOptions) -> Run {
    let mut events = Vec::new();
    let mut rejections = Vec::new();
    let summary = ingest::ingest(inputs, opts, &Collect, |c| {
        events.extend(c.output);
        rejections.extend(c.rejections);
    })
    .expect("ingest runs");
    assert_eq!(
        summary.rejected(),
        rejections.len() as u64,
        "every rejection is reported"
    );
    Run {
        events,
        rejections,
        summary,
    }
}

pub fn run_bytes(name: &str, data: &[u8]) -> Run {
    run_with(name, data, &IngestOptions::default())
}

pub fn run_with(name: &str, data: &[u8], opts: &IngestOptions) -> Run {
    run_inputs(
        &[Input::Memory {
            name: name.into(),
            data: data.into(),
        }],
        opts,
    )
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .expect("fixture exists")
}

/// `../shared/data`, or `None` (with the reason printed) when it is absent outside CI.
pub fn shared_data() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.join("README.md").exists() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "shared data missing at {} (required under CI=true)",
            dir.display()
        );
    }
    eprintln!("skipping: shared data not found at {}", dir.display());
    None
}

pub fn names(run: &Run) -> Vec<String> {
    run.events
        .iter()
        .map(|e| e["api"]["operation"].as_str().unwrap_or("").to_string())
        .collect()
}
