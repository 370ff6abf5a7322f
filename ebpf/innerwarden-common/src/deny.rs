//! Exec deny (BPF-LSM `bprm_check_security`): the deny map's key and value, and the kernel
//! struct offsets the program needs.
//!
//! The key is the executed file's inode number and device, not its path: a rename, a hard link
//! or a different path to the same file (`/proc/self/fd/N`, bind mounts, symlinks) is still
//! denied, and the kernel compares two integers instead of strings. A *copy* of the file is a
//! new inode and is not denied (deny by content hash would be the next step). The device is the
//! kernel-internal `dev_t` of the superblock (`MAJOR << 20 | MINOR`), which userspace derives
//! from `stat.st_dev`; on btrfs subvolumes and overlayfs `st_dev` can differ from `s_dev`.
//!
//! Fileless images (no link: a memfd, an O_TMPFILE or deleted file) have no path to deny and a
//! new memfd is a new inode, so a second map keys them by the exec'ing user's uid.
//!
//! The value carries the expiry in `CLOCK_BOOTTIME` ns (`bpf_ktime_get_boot_ns`), so the TTL is
//! enforced by the kernel even if the agent dies: an expired entry no longer denies.

/// Deny map key: the inode and device of the file being executed.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DenyExecKey {
    pub ino: u64,
    /// Kernel-internal dev_t: `MAJOR << 20 | MINOR`.
    pub dev: u32,
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<DenyExecKey>() == 16);

/// Deny map value.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenyExecValue {
    /// `CLOCK_BOOTTIME` ns after which the entry no longer denies.
    pub expires_boot_ns: u64,
}
const _: () = assert!(core::mem::size_of::<DenyExecValue>() == 8);

/// Byte offsets of the kernel struct fields the LSM program reads, from the running kernel's
/// BTF (`/sys/kernel/btf/vmlinux`), set as the global [`crate::GLOBAL_LSM_LAYOUT`] at load.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LsmLayout {
    /// `struct linux_binprm.file` (`struct file *`).
    pub bprm_file: u32,
    /// `struct file.f_inode` (`struct inode *`).
    pub file_inode: u32,
    /// `struct inode.i_ino` (`unsigned long`).
    pub inode_ino: u32,
    /// `struct inode.i_sb` (`struct super_block *`).
    pub inode_sb: u32,
    /// `struct super_block.s_dev` (`dev_t`, u32).
    pub sb_dev: u32,
    /// `struct inode.__i_nlink` (`unsigned int`, in an anonymous union with `i_nlink`): zero for
    /// a memfd, an O_TMPFILE file or a deleted file, the images of fileless execution.
    pub inode_nlink: u32,
}
const _: () = assert!(core::mem::size_of::<LsmLayout>() == 24);

impl LsmLayout {
    /// All zero: the program denies nothing until userspace sets real offsets.
    pub const UNSET: LsmLayout = LsmLayout {
        bprm_file: 0,
        file_inode: 0,
        inode_ino: 0,
        inode_sb: 0,
        sb_dev: 0,
        inode_nlink: 0,
    };
}

/// Userspace `st_dev` (glibc encoding) to the kernel-internal `dev_t` (`MAJOR << 20 | MINOR`).
pub const fn kernel_dev(st_dev: u64) -> u32 {
    let major = ((st_dev >> 8) & 0xfff) | ((st_dev >> 32) & !0xfff);
    let minor = (st_dev & 0xff) | ((st_dev >> 12) & !0xff);
    ((major << 20) | (minor & 0xfffff)) as u32
}

/// Kernel struct offsets for the self-protection LSM programs, from the running kernel's BTF,
/// set as the global [`crate::GLOBAL_GUARD_LAYOUT`] at load.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuardLayout {
    /// `struct task_struct.tgid` (`pid_t`).
    pub task_tgid: u32,
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<GuardLayout>() == 8);

impl GuardLayout {
    /// All zero: the programs deny nothing until userspace sets real offsets.
    pub const UNSET: GuardLayout = GuardLayout {
        task_tgid: 0,
        _pad: 0,
    };
}
