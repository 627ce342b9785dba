//! Evidence collection for a case: CloudTrail log files from the trail's bucket (checked
//! against CloudTrail digest files) and LookupEvents, VPC Flow Logs of the case's network
//! interfaces, GuardDuty findings, AWS Config history, EBS snapshots (an encrypted copy
//! shared with the forensic account), volatile instance metadata and console output, and
//! memory through SSM Run Command with AVML; plus the upload of artifacts to the evidence
//! bucket under S3 Object Lock, verified by reading them back.

mod bucket;
mod host;
mod logs;

pub use bucket::*;
pub use host::*;
pub use logs::*;

use crate::AwsError;
use crate::connect::Connection;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;

/// What to collect.
#[derive(Debug, Clone)]
pub struct Request {
    pub case: case::CaseId,
    pub account: model::AccountId,
    /// Regions the case saw activity in.
    pub regions: Vec<String>,
    /// (instance id, region).
    pub instances: Vec<(String, String)>,
    pub access_keys: Vec<String>,
    pub users: Vec<String>,
    /// The case window (first alert − margin … last alert + margin).
    pub from_ms: i64,
    pub to_ms: i64,
}

/// One collected artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct Collected {
    pub name: String,
    pub source: String,
    pub bytes: Vec<u8>,
    /// Logs are examined again (ingest and detection) into the case timeline.
    pub is_log: bool,
    pub detail: Value,
}

/// Something that could not be collected, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub what: String,
    pub why: String,
}

#[derive(Debug, Default)]
pub struct Collection {
    pub items: Vec<Collected>,
    pub failures: Vec<Failure>,
}

impl Collection {
    fn note<T>(&mut self, what: impl Into<String>, r: Result<T, AwsError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.failures.push(Failure {
                    what: what.into(),
                    why: e.to_string(),
                });
                None
            }
        }
    }
}

fn days(from_ms: i64, to_ms: i64) -> Vec<(i64, i64, i64)> {
    let (first, last) = (from_ms.div_euclid(86_400_000), to_ms.div_euclid(86_400_000));
    (first..=last.min(first + 92))
        .map(model::time::civil_from_days)
        .collect()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        if flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .is_ok()
        {
            return out;
        }
    }
    bytes.to_vec()
}

/// Collects everything the request names that only reads; what fails is listed, never
/// fatal. Snapshots and memory change AWS, so they run as an evidence response plan
/// (`ec2.snapshot-volumes`, `ec2.copy-snapshots-to-forensics`, `ec2.capture-memory`).
pub async fn collect(conn: &Connection, req: &Request) -> Collection {
    let mut out = Collection::default();
    cloudtrail_files(conn, req, &mut out).await;
    lookup_events(conn, req, &mut out).await;
    flow_logs(conn, req, &mut out).await;
    guardduty_findings(conn, req, &mut out).await;
    config_history(conn, req, &mut out).await;
    volatile(conn, req, &mut out).await;
    out
}
