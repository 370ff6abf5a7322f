//! Evaluation on the held-out split: a calibration table, the Brier score, and precision and
//! recall at the decision thresholds.

use serde::Serialize;

use super::file::{EvalSummary, Label, Sample};
use super::scorer::ModelScorer;

/// One bin of the calibration (reliability) table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
    /// Mean predicted confidence in the bin.
    pub mean_predicted: Option<f64>,
    /// Fraction actually malicious.
    pub observed: Option<f64>,
}

/// Precision and recall when "confidence ≥ threshold" is called malicious.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtThreshold {
    pub threshold: f64,
    pub true_pos: usize,
    pub false_pos: usize,
    pub false_neg: usize,
    /// None when nothing was called malicious.
    pub precision: Option<f64>,
    /// None when the split has no malicious sample.
    pub recall: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub holdout: usize,
    pub malicious: usize,
    pub benign: usize,
    pub brier: f64,
    pub bins: Vec<Bin>,
    pub thresholds: Vec<AtThreshold>,
}

/// Evaluate `scorer` on the held-out samples of `samples` (10 equal-width bins).
pub fn evaluate(
    scorer: &ModelScorer,
    samples: &[Sample],
    thresholds: &[f64],
) -> Result<Report, String> {
    let mut scored = Vec::new();
    for s in samples.iter().filter(|s| s.held_out()) {
        scored.push((scorer.predict(&s.vector()?), s.label.y()));
    }
    let n = scored.len();
    let brier = if n == 0 {
        0.0
    } else {
        scored.iter().map(|(p, y)| (p - y).powi(2)).sum::<f64>() / n as f64
    };
    let bins = (0..10)
        .map(|b| {
            let lo = f64::from(b) / 10.0;
            let hi = lo + 0.1;
            let inside: Vec<&(f64, f64)> = scored
                .iter()
                .filter(|(p, _)| *p >= lo && (*p < hi || (b == 9 && *p <= 1.0)))
                .collect();
            let mean = |f: fn(&(f64, f64)) -> f64| {
                (!inside.is_empty())
                    .then(|| inside.iter().map(|v| f(v)).sum::<f64>() / inside.len() as f64)
            };
            Bin {
                lo,
                hi,
                count: inside.len(),
                mean_predicted: mean(|v| v.0),
                observed: mean(|v| v.1),
            }
        })
        .collect();
    let thresholds = thresholds
        .iter()
        .map(|&t| {
            let tp = scored.iter().filter(|(p, y)| *p >= t && *y == 1.0).count();
            let fp = scored.iter().filter(|(p, y)| *p >= t && *y == 0.0).count();
            let fn_ = scored.iter().filter(|(p, y)| *p < t && *y == 1.0).count();
            AtThreshold {
                threshold: t,
                true_pos: tp,
                false_pos: fp,
                false_neg: fn_,
                precision: (tp + fp > 0).then(|| tp as f64 / (tp + fp) as f64),
                recall: (tp + fn_ > 0).then(|| tp as f64 / (tp + fn_) as f64),
            }
        })
        .collect();
    let count = |l: Label| {
        samples
            .iter()
            .filter(|s| s.held_out() && s.label == l)
            .count()
    };
    Ok(Report {
        holdout: n,
        malicious: count(Label::Malicious),
        benign: count(Label::Benign),
        brier,
        bins,
        thresholds,
    })
}

impl Report {
    pub fn summary(&self) -> EvalSummary {
        EvalSummary {
            holdout: self.holdout,
            brier: self.brier,
            thresholds: self.thresholds.iter().map(|t| t.threshold).collect(),
            precision: self.thresholds.iter().map(|t| t.precision).collect(),
            recall: self.thresholds.iter().map(|t| t.recall).collect(),
        }
    }

    /// The human-readable report `innerwarden model eval` prints.
    pub fn render(&self) -> String {
        let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
        let mut out = format!(
            "held-out split: {} incidents ({} malicious, {} benign), never trained on\n\
             Brier score: {:.4}\n\ncalibration\n  bin          n   mean conf  observed\n",
            self.holdout, self.malicious, self.benign, self.brier
        );
        for b in &self.bins {
            out.push_str(&format!(
                "  [{:.1}, {:.1}) {:>4}   {:>9}  {:>8}\n",
                b.lo,
                b.hi,
                b.count,
                opt(b.mean_predicted),
                opt(b.observed)
            ));
        }
        out.push_str("\nthreshold  precision  recall   tp  fp  fn\n");
        for t in &self.thresholds {
            out.push_str(&format!(
                "  {:.2}      {:>7}  {:>7}  {:>3} {:>3} {:>3}\n",
                t.threshold,
                opt(t.precision),
                opt(t.recall),
                t.true_pos,
                t.false_pos,
                t.false_neg
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::file::{SampleSource, TrainOptions, train};

    #[test]
    fn a_perfect_feature_gives_low_brier_and_full_precision() {
        let samples: Vec<Sample> = (0..200)
            .map(|i| {
                let mal = i % 3 == 0;
                Sample {
                    id: format!("s{i}"),
                    label: if mal { Label::Malicious } else { Label::Benign },
                    source: SampleSource::Scenario,
                    features: [("new.binary".to_owned(), if mal { 1.0 } else { 0.0 })]
                        .into_iter()
                        .filter(|(_, v)| *v != 0.0)
                        .collect(),
                }
            })
            .collect();
        let m = train(&samples, &TrainOptions::default()).expect("train");
        let r = evaluate(&ModelScorer::new(m), &samples, &[0.5, 0.85]).expect("eval");
        assert!(r.holdout > 20 && r.malicious > 0 && r.benign > 0, "{r:?}");
        assert!(r.brier < 0.05, "{}", r.render());
        assert_eq!(r.thresholds[0].precision, Some(1.0));
        assert_eq!(r.thresholds[0].recall, Some(1.0));
        assert_eq!(r.bins.iter().map(|b| b.count).sum::<usize>(), r.holdout);
        assert!(r.render().contains("Brier score"));
    }
}
