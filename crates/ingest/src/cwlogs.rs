//! CloudWatch Logs subscription payloads: `{"messageType":"DATA_MESSAGE","logEvents":[…]}`,
//! as delivered (base64 + gzip) in Kinesis records, Firehose objects and Lambda events.

use crate::lenient::Str;
use base64::Engine;
use flate2::read::MultiGzDecoder;
use serde::Deserialize;
use std::borrow::Cow;
use std::io::Read;

#[derive(Deserialize)]
pub(crate) struct Payload<'a> {
    #[serde(borrow, default, rename = "messageType")]
    pub message_type: Str<'a>,
    #[serde(borrow, default)]
    pub owner: Str<'a>,
    #[serde(borrow, default, rename = "logGroup")]
    pub log_group: Str<'a>,
    #[serde(borrow, default, rename = "logEvents")]
    pub log_events: Vec<LogEvent<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct LogEvent<'a> {
    #[serde(borrow)]
    pub message: Cow<'a, str>,
}

/// gzip's magic bytes.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decodes base64 text and, when it is gzip, inflates it (at most `limit` bytes).
pub(crate) fn decode_data(text: &str, limit: usize) -> Result<Vec<u8>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("payload is not valid base64: {e}"))?;
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    gunzip(&bytes, limit)
}

/// Inflates (multi-member) gzip bytes, refusing more than `limit` bytes of output.
pub(crate) fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    MultiGzDecoder::new(bytes)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("payload gzip is damaged: {e}"))?;
    if out.len() > limit {
        return Err(format!("payload inflates to more than {limit} bytes"));
    }
    Ok(out)
}
