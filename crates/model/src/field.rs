//! Addressing the original record by its own field paths (`userIdentity.arn`,
//! `requestParameters.bucketName`, `resources.ARN`), as Sigma rules do.
//!
//! This is the general, allocation-light lookup used off the hot path; the detection
//! engine compiles its own field accessors.

use crate::event::{Event, Raw, Text};
use std::borrow::Cow;

/// A value found at a field path.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    Null,
    Bool(bool),
    /// A JSON number, as written.
    Number(&'a str),
    Str(Text<'a>),
    /// A JSON object, as its JSON text.
    Object(&'a str),
    /// A JSON array, as its JSON text.
    Array(&'a str),
}

impl<'a> FieldValue<'a> {
    fn from_raw(text: &'a str) -> FieldValue<'a> {
        match text.as_bytes().first() {
            Some(b'"') => crate::scan::string(text).map_or(FieldValue::Null, FieldValue::Str),
            Some(b'{') => FieldValue::Object(text),
            Some(b'[') => FieldValue::Array(text),
            Some(b't') => FieldValue::Bool(true),
            Some(b'f') => FieldValue::Bool(false),
            Some(b'n') | None => FieldValue::Null,
            Some(_) => FieldValue::Number(text),
        }
    }

    /// The value as text: strings as themselves, others as their JSON.
    pub fn as_text(&self) -> Cow<'_, str> {
        match self {
            FieldValue::Null => Cow::Borrowed("null"),
            FieldValue::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            FieldValue::Number(n) | FieldValue::Object(n) | FieldValue::Array(n) => {
                Cow::Borrowed(n)
            }
            FieldValue::Str(s) => Cow::Borrowed(s),
        }
    }
}

/// Collects every value at `path` below `json` (text the reader validated); an array on
/// the way fans out to each element.
fn collect_json<'a>(json: &'a str, segments: &[&str], out: &mut Vec<FieldValue<'a>>) {
    let json = json.trim_start();
    let Some((first, rest)) = segments.split_first() else {
        out.push(FieldValue::from_raw(json.trim_end()));
        return;
    };
    match json.as_bytes().first() {
        Some(b'{') => {
            if let Some(child) = crate::scan::member(json, first) {
                collect_json(child, rest, out);
            }
        }
        Some(b'[') => {
            let items = crate::scan::items(json);
            match first.parse::<usize>() {
                Ok(index) => {
                    if let Some(item) = items.get(index) {
                        collect_json(item, rest, out);
                    }
                }
                Err(_) => items
                    .into_iter()
                    .for_each(|item| collect_json(item, segments, out)),
            }
        }
        _ => {}
    }
}

/// Whether a member's JSON text can hold the path below it: its deepest key is written out
/// in it, or the text has a `\u` escape that could spell the key another way (no key in a
/// path has a character JSON must escape). One fast search spares walking most members
/// (`requestParameters`, `responseElements`) for keys they do not have.
fn may_hold(json: &str, below: &[&str]) -> bool {
    match below.iter().rev().find(|s| s.parse::<usize>().is_err()) {
        Some(key) => {
            let bytes = json.as_bytes();
            memchr::memmem::find(bytes, key.as_bytes()).is_some()
                || memchr::memchr_iter(b'\\', bytes).any(|i| bytes.get(i + 1) == Some(&b'u'))
        }
        None => true,
    }
}

impl<'a> Event<'a> {
    /// Every value at a dotted field path of the original record. Empty when absent.
    pub fn field_values(&self, path: &str) -> Vec<FieldValue<'_>> {
        let mut out = Vec::new();
        match &self.raw {
            Raw::Json(text) => {
                let segments: Vec<&str> = path.split('.').collect();
                // Start from the top-level member captured at ingest. Members are captured
                // from the very text `raw` holds (a Lake export's embedded JSON strings are
                // expanded before the record is probed), so a scalar member is the value
                // itself and a record is never walked again to find a null or a string.
                let members = &self.members.0;
                match members.iter().find(|(k, _)| k == segments[0]) {
                    Some((_, v)) if may_hold(v.get(), &segments[1..]) => {
                        collect_json(v.get(), &segments[1..], &mut out)
                    }
                    Some(_) => {}
                    // Captured members are all of them: an absent key is absent.
                    None if !members.is_empty() => {}
                    _ => collect_json(text, &segments, &mut out),
                }
            }
            Raw::Fields(fields) => {
                out.extend(
                    fields
                        .iter()
                        .filter(|(name, _)| *name == path)
                        .map(|(_, v)| FieldValue::Str(Cow::Borrowed(v.as_ref()))),
                );
            }
        }
        out
    }

    /// The first value at a dotted field path, if any.
    pub fn field(&self, path: &str) -> Option<FieldValue<'_>> {
        self.field_values(path).into_iter().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventClass, Origin, SourceKind};

    fn event(json: &str) -> Event<'_> {
        Event::new(
            EventClass::ApiActivity,
            SourceKind::CloudTrail,
            Origin {
                file: "t".into(),
                line: 1,
            },
            Raw::Json(Cow::Borrowed(json)),
        )
    }

    /// The search that spares walking a member never hides a key: spelled with escapes, or
    /// under an array index, it is still found.
    #[test]
    fn a_key_spelled_with_escapes_is_still_found() {
        let e = event(
            r#"{"requestParameters":{"\u0069nstanceId":"i-1","items":[{"n":1}]},
               "responseElements":{"other":"instanceId"}}"#,
        );
        assert_eq!(
            e.field("requestParameters.instanceId"),
            Some(FieldValue::Str("i-1".into()))
        );
        assert_eq!(
            e.field("requestParameters.items.0"),
            Some(FieldValue::Object(r#"{"n":1}"#))
        );
        assert_eq!(e.field("requestParameters.bucketName"), None);
        assert_eq!(e.field("responseElements.instanceId"), None);
    }

    #[test]
    fn nested_paths_arrays_and_escapes() {
        let e = event(
            r#"{"eventName":"Put\u0041","userIdentity":{"arn":"arn:x","n":3,"mfa":false},
               "resources":[{"ARN":"a1"},{"ARN":"a2"}],"p":null,"o":{"k":[1,2]}}"#,
        );
        assert_eq!(e.field("eventName"), Some(FieldValue::Str("PutA".into())));
        assert_eq!(
            e.field("userIdentity.arn"),
            Some(FieldValue::Str("arn:x".into()))
        );
        assert_eq!(e.field("userIdentity.n"), Some(FieldValue::Number("3")));
        assert_eq!(e.field("userIdentity.mfa"), Some(FieldValue::Bool(false)));
        assert_eq!(
            e.field_values("resources.ARN"),
            vec![FieldValue::Str("a1".into()), FieldValue::Str("a2".into())]
        );
        assert_eq!(
            e.field("resources.1.ARN"),
            Some(FieldValue::Str("a2".into()))
        );
        assert_eq!(e.field("p"), Some(FieldValue::Null));
        assert_eq!(
            e.field("o").map(|v| v.as_text().into_owned()),
            Some(r#"{"k":[1,2]}"#.to_string())
        );
        assert_eq!(e.field("missing.path"), None);
    }

    #[test]
    fn delimited_fields() {
        let mut e = event("{}");
        e.raw = Raw::Fields(vec![
            ("srcaddr", "10.0.0.1".into()),
            ("dstport", "443".into()),
        ]);
        assert_eq!(e.field("dstport"), Some(FieldValue::Str("443".into())));
        assert_eq!(e.field("action"), None);
    }
}
