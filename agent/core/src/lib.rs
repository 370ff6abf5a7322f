//! Inner Warden's pure core: everything between "bytes arrived" and "a finding was recorded" that
//! can be decided without touching the host. No aya, zbus, rusqlite or nftables here, and no file,
//! socket or /proc access: the `innerwarden` crate owns every edge and feeds this crate values.
//!
//! # Layout
//! - [`event`]: the typed [`event::Event`], one type for every source; its JSON form is the
//!   versioned JSONL contract read by `innerwarden replay`.
//! - [`decode`]: the one decode point per source (kernel ring-buffer records, auth-log lines).
//! - [`proctable`]: the single process table (ancestry, uid, exe, cmdline, unit) all detectors share.
//! - [`detect`]: detectors, turning events into [`finding::Finding`]s.
//! - [`sigma`]: native Sigma rules (Linux process, file and network categories) as a detector.

//! - [`correlate`]: sequences of findings and events over time, joined on an entity.
//! - [`qa`]: replay quality checks against labelled third-party logs (fail2ban, loghub).
//! - [`rules`]: rules as data: the event field schema and the compiled predicate language.
//! - [`attack`]: ATT&CK technique ids and their tactics.
//! - [`finding`]: findings and the incidents that group them.
//! - [`audit`]: the hash-chained audit record format, checkpoints and verification.
//! - [`config`]: the TOML configuration, validated into checked types.
//! - [`persistence`]: which paths in a home are persistence files (kernel decoder, inotify).
//! - [`engine`]: the per-event step (enrich → detect → group) the live pipeline and replay share.
//! - [`model`]: incident features, the host baseline, the local model (scoring, training,
//!   evaluation).

pub mod attack;
pub mod audit;
pub mod config;
pub mod correlate;
pub mod decide;
pub mod decode;
pub mod detect;
pub mod engine;
pub mod event;
pub mod finding;
pub mod model;
pub mod persistence;
pub mod proctable;
pub mod qa;
pub mod replay;
pub mod sigma;

pub mod rules;
