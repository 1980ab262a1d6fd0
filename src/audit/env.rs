//! `golat env-check`: a doctor for the Go environment.

use crate::cli::EnvCheckArgs;

pub fn run(_args: &EnvCheckArgs) -> anyhow::Result<u8> {
    anyhow::bail!("env-check is not built yet")
}
