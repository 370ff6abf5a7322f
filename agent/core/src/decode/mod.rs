//! One decode point per source: bytes or lines in, typed [`crate::event::Event`]s out.

pub mod kernel;
