//! The `innerwarden` agent: the edges around the pure core (sensors, storage, audit file, CLI).
//!
//! # Layout
//! - [`channel`]: bounded channels with named drop counters.
//! - [`sensor`]: eBPF, journald and auth.log sensors.

pub mod channel;
pub mod sensor;
