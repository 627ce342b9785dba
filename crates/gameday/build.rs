//! Embeds the bundled game-day scenarios (`gamedays/*.yaml`) and their traces
//! (`gamedays/traces/*.jsonl`) into the binary.

use std::path::{Path, PathBuf};

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn table(name: &str, doc: &str, paths: &[PathBuf]) -> String {
    let mut code = format!("/// {doc}\npub const {name}: &[(&str, &str)] = &[\n");
    for p in paths {
        println!("cargo:rerun-if-changed={}", p.display());
        let file = p.file_name().expect("a file").to_string_lossy().to_string();
        code.push_str(&format!(
            "    ({file:?}, include_str!({:?})),\n",
            p.canonicalize().expect("exists").display().to_string()
        ));
    }
    code.push_str("];\n");
    code
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"))
        .join("../../gamedays");
    println!("cargo:rerun-if-changed={}", root.display());
    println!("cargo:rerun-if-changed={}", root.join("traces").display());
    let mut code = table(
        "SCENARIOS",
        "Bundled scenario files: (file name, text).",
        &files(&root, "yaml"),
    );
    code.push_str(&table(
        "TRACES",
        "Bundled traces: (file name, text).",
        &[
            files(&root.join("traces"), "jsonl"),
            files(&root.join("traces"), "log"),
        ]
        .concat(),
    ));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("bundled.rs");
    std::fs::write(out, code).expect("write bundled.rs");
}
