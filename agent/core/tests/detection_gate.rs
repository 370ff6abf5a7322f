//! The detection gate (README: "Detection gate"): the whole engine with the default
//! configuration — detectors, rules and correlation — over
//! - Atomic Red Team's Linux tests (`../shared/research/data/dev/atomic-red-team`), each
//!   converted to the exec/file-write stream an SSH operator running it would cause
//!   (`innerwarden_core::qa::atomic`, which documents what is and is not synthesised);
//!   detection = at least one finding; reported per area of the extract and per ATT&CK tactic;
//! - the benign corpora in tests/fixtures/benign/ (package installs, compiles, cron and log
//!   rotation, admin SSH work, backups, rootless containers): every finding is a false positive.
//!
//! Fails when detection in an area drops below, or false positives in a corpus rise above, the
//! thresholds below (the same table is in the README). Skips the ART part, saying so, when the
//! dataset is absent; the benign part always runs.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use innerwarden_core::attack;
use innerwarden_core::config::DetectorsConfig;
use innerwarden_core::qa::{atomic, gate};

/// Minimum detected tests per area of the extract (of the converted ones): what the engine
/// reaches with every detector, rule and correlation rule merged (issue 5, session 2). A rule
/// change that loses a detection fails here; raise the numbers when coverage grows.
const MIN_DETECTED: &[(&str, usize)] = &[
    ("cred_access", 15),
    ("defense_evasion", 32),
    ("discovery_collection_other", 15),
    ("download_exec", 5),
    ("execution", 10),
    ("exfil_c2", 9),
    ("impact", 12),
    ("kernel_module", 3),
    ("log_tampering", 21),
    ("persist_authorized_keys", 1),
    ("persist_cron", 2),
    ("persist_shell_init", 5),
    ("persist_systemd", 8),
    ("privesc", 7),
    ("ssh_bruteforce", 1),
];
/// Minimum detected over all converted tests (145 of 209 when set).
const MIN_TOTAL_DETECTED: usize = 146;
/// Maximum findings per benign corpus (a corpus not listed allows none). The two allowed are
/// known and named: admin-ssh `systemctl_enable_unit` (low, audit-only: an admin enabling a
/// service looks like persistence) and containers `unshare_user_namespace` (rootless crun).
const MAX_FALSE_POSITIVES: &[(&str, usize)] = &[("admin-ssh", 1), ("containers", 1)];

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/research/data/dev"
    ))
}

fn print_rows(title: &str, rows: &BTreeMap<String, gate::AreaRow>) {
    println!(
        "{title:<28} {:>5} {:>8} {:>6}  top detectors",
        "tests", "detected", "rate"
    );
    for (k, r) in rows {
        let mut top: Vec<(&String, &usize)> = r.by_detector.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = top
            .iter()
            .take(4)
            .map(|(d, n)| format!("{d}×{n}"))
            .collect();
        println!(
            "{k:<28} {:>5} {:>8} {:>5.0}%  {}",
            r.tests,
            r.detected,
            r.rate() * 100.0,
            top.join(", ")
        );
    }
}

#[test]
fn atomic_red_team_detection_per_area() {
    let path = data_dir().join("atomic-red-team/art_linux_tests_dev.json");
    let Ok(text) = fs::read_to_string(&path) else {
        println!("skipped: {} not found", path.display());
        return;
    };
    let tests = atomic::load(&text).expect("the ART extract parses");
    let t0 = DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z")
        .expect("literal")
        .to_utc();
    let rep = gate::run_atomic(&tests, &DetectorsConfig::default(), t0);
    println!("Atomic Red Team ({} tests in the extract)", tests.len());
    for (why, n) in &rep.excluded {
        println!("  not converted: {n} ({why})");
    }
    print_rows("area", &rep.areas);
    let by_tactic = rep.regroup(|o| match attack::tactics(&o.technique) {
        Some(ts) => ts.iter().map(|t| t.as_str().to_owned()).collect(),
        None => vec!["(technique not in attack.rs)".to_owned()],
    });
    print_rows("ATT&CK tactic", &by_tactic);
    let total = rep.total();
    println!(
        "total: {}/{} converted tests detected ({:.0}%)",
        total.detected,
        total.tests,
        total.rate() * 100.0
    );
    for o in rep.outcomes.iter().filter(|o| !o.detectors.is_empty()) {
        println!(
            "  detected {} {} [{}]: {}",
            o.technique,
            o.name,
            o.area,
            o.detectors.join(", ")
        );
    }
    for o in rep.outcomes.iter().filter(|o| o.detectors.is_empty()) {
        println!("  missed {} {} [{}]", o.technique, o.name, o.area);
    }
    let mut below = Vec::new();
    for (area, min) in MIN_DETECTED {
        let got = rep.areas.get(*area).map_or(0, |r| r.detected);
        if got < *min {
            below.push(format!("{area}: {got} detected, gate is {min}"));
        }
    }
    if total.detected < MIN_TOTAL_DETECTED {
        below.push(format!(
            "total: {} detected, gate is {MIN_TOTAL_DETECTED}",
            total.detected
        ));
    }
    assert!(
        below.is_empty(),
        "detection below the gate:\n{}",
        below.join("\n")
    );
}

#[test]
fn benign_corpora_false_positives() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/benign");
    let mut names: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("benign corpora")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "benign corpora present");
    let mut over = Vec::new();
    println!("{:<20} {:>6} {:>6}", "corpus", "events", "FPs");
    for p in &names {
        let name = p
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        let text = fs::read_to_string(p).expect("readable");
        let rep = gate::run_corpus(&text, &DetectorsConfig::default())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        println!("{name:<20} {:>6} {:>6}", rep.events, rep.findings.len());
        for f in &rep.findings {
            println!("  FP {} [{}]: {}", f.detector, f.severity, f.summary);
        }
        let max = MAX_FALSE_POSITIVES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, m)| *m);
        if rep.findings.len() > max {
            over.push(format!(
                "{name}: {} false positives, gate is {max}",
                rep.findings.len()
            ));
        }
    }
    assert!(
        over.is_empty(),
        "false positives above the gate:\n{}",
        over.join("\n")
    );
}
