//! The kernel → user ABI (placeholder: filled by the eBPF work).
#![no_std]
