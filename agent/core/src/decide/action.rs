//! Actions: what a decision may do to the host. Each is typed, has a TTL where it can be undone,
//! and names its reversal, so dry-run records, the TTL ledger and `innerwarden unblock` all speak
//! about the same thing.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The kinds of action, for per-kind enforcement switches and budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Drop all traffic from an address or prefix (nft timeout set element).
    Block,
    /// Rate-limit new connections from an address (soft tier).
    RateLimit,
    /// Kill a process (pidfd, checked start time), optionally its tree.
    Kill,
    /// Freeze / cut the network of / stop a systemd unit.
    Quarantine,
    /// Lower a unit's CPU and task limits (soft tier).
    Throttle,
    /// Deny exec of a file, or of fileless images by one user (BPF-LSM).
    DenyExec,
}

impl ActionKind {
    pub const ALL: [ActionKind; 6] = [
        ActionKind::Block,
        ActionKind::RateLimit,
        ActionKind::Kill,
        ActionKind::Quarantine,
        ActionKind::Throttle,
        ActionKind::DenyExec,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Block => "block",
            ActionKind::RateLimit => "rate_limit",
            ActionKind::Kill => "kill",
            ActionKind::Quarantine => "quarantine",
            ActionKind::Throttle => "throttle",
            ActionKind::DenyExec => "deny_exec",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How [`Action::DenyFileless`] names its target (`fileless-uid:33`), in the ledger and for
/// `innerwarden allow-exec`.
pub const FILELESS_PREFIX: &str = "fileless-uid:";

/// What an exec'd image path names, for an exec deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecImage<'a> {
    /// An absolute path on a file system: its inode can be denied.
    OnDisk(&'a str),
    /// No file to name: a memfd, a descriptor (`/dev/fd/N`, `/proc/self/fd/N`), another
    /// `/proc` magic link, a deleted file. A `/proc` path must never be resolved by the agent
    /// (`/proc/self` would be the agent itself).
    Fileless,
    /// Empty or relative (`./x`): the exec'ing process's directory is not known here.
    Unknown,
}

impl<'a> ExecImage<'a> {
    pub fn of(exe: &'a str) -> ExecImage<'a> {
        if exe.starts_with("/proc/")
            || exe.starts_with("/dev/fd/")
            || exe.contains("memfd:")
            || exe.ends_with(" (deleted)")
        {
            ExecImage::Fileless
        } else if exe.starts_with('/') {
            ExecImage::OnDisk(exe)
        } else {
            ExecImage::Unknown
        }
    }
}

/// How a unit is quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineMode {
    /// Freeze the unit's cgroup (thaw to undo).
    Freeze,
    /// Runtime `IPAddressDeny=any` (restore the previous properties to undo).
    CutNetwork,
    /// Stop the unit (start it to undo).
    Stop,
}

/// One action with its target and lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Block {
        addr: IpAddr,
        /// Prefix length (32/128 for one address).
        prefix: u8,
        ttl_secs: u64,
    },
    RateLimit {
        addr: IpAddr,
        per_minute: u32,
        ttl_secs: u64,
    },
    Kill {
        pid: u32,
        /// Start time of the process the decision is about; a recycled pid never matches.
        start_ns: u64,
        exe: String,
        tree: bool,
    },
    Quarantine {
        unit: String,
        mode: QuarantineMode,
        ttl_secs: u64,
    },
    Throttle {
        unit: String,
        cpu_percent: u32,
        ttl_secs: u64,
    },
    DenyExec {
        path: String,
        ttl_secs: u64,
    },
    /// Deny exec of fileless images (memfd, a deleted or O_TMPFILE file: no link on any file
    /// system) by one user: the payload of a fileless execution has no path to deny, and a
    /// new memfd is a new inode, so the deny names who may no longer run such images.
    DenyFileless {
        uid: u32,
        ttl_secs: u64,
    },
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Block { .. } => ActionKind::Block,
            Action::RateLimit { .. } => ActionKind::RateLimit,
            Action::Kill { .. } => ActionKind::Kill,
            Action::Quarantine { .. } => ActionKind::Quarantine,
            Action::Throttle { .. } => ActionKind::Throttle,
            Action::DenyExec { .. } | Action::DenyFileless { .. } => ActionKind::DenyExec,
        }
    }

    /// Seconds until the action undoes itself; `None` for a kill, which cannot be undone.
    pub fn ttl_secs(&self) -> Option<u64> {
        match self {
            Action::Block { ttl_secs, .. }
            | Action::RateLimit { ttl_secs, .. }
            | Action::Quarantine { ttl_secs, .. }
            | Action::Throttle { ttl_secs, .. }
            | Action::DenyExec { ttl_secs, .. }
            | Action::DenyFileless { ttl_secs, .. } => Some(*ttl_secs),
            Action::Kill { .. } => None,
        }
    }

    /// A stable target string (ledger key, CLI argument).
    pub fn target(&self) -> String {
        match self {
            Action::Block { addr, prefix, .. } => format!("{addr}/{prefix}"),
            Action::RateLimit { addr, .. } => addr.to_string(),
            Action::Kill { pid, exe, .. } => format!("{pid}:{exe}"),
            Action::Quarantine { unit, .. } | Action::Throttle { unit, .. } => unit.clone(),
            Action::DenyExec { path, .. } => path.clone(),
            Action::DenyFileless { uid, .. } => format!("{FILELESS_PREFIX}{uid}"),
        }
    }

    /// What undoes it, in words an operator can act on (also written in the audit record).
    pub fn reversal(&self) -> String {
        match self {
            Action::Block { .. } => format!(
                "expires by itself (kernel set timeout); now: innerwarden unblock {}",
                self.target()
            ),
            Action::RateLimit { addr, .. } => {
                format!("expires by itself; now: innerwarden unblock {addr}")
            }
            Action::Kill { .. } => "irreversible; the unit's restart policy applies".to_owned(),
            Action::Quarantine { unit, mode, .. } => match mode {
                QuarantineMode::Freeze => format!("thawed at TTL; now: innerwarden release {unit}"),
                QuarantineMode::CutNetwork => {
                    format!("network restored at TTL; now: innerwarden release {unit}")
                }
                QuarantineMode::Stop => {
                    format!("started again at TTL; now: innerwarden release {unit}")
                }
            },
            Action::Throttle { unit, .. } => {
                format!("limits restored at TTL; now: innerwarden release {unit}")
            }
            Action::DenyExec { .. } | Action::DenyFileless { .. } => format!(
                "deny lifted at TTL (kernel-enforced expiry); now: innerwarden allow-exec {}",
                self.target()
            ),
        }
    }
}
