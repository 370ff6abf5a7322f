//! File changes other than content writes: unlink, rename, truncate, chmod, chown, link and
//! symlink, at syscall entry, under a watched prefix (either name for rename and link), plus a
//! chmod that sets the setuid or setgid bit anywhere. Absolute paths only, as for opens.
//!
//! Every program here is `syscalls/sys_enter_<name>` (kernel ≥ 4.7); the argument slots are
//! fixed by `SYSCALL_DEFINE` (argument `i` at offset `16 + 8 * i`).

use aya_ebpf::{macros::tracepoint, programs::TracePointContext};
use innerwarden_common::{
    CHANGE_HAS_MODE, CHANGE_HAS_NEW_PATH, FILE_HOME, FileChangeOp, FileChangeRecord, Kind,
    PREFIX_ALL, PREFIX_HOME, Prog, STR_TRUNCATED,
};

use crate::file::{lookup_prefix, read_path};
use crate::maps::{CHANGE_SCRATCH, Error, WATCHED_PREFIXES, fill_header, output};

/// `S_ISUID | S_ISGID`.
const SETID_BITS: u64 = 0o6000;

/// Arguments of one change: where the names and mode sit in the tracepoint record.
struct Args {
    op: FileChangeOp,
    path: usize,
    new_path: Option<usize>,
    mode: Option<usize>,
}

macro_rules! change_tp {
    ($name:ident, $op:ident, $path:expr, $new:expr, $mode:expr, $doc:literal) => {
        #[doc = $doc]
        #[tracepoint]
        pub fn $name(ctx: TracePointContext) -> u32 {
            let _ = try_change(
                &ctx,
                Args {
                    op: FileChangeOp::$op,
                    path: $path,
                    new_path: $new,
                    mode: $mode,
                },
            );
            0
        }
    };
}

change_tp!(
    sys_enter_unlink,
    Unlink,
    16,
    None,
    None,
    "`unlink(pathname)`."
);
change_tp!(
    sys_enter_unlinkat,
    Unlink,
    24,
    None,
    None,
    "`unlinkat(dfd, pathname, flag)`."
);
change_tp!(
    sys_enter_rename,
    Rename,
    16,
    Some(24),
    None,
    "`rename(oldname, newname)`."
);
change_tp!(
    sys_enter_renameat,
    Rename,
    24,
    Some(40),
    None,
    "`renameat(olddfd, oldname, newdfd, newname)`."
);
change_tp!(
    sys_enter_renameat2,
    Rename,
    24,
    Some(40),
    None,
    "`renameat2(olddfd, oldname, newdfd, newname, flags)`. Kernel ≥ 3.15."
);
change_tp!(
    sys_enter_truncate,
    Truncate,
    16,
    None,
    None,
    "`truncate(path, length)`."
);
change_tp!(
    sys_enter_chmod,
    Chmod,
    16,
    None,
    Some(24),
    "`chmod(filename, mode)`."
);
change_tp!(
    sys_enter_fchmodat,
    Chmod,
    24,
    None,
    Some(32),
    "`fchmodat(dfd, filename, mode)`."
);
change_tp!(
    sys_enter_fchmodat2,
    Chmod,
    24,
    None,
    Some(32),
    "`fchmodat2(dfd, filename, mode, flags)`. Kernel ≥ 6.6."
);
change_tp!(
    sys_enter_chown,
    Chown,
    16,
    None,
    None,
    "`chown(filename, user, group)`."
);
change_tp!(
    sys_enter_lchown,
    Chown,
    16,
    None,
    None,
    "`lchown(filename, user, group)`."
);
change_tp!(
    sys_enter_fchownat,
    Chown,
    24,
    None,
    None,
    "`fchownat(dfd, filename, user, group, flag)`."
);
// Links: `path` is the new link, `new_path` its target.
change_tp!(
    sys_enter_link,
    Link,
    24,
    Some(16),
    None,
    "`link(oldname, newname)`."
);
change_tp!(
    sys_enter_linkat,
    Link,
    40,
    Some(24),
    None,
    "`linkat(olddfd, oldname, newdfd, newname, flags)`."
);
change_tp!(
    sys_enter_symlink,
    Link,
    24,
    Some(16),
    None,
    "`symlink(oldname, newname)`."
);
change_tp!(
    sys_enter_symlinkat,
    Link,
    32,
    Some(16),
    None,
    "`symlinkat(oldname, newdfd, newname)`."
);

fn try_change(ctx: &TracePointContext, a: Args) -> Result<(), Error> {
    // SAFETY (reads of the record): fixed syscall argument slots.
    let path: *const u8 = unsafe { ctx.read_at(a.path) }.map_err(|_| Error::Read)?;
    let new_path: *const u8 = match a.new_path {
        Some(off) => unsafe { ctx.read_at(off) }.map_err(|_| Error::Read)?,
        None => core::ptr::null(),
    };
    // A plain value and a flag, not an `Option<u64>`: the 6.1 verifier refused the programs
    // without a mode (rename, renameat, symlinkat) for reading the never-written payload slot
    // of a `None` ("invalid read from stack R10 off=-40").
    let mut mode: u64 = 0;
    let mut has_mode = false;
    if let Some(off) = a.mode {
        mode = unsafe { ctx.read_at(off) }.map_err(|_| Error::Read)?;
        has_mode = true;
    }
    let scratch = CHANGE_SCRATCH.get_ptr_mut(0).ok_or(Error::Map)?;
    // SAFETY: per-CPU map value, valid for this program run.
    let scratch = unsafe { &mut *scratch };
    let mut hit = lookup_prefix(&WATCHED_PREFIXES, &mut scratch.key, path).unwrap_or(0);
    if hit != PREFIX_ALL && !new_path.is_null() {
        let other = lookup_prefix(&WATCHED_PREFIXES, &mut scratch.key, new_path).unwrap_or(0);
        if other != 0 {
            hit = other;
        }
    }
    let setid = has_mode && mode & SETID_BITS != 0;
    if hit == 0 && !setid {
        return Ok(());
    }
    let rec = &mut scratch.rec;
    rec.op = a.op as u32;
    rec.pflags = 0;
    rec.mode = 0;
    rec.new_path[0] = 0;
    let (_, cut) = read_path(&mut rec.path, path)?;
    if cut {
        rec.pflags |= STR_TRUNCATED;
    }
    if !new_path.is_null() {
        // An unreadable second name leaves it empty; the first one is still worth reporting.
        if let Ok((_, cut)) = read_path(&mut rec.new_path, new_path) {
            rec.pflags |= CHANGE_HAS_NEW_PATH;
            if cut {
                rec.pflags |= STR_TRUNCATED;
            }
        }
    }
    if has_mode {
        rec.mode = mode as u32;
        rec.pflags |= CHANGE_HAS_MODE;
    }
    // A home-only match is filtered by the agent, unless the setid bit makes it news anyway.
    if hit == PREFIX_HOME && !setid {
        rec.pflags |= FILE_HOME;
    }
    fill_header(
        &mut rec.header,
        Kind::FileChange,
        core::mem::size_of::<FileChangeRecord>(),
    );
    output(Prog::FileChange, &*rec)
}
