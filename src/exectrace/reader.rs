//! The streaming reader (Go's `reader.go` + `batchcursor.go`): reads one generation at a time,
//! merges the per-M batch streams with a min-heap on time, and lets the ordering state machine
//! pick which event may happen next. Events come out exactly as Go's `Reader.ReadEvent` gives them.

use std::io::Read;

use super::error::{ErrorKind, TraceError};
use super::generation::{GenOutcome, GenReader, Generation};
use super::order::{Ctx, Event, NONE, Ordering};
use super::spec::*;
use super::wire::{Src, read_header, uvarint};

struct Cursor {
    m: u64,
    /// Index into the generation's `ms`.
    mi: usize,
    last_ts: i64,
    idx: usize,
    off: usize,
    ev: Event,
    /// File offset of `ev`.
    ev_off: u64,
}

pub struct Reader<R> {
    src: Src<R>,
    ver: u32,
    genr: GenReader,
    pub generation: Generation,
    have_gen: bool,
    last_ts: i64,
    frontier: Vec<Cursor>,
    cpu_next: usize,
    order: Ordering,
    syncs: u64,
    read_gen_err: Option<TraceError>,
    spill_err: Option<TraceError>,
    spill_err_sync: bool,
    done: bool,
    failed: bool,
    /// Generations delivered completely (their closing Sync was returned).
    complete_gens: u64,
    /// Number of the generation whose events are being returned.
    pub cur_gen: u64,
}

impl<R: Read> Reader<R> {
    pub fn new(r: R) -> Result<Self, TraceError> {
        let mut src = Src::new(r);
        let ver = read_header(&mut src)?;
        Ok(Reader {
            src,
            ver,
            genr: GenReader::new(ver),
            generation: Generation::default(),
            have_gen: false,
            last_ts: 0,
            frontier: Vec::new(),
            cpu_next: 0,
            order: Ordering::new(ver),
            syncs: 0,
            read_gen_err: None,
            spill_err: None,
            spill_err_sync: false,
            done: false,
            failed: false,
            complete_gens: 0,
            cur_gen: 0,
        })
    }

    pub fn version(&self) -> u32 {
        self.ver
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.src.offset()
    }

    /// Sync events returned so far (Go's `Sync.N` of the last one).
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// The next event, `Ok(None)` at the end. After an error, always `Ok(None)`.
    pub fn next_event(&mut self) -> Result<Option<Event>, TraceError> {
        if self.done || self.failed {
            return Ok(None);
        }
        match self.read_event() {
            Ok(Some(mut e)) => {
                if e.typ != EV_READER_SYNC
                    && let Err(err) = self.validate_ids(&e)
                {
                    self.failed = true;
                    return Err(err.at(self.src.offset(), self.cur_gen));
                }
                if e.time <= self.last_ts {
                    e.time = self.last_ts.wrapping_add(1);
                }
                self.last_ts = e.time;
                Ok(Some(e))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    #[inline]
    fn validate_ids(&self, e: &Event) -> Result<(), TraceError> {
        let sp = &SPECS[e.typ as usize];
        if sp.stack_ids.is_empty() && sp.string_ids.is_empty() {
            return Ok(());
        }
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
        Event {
            typ: EV_READER_SYNC,
            time,
            args: [self.syncs, 0, 0, 0],
            ctx: Ctx {
                g: NONE,
                p: NONE,
                m: NONE,
            },
        }
    }

    fn read_event(&mut self) -> Result<Option<Event>, TraceError> {
        if let Some(ev) = self.order.queue.pop_front() {
            return Ok(Some(ev));
        }
        if self.frontier.is_empty() && self.cpu_next >= self.generation.cpu_samples.len() {
            if self.have_gen {
                self.complete_gens += 1;
            }
            if self.ver < 26 {
                return self.next_gen_with_spill().map(Some);
            }
            if let Some(e) = self.read_gen_err.take() {
                return Err(e);
            }
            return match self.genr.read(&mut self.src, &mut self.generation) {
                Ok(GenOutcome::Done) => {
                    self.have_gen = false;
                    self.done = true;
                    Ok(Some(self.sync_event(self.last_ts)))
                }
                Ok(_) => self.install_gen().map(Some),
                Err(e) => {
                    self.read_gen_err = Some(e);
                    self.have_gen = false;
                    self.generation.cpu_samples.clear();
                    Ok(Some(self.sync_event(self.last_ts)))
                }
            };
        }
        if self.cpu_next < self.generation.cpu_samples.len()
            && (self.frontier.is_empty()
                || self.generation.cpu_samples[self.cpu_next].time < self.frontier[0].ev.time)
        {
            let s = self.generation.cpu_samples[self.cpu_next];
            self.cpu_next += 1;
            return Ok(Some(Event {
                typ: EV_CPU_SAMPLE,
                time: s.time,
                args: [s.stack, 0, 0, 0],
                ctx: Ctx {
                    g: s.g,
                    p: s.p,
                    m: s.m,
                },
            }));
        }
        if self.frontier.is_empty() {
            return Err(TraceError::corrupt("broken trace: frontier is empty")
                .at(self.src.offset(), self.generation.num));
        }
        if let Some(e) = self.try_advance(0)? {
            return Ok(Some(e));
        }
        // Rare: the earliest event must wait; try the others in time order.
        self.frontier.sort_by_key(|a| a.ev.time);
        for i in 1..self.frontier.len() {
            if let Some(e) = self.try_advance(i)? {
                return Ok(Some(e));
            }
        }
        {
            {
                let c = &self.frontier[0];
                let mut msg = String::from("broken trace: failed to advance: frontier:");
                for c in &self.frontier {
                    let sp = &SPECS[c.ev.typ as usize];
                    msg.push_str(&format!(
                        " [M {} {} time={}",
                        c.m as i64, sp.name, c.ev.time
                    ));
                    for (i, a) in sp.args.iter().skip(1).enumerate() {
                        msg.push_str(&format!(" {a}={}", c.ev.args[i]));
                    }
                    msg.push(']');
                }
                Err(TraceError::corrupt(msg).at(c.ev_off, self.generation.num))
            }
        }
    }

    /// Advances cursor `i`'s event if the ordering allows; returns the event to emit next.
    #[inline]
    fn try_advance(&mut self, i: usize) -> Result<Option<Event>, TraceError> {
        let gen_no = self.generation.num;
        let c = &mut self.frontier[i];
        let off = c.ev_off;
        let ok = self
            .order
            .advance(&mut c.ev, &self.generation, c.m, gen_no)
            .map_err(|m| TraceError::corrupt(m).at(off, gen_no))?;
        if !ok {
            return Ok(None);
        }
        let (ctx, pos) = self.order.main.take().expect("advance queued its event");
        let mut out = c.ev;
        out.ctx = ctx;
        if !self.order.queue.is_empty() {
            self.order.queue.insert(pos, out);
            out = self.order.queue.pop_front().expect("non-empty");
        }
        let more = next_event(&mut self.frontier[i], &self.generation)?;
        if more {
            heap_update(&mut self.frontier, i);
        } else {
            heap_remove(&mut self.frontier, i);
        }
        Ok(Some(out))
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
        if self.have_gen && !self.genr.has_spill() {
            self.done = true;
            self.have_gen = false;
            return Ok(self.sync_event(self.last_ts));
        }
        match self.genr.read(&mut self.src, &mut self.generation) {
            Ok(GenOutcome::Gen) | Ok(GenOutcome::Done) => self.install_gen(),
            Ok(GenOutcome::GenThenErr(e)) => {
                self.spill_err = Some(e);
                self.install_gen()
            }
            Err(e) => {
                self.have_gen = false;
                self.generation.cpu_samples.clear();
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
        self.frontier.clear();
        for mi in 0..self.generation.ms.len() {
            let m = self.generation.ms[mi].0;
            let mut c = Cursor {
                m,
                mi,
                last_ts: 0,
                idx: 0,
                off: 0,
                ev: Event {
                    typ: 0,
                    time: 0,
                    args: [0; 4],
                    ctx: Ctx {
                        g: NONE,
                        p: NONE,
                        m,
                    },
                },
                ev_off: 0,
            };
            if !next_event(&mut c, &self.generation)? {
                continue;
            }
            self.frontier.push(c);
            let n = self.frontier.len() - 1;
            heap_sift_up(&mut self.frontier, n);
        }
        let t = self.generation.mul(self.generation.min_ts);
        Ok(self.sync_event(t))
    }

    /// How many generations were delivered completely.
    pub fn complete_generations(&self) -> u64 {
        self.complete_gens
    }
}

/// Decodes the cursor's next timed event (Go's `batchCursor.nextEvent`).
#[inline]
fn next_event(c: &mut Cursor, g: &Generation) -> Result<bool, TraceError> {
    let batches = &g.ms[c.mi].1;
    while c.idx < batches.len() && batches[c.idx].len == c.off {
        c.idx += 1;
        c.off = 0;
        c.last_ts = 0;
    }
    if c.idx == batches.len() {
        return Ok(false);
    }
    let b = &batches[c.idx];
    if c.last_ts == 0 {
        c.last_ts = g.mul(b.time);
    }
    let data = &g.data[b.start + c.off..b.start + b.len];
    let off = b.file_off + c.off as u64;
    let fail = |msg: String| Err(TraceError::corrupt(msg).at(off, g.num));
    let typ = data[0];
    if typ as usize >= SPECS.len() {
        return fail(format!("found invalid event type: {typ}"));
    }
    let sp = &SPECS[typ as usize];
    if sp.args.is_empty() || !sp.timed {
        return fail(format!("found event without a timestamp: type={typ}"));
    }
    let mut n = 1;
    let Some((dt, k)) = uvarint(&data[n..]) else {
        return fail("found invalid uvarint for timestamp".into());
    };
    n += k;
    c.ev.typ = typ;
    c.ev.args = [0; 4];
    for i in 0..sp.args.len() - 1 {
        let Some((a, k)) = uvarint(&data[n..]) else {
            return fail("found invalid uvarint".into());
        };
        c.ev.args[i] = a;
        n += k;
    }
    c.ev.time = g.mul(dt).wrapping_add(c.last_ts);
    c.last_ts = c.ev.time;
    c.ev_off = off;
    c.off += n;
    Ok(true)
}

fn heap_update(h: &mut [Cursor], i: usize) {
    if heap_sift_up(h, i) != i {
        return;
    }
    heap_sift_down(h, i);
}

fn heap_remove(h: &mut Vec<Cursor>, mut i: usize) {
    while i > 0 {
        h.swap((i - 1) / 2, i);
        i = (i - 1) / 2;
    }
    let last = h.len() - 1;
    h.swap(0, last);
    h.pop();
    heap_sift_down(h, 0);
}

fn heap_sift_up(h: &mut [Cursor], mut i: usize) -> usize {
    while i > 0 && h[(i - 1) / 2].ev.time > h[i].ev.time {
        h.swap((i - 1) / 2, i);
        i = (i - 1) / 2;
    }
    i
}

fn heap_sift_down(h: &mut [Cursor], mut i: usize) -> usize {
    loop {
        let m = min3(h, i, 2 * i + 1, 2 * i + 2);
        if m == i {
            break;
        }
        h.swap(i, m);
        i = m;
    }
    i
}

fn min3(b: &[Cursor], i0: usize, i1: usize, i2: usize) -> usize {
    let mut min_idx = i0;
    let mut min_t = i64::MAX;
    if i0 < b.len() {
        min_t = b[i0].ev.time;
    }
    if i1 < b.len() && b[i1].ev.time < min_t {
        min_t = b[i1].ev.time;
        min_idx = i1;
    }
    if i2 < b.len() && b[i2].ev.time < min_t {
        min_idx = i2;
    }
    min_idx
}

/// Error kinds that mean "the file ends early" rather than "the bytes are wrong".
pub fn is_truncation(e: &TraceError) -> bool {
    e.kind == ErrorKind::Truncated
}
