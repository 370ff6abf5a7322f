//! Prints the block-latency table of `bench_block` (a benchmark, not a timed assertion).
//! Run: `cargo test --release -p innerwarden --test nft_bench -- --ignored --nocapture`
//! (root; it creates and leaves a private network namespace, never the host's firewall).

use innerwarden::respond::nft::bench::bench_block;

#[test]
#[ignore = "benchmark: needs root and nft; run with --ignored --nocapture"]
fn bench_block_table() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: not root");
        return;
    }
    let n = std::env::var("IW_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let report = bench_block(n).expect("benchmark runs");
    println!("{report}");
}
