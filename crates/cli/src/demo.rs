//! `firebreak demo`: the quick start. Reads the bundled sample incident and shows what
//! Firebreak made of it, then what to type next.

use crate::ingest_cmd::{RejectSink, run_with_progress, write_summary};
use crate::samples;
use anyhow::Result;
use ingest::{EventHandler, IngestOptions};
use model::{Event, EventClass, Outcome};

/// One line of the demo timeline.
struct Row {
    time_ms: i64,
    text: String,
}

struct Timeline;

impl EventHandler for Timeline {
    type Output = Vec<Row>;
    fn begin(&self) -> Vec<Row> {
        Vec::new()
    }
    fn event(&self, out: &mut Vec<Row>, ev: &Event<'_>) {
        if ev.class == EventClass::NetworkActivity {
            return;
        }
        let what = match (&ev.api, &ev.finding) {
            (_, Some(f)) => format!("FINDING [{}] {}", ev.severity.name(), f.title),
            (Some(api), None) => format!(
                "{}:{}",
                api.service.trim_end_matches(".amazonaws.com"),
                api.operation
            ),
            _ => "?".into(),
        };
        let outcome = match &ev.outcome {
            Outcome::Failure { code, .. } => format!(" FAILED {}", code.as_deref().unwrap_or("")),
            _ => String::new(),
        };
        let who = ev
            .actor
            .user_name
            .as_deref()
            .or(ev.actor.session_name.as_deref())
            .or(ev.principal())
            .unwrap_or("-");
        out.push(Row {
            time_ms: ev.time_ms.unwrap_or(0),
            text: format!(
                "{}  {:<15} {:<18} {:<16} {}{}",
                ev.time_ms
                    .map(model::time::format_iso)
                    .unwrap_or_else(|| "?".into()),
                ev.source.name(),
                who,
                ev.src_ip.as_deref().unwrap_or("-"),
                what,
                outcome
            ),
        });
    }
}

pub fn run() -> Result<()> {
    println!(
        "Firebreak quick start: reading the bundled sample incident (no AWS account needed).\n"
    );
    let inputs = samples::inputs();
    let mut rows = Vec::new();
    let mut rejects = RejectSink::new(20, None)?;
    let summary = run_with_progress(
        &inputs,
        IngestOptions::default(),
        true,
        &Timeline,
        |chunk| {
            rows.extend(chunk.output);
            rejects.add(chunk.rejections)
        },
    )?;
    write_summary(&mut std::io::stdout(), &summary, &rejects.shown)?;
    rows.sort_by_key(|r| r.time_ms);
    println!(
        "\nTimeline (API activity and findings; {} flow records not shown):",
        summary.kind(ingest::RecordKind::VpcFlow).events
    );
    for row in &rows {
        println!("  {}", row.text);
    }
    println!(
        "\nNext:\n  firebreak ingest examples/sample-logs --output ocsf-jsonl | head -n 3   # the same events as OCSF 1.1\n  firebreak ingest YOUR_LOGS/ --output jsonl --out events.jsonl --rejects rejects.txt\n  firebreak ingest --help"
    );
    Ok(())
}
