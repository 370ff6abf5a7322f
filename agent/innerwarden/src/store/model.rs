//! The local model's tables (migration 6): the host baseline's decaying counts and operator
//! feedback on incidents.

use chrono::{DateTime, Utc};
use innerwarden_core::decide::score::FeatureValue;
use innerwarden_core::model::baseline::{Entry, Kind};
use innerwarden_core::model::file::{Label, Sample, SampleSource};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, from_ns, seq_from_sql, seq_to_sql, to_ns};

/// A stored operator verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackRow {
    pub id: i64,
    pub incident_id: i64,
    pub ts: DateTime<Utc>,
    pub verdict: Label,
    pub caller_uid: Option<u32>,
    pub entity_key: String,
    pub features: Vec<FeatureValue>,
    pub audit_seq: Option<u64>,
}

fn verdict_str(l: Label) -> &'static str {
    match l {
        Label::Benign => "benign",
        Label::Malicious => "malicious",
    }
}

/// The persisted baseline.
pub type BaselineRows = (Option<DateTime<Utc>>, Vec<(Kind, String, Entry)>);

impl Store {
    /// Upsert changed baseline entries (one transaction) and record when learning started.
    pub fn save_baseline(
        &self,
        started: Option<DateTime<Utc>>,
        entries: &[(Kind, String, Entry)],
    ) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        if let Some(s) = started {
            tx.execute(
                "INSERT INTO baseline_meta (id, started_at) VALUES (0, ?1) \
                 ON CONFLICT(id) DO NOTHING",
                params![to_ns(&s)?],
            )?;
        }
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO baseline_counts (kind, key, count, last_ts) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(kind, key) DO UPDATE SET count = excluded.count, last_ts = excluded.last_ts",
            )?;
            for (kind, key, e) in entries {
                stmt.execute(params![kind.as_str(), key, e.count, to_ns(&e.last)?])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Keep the table bounded: delete all but the `max_keys` strongest rows.
    pub fn trim_baseline(&self, max_keys: usize) -> Result<usize, StoreError> {
        let conn = self.lock()?;
        Ok(conn.execute(
            "DELETE FROM baseline_counts WHERE (kind, key) IN (SELECT kind, key FROM \
             baseline_counts ORDER BY count DESC, last_ts DESC LIMIT -1 OFFSET ?1)",
            params![i64::try_from(max_keys).unwrap_or(i64::MAX)],
        )?)
    }

    /// The persisted baseline (rows of unknown kinds are refused as corrupt).
    pub fn load_baseline(&self) -> Result<BaselineRows, StoreError> {
        let conn = self.lock()?;
        let started: Option<i64> = conn
            .query_row(
                "SELECT started_at FROM baseline_meta WHERE id = 0",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let mut stmt = conn.prepare("SELECT kind, key, count, last_ts FROM baseline_counts")?;
        let rows: Vec<(String, String, f64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (kind, key, count, last) in rows {
            let kind = Kind::parse(&kind).ok_or(StoreError::Corrupt {
                table: "baseline_counts",
                column: "kind",
                value: kind.clone(),
            })?;
            out.push((
                kind,
                key,
                Entry {
                    count,
                    last: from_ns(last),
                },
            ));
        }
        Ok((started.map(from_ns), out))
    }

    /// Record an operator verdict (after its audit record was written).
    pub fn insert_feedback(&self, row: &FeedbackRow) -> Result<i64, StoreError> {
        let features = serde_json::to_string(&row.features).map_err(|source| StoreError::Json {
            what: "feedback.features",
            source,
        })?;
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO feedback (incident_id, ts, verdict, caller_uid, entity_key, features, audit_seq) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                row.incident_id,
                to_ns(&row.ts)?,
                verdict_str(row.verdict),
                row.caller_uid,
                row.entity_key,
                features,
                row.audit_seq.map(seq_to_sql)
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Every verdict, oldest first.
    pub fn list_feedback(&self) -> Result<Vec<FeedbackRow>, StoreError> {
        self.feedback_where("1 = 1", params![])
    }

    /// Verdicts on one incident, oldest first.
    pub fn feedback_for(&self, incident_id: i64) -> Result<Vec<FeedbackRow>, StoreError> {
        self.feedback_where("incident_id = ?1", params![incident_id])
    }

    fn feedback_where(
        &self,
        cond: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<FeedbackRow>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT id, incident_id, ts, verdict, caller_uid, entity_key, features, audit_seq \
             FROM feedback WHERE {cond} ORDER BY id"
        ))?;
        type Raw = (
            i64,
            i64,
            i64,
            String,
            Option<u32>,
            String,
            String,
            Option<i64>,
        );
        let raws: Vec<Raw> = stmt
            .query_map(args, |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        raws.into_iter()
            .map(
                |(id, incident_id, ts, verdict, uid, entity_key, features, seq)| {
                    Ok(FeedbackRow {
                        id,
                        incident_id,
                        ts: from_ns(ts),
                        verdict: match verdict.as_str() {
                            "benign" => Label::Benign,
                            "malicious" => Label::Malicious,
                            _ => {
                                return Err(StoreError::Corrupt {
                                    table: "feedback",
                                    column: "verdict",
                                    value: verdict,
                                });
                            }
                        },
                        caller_uid: uid,
                        entity_key,
                        features: serde_json::from_str(&features).map_err(|source| {
                            StoreError::Json {
                                what: "feedback.features",
                                source,
                            }
                        })?,
                        audit_seq: seq
                            .map(|s| seq_from_sql("feedback", "audit_seq", s))
                            .transpose()?,
                    })
                },
            )
            .collect()
    }

    /// Verdicts on an entity: (benign, malicious).
    pub fn feedback_counts(&self, entity_key: &str) -> Result<(u32, u32), StoreError> {
        let conn = self.lock()?;
        Ok(conn.query_row(
            "SELECT COALESCE(SUM(verdict = 'benign'), 0), COALESCE(SUM(verdict = 'malicious'), 0) \
             FROM feedback WHERE entity_key = ?1",
            params![entity_key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Incidents on an entity opened before `incident_id`.
    pub fn prior_incidents(&self, entity_key: &str, incident_id: i64) -> Result<u32, StoreError> {
        let conn = self.lock()?;
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM incidents WHERE entity_key = ?1 AND id < ?2",
            params![entity_key, incident_id],
            |r| r.get(0),
        )?)
    }

    /// Training samples from feedback (verdicts whose decision carried model features; a
    /// verdict on an evidence-scored decision only counts as history).
    pub fn feedback_samples(&self) -> Result<Vec<Sample>, StoreError> {
        Ok(self
            .list_feedback()?
            .into_iter()
            .filter(|f| !f.features.is_empty())
            .filter_map(|f| {
                let x = innerwarden_core::model::features::from_named(&f.features).ok()?;
                Some(Sample::from_vector(
                    format!("feedback:{}", f.id),
                    f.verdict,
                    SampleSource::Feedback,
                    &x,
                ))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use innerwarden_core::finding::{Entity, Finding, Severity};

    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).expect("in range")
    }

    #[test]
    fn baseline_rows_upsert_trim_and_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("s.db")).expect("store");
        assert_eq!(store.load_baseline().expect("empty"), (None, Vec::new()));
        let e = |count: f64, s: i64| Entry { count, last: t(s) };
        store
            .save_baseline(
                Some(t(0)),
                &[
                    (Kind::Binary, "/bin/a".into(), e(1.0, 1)),
                    (Kind::Binary, "/bin/b".into(), e(5.0, 2)),
                    (Kind::LoginSource, "*<192.0.2.1".into(), e(2.0, 3)),
                ],
            )
            .expect("save");
        // An update replaces the count; `started` never moves once set.
        store
            .save_baseline(Some(t(99)), &[(Kind::Binary, "/bin/a".into(), e(3.0, 4))])
            .expect("update");
        let (started, rows) = store.load_baseline().expect("load");
        assert_eq!(started, Some(t(0)));
        assert_eq!(rows.len(), 3);
        assert!(rows.contains(&(Kind::Binary, "/bin/a".into(), e(3.0, 4))));
        assert_eq!(store.trim_baseline(2).expect("trim"), 1);
        let (_, rows) = store.load_baseline().expect("load");
        assert!(!rows.iter().any(|(_, k, _)| k == "*<192.0.2.1"), "{rows:?}");
    }

    #[test]
    fn feedback_round_trips_and_counts_by_entity() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("s.db")).expect("store");
        let finding = Finding {
            ts: t(0),
            detector: "ssh_bruteforce".into(),
            technique: "T1110.001".into(),
            severity: Severity::High,
            entity: Entity::Host {
                host: "203.0.113.5".parse().expect("host"),
            },
            summary: "x".into(),
            evidence: vec![],
            author: None,
            stage: None,
        };
        let rec = store
            .record_finding(&finding, None, TimeDelta::minutes(10))
            .expect("finding");
        let row = FeedbackRow {
            id: 0,
            incident_id: rec.incident_id,
            ts: t(5),
            verdict: Label::Benign,
            caller_uid: Some(0),
            entity_key: finding.entity.key(),
            features: vec![FeatureValue {
                name: "new.login_source".into(),
                value: 1.0,
            }],
            audit_seq: Some(7),
        };
        let id = store.insert_feedback(&row).expect("insert");
        let back = store.feedback_for(rec.incident_id).expect("read");
        assert_eq!(back, vec![FeedbackRow { id, ..row.clone() }]);
        assert_eq!(
            store.feedback_counts(&row.entity_key).expect("counts"),
            (1, 0)
        );
        assert_eq!(store.feedback_counts("host:other").expect("counts"), (0, 0));
        let samples = store.feedback_samples().expect("samples");
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].label, Label::Benign);
        assert_eq!(samples[0].features.get("new.login_source"), Some(&1.0));
        assert_eq!(
            store
                .prior_incidents(&row.entity_key, rec.incident_id)
                .expect("prior"),
            0
        );
    }
}
