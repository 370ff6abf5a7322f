//! Shared pieces of the D-Bus tests: a private `dbus-daemon`, an in-memory backend, and an
//! authorizer whose account files make the current uid an admin.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use innerwarden::control::{Authorizer, BlockRequest, ControlBackend, ControlError, UidResolver};
use innerwarden_core::decide::config::{Cidr, Mode};
use innerwarden_core::model::file::Label;
use serde_json::{Value, json};

/// A `dbus-daemon` on a socket in a temporary directory, killed on drop.
pub struct PrivateBus {
    pub dir: tempfile::TempDir,
    pub address: String,
    child: Child,
}

impl PrivateBus {
    /// Start one that allows everything, or `None` (after printing the skip reason) when
    /// dbus-daemon is missing.
    pub fn start() -> Option<PrivateBus> {
        Self::start_with(permissive_config)
    }

    /// Start one with the configuration `config(socket path)`.
    pub fn start_with(config: impl FnOnce(&Path) -> String) -> Option<PrivateBus> {
        let found = Command::new("dbus-daemon")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            eprintln!("skipped: dbus-daemon not found");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        // World-searchable so a test client running as another uid can reach the socket.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let socket = dir.path().join("bus");
        let text = config(&socket);
        let config = dir.path().join("bus.conf");
        std::fs::write(&config, text).expect("write bus config");
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dbus-daemon");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read bus address");
        let address = line.trim().to_owned();
        assert!(address.starts_with("unix:"), "bus address {address:?}");
        Some(PrivateBus {
            dir,
            address,
            child,
        })
    }

    pub async fn connect(&self) -> zbus::Connection {
        zbus::connection::Builder::address(self.address.as_str())
            .expect("address")
            .build()
            .await
            .expect("connect to private bus")
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Anyone may connect, own names and call anything: the service's own checks are under test.
fn permissive_config(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}

/// What the in-memory backend saw.
#[derive(Debug, Default)]
pub struct MemState {
    pub mode: Mode,
    pub blocks: Vec<BlockRequest>,
    pub unblocks: Vec<(Cidr, u32)>,
    pub reverts: Vec<(i64, u32)>,
    pub mode_changes: Vec<(Mode, u32)>,
    /// Operator verdicts: (incident, verdict, caller uid).
    pub feedback: Vec<(i64, Label, u32)>,
}

/// A [`ControlBackend`] over memory; clones share the state.
#[derive(Debug, Clone, Default)]
pub struct MemBackend {
    pub state: Arc<Mutex<MemState>>,
}

impl MemBackend {
    pub fn state(&self) -> std::sync::MutexGuard<'_, MemState> {
        self.state.lock().expect("state lock")
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::DryRun => "dry_run",
        Mode::Enforce => "enforce",
    }
}

impl ControlBackend for MemBackend {
    fn status(&mut self) -> Result<Value, ControlError> {
        Ok(json!({"pid": std::process::id(), "mode": mode_name(self.state().mode)}))
    }

    fn incidents(&mut self, limit: u32) -> Result<Value, ControlError> {
        let all = [
            json!({"id": 2, "title": "ssh brute force"}),
            json!({"id": 1, "title": "x"}),
        ];
        Ok(Value::Array(all.into_iter().take(limit as usize).collect()))
    }

    fn incident(&mut self, id: i64) -> Result<Value, ControlError> {
        if id == 1 {
            Ok(json!({"id": 1, "findings": [{"id": 10, "finding": {"detector": "ssh"}}]}))
        } else {
            Err(ControlError::NotFound {
                what: format!("incident {id}"),
            })
        }
    }

    fn actions(&mut self, limit: u32) -> Result<Value, ControlError> {
        let st = self.state();
        let rows: Vec<Value> = st
            .blocks
            .iter()
            .enumerate()
            .rev()
            .take(limit as usize)
            .map(|(i, b)| {
                json!({"id": i as i64 + 1, "kind": "block", "target": b.target.to_string(),
                       "dry_run": st.mode == Mode::DryRun, "state": "active",
                       "expires_at": null, "reason": b.reason})
            })
            .collect();
        Ok(Value::Array(rows))
    }

    fn block(&mut self, req: BlockRequest) -> Result<i64, ControlError> {
        let mut st = self.state();
        st.blocks.push(req);
        Ok(st.blocks.len() as i64)
    }

    fn unblock(&mut self, target: Cidr, caller_uid: u32) -> Result<bool, ControlError> {
        let mut st = self.state();
        st.unblocks.push((target, caller_uid));
        let before = st.blocks.len();
        st.blocks.retain(|b| b.target != target);
        Ok(st.blocks.len() != before)
    }

    fn revert(&mut self, id: i64, caller_uid: u32) -> Result<bool, ControlError> {
        let mut st = self.state();
        st.reverts.push((id, caller_uid));
        let idx = usize::try_from(id - 1)
            .ok()
            .filter(|i| *i < st.blocks.len());
        Ok(match idx {
            Some(i) => {
                st.blocks.remove(i);
                true
            }
            None => false,
        })
    }

    fn set_mode(&mut self, mode: Mode, caller_uid: u32) -> Result<(), ControlError> {
        let mut st = self.state();
        st.mode = mode;
        st.mode_changes.push((mode, caller_uid));
        Ok(())
    }

    fn get_mode(&mut self) -> Result<Mode, ControlError> {
        Ok(self.state().mode)
    }

    fn verify_audit(&mut self) -> Result<Value, ControlError> {
        Ok(json!({"ok": true, "records": 3}))
    }

    fn feedback(
        &mut self,
        incident_id: i64,
        verdict: Label,
        caller_uid: u32,
    ) -> Result<i64, ControlError> {
        if incident_id != 1 {
            return Err(ControlError::NotFound {
                what: format!("incident {incident_id}"),
            });
        }
        let mut st = self.state();
        st.feedback.push((incident_id, verdict, caller_uid));
        Ok(st.feedback.len() as i64)
    }
}

/// An authorizer (uid from the bus) whose fixture account files make `uid` a member of the
/// admin group, so the tests behave the same as root and as an ordinary user.
pub fn admin_authorizer(dir: &Path, uid: u32) -> Authorizer {
    let group: PathBuf = dir.join("group");
    let passwd: PathBuf = dir.join("passwd");
    std::fs::write(&group, "innerwarden-admin:x:990:tester\n").expect("write group");
    std::fs::write(
        &passwd,
        format!("tester:x:{uid}:{uid}::/tmp:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"),
    )
    .expect("write passwd");
    let mut auth = Authorizer::system(Some("innerwarden-admin".into()));
    auth.group_file = group;
    auth.passwd_file = passwd;
    auth.with_resolver(UidResolver::Bus)
}

pub fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Run the CLI against the bus at `address`, as `uid` when given. Another uid runs a copy of
/// the binary in a world-readable directory: the build tree may sit under a directory that
/// uid cannot enter (a `mktemp -d` checkout is mode 0700).
pub fn run_cli(address: &str, args: &[&str], uid: Option<u32>) -> Output {
    use std::os::unix::process::CommandExt;
    let bin = match uid {
        Some(_) => shared_binary(),
        None => PathBuf::from(env!("CARGO_BIN_EXE_innerwarden")),
    };
    let mut cmd = Command::new(bin);
    cmd.arg("--bus").arg(address).args(args);
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid).current_dir("/");
    }
    cmd.output().expect("run innerwarden")
}

/// A copy of the binary any user may execute, made once per test process.
fn shared_binary() -> PathBuf {
    static COPY: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = COPY.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod dir");
        let path = dir.path().join("innerwarden");
        std::fs::copy(env!("CARGO_BIN_EXE_innerwarden"), &path).expect("copy binary");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod binary");
        (dir, path)
    });
    path.clone()
}
