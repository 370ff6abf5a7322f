//! The one decoder of kernel ring-buffer records (ABI in `innerwarden-common`) into [`Event`]s.
//!
//! Pure: the wall-clock offset comes in as a [`BootClock`] value that the sensor measured, and
//! the two facts only a live /proc knows (is a descriptor a socket, which pid a pidfd names) come
//! through the [`ProcLookup`] seam, so the same bytes and answers always decode to the same event. Records are untrusted input as far as this code
//! is concerned (a stale object, a mismatched build): every length is checked and nothing panics.
//!
//! TCP address convention: events use flow direction, `s*` = the side that initiated the
//! connection and `d*` = the side that accepted it. So for [`EventKind::TcpConnect`] `saddr` is
//! local, and for [`EventKind::TcpAccept`] `saddr` is the remote client and `daddr`/`dport` the
//! local listening address. IPv4-mapped IPv6 addresses are normalised to IPv4.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Utc};
use innerwarden_common::{
    AF_INET, AF_INET6, ARGV_CAP, EXEC_ARGV_MISSING, EXEC_ARGV_TRUNCATED, EXIT_CODE_KNOWN,
    ExecRecord, ExitRecord, FILE_HOME, FileRecord, ForkRecord, Header, Kind, Plain,
    TCP_PROCESS_KNOWN, TcpRecord,
};

use crate::event::{
    Event, EventKind, Exec, Exit, FileWrite, Fork, Source, TcpConn, TcpListen, normalize_ip,
};
use crate::persistence::is_home_persistence;

pub use super::kernel_sys::{NoProc, ProcLookup};

/// Converts kernel boot-time nanoseconds (`CLOCK_BOOTTIME`, what `bpf_ktime_get_boot_ns`
/// returns) to wall-clock time by a fixed offset measured at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootClock {
    /// `CLOCK_REALTIME - CLOCK_BOOTTIME`, in nanoseconds.
    offset_ns: i128,
}

impl BootClock {
    /// A clock from a known offset (`realtime_ns - boottime_ns`).
    pub fn from_offset_ns(offset_ns: i128) -> Self {
        Self { offset_ns }
    }

    /// A clock from two readings taken back to back.
    pub fn from_readings(realtime_ns: i128, boottime_ns: i128) -> Self {
        Self::from_offset_ns(realtime_ns - boottime_ns)
    }

    pub fn offset_ns(&self) -> i128 {
        self.offset_ns
    }

    /// The wall time of a boot-time timestamp, `None` when out of chrono's range.
    pub fn wall(&self, boot_ns: u64) -> Option<DateTime<Utc>> {
        let ns = i64::try_from(i128::from(boot_ns) + self.offset_ns).ok()?;
        Some(DateTime::from_timestamp_nanos(ns))
    }
}

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record of {len} bytes is shorter than the {need}-byte header")]
    Short { len: usize, need: usize },
    #[error("unknown record kind id {kind}")]
    UnknownKind { kind: u32 },
    #[error("{kind:?} record is {len} bytes (header says {declared}), expected {expected}")]
    BadSize {
        kind: Kind,
        len: usize,
        declared: u32,
        expected: usize,
    },
    #[error("exec argv_len {argv_len} exceeds the {cap}-byte buffer")]
    BadArgv { argv_len: u32, cap: usize },
    #[error("unknown address family {family}")]
    BadFamily { family: u16 },
    #[error("boot timestamp {ts_boot_ns} ns is out of range")]
    Time { ts_boot_ns: u64 },
    #[error("{kind:?} record has an unknown {field} value {value}")]
    BadValue {
        kind: Kind,
        field: &'static str,
        value: u64,
    },
}

/// Decode one ring-buffer record into an [`Event`] with source [`Source::Ebpf`].
///
/// `Ok(None)` is a valid record that the userspace half of a kernel filter drops: a write or
/// change under a home directory that is not a persistence file ([`FILE_HOME`]), or a read of a
/// public key. `proc` answers the live questions of `fd_dup` and pidfd signals.
pub fn decode(
    record: &[u8],
    clock: &BootClock,
    proc: &dyn ProcLookup,
) -> Result<Option<Event>, DecodeError> {
    let header = Header::read_from(record).ok_or(DecodeError::Short {
        len: record.len(),
        need: size_of::<Header>(),
    })?;
    let kind = Kind::from_u32(header.kind).ok_or(DecodeError::UnknownKind { kind: header.kind })?;
    let expected = kind.record_size();
    // The ring buffer rounds to 8 bytes; our records are multiples of 8 already.
    if record.len() != expected || header.size as usize != expected {
        return Err(DecodeError::BadSize {
            kind,
            len: record.len(),
            declared: header.size,
            expected,
        });
    }
    let ts = clock.wall(header.ts_boot_ns).ok_or(DecodeError::Time {
        ts_boot_ns: header.ts_boot_ns,
    })?;
    // `read_from` cannot fail below: the length was checked against the kind's record size.
    let short = || DecodeError::Short {
        len: record.len(),
        need: expected,
    };
    let kind = match kind {
        Kind::Exec => decode_exec(&ExecRecord::read_from(record).ok_or_else(short)?)?,
        Kind::Fork => {
            let r = ForkRecord::read_from(record).ok_or_else(short)?;
            EventKind::Fork(Fork {
                parent_pid: r.parent_pid,
                child_pid: r.child_pid,
                comm: cstr(&r.header.comm),
            })
        }
        Kind::Exit => {
            let r = ExitRecord::read_from(record).ok_or_else(short)?;
            EventKind::Exit(Exit {
                pid: r.header.pid,
                code: if r.flags & EXIT_CODE_KNOWN != 0 {
                    r.code
                } else {
                    0
                },
            })
        }
        Kind::TcpConnect | Kind::TcpAccept | Kind::TcpListen => {
            decode_tcp(kind, &TcpRecord::read_from(record).ok_or_else(short)?)?
        }
        Kind::FileOpenWrite => {
            let r = FileRecord::read_from(record).ok_or_else(short)?;
            let path = cstr(&r.path);
            if r.pflags & FILE_HOME != 0 && !is_home_persistence(&path) {
                return Ok(None);
            }
            EventKind::FileWrite(FileWrite {
                pid: r.header.pid,
                uid: r.header.uid,
                comm: cstr(&r.header.comm),
                path,
                flags: r.open_flags,
            })
        }
        other => match super::kernel_sys::decode_sys(other, record, proc)? {
            Some(kind) => kind,
            None => return Ok(None),
        },
    };
    Ok(Some(Event::new(ts, Source::Ebpf, kind)))
}

fn decode_exec(r: &ExecRecord) -> Result<EventKind, DecodeError> {
    let len = r.argv_len as usize;
    if len > ARGV_CAP {
        return Err(DecodeError::BadArgv {
            argv_len: r.argv_len,
            cap: ARGV_CAP,
        });
    }
    let argv = r.argv[..len]
        .split(|b| *b == 0)
        .take(r.argc as usize)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Ok(EventKind::Exec(Exec {
        pid: r.header.pid,
        ppid: r.ppid,
        uid: r.header.uid,
        gid: r.header.gid,
        comm: cstr(&r.header.comm),
        filename: cstr(&r.filename),
        argv,
        argv_truncated: r.flags & (EXEC_ARGV_TRUNCATED | EXEC_ARGV_MISSING) != 0,
        cgroup_id: r.header.cgroup_id,
    }))
}

fn decode_tcp(kind: Kind, r: &TcpRecord) -> Result<EventKind, DecodeError> {
    let local = ip(r.family, &r.saddr)?;
    let remote = ip(r.family, &r.daddr)?;
    let (pid, comm) = if r.flags & TCP_PROCESS_KNOWN != 0 {
        (Some(r.header.pid), cstr(&r.header.comm))
    } else {
        (None, String::new())
    };
    Ok(match kind {
        Kind::TcpListen => EventKind::TcpListen(TcpListen {
            pid: r.header.pid,
            comm: cstr(&r.header.comm),
            addr: local,
            port: r.sport,
        }),
        Kind::TcpAccept => EventKind::TcpAccept(TcpConn {
            pid,
            comm,
            saddr: remote,
            sport: r.dport,
            daddr: local,
            dport: r.sport,
        }),
        _ => EventKind::TcpConnect(TcpConn {
            pid,
            comm,
            saddr: local,
            sport: r.sport,
            daddr: remote,
            dport: r.dport,
        }),
    })
}

fn ip(family: u16, bytes: &[u8; 16]) -> Result<IpAddr, DecodeError> {
    match family {
        AF_INET => Ok(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        AF_INET6 => Ok(normalize_ip(IpAddr::V6(Ipv6Addr::from(*bytes)))),
        family => Err(DecodeError::BadFamily { family }),
    }
}

/// The bytes up to the first NUL (or all of them), as lossy UTF-8.
pub(super) fn cstr(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

#[cfg(test)]
#[path = "kernel_tests.rs"]
mod tests;
