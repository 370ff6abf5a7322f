//! The model's half of the response stage: which scorer decides, operator feedback (audited,
//! then stored with the features the model saw), retraining, and the incident context the
//! features read.

use chrono::Utc;
use innerwarden_core::audit::AuditKind;
use innerwarden_core::decide::score::{FindingView, IncidentView, connect_peers};
use innerwarden_core::finding::{Entity, Finding};
use innerwarden_core::model::config::ModelConfig;
use innerwarden_core::model::context::History;
use innerwarden_core::model::corpus::context_for;
use innerwarden_core::model::file::Label;
use innerwarden_core::proctable::ProcessTable;
use serde_json::json;

use super::{AuditWrite, ResponseStage};
use crate::model::ModelState;
use crate::pipeline::Recorded;
use crate::store::Store;

impl ResponseStage {
    /// Score with the configured model, keep the host baseline in `store`, and retrain at once
    /// if the store holds operator feedback.
    pub fn with_model(mut self, cfg: &ModelConfig, store: &Store) -> anyhow::Result<Self> {
        let (scorer, desc) = crate::model::load_scorer(cfg)?;
        self.decider.set_scorer(scorer);
        self.scorer_desc = desc;
        self.model = ModelState::load(cfg.clone(), store)?;
        self.retrain_if_due(store, None, true)?;
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
        // An operator-supplied model file is theirs to retrain (`model train --with-feedback`);
        // the agent retrains only the shipped model.
        if self.model.cfg.path.is_some() {
            return Ok(false);
        }
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
}

/// What the decision layer sees of an incident: its findings from the store, for a process
/// its unit and user from the process table, and the model's context (ancestry, user class,
/// rarity of every finding's evidence against the baseline, the entity's history, closeness
/// to the allowlist).
pub(super) fn incident_view(
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
            context.rarity.merge(&model.baseline.rarity(f, finding.ts));
        }
    }
    // Peers only matter for a process: a host incident's entity already is the address.
    let peers = match &finding.entity {
        Entity::Process { .. } => connect_peers(stored.iter().flat_map(|f| f.evidence.iter())),
        _ => Vec::new(),
    };
    let (unit, user, uid) = match &finding.entity {
        Entity::Process { pid, .. } => procs
            .get_recent(*pid)
            .map(|p| (p.unit.clone(), crate::procfs::user_name(p.uid), Some(p.uid)))
            .unwrap_or((None, None, None)),
        Entity::User { name } => (None, Some(name.clone()), None),
        Entity::Host { .. } => (None, None, None),
    };
    Ok(IncidentView {
        id: rec.incident_id,
        entity: finding.entity.clone(),
        findings,
        unit,
        user,
        uid,
        context,
        peers,
    })
}
