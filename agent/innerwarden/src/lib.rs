//! The `innerwarden` agent: the edges around the pure core (sensors, storage, audit file, CLI).
//!
//! # Layout
//! - [`cli`]: one file per subcommand; `main.rs` only parses and dispatches.
//! - [`channel`]: bounded channels with named drop counters.
//! - [`correlation`]: the engine with the configured correlation rule directory.
//! - [`pipeline`]: the loop from the event channel through the engine to the sink.
//! - [`sensor`]: eBPF, journald and auth.log sensors.
//! - [`procfs`]: the /proc scan that seeds the process table.
//! - [`store`]: the SQLite store (events, findings, incidents, actions, audit anchors, positions).
//! - [`audit_log`]: the audit file, node key, checkpoints and verification glue.
//! - [`control`]: the D-Bus service `org.innerwarden.Agent1` and its client.
//! - [`service`]: systemd integration without libsystemd (readiness, watchdog, status).
//! - [`logging`]: tracing setup.
//! - [`sigma_rules`]: reads a Sigma rule directory and the passwd database for the core's Sigma detector.
//! - [`model`]: model choice, the SQLite-backed host baseline, retraining with feedback.

pub mod audit_log;
pub mod channel;
pub mod cli;
pub mod control;
pub mod correlation;
pub mod logging;
pub mod model;
pub mod notify;
pub mod pipeline;
pub mod procfs;
pub mod procnet;
pub mod recorder;
pub mod respond;
pub mod rules_dir;
pub mod sensor;
pub mod service;
pub mod sigma_rules;
pub mod status;
pub mod store;
