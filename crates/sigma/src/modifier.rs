//! Value modifiers (`field|contains|all`).

use std::str::FromStr;

/// A Sigma value modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Re,
    /// Regex flag `i` (case-insensitive), after `re`.
    ReI,
    /// Regex flag `m` (multi-line), after `re`.
    ReM,
    /// Regex flag `s` (dot matches newline), after `re`.
    ReS,
    Cidr,
    Base64,
    Base64Offset,
    Utf16Le,
    Utf16Be,
    Wide,
    Utf16,
    Windash,
    Exists,
    Cased,
    FieldRef,
    Expand,
    Gt,
    Gte,
    Lt,
    Lte,
    Neq,
}

impl FromStr for Modifier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "contains" => Self::Contains,
            "startswith" => Self::StartsWith,
            "endswith" => Self::EndsWith,
            "all" => Self::All,
            "re" => Self::Re,
            "i" => Self::ReI,
            "m" => Self::ReM,
            "s" => Self::ReS,
            "cidr" => Self::Cidr,
            "base64" => Self::Base64,
            "base64offset" => Self::Base64Offset,
            "utf16le" => Self::Utf16Le,
            "utf16be" => Self::Utf16Be,
            "wide" => Self::Wide,
            "utf16" => Self::Utf16,
            "windash" => Self::Windash,
            "exists" => Self::Exists,
            "cased" => Self::Cased,
            "fieldref" => Self::FieldRef,
            "expand" => Self::Expand,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "neq" => Self::Neq,
            other => return Err(format!("unknown modifier `{other}`")),
        })
    }
}
