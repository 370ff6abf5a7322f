//! Detectors: each turns events (with the shared process table) into findings.
//!
//! A detector never parses raw bytes, log text or /proc: it reads typed [`Event`]s and the
//! [`ProcessTable`]. Stateful detectors keep bounded state keyed by entity and use event time,
//! not wall time, so replaying a file gives the same findings as living through it.

use crate::config::DetectorsConfig;
use crate::event::Event;
use crate::finding::Finding;
use crate::proctable::ProcessTable;

pub mod exec_from_tmp;
pub mod pipe_to_shell;
pub mod reverse_shell;
pub mod shell;
pub mod ssh_bruteforce;

/// One detector.
pub trait Detector: Send {
    /// Stable id, used in findings, configuration and fixtures (`ssh_bruteforce`).
    fn id(&self) -> &'static str;
    /// Inspect one event; push any findings to `out`.
    fn on_event(&mut self, ev: &Event, procs: &ProcessTable, out: &mut Vec<Finding>);
}

/// The detectors switched on in `cfg`, in a fixed order.
pub fn build(cfg: &DetectorsConfig) -> Vec<Box<dyn Detector>> {
    let mut v: Vec<Box<dyn Detector>> = Vec::new();
    if cfg.ssh_bruteforce.enabled {
        v.push(Box::new(ssh_bruteforce::SshBruteforce::new(
            cfg.ssh_bruteforce.clone(),
        )));
    }
    if cfg.pipe_to_shell.enabled {
        v.push(Box::new(pipe_to_shell::PipeToShell::new(
            cfg.pipe_to_shell.clone(),
        )));
    }
    if cfg.exec_from_tmp.enabled {
        v.push(Box::new(exec_from_tmp::ExecFromTmp::new(
            cfg.exec_from_tmp.clone(),
        )));
    }
    if cfg.reverse_shell.enabled {
        v.push(Box::new(reverse_shell::ReverseShell::new(
            cfg.reverse_shell.clone(),
        )));
    }
    v
}

/// Every detector id this build knows, for `check-config` and fixtures.
pub const ALL: &[&str] = &[
    "ssh_bruteforce",
    "pipe_to_shell",
    "exec_from_tmp",
    "reverse_shell",
];

/// Evidence form of an event (the JSONL contract object).
pub(crate) fn evidence(ev: &Event) -> serde_json::Value {
    // Serializing our own plain data types cannot fail (no maps with non-string keys).
    serde_json::to_value(ev).unwrap_or(serde_json::Value::Null)
}
