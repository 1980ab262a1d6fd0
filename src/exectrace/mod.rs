//! Go execution traces (Go 1.22+): a streaming parser and the `golat trace` startup summary.

use crate::cli::TraceArgs;

pub fn run(_args: &TraceArgs) -> anyhow::Result<u8> {
    anyhow::bail!("trace is not built yet")
}
