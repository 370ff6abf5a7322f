//! Tamper suite: each mutation of a real audit trail (file, store anchors, node key) must fail
//! verification and name the first bad record; an untouched trail must verify.
//!
//! The fixture, with checkpoints every 4 records and a clean close, is 13 lines:
//! seq 1-4 findings, 5 checkpoint(4), 6-9 findings, 10 checkpoint(9), 11-12 findings,
//! 13 checkpoint(12). Line n holds seq n.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use ed25519_dalek::SigningKey;
use innerwarden::audit_log::{
    AUDIT_FILE, AuditLog, AuditLogError, AuditVerifyError, NODE_KEY_FILE, TrustedKey, verify,
};
use innerwarden_core::audit::{AuditKind, AuditRecord, Checkpoint, CheckpointError, VerifyError};
use proptest::prelude::*;
use serde_json::json;

mod common;

use common::Fixture;

/// Rewrite line `idx` (0-based) with a changed payload and a correctly recomputed hash.
fn rehash_edit(lines: &mut [String], idx: usize) {
    let (mut rec, _) = AuditRecord::parse_line(&lines[idx]).expect("parses");
    rec.payload = json!({ "n": 999 });
    rec.hash = rec.compute_hash();
    lines[idx] = rec.to_line();
}

#[test]
fn untouched_log_verifies() {
    let fx = Fixture::build(10, true);
    assert_eq!(fx.lines().len(), 13);
    let report = fx.verify().expect("verifies");
    assert_eq!(report.records, 13);
    assert_eq!(report.checkpoints_checked, 6, "3 stored + 3 in-file");
    assert_eq!(report.last_checkpoint_seq, Some(12));
    assert_eq!(report.head.map(|h| h.seq), Some(13));
    assert_eq!(report.records_after_head, 0);
}

#[test]
fn payload_byte_edit_is_a_hash_mismatch() {
    let fx = Fixture::build(10, true);
    let mut lines = fx.lines();
    lines[6] = lines[6].replacen("\"n\":5", "\"n\":6", 1);
    fx.write_lines(&lines);
    let err = fx.tamper();
    assert!(
        matches!(
            err,
            VerifyError::HashMismatch {
                line: 7,
                seq: 7,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn edit_with_recomputed_hash_is_caught_by_the_chain() {
    let fx = Fixture::build(10, true);
    let mut lines = fx.lines();
    rehash_edit(&mut lines, 1);
    fx.write_lines(&lines);
    let err = fx.tamper();
    assert!(
        matches!(
            err,
            VerifyError::PrevMismatch {
                line: 3,
                seq: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn edit_with_recomputed_hash_of_a_checkpointed_record_is_caught_by_the_checkpoint() {
    let fx = Fixture::build(10, true);
    let mut lines = fx.lines();
    rehash_edit(&mut lines, 3);
    fx.write_lines(&lines);
    let err = fx.tamper();
    assert!(
        matches!(
            err,
            VerifyError::CheckpointHashMismatch {
                line: 4,
                seq: 4,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn edit_with_recomputed_hash_of_the_last_record_is_caught_by_the_head() {
    let fx = Fixture::build(10, false);
    let mut lines = fx.lines();
    let last = lines.len() - 1;
    rehash_edit(&mut lines, last);
    fx.write_lines(&lines);
    let err = fx.tamper();
    assert!(
        matches!(
            err,
            VerifyError::HeadMismatch {
                line: 12,
                seq: 12,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn reordered_records_are_a_seq_gap() {
    let fx = Fixture::build(10, true);
    let mut lines = fx.lines();
    lines.swap(1, 2);
    fx.write_lines(&lines);
    let err = fx.tamper();
    assert!(
        matches!(
            err,
            VerifyError::SeqGap {
                line: 2,
                expected: 2,
                found: 3
            }
        ),
        "{err}"
    );
    assert_eq!((err.line(), err.seq()), (Some(2), Some(2)));
}

#[test]
fn deleted_middle_record_is_a_seq_gap() {
    let fx = Fixture::build(10, true);
    let mut lines = fx.lines();
    lines.remove(2);
    fx.write_lines(&lines);
    let err = fx.tamper();
    assert!(
        matches!(
            err,
            VerifyError::SeqGap {
                line: 3,
                expected: 3,
                found: 4
            }
        ),
        "{err}"
    );
}

#[test]
fn duplicated_record_is_a_seq_repeat() {
    let fx = Fixture::build(10, true);
    let mut lines = fx.lines();
    let dup = lines[2].clone();
    lines.insert(3, dup);
    fx.write_lines(&lines);
    let err = fx.tamper();
    assert!(
        matches!(
            err,
            VerifyError::SeqRepeat {
                line: 4,
                expected: 4,
                found: 3
            }
        ),
        "{err}"
    );
}

#[test]
fn truncation_across_a_checkpoint_is_detected() {
    let fx = Fixture::build(10, true);
    let lines = fx.lines();
    fx.write_lines(&lines[..5]);
    let err = fx.tamper();
    assert!(
        matches!(
            err,
            VerifyError::TruncatedBeforeCheckpoint {
                checkpoint_seq: 9,
                last_seq: Some(5)
            }
        ),
        "{err}"
    );
}

#[test]
fn truncation_after_the_last_checkpoint_is_caught_by_the_head() {
    // 10 findings, no close: the last checkpoint is of seq 9 (line 10); lines 11-12 follow.
    let fx = Fixture::build(10, false);
    let lines = fx.lines();
    assert_eq!(lines.len(), 12);
    fx.write_lines(&lines[..11]);
    let err = fx.tamper();
    assert!(
        matches!(
            err,
            VerifyError::TruncatedBeforeHead {
                head_seq: 12,
                last_seq: Some(11)
            }
        ),
        "{err}"
    );
}

#[test]
fn deleted_file_is_detected() {
    let fx = Fixture::build(10, true);
    fs::remove_file(fx.state().join(AUDIT_FILE)).expect("removes");
    let err = fx.tamper();
    assert!(
        matches!(
            err,
            VerifyError::FileMissing {
                checkpoints: 3,
                head_seq: Some(13)
            }
        ),
        "{err}"
    );
    fs::write(fx.state().join(AUDIT_FILE), "").expect("empties");
    assert!(matches!(fx.tamper(), VerifyError::FileMissing { .. }));
}

#[test]
fn forged_checkpoint_signature_is_detected() {
    let fx = Fixture::build(10, true);
    let mut cp = fx.store.checkpoints().expect("reads")[1].clone();
    assert_eq!(cp.seq, 9);
    // Re-signed by an attacker key while still claiming the node's key.
    let forged = Checkpoint::sign(
        cp.seq,
        &cp.record_hash,
        cp.ts,
        &SigningKey::from_bytes(&[9; 32]),
    )
    .expect("signs");
    cp.signature = forged.signature;
    fx.store.insert_checkpoint(&cp).expect("replaces");
    let err = fx.tamper();
    assert!(
        matches!(
            err,
            VerifyError::CheckpointInvalid {
                checkpoint_seq: 9,
                line: None,
                source: CheckpointError::BadSignature
            }
        ),
        "{err}"
    );
}

#[test]
fn swapped_node_key_is_detected() {
    let fx = Fixture::build(10, true);
    let original = fx.node_key().verifying_key();
    let path = fx.state().join(NODE_KEY_FILE);
    fs::write(&path, [42u8; 32]).expect("swaps key");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
    let err = fx.tamper();
    assert!(
        matches!(
            err,
            VerifyError::CheckpointInvalid {
                checkpoint_seq: 4,
                source: CheckpointError::KeyMismatch { .. },
                ..
            }
        ),
        "{err}"
    );
    // With the original key pinned, the trail itself still verifies.
    verify(fx.state(), &fx.store, &TrustedKey::Pinned(original)).expect("pinned key verifies");
    // And the writer refuses to extend it.
    let reopened = AuditLog::open(fx.state(), &fx.store);
    assert!(
        matches!(reopened, Err(AuditLogError::Tampered { .. })),
        "{reopened:?}"
    );
}

#[test]
fn missing_final_newline_is_reported() {
    let fx = Fixture::build(3, true);
    let text = fs::read_to_string(fx.state().join(AUDIT_FILE)).expect("reads");
    fs::write(fx.state().join(AUDIT_FILE), text.trim_end()).expect("writes");
    let err = fx.verify().expect_err("detected");
    assert!(
        matches!(err, AuditVerifyError::Unterminated { line: 4, .. }),
        "{err}"
    );
}

#[test]
fn reopen_resumes_the_chain_and_refuses_a_tampered_trail() {
    let fx = Fixture::build(5, true);
    let mut log = AuditLog::open(fx.state(), &fx.store).expect("reopens");
    let before = log.head().map(|(seq, _)| seq).expect("non-empty");
    let rec = log
        .append(AuditKind::AgentStart, json!({}))
        .expect("appends");
    assert_eq!(rec.seq, before + 1);
    log.close().expect("closes");
    fx.verify().expect("still verifies");

    let mut lines = fx.lines();
    lines[0] = lines[0].replacen("\"n\":0", "\"n\":1", 1);
    fx.write_lines(&lines);
    let err = AuditLog::open(fx.state(), &fx.store).expect_err("refused");
    assert!(matches!(err, AuditLogError::Tampered { .. }), "{err}");
}

#[test]
fn a_file_ahead_of_the_head_is_a_crash_not_tampering() {
    let fx = Fixture::build(5, false);
    let lines = fx.lines();
    let (prev, _) = AuditRecord::parse_line(&lines[lines.len() - 2]).expect("parses");
    fx.store
        .set_audit_head(&innerwarden_core::audit::Head {
            seq: prev.seq,
            hash: prev.hash,
        })
        .expect("rewinds head");
    let report = fx.verify().expect("verifies");
    assert_eq!(report.records_after_head, 1);
    let log = AuditLog::open(fx.state(), &fx.store).expect("opens");
    assert_eq!(
        fx.store.audit_head().expect("reads").map(|h| h.seq),
        log.head().map(|h| h.0)
    );
}

#[test]
fn a_second_writer_is_refused() {
    let fx = Fixture::build(2, true);
    let first = AuditLog::open(fx.state(), &fx.store).expect("opens");
    let second = AuditLog::open(fx.state(), &fx.store);
    assert!(
        matches!(second, Err(AuditLogError::Locked { .. })),
        "{second:?}"
    );
    drop(first);
    AuditLog::open(fx.state(), &fx.store).expect("opens once the first is gone");
}

fn payload() -> impl Strategy<Value = serde_json::Value> {
    (
        any::<i64>(),
        "\\PC{0,24}",
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(n, s, b)| json!({ "n": n, "text": s, "flag": b }))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_logs_verify_and_any_flipped_byte_is_detected(
        payloads in proptest::collection::vec(payload(), 1..12),
        close in any::<bool>(),
        pos in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let fx = Fixture::with_payloads(payloads, close);
        prop_assert!(fx.verify().is_ok());
        let path = fx.state().join(AUDIT_FILE);
        let mut bytes = fs::read(&path).expect("reads");
        let i = pos.index(bytes.len());
        bytes[i] ^= xor;
        fs::write(&path, &bytes).expect("writes");
        prop_assert!(fx.verify().is_err(), "flip of byte {} by {:#x} not detected", i, xor);
    }
}
