//! `innerwarden model train|eval`: build the model file from the labelled corpus (detector
//! fixtures and the model's scenarios replayed through the engine, plus operator feedback
//! with `--with-feedback`), and evaluate it on the held-out split it never trained on.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use innerwarden_core::model::eval::evaluate;
use innerwarden_core::model::file::{ModelFile, Sample, SampleSource, TrainOptions, train};
use innerwarden_core::model::{self, ModelScorer, corpus};

use super::{Cli, load_config};
use crate::recorder::open_store;

/// Thresholds precision and recall are reported at (soft and act, by default).
const THRESHOLDS: [f64; 2] = [0.50, 0.85];

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Train from the corpus and write `innerwarden-model.json` and `samples.jsonl`.
    Train {
        /// Detector fixtures: `<dir>/<detector>/{positive,negative}-*.jsonl`.
        #[arg(long, default_value = "agent/core/tests/fixtures/detectors")]
        fixtures: PathBuf,
        /// Labelled scenarios (`# label: malicious|benign`), `*.jsonl`.
        #[arg(long, default_value = "models/corpus")]
        corpus: PathBuf,
        /// Where to write the model and its samples.
        #[arg(long, default_value = "models")]
        out: PathBuf,
        /// Add the operator verdicts in the state directory's database. Without the corpus
        /// directories, start from the samples shipped in the binary.
        #[arg(long)]
        with_feedback: bool,
    },
    /// Calibration table, Brier score, precision and recall at 0.50 and 0.85 on the held-out
    /// split.
    Eval {
        /// Model file (default: the one shipped in the binary).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Samples file (default: the one shipped in the binary).
        #[arg(long)]
        samples: Option<PathBuf>,
        /// The report as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    match &args.command {
        ModelCommand::Train {
            fixtures,
            corpus,
            out,
            with_feedback,
        } => train_cmd(cli, fixtures, corpus, out, *with_feedback),
        ModelCommand::Eval {
            model,
            samples,
            json,
        } => eval_cmd(model.as_deref(), samples.as_deref(), *json),
    }
}

/// `*.jsonl` files under `dir` (one level of subdirectories), sorted.
fn jsonl_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = entry?.path();
        if p.is_dir() {
            for e in std::fs::read_dir(&p).with_context(|| format!("reading {}", p.display()))? {
                let q = e?.path();
                if q.extension().is_some_and(|x| x == "jsonl") {
                    out.push(q);
                }
            }
        } else if p.extension().is_some_and(|x| x == "jsonl") {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Replay every file of `dir` into samples (ids are paths relative to `dir`'s parent).
pub fn samples_from_dir(dir: &Path, source: SampleSource) -> anyhow::Result<Vec<Sample>> {
    let mut samples = Vec::new();
    let root = dir.parent().unwrap_or(dir);
    for path in jsonl_files(dir)? {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let id = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        samples.extend(
            corpus::samples_for_file(&id, name, &text, source).map_err(|e| anyhow::anyhow!(e))?,
        );
    }
    Ok(samples)
}

fn train_cmd(
    cli: &Cli,
    fixtures: &Path,
    corpus_dir: &Path,
    out: &Path,
    with_feedback: bool,
) -> anyhow::Result<ExitCode> {
    let cfg = load_config(cli)?;
    let started = Instant::now();
    let mut samples = Vec::new();
    let have_corpus = fixtures.is_dir() || corpus_dir.is_dir();
    if have_corpus {
        if fixtures.is_dir() {
            samples.extend(samples_from_dir(fixtures, SampleSource::Fixture)?);
        }
        if corpus_dir.is_dir() {
            samples.extend(samples_from_dir(corpus_dir, SampleSource::Scenario)?);
        }
    } else if with_feedback {
        samples.extend(crate::model::base_samples()?);
    } else {
        anyhow::bail!(
            "neither {} nor {} exists (run from the repository root, or pass --fixtures/--corpus)",
            fixtures.display(),
            corpus_dir.display()
        );
    }
    let corpus_time = started.elapsed();
    if with_feedback {
        let store = open_store(&cfg.agent.state_dir)?;
        samples.extend(store.feedback_samples()?);
    }
    let t = Instant::now();
    let opts = TrainOptions {
        lambda: cfg.model.l2,
        feedback_weight: cfg.model.feedback_weight,
        act_threshold: cfg.response.act_threshold,
    };
    let mut m = train(&samples, &opts).map_err(|e| anyhow::anyhow!(e))?;
    let train_time = t.elapsed();
    let report = evaluate(&ModelScorer::new(m.clone()), &samples, &THRESHOLDS)
        .map_err(|e| anyhow::anyhow!(e))?;
    m.eval = Some(report.summary());
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let model_path = out.join("innerwarden-model.json");
    let samples_path = out.join("samples.jsonl");
    std::fs::write(&model_path, m.to_json() + "\n")
        .with_context(|| format!("writing {}", model_path.display()))?;
    std::fs::write(&samples_path, model::render_samples(&samples))
        .with_context(|| format!("writing {}", samples_path.display()))?;
    println!(
        "model {}: {} samples ({} malicious, {} benign, {} feedback) trained, {} held out\n\
         corpus replay {:.1} ms, training {:.2} ms ({} Newton iterations)\nwrote {} and {}",
        m.id(),
        m.training.samples,
        m.training.malicious,
        m.training.benign,
        m.training.feedback,
        m.training.held_out,
        corpus_time.as_secs_f64() * 1e3,
        train_time.as_secs_f64() * 1e3,
        m.training.iterations,
        model_path.display(),
        samples_path.display()
    );
    print!("\n{}", report.render());
    Ok(ExitCode::SUCCESS)
}

fn eval_cmd(
    model_path: Option<&Path>,
    samples_path: Option<&Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let m = match model_path {
        Some(p) => ModelFile::parse(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .with_context(|| format!("model file {}", p.display()))?,
        None => model::shipped_model().context("the shipped model")?,
    };
    let text = match samples_path {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => model::SHIPPED_SAMPLES.to_owned(),
    };
    let samples = model::parse_samples(&text).map_err(|e| anyhow::anyhow!(e))?;
    let report = evaluate(&ModelScorer::new(m.clone()), &samples, &THRESHOLDS)
        .map_err(|e| anyhow::anyhow!(e))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("model {}", m.id());
        print!("{}", report.render());
    }
    Ok(ExitCode::SUCCESS)
}
