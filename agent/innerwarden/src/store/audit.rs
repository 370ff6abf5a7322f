//! The audit chain's anchors outside the file: the head (last written record) and the signed
//! checkpoints. The file and these rows are written by `crate::audit_log`; `verify` reads both.

use chrono::{DateTime, SecondsFormat, Utc};
use innerwarden_core::audit::{Checkpoint, Head};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, seq_from_sql, seq_to_sql};

impl Store {
    /// The last audit record acknowledged by the writer, `None` before the first.
    pub fn audit_head(&self) -> Result<Option<Head>, StoreError> {
        let conn = self.lock()?;
        let row: Option<(i64, String)> = conn
            .query_row("SELECT seq, hash FROM audit_head WHERE id = 0", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(seq, hash)| {
            Ok(Head {
                seq: seq_from_sql("audit_head", "seq", seq)?,
                hash,
            })
        })
        .transpose()
    }

    /// Replace the audit head.
    pub fn set_audit_head(&self, head: &Head) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (0, ?1, ?2) \
             ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            params![seq_to_sql(head.seq), head.hash],
        )?;
        Ok(())
    }

    /// Store a checkpoint (replacing one of the same seq).
    pub fn insert_checkpoint(&self, cp: &Checkpoint) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT OR REPLACE INTO audit_checkpoints (seq, record_hash, ts, node_key, signature) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                seq_to_sql(cp.seq),
                cp.record_hash,
                // Nanosecond RFC 3339: the signed message covers the nanoseconds.
                cp.ts.to_rfc3339_opts(SecondsFormat::Nanos, true),
                cp.node_key,
                cp.signature
            ],
        )?;
        Ok(())
    }

    /// Every stored checkpoint, by seq.
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT seq, record_hash, ts, node_key, signature FROM audit_checkpoints ORDER BY seq",
        )?;
        type Raw = (i64, String, String, String, String);
        let raws: Vec<Raw> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        raws.into_iter()
            .map(|(seq, record_hash, ts, node_key, signature)| {
                let ts = DateTime::parse_from_rfc3339(&ts)
                    .map_err(|_| StoreError::Corrupt {
                        table: "audit_checkpoints",
                        column: "ts",
                        value: ts.clone(),
                    })?
                    .with_timezone(&Utc);
                Ok(Checkpoint {
                    seq: seq_from_sql("audit_checkpoints", "seq", seq)?,
                    record_hash,
                    ts,
                    node_key,
                    signature,
                })
            })
            .collect()
    }

    /// Forget the audit anchors (head and checkpoints) once a tampered trail has been moved
    /// aside: the new chain starts from nothing. The archived file keeps its own in-file
    /// checkpoint records as evidence.
    pub fn reset_audit_anchors(&self) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute_batch("DELETE FROM audit_head; DELETE FROM audit_checkpoints;")?;
        Ok(())
    }
}
