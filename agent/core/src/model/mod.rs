//! The local model: an incident's features → a calibrated confidence in [0,1], with the
//! features that contributed most as its explanation; the host's behaviour baseline; and
//! training from a labelled corpus plus operator feedback. Pure: files, SQLite and D-Bus are
//! the `innerwarden` crate's business.
//!
//! # Layout
//! - [`context`]: [`IncidentContext`] (ancestry, user class, rarity, history, allowlist
//!   closeness) and the ATT&CK tactic switch point.
//! - [`features`]: the named feature vector.
//! - [`baseline`]: decaying counts of what the host normally does.
//! - [`logistic`]: L2 logistic regression fitted by Newton's method (deterministic).
//! - [`file`]: the versioned JSON model file, labelled samples, training.
//! - [`scorer`]: [`ModelScorer`], the decision engine's scorer.
//! - [`eval`]: held-out calibration table, Brier score, precision/recall.
//! - [`corpus`]: samples from JSONL files replayed through the engine.
//! - [`config`]: the `[model]` section.

pub mod baseline;
pub mod config;
pub mod context;
pub mod corpus;
pub mod eval;
pub mod features;
pub mod file;
pub mod logistic;
pub mod scorer;

pub use context::IncidentContext;
pub use scorer::ModelScorer;

use file::{ModelFile, Sample};

/// The model file shipped with the agent (`models/innerwarden-model.json`).
pub const SHIPPED_MODEL: &str = include_str!("../../../../models/innerwarden-model.json");
/// The labelled samples it was trained on, held-out ones included (`models/samples.jsonl`).
pub const SHIPPED_SAMPLES: &str = include_str!("../../../../models/samples.jsonl");

/// The shipped model, checked.
pub fn shipped_model() -> Result<ModelFile, file::ModelFileError> {
    ModelFile::parse(SHIPPED_MODEL)
}

/// Parse a samples file (one JSON sample per line; `#` and blank lines skipped). An invalid
/// line is an error naming its line number.
pub fn parse_samples(text: &str) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let s: Sample =
            serde_json::from_str(l).map_err(|e| format!("samples line {}: {e}", n + 1))?;
        s.vector()
            .map_err(|e| format!("samples line {}: {e}", n + 1))?;
        out.push(s);
    }
    Ok(out)
}

/// Samples as a JSONL file.
pub fn render_samples(samples: &[Sample]) -> String {
    let mut out = String::new();
    for s in samples {
        // A sample is strings and finite numbers: serializing cannot fail.
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_and_samples_load() {
        let m = shipped_model().expect("shipped model is valid");
        let samples = parse_samples(SHIPPED_SAMPLES).expect("shipped samples are valid");
        assert_eq!(m.training.samples + m.training.held_out, samples.len());
        println!(
            "shipped model {}: {} samples ({} held out)",
            m.id(),
            samples.len(),
            m.training.held_out
        );
    }

    #[test]
    fn bad_sample_lines_are_named() {
        let e = parse_samples("\n{\"id\":1}\n").expect_err("bad");
        assert!(e.contains("line 2"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn parse_samples_never_panics(text in ".{0,300}") {
            let _ = parse_samples(&text);
        }
    }
}
