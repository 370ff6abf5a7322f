//! Records of the syscall programs beyond exec, network and file writes: ptrace, credential
//! changes, memfd, descriptor duplication onto stdio, executable memory, file metadata changes,
//! mounts, namespaces, BPF and module loads, and signals.
//!
//! Each starts with a [`Header`] (the calling task) and has its size asserted. Syscall arguments
//! are kept raw (as the kernel passed them); the decoder in the agent gives them meaning.

use crate::{Header, PATH_LEN};

/// Bytes kept of a `memfd_create` name (the kernel allows 249).
pub const MEMFD_NAME_LEN: usize = 256;
/// Bytes kept of a mount source (device or remote spec).
pub const MOUNT_SOURCE_LEN: usize = 128;
/// Bytes kept of a filesystem type name.
pub const FSTYPE_LEN: usize = 32;
/// Bytes of a module name (the kernel's `MODULE_NAME_LEN` is 56).
pub const MODULE_NAME_LEN: usize = 64;

/// `ptrace(request, pid, ...)`: only requests that take control of a task or write to it (see
/// `docs/kernel-sensor.md`: attach, seize, traceme, poke*, setregs*).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PtraceRecord {
    pub header: Header,
    pub request: u64,
    /// Target pid as passed (in the caller's pid namespace).
    pub target: u64,
}
const _: () = assert!(core::mem::size_of::<PtraceRecord>() == 72);

/// Which credential syscall a [`CredRecord`] is.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredSyscall {
    Setuid = 1,
    Setreuid = 2,
    Setresuid = 3,
    Setfsuid = 4,
    Setgid = 5,
    Setregid = 6,
    Setresgid = 7,
    Setfsgid = 8,
    Capset = 9,
}

impl CredSyscall {
    pub const fn from_u32(v: u32) -> Option<CredSyscall> {
        Some(match v {
            1 => CredSyscall::Setuid,
            2 => CredSyscall::Setreuid,
            3 => CredSyscall::Setresuid,
            4 => CredSyscall::Setfsuid,
            5 => CredSyscall::Setgid,
            6 => CredSyscall::Setregid,
            7 => CredSyscall::Setresgid,
            8 => CredSyscall::Setfsgid,
            9 => CredSyscall::Capset,
            _ => return None,
        })
    }

    /// The syscall's name.
    pub const fn name(self) -> &'static str {
        match self {
            CredSyscall::Setuid => "setuid",
            CredSyscall::Setreuid => "setreuid",
            CredSyscall::Setresuid => "setresuid",
            CredSyscall::Setfsuid => "setfsuid",
            CredSyscall::Setgid => "setgid",
            CredSyscall::Setregid => "setregid",
            CredSyscall::Setresgid => "setresgid",
            CredSyscall::Setfsgid => "setfsgid",
            CredSyscall::Capset => "capset",
        }
    }
}

/// A setuid-family or capset call, at syscall entry (attempts count, not only successes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredRecord {
    pub header: Header,
    /// A [`CredSyscall`] id.
    pub syscall: u32,
    pub _pad: u32,
    /// The raw arguments (ids; `u32::MAX` as `-1` means "unchanged"). Unused slots are zero.
    pub args: [u64; 3],
}
const _: () = assert!(core::mem::size_of::<CredRecord>() == 88);

/// [`MemfdRecord::pflags`] / [`FileChangeRecord::pflags`]: a string was cut short.
pub const STR_TRUNCATED: u32 = 1;

/// `memfd_create(name, flags)`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemfdRecord {
    pub header: Header,
    pub flags: u32,
    pub pflags: u32,
    pub name: [u8; MEMFD_NAME_LEN],
}
const _: () = assert!(core::mem::size_of::<MemfdRecord>() == 320);

/// Which syscall a [`FdDupRecord`] is.
pub const DUP_SYSCALL_DUP2: u32 = 2;
pub const DUP_SYSCALL_DUP3: u32 = 3;

/// `dup2`/`dup3` of a descriptor above 2 onto 0, 1 or 2.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdDupRecord {
    pub header: Header,
    pub oldfd: u32,
    pub newfd: u32,
    pub flags: u32,
    /// `DUP_SYSCALL_*`.
    pub syscall: u32,
}
const _: () = assert!(core::mem::size_of::<FdDupRecord>() == 72);

/// [`MemExecRecord::syscall`].
pub const MEM_SYSCALL_MMAP: u32 = 1;
pub const MEM_SYSCALL_MPROTECT: u32 = 2;

/// `mmap` asking for executable memory that is anonymous or writable, or `mprotect` asking for
/// write and execute together.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemExecRecord {
    pub header: Header,
    /// `MEM_SYSCALL_*`.
    pub syscall: u32,
    /// `PROT_*` asked for.
    pub prot: u32,
    /// `MAP_*` flags (mmap; zero for mprotect).
    pub flags: u32,
    /// Descriptor mapped (mmap; -1 for anonymous and mprotect).
    pub fd: i32,
    pub addr: u64,
    pub len: u64,
}
const _: () = assert!(core::mem::size_of::<MemExecRecord>() == 88);

/// [`FileChangeRecord::op`] values, in the order of the JSON contract's `FileOp`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileChangeOp {
    Unlink = 1,
    Rename = 2,
    Truncate = 3,
    Chmod = 4,
    Chown = 5,
    Link = 6,
}

impl FileChangeOp {
    pub const fn from_u32(v: u32) -> Option<FileChangeOp> {
        Some(match v {
            1 => FileChangeOp::Unlink,
            2 => FileChangeOp::Rename,
            3 => FileChangeOp::Truncate,
            4 => FileChangeOp::Chmod,
            5 => FileChangeOp::Chown,
            6 => FileChangeOp::Link,
            _ => return None,
        })
    }
}

/// [`FileChangeRecord::pflags`]: `mode` is set (chmod).
pub const CHANGE_HAS_MODE: u32 = 2;
/// [`FileChangeRecord::pflags`]: `new_path` is set (rename, link).
pub const CHANGE_HAS_NEW_PATH: u32 = 4;

/// A file deleted, renamed, truncated, linked, or its mode or owner changed, under a watched
/// prefix (either name, for rename and link), or a chmod that sets setuid/setgid anywhere.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileChangeRecord {
    pub header: Header,
    /// A [`FileChangeOp`] id.
    pub op: u32,
    /// `STR_TRUNCATED`, `CHANGE_*`, and [`crate::FILE_HOME`] flags.
    pub pflags: u32,
    pub mode: u32,
    pub _pad: u32,
    /// The file changed (rename: old name; link: the new link), NUL-terminated.
    pub path: [u8; PATH_LEN],
    /// Rename: the new name; link: the target.
    pub new_path: [u8; PATH_LEN],
}
const _: () = assert!(core::mem::size_of::<FileChangeRecord>() == 584);

/// `mount(source, target, fstype, flags, data)`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MountRecord {
    pub header: Header,
    pub flags: u64,
    pub source: [u8; MOUNT_SOURCE_LEN],
    pub target: [u8; PATH_LEN],
    pub fstype: [u8; FSTYPE_LEN],
}
const _: () = assert!(core::mem::size_of::<MountRecord>() == 480);

/// [`NamespaceRecord::syscall`].
pub const NS_SYSCALL_UNSHARE: u32 = 1;
pub const NS_SYSCALL_SETNS: u32 = 2;

/// `unshare(flags)` with a `CLONE_NEW*` flag, or `setns(fd, nstype)`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamespaceRecord {
    pub header: Header,
    /// `NS_SYSCALL_*`.
    pub syscall: u32,
    /// setns: the namespace descriptor; unshare: -1.
    pub fd: i32,
    /// unshare: its flags; setns: `nstype`.
    pub flags: u64,
}
const _: () = assert!(core::mem::size_of::<NamespaceRecord>() == 72);

/// `bpf(BPF_PROG_LOAD, attr)`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BpfLoadRecord {
    pub header: Header,
    /// The bpf command (always `BPF_PROG_LOAD` = 5 today).
    pub cmd: u32,
    /// `attr->prog_type`, read from user memory (`u32::MAX` when unreadable).
    pub prog_type: u32,
}
const _: () = assert!(core::mem::size_of::<BpfLoadRecord>() == 64);

/// [`SignalRecord::syscall`].
pub const SIG_SYSCALL_KILL: u32 = 1;
pub const SIG_SYSCALL_TKILL: u32 = 2;
pub const SIG_SYSCALL_TGKILL: u32 = 3;
pub const SIG_SYSCALL_PIDFD: u32 = 4;

/// A signal to another process: SIGKILL, SIGTERM or SIGSTOP, or any signal to the agent.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalRecord {
    pub header: Header,
    /// kill: pid (negative: process group); tkill: tid; tgkill: tgid; pidfd: 0.
    pub target: i32,
    pub sig: u32,
    /// `SIG_SYSCALL_*`.
    pub syscall: u32,
    /// pidfd_send_signal: the pidfd (resolved to a pid by the agent through /proc); else -1.
    pub pidfd: i32,
}
const _: () = assert!(core::mem::size_of::<SignalRecord>() == 72);

/// `module/module_load`: a kernel module was loaded (in the context of the loading task).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleRecord {
    pub header: Header,
    pub name: [u8; MODULE_NAME_LEN],
}
const _: () = assert!(core::mem::size_of::<ModuleRecord>() == 120);
