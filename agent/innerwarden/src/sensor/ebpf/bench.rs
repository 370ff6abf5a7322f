//! Exec throughput: how many exec events per second reach the pipeline, against how many execs
//! were spawned. Backs `innerwarden bench exec`.

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use innerwarden_core::event::EventKind;
use serde::Serialize;

use super::{EbpfConfig, EbpfError, EbpfSensor};
use crate::channel;

/// Result of [`bench_exec`].
#[derive(Debug, Clone, Serialize)]
pub struct ExecBenchReport {
    pub spawners: usize,
    pub seconds: f64,
    /// Successful execs of the marker command.
    pub spawned: u64,
    /// Of those, exec events received with the right pid and argv.
    pub received: u64,
    /// `spawned - received`.
    pub lost: u64,
    /// Reserve failures the kernel counted during the run (all programs).
    pub ring_reserve_failures: u64,
    /// Events dropped at the bench's channel.
    pub channel_dropped: u64,
    pub received_per_sec: f64,
}

/// Spawn `spawners` threads running `/bin/true <marker> <n>` in a loop for `duration`, with the
/// kernel sensor running, and count the exec events that arrive for those pids.
pub fn bench_exec(
    config: EbpfConfig,
    spawners: usize,
    duration: Duration,
) -> Result<ExecBenchReport, EbpfError> {
    let (tx, mut rx) = channel::bounded("bench_events", 1 << 16);
    let drops = tx.drops().clone();
    let (sensor, _statuses) = EbpfSensor::start(config, tx)?;
    let marker = format!("innerwarden-bench-{}", std::process::id());

    let consumer = {
        let marker = marker.clone();
        std::thread::spawn(move || {
            let mut seen = HashSet::new();
            while let Some(ev) = rx.blocking_recv() {
                if let EventKind::Exec(e) = ev.kind
                    && e.argv.get(1) == Some(&marker)
                {
                    seen.insert(e.pid);
                }
            }
            seen
        })
    };

    let spawned = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let workers: Vec<_> = (0..spawners.max(1))
        .map(|w| {
            let marker = marker.clone();
            let spawned = Arc::clone(&spawned);
            std::thread::spawn(move || {
                let mut pids = Vec::new();
                let mut n = 0u64;
                while start.elapsed() < duration {
                    n += 1;
                    let child = Command::new("/bin/true")
                        .arg(&marker)
                        .arg(format!("{w}-{n}"))
                        .spawn();
                    if let Ok(mut child) = child {
                        let pid = child.id();
                        if child.wait().is_ok_and(|s| s.success()) {
                            pids.push(pid);
                        }
                    }
                }
                if let Ok(mut all) = spawned.lock() {
                    all.extend(pids);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let seconds = start.elapsed().as_secs_f64();
    // Let the reader drain what is in flight and take one last loss reading.
    std::thread::sleep(Duration::from_millis(500));
    let stats = sensor.stats();
    sensor.stop();
    let reserve_failures = stats.ring_reserve_failures_total.load(Ordering::Relaxed);
    let seen = consumer.join().unwrap_or_default();
    let spawned: Vec<u32> = spawned.lock().map(|v| v.clone()).unwrap_or_default();
    let received = spawned.iter().filter(|p| seen.contains(p)).count() as u64;
    let spawned_n = spawned.len() as u64;
    Ok(ExecBenchReport {
        spawners: spawners.max(1),
        seconds,
        spawned: spawned_n,
        received,
        lost: spawned_n - received,
        ring_reserve_failures: reserve_failures,
        channel_dropped: drops.total(),
        received_per_sec: received as f64 / seconds.max(f64::EPSILON),
    })
}
