//! The startup summary of a trace: span, first user code, GC cycles, stop-the-world pauses,
//! goroutine creation, and time blocked in syscalls / network / sync / the run queue with
//! `go tool trace -pprof`'s clipping rules. Aggregated on the fly: nothing per event is kept.

use std::io::Read;

use serde::{Deserialize, Serialize};

use super::error::TraceError;
use super::event::{Resource, main_stack, transition};
use super::fxmap::FxMap;
use super::generation::Generation;
use super::order::{Ctx, Event, GoState, NONE, ProcState};
use super::reader::Reader;
use super::spec::*;
use super::startup::{self, GBlocked, NO_STATE, StAcc, StartupOptions, Until};

/// v2: stack `frames` hold up to 128 frames (v1 cut them at 16), and `startup` was added.
pub const SCHEMA: &str = "golat.trace/v2";

/// Log-linear histogram: 32 sub-buckets per power of two (≤3% relative error), fixed size.
#[derive(Clone, Default)]
struct Hist {
    counts: Vec<u64>,
    n: u64,
    max: i64,
}

impl Hist {
    #[inline(always)]
    fn idx(v: u64) -> usize {
        if v < 32 {
            return v as usize;
        }
        let e = 63 - v.leading_zeros() as usize;
        let mant = ((v >> (e - 5)) & 31) as usize;
        32 + (e - 5) * 32 + mant
    }
    fn upper(i: usize) -> u64 {
        if i < 32 {
            return i as u64;
        }
        let e = (i - 32) / 32 + 5;
        let mant = ((i - 32) % 32) as u64;
        ((32 + mant + 1) << (e - 5)) - 1
    }
    #[inline(always)]
    fn add(&mut self, v: i64) {
        let v = v.max(0);
        let i = Self::idx(v as u64);
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.n += 1;
        self.max = self.max.max(v);
    }
    fn quantile(&self, q: f64) -> i64 {
        if self.n == 0 {
            return 0;
        }
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return (Self::upper(i) as i64).min(self.max);
            }
        }
        self.max
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Distribution {
    pub count: u64,
    pub total_ns: i64,
    /// p50/p99 come from a log histogram (within 3%); max is exact.
    pub p50_ns: i64,
    pub p99_ns: i64,
    pub max_ns: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct StackFrame {
    pub func: String,
    pub file: String,
    pub line: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct TopStack {
    pub total_ns: i64,
    pub count: u64,
    /// Leaf first, up to 128 frames.
    pub frames: Vec<StackFrame>,
    /// Index in `frames` of the first frame outside the runtime and the standard library.
    #[serde(default)]
    pub user_frame: Option<usize>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Blocking {
    /// Equals `go tool trace -pprof=<kind>`'s total on the same file.
    pub total_ns: i64,
    pub count: u64,
    pub p50_ns: i64,
    pub p99_ns: i64,
    pub max_ns: i64,
    /// Time Go's clip drops: intervals that ended before the goroutine first ran
    /// (for `sched`: the create→first-run latency).
    pub dropped_by_go_clip_ns: i64,
    pub dropped_by_go_clip_count: u64,
    pub top_stacks: Vec<TopStack>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct StwKind {
    pub kind: String,
    pub count: u64,
    pub total_ns: i64,
    pub max_ns: i64,
    /// Start of the longest pause, relative to the trace start.
    pub max_at_ns: i64,
    /// Starts of the pauses relative to the trace start (first 50).
    pub at_ns: Vec<i64>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct EntryCount {
    pub func: String,
    pub count: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct InitFrame {
    pub func: String,
    pub first_seen_ns: i64,
    pub events: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Summary {
    pub schema: std::borrow::Cow<'static, str>,
    pub header: String,
    pub written_by: String,
    pub bytes: u64,
    pub events: u64,
    pub generations: u64,
    /// False when the file ends early or breaks; the numbers then cover complete generations.
    pub complete: bool,
    pub warnings: Vec<String>,
    pub span: Span,
    pub main: MainInfo,
    pub gc: GcInfo,
    pub stw: StwInfo,
    pub goroutines: GoroutineInfo,
    pub blocking: BlockingInfo,
    /// Before main.main and the window after it, the main goroutine, thresholds; absent in
    /// reports written before v2.
    #[serde(default)]
    pub startup: Option<startup::Startup>,
    /// `--timeline`'s slices (not part of the JSON summary).
    #[serde(skip)]
    pub timeline: Option<startup::Timeline>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Span {
    /// Trace clock (≈ CLOCK_MONOTONIC on Linux) of the first and last event.
    pub start_ns: i64,
    pub end_ns: i64,
    pub duration_ns: i64,
    /// From the 1.25+ clock snapshot: wall clock of the first generation, RFC 3339.
    pub wall_start: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct MainInfo {
    /// First event whose stack contains `main.main`, relative to the trace start.
    pub first_main_main_ns: Option<i64>,
    pub first_main_main_goroutine: Option<u64>,
    /// Package init functions (`pkg.init`, `pkg.init.N`) seen in any stack.
    pub init_frames: Vec<InitFrame>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct GcInfo {
    /// GCBegin events (`GC concurrent mark phase` ranges begun).
    pub cycles: u64,
    /// A GC was already running when tracing started (GCActive).
    pub active_at_start: bool,
    /// Mark phases that also ended in the trace.
    pub completed: Distribution,
    pub first_at_ns: Option<i64>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct StwInfo {
    /// STWBegin events.
    pub count: u64,
    pub total_ns: i64,
    pub max_ns: i64,
    pub by_kind: Vec<StwKind>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct GoroutineInfo {
    /// GoCreate + GoCreateBlocked + GoCreateSyscall (NotExist → * transitions).
    pub created: u64,
    pub by_entry: Vec<EntryCount>,
    /// Creation to first GoStart; Go's `-pprof=sched` does not count this time.
    pub create_to_first_run: Distribution,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct BlockingInfo {
    pub syscall: Blocking,
    pub net: Blocking,
    pub sync: Blocking,
    pub sched: Blocking,
}

const CAT_SCHED: usize = 0;
const CAT_SYSCALL: usize = 1;
const CAT_NET: usize = 2;
const CAT_SYNC: usize = 3;

#[derive(Clone, Default)]
struct CatAcc {
    total: i64,
    count: u64,
    hist: Hist,
    dropped: i64,
    dropped_n: u64,
    /// (total, count) by stack record: records are dense indices into `stack_frames`.
    by_stack: Vec<(i64, u64)>,
}

impl CatAcc {
    #[inline(always)]
    fn add(&mut self, d: i64, rec: u32) {
        self.total = self.total.wrapping_add(d);
        self.count += 1;
        self.hist.add(d);
        let r = rec as usize;
        if self.by_stack.len() <= r {
            self.by_stack.resize(r + 1, (0, 0));
        }
        let s = &mut self.by_stack[r];
        s.0 = s.0.wrapping_add(d);
        s.1 += 1;
    }
}

#[derive(Clone, Default)]
struct StwAcc {
    count: u64,
    total: i64,
    max: i64,
    max_at: i64,
    at: Vec<i64>,
}

/// Everything that goes into the report; cloned at each Sync so a broken generation can
/// be dropped as Go drops it.
#[derive(Clone, Default)]
struct Acc {
    events: u64,
    gens: u64,
    end: i64,
    first_main: Option<(i64, u64)>,
    inits: Vec<(String, i64, u64)>,
    init_idx: FxMap<String, usize>,
    gc_cycles: u64,
    gc_active: bool,
    gc_first: Option<i64>,
    gc_hist: Hist,
    gc_total: i64,
    stw_count: u64,
    stw: Vec<(String, StwAcc)>,
    created: u64,
    /// Goroutines created, by entry function: (function, count), and the index by name.
    entries: Vec<(String, u64)>,
    entry_idx: FxMap<String, usize>,
    first_run: Hist,
    first_run_total: i64,
    cats: [CatAcc; 4],
    /// Entry kinds (`startup::PROGRAM`, `TRACER`, `GOLAT`), parallel to `entries`.
    entry_kinds: Vec<u8>,
    st: StAcc,
}

/// One goroutine's state for the pprof walk, laid out flat (no `Option`s) so a transition
/// touches one cache line.
struct GTrack {
    start: i64,
    /// Exit time; `i64::MAX` while running (Go's open window end).
    end: i64,
    /// Enter time and stack record of the tracked state `cat` (`NO_CAT` = none).
    enter: i64,
    rec: u32,
    cat: u8,
    started: bool,
    /// `created_at` is set (the goroutine was created in the trace and has not run yet).
    created: bool,
    created_at: i64,
    /// Intervals closed before the goroutine ever ran: Go keeps them only if it never runs.
    pending: Vec<(usize, i64, i64, u32)>,
    /// The startup view's stretch: class (`NO_STATE` = none), since, the stack record that
    /// entered it and the reason index of a wait.
    s_class: u8,
    kind: u8,
    s_since: i64,
    s_rec: u32,
    s_reason: u32,
    /// Entry function index in `Acc::entries` + 1 (0 = unknown).
    entry: u32,
    blocked: i64,
    runnable: i64,
    id: u64,
    /// A program goroutine other than G1: its stretches past the window take the fast path.
    fast: bool,
}

const NO_CAT: u8 = u8::MAX;

impl Default for GTrack {
    fn default() -> Self {
        GTrack {
            start: 0,
            end: i64::MAX,
            enter: 0,
            rec: 0,
            cat: NO_CAT,
            started: false,
            created: false,
            created_at: 0,
            pending: Vec::new(),
            s_class: NO_STATE,
            kind: startup::PROGRAM,
            s_since: 0,
            s_rec: 0,
            s_reason: 0,
            entry: 0,
            blocked: 0,
            runnable: 0,
            id: 0,
            fast: false,
        }
    }
}

/// What the summary does with an event type, decided once per type instead of per event:
/// bits 0-2 hold the `args` index of its main stack (`NO_STACK` = none; CPU samples count as
/// none, the summary does not attribute them), then flags.
const K_STACK: u8 = 0x07;
const NO_STACK: u8 = 4;
/// A goroutine state transition (`transition` gives a `Resource::Goroutine`).
const K_GO: u8 = 0x08;
/// GC or STW range events, handled by the `match` in `event`.
const K_RANGE: u8 = 0x10;
/// Mark assists, heap and GOMAXPROCS metrics, P transitions, CPU samples, user tasks, regions
/// and logs: the startup view's rarer measures, in `extra_event`.
const K_EXTRA: u8 = 0x20;

fn kind_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    for (typ, k) in t.iter_mut().enumerate() {
        let typ = typ as u8;
        *k = NO_STACK;
        let probe = Event {
            typ,
            time: 0,
            args: [0; 4],
            ctx: Ctx { g: 0, p: 0, m: 0 },
        };
        if typ != EV_CPU_SAMPLE && (typ as usize) < SPECS.len() {
            // The arg index main_stack reads, found by marking each slot.
            for i in 0..4 {
                let mut p = probe;
                p.args[i] = 1;
                if main_stack(&p) == 1 {
                    *k = i as u8;
                    break;
                }
            }
        }
        if let Some(tr) = transition(&probe)
            && matches!(tr.resource, Resource::Goroutine(_))
        {
            *k |= K_GO;
        }
        if matches!(
            typ,
            EV_GC_BEGIN | EV_GC_ACTIVE | EV_GC_END | EV_STW_BEGIN | EV_STW_END
        ) {
            *k |= K_RANGE;
        }
        if matches!(
            typ,
            EV_GC_MARK_ASSIST_ACTIVE
                | EV_GC_MARK_ASSIST_BEGIN
                | EV_GC_MARK_ASSIST_END
                | EV_HEAP_ALLOC
                | EV_HEAP_GOAL
                | EV_PROCS_CHANGE
                | EV_PROC_START
                | EV_PROC_STOP
                | EV_PROC_STEAL
                | EV_PROC_STATUS
                | EV_CPU_SAMPLE
                | EV_USER_TASK_BEGIN
                | EV_USER_TASK_END
                | EV_USER_REGION_BEGIN
                | EV_USER_REGION_END
                | EV_USER_LOG
        ) {
            *k |= K_EXTRA;
        }
    }
    t
}

/// Where a goroutine transition's fields come from, per event type: slots index
/// `[args[0..4], ctx.g, 0]` (`D_ZERO` = none), from/to are constant. Read off `transition`
/// itself by probing, so the two cannot disagree; `slow` types (GoStatus, whose states are in
/// the arguments) still go through `transition`.
#[derive(Clone, Copy, Default, PartialEq, Debug)]
struct GoDecode {
    id: u8,
    from: u8,
    to: u8,
    reason: u8,
    stack: u8,
    slow: bool,
}

const D_CTX_G: u8 = 4;

const G_RUNNABLE: u8 = GoState::Runnable as u8;
const G_RUNNING: u8 = GoState::Running as u8;
const G_WAITING: u8 = GoState::Waiting as u8;

/// The transitions `Summarizer::event` decodes inline, as `decode_table` has them (a test
/// checks they agree), with the `args` slot of each type's main stack.
#[cfg(test)]
const HOT: [(u8, GoDecode, u8); 4] = [
    (
        EV_GO_START,
        GoDecode {
            id: 0,
            from: G_RUNNABLE,
            to: G_RUNNING,
            reason: D_ZERO,
            stack: D_ZERO,
            slow: false,
        },
        NO_STACK,
    ),
    (
        EV_GO_BLOCK,
        GoDecode {
            id: D_CTX_G,
            from: G_RUNNING,
            to: G_WAITING,
            reason: 0,
            stack: 1,
            slow: false,
        },
        1,
    ),
    (
        EV_GO_UNBLOCK,
        GoDecode {
            id: 0,
            from: G_WAITING,
            to: G_RUNNABLE,
            reason: D_ZERO,
            stack: D_ZERO,
            slow: false,
        },
        2,
    ),
    (
        EV_GO_STOP,
        GoDecode {
            id: D_CTX_G,
            from: G_RUNNING,
            to: G_RUNNABLE,
            reason: 0,
            stack: 1,
            slow: false,
        },
        1,
    ),
];
const D_ZERO: u8 = 5;

fn decode_table() -> [GoDecode; 256] {
    let mut t = [GoDecode::default(); 256];
    for (typ, d) in t.iter_mut().enumerate() {
        let typ = typ as u8;
        // Distinct markers: each field's value says which slot it was read from.
        let probe = Event {
            typ,
            time: 0,
            args: [101, 102, 103, 104],
            ctx: Ctx {
                g: 105,
                p: 106,
                m: 107,
            },
        };
        let Some(tr) = transition(&probe) else {
            continue;
        };
        let Resource::Goroutine(id) = tr.resource else {
            continue;
        };
        let slot = |v: u64| match v {
            101..=105 => Some((v - 101) as u8),
            0 => Some(D_ZERO),
            _ => None,
        };
        let (Some(id), Some(reason), Some(stack)) = (slot(id), slot(tr.reason), slot(tr.stack))
        else {
            d.slow = true;
            continue;
        };
        *d = GoDecode {
            id,
            from: tr.from,
            to: tr.to,
            reason,
            stack,
            slow: matches!(typ, EV_GO_STATUS | EV_GO_STATUS_STACK),
        };
    }
    t
}

/// IDs below this index dense tables; larger ones (untrusted trace data can carry any u64)
/// go to a map, so memory stays bounded by the trace's size, not by its largest ID.
const DENSE_LIMIT: u64 = 1 << 20;
const NO_SLOT: u32 = u32::MAX;

/// Per-goroutine tracking keyed by goroutine ID. IDs are mostly small and dense (the runtime
/// hands them out in batches), so a dense slot index replaces a hash lookup on every
/// transition; records stay in one Vec so `finish` can walk them. A goroutine's record is
/// freed when it ends (unless `finish` still needs it), so memory follows the goroutines
/// alive at once, not all those the trace ever created.
#[derive(Default)]
struct GTable {
    dense: Vec<u32>,
    sparse: FxMap<u64, usize>,
    recs: Vec<GTrack>,
    /// Slots of freed records, reset to the default (which `finish` skips).
    free: Vec<usize>,
}

impl GTable {
    /// The record of goroutine `id`, made (from the default) if it has none.
    #[inline(always)]
    fn get_or_insert(&mut self, id: u64) -> &mut GTrack {
        // The per-event case, a goroutine already seen with a small ID: two loads. A miss
        // (and every ID past the dense range) goes out of line.
        let slot = match self.dense.get(id as usize) {
            Some(&n) if n != NO_SLOT && id < DENSE_LIMIT => n as usize,
            _ => self.slot_slow(id),
        };
        &mut self.recs[slot]
    }

    #[inline(never)]
    fn slot_slow(&mut self, id: u64) -> usize {
        if id < DENSE_LIMIT {
            let i = id as usize;
            if self.dense.len() <= i {
                self.dense.resize(i + 1, NO_SLOT);
            }
            match self.dense[i] {
                // Past 4G records a slot index does not fit here and goes to the map (an
                // empty map answers without hashing).
                NO_SLOT => match self.sparse.get(&id) {
                    Some(&slot) => slot,
                    None => {
                        let slot = self.alloc();
                        match u32::try_from(slot) {
                            Ok(n) if n != NO_SLOT => self.dense[i] = n,
                            _ => {
                                self.sparse.insert(id, slot);
                            }
                        }
                        slot
                    }
                },
                n => n as usize,
            }
        } else {
            match self.sparse.get(&id) {
                Some(&slot) => slot,
                None => {
                    let slot = self.alloc();
                    self.sparse.insert(id, slot);
                    slot
                }
            }
        }
    }

    fn alloc(&mut self) -> usize {
        match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.recs.push(GTrack::default());
                self.recs.len() - 1
            }
        }
    }

    /// Forgets goroutine `id`: a later record for it starts from the default.
    fn remove(&mut self, id: u64) {
        let dense = self.dense.get_mut(id as usize).filter(|_| id < DENSE_LIMIT);
        let slot = match dense {
            Some(s) if *s != NO_SLOT => Some(std::mem::replace(s, NO_SLOT) as usize),
            _ => self.sparse.remove(&id),
        };
        if let Some(slot) = slot {
            self.recs[slot] = GTrack::default();
            self.free.push(slot);
        }
    }
}

/// A per-generation value by string or stack ID, 0 meaning "not looked up yet": dense
/// below `DENSE_LIMIT`, a map above (trace data can carry any u64).
#[derive(Default)]
struct IdCache<T> {
    dense: Vec<T>,
    sparse: FxMap<u64, T>,
}

impl<T: Copy + Default + PartialEq> IdCache<T> {
    #[inline(always)]
    fn get(&self, id: u64) -> Option<T> {
        let v = if id < DENSE_LIMIT {
            self.dense.get(id as usize).copied()
        } else {
            self.sparse.get(&id).copied()
        };
        v.filter(|v| *v != T::default())
    }

    fn set(&mut self, id: u64, v: T) {
        if id < DENSE_LIMIT {
            let i = id as usize;
            if self.dense.len() <= i {
                self.dense.resize(i + 1, T::default());
            }
            self.dense[i] = v;
        } else {
            self.sparse.insert(id, v);
        }
    }

    fn clear(&mut self) {
        self.dense.clear();
        self.sparse.clear();
    }
}

#[derive(Clone, Copy, Default)]
struct StackClass {
    has_main: bool,
    /// Range in `Summarizer::init_scratch`.
    inits: (u32, u32),
    rec: u32,
}

impl StackClass {
    /// The per-event view in one word (one load, no partial reloads): record in the low 32
    /// bits, then flags.
    fn packed(&self) -> u64 {
        let mut p = C_PRESENT | self.rec as u64;
        if self.has_main {
            p |= C_MAIN;
        }
        if self.inits.0 < self.inits.1 {
            p |= C_INITS;
        }
        p
    }
}

const C_MAIN: u64 = 1 << 32;
const C_INITS: u64 = 1 << 33;
/// Zero marks a `classes` slot not yet filled.
const C_PRESENT: u64 = 1 << 34;

pub struct Summarizer {
    kinds: [u8; 256],
    decode: [GoDecode; 256],
    acc: Acc,
    committed: Acc,
    has_committed: bool,
    start: Option<i64>,
    /// The class bits that send a stack to `stack_marks`: init frames always, main.main
    /// until it is first seen (one test per event instead of two and a load).
    mark_mask: u64,
    gs: GTable,
    stw_open: FxMap<u64, (i64, usize)>,
    gc_open: Option<i64>,
    /// Stack records keyed by PC list (Go's pprof key), with frames resolved once.
    stack_keys: FxMap<Vec<u64>, u32>,
    stack_frames: Vec<Vec<StackFrame>>,
    /// Per generation: stack ID → classification.
    /// `StackClass::packed` by stack ID; slot 0 is "no stack" (record 0), so events without a
    /// stack take the same path. `class_full` has the rest, read only for main/init stacks.
    classes: Vec<u64>,
    class_full: Vec<StackClass>,
    classes_sparse: FxMap<u64, StackClass>,
    init_scratch: Vec<usize>,
    cur_gen: u64,
    last_sync_time: i64,
    wall_start: Option<String>,
    /// Per generation: reason string ID → `R_*` bits, and the reason's index in
    /// `reason_names` from bit 8 on.
    reasons: IdCache<u32>,
    reason_names: Vec<String>,
    reason_idx: FxMap<String, u32>,
    st_opts: StartupOptions,
    top: usize,
    /// Open mark assists by goroutine, Ps in use since, tasks and regions open.
    assist_open: FxMap<u64, i64>,
    /// Since when each P is in use (`i64::MIN` = not), dense for small IDs.
    p_open: Vec<i64>,
    p_open_sparse: FxMap<u64, i64>,
    task_open: FxMap<u64, (u32, i64)>,
    region_open: FxMap<u64, Vec<(u32, i64)>>,
    /// Task, region and log category names.
    names: Vec<String>,
    name_idx: FxMap<String, u32>,
    /// Per generation: creating stack ID → index in `acc.entries` + 1.
    entry_of_stack: IdCache<usize>,
}

/// A blocking reason, classified once per string ID: category (`R_NONE` when not tracked) and
/// whether it is "forever" (the goroutine never runs again).
const R_KNOWN: u32 = 0x80;
const R_FOREVER: u32 = 0x40;
const R_SLEEP: u32 = 0x20;
const R_CAT: u32 = 0x07;
const R_NONE: u32 = 0x07;
/// Bits 8-19: the reason's index in `reason_names`; 28-30: its startup class.
const R_NAME_MASK: u32 = 0xfff;
const R_CLASS_SHIFT: u32 = 28;

/// The startup class a goroutine state enters (Waiting: from the reason bits).
const TO_CLASS: [u8; 8] = [
    NO_STATE,
    NO_STATE,
    startup::RUNNABLE,
    startup::RUNNING,
    startup::OTHER_WAIT,
    startup::SYSCALL,
    NO_STATE,
    NO_STATE,
];

fn classify_reason(r: &str) -> u32 {
    let cat = if r == "network" {
        CAT_NET as u32
    } else if r.contains("chan") || r.contains("sync") || r.contains("select") {
        CAT_SYNC as u32
    } else {
        R_NONE
    };
    let class = match cat {
        c if c == CAT_NET as u32 => startup::NETWORK,
        c if c == CAT_SYNC as u32 => startup::SYNC,
        _ if r == "sleep" => startup::SLEEP,
        _ => startup::OTHER_WAIT,
    };
    R_KNOWN
        | cat
        | if r == "forever" { R_FOREVER } else { 0 }
        | if r == "sleep" { R_SLEEP } else { 0 }
        | (class as u32) << R_CLASS_SHIFT
}

fn is_init_func(f: &str) -> bool {
    // golat's own starter (golat profile --runtime-trace: in GOROOT, or in the main module
    // for Go 1.22) is not one of the program's inits.
    if f.starts_with("runtime.")
        || f.starts_with("0golat_rtrace.")
        || f.contains("/golat_rtrace_0.")
    {
        return false;
    }
    if f.ends_with(".init") {
        return true;
    }
    match f.rfind(".init.") {
        Some(i) => {
            let rest = &f[i + 6..];
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

impl Default for Summarizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Summarizer {
    pub fn new() -> Self {
        Self::with_options(StartupOptions::default(), 10)
    }

    /// A summarizer with the startup view's split, window and thresholds; `top` bounds the
    /// ranked lists it keeps while reading.
    pub fn with_options(st_opts: StartupOptions, top: usize) -> Self {
        let mut s = Summarizer {
            kinds: kind_table(),
            decode: decode_table(),
            acc: Acc::default(),
            committed: Acc::default(),
            has_committed: false,
            start: None,
            mark_mask: C_INITS | C_MAIN,
            gs: GTable::default(),
            stw_open: FxMap::default(),
            gc_open: None,
            stack_keys: FxMap::default(),
            stack_frames: Vec::new(),
            classes: vec![StackClass::default().packed()],
            class_full: vec![StackClass::default()],
            classes_sparse: FxMap::default(),
            init_scratch: Vec::new(),
            cur_gen: u64::MAX,
            last_sync_time: 0,
            wall_start: None,
            reasons: IdCache::default(),
            reason_names: vec!["(no reason in the trace)".to_string()],
            reason_idx: FxMap::default(),
            st_opts,
            top: top.max(1),
            assist_open: FxMap::default(),
            p_open: Vec::new(),
            p_open_sparse: FxMap::default(),
            task_open: FxMap::default(),
            region_open: FxMap::default(),
            names: vec!["(more names than golat keeps)".to_string()],
            name_idx: FxMap::default(),
            entry_of_stack: IdCache::default(),
        };
        // Record 0 = no stack.
        s.stack_keys.insert(Vec::new(), 0);
        s.stack_frames.push(Vec::new());
        s
    }

    #[inline(always)]
    fn class(&mut self, id: u64, g: &Generation) -> u64 {
        match self.classes.get(id as usize) {
            Some(&c) if c != 0 => c,
            _ => self.class_slow(id, g).packed(),
        }
    }

    /// The full class of a stack `class` has already seen.
    fn class_of(&self, id: u64) -> StackClass {
        match self.class_full.get(id as usize) {
            Some(c) if id < DENSE_LIMIT => *c,
            _ => self.classes_sparse.get(&id).copied().unwrap_or_default(),
        }
    }

    #[cold]
    #[inline(never)]
    fn class_slow(&mut self, id: u64, g: &Generation) -> StackClass {
        if let Some(c) = self.classes_sparse.get(&id) {
            return *c;
        }
        let pcs = g.stack_pcs(id);
        let key: Vec<u64> = pcs.iter().copied().take(128).collect();
        let rec = match self.stack_keys.get(&key) {
            Some(&r) => r,
            None => {
                // Never NO_SLOT: that marks an empty `classes` slot.
                let r = (self.stack_frames.len() as u32).min(NO_SLOT - 1);
                let frames = pcs
                    .iter()
                    .take(128)
                    .map(|pc| match g.frame(*pc) {
                        Some((f, file, line)) => StackFrame {
                            func: f.to_string(),
                            file: file.to_string(),
                            line,
                        },
                        None => StackFrame {
                            func: format!("{pc:#x}"),
                            file: String::new(),
                            line: 0,
                        },
                    })
                    .collect();
                self.stack_frames.push(frames);
                self.stack_keys.insert(key, r);
                r
            }
        };
        let mut has_main = false;
        let s0 = self.init_scratch.len();
        for pc in pcs {
            if let Some((f, _, _)) = g.frame(*pc) {
                if f == "main.main" {
                    has_main = true;
                }
                if is_init_func(f) {
                    let idx = match self.acc.init_idx.get(f) {
                        Some(&i) => i,
                        None => {
                            let i = self.acc.inits.len();
                            self.acc.inits.push((f.to_string(), -1, 0));
                            self.acc.init_idx.insert(f.to_string(), i);
                            i
                        }
                    };
                    self.init_scratch.push(idx);
                }
            }
        }
        let c = StackClass {
            has_main,
            inits: (s0 as u32, self.init_scratch.len() as u32),
            rec,
        };
        if id < DENSE_LIMIT {
            if self.classes.len() <= id as usize {
                self.classes.resize(id as usize + 1, 0);
                self.class_full
                    .resize(id as usize + 1, StackClass::default());
            }
            self.classes[id as usize] = c.packed();
            self.class_full[id as usize] = c;
        } else {
            self.classes_sparse.insert(id, c);
        }
        c
    }

    fn commit(&mut self) {
        self.committed = self.acc.clone();
        self.has_committed = true;
    }

    /// Feeds one event; `g` is the reader's current generation. The per-event path stays
    /// small enough to inline into the read loop; rare work (syncs, generation changes, GC and
    /// STW ranges, stacks with main.main or init frames) lives in cold functions.
    #[inline(always)]
    pub fn event(&mut self, e: &Event, g: &Generation) {
        let start = match self.start {
            Some(s) => s,
            None => self.first_event(e.time),
        };
        if e.typ == EV_READER_SYNC {
            self.sync(e, g);
            return;
        }
        if g.num != self.cur_gen {
            self.new_generation(g.num);
        }
        self.acc.events += 1;
        self.acc.end = e.time;
        // The four scheduler events (≈99% of a busy program's trace) with their transition
        // fields as constants (`HOT`, checked against `decode_table`): each arm is
        // `go_transition` specialized to its from/to states, so the branches on them fold
        // away, and one jump on the type replaces a chain of data-dependent branches.
        match e.typ {
            EV_GO_START => {
                // No stack: record 0, which marks nothing.
                let id = e.args[0];
                return self.go_transition(e, g, id, G_RUNNABLE, G_RUNNING, 0, 0, 0);
            }
            EV_GO_BLOCK => {
                let rec = self.stack_rec(e.args[1], e, g, start);
                let (id, reason, tstack) = (e.ctx.g, e.args[0], e.args[1]);
                return self.go_transition(e, g, id, G_RUNNING, G_WAITING, reason, tstack, rec);
            }
            EV_GO_UNBLOCK => {
                let rec = self.stack_rec(e.args[2], e, g, start);
                let id = e.args[0];
                return self.go_transition(e, g, id, G_WAITING, G_RUNNABLE, 0, 0, rec);
            }
            EV_GO_STOP => {
                let rec = self.stack_rec(e.args[1], e, g, start);
                let (id, reason, tstack) = (e.ctx.g, e.args[0], e.args[1]);
                return self.go_transition(e, g, id, G_RUNNING, G_RUNNABLE, reason, tstack, rec);
            }
            _ => {}
        }
        let k = self.kinds[e.typ as usize];
        // Slots from NO_STACK on read as "no stack": a load instead of a branch per event.
        let si = (k & K_STACK) as usize;
        let ms = if si < 4 { e.args[si & 3] } else { 0 };
        let rec = self.stack_rec(ms, e, g, start);
        if k & K_GO != 0 {
            let d = self.decode[e.typ as usize];
            let (id, from, to, reason, tstack) = if d.slow {
                match transition(e) {
                    Some(t) => match t.resource {
                        Resource::Goroutine(id) => (id, t.from, t.to, t.reason, t.stack),
                        Resource::Proc(_) => return,
                    },
                    None => return,
                }
            } else {
                let v = |slot: u8| match slot {
                    0..=3 => e.args[(slot & 3) as usize],
                    D_CTX_G => e.ctx.g,
                    _ => 0,
                };
                (v(d.id), d.from, d.to, v(d.reason), v(d.stack))
            };
            self.go_transition(e, g, id, from, to, reason, tstack, rec);
        } else if k & K_RANGE != 0 {
            self.range_event(e, g, start);
        } else if k & K_EXTRA != 0 {
            self.extra_event(e, g);
        }
    }

    /// The record of the event's main stack `ms`, marking main.main and init frames the
    /// first time they are seen.
    #[inline(always)]
    fn stack_rec(&mut self, ms: u64, e: &Event, g: &Generation, start: i64) -> u32 {
        let c = self.class(ms, g);
        if c & self.mark_mask != 0 {
            self.stack_marks(ms, e.time.wrapping_sub(start), e.ctx.g);
        }
        c as u32
    }

    #[inline]
    fn p_state(&mut self, p: u64, running: bool, t: i64) {
        let slot = if p < 4096 {
            let i = p as usize;
            if self.p_open.len() <= i {
                self.p_open.resize(i + 1, i64::MIN);
            }
            &mut self.p_open[i]
        } else if self.p_open_sparse.len() < startup::MAP_CAP || self.p_open_sparse.contains_key(&p)
        {
            self.p_open_sparse.entry(p).or_insert(i64::MIN)
        } else {
            return;
        };
        if running {
            *slot = t;
        } else if *slot != i64::MIN {
            let a = std::mem::replace(slot, i64::MIN);
            self.acc
                .st
                .p_busy(a, t, self.st_opts.window_ns, p, self.st_opts.timeline);
        }
    }

    fn name_index(&mut self, n: &str) -> u32 {
        if let Some(&i) = self.name_idx.get(n) {
            return i;
        }
        // A damaged trace could invent names without end: past 4096 they share one.
        if self.names.len() >= 4096 {
            return 0;
        }
        let i = self.names.len() as u32;
        self.names.push(n.to_string());
        self.name_idx.insert(n.to_string(), i);
        i
    }

    /// Mark assists (by goroutine, as Go scopes them), heap and GOMAXPROCS metrics, Ps in
    /// use, CPU samples, user tasks, regions and logs.
    #[inline(never)]
    fn extra_event(&mut self, e: &Event, g: &Generation) {
        let w = self.st_opts.window_ns;
        let t = e.time;
        match e.typ {
            EV_GC_MARK_ASSIST_BEGIN => {
                if self.assist_open.len() < startup::MAP_CAP {
                    self.assist_open.insert(e.ctx.g, t);
                }
            }
            EV_GC_MARK_ASSIST_ACTIVE => {
                if self.assist_open.len() < startup::MAP_CAP {
                    self.assist_open.entry(e.args[0]).or_insert(t);
                }
            }
            EV_GC_MARK_ASSIST_END => {
                if let Some(a) = self.assist_open.remove(&e.ctx.g) {
                    self.acc.st.assist(a, t, w);
                }
            }
            EV_HEAP_ALLOC => self.acc.st.heap(t, w, e.args[0], false),
            EV_HEAP_GOAL => self.acc.st.heap(t, w, e.args[0], true),
            EV_PROCS_CHANGE => {
                if self.acc.st.procs.len() < 256 {
                    self.acc.st.procs.push((t, e.args[0]));
                }
            }
            EV_CPU_SAMPLE => {
                let rec = self.class(e.args[0], g) as u32;
                self.acc.st.cpu_sample(t, w, rec);
            }
            EV_USER_TASK_BEGIN => {
                let n = self.name_index(g.string(e.args[2]));
                startup::span_begun(&mut self.acc.st.tasks, n);
                if self.task_open.len() < startup::MAP_CAP {
                    self.task_open.insert(e.args[0], (n, t));
                }
            }
            EV_USER_TASK_END => {
                if let Some((n, a)) = self.task_open.remove(&e.args[0]) {
                    startup::span_ended(&mut self.acc.st.tasks, n, t.wrapping_sub(a));
                }
            }
            EV_USER_REGION_BEGIN => {
                let n = self.name_index(g.string(e.args[1]));
                startup::span_begun(&mut self.acc.st.regions, n);
                if self.region_open.len() < startup::MAP_CAP
                    || self.region_open.contains_key(&e.ctx.g)
                {
                    let open = self.region_open.entry(e.ctx.g).or_default();
                    if open.len() < 64 {
                        open.push((n, t));
                    }
                }
            }
            EV_USER_REGION_END => {
                let n = self.name_index(g.string(e.args[1]));
                if let Some(open) = self.region_open.get_mut(&e.ctx.g)
                    && let Some(i) = open.iter().rposition(|r| r.0 == n)
                {
                    let (_, a) = open.remove(i);
                    startup::span_ended(&mut self.acc.st.regions, n, t.wrapping_sub(a));
                }
            }
            EV_USER_LOG => {
                let n = self.name_index(g.string(e.args[1]));
                *self.acc.st.logs.entry(n).or_default() += 1;
            }
            // P transitions: a P is in use from Idle → Running to Running → Idle. Start and
            // stop (most of them) decode directly; steals and statuses through `transition`.
            EV_PROC_START => self.p_state(e.args[0], true, t),
            EV_PROC_STOP => self.p_state(e.ctx.p, false, t),
            _ => {
                if let Some(tr) = transition(e)
                    && let Resource::Proc(p) = tr.resource
                    && tr.from != tr.to
                {
                    self.p_state(p, tr.to == ProcState::Running as u8, t);
                }
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn first_event(&mut self, t: i64) -> i64 {
        self.start = Some(t);
        if let Until::At(d) = self.st_opts.until {
            self.acc
                .st
                .set_split(t.saturating_add(d), self.st_opts.window_ns);
        }
        t
    }

    #[cold]
    #[inline(never)]
    fn sync(&mut self, e: &Event, g: &Generation) {
        self.acc.end = e.time;
        self.last_sync_time = e.time;
        self.acc.gens = e.args[0].saturating_sub(1);
        self.commit();
        if self.wall_start.is_none() && g.has_clock_snapshot && g.num != 0 {
            self.wall_start = Some(format_wall(g.snap_wall.0, g.snap_wall.1));
        }
    }

    #[cold]
    #[inline(never)]
    fn new_generation(&mut self, num: u64) {
        self.cur_gen = num;
        self.classes.clear();
        self.classes.push(StackClass::default().packed());
        self.class_full.clear();
        self.class_full.push(StackClass::default());
        self.classes_sparse.clear();
        self.init_scratch.clear();
        self.reasons.clear();
        self.entry_of_stack.clear();
    }

    /// First sight of main.main and of package init functions in an event's stack.
    #[cold]
    #[inline(never)]
    fn stack_marks(&mut self, ms: u64, rel: i64, goid: u64) {
        let c = self.class_of(ms);
        if c.has_main && self.acc.first_main.is_none() {
            self.acc.first_main = Some((rel, goid));
            self.mark_mask = C_INITS;
            if self.st_opts.until == Until::Main {
                let at = self.start.unwrap_or(0).wrapping_add(rel);
                self.acc.st.set_split(at, self.st_opts.window_ns);
            }
        }
        for k in c.inits.0..c.inits.1 {
            let i = self.init_scratch[k as usize];
            let ent = &mut self.acc.inits[i];
            if ent.1 < 0 {
                ent.1 = rel;
            }
            ent.2 += 1;
        }
    }

    /// GC mark phases and stop-the-world pauses.
    #[inline(never)]
    fn range_event(&mut self, e: &Event, g: &Generation, start: i64) {
        let rel = e.time.wrapping_sub(start);
        match e.typ {
            EV_GC_BEGIN => {
                self.acc.gc_cycles += 1;
                self.acc.gc_first.get_or_insert(rel);
                self.gc_open = Some(e.time);
                let sid = main_stack(e);
                let frames: Vec<(&str, &str, u64)> = g
                    .stack_pcs(sid)
                    .iter()
                    .filter_map(|pc| g.frame(*pc))
                    .collect();
                let trigger = startup::gc_trigger(&frames);
                let rec = self.class(sid, g) as u32;
                let w = self.st_opts.window_ns;
                self.acc.st.gc_begin(e.time, w, trigger, rec);
            }
            EV_GC_ACTIVE if self.acc.gc_cycles == 0 => self.acc.gc_active = true,
            EV_GC_END => {
                if let Some(t) = self.gc_open.take() {
                    if self.st_opts.timeline {
                        self.acc.st.tl_push(2, 0, 0, 0, t, e.time);
                    }
                    let d = e.time.wrapping_sub(t);
                    self.acc.gc_hist.add(d);
                    self.acc.gc_total = self.acc.gc_total.wrapping_add(d);
                }
            }
            EV_STW_BEGIN => {
                let kind = g.string(e.args[0]);
                let idx = match self.acc.stw.iter().position(|(k, _)| k == kind) {
                    Some(i) => i,
                    None => {
                        self.acc.stw.push((kind.to_string(), StwAcc::default()));
                        self.acc.stw.len() - 1
                    }
                };
                self.acc.stw_count += 1;
                self.stw_open.insert(e.ctx.g, (e.time, idx));
            }
            EV_STW_END => {
                if let Some((t, idx)) = self.stw_open.remove(&e.ctx.g) {
                    let d = e.time.wrapping_sub(t);
                    let s = &mut self.acc.stw[idx].1;
                    s.count += 1;
                    s.total = s.total.wrapping_add(d);
                    if d > s.max || s.count == 1 {
                        s.max = d;
                        s.max_at = t.wrapping_sub(start);
                    }
                    if s.at.len() < 50 {
                        s.at.push(t.wrapping_sub(start));
                    }
                    let kind = &self.acc.stw[idx].0;
                    self.acc.st.stw(&self.st_opts, kind.as_str(), t, d);
                }
            }
            _ => {}
        }
    }

    /// Counts a goroutine created with stack `tstack` under its entry function. A program
    /// that starts goroutines in a loop creates them from a few stacks: the function is
    /// resolved once per stack and generation.
    /// Returns the entry's index in `acc.entries`.
    #[inline]
    fn count_entry(&mut self, tstack: u64, g: &Generation) -> usize {
        if let Some(i) = self.entry_of_stack.get(tstack)
            && let Some(e) = self.acc.entries.get_mut(i - 1)
        {
            e.1 += 1;
            return i - 1;
        }
        let i = self.entry_index(tstack, g);
        self.acc.entries[i].1 += 1;
        i
    }

    /// The entry function of a goroutine whose stack (its creation stack, or the stack a
    /// status event gives a goroutine found waiting) is `tstack`: its root frame.
    #[cold]
    #[inline(never)]
    fn entry_index(&mut self, tstack: u64, g: &Generation) -> usize {
        let func = if tstack != 0 {
            g.stack_pcs(tstack).last().and_then(|pc| g.frame(*pc))
        } else {
            None
        }
        .map_or("(no entry stack: cgo callback)", |f| f.0);
        let idx = match self.acc.entry_idx.get(func) {
            Some(&i) => i,
            None => {
                self.acc.entries.push((func.to_string(), 0));
                self.acc.entry_kinds.push(startup::entry_kind(func));
                self.acc
                    .entry_idx
                    .insert(func.to_string(), self.acc.entries.len() - 1);
                self.acc.entries.len() - 1
            }
        };
        self.entry_of_stack.set(tstack, idx + 1);
        idx
    }

    #[inline]
    fn reason_index(&mut self, r: &str) -> u32 {
        if r.is_empty() {
            return 0;
        }
        if let Some(&i) = self.reason_idx.get(r) {
            return i;
        }
        // Reason strings are a fixed set in the runtime; a damaged trace could invent more,
        // so past 4096 they share one name.
        if self.reason_names.len() >= 4096 {
            return 0;
        }
        let i = self.reason_names.len() as u32;
        self.reason_names.push(r.to_string());
        self.reason_idx.insert(r.to_string(), i);
        i
    }

    /// The `R_*` bits of reason string `reason`: a table load once it was classified in
    /// this generation (GoBlock and GoStop, a third of the events, each look one up).
    #[inline(always)]
    fn reason(&mut self, reason: u64, g: &Generation) -> u32 {
        match self.reasons.get(reason) {
            Some(b) => b,
            None => self.reason_slow(reason, g),
        }
    }

    #[inline(never)]
    fn reason_slow(&mut self, reason: u64, g: &Generation) -> u32 {
        // Never 0: classify_reason always sets R_KNOWN.
        let r = g.string(reason);
        let b = classify_reason(r) | self.reason_index(r) << 8;
        self.reasons.set(reason, b);
        b
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn go_transition(
        &mut self,
        e: &Event,
        g: &Generation,
        id: u64,
        from: u8,
        to: u8,
        reason: u64,
        tstack: u64,
        rec: u32,
    ) {
        let from = GoState::from_u64(from as u64);
        let to = GoState::from_u64(to as u64);
        let now = e.time;
        // Creation bookkeeping; the startup view's owner of the goroutine and the stack its
        // first stretch starts at (the new goroutine's start).
        let mut who = None;
        let mut trec = 0;
        if from == GoState::NotExist {
            self.acc.created += 1;
            let i = self.count_entry(tstack, g);
            let kind = self
                .acc
                .entry_kinds
                .get(i)
                .copied()
                .unwrap_or(startup::PROGRAM);
            who = Some((i as u32 + 1, kind));
            trec = self.class(tstack, g) as u32;
            let w = self.st_opts.window_ns;
            self.acc.st.created(now, w, kind, i as u32 + 1);
        } else if from == GoState::Undetermined && tstack != 0 && from != to {
            // Found already waiting, with its stack (GoStatusStack): its root frame is the
            // entry, which tells the tracer's goroutines started before the trace.
            let i = match self.entry_of_stack.get(tstack) {
                Some(i) => i - 1,
                None => self.entry_index(tstack, g),
            };
            let kind = self
                .acc
                .entry_kinds
                .get(i)
                .copied()
                .unwrap_or(startup::PROGRAM);
            who = Some((i as u32 + 1, kind));
        }
        // Which tracked state (if any) this transition enters, and the entering stack, looked
        // up before borrowing the goroutine's record.
        let rbits = if to == GoState::Waiting {
            self.reason(reason, g)
        } else {
            0
        };
        let enter_cat = match to {
            GoState::Runnable => Some(CAT_SCHED),
            GoState::Syscall => Some(CAT_SYSCALL),
            GoState::Waiting if rbits & R_CAT != R_NONE => Some((rbits & R_CAT) as usize),
            _ => None,
        };
        // `rec` is the main stack's record, the stack Go's pprof attributes the interval to.
        let enter = enter_cat.map(|cat| (cat, rec));
        // Go's Summarizer: a new summary on first sight or creation; skip same-state events.
        let gt = self.gs.get_or_insert(id);
        if from != to && (from == GoState::Undetermined || from == GoState::NotExist) {
            *gt = GTrack::default();
            gt.id = id;
            gt.fast = id != 1;
            if from == GoState::NotExist {
                gt.created = true;
                gt.created_at = now;
            }
        }
        if from != to {
            match to {
                GoState::Running if !gt.started => {
                    gt.started = true;
                    gt.start = now;
                    for (cat, a, b, _) in gt.pending.drain(..) {
                        let c = &mut self.acc.cats[cat];
                        c.dropped = c.dropped.wrapping_add(b.wrapping_sub(a));
                        c.dropped_n += 1;
                    }
                    if gt.created {
                        gt.created = false;
                        let d = now.wrapping_sub(gt.created_at);
                        self.acc.first_run.add(d);
                        self.acc.first_run_total = self.acc.first_run_total.wrapping_add(d);
                    }
                }
                GoState::NotExist => gt.end = now,
                GoState::Waiting if rbits & R_FOREVER != 0 => gt.end = now,
                _ => {}
            }
            // The startup view: close the stretch this transition leaves, open the next.
            if let Some((entry, kind)) = who {
                gt.entry = entry;
                gt.kind = kind;
                gt.fast = kind == startup::PROGRAM && id != 1;
            }
            let new_rec = if from == GoState::NotExist {
                trec
            } else if from == GoState::Undetermined || e.ctx.g == id {
                rec
            } else {
                // Woken by another goroutine: the stack is the waker's; keep where this one
                // stopped.
                gt.s_rec
            };
            if gt.s_class != NO_STATE {
                // SYSCALL_BLOCKING is SYSCALL + 1: no branch on data.
                let c = gt.s_class
                    + ((gt.s_class == startup::SYSCALL) & (to == GoState::Runnable)) as u8;
                let d = self.acc.st.close(
                    &self.st_opts,
                    self.top,
                    gt.fast,
                    id,
                    gt.kind,
                    gt.entry,
                    c,
                    gt.s_since,
                    now,
                    gt.s_rec,
                    gt.s_reason,
                );
                // Without branches: masks from the class (this runs at every transition).
                let blocked = -((startup::BLOCKED_MASK >> (c & 7)) as i64 & 1);
                let runnable = -((c == startup::RUNNABLE) as i64);
                gt.blocked = gt.blocked.wrapping_add(d & blocked);
                gt.runnable = gt.runnable.wrapping_add(d & runnable);
            }
            gt.s_class = if to == GoState::Waiting {
                (rbits >> R_CLASS_SHIFT) as u8 & 7
            } else {
                TO_CLASS[to as usize & 7]
            };
            gt.s_since = now;
            gt.s_rec = new_rec;
            gt.s_reason = (rbits >> 8) & R_NAME_MASK;
            if to == GoState::NotExist && gt.kind == startup::PROGRAM {
                self.acc.st.offer(
                    self.top,
                    GBlocked {
                        blocked: gt.blocked,
                        runnable: gt.runnable,
                        id,
                        entry: gt.entry,
                    },
                );
                gt.blocked = 0;
                gt.runnable = 0;
            }
        }
        // Go's pprof walk (cmd/trace/pprof.go), all four kinds at once: a goroutine is in at
        // most one tracked state at a time.
        let state_of = |cat: usize| match cat {
            CAT_SCHED => GoState::Runnable,
            CAT_SYSCALL => GoState::Syscall,
            _ => GoState::Waiting,
        };
        if gt.cat != NO_CAT {
            let (cat, enter, rec) = (gt.cat as usize, gt.enter, gt.rec);
            if to == state_of(cat) {
                return;
            }
            gt.cat = NO_CAT;
            if gt.started {
                // Overlap of [enter, now] with [start, end or +inf], as Go's interval.overlap.
                let win_end = gt.end;
                if !(win_end < enter || now < gt.start) {
                    let a = enter.max(gt.start);
                    let b = now.min(win_end);
                    let d = b.wrapping_sub(a);
                    let clipped = (now.wrapping_sub(enter)).wrapping_sub(d);
                    let c = &mut self.acc.cats[cat];
                    if clipped > 0 {
                        c.dropped = c.dropped.wrapping_add(clipped);
                        c.dropped_n += 1;
                    }
                    if d > 0 {
                        c.add(d, rec);
                    }
                } else {
                    let c = &mut self.acc.cats[cat];
                    c.dropped = c.dropped.wrapping_add(now.wrapping_sub(enter));
                    c.dropped_n += 1;
                }
            } else if gt.pending.len() < 64 {
                gt.pending.push((cat, enter, now, rec));
            }
            // The event that leaves one tracked state may enter another (syscall → runnable).
        }
        if let Some((cat, rec)) = enter {
            gt.cat = cat as u8;
            gt.enter = now;
            gt.rec = rec;
        }
        // An ended goroutine has no more events; `finish` only needs one that never ran and
        // still holds intervals.
        if to == GoState::NotExist && from != to && (gt.started || gt.pending.is_empty()) {
            self.gs.remove(id);
        }
    }

    /// Builds the report; `complete` is false when reading stopped at an error.
    pub fn finish(mut self, top: usize, complete: bool) -> (Summary, u64, u64) {
        let mut acc = if complete || !self.has_committed {
            std::mem::take(&mut self.acc)
        } else {
            std::mem::take(&mut self.committed)
        };
        let cut = if complete {
            i64::MAX
        } else {
            self.last_sync_time
        };
        // Goroutines that never ran keep their intervals (Go's window is then [0, end]).
        for gt in &self.gs.recs {
            if gt.started {
                continue;
            }
            for &(cat, a, b, rec) in &gt.pending {
                if b > cut {
                    continue;
                }
                // `end` is i64::MAX while open, so this is Go's "end or b".
                let b2 = b.min(gt.end);
                let d = b2.wrapping_sub(a);
                if d > 0 {
                    acc.cats[cat].add(d, rec);
                }
            }
        }
        let start = self.start.unwrap_or(0);
        let startup = self.finish_startup(&mut acc, complete, cut, start, top);
        let frames = &self.stack_frames;
        let blocking = |c: &CatAcc| {
            // Only records that got an interval (count > 0), as the map this replaced held.
            let mut v: Vec<(u32, (i64, u64))> = c
                .by_stack
                .iter()
                .enumerate()
                .filter(|(_, s)| s.1 > 0)
                .map(|(k, s)| (k as u32, *s))
                .collect();
            v.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
            Blocking {
                total_ns: c.total,
                count: c.count,
                p50_ns: c.hist.quantile(0.5),
                p99_ns: c.hist.quantile(0.99),
                max_ns: c.hist.max,
                dropped_by_go_clip_ns: c.dropped,
                dropped_by_go_clip_count: c.dropped_n,
                top_stacks: v
                    .into_iter()
                    .take(top)
                    .map(|(k, (t, n))| {
                        let frames = frames.get(k as usize).cloned().unwrap_or_default();
                        TopStack {
                            total_ns: t,
                            count: n,
                            user_frame: startup::user_frame(&frames),
                            frames,
                        }
                    })
                    .collect(),
            }
        };
        let dist = |h: &Hist, total: i64| Distribution {
            count: h.n,
            total_ns: total,
            p50_ns: h.quantile(0.5),
            p99_ns: h.quantile(0.99),
            max_ns: h.max,
        };
        let mut by_entry: Vec<EntryCount> = acc
            .entries
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(f, n)| EntryCount {
                func: f.clone(),
                count: *n,
            })
            .collect();
        by_entry.sort_by(|a, b| b.count.cmp(&a.count).then(a.func.cmp(&b.func)));
        by_entry.truncate(top);
        let mut by_kind: Vec<StwKind> = acc
            .stw
            .iter()
            .map(|(k, s)| StwKind {
                kind: k.clone(),
                count: s.count,
                total_ns: s.total,
                max_ns: s.max,
                max_at_ns: s.max_at,
                at_ns: s.at.clone(),
            })
            .collect();
        by_kind.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(a.kind.cmp(&b.kind)));
        let stw_total = acc
            .stw
            .iter()
            .fold(0i64, |t, (_, s)| t.wrapping_add(s.total));
        let stw_max = acc.stw.iter().map(|(_, s)| s.max).max().unwrap_or(0);
        let mut inits: Vec<InitFrame> = acc
            .inits
            .iter()
            .filter(|(_, t, n)| *t >= 0 && *n > 0)
            .map(|(f, t, n)| InitFrame {
                func: f.clone(),
                first_seen_ns: *t,
                events: *n,
            })
            .collect();
        inits.sort_by(|a, b| {
            a.first_seen_ns
                .cmp(&b.first_seen_ns)
                .then(a.func.cmp(&b.func))
        });
        let summary = Summary {
            schema: SCHEMA.into(),
            header: String::new(),
            written_by: String::new(),
            bytes: 0,
            events: acc.events,
            generations: acc.gens,
            complete,
            warnings: Vec::new(),
            span: Span {
                start_ns: start,
                end_ns: acc.end,
                duration_ns: acc.end.wrapping_sub(start),
                wall_start: self.wall_start.clone(),
            },
            main: MainInfo {
                first_main_main_ns: acc.first_main.map(|m| m.0),
                first_main_main_goroutine: acc.first_main.map(|m| m.1).filter(|g| *g != NONE),
                init_frames: inits,
            },
            gc: GcInfo {
                cycles: acc.gc_cycles,
                active_at_start: acc.gc_active,
                completed: dist(&acc.gc_hist, acc.gc_total),
                first_at_ns: acc.gc_first,
            },
            stw: StwInfo {
                count: acc.stw_count,
                total_ns: stw_total,
                max_ns: stw_max,
                by_kind,
            },
            goroutines: GoroutineInfo {
                created: acc.created,
                by_entry,
                create_to_first_run: dist(&acc.first_run, acc.first_run_total),
            },
            blocking: BlockingInfo {
                syscall: blocking(&acc.cats[CAT_SYSCALL]),
                net: blocking(&acc.cats[CAT_NET]),
                sync: blocking(&acc.cats[CAT_SYNC]),
                sched: blocking(&acc.cats[CAT_SCHED]),
            },
            startup,
            timeline: self.st_opts.timeline.then(|| self.timeline(&acc, start)),
        };
        (summary, acc.events, acc.gens)
    }
}

impl Summarizer {
    /// The kept slices as Chrome trace events, with a named track per goroutine and P.
    fn timeline(&self, acc: &Acc, start: i64) -> startup::Timeline {
        use startup::*;
        let us = |t: i64| t.wrapping_sub(start) as f64 / 1e3;
        let mut events = Vec::with_capacity(acc.st.tl.len() + 64);
        let mut named: FxMap<(u32, u64), ()> = FxMap::default();
        let meta = |pid: u32, tid: u64, name: String| ChromeEvent {
            name: "thread_name".into(),
            ph: "M",
            ts: 0.0,
            dur: None,
            pid,
            tid,
            args: Some(serde_json::json!({ "name": name })),
        };
        for (pid, name) in [
            (TL_GOROUTINES, "goroutines"),
            (TL_PS, "Ps"),
            (TL_GC, "GC and STW"),
        ] {
            events.push(ChromeEvent {
                name: "process_name".into(),
                ph: "M",
                ts: 0.0,
                dur: None,
                pid,
                tid: 0,
                args: Some(serde_json::json!({ "name": name })),
            });
        }
        for s in &acc.st.tl {
            let (pid, tid, name) = match s.track {
                0 => (TL_GOROUTINES, s.id, CLASS_NAMES[s.class as usize & 7]),
                1 => (TL_PS, s.id, "in use"),
                2 => (TL_GC, 0, "GC mark"),
                _ => (TL_GC, 1, "STW"),
            };
            if named.insert((pid, tid), ()).is_none() {
                let track = match s.track {
                    0 => {
                        let entry = s
                            .entry
                            .checked_sub(1)
                            .and_then(|i| acc.entries.get(i as usize))
                            .map_or(if s.id == 1 { "runtime.main" } else { "" }, |e| {
                                e.0.as_str()
                            });
                        format!("G{} {entry}", s.id)
                    }
                    1 => format!("P{}", s.id),
                    2 => "GC".into(),
                    _ => "STW".into(),
                };
                events.push(meta(pid, tid, track));
            }
            events.push(ChromeEvent {
                name: name.into(),
                ph: "X",
                ts: us(s.a),
                dur: Some(s.b.wrapping_sub(s.a) as f64 / 1e3),
                pid,
                tid,
                args: None,
            });
        }
        Timeline {
            events,
            dropped_slices: acc.st.tl_dropped,
        }
    }

    /// Closes the stretches still open at the end and builds the startup view.
    fn finish_startup(
        &self,
        acc: &mut Acc,
        complete: bool,
        cut: i64,
        start: i64,
        top: usize,
    ) -> Option<startup::Startup> {
        use startup::*;
        let end = if complete { acc.end } else { cut.min(acc.end) };
        let st = &mut acc.st;
        for gt in &self.gs.recs {
            if gt.s_class == NO_STATE || gt.s_since > end {
                continue;
            }
            // Still in the kernel at the end: it did not come back in time to be fast.
            let c = if gt.s_class == SYSCALL {
                SYSCALL_BLOCKING
            } else {
                gt.s_class
            };
            let d = st.close(
                &self.st_opts,
                top,
                false,
                gt.id,
                gt.kind,
                gt.entry,
                c,
                gt.s_since,
                end,
                gt.s_rec,
                gt.s_reason,
            );
            if gt.kind == PROGRAM {
                let (mut b, mut r) = (gt.blocked, gt.runnable);
                if is_blocked(c) {
                    b = b.wrapping_add(d);
                } else if c == RUNNABLE {
                    r = r.wrapping_add(d);
                }
                st.offer(
                    top,
                    GBlocked {
                        blocked: b,
                        runnable: r,
                        id: gt.id,
                        entry: gt.entry,
                    },
                );
            }
        }
        let w = self.st_opts.window_ns;
        for &a in self.assist_open.values() {
            if a <= end {
                st.assist(a, end, w);
            }
        }
        let dense = self.p_open.iter().enumerate().map(|(p, a)| (p as u64, *a));
        let sparse = self.p_open_sparse.iter().map(|(p, a)| (*p, *a));
        for (p, a) in dense.chain(sparse) {
            if a != i64::MIN && a <= end {
                st.p_busy(a, end, w, p, self.st_opts.timeline);
            }
        }
        let frames = |rec: u32| -> (Vec<StackFrame>, Option<usize>) {
            let f = self
                .stack_frames
                .get(rec as usize)
                .cloned()
                .unwrap_or_default();
            let u = user_frame(&f);
            (f, u)
        };
        let procs_at = |t: i64| st.procs.iter().rev().find(|p| p.0 <= t).map(|p| p.1);
        let more = |x: &Extra, wall: i64, at_end: i64| -> More {
            let gmp = procs_at(at_end);
            let mut leaf: FxMap<&str, u64> = FxMap::default();
            let mut user: FxMap<&str, u64> = FxMap::default();
            for (&rec, &n) in &x.cpu {
                let f = self.stack_frames.get(rec as usize);
                let l = f
                    .and_then(|f| f.first())
                    .map_or("(no stack)", |f| f.func.as_str());
                *leaf.entry(l).or_default() += n;
                let u = f
                    .and_then(|f| user_frame(f).map(|i| f[i].func.as_str()))
                    .unwrap_or("(no user frame)");
                *user.entry(u).or_default() += n;
            }
            let ranked = |m: FxMap<&str, u64>| {
                let mut v: Vec<NameCount> = m
                    .into_iter()
                    .map(|(k, n)| NameCount {
                        name: k.to_string(),
                        count: n,
                    })
                    .collect();
                v.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
                v.truncate(top);
                v
            };
            More {
                mark_assist: Tc {
                    ns: x.assist_ns,
                    count: x.assist_n,
                },
                heap_alloc_max: x.heap_max,
                heap_goal_last: x.goal_last,
                gomaxprocs: gmp,
                p_busy_ns: x.p_busy,
                p_utilization: gmp
                    .filter(|g| *g > 0 && wall > 0)
                    .map(|g| x.p_busy as f64 / (g as f64 * wall as f64)),
                cpu_samples: x.cpu_n,
                cpu_top_leaf: ranked(leaf),
                cpu_top_user: ranked(user),
            }
        };
        let spans = |m: &FxMap<u32, (u64, u64, i64, i64)>| {
            let mut v: Vec<SpanStat> = m
                .iter()
                .map(|(n, s)| SpanStat {
                    name: self.names.get(*n as usize).cloned().unwrap_or_default(),
                    begun: s.0,
                    ended: s.1,
                    total_ns: s.2,
                    max_ns: s.3,
                })
                .collect();
            v.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(a.name.cmp(&b.name)));
            v.truncate(top);
            v
        };
        let entry_name = |entry: u32, id: u64| -> String {
            match entry
                .checked_sub(1)
                .and_then(|i| acc.entries.get(i as usize))
            {
                Some((f, _)) => f.clone(),
                None if id == 1 => "runtime.main (the main goroutine)".into(),
                None => "(already running when the trace began)".into(),
            }
        };
        let rel = |t: i64| t.wrapping_sub(start);
        let end_rel = rel(end);
        let split_rel = st.split.map(rel);
        let fmt_d = |ns: i64| {
            if ns % 1_000_000_000 == 0 {
                format!("{}s", ns / 1_000_000_000)
            } else if ns % 1_000_000 == 0 {
                format!("{}ms", ns / 1_000_000)
            } else {
                format!("{}us", ns / 1_000)
            }
        };
        let (split_name, at_name) = match self.st_opts.until {
            Until::Main => ("main.main".to_string(), "main.main".to_string()),
            Until::At(d) => ("duration".to_string(), format!("+{}", fmt_d(d))),
        };
        let mut sections = Vec::new();
        if let Some(sp) = split_rel {
            let bounds = [
                (format!("before {at_name}"), 0, sp.min(end_rel).max(0)),
                (
                    format!("first {} after {at_name}", fmt_d(w)),
                    sp.min(end_rel).max(0),
                    sp.saturating_add(w).min(end_rel).max(0),
                ),
            ];
            for (i, (name, a, b)) in bounds.into_iter().enumerate() {
                let s = &st.secs[i];
                let sec_more = more(&s.x, b - a, start.wrapping_add(b));
                // Rows are what a reader (and Go's reader, keying by frames) calls one stack:
                // two stack IDs whose PCs differ within the same lines are one row.
                let mut rows: Vec<(u64, (i64, u64))> = Vec::new();
                let mut row_of: std::collections::HashMap<(u64, &[StackFrame]), usize> =
                    std::collections::HashMap::new();
                let mut totals = s.stack_totals();
                totals.sort_unstable_by_key(|t| t.0);
                for (k, (ns, n)) in totals {
                    let f = self
                        .stack_frames
                        .get(k as u32 as usize)
                        .map_or(&[][..], |f| &f[..]);
                    match row_of.entry((k >> 32, f)) {
                        std::collections::hash_map::Entry::Occupied(o) => {
                            let r = &mut rows[*o.get()].1;
                            r.0 = r.0.wrapping_add(ns);
                            r.1 += n;
                        }
                        std::collections::hash_map::Entry::Vacant(v) => {
                            v.insert(rows.len());
                            rows.push((k, (ns, n)));
                        }
                    }
                }
                let mut stacks = rows;
                stacks.sort_by(|x, y| y.1.0.cmp(&x.1.0).then(x.0.cmp(&y.0)));
                let mut by_entry: Vec<NameCount> = s
                    .created_by_entry
                    .iter()
                    .map(|(e, n)| NameCount {
                        name: entry_name(*e, 0),
                        count: *n,
                    })
                    .collect();
                by_entry.sort_by(|x, y| y.count.cmp(&x.count).then(x.name.cmp(&y.name)));
                by_entry.truncate(top);
                let mut triggers: Vec<NameCount> = s
                    .gc_by_trigger
                    .iter()
                    .map(|(t, n)| NameCount {
                        name: t.to_string(),
                        count: *n,
                    })
                    .collect();
                triggers.sort_by(|x, y| y.count.cmp(&x.count).then(x.name.cmp(&y.name)));
                let mut kinds: Vec<StwKindTotal> = s
                    .stw_kinds
                    .iter()
                    .map(|(k, n, t)| StwKindTotal {
                        kind: k.clone(),
                        count: *n,
                        total_ns: *t,
                    })
                    .collect();
                kinds.sort_by(|x, y| y.total_ns.cmp(&x.total_ns).then(x.kind.cmp(&y.kind)));
                sections.push(Section {
                    name,
                    start_ns: a,
                    end_ns: b,
                    gc_cycles: s.gc,
                    gc_by_trigger: triggers,
                    stw_count: s.stw_n,
                    stw_total_ns: s.stw_total,
                    stw_max_ns: s.stw_max,
                    stw_by_kind: kinds,
                    goroutines_created: s.created,
                    tracer_goroutines_created: s.created_other,
                    created_by_entry: by_entry,
                    goroutine_time: ClassTimes::from(&s.time, &s.n),
                    main_goroutine: ClassTimes::from(&s.g1, &[0; NCLASS]),
                    over_threshold: THRESHOLD_NAMES
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| self.st_opts.thresholds[*k] != i64::MAX)
                        .map(|(k, n)| ThresholdCount {
                            name: n.to_string(),
                            threshold_ns: self.st_opts.thresholds[k],
                            count: s.over[k],
                        })
                        .collect(),
                    top_stacks: stacks
                        .into_iter()
                        .take(top)
                        .map(|(k, (ns, n))| {
                            let (f, u) = frames(k as u32);
                            ClassStack {
                                class: CLASS_NAMES[(k >> 32) as usize & 7].to_string(),
                                total_ns: ns,
                                count: n,
                                frames: f,
                                user_frame: u,
                            }
                        })
                        .collect(),
                    more: sec_more,
                });
            }
        }
        let g1_total = st.g1.iter().fold(0i64, |t, v| t.wrapping_add(*v));
        let g1_any = st.g1_n.iter().any(|n| *n > 0);
        let main_goroutine = g1_any.then(|| {
            let mut by_reason: Vec<ReasonTime> = st
                .g1_reasons
                .iter()
                .map(|(r, ns, n)| ReasonTime {
                    reason: self
                        .reason_names
                        .get(*r as usize)
                        .cloned()
                        .unwrap_or_default(),
                    ns: *ns,
                    count: *n,
                })
                .collect();
            by_reason.sort_by(|x, y| y.ns.cmp(&x.ns).then(x.reason.cmp(&y.reason)));
            let mut longest = st.g1_longest.clone();
            longest.sort_by(|x, y| y.dur.cmp(&x.dur).then(x.at.cmp(&y.at)));
            longest.truncate(top);
            MainGoroutine {
                id: 1,
                wall: ClassTimes::from(&st.g1, &st.g1_n),
                wall_ns: g1_total,
                by_reason,
                longest: longest
                    .into_iter()
                    .map(|s| {
                        let (f, u) = frames(s.rec);
                        StretchOut {
                            class: CLASS_NAMES[s.class as usize & 7].to_string(),
                            reason: if s.class >= NETWORK {
                                self.reason_names
                                    .get(s.reason as usize)
                                    .cloned()
                                    .unwrap_or_default()
                            } else {
                                String::new()
                            },
                            at_ns: rel(s.at),
                            duration_ns: s.dur,
                            frames: f,
                            user_frame: u,
                        }
                    })
                    .collect(),
            }
        });
        let mut tb = st.top_blocked.clone();
        tb.sort_by(|x, y| y.blocked.cmp(&x.blocked).then(x.id.cmp(&y.id)));
        tb.truncate(top);
        let mut thr_g: Vec<_> = st.thr_g.iter().collect();
        thr_g.sort_by(|x, y| {
            y.1.0
                .cmp(&x.1.0)
                .then(y.1.1.cmp(&x.1.1))
                .then(x.0.1.cmp(&y.0.1))
        });
        let thresholds = THRESHOLD_NAMES
            .iter()
            .enumerate()
            .filter(|(k, _)| self.st_opts.thresholds[*k] != i64::MAX)
            .map(|(k, n)| Threshold {
                name: n.to_string(),
                threshold_ns: self.st_opts.thresholds[k],
                count: st.thr[k].count,
                total_ns: st.thr[k].total,
                max_ns: st.thr[k].max,
                goroutines: thr_g
                    .iter()
                    .filter(|(key, _)| key.0 as usize == k)
                    .take(top)
                    .map(|(key, v)| ThresholdGoroutine {
                        id: key.1,
                        entry: entry_name(v.2, key.1),
                        count: v.0,
                        max_ns: v.1,
                    })
                    .collect(),
            })
            .collect();
        let mut tracer: Vec<TracerGoroutine> = st
            .tracer
            .iter()
            .map(|(id, t)| TracerGoroutine {
                id: *id,
                entry: entry_name(t.entry, *id),
                owner: match t.kind {
                    GOLAT => "golat".into(),
                    PROFILER => "CPU profiler".into(),
                    _ => "runtime tracer".into(),
                },
                time: ClassTimes::from(&t.time, &[0; NCLASS]),
            })
            .collect();
        tracer.sort_by_key(|t| t.id);
        let mut logs: Vec<NameCount> = st
            .logs
            .iter()
            .map(|(n, c)| NameCount {
                name: self.names.get(*n as usize).cloned().unwrap_or_default(),
                count: *c,
            })
            .collect();
        logs.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
        logs.truncate(top);
        Some(Startup {
            more: more(&st.x, end_rel, end),
            gomaxprocs_changes: st.procs.iter().map(|p| (rel(p.0), p.1)).collect(),
            tasks: spans(&st.tasks),
            regions: spans(&st.regions),
            logs,
            split: split_name,
            split_at_ns: split_rel,
            window_ns: w,
            sections,
            goroutine_time: ClassTimes::from(&st.whole, &st.whole_n),
            main_goroutine,
            top_blocked_goroutines: tb
                .into_iter()
                .map(|g| BlockedGoroutine {
                    id: g.id,
                    entry: entry_name(g.entry, g.id),
                    blocked_ns: g.blocked,
                    runnable_ns: g.runnable,
                })
                .collect(),
            thresholds,
            tracer_goroutines: tracer,
            gc_cycles: st
                .gcs
                .iter()
                .map(|g| {
                    let (f, u) = frames(g.rec);
                    GcCycle {
                        at_ns: rel(g.at),
                        trigger: g.trigger.to_string(),
                        frames: f,
                        user_frame: u,
                    }
                })
                .collect(),
        })
    }
}

fn format_wall(sec: u64, nsec: u64) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm), UTC.
    let days = (sec / 86400) as i64;
    let rem = sec % 86400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        nsec % 1_000_000_000
    )
}

/// Options for [`summarize`].
#[derive(Debug, Clone)]
pub struct SummarizeOptions {
    /// Rows per table (top stacks, entry functions).
    pub top: usize,
}

impl Default for SummarizeOptions {
    fn default() -> Self {
        SummarizeOptions { top: 10 }
    }
}

/// Reads a whole trace and summarizes it. A truncated trace yields the complete generations
/// and a warning; any other error fails (after the header, with its offset and generation).
pub fn summarize<R: Read>(r: R, opts: &SummarizeOptions) -> Result<Summary, TraceError> {
    summarize_reader(Reader::new(r)?, opts)
}

/// `summarize` over a reader already made (e.g. `Reader::threaded`).
pub fn summarize_reader<R: Read>(
    rd: Reader<R>,
    opts: &SummarizeOptions,
) -> Result<Summary, TraceError> {
    summarize_reader_with(rd, opts, &StartupOptions::default())
}

/// `summarize_reader` with the startup view's split, window and thresholds.
pub fn summarize_reader_with<R: Read>(
    mut rd: Reader<R>,
    opts: &SummarizeOptions,
    st: &StartupOptions,
) -> Result<Summary, TraceError> {
    let ver = rd.version();
    let mut s = Summarizer::with_options(st.clone(), opts.top);
    let mut warning = None;
    loop {
        match rd.next_ref() {
            Ok(Some((e, g))) => s.event(e, g),
            Ok(None) => break,
            Err(e) => {
                if e.is_truncation() && s.has_committed && s.committed.events > 0 {
                    warning = Some(e);
                    break;
                }
                return Err(e);
            }
        }
    }
    let bytes = rd.offset();
    let (mut sum, _, _) = s.finish(opts.top, warning.is_none());
    sum.header = format!("go 1.{ver} trace");
    sum.written_by = super::wire::written_by(ver).to_string();
    sum.bytes = bytes;
    if let Some(w) = warning {
        sum.warnings.push(format!(
            "{w}; reporting the {} complete generation(s) before it, as `go tool trace` does",
            sum.generations
        ));
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-type table must say what `main_stack` and `transition` say, for every type.
    #[test]
    fn kind_table_matches_main_stack_and_transition() {
        let t = kind_table();
        for typ in 0..=255u8 {
            if typ as usize >= SPECS.len() && typ != EV_READER_SYNC {
                assert_eq!(t[typ as usize] & (K_STACK | K_GO), NO_STACK, "type {typ}");
                continue;
            }
            for args in [[11, 22, 33, 44], [0, 0, 0, 0], [5, 0, 7, 0]] {
                let e = Event {
                    typ,
                    time: 1,
                    args,
                    ctx: Ctx { g: 3, p: 4, m: 5 },
                };
                let k = t[typ as usize];
                let si = k & K_STACK;
                let ms = if si == NO_STACK {
                    0
                } else {
                    e.args[si as usize]
                };
                let want = if typ == EV_CPU_SAMPLE {
                    0
                } else {
                    main_stack(&e)
                };
                assert_eq!(ms, want, "type {typ}");
                let go =
                    transition(&e).is_some_and(|x| matches!(x.resource, Resource::Goroutine(_)));
                assert_eq!(k & K_GO != 0, go, "type {typ}");
            }
        }
    }

    /// The table decode must give what `transition` gives, for every goroutine transition type.
    #[test]
    fn inline_transitions_match_the_tables() {
        let (d, k) = (decode_table(), kind_table());
        for (typ, dec, stack) in HOT {
            assert_eq!(d[typ as usize], dec, "type {typ}");
            assert_eq!(k[typ as usize] & K_STACK, stack, "type {typ}");
            assert_ne!(k[typ as usize] & K_GO, 0, "type {typ}");
        }
    }

    #[test]
    fn decode_table_matches_transition() {
        let kinds = kind_table();
        let dec = decode_table();
        let mut fast = 0;
        for typ in 0..=255u8 {
            let d = dec[typ as usize];
            if kinds[typ as usize] & K_GO == 0 || d.slow {
                continue;
            }
            fast += 1;
            for (args, g) in [
                ([11, 22, 33, 44], 55),
                ([0, 0, 0, 0], 0),
                ([7, 0, 9, 1 << 40], NONE),
            ] {
                let e = Event {
                    typ,
                    time: 1,
                    args,
                    ctx: Ctx { g, p: 4, m: 5 },
                };
                let t = transition(&e).unwrap();
                let v = [args[0], args[1], args[2], args[3], g, 0, 0, 0];
                assert_eq!(
                    t.resource,
                    Resource::Goroutine(v[d.id as usize]),
                    "type {typ}"
                );
                assert_eq!((t.from, t.to), (d.from, d.to), "type {typ}");
                assert_eq!(t.reason, v[d.reason as usize], "type {typ}");
                assert_eq!(t.stack, v[d.stack as usize], "type {typ}");
            }
        }
        assert!(fast >= 14, "only {fast} types decode from the table");
        assert!(dec[EV_GO_STATUS as usize].slow && dec[EV_GO_STATUS_STACK as usize].slow);
    }

    #[test]
    fn goroutine_table_dense_and_sparse_ids() {
        let mut gs = GTable::default();
        for id in [0, 1, 7, DENSE_LIMIT - 1, DENSE_LIMIT, u64::MAX, 7, u64::MAX] {
            gs.get_or_insert(id).start += 1;
        }
        assert_eq!(gs.recs.len(), 6);
        assert_eq!(gs.get_or_insert(7).start, 2);
        assert_eq!(gs.get_or_insert(u64::MAX).start, 2);
        assert_eq!(gs.get_or_insert(DENSE_LIMIT).start, 1);
        assert!(gs.dense.len() <= DENSE_LIMIT as usize);
    }

    /// Records of ended goroutines are reused: a trace that creates goroutines one after
    /// another, dense or sparse IDs, keeps one record, and a reused one starts afresh.
    #[test]
    fn goroutine_table_reuses_freed_records() {
        let mut gs = GTable::default();
        for id in (1..10_000).chain(DENSE_LIMIT..DENSE_LIMIT + 100) {
            let gt = gs.get_or_insert(id);
            assert_eq!((gt.start, gt.started), (0, false), "id {id}");
            gt.start = 5;
            gt.started = true;
            gs.remove(id);
        }
        assert_eq!(gs.recs.len(), 1);
        gs.get_or_insert(3).start = 9;
        gs.get_or_insert(DENSE_LIMIT + 1).start = 8;
        assert_eq!(gs.recs.len(), 2);
        assert_eq!(gs.get_or_insert(3).start, 9);
        gs.remove(3);
        gs.remove(3);
        assert_eq!(gs.get_or_insert(DENSE_LIMIT + 1).start, 8);
        assert_eq!(gs.free.len(), 1);
    }
}
