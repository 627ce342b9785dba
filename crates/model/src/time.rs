//! Timestamps as UTC epoch milliseconds, parsed from every shape AWS logs use
//! and formatted as ISO 8601. Hand-written because it sits on the ingest hot path.

/// Parses a timestamp into UTC epoch milliseconds.
///
/// Accepted: ISO 8601 / RFC 3339 (`2024-07-30T21:31:21Z`, `…21.123456789+02:00`, `…+0200`),
/// the same with a space instead of `T` and without a zone (taken as UTC, as Athena and
/// CloudTrail Lake print it: `2024-07-30 21:31:21.000000000`), a bare date, and epoch
/// seconds, milliseconds, microseconds or nanoseconds (by digit count), optionally with a
/// decimal fraction of seconds. Returns `None` for anything else or out-of-range fields.
pub fn parse_timestamp(input: &str) -> Option<i64> {
    let s = input.trim().as_bytes();
    if s.is_empty() {
        return None;
    }
    if s[0].is_ascii_digit() && s.len() >= 5 && s[4] == b'-' {
        return parse_iso(s);
    }
    parse_epoch(s)
}

fn parse_epoch(s: &[u8]) -> Option<i64> {
    let (int_part, frac_part) = match memchr_dot(s) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    if int_part.is_empty() || int_part.len() > 19 || !int_part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value: i64 = std::str::from_utf8(int_part).ok()?.parse().ok()?;
    let millis = match (int_part.len(), frac_part) {
        (_, Some(frac)) => {
            // Seconds with a decimal fraction.
            value
                .checked_mul(1000)?
                .checked_add(fraction_millis(frac)?)?
        }
        (0..=11, None) => value.checked_mul(1000)?,
        (12..=14, None) => value,
        (15..=17, None) => value / 1000,
        _ => value / 1_000_000,
    };
    Some(millis)
}

fn memchr_dot(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'.')
}

/// Milliseconds from the digits after a decimal point (any precision).
fn fraction_millis(frac: &[u8]) -> Option<i64> {
    if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut ms = 0i64;
    for i in 0..3 {
        ms = ms * 10 + frac.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    Some(ms)
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = s.get(at..at + n)?;
    let mut v = 0i64;
    for &b in part {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(b - b'0');
    }
    Some(v)
}

fn parse_iso(s: &[u8]) -> Option<i64> {
    let year = digits(s, 0, 4)?;
    if s.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(s, 5, 2)?;
    let day = digits(s, 8, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if s.len() == 10 {
        return Some(days * 86_400_000);
    }
    if !matches!(s[10], b'T' | b't' | b' ') {
        return None;
    }
    let hour = digits(s, 11, 2)?;
    if s.get(13) != Some(&b':') {
        return None;
    }
    let minute = digits(s, 14, 2)?;
    let mut pos = 16;
    let mut second = 0;
    if s.get(pos) == Some(&b':') {
        second = digits(s, 17, 2)?;
        pos = 19;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut millis = 0;
    if matches!(s.get(pos), Some(b'.') | Some(b',')) {
        let start = pos + 1;
        let mut end = start;
        while end < s.len() && s[end].is_ascii_digit() {
            end += 1;
        }
        millis = fraction_millis(&s[start..end])?;
        pos = end;
    }
    let offset_minutes = parse_zone(&s[pos..])?;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Zone suffix in minutes east of UTC; an absent zone means UTC.
fn parse_zone(z: &[u8]) -> Option<i64> {
    let z = z.trim_ascii();
    match z {
        [] | [b'Z'] | [b'z'] => Some(0),
        _ if z.eq_ignore_ascii_case(b"UTC") || z.eq_ignore_ascii_case(b"GMT") => Some(0),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest.len() {
                2 => (digits(rest, 0, 2)?, 0),
                4 => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                5 if rest[2] == b':' => (digits(rest, 0, 2)?, digits(rest, 3, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            Some(if *sign == b'-' { -minutes } else { minutes })
        }
        _ => None,
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1–12) of `year`, proleptic Gregorian.
pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_iso(millis: i64) -> String {
    let mut out = String::with_capacity(24);
    write_iso(&mut out, millis);
    out
}

/// Appends the ISO 8601 form of `millis` to `out` (no allocation beyond growth).
pub fn write_iso(out: &mut String, millis: i64) {
    use std::fmt::Write;
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_shape_aws_uses() {
        let base = 1_722_375_081_000; // 2024-07-30T21:31:21Z
        assert_eq!(parse_timestamp("2024-07-30T21:31:21Z"), Some(base));
        assert_eq!(
            parse_timestamp("2024-07-30T21:31:21.123Z"),
            Some(base + 123)
        );
        assert_eq!(
            parse_timestamp("2024-07-30 21:31:21.123456789"),
            Some(base + 123)
        );
        assert_eq!(parse_timestamp("2024-07-30 21:31:21"), Some(base));
        assert_eq!(parse_timestamp("2024-07-30T23:31:21+02:00"), Some(base));
        assert_eq!(parse_timestamp("2024-07-30T20:31:21-0100"), Some(base));
        assert_eq!(parse_timestamp("1722375081"), Some(base));
        assert_eq!(parse_timestamp("1722375081123"), Some(base + 123));
        assert_eq!(parse_timestamp("1722375081.5"), Some(base + 500));
        assert_eq!(parse_timestamp("1722375081123456789"), Some(base + 123));
        assert_eq!(parse_timestamp("2024-07-30"), Some(1_722_297_600_000));
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for bad in [
            "",
            "redacted",
            "...",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-07-30T25:00:00Z",
            "2024-07-30T21:31:21+99:00",
            "12ab",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_iso() {
        assert_eq!(format_iso(1_722_375_081_123), "2024-07-30T21:31:21.123Z");
        assert_eq!(format_iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_iso(-1), "1969-12-31T23:59:59.999Z");
    }

    proptest! {
        #[test]
        fn iso_round_trips(ms in -62_135_596_800_000i64..253_402_300_799_999i64) {
            prop_assert_eq!(parse_timestamp(&format_iso(ms)), Some(ms));
        }
    }
}
