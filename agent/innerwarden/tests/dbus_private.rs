//! The control service end to end: a private dbus-daemon, the service over an in-memory
//! backend, a zbus client calling every method and receiving both signals; the authorization
//! check refusing a non-admin; a peer-to-peer connection over `UnixStream::pair`; and the
//! `innerwarden` binary as a client (`--bus <private address>`).

mod dbus_common;

use dbus_common::{MemBackend, PrivateBus, admin_authorizer, current_uid, run_cli};
use futures_lite::StreamExt;
use innerwarden::control::client::Agent1ClientProxy;
use innerwarden::control::{
    Authorizer, BUS_NAME, OBJECT_PATH, Signal, UidResolver, serve_named, serve_with,
};
use innerwarden_core::decide::config::Mode;
use innerwarden_core::model::file::Label;
use serde_json::{Value, json};

/// Await `fut`, failing the test with the step's name instead of hanging.
async fn step<T>(name: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(10), fut)
        .await
        .unwrap_or_else(|_| panic!("{name} did not finish within 10 s"))
}

fn error_name(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        other => panic!("expected a D-Bus method error, got {other:?}"),
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("method returns JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_and_both_signals_over_a_private_bus() {
    let Some(bus) = PrivateBus::start() else {
        return;
    };
    let backend = MemBackend::default();
    let auth = admin_authorizer(bus.dir.path(), current_uid());
    let builder = zbus::connection::Builder::address(bus.address.as_str()).expect("address");
    let server = serve_with(builder, backend.clone(), auth, Some(BUS_NAME))
        .await
        .expect("serve");
    let client = bus.connect().await;
    let agent = Agent1ClientProxy::new(&client).await.expect("proxy");

    // Reads.
    let status = parse(&agent.status().await.expect("Status"));
    assert_eq!(status["pid"], json!(std::process::id()));
    assert_eq!(status["mode"], "dry_run");
    let list = parse(&agent.list_incidents(1).await.expect("ListIncidents"));
    assert_eq!(list, json!([{"id": 2, "title": "ssh brute force"}]));
    let one = parse(&agent.get_incident(1).await.expect("GetIncident"));
    assert_eq!(one["findings"][0]["id"], 10);
    let missing = agent.get_incident(99).await.expect_err("no incident 99");
    assert_eq!(error_name(&missing), "org.innerwarden.Error.NotFound");
    assert_eq!(agent.get_mode().await.expect("GetMode"), "dry_run");
    assert_eq!(
        parse(&agent.verify_audit().await.expect("VerifyAudit"))["ok"],
        true
    );

    // Writes (the caller is an admin through the fixture account files).
    agent.set_mode("enforce").await.expect("SetMode");
    assert_eq!(agent.get_mode().await.expect("GetMode"), "enforce");
    let id = agent
        .block("198.51.100.0/24", 600, "test")
        .await
        .expect("Block");
    assert_eq!(id, 1);
    let actions = parse(&agent.list_actions(10).await.expect("ListActions"));
    assert_eq!(actions[0]["target"], "198.51.100.0/24");
    assert!(agent.unblock("198.51.100.0/24").await.expect("Unblock"));
    assert!(
        !agent
            .unblock("198.51.100.0/24")
            .await
            .expect("Unblock again")
    );
    let again = agent.block("192.0.2.7", 60, "test").await.expect("Block");
    assert!(agent.revert(again).await.expect("Revert"));
    assert!(!agent.revert(again).await.expect("Revert again"));
    assert_eq!(agent.feedback(1, "benign").await.expect("Feedback"), 1);
    let missing = agent
        .feedback(99, "benign")
        .await
        .expect_err("no incident 99");
    assert_eq!(error_name(&missing), "org.innerwarden.Error.NotFound");
    {
        let st = backend.state();
        assert_eq!(
            st.reverts,
            vec![(again, current_uid()), (again, current_uid())]
        );
        assert_eq!(st.feedback, vec![(1, Label::Benign, current_uid())]);
        assert_eq!(st.mode, Mode::Enforce);
        assert_eq!(st.mode_changes, vec![(Mode::Enforce, current_uid())]);
        assert_eq!(st.unblocks.len(), 2);
    }

    // Invalid arguments never reach the backend.
    for e in [
        agent
            .block("not-an-ip", 60, "x")
            .await
            .expect_err("bad address"),
        agent
            .block("192.0.2.1", 0, "x")
            .await
            .expect_err("zero ttl"),
        agent
            .block("192.0.2.1/33", 60, "x")
            .await
            .expect_err("bad prefix"),
        agent.set_mode("yolo").await.expect_err("bad mode"),
        agent.feedback(1, "maybe").await.expect_err("bad verdict"),
    ] {
        assert_eq!(error_name(&e), "org.innerwarden.Error.InvalidArgument");
    }
    assert!(backend.state().blocks.is_empty());

    // Signals: from async code and from a plain thread through the bounded sender.
    let mut incidents = agent.receive_incident_raised().await.expect("subscribe");
    let mut actions = agent.receive_action_taken().await.expect("subscribe");
    server
        .signals()
        .incident_raised(7, json!({"id": 7, "title": "t"}))
        .await
        .expect("emit IncidentRaised");
    let sender = server.signal_sender(8);
    std::thread::spawn(move || {
        sender
            .offer(Signal::ActionTaken {
                id: 3,
                json: json!({"kind": "block"}),
            })
            .expect("forwarder running")
    })
    .join()
    .expect("thread");
    let timeout = std::time::Duration::from_secs(10);
    let sig = tokio::time::timeout(timeout, incidents.next())
        .await
        .expect("IncidentRaised in time")
        .expect("stream open");
    let args = sig.args().expect("args");
    assert_eq!(
        (args.id, parse(&args.json)["title"].clone()),
        (7, json!("t"))
    );
    let sig = tokio::time::timeout(timeout, actions.next())
        .await
        .expect("ActionTaken in time")
        .expect("stream open");
    let args = sig.args().expect("args");
    assert_eq!((args.id, parse(&args.json)), (3, json!({"kind": "block"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_admin_caller_is_denied_mutations_but_may_read() {
    let Some(bus) = PrivateBus::start() else {
        return;
    };
    let backend = MemBackend::default();
    // The injectable resolver: every caller is uid 1003, not in the admin group.
    let auth = admin_authorizer(bus.dir.path(), 4242).with_resolver(UidResolver::Fixed(1003));
    let _server = serve_named(bus.connect().await, backend.clone(), auth)
        .await
        .expect("serve");
    let client = bus.connect().await;
    let agent = Agent1ClientProxy::new(&client).await.expect("proxy");
    for e in [
        agent.block("192.0.2.9", 60, "x").await.expect_err("Block"),
        agent.unblock("192.0.2.9").await.expect_err("Unblock"),
        agent.revert(1).await.expect_err("Revert"),
        agent.set_mode("enforce").await.expect_err("SetMode"),
        agent.feedback(1, "benign").await.expect_err("Feedback"),
    ] {
        assert_eq!(error_name(&e), "org.innerwarden.Error.AccessDenied");
    }
    assert_eq!(agent.get_mode().await.expect("GetMode"), "dry_run");
    assert!(agent.status().await.is_ok());
    let st = backend.state();
    assert!(st.blocks.is_empty() && st.unblocks.is_empty() && st.mode_changes.is_empty());
    assert!(st.reverts.is_empty());
    assert!(st.feedback.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_to_peer_over_a_socket_pair() {
    let (a, b) = tokio::net::UnixStream::pair().expect("socketpair");
    let guid = zbus::Guid::generate();
    let backend = MemBackend::default();
    // Peer credentials of the socket give the uid; the fixture makes it an admin.
    let dir = tempfile::tempdir().expect("tempdir");
    let builder = zbus::connection::Builder::unix_stream(a)
        .server(guid)
        .expect("guid")
        .p2p();
    let auth = admin_authorizer(dir.path(), current_uid());
    let server = serve_with(builder, backend.clone(), auth, None);
    let client = async {
        zbus::connection::Builder::unix_stream(b)
            .p2p()
            .build()
            .await
            .expect("client side")
    };
    let (server, client_conn) = step("p2p handshake", async { tokio::join!(server, client) }).await;
    let _server = server.expect("serve");
    let agent = step(
        "proxy",
        Agent1ClientProxy::builder(&client_conn)
            .path(OBJECT_PATH)
            .expect("path")
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build(),
    )
    .await
    .expect("proxy");
    let mode = step("GetMode", agent.get_mode()).await;
    assert_eq!(mode.expect("GetMode"), "dry_run");
    step("SetMode", agent.set_mode("enforce"))
        .await
        .expect("SetMode");
    let id = step("Block", agent.block("2001:db8::1", 30, "p2p")).await;
    assert_eq!(id.expect("Block"), 1);
    assert_eq!(
        backend.state().blocks[0].target.to_string(),
        "2001:db8::1/128"
    );
    let fixed = Authorizer::system(None).with_resolver(UidResolver::Fixed(5));
    assert!(!fixed.is_admin(5), "no admin group: only root");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_is_a_client_of_the_service() {
    let Some(bus) = PrivateBus::start() else {
        return;
    };
    let backend = MemBackend::default();
    let auth = admin_authorizer(bus.dir.path(), current_uid());
    let _server = serve_named(bus.connect().await, backend.clone(), auth)
        .await
        .expect("serve");
    let addr = bus.address.clone();
    let cli = |args: &'static [&'static str], uid: Option<u32>| {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || run_cli(&addr, args, uid))
    };

    let out = cli(&["mode", "enforce"], None).await.expect("join");
    assert!(out.status.success(), "mode enforce: {out:?}");
    let out = cli(&["block", "192.0.2.7", "--ttl", "1m"], None)
        .await
        .expect("join");
    assert!(out.status.success(), "block: {out:?}");
    {
        let st = backend.state();
        assert_eq!(st.mode, Mode::Enforce);
        assert_eq!(st.blocks.len(), 1);
        assert_eq!(st.blocks[0].target.to_string(), "192.0.2.7/32");
        assert_eq!(st.blocks[0].ttl_secs, 60);
        assert_eq!(st.blocks[0].caller_uid, current_uid());
    }
    let out = cli(&["feedback", "1", "malicious"], None)
        .await
        .expect("join");
    assert!(out.status.success(), "feedback: {out:?}");
    assert_eq!(
        backend.state().feedback,
        vec![(1, Label::Malicious, current_uid())]
    );
    let out = cli(&["feedback", "99", "benign"], None)
        .await
        .expect("join");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NotFound"),
        "{out:?}"
    );
    let out = cli(&["actions", "--json"], None).await.expect("join");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("192.0.2.7/32"),
        "{out:?}"
    );
    let out = cli(&["status", "--json"], None).await.expect("join");
    assert_eq!(
        parse(&String::from_utf8_lossy(&out.stdout))["mode"],
        "enforce"
    );
    let out = cli(&["mode"], None).await.expect("join");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "mode enforce");
    let out = cli(&["block", "192.0.2.7", "--ttl", "soon"], None)
        .await
        .expect("join");
    assert!(
        !out.status.success(),
        "a bad duration is refused before calling"
    );

    // A real non-admin caller: the binary run as nobody; the bus reports its uid.
    if current_uid() != 0 {
        eprintln!("skipped: the non-admin CLI case needs root to run the client as nobody");
        return;
    }
    let out = cli(&["mode", "dry-run"], Some(65534)).await.expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "nobody must not switch modes: {out:?}"
    );
    assert!(
        stderr.contains("org.innerwarden.Error.AccessDenied"),
        "{stderr}"
    );
    assert_eq!(backend.state().mode, Mode::Enforce);
    let out = cli(&["mode"], Some(65534)).await.expect("join");
    assert!(out.status.success(), "nobody may read the mode: {out:?}");
}
