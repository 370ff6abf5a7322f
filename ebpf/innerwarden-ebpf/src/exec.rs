//! Exec: argv is read from user memory at syscall entry (the only moment it is reachable without
//! task_struct offsets), kept per thread, and emitted when the exec has succeeded.

use aya_ebpf::{
    EbpfContext,
    helpers::{
        bpf_probe_read_user,
        generated::{bpf_probe_read_kernel_str, bpf_probe_read_user_str},
    },
    macros::tracepoint,
    programs::TracePointContext,
};
use innerwarden_common::{
    ARG_MAX_LEN, ARGV_BUF_LEN, ARGV_MAX_ARGS, EXEC_ARGV_MISSING, EXEC_ARGV_TRUNCATED,
    EXEC_FILENAME_TRUNCATED, ExecRecord, Kind, PATH_LEN, Prog,
};

use crate::maps::{EXEC_ARGS, EXEC_SCRATCH, Error, PARENTS, current_ids, fill_header, output, tp};

/// `syscalls/sys_enter_execve`: `execve(const char *filename, const char *const *argv,
/// const char *const *envp)`; argv at offset 24. Kernel ≥ 4.7 (BPF tracepoints).
#[tracepoint]
pub fn sys_enter_execve(ctx: TracePointContext) -> u32 {
    let _ = try_enter_exec(&ctx, 24);
    0
}

/// `syscalls/sys_enter_execveat`: `execveat(int fd, const char *filename, const char *const
/// *argv, const char *const *envp, int flags)`; argv at offset 32. Kernel ≥ 4.7.
#[tracepoint]
pub fn sys_enter_execveat(ctx: TracePointContext) -> u32 {
    let _ = try_enter_exec(&ctx, 32);
    0
}

/// `sched/sched_process_exec`: `(struct task_struct *p, pid_t old_pid, struct linux_binprm
/// *bprm)`, format `__data_loc char[] filename; pid_t pid; pid_t old_pid`. Fires only on success,
/// in the new image. Kernel ≥ 3.4; with the ring buffer ≥ 5.8.
#[tracepoint]
pub fn sched_process_exec(ctx: TracePointContext) -> u32 {
    let _ = try_sched_process_exec(&ctx);
    0
}

fn try_enter_exec(ctx: &TracePointContext, argv_offset: usize) -> Result<(), Error> {
    // SAFETY: reading the syscall argument slot of the tracepoint record.
    let argv: *const *const u8 = unsafe { ctx.read_at(argv_offset) }.map_err(|_| Error::Read)?;
    let rec = EXEC_SCRATCH.get_ptr_mut(0).ok_or(Error::Map)?;
    // SAFETY: per-CPU map value, valid for the duration of this program run.
    let rec = unsafe { &mut *rec };
    rec.argc = 0;
    rec.flags = 0;
    let mut off: usize = 0;
    let mut done = false;
    for i in 0..ARGV_MAX_ARGS {
        // SAFETY: bpf_probe_read_user handles invalid user pointers by returning an error.
        let arg: *const u8 = match unsafe { bpf_probe_read_user(argv.wrapping_add(i)) } {
            Ok(p) => p,
            Err(_) => {
                done = true;
                break;
            }
        };
        if arg.is_null() {
            done = true;
            break;
        }
        if off >= ARGV_BUF_LEN {
            break;
        }
        // Mask so the verifier sees `dst + ARG_MAX_LEN` inside the ARGV_CAP buffer.
        let at = off & (ARGV_BUF_LEN - 1);
        // SAFETY: at < ARGV_BUF_LEN and argv has ARGV_BUF_LEN + ARG_MAX_LEN bytes.
        let n = unsafe {
            bpf_probe_read_user_str(
                rec.argv.as_mut_ptr().wrapping_add(at).cast(),
                ARG_MAX_LEN as u32,
                arg.cast(),
            )
        };
        if n <= 0 {
            break;
        }
        let n = (n as usize) & (ARG_MAX_LEN * 2 - 1);
        if n >= ARG_MAX_LEN {
            rec.flags |= EXEC_ARGV_TRUNCATED;
        }
        off = at + n;
        rec.argc += 1;
    }
    if !done {
        // Either the buffer filled up or ARGV_MAX_ARGS were read: truncated unless argv[n] is NULL.
        let n = rec.argc as usize & (ARGV_MAX_ARGS * 2 - 1);
        // SAFETY: as above.
        let next: *const u8 =
            unsafe { bpf_probe_read_user(argv.wrapping_add(n)) }.unwrap_or(core::ptr::null());
        if !next.is_null() {
            rec.flags |= EXEC_ARGV_TRUNCATED;
        }
    }
    rec.argv_len = off as u32;
    let (tid, _) = current_ids();
    EXEC_ARGS.insert(tid, &*rec, 0).map_err(|_| Error::Map)
}

fn try_sched_process_exec(ctx: &TracePointContext) -> Result<(), Error> {
    // SAFETY: offsets come from the tracepoint's format (TP_LAYOUT), reads are checked.
    let old_pid: i32 = unsafe { ctx.read_at(tp!(exec_old_pid)) }.map_err(|_| Error::Read)?;
    let old_pid = old_pid as u32;
    let rec = match EXEC_ARGS.get_ptr_mut(old_pid) {
        Some(rec) => rec,
        None => {
            let rec = EXEC_SCRATCH.get_ptr_mut(0).ok_or(Error::Map)?;
            // SAFETY: per-CPU map value.
            let r = unsafe { &mut *rec };
            r.argc = 0;
            r.argv_len = 0;
            r.flags = EXEC_ARGV_MISSING;
            rec
        }
    };
    // SAFETY: a map value, valid for this program run (LRU eviction of our own key while we run
    // would only garble this one record, never memory safety: the kernel keeps the element).
    let rec = unsafe { &mut *rec };
    fill_header(
        &mut rec.header,
        Kind::Exec,
        core::mem::size_of::<ExecRecord>(),
    );
    // SAFETY: map lookup of a plain u32 value.
    rec.ppid = unsafe { PARENTS.get(rec.header.pid) }.copied().unwrap_or(0);

    // SAFETY: as above.
    let loc: u32 = unsafe { ctx.read_at(tp!(exec_filename)) }.map_err(|_| Error::Read)?;
    let src = ctx
        .as_ptr()
        .cast::<u8>()
        .wrapping_add((loc & 0xffff) as usize);
    // SAFETY: the helper bounds the read to PATH_LEN and faults safely.
    let n = unsafe {
        bpf_probe_read_kernel_str(
            rec.filename.as_mut_ptr().cast(),
            PATH_LEN as u32,
            src.cast(),
        )
    };
    if n <= 0 {
        rec.filename[0] = 0;
    } else if n as usize >= PATH_LEN && (loc >> 16) as usize > PATH_LEN {
        rec.flags |= EXEC_FILENAME_TRUNCATED;
    }
    let res = output(Prog::Exec, &*rec);
    let _ = EXEC_ARGS.remove(old_pid);
    res
}
