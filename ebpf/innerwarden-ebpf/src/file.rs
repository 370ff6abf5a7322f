//! Opens for writing under a watched path prefix. The path is the one the caller passed: only
//! absolute paths are matched (a relative path would need the task's cwd or the dirfd's dentry).

use aya_ebpf::{
    helpers::{bpf_probe_read_user, generated::bpf_probe_read_user_str},
    macros::tracepoint,
    maps::lpm_trie::Key,
    programs::TracePointContext,
};
use innerwarden_common::{
    FILE_PATH_TRUNCATED, FileRecord, Kind, PATH_LEN, PREFIX_LEN, PathPrefixKey, Prog,
};

use crate::maps::{Error, FILE_SCRATCH, WATCHED_PREFIXES, fill_header, output};

const O_WRONLY: u64 = 0o1;
const O_RDWR: u64 = 0o2;
const O_CREAT: u64 = 0o100;
const O_TRUNC: u64 = 0o1000;
/// Flags that make an open a write.
const WRITE_FLAGS: u64 = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC;

/// `syscalls/sys_enter_openat`: `openat(int dfd, const char *filename, int flags, umode_t mode)`;
/// filename at 24, flags at 32. Kernel ≥ 4.7.
#[tracepoint]
pub fn sys_enter_openat(ctx: TracePointContext) -> u32 {
    // SAFETY: syscall argument slot 2.
    if let Ok(flags) = unsafe { ctx.read_at::<u64>(32) } {
        let _ = try_open(&ctx, 24, flags);
    }
    0
}

/// `syscalls/sys_enter_openat2`: `openat2(int dfd, const char *filename, struct open_how *how,
/// size_t usize)`; `how->flags` is the first `u64` of `open_how`. Kernel ≥ 5.6.
#[tracepoint]
pub fn sys_enter_openat2(ctx: TracePointContext) -> u32 {
    // SAFETY: syscall argument slot 2, then a checked user read.
    let flags = unsafe { ctx.read_at::<*const u64>(32) }
        .ok()
        .and_then(|how| unsafe { bpf_probe_read_user(how) }.ok());
    if let Some(flags) = flags {
        let _ = try_open(&ctx, 24, flags);
    }
    0
}

/// `syscalls/sys_enter_open`: `open(const char *filename, int flags, umode_t mode)`; filename at
/// 16, flags at 24. Legacy syscall (x86_64 and a few others; absent on arm64). Kernel ≥ 4.7.
#[tracepoint]
pub fn sys_enter_open(ctx: TracePointContext) -> u32 {
    // SAFETY: syscall argument slot 1.
    if let Ok(flags) = unsafe { ctx.read_at::<u64>(24) } {
        let _ = try_open(&ctx, 16, flags);
    }
    0
}

/// `syscalls/sys_enter_creat`: `creat(const char *pathname, umode_t mode)`, which is
/// `open(O_CREAT|O_WRONLY|O_TRUNC)`; pathname at 16. Legacy (absent on arm64). Kernel ≥ 4.7.
#[tracepoint]
pub fn sys_enter_creat(ctx: TracePointContext) -> u32 {
    let _ = try_open(&ctx, 16, O_CREAT | O_WRONLY | O_TRUNC);
    0
}

fn try_open(ctx: &TracePointContext, path_offset: usize, flags: u64) -> Result<(), Error> {
    if flags & WRITE_FLAGS == 0 {
        return Ok(());
    }
    // SAFETY: syscall argument slot holding the user path pointer.
    let path: *const u8 = unsafe { ctx.read_at(path_offset) }.map_err(|_| Error::Read)?;
    let scratch = FILE_SCRATCH.get_ptr_mut(0).ok_or(Error::Map)?;
    // SAFETY: per-CPU map value, valid for this program run.
    let scratch = unsafe { &mut *scratch };
    // First the prefix-sized head, for the lookup (cheap for the common non-matching case).
    // SAFETY: the helper bounds the write to PREFIX_LEN bytes and faults safely.
    let n = unsafe {
        bpf_probe_read_user_str(scratch.key.data.as_mut_ptr().cast(), PREFIX_LEN as u32, path.cast())
    };
    if n <= 1 || scratch.key.data[0] != b'/' {
        return Ok(());
    }
    // Bits to match: the path without its NUL (or all of the head when it was cut).
    let len = if (n as usize) < PREFIX_LEN { n as usize - 1 } else { PREFIX_LEN };
    scratch.key.prefix_len = (len * 8) as u32;
    let key = (&scratch.key as *const PathPrefixKey).cast::<Key<[u8; PREFIX_LEN]>>();
    // SAFETY: PathPrefixKey is #[repr(C)] { u32, [u8; PREFIX_LEN] } without padding, the same
    // bytes as aya's packed Key<[u8; PREFIX_LEN]> (alignment 1).
    if WATCHED_PREFIXES.get(unsafe { &*key }).is_none() {
        return Ok(());
    }
    let rec = &mut scratch.rec;
    // SAFETY: as above, bounded to PATH_LEN.
    let n = unsafe { bpf_probe_read_user_str(rec.path.as_mut_ptr().cast(), PATH_LEN as u32, path.cast()) };
    if n <= 0 {
        return Err(Error::Read);
    }
    rec.pflags = if n as usize >= PATH_LEN { FILE_PATH_TRUNCATED } else { 0 };
    rec.open_flags = flags as u32;
    fill_header(&mut rec.header, Kind::FileOpenWrite, core::mem::size_of::<FileRecord>());
    output(Prog::FileOpen, &*rec)
}
