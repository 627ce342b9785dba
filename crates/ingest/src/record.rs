//! Dispatching one record (a JSON value or a text line) to the reader for its shape.

use crate::classify::{Probe, Shape};
use crate::cloudtrail;
use crate::cwlogs::{self, Payload};
use crate::finding;
use crate::flow::{self, FlowLayout};
use crate::pipeline::InputFormat;
use crate::summary::{RecordKind, Tally};
use model::{Event, Origin};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::sync::Arc;

/// Envelopes inside envelopes deeper than this are refused (hostile input).
const MAX_DEPTH: u8 = 6;

/// What the records of one input share.
pub(crate) struct FileCtx {
    pub name: Arc<str>,
    pub format: InputFormat,
    /// Layout for VPC flow text: from the header, `--vpc-flow-fields`, or guessed.
    pub layout: Option<FlowLayout>,
    /// Whether the layout was given by the user (applies to CloudWatch Logs messages too).
    pub explicit_layout: bool,
    pub max_record_bytes: usize,
    pub normalize_actor: bool,
}

/// Where events and counts of one chunk go.
pub(crate) struct Emit<'s> {
    pub file: &'s Arc<str>,
    pub tally: &'s mut Tally,
    pub on_event: &'s mut dyn FnMut(&Event<'_>),
    /// When set, records it does not read are counted as passed over, not parsed.
    pub filter: Option<&'s crate::RecordFilter>,
}

impl Emit<'_> {
    /// Whether the record `text` is passed over by the handler's filter (and counts it).
    fn passes_over(&mut self, text: &[u8]) -> bool {
        let skip = self.filter.is_some_and(|f| !f.reads(text));
        if skip {
            self.tally.passed_over += 1;
        }
        skip
    }
    fn event(&mut self, kind: RecordKind, ev: &Event<'_>) {
        self.tally.record(kind);
        self.tally.event(kind);
        if ev.time_ms.is_none() {
            self.tally.time_unknown(self.file, ev.origin.line);
        }
        (self.on_event)(ev);
    }
    fn reject(&mut self, ctx: &FileCtx, line: u64, kind: RecordKind, reason: impl Into<String>) {
        self.tally.record(kind);
        self.tally.reject(&ctx.name, line, kind, reason);
    }
}

fn kind_of(shape: Shape) -> RecordKind {
    match shape {
        Shape::CloudTrail => RecordKind::CloudTrail,
        Shape::GuardDuty => RecordKind::GuardDuty,
        Shape::SecurityHub => RecordKind::SecurityHub,
        Shape::FlowJson => RecordKind::VpcFlow,
        Shape::CloudWatchLogs | Shape::AwsLogs | Shape::Kinesis => RecordKind::CloudWatchLogs,
        _ => RecordKind::Unknown,
    }
}

fn format_kind(format: InputFormat) -> Option<RecordKind> {
    match format {
        InputFormat::Auto => None,
        InputFormat::CloudTrail => Some(RecordKind::CloudTrail),
        InputFormat::VpcFlow => Some(RecordKind::VpcFlow),
        InputFormat::GuardDuty => Some(RecordKind::GuardDuty),
        InputFormat::SecurityHub => Some(RecordKind::SecurityHub),
        InputFormat::CloudWatchLogs => Some(RecordKind::CloudWatchLogs),
    }
}

fn origin(ctx: &FileCtx, line: u64) -> Origin<'_> {
    Origin {
        file: Cow::Borrowed(&ctx.name),
        line,
    }
}

/// A line of a line-oriented input: JSON, a base64 payload, or VPC flow text. Runs of NUL
/// bytes (padding, a zeroed block or gzip member) are rejected on their own, so the records
/// around them on the same line are still read.
pub(crate) fn line(text: &[u8], line: u64, ctx: &FileCtx, emit: &mut Emit<'_>) {
    let mut rest = text;
    while let Some(p) = memchr::memchr(0, rest) {
        one_line(&rest[..p], line, ctx, emit);
        let run = rest[p..].iter().take_while(|b| **b == 0).count();
        emit.reject(
            ctx,
            line,
            RecordKind::Unknown,
            format!("{run} NUL bytes (padding or a zeroed block); skipped"),
        );
        rest = &rest[p + run..];
    }
    one_line(rest, line, ctx, emit);
}

fn one_line(text: &[u8], line: u64, ctx: &FileCtx, emit: &mut Emit<'_>) {
    let text = text.trim_ascii();
    match text.first() {
        None => {}
        Some(b'{' | b'[') => json(text, line, ctx, emit, 0, ""),
        Some(_) => non_json_line(text, line, ctx, emit),
    }
}

fn non_json_line(text: &[u8], line: u64, ctx: &FileCtx, emit: &mut Emit<'_>) {
    let Ok(text) = std::str::from_utf8(text) else {
        return emit.reject(
            ctx,
            line,
            RecordKind::Unknown,
            "line is not valid UTF-8 (binary data?)",
        );
    };
    if text.starts_with("H4sI") && ctx.format != InputFormat::VpcFlow {
        return match cwlogs::decode_data(text, ctx.max_record_bytes) {
            Ok(bytes) => json(&bytes, line, ctx, emit, 1, ""),
            Err(reason) => emit.reject(ctx, line, RecordKind::CloudWatchLogs, reason),
        };
    }
    if FlowLayout::from_header(text).is_some() {
        emit.tally.header_lines += 1;
        return;
    }
    if emit.passes_over(text.as_bytes()) {
        return;
    }
    if let Some(kind) = format_kind(ctx.format)
        && kind != RecordKind::VpcFlow
    {
        return emit.reject(
            ctx,
            line,
            kind,
            format!("not a {} record: line is not JSON", kind.name()),
        );
    }
    let layout = match &ctx.layout {
        Some(l) => Cow::Borrowed(l),
        None => match FlowLayout::guess(text) {
            Some(l) => Cow::Owned(l),
            None => {
                let kind = if ctx.format == InputFormat::VpcFlow {
                    RecordKind::VpcFlow
                } else {
                    RecordKind::Unknown
                };
                return emit.reject(
                    ctx,
                    line,
                    kind,
                    "unrecognized line: not JSON, a base64 payload, or a VPC flow record in a known layout (pass --vpc-flow-fields for custom formats)",
                );
            }
        },
    };
    match flow::parse_line(text, &layout, origin(ctx, line), None) {
        Ok(ev) => emit.event(RecordKind::VpcFlow, &ev),
        Err(reason) => emit.reject(ctx, line, RecordKind::VpcFlow, reason),
    }
}

fn json_error(e: &serde_json::Error, at: &str) -> String {
    format!("invalid JSON{at}: {e}")
}

/// One JSON value (object or array) found at `line`. `at` locates it inside an envelope.
pub(crate) fn json(
    bytes: &[u8],
    line: u64,
    ctx: &FileCtx,
    emit: &mut Emit<'_>,
    depth: u8,
    at: &str,
) {
    if depth > MAX_DEPTH {
        return emit.reject(
            ctx,
            line,
            RecordKind::Unknown,
            format!("envelopes nested too deep{at}"),
        );
    }
    // SIMD validation: this runs on every record.
    let Ok(text) = simdutf8::basic::from_utf8(bytes) else {
        return emit.reject(
            ctx,
            line,
            RecordKind::Unknown,
            format!("record is not valid UTF-8{at}"),
        );
    };
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if emit.passes_over(text.as_bytes()) {
        return;
    }
    match text.as_bytes().first() {
        Some(b'[') => match serde_json::from_str::<Vec<&RawValue>>(text) {
            Ok(items) => {
                for (i, item) in items.iter().enumerate() {
                    json(
                        item.get().as_bytes(),
                        line,
                        ctx,
                        emit,
                        depth + 1,
                        &format!("{at}[{i}]"),
                    );
                }
            }
            Err(e) => emit.reject(ctx, line, RecordKind::Unknown, json_error(&e, at)),
        },
        Some(b'{') => {
            let mut de = serde_json::Deserializer::from_str(text);
            match serde::Deserialize::deserialize(&mut de) {
                Ok(probe) if de.end().is_ok() => probed(probe, text, line, ctx, emit, depth, at),
                Ok(_) => concatenated(text, line, ctx, emit, depth, at),
                Err(e) => emit.reject(ctx, line, RecordKind::Unknown, json_error(&e, at)),
            }
        }
        _ => emit.reject(
            ctx,
            line,
            RecordKind::Unknown,
            format!("record is not a JSON object{at}"),
        ),
    }
}

fn elements<'a>(raw: &'a RawValue, name: &str) -> Result<Vec<&'a RawValue>, String> {
    serde_json::from_str::<Vec<&RawValue>>(raw.get())
        .map_err(|_| format!("`{name}` is not an array"))
}

/// Several JSON objects written one after another (Firehose writes them so).
fn concatenated(text: &str, line: u64, ctx: &FileCtx, emit: &mut Emit<'_>, depth: u8, at: &str) {
    let stream = serde_json::Deserializer::from_str(text).into_iter::<Probe<'_>>();
    let mut start = 0;
    for (index, item) in stream.enumerate() {
        let here = format!("{at} (value {})", index + 1);
        match item {
            Ok(probe) => {
                // The probe borrowed from `text`; find this value's own text for the event.
                let rest = &text[start..];
                let value: &RawValue = match serde_json::Deserializer::from_str(rest)
                    .into_iter::<&RawValue>()
                    .next()
                {
                    Some(Ok(v)) => v,
                    _ => break,
                };
                let offset = value.get().as_ptr() as usize - text.as_ptr() as usize;
                start = offset + value.get().len();
                probed(probe, value.get(), line, ctx, emit, depth, &here);
            }
            Err(e) => {
                emit.reject(ctx, line, RecordKind::Unknown, json_error(&e, &here));
                break;
            }
        }
    }
}

/// One JSON object, already probed; `text` is exactly its JSON.
fn probed(
    probe: Probe<'_>,
    text: &str,
    line: u64,
    ctx: &FileCtx,
    emit: &mut Emit<'_>,
    depth: u8,
    at: &str,
) {
    let mut shape = probe.shape();
    let wanted = format_kind(ctx.format);
    if wanted == Some(RecordKind::CloudTrail) && shape == Shape::Unknown {
        shape = Shape::CloudTrail;
    }
    let leaf = kind_of(shape);
    if let Some(w) = wanted
        && leaf != RecordKind::Unknown
        && leaf != w
        && leaf != RecordKind::CloudWatchLogs
        && !(depth > 0 && w == RecordKind::CloudWatchLogs)
    {
        return emit.reject(
            ctx,
            line,
            w,
            format!("not a {} record (looks like {}){at}", w.name(), leaf.name()),
        );
    }
    match shape {
        Shape::CloudTrail => cloudtrail_record(probe, text, line, ctx, emit, at),
        Shape::RecordsEnvelope | Shape::FindingsEnvelope => {
            let (raw, name) = match shape {
                Shape::RecordsEnvelope => (probe.records, "Records"),
                _ => (probe.findings, "Findings"),
            };
            emit.tally.envelopes += 1;
            match raw.map(|r| elements(r, name)) {
                Some(Ok(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        json(
                            item.get().as_bytes(),
                            line,
                            ctx,
                            emit,
                            depth + 1,
                            &format!("{at} {name}[{i}]"),
                        );
                    }
                }
                Some(Err(reason)) => {
                    emit.reject(ctx, line, RecordKind::Unknown, format!("{reason}{at}"))
                }
                None => {}
            }
        }
        Shape::EventBridge => eventbridge(&probe, line, ctx, emit, depth, at),
        Shape::CloudWatchLogs => cwl_payload(text, line, ctx, emit, depth, at),
        Shape::AwsLogs | Shape::Kinesis => {
            let wrapper = probe.awslogs.or(probe.kinesis);
            let data = wrapper
                .and_then(|w| serde_json::from_str::<DataField>(w.get()).ok())
                .and_then(|d| d.data);
            match data.map(|d| cwlogs::decode_data(&d, ctx.max_record_bytes)) {
                Some(Ok(bytes)) => json(
                    &bytes,
                    line,
                    ctx,
                    emit,
                    depth + 1,
                    &format!("{at} (decoded data)"),
                ),
                Some(Err(reason)) => emit.reject(
                    ctx,
                    line,
                    RecordKind::CloudWatchLogs,
                    format!("{reason}{at}"),
                ),
                None => emit.reject(
                    ctx,
                    line,
                    RecordKind::CloudWatchLogs,
                    format!("record has no `data` to decode{at}"),
                ),
            }
        }
        Shape::Digest => emit.tally.digest_files += 1,
        Shape::GuardDuty | Shape::SecurityHub | Shape::FlowJson => {
            value_record(shape, text, line, ctx, emit, at)
        }
        Shape::Unknown => {
            let keys: Vec<String> =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)
                    .map(|m| m.keys().take(8).cloned().collect())
                    .unwrap_or_default();
            emit.reject(
                ctx,
                line,
                RecordKind::Unknown,
                format!("unrecognized record shape{at} (keys: {})", keys.join(", ")),
            );
        }
    }
}

#[derive(serde::Deserialize)]
struct DataField {
    data: Option<String>,
}

fn cloudtrail_record(
    probe: Probe<'_>,
    text: &str,
    line: u64,
    ctx: &FileCtx,
    emit: &mut Emit<'_>,
    at: &str,
) {
    if !cloudtrail::has_embedded_json(&probe) {
        let ev = cloudtrail::to_event(
            probe,
            Cow::Borrowed(text),
            origin(ctx, line),
            ctx.normalize_actor,
        );
        return emit.event(RecordKind::CloudTrail, &ev);
    }
    match cloudtrail::expand_embedded_json(text) {
        Ok(expanded) => match serde_json::from_str::<Probe<'_>>(&expanded) {
            Ok(probe) => {
                let ev = cloudtrail::to_event(
                    probe,
                    Cow::Borrowed(&expanded),
                    origin(ctx, line),
                    ctx.normalize_actor,
                );
                emit.event(RecordKind::CloudTrail, &ev);
            }
            Err(e) => emit.reject(ctx, line, RecordKind::CloudTrail, json_error(&e, at)),
        },
        Err(e) => emit.reject(ctx, line, RecordKind::CloudTrail, json_error(&e, at)),
    }
}

fn value_record(shape: Shape, text: &str, line: u64, ctx: &FileCtx, emit: &mut Emit<'_>, at: &str) {
    let kind = kind_of(shape);
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return emit.reject(ctx, line, kind, json_error(&e, at)),
    };
    let result = match shape {
        Shape::GuardDuty => finding::guardduty(&value, Cow::Borrowed(text), origin(ctx, line)),
        Shape::SecurityHub => finding::asff(&value, Cow::Borrowed(text), origin(ctx, line)),
        _ => Ok(flow::from_json(
            &value,
            Cow::Borrowed(text),
            origin(ctx, line),
        )),
    };
    match result {
        Ok(ev) => emit.event(kind, &ev),
        Err(reason) => emit.reject(ctx, line, kind, format!("{reason}{at}")),
    }
}

#[derive(serde::Deserialize)]
struct SecurityHubDetail<'a> {
    #[serde(borrow)]
    findings: Vec<&'a RawValue>,
}

fn eventbridge(
    probe: &Probe<'_>,
    line: u64,
    ctx: &FileCtx,
    emit: &mut Emit<'_>,
    depth: u8,
    at: &str,
) {
    let (Some(detail_type), Some(detail)) = (probe.detail_type.get(), probe.detail) else {
        return;
    };
    match detail_type {
        "GuardDuty Finding" => value_record(
            Shape::GuardDuty,
            detail.get(),
            line,
            ctx,
            emit,
            &format!("{at} detail"),
        ),
        t if t.starts_with("Security Hub Findings") => {
            match serde_json::from_str::<SecurityHubDetail<'_>>(detail.get()) {
                Ok(d) => {
                    for (i, f) in d.findings.iter().enumerate() {
                        value_record(
                            Shape::SecurityHub,
                            f.get(),
                            line,
                            ctx,
                            emit,
                            &format!("{at} detail.findings[{i}]"),
                        );
                    }
                }
                Err(e) => emit.reject(
                    ctx,
                    line,
                    RecordKind::SecurityHub,
                    json_error(&e, &format!("{at} detail")),
                ),
            }
        }
        t if t.ends_with("via CloudTrail") => json(
            detail.get().as_bytes(),
            line,
            ctx,
            emit,
            depth + 1,
            &format!("{at} detail"),
        ),
        other => emit.reject(
            ctx,
            line,
            RecordKind::Unknown,
            format!("EventBridge event with detail-type `{other}` is not a supported source{at}"),
        ),
    }
}

fn cwl_payload(text: &str, line: u64, ctx: &FileCtx, emit: &mut Emit<'_>, depth: u8, at: &str) {
    let payload: Payload<'_> = match serde_json::from_str(text) {
        Ok(p) => p,
        Err(e) => return emit.reject(ctx, line, RecordKind::CloudWatchLogs, json_error(&e, at)),
    };
    match payload.message_type.get() {
        Some("CONTROL_MESSAGE") => {
            emit.tally.record(RecordKind::CloudWatchLogs);
            emit.tally.control_messages += 1;
            return;
        }
        Some("DATA_MESSAGE") => {}
        other => {
            return emit.reject(
                ctx,
                line,
                RecordKind::CloudWatchLogs,
                format!("unknown messageType `{}`{at}", other.unwrap_or("null")),
            );
        }
    }
    emit.tally.record(RecordKind::CloudWatchLogs);
    let owner = payload.owner.get();
    for (i, log_event) in payload.log_events.iter().enumerate() {
        emit.tally.event(RecordKind::CloudWatchLogs);
        let message = log_event.message.trim();
        let here = format!("{at} logEvents[{i}]");
        if message.starts_with('{') {
            json(message.as_bytes(), line, ctx, emit, depth + 1, &here);
            continue;
        }
        let layout = match (&ctx.layout, ctx.explicit_layout) {
            (Some(l), true) => Some(Cow::Borrowed(l)),
            _ => FlowLayout::guess(message).map(Cow::Owned),
        };
        match layout {
            Some(layout) => match flow::parse_line(message, &layout, origin(ctx, line), owner) {
                Ok(ev) => emit.event(RecordKind::VpcFlow, &ev),
                Err(reason) => emit.reject(ctx, line, RecordKind::VpcFlow, format!("{reason}{here}")),
            },
            None => emit.reject(
                ctx,
                line,
                RecordKind::Unknown,
                format!("log message is neither JSON nor a default-format VPC flow record{here} (pass --vpc-flow-fields for custom formats; log group {})", payload.log_group.get().unwrap_or("?")),
            ),
        }
    }
}
