//! The pipeline's real sink: raw events into SQLite, findings into the audit log first and then
//! into SQLite rows that reference their audit `seq`, incidents opened recorded in both.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use innerwarden_core::audit::AuditKind;
use innerwarden_core::config::Config;
use innerwarden_core::event::Event;
use innerwarden_core::finding::Finding;
use innerwarden_core::proctable::ProcessTable;
use serde_json::json;

use crate::audit_log::{AuditLog, AuditLogError, CheckpointPolicy};
use crate::control::signals::{Signal, SignalSender};
use crate::pipeline::{Control, Recorded, Sink};
use crate::respond::stage::{AuditWrite, ResponseStage};
use crate::store::Store;

/// How often expired actions are reverted and enforcement is checked (nft table present).
const MAINTAIN_EVERY: Duration = Duration::from_secs(5);

/// File name of the SQLite database inside the state directory.
pub const DB_FILE: &str = "innerwarden.db";

/// Path of the database for a state directory.
pub fn db_path(state_dir: &Path) -> PathBuf {
    state_dir.join(DB_FILE)
}

/// Open the store (creating the state directory with mode 0700 if needed).
pub fn open_store(state_dir: &Path) -> anyhow::Result<Store> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(state_dir)
        .with_context(|| format!("creating state directory {}", state_dir.display()))?;
    let path = db_path(state_dir);
    Store::open(&path).with_context(|| format!("opening database {}", path.display()))
}

/// Open the audit log. A trail that does not verify is never extended, and never a reason to
/// stop protecting the host (an attacker who edits the log must not be able to keep the agent
/// down): it is moved aside as evidence (`audit.jsonl.tampered-<unix time>`), the anchors are
/// reset, a new chain starts, and its first record after start is `tamper_detected` naming
/// the first bad record and the archived file.
fn open_audit(
    dir: &Path,
    store: &Store,
    policy: CheckpointPolicy,
) -> anyhow::Result<(AuditLog, Option<serde_json::Value>)> {
    let err = match AuditLog::open_with(dir, store, policy) {
        Ok(log) => return Ok((log, None)),
        Err(e) => e,
    };
    let AuditLogError::Tampered { source } = &err else {
        return Err(err).with_context(|| format!("opening the audit log in {}", dir.display()));
    };
    let reason = format!("{source:#}");
    let (seq, line) = source
        .tamper()
        .map_or((None, None), |t| (t.seq(), t.line()));
    let file = dir.join(crate::audit_log::AUDIT_FILE);
    let archived = dir.join(format!(
        "{}.tampered-{}",
        crate::audit_log::AUDIT_FILE,
        chrono::Utc::now().timestamp()
    ));
    if file.exists() {
        std::fs::rename(&file, &archived)
            .with_context(|| format!("moving the tampered audit log to {}", archived.display()))?;
    }
    let old_head = store.audit_head()?;
    store.reset_audit_anchors()?;
    tracing::error!(%reason, archived = %archived.display(), "audit trail failed verification; moved aside, new chain started");
    let log = AuditLog::open_with(dir, store, policy)
        .with_context(|| format!("opening a new audit log in {}", dir.display()))?;
    Ok((
        log,
        Some(json!({
            "reason": reason, "first_bad_seq": seq, "first_bad_line": line,
            "archived": archived.display().to_string(),
            "previous_head": old_head.map(|h| json!({"seq": h.seq, "hash": h.hash})),
        })),
    ))
}

/// Records into the store and the audit log of one state directory.
pub struct StoreSink {
    store: Store,
    audit: Option<AuditLog>,
    response: Option<ResponseStage>,
    incident_window: chrono::Duration,
    retention_rows: u64,
    retention_age: Duration,
    last_prune: Instant,
    last_maintain: Instant,
    signals: Option<SignalSender>,
    watchdog: bool,
}

impl StoreSink {
    /// Open the store and the audit log under `cfg.agent.state_dir`, verifying the existing
    /// audit trail first (a tampered trail stops the agent rather than being extended).
    pub fn open(cfg: &Config) -> anyhow::Result<Self> {
        let dir = &cfg.agent.state_dir;
        let store = open_store(dir)?;
        let policy = CheckpointPolicy {
            every_records: cfg.audit.checkpoint_every_records,
            every: Duration::from_secs(cfg.audit.checkpoint_every_secs),
        };
        let (audit, tamper) = open_audit(dir, &store, policy)?;
        let mut sink = Self {
            store,
            audit: Some(audit),
            response: None,
            incident_window: chrono::Duration::seconds(
                i64::try_from(cfg.storage.incident_window_secs).unwrap_or(i64::MAX / 2_000_000_000),
            ),
            retention_rows: cfg.storage.event_retention_rows,
            retention_age: Duration::from_secs(cfg.storage.event_retention_days * 86_400),
            last_prune: Instant::now(),
            last_maintain: Instant::now(),
            signals: None,
            watchdog: crate::service::watchdog_interval().is_some(),
        };
        if let Some(t) = tamper {
            sink.audit(AuditKind::TamperDetected, t)?;
        }
        Ok(sink)
    }

    /// Decide and respond after each recorded finding.
    pub fn with_response(mut self, stage: ResponseStage) -> Self {
        self.response = Some(stage);
        self
    }

    pub fn response_mut(&mut self) -> Option<&mut ResponseStage> {
        self.response.as_mut()
    }

    /// Emit D-Bus signals (IncidentRaised) for what this sink records.
    pub fn set_signals(&mut self, signals: SignalSender) {
        self.signals = Some(signals);
    }

    /// Run `f` with the response stage, the store, and this sink as the stage's audit writer
    /// (the stage is lent out for the call so the sink can be borrowed mutably). `None` when
    /// there is no response stage.
    fn with_stage<T>(
        &mut self,
        f: impl FnOnce(&mut ResponseStage, &Store, &mut Self) -> anyhow::Result<T>,
    ) -> Option<anyhow::Result<T>> {
        let mut stage = self.response.take()?;
        let store = self.store.clone();
        let res = f(&mut stage, &store, self);
        self.response = Some(stage);
        Some(res)
    }

    /// Retrain with new operator feedback now, whatever the interval (tests, `model train
    /// --with-feedback` in a live agent's stead). True when a new model took over.
    pub fn retrain_now(&mut self) -> anyhow::Result<bool> {
        self.with_stage(|stage, store, sink| stage.retrain_if_due(store, Some(sink), true))
            .unwrap_or(Ok(false))
    }

    /// Run the response maintenance now (also at start: re-assert the ledger).
    pub fn maintain_now(&mut self) -> anyhow::Result<()> {
        self.with_stage(|stage, store, sink| stage.maintain(store, sink, chrono::Utc::now()))
            .unwrap_or(Ok(()))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Append one audit record (used by `run` for agent start/stop and configuration).
    pub fn audit(&mut self, kind: AuditKind, payload: serde_json::Value) -> anyhow::Result<u64> {
        let log = self.audit.as_mut().context("audit log already closed")?;
        Ok(log.append(kind, payload)?.seq)
    }
}

impl Sink for StoreSink {
    fn events(&mut self, batch: &[Event]) -> anyhow::Result<()> {
        if let Some(stage) = self.response.as_mut() {
            stage.observe(batch);
        }
        self.store
            .insert_events(batch)
            .context("storing a batch of events")
    }

    fn finding(&mut self, finding: &Finding, procs: &ProcessTable) -> anyhow::Result<Recorded> {
        let payload = serde_json::to_value(finding).context("encoding a finding")?;
        let seq = self.audit(AuditKind::Finding, payload)?;
        let rec = self
            .store
            .record_finding(finding, Some(seq), self.incident_window)
            .context("storing a finding")?;
        if rec.new_incident {
            if let Some(sig) = &self.signals {
                let _ = sig.offer(Signal::IncidentRaised {
                    id: rec.incident_id,
                    json: json!({"entity": finding.entity, "severity": finding.severity,
                                 "title": finding.summary, "detector": finding.detector}),
                });
            }
            self.audit(
                AuditKind::Incident,
                json!({
                    "incident_id": rec.incident_id,
                    "opened_by_finding_seq": seq,
                    "entity": finding.entity,
                    "severity": finding.severity,
                    "title": finding.summary,
                }),
            )?;
        }
        let recorded = Recorded {
            finding_id: rec.finding_id,
            incident_id: rec.incident_id,
            new_incident: rec.new_incident,
            audit_seq: seq,
        };
        self.with_stage(|stage, store, sink| {
            stage.on_finding(finding, &recorded, procs, store, sink)
        })
        .transpose()?;
        Ok(recorded)
    }

    fn tick(&mut self) -> anyhow::Result<()> {
        // The watchdog is fed from this loop: a stalled pipeline stops feeding it and systemd
        // restarts the agent.
        if self.watchdog {
            let _ = crate::service::notify_watchdog();
        }
        if let Some(log) = self.audit.as_mut() {
            log.tick().context("audit checkpoint")?;
        }
        if self.last_maintain.elapsed() >= MAINTAIN_EVERY {
            self.last_maintain = Instant::now();
            self.maintain_now()?;
        }
        if self.last_prune.elapsed() >= Duration::from_secs(60) {
            self.last_prune = Instant::now();
            let pruned = self
                .store
                .prune_events(self.retention_rows, self.retention_age)
                .context("pruning events")?;
            if pruned > 0 {
                tracing::debug!(pruned, "event retention");
            }
        }
        Ok(())
    }

    fn control(&mut self, cmd: Control) -> anyhow::Result<()> {
        let Some(stage) = self.response.as_mut() else {
            return crate::pipeline::refuse(cmd);
        };
        match cmd {
            Control::ReloadResponse { response, reply } => {
                let payload = serde_json::to_value(&response)?;
                stage.decider_mut().set_config(*response);
                self.audit(
                    AuditKind::ConfigLoaded,
                    json!({"reload": "response", "response": payload}),
                )?;
                let _ = reply.send(Ok(()));
            }
            Control::SetMode { mode, reply } => {
                stage.decider_mut().set_mode(mode);
                self.audit(AuditKind::ConfigLoaded, json!({"set_mode": mode}))?;
                let _ = reply.send(Ok(()));
            }
            Control::GetMode { reply } => {
                let _ = reply.send(Some(stage.decider_mut().config().mode));
            }
            Control::Block {
                action,
                reason,
                caller_uid,
                reply,
            } => {
                let res = self.with_stage(|stage, store, sink| {
                    stage.manual_block(&action, &reason, caller_uid, store, sink)
                });
                let _ = reply.send(flatten(res));
            }
            Control::Unblock {
                target,
                caller_uid,
                reply,
            } => {
                let res = self.with_stage(|stage, store, sink| {
                    stage.unblock(&target, caller_uid, store, sink)
                });
                let _ = reply.send(flatten(res));
            }
            Control::Revert {
                id,
                caller_uid,
                reply,
            } => {
                let res =
                    self.with_stage(|stage, store, sink| stage.revert(id, caller_uid, store, sink));
                let _ = reply.send(flatten(res));
            }
            Control::Feedback {
                incident_id,
                verdict,
                caller_uid,
                reply,
            } => {
                let res = self.with_stage(|stage, store, sink| {
                    stage.feedback(incident_id, verdict, caller_uid, store, sink)
                });
                let _ = reply.send(flatten(res));
            }
        }
        Ok(())
    }

    fn close(&mut self) -> anyhow::Result<()> {
        if let Some(log) = self.audit.take() {
            log.close().context("closing the audit log")?;
        }
        Ok(())
    }
}

/// A control reply from a stage call (`None`: no response stage).
fn flatten<T>(res: Option<anyhow::Result<T>>) -> Result<T, String> {
    match res {
        Some(r) => r.map_err(|e| format!("{e:#}")),
        None => Err("this pipeline has no response stage".into()),
    }
}

impl AuditWrite for StoreSink {
    fn audit(&mut self, kind: AuditKind, payload: serde_json::Value) -> anyhow::Result<u64> {
        StoreSink::audit(self, kind, payload)
    }
}
