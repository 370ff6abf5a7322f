//! What the control plane asks of the agent: [`ControlBackend`]. The agent's implementation is
//! [`StoreBackend`]: reads come from the SQLite store, the audit log and `status.json`; the
//! mutating half (block, unblock, mode) is a [`ResponseControl`] the run loop provides, since
//! only it owns the responders and the live response configuration.
//!
//! Methods are synchronous and take `&mut self`: the [`super::ControlLoop`] is their only caller,
//! one command at a time, so an implementation needs no locking of its own.

use std::path::PathBuf;

use innerwarden_core::decide::config::{Cidr, Mode};
use innerwarden_core::model::file::Label;
use serde_json::{Value, json};

use super::ControlError;
use crate::audit_log::{self, TrustedKey};
use crate::status::STATUS_FILE;
use crate::store::Store;

/// A validated `Block` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRequest {
    pub target: Cidr,
    pub ttl_secs: u64,
    pub reason: String,
    /// Who asked (for the audit record).
    pub caller_uid: u32,
}

/// The agent as the control plane sees it. JSON values are what the D-Bus methods return.
pub trait ControlBackend: Send + 'static {
    /// Agent status: pid, version, mode, sensors, programs.
    fn status(&mut self) -> Result<Value, ControlError>;
    /// The newest `limit` incidents, newest first (a JSON array).
    fn incidents(&mut self, limit: u32) -> Result<Value, ControlError>;
    /// One incident with its findings; [`ControlError::NotFound`] if there is none.
    fn incident(&mut self, id: i64) -> Result<Value, ControlError>;
    /// The newest `limit` actions (a JSON array).
    fn actions(&mut self, limit: u32) -> Result<Value, ControlError>;
    /// Block an address or prefix for `ttl_secs`; returns the action id.
    fn block(&mut self, req: BlockRequest) -> Result<i64, ControlError>;
    /// Remove a block; `false` if none was in force.
    fn unblock(&mut self, target: Cidr, caller_uid: u32) -> Result<bool, ControlError>;
    /// Undo one action by its ledger id; `false` if it was not in force.
    fn revert(&mut self, id: i64, caller_uid: u32) -> Result<bool, ControlError>;
    fn set_mode(&mut self, mode: Mode, caller_uid: u32) -> Result<(), ControlError>;
    fn get_mode(&mut self) -> Result<Mode, ControlError>;
    /// Verify the audit log: `{"ok": true, ...}` or `{"ok": false, "seq", "line", "reason"}`.
    /// An error only when verification could not run.
    fn verify_audit(&mut self) -> Result<Value, ControlError>;
    /// Record an operator's verdict on an incident; returns the feedback id.
    fn feedback(
        &mut self,
        incident_id: i64,
        verdict: Label,
        caller_uid: u32,
    ) -> Result<i64, ControlError> {
        let _ = (incident_id, verdict, caller_uid);
        Err(ControlError::failed(
            "feedback is not supported by this backend",
        ))
    }
}

/// The mutating half of the backend, wired by the run loop to the responders and the live
/// response configuration.
pub trait ResponseControl: Send + 'static {
    fn block(&mut self, req: BlockRequest) -> Result<i64, ControlError>;
    fn unblock(&mut self, target: Cidr, caller_uid: u32) -> Result<bool, ControlError>;
    fn revert(&mut self, id: i64, caller_uid: u32) -> Result<bool, ControlError>;
    fn set_mode(&mut self, mode: Mode, caller_uid: u32) -> Result<(), ControlError>;
    fn get_mode(&mut self) -> Result<Mode, ControlError>;
    /// Record an operator's verdict (audited and stored by the loop that owns the audit log).
    fn feedback(
        &mut self,
        incident_id: i64,
        verdict: Label,
        caller_uid: u32,
    ) -> Result<i64, ControlError> {
        let _ = (incident_id, verdict, caller_uid);
        Err(ControlError::failed("feedback is not supported here"))
    }
}

/// Store-backed reads plus a [`ResponseControl`] for the rest.
pub struct StoreBackend<R> {
    pub store: Store,
    pub state_dir: PathBuf,
    pub trust: TrustedKey,
    pub response: R,
}

impl<R: ResponseControl> StoreBackend<R> {
    pub fn new(store: Store, state_dir: PathBuf, response: R) -> Self {
        Self {
            store,
            state_dir,
            trust: TrustedKey::NodeKey,
            response,
        }
    }
}

fn limit(n: u32) -> usize {
    // u32 always fits in usize on the 32/64-bit targets the agent supports.
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl<R: ResponseControl> ControlBackend for StoreBackend<R> {
    fn status(&mut self) -> Result<Value, ControlError> {
        let path = self.state_dir.join(STATUS_FILE);
        let mut v = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(ControlError::failed)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
            Err(e) => return Err(ControlError::failed(format!("{}: {e}", path.display()))),
        };
        if let Value::Object(map) = &mut v {
            map.insert("mode".into(), json!(self.response.get_mode()?));
            map.insert(
                "schema_version".into(),
                json!(self.store.schema_version().map_err(ControlError::failed)?),
            );
            map.insert(
                "event_count".into(),
                json!(self.store.event_count().map_err(ControlError::failed)?),
            );
        }
        Ok(v)
    }

    fn incidents(&mut self, n: u32) -> Result<Value, ControlError> {
        let rows = self
            .store
            .list_incidents(limit(n))
            .map_err(ControlError::failed)?;
        Ok(Value::Array(rows.iter().map(incident_json).collect()))
    }

    fn incident(&mut self, id: i64) -> Result<Value, ControlError> {
        let detail = self
            .store
            .incident(id)
            .map_err(ControlError::failed)?
            .ok_or_else(|| ControlError::NotFound {
                what: format!("incident {id}"),
            })?;
        let mut v = incident_json(&detail.incident);
        let findings: Vec<Value> = detail
            .findings
            .iter()
            .map(|f| json!({"id": f.id, "audit_seq": f.audit_seq, "finding": f.finding}))
            .collect();
        v["findings"] = Value::Array(findings);
        v["decisions"] = decisions_json(&self.store, id)?;
        v["feedback"] = feedback_json(&self.store, id)?;
        Ok(v)
    }

    fn actions(&mut self, n: u32) -> Result<Value, ControlError> {
        let rows = self
            .store
            .list_actions(limit(n))
            .map_err(ControlError::failed)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut v = serde_json::to_value(&row).map_err(ControlError::failed)?;
            // Flat fields for clients that list actions in a table.
            v["kind"] = row.action.kind().name().into();
            v["target"] = row.action.target().into();
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn block(&mut self, req: BlockRequest) -> Result<i64, ControlError> {
        self.response.block(req)
    }

    fn unblock(&mut self, target: Cidr, caller_uid: u32) -> Result<bool, ControlError> {
        self.response.unblock(target, caller_uid)
    }

    fn revert(&mut self, id: i64, caller_uid: u32) -> Result<bool, ControlError> {
        self.response.revert(id, caller_uid)
    }

    fn set_mode(&mut self, mode: Mode, caller_uid: u32) -> Result<(), ControlError> {
        self.response.set_mode(mode, caller_uid)
    }

    fn get_mode(&mut self) -> Result<Mode, ControlError> {
        self.response.get_mode()
    }

    fn feedback(
        &mut self,
        incident_id: i64,
        verdict: Label,
        caller_uid: u32,
    ) -> Result<i64, ControlError> {
        if self
            .store
            .incident(incident_id)
            .map_err(ControlError::failed)?
            .is_none()
        {
            return Err(ControlError::NotFound {
                what: format!("incident {incident_id}"),
            });
        }
        self.response.feedback(incident_id, verdict, caller_uid)
    }

    fn verify_audit(&mut self) -> Result<Value, ControlError> {
        match audit_log::verify(&self.state_dir, &self.store, &self.trust) {
            Ok(r) => Ok(json!({
                "ok": true,
                "records": r.records,
                "checkpoints_checked": r.checkpoints_checked,
                "head": r.head.map(|h| json!({"seq": h.seq, "hash": h.hash})),
                "last_checkpoint_seq": r.last_checkpoint_seq,
                "records_after_head": r.records_after_head,
            })),
            Err(e) => match e.tamper() {
                Some(t) => Ok(json!({
                    "ok": false, "seq": t.seq(), "line": t.line(), "reason": t.to_string(),
                })),
                None => Err(ControlError::failed(format!("{:#}", anyhow::Error::new(e)))),
            },
        }
    }
}

/// An incident's decisions with their explanations (top contributing features).
fn decisions_json(store: &Store, id: i64) -> Result<Value, ControlError> {
    let rows = store.decisions_for(id).map_err(ControlError::failed)?;
    Ok(Value::Array(
        rows.into_iter()
            .map(|d| {
                json!({"id": d.id, "audit_seq": d.audit_seq, "ts": d.decision.ts,
                       "confidence": d.decision.confidence, "tier": d.decision.tier,
                       "scorer": d.decision.scorer, "explanation": d.decision.reasons,
                       "actions": d.decision.actions, "suppressed": d.decision.suppressed})
            })
            .collect(),
    ))
}

/// Operator verdicts on an incident.
fn feedback_json(store: &Store, id: i64) -> Result<Value, ControlError> {
    let rows = store.feedback_for(id).map_err(ControlError::failed)?;
    Ok(Value::Array(
        rows.into_iter()
            .map(|f| {
                json!({"id": f.id, "ts": f.ts, "verdict": f.verdict, "caller_uid": f.caller_uid,
                       "audit_seq": f.audit_seq})
            })
            .collect(),
    ))
}

fn incident_json(i: &crate::store::IncidentRow) -> Value {
    json!({
        "id": i.id, "first_ts": i.first_ts, "last_ts": i.last_ts, "entity": i.entity_key,
        "title": i.title, "severity": i.severity, "status": i.status.to_string(),
        "finding_count": i.finding_count, "audit_seq": i.audit_seq,
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use innerwarden_core::finding::{Entity, Finding, Severity};

    use super::*;

    /// The mutating half, in memory.
    struct Fixed(Mode);

    impl ResponseControl for Fixed {
        fn block(&mut self, _: BlockRequest) -> Result<i64, ControlError> {
            Ok(1)
        }
        fn unblock(&mut self, _: Cidr, _: u32) -> Result<bool, ControlError> {
            Ok(false)
        }
        fn revert(&mut self, _: i64, _: u32) -> Result<bool, ControlError> {
            Ok(false)
        }
        fn set_mode(&mut self, mode: Mode, _: u32) -> Result<(), ControlError> {
            self.0 = mode;
            Ok(())
        }
        fn get_mode(&mut self) -> Result<Mode, ControlError> {
            Ok(self.0)
        }
    }

    #[test]
    fn reads_come_from_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("state.db")).expect("store");
        let mut b = StoreBackend::new(store.clone(), dir.path().to_path_buf(), Fixed(Mode::DryRun));

        let status = b.status().expect("status without status.json");
        assert_eq!(status["mode"], "dry_run");
        assert_eq!(status["event_count"], 0);
        assert_eq!(b.incidents(10).expect("incidents"), json!([]));
        assert_eq!(b.actions(10).expect("actions"), json!([]));
        assert!(matches!(b.incident(1), Err(ControlError::NotFound { .. })));

        let finding = Finding {
            ts: Utc::now(),
            detector: "ssh_bruteforce".into(),
            technique: "T1110.001".into(),
            severity: Severity::High,
            entity: Entity::User {
                name: "root".into(),
            },
            summary: "brute force against root".into(),
            evidence: vec![],
            author: None,
            stage: None,
        };
        let rec = store
            .record_finding(&finding, Some(3), chrono::Duration::minutes(10))
            .expect("record");
        let list = b.incidents(10).expect("incidents");
        assert_eq!(list[0]["id"], rec.incident_id);
        let one = b.incident(rec.incident_id).expect("incident");
        assert_eq!(one["findings"][0]["finding"]["detector"], "ssh_bruteforce");
        assert_eq!(one["status"], "open");

        b.set_mode(Mode::Enforce, 0).expect("set mode");
        assert_eq!(b.status().expect("status")["mode"], "enforce");
        // No node key in a fresh state directory: verification cannot run, which is an error
        // (not a tamper report).
        assert!(matches!(b.verify_audit(), Err(ControlError::Failed { .. })));
    }
}
