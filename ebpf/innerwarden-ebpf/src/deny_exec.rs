//! Exec deny: the one BPF-LSM program. Loaded and attached only by the agent's `LsmResponder`
//! (never by the kernel sensor), because many kernels refuse LSM programs (no `bpf` in `lsm=`,
//! or BPF_PROG_LOAD EPERM under some lockdown/virtualisation setups).

use aya_ebpf::{
    helpers::{
        bpf_get_current_uid_gid, bpf_probe_read_kernel, generated::bpf_ktime_get_boot_ns,
    },
    macros::lsm,
    programs::LsmContext,
};
use innerwarden_common::{DenyExecKey, DenyExecValue};

use crate::maps::{DENY_EXEC, DENY_FILELESS, Error, lsm_off};

/// `EPERM`: what a denied `execve` returns.
const EPERM: i32 = 1;

/// `lsm/bprm_check_security`: `int security_bprm_check(struct linux_binprm *bprm)`, called once
/// the executable is opened and before it is loaded. Denies (-EPERM) when the file's inode and
/// device are in `DENY_EXEC`, or when the file has no link (memfd, O_TMPFILE, deleted) and the
/// exec'ing user is in `DENY_FILELESS`, with an expiry still in the future. Kernel ≥ 5.7 with
/// BTF and `bpf` in the active LSMs.
#[lsm(hook = "bprm_check_security")]
pub fn bprm_check_security(ctx: LsmContext) -> i32 {
    // An error reading the kernel structs allows the exec: fail open here, because a layout
    // mistake must not stop the machine from running programs.
    try_bprm_check_security(&ctx).unwrap_or(0)
}

fn try_bprm_check_security(ctx: &LsmContext) -> Result<i32, Error> {
    // The verdict of the LSM programs before us on this hook comes last in the arguments.
    let prev: i32 = ctx.arg(1);
    if prev != 0 {
        return Ok(prev);
    }
    let bprm_file = lsm_off!(bprm_file);
    if bprm_file == 0 {
        return Ok(0); // offsets not set by userspace
    }
    let bprm: *const u8 = ctx.arg(0);
    // SAFETY: bpf_probe_read_kernel faults safely; offsets come from the running kernel's BTF.
    let (key, inode) = unsafe {
        let file: *const u8 =
            bpf_probe_read_kernel(bprm.wrapping_add(bprm_file).cast()).map_err(|_| Error::Read)?;
        let inode: *const u8 =
            bpf_probe_read_kernel(file.wrapping_add(lsm_off!(file_inode)).cast())
                .map_err(|_| Error::Read)?;
        let ino: u64 = bpf_probe_read_kernel(inode.wrapping_add(lsm_off!(inode_ino)).cast())
            .map_err(|_| Error::Read)?;
        let sb: *const u8 = bpf_probe_read_kernel(inode.wrapping_add(lsm_off!(inode_sb)).cast())
            .map_err(|_| Error::Read)?;
        let dev: u32 = bpf_probe_read_kernel(sb.wrapping_add(lsm_off!(sb_dev)).cast())
            .map_err(|_| Error::Read)?;
        (DenyExecKey { ino, dev, _pad: 0 }, inode)
    };
    // SAFETY: plain map lookup; the value is copied out at once.
    if let Some(v) = unsafe { DENY_EXEC.get(&key) } {
        return Ok(verdict(v));
    }
    let nlink_off = lsm_off!(inode_nlink);
    if nlink_off == 0 {
        return Ok(0);
    }
    // SAFETY: as above.
    let nlink: u32 = unsafe { bpf_probe_read_kernel(inode.wrapping_add(nlink_off).cast()) }
        .map_err(|_| Error::Read)?;
    if nlink != 0 {
        return Ok(0);
    }
    // The low half is the real uid of the task calling execve (its credentials before exec).
    let uid = bpf_get_current_uid_gid() as u32;
    // SAFETY: plain map lookup; the value is copied out at once.
    Ok(unsafe { DENY_FILELESS.get(&uid) }.map_or(0, verdict))
}

/// -EPERM while the entry's expiry is in the future, 0 after.
fn verdict(v: &DenyExecValue) -> i32 {
    let expires = v.expires_boot_ns;
    // SAFETY: no arguments.
    let now = unsafe { bpf_ktime_get_boot_ns() };
    if now < expires { -EPERM } else { 0 }
}
