//! The action ledger, read side: what the agent did (or would have done, dry-run), newest first.
//! Written by the responder path; read by `innerwarden actions` and the D-Bus `ListActions`.

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;

use super::{Store, StoreError, from_ns, seq_from_sql};

/// One `actions` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionRow {
    pub id: i64,
    pub incident_id: Option<i64>,
    pub kind: String,
    pub target: String,
    pub dry_run: bool,
    pub ttl_secs: Option<u64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub state: String,
    pub audit_seq: Option<u64>,
    pub reason: String,
}

type RawAction = (
    i64,
    Option<i64>,
    String,
    String,
    bool,
    Option<i64>,
    Option<i64>,
    String,
    Option<i64>,
    String,
);

impl Store {
    /// The newest `limit` actions, newest first.
    pub fn list_actions(&self, limit: usize) -> Result<Vec<ActionRow>, StoreError> {
        let conn = self.lock()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = conn.prepare_cached(
            "SELECT id, incident_id, kind, target, dry_run, ttl_secs, expires_at, state, \
             audit_seq, reason FROM actions ORDER BY id DESC LIMIT ?1",
        )?;
        let raws: Vec<RawAction> = stmt
            .query_map(params![limit], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        raws.into_iter()
            .map(
                |(id, incident_id, kind, target, dry_run, ttl, exp, state, seq, reason)| {
                    Ok(ActionRow {
                        id,
                        incident_id,
                        kind,
                        target,
                        dry_run,
                        ttl_secs: ttl
                            .map(|t| seq_from_sql("actions", "ttl_secs", t))
                            .transpose()?,
                        expires_at: exp.map(from_ns),
                        state,
                        audit_seq: seq
                            .map(|s| seq_from_sql("actions", "audit_seq", s))
                            .transpose()?,
                        reason,
                    })
                },
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_newest_first_with_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("db.sqlite")).expect("open");
        {
            let conn = store.lock().expect("lock");
            for (kind, target, dry) in [("block", "192.0.2.1", 1), ("kill", "pid 42", 0)] {
                conn.execute(
                    "INSERT INTO actions (kind, target, dry_run, ttl_secs, expires_at, state, \
                     reason) VALUES (?1, ?2, ?3, 60, 1000000000, 'active', 'test')",
                    params![kind, target, dry],
                )
                .expect("insert");
            }
        }
        let rows = store.list_actions(10).expect("list");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].kind, "kill");
        assert!(!rows[0].dry_run);
        assert!(rows[1].dry_run);
        assert_eq!(rows[1].ttl_secs, Some(60));
        assert_eq!(store.list_actions(1).expect("list").len(), 1);
    }
}
