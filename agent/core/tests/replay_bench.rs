//! Decoder throughput on loghub OpenSSH_2k repeated to 200k lines. Not a gate (timing is
//! machine dependent); run it in release:
//!
//! ```text
//! cargo test -p innerwarden-core --release --test replay_bench -- --ignored --nocapture
//! ```

use innerwarden_core::qa::bench_replay_lines;

#[test]
#[ignore = "benchmark: run explicitly in release mode"]
fn auth_lines_per_second() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/research/data/dev/loghub/OpenSSH/OpenSSH_2k.log"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        println!("skipped: {path} not found");
        return;
    };
    let base: Vec<String> = text.lines().map(str::to_owned).collect();
    let lines: Vec<String> = base.iter().cycle().take(200_000).cloned().collect();
    let _ = bench_replay_lines(&lines[..10_000]); // warm up
    println!(
        "{:>4} {:>9} {:>9} {:>14}",
        "run", "lines", "secs", "lines/s/core"
    );
    let mut best = 0.0f64;
    for run in 1..=5 {
        let (n, secs) = bench_replay_lines(&lines);
        let rate = n as f64 / secs;
        best = best.max(rate);
        println!("{run:>4} {n:>9} {secs:>9.4} {rate:>14.0}");
    }
    println!("best: {best:.0} auth-log lines/s on one core");
}
