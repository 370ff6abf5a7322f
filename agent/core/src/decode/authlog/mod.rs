//! Auth-log decoding: one raw syslog line, or one journald entry, to at most one typed
//! [`Event`].
//!
//! Two entry points share every message parser:
//! - [`parse_line`] for text logs (`/var/log/auth.log`, `/var/log/secure`): it splits the syslog
//!   prefix (RFC 3164 `Mmm dd hh:mm:ss host prog[pid]:`, RFC 3339 timestamps, RFC 5424, and the
//!   odd forms seen in the wild such as `[sshd]:` without a host) and then calls
//! - [`parse_message`] for entries whose program, pid and message are already separate
//!   (journald: see [`journal_entry`]).
//!
//! Both are pure and never panic; a line they cannot read is [`LineOutcome::Unparsed`] with a
//! static reason, which callers count.
//!
//! Some sshd failures are logged without the peer address (`Disconnecting: Too many
//! authentication failures for root [preauth]`, `kex_exchange_identification: ...`): the peer was
//! named on an earlier line of the same sshd process. [`SessionDecoder`] keeps that small per-pid
//! memory; the sensors use it, [`parse_line`] alone reports such failures without `src`.
//!
//! # Layout
//! - `prefix`: syslog prefixes and year inference.
//! - `addr`: peer address / host-name extraction shared by the message parsers.
//! - `sshd`, `sshd_conn`: sshd authentication and connection-level messages.
//! - `pam`, `sudo`, `su`, `dropbear`: the other auth programs.
//! - `journal`: journald JSON entries.
//! - `session`: [`SessionDecoder`], the per-sshd-pid peer memory.

mod addr;
mod dropbear;
mod journal;
mod pam;
mod prefix;
#[cfg(test)]
mod proptests;
mod session;
mod sshd;
mod sshd_conn;
mod su;
mod sudo;
#[cfg(test)]
mod tests;

use chrono::{DateTime, FixedOffset, Utc};

use crate::event::{AuthFailure, AuthSuccess, Event, EventKind, Host, Source};

pub use journal::{JournalEntry, JournalError, journal_entry, parse_journal_json};
pub use prefix::{SyslogLine, split_syslog};
pub use session::SessionDecoder;

/// What a caller knows about the lines it feeds: when "now" is (to infer the year RFC 3164
/// omits), the time zone of zone-less timestamps, and which sensor the lines come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineContext {
    /// Reference time. A zone-less `Mmm dd` date gets this year, or the year before when that
    /// would put it more than a day in the future (a December line read in January).
    pub now: DateTime<Utc>,
    /// Offset of timestamps that carry none (RFC 3164). The sensor passes the host's offset.
    pub local_offset: FixedOffset,
    /// The source stamped on produced events.
    pub source: Source,
}

impl LineContext {
    /// A context for `source` with reference time `now` and UTC as the local zone.
    pub fn new(now: DateTime<Utc>, source: Source) -> Self {
        Self {
            now,
            local_offset: utc_offset(),
            source,
        }
    }
}

fn utc_offset() -> FixedOffset {
    // Offset 0 is always in range (-86400, 86400): provably infallible.
    FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!("offset 0 is valid"))
}

/// The result of decoding one line or entry.
#[derive(Debug, Clone, PartialEq)]
pub enum LineOutcome {
    /// A security-relevant event.
    Event(Event),
    /// Recognised, and not security relevant (session bookkeeping, other programs, banners).
    Ignored,
    /// Not understood. Callers count these; `reason` names what was missing.
    Unparsed { reason: &'static str },
}

impl LineOutcome {
    pub fn event(&self) -> Option<&Event> {
        match self {
            LineOutcome::Event(e) => Some(e),
            _ => None,
        }
    }

    pub fn into_event(self) -> Option<Event> {
        match self {
            LineOutcome::Event(e) => Some(e),
            _ => None,
        }
    }
}

/// Decode one raw syslog line (without its trailing newline).
pub fn parse_line(line: &str, ctx: &LineContext) -> LineOutcome {
    match split_syslog(line, ctx) {
        Ok(l) => parse_message(l.program, l.pid, l.message, l.ts, ctx.source),
        Err(reason) => LineOutcome::Unparsed { reason },
    }
}

/// Decode one message whose program name and pid are already known (journald, or a split
/// syslog line).
pub fn parse_message(
    program: &str,
    pid: Option<u32>,
    msg: &str,
    ts: DateTime<Utc>,
    source: Source,
) -> LineOutcome {
    stamp(decode(program, msg), pid, ts, source)
}

/// Turn a decoded message into an outcome with time, source and pid.
pub(crate) fn stamp(
    decoded: Decoded,
    pid: Option<u32>,
    ts: DateTime<Utc>,
    source: Source,
) -> LineOutcome {
    let kind = match decoded {
        Decoded::Failure(mut f) => {
            f.pid = pid;
            EventKind::AuthFailure(f)
        }
        Decoded::Success(mut s) => {
            s.pid = pid;
            EventKind::AuthSuccess(s)
        }
        Decoded::Other(mut kind) => {
            match &mut kind {
                EventKind::Sudo(s) => s.pid = pid,
                EventKind::Su(s) => s.pid = pid,
                _ => {}
            }
            kind
        }
        Decoded::Peer(_) | Decoded::Ignored => return LineOutcome::Ignored,
        Decoded::Unparsed(reason) => return LineOutcome::Unparsed { reason },
    };
    LineOutcome::Event(Event::new(ts, source, kind))
}

/// A message decoded but not yet stamped with time, source and pid.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decoded {
    Failure(AuthFailure),
    Success(AuthSuccess),
    /// Sudo / Su events.
    Other(EventKind),
    /// Not security relevant, but names the sshd connection's peer (`Connection from`,
    /// `Connection closed by` outside preauth): [`SessionDecoder`] remembers it.
    Peer(Host),
    Ignored,
    Unparsed(&'static str),
}

/// The program-name dispatch shared by both entry points.
pub(crate) fn decode(program: &str, msg: &str) -> Decoded {
    let msg = strip_solaris_id(msg.trim());
    if is_sshd(program) {
        return sshd::decode(msg);
    }
    match program {
        "sudo" => sudo::decode(msg),
        "su" | "su-l" => su::decode(msg),
        "dropbear" => dropbear::decode(msg),
        _ => pam::decode_generic(program, msg).unwrap_or(Decoded::Ignored),
    }
}

/// `sshd`, the per-session `sshd-session` (OpenSSH 9.8+) and `sshd-auth` (10.0+).
pub(crate) fn is_sshd(program: &str) -> bool {
    matches!(program, "sshd" | "sshd-session" | "sshd-auth")
}

/// Strip what some systems put before the message: Solaris and macOS
/// `[ID 800047 auth.info] `, and a kernel-style `kernel:[  970.699396]: ` /
/// `kernel: [  970.699397] ` timestamp (seen through some journal forwarders).
fn strip_solaris_id(msg: &str) -> &str {
    if let Some(rest) = msg.strip_prefix("[ID ")
        && let Some(end) = rest.find("] ")
    {
        return &rest[end + 2..];
    }
    if let Some(rest) = msg.strip_prefix("kernel:")
        && let Some(rest) = rest.trim_start().strip_prefix('[')
        && let Some(end) = rest.find(']')
        && rest[..end]
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b' ')
    {
        let rest = &rest[end + 1..];
        return rest.strip_prefix(':').unwrap_or(rest).trim_start();
    }
    msg
}
