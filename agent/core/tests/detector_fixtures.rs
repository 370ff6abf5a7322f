//! Fixture-driven detector tests: every detector has positive and negative fixture files under
//! tests/fixtures/detectors/<detector>/, each JSONL with an `# expect: N` header giving how many
//! findings that detector must raise on it (0 for negatives).

use std::fs;
use std::path::Path;

use innerwarden_core::config::DetectorsConfig;
use innerwarden_core::detect;
use innerwarden_core::engine::Engine;
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
    for id in detect::ALL {
        let dir = root.join(id);
        let mut kinds = (0, 0);
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let (expect, got) = run_fixture(&path);
            assert_eq!(got.len(), expect, "{path:?}: findings {got:#?}");
            if name.starts_with("positive") {
                assert!(
                    expect > 0,
                    "{path:?}: a positive fixture must expect findings"
                );
                kinds.0 += 1;
            } else if name.starts_with("negative") {
                assert_eq!(expect, 0, "{path:?}: a negative fixture expects none");
                kinds.1 += 1;
            }
            checked += 1;
        }
        assert!(
            kinds.0 > 0 && kinds.1 > 0,
            "{id} needs positive and negative fixtures"
        );
    }
    println!("{checked} detector fixtures checked");
}
