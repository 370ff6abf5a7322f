//! The SQLite store: the agent's source of truth for events (bounded), findings, incidents,
//! actions, audit checkpoints and head, and sensor positions.
//!
//! One connection behind a mutex: writes are serialized anyway by SQLite, and the store is
//! shared cheaply ([`Store`] is `Clone`). The database runs in WAL mode with
//! `synchronous = FULL` (a committed audit head survives power loss), foreign keys on and a busy
//! timeout so a concurrent reader (the CLI) never fails the agent's write.
//!
//! # Layout
//! - `migrations`: the ordered schema migrations (`PRAGMA user_version`).
//! - `events`: bounded event history and its retention.
//! - `incidents`: findings, incident grouping and the CLI's queries.
//! - `actions`: the action ledger (state, expiry) that TTL re-assertion and revert read.
//! - `audit`: audit head and checkpoints.
//! - `positions`: the [`crate::sensor::PositionStore`] implementation.
//! - `model`: the host baseline's counts and operator feedback (migration 6).

pub mod actions;
mod audit;
pub mod decisions;
mod events;
mod incidents;
mod migrations;
pub mod model;
mod positions;

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

pub use actions::{ActionRow, ActionState};
pub use events::StoredEvent;
pub use incidents::{FindingRow, IncidentDetail, IncidentRow, IncidentStatus, RecordedFinding};

/// How long a statement waits for a lock held by another connection before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("creating database file {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("opening database {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "database {path} has schema version {found}, newer than the {known} this agent knows; refusing to touch it (downgrade?)"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("migrating database {path} to schema version {version}")]
    Migration {
        path: PathBuf,
        version: u32,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database query failed")]
    Sql {
        #[from]
        source: rusqlite::Error,
    },
    #[error("row {table}.{column} holds an invalid value {value:?}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        value: String,
    },
    #[error("(de)serializing JSON for {what}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("timestamp {ts} is outside the range storable as nanoseconds since 1970")]
    TimestampRange { ts: DateTime<Utc> },
    #[error("database connection lock poisoned by a panic")]
    Poisoned,
}

/// A handle on the database; clones share one connection.
#[derive(Debug, Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl Store {
    /// Open (creating if needed) and migrate the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        // Create the file owner-only before SQLite does (its -wal and -shm files copy the
        // database file's mode): the store holds security findings and the audit head.
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| StoreError::Create {
                path: path.clone(),
                source,
            })?;
        let mut conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        migrate(&mut conn, &path)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version this agent migrates to.
    pub fn known_schema_version() -> u32 {
        schema_len()
    }

    /// The database's current schema version.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let conn = self.lock()?;
        Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }
}

fn schema_len() -> u32 {
    // A handful of migrations: the length always fits in u32.
    u32::try_from(migrations::MIGRATIONS.len()).unwrap_or(u32::MAX)
}

/// Apply every migration above the database's `user_version`, each in its own transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let known = schema_len();
    let found: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    if found > known {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    for (version, sql) in (found + 1..).zip(&migrations::MIGRATIONS[found as usize..]) {
        let err = |source| StoreError::Migration {
            path: path.to_path_buf(),
            version,
            source,
        };
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}

/// Nanoseconds since the epoch, the storage form of every timestamp.
fn to_ns(ts: &DateTime<Utc>) -> Result<i64, StoreError> {
    ts.timestamp_nanos_opt()
        .ok_or(StoreError::TimestampRange { ts: *ts })
}

fn from_ns(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

/// `u64` sequence numbers are stored as SQLite's signed INTEGER.
fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn seq_from_sql(table: &'static str, column: &'static str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt {
        table,
        column,
        value: v.to_string(),
    })
}

#[cfg(test)]
mod tests;
