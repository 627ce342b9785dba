//! Metrics across cases: time to detect, acknowledge, notify, respond, contain, recover and
//! close, and attacker dwell time, as median and p90 per plan level and per quarter. False
//! positives (and benign cases) are left out and counted apart; exercises never count.

use case::CaseId;
use case::phase::human_duration;
use model::time::civil_from_days;
use neutral::html::text as h;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The moments one case's measures are taken from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CaseTimes {
    pub case: CaseId,
    /// The plan level id (`sev1`), else the severity's name.
    pub level: String,
    /// The case's earliest activity (first event or alert).
    pub first_activity_ms: Option<i64>,
    /// The case was opened (its `detected` transition).
    pub detected_ms: i64,
    pub acknowledged_ms: Option<i64>,
    /// The first communication sent.
    pub notified_ms: Option<i64>,
    /// The first AWS call of a response plan.
    pub responded_ms: Option<i64>,
    pub contained_ms: Option<i64>,
    pub recovered_ms: Option<i64>,
    pub closed_ms: Option<i64>,
    /// Resolved as a false positive or benign: left out of the measures, counted apart.
    pub not_an_incident: bool,
    /// Opened by a game day: never counted.
    pub exercise: bool,
}

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    Detect,
    Acknowledge,
    Notify,
    Respond,
    Contain,
    Recover,
    Close,
    Dwell,
}

impl Measure {
    pub const ALL: [Measure; 8] = [
        Measure::Detect,
        Measure::Acknowledge,
        Measure::Notify,
        Measure::Respond,
        Measure::Contain,
        Measure::Recover,
        Measure::Close,
        Measure::Dwell,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Measure::Detect => "time to detect",
            Measure::Acknowledge => "time to acknowledge",
            Measure::Notify => "time to notify",
            Measure::Respond => "time to respond",
            Measure::Contain => "time to contain",
            Measure::Recover => "time to recover",
            Measure::Close => "time to close",
            Measure::Dwell => "dwell time",
        }
    }
}

impl CaseTimes {
    /// One measure in milliseconds: from the first activity (detect, dwell) or from
    /// detection (the rest) to the moment it names; `None` until reached.
    pub fn measure(&self, m: Measure) -> Option<i64> {
        let since_detected = |t: Option<i64>| t.map(|t| t - self.detected_ms);
        match m {
            Measure::Detect => self.first_activity_ms.map(|f| self.detected_ms - f),
            Measure::Acknowledge => since_detected(self.acknowledged_ms),
            Measure::Notify => since_detected(self.notified_ms),
            Measure::Respond => since_detected(self.responded_ms),
            Measure::Contain => since_detected(self.contained_ms),
            Measure::Recover => since_detected(self.recovered_ms),
            Measure::Close => since_detected(self.closed_ms),
            Measure::Dwell => self
                .first_activity_ms
                .zip(self.contained_ms)
                .map(|(f, c)| c - f),
        }
    }

    /// `2026-Q4`: the calendar quarter (UTC) the case was detected in.
    pub fn quarter(&self) -> String {
        let (y, m, _) = civil_from_days(self.detected_ms.div_euclid(86_400_000));
        format!("{y}-Q{}", (m - 1) / 3 + 1)
    }
}

/// Median and p90 of one measure over a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stat {
    /// Cases that reached the measure.
    pub n: usize,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
}

impl Stat {
    /// The median (the mean of the two middle values for an even count) and the p90 by the
    /// nearest-rank method (the ⌈0.9·n⌉-th smallest value).
    pub fn of(mut values: Vec<i64>) -> Stat {
        values.sort_unstable();
        let n = values.len();
        if n == 0 {
            return Stat::default();
        }
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            // Halves first, so two large values cannot overflow.
            values[n / 2 - 1] / 2
                + values[n / 2] / 2
                + (values[n / 2 - 1] % 2 + values[n / 2] % 2) / 2
        };
        let rank = (9 * n).div_ceil(10);
        Stat {
            n,
            median_ms: Some(median),
            p90_ms: Some(values[rank - 1]),
        }
    }
}

/// Measures of one group (a level, a quarter, or every case).
pub type Group = BTreeMap<Measure, Stat>;

/// Metrics across cases.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Metrics {
    /// Cases measured (incidents: not false positives, benign or exercises).
    pub incidents: usize,
    /// Cases resolved as false positives or benign, left out.
    pub not_incidents: usize,
    /// Exercise cases, left out.
    pub exercises: usize,
    pub overall: Group,
    pub by_level: BTreeMap<String, Group>,
    pub by_quarter: BTreeMap<String, Group>,
}

/// Metrics of `cases`.
pub fn compute(cases: &[CaseTimes]) -> Metrics {
    let mut m = Metrics::default();
    let counted: Vec<&CaseTimes> = cases
        .iter()
        .filter(|c| {
            if c.exercise {
                m.exercises += 1;
                false
            } else if c.not_an_incident {
                m.not_incidents += 1;
                false
            } else {
                true
            }
        })
        .collect();
    m.incidents = counted.len();
    let group = |of: &[&CaseTimes]| -> Group {
        Measure::ALL
            .into_iter()
            .map(|k| {
                (
                    k,
                    Stat::of(of.iter().filter_map(|c| c.measure(k)).collect()),
                )
            })
            .collect()
    };
    m.overall = group(&counted);
    let mut levels: BTreeMap<String, Vec<&CaseTimes>> = BTreeMap::new();
    let mut quarters: BTreeMap<String, Vec<&CaseTimes>> = BTreeMap::new();
    for c in &counted {
        levels.entry(c.level.clone()).or_default().push(c);
        quarters.entry(c.quarter()).or_default().push(c);
    }
    m.by_level = levels.iter().map(|(k, v)| (k.clone(), group(v))).collect();
    m.by_quarter = quarters
        .iter()
        .map(|(k, v)| (k.clone(), group(v)))
        .collect();
    m
}

fn fmt(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".into(), human_duration)
}

/// `median / p90 (n)`.
pub fn cell(s: &Stat) -> String {
    if s.n == 0 {
        "-".into()
    } else {
        format!("{} / {} ({})", fmt(s.median_ms), fmt(s.p90_ms), s.n)
    }
}

/// A page of the metrics: tables per level and per quarter, and a trend chart per measure.
pub fn html(m: &Metrics, title: &str) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"><title>{t}</title><style>body{{font-family:system-ui,Helvetica,Arial,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem}}table{{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}}th,td{{border:1px solid #ddd;padding:.2rem .4rem;text-align:left}}thead th{{background:#f3f3f3}}figure{{display:inline-block;margin:.5rem}}</style></head><body><h1>{t}</h1>\n",
        t = h(title)
    );
    let _ = writeln!(
        o,
        "<p>{} incident(s) measured; {} false positive or benign case(s) and {} exercise(s) left out. Each cell: median / p90 (cases).</p>",
        m.incidents, m.not_incidents, m.exercises
    );
    for (name, groups) in [("By level", &m.by_level), ("By quarter", &m.by_quarter)] {
        let _ = write!(o, "<h2>{name}</h2><table><thead><tr><th></th>");
        for k in Measure::ALL {
            let _ = write!(o, "<th>{}</th>", k.title());
        }
        o.push_str("</tr></thead><tbody>");
        for (g, stats) in groups.iter().chain([(&"all".to_string(), &m.overall)]) {
            let _ = write!(o, "<tr data-group=\"{}\"><th>{}</th>", h(g), h(g));
            for k in Measure::ALL {
                let _ = write!(o, "<td>{}</td>", h(&cell(&stats[&k])));
            }
            o.push_str("</tr>");
        }
        o.push_str("</tbody></table>\n");
    }
    o.push_str("<h2>Trends (median per quarter)</h2>\n");
    for k in Measure::ALL {
        o.push_str(&trend(m, k));
    }
    o.push_str("</body></html>\n");
    o
}

/// One measure's median per quarter as bars.
fn trend(m: &Metrics, k: Measure) -> String {
    let points: Vec<(&String, i64)> = m
        .by_quarter
        .iter()
        .filter_map(|(q, g)| g[&k].median_ms.map(|v| (q, v)))
        .collect();
    let (w, hgt) = (300.0, 140.0);
    let max = points.iter().map(|p| p.1).max().unwrap_or(1).max(1) as f64;
    let mut o = format!(
        "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"trend-{}\" viewBox=\"0 0 {w} {hgt}\" width=\"{w}\" height=\"{hgt}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title><text x=\"0\" y=\"12\" font-size=\"12\" font-weight=\"bold\">{t}</text>",
        k.title().replace(' ', "-"),
        t = k.title()
    );
    if points.is_empty() {
        o.push_str("<text x=\"0\" y=\"40\" font-size=\"11\">no data</text>");
    }
    let bw = (w - 20.0) / points.len().max(1) as f64;
    for (i, (q, v)) in points.iter().enumerate() {
        let bh = *v as f64 / max * 90.0;
        let x = 10.0 + i as f64 * bw;
        let _ = write!(
            o,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#337ab7\"><title>{} {}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
            x + 2.0,
            115.0 - bh,
            (bw - 4.0).max(1.0),
            h(q),
            human_duration(*v),
            x + bw / 2.0,
            128.0,
            h(q)
        );
    }
    o.push_str("</svg></figure>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p90_by_hand() {
        // Sorted 10 20 30 40: median (20 + 30) / 2 = 25; p90 rank ⌈3.6⌉ = 4 → 40.
        assert_eq!(
            Stat::of(vec![40, 10, 30, 20]),
            Stat {
                n: 4,
                median_ms: Some(25),
                p90_ms: Some(40)
            }
        );
        // 1..=11: median 6; p90 rank ⌈9.9⌉ = 10 → 10.
        let s = Stat::of((1..=11).collect());
        assert_eq!((s.median_ms, s.p90_ms), (Some(6), Some(10)));
        assert_eq!(Stat::of(vec![]), Stat::default());
        assert_eq!(Stat::of(vec![7]).p90_ms, Some(7));
    }

    #[test]
    fn quarters() {
        let c = CaseTimes {
            detected_ms: model::time::parse_timestamp("2026-10-01T00:00:00Z").unwrap(),
            ..Default::default()
        };
        assert_eq!(c.quarter(), "2026-Q4");
    }
}
