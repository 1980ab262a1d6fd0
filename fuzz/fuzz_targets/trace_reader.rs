//! Fuzz target: any byte string through the trace reader and the summary must give events or
//! an error, never a panic, a hang or unbounded memory; and the threaded reader (tiny chunks,
//! so chunk boundaries fall everywhere) must give exactly the one-thread reader's events and
//! error. So must the readers that leave event batches in a file and read them where they
//! are (one thread, and threaded). The summary's startup view runs with a split, window and
//! thresholds taken from the input's length, so both splits (main.main and a time) and
//! tiny windows are reached, and the table, JSON and (for two inputs in three) the
//! `--timeline` slices are rendered from every summary.
#![no_main]

use golat::exectrace::startup::{StartupOptions, Until};
use golat::exectrace::{Event, Reader, render, summary::Summarizer};
use libfuzzer_sys::fuzz_target;

const MAX_EVENTS: u32 = 1_000_000;

fn drain<R: std::io::Read>(mut r: Reader<R>, s: Option<&mut Summarizer>) -> (Vec<Event>, Option<String>) {
    let mut events = Vec::new();
    let mut s = s;
    loop {
        match r.next_event() {
            Ok(Some(e)) => {
                if let Some(s) = s.as_deref_mut() {
                    s.event(&e, &r.generation);
                }
                events.push(e);
                if events.len() as u32 > MAX_EVENTS {
                    return (events, None);
                }
            }
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e.to_string())),
        }
    }
}

fn same(a: &[Event], b: &[Event]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.typ == y.typ && x.time == y.time && x.args == y.args && x.ctx == y.ctx
        })
}

fuzz_target!(|data: &[u8]| {
    let Ok(r) = Reader::new(data) else { return };
    let n = data.len() as i64;
    let mut opts = StartupOptions::new(
        if n % 2 == 0 { Until::Main } else { Until::At(n * 97) },
        (n % 7) * 1_000 + 1,
        [n % 5, 1_000, 0, 10, n, 50],
    );
    opts.timeline = n % 3 != 0;
    let mut s = Summarizer::with_options(opts, 3);
    let (one, one_err) = drain(r, Some(&mut s));
    let (sum, _, _) = s.finish(3, one_err.is_none());
    let mut sink = Vec::new();
    render::table_with(&mut sink, &sum, "fuzz", &render::RenderOptions { top: 3, depth: 2 })
        .expect("render to memory");
    serde_json::to_writer(&mut sink, &sum).expect("summary to JSON");
    if let Some(tl) = &sum.timeline {
        serde_json::to_writer(&mut sink, tl).expect("timeline to JSON");
    }
    let two = Reader::threaded_with(std::io::Cursor::new(data.to_vec()), 3)
        .expect("the header was read once already");
    let (two, two_err) = drain(two, None);
    assert!(same(&one, &two), "threaded reader: different events");
    assert_eq!(one_err, two_err, "threaded reader: different error");
    // One temporary file per process, rewritten for each input (a new file each time cost
    // more than the readers). Readers move its shared offset only while the caller waits.
    let file = || {
        use std::io::{Seek, Write};
        thread_local! {
            static FILE: std::fs::File = tempfile::tempfile().expect("temporary file");
        }
        FILE.with(|f| {
            let mut f = f.try_clone().expect("clone temporary file");
            f.set_len(0).expect("truncate temporary file");
            f.rewind().expect("rewind temporary file");
            f.write_all(data).expect("write temporary file");
            f.rewind().expect("rewind temporary file");
            f
        })
    };
    let in_file = Reader::from_file(file()).expect("the header was read once already");
    assert!(in_file.batches_in_file());
    let (three, three_err) = drain(in_file, None);
    assert!(same(&one, &three), "reader of a file: different events");
    assert_eq!(one_err, three_err, "reader of a file: different error");
    let threaded_in_file =
        Reader::threaded_file_with(file(), 3).expect("the header was read once already");
    let (four, four_err) = drain(threaded_in_file, None);
    assert!(same(&one, &four), "threaded reader of a file: different events");
    assert_eq!(one_err, four_err, "threaded reader of a file: different error");
});
