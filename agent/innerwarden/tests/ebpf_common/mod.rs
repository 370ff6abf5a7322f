//! Shared by the kernel sensor root tests: the skip rule, sensor start and event wait.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use innerwarden::channel::{self, CountedSender};
use innerwarden::sensor::ebpf::{EbpfConfig, EbpfSensor, ProgramStatus, embedded_object};
use innerwarden_core::event::Event;
use tokio::sync::mpsc::Receiver;

pub fn skip_reason() -> Option<&'static str> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (loading eBPF programs needs CAP_BPF + CAP_PERFMON)");
    }
    if embedded_object().is_none() {
        return Some("eBPF object not built into this binary (run scripts/build-ebpf.sh)");
    }
    None
}

#[macro_export]
macro_rules! require_root_and_object {
    () => {
        if let Some(why) = ebpf_common::skip_reason() {
            println!("skipped: {why}");
            return;
        }
    };
}

pub struct Started {
    pub sensor: EbpfSensor,
    pub rx: Receiver<Event>,
    pub tx: CountedSender<Event>,
    pub statuses: Vec<ProgramStatus>,
}

/// Start the sensor and check that the core programs attached.
pub fn start(config: EbpfConfig) -> (EbpfSensor, Receiver<Event>, CountedSender<Event>) {
    let s = start_with_status(config);
    (s.sensor, s.rx, s.tx)
}

pub fn start_with_status(config: EbpfConfig) -> Started {
    let (tx, rx) = channel::bounded("test_events", 1 << 16);
    let (sensor, statuses) = EbpfSensor::start(config, tx.clone()).expect("sensor starts");
    for s in statuses.iter().filter(|s| !s.attached) {
        println!("not attached: {} {} {:?}", s.name, s.hook, s.error);
    }
    for core in [
        "sched_process_exec",
        "sys_enter_execve",
        "sched_process_fork",
        "inet_sock_set_state",
        "sys_enter_openat",
    ] {
        assert!(
            statuses.iter().any(|s| s.name == core && s.attached),
            "{core} not attached: {statuses:?}"
        );
    }
    Started {
        sensor,
        rx,
        tx,
        statuses,
    }
}

/// Whether program `name` attached.
pub fn attached(statuses: &[ProgramStatus], name: &str) -> bool {
    statuses.iter().any(|s| s.name == name && s.attached)
}

/// Receive until `pick` returns a value or `timeout` passes.
pub fn wait_for<T>(
    rx: &mut Receiver<Event>,
    timeout: Duration,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match rx.try_recv() {
            Ok(ev) => {
                if let Some(v) = pick(&ev) {
                    return Some(v);
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    None
}

/// Everything that arrives within `window`.
pub fn collect(rx: &mut Receiver<Event>, window: Duration) -> Vec<Event> {
    let mut out = Vec::new();
    wait_for(rx, window, |ev| {
        out.push(ev.clone());
        None::<()>
    });
    out
}
