//! Signed checkpoints of the chain head.
//!
//! A checkpoint states "the record `seq` has hash `record_hash`", signed with the node's Ed25519
//! key. Because the chain links every record to the previous one, a valid checkpoint
//! authenticates every record up to `seq`; it also proves that the log reached `seq`, so a file
//! cut short before it (truncation) or removed altogether is detected.
//!
//! The signed message is domain-separated and has a fixed layout (no JSON):
//!
//! ```text
//! "innerwarden-audit-checkpoint-v1"   31 bytes, ASCII
//! seq                                  8 bytes, u64 big-endian
//! record_hash                         32 bytes, raw SHA-256 (hex-decoded)
//! ts seconds since the Unix epoch      8 bytes, i64 big-endian
//! ts sub-second nanoseconds            4 bytes, u32 big-endian
//! ```

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Domain separator that starts every signed checkpoint message.
pub const CHECKPOINT_DOMAIN: &[u8] = b"innerwarden-audit-checkpoint-v1";

/// A signed statement of the chain head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Sequence number of the checkpointed record.
    pub seq: u64,
    /// That record's `hash` (lowercase hex).
    pub record_hash: String,
    /// When the checkpoint was made.
    pub ts: DateTime<Utc>,
    /// Hex Ed25519 public key of the signer.
    pub node_key: String,
    /// Hex Ed25519 signature over [`checkpoint_message`].
    pub signature: String,
}

/// Why a checkpoint could not be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("record hash {hash:?} is not 64 hex digits")]
    BadRecordHash { hash: String },
    #[error("signature {signature:?} is not 128 hex digits")]
    MalformedSignature { signature: String },
    #[error("checkpoint was signed by node key {found}, but the trusted key is {trusted}")]
    KeyMismatch { trusted: String, found: String },
    #[error("signature does not verify under the trusted key")]
    BadSignature,
}

/// The exact bytes a checkpoint signature covers (see the module docs).
pub fn checkpoint_message(
    seq: u64,
    record_hash: &str,
    ts: &DateTime<Utc>,
) -> Result<Vec<u8>, CheckpointError> {
    let hash = decode_hash(record_hash)?;
    let mut msg = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 8 + 32 + 8 + 4);
    msg.extend_from_slice(CHECKPOINT_DOMAIN);
    msg.extend_from_slice(&seq.to_be_bytes());
    msg.extend_from_slice(&hash);
    msg.extend_from_slice(&ts.timestamp().to_be_bytes());
    msg.extend_from_slice(&ts.timestamp_subsec_nanos().to_be_bytes());
    Ok(msg)
}

fn decode_hash(record_hash: &str) -> Result<[u8; 32], CheckpointError> {
    let bad = || CheckpointError::BadRecordHash {
        hash: record_hash.to_owned(),
    };
    // Only the canonical lowercase form: an uppercase variant would be a second encoding of
    // the same hash.
    if record_hash.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(bad());
    }
    let bytes = hex::decode(record_hash).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

impl Checkpoint {
    /// Sign the head `(seq, record_hash)` at `ts` with `key`.
    pub fn sign(
        seq: u64,
        record_hash: &str,
        ts: DateTime<Utc>,
        key: &SigningKey,
    ) -> Result<Checkpoint, CheckpointError> {
        let msg = checkpoint_message(seq, record_hash, &ts)?;
        let signature = key.sign(&msg);
        Ok(Checkpoint {
            seq,
            record_hash: record_hash.to_owned(),
            ts,
            node_key: hex::encode(key.verifying_key().to_bytes()),
            signature: hex::encode(signature.to_bytes()),
        })
    }

    /// Check the signature against `trusted` (never against the key the checkpoint names).
    pub fn verify(&self, trusted: &VerifyingKey) -> Result<(), CheckpointError> {
        let trusted_hex = hex::encode(trusted.to_bytes());
        if self.node_key != trusted_hex {
            return Err(CheckpointError::KeyMismatch {
                trusted: trusted_hex,
                found: self.node_key.clone(),
            });
        }
        let malformed = || CheckpointError::MalformedSignature {
            signature: self.signature.clone(),
        };
        let sig_bytes: [u8; 64] = hex::decode(&self.signature)
            .map_err(|_| malformed())?
            .try_into()
            .map_err(|_| malformed())?;
        let msg = checkpoint_message(self.seq, &self.record_hash, &self.ts)?;
        trusted
            .verify_strict(&msg, &Signature::from_bytes(&sig_bytes))
            .map_err(|_| CheckpointError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SigningKey {
        SigningKey::from_bytes(&[b; 32])
    }

    fn hash() -> String {
        "ab".repeat(32)
    }

    #[test]
    fn signed_checkpoint_verifies_and_tampering_does_not() {
        let ts = Utc::now();
        let cp = Checkpoint::sign(7, &hash(), ts, &key(1)).expect("signs");
        cp.verify(&key(1).verifying_key()).expect("verifies");

        let mut moved = cp.clone();
        moved.seq = 8;
        assert_eq!(
            moved.verify(&key(1).verifying_key()),
            Err(CheckpointError::BadSignature)
        );
        let mut retimed = cp.clone();
        retimed.ts = ts + chrono::Duration::nanoseconds(1);
        assert_eq!(
            retimed.verify(&key(1).verifying_key()),
            Err(CheckpointError::BadSignature)
        );
        assert!(matches!(
            cp.verify(&key(2).verifying_key()),
            Err(CheckpointError::KeyMismatch { .. })
        ));
    }

    #[test]
    fn message_is_domain_separated_fixed_layout() {
        let ts = DateTime::from_timestamp(1, 2).expect("in range");
        let msg = checkpoint_message(3, &hash(), &ts).expect("valid hash");
        assert!(msg.starts_with(CHECKPOINT_DOMAIN));
        assert_eq!(msg.len(), 31 + 8 + 32 + 8 + 4);
        assert_eq!(&msg[31..39], &3u64.to_be_bytes());
        assert_eq!(&msg[71..79], &1i64.to_be_bytes());
        assert_eq!(&msg[79..], &2u32.to_be_bytes());
        assert!(checkpoint_message(3, "xyz", &ts).is_err());
        assert!(checkpoint_message(3, &"AB".repeat(32), &ts).is_err());
    }
}
