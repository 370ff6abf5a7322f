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
use innerwarden_core::decide::action::Action;
use innerwarden_core::decide::config::ResponseConfig;
use innerwarden_core::decide::guard::{self, HostContext};
use innerwarden_core::decide::score::{EvidenceScorer, FindingView, IncidentView};
use innerwarden_core::decide::{Decider, Decision};
use innerwarden_core::event::{AuthService, Event, EventKind};
use innerwarden_core::finding::{Entity, Finding};
use innerwarden_core::model::config::ModelConfig;
use innerwarden_core::model::context::History;
use innerwarden_core::model::corpus::context_for;
use innerwarden_core::model::file::Label;
use innerwarden_core::proctable::ProcessTable;
use serde_json::json;

use super::Responders;
use crate::model::ModelState;
use crate::notify::Notifier;
use crate::pipeline::Recorded;
use crate::store::Store;
use crate::store::actions::ActionState;

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
    /// Sources of successful SSH logins, with when they logged in.
    logins: HashMap<IpAddr, DateTime<Utc>>,
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

    /// Score with the configured model, keep the host baseline in `store`, and retrain at once
    /// if the store holds operator feedback.
    pub fn with_model(mut self, cfg: &ModelConfig, store: &Store) -> anyhow::Result<Self> {
        let (scorer, desc) = crate::model::load_scorer(cfg)?;
        self.decider.set_scorer(scorer);
        self.scorer_desc = desc;
        self.model = ModelState::load(cfg.clone(), store)?;
        if cfg.path.is_none() {
            self.retrain_if_due(store, None, true)?;
        }
        Ok(self)
    }

    /// Which scorer decides (`model-v1-… (shipped)`, a path, or the evidence fallback).
    pub fn scorer_desc(&self) -> &str {
        &self.scorer_desc
    }

    pub fn model_state(&self) -> &ModelState {
        &self.model
    }

    /// Retrain with the store's feedback when there is new feedback and the interval has
    /// passed (`force`: now). The new model replaces the scorer; the swap is audited.
    pub fn retrain_if_due(
        &mut self,
        store: &Store,
        audit: Option<&mut dyn AuditWrite>,
        force: bool,
    ) -> anyhow::Result<bool> {
        let rows = store.list_feedback()?.len();
        if !self.model.retrain_due(rows, force) {
            return Ok(false);
        }
        let started = std::time::Instant::now();
        let m = crate::model::retrain(store, &self.model.cfg, self.decider.config().act_threshold)?;
        let id = m.id();
        tracing::info!(model = %id, feedback = m.training.feedback, ms = started.elapsed().as_millis() as u64, "model retrained with operator feedback");
        if let Some(audit) = audit {
            audit.audit(
                AuditKind::ConfigLoaded,
                json!({"model": id, "reason": "retrained with operator feedback",
                       "training": m.training}),
            )?;
        }
        self.scorer_desc = format!("{id} (retrained with {} verdicts)", m.training.feedback);
        self.decider
            .set_scorer(Box::new(innerwarden_core::model::ModelScorer::new(m)));
        self.model.mark_trained(rows);
        Ok(true)
    }

    /// An operator's verdict on an incident: audited (`feedback`), then stored with the
    /// features of the incident's latest model decision so retraining learns from it.
    pub fn feedback(
        &mut self,
        incident_id: i64,
        verdict: Label,
        caller_uid: u32,
        store: &Store,
        audit: &mut dyn AuditWrite,
    ) -> anyhow::Result<i64> {
        let detail = store
            .incident(incident_id)?
            .ok_or_else(|| anyhow::anyhow!("no incident {incident_id}"))?;
        let decisions = store.decisions_for(incident_id)?;
        let latest = decisions
            .iter()
            .rev()
            .find(|d| !d.decision.features.is_empty());
        let features = latest
            .map(|d| d.decision.features.clone())
            .unwrap_or_default();
        let seq = audit.audit(
            AuditKind::Feedback,
            json!({"incident_id": incident_id, "verdict": verdict, "caller_uid": caller_uid,
                   "entity": detail.incident.entity_key,
                   "decision_id": latest.map(|d| d.id),
                   "confidence": latest.map(|d| d.decision.confidence),
                   "scorer": latest.map(|d| d.decision.scorer.clone()),
                   "features": features}),
        )?;
        let id = store.insert_feedback(&crate::store::model::FeedbackRow {
            id: 0,
            incident_id,
            ts: Utc::now(),
            verdict,
            caller_uid: Some(caller_uid),
            entity_key: detail.incident.entity_key.clone(),
            features,
            audit_seq: Some(seq),
        })?;
        Ok(id)
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
                    self.logins.insert(ip, ev.ts);
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
                .filter(|(ip, t)| now - **t < LOGIN_MEMORY && established.contains(ip))
                .map(|(ip, _)| *ip),
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
    /// An operator's block: recorded (`action` with `manual`), carried out, put in the ledger.
    /// It bypasses scoring, not the guards: loopback, management networks and live admin
    /// sessions are still refused.
    pub fn manual_block(
        &mut self,
        action: &Action,
        reason: &str,
        caller_uid: u32,
        store: &Store,
        audit: &mut dyn AuditWrite,
    ) -> anyhow::Result<i64> {
        let view = IncidentView {
            id: 0,
            entity: Entity::User {
                name: format!("uid:{caller_uid}"),
            },
            findings: Vec::new(),
            unit: None,
            user: None,
            context: Default::default(),
        };
        if let Some(hit) = guard::check(action, &view, self.decider.config(), &self.host_context())
        {
            anyhow::bail!("refused by a guard: {}", serde_json::to_string(&hit)?);
        }
        let seq = audit.audit(
            AuditKind::Action,
            json!({"manual": true, "caller_uid": caller_uid, "reason": reason,
                   "action": action, "kind": action.kind(), "target": action.target(),
                   "ttl_secs": action.ttl_secs(), "reversal": action.reversal(), "dry_run": false}),
        )?;
        let now = Utc::now();
        let id = store.insert_action(
            None,
            action,
            false,
            ActionState::Planned,
            Some(seq),
            reason,
            now,
        )?;
        match self.responders.apply(action) {
            Ok(applied) => {
                store.set_action_applied(id, &applied.detail)?;
                Ok(id)
            }
            Err(e) => {
                store.set_action_state(id, ActionState::Failed)?;
                audit.audit(
                    AuditKind::ActionFailed,
                    json!({"action_id": id, "action": action, "error": e.to_string()}),
                )?;
                Err(anyhow::anyhow!("{e}"))
            }
        }
    }

    /// Lift every active block / rate limit whose target is `target` (`a.b.c.d` or `a.b.c.d/n`).
    /// True when something was lifted.
    pub fn unblock(
        &mut self,
        target: &str,
        caller_uid: u32,
        store: &Store,
        audit: &mut dyn AuditWrite,
    ) -> anyhow::Result<bool> {
        let bare = target.split('/').next().unwrap_or(target);
        let mut lifted = false;
        for row in store.active_actions(Utc::now())? {
            let matches = match &row.action {
                Action::Block { addr, prefix, .. } => {
                    row.action.target() == target
                        || (addr.to_string() == bare && (*prefix == 32 || *prefix == 128))
                }
                Action::RateLimit { addr, .. } => addr.to_string() == bare,
                _ => false,
            };
            if !matches {
                continue;
            }
            let applied = self
                .responders
                .revert_with(&row.action, row.applied_detail.as_deref())
                .map(|a| a.detail)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            store.set_action_state(row.id, ActionState::Reverted)?;
            audit.audit(
                AuditKind::ActionReverted,
                json!({"action_id": row.id, "action": row.action, "reason": "operator",
                       "caller_uid": caller_uid, "by": applied}),
            )?;
            lifted = true;
        }
        Ok(lifted)
    }

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

/// What the decision layer sees of an incident: its findings from the store, for a process
/// its unit and user from the process table, and the model's context (ancestry, user class,
/// rarity of every finding's evidence against the baseline, the entity's history, closeness
/// to the allowlist).
fn incident_view(
    finding: &Finding,
    rec: &Recorded,
    procs: &ProcessTable,
    store: &Store,
    model: &ModelState,
    allow: &innerwarden_core::decide::config::AllowConfig,
) -> anyhow::Result<IncidentView> {
    let stored: Vec<Finding> = match store.incident(rec.incident_id)? {
        Some(detail) => detail.findings.into_iter().map(|f| f.finding).collect(),
        None => vec![finding.clone()],
    };
    let findings = stored
        .iter()
        .map(|f| FindingView {
            detector: f.detector.clone(),
            technique: f.technique.clone(),
            severity: f.severity,
        })
        .collect();
    let key = finding.entity.key();
    let (benign_feedback, malicious_feedback) = store.feedback_counts(&key)?;
    let history = History {
        prior_incidents: store.prior_incidents(&key, rec.incident_id)?,
        benign_feedback,
        malicious_feedback,
    };
    let max_stage = stored.iter().filter_map(|f| f.stage).max().unwrap_or(0);
    let (mut context, _, _) =
        context_for(finding, max_stage, procs, &model.baseline, allow, history);
    if !context.learning {
        for f in &stored {
            let r = model.baseline.rarity(f, finding.ts);
            let c = &mut context.rarity;
            c.parent_child |= r.parent_child;
            c.binary |= r.binary;
            c.destination |= r.destination;
            c.listen_port |= r.listen_port;
            c.login_source |= r.login_source;
        }
    }
    let (unit, user) = match &finding.entity {
        Entity::Process { pid, .. } => procs
            .get(*pid)
            .map(|p| (p.unit.clone(), crate::procfs::user_name(p.uid)))
            .unwrap_or((None, None)),
        Entity::User { name } => (None, Some(name.clone())),
        Entity::Host { .. } => (None, None),
    };
    Ok(IncidentView {
        id: rec.incident_id,
        entity: finding.entity.clone(),
        findings,
        unit,
        user,
        context,
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

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
}
