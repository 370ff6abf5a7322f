//! Exec deny: the one BPF-LSM program. Loaded and attached only by the agent's `LsmResponder`
//! (never by the kernel sensor), because many kernels refuse LSM programs (no `bpf` in `lsm=`,
//! or BPF_PROG_LOAD EPERM under some lockdown/virtualisation setups).

use aya_ebpf::{
    helpers::{bpf_probe_read_kernel, generated::bpf_ktime_get_boot_ns},
    macros::lsm,
    programs::LsmContext,
};
use innerwarden_common::DenyExecKey;

use crate::maps::{DENY_EXEC, Error, lsm_off};

/// `EPERM`: what a denied `execve` returns.
const EPERM: i32 = 1;

/// `lsm/bprm_check_security`: `int security_bprm_check(struct linux_binprm *bprm)`, called once
/// the executable is opened and before it is loaded. Denies (-EPERM) when the file's inode and
/// device are in `DENY_EXEC` with an expiry still in the future. Kernel ≥ 5.7 with BTF and
/// `bpf` in the active LSMs.
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
    let key = unsafe {
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
        DenyExecKey { ino, dev, _pad: 0 }
    };
    // SAFETY: plain map lookup; the value is copied out at once.
    let Some(expires) = (unsafe { DENY_EXEC.get(&key) }).map(|v| v.expires_boot_ns) else {
        return Ok(0);
    };
    // SAFETY: no arguments.
    let now = unsafe { bpf_ktime_get_boot_ns() };
    Ok(if now < expires { -EPERM } else { 0 })
}
