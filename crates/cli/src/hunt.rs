//! `firebreak hunt`: read logs, run the bundled rules plus any others, print alerts.

use crate::ingest_cmd::{ReadArgs, RejectSink};
use crate::progress::Progress;
use crate::rules_cmd::{self, RuleArgs};
use crate::settings::StoreArgs;
use anyhow::{Context, Result};
use app::pipeline::detect_inputs;
use clap::{Args, ValueEnum};
use detect::Detector;
use ingest::{Input, InputFormat};
use model::{Alert, AlertKind};
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use store::Store;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum AlertFormat {
    Table,
    Jsonl,
    Csv,
}

#[derive(Args)]
pub struct HuntArgs {
    /// Files, directories or `-`: anything `ingest` reads.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Alert format (default: table).
    #[arg(short, long, value_enum, default_value = "table")]
    pub output: AlertFormat,
    /// Where alerts go: a file, or `-` for standard output.
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
    /// Do not raise alerts for GuardDuty and Security Hub findings.
    #[arg(long)]
    pub no_findings: bool,
    #[arg(long, default_value = "auto", value_parser = |s: &str| s.parse::<InputFormat>())]
    pub format: InputFormat,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Also group the alerts into cases in the store (`--db`), with timelines. Re-running
    /// over the same logs adds nothing twice.
    #[arg(long)]
    pub cases: bool,
    /// With `--cases`: alerts sharing an entity within this window join one case
    /// (default 24h, or `[cases] window` in firebreak.toml).
    #[arg(long, value_parser = crate::settings::parse_duration, requires = "cases")]
    pub window: Option<i64>,
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// What an alert shows for an event whose time could not be read.
pub const TIME_UNKNOWN: &str = "time unknown";

/// Writes alerts in the chosen format.
pub struct AlertWriter {
    format: AlertFormat,
    out: Box<dyn Write>,
    csv: Option<csv::Writer<Box<dyn Write>>>,
    header_done: bool,
    scratch: Vec<u8>,
    pub count: usize,
}

const CSV_HEADER: [&str; 14] = [
    "time",
    "level",
    "rule_id",
    "title",
    "attack",
    "account",
    "region",
    "principal",
    "access_key_id",
    "src_ip",
    "operation",
    "source",
    "location",
    "kind",
];

impl AlertWriter {
    pub fn new(format: AlertFormat, out: Box<dyn Write>) -> Self {
        let (out, csv) = match format {
            AlertFormat::Csv => (
                Box::new(std::io::sink()) as Box<dyn Write>,
                Some(csv::Writer::from_writer(out)),
            ),
            AlertFormat::Table => (
                Box::new(neutral::terminal::Printable(out)) as Box<dyn Write>,
                None,
            ),
            AlertFormat::Jsonl => (out, None),
        };
        AlertWriter {
            format,
            out,
            csv,
            header_done: false,
            scratch: Vec::new(),
            count: 0,
        }
    }

    pub fn write(&mut self, a: &Alert) -> Result<()> {
        self.count += 1;
        let time = a
            .event
            .time_ms
            .map(model::time::format_iso)
            .unwrap_or_else(|| TIME_UNKNOWN.into());
        let attack = a.rule.techniques.join(" ");
        let location = match &a.kind {
            AlertKind::Correlation { events, .. } if events.len() > 1 => {
                format!("{} (+{} events)", a.location(), events.len() - 1)
            }
            _ => a.location(),
        };
        let kind = match &a.kind {
            AlertKind::Rule => "rule".to_string(),
            AlertKind::Finding => "finding".to_string(),
            AlertKind::Correlation {
                correlation, value, ..
            } => format!("{correlation}={value}"),
        };
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
        match self.format {
            AlertFormat::Jsonl => {
                self.scratch.clear();
                a.write_json(&mut self.scratch)?;
                self.scratch.push(b'\n');
                self.out.write_all(&self.scratch)?;
            }
            AlertFormat::Csv => {
                let w = self.csv.as_mut().expect("csv writer");
                if !self.header_done {
                    w.write_record(CSV_HEADER)?;
                    self.header_done = true;
                }
                w.write_record(
                    [
                        time,
                        a.rule.severity.name().to_string(),
                        a.rule.id.clone(),
                        a.rule.title.clone(),
                        attack,
                        opt(&a.event.account),
                        opt(&a.event.region),
                        opt(&a.event.principal),
                        opt(&a.event.access_key_id),
                        opt(&a.event.src_ip),
                        opt(&a.event.operation),
                        a.event.source.name().to_string(),
                        location,
                        kind,
                    ]
                    .iter()
                    .map(|c| neutral::csv::cell(c).into_owned()),
                )?;
            }
            AlertFormat::Table => {
                if !self.header_done {
                    writeln!(
                        self.out,
                        "{:<24} {:<8} {:<44} {:<18} {:<12} {:<10} {:<40} {:<20} {:<15} location",
                        "time",
                        "level",
                        "rule",
                        "attack",
                        "account",
                        "region",
                        "principal",
                        "access key",
                        "source ip"
                    )?;
                    self.header_done = true;
                }
                say!(
                    self.out,
                    "{:<24} {:<8} {:<44} {:<18} {:<12} {:<10} {:<40} {:<20} {:<15} {}",
                    time,
                    a.rule.severity.name(),
                    short(&a.rule.title, 44),
                    short(&attack, 18),
                    opt(&a.event.account),
                    opt(&a.event.region),
                    short(&opt(&a.event.principal), 40),
                    opt(&a.event.access_key_id),
                    opt(&a.event.src_ip),
                    location
                )?;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        if let Some(w) = self.csv.as_mut() {
            w.flush()?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// Runs a hunt; returns whether any alert fired.
pub fn run(args: HuntArgs, store_args: &StoreArgs) -> Result<bool> {
    let configured = crate::settings::load_config(&store_args.config)?.aws_ip_ranges;
    let (set, errors, files) = rules_cmd::load(&args.rules, configured.as_deref())?;
    if !errors.is_empty() {
        if !args.rules.skip_invalid_rules {
            let listed: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
            anyhow::bail!(
                "{} rule problem(s); a hunt with rules missing would report a clean bill it has not earned (fix them, or pass --skip-invalid-rules to run without them):\n{}",
                errors.len(),
                listed.join("\n")
            );
        }
        eprintln!(
            "warning: --skip-invalid-rules: {} rule problem(s); those rules are not used (the summary lists them)",
            errors.len()
        );
    }
    let detector = Detector::new(set, !args.no_findings).with_context(args.cases);
    let mut inputs = ingest::expand_inputs(&args.paths)?;
    let mut cases = None;
    if args.cases {
        let mut settings = store_args.resolve()?;
        if let Some(w) = args.window {
            settings.grouping.window_ms = w;
        }
        // Open the store first: a bad path fails before the logs are read.
        cases = Some((
            Store::open(&settings.db)?,
            crate::settings::open_app(settings, None)?,
        ));
        inputs = rereadable(inputs)?;
    }
    let mut records = app::pipeline::AlertRecords::default();
    let out: Box<dyn Write> = if args.out.as_os_str() == "-" {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(BufWriter::new(
            std::fs::File::create(&args.out)
                .with_context(|| format!("cannot create {}", args.out.display()))?,
        ))
    };
    let mut writer = AlertWriter::new(args.output, out);
    let mut rejects = RejectSink::new(10, None)?;
    let summary = detect_inputs(
        &inputs,
        args.read.options(args.format),
        &Progress::new(!args.read.no_progress),
        &detector,
        |r| rejects.add(r),
        |a| {
            if args.cases {
                records.push(a)?;
            }
            writer.write(a)
        },
    )?;
    let fired = writer.count;
    writer.finish()?;
    let mut err = std::io::stderr();
    writeln!(
        err,
        "{} events from {} file(s) ({} rejected); {} rules and {} correlations from {} rule file(s); {} alert(s)",
        summary.events(),
        summary.files,
        summary.rejected(),
        detector.rule_count(),
        detector.correlation_count(),
        files,
        fired
    )?;
    for e in &errors {
        say!(err, "  skipped invalid rule: {}", e)?;
    }
    if summary.time_unknown > 0 {
        writeln!(
            err,
            "{} event(s) with time unknown (eventTime missing or unreadable); `firebreak ingest` locates them",
            summary.time_unknown
        )?;
    }
    for r in &rejects.shown {
        say!(err, "  rejected: {}", r)?;
    }
    if let Some((store, app)) = &mut cases {
        let run = app::pipeline::open_cases(
            app,
            store,
            &records,
            &inputs,
            args.read.options(args.format),
            &Progress::new(!args.read.no_progress),
        )?;
        crate::case_cmd::write_run_summary(&mut err, &app.settings, &run)?;
    }
    Ok(fired > 0)
}

/// Inputs that can be read twice: standard input is read into memory once.
pub fn rereadable(inputs: Vec<Input>) -> Result<Vec<Input>> {
    inputs
        .into_iter()
        .map(|i| match i {
            Input::Stdin => {
                let mut data = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut data)
                    .context("cannot read standard input")?;
                Ok(Input::Memory {
                    name: "-".to_string(),
                    data: Arc::from(data),
                })
            }
            other => Ok(other),
        })
        .collect()
}
