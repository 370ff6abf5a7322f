//! Decoding of the syscall records (`innerwarden_common::sys`) into their event kinds, and the
//! [`ProcLookup`] seam through which the edge answers the two questions a record alone cannot:
//! is a duplicated descriptor a socket, and which process does a pidfd name.

use innerwarden_common::{
    BpfLoadRecord, CHANGE_HAS_MODE, CHANGE_HAS_NEW_PATH, CredRecord, CredSyscall, DUP_SYSCALL_DUP2,
    DUP_SYSCALL_DUP3, FILE_HOME, FdDupRecord, FileChangeOp, FileChangeRecord, FileRecord, Kind,
    MEM_SYSCALL_MMAP, MEM_SYSCALL_MPROTECT, MemExecRecord, MemfdRecord, ModuleRecord, MountRecord,
    NS_SYSCALL_SETNS, NS_SYSCALL_UNSHARE, NamespaceRecord, Plain, PtraceRecord, SIG_SYSCALL_PIDFD,
    SignalRecord,
};

use super::kernel::{DecodeError, cstr};
use crate::event::{
    BpfLoad, CredChange, EventKind, FdDup, FileChange, FileOp, FileRead, MemExec, MemfdCreate,
    ModuleLoad, Mount, Namespace, Ptrace, Signal,
};
use crate::persistence::{is_home_persistence, is_public_key};

/// `MAP_ANONYMOUS`.
const MAP_ANONYMOUS: u32 = 0x20;

/// What the decoder may ask about live processes. Implemented by the kernel sensor over /proc
/// (asked right after the record is read, while the process most likely still runs); replay
/// and tests use [`NoProc`] or a fake.
pub trait ProcLookup {
    /// Whether descriptor `fd` of process `pid` is a socket; `None` when it cannot be told
    /// (process or descriptor gone).
    fn fd_is_socket(&self, pid: u32, fd: u32) -> Option<bool>;
    /// The pid a pidfd held by `pid` refers to; `None` when it cannot be told.
    fn pidfd_target(&self, pid: u32, fd: u32) -> Option<i32>;
}

/// A [`ProcLookup`] that knows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProc;

impl ProcLookup for NoProc {
    fn fd_is_socket(&self, _pid: u32, _fd: u32) -> Option<bool> {
        None
    }
    fn pidfd_target(&self, _pid: u32, _fd: u32) -> Option<i32> {
        None
    }
}

fn read<T: Plain>(record: &[u8]) -> Result<T, DecodeError> {
    T::read_from(record).ok_or(DecodeError::Short {
        len: record.len(),
        need: size_of::<T>(),
    })
}

fn bad(kind: Kind, field: &'static str, value: u64) -> DecodeError {
    DecodeError::BadValue { kind, field, value }
}

/// Decode a syscall record of `kind` (its size already checked). `Ok(None)`: a record the
/// kernel flagged for userspace filtering that the filter drops.
pub(super) fn decode_sys(
    kind: Kind,
    record: &[u8],
    proc: &dyn ProcLookup,
) -> Result<Option<EventKind>, DecodeError> {
    Ok(Some(match kind {
        Kind::FileRead => {
            let r: FileRecord = read(record)?;
            let path = cstr(&r.path);
            if is_public_key(&path) {
                return Ok(None);
            }
            EventKind::FileRead(FileRead {
                pid: r.header.pid,
                uid: r.header.uid,
                comm: cstr(&r.header.comm),
                path,
            })
        }
        Kind::FileChange => return decode_change(&read(record)?),
        Kind::Ptrace => {
            let r: PtraceRecord = read(record)?;
            EventKind::Ptrace(Ptrace {
                pid: r.header.pid,
                uid: r.header.uid,
                comm: cstr(&r.header.comm),
                request: r.request as u32,
                target_pid: r.target as u32,
            })
        }
        Kind::CredChange => decode_cred(&read(record)?)?,
        Kind::MemfdCreate => {
            let r: MemfdRecord = read(record)?;
            EventKind::MemfdCreate(MemfdCreate {
                pid: r.header.pid,
                uid: r.header.uid,
                comm: cstr(&r.header.comm),
                name: cstr(&r.name),
                flags: r.flags,
            })
        }
        Kind::FdDup => {
            let r: FdDupRecord = read(record)?;
            if r.syscall != DUP_SYSCALL_DUP2 && r.syscall != DUP_SYSCALL_DUP3 {
                return Err(bad(kind, "syscall", r.syscall.into()));
            }
            let pid = r.header.pid;
            // The old descriptor may be closed already (dup2 then close is the usual shape);
            // the new one refers to the same file.
            let socket = proc
                .fd_is_socket(pid, r.oldfd)
                .or_else(|| proc.fd_is_socket(pid, r.newfd));
            EventKind::FdDup(FdDup {
                pid,
                uid: r.header.uid,
                comm: cstr(&r.header.comm),
                oldfd: r.oldfd,
                newfd: r.newfd,
                socket,
            })
        }
        Kind::MemExec => {
            let r: MemExecRecord = read(record)?;
            let (syscall, anonymous) = match r.syscall {
                MEM_SYSCALL_MMAP => ("mmap", r.flags & MAP_ANONYMOUS != 0),
                MEM_SYSCALL_MPROTECT => ("mprotect", true),
                other => return Err(bad(kind, "syscall", other.into())),
            };
            EventKind::MemExec(MemExec {
                pid: r.header.pid,
                uid: r.header.uid,
                comm: cstr(&r.header.comm),
                syscall: syscall.into(),
                prot: r.prot,
                anonymous,
            })
        }
        Kind::Mount => {
            let r: MountRecord = read(record)?;
            EventKind::Mount(Mount {
                pid: r.header.pid,
                uid: r.header.uid,
                comm: cstr(&r.header.comm),
                device: cstr(&r.source),
                target: cstr(&r.target),
                fstype: cstr(&r.fstype),
                flags: r.flags,
            })
        }
        Kind::Namespace => {
            let r: NamespaceRecord = read(record)?;
            let syscall = match r.syscall {
                NS_SYSCALL_UNSHARE => "unshare",
                NS_SYSCALL_SETNS => "setns",
                other => return Err(bad(kind, "syscall", other.into())),
            };
            EventKind::Namespace(Namespace {
                pid: r.header.pid,
                uid: r.header.uid,
                comm: cstr(&r.header.comm),
                syscall: syscall.into(),
                flags: r.flags,
            })
        }
        Kind::BpfLoad => {
            let r: BpfLoadRecord = read(record)?;
            EventKind::BpfLoad(BpfLoad {
                pid: r.header.pid,
                uid: r.header.uid,
                comm: cstr(&r.header.comm),
                prog_type: r.prog_type,
            })
        }
        Kind::Signal => {
            let r: SignalRecord = read(record)?;
            let target_pid = if r.syscall == SIG_SYSCALL_PIDFD {
                // 0 when the pidfd could not be resolved (documented in the kernel-sensor doc).
                u32::try_from(r.pidfd)
                    .ok()
                    .and_then(|fd| proc.pidfd_target(r.header.pid, fd))
                    .unwrap_or(0)
            } else if (1..=SIG_SYSCALL_PIDFD).contains(&r.syscall) {
                r.target
            } else {
                return Err(bad(kind, "syscall", r.syscall.into()));
            };
            EventKind::Signal(Signal {
                pid: r.header.pid,
                uid: r.header.uid,
                comm: cstr(&r.header.comm),
                target_pid,
                sig: r.sig,
            })
        }
        Kind::ModuleLoad => {
            let r: ModuleRecord = read(record)?;
            EventKind::ModuleLoad(ModuleLoad {
                pid: r.header.pid,
                uid: r.header.uid,
                comm: cstr(&r.header.comm),
                name: cstr(&r.name),
            })
        }
        Kind::Exec
        | Kind::Fork
        | Kind::Exit
        | Kind::TcpConnect
        | Kind::TcpAccept
        | Kind::TcpListen
        | Kind::FileOpenWrite => return Err(DecodeError::UnknownKind { kind: kind as u32 }),
    }))
}

fn decode_change(r: &FileChangeRecord) -> Result<Option<EventKind>, DecodeError> {
    let op = match FileChangeOp::from_u32(r.op) {
        Some(FileChangeOp::Unlink) => FileOp::Unlink,
        Some(FileChangeOp::Rename) => FileOp::Rename,
        Some(FileChangeOp::Truncate) => FileOp::Truncate,
        Some(FileChangeOp::Chmod) => FileOp::Chmod,
        Some(FileChangeOp::Chown) => FileOp::Chown,
        Some(FileChangeOp::Link) => FileOp::Link,
        None => return Err(bad(Kind::FileChange, "op", r.op.into())),
    };
    let path = cstr(&r.path);
    let new_path = (r.pflags & CHANGE_HAS_NEW_PATH != 0).then(|| cstr(&r.new_path));
    if r.pflags & FILE_HOME != 0
        && !is_home_persistence(&path)
        && !new_path.as_deref().is_some_and(is_home_persistence)
    {
        return Ok(None);
    }
    Ok(Some(EventKind::FileChange(FileChange {
        pid: r.header.pid,
        uid: r.header.uid,
        comm: cstr(&r.header.comm),
        op,
        path,
        new_path,
        mode: (r.pflags & CHANGE_HAS_MODE != 0).then_some(r.mode),
    })))
}

fn decode_cred(r: &CredRecord) -> Result<EventKind, DecodeError> {
    let sys = CredSyscall::from_u32(r.syscall)
        .ok_or_else(|| bad(Kind::CredChange, "syscall", r.syscall.into()))?;
    // An id argument of -1 means "leave unchanged".
    let id = |i: usize| {
        let v = r.args[i] as u32;
        (v != u32::MAX).then_some(v)
    };
    // The effective id for the two- and three-argument forms, else the first one set.
    let asked = match sys {
        CredSyscall::Setuid
        | CredSyscall::Setfsuid
        | CredSyscall::Setgid
        | CredSyscall::Setfsgid => id(0),
        CredSyscall::Setreuid | CredSyscall::Setregid => id(1).or_else(|| id(0)),
        CredSyscall::Setresuid | CredSyscall::Setresgid => {
            id(1).or_else(|| id(0)).or_else(|| id(2))
        }
        CredSyscall::Capset => None,
    };
    let sets_gid = matches!(
        sys,
        CredSyscall::Setgid
            | CredSyscall::Setregid
            | CredSyscall::Setresgid
            | CredSyscall::Setfsgid
    );
    Ok(EventKind::CredChange(CredChange {
        pid: r.header.pid,
        uid: r.header.uid,
        comm: cstr(&r.header.comm),
        syscall: sys.name().into(),
        new_uid: if sets_gid { None } else { asked },
        new_gid: if sets_gid { asked } else { None },
    }))
}
