//! The action ledger: every planned, applied, dry-run, failed, reverted or expired action, with
//! its typed [`Action`] (as JSON), its expiry and its audit record.
//!
//! The slow loop reads it twice: [`Store::active_actions`] (applied, not yet expired, with the
//! TTL that is left) to re-assert kernel state such as nft set elements after a
//! `nft flush ruleset`, and [`Store::due_for_revert`] for the actions whose TTL no kernel
//! enforces.

use std::fmt;

use chrono::{DateTime, Utc};
use innerwarden_core::decide::action::Action;
use rusqlite::{Row, params};

use super::{Store, StoreError, from_ns, seq_from_sql, seq_to_sql, to_ns};

/// Where an action is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    /// Decided, not yet carried out.
    Planned,
    /// In force on the host.
    Applied,
    /// Recorded only (dry-run): nothing was executed.
    DryRun,
    /// The responder failed.
    Failed,
    /// Undone before its TTL.
    Reverted,
    /// Its TTL ran out.
    Expired,
}

impl ActionState {
    pub const ALL: [ActionState; 6] = [
        ActionState::Planned,
        ActionState::Applied,
        ActionState::DryRun,
        ActionState::Failed,
        ActionState::Reverted,
        ActionState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Planned => "planned",
            ActionState::Applied => "applied",
            ActionState::DryRun => "dry_run",
            ActionState::Failed => "failed",
            ActionState::Reverted => "reverted",
            ActionState::Expired => "expired",
        }
    }

    fn parse(s: String) -> Result<ActionState, StoreError> {
        ActionState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or(StoreError::Corrupt {
                table: "actions",
                column: "state",
                value: s,
            })
    }
}

impl fmt::Display for ActionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One ledger row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ActionRow {
    pub id: i64,
    pub incident_id: Option<i64>,
    /// The action as recorded; from [`Store::active_actions`] its TTL is the time left.
    pub action: Action,
    pub dry_run: bool,
    pub state: ActionState,
    pub created_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub audit_seq: Option<u64>,
    pub reason: String,
    /// What the responder reported when it applied the action (the undo it needs, if any).
    pub applied_detail: Option<String>,
}

const COLS: &str = "id, incident_id, action_json, dry_run, state, created_at, expires_at, \
                    audit_seq, reason, applied_detail";

type Raw = (
    i64,
    Option<i64>,
    Option<String>,
    bool,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
);

fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
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
    ))
}

fn to_row(raw: Raw) -> Result<ActionRow, StoreError> {
    let (id, incident_id, json, dry_run, state, created, expires, seq, reason, applied_detail) =
        raw;
    let json = json.ok_or(StoreError::Corrupt {
        table: "actions",
        column: "action_json",
        value: "NULL".to_owned(),
    })?;
    let action = serde_json::from_str(&json).map_err(|source| StoreError::Json {
        what: "actions.action_json",
        source,
    })?;
    Ok(ActionRow {
        id,
        incident_id,
        action,
        dry_run,
        state: ActionState::parse(state)?,
        created_at: created.map(from_ns),
        expires_at: expires.map(from_ns),
        audit_seq: seq
            .map(|s| seq_from_sql("actions", "audit_seq", s))
            .transpose()?,
        reason,
        applied_detail,
    })
}

/// `action` with its TTL replaced (kills have none and are returned unchanged).
pub fn with_ttl(action: &Action, secs: u64) -> Action {
    let mut a = action.clone();
    match &mut a {
        Action::Block { ttl_secs, .. }
        | Action::RateLimit { ttl_secs, .. }
        | Action::Quarantine { ttl_secs, .. }
        | Action::Throttle { ttl_secs, .. }
        | Action::DenyExec { ttl_secs, .. }
        | Action::DenyFileless { ttl_secs, .. } => *ttl_secs = secs,
        Action::Kill { .. } => {}
    }
    a
}

const NS_PER_SEC: i64 = 1_000_000_000;

impl Store {
    /// Record an action; returns its ledger id. `expires_at` is `now + ttl` for actions with a
    /// TTL.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_action(
        &self,
        incident_id: Option<i64>,
        action: &Action,
        dry_run: bool,
        state: ActionState,
        audit_seq: Option<u64>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let now_ns = to_ns(&now)?;
        let ttl = action.ttl_secs();
        let expires = ttl.map(|t| {
            now_ns.saturating_add(
                i64::try_from(t)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(NS_PER_SEC),
            )
        });
        let json = serde_json::to_string(action).map_err(|source| StoreError::Json {
            what: "actions.action_json",
            source,
        })?;
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO actions (incident_id, kind, target, dry_run, ttl_secs, expires_at, state, \
             audit_seq, reason, action_json, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                incident_id,
                action.kind().name(),
                action.target(),
                dry_run,
                ttl.map(seq_to_sql),
                expires,
                state.as_str(),
                audit_seq.map(seq_to_sql),
                reason,
                json,
                now_ns,
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Mark an action applied and keep what the responder reported (the undo it needs).
    pub fn set_action_applied(&self, id: i64, detail: &str) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        let n = conn.execute(
            "UPDATE actions SET state = 'applied', applied_detail = ?2 WHERE id = ?1",
            params![id, detail],
        )?;
        Ok(n > 0)
    }

    /// Move an action to `state`; false when no action has that id.
    pub fn set_action_state(&self, id: i64, state: ActionState) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        let n = conn.execute(
            "UPDATE actions SET state = ?2 WHERE id = ?1",
            params![id, state.as_str()],
        )?;
        Ok(n > 0)
    }

    /// Applied actions that have not expired at `now`, each with its TTL reduced to the whole
    /// seconds left, rounded up (a re-asserted element outlives its ledger expiry by under a
    /// second, never expires early). Oldest first.
    pub fn active_actions(&self, now: DateTime<Utc>) -> Result<Vec<ActionRow>, StoreError> {
        let now_ns = to_ns(&now)?;
        let rows = self.query(
            "state = 'applied' AND expires_at > ?1 ORDER BY id",
            params![now_ns],
        )?;
        Ok(rows
            .into_iter()
            .map(|mut r| {
                if let Some(exp) = r.expires_at.as_ref().and_then(|e| to_ns(e).ok()) {
                    let left = exp.saturating_sub(now_ns);
                    let secs = left / NS_PER_SEC + i64::from(left % NS_PER_SEC != 0);
                    r.action = with_ttl(&r.action, u64::try_from(secs).unwrap_or(0));
                }
                r
            })
            .collect())
    }

    /// Applied actions whose TTL has run out at `now` (to revert where the kernel does not,
    /// and to mark expired). Oldest first.
    pub fn due_for_revert(&self, now: DateTime<Utc>) -> Result<Vec<ActionRow>, StoreError> {
        let now_ns = to_ns(&now)?;
        self.query(
            "state = 'applied' AND expires_at <= ?1 ORDER BY id",
            params![now_ns],
        )
    }

    /// The newest `limit` actions, newest first.
    /// One action by id, whatever its state.
    pub fn action(&self, id: i64) -> Result<Option<ActionRow>, StoreError> {
        Ok(self.query("id = ?1", params![id])?.into_iter().next())
    }

    pub fn list_actions(&self, limit: usize) -> Result<Vec<ActionRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query("1 ORDER BY id DESC LIMIT ?1", params![limit])
    }

    fn query(
        &self,
        filter: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<ActionRow>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(&format!("SELECT {COLS} FROM actions WHERE {filter}"))?;
        let raws = stmt.query_map(args, raw)?.collect::<Result<Vec<_>, _>>()?;
        raws.into_iter().map(to_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000 + secs, 500_000_000).expect("in range")
    }

    fn block(ttl: u64) -> Action {
        Action::Block {
            addr: "203.0.113.7".parse().unwrap(),
            prefix: 32,
            ttl_secs: ttl,
        }
    }

    #[test]
    fn ledger_round_trip_and_remaining_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db")).unwrap();
        let a = store
            .insert_action(
                None,
                &block(60),
                false,
                ActionState::Applied,
                Some(9),
                "ssh brute force",
                t(0),
            )
            .unwrap();
        let dry = store
            .insert_action(
                None,
                &block(60),
                true,
                ActionState::DryRun,
                None,
                "dry",
                t(0),
            )
            .unwrap();
        let kill = Action::Kill {
            pid: 42,
            start_ns: 1,
            exe: "/tmp/x".into(),
            tree: false,
        };
        store
            .insert_action(
                None,
                &kill,
                false,
                ActionState::Applied,
                None,
                "miner",
                t(0),
            )
            .unwrap();

        let active = store
            .active_actions(t(20) + Duration::milliseconds(250))
            .unwrap();
        assert_eq!(
            active.len(),
            1,
            "dry-run and TTL-less actions are not active"
        );
        assert_eq!(active[0].id, a);
        assert_eq!(active[0].action, block(40), "40 s left (39.75 rounded up)");
        assert_eq!(active[0].audit_seq, Some(9));
        assert_eq!(active[0].expires_at, Some(t(60)));

        assert!(store.due_for_revert(t(59)).unwrap().is_empty());
        let due = store.due_for_revert(t(60)).unwrap();
        assert_eq!(due.iter().map(|r| r.id).collect::<Vec<_>>(), vec![a]);
        assert_eq!(
            due[0].action,
            block(60),
            "due rows keep the recorded action"
        );

        assert!(store.set_action_state(a, ActionState::Expired).unwrap());
        assert!(!store.set_action_state(9999, ActionState::Expired).unwrap());
        assert!(store.active_actions(t(1)).unwrap().is_empty());

        let all = store.list_actions(10).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[1].id, dry);
        assert_eq!((all[1].state, all[1].dry_run), (ActionState::DryRun, true));
        assert_eq!(all[2].state, ActionState::Expired);
        assert_eq!(store.list_actions(1).unwrap().len(), 1);
    }

    #[test]
    fn state_names_round_trip() {
        for s in ActionState::ALL {
            assert_eq!(ActionState::parse(s.as_str().to_owned()).unwrap(), s);
        }
        assert!(ActionState::parse("bogus".into()).is_err());
    }
}
