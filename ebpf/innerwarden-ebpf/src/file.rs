//! Opens for writing under a watched path prefix (`WATCHED_PREFIXES`), and read-only opens of a
//! sensitive path (`READ_PREFIXES`: shadow, private keys, credential stores). The path is the
//! one the caller passed: only absolute paths are matched (a relative path would need the
//! task's cwd or the dirfd's dentry).

use aya_ebpf::{
    helpers::{bpf_probe_read_user, generated::bpf_probe_read_user_str},
    macros::tracepoint,
    maps::{LpmTrie, lpm_trie::Key},
    programs::TracePointContext,
};
use innerwarden_common::{
    FILE_HOME, FILE_PATH_TRUNCATED, FileRecord, Kind, PATH_LEN, PREFIX_HOME, PREFIX_LEN,
    PathPrefixKey, Prog,
};

use crate::maps::{Error, FILE_SCRATCH, READ_PREFIXES, WATCHED_PREFIXES, fill_header, output};

const O_WRONLY: u64 = 0o1;
const O_RDWR: u64 = 0o2;
const O_CREAT: u64 = 0o100;
const O_TRUNC: u64 = 0o1000;
/// Flags that make an open a write.
const WRITE_FLAGS: u64 = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC;
/// `O_PATH`: a descriptor that cannot read or write.
const O_PATH: u64 = 0o10000000;

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
    if flags & O_PATH != 0 {
        return Ok(());
    }
    let (trie, kind, prog) = if flags & WRITE_FLAGS != 0 {
        (&WATCHED_PREFIXES, Kind::FileOpenWrite, Prog::FileOpen)
    } else {
        (&READ_PREFIXES, Kind::FileRead, Prog::FileRead)
    };
    // SAFETY: syscall argument slot holding the user path pointer.
    let path: *const u8 = unsafe { ctx.read_at(path_offset) }.map_err(|_| Error::Read)?;
    let scratch = FILE_SCRATCH.get_ptr_mut(0).ok_or(Error::Map)?;
    // SAFETY: per-CPU map value, valid for this program run.
    let scratch = unsafe { &mut *scratch };
    let Some(value) = lookup_prefix(trie, &mut scratch.key, path) else {
        return Ok(());
    };
    let rec = &mut scratch.rec;
    let (_, cut) = read_path(&mut rec.path, path)?;
    rec.pflags = if cut { FILE_PATH_TRUNCATED } else { 0 };
    if value == PREFIX_HOME {
        rec.pflags |= FILE_HOME;
    }
    rec.open_flags = flags as u32;
    fill_header(&mut rec.header, kind, core::mem::size_of::<FileRecord>());
    output(prog, &*rec)
}

/// Look `path` (a user pointer) up in a prefix trie, using `key` as the buffer. Only absolute
/// paths match. Returns the trie value of the longest matching prefix.
#[inline(always)]
pub fn lookup_prefix(
    trie: &LpmTrie<[u8; PREFIX_LEN], u8>,
    key: &mut PathPrefixKey,
    path: *const u8,
) -> Option<u8> {
    // Only the prefix-sized head is read for the lookup (cheap for the common non-match).
    // SAFETY: the helper bounds the write to PREFIX_LEN bytes and faults safely.
    let n = unsafe {
        bpf_probe_read_user_str(key.data.as_mut_ptr().cast(), PREFIX_LEN as u32, path.cast())
    };
    if n <= 1 || key.data[0] != b'/' {
        return None;
    }
    // Bits to match: the path without its NUL (or all of the head when it was cut).
    let len = if (n as usize) < PREFIX_LEN {
        n as usize - 1
    } else {
        PREFIX_LEN
    };
    key.prefix_len = (len * 8) as u32;
    let k = (key as *const PathPrefixKey).cast::<Key<[u8; PREFIX_LEN]>>();
    // SAFETY: PathPrefixKey is #[repr(C)] { u32, [u8; PREFIX_LEN] } without padding, the same
    // bytes as aya's packed Key<[u8; PREFIX_LEN]> (alignment 1).
    trie.get(unsafe { &*k }).copied()
}

/// Read a user path into `dst`; returns the bytes read and whether it was cut short.
#[inline(always)]
pub fn read_path(dst: &mut [u8; PATH_LEN], path: *const u8) -> Result<(usize, bool), Error> {
    // SAFETY: the helper bounds the write to PATH_LEN and faults safely.
    let n =
        unsafe { bpf_probe_read_user_str(dst.as_mut_ptr().cast(), PATH_LEN as u32, path.cast()) };
    if n <= 0 {
        return Err(Error::Read);
    }
    Ok((n as usize, n as usize >= PATH_LEN))
}
