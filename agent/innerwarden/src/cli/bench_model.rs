//! `innerwarden bench model`: the local model's cost — scoring latency per incident (feature
//! extraction, the dot product, the top-feature explanation, the named feature vector kept
//! with the decision) and the time to train on the shipped corpus (what a retrain with
//! feedback costs the slow loop).

use std::time::Instant;

use innerwarden_core::decide::score::{FindingView, IncidentView, Scorer};
use innerwarden_core::finding::{Entity, Severity};
use innerwarden_core::model::context::{Ancestry, IncidentContext, Rarity, UserClass};
use innerwarden_core::model::file::{TrainOptions, train};
use innerwarden_core::model::{self, ModelScorer};

use super::table;

/// A web-shell-like incident with two findings and most context flags set.
fn incident() -> IncidentView {
    IncidentView {
        id: 1,
        entity: Entity::Process {
            pid: 4242,
            start_ns: 1,
            exe: "/bin/sh".into(),
        },
        findings: vec![
            FindingView {
                detector: "pipe_to_shell".into(),
                technique: "T1059.004".into(),
                severity: Severity::High,
            },
            FindingView {
                detector: "exec_from_tmp".into(),
                technique: "T1620".into(),
                severity: Severity::Critical,
            },
        ],
        unit: Some("nginx.service".into()),
        user: Some("www-data".into()),
        uid: Some(33),
        peers: Vec::new(),
        context: IncidentContext {
            max_stage: 2,
            ancestry: Ancestry {
                web_server: true,
                system_unit: true,
                ..Ancestry::default()
            },
            user_class: Some(UserClass::System),
            rarity: Rarity {
                parent_child: true,
                binary: true,
                destination: true,
                ..Rarity::default()
            },
            ..IncidentContext::default()
        },
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

pub fn bench_model(n: usize, train_runs: usize) -> anyhow::Result<()> {
    let m = model::shipped_model()?;
    let scorer = ModelScorer::new(m);
    let view = incident();
    // Warm up, then time each call.
    let mut sink = 0.0;
    for _ in 0..1000 {
        sink += scorer.score(&view).confidence;
    }
    let mut ns = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let s = scorer.score(&view);
        ns.push(t.elapsed().as_nanos() as f64);
        sink += s.confidence;
    }
    ns.sort_by(f64::total_cmp);
    let mean = ns.iter().sum::<f64>() / ns.len().max(1) as f64;
    let samples = model::parse_samples(model::SHIPPED_SAMPLES).map_err(|e| anyhow::anyhow!(e))?;
    let mut train_ms = Vec::with_capacity(train_runs);
    for _ in 0..train_runs {
        let t = Instant::now();
        let m = train(&samples, &TrainOptions::default()).map_err(|e| anyhow::anyhow!(e))?;
        train_ms.push(t.elapsed().as_secs_f64() * 1e3);
        sink += m.bias;
    }
    train_ms.sort_by(f64::total_cmp);
    table::print(
        &["MEASURE", "N", "P50", "P99", "MEAN"],
        &[
            vec![
                "score one incident (µs)".into(),
                n.to_string(),
                format!("{:.2}", quantile(&ns, 0.5) / 1e3),
                format!("{:.2}", quantile(&ns, 0.99) / 1e3),
                format!("{:.2}", mean / 1e3),
            ],
            vec![
                format!("train on {} shipped samples (ms)", samples.len()),
                train_runs.to_string(),
                format!("{:.2}", quantile(&train_ms, 0.5)),
                format!("{:.2}", quantile(&train_ms, 0.99)),
                format!(
                    "{:.2}",
                    train_ms.iter().sum::<f64>() / train_ms.len().max(1) as f64
                ),
            ],
        ],
    );
    // Keep the optimiser from discarding the work.
    tracing::trace!(sink, "bench model");
    Ok(())
}
