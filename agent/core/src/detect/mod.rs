//! Detectors: each turns events (with the shared process table) into findings.
//!
//! A detector never parses raw bytes, log text or /proc: it reads typed [`Event`]s and the
//! [`ProcessTable`]. Stateful detectors keep bounded state keyed by entity and use event time,
//! not wall time, so replaying a file gives the same findings as living through it.

use crate::config::DetectorsConfig;
use crate::event::Event;
use crate::finding::Finding;
use crate::proctable::ProcessTable;

pub mod argv0_masquerade;
pub mod auth_patterns;
pub mod bench;
pub mod discovery_burst;
pub mod exec_from_tmp;
pub mod mass_file_change;
pub mod pipe_to_shell;
pub mod reverse_shell;
pub mod rules;
pub mod shell;
pub mod ssh_bruteforce;
pub mod ssh_outbound_burst;
pub mod tuning;
pub mod window;

/// One detector.
pub trait Detector: Send {
    /// Stable id, used in findings, configuration and fixtures (`ssh_bruteforce`).
    fn id(&self) -> &'static str;
    /// Inspect one event; push any findings to `out`.
    fn on_event(&mut self, ev: &Event, procs: &ProcessTable, out: &mut Vec<Finding>);
    /// The log lines this detector reads (`log_line` events); none by default.
    fn log_want(&self) -> crate::sigma::LogWant {
        crate::sigma::LogWant::default()
    }
}

/// The code detectors switched on in `cfg` (not in `disabled`, and `enabled` where the detector
/// has its own section), in a fixed order. Rules as data are added by the engine.
pub fn build(cfg: &DetectorsConfig) -> Vec<Box<dyn Detector>> {
    let mut v: Vec<Box<dyn Detector>> = Vec::new();
    if cfg.ssh_bruteforce.enabled {
        v.push(Box::new(ssh_bruteforce::SshBruteforce::new(
            cfg.ssh_bruteforce.clone(),
        )));
    }
    if cfg.pipe_to_shell.enabled {
        v.push(Box::new(pipe_to_shell::PipeToShell::new(
            cfg.pipe_to_shell.clone(),
        )));
    }
    if cfg.exec_from_tmp.enabled {
        v.push(Box::new(exec_from_tmp::ExecFromTmp::new(
            cfg.exec_from_tmp.clone(),
        )));
    }
    let auth = &cfg.auth_patterns;
    v.push(Box::new(auth_patterns::DistributedBruteforce::new(auth)));
    v.push(Box::new(auth_patterns::SlowBruteforce::new(auth)));
    v.push(Box::new(auth_patterns::CredentialStuffing::new(auth)));
    v.push(Box::new(auth_patterns::SuccessAfterFailures::new(auth)));
    v.push(Box::new(discovery_burst::DiscoveryBurst::new(
        cfg.discovery_burst.clone(),
    )));
    let mass = &cfg.mass_file_change;
    v.push(Box::new(mass_file_change::MassFileChange::deletion(mass)));
    v.push(Box::new(mass_file_change::MassFileChange::rename(mass)));
    v.push(Box::new(ssh_outbound_burst::SshOutboundBurst::new(
        cfg.ssh_outbound_burst.clone(),
    )));
    v.push(Box::new(argv0_masquerade::Argv0Masquerade));
    if cfg.reverse_shell.enabled {
        v.push(Box::new(reverse_shell::ReverseShell::new(
            cfg.reverse_shell.clone(),
        )));
    }
    v.retain(|d| !cfg.disabled.iter().any(|id| id == d.id()));
    v
}

/// A code detector's catalogue entry (`innerwarden rules list` shows these next to the rules).
#[derive(Debug, Clone, Copy)]
pub struct DetectorInfo {
    pub id: &'static str,
    /// The technique of its usual finding (some detectors name a second one in special cases).
    pub technique: &'static str,
    pub severity: crate::finding::Severity,
    pub title: &'static str,
}

const fn info(
    id: &'static str,
    technique: &'static str,
    severity: crate::finding::Severity,
    title: &'static str,
) -> DetectorInfo {
    DetectorInfo {
        id,
        technique,
        severity,
        title,
    }
}

use crate::finding::Severity::{Critical, High, Medium};

/// Every code detector this build has, in [`build`] order.
pub const CATALOG: &[DetectorInfo] = &[
    info(
        "ssh_bruteforce",
        "T1110.001",
        High,
        "SSH/PAM password guessing burst from one source",
    ),
    info(
        "pipe_to_shell",
        "T1059.004",
        High,
        "Downloaded script piped into a shell",
    ),
    info(
        "exec_from_tmp",
        "T1059",
        Medium,
        "Execution from a world-writable directory or memory",
    ),
    info(
        "distributed_bruteforce",
        "T1110.001",
        High,
        "Many sources failing against one account",
    ),
    info(
        "slow_bruteforce",
        "T1110.001",
        Medium,
        "Low-rate password guessing over an hour",
    ),
    info(
        "credential_stuffing",
        "T1110.004",
        High,
        "One source trying many accounts",
    ),
    info(
        "success_after_failures",
        "T1078",
        Critical,
        "Login success right after many failures",
    ),
    info(
        "discovery_burst",
        "T1082",
        Medium,
        "Many discovery commands in one session",
    ),
    info(
        "mass_file_deletion",
        "T1485",
        Critical,
        "One process deleting many files (wiper)",
    ),
    info(
        "mass_file_rename",
        "T1486",
        Critical,
        "One process renaming many files to a new extension (ransomware)",
    ),
    info(
        "ssh_outbound_burst",
        "T1021.004",
        High,
        "SSH connections to many hosts from one parent",
    ),
    info(
        "argv0_masquerade",
        "T1036",
        High,
        "Program started under a daemon's or kernel thread's name",
    ),
    info(
        "reverse_shell",
        "T1059.004",
        Critical,
        "Shell or interpreter wired to a network connection",
    ),
];

/// Every code detector id this build knows, for `check-config` and fixtures.
pub const ALL: &[&str] = &[
    "ssh_bruteforce",
    "pipe_to_shell",
    "exec_from_tmp",
    "distributed_bruteforce",
    "slow_bruteforce",
    "credential_stuffing",
    "success_after_failures",
    "discovery_burst",
    "mass_file_deletion",
    "mass_file_rename",
    "ssh_outbound_burst",
    "argv0_masquerade",
    "reverse_shell",
];

/// Evidence form of an event (the JSONL contract object).
pub(crate) fn evidence(ev: &Event) -> serde_json::Value {
    // Serializing our own plain data types cannot fail (no maps with non-string keys).
    serde_json::to_value(ev).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_build_and_names_known_techniques() {
        let ids: Vec<&str> = CATALOG.iter().map(|d| d.id).collect();
        assert_eq!(ids, ALL, "CATALOG and ALL list the same detectors in order");
        let built: Vec<&str> = build(&DetectorsConfig::default())
            .iter()
            .map(|d| d.id())
            .collect();
        assert_eq!(built, ALL, "build() makes every detector by default");
        for d in CATALOG {
            assert!(
                crate::attack::tactics(d.technique).is_some(),
                "{} names unknown technique {}",
                d.id,
                d.technique
            );
        }
        let cfg = DetectorsConfig {
            disabled: vec!["slow_bruteforce".into(), "pipe_to_shell".into()],
            ..DetectorsConfig::default()
        };
        let built: Vec<&str> = build(&cfg).iter().map(|d| d.id()).collect();
        assert_eq!(built.len(), ALL.len() - 2);
        assert!(!built.contains(&"slow_bruteforce"));
    }
}
