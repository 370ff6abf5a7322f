//! The `[model]` configuration section.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// A model file to use instead of the one shipped inside the binary. Default: unset (the
    /// shipped model). A set path that cannot be read or checked is an error at start; the
    /// evidence scorer is used only when no model is available at all.
    pub path: Option<PathBuf>,
    /// Days the host's baseline learns before rarity ("never seen here") counts. Default 7.
    pub learning_days: u64,
    /// Baseline counts halve every this many days. Default 30.
    pub half_life_days: u64,
    /// At most this many baseline keys are kept (the weakest are dropped). Default 200000.
    pub max_baseline_keys: usize,
    /// Retrain with new operator feedback at most this often, in seconds. Default 3600.
    pub retrain_interval_secs: u64,
    /// Weight of one operator verdict relative to one corpus incident. Default 20.
    pub feedback_weight: f64,
    /// L2 regularisation strength. Default 1.0.
    pub l2: f64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            path: None,
            learning_days: 7,
            half_life_days: 30,
            max_baseline_keys: 200_000,
            retrain_interval_secs: 3600,
            feedback_weight: 20.0,
            l2: 1.0,
        }
    }
}

impl ModelConfig {
    /// `Err((key, problem))` for the first invalid value.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if let Some(p) = &self.path
            && !p.is_absolute()
        {
            return Err(("model.path", "must be an absolute path".into()));
        }
        if self.half_life_days == 0 {
            return Err(("model.half_life_days", "must be at least 1".into()));
        }
        if self.max_baseline_keys < 16 {
            return Err(("model.max_baseline_keys", "must be at least 16".into()));
        }
        if self.retrain_interval_secs < 60 {
            return Err(("model.retrain_interval_secs", "must be at least 60".into()));
        }
        if !(self.feedback_weight.is_finite() && self.feedback_weight > 0.0) {
            return Err(("model.feedback_weight", "must be a positive number".into()));
        }
        if !(self.l2.is_finite() && self.l2 > 0.0) {
            return Err(("model.l2", "must be a positive number".into()));
        }
        Ok(())
    }
}
