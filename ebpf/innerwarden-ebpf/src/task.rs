//! Calls that act on tasks and credentials: ptrace, the setuid family and capset, and signals.
//! All are `syscalls/sys_enter_<name>` tracepoints (kernel ≥ 4.7; `pidfd_send_signal` ≥ 5.1),
//! arguments at `16 + 8 * i`.

use aya_ebpf::{macros::tracepoint, programs::TracePointContext};
use innerwarden_common::{
    CredRecord, CredSyscall, Kind, Prog, PtraceRecord, SIG_SYSCALL_KILL, SIG_SYSCALL_PIDFD,
    SIG_SYSCALL_TGKILL, SIG_SYSCALL_TKILL, SignalRecord,
};

use crate::maps::{Error, agent_tgid, current_ids, fill_header, output};
use crate::process::zero_header;

const PTRACE_TRACEME: u64 = 0;
const PTRACE_POKETEXT: u64 = 4;
const PTRACE_POKEDATA: u64 = 5;
const PTRACE_POKEUSER: u64 = 6;
const PTRACE_SETREGS: u64 = 13;
const PTRACE_SETFPREGS: u64 = 15;
const PTRACE_ATTACH: u64 = 16;
const PTRACE_SETREGSET: u64 = 0x4205;
const PTRACE_SEIZE: u64 = 0x4206;

/// `syscalls/sys_enter_ptrace`: `ptrace(long request, long pid, unsigned long addr, unsigned
/// long data)`. Kept in the kernel: requests that take a task (attach, seize, traceme) or write
/// its memory or registers (poke*, setregs, setfpregs, setregset). Reads and continue/step
/// requests, which a debugger or strace issues per stop, are dropped here.
#[tracepoint]
pub fn sys_enter_ptrace(ctx: TracePointContext) -> u32 {
    let _ = try_ptrace(&ctx);
    0
}

fn try_ptrace(ctx: &TracePointContext) -> Result<(), Error> {
    // SAFETY (record reads): fixed syscall argument slots.
    let request: u64 = unsafe { ctx.read_at(16) }.map_err(|_| Error::Read)?;
    match request {
        PTRACE_TRACEME | PTRACE_POKETEXT | PTRACE_POKEDATA | PTRACE_POKEUSER | PTRACE_SETREGS
        | PTRACE_SETFPREGS | PTRACE_ATTACH | PTRACE_SETREGSET | PTRACE_SEIZE => {}
        _ => return Ok(()),
    }
    let target: u64 = unsafe { ctx.read_at(24) }.map_err(|_| Error::Read)?;
    let mut rec = PtraceRecord {
        header: zero_header(),
        request,
        target,
    };
    fill_header(
        &mut rec.header,
        Kind::Ptrace,
        core::mem::size_of::<PtraceRecord>(),
    );
    output(Prog::Ptrace, &rec)
}

macro_rules! cred_tp {
    ($name:ident, $sys:ident, $nargs:expr, $doc:literal) => {
        #[doc = $doc]
        #[tracepoint]
        pub fn $name(ctx: TracePointContext) -> u32 {
            let _ = try_cred(&ctx, CredSyscall::$sys, $nargs);
            0
        }
    };
}

cred_tp!(sys_enter_setuid, Setuid, 1, "`setuid(uid)`.");
cred_tp!(sys_enter_setreuid, Setreuid, 2, "`setreuid(ruid, euid)`.");
cred_tp!(
    sys_enter_setresuid,
    Setresuid,
    3,
    "`setresuid(ruid, euid, suid)`."
);
cred_tp!(sys_enter_setfsuid, Setfsuid, 1, "`setfsuid(uid)`.");
cred_tp!(sys_enter_setgid, Setgid, 1, "`setgid(gid)`.");
cred_tp!(sys_enter_setregid, Setregid, 2, "`setregid(rgid, egid)`.");
cred_tp!(
    sys_enter_setresgid,
    Setresgid,
    3,
    "`setresgid(rgid, egid, sgid)`."
);
cred_tp!(sys_enter_setfsgid, Setfsgid, 1, "`setfsgid(gid)`.");
cred_tp!(
    sys_enter_capset,
    Capset,
    0,
    "`capset(cap_user_header_t, const cap_user_data_t)`: reported without its arguments."
);

fn try_cred(ctx: &TracePointContext, sys: CredSyscall, nargs: usize) -> Result<(), Error> {
    let mut rec = CredRecord {
        header: zero_header(),
        syscall: sys as u32,
        _pad: 0,
        args: [0; 3],
    };
    let mut i = 0;
    while i < 3 && i < nargs {
        // SAFETY: fixed syscall argument slot i.
        rec.args[i] = unsafe { ctx.read_at::<u64>(16 + 8 * i) }.map_err(|_| Error::Read)?;
        i += 1;
    }
    fill_header(
        &mut rec.header,
        Kind::CredChange,
        core::mem::size_of::<CredRecord>(),
    );
    output(Prog::Cred, &rec)
}

const SIGKILL: u32 = 9;
const SIGTERM: u32 = 15;
const SIGSTOP: u32 = 19;
/// Signals LKM rootkits (Diamorphine and its forks) take as commands through their kill()
/// hook: SIGSYS hides a pid, SIGRTMAX-1 toggles the module, SIGRTMAX grants root.
const SIGSYS: u32 = 31;
const SIGRTMAX_1: u32 = 63;
const SIGRTMAX: u32 = 64;

/// The signal filter: SIGKILL, SIGTERM or SIGSTOP to another process, any signal (not the
/// probe 0) to the agent, and a rootkit command signal to anyone, the sender itself included
/// (`kill -64 $$` from a shell). `target` is `None` for pidfd_send_signal, whose target is a
/// pidfd.
#[inline(always)]
fn wanted(target: Option<i32>, sig: u32) -> bool {
    if sig == 0 {
        return false;
    }
    if matches!(sig, SIGSYS | SIGRTMAX_1 | SIGRTMAX) {
        return true;
    }
    let (tid, pid) = current_ids();
    if let Some(t) = target {
        if t > 0 && (t as u32 == pid || t as u32 == tid) {
            return false; // to itself (raise, abort)
        }
        let agent = agent_tgid();
        if agent != 0 && t as u32 == agent {
            return true;
        }
    }
    matches!(sig, SIGKILL | SIGTERM | SIGSTOP)
}

fn try_signal(
    ctx: &TracePointContext,
    syscall: u32,
    target_off: usize,
    sig_off: usize,
) -> Result<(), Error> {
    // SAFETY (record reads): fixed syscall argument slots.
    let raw: u64 = unsafe { ctx.read_at(target_off) }.map_err(|_| Error::Read)?;
    let sig: u64 = unsafe { ctx.read_at(sig_off) }.map_err(|_| Error::Read)?;
    let sig = sig as u32;
    let pidfd = syscall == SIG_SYSCALL_PIDFD;
    let target = if pidfd { None } else { Some(raw as i32) };
    if !wanted(target, sig) {
        return Ok(());
    }
    let mut rec = SignalRecord {
        header: zero_header(),
        target: target.unwrap_or(0),
        sig,
        syscall,
        pidfd: if pidfd { raw as i32 } else { -1 },
    };
    fill_header(
        &mut rec.header,
        Kind::Signal,
        core::mem::size_of::<SignalRecord>(),
    );
    output(Prog::Signal, &rec)
}

/// `syscalls/sys_enter_kill`: `kill(pid_t pid, int sig)`.
#[tracepoint]
pub fn sys_enter_kill(ctx: TracePointContext) -> u32 {
    let _ = try_signal(&ctx, SIG_SYSCALL_KILL, 16, 24);
    0
}

/// `syscalls/sys_enter_tkill`: `tkill(pid_t pid, int sig)` (a thread id).
#[tracepoint]
pub fn sys_enter_tkill(ctx: TracePointContext) -> u32 {
    let _ = try_signal(&ctx, SIG_SYSCALL_TKILL, 16, 24);
    0
}

/// `syscalls/sys_enter_tgkill`: `tgkill(pid_t tgid, pid_t pid, int sig)`.
#[tracepoint]
pub fn sys_enter_tgkill(ctx: TracePointContext) -> u32 {
    let _ = try_signal(&ctx, SIG_SYSCALL_TGKILL, 16, 32);
    0
}

/// `syscalls/sys_enter_pidfd_send_signal`: `pidfd_send_signal(int pidfd, int sig, siginfo_t
/// *info, unsigned int flags)`. Kernel ≥ 5.1. The target is resolved by the agent.
#[tracepoint]
pub fn sys_enter_pidfd_send_signal(ctx: TracePointContext) -> u32 {
    let _ = try_signal(&ctx, SIG_SYSCALL_PIDFD, 16, 24);
    0
}
