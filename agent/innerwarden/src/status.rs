//! `<state_dir>/status.json`: which sensors and kernel programs are running, written by `run`
//! at start, read by `innerwarden status`. (The D-Bus Status method will serve the same data.)

use std::path::Path;

use chrono::{DateTime, Utc};
use innerwarden_core::config::Config;
use innerwarden_core::decide;
use serde::{Deserialize, Serialize};

use crate::sensor::ebpf::ProgramStatus;

pub const STATUS_FILE: &str = "status.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorState {
    Running,
    Disabled,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorStatus {
    pub name: String,
    pub state: SensorState,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub started: DateTime<Utc>,
    pub pid: u32,
    pub version: &'static str,
    pub mode: decide::config::Mode,
    pub enforced_kinds: Vec<decide::action::ActionKind>,
    pub sensors: Vec<SensorStatus>,
    pub programs: Vec<ProgramStatus>,
    pub responders: Vec<ResponderInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponderInfo {
    pub name: String,
    pub kinds: Vec<decide::action::ActionKind>,
    pub unavailable: Option<String>,
}

impl Status {
    pub fn new(cfg: &Config) -> Self {
        Self {
            started: Utc::now(),
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION"),
            mode: cfg.response.mode,
            enforced_kinds: decide::enforced_kinds(&cfg.response),
            sensors: Vec::new(),
            programs: Vec::new(),
            responders: Vec::new(),
        }
    }

    pub fn sensor(&mut self, name: &str, state: SensorState, note: Option<String>) {
        self.sensors.push(SensorStatus {
            name: name.to_owned(),
            state,
            note,
        });
    }

    pub fn responder(&mut self, s: crate::respond::worker::ResponderStatus) {
        self.responders.push(ResponderInfo {
            name: s.name.to_owned(),
            kinds: s.kinds,
            unavailable: s.unavailable,
        });
    }

    /// Write atomically (temp file + rename); failure is logged, never fatal.
    pub fn write(&self, state_dir: &Path) {
        let path = state_dir.join(STATUS_FILE);
        let tmp = state_dir.join(".status.json.tmp");
        let res = serde_json::to_vec_pretty(self)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = res {
            tracing::warn!(path = %path.display(), error = %e, "could not write status");
        }
    }
}
