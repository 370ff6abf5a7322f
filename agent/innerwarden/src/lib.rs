//! The `innerwarden` agent: the edges around the pure core (sensors, storage, audit file, CLI).
//!
//! # Layout
//! - [`channel`]: bounded channels with named drop counters.
//! - [`sensor`]: eBPF, journald and auth.log sensors.
//! - [`store`]: the SQLite store (events, findings, incidents, actions, audit anchors, positions).

pub mod channel;
pub mod sensor;
pub mod store;
