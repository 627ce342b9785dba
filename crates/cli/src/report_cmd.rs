//! `firebreak report review | verify | comms` and `firebreak metrics`: the post-incident
//! review (Markdown, HTML, PDF through headless Chromium) and its verification,
//! communications from the plan's templates, and metrics across cases.

use crate::settings::{StoreArgs, now_ms, open_app};
use anyhow::{Context, Result, bail};
use app::report::{AnchorCheck, RegulatorTarget};
use case::CaseId;
use clap::{Args, Subcommand, ValueEnum};
use model::time::{format_iso, parse_timestamp};
use report::Audience;
use report::metrics::{Measure, Metrics, cell};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Draft the post-incident review of a case from the store and the custody ledger:
    /// every generated figure and timeline row names its source.
    Review(ReviewArgs),
    /// Recompute a Markdown or HTML review's figures from the store and the ledger and name
    /// every one that no longer matches. Exit status 1 when any differs.
    Verify(VerifyArgs),
    /// Render a communication from the IR plan's template for an audience; `--sent` records
    /// it as sent (time to notify; a regulator notice meets its deadline).
    Comms(CommsArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReviewFormat {
    Md,
    Html,
    Pdf,
}

#[derive(Args)]
pub struct ReviewArgs {
    pub case: CaseId,
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReviewFormat,
    /// Where to write it (default: standard output; a PDF needs a file).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Draft as of this moment (ISO 8601; default now).
    #[arg(long, value_parser = parse_time)]
    pub as_of: Option<i64>,
    /// Do not read the ledger's anchor from the evidence bucket.
    #[arg(long)]
    pub offline: bool,
    /// Where the evidence bucket is reached (an emulator).
    #[arg(long, env = "FIREBREAK_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// The Chromium that prints the PDF (default: `chromium` on the PATH).
    #[arg(long, env = "FIREBREAK_CHROMIUM", default_value = "chromium")]
    pub chromium: PathBuf,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// A review written by `firebreak report review` (Markdown or HTML).
    pub file: PathBuf,
    #[arg(long)]
    pub offline: bool,
    #[arg(long, env = "FIREBREAK_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Args)]
pub struct CommsArgs {
    pub case: CaseId,
    #[arg(long, value_parser = parse_audience)]
    pub audience: Audience,
    /// The regulation a regulator notice is for (its id in the IR plan).
    #[arg(long)]
    pub regulation: Option<String>,
    /// The regulation's deadline it meets (`notification`, `early-warning`, …).
    #[arg(long, requires = "regulation")]
    pub deadline: Option<String>,
    /// Write it here (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Record it on the case as sent.
    #[arg(long)]
    pub sent: bool,
    /// When it was sent (ISO 8601; default now).
    #[arg(long, requires = "sent", value_parser = parse_time)]
    pub sent_at: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MetricsFormat {
    Table,
    Json,
    Html,
}

#[derive(Args)]
pub struct MetricsArgs {
    #[arg(short, long, value_enum, default_value = "table")]
    pub output: MetricsFormat,
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn parse_time(s: &str) -> Result<i64, String> {
    parse_timestamp(s).ok_or_else(|| format!("invalid time {s:?}: use 2026-11-30 or ISO 8601"))
}

fn parse_audience(s: &str) -> Result<Audience, String> {
    Audience::parse(s).ok_or_else(|| {
        format!(
            "unknown audience {s:?}: {}",
            Audience::ALL.map(Audience::name).join(", ")
        )
    })
}

fn write_out(out: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match out {
        Some(p) => {
            std::fs::write(p, bytes).with_context(|| format!("cannot write {}", p.display()))
        }
        None => {
            std::io::stdout().write_all(bytes)?;
            Ok(())
        }
    }
}

fn open_store(args: &StoreArgs) -> Result<(crate::settings::Settings, store::Store)> {
    let settings = args.resolve()?;
    if !settings.db.exists() {
        bail!(
            "no case store at {} (run `firebreak hunt LOGS --cases` or `firebreak demo` first, or pass --db)",
            settings.db.display()
        );
    }
    let store = store::Store::open(&settings.db)?;
    Ok((settings, store))
}

/// Exit: true when everything checked out.
pub fn run(cmd: ReportCommand, args: &StoreArgs) -> Result<bool> {
    let (settings, mut store) = open_store(args)?;
    match cmd {
        ReportCommand::Review(a) => {
            let app = open_app(settings, a.endpoint_url.as_deref())?;
            let anchor = if a.offline {
                AnchorCheck::Offline
            } else {
                AnchorCheck::Read
            };
            let review = app::report::draft(&app, &store, a.case, a.as_of, anchor)?;
            match a.format {
                ReviewFormat::Md => write_out(
                    a.out.as_deref(),
                    report::render::markdown(&review).as_bytes(),
                )?,
                ReviewFormat::Html => {
                    write_out(a.out.as_deref(), report::render::html(&review).as_bytes())?
                }
                ReviewFormat::Pdf => {
                    let Some(out) = a.out.as_deref() else {
                        bail!("a PDF review needs --out FILE");
                    };
                    print_pdf(&a.chromium, &report::render::html(&review), out)?;
                }
            }
            if let Some(p) = &a.out {
                eprintln!(
                    "review of case {} as of {} written to {} ({} sources cited)",
                    a.case,
                    format_iso(review.as_of_ms),
                    p.display(),
                    review.sources.len()
                );
            }
            Ok(true)
        }
        ReportCommand::Verify(a) => {
            let app = open_app(settings, a.endpoint_url.as_deref())?;
            let text = std::fs::read_to_string(&a.file)
                .with_context(|| format!("cannot read {}", a.file.display()))?;
            let anchor = if a.offline {
                AnchorCheck::Offline
            } else {
                AnchorCheck::Read
            };
            let v = app::report::verify(&app, &store, &text, anchor)
                .with_context(|| a.file.display().to_string())?;
            let mut out = neutral::terminal::Printable(std::io::stdout().lock());
            if v.mismatches.is_empty() {
                say!(
                    out,
                    "{}: case {} as of {}: all {} tagged figures, rows and lines match the store and the ledger",
                    a.file.display(),
                    v.header.case,
                    format_iso(v.header.as_of_ms),
                    v.checked
                )?;
                return Ok(true);
            }
            say!(
                out,
                "{}: case {} as of {}: {} of {} no longer match",
                a.file.display(),
                v.header.case,
                format_iso(v.header.as_of_ms),
                v.mismatches.len(),
                v.checked
            )?;
            for m in &v.mismatches {
                match (&m.file, &m.store) {
                    (Some(f), Some(s)) => say!(
                        out,
                        "  {} [{}]: the file says «{}»; the store says «{}»",
                        m.what,
                        m.id,
                        f,
                        s
                    )?,
                    (Some(f), None) => say!(
                        out,
                        "  {} [{}]: in the file («{}») but no longer in the store",
                        m.what,
                        m.id,
                        f
                    )?,
                    (None, Some(s)) => say!(
                        out,
                        "  {} [{}]: missing from the file; the store says «{}»",
                        m.what,
                        m.id,
                        s
                    )?,
                    (None, None) => {}
                }
            }
            Ok(false)
        }
        ReportCommand::Comms(a) => {
            let app = open_app(settings, None)?;
            let target = a.regulation.clone().map(|regulation| RegulatorTarget {
                regulation,
                deadline: a.deadline.clone().unwrap_or_default(),
            });
            let rendered =
                app::report::render_communication(&app, &store, a.case, a.audience, target)?;
            write_out(a.out.as_deref(), rendered.text.as_bytes())?;
            let from = rendered.template.as_ref().map_or_else(
                || "the bundled template".to_string(),
                |p| p.display().to_string(),
            );
            if a.sent {
                let id = app::report::record_sent(&app, &mut store, a.case, &rendered, a.sent_at)?;
                eprintln!(
                    "{} communication {id} recorded as sent on case {} (from {from}, sha256 {})",
                    a.audience, a.case, rendered.digest
                );
            } else {
                eprintln!("rendered from {from}; not recorded (pass --sent once it is sent)");
            }
            Ok(true)
        }
    }
}

/// `firebreak metrics`.
pub fn metrics(a: MetricsArgs, args: &StoreArgs) -> Result<()> {
    let (_, store) = open_store(args)?;
    let m = app::report::metrics(&store)?;
    match a.output {
        MetricsFormat::Json => {
            let mut s = serde_json::to_string_pretty(&m)?;
            s.push('\n');
            write_out(a.out.as_deref(), s.as_bytes())
        }
        MetricsFormat::Html => write_out(
            a.out.as_deref(),
            report::metrics::html(
                &m,
                &format!("Incident metrics as of {}", format_iso(now_ms())),
            )
            .as_bytes(),
        ),
        MetricsFormat::Table => write_out(a.out.as_deref(), table(&m).as_bytes()),
    }
}

fn table(m: &Metrics) -> String {
    let mut o = format!(
        "{} incident(s) measured; {} false positive or benign case(s) and {} exercise(s) left out.\nEach cell: median / p90 (cases that reached it).\n",
        m.incidents, m.not_incidents, m.exercises
    );
    for (name, groups) in [("level", &m.by_level), ("quarter", &m.by_quarter)] {
        o.push_str(&format!("\n{:<10}", name));
        for k in Measure::ALL {
            o.push_str(&format!(" | {:<24}", k.title()));
        }
        o.push('\n');
        for (g, stats) in groups.iter().chain([(&"all".to_string(), &m.overall)]) {
            o.push_str(&format!("{:<10}", neutral::terminal::field(g)));
            for k in Measure::ALL {
                o.push_str(&format!(" | {:<24}", cell(&stats[&k])));
            }
            o.push('\n');
        }
    }
    o
}

/// Prints `html` to `out` as PDF with headless Chromium (from a temporary file: the page
/// loads nothing else; its CSP allows no script and no external asset).
fn print_pdf(chromium: &Path, html: &str, out: &Path) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let page = dir.path().join("review.html");
    std::fs::write(&page, html)?;
    let profile = dir.path().join("profile");
    let out_abs = std::path::absolute(out)?;
    let status = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--no-pdf-header-footer",
            "--run-all-compositor-stages-before-draw",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", out_abs.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .with_context(|| {
            format!(
                "cannot start {} (install chromium or pass --chromium)",
                chromium.display()
            )
        })?;
    if !status.success() || !out_abs.is_file() {
        bail!(
            "{} could not print the review to {} ({status})",
            chromium.display(),
            out.display()
        );
    }
    Ok(())
}
