//! The ingest pipeline: one reader thread cuts inputs into chunks (decompressing and
//! detecting the layout), worker threads turn chunks into events, and the caller's thread
//! receives results in input order. Memory is bounded by the channel depth times the chunk
//! size, plus one oversized record at most.

use crate::IngestError;
use crate::cwlogs::is_gzip;
use crate::flow::FlowLayout;
use crate::gzip::{GzMembers, Notes};
use crate::inputs::Input;
use crate::record::{self, Emit, FileCtx};
use crate::scan::{Item, Scanner};
use crate::summary::{RecordKind, Rejection, Summary, Tally};
use crossbeam_channel::{Receiver, Sender, bounded};
use model::Event;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which reader to use; `Auto` recognizes each record by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFormat {
    #[default]
    Auto,
    CloudTrail,
    VpcFlow,
    GuardDuty,
    SecurityHub,
    CloudWatchLogs,
}

impl FromStr for InputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" => Self::Auto,
            "cloudtrail" => Self::CloudTrail,
            "vpcflow" | "flow" => Self::VpcFlow,
            "guardduty" => Self::GuardDuty,
            "securityhub" | "asff" => Self::SecurityHub,
            "cwlogs" | "cloudwatch" => Self::CloudWatchLogs,
            other => {
                return Err(format!(
                    "unknown format `{other}` (expected auto, cloudtrail, vpcflow, guardduty, securityhub or cwlogs)"
                ));
            }
        })
    }
}

/// How to run an ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Parsing threads (the reader thread comes on top).
    pub threads: usize,
    pub format: InputFormat,
    /// Custom VPC flow log field order for headerless inputs (`srcaddr dstaddr …`).
    pub vpc_flow_fields: Option<String>,
    /// Largest record (or line) accepted; larger ones are rejected and skipped.
    pub max_record_bytes: usize,
    /// Target chunk size handed to a worker.
    pub chunk_bytes: usize,
    /// Incremented with input bytes read (before decompression), for progress display.
    pub progress: Option<Arc<AtomicU64>>,
    /// Whether CloudTrail events get their full actor and resources. Detection can do
    /// without (rules read the original record; alerts read the few fields they show from
    /// it), which spares a parse of every `userIdentity`.
    pub normalize_actor: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            format: InputFormat::Auto,
            vpc_flow_fields: None,
            max_record_bytes: 64 << 20,
            chunk_bytes: 256 << 10,
            progress: None,
            normalize_actor: true,
        }
    }
}

/// What to do with each event. Called on worker threads; `Output` collects per chunk.
pub trait EventHandler: Sync {
    type Output: Send;
    fn begin(&self) -> Self::Output;
    fn event(&self, out: &mut Self::Output, event: &Event<'_>);
    /// Records this handler can skip unread (counted as passed over); `None` reads all.
    fn filter(&self) -> Option<&crate::RecordFilter> {
        None
    }
}

/// One chunk's result, delivered in input order.
pub struct ChunkOutcome<O> {
    pub output: O,
    pub rejections: Vec<Rejection>,
}

enum Payload {
    /// Whole lines.
    Lines(Vec<u8>),
    /// Pieces cut out by the scanner, `data[start..end]` starting on `line`.
    Records { data: Vec<u8>, spans: Vec<Span> },
    /// Only counts or rejections from the reader.
    Nothing,
}

/// One piece of a document-mode input.
struct Span {
    start: usize,
    end: usize,
    line: u64,
    /// A text line between JSON values (a flow record, a base64 payload or garbage).
    text: bool,
}

struct Work {
    seq: u64,
    file: Arc<FileCtx>,
    first_line: u64,
    payload: Payload,
    tally: Tally,
}

struct Done<O> {
    seq: u64,
    output: O,
    tally: Tally,
}

/// Reads `inputs`, calling `on_chunk` in input order with each chunk's handler output and
/// rejections, and returns the totals.
pub fn ingest<H: EventHandler>(
    inputs: &[Input],
    opts: &IngestOptions,
    handler: &H,
    mut on_chunk: impl FnMut(ChunkOutcome<H::Output>),
) -> Result<Summary, IngestError> {
    let layout = opts
        .vpc_flow_fields
        .as_deref()
        .map(FlowLayout::from_names)
        .transpose()
        .map_err(IngestError::FlowFields)?;
    let threads = opts.threads.max(1);
    let (work_tx, work_rx) = bounded::<Work>(threads * 2);
    let (done_tx, done_rx) = bounded::<Done<H::Output>>(threads * 2);
    // Chunk buffers go back to the reader once parsed, so memory is reused, not refaulted.
    let (pool_tx, pool_rx) = bounded::<Vec<u8>>(threads * 4 + 4);
    let mut summary = Summary::default();
    let mut panicked = false;
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            Reader {
                opts,
                layout: layout.as_ref(),
                tx: work_tx,
                seq: 0,
                pool: pool_rx,
            }
            .run(inputs)
        });
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let rx = work_rx.clone();
                let tx = done_tx.clone();
                let pool = pool_tx.clone();
                s.spawn(move || work_loop(handler, &rx, &tx, &pool))
            })
            .collect();
        drop(work_rx);
        drop(done_tx);
        drop(pool_tx);
        let mut pending = BTreeMap::new();
        let mut next = 0u64;
        // What the current file has shown so far (records, rejections, headers…).
        let mut file_seen = 0u64;
        for done in done_rx.iter() {
            pending.insert(done.seq, done);
            while let Some(mut d) = pending.remove(&next) {
                file_seen += d.tally.anything();
                if let Some(name) = d.tally.file_end.take() {
                    if file_seen == 0 && d.tally.bytes > 0 {
                        let reason = format!(
                            "{} bytes but no record: nothing in the file is a supported log format",
                            d.tally.bytes
                        );
                        d.tally.reject(&name, 0, RecordKind::Unknown, reason);
                    }
                    file_seen = 0;
                }
                summary.merge(&d.tally);
                on_chunk(ChunkOutcome {
                    output: d.output,
                    rejections: d.tally.rejections,
                });
                next += 1;
            }
        }
        panicked = reader.join().is_err()
            | workers
                .into_iter()
                .map(|w| w.join().is_err())
                .fold(false, |a, b| a | b);
        panicked |= !pending.is_empty();
    });
    if panicked {
        return Err(IngestError::WorkerPanicked);
    }
    Ok(summary)
}

/// Ingests bytes already in memory (tests, bundled samples).
pub fn ingest_bytes<H: EventHandler>(
    name: &str,
    data: &[u8],
    opts: &IngestOptions,
    handler: &H,
    on_chunk: impl FnMut(ChunkOutcome<H::Output>),
) -> Result<Summary, IngestError> {
    let input = Input::Memory {
        name: name.to_string(),
        data: Arc::from(data),
    };
    ingest(std::slice::from_ref(&input), opts, handler, on_chunk)
}

fn work_loop<H: EventHandler>(
    handler: &H,
    rx: &Receiver<Work>,
    tx: &Sender<Done<H::Output>>,
    pool: &Sender<Vec<u8>>,
) {
    for mut work in rx.iter() {
        let mut output = handler.begin();
        {
            let mut on_event = |ev: &Event<'_>| handler.event(&mut output, ev);
            let mut emit = Emit {
                file: &work.file.name,
                tally: &mut work.tally,
                on_event: &mut on_event,
                filter: handler.filter(),
            };
            let ctx = &*work.file;
            match &work.payload {
                Payload::Lines(data) => {
                    let mut start = 0;
                    let ends = memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len()));
                    for (line, end) in (work.first_line..).zip(ends) {
                        if start < data.len() || end > start {
                            record::line(&data[start..end], line, ctx, &mut emit);
                        }
                        start = end + 1;
                    }
                }
                Payload::Records { data, spans } => {
                    for span in spans {
                        let piece = &data[span.start..span.end];
                        if span.text {
                            record::line(piece, span.line, ctx, &mut emit);
                        } else {
                            record::json(piece, span.line, ctx, &mut emit, 0, "");
                        }
                    }
                }
                Payload::Nothing => {}
            }
        }
        // The reader's rejections and the workers' come out in line order.
        work.tally.rejections.sort_by_key(|r| r.line);
        if let Payload::Lines(mut data) | Payload::Records { mut data, .. } = work.payload {
            data.clear();
            let _ = pool.try_send(data);
        }
        if tx
            .send(Done {
                seq: work.seq,
                output,
                tally: work.tally,
            })
            .is_err()
        {
            return;
        }
    }
}

/// Counts bytes read from the underlying input for progress display.
struct Counting<R> {
    inner: R,
    counter: Option<Arc<AtomicU64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(c) = &self.counter {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// How the reader cuts an input. Neither decides a record's fate: both hand every record
/// (or line) to the workers, which process it or reject it with its location.
enum Mode {
    /// One record per line (JSON lines, VPC flow text, base64 payloads, anything else).
    Lines,
    /// JSON values spanning lines (pretty JSON, arrays, envelopes of any size), with any
    /// text lines between them.
    Document,
    /// Only whitespace, or nothing.
    Empty,
}

const HEAD_BYTES: usize = 64 * 1024;

struct Reader<'o> {
    opts: &'o IngestOptions,
    layout: Option<&'o FlowLayout>,
    tx: Sender<Work>,
    seq: u64,
    pool: Receiver<Vec<u8>>,
}

/// Where an input's content starts once leading whitespace (of any length) is skipped.
struct Start {
    /// Up to [`HEAD_BYTES`] from the first byte that is not whitespace.
    head: Vec<u8>,
    /// Line of the head's first byte (1-based).
    line: u64,
    /// Whitespace bytes skipped.
    skipped: u64,
    error: Option<io::Error>,
}

/// Skips leading whitespace, however long, in bounded memory, then reads the head.
fn read_start(r: &mut dyn Read) -> Start {
    let mut block = vec![0; HEAD_BYTES];
    let (mut line, mut skipped) = (1u64, 0u64);
    loop {
        let n = match r.read(&mut block) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Start {
                    head: Vec::new(),
                    line,
                    skipped,
                    error: Some(e),
                };
            }
        };
        if n == 0 {
            return Start {
                head: Vec::new(),
                line,
                skipped,
                error: None,
            };
        }
        let mut from = 0;
        if skipped == 0 && block[..n].starts_with(b"\xEF\xBB\xBF") {
            from = 3;
            skipped = 3;
        }
        match block[from..n].iter().position(|b| !b.is_ascii_whitespace()) {
            None => {
                line += memchr::memchr_iter(b'\n', &block[from..n]).count() as u64;
                skipped += (n - from) as u64;
            }
            Some(p) => {
                let p = from + p;
                line += memchr::memchr_iter(b'\n', &block[from..p]).count() as u64;
                skipped += (p - from) as u64;
                let mut head = block[p..n].to_vec();
                let mut error = None;
                fill_to(r, &mut head, HEAD_BYTES, &mut error);
                return Start {
                    head,
                    line,
                    skipped,
                    error,
                };
            }
        }
    }
}

/// Reads into `buf` until it holds `target` bytes or the input ends; true at end of input.
fn fill_to(
    r: &mut dyn Read,
    buf: &mut Vec<u8>,
    target: usize,
    error: &mut Option<io::Error>,
) -> bool {
    if error.is_some() {
        return true;
    }
    while buf.len() < target {
        let want = (target - buf.len()) as u64;
        // Reads straight into the buffer's spare capacity (no intermediate copy).
        match r.take(want).read_to_end(buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                *error = Some(e);
                return true;
            }
        }
    }
    false
}

/// Picks how to cut an input from its head (which starts at a byte that is not whitespace).
/// A wrong pick costs speed, never records: both modes pass every piece to the workers.
fn detect_mode(head: &[u8]) -> Mode {
    let Some(&first) = head.first() else {
        return Mode::Empty;
    };
    match first {
        b'[' => Mode::Document,
        b'{' => {
            let complete = |line: &[u8]| {
                serde_json::Deserializer::from_slice(line)
                    .into_iter::<serde::de::IgnoredAny>()
                    .all(|v| v.is_ok())
            };
            let mut lines = head.split(|&b| b == b'\n');
            let first_line = lines.next().unwrap_or_default();
            let first_is_whole = first_line.len() < head.len() || head.len() < HEAD_BYTES;
            if first_is_whole && complete(first_line) {
                return Mode::Lines;
            }
            // A document opens on its first line: a lone brace, or an envelope's key.
            let opening: Vec<u8> = first_line
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .take(16)
                .collect();
            if opening == b"{"
                || opening.starts_with(b"{\"Records\":")
                || opening.starts_with(b"{\"Findings\":")
            {
                return Mode::Document;
            }
            // A broken first line: one value per line when a later unindented line is
            // complete JSON, so the broken line does not swallow the file.
            let mut later = lines.collect::<Vec<_>>();
            if head.len() == HEAD_BYTES {
                later.pop(); // cut off by the head's end
            }
            if later
                .iter()
                .any(|l| l.first() == Some(&b'{') && complete(l.trim_ascii_end()))
            {
                Mode::Lines
            } else {
                Mode::Document
            }
        }
        _ => Mode::Lines,
    }
}

/// Why reading stopped, each thing said once: a gzip stream that ends early is truncated,
/// any other gzip failure is corruption (with the decoder's own words).
fn read_error_reason(gzip: bool, e: &io::Error) -> String {
    let what = match (gzip, e.kind()) {
        (true, io::ErrorKind::UnexpectedEof) => "gzip stream is truncated".to_string(),
        (true, _) => format!("gzip stream is corrupt: {e}"),
        (false, _) => format!("read error: {e}"),
    };
    format!("{what}; records before this point were read")
}

impl Reader<'_> {
    /// An empty buffer with room for `cap` bytes, recycled when one is free.
    fn buffer(&self, cap: usize) -> Vec<u8> {
        let mut b = self.pool.try_recv().unwrap_or_default();
        b.reserve(cap);
        b
    }

    fn run(mut self, inputs: &[Input]) {
        for input in inputs {
            if !self.input(input) {
                return;
            }
        }
    }

    fn send(
        &mut self,
        file: &Arc<FileCtx>,
        first_line: u64,
        payload: Payload,
        tally: Tally,
    ) -> bool {
        let work = Work {
            seq: self.seq,
            file: file.clone(),
            first_line,
            payload,
            tally,
        };
        self.seq += 1;
        self.tx.send(work).is_ok()
    }

    /// A file that could not be read at all: one located rejection.
    fn unreadable(&mut self, name: Arc<str>, reason: String) -> bool {
        let mut tally = Tally {
            files: 1,
            ..Tally::default()
        };
        tally.reject(&name, 0, RecordKind::Unknown, reason);
        let ctx = Arc::new(self.file_ctx(name, None));
        self.send(&ctx, 0, Payload::Nothing, tally)
    }

    /// Reads one input; false when the pipeline has shut down.
    fn input(&mut self, input: &Input) -> bool {
        let name: Arc<str> = Arc::from(input.name());
        let counter = self.opts.progress.clone();
        let source: Box<dyn Read + Send> = match input {
            Input::Stdin => Box::new(io::stdin()),
            Input::File(path) => match std::fs::File::open(path) {
                Ok(f) => Box::new(f),
                Err(e) => return self.unreadable(name, format!("cannot open: {e}")),
            },
            Input::Memory { data, .. } => Box::new(Cursor::new(data.clone())),
            Input::Skipped { reason, .. } => return self.unreadable(name, reason.clone()),
        };
        let mut raw = BufReader::with_capacity(
            256 * 1024,
            Counting {
                inner: source,
                counter,
            },
        );
        let gzip = raw.fill_buf().map(is_gzip).unwrap_or(false);
        let notes = Notes::default();
        let mut body: Box<dyn Read + Send> = if gzip {
            Box::new(GzMembers::new(raw, notes.clone()))
        } else {
            // The buffer only served the sniff: read the rest straight from the source.
            let sniffed = raw.buffer().to_vec();
            Box::new(Cursor::new(sniffed).chain(raw.into_inner()))
        };
        let Start {
            head,
            line: start_line,
            skipped,
            error: head_error,
        } = read_start(&mut body);
        let mode = detect_mode(&head);
        let layout = match (self.layout, &mode) {
            (Some(l), _) => Some(l.clone()),
            (None, Mode::Lines) => head_layout(&head),
            _ => None,
        };
        let ctx = Arc::new(self.file_ctx(name, layout));
        let mut tally = Tally {
            files: 1,
            ..Tally::default()
        };
        let mut error = head_error;
        let reader: Box<dyn Read + Send> = Box::new(Cursor::new(head).chain(body));
        let (ok, last_line, bytes) = match mode {
            Mode::Empty => (true, start_line, 0),
            Mode::Lines => self.lines(&ctx, reader, start_line, &mut tally, &mut error),
            Mode::Document => self.document(&ctx, reader, start_line, &mut tally, &mut error),
        };
        if !ok {
            return false;
        }
        let mut tail = std::mem::take(&mut tally);
        tail.bytes = bytes + skipped;
        tail.file_end = Some(ctx.name.clone());
        for (line, note) in notes
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default()
        {
            tail.reject(&ctx.name, line, RecordKind::Unknown, note);
        }
        if let Some(e) = error {
            tail.reject(
                &ctx.name,
                last_line.max(1),
                RecordKind::Unknown,
                read_error_reason(gzip, &e),
            );
        }
        self.send(&ctx, 0, Payload::Nothing, tail)
    }

    fn file_ctx(&self, name: Arc<str>, layout: Option<FlowLayout>) -> FileCtx {
        FileCtx {
            name,
            format: self.opts.format,
            explicit_layout: self.layout.is_some(),
            layout,
            max_record_bytes: self.opts.max_record_bytes,
            normalize_actor: self.opts.normalize_actor,
        }
    }

    /// Cuts a line-oriented input into chunks of whole lines, in time linear in the input
    /// whatever its line lengths. Returns (still running, line reached, bytes read).
    fn lines(
        &mut self,
        ctx: &Arc<FileCtx>,
        mut r: Box<dyn Read + Send>,
        mut first_line: u64,
        tally: &mut Tally,
        error: &mut Option<io::Error>,
    ) -> (bool, u64, u64) {
        let chunk = self.opts.chunk_bytes.max(4096);
        let max = self.opts.max_record_bytes;
        let mut bytes = 0u64;
        let mut buf = self.buffer(chunk);
        let mut unsearched = false;
        loop {
            // `buf` holds at most the start of one line (no newline), except right after a
            // skipped line: only new bytes are searched and counted (in linear time, while
            // they are still in cache), and a long line grows the buffer in place.
            let searched = if std::mem::take(&mut unsearched) {
                0
            } else {
                buf.len()
            };
            let target = buf.len() + chunk;
            if target > buf.capacity() && searched >= chunk {
                // A long line: room for the longest one allowed, reserved once. Only the
                // pages written are ever backed by memory, and nothing is copied as it grows.
                buf.reserve_exact(
                    (max.min(1 << 30) + chunk)
                        .saturating_sub(searched)
                        .max(chunk),
                );
            }
            let eof = fill_to(&mut r, &mut buf, target, error);
            if buf.is_empty() {
                return (true, first_line, bytes);
            }
            if eof {
                bytes += buf.len() as u64;
                let lines = memchr::memchr_iter(b'\n', &buf[searched..]).count() as u64;
                let sent = self.send(ctx, first_line, Payload::Lines(buf), std::mem::take(tally));
                return (sent, first_line + lines, bytes);
            }
            match memchr::memrchr(b'\n', &buf[searched..]) {
                Some(p) => {
                    let cut = searched + p + 1;
                    let mut next = self.buffer(chunk.max(buf.len() - cut));
                    next.extend_from_slice(&buf[cut..]);
                    buf.truncate(cut);
                    bytes += buf.len() as u64;
                    let lines = memchr::memchr_iter(b'\n', &buf[searched..]).count() as u64;
                    if !self.send(ctx, first_line, Payload::Lines(buf), std::mem::take(tally)) {
                        return (false, first_line, bytes);
                    }
                    first_line += lines;
                    buf = next;
                }
                None if buf.len() > max => {
                    tally.reject(
                        &ctx.name,
                        first_line,
                        RecordKind::Unknown,
                        format!(
                            "line is longer than the {max} byte limit (--max-record-mb); skipped"
                        ),
                    );
                    bytes += buf.len() as u64;
                    let (rest, skipped, eof) = skip_past_newline(&mut r, error);
                    bytes += skipped;
                    first_line += 1;
                    buf.clear();
                    buf.extend_from_slice(&rest);
                    unsearched = true;
                    if eof {
                        return (true, first_line, bytes);
                    }
                }
                None => {}
            }
        }
    }

    /// Streams a JSON document through the scanner, sending batches of records and the
    /// text lines between them.
    fn document(
        &mut self,
        ctx: &Arc<FileCtx>,
        r: Box<dyn Read + Send>,
        start_line: u64,
        tally: &mut Tally,
        error: &mut Option<io::Error>,
    ) -> (bool, u64, u64) {
        let chunk = self.opts.chunk_bytes.max(4096);
        let mut scanner = Scanner::new(r, self.opts.max_record_bytes);
        scanner.line = start_line;
        let mut data = Vec::new();
        let mut spans = Vec::new();
        let mut ok = true;
        let mut pending_tally = std::mem::take(tally);
        scanner.run(&mut |item| {
            if !ok {
                return;
            }
            match item {
                Item::Record(bytes, line) | Item::Text(bytes, line) => {
                    let start = data.len();
                    data.extend_from_slice(bytes);
                    spans.push(Span {
                        start,
                        end: data.len(),
                        line,
                        text: matches!(item, Item::Text(..)),
                    });
                }
                Item::Envelope => pending_tally.envelopes += 1,
                Item::Reject(line, reason) => {
                    pending_tally.reject(&ctx.name, line, RecordKind::Unknown, reason)
                }
            }
            if data.len() >= chunk {
                let payload = Payload::Records {
                    data: std::mem::take(&mut data),
                    spans: std::mem::take(&mut spans),
                };
                ok = self.send(ctx, 0, payload, std::mem::take(&mut pending_tally));
            }
        });
        if ok && (!spans.is_empty() || pending_tally != Tally::default()) {
            ok = self.send(ctx, 0, Payload::Records { data, spans }, pending_tally);
        }
        *error = scanner.error.take().or(error.take());
        (ok, scanner.line, scanner.bytes)
    }
}

/// Discards input up to and including the next newline; returns what followed it in the
/// last block read, the bytes discarded, and whether the input ended.
fn skip_past_newline(r: &mut dyn Read, error: &mut Option<io::Error>) -> (Vec<u8>, u64, bool) {
    let mut block = vec![0u8; 64 * 1024];
    let mut skipped = 0u64;
    loop {
        match r.read(&mut block) {
            Ok(0) => return (Vec::new(), skipped, true),
            Ok(n) => match memchr::memchr(b'\n', &block[..n]) {
                Some(p) => return (block[p + 1..n].to_vec(), skipped + p as u64 + 1, false),
                None => skipped += n as u64,
            },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                *error = Some(e);
                return (Vec::new(), skipped, true);
            }
        }
    }
}

/// The VPC flow layout the first line of the head that declares (header) or implies
/// (default format) one. Lines before it that are neither are left to the workers.
fn head_layout(head: &[u8]) -> Option<FlowLayout> {
    let valid = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
    };
    valid
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(['{', '[']) && !l.starts_with("H4sI"))
        .take(16)
        .find_map(|l| FlowLayout::from_header(l).or_else(|| FlowLayout::guess(l)))
}
