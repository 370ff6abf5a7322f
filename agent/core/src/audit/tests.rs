//! Verifier tests over in-memory lines (the file-level tamper suite lives in the agent crate).

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde_json::json;

use super::*;

fn ts(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000 + n, 0).expect("in range")
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// Ten records with a checkpoint of record 5 appended as record 6.
fn log() -> (Vec<String>, Vec<Checkpoint>, Head) {
    let mut chain = Chain::new();
    let mut lines = Vec::new();
    let mut cps = Vec::new();
    for i in 0..9 {
        let r = chain.append(ts(i), AuditKind::Finding, json!({ "n": i }));
        lines.push(r.to_line());
        if r.seq == 5 {
            let cp = Checkpoint::sign(r.seq, &r.hash, ts(i), &key()).expect("signs");
            let payload = serde_json::to_value(&cp).expect("serializes");
            lines.push(
                chain
                    .append(ts(i), AuditKind::Checkpoint, payload)
                    .to_line(),
            );
            cps.push(cp);
        }
    }
    let (seq, hash) = chain.head().expect("non-empty");
    let head = Head {
        seq,
        hash: hash.to_owned(),
    };
    (lines, cps, head)
}

fn run(
    lines: &[String],
    cps: &[Checkpoint],
    head: Option<&Head>,
) -> Result<VerifyReport, VerifyError> {
    let numbered = lines.iter().enumerate().map(|(i, l)| (i + 1, l.as_str()));
    verify_log(numbered, cps, &key().verifying_key(), head)
}

#[test]
fn untouched_log_verifies() {
    let (lines, cps, head) = log();
    let report = run(&lines, &cps, Some(&head)).expect("verifies");
    assert_eq!(report.records, 10);
    assert_eq!(report.checkpoints_checked, 2);
    assert_eq!(report.last_checkpoint_seq, Some(5));
    assert_eq!(report.head, Some(head));
    assert_eq!(report.records_after_head, 0);
}

#[test]
fn swapped_lines_name_the_first_out_of_place() {
    let (mut lines, cps, head) = log();
    lines.swap(2, 3);
    let err = run(&lines, &cps, Some(&head)).expect_err("reorder detected");
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
fn empty_log_with_head_is_a_deletion() {
    let (_, cps, head) = log();
    let err = run(&[], &cps, Some(&head)).expect_err("deletion detected");
    assert!(
        matches!(err, VerifyError::FileMissing { checkpoints: 1, .. }),
        "{err}"
    );
    run(&[], &[], None).expect("a fresh log is empty");
}

#[test]
fn head_beyond_the_end_is_truncation() {
    let (lines, cps, head) = log();
    let err = run(&lines[..8], &cps, Some(&head)).expect_err("truncation detected");
    assert!(
        matches!(
            err,
            VerifyError::TruncatedBeforeHead {
                head_seq: 10,
                last_seq: Some(8)
            }
        ),
        "{err}"
    );
    let err = run(&lines[..4], &cps, Some(&head)).expect_err("truncation detected");
    assert!(
        matches!(
            err,
            VerifyError::TruncatedBeforeCheckpoint {
                checkpoint_seq: 5,
                ..
            }
        ),
        "{err}"
    );
}

proptest::proptest! {
    /// Any single-byte change anywhere in any line is detected.
    #[test]
    fn any_flipped_byte_is_detected(
        line_pick in proptest::prelude::any::<proptest::sample::Index>(),
        byte_pick in proptest::prelude::any::<proptest::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let (lines, cps, head) = log();
        let mut raw: Vec<Vec<u8>> = lines.into_iter().map(String::into_bytes).collect();
        let l = line_pick.index(raw.len());
        let b = byte_pick.index(raw[l].len());
        raw[l][b] ^= xor;
        let numbered = raw.iter().enumerate().map(|(i, l)| (i + 1, l.as_slice()));
        let result = verify_log(numbered, &cps, &key().verifying_key(), Some(&head));
        proptest::prop_assert!(result.is_err(), "line {} byte {} ^ {:#x} undetected", l + 1, b, xor);
    }
}
