//! `LsmResponder`: deny exec of a file with the BPF-LSM program `lsm/bprm_check_security`
//! (`ebpf/innerwarden-ebpf/src/deny_exec.rs`).
//!
//! - Key: the file's inode and device ([`DenyExecKey`]), from `stat(path)` (symlinks followed,
//!   as exec follows them). Renames, hard links and other paths to the same file stay denied; a
//!   copy is a new inode and is not (see `innerwarden_common::DenyExecKey`).
//! - Value: the expiry in `CLOCK_BOOTTIME` ns; the kernel compares it with
//!   `bpf_ktime_get_boot_ns()` at every exec, so the TTL holds without the agent's slow loop.
//!   (An expired entry stays in the map, harmlessly, until revert or the next apply of that file.)
//! - Fileless images (no link: memfd, O_TMPFILE, deleted) have no path; `DenyFileless { uid }`
//!   puts the user in a second map, `DENY_FILELESS`, and the program denies that user's exec of
//!   any image whose inode has no link. A path that names no file (`/proc/self/fd/N`,
//!   `memfd:…`, relative) is refused by [`LsmResponder`] rather than resolved in the agent's own
//!   view, where `/proc/self` is the agent.
//! - The program and its map live as long as this responder: dropping it (agent exit) detaches
//!   the program and lifts every deny. Pinning the link in bpffs would make denies outlive the
//!   agent; not done, because a crashed agent should not leave a host unable to exec.
//!
//! This responder alone loads the LSM program; the kernel sensor attaches only its tracepoints.
//! Kernels without BTF, without `bpf` in the active LSMs (`/sys/kernel/security/lsm`) or that
//! refuse the load (this dev host: BPF_PROG_LOAD EPERM) make [`LsmResponder::new`] return
//! [`LsmError::Unavailable`] (`lsm unavailable: …`), to be reported in status, never fatal.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;

use aya::maps::{HashMap as BpfHashMap, MapData};
use aya::programs::Lsm;
use aya::{Btf, Ebpf, EbpfLoader};
use innerwarden_common::{
    DenyExecKey, DenyExecValue, GLOBAL_LSM_LAYOUT, MAP_DENY_EXEC, MAP_DENY_FILELESS, MAP_EVENTS,
    PROG_DENY_EXEC, kernel_dev,
};
use innerwarden_core::decide::action::{Action, ActionKind, ExecImage};

use super::lsm_btf;
use super::{Applied, RespondError, Responder};

const NAME: &str = "bpf-lsm";

/// Hash/LRU/trie maps of the object used only by the tracepoint programs: created with one entry
/// here, because this load only runs the LSM program (the exec-args map alone is ~4.6 MB).
const SENSOR_ONLY_MAPS: [&str; 8] = [
    "EXEC_ARGS",
    "PARENTS",
    "CLONE_FLAGS",
    "EXIT_CODES",
    "CONNECTING",
    "WATCHED_PREFIXES",
    "READ_PREFIXES",
    "GUARDED_TGID",
];

#[derive(Debug, thiserror::Error)]
pub enum LsmError {
    #[error("lsm unavailable: {reason}")]
    Unavailable { reason: String },
    #[error(
        "{path}: not a file path (a descriptor, a memfd, /proc or relative); deny it as fileless"
    )]
    NotAFile { path: String },
    #[error("stat {path}")]
    Stat {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("updating map {map}")]
    Map {
        map: &'static str,
        #[source]
        source: aya::maps::MapError,
    },
    #[error("reading CLOCK_BOOTTIME")]
    Clock {
        #[source]
        source: std::io::Error,
    },
}

impl From<LsmError> for RespondError {
    fn from(e: LsmError) -> Self {
        RespondError::Failed {
            responder: NAME,
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

pub(crate) fn unavailable(reason: impl std::fmt::Display) -> LsmError {
    LsmError::Unavailable {
        reason: reason.to_string(),
    }
}

/// What every BPF-LSM program of the agent needs before loading: `bpf` among the active LSMs
/// (without securityfs mounted we cannot tell: try, and let the kernel answer) and the kernel's
/// raw BTF, from which the programs' field offsets are read.
pub(crate) fn lsm_preflight() -> Result<Vec<u8>, LsmError> {
    if let Ok(lsms) = std::fs::read_to_string("/sys/kernel/security/lsm")
        && !bpf_lsm_active(&lsms)
    {
        return Err(unavailable(format!(
            "bpf is not an active LSM ({}); boot with lsm=...,bpf",
            lsms.trim()
        )));
    }
    std::fs::read("/sys/kernel/btf/vmlinux").map_err(|e| unavailable(format!("no kernel BTF: {e}")))
}

/// The metadata of `path` as the host sees it: through PID 1's root (`/proc/1/root`), since the
/// agent's own unit gives it a private /tmp and /dev (`PrivateTmp=`, `PrivateDevices=`), where
/// droppers put their payloads; the path as the agent sees it when that is not readable (not
/// root, no CAP_SYS_PTRACE, no systemd).
pub fn host_metadata(path: &str) -> std::io::Result<std::fs::Metadata> {
    host_metadata_under(std::path::Path::new("/proc/1/root"), path)
}

fn host_metadata_under(root: &std::path::Path, path: &str) -> std::io::Result<std::fs::Metadata> {
    if let Some(rel) = path.strip_prefix('/')
        && let Ok(meta) = std::fs::metadata(root.join(rel))
    {
        return Ok(meta);
    }
    std::fs::metadata(path)
}

/// The deny key of a file from its metadata.
pub fn deny_key(meta: &std::fs::Metadata) -> DenyExecKey {
    DenyExecKey {
        ino: meta.ino(),
        dev: kernel_dev(meta.dev()),
        _pad: 0,
    }
}

/// Expiry of a deny set at boot time `now_boot_ns` for `ttl_secs` (saturating: a huge TTL means
/// "until reboot", never a wrapped, already-expired value).
pub fn expiry_boot_ns(now_boot_ns: u64, ttl_secs: u64) -> u64 {
    now_boot_ns.saturating_add(ttl_secs.saturating_mul(1_000_000_000))
}

fn boottime_ns() -> Result<u64, LsmError> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) } != 0 {
        return Err(LsmError::Clock {
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// Whether `bpf` is among the active LSMs (`/sys/kernel/security/lsm`, a comma list).
pub fn bpf_lsm_active(lsm_list: &str) -> bool {
    lsm_list.trim().split(',').any(|l| l == "bpf")
}

/// Denies exec of files through the BPF-LSM program. See the module docs.
pub struct LsmResponder {
    map: BpfHashMap<MapData, DenyExecKey, DenyExecValue>,
    /// uid → expiry: users whose exec of fileless images is denied.
    fileless: BpfHashMap<MapData, u32, DenyExecValue>,
    /// Key of each path denied, so revert works after the file was renamed or deleted.
    keys: HashMap<String, DenyExecKey>,
    // Holds the program and its link; dropping it lifts every deny.
    _ebpf: Ebpf,
}

impl LsmResponder {
    /// Load and attach the program from the object built into this binary.
    pub fn new() -> Result<Self, LsmError> {
        let object = crate::sensor::ebpf::embedded_object()
            .ok_or_else(|| unavailable("eBPF object not built into this binary"))?;
        Self::with_object(object)
    }

    /// [`Self::new`] with an explicit object.
    pub fn with_object(object: &[u8]) -> Result<Self, LsmError> {
        let raw = lsm_preflight()?;
        let layout = lsm_btf::Btf::parse(&raw)
            .ok_or_else(|| unavailable("kernel BTF unreadable"))?
            .lsm_layout()
            .map_err(unavailable)?;
        let btf = Btf::from_sys_fs().map_err(|e| unavailable(format!("kernel BTF: {e}")))?;
        let mut loader = EbpfLoader::new();
        loader.override_global(GLOBAL_LSM_LAYOUT, &layout, true);
        // The object's ring buffer is unused here: one page instead of megabytes.
        loader.map_max_entries(MAP_EVENTS, 4096);
        for name in SENSOR_ONLY_MAPS {
            loader.map_max_entries(name, 1);
        }
        let mut ebpf = loader
            .load(object)
            .map_err(|e| unavailable(format!("loading the object: {e}")))?;
        let prog: &mut Lsm = ebpf
            .program_mut(PROG_DENY_EXEC)
            .ok_or_else(|| unavailable("program not in the object"))?
            .try_into()
            .map_err(|e| unavailable(format!("{PROG_DENY_EXEC}: {e}")))?;
        prog.load(PROG_DENY_EXEC, &btf)
            .map_err(|e| unavailable(format!("loading {PROG_DENY_EXEC}: {}", chain(&e))))?;
        prog.attach()
            .map_err(|e| unavailable(format!("attaching {PROG_DENY_EXEC}: {}", chain(&e))))?;
        let map = take_hash_map(&mut ebpf, MAP_DENY_EXEC)?;
        let fileless = take_hash_map(&mut ebpf, MAP_DENY_FILELESS)?;
        tracing::info!(?layout, "BPF-LSM exec deny attached");
        Ok(LsmResponder {
            map,
            fileless,
            keys: HashMap::new(),
            _ebpf: ebpf,
        })
    }

    fn deny(&mut self, path: &str, ttl_secs: u64) -> Result<Applied, LsmError> {
        let path = file_path(path)?;
        let meta = host_metadata(path).map_err(|source| LsmError::Stat {
            path: path.to_owned(),
            source,
        })?;
        let key = deny_key(&meta);
        let expires = insert_until(&mut self.map, key, ttl_secs, MAP_DENY_EXEC)?;
        self.keys.insert(path.to_owned(), key);
        Ok(Applied {
            detail: format!(
                "exec of {path} (inode {} dev {:#x}) denied for {ttl_secs} s (kernel-enforced expiry at boot ns {expires})",
                key.ino, key.dev
            ),
        })
    }

    fn allow(&mut self, path: &str) -> Result<Applied, LsmError> {
        let key = match self.keys.remove(path) {
            Some(k) => k,
            None => match host_metadata(path) {
                Ok(meta) => deny_key(&meta),
                Err(_) => {
                    return Ok(Applied {
                        detail: format!("no deny known for {path}; nothing to lift"),
                    });
                }
            },
        };
        remove_entry(&mut self.map, &key, MAP_DENY_EXEC)?;
        Ok(Applied {
            detail: format!(
                "exec of {path} allowed again (inode {} dev {:#x})",
                key.ino, key.dev
            ),
        })
    }

    fn deny_fileless(&mut self, uid: u32, ttl_secs: u64) -> Result<Applied, LsmError> {
        let expires = insert_until(&mut self.fileless, uid, ttl_secs, MAP_DENY_FILELESS)?;
        Ok(Applied {
            detail: format!(
                "exec of fileless images (memfd, deleted or O_TMPFILE files) by uid {uid} denied for {ttl_secs} s (kernel-enforced expiry at boot ns {expires})"
            ),
        })
    }

    fn allow_fileless(&mut self, uid: u32) -> Result<Applied, LsmError> {
        remove_entry(&mut self.fileless, &uid, MAP_DENY_FILELESS)?;
        Ok(Applied {
            detail: format!("exec of fileless images by uid {uid} allowed again"),
        })
    }
}

/// One of the object's deny maps (`name`), as a typed hash map.
fn take_hash_map<K: aya::Pod, V: aya::Pod>(
    ebpf: &mut Ebpf,
    name: &'static str,
) -> Result<BpfHashMap<MapData, K, V>, LsmError> {
    let map = ebpf
        .take_map(name)
        .ok_or_else(|| unavailable(format!("map {name} not in the object")))?;
    BpfHashMap::try_from(map).map_err(|source| LsmError::Map { map: name, source })
}

/// Deny `key` in a deny map for `ttl_secs` from now; returns the expiry (boot ns) the kernel
/// compares with.
fn insert_until<K: aya::Pod>(
    map: &mut BpfHashMap<MapData, K, DenyExecValue>,
    key: K,
    ttl_secs: u64,
    name: &'static str,
) -> Result<u64, LsmError> {
    let expires = expiry_boot_ns(boottime_ns()?, ttl_secs);
    let value = DenyExecValue {
        expires_boot_ns: expires,
    };
    map.insert(key, value, 0)
        .map_err(|source| LsmError::Map { map: name, source })?;
    Ok(expires)
}

/// Remove `key` from a deny map; a key already absent is already lifted.
fn remove_entry<K: aya::Pod, V: aya::Pod>(
    map: &mut BpfHashMap<MapData, K, V>,
    key: &K,
    name: &'static str,
) -> Result<(), LsmError> {
    match map.remove(key) {
        Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
        Err(source) => Err(LsmError::Map { map: name, source }),
    }
}

/// `path` when it names a file on a file system; a descriptor, memfd, `/proc` magic link or
/// relative path is refused (resolving `/proc/self/...` here would name the agent's own files).
pub fn file_path(path: &str) -> Result<&str, LsmError> {
    match ExecImage::of(path) {
        ExecImage::OnDisk(p) => Ok(p),
        ExecImage::Fileless | ExecImage::Unknown => Err(LsmError::NotAFile {
            path: path.to_owned(),
        }),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        s.push_str(": ");
        s.push_str(&src.to_string());
        cur = src.source();
    }
    s
}

impl Responder for LsmResponder {
    fn name(&self) -> &'static str {
        NAME
    }

    fn kinds(&self) -> &'static [ActionKind] {
        &[ActionKind::DenyExec]
    }

    fn apply(&mut self, action: &Action) -> Result<Applied, RespondError> {
        match action {
            Action::DenyExec { path, ttl_secs } => Ok(self.deny(path, *ttl_secs)?),
            Action::DenyFileless { uid, ttl_secs } => Ok(self.deny_fileless(*uid, *ttl_secs)?),
            other => Err(RespondError::Unsupported { kind: other.kind() }),
        }
    }

    fn revert(&mut self, action: &Action) -> Result<Applied, RespondError> {
        match action {
            Action::DenyExec { path, .. } => Ok(self.allow(path)?),
            Action::DenyFileless { uid, .. } => Ok(self.allow_fileless(*uid)?),
            other => Err(RespondError::Unsupported { kind: other.kind() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_follows_the_inode_not_the_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a");
        std::fs::write(&a, b"#!/bin/sh\n").expect("write");
        let k1 = deny_key(&std::fs::metadata(&a).expect("stat"));
        let b = dir.path().join("b");
        std::fs::rename(&a, &b).expect("rename");
        let k2 = deny_key(&std::fs::metadata(&b).expect("stat"));
        assert_eq!(k1, k2, "a rename keeps the key");
        std::fs::copy(&b, &a).expect("copy");
        let k3 = deny_key(&std::fs::metadata(&a).expect("stat"));
        assert_ne!(k1.ino, k3.ino, "a copy is another inode");
    }

    #[test]
    fn kernel_dev_encoding() {
        // 8:1 (sda1): glibc st_dev 0x801 → kernel (8 << 20) | 1.
        assert_eq!(kernel_dev(0x801), (8 << 20) | 1);
        // 259:300 (nvme partition with a minor above 255).
        assert_eq!(kernel_dev(libc::makedev(259, 300)), (259 << 20) | 300);
        // 0:45 (anonymous dev, e.g. tmpfs/overlay).
        assert_eq!(kernel_dev(libc::makedev(0, 45)), 45);
    }

    #[test]
    fn expiry() {
        assert_eq!(expiry_boot_ns(5, 2), 2_000_000_005);
        assert_eq!(expiry_boot_ns(u64::MAX - 1, 10), u64::MAX);
        assert_eq!(expiry_boot_ns(7, u64::MAX), u64::MAX);
    }

    #[test]
    fn lsm_list() {
        assert!(bpf_lsm_active(
            "lockdown,capability,landlock,yama,apparmor,bpf\n"
        ));
        assert!(!bpf_lsm_active("lockdown,capability,yama"));
    }

    /// On hosts that refuse LSM programs (this dev host) `new` must fail with a clear,
    /// non-fatal error; where it loads (the VM tier), a deny and allow of a path round-trip.
    #[test]
    fn new_fails_clearly_or_works() {
        match LsmResponder::new() {
            Err(e) => {
                println!("LsmResponder::new: {e}");
                assert!(e.to_string().starts_with("lsm unavailable: "), "{e}");
            }
            Ok(mut r) => {
                let dir = tempfile::tempdir().expect("tempdir");
                let f = dir.path().join("x");
                std::fs::write(&f, b"x").expect("write");
                let path = f.to_string_lossy().into_owned();
                let act = Action::DenyExec { path, ttl_secs: 60 };
                r.apply(&act).expect("deny");
                r.revert(&act).expect("allow");
                let fileless = Action::DenyFileless {
                    uid: 65534,
                    ttl_secs: 60,
                };
                r.apply(&fileless).expect("deny fileless");
                r.revert(&fileless).expect("allow fileless");
            }
        }
    }

    #[test]
    fn only_file_paths_are_denied_by_inode() {
        assert_eq!(file_path("/tmp/payload").expect("a file"), "/tmp/payload");
        for p in [
            "/proc/self/fd/3",
            "/proc/1234/exe",
            "/dev/fd/3",
            "/memfd:x (deleted)",
            "/tmp/gone (deleted)",
            "./payload",
            "",
        ] {
            let e = file_path(p).expect_err(p);
            assert!(e.to_string().contains("not a file path"), "{e}");
        }
    }

    #[test]
    fn a_payload_is_found_in_the_host_root_first_then_in_the_agents_view() {
        let host = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(host.path().join("tmp")).expect("mkdir");
        std::fs::write(host.path().join("tmp/payload"), b"x").expect("write");
        let in_host = host_metadata_under(host.path(), "/tmp/payload").expect("found in host root");
        assert_eq!(
            in_host.ino(),
            std::fs::metadata(host.path().join("tmp/payload"))
                .expect("stat")
                .ino()
        );
        // Not under the host root: the agent's own view.
        let own = host.path().join("own");
        std::fs::write(&own, b"y").expect("write");
        let p = own.to_str().expect("utf8");
        let empty = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            host_metadata_under(empty.path(), p)
                .expect("own view")
                .ino(),
            std::fs::metadata(&own).expect("stat").ino()
        );
        assert!(host_metadata_under(empty.path(), "/no/such/file").is_err());
    }
}
