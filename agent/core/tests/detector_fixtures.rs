//! Fixture-driven detector tests: every detector and every shipped rule has positive and negative
//! fixture files under tests/fixtures/detectors/<id>/, each JSONL with an `# expect: N` header
//! giving how many findings that detector or rule must raise on it (0 for negatives).

use std::fs;
use std::path::Path;

use innerwarden_core::config::DetectorsConfig;
use innerwarden_core::detect;
use innerwarden_core::engine::{Engine, embedded_rules};
use innerwarden_core::replay::{ReplayLine, classify_line, expected_count};

fn run_fixture(path: &Path) -> (usize, Vec<String>) {
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
            ReplayLine::Raw(l) => panic!("{path:?}:{}: detector fixtures are JSONL: {l}", n + 1),
        }
    }
    let detector = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .expect("fixture in a detector dir");
    for f in &findings {
        assert!(
            innerwarden_core::attack::tactics(&f.technique).is_some(),
            "{path:?}: detector {} names technique {} that attack.rs does not know",
            f.detector,
            f.technique
        );
    }
    let ours: Vec<String> = findings
        .iter()
        .filter(|f| f.detector == detector)
        .map(|f| f.summary.clone())
        .collect();
    (expect, ours)
}

#[test]
fn every_detector_fixture_yields_its_expected_findings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/detectors");
    let mut checked = 0;
    let mut ids: Vec<String> = detect::ALL.iter().map(|s| (*s).to_owned()).collect();
    ids.extend(embedded_rules().rules().iter().map(|r| r.id.clone()));
    let mut dirs: Vec<String> = fs::read_dir(&root)
        .expect("fixtures dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    dirs.sort();
    for d in &dirs {
        assert!(
            ids.contains(d),
            "fixtures/detectors/{d} belongs to no detector or rule"
        );
    }
    assert!(
        ids.len() >= 60,
        "{} detectors and rules; the target is at least 60",
        ids.len()
    );
    // Every problem is collected, so one run names every failing fixture.
    let mut failures: Vec<String> = Vec::new();
    for id in &ids {
        let dir = root.join(id);
        let mut kinds = (0, 0);
        let mut entries: Vec<_> = match fs::read_dir(&dir) {
            Ok(rd) => rd.map(|e| e.expect("dir entry").path()).collect(),
            Err(e) => {
                failures.push(format!("{id}: no fixtures ({dir:?}: {e})"));
                continue;
            }
        };
        entries.sort();
        for path in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let (expect, got) = run_fixture(&path);
            if got.len() != expect {
                failures.push(format!(
                    "{id}/{name}: expected {expect} findings, got {}: {got:?}",
                    got.len()
                ));
            }
            if name.starts_with("positive") {
                if expect == 0 {
                    failures.push(format!(
                        "{id}/{name}: a positive fixture must expect findings"
                    ));
                }
                kinds.0 += 1;
            } else if name.starts_with("negative") {
                if expect != 0 {
                    failures.push(format!("{id}/{name}: a negative fixture expects none"));
                }
                kinds.1 += 1;
            }
            checked += 1;
        }
        if kinds.0 == 0 || kinds.1 == 0 {
            failures.push(format!("{id} needs positive and negative fixtures"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "{checked} fixtures checked for {} detectors and rules",
        ids.len()
    );
}
