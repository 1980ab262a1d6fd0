//! Go execution traces (Go 1.22+): a streaming parser and the `golat trace` startup summary.
//!
//! Layers: `wire` (header, varints) → `generation` (one generation's batches and tables) →
//! `merge` (per-M cursors, Go's heap) → `reader` + `order` (Go's ordering state machine;
//! `pipe` runs reading and merging on a second thread) → `event` (state transitions) →
//! `summary` (aggregation) → `render` (table). `overlay` captures traces of `go` commands.

pub mod error;
pub mod event;
mod fxmap;
pub mod generation;
mod merge;
pub mod order;
pub mod overlay;
pub mod pipe;
pub mod reader;
pub mod render;
pub mod spec;
pub mod summary;
pub mod wire;

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::Context;

use crate::cli::TraceArgs;

pub use error::{ErrorKind, TraceError};
pub use order::Event;
pub use reader::Reader;
pub use summary::{SummarizeOptions, Summary, summarize, summarize_reader};

pub fn run(args: &TraceArgs) -> anyhow::Result<u8> {
    let file =
        File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let at = |e: TraceError| anyhow::anyhow!("{}: {e}", args.file.display());
    let reader = if args.single_thread {
        Reader::from_file(file)
    } else {
        Reader::threaded_file(file)
    };
    let mut r = reader.map_err(at)?;
    if args.parse_only {
        let mut n = 0u64;
        // `next_ref`: counting needs no copy of each event. `Src` buffers the file itself.
        while r.next_ref().map_err(at)?.is_some() {
            n += 1;
        }
        writeln!(std::io::stdout().lock(), "events {n}")?;
        return Ok(0);
    }
    let opts = SummarizeOptions { top: args.top };
    let sum = summarize_reader(r, &opts).map_err(at)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.json {
        serde_json::to_writer_pretty(&mut out, &sum)?;
        writeln!(out)?;
    } else {
        render::table(&mut out, &sum, &args.file.display().to_string(), args.top)?;
    }
    out.flush()?;
    for w in &sum.warnings {
        eprintln!("golat: warning: {w}");
    }
    Ok(0)
}
