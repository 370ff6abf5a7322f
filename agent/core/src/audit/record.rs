//! The audit record, its canonical encoding and the chain state that builds the next record.
//!
//! # Canonical encoding and hash
//!
//! A record's *body* is the compact JSON (no whitespace, as `serde_json::to_vec` writes it) of
//! the object
//!
//! ```text
//! {"seq":<u64>,"ts":"<RFC 3339 UTC>","prev":"<64 hex>","kind":"<snake_case>","payload":<json>}
//! ```
//!
//! with exactly these five fields in exactly this order (`payload` object keys sorted, as
//! `serde_json::Value` keeps them). `hash` is the lowercase hex SHA-256 of the body bytes.
//! The record's line in `audit.jsonl` is the body with its closing `}` replaced by
//! `,"hash":"<64 hex>"}` and a `\n`.
//!
//! Verification hashes the bytes *as written* (the line minus its `,"hash":"…"` suffix, plus
//! `}`), not a re-serialization of the parsed record, so it never depends on JSON round-trips
//! being bit-exact (floats), and any change to any byte of a line is detected.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev` of the first record: 64 zeros.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Sequence number of the first record of a chain.
pub const FIRST_SEQ: u64 = 1;

/// Length of the `,"hash":"<64 hex>"}` suffix that ends every record line.
const HASH_SUFFIX_LEN: usize = ",\"hash\":\"".len() + 64 + "\"}".len();

/// What an audit record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// The agent started (payload: version, mode, node key).
    AgentStart,
    /// The agent stopped cleanly.
    AgentStop,
    /// A configuration was loaded and validated (payload: its digest and source).
    ConfigLoaded,
    /// A detector produced a finding.
    Finding,
    /// An incident was opened or changed.
    Incident,
    /// The decide stage chose an action plan (or chose to only record).
    Decision,
    /// A responder executed an action (or recorded it as dry-run).
    Action,
    /// A responder could not carry out an enforced action (payload: the action and the error).
    ActionFailed,
    /// An action was reverted (TTL expired or operator unblock).
    ActionReverted,
    /// A human should look: soft tier, suppressed act-tier action, or breaker trip.
    Escalation,
    /// Enforcement the ledger says is in force was missing and was restored (nft table gone).
    Reasserted,
    /// The action budget was exhausted: every action is dry-run until the breaker closes.
    BreakerTripped,
    /// Operator feedback on an incident (true/false positive).
    Feedback,
    /// A signed checkpoint of the chain head (payload: the [`super::Checkpoint`]).
    Checkpoint,
    /// The agent found its own audit trail inconsistent at start.
    TamperDetected,
}

impl AuditKind {
    /// The snake_case name written in the record.
    pub fn name(self) -> &'static str {
        match self {
            AuditKind::AgentStart => "agent_start",
            AuditKind::AgentStop => "agent_stop",
            AuditKind::ConfigLoaded => "config_loaded",
            AuditKind::Finding => "finding",
            AuditKind::Incident => "incident",
            AuditKind::Decision => "decision",
            AuditKind::Action => "action",
            AuditKind::ActionFailed => "action_failed",
            AuditKind::ActionReverted => "action_reverted",
            AuditKind::Escalation => "escalation",
            AuditKind::Reasserted => "reasserted",
            AuditKind::BreakerTripped => "breaker_tripped",
            AuditKind::Feedback => "feedback",
            AuditKind::Checkpoint => "checkpoint",
            AuditKind::TamperDetected => "tamper_detected",
        }
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    pub seq: u64,
    pub ts: DateTime<Utc>,
    /// `hash` of the previous record; [`GENESIS_PREV`] for the first one.
    pub prev: String,
    pub kind: AuditKind,
    pub payload: serde_json::Value,
    /// Lowercase hex SHA-256 of the canonical body (see the module docs).
    pub hash: String,
}

/// The hashed part of a record: every field but `hash`, in canonical order.
#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    ts: &'a DateTime<Utc>,
    prev: &'a str,
    kind: AuditKind,
    payload: &'a serde_json::Value,
}

/// A line that is not a well-formed record line.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("line is not valid UTF-8")]
    NotUtf8,
    #[error("line does not end with a `,\"hash\":\"<64 hex>\"}}` field")]
    NoHashSuffix,
    #[error("not a valid audit record")]
    Json {
        #[source]
        source: serde_json::Error,
    },
}

impl AuditRecord {
    /// The canonical body bytes (see the module docs).
    pub fn body(&self) -> Vec<u8> {
        body_bytes(self.seq, &self.ts, &self.prev, self.kind, &self.payload)
    }

    /// SHA-256 of the canonical body, in lowercase hex.
    pub fn compute_hash(&self) -> String {
        sha256_hex(&self.body())
    }

    /// The record's line, without the trailing newline.
    pub fn to_line(&self) -> String {
        let mut body = self.body();
        // The body is a JSON object, so its last byte is `}`; drop it and append the hash field.
        body.pop();
        let mut line = String::from_utf8_lossy(&body).into_owned();
        line.push_str(",\"hash\":\"");
        line.push_str(&self.hash);
        line.push_str("\"}");
        line
    }

    /// Parse one line and hash its body as written. Returns the record and the hash of the
    /// bytes on disk (compare it with `record.hash` to detect an edit).
    pub fn parse_line(line: &str) -> Result<(AuditRecord, String), LineError> {
        let split = line
            .len()
            .checked_sub(HASH_SUFFIX_LEN)
            .filter(|&at| line.is_char_boundary(at))
            .ok_or(LineError::NoHashSuffix)?;
        let (head, suffix) = line.split_at(split);
        let hex_part = suffix
            .strip_prefix(",\"hash\":\"")
            .and_then(|s| s.strip_suffix("\"}"))
            .ok_or(LineError::NoHashSuffix)?;
        if hex_part.len() != 64 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(LineError::NoHashSuffix);
        }
        let record: AuditRecord =
            serde_json::from_str(line).map_err(|source| LineError::Json { source })?;
        let mut hasher = Sha256::new();
        hasher.update(head.as_bytes());
        hasher.update(b"}");
        Ok((record, hex::encode(hasher.finalize())))
    }
}

fn body_bytes(
    seq: u64,
    ts: &DateTime<Utc>,
    prev: &str,
    kind: AuditKind,
    payload: &serde_json::Value,
) -> Vec<u8> {
    let body = Body {
        seq,
        ts,
        prev,
        kind,
        payload,
    };
    // Serializing a struct of integers, strings, a chrono timestamp and a `Value` into a Vec
    // cannot fail: there is no I/O and no map with non-string keys.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The position of a chain: what the next record's `seq` and `prev` will be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    next_seq: u64,
    last_hash: String,
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

impl Chain {
    /// An empty chain: the next record is the genesis record.
    pub fn new() -> Self {
        Self {
            next_seq: FIRST_SEQ,
            last_hash: GENESIS_PREV.to_owned(),
        }
    }

    /// Resume after the record `(seq, hash)`.
    pub fn resume(seq: u64, hash: impl Into<String>) -> Self {
        Self {
            next_seq: seq.saturating_add(1),
            last_hash: hash.into(),
        }
    }

    /// The last record's `(seq, hash)`, or `None` for an empty chain.
    pub fn head(&self) -> Option<(u64, &str)> {
        (self.next_seq > FIRST_SEQ).then(|| (self.next_seq - 1, self.last_hash.as_str()))
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Build the next record and advance the chain past it.
    pub fn append(
        &mut self,
        ts: DateTime<Utc>,
        kind: AuditKind,
        payload: serde_json::Value,
    ) -> AuditRecord {
        let mut record = AuditRecord {
            seq: self.next_seq,
            ts,
            prev: self.last_hash.clone(),
            kind,
            payload,
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        self.next_seq = self.next_seq.saturating_add(1);
        self.last_hash = record.hash.clone();
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T04:53:40.5Z")
            .expect("valid literal")
            .with_timezone(&Utc)
    }

    #[test]
    fn line_layout_is_the_documented_one() {
        let mut chain = Chain::new();
        let r = chain.append(
            ts(),
            AuditKind::AgentStart,
            serde_json::json!({"b":1,"a":2}),
        );
        let line = r.to_line();
        let body = format!(
            r#"{{"seq":1,"ts":"2026-11-22T04:53:40.500Z","prev":"{GENESIS_PREV}","kind":"agent_start","payload":{{"a":2,"b":1}}}}"#
        );
        assert_eq!(r.hash, sha256_hex(body.as_bytes()));
        assert_eq!(
            line,
            format!("{},\"hash\":\"{}\"}}", &body[..body.len() - 1], r.hash)
        );
        let (back, on_disk) = AuditRecord::parse_line(&line).expect("parses");
        assert_eq!(back, r);
        assert_eq!(on_disk, r.hash);
    }

    #[test]
    fn chain_links_records() {
        let mut chain = Chain::new();
        assert_eq!(chain.head(), None);
        let a = chain.append(ts(), AuditKind::Finding, serde_json::Value::Null);
        let b = chain.append(ts(), AuditKind::Decision, serde_json::Value::Null);
        assert_eq!((a.seq, b.seq), (1, 2));
        assert_eq!(b.prev, a.hash);
        assert_eq!(chain.head(), Some((2, b.hash.as_str())));
        let resumed = Chain::resume(2, b.hash.clone());
        assert_eq!(resumed, chain);
    }

    #[test]
    fn line_without_hash_suffix_is_refused() {
        assert!(matches!(
            AuditRecord::parse_line(r#"{"seq":1}"#),
            Err(LineError::NoHashSuffix)
        ));
    }
}
