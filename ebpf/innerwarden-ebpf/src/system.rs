//! Changes to the system itself: mounts, namespaces, BPF program loads and kernel modules.

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
    BpfLoadRecord, FSTYPE_LEN, Kind, MODULE_NAME_LEN, MOUNT_SOURCE_LEN, ModuleRecord, MountRecord,
    NS_SYSCALL_SETNS, NS_SYSCALL_UNSHARE, NamespaceRecord, PATH_LEN, Prog,
};

use crate::maps::{Error, MOUNT_SCRATCH, fill_header, output, tp};
use crate::process::zero_header;

/// `syscalls/sys_enter_mount`: `mount(char *dev_name, char *dir_name, char *type, unsigned long
/// flags, void *data)`. Kernel ≥ 4.7. Every call is reported (mounts are rare).
#[tracepoint]
pub fn sys_enter_mount(ctx: TracePointContext) -> u32 {
    let _ = try_mount(&ctx);
    0
}

/// Read a user string into `dst` (empty when the pointer is null or unreadable).
#[inline(always)]
fn user_str(dst: &mut [u8], src: *const u8) {
    dst[0] = 0;
    if src.is_null() {
        return;
    }
    // SAFETY: the helper bounds the write to dst.len() bytes and faults safely.
    let n =
        unsafe { bpf_probe_read_user_str(dst.as_mut_ptr().cast(), dst.len() as u32, src.cast()) };
    if n <= 0 {
        dst[0] = 0;
    }
}

fn try_mount(ctx: &TracePointContext) -> Result<(), Error> {
    // SAFETY (record reads): fixed syscall argument slots.
    let source: *const u8 = unsafe { ctx.read_at(16) }.map_err(|_| Error::Read)?;
    let target: *const u8 = unsafe { ctx.read_at(24) }.map_err(|_| Error::Read)?;
    let fstype: *const u8 = unsafe { ctx.read_at(32) }.map_err(|_| Error::Read)?;
    let flags: u64 = unsafe { ctx.read_at(40) }.map_err(|_| Error::Read)?;
    let rec = MOUNT_SCRATCH.get_ptr_mut(0).ok_or(Error::Map)?;
    // SAFETY: per-CPU map value, valid for this program run.
    let rec = unsafe { &mut *rec };
    rec.flags = flags;
    user_str(&mut rec.source[..MOUNT_SOURCE_LEN], source);
    user_str(&mut rec.target[..PATH_LEN], target);
    user_str(&mut rec.fstype[..FSTYPE_LEN], fstype);
    fill_header(
        &mut rec.header,
        Kind::Mount,
        core::mem::size_of::<MountRecord>(),
    );
    output(Prog::Mount, &*rec)
}

/// Every `CLONE_NEW*` flag: NEWTIME, NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
const CLONE_NEW_ANY: u64 = 0x80
    | 0x0002_0000
    | 0x0200_0000
    | 0x0400_0000
    | 0x0800_0000
    | 0x1000_0000
    | 0x2000_0000
    | 0x4000_0000;

/// `syscalls/sys_enter_unshare`: `unshare(unsigned long unshare_flags)`. Kept only with a
/// `CLONE_NEW*` flag (unsharing files or fs is not a namespace change). Kernel ≥ 4.7.
#[tracepoint]
pub fn sys_enter_unshare(ctx: TracePointContext) -> u32 {
    let _ = try_ns(&ctx, NS_SYSCALL_UNSHARE);
    0
}

/// `syscalls/sys_enter_setns`: `setns(int fd, int nstype)`. Every call. Kernel ≥ 4.7.
#[tracepoint]
pub fn sys_enter_setns(ctx: TracePointContext) -> u32 {
    let _ = try_ns(&ctx, NS_SYSCALL_SETNS);
    0
}

fn try_ns(ctx: &TracePointContext, syscall: u32) -> Result<(), Error> {
    // SAFETY (record reads): fixed syscall argument slots.
    let a0: u64 = unsafe { ctx.read_at(16) }.map_err(|_| Error::Read)?;
    let (fd, flags) = if syscall == NS_SYSCALL_UNSHARE {
        if a0 & CLONE_NEW_ANY == 0 {
            return Ok(());
        }
        (-1, a0)
    } else {
        let nstype: u64 = unsafe { ctx.read_at(24) }.map_err(|_| Error::Read)?;
        (a0 as i32, nstype & 0xffff_ffff)
    };
    let mut rec = NamespaceRecord {
        header: zero_header(),
        syscall,
        fd,
        flags,
    };
    fill_header(
        &mut rec.header,
        Kind::Namespace,
        core::mem::size_of::<NamespaceRecord>(),
    );
    output(Prog::Namespace, &rec)
}

const BPF_PROG_LOAD: u64 = 5;

/// `syscalls/sys_enter_bpf`: `bpf(int cmd, union bpf_attr *uattr, unsigned int size)`. Kept:
/// `BPF_PROG_LOAD`, with `prog_type` (the first `u32` of the attr) read from user memory.
/// Kernel ≥ 4.7.
#[tracepoint]
pub fn sys_enter_bpf(ctx: TracePointContext) -> u32 {
    let _ = try_bpf(&ctx);
    0
}

fn try_bpf(ctx: &TracePointContext) -> Result<(), Error> {
    // SAFETY (record reads): fixed syscall argument slots, then a checked user read.
    let cmd: u64 = unsafe { ctx.read_at(16) }.map_err(|_| Error::Read)?;
    if cmd & 0xffff_ffff != BPF_PROG_LOAD {
        return Ok(());
    }
    let attr: *const u32 = unsafe { ctx.read_at(24) }.map_err(|_| Error::Read)?;
    let prog_type = unsafe { bpf_probe_read_user(attr) }.unwrap_or(u32::MAX);
    let mut rec = BpfLoadRecord {
        header: zero_header(),
        cmd: cmd as u32,
        prog_type,
    };
    fill_header(
        &mut rec.header,
        Kind::BpfLoad,
        core::mem::size_of::<BpfLoadRecord>(),
    );
    output(Prog::BpfLoad, &rec)
}

/// `module/module_load`: `(struct module *mod)`, format `unsigned int taints; __data_loc char[]
/// name`; runs in the loading task (insmod, modprobe, udev). Kernel ≥ 2.6.31 with
/// `CONFIG_MODULES` (absent on kernels built without modules: reported as not attached).
#[tracepoint]
pub fn module_load(ctx: TracePointContext) -> u32 {
    let _ = try_module(&ctx);
    0
}

fn try_module(ctx: &TracePointContext) -> Result<(), Error> {
    // SAFETY: offset from the tracepoint format; the read is checked.
    let loc: u32 = unsafe { ctx.read_at(tp!(module_name)) }.map_err(|_| Error::Read)?;
    let src = ctx
        .as_ptr()
        .cast::<u8>()
        .wrapping_add((loc & 0xffff) as usize);
    let mut rec = ModuleRecord {
        header: zero_header(),
        name: [0; MODULE_NAME_LEN],
    };
    // SAFETY: the helper bounds the write to MODULE_NAME_LEN and faults safely.
    let n = unsafe {
        bpf_probe_read_kernel_str(
            rec.name.as_mut_ptr().cast(),
            MODULE_NAME_LEN as u32,
            src.cast(),
        )
    };
    if n <= 0 {
        rec.name[0] = 0;
    }
    fill_header(
        &mut rec.header,
        Kind::ModuleLoad,
        core::mem::size_of::<ModuleRecord>(),
    );
    output(Prog::Module, &rec)
}
