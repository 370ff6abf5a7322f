//! Self-protection: two BPF-LSM programs that keep other processes from stopping or tracing the
//! agent. The guarded tgid is in `GUARDED_TGID` (set by the agent); PID 1 (systemd) may still
//! signal it, so `systemctl stop` works, and the agent may signal itself. Loaded and attached
//! only by the agent's guard loader, never by the sensor (many kernels refuse LSM programs).
//!
//! Both fail open on a read error: a layout mistake must not make processes unkillable.

use aya_ebpf::{
    helpers::{bpf_probe_read_kernel, generated::bpf_get_current_pid_tgid},
    macros::lsm,
    programs::LsmContext,
};

use crate::maps::{Error, GUARDED_TGID, guard_off};

const EPERM: i32 = 1;
const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;
const SIGSTOP: i32 = 19;

/// Whether `task` (a `struct task_struct *`) belongs to the guarded process and the current
/// task is neither PID 1 nor that process.
#[inline(always)]
fn guarded_from_outside(task: *const u8) -> Result<bool, Error> {
    let off = guard_off!(task_tgid);
    if off == 0 {
        return Ok(false); // offsets not set by userspace
    }
    let Some(&guarded) = GUARDED_TGID.get(0) else {
        return Ok(false);
    };
    if guarded == 0 {
        return Ok(false);
    }
    // SAFETY: bpf_probe_read_kernel faults safely; the offset is from the kernel's BTF.
    let tgid: i32 =
        unsafe { bpf_probe_read_kernel(task.wrapping_add(off).cast()) }.map_err(|_| Error::Read)?;
    if tgid as u32 != guarded {
        return Ok(false);
    }
    // SAFETY: no arguments.
    let me = (unsafe { bpf_get_current_pid_tgid() } >> 32) as u32;
    Ok(me != 1 && me != guarded)
}

/// `lsm/ptrace_access_check`: `int security_ptrace_access_check(struct task_struct *child,
/// unsigned int mode)`. Denies (-EPERM) any ptrace attach or /proc memory access to the
/// guarded process by another process than PID 1. Kernel ≥ 5.7 with `bpf` in the LSMs.
#[lsm(hook = "ptrace_access_check")]
pub fn ptrace_access_check(ctx: LsmContext) -> i32 {
    let prev: i32 = ctx.arg(2);
    if prev != 0 {
        return prev;
    }
    match guarded_from_outside(ctx.arg(0)) {
        Ok(true) => -EPERM,
        _ => 0,
    }
}

/// `lsm/task_kill`: `int security_task_kill(struct task_struct *p, struct kernel_siginfo
/// *info, int sig, const struct cred *cred)`. Denies SIGKILL, SIGSTOP and SIGTERM to the
/// guarded process from another process than PID 1. Kernel-originated signals (OOM killer)
/// do not pass this hook. Kernel ≥ 5.7 with `bpf` in the LSMs.
#[lsm(hook = "task_kill")]
pub fn task_kill(ctx: LsmContext) -> i32 {
    let prev: i32 = ctx.arg(4);
    if prev != 0 {
        return prev;
    }
    let sig: i32 = ctx.arg(2);
    if !matches!(sig, SIGKILL | SIGTERM | SIGSTOP) {
        return 0;
    }
    match guarded_from_outside(ctx.arg(0)) {
        Ok(true) => -EPERM,
        _ => 0,
    }
}
