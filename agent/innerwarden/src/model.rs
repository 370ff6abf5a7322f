//! The local model at the edge: which model file the agent scores with, the host baseline
//! kept in SQLite, and retraining with operator feedback.
//!
//! Model choice: `model.path` when set and present; the model shipped in the binary when
//! unset. Only when a configured file is absent does the agent fall back to the interim
//! evidence scorer (decisions then say `scorer: "evidence-v1"`); a file that is present but
//! invalid stops the agent with the reason.

use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use innerwarden_core::decide::score::{EvidenceScorer, Scorer};
use innerwarden_core::event::Event;
use innerwarden_core::model::baseline::Baseline;
use innerwarden_core::model::config::ModelConfig;
use innerwarden_core::model::file::{ModelFile, Sample, TrainOptions, train};
use innerwarden_core::model::{self, ModelScorer};

use crate::store::Store;

/// The scorer the configuration asks for, and a line saying which it is.
pub fn load_scorer(cfg: &ModelConfig) -> anyhow::Result<(Box<dyn Scorer>, String)> {
    let Some(path) = &cfg.path else {
        let m = model::shipped_model().context("the shipped model file")?;
        let id = m.id();
        return Ok((Box::new(ModelScorer::new(m)), format!("{id} (shipped)")));
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let m = ModelFile::parse(&text)
                .with_context(|| format!("model file {}", path.display()))?;
            let id = m.id();
            Ok((
                Box::new(ModelScorer::new(m)),
                format!("{id} ({})", path.display()),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(path = %path.display(), "model file absent: falling back to the evidence scorer");
            Ok((
                Box::new(EvidenceScorer),
                format!("evidence-v1 (fallback: {} absent)", path.display()),
            ))
        }
        Err(e) => Err(e).with_context(|| format!("reading model file {}", path.display())),
    }
}

/// The corpus samples retraining starts from (the shipped ones).
pub fn base_samples() -> anyhow::Result<Vec<Sample>> {
    model::parse_samples(model::SHIPPED_SAMPLES)
        .map_err(|e| anyhow::anyhow!("shipped samples: {e}"))
}

/// Train on the shipped corpus plus every verdict in the store.
pub fn retrain(store: &Store, cfg: &ModelConfig, act_threshold: f64) -> anyhow::Result<ModelFile> {
    let mut samples = base_samples()?;
    samples.extend(store.feedback_samples().context("reading feedback")?);
    train(
        &samples,
        &TrainOptions {
            lambda: cfg.l2,
            feedback_weight: cfg.feedback_weight,
            act_threshold,
        },
    )
    .map_err(|e| anyhow::anyhow!("training: {e}"))
}

/// The model's live state in the response stage: the baseline and the retrain bookkeeping.
pub struct ModelState {
    pub cfg: ModelConfig,
    pub baseline: Baseline,
    /// Feedback rows the current model was trained with.
    trained_feedback: usize,
    last_retrain: Option<Instant>,
}

impl ModelState {
    /// A fresh state (no store): the baseline starts learning now.
    pub fn new(cfg: ModelConfig) -> Self {
        let baseline = Baseline::new(
            TimeDelta::days(i64::try_from(cfg.half_life_days).unwrap_or(36_500)),
            TimeDelta::days(i64::try_from(cfg.learning_days).unwrap_or(36_500)),
            cfg.max_baseline_keys,
        );
        Self {
            cfg,
            baseline,
            trained_feedback: 0,
            last_retrain: None,
        }
    }

    /// Load the persisted baseline.
    pub fn load(cfg: ModelConfig, store: &Store) -> anyhow::Result<Self> {
        let mut s = Self::new(cfg);
        let (started, rows) = store.load_baseline().context("loading the baseline")?;
        if let Some(t) = started {
            s.baseline.set_started(t);
        }
        for (k, key, e) in rows {
            s.baseline.load(k, key, e);
        }
        Ok(s)
    }

    pub fn observe(&mut self, batch: &[Event]) {
        for ev in batch {
            self.baseline.observe(ev);
        }
    }

    /// Persist what changed since the last flush.
    pub fn flush(&mut self, store: &Store) -> anyhow::Result<usize> {
        let dirty = self.baseline.take_dirty();
        if dirty.is_empty() {
            return Ok(0);
        }
        store
            .save_baseline(self.baseline.started(), &dirty)
            .context("saving the baseline")?;
        store
            .trim_baseline(self.cfg.max_baseline_keys)
            .context("trimming the baseline")?;
        Ok(dirty.len())
    }

    /// True when there is feedback the model has not been trained with and the retrain
    /// interval has passed (`force` ignores the interval).
    pub fn retrain_due(&self, feedback_rows: usize, force: bool) -> bool {
        feedback_rows > self.trained_feedback
            && (force
                || self
                    .last_retrain
                    .is_none_or(|t| t.elapsed().as_secs() >= self.cfg.retrain_interval_secs))
    }

    pub fn mark_trained(&mut self, feedback_rows: usize) {
        self.trained_feedback = feedback_rows;
        self.last_retrain = Some(Instant::now());
    }

    pub fn learning(&self, now: DateTime<Utc>) -> bool {
        self.baseline.learning(now)
    }
}
