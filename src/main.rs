//! The `leadscore` binary: parses arguments and hands them to `leadscore-cli`.

use std::process::ExitCode;

use clap::Parser;

/// Scoring and loading make many small, short-lived allocations (cells, rows, answers) across
/// threads, where mimalloc's per-thread heaps beat the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = leadscore_cli::Cli::parse();
    match leadscore_cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", leadscore_cli::one_line(&error));
            ExitCode::from(leadscore_cli::exit_status(&error))
        }
    }
}
