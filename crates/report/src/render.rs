//! The review as Markdown and as one self-contained HTML page (inline CSS and SVG, no
//! script, no external asset). Every generated figure, row and narrative line carries its
//! tag (`<!--fb:ID-->` in Markdown, `data-fb="ID"` in HTML), which `report verify` reads.
//! Log text passes through `neutral` for the format it lands in.

use crate::chart;
use crate::review::{Block, ChartKind, Review, Source};
use model::time::format_iso;
use neutral::html::text as h;
use neutral::markdown::inline as md;
use std::fmt::Write;

/// The format of a rendered review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
}

const INTRO: &str = "Drafted by Firebreak from the case store and the custody ledger. Every generated figure and row names its sources (ev- events, al- alerts, ph- phase transitions, cu- custody entries, call- response calls and the rest, listed in the appendix); `firebreak report verify` recomputes them and names any that no longer match. Narrative sections are written with `firebreak case review set` and kept with the case: generated sections are never edited by hand.";

fn cites(sources: &[Source]) -> String {
    if sources.is_empty() {
        return "-".into();
    }
    sources
        .iter()
        .map(Source::short)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first line of a rendered review names the case and the moment it was drafted as of.
pub fn header_line(r: &Review) -> String {
    format!("case={} as-of={}", r.case, r.as_of_ms)
}

pub fn markdown(r: &Review) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "<!-- firebreak-review {} -->", header_line(r));
    let _ = writeln!(o, "# {}\n", md(&r.title));
    let _ = writeln!(
        o,
        "Drafted as of {}. {}\n",
        format_iso(r.as_of_ms),
        md(INTRO)
    );
    for s in &r.sections {
        let _ = writeln!(o, "## {}\n", s.title);
        for b in &s.blocks {
            match b {
                Block::Figures(figs) => {
                    o.push_str("| | | Sources |\n|---|---|---|\n");
                    for f in figs {
                        let _ = writeln!(
                            o,
                            "| {} | {} | {} <!--fb:{}--> |",
                            md(&f.label),
                            md(&f.value),
                            cites(&f.sources),
                            f.id
                        );
                    }
                    o.push('\n');
                }
                Block::Table {
                    columns,
                    rows,
                    empty,
                } => {
                    if rows.is_empty() {
                        let _ = writeln!(o, "_{}_\n", md(empty));
                        continue;
                    }
                    let _ = writeln!(
                        o,
                        "| {} | Sources |",
                        columns
                            .iter()
                            .map(|c| md(c))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    );
                    let _ = writeln!(o, "|{}---|", "---|".repeat(columns.len()));
                    for row in rows {
                        let _ = writeln!(
                            o,
                            "| {} | {} <!--fb:{}--> |",
                            row.cells
                                .iter()
                                .map(|c| md(c))
                                .collect::<Vec<_>>()
                                .join(" | "),
                            cites(&row.sources),
                            row.id
                        );
                    }
                    o.push('\n');
                }
                Block::Narrative { field, text, by } => {
                    let _ = writeln!(o, "### {}\n", field.title());
                    let id = format!("n.{}", field.name());
                    match text {
                        Some(t) => {
                            for (i, line) in paragraphs(t).enumerate() {
                                let _ = writeln!(o, "{} <!--fb:{id}.{}-->\n", md(line), i + 1);
                            }
                            if let Some((who, at)) = by {
                                let _ = writeln!(
                                    o,
                                    "_Written by {} at {}._ <!--fb:{id}.by-->\n",
                                    md(who),
                                    format_iso(*at)
                                );
                            }
                        }
                        None => {
                            let _ = writeln!(
                                o,
                                "_Not written yet: `firebreak case review set {} {} \"…\"`._ <!--fb:{id}.0-->\n",
                                r.case,
                                field.name()
                            );
                        }
                    }
                }
                Block::Prose(p) => {
                    let _ = writeln!(o, "{}\n", md(p));
                }
                Block::Chart(k) => {
                    let _ = writeln!(
                        o,
                        "_Chart ({}): in the HTML and PDF review._\n",
                        chart_title(*k)
                    );
                }
            }
        }
    }
    o.push_str("## Appendix: sources\n\n| Source | What |\n|---|---|\n");
    for s in &r.sources {
        let n = s.short();
        let _ = writeln!(o, "| {n} | {} <!--fb:src.{n}--> |", md(&s.describe()));
    }
    o
}

pub fn html(r: &Review) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"firebreak-review\" content=\"{}\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <title>{}</title><style>{CSS}</style></head><body>\n",
        header_line(r),
        h(&r.title)
    );
    let _ = writeln!(o, "<h1>{}</h1>", h(&r.title));
    let _ = writeln!(
        o,
        "<p class=\"intro\">Drafted as of {}. {}</p>",
        format_iso(r.as_of_ms),
        h(INTRO)
    );
    let cite_html = |sources: &[Source]| {
        if sources.is_empty() {
            return "-".to_string();
        }
        sources
            .iter()
            .map(|s| {
                let n = s.short();
                format!("<a href=\"#{n}\">{n}</a>")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    for s in &r.sections {
        let _ = writeln!(o, "<section id=\"{}\"><h2>{}</h2>", s.id, h(s.title));
        for b in &s.blocks {
            match b {
                Block::Figures(figs) => {
                    o.push_str("<table class=\"figures\"><tbody>\n");
                    for f in figs {
                        let _ = writeln!(
                            o,
                            "<tr data-fb=\"{}\"><th>{}</th><td>{}</td><td class=\"src\">{}</td></tr>",
                            f.id,
                            h(&f.label),
                            h(&f.value),
                            cite_html(&f.sources)
                        );
                    }
                    o.push_str("</tbody></table>\n");
                }
                Block::Table {
                    columns,
                    rows,
                    empty,
                } => {
                    if rows.is_empty() {
                        let _ = writeln!(o, "<p class=\"empty\">{}</p>", h(empty));
                        continue;
                    }
                    o.push_str("<table><thead><tr>");
                    for c in columns {
                        let _ = write!(o, "<th>{}</th>", h(c));
                    }
                    o.push_str("<th>Sources</th></tr></thead><tbody>\n");
                    for row in rows {
                        let _ = write!(o, "<tr data-fb=\"{}\">", h(&row.id));
                        for c in &row.cells {
                            let _ = write!(o, "<td>{}</td>", h(c));
                        }
                        let _ =
                            writeln!(o, "<td class=\"src\">{}</td></tr>", cite_html(&row.sources));
                    }
                    o.push_str("</tbody></table>\n");
                }
                Block::Narrative { field, text, by } => {
                    let id = format!("n.{}", field.name());
                    let _ = writeln!(o, "<h3>{}</h3>", h(&field.title()));
                    match text {
                        Some(t) => {
                            for (i, line) in paragraphs(t).enumerate() {
                                let _ = writeln!(
                                    o,
                                    "<p class=\"narrative\" data-fb=\"{id}.{}\">{}</p>",
                                    i + 1,
                                    h(line)
                                );
                            }
                            if let Some((who, at)) = by {
                                let _ = writeln!(
                                    o,
                                    "<p class=\"by\" data-fb=\"{id}.by\">Written by {} at {}.</p>",
                                    h(who),
                                    format_iso(*at)
                                );
                            }
                        }
                        None => {
                            let _ = writeln!(
                                o,
                                "<p class=\"missing\" data-fb=\"{id}.0\">Not written yet: <code>firebreak case review set {} {} \"…\"</code>.</p>",
                                r.case,
                                field.name()
                            );
                        }
                    }
                }
                Block::Prose(p) => {
                    let _ = writeln!(o, "<p>{}</p>", h(p));
                }
                Block::Chart(k) => {
                    let svg = match k {
                        ChartKind::PhaseGantt => chart::phase_gantt(&r.charts),
                        ChartKind::SwimLane => chart::swim_lane(&r.charts),
                        ChartKind::AlertsOverTime => chart::alerts_over_time(&r.charts),
                    };
                    let _ = writeln!(
                        o,
                        "<figure>{svg}<figcaption>{}</figcaption></figure>",
                        h(chart_title(*k))
                    );
                }
            }
        }
        o.push_str("</section>\n");
    }
    o.push_str("<section id=\"sources\"><h2>Appendix: sources</h2><table><tbody>\n");
    for s in &r.sources {
        let _ = writeln!(
            o,
            "<tr id=\"{n}\" data-fb=\"src.{n}\"><th>{n}</th><td>{}</td></tr>",
            h(&s.describe()),
            n = s.short()
        );
    }
    o.push_str("</tbody></table></section>\n</body></html>\n");
    o
}

fn chart_title(k: ChartKind) -> &'static str {
    match k {
        ChartKind::PhaseGantt => "phases over time (Gantt)",
        ChartKind::SwimLane => "attacker versus responders (swim lane)",
        ChartKind::AlertsOverTime => "alerts over time",
    }
}

/// A narrative's non-empty lines.
fn paragraphs(t: &str) -> impl Iterator<Item = &str> {
    t.lines().map(str::trim).filter(|l| !l.is_empty())
}

const CSS: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.4}\
h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;margin-top:2rem;page-break-after:avoid}\
table{border-collapse:collapse;width:100%;margin:.6rem 0;font-size:.85rem}\
th,td{border:1px solid #ddd;padding:.25rem .4rem;text-align:left;vertical-align:top;word-break:break-word}\
thead th{background:#f3f3f3}table.figures th{width:30%;background:#fafafa}\
td.src{font-size:.75rem;color:#555;white-space:nowrap}p.missing{color:#a94442;font-style:italic}\
p.by,p.intro{color:#555;font-size:.85rem}figure{margin:1rem 0;page-break-inside:avoid}\
svg.chart{max-width:100%;height:auto;font-family:system-ui,Helvetica,Arial,sans-serif}\
tr{page-break-inside:avoid}@media print{body{margin:0;max-width:none}}";
