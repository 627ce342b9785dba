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

/// Nothing changes AWS except an approved plan: every SDK call that writes is made in the
/// response engine's `Call::send` (run and rollback, which take an `ApprovedPlan`), or in
/// the evidence helpers only `Call::send` reaches (snapshot copies, memory capture), or is
/// a write to the evidence bucket itself (uploads and custody anchors under Object Lock).
#[test]
fn only_approved_plans_change_aws() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../aws/src");
    let writes = [
        "create_",
        "delete_",
        "put_",
        "modify_",
        "update_",
        "attach_",
        "detach_",
        "start_",
        "stop_",
        "send_command",
        "copy_",
        "authorize_",
        "revoke_",
        "associate_",
        "disassociate_",
        "register_",
        "deregister_",
        "enable_",
        "disable_",
        "remove_",
        "add_permission",
        "replace_",
        "generate_",
        "reset_",
        "terminate_",
        "run_instances",
    ];
    // (file, function) where writes may be made, and who may call that function.
    let allowed: &[(&str, &str, &[&str])] = &[
        ("respond/call.rs", "send", &[]),
        ("respond/call.rs", "credential_report", &[]),
        ("forensics.rs", "copy_for_forensics", &["respond/call.rs"]),
        ("forensics.rs", "capture_memory", &["respond/call.rs"]),
        ("forensics.rs", "upload", &["cli/src/evidence_cmd.rs"]),
    ];
    let mut files = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    // SDK clients as the adapter makes them (`cx.ec2()`, `conn.s3(region)`) or holds them.
    let clients = [
        "ec2(",
        "iam(",
        "s3(",
        "s3_versioning(",
        "ssm(",
        "guardduty(",
        "lambda(",
        "autoscaling(",
        "elbv2(",
        "organizations(",
        "cloudtrail(",
        "cloudwatchlogs(",
        "logs(",
        "config(",
        "securityhub(",
        "kinesis(",
        "sts(",
    ];
    let held = ["ec2.", "iam.", "s3.", "ssm.", "gd.", "sts.", "org."];
    let mut found = 0;
    for f in &files {
        let rel = f
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text: String = std::fs::read_to_string(f)
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        // Each function's body, by name (nested closures stay with their function).
        for chunk in text.split("fn").skip(1) {
            let function: String = chunk
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            for w in writes {
                for (i, _) in chunk.match_indices(&format!(".{w}")) {
                    let rest = &chunk[i + 1..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if !rest[name.len()..].starts_with("()") {
                        continue;
                    }
                    let before = &chunk[..i];
                    let on_client = held.iter().any(|h| before.ends_with(&h[..h.len() - 1]))
                        || before.ends_with(')')
                            && clients.iter().any(|c| {
                                before
                                    .rfind(c)
                                    .is_some_and(|at| !before[at + c.len()..].contains('('))
                            });
                    if !on_client {
                        continue;
                    }
                    found += 1;
                    assert!(
                        allowed
                            .iter()
                            .any(|(file, func, _)| rel == *file && function == *func),
                        "{rel}: `{name}()` in `{function}` writes to AWS outside an approved plan"
                    );
                }
            }
        }
    }
    assert!(
        found > 30,
        "the scan found only {found} writes: is it still reading the code?"
    );
    // The evidence helpers are reached only from where they may be.
    let crates = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for (_, func, callers) in allowed.iter().filter(|(_, _, c)| !c.is_empty()) {
        let mut stack = vec![crates.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    if !p.ends_with("tests") && !p.ends_with("target") {
                        stack.push(p);
                    }
                    continue;
                }
                if p.extension().is_none_or(|x| x != "rs") {
                    continue;
                }
                let rel = p
                    .strip_prefix(&crates)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&p).unwrap();
                let calls = text.matches(&format!("forensics::{func}(")).count()
                    + if rel == "aws/src/respond/call.rs" || rel == "cli/src/evidence_cmd.rs" {
                        0
                    } else {
                        text.matches(&format!("{func}("))
                            .count()
                            .saturating_sub(text.matches(&format!("fn {func}(")).count())
                            * usize::from(rel.starts_with("aws/src/forensics"))
                    };
                if calls > 0 {
                    assert!(
                        callers.iter().any(|c| rel.ends_with(c)),
                        "{rel} calls {func} ({calls}×): only {callers:?} may"
                    );
                }
            }
        }
    }
}
