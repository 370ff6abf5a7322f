//! Sensor positions (journald cursors, file offsets) kept across restarts.

use anyhow::Context;
use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::sensor::PositionStore;

impl PositionStore for Store {
    fn load_position(&self, key: &str) -> anyhow::Result<Option<String>> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT value FROM positions WHERE key = ?1",
            params![key],
            |r| r.get(0),
        )
        .optional()
        .with_context(|| format!("loading sensor position {key:?}"))
    }

    fn save_position(&self, key: &str, value: &str) -> anyhow::Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO positions (key, value) VALUES (?1, ?2) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
        .with_context(|| format!("saving sensor position {key:?}"))?;
        Ok(())
    }
}
