//! The ordering state machine (a port of Go's `internal/trace/order.go`): decides whether an
//! event from one M may happen next, given per-goroutine and per-P sequence numbers and states,
//! and gives each event its scheduling context (M, P, G before the event).

use super::fxmap::FxMap;
use super::generation::{Generation, NO_THREAD};
use super::spec::*;

pub const NONE: u64 = u64::MAX;

/// Go's `GoState` as the API exposes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum GoState {
    Undetermined = 0,
    NotExist = 1,
    Runnable = 2,
    Running = 3,
    Waiting = 4,
    Syscall = 5,
}

impl GoState {
    pub fn from_u64(v: u64) -> GoState {
        match v {
            1 => GoState::NotExist,
            2 => GoState::Runnable,
            3 => GoState::Running,
            4 => GoState::Waiting,
            5 => GoState::Syscall,
            _ => GoState::Undetermined,
        }
    }
    pub fn from_status(s: u64) -> GoState {
        match s {
            GO_RUNNABLE => GoState::Runnable,
            GO_RUNNING => GoState::Running,
            GO_SYSCALL => GoState::Syscall,
            GO_WAITING => GoState::Waiting,
            _ => GoState::Undetermined,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ProcState {
    Undetermined = 0,
    NotExist = 1,
    Running = 2,
    Idle = 3,
}

impl ProcState {
    pub fn from_u64(v: u64) -> ProcState {
        match v {
            1 => ProcState::NotExist,
            2 => ProcState::Running,
            3 => ProcState::Idle,
            _ => ProcState::Undetermined,
        }
    }
    pub fn from_status(s: u64) -> ProcState {
        match s {
            PROC_RUNNING | PROC_SYSCALL => ProcState::Running,
            PROC_IDLE | PROC_SYSCALL_ABANDONED => ProcState::Idle,
            _ => ProcState::Undetermined,
        }
    }
}

/// The scheduling context of an event: the M it happened on and the P and G that M had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctx {
    pub g: u64,
    pub p: u64,
    pub m: u64,
}

/// An ordered event. `args` are the wire arguments after `dt`, with Go's "smuggled" extras.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub typ: u8,
    pub time: i64,
    pub args: [u64; 4],
    pub ctx: Ctx,
}

impl Event {
    pub(crate) fn make(ctx: Ctx, typ: u8, time: i64, args: &[u64]) -> Event {
        let mut a = [0u64; 4];
        a[..args.len()].copy_from_slice(args);
        Event {
            typ,
            time,
            args: a,
            ctx,
        }
    }
    /// Index of the first "extra" slot (after the wire arguments).
    pub fn extra_idx(typ: u8) -> usize {
        SPECS[typ as usize].args.len().saturating_sub(1)
    }
}

/// The events one `advance` produces (at most 3, for GoSwitch), drained before the next
/// advance: a fixed ring instead of a growable deque on the per-event path.
#[derive(Default)]
pub struct Queue {
    buf: [Option<Event>; 4],
    head: usize,
    pub len: usize,
}

impl Queue {
    #[inline]
    pub fn push_back(&mut self, e: Event) {
        debug_assert!(self.len < 4);
        let i = (self.head + self.len) & 3;
        self.buf[i] = Some(e);
        self.len += 1;
    }
    /// Inserts at position `pos` from the front (rare path: an advance that also
    /// synthesized events).
    pub fn insert(&mut self, pos: usize, e: Event) {
        let mut items: Vec<Event> = std::iter::from_fn(|| self.pop_front()).collect();
        items.insert(pos.min(items.len()), e);
        for it in items {
            self.push_back(it);
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn pop_front(&mut self) -> Option<Event> {
        if self.len == 0 {
            return None;
        }
        let e = self.buf[self.head].take();
        self.head = (self.head + 1) & 3;
        self.len -= 1;
        e
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Seq {
    gn: u64,
    seq: u64,
}

impl Seq {
    #[inline]
    fn succeeds(self, b: Seq) -> bool {
        self.gn == b.gn && self.seq == b.seq.wrapping_add(1)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct RangeType {
    typ: u8,
    desc: u64,
}

fn range_type(typ: u8, desc: u64) -> RangeType {
    let st = SPECS[typ as usize].start_ev;
    RangeType {
        typ: if st != 0 { st } else { typ },
        desc,
    }
}

#[derive(Default, Debug)]
struct RangeState {
    in_flight: Vec<RangeType>,
}

impl RangeState {
    fn begin(&mut self, t: RangeType) -> Result<(), String> {
        if self.in_flight.contains(&t) {
            return Err(format!(
                "discovered event already in-flight for when starting event {}",
                SPECS[t.typ as usize].name
            ));
        }
        self.in_flight.push(t);
        Ok(())
    }
    fn active(&mut self, t: RangeType, initial: bool) -> Result<(), String> {
        if initial {
            if self.in_flight.contains(&t) {
                return Err(format!(
                    "found named active range already in first gen: {t:?}"
                ));
            }
            self.in_flight.push(t);
        } else if !self.in_flight.contains(&t) {
            return Err(format!(
                "resource is missing active range: {} {:?}",
                SPECS[t.typ as usize].name, self.in_flight
            ));
        }
        Ok(())
    }
    fn end(&mut self, typ: u8) -> Result<u64, String> {
        let st = SPECS[typ as usize].start_ev;
        let Some(idx) = self.in_flight.iter().position(|r| r.typ == st) else {
            return Err(format!(
                "tried to end event {}, but not in-flight",
                SPECS[st as usize].name
            ));
        };
        Ok(self.in_flight.swap_remove(idx).desc)
    }
}

#[derive(Debug)]
struct GState {
    status: u64,
    seq: Seq,
    regions: Vec<(u64, Box<str>)>,
    ranges: RangeState,
}

impl GState {
    fn new(status: u64, seq: Seq) -> Self {
        GState {
            status,
            seq,
            regions: Vec::new(),
            ranges: RangeState::default(),
        }
    }
}

/// Goroutine states by ID. The runtime hands out goroutine IDs in small consecutive blocks,
/// so they are dense: an index vector into a slab beats hashing on the per-event path. IDs
/// past `G_DENSE` (a program that made millions of goroutines) go to a map.
#[derive(Default)]
struct GStates {
    /// ID → slab slot + 1; 0 = no such goroutine.
    index: Vec<u32>,
    slab: Vec<GState>,
    free: Vec<u32>,
    sparse: FxMap<u64, u32>,
}

const G_DENSE: u64 = 1 << 22;

impl GStates {
    #[inline]
    fn slot(&self, id: u64) -> Option<usize> {
        if id < G_DENSE {
            match self.index.get(id as usize) {
                Some(&s) if s != 0 => Some(s as usize - 1),
                _ => None,
            }
        } else {
            self.sparse.get(&id).map(|&s| s as usize)
        }
    }
    #[inline]
    fn get(&self, id: u64) -> Option<&GState> {
        self.slot(id).map(|s| &self.slab[s])
    }
    #[inline]
    fn get_mut(&mut self, id: u64) -> Option<&mut GState> {
        self.slot(id).map(|s| &mut self.slab[s])
    }
    #[inline]
    fn contains_key(&self, id: u64) -> bool {
        self.slot(id).is_some()
    }
    fn insert(&mut self, id: u64, st: GState) {
        if let Some(s) = self.slot(id) {
            self.slab[s] = st;
            return;
        }
        let s = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = st;
                s
            }
            None => {
                self.slab.push(st);
                (self.slab.len() - 1) as u32
            }
        };
        if id < G_DENSE {
            if self.index.len() <= id as usize {
                self.index.resize(id as usize + 1, 0);
            }
            self.index[id as usize] = s + 1;
        } else {
            self.sparse.insert(id, s);
        }
    }
    // The ID by value: a reference would keep the caller's context in memory.
    fn remove(&mut self, id: u64) {
        let s = if id < G_DENSE {
            match self.index.get_mut(id as usize) {
                Some(s) if *s != 0 => std::mem::replace(s, 0) - 1,
                _ => return,
            }
        } else {
            match self.sparse.remove(&id) {
                Some(s) => s,
                None => return,
            }
        };
        // Drop the goroutine's regions and ranges now; the slot is reused by a later insert.
        self.slab[s as usize] = GState::new(0, Seq { gn: 0, seq: 0 });
        self.free.push(s);
    }
}

#[derive(Debug)]
struct PState {
    status: u64,
    seq: Seq,
    ranges: RangeState,
}

#[derive(Debug, Clone, Copy)]
struct MState {
    g: u64,
    p: u64,
}

#[derive(Default)]
struct PStates {
    dense: Vec<Option<PState>>,
    sparse: FxMap<u64, PState>,
}

impl PStates {
    #[inline]
    fn get(&self, p: &u64) -> Option<&PState> {
        if *p < 4096 {
            self.dense.get(*p as usize).and_then(|o| o.as_ref())
        } else {
            self.sparse.get(p)
        }
    }
    #[inline]
    fn get_mut(&mut self, p: &u64) -> Option<&mut PState> {
        if *p < 4096 {
            self.dense.get_mut(*p as usize).and_then(|o| o.as_mut())
        } else {
            self.sparse.get_mut(p)
        }
    }
    fn insert(&mut self, p: u64, st: PState) {
        if p < 4096 {
            if self.dense.len() <= p as usize {
                self.dense.resize_with(p as usize + 1, || None);
            }
            self.dense[p as usize] = Some(st);
        } else {
            self.sparse.insert(p, st);
        }
    }
}

#[derive(Default)]
struct MStates {
    ids: Vec<u64>,
    states: Vec<MState>,
}

impl MStates {
    #[inline]
    fn find(&self, m: u64) -> Option<usize> {
        self.ids.iter().position(|&x| x == m)
    }
    #[inline]
    fn get(&self, m: &u64) -> Option<&MState> {
        self.find(*m).map(|i| &self.states[i])
    }
    #[inline]
    fn get_mut(&mut self, m: &u64) -> Option<&mut MState> {
        self.find(*m).map(|i| &mut self.states[i])
    }
    /// The M's slot, created (with no P and no G) if new.
    #[inline]
    fn slot(&mut self, m: u64) -> usize {
        match self.find(m) {
            Some(i) => i,
            None => {
                self.ids.push(m);
                self.states.push(MState { g: NONE, p: NONE });
                self.ids.len() - 1
            }
        }
    }
    #[inline]
    fn entry(&mut self, m: u64) -> &mut MState {
        let i = self.slot(m);
        &mut self.states[i]
    }
    fn insert(&mut self, m: u64, st: MState) {
        *self.entry(m) = st;
    }
    fn iter(&self) -> impl Iterator<Item = (&u64, &MState)> {
        self.ids.iter().zip(self.states.iter())
    }
}

#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum GcState {
    Undetermined,
    NotRunning,
    Running,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum C {
    MustNot,
    May,
    Must,
}

// Always inlined: called out of line, the context went through memory by reference and the
// handler's later copy of it stalled on those stores.
#[inline(always)]
fn validate(ctx: Ctx, m: C, p: C, g: C) -> Result<(), String> {
    // Inlined with constant requirements this folds to a few compares; the messages are
    // built out of line.
    let bad = |c: C, has: bool| (c == C::Must && !has) || (c == C::MustNot && has);
    if bad(m, ctx.m != NO_THREAD) || bad(p, ctx.p != NONE) || bad(g, ctx.g != NONE) {
        return validate_slow(ctx, m, p, g);
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn validate_slow(ctx: Ctx, m: C, p: C, g: C) -> Result<(), String> {
    if m == C::Must && ctx.m == NO_THREAD {
        return Err("expected a thread but didn't have one".into());
    } else if m == C::MustNot && ctx.m != NO_THREAD {
        return Err("expected no thread but had one".into());
    }
    if p == C::Must && ctx.p == NONE {
        return Err("expected a proc but didn't have one".into());
    } else if p == C::MustNot && ctx.p != NONE {
        return Err("expected no proc but had one".into());
    }
    if g == C::Must && ctx.g == NONE {
        return Err("expected a goroutine but didn't have one".into());
    } else if g == C::MustNot && ctx.g != NONE {
        return Err("expected no goroutine but had one".into());
    }
    Ok(())
}

#[inline(always)]
fn user_go(ctx: Ctx) -> Result<(), String> {
    validate(ctx, C::Must, C::Must, C::Must)
}

pub struct Ordering {
    ver: u32,
    g_states: GStates,
    /// P IDs are 0..GOMAXPROCS: a vector, with a map for odd IDs.
    p_states: PStates,
    /// Few Ms exist at once: a vector beats hashing on the per-event path.
    m_states: MStates,
    active_tasks: FxMap<u64, u64>,
    gc_seq: u64,
    gc_state: GcState,
    initial_gen: u64,
    /// Synthesized events (GoSwitch, GoDestroySyscall) still to be returned.
    pub queue: Queue,
    /// Queue position of the advanced event, set by a successful `advance`.
    pub main_pos: usize,
}

type Adv = Result<(Ctx, bool), String>;

impl Ordering {
    pub fn new(ver: u32) -> Self {
        Ordering {
            ver,
            g_states: GStates::default(),
            p_states: PStates::default(),
            m_states: MStates::default(),
            active_tasks: FxMap::default(),
            gc_seq: 0,
            gc_state: GcState::Undetermined,
            initial_gen: 0,
            queue: Queue::default(),
            main_pos: 0,
        }
    }

    fn name(&self, typ: u8) -> String {
        event_name(self.ver, typ)
    }

    /// Go's `ordering.Advance`: Ok(true) when `ev` happened and was queued. `mslot` is
    /// the caller's cache of M `m`'s slot (`usize::MAX` until the first event of that M):
    /// slots never move, and finding one on every event cost a search.
    #[inline(always)]
    pub fn advance(
        &mut self,
        ev: &mut Event,
        g: &Generation,
        m: u64,
        mslot: &mut usize,
        gn: u64,
    ) -> Result<bool, String> {
        if self.initial_gen == 0 {
            self.initial_gen = gn;
        }
        let (mut cur_g, mut cur_p) = (NONE, NONE);
        if m != NO_THREAD {
            if *mslot == usize::MAX {
                *mslot = self.m_states.slot(m);
            }
            let ms = &self.m_states.states[*mslot];
            cur_p = ms.p;
            cur_g = ms.g;
        }
        // The event's context is the M's before it, written here once from registers. The
        // scheduler's common events only change the M's goroutine, which is written back
        // directly. (Contexts built on the stack and copied whole stalled the copy: it read
        // 16 bytes at once from 8-byte stores.)
        ev.ctx.g = cur_g;
        ev.ctx.p = cur_p;
        ev.ctx.m = m;
        let cur = Ctx {
            g: cur_g,
            p: cur_p,
            m,
        };
        match ev.typ {
            EV_GO_START => {
                let ok = self.go_start(ev, gn, cur)?;
                if ok && m != NO_THREAD {
                    self.m_states.states[*mslot].g = ev.args[0];
                }
                Ok(ok)
            }
            EV_GO_DESTROY | EV_GO_STOP | EV_GO_BLOCK => {
                let ok = self.go_stop_exec(ev, cur)?;
                if ok && m != NO_THREAD {
                    self.m_states.states[*mslot].g = NONE;
                }
                Ok(ok)
            }
            EV_GO_UNBLOCK => self.go_unblock(ev, gn),
            _ => {
                let (new, ok) = self.advance_other(ev, g, gn, cur)?;
                if ok && m != NO_THREAD {
                    // Handlers only append Ms, so the slot is still this M's.
                    let ms = &mut self.m_states.states[*mslot];
                    ms.p = new.p;
                    ms.g = new.g;
                }
                Ok(ok)
            }
        }
    }

    #[inline(never)]
    fn advance_other(&mut self, ev: &mut Event, g: &Generation, gn: u64, cur: Ctx) -> Adv {
        match ev.typ {
            EV_PROCS_CHANGE | EV_GO_LABEL | EV_USER_LOG => self.annotation(ev, cur),
            EV_PROC_START => self.proc_start(ev, gn, cur),
            EV_PROC_STOP => self.proc_stop(ev, cur),
            EV_PROC_STEAL => self.proc_steal(ev, gn, cur),
            EV_PROC_STATUS => self.proc_status(ev, gn, cur),
            EV_GO_CREATE | EV_GO_CREATE_BLOCKED => self.go_create(ev, gn, cur),
            EV_GO_CREATE_SYSCALL => self.go_create_syscall(ev, gn, cur),
            EV_GO_DESTROY_SYSCALL => self.go_destroy_syscall(ev, cur),
            EV_GO_SYSCALL_BEGIN => self.go_syscall_begin(ev, gn, cur),
            EV_GO_SYSCALL_END => self.go_syscall_end(ev, cur),
            EV_GO_SYSCALL_END_BLOCKED => self.go_syscall_end_blocked(ev, cur),
            EV_GO_STATUS | EV_GO_STATUS_STACK => self.go_status(ev, gn, cur),
            EV_STW_BEGIN | EV_GC_MARK_ASSIST_BEGIN => self.go_range_begin(ev, cur),
            EV_STW_END | EV_GC_MARK_ASSIST_END => self.go_range_end(ev, cur),
            EV_GC_MARK_ASSIST_ACTIVE => self.go_range_active(ev, gn, cur),
            EV_GC_ACTIVE => self.gc_active(ev, gn, cur),
            EV_GC_BEGIN => self.gc_begin(ev, cur),
            EV_GC_END => self.gc_end(ev, cur),
            EV_GC_SWEEP_ACTIVE => self.sweep_active(ev, gn, cur),
            EV_GC_SWEEP_BEGIN => self.sweep_begin(ev, cur),
            EV_GC_SWEEP_END => self.sweep_end(ev, cur),
            EV_HEAP_ALLOC | EV_HEAP_GOAL => self.heap_metric(ev, cur),
            EV_USER_TASK_BEGIN => self.task_begin(ev, g, cur),
            EV_USER_TASK_END => self.task_end(ev, cur),
            EV_USER_REGION_BEGIN => self.region(ev, g, cur, true),
            EV_USER_REGION_END => self.region(ev, g, cur, false),
            EV_GO_SWITCH | EV_GO_SWITCH_DESTROY => self.go_switch(ev, gn, cur),
            128..=136 => self.alloc_free(ev, cur),
            t => Err(format!("bad event type found while ordering: {t}")),
        }
    }

    #[inline]
    /// Queues the advanced event itself: it gets its context in place, and only its queue
    /// position is stored (a context stored here and read back by the reader went through
    /// memory in pieces, and the read stalled on them).
    fn push(&mut self, ev: &mut Event, ctx: Ctx) {
        ev.ctx = ctx;
        self.main_pos = self.queue.len;
    }

    /// `push` for an event whose context is the one `advance` gave it.
    #[inline(always)]
    fn push_here(&mut self) {
        self.main_pos = self.queue.len;
    }

    fn proc_status(&mut self, ev: &mut Event, gn: u64, mut cur: Ctx) -> Adv {
        let pid = ev.args[0];
        let status = ev.args[1];
        if status > PROC_SYSCALL_ABANDONED {
            return Err(format!("invalid status for proc {pid}: {status}"));
        }
        let mut old = ProcState::from_status(status);
        if let Some(s) = self.p_states.get_mut(&pid) {
            if status == PROC_SYSCALL_ABANDONED && s.status == PROC_SYSCALL {
                old = ProcState::Running;
                ev.args[1] = PROC_SYSCALL;
            } else if status == PROC_SYSCALL_ABANDONED && s.status == PROC_SYSCALL_ABANDONED {
                old = ProcState::Idle;
                ev.args[1] = PROC_SYSCALL_ABANDONED;
            } else if s.status != status {
                return Err(format!(
                    "inconsistent status for proc {pid}: old {} vs. new {}",
                    proc_status_name(s.status),
                    proc_status_name(status)
                ));
            }
            s.seq = Seq { gn, seq: 0 };
        } else {
            self.p_states.insert(
                pid,
                PState {
                    status,
                    seq: Seq { gn, seq: 0 },
                    ranges: RangeState::default(),
                },
            );
            old = if gn == self.initial_gen {
                ProcState::Undetermined
            } else {
                ProcState::NotExist
            };
        }
        ev.args[Event::extra_idx(ev.typ)] = old as u64;
        let mut new = cur;
        if status == PROC_RUNNING || status == PROC_SYSCALL {
            new.p = pid;
        }
        if status == PROC_SYSCALL_ABANDONED && old == ProcState::Running {
            // Go iterates a map here; with several matches the last visited wins. Ms bound to
            // the same P cannot happen in a valid trace, so any match is the match.
            let mut found = false;
            for (&mid, ms) in self.m_states.iter() {
                if ms.p == pid {
                    cur.m = mid;
                    cur.p = pid;
                    cur.g = ms.g;
                    found = true;
                }
            }
            if !found {
                return Err(format!(
                    "failed to find sched context for proc {pid} that's about to be stolen"
                ));
            }
        }
        self.push(ev, cur);
        Ok((new, true))
    }

    fn proc_start(&mut self, ev: &mut Event, gn: u64, cur: Ctx) -> Adv {
        let pid = ev.args[0];
        let seq = Seq {
            gn,
            seq: ev.args[1],
        };
        let Some(st) = self.p_states.get_mut(&pid) else {
            return Ok((cur, false));
        };
        if st.status != PROC_IDLE || !seq.succeeds(st.seq) || cur.p != NONE {
            return Ok((cur, false));
        }
        validate(cur, C::Must, C::MustNot, C::May)?;
        st.status = PROC_RUNNING;
        st.seq = seq;
        let mut new = cur;
        new.p = pid;
        self.push(ev, cur);
        Ok((new, true))
    }

    fn proc_stop(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        let (ver, typ) = (self.ver, ev.typ);
        let name = || event_name(ver, typ);
        let Some(st) = self.p_states.get_mut(&cur.p) else {
            return Err(format!(
                "event {name} for proc ({}) that doesn't exist",
                cur.p as i64,
                name = name()
            ));
        };
        if st.status != PROC_RUNNING && st.status != PROC_SYSCALL {
            return Err(format!(
                "{name} event for proc that's not Running or Syscall",
                name = name()
            ));
        }
        validate(cur, C::Must, C::Must, C::May)?;
        st.status = PROC_IDLE;
        let mut new = cur;
        new.p = NONE;
        self.push(ev, cur);
        Ok((new, true))
    }

    fn proc_steal(&mut self, ev: &mut Event, gn: u64, cur: Ctx) -> Adv {
        let pid = ev.args[0];
        let seq = Seq {
            gn,
            seq: ev.args[1],
        };
        let Some(st) = self.p_states.get_mut(&pid) else {
            return Ok((cur, false));
        };
        if (st.status != PROC_SYSCALL && st.status != PROC_SYSCALL_ABANDONED)
            || !seq.succeeds(st.seq)
        {
            return Ok((cur, false));
        }
        validate(cur, C::Must, C::May, C::May)?;
        let old = st.status;
        ev.args[Event::extra_idx(ev.typ)] = old;
        st.status = PROC_IDLE;
        st.seq = seq;
        if old == PROC_SYSCALL_ABANDONED {
            self.push(ev, cur);
            return Ok((cur, true));
        }
        let mid = ev.args[2];
        let mut new = cur;
        if mid == cur.m {
            if cur.p != pid {
                return Err(format!(
                    "tried to self-steal proc {pid} (thread {mid}), but got proc {} instead",
                    cur.p as i64
                ));
            }
            new.p = NONE;
            self.push(ev, cur);
            return Ok((new, true));
        }
        let Some(ms) = self.m_states.get_mut(&mid) else {
            return Err(format!(
                "stole proc from non-existent thread {}",
                mid as i64
            ));
        };
        if ms.p != pid {
            return Err(format!(
                "tried to steal proc {pid} from thread {}, but got proc {} instead",
                mid as i64, ms.p as i64
            ));
        }
        ms.p = NONE;
        self.push(ev, cur);
        Ok((new, true))
    }

    fn go_status(&mut self, ev: &mut Event, gn: u64, mut cur: Ctx) -> Adv {
        let gid = ev.args[0];
        let mid = ev.args[1];
        let status = ev.args[2];
        if status > GO_WAITING {
            return Err(format!(
                "invalid status for goroutine {}: {status}",
                gid as i64
            ));
        }
        let mut old = GoState::from_status(status);
        if let Some(s) = self.g_states.get_mut(gid) {
            if s.status != status {
                return Err(format!(
                    "inconsistent status for goroutine {}: old {} vs. new {}",
                    gid as i64,
                    go_status_name(s.status),
                    go_status_name(status)
                ));
            }
            s.seq = Seq { gn, seq: 0 };
        } else if gn == self.initial_gen {
            self.g_states
                .insert(gid, GState::new(status, Seq { gn, seq: 0 }));
            old = GoState::Undetermined;
        } else {
            return Err(format!(
                "found goroutine status for new goroutine after the first generation: id={} status={}",
                gid as i64,
                go_status_name(status)
            ));
        }
        ev.args[2] = (old as u64) << 32 | status;
        let mut new = cur;
        match status {
            GO_RUNNING => new.g = gid,
            GO_SYSCALL => {
                if mid == NO_THREAD {
                    return Err(format!(
                        "found goroutine {} in syscall without a thread",
                        gid as i64
                    ));
                }
                if mid == cur.m {
                    if gn != self.initial_gen && cur.g != gid {
                        return Err(format!(
                            "inconsistent thread for syscalling goroutine {}: thread has goroutine {}",
                            gid as i64, cur.g as i64
                        ));
                    }
                    new.g = gid;
                } else {
                    match self.m_states.get(&mid) {
                        Some(ms) => {
                            if ms.g != gid {
                                return Err(format!(
                                    "inconsistent thread for syscalling goroutine {}: thread has goroutine {}",
                                    gid as i64, ms.g as i64
                                ));
                            }
                            cur.g = ms.g;
                        }
                        None => {
                            self.m_states.insert(mid, MState { g: gid, p: NONE });
                        }
                    }
                    cur.m = mid;
                }
            }
            _ => {}
        }
        self.push(ev, cur);
        Ok((new, true))
    }

    fn go_create(&mut self, ev: &mut Event, gn: u64, cur: Ctx) -> Adv {
        validate(cur, C::Must, C::Must, C::May)?;
        if let Some(st) = self.g_states.get(cur.g)
            && st.status != GO_RUNNING
        {
            return Err(format!(
                "{} event for goroutine that's not Running",
                self.name(ev.typ)
            ));
        }
        let newg = ev.args[0];
        if self.g_states.contains_key(newg) {
            return Err(format!(
                "tried to create goroutine ({}) that already exists",
                newg as i64
            ));
        }
        let status = if ev.typ == EV_GO_CREATE_BLOCKED {
            GO_WAITING
        } else {
            GO_RUNNABLE
        };
        self.g_states
            .insert(newg, GState::new(status, Seq { gn, seq: 0 }));
        self.push(ev, cur);
        Ok((cur, true))
    }

    #[inline(always)]
    /// GoStop, GoBlock, GoDestroy (the caller clears the M's goroutine on success).
    fn go_stop_exec(&mut self, ev: &mut Event, cur: Ctx) -> Result<bool, String> {
        user_go(cur)?;
        let (ver, typ) = (self.ver, ev.typ);
        let name = || event_name(ver, typ);
        let Some(st) = self.g_states.get_mut(cur.g) else {
            return Err(format!(
                "event {name} for goroutine ({}) that doesn't exist",
                cur.g as i64,
                name = name()
            ));
        };
        if st.status != GO_RUNNING {
            return Err(format!(
                "{name} event for goroutine that's not Running",
                name = name()
            ));
        }
        match ev.typ {
            EV_GO_DESTROY => {
                self.g_states.remove(cur.g);
            }
            EV_GO_STOP => st.status = GO_RUNNABLE,
            _ => st.status = GO_WAITING,
        }
        self.push_here();
        Ok(true)
    }

    #[inline(always)]
    /// GoStart (the caller makes the goroutine the M's on success).
    fn go_start(&mut self, ev: &mut Event, gn: u64, cur: Ctx) -> Result<bool, String> {
        let gid = ev.args[0];
        let seq = Seq {
            gn,
            seq: ev.args[1],
        };
        let Some(st) = self.g_states.get_mut(gid) else {
            return Ok(false);
        };
        if st.status != GO_RUNNABLE || !seq.succeeds(st.seq) {
            return Ok(false);
        }
        validate(cur, C::Must, C::Must, C::MustNot)?;
        st.status = GO_RUNNING;
        st.seq = seq;
        self.push_here();
        Ok(true)
    }

    #[inline(always)]
    fn go_unblock(&mut self, ev: &mut Event, gn: u64) -> Result<bool, String> {
        let gid = ev.args[0];
        let seq = Seq {
            gn,
            seq: ev.args[1],
        };
        let Some(st) = self.g_states.get_mut(gid) else {
            return Ok(false);
        };
        if st.status != GO_WAITING || !seq.succeeds(st.seq) {
            return Ok(false);
        }
        st.status = GO_RUNNABLE;
        st.seq = seq;
        self.push_here();
        Ok(true)
    }

    fn go_switch(&mut self, ev: &mut Event, gn: u64, cur: Ctx) -> Adv {
        user_go(cur)?;
        let (ver, typ) = (self.ver, ev.typ);
        let name = || event_name(ver, typ);
        match self.g_states.get(cur.g) {
            None => {
                return Err(format!(
                    "event {name} for goroutine ({}) that doesn't exist",
                    cur.g as i64,
                    name = name()
                ));
            }
            Some(s) if s.status != GO_RUNNING => {
                return Err(format!(
                    "{name} event for goroutine that's not Running",
                    name = name()
                ));
            }
            _ => {}
        }
        let nextg = ev.args[0];
        let seq = Seq {
            gn,
            seq: ev.args[1],
        };
        match self.g_states.get(nextg) {
            Some(s) if s.status == GO_WAITING && seq.succeeds(s.seq) => {}
            _ => return Ok((cur, false)),
        }
        self.push(ev, cur);
        if ev.typ == EV_GO_SWITCH {
            if let Some(s) = self.g_states.get_mut(cur.g) {
                s.status = GO_WAITING;
            }
            self.queue
                .push_back(Event::make(cur, EV_GO_BLOCK, ev.time, &[0, 0]));
        } else {
            self.g_states.remove(cur.g);
            self.queue
                .push_back(Event::make(cur, EV_GO_DESTROY, ev.time, &[]));
        }
        if let Some(s) = self.g_states.get_mut(nextg) {
            s.status = GO_RUNNING;
            s.seq = seq;
        }
        let mut new = cur;
        new.g = nextg;
        let mut start_ctx = cur;
        start_ctx.g = NONE;
        self.queue.push_back(Event::make(
            start_ctx,
            EV_GO_START,
            ev.time,
            &[nextg, ev.args[1]],
        ));
        Ok((new, true))
    }

    fn go_syscall_begin(&mut self, ev: &mut Event, gn: u64, cur: Ctx) -> Adv {
        user_go(cur)?;
        let (ver, typ) = (self.ver, ev.typ);
        let name = || event_name(ver, typ);
        let Some(st) = self.g_states.get_mut(cur.g) else {
            return Err(format!(
                "event {name} for goroutine ({}) that doesn't exist",
                cur.g as i64,
                name = name()
            ));
        };
        if st.status != GO_RUNNING {
            return Err(format!(
                "{name} event for goroutine that's not Running",
                name = name()
            ));
        }
        st.status = GO_SYSCALL;
        let Some(ps) = self.p_states.get_mut(&cur.p) else {
            return Err(format!(
                "uninitialized proc {} found during {name}",
                cur.p as i64,
                name = name()
            ));
        };
        ps.status = PROC_SYSCALL;
        let pseq = Seq {
            gn,
            seq: ev.args[0],
        };
        if !pseq.succeeds(ps.seq) {
            return Err(format!(
                "failed to advance {name}: can't make sequence: {} (gen={}) -> {} (gen={})",
                ps.seq.seq,
                ps.seq.gn,
                pseq.seq,
                pseq.gn,
                name = name()
            ));
        }
        ps.seq = pseq;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn go_syscall_end(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        user_go(cur)?;
        let (ver, typ) = (self.ver, ev.typ);
        let name = || event_name(ver, typ);
        let Some(st) = self.g_states.get_mut(cur.g) else {
            return Err(format!(
                "event {name} for goroutine ({}) that doesn't exist",
                cur.g as i64,
                name = name()
            ));
        };
        if st.status != GO_SYSCALL {
            return Err(format!(
                "{name} event for goroutine that's not Running",
                name = name()
            ));
        }
        st.status = GO_RUNNING;
        let Some(ps) = self.p_states.get_mut(&cur.p) else {
            return Err(format!(
                "uninitialized proc {} found during {name}",
                cur.p as i64,
                name = name()
            ));
        };
        if ps.status != PROC_SYSCALL {
            return Err(format!(
                "expected proc {} in state Syscall, but got {} instead",
                cur.p as i64,
                proc_status_name(ps.status)
            ));
        }
        ps.status = PROC_RUNNING;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn go_syscall_end_blocked(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        let (ver, typ) = (self.ver, ev.typ);
        let name = || event_name(ver, typ);
        if cur.p != NONE {
            let Some(ps) = self.p_states.get(&cur.p) else {
                return Err(format!(
                    "uninitialized proc {} found during {name}",
                    cur.p as i64,
                    name = name()
                ));
            };
            if ps.status == PROC_SYSCALL {
                return Ok((cur, false));
            }
        }
        validate(cur, C::Must, C::May, C::Must)?;
        let Some(st) = self.g_states.get_mut(cur.g) else {
            return Err(format!(
                "event {name} for goroutine ({}) that doesn't exist",
                cur.g as i64,
                name = name()
            ));
        };
        if st.status != GO_SYSCALL {
            return Err(format!(
                "{name} event for goroutine that's not Running",
                name = name()
            ));
        }
        let mut new = cur;
        new.g = NONE;
        st.status = GO_RUNNABLE;
        self.push(ev, cur);
        Ok((new, true))
    }

    fn go_create_syscall(&mut self, ev: &mut Event, gn: u64, cur: Ctx) -> Adv {
        validate(cur, C::Must, C::May, C::MustNot)?;
        let newg = ev.args[0];
        if self.g_states.contains_key(newg) {
            return Err(format!(
                "tried to create goroutine ({}) in syscall that already exists",
                newg as i64
            ));
        }
        self.g_states
            .insert(newg, GState::new(GO_SYSCALL, Seq { gn, seq: 0 }));
        let mut new = cur;
        new.g = newg;
        self.push(ev, cur);
        Ok((new, true))
    }

    fn go_destroy_syscall(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        validate(cur, C::Must, C::May, C::Must)?;
        let (ver, typ) = (self.ver, ev.typ);
        let name = || event_name(ver, typ);
        match self.g_states.get(cur.g) {
            None => {
                return Err(format!(
                    "event {name} for goroutine ({}) that doesn't exist",
                    cur.g as i64,
                    name = name()
                ));
            }
            Some(s) if s.status != GO_SYSCALL => {
                return Err(format!(
                    "{name} event for goroutine that's not Syscall",
                    name = name()
                ));
            }
            _ => {}
        }
        self.g_states.remove(cur.g);
        let mut new = cur;
        new.g = NONE;
        if cur.p != NONE {
            let Some(ps) = self.p_states.get_mut(&cur.p) else {
                return Err(format!(
                    "found invalid proc {} during {name}",
                    cur.p as i64,
                    name = name()
                ));
            };
            if ps.status != PROC_SYSCALL {
                return Err(format!(
                    "proc {} in unexpected state {} during {name}",
                    cur.p as i64,
                    proc_status_name(ps.status),
                    name = name()
                ));
            }
            ps.status = PROC_SYSCALL_ABANDONED;
            new.p = NONE;
            let mut extra = Event::make(cur, EV_PROC_STEAL, ev.time, &[cur.p]);
            extra.args[Event::extra_idx(EV_PROC_STEAL)] = PROC_SYSCALL;
            self.queue.push_back(extra);
        }
        self.push(ev, cur);
        Ok((new, true))
    }

    fn task_begin(&mut self, ev: &mut Event, g: &Generation, cur: Ctx) -> Adv {
        let id = ev.args[0];
        if self.active_tasks.contains_key(&id) {
            return Err(format!("task ID conflict: {id}"));
        }
        let mut parent = ev.args[1];
        if parent == 0 {
            // 0 on the wire means "no parent" (Go's NoTask), not the background task.
            parent = NONE;
            ev.args[1] = NONE;
        }
        let name_id = ev.args[2];
        if !g.strings.contains(name_id) {
            return Err(format!("invalid string ID {name_id} for {} event", ev.typ));
        }
        self.active_tasks.insert(id, parent);
        user_go(cur)?;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn task_end(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        let id = ev.args[0];
        let x = Event::extra_idx(ev.typ);
        ev.args[x] = self.active_tasks.remove(&id).unwrap_or(NONE);
        user_go(cur)?;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn region(&mut self, ev: &mut Event, g: &Generation, cur: Ctx, begin: bool) -> Adv {
        user_go(cur)?;
        let tid = ev.args[0];
        let name_id = ev.args[1];
        if !g.strings.contains(name_id) {
            return Err(format!("invalid string ID {name_id} for {} event", ev.typ));
        }
        let name = g.string(name_id);
        let Some(st) = self.g_states.get_mut(cur.g) else {
            let which = if begin {
                "EvUserRegionBegin"
            } else {
                "EvUserRegionEnd"
            };
            return Err(format!(
                "encountered {which} without known state for current goroutine {}",
                cur.g as i64
            ));
        };
        if begin {
            st.regions.push((tid, name.into()));
        } else if let Some(last) = st.regions.last() {
            if last.0 != tid || &*last.1 != name {
                return Err(format!(
                    "misuse of region in goroutine {}: region end {{{tid} {name}}} when the inner-most active region start event is {{{} {}}}",
                    cur.g as i64, last.0, last.1
                ));
            }
            st.regions.pop();
        }
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn gc_active(&mut self, ev: &mut Event, gn: u64, cur: Ctx) -> Adv {
        let seq = ev.args[0];
        if gn == self.initial_gen {
            if self.gc_state != GcState::Undetermined {
                return Err("GCActive in the first generation isn't first GC event".into());
            }
            self.gc_seq = seq;
            self.gc_state = GcState::Running;
            self.push(ev, cur);
            return Ok((cur, true));
        }
        if seq != self.gc_seq.wrapping_add(1) {
            return Ok((cur, false));
        }
        if self.gc_state != GcState::Running {
            return Err("encountered GCActive while GC was not in progress".into());
        }
        self.gc_seq = seq;
        user_go(cur)?;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn gc_begin(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        let seq = ev.args[0];
        if self.gc_state == GcState::Undetermined {
            self.gc_seq = seq;
            self.gc_state = GcState::Running;
            self.push(ev, cur);
            return Ok((cur, true));
        }
        if seq != self.gc_seq.wrapping_add(1) {
            return Ok((cur, false));
        }
        if self.gc_state == GcState::Running {
            return Err("encountered GCBegin while GC was already in progress".into());
        }
        self.gc_seq = seq;
        self.gc_state = GcState::Running;
        user_go(cur)?;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn gc_end(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        let seq = ev.args[0];
        if seq != self.gc_seq.wrapping_add(1) {
            return Ok((cur, false));
        }
        match self.gc_state {
            GcState::NotRunning => {
                return Err("encountered GCEnd when GC was not in progress".into());
            }
            GcState::Undetermined => {
                return Err("encountered GCEnd when GC was in an undetermined state".into());
            }
            GcState::Running => {}
        }
        self.gc_seq = seq;
        self.gc_state = GcState::NotRunning;
        user_go(cur)?;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn annotation(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        user_go(cur)?;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn heap_metric(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        validate(cur, C::Must, C::Must, C::May)?;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn sweep_begin(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        validate(cur, C::Must, C::Must, C::May)?;
        // Go dereferences the P state unchecked; a P bound to an M always has a state.
        let Some(ps) = self.p_states.get_mut(&cur.p) else {
            return Err(format!(
                "uninitialized proc {} found during GCSweepBegin",
                cur.p as i64
            ));
        };
        ps.ranges.begin(range_type(ev.typ, 0))?;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn sweep_active(&mut self, ev: &mut Event, gn: u64, cur: Ctx) -> Adv {
        let pid = ev.args[0];
        let initial = gn == self.initial_gen;
        let Some(ps) = self.p_states.get_mut(&pid) else {
            return Err(format!("encountered GCSweepActive for unknown proc {pid}"));
        };
        ps.ranges.active(range_type(ev.typ, 0), initial)?;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn sweep_end(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        validate(cur, C::Must, C::Must, C::May)?;
        let Some(ps) = self.p_states.get_mut(&cur.p) else {
            return Err(format!(
                "uninitialized proc {} found during GCSweepEnd",
                cur.p as i64
            ));
        };
        ps.ranges.end(ev.typ)?;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn go_range_begin(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        user_go(cur)?;
        let desc = if ev.typ == EV_STW_BEGIN {
            ev.args[0]
        } else {
            0
        };
        let Some(st) = self.g_states.get_mut(cur.g) else {
            return Err(format!(
                "encountered event of type {} without known state for current goroutine {}",
                ev.typ, cur.g as i64
            ));
        };
        st.ranges.begin(range_type(ev.typ, desc))?;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn go_range_active(&mut self, ev: &mut Event, gn: u64, cur: Ctx) -> Adv {
        let gid = ev.args[0];
        let initial = gn == self.initial_gen;
        let (ver, typ) = (self.ver, ev.typ);
        let name = || event_name(ver, typ);
        let Some(st) = self.g_states.get_mut(gid) else {
            return Err(format!(
                "uninitialized goroutine {} found during {name}",
                gid as i64,
                name = name()
            ));
        };
        st.ranges.active(range_type(ev.typ, 0), initial)?;
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn go_range_end(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        user_go(cur)?;
        let Some(st) = self.g_states.get_mut(cur.g) else {
            return Err(format!(
                "encountered event of type {} without known state for current goroutine {}",
                ev.typ, cur.g as i64
            ));
        };
        let desc = st.ranges.end(ev.typ)?;
        if ev.typ == EV_STW_END {
            ev.args[0] = desc;
        }
        self.push(ev, cur);
        Ok((cur, true))
    }

    fn alloc_free(&mut self, ev: &mut Event, cur: Ctx) -> Adv {
        validate(cur, C::Must, C::May, C::May)?;
        self.push(ev, cur);
        Ok((cur, true))
    }
}
