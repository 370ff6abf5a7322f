//! The pipeline loop: one task owns the engine (process table + detectors) and the sink
//! (SQLite + audit log). Sensors and replay feed it through one bounded channel; it reads in
//! batches, turns channel drops into Loss events, and records everything it sees and finds.
//!
//! The loop takes its dependencies (receiver, engine, sink, drop counters, shutdown signal) so
//! tests inject a [`MemorySink`] and a channel of their own.

use std::time::Duration;

use chrono::Utc;
use innerwarden_core::decide::action::Action;
use innerwarden_core::decide::config::{Mode, ResponseConfig};
use innerwarden_core::engine::Engine;
use innerwarden_core::event::{Event, EventKind, Loss, LossPoint, Source};
use innerwarden_core::finding::Finding;
use innerwarden_core::proctable::ProcessTable;
use tokio::sync::{mpsc, oneshot, watch};

use crate::channel::DropCounter;

/// Events read from the channel per batch (one SQLite transaction).
pub const BATCH: usize = 1024;

/// A command for the loop that owns the state (from SIGHUP, D-Bus, the CLI).
#[derive(Debug)]
pub enum Control {
    /// Apply a re-read `[response]` section (mode, thresholds, allowlists, TTLs, budget).
    ReloadResponse {
        response: Box<ResponseConfig>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    SetMode {
        mode: Mode,
        reply: oneshot::Sender<Result<(), String>>,
    },
    GetMode {
        reply: oneshot::Sender<Option<Mode>>,
    },
    /// An operator's block (D-Bus `Block`): carried out now, recorded, expires by its TTL.
    Block {
        action: Action,
        reason: String,
        caller_uid: u32,
        reply: oneshot::Sender<Result<i64, String>>,
    },
    /// Lift every active block and rate limit on this exact target (D-Bus `Unblock`).
    Unblock {
        target: String,
        caller_uid: u32,
        reply: oneshot::Sender<Result<bool, String>>,
    },
    /// Undo one action of the ledger by id (D-Bus `Revert`).
    Revert {
        id: i64,
        caller_uid: u32,
        reply: oneshot::Sender<Result<bool, String>>,
    },
    /// An operator's verdict on an incident (D-Bus `Feedback`): audited, stored, and learned
    /// from at the next retrain.
    Feedback {
        incident_id: i64,
        verdict: innerwarden_core::model::file::Label,
        caller_uid: u32,
        reply: oneshot::Sender<Result<i64, String>>,
    },
}

/// What happened to a finding once recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub finding_id: i64,
    pub incident_id: i64,
    pub new_incident: bool,
    pub audit_seq: u64,
}

/// Where the pipeline records what it sees and finds.
pub trait Sink {
    /// Store a batch of raw events (bounded retention is the sink's business).
    fn events(&mut self, batch: &[Event]) -> anyhow::Result<()>;
    /// Record a finding: audit record first, then the SQLite rows that reference it; a sink
    /// with a response stage then decides on the finding's incident (it may read `procs`).
    fn finding(&mut self, finding: &Finding, procs: &ProcessTable) -> anyhow::Result<Recorded>;
    /// Periodic work (checkpoints, retention). Called about once a second.
    fn tick(&mut self) -> anyhow::Result<()>;
    /// A control command; sinks without a response stage refuse the mutating ones.
    fn control(&mut self, cmd: Control) -> anyhow::Result<()> {
        refuse(cmd)
    }
    /// Clean shutdown (final checkpoint). Called by whoever owns the sink once [`run`] has
    /// returned, after any records of its own (agent stop).
    fn close(&mut self) -> anyhow::Result<()>;
}

/// Counters the loop reports when it ends.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub events: u64,
    pub findings: u64,
    pub incidents_opened: u64,
    pub loss_events: u64,
}

/// Tracks a drop counter's last reported value so each Loss event carries the delta.
struct LossWatch {
    counter: DropCounter,
    reported: u64,
}

/// Run until the channel closes (every sender dropped) or `shutdown` flips to true; what is
/// already queued is processed before returning.
pub async fn run(
    rx: mpsc::Receiver<Event>,
    engine: Engine,
    sink: &mut dyn Sink,
    drops: Vec<DropCounter>,
    shutdown: watch::Receiver<bool>,
    tick_every: Duration,
) -> anyhow::Result<Stats> {
    let (_keep, control) = mpsc::channel(1);
    run_with_control(rx, control, engine, sink, drops, shutdown, tick_every).await
}

/// [`run`] with a control channel (commands are handled between batches, on this loop).
pub async fn run_with_control(
    mut rx: mpsc::Receiver<Event>,
    mut control: mpsc::Receiver<Control>,
    mut engine: Engine,
    sink: &mut dyn Sink,
    drops: Vec<DropCounter>,
    mut shutdown: watch::Receiver<bool>,
    tick_every: Duration,
) -> anyhow::Result<Stats> {
    let mut stats = Stats::default();
    let mut watches: Vec<LossWatch> = drops
        .into_iter()
        .map(|counter| LossWatch {
            counter,
            reported: 0,
        })
        .collect();
    let mut buf: Vec<Event> = Vec::with_capacity(BATCH);
    let mut tick = tokio::time::interval(tick_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            n = rx.recv_many(&mut buf, BATCH) => {
                if n == 0 {
                    break;
                }
                handle_batch(&mut engine, sink, &mut buf, &mut stats)?;
            }
            Some(cmd) = control.recv() => {
                sink.control(cmd)?;
            }
            _ = tick.tick() => {
                let mut losses = loss_events(&mut watches);
                if !losses.is_empty() {
                    stats.loss_events += losses.len() as u64;
                    handle_batch(&mut engine, sink, &mut losses, &mut stats)?;
                }
                sink.tick()?;
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    rx.close();
                    while rx.recv_many(&mut buf, BATCH).await > 0 {
                        handle_batch(&mut engine, sink, &mut buf, &mut stats)?;
                    }
                    break;
                }
            }
        }
    }
    let mut losses = loss_events(&mut watches);
    stats.loss_events += losses.len() as u64;
    handle_batch(&mut engine, sink, &mut losses, &mut stats)?;
    Ok(stats)
}

/// Answer a command on a pipeline that has no response stage.
pub fn refuse(cmd: Control) -> anyhow::Result<()> {
    const NO: &str = "this pipeline has no response stage";
    match cmd {
        Control::ReloadResponse { reply, .. } | Control::SetMode { reply, .. } => {
            let _ = reply.send(Err(NO.into()));
        }
        Control::Block { reply, .. } | Control::Feedback { reply, .. } => {
            let _ = reply.send(Err(NO.into()));
        }
        Control::Unblock { reply, .. } | Control::Revert { reply, .. } => {
            let _ = reply.send(Err(NO.into()));
        }
        Control::GetMode { reply } => {
            let _ = reply.send(None);
        }
    }
    Ok(())
}

fn handle_batch(
    engine: &mut Engine,
    sink: &mut dyn Sink,
    buf: &mut Vec<Event>,
    stats: &mut Stats,
) -> anyhow::Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    let mut findings = Vec::new();
    for ev in buf.iter() {
        engine.process(ev, &mut findings);
    }
    sink.events(buf)?;
    stats.events += buf.len() as u64;
    buf.clear();
    for f in &findings {
        let rec = sink.finding(f, engine.processes())?;
        stats.findings += 1;
        if rec.new_incident {
            stats.incidents_opened += 1;
        }
    }
    Ok(())
}

fn loss_events(watches: &mut [LossWatch]) -> Vec<Event> {
    let mut out = Vec::new();
    for w in watches {
        let total = w.counter.total();
        if total > w.reported {
            out.push(Event::new(
                Utc::now(),
                Source::Agent,
                EventKind::Loss(Loss {
                    point: LossPoint::Channel,
                    stage: w.counter.name().to_owned(),
                    count: total - w.reported,
                }),
            ));
            w.reported = total;
        }
    }
    out
}

/// A sink that keeps everything in memory (tests, dry replays).
#[derive(Debug, Default)]
pub struct MemorySink {
    pub events: Vec<Event>,
    pub findings: Vec<Finding>,
    pub ticks: u64,
    pub closed: bool,
    incidents: Vec<(String, chrono::DateTime<Utc>)>,
}

impl Sink for MemorySink {
    fn events(&mut self, batch: &[Event]) -> anyhow::Result<()> {
        self.events.extend_from_slice(batch);
        Ok(())
    }

    fn finding(&mut self, finding: &Finding, _procs: &ProcessTable) -> anyhow::Result<Recorded> {
        self.findings.push(finding.clone());
        let key = finding.entity.key();
        let existing = self.incidents.iter().position(|(k, _)| *k == key);
        let (incident_id, new_incident) = match existing {
            Some(i) => (i as i64 + 1, false),
            None => {
                self.incidents.push((key, finding.ts));
                (self.incidents.len() as i64, true)
            }
        };
        Ok(Recorded {
            finding_id: self.findings.len() as i64,
            incident_id,
            new_incident,
            audit_seq: self.findings.len() as u64,
        })
    }

    fn tick(&mut self) -> anyhow::Result<()> {
        self.ticks += 1;
        Ok(())
    }

    fn close(&mut self) -> anyhow::Result<()> {
        self.closed = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::bounded;
    use innerwarden_core::config::DetectorsConfig;
    use innerwarden_core::event::{AuthFailure, AuthFailureReason, AuthService};

    fn fail(host: &str) -> Event {
        Event::new(
            Utc::now(),
            Source::Authlog,
            EventKind::AuthFailure(AuthFailure {
                service: AuthService::Sshd,
                reason: AuthFailureReason::BadCredentials,
                user: Some("root".into()),
                src: Some(host.parse().expect("host")),
                port: None,
                pid: None,
                count: 1,
                pam_service: None,
            }),
        )
    }

    #[tokio::test]
    async fn events_become_findings_and_drops_become_loss_events() {
        let (tx, rx) = bounded::<Event>("events", 8);
        let (_stop_tx, stop_rx) = watch::channel(false);
        let drops = vec![tx.drops().clone()];
        // Fill the queue before the loop runs: 8 fit, 2 are dropped and counted.
        for _ in 0..10 {
            tx.offer(fail("203.0.113.1")).expect("open");
        }
        drop(tx);
        let mut sink = MemorySink::default();
        let engine = Engine::new(&DetectorsConfig::default());
        let stats = run(
            rx,
            engine,
            &mut sink,
            drops,
            stop_rx,
            Duration::from_secs(3600),
        )
        .await
        .expect("pipeline runs");
        assert_eq!(stats.events, 9, "8 delivered + 1 loss event");
        assert_eq!(stats.findings, 1);
        assert_eq!(stats.incidents_opened, 1);
        let loss = sink
            .events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::Loss(l) => Some(l.clone()),
                _ => None,
            })
            .expect("a loss event");
        assert_eq!(
            (loss.point, loss.stage.as_str(), loss.count),
            (LossPoint::Channel, "events", 2)
        );
    }

    #[tokio::test]
    async fn shutdown_drains_what_is_queued() {
        let (tx, rx) = bounded::<Event>("events", 64);
        let (stop_tx, stop_rx) = watch::channel(false);
        for _ in 0..3 {
            tx.send(fail("198.51.100.2")).await.expect("open");
        }
        stop_tx.send(true).expect("loop listening");
        let mut sink = MemorySink::default();
        let engine = Engine::new(&DetectorsConfig::default());
        let stats = run(
            rx,
            engine,
            &mut sink,
            vec![],
            stop_rx,
            Duration::from_secs(3600),
        )
        .await
        .expect("pipeline runs");
        assert_eq!(stats.events, 3);
        drop(tx);
    }
}
