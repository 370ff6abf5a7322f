//! Replay quality checks: the auth decoder judged against labelled third-party logs.
//!
//! Pure functions over file *contents* (the caller reads the files), used by
//! `tests/replay_qa.rs` and by the `innerwarden bench replay` / `replay-qa` commands.
//!
//! - [`fail2ban`]: fail2ban's filter test files (`# failJSON: {...}` labels the next log line).
//! - [`loghub`]: loghub's OpenSSH_2k with its per-line template ids.
//! - [`atomic`]: Atomic Red Team's Linux tests as synthetic exec streams ([`shell_split`] reads
//!   their shell commands, [`atomic_effects`] the file opens and wrapped commands their command
//!   lines name).
//! - [`gate`]: the detection gate: detection per area over the ART streams, false positives
//!   per benign corpus.
//! - [`bench_replay_lines`]: decoder throughput.

pub mod atomic;
pub mod atomic_effects;
pub mod fail2ban;
pub mod gate;
pub mod loghub;
pub mod shell_split;

use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::decode::authlog::{LineContext, LineOutcome, SessionDecoder};
use crate::event::Source;

/// The fixed reference time replays use (year inference of `Mmm dd` dates).
pub fn replay_context() -> LineContext {
    // 2026-12-31T23:59:59Z as a unix timestamp: in range, so the conversion cannot fail.
    let now = DateTime::<Utc>::from_timestamp(1_798_761_599, 0)
        .unwrap_or_else(|| unreachable!("constant timestamp is in range"));
    LineContext::new(now, Source::Authlog)
}

/// Decode every line through one [`SessionDecoder`]; returns (lines, seconds).
/// This is the whole per-line cost the auth sensors pay (prefix split, dispatch, decode, event
/// construction), without I/O.
pub fn bench_replay_lines(lines: &[String]) -> (usize, f64) {
    let mut dec = SessionDecoder::new(replay_context());
    let start = Instant::now();
    let mut events = 0usize;
    for l in lines {
        events += usize::from(matches!(dec.decode_line(l), LineOutcome::Event(_)));
    }
    let secs = start.elapsed().as_secs_f64();
    // Keep the loop observable so it is not optimised away.
    std::hint::black_box(events);
    (lines.len(), secs)
}
