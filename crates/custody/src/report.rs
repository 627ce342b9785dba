//! The custody report: a document for people (Markdown or HTML) and a JSON manifest for
//! tools, both from the ledger and its verification.

use crate::{Entry, Verification};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The JSON manifest: every artifact once, with where it is kept and who handled it.
pub fn manifest(
    case_id: case::CaseId,
    entries: &[Entry],
    v: &Verification,
    generated_ms: i64,
) -> Value {
    let mut artifacts: BTreeMap<&str, Value> = BTreeMap::new();
    for e in entries {
        let Some(a) = &e.body.artifact else { continue };
        let item = artifacts.entry(&a.sha256).or_insert_with(|| {
            json!({"sha256": a.sha256, "name": a.name, "size": a.size, "source": a.source,
                   "first_recorded": model::time::format_iso(e.body.at_ms), "locations": [], "handled_by": []})
        });
        if let Some(l) = &e.body.location
            && let Some(list) = item["locations"].as_array_mut()
            && !list.iter().any(|x| x == l)
        {
            list.push(json!(l));
        }
        if let Some(list) = item["handled_by"].as_array_mut()
            && !list.iter().any(|x| x == &e.body.actor)
        {
            list.push(json!(e.body.actor));
        }
    }
    json!({
        "case": case_id,
        "generated": model::time::format_iso(generated_ms),
        "ledger": {"entries": entries.len(), "head": v.head, "signed": entries.iter().all(|e| e.signature.is_some()) && !entries.is_empty(),
                   "keys": entries.iter().filter_map(|e| e.key.clone()).collect::<std::collections::BTreeSet<_>>()},
        "verified": v.ok(),
        "problems": v.problems,
        "artifacts": artifacts.into_values().collect::<Vec<_>>(),
    })
}

fn esc(s: &str) -> String {
    neutral::html::text(s)
}

/// Markdown table cells: the one Markdown layer (no links, no table breaks).
fn cell(s: &str) -> String {
    neutral::markdown::inline(s)
}

/// The rows every format shows: seq, time, actor, action, artifact, SHA-256, location.
fn rows(entries: &[Entry]) -> Vec<[String; 7]> {
    entries
        .iter()
        .map(|e| {
            let b = &e.body;
            [
                e.seq.to_string(),
                model::time::format_iso(b.at_ms),
                b.actor.clone(),
                b.action.clone(),
                b.artifact
                    .as_ref()
                    .map_or_else(String::new, |a| a.name.clone()),
                b.artifact
                    .as_ref()
                    .map_or_else(String::new, |a| a.sha256.clone()),
                b.location.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

const HEADERS: [&str; 7] = [
    "#",
    "Time (UTC)",
    "Actor",
    "Action",
    "Artifact",
    "SHA-256",
    "Kept at",
];

fn verdict(v: &Verification) -> String {
    if v.ok() {
        format!(
            "Verified: {} entries chained and witnessed, {} artifacts intact.",
            v.entries, v.artifacts
        )
    } else {
        format!("NOT VERIFIED: {} problem(s).", v.problems.len())
    }
}

/// The custody report in Markdown.
pub fn markdown(
    case_id: case::CaseId,
    entries: &[Entry],
    v: &Verification,
    generated_ms: i64,
) -> String {
    let mut out = format!(
        "# Chain of custody: case {case_id}\n\nGenerated {}. Ledger head `{}`.\n\n**{}**\n\n",
        model::time::format_iso(generated_ms),
        v.head.as_deref().unwrap_or("(empty)"),
        verdict(v)
    );
    for p in &v.problems {
        out.push_str(&format!("- entry {}: {}\n", p.seq, cell(&p.message)));
    }
    out.push_str(&format!(
        "\n| {} |\n|{}\n",
        HEADERS.join(" | "),
        "---|".repeat(HEADERS.len())
    ));
    for r in rows(entries) {
        out.push_str(&format!(
            "| {} |\n",
            r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}

/// The custody report in HTML (every value escaped).
pub fn html(
    case_id: case::CaseId,
    entries: &[Entry],
    v: &Verification,
    generated_ms: i64,
) -> String {
    let mut out = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Chain of custody: case {case_id}</title></head><body>\n\
         <h1>Chain of custody: case {case_id}</h1>\n<p>Generated {}. Ledger head <code>{}</code>.</p>\n<p><strong>{}</strong></p>\n",
        esc(&model::time::format_iso(generated_ms)),
        esc(v.head.as_deref().unwrap_or("(empty)")),
        esc(&verdict(v))
    );
    if !v.problems.is_empty() {
        out.push_str("<ul>\n");
        for p in &v.problems {
            out.push_str(&format!("<li>entry {}: {}</li>\n", p.seq, esc(&p.message)));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<table>\n<tr>");
    for h in HEADERS {
        out.push_str(&format!("<th>{}</th>", esc(h)));
    }
    out.push_str("</tr>\n");
    for r in rows(entries) {
        out.push_str("<tr>");
        for c in r {
            out.push_str(&format!("<td>{}</td>", esc(&c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</body></html>\n");
    out
}
