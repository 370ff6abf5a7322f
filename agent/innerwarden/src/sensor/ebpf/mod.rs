//! The kernel sensor: loads the embedded eBPF object, attaches its tracepoint programs, and reads
//! the ring buffer on a dedicated thread that decodes each record
//! ([`innerwarden_core::decode::kernel`]) and offers it to the pipeline without ever waiting.
//! Every second it also turns the kernel's per-program reserve-failure counters into
//! `Loss { point: RingReserve }` events.
//!
//! A program that fails to load or attach is reported in the returned [`ProgramStatus`] list and
//! logged; it is never fatal. Starting fails only when the object is missing, cannot be loaded,
//! or no program at all could be attached.

mod bench;
mod bench_sys;
mod procfd;
mod programs;
mod reader;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use aya::maps::{PerCpuArray, RingBuf};
use aya::{Ebpf, EbpfLoader};
use innerwarden_common::{
    DEFAULT_RING_BYTES, GLOBAL_AGENT_TGID, GLOBAL_TP_LAYOUT, MAP_EVENTS, MAP_READ_PREFIXES,
    MAP_RESERVE_FAILURES, MAP_WATCHED_PREFIXES, PREFIX_ALL, PREFIX_HOME, PREFIX_LEN,
};
use innerwarden_core::event::Event;
use serde::Serialize;

pub use bench::{ExecBenchReport, bench_exec};
pub use bench_sys::{SyscallBenchRow, bench_syscalls};
pub use procfd::ProcFd;
pub use reader::SensorStats;

use crate::channel::CountedSender;

/// The eBPF object built into this binary (empty when the bpf toolchain was absent at build).
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/innerwarden.bpf.o"));

/// The embedded object, `None` when this binary was built without one.
pub fn embedded_object() -> Option<&'static [u8]> {
    (!OBJECT.is_empty()).then_some(OBJECT)
}

/// What the kernel sensor watches and how.
#[derive(Debug, Clone)]
pub struct EbpfConfig {
    /// Absolute path prefixes whose opens for writing and file changes (unlink, rename, chmod,
    /// ...) are reported (at most 64 bytes each).
    pub watched_prefixes: Vec<String>,
    /// Home directory roots (`/home/`, `/root/`): writes and changes under them are reported
    /// only for the persistence files of a home (see `innerwarden_core::persistence`).
    pub home_prefixes: Vec<String>,
    /// Sensitive path prefixes whose read-only opens are reported as `file_read`.
    pub read_prefixes: Vec<String>,
    /// Ring buffer size in bytes: a power of two, at least one page.
    pub ring_bytes: u32,
    /// How often reserve failures are turned into Loss events.
    pub loss_interval: Duration,
    /// Mount tracefs on /sys/kernel/tracing when it is not mounted (tracepoint attach needs it).
    pub mount_tracefs: bool,
    /// Programs not to attach (by name; reported as excluded). Empty by default.
    pub exclude: Vec<String>,
}

impl Default for EbpfConfig {
    /// The configuration file's defaults (`[sensors.ebpf]`).
    fn default() -> Self {
        let d = innerwarden_core::config::EbpfSensorConfig::default();
        Self {
            watched_prefixes: d.watch_paths,
            home_prefixes: d.home_paths,
            read_prefixes: d.read_paths,
            ring_bytes: DEFAULT_RING_BYTES,
            loss_interval: Duration::from_secs(1),
            mount_tracefs: true,
            exclude: Vec::new(),
        }
    }
}

/// Whether one program is running, for status output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramStatus {
    /// Program name in the object.
    pub name: String,
    /// Kernel hook, e.g. `tracepoint/sched/sched_process_exec`.
    pub hook: String,
    pub attached: bool,
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EbpfError {
    #[error("eBPF object not built into this binary (build with scripts/build-ebpf.sh)")]
    NotBuilt,
    #[error("bad ring buffer size {bytes}: must be a power of two of at least 4096")]
    BadRingSize { bytes: u32 },
    #[error("bad watched prefix {prefix:?}: must be absolute and at most {max} bytes")]
    BadPrefix { prefix: String, max: usize },
    #[error("loading the eBPF object")]
    Load {
        #[source]
        source: Box<aya::EbpfError>,
    },
    #[error("map {name} missing or of the wrong type")]
    Map {
        name: &'static str,
        #[source]
        source: Option<aya::maps::MapError>,
    },
    #[error("no eBPF program could be attached: {summary}")]
    NothingAttached { summary: String },
    #[error("starting the ring-buffer reader thread")]
    Thread {
        #[source]
        source: std::io::Error,
    },
}

/// A running kernel sensor. Dropping it stops the reader and detaches every program.
pub struct EbpfSensor {
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    stats: Arc<SensorStats>,
    // Holds the loaded programs and their links; dropped last.
    _ebpf: Ebpf,
}

impl EbpfSensor {
    /// Load, configure and attach; start the reader that offers events into `tx`.
    pub fn start(
        config: EbpfConfig,
        tx: CountedSender<Event>,
    ) -> Result<(EbpfSensor, Vec<ProgramStatus>), EbpfError> {
        let object = embedded_object().ok_or(EbpfError::NotBuilt)?;
        Self::start_with_object(object, config, tx)
    }

    /// [`Self::start`] with an explicit object (tests, a prebuilt object on disk).
    pub fn start_with_object(
        object: &[u8],
        config: EbpfConfig,
        tx: CountedSender<Event>,
    ) -> Result<(EbpfSensor, Vec<ProgramStatus>), EbpfError> {
        if object.is_empty() {
            return Err(EbpfError::NotBuilt);
        }
        validate(&config)?;
        if config.mount_tracefs {
            programs::ensure_tracefs();
        }
        let layout = programs::tracepoint_layout();
        let me = std::process::id();
        let mut ebpf = EbpfLoader::new()
            .override_global(GLOBAL_TP_LAYOUT, &layout, true)
            .override_global(GLOBAL_AGENT_TGID, &me, true)
            .map_max_entries(MAP_EVENTS, config.ring_bytes)
            .load(object)
            .map_err(|e| EbpfError::Load {
                source: Box::new(e),
            })?;
        programs::set_prefixes(
            &mut ebpf,
            MAP_WATCHED_PREFIXES,
            &[
                (&config.home_prefixes, PREFIX_HOME),
                (&config.watched_prefixes, PREFIX_ALL),
            ],
        )?;
        programs::set_prefixes(
            &mut ebpf,
            MAP_READ_PREFIXES,
            &[(&config.read_prefixes, PREFIX_ALL)],
        )?;
        let seeded = programs::seed_parents(&mut ebpf)?;
        tracing::debug!(seeded, "parent map seeded from /proc");
        let statuses = programs::attach_all(&mut ebpf, &config.exclude);
        if !statuses.iter().any(|s| s.attached) {
            let summary = statuses
                .iter()
                .map(|s| format!("{}: {}", s.name, s.error.as_deref().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(EbpfError::NothingAttached { summary });
        }

        let ring = take_map(&mut ebpf, MAP_EVENTS)
            .and_then(|m| RingBuf::try_from(m).map_err(|e| map_err(MAP_EVENTS, e)))?;
        let failures = take_map(&mut ebpf, MAP_RESERVE_FAILURES).and_then(|m| {
            PerCpuArray::<_, u64>::try_from(m).map_err(|e| map_err(MAP_RESERVE_FAILURES, e))
        })?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(SensorStats::default());
        let reader = reader::Reader {
            ring,
            failures,
            tx,
            stop: Arc::clone(&stop),
            stats: Arc::clone(&stats),
            loss_interval: config.loss_interval,
        };
        let handle = std::thread::Builder::new()
            .name("ebpf-ring".into())
            .spawn(move || reader.run())
            .map_err(|source| EbpfError::Thread { source })?;
        Ok((
            EbpfSensor {
                stop,
                reader: Some(handle),
                stats,
                _ebpf: ebpf,
            },
            statuses,
        ))
    }

    /// Counters of the reader (records read, decode errors, reserve failures seen).
    pub fn stats(&self) -> Arc<SensorStats> {
        Arc::clone(&self.stats)
    }

    /// Stop the reader (after a final loss poll) and detach all programs.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.reader.take()
            && h.join().is_err()
        {
            tracing::error!("ebpf ring reader thread panicked");
        }
    }
}

impl Drop for EbpfSensor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn validate(config: &EbpfConfig) -> Result<(), EbpfError> {
    let r = config.ring_bytes;
    if !r.is_power_of_two() || r < 4096 {
        return Err(EbpfError::BadRingSize { bytes: r });
    }
    let all = config
        .watched_prefixes
        .iter()
        .chain(&config.home_prefixes)
        .chain(&config.read_prefixes);
    for p in all {
        if !p.starts_with('/') || p.len() > PREFIX_LEN {
            return Err(EbpfError::BadPrefix {
                prefix: p.clone(),
                max: PREFIX_LEN,
            });
        }
    }
    Ok(())
}

fn take_map(ebpf: &mut Ebpf, name: &'static str) -> Result<aya::maps::Map, EbpfError> {
    ebpf.take_map(name)
        .ok_or(EbpfError::Map { name, source: None })
}

fn map_err(name: &'static str, e: aya::maps::MapError) -> EbpfError {
    EbpfError::Map {
        name,
        source: Some(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensor_can_move_between_tasks() {
        fn assert_send<T: Send>() {}
        assert_send::<EbpfSensor>();
        assert_send::<EbpfError>();
    }

    #[test]
    fn config_is_validated() {
        assert!(validate(&EbpfConfig::default()).is_ok());
        let bad_ring = EbpfConfig {
            ring_bytes: 5000,
            ..EbpfConfig::default()
        };
        assert!(matches!(
            validate(&bad_ring),
            Err(EbpfError::BadRingSize { bytes: 5000 })
        ));
        let relative = EbpfConfig {
            watched_prefixes: vec!["etc/".into()],
            ..EbpfConfig::default()
        };
        assert!(matches!(
            validate(&relative),
            Err(EbpfError::BadPrefix { .. })
        ));
        let long = EbpfConfig {
            watched_prefixes: vec![format!("/{}", "x".repeat(PREFIX_LEN))],
            ..EbpfConfig::default()
        };
        assert!(matches!(validate(&long), Err(EbpfError::BadPrefix { .. })));
    }

    #[test]
    fn empty_object_is_not_built() {
        let (tx, _rx) = crate::channel::bounded("t", 1);
        let err = EbpfSensor::start_with_object(&[], EbpfConfig::default(), tx)
            .err()
            .expect("empty object refused");
        assert!(matches!(err, EbpfError::NotBuilt));
        assert_eq!(
            err.to_string(),
            "eBPF object not built into this binary (build with scripts/build-ebpf.sh)"
        );
    }
}
