//! The layering rules of ARCHITECTURE.md, checked on the resolved dependency graph
//! (`cargo metadata`) and, for what a graph cannot show, on the sources.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace's resolved graph: each workspace crate's direct normal (non-dev, non-build)
/// dependencies, and every package's, by package name.
struct Graph {
    members: BTreeSet<String>,
    normal: BTreeMap<String, BTreeSet<String>>,
    /// Workspace crates some workspace crate uses as a normal dependency.
    depended_on: BTreeSet<String>,
}

fn graph() -> &'static Graph {
    static GRAPH: std::sync::OnceLock<Graph> = std::sync::OnceLock::new();
    GRAPH.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        // The graph as built on this host: without the filter, cargo wants every package
        // of every platform (android, windows, …) in its cache, which an offline fresh
        // machine does not have.
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
        let version = std::process::Command::new(rustc)
            .arg("-vV")
            .output()
            .expect("rustc -vV runs");
        let host = String::from_utf8_lossy(&version.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
            .expect("rustc -vV names the host");
        let out = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--locked", "--offline"])
            .args(["--filter-platform", &host])
            .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
            .output()
            .expect("cargo metadata runs");
        assert!(
            out.status.success(),
            "cargo metadata: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
        let names: BTreeMap<&str, &str> = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
            .collect();
        let members: BTreeSet<String> = meta["workspace_members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| names[id.as_str().unwrap()].to_string())
            .collect();
        let mut normal: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for node in meta["resolve"]["nodes"].as_array().unwrap() {
            let name = names[node["id"].as_str().unwrap()].to_string();
            let deps = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| names[d["pkg"].as_str().unwrap()].to_string());
            normal.entry(name).or_default().extend(deps);
        }
        let depended_on = members
            .iter()
            .flat_map(|m| normal.get(m).into_iter().flatten())
            .filter(|d| members.contains(*d))
            .cloned()
            .collect();
        Graph {
            members,
            normal,
            depended_on,
        }
    })
}

/// Direct normal dependencies of each workspace crate.
fn dependencies() -> BTreeMap<String, Vec<String>> {
    let g = graph();
    g.members
        .iter()
        .map(|m| (m.clone(), g.normal[m].iter().cloned().collect()))
        .collect()
}

/// Every package `krate` pulls in at run time, not descending into packages `stop` accepts.
fn closure(krate: &str, stop: impl Fn(&str) -> bool) -> BTreeSet<String> {
    let g = graph();
    let mut seen = BTreeSet::new();
    let mut stack = vec![krate.to_string()];
    while let Some(k) = stack.pop() {
        for d in g.normal.get(&k).into_iter().flatten() {
            if seen.insert(d.clone()) && !stop(d) {
                stack.push(d.clone());
            }
        }
    }
    seen
}

/// Every `.rs` file below `root`, entering only folders `enter` accepts.
fn rust_files(root: &Path, enter: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if enter(&p) {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files
}

/// The AWS SDK, which brings its own HTTP client; only the `aws` adapter may use it.
fn is_aws_sdk(name: &str) -> bool {
    name.starts_with("aws-sdk-")
        || name.starts_with("aws-smithy-")
        || name.starts_with("aws-sigv4")
        || name.starts_with("aws-runtime")
        || name.starts_with("aws-types")
        || name == "aws-config"
        || name == "aws-credential-types"
}

/// HTTP servers and clients.
const HTTP: [&str; 12] = [
    "hyper",
    "hyper-util",
    "axum",
    "axum-core",
    "tower-http",
    "reqwest",
    "ureq",
    "actix-web",
    "warp",
    "tiny_http",
    "isahc",
    "attohttpc",
];

/// Only the server speaks HTTP: no other crate reaches an HTTP server or client, except the
/// AWS SDK's own transport inside the `aws` adapter.
#[test]
fn only_the_server_speaks_http() {
    let g = graph();
    assert!(
        g.members.contains("cli") && g.members.len() > 10,
        "{:?}",
        g.members
    );
    assert!(g.members.contains("server"), "{:?}", g.members);
    for m in g.members.iter().filter(|m| *m != "server") {
        // The CLI starts the server through its API (`server::serve`), which is where
        // HTTP stays; the closure stops there as it stops at the AWS SDK.
        let reached = closure(m, |d| is_aws_sdk(d) || d == "server");
        let http: Vec<&str> = HTTP
            .iter()
            .copied()
            .filter(|h| reached.contains(*h))
            .collect();
        assert!(http.is_empty(), "`{m}` reaches HTTP crates {http:?}");
    }
    // The check sees through the graph: the SDK does bring hyper, behind the stop.
    assert!(closure("aws", |_| false).contains("hyper"));
}

/// Only the binaries (`cli`, and `server` when it exists) read the environment; libraries
/// take what they need as arguments. The emulator harness, which only tests use, may.
#[test]
fn only_the_binaries_read_the_environment() {
    let g = graph();
    assert!(
        !g.depended_on.contains("emulator"),
        "the emulator harness is for tests only"
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let reads = ["env::var(", "env::var_os(", "env::vars(", "env::vars_os("];
    let mut checked = 0;
    for m in g
        .members
        .iter()
        .filter(|m| !["cli", "server", "emulator"].contains(&m.as_str()))
    {
        for p in rust_files(&root.join(m).join("src"), |_| true) {
            checked += 1;
            let text = std::fs::read_to_string(&p).unwrap();
            for r in reads {
                assert!(
                    !text.contains(r),
                    "{} reads the environment (`{r}`)",
                    p.display()
                );
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} source files read: is it looking?"
    );
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
        "gameday",
        "report",
        "report",
    ];
    let g = graph();
    for krate in g.members.iter().filter(|k| pure.contains(&k.as_str())) {
        // Everything they pull in, not only what they name.
        for dep in &closure(krate, |_| false) {
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
/// response engine's `Call::send` (run and rollback, which take an `ApprovedPlan`; it routes
/// each call to its service's `send` under `respond/call/`), or in
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
        // `Call::send` routes each call to its service's module, which alone sends it.
        ("respond/call/ec2.rs", "send", &[]),
        ("respond/call/iam.rs", "send", &[]),
        ("respond/call/s3.rs", "send", &[]),
        ("respond/call/lambda_fn.rs", "send", &[]),
        ("respond/call/organizations.rs", "send", &[]),
        ("respond/call/cloudtrail.rs", "send", &[]),
        ("respond/call/guardduty.rs", "send", &[]),
        ("respond/call/autoscaling.rs", "send", &[]),
        ("respond/call/elbv2.rs", "send", &[]),
        ("respond/call.rs", "credential_report", &[]),
        (
            "forensics/host.rs",
            "copy_for_forensics",
            &["respond/call/ec2.rs"],
        ),
        (
            "forensics/host.rs",
            "capture_memory",
            &["respond/call/ssm.rs"],
        ),
        ("forensics/bucket.rs", "upload", &["app/src/evidence.rs"]),
        // A game day's own set-up, its attacker's calls and its cleanup, in the emulator's
        // account or one the IR plan marks as an exercise account; reached only from
        // `app::gameday`, which checks that first.
        ("gameday.rs", "warm_up", &["app/src/gameday.rs"]),
        ("gameday.rs", "make_bucket", &[]),
        ("gameday.rs", "detonate", &["app/src/gameday.rs"]),
        ("gameday.rs", "clean_up", &["app/src/gameday.rs"]),
        ("gameday.rs", "delete_user", &[]),
        ("gameday.rs", "terminate", &[]),
        ("gameday.rs", "delete_role", &[]),
        ("gameday.rs", "empty_and_delete_bucket", &[]),
    ];
    let files = rust_files(&src, |_| true);
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
    // The evidence helpers and the game day's writers are reached only from where they may be.
    let crates = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for (_, func, callers) in allowed
        .iter()
        .filter(|(file, _, _)| *file == "gameday.rs")
        .filter(|(_, _, c)| !c.is_empty())
    {
        for p in rust_files(&crates, |d| !d.ends_with("target")) {
            let rel = p
                .strip_prefix(&crates)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).unwrap();
            let calls = text.matches(&format!("aws::gameday::{func}(")).count();
            if calls > 0 {
                assert!(
                    callers.iter().any(|c| rel.ends_with(c)),
                    "{rel} calls aws::gameday::{func} ({calls}×): only {callers:?} may"
                );
            }
        }
    }
    for (_, func, callers) in allowed
        .iter()
        .filter(|(file, _, _)| *file != "gameday.rs")
        .filter(|(_, _, c)| !c.is_empty())
    {
        for p in rust_files(&crates, |d| !d.ends_with("tests") && !d.ends_with("target")) {
            let rel = p
                .strip_prefix(&crates)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).unwrap();
            let calls = text.matches(&format!("forensics::{func}(")).count()
                + if rel.starts_with("aws/src/respond/call") || rel == "app/src/evidence.rs" {
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

/// The use cases live in `app`: the binaries parse, call one and present what it returns.
/// Each operation below is the heart of a use case (the custody chain, the journaled run, a
/// hunt into cases, the timeline pass, collection, the dry-run); none is reached from `cli`.
#[test]
fn use_cases_live_in_the_application_layer() {
    let crates = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cores = [
        "custody::chain(",
        ".announce_custody(",
        ".witness_custody(",
        "aws::respond::run(",
        "aws::respond::rollback(",
        "aws::respond::dry_run(",
        ".record_hunt(",
        ".add_timeline_events(",
        ".add_response_plan(",
        ".add_approval(",
        ".save_receipt(",
        ".intend_call(",
        "aws::forensics::collect(",
        "aws::forensics::upload(",
        "playbook::plan(",
    ];
    let mut in_app: BTreeSet<&str> = BTreeSet::new();
    for p in rust_files(&crates.join("app/src"), |_| true) {
        let text = std::fs::read_to_string(&p).unwrap();
        in_app.extend(cores.iter().copied().filter(|c| text.contains(*c)));
    }
    assert_eq!(
        in_app.len(),
        cores.len(),
        "every use case's core is in app: missing {:?}",
        cores
            .iter()
            .filter(|c| !in_app.contains(*c))
            .collect::<Vec<_>>()
    );
    let entry_points = rust_files(&crates.join("cli/src"), |_| true)
        .into_iter()
        .chain(rust_files(&crates.join("server/src"), |_| true));
    for p in entry_points {
        let text = std::fs::read_to_string(&p).unwrap();
        for c in cores {
            assert!(
                !text.contains(c),
                "{} does `{c}` itself: that is a use case, it belongs in app",
                p.display()
            );
        }
    }
}

/// The CLI's modules reach each other without a cycle (`crate::NAME` references): the one
/// among evidence, collect and respond went with the move to `app`.
#[test]
fn the_cli_modules_form_no_cycle() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in rust_files(&src, |_| true) {
        let module = p.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&p).unwrap();
        let uses: BTreeSet<String> = text
            .match_indices("crate::")
            .map(|(i, _)| {
                text[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .filter(|m| *m != module && src.join(format!("{m}.rs")).is_file())
            .collect();
        edges.insert(module, uses);
    }
    assert!(edges.len() > 10, "{edges:?}");
    // Depth-first search for a back edge, reporting the cycle it closes.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(at) = path.iter().position(|p| p == m) {
            panic!(
                "the CLI's modules form a cycle: {} -> {m}",
                path[at..].join(" -> ")
            );
        }
        path.push(m.to_string());
        for n in edges.get(m).into_iter().flatten() {
            visit(n, edges, path, done);
        }
        path.pop();
        done.insert(m.to_string());
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        visit(m, &edges, &mut Vec::new(), &mut done);
    }
}
