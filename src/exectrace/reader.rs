//! The streaming reader (Go's `reader.go`): reads one generation at a time, merges the per-M
//! batch streams on time (`merge.rs`), and lets the ordering state machine pick which event
//! may happen next. Events come out exactly as Go's `Reader.ReadEvent` gives them, whether
//! this thread also reads and merges (`Reader::new`) or a background thread does
//! (`Reader::threaded`, `pipe.rs`), and whether a generation's bytes are held in memory or,
//! from a regular file, each M's batches are read when the merge gets to them
//! (`Reader::from_file`, `Reader::threaded_file`).

use std::fs::File;
use std::io::{Read, Seek};
use std::sync::Arc;

use super::error::{ErrorKind, TraceError};
use super::generation::{GenOutcome, GenReader, Generation, unshared};
use super::merge::Merge;
use super::order::{Ctx, Event, NONE, Ordering};
use super::pipe::{ARG_MASKS, CHUNK_EVENTS, DT_FOLLOWS, IDS_EXIST, PACKED_ARGS, Pipe, ids_exist};
use super::spec::*;
use super::wire::{Src, read_header};

/// No goroutine, P or M.
const NO_CTX: Ctx = Ctx {
    g: NONE,
    p: NONE,
    m: NONE,
};

pub struct Reader<R> {
    feed: Feed<R>,
    ver: u32,
    /// The generation whose events are being returned. Shared with the background thread
    /// while it merges; only ever changed by the side that holds the one reference.
    pub generation: Arc<Generation>,
    have_gen: bool,
    last_ts: i64,
    /// This thread's cursors and heap: always in one-thread mode; with a background thread,
    /// only for a generation where an event had to wait (see `leave_stream`).
    merge: Merge,
    /// The background thread's merged events are this generation's frontier.
    streaming: bool,
    stream: Stream,
    /// The event being returned.
    out: Event,
    /// `out` came from the stream with `IDS_EXIST`: its IDs were checked there.
    out_ids_exist: bool,
    cpu_next: usize,
    order: Ordering,
    syncs: u64,
    read_gen_err: Option<TraceError>,
    spill_err: Option<TraceError>,
    spill_err_sync: bool,
    /// At the end, or after an error: no more events.
    stopped: bool,
    /// Generations delivered completely (their closing Sync was returned).
    complete_gens: u64,
    /// Number of the generation whose events are being returned.
    pub cur_gen: u64,
    /// Event batches are read from the file where they are (`from_file`).
    batches_in_file: bool,
}

/// The next streamed event's header, unpacked.
struct Head {
    time: i64,
    typ: u8,
    cur: u32,
    /// Index in the chunk of the event's first argument word.
    args_at: usize,
    /// The background thread found the event's IDs in the tables (`IDS_EXIST`).
    ids_exist: bool,
}

impl Stream {
    /// The next event of the current chunk, None at its end.
    #[inline(always)]
    fn head(&self) -> Option<Head> {
        if self.next >= self.end {
            return None;
        }
        let w = self.chunk[self.next];
        let dt = (w >> 8) & DT_FOLLOWS;
        let (time, args_at) = if dt == DT_FOLLOWS {
            (self.chunk[self.next + 1] as i64, self.next + 2)
        } else {
            (self.prev.wrapping_add(dt as i64), self.next + 1)
        };
        Some(Head {
            time,
            typ: w as u8,
            cur: (w >> 32) as u32,
            args_at,
            ids_exist: w & IDS_EXIST != 0,
        })
    }
}

/// Where generations come from.
enum Feed<R> {
    /// One thread: this reader reads and merges.
    Direct { src: Src<R>, genr: GenReader },
    /// A background thread reads and merges (`pipe.rs`).
    Piped {
        pipe: Pipe,
        /// File offset after the last generation read, and whether it read a batch of the
        /// next one (as `Src::offset` and `GenReader::has_spill` would say).
        offset: u64,
        has_spill: bool,
    },
}

/// The background thread's merged events of the current generation.
#[derive(Default)]
struct Stream {
    /// The current chunk's packed events (`pipe.rs`): `chunk[..end]`, then zero words.
    chunk: Vec<u64>,
    end: usize,
    /// Index in `chunk` of the next event's first word.
    next: usize,
    /// The time of the event before `next` in this chunk (0 at its start).
    prev: i64,
    /// Decoding the event after `chunk`'s last one failed: the error to return after it.
    tail_err: Option<TraceError>,
    /// The M of each cursor index, and its slot in the ordering once known.
    ms: Vec<(u64, usize)>,
    /// Events of this generation taken from the stream.
    taken: u64,
    /// The copy of the head event a refused `advance` saw (it may have changed it).
    refused: Option<Event>,
    /// Generations this thread finished merging itself because an event had to wait.
    left: u64,
}

impl<R: Read> Reader<R> {
    /// A reader that reads, merges and orders on the calling thread. It holds a whole
    /// generation's bytes; `from_file` holds one batch per M.
    pub fn new(r: R) -> Result<Self, TraceError> {
        Self::new_in(r, None)
    }

    fn new_in(r: R, batches_in: Option<Arc<File>>) -> Result<Self, TraceError> {
        let (src, genr, in_file) = open_src(r, batches_in)?;
        let ver = genr.ver;
        Ok(Self::with_feed(Feed::Direct { src, genr }, ver, in_file))
    }

    fn with_feed(feed: Feed<R>, ver: u32, batches_in_file: bool) -> Self {
        Reader {
            feed,
            ver,
            generation: Arc::default(),
            have_gen: false,
            last_ts: 0,
            merge: Merge::default(),
            streaming: false,
            stream: Stream::default(),
            out: Event::make(NO_CTX, 0, 0, &[]),
            out_ids_exist: false,
            cpu_next: 0,
            order: Ordering::new(ver),
            syncs: 0,
            read_gen_err: None,
            spill_err: None,
            spill_err_sync: false,
            stopped: false,
            complete_gens: 0,
            cur_gen: 0,
            batches_in_file,
        }
    }

    pub fn version(&self) -> u32 {
        self.ver
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        match &self.feed {
            Feed::Direct { src, .. } => src.offset(),
            Feed::Piped { offset, .. } => *offset,
        }
    }

    fn has_spill(&self) -> bool {
        match &self.feed {
            Feed::Direct { genr, .. } => genr.has_spill(),
            Feed::Piped { has_spill, .. } => *has_spill,
        }
    }

    /// Sync events returned so far (Go's `Sync.N` of the last one).
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// The next event, `Ok(None)` at the end. After an error, always `Ok(None)`.
    pub fn next_event(&mut self) -> Result<Option<Event>, TraceError> {
        Ok(self.next_ref()?.map(|(e, _)| *e))
    }

    /// Like `next_event`, without copying the event out: it and the generation whose tables
    /// its IDs refer to are borrowed until the next call.
    #[inline(always)]
    pub fn next_ref(&mut self) -> Result<Option<(&Event, &Generation)>, TraceError> {
        if self.stopped {
            return Ok(None);
        }
        // Only `try_advance_streamed` sets it, for the stream's event itself.
        self.out_ids_exist = false;
        match self.read_event() {
            Ok(true) => {
                // Most events come checked from the stream: test that first.
                let at = ID_ARGS[self.out.typ as usize];
                if !self.out_ids_exist
                    && u32::from_ne_bytes(at) != 0
                    && self.out.typ != EV_READER_SYNC
                    && !self.ids_valid(at)
                    && let Err(err) = self.validate_ids()
                {
                    self.stopped = true;
                    return Err(err.at(self.offset(), self.cur_gen));
                }
                let e = &mut self.out;
                if e.time <= self.last_ts {
                    e.time = self.last_ts.wrapping_add(1);
                }
                self.last_ts = e.time;
                Ok(Some((&self.out, &self.generation)))
            }
            Ok(false) => Ok(None),
            Err(e) => {
                self.stopped = true;
                Err(e)
            }
        }
    }

    /// Whether the event's stack and string IDs (at its `ID_ARGS` indices) exist.
    #[inline(always)]
    fn ids_valid(&self, at: [u8; 4]) -> bool {
        let args = &self.out.args;
        ids_exist(at, |i| args[i], &self.generation)
    }

    /// Go's check of the event's stack and string IDs, with its messages.
    #[cold]
    #[inline(never)]
    fn validate_ids(&self) -> Result<(), TraceError> {
        let e = &self.out;
        let sp = &SPECS[e.typ as usize];
        for &i in sp.stack_ids {
            let id = e.args[i - 1];
            if !self.generation.stacks.contains(id) {
                return Err(TraceError::corrupt(format!(
                    "found invalid stack ID {id} for event {}",
                    sp.name
                )));
            }
        }
        for &i in sp.string_ids {
            let id = e.args[i - 1];
            if !self.generation.strings.contains(id) {
                return Err(TraceError::corrupt(format!(
                    "found invalid string ID {id} for event {}",
                    sp.name
                )));
            }
        }
        Ok(())
    }

    fn sync_event(&mut self, time: i64) -> Event {
        self.syncs += 1;
        Event::make(NO_CTX, EV_READER_SYNC, time, &[self.syncs])
    }

    /// Puts the next event into `self.out`; false at the end. Inlined into `next_ref`: the
    /// call's register saves and its returned Result in memory cost ten instructions an event.
    #[inline(always)]
    fn read_event(&mut self) -> Result<bool, TraceError> {
        // The common case: nothing queued, no CPU sample due, and the earliest event may
        // happen now.
        if self.order.queue.is_empty() {
            if self.streaming {
                // The head is unpacked once, here, and handed on.
                if let Some(h) = self.stream.head()
                    && self.no_sample_before(h.time)
                {
                    if self.try_advance_streamed_head(h)? {
                        return Ok(true);
                    }
                    return self.refused_streamed();
                }
            } else if let Some(t) = self.merge.frontier.first()
                && self.no_sample_before(t)
            {
                if self.try_advance(0)? {
                    return Ok(true);
                }
                return self.advance_others();
            }
        }
        self.read_event_slow()
    }

    /// No CPU sample is due before an event at `t`.
    #[inline(always)]
    fn no_sample_before(&self, t: i64) -> bool {
        self.generation
            .cpu_samples
            .get(self.cpu_next)
            .is_none_or(|s| s.time >= t)
    }

    /// Advances the frontier's earliest event, from the stream or this thread's heap; when
    /// it must wait, tries the others as Go does.
    #[inline(always)]
    fn advance_head(&mut self) -> Result<bool, TraceError> {
        if self.streaming {
            if self.try_advance_streamed()? {
                return Ok(true);
            }
            return self.refused_streamed();
        }
        if self.try_advance(0)? {
            return Ok(true);
        }
        self.advance_others()
    }

    /// The time of the frontier's earliest event; None when the generation has no more.
    fn head_time(&mut self) -> Result<Option<i64>, TraceError> {
        if !self.streaming {
            return Ok(self.merge.frontier.first());
        }
        loop {
            if let Some(h) = self.stream.head() {
                return Ok(Some(h.time));
            }
            let Feed::Piped { pipe, .. } = &mut self.feed else {
                return Ok(None);
            };
            let used = std::mem::take(&mut self.stream.chunk);
            match pipe.next_chunk(used)? {
                Some(chunk) => {
                    self.stream.chunk = chunk.words;
                    self.stream.end = chunk.end;
                    self.stream.next = 0;
                    self.stream.prev = 0;
                    self.stream.tail_err = chunk.tail_err;
                }
                None => return Ok(None),
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn read_event_slow(&mut self) -> Result<bool, TraceError> {
        if let Some(ev) = self.order.queue.pop_front() {
            self.out = ev;
            return Ok(true);
        }
        let head = self.head_time()?;
        if head.is_none() && self.cpu_next >= self.generation.cpu_samples.len() {
            if self.have_gen {
                self.complete_gens += 1;
            }
            if self.ver < 26 {
                self.out = self.next_gen_with_spill()?;
                return Ok(true);
            }
            if let Some(e) = self.read_gen_err.take() {
                return Err(e);
            }
            self.out = match self.read_gen()? {
                Ok(GenOutcome::Done) => {
                    self.have_gen = false;
                    self.stopped = true;
                    self.sync_event(self.last_ts)
                }
                Ok(_) => self.install_gen()?,
                Err(e) => {
                    self.read_gen_err = Some(e);
                    self.have_gen = false;
                    unshared(&mut self.generation).cpu_samples.clear();
                    self.sync_event(self.last_ts)
                }
            };
            return Ok(true);
        }
        if self.cpu_next < self.generation.cpu_samples.len()
            && head.is_none_or(|t| self.generation.cpu_samples[self.cpu_next].time < t)
        {
            let s = self.generation.cpu_samples[self.cpu_next];
            self.cpu_next += 1;
            let ctx = Ctx {
                g: s.g,
                p: s.p,
                m: s.m,
            };
            self.out = Event::make(ctx, EV_CPU_SAMPLE, s.time, &[s.stack]);
            return Ok(true);
        }
        if head.is_none() {
            return Err(TraceError::corrupt("broken trace: frontier is empty")
                .at(self.offset(), self.generation.num));
        }
        self.advance_head()
    }

    /// The earliest event must wait: tries the others in time order, or fails.
    #[cold]
    #[inline(never)]
    fn advance_others(&mut self) -> Result<bool, TraceError> {
        // Rare: the earliest event must wait; try the others in time order. A stable sort
        // of the heap entries is the stable sort of Go's cursors.
        self.merge.frontier.sort();
        for i in 1..self.merge.frontier.len() {
            if self.try_advance(i)? {
                return Ok(true);
            }
        }
        let cursors = &self.merge.cursors;
        let c = &cursors[self.merge.frontier.cur[0] as usize];
        let mut msg = String::from("broken trace: failed to advance: frontier:");
        for &ci in self.merge.frontier.curs() {
            let c = &cursors[ci as usize];
            let sp = &SPECS[c.ev.typ as usize];
            msg.push_str(&format!(
                " [M {} {} time={}",
                c.m as i64, sp.name, c.ev.time
            ));
            for (i, a) in sp.args.iter().skip(1).enumerate() {
                msg.push_str(&format!(" {a}={}", c.ev.arg(i)));
            }
            msg.push(']');
        }
        Err(TraceError::corrupt(msg).at(c.ev_off, self.generation.num))
    }

    /// Advances the cursor of frontier entry `i` if the ordering allows; the event to
    /// return next goes to `self.out`.
    // Forced inlining of the per-event chain (advance, decode, heap fix-up) into `next_ref`
    // measured 15–20% less CPU: values stay in registers across the steps.
    #[inline(always)]
    fn try_advance(&mut self, i: usize) -> Result<bool, TraceError> {
        let gen_no = self.generation.num;
        let c = self.merge.cursor(i);
        // The ordering works on the event in `out`, where it is returned from.
        self.out = c.ev.event(c.m);
        let ok =
            match self
                .order
                .advance(&mut self.out, &self.generation, c.m, &mut c.mslot, gen_no)
            {
                Ok(ok) => ok,
                Err(m) => return Err(TraceError::corrupt(m).at(c.ev_off, gen_no)),
            };
        if !ok {
            // Go's cursor keeps what a refused advance changed in its event.
            c.ev.set(&self.out);
            return Ok(false);
        }
        self.take_queued();
        self.merge.step(i, &self.generation)?;
        Ok(true)
    }

    /// After an advance that also synthesized events: the queue's front goes out first.
    #[inline(always)]
    fn take_queued(&mut self) {
        if !self.order.queue.is_empty() {
            self.order.queue.insert(self.order.main_pos, self.out);
            self.out = self.order.queue.pop_front().expect("non-empty");
        }
    }

    /// `try_advance(0)` on the background thread's merged stream, whose next event is the
    /// frontier's earliest.
    #[inline(always)]
    fn try_advance_streamed(&mut self) -> Result<bool, TraceError> {
        let Some(h) = self.stream.head() else {
            return Err(TraceError::new(
                ErrorKind::Io,
                "internal error: advancing past the end of a chunk",
            ));
        };
        self.try_advance_streamed_head(h)
    }

    /// `try_advance_streamed` with the stream's head already unpacked.
    #[inline(always)]
    fn try_advance_streamed_head(&mut self, h: Head) -> Result<bool, TraceError> {
        let gen_no = self.generation.num;
        let n = PACKED_ARGS[h.typ as usize] as usize;
        let Some((a, mask)) = self
            .stream
            .chunk
            .get(h.args_at..h.args_at + 4)
            .zip(ARG_MASKS.get(n))
        else {
            return Err(TraceError::new(
                ErrorKind::Io,
                "internal error: a chunk without its padding",
            ));
        };
        let args = [
            a[0] & mask[0],
            a[1] & mask[1],
            a[2] & mask[2],
            a[3] & mask[3],
        ];
        let (m, mslot) = &mut self.stream.ms[h.cur as usize];
        let m = *m;
        let out = &mut self.out;
        out.typ = h.typ;
        out.time = h.time;
        out.args = args;
        out.ctx = Ctx { m, ..NO_CTX };
        let ok = match self
            .order
            .advance(&mut self.out, &self.generation, m, mslot, gen_no)
        {
            Ok(ok) => ok,
            Err(msg) => return Err(self.streamed_error(msg)),
        };
        if !ok {
            self.stream.refused = Some(self.out);
            return Ok(false);
        }
        // The flag is the streamed event's; a queued event that goes out first is checked.
        if self.order.queue.is_empty() {
            self.out_ids_exist = h.ids_exist;
        } else {
            self.take_queued();
        }
        self.stream.next = h.args_at + n;
        self.stream.prev = h.time;
        self.stream.taken += 1;
        if self.stream.next == self.stream.end
            && let Some(e) = self.stream.tail_err.take()
        {
            return Err(e);
        }
        Ok(true)
    }

    /// The stream's earliest event must wait: merge the rest of the generation here, then
    /// go on as the one-thread reader does.
    #[cold]
    #[inline(never)]
    fn refused_streamed(&mut self) -> Result<bool, TraceError> {
        self.leave_stream()?;
        self.advance_others()
    }

    /// An ordering error on a streamed event: its file offset, for the message, comes from
    /// replaying the merge.
    #[cold]
    #[inline(never)]
    fn streamed_error(&mut self, msg: String) -> TraceError {
        let gen_no = self.generation.num;
        match self.leave_stream() {
            Ok(()) => TraceError::corrupt(msg).at(self.merge.cursor(0).ev_off, gen_no),
            Err(e) => e,
        }
    }

    /// Switches this generation to this thread's own cursors, positioned where the stream
    /// is: the background merge is Go's frontier loop with every earliest event taken, so
    /// replaying it for the events taken gives the same cursors and heap arrangement.
    fn leave_stream(&mut self) -> Result<(), TraceError> {
        self.streaming = false;
        self.stream.left += 1;
        if let Feed::Piped { pipe, .. } = &self.feed {
            pipe.abandon();
        }
        self.merge.install(&self.generation)?;
        for _ in 0..self.stream.taken {
            self.merge.step(0, &self.generation)?;
        }
        if let Some(ev) = self.stream.refused.take() {
            self.merge.cursor(0).ev.set(&ev);
        }
        Ok(())
    }

    /// Reads the next generation (Go's `readGeneration`), from the file or from the
    /// background thread.
    fn read_gen(&mut self) -> Result<Result<GenOutcome, TraceError>, TraceError> {
        self.streaming = false;
        match &mut self.feed {
            Feed::Direct { src, genr } => Ok(genr.read(src, unshared(&mut self.generation))),
            Feed::Piped {
                pipe,
                offset,
                has_spill,
            } => {
                let old = std::mem::take(&mut self.generation);
                let reply = pipe.read(old)?;
                self.generation = reply.generation;
                *offset = reply.offset;
                *has_spill = reply.has_spill;
                Ok(reply.res)
            }
        }
    }

    fn next_gen_with_spill(&mut self) -> Result<Event, TraceError> {
        if let Some(e) = self.spill_err.take() {
            if self.spill_err_sync {
                return Err(e);
            }
            self.spill_err_sync = true;
            self.spill_err = Some(e);
            return Ok(self.sync_event(self.last_ts));
        }
        if self.have_gen && !self.has_spill() {
            self.stopped = true;
            self.have_gen = false;
            return Ok(self.sync_event(self.last_ts));
        }
        match self.read_gen()? {
            Ok(GenOutcome::Gen) | Ok(GenOutcome::Done) => self.install_gen(),
            Ok(GenOutcome::GenThenErr(e)) => {
                self.spill_err = Some(e);
                self.install_gen()
            }
            Err(e) => {
                self.have_gen = false;
                unshared(&mut self.generation).cpu_samples.clear();
                self.spill_err = Some(e);
                self.spill_err_sync = true;
                Ok(self.sync_event(self.last_ts))
            }
        }
    }

    fn install_gen(&mut self) -> Result<Event, TraceError> {
        self.have_gen = true;
        self.cur_gen = self.generation.num;
        self.cpu_next = 0;
        match &mut self.feed {
            Feed::Direct { .. } => self.merge.install(&self.generation)?,
            Feed::Piped { pipe, .. } => {
                self.merge.frontier.clear();
                self.merge.cursors.clear();
                self.stream.ms.clear();
                let ms = pipe.merge()??;
                self.stream
                    .ms
                    .extend(ms.into_iter().map(|m| (m, usize::MAX)));
                self.stream.chunk.clear();
                self.stream.end = 0;
                self.stream.next = 0;
                self.stream.prev = 0;
                self.stream.tail_err = None;
                self.stream.taken = 0;
                self.stream.refused = None;
                self.streaming = true;
            }
        }
        let t = self.generation.mul(self.generation.min_ts);
        Ok(self.sync_event(t))
    }

    /// With a background thread: how many generations this thread finished merging itself
    /// because an event had to wait (tests check that this path runs).
    pub fn stream_fallbacks(&self) -> u64 {
        self.stream.left
    }

    /// How many generations were delivered completely.
    /// Whether event batches are read from the file where they are, one at a time, rather
    /// than a generation at once.
    pub fn batches_in_file(&self) -> bool {
        self.batches_in_file
    }

    pub fn complete_generations(&self) -> u64 {
        self.complete_gens
    }
}

impl<R: Read + Send + 'static> Reader<R> {
    /// A reader whose file reading and merging run on a background thread while this thread
    /// orders: the same events, less wall time on two or more CPUs, more CPU time. On a
    /// machine with one CPU it is `new`.
    pub fn threaded(r: R) -> Result<Self, TraceError> {
        Self::threaded_in(r, None)
    }

    fn threaded_in(r: R, batches_in: Option<Arc<File>>) -> Result<Self, TraceError> {
        let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() < 2);
        if one_cpu {
            return Self::new_in(r, batches_in);
        }
        Self::threaded_with_in(r, batches_in, CHUNK_EVENTS)
    }

    /// `threaded` with `chunk_events` events per chunk, whatever the CPU count (tests use
    /// tiny chunks to cross chunk boundaries everywhere).
    pub fn threaded_with(r: R, chunk_events: usize) -> Result<Self, TraceError> {
        Self::threaded_with_in(r, None, chunk_events)
    }

    fn threaded_with_in(
        r: R,
        batches_in: Option<Arc<File>>,
        chunk_events: usize,
    ) -> Result<Self, TraceError> {
        let (src, genr, in_file) = open_src(r, batches_in)?;
        let ver = genr.ver;
        let pipe = Pipe::spawn(src, genr, chunk_events).map_err(|e| {
            TraceError::new(
                ErrorKind::Io,
                format!("cannot start the trace reader thread: {e}"),
            )
        })?;
        let feed = Feed::Piped {
            pipe,
            offset: 0,
            has_spill: false,
        };
        Ok(Self::with_feed(feed, ver, in_file))
    }
}

/// Readers of a trace file: the same events as `new` and `threaded`, but event batches are
/// left in the file and read when the merge gets to them, so memory is one batch (≤ 64 KiB)
/// per M instead of a whole generation, and no generation-sized buffer is filled before the
/// first event. A file that is not a regular file, or not at its start, is read as a stream.
impl Reader<File> {
    pub fn from_file(f: File) -> Result<Self, TraceError> {
        let at = batches_in(&f);
        Self::new_in(f, at)
    }

    pub fn threaded_file(f: File) -> Result<Self, TraceError> {
        let at = batches_in(&f);
        Self::threaded_in(f, at)
    }

    /// `threaded_file` with `chunk_events` events per chunk (see `threaded_with`).
    pub fn threaded_file_with(f: File, chunk_events: usize) -> Result<Self, TraceError> {
        let at = batches_in(&f);
        Self::threaded_with_in(f, at, chunk_events)
    }
}

/// A second handle on `f` for reading batches where they are, when `f` allows it.
fn batches_in(f: &File) -> Option<Arc<File>> {
    let regular = f.metadata().is_ok_and(|m| m.is_file());
    let mut f_ref = f;
    let at_start = f_ref.stream_position().is_ok_and(|p| p == 0);
    if !(regular && at_start) {
        return None;
    }
    f.try_clone().ok().map(Arc::new)
}

/// The source past the header, and the generation reader for its version; with
/// `batches_in`, both read that file at offsets and leave event batches in it.
fn open_src<R: Read>(
    r: R,
    batches_in: Option<Arc<File>>,
) -> Result<(Src<R>, GenReader, bool), TraceError> {
    let in_file = batches_in.is_some();
    let mut src = match &batches_in {
        Some(f) => Src::at(r, f.clone()),
        None => Src::new(r),
    };
    let ver = read_header(&mut src)?;
    let genr = match batches_in {
        Some(f) => GenReader::in_file(ver, f),
        None => GenReader::new(ver),
    };
    Ok((src, genr, in_file))
}

/// Error kinds that mean "the file ends early" rather than "the bytes are wrong".
pub fn is_truncation(e: &TraceError) -> bool {
    e.kind == ErrorKind::Truncated
}
