//! What a game day hands on: the coverage matrix (technique × stage, and per ATT&CK
//! tactic) as Markdown and as self-contained HTML with an SVG heat map, an ATT&CK Navigator
//! layer, and JUnit XML for a team's CI. Scenario names and details are text from files and
//! from AWS: each output escapes them its own way.

use crate::outcome::{ScenarioOutcome, Stage, Verdict};
use crate::scenario::Tactic;
use neutral::{html, markdown};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write;

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "✓",
        Verdict::Failed => "✗",
        Verdict::NotApplicable => "n/a",
        Verdict::CannotRun => "not run",
        Verdict::Stopped => "–",
    }
}

/// Per tactic: scenarios, passed, detected.
fn by_tactic(outcomes: &[ScenarioOutcome]) -> BTreeMap<Tactic, (usize, usize, usize)> {
    let mut m: BTreeMap<Tactic, (usize, usize, usize)> = BTreeMap::new();
    for o in outcomes {
        let detected = o
            .stage(Stage::Detected)
            .is_some_and(|s| s.verdict == Verdict::Passed);
        for t in &o.tactics {
            let e = m.entry(*t).or_default();
            e.0 += 1;
            e.1 += usize::from(o.passed());
            e.2 += usize::from(detected);
        }
    }
    m
}

fn seconds(ms: u64) -> String {
    format!("{:.2}", ms as f64 / 1000.0)
}

/// The matrix as Markdown.
pub fn matrix_markdown(title: &str, outcomes: &[ScenarioOutcome]) -> String {
    let mut s = String::new();
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    let _ = writeln!(s, "# {}\n", markdown::inline(title));
    let _ = writeln!(
        s,
        "{passed} of {} scenarios passed every stage.\n",
        outcomes.len()
    );
    s.push_str("| scenario | ATT&CK | mode |");
    for st in Stage::ALL {
        let _ = write!(s, " {} |", st.name());
    }
    s.push_str(" time to detect | seconds |\n|---|---|---|");
    for _ in Stage::ALL {
        s.push_str("---|");
    }
    s.push_str("---|---|\n");
    for o in outcomes {
        let _ = write!(
            s,
            "| {} | {} | {} |",
            markdown::code(o.scenario.as_str()),
            markdown::inline(&o.attack.join(", ")),
            o.mode
        );
        for st in Stage::ALL {
            let _ = write!(s, " {} |", o.stage(st).map_or("", |r| mark(r.verdict)));
        }
        let _ = writeln!(
            s,
            " {} | {} |",
            o.time_to_detect_ms
                .map_or("–".to_string(), |t| format!("{:.0} s", t as f64 / 1000.0)),
            seconds(o.total_ms)
        );
    }
    s.push_str(
        "\n## By ATT&CK tactic\n\n| tactic | scenarios | detected | passed |\n|---|---|---|---|\n",
    );
    for (t, (n, p, d)) in by_tactic(outcomes) {
        let _ = writeln!(s, "| {} | {n} | {d} | {p} |", t.name());
    }
    let problems: Vec<_> = outcomes
        .iter()
        .filter_map(|o| o.first_problem().map(|p| (o, p)))
        .collect();
    if !problems.is_empty() {
        s.push_str("\n## What failed\n\n");
        for (o, p) in problems {
            let _ = writeln!(
                s,
                "- {} at *{}* ({}): {}",
                markdown::code(o.scenario.as_str()),
                p.stage.name(),
                p.verdict.name(),
                markdown::inline(&p.detail)
            );
        }
    }
    s.push_str(
        "\n✓ passed · ✗ failed · n/a the scenario declares no response · not run: could not run (see above) · – left out on request\n",
    );
    s
}

fn colour(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::Passed) => "#2e9b4f",
        Some(Verdict::Failed) => "#d1383d",
        Some(Verdict::CannotRun) => "#e8a33d",
        Some(Verdict::NotApplicable) => "#c9ced6",
        Some(Verdict::Stopped) | None => "#eef0f3",
    }
}

/// The heat map: one row per scenario, one column per stage.
pub fn heat_map_svg(outcomes: &[ScenarioOutcome]) -> String {
    const CELL: usize = 22;
    const LEFT: usize = 380;
    const TOP: usize = 90;
    let w = LEFT + CELL * Stage::ALL.len() + 10;
    let h = TOP + CELL * outcomes.len() + 10;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="game day heat map" font-family="sans-serif" font-size="12">"#
    );
    for (i, st) in Stage::ALL.iter().enumerate() {
        let x = LEFT + i * CELL + CELL / 2;
        let _ = write!(
            s,
            r#"<text transform="translate({x},{}) rotate(-60)">{}</text>"#,
            TOP - 6,
            st.name()
        );
    }
    for (row, o) in outcomes.iter().enumerate() {
        let y = TOP + row * CELL;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LEFT - 6,
            y + CELL * 2 / 3,
            html::text(o.scenario.as_str())
        );
        for (i, st) in Stage::ALL.iter().enumerate() {
            let r = o.stage(*st);
            let _ = write!(
                s,
                r#"<rect x="{}" y="{y}" width="{}" height="{}" fill="{}"><title>{} · {}: {}</title></rect>"#,
                LEFT + i * CELL,
                CELL - 2,
                CELL - 2,
                colour(r.map(|r| r.verdict)),
                html::text(o.scenario.as_str()),
                st.name(),
                html::text(&r.map_or(String::new(), |r| format!(
                    "{} {}",
                    r.verdict.name(),
                    r.detail
                )))
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The matrix as a self-contained HTML page (no external assets).
pub fn matrix_html(title: &str, outcomes: &[ScenarioOutcome]) -> String {
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    let mut s = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}.passed{{background:#d8f0de}}.failed{{background:#f7d4d5}}.not-run{{background:#fbe8c8}}</style></head><body><h1>{t}</h1><p>{passed} of {} scenarios passed every stage.</p>",
        outcomes.len(),
        t = html::text(title)
    );
    s.push_str(&heat_map_svg(outcomes));
    s.push_str(
        "<h2>Technique × stage</h2><table><tr><th>scenario</th><th>ATT&amp;CK</th><th>mode</th>",
    );
    for st in Stage::ALL {
        let _ = write!(s, "<th>{}</th>", st.name());
    }
    s.push_str("<th>time to detect</th><th>seconds</th></tr>");
    for o in outcomes {
        let _ = write!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td>",
            html::text(o.scenario.as_str()),
            html::text(&o.attack.join(", ")),
            o.mode
        );
        for st in Stage::ALL {
            let r = o.stage(st);
            let class = match r.map(|r| r.verdict) {
                Some(Verdict::Passed) => "passed",
                Some(Verdict::Failed) => "failed",
                Some(Verdict::CannotRun) => "not-run",
                _ => "",
            };
            let _ = write!(
                s,
                "<td class=\"{class}\" title=\"{}\">{}</td>",
                html::text(r.map_or("", |r| r.detail.as_str())),
                r.map_or("", |r| mark(r.verdict))
            );
        }
        let _ = write!(
            s,
            "<td>{}</td><td>{}</td></tr>",
            o.time_to_detect_ms
                .map_or("–".to_string(), |t| format!("{:.0} s", t as f64 / 1000.0)),
            seconds(o.total_ms)
        );
    }
    s.push_str("</table><h2>By ATT&amp;CK tactic</h2><table><tr><th>tactic</th><th>scenarios</th><th>detected</th><th>passed</th></tr>");
    for (t, (n, p, d)) in by_tactic(outcomes) {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{n}</td><td>{d}</td><td>{p}</td></tr>",
            t.name()
        );
    }
    s.push_str("</table>");
    let problems: Vec<_> = outcomes
        .iter()
        .filter_map(|o| o.first_problem().map(|p| (o, p)))
        .collect();
    if !problems.is_empty() {
        s.push_str("<h2>What failed</h2><ul>");
        for (o, p) in problems {
            let _ = write!(
                s,
                "<li><code>{}</code> at <em>{}</em> ({}): {}</li>",
                html::text(o.scenario.as_str()),
                p.stage.name(),
                p.verdict.name(),
                html::text(&p.detail)
            );
        }
        s.push_str("</ul>");
    }
    s.push_str("</body></html>\n");
    s
}

/// An ATT&CK Navigator layer (format 4.5, enterprise): each technique scored by the share
/// of its applicable stages that passed, commented with the scenarios that cover it.
pub fn navigator_layer(title: &str, outcomes: &[ScenarioOutcome]) -> serde_json::Value {
    // technique id, tactic → (best score, comments)
    let mut cells: BTreeMap<(String, Tactic), (u32, Vec<String>)> = BTreeMap::new();
    for o in outcomes {
        for t in &o.attack {
            for tactic in &o.tactics {
                let e = cells.entry((t.clone(), *tactic)).or_default();
                e.0 = e.0.max(o.score());
                e.1.push(format!(
                    "{}: {}",
                    o.scenario,
                    o.first_problem().map_or("passed".to_string(), |p| format!(
                        "{} at {}",
                        p.verdict.name(),
                        p.stage.name()
                    ))
                ));
            }
        }
    }
    let techniques: Vec<_> = cells
        .into_iter()
        .map(|((id, tactic), (score, comments))| {
            json!({
                "techniqueID": id,
                "tactic": tactic.name(),
                "score": score,
                "comment": comments.join("; "),
                "enabled": true,
                "showSubtechniques": true,
            })
        })
        .collect();
    json!({
        "name": title,
        "versions": { "attack": "16", "navigator": "5.1.0", "layer": "4.5" },
        "domain": "enterprise-attack",
        "description": "Firebreak game day: score = share of applicable stages passed (detected, cased, planned, contained, rolled back)",
        "filters": { "platforms": ["IaaS"] },
        "sorting": 3,
        "layout": { "layout": "side", "showID": true, "showName": true },
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": { "colors": ["#ff6666ff", "#ffe766ff", "#8ec843ff"], "minValue": 0, "maxValue": 100 },
        "legendItems": [
            { "label": "every stage passed", "color": "#8ec843ff" },
            { "label": "nothing passed", "color": "#ff6666ff" }
        ],
        "metadata": [],
        "links": [],
        "showTacticRowBackground": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
        "selectVisibleTechniques": false
    })
}

fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// JUnit XML: a test suite per scenario, a test case per stage (failed and could-not-run
/// stages fail; inapplicable and left-out ones are skipped).
pub fn junit(outcomes: &[ScenarioOutcome]) -> String {
    let tests: usize = outcomes.iter().map(|o| o.stages.len()).sum();
    let failures: usize = outcomes
        .iter()
        .flat_map(|o| &o.stages)
        .filter(|s| matches!(s.verdict, Verdict::Failed | Verdict::CannotRun))
        .count();
    let total: u64 = outcomes.iter().map(|o| o.total_ms).sum();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"firebreak gameday\" tests=\"{tests}\" failures=\"{failures}\" time=\"{}\">\n",
        seconds(total)
    );
    for o in outcomes {
        let f = o
            .stages
            .iter()
            .filter(|s| matches!(s.verdict, Verdict::Failed | Verdict::CannotRun))
            .count();
        let skipped = o
            .stages
            .iter()
            .filter(|s| matches!(s.verdict, Verdict::NotApplicable | Verdict::Stopped))
            .count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" skipped=\"{skipped}\" time=\"{}\">",
            xml(o.scenario.as_str()),
            o.stages.len(),
            seconds(o.total_ms)
        );
        for st in &o.stages {
            let _ = write!(
                s,
                "    <testcase classname=\"gameday.{}\" name=\"{}\" time=\"{}\"",
                xml(o.scenario.as_str()),
                st.stage.name(),
                seconds(st.ms)
            );
            match st.verdict {
                Verdict::Passed => s.push_str("/>\n"),
                Verdict::Failed | Verdict::CannotRun => {
                    let _ = writeln!(
                        s,
                        "><failure message=\"{} {}\">{}</failure></testcase>",
                        st.stage.name(),
                        st.verdict.name(),
                        xml(&st.detail)
                    );
                }
                Verdict::NotApplicable | Verdict::Stopped => {
                    let _ = writeln!(s, "><skipped message=\"{}\"/></testcase>", xml(&st.detail));
                }
            }
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::StageResult;
    use crate::scenario::Mode;

    fn outcome(id: &str, detected: Verdict, detail: &str) -> ScenarioOutcome {
        ScenarioOutcome {
            scenario: serde_json::from_value(json!(id)).unwrap(),
            name: id.into(),
            attack: vec!["T1098.001".into()],
            tactics: vec![Tactic::Persistence],
            mode: Mode::Replay,
            stages: vec![
                StageResult {
                    stage: Stage::Warmup,
                    verdict: Verdict::Passed,
                    ms: 1200,
                    detail: String::new(),
                },
                StageResult {
                    stage: Stage::Detected,
                    verdict: detected,
                    ms: 30,
                    detail: detail.into(),
                },
            ],
            time_to_detect_ms: Some(4000),
            case: None,
            gap: None,
            total_ms: 1230,
        }
    }

    #[test]
    fn outputs_count_escape_and_score() {
        let o = vec![
            outcome("good", Verdict::Passed, ""),
            outcome(
                "bad",
                Verdict::Failed,
                "<script>x</script> & \u{1b}]0;t\u{7}",
            ),
        ];
        let j = junit(&o);
        assert!(j.contains("tests=\"4\" failures=\"1\""), "{j}");
        assert!(j.contains("&lt;script&gt;"), "{j}");
        assert!(!j.contains('\u{1b}'), "{j}");
        let h = matrix_html("Game day", &o);
        assert!(!h.contains("<script>"), "{h}");
        assert!(h.contains("<svg") && h.contains("1 of 2 scenarios passed"));
        let m = matrix_markdown("Game day", &o);
        assert!(m.contains("| persistence | 2 | 1 | 1 |"), "{m}");
        assert!(!m.contains('\u{1b}'), "{m}");
        let n = navigator_layer("Game day", &o);
        assert_eq!(n["versions"]["layer"], "4.5");
        assert_eq!(n["techniques"][0]["techniqueID"], "T1098.001");
        assert_eq!(n["techniques"][0]["score"], 100);
    }
}
