//! A record prefilter: reading again only the records that can hold one of a set of values.
//!
//! A pass that wants only the events naming certain values (a case timeline wants the
//! events of its entities) need not parse the records that cannot name them. Whether a
//! record can is decided on its bytes, before parsing, and must never be wrong in the
//! unsafe direction: a record is passed over only when no reading of it could produce a
//! field holding a wanted value. Every value ingest reads is a substring of the record's
//! text except where the text encodes it, so a record is read whenever it
//! - contains one of the wanted values literally,
//! - contains a JSON escape that could spell a value's characters another way (`\u…`, `\/`),
//! - carries a payload ingest decodes (a `data` member, base64 in Kinesis and
//!   CloudWatch Logs subscription records; a gzip+base64 line is decoded before it is
//!   checked, so its decoded text is what the filter sees).

use aho_corasick::AhoCorasick;

/// Text that makes a record worth reading whatever values are wanted.
const ALWAYS_READ: [&str; 3] = ["\\u", "\\/", "\"data\""];

/// Which records a pass reads: those that may hold a wanted value (see the module docs).
#[derive(Debug, Clone)]
pub struct RecordFilter {
    matcher: AhoCorasick,
}

/// A wanted value that a filter cannot look for.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    /// Empty, or holding a character JSON always escapes (`"`, `\`, control characters):
    /// its literal text would not be in the record.
    #[error("value {0:?} cannot be looked for in record text")]
    Unsearchable(String),
    #[error("cannot build the record filter: {0}")]
    Build(String),
}

impl RecordFilter {
    /// A filter reading the records that may hold any of `values`.
    pub fn new<I, S>(values: I) -> Result<Self, FilterError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut patterns: Vec<String> = ALWAYS_READ.iter().map(|s| s.to_string()).collect();
        for v in values {
            let v = v.as_ref();
            if v.is_empty() || v.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
                return Err(FilterError::Unsearchable(v.to_string()));
            }
            patterns.push(v.to_string());
        }
        let matcher = AhoCorasick::new(&patterns).map_err(|e| FilterError::Build(e.to_string()))?;
        Ok(RecordFilter { matcher })
    }

    /// Whether the record `text` must be read.
    pub fn reads(&self, text: &[u8]) -> bool {
        self.matcher.is_match(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_naming_a_value_or_encoding_text() {
        let f = RecordFilter::new(["AKIAEXAMPLE", "arn:aws:iam::1:user/alice"]).unwrap();
        assert!(f.reads(br#"{"userIdentity":{"accessKeyId":"AKIAEXAMPLE"}}"#));
        assert!(f.reads(br#"{"arn":"arn:aws:iam::1:user/alice"}"#));
        assert!(!f.reads(br#"{"arn":"arn:aws:iam::1:user/bob"}"#));
        // The same value spelled with escapes, and a payload that must be decoded first.
        assert!(f.reads(br#"{"arn":"arn:aws:iam::1:user\/alice"}"#));
        assert!(f.reads(br#"{"key":"AKIA\u0045XAMPLE"}"#));
        assert!(f.reads(br#"{"kinesis":{"data":"H4sIAAAA"}}"#));
    }

    #[test]
    fn refuses_values_it_cannot_find() {
        assert!(matches!(
            RecordFilter::new(["a\"b"]),
            Err(FilterError::Unsearchable(_))
        ));
        assert!(matches!(
            RecordFilter::new([""]),
            Err(FilterError::Unsearchable(_))
        ));
    }
}
