//! Pure parsers of what Go writes: build info in binaries, inittrace lines, -debug-trace JSON.

pub mod buildinfo;
pub mod debugtrace;
pub mod goargs;
pub mod inittrace;
