//! The layering rules of ARCHITECTURE.md, checked on every crate's manifest.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Normal (non-dev) dependencies of each crate under `crates/`.
fn dependencies() -> BTreeMap<String, Vec<String>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let mut section = String::new();
        let mut deps = Vec::new();
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.trim_matches(['[', ']']).to_string();
            } else if (section == "dependencies"
                || section.starts_with("target.") && section.ends_with(".dependencies"))
                && let Some((name, _)) = line.split_once('=')
            {
                deps.push(name.trim().to_string());
            }
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        out.insert(name, deps);
    }
    out
}

#[test]
fn each_adapter_lives_in_its_own_crate() {
    let deps = dependencies();
    assert!(
        deps.contains_key("model") && deps.contains_key("ingest"),
        "{deps:?}"
    );
    for (krate, list) in &deps {
        for dep in list {
            let owner = match dep.as_str() {
                d if d.starts_with("aws-sdk-")
                    || d.starts_with("aws-smithy-")
                    || d == "aws-config"
                    || d == "aws-credential-types" =>
                {
                    Some("aws")
                }
                "rusqlite" | "tokio-postgres" | "deadpool-postgres" => Some("store"),
                "axum" | "tower-http" | "hyper" => Some("server"),
                "anyhow" | "clap" | "indicatif" => Some("cli"),
                _ => None,
            };
            if let Some(owner) = owner {
                assert_eq!(
                    krate, owner,
                    "`{krate}` depends on `{dep}`, which only `{owner}` may use"
                );
            }
        }
    }
}

#[test]
fn pure_crates_have_no_runtime_or_io_dependencies() {
    let pure = [
        "model",
        "sigma",
        "detect",
        "plan",
        "case",
        "playbook",
        "custody",
        "signing",
        "workstation",
        "report",
    ];
    for (krate, list) in dependencies()
        .iter()
        .filter(|(k, _)| pure.contains(&k.as_str()))
    {
        for dep in list {
            assert!(
                !matches!(
                    dep.as_str(),
                    "tokio"
                        | "reqwest"
                        | "walkdir"
                        | "crossbeam-channel"
                        | "store"
                        | "ingest"
                        | "aws"
                        | "rusqlite"
                ),
                "pure crate `{krate}` depends on `{dep}`"
            );
        }
    }
}
