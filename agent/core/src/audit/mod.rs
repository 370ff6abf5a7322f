//! The tamper-evident audit log format: hash-chained records, signed checkpoints and the pure
//! verifier. No file I/O and no key storage here: the agent's `audit_log` module owns the file,
//! the node key and the store, and passes lines, checkpoints and keys in.
//!
//! # Layout
//! - [`record`]: [`AuditRecord`], its canonical encoding and hash, and the [`Chain`] state.
//! - [`checkpoint`]: [`Checkpoint`], Ed25519-signed over a domain-separated message.
//! - [`verify`]: [`verify_log`], returning a [`VerifyReport`] or the first bad record.

pub mod checkpoint;
pub mod record;
pub mod verify;

pub use checkpoint::{CHECKPOINT_DOMAIN, Checkpoint, CheckpointError, checkpoint_message};
pub use record::{AuditKind, AuditRecord, Chain, FIRST_SEQ, GENESIS_PREV, LineError, sha256_hex};
pub use verify::{Head, VerifyError, VerifyReport, verify_log};

#[cfg(test)]
mod tests;
