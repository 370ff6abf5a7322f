//! The nftables responder against a real kernel, in network namespaces: an attacker namespace
//! and a target namespace joined by a veth pair; the responder runs on a thread inside the
//! target namespace. Never touches the host's firewall. Needs root, `ip` and `nft`; otherwise
//! each test prints `skipped: <why>`.

use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use innerwarden::respond::Responder;
use innerwarden::respond::nft::{Backend, NftResponder, netns};
use innerwarden_core::decide::action::Action;

fn skip_reason() -> Option<&'static str> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (network namespaces and nftables need CAP_SYS_ADMIN/CAP_NET_ADMIN)");
    }
    for tool in ["ip", "nft"] {
        if Command::new(tool).arg("-V").output().is_err()
            && Command::new(tool).arg("--version").output().is_err()
        {
            return Some("`ip` or `nft` missing");
        }
    }
    None
}

macro_rules! require_root {
    () => {
        if let Some(why) = skip_reason() {
            println!("skipped: {why}");
            return;
        }
    };
}

const TGT4: &str = "10.231.0.1";
const ATT4: &str = "10.231.0.2";
const TGT6: &str = "fd31::1";
const ATT6: &str = "fd31::2";

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("runs ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Deletes the namespaces it names on drop, also when a test fails.
struct NsGuard(Vec<String>);

impl Drop for NsGuard {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Two namespaces joined by a veth pair, with a TCP listener in the target.
struct Pair {
    att: String,
    tgt: String,
    port: u16,
    _listeners: (TcpListener, TcpListener),
    // Last: dropped after the listeners.
    _guard: NsGuard,
}

impl Pair {
    fn new() -> Pair {
        static N: AtomicU32 = AtomicU32::new(0);
        let k = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let (att, tgt) = (format!("iw-att-{pid}-{k}"), format!("iw-tgt-{pid}-{k}"));
        let mut guard = NsGuard(Vec::new());
        for ns in [&att, &tgt] {
            ip(&["netns", "add", ns]);
            guard.0.push(ns.clone());
        }
        let (va, vt) = (
            format!("iwa{k}x{}", pid % 100_000),
            format!("iwt{k}x{}", pid % 100_000),
        );
        ip(&[
            "link", "add", &va, "netns", &att, "type", "veth", "peer", "name", &vt, "netns", &tgt,
        ]);
        for (ns, dev, a4, a6) in [(&att, &va, ATT4, ATT6), (&tgt, &vt, TGT4, TGT6)] {
            ip(&["-n", ns, "addr", "add", &format!("{a4}/24"), "dev", dev]);
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{a6}/64"),
                "dev",
                dev,
                "nodad",
            ]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        // Listeners bound inside the target namespace: a socket keeps its namespace, and the
        // kernel completes handshakes into the backlog without accept().
        let listeners = netns::in_netns(&PathBuf::from("/run/netns").join(&tgt), || {
            let l4 = TcpListener::bind(format!("{TGT4}:0")).expect("binds v4");
            let port = l4.local_addr().expect("addr").port();
            let l6 = TcpListener::bind(format!("[{TGT6}]:{port}")).expect("binds v6");
            (l4, l6)
        })
        .expect("enters target netns");
        let port = listeners.0.local_addr().expect("addr").port();
        Pair {
            att,
            tgt,
            port,
            _listeners: listeners,
            _guard: guard,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        PathBuf::from("/run/netns").join(name)
    }

    /// Run `f` on a thread inside the target namespace.
    fn in_tgt<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        netns::in_netns(&self.path(&self.tgt), f).expect("enters target netns")
    }

    /// Whether the attacker namespace completes a TCP handshake with the target.
    fn can_connect(&self, target: &str) -> bool {
        let addr = SocketAddr::new(target.parse::<IpAddr>().expect("ip"), self.port);
        netns::in_netns(&self.path(&self.att), move || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(400)).is_ok()
        })
        .expect("enters attacker netns")
    }

    /// Retry [`can_connect`](Self::can_connect) for up to 3 s (a fresh link still resolves
    /// neighbours); true once one handshake completes.
    fn reachable_soon(&self, target: &str) -> bool {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(3) {
            if self.can_connect(target) {
                return true;
            }
        }
        false
    }

    fn nft(&self, args: &[&str]) -> String {
        let mut full = vec!["netns", "exec", &self.tgt, "nft"];
        full.extend_from_slice(args);
        let out = Command::new("ip").args(&full).output().expect("runs nft");
        assert!(
            out.status.success(),
            "nft {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn block(addr: &str, prefix: u8, ttl_secs: u64) -> Action {
    Action::Block {
        addr: addr.parse().expect("ip"),
        prefix,
        ttl_secs,
    }
}

fn setup(pair: &Pair, backend: Backend) {
    pair.in_tgt(move || NftResponder::setup(backend).map(|_| ()))
        .expect("table set up");
}

fn apply(pair: &Pair, backend: Backend, a: Action) {
    pair.in_tgt(move || NftResponder::new(backend).apply(&a).map(|_| ()))
        .expect("applies");
}

fn revert(pair: &Pair, backend: Backend, a: Action) -> String {
    pair.in_tgt(move || NftResponder::new(backend).revert(&a).map(|r| r.detail))
        .expect("reverts")
}

fn block_then_kernel_expiry(backend: Backend) {
    let pair = Pair::new();
    setup(&pair, backend);
    assert!(pair.reachable_soon(TGT4), "reachable before the block");
    let t = Instant::now();
    apply(&pair, backend, block(ATT4, 32, 3));
    assert!(!pair.can_connect(TGT4), "blocked after apply");
    std::thread::sleep(Duration::from_millis(4500).saturating_sub(t.elapsed()));
    assert!(
        pair.can_connect(TGT4),
        "reachable again after the 3 s TTL, no agent involved"
    );
}

#[test]
fn netlink_block_expires_by_kernel_timeout() {
    require_root!();
    block_then_kernel_expiry(Backend::Netlink);
}

#[test]
fn nft_json_block_expires_by_kernel_timeout() {
    require_root!();
    block_then_kernel_expiry(Backend::NftJson);
}

fn revert_removes(backend: Backend) {
    let pair = Pair::new();
    setup(&pair, backend);
    apply(&pair, backend, block(ATT4, 32, 600));
    assert!(!pair.can_connect(TGT4));
    let d = revert(&pair, backend, block(ATT4, 32, 600));
    assert!(d.starts_with("removed"), "{d}");
    assert!(pair.can_connect(TGT4), "reachable after revert");
    let d = revert(&pair, backend, block(ATT4, 32, 600));
    assert!(
        d.starts_with("already absent"),
        "absent element is not an error: {d}"
    );
}

#[test]
fn netlink_revert_removes_element() {
    require_root!();
    revert_removes(Backend::Netlink);
}

#[test]
fn nft_json_revert_removes_element() {
    require_root!();
    revert_removes(Backend::NftJson);
}

#[test]
fn maintain_restores_elements_when_a_reload_recreates_the_table_empty() {
    require_root!();
    use innerwarden::respond::Responder;
    let pair = Pair::new();
    setup(&pair, Backend::Netlink);
    apply(&pair, Backend::Netlink, block(ATT4, 32, 600));
    let ledger = [block(ATT4, 32, 300)];
    let ledger2 = ledger.clone();
    // The first maintain after start re-asserts; later ones are quiet while all is in place.
    let quiet = pair.in_tgt(move || {
        let mut r = NftResponder::new(Backend::Netlink);
        let first = r.maintain(&ledger);
        Ok::<_, std::convert::Infallible>((first, r.maintain(&ledger)))
    });
    assert_eq!(quiet.expect("runs").1, None);
    // What an nftables reload of a configuration declaring the table does (NixOS):
    // the table comes back with its rules and empty sets.
    pair.nft(&["flush", "ruleset"]);
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../packaging/innerwarden.nft"
    );
    pair.nft(&["-f", file]);
    assert!(pair.can_connect(TGT4), "the reload emptied the set");
    let note = pair
        .in_tgt(move || {
            let mut r = NftResponder::new(Backend::Netlink);
            r.maintain(&ledger2); // first: start-up re-assert
            pair_flush_again();
            Ok::<_, std::convert::Infallible>(r.maintain(&ledger2))
        })
        .expect("runs");
    let note = note.expect("a restore is reported");
    assert!(note.contains("lost elements"), "{note}");
    assert!(!pair.can_connect(TGT4), "block restored after the reload");
}

/// Empty the block set from inside the target namespace (a reload between two ticks).
fn pair_flush_again() {
    let st = std::process::Command::new("nft")
        .args(["flush", "set", "inet", "innerwarden", "block_v4"])
        .status()
        .expect("nft runs");
    assert!(st.success());
}

#[test]
fn reassert_after_flush_ruleset_restores_remaining_ttl() {
    require_root!();
    let pair = Pair::new();
    setup(&pair, Backend::Netlink);
    apply(&pair, Backend::Netlink, block(ATT4, 32, 600));
    pair.nft(&["flush", "ruleset"]);
    assert!(!pair.in_tgt(|| NftResponder::new(Backend::Netlink).table_present()));
    assert!(pair.can_connect(TGT4), "flush removed the block");
    // The ledger says 30 s are left.
    let report = pair
        .in_tgt(|| NftResponder::new(Backend::Netlink).reassert(&[block(ATT4, 32, 30)]))
        .expect("reasserts");
    assert!(report.recreated_table);
    assert_eq!((report.restored, report.failed.len()), (1, 0));
    assert!(!pair.can_connect(TGT4), "block restored");
    let set = pair.nft(&["list", "set", "inet", "innerwarden", "block_v4"]);
    assert!(set.contains("10.231.0.2 timeout 30s"), "{set}");
    // Table present: reassert only re-adds; rules are not duplicated.
    let report = pair
        .in_tgt(|| NftResponder::new(Backend::Netlink).reassert(&[block(ATT4, 32, 30)]))
        .expect("reasserts");
    assert!(!report.recreated_table);
    pair.in_tgt(|| NftResponder::setup(Backend::NftJson).map(|_| ()))
        .expect("idempotent");
    let chain = pair.nft(&["list", "chain", "inet", "innerwarden", "input"]);
    assert_eq!(chain.matches("@block_v4 drop").count(), 1, "{chain}");
    let set = pair.nft(&["list", "set", "inet", "innerwarden", "block_v4"]);
    assert!(
        set.contains("10.231.0.2"),
        "ensure_table kept the element: {set}"
    );
}

#[test]
fn ipv6_and_cidr_blocks() {
    require_root!();
    let pair = Pair::new();
    setup(&pair, Backend::Netlink);
    assert!(pair.reachable_soon(TGT6), "v6 reachable before");
    apply(&pair, Backend::Netlink, block(ATT6, 128, 600));
    assert!(!pair.can_connect(TGT6), "v6 blocked");
    assert!(pair.can_connect(TGT4), "v4 unaffected");
    // A /24 given by any address inside it (host bits are cleared).
    apply(&pair, Backend::NftJson, block("10.231.0.77", 24, 600));
    assert!(!pair.can_connect(TGT4), "/24 blocks 10.231.0.2");
    let set = pair.nft(&["list", "set", "inet", "innerwarden", "block_v4"]);
    assert!(set.contains("10.231.0.0/24 timeout 10m"), "{set}");
    revert(&pair, Backend::Netlink, block("10.231.0.77", 24, 600));
    assert!(pair.can_connect(TGT4), "/24 reverted over netlink");
    // A netlink-added /24 near the top of the space, and a v6 prefix, list as nft writes them.
    apply(&pair, Backend::Netlink, block("255.255.255.9", 24, 600));
    apply(&pair, Backend::Netlink, block("2001:db8:1::", 48, 600));
    let set4 = pair.nft(&["list", "set", "inet", "innerwarden", "block_v4"]);
    assert!(set4.contains("255.255.255.0/24 timeout 10m"), "{set4}");
    let set6 = pair.nft(&["list", "set", "inet", "innerwarden", "block_v6"]);
    assert!(set6.contains("2001:db8:1::/48 timeout 10m"), "{set6}");
    assert!(set6.contains("fd31::2 timeout 10m"), "{set6}");
}

#[test]
fn rate_limit_drops_excess_new_connections() {
    require_root!();
    let pair = Pair::new();
    setup(&pair, Backend::Netlink);
    apply(
        &pair,
        Backend::Netlink,
        Action::RateLimit {
            addr: ATT4.parse().expect("ip"),
            per_minute: 30,
            ttl_secs: 600,
        },
    );
    let results: Vec<bool> = (0..12).map(|_| pair.can_connect(TGT4)).collect();
    assert!(results[0], "the first connection passes: {results:?}");
    assert!(
        results.iter().any(|ok| !ok),
        "the excess is dropped: {results:?}"
    );
    revert(
        &pair,
        Backend::Netlink,
        Action::RateLimit {
            addr: ATT4.parse().expect("ip"),
            per_minute: 30,
            ttl_secs: 600,
        },
    );
}

#[test]
fn apply_many_is_one_transaction_of_many_elements() {
    require_root!();
    let pair = Pair::new();
    setup(&pair, Backend::NftJson);
    for (backend, net) in [(Backend::NftJson, 1u8), (Backend::Netlink, 2u8)] {
        let actions: Vec<Action> = (0..1000u32)
            .map(|i| block(&format!("10.{net}.{}.{}", i / 250, i % 250 + 1), 32, 600))
            .collect();
        pair.in_tgt(move || NftResponder::new(backend).apply_many(&actions).map(|_| ()))
            .expect("batch applies");
    }
    let set = pair.nft(&["-j", "list", "set", "inet", "innerwarden", "block_v4"]);
    let v: serde_json::Value = serde_json::from_str(&set).expect("json");
    let elems = v["nftables"][1]["set"]["elem"]
        .as_array()
        .expect("elements")
        .len();
    assert_eq!(elems, 2000);
}

#[test]
fn apply_after_flush_ruleset_recreates_the_table() {
    require_root!();
    let pair = Pair::new();
    setup(&pair, Backend::Netlink);
    pair.nft(&["flush", "ruleset"]);
    apply(&pair, Backend::Netlink, block(ATT4, 32, 600));
    assert!(pair.in_tgt(|| NftResponder::new(Backend::Netlink).table_present()));
    assert!(!pair.can_connect(TGT4), "blocked by the recreated table");
    // Re-adding an element the kernel holds is not an error. Whether it takes the new timeout
    // depends on the kernel (6.18 here does; older ones keep the first), so it is only logged.
    apply(&pair, Backend::Netlink, block(ATT4, 32, 90));
    let set = pair.nft(&["list", "set", "inet", "innerwarden", "block_v4"]);
    assert!(set.contains("10.231.0.2 timeout"), "{set}");
    println!(
        "re-add of a held element took the new timeout: {}",
        set.contains("10.231.0.2 timeout 1m30s")
    );
}
