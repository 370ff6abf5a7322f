//! Sensors: the edges that watch the host and produce [`innerwarden_core::event::Event`]s.
//!
//! Each sensor decodes through exactly one decoder in `innerwarden_core::decode` and hands events
//! to the pipeline through a [`crate::channel::CountedSender`].
//!
//! - [`authlog`]: rotation-safe tail of `/var/log/auth.log`.
//! - [`journald`]: `journalctl --follow --output=json` for the auth programs.
//! - [`ebpf`]: the kernel sensor (tracepoints, ring buffer).
//! - [`inotify`]: the file-event fallback when the kernel sensor is not running.

pub mod authlog;
pub mod inotify;
pub mod journald;

pub mod ebpf;

/// Where a sensor keeps its position (journald cursor, file offset) across restarts.
/// Implemented by the SQLite store; tests use [`MemoryPositions`].
pub trait PositionStore: Send + Sync {
    /// The saved position for `key`, if any.
    fn load_position(&self, key: &str) -> anyhow::Result<Option<String>>;
    /// Save `value` as the position for `key`, replacing the previous one.
    fn save_position(&self, key: &str, value: &str) -> anyhow::Result<()>;
}

/// An in-memory [`PositionStore`] for tests and `--no-state` runs.
#[derive(Debug, Default)]
pub struct MemoryPositions {
    map: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl PositionStore for MemoryPositions {
    fn load_position(&self, key: &str) -> anyhow::Result<Option<String>> {
        let map = self
            .map
            .lock()
            .map_err(|_| anyhow::anyhow!("position map poisoned"))?;
        Ok(map.get(key).cloned())
    }

    fn save_position(&self, key: &str, value: &str) -> anyhow::Result<()> {
        let mut map = self
            .map
            .lock()
            .map_err(|_| anyhow::anyhow!("position map poisoned"))?;
        map.insert(key.to_owned(), value.to_owned());
        Ok(())
    }
}
