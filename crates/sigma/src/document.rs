//! What rules are evaluated against.

use crate::compile::FieldId;
use std::borrow::Cow;

/// A value found in an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// A number, as written.
    Num(Cow<'a, str>),
    Str(Cow<'a, str>),
    /// An object or array, as compact JSON text.
    Json(Cow<'a, str>),
}

impl Value<'_> {
    /// The text string modifiers and equality see; `None` for null.
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Null => None,
            Value::Bool(true) => Some("true"),
            Value::Bool(false) => Some("false"),
            Value::Num(s) | Value::Str(s) | Value::Json(s) => Some(s),
        }
    }
}

/// An event as rules see it. Implementations resolve a [`FieldId`] to the values at that
/// field path: nothing when absent, `[Null]` when null, and for an array each element
/// followed by the array itself as [`Value::Json`].
pub trait Document {
    fn field(&self, id: FieldId) -> &[Value<'_>];
    /// The whole event as text, for keyword searches.
    fn text(&self) -> &str;
}
