//! journald entries as `journalctl --output=json` prints them: one JSON object per line with
//! string values (`MESSAGE`, `SYSLOG_IDENTIFIER`, `_PID`, `__REALTIME_TIMESTAMP` in
//! microseconds, `__CURSOR`). A non-UTF-8 `MESSAGE` is printed as an array of byte values.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Decoded, LineOutcome, decode, parse_message};
use crate::event::{Event, EventKind, LogLine, Source};

/// The fields of one journal entry that the auth decoder uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// `__CURSOR`: where to resume after this entry.
    pub cursor: Option<String>,
    /// `SYSLOG_IDENTIFIER`, falling back to `_COMM`.
    pub identifier: String,
    pub pid: Option<u32>,
    /// `SYSLOG_FACILITY` (4 auth, 10 authpriv), when the entry has one.
    pub facility: Option<u8>,
    pub message: String,
    pub ts: DateTime<Utc>,
}

/// Why a journal line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal entry is not JSON: {source}")]
    Json {
        #[source]
        source: serde_json::Error,
    },
    #[error("journal entry has no {field}")]
    Missing { field: &'static str },
}

/// Read the fields of one `journalctl -o json` line.
pub fn parse_journal_json(line: &str) -> Result<JournalEntry, JournalError> {
    let v: Value = serde_json::from_str(line).map_err(|source| JournalError::Json { source })?;
    let cursor = text(&v, "__CURSOR");
    let identifier = text(&v, "SYSLOG_IDENTIFIER")
        .or_else(|| text(&v, "_COMM"))
        .ok_or(JournalError::Missing {
            field: "SYSLOG_IDENTIFIER",
        })?;
    let message = text(&v, "MESSAGE").ok_or(JournalError::Missing { field: "MESSAGE" })?;
    let pid = text(&v, "_PID")
        .or_else(|| text(&v, "SYSLOG_PID"))
        .and_then(|p| p.parse().ok());
    let facility = text(&v, "SYSLOG_FACILITY").and_then(|f| f.parse().ok());
    let ts = text(&v, "__REALTIME_TIMESTAMP")
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(DateTime::<Utc>::from_timestamp_micros)
        .ok_or(JournalError::Missing {
            field: "__REALTIME_TIMESTAMP",
        })?;
    Ok(JournalEntry {
        cursor,
        identifier,
        pid,
        facility,
        message,
        ts,
    })
}

/// A string field; byte arrays (non-UTF-8 messages) are decoded lossily; repeated fields
/// (arrays of strings) give their first value.
fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) if items.iter().all(Value::is_u64) => {
            let bytes: Vec<u8> = items
                .iter()
                .filter_map(Value::as_u64)
                .map(|b| u8::try_from(b).unwrap_or(b'?'))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        Value::Array(items) => items.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

impl JournalEntry {
    /// Decode this entry's message (stateless; see [`super::SessionDecoder::decode_entry`]).
    pub fn outcome(&self) -> LineOutcome {
        parse_message(
            &self.identifier,
            self.pid,
            &self.message,
            self.ts,
            Source::Journald,
        )
    }

    /// This entry as a [`LogLine`] event (for log-line rules).
    pub fn log_line(&self) -> Event {
        Event::new(
            self.ts,
            Source::Journald,
            EventKind::LogLine(LogLine {
                service: self.identifier.clone(),
                pid: self.pid,
                facility: self.facility,
                message: self.message.clone(),
            }),
        )
    }

    pub(crate) fn decoded(&self) -> Decoded {
        decode(&self.identifier, &self.message)
    }
}

/// Decode one `journalctl -o json` line to an outcome (the pure, stateless entry point).
pub fn journal_entry(json: &str) -> LineOutcome {
    match parse_journal_json(json) {
        Ok(e) => e.outcome(),
        Err(JournalError::Json { .. }) => LineOutcome::Unparsed {
            reason: "journal entry is not JSON",
        },
        Err(JournalError::Missing { field }) => LineOutcome::Unparsed { reason: field },
    }
}
