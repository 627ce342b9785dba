//! Reads the pages repeat, kept until the store changes.
//!
//! When a hunt or a note lands, every open page is told to refetch (`/live`), so a whole
//! team asks for the same queue, case and timeline at once. What those pages read from the
//! store is kept here under the store's version: a connection that never writes reads
//! SQLite's `data_version`, which moves whenever any connection, in this process or
//! another (a CLI hunt), commits. A kept value is served only while the version it was read
//! at is still the store's version, so nothing stale is ever shown; what depends on the
//! clock (SLA clocks, session expiry) is worked out again on every request from kept
//! inputs.

use crate::error::Result;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// At most this many entries per kind; past it the kind starts afresh.
const ENTRIES: usize = 1024;

/// Values of one kind, by key, each with the store version it was read at.
pub struct Kept<K, V> {
    entries: Mutex<HashMap<K, (i64, Arc<V>)>>,
}

impl<K: Eq + Hash, V> Default for Kept<K, V> {
    fn default() -> Self {
        Kept {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V> Kept<K, V> {
    /// The value for `key` read at `version`, reading it with `load` unless it is kept.
    pub fn get_or_load(
        &self,
        version: i64,
        key: K,
        load: impl FnOnce() -> Result<V>,
    ) -> Result<Arc<V>> {
        if let Some((at, v)) = self.lock().get(&key)
            && *at == version
        {
            return Ok(v.clone());
        }
        let v = Arc::new(load()?);
        let mut entries = self.lock();
        if entries.len() >= ENTRIES {
            entries.clear();
        }
        entries.insert(key, (version, v.clone()));
        Ok(v)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (i64, Arc<V>)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The kept reads of each kind the server has.
#[derive(Default)]
pub struct KeptReads {
    /// Sessions and API tokens by the SHA-256 of their secret: who (expiry is checked on
    /// every request).
    pub people: Kept<String, Option<app::people::Person>>,
    /// Whether a contact may see a case (restrictions).
    pub visible: Kept<(case::CaseId, String), bool>,
    /// Queue pages by viewer and query.
    pub queues: Kept<(String, String), crate::api::QueueRead>,
    /// Case views by case and the custody ledger file's length and modification time.
    pub cases: Kept<(case::CaseId, Option<(u64, std::time::SystemTime)>), crate::api::CaseRead>,
    /// Timeline pages by case and query.
    pub timelines: Kept<(case::CaseId, String), store::Page<store::TimelineRow>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_kept_only_for_the_version_it_was_read_at() {
        let kept: Kept<&str, i64> = Kept::default();
        let mut reads = 0;
        let mut read = |v| {
            reads += 1;
            Ok(v)
        };
        assert_eq!(*kept.get_or_load(1, "q", || read(10)).unwrap(), 10);
        assert_eq!(*kept.get_or_load(1, "q", || read(11)).unwrap(), 10);
        assert_eq!(*kept.get_or_load(2, "q", || read(12)).unwrap(), 12);
        assert_eq!(*kept.get_or_load(1, "q", || read(13)).unwrap(), 13);
        assert_eq!(reads, 3);
    }
}
