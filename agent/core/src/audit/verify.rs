//! The pure verifier: lines, checkpoints, a trusted key and the expected head in; a report or the
//! first bad record out.
//!
//! What each check catches:
//! - a line's stored `hash` against the hash of its bytes: an edit of the record;
//! - `seq` against the previous `seq + 1`: deletion, duplication or reordering of records;
//! - `prev` against the previous record's `hash`: an edit whose `hash` was recomputed, or a
//!   splice of records from elsewhere;
//! - signed checkpoints (from the store, and the `checkpoint` records in the file itself):
//!   records rewritten with recomputed hashes up to the checkpoint, and a file cut short before
//!   the checkpointed record;
//! - the expected head (kept outside the file, in SQLite): a file cut short after the last
//!   checkpoint, or a rewritten last record;
//! - no lines while checkpoints or a head exist: a deleted or emptied file.

use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;

use super::checkpoint::{Checkpoint, CheckpointError};
use super::record::{AuditKind, AuditRecord, FIRST_SEQ, GENESIS_PREV, LineError};

/// A chain position: the record `seq` has hash `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records read and verified.
    pub records: u64,
    /// Checkpoints whose signature and record hash were checked (store and in-file).
    pub checkpoints_checked: usize,
    /// The last record, `None` for an empty log.
    pub head: Option<Head>,
    /// Highest record `seq` covered by a valid checkpoint.
    pub last_checkpoint_seq: Option<u64>,
    /// Records after the expected head, or all of them when no head is known (written but not
    /// acknowledged in the store, e.g. a crash between the file write and the store update).
    /// Chained, and signed if a checkpoint covers them, but not anchored by the head.
    pub records_after_head: u64,
}

/// The first thing found wrong. `line` is 1-based.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("line {line}: unparsable audit record")]
    Unparsable {
        line: usize,
        #[source]
        source: LineError,
    },
    #[error(
        "line {line} (seq {seq}): stored hash {stored} but the record hashes to {computed} (record edited)"
    )]
    HashMismatch {
        line: usize,
        seq: u64,
        stored: String,
        computed: String,
    },
    #[error("line {line}: expected seq {expected}, found {found} (records deleted or reordered)")]
    SeqGap {
        line: usize,
        expected: u64,
        found: u64,
    },
    #[error(
        "line {line}: expected seq {expected}, found {found} again (records repeated or reordered)"
    )]
    SeqRepeat {
        line: usize,
        expected: u64,
        found: u64,
    },
    #[error(
        "line {line} (seq {seq}): prev is {found} but the previous record hashes to {expected} (an earlier record was altered, or records were removed or reordered)"
    )]
    PrevMismatch {
        line: usize,
        seq: u64,
        expected: String,
        found: String,
    },
    #[error("checkpoint of seq {checkpoint_seq} is invalid")]
    CheckpointInvalid {
        checkpoint_seq: u64,
        /// The file line of the in-file checkpoint record, `None` for a stored checkpoint.
        line: Option<usize>,
        #[source]
        source: CheckpointError,
    },
    #[error("line {line} (seq {seq}): checkpoint record payload is not a checkpoint")]
    CheckpointRecordMalformed {
        line: usize,
        seq: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "line {line} (seq {seq}): a signed checkpoint says this record hashes to {checkpoint_hash}, it hashes to {record_hash}"
    )]
    CheckpointHashMismatch {
        line: usize,
        seq: u64,
        checkpoint_hash: String,
        record_hash: String,
    },
    #[error(
        "a signed checkpoint names seq {checkpoint_seq}, but the log ends at {last_seq:?} (truncated)"
    )]
    TruncatedBeforeCheckpoint {
        checkpoint_seq: u64,
        last_seq: Option<u64>,
    },
    #[error(
        "line {line} (seq {seq}): the stored head says this record hashes to {head_hash}, it hashes to {record_hash}"
    )]
    HeadMismatch {
        line: usize,
        seq: u64,
        head_hash: String,
        record_hash: String,
    },
    #[error("the stored head is seq {head_seq}, but the log ends at {last_seq:?} (truncated)")]
    TruncatedBeforeHead {
        head_seq: u64,
        last_seq: Option<u64>,
    },
    #[error(
        "the audit log is missing or empty, but {checkpoints} checkpoint(s) and head {head_seq:?} exist (deleted)"
    )]
    FileMissing {
        checkpoints: usize,
        head_seq: Option<u64>,
    },
}

impl VerifyError {
    /// The 1-based line of the first bad record, when the failure is at a line.
    pub fn line(&self) -> Option<usize> {
        match self {
            VerifyError::Unparsable { line, .. }
            | VerifyError::HashMismatch { line, .. }
            | VerifyError::SeqGap { line, .. }
            | VerifyError::SeqRepeat { line, .. }
            | VerifyError::PrevMismatch { line, .. }
            | VerifyError::CheckpointRecordMalformed { line, .. }
            | VerifyError::CheckpointHashMismatch { line, .. }
            | VerifyError::HeadMismatch { line, .. } => Some(*line),
            VerifyError::CheckpointInvalid { line, .. } => *line,
            VerifyError::TruncatedBeforeCheckpoint { .. }
            | VerifyError::TruncatedBeforeHead { .. }
            | VerifyError::FileMissing { .. } => None,
        }
    }

    /// The `seq` of the first bad record, when known.
    pub fn seq(&self) -> Option<u64> {
        match self {
            VerifyError::HashMismatch { seq, .. }
            | VerifyError::PrevMismatch { seq, .. }
            | VerifyError::CheckpointRecordMalformed { seq, .. }
            | VerifyError::CheckpointHashMismatch { seq, .. }
            | VerifyError::HeadMismatch { seq, .. } => Some(*seq),
            VerifyError::SeqGap { expected, .. } | VerifyError::SeqRepeat { expected, .. } => {
                Some(*expected)
            }
            VerifyError::CheckpointInvalid { checkpoint_seq, .. }
            | VerifyError::TruncatedBeforeCheckpoint { checkpoint_seq, .. } => {
                Some(*checkpoint_seq)
            }
            VerifyError::TruncatedBeforeHead { head_seq, .. } => Some(*head_seq),
            VerifyError::Unparsable { .. } | VerifyError::FileMissing { .. } => None,
        }
    }
}

/// Verify an audit log.
///
/// `lines` are `(1-based line number, bytes without the newline)`; `checkpoints` are the stored
/// ones (any order); `trusted` is the node public key every checkpoint must be signed with;
/// `expected_head` is the head recorded outside the file, if known. A `checkpoint` record in the
/// file must checkpoint the record right before it.
pub fn verify_log<I, S>(
    lines: I,
    checkpoints: &[Checkpoint],
    trusted: &VerifyingKey,
    expected_head: Option<&Head>,
) -> Result<VerifyReport, VerifyError>
where
    I: IntoIterator<Item = (usize, S)>,
    S: AsRef<[u8]>,
{
    let mut pending: BTreeMap<u64, Vec<&Checkpoint>> = BTreeMap::new();
    for cp in checkpoints {
        pending.entry(cp.seq).or_default().push(cp);
    }
    let mut report = VerifyReport {
        records: 0,
        checkpoints_checked: 0,
        head: None,
        last_checkpoint_seq: None,
        records_after_head: 0,
    };
    let mut expected_seq = FIRST_SEQ;
    let mut prev_hash = GENESIS_PREV.to_owned();

    for (line, bytes) in lines {
        let text = std::str::from_utf8(bytes.as_ref()).map_err(|_| VerifyError::Unparsable {
            line,
            source: LineError::NotUtf8,
        })?;
        let (rec, computed) = AuditRecord::parse_line(text)
            .map_err(|source| VerifyError::Unparsable { line, source })?;
        if computed != rec.hash {
            return Err(VerifyError::HashMismatch {
                line,
                seq: rec.seq,
                stored: rec.hash,
                computed,
            });
        }
        if rec.seq != expected_seq {
            let (expected, found) = (expected_seq, rec.seq);
            return Err(if found > expected {
                VerifyError::SeqGap {
                    line,
                    expected,
                    found,
                }
            } else {
                VerifyError::SeqRepeat {
                    line,
                    expected,
                    found,
                }
            });
        }
        if rec.prev != prev_hash {
            return Err(VerifyError::PrevMismatch {
                line,
                seq: rec.seq,
                expected: prev_hash,
                found: rec.prev,
            });
        }
        if rec.kind == AuditKind::Checkpoint {
            check_inline_checkpoint(line, &rec, trusted)?;
            report.checkpoints_checked += 1;
            report.last_checkpoint_seq = Some(rec.seq - 1);
        }
        for cp in pending.remove(&rec.seq).unwrap_or_default() {
            cp.verify(trusted)
                .map_err(|source| VerifyError::CheckpointInvalid {
                    checkpoint_seq: cp.seq,
                    line: None,
                    source,
                })?;
            if cp.record_hash != rec.hash {
                return Err(VerifyError::CheckpointHashMismatch {
                    line,
                    seq: rec.seq,
                    checkpoint_hash: cp.record_hash.clone(),
                    record_hash: rec.hash,
                });
            }
            report.checkpoints_checked += 1;
            report.last_checkpoint_seq = report.last_checkpoint_seq.max(Some(rec.seq));
        }
        match expected_head {
            Some(head) if head.seq == rec.seq && head.hash != rec.hash => {
                return Err(VerifyError::HeadMismatch {
                    line,
                    seq: rec.seq,
                    head_hash: head.hash.clone(),
                    record_hash: rec.hash,
                });
            }
            Some(head) if rec.seq <= head.seq => {}
            _ => report.records_after_head += 1,
        }
        report.records += 1;
        expected_seq = rec.seq.saturating_add(1);
        prev_hash = rec.hash;
    }

    let last_seq = (expected_seq > FIRST_SEQ).then(|| expected_seq - 1);
    if last_seq.is_none() && (!checkpoints.is_empty() || expected_head.is_some()) {
        return Err(VerifyError::FileMissing {
            checkpoints: checkpoints.len(),
            head_seq: expected_head.map(|h| h.seq),
        });
    }
    // Checkpoints never matched: past the end (truncation) or naming a seq that cannot exist.
    if let Some((&checkpoint_seq, cps)) = pending.iter().next() {
        for cp in cps {
            cp.verify(trusted)
                .map_err(|source| VerifyError::CheckpointInvalid {
                    checkpoint_seq,
                    line: None,
                    source,
                })?;
        }
        return Err(VerifyError::TruncatedBeforeCheckpoint {
            checkpoint_seq,
            last_seq,
        });
    }
    if let Some(head) = expected_head
        && Some(head.seq) > last_seq
    {
        return Err(VerifyError::TruncatedBeforeHead {
            head_seq: head.seq,
            last_seq,
        });
    }
    report.head = last_seq.map(|seq| Head {
        seq,
        hash: prev_hash,
    });
    Ok(report)
}

/// A `checkpoint` record: a signed checkpoint of the record right before it.
fn check_inline_checkpoint(
    line: usize,
    rec: &AuditRecord,
    trusted: &VerifyingKey,
) -> Result<(), VerifyError> {
    let cp: Checkpoint = serde_json::from_value(rec.payload.clone()).map_err(|source| {
        VerifyError::CheckpointRecordMalformed {
            line,
            seq: rec.seq,
            source,
        }
    })?;
    cp.verify(trusted)
        .map_err(|source| VerifyError::CheckpointInvalid {
            checkpoint_seq: cp.seq,
            line: Some(line),
            source,
        })?;
    if cp.seq.saturating_add(1) != rec.seq || cp.record_hash != rec.prev {
        return Err(VerifyError::CheckpointHashMismatch {
            line,
            seq: rec.seq,
            checkpoint_hash: cp.record_hash,
            record_hash: rec.prev.clone(),
        });
    }
    Ok(())
}
