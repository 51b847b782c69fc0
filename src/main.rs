//! The `leadscore` binary: parses arguments and hands them to `leadscore-cli`.

use std::process::ExitCode;

use clap::Parser;

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
