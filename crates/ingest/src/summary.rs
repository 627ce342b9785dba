//! Counts and rejections of an ingest run.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The shape a record was recognized as, for the per-source summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    CloudTrail,
    VpcFlow,
    GuardDuty,
    SecurityHub,
    /// CloudWatch Logs subscription payloads; their log events are counted under their own kind.
    CloudWatchLogs,
    /// Records whose shape was not recognized.
    Unknown,
}

impl RecordKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::CloudTrail => "cloudtrail",
            Self::VpcFlow => "vpcflow",
            Self::GuardDuty => "guardduty",
            Self::SecurityHub => "securityhub",
            Self::CloudWatchLogs => "cwlogs",
            Self::Unknown => "unknown",
        }
    }
}

/// Per-kind counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindStats {
    /// Records read (for `cwlogs`, subscription payloads).
    pub records: u64,
    /// Events produced (for `cwlogs`, log events unpacked from payloads).
    pub events: u64,
    /// Records rejected.
    pub rejected: u64,
}

/// One record (or stretch of input) that could not become an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub file: Arc<str>,
    /// 1-based line where the record starts (0 when the whole file is meant).
    pub line: u64,
    pub kind: RecordKind,
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.reason)
        }
    }
}

/// Totals of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub files: u64,
    /// Bytes after decompression.
    pub bytes: u64,
    pub by_kind: BTreeMap<RecordKind, KindStats>,
    /// CloudTrail digest files recognized (counted, not turned into events).
    pub digest_files: u64,
    /// CloudWatch Logs `CONTROL_MESSAGE` payloads (counted and dropped).
    pub control_messages: u64,
    /// VPC Flow Log header lines.
    pub header_lines: u64,
    /// Envelopes (`{"Records":[…]}`) read, including empty ones.
    pub envelopes: u64,
    /// Events kept whose time could not be read (`eventTime` missing or unreadable).
    pub time_unknown: u64,
    /// Where the first [`TIME_UNKNOWN_LOCATIONS`] of them are.
    pub time_unknown_at: Vec<Location>,
    /// Records a handler's [`crate::RecordFilter`] passed over unread.
    pub passed_over: u64,
}

/// How many events of unknown time the summary locates (all are counted).
pub const TIME_UNKNOWN_LOCATIONS: usize = 100;

/// A record's place: its input and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<str>,
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

impl Summary {
    pub fn events(&self) -> u64 {
        self.by_kind
            .iter()
            .filter(|(k, _)| **k != RecordKind::CloudWatchLogs)
            .map(|(_, s)| s.events)
            .sum()
    }
    pub fn rejected(&self) -> u64 {
        self.by_kind.values().map(|s| s.rejected).sum()
    }
    pub fn kind(&self, kind: RecordKind) -> KindStats {
        self.by_kind.get(&kind).copied().unwrap_or_default()
    }
    pub(crate) fn merge(&mut self, other: &Tally) {
        for (kind, s) in &other.by_kind {
            let t = self.by_kind.entry(*kind).or_default();
            t.records += s.records;
            t.events += s.events;
            t.rejected += s.rejected;
        }
        self.files += other.files;
        self.bytes += other.bytes;
        self.digest_files += other.digest_files;
        self.control_messages += other.control_messages;
        self.header_lines += other.header_lines;
        self.envelopes += other.envelopes;
        self.time_unknown += other.time_unknown;
        self.passed_over += other.passed_over;
        let room = TIME_UNKNOWN_LOCATIONS.saturating_sub(self.time_unknown_at.len());
        self.time_unknown_at
            .extend(other.time_unknown_at.iter().take(room).cloned());
    }
}

/// A chunk's counters and rejections, merged into the [`Summary`] in input order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub by_kind: BTreeMap<RecordKind, KindStats>,
    pub files: u64,
    pub bytes: u64,
    pub digest_files: u64,
    pub control_messages: u64,
    pub header_lines: u64,
    pub envelopes: u64,
    pub time_unknown: u64,
    pub time_unknown_at: Vec<Location>,
    pub passed_over: u64,
    pub rejections: Vec<Rejection>,
    /// Set on a file's last chunk.
    pub file_end: Option<Arc<str>>,
}

impl Tally {
    /// Everything that shows the file held something recognized or rejected.
    pub fn anything(&self) -> u64 {
        self.by_kind
            .values()
            .map(|s| s.records + s.rejected)
            .sum::<u64>()
            + self.digest_files
            + self.control_messages
            + self.header_lines
            + self.envelopes
            + self.passed_over
    }
    /// An event kept without a readable time.
    pub fn time_unknown(&mut self, file: &Arc<str>, line: u64) {
        self.time_unknown += 1;
        if self.time_unknown_at.len() < TIME_UNKNOWN_LOCATIONS {
            self.time_unknown_at.push(Location {
                file: file.clone(),
                line,
            });
        }
    }
    pub fn record(&mut self, kind: RecordKind) {
        self.by_kind.entry(kind).or_default().records += 1;
    }
    pub fn event(&mut self, kind: RecordKind) {
        self.by_kind.entry(kind).or_default().events += 1;
    }
    pub fn reject(
        &mut self,
        file: &Arc<str>,
        line: u64,
        kind: RecordKind,
        reason: impl Into<String>,
    ) {
        self.by_kind.entry(kind).or_default().rejected += 1;
        self.rejections.push(Rejection {
            file: file.clone(),
            line,
            kind,
            reason: reason.into(),
        });
    }
}
