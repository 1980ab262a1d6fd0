//! Findings shared by `path-audit` and `env-check`: severities and the `--fail-on` exit policy.

mod detach;
pub use detach::stdout_is_terminal;
pub mod env;
pub mod path;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::cli::FailOn;

/// How bad a finding is. Ordered: `Ok < Info < Warn < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Info,
    Warn,
    Error,
}

/// Exit code when the worst finding at or above `--fail-on` is a warning.
pub const EXIT_WARN: u8 = 1;
/// Exit code when it is an error: not 2, which is clap's (and golat's) usage error, so a
/// script can tell "bad flags" from "bad environment".
pub const EXIT_ERROR: u8 = 3;

/// Exit code for the worst severity seen: 0 below the `--fail-on` threshold, else
/// [`EXIT_WARN`] or [`EXIT_ERROR`] (documented in README).
pub fn exit_code(worst: Severity, fail_on: FailOn) -> u8 {
    let threshold = match fail_on {
        FailOn::Never => return 0,
        FailOn::Warn => Severity::Warn,
        FailOn::Error => Severity::Error,
    };
    if worst < threshold {
        0
    } else if worst == Severity::Error {
        EXIT_ERROR
    } else {
        EXIT_WARN
    }
}

/// Where `go install` puts commands (GOBIN, else the first GOPATH entry's bin, else
/// $HOME/go/bin), from the environment and the user's go/env file: both doctors judge that
/// directory the same way (env-check GO022 asks for it on PATH; path-audit does not call it
/// a stale entry before it exists). The go/env file is read under `timeout` ($GOENV may name
/// a FIFO or a file on a dead mount). None when it is not an absolute path.
pub fn go_install_dir(
    env: &BTreeMap<String, String>,
    timeout: std::time::Duration,
) -> Option<PathBuf> {
    use crate::gosrc::goenv;
    let mut settings = goenv::Settings {
        env: env.clone(),
        ..goenv::Settings::default()
    };
    if let Ok((file, _)) = goenv::user_env_file(env)
        && let Ok(Ok(data)) = crate::fsinfo::with_timeout(timeout, move || std::fs::read(file))
    {
        settings.user_file = goenv::parse_env_file(&data);
    }
    let gobin = settings.val("GOBIN");
    let dir = if gobin.is_empty() {
        settings.gopath_dir("bin")?
    } else {
        PathBuf::from(gobin)
    };
    dir.is_absolute().then(|| goenv::clean(&dir))
}
