//! The agent's configuration: TOML, unknown keys rejected, every default documented here, and
//! [`Config::validate`] turning it into checked values. A bad config stops the agent with a
//! message naming the key; `innerwarden check-config` prints the same message.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a configuration was refused. Every variant names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config is not valid TOML or has an unknown or mistyped key: {message}")]
    Parse { message: String },
    #[error("config key `{key}`: {problem}")]
    Invalid { key: &'static str, problem: String },
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub agent: AgentConfig,
    pub sensors: SensorsConfig,
    pub detectors: DetectorsConfig,
    pub storage: StorageConfig,
    pub audit: AuditConfig,
    pub response: crate::decide::config::ResponseConfig,
    pub notify: NotifyConfig,
    pub model: crate::model::config::ModelConfig,
}

/// Escalation notifications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// POST each escalation as JSON to this http(s) URL. Default: none.
    pub webhook_url: Option<String>,
    /// Per-request timeout in seconds. Default 5.
    pub timeout_secs: u64,
    /// Attempts per notification (with 1 s, 2 s, ... between). Default 3.
    pub attempts: u32,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            webhook_url: None,
            timeout_secs: 5,
            attempts: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// Where the SQLite database, the audit log, the node key and sensor positions live.
    /// Default `/var/lib/innerwarden`.
    pub state_dir: PathBuf,
    /// Capacity of the bulk event queue between the sensors and the pipeline. Default 65536.
    pub event_queue: usize,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            state_dir: PathBuf::from("/var/lib/innerwarden"),
            event_queue: 65_536,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SensorsConfig {
    pub ebpf: EbpfSensorConfig,
    pub journald: JournaldSensorConfig,
    pub authlog: AuthlogSensorConfig,
    pub inotify: InotifySensorConfig,
}

/// The inotify fallback for file events: watches `sensors.ebpf.watch_paths` and the homes under
/// `sensors.ebpf.home_paths` when the kernel sensor is unavailable (disabled, no object, or it
/// failed to start). Its events have source `inotify` and pid 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InotifySensorConfig {
    /// Run the fallback when the eBPF sensor is not running. Default true.
    pub enabled: bool,
    /// Directories watched at most (one inotify watch each). Default 8192.
    pub max_watches: usize,
}

impl Default for InotifySensorConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_watches: 8192,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EbpfSensorConfig {
    /// Load the kernel sensors. Default true.
    pub enabled: bool,
    /// Path prefixes whose opens for writing and file changes (unlink, rename, truncate,
    /// chmod, chown, link) are reported (at most 16, each under 64 bytes). The defaults cover
    /// the persistence locations: all of /etc (cron, systemd units, profile and bash.bashrc,
    /// ld.so.preload, sudoers, pam.d, update-motd.d, rc.local), root's crontabs, vendor unit
    /// directories, /usr/local binaries, root's .ssh and /boot.
    pub watch_paths: Vec<String>,
    /// Home directory roots (at most 16, each under 64 bytes): under them only the persistence
    /// files of a home are reported (`.ssh/`, shell rc files, `.config/systemd/user/`,
    /// `.config/autostart/`); the kernel matches the prefix and the agent filters the rest.
    pub home_paths: Vec<String>,
    /// Sensitive path prefixes whose read-only opens are reported as `file_read` (at most 64,
    /// each under 64 bytes). SSH public keys (`*.pub`) are dropped.
    pub read_paths: Vec<String>,
    /// Ring buffer size in bytes (a power of two, multiple of the page size). Default 8 MiB.
    pub ring_buffer_bytes: u32,
    /// BPF-LSM self-protection: deny ptrace of the agent and SIGKILL/SIGSTOP/SIGTERM to it
    /// from any process but PID 1 (systemd). Needs `bpf` in the kernel's active LSMs; where
    /// the kernel refuses it, `innerwarden status` says why. Default true.
    pub self_protect: bool,
}

impl Default for EbpfSensorConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            watch_paths: [
                "/etc/",
                "/root/.ssh/",
                "/var/spool/cron/",
                "/usr/lib/systemd/",
                "/lib/systemd/",
                "/usr/local/bin/",
                "/usr/local/sbin/",
                "/boot/",
            ]
            .map(String::from)
            .to_vec(),
            home_paths: ["/home/", "/root/"].map(String::from).to_vec(),
            read_paths: [
                "/etc/shadow",
                "/etc/gshadow",
                "/etc/security/opasswd",
                "/etc/ssh/ssh_host_",
                "/etc/krb5.keytab",
                "/root/.ssh/",
                "/root/.aws/",
                "/root/.docker/config.json",
                "/root/.kube/",
                "/root/.gnupg/",
                "/var/lib/sss/secrets/",
            ]
            .map(String::from)
            .to_vec(),
            ring_buffer_bytes: 8 << 20,
            self_protect: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JournaldSensorConfig {
    /// Read sshd, sudo, su and PAM messages from the journal. Default true; when journalctl is
    /// absent the agent reports it and relies on the auth.log tail.
    pub enabled: bool,
    /// The `journalctl` binary. Default `journalctl` (from PATH).
    pub journalctl: PathBuf,
    /// SYSLOG_IDENTIFIERs to follow.
    pub identifiers: Vec<String>,
}

impl Default for JournaldSensorConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            journalctl: PathBuf::from("journalctl"),
            identifiers: ["sshd", "sshd-session", "sudo", "su", "login", "passwd"]
                .map(String::from)
                .to_vec(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthlogSensorConfig {
    /// Tail text auth logs (for hosts without journald). Default false.
    pub enabled: bool,
    /// Files to tail. Default `/var/log/auth.log`.
    pub paths: Vec<PathBuf>,
    /// On a first start with no saved offset, read the existing content too. Default false
    /// (start at the end, so an old log does not raise stale incidents).
    pub from_beginning: bool,
}

impl Default for AuthlogSensorConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            paths: vec![PathBuf::from("/var/log/auth.log")],
            from_beginning: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorsConfig {
    /// `[detectors.correlation]`: sequences over time (agent/core/src/correlate).
    pub correlation: crate::correlate::CorrelationConfig,
    /// Detector and rule ids switched off (`innerwarden rules list` shows them all). An unknown
    /// id is refused. Default: none.
    pub disabled: Vec<String>,
    /// Rules as data: where local rule files live.
    pub rules: RulesConfig,
    pub ssh_bruteforce: SshBruteforceConfig,
    pub pipe_to_shell: PipeToShellConfig,
    pub exec_from_tmp: ExecFromTmpConfig,
    pub sigma: SigmaConfig,
    pub reverse_shell: ReverseShellConfig,
    /// Thresholds of the detectors without a section of their own (agent/core/src/detect/tuning.rs).
    pub auth_patterns: crate::detect::tuning::AuthPatternsConfig,
    pub discovery_burst: crate::detect::tuning::DiscoveryBurstConfig,
    pub mass_file_change: crate::detect::tuning::MassFileChangeConfig,
    pub ssh_outbound_burst: crate::detect::tuning::SshOutboundBurstConfig,
}

/// Native Sigma rules (`agent/core/src/sigma`). Off by default: third-party rules are chosen
/// by the operator, who also takes on their licence (attribution is kept in every finding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SigmaConfig {
    /// Load and run the rules. Default false. When true, an unreadable `dir` stops the agent;
    /// rules that cannot be honoured exactly are skipped and listed (`innerwarden sigma check`).
    pub enabled: bool,
    /// Directory searched recursively for `*.yml`/`*.yaml` rules. Default
    /// `/etc/innerwarden/sigma`.
    pub dir: PathBuf,
}

impl Default for SigmaConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            dir: PathBuf::from("/etc/innerwarden/sigma"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// Directory of local rule files (`*.toml`, same format as the shipped `rules/`): they add
    /// rules, or replace a shipped rule with the same id. A missing directory means none.
    /// Default `/etc/innerwarden/rules.d`.
    pub dir: PathBuf,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("/etc/innerwarden/rules.d"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SshBruteforceConfig {
    pub enabled: bool,
    /// Failures from one source within `window_secs` that make a finding. Default 5.
    pub threshold: u32,
    /// Sliding window in seconds. Default 60.
    pub window_secs: u64,
    /// At most this many sources are tracked at once; the stalest are forgotten. Default 100000.
    pub max_tracked_sources: usize,
}

impl Default for SshBruteforceConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            threshold: 5,
            window_secs: 60,
            max_tracked_sources: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipeToShellConfig {
    pub enabled: bool,
    /// A downloader and a stdin-reading shell started by the same parent within this many
    /// seconds are treated as one pipeline. Default 5.
    pub sibling_window_secs: u64,
}

impl Default for PipeToShellConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            sibling_window_secs: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecFromTmpConfig {
    pub enabled: bool,
    /// World-writable directories from which execution is suspicious.
    pub dirs: Vec<String>,
    /// Executables (exact paths) allowed to run from those directories anyway.
    pub allow: Vec<String>,
}

impl Default for ExecFromTmpConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dirs: ["/tmp", "/dev/shm", "/var/tmp", "/run/shm"]
                .map(String::from)
                .to_vec(),
            allow: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReverseShellConfig {
    pub enabled: bool,
    /// A command line shaped like a reverse shell waits this many seconds (event time) for the
    /// connect of its process or a child, so the finding names the peer. Default 2.
    pub connect_window_secs: u64,
}

impl Default for ReverseShellConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            connect_window_secs: 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Keep at most this many raw events in SQLite. Default 1000000.
    pub event_retention_rows: u64,
    /// Drop raw events older than this many days. Default 7.
    pub event_retention_days: u64,
    /// Findings on the same entity within this many seconds join one incident. Default 600.
    pub incident_window_secs: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            event_retention_rows: 1_000_000,
            event_retention_days: 7,
            incident_window_secs: 600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Write a signed checkpoint after this many records. Default 100.
    pub checkpoint_every_records: u64,
    /// ... or after this many seconds with new records, whichever comes first. Default 60.
    pub checkpoint_every_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_every_records: 100,
            checkpoint_every_secs: 60,
        }
    }
}

impl Config {
    /// Parse TOML text; unknown keys and wrong types are errors that name the key.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            message: e.to_string().trim().to_owned(),
        })
    }

    /// Parse and validate in one step.
    pub fn load_checked(text: &str) -> Result<Self, ConfigError> {
        let cfg = Self::from_toml(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every value that the types alone do not constrain.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn bad(key: &'static str, problem: impl Into<String>) -> Result<(), ConfigError> {
            Err(ConfigError::Invalid {
                key,
                problem: problem.into(),
            })
        }
        if !self.agent.state_dir.is_absolute() {
            return bad("agent.state_dir", "must be an absolute path");
        }
        if !(1..=60).contains(&self.detectors.reverse_shell.connect_window_secs) {
            return bad(
                "detectors.reverse_shell.connect_window_secs",
                "must be between 1 and 60",
            );
        }
        if self.agent.event_queue < 64 {
            return bad("agent.event_queue", "must be at least 64");
        }
        let e = &self.sensors.ebpf;
        for (key, list, max) in [
            ("sensors.ebpf.watch_paths", &e.watch_paths, 16),
            ("sensors.ebpf.home_paths", &e.home_paths, 16),
            ("sensors.ebpf.read_paths", &e.read_paths, 64),
        ] {
            if list.len() > max {
                return bad(key, format!("at most {max} prefixes"));
            }
            if let Some(p) = list.iter().find(|p| !p.starts_with('/') || p.len() >= 64) {
                return bad(
                    key,
                    format!("{p:?} must be absolute and shorter than 64 bytes"),
                );
            }
        }
        if self.sensors.inotify.max_watches == 0 {
            return bad("sensors.inotify.max_watches", "must be at least 1");
        }
        if !e.ring_buffer_bytes.is_power_of_two() || e.ring_buffer_bytes < 4096 {
            return bad(
                "sensors.ebpf.ring_buffer_bytes",
                "must be a power of two of at least 4096",
            );
        }
        if self.sensors.authlog.enabled && self.sensors.authlog.paths.is_empty() {
            return bad("sensors.authlog.paths", "enabled but no paths given");
        }
        if !self.detectors.rules.dir.is_absolute() {
            return bad("detectors.rules.dir", "must be an absolute path");
        }
        if let Some(id) = self
            .detectors
            .disabled
            .iter()
            .find(|id| !crate::rules::rule::valid_id(id))
        {
            return bad(
                "detectors.disabled",
                format!("{id:?} is not a detector or rule id"),
            );
        }
        let b = &self.detectors.ssh_bruteforce;
        if b.threshold == 0 {
            return bad("detectors.ssh_bruteforce.threshold", "must be at least 1");
        }
        if b.window_secs == 0 {
            return bad("detectors.ssh_bruteforce.window_secs", "must be at least 1");
        }
        if b.max_tracked_sources == 0 {
            return bad(
                "detectors.ssh_bruteforce.max_tracked_sources",
                "must be at least 1",
            );
        }
        if let Some(d) = self
            .detectors
            .exec_from_tmp
            .dirs
            .iter()
            .find(|d| !d.starts_with('/'))
        {
            return bad(
                "detectors.exec_from_tmp.dirs",
                format!("{d:?} is not absolute"),
            );
        }
        if self.detectors.sigma.enabled && !self.detectors.sigma.dir.is_absolute() {
            return bad("detectors.sigma.dir", "must be an absolute path");
        }
        let d = &self.detectors;
        if let Err((key, problem)) = crate::detect::tuning::validate(
            &d.auth_patterns,
            &d.discovery_burst,
            &d.mass_file_change,
            &d.ssh_outbound_burst,
        ) {
            return bad(key, problem);
        }
        if let Err((key, problem)) = self.detectors.correlation.validate() {
            return bad(key, problem);
        }
        if self.storage.incident_window_secs == 0 {
            return bad("storage.incident_window_secs", "must be at least 1");
        }
        if self.audit.checkpoint_every_records == 0 {
            return bad("audit.checkpoint_every_records", "must be at least 1");
        }
        if let Some(url) = &self.notify.webhook_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad(
                "notify.webhook_url",
                format!("{url:?} is not an http(s) URL"),
            );
        }
        if self.notify.timeout_secs == 0 || self.notify.attempts == 0 {
            return bad("notify", "timeout_secs and attempts must be at least 1");
        }
        if let Err((key, problem)) = self.response.validate() {
            return bad(key, problem);
        }
        if let Err((key, problem)) = self.model.validate() {
            return bad(key, problem);
        }
        Ok(())
    }
}

impl SshBruteforceConfig {
    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window_secs)
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
