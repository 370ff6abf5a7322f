//! The auth.log sensor: tails a text log (`/var/log/auth.log`, `/var/log/secure`) and decodes
//! each line with [`innerwarden_core::decode::authlog::SessionDecoder`].
//!
//! Lossless by construction: lines are handed to the pipeline with
//! [`CountedSender::send`] (waits for room), and the file position is saved through the
//! [`PositionStore`] only after the batch's events were handed over. A crash between the two
//! re-reads that batch on restart (at-least-once); a clean stop loses and repeats nothing.
//! Lines the decoder does not understand are counted in [`AuthlogStats::unparsed_total`].

mod tail;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{FixedOffset, Local, Offset, Utc};
use innerwarden_core::decode::authlog::{LineContext, LineOutcome, SessionDecoder};
use innerwarden_core::event::{Event, Source};

pub use tail::{FilePosition, PollStats, StartAt, Tail};

use super::PositionStore;
use crate::channel::CountedSender;

/// Settings of one auth-log tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthlogConfig {
    pub path: PathBuf,
    /// How often the file is polled for new lines and rotation. Default 250 ms.
    pub poll_interval: Duration,
    /// Where a first start (no saved position) begins. Default: the end.
    pub start_at: StartAt,
}

impl AuthlogConfig {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            poll_interval: Duration::from_millis(250),
            start_at: StartAt::End,
        }
    }

    /// The position-store key: `authlog:<path>`.
    pub fn position_key(&self) -> String {
        format!("authlog:{}", self.path.display())
    }
}

/// Counters of one auth-log sensor, shared with status reporting.
#[derive(Debug, Default)]
pub struct AuthlogStats {
    pub lines_total: AtomicU64,
    pub events_total: AtomicU64,
    pub ignored_total: AtomicU64,
    pub unparsed_total: AtomicU64,
    pub rotations_total: AtomicU64,
    pub truncations_total: AtomicU64,
    pub oversized_lines_total: AtomicU64,
}

impl AuthlogStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Why the sensor stopped.
#[derive(Debug, thiserror::Error)]
pub enum AuthlogError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("position store ({key}): {source}")]
    Position {
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the blocking reader task failed: {source}")]
    Join {
        #[source]
        source: tokio::task::JoinError,
    },
    #[error(transparent)]
    Closed(#[from] crate::channel::Closed),
}

/// The auth.log sensor.
pub struct AuthlogSensor {
    cfg: AuthlogConfig,
    positions: Arc<dyn PositionStore>,
    tx: CountedSender<Event>,
    stats: Arc<AuthlogStats>,
}

impl AuthlogSensor {
    pub fn new(
        cfg: AuthlogConfig,
        positions: Arc<dyn PositionStore>,
        tx: CountedSender<Event>,
    ) -> Self {
        Self {
            cfg,
            positions,
            tx,
            stats: Arc::new(AuthlogStats::default()),
        }
    }

    /// The sensor's counters (unparsed lines, rotations, ...).
    pub fn stats(&self) -> Arc<AuthlogStats> {
        Arc::clone(&self.stats)
    }

    /// Tail until `shutdown` completes or the pipeline closes. Saves the position on the way out.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), AuthlogError> {
        let key = self.cfg.position_key();
        let saved = self
            .positions
            .load_position(&key)
            .map_err(|e| position_error(&key, e))?
            .as_deref()
            .and_then(FilePosition::decode);
        let mut tail = Some(Tail::new(&self.cfg.path, saved, self.cfg.start_at));
        let mut decoder = SessionDecoder::new(context());
        let mut last_saved = saved;
        let mut tick = tokio::time::interval(self.cfg.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                _ = tick.tick() => {}
            }
            decoder.set_now(Utc::now());
            loop {
                let Some(mut t) = tail.take() else {
                    return Ok(());
                };
                let (t, lines, polled) = tokio::task::spawn_blocking(move || {
                    let mut lines = Vec::new();
                    let r = t.poll(&mut lines);
                    (t, lines, r)
                })
                .await
                .map_err(|source| AuthlogError::Join { source })?;
                let polled = polled.map_err(|source| AuthlogError::Read {
                    path: self.cfg.path.clone(),
                    source,
                })?;
                self.count_poll(polled);
                let more = !lines.is_empty();
                for line in &lines {
                    self.handle(&mut decoder, line).await?;
                }
                let pos = t.position();
                tail = Some(t);
                if pos.is_some() && pos != last_saved {
                    if let Some(p) = pos {
                        self.positions
                            .save_position(&key, &p.encode())
                            .map_err(|e| position_error(&key, e))?;
                    }
                    last_saved = pos;
                }
                if !more {
                    break;
                }
            }
        }
    }

    async fn handle(&self, decoder: &mut SessionDecoder, line: &str) -> Result<(), AuthlogError> {
        self.stats.lines_total.fetch_add(1, Ordering::Relaxed);
        match decoder.decode_line(line) {
            LineOutcome::Event(ev) => {
                self.stats.events_total.fetch_add(1, Ordering::Relaxed);
                self.tx.send(ev).await?;
            }
            LineOutcome::Ignored => {
                self.stats.ignored_total.fetch_add(1, Ordering::Relaxed);
            }
            LineOutcome::Unparsed { reason } => {
                self.stats.unparsed_total.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(reason, "unparsed auth-log line");
            }
        }
        Ok(())
    }

    fn count_poll(&self, p: PollStats) {
        let s = &self.stats;
        s.rotations_total
            .fetch_add(u64::from(p.rotated), Ordering::Relaxed);
        s.truncations_total
            .fetch_add(u64::from(p.truncated), Ordering::Relaxed);
        s.oversized_lines_total
            .fetch_add(p.oversized, Ordering::Relaxed);
        if p.rotated {
            tracing::info!(path = %self.cfg.path.display(), "auth log rotated");
        }
        if p.truncated {
            tracing::info!(path = %self.cfg.path.display(), "auth log truncated (copytruncate)");
        }
    }
}

fn position_error(key: &str, e: anyhow::Error) -> AuthlogError {
    AuthlogError::Position {
        key: key.to_owned(),
        source: e.into(),
    }
}

/// Decoding context for local text logs: RFC 3164 timestamps are in the host's zone.
fn context() -> LineContext {
    let offset: FixedOffset = Local::now().offset().fix();
    LineContext {
        local_offset: offset,
        ..LineContext::new(Utc::now(), Source::Authlog)
    }
}
