//! The thresholds of the stateful code detectors that have no section of their own:
//! `[detectors.auth_patterns]`, `[detectors.discovery_burst]`, `[detectors.mass_file_change]`
//! and `[detectors.ssh_outbound_burst]`. The defaults are the values the fixtures and the
//! detection gate were measured with; raising one makes its detector quieter and slower to
//! fire, lowering it the opposite.

use serde::{Deserialize, Serialize};

/// `distributed_bruteforce`, `slow_bruteforce`, `credential_stuffing`,
/// `success_after_failures`. Their windows are fixed: 10 minutes, and an hour for the slow one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthPatternsConfig {
    /// Distinct sources failing against one account within 10 minutes. Default 8.
    pub distributed_sources: usize,
    /// Distinct account names one source tries within 10 minutes. Default 8.
    pub stuffing_users: usize,
    /// Failures from one source within an hour that make a slow brute force. Default 20.
    pub slow_failures: usize,
    /// ... provided the source never failed this often within a minute (a fast burst is
    /// `ssh_bruteforce`'s). Default 5.
    pub slow_max_per_minute: usize,
    /// Failures from a source within 10 minutes before a success that make the success
    /// suspect. Default 5.
    pub success_after: usize,
}

impl Default for AuthPatternsConfig {
    fn default() -> Self {
        Self {
            distributed_sources: 8,
            stuffing_users: 8,
            slow_failures: 20,
            slow_max_per_minute: 5,
            success_after: 5,
        }
    }
}

/// `discovery_burst`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoveryBurstConfig {
    /// Distinct discovery commands from one session within `window_secs`. Default 6.
    pub threshold: usize,
    /// ... of which at least this many are about identity and rights (`id`, `sudo -l`,
    /// `cat /etc/passwd`, `w`): what separates an intruder's first minute from a health check.
    /// Default 2.
    pub min_identity: usize,
    /// Default 120.
    pub window_secs: u64,
}

impl Default for DiscoveryBurstConfig {
    fn default() -> Self {
        Self {
            threshold: 6,
            min_identity: 2,
            window_secs: 120,
        }
    }
}

/// `mass_file_deletion` and `mass_file_rename`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MassFileChangeConfig {
    /// Files one process deletes within `window_secs`. Default 100.
    pub delete_threshold: usize,
    /// ... spread over at least this many directories. Default 3.
    pub min_dirs: usize,
    /// Files one process renames to a new extension within `window_secs`. Default 20.
    pub rename_threshold: usize,
    /// Default 30.
    pub window_secs: u64,
}

impl Default for MassFileChangeConfig {
    fn default() -> Self {
        Self {
            delete_threshold: 100,
            min_dirs: 3,
            rename_threshold: 20,
            window_secs: 30,
        }
    }
}

/// `ssh_outbound_burst`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SshOutboundBurstConfig {
    /// Distinct destinations on port 22 from one parent within `window_secs`. Default 5.
    pub threshold: usize,
    /// Default 60.
    pub window_secs: u64,
}

impl Default for SshOutboundBurstConfig {
    fn default() -> Self {
        Self {
            threshold: 5,
            window_secs: 60,
        }
    }
}

/// The longest window a threshold may be counted over: a day.
const MAX_WINDOW_SECS: u64 = 86_400;

/// Check every threshold; `Err((config key, problem))` for the first bad one.
pub fn validate(
    auth: &AuthPatternsConfig,
    discovery: &DiscoveryBurstConfig,
    mass: &MassFileChangeConfig,
    ssh_out: &SshOutboundBurstConfig,
) -> Result<(), (&'static str, String)> {
    let at_least_1: [(&'static str, usize); 9] = [
        (
            "detectors.auth_patterns.distributed_sources",
            auth.distributed_sources,
        ),
        (
            "detectors.auth_patterns.stuffing_users",
            auth.stuffing_users,
        ),
        ("detectors.auth_patterns.slow_failures", auth.slow_failures),
        (
            "detectors.auth_patterns.slow_max_per_minute",
            auth.slow_max_per_minute,
        ),
        ("detectors.auth_patterns.success_after", auth.success_after),
        ("detectors.discovery_burst.threshold", discovery.threshold),
        (
            "detectors.mass_file_change.delete_threshold",
            mass.delete_threshold,
        ),
        (
            "detectors.mass_file_change.rename_threshold",
            mass.rename_threshold,
        ),
        ("detectors.ssh_outbound_burst.threshold", ssh_out.threshold),
    ];
    for (key, v) in at_least_1 {
        if v == 0 {
            return Err((key, "must be at least 1".into()));
        }
    }
    // A part of a threshold may not exceed it: the detector could never fire.
    for (key, part, whole_key, whole) in [
        (
            "detectors.discovery_burst.min_identity",
            discovery.min_identity,
            "discovery_burst.threshold",
            discovery.threshold,
        ),
        (
            "detectors.mass_file_change.min_dirs",
            mass.min_dirs,
            "mass_file_change.delete_threshold",
            mass.delete_threshold,
        ),
    ] {
        if part > whole {
            return Err((
                key,
                format!("{part} is more than {whole_key} ({whole}): the detector could never fire"),
            ));
        }
    }
    for (key, w) in [
        (
            "detectors.discovery_burst.window_secs",
            discovery.window_secs,
        ),
        ("detectors.mass_file_change.window_secs", mass.window_secs),
        (
            "detectors.ssh_outbound_burst.window_secs",
            ssh_out.window_secs,
        ),
    ] {
        if !(1..=MAX_WINDOW_SECS).contains(&w) {
            return Err((key, format!("must be between 1 and {MAX_WINDOW_SECS}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::detect::bench::exec_ev;
    use crate::event::Event;
    use crate::proctable::ProcessTable;

    fn exec(pid: u32, ppid: u32, file: &str, argv: &[&str], sec: i64) -> Event {
        let ts = chrono::DateTime::from_timestamp(1_790_000_000 + sec, 0).expect("ts");
        exec_ev(ts, pid, ppid, file, argv, 0)
    }

    /// Findings of the discovery burst for an sshd session running id, whoami and uname.
    fn discovery_findings(config: &str) -> usize {
        let cfg = Config::load_checked(config).expect("valid config");
        let mut dets = crate::detect::build(&cfg.detectors);
        let mut procs = ProcessTable::default();
        let mut out = Vec::new();
        let evs = [
            exec(100, 1, "/usr/sbin/sshd", &["sshd: root@pts/0"], 0),
            exec(101, 100, "/usr/bin/bash", &["-bash"], 1),
            exec(102, 101, "/usr/bin/id", &["id"], 2),
            exec(103, 101, "/usr/bin/whoami", &["whoami"], 3),
            exec(104, 101, "/usr/bin/uname", &["uname", "-a"], 4),
        ];
        for ev in &evs {
            procs.apply_before_detect(ev);
            for d in dets.iter_mut() {
                d.on_event(ev, &procs, &mut out);
            }
        }
        out.iter()
            .filter(|f| f.detector == "discovery_burst")
            .count()
    }

    #[test]
    fn a_configured_threshold_changes_what_fires() {
        assert_eq!(
            discovery_findings(""),
            0,
            "three commands are under the default six"
        );
        let lowered = "[detectors.discovery_burst]\nthreshold = 3\n";
        assert_eq!(discovery_findings(lowered), 1);
    }

    fn check(
        auth: AuthPatternsConfig,
        discovery: DiscoveryBurstConfig,
        mass: MassFileChangeConfig,
    ) -> Result<(), (&'static str, String)> {
        validate(&auth, &discovery, &mass, &SshOutboundBurstConfig::default())
    }

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        let d = || {
            (
                AuthPatternsConfig::default(),
                DiscoveryBurstConfig::default(),
                MassFileChangeConfig::default(),
            )
        };
        let (a, b, c) = d();
        assert_eq!(check(a, b, c), Ok(()));
        let (mut a, b, c) = d();
        a.success_after = 0;
        assert_eq!(
            check(a, b, c).unwrap_err().0,
            "detectors.auth_patterns.success_after"
        );
        let (a, mut b, c) = d();
        b.min_identity = 7;
        assert_eq!(
            check(a, b, c).unwrap_err().0,
            "detectors.discovery_burst.min_identity"
        );
        let (a, b, mut c) = d();
        c.window_secs = 0;
        assert_eq!(
            check(a, b, c).unwrap_err().0,
            "detectors.mass_file_change.window_secs"
        );
    }
}
