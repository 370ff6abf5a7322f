//! Shared fixture for the audit integration tests: a real trail (file, store, node key) in a
//! temporary state directory, with checkpoints every 4 records.

use std::fs;
use std::path::Path;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use innerwarden::audit_log::{
    AUDIT_FILE, AuditLog, AuditVerifyError, CheckpointPolicy, TrustedKey, verify,
};
use innerwarden::store::Store;
use innerwarden_core::audit::{AuditKind, VerifyError, VerifyReport};
use serde_json::json;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub store: Store,
}

impl Fixture {
    /// `n` finding records; `close` adds the final checkpoint.
    pub fn build(n: u64, close: bool) -> Fixture {
        Self::with_payloads(
            (0..n).map(|i| json!({ "n": i, "detector": "ssh_bruteforce" })),
            close,
        )
    }

    pub fn with_payloads(
        payloads: impl IntoIterator<Item = serde_json::Value>,
        close: bool,
    ) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("state.db")).expect("store opens");
        let policy = CheckpointPolicy {
            every_records: 4,
            every: Duration::from_secs(3600),
        };
        let mut log = AuditLog::open_with(dir.path(), &store, policy).expect("log opens");
        for p in payloads {
            log.append(AuditKind::Finding, p).expect("appends");
        }
        if close {
            log.close().expect("closes");
        }
        Fixture { dir, store }
    }

    pub fn state(&self) -> &Path {
        self.dir.path()
    }

    pub fn lines(&self) -> Vec<String> {
        let text = fs::read_to_string(self.state().join(AUDIT_FILE)).expect("reads log");
        text.lines().map(str::to_owned).collect()
    }

    pub fn write_lines(&self, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        fs::write(self.state().join(AUDIT_FILE), text).expect("writes log");
    }

    pub fn verify(&self) -> Result<VerifyReport, AuditVerifyError> {
        verify(self.state(), &self.store, &TrustedKey::NodeKey)
    }

    pub fn tamper(&self) -> VerifyError {
        match self.verify() {
            Ok(report) => panic!("tampering not detected: {report:?}"),
            Err(AuditVerifyError::Tampered { source, .. }) => source,
            Err(other) => panic!("expected a tamper finding, got {other}"),
        }
    }

    pub fn node_key(&self) -> SigningKey {
        innerwarden::audit_log::load_node_key(self.state()).expect("key loads")
    }
}
