//! The operator's half of the response stage: a manual block, unblock, and revert of one
//! ledger action (D-Bus `Block`, `Unblock`, `Revert`).

use chrono::Utc;
use innerwarden_core::audit::AuditKind;
use innerwarden_core::decide::action::Action;
use innerwarden_core::decide::guard;
use innerwarden_core::decide::score::IncidentView;
use innerwarden_core::finding::Entity;
use serde_json::json;

use super::{AuditWrite, ResponseStage};
use crate::store::Store;
use crate::store::actions::{ActionRow, ActionState};

impl ResponseStage {
    /// An operator's block: recorded (`action` with `manual`), carried out, put in the ledger.
    /// It bypasses scoring, not the guards: loopback, management networks and live admin
    /// sessions are still refused.
    pub fn manual_block(
        &mut self,
        action: &Action,
        reason: &str,
        caller_uid: u32,
        store: &Store,
        audit: &mut dyn AuditWrite,
    ) -> anyhow::Result<i64> {
        let view = IncidentView {
            id: 0,
            entity: Entity::User {
                name: format!("uid:{caller_uid}"),
            },
            findings: Vec::new(),
            unit: None,
            user: None,
            uid: None,
            context: Default::default(),
            peers: Vec::new(),
        };
        if let Some(hit) = guard::check(action, &view, self.decider.config(), &self.host_context())
        {
            anyhow::bail!("refused by a guard: {}", serde_json::to_string(&hit)?);
        }
        let seq = audit.audit(
            AuditKind::Action,
            json!({"manual": true, "caller_uid": caller_uid, "reason": reason,
                   "action": action, "kind": action.kind(), "target": action.target(),
                   "ttl_secs": action.ttl_secs(), "reversal": action.reversal(), "dry_run": false}),
        )?;
        let now = Utc::now();
        let id = store.insert_action(
            None,
            action,
            false,
            ActionState::Planned,
            Some(seq),
            reason,
            now,
        )?;
        match self.responders.apply(action) {
            Ok(applied) => {
                store.set_action_applied(id, &applied.detail)?;
                Ok(id)
            }
            Err(e) => {
                store.set_action_state(id, ActionState::Failed)?;
                audit.audit(
                    AuditKind::ActionFailed,
                    json!({"action_id": id, "action": action, "error": e.to_string()}),
                )?;
                Err(anyhow::anyhow!("{e}"))
            }
        }
    }

    /// Lift every active block / rate limit whose target is `target` (`a.b.c.d` or `a.b.c.d/n`).
    /// True when something was lifted.
    pub fn unblock(
        &mut self,
        target: &str,
        caller_uid: u32,
        store: &Store,
        audit: &mut dyn AuditWrite,
    ) -> anyhow::Result<bool> {
        let bare = target.split('/').next().unwrap_or(target);
        let mut lifted = false;
        for row in store.active_actions(Utc::now())? {
            let matches = match &row.action {
                Action::Block { addr, prefix, .. } => {
                    row.action.target() == target
                        || (addr.to_string() == bare && (*prefix == 32 || *prefix == 128))
                }
                Action::RateLimit { addr, .. } => addr.to_string() == bare,
                _ => false,
            };
            if matches {
                self.revert_row(&row, caller_uid, store, audit)?;
                lifted = true;
            }
        }
        Ok(lifted)
    }

    /// Undo one action of the ledger before its TTL (`innerwarden revert ID`): thaw and restore a
    /// quarantined unit, lift a throttle, an exec deny, a block or a rate limit. False when the
    /// action is not in force (already expired or reverted, dry-run, or unknown); an error for
    /// a kill, which cannot be undone.
    pub fn revert(
        &mut self,
        id: i64,
        caller_uid: u32,
        store: &Store,
        audit: &mut dyn AuditWrite,
    ) -> anyhow::Result<bool> {
        let Some(row) = store.action(id)? else {
            return Ok(false);
        };
        if matches!(row.action, Action::Kill { .. }) {
            anyhow::bail!("action {id} is a kill: a killed process cannot be brought back");
        }
        let in_force =
            row.state == ActionState::Applied && row.expires_at.is_some_and(|e| e > Utc::now());
        if !in_force {
            return Ok(false);
        }
        self.revert_row(&row, caller_uid, store, audit)?;
        Ok(true)
    }

    /// Undo one ledger row for an operator, with the detail its responder recorded; mark it
    /// reverted and audit it.
    fn revert_row(
        &mut self,
        row: &ActionRow,
        caller_uid: u32,
        store: &Store,
        audit: &mut dyn AuditWrite,
    ) -> anyhow::Result<()> {
        let applied = self
            .responders
            .revert_with(&row.action, row.applied_detail.as_deref())
            .map(|a| a.detail)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        store.set_action_state(row.id, ActionState::Reverted)?;
        audit.audit(
            AuditKind::ActionReverted,
            json!({"action_id": row.id, "action": row.action, "reason": "operator",
                   "caller_uid": caller_uid, "by": applied}),
        )?;
        Ok(())
    }
}
