//! gzip input that survives damage: members are decoded one after another, and a member that
//! is corrupt, or bytes between members that are not gzip at all, are skipped to the next
//! member's magic and noted (with their compressed byte offset), instead of ending the file.

use flate2::bufread::GzDecoder;
use std::io::{self, BufRead, Read};
use std::sync::{Arc, Mutex};

/// What was skipped, with the line of the decompressed text it was met at, for the reader to
/// turn into located rejections.
pub(crate) type Notes = Arc<Mutex<Vec<(u64, String)>>>;

/// Most bytes of a member kept for re-reading after it turns out corrupt (a damaged member
/// can make the decoder read on into the next one).
const HISTORY: usize = 4 << 20;

/// A `BufRead` that knows its position and keeps the bytes of the member being decoded, so
/// that after damage reading can go back to just past the member's start.
pub(crate) struct Tracked<R> {
    inner: R,
    /// Position in the compressed stream.
    consumed: u64,
    /// Bytes consumed since `history_start` (the current member's start, or later).
    history: Vec<u8>,
    history_start: u64,
    /// Bytes to serve again before the inner reader's.
    replay: Vec<u8>,
    replay_pos: usize,
}

impl<R: BufRead> Tracked<R> {
    fn new(inner: R) -> Self {
        Tracked {
            inner,
            consumed: 0,
            history: Vec::new(),
            history_start: 0,
            replay: Vec::new(),
            replay_pos: 0,
        }
    }

    /// Starts keeping bytes from here (a member begins).
    fn mark(&mut self) {
        self.history.clear();
        self.history_start = self.consumed;
    }

    /// Goes back to the first gzip magic after the marked member's first byte, or to where
    /// reading stopped when the kept bytes hold none.
    fn rewind_past_mark(&mut self) {
        let kept = std::mem::take(&mut self.history);
        let skip_from = usize::from(self.history_start == self.consumed - kept.len() as u64);
        let candidate = memchr::memmem::find(kept.get(skip_from..).unwrap_or_default(), &MAGIC)
            .map(|p| p + skip_from);
        if let Some(p) = candidate {
            let mut replay = kept[p..].to_vec();
            replay.extend_from_slice(&self.replay[self.replay_pos..]);
            self.consumed -= (kept.len() - p) as u64;
            self.replay = replay;
            self.replay_pos = 0;
        } else if self.consumed == self.history_start {
            self.consume(1);
        }
    }
}

impl<R: BufRead> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Tracked<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.replay_pos < self.replay.len() {
            return Ok(&self.replay[self.replay_pos..]);
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.consumed += amt as u64;
        if self.history.len() + amt > HISTORY {
            let drop = (self.history.len() + amt)
                .saturating_sub(HISTORY / 2)
                .min(self.history.len());
            self.history.drain(..drop);
            self.history_start += drop as u64;
        }
        if self.replay_pos < self.replay.len() {
            let end = (self.replay_pos + amt).min(self.replay.len());
            self.history
                .extend_from_slice(&self.replay[self.replay_pos..end]);
            self.replay_pos = end;
            if self.replay_pos == self.replay.len() {
                self.replay.clear();
                self.replay_pos = 0;
            }
            return;
        }
        if let Ok(b) = self.inner.fill_buf() {
            let take = amt.min(b.len());
            self.history.extend_from_slice(&b[..take]);
        }
        self.inner.consume(amt);
    }
}

enum State<R: BufRead> {
    Between(Tracked<R>),
    Member {
        decoder: Box<GzDecoder<Tracked<R>>>,
        start: u64,
    },
    Done,
}

/// Decodes every gzip member of `R` in turn (see the module doc).
pub(crate) struct GzMembers<R: BufRead> {
    state: State<R>,
    notes: Notes,
    /// Newlines in the decompressed text so far.
    newlines: u64,
    /// The last byte handed out.
    last: u8,
    /// A newline to hand out before more text: the text after damage starts a new line,
    /// so the first record of the next member is not glued to the damaged remains.
    break_line: bool,
}

impl<R: BufRead> GzMembers<R> {
    pub fn new(inner: R, notes: Notes) -> Self {
        GzMembers {
            state: State::Between(Tracked::new(inner)),
            notes,
            newlines: 0,
            last: b'\n',
            break_line: false,
        }
    }

    fn note(&mut self, text: String) {
        if let Ok(mut n) = self.notes.lock() {
            n.push((self.newlines + 1, text));
        }
        self.break_line = self.last != b'\n';
    }
}

const MAGIC: [u8; 2] = [0x1f, 0x8b];

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.break_line && !buf.is_empty() {
                self.break_line = false;
                buf[0] = b'\n';
                self.last = b'\n';
                self.newlines += 1;
                return Ok(1);
            }
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return Ok(0),
                State::Member { mut decoder, start } => match decoder.read(buf) {
                    Ok(0) if !buf.is_empty() => self.state = State::Between(decoder.into_inner()),
                    Ok(n) => {
                        self.state = State::Member { decoder, start };
                        self.newlines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
                        self.last = buf[n - 1];
                        return Ok(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                        self.state = State::Member { decoder, start };
                    }
                    Err(e) => {
                        let mut inner = decoder.into_inner();
                        self.note(format!(
                            "gzip member at compressed byte {start} is corrupt or truncated ({e}); what it held up to the damage was read, and reading went on at the next member"
                        ));
                        inner.rewind_past_mark();
                        self.state = State::Between(inner);
                    }
                },
                State::Between(mut inner) => {
                    let start = inner.consumed;
                    let mut skipped = 0u64;
                    let found = loop {
                        let available = match inner.fill_buf() {
                            Ok(b) => b,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(e) => return Err(e),
                        };
                        if available.is_empty() {
                            break false;
                        }
                        if available[0] == MAGIC[0]
                            && available.get(1).is_none_or(|b| *b == MAGIC[1])
                        {
                            break true;
                        }
                        let step = memchr::memchr(MAGIC[0], &available[1..])
                            .map_or(available.len(), |p| p + 1);
                        inner.consume(step);
                        skipped += step as u64;
                    };
                    if skipped > 0 {
                        self.state = State::Between(inner);
                        self.note(format!(
                            "{skipped} bytes at compressed byte {start} are not gzip (padding or damage); skipped"
                        ));
                        let State::Between(back) = std::mem::replace(&mut self.state, State::Done)
                        else {
                            unreachable!("set just above")
                        };
                        inner = back;
                    }
                    if !found {
                        return Ok(0);
                    }
                    let start = inner.consumed;
                    inner.mark();
                    self.state = State::Member {
                        decoder: Box::new(GzDecoder::new(inner)),
                        start,
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn member(text: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    }

    fn decode(bytes: &[u8]) -> (String, Vec<(u64, String)>) {
        let notes = Notes::default();
        let mut out = String::new();
        GzMembers::new(bytes, notes.clone())
            .read_to_string(&mut out)
            .unwrap();
        let notes = notes.lock().unwrap().clone();
        (out, notes)
    }

    #[test]
    fn members_after_padding_and_damage_are_still_read() {
        let mut file = member(b"one\n");
        file.extend_from_slice(&[0; 100]);
        let mut broken = member(b"lost\n");
        let mid = broken.len() / 2;
        broken[mid..].iter_mut().for_each(|b| *b = 0xAA);
        file.extend_from_slice(&broken);
        file.extend_from_slice(&member(b"two\n"));
        let (text, notes) = decode(&file);
        assert!(
            text.starts_with("one\n") && text.ends_with("two\n"),
            "{text:?} {notes:?}"
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].1.contains("100 bytes at compressed byte"));
        assert_eq!(notes[0].0, 2, "met after the first member's line");
        assert!(notes[1].1.contains("is corrupt"));
    }

    #[test]
    fn clean_multi_member_files_have_no_notes() {
        let mut file = member(b"a\n");
        file.extend_from_slice(&member(b"b\n"));
        assert_eq!(decode(&file), ("a\nb\n".to_string(), vec![]));
    }
}
