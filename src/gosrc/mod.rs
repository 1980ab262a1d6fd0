//! Pure parsers of what Go writes: build info in binaries, inittrace lines, -debug-trace and
//! -debug-actiongraph JSON, go/env files and go.mod lines, and the go command's argv.

pub mod actiongraph;
pub mod buildinfo;
pub mod cachehash;
pub mod debugtrace;
pub mod elf;
pub mod goargs;
pub mod goenv;
pub mod inittrace;
pub mod symbols;
