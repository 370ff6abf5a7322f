//! Self-protection of the agent with BPF-LSM (`ebpf/innerwarden-ebpf/src/guard.rs`): while the
//! [`Guard`] lives, no process but PID 1 (systemd, so `systemctl stop` still works) may ptrace
//! the agent or send it SIGKILL, SIGSTOP or SIGTERM. Root can still stop it through systemd,
//! reboot, or unload the programs with bpftool: this raises the cost of a quiet kill, it does
//! not make the agent immortal.
//!
//! Like the exec-deny responder, the guard loads its own instance of the object (LSM programs
//! only). Kernels without BTF, without `bpf` in the active LSMs, or that refuse the load (this
//! dev host: BPF_PROG_LOAD EPERM) make [`Guard::start`] return `lsm unavailable: …`, which the
//! agent reports in `innerwarden status` and the log, never fatal.

use aya::maps::{Array, MapData};
use aya::programs::Lsm;
use aya::{Btf, Ebpf, EbpfLoader};
use innerwarden_common::{
    GLOBAL_GUARD_LAYOUT, GuardLayout, MAP_EVENTS, MAP_GUARDED_TGID, PROG_GUARD_KILL,
    PROG_GUARD_PTRACE,
};

use super::lsm::{LsmError, lsm_preflight, unavailable};
use super::lsm_btf;

/// Maps of the object the guard never uses: created with one entry (the exec-args map alone is
/// ~4.6 MB at full size).
const UNUSED_MAPS: [&str; 9] = [
    "EXEC_ARGS",
    "PARENTS",
    "CLONE_FLAGS",
    "EXIT_CODES",
    "CONNECTING",
    "WATCHED_PREFIXES",
    "READ_PREFIXES",
    "DENY_EXEC",
    "RESERVE_FAILURES",
];

/// The running guard. Dropping it detaches both programs.
pub struct Guard {
    tgid: u32,
    map: Array<MapData, u32>,
    // Holds the programs and their links.
    _ebpf: Ebpf,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("tgid", &self.tgid).finish()
    }
}

impl Guard {
    /// Guard process `tgid` (the agent passes its own pid) with the object built into this
    /// binary.
    pub fn start(tgid: u32) -> Result<Guard, LsmError> {
        let object = crate::sensor::ebpf::embedded_object()
            .ok_or_else(|| unavailable("eBPF object not built into this binary"))?;
        Self::with_object(object, tgid)
    }

    /// [`Self::start`] with an explicit object.
    pub fn with_object(object: &[u8], tgid: u32) -> Result<Guard, LsmError> {
        let raw = lsm_preflight()?;
        let task_tgid = lsm_btf::Btf::parse(&raw)
            .ok_or_else(|| unavailable("kernel BTF unreadable"))?
            .member_offset("task_struct", "tgid")
            .ok_or_else(|| unavailable("struct task_struct.tgid not in kernel BTF"))?;
        let layout = GuardLayout { task_tgid, _pad: 0 };
        let btf = Btf::from_sys_fs().map_err(|e| unavailable(format!("kernel BTF: {e}")))?;
        let mut loader = EbpfLoader::new();
        loader.override_global(GLOBAL_GUARD_LAYOUT, &layout, true);
        loader.map_max_entries(MAP_EVENTS, 4096);
        for name in UNUSED_MAPS {
            loader.map_max_entries(name, 1);
        }
        let mut ebpf = loader
            .load(object)
            .map_err(|e| unavailable(format!("loading the object: {e}")))?;
        // The map first: the programs guard nothing until it holds the tgid.
        let map = ebpf
            .take_map(MAP_GUARDED_TGID)
            .ok_or_else(|| unavailable("guard map not in the object"))?;
        let mut map: Array<MapData, u32> =
            Array::try_from(map).map_err(|source| LsmError::Map {
                map: MAP_GUARDED_TGID,
                source,
            })?;
        map.set(0, tgid, 0).map_err(|source| LsmError::Map {
            map: MAP_GUARDED_TGID,
            source,
        })?;
        for name in [PROG_GUARD_PTRACE, PROG_GUARD_KILL] {
            let prog: &mut Lsm = ebpf
                .program_mut(name)
                .ok_or_else(|| unavailable(format!("{name} not in the object")))?
                .try_into()
                .map_err(|e| unavailable(format!("{name}: {e}")))?;
            prog.load(name, &btf)
                .map_err(|e| unavailable(format!("loading {name}: {}", chain(&e))))?;
            prog.attach()
                .map_err(|e| unavailable(format!("attaching {name}: {}", chain(&e))))?;
        }
        tracing::info!(tgid, task_tgid, "BPF-LSM self-protection attached");
        Ok(Guard {
            tgid,
            map,
            _ebpf: ebpf,
        })
    }

    /// The guarded process.
    pub fn tgid(&self) -> u32 {
        self.tgid
    }

    /// Stop guarding (the programs stay attached, guarding nothing) until [`Self::resume`].
    pub fn pause(&mut self) -> Result<(), LsmError> {
        self.map.set(0, 0, 0).map_err(|source| LsmError::Map {
            map: MAP_GUARDED_TGID,
            source,
        })
    }

    /// Guard the tgid again.
    pub fn resume(&mut self) -> Result<(), LsmError> {
        self.map
            .set(0, self.tgid, 0)
            .map_err(|source| LsmError::Map {
                map: MAP_GUARDED_TGID,
                source,
            })
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

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// On this dev host the kernel refuses LSM programs: `start` must fail with a clear,
    /// non-fatal `lsm unavailable: …`. Where LSM loads (the VM tier), a guarded child refuses
    /// SIGTERM from this (non-PID-1) process, and accepts it once the guard pauses.
    #[test]
    fn guard_refused_clearly_or_denies_sigterm() {
        let mut child = Command::new("/bin/sleep").arg("30").spawn().expect("spawn");
        let pid = child.id();
        match Guard::start(pid) {
            Err(e) => {
                println!("Guard::start: {e}");
                assert!(e.to_string().starts_with("lsm unavailable: "), "{e}");
            }
            Ok(mut guard) => {
                // SAFETY: signals to our own child.
                let rc = unsafe { libc::kill(pid as i32, libc::SIGTERM) };
                let err = std::io::Error::last_os_error();
                assert_eq!(rc, -1, "SIGTERM to the guarded process is denied");
                assert_eq!(err.raw_os_error(), Some(libc::EPERM));
                // SAFETY: as above; SIGWINCH is not guarded.
                assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGWINCH) }, 0);
                guard.pause().expect("pause");
                // SAFETY: as above.
                assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
