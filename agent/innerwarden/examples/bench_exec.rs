//! Exec throughput of the kernel sensor until `innerwarden bench exec` exists:
//! `cargo run --release --example bench_exec -- [SPAWNERS] [SECONDS]` (root).

use std::time::Duration;

use innerwarden::sensor::ebpf::{EbpfConfig, bench_exec};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let spawners: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(4);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let r = bench_exec(
        EbpfConfig::default(),
        spawners,
        Duration::from_secs(seconds),
    )?;
    println!(
        "spawners  seconds  spawned  received  lost  ring_reserve_failures  channel_dropped  exec/s"
    );
    println!(
        "{:>8}  {:>7.2}  {:>7}  {:>8}  {:>4}  {:>21}  {:>15}  {:>6.0}",
        r.spawners,
        r.seconds,
        r.spawned,
        r.received,
        r.lost,
        r.ring_reserve_failures,
        r.channel_dropped,
        r.received_per_sec
    );
    Ok(())
}
