//! The journald sensor: runs `journalctl --follow --output=json` filtered to the auth programs
//! and decodes each entry with [`SessionDecoder::decode_entry`].
//!
//! - Resume: the last handed-over entry's `__CURSOR` is saved through the [`PositionStore`]
//!   (key `journald`) at most every `save_interval` and when journalctl exits or the sensor
//!   stops; a restart passes `--after-cursor=<saved>`. A first start passes `--lines=0` (only
//!   new entries; history stays where it was, as for the auth.log tail); a restart before any
//!   cursor was saved passes `--since=@<first start>` (see [`ResumeFrom`]).
//! - journalctl dying is not fatal: it is restarted with exponential backoff (counted in
//!   [`JournaldStats::restarts_total`]) from the last cursor.
//! - Matches: one `SYSLOG_IDENTIFIER=` per program in [`JournaldConfig::identifiers`]
//!   (journalctl ORs matches on the same field). Default: [`DEFAULT_IDENTIFIERS`].
//! - Log lines: when a loaded rule reads log lines ([`JournaldConfig::log_lines`] not empty,
//!   Sigma keyword rules), journalctl follows every entry; the auth programs' entries are
//!   decoded as before, and every entry the rules' scopes admit is also handed over as a
//!   `log_line` event, except the agent's own (its identifier or pid: no feedback loop).

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use innerwarden_core::decode::authlog::{
    JournalEntry, LineContext, LineOutcome, SessionDecoder, parse_journal_json,
};
use innerwarden_core::event::{Event, Source};
use innerwarden_core::sigma::LogWant;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::PositionStore;
use crate::channel::CountedSender;

/// Programs whose journal entries are read by default: sshd (and its OpenSSH 9.8+/10 split
/// processes), sudo, su, and the PAM-using login programs whose `pam_unix(<svc>:auth)` failures
/// matter (console/serial `login`, password changes, `runuser`, polkit's `pkexec`). cron and
/// systemd-user sessions are left out: their PAM lines are session bookkeeping.
pub const DEFAULT_IDENTIFIERS: &[&str] = &[
    "sshd",
    "sshd-session",
    "sshd-auth",
    "sudo",
    "su",
    "login",
    "passwd",
    "chpasswd",
    "chsh",
    "chfn",
    "newgrp",
    "runuser",
    "pkexec",
    "polkitd",
];

/// The journal identifier of the agent's own log lines (its stderr under systemd).
const AGENT_IDENTIFIER: &str = "innerwarden";

/// The position-store key of the journal cursor.
pub const POSITION_KEY: &str = "journald";

/// Settings of the journald sensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournaldConfig {
    /// The journalctl binary (tests point this at a fake script).
    pub journalctl: PathBuf,
    /// `SYSLOG_IDENTIFIER` values to follow.
    pub identifiers: Vec<String>,
    /// Log lines the detectors read (empty: none, and only `identifiers` are followed).
    pub log_lines: LogWant,
    /// Longest time a handed-over entry's cursor stays unsaved. Default 1 s.
    pub save_interval: Duration,
    /// First restart delay after journalctl exits; doubles up to `backoff_max`. Default 1 s.
    pub backoff_initial: Duration,
    /// Default 30 s.
    pub backoff_max: Duration,
}

impl Default for JournaldConfig {
    fn default() -> Self {
        Self {
            journalctl: PathBuf::from("journalctl"),
            identifiers: DEFAULT_IDENTIFIERS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            log_lines: LogWant::default(),
            save_interval: Duration::from_secs(1),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// Where a journalctl run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResumeFrom {
    /// After the saved cursor (`--after-cursor=`).
    Cursor(String),
    /// From a wall-clock time in unix seconds (`--since=@`): a restart before any entry was
    /// read, so the gap since the first start is not lost (an entry of that second may repeat).
    Since(i64),
    /// Only new entries (`--lines=0`): the first start.
    Now,
}

impl JournaldConfig {
    /// The journalctl arguments for a run starting at `from`.
    pub fn args(&self, from: &ResumeFrom) -> Vec<String> {
        let mut args = vec![
            "--follow".to_owned(),
            "--output=json".to_owned(),
            "--no-pager".to_owned(),
            "--quiet".to_owned(),
        ];
        args.push(match from {
            ResumeFrom::Cursor(c) => format!("--after-cursor={c}"),
            ResumeFrom::Since(t) => format!("--since=@{t}"),
            ResumeFrom::Now => "--lines=0".to_owned(),
        });
        if self.log_lines.is_empty() {
            args.extend(
                self.identifiers
                    .iter()
                    .map(|id| format!("SYSLOG_IDENTIFIER={id}")),
            );
        }
        args
    }
}

/// Counters of the journald sensor.
#[derive(Debug, Default)]
pub struct JournaldStats {
    pub entries_total: AtomicU64,
    pub events_total: AtomicU64,
    pub unparsed_total: AtomicU64,
    pub restarts_total: AtomicU64,
    pub log_lines_total: AtomicU64,
}

/// Why the sensor stopped.
#[derive(Debug, thiserror::Error)]
pub enum JournaldError {
    #[error("position store ({key}): {source}")]
    Position {
        key: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Closed(#[from] crate::channel::Closed),
}

/// The journald sensor.
pub struct JournaldSensor {
    cfg: JournaldConfig,
    positions: Arc<dyn PositionStore>,
    tx: CountedSender<Event>,
    stats: Arc<JournaldStats>,
}

/// How one journalctl run ended.
enum RunEnd {
    Exited,
    Shutdown,
}

impl JournaldSensor {
    pub fn new(
        cfg: JournaldConfig,
        positions: Arc<dyn PositionStore>,
        tx: CountedSender<Event>,
    ) -> Self {
        Self {
            cfg,
            positions,
            tx,
            stats: Arc::new(JournaldStats::default()),
        }
    }

    pub fn stats(&self) -> Arc<JournaldStats> {
        Arc::clone(&self.stats)
    }

    /// Follow the journal until `shutdown` completes or the pipeline closes.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), JournaldError> {
        tokio::pin!(shutdown);
        let mut decoder =
            SessionDecoder::new(LineContext::new(chrono::Utc::now(), Source::Journald));
        let mut backoff = self.cfg.backoff_initial;
        let started = chrono::Utc::now().timestamp();
        let mut first = true;
        loop {
            let cursor = self
                .positions
                .load_position(POSITION_KEY)
                .map_err(position_error)?;
            let from = match cursor {
                Some(c) => ResumeFrom::Cursor(c),
                None if first => ResumeFrom::Now,
                None => ResumeFrom::Since(started),
            };
            first = false;
            let (end, progressed) = self.run_once(&from, &mut decoder, &mut shutdown).await?;
            if let RunEnd::Shutdown = end {
                return Ok(());
            }
            if progressed {
                backoff = self.cfg.backoff_initial;
            }
            self.stats.restarts_total.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(delay = ?backoff, "journalctl exited; restarting");
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.cfg.backoff_max);
        }
    }

    /// One journalctl process. Returns how it ended and whether any entry was read.
    async fn run_once(
        &self,
        from: &ResumeFrom,
        decoder: &mut SessionDecoder,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<(RunEnd, bool), JournaldError> {
        let mut child = match Command::new(&self.cfg.journalctl)
            .args(self.cfg.args(from))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(path = %self.cfg.journalctl.display(), error = %e, "cannot start journalctl");
                return Ok((RunEnd::Exited, false));
            }
        };
        let Some(stdout) = child.stdout.take() else {
            return Ok((RunEnd::Exited, false));
        };
        let mut lines = BufReader::new(stdout).lines();
        let mut latest: Option<String> = None;
        let mut saved_at = tokio::time::Instant::now();
        let mut progressed = false;
        let mut flush = tokio::time::interval(self.cfg.save_interval);
        let end = loop {
            tokio::select! {
                () = &mut *shutdown => break RunEnd::Shutdown,
                _ = flush.tick() => {
                    self.save(&mut latest)?;
                    saved_at = tokio::time::Instant::now();
                }
                line = lines.next_line() => {
                    let Ok(Some(line)) = line else { break RunEnd::Exited };
                    progressed = true;
                    if let Some(c) = self.handle(decoder, &line).await? {
                        latest = Some(c);
                    }
                    if saved_at.elapsed() >= self.cfg.save_interval {
                        self.save(&mut latest)?;
                        saved_at = tokio::time::Instant::now();
                    }
                }
            }
        };
        self.save(&mut latest)?;
        if let Err(e) = child.start_kill() {
            tracing::debug!(error = %e, "journalctl already gone");
        }
        let _ = child.wait().await;
        Ok((end, progressed))
    }

    /// Decode and hand over one entry; returns its cursor.
    async fn handle(
        &self,
        decoder: &mut SessionDecoder,
        line: &str,
    ) -> Result<Option<String>, JournaldError> {
        self.stats.entries_total.fetch_add(1, Ordering::Relaxed);
        let entry = match parse_journal_json(line) {
            Ok(e) => e,
            Err(e) => {
                self.stats.unparsed_total.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, "unreadable journal entry");
                return Ok(None);
            }
        };
        if self.wants_log_line(&entry) {
            self.stats.log_lines_total.fetch_add(1, Ordering::Relaxed);
            self.tx.send(entry.log_line()).await?;
        }
        if !self.cfg.identifiers.contains(&entry.identifier) {
            return Ok(entry.cursor);
        }
        decoder.set_now(chrono::Utc::now());
        match decoder.decode_entry(&entry) {
            LineOutcome::Event(ev) => {
                self.stats.events_total.fetch_add(1, Ordering::Relaxed);
                self.tx.send(ev).await?;
            }
            LineOutcome::Ignored => {}
            LineOutcome::Unparsed { reason } => {
                self.stats.unparsed_total.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(reason, "unparsed journal message");
            }
        }
        Ok(entry.cursor)
    }

    /// Is this entry a log line a rule reads? Never the agent's own lines.
    fn wants_log_line(&self, entry: &JournalEntry) -> bool {
        entry.identifier != AGENT_IDENTIFIER
            && entry.pid != Some(std::process::id())
            && self.cfg.log_lines.admits(&entry.identifier, entry.facility)
    }

    fn save(&self, latest: &mut Option<String>) -> Result<(), JournaldError> {
        if let Some(c) = latest.take() {
            self.positions
                .save_position(POSITION_KEY, &c)
                .map_err(position_error)?;
        }
        Ok(())
    }
}

fn position_error(e: anyhow::Error) -> JournaldError {
    JournaldError::Position {
        key: POSITION_KEY,
        source: e.into(),
    }
}

#[cfg(test)]
mod tests;
