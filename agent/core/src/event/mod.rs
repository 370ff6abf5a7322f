//! The typed event and its JSONL contract.
//!
//! Every sensor (eBPF ring buffer, journald, auth.log tail) produces [`Event`]s through exactly one
//! decoder each. The serialized form is one JSON object per line, flat, with stable snake_case
//! field names and a schema version `v`:
//!
//! ```json
//! {"v":1,"ts":"2026-11-22T04:53:40.123Z","source":"ebpf","kind":"exec","pid":42,...}
//! ```
//!
//! Adding a kind or an optional field keeps `v`; renaming or removing one bumps it.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod sys;
pub use sys::{
    BpfLoad, CredChange, FdDup, FileChange, FileOp, FileRead, LogLine, MemExec, MemfdCreate,
    ModuleLoad, Mount, Namespace, Ptrace, Signal,
};

/// Version of the JSONL event contract written in every record's `v` field.
pub const SCHEMA_VERSION: u32 = 1;

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

/// One observation from one sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Contract version; absent means the current one.
    #[serde(default = "schema_version")]
    pub v: u32,
    /// Wall-clock time of the observation (UTC).
    pub ts: DateTime<Utc>,
    /// Which sensor produced it.
    pub source: Source,
    /// What was observed.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    pub fn new(ts: DateTime<Utc>, source: Source, kind: EventKind) -> Self {
        Self {
            v: SCHEMA_VERSION,
            ts,
            source,
            kind,
        }
    }

    /// The remote host of a failed authentication, if this event is one. This is the one
    /// definition of "failed auth" used by the brute-force detector and by replay-qa.
    pub fn failed_auth_host(&self) -> Option<&Host> {
        match &self.kind {
            EventKind::AuthFailure(f) => f.src.as_ref(),
            _ => None,
        }
    }
}

/// The sensor an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The kernel, through the eBPF ring buffer.
    Ebpf,
    /// The systemd journal.
    Journald,
    /// A tailed text log such as /var/log/auth.log.
    Authlog,
    /// The agent itself (loss accounting, sensor status).
    Agent,
    /// The inotify fallback for file events where eBPF is unavailable.
    Inotify,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Ebpf => "ebpf",
            Source::Journald => "journald",
            Source::Authlog => "authlog",
            Source::Agent => "agent",
            Source::Inotify => "inotify",
        })
    }
}

/// What was observed. Serialized with the tag `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// A process image was replaced by `execve`/`execveat`.
    Exec(Exec),
    /// A new task (process) was created.
    Fork(Fork),
    /// A process exited.
    Exit(Exit),
    /// An outgoing TCP connection was established.
    TcpConnect(TcpConn),
    /// An incoming TCP connection was accepted (established on a listening socket).
    TcpAccept(TcpConn),
    /// A socket started listening.
    TcpListen(TcpListen),
    /// A file under a watched path was opened for writing.
    FileWrite(FileWrite),
    /// An authentication attempt failed (sshd, PAM, su, sudo).
    AuthFailure(AuthFailure),
    /// An authentication succeeded (sshd accepted, su session opened).
    AuthSuccess(AuthSuccess),
    /// A sudo invocation (allowed or refused).
    Sudo(Sudo),
    /// A su invocation.
    Su(Su),
    /// A watched sensitive file was opened for reading.
    FileRead(FileRead),
    /// A file was deleted, renamed, truncated, linked or had its mode or owner changed.
    FileChange(FileChange),
    /// A ptrace request against another process.
    Ptrace(Ptrace),
    /// A setuid-family or capset call.
    CredChange(CredChange),
    /// An anonymous in-memory file was created.
    MemfdCreate(MemfdCreate),
    /// A descriptor was duplicated onto stdin, stdout or stderr.
    FdDup(FdDup),
    /// Executable anonymous or writable memory was asked for.
    MemExec(MemExec),
    /// A filesystem was mounted.
    Mount(Mount),
    /// A process entered or created namespaces.
    Namespace(Namespace),
    /// A BPF program was loaded.
    BpfLoad(BpfLoad),
    /// A signal was sent to another process.
    Signal(Signal),
    /// A kernel module was loaded.
    ModuleLoad(ModuleLoad),
    /// A log line (journal entry) that a log-line rule reads: Sigma keyword rules.
    LogLine(LogLine),
    /// Events were lost before they reached the pipeline.
    Loss(Loss),
}

impl EventKind {
    /// Stable short name of the kind (the JSON `kind` tag).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Exec(_) => "exec",
            EventKind::Fork(_) => "fork",
            EventKind::Exit(_) => "exit",
            EventKind::TcpConnect(_) => "tcp_connect",
            EventKind::TcpAccept(_) => "tcp_accept",
            EventKind::TcpListen(_) => "tcp_listen",
            EventKind::FileWrite(_) => "file_write",
            EventKind::AuthFailure(_) => "auth_failure",
            EventKind::AuthSuccess(_) => "auth_success",
            EventKind::Sudo(_) => "sudo",
            EventKind::Su(_) => "su",
            EventKind::FileRead(_) => "file_read",
            EventKind::FileChange(_) => "file_change",
            EventKind::Ptrace(_) => "ptrace",
            EventKind::CredChange(_) => "cred_change",
            EventKind::MemfdCreate(_) => "memfd_create",
            EventKind::FdDup(_) => "fd_dup",
            EventKind::MemExec(_) => "mem_exec",
            EventKind::Mount(_) => "mount",
            EventKind::Namespace(_) => "namespace",
            EventKind::BpfLoad(_) => "bpf_load",
            EventKind::Signal(_) => "signal",
            EventKind::ModuleLoad(_) => "module_load",
            EventKind::LogLine(_) => "log_line",
            EventKind::Loss(_) => "loss",
        }
    }

    /// The process this event is about, when there is one.
    pub fn pid(&self) -> Option<u32> {
        match self {
            EventKind::Exec(e) => Some(e.pid),
            EventKind::Fork(e) => Some(e.child_pid),
            EventKind::Exit(e) => Some(e.pid),
            EventKind::TcpConnect(e) | EventKind::TcpAccept(e) => e.pid,
            EventKind::TcpListen(e) => Some(e.pid),
            EventKind::FileWrite(e) => Some(e.pid),
            EventKind::AuthFailure(e) => e.pid,
            EventKind::AuthSuccess(e) => e.pid,
            EventKind::Sudo(e) => e.pid,
            EventKind::Su(e) => e.pid,
            EventKind::FileRead(e) => Some(e.pid),
            EventKind::FileChange(e) => (e.pid != 0).then_some(e.pid),
            EventKind::Ptrace(e) => Some(e.pid),
            EventKind::CredChange(e) => Some(e.pid),
            EventKind::MemfdCreate(e) => Some(e.pid),
            EventKind::FdDup(e) => Some(e.pid),
            EventKind::MemExec(e) => Some(e.pid),
            EventKind::Mount(e) => Some(e.pid),
            EventKind::Namespace(e) => Some(e.pid),
            EventKind::BpfLoad(e) => Some(e.pid),
            EventKind::Signal(e) => Some(e.pid),
            EventKind::ModuleLoad(e) => (e.pid != 0).then_some(e.pid),
            EventKind::LogLine(e) => e.pid,
            EventKind::Loss(_) => None,
        }
    }
}

/// `execve` as seen by the kernel after the new image is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exec {
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    /// Task name after exec (at most 15 bytes, kernel `comm`).
    pub comm: String,
    /// Path passed to exec, as resolved by the kernel (`bprm->filename`).
    pub filename: String,
    /// Argument vector, captured in the kernel, bounded in count and length.
    pub argv: Vec<String>,
    /// True when the kernel-side capture cut the argument vector short.
    #[serde(default)]
    pub argv_truncated: bool,
    /// cgroup v2 id of the task (0 when unknown).
    #[serde(default)]
    pub cgroup_id: u64,
}

impl Exec {
    /// The command line as one string, arguments joined by spaces.
    pub fn cmdline(&self) -> String {
        self.argv.join(" ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fork {
    pub parent_pid: u32,
    pub child_pid: u32,
    #[serde(default)]
    pub comm: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exit {
    pub pid: u32,
    /// Raw `exit_code` as the kernel keeps it (status << 8 | signal).
    #[serde(default)]
    pub code: i32,
}

/// A TCP connection at the moment it became established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConn {
    /// The process, when the kernel ran in its context (not for accepts completed in softirq).
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default)]
    pub comm: String,
    pub saddr: IpAddr,
    pub sport: u16,
    pub daddr: IpAddr,
    pub dport: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpListen {
    pub pid: u32,
    #[serde(default)]
    pub comm: String,
    pub addr: IpAddr,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWrite {
    pub pid: u32,
    pub uid: u32,
    #[serde(default)]
    pub comm: String,
    pub path: String,
    /// `open` flags as passed by the caller.
    #[serde(default)]
    pub flags: u32,
}

/// The service whose log line an auth event was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthService {
    Sshd,
    Sudo,
    Su,
    /// Another PAM service (login, cron, ...): the PAM service name is in `pam_service`.
    Pam,
}

/// Why an authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthFailureReason {
    /// Wrong password / key / keyboard-interactive answer for an existing user.
    BadCredentials,
    /// The user does not exist.
    InvalidUser,
    /// The user exists but is refused by configuration (AllowUsers, DenyUsers, root login).
    NotAllowed,
    /// The client exceeded MaxAuthTries.
    TooManyFailures,
    /// The client went away before authenticating (preauth disconnect/reset).
    PreauthDisconnect,
    /// The client never spoke the protocol (no identification string, bad banner, kex failure).
    ProtocolError,
    /// A PAM module reported an authentication failure.
    PamFailure,
}

/// A failed authentication; `src` is the remote host when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFailure {
    pub service: AuthService,
    pub reason: AuthFailureReason,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub src: Option<Host>,
    #[serde(default)]
    pub port: Option<u16>,
    /// PID of the logging daemon process (sshd's per-connection child), when logged.
    #[serde(default)]
    pub pid: Option<u32>,
    /// How many failures this one line stands for (PAM "N more", "message repeated N times").
    #[serde(default = "one")]
    pub count: u32,
    /// The PAM service name (`login`, `vsftpd`, ...) when `service` is [`AuthService::Pam`] or
    /// the line came from a PAM module. Optional, omitted when absent: contract v1 unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pam_service: Option<String>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSuccess {
    pub service: AuthService,
    pub user: String,
    #[serde(default)]
    pub src: Option<Host>,
    #[serde(default)]
    pub port: Option<u16>,
    /// `password`, `publickey`, `keyboard-interactive/pam`, ...
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub pid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sudo {
    /// The invoking user.
    pub user: String,
    /// The user the command runs as.
    pub target_user: String,
    pub command: String,
    #[serde(default)]
    pub tty: Option<String>,
    #[serde(default)]
    pub pwd: Option<String>,
    /// False when sudo refused the command (not in sudoers, incorrect password attempts).
    pub allowed: bool,
    #[serde(default)]
    pub pid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Su {
    pub user: String,
    pub target_user: String,
    pub success: bool,
    #[serde(default)]
    pub tty: Option<String>,
    #[serde(default)]
    pub pid: Option<u32>,
}

/// Where events were lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossPoint {
    /// `bpf_ringbuf_reserve` failed in the kernel (ring buffer full).
    RingReserve,
    /// A bounded channel in the agent was full.
    Channel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Loss {
    pub point: LossPoint,
    /// Which channel or program lost them.
    pub stage: String,
    /// How many were lost since the previous Loss event for this stage.
    pub count: u64,
}

/// A remote peer as logs name it: an address, or a host name when the daemon logged one
/// (sshd with `UseDNS yes`). IPv4-mapped IPv6 addresses are normalised to IPv4.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Host {
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Ip(ip) => Some(*ip),
            Host::Name(_) => None,
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        Host::Ip(normalize_ip(ip))
    }
}

/// Map `::ffff:a.b.c.d` to `a.b.c.d`; every other address is returned as is.
pub fn normalize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Why a host string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an address or host name: {text:?}")]
pub struct BadHost {
    pub text: String,
}

impl FromStr for Host {
    type Err = BadHost;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Host::from(ip));
        }
        let valid_name = !s.is_empty()
            && s.len() <= 253
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if valid_name {
            Ok(Host::Name(s.to_ascii_lowercase()))
        } else {
            Err(BadHost { text: s.to_owned() })
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

impl Serialize for Host {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Host {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T04:53:40Z")
            .expect("valid literal")
            .with_timezone(&Utc)
    }

    #[test]
    fn exec_round_trips_as_flat_json() {
        let ev = Event::new(
            ts(),
            Source::Ebpf,
            EventKind::Exec(Exec {
                pid: 42,
                ppid: 1,
                uid: 0,
                gid: 0,
                comm: "sh".into(),
                filename: "/bin/sh".into(),
                argv: vec!["sh".into(), "-c".into(), "id".into()],
                argv_truncated: false,
                cgroup_id: 7,
            }),
        );
        let line = serde_json::to_string(&ev).expect("serializes");
        assert!(
            line.starts_with(
                r#"{"v":1,"ts":"2026-11-22T04:53:40Z","source":"ebpf","kind":"exec","pid":42"#
            ),
            "{line}"
        );
        let back: Event = serde_json::from_str(&line).expect("parses");
        assert_eq!(back, ev);
    }

    #[test]
    fn misspelled_field_is_an_error() {
        let line =
            r#"{"v":1,"ts":"2026-11-22T04:53:40Z","source":"ebpf","kind":"exit","pid":1,"cdoe":0}"#;
        let err = serde_json::from_str::<Event>(line).expect_err("unknown field must be refused");
        assert!(err.to_string().contains("cdoe"), "{err}");
    }

    #[test]
    fn syscall_kinds_round_trip_with_their_tag() {
        let line = r#"{"v":1,"ts":"2026-11-22T04:53:40Z","source":"ebpf","kind":"file_change","pid":7,"uid":0,"comm":"chmod","op":"chmod","path":"/tmp/x","mode":2541}"#;
        let ev: Event = serde_json::from_str(line).expect("parses");
        match &ev.kind {
            EventKind::FileChange(c) => {
                assert_eq!(c.op, FileOp::Chmod);
                assert_eq!(c.mode, Some(0o4755));
            }
            other => panic!("wrong kind {other:?}"),
        }
        assert_eq!(ev.kind.name(), "file_change");
        assert_eq!(serde_json::to_string(&ev).expect("serializes"), line);
        let bad = r#"{"v":1,"ts":"2026-11-22T04:53:40Z","source":"inotify","kind":"file_change","pid":0,"op":"shred","path":"/x"}"#;
        let err = serde_json::from_str::<Event>(bad).expect_err("unknown op refused");
        assert!(err.to_string().contains("shred"), "{err}");
    }

    #[test]
    fn mapped_ipv6_host_normalises_to_ipv4() {
        let h: Host = "::ffff:1.2.3.4".parse().expect("parses");
        assert_eq!(h.to_string(), "1.2.3.4");
        let n: Host = "Example.COM".parse().expect("parses");
        assert_eq!(n, Host::Name("example.com".into()));
        assert!("bad host!".parse::<Host>().is_err());
    }
}
