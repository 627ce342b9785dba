//! `report verify`: a rendered review's tagged figures, rows and narrative lines, read back
//! and compared with the same review drafted again from the store and the ledger.

use crate::render::{self, Format};
use crate::review::{Block, Review};
use case::CaseId;
use std::collections::BTreeMap;

/// What a rendered review says of itself: its format, case and the moment it was drafted as
/// of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    pub case: CaseId,
    pub as_of_ms: i64,
}

/// Why a file cannot be verified.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotAReview {
    #[error(
        "no Firebreak review header (`<!-- firebreak-review case=N as-of=MS -->` or the `firebreak-review` meta tag)"
    )]
    NoHeader,
    #[error("the review header `{0}` is malformed")]
    BadHeader(String),
}

/// Reads the header of a Markdown or HTML review.
pub fn header(text: &str) -> Result<Header, NotAReview> {
    let (format, content) =
        if let Some(rest) = text.trim_start().strip_prefix("<!-- firebreak-review ") {
            (Format::Markdown, rest.split("-->").next().unwrap_or(""))
        } else if let Some(i) = text.find("<meta name=\"firebreak-review\" content=\"") {
            let rest = &text[i + "<meta name=\"firebreak-review\" content=\"".len()..];
            (Format::Html, rest.split('"').next().unwrap_or(""))
        } else {
            return Err(NotAReview::NoHeader);
        };
    let mut case = None;
    let mut as_of = None;
    for part in content.split_whitespace() {
        match part.split_once('=') {
            Some(("case", v)) => case = v.parse::<i64>().ok(),
            Some(("as-of", v)) => as_of = v.parse::<i64>().ok(),
            _ => {}
        }
    }
    match (case, as_of) {
        (Some(c), Some(a)) => Ok(Header {
            format,
            case: CaseId(c),
            as_of_ms: a,
        }),
        _ => Err(NotAReview::BadHeader(content.trim().to_string())),
    }
}

/// Every tagged piece of a rendered review: tag → its text (whitespace collapsed).
pub fn tagged(text: &str, format: Format) -> BTreeMap<String, String> {
    match format {
        Format::Markdown => tagged_markdown(text),
        Format::Html => tagged_html(text),
    }
}

fn tagged_markdown(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(i) = line.find("<!--fb:") else {
            continue;
        };
        let rest = &line[i + 7..];
        let Some(end) = rest.find("-->") else {
            continue;
        };
        let id = rest[..end].to_string();
        let content = format!("{}{}", &line[..i], &rest[end + 3..]);
        out.insert(id, collapse(&content));
    }
    out
}

fn tagged_html(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut at = 0;
    while let Some(found) = text[at..].find(" data-fb=\"") {
        let attr = at + found;
        let id_start = attr + " data-fb=\"".len();
        let Some(id_len) = text[id_start..].find('"') else {
            break;
        };
        let id = unescape(&text[id_start..id_start + id_len]);
        let open = text[..attr].rfind('<').unwrap_or(attr);
        let tag: String = text[open + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let Some(body_start) = text[id_start..].find('>').map(|i| id_start + i + 1) else {
            break;
        };
        let close = format!("</{tag}>");
        let body_end = text[body_start..]
            .find(&close)
            .map_or(text.len(), |i| body_start + i);
        out.insert(
            id,
            collapse(&unescape(&strip_tags(&text[body_start..body_end]))),
        );
        at = body_end;
    }
    out
}

/// Text content: tags become spaces.
fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A figure, row or narrative line whose text differs between the file and the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub id: String,
    /// What it is (`Time to detect`, `timeline row`, `narrative: summary`).
    pub what: String,
    /// The file's text, `None` when the file lacks it.
    pub file: Option<String>,
    /// The text drafted from the store now, `None` when the store no longer yields it.
    pub store: Option<String>,
}

/// Compares a rendered review with `fresh`, the same case drafted again as of the same
/// moment, in the same format.
pub fn compare(file_text: &str, format: Format, fresh: &Review) -> Vec<Mismatch> {
    let rendered = match format {
        Format::Markdown => render::markdown(fresh),
        Format::Html => render::html(fresh),
    };
    let ours = tagged(&rendered, format);
    let theirs = tagged(file_text, format);
    let labels = labels(fresh);
    let what = |id: &str| {
        labels.get(id).cloned().unwrap_or_else(|| {
            if let Some(src) = id.strip_prefix("src.") {
                format!("source {src}")
            } else if let Some(n) = id.strip_prefix("n.") {
                format!("narrative {n}")
            } else {
                format!("row {id}")
            }
        })
    };
    let mut out = Vec::new();
    for (id, text) in &theirs {
        match ours.get(id) {
            Some(t) if t == text => {}
            other => out.push(Mismatch {
                id: id.clone(),
                what: what(id),
                file: Some(text.clone()),
                store: other.cloned(),
            }),
        }
    }
    for (id, text) in &ours {
        if !theirs.contains_key(id) {
            out.push(Mismatch {
                id: id.clone(),
                what: what(id),
                file: None,
                store: Some(text.clone()),
            });
        }
    }
    out
}

fn labels(r: &Review) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for s in &r.sections {
        for b in &s.blocks {
            match b {
                Block::Figures(figs) => {
                    for f in figs {
                        m.insert(f.id.clone(), f.label.clone());
                    }
                }
                Block::Table { rows, .. } => {
                    for row in rows {
                        m.insert(row.id.clone(), format!("{} row {}", s.title, row.id));
                    }
                }
                _ => {}
            }
        }
    }
    m
}
