//! Verification glue: reads `audit.jsonl`, the stored checkpoints and head, and the trusted key,
//! and runs the pure verifier in `innerwarden_core::audit`.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use innerwarden_core::audit::{VerifyError, VerifyReport, verify_log};

use super::AUDIT_FILE;
use super::key::{KeyError, load_node_key};
use crate::store::{Store, StoreError};

/// Which public key checkpoints must be signed with.
#[derive(Debug, Clone)]
pub enum TrustedKey {
    /// Derive it from `<state_dir>/node.key` (detects edits, not an attacker who also replaced
    /// the key and re-signed).
    NodeKey,
    /// A key pinned in configuration or off the host (detects a swapped node key as well).
    Pinned(VerifyingKey),
}

/// Why `verify` failed: the log is bad, or it could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditVerifyError {
    #[error("audit log {path} failed verification: {source}")]
    Tampered {
        path: PathBuf,
        #[source]
        source: VerifyError,
    },
    #[error(
        "audit log {path}: the last line ({line}) has no terminating newline (torn write or edit)"
    )]
    Unterminated { path: PathBuf, line: usize },
    #[error("reading audit log {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("loading the trusted key")]
    Key {
        #[from]
        source: KeyError,
    },
    #[error("reading the audit head and checkpoints")]
    Store {
        #[from]
        source: StoreError,
    },
}

impl AuditVerifyError {
    /// The verifier's finding, when the failure is tampering rather than I/O.
    pub fn tamper(&self) -> Option<&VerifyError> {
        match self {
            AuditVerifyError::Tampered { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Verify `<state_dir>/audit.jsonl` against the store's checkpoints and head.
pub fn verify(
    state_dir: &Path,
    store: &Store,
    trust: &TrustedKey,
) -> Result<VerifyReport, AuditVerifyError> {
    let key = match trust {
        TrustedKey::NodeKey => load_node_key(state_dir)?.verifying_key(),
        TrustedKey::Pinned(key) => *key,
    };
    verify_with_key(state_dir, store, &key)
}

pub(super) fn verify_with_key(
    state_dir: &Path,
    store: &Store,
    key: &VerifyingKey,
) -> Result<VerifyReport, AuditVerifyError> {
    let path = state_dir.join(AUDIT_FILE);
    let checkpoints = store.checkpoints()?;
    let head = store.audit_head()?;
    let io_err = |source| AuditVerifyError::Io {
        path: path.clone(),
        source,
    };
    let reader: Box<dyn BufRead> = match File::open(&path) {
        Ok(file) => Box::new(BufReader::new(file)),
        // A missing file verifies as an empty one: the verifier decides whether that is a
        // deletion (checkpoints or a head exist) or a fresh node.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Box::new(io::empty()),
        Err(e) => return Err(io_err(e)),
    };
    let mut lines = Lines::new(reader);
    let result = verify_log(&mut lines, &checkpoints, key, head.as_ref());
    if let Some(e) = lines.error.take() {
        return Err(io_err(e));
    }
    let report = result.map_err(|source| AuditVerifyError::Tampered {
        path: path.clone(),
        source,
    })?;
    if lines.unterminated {
        return Err(AuditVerifyError::Unterminated {
            path,
            line: lines.line,
        });
    }
    Ok(report)
}

/// Numbered lines (without `\n`) of a reader, remembering the first I/O error and whether the
/// last line lacked its newline.
struct Lines<R> {
    reader: R,
    line: usize,
    error: Option<io::Error>,
    unterminated: bool,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Self {
        Self {
            reader,
            line: 0,
            error: None,
            unterminated: false,
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = (usize, Vec<u8>);

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        match self.reader.read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                } else {
                    self.unterminated = true;
                }
                self.line += 1;
                Some((self.line, buf))
            }
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}
