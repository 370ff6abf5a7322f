//! The response stage: after a finding is recorded, decide on its incident and carry out the
//! enforced actions. Every step leaves an audit record:
//!
//! 1. `decision`: confidence, tier, reasons, the planned actions (each with `dry_run`), and what
//!    the guards suppressed;
//! 2. `action` per planned action, written BEFORE anything is executed, so a dry-run record and
//!    an enforced one differ only in `dry_run`;
//! 3. `action_failed` when a responder could not carry out an enforced action;
//! 4. `escalation` when a human should look, `breaker_tripped` when the budget ran out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use chrono::{DateTime, TimeDelta, Utc};
use innerwarden_core::audit::AuditKind;
use innerwarden_core::decide::config::ResponseConfig;
use innerwarden_core::decide::guard::HostContext;
use innerwarden_core::decide::score::EvidenceScorer;
use innerwarden_core::decide::{Decider, Decision};
use innerwarden_core::event::{AuthService, Event, EventKind};
use innerwarden_core::finding::Finding;
use innerwarden_core::model::config::ModelConfig;
use innerwarden_core::proctable::ProcessTable;
use serde_json::json;

use super::Responders;

// The model's half of the stage (model choice, feedback, retraining, incident context).
#[path = "stage_model.rs"]
mod model;
// The operator's half (manual block, unblock, revert).
#[path = "stage_operator.rs"]
mod operator;
use crate::model::ModelState;
use crate::notify::Notifier;
use crate::pipeline::Recorded;
use crate::store::Store;
use crate::store::actions::ActionState;
use model::incident_view;

/// Where the stage writes audit records (the sink's audit log).
pub trait AuditWrite {
    fn audit(&mut self, kind: AuditKind, payload: serde_json::Value) -> anyhow::Result<u64>;
}

/// How long a successful SSH login keeps its source protected while its session is open.
const LOGIN_MEMORY: TimeDelta = TimeDelta::hours(24);
/// At most this many login sources are remembered.
const MAX_LOGINS: usize = 4096;

pub struct ResponseStage {
    decider: Decider,
    responders: Responders,
    /// Sources (address, and port when the log names it) of successful SSH logins, with when
    /// they logged in. With the port only that very connection is protected: a source that
    /// once logged in and now brute-forces from new connections is not.
    logins: HashMap<(IpAddr, Option<u16>), DateTime<Utc>>,
    proc_root: PathBuf,
    ssh_ports: Vec<u16>,
    agent_unit: Option<String>,
    notifier: Option<Notifier>,
    model: ModelState,
    /// Which scorer decides, for status and the audit log.
    scorer_desc: String,
}

impl ResponseStage {
    pub fn new(cfg: ResponseConfig, responders: Responders) -> Self {
        Self {
            decider: Decider::new(cfg, Box::new(EvidenceScorer)),
            responders,
            logins: HashMap::new(),
            proc_root: PathBuf::from("/proc"),
            ssh_ports: vec![22],
            agent_unit: None,
            notifier: None,
            model: ModelState::new(ModelConfig::default()),
            scorer_desc: "evidence-v1".into(),
        }
    }

    /// Send escalations to a webhook as well as the audit log.
    pub fn with_notifier(mut self, notifier: Option<Notifier>) -> Self {
        self.notifier = notifier;
        self
    }

    pub fn decider_mut(&mut self) -> &mut Decider {
        &mut self.decider
    }

    pub fn responders_mut(&mut self) -> &mut Responders {
        &mut self.responders
    }

    /// Remember successful SSH logins (their sources are protected while their session lives).
    pub fn observe(&mut self, batch: &[Event]) {
        self.model.observe(batch);
        for ev in batch {
            if let EventKind::AuthSuccess(s) = &ev.kind
                && s.service == AuthService::Sshd
                && let Some(ip) = s.src.as_ref().and_then(|h| h.ip())
            {
                if self.logins.len() >= MAX_LOGINS {
                    let cutoff = ev.ts - LOGIN_MEMORY;
                    self.logins.retain(|_, t| *t > cutoff);
                }
                if self.logins.len() < MAX_LOGINS {
                    self.logins.insert((ip, s.port), ev.ts);
                }
            }
        }
    }

    /// The protected admin sources right now: peers of authenticated sshd sessions found in
    /// /proc, plus sources that logged in successfully and still hold an established session.
    fn host_context(&self) -> HostContext {
        let crate::procnet::SshPeers {
            established,
            authenticated: mut admin,
        } = crate::procnet::ssh_peers(&self.proc_root, &self.ssh_ports);
        let now = Utc::now();
        admin.extend(
            self.logins
                .iter()
                .filter(|((ip, port), t)| {
                    now - **t < LOGIN_MEMORY
                        && established
                            .iter()
                            .any(|(peer, pp)| peer == ip && port.is_none_or(|p| p == *pp))
                })
                .map(|((ip, _), _)| *ip),
        );
        HostContext {
            admin_sources: admin,
            agent_pid: std::process::id(),
            agent_unit: self.agent_unit.clone(),
        }
    }

    /// Decide on the incident `rec` belongs to and act. Errors of responders are recorded, not
    /// returned: only a failure to write the audit log stops the pipeline.
    pub fn on_finding(
        &mut self,
        finding: &Finding,
        rec: &Recorded,
        procs: &ProcessTable,
        store: &Store,
        audit: &mut dyn AuditWrite,
    ) -> anyhow::Result<Option<Decision>> {
        let view = incident_view(
            finding,
            rec,
            procs,
            store,
            &self.model,
            &self.decider.config().allow,
        )?;
        let ctx = self.host_context();
        // Event time, not wall time: a replay decides exactly as living through it did.
        let Some(decision) = self.decider.on_incident(&view, &ctx, finding.ts) else {
            return Ok(None);
        };
        let decision_seq = audit.audit(AuditKind::Decision, serde_json::to_value(&decision)?)?;
        store.insert_decision(&decision, Some(decision_seq))?;
        for planned in &decision.actions {
            let action_seq = audit.audit(
                AuditKind::Action,
                json!({
                    "incident_id": decision.incident_id,
                    "decision_seq": decision_seq,
                    "action": planned.action,
                    "kind": planned.action.kind(),
                    "target": planned.action.target(),
                    "ttl_secs": planned.action.ttl_secs(),
                    "reversal": planned.reversal,
                    "dry_run": planned.dry_run,
                }),
            )?;
            let state = if planned.dry_run {
                ActionState::DryRun
            } else {
                ActionState::Planned
            };
            let id = store.insert_action(
                Some(decision.incident_id),
                &planned.action,
                planned.dry_run,
                state,
                Some(action_seq),
                &finding.summary,
                decision.ts,
            )?;
            if planned.dry_run {
                continue;
            }
            match self.responders.apply(&planned.action) {
                Ok(applied) => {
                    store.set_action_applied(id, &applied.detail)?;
                    tracing::info!(action = %planned.action.kind(), target = %planned.action.target(), detail = %applied.detail, "action enforced");
                }
                Err(e) => {
                    store.set_action_state(id, ActionState::Failed)?;
                    tracing::warn!(action = %planned.action.kind(), target = %planned.action.target(), error = %e, "action failed");
                    audit.audit(
                        AuditKind::ActionFailed,
                        json!({"decision_seq": decision_seq, "action": planned.action, "error": e.to_string()}),
                    )?;
                }
            }
        }
        if decision.breaker_tripped {
            audit.audit(
                AuditKind::BreakerTripped,
                json!({"decision_seq": decision_seq, "budget": self.decider.config().budget}),
            )?;
        }
        if decision.escalate {
            let payload = json!({"incident_id": decision.incident_id, "decision_seq": decision_seq,
                       "tier": decision.tier, "confidence": decision.confidence,
                       "actions": decision.actions, "suppressed": decision.suppressed,
                       "entity": finding.entity, "summary": finding.summary});
            let seq = audit.audit(AuditKind::Escalation, payload.clone())?;
            if let Some(n) = &self.notifier {
                let mut msg = payload;
                msg["audit_seq"] = seq.into();
                msg["host"] = hostname().into();
                n.send(msg);
            }
        }
        Ok(Some(decision))
    }
}

impl ResponseStage {
    /// The slow loop's part: revert what is due (where the kernel does not), mark what the
    /// kernel expired, and let responders restore what went missing. Each step is audited.
    pub fn maintain(
        &mut self,
        store: &Store,
        audit: &mut dyn AuditWrite,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.model.flush(store)?;
        self.retrain_if_due(store, Some(&mut *audit), false)?;
        for row in store.due_for_revert(now)? {
            let kernel_ttl = matches!(
                row.action,
                innerwarden_core::decide::action::Action::Block { .. }
                    | innerwarden_core::decide::action::Action::RateLimit { .. }
            );
            let (state, by) = if kernel_ttl {
                (ActionState::Expired, "kernel timeout".to_owned())
            } else {
                match self
                    .responders
                    .revert_with(&row.action, row.applied_detail.as_deref())
                {
                    Ok(a) => (ActionState::Expired, a.detail),
                    Err(e) => {
                        tracing::warn!(id = row.id, error = %e, "TTL revert failed; will retry");
                        continue;
                    }
                }
            };
            store.set_action_state(row.id, state)?;
            audit.audit(
                AuditKind::ActionReverted,
                json!({"action_id": row.id, "action": row.action, "reason": "ttl", "by": by}),
            )?;
        }
        let active: Vec<_> = store
            .active_actions(now)?
            .into_iter()
            .map(|r| r.action)
            .collect();
        for note in self.responders.maintain(&active) {
            tracing::warn!(note = %note, "enforcement restored");
            audit.audit(
                AuditKind::Reasserted,
                json!({"note": note, "active": active.len()}),
            )?;
        }
        Ok(())
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use innerwarden_core::decide::action::Action;

    use innerwarden_core::decide::action::ActionKind;

    use super::*;
    use crate::respond::{Applied, RespondError, Responder};

    /// Records the detail each revert was given.
    struct Fake(Arc<Mutex<Vec<Option<String>>>>);

    impl Responder for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }
        fn kinds(&self) -> &'static [ActionKind] {
            &[ActionKind::Throttle]
        }
        fn apply(&mut self, _: &Action) -> Result<Applied, RespondError> {
            Ok(Applied {
                detail: "throttled undo={\"limits\":1}".into(),
            })
        }
        fn revert(&mut self, a: &Action) -> Result<Applied, RespondError> {
            self.revert_with(a, None)
        }
        fn revert_with(&mut self, _: &Action, d: Option<&str>) -> Result<Applied, RespondError> {
            self.0.lock().expect("lock").push(d.map(str::to_owned));
            Ok(Applied {
                detail: "restored".into(),
            })
        }
    }

    #[derive(Default)]
    struct Audit(Vec<(AuditKind, serde_json::Value)>);

    impl AuditWrite for Audit {
        fn audit(&mut self, kind: AuditKind, payload: serde_json::Value) -> anyhow::Result<u64> {
            self.0.push((kind, payload));
            Ok(self.0.len() as u64)
        }
    }

    #[test]
    fn a_due_action_is_reverted_with_the_detail_kept_in_the_ledger() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("s.db")).expect("store");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut responders = Responders::default();
        responders.push(Box::new(Fake(Arc::clone(&seen))));
        let mut stage = ResponseStage::new(ResponseConfig::default(), responders);
        let action = Action::Throttle {
            unit: "web.service".into(),
            cpu_percent: 10,
            ttl_secs: 1,
        };
        let then = Utc::now() - TimeDelta::seconds(10);
        let id = store
            .insert_action(
                None,
                &action,
                false,
                ActionState::Planned,
                None,
                "test",
                then,
            )
            .expect("insert");
        store
            .set_action_applied(id, "throttled undo={\"limits\":1}")
            .expect("applied");
        let mut audit = Audit::default();
        stage
            .maintain(&store, &mut audit, Utc::now())
            .expect("maintain");
        assert_eq!(
            seen.lock().expect("lock").as_slice(),
            &[Some("throttled undo={\"limits\":1}".to_owned())]
        );
        let row = &store.list_actions(1).expect("list")[0];
        assert_eq!(row.state, ActionState::Expired);
        assert!(audit.0.iter().any(|(k, _)| *k == AuditKind::ActionReverted));
        // Nothing is due any more: a second pass reverts nothing.
        stage
            .maintain(&store, &mut audit, Utc::now())
            .expect("maintain");
        assert_eq!(seen.lock().expect("lock").len(), 1);
    }

    #[test]
    fn an_operator_reverts_one_action_by_id_and_a_kill_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("s.db")).expect("store");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut responders = Responders::default();
        responders.push(Box::new(Fake(Arc::clone(&seen))));
        let mut stage = ResponseStage::new(ResponseConfig::default(), responders);
        let throttle = Action::Throttle {
            unit: "web.service".into(),
            cpu_percent: 10,
            ttl_secs: 3600,
        };
        let id = store
            .insert_action(
                None,
                &throttle,
                false,
                ActionState::Planned,
                None,
                "t",
                Utc::now(),
            )
            .expect("insert");
        store.set_action_applied(id, "undo-me").expect("applied");
        let kill = Action::Kill {
            pid: 4242,
            start_ns: 1,
            exe: "/tmp/x".into(),
            tree: false,
        };
        let kill_id = store
            .insert_action(
                None,
                &kill,
                false,
                ActionState::Planned,
                None,
                "t",
                Utc::now(),
            )
            .expect("insert");
        store
            .set_action_applied(kill_id, "killed")
            .expect("applied");
        let mut audit = Audit::default();

        assert!(stage.revert(id, 0, &store, &mut audit).expect("revert"));
        assert_eq!(
            seen.lock().expect("lock").as_slice(),
            &[Some("undo-me".to_owned())]
        );
        let reverted = audit
            .0
            .iter()
            .find(|(k, _)| *k == AuditKind::ActionReverted)
            .expect("audited");
        assert_eq!(reverted.1["reason"], "operator");
        assert_eq!(reverted.1["action_id"], id);
        // Not in force any more, and an unknown id: nothing to do.
        assert!(!stage.revert(id, 0, &store, &mut audit).expect("again"));
        assert!(!stage.revert(9999, 0, &store, &mut audit).expect("unknown"));
        let err = stage
            .revert(kill_id, 0, &store, &mut audit)
            .expect_err("a kill has no undo");
        assert!(err.to_string().contains("kill"), "{err}");
        assert_eq!(seen.lock().expect("lock").len(), 1);
    }

    #[test]
    fn a_past_login_protects_only_its_own_connection_not_later_ones_from_that_source() {
        use innerwarden_core::event::{AuthSuccess, Source};
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("net")).expect("net");
        // One established connection to :22 from 10.99.0.2:40000 (a brute-force attempt).
        std::fs::write(
            dir.path().join("net/tcp"),
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100000A:0016 0200630A:9C40 01 00000000:00000000 00:00000000 00000000     0        0 12345 1\n",
        )
        .expect("tcp");
        let login = |port: Option<u16>| {
            Event::new(
                Utc::now(),
                Source::Journald,
                EventKind::AuthSuccess(AuthSuccess {
                    service: AuthService::Sshd,
                    user: "victim".into(),
                    src: Some("10.99.0.2".parse().expect("host")),
                    port,
                    method: Some("password".into()),
                    pid: None,
                }),
            )
        };
        let attacker: IpAddr = "10.99.0.2".parse().expect("ip");
        let stage = |logins: &[Option<u16>]| {
            let mut s = ResponseStage::new(ResponseConfig::default(), Responders::default());
            s.proc_root = dir.path().to_path_buf();
            let batch: Vec<Event> = logins.iter().map(|p| login(*p)).collect();
            s.observe(&batch);
            s.host_context().admin_sources.contains(&attacker)
        };
        // The login was on another (closed) connection: not an admin now.
        assert!(!stage(&[Some(50000)]));
        // The login is this very connection: protected.
        assert!(stage(&[Some(40000)]));
        // A log line without the port: the source is protected while it holds any connection.
        assert!(stage(&[None]));
        assert!(!stage(&[]));
    }
}
