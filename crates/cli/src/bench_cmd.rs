//! `firebreak bench …`: the throughput measurements, each beside a baseline run with it.

use crate::bench::BenchArgs;
use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchTarget {
    /// Parse-to-normalized throughput of `ingest`.
    Ingest(BenchArgs),
    /// Detection throughput of `hunt` (SigmaHQ AWS rules plus the bundled rules).
    Hunt(BenchArgs),
    /// The team server's pages under concurrent clients against a generated store.
    Server(crate::bench_server::ServerBenchArgs),
}

pub fn run(target: BenchTarget) -> Result<()> {
    match target {
        BenchTarget::Ingest(args) => crate::bench::run_ingest(&args),
        BenchTarget::Hunt(args) => crate::bench_hunt::run(&args),
        BenchTarget::Server(args) => crate::bench_server::run(&args),
    }
}
