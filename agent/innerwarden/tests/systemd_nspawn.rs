//! `SystemdResponder` against a real systemd: the host test boots a Debian rootfs with
//! systemd-nspawn (systemd as PID 1, a real system bus), and this same test binary runs inside it
//! as the job, selected by `INNERWARDEN_IN_NSPAWN=1`, against the container's units.
//!
//! Host side needs root, systemd-nspawn and the cached rootfs from
//! `vm-tests/nspawn/build-rootfs.sh` (built on first run, ~2 min, bounded by
//! `INNERWARDEN_ROOTFS_TIMEOUT_SECS`, default 300); otherwise it prints `skipped: <why>`.
//! The container has a private network and a volatile overlay: nothing on the host changes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use innerwarden::respond::Responder;
use innerwarden::respond::systemd::{IpPrefix, SystemdResponder, Undo};
use innerwarden_core::decide::action::{Action, QuarantineMode};

const IN_CONTAINER: &str = "INNERWARDEN_IN_NSPAWN";
const VICTIM: &str = "iw-victim.service";
const SERVICE: &str = "org.freedesktop.systemd1.Service";
const UNIT: &str = "org.freedesktop.systemd1.Unit";

const VICTIM_UNIT: &str = "[Unit]
Description=Inner Warden response target

[Service]
ExecStart=/bin/sleep infinity
IPAddressAllow=127.0.0.1
IPAddressDeny=192.0.2.0/24
";

const RUN_SH: &str = r#"#!/bin/sh
# Runs inside the container as innerwarden-job.service.
cp /job/iw-victim.service /etc/systemd/system/
systemctl daemon-reload
systemctl start iw-victim.service
INNERWARDEN_IN_NSPAWN=1 /job/test-bin --exact in_container --nocapture --test-threads=1 \
  >/jobout/test.log 2>&1
echo $? >/jobout/exit-code
"#;

fn run_cmd(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Wait for `child` up to `limit`; kill it (by its own pid) when it overruns.
fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> Option<bool> {
    let t = Instant::now();
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st.success());
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn rootfs() -> Result<PathBuf, String> {
    let limit = std::env::var("INNERWARDEN_ROOTFS_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let script = repo_root().join("vm-tests/nspawn/build-rootfs.sh");
    let out = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    let mut child = Command::new(&script)
        .stdout(out.reopen().map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    match wait_bounded(&mut child, Duration::from_secs(limit)) {
        Some(true) => {}
        Some(false) => return Err("build-rootfs.sh failed (debootstrap unavailable?)".into()),
        None => return Err(format!("rootfs build took longer than {limit} s")),
    }
    let path = std::fs::read_to_string(out.path()).map_err(|e| e.to_string())?;
    Ok(PathBuf::from(path.trim()))
}

#[test]
fn systemd_responder_in_nspawn() {
    if std::env::var_os(IN_CONTAINER).is_some() {
        return; // the container runs only `in_container`
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: not root (systemd-nspawn needs root)");
        return;
    }
    let rootfs = match rootfs() {
        Ok(r) => r,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    if !run_cmd(Command::new("systemd-nspawn").arg("--version")) {
        println!("skipped: systemd-nspawn unavailable");
        return;
    }
    let job = tempfile::tempdir().expect("job dir");
    let out = tempfile::tempdir().expect("out dir");
    let me = std::env::current_exe().expect("current exe");
    std::fs::copy(&me, job.path().join("test-bin")).expect("copy test binary");
    std::fs::write(job.path().join("run.sh"), RUN_SH).expect("run.sh");
    std::fs::write(job.path().join(VICTIM), VICTIM_UNIT).expect("victim unit");

    let started = Instant::now();
    let mut nspawn = Command::new("systemd-nspawn")
        // cgroup v2 inside the container even on a hybrid/v1 host: the freezer and the BPF
        // firewall (IPAddressDeny) need it.
        .env("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "1")
        .arg("-D")
        .arg(&rootfs)
        .args([
            "--volatile=overlay",
            "--register=no",
            "--keep-unit",
            "--private-network",
        ])
        .arg(format!("--bind-ro={}:/job", job.path().display()))
        .arg(format!("--bind={}:/jobout", out.path().display()))
        .args(["-b", "--console=pipe"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(out.path().join("console.log")).expect("console log"))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("systemd-nspawn starts");
    let finished = wait_bounded(&mut nspawn, Duration::from_secs(180));
    let secs = started.elapsed().as_secs_f32();
    let log = std::fs::read_to_string(out.path().join("test.log")).unwrap_or_default();
    let console = std::fs::read_to_string(out.path().join("console.log")).unwrap_or_default();
    println!("--- in-container test log ({secs:.1} s boot→job→poweroff) ---\n{log}");
    assert!(
        finished.is_some(),
        "container did not power off in 180 s:\n{console}"
    );
    let code = std::fs::read_to_string(out.path().join("exit-code")).unwrap_or_default();
    assert_eq!(
        code.trim(),
        "0",
        "in-container test failed:\n{log}\n--- console ---\n{console}"
    );
    assert!(log.contains("nspawn: all checks passed"), "{log}");
}

fn poll<T: PartialEq + std::fmt::Debug>(what: &str, want: T, mut get: impl FnMut() -> T) {
    let t = Instant::now();
    let mut last = get();
    while last != want && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
        last = get();
    }
    assert_eq!(last, want, "{what}");
    println!("ok: {what}");
}

/// An IP list property, sorted (systemd keeps them in a set: order is not stable).
fn ip_list(r: &SystemdResponder, name: &'static str) -> Vec<(i32, Vec<u8>, u32)> {
    let mut v: Vec<(i32, Vec<u8>, u32)> = r.property(VICTIM, SERVICE, name).expect(name);
    v.sort();
    v
}

/// The part that runs inside the container (PID 1 systemd, system bus).
#[test]
fn in_container() {
    if std::env::var_os(IN_CONTAINER).is_none() {
        println!(
            "skipped: runs only inside the nspawn container (driven by systemd_responder_in_nspawn)"
        );
        return;
    }
    let mut r = SystemdResponder::new().expect("system bus");
    let active = |r: &SystemdResponder| -> String {
        r.property(VICTIM, UNIT, "ActiveState")
            .expect("ActiveState")
    };
    poll("victim active", "active".to_owned(), || active(&r));

    // Resolve by pid.
    let pid = r.main_pid(VICTIM).expect("MainPID").expect("running");
    assert_eq!(
        r.unit_of_pid(pid).expect("GetUnitByPID"),
        Some(VICTIM.to_owned())
    );
    assert_eq!(r.unit_of_pid(999_999).expect("no unit"), None);
    println!("ok: unit_of_pid({pid}) = {VICTIM}");

    let q = |mode| Action::Quarantine {
        unit: VICTIM.into(),
        mode,
        ttl_secs: 60,
    };

    // Freeze → frozen → thaw.
    let a = r.apply(&q(QuarantineMode::Freeze)).expect("freeze");
    r.apply(&q(QuarantineMode::Freeze))
        .expect("freeze again (idempotent)");
    println!("{}", a.detail);
    let freezer = |r: &SystemdResponder| -> String {
        r.property(VICTIM, UNIT, "FreezerState")
            .expect("FreezerState")
    };
    poll("frozen", "frozen".to_owned(), || freezer(&r));
    r.revert(&q(QuarantineMode::Freeze)).expect("thaw");
    poll("thawed", "running".to_owned(), || freezer(&r));

    // Cut network → deny any, allow empty → restore the unit file's values.
    let allow0 = ip_list(&r, "IPAddressAllow");
    let deny0 = ip_list(&r, "IPAddressDeny");
    assert_eq!(allow0, vec![(libc::AF_INET, vec![127, 0, 0, 1], 32)]);
    let a = r
        .apply(&q(QuarantineMode::CutNetwork))
        .expect("cut network");
    println!("{}", a.detail);
    let mut any: Vec<_> = IpPrefix::any()
        .into_iter()
        .map(|p| (p.family, p.addr, p.prefix_len))
        .collect();
    any.sort();
    poll("IPAddressDeny=any", any.clone(), || {
        ip_list(&r, "IPAddressDeny")
    });
    poll("IPAddressAllow empty", vec![], || {
        ip_list(&r, "IPAddressAllow")
    });
    r.revert(&q(QuarantineMode::CutNetwork))
        .expect("restore network");
    poll("IPAddressAllow restored", allow0.clone(), || {
        ip_list(&r, "IPAddressAllow")
    });
    poll("IPAddressDeny restored", deny0.clone(), || {
        ip_list(&r, "IPAddressDeny")
    });

    // The same through a stored Undo, by a "restarted" responder.
    let a = r
        .apply(&q(QuarantineMode::CutNetwork))
        .expect("cut network again");
    let undo = Undo::from_detail(&a.detail).expect("undo in detail");
    let mut fresh = SystemdResponder::new().expect("system bus");
    assert!(
        fresh.revert(&q(QuarantineMode::CutNetwork)).is_err(),
        "no undo known: must refuse"
    );
    fresh.revert_undo(&undo).expect("revert via ledger undo");
    poll("restored via Undo", deny0.clone(), || {
        ip_list(&r, "IPAddressDeny")
    });
    poll("allow restored via Undo", allow0, || {
        ip_list(&r, "IPAddressAllow")
    });
    // Forget the in-memory undo of `r` (already reverted by `fresh`).
    r.revert_undo(&undo).expect("idempotent restore");

    // Throttle → quota + tasks → restore.
    let th = Action::Throttle {
        unit: VICTIM.into(),
        cpu_percent: 10,
        ttl_secs: 60,
    };
    let q0: u64 = r
        .property(VICTIM, SERVICE, "CPUQuotaPerSecUSec")
        .expect("quota");
    let t0: u64 = r.property(VICTIM, SERVICE, "TasksMax").expect("tasks");
    println!("{}", r.apply(&th).expect("throttle").detail);
    poll("CPUQuotaPerSecUSec=100ms", 100_000u64, || {
        r.property(VICTIM, SERVICE, "CPUQuotaPerSecUSec")
            .expect("quota")
    });
    let tmax: u64 = r.property(VICTIM, SERVICE, "TasksMax").expect("tasks");
    assert!(tmax < 100, "TasksMax {tmax}");
    r.revert(&th).expect("unthrottle");
    poll("quota restored", q0, || {
        r.property(VICTIM, SERVICE, "CPUQuotaPerSecUSec")
            .expect("quota")
    });
    poll("TasksMax restored", t0, || {
        r.property(VICTIM, SERVICE, "TasksMax").expect("tasks")
    });

    // Stop → inactive → start.
    r.apply(&q(QuarantineMode::Stop)).expect("stop");
    poll("stopped", "inactive".to_owned(), || active(&r));
    r.revert(&q(QuarantineMode::Stop)).expect("start");
    poll("started again", "active".to_owned(), || active(&r));

    // KillUnit all SIGKILL.
    let pid = r.main_pid(VICTIM).expect("MainPID").expect("running");
    println!("{}", r.kill_unit(VICTIM).expect("KillUnit").detail);
    poll("killed", false, || {
        Path::new(&format!("/proc/{pid}")).exists()
    });
    poll("unit down after KillUnit", true, || active(&r) != "active");

    println!("nspawn: all checks passed");
}
