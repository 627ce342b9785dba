//! The local evidence locker. Artifacts are stored once by SHA-256 under
//! `objects/ab/cdef…` (written to a temporary file, synced, renamed, then made read-only),
//! and each case's custody ledger is `cases/CASE/custody.jsonl`, appended and synced line
//! by line.

use custody::{Artifact, Entry, Stored};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockerError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Ledger(#[from] custody::CustodyError),
}

type Result<T> = std::result::Result<T, LockerError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LockerError + '_ {
    move |source| LockerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A locker rooted at a directory.
#[derive(Debug, Clone)]
pub struct Locker {
    root: PathBuf,
}

impl Locker {
    /// Opens (creating) the locker at `root`.
    pub fn open(root: &Path) -> Result<Locker> {
        fs::create_dir_all(root.join("objects")).map_err(io(root))?;
        fs::create_dir_all(root.join("cases")).map_err(io(root))?;
        Ok(Locker {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the bytes of `sha256` are kept.
    pub fn object_path(&self, sha256: &str) -> PathBuf {
        let (a, b) = sha256.split_at(2.min(sha256.len()));
        self.root.join("objects").join(a).join(b)
    }

    /// `locker:objects/ab/cdef…`, as ledger entries name the place.
    pub fn location(&self, sha256: &str) -> String {
        let (a, b) = sha256.split_at(2.min(sha256.len()));
        format!("locker:objects/{a}/{b}")
    }

    /// Stores `bytes` (once: storing the same bytes again changes nothing) and describes them.
    pub fn put(&self, bytes: &[u8], name: &str, source: &str) -> Result<Artifact> {
        let sha256 = custody::sha256_hex(bytes);
        let path = self.object_path(&sha256);
        if !path.is_file() {
            let dir = path.parent().expect("objects/ab");
            fs::create_dir_all(dir).map_err(io(dir))?;
            let tmp = dir.join(format!(".{}.tmp", &sha256[2..]));
            {
                let mut f = File::create(&tmp).map_err(io(&tmp))?;
                f.write_all(bytes).map_err(io(&tmp))?;
                f.sync_all().map_err(io(&tmp))?;
            }
            fs::rename(&tmp, &path).map_err(io(&path))?;
            let mut perms = fs::metadata(&path).map_err(io(&path))?.permissions();
            perms.set_readonly(true);
            fs::set_permissions(&path, perms).map_err(io(&path))?;
        }
        Ok(Artifact {
            sha256,
            name: name.to_string(),
            size: bytes.len() as u64,
            source: source.to_string(),
        })
    }

    /// The stored bytes of an artifact.
    pub fn read(&self, sha256: &str) -> Result<Vec<u8>> {
        let path = self.object_path(sha256);
        fs::read(&path).map_err(io(&path))
    }

    /// Whether the stored bytes still hash to the artifact's SHA-256 (streamed).
    pub fn check(&self, a: &Artifact) -> Stored {
        let path = self.object_path(&a.sha256);
        let Ok(mut f) = File::open(&path) else {
            return Stored::Missing;
        };
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => h.update(&buf[..n]),
                Err(_) => return Stored::Missing,
            }
        }
        let actual: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        if actual == a.sha256 {
            Stored::Intact
        } else {
            Stored::Changed { actual }
        }
    }

    /// The case's ledger file.
    pub fn ledger_path(&self, case: i64) -> PathBuf {
        self.root
            .join("cases")
            .join(case.to_string())
            .join("custody.jsonl")
    }

    /// The case's ledger (empty when none was written).
    pub fn ledger(&self, case: i64) -> Result<Vec<Entry>> {
        let path = self.ledger_path(case);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(custody::parse_ledger(&text, &path.display().to_string())?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Appends an entry to the case's ledger and syncs it.
    pub fn append(&self, case: i64, entry: &Entry) -> Result<()> {
        let path = self.ledger_path(case);
        let dir = path.parent().expect("cases/N");
        fs::create_dir_all(dir).map_err(io(dir))?;
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        f.write_all(format!("{}\n", entry.to_line()).as_bytes())
            .map_err(io(&path))?;
        f.sync_all().map_err(io(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_stored_once_read_only_and_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let l = Locker::open(tmp.path()).unwrap();
        let a = l
            .put(b"console output", "console.txt", "ec2:console-output:i-1")
            .unwrap();
        let again = l
            .put(b"console output", "console.txt", "ec2:console-output:i-1")
            .unwrap();
        assert_eq!(a, again);
        assert_eq!(l.read(&a.sha256).unwrap(), b"console output");
        assert_eq!(l.check(&a), Stored::Intact);
        let path = l.object_path(&a.sha256);
        assert!(fs::metadata(&path).unwrap().permissions().readonly());
        let mut p = fs::metadata(&path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        p.set_readonly(false);
        fs::set_permissions(&path, p).unwrap();
        fs::write(&path, b"console output, edited").unwrap();
        assert!(matches!(l.check(&a), Stored::Changed { .. }));
        fs::remove_file(&path).unwrap();
        assert_eq!(l.check(&a), Stored::Missing);
    }
}
