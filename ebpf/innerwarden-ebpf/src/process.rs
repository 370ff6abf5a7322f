//! Fork and exit. `sched_process_fork` fires for threads too; the clone flags seen at syscall
//! entry tell them apart without reading task_struct. Exit codes come from `exit_group` entry.

use aya_ebpf::{helpers::bpf_probe_read_user, macros::tracepoint, programs::TracePointContext};
use innerwarden_common::{EXIT_CODE_KNOWN, ExitRecord, ForkRecord, Header, Kind, Prog};

use crate::maps::{CLONE_FLAGS, EXIT_CODES, Error, PARENTS, current_ids, fill_header, output, tp};

/// `CLONE_THREAD` from `include/uapi/linux/sched.h`.
const CLONE_THREAD: u64 = 0x0001_0000;

/// `syscalls/sys_enter_clone`: `clone(unsigned long clone_flags, ...)`, flags at offset 16.
/// Kernel ≥ 4.7.
#[tracepoint]
pub fn sys_enter_clone(ctx: TracePointContext) -> u32 {
    // SAFETY: syscall argument slot 0.
    if let Ok(flags) = unsafe { ctx.read_at::<u64>(16) } {
        let (tid, _) = current_ids();
        let _ = CLONE_FLAGS.insert(tid, flags, 0);
    }
    0
}

/// `syscalls/sys_enter_clone3`: `clone3(struct clone_args *uargs, size_t size)`; `flags` is the
/// first `u64` of `clone_args` in user memory. Kernel ≥ 5.3.
#[tracepoint]
pub fn sys_enter_clone3(ctx: TracePointContext) -> u32 {
    // SAFETY: syscall argument slot 0, then a checked user read.
    let flags = unsafe { ctx.read_at::<*const u64>(16) }
        .ok()
        .and_then(|args| unsafe { bpf_probe_read_user(args) }.ok());
    if let Some(flags) = flags {
        let (tid, _) = current_ids();
        let _ = CLONE_FLAGS.insert(tid, flags, 0);
    }
    0
}

/// `sched/sched_process_fork`: `(struct task_struct *parent, struct task_struct *child)`,
/// format `parent_comm, pid_t parent_pid, child_comm, pid_t child_pid`; runs in the parent.
/// Kernel ≥ 3.4.
#[tracepoint]
pub fn sched_process_fork(ctx: TracePointContext) -> u32 {
    let _ = try_fork(&ctx);
    0
}

fn try_fork(ctx: &TracePointContext) -> Result<(), Error> {
    let (tid, pid) = current_ids();
    // SAFETY: map lookup of a plain u64.
    let flags = unsafe { CLONE_FLAGS.get(tid) }.copied().unwrap_or(0);
    let _ = CLONE_FLAGS.remove(tid);
    if flags & CLONE_THREAD != 0 {
        return Ok(());
    }
    // SAFETY: offset from the tracepoint format.
    let child: i32 = unsafe { ctx.read_at(tp!(fork_child_pid)) }.map_err(|_| Error::Read)?;
    let child = child as u32;
    let _ = PARENTS.insert(child, pid, 0);
    let mut rec = ForkRecord {
        header: zero_header(),
        parent_pid: pid,
        child_pid: child,
    };
    fill_header(
        &mut rec.header,
        Kind::Fork,
        core::mem::size_of::<ForkRecord>(),
    );
    output(Prog::Fork, &rec)
}

/// `syscalls/sys_enter_exit_group`: `exit_group(int error_code)`, code at offset 16.
/// Kernel ≥ 4.7.
#[tracepoint]
pub fn sys_enter_exit_group(ctx: TracePointContext) -> u32 {
    // SAFETY: syscall argument slot 0.
    if let Ok(code) = unsafe { ctx.read_at::<u64>(16) } {
        let (_, pid) = current_ids();
        let _ = EXIT_CODES.insert(pid, ((code as i32) & 0xff) << 8, 0);
    }
    0
}

/// `sched/sched_process_exit`: `(struct task_struct *p)`, format `char comm[16]; pid_t pid;
/// int prio` (+ `bool group_dead` on recent kernels, not relied on). Emitted for the
/// thread-group leader only. Kernel ≥ 3.4.
#[tracepoint]
pub fn sched_process_exit(ctx: TracePointContext) -> u32 {
    let _ = try_exit(&ctx);
    0
}

fn try_exit(_ctx: &TracePointContext) -> Result<(), Error> {
    // The exiting task is the current one.
    let (tid, pid) = current_ids();
    if tid != pid {
        return Ok(());
    }
    // SAFETY: map lookup of a plain i32.
    let code = unsafe { EXIT_CODES.get(pid) }.copied();
    let _ = EXIT_CODES.remove(pid);
    let _ = PARENTS.remove(pid);
    let mut rec = ExitRecord {
        header: zero_header(),
        code: code.unwrap_or(0),
        flags: if code.is_some() { EXIT_CODE_KNOWN } else { 0 },
    };
    fill_header(
        &mut rec.header,
        Kind::Exit,
        core::mem::size_of::<ExitRecord>(),
    );
    output(Prog::Exit, &rec)
}

#[inline(always)]
pub fn zero_header() -> Header {
    Header {
        kind: 0,
        size: 0,
        ts_boot_ns: 0,
        pid: 0,
        tid: 0,
        uid: 0,
        gid: 0,
        cgroup_id: 0,
        comm: [0; 16],
    }
}
