//! The control plane: the D-Bus service `org.innerwarden.Agent1` at `/org/innerwarden/Agent1`.
//!
//! Shape (as in oo7): the `#[zbus::interface]` object ([`iface::Agent1`]) holds nothing but a
//! bounded sender; each method call becomes a [`Command`] with a oneshot reply, handled by the
//! one [`ControlLoop`] that owns the state (the [`ControlBackend`] and the [`Authorizer`]).
//! Mutating methods are authorized in that loop (root or the admin group), beside the bus
//! policy, so a loose policy file is not enough to take over the agent.
//!
//! # Layout
//! - [`backend`]: the [`ControlBackend`] trait the agent implements, and [`StoreBackend`]
//!   (store-backed reads + a [`ResponseControl`] for the mutating half).
//! - [`command`]: [`Command`] and [`ControlLoop`].
//! - [`iface`]: the D-Bus interface and its error names.
//! - [`auth`]: caller uid and admin-group checks.
//! - [`signals`]: emitting `IncidentRaised` / `ActionTaken`, also from non-async threads.
//! - [`client`]: the proxy the CLI uses, and bus selection.

pub mod auth;
pub mod backend;
pub mod bridge;
pub mod client;
pub mod command;
pub mod iface;
pub mod signals;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zbus::Connection;

pub use auth::{Authorizer, Caller, UidResolver};
pub use backend::{BlockRequest, ControlBackend, ResponseControl, StoreBackend};
pub use command::{Command, ControlLoop};
pub use iface::{Agent1, Agent1Error};
pub use signals::{Signal, SignalSender, Signals};

/// The well-known bus name.
pub const BUS_NAME: &str = "org.innerwarden.Agent1";
/// The object path of the agent object.
pub const OBJECT_PATH: &str = "/org/innerwarden/Agent1";
/// The interface name.
pub const INTERFACE: &str = "org.innerwarden.Agent1";
/// Queued method calls before callers wait (each call waits for its reply anyway).
pub const COMMAND_QUEUE: usize = 64;

/// What a control method can fail with; each variant maps to one D-Bus error name
/// (`org.innerwarden.Error.<Variant>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("invalid argument: {message}")]
    InvalidArgument { message: String },
    #[error("uid {uid} is neither root nor a member of group {group}")]
    AccessDenied { uid: u32, group: String },
    #[error("{message}")]
    Failed { message: String },
}

impl ControlError {
    pub fn failed(e: impl std::fmt::Display) -> Self {
        ControlError::Failed {
            message: e.to_string(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        ControlError::InvalidArgument {
            message: message.into(),
        }
    }
}

/// Errors setting up the service.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("connecting to the bus")]
    Connect {
        #[source]
        source: zbus::Error,
    },
    #[error("registering {path} on the bus connection")]
    Register {
        path: &'static str,
        #[source]
        source: zbus::Error,
    },
    #[error("{path} is already served on this connection")]
    AlreadyServed { path: &'static str },
    #[error("requesting bus name {name} (is another agent running, or the policy missing?)")]
    Name {
        name: &'static str,
        #[source]
        source: zbus::Error,
    },
}

/// A running control service: the connection, the loop task and the signal emitter.
#[derive(Debug)]
pub struct ControlServer {
    pub connection: Connection,
    pub task: JoinHandle<()>,
}

impl ControlServer {
    /// Emit `IncidentRaised` / `ActionTaken` from async code.
    pub fn signals(&self) -> Signals {
        Signals::new(self.connection.clone())
    }

    /// A sender for threads that are not async (the pipeline thread); see [`SignalSender`].
    pub fn signal_sender(&self, capacity: usize) -> SignalSender {
        signals::spawn_forwarder(self.signals(), capacity)
    }
}

/// Serve the agent object on `connection` (any bus, or a peer-to-peer connection) and start the
/// control loop on the current tokio runtime. Does not request a bus name.
///
/// zbus starts its method-call dispatcher asynchronously on an already built connection, so a
/// call arriving in the first instants may be missed. On a bus nobody can reach the object
/// before a name is requested (see [`serve_named`]); for peer-to-peer use [`serve_with`], which
/// registers the object before the connection exists.
pub async fn serve_on<B: ControlBackend>(
    connection: Connection,
    backend: B,
    auth: Authorizer,
) -> Result<ControlServer, ServeError> {
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let added = connection
        .object_server()
        .at(OBJECT_PATH, Agent1::new(tx))
        .await
        .map_err(|source| ServeError::Register {
            path: OBJECT_PATH,
            source,
        })?;
    if !added {
        return Err(ServeError::AlreadyServed { path: OBJECT_PATH });
    }
    let task = tokio::spawn(ControlLoop::new(backend, auth, rx).run());
    Ok(ControlServer { connection, task })
}

/// Build a connection from `builder` with the agent object registered from the start (and the
/// well-known name taken, if `name`), then start the control loop. Race-free: zbus returns the
/// connection only once its dispatcher listens.
pub async fn serve_with<B: ControlBackend>(
    builder: zbus::connection::Builder<'_>,
    backend: B,
    auth: Authorizer,
    name: Option<&'static str>,
) -> Result<ControlServer, ServeError> {
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let register = |source| ServeError::Register {
        path: OBJECT_PATH,
        source,
    };
    let mut builder = builder
        .serve_at(OBJECT_PATH, Agent1::new(tx))
        .map_err(register)?;
    if let Some(name) = name {
        builder = builder
            .name(name)
            .map_err(|source| ServeError::Name { name, source })?;
    }
    let connection = builder.build().await.map_err(|source| match name {
        Some(name) => ServeError::Name { name, source },
        None => ServeError::Connect { source },
    })?;
    let task = tokio::spawn(ControlLoop::new(backend, auth, rx).run());
    Ok(ControlServer { connection, task })
}

/// Connect to the system bus, serve the agent object and take the name `org.innerwarden.Agent1`.
pub async fn serve_system_bus<B: ControlBackend>(
    backend: B,
    auth: Authorizer,
) -> Result<ControlServer, ServeError> {
    let builder =
        zbus::connection::Builder::system().map_err(|source| ServeError::Connect { source })?;
    serve_with(builder, backend, auth, Some(BUS_NAME)).await
}

/// Serve on a bus connection and then request the well-known name (object first, so no call
/// arrives before the object exists).
pub async fn serve_named<B: ControlBackend>(
    connection: Connection,
    backend: B,
    auth: Authorizer,
) -> Result<ControlServer, ServeError> {
    let server = serve_on(connection, backend, auth).await?;
    server
        .connection
        .request_name(BUS_NAME)
        .await
        .map_err(|source| ServeError::Name {
            name: BUS_NAME,
            source,
        })?;
    Ok(server)
}
