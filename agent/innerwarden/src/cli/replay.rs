//! `innerwarden replay FILE…`: feed JSONL events (the event contract) or raw auth-log lines
//! through the same channel, engine and sink as the live sensors, and print what was found.
//!
//! Without `--record` nothing is written (an in-memory sink); with it, findings go to the
//! state directory's database and audit log exactly as live ones do.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use innerwarden_core::decode::authlog::{LineContext, LineOutcome, SessionDecoder};
use innerwarden_core::event::{Event, Source};
use innerwarden_core::finding::Finding;
use innerwarden_core::proctable::ProcessTable;
use innerwarden_core::replay::{ReplayLine, classify_line};
use serde::Serialize;

use super::{Cli, load_config, table};
use crate::channel::{CountedSender, bounded};
use crate::pipeline::{self, MemorySink, Recorded, Sink};
use crate::recorder::StoreSink;
use crate::respond::Responders;
use crate::respond::stage::ResponseStage;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files of JSONL events or raw auth-log lines (`-` reads standard input).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Record into the state directory (database + audit log) instead of only printing.
    #[arg(long)]
    pub record: bool,
    /// Print findings as JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Line counts of a replay.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub lines: u64,
    pub json_events: u64,
    pub json_errors: u64,
    pub raw_events: u64,
    pub raw_ignored: u64,
    pub raw_unparsed: u64,
}

/// A sink wrapper that keeps the findings for printing.
struct Collect<'a> {
    inner: &'a mut dyn Sink,
    found: Vec<(Finding, Recorded)>,
}

impl Sink for Collect<'_> {
    fn events(&mut self, batch: &[Event]) -> anyhow::Result<()> {
        self.inner.events(batch)
    }
    fn finding(&mut self, f: &Finding, procs: &ProcessTable) -> anyhow::Result<Recorded> {
        let r = self.inner.finding(f, procs)?;
        self.found.push((f.clone(), r.clone()));
        Ok(r)
    }
    fn tick(&mut self) -> anyhow::Result<()> {
        self.inner.tick()
    }
    fn close(&mut self) -> anyhow::Result<()> {
        self.inner.close()
    }
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<ExitCode> {
    let cfg = load_config(cli)?;
    let mut memory = MemorySink::default();
    let mut store_sink;
    let sink: &mut dyn Sink = if args.record {
        // Decides like the agent, but with no responders: replay never touches the host.
        let sink = StoreSink::open(&cfg)?;
        let stage = ResponseStage::new(cfg.response.clone(), Responders::default())
            .with_model(&cfg.model, sink.store())?;
        store_sink = sink.with_response(stage);
        &mut store_sink
    } else {
        &mut memory
    };
    let mut collect = Collect {
        inner: sink,
        found: Vec::new(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let engine = crate::correlation::engine(&cfg)?;
    let (counts, stats) = rt.block_on(async {
        let (tx, rx) = bounded::<Event>("events", cfg.agent.event_queue);
        let (_stop, stop_rx) = tokio::sync::watch::channel(false);
        let drops = vec![tx.drops().clone()];
        let files = args.files.clone();
        let producer = tokio::task::spawn_blocking(move || feed(&files, &tx));
        let stats = pipeline::run(
            rx,
            engine,
            &mut collect,
            drops,
            stop_rx,
            Duration::from_secs(1),
        )
        .await?;
        let counts = producer.await.context("replay reader panicked")??;
        anyhow::Ok((counts, stats))
    })?;
    collect.close()?;
    if args.json {
        for (f, r) in &collect.found {
            let mut v = serde_json::to_value(f)?;
            v["incident_id"] = r.incident_id.into();
            println!("{v}");
        }
    } else {
        print_table(&collect.found);
    }
    eprintln!(
        "replay: {} lines, {} events ({} JSON, {} from log lines), {} log lines ignored, \
         {} unparsed, {} bad JSON; {} findings, {} incidents{}",
        counts.lines,
        stats.events,
        counts.json_events,
        counts.raw_events,
        counts.raw_ignored,
        counts.raw_unparsed,
        counts.json_errors,
        stats.findings,
        stats.incidents_opened,
        if args.record { " (recorded)" } else { "" }
    );
    Ok(if counts.json_errors > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Read every file and send its events (lossless: replay waits for the pipeline).
fn feed(files: &[PathBuf], tx: &CountedSender<Event>) -> anyhow::Result<Counts> {
    let mut counts = Counts::default();
    let mut decoder = SessionDecoder::new(LineContext::new(Utc::now(), Source::Authlog));
    for path in files {
        let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            let f =
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            Box::new(BufReader::new(f))
        };
        for (n, line) in reader.split(b'\n').enumerate() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            let line = String::from_utf8_lossy(&line);
            counts.lines += 1;
            let ev = match classify_line(&line) {
                ReplayLine::Skip => continue,
                ReplayLine::Json(Ok(ev)) => {
                    counts.json_events += 1;
                    ev
                }
                ReplayLine::Json(Err(e)) => {
                    counts.json_errors += 1;
                    eprintln!(
                        "{}:{}: not an event of the contract: {e}",
                        path.display(),
                        n + 1
                    );
                    continue;
                }
                ReplayLine::Raw(raw) => match decoder.decode_line(raw) {
                    LineOutcome::Event(ev) => {
                        counts.raw_events += 1;
                        ev
                    }
                    LineOutcome::Ignored => {
                        counts.raw_ignored += 1;
                        continue;
                    }
                    LineOutcome::Unparsed { .. } => {
                        counts.raw_unparsed += 1;
                        continue;
                    }
                },
            };
            tx.blocking_send(ev)?;
        }
    }
    Ok(counts)
}

fn print_table(found: &[(Finding, Recorded)]) {
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|(f, r)| {
            vec![
                r.incident_id.to_string(),
                f.ts.format("%Y-%m-%d %H:%M:%S").to_string(),
                f.detector.clone(),
                f.technique.clone(),
                f.severity.to_string(),
                f.entity.to_string(),
                f.summary.clone(),
            ]
        })
        .collect();
    table::print(
        &[
            "INCIDENT", "TIME", "DETECTOR", "ATT&CK", "SEVERITY", "ENTITY", "SUMMARY",
        ],
        &rows,
    );
}
