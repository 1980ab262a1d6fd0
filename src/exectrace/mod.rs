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
pub mod startup;
pub mod summary;
pub mod wire;

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::Context;

use crate::cli::TraceArgs;

pub use error::{ErrorKind, TraceError};
pub use order::Event;
pub use reader::Reader;
pub use summary::{SummarizeOptions, Summary, summarize, summarize_reader, summarize_reader_with};

pub fn run(args: &TraceArgs) -> anyhow::Result<u8> {
    generation::MAX_GENERATION_BYTES.store(
        args.max_generation_mb.saturating_mul(1 << 20),
        std::sync::atomic::Ordering::Relaxed,
    );
    let stdin = args.file.as_os_str() == "-";
    let file = if stdin {
        use std::os::fd::AsFd;
        File::from(
            std::io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .context("cannot read standard input")?,
        )
    } else {
        open_waiting(&args.file)?
    };
    let name = if stdin {
        "standard input".to_string()
    } else {
        args.file.display().to_string()
    };
    // The version is known once the header is read; until then no hint depends on it.
    let ver = std::cell::Cell::new(0u32);
    let at = |e: TraceError| anyhow::anyhow!("{name}: {}", explain(e, ver.get()));
    let reader = if args.single_thread {
        Reader::from_file(file)
    } else {
        Reader::threaded_file(file)
    };
    let mut r = reader.map_err(at)?;
    ver.set(r.version());
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
    let st = startup_options(args)?;
    let sum = summarize_reader_with(r, &opts, &st).map_err(at)?;
    if sum.bytes <= HEADER_BYTES && sum.generations == 0 {
        return Err(at(header_only()));
    }
    if let (Some(path), Some(tl)) = (&args.timeline, &sum.timeline) {
        let f = File::create(path)
            .with_context(|| format!("cannot write the timeline {}", path.display()))?;
        let mut w = BufWriter::new(f);
        serde_json::to_writer(&mut w, tl)?;
        w.flush()
            .with_context(|| format!("cannot write the timeline {}", path.display()))?;
        if tl.dropped_slices > 0 {
            eprintln!(
                "golat: warning: the timeline kept its first {} slices and dropped {} (a shorter --window keeps them all)",
                startup::TIMELINE_CAP,
                tl.dropped_slices
            );
        }
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.json {
        serde_json::to_writer_pretty(&mut out, &sum)?;
        writeln!(out)?;
    } else {
        render::table_with(
            &mut out,
            &sum,
            &name,
            &render::RenderOptions {
                top: args.top,
                depth: args.depth,
            },
        )?;
    }
    out.flush()?;
    for w in &sum.warnings {
        eprintln!("golat: warning: {w}");
    }
    Ok(0)
}

/// The flags (validated by clap) as the summarizer's options.
fn startup_options(args: &TraceArgs) -> anyhow::Result<startup::StartupOptions> {
    let d = |s: &str| startup::parse_duration_ns(s).map_err(anyhow::Error::msg);
    let until = if args.until == "main" {
        startup::Until::Main
    } else {
        startup::Until::At(d(&args.until)?)
    };
    let mut thresholds = startup::StartupOptions::default().thresholds;
    if let Some(t) = &args.threshold {
        thresholds = startup::parse_thresholds(t, thresholds).map_err(anyhow::Error::msg)?;
    }
    let mut o = startup::StartupOptions::new(until, d(&args.window)?, thresholds);
    o.timeline = args.timeline.is_some();
    Ok(o)
}

/// The size of a trace's header: `go 1.N trace` padded with NULs.
const HEADER_BYTES: u64 = 16;

fn header_only() -> TraceError {
    TraceError::new(
        ErrorKind::Truncated,
        "the trace holds its header and nothing else: the runtime had not yet written its \
         first generation (a program that exits or is killed before trace.Stop, or a file \
         copied while it was being written)",
    )
}

/// Adds what a user needs to an error whose cause the parser cannot see.
fn explain(e: TraceError, ver: u32) -> TraceError {
    // Before Go 1.26 a generation has no end marker and its tables come last: a generation
    // cut short is missing the stacks and strings its events refer to, and reads as corrupt.
    if e.kind == ErrorKind::Corrupt && e.offset == Some(HEADER_BYTES) {
        return header_only();
    }
    if e.kind == ErrorKind::Corrupt && (22..26).contains(&ver) {
        let mut e = e;
        e.msg.push_str(
            " (a Go 1.22-1.25 trace cut short reads this way too: its last generation's \
             stack and string tables come at its end; if the program was killed or the file \
             copied while being written, the trace ends early rather than being damaged)",
        );
        return e;
    }
    e
}

/// Opens a trace file; on a FIFO that no writer has opened yet, says it is waiting rather
/// than blocking silently in open(2).
fn open_waiting(path: &std::path::Path) -> anyhow::Result<File> {
    use std::os::unix::fs::FileTypeExt;
    let fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
    if !fifo {
        return File::open(path).with_context(|| format!("cannot open {}", path.display()));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(File::open(owned));
    });
    let opened = match rx.recv_timeout(std::time::Duration::from_millis(500)) {
        Ok(r) => r,
        Err(_) => {
            eprintln!(
                "golat: waiting for a writer to open the FIFO {} (Ctrl-C to stop)",
                path.display()
            );
            rx.recv().context("opening the FIFO")?
        }
    };
    opened.with_context(|| format!("cannot open {}", path.display()))
}
