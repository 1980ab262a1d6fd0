//! The per-M batch cursors of one generation and the min-heap that merges them on time
//! (Go's `batchcursor.go`): decoding the next event of an M and keeping the frontier in the
//! exact arrangement Go's heap has, so ties between Ms break the same way.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use super::error::TraceError;
use super::generation::{DATA_PAD, Generation};
use super::order::{Ctx, Event, NONE};
use super::spec::*;
use super::wire::uvarint;

pub(super) struct Cursor {
    pub(super) m: u64,
    /// The M's slot in the ordering's M states, once known (`usize::MAX` before).
    pub(super) mslot: usize,
    /// Index into the generation's `ms`.
    pub(super) mi: usize,
    pub(super) last_ts: i64,
    /// Index of the current batch in the M's list (`usize::MAX` before the first).
    pub(super) idx: usize,
    /// The current batch's bytes, then `DATA_PAD` zero bytes; `pos..end` is the unread part.
    pub(super) buf: Vec<u8>,
    pub(super) pos: usize,
    pub(super) end: usize,
    /// File offset of `buf[0]`.
    pub(super) file_off: u64,
    pub(super) ev: CursorEvent,
    /// File offset of `ev`.
    pub(super) ev_off: u64,
}

/// A cursor's current event. The arguments are atomics only so that reads of them stay
/// 8-byte loads: the decoder stores them one by one, and the copy of the event that soon
/// follows, compiled to 16-byte loads, waited for those stores to reach the cache (a load
/// cannot be forwarded from two smaller stores). Atomic loads are never merged. Nothing
/// else is shared: the cursor belongs to one thread.
pub(super) struct CursorEvent {
    pub(super) typ: u8,
    pub(super) time: i64,
    args: [AtomicU64; 4],
}

impl CursorEvent {
    fn new() -> Self {
        CursorEvent {
            typ: 0,
            time: 0,
            args: Default::default(),
        }
    }
    #[inline(always)]
    pub(super) fn arg(&self, i: usize) -> u64 {
        self.args[i].load(Relaxed)
    }
    #[inline(always)]
    pub(super) fn args(&self) -> [u64; 4] {
        [self.arg(0), self.arg(1), self.arg(2), self.arg(3)]
    }
    #[inline(always)]
    fn set_args(&mut self, args: [u64; 4]) {
        for (a, v) in self.args.iter_mut().zip(args) {
            *a.get_mut() = v;
        }
    }
    /// The event on M `m`, before ordering gives it a context.
    #[inline(always)]
    pub(super) fn event(&self, m: u64) -> Event {
        Event {
            typ: self.typ,
            time: self.time,
            args: self.args(),
            ctx: Ctx {
                g: NONE,
                p: NONE,
                m,
            },
        }
    }
    /// Keeps what a refused advance changed in the event, as Go's cursor does.
    pub(super) fn set(&mut self, e: &Event) {
        self.typ = e.typ;
        self.time = e.time;
        self.set_args(e.args);
    }
}

/// The heap over the cursors, in exactly the arrangement Go's heap of cursors has, so ties
/// break the same way. Entry `i < n` is a cursor's current event time and the cursor's
/// index, kept in two arrays: as 16-byte pairs, a swap right after a time update read the
/// pair whole, and a 16-byte load waits for the 8-byte store before it to reach the cache.
/// Past `n` the times are `i64::MAX` sentinels, at least up to the children of the last
/// entry, so the root's children can be read without bounds checks.
#[derive(Default)]
pub(super) struct Frontier {
    pub(super) time: Vec<i64>,
    pub(super) cur: Vec<u32>,
    n: usize,
}

impl Frontier {
    #[inline(always)]
    pub(super) fn len(&self) -> usize {
        self.n
    }
    #[inline(always)]
    pub(super) fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// The earliest time.
    #[inline(always)]
    pub(super) fn first(&self) -> Option<i64> {
        if self.n == 0 {
            None
        } else {
            Some(self.time[0])
        }
    }
    /// The cursor indexes of the entries, in heap order.
    pub(super) fn curs(&self) -> &[u32] {
        &self.cur[..self.n]
    }
    pub(super) fn clear(&mut self) {
        self.time.clear();
        self.cur.clear();
        self.n = 0;
    }
    fn resized(&mut self) {
        let want = 2 * self.n + 3;
        if self.time.len() < want {
            self.time.resize(want, i64::MAX);
            self.cur.resize(want, 0);
        }
    }
    fn push(&mut self, time: i64, cur: u32) {
        self.n += 1;
        self.resized();
        self.time[self.n - 1] = time;
        self.cur[self.n - 1] = cur;
    }
    fn pop(&mut self) {
        self.n -= 1;
        self.time[self.n] = i64::MAX;
        self.resized();
    }
    #[inline(always)]
    fn swap(&mut self, a: usize, b: usize) {
        self.time.swap(a, b);
        self.cur.swap(a, b);
    }
    /// A stable sort on time (Go sorts its heap when the earliest event must wait).
    pub(super) fn sort(&mut self) {
        let n = self.n;
        let mut pairs: Vec<(i64, u32)> = self.time[..n]
            .iter()
            .copied()
            .zip(self.cur[..n].iter().copied())
            .collect();
        pairs.sort_by_key(|p| p.0);
        for (i, (t, c)) in pairs.into_iter().enumerate() {
            self.time[i] = t;
            self.cur[i] = c;
        }
    }
}

/// The cursors of one generation and the heap over them.
#[derive(Default)]
pub(super) struct Merge {
    /// Cursors by position; `frontier` is the heap over them.
    pub(super) cursors: Vec<Cursor>,
    pub(super) frontier: Frontier,
    /// Batch buffers of the last generation's cursors, for the next one's.
    spare: Vec<Vec<u8>>,
}

impl Merge {
    /// Go's frontier set-up at the start of a generation: a cursor per M with events, on
    /// its first event, pushed onto the heap in the generation's M order.
    pub(super) fn install(&mut self, g: &Generation) -> Result<(), TraceError> {
        self.frontier.clear();
        self.spare.extend(self.cursors.drain(..).map(|c| c.buf));
        for mi in 0..g.ms.len() {
            let m = g.ms[mi].0;
            let mut c = Cursor {
                m,
                mslot: usize::MAX,
                mi,
                last_ts: 0,
                idx: usize::MAX,
                buf: self.spare.pop().unwrap_or_default(),
                pos: 0,
                end: 0,
                file_off: 0,
                ev: CursorEvent::new(),
                ev_off: 0,
            };
            if !next_event(&mut c, g)? {
                self.spare.push(c.buf);
                continue;
            }
            self.frontier.push(c.ev.time, self.cursors.len() as u32);
            self.cursors.push(c);
            let n = self.frontier.len() - 1;
            heap_sift_up(&mut self.frontier, n);
        }
        Ok(())
    }

    /// Moves the cursor of frontier entry `i` past the event it holds, and restores the heap.
    #[inline(always)]
    pub(super) fn step(&mut self, i: usize, g: &Generation) -> Result<(), TraceError> {
        let c = &mut self.cursors[self.frontier.cur[i] as usize];
        if next_event(c, g)? {
            self.frontier.time[i] = c.ev.time;
            heap_update(&mut self.frontier, i);
        } else {
            heap_remove(&mut self.frontier, i);
        }
        Ok(())
    }

    /// The cursor of frontier entry `i`.
    #[inline(always)]
    pub(super) fn cursor(&mut self, i: usize) -> &mut Cursor {
        &mut self.cursors[self.frontier.cur[i] as usize]
    }
}

/// One varint at `d[*n..]`, where the arena padding guarantees ten readable bytes; None on
/// overflow (the checked decoder then names the error).
#[inline(always)]
pub(super) fn uv_padded(d: &[u8], n: &mut usize) -> Option<u64> {
    let b = d[*n];
    if b < 0x80 {
        *n += 1;
        return Some(b as u64);
    }
    let mut x = (b & 0x7f) as u64;
    let mut s = 7;
    for i in 1..10 {
        let b = d[*n + i];
        if b < 0x80 {
            if i == 9 && b > 1 {
                return None;
            }
            *n += i + 1;
            return Some(x | (b as u64) << s);
        }
        x |= ((b & 0x7f) as u64) << s;
        s += 7;
    }
    None
}

/// Decodes the cursor's next timed event (Go's `batchCursor.nextEvent`).
#[inline(always)]
pub(super) fn next_event(c: &mut Cursor, g: &Generation) -> Result<bool, TraceError> {
    if c.pos == c.end && !next_batch(c, g)? {
        return Ok(false);
    }
    if c.last_ts == 0 {
        c.last_ts = g.mul(g.ms[c.mi].1[c.idx].time);
    }
    // Fast path: decode from the padded batch, then check the event ended inside it;
    // anything unusual goes to the checked decoder, which names the error.
    let d = &c.buf[c.pos..c.pos + DATA_PAD];
    let typ = d[0];
    let nargs = WIRE_ARGS[typ as usize];
    if nargs != NOT_TIMED {
        let mut n = 1;
        if let Some(dt) = uv_padded(d, &mut n) {
            let mut args = [0u64; 4];
            let mut ok = true;
            for a in args.iter_mut().take(nargs as usize) {
                match uv_padded(d, &mut n) {
                    Some(v) => *a = v,
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok && c.pos + n <= c.end {
                c.ev.typ = typ;
                c.ev.set_args(args);
                c.ev.time = g.mul(dt).wrapping_add(c.last_ts);
                c.last_ts = c.ev.time;
                c.ev_off = c.file_off.wrapping_add(c.pos as u64);
                c.pos += n;
                return Ok(true);
            }
        }
    }
    next_event_checked(c, g)
}

/// Moves to the M's next non-empty batch and loads it; false after the last.
#[inline(never)]
fn next_batch(c: &mut Cursor, g: &Generation) -> Result<bool, TraceError> {
    let batches = &g.ms[c.mi].1;
    loop {
        let i = c.idx.wrapping_add(1);
        if i >= batches.len() {
            return Ok(false);
        }
        c.idx = i;
        c.last_ts = 0;
        let b = &batches[i];
        if b.len > 0 {
            g.load_batch(b, &mut c.buf)?;
            c.pos = 0;
            c.end = b.len;
            c.file_off = b.file_off;
            return Ok(true);
        }
    }
}

#[cold]
#[inline(never)]
fn next_event_checked(c: &mut Cursor, g: &Generation) -> Result<bool, TraceError> {
    let data = &c.buf[c.pos..c.end];
    let off = c.file_off.wrapping_add(c.pos as u64);
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
    let mut args = [0; 4];
    for a in args.iter_mut().take(sp.args.len() - 1) {
        let Some((v, k)) = uvarint(&data[n..]) else {
            return fail("found invalid uvarint".into());
        };
        *a = v;
        n += k;
    }
    c.ev.set_args(args);
    c.ev.time = g.mul(dt).wrapping_add(c.last_ts);
    c.last_ts = c.ev.time;
    c.ev_off = off;
    c.pos += n;
    Ok(true)
}

#[inline(always)]
pub(super) fn heap_update(h: &mut Frontier, i: usize) {
    if i == 0 {
        // The common case: the cursor that just advanced is usually still the earliest.
        // (A branch-free sift measured slower: its chain of stores and reloads is longer
        // than the mispredictions it saves.) The sentinels make both children readable.
        let t = h.time[0];
        if t <= h.time[1] && t <= h.time[2] {
            return;
        }
        heap_sift_down(h, 0);
        return;
    }
    if heap_sift_up(h, i) != i {
        return;
    }
    heap_sift_down(h, i);
}

pub(super) fn heap_remove(h: &mut Frontier, mut i: usize) {
    while i > 0 {
        h.swap((i - 1) / 2, i);
        i = (i - 1) / 2;
    }
    let last = h.len() - 1;
    h.swap(0, last);
    h.pop();
    heap_sift_down(h, 0);
}

pub(super) fn heap_sift_up(h: &mut Frontier, mut i: usize) -> usize {
    while i > 0 && h.time[(i - 1) / 2] > h.time[i] {
        h.swap((i - 1) / 2, i);
        i = (i - 1) / 2;
    }
    i
}

pub(super) fn heap_sift_down(h: &mut Frontier, mut i: usize) -> usize {
    loop {
        let m = min3(&h.time, i, h.n);
        if m == i {
            break;
        }
        h.swap(i, m);
        i = m;
    }
    i
}

/// Go's `heapSiftDown` choice: the entry or its smaller child, the earlier one on ties.
#[inline]
fn min3(b: &[i64], i0: usize, n: usize) -> usize {
    let (i1, i2) = (2 * i0 + 1, 2 * i0 + 2);
    let mut min_idx = i0;
    let mut min_t = i64::MAX;
    if i0 < n {
        min_t = b[i0];
    }
    if i1 < n && b[i1] < min_t {
        min_t = b[i1];
        min_idx = i1;
    }
    if i2 < n && b[i2] < min_t {
        min_idx = i2;
    }
    min_idx
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The padded fast varint decoder agrees with `binary.Uvarint` (`wire::uvarint`) on
        /// every input: same value and length, or both refuse.
        #[test]
        fn padded_varint_equals_checked(bytes in proptest::collection::vec(
            prop_oneof![any::<u8>(), 0x80u8..=0xff, Just(0xffu8), Just(0x01u8)], 0..12)) {
            let mut padded = bytes.clone();
            padded.resize(bytes.len() + DATA_PAD, 0);
            let mut n = 0;
            let fast = uv_padded(&padded, &mut n);
            match uvarint(&bytes) {
                Some((v, k)) => prop_assert_eq!((fast, n), (Some(v), k)),
                // Too short for the checked decoder: the fast one reads into the padding and
                // must then end past the input, which the caller treats as "ran off the batch".
                None if bytes.len() < 10 && bytes.iter().all(|&b| b >= 0x80) => {
                    prop_assert!(fast.is_none() || n > bytes.len())
                }
                None => prop_assert!(fast.is_none()),
            }
        }
    }
}
