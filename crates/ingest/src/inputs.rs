//! What to read: files, directories (recursively), standard input, or bytes in memory.

use crate::IngestError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One input stream.
#[derive(Debug, Clone)]
pub enum Input {
    Stdin,
    File(PathBuf),
    /// Bytes already in memory (bundled samples, tests), under a display name.
    Memory {
        name: String,
        data: Arc<[u8]>,
    },
    /// Something found in a directory that cannot be read as a log (a broken or looping
    /// symbolic link, a socket, a second link to a file already listed): reported as a
    /// rejection, never skipped silently.
    Skipped {
        path: PathBuf,
        reason: String,
    },
}

impl Input {
    /// The name used in rejections and event origins.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "-".to_string(),
            Input::File(p) | Input::Skipped { path: p, .. } => p.display().to_string(),
            Input::Memory { name, .. } => name.clone(),
        }
    }

    /// Size on disk, when known (for progress).
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::Stdin | Input::Skipped { .. } => None,
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Memory { data, .. } => Some(data.len() as u64),
        }
    }
}

/// Turns command-line paths into inputs: `-` is standard input, a directory is every file
/// below it (sorted, so runs are reproducible), following symbolic links. A path given that
/// does not exist is an error; inside a directory, broken links, link loops, files that are
/// not regular and second names of a file already listed become [`Input::Skipped`].
pub fn expand_inputs<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<Input>, IngestError> {
    let mut inputs = Vec::new();
    let mut seen: HashMap<(u64, u64), PathBuf> = HashMap::new();
    for path in paths {
        let path = path.as_ref();
        if path == Path::new("-") {
            inputs.push(Input::Stdin);
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|source| IngestError::Input {
            path: path.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            seen.insert(file_id(&meta), path.to_path_buf());
            inputs.push(Input::File(path.to_path_buf()));
            continue;
        }
        for entry in walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
        {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let at = e.path().unwrap_or(path).to_path_buf();
                    let reason = if let Some(ancestor) = e.loop_ancestor() {
                        format!(
                            "symbolic link loops back to {}; not followed",
                            ancestor.display()
                        )
                    } else if at.is_symlink() {
                        "broken symbolic link; nothing to read".to_string()
                    } else {
                        let io = e.into_io_error().map(|e| e.to_string());
                        format!(
                            "cannot read: {}",
                            io.unwrap_or_else(|| "unknown error".into())
                        )
                    };
                    inputs.push(Input::Skipped { path: at, reason });
                    continue;
                }
            };
            if entry.file_type().is_dir() {
                continue;
            }
            let at = entry.into_path();
            let skipped = |path, reason| Input::Skipped { path, reason };
            match std::fs::metadata(&at) {
                Err(e) => inputs.push(skipped(at, format!("cannot read: {e}"))),
                Ok(m) if !m.is_file() => inputs.push(skipped(
                    at,
                    "not a regular file (socket, device or pipe); not read".into(),
                )),
                Ok(m) => match seen.get(&file_id(&m)) {
                    Some(first) => {
                        let reason =
                            format!("same file as {} (a link to it); read once", first.display());
                        inputs.push(skipped(at, reason));
                    }
                    None => {
                        seen.insert(file_id(&m), at.clone());
                        inputs.push(Input::File(at));
                    }
                },
            }
        }
    }
    Ok(inputs)
}

/// A file's identity on its device, so two names of one file are read once.
fn file_id(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}
