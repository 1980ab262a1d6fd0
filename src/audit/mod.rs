//! Findings shared by `path-audit` and `env-check`: severities and the `--fail-on` exit policy.

pub mod env;
pub mod path;

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

/// Exit code for the worst severity seen: 0 below the `--fail-on` threshold, else 1 for a
/// warning and 2 for an error (documented in README).
pub fn exit_code(worst: Severity, fail_on: FailOn) -> u8 {
    let threshold = match fail_on {
        FailOn::Never => return 0,
        FailOn::Warn => Severity::Warn,
        FailOn::Error => Severity::Error,
    };
    if worst < threshold {
        0
    } else if worst == Severity::Error {
        2
    } else {
        1
    }
}
