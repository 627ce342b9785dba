//! `firebreak ingest`: logs in, normalized events out, and a summary of what was read.

use crate::progress::Progress;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use ingest::{ChunkOutcome, EventHandler, IngestOptions, Input, InputFormat, Rejection, Summary};
use model::Event;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OutputFormat {
    /// OCSF 1.1 objects, one per line.
    OcsfJsonl,
    /// Firebreak's normalized events with the original record under `raw`, one per line.
    Jsonl,
}

#[derive(Args)]
pub struct IngestArgs {
    /// Files, directories (read recursively) or `-` for standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Input format; `auto` recognizes each record by its content.
    #[arg(long, default_value = "auto", value_parser = parse_format)]
    pub format: InputFormat,
    /// Write events in this format (without it, only the summary is printed).
    #[arg(short, long, value_enum)]
    pub output: Option<OutputFormat>,
    /// Where events go: a file, or `-` for standard output.
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
    /// Write every rejection (`file:line: reason`) to this file.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// How many rejections to show in the summary.
    #[arg(long, default_value_t = 20)]
    pub show_rejects: usize,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Options shared by every command that reads logs.
#[derive(Args, Clone)]
pub struct ReadArgs {
    /// Parsing threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Field order of headerless VPC flow logs in a custom format, e.g. "version srcaddr dstaddr …".
    #[arg(long)]
    pub vpc_flow_fields: Option<String>,
    /// Largest record or line accepted, in MiB; larger ones are rejected and skipped.
    #[arg(long, default_value_t = 64)]
    pub max_record_mb: usize,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

fn parse_format(s: &str) -> Result<InputFormat, String> {
    s.parse()
}

impl ReadArgs {
    pub fn options(&self, format: InputFormat) -> IngestOptions {
        let mut opts = IngestOptions {
            format,
            vpc_flow_fields: self.vpc_flow_fields.clone(),
            ..IngestOptions::default()
        };
        if let Some(t) = self.threads {
            opts.threads = t.max(1);
        }
        opts.max_record_bytes = self.max_record_mb.max(1) << 20;
        opts
    }
}

/// Events left out of OCSF output, by the reason they cannot be written valid.
type NotOcsf = std::collections::BTreeMap<&'static str, u64>;

/// Renders events as output lines, with the events left out of OCSF output.
struct Render(Option<OutputFormat>);

impl EventHandler for Render {
    type Output = (Vec<u8>, NotOcsf);
    fn begin(&self) -> (Vec<u8>, NotOcsf) {
        (Vec::new(), NotOcsf::new())
    }
    fn event(&self, (out, not_ocsf): &mut (Vec<u8>, NotOcsf), ev: &Event<'_>) {
        let written = match self.0 {
            None => return,
            Some(OutputFormat::OcsfJsonl) if let Some(why) = model::ocsf::unwritable(ev) => {
                *not_ocsf.entry(why).or_default() += 1;
                return;
            }
            Some(OutputFormat::OcsfJsonl) => model::ocsf::write_ocsf(ev, out),
            Some(OutputFormat::Jsonl) => ev.write_jsonl(out),
        };
        if written.is_ok() {
            out.push(b'\n');
        }
    }
}

/// Collects rejections for display (up to `keep`) and into a file (all).
pub struct RejectSink {
    pub shown: Vec<Rejection>,
    keep: usize,
    file: Option<BufWriter<std::fs::File>>,
}

impl RejectSink {
    pub fn new(keep: usize, path: Option<&PathBuf>) -> Result<Self> {
        let file = path
            .map(|p| {
                std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))
            })
            .transpose()?
            .map(BufWriter::new);
        Ok(RejectSink {
            shown: Vec::new(),
            keep,
            file,
        })
    }
    pub fn add(&mut self, rejections: Vec<Rejection>) -> Result<()> {
        for r in rejections {
            if let Some(f) = &mut self.file {
                say!(f, "{}", r)?;
            }
            if self.shown.len() < self.keep {
                self.shown.push(r);
            }
        }
        Ok(())
    }
    pub fn finish(&mut self) -> Result<()> {
        if let Some(f) = &mut self.file {
            f.flush()?;
        }
        Ok(())
    }
}

/// Runs an ingest with a progress bar, feeding every chunk to `on_chunk`.
pub fn run_with_progress<H: EventHandler>(
    inputs: &[Input],
    opts: IngestOptions,
    show_progress: bool,
    handler: &H,
    on_chunk: impl FnMut(ChunkOutcome<H::Output>) -> Result<()>,
) -> Result<Summary> {
    app::pipeline::read(
        inputs,
        opts,
        &Progress::new(show_progress),
        handler,
        on_chunk,
    )
}

/// The per-source summary table and the first rejections.
pub fn write_summary(
    w: &mut dyn Write,
    summary: &Summary,
    shown: &[Rejection],
) -> std::io::Result<()> {
    let w = &mut neutral::terminal::Printable(w);
    writeln!(w, "read {} file(s), {} bytes", summary.files, summary.bytes)?;
    writeln!(
        w,
        "{:<12} {:>10} {:>10} {:>10}",
        "source", "records", "events", "rejected"
    )?;
    for (kind, s) in &summary.by_kind {
        writeln!(
            w,
            "{:<12} {:>10} {:>10} {:>10}",
            kind.name(),
            s.records,
            s.events,
            s.rejected
        )?;
    }
    writeln!(
        w,
        "{:<12} {:>10} {:>10} {:>10}",
        "total",
        "",
        summary.events(),
        summary.rejected()
    )?;
    if summary.kind(ingest::RecordKind::CloudWatchLogs).records > 0 {
        writeln!(
            w,
            "(cwlogs: records are subscription payloads, events are the log events unpacked from them and counted again under their own source)"
        )?;
    }
    if summary.digest_files > 0 {
        writeln!(
            w,
            "CloudTrail digest files recognized (not events): {}",
            summary.digest_files
        )?;
    }
    if summary.control_messages > 0 {
        writeln!(
            w,
            "CloudWatch Logs control messages dropped: {}",
            summary.control_messages
        )?;
    }
    if summary.header_lines > 0 {
        writeln!(w, "VPC flow log header lines: {}", summary.header_lines)?;
    }
    if summary.time_unknown > 0 {
        let at: Vec<String> = summary
            .time_unknown_at
            .iter()
            .take(5)
            .map(ToString::to_string)
            .collect();
        let more = summary.time_unknown - at.len() as u64;
        writeln!(
            w,
            "events kept with time unknown (eventTime missing or unreadable): {} at {}{}",
            summary.time_unknown,
            at.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )?;
    }
    if !shown.is_empty() {
        writeln!(w, "rejected records:")?;
        for r in shown {
            say!(w, "  {}", r)?;
        }
        let hidden = summary.rejected().saturating_sub(shown.len() as u64);
        if hidden > 0 {
            writeln!(
                w,
                "  … and {hidden} more (write them all with --rejects FILE)"
            )?;
        }
    }
    Ok(())
}

pub fn run(args: IngestArgs) -> Result<()> {
    let inputs = ingest::expand_inputs(&args.paths)?;
    let opts = args.read.options(args.format);
    let to_stdout = args.out.as_os_str() == "-";
    let mut out: Box<dyn Write> = match (args.output, to_stdout) {
        (None, _) => Box::new(std::io::sink()),
        (Some(_), true) => Box::new(BufWriter::new(std::io::stdout().lock())),
        (Some(_), false) => Box::new(BufWriter::new(
            std::fs::File::create(&args.out)
                .with_context(|| format!("cannot create {}", args.out.display()))?,
        )),
    };
    let mut rejects = RejectSink::new(args.show_rejects, args.rejects.as_ref())?;
    let mut not_ocsf = NotOcsf::new();
    let summary = run_with_progress(
        &inputs,
        opts,
        !args.read.no_progress,
        &Render(args.output),
        |chunk| {
            for (why, n) in chunk.output.1 {
                *not_ocsf.entry(why).or_default() += n;
            }
            out.write_all(&chunk.output.0)
                .context("cannot write events")?;
            rejects.add(chunk.rejections)
        },
    )?;
    out.flush()?;
    rejects.finish()?;
    let mut report: Box<dyn Write> = if args.output.is_some() && to_stdout {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    write_summary(&mut report, &summary, &rejects.shown)?;
    for (why, n) in &not_ocsf {
        writeln!(
            report,
            "not written as OCSF (it would not be valid OCSF 1.1): {n} event(s): {why}"
        )?;
    }
    Ok(())
}
