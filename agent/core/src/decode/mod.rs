//! One decode point per source: bytes or lines in, typed [`crate::event::Event`]s out.
//!
//! - [`authlog`]: syslog / journald auth lines (sshd, sudo, su, PAM).
//! - [`kernel`]: eBPF ring-buffer records.

pub mod authlog;
pub mod kernel;
mod kernel_sys;
