//! The shipped samples (`models/samples.jsonl`) are exactly what replaying today's detector
//! fixtures and model scenarios produces, and the shipped model is what training on them
//! gives: a detector or feature change that alters the corpus fails here until
//! `innerwarden model train` is rerun from the repository root.

use std::fs;
use std::path::{Path, PathBuf};

use innerwarden_core::model::file::{SampleSource, TrainOptions, train};
use innerwarden_core::model::{self, corpus};

fn jsonl(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
        let p = e.expect("entry").path();
        if p.is_dir() {
            for e in fs::read_dir(&p).expect("subdir") {
                let q = e.expect("entry").path();
                if q.extension().is_some_and(|x| x == "jsonl") {
                    out.push(q);
                }
            }
        } else if p.extension().is_some_and(|x| x == "jsonl") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn shipped_samples_and_model_match_the_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        (root.join("tests/fixtures/detectors"), SampleSource::Fixture),
        (root.join("../../models/corpus"), SampleSource::Scenario),
    ];
    let mut samples = Vec::new();
    for (dir, source) in &dirs {
        let parent = dir.parent().expect("parent");
        for path in jsonl(dir) {
            let text = fs::read_to_string(&path).expect("read");
            let id = path
                .strip_prefix(parent)
                .expect("prefix")
                .display()
                .to_string();
            let name = path.file_name().and_then(|n| n.to_str()).expect("name");
            samples.extend(corpus::samples_for_file(&id, name, &text, *source).expect("samples"));
        }
    }
    let rendered = model::render_samples(&samples);
    assert!(
        rendered == model::SHIPPED_SAMPLES,
        "models/samples.jsonl is stale: run `innerwarden model train` from the repository root"
    );
    let m = train(&samples, &TrainOptions::default()).expect("train");
    let shipped = model::shipped_model().expect("shipped");
    assert_eq!(
        m.id(),
        shipped.id(),
        "models/innerwarden-model.json is stale"
    );
    for (a, b) in m.weights.iter().zip(&shipped.weights) {
        assert!((a - b).abs() < 1e-9, "weights differ: retrain");
    }
    println!(
        "{} corpus samples reproduce the shipped model {}",
        samples.len(),
        m.id()
    );
}

/// What the shipped model must get right whatever the corpus grows into: every critical
/// finding of the corpus acts (a reverse shell, a dropper's payload, a guessed login), and no
/// routine administration a low-severity rule watches reaches even the soft tier.
#[test]
fn the_shipped_model_acts_on_critical_findings_and_not_on_routine_administration() {
    let scorer = model::ModelScorer::new(model::shipped_model().expect("shipped"));
    let samples = model::parse_samples(model::SHIPPED_SAMPLES).expect("samples");
    let (mut critical, mut routine) = (0, 0);
    for s in &samples {
        let p = scorer.predict(&s.vector().expect("vector"));
        let severity = s.features.get("severity").copied().unwrap_or(0.0);
        if s.label == model::file::Label::Malicious && severity >= 1.0 {
            critical += 1;
            assert!(p >= 0.85, "{}: critical, scored {p:.2}", s.id);
        }
        if s.id.starts_with("corpus/benign-admin-task-") {
            routine += 1;
            assert!(p < 0.50, "{}: routine administration, scored {p:.2}", s.id);
        }
    }
    assert!(
        critical >= 20 && routine >= 20,
        "{critical} critical, {routine} routine"
    );
    println!(
        "{critical} critical samples act, {routine} routine-administration samples stay below 0.50"
    );
}
