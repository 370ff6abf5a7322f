//! Inner Warden's kernel programs: tracepoints for telemetry, so they load wherever BPF tracing
//! does (kprobes, fentry and LSM are not needed for it), plus one BPF-LSM program for exec deny.
//!
//! Every program is a thin `#[tracepoint]` wrapper over a `try_*` function returning
//! [`maps::Error`]; records are written to the one ring buffer `EVENTS`, and every failed write
//! is counted per program in the per-CPU array `RESERVE_FAILURES` (a ring buffer reports no
//! loss by itself). Record layouts live in `innerwarden-common`, the one ABI definition.
//!
//! # Layout
//! - [`maps`]: maps, the tracepoint-layout global, the header fill and loss counting.
//! - [`exec`]: `sys_enter_execve[at]` captures argv per task; `sched_process_exec` emits.
//! - [`process`]: fork (threads filtered via clone flags) and exit (exit code via exit_group).
//! - [`net`]: `inet_sock_set_state` → connect, accept, listen.
//! - [`file`]: `sys_enter_open*` for writing under a watched prefix (LPM trie), and read-only
//!   opens of sensitive paths (a second trie).
//! - [`change`]: unlink, rename, truncate, chmod, chown, link, symlink under a watched prefix;
//!   chmod setting setuid/setgid anywhere.
//! - [`task`]: ptrace (taking or writing a task), setuid family + capset, signals (filtered).
//! - [`mem`]: memfd_create, executable anonymous/writable memory, dup2/dup3 onto stdio.
//! - [`system`]: mount, unshare/setns, bpf(BPF_PROG_LOAD), module/module_load.
//! - [`guard`]: BPF-LSM self-protection, `lsm/ptrace_access_check` and `lsm/task_kill`
//!   denying ptrace of the agent and SIGKILL/SIGSTOP/SIGTERM to it from anyone but PID 1.
//!   Loaded only by the agent's guard loader.
//! - [`deny_exec`]: the one BPF-LSM program, `lsm/bprm_check_security`, denying exec of files
//!   in `DENY_EXEC` until their kernel-enforced expiry. Loaded only by the agent's LsmResponder.
#![no_std]
#![no_main]

mod change;
mod deny_exec;
mod exec;
mod file;
mod guard;
mod maps;
mod mem;
mod net;
mod process;
mod system;
mod task;

/// GPL-compatible licence string: the `bpf_probe_read_*` helpers are GPL-only.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // BPF programs cannot unwind or abort; the verifier rejects any reachable panic path.
    loop {}
}
