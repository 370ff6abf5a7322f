//! The program table, tracefs handling and map setup.

use std::fs;
use std::path::Path;

use aya::Ebpf;
use aya::maps::lpm_trie::Key;
use aya::maps::{HashMap, LpmTrie};
use aya::programs::TracePoint;
use innerwarden_common::{MAP_PARENTS, PREFIX_LEN, TpLayout, format_field_offset};

use super::{EbpfError, ProgramStatus, map_err};

/// Every tracepoint program in the object: (tracepoint category, tracepoint name). The name is the
/// tracepoint name in every case. Only these are loaded by [`attach_all`]: the object's BPF-LSM
/// program (`lsm/bprm_check_security`, exec deny) is loaded by `respond::lsm::LsmResponder`
/// alone, so a kernel that refuses LSM programs never stops the sensor from starting.
const PROGRAMS: &[(&str, &str)] = &[
    ("syscalls", "sys_enter_execve"),
    ("syscalls", "sys_enter_execveat"),
    ("sched", "sched_process_exec"),
    ("syscalls", "sys_enter_clone"),
    ("syscalls", "sys_enter_clone3"),
    ("sched", "sched_process_fork"),
    ("syscalls", "sys_enter_exit_group"),
    ("sched", "sched_process_exit"),
    ("sock", "inet_sock_set_state"),
    ("syscalls", "sys_enter_openat"),
    ("syscalls", "sys_enter_openat2"),
    ("syscalls", "sys_enter_open"),
    ("syscalls", "sys_enter_creat"),
    // File changes (change.rs).
    ("syscalls", "sys_enter_unlink"),
    ("syscalls", "sys_enter_unlinkat"),
    ("syscalls", "sys_enter_rename"),
    ("syscalls", "sys_enter_renameat"),
    ("syscalls", "sys_enter_renameat2"),
    ("syscalls", "sys_enter_truncate"),
    ("syscalls", "sys_enter_chmod"),
    ("syscalls", "sys_enter_fchmodat"),
    ("syscalls", "sys_enter_fchmodat2"),
    ("syscalls", "sys_enter_chown"),
    ("syscalls", "sys_enter_lchown"),
    ("syscalls", "sys_enter_fchownat"),
    ("syscalls", "sys_enter_link"),
    ("syscalls", "sys_enter_linkat"),
    ("syscalls", "sys_enter_symlink"),
    ("syscalls", "sys_enter_symlinkat"),
    // Tasks and credentials (task.rs).
    ("syscalls", "sys_enter_ptrace"),
    ("syscalls", "sys_enter_setuid"),
    ("syscalls", "sys_enter_setreuid"),
    ("syscalls", "sys_enter_setresuid"),
    ("syscalls", "sys_enter_setfsuid"),
    ("syscalls", "sys_enter_setgid"),
    ("syscalls", "sys_enter_setregid"),
    ("syscalls", "sys_enter_setresgid"),
    ("syscalls", "sys_enter_setfsgid"),
    ("syscalls", "sys_enter_capset"),
    ("syscalls", "sys_enter_kill"),
    ("syscalls", "sys_enter_tkill"),
    ("syscalls", "sys_enter_tgkill"),
    ("syscalls", "sys_enter_pidfd_send_signal"),
    // Memory and descriptors (mem.rs).
    ("syscalls", "sys_enter_memfd_create"),
    ("syscalls", "sys_enter_mmap"),
    ("syscalls", "sys_enter_mprotect"),
    ("syscalls", "sys_enter_dup2"),
    ("syscalls", "sys_enter_dup3"),
    // The system (system.rs).
    ("syscalls", "sys_enter_mount"),
    ("syscalls", "sys_enter_unshare"),
    ("syscalls", "sys_enter_setns"),
    ("syscalls", "sys_enter_bpf"),
    ("module", "module_load"),
];

/// The first program of the syscall set (file changes onward in [`PROGRAMS`]): everything
/// before it is the exec/fork/exit/tcp/open sensor, everything from it on the syscall
/// programs. `bench syscalls` attaches the first part alone to measure the second.
const FIRST_SYSCALL_PROGRAM: &str = "sys_enter_unlink";

/// Names of the syscall programs (ptrace, creds, memory, dup, file changes, signals, mount,
/// namespaces, bpf, modules).
pub fn syscall_programs() -> Vec<String> {
    PROGRAMS
        .iter()
        .skip_while(|(_, n)| *n != FIRST_SYSCALL_PROGRAM)
        .map(|(_, n)| (*n).to_owned())
        .collect()
}

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

fn tracefs_root() -> Option<&'static str> {
    [TRACEFS, DEBUGFS_TRACING]
        .into_iter()
        .find(|p| Path::new(p).join("events").is_dir())
}

/// Mount tracefs on /sys/kernel/tracing if no tracefs is mounted (systemd normally does this;
/// minimal containers and some boots do not). Failure is logged: attach will report it.
pub fn ensure_tracefs() {
    if tracefs_root().is_some() {
        return;
    }
    let (Ok(src), Ok(target)) = (
        std::ffi::CString::new("tracefs"),
        std::ffi::CString::new(TRACEFS),
    ) else {
        return;
    };
    // SAFETY: valid NUL-terminated strings; no data argument.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            src.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        tracing::info!(path = TRACEFS, "mounted tracefs for tracepoint attach");
    } else {
        let err = std::io::Error::last_os_error();
        tracing::warn!(path = TRACEFS, %err, "tracefs is not mounted and mounting it failed");
    }
}

/// Field offsets of the tracepoints the programs read, from tracefs `format` files, falling back
/// to the mainline layout field by field.
pub fn tracepoint_layout() -> TpLayout {
    let mut l = TpLayout::DEFAULT;
    let Some(root) = tracefs_root() else {
        tracing::warn!("tracefs not found: using the default tracepoint layout");
        return l;
    };
    let read = |event: &str| fs::read_to_string(format!("{root}/events/{event}/format")).ok();
    let set = |format: &Option<String>, field: &str, slot: &mut u32| match format
        .as_deref()
        .and_then(|f| format_field_offset(f, field))
    {
        Some(off) => *slot = off,
        None => tracing::warn!(field, default = *slot, "tracepoint field offset not found"),
    };
    let exec = read("sched/sched_process_exec");
    set(&exec, "filename", &mut l.exec_filename);
    set(&exec, "pid", &mut l.exec_pid);
    set(&exec, "old_pid", &mut l.exec_old_pid);
    let fork = read("sched/sched_process_fork");
    set(&fork, "parent_pid", &mut l.fork_parent_pid);
    set(&fork, "child_pid", &mut l.fork_child_pid);
    let exit = read("sched/sched_process_exit");
    set(&exit, "pid", &mut l.exit_pid);
    let sk = read("sock/inet_sock_set_state");
    set(&sk, "skaddr", &mut l.sk_skaddr);
    set(&sk, "oldstate", &mut l.sk_oldstate);
    set(&sk, "newstate", &mut l.sk_newstate);
    set(&sk, "sport", &mut l.sk_sport);
    set(&sk, "dport", &mut l.sk_dport);
    set(&sk, "family", &mut l.sk_family);
    set(&sk, "protocol", &mut l.sk_protocol);
    set(&sk, "saddr", &mut l.sk_saddr);
    set(&sk, "daddr", &mut l.sk_daddr);
    set(&sk, "saddr_v6", &mut l.sk_saddr_v6);
    set(&sk, "daddr_v6", &mut l.sk_daddr_v6);
    // Absent on kernels without module support: the program then fails to attach, reported.
    let module = read("module/module_load");
    if module.is_some() {
        set(&module, "name", &mut l.module_name);
    }
    l
}

/// Fill a prefix trie: each list with its trie value (a later list wins for a prefix in two).
pub fn set_prefixes(
    ebpf: &mut Ebpf,
    name: &'static str,
    lists: &[(&Vec<String>, u8)],
) -> Result<(), EbpfError> {
    let map = ebpf
        .map_mut(name)
        .ok_or(EbpfError::Map { name, source: None })?;
    let mut trie: LpmTrie<_, [u8; PREFIX_LEN], u8> =
        LpmTrie::try_from(map).map_err(|e| map_err(name, e))?;
    for (prefixes, value) in lists {
        for p in prefixes.iter() {
            let mut data = [0u8; PREFIX_LEN];
            let n = p.len().min(PREFIX_LEN);
            data[..n].copy_from_slice(&p.as_bytes()[..n]);
            trie.insert(&Key::new((n * 8) as u32, data), *value, 0)
                .map_err(|e| map_err(name, e))?;
        }
    }
    Ok(())
}

/// Seed the fork-learnt parent map with the processes that already run, so an exec by a
/// process started before the sensor still carries its parent. Returns how many were seeded.
pub fn seed_parents(ebpf: &mut Ebpf) -> Result<usize, EbpfError> {
    let name = MAP_PARENTS;
    let map = ebpf
        .map_mut(name)
        .ok_or(EbpfError::Map { name, source: None })?;
    let mut parents: HashMap<_, u32, u32> = HashMap::try_from(map).map_err(|e| map_err(name, e))?;
    let Ok(dir) = fs::read_dir("/proc") else {
        return Ok(0);
    };
    let mut n = 0;
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        // A process may exit between listing and reading: skip it.
        let Some(ppid) = fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|stat| stat_ppid(&stat))
        else {
            continue;
        };
        if parents.insert(pid, ppid, 0).is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

/// The parent pid from `/proc/<pid>/stat` text: the field after the state, which follows the
/// last `)` (comm may contain spaces and parentheses).
pub fn stat_ppid(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Load and attach every program not in `exclude`; failures are reported, never fatal.
pub fn attach_all(ebpf: &mut Ebpf, exclude: &[String]) -> Vec<ProgramStatus> {
    PROGRAMS
        .iter()
        .map(|&(category, name)| {
            let hook = format!("tracepoint/{category}/{name}");
            let excluded = exclude.iter().any(|e| e == name);
            let result = if excluded {
                Err("excluded by configuration".to_owned())
            } else {
                attach_one(ebpf, category, name)
            };
            match &result {
                Ok(()) => tracing::debug!(program = name, %hook, "attached"),
                Err(error) if excluded => {
                    tracing::debug!(program = name, %hook, %error, "not attached")
                }
                Err(error) => tracing::warn!(program = name, %hook, %error, "not attached"),
            }
            ProgramStatus {
                name: name.to_owned(),
                hook,
                attached: result.is_ok(),
                error: result.err(),
            }
        })
        .collect()
}

fn attach_one(ebpf: &mut Ebpf, category: &str, name: &str) -> Result<(), String> {
    let prog = ebpf
        .program_mut(name)
        .ok_or_else(|| "program not in the object".to_owned())?;
    let tp: &mut TracePoint = prog.try_into().map_err(|e| format!("{e}"))?;
    tp.load().map_err(|e| error_chain(&e))?;
    tp.attach(category, name).map_err(|e| error_chain(&e))?;
    Ok(())
}

/// An error and its sources on one line (the verifier log, when there is one, is in a source).
fn error_chain(e: &dyn std::error::Error) -> String {
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
    use super::*;

    #[test]
    fn syscall_programs_are_the_tail_of_the_table() {
        let sys = syscall_programs();
        assert_eq!(sys.first().map(String::as_str), Some(FIRST_SYSCALL_PROGRAM));
        assert!(sys.iter().any(|n| n == "module_load"));
        assert!(!sys.iter().any(|n| n == "sys_enter_openat"));
        // 16 file-change, 14 task (ptrace, 9 cred, 4 signal), 5 mem, 5 system programs.
        assert_eq!(sys.len(), 40);
    }

    #[test]
    fn ppid_from_stat_with_odd_comm() {
        assert_eq!(stat_ppid("42 (a b) c)) S 7 42 42 0 -1"), Some(7));
        assert_eq!(stat_ppid("1 (systemd) S 0 1 1 0"), Some(0));
        assert_eq!(stat_ppid("garbage"), None);
    }
}
