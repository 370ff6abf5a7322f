//! The agent end to end with enforcement, as root, inside a private network namespace (never the
//! host's firewall): an SSH brute force written to a tailed auth.log gets the source blocked in
//! nft with a timeout; the audit log verifies; a restarted agent in a fresh namespace re-asserts
//! the block from its ledger.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Local, TimeDelta};

const ATTACKER: &str = "198.51.100.23";

fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (needs unshare -n and nft)".into());
    }
    for tool in ["unshare", "nsenter", "nft"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("{tool} not found"));
        }
    }
    None
}

/// Starts the agent in a new network namespace; killed (TERM) on drop.
struct Agent(Child);

impl Agent {
    fn start(config: &Path, log: &Path) -> Agent {
        Self::start_env(config, log, &[])
    }

    fn start_env(config: &Path, log: &Path, env: &[(&str, &str)]) -> Agent {
        let log = std::fs::File::create(log).expect("log file");
        let child = Command::new("unshare")
            .envs(env.iter().copied())
            .arg("-n")
            .arg(env!("CARGO_BIN_EXE_innerwarden"))
            .arg("--config")
            .arg(config)
            .arg("run")
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("agent starts");
        Agent(child)
    }

    fn nft(&self, args: &[&str]) -> String {
        let out = Command::new("nsenter")
            .args(["-t", &self.0.id().to_string(), "-n", "nft"])
            .args(args)
            .output()
            .expect("nsenter runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn stop(mut self) {
        // SAFETY: kill with a valid pid and signal has no memory-safety preconditions.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn assert_audit_verifies(config: &Path) {
    let verify = Command::new(env!("CARGO_BIN_EXE_innerwarden"))
        .arg("--config")
        .arg(config)
        .args(["audit", "verify"])
        .output()
        .expect("verify runs");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn brute_force_is_blocked_in_nft_and_the_block_survives_a_restart() {
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let auth = dir.path().join("auth.log");
    std::fs::write(&auth, "").expect("auth.log");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[agent]\nstate_dir = \"{}\"\n[sensors.ebpf]\nenabled = false\n\
             [sensors.journald]\nenabled = false\n\
             [sensors.authlog]\nenabled = true\npaths = [\"{}\"]\nfrom_beginning = true\n\
             [response]\nmode = \"enforce\"\nenforce = [\"block\", \"rate_limit\"]\n",
            dir.path().join("state").display(),
            auth.display()
        ),
    )
    .expect("config");

    let agent = Agent::start(&config, &dir.path().join("agent1.log"));
    // Two minutes of guessing (by the log's clock): two findings, act tier, block.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&auth)
        .expect("append");
    let t0 = Local::now() - TimeDelta::minutes(5);
    for i in 0..20 {
        let ts = t0 + TimeDelta::seconds(i * 6);
        writeln!(
            f,
            "{} web1 sshd[{}]: Failed password for root from {ATTACKER} port {} ssh2",
            ts.format("%b %e %H:%M:%S"),
            3000 + i,
            40000 + i
        )
        .expect("write line");
    }
    drop(f);
    wait_for("the attacker in block_v4", Duration::from_secs(20), || {
        agent
            .nft(&["list", "set", "inet", "innerwarden", "block_v4"])
            .contains(ATTACKER)
    });
    let set = agent.nft(&["list", "set", "inet", "innerwarden", "block_v4"]);
    assert!(
        set.contains("expires"),
        "the block carries a kernel timeout: {set}"
    );
    agent.stop();

    assert_audit_verifies(&config);

    // A fresh namespace has no table: the restarted agent re-asserts the block from the ledger.
    let again = Agent::start(&config, &dir.path().join("agent2.log"));
    wait_for("the block re-asserted", Duration::from_secs(20), || {
        again
            .nft(&["list", "set", "inet", "innerwarden", "block_v4"])
            .contains(ATTACKER)
    });
    again.stop();
}

/// A private dbus-daemon on a unix socket in `dir`; killed on drop.
struct Bus(Child, String);

impl Bus {
    fn start(dir: &Path) -> Option<Bus> {
        let sock = dir.join("bus");
        let conf = dir.join("bus.conf");
        std::fs::write(
            &conf,
            format!(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
                 \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\
                 <busconfig><type>custom</type><listen>unix:path={}</listen><auth>EXTERNAL</auth>\
                 <policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>\
                 <allow send_type=\"method_call\"/><allow send_destination=\"*\"/>\
                 <allow receive_sender=\"*\"/></policy></busconfig>",
                sock.display()
            ),
        )
        .ok()?;
        let child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .arg("--nofork")
            .spawn()
            .ok()?;
        let bus = Bus(child, format!("unix:path={}", sock.display()));
        wait_for("the private bus socket", Duration::from_secs(5), || {
            sock.exists()
        });
        Some(bus)
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn operator_block_unblock_and_mode_over_dbus() {
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(bus) = Bus::start(dir.path()) else {
        println!("skipped: dbus-daemon not available");
        return;
    };
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[agent]\nstate_dir = \"{}\"\n[sensors.ebpf]\nenabled = false\n\
             [sensors.journald]\nenabled = false\n\
             [response]\nmode = \"enforce\"\nenforce = [\"block\"]\n",
            dir.path().join("state").display()
        ),
    )
    .expect("config");
    let agent = Agent::start_env(
        &config,
        &dir.path().join("agent.log"),
        &[("DBUS_SYSTEM_BUS_ADDRESS", &bus.1)],
    );
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_innerwarden"))
            .arg("--config")
            .arg(&config)
            .args(["--bus", &bus.1])
            .args(args)
            .output()
            .expect("cli runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    wait_for("the agent on the bus", Duration::from_secs(20), || {
        cli(&["mode"]).0
    });
    let (ok, text) = cli(&["block", "192.0.2.99", "--ttl", "90s", "--reason", "test"]);
    assert!(ok, "{text}");
    let set = agent.nft(&["list", "set", "inet", "innerwarden", "block_v4"]);
    assert!(
        set.contains("192.0.2.99") && set.contains("expires"),
        "{set}"
    );
    let (ok, text) = cli(&["actions"]);
    assert!(
        ok && text.contains("192.0.2.99/32") && text.contains("applied"),
        "{text}"
    );
    let (ok, text) = cli(&["unblock", "192.0.2.99"]);
    assert!(ok, "{text}");
    assert!(
        !agent
            .nft(&["list", "set", "inet", "innerwarden", "block_v4"])
            .contains("192.0.2.99")
    );
    let (ok, text) = cli(&["block", "127.0.0.1"]);
    assert!(
        !ok && text.contains("allowlisted_source"),
        "loopback is guarded: {text}"
    );
    let (ok, text) = cli(&["mode", "dry-run"]);
    assert!(ok, "{text}");
    assert!(cli(&["mode"]).1.contains("dry_run"));
    agent.stop();
    assert_audit_verifies(&config);
}
