//! A fast scanner for JSON text that is already known to be valid (records are validated
//! by the reader when they are first parsed). It finds members and array items as raw
//! slices without building values, jumping over strings with `memchr`. On input that is
//! not valid JSON it returns what it found so far and never panics.

use std::borrow::Cow;

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Index just past the string whose opening quote is at `i`.
fn skip_string(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while let Some(k) = memchr::memchr2(b'"', b'\\', b.get(j..).unwrap_or_default()) {
        let at = j + k;
        if b[at] == b'"' {
            return at + 1;
        }
        j = at + 2;
    }
    b.len()
}

/// Index just past the value starting at `i` (whitespace already skipped).
fn skip_value(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        Some(_) => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            j
        }
        None => i,
    }
}

/// The content of a JSON string literal (with its quotes), unescaped only when needed.
pub fn string(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.as_bytes().contains(&b'\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
}

/// Members of a JSON object as `(key, raw value)`, scanned lazily in order; stops at the
/// end of the object or at anything that is not valid JSON.
struct Members<'a> {
    text: &'a str,
    at: usize,
    done: bool,
}

impl<'a> Members<'a> {
    fn new(text: &'a str) -> Self {
        let b = text.as_bytes();
        let i = skip_ws(b, 0);
        let ok = b.get(i) == Some(&b'{');
        Members {
            text,
            at: i + 1,
            done: !ok,
        }
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = (Cow<'a, str>, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.done = true;
        let (obj, b) = (self.text, self.text.as_bytes());
        let mut i = skip_ws(b, self.at);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(b, i);
        let key = obj.get(i..key_end).and_then(string)?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let end = skip_value(b, i);
        let value = obj.get(i..end)?;
        let next = skip_ws(b, end);
        if b.get(next) == Some(&b',') {
            self.at = next + 1;
            self.done = false;
        }
        Some((key, value))
    }
}

/// Members of a JSON object as `(key, raw value)`, in order.
pub fn members(obj: &str) -> Vec<(Cow<'_, str>, &str)> {
    Members::new(obj).collect()
}

/// The raw value of member `key` of a JSON object (first occurrence), scanning no further.
pub fn member<'a>(obj: &'a str, key: &str) -> Option<&'a str> {
    Members::new(obj).find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Items of a JSON array as raw values, in order.
pub fn items(arr: &str) -> Vec<&str> {
    let b = arr.as_bytes();
    let mut out = Vec::new();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return out;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return out;
    }
    loop {
        i = skip_ws(b, i);
        let end = skip_value(b, i);
        if end == i {
            return out;
        }
        let Some(v) = arr.get(i..end) else { return out };
        out.push(v);
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i += 1,
            _ => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn members_items_and_strings() {
        let obj = r#" { "a" : 1 , "b\"c": {"x": [1, "]}", {"y": "\\"}]}, "d": "e\u0041", "n": null, "t":true } "#;
        let m = members(obj);
        let keys: Vec<&str> = m.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["a", "b\"c", "d", "n", "t"]);
        assert_eq!(m[1].1, r#"{"x": [1, "]}", {"y": "\\"}]}"#);
        assert_eq!(string(m[2].1).as_deref(), Some("eA"));
        assert_eq!(member(obj, "n"), Some("null"));
        assert_eq!(member(obj, "zz"), None);
        assert_eq!(
            items(r#"[1, "a,b", {"c": [2]}, []]"#),
            ["1", r#""a,b""#, r#"{"c": [2]}"#, "[]"]
        );
        assert!(items("[]").is_empty() && items(" [ ] ").is_empty());
    }

    #[test]
    fn invalid_input_never_panics() {
        for bad in [
            "",
            "{",
            "{\"a",
            "{\"a\":",
            "{\"a\":[",
            "[1,",
            "\"",
            "{\"a\" 1}",
            "[\"\\",
            "{\"a\":1,}",
        ] {
            let _ = (members(bad), items(bad), member(bad, "a"));
        }
    }

    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "(\\PC|[\"\\\\\\n])*".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("(\\PC|[\"\\\\])*", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// On valid JSON (compact or pretty), the scanner agrees with serde_json.
        #[test]
        fn agrees_with_serde(value in json(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&value).unwrap() } else { value.to_string() };
            match &value {
                serde_json::Value::Object(map) => {
                    let got = members(&text);
                    prop_assert_eq!(got.len(), map.len());
                    for (k, raw) in got {
                        let parsed: serde_json::Value = serde_json::from_str(raw).unwrap();
                        prop_assert_eq!(Some(&parsed), map.get(k.as_ref()));
                        prop_assert_eq!(member(&text, &k).map(|r| serde_json::from_str::<serde_json::Value>(r).unwrap()), Some(parsed));
                    }
                }
                serde_json::Value::Array(list) => {
                    let got: Vec<serde_json::Value> = items(&text).iter().map(|r| serde_json::from_str(r).unwrap()).collect();
                    prop_assert_eq!(&got, list);
                }
                serde_json::Value::String(s) => {
                    let got = string(&text);
                    prop_assert_eq!(got.as_deref(), Some(s.as_str()));
                }
                _ => {}
            }
        }
    }
}
