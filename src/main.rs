//! Entry point: parse the command line, run, and own the exit-code policy.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The tracer's calibration child re-enters golat; it must do nothing but its loop.
    let mut args = std::env::args_os();
    if args.nth(1).is_some_and(|a| a == "__golat_calibrate") {
        let rounds = args.next().and_then(|n| n.into_string().ok()?.parse().ok());
        golat::tracer::calibration_child(rounds.unwrap_or(100));
    }
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
