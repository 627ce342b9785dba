//! The store's witness of each case's custody ledger: the hash of every entry as it was
//! appended, append-only, so a ledger file cut short or extended is caught even unsigned.
//! A case's ledger stays with the case it was opened for (merges do not move it).

use super::{Result, Store, StoreError};
use case::CaseId;
use rusqlite::params;

impl Store {
    /// Records that entry `seq` of case `case`'s ledger has `hash`.
    pub fn witness_custody(
        &mut self,
        case: CaseId,
        seq: u64,
        hash: &str,
        now_ms: i64,
    ) -> Result<()> {
        self.case(case)?;
        let n = self.conn.execute(
            "INSERT INTO custody_witness (case_id, seq, hash, at_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            params![case.0, seq as i64, hash, now_ms],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "case {case} already has custody entry {seq}"
            )));
        }
        Ok(())
    }

    /// The witnessed (seq, hash) pairs of a case's ledger, in order.
    pub fn custody_witness(&self, case: CaseId) -> Result<Vec<(u64, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, hash FROM custody_witness WHERE case_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt
            .query_map([case.0], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Announces that entry `seq` with `hash` is about to be appended to the case's ledger
    /// (before the file is written).
    pub fn announce_custody(
        &mut self,
        case: CaseId,
        seq: u64,
        hash: &str,
        now_ms: i64,
    ) -> Result<()> {
        self.case(case)?;
        self.conn.execute(
            "INSERT INTO custody_intents (case_id, seq, hash, at_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            params![case.0, seq as i64, hash, now_ms],
        )?;
        Ok(())
    }

    /// Announced entries the store has not witnessed: (seq, hash).
    pub fn custody_pending(&self, case: CaseId) -> Result<Vec<(u64, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.seq, i.hash FROM custody_intents i WHERE i.case_id = ?1 AND NOT EXISTS \
             (SELECT 1 FROM custody_witness w WHERE w.case_id = i.case_id AND w.seq = i.seq) ORDER BY i.seq",
        )?;
        let rows = stmt
            .query_map([case.0], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}
