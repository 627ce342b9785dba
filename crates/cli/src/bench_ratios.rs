//! The three ratios `bench hunt` ends with, from paired rounds of this binary and rsigma
//! pinned to one core, each run a separate process with its output discarded:
//! - plain `hunt` against rsigma, both with the SigmaHQ AWS rules (throughput);
//! - `hunt --cases` into a fresh store against plain `hunt`, bundled rules (cost);
//! - plain `hunt` with SigmaHQ + bundled rules against a lazy scan of the same corpus (every
//!   line validated by `serde_json` into `IgnoredAny`: borrowed, nothing built; the parse
//!   limit), as the share of that limit `hunt` reaches.
//!
//! Every run reports CPU seconds, peak RSS and, where the kernel allows `perf_event_open`,
//! retired user-space instructions, which repeat far more closely than time.

use anyhow::{Context, Result, bail};
use perf_event::events::Hardware;
use perf_event::{Builder, Counter};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one run cost.
#[derive(Clone, Copy, Debug)]
struct Cost {
    cpu: f64,
    instructions: Option<u64>,
    peak_rss_kib: u64,
}

/// Counts user-space instructions of this thread and every process or thread it starts.
struct Meter {
    counter: std::result::Result<Counter, String>,
}

impl Meter {
    fn new() -> Self {
        let counter = Builder::new(Hardware::INSTRUCTIONS)
            .observe_self()
            .any_cpu()
            .inherit(true)
            .exclude_kernel(true)
            .exclude_hv(true)
            .build()
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENOENT | libc::EOPNOTSUPP) => {
                    format!("this machine exposes no hardware counter for them ({e})")
                }
                Some(libc::EACCES | libc::EPERM) => format!(
                    "perf_event_open is not permitted here ({e}; see /proc/sys/kernel/perf_event_paranoid)"
                ),
                _ => format!("perf_event_open failed: {e}"),
            });
        Self { counter }
    }

    fn unavailable(&self) -> Option<&str> {
        self.counter.as_ref().err().map(String::as_str)
    }

    /// Runs `f` and returns the instructions retired meanwhile, when counting works.
    fn count<T>(&mut self, f: impl FnOnce() -> Result<T>) -> Result<(T, Option<u64>)> {
        let Ok(c) = &mut self.counter else {
            return Ok((f()?, None));
        };
        c.reset()?;
        c.enable()?;
        let out = f();
        c.disable()?;
        let n = c.read()?;
        Ok((out?, Some(n)))
    }
}

/// Runs `cmd` to completion (exit 0 or 1: `hunt` exits 1 when alerts fire) and returns its
/// own CPU time and peak RSS, from `wait4`.
fn run_child(cmd: &mut Command, meter: &mut Meter) -> Result<Cost> {
    let errors = tempfile::tempfile()?;
    cmd.stdout(Stdio::null()).stderr(errors.try_clone()?);
    let ((status, usage), instructions) = meter.count(|| {
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {:?}", cmd.get_program()))?;
        let mut status = 0;
        // SAFETY: wait4 only writes into the two values we pass; the child is ours.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let pid = child.id() as libc::pid_t;
        if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
            bail!(
                "waiting for {:?}: {}",
                cmd.get_program(),
                std::io::Error::last_os_error()
            );
        }
        Ok((status, usage))
    })?;
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    if !matches!(code, Some(0 | 1)) {
        let mut text = String::new();
        let mut errors = errors;
        std::io::Seek::rewind(&mut errors)?;
        errors.take(4000).read_to_string(&mut text)?;
        bail!(
            "{:?} {:?} failed ({}): {}",
            cmd.get_program(),
            cmd.get_args().collect::<Vec<_>>(),
            code.map_or("killed".to_string(), |c| format!("exit {c}")),
            text.trim()
        );
    }
    Ok(Cost {
        cpu: crate::bench::cpu_seconds(&usage),
        instructions,
        peak_rss_kib: usage.ru_maxrss as u64,
    })
}

/// The lazy scan, in this process: (events, cost).
fn lazy_scan(corpus: &Path, meter: &mut Meter) -> Result<(u64, Cost)> {
    let (cpu0, _) = crate::bench::rusage();
    let (events, instructions) = meter.count(|| {
        let mut reader = BufReader::with_capacity(1 << 20, File::open(corpus)?);
        let (mut line, mut events) = (Vec::new(), 0u64);
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let text = line.trim_ascii();
            if !text.is_empty() && serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok() {
                events += 1;
            }
        }
        Ok(events)
    })?;
    let (cpu1, rss) = crate::bench::rusage();
    Ok((
        events,
        Cost {
            cpu: cpu1 - cpu0,
            instructions,
            peak_rss_kib: rss,
        },
    ))
}

/// Pins this thread (and so every child it starts) to one CPU until dropped.
struct Pin {
    saved: libc::cpu_set_t,
    cpu: Option<usize>,
}

impl Pin {
    fn first_allowed() -> Self {
        // SAFETY: the affinity calls only read or write the cpu_set_t we pass.
        unsafe {
            let mut saved: libc::cpu_set_t = std::mem::zeroed();
            let size = std::mem::size_of::<libc::cpu_set_t>();
            if libc::sched_getaffinity(0, size, &mut saved) != 0 {
                return Self { saved, cpu: None };
            }
            let Some(cpu) = (0..libc::CPU_SETSIZE as usize).find(|&c| libc::CPU_ISSET(c, &saved))
            else {
                return Self { saved, cpu: None };
            };
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut one);
            let pinned = libc::sched_setaffinity(0, size, &one) == 0;
            Self {
                saved,
                cpu: pinned.then_some(cpu),
            }
        }
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        if self.cpu.is_some() {
            // SAFETY: restores the mask read in `first_allowed`.
            unsafe {
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &self.saved)
            };
        }
    }
}

/// Where rsigma is: `--rsigma`, else where `scripts/bench-vs-rsigma.sh` installs it, else PATH.
fn find_rsigma(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p.to_path_buf());
    }
    let local = PathBuf::from("target/rsigma/bin/rsigma");
    if local.is_file() {
        return std::fs::canonicalize(local).ok();
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("rsigma"))
            .find(|p| p.is_file())
    })
}

/// rsigma moved `eval` under `engine` in later releases; the words this build takes.
fn rsigma_eval(rsigma: &Path) -> Vec<&'static str> {
    let nested = Command::new(rsigma)
        .args(["engine", "eval", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if nested {
        vec!["engine", "eval"]
    } else {
        vec!["eval"]
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Rsigma,
    HuntSigmaHq,
    HuntBundled,
    CasesBundled,
    HuntBoth,
    LazyScan,
}

impl Variant {
    const ALL: [Variant; 6] = [
        Variant::Rsigma,
        Variant::HuntSigmaHq,
        Variant::HuntBundled,
        Variant::CasesBundled,
        Variant::HuntBoth,
        Variant::LazyScan,
    ];

    fn label(self) -> &'static str {
        match self {
            Variant::Rsigma => "rsigma eval (SigmaHQ rules)",
            Variant::HuntSigmaHq => "hunt (SigmaHQ rules)",
            Variant::HuntBundled => "hunt (bundled rules)",
            Variant::CasesBundled => "hunt --cases, fresh store (bundled)",
            Variant::HuntBoth => "hunt (SigmaHQ + bundled rules)",
            Variant::LazyScan => "lazy scan (serde IgnoredAny)",
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs the paired rounds and prints the table and the three ratios.
pub fn run(
    corpus: &Path,
    sigmahq_rules: &Path,
    rsigma: Option<&Path>,
    rounds: usize,
) -> Result<()> {
    let corpus = std::fs::canonicalize(corpus)?;
    let sigmahq_rules = std::fs::canonicalize(sigmahq_rules)?;
    let exe = std::env::current_exe()?;
    let rsigma = find_rsigma(rsigma);
    let eval = rsigma.as_deref().map(rsigma_eval);
    // Children run in an empty folder, so no firebreak.toml of the caller's applies.
    let work = tempfile::tempdir()?;
    let rounds = rounds.max(1);
    let pin = Pin::first_allowed();
    let mut meter = Meter::new();
    let mut costs: Vec<Vec<Option<Cost>>> = vec![Vec::new(); Variant::ALL.len()];
    let mut events = 0;
    for round in 0..rounds {
        for (i, v) in Variant::ALL.into_iter().enumerate() {
            let hunt = |extra: &[&std::ffi::OsStr]| {
                let mut c = Command::new(&exe);
                c.current_dir(work.path())
                    .arg("hunt")
                    .arg(&corpus)
                    .args(["--threads", "1", "--no-progress", "--output", "jsonl"])
                    .args(["--out", "/dev/null", "--actor", "bench"])
                    .args(extra);
                c
            };
            let sigmahq = ["--rules".as_ref(), sigmahq_rules.as_os_str()];
            let cost = match v {
                Variant::Rsigma => match (&rsigma, &eval) {
                    (Some(r), Some(words)) => {
                        let mut c = Command::new(r);
                        c.current_dir(work.path())
                            .args(words)
                            .arg("-r")
                            .arg(&sigmahq_rules)
                            .stdin(File::open(&corpus)?);
                        Some(run_child(&mut c, &mut meter)?)
                    }
                    _ => None,
                },
                Variant::HuntSigmaHq => {
                    let mut args = sigmahq.to_vec();
                    args.push("--no-bundled".as_ref());
                    Some(run_child(&mut hunt(&args), &mut meter)?)
                }
                Variant::HuntBundled => Some(run_child(&mut hunt(&[]), &mut meter)?),
                Variant::CasesBundled => {
                    let db = work.path().join(format!("cases-{round}.db"));
                    let args = ["--cases".as_ref(), "--db".as_ref(), db.as_os_str()];
                    Some(run_child(&mut hunt(&args), &mut meter)?)
                }
                Variant::HuntBoth => Some(run_child(&mut hunt(&sigmahq), &mut meter)?),
                Variant::LazyScan => {
                    let (n, cost) = lazy_scan(&corpus, &mut meter)?;
                    events = n;
                    Some(cost)
                }
            };
            costs[i].push(cost);
        }
    }
    let pinned = pin.cpu;
    drop(pin);
    print(&Report {
        costs: &costs,
        events,
        rounds,
        pinned,
        meter: &meter,
        rsigma: rsigma.as_deref(),
    });
    Ok(())
}

struct Report<'a> {
    costs: &'a [Vec<Option<Cost>>],
    events: u64,
    rounds: usize,
    pinned: Option<usize>,
    meter: &'a Meter,
    rsigma: Option<&'a Path>,
}

fn print(r: &Report<'_>) {
    println!(
        "ratios: {} paired round(s), each run a process on {}, output discarded; medians",
        r.rounds,
        r.pinned.map_or(
            "an unpinned core (affinity not settable)".to_string(),
            |c| format!("cpu {c}")
        )
    );
    if cfg!(debug_assertions) {
        println!(
            "  (a debug build: run `cargo run --release -- bench hunt` for representative figures)"
        );
    }
    if let Some(why) = r.meter.unavailable() {
        println!("  instructions: not counted: {why}; compare the paired CPU times");
    }
    println!(
        "{:<38} {:>8} {:>14} {:>13} {:>10}",
        "run", "cpu s", "instructions", "events/s/core", "peak RSS"
    );
    for (i, v) in Variant::ALL.into_iter().enumerate() {
        let runs: Vec<Cost> = r.costs[i].iter().flatten().copied().collect();
        if runs.is_empty() {
            println!("{:<38} not run", v.label());
            continue;
        }
        let cpu = median(runs.iter().map(|c| c.cpu).collect());
        let instr = runs
            .iter()
            .map(|c| c.instructions.map(|n| n as f64))
            .collect::<Option<Vec<_>>>()
            .map(median);
        let rss = runs.iter().map(|c| c.peak_rss_kib).max().unwrap_or(0);
        println!(
            "{:<38} {:>8.3} {:>14} {:>13.0} {:>7.1} MiB",
            v.label(),
            cpu,
            instr.map_or("-".to_string(), |n| format!("{:.3} G", n / 1e9)),
            r.events as f64 / cpu.max(1e-9),
            rss as f64 / 1024.0
        );
    }
    let ratio = |num: Variant, den: Variant, name: &str, goal: &str| {
        let (a, b) = (index(num), index(den));
        let pairs: Vec<(Cost, Cost)> = r.costs[a]
            .iter()
            .zip(&r.costs[b])
            .filter_map(|(x, y)| Some(((*x)?, (*y)?)))
            .collect();
        if pairs.is_empty() {
            let why = match r.rsigma {
                None => {
                    "rsigma not found: scripts/bench-vs-rsigma.sh installs it into target/rsigma, or pass --rsigma"
                }
                Some(_) => "not measured",
            };
            println!("{name}: {why}");
            return;
        }
        let time: Vec<f64> = pairs.iter().map(|(x, y)| x.cpu / y.cpu.max(1e-9)).collect();
        let instr: Option<Vec<f64>> = pairs
            .iter()
            .map(|(x, y)| Some(x.instructions? as f64 / y.instructions?.max(1) as f64))
            .collect();
        let (lo, hi) = time
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        println!(
            "{name}: {:.2}x by CPU time [{lo:.2}–{hi:.2}]{}  {goal}",
            median(time.clone()),
            instr.map_or(String::new(), |v| format!(
                ", {:.2}x by instructions",
                median(v)
            ))
        );
    };
    // Each ratio is arranged so that larger means "further along": throughput, cost, share.
    ratio(
        Variant::Rsigma,
        Variant::HuntSigmaHq,
        "hunt / rsigma (throughput, SigmaHQ rules)",
        "(goal ≥ 4x)",
    );
    ratio(
        Variant::CasesBundled,
        Variant::HuntBundled,
        "hunt --cases / hunt (cost, bundled rules)",
        "(goal ≤ 2x)",
    );
    ratio(
        Variant::LazyScan,
        Variant::HuntBoth,
        "hunt / lazy scan (share of the parse limit, both rule sets)",
        "(1.00 = as fast as the scan)",
    );
}

fn index(v: Variant) -> usize {
    Variant::ALL.iter().position(|x| *x == v).unwrap_or(0)
}
