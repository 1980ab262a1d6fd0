//! `golat trace` on inputs that are not a trace file on disk, or not a trace at all: an
//! endless stream (memory stays under the per-generation limit, then a clear error), standard
//! input, a FIFO with no writer yet, a header and nothing else, gzip'ed files. One test file
//! of its own: the memory check reads the peak RSS of this process's children.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{golat, output_timeout, wait_timeout};

/// A Go 1.26 header, then one event batch of 64 KiB for generation 1 after another,
/// forever: a generation that never ends.
fn endless_batch() -> Vec<u8> {
    // EvEventBatch, gen 1, M 1, time 1, size 65536 (varint 0x80 0x80 0x04).
    let mut b = vec![1u8, 1, 1, 1, 0x80, 0x80, 0x04];
    // Event data starting with EvProcStart: an event batch, kept as such.
    b.extend(std::iter::repeat_n(10u8, 64 << 10));
    b
}

fn max_child_rss_mb() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct it is given.
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) },
        0
    );
    ru.ru_maxrss as f64 / 1024.0
}

#[test]
fn an_endless_stream_stops_at_the_generation_limit_with_bounded_memory() {
    let mut child = Command::new(golat())
        .args(["trace", "--max-generation-mb", "64", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let batch = endless_batch();
        let mut written = 0usize;
        if stdin.write_all(b"go 1.26 trace\0\0\0").is_err() {
            return written;
        }
        // Until golat stops reading (broken pipe), at most 4 GB.
        while written < 4 << 30 && stdin.write_all(&batch).is_ok() {
            written += batch.len();
        }
        written
    });
    let status = wait_timeout(&mut child, 120);
    let written = writer.join().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(125), "{err}");
    assert!(err.contains("--max-generation-mb"), "{err}");
    assert!(err.contains("generation 1"), "{err}");
    assert!(
        written < 1 << 30,
        "golat read {written} bytes before stopping"
    );
    let rss = max_child_rss_mb();
    assert!(
        rss < 200.0,
        "golat grew to {rss:.0} MB under a 64 MB generation limit"
    );
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let trace = common::repo().join("fixtures/trace/testdata/go1.26.0.trace");
    let from_file = output_timeout(
        Command::new(golat()).args(["trace", "--json"]).arg(&trace),
        60,
    );
    assert!(from_file.status.success(), "{from_file:?}");
    let from_stdin = output_timeout(
        Command::new("sh").arg("-c").arg(format!(
            "cat '{}' | '{}' trace --json -",
            trace.display(),
            golat().display()
        )),
        60,
    );
    assert!(from_stdin.status.success(), "{from_stdin:?}");
    assert_eq!(from_file.stdout, from_stdin.stdout);
}

#[test]
fn a_fifo_without_a_writer_says_it_is_waiting() {
    let t = tempfile::tempdir().unwrap();
    let fifo = t.path().join("trace.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let path = fifo.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        std::fs::write(path, b"go 1.26 trace\0\0\0").unwrap();
    });
    let out = output_timeout(Command::new(golat()).arg("trace").arg(&fifo), 60);
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("waiting for a writer"), "{err}");
    // What the writer sent is a header and nothing else, and golat says so.
    assert!(err.contains("holds its header and nothing else"), "{err}");
    assert_eq!(out.status.code(), Some(125));
}

#[test]
fn a_header_only_file_is_named_for_what_it_is_in_every_version() {
    let t = tempfile::tempdir().unwrap();
    for v in ["22", "23", "25", "26"] {
        let f = t.path().join(format!("h{v}.trace"));
        std::fs::write(&f, format!("go 1.{v} trace\0\0\0")).unwrap();
        let out = output_timeout(Command::new(golat()).arg("trace").arg(&f), 30);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{v}: {err}");
        assert!(
            err.contains("holds its header and nothing else"),
            "{v}: {err}"
        );
    }
}

#[test]
fn gzip_files_are_told_apart_pprof_from_a_gzipped_trace() {
    let t = tempfile::tempdir().unwrap();
    // Go's pprof writer: no FNAME flag. gzip(1): FNAME set, the name follows the header.
    let pprof = t.path().join("cpu.pprof");
    std::fs::write(
        &pprof,
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0],
    )
    .unwrap();
    let gz = t.path().join("trace.out.gz");
    let mut named = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3];
    named.extend_from_slice(b"trace.out\0");
    std::fs::write(&gz, named).unwrap();
    let out = output_timeout(Command::new(golat()).arg("trace").arg(&pprof), 30);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("go tool pprof"), "{err}");
    assert_ne!(out.status.code(), Some(0));
    let out = output_timeout(Command::new(golat()).arg("trace").arg(&gz), 30);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gunzip it first") && !err.contains("pprof"),
        "{err}"
    );
}
