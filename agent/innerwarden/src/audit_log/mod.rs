//! The audit log at the edge: `<state_dir>/audit.jsonl`, the node key, and the anchors in the
//! store (head and checkpoints). The format and the verifier are pure, in
//! `innerwarden_core::audit`.
//!
//! # Durability policy
//! Every record is written with one `write` on an `O_APPEND` descriptor and `fdatasync`ed before
//! `append` returns; only then is the head updated in SQLite (`synchronous = FULL`). Audit
//! records are low-rate (findings, decisions, actions), so one sync per record costs little and
//! a record that was acted on is never lost. The file is therefore at most ahead of the stored
//! head (a crash between the two writes), never behind: `open` accepts records after the head
//! when they chain correctly, logs a warning and moves the head; a file behind or different
//! from the head is reported as tampering.
//!
//! # Checkpoint policy
//! A signed checkpoint of the head is made every [`CheckpointPolicy::every_records`] records,
//! when [`CheckpointPolicy::every`] has passed at an `append` or a [`AuditLog::tick`], and by
//! [`AuditLog::close`]. Each is stored in SQLite and appended to the chain as a `checkpoint`
//! record, so the file carries its own signatures too.
//!
//! # Layout
//! - [`key`]: node key creation and loading.
//! - [`verify`](mod@verify): reads the file, checkpoints, head and key for the pure verifier.

pub mod key;
pub mod verify;

use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ed25519_dalek::{SigningKey, VerifyingKey};
use innerwarden_core::audit::{AuditKind, AuditRecord, Chain, Checkpoint, CheckpointError, Head};

use crate::store::{Store, StoreError};
pub use key::{KeyError, NODE_KEY_FILE, load_node_key, load_or_create_node_key, parse_public_key};
pub use verify::{AuditVerifyError, TrustedKey, verify};

/// File name of the audit log inside the state directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// When checkpoints are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// Checkpoint after this many records since the last checkpoint (0: never by count).
    pub every_records: u64,
    /// Checkpoint when this much time has passed since the last one and records were added.
    pub every: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            every_records: 64,
            every: Duration::from_secs(300),
        }
    }
}

/// Errors of the audit log writer.
#[derive(Debug, thiserror::Error)]
pub enum AuditLogError {
    #[error("audit log {path}: I/O error")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("node key")]
    Key {
        #[from]
        source: KeyError,
    },
    #[error("audit store")]
    Store {
        #[from]
        source: StoreError,
    },
    #[error("the audit trail does not verify; refusing to extend it (possible tampering)")]
    Tampered {
        #[source]
        source: AuditVerifyError,
    },
    #[error("audit log {path} is locked by another writer (is another agent running?)")]
    Locked { path: PathBuf },
    #[error("audit log {path} is unusable after an earlier failed write")]
    Failed { path: PathBuf },
    #[error("encoding a checkpoint record")]
    Encode {
        #[source]
        source: serde_json::Error,
    },
    #[error("signing a checkpoint")]
    Checkpoint {
        #[source]
        source: CheckpointError,
    },
}

/// The open audit log. One writer per state directory.
#[derive(Debug)]
pub struct AuditLog {
    file: File,
    path: PathBuf,
    chain: Chain,
    key: SigningKey,
    store: Store,
    policy: CheckpointPolicy,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    failed: bool,
}

impl AuditLog {
    /// Open with the default [`CheckpointPolicy`].
    pub fn open(state_dir: &Path, store: &Store) -> Result<AuditLog, AuditLogError> {
        Self::open_with(state_dir, store, CheckpointPolicy::default())
    }

    /// Open (creating the state directory, node key and file on first start), take the
    /// writer's lock, and resume the chain. The whole trail is verified first against the store's head and checkpoints and
    /// the node key; a failure is returned as [`AuditLogError::Tampered`], never repaired.
    pub fn open_with(
        state_dir: &Path,
        store: &Store,
        policy: CheckpointPolicy,
    ) -> Result<AuditLog, AuditLogError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| AuditLogError::Io { path, source }
        };
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_dir)
            .map_err(io_err(state_dir))?;
        let key = load_or_create_node_key(state_dir)?;
        let path = state_dir.join(AUDIT_FILE);
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        // One writer per trail: a second agent on the same state directory would fork the chain.
        // The advisory lock is released when the file is closed (also on a crash).
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(AuditLogError::Locked { path }),
            Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
        }
        let report = verify::verify_with_key(state_dir, store, &key.verifying_key())
            .map_err(|source| AuditLogError::Tampered { source })?;
        let chain = match &report.head {
            Some(head) => Chain::resume(head.seq, head.hash.clone()),
            None => Chain::new(),
        };
        if report.records_after_head > 0
            && let Some(head) = &report.head
        {
            tracing::warn!(
                records = report.records_after_head,
                seq = head.seq,
                "audit log is ahead of the stored head (crash between write and store update); \
                 moving the head"
            );
            store.set_audit_head(head)?;
        }
        Ok(AuditLog {
            file,
            path,
            chain,
            key,
            store: store.clone(),
            policy,
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
            failed: false,
        })
    }

    /// Append a record stamped now; may be followed by a checkpoint (see the module docs).
    pub fn append(
        &mut self,
        kind: AuditKind,
        payload: serde_json::Value,
    ) -> Result<AuditRecord, AuditLogError> {
        self.append_at(Utc::now(), kind, payload)
    }

    /// [`AuditLog::append`] with an explicit timestamp (replay, tests).
    pub fn append_at(
        &mut self,
        ts: DateTime<Utc>,
        kind: AuditKind,
        payload: serde_json::Value,
    ) -> Result<AuditRecord, AuditLogError> {
        let record = self.write_record(ts, kind, payload)?;
        self.since_checkpoint += 1;
        let by_count =
            self.policy.every_records > 0 && self.since_checkpoint >= self.policy.every_records;
        if by_count || self.last_checkpoint.elapsed() >= self.policy.every {
            self.checkpoint_at(ts)?;
        }
        Ok(record)
    }

    /// Time-based checkpoint for the slow loop: checkpoints if records were added and
    /// [`CheckpointPolicy::every`] has passed.
    pub fn tick(&mut self) -> Result<Option<Checkpoint>, AuditLogError> {
        if self.since_checkpoint > 0 && self.last_checkpoint.elapsed() >= self.policy.every {
            return self.checkpoint_at(Utc::now());
        }
        Ok(None)
    }

    /// Sign the current head now, store the checkpoint and append it as a `checkpoint` record.
    /// `None` when the log is empty.
    pub fn checkpoint(&mut self) -> Result<Option<Checkpoint>, AuditLogError> {
        self.checkpoint_at(Utc::now())
    }

    fn checkpoint_at(&mut self, ts: DateTime<Utc>) -> Result<Option<Checkpoint>, AuditLogError> {
        let Some((seq, hash)) = self.chain.head() else {
            return Ok(None);
        };
        let cp = Checkpoint::sign(seq, hash, ts, &self.key)
            .map_err(|source| AuditLogError::Checkpoint { source })?;
        self.store.insert_checkpoint(&cp)?;
        let payload =
            serde_json::to_value(&cp).map_err(|source| AuditLogError::Encode { source })?;
        self.write_record(ts, AuditKind::Checkpoint, payload)?;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        Ok(Some(cp))
    }

    /// Clean shutdown: a final checkpoint, so the whole trail is signed.
    pub fn close(mut self) -> Result<(), AuditLogError> {
        if self.since_checkpoint > 0 {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// The last record's `(seq, hash)`.
    pub fn head(&self) -> Option<(u64, &str)> {
        self.chain.head()
    }

    /// The public half of the node key (to pin elsewhere).
    pub fn node_public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Write one record, sync it, then move the stored head. A failed write leaves a possibly
    /// partial line, so the log refuses further appends rather than chain after it.
    fn write_record(
        &mut self,
        ts: DateTime<Utc>,
        kind: AuditKind,
        payload: serde_json::Value,
    ) -> Result<AuditRecord, AuditLogError> {
        if self.failed {
            return Err(AuditLogError::Failed {
                path: self.path.clone(),
            });
        }
        let mut next = self.chain.clone();
        let record = next.append(ts, kind, payload);
        let mut line = record.to_line();
        line.push('\n');
        let written = self
            .file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            self.failed = true;
            return Err(AuditLogError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.chain = next;
        self.store.set_audit_head(&Head {
            seq: record.seq,
            hash: record.hash.clone(),
        })?;
        Ok(record)
    }
}
