//! Sigma 2 detection rules: parsing (with `file:line:column` errors), validation,
//! compilation into field-indexed matchers, and evaluation against any [`Document`].
//!
//! Covers detection maps and lists, keywords, every value modifier of the specification,
//! `null`, conditions (`and`/`or`/`not`, parentheses, `1 of`/`all of`/`N of`, `them`,
//! wildcards in selection names), logsources, Sigma filters and correlation rules.
//! Semantics: plain equality is case-insensitive; `field: null` matches an absent or null
//! field; string modifiers on an object or array match its compact JSON text; a list field
//! matches when any element matches; `fieldref` compares two fields.

pub mod ast;
pub mod compile;
mod condition;
pub mod document;
mod error;
pub mod matcher;
mod modifier;
mod parse;
mod yaml;

pub use ast::{Correlation, CorrelationKind, Filter, Item, Level, LogSource, Rule};
pub use compile::{CompiledRule, FieldId, Placeholders, RuleSet, compile};
pub use document::{Document, Value};
pub use error::RuleError;
pub use modifier::Modifier;
pub use parse::parse_file;
