//! Values that remember the line they were written on, in TOML or YAML, plus the plan's
//! scalar types (dates, intervals) parsed from their written form.

use model::time::{civil_from_days, days_from_civil, days_in_month};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::cell::RefCell;
use std::fmt;

/// The format a plan is parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
}

impl Format {
    /// From a file name: `.yaml`/`.yml` is YAML, anything else TOML.
    pub fn from_path(path: &str) -> Format {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Yaml
        } else {
            Format::Toml
        }
    }
}

/// What `Located` needs while a document is deserialized: which parser runs, and (for
/// TOML, whose spans are byte offsets) where each line starts.
struct Source {
    format: Format,
    line_starts: Vec<usize>,
}

thread_local! {
    static SOURCE: RefCell<Option<Source>> = const { RefCell::new(None) };
}

/// Runs `f` with `text` registered as the document being parsed, so `Located` values
/// pick up their lines. The registration ends with `f`, even if it panics.
pub(crate) fn with_source<T>(text: &str, format: Format, f: impl FnOnce() -> T) -> T {
    struct Registered;
    impl Drop for Registered {
        fn drop(&mut self) {
            SOURCE.with(|s| *s.borrow_mut() = None);
        }
    }
    let line_starts = std::iter::once(0).chain(line_breaks(text)).collect();
    SOURCE.with(|s| {
        *s.borrow_mut() = Some(Source {
            format,
            line_starts,
        })
    });
    let _registered = Registered;
    f()
}

fn line_breaks(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i + 1)
}

/// The 1-based line of byte `offset` in the document being parsed (0 outside
/// [`with_source`]).
pub(crate) fn line_at(offset: usize) -> u32 {
    SOURCE.with(|s| {
        s.borrow().as_ref().map_or(0, |s| {
            s.line_starts.partition_point(|&ls| ls <= offset) as u32
        })
    })
}

/// A value and the 1-based line it was written on (0 when unknown: built in code).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Located<T> {
    pub value: T,
    pub line: u32,
}

impl<T> Located<T> {
    /// A value with no source line.
    pub fn new(value: T) -> Self {
        Located { value, line: 0 }
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Display> fmt::Display for Located<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: serde::Serialize> serde::Serialize for Located<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let format = SOURCE.with(|s| s.borrow().as_ref().map(|s| s.format));
        match format {
            Some(Format::Toml) => {
                let spanned = toml::Spanned::<T>::deserialize(d)?;
                let line = line_at(spanned.span().start);
                Ok(Located {
                    value: spanned.into_inner(),
                    line,
                })
            }
            Some(Format::Yaml) => {
                let spanned = serde_saphyr::Spanned::<T>::deserialize(d)?;
                Ok(Located {
                    line: spanned.referenced.line() as u32,
                    value: spanned.value,
                })
            }
            None => T::deserialize(d).map(Located::new),
        }
    }
}

/// A calendar date (`2026-09-30`), as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i64);

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let s = s.trim();
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let y: i64 = s[0..4].parse().ok()?;
        let m: i64 = s[5..7].parse().ok()?;
        let d: i64 = s[8..10].parse().ok()?;
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        Some(Date(days_from_civil(y, m, d)))
    }

    /// The date `ms` (Unix milliseconds, UTC) falls on.
    pub fn from_unix_ms(ms: i64) -> Date {
        Date(ms.div_euclid(86_400_000))
    }

    /// Midnight UTC of this date, in Unix milliseconds.
    pub fn unix_ms(self) -> i64 {
        self.0 * 86_400_000
    }

    pub fn add_days(self, days: i64) -> Date {
        Date(self.0 + days)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.0);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Date;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date as YYYY-MM-DD")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Date, E> {
                Date::parse(s).ok_or_else(|| E::custom(format!("`{s}` is not a date (YYYY-MM-DD)")))
            }
            // A TOML date literal (`2026-09-30` unquoted) arrives as a one-entry map.
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Date, A::Error> {
                let (_, text): (String, String) = map
                    .next_entry()?
                    .ok_or_else(|| de::Error::custom("empty date"))?;
                self.visit_str(&text)
            }
        }
        d.deserialize_any(V)
    }
}

/// A length of time written `30s`, `15m`, `4h`, `2d` or `1w`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval(pub i64);

impl Interval {
    pub fn parse(s: &str) -> Option<Interval> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit())?;
        let (n, unit) = s.split_at(split);
        let n: i64 = n.parse().ok()?;
        let unit_ms = match unit.trim() {
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            _ => return None,
        };
        n.checked_mul(unit_ms).map(Interval)
    }

    pub fn days(self) -> i64 {
        self.0 / 86_400_000
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        for (unit, len) in [
            ("w", 7 * 86_400_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
        ] {
            if ms != 0 && ms % len == 0 {
                return write!(f, "{}{unit}", ms / len);
            }
        }
        write!(f, "{}s", ms / 1000)
    }
}

impl serde::Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Interval::parse(&s).ok_or_else(|| {
            de::Error::custom(format!(
                "`{s}` is not a duration: write a number and a unit (30s, 15m, 4h, 2d, 1w)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for s in ["1970-01-01", "2000-02-29", "2026-11-22", "2100-12-31"] {
            assert_eq!(Date::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Date::parse("1970-01-02").unwrap().0, 1);
        assert!(Date::parse("2026-02-29").is_none());
        assert!(Date::parse("2026-13-01").is_none());
        assert!(Date::parse("26-1-1").is_none());
        assert_eq!(Date::from_unix_ms(86_400_000 * 3 + 5).0, 3);
    }

    #[test]
    fn intervals() {
        assert_eq!(Interval::parse("15m").unwrap().0, 900_000);
        assert_eq!(Interval::parse("2d").unwrap().to_string(), "2d");
        assert_eq!(Interval::parse("90m").unwrap().to_string(), "90m");
        assert!(Interval::parse("15").is_none());
        assert!(Interval::parse("m").is_none());
        assert!(Interval::parse("3 years").is_none());
    }
}
