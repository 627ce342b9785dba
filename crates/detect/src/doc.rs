//! A normalized [`Event`] seen as a Sigma [`Document`]: fields resolve lazily against the
//! original record, once per event. Top-level members come from the reader when it kept
//! them, so a record is not parsed again; nested objects are walked with the fast scanner
//! of `model::scan` (the reader already validated the record) and scanned once per event.

use model::event::compact_json;
use model::{Event, Raw};
use sigma::{Document, FieldId, Value};
use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};

type Members<'a> = Vec<(Cow<'a, str>, &'a str)>;

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

/// Values of a JSON value: arrays yield each element then themselves.
fn push_values<'a>(text: &'a str, out: &mut Vec<Value<'a>>) {
    match text.as_bytes().first() {
        Some(b'"') => out.push(model::scan::string(text).map_or(Value::Null, Value::Str)),
        Some(b'{') => out.push(Value::Json(compact_json(text))),
        Some(b'[') => {
            for item in model::scan::items(text) {
                match item.as_bytes().first() {
                    Some(b'[') => out.push(Value::Json(compact_json(item))),
                    _ => push_values(item, out),
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
    top: OnceCell<Members<'e>>,
    /// Members of nested objects already scanned, by the address of their text.
    nested: RefCell<Vec<(usize, Members<'e>)>>,
    cache: Vec<OnceCell<Vec<Value<'e>>>>,
}

impl<'e, 'a> EventDoc<'e, 'a> {
    pub fn new(event: &'e Event<'a>, paths: &'e FieldPaths) -> Self {
        EventDoc {
            event,
            paths,
            top: OnceCell::new(),
            nested: RefCell::new(Vec::new()),
            cache: (0..paths.len()).map(|_| OnceCell::new()).collect(),
        }
    }

    pub fn event(&self) -> &'e Event<'a> {
        self.event
    }

    fn top(&self) -> &[(Cow<'e, str>, &'e str)] {
        self.top.get_or_init(|| {
            if !self.event.members.0.is_empty() {
                return self
                    .event
                    .members
                    .0
                    .iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_ref()), v.get()))
                    .collect();
            }
            match &self.event.raw {
                Raw::Json(text) => model::scan::members(text),
                Raw::Fields(_) => Vec::new(),
            }
        })
    }

    /// The member `key` of the object `raw` (scanned once per event and object).
    fn member(&self, raw: &'e str, key: &str) -> Option<&'e str> {
        let addr = raw.as_ptr() as usize;
        let mut nested = self.nested.borrow_mut();
        let at = match nested.iter().position(|(a, _)| *a == addr) {
            Some(i) => i,
            None => {
                nested.push((addr, model::scan::members(raw)));
                nested.len() - 1
            }
        };
        nested[at].1.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Walks `segments` below `text`; arrays on the way fan out to their elements.
    fn descend(&self, text: &'e str, segments: &[String], out: &mut Vec<Value<'e>>) {
        if segments.is_empty() {
            return push_values(text, out);
        }
        match text.as_bytes().first() {
            Some(b'{') => {
                if let Some(child) = self.member(text, &segments[0]) {
                    return self.descend(child, &segments[1..], out);
                }
                // A key may itself contain dots (flattened records).
                for take in (2..=segments.len()).rev() {
                    if let Some(child) = self.member(text, &segments[..take].join(".")) {
                        return self.descend(child, &segments[take..], out);
                    }
                }
            }
            Some(b'[') => {
                for item in model::scan::items(text) {
                    self.descend(item, segments, out);
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
