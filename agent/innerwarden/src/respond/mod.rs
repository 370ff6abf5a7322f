//! Responders: the edges that carry out a [`Decision`](innerwarden_core::decide::Decision)'s
//! enforced actions through the host's own machinery, and undo them.
//!
//! Dry-run is decided in `innerwarden_core::decide`, never here: a responder is only handed
//! actions to enforce. Each responder handles some [`ActionKind`]s; the dispatcher in
//! [`Responders`] routes an action to the first responder that handles its kind.
//!
//! TTLs are enforced by the kernel where it can (nft set element timeouts); for the others the
//! action ledger in SQLite records `expires_at` and the agent's slow loop reverts what is due.

pub mod guard;
pub mod lsm;
mod lsm_btf;
pub mod nft;
pub mod pidfd;
pub mod stage;
pub mod systemd;
pub mod worker;

use innerwarden_core::decide::action::{Action, ActionKind};

/// What a responder did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// One line for the audit record and the ledger (`added 203.0.113.5 to set ...`).
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RespondError {
    #[error("no responder handles {kind} actions on this host")]
    Unsupported { kind: ActionKind },
    #[error("the target no longer exists: {target}")]
    TargetGone { target: String },
    #[error("{responder}: {message}")]
    Failed {
        responder: &'static str,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// One way of acting on the host.
pub trait Responder: Send {
    /// Short name for logs and audit records (`nftables`, `pidfd`, `systemd`).
    fn name(&self) -> &'static str;
    /// The action kinds this responder carries out.
    fn kinds(&self) -> &'static [ActionKind];
    /// Enforce `action`. Must be idempotent: re-applying an active action is not an error.
    fn apply(&mut self, action: &Action) -> Result<Applied, RespondError>;
    /// Undo `action` (before its TTL). Undoing what is no longer in force is not an error.
    fn revert(&mut self, action: &Action) -> Result<Applied, RespondError>;
    /// Undo `action` given the detail its `apply` returned (kept in the ledger), so a
    /// restarted agent can restore what it changed. Defaults to [`Self::revert`].
    fn revert_with(
        &mut self,
        action: &Action,
        _applied_detail: Option<&str>,
    ) -> Result<Applied, RespondError> {
        self.revert(action)
    }
    /// Periodic check that what the ledger says is in force still is (`active`: applied,
    /// unexpired actions with their remaining TTL). Returns what had to be restored, if anything.
    fn maintain(&mut self, _active: &[Action]) -> Option<String> {
        None
    }
}

/// The responders available on this host.
#[derive(Default)]
pub struct Responders {
    list: Vec<Box<dyn Responder>>,
}

impl Responders {
    pub fn push(&mut self, r: Box<dyn Responder>) {
        self.list.push(r);
    }

    /// The kinds some responder can carry out here.
    pub fn supported(&self) -> Vec<ActionKind> {
        let mut v: Vec<ActionKind> = self
            .list
            .iter()
            .flat_map(|r| r.kinds().iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn find(&mut self, kind: ActionKind) -> Result<&mut Box<dyn Responder>, RespondError> {
        self.list
            .iter_mut()
            .find(|r| r.kinds().contains(&kind))
            .ok_or(RespondError::Unsupported { kind })
    }

    pub fn apply(&mut self, action: &Action) -> Result<Applied, RespondError> {
        self.find(action.kind())?.apply(action)
    }

    pub fn revert(&mut self, action: &Action) -> Result<Applied, RespondError> {
        self.find(action.kind())?.revert(action)
    }

    pub fn revert_with(
        &mut self,
        action: &Action,
        applied_detail: Option<&str>,
    ) -> Result<Applied, RespondError> {
        self.find(action.kind())?
            .revert_with(action, applied_detail)
    }

    /// Run every responder's [`Responder::maintain`]; the notes of those that restored something.
    pub fn maintain(&mut self, active: &[Action]) -> Vec<String> {
        self.list
            .iter_mut()
            .filter_map(|r| r.maintain(active))
            .collect()
    }
}
