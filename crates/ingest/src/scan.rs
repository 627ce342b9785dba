//! Streaming splitter for JSON documents that are not one record per line: pretty-printed
//! files, JSON arrays, and `{"Records":[…]}` / `{"Findings":[…]}` envelopes of any size.
//! It tracks strings and nesting only; each record it cuts out is parsed later.

use std::io::{self, Read};

/// Keys whose array value holds the records of an envelope object.
const ENVELOPE_KEYS: [&[u8]; 3] = [b"\"Records\"", b"\"Findings\"", b"\"findings\""];

/// What the scanner found.
pub(crate) enum Item<'a> {
    /// A record's JSON text and the line it starts on.
    Record(&'a [u8], u64),
    /// A text line outside any JSON value (a flow record, a payload, or garbage for the
    /// workers to reject), without its newline, and its line.
    Text(&'a [u8], u64),
    /// An envelope (`{"Records":[…]}`) opened, however many records it holds.
    Envelope,
    /// A stretch that is not a record, with the line and reason.
    Reject(u64, String),
}

pub(crate) struct Scanner<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Line of the next byte (1-based).
    pub line: u64,
    /// Bytes consumed so far.
    pub bytes: u64,
    /// The read error that ended the input early, if any.
    pub error: Option<io::Error>,
    rec: Vec<u8>,
    oversize: bool,
    max_record: usize,
}

struct Truncated;

impl<R: Read> Scanner<R> {
    pub fn new(reader: R, max_record: usize) -> Self {
        Scanner {
            reader,
            buf: vec![0; 256 * 1024],
            pos: 0,
            len: 0,
            line: 1,
            bytes: 0,
            error: None,
            rec: Vec::new(),
            oversize: false,
            max_record,
        }
    }

    fn peek(&mut self) -> Option<u8> {
        if self.pos == self.len {
            if self.error.is_some() {
                return None;
            }
            loop {
                match self.reader.read(&mut self.buf) {
                    Ok(0) => return None,
                    Ok(n) => {
                        self.pos = 0;
                        self.len = n;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        self.error = Some(e);
                        return None;
                    }
                }
            }
        }
        Some(self.buf[self.pos])
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        self.bytes += 1;
        if b == b'\n' {
            self.line += 1;
        }
        Some(b)
    }

    fn push(&mut self, b: u8) {
        if self.rec.len() < self.max_record {
            self.rec.push(b);
        } else {
            self.oversize = true;
        }
    }

    /// Consumes and captures one byte.
    fn take(&mut self) -> Option<u8> {
        let b = self.bump()?;
        self.push(b);
        Some(b)
    }

    fn skip_ws(&mut self, capture: bool) {
        while let Some(b) = self.peek() {
            if !b.is_ascii_whitespace() {
                break;
            }
            self.bump();
            if capture {
                self.push(b);
            }
        }
    }

    /// Captures the rest of the line (without its newline) as a record.
    fn text_line(&mut self) {
        while let Some(b) = self.bump() {
            if b == b'\n' {
                break;
            }
            self.push(b);
        }
    }

    /// Rest of a string whose opening quote was consumed.
    fn string(&mut self, capture: bool) -> Result<(), Truncated> {
        loop {
            let b = self.bump().ok_or(Truncated)?;
            if capture {
                self.push(b);
            }
            match b {
                b'"' => return Ok(()),
                b'\\' => {
                    let e = self.bump().ok_or(Truncated)?;
                    if capture {
                        self.push(e);
                    }
                }
                _ => {}
            }
        }
    }

    /// Rest of a container, `depth` levels deep.
    fn container(&mut self, mut depth: usize, capture: bool) -> Result<(), Truncated> {
        while depth > 0 {
            let b = self.bump().ok_or(Truncated)?;
            if capture {
                self.push(b);
            }
            match b {
                b'"' => self.string(capture)?,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth -= 1,
                _ => {}
            }
        }
        Ok(())
    }

    /// One whole value (the scanner is at its first byte), captured.
    fn value(&mut self) -> Result<(), Truncated> {
        match self.take().ok_or(Truncated)? {
            b'{' | b'[' => self.container(1, true),
            b'"' => self.string(true),
            _ => {
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace() {
                        break;
                    }
                    self.take();
                }
                Ok(())
            }
        }
    }

    fn begin_record(&mut self) {
        self.rec.clear();
        self.oversize = false;
    }

    fn finish_record(&mut self, start: u64, emit: &mut dyn FnMut(Item<'_>)) {
        if self.oversize {
            emit(Item::Reject(
                start,
                format!(
                    "record is larger than the {} byte limit (--max-record-mb)",
                    self.max_record
                ),
            ));
        } else {
            emit(Item::Record(&self.rec, start));
        }
    }

    /// Elements of an array whose `[` was consumed; each is a record. False when the input
    /// ended inside it (already reported).
    fn array(&mut self, opened: u64, emit: &mut dyn FnMut(Item<'_>)) -> bool {
        loop {
            self.skip_ws(false);
            match self.peek() {
                None => {
                    emit(Item::Reject(
                        self.line,
                        format!("input ends inside the array opened at line {opened}"),
                    ));
                    return false;
                }
                Some(b']') => {
                    self.bump();
                    return true;
                }
                Some(b',') => {
                    self.bump();
                }
                Some(_) => {
                    let start = self.line;
                    self.begin_record();
                    match self.value() {
                        Ok(()) => self.finish_record(start, emit),
                        Err(Truncated) => {
                            emit(Item::Reject(
                                start,
                                "input ends inside this record (truncated file?)".into(),
                            ));
                            return false;
                        }
                    }
                }
            }
        }
    }

    /// A top-level object: an envelope whose records are expanded, or a record itself.
    fn object(&mut self, emit: &mut dyn FnMut(Item<'_>)) {
        let start = self.line;
        self.begin_record();
        self.take(); // `{`
        self.skip_ws(true);
        if self.peek() == Some(b'"') {
            let key_start = self.rec.len();
            self.take();
            if self.string(true).is_err() {
                return emit(Item::Reject(
                    start,
                    "input ends inside this record (truncated file?)".into(),
                ));
            }
            let is_envelope = ENVELOPE_KEYS.contains(&&self.rec[key_start..]);
            self.skip_ws(true);
            if is_envelope && self.peek() == Some(b':') {
                self.take();
                self.skip_ws(true);
                if self.peek() == Some(b'[') {
                    self.bump();
                    emit(Item::Envelope);
                    // Skip whatever else the envelope holds (e.g. `NextToken`).
                    if self.array(start, emit) && self.container(1, false).is_err() {
                        emit(Item::Reject(
                            self.line,
                            format!("input ends inside the object opened at line {start}"),
                        ));
                    }
                    return;
                }
            }
        }
        match self.container(1, true) {
            Ok(()) => self.finish_record(start, emit),
            Err(Truncated) => emit(Item::Reject(
                start,
                "input ends inside this record (truncated file?)".into(),
            )),
        }
    }

    /// Scans the whole input, calling `emit` for each record and each rejected stretch.
    pub fn run(&mut self, emit: &mut dyn FnMut(Item<'_>)) {
        loop {
            self.skip_ws(false);
            match self.peek() {
                None => return,
                Some(b'{') => self.object(emit),
                Some(b'[') => {
                    let opened = self.line;
                    self.bump();
                    let _closed = self.array(opened, emit);
                }
                Some(b',') => {
                    self.bump();
                }
                Some(_) => {
                    let start = self.line;
                    self.begin_record();
                    self.text_line();
                    if self.oversize {
                        self.finish_record(start, emit);
                    } else {
                        emit(Item::Text(&self.rec, start));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(input: &str) -> Vec<String> {
        let mut out = Vec::new();
        Scanner::new(input.as_bytes(), 1 << 20).run(&mut |item| match item {
            Item::Record(r, line) => out.push(format!("{line}:{}", String::from_utf8_lossy(r))),
            Item::Text(r, line) => out.push(format!("{line}~{}", String::from_utf8_lossy(r))),
            Item::Envelope => {}
            Item::Reject(line, why) => out.push(format!("{line}!{why}")),
        });
        out
    }

    #[test]
    fn envelopes_arrays_and_pretty_objects() {
        assert_eq!(
            scan(
                "{\n \"Records\": [\n  {\"a\": \"]}\\\"\"},\n  {\"b\": [1, {\"c\": 2}]}\n ], \"x\": {\"y\": 1}\n}"
            ),
            vec![r#"3:{"a": "]}\""}"#, r#"4:{"b": [1, {"c": 2}]}"#]
        );
        assert_eq!(
            scan("[{\"a\":1},\n{\"a\":2}]"),
            vec![r#"1:{"a":1}"#, r#"2:{"a":2}"#]
        );
        assert_eq!(
            scan("{\n  \"eventName\": \"X\"\n}\n{\"k\": 1}"),
            vec!["1:{\n  \"eventName\": \"X\"\n}", r#"4:{"k": 1}"#]
        );
    }

    #[test]
    fn truncation_and_garbage_are_located() {
        let out = scan("{\"Records\":[{\"a\":1},{\"a\":");
        assert_eq!(out[0], r#"1:{"a":1}"#);
        assert!(out[1].starts_with("1!input ends inside this record"));
        let out = scan("garbage here\n{\"a\":1}");
        assert_eq!(out[0], "1~garbage here");
        assert_eq!(out[1], r#"2:{"a":1}"#);
    }

    #[test]
    fn oversize_records_are_rejected_and_scanning_continues() {
        let mut out = Vec::new();
        let big = format!("[{{\"a\":\"{}\"}}, {{\"b\":1}}]", "x".repeat(100));
        Scanner::new(big.as_bytes(), 50).run(&mut |item| match item {
            Item::Record(r, _) => out.push(String::from_utf8_lossy(r).into_owned()),
            Item::Text(..) | Item::Envelope => {}
            Item::Reject(_, why) => out.push(why),
        });
        assert!(out[0].contains("larger than the 50 byte limit"));
        assert_eq!(out[1], r#"{"b":1}"#);
    }
}
