//! Findings and their grouping into incidents, and the CLI's incident queries.
//!
//! Grouping: a finding joins the open incident of its entity key when the finding's time is
//! within `window` of the incident's `last_ts`; otherwise that incident (if any) is closed and a
//! new one is opened. Joining raises the incident's severity to the maximum of its findings.

use std::fmt;

use chrono::{DateTime, Utc};
use innerwarden_core::finding::{Finding, Severity};
use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError, from_ns, seq_from_sql, seq_to_sql, to_ns};

/// Whether an incident still accepts findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentStatus {
    Open,
    Closed,
}

impl IncidentStatus {
    fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An incident row.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRow {
    pub id: i64,
    pub first_ts: DateTime<Utc>,
    pub last_ts: DateTime<Utc>,
    pub entity_key: String,
    pub title: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub finding_count: u64,
    /// The audit record of the finding that opened it.
    pub audit_seq: Option<u64>,
}

/// A stored finding.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    pub id: i64,
    pub incident_id: i64,
    pub audit_seq: Option<u64>,
    pub finding: Finding,
}

/// An incident with its findings, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentDetail {
    pub incident: IncidentRow,
    pub findings: Vec<FindingRow>,
}

/// Where [`Store::record_finding`] put a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedFinding {
    pub finding_id: i64,
    pub incident_id: i64,
    /// True when this finding opened the incident.
    pub new_incident: bool,
}

fn parse_severity(table: &'static str, v: String) -> Result<Severity, StoreError> {
    match v.as_str() {
        "low" => Ok(Severity::Low),
        "medium" => Ok(Severity::Medium),
        "high" => Ok(Severity::High),
        "critical" => Ok(Severity::Critical),
        _ => Err(StoreError::Corrupt {
            table,
            column: "severity",
            value: v,
        }),
    }
}

fn json<T: serde::Serialize>(what: &'static str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|source| StoreError::Json { what, source })
}

fn unjson<T: serde::de::DeserializeOwned>(what: &'static str, s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|source| StoreError::Json { what, source })
}

const INCIDENT_COLS: &str =
    "id, first_ts, last_ts, entity_key, title, severity, status, finding_count, audit_seq";

/// Raw columns of an incident row, converted to [`IncidentRow`] outside the rusqlite closure.
type RawIncident = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
);

fn raw_incident(r: &Row<'_>) -> rusqlite::Result<RawIncident> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn incident_row(raw: RawIncident) -> Result<IncidentRow, StoreError> {
    let (id, first, last, entity_key, title, severity, status, count, seq) = raw;
    let status = match status.as_str() {
        "open" => IncidentStatus::Open,
        "closed" => IncidentStatus::Closed,
        _ => {
            return Err(StoreError::Corrupt {
                table: "incidents",
                column: "status",
                value: status,
            });
        }
    };
    Ok(IncidentRow {
        id,
        first_ts: from_ns(first),
        last_ts: from_ns(last),
        entity_key,
        title,
        severity: parse_severity("incidents", severity)?,
        status,
        finding_count: seq_from_sql("incidents", "finding_count", count)?,
        audit_seq: seq
            .map(|s| seq_from_sql("incidents", "audit_seq", s))
            .transpose()?,
    })
}

impl Store {
    /// Store a finding and group it into an incident (see the module docs).
    pub fn record_finding(
        &self,
        finding: &Finding,
        audit_seq: Option<u64>,
        window: chrono::Duration,
    ) -> Result<RecordedFinding, StoreError> {
        let key = finding.entity.key();
        let ts = to_ns(&finding.ts)?;
        let window_ns = window.num_nanoseconds().unwrap_or(i64::MAX);
        let audit_seq = audit_seq.map(seq_to_sql);
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let open: Option<(i64, i64, i64, String)> = tx
            .query_row(
                "SELECT id, first_ts, last_ts, severity FROM incidents \
                 WHERE entity_key = ?1 AND status = 'open' ORDER BY last_ts DESC LIMIT 1",
                params![key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let joined = match open {
            Some((id, first, last, sev)) if ts.abs_diff(last) <= window_ns.unsigned_abs() => {
                let severity = parse_severity("incidents", sev)?.max(finding.severity);
                tx.execute(
                    "UPDATE incidents SET first_ts = ?2, last_ts = ?3, severity = ?4, \
                     finding_count = finding_count + 1 WHERE id = ?1",
                    params![id, first.min(ts), last.max(ts), severity.as_str()],
                )?;
                Some(id)
            }
            Some((id, ..)) => {
                tx.execute(
                    "UPDATE incidents SET status = 'closed' WHERE id = ?1",
                    params![id],
                )?;
                None
            }
            None => None,
        };
        let (incident_id, new_incident) = match joined {
            Some(id) => (id, false),
            None => {
                tx.execute(
                    "INSERT INTO incidents (first_ts, last_ts, entity_key, title, severity, \
                     status, finding_count, audit_seq) VALUES (?1, ?1, ?2, ?3, ?4, 'open', 1, ?5)",
                    params![
                        ts,
                        key,
                        format!("{}: {}", finding.detector, finding.entity),
                        finding.severity.as_str(),
                        audit_seq
                    ],
                )?;
                (tx.last_insert_rowid(), true)
            }
        };
        tx.execute(
            "INSERT INTO findings (ts, detector, technique, severity, entity_key, entity, \
             summary, evidence, incident_id, audit_seq, author, stage) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                ts,
                finding.detector,
                finding.technique,
                finding.severity.as_str(),
                key,
                json("finding entity", &finding.entity)?,
                finding.summary,
                json("finding evidence", &finding.evidence)?,
                incident_id,
                audit_seq,
                finding.author,
                finding.stage
            ],
        )?;
        let finding_id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(RecordedFinding {
            finding_id,
            incident_id,
            new_incident,
        })
    }

    /// The newest `limit` incidents by last activity, newest first.
    pub fn list_incidents(&self, limit: usize) -> Result<Vec<IncidentRow>, StoreError> {
        let conn = self.lock()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {INCIDENT_COLS} FROM incidents ORDER BY last_ts DESC, id DESC LIMIT ?1"
        ))?;
        let raws = stmt
            .query_map(params![limit], raw_incident)?
            .collect::<Result<Vec<_>, _>>()?;
        raws.into_iter().map(incident_row).collect()
    }

    /// One incident with its findings, or `None` if there is no such id.
    pub fn incident(&self, id: i64) -> Result<Option<IncidentDetail>, StoreError> {
        let conn = self.lock()?;
        let raw = conn
            .query_row(
                &format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = ?1"),
                params![id],
                raw_incident,
            )
            .optional()?;
        let Some(raw) = raw else { return Ok(None) };
        let incident = incident_row(raw)?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, ts, detector, technique, severity, entity, summary, evidence, audit_seq, \
             author, stage FROM findings WHERE incident_id = ?1 ORDER BY ts, id",
        )?;
        type RawFinding = (
            i64,
            i64,
            String,
            String,
            String,
            String,
            String,
            String,
            Option<i64>,
            Option<String>,
            Option<u32>,
        );
        let raws: Vec<RawFinding> = stmt
            .query_map(params![id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        let mut findings = Vec::with_capacity(raws.len());
        for (fid, ts, detector, technique, sev, entity, summary, evidence, seq, author, stage) in
            raws
        {
            findings.push(FindingRow {
                id: fid,
                incident_id: id,
                audit_seq: seq
                    .map(|s| seq_from_sql("findings", "audit_seq", s))
                    .transpose()?,
                finding: Finding {
                    ts: from_ns(ts),
                    detector,
                    technique,
                    severity: parse_severity("findings", sev)?,
                    entity: unjson("stored finding entity", &entity)?,
                    summary,
                    evidence: unjson("stored finding evidence", &evidence)?,
                    author,
                    stage,
                },
            });
        }
        Ok(Some(IncidentDetail { incident, findings }))
    }
}
