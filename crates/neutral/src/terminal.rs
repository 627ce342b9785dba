//! Text for a terminal: control characters (escape sequences that move the cursor, rewrite
//! lines or set the window title) and bidirectional overrides are shown as `�`.

use crate::{REPLACEMENT, is_bidi_control, is_control};
use std::borrow::Cow;
use std::io::{self, Write};

/// One field on one line (a table cell, an ARN): every control character, newline and tab
/// included, is replaced, so a value cannot forge a line of output.
pub fn field(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_control(c) || is_bidi_control(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if is_control(c) || is_bidi_control(c) {
                    REPLACEMENT
                } else {
                    c
                }
            })
            .collect(),
    )
}

/// Any value shown as one terminal field: its text through [`field`], with the width and
/// alignment of the format spec (`{:<12}`) applied to the cleaned text.
pub struct Field<'a, T: ?Sized>(pub &'a T);

impl<T: std::fmt::Display + ?Sized> std::fmt::Display for Field<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0.to_string();
        f.pad(&field(&text))
    }
}

/// A writer for whole reports: replaces every control character except newline and tab
/// (C0, DEL and C1, as UTF-8) and bidirectional overrides with `�`. Text the program lays
/// out itself may break lines; values inside it go through [`field`] first.
pub struct Printable<W: Write>(pub W);

/// Length of the sequence to replace at `buf[i]`, if any.
fn replaced_len(buf: &[u8], i: usize) -> Option<usize> {
    let b = buf[i];
    if (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f {
        return Some(1);
    }
    if b == 0xc2 && buf.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)) {
        return Some(2);
    }
    // U+200E/F, U+202A–E, U+2066–9 (E2 80 8E/8F, E2 80 AA–AE, E2 81 A6–A9), U+061C (D8 9C).
    match (b, buf.get(i + 1), buf.get(i + 2)) {
        (0xe2, Some(0x80), Some(0x8e | 0x8f | 0xaa..=0xae)) => Some(3),
        (0xe2, Some(0x81), Some(0xa6..=0xa9)) => Some(3),
        (0xd8, Some(0x9c), _) => Some(2),
        _ => None,
    }
}

impl<W: Write> Write for Printable<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        let mut i = 0;
        while i < buf.len() {
            let Some(len) = replaced_len(buf, i) else {
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
        writeln!(out, "user\x1b]0;pwned\x07 é\u{9b}31m\tok \u{202e}txt").unwrap();
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "user\u{fffd}]0;pwned\u{fffd} é\u{fffd}31m\tok \u{fffd}txt\n"
        );
    }

    #[test]
    fn fields_keep_their_width() {
        assert_eq!(format!("[{:<6}]", Field(&"a\nb")), "[a\u{fffd}b   ]");
        assert_eq!(format!("[{:>4}]", Field(&7)), "[   7]");
    }

    #[test]
    fn a_field_cannot_break_its_line() {
        assert_eq!(
            field("arn:aws:iam::1:user/a\nFORGED"),
            "arn:aws:iam::1:user/a\u{fffd}FORGED"
        );
        assert!(matches!(field("plain"), Cow::Borrowed(_)));
    }
}
