use chrono::{DateTime, Duration, Utc};
use innerwarden_core::audit::{Checkpoint, Head};
use innerwarden_core::event::{Event, EventKind, Exit, Source};
use innerwarden_core::finding::{Entity, Finding, Severity};
use rusqlite::Connection;

use super::*;
use crate::sensor::PositionStore;

fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000 + secs, 123_456_789).expect("in range")
}

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("state.db")).expect("opens");
    (dir, store)
}

fn exit(secs: i64, pid: u32) -> Event {
    Event::new(
        ts(secs),
        Source::Ebpf,
        EventKind::Exit(Exit { pid, code: 0 }),
    )
}

fn finding(secs: i64, user: &str, severity: Severity) -> Finding {
    Finding {
        ts: ts(secs),
        detector: "ssh_bruteforce".into(),
        technique: "T1110.001".into(),
        severity,
        entity: Entity::User { name: user.into() },
        summary: format!("brute force against {user}"),
        evidence: vec![serde_json::json!({"kind": "auth_failure", "n": secs})],
        author: None,
        stage: None,
    }
}

#[test]
fn migrates_from_empty_and_reopens_idempotently() {
    let (dir, store) = temp_store();
    assert_eq!(
        store.schema_version().expect("reads"),
        Store::known_schema_version()
    );
    store.insert_event(&exit(0, 1)).expect("inserts");
    drop(store);
    let again = Store::open(dir.path().join("state.db")).expect("reopens");
    assert_eq!(
        again.schema_version().expect("reads"),
        Store::known_schema_version()
    );
    assert_eq!(again.event_count().expect("counts"), 1);
    let mode: String = again
        .lock()
        .expect("lock")
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .expect("pragma");
    assert_eq!(mode, "wal");
    let fk: bool = again
        .lock()
        .expect("lock")
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .expect("pragma");
    assert!(fk, "foreign keys enforced");
    use std::os::unix::fs::PermissionsExt;
    let perms = std::fs::metadata(dir.path().join("state.db"))
        .expect("exists")
        .permissions();
    assert_eq!(perms.mode() & 0o077, 0, "owner-only database file");
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let conn = Connection::open(&path).expect("opens");
    conn.pragma_update(None, "user_version", 99).expect("sets");
    drop(conn);
    let err = Store::open(&path).expect_err("refused");
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("state.db"), "{err}");
}

#[test]
fn retention_prunes_by_age_and_rows() {
    let (_dir, store) = temp_store();
    let events: Vec<Event> = (0..10).map(|i| exit(i * 60, i as u32)).collect();
    store.insert_events(&events).expect("inserts");
    // Events at minutes 0..=9; now = minute 14, max age 10 minutes: minutes 0..=3 go.
    let now = ts(14 * 60);
    let deleted = store
        .prune_events_at(now, 100, std::time::Duration::from_secs(10 * 60))
        .expect("prunes");
    assert_eq!(deleted, 4);
    let deleted = store
        .prune_events_at(now, 3, std::time::Duration::from_secs(3600))
        .expect("prunes");
    assert_eq!(deleted, 3);
    let left = store.recent_events(10, None).expect("lists");
    let pids: Vec<_> = left.iter().map(|e| e.event.kind.pid()).collect();
    assert_eq!(pids, vec![Some(9), Some(8), Some(7)]);
    assert_eq!(left[0].event, events[9]);
    assert!(
        store
            .recent_events(10, Some("exec"))
            .expect("lists")
            .is_empty()
    );
    assert_eq!(
        store.recent_events(2, Some("exit")).expect("lists").len(),
        2
    );
}

#[test]
fn findings_group_into_incidents_within_the_window() {
    let (_dir, store) = temp_store();
    let window = Duration::minutes(10);
    let a = store
        .record_finding(&finding(0, "root", Severity::Low), Some(3), window)
        .expect("records");
    assert!(a.new_incident);
    let mut attributed = finding(300, "root", Severity::High);
    attributed.author = Some("Florian Roth (Nextron Systems)".into());
    attributed.stage = Some(3);
    let b = store
        .record_finding(&attributed, Some(4), window)
        .expect("records");
    assert_eq!((b.incident_id, b.new_incident), (a.incident_id, false));
    let other = store
        .record_finding(&finding(310, "alice", Severity::Medium), None, window)
        .expect("records");
    assert!(other.new_incident && other.incident_id != a.incident_id);
    // 11 minutes after the last root finding: a new incident, the old one closed.
    let c = store
        .record_finding(&finding(300 + 660, "root", Severity::Low), Some(9), window)
        .expect("records");
    assert!(c.new_incident && c.incident_id != a.incident_id);

    let first = store
        .incident(a.incident_id)
        .expect("query")
        .expect("exists");
    assert_eq!(first.incident.status, IncidentStatus::Closed);
    assert_eq!(first.incident.severity, Severity::High);
    assert_eq!(first.incident.finding_count, 2);
    assert_eq!(first.incident.audit_seq, Some(3));
    assert_eq!(
        (first.incident.first_ts, first.incident.last_ts),
        (ts(0), ts(300))
    );
    assert_eq!(first.findings.len(), 2);
    assert_eq!(first.findings[1].finding, attributed);
    assert_eq!(first.findings[1].audit_seq, Some(4));

    let list = store.list_incidents(10).expect("lists");
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].id, c.incident_id);
    assert_eq!(list[0].status, IncidentStatus::Open);
    assert!(store.incident(9999).expect("query").is_none());
}

#[test]
fn positions_round_trip() {
    let (dir, store) = temp_store();
    assert_eq!(store.load_position("journald").expect("loads"), None);
    store.save_position("journald", "s=abc;i=1").expect("saves");
    store.save_position("journald", "s=abc;i=2").expect("saves");
    drop(store);
    let store = Store::open(dir.path().join("state.db")).expect("reopens");
    assert_eq!(
        store.load_position("journald").expect("loads").as_deref(),
        Some("s=abc;i=2")
    );
}

#[test]
fn audit_head_and_checkpoints_round_trip() {
    let (_dir, store) = temp_store();
    assert_eq!(store.audit_head().expect("reads"), None);
    let head = Head {
        seq: 4,
        hash: "cd".repeat(32),
    };
    store.set_audit_head(&head).expect("sets");
    store.set_audit_head(&head).expect("sets again");
    assert_eq!(store.audit_head().expect("reads"), Some(head));
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let cp = Checkpoint::sign(4, &"cd".repeat(32), ts(1), &key).expect("signs");
    store.insert_checkpoint(&cp).expect("stores");
    let back = store.checkpoints().expect("reads");
    assert_eq!(back, vec![cp]);
    back[0]
        .verify(&key.verifying_key())
        .expect("still verifies");
}
