//! A normalized [`Event`] seen as a Sigma [`Document`]: fields resolve lazily against the
//! original record, once per event.

use model::event::compact_json;
use model::{Event, Raw};
use serde_json::value::RawValue;
use sigma::{Document, FieldId, Value};
use std::borrow::Cow;
use std::cell::OnceCell;

type Members<'a> = Vec<(Cow<'a, str>, &'a RawValue)>;

/// Field paths split into segments, by [`FieldId`].
#[derive(Debug, Clone, Default)]
pub struct FieldPaths {
    pub full: Vec<String>,
    pub segments: Vec<Vec<String>>,
}

impl FieldPaths {
    pub fn new(fields: &[String]) -> Self {
        FieldPaths {
            full: fields.to_vec(),
            segments: fields
                .iter()
                .map(|f| f.split('.').map(str::to_string).collect())
                .collect(),
        }
    }
}

/// One event under evaluation, with its field cache.
pub struct EventDoc<'e, 'a> {
    event: &'e Event<'a>,
    paths: &'e FieldPaths,
    top: OnceCell<Members<'e>>,
    cache: Vec<OnceCell<Vec<Value<'e>>>>,
}

/// An object's members in order, values left unparsed.
struct MembersOf<'a>(Members<'a>);

impl<'de> serde::Deserialize<'de> for MembersOf<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
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
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
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

/// Values of a JSON value: arrays yield each element then themselves.
fn push_values<'a>(raw: &'a RawValue, out: &mut Vec<Value<'a>>) {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => out.push(match serde_json::from_str::<Cow<'a, str>>(text) {
            Ok(s) => Value::Str(s),
            Err(_) => Value::Null,
        }),
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

/// Walks `segments` below `raw`; arrays on the way fan out to their elements.
fn descend<'a>(raw: &'a RawValue, segments: &[String], out: &mut Vec<Value<'a>>) {
    if segments.is_empty() {
        return push_values(raw, out);
    }
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'{') => {
            let m = members(text);
            // A key may itself contain dots (flattened records): try the longest match first.
            for take in (1..=segments.len()).rev() {
                let key = segments[..take].join(".");
                if let Some((_, child)) = m.iter().find(|(k, _)| *k == key) {
                    return descend(child, &segments[take..], out);
                }
            }
        }
        Some(b'[') => {
            if let Ok(items) = serde_json::from_str::<Vec<&'a RawValue>>(text) {
                for item in items {
                    descend(item, segments, out);
                }
            }
        }
        _ => {}
    }
}

impl<'e, 'a> EventDoc<'e, 'a> {
    pub fn new(event: &'e Event<'a>, paths: &'e FieldPaths) -> Self {
        EventDoc {
            event,
            paths,
            top: OnceCell::new(),
            cache: (0..paths.full.len()).map(|_| OnceCell::new()).collect(),
        }
    }

    pub fn event(&self) -> &'e Event<'a> {
        self.event
    }

    fn resolve(&self, id: FieldId) -> Vec<Value<'e>> {
        let mut out = Vec::new();
        let i = id.0 as usize;
        match &self.event.raw {
            Raw::Json(text) => {
                let top = self.top.get_or_init(|| members(text));
                let segments = &self.paths.segments[i];
                for take in (1..=segments.len()).rev() {
                    let key = segments[..take].join(".");
                    if let Some((_, child)) = top.iter().find(|(k, _)| *k == key) {
                        descend(child, &segments[take..], &mut out);
                        break;
                    }
                }
            }
            Raw::Fields(fields) => {
                let name = &self.paths.full[i];
                out.extend(
                    fields
                        .iter()
                        .filter(|(n, _)| *n == name.as_str())
                        .map(|(_, v)| Value::Str(Cow::Borrowed(v.as_ref()))),
                );
            }
        }
        if out.is_empty() {
            self.normalized_fallback(&self.paths.full[i], &mut out);
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
