//! `bench_block`: how long a block takes from "decision handed to the responder" to "element
//! committed in the kernel" (the ACK, or `nft` exiting 0), per path, measured in a private
//! network namespace the benchmark creates (the host's firewall is never touched).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use innerwarden_core::decide::action::Action;

use super::{Backend, NftError, NftResponder, elements, netns};
use crate::respond::Responder;

/// Latencies of one path.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchRow {
    pub path: &'static str,
    /// Blocks committed.
    pub blocks: usize,
    /// Transactions (samples) timed.
    pub transactions: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub mean: Duration,
    pub total: Duration,
}

/// The result of [`bench_block`].
#[derive(Debug, Clone, PartialEq)]
pub struct BlockBenchReport {
    pub n: usize,
    pub rows: Vec<BenchRow>,
}

impl fmt::Display for BlockBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<46} {:>6} {:>4} {:>10} {:>10} {:>10} {:>10} {:>12}",
            "path (n blocks)", "blocks", "txns", "p50", "p99", "mean", "total", "blocks/s"
        )?;
        for r in &self.rows {
            let rate = r.blocks as f64 / r.total.as_secs_f64().max(1e-9);
            writeln!(
                f,
                "{:<46} {:>6} {:>4} {:>10} {:>10} {:>10} {:>10} {:>12.0}",
                r.path,
                r.blocks,
                r.transactions,
                fmt_d(r.p50),
                fmt_d(r.p99),
                fmt_d(r.mean),
                fmt_d(r.total),
                rate
            )?;
        }
        Ok(())
    }
}

fn fmt_d(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1}µs")
    } else if us < 1e6 {
        format!("{:.2}ms", us / 1000.0)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

fn row(path: &'static str, blocks: usize, mut samples: Vec<Duration>) -> BenchRow {
    samples.sort_unstable();
    let total: Duration = samples.iter().sum();
    let pick = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).copied().unwrap_or_default()
    };
    BenchRow {
        path,
        blocks,
        transactions: samples.len(),
        p50: pick(0.50),
        p99: pick(0.99),
        mean: total / u32::try_from(samples.len().max(1)).unwrap_or(u32::MAX),
        total,
    }
}

/// `n` distinct /32 blocks in 10.`net`.0.0/16 and up.
fn blocks(net: u8, n: usize) -> Vec<Action> {
    (0..n)
        .map(|i| {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            let a = u32::from(Ipv4Addr::new(10, net, 0, 0)).wrapping_add(i + 1);
            Action::Block {
                addr: IpAddr::V4(a.into()),
                prefix: 32,
                ttl_secs: 3600,
            }
        })
        .collect()
}

fn one_at_a_time(r: &mut NftResponder, actions: &[Action]) -> Result<Vec<Duration>, NftError> {
    let mut samples = Vec::with_capacity(actions.len());
    for a in actions {
        let t = Instant::now();
        r.apply(a).map_err(|e| NftError::Nft {
            op: "benchmark apply",
            status: String::new(),
            stderr: e.to_string(),
        })?;
        samples.push(t.elapsed());
    }
    Ok(samples)
}

fn run(n: usize) -> Result<BlockBenchReport, NftError> {
    let mut rows = Vec::new();
    let mut nl = NftResponder::setup(Backend::Netlink)?;
    let mut js = NftResponder::new(Backend::NftJson);

    rows.push(row(
        "netlink batch, one transaction per block",
        n,
        one_at_a_time(&mut nl, &blocks(1, n))?,
    ));
    rows.push(row(
        "nft -j (nftables crate JSON), one per block",
        n,
        one_at_a_time(&mut js, &blocks(2, n))?,
    ));
    let mut samples = Vec::with_capacity(n);
    for a in blocks(3, n) {
        let Action::Block { addr, .. } = a else {
            continue;
        };
        let set = format!("{{ {addr} timeout 3600s }}");
        let t = Instant::now();
        elements::run(
            "benchmark nft add element",
            &["add", "element", "inet", "innerwarden", "block_v4", &set],
            None,
        )?;
        samples.push(t.elapsed());
    }
    rows.push(row(
        "nft add element CLI, one process per block",
        n,
        samples,
    ));
    let batch = blocks(4, n);
    let t = Instant::now();
    js.apply_many(&batch)?;
    rows.push(row(
        "nft -j, all n in one transaction",
        n,
        vec![t.elapsed()],
    ));
    let batch = blocks(5, n);
    let t = Instant::now();
    nl.apply_many(&batch)?;
    rows.push(row(
        "netlink, all n in one transaction",
        n,
        vec![t.elapsed()],
    ));
    Ok(BlockBenchReport { n, rows })
}

/// Time `n` single blocks through each path, and one batch of `n`, in a private network
/// namespace. Needs root (CAP_SYS_ADMIN for the namespace, CAP_NET_ADMIN inside) and `nft`.
pub fn bench_block(n: usize) -> Result<BlockBenchReport, NftError> {
    netns::in_new_netns(move || run(n)).map_err(|source| NftError::Netlink {
        op: "entering a private network namespace",
        source,
    })?
}
