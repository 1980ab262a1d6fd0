//! Entry point: parse the command line, run, and own the exit-code policy.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = golat::cli::Cli::parse();
    match golat::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // A closed pipe (`golat ... | head`) is the reader's choice, not a failure.
            if golat::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("golat: {err:#}");
            ExitCode::from(golat::EXIT_GOLAT_FAILED)
        }
    }
}
