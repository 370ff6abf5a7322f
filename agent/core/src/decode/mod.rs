//! One decode point per source.
//!
//! - [`authlog`]: syslog / journald auth lines (sshd, sudo, su, PAM) to typed events.

pub mod authlog;
