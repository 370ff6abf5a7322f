//! `innerwarden`: parse the command line, set up logging, hand over to the library.

use std::process::ExitCode;

use clap::Parser;
use innerwarden::cli::{self, Cli};

/// jemalloc: steadier RSS than glibc malloc for a long-running agent with bursty allocation
/// (its arenas return memory and do not fragment across threads the way glibc's do).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    innerwarden::logging::init();
    let cli = Cli::parse();
    match cli::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("innerwarden: {e:#}");
            ExitCode::FAILURE
        }
    }
}
