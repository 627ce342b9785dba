//! `firebreak`: AWS security incident response in one binary.

mod bench;
mod demo;
mod ingest_cmd;
mod progress;
mod samples;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "firebreak",
    version,
    about = "AWS security incident response: read logs, detect, open cases, respond."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read AWS logs (CloudTrail, VPC Flow Logs, GuardDuty, Security Hub, CloudWatch Logs
    /// subscription payloads) and write normalized events.
    Ingest(ingest_cmd::IngestArgs),
    /// Run the quick start on the bundled sample incident (no AWS account needed).
    Demo,
    /// Measure throughput against a baseline measured in the same run.
    Bench {
        #[command(subcommand)]
        target: bench::BenchTarget,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Ingest(args) => ingest_cmd::run(args),
        Command::Demo => demo::run(),
        Command::Bench { target } => bench::run(target),
    }
}
