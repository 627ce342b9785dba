//! Text for a terminal: log data is attacker-controlled, so control characters in it
//! (escape sequences that move the cursor, rewrite lines or set the window title) are
//! shown, never obeyed.

use std::io::{self, Write};

/// A writer that replaces every control character except newline and tab (C0, DEL and C1,
/// as UTF-8) with `�`.
pub struct Printable<W: Write>(pub W);

impl<W: Write> Write for Printable<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        let mut i = 0;
        while i < buf.len() {
            let b = buf[i];
            let len = if (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f {
                1
            } else if b == 0xc2 && buf.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)) {
                2
            } else {
                i += 1;
                continue;
            };
            self.0.write_all(&buf[start..i])?;
            self.0.write_all("\u{fffd}".as_bytes())?;
            i += len;
            start = i;
        }
        self.0.write_all(&buf[start..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_not_obeyed() {
        let mut out = Printable(Vec::new());
        writeln!(out, "user\x1b]0;pwned\x07 é\u{9b}31m\tok").unwrap();
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "user\u{fffd}]0;pwned\u{fffd} é\u{fffd}31m\tok\n"
        );
    }
}
