//! `innerwarden run`: the agent. Sensors feed one bounded channel; the pipeline (engine + store +
//! audit log) runs on its own thread; SIGINT/SIGTERM stop the sensors, drain the queue, write
//! the agent-stop record and a final signed checkpoint.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use innerwarden_core::audit::AuditKind;
use innerwarden_core::config::Config;
use innerwarden_core::event::Event;
use serde_json::json;
use tokio::sync::watch;

use super::{Cli, load_config};
use crate::channel::{CountedSender, bounded};
use crate::control::{self, auth::Authorizer, backend::StoreBackend, bridge::PipelineControl};
use crate::notify::Notifier;
use crate::pipeline::{self, Control, Sink};
use crate::procfs;
use crate::recorder::StoreSink;
use crate::respond::guard::Guard;
use crate::respond::lsm::LsmResponder;
use crate::respond::nft::{Backend, NftResponder};
use crate::respond::pidfd::KillResponder;
use crate::respond::stage::ResponseStage;
use crate::respond::systemd::SystemdResponder;
use crate::respond::worker::{Builder, ResponderThread};
use crate::respond::{Responder, Responders};
use crate::sensor::PositionStore;
use crate::sensor::authlog::{AuthlogConfig, AuthlogSensor, StartAt};
use crate::sensor::ebpf::{EbpfConfig, EbpfSensor};
use crate::sensor::inotify::{InotifyConfig, InotifySensor};
use crate::sensor::journald::{JournaldConfig, JournaldSensor};
use crate::service;
use crate::status::{SensorState, Status};
use innerwarden_core::sigma::LogWant;

/// Members of this group may call the mutating D-Bus methods (as root may).
pub const ADMIN_GROUP: &str = "innerwarden-admin";

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(cli: &Cli, _args: &Args) -> anyhow::Result<ExitCode> {
    let cfg = load_config(cli)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(agent(cli, cfg))?;
    Ok(ExitCode::SUCCESS)
}

async fn agent(cli: &Cli, cfg: Config) -> anyhow::Result<()> {
    let mut status = Status::new(&cfg);
    let responders = start_responders(&cfg, &mut status)?;
    let sink = StoreSink::open(&cfg)?;
    let stage = ResponseStage::new(cfg.response.clone(), responders)
        .with_notifier(Notifier::start(&cfg.notify)?)
        .with_model(&cfg.model, sink.store())?;
    status.sensor(
        "model",
        SensorState::Running,
        Some(stage.scorer_desc().to_owned()),
    );
    tracing::info!(scorer = %stage.scorer_desc(), "local model");
    let mut sink = sink.with_response(stage);
    let store = sink.store().clone();
    let start_seq = sink.audit(
        AuditKind::AgentStart,
        json!({"version": env!("CARGO_PKG_VERSION"), "pid": std::process::id()}),
    )?;
    sink.audit(
        AuditKind::ConfigLoaded,
        serde_json::to_value(&cfg).context("encoding the configuration")?,
    )?;
    tracing::info!(state_dir = %cfg.agent.state_dir.display(), audit_seq = start_seq, "agent starting");

    let mut engine = crate::correlation::engine(&cfg)?;
    let log_lines = engine.log_want();
    let seed = procfs::scan(Path::new("/proc"));
    tracing::info!(processes = seed.len(), detectors = ?engine.detector_ids(), rules = engine.rule_ids().len(), "process table seeded");
    engine.seed(seed);

    let (tx, rx) = bounded::<Event>("events", cfg.agent.event_queue);
    let drops = vec![tx.drops().clone()];
    let (stop_tx, stop_rx) = watch::channel(false);
    // Re-assert what the ledger says is in force (blocks survive an agent restart).
    sink.maintain_now()?;

    let ebpf = start_ebpf(&cfg, &tx, &mut status);
    let inotify = start_inotify(&cfg, ebpf.is_some(), &tx, &mut status);
    let guard = start_guard(&cfg, &mut status);
    let positions: Arc<dyn PositionStore> = Arc::new(store.clone());
    let mut sensors = tokio::task::JoinSet::new();
    start_auth_sources(
        &cfg,
        log_lines,
        &tx,
        &positions,
        &stop_rx,
        &mut status,
        &mut sensors,
    );
    // Hold one sender until shutdown: the pipeline must keep running (control commands,
    // TTL maintenance) even when every sensor is disabled or has ended.
    let keep_open = tx;
    status.write(&cfg.agent.state_dir);

    let (control_tx, control_rx) = tokio::sync::mpsc::channel::<Control>(64);
    let backend = StoreBackend::new(
        store.clone(),
        cfg.agent.state_dir.clone(),
        PipelineControl::new(control_tx.clone()),
    );
    let control = match control::serve_system_bus(
        backend,
        Authorizer::system(Some(ADMIN_GROUP.into())),
    )
    .await
    {
        Ok(server) => {
            status.sensor("dbus:org.innerwarden.Agent1", SensorState::Running, None);
            sink.set_signals(server.signal_sender(256));
            Some(server)
        }
        Err(e) => {
            let msg = format!("{:#}", anyhow::Error::new(e));
            tracing::warn!(error = %msg, "D-Bus control interface unavailable");
            status.sensor(
                "dbus:org.innerwarden.Agent1",
                SensorState::Failed,
                Some(msg),
            );
            None
        }
    };
    status.write(&cfg.agent.state_dir);
    let pipeline = {
        let stop_rx = stop_rx.clone();
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let stats = handle.block_on(pipeline::run_with_control(
                rx,
                control_rx,
                engine,
                &mut sink,
                drops,
                stop_rx,
                Duration::from_secs(1),
            ));
            (stats, sink)
        })
    };

    let _ = service::notify_ready();
    let _ = service::notify_status("watching: sensors attached, pipeline running");
    signals(cli, &cfg, &control_tx).await?;
    let _ = service::notify_stopping();
    tracing::info!("stopping: draining the queue");
    drop(control);
    drop(keep_open);
    let _ = stop_tx.send(true);
    drop(ebpf);
    drop(inotify);
    drop(guard);
    while let Some(res) = sensors.join_next().await {
        if let Ok(Err(e)) = res {
            tracing::warn!(error = %e, "sensor ended with an error");
        }
    }
    let (stats, mut sink) = pipeline.await.context("pipeline thread panicked")?;
    let stats = stats?;
    sink.audit(
        AuditKind::AgentStop,
        json!({"events": stats.events, "findings": stats.findings,
               "incidents_opened": stats.incidents_opened, "loss_events": stats.loss_events}),
    )?;
    sink.close()?;
    tracing::info!(?stats, "agent stopped");
    Ok(())
}

/// Responders for the kinds `response.enforce` lists, on their own thread. With nothing
/// enforced (the default), nothing is built and the host is not touched: no nft table.
fn start_responders(cfg: &Config, status: &mut Status) -> anyhow::Result<Responders> {
    use innerwarden_core::decide::action::ActionKind as K;
    let wants = |kinds: &[K]| kinds.iter().any(|k| cfg.response.enforce.contains(k));
    let mut builders: Vec<(&'static str, Builder)> = Vec::new();
    if wants(&[K::Block, K::RateLimit]) {
        let per_minute = cfg.response.rate_limit_per_minute;
        builders.push((
            "nftables",
            Box::new(move || {
                NftResponder::setup_with_rate(Backend::Netlink, per_minute)
                    .map(|r| Box::new(r) as Box<dyn Responder>)
                    .map_err(|e| format!("{:#}", anyhow::Error::new(e)))
            }),
        ));
    }
    if wants(&[K::Kill]) {
        builders.push((
            "pidfd",
            Box::new(|| Ok(Box::new(KillResponder::new()) as Box<dyn Responder>)),
        ));
    }
    if wants(&[K::Quarantine, K::Throttle]) {
        builders.push((
            "systemd",
            Box::new(|| {
                SystemdResponder::new()
                    .map(|r| Box::new(r) as Box<dyn Responder>)
                    .map_err(|e| format!("{:#}", anyhow::Error::new(e)))
            }),
        ));
    }
    if wants(&[K::DenyExec]) {
        builders.push((
            "bpf-lsm",
            Box::new(|| {
                LsmResponder::new()
                    .map(|r| Box::new(r) as Box<dyn Responder>)
                    .map_err(|e| format!("{:#}", anyhow::Error::new(e)))
            }),
        ));
    }
    let mut responders = Responders::default();
    if builders.is_empty() {
        return Ok(responders);
    }
    let (thread, statuses) = ResponderThread::start(builders)?;
    for s in statuses {
        match &s.unavailable {
            None => tracing::info!(responder = s.name, kinds = ?s.kinds, "responder ready"),
            Some(why) => tracing::warn!(responder = s.name, error = %why, "responder unavailable"),
        }
        status.responder(s);
    }
    responders.push(Box::new(thread));
    Ok(responders)
}

fn start_ebpf(cfg: &Config, tx: &CountedSender<Event>, status: &mut Status) -> Option<EbpfSensor> {
    let e = &cfg.sensors.ebpf;
    if !e.enabled {
        status.sensor("ebpf", SensorState::Disabled, None);
        return None;
    }
    let ecfg = EbpfConfig {
        watched_prefixes: e.watch_paths.clone(),
        home_prefixes: e.home_paths.clone(),
        read_prefixes: e.read_paths.clone(),
        ring_bytes: e.ring_buffer_bytes,
        ..EbpfConfig::default()
    };
    match EbpfSensor::start(ecfg, tx.clone()) {
        Ok((sensor, programs)) => {
            for p in &programs {
                if p.attached {
                    tracing::info!(program = %p.name, hook = %p.hook, "attached");
                } else {
                    tracing::warn!(program = %p.name, hook = %p.hook, error = ?p.error, "not attached");
                }
            }
            status.programs = programs;
            status.sensor("ebpf", SensorState::Running, None);
            Some(sensor)
        }
        Err(err) => {
            let msg = format!("{:#}", anyhow::Error::new(err));
            tracing::warn!(error = %msg, "kernel sensors unavailable; continuing with log sensors");
            status.sensor("ebpf", SensorState::Failed, Some(msg));
            None
        }
    }
}

/// BPF-LSM self-protection of this process (reported, never fatal).
fn start_guard(cfg: &Config, status: &mut Status) -> Option<Guard> {
    if !cfg.sensors.ebpf.self_protect {
        status.sensor("self-protect", SensorState::Disabled, None);
        return None;
    }
    match Guard::start(std::process::id()) {
        Ok(guard) => {
            let note = "ptrace and SIGKILL/SIGSTOP/SIGTERM from anyone but PID 1 denied";
            status.sensor("self-protect", SensorState::Running, Some(note.into()));
            Some(guard)
        }
        Err(err) => {
            let msg = err.to_string();
            tracing::warn!(error = %msg, "self-protection unavailable");
            status.sensor("self-protect", SensorState::Failed, Some(msg));
            None
        }
    }
}

/// The inotify fallback for file events, only when the kernel sensor is not running.
fn start_inotify(
    cfg: &Config,
    ebpf_running: bool,
    tx: &CountedSender<Event>,
    status: &mut Status,
) -> Option<InotifySensor> {
    let i = &cfg.sensors.inotify;
    if !i.enabled {
        status.sensor("inotify", SensorState::Disabled, None);
        return None;
    }
    if ebpf_running {
        let note = "standby: the eBPF sensor reports file events".to_owned();
        status.sensor("inotify", SensorState::Disabled, Some(note));
        return None;
    }
    let icfg = InotifyConfig {
        prefixes: cfg.sensors.ebpf.watch_paths.clone(),
        home_roots: cfg.sensors.ebpf.home_paths.clone(),
        max_watches: i.max_watches,
    };
    match InotifySensor::start(icfg, tx.clone()) {
        Ok(sensor) => {
            let note = format!(
                "fallback: eBPF sensor unavailable; {} directories watched",
                sensor.watched()
            );
            tracing::info!(
                watched = sensor.watched(),
                "inotify fallback watching file events"
            );
            status.sensor("inotify", SensorState::Running, Some(note));
            Some(sensor)
        }
        Err(err) => {
            let msg = format!("{:#}", anyhow::Error::new(err));
            tracing::warn!(error = %msg, "inotify fallback unavailable");
            status.sensor("inotify", SensorState::Failed, Some(msg));
            None
        }
    }
}

/// Journald when it is enabled and this host has a journal; the auth.log tail when it is
/// enabled, or as the fallback when journald is wanted but absent (never both by default:
/// the same sshd line would be counted twice).
fn start_auth_sources(
    cfg: &Config,
    log_lines: LogWant,
    tx: &CountedSender<Event>,
    positions: &Arc<dyn PositionStore>,
    stop: &watch::Receiver<bool>,
    status: &mut Status,
    set: &mut tokio::task::JoinSet<anyhow::Result<()>>,
) {
    let j = &cfg.sensors.journald;
    let journal_present = Path::new("/run/systemd/journal/socket").exists();
    let use_journald = j.enabled && journal_present;
    if use_journald {
        let jcfg = JournaldConfig {
            journalctl: j.journalctl.clone(),
            identifiers: j.identifiers.clone(),
            log_lines,
            ..JournaldConfig::default()
        };
        let sensor = JournaldSensor::new(jcfg, Arc::clone(positions), tx.clone());
        let stop = stopped(stop.clone());
        set.spawn(async move { sensor.run(stop).await.map_err(anyhow::Error::from) });
        status.sensor("journald", SensorState::Running, None);
    } else if j.enabled {
        if !log_lines.is_empty() {
            tracing::warn!(
                "Sigma keyword rules are loaded but this host has no journal: they read nothing"
            );
        }
        status.sensor(
            "journald",
            SensorState::Failed,
            Some("no journal on this host (/run/systemd/journal/socket missing)".into()),
        );
    } else {
        status.sensor("journald", SensorState::Disabled, None);
    }
    let a = &cfg.sensors.authlog;
    let fallback = j.enabled && !journal_present && !a.enabled;
    if !(a.enabled || fallback) {
        status.sensor("authlog", SensorState::Disabled, None);
        return;
    }
    for path in &a.paths {
        if fallback && !path.exists() {
            continue;
        }
        let mut acfg = AuthlogConfig::new(path);
        if a.from_beginning {
            acfg.start_at = StartAt::Beginning;
        }
        let sensor = AuthlogSensor::new(acfg, Arc::clone(positions), tx.clone());
        let stop = stopped(stop.clone());
        set.spawn(async move { sensor.run(stop).await.map_err(anyhow::Error::from) });
        let note = fallback.then(|| "fallback: journald is not available".to_owned());
        status.sensor(
            &format!("authlog:{}", path.display()),
            SensorState::Running,
            note,
        );
    }
}

/// A future that completes when the stop flag turns true (or its sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Wait for SIGTERM or SIGINT; on SIGHUP re-read the configuration and apply its `[response]`
/// section. An invalid file is logged (naming the key) and the running configuration is kept;
/// changes outside `[response]` are reported as needing a restart.
async fn signals(
    cli: &Cli,
    running: &Config,
    control: &tokio::sync::mpsc::Sender<Control>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            _ = hup.recv() => {
                let _ = service::notify_reloading();
                reload(cli, running, control).await;
                let _ = service::notify_ready();
            }
        }
    }
}

async fn reload(cli: &Cli, running: &Config, control: &tokio::sync::mpsc::Sender<Control>) {
    let new = match load_config(cli) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "reload refused; keeping the running configuration");
            return;
        }
    };
    let mut rest_new = new.clone();
    rest_new.response = running.response.clone();
    if &rest_new != running {
        tracing::warn!("reload: only [response] applies live; restart the agent for other changes");
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    let sent = control
        .send(Control::ReloadResponse {
            response: Box::new(new.response),
            reply,
        })
        .await;
    match (sent, answer.await) {
        (Ok(()), Ok(Ok(()))) => tracing::info!("configuration reloaded ([response])"),
        (_, Ok(Err(e))) => tracing::error!(error = %e, "reload refused"),
        _ => tracing::error!("reload: the pipeline is not running"),
    }
}
