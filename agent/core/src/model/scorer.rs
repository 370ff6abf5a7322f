//! [`ModelScorer`]: the model behind the decision engine's [`Scorer`] seam.

use crate::decide::score::{IncidentView, Reason, Score, Scorer};

use super::features::{FEATURE_NAMES, extract, named};
use super::file::ModelFile;
use super::logistic::sigmoid;

/// How many contributing features a decision keeps as its explanation.
pub const TOP_REASONS: usize = 5;

/// Scores with a loaded model file. Reasons are the features with the largest log-odds
/// contribution (weight × value), largest magnitude first, then the bias as `bias`: they sum
/// to the logit of the confidence when every non-zero feature is among them.
#[derive(Debug, Clone)]
pub struct ModelScorer {
    model: ModelFile,
    id: String,
}

impl ModelScorer {
    pub fn new(model: ModelFile) -> Self {
        let id = model.id();
        Self { model, id }
    }

    pub fn model(&self) -> &ModelFile {
        &self.model
    }

    /// Confidence for a feature vector.
    pub fn predict(&self, x: &[f64]) -> f64 {
        let z = self.model.bias + super::logistic::dot(&self.model.weights, x);
        sigmoid(z)
    }
}

impl Scorer for ModelScorer {
    fn score(&self, incident: &IncidentView) -> Score {
        let x = extract(incident);
        let mut contrib: Vec<(usize, f64)> = x
            .iter()
            .zip(&self.model.weights)
            .enumerate()
            .filter(|(_, (v, _))| **v != 0.0)
            .map(|(i, (v, w))| (i, v * w))
            .collect();
        contrib.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        let mut reasons: Vec<Reason> = contrib
            .iter()
            .take(TOP_REASONS)
            .map(|(i, c)| Reason {
                feature: FEATURE_NAMES[*i].to_owned(),
                contribution: *c,
            })
            .collect();
        reasons.push(Reason {
            feature: "bias".into(),
            contribution: self.model.bias,
        });
        Score {
            confidence: self.predict(&x),
            reasons,
            scorer: self.id.clone(),
            features: named(&x),
        }
    }
}
