//! The ring-buffer records. All integers are native-endian (the kernel's), except addresses,
//! which are network-order bytes as the kernel stores them.

use crate::sys::{
    BpfLoadRecord, CredRecord, FdDupRecord, FileChangeRecord, MemExecRecord, MemfdRecord,
    ModuleRecord, MountRecord, NamespaceRecord, PtraceRecord, SignalRecord,
};
use crate::{ARGV_CAP, PATH_LEN, TASK_COMM_LEN};

/// Record kind ids, grouped by domain with gaps for growth. Never renumber: add.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    // Process 100..
    Exec = 100,
    Fork = 101,
    Exit = 102,
    Ptrace = 103,
    CredChange = 104,
    MemfdCreate = 105,
    FdDup = 106,
    MemExec = 107,
    Signal = 108,
    // Network 200..
    TcpConnect = 200,
    TcpAccept = 201,
    TcpListen = 202,
    // File 300..
    FileOpenWrite = 300,
    /// A read-only open of a watched sensitive path; written as a [`FileRecord`].
    FileRead = 301,
    FileChange = 302,
    // System 400..
    Mount = 400,
    Namespace = 401,
    BpfLoad = 402,
    ModuleLoad = 403,
    // 900.. is reserved for records the agent synthesises; the kernel never writes them.
}

impl Kind {
    /// Every kind, in id order.
    pub const ALL: [Kind; 19] = [
        Kind::Exec,
        Kind::Fork,
        Kind::Exit,
        Kind::Ptrace,
        Kind::CredChange,
        Kind::MemfdCreate,
        Kind::FdDup,
        Kind::MemExec,
        Kind::Signal,
        Kind::TcpConnect,
        Kind::TcpAccept,
        Kind::TcpListen,
        Kind::FileOpenWrite,
        Kind::FileRead,
        Kind::FileChange,
        Kind::Mount,
        Kind::Namespace,
        Kind::BpfLoad,
        Kind::ModuleLoad,
    ];

    pub const fn from_u32(v: u32) -> Option<Kind> {
        Some(match v {
            100 => Kind::Exec,
            101 => Kind::Fork,
            102 => Kind::Exit,
            103 => Kind::Ptrace,
            104 => Kind::CredChange,
            105 => Kind::MemfdCreate,
            106 => Kind::FdDup,
            107 => Kind::MemExec,
            108 => Kind::Signal,
            200 => Kind::TcpConnect,
            201 => Kind::TcpAccept,
            202 => Kind::TcpListen,
            300 => Kind::FileOpenWrite,
            301 => Kind::FileRead,
            302 => Kind::FileChange,
            400 => Kind::Mount,
            401 => Kind::Namespace,
            402 => Kind::BpfLoad,
            403 => Kind::ModuleLoad,
            _ => return None,
        })
    }

    /// Size in bytes of the record this kind is written as.
    pub const fn record_size(self) -> usize {
        match self {
            Kind::Exec => core::mem::size_of::<ExecRecord>(),
            Kind::Fork => core::mem::size_of::<ForkRecord>(),
            Kind::Exit => core::mem::size_of::<ExitRecord>(),
            Kind::TcpConnect | Kind::TcpAccept | Kind::TcpListen => {
                core::mem::size_of::<TcpRecord>()
            }
            Kind::FileOpenWrite | Kind::FileRead => core::mem::size_of::<FileRecord>(),
            Kind::Ptrace => core::mem::size_of::<PtraceRecord>(),
            Kind::CredChange => core::mem::size_of::<CredRecord>(),
            Kind::MemfdCreate => core::mem::size_of::<MemfdRecord>(),
            Kind::FdDup => core::mem::size_of::<FdDupRecord>(),
            Kind::MemExec => core::mem::size_of::<MemExecRecord>(),
            Kind::Signal => core::mem::size_of::<SignalRecord>(),
            Kind::FileChange => core::mem::size_of::<FileChangeRecord>(),
            Kind::Mount => core::mem::size_of::<MountRecord>(),
            Kind::Namespace => core::mem::size_of::<NamespaceRecord>(),
            Kind::BpfLoad => core::mem::size_of::<BpfLoadRecord>(),
            Kind::ModuleLoad => core::mem::size_of::<ModuleRecord>(),
        }
    }
}

/// Common prefix of every record: who did it and when.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// A [`Kind`] id.
    pub kind: u32,
    /// Size of the whole record in bytes (checked by the decoder).
    pub size: u32,
    /// `bpf_ktime_get_boot_ns()`: nanoseconds since boot, suspend included.
    pub ts_boot_ns: u64,
    /// Process id (kernel tgid) of the current task.
    pub pid: u32,
    /// Thread id (kernel pid) of the current task.
    pub tid: u32,
    pub uid: u32,
    pub gid: u32,
    /// cgroup v2 id of the current task.
    pub cgroup_id: u64,
    /// Task name, NUL-padded.
    pub comm: [u8; TASK_COMM_LEN],
}
const _: () = assert!(core::mem::size_of::<Header>() == 56);

/// [`ExecRecord::flags`]: more arguments than captured, or an argument cut short.
pub const EXEC_ARGV_TRUNCATED: u32 = 1;
/// [`ExecRecord::flags`]: the filename was longer than [`PATH_LEN`].
pub const EXEC_FILENAME_TRUNCATED: u32 = 2;
/// [`ExecRecord::flags`]: the argument vector could not be captured at all (no execve enter seen).
pub const EXEC_ARGV_MISSING: u32 = 4;

/// A successful exec (`sched_process_exec`), with the argument vector captured at syscall entry.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecRecord {
    /// Header of the task after exec (its new `comm`).
    pub header: Header,
    /// Process id of the parent that forked this process, as seen at fork; 0 when the fork
    /// happened before the sensor started.
    pub ppid: u32,
    /// Number of arguments in `argv`.
    pub argc: u32,
    /// Bytes used in `argv`: `argc` NUL-terminated strings back to back.
    pub argv_len: u32,
    /// `EXEC_*` flags.
    pub flags: u32,
    /// `bprm->filename`, NUL-terminated.
    pub filename: [u8; PATH_LEN],
    pub argv: [u8; ARGV_CAP],
}
const _: () = assert!(core::mem::size_of::<ExecRecord>() == 4680);

/// A new process (`sched_process_fork`, threads filtered out). The header is the parent's.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForkRecord {
    pub header: Header,
    pub parent_pid: u32,
    pub child_pid: u32,
}
const _: () = assert!(core::mem::size_of::<ForkRecord>() == 64);

/// [`ExitRecord::flags`]: `code` was seen at `exit`/`exit_group` entry.
pub const EXIT_CODE_KNOWN: u32 = 1;

/// A process exit (`sched_process_exit` of the thread-group leader).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitRecord {
    pub header: Header,
    /// Raw exit status (`status << 8`) when `flags` has [`EXIT_CODE_KNOWN`].
    pub code: i32,
    pub flags: u32,
}
const _: () = assert!(core::mem::size_of::<ExitRecord>() == 64);

/// [`TcpRecord::flags`]: the header names the process that connected or listened (connect
/// completes in softirq, so the process is remembered from the `CLOSE → SYN_SENT` step).
pub const TCP_PROCESS_KNOWN: u32 = 1;

/// A TCP state change (`sock/inet_sock_set_state`) that is a connect, accept or listen.
///
/// Addresses and ports are from the local socket's point of view, as the kernel has them:
/// `s*` is the local end, `d*` the remote one (zero for listen).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpRecord {
    pub header: Header,
    /// `AF_INET` (2) or `AF_INET6` (10).
    pub family: u16,
    /// Local port, host order.
    pub sport: u16,
    /// Remote port, host order.
    pub dport: u16,
    pub _pad0: u16,
    /// `TCP_*` flags.
    pub flags: u32,
    pub _pad1: u32,
    /// Local address: 4 bytes for IPv4 (rest zero) or 16 for IPv6, network order.
    pub saddr: [u8; 16],
    /// Remote address, same encoding.
    pub daddr: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<TcpRecord>() == 104);

/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;

/// [`FileRecord::pflags`]: the path was longer than [`PATH_LEN`].
pub const FILE_PATH_TRUNCATED: u32 = 1;
/// [`FileRecord::pflags`] and [`FileChangeRecord::pflags`]: the path matched only a home
/// directory prefix (trie value [`PREFIX_HOME`]); the agent keeps it only for the persistence
/// files of a home (`.ssh/`, shell rc files, user units).
pub const FILE_HOME: u32 = 8;
/// Watched-prefix trie value: report everything under the prefix.
pub const PREFIX_ALL: u8 = 1;
/// Watched-prefix trie value: a home directory root (see [`FILE_HOME`]).
pub const PREFIX_HOME: u8 = 2;

/// An open for writing (write, read-write, create or truncate) of a path under a watched prefix
/// ([`Kind::FileOpenWrite`]), or a read-only open of a watched sensitive path ([`Kind::FileRead`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileRecord {
    pub header: Header,
    /// `open` flags as passed by the caller.
    pub open_flags: u32,
    /// `FILE_*` flags.
    pub pflags: u32,
    /// Path as passed by the caller (absolute; relative paths are not matched), NUL-terminated.
    pub path: [u8; PATH_LEN],
}
const _: () = assert!(core::mem::size_of::<FileRecord>() == 320);

/// A plain record: `#[repr(C)]`, only integers and byte arrays, no padding, so every bit pattern
/// is a valid value and it can be read from or viewed as bytes.
///
/// # Safety
/// Implement only for types with the properties above.
pub unsafe trait Plain: Copy + Sized {
    /// A value with every byte zero.
    fn zeroed() -> Self {
        // SAFETY: the trait contract says all-zero bytes are a valid value.
        unsafe { core::mem::zeroed() }
    }

    /// Read a value from the start of `bytes`, or `None` when it is too short.
    fn read_from(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < core::mem::size_of::<Self>() {
            return None;
        }
        // SAFETY: length checked above; any bit pattern is valid (trait contract); the read is
        // unaligned so the slice needs no alignment.
        Some(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<Self>()) })
    }

    /// The value's bytes.
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: no padding (trait contract), so every byte is initialised.
        unsafe {
            core::slice::from_raw_parts(
                (self as *const Self).cast::<u8>(),
                core::mem::size_of::<Self>(),
            )
        }
    }
}

// SAFETY: each is #[repr(C)] with integer and byte-array fields only; sizes asserted above match
// the sum of the field sizes, so there is no padding.
unsafe impl Plain for Header {}
unsafe impl Plain for ExecRecord {}
unsafe impl Plain for ForkRecord {}
unsafe impl Plain for ExitRecord {}
unsafe impl Plain for TcpRecord {}
unsafe impl Plain for FileRecord {}
unsafe impl Plain for PtraceRecord {}
unsafe impl Plain for CredRecord {}
unsafe impl Plain for MemfdRecord {}
unsafe impl Plain for FdDupRecord {}
unsafe impl Plain for MemExecRecord {}
unsafe impl Plain for FileChangeRecord {}
unsafe impl Plain for MountRecord {}
unsafe impl Plain for NamespaceRecord {}
unsafe impl Plain for BpfLoadRecord {}
unsafe impl Plain for SignalRecord {}
unsafe impl Plain for ModuleRecord {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_is_a_multiple_of_eight() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_u32(k as u32), Some(k));
            // The ring buffer aligns records to 8 bytes; the decoder checks exact sizes.
            assert_eq!(k.record_size() % 8, 0, "{k:?}");
        }
        assert_eq!(Kind::from_u32(999), None);
    }
}
