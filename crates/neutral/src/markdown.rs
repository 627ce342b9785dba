//! Markdown: the characters Markdown (CommonMark and GitHub's tables) gives meaning to
//! anywhere are backslash-escaped (or made entities), and those that matter only at the start
//! of a line are escaped there, so log text can form no link (`[x](javascript:…)`), image,
//! autolink, raw HTML, emphasis, heading, list or table break; line breaks and controls are
//! replaced, so a value stays on its line.

use crate::{REPLACEMENT, is_bidi_control, is_control};

/// Characters with meaning wherever they stand.
fn special(c: char) -> bool {
    matches!(
        c,
        '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '|' | '~' | '#' | '{' | '}'
    )
}

/// Inline text (a paragraph's words, a table cell, a list item).
pub fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    // A list marker, block quote or setext underline at the start of the text.
    if s.starts_with(['-', '+', '=', '>']) {
        out.push('\\');
    } else if let Some(p) = s.find(|c: char| !c.is_ascii_digit())
        && p > 0
        && s[p..].starts_with(['.', ')'])
    {
        out.push_str(&s[..p]);
        out.push('\\');
        return out + &inline_rest(&s[p..]);
    }
    out + &inline_rest(s)
}

fn inline_rest(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if is_control(c) || is_bidi_control(c) => out.push(REPLACEMENT),
            // An entity would otherwise be decoded (`&#106;avascript:`).
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if special(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text inside a code span: the span is opened with more backticks than the text holds.
pub fn code(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if is_control(c) || is_bidi_control(c) => REPLACEMENT,
            c => c,
        })
        .collect();
    let longest = clean.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    format!("{fence} {clean} {fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_cannot_be_formed() {
        let md = inline("[x](javascript:alert(1)) <javascript:a> ![i](http://x/p.png) &#106;");
        assert!(!md.contains("]("), "{md}");
        assert!(!md.contains('<'), "{md}");
        assert!(!md.contains("&#"), "{md}");
    }

    #[test]
    fn line_starts_cannot_make_blocks() {
        assert_eq!(inline("- item"), "\\- item");
        assert_eq!(inline("1. first"), "1\\. first");
        assert_eq!(inline("a-b.c"), "a-b.c");
    }

    #[test]
    fn a_value_cannot_break_a_table() {
        assert_eq!(inline("a|b\n# h"), "a\\|b \\# h");
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code("a``b"), "``` a``b ```");
    }
}
