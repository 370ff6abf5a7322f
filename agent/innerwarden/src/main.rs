//! `innerwarden`: parse the command line, set up logging, hand over to the library.

use std::process::ExitCode;

use clap::Parser;
use innerwarden::cli::{self, Cli};

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
