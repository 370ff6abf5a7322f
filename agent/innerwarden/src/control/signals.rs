//! Emitting `IncidentRaised` and `ActionTaken`.
//!
//! Signals are notifications: the store and the audit log are the record. So the pipeline thread
//! offers them to a bounded queue ([`SignalSender::offer`]) that never blocks detection; a full
//! queue drops and counts (`dbus_signals_dropped_total`). A forwarder task on the runtime puts
//! them on the bus.

use serde_json::Value;
use zbus::Connection;
use zbus::object_server::SignalEmitter;

use super::OBJECT_PATH;
use super::iface::Agent1;
use crate::channel::{Closed, CountedSender, DropCounter, bounded};

/// A signal to emit, with its JSON payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    IncidentRaised { id: i64, json: Value },
    ActionTaken { id: i64, json: Value },
}

/// Emits signals from the agent object on one connection.
#[derive(Debug, Clone)]
pub struct Signals {
    connection: Connection,
}

impl Signals {
    pub fn new(connection: Connection) -> Self {
        Self { connection }
    }

    pub async fn emit(&self, signal: &Signal) -> zbus::Result<()> {
        let emitter = SignalEmitter::new(&self.connection, OBJECT_PATH)?;
        match signal {
            Signal::IncidentRaised { id, json } => {
                Agent1::incident_raised(&emitter, *id, &json.to_string()).await
            }
            Signal::ActionTaken { id, json } => {
                Agent1::action_taken(&emitter, *id, &json.to_string()).await
            }
        }
    }

    pub async fn incident_raised(&self, id: i64, json: Value) -> zbus::Result<()> {
        self.emit(&Signal::IncidentRaised { id, json }).await
    }

    pub async fn action_taken(&self, id: i64, json: Value) -> zbus::Result<()> {
        self.emit(&Signal::ActionTaken { id, json }).await
    }
}

/// A cheap, clonable handle for plain threads.
#[derive(Debug, Clone)]
pub struct SignalSender {
    tx: CountedSender<Signal>,
}

impl SignalSender {
    /// Queue a signal without waiting; `Ok(false)` means the queue was full and it was dropped
    /// (counted). `Err` means the forwarder has stopped (the runtime is shutting down).
    pub fn offer(&self, signal: Signal) -> Result<bool, Closed> {
        self.tx.offer(signal)
    }

    pub fn drops(&self) -> &DropCounter {
        self.tx.drops()
    }
}

/// Start the forwarder on the current tokio runtime.
pub fn spawn_forwarder(signals: Signals, capacity: usize) -> SignalSender {
    let (tx, mut rx) = bounded("dbus_signals", capacity);
    tokio::spawn(async move {
        while let Some(sig) = rx.recv().await {
            if let Err(e) = signals.emit(&sig).await {
                tracing::warn!(error = %e, "emitting D-Bus signal failed");
            }
        }
    });
    SignalSender { tx }
}
