//! The review's narrative: what responders write, field by field, and keep with the case.

use serde::Serialize;
use std::fmt;

/// A narrative field of the post-incident review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub enum Field {
    /// What happened, in a paragraph, for someone who was not there.
    Summary,
    /// Who and what was affected, beyond the figures (customers, data, money).
    Impact,
    ContributingFactors,
    FiveWhys,
    WentWell,
    WentBadly,
    Lucky,
    Lessons,
    /// The answer to the plan's question bank entry N (1-based).
    Answer(u32),
    // Facts a communication may need that only people know.
    /// What kind of breach (for a regulator: the nature of the personal data breach).
    NatureOfBreach,
    /// Categories and approximate number of data subjects concerned.
    DataSubjects,
    /// Categories and approximate number of personal data records concerned.
    DataCategories,
    LikelyConsequences,
    /// Measures taken or proposed to address the breach and mitigate its effects.
    Measures,
    /// What customers should do.
    CustomerActions,
}

impl Field {
    /// The fields with fixed names, in the order a review shows them.
    pub const NAMED: [Field; 14] = [
        Field::Summary,
        Field::Impact,
        Field::ContributingFactors,
        Field::FiveWhys,
        Field::WentWell,
        Field::WentBadly,
        Field::Lucky,
        Field::Lessons,
        Field::NatureOfBreach,
        Field::DataSubjects,
        Field::DataCategories,
        Field::LikelyConsequences,
        Field::Measures,
        Field::CustomerActions,
    ];

    /// The fields a review must have before it can be finished.
    pub const REQUIRED_TO_FINISH: [Field; 4] = [
        Field::Summary,
        Field::ContributingFactors,
        Field::WentWell,
        Field::WentBadly,
    ];

    pub fn name(self) -> String {
        match self {
            Field::Answer(n) => format!("answer-{n}"),
            f => f.fixed_name().to_string(),
        }
    }

    fn fixed_name(self) -> &'static str {
        match self {
            Field::Summary => "summary",
            Field::Impact => "impact",
            Field::ContributingFactors => "contributing-factors",
            Field::FiveWhys => "five-whys",
            Field::WentWell => "went-well",
            Field::WentBadly => "went-badly",
            Field::Lucky => "lucky",
            Field::Lessons => "lessons",
            Field::NatureOfBreach => "nature-of-breach",
            Field::DataSubjects => "data-subjects",
            Field::DataCategories => "data-categories",
            Field::LikelyConsequences => "likely-consequences",
            Field::Measures => "measures",
            Field::CustomerActions => "customer-actions",
            Field::Answer(_) => "answer",
        }
    }

    /// A heading for people.
    pub fn title(self) -> String {
        match self {
            Field::Summary => "Summary".into(),
            Field::Impact => "Impact in words".into(),
            Field::ContributingFactors => "Contributing factors".into(),
            Field::FiveWhys => "Five whys".into(),
            Field::WentWell => "What went well".into(),
            Field::WentBadly => "What went badly".into(),
            Field::Lucky => "Where we got lucky".into(),
            Field::Lessons => "Lessons".into(),
            Field::Answer(n) => format!("Answer {n}"),
            Field::NatureOfBreach => "Nature of the breach".into(),
            Field::DataSubjects => "Data subjects concerned".into(),
            Field::DataCategories => "Data categories and records concerned".into(),
            Field::LikelyConsequences => "Likely consequences".into(),
            Field::Measures => "Measures taken or proposed".into(),
            Field::CustomerActions => "What customers should do".into(),
        }
    }

    pub fn parse(s: &str) -> Option<Field> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        if let Some(n) = s.strip_prefix("answer-") {
            return n.parse().ok().filter(|n| *n > 0).map(Field::Answer);
        }
        Field::NAMED.into_iter().find(|f| f.fixed_name() == s)
    }

    /// Every name `parse` takes, for error messages.
    pub fn names() -> String {
        let mut v: Vec<String> = Field::NAMED.iter().map(|f| f.name()).collect();
        v.push("answer-N".into());
        v.join(", ")
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl From<Field> for String {
    fn from(f: Field) -> String {
        f.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Field::NAMED {
            assert_eq!(Field::parse(&f.name()), Some(f));
        }
        assert_eq!(Field::parse("answer-3"), Some(Field::Answer(3)));
        assert_eq!(Field::parse("answer-0"), None);
        assert_eq!(Field::parse("five_whys"), Some(Field::FiveWhys));
        assert_eq!(Field::parse("nonsense"), None);
    }
}
