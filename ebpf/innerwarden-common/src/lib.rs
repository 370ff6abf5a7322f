//! The kernel → user ABI of Inner Warden: the one definition of every record the eBPF programs
//! write into the ring buffer and of every map key/value userspace touches.
//!
//! Shared by `ebpf/innerwarden-ebpf` (built for `bpfel-unknown-none`) and the agent (built with the
//! `user` feature, which adds `aya::Pod` impls). Every record is `#[repr(C)]`, starts with a
//! [`Header`] whose `kind` is a [`Kind`] id, and has its size asserted at compile time so a layout
//! change is a build error on both sides, not a silent mis-decode.
//!
//! # Layout
//! - [`Kind`]: explicit record ids grouped by domain with gaps (process 100.., network 200..,
//!   file 300..; 900.. is reserved for agent-synthesised records and never appears in the ring).
//! - [`Header`] and the records: [`ExecRecord`], [`ForkRecord`], [`ExitRecord`], [`TcpRecord`]
//!   (connect, accept and listen), [`FileRecord`] (open for write, sensitive read); and in `sys`
//!   the syscall records ([`PtraceRecord`], [`CredRecord`], [`MemfdRecord`], [`FdDupRecord`],
//!   [`MemExecRecord`], [`FileChangeRecord`], [`MountRecord`], [`NamespaceRecord`],
//!   [`BpfLoadRecord`], [`SignalRecord`], [`ModuleRecord`]). Kind ids: process 100..,
//!   network 200.., file 300.., system 400...
//! - [`Prog`]: index of each program's slot in the per-CPU reserve-failure counter map.
//! - [`TpLayout`]: tracepoint field offsets, read by userspace from tracefs `format` files and set
//!   as a global at load, so no offset of one kernel build is baked into the object.
//! - [`DenyExecKey`], [`DenyExecValue`], [`LsmLayout`]: the BPF-LSM exec deny map and offsets;
//!   [`GuardLayout`]: the offset the self-protection LSM programs read.
//! - Map names shared by both sides ([`MAP_EVENTS`], ...).
#![no_std]

mod deny;
mod layout;
mod records;
mod sys;

pub use deny::{DenyExecKey, DenyExecValue, GuardLayout, LsmLayout, kernel_dev};
pub use layout::{TpLayout, format_field_offset};
pub use records::*;
pub use sys::*;

/// Name of the ring buffer map every program writes records into.
pub const MAP_EVENTS: &str = "EVENTS";
/// Name of the per-CPU `u64` array counting failed ring-buffer reservations, indexed by [`Prog`].
pub const MAP_RESERVE_FAILURES: &str = "RESERVE_FAILURES";
/// Name of the LPM trie of watched path prefixes (key [`PathPrefixKey`], value [`PREFIX_ALL`]
/// or [`PREFIX_HOME`]) for writes and file changes.
pub const MAP_WATCHED_PREFIXES: &str = "WATCHED_PREFIXES";
/// Name of the LPM trie of sensitive path prefixes whose read-only opens are reported.
pub const MAP_READ_PREFIXES: &str = "READ_PREFIXES";
/// Name of the global holding the agent's own pid (tgid): signals to it are always reported.
pub const GLOBAL_AGENT_TGID: &str = "AGENT_TGID";
/// Name of the LRU hash `pid → parent pid` learnt at fork, seeded by userspace from /proc.
pub const MAP_PARENTS: &str = "PARENTS";
/// Name of the global holding the [`TpLayout`] set by userspace at load.
pub const GLOBAL_TP_LAYOUT: &str = "TP_LAYOUT";
/// Name of the exec deny hash map (key [`DenyExecKey`], value [`DenyExecValue`]).
pub const MAP_DENY_EXEC: &str = "DENY_EXEC";
/// Users (uid → [`DenyExecValue`]) whose exec of fileless images (no link) is denied.
pub const MAP_DENY_FILELESS: &str = "DENY_FILELESS";
/// Name of the global holding the [`LsmLayout`] set by userspace at load.
pub const GLOBAL_LSM_LAYOUT: &str = "LSM_LAYOUT";
/// Name of the one-entry array holding the tgid the self-protection LSM programs guard (0: none).
pub const MAP_GUARDED_TGID: &str = "GUARDED_TGID";
/// Name of the global holding the [`GuardLayout`] set by userspace at load.
pub const GLOBAL_GUARD_LAYOUT: &str = "GUARD_LAYOUT";
/// Names of the self-protection LSM programs (`lsm/ptrace_access_check`, `lsm/task_kill`).
pub const PROG_GUARD_PTRACE: &str = "ptrace_access_check";
pub const PROG_GUARD_KILL: &str = "task_kill";
/// Name of the BPF-LSM exec-deny program (`lsm/bprm_check_security`).
pub const PROG_DENY_EXEC: &str = "bprm_check_security";
/// Default ring buffer size in bytes (a power of two, multiple of the page size).
pub const DEFAULT_RING_BYTES: u32 = 4 << 20;

/// Length of the kernel's `comm` (task name) buffer, including the NUL.
pub const TASK_COMM_LEN: usize = 16;
/// Bytes kept of a path (exec filename, opened file). Longer paths are cut and flagged.
pub const PATH_LEN: usize = 256;
/// Bytes read of one argument at most.
pub const ARG_MAX_LEN: usize = 256;
/// Arguments captured at most; more sets [`EXEC_ARGV_TRUNCATED`].
pub const ARGV_MAX_ARGS: usize = 16;
/// Packed argument bytes (NUL-separated) kept at most.
pub const ARGV_BUF_LEN: usize = 4096;
/// Size of the argument buffer: [`ARGV_BUF_LEN`] plus room for one more read, so the kernel can
/// bound a write offset with a mask (`off & (ARGV_BUF_LEN - 1)`) the verifier understands.
pub const ARGV_CAP: usize = ARGV_BUF_LEN + ARG_MAX_LEN;
/// Bytes of a watched path prefix.
pub const PREFIX_LEN: usize = 64;

const _: () = assert!(ARGV_BUF_LEN.is_power_of_two());
const _: () = assert!(Prog::ALL.len() as u32 <= Prog::COUNT);

/// Key of the watched-prefix LPM trie: `prefix_len` in bits, then the path bytes.
/// Same layout as `aya::maps::lpm_trie::Key<[u8; PREFIX_LEN]>` and its aya-ebpf twin.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathPrefixKey {
    pub prefix_len: u32,
    pub data: [u8; PREFIX_LEN],
}
const _: () = assert!(core::mem::size_of::<PathPrefixKey>() == 68);

/// Each program's slot in [`MAP_RESERVE_FAILURES`]. The userspace Loss event names the stage
/// with [`Prog::name`].
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prog {
    Exec = 0,
    Fork = 1,
    Exit = 2,
    Tcp = 3,
    FileOpen = 4,
    FileRead = 5,
    FileChange = 6,
    Ptrace = 7,
    Cred = 8,
    Memfd = 9,
    FdDup = 10,
    MemExec = 11,
    Mount = 12,
    Namespace = 13,
    BpfLoad = 14,
    Signal = 15,
    Module = 16,
}

impl Prog {
    /// Number of slots in the counter map.
    pub const COUNT: u32 = 32;
    /// Every program with a counter slot, in slot order.
    pub const ALL: [Prog; 17] = [
        Prog::Exec,
        Prog::Fork,
        Prog::Exit,
        Prog::Tcp,
        Prog::FileOpen,
        Prog::FileRead,
        Prog::FileChange,
        Prog::Ptrace,
        Prog::Cred,
        Prog::Memfd,
        Prog::FdDup,
        Prog::MemExec,
        Prog::Mount,
        Prog::Namespace,
        Prog::BpfLoad,
        Prog::Signal,
        Prog::Module,
    ];

    /// The stage name used in Loss events (the hook family that lost records).
    pub const fn name(self) -> &'static str {
        match self {
            Prog::Exec => "ebpf_exec",
            Prog::Fork => "ebpf_fork",
            Prog::Exit => "ebpf_exit",
            Prog::Tcp => "ebpf_tcp",
            Prog::FileOpen => "ebpf_file_open",
            Prog::FileRead => "ebpf_file_read",
            Prog::FileChange => "ebpf_file_change",
            Prog::Ptrace => "ebpf_ptrace",
            Prog::Cred => "ebpf_cred",
            Prog::Memfd => "ebpf_memfd",
            Prog::FdDup => "ebpf_fd_dup",
            Prog::MemExec => "ebpf_mem_exec",
            Prog::Mount => "ebpf_mount",
            Prog::Namespace => "ebpf_namespace",
            Prog::BpfLoad => "ebpf_bpf_load",
            Prog::Signal => "ebpf_signal",
            Prog::Module => "ebpf_module",
        }
    }
}

#[cfg(feature = "user")]
mod pod {
    use super::*;
    // SAFETY: all of these are #[repr(C)], Copy, contain only integers and byte arrays, and have
    // no padding bytes that could be uninitialised (sizes asserted next to each definition).
    unsafe impl aya::Pod for Header {}
    unsafe impl aya::Pod for ExecRecord {}
    unsafe impl aya::Pod for ForkRecord {}
    unsafe impl aya::Pod for ExitRecord {}
    unsafe impl aya::Pod for TcpRecord {}
    unsafe impl aya::Pod for FileRecord {}
    unsafe impl aya::Pod for PtraceRecord {}
    unsafe impl aya::Pod for CredRecord {}
    unsafe impl aya::Pod for MemfdRecord {}
    unsafe impl aya::Pod for FdDupRecord {}
    unsafe impl aya::Pod for MemExecRecord {}
    unsafe impl aya::Pod for FileChangeRecord {}
    unsafe impl aya::Pod for MountRecord {}
    unsafe impl aya::Pod for NamespaceRecord {}
    unsafe impl aya::Pod for BpfLoadRecord {}
    unsafe impl aya::Pod for SignalRecord {}
    unsafe impl aya::Pod for ModuleRecord {}
    unsafe impl aya::Pod for TpLayout {}
    unsafe impl aya::Pod for PathPrefixKey {}
    unsafe impl aya::Pod for DenyExecKey {}
    unsafe impl aya::Pod for DenyExecValue {}
    unsafe impl aya::Pod for LsmLayout {}
    unsafe impl aya::Pod for GuardLayout {}
}
