//! The `innerwarden` agent: the edges around the pure core (sensors, storage, audit file, CLI).
//!
//! # Layout
//! - [`audit_log`]: the audit file, node key, checkpoints and verification glue.
//! - [`channel`]: bounded channels with named drop counters.
//! - [`sensor`]: eBPF, journald and auth.log sensors.
//! - [`store`]: the SQLite store (events, findings, incidents, actions, audit anchors, positions).

pub mod audit_log;
pub mod channel;
pub mod sensor;
pub mod store;
