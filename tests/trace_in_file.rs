//! The readers that leave event batches in the trace file and read each when the merge gets
//! to it: a file changed under them gives a clear error, never a panic or made-up events.

mod trace_common;

use golat::exectrace::{Event, Reader};

fn fixture() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/trace/testdata/go1.26.0.trace"
    );
    std::fs::read(path).unwrap()
}

fn same(a: &Event, b: &Event) -> bool {
    a.typ == b.typ && a.time == b.time && a.args == b.args && a.ctx == b.ctx
}

/// The file is cut to its first 4 KiB after the reader has scanned the first generation:
/// the batches it then reads are gone. Events before the error are the real ones.
#[test]
fn file_cut_after_scan_gives_clear_error() {
    let bytes = fixture();
    let all: Vec<Event> = {
        let mut r = Reader::new(&bytes[..]).unwrap();
        std::iter::from_fn(|| r.next_event().unwrap()).collect()
    };
    for threaded in [false, true] {
        let f = trace_common::temp_file_with(&bytes);
        let handle = f.try_clone().unwrap();
        let mut r = if threaded {
            Reader::threaded_file_with(f, 2).unwrap()
        } else {
            Reader::from_file(f).unwrap()
        };
        assert!(r.batches_in_file());
        let first = r.next_event().unwrap().expect("a first event");
        assert!(same(&first, &all[0]));
        handle.set_len(4096).unwrap();
        let mut n = 1;
        let err = loop {
            match r.next_event() {
                Ok(Some(e)) => {
                    assert!(
                        n < all.len() && same(&e, &all[n]),
                        "event {n} is not the real one"
                    );
                    n += 1;
                }
                Ok(None) => panic!("threaded={threaded}: no error after the file was cut"),
                Err(e) => break e.to_string(),
            }
        };
        assert!(
            err.starts_with("the trace file changed while golat read it: the batch at byte "),
            "threaded={threaded}: unclear error: {err}"
        );
        assert!(n < all.len());
    }
}
