//! `firebreak rules check`, and reading rule files for every command that needs them.

use anyhow::Result;
use clap::{Args, Subcommand};
use sigma::compile::RuleSet;
use sigma::{Item, RuleError};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Load rules and report each one that cannot load, with file, line and reason.
    Check(CheckArgs),
}

/// Where rules come from.
#[derive(Args, Clone, Debug)]
pub struct RuleArgs {
    /// A directory (read recursively for .yml/.yaml) or file of Sigma rules; repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Leave out the rules bundled with Firebreak.
    #[arg(long)]
    pub no_bundled: bool,
    /// A value for a %placeholder% used with the `expand` modifier: NAME=VALUE (repeatable).
    #[arg(long = "placeholder", value_name = "NAME=VALUE")]
    pub placeholders: Vec<String>,
    /// A YAML file of placeholder values (`NAME: [VALUE, …]`).
    #[arg(long = "placeholders", value_name = "FILE")]
    pub placeholder_file: Option<PathBuf>,
    /// Run with the rules that load, listing the others, instead of stopping (exit 2).
    #[arg(long)]
    pub skip_invalid_rules: bool,
    /// AWS's ip-ranges.json (download and refresh it yourself): calls with EC2 instance
    /// credentials from outside these ranges alert. Default: `aws_ip_ranges` in firebreak.toml.
    #[arg(long, value_name = "FILE")]
    pub aws_ip_ranges: Option<PathBuf>,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Rule directories or files (default: the bundled rules).
    pub paths: Vec<PathBuf>,
    #[arg(long = "placeholder", value_name = "NAME=VALUE")]
    pub placeholders: Vec<String>,
    /// A YAML file of placeholder values (`NAME: [VALUE, …]`).
    #[arg(long = "placeholders", value_name = "FILE")]
    pub placeholder_file: Option<PathBuf>,
}

impl RuleArgs {
    /// Where the rules come from; `configured_ranges` is `aws_ip_ranges` in the config file.
    pub fn sources(&self, configured_ranges: Option<&Path>) -> app::rules::RuleSources {
        app::rules::RuleSources {
            paths: self.rules.clone(),
            no_bundled: self.no_bundled,
            placeholders: self.placeholders.clone(),
            placeholder_file: self.placeholder_file.clone(),
            aws_ip_ranges: self
                .aws_ip_ranges
                .clone()
                .or_else(|| configured_ranges.map(Path::to_path_buf)),
        }
    }
}

/// Loads and compiles rules; returns the set, the errors of rules that did not load and
/// how many files were read. `configured_ranges` is `aws_ip_ranges` from the config file.
pub fn load(
    args: &RuleArgs,
    configured_ranges: Option<&Path>,
) -> Result<(RuleSet, Vec<RuleError>, usize)> {
    let loaded = app::rules::load(&args.sources(configured_ranges))?;
    Ok((loaded.set, loaded.errors, loaded.files))
}

pub fn run(cmd: RulesCommand) -> Result<bool> {
    let RulesCommand::Check(args) = cmd;
    let bundled = args.paths.is_empty();
    let sources = app::rules::sources(&args.paths, bundled)?;
    let ph = app::rules::placeholders(&args.placeholders, args.placeholder_file.as_deref())?;
    let loaded =
        detect::rules::parse_sources(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())));
    let (set, compile_errors) = sigma::compile(&loaded.items, &detect::rules::with_defaults(&ph));
    let filters = loaded
        .items
        .iter()
        .filter(|i| matches!(i, Item::Filter(_)))
        .count();
    let mut errors = loaded.errors;
    errors.extend(compile_errors);
    for e in &errors {
        println!("{e}");
    }
    let unrouted: Vec<&str> = set
        .rules
        .iter()
        .filter(|r| detect::sources_of(&r.logsource).is_empty())
        .map(|r| r.meta.title.as_str())
        .collect();
    for title in &unrouted {
        println!(
            "note: rule `{title}` has a logsource Firebreak does not read; it will never fire"
        );
    }
    println!(
        "{} file(s): {} rule(s), {} correlation(s), {} filter(s) loaded; {} error(s)",
        loaded.files,
        set.rules.len(),
        set.correlations.len(),
        filters,
        errors.len()
    );
    Ok(errors.is_empty())
}
