//! Deadlines as regulators and review policies write them: calendar time (`72h`, `30d`),
//! business days (`4bd`), or calendar months (`1mo`), counted from a moment.

use crate::located::{Date, Interval};
use model::time::{civil_from_days, days_from_civil, days_in_month};
use serde::de::{self, Deserialize, Deserializer};
use std::fmt;

const DAY_MS: i64 = 86_400_000;

/// How long after its start a deadline falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Span {
    /// Wall-clock time (`72h`, `24h`, `30d`): weekends and holidays count.
    Calendar(Interval),
    /// Business days (`4bd`): Monday to Friday, UTC, without the plan's holidays.
    BusinessDays(u32),
    /// Calendar months (`1mo`): the same day of a later month, or its last day.
    Months(u32),
}

impl Span {
    pub fn parse(s: &str) -> Option<Span> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit())?;
        let (n, unit) = s.split_at(split);
        match unit.trim() {
            "bd" => n.parse().ok().map(Span::BusinessDays),
            "mo" => n.parse().ok().map(Span::Months),
            _ => Interval::parse(s).map(Span::Calendar),
        }
    }

    /// The moment this span after `start_ms` ends.
    ///
    /// Business days keep the time of day: Friday 10:00 plus one business day is Monday
    /// 10:00. A start on a weekend or holiday counts from midnight of the next business
    /// day, so Saturday plus one business day is the end of Monday (Tuesday 00:00).
    pub fn after(self, start_ms: i64, holidays: &[Date]) -> i64 {
        match self {
            Span::Calendar(i) => start_ms + i.0,
            Span::Months(n) => {
                let day = start_ms.div_euclid(DAY_MS);
                let time = start_ms.rem_euclid(DAY_MS);
                let (y, m, d) = civil_from_days(day);
                let months = y * 12 + (m - 1) + i64::from(n);
                let (y, m) = (months.div_euclid(12), months.rem_euclid(12) + 1);
                days_from_civil(y, m, d.min(days_in_month(y, m))) * DAY_MS + time
            }
            Span::BusinessDays(n) => {
                let business = |day: i64| is_business_day(Date(day), holidays);
                let mut day = start_ms.div_euclid(DAY_MS);
                let mut time = start_ms.rem_euclid(DAY_MS);
                if !business(day) {
                    while !business(day) {
                        day += 1;
                    }
                    time = 0;
                }
                let mut left = n;
                while left > 0 {
                    day += 1;
                    if business(day) {
                        left -= 1;
                    }
                }
                day * DAY_MS + time
            }
        }
    }
}

/// Monday to Friday (UTC) and not one of `holidays`.
pub fn is_business_day(date: Date, holidays: &[Date]) -> bool {
    // 1970-01-01 was a Thursday: day 0 → weekday 4 (Monday = 1 … Sunday = 7).
    let weekday = (date.0 + 3).rem_euclid(7) + 1;
    weekday <= 5 && !holidays.contains(&date)
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Span::Calendar(i) => write!(f, "{i}"),
            Span::BusinessDays(n) => write!(f, "{n}bd"),
            Span::Months(n) => write!(f, "{n}mo"),
        }
    }
}

impl Span {
    /// `72 hours`, `4 business days`, `1 month`.
    pub fn words(&self) -> String {
        let plural = |n: i64, one: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {one}s")
            }
        };
        match *self {
            Span::BusinessDays(n) => plural(i64::from(n), "business day"),
            Span::Months(n) => plural(i64::from(n), "month"),
            Span::Calendar(i) if i.0 % 3_600_000 == 0 && i.0 < 7 * DAY_MS => {
                plural(i.0 / 3_600_000, "hour")
            }
            Span::Calendar(i) if i.0 % DAY_MS == 0 => plural(i.0 / DAY_MS, "day"),
            Span::Calendar(i) => plural(i.0 / 60_000, "minute"),
        }
    }
}

impl serde::Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Span::parse(&s).ok_or_else(|| {
            de::Error::custom(format!(
                "`{s}` is not a deadline: write a number and a unit (24h, 30d, 4bd for business days, 1mo for months)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::time::parse_timestamp;

    fn at(s: &str) -> i64 {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn spans_parse_and_print() {
        for s in ["1d", "90m", "4bd", "1mo", "30d"] {
            assert_eq!(Span::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Span::parse("72h").unwrap().to_string(), "3d");
        assert_eq!(Span::parse("4bd").unwrap().words(), "4 business days");
        assert_eq!(Span::parse("72h").unwrap().words(), "72 hours");
        assert_eq!(Span::parse("24h").unwrap().words(), "24 hours");
        assert!(Span::parse("4 weeks").is_none());
        assert!(Span::parse("bd").is_none());
    }

    #[test]
    fn calendar_time_counts_weekends() {
        // Friday 2026-12-04 10:00 + 72h = Monday 10:00.
        let due = Span::parse("72h")
            .unwrap()
            .after(at("2026-12-04T10:00:00Z"), &[]);
        assert_eq!(due, at("2026-12-07T10:00:00Z"));
    }

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let bd = |n| Span::BusinessDays(n);
        // Thursday 2026-12-03 15:00 + 4bd = Wednesday 2026-12-09 15:00 (over the weekend).
        assert_eq!(
            bd(4).after(at("2026-12-03T15:00:00Z"), &[]),
            at("2026-12-09T15:00:00Z")
        );
        // Friday + 1bd = Monday, same time.
        assert_eq!(
            bd(1).after(at("2026-12-04T10:00:00Z"), &[]),
            at("2026-12-07T10:00:00Z")
        );
        // Saturday counts from Monday 00:00: + 1bd = Tuesday 00:00.
        assert_eq!(
            bd(1).after(at("2026-12-05T10:00:00Z"), &[]),
            at("2026-12-08T00:00:00Z")
        );
        // Christmas (Friday) and the Monday after as holidays: Thursday 24th + 1bd = Tuesday 29th.
        let holidays = [
            Date::parse("2026-12-25").unwrap(),
            Date::parse("2026-12-28").unwrap(),
        ];
        assert_eq!(
            bd(1).after(at("2026-12-24T09:00:00Z"), &holidays),
            at("2026-12-29T09:00:00Z")
        );
        assert_eq!(
            bd(0).after(at("2026-12-04T10:00:00Z"), &[]),
            at("2026-12-04T10:00:00Z")
        );
    }

    #[test]
    fn months_keep_the_day_or_take_the_last() {
        let mo = Span::Months(1);
        assert_eq!(
            mo.after(at("2026-01-31T08:00:00Z"), &[]),
            at("2026-02-28T08:00:00Z")
        );
        assert_eq!(
            mo.after(at("2026-12-15T08:00:00Z"), &[]),
            at("2027-01-15T08:00:00Z")
        );
    }
}
