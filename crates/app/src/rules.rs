//! Which Sigma rules a hunt runs: the bundled ones and a team's own, read from files, with
//! placeholder values and AWS's published address ranges. The CLI's `hunt`, `rules check`
//! and the team server load rules through here, so both run the same set the same way.

use crate::{Error, Result};
use detect::Detector;
use sigma::RuleError;
use sigma::compile::{Placeholders, RuleSet};
use std::path::{Path, PathBuf};

/// Where rules come from (flags, or `firebreak.toml`).
#[derive(Debug, Clone, Default)]
pub struct RuleSources {
    /// Directories (read recursively for `.yml`/`.yaml`) or files of Sigma rules.
    pub paths: Vec<PathBuf>,
    /// Leave out the rules bundled with Firebreak.
    pub no_bundled: bool,
    /// `NAME=VALUE` values for `%placeholders%` used with the `expand` modifier.
    pub placeholders: Vec<String>,
    /// A YAML file of placeholder values (`NAME: [VALUE, …]`).
    pub placeholder_file: Option<PathBuf>,
    /// AWS's `ip-ranges.json`: the `%aws_ip_ranges%` placeholder of the rules on instance
    /// credentials used outside AWS.
    pub aws_ip_ranges: Option<PathBuf>,
}

/// Why a rule source could not be read at all (a rule that does not load is a
/// [`RuleError`] in [`LoadedRules::errors`], not this).
#[derive(Debug, thiserror::Error)]
pub enum RuleSourceError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Placeholder(String),
    #[error("placeholder file: {0}")]
    PlaceholderFile(#[from] RuleError),
    #[error("{} (--aws-ip-ranges): {source}", path.display())]
    AwsIpRanges {
        path: PathBuf,
        source: detect::aws_ranges::AwsRangesError,
    },
}

/// A compiled rule set and what did not load.
pub struct LoadedRules {
    pub set: RuleSet,
    /// Every rule that did not load, with file, line and column.
    pub errors: Vec<RuleError>,
    /// Rule files read (the bundled ones included).
    pub files: usize,
}

impl LoadedRules {
    /// A detector over the rules; `context` when its alerts are to open cases.
    pub fn detector(self, findings_as_alerts: bool, context: bool) -> Detector {
        Detector::new(self.set, findings_as_alerts).with_context(context)
    }
}

fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> RuleSourceError + use<> {
    let path = path.to_path_buf();
    move |source| RuleSourceError::Read { path, source }
}

fn collect(path: &Path, out: &mut Vec<(String, String)>) -> Result<(), RuleSourceError> {
    let meta = std::fs::metadata(path).map_err(read_error(path))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(read_error(path))?
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
        let text = std::fs::read_to_string(path).map_err(read_error(path))?;
        out.push((path.display().to_string(), text));
    }
    Ok(())
}

/// Rule files below `paths` as (name, text), after the bundled rules when `bundled`.
pub fn sources(paths: &[PathBuf], bundled: bool) -> Result<Vec<(String, String)>, RuleSourceError> {
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

/// Placeholder values from a YAML file (if any) plus `NAME=VALUE` specs.
pub fn placeholders(
    specs: &[String],
    file: Option<&Path>,
) -> Result<Placeholders, RuleSourceError> {
    let mut p = match file {
        Some(f) => {
            let text = std::fs::read_to_string(f).map_err(read_error(f))?;
            Placeholders::from_yaml(&f.display().to_string(), &text)?
        }
        None => Placeholders::default(),
    };
    for s in specs {
        p.add(s).map_err(RuleSourceError::Placeholder)?;
    }
    Ok(p)
}

/// Reads and compiles the rules `from` names.
pub fn load(from: &RuleSources) -> Result<LoadedRules, RuleSourceError> {
    let sources = sources(&from.paths, !from.no_bundled)?;
    let mut ph = placeholders(&from.placeholders, from.placeholder_file.as_deref())?;
    if let Some(file) = &from.aws_ip_ranges {
        let text = std::fs::read_to_string(file).map_err(read_error(file))?;
        let prefixes =
            detect::aws_ranges::parse(&text).map_err(|source| RuleSourceError::AwsIpRanges {
                path: file.clone(),
                source,
            })?;
        ph.0.entry(detect::aws_ranges::PLACEHOLDER.to_string())
            .or_default()
            .extend(prefixes);
    }
    let (set, errors, files) =
        detect::rules::build(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())), &ph);
    Ok(LoadedRules { set, errors, files })
}

/// Where a rule came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOrigin {
    /// Bundled with Firebreak.
    Bundled,
    /// A team's own rule file.
    Custom,
}

/// One rule or correlation, for listing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleSummary {
    pub id: String,
    /// The rule's `name` (what correlations refer to it by).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub title: String,
    pub level: model::Severity,
    pub tags: Vec<String>,
    pub file: String,
    pub correlation: bool,
    pub origin: RuleOrigin,
}

/// The rules and correlations of `set` that raise alerts, in load order.
pub fn summaries(set: &RuleSet) -> Vec<RuleSummary> {
    let bundled: std::collections::HashSet<&str> =
        detect::rules::BUNDLED.iter().map(|(n, _)| *n).collect();
    let summary = |m: &sigma::ast::Meta, correlation: bool| RuleSummary {
        id: m
            .id
            .clone()
            .or_else(|| m.name.clone())
            .unwrap_or_else(|| m.file.clone()),
        name: m.name.clone(),
        title: m.title.clone(),
        level: detect::severity_of(m.level),
        tags: m.tags.clone(),
        file: m.file.clone(),
        correlation,
        origin: if bundled.contains(m.file.as_str()) {
            RuleOrigin::Bundled
        } else {
            RuleOrigin::Custom
        },
    };
    set.rules
        .iter()
        .filter(|r| r.emit)
        .map(|r| summary(&r.meta, false))
        .chain(set.correlations.iter().map(|c| summary(&c.rule.meta, true)))
        .collect()
}

/// The bundled rules and correlations.
pub fn bundled() -> Result<Vec<RuleSummary>> {
    Ok(summaries(&bundled_set()?))
}

/// The bundled rule set, which must load.
pub fn bundled_set() -> Result<RuleSet> {
    let (set, errors, _) = detect::rules::build(
        detect::rules::BUNDLED.iter().copied(),
        &sigma::compile::Placeholders::default(),
    );
    if let Some(e) = errors.first() {
        return Err(Error::BundledRules(e.to_string()));
    }
    Ok(set)
}
