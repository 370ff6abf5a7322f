//! Which Sigma log sources and fields map onto our events, and how a field's text is read from
//! an event plus the process table. A field not listed for a category is a load error
//! ("unmapped field"), never a wildcard.
//!
//! | category | events | fields |
//! |---|---|---|
//! | `process_creation` | `exec` | Image, CommandLine, ParentImage, ParentCommandLine, User, ProcessId, ParentProcessId |
//! | `file_event` | `file_write` | TargetFilename, Image, User, ProcessId |
//! | `network_connection` | `tcp_connect` (Initiated true), `tcp_accept` (false) | Image, User, ProcessId, DestinationIp, DestinationPort, SourceIp, SourcePort, Initiated, Protocol |
//! | log lines (`product: linux` with a `service` or no category) | `log_line` | keywords (the message text); USER (the `USER=` of a sudo line) |
//!
//! Parent fields come from the process table (the parent's exe and argv as exec'd); User is the
//! name of the uid in the user table the edge supplies (absent when unknown). Network fields
//! follow flow direction as Sysmon does: Source = the initiator.

use std::collections::HashMap;

use innerwarden_common::{ARG_MAX_LEN, ARGV_BUF_LEN, ARGV_MAX_ARGS, PATH_LEN};

use crate::event::{Event, EventKind};
use crate::proctable::ProcessTable;

use super::value::Text;

/// The Sigma `logsource.category` values we can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    ProcessCreation,
    FileEvent,
    NetworkConnection,
    /// Log lines: keyword rules of `product: linux` without a category, or with a `service`.
    LogLine,
}

impl Category {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "process_creation" => Some(Category::ProcessCreation),
            "file_event" => Some(Category::FileEvent),
            "network_connection" => Some(Category::NetworkConnection),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::ProcessCreation => "process_creation",
            Category::FileEvent => "file_event",
            Category::NetworkConnection => "network_connection",
            Category::LogLine => "log_line",
        }
    }

    /// The category an event belongs to, if any.
    pub fn of(ev: &Event) -> Option<Self> {
        match &ev.kind {
            EventKind::Exec(_) => Some(Category::ProcessCreation),
            EventKind::FileWrite(_) => Some(Category::FileEvent),
            EventKind::TcpConnect(_) | EventKind::TcpAccept(_) => Some(Category::NetworkConnection),
            EventKind::LogLine(_) => Some(Category::LogLine),
            _ => None,
        }
    }
}

/// A mapped field. The discriminant indexes the per-event cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Image,
    CommandLine,
    ParentImage,
    ParentCommandLine,
    User,
    ProcessId,
    ParentProcessId,
    TargetFilename,
    DestinationIp,
    DestinationPort,
    SourceIp,
    SourcePort,
    Initiated,
    Protocol,
    /// A log line's text: what keywords search. Never resolved from a field name.
    Message,
    /// `USER=` of a sudo log line (`alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/id`).
    SudoUser,
}

/// Number of [`Field`] variants.
pub const FIELD_COUNT: usize = 16;

impl Field {
    /// Resolve a Sigma field name for a category; None = unmapped.
    pub fn resolve(cat: Category, name: &str) -> Option<Self> {
        use Category::*;
        use Field::*;
        let f = match name {
            "Image" => Image,
            "User" => User,
            "ProcessId" => ProcessId,
            "CommandLine" => CommandLine,
            "ParentImage" => ParentImage,
            "ParentCommandLine" => ParentCommandLine,
            "ParentProcessId" => ParentProcessId,
            "TargetFilename" => TargetFilename,
            "DestinationIp" => DestinationIp,
            "DestinationPort" => DestinationPort,
            "SourceIp" => SourceIp,
            "SourcePort" => SourcePort,
            "Initiated" => Initiated,
            "Protocol" => Protocol,
            "USER" => SudoUser,
            _ => return None,
        };
        let ok = match f {
            Image | User | ProcessId => cat != LogLine,
            CommandLine | ParentImage | ParentCommandLine | ParentProcessId => {
                cat == ProcessCreation
            }
            TargetFilename => cat == FileEvent,
            DestinationIp | DestinationPort | SourceIp | SourcePort | Initiated | Protocol => {
                cat == NetworkConnection
            }
            Message => false,
            SudoUser => cat == LogLine,
        };
        ok.then_some(f)
    }

    /// The Sigma name.
    pub fn name(self) -> &'static str {
        match self {
            Field::Image => "Image",
            Field::CommandLine => "CommandLine",
            Field::ParentImage => "ParentImage",
            Field::ParentCommandLine => "ParentCommandLine",
            Field::User => "User",
            Field::ProcessId => "ProcessId",
            Field::ParentProcessId => "ParentProcessId",
            Field::TargetFilename => "TargetFilename",
            Field::DestinationIp => "DestinationIp",
            Field::DestinationPort => "DestinationPort",
            Field::SourceIp => "SourceIp",
            Field::SourcePort => "SourcePort",
            Field::Initiated => "Initiated",
            Field::Protocol => "Protocol",
            Field::Message => "(keywords)",
            Field::SudoUser => "USER",
        }
    }
}

/// One event's field values, read lazily and lowercased once.
pub struct Fields<'a> {
    ev: &'a Event,
    procs: &'a ProcessTable,
    users: &'a HashMap<u32, String>,
    cache: [Option<Option<Text>>; FIELD_COUNT],
}

impl<'a> Fields<'a> {
    pub fn new(ev: &'a Event, procs: &'a ProcessTable, users: &'a HashMap<u32, String>) -> Self {
        Self {
            ev,
            procs,
            users,
            cache: Default::default(),
        }
    }

    pub fn get(&mut self, f: Field) -> Option<&Text> {
        let slot = f as usize;
        if self.cache[slot].is_none() {
            let text = self.read(f).map(|v| {
                let cut = self.maybe_truncated(f, &v);
                Text::with_truncation(v, cut)
            });
            self.cache[slot] = Some(text);
        }
        self.cache[slot].as_ref().and_then(Option::as_ref)
    }

    fn pid(&self) -> Option<u32> {
        self.ev.kind.pid()
    }

    fn exe_of(&self, pid: Option<u32>) -> Option<String> {
        let p = self.procs.get(pid?)?;
        (!p.exe.is_empty()).then(|| p.exe.clone())
    }

    fn user_of(&self, uid: Option<u32>) -> Option<String> {
        self.users.get(&uid?).cloned()
    }

    /// Could the sensor have cut this value short? The exec event says so for its own argv;
    /// for the rest (a parent's argv from the table, paths) a value at the capture limits is
    /// treated as possibly cut.
    fn maybe_truncated(&self, f: Field, v: &str) -> bool {
        match (f, &self.ev.kind) {
            (Field::CommandLine, EventKind::Exec(e)) => e.argv_truncated,
            (Field::ParentCommandLine, EventKind::Exec(e)) => self
                .procs
                .get(e.ppid)
                .is_some_and(|p| argv_at_capture_limit(&p.argv)),
            (Field::Image | Field::ParentImage | Field::TargetFilename, _) => {
                v.len() >= PATH_LEN - 1
            }
            _ => false,
        }
    }

    fn read(&self, f: Field) -> Option<String> {
        match (&self.ev.kind, f) {
            (EventKind::Exec(e), Field::Image) => Some(e.filename.clone()),
            (EventKind::Exec(e), Field::CommandLine) => Some(e.cmdline()),
            (EventKind::Exec(e), Field::User) => self.user_of(Some(e.uid)),
            (EventKind::Exec(e), Field::ParentProcessId) => Some(e.ppid.to_string()),
            (EventKind::Exec(e), Field::ParentImage) => self.exe_of(Some(e.ppid)),
            (EventKind::Exec(e), Field::ParentCommandLine) => {
                let p = self.procs.get(e.ppid)?;
                (!p.argv.is_empty()).then(|| p.argv.join(" "))
            }
            (EventKind::LogLine(l), Field::Message) => Some(l.message.clone()),
            (EventKind::LogLine(l), Field::SudoUser) => sudo_user(&l.message).map(str::to_owned),
            (EventKind::FileWrite(w), Field::TargetFilename) => Some(w.path.clone()),
            (EventKind::FileWrite(w), Field::User) => self.user_of(Some(w.uid)),
            (EventKind::TcpConnect(c) | EventKind::TcpAccept(c), f) => match f {
                Field::DestinationIp => Some(c.daddr.to_string()),
                Field::DestinationPort => Some(c.dport.to_string()),
                Field::SourceIp => Some(c.saddr.to_string()),
                Field::SourcePort => Some(c.sport.to_string()),
                Field::Initiated => {
                    Some(matches!(self.ev.kind, EventKind::TcpConnect(_)).to_string())
                }
                Field::Protocol => Some("tcp".to_owned()),
                Field::User => {
                    let uid = self.procs.get(c.pid?).map(|p| p.uid);
                    self.user_of(uid)
                }
                Field::Image => self.exe_of(c.pid),
                Field::ProcessId => c.pid.map(|p| p.to_string()),
                _ => None,
            },
            (_, Field::Image) => self.exe_of(self.pid()),
            (_, Field::ProcessId) => self.pid().map(|p| p.to_string()),
            _ => None,
        }
    }
}

/// The `USER=` value of a sudo log line: between `USER=` (at the start or after `; `) and the
/// next ` ;` or the end.
fn sudo_user(message: &str) -> Option<&str> {
    let start = if let Some(rest) = message.strip_prefix("USER=") {
        rest
    } else {
        &message[message.find("; USER=")? + "; USER=".len()..]
    };
    Some(start.split(" ;").next().unwrap_or(start).trim_end())
}

/// An argv the kernel capture may have cut: as many arguments as it keeps, an argument at the
/// per-argument limit, or packed bytes near the buffer size.
fn argv_at_capture_limit(argv: &[String]) -> bool {
    let packed: usize = argv.iter().map(|a| a.len() + 1).sum();
    argv.len() >= ARGV_MAX_ARGS
        || argv.iter().any(|a| a.len() >= ARG_MAX_LEN - 1)
        || packed >= ARGV_BUF_LEN - ARG_MAX_LEN
}
