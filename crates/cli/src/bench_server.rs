//! `firebreak bench server`: the team server's queue, case and timeline pages under
//! concurrent clients, against a generated store, beside the health endpoint measured in
//! the same run; once on a small store and once on the large one, so growth with the
//! store's size shows.

use crate::settings::open_app;
use anyhow::{Context, Result};
use clap::Args;

#[derive(Args, Debug)]
pub struct ServerBenchArgs {
    /// Cases in the large store.
    #[arg(long, default_value_t = 10_000)]
    pub cases: i64,
    /// Timeline events per case (10,000 × 100 = 1,000,000).
    #[arg(long, default_value_t = 100)]
    pub events_per_case: i64,
    /// Cases in the small store the large one is compared with.
    #[arg(long, default_value_t = 100)]
    pub small_cases: i64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// Requests per client per page.
    #[arg(long, default_value_t = 20)]
    pub requests: usize,
}

fn settings(dir: &std::path::Path) -> Result<app::Settings> {
    Ok(app::Settings {
        db: dir.join("bench.db"),
        actor: "bench".into(),
        grouping: case::GroupingConfig::default(),
        // A team server runs with its IR plan: cases carry SLA clocks, people their roles.
        plan: Some(app::LoadedPlan {
            path: "example plan".into(),
            plan: plan::parse(plan::EXAMPLE, "example plan", plan::Format::Toml)?,
            digest: signing::Sha256Digest::of(plan::EXAMPLE.as_bytes()),
        }),
        evidence: app::EvidenceSettings {
            locker: Some(dir.join("evidence")),
            ..Default::default()
        },
        approval: Default::default(),
        exhaustive_timeline: false,
    })
}

/// The bench store in `dir` opened again (for a second server on it).
fn reopen(dir: &std::path::Path) -> Result<app::App> {
    open_app(settings(dir)?, None)
}

fn store_with(dir: &std::path::Path, cases: i64, per_case: i64) -> Result<(app::App, String)> {
    let app = open_app(settings(dir)?, None)?;
    let mut store = store::Store::open(&app.settings.db)?;
    app::pipeline::detect_and_open(&app, &mut store, &crate::samples::inputs())?;
    store.replicate_for_bench(case::CaseId(1), cases, per_case)?;
    app::people::add_user(
        &app,
        &mut store,
        &app::people::NewUser {
            name: "bench",
            // The incident commander of the example plan: sees and works every case.
            contact: Some("alice"),
            password: Some("bench password, long enough"),
            totp: false,
        },
    )?;
    let signed =
        app::people::start_session(&app, &mut store, "bench".into(), "bench".into(), "password")?;
    Ok((app, signed.token))
}

pub fn run(args: &ServerBenchArgs) -> Result<()> {
    let mut rows: Vec<(
        i64,
        Vec<server::bench::PageTiming>,
        Vec<server::bench::PageTiming>,
    )> = Vec::new();
    for cases in [args.small_cases, args.cases] {
        let tmp = tempfile::tempdir().context("temporary directory")?;
        let t = std::time::Instant::now();
        let (app, token) = store_with(tmp.path(), cases, args.events_per_case)?;
        eprintln!(
            "store: {cases} cases × {} events built in {:.1} s",
            args.events_per_case,
            t.elapsed().as_secs_f64()
        );
        let middle = (cases / 2).max(1);
        let pages = [
            ("health", "/health".to_string()),
            ("queue", "/cases".to_string()),
            ("case", format!("/cases/{middle}")),
            ("timeline", format!("/cases/{middle}/timeline?offset=50")),
            ("api queue", "/api/v1/cases?limit=50".to_string()),
        ];
        let kept = server::bench::measure(
            app,
            server::ServerConfig::default(),
            &token,
            &pages,
            args.clients,
            args.requests,
        )?;
        // The same pages with nothing kept: every request reads the store (the cost after
        // each change, and of a page nobody asked for since).
        let app = reopen(tmp.path())?;
        let cold = server::bench::measure(
            app,
            server::ServerConfig {
                cold_reads: true,
                ..Default::default()
            },
            &token,
            &pages,
            args.clients,
            args.requests,
        )?;
        rows.push((cases, kept, cold));
    }
    println!(
        "team server, {} clients × {} requests per page, latency on loopback (connection included)",
        args.clients, args.requests
    );
    println!(
        "{:<10} {:>8} {:>6} {:>10} {:>10} {:>12} {:>7}",
        "page", "cases", "reads", "p50 ms", "p99 ms", "p99/health", "errors"
    );
    for (cases, kept, cold) in &rows {
        for (reads, timings) in [("kept", kept), ("cold", cold)] {
            let health = timings
                .iter()
                .find(|t| t.page == "health")
                .map_or(1, |t| t.p99_us.max(1));
            for t in timings {
                println!(
                    "{:<10} {:>8} {:>6} {:>10.2} {:>10.2} {:>11.1}× {:>7}",
                    t.page,
                    cases,
                    reads,
                    t.p50_us as f64 / 1000.0,
                    t.p99_us as f64 / 1000.0,
                    t.p99_us as f64 / health as f64,
                    t.errors
                );
            }
        }
    }
    if let [(small, a, ac), (large, b, bc)] = rows.as_slice() {
        println!("growth with the store ({small} → {large} cases), p99 ratio (kept, cold):");
        for ((x, y), (xc, yc)) in a.iter().zip(b).zip(ac.iter().zip(bc)) {
            println!(
                "  {:<10} {:.2}×  {:.2}×",
                x.page,
                y.p99_us as f64 / x.p99_us.max(1) as f64,
                yc.p99_us as f64 / xc.p99_us.max(1) as f64
            );
        }
    }
    Ok(())
}
