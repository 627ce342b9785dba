//! `firebreak bench ingest`: parse-to-normalized throughput on the bench corpus, plain and
//! gzipped, on 1 and N threads, next to a line-split baseline measured in the same run.

use anyhow::{Context, Result, bail};
use clap::Args;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use ingest::{EventHandler, IngestOptions, Input};
use model::Event;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args)]
pub struct BenchArgs {
    /// CloudTrail JSONL corpus; default: built from ../shared/data like make-bench-corpus.sh.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Folder with the shared data sets (for building the default corpus).
    #[arg(long, env = "FIREBREAK_SHARED_DATA", default_value = "../shared/data")]
    pub shared_data: PathBuf,
    /// Thread counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// `bench ingest` only: also time hostile one-line inputs from 1 to 256 MiB.
    #[arg(long)]
    pub adversarial: bool,
    /// `bench hunt` only: the rsigma binary to compare with (default: target/rsigma/bin/rsigma,
    /// where scripts/bench-vs-rsigma.sh installs it, else `rsigma` on PATH).
    #[arg(long)]
    pub rsigma: Option<PathBuf>,
    /// `bench hunt` only: paired rounds behind the ratios (medians are reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

/// CPU seconds used by this process so far, and peak RSS in KiB.
pub(crate) fn rusage() -> (f64, u64) {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    (cpu_seconds(&u), u.ru_maxrss as u64)
}

/// User plus system CPU seconds of a `rusage`.
pub(crate) fn cpu_seconds(u: &libc::rusage) -> f64 {
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

pub(crate) struct Measurement {
    label: String,
    bytes: u64,
    events: u64,
    wall: f64,
    cpu: f64,
}

impl Measurement {
    pub(crate) fn print(&self, baseline: Option<&Measurement>) {
        let mb = self.bytes as f64 / 1e6;
        let per_core = mb / self.cpu.max(1e-9);
        let ratio = baseline.map_or(String::new(), |b| {
            format!(
                "{:>7.2}",
                per_core / (b.bytes as f64 / 1e6 / b.cpu.max(1e-9))
            )
        });
        println!(
            "{:<38} {:>8.2} {:>8.2} {:>9.0} {:>10.0} {:>13.0} {}",
            self.label,
            self.wall,
            self.cpu,
            mb / self.wall,
            per_core,
            self.events as f64 / self.cpu.max(1e-9),
            ratio
        );
    }
}

pub(crate) fn timed(label: String, f: impl FnOnce() -> Result<(u64, u64)>) -> Result<Measurement> {
    let (cpu0, _) = rusage();
    let start = Instant::now();
    let (bytes, events) = f()?;
    let wall = start.elapsed().as_secs_f64();
    let (cpu1, _) = rusage();
    Ok(Measurement {
        label,
        bytes,
        events,
        wall,
        cpu: cpu1 - cpu0,
    })
}

/// The baseline: read and split into lines, counting them (no parsing).
pub(crate) fn line_split(path: &Path, gz: bool) -> Result<(u64, u64)> {
    let file = std::fs::File::open(path)?;
    let mut reader: Box<dyn Read> = if gz {
        Box::new(MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let mut buf = vec![0u8; 1 << 20];
    let (mut bytes, mut lines) = (0u64, 0u64);
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
    Ok((bytes, lines))
}

/// Counts events and touches their normalized fields so nothing is optimized away.
struct Count;

impl EventHandler for Count {
    type Output = (u64, u64);
    fn begin(&self) -> (u64, u64) {
        (0, 0)
    }
    fn event(&self, out: &mut (u64, u64), ev: &Event<'_>) {
        out.0 += 1;
        out.1 = out
            .1
            .wrapping_add(ev.time_ms.unwrap_or(0) as u64)
            .wrapping_add(ev.principal().map_or(0, str::len) as u64);
    }
}

fn firebreak(path: &Path, threads: usize) -> Result<(u64, u64)> {
    let opts = IngestOptions {
        threads,
        ..IngestOptions::default()
    };
    let (mut events, mut check) = (0u64, 0u64);
    let summary = ingest::ingest(&[Input::File(path.to_path_buf())], &opts, &Count, |c| {
        events += c.output.0;
        check = check.wrapping_add(c.output.1);
    })?;
    if summary.events() != events {
        bail!("event count mismatch");
    }
    std::hint::black_box(check);
    Ok((summary.bytes, events))
}

fn build_corpus(shared: &Path, out: &Path) -> Result<()> {
    let parts = [
        shared.join("stratus-detonations/stratus_cloudtrail.jsonl"),
        shared.join("panther-tests/panther_cloudtrail_tests.jsonl"),
    ];
    let mut data = Vec::new();
    for p in &parts {
        data.extend(std::fs::read(p).with_context(|| {
            format!(
                "cannot read {} (pass --corpus or --shared-data)",
                p.display()
            )
        })?);
    }
    std::fs::create_dir_all(out.parent().unwrap_or(Path::new(".")))?;
    let mut w = BufWriter::new(std::fs::File::create(out)?);
    for _ in 0..376 {
        w.write_all(&data)?;
    }
    w.flush()?;
    Ok(())
}

pub(crate) fn corpus_paths(args: &BenchArgs) -> Result<(PathBuf, PathBuf)> {
    let corpus = match args.corpus.clone() {
        Some(c) => c,
        None => {
            let c = PathBuf::from("target/bench/corpus.jsonl");
            if !c.exists() {
                eprintln!(
                    "building {} from {} …",
                    c.display(),
                    args.shared_data.display()
                );
                build_corpus(&args.shared_data, &c)?;
            }
            c
        }
    };
    let gz = PathBuf::from(format!("{}.gz", corpus.display()));
    if !gz.exists() {
        eprintln!("compressing {} …", gz.display());
        let mut enc = GzEncoder::new(
            BufWriter::new(std::fs::File::create(&gz)?),
            Compression::new(6),
        );
        std::io::copy(&mut std::fs::File::open(&corpus)?, &mut enc)?;
        enc.finish()?.flush()?;
    }
    println!(
        "corpus: {} ({} bytes), {} ({} bytes)",
        corpus.display(),
        std::fs::metadata(&corpus)?.len(),
        gz.display(),
        std::fs::metadata(&gz)?.len()
    );
    Ok((corpus, gz))
}

pub(crate) fn header() {
    println!(
        "{:<38} {:>8} {:>8} {:>9} {:>10} {:>13} vs baseline (per core)",
        "run", "wall s", "cpu s", "MB/s", "MB/s/core", "events/s/core"
    );
}

/// `firebreak bench ingest`.
pub fn run_ingest(args: &BenchArgs) -> Result<()> {
    let (corpus, gz) = corpus_paths(args)?;
    header();
    for (path, compressed) in [(&corpus, false), (&gz, true)] {
        let kind = if compressed { "gz" } else { "plain" };
        // Warm the page cache so the first measurement is not penalized.
        line_split(path, compressed)?;
        let base = timed(format!("baseline line split ({kind})"), || {
            line_split(path, compressed)
        })?;
        base.print(None);
        for &t in &args.threads {
            let m = timed(format!("firebreak ingest {t} thread(s) ({kind})"), || {
                firebreak(path, t)
            })?;
            m.print(Some(&base));
        }
    }
    let (_, rss) = rusage();
    println!("peak RSS: {:.1} MiB", rss as f64 / 1024.0);
    println!(
        "(per core = bytes or events per CPU-second of the whole process, reader thread included)"
    );
    if args.adversarial {
        adversarial()?;
    }
    Ok(())
}

/// Sizes of the hostile line, in MiB.
const ADVERSARIAL_MIB: [usize; 5] = [1, 4, 16, 64, 256];

/// Each size is timed over this much input (so many lines of it), so that every size is read
/// from memory, not from a cache that only the small ones fit in.
const ADVERSARIAL_TOTAL_MIB: usize = 256;

/// Hostile input: lines of N MiB that are not JSON (space-separated tokens, so every text
/// path sees them), 256 MiB in all, plain and gzipped, each line read whole (the record limit
/// raised above it). Linear time means seconds per MiB stay within 2× of each other across
/// line sizes. Best of two reads.
fn adversarial() -> Result<()> {
    let dir = tempfile::tempdir()?;
    println!();
    println!(
        "adversarial: non-JSON lines of N MiB, {ADVERSARIAL_TOTAL_MIB} MiB in all, each read whole"
    );
    println!(
        "{:<10} {:>6} {:>6} {:>10} {:>12}",
        "input", "MiB", "lines", "wall s", "s per MiB"
    );
    for compressed in [false, true] {
        let mut per_mib = Vec::new();
        for mib in ADVERSARIAL_MIB {
            let path = dir.path().join(if compressed {
                "lines.log.gz"
            } else {
                "lines.log"
            });
            let mut line = b"AAAAAAA ".repeat((mib << 20) / 8);
            line.push(b'\n');
            let count = (ADVERSARIAL_TOTAL_MIB / mib).max(1);
            let file = BufWriter::new(std::fs::File::create(&path)?);
            if compressed {
                let mut enc = GzEncoder::new(file, Compression::fast());
                (0..count).try_for_each(|_| enc.write_all(&line))?;
                enc.finish()?.flush()?;
            } else {
                let mut file = file;
                (0..count).try_for_each(|_| file.write_all(&line))?;
                file.flush()?;
            }
            drop(line);
            let opts = IngestOptions {
                threads: 1,
                max_record_bytes: (mib + 1) << 20,
                ..IngestOptions::default()
            };
            let mut best = f64::MAX;
            for _ in 0..2 {
                let start = Instant::now();
                let summary = ingest::ingest(&[Input::File(path.clone())], &opts, &Count, |_| {})?;
                best = best.min(start.elapsed().as_secs_f64());
                if summary.rejected() != count as u64 || summary.events() != 0 {
                    bail!("each hostile line must be one rejection");
                }
            }
            let total = (count * mib) as f64;
            let kind = if compressed { "gz" } else { "plain" };
            println!(
                "{kind:<10} {mib:>6} {count:>6} {best:>10.3} {:>12.5}",
                best / total
            );
            per_mib.push(best / total);
        }
        let (lo, hi) = per_mib
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        println!(
            "seconds per MiB, slowest over fastest ({}): {:.2} ({})",
            if compressed { "gz" } else { "plain" },
            hi / lo,
            if hi / lo <= 2.0 {
                "linear: within 2x"
            } else {
                "NOT within 2x"
            }
        );
    }
    Ok(())
}
