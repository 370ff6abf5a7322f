//! The `org.innerwarden.Agent1` interface. Each handler validates its arguments, turns the call
//! into a [`Command`] and waits for the [`super::ControlLoop`]'s reply; no state lives here.

use std::str::FromStr;

use innerwarden_core::decide::config::{Cidr, Mode};
use innerwarden_core::model::file::Label;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use zbus::Connection;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;

use super::ControlError;
use super::auth::Caller;
use super::command::{Command, Reply};

/// Largest `limit` a list method honours (bounds the reply size).
pub const MAX_LIMIT: u32 = 10_000;

/// The D-Bus errors of the interface: `org.innerwarden.Error.<Variant>`.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.innerwarden.Error")]
pub enum Agent1Error {
    #[zbus(error)]
    ZBus(zbus::Error),
    NotFound(String),
    InvalidArgument(String),
    AccessDenied(String),
    Failed(String),
}

impl From<ControlError> for Agent1Error {
    fn from(e: ControlError) -> Self {
        let text = e.to_string();
        match e {
            ControlError::NotFound { .. } => Agent1Error::NotFound(text),
            ControlError::InvalidArgument { .. } => Agent1Error::InvalidArgument(text),
            ControlError::AccessDenied { .. } => Agent1Error::AccessDenied(text),
            ControlError::Failed { .. } => Agent1Error::Failed(text),
        }
    }
}

/// The wire form of a mode: `dry_run` or `enforce`.
pub fn parse_mode(s: &str) -> Result<Mode, ControlError> {
    match s {
        "dry_run" => Ok(Mode::DryRun),
        "enforce" => Ok(Mode::Enforce),
        other => Err(ControlError::invalid(format!(
            "mode {other:?}: expected \"dry_run\" or \"enforce\""
        ))),
    }
}

pub fn mode_str(m: Mode) -> &'static str {
    match m {
        Mode::DryRun => "dry_run",
        Mode::Enforce => "enforce",
    }
}

/// The wire form of a verdict: `benign` or `malicious`.
pub fn parse_verdict(s: &str) -> Result<Label, ControlError> {
    match s {
        "benign" => Ok(Label::Benign),
        "malicious" => Ok(Label::Malicious),
        other => Err(ControlError::invalid(format!(
            "verdict {other:?}: expected \"benign\" or \"malicious\""
        ))),
    }
}

fn parse_target(address: &str) -> Result<Cidr, ControlError> {
    Cidr::from_str(address).map_err(|e| ControlError::invalid(e.to_string()))
}

/// The exported object. Holds only the sender to the control loop.
#[derive(Debug, Clone)]
pub struct Agent1 {
    commands: mpsc::Sender<Command>,
}

impl Agent1 {
    pub fn new(commands: mpsc::Sender<Command>) -> Self {
        Self { commands }
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, Agent1Error> {
        let (tx, rx) = oneshot::channel();
        let gone = || Agent1Error::Failed("the control loop has stopped".to_owned());
        self.commands.send(make(tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?.map_err(Agent1Error::from)
    }

    async fn ask_json(
        &self,
        make: impl FnOnce(Reply<Value>) -> Command,
    ) -> Result<String, Agent1Error> {
        let v = self.ask(make).await?;
        serde_json::to_string(&v).map_err(|e| Agent1Error::Failed(e.to_string()))
    }
}

fn caller(conn: &Connection, hdr: &Header<'_>) -> Caller {
    Caller {
        connection: conn.clone(),
        sender: hdr.sender().map(|s| s.to_owned().into()),
    }
}

#[zbus::interface(name = "org.innerwarden.Agent1")]
impl Agent1 {
    /// Agent status as JSON: pid, version, mode, sensors, kernel programs.
    async fn status(&self) -> Result<String, Agent1Error> {
        self.ask_json(|reply| Command::Status { reply }).await
    }

    /// The newest `limit` incidents as a JSON array, newest first.
    async fn list_incidents(&self, limit: u32) -> Result<String, Agent1Error> {
        let limit = limit.min(MAX_LIMIT);
        self.ask_json(|reply| Command::ListIncidents { limit, reply })
            .await
    }

    /// One incident with its findings as JSON.
    async fn get_incident(&self, id: i64) -> Result<String, Agent1Error> {
        self.ask_json(|reply| Command::GetIncident { id, reply })
            .await
    }

    /// The newest `limit` actions (enforced and dry-run) as a JSON array.
    async fn list_actions(&self, limit: u32) -> Result<String, Agent1Error> {
        let limit = limit.min(MAX_LIMIT);
        self.ask_json(|reply| Command::ListActions { limit, reply })
            .await
    }

    /// Block an address or CIDR prefix for `ttl_secs` (> 0). Returns the action id.
    /// Root or the admin group only.
    async fn block(
        &self,
        address: String,
        ttl_secs: u64,
        reason: String,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<i64, Agent1Error> {
        let target = parse_target(&address)?;
        if ttl_secs == 0 {
            return Err(ControlError::invalid("ttl_secs must be > 0: every block expires").into());
        }
        let caller = caller(conn, &hdr);
        self.ask(|reply| Command::Block {
            target,
            ttl_secs,
            reason,
            caller,
            reply,
        })
        .await
    }

    /// Remove a block. Returns false if none was in force. Root or the admin group only.
    async fn unblock(
        &self,
        address: String,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<bool, Agent1Error> {
        let target = parse_target(&address)?;
        let caller = caller(conn, &hdr);
        self.ask(|reply| Command::Unblock {
            target,
            caller,
            reply,
        })
        .await
    }

    /// Undo one action of the ledger (by the id `ListActions` shows) before its TTL. Returns
    /// false if it was not in force. A kill cannot be undone. Root or the admin group only.
    async fn revert(
        &self,
        action_id: i64,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<bool, Agent1Error> {
        let caller = caller(conn, &hdr);
        self.ask(|reply| Command::Revert {
            id: action_id,
            caller,
            reply,
        })
        .await
    }

    /// Switch between "dry_run" and "enforce". Root or the admin group only.
    async fn set_mode(
        &self,
        mode: String,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), Agent1Error> {
        let mode = parse_mode(&mode)?;
        let caller = caller(conn, &hdr);
        self.ask(|reply| Command::SetMode {
            mode,
            caller,
            reply,
        })
        .await
    }

    /// An operator's verdict on an incident: "benign" (a false positive) or "malicious".
    /// Audited, stored, and learned from at the next retrain. Returns the feedback id.
    /// Root or the admin group only.
    async fn feedback(
        &self,
        incident_id: i64,
        verdict: String,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<i64, Agent1Error> {
        let verdict = parse_verdict(&verdict)?;
        let caller = caller(conn, &hdr);
        self.ask(|reply| Command::Feedback {
            incident_id,
            verdict,
            caller,
            reply,
        })
        .await
    }

    /// "dry_run" or "enforce".
    async fn get_mode(&self) -> Result<String, Agent1Error> {
        let m = self.ask(|reply| Command::GetMode { reply }).await?;
        Ok(mode_str(m).to_owned())
    }

    /// Verify the audit log; JSON with `ok` and either the report or the first bad record.
    async fn verify_audit(&self) -> Result<String, Agent1Error> {
        self.ask_json(|reply| Command::VerifyAudit { reply }).await
    }

    /// A new incident was opened (`json`: the incident as `GetIncident` returns it).
    #[zbus(signal)]
    pub async fn incident_raised(
        emitter: &SignalEmitter<'_>,
        id: i64,
        json: &str,
    ) -> zbus::Result<()>;

    /// An action was taken or recorded as dry-run (`json`: the action row).
    #[zbus(signal)]
    pub async fn action_taken(emitter: &SignalEmitter<'_>, id: i64, json: &str)
    -> zbus::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_and_reject_others() {
        for m in [Mode::DryRun, Mode::Enforce] {
            assert_eq!(parse_mode(mode_str(m)), Ok(m));
        }
        assert!(matches!(
            parse_mode("yolo"),
            Err(ControlError::InvalidArgument { .. })
        ));
    }

    #[test]
    fn verdicts_parse_and_reject_others() {
        assert_eq!(parse_verdict("benign"), Ok(Label::Benign));
        assert_eq!(parse_verdict("malicious"), Ok(Label::Malicious));
        assert!(matches!(
            parse_verdict("meh"),
            Err(ControlError::InvalidArgument { .. })
        ));
    }

    #[test]
    fn errors_map_to_their_dbus_names() {
        use zbus::DBusError;
        let cases = [
            (
                ControlError::NotFound { what: "x".into() },
                "org.innerwarden.Error.NotFound",
            ),
            (
                ControlError::invalid("x"),
                "org.innerwarden.Error.InvalidArgument",
            ),
            (
                ControlError::AccessDenied {
                    uid: 7,
                    group: "g".into(),
                },
                "org.innerwarden.Error.AccessDenied",
            ),
            (ControlError::failed("x"), "org.innerwarden.Error.Failed"),
        ];
        for (e, name) in cases {
            assert_eq!(Agent1Error::from(e).name().as_str(), name);
        }
    }
}
