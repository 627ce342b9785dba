//! `firebreak`: AWS security incident response in one binary.

/// `writeln!` for lines that show log-derived values: every argument goes through
/// [`neutral::terminal::Field`], so no value can break its line or send escapes.
macro_rules! say {
    ($out:expr, $fmt:literal $(, $arg:expr)* $(,)?) => {
        writeln!($out, $fmt $(, neutral::terminal::Field(&$arg))*)
    };
}

use std::io::Write as _;

mod bench;
mod bench_cmd;
mod bench_hunt;
mod bench_ratios;
mod bench_server;
mod case_cmd;
mod demo;
mod evidence_cmd;
mod faults;
mod forensics_cmd;
mod gameday_cmd;
mod hunt;
mod ingest_cmd;
mod keygen_cmd;
mod plan_cmd;
mod progress;
mod readiness_cmd;
mod report_cmd;
mod respond_cmd;
mod rules_cmd;
mod samples;
mod serve_cmd;
mod settings;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "firebreak",
    version,
    about = "AWS security incident response: read logs, detect, open cases, respond."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    store: settings::StoreArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Read AWS logs (CloudTrail, VPC Flow Logs, GuardDuty, Security Hub, CloudWatch Logs
    /// subscription payloads) and write normalized events.
    Ingest(ingest_cmd::IngestArgs),
    /// Run detection rules over logs and print alerts. Exit status: 0 nothing fired,
    /// 1 alerts fired, 2 error.
    Hunt(hunt::HuntArgs),
    /// Work cases: list, show, timelines, notes, tasks, owners, phases, export.
    Case {
        #[command(subcommand)]
        command: case_cmd::CaseCommand,
    },
    /// Work with Sigma rules.
    Rules {
        #[command(subcommand)]
        command: rules_cmd::RulesCommand,
    },
    /// The incident response plan as code: init, check, render.
    Plan {
        #[command(subcommand)]
        command: plan_cmd::PlanCommand,
    },
    /// Check the plan's AWS accounts for incident readiness (SEC10): trails, GuardDuty,
    /// Config, flow logs, Security Hub, responder access, evidence bucket, isolation
    /// groups, log pipeline, plan freshness. Exit status 1 when anything fails.
    Readiness(readiness_cmd::ReadinessArgs),
    /// Respond to a case: plan a playbook (dry-run), approve, run, roll back; the
    /// responder role's IAM policy.
    Respond {
        #[command(subcommand)]
        command: respond_cmd::RespondCommand,
    },
    /// Evidence and chain of custody: collect from AWS, add files, verify, export the
    /// custody report; keygen for signing. Exit status 1 when verification fails.
    Evidence {
        #[command(subcommand)]
        command: evidence_cmd::EvidenceCommand,
    },
    /// The forensic workstation: CloudFormation for an isolated analysis instance with the
    /// case's snapshots attached, and the EC2 Image Builder pipeline for its AMI.
    Forensics {
        #[command(subcommand)]
        command: forensics_cmd::ForensicsCommand,
    },
    /// Make an Ed25519 key: the seed goes to FILE (mode 0600), the public key to standard
    /// output, to list in the IR plan (approval_keys, custody_keys).
    Keygen { file: std::path::PathBuf },
    /// Run the quick start on the bundled sample incident (no AWS account needed).
    Demo,
    /// Game days: run attacker techniques end to end (detected, cased, contained, proven,
    /// rolled back) against the emulator or an exercise account, with a coverage matrix.
    /// Exit status 1 when a scenario did not pass every stage.
    Gameday {
        #[command(subcommand)]
        command: gameday_cmd::GameDayCommand,
    },
    /// After the incident: the post-incident review (drafted from the case, every figure
    /// with its source; Markdown, HTML, PDF) and its verification, and communications from
    /// the IR plan's templates.
    Report {
        #[command(subcommand)]
        command: report_cmd::ReportCommand,
    },
    /// Metrics across cases: time to detect, acknowledge, notify, respond, contain,
    /// recover, close and dwell time, median and p90 per level and quarter.
    Metrics(report_cmd::MetricsArgs),
    /// Start the team server (web UI and REST API) on the case store.
    Serve(serve_cmd::ServeArgs),
    /// The team server's accounts: add, list, disable, enable, and API tokens.
    User {
        #[command(subcommand)]
        command: serve_cmd::UserCommand,
    },
    /// Measure throughput against a baseline measured in the same run.
    Bench {
        #[command(subcommand)]
        target: bench_cmd::BenchTarget,
    },
}

fn main() -> ExitCode {
    // A hostile multi-MiB line is held whole while it is read; on 4 KiB pages that costs one
    // page fault per page (most of the time on a VM). Huge pages for mimalloc's large OS
    // allocations keep long lines linear in practice, not only on paper.
    // The team server is the exception: it reads no such lines, and its many short-lived
    // worker threads would each fault in (and zero) whole huge pages.
    let cli = Cli::parse();
    let serving = matches!(
        cli.command,
        Command::Serve(_)
            | Command::Bench {
                target: bench_cmd::BenchTarget::Server(_)
            }
    );
    if !serving {
        // SAFETY: sets a process-wide allocator option before any thread is started
        // (parsing the command line starts none).
        unsafe { libmimalloc_sys::mi_option_set(libmimalloc_sys::mi_option_large_os_pages, 1) };
    }
    let result = match cli.command {
        Command::Ingest(args) => ingest_cmd::run(args).map(|()| ExitCode::SUCCESS),
        Command::Hunt(args) => {
            hunt::run(args, &cli.store).map(|fired| ExitCode::from(u8::from(fired)))
        }
        Command::Case { command } => case_cmd::run(command, &cli.store).map(|()| ExitCode::SUCCESS),
        Command::Rules { command } => {
            rules_cmd::run(command).map(|ok| ExitCode::from(u8::from(!ok)))
        }
        Command::Plan { command } => {
            plan_cmd::run(command, &cli.store).map(|ok| ExitCode::from(u8::from(!ok)))
        }
        Command::Readiness(args) => {
            readiness_cmd::run(args, &cli.store).map(|ok| ExitCode::from(u8::from(!ok)))
        }
        Command::Respond { command } => {
            respond_cmd::run(command, &cli.store).map(|ok| ExitCode::from(u8::from(!ok)))
        }
        Command::Evidence { command } => {
            evidence_cmd::run(command, &cli.store).map(|ok| ExitCode::from(u8::from(!ok)))
        }
        Command::Forensics { command } => {
            forensics_cmd::run(command, &cli.store).map(|()| ExitCode::SUCCESS)
        }
        Command::Keygen { file } => keygen_cmd::run(&file).map(|()| ExitCode::SUCCESS),
        Command::Gameday { command } => {
            gameday_cmd::run(command, &cli.store).map(|ok| ExitCode::from(u8::from(!ok)))
        }
        Command::Demo => demo::run(&cli.store).map(|()| ExitCode::SUCCESS),
        Command::Report { command } => {
            report_cmd::run(command, &cli.store).map(|ok| ExitCode::from(u8::from(!ok)))
        }
        Command::Metrics(args) => report_cmd::metrics(args, &cli.store).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve_cmd::serve(args, &cli.store).map(|()| ExitCode::SUCCESS),
        Command::User { command } => {
            serve_cmd::user(command, &cli.store).map(|()| ExitCode::SUCCESS)
        }
        Command::Bench { target } => bench_cmd::run(target).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let mut err = neutral::terminal::Printable(std::io::stderr());
            let _ = writeln!(err, "error: {}", error_message(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, each said once: a cause whose text an outer message already
/// holds (`{path}: {source}` errors that also report the source) is not repeated.
fn error_message(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

#[cfg(test)]
mod tests {
    /// Each cause is said once (`No such file or directory (os error 2)` was said twice).
    #[test]
    fn error_messages_say_each_thing_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = anyhow::Error::new(ingest::IngestError::Input {
            path: "logs/missing.json".into(),
            source: io,
        })
        .context("cannot read the inputs");
        let text = super::error_message(&e);
        assert_eq!(text.matches("not found").count(), 1, "{text}");
        assert!(
            text.starts_with("cannot read the inputs: logs/missing.json: "),
            "{text}"
        );
    }

    /// Every subcommand's flags are consistent (clap checks only the ones a run parses).
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
