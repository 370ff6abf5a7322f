//! Engine throughput with and without correlation on two streams, each repeated with
//! timestamps shifted an hour per pass (so windows expire as in a long run): the benign corpora
//! alone (a normal host), and the benign corpora plus every correlation fixture (attack-dense:
//! every pass completes every rule's chain). Not a gate (timing is machine dependent); run it in release:
//!
//! ```text
//! cargo test -p innerwarden-core --release --test correlation_bench -- --ignored --nocapture
//! ```

use std::fs;
use std::path::Path;
use std::time::Instant;

use chrono::Duration;
use innerwarden_core::config::DetectorsConfig;
use innerwarden_core::engine::Engine;
use innerwarden_core::event::Event;
use innerwarden_core::replay::{ReplayLine, classify_line};

fn jsonl_under(dir: &Path, out: &mut Vec<Event>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            jsonl_under(&p, out);
        } else if p.extension().is_some_and(|e| e == "jsonl") {
            let text = fs::read_to_string(&p).expect("readable");
            out.extend(text.lines().filter_map(|l| match classify_line(l) {
                ReplayLine::Json(Ok(ev)) => Some(ev),
                _ => None,
            }));
        }
    }
}

fn run(cfg: &DetectorsConfig, stream: &[Event]) -> (f64, usize) {
    let mut engine = Engine::new(cfg);
    let mut out = Vec::new();
    let start = Instant::now();
    for ev in stream {
        engine.process(ev, &mut out);
    }
    (start.elapsed().as_secs_f64(), out.len())
}

#[test]
#[ignore = "benchmark: run explicitly in release mode"]
fn events_per_second_with_and_without_correlation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut benign = Vec::new();
    jsonl_under(&root.join("benign"), &mut benign);
    let mut dense = benign.clone();
    jsonl_under(&root.join("correlation"), &mut dense);
    let on = DetectorsConfig::default();
    let mut off = DetectorsConfig::default();
    off.correlation.enabled = false;
    let rules = Engine::new(&on).correlator().rule_ids().len();
    println!("{rules} correlation rules");
    println!(
        "{:<10} {:<26} {:>8} {:>8} {:>10} {:>9}",
        "stream", "engine", "events", "secs", "events/s", "findings"
    );
    for (stream_name, base) in [("benign", &benign), ("attacks", &dense)] {
        let passes = 200;
        let mut stream = Vec::with_capacity(base.len() * passes);
        for p in 0..passes {
            for ev in base {
                let mut e = ev.clone();
                e.ts += Duration::hours(p as i64);
                stream.push(e);
            }
        }
        for (name, cfg) in [("detectors only", &off), ("detectors + correlation", &on)] {
            let best = (0..3)
                .map(|_| run(cfg, &stream))
                .fold((f64::INFINITY, 0), |a, b| if b.0 < a.0 { b } else { a });
            println!(
                "{stream_name:<10} {name:<26} {:>8} {:>8.3} {:>10.0} {:>9}",
                stream.len(),
                best.0,
                stream.len() as f64 / best.0,
                best.1
            );
        }
    }
}
