//! What to read: files, directories (recursively), standard input, or bytes in memory.

use crate::IngestError;
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
}

impl Input {
    /// The name used in rejections and event origins.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "-".to_string(),
            Input::File(p) => p.display().to_string(),
            Input::Memory { name, .. } => name.clone(),
        }
    }

    /// Size on disk, when known (for progress).
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::Stdin => None,
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Memory { data, .. } => Some(data.len() as u64),
        }
    }
}

/// Turns command-line paths into inputs: `-` is standard input, a directory is every file
/// below it (sorted, so runs are reproducible). A path that does not exist is an error.
pub fn expand_inputs<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<Input>, IngestError> {
    let mut inputs = Vec::new();
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
        if meta.is_dir() {
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                let entry = entry.map_err(|e| IngestError::Input {
                    path: e.path().unwrap_or(path).to_path_buf(),
                    source: e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("directory loop")),
                })?;
                if entry.file_type().is_file() {
                    inputs.push(Input::File(entry.into_path()));
                }
            }
        } else {
            inputs.push(Input::File(path.to_path_buf()));
        }
    }
    Ok(inputs)
}
