//! Event kinds for the syscalls and kernel paths an attacker uses beyond exec, network and file
//! writes: credential changes, ptrace, fileless execution, namespace and mount changes, module
//! and BPF loads, signals, and file metadata changes (delete, rename, truncate, chmod).
//!
//! Each is produced by one kernel program (see `docs/kernel-sensor.md`) or, for file changes,
//! also by the inotify fallback. Every field a rule can match is a plain scalar or string.

use serde::{Deserialize, Serialize};

/// A watched sensitive file (shadow, private keys, credential stores) opened for reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRead {
    pub pid: u32,
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    pub path: String,
}

/// What happened to a file's name, size or mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileOp {
    Unlink,
    Rename,
    Truncate,
    Chmod,
    Chown,
    /// A hard or symbolic link was created at `path` pointing to `new_path`'s target.
    Link,
}

impl FileOp {
    pub fn as_str(self) -> &'static str {
        match self {
            FileOp::Unlink => "unlink",
            FileOp::Rename => "rename",
            FileOp::Truncate => "truncate",
            FileOp::Chmod => "chmod",
            FileOp::Chown => "chown",
            FileOp::Link => "link",
        }
    }
}

/// A change to a file other than writing its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileChange {
    /// 0 when the change was seen by inotify (no process attribution).
    pub pid: u32,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    pub op: FileOp,
    /// The file changed (for a rename, its old name; for a link, the new link).
    pub path: String,
    /// For a rename, the new name; for a link, the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_path: Option<String>,
    /// For chmod, the new mode bits (e.g. 0o4755 has the setuid bit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

/// A `ptrace` request against another process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ptrace {
    pub pid: u32,
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    /// The raw request (`PTRACE_ATTACH` = 16, `PTRACE_SEIZE` = 0x4206, `PTRACE_POKETEXT` = 4, ...).
    pub request: u32,
    pub target_pid: u32,
}

/// A successful or attempted change of credentials (setuid family, capset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredChange {
    pub pid: u32,
    /// The real uid before the call.
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    /// `setuid`, `setreuid`, `setresuid`, `setfsuid`, `setgid`, `setregid`, `setresgid`,
    /// `capset`.
    pub syscall: String,
    /// The uid asked for (the effective one for the two- and three-argument forms), when the
    /// call sets a uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_gid: Option<u32>,
}

/// `memfd_create`: an anonymous in-memory file, the usual first step of fileless execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemfdCreate {
    pub pid: u32,
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    pub name: String,
    #[serde(default)]
    pub flags: u32,
}

/// `dup2`/`dup3` onto standard input, output or error (0, 1, 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FdDup {
    pub pid: u32,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    pub oldfd: u32,
    pub newfd: u32,
    /// Whether `oldfd` is a socket, as the agent found it in /proc right after the event (None:
    /// the process was gone or the check was not made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<bool>,
}

/// `mprotect` or `mmap` asking for executable memory that is anonymous or writable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemExec {
    pub pid: u32,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    /// `mprotect` or `mmap`.
    pub syscall: String,
    /// `PROT_*` bits asked for.
    pub prot: u32,
    /// True when the mapping has no file behind it (`MAP_ANONYMOUS`, or mprotect of any region:
    /// the kernel side cannot tell, so it is true for mprotect with `PROT_WRITE|PROT_EXEC`).
    #[serde(default)]
    pub anonymous: bool,
}

/// `mount(2)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    pub pid: u32,
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    /// What is mounted (a device, a directory for a bind mount, or a name like `proc`). Named
    /// `device`, not `source`: the event's own `source` (the sensor) shares the flat object.
    #[serde(default)]
    pub device: String,
    pub target: String,
    #[serde(default)]
    pub fstype: String,
    #[serde(default)]
    pub flags: u64,
}

/// `unshare(2)` or `setns(2)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Namespace {
    pub pid: u32,
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    /// `unshare` or `setns`.
    pub syscall: String,
    /// `CLONE_NEW*` flags (for setns, the nstype argument).
    pub flags: u64,
}

/// A `bpf(BPF_PROG_LOAD)` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BpfLoad {
    pub pid: u32,
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    /// `bpf_prog_type` number.
    pub prog_type: u32,
}

/// A signal sent to another process (`kill`, `tkill`, `tgkill`, `pidfd_send_signal`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    pub pid: u32,
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    /// The target as passed (negative values address process groups).
    pub target_pid: i32,
    pub sig: u32,
}

/// A kernel module was loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleLoad {
    /// The process in whose context the load ran (0 when unknown).
    #[serde(default)]
    pub pid: u32,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    pub name: String,
}

/// One journal entry as a log line: the program that wrote it and its text. Only produced when
/// a loaded rule reads log lines (Sigma keyword rules), and never for the agent's own lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLine {
    /// `SYSLOG_IDENTIFIER` (or the program name of a syslog line): `sshd`, `CRON`, `kernel`.
    pub service: String,
    #[serde(default)]
    pub pid: Option<u32>,
    /// Syslog facility (`SYSLOG_FACILITY`; 4 auth, 10 authpriv), when the entry has one.
    #[serde(default)]
    pub facility: Option<u8>,
    pub message: String,
}
