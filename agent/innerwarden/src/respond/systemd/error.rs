//! Errors of the systemd responder.

use super::NAME;
use crate::respond::RespondError;

#[derive(Debug, thiserror::Error)]
pub enum SystemdError {
    #[error("starting the D-Bus runtime")]
    Runtime {
        #[source]
        source: std::io::Error,
    },
    #[error("connecting to the system bus")]
    Connect {
        #[source]
        source: zbus::Error,
    },
    #[error("{method} on {target}")]
    Call {
        method: &'static str,
        target: String,
        #[source]
        source: Box<zbus::Error>,
    },
    #[error("property {property} of {unit} has an unexpected type")]
    PropertyType {
        unit: String,
        property: &'static str,
    },
    #[error(
        "unit {unit} has no cgroup interface (not a service, scope, slice, socket, mount or swap)"
    )]
    NoCgroup { unit: String },
    #[error("previous values of {unit} unknown (agent restarted?): revert with the ledger's Undo")]
    UndoUnknown { unit: String },
}

impl From<SystemdError> for RespondError {
    fn from(e: SystemdError) -> Self {
        RespondError::Failed {
            responder: NAME,
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}
