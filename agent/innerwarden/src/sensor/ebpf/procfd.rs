//! The [`ProcLookup`] the kernel decoder asks, over /proc, right after a record is read.

use std::path::{Path, PathBuf};

use innerwarden_core::decode::kernel::ProcLookup;

/// Answers from a procfs mount (normally `/proc`).
#[derive(Debug, Clone)]
pub struct ProcFd {
    root: PathBuf,
}

impl Default for ProcFd {
    fn default() -> Self {
        Self::new("/proc")
    }
}

impl ProcFd {
    pub fn new(root: impl AsRef<Path>) -> Self {
        Self {
            root: root.as_ref().to_path_buf(),
        }
    }
}

impl ProcLookup for ProcFd {
    fn fd_is_socket(&self, pid: u32, fd: u32) -> Option<bool> {
        let target = std::fs::read_link(self.root.join(format!("{pid}/fd/{fd}"))).ok()?;
        Some(target.to_string_lossy().starts_with("socket:["))
    }

    fn pidfd_target(&self, pid: u32, fd: u32) -> Option<i32> {
        let info = std::fs::read_to_string(self.root.join(format!("{pid}/fdinfo/{fd}"))).ok()?;
        pidfd_pid(&info)
    }
}

/// The `Pid:` line of a pidfd's fdinfo (`-1` when the process has exited; kernel ≥ 5.3).
pub fn pidfd_pid(fdinfo: &str) -> Option<i32> {
    fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use super::*;

    #[test]
    fn parses_fdinfo() {
        assert_eq!(
            pidfd_pid("pos:\t0\nflags:\t02000002\nPid:\t4242\nNSpid:\t4242\n"),
            Some(4242)
        );
        assert_eq!(pidfd_pid("pos:\t0\n"), None);
    }

    #[test]
    fn sockets_and_files_on_this_process() {
        let me = std::process::id();
        let proc = ProcFd::default();
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        assert_eq!(proc.fd_is_socket(me, sock.as_raw_fd() as u32), Some(true));
        let file = tempfile::tempfile().expect("tempfile");
        assert_eq!(proc.fd_is_socket(me, file.as_raw_fd() as u32), Some(false));
        assert_eq!(proc.fd_is_socket(me, 1_000_000), None);
        // A pidfd of ourselves names our pid.
        // SAFETY: pidfd_open takes a pid and flags; the returned fd is closed below.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, me as libc::pid_t, 0) } as i32;
        if pidfd < 0 {
            println!("skipped: pidfd_open unavailable on this kernel");
            return;
        }
        assert_eq!(proc.pidfd_target(me, pidfd as u32), Some(me as i32));
        // SAFETY: closing the fd opened above.
        unsafe { libc::close(pidfd) };
    }
}
