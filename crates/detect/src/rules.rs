//! Rule sources: the bundled rules and any the user gives, parsed and compiled together.

use sigma::compile::{Placeholders, RuleSet, compile};
use sigma::{Item, RuleError, parse_file};
use std::collections::HashMap;

include!(concat!(env!("OUT_DIR"), "/bundled_rules.rs"));

/// Parsed rule sources.
#[derive(Debug, Default)]
pub struct Loaded {
    pub items: Vec<Item>,
    pub errors: Vec<RuleError>,
    pub files: usize,
}

/// Parses `(file name, text)` sources. Rule ids must be unique across all of them.
pub fn parse_sources<'s>(sources: impl IntoIterator<Item = (&'s str, &'s str)>) -> Loaded {
    let mut loaded = Loaded::default();
    let mut ids: HashMap<String, (String, usize)> = HashMap::new();
    for (name, text) in sources {
        loaded.files += 1;
        let (items, errors) = parse_file(name, text);
        loaded.errors.extend(errors);
        for item in items {
            let meta = item.meta();
            if let Some(id) = &meta.id {
                if let Some((file, line)) = ids.get(id) {
                    loaded.errors.push(RuleError {
                        file: meta.file.clone(),
                        line: meta.line,
                        column: 0,
                        message: format!("duplicate rule id {id} (first in {file}:{line})"),
                    });
                    continue;
                }
                ids.insert(id.clone(), (meta.file.clone(), meta.line));
            }
            loaded.items.push(item);
        }
    }
    loaded
}

/// The user's placeholders plus the ones bundled rules rely on: `%aws_ip_ranges%` always
/// holds the private ranges, and AWS's published prefixes when the user gave them.
pub fn with_defaults(placeholders: &Placeholders) -> Placeholders {
    let mut p = placeholders.clone();
    p.0.entry(crate::aws_ranges::PLACEHOLDER.to_string())
        .or_default()
        .extend(crate::aws_ranges::PRIVATE_RANGES.map(String::from));
    p
}

/// Parses and compiles sources into one rule set; errors list every rule that did not load.
pub fn build<'s>(
    sources: impl IntoIterator<Item = (&'s str, &'s str)>,
    placeholders: &Placeholders,
) -> (RuleSet, Vec<RuleError>, usize) {
    let loaded = parse_sources(sources);
    let (set, mut errors) = compile(&loaded.items, &with_defaults(placeholders));
    let mut all = loaded.errors;
    all.append(&mut errors);
    (set, all, loaded.files)
}
