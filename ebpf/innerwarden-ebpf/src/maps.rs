//! Maps, the tracepoint-layout global and the helpers every program shares.

use aya_ebpf::{
    helpers::generated::{
        bpf_get_current_cgroup_id, bpf_get_current_comm, bpf_get_current_pid_tgid,
        bpf_get_current_uid_gid, bpf_ktime_get_boot_ns,
    },
    macros::map,
    maps::{Array, HashMap, LpmTrie, LruHashMap, PerCpuArray, RingBuf},
};
use innerwarden_common::{
    DEFAULT_RING_BYTES, DenyExecKey, DenyExecValue, ExecRecord, FileChangeRecord, FileRecord,
    GuardLayout, Header, Kind, LsmLayout, MemfdRecord, MountRecord, PREFIX_LEN, PathPrefixKey,
    Prog, TASK_COMM_LEN, TpLayout,
};

/// The one ring buffer all records go to. Userspace may resize it at load.
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(DEFAULT_RING_BYTES, 0);

/// Failed ring-buffer writes, per program ([`Prog`] index), per CPU.
#[map]
pub static RESERVE_FAILURES: PerCpuArray<u64> = PerCpuArray::with_max_entries(Prog::COUNT, 0);

/// Watched path prefixes for file events, set by userspace. Value unused (always 1).
#[map]
pub static WATCHED_PREFIXES: LpmTrie<[u8; PREFIX_LEN], u8> = LpmTrie::with_max_entries(1024, 0);

/// Sensitive path prefixes whose read-only opens are reported, set by userspace.
#[map]
pub static READ_PREFIXES: LpmTrie<[u8; PREFIX_LEN], u8> = LpmTrie::with_max_entries(256, 0);

/// Per-CPU scratch for a file-change record and the prefix-lookup key.
#[map]
pub static CHANGE_SCRATCH: PerCpuArray<ChangeScratch> = PerCpuArray::with_max_entries(1, 0);

/// Per-CPU scratch for a memfd record.
#[map]
pub static MEMFD_SCRATCH: PerCpuArray<MemfdRecord> = PerCpuArray::with_max_entries(1, 0);

/// Per-CPU scratch for a mount record.
#[map]
pub static MOUNT_SCRATCH: PerCpuArray<MountRecord> = PerCpuArray::with_max_entries(1, 0);

/// argv captured at `execve` entry, by thread id, until `sched_process_exec` emits it.
#[map]
pub static EXEC_ARGS: LruHashMap<u32, ExecRecord> = LruHashMap::with_max_entries(1024, 0);

/// Per-CPU scratch for building an exec record (too big for the 512-byte stack).
#[map]
pub static EXEC_SCRATCH: PerCpuArray<ExecRecord> = PerCpuArray::with_max_entries(1, 0);

/// Per-CPU scratch for a file record and the prefix-lookup key.
#[map]
pub static FILE_SCRATCH: PerCpuArray<FileScratch> = PerCpuArray::with_max_entries(1, 0);

/// child pid (tgid) → parent pid, learnt at fork; read at exec, dropped at exit.
#[map]
pub static PARENTS: LruHashMap<u32, u32> = LruHashMap::with_max_entries(65536, 0);

/// `clone`/`clone3` flags by calling thread id, to tell threads from processes at fork.
#[map]
pub static CLONE_FLAGS: LruHashMap<u32, u64> = LruHashMap::with_max_entries(4096, 0);

/// `exit_group` status by pid (tgid), read at the leader's exit.
#[map]
pub static EXIT_CODES: LruHashMap<u32, i32> = LruHashMap::with_max_entries(4096, 0);

/// Socket (kernel address) → header of the process that started connecting, because the
/// connect completes in softirq where the current task is unrelated.
#[map]
pub static CONNECTING: LruHashMap<u64, Header> = LruHashMap::with_max_entries(8192, 0);

/// Files whose exec is denied until an expiry (BPF-LSM `bprm_check_security`), set by the
/// agent's LsmResponder. Only that program reads it.
#[map]
pub static DENY_EXEC: HashMap<DenyExecKey, DenyExecValue> = HashMap::with_max_entries(4096, 0);

/// Users (uid) whose exec of fileless images (a file with no link) is denied until an expiry,
/// set by the agent's LsmResponder. Only the exec-deny program reads it.
#[map]
pub static DENY_FILELESS: HashMap<u32, DenyExecValue> = HashMap::with_max_entries(1024, 0);

#[repr(C)]
pub struct FileScratch {
    pub key: PathPrefixKey,
    pub _pad: u32,
    pub rec: FileRecord,
}

#[repr(C)]
pub struct ChangeScratch {
    pub key: PathPrefixKey,
    pub _pad: u32,
    pub rec: FileChangeRecord,
}

/// The agent's own pid (tgid), set by userspace at load: any signal to it is reported.
#[unsafe(no_mangle)]
pub static AGENT_TGID: u32 = 0;

/// Read [`AGENT_TGID`]. Volatile so the compiler does not fold the zero in.
#[inline(always)]
pub fn agent_tgid() -> u32 {
    // SAFETY: points at a static this program never writes.
    unsafe { core::ptr::read_volatile(&raw const AGENT_TGID) }
}

/// The tgid the self-protection LSM programs guard (slot 0; 0 = nothing guarded). Set by the
/// agent's guard loader; only those programs read it.
#[map]
pub static GUARDED_TGID: Array<u32> = Array::with_max_entries(1, 0);

/// Kernel struct offsets for the self-protection programs, set from the kernel's BTF at load.
#[unsafe(no_mangle)]
pub static GUARD_LAYOUT: GuardLayout = GuardLayout::UNSET;

/// Tracepoint field offsets, set by userspace from tracefs at load.
#[unsafe(no_mangle)]
pub static TP_LAYOUT: TpLayout = TpLayout::DEFAULT;

/// Kernel struct offsets for the LSM program, set by userspace from the kernel's BTF at load.
#[unsafe(no_mangle)]
pub static LSM_LAYOUT: LsmLayout = LsmLayout::UNSET;

/// Read one field of [`TP_LAYOUT`]. Volatile so the compiler does not fold the default in.
#[inline(always)]
pub fn layout_field(field: *const u32) -> usize {
    // SAFETY: `field` points into the TP_LAYOUT static, which this program never writes.
    unsafe { core::ptr::read_volatile(field) as usize }
}

/// The offset of a [`TpLayout`] field, e.g. `tp!(exec_old_pid)`.
macro_rules! tp {
    ($field:ident) => {
        crate::maps::layout_field(&raw const crate::maps::TP_LAYOUT.$field)
    };
}
pub(crate) use tp;

/// The offset of a [`GuardLayout`] field, e.g. `guard_off!(task_tgid)`.
macro_rules! guard_off {
    ($field:ident) => {
        crate::maps::layout_field(&raw const crate::maps::GUARD_LAYOUT.$field)
    };
}
pub(crate) use guard_off;

/// The offset of an [`LsmLayout`] field, e.g. `lsm_off!(bprm_file)`.
macro_rules! lsm_off {
    ($field:ident) => {
        crate::maps::layout_field(&raw const crate::maps::LSM_LAYOUT.$field)
    };
}
pub(crate) use lsm_off;

/// Why a program stopped early. The programs return 0 either way; the reason exists so each
/// `try_*` reads as straight-line code with `?`.
pub enum Error {
    /// A `bpf_probe_read*` helper failed.
    Read,
    /// A map lookup or update failed.
    Map,
    /// A ring-buffer write failed (already counted).
    Output,
}

/// Count a failed ring-buffer write for `prog`.
#[inline(always)]
pub fn count_failure(prog: Prog) {
    if let Some(slot) = RESERVE_FAILURES.get_ptr_mut(prog as u32) {
        // SAFETY: per-CPU slot; BPF tracing programs run with migration disabled.
        unsafe { *slot += 1 };
    }
}

/// Write `data` to the ring buffer, counting a failure against `prog`.
#[inline(always)]
pub fn output<T>(prog: Prog, data: &T) -> Result<(), Error> {
    EVENTS.output::<T>(data, 0).map_err(|_| {
        count_failure(prog);
        Error::Output
    })
}

/// Fill `h` for the current task.
#[inline(always)]
pub fn fill_header(h: &mut Header, kind: Kind, size: usize) {
    // SAFETY: these helpers only read the current task and take no pointers, except comm,
    // which writes TASK_COMM_LEN bytes into a buffer of that size.
    unsafe {
        let pid_tgid = bpf_get_current_pid_tgid();
        let uid_gid = bpf_get_current_uid_gid();
        h.kind = kind as u32;
        h.size = size as u32;
        h.ts_boot_ns = bpf_ktime_get_boot_ns();
        h.pid = (pid_tgid >> 32) as u32;
        h.tid = pid_tgid as u32;
        h.uid = uid_gid as u32;
        h.gid = (uid_gid >> 32) as u32;
        h.cgroup_id = bpf_get_current_cgroup_id();
        bpf_get_current_comm(h.comm.as_mut_ptr().cast(), TASK_COMM_LEN as u32);
    }
}

/// Current thread id and pid (tgid).
#[inline(always)]
pub fn current_ids() -> (u32, u32) {
    // SAFETY: no arguments, reads the current task.
    let pid_tgid = unsafe { bpf_get_current_pid_tgid() };
    (pid_tgid as u32, (pid_tgid >> 32) as u32)
}
