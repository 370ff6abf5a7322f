//! Decisions: what the decide stage concluded about an incident (score, tier, reasons, planned
//! actions with their dry-run flag), each referencing its audit record.

use innerwarden_core::decide::Decision;
use rusqlite::params;

use super::{Store, StoreError, seq_from_sql, seq_to_sql, to_ns};

/// A stored decision.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    pub id: i64,
    pub audit_seq: Option<u64>,
    pub decision: Decision,
}

impl Store {
    pub fn insert_decision(&self, d: &Decision, audit_seq: Option<u64>) -> Result<i64, StoreError> {
        let json = serde_json::to_string(d).map_err(|source| StoreError::Json {
            what: "decisions.json",
            source,
        })?;
        let tier = serde_json::to_value(d.tier)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO decisions (incident_id, ts, confidence, tier, scorer, json, audit_seq) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                d.incident_id,
                to_ns(&d.ts)?,
                d.confidence,
                tier,
                d.scorer,
                json,
                audit_seq.map(seq_to_sql)
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Decisions on one incident, oldest first.
    pub fn decisions_for(&self, incident_id: i64) -> Result<Vec<DecisionRow>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, json, audit_seq FROM decisions WHERE incident_id = ?1 ORDER BY id",
        )?;
        let raws: Vec<(i64, String, Option<i64>)> = stmt
            .query_map(params![incident_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        raws.into_iter()
            .map(|(id, json, seq)| {
                Ok(DecisionRow {
                    id,
                    audit_seq: seq
                        .map(|s| seq_from_sql("decisions", "audit_seq", s))
                        .transpose()?,
                    decision: serde_json::from_str(&json).map_err(|source| StoreError::Json {
                        what: "decisions.json",
                        source,
                    })?,
                })
            })
            .collect()
    }
}
