//! The client side: which bus to use, the typed proxy, and a small runtime for CLI commands.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use zbus::Connection;

/// How long a CLI call waits for the agent before giving up.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// `--bus system|session|ADDRESS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusChoice {
    System,
    Session,
    /// A D-Bus address such as `unix:path=/tmp/bus`.
    Address(String),
}

impl FromStr for BusChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "system" => Ok(BusChoice::System),
            "session" => Ok(BusChoice::Session),
            a if a.contains(':') && a.contains('=') => Ok(BusChoice::Address(a.to_owned())),
            other => Err(format!(
                "{other:?}: expected system, session or a D-Bus address (unix:path=...)"
            )),
        }
    }
}

impl fmt::Display for BusChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusChoice::System => f.write_str("system"),
            BusChoice::Session => f.write_str("session"),
            BusChoice::Address(a) => f.write_str(a),
        }
    }
}

/// Connect to the chosen bus.
pub async fn connect(bus: &BusChoice) -> zbus::Result<Connection> {
    let builder = match bus {
        BusChoice::System => zbus::connection::Builder::system()?,
        BusChoice::Session => zbus::connection::Builder::session()?,
        BusChoice::Address(a) => zbus::connection::Builder::address(a.as_str())?,
    };
    builder.method_timeout(CALL_TIMEOUT).build().await
}

/// The typed client of `org.innerwarden.Agent1` (generates `Agent1ClientProxy`).
#[zbus::proxy(
    interface = "org.innerwarden.Agent1",
    default_service = "org.innerwarden.Agent1",
    default_path = "/org/innerwarden/Agent1",
    gen_blocking = false
)]
pub trait Agent1Client {
    fn status(&self) -> zbus::Result<String>;
    fn list_incidents(&self, limit: u32) -> zbus::Result<String>;
    fn get_incident(&self, id: i64) -> zbus::Result<String>;
    fn list_actions(&self, limit: u32) -> zbus::Result<String>;
    fn block(&self, address: &str, ttl_secs: u64, reason: &str) -> zbus::Result<i64>;
    fn unblock(&self, address: &str) -> zbus::Result<bool>;
    fn revert(&self, action_id: i64) -> zbus::Result<bool>;
    fn set_mode(&self, mode: &str) -> zbus::Result<()>;
    fn get_mode(&self) -> zbus::Result<String>;
    fn verify_audit(&self) -> zbus::Result<String>;
    fn feedback(&self, incident_id: i64, verdict: &str) -> zbus::Result<i64>;
    #[zbus(signal)]
    fn incident_raised(&self, id: i64, json: String) -> zbus::Result<()>;
    #[zbus(signal)]
    fn action_taken(&self, id: i64, json: String) -> zbus::Result<()>;
}

/// Connect and build the proxy.
pub async fn agent(bus: &BusChoice) -> anyhow::Result<Agent1ClientProxy<'static>> {
    let conn = connect(bus)
        .await
        .with_context(|| format!("connecting to the {bus} bus"))?;
    Agent1ClientProxy::new(&conn)
        .await
        .context("creating the org.innerwarden.Agent1 proxy")
}

/// Run one client future on a small current-thread runtime (CLI commands are one-shot).
pub fn block_on<T>(fut: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(fut)
}

/// A readable message for a failed call: the D-Bus error name and its text.
pub fn describe(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, Some(text), _) => format!("{name}: {text}"),
        zbus::Error::MethodError(name, None, _) => name.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bus_choices() {
        assert_eq!("system".parse(), Ok(BusChoice::System));
        assert_eq!("session".parse(), Ok(BusChoice::Session));
        assert_eq!(
            "unix:path=/tmp/x".parse(),
            Ok(BusChoice::Address("unix:path=/tmp/x".into()))
        );
        assert!("bogus".parse::<BusChoice>().is_err());
    }
}
