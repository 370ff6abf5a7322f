//! `innerwarden bench detect`: events/s through the detection engine on a realistic mixed
//! stream (`innerwarden_core::detect::bench`), with every configured detector and rule, next to
//! the code detectors alone. Build with `--release` for numbers worth quoting.

use innerwarden_core::detect::bench::{mixed_stream, run as run_stream};
use innerwarden_core::engine::Engine;
use innerwarden_core::rules::RuleSet;

use super::{Cli, load_config, table};
use crate::rules_dir;

pub fn run(cli: &Cli, events: usize) -> anyhow::Result<()> {
    let cfg = load_config(cli)?;
    let stream = mixed_stream(events, chrono::Utc::now());
    let mut rows = Vec::new();
    let full = rules_dir::engine(&cfg)?;
    let code_only = Engine::try_new(&cfg.detectors, &RuleSet::default())?;
    for (label, mut engine) in [("all", full), ("code only", code_only)] {
        let (secs, findings) = run_stream(&mut engine, &stream);
        rows.push(vec![
            label.to_owned(),
            engine.detector_ids().len().to_string(),
            engine.rule_ids().len().to_string(),
            stream.len().to_string(),
            format!("{secs:.3}"),
            format!("{:.0}", stream.len() as f64 / secs.max(1e-9)),
            findings.to_string(),
        ]);
    }
    table::print(
        &[
            "SET",
            "DETECTORS",
            "RULES",
            "EVENTS",
            "SECONDS",
            "EVENTS/S",
            "FINDINGS",
        ],
        &rows,
    );
    Ok(())
}
