//! Fuzz target: any byte string through the trace reader and the summary must give events or
//! an error, never a panic, a hang or unbounded memory.
#![no_main]

use golat::exectrace::{Reader, summary::Summarizer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = Reader::new(data) else { return };
    let mut s = Summarizer::new();
    let mut n = 0u32;
    while let Ok(Some(e)) = r.next_event() {
        s.event(&e, &r.generation);
        n += 1;
        if n > 1_000_000 {
            break;
        }
    }
    let _ = s.finish(5, true);
});
