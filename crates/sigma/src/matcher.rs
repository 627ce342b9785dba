//! Compiled single-value patterns: Sigma wildcards, modifiers and encodings.

use crate::compile::FieldId;
use crate::document::{Document, Value};
use crate::modifier::Modifier;
use base64::Engine;
use memchr::memmem::Finder;
use regex::{Regex, RegexBuilder};
use std::borrow::Cow;

/// Lowercases only when needed.
pub fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// Numeric comparison of `gt`/`gte`/`lt`/`lte`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// How a `fieldref` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefOp {
    Eq,
    Contains,
    StartsWith,
    EndsWith,
}

/// One compiled value pattern.
// Matched for every candidate value: the memmem finder stays inline, not behind a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Pattern {
    /// Any non-null value (`*`).
    Any,
    Exact {
        text: String,
        cased: bool,
    },
    Prefix {
        text: String,
        cased: bool,
    },
    Suffix {
        text: String,
        cased: bool,
    },
    Contains {
        finder: Finder<'static>,
        cased: bool,
    },
    /// Wildcards elsewhere, or several: an anchored regex.
    Glob(Regex),
    Regex(Regex),
    Cidr(ipnet::IpNet),
    Num(NumOp, f64),
    FieldRef {
        other: FieldId,
        op: RefOp,
        cased: bool,
    },
}

impl Pattern {
    /// Whether `value` matches (null never matches a pattern).
    pub fn matches(&self, value: &Value<'_>, doc: &dyn Document) -> bool {
        let Some(text) = value.text() else {
            return false;
        };
        match self {
            Pattern::Any => true,
            Pattern::Exact {
                text: p,
                cased: true,
            } => text == p,
            Pattern::Exact {
                text: p,
                cased: false,
            } => {
                text.len() == p.len() && text.eq_ignore_ascii_case(p)
                    || (!text.is_ascii() && fold(text) == p.as_str())
            }
            Pattern::Prefix {
                text: p,
                cased: true,
            } => text.starts_with(p.as_str()),
            Pattern::Prefix {
                text: p,
                cased: false,
            } => {
                text.get(..p.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(p))
                    || (!text.is_ascii() && fold(text).starts_with(p.as_str()))
            }
            Pattern::Suffix {
                text: p,
                cased: true,
            } => text.ends_with(p.as_str()),
            Pattern::Suffix {
                text: p,
                cased: false,
            } => {
                text.len() >= p.len()
                    && text
                        .get(text.len() - p.len()..)
                        .is_some_and(|t| t.eq_ignore_ascii_case(p))
                    || (!text.is_ascii() && fold(text).ends_with(p.as_str()))
            }
            Pattern::Contains {
                finder,
                cased: true,
            } => finder.find(text.as_bytes()).is_some(),
            Pattern::Contains {
                finder,
                cased: false,
            } => finder.find(fold(text).as_bytes()).is_some(),
            Pattern::Glob(re) | Pattern::Regex(re) => re.is_match(text),
            Pattern::Cidr(net) => text
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| net.contains(&ip)),
            Pattern::Num(op, n) => text.trim().parse::<f64>().is_ok_and(|v| match op {
                NumOp::Gt => v > *n,
                NumOp::Gte => v >= *n,
                NumOp::Lt => v < *n,
                NumOp::Lte => v <= *n,
            }),
            Pattern::FieldRef { other, op, cased } => {
                doc.field(*other).iter().filter_map(Value::text).any(|o| {
                    let (a, b) = if *cased {
                        (Cow::Borrowed(text), Cow::Borrowed(o))
                    } else {
                        (fold(text), fold(o))
                    };
                    match op {
                        RefOp::Eq => a == b,
                        RefOp::Contains => a.contains(b.as_ref()),
                        RefOp::StartsWith => a.starts_with(b.as_ref()),
                        RefOp::EndsWith => a.ends_with(b.as_ref()),
                    }
                })
            }
        }
    }
}

/// A Sigma string piece.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(char),
    Star,
    One,
}

/// Splits a Sigma string into literals and wildcards (`\*`, `\?`, `\\` escape).
fn pieces(s: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push(Piece::Star),
            '?' => out.push(Piece::One),
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    out.push(Piece::Lit(n));
                }
                _ => out.push(Piece::Lit('\\')),
            },
            c => out.push(Piece::Lit(c)),
        }
    }
    out
}

fn escape_wildcards(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Builds the pattern for a Sigma string (with wildcards) under case sensitivity `cased`.
pub fn wildcard_pattern(s: &str, cased: bool) -> Pattern {
    pattern_of(pieces(s), cased)
}

/// The pattern for a value under `contains` / `startswith` / `endswith` (or a keyword):
/// the value's escapes are read first, then the modifier's wildcards are added, so
/// `C:\Windows\` under `startswith` is the prefix `C:\Windows\` (a trailing backslash
/// escapes nothing the rule wrote).
pub fn modified_pattern(s: &str, star_before: bool, star_after: bool, cased: bool) -> Pattern {
    let mut p = pieces(s);
    if star_before {
        p.insert(0, Piece::Star);
    }
    if star_after {
        p.push(Piece::Star);
    }
    pattern_of(p, cased)
}

fn pattern_of(p: Vec<Piece>, cased: bool) -> Pattern {
    let lit = |ps: &[Piece]| -> Option<String> {
        ps.iter()
            .map(|x| {
                if let Piece::Lit(c) = x {
                    Some(*c)
                } else {
                    None
                }
            })
            .collect::<Option<String>>()
    };
    let norm = |t: String| if cased { t } else { fold(&t).into_owned() };
    if !p.is_empty() && p.iter().all(|x| *x == Piece::Star) {
        return Pattern::Any;
    }
    if let Some(t) = lit(&p) {
        return Pattern::Exact {
            text: norm(t),
            cased,
        };
    }
    let n = p.len();
    if p[n - 1] == Piece::Star
        && let Some(t) = lit(&p[..n - 1])
    {
        return Pattern::Prefix {
            text: norm(t),
            cased,
        };
    }
    if p[0] == Piece::Star
        && let Some(t) = lit(&p[1..])
    {
        return Pattern::Suffix {
            text: norm(t),
            cased,
        };
    }
    if n >= 2
        && p[0] == Piece::Star
        && p[n - 1] == Piece::Star
        && let Some(t) = lit(&p[1..n - 1])
    {
        let t = norm(t);
        return Pattern::Contains {
            finder: Finder::new(t.as_bytes()).into_owned(),
            cased,
        };
    }
    let mut re = String::from(if cased { "(?s)^" } else { "(?si)^" });
    for x in &p {
        match x {
            Piece::Star => re.push_str(".*"),
            Piece::One => re.push('.'),
            Piece::Lit(c) => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Pattern::Glob(Regex::new(&re).unwrap_or_else(|_| Regex::new("^$").expect("valid regex")))
}

fn utf16(s: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if big_endian {
            &[0xFE, 0xFF]
        } else {
            &[0xFF, 0xFE]
        });
    }
    for u in s.encode_utf16() {
        out.extend_from_slice(&if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    out
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The three shifted encodings `base64offset` searches for.
fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    (0..3usize)
        .map(|i| {
            let mut shifted = vec![b' '; i];
            shifted.extend_from_slice(bytes);
            let enc = b64(&shifted);
            let start = [0, 2, 3][i];
            let end = enc.len() - [0, 3, 2][(bytes.len() + i) % 3];
            enc.get(start..end).unwrap_or("").to_string()
        })
        .collect()
}

/// The characters `windash` treats as one: hyphen, slash, en dash, em dash, horizontal bar.
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Most dash positions varied independently (5^4 = 625 values); beyond, every position
/// takes the same dash, so a hostile rule cannot blow up.
const WINDASH_POSITIONS: usize = 4;

/// Every variant of `v` in which each dash that starts a word (first in the value or after
/// a character that is not a letter, digit or `_`, and followed by one) is any of
/// [`DASHES`], in every combination; other dashes stay as written.
fn windash(v: &str) -> Vec<String> {
    let chars: Vec<char> = v.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let at: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            DASHES.contains(&chars[i])
                && (i == 0 || !word(chars[i - 1]))
                && chars.get(i + 1).is_some_and(|c| word(*c))
        })
        .collect();
    if at.is_empty() {
        return vec![v.to_string()];
    }
    let mut out = Vec::new();
    if at.len() > WINDASH_POSITIONS {
        for d in DASHES {
            let mut c = chars.clone();
            at.iter().for_each(|&i| c[i] = d);
            out.push(c.into_iter().collect());
        }
        return out;
    }
    let combos = DASHES.len().pow(at.len() as u32);
    for mut n in 0..combos {
        let mut c = chars.clone();
        for &i in &at {
            c[i] = DASHES[n % DASHES.len()];
            n /= DASHES.len();
        }
        out.push(c.into_iter().collect());
    }
    out
}

/// Applies encoding modifiers (wide/utf16*, base64, base64offset, windash) to one value,
/// giving the Sigma strings to match (wildcards escaped where the value became literal).
pub fn transform(value: &str, mods: &[Modifier]) -> Vec<String> {
    let has = |m| mods.contains(&m);
    let mut values = vec![value.to_string()];
    if has(Modifier::Windash) {
        values = values.iter().flat_map(|v| windash(v)).collect();
    }
    let encoded = has(Modifier::Base64) || has(Modifier::Base64Offset);
    if !encoded {
        return values;
    }
    let bytes_of = |v: &str| -> Vec<u8> {
        if has(Modifier::Utf16Le) || has(Modifier::Wide) {
            utf16(v, false, false)
        } else if has(Modifier::Utf16Be) {
            utf16(v, true, false)
        } else if has(Modifier::Utf16) {
            utf16(v, false, true)
        } else {
            v.as_bytes().to_vec()
        }
    };
    values
        .iter()
        .flat_map(|v| {
            let bytes = bytes_of(v);
            if has(Modifier::Base64) {
                vec![b64(&bytes)]
            } else {
                base64_offsets(&bytes)
            }
        })
        .map(|e| escape_wildcards(&e))
        .collect()
}

/// Builds a regex pattern for `re` with its flags.
pub fn regex_pattern(value: &str, mods: &[Modifier]) -> Result<Pattern, String> {
    let mut b = RegexBuilder::new(value);
    b.case_insensitive(mods.contains(&Modifier::ReI))
        .multi_line(mods.contains(&Modifier::ReM))
        .dot_matches_new_line(mods.contains(&Modifier::ReS))
        .size_limit(1 << 22);
    b.build().map(Pattern::Regex).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::FieldId;

    struct NoDoc;
    impl Document for NoDoc {
        fn field(&self, _: FieldId) -> &[Value<'_>] {
            &[]
        }
        fn text(&self) -> &str {
            ""
        }
    }

    fn m(p: &Pattern, s: &str) -> bool {
        p.matches(&Value::Str(s.into()), &NoDoc)
    }

    #[test]
    fn wildcards_and_case() {
        let exact = wildcard_pattern("ConsoleLogin", false);
        assert!(
            m(&exact, "consolelogin") && m(&exact, "CONSOLELOGIN") && !m(&exact, "ConsoleLogins")
        );
        assert!(matches!(
            wildcard_pattern("Get*", false),
            Pattern::Prefix { .. }
        ));
        assert!(matches!(
            wildcard_pattern("*.amazonaws.com", false),
            Pattern::Suffix { .. }
        ));
        assert!(matches!(
            wildcard_pattern("*pacu*", false),
            Pattern::Contains { .. }
        ));
        let glob = wildcard_pattern("arn:*:role/?dmin*", false);
        assert!(m(&glob, "ARN:aws:iam::1:role/Admin-x") && !m(&glob, "arn:aws:user/admin"));
        let escaped = wildcard_pattern(r"a\*b", false);
        assert!(m(&escaped, "a*b") && !m(&escaped, "axb"));
        let cased = wildcard_pattern("Root", true);
        assert!(m(&cased, "Root") && !m(&cased, "root"));
        assert!(matches!(wildcard_pattern("***", false), Pattern::Any));
        let unicode = wildcard_pattern("*ÄBC*", false);
        assert!(m(&unicode, "xäbcx"));
    }

    #[test]
    fn a_trailing_backslash_escapes_no_modifier_wildcard() {
        let p = modified_pattern("C:\\Windows\\", false, true, false);
        assert!(m(&p, "C:\\Windows\\x.exe"));
        assert!(!m(&p, "C:\\Windows*"));
        let p = modified_pattern("\\evil.exe", true, false, false);
        assert!(m(&p, "C:\\Temp\\evil.exe"));
        let p = modified_pattern("\\Temp\\", true, true, false);
        assert!(m(&p, "C:\\Temp\\x"));
        // An escaped wildcard the rule wrote stays literal.
        let p = modified_pattern("a\\*", false, true, false);
        assert!(m(&p, "a*b") && !m(&p, "ab"));
    }

    #[test]
    fn windash_varies_only_word_starting_dashes() {
        let v = windash("-enc x-y -w");
        assert_eq!(v.len(), 25);
        assert!(v.contains(&"/enc x-y /w".to_string()));
        assert!(v.contains(&"\u{2014}enc x-y -w".to_string()));
        assert!(
            v.iter().all(|s| s.contains("x-y")),
            "a dash inside a word stays"
        );
        assert_eq!(
            windash("\u{2013}c").len(),
            5,
            "an en dash in the rule varies too"
        );
        assert_eq!(
            windash("a - b").len(),
            1,
            "a dash before a space starts no word"
        );
    }

    #[test]
    fn encodings() {
        assert_eq!(transform("abc", &[Modifier::Base64]), vec!["YWJj"]);
        assert_eq!(
            transform("abc", &[Modifier::Base64Offset, Modifier::Contains]),
            vec!["YWJj", "FiY", "hYm"]
        );
        assert_eq!(
            transform("ab", &[Modifier::Wide, Modifier::Base64]),
            vec!["YQBiAA=="]
        );
        assert_eq!(transform("-a", &[Modifier::Windash]).len(), 5);
        let re = regex_pattern("^admin", &[Modifier::Re, Modifier::ReI]).unwrap();
        assert!(m(&re, "ADMIN-1"));
    }

    #[test]
    fn values_of_every_type() {
        let p = wildcard_pattern("true", false);
        assert!(p.matches(&Value::Bool(true), &NoDoc));
        assert!(!p.matches(&Value::Null, &NoDoc));
        let n = Pattern::Num(NumOp::Gte, 5.0);
        assert!(
            n.matches(&Value::Num("7".into()), &NoDoc)
                && !n.matches(&Value::Str("x".into()), &NoDoc)
        );
        let c = Pattern::Cidr("10.0.0.0/8".parse().unwrap());
        assert!(m(&c, "10.1.2.3") && !m(&c, "11.0.0.1") && !m(&c, "AWS Internal"));
    }
}
