//! `innerwarden bench`: measurements printed as tables, each next to the peer it names.
//!
//! - `exec`: exec events/s the kernel sensor delivers with zero loss (root).
//! - `syscalls`: ns per syscall with no sensor, the base sensor, and every program (root).
//! - `block`: decision → nft element committed, p50/p99, next to `nft` per block (root).
//! - `model`: the local model's scoring latency per incident and training time.
//! - `replay`: auth-log lines/s decoded per core, next to `fail2ban-regex` on the same file when
//!   it is installed (`apt-get install fail2ban`).
//! - `sigma`: exec events/s through every loaded Sigma rule of a directory (process table
//!   updates included), next to the same stream with no rules.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use innerwarden_core::qa::bench_replay_lines;

use super::{Cli, table};
use crate::respond::nft::bench::bench_block;
use crate::sensor::ebpf::{EbpfConfig, bench_exec, bench_syscalls};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Exec events/s through the eBPF sensor with zero loss (needs root).
    Exec {
        /// Parallel spawner threads.
        #[arg(long, default_value_t = 4)]
        spawners: usize,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// ns per syscall of syscall-heavy loops with no sensor, with the exec/fork/exit/tcp/open
    /// programs alone, and with every program (needs root).
    Syscalls {
        #[arg(long, default_value_t = 200_000)]
        iterations: usize,
        /// Rounds per workload and setup; the best is kept.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Time from decision to nft element committed, over N single blocks, next to one `nft`
    /// process per block (what fail2ban does). Runs in a private network namespace (root).
    Block {
        #[arg(long, default_value_t = 1000)]
        n: usize,
    },
    /// Sigma matcher throughput: a realistic exec stream through every rule loaded from DIR.
    Sigma {
        dir: PathBuf,
        #[arg(long, default_value_t = 200_000)]
        events: usize,
    },
    /// Local model: scoring latency per incident and training time on the shipped corpus.
    Model {
        #[arg(long, default_value_t = 100_000)]
        n: usize,
        #[arg(long, default_value_t = 20)]
        train_runs: usize,
    },
    /// Detection throughput: a realistic mixed stream of N events through every detector and
    /// rule (the configured set), next to the code detectors alone.
    Detect {
        #[arg(long, default_value_t = 500_000)]
        events: usize,
    },
    /// Auth-log decode throughput on FILE repeated to --lines lines.
    Replay {
        file: PathBuf,
        #[arg(long, default_value_t = 200_000)]
        lines: usize,
    },
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    match &args.command {
        BenchCommand::Detect { events } => super::bench_detect::run(cli, *events)?,
        BenchCommand::Exec { spawners, seconds } => {
            let r = bench_exec(
                EbpfConfig::default(),
                *spawners,
                Duration::from_secs(*seconds),
            )?;
            table::print(
                &[
                    "SPAWNERS",
                    "SECONDS",
                    "SPAWNED",
                    "RECEIVED",
                    "LOST",
                    "RING_FAILURES",
                    "EXEC/S",
                ],
                &[vec![
                    r.spawners.to_string(),
                    format!("{:.2}", r.seconds),
                    r.spawned.to_string(),
                    r.received.to_string(),
                    r.lost.to_string(),
                    r.ring_reserve_failures.to_string(),
                    format!("{:.0}", r.received_per_sec),
                ]],
            );
        }
        BenchCommand::Syscalls { iterations, rounds } => {
            let rows = bench_syscalls(EbpfConfig::default(), *iterations, *rounds)?;
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.workload.to_owned(),
                        r.filter.to_owned(),
                        format!("{:.0}", r.none_ns),
                        format!("{:.0}", r.base_ns),
                        format!("{:.0}", r.full_ns),
                        format!("{:+.0}", r.full_ns - r.base_ns),
                    ]
                })
                .collect();
            table::print(
                &[
                    "WORKLOAD",
                    "NEW PROGRAMS",
                    "NO_SENSOR_NS",
                    "BASE_NS",
                    "FULL_NS",
                    "FULL-BASE",
                ],
                &rows,
            );
        }
        BenchCommand::Replay { file, lines } => bench_replay(file, *lines)?,
        BenchCommand::Block { n } => print!("{}", bench_block(*n)?),
        BenchCommand::Sigma { dir, events } => bench_sigma(dir, *events)?,
        BenchCommand::Model { n, train_runs } => {
            super::bench_model::bench_model(*n, *train_runs)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_replay(file: &PathBuf, n: usize) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let base: Vec<String> = text.lines().map(str::to_owned).collect();
    anyhow::ensure!(!base.is_empty(), "{} is empty", file.display());
    let lines: Vec<String> = base.iter().cycle().take(n).cloned().collect();
    // Best of 5 runs: the machine is shared, the minimum is the least disturbed.
    let best = (0..5)
        .map(|_| bench_replay_lines(&lines).1)
        .fold(f64::INFINITY, f64::min);
    let mut rows = vec![vec![
        "innerwarden (decode, 1 core)".to_owned(),
        lines.len().to_string(),
        format!("{best:.3}"),
        format!("{:.0}", lines.len() as f64 / best),
    ]];
    // The peer: fail2ban's own matcher on the same lines, when installed.
    let tmp = std::env::temp_dir().join(format!("iw-bench-{}.log", std::process::id()));
    std::fs::write(&tmp, lines.join("\n")).context("writing the bench input")?;
    let start = Instant::now();
    let peer = Command::new("fail2ban-regex")
        .args([tmp.as_os_str(), "/etc/fail2ban/filter.d/sshd.conf".as_ref()])
        .output();
    let secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&tmp);
    match peer {
        Ok(out) if out.status.success() => rows.push(vec![
            "fail2ban-regex sshd.conf".to_owned(),
            lines.len().to_string(),
            format!("{secs:.3}"),
            format!("{:.0}", lines.len() as f64 / secs),
        ]),
        _ => rows.push(vec![
            "fail2ban-regex (not installed: apt-get install fail2ban)".to_owned(),
            "-".into(),
            "-".into(),
            "-".into(),
        ]),
    }
    table::print(&["DECODER", "LINES", "SECONDS", "LINES/S"], &rows);
    Ok(())
}

fn bench_sigma(dir: &std::path::Path, events: usize) -> anyhow::Result<()> {
    use innerwarden_core::sigma::bench::bench_exec_stream;
    use innerwarden_core::sigma::{RuleSet, SigmaDetector};
    let set = crate::sigma_rules::load_dir(dir)?;
    let mut rows = Vec::new();
    for (label, set) in [
        ("no rules (baseline)", RuleSet::default()),
        ("all loaded rules", set),
    ] {
        // Best of 5 runs: the machine is shared, the minimum is the least disturbed.
        let mut det = SigmaDetector::new(set, Default::default());
        let best = (0..5)
            .map(|_| bench_exec_stream(&mut det, events))
            .min_by(|a, b| a.seconds.total_cmp(&b.seconds))
            .context("no run")?;
        rows.push(vec![
            label.to_owned(),
            best.rules.to_string(),
            best.events.to_string(),
            best.findings.to_string(),
            format!("{:.3}", best.seconds),
            format!("{:.0}", best.events_per_sec),
        ]);
    }
    table::print(
        &[
            "SIGMA",
            "RULES",
            "EXEC EVENTS",
            "FINDINGS",
            "SECONDS",
            "EVENTS/S",
        ],
        &rows,
    );
    Ok(())
}
