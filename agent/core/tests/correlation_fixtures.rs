//! Fixture-driven correlation tests: every shipped correlation rule has positive and negative
//! fixtures under tests/fixtures/correlation/<rule id>/, each JSONL with an `# expect: N` header
//! giving how many `corr.<rule id>` findings (partial ones included) the full engine must raise.
//! A positive fixture must also complete the sequence (a finding with `stage` = the number of
//! stages); a rule without both kinds of fixture, or a fixture directory without a rule, fails.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use innerwarden_core::config::DetectorsConfig;
use innerwarden_core::engine::Engine;
use innerwarden_core::finding::Finding;
use innerwarden_core::replay::{ReplayLine, classify_line, expected_count};

fn run_fixture(path: &Path) -> (usize, Vec<Finding>) {
    let text = fs::read_to_string(path).expect("fixture readable");
    let expect = expected_count(&text).unwrap_or_else(|| panic!("{path:?} has no `# expect:`"));
    let mut engine = Engine::new(&DetectorsConfig::default());
    let mut findings = Vec::new();
    for (n, line) in text.lines().enumerate() {
        match classify_line(line) {
            ReplayLine::Skip => {}
            ReplayLine::Json(ev) => {
                let ev = ev.unwrap_or_else(|e| panic!("{path:?}:{}: {e}", n + 1));
                engine.process(&ev, &mut findings);
            }
            ReplayLine::Raw(l) => panic!("{path:?}:{}: fixtures are JSONL: {l}", n + 1),
        }
    }
    (expect, findings)
}

#[test]
fn every_correlation_rule_fires_on_its_positives_and_not_on_its_negatives() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/correlation");
    let engine = Engine::new(&DetectorsConfig::default());
    let rules: Vec<(String, usize)> = engine
        .correlator()
        .rules()
        .map(|r| (r.id.clone(), r.stages.len()))
        .collect();
    assert!(
        rules.len() >= 30,
        "at least 30 shipped rules, got {}",
        rules.len()
    );
    let mut checked = 0;
    let mut failures = Vec::new();
    for (id, stages) in &rules {
        let dir = root.join(id);
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("rule {id} has no fixtures ({dir:?}: {e})"))
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        let (mut pos, mut neg) = (0, 0);
        let detector = format!("corr.{id}");
        for path in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let (expect, all) = run_fixture(&path);
            let ours: Vec<&Finding> = all.iter().filter(|f| f.detector == detector).collect();
            if ours.len() != expect {
                failures.push(format!(
                    "{name} of {id}: expected {expect}, got {:#?}",
                    ours.iter().map(|f| &f.summary).collect::<Vec<_>>()
                ));
            }
            if name.starts_with("positive") {
                assert!(
                    expect > 0,
                    "{path:?}: a positive fixture must expect findings"
                );
                if !ours.iter().any(|f| f.stage == Some(*stages as u32)) {
                    failures.push(format!(
                        "{name} of {id}: no finding completes all {stages} stages"
                    ));
                } else {
                    println!("{detector}: {}", ours[ours.len() - 1].summary);
                }
                pos += 1;
            } else if name.starts_with("negative") {
                assert_eq!(expect, 0, "{path:?}: a negative fixture expects none");
                neg += 1;
            } else {
                panic!("{path:?}: fixture names start with positive- or negative-");
            }
            checked += 1;
        }
        assert!(
            pos > 0 && neg > 0,
            "{id} needs positive and negative fixtures"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let known: BTreeSet<&str> = rules.iter().map(|(id, _)| id.as_str()).collect();
    for e in fs::read_dir(&root).expect("fixture root") {
        let name = e
            .expect("entry")
            .file_name()
            .into_string()
            .expect("utf-8 name");
        assert!(
            known.contains(name.as_str()),
            "fixtures for unknown rule {name}"
        );
    }
    println!(
        "{checked} correlation fixtures checked over {} rules",
        rules.len()
    );
}
