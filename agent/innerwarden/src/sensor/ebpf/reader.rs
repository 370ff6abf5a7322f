//! The ring-buffer reader thread: poll, drain, decode, offer; every `loss_interval` turn the
//! kernel's reserve-failure counters into Loss events and re-measure the boot clock.

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aya::maps::{MapData, PerCpuArray, RingBuf};
use chrono::Utc;
use innerwarden_common::Prog;
use innerwarden_core::decode::kernel::{BootClock, decode};

use super::procfd::ProcFd;
use innerwarden_core::event::{Event, EventKind, Loss, LossPoint, Source};

use crate::channel::CountedSender;

/// Records drained before the reader checks its timers again.
const DRAIN_BATCH: usize = 4096;
/// How long one poll waits for data (bounds the stop latency).
const POLL_MS: i32 = 100;

/// Reader counters, readable while the sensor runs.
#[derive(Debug, Default)]
pub struct SensorStats {
    /// Records taken from the ring buffer.
    pub records_total: AtomicU64,
    /// Records that did not decode (object/agent mismatch: a bug, logged once).
    pub decode_errors_total: AtomicU64,
    /// Valid records dropped by the userspace half of a kernel filter (home files that are not
    /// persistence files, public keys). Intentional.
    pub filtered_total: AtomicU64,
    /// Records dropped because the pipeline channel was full (also in the channel's counter).
    pub channel_dropped_total: AtomicU64,
    /// Reserve failures seen in the kernel counters, all programs.
    pub ring_reserve_failures_total: AtomicU64,
}

pub struct Reader {
    pub ring: RingBuf<MapData>,
    pub failures: PerCpuArray<MapData, u64>,
    pub tx: CountedSender<Event>,
    pub stop: Arc<AtomicBool>,
    pub stats: Arc<SensorStats>,
    pub loss_interval: Duration,
}

impl Reader {
    pub fn run(mut self) {
        let mut clock = boot_clock();
        let mut reported = [0u64; Prog::ALL.len()];
        let mut next_tick = Instant::now() + self.loss_interval;
        let fd = self.ring.as_raw_fd();
        let mut logged_decode_error = false;
        let proc = ProcFd::default();
        loop {
            let stopping = self.stop.load(Ordering::Relaxed);
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            if !stopping {
                // SAFETY: one valid pollfd for the duration of the call.
                unsafe { libc::poll(&mut pfd, 1, POLL_MS) };
            }
            let mut n = 0;
            while n < DRAIN_BATCH {
                // The item borrows the ring; decode and release it before delivering.
                let decoded = match self.ring.next() {
                    Some(item) => decode(&item, &clock, &proc),
                    None => break,
                };
                n += 1;
                self.stats.records_total.fetch_add(1, Ordering::Relaxed);
                match decoded {
                    Ok(Some(ev)) => {
                        if !self.deliver(ev) {
                            return;
                        }
                    }
                    Ok(None) => {
                        self.stats.filtered_total.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        self.stats
                            .decode_errors_total
                            .fetch_add(1, Ordering::Relaxed);
                        if !logged_decode_error {
                            logged_decode_error = true;
                            tracing::error!(%error, "undecodable kernel record (object and agent out of step?)");
                        }
                    }
                }
            }
            if stopping || Instant::now() >= next_tick {
                next_tick = Instant::now() + self.loss_interval;
                clock = boot_clock();
                if !self.report_losses(&mut reported) || stopping {
                    return;
                }
            }
        }
    }

    /// Offer one event; false when the pipeline is gone.
    fn deliver(&self, ev: Event) -> bool {
        match self.tx.offer(ev) {
            Ok(true) => true,
            Ok(false) => {
                self.stats
                    .channel_dropped_total
                    .fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(closed) => {
                tracing::info!(%closed, "ebpf reader stopping");
                false
            }
        }
    }

    /// Emit a Loss event per program whose counter grew. A Loss event that does not fit in the
    /// channel is retried next tick (its delta is not marked reported). False when closed.
    fn report_losses(&self, reported: &mut [u64; Prog::ALL.len()]) -> bool {
        for (i, prog) in Prog::ALL.iter().enumerate() {
            let total = match self.failures.get(&(*prog as u32), 0) {
                Ok(per_cpu) => per_cpu.iter().sum::<u64>(),
                Err(error) => {
                    tracing::warn!(%error, "reading reserve-failure counters");
                    continue;
                }
            };
            let delta = total.saturating_sub(reported[i]);
            if delta == 0 {
                continue;
            }
            let ev = Event::new(
                Utc::now(),
                Source::Agent,
                EventKind::Loss(Loss {
                    point: LossPoint::RingReserve,
                    stage: prog.name().to_owned(),
                    count: delta,
                }),
            );
            match self.tx.offer(ev) {
                Ok(true) => {
                    reported[i] = total;
                    self.stats
                        .ring_reserve_failures_total
                        .fetch_add(delta, Ordering::Relaxed);
                    tracing::warn!(
                        stage = prog.name(),
                        count = delta,
                        "kernel ring buffer full: records lost"
                    );
                }
                Ok(false) => {}
                Err(_) => return false,
            }
        }
        true
    }
}

/// Measure `CLOCK_REALTIME - CLOCK_BOOTTIME` now.
pub fn boot_clock() -> BootClock {
    let read = |id| {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid clock id and out pointer.
        unsafe { libc::clock_gettime(id, &mut ts) };
        i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
    };
    let boot_before = read(libc::CLOCK_BOOTTIME);
    let real = read(libc::CLOCK_REALTIME);
    let boot_after = read(libc::CLOCK_BOOTTIME);
    BootClock::from_readings(real, (boot_before + boot_after) / 2)
}
