//! The versioned model file (JSON) and the labelled samples it is trained from.
//!
//! ```json
//! {"format":"innerwarden-model","version":1,"kind":"logistic_regression",
//!  "features":["prior_logit",…],"bias":-1.2,"weights":[0.9,…],
//!  "training":{"samples":…,"malicious":…,"benign":…,"feedback":…,"lambda":…,
//!              "iterations":…,"loss":…,"corpus_sha256":"…"},
//!  "eval":{"holdout":…,"brier":…,"thresholds":[…]}}
//! ```
//!
//! A file whose format, version or feature names differ from this build's is refused with an
//! error naming the difference: weights are never applied to features they were not fitted on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::features::{FEATURE_NAMES, N_FEATURES};
use super::logistic::{self, Example};

pub const FORMAT: &str = "innerwarden-model";
pub const VERSION: u32 = 1;

/// Why a model file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("model file is not valid JSON of the model format: {0}")]
    Json(#[from] serde_json::Error),
    #[error("model file format {found:?}, expected {FORMAT:?}")]
    Format { found: String },
    #[error("model file version {found}, this agent reads version {VERSION}")]
    Version { found: u32 },
    #[error("model file kind {found:?}, expected \"logistic_regression\"")]
    Kind { found: String },
    #[error("model file feature {index} is {found:?}, this agent computes {expected:?}")]
    Feature {
        index: usize,
        found: String,
        expected: &'static str,
    },
    #[error(
        "model file has {found} features and {weights} weights, this agent computes {N_FEATURES}"
    )]
    Length { found: usize, weights: usize },
    #[error("model file weight {name} is not a finite number")]
    NotFinite { name: String },
}

/// How the weights were obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    pub samples: usize,
    pub malicious: usize,
    pub benign: usize,
    /// Samples from operator feedback.
    pub feedback: usize,
    /// Samples held out for evaluation (never trained on).
    pub held_out: usize,
    pub lambda: f64,
    pub feedback_weight: f64,
    pub iterations: u32,
    pub loss: f64,
    /// SHA-256 of the training samples, in order, as JSON lines.
    pub corpus_sha256: String,
}

/// A short evaluation summary kept with the model (the full report is `model eval`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSummary {
    pub holdout: usize,
    pub brier: f64,
    /// The thresholds precision and recall were measured at.
    pub thresholds: Vec<f64>,
    pub precision: Vec<Option<f64>>,
    pub recall: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    pub format: String,
    pub version: u32,
    pub kind: String,
    pub features: Vec<String>,
    pub bias: f64,
    pub weights: Vec<f64>,
    pub training: Training,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval: Option<EvalSummary>,
}

impl ModelFile {
    /// Parse and check against this build's features.
    pub fn parse(text: &str) -> Result<Self, ModelFileError> {
        let m: ModelFile = serde_json::from_str(text)?;
        if m.format != FORMAT {
            return Err(ModelFileError::Format { found: m.format });
        }
        if m.version != VERSION {
            return Err(ModelFileError::Version { found: m.version });
        }
        if m.kind != "logistic_regression" {
            return Err(ModelFileError::Kind { found: m.kind });
        }
        if m.features.len() != N_FEATURES || m.weights.len() != N_FEATURES {
            return Err(ModelFileError::Length {
                found: m.features.len(),
                weights: m.weights.len(),
            });
        }
        for (index, (found, expected)) in m.features.iter().zip(FEATURE_NAMES).enumerate() {
            if found != expected {
                return Err(ModelFileError::Feature {
                    index,
                    found: found.clone(),
                    expected,
                });
            }
        }
        if !m.bias.is_finite() {
            return Err(ModelFileError::NotFinite {
                name: "bias".into(),
            });
        }
        if let Some(i) = m.weights.iter().position(|w| !w.is_finite()) {
            return Err(ModelFileError::NotFinite {
                name: FEATURE_NAMES[i].into(),
            });
        }
        Ok(m)
    }

    /// The scorer name decisions record: `model-v1-<8 hex>`, a digest of the training corpus
    /// and the fitted parameters (the same corpus trained differently is a different model).
    /// Parameters enter with 9 significant digits, so a JSON round trip keeps the id.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.training.corpus_sha256.as_bytes());
        for v in std::iter::once(&self.bias).chain(&self.weights) {
            h.update(format!("{v:.8e};").as_bytes());
        }
        let d = hex::encode(h.finalize());
        format!("model-v{}-{}", self.version, &d[..8])
    }

    pub fn to_json(&self) -> String {
        // Serializing plain numbers, strings and vectors cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The label of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Benign,
    Malicious,
}

impl Label {
    pub fn y(self) -> f64 {
        match self {
            Label::Benign => 0.0,
            Label::Malicious => 1.0,
        }
    }
}

/// Where a sample came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleSource {
    /// A detector fixture replayed through the engine.
    Fixture,
    /// A labelled scenario of the model corpus replayed through the engine.
    Scenario,
    /// An operator's verdict on a live incident.
    Feedback,
}

/// One labelled incident as a feature map (only non-zero features are kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// Stable id (fixture path + incident index, or `feedback:<incident>`): the held-out
    /// split is a hash of it.
    pub id: String,
    pub label: Label,
    pub source: SampleSource,
    pub features: BTreeMap<String, f64>,
}

impl Sample {
    pub fn from_vector(id: String, label: Label, source: SampleSource, x: &[f64]) -> Self {
        let features = FEATURE_NAMES
            .iter()
            .zip(x)
            .filter(|(_, v)| **v != 0.0)
            .map(|(n, v)| ((*n).to_owned(), *v))
            .collect();
        Self {
            id,
            label,
            source,
            features,
        }
    }

    /// The dense vector; an unknown feature name is an error naming it.
    pub fn vector(&self) -> Result<[f64; N_FEATURES], String> {
        let mut x = [0.0; N_FEATURES];
        for (name, v) in &self.features {
            let i = FEATURE_NAMES
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| format!("sample {}: unknown feature {name:?}", self.id))?;
            if !v.is_finite() {
                return Err(format!("sample {}: feature {name} is not finite", self.id));
            }
            x[i] = *v;
        }
        Ok(x)
    }

    /// In the evaluation split (about a quarter of corpus samples; never feedback, which is
    /// always trained on so an operator's verdict always takes effect).
    pub fn held_out(&self) -> bool {
        self.source != SampleSource::Feedback && fnv1a(self.id.as_bytes()).is_multiple_of(4)
    }
}

/// FNV-1a 64: a fixed, dependency-free hash so the split never changes between builds.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Training options.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    pub lambda: f64,
    /// Weight of a feedback sample relative to a corpus sample.
    pub feedback_weight: f64,
    /// Operating threshold a feedback verdict must end up on the right side of (the act
    /// threshold): feedback weight is doubled (up to 8 times) until every verdict does.
    pub act_threshold: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            lambda: 1.0,
            feedback_weight: 20.0,
            act_threshold: 0.85,
        }
    }
}

/// Train on every sample that is not held out.
pub fn train(samples: &[Sample], opts: &TrainOptions) -> Result<ModelFile, String> {
    let train: Vec<&Sample> = samples.iter().filter(|s| !s.held_out()).collect();
    let held_out = samples.len() - train.len();
    let vectors: Vec<[f64; N_FEATURES]> =
        train.iter().map(|s| s.vector()).collect::<Result<_, _>>()?;
    let mut digest = Sha256::new();
    for s in &train {
        digest.update(
            serde_json::to_string(s)
                .map_err(|e| e.to_string())?
                .as_bytes(),
        );
        digest.update(b"\n");
    }
    let corpus_sha256 = hex::encode(digest.finalize());
    let mut fw = opts.feedback_weight;
    let mut fit;
    let mut rounds = 0;
    loop {
        let data: Vec<Example<'_>> = train
            .iter()
            .zip(&vectors)
            .map(|(s, x)| Example {
                x,
                y: s.label.y(),
                weight: if s.source == SampleSource::Feedback {
                    fw
                } else {
                    1.0
                },
            })
            .collect();
        fit = logistic::fit(&data, N_FEATURES, opts.lambda);
        let wrong_side = train.iter().zip(&vectors).any(|(s, x)| {
            let p = logistic::sigmoid(fit.bias + logistic::dot(&fit.weights, x));
            s.source == SampleSource::Feedback
                && match s.label {
                    Label::Benign => p >= opts.act_threshold,
                    Label::Malicious => p < opts.act_threshold,
                }
        });
        rounds += 1;
        if !wrong_side || rounds > 8 {
            break;
        }
        fw *= 2.0;
    }
    let count = |l: Label| train.iter().filter(|s| s.label == l).count();
    Ok(ModelFile {
        format: FORMAT.into(),
        version: VERSION,
        kind: "logistic_regression".into(),
        features: FEATURE_NAMES.iter().map(|s| (*s).to_owned()).collect(),
        bias: fit.bias,
        weights: fit.weights,
        training: Training {
            samples: train.len(),
            malicious: count(Label::Malicious),
            benign: count(Label::Benign),
            feedback: train
                .iter()
                .filter(|s| s.source == SampleSource::Feedback)
                .count(),
            held_out,
            lambda: opts.lambda,
            feedback_weight: fw,
            iterations: fit.iterations,
            loss: fit.loss,
            corpus_sha256,
        },
        eval: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str, label: Label, source: SampleSource, feats: &[(&str, f64)]) -> Sample {
        Sample {
            id: id.into(),
            label,
            source,
            features: feats.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect(),
        }
    }

    #[test]
    fn a_trained_model_round_trips_through_its_file() {
        let samples: Vec<Sample> = (0..30)
            .map(|i| {
                let mal = i % 2 == 0;
                sample(
                    &format!("s{i}"),
                    if mal { Label::Malicious } else { Label::Benign },
                    SampleSource::Scenario,
                    &[
                        ("new.binary", if mal { 1.0 } else { 0.0 }),
                        ("severity", 0.5),
                    ],
                )
            })
            .collect();
        let m = train(&samples, &TrainOptions::default()).expect("train");
        assert!(m.training.held_out > 0 && m.training.held_out < 30);
        let back = ModelFile::parse(&m.to_json()).expect("parse");
        assert_eq!(back.features, m.features);
        assert_eq!(back.training.corpus_sha256, m.training.corpus_sha256);
        for (a, b) in back.weights.iter().zip(&m.weights) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0));
        }
        assert!(m.id().starts_with("model-v1-"));
    }

    #[test]
    fn mismatched_files_are_refused_naming_the_problem() {
        let m = train(&[], &TrainOptions::default()).expect("train on nothing");
        let mut v: serde_json::Value = serde_json::from_str(&m.to_json()).expect("json");
        v["features"][3] = "renamed".into();
        let e = ModelFile::parse(&v.to_string()).expect_err("renamed feature");
        assert!(e.to_string().contains("renamed"), "{e}");
        v["features"][3] = "findings_log".into();
        v["version"] = 9.into();
        assert!(
            ModelFile::parse(&v.to_string())
                .expect_err("version")
                .to_string()
                .contains('9')
        );
        assert!(ModelFile::parse("{").is_err());
        assert!(
            sample("x", Label::Benign, SampleSource::Fixture, &[("nope", 1.0)])
                .vector()
                .expect_err("unknown")
                .contains("nope")
        );
    }

    #[test]
    fn feedback_is_never_held_out() {
        for i in 0..50 {
            let s = sample(
                &format!("feedback:{i}"),
                Label::Benign,
                SampleSource::Feedback,
                &[],
            );
            assert!(!s.held_out());
        }
        let held = (0..400)
            .filter(|i| {
                sample(&format!("f{i}"), Label::Benign, SampleSource::Fixture, &[]).held_out()
            })
            .count();
        assert!((60..140).contains(&held), "{held}");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in ".{0,400}") {
            let _ = ModelFile::parse(&text);
        }
    }
}
