//! [`Command`]: one D-Bus method call on its way to the [`ControlLoop`], the one owner of the
//! backend and the authorization policy. Calls are handled in arrival order, one at a time.

use innerwarden_core::decide::config::{Cidr, Mode};
use innerwarden_core::model::file::Label;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::ControlError;
use super::auth::{Authorizer, Caller};
use super::backend::{BlockRequest, ControlBackend};

/// The reply channel of one command.
pub type Reply<T> = oneshot::Sender<Result<T, ControlError>>;

/// A method call. Mutating commands carry the [`Caller`] so the loop can authorize them.
#[derive(Debug)]
pub enum Command {
    Status {
        reply: Reply<Value>,
    },
    ListIncidents {
        limit: u32,
        reply: Reply<Value>,
    },
    GetIncident {
        id: i64,
        reply: Reply<Value>,
    },
    ListActions {
        limit: u32,
        reply: Reply<Value>,
    },
    Block {
        target: Cidr,
        ttl_secs: u64,
        reason: String,
        caller: Caller,
        reply: Reply<i64>,
    },
    Unblock {
        target: Cidr,
        caller: Caller,
        reply: Reply<bool>,
    },
    Revert {
        id: i64,
        caller: Caller,
        reply: Reply<bool>,
    },
    SetMode {
        mode: Mode,
        caller: Caller,
        reply: Reply<()>,
    },
    GetMode {
        reply: Reply<Mode>,
    },
    Feedback {
        incident_id: i64,
        verdict: Label,
        caller: Caller,
        reply: Reply<i64>,
    },
    VerifyAudit {
        reply: Reply<Value>,
    },
}

/// Owns the backend; handles commands until every sender (the interface object) is gone.
pub struct ControlLoop<B> {
    backend: B,
    auth: Authorizer,
    rx: mpsc::Receiver<Command>,
}

impl<B: ControlBackend> ControlLoop<B> {
    pub fn new(backend: B, auth: Authorizer, rx: mpsc::Receiver<Command>) -> Self {
        Self { backend, auth, rx }
    }

    /// Handle commands in order. A caller that gave up (dropped its reply) is ignored.
    pub async fn run(mut self) {
        while let Some(cmd) = self.rx.recv().await {
            self.handle(cmd).await;
        }
        tracing::debug!("control loop: interface gone, stopping");
    }

    async fn handle(&mut self, cmd: Command) {
        let b = &mut self.backend;
        // A send error only means the caller went away; nothing to do about it.
        match cmd {
            Command::Status { reply } => drop(reply.send(b.status())),
            Command::ListIncidents { limit, reply } => drop(reply.send(b.incidents(limit))),
            Command::GetIncident { id, reply } => drop(reply.send(b.incident(id))),
            Command::ListActions { limit, reply } => drop(reply.send(b.actions(limit))),
            Command::GetMode { reply } => drop(reply.send(b.get_mode())),
            Command::VerifyAudit { reply } => drop(reply.send(b.verify_audit())),
            Command::Block {
                target,
                ttl_secs,
                reason,
                caller,
                reply,
            } => {
                let res = match self.auth.require_admin(&caller).await {
                    Ok(caller_uid) => {
                        tracing::info!(%target, ttl_secs, caller_uid, %reason, "control: block");
                        self.backend.block(BlockRequest {
                            target,
                            ttl_secs,
                            reason,
                            caller_uid,
                        })
                    }
                    Err(e) => Err(denied(e, "Block")),
                };
                drop(reply.send(res));
            }
            Command::Unblock {
                target,
                caller,
                reply,
            } => {
                let res = match self.auth.require_admin(&caller).await {
                    Ok(uid) => {
                        tracing::info!(%target, caller_uid = uid, "control: unblock");
                        self.backend.unblock(target, uid)
                    }
                    Err(e) => Err(denied(e, "Unblock")),
                };
                drop(reply.send(res));
            }
            Command::Revert { id, caller, reply } => {
                let res = match self.auth.require_admin(&caller).await {
                    Ok(uid) => {
                        tracing::info!(id, caller_uid = uid, "control: revert");
                        self.backend.revert(id, uid)
                    }
                    Err(e) => Err(denied(e, "Revert")),
                };
                drop(reply.send(res));
            }
            Command::Feedback {
                incident_id,
                verdict,
                caller,
                reply,
            } => {
                let res = match self.auth.require_admin(&caller).await {
                    Ok(uid) => {
                        tracing::info!(
                            incident_id,
                            ?verdict,
                            caller_uid = uid,
                            "control: feedback"
                        );
                        self.backend.feedback(incident_id, verdict, uid)
                    }
                    Err(e) => Err(denied(e, "Feedback")),
                };
                drop(reply.send(res));
            }
            Command::SetMode {
                mode,
                caller,
                reply,
            } => {
                let res = match self.auth.require_admin(&caller).await {
                    Ok(uid) => {
                        tracing::info!(?mode, caller_uid = uid, "control: set mode");
                        self.backend.set_mode(mode, uid)
                    }
                    Err(e) => Err(denied(e, "SetMode")),
                };
                drop(reply.send(res));
            }
        }
    }
}

fn denied(e: ControlError, method: &'static str) -> ControlError {
    tracing::warn!(method, error = %e, "control: refused");
    e
}
