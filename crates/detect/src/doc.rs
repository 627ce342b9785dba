//! A normalized [`Event`] seen as a Sigma [`Document`]: fields resolve lazily against the
//! original record, once per event. Top-level members come from the reader when it kept
//! them, so a record is not parsed again.

use model::event::compact_json;
use model::{Event, Raw};
use serde_json::value::RawValue;
use sigma::{Document, FieldId, Value};
use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};

type Members<'a> = Vec<(Cow<'a, str>, &'a RawValue)>;

/// How to find one field path: top-level key candidates (longest first) with the rest.
#[derive(Debug, Clone)]
struct Lookup {
    full: String,
    candidates: Vec<(String, Vec<String>)>,
}

/// Field paths by [`FieldId`], prepared for lookup.
#[derive(Debug, Clone, Default)]
pub struct FieldPaths {
    lookups: Vec<Lookup>,
}

impl FieldPaths {
    pub fn new(fields: &[String]) -> Self {
        let lookups = fields
            .iter()
            .map(|f| {
                let segments: Vec<&str> = f.split('.').collect();
                // A key may itself contain dots (flattened records): longest match first.
                let candidates = (1..=segments.len())
                    .rev()
                    .map(|take| {
                        (
                            segments[..take].join("."),
                            segments[take..].iter().map(|s| s.to_string()).collect(),
                        )
                    })
                    .collect();
                Lookup {
                    full: f.clone(),
                    candidates,
                }
            })
            .collect();
        FieldPaths { lookups }
    }
    pub fn len(&self) -> usize {
        self.lookups.len()
    }
    pub fn is_empty(&self) -> bool {
        self.lookups.is_empty()
    }
}

/// An object's members in order, keys borrowed when unescaped, values unparsed.
struct MembersOf<'a>(Members<'a>);

impl<'de> serde::Deserialize<'de> for MembersOf<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Key<'a>(Cow<'a, str>);
        impl<'de> serde::Deserialize<'de> for Key<'de> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Key<'de>;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a key")
                    }
                    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                        Ok(Key(Cow::Borrowed(v)))
                    }
                    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                        Ok(Key(Cow::Owned(v.to_owned())))
                    }
                }
                d.deserialize_str(V)
            }
        }
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = MembersOf<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    out.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(MembersOf(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn members(text: &str) -> Members<'_> {
    serde_json::from_str::<MembersOf<'_>>(text)
        .map(|m| m.0)
        .unwrap_or_default()
}

/// A JSON string's content: borrowed when it has no escapes.
fn json_string(text: &str) -> Option<Cow<'_, str>> {
    let inner = text.get(1..text.len().checked_sub(1)?)?;
    if memchr_backslash(inner) {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

fn memchr_backslash(s: &str) -> bool {
    s.as_bytes().contains(&b'\\')
}

/// Values of a JSON value: arrays yield each element then themselves.
fn push_values<'a>(raw: &'a RawValue, out: &mut Vec<Value<'a>>) {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => out.push(json_string(text).map_or(Value::Null, Value::Str)),
        Some(b'{') => out.push(Value::Json(compact_json(text))),
        Some(b'[') => {
            if let Ok(items) = serde_json::from_str::<Vec<&'a RawValue>>(text) {
                for item in items {
                    match item.get().as_bytes().first() {
                        Some(b'[') => out.push(Value::Json(compact_json(item.get()))),
                        _ => push_values(item, out),
                    }
                }
            }
            out.push(Value::Json(compact_json(text)));
        }
        Some(b't') => out.push(Value::Bool(true)),
        Some(b'f') => out.push(Value::Bool(false)),
        Some(b'n') | None => out.push(Value::Null),
        Some(_) => out.push(Value::Num(Cow::Borrowed(text))),
    }
}

/// One event under evaluation, with its field cache.
pub struct EventDoc<'e, 'a> {
    event: &'e Event<'a>,
    paths: &'e FieldPaths,
    parsed_top: OnceCell<Members<'e>>,
    /// Members of nested objects already parsed, by the address of their text.
    nested: RefCell<Vec<(usize, Members<'e>)>>,
    cache: Vec<OnceCell<Vec<Value<'e>>>>,
}

impl<'e, 'a> EventDoc<'e, 'a> {
    pub fn new(event: &'e Event<'a>, paths: &'e FieldPaths) -> Self {
        EventDoc {
            event,
            paths,
            parsed_top: OnceCell::new(),
            nested: RefCell::new(Vec::new()),
            cache: (0..paths.len()).map(|_| OnceCell::new()).collect(),
        }
    }

    pub fn event(&self) -> &'e Event<'a> {
        self.event
    }

    fn top(&self) -> &[(Cow<'e, str>, &'e RawValue)] {
        if !self.event.members.0.is_empty() {
            return &self.event.members.0;
        }
        match &self.event.raw {
            Raw::Json(text) => self.parsed_top.get_or_init(|| members(text)),
            Raw::Fields(_) => &[],
        }
    }

    /// The member `key` of the object `raw` (parsed once per event and object).
    fn member(&self, raw: &'e RawValue, key: &str) -> Option<&'e RawValue> {
        let addr = raw.get().as_ptr() as usize;
        let mut nested = self.nested.borrow_mut();
        let at = match nested.iter().position(|(a, _)| *a == addr) {
            Some(i) => i,
            None => {
                nested.push((addr, members(raw.get())));
                nested.len() - 1
            }
        };
        nested[at].1.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Walks `segments` below `raw`; arrays on the way fan out to their elements.
    fn descend(&self, raw: &'e RawValue, segments: &[String], out: &mut Vec<Value<'e>>) {
        if segments.is_empty() {
            return push_values(raw, out);
        }
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'{') => {
                if let Some(child) = self.member(raw, &segments[0]) {
                    return self.descend(child, &segments[1..], out);
                }
                // A key may itself contain dots (flattened records).
                for take in (2..=segments.len()).rev() {
                    if let Some(child) = self.member(raw, &segments[..take].join(".")) {
                        return self.descend(child, &segments[take..], out);
                    }
                }
            }
            Some(b'[') => {
                if let Ok(items) = serde_json::from_str::<Vec<&'e RawValue>>(text) {
                    for item in items {
                        self.descend(item, segments, out);
                    }
                }
            }
            _ => {}
        }
    }

    fn resolve(&self, id: FieldId) -> Vec<Value<'e>> {
        let mut out = Vec::new();
        let lookup = &self.paths.lookups[id.0 as usize];
        match &self.event.raw {
            Raw::Json(_) => {
                let top = self.top();
                for (key, rest) in &lookup.candidates {
                    if let Some((_, child)) = top.iter().find(|(k, _)| k == key) {
                        self.descend(child, rest, &mut out);
                        break;
                    }
                }
            }
            Raw::Fields(fields) => {
                out.extend(
                    fields
                        .iter()
                        .filter(|(n, _)| *n == lookup.full.as_str())
                        .map(|(_, v)| Value::Str(Cow::Borrowed(v.as_ref()))),
                );
            }
        }
        if out.is_empty() {
            self.normalized_fallback(&lookup.full, &mut out);
        }
        out
    }

    /// Flow records in JSON shapes (camelCase, OCSF) answer to the AWS field names too.
    fn normalized_fallback(&self, name: &str, out: &mut Vec<Value<'e>>) {
        let Some(n) = self.event.network.as_deref() else {
            return;
        };
        let num = |v: Option<String>| v.map(|s| Value::Num(Cow::Owned(s)));
        let text = |v: Option<&str>| v.map(|s| Value::Str(Cow::Owned(s.to_string())));
        let v = match name {
            "srcaddr" => text(n.src_ip.as_deref()),
            "dstaddr" => text(n.dst_ip.as_deref()),
            "srcport" => num(n.src_port.map(|p| p.to_string())),
            "dstport" => num(n.dst_port.map(|p| p.to_string())),
            "protocol" => num(n.protocol.map(|p| p.to_string())),
            "bytes" => num(n.bytes.map(|p| p.to_string())),
            "packets" => num(n.packets.map(|p| p.to_string())),
            "action" => n.action.map(|a| {
                Value::Str(Cow::Borrowed(if a == model::FlowAction::Accept {
                    "ACCEPT"
                } else {
                    "REJECT"
                }))
            }),
            "log-status" => text(n.log_status.as_deref()),
            "flow-direction" => text(n.direction.as_deref()),
            "interface-id" => text(n.interface_id.as_deref()),
            "vpc-id" => text(n.vpc_id.as_deref()),
            "instance-id" => text(n.instance_id.as_deref()),
            "account-id" => text(self.event.account.as_deref()),
            _ => None,
        };
        out.extend(v);
    }
}

impl Document for EventDoc<'_, '_> {
    fn field(&self, id: FieldId) -> &[Value<'_>] {
        match self.cache.get(id.0 as usize) {
            Some(cell) => cell.get_or_init(|| self.resolve(id)),
            None => &[],
        }
    }

    fn text(&self) -> &str {
        match &self.event.raw {
            Raw::Json(text) => text,
            Raw::Fields(_) => "",
        }
    }
}
