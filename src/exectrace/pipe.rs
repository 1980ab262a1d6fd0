//! The background half of the two-thread reader: on request it reads the next generation from
//! the file and merges its per-M streams on time, sending the merged events in chunks. The
//! ordering state machine stays on the caller's thread (`reader.rs`), which also falls back
//! to merging itself when an event must wait, so the output is the same as one thread's.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender};

use super::error::{ErrorKind, TraceError};
use super::generation::{GenOutcome, GenReader, Generation, unshared};
use super::merge::{CursorEvent, Merge};
use super::spec::{EV_GO_BLOCK, EV_GO_START, EV_GO_STOP, EV_GO_UNBLOCK, ID_ARGS, WIRE_ARGS};
use super::wire::Src;

/// Events per chunk (≈2 MiB): hand-overs are rare enough not to matter. On the benchmark
/// trace 2,048 took a third more wall time than 16,384, and 65,536 took 4-5% less (paired,
/// 15 alternating rounds) at a peak RSS of ≈20 MB instead of ≈12 MB: each chunk in flight
/// adds its size to the peak.
pub(super) const CHUNK_EVENTS: usize = 65536;
/// Chunks in flight.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Merged events travel packed into 8-byte words, so each crosses between the cores in
/// about half the bytes of a struct (a scheduler event takes 3 or 4 words, not 6): a header
/// `typ | dt << 8 | IDS_EXIST | cursor << 32`, where `dt` is the time since the chunk's
/// previous event (or `DT_FOLLOWS`, and the time follows in a word of its own), then the
/// event's arguments, `PACKED_ARGS[typ]` words. The cursor index names the event's M. Its
/// file offset is not sent: only an error message needs it, and replaying the merge finds it.
pub(super) const DT_FOLLOWS: u64 = (1 << 23) - 1;
/// Header bit: the event is one of `PRECHECKED`'s types and its stack and string IDs exist
/// in the generation's tables, so the reader's thread need not look them up again (this
/// thread has the time to spare; the reader's is the busier one).
pub(super) const IDS_EXIST: u64 = 1 << 31;

/// The event types whose IDs this thread checks: the scheduler's four, which the ordering
/// never changes the arguments of, so the check on the wire arguments is the reader's check
/// on the ordered event.
#[inline(always)]
pub(super) fn prechecked(typ: u8) -> bool {
    matches!(typ, EV_GO_START | EV_GO_STOP | EV_GO_BLOCK | EV_GO_UNBLOCK)
}
/// Zero words after a chunk's last event: a reader may load four argument words whatever
/// the event's count.
pub(super) const PAD_WORDS: usize = 4;

/// Argument words per event type: what the decoder stores (`WIRE_ARGS`, at most four).
pub(super) static PACKED_ARGS: [u8; 256] = {
    let mut a = [4u8; 256];
    let mut i = 0;
    while i < 256 {
        if WIRE_ARGS[i] < 4 {
            a[i] = WIRE_ARGS[i];
        }
        i += 1;
    }
    a
};

/// `ARG_MASKS[n]` keeps the first `n` of four loaded argument words and zeroes the rest.
pub(super) const ARG_MASKS: [[u64; 4]; 5] = [
    [0, 0, 0, 0],
    [!0, 0, 0, 0],
    [!0, !0, 0, 0],
    [!0, !0, !0, 0],
    [!0, !0, !0, !0],
];

/// Appends a cursor's current event to `words` (`prev`: the time of the event before).
#[inline(always)]
fn pack(words: &mut Vec<u64>, prev: &mut i64, ev: &CursorEvent, cur: u32, g: &Generation) {
    let mut typ = ev.typ as u64;
    if prechecked(ev.typ) && ids_exist(ID_ARGS[ev.typ as usize], |i| ev.arg(i), g) {
        typ |= IDS_EXIST;
    }
    let dt = ev.time.wrapping_sub(*prev) as u64;
    if dt < DT_FOLLOWS {
        words.push(typ | dt << 8 | (cur as u64) << 32);
    } else {
        words.push(typ | DT_FOLLOWS << 8 | (cur as u64) << 32);
        words.push(ev.time as u64);
    }
    for i in 0..PACKED_ARGS[ev.typ as usize] as usize {
        words.push(ev.arg(i));
    }
    *prev = ev.time;
}

/// Whether the stack IDs (`at[0..2]`) and string IDs (`at[2..4]`) of an event, 1-based
/// indices into its arguments (0 = none) as `ID_ARGS` has them, exist in `g`'s tables.
#[inline(always)]
pub(super) fn ids_exist(at: [u8; 4], arg: impl Fn(usize) -> u64, g: &Generation) -> bool {
    let a = |i: u8| {
        if (1..=4).contains(&i) {
            arg(i as usize - 1)
        } else {
            0
        }
    };
    (at[0] == 0 || g.stacks.contains(a(at[0])))
        && (at[1] == 0 || g.stacks.contains(a(at[1])))
        && (at[2] == 0 || g.strings.contains(a(at[2])))
        && (at[3] == 0 || g.strings.contains(a(at[3])))
}

enum Req {
    /// Read the next generation into this one (handed back so its buffers are reused).
    Read(Arc<Generation>),
    /// Merge the generation just read.
    Merge,
}

/// The answer to `Read`: Go's outcome, the generation, the file offset after it, and
/// whether a batch of the next generation was already read (traces before Go 1.26).
pub(super) struct ReadReply {
    pub res: Result<GenOutcome, TraceError>,
    pub generation: Arc<Generation>,
    pub offset: u64,
    pub has_spill: bool,
}

/// Merged events, packed: `words[..end]`, then `PAD_WORDS` zeros; `tail_err` is the error
/// decoding the event after the last one.
pub(super) struct Chunk {
    pub words: Vec<u64>,
    pub end: usize,
    pub tail_err: Option<TraceError>,
}

impl Chunk {
    fn sealed(mut words: Vec<u64>, tail_err: Option<TraceError>) -> Chunk {
        let end = words.len();
        words.extend([0; PAD_WORDS]);
        Chunk {
            words,
            end,
            tail_err,
        }
    }
}

enum Msg {
    Read(ReadReply),
    /// The first answer to `Merge`: the M of each cursor, by cursor index.
    Installed(Vec<u64>),
    /// Setting up the cursors failed (decoding an M's first event).
    InstallErr(TraceError),
    Chunk(Chunk),
    /// The generation's merge is over.
    End,
}

/// The caller's end of the background reader.
pub(super) struct Pipe {
    req: Sender<Req>,
    msgs: Receiver<Msg>,
    free: Sender<Vec<u64>>,
    abandon: Arc<AtomicBool>,
    /// A `Merge` was sent and its `End` (or `InstallErr`) not yet received.
    merging: bool,
}

/// The background thread is gone: it panicked, which is a golat bug.
fn gone() -> TraceError {
    TraceError::new(
        ErrorKind::Io,
        "internal error: golat's trace reader thread stopped",
    )
}

impl Pipe {
    /// Starts the background thread on `src`, positioned after the header.
    pub(super) fn spawn<R: Read + Send + 'static>(
        src: Src<R>,
        genr: GenReader,
        chunk_events: usize,
    ) -> std::io::Result<Pipe> {
        let (req_tx, req_rx) = std::sync::mpsc::channel();
        let (msg_tx, msg_rx) = std::sync::mpsc::sync_channel(CHUNKS_IN_FLIGHT);
        let (free_tx, free_rx) = std::sync::mpsc::channel();
        let abandon = Arc::new(AtomicBool::new(false));
        let flag = abandon.clone();
        // Detached: once the caller's channel ends are dropped, every send or receive of
        // the thread fails and it returns.
        std::thread::Builder::new()
            .name("golat-trace-read".into())
            .spawn(move || {
                serve(
                    src,
                    genr,
                    req_rx,
                    msg_tx,
                    free_rx,
                    &flag,
                    chunk_events.max(1),
                )
            })?;
        Ok(Pipe {
            req: req_tx,
            msgs: msg_rx,
            free: free_tx,
            abandon,
            merging: false,
        })
    }

    /// Reads the next generation into `old`'s buffers (waiting out a merge the caller
    /// abandoned first).
    pub(super) fn read(&mut self, old: Arc<Generation>) -> Result<ReadReply, TraceError> {
        self.drain()?;
        self.req.send(Req::Read(old)).map_err(|_| gone())?;
        match self.msgs.recv().map_err(|_| gone())? {
            Msg::Read(reply) => Ok(reply),
            _ => Err(gone()),
        }
    }

    /// Starts merging the generation last read; returns the M of each cursor.
    pub(super) fn merge(&mut self) -> Result<Result<Vec<u64>, TraceError>, TraceError> {
        self.abandon.store(false, Ordering::Relaxed);
        self.req.send(Req::Merge).map_err(|_| gone())?;
        self.merging = true;
        match self.msgs.recv().map_err(|_| gone())? {
            Msg::Installed(ms) => Ok(Ok(ms)),
            Msg::InstallErr(e) => {
                self.merging = false;
                Ok(Err(e))
            }
            _ => Err(gone()),
        }
    }

    /// The next chunk of the merge (recycling `used`), or None at its end.
    pub(super) fn next_chunk(&mut self, used: Vec<u64>) -> Result<Option<Chunk>, TraceError> {
        if used.capacity() > 0 {
            let _ = self.free.send(used);
        }
        if !self.merging {
            return Ok(None);
        }
        match self.msgs.recv().map_err(|_| gone())? {
            Msg::Chunk(chunk) => Ok(Some(chunk)),
            Msg::End => {
                self.merging = false;
                Ok(None)
            }
            _ => Err(gone()),
        }
    }

    /// The caller merges the rest of this generation itself: stop sending it.
    pub(super) fn abandon(&self) {
        self.abandon.store(true, Ordering::Relaxed);
    }

    /// Discards what is left of an abandoned merge.
    fn drain(&mut self) -> Result<(), TraceError> {
        while self.merging {
            match self.msgs.recv().map_err(|_| gone())? {
                Msg::Chunk(chunk) => {
                    let _ = self.free.send(chunk.words);
                }
                Msg::End => self.merging = false,
                _ => return Err(gone()),
            }
        }
        Ok(())
    }
}

/// The background thread: answers `Read` and `Merge` requests in order until the caller
/// goes away.
fn serve<R: Read>(
    mut src: Src<R>,
    mut genr: GenReader,
    reqs: Receiver<Req>,
    msgs: SyncSender<Msg>,
    free: Receiver<Vec<u64>>,
    abandon: &AtomicBool,
    chunk_events: usize,
) {
    // This thread's reference to the generation being merged.
    let mut current: Option<Arc<Generation>> = None;
    let mut merge = Merge::default();
    while let Ok(req) = reqs.recv() {
        match req {
            Req::Read(mut generation) => {
                current = None;
                let res = genr.read(&mut src, unshared(&mut generation));
                if res.is_ok() {
                    current = Some(generation.clone());
                }
                let msg = Msg::Read(ReadReply {
                    res,
                    generation,
                    offset: src.offset(),
                    has_spill: genr.has_spill(),
                });
                if msgs.send(msg).is_err() {
                    return;
                }
            }
            Req::Merge => {
                let Some(g) = current.take() else {
                    // The caller merges only a generation it was given.
                    return;
                };
                if !merge_generation(&g, &mut merge, &msgs, &free, abandon, chunk_events) {
                    return;
                }
            }
        }
    }
}

/// Merges one generation exactly as the one-thread reader's frontier does when every
/// earliest event may happen: cursor set-up, then take the heap's top and step it. False
/// when the caller has gone.
fn merge_generation(
    g: &Generation,
    merge: &mut Merge,
    msgs: &SyncSender<Msg>,
    free: &Receiver<Vec<u64>>,
    abandon: &AtomicBool,
    chunk_events: usize,
) -> bool {
    if let Err(e) = merge.install(g) {
        return msgs.send(Msg::InstallErr(e)).is_ok();
    }
    let ms = merge.cursors.iter().map(|c| c.m).collect();
    if msgs.send(Msg::Installed(ms)).is_err() {
        return false;
    }
    // A chunk buffer the caller handed back, else a new one; room for the largest events.
    let fresh = |free: &Receiver<Vec<u64>>| {
        free.try_recv().map_or_else(
            |_| Vec::with_capacity(chunk_events * 6 + PAD_WORDS),
            |mut v| {
                v.clear();
                v
            },
        )
    };
    let mut words = fresh(free);
    let (mut prev, mut events) = (0i64, 0usize);
    while !merge.frontier.is_empty() {
        let cur = merge.frontier.cur[0];
        pack(&mut words, &mut prev, &merge.cursor(0).ev, cur, g);
        events += 1;
        if let Err(e) = merge.step(0, g) {
            let tail = Msg::Chunk(Chunk::sealed(words, Some(e)));
            return msgs.send(tail).is_ok() && msgs.send(Msg::End).is_ok();
        }
        if events == chunk_events {
            let full = std::mem::replace(&mut words, fresh(free));
            (prev, events) = (0, 0);
            if msgs.send(Msg::Chunk(Chunk::sealed(full, None))).is_err() {
                return false;
            }
            if abandon.load(Ordering::Relaxed) {
                return msgs.send(Msg::End).is_ok();
            }
        }
    }
    if events > 0 && msgs.send(Msg::Chunk(Chunk::sealed(words, None))).is_err() {
        return false;
    }
    msgs.send(Msg::End).is_ok()
}
