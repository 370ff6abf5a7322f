//! Findings (one detector's conclusion about one entity) and the incidents that group them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::Host;

/// How bad a finding is if it is true. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The lowercase name, as in JSON and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about: the thing a response would act on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entity {
    /// A remote host (brute force source, C2 destination).
    Host { host: Host },
    /// A process, identified by pid and its start time (boot-relative ns) so a recycled pid is
    /// never confused with it.
    Process {
        pid: u32,
        start_ns: u64,
        exe: String,
    },
    /// A local user account.
    User { name: String },
}

impl Entity {
    /// A stable key used to group findings into incidents.
    pub fn key(&self) -> String {
        match self {
            Entity::Host { host } => format!("host:{host}"),
            Entity::Process { pid, start_ns, .. } => format!("proc:{pid}:{start_ns}"),
            Entity::User { name } => format!("user:{name}"),
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entity::Host { host } => write!(f, "host {host}"),
            Entity::Process { pid, exe, .. } => write!(f, "pid {pid} ({exe})"),
            Entity::User { name } => write!(f, "user {name}"),
        }
    }
}

/// One detector's conclusion about one entity, with the evidence that led to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// When the detector concluded (the time of the last event of the evidence).
    pub ts: DateTime<Utc>,
    /// Stable detector id, e.g. `ssh_bruteforce`.
    pub detector: String,
    /// MITRE ATT&CK technique id, e.g. `T1110.001`.
    pub technique: String,
    pub severity: Severity,
    pub entity: Entity,
    /// One line for humans.
    pub summary: String,
    /// The events (as JSON objects of the event contract) that support the finding; bounded
    /// by the detector.
    pub evidence: Vec<serde_json::Value>,
    /// Who wrote the rule that fired, for third-party rules whose licence asks for attribution
    /// (Sigma). None for the project's own detectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// For a correlation finding, how many stages of its sequence matched (1-based); None for
    /// single-event detectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<u32>,
}
