//! The review's charts as SVG, drawn by hand (no chart crate draws a Gantt or a swim lane):
//! the phases over time, the attacker's events against the responders' actions, and alerts
//! over time. Every label goes through the HTML neutraliser.

use crate::review::Charts;
use case::Phase;
use model::time::format_iso;
use neutral::html::text;
use std::fmt::Write;

const WIDTH: f64 = 760.0;
const LEFT: f64 = 120.0;
const RIGHT: f64 = 20.0;

struct Axis {
    from: i64,
    to: i64,
}

impl Axis {
    fn of(c: &Charts) -> Axis {
        let to = if c.to_ms > c.from_ms {
            c.to_ms
        } else {
            c.from_ms + 60_000
        };
        Axis {
            from: c.from_ms,
            to,
        }
    }

    fn x(&self, t: i64) -> f64 {
        LEFT + (t - self.from) as f64 / (self.to - self.from) as f64 * (WIDTH - LEFT - RIGHT)
    }

    /// Tick labels at the ends and the middle.
    fn ticks(&self, out: &mut String, y: f64) {
        for (t, anchor) in [
            (self.from, "start"),
            (self.from + (self.to - self.from) / 2, "middle"),
            (self.to, "end"),
        ] {
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="{y:.1}" font-size="10" text-anchor="{anchor}" fill="#555">{}</text>"##,
                self.x(t),
                text(&format_iso(t)[..16].replace('T', " "))
            );
        }
    }
}

fn open(out: &mut String, title: &str, height: f64, kind: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{kind}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{t}"><title>{t}</title><text x="0" y="14" font-size="13" font-weight="bold">{t}</text>"#,
        t = text(title)
    );
}

fn phase_color(p: Phase) -> &'static str {
    match p {
        Phase::Detected => "#d9534f",
        Phase::Analyzing => "#f0ad4e",
        Phase::Contained => "#5bc0de",
        Phase::Eradicated => "#337ab7",
        Phase::Recovered => "#5cb85c",
        Phase::PostIncident => "#9b59b6",
        Phase::Closed => "#777777",
    }
}

/// Each phase as a bar from entry to exit.
pub fn phase_gantt(c: &Charts) -> String {
    let axis = Axis::of(c);
    let rows: Vec<Phase> = Phase::ALL
        .into_iter()
        .filter(|p| c.phases.iter().any(|x| x.0 == *p))
        .collect();
    let height = 40.0 + rows.len().max(1) as f64 * 22.0 + 20.0;
    let mut out = String::new();
    open(&mut out, "Phases over time (Gantt)", height, "phase-gantt");
    if rows.is_empty() {
        out.push_str(r#"<text x="0" y="40" font-size="11">No phase history.</text>"#);
    }
    for (i, p) in rows.iter().enumerate() {
        let y = 30.0 + i as f64 * 22.0;
        let _ = write!(
            out,
            r#"<text x="0" y="{:.1}" font-size="11">{}</text>"#,
            y + 13.0,
            p.name()
        );
        for (_, from, to) in c.phases.iter().filter(|x| x.0 == *p) {
            let x0 = axis.x(*from);
            let w = (axis.x(*to) - x0).max(2.0);
            let _ = write!(
                out,
                r#"<rect x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="16" fill="{}"><title>{} {} → {}</title></rect>"#,
                phase_color(*p),
                p.name(),
                format_iso(*from),
                format_iso(*to)
            );
        }
    }
    axis.ticks(&mut out, height - 6.0);
    out.push_str("</svg>");
    out
}

/// The attacker's events on one lane, the responders' actions on the other.
pub fn swim_lane(c: &Charts) -> String {
    let axis = Axis::of(c);
    let height = 130.0;
    let mut out = String::new();
    open(
        &mut out,
        "Attacker versus responders (swim lane)",
        height,
        "swim-lane",
    );
    for (i, (lane, events, color)) in [
        ("attacker", &c.attacker, "#d9534f"),
        ("responders", &c.responders, "#337ab7"),
    ]
    .into_iter()
    .enumerate()
    {
        let y = 45.0 + i as f64 * 40.0;
        let _ = write!(
            out,
            r##"<text x="0" y="{:.1}" font-size="11">{lane} ({})</text><line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ccc"/>"##,
            y + 4.0,
            events.len(),
            WIDTH - RIGHT
        );
        for (t, label) in events.iter() {
            let _ = write!(
                out,
                r#"<circle cx="{:.1}" cy="{y:.1}" r="4" fill="{color}" fill-opacity="0.7"><title>{} {}</title></circle>"#,
                axis.x(*t),
                format_iso(*t),
                text(label)
            );
        }
    }
    axis.ticks(&mut out, height - 6.0);
    out.push_str("</svg>");
    out
}

/// Alerts per time bin.
pub fn alerts_over_time(c: &Charts) -> String {
    const BINS: usize = 24;
    let axis = Axis::of(c);
    let height = 150.0;
    let mut counts = [0usize; BINS];
    let span = (axis.to - axis.from).max(1);
    for t in &c.alerts {
        let i = (((t - axis.from).max(0) as i128 * BINS as i128) / span as i128) as usize;
        counts[i.min(BINS - 1)] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut out = String::new();
    open(&mut out, "Alerts over time", height, "alerts-over-time");
    let bin_w = (WIDTH - LEFT - RIGHT) / BINS as f64;
    let base = height - 24.0;
    let _ = write!(
        out,
        r#"<text x="0" y="{:.1}" font-size="11">{} alert(s)</text>"#,
        base - 40.0,
        c.alerts.len()
    );
    for (i, n) in counts.iter().enumerate() {
        let h = *n as f64 / max as f64 * 90.0;
        let _ = write!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="#f0ad4e"><title>{n} alert(s)</title></rect>"##,
            LEFT + i as f64 * bin_w + 1.0,
            base - h,
            bin_w - 2.0
        );
    }
    axis.ticks(&mut out, height - 6.0);
    out.push_str("</svg>");
    out
}
