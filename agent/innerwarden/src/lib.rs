//! The `innerwarden` agent: the edges around the pure core (sensors, storage, audit file, CLI).
//!
//! # Layout
//! - [`cli`]: one file per subcommand; `main.rs` only parses and dispatches.
//! - [`channel`]: bounded channels with named drop counters.
//! - [`sensor`]: eBPF, journald and auth.log sensors.
//! - [`procfs`]: the /proc scan that seeds the process table.
//! - [`logging`]: tracing setup.

pub mod channel;
pub mod cli;
pub mod logging;
pub mod pipeline;
pub mod procfs;
pub mod sensor;
