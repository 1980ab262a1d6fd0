//! The threaded trace reader's lifecycle, in a test binary of its own so that no other test's
//! reader threads are alive while it counts threads.

use std::time::{Duration, Instant};

use golat::exectrace::Reader;

fn reader_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
        .filter(|c| c.starts_with("golat-trace"))
        .collect()
}

/// A threaded reader dropped halfway (a caller that stops at an error of its own, or after
/// what it needed) returns at once, and its background thread sees its channels close and
/// ends; one read to the end ends too.
#[test]
fn threaded_reader_threads_end() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/trace/testdata/go1.26.0.trace"
    );
    let bytes = std::fs::read(path).unwrap();
    let total = {
        let mut r = Reader::new(&bytes[..]).unwrap();
        let mut n = 0;
        while r.next_event().unwrap().is_some() {
            n += 1;
        }
        n
    };
    assert!(total > 2000, "fixture too small: {total} events");
    for stop in [1, 10, total / 2, total + 1] {
        let mut r = Reader::threaded_with(std::io::Cursor::new(bytes.clone()), 2).unwrap();
        let mut n = 0;
        while n < stop && r.next_event().unwrap().is_some() {
            n += 1;
        }
        assert!(
            !reader_threads().is_empty(),
            "the reader runs a background thread"
        );
        let t = Instant::now();
        drop(r);
        assert!(t.elapsed() < Duration::from_secs(1), "drop waited");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !reader_threads().is_empty() {
        assert!(
            Instant::now() < deadline,
            "reader threads still alive: {:?}",
            reader_threads()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
