//! golat as a library: every subcommand's work lives here; `main.rs` only parses and exits.
//!
//! Data flows one way: options → tracer events → model → analysis → render.

// The ptrace engine is the only place for `unsafe`; everything else goes through safe
// wrappers (std, nix).
#![deny(unsafe_code)]

pub mod analyze;
pub mod audit;
pub mod calibration;
pub mod cli;
pub mod event;
pub mod exectrace;
pub mod fsinfo;
pub mod gosrc;
pub mod model;
pub mod profile;
pub mod render;
pub mod report_cmd;
#[allow(unsafe_code)]
pub mod tracer;
pub mod whatif;

use cli::{Cli, Command};

/// Exit code when golat itself fails (as `env`, `nice` and `timeout` use 125), so it cannot
/// be mistaken for an exit code of the profiled command.
pub const EXIT_GOLAT_FAILED: u8 = 125;

/// Runs one subcommand and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Profile(args) => profile::run(&args),
        Command::Report(args) => report_cmd::run_report(&args),
        Command::Diff(args) => report_cmd::run_diff(&args),
        Command::Trace(args) => exectrace::run(&args),
        Command::PathAudit(args) => audit::path::run(&args),
        Command::EnvCheck(args) => audit::env::run(&args),
        Command::Whatif(args) => whatif::run(&args),
    }
}

/// True when the error chain ends in EPIPE: the reader of our stdout went away.
/// `serde_json::to_writer` wraps the write's io error in its own error type.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
    })
}
