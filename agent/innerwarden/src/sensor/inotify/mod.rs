//! The inotify fallback for file events, for hosts where the kernel sensor is not running: it
//! watches the same places (`sensors.ebpf.watch_paths`, and the persistence files of the homes
//! under `sensors.ebpf.home_paths`) and emits `file_write` / `file_change` events with source
//! `inotify` and pid 0 (inotify does not say who).
//!
//! | inotify | event |
//! |---|---|
//! | `IN_CLOSE_WRITE` | `file_write` (flags `O_WRONLY`) |
//! | `IN_DELETE` | `file_change` unlink |
//! | `IN_MOVED_FROM` + `IN_MOVED_TO` (same cookie) | `file_change` rename, `path` → `new_path` |
//! | `IN_MOVED_TO` alone (moved in from elsewhere) | `file_change` rename, `path` empty |
//! | `IN_MOVED_FROM` alone (moved out) | `file_change` rename, no `new_path` |
//! | `IN_ATTRIB` | `file_change` chmod with the mode `stat` finds (also fires for chown) |
//! | `IN_Q_OVERFLOW` | `loss` (point `channel`, stage `inotify`) |
//!
//! Truncation is not told apart from a write. New directories inside a watched tree are
//! watched as they appear; at most `max_watches` directories are watched (the rest counted).

mod parse;
mod watches;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use chrono::Utc;
use innerwarden_core::event::{
    Event, EventKind, FileChange, FileOp, FileWrite, Loss, LossPoint, Source,
};

pub use parse::{RawEvent, parse};
pub use watches::{Watch, Watches};

use crate::channel::CountedSender;

/// What the fallback watches.
#[derive(Debug, Clone)]
pub struct InotifyConfig {
    pub prefixes: Vec<String>,
    pub home_roots: Vec<String>,
    pub max_watches: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum InotifyError {
    #[error("inotify_init1")]
    Init {
        #[source]
        source: std::io::Error,
    },
    #[error("none of the configured paths could be watched")]
    NothingWatched,
    #[error("starting the inotify thread")]
    Thread {
        #[source]
        source: std::io::Error,
    },
}

/// Counters, readable while the sensor runs.
#[derive(Debug, Default)]
pub struct InotifyStats {
    pub events_total: AtomicU64,
    pub overflows_total: AtomicU64,
    pub channel_dropped_total: AtomicU64,
}

const MASK: u32 = libc::IN_CLOSE_WRITE
    | libc::IN_DELETE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_ATTRIB
    | libc::IN_CREATE
    | libc::IN_DONT_FOLLOW
    | libc::IN_ONLYDIR;
const O_WRONLY: u32 = 1;

/// A running fallback sensor. Dropping it stops the thread.
pub struct InotifySensor {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<InotifyStats>,
    watched: usize,
}

impl InotifySensor {
    /// Set up the watches and start the reader thread, which offers events into `tx`.
    pub fn start(config: InotifyConfig, tx: CountedSender<Event>) -> Result<Self, InotifyError> {
        // SAFETY: plain syscall; the fd is owned by the Reader and closed on its drop.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(InotifyError::Init {
                source: std::io::Error::last_os_error(),
            });
        }
        let mut watches = Watches::new(fd, MASK, config.max_watches);
        for p in &config.prefixes {
            watches.add_prefix(p);
        }
        for h in &config.home_roots {
            watches.add_home_root(h);
        }
        let watched = watches.len();
        if watches.over_limit > 0 {
            tracing::warn!(
                watched,
                not_watched = watches.over_limit,
                "inotify: max_watches reached; some directories are not watched"
            );
        }
        let reader = Reader::new(fd, watches, tx);
        if watched == 0 {
            return Err(InotifyError::NothingWatched);
        }
        let (stop, stats) = (Arc::clone(&reader.stop), Arc::clone(&reader.stats));
        let thread = std::thread::Builder::new()
            .name("inotify".into())
            .spawn(move || reader.run())
            .map_err(|source| InotifyError::Thread { source })?;
        Ok(Self {
            stop,
            thread: Some(thread),
            stats,
            watched,
        })
    }

    /// Directories watched at start.
    pub fn watched(&self) -> usize {
        self.watched
    }

    pub fn stats(&self) -> Arc<InotifyStats> {
        Arc::clone(&self.stats)
    }
}

impl Drop for InotifySensor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("inotify thread panicked");
        }
    }
}

struct Reader {
    fd: i32,
    watches: Watches,
    tx: CountedSender<Event>,
    /// `IN_MOVED_FROM` paths by cookie, with the read batch they came in, until their
    /// `IN_MOVED_TO`. The kernel queues a rename's two halves one after the other, so a read
    /// can fall between them: an unpaired half waits one more batch (or a short poll).
    moves: HashMap<u32, (String, u64)>,
    /// Read batches so far.
    batches: u64,
    stop: Arc<AtomicBool>,
    stats: Arc<InotifyStats>,
}

impl Drop for Reader {
    fn drop(&mut self) {
        // SAFETY: our own fd, closed once.
        unsafe { libc::close(self.fd) };
    }
}

impl Reader {
    fn new(fd: i32, watches: Watches, tx: CountedSender<Event>) -> Self {
        Self {
            fd,
            watches,
            tx,
            moves: HashMap::new(),
            batches: 0,
            stop: Arc::new(AtomicBool::new(false)),
            stats: Arc::new(InotifyStats::default()),
        }
    }

    fn run(mut self) {
        let mut buf = vec![0u8; 64 * 1024];
        while !self.stop.load(Ordering::Relaxed) {
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // A pending move half is given a short wait for its other half, not the full tick.
            let timeout = if self.moves.is_empty() { 200 } else { 20 };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut pfd, 1, timeout) } <= 0 {
                if !self.flush_moves(u64::MAX) {
                    return;
                }
                continue;
            }
            // SAFETY: reading into a buffer we own, of its length.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                continue;
            }
            if !self.handle_batch(&parse(&buf[..n as usize])) {
                return;
            }
        }
    }

    /// Translate and deliver one read's events; false when the channel closed.
    fn handle_batch(&mut self, events: &[RawEvent]) -> bool {
        self.batches += 1;
        for raw in events {
            for kind in self.translate(raw) {
                if !self.deliver(kind) {
                    return false;
                }
            }
        }
        // Halves from an earlier batch still unpaired went out of the watched set.
        self.flush_moves(self.batches)
    }

    /// Deliver the moves read before batch `before` as moved out; false when the channel closed.
    fn flush_moves(&mut self, before: u64) -> bool {
        let mut gone: Vec<(u64, String)> = Vec::new();
        self.moves.retain(|_, (path, batch)| {
            if *batch < before {
                gone.push((*batch, std::mem::take(path)));
                false
            } else {
                true
            }
        });
        gone.sort();
        gone.into_iter()
            .all(|(_, path)| self.deliver(change(FileOp::Rename, path, None, None)))
    }

    fn deliver(&self, kind: EventKind) -> bool {
        self.stats.events_total.fetch_add(1, Ordering::Relaxed);
        match self.tx.offer(Event::new(Utc::now(), Source::Inotify, kind)) {
            Ok(true) => true,
            Ok(false) => {
                self.stats
                    .channel_dropped_total
                    .fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    /// The events one inotify record stands for (none when filtered out).
    fn translate(&mut self, raw: &RawEvent) -> Vec<EventKind> {
        if raw.mask & libc::IN_Q_OVERFLOW != 0 {
            self.stats.overflows_total.fetch_add(1, Ordering::Relaxed);
            return vec![EventKind::Loss(Loss {
                point: LossPoint::Channel,
                stage: "inotify".into(),
                count: 1,
            })];
        }
        if raw.mask & libc::IN_IGNORED != 0 {
            self.watches.remove(raw.wd);
            return vec![];
        }
        let Some((dir, watch)) = self.watches.get(raw.wd).cloned() else {
            return vec![];
        };
        let full = if raw.name.is_empty() {
            dir.clone()
        } else {
            dir.join(&raw.name)
        };
        let path = full.to_string_lossy().into_owned();
        let is_dir = raw.mask & libc::IN_ISDIR != 0;
        if is_dir && raw.mask & (libc::IN_CREATE | libc::IN_MOVED_TO) != 0 {
            self.watches.on_new_dir(&full, &watch);
        }
        // A move's two halves may be filtered differently (into or out of the watched set).
        if raw.mask & libc::IN_MOVED_FROM != 0 {
            if watch.keeps(&path) {
                self.moves.insert(raw.cookie, (path, self.batches));
            }
            return vec![];
        }
        if raw.mask & libc::IN_MOVED_TO != 0 {
            let from = self.moves.remove(&raw.cookie).map(|(p, _)| p);
            if from.is_none() && !watch.keeps(&path) {
                return vec![];
            }
            return vec![change(
                FileOp::Rename,
                from.unwrap_or_default(),
                Some(path),
                None,
            )];
        }
        if !watch.keeps(&path) {
            return vec![];
        }
        if raw.mask & libc::IN_CLOSE_WRITE != 0 {
            return vec![EventKind::FileWrite(FileWrite {
                pid: 0,
                uid: 0,
                comm: String::new(),
                path,
                flags: O_WRONLY,
            })];
        }
        if raw.mask & libc::IN_DELETE != 0 {
            return vec![change(FileOp::Unlink, path, None, None)];
        }
        if raw.mask & libc::IN_ATTRIB != 0 {
            let mode = std::fs::symlink_metadata(Path::new(&path))
                .ok()
                .map(|m| m.permissions().mode() & 0o7777);
            return vec![change(FileOp::Chmod, path, None, mode)];
        }
        vec![]
    }
}

fn change(op: FileOp, path: String, new_path: Option<String>, mode: Option<u32>) -> EventKind {
    EventKind::FileChange(FileChange {
        pid: 0,
        uid: 0,
        comm: String::new(),
        op,
        path,
        new_path,
        mode,
    })
}

#[cfg(test)]
mod tests;
