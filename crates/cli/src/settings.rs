//! Where the store is, who is acting, how cases group, and which incident response plan
//! applies: command-line flags, then the environment, then `firebreak.toml`, then
//! built-in defaults.

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Flags every command that touches the store takes.
#[derive(Args, Debug, Clone, Default)]
pub struct StoreArgs {
    /// The case store (SQLite). Default: `store.db` in `firebreak.toml`, else `./firebreak.db`.
    #[arg(long, env = "FIREBREAK_DB", global = true)]
    pub db: Option<PathBuf>,
    /// Who is acting, for the audit log. Default: `actor` in `firebreak.toml`, else `$USER`.
    #[arg(long, env = "FIREBREAK_ACTOR", global = true)]
    pub actor: Option<String>,
    /// Configuration file.
    #[arg(
        long,
        env = "FIREBREAK_CONFIG",
        global = true,
        default_value = "firebreak.toml"
    )]
    pub config: PathBuf,
    /// The incident response plan (TOML or YAML). Default: `[plan] path` in
    /// `firebreak.toml`, else `./ir-plan.toml` when it exists.
    #[arg(
        long = "ir-plan",
        value_name = "FILE",
        env = "FIREBREAK_PLAN",
        global = true
    )]
    pub plan: Option<PathBuf>,
}

/// How a command that reports prints: for people, or as JSON (exact values, for tools).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// `firebreak.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub actor: Option<String>,
    /// AWS's ip-ranges.json, for the rules on instance credentials used outside AWS.
    pub aws_ip_ranges: Option<PathBuf>,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub cases: CasesSection,
    #[serde(default)]
    pub plan: PlanSection,
    #[serde(default)]
    pub evidence: app::EvidenceSettings,
    #[serde(default)]
    pub approval: app::ApprovalSettings,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSection {
    pub path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    pub db: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesSection {
    /// Grouping window, e.g. `24h`.
    pub window: Option<String>,
    /// An IP address used by more principals than this links nothing.
    pub max_principals_per_ip: Option<usize>,
}

pub use app::settings::read_plan;
pub use app::{LoadedPlan, Settings};

/// Where `plan init` writes and every command looks when no plan is named.
pub const DEFAULT_PLAN: &str = "ir-plan.toml";

impl StoreArgs {
    /// The plan file named by `--plan` / `FIREBREAK_PLAN`, else by `[plan] path`.
    pub fn named_plan(&self, file: &ConfigFile) -> Option<PathBuf> {
        self.plan.clone().or_else(|| file.plan.path.clone())
    }

    pub fn resolve(&self) -> Result<Settings> {
        let file = load_config(&self.config)?;
        let named_plan = self.named_plan(&file);
        let db = self
            .db
            .clone()
            .or(file.store.db)
            .unwrap_or_else(|| PathBuf::from("firebreak.db"));
        let actor = self
            .actor
            .clone()
            .or(file.actor)
            .or_else(|| std::env::var("USER").ok())
            .or_else(|| std::env::var("USERNAME").ok())
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| "unknown".to_string());
        let mut grouping = case::GroupingConfig::default();
        if let Some(w) = &file.cases.window {
            grouping.window_ms = parse_duration(w)
                .with_context(|| format!("{}: [cases] window", self.config.display()))?;
        }
        if let Some(n) = file.cases.max_principals_per_ip {
            grouping.max_principals_per_ip = n;
        }
        let plan = match named_plan {
            Some(path) => Some(read_plan(&path)?),
            None if Path::new(DEFAULT_PLAN).is_file() => Some(read_plan(Path::new(DEFAULT_PLAN))?),
            None => None,
        };
        Ok(Settings {
            db,
            actor,
            grouping,
            plan,
            evidence: file.evidence,
            approval: file.approval,
            // Debug builds only: the timeline pass reads and examines every record, so
            // tests can prove its shortcuts change nothing. Release builds ignore it.
            exhaustive_timeline: cfg!(debug_assertions)
                && std::env::var_os("FIREBREAK_TIMELINE_EXHAUSTIVE").is_some(),
        })
    }
}

pub fn load_config(path: &Path) -> Result<ConfigFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// `90s`, `30m`, `24h`, `7d` → milliseconds.
pub fn parse_duration(s: &str) -> Result<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().with_context(|| {
        format!("invalid duration {s:?}: expected a number and a unit (s, m, h, d)")
    })?;
    let ms = match unit.trim() {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => bail!("invalid duration {s:?}: unknown unit {other:?} (use s, m, h or d)"),
    };
    n.checked_mul(ms)
        .filter(|v| *v > 0)
        .with_context(|| format!("invalid duration {s:?}"))
}

/// Milliseconds since the Unix epoch, now (the system clock the use cases are given).
pub fn now_ms() -> i64 {
    use app::ports::Clock;
    app::ports::SystemClock.now_ms()
}

/// The use cases' entry point: these settings with this binary's ports (the system clock,
/// AWS through the environment's credentials and `endpoint`, key files, the terminal's
/// notices, the kill tests' fault points).
pub fn open_app(settings: Settings, endpoint: Option<&str>) -> Result<app::App> {
    use std::sync::Arc;
    Ok(app::App::new(
        settings,
        app::Ports {
            clock: Arc::new(app::ports::SystemClock),
            aws: Arc::new(EnvironmentAws {
                endpoint: endpoint.map(str::to_string),
            }),
            keys: Arc::new(app::ports::KeyFiles),
            notifier: Arc::new(app::ports::Silent),
            faults: Arc::new(crate::faults::Faults::from_environment()?),
        },
    ))
}

/// AWS as the environment's credentials reach it; every call to `endpoint` when one is
/// named (an emulator such as moto, with path-style S3).
struct EnvironmentAws {
    endpoint: Option<String>,
}

impl app::ports::AwsAccess for EnvironmentAws {
    fn caller<'a>(
        &'a self,
        region: Option<&'a str>,
    ) -> app::ports::PortFuture<'a, aws::Connection> {
        Box::pin(aws::Connection::from_environment(
            self.endpoint.as_deref(),
            region,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h").unwrap(), 86_400_000);
        assert_eq!(parse_duration("90s").unwrap(), 90_000);
        assert_eq!(parse_duration("7d").unwrap(), 7 * 86_400_000);
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("5w").is_err());
        assert!(parse_duration("0m").is_err());
    }
}
