//! systemd integration without libsystemd: the `sd_notify` protocol is one datagram of
//! `KEY=VALUE` lines to the unix socket named by `NOTIFY_SOCKET` (a path, or an abstract
//! address written with a leading `@`). Outside systemd every call is a no-op.
//!
//! The run loop calls [`notify_ready`] once sensors and the control service are up,
//! [`notify_watchdog`] every half of [`watchdog_interval`] from the loop that proves the agent
//! is alive (the pipeline), [`notify_reloading`] / [`notify_ready`] around a SIGHUP reload,
//! [`notify_stopping`] at shutdown, and [`notify_status`] for the one line `systemctl status`
//! shows.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Why a notification was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("NOTIFY_SOCKET {socket:?} is not an absolute path or @abstract name")]
    BadAddress { socket: String },
    #[error("sending to NOTIFY_SOCKET {socket:?}")]
    Send {
        socket: String,
        #[source]
        source: io::Error,
    },
}

/// Where notifications go.
#[derive(Debug, Clone)]
pub struct Notifier {
    socket: String,
    addr: SocketAddr,
}

impl Notifier {
    /// The notifier named by `NOTIFY_SOCKET`, `Ok(None)` when not started by systemd.
    pub fn from_env() -> Result<Option<Notifier>, NotifyError> {
        match std::env::var("NOTIFY_SOCKET") {
            Ok(s) if !s.is_empty() => Notifier::new(&s).map(Some),
            _ => Ok(None),
        }
    }

    /// A notifier for `socket`: `/run/systemd/notify` or `@abstract-name`.
    pub fn new(socket: &str) -> Result<Notifier, NotifyError> {
        let bad = |_| NotifyError::BadAddress {
            socket: socket.to_owned(),
        };
        let addr = if let Some(name) = socket.strip_prefix('@') {
            SocketAddr::from_abstract_name(name.as_bytes()).map_err(bad)?
        } else if socket.starts_with('/') {
            SocketAddr::from_pathname(socket).map_err(bad)?
        } else {
            return Err(NotifyError::BadAddress {
                socket: socket.to_owned(),
            });
        };
        Ok(Notifier {
            socket: socket.to_owned(),
            addr,
        })
    }

    /// Send one notification (`READY=1`, `STATUS=...`, several lines joined by `\n`).
    pub fn send(&self, state: &str) -> Result<(), NotifyError> {
        let err = |source| NotifyError::Send {
            socket: self.socket.clone(),
            source,
        };
        let sock = UnixDatagram::unbound().map_err(err)?;
        sock.send_to_addr(state.as_bytes(), &self.addr)
            .map_err(err)?;
        Ok(())
    }
}

/// Send `state` to systemd if running under it. Returns whether a notification was sent.
pub fn notify(state: &str) -> Result<bool, NotifyError> {
    match Notifier::from_env()? {
        Some(n) => n.send(state).map(|()| true),
        None => Ok(false),
    }
}

/// Startup is complete (`Type=notify`).
pub fn notify_ready() -> Result<bool, NotifyError> {
    notify("READY=1")
}

/// The one-line status `systemctl status` shows. Newlines are replaced: they would start a
/// new `KEY=VALUE` assignment.
pub fn notify_status(status: &str) -> Result<bool, NotifyError> {
    notify(&status_line(status))
}

/// Still alive (`WatchdogSec=`).
pub fn notify_watchdog() -> Result<bool, NotifyError> {
    notify("WATCHDOG=1")
}

/// A reload (SIGHUP) has begun; send [`notify_ready`] when it is done.
pub fn notify_reloading() -> Result<bool, NotifyError> {
    notify(&reloading_message(monotonic_usec()))
}

/// Shutdown has begun.
pub fn notify_stopping() -> Result<bool, NotifyError> {
    notify("STOPPING=1")
}

/// The watchdog period systemd expects, if the watchdog is on for this process: from
/// `WATCHDOG_USEC`, honoured only when `WATCHDOG_PID` is unset or names this process.
/// Ping at half this interval.
pub fn watchdog_interval() -> Option<Duration> {
    watchdog_from(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// Pure form of [`watchdog_interval`].
pub fn watchdog_from(usec: Option<&str>, pid: Option<&str>, my_pid: u32) -> Option<Duration> {
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok()? != my_pid
    {
        return None;
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

fn status_line(status: &str) -> String {
    format!("STATUS={}", status.replace(['\n', '\r'], " "))
}

/// `RELOADING=1` with the monotonic timestamp systemd ≥ 253 uses to match the reload.
fn reloading_message(monotonic_usec: u64) -> String {
    format!("RELOADING=1\nMONOTONIC_USEC={monotonic_usec}")
}

/// CLOCK_MONOTONIC in microseconds (what systemd compares `MONOTONIC_USEC` with).
fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000).saturating_add(nanos / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recv(sock: &UnixDatagram) -> String {
        sock.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).expect("recv");
        String::from_utf8(buf[..n].to_vec()).expect("utf8")
    }

    #[test]
    fn sends_to_a_path_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).expect("bind");
        let n = Notifier::new(path.to_str().expect("utf8 path")).expect("notifier");
        n.send("READY=1").expect("send");
        assert_eq!(recv(&server), "READY=1");
        n.send(&status_line("watching\n3 sensors")).expect("send");
        assert_eq!(recv(&server), "STATUS=watching 3 sensors");
        n.send("WATCHDOG=1").expect("send");
        assert_eq!(recv(&server), "WATCHDOG=1");
    }

    #[test]
    fn sends_to_an_abstract_socket() {
        let name = format!("innerwarden-test-notify-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("addr");
        let server = UnixDatagram::bind_addr(&addr).expect("bind abstract");
        let n = Notifier::new(&format!("@{name}")).expect("notifier");
        n.send("STOPPING=1").expect("send");
        assert_eq!(recv(&server), "STOPPING=1");
    }

    #[test]
    fn rejects_relative_addresses_and_reports_missing_sockets() {
        assert!(matches!(
            Notifier::new("relative/path"),
            Err(NotifyError::BadAddress { .. })
        ));
        let dir = tempfile::tempdir().expect("tempdir");
        let gone = dir.path().join("none");
        let n = Notifier::new(gone.to_str().expect("utf8")).expect("notifier");
        assert!(matches!(n.send("READY=1"), Err(NotifyError::Send { .. })));
    }

    #[test]
    fn watchdog_interval_rules() {
        let d = |u, p| watchdog_from(u, p, 42);
        assert_eq!(d(Some("30000000"), None), Some(Duration::from_secs(30)));
        assert_eq!(
            d(Some("30000000"), Some("42")),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            d(Some("30000000"), Some("7")),
            None,
            "meant for another pid"
        );
        assert_eq!(d(Some("0"), None), None);
        assert_eq!(d(Some("soon"), None), None);
        assert_eq!(d(None, Some("42")), None);
    }

    #[test]
    fn reloading_carries_a_monotonic_timestamp() {
        let m = reloading_message(monotonic_usec());
        let (first, second) = m.split_once('\n').expect("two lines");
        assert_eq!(first, "RELOADING=1");
        let usec: u64 = second
            .strip_prefix("MONOTONIC_USEC=")
            .expect("key")
            .parse()
            .expect("number");
        assert!(usec > 0);
    }
}
