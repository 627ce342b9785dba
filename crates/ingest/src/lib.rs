//! Bytes in, normalized [`model::Event`]s out.
//!
//! Reads CloudTrail (S3 `{"Records":[…]}` files, JSON lines, JSON arrays, single objects,
//! CloudTrail Lake / Athena exports, Logstash-shipped events, EventBridge envelopes), VPC Flow
//! Logs text (v2–v8, custom field order with header), GuardDuty findings (raw, `GetFindings`
//! lists, EventBridge), Security Hub ASFF (`Findings` arrays, EventBridge) and CloudWatch Logs
//! subscription payloads (base64 + gzip, as in Kinesis records). Plain or gzip (multi-member).
//!
//! Streaming with bounded memory: a reader thread cuts inputs into chunks, worker threads
//! parse them, and results come back in input order. Every record is either turned into
//! events or counted as rejected with `file:line: reason`.

mod classify;
mod cloudtrail;
mod cwlogs;
mod error;
mod filter;
mod finding;
pub mod flow;
mod gzip;
mod inputs;
mod lenient;
mod pipeline;
mod record;
mod scan;
mod summary;

pub use error::IngestError;
pub use filter::{FilterError, RecordFilter};
pub use inputs::{Input, expand_inputs};
pub use pipeline::{ChunkOutcome, EventHandler, IngestOptions, InputFormat, ingest, ingest_bytes};
pub use summary::{KindStats, Location, RecordKind, Rejection, Summary, TIME_UNKNOWN_LOCATIONS};
