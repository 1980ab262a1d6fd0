//! `golat path-audit`: findings about $PATH entries, shadowed executables and lookup cost.

use crate::cli::PathAuditArgs;

pub fn run(_args: &PathAuditArgs) -> anyhow::Result<u8> {
    anyhow::bail!("path-audit is not built yet")
}
