//! Parsed Sigma documents, before compilation.

use crate::error::Pos;
use crate::modifier::Modifier;

/// Rule severity (`level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    #[default]
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "informational" => Self::Informational,
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "critical" => Self::Critical,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Informational => "informational",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// Where a rule applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSource {
    pub product: Option<String>,
    pub service: Option<String>,
    pub category: Option<String>,
}

/// A value in a detection, as YAML typed it.
#[derive(Debug, Clone, PartialEq)]
pub enum SValue {
    /// A string, with Sigma wildcards (`*`, `?`, `\` escapes) still in it.
    Str(String),
    /// An unquoted number, as written.
    Num(String),
    Bool(bool),
    Null,
}

impl SValue {
    /// The value as text for matching (`null` has none).
    pub fn text(&self) -> Option<String> {
        match self {
            SValue::Str(s) | SValue::Num(s) => Some(s.clone()),
            SValue::Bool(b) => Some(b.to_string()),
            SValue::Null => None,
        }
    }
}

/// One `field|modifiers: values` entry of a detection map.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldTest {
    pub field: String,
    pub modifiers: Vec<Modifier>,
    pub values: Vec<SValue>,
    pub pos: Pos,
}

/// A named search in `detection`.
#[derive(Debug, Clone, PartialEq)]
pub enum Search {
    /// Maps OR'ed together; within a map, field tests are AND'ed.
    Maps(Vec<Vec<FieldTest>>),
    /// Keywords searched anywhere in the event; OR'ed unless `all`.
    Keywords {
        values: Vec<SValue>,
        modifiers: Vec<Modifier>,
        pos: Pos,
    },
}

/// How many searches an `of` expression needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    All,
    AtLeast(usize),
}

/// A parsed condition expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Search(String),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    /// `1 of selection_*`, `all of them`: `pattern` is `None` for `them`.
    Of {
        quantity: Quantity,
        pattern: Option<String>,
    },
}

/// `detection`.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub searches: Vec<(String, Search)>,
    /// Several conditions are OR'ed.
    pub conditions: Vec<Cond>,
    pub condition_pos: Pos,
}

/// Metadata shared by every kind of Sigma document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    pub id: Option<String>,
    pub name: Option<String>,
    pub title: String,
    pub status: Option<String>,
    pub description: Option<String>,
    pub level: Level,
    pub tags: Vec<String>,
    pub falsepositives: Vec<String>,
    pub references: Vec<String>,
    pub author: Option<String>,
    pub file: String,
    /// Line where the document starts.
    pub line: usize,
}

/// A detection rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub meta: Meta,
    pub logsource: LogSource,
    pub detection: Detection,
}

/// Correlation rule types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationKind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
}

impl CorrelationKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::EventCount => "event_count",
            Self::ValueCount => "value_count",
            Self::Temporal => "temporal",
            Self::TemporalOrdered => "temporal_ordered",
            Self::ValueSum => "value_sum",
            Self::ValueAvg => "value_avg",
            Self::ValuePercentile => "value_percentile",
        }
    }
}

/// Comparison in a correlation `condition`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compare {
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    Eq(f64),
    Neq(f64),
}

impl Compare {
    /// Whether the comparison caps the value from above (`lt`, `lte`, `eq`).
    pub fn is_upper_bound(self) -> bool {
        matches!(self, Compare::Lt(_) | Compare::Lte(_) | Compare::Eq(_))
    }

    pub fn holds(self, v: f64) -> bool {
        match self {
            Compare::Gt(x) => v > x,
            Compare::Gte(x) => v >= x,
            Compare::Lt(x) => v < x,
            Compare::Lte(x) => v <= x,
            Compare::Eq(x) => v == x,
            Compare::Neq(x) => v != x,
        }
    }
}

/// A correlation rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub meta: Meta,
    pub kind: CorrelationKind,
    /// Referenced rules, by id or name.
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    pub timespan_ms: i64,
    /// All comparisons must hold; empty for temporal types means "all rules seen".
    pub condition: Vec<Compare>,
    /// Field for value_count / value_sum / value_avg / value_percentile.
    pub field: Option<String>,
    /// Percentile (0–100) for value_percentile.
    pub percentile: Option<f64>,
    /// `aliases`: alias → (rule → field).
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    /// Whether referenced rules still raise their own alerts.
    pub generate: bool,
}

/// A Sigma filter: narrows other rules by AND-ing its condition onto theirs.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub meta: Meta,
    pub logsource: LogSource,
    pub rules: Vec<String>,
    pub detection: Detection,
}

/// One YAML document of a rule file.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Rule(Rule),
    Correlation(Correlation),
    Filter(Filter),
}

impl Item {
    pub fn meta(&self) -> &Meta {
        match self {
            Item::Rule(r) => &r.meta,
            Item::Correlation(c) => &c.meta,
            Item::Filter(f) => &f.meta,
        }
    }
}
