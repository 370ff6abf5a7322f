//! Fileless-execution and shell-redirection building blocks: `memfd_create`, executable memory
//! (`mmap`/`mprotect`), and `dup2`/`dup3` onto stdio. `syscalls/sys_enter_<name>` tracepoints,
//! kernel ≥ 4.7 (`memfd_create` ≥ 3.17), arguments at `16 + 8 * i`.

use aya_ebpf::{
    helpers::generated::bpf_probe_read_user_str, macros::tracepoint, programs::TracePointContext,
};
use innerwarden_common::{
    DUP_SYSCALL_DUP2, DUP_SYSCALL_DUP3, FdDupRecord, Kind, MEM_SYSCALL_MMAP, MEM_SYSCALL_MPROTECT,
    MEMFD_NAME_LEN, MemExecRecord, MemfdRecord, Prog, STR_TRUNCATED,
};

use crate::maps::{Error, MEMFD_SCRATCH, fill_header, output};
use crate::process::zero_header;

const PROT_WRITE: u64 = 0x2;
const PROT_EXEC: u64 = 0x4;
const MAP_ANONYMOUS: u64 = 0x20;

/// `syscalls/sys_enter_memfd_create`: `memfd_create(const char *uname, unsigned int flags)`.
#[tracepoint]
pub fn sys_enter_memfd_create(ctx: TracePointContext) -> u32 {
    let _ = try_memfd(&ctx);
    0
}

fn try_memfd(ctx: &TracePointContext) -> Result<(), Error> {
    // SAFETY (record reads): fixed syscall argument slots.
    let name: *const u8 = unsafe { ctx.read_at(16) }.map_err(|_| Error::Read)?;
    let flags: u64 = unsafe { ctx.read_at(24) }.map_err(|_| Error::Read)?;
    let rec = MEMFD_SCRATCH.get_ptr_mut(0).ok_or(Error::Map)?;
    // SAFETY: per-CPU map value, valid for this program run.
    let rec = unsafe { &mut *rec };
    rec.flags = flags as u32;
    rec.pflags = 0;
    // SAFETY: the helper bounds the write to MEMFD_NAME_LEN bytes and faults safely.
    let n = unsafe {
        bpf_probe_read_user_str(
            rec.name.as_mut_ptr().cast(),
            MEMFD_NAME_LEN as u32,
            name.cast(),
        )
    };
    if n <= 0 {
        rec.name[0] = 0;
    } else if n as usize >= MEMFD_NAME_LEN {
        rec.pflags = STR_TRUNCATED;
    }
    fill_header(
        &mut rec.header,
        Kind::MemfdCreate,
        core::mem::size_of::<MemfdRecord>(),
    );
    output(Prog::Memfd, &*rec)
}

/// `syscalls/sys_enter_mmap`: `mmap(addr, len, prot, flags, fd, off)`. Kept: `PROT_EXEC` with
/// `MAP_ANONYMOUS` or with `PROT_WRITE` (the dynamic loader maps files read+exec: dropped).
#[tracepoint]
pub fn sys_enter_mmap(ctx: TracePointContext) -> u32 {
    let _ = try_mem(&ctx, MEM_SYSCALL_MMAP);
    0
}

/// `syscalls/sys_enter_mprotect`: `mprotect(start, len, prot)`. Kept: `PROT_WRITE|PROT_EXEC`
/// together (whether the region is anonymous is not visible here).
#[tracepoint]
pub fn sys_enter_mprotect(ctx: TracePointContext) -> u32 {
    let _ = try_mem(&ctx, MEM_SYSCALL_MPROTECT);
    0
}

fn try_mem(ctx: &TracePointContext, syscall: u32) -> Result<(), Error> {
    // SAFETY (record reads): fixed syscall argument slots.
    let prot: u64 = unsafe { ctx.read_at(32) }.map_err(|_| Error::Read)?;
    if prot & PROT_EXEC == 0 {
        return Ok(());
    }
    let (flags, fd) = if syscall == MEM_SYSCALL_MMAP {
        let flags: u64 = unsafe { ctx.read_at(40) }.map_err(|_| Error::Read)?;
        let fd: u64 = unsafe { ctx.read_at(48) }.map_err(|_| Error::Read)?;
        if flags & MAP_ANONYMOUS == 0 && prot & PROT_WRITE == 0 {
            return Ok(());
        }
        (flags, fd as i32)
    } else {
        if prot & PROT_WRITE == 0 {
            return Ok(());
        }
        (0, -1)
    };
    let addr: u64 = unsafe { ctx.read_at(16) }.map_err(|_| Error::Read)?;
    let len: u64 = unsafe { ctx.read_at(24) }.map_err(|_| Error::Read)?;
    let mut rec = MemExecRecord {
        header: zero_header(),
        syscall,
        prot: prot as u32,
        flags: flags as u32,
        fd,
        addr,
        len,
    };
    fill_header(
        &mut rec.header,
        Kind::MemExec,
        core::mem::size_of::<MemExecRecord>(),
    );
    output(Prog::MemExec, &rec)
}

/// `syscalls/sys_enter_dup2`: `dup2(unsigned int oldfd, unsigned int newfd)` (absent on arm64).
#[tracepoint]
pub fn sys_enter_dup2(ctx: TracePointContext) -> u32 {
    let _ = try_dup(&ctx, DUP_SYSCALL_DUP2);
    0
}

/// `syscalls/sys_enter_dup3`: `dup3(unsigned int oldfd, unsigned int newfd, int flags)`.
#[tracepoint]
pub fn sys_enter_dup3(ctx: TracePointContext) -> u32 {
    let _ = try_dup(&ctx, DUP_SYSCALL_DUP3);
    0
}

/// Kept: a descriptor above 2 duplicated onto 0, 1 or 2. `2>&1`-style shuffles among stdio
/// (old ≤ 2) are dropped here.
fn try_dup(ctx: &TracePointContext, syscall: u32) -> Result<(), Error> {
    // SAFETY (record reads): fixed syscall argument slots.
    let oldfd: u64 = unsafe { ctx.read_at(16) }.map_err(|_| Error::Read)?;
    let newfd: u64 = unsafe { ctx.read_at(24) }.map_err(|_| Error::Read)?;
    let (oldfd, newfd) = (oldfd as u32, newfd as u32);
    if newfd > 2 || oldfd <= 2 {
        return Ok(());
    }
    let flags: u64 = if syscall == DUP_SYSCALL_DUP3 {
        unsafe { ctx.read_at(32) }.map_err(|_| Error::Read)?
    } else {
        0
    };
    let mut rec = FdDupRecord {
        header: zero_header(),
        oldfd,
        newfd,
        flags: flags as u32,
        syscall,
    };
    fill_header(
        &mut rec.header,
        Kind::FdDup,
        core::mem::size_of::<FdDupRecord>(),
    );
    output(Prog::FdDup, &rec)
}
