//! Rules → a [`RuleSet`] of compiled matchers, ready to evaluate against documents.

use crate::ast::*;
use crate::condition::name_matches;
use crate::document::{Document, Value};
use crate::error::{Pos, RuleError};
use crate::matcher::{NumOp, Pattern, RefOp, modified_pattern, regex_pattern, transform};
use crate::modifier::Modifier;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// An interned field path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// Values for `%placeholder%`s used with the `expand` modifier.
#[derive(Debug, Clone, Default)]
pub struct Placeholders(pub HashMap<String, Vec<String>>);

impl Placeholders {
    /// Reads a YAML mapping of placeholder names to a value or a list of values:
    /// `Legitimate_IP_Ranges: [203.0.113.0/24, 198.51.100.0/24]`.
    pub fn from_yaml(file: &str, text: &str) -> Result<Self, RuleError> {
        let docs = crate::yaml::load_documents(file, text)?;
        let mut p = Placeholders::default();
        for doc in docs {
            for (key, value) in doc.root.iter() {
                let name = key.as_str().trim_matches('%').to_string();
                let values = match value {
                    marked_yaml::Node::Scalar(s) => vec![s.as_str().to_string()],
                    marked_yaml::Node::Sequence(seq) => seq
                        .iter()
                        .map(|n| {
                            n.as_scalar()
                                .map(|s| s.as_str().to_string())
                                .ok_or_else(|| {
                                    crate::yaml::pos_of(n).error(
                                        file,
                                        format!("values of placeholder `{name}` must be scalars"),
                                    )
                                })
                        })
                        .collect::<Result<_, _>>()?,
                    other => {
                        return Err(crate::yaml::pos_of(other).error(
                            file,
                            format!("placeholder `{name}` needs a value or a list of values"),
                        ));
                    }
                };
                p.0.entry(name).or_default().extend(values);
            }
        }
        Ok(p)
    }

    /// Parses `name=value` (repeatable; a name given twice collects both values).
    pub fn add(&mut self, spec: &str) -> Result<(), String> {
        let (name, value) = spec
            .split_once('=')
            .ok_or_else(|| format!("placeholder `{spec}` is not name=value"))?;
        self.0
            .entry(name.trim().trim_matches('%').to_string())
            .or_default()
            .push(value.to_string());
        Ok(())
    }
}

/// What a field test checks.
#[derive(Debug, Clone)]
pub enum Test {
    /// Absent or null.
    Null,
    /// Present with a value that is not null (`true`), or absent or null (`false`).
    Exists(bool),
    /// Any value matches any pattern; `or_null` also accepts absent/null.
    Any {
        patterns: Vec<Pattern>,
        or_null: bool,
    },
    /// Every pattern matches some value.
    All(Vec<Pattern>),
    /// Present, and no value equals any pattern.
    Neq(Vec<Pattern>),
}

#[derive(Debug, Clone)]
pub struct Check {
    pub field: FieldId,
    pub test: Test,
}

impl Check {
    fn eval(&self, doc: &dyn Document) -> bool {
        let values = doc.field(self.field);
        let is_null = values.is_empty() || values.iter().all(|v| *v == Value::Null);
        match &self.test {
            Test::Null => is_null,
            // A JSON null is no value, as for `field: null`.
            Test::Exists(want) => is_null != *want,
            Test::Any { patterns, or_null } => {
                (*or_null && is_null)
                    || values
                        .iter()
                        .any(|v| patterns.iter().any(|p| p.matches(v, doc)))
            }
            Test::All(patterns) => patterns
                .iter()
                .all(|p| values.iter().any(|v| p.matches(v, doc))),
            Test::Neq(patterns) => {
                !is_null
                    && !values
                        .iter()
                        .any(|v| patterns.iter().any(|p| p.matches(v, doc)))
            }
        }
    }
}

/// A compiled search.
#[derive(Debug, Clone)]
pub enum CSearch {
    /// OR of AND-lists.
    Maps(Vec<Vec<Check>>),
    Keywords {
        patterns: Vec<Pattern>,
        all: bool,
    },
}

impl CSearch {
    fn eval(&self, doc: &dyn Document) -> bool {
        match self {
            CSearch::Maps(maps) => maps.iter().any(|m| m.iter().all(|c| c.eval(doc))),
            CSearch::Keywords { patterns, all } => {
                let text = Value::Str(doc.text().into());
                if *all {
                    patterns.iter().all(|p| p.matches(&text, doc))
                } else {
                    patterns.iter().any(|p| p.matches(&text, doc))
                }
            }
        }
    }
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Expr {
    Search(usize),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    AtLeast(usize, Vec<usize>),
}

impl Expr {
    fn eval(&self, searches: &[CSearch], memo: &mut [Option<bool>], doc: &dyn Document) -> bool {
        let search = |i: usize, memo: &mut [Option<bool>]| {
            *memo[i].get_or_insert_with(|| searches[i].eval(doc))
        };
        match self {
            Expr::Search(i) => search(*i, memo),
            Expr::Not(e) => !e.eval(searches, memo, doc),
            Expr::And(v) => v.iter().all(|e| e.eval(searches, memo, doc)),
            Expr::Or(v) => v.iter().any(|e| e.eval(searches, memo, doc)),
            Expr::AtLeast(n, ids) => {
                let mut hits = 0;
                for &i in ids {
                    if search(i, memo) {
                        hits += 1;
                        if hits >= *n {
                            return true;
                        }
                    }
                }
                false
            }
        }
    }
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub meta: Arc<Meta>,
    pub logsource: LogSource,
    pub searches: Vec<CSearch>,
    pub expr: Expr,
    /// Whether matches are reported (false for rules only feeding a correlation).
    pub emit: bool,
    /// Fields the rule can only match with one of these exact (lowercase) values.
    pub required: BTreeMap<FieldId, Vec<String>>,
}

impl CompiledRule {
    /// Evaluates the rule against a document.
    pub fn matches(&self, doc: &dyn Document) -> bool {
        let mut memo_buf = [None; 16];
        let mut heap;
        let memo: &mut [Option<bool>] = if self.searches.len() <= 16 {
            &mut memo_buf[..self.searches.len()]
        } else {
            heap = vec![None; self.searches.len()];
            &mut heap
        };
        self.expr.eval(&self.searches, memo, doc)
    }
}

/// A correlation with its references resolved.
#[derive(Debug, Clone)]
pub struct CompiledCorrelation {
    pub rule: Correlation,
    /// Referenced rules, as indices into [`RuleSet::rules`].
    pub rules: Vec<usize>,
    /// Referenced correlations (chaining), as indices into [`RuleSet::correlations`].
    pub correlations: Vec<usize>,
    /// Per referenced rule (same order as `rules`), the field of each group-by entry.
    pub group_fields: Vec<Vec<FieldId>>,
    /// Per referenced rule, the field whose values are counted / summed.
    pub value_fields: Vec<Option<FieldId>>,
}

/// Everything compiled from a set of rule files.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<CompiledRule>,
    pub correlations: Vec<CompiledCorrelation>,
    fields: Vec<String>,
    index: HashMap<String, FieldId>,
}

impl RuleSet {
    /// Field paths by id.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }
    pub fn field_id(&self, path: &str) -> Option<FieldId> {
        self.index.get(path).copied()
    }
    fn intern(&mut self, path: &str) -> FieldId {
        if let Some(id) = self.index.get(path) {
            return *id;
        }
        let id = FieldId(self.fields.len() as u32);
        self.fields.push(path.to_string());
        self.index.insert(path.to_string(), id);
        id
    }
}

struct Compiler<'p> {
    set: RuleSet,
    placeholders: &'p Placeholders,
    errors: Vec<RuleError>,
}

fn err(meta: &Meta, pos: Pos, msg: impl Into<String>) -> RuleError {
    pos.error(&meta.file, msg)
}

impl Compiler<'_> {
    fn patterns(&mut self, meta: &Meta, t: &FieldTest) -> Result<Vec<Pattern>, RuleError> {
        let has = |m| t.modifiers.contains(&m);
        let cased = has(Modifier::Cased);
        let mut texts = Vec::new();
        for v in &t.values {
            let Some(text) = v.text() else { continue };
            if has(Modifier::Expand) {
                let mut expanded = vec![String::new()];
                let mut rest = text.as_str();
                while let Some(start) = rest.find('%') {
                    let Some(len) = rest[start + 1..].find('%') else {
                        break;
                    };
                    let name = &rest[start + 1..start + 1 + len];
                    let values = self.placeholders.0.get(name).ok_or_else(|| {
                        err(meta, t.pos, format!("placeholder %{name}% has no values (give them with --placeholder {name}=VALUE)"))
                    })?;
                    let prefix = &rest[..start];
                    expanded = expanded
                        .iter()
                        .flat_map(|e| values.iter().map(move |v| format!("{e}{prefix}{v}")))
                        .collect();
                    rest = &rest[start + len + 2..];
                }
                texts.extend(expanded.into_iter().map(|e| format!("{e}{rest}")));
            } else {
                texts.push(text);
            }
        }
        let mut out = Vec::new();
        for text in texts {
            if has(Modifier::FieldRef) {
                let op = if has(Modifier::Contains) {
                    RefOp::Contains
                } else if has(Modifier::StartsWith) {
                    RefOp::StartsWith
                } else if has(Modifier::EndsWith) {
                    RefOp::EndsWith
                } else {
                    RefOp::Eq
                };
                out.push(Pattern::FieldRef {
                    other: self.set.intern(&text),
                    op,
                    cased,
                });
            } else if has(Modifier::Re) {
                out.push(
                    regex_pattern(&text, &t.modifiers).map_err(|e| {
                        err(meta, t.pos, format!("invalid regular expression: {e}"))
                    })?,
                );
            } else if has(Modifier::Cidr) {
                let net = text
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| err(meta, t.pos, format!("`{text}` is not a CIDR network")))?;
                out.push(Pattern::Cidr(net));
            } else if let Some(op) = [
                (Modifier::Gt, NumOp::Gt),
                (Modifier::Gte, NumOp::Gte),
                (Modifier::Lt, NumOp::Lt),
                (Modifier::Lte, NumOp::Lte),
            ]
            .iter()
            .find(|(m, _)| has(*m))
            .map(|(_, op)| *op)
            {
                let n = text
                    .parse::<f64>()
                    .map_err(|_| err(meta, t.pos, format!("`{text}` is not a number")))?;
                out.push(Pattern::Num(op, n));
            } else {
                let before = has(Modifier::Contains) || has(Modifier::EndsWith);
                let after = has(Modifier::Contains) || has(Modifier::StartsWith);
                for s in transform(&text, &t.modifiers) {
                    out.push(modified_pattern(&s, before, after, cased));
                }
            }
        }
        Ok(out)
    }

    fn check(&mut self, meta: &Meta, t: &FieldTest) -> Result<Check, RuleError> {
        let field = self.set.intern(&t.field);
        let has = |m| t.modifiers.contains(&m);
        let test = if has(Modifier::Exists) {
            Test::Exists(matches!(t.values.first(), Some(SValue::Bool(true))))
        } else if has(Modifier::Neq) {
            Test::Neq(self.patterns(meta, t)?)
        } else {
            let or_null = t.values.contains(&SValue::Null);
            let patterns = self.patterns(meta, t)?;
            if patterns.is_empty() && or_null {
                Test::Null
            } else if has(Modifier::All) {
                Test::All(patterns)
            } else {
                Test::Any { patterns, or_null }
            }
        };
        Ok(Check { field, test })
    }

    fn search(&mut self, meta: &Meta, s: &Search) -> Result<CSearch, RuleError> {
        match s {
            Search::Maps(maps) => {
                let mut out = Vec::new();
                for m in maps {
                    let mut checks = Vec::new();
                    for t in m {
                        if t.field.is_empty() {
                            return Err(err(meta, t.pos, "a field test needs a field name"));
                        }
                        checks.push(self.check(meta, t)?);
                    }
                    out.push(checks);
                }
                Ok(CSearch::Maps(out))
            }
            Search::Keywords {
                values,
                modifiers,
                pos,
            } => {
                let t = FieldTest {
                    field: String::new(),
                    modifiers: modifiers.clone(),
                    values: values.clone(),
                    pos: *pos,
                };
                let mut patterns = Vec::new();
                for v in &t.values {
                    let Some(text) = v.text() else { continue };
                    // Keywords match anywhere in the event.
                    let cased = modifiers.contains(&Modifier::Cased);
                    for s in transform(&text, modifiers) {
                        patterns.push(modified_pattern(&s, true, true, cased));
                    }
                }
                if patterns.is_empty() {
                    return Err(err(meta, *pos, "keyword list has no values"));
                }
                Ok(CSearch::Keywords {
                    patterns,
                    all: modifiers.contains(&Modifier::All),
                })
            }
        }
    }

    fn expr(&self, meta: &Meta, c: &Cond, names: &[String], pos: Pos) -> Result<Expr, RuleError> {
        let lookup = |n: &str| {
            names.iter().position(|x| x == n).ok_or_else(|| {
                err(
                    meta,
                    pos,
                    format!("condition refers to unknown search `{n}`"),
                )
            })
        };
        Ok(match c {
            Cond::Search(n) => Expr::Search(lookup(n)?),
            Cond::Not(x) => Expr::Not(Box::new(self.expr(meta, x, names, pos)?)),
            Cond::And(v) => Expr::And(
                v.iter()
                    .map(|x| self.expr(meta, x, names, pos))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Or(v) => Expr::Or(
                v.iter()
                    .map(|x| self.expr(meta, x, names, pos))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Of { quantity, pattern } => {
                let ids: Vec<usize> = names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| match pattern {
                        Some(p) => name_matches(p, n),
                        // `them` excludes searches whose names start with `_`.
                        None => !n.starts_with('_'),
                    })
                    .map(|(i, _)| i)
                    .collect();
                if ids.is_empty() {
                    return Err(err(
                        meta,
                        pos,
                        format!(
                            "`of {}` matches no search",
                            pattern.as_deref().unwrap_or("them")
                        ),
                    ));
                }
                let n = match quantity {
                    Quantity::All => ids.len(),
                    Quantity::AtLeast(n) => *n,
                };
                Expr::AtLeast(n, ids)
            }
        })
    }

    fn detection(
        &mut self,
        meta: &Meta,
        d: &Detection,
        searches: &mut Vec<CSearch>,
        names: &mut Vec<String>,
        prefix: &str,
    ) -> Result<Expr, RuleError> {
        let own_start = names.len();
        for (name, s) in &d.searches {
            searches.push(self.search(meta, s)?);
            names.push(format!("{prefix}{name}"));
        }
        let own: Vec<String> = names[own_start..]
            .iter()
            .map(|n| n[prefix.len()..].to_string())
            .collect();
        let mut exprs = Vec::new();
        for c in &d.conditions {
            let e = self.expr(meta, c, &own, d.condition_pos)?;
            exprs.push(shift(e, own_start));
        }
        Ok(if exprs.len() == 1 {
            exprs.remove(0)
        } else {
            Expr::Or(exprs)
        })
    }
}

fn shift(e: Expr, by: usize) -> Expr {
    match e {
        Expr::Search(i) => Expr::Search(i + by),
        Expr::Not(x) => Expr::Not(Box::new(shift(*x, by))),
        Expr::And(v) => Expr::And(v.into_iter().map(|x| shift(x, by)).collect()),
        Expr::Or(v) => Expr::Or(v.into_iter().map(|x| shift(x, by)).collect()),
        Expr::AtLeast(n, ids) => Expr::AtLeast(n, ids.into_iter().map(|i| i + by).collect()),
    }
}

type Required = BTreeMap<FieldId, Vec<String>>;

/// Exact values a field must have for a search to match, if any.
fn search_required(s: &CSearch) -> Required {
    let map_required = |checks: &Vec<Check>| -> Required {
        let mut out = Required::new();
        for c in checks {
            if let Test::Any {
                patterns,
                or_null: false,
            } = &c.test
            {
                let exact: Option<Vec<String>> = patterns
                    .iter()
                    .map(|p| match p {
                        Pattern::Exact { text, cased: false } => Some(text.clone()),
                        _ => None,
                    })
                    .collect();
                if let Some(values) = exact.filter(|v| !v.is_empty()) {
                    out.insert(c.field, values);
                }
            }
        }
        out
    };
    match s {
        CSearch::Maps(maps) => maps
            .iter()
            .map(map_required)
            .reduce(union_of_alternatives)
            .unwrap_or_default(),
        CSearch::Keywords { .. } => Required::new(),
    }
}

/// Requirements that hold whichever alternative matched: fields required by both, values merged.
fn union_of_alternatives(a: Required, b: Required) -> Required {
    a.into_iter()
        .filter_map(|(f, mut va)| {
            let vb = b.get(&f)?;
            va.extend(vb.iter().cloned());
            va.sort();
            va.dedup();
            Some((f, va))
        })
        .collect()
}

/// Requirements that all hold: fields from either side (intersecting values when both).
fn all_of(a: Required, b: Required) -> Required {
    let mut out = a;
    for (f, vb) in b {
        match out.get_mut(&f) {
            Some(va) => va.retain(|v| vb.contains(v)),
            None => {
                out.insert(f, vb);
            }
        }
    }
    out
}

fn expr_required(e: &Expr, searches: &[CSearch]) -> Required {
    match e {
        Expr::Search(i) => search_required(&searches[*i]),
        Expr::Not(_) => Required::new(),
        Expr::And(v) => v
            .iter()
            .map(|x| expr_required(x, searches))
            .fold(Required::new(), all_of),
        Expr::Or(v) => v
            .iter()
            .map(|x| expr_required(x, searches))
            .reduce(union_of_alternatives)
            .unwrap_or_default(),
        Expr::AtLeast(n, ids) if *n == ids.len() => ids
            .iter()
            .map(|i| search_required(&searches[*i]))
            .fold(Required::new(), all_of),
        Expr::AtLeast(_, ids) => ids
            .iter()
            .map(|i| search_required(&searches[*i]))
            .reduce(union_of_alternatives)
            .unwrap_or_default(),
    }
}

fn refers_to(meta: &Meta, reference: &str) -> bool {
    meta.id.as_deref() == Some(reference) || meta.name.as_deref() == Some(reference)
}

/// Compiles parsed items into a rule set. Filters are applied to the rules they name;
/// correlations are resolved to the rules and correlations they reference. Errors are
/// returned per item; the items that compiled are kept.
pub fn compile(items: &[Item], placeholders: &Placeholders) -> (RuleSet, Vec<RuleError>) {
    let mut c = Compiler {
        set: RuleSet::default(),
        placeholders,
        errors: Vec::new(),
    };
    let filters: Vec<&Filter> = items
        .iter()
        .filter_map(|i| {
            if let Item::Filter(f) = i {
                Some(f)
            } else {
                None
            }
        })
        .collect();
    let mut used_filters = vec![false; filters.len()];
    for item in items {
        let Item::Rule(rule) = item else { continue };
        let mut searches = Vec::new();
        let mut names = Vec::new();
        let result = (|| {
            let mut expr =
                c.detection(&rule.meta, &rule.detection, &mut searches, &mut names, "")?;
            for (fi, f) in filters.iter().enumerate() {
                if f.rules.iter().any(|r| refers_to(&rule.meta, r)) {
                    used_filters[fi] = true;
                    let fe = c.detection(
                        &f.meta,
                        &f.detection,
                        &mut searches,
                        &mut names,
                        &format!("filter{fi}:"),
                    )?;
                    expr = Expr::And(vec![expr, fe]);
                }
            }
            Ok::<Expr, RuleError>(expr)
        })();
        match result {
            Ok(expr) => {
                let required = expr_required(&expr, &searches);
                c.set.rules.push(CompiledRule {
                    meta: Arc::new(rule.meta.clone()),
                    logsource: rule.logsource.clone(),
                    searches,
                    expr,
                    emit: true,
                    required,
                });
            }
            Err(e) => c.errors.push(e),
        }
    }
    for (fi, f) in filters.iter().enumerate() {
        if !used_filters[fi] {
            c.errors.push(err(
                &f.meta,
                Pos {
                    line: f.meta.line,
                    column: 0,
                },
                format!(
                    "filter names rules that were not loaded: {}",
                    f.rules.join(", ")
                ),
            ));
        }
    }
    let correlations: Vec<&Correlation> = items
        .iter()
        .filter_map(|i| {
            if let Item::Correlation(x) = i {
                Some(x)
            } else {
                None
            }
        })
        .collect();
    for corr in &correlations {
        let mut rules = Vec::new();
        let mut chained = Vec::new();
        let mut missing = Vec::new();
        for r in &corr.rules {
            if let Some(i) = c.set.rules.iter().position(|x| refers_to(&x.meta, r)) {
                rules.push(i);
            } else if let Some(i) = correlations.iter().position(|x| refers_to(&x.meta, r)) {
                chained.push(i);
            } else {
                missing.push(r.clone());
            }
        }
        if !missing.is_empty() {
            c.errors.push(err(
                &corr.meta,
                Pos {
                    line: corr.meta.line,
                    column: 0,
                },
                format!(
                    "correlation references unknown rules: {}",
                    missing.join(", ")
                ),
            ));
            continue;
        }
        let field_for = |c: &mut Compiler<'_>, rule: usize, name: &str| -> FieldId {
            let rule_meta = c.set.rules[rule].meta.clone();
            let path = corr
                .aliases
                .iter()
                .find(|(alias, _)| alias == name)
                .and_then(|(_, per_rule)| {
                    per_rule
                        .iter()
                        .find(|(r, _)| refers_to(&rule_meta, r))
                        .map(|(_, f)| f.clone())
                })
                .unwrap_or_else(|| name.to_string());
            c.set.intern(&path)
        };
        let group_fields = rules
            .iter()
            .map(|&r| {
                corr.group_by
                    .iter()
                    .map(|g| field_for(&mut c, r, g))
                    .collect()
            })
            .collect();
        let value_fields = rules
            .iter()
            .map(|&r| corr.field.as_deref().map(|f| field_for(&mut c, r, f)))
            .collect();
        if !corr.generate {
            for &r in &rules {
                c.set.rules[r].emit = false;
            }
        }
        c.set.correlations.push(CompiledCorrelation {
            rule: (*corr).clone(),
            rules,
            correlations: chained,
            group_fields,
            value_fields,
        });
    }
    (c.set, c.errors)
}
