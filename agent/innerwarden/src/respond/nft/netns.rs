//! Run a closure inside a network namespace, on a thread of its own.
//!
//! `unshare(CLONE_NEWNET)` and `setns` change only the calling thread's namespace, and the
//! processes it spawns (`nft`) and the sockets it opens inherit it; so a test or the benchmark
//! gets a private firewall without touching the host's.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::thread;

/// Run `f` on a new thread inside a fresh, empty network namespace (gone when the thread ends
/// and nothing else holds it).
pub fn in_new_netns<R, F>(f: F) -> io::Result<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    run_thread(move || {
        // SAFETY: unshare takes no pointers; CLONE_NEWNET affects only this thread.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(f())
    })
}

/// Run `f` on a new thread inside the namespace at `path` (`/run/netns/NAME`).
pub fn in_netns<R, F>(path: &Path, f: F) -> io::Result<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let ns = File::open(path)?;
    run_thread(move || {
        // SAFETY: `ns` is an open namespace fd for the duration of the call.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(f())
    })
}

fn run_thread<R: Send + 'static>(
    f: impl FnOnce() -> io::Result<R> + Send + 'static,
) -> io::Result<R> {
    match thread::spawn(f).join() {
        Ok(r) => r,
        // A panic in `f` (a failed test assertion) stays a panic in the caller.
        Err(payload) => std::panic::resume_unwind(payload),
    }
}
