//! Bounded event history: inserted in batches, pruned by row count and age.

use chrono::{DateTime, Utc};
use innerwarden_core::event::Event;
use rusqlite::params;

use super::{Store, StoreError, to_ns};

/// An event as stored, with its row id (monotonic, so it orders insertion).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    pub event: Event,
}

impl Store {
    /// Insert events in one transaction (one fsync for the batch).
    pub fn insert_events(&self, events: &[Event]) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO events (ts, source, kind, pid, json) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for ev in events {
                let json = serde_json::to_string(ev).map_err(|source| StoreError::Json {
                    what: "event",
                    source,
                })?;
                stmt.execute(params![
                    to_ns(&ev.ts)?,
                    ev.source.to_string(),
                    ev.kind.name(),
                    ev.kind.pid(),
                    json
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Insert one event.
    pub fn insert_event(&self, event: &Event) -> Result<(), StoreError> {
        self.insert_events(std::slice::from_ref(event))
    }

    /// The newest `limit` events, newest first, optionally only of one kind (the JSON `kind`
    /// tag, e.g. `exec`, `auth_failure`).
    pub fn recent_events(
        &self,
        limit: usize,
        kind: Option<&str>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.lock()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = conn.prepare_cached(
            "SELECT id, json FROM events WHERE (?1 IS NULL OR kind = ?1) ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![kind, limit], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, json) = row?;
            let event = serde_json::from_str(&json).map_err(|source| StoreError::Json {
                what: "stored event",
                source,
            })?;
            out.push(StoredEvent { id, event });
        }
        Ok(out)
    }

    /// Number of stored events.
    pub fn event_count(&self) -> Result<u64, StoreError> {
        let conn = self.lock()?;
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Retention: drop events older than `max_age` and all but the newest `max_rows`.
    /// Returns how many rows were deleted.
    pub fn prune_events(
        &self,
        max_rows: u64,
        max_age: std::time::Duration,
    ) -> Result<u64, StoreError> {
        self.prune_events_at(Utc::now(), max_rows, max_age)
    }

    /// [`Store::prune_events`] with the current time passed in (tests, replay).
    pub fn prune_events_at(
        &self,
        now: DateTime<Utc>,
        max_rows: u64,
        max_age: std::time::Duration,
    ) -> Result<u64, StoreError> {
        let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
        // An age reaching before 1677 (the nanosecond range) keeps everything by age.
        let cutoff = now
            .checked_sub_signed(max_age)
            .and_then(|c| c.timestamp_nanos_opt())
            .unwrap_or(i64::MIN);
        let keep = i64::try_from(max_rows).unwrap_or(i64::MAX);
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let by_age = tx.execute("DELETE FROM events WHERE ts < ?1", params![cutoff])?;
        let by_rows = tx.execute(
            "DELETE FROM events WHERE id <= \
             (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1)",
            params![keep],
        )?;
        tx.commit()?;
        Ok((by_age + by_rows) as u64)
    }
}
