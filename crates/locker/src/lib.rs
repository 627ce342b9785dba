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
    #[error("`{0}` is not a SHA-256 (64 lower-case hex digits): no such object")]
    NotADigest(String),
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

    /// Where the bytes of `sha256` are kept; only a well-formed digest names a place, so
    /// no ledger value can lead outside `objects/`.
    pub fn object_path(&self, sha256: &str) -> Result<PathBuf> {
        if !custody::is_sha256_hex(sha256) {
            return Err(LockerError::NotADigest(sha256.escape_debug().to_string()));
        }
        let (a, b) = sha256.split_at(2);
        Ok(self.root.join("objects").join(a).join(b))
    }

    /// `locker:objects/ab/cdef…`, as ledger entries name the place.
    pub fn location(&self, sha256: &str) -> String {
        let (a, b) = sha256.split_at(2.min(sha256.len()));
        format!("locker:objects/{a}/{b}")
    }

    /// Stores `bytes` (once: storing the same bytes again changes nothing) and describes them.
    pub fn put(&self, bytes: &[u8], name: &str, source: &str) -> Result<Artifact> {
        self.put_reader(&mut &bytes[..], Path::new("(memory)"), name, source)
    }

    /// Stores a file's bytes, streamed: hashed while copied in 1 MiB chunks, so a
    /// multi-gigabyte memory image needs no more memory than a small one.
    pub fn put_file(&self, file: &Path, name: &str, source: &str) -> Result<Artifact> {
        let mut f = File::open(file).map_err(io(file))?;
        self.put_reader(&mut f, file, name, source)
    }

    fn put_reader(
        &self,
        from: &mut dyn Read,
        what: &Path,
        name: &str,
        source: &str,
    ) -> Result<Artifact> {
        let objects = self.root.join("objects");
        let tmp = tempfile_in(&objects)?;
        let mut h = Sha256::new();
        let mut size = 0u64;
        {
            let mut f = File::create(&tmp).map_err(io(&tmp))?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = fs::remove_file(&tmp);
                        return Err(io(what)(e));
                    }
                };
                h.update(&buf[..n]);
                f.write_all(&buf[..n]).map_err(io(&tmp))?;
                size += n as u64;
            }
            f.sync_all().map_err(io(&tmp))?;
        }
        let sha256 = signing::hex(&h.finalize());
        let path = self.object_path(&sha256)?;
        if path.is_file() {
            fs::remove_file(&tmp).map_err(io(&tmp))?;
        } else {
            let dir = path.parent().expect("objects/ab");
            fs::create_dir_all(dir).map_err(io(dir))?;
            fs::rename(&tmp, &path).map_err(io(&path))?;
            let mut perms = fs::metadata(&path).map_err(io(&path))?.permissions();
            perms.set_readonly(true);
            fs::set_permissions(&path, perms).map_err(io(&path))?;
        }
        Ok(Artifact {
            sha256,
            name: name.to_string(),
            size,
            source: source.to_string(),
        })
    }

    /// The stored bytes of an artifact (small artifacts only: large ones are streamed from
    /// [`Locker::object_path`]).
    pub fn read(&self, sha256: &str) -> Result<Vec<u8>> {
        let path = self.object_path(sha256)?;
        fs::read(&path).map_err(io(&path))
    }

    /// Whether the stored bytes still hash to the artifact's SHA-256 (streamed).
    pub fn check(&self, a: &Artifact) -> Stored {
        let Ok(path) = self.object_path(&a.sha256) else {
            return Stored::Missing;
        };
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
    pub fn ledger_path(&self, case: case::CaseId) -> PathBuf {
        self.root
            .join("cases")
            .join(case.to_string())
            .join("custody.jsonl")
    }

    /// The case's ledger (empty when none was written): its entries, and every line that
    /// is not one.
    pub fn ledger(&self, case: case::CaseId) -> Result<(Vec<Entry>, Vec<custody::Malformed>)> {
        let path = self.ledger_path(case);
        match fs::read(&path) {
            Ok(bytes) => Ok(custody::parse_ledger(&String::from_utf8_lossy(&bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Vec::new(), Vec::new())),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Takes the case ledger's writer lock (an exclusive lock on `cases/N/custody.lock`,
    /// released when the guard drops, or when the process dies): writers read the head,
    /// append and have the store witness one at a time.
    pub fn lock(&self, case: case::CaseId) -> Result<LedgerLock> {
        let path = self.ledger_path(case).with_file_name("custody.lock");
        let dir = path.parent().expect("cases/N");
        fs::create_dir_all(dir).map_err(io(dir))?;
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        f.lock().map_err(io(&path))?;
        Ok(LedgerLock { _file: f })
    }

    /// Appends an entry to the case's ledger and syncs it.
    pub fn append(&self, case: case::CaseId, entry: &Entry) -> Result<()> {
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

/// A held ledger writer lock.
#[derive(Debug)]
pub struct LedgerLock {
    _file: File,
}

/// A new temporary file name inside `dir` (written, synced, then renamed into place).
fn tempfile_in(dir: &Path) -> Result<PathBuf> {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).map_err(|e| LockerError::Io {
        path: dir.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(dir.join(format!(".incoming-{}.tmp", signing::hex(&r))))
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
        let path = l.object_path(&a.sha256).unwrap();
        assert!(fs::metadata(&path).unwrap().permissions().readonly());
        assert!(l.object_path("../../etc/passwd").is_err());
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
