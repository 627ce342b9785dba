//! CSV cells opened in a spreadsheet: a cell that starts with `=`, `+`, `-`, `@`, tab or
//! carriage return is a formula there (`=HYPERLINK(…)` phones home, DDE runs commands), so
//! such cells get a leading `'`, which spreadsheets show as text (OWASP's rule). Control
//! characters are replaced. Quoting is the CSV writer's job.

use crate::{REPLACEMENT, is_bidi_control, is_control};
use std::borrow::Cow;

/// Characters that make a spreadsheet read a cell as a formula, including their full-width
/// forms, which some spreadsheets fold to ASCII.
fn starts_formula(s: &str) -> bool {
    matches!(
        s.chars().next(),
        Some(
            '=' | '+' | '-' | '@' | '\t' | '\r' | '\u{ff1d}' | '\u{ff0b}' | '\u{ff0d}' | '\u{ff20}'
        )
    )
}

/// One cell of log-derived text.
pub fn cell(s: &str) -> Cow<'_, str> {
    let formula = starts_formula(s);
    let controls = s.chars().any(|c| is_control(c) || is_bidi_control(c));
    if !formula && !controls {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 1);
    if formula {
        out.push('\'');
    }
    out.extend(s.chars().map(|c| {
        if is_control(c) || is_bidi_control(c) {
            REPLACEMENT
        } else {
            c
        }
    }));
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_and_escapes_are_disarmed() {
        assert_eq!(
            cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        for s in ["+1", "-2+3", "@SUM(A1)", "\t=1", "\u{ff1d}1"] {
            assert!(cell(s).starts_with('\''), "{s}");
        }
        assert_eq!(cell("a\x1b[2Jb"), "a\u{fffd}[2Jb");
        assert!(matches!(cell("arn:aws:iam::1:user/x"), Cow::Borrowed(_)));
    }
}
