//! The /proc scan that seeds the process table at start, so processes that started before the
//! agent have ancestry, users and units too. The only place the agent reads /proc for processes.

use std::fs;
use std::path::Path;

use innerwarden_core::proctable::{ProcInfo, unit_from_cgroup_path};

/// Read every process visible under `root` (normally `/proc`). Processes that vanish mid-scan
/// are skipped; a process we may not read fully still appears with what we could read.
pub fn scan(root: &Path) -> Vec<ProcInfo> {
    let Ok(dir) = fs::read_dir(root) else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| read_process(root, pid))
        .collect()
}

/// One process from `<root>/<pid>`.
pub fn read_process(root: &Path, pid: u32) -> Option<ProcInfo> {
    let base = root.join(pid.to_string());
    let stat = fs::read_to_string(base.join("stat")).ok()?;
    let (comm, ppid) = parse_stat(&stat)?;
    let status = fs::read_to_string(base.join("status")).unwrap_or_default();
    let uid = status_id(&status, "Uid:").unwrap_or(0);
    let gid = status_id(&status, "Gid:").unwrap_or(0);
    let exe = fs::read_link(base.join("exe"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let argv = fs::read(base.join("cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let unit = fs::read_to_string(base.join("cgroup"))
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("0::").map(str::to_owned))
        })
        .and_then(|p| unit_from_cgroup_path(&p));
    Some(ProcInfo {
        pid,
        ppid,
        uid,
        gid,
        exe,
        comm,
        argv,
        cgroup_id: 0,
        unit,
        started: None,
        previous: None,
    })
}

/// `(comm, ppid)` from /proc/PID/stat. comm may contain spaces and parentheses, so it is the
/// text between the first `(` and the last `)`.
fn parse_stat(stat: &str) -> Option<(String, u32)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let _state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((comm, ppid))
}

/// The real id from a `Uid:`/`Gid:` line of /proc/PID/status.
fn status_id(status: &str, key: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The login name of `uid` from /etc/passwd, if any.
pub fn user_name(uid: u32) -> Option<String> {
    let text = fs::read_to_string("/etc/passwd").ok()?;
    passwd_name(&text, uid)
}

/// Pure part of [`user_name`]: `name:x:uid:...` lines.
pub fn passwd_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let _pw = f.next()?;
        (f.next()?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lookup() {
        let pw =
            "root:x:0:0:root:/root:/bin/bash\nbroken\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(passwd_name(pw, 1000).as_deref(), Some("alice"));
        assert_eq!(passwd_name(pw, 0).as_deref(), Some("root"));
        assert_eq!(passwd_name(pw, 7), None);
    }

    #[test]
    fn stat_with_odd_comm_parses() {
        assert_eq!(
            parse_stat("42 (a b) (c)) S 7 42 42 0"),
            Some(("a b) (c)".to_owned(), 7))
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn scans_our_own_process() {
        let me = std::process::id();
        let info = read_process(Path::new("/proc"), me).expect("own process readable");
        assert_eq!(info.pid, me);
        assert!(info.ppid > 0);
        assert!(!info.argv.is_empty());
        assert!(scan(Path::new("/proc")).iter().any(|p| p.pid == me));
    }
}
