//! `firebreak rules check`, and reading rule files for every command that needs them.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use sigma::compile::{Placeholders, RuleSet};
use sigma::{Item, RuleError};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Load rules and report each one that cannot load, with file, line and reason.
    Check(CheckArgs),
}

/// Where rules come from.
#[derive(Args, Clone)]
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

fn collect(path: &Path, out: &mut Vec<(String, String)>) -> Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("{}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() || matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
            {
                collect(&p, out)?;
            }
        }
    } else {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        out.push((path.display().to_string(), text));
    }
    Ok(())
}

/// Reads rule files below `paths`, plus the bundled rules unless left out.
pub fn sources(paths: &[PathBuf], bundled: bool) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    if bundled {
        out.extend(
            detect::rules::BUNDLED
                .iter()
                .map(|(n, t)| ((*n).to_string(), (*t).to_string())),
        );
    }
    for p in paths {
        collect(p, &mut out)?;
    }
    Ok(out)
}

/// Placeholder values from a YAML file (if any) plus NAME=VALUE flags.
pub fn placeholders(specs: &[String], file: Option<&PathBuf>) -> Result<Placeholders> {
    let mut p = match file {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            Placeholders::from_yaml(&f.display().to_string(), &text)?
        }
        None => Placeholders::default(),
    };
    for s in specs {
        p.add(s).map_err(anyhow::Error::msg)?;
    }
    Ok(p)
}

/// Loads and compiles rules; returns the set and the errors of rules that did not load.
/// Loads the rules; `configured_ranges` is `aws_ip_ranges` from the config file.
pub fn load(
    args: &RuleArgs,
    configured_ranges: Option<&Path>,
) -> Result<(RuleSet, Vec<RuleError>, usize)> {
    let sources = sources(&args.rules, !args.no_bundled)?;
    let mut ph = placeholders(&args.placeholders, args.placeholder_file.as_ref())?;
    if let Some(file) = args.aws_ip_ranges.as_deref().or(configured_ranges) {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let prefixes = detect::aws_ranges::parse(&text)
            .with_context(|| format!("{} (--aws-ip-ranges)", file.display()))?;
        ph.0.entry(detect::aws_ranges::PLACEHOLDER.to_string())
            .or_default()
            .extend(prefixes);
    }
    Ok(detect::rules::build(
        sources.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        &ph,
    ))
}

pub fn run(cmd: RulesCommand) -> Result<bool> {
    let RulesCommand::Check(args) = cmd;
    let bundled = args.paths.is_empty();
    let sources = sources(&args.paths, bundled)?;
    let ph = placeholders(&args.placeholders, args.placeholder_file.as_ref())?;
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
