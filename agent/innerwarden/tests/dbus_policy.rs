//! The shipped bus policy, enforced by a real dbus-daemon: a system-bus-like configuration that
//! includes `packaging/dbus/org.innerwarden.Agent1.conf`; the agent owns the name as root; the
//! `innerwarden` binary run as `nobody` may read but the bus itself refuses its mutating calls.

mod dbus_common;

use std::path::Path;

use dbus_common::{MemBackend, PrivateBus, admin_authorizer, current_uid, run_cli};
use innerwarden::control::{BUS_NAME, serve_with};
use innerwarden_core::decide::config::Mode;

/// Debian's system.conf default policy (deny own and method calls, allow the bus itself),
/// plus our policy file.
fn system_like_config(socket: &Path) -> String {
    let policy = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging/dbus/org.innerwarden.Agent1.conf")
        .canonicalize()
        .expect("policy file");
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{}</include>
</busconfig>
"#,
        socket.display(),
        policy.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_policy_lets_others_read_and_refuses_their_mutations() {
    if current_uid() != 0 {
        eprintln!("skipped: needs root (the policy lets only root own the name)");
        return;
    }
    let Some(bus) = PrivateBus::start_with(system_like_config) else {
        return;
    };
    let backend = MemBackend::default();
    let builder = zbus::connection::Builder::address(bus.address.as_str()).expect("address");
    let auth = admin_authorizer(bus.dir.path(), 0);
    let _server = serve_with(builder, backend.clone(), auth, Some(BUS_NAME))
        .await
        .expect("root owns org.innerwarden.Agent1 under the policy");

    let addr = bus.address.clone();
    let cli = |args: &'static [&'static str], uid: Option<u32>| {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || run_cli(&addr, args, uid))
    };
    const NOBODY: Option<u32> = Some(65534);

    for read in [&["mode"][..], &["status", "--json"], &["actions", "--json"]] {
        let out = cli(read, NOBODY).await.expect("join");
        assert!(out.status.success(), "nobody may call {read:?}: {out:?}");
    }
    for write in [
        &["mode", "enforce"][..],
        &["block", "192.0.2.7", "--ttl", "1m"],
        &["unblock", "192.0.2.7"],
        &["feedback", "1", "benign"],
    ] {
        let out = cli(write, NOBODY).await.expect("join");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "nobody must not call {write:?}");
        assert!(
            stderr.contains("org.freedesktop.DBus.Error.AccessDenied"),
            "the bus itself should refuse {write:?}: {stderr}"
        );
    }
    {
        let st = backend.state();
        assert!(st.blocks.is_empty() && st.unblocks.is_empty() && st.mode == Mode::DryRun);
        assert!(st.feedback.is_empty());
    }
    let out = cli(&["mode", "enforce"], None).await.expect("join");
    assert!(out.status.success(), "root may switch modes: {out:?}");
    assert_eq!(backend.state().mode, Mode::Enforce);
}
