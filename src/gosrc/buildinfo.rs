//! Reads the Go build-info blob (`\xff Go buildinf:`) from an executable without running it.

use std::path::Path;

/// What a Go binary says about how it was built.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BuildInfo {
    /// e.g. `go1.26.8`
    pub go_version: String,
    /// The `path` line of the module info (`cmd/go`, `cmd/compile`, ...), if any.
    pub path: Option<String>,
    /// The `mod` line's module path, if any.
    pub main_module: Option<String>,
    /// `build` settings such as `-trimpath=true`, `GOOS=linux`, in file order.
    pub settings: Vec<(String, String)>,
}

/// Reads build info from the file at `path`. Errors name the file and why (not a Go binary, ...).
pub fn read(_path: &Path) -> anyhow::Result<BuildInfo> {
    anyhow::bail!("buildinfo is not built yet")
}
