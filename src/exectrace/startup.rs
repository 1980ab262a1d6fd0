//! The startup view of a trace: what the program's goroutines did before `main.main` and in
//! the first window after it (GC cycles and their triggers, STW pauses, goroutine-time by
//! state, goroutines created, top stacks, counts over thresholds), the main goroutine's wall,
//! the goroutines blocked longest, and the tracing machinery's own goroutines listed apart.
//!
//! This module owns the definitions and the accumulators; `summary` feeds it from the same
//! single pass (one record per goroutine, shared with the pprof walk) and `render` prints it.
//! Unlike the pprof totals, these figures are raw state intervals: a goroutine's stretch in a
//! state runs from the transition that entered it to the one that left it (or the trace end),
//! with no clip to the goroutine's first run.

use serde::{Deserialize, Serialize};

use super::fxmap::FxMap;
use super::summary::StackFrame;

/// Goroutine state classes. A syscall's class is decided when it ends: `SYSCALL_BLOCKING`
/// when the goroutine came back without its P (GoSyscallEndBlocked: the P was handed off
/// while it was in the kernel) or was still in the kernel at the trace end.
pub const RUNNING: u8 = 0;
pub const RUNNABLE: u8 = 1;
pub const SYSCALL: u8 = 2;
pub const SYSCALL_BLOCKING: u8 = SYSCALL + 1;
pub const NETWORK: u8 = 4;
pub const SYNC: u8 = 5;
pub const SLEEP: u8 = 6;
pub const OTHER_WAIT: u8 = 7;
pub const NCLASS: usize = 8;
pub const NO_STATE: u8 = u8::MAX;

pub const CLASS_NAMES: [&str; NCLASS] = [
    "running",
    "runnable",
    "syscall",
    "syscall_blocking",
    "network",
    "sync",
    "sleep",
    "other_wait",
];

/// What "blocked" means for the ranking of goroutines: in the kernel, or parked on the
/// network, a sync primitive or a sleep. Runnable time (waiting for a P) is kept apart, and so
/// are other waits (GC assist, system goroutines parked for good), which are not the program's.
pub fn is_blocked(c: u8) -> bool {
    matches!(c, SYSCALL | SYSCALL_BLOCKING | NETWORK | SYNC | SLEEP)
}

/// `is_blocked` as a bit per class.
pub const BLOCKED_MASK: u8 =
    1 << SYSCALL | 1 << SYSCALL_BLOCKING | 1 << NETWORK | 1 << SYNC | 1 << SLEEP;

/// Classes whose stacks are ranked (running has no "where it waited"; other waits are mostly
/// runtime goroutines parked for good).
fn ranks_stacks(c: u8) -> bool {
    c != RUNNING && c != OTHER_WAIT
}

/// Who a goroutine belongs to, from its entry function.
pub const PROGRAM: u8 = 0;
pub const TRACER: u8 = 1;
pub const GOLAT: u8 = 2;
pub const PROFILER: u8 = 3;

/// The runtime's tracing machinery (the generation advancer, the CPU-profile reader, and
/// runtime/trace's reader that writes the trace out), runtime/pprof's CPU profile writer
/// (it sits in a blocking read of the profile buffer the whole time a CPU profile runs) and
/// golat's injected starter (`golat profile --runtime-trace`) are not the program: their
/// goroutines are listed apart.
pub fn entry_kind(func: &str) -> u8 {
    if func.starts_with("runtime/pprof.profileWriter") {
        return PROFILER;
    }
    if func.starts_with("0golat_rtrace.")
        || func.starts_with("golat_rtrace.")
        || func.starts_with("golat_rtrace_exit.")
    {
        GOLAT
    } else if func.starts_with("runtime/trace.")
        || func.starts_with("runtime.(*traceAdvancerState).")
        || func.starts_with("runtime.traceStartReadCPU")
    {
        TRACER
    } else {
        PROGRAM
    }
}

/// Threshold slots: which intervals a `--threshold NAME=DURATION` counts.
pub const THRESHOLD_NAMES: [&str; 6] = ["sched", "syscall", "net", "sync", "sleep", "stw"];
const T_STW: usize = 5;

fn threshold_slot(c: u8) -> Option<usize> {
    match c {
        RUNNABLE => Some(0),
        SYSCALL | SYSCALL_BLOCKING => Some(1),
        NETWORK => Some(2),
        SYNC => Some(3),
        SLEEP => Some(4),
        _ => None,
    }
}

/// Where the "before" section ends and the window begins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Until {
    /// The first event whose stack holds `main.main` (as `main.first_main_main_ns`).
    Main,
    /// A fixed offset from the trace start (ns).
    At(i64),
}

#[derive(Debug, Clone)]
pub struct StartupOptions {
    pub until: Until,
    /// Length of the section after the split (ns).
    pub window_ns: i64,
    /// By `THRESHOLD_NAMES`; `i64::MAX` = not counted.
    pub thresholds: [i64; 6],
    /// The threshold of each state class (`i64::MAX` = none), from `thresholds`.
    pub by_class: [i64; NCLASS],
    /// Keep goroutine, P, GC and STW slices up to the window's end for `--timeline`.
    pub timeline: bool,
}

/// Most slices `--timeline` keeps (≈ 40 bytes each); past it they are counted, not kept.
pub const TIMELINE_CAP: usize = 500_000;

/// A timeline slice: `track` 0 = goroutine `id` (with its `entry`), 1 = P `id`, 2 = GC,
/// 3 = STW; `class` the goroutine's state class.
#[derive(Clone, Copy)]
pub struct TlSlice {
    pub track: u8,
    pub class: u8,
    pub entry: u32,
    pub id: u64,
    pub a: i64,
    pub b: i64,
}

impl StartupOptions {
    pub fn new(until: Until, window_ns: i64, thresholds: [i64; 6]) -> Self {
        let mut by_class = [i64::MAX; NCLASS];
        for (c, t) in by_class.iter_mut().enumerate() {
            if let Some(s) = threshold_slot(c as u8) {
                *t = thresholds[s];
            }
        }
        StartupOptions {
            until,
            window_ns,
            thresholds,
            by_class,
            timeline: false,
        }
    }
}

/// sched > 100 µs is a goroutine that waited a visible time for a P; a syscall over 1 ms is
/// slow I/O or a blocking call; network and sync waits of 1 ms delay a startup measurably;
/// a sleep is deliberate and is not counted unless asked; a 100 µs STW pause stalls every
/// goroutine.
pub const DEFAULT_THRESHOLDS: &str = "sched=100us,syscall=1ms,net=1ms,sync=1ms,stw=100us";

impl Default for StartupOptions {
    fn default() -> Self {
        StartupOptions::new(
            Until::Main,
            1_000_000_000,
            parse_thresholds(DEFAULT_THRESHOLDS, [i64::MAX; 6]).expect("defaults"),
        )
    }
}

/// `100us`, `1ms`, `1.5s`, `250ns`, `2µs` → nanoseconds.
pub fn parse_duration_ns(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mult = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "" => return Err(format!("{s:?} needs a unit (ns, us, ms, s), e.g. 100us")),
        u => return Err(format!("unknown unit {u:?} in {s:?} (use ns, us, ms or s)")),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 100us, 1ms, 1s)"))?;
    let ns = v * mult;
    if !(0.0..=9.2e18).contains(&ns) {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(ns.round() as i64)
}

/// `sched=100us,syscall=1ms` over `base`; `name=off` turns one off.
pub fn parse_thresholds(s: &str, mut base: [i64; 6]) -> Result<[i64; 6], String> {
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?}: want NAME=DURATION, e.g. sched=100us"))?;
        let slot = THRESHOLD_NAMES
            .iter()
            .position(|n| *n == name.trim())
            .ok_or_else(|| {
                format!(
                    "unknown threshold {name:?}: one of {}",
                    THRESHOLD_NAMES.join(", ")
                )
            })?;
        base[slot] = if v.trim() == "off" {
            i64::MAX
        } else {
            parse_duration_ns(v)?
        };
    }
    Ok(base)
}

/// A GC trigger, read from the stack of the GCBegin event (the goroutine that started it).
pub fn gc_trigger(frames: &[(&str, &str, u64)]) -> &'static str {
    if frames.is_empty() {
        return "unknown (no stack)";
    }
    for (f, _, _) in frames {
        match *f {
            "runtime.GC" => return "runtime.GC (forced)",
            "runtime/debug.FreeOSMemory" => return "debug.FreeOSMemory (forced)",
            "runtime.forcegchelper" => return "periodic (forcegc, 2 min without a GC)",
            _ => {}
        }
        if f.starts_with("runtime.mallocgc") || f.starts_with("runtime.(*mheap).") {
            return "heap goal (an allocation)";
        }
    }
    "other"
}

/// The package path of a Go symbol: `net/http.(*conn).serve` → `net/http`.
fn package_of(func: &str) -> &str {
    let slash = func.rfind('/').map_or(0, |i| i + 1);
    match func[slash..].find('.') {
        Some(i) => &func[..slash + i],
        None => func,
    }
}

/// Index of the first frame outside the runtime and the standard library (the user's code),
/// leaf first. A frame is standard when its file is under the GOROOT the stack's own
/// `runtime.*` frames live in; with no such frame (or `-trimpath`), when its package's first
/// path element has no dot and is not `main` (Go's rule for standard import paths).
pub fn user_frame(frames: &[StackFrame]) -> Option<usize> {
    let goroot = frames.iter().find_map(|f| {
        if !f.func.starts_with("runtime.") {
            return None;
        }
        f.file.find("/src/runtime/").map(|i| &f.file[..i + 5])
    });
    frames.iter().position(|f| {
        if f.file.is_empty() {
            return false;
        }
        if let Some(root) = goroot
            && f.file.starts_with(root)
        {
            return false;
        }
        let pkg = package_of(&f.func);
        if pkg == "main" {
            return true;
        }
        if goroot.is_some() {
            return true;
        }
        pkg.split('/')
            .next()
            .is_some_and(|first| first.contains('.'))
    })
}

/// One section's accumulators.
#[derive(Clone, Default)]
pub struct SecAcc {
    pub time: [i64; NCLASS],
    pub n: [u64; NCLASS],
    /// (overlap ns, stretches) by stack record and class: a dense table for the first
    /// `DENSE_RECS` records (a stretch closes at every other transition: no hashing there),
    /// a map beyond.
    pub stacks: Vec<[(i64, u64); NCLASS]>,
    pub stacks_sparse: FxMap<u64, (i64, u64)>,
    pub g1: [i64; NCLASS],
    pub gc: u64,
    pub gc_by_trigger: Vec<(&'static str, u64)>,
    pub stw_n: u64,
    pub stw_total: i64,
    pub stw_max: i64,
    pub stw_kinds: Vec<(String, u64, i64)>,
    pub created: u64,
    pub created_other: u64,
    pub created_by_entry: FxMap<u32, u64>,
    pub over: [u64; 6],
    pub x: Extra,
}

/// The rarer measures, kept per section and for the whole trace: GC mark assist, heap and
/// goal, P time in use, CPU samples.
#[derive(Clone, Default)]
pub struct Extra {
    pub assist_ns: i64,
    pub assist_n: u64,
    pub heap_max: Option<u64>,
    pub goal_last: Option<u64>,
    pub p_busy: i64,
    pub cpu_n: u64,
    /// Stack record → samples.
    pub cpu: FxMap<u32, u64>,
}

#[derive(Clone, Copy)]
pub struct Stretch {
    pub class: u8,
    pub reason: u32,
    pub at: i64,
    pub dur: i64,
    pub rec: u32,
}

#[derive(Clone, Copy)]
pub struct GBlocked {
    pub blocked: i64,
    pub runnable: i64,
    pub id: u64,
    pub entry: u32,
}

#[derive(Clone, Default)]
pub struct ThrAcc {
    pub count: u64,
    pub total: i64,
    pub max: i64,
}

#[derive(Clone, Default)]
pub struct TracerG {
    pub entry: u32,
    pub kind: u8,
    pub time: [i64; NCLASS],
}

#[derive(Clone)]
pub struct GcAt {
    pub at: i64,
    pub trigger: &'static str,
    pub rec: u32,
}

/// Everything the startup view accumulates; part of the summary's `Acc`, so a broken
/// generation is dropped from it too.
#[derive(Clone)]
pub struct StAcc {
    /// Absolute split time, once known.
    pub split: Option<i64>,
    /// Where the window ends (absolute), `i64::MAX` until the split is known: a stretch that
    /// begins there or later touches no section.
    pub win_end: i64,
    /// `split`, or `i64::MAX` while unknown.
    pub split_at: i64,
    pub secs: [SecAcc; 2],
    pub whole: [i64; NCLASS],
    pub whole_n: [u64; NCLASS],
    pub g1_seen: bool,
    pub g1: [i64; NCLASS],
    pub g1_n: [u64; NCLASS],
    /// (reason index, ns, stretches) of G1's waits.
    pub g1_reasons: Vec<(u32, i64, u64)>,
    pub g1_longest: Vec<Stretch>,
    pub top_blocked: Vec<GBlocked>,
    pub thr: [ThrAcc; 6],
    /// (slot, goroutine) → (count, max, entry).
    pub thr_g: FxMap<(u8, u64), (u64, i64, u32)>,
    pub tracer: FxMap<u64, TracerG>,
    pub gcs: Vec<GcAt>,
    pub x: Extra,
    /// GOMAXPROCS changes (absolute time, value), first 256.
    pub procs: Vec<(i64, u64)>,
    /// By name index: (begun, ended, total, max) of tasks and of regions; logs by category.
    pub tasks: FxMap<u32, (u64, u64, i64, i64)>,
    pub regions: FxMap<u32, (u64, u64, i64, i64)>,
    pub logs: FxMap<u32, u64>,
    pub tl: Vec<TlSlice>,
    pub tl_dropped: u64,
}

/// `(begun, ended, total, max)` of a task or region name: one begun.
pub fn span_begun(m: &mut FxMap<u32, (u64, u64, i64, i64)>, name: u32) {
    m.entry(name).or_default().0 += 1;
}

/// One ended after `d`.
pub fn span_ended(m: &mut FxMap<u32, (u64, u64, i64, i64)>, name: u32, d: i64) {
    let e = m.entry(name).or_default();
    e.1 += 1;
    e.2 = e.2.wrapping_add(d);
    e.3 = e.3.max(d);
}

/// Stack records below this index have a dense row in each section's table (128 bytes each).
const DENSE_RECS: usize = 1 << 14;

impl SecAcc {
    #[inline]
    fn add_stack(&mut self, ci: usize, rec: u32, ns: i64) {
        let e = if (rec as usize) < DENSE_RECS {
            let r = rec as usize;
            if self.stacks.len() <= r {
                self.stacks.resize(r + 1, [(0, 0); NCLASS]);
            }
            &mut self.stacks[r][ci & 7]
        } else {
            self.stacks_sparse
                .entry((ci as u64) << 32 | rec as u64)
                .or_default()
        };
        e.0 = e.0.wrapping_add(ns);
        e.1 += 1;
    }

    /// (class << 32 | record, (ns, stretches)) of every stack that got time.
    pub fn stack_totals(&self) -> Vec<(u64, (i64, u64))> {
        let mut v: Vec<(u64, (i64, u64))> =
            self.stacks_sparse.iter().map(|(k, v)| (*k, *v)).collect();
        for (r, row) in self.stacks.iter().enumerate() {
            for (c, e) in row.iter().enumerate() {
                if e.1 > 0 {
                    v.push(((c as u64) << 32 | r as u64, *e));
                }
            }
        }
        v
    }
}

/// Most entries a map keyed by goroutine (or task) holds: a damaged or endless trace can
/// name IDs without end, and memory must not follow it. Real programs stay far below.
pub const MAP_CAP: usize = 1 << 16;

/// Most GC cycles listed one by one; the counts by trigger cover all.
pub const MAX_GC_LISTED: usize = 256;

impl Default for StAcc {
    fn default() -> Self {
        StAcc {
            split: None,
            win_end: i64::MAX,
            split_at: i64::MAX,
            secs: Default::default(),
            whole: [0; NCLASS],
            whole_n: [0; NCLASS],
            g1_seen: false,
            g1: [0; NCLASS],
            g1_n: [0; NCLASS],
            g1_reasons: Vec::new(),
            g1_longest: Vec::new(),
            top_blocked: Vec::new(),
            thr: Default::default(),
            thr_g: FxMap::default(),
            tracer: FxMap::default(),
            gcs: Vec::new(),
            x: Extra::default(),
            procs: Vec::new(),
            tasks: FxMap::default(),
            regions: FxMap::default(),
            logs: FxMap::default(),
            tl: Vec::new(),
            tl_dropped: 0,
        }
    }
}

impl StAcc {
    pub fn set_split(&mut self, at: i64, window: i64) {
        self.split = Some(at);
        self.split_at = at;
        self.win_end = at.saturating_add(window);
    }

    /// The section an instant falls in: 0 before the split, 1 in the window, None after.
    #[inline]
    pub fn section_of(&self, t: i64, window: i64) -> Option<usize> {
        match self.split {
            None => Some(0),
            Some(s) if t < s => Some(0),
            Some(s) if t < s.saturating_add(window) => Some(1),
            _ => None,
        }
    }

    /// Keeps the `k` largest of a list that grows by one at a time, cheaply: sort and cut
    /// only when it doubles.
    fn trim<T>(v: &mut Vec<T>, k: usize, key: impl Fn(&T) -> (i64, u64)) {
        if v.len() > 2 * k.max(1) {
            v.sort_by(|a, b| {
                let (x, y) = (key(a), key(b));
                y.0.cmp(&x.0).then(x.1.cmp(&y.1))
            });
            v.truncate(k);
        }
    }

    /// A goroutine's stretch in class `c` over `[a, b]` ended. Most stretches of a long trace
    /// are a program goroutine's, past the window, under every threshold: they only add to the
    /// whole-trace totals, here, without a call.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn close(
        &mut self,
        opts: &StartupOptions,
        top: usize,
        fast: bool,
        id: u64,
        kind: u8,
        entry: u32,
        c: u8,
        a: i64,
        b: i64,
        rec: u32,
        reason: u32,
    ) -> i64 {
        let d = b.wrapping_sub(a);
        let ci = c as usize & 7;
        if opts.timeline && a < self.win_end {
            self.tl_push(0, c, entry, id, a, b);
        }
        // `fast`: a program goroutine, not G1 (the caller keeps it per goroutine).
        // One branch, not three: which way it goes depends on the data.
        if fast & (d <= opts.by_class[ci]) {
            if a >= self.win_end {
                self.whole[ci] = self.whole[ci].wrapping_add(d);
                self.whole_n[ci] += 1;
                return d;
            }
            // Inside the window: all of it goes to section 1 (as the general case would
            // find), no threshold to count, not G1.
            if (a >= self.split_at) & (b < self.win_end) & (d >= 0) {
                self.whole[ci] = self.whole[ci].wrapping_add(d);
                self.whole_n[ci] += 1;
                let s = &mut self.secs[1];
                s.time[ci] = s.time[ci].wrapping_add(d);
                s.n[ci] += 1;
                if d > 0 && ranks_stacks(c) {
                    s.add_stack(ci, rec, d);
                }
                return d;
            }
        }
        self.close_slow(opts, top, id, kind, entry, c, a, b, rec, reason)
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn close_slow(
        &mut self,
        opts: &StartupOptions,
        top: usize,
        id: u64,
        kind: u8,
        entry: u32,
        c: u8,
        a: i64,
        b: i64,
        rec: u32,
        reason: u32,
    ) -> i64 {
        let d = b.wrapping_sub(a);
        let ci = c as usize & 7;
        if kind != PROGRAM {
            if self.tracer.len() < MAP_CAP || self.tracer.contains_key(&id) {
                let t = self.tracer.entry(id).or_default();
                t.entry = entry;
                t.kind = kind;
                t.time[ci] = t.time[ci].wrapping_add(d);
            }
            return d;
        }
        self.whole[ci] = self.whole[ci].wrapping_add(d);
        self.whole_n[ci] += 1;
        let slot = threshold_slot(c);
        let over = slot.is_some_and(|s| d > opts.thresholds[s]);
        if let (true, Some(s)) = (over, slot) {
            let t = &mut self.thr[s];
            t.count += 1;
            t.total = t.total.wrapping_add(d);
            t.max = t.max.max(d);
            if self.thr_g.len() < MAP_CAP || self.thr_g.contains_key(&(s as u8, id)) {
                let g = self.thr_g.entry((s as u8, id)).or_insert((0, 0, entry));
                g.0 += 1;
                g.1 = g.1.max(d);
            }
        }
        // Past the window's end no section can take any of it.
        if a >= self.win_end {
            if id == 1 {
                self.g1_close(top, c, a, d, rec, reason);
            }
            return d;
        }
        let split = self.split;
        let bounds = [
            (i64::MIN, split.unwrap_or(i64::MAX)),
            match split {
                Some(s) => (s, s.saturating_add(opts.window_ns)),
                None => (0, 0),
            },
        ];
        for (i, &(lo, hi)) in bounds.iter().enumerate() {
            if lo >= hi {
                continue;
            }
            let ov = b.min(hi).wrapping_sub(a.max(lo));
            let starts = a >= lo && a < hi;
            if ov <= 0 && !starts {
                continue;
            }
            let s = &mut self.secs[i];
            if ov > 0 {
                s.time[ci] = s.time[ci].wrapping_add(ov);
                if id == 1 {
                    s.g1[ci] = s.g1[ci].wrapping_add(ov);
                }
                if ranks_stacks(c) {
                    s.add_stack(ci, rec, ov);
                }
            }
            if starts {
                s.n[ci] += 1;
                if let (true, Some(sl)) = (over, slot) {
                    s.over[sl] += 1;
                }
            }
        }
        if id == 1 {
            self.g1_close(top, c, a, d, rec, reason);
        }
        d
    }

    /// The main goroutine's wall, reasons and longest stretches.
    fn g1_close(&mut self, top: usize, c: u8, a: i64, d: i64, rec: u32, reason: u32) {
        let ci = c as usize & 7;
        {
            self.g1[ci] = self.g1[ci].wrapping_add(d);
            self.g1_n[ci] += 1;
            if c >= NETWORK {
                match self.g1_reasons.iter_mut().find(|r| r.0 == reason) {
                    Some(r) => {
                        r.1 = r.1.wrapping_add(d);
                        r.2 += 1;
                    }
                    None => self.g1_reasons.push((reason, d, 1)),
                }
            }
            // Kept sorted, longest first, at most `top`: a stretch no longer than the
            // shortest kept costs one compare (G1's stretches close in time order, so a tie
            // ranks after those kept, as the final order has it).
            let v = &mut self.g1_longest;
            if c != RUNNING && (v.len() < top.max(1) || v.last().is_some_and(|l| d > l.dur)) {
                let i = v.partition_point(|s| s.dur >= d);
                v.insert(
                    i,
                    Stretch {
                        class: c,
                        reason,
                        at: a,
                        dur: d,
                        rec,
                    },
                );
                v.truncate(top.max(1));
            }
        }
    }

    /// A program goroutine's blocked and runnable totals, when it ends or the trace does.
    pub fn offer(&mut self, top: usize, g: GBlocked) {
        if g.blocked <= 0 && g.runnable <= 0 {
            return;
        }
        self.top_blocked.push(g);
        Self::trim(&mut self.top_blocked, top, |g| (g.blocked, g.id));
    }

    /// A timeline slice, cut at the window's end.
    #[cold]
    pub fn tl_push(&mut self, track: u8, class: u8, entry: u32, id: u64, a: i64, b: i64) {
        if a >= self.win_end {
            return;
        }
        if self.tl.len() >= TIMELINE_CAP {
            self.tl_dropped += 1;
            return;
        }
        self.tl.push(TlSlice {
            track,
            class,
            entry,
            id,
            a,
            b: b.min(self.win_end),
        });
    }

    pub fn gc_begin(&mut self, at: i64, window: i64, trigger: &'static str, rec: u32) {
        if let Some(i) = self.section_of(at, window) {
            let s = &mut self.secs[i];
            s.gc += 1;
            match s.gc_by_trigger.iter_mut().find(|t| t.0 == trigger) {
                Some(t) => t.1 += 1,
                None => s.gc_by_trigger.push((trigger, 1)),
            }
        }
        if self.gcs.len() < MAX_GC_LISTED {
            self.gcs.push(GcAt { at, trigger, rec });
        }
    }

    pub fn stw(&mut self, opts: &StartupOptions, kind: &str, begin: i64, d: i64) {
        if opts.timeline {
            self.tl_push(3, 0, 0, 0, begin, begin.wrapping_add(d));
        }
        let over = d > opts.thresholds[T_STW];
        if over {
            let t = &mut self.thr[T_STW];
            t.count += 1;
            t.total = t.total.wrapping_add(d);
            t.max = t.max.max(d);
        }
        let Some(i) = self.section_of(begin, opts.window_ns) else {
            return;
        };
        let s = &mut self.secs[i];
        s.stw_n += 1;
        s.stw_total = s.stw_total.wrapping_add(d);
        s.stw_max = s.stw_max.max(d);
        if over {
            s.over[T_STW] += 1;
        }
        match s.stw_kinds.iter_mut().find(|k| k.0 == kind) {
            Some(k) => {
                k.1 += 1;
                k.2 = k.2.wrapping_add(d);
            }
            None => s.stw_kinds.push((kind.to_string(), 1, d)),
        }
    }

    /// The overlap of `[a, b]` with each section.
    fn spread(&self, a: i64, b: i64, window: i64) -> [i64; 2] {
        let Some(sp) = self.split else {
            return [b.wrapping_sub(a).max(0), 0];
        };
        let ov = |lo: i64, hi: i64| b.min(hi).wrapping_sub(a.max(lo)).max(0);
        [ov(i64::MIN, sp), ov(sp, sp.saturating_add(window))]
    }

    /// A mark assist of `[a, b]`.
    pub fn assist(&mut self, a: i64, b: i64, window: i64) {
        let d = b.wrapping_sub(a);
        self.x.assist_ns = self.x.assist_ns.wrapping_add(d);
        self.x.assist_n += 1;
        let ov = self.spread(a, b, window);
        let begun = self.section_of(a, window);
        for (i, s) in self.secs.iter_mut().enumerate() {
            s.x.assist_ns = s.x.assist_ns.wrapping_add(ov[i]);
            if begun == Some(i) {
                s.x.assist_n += 1;
            }
        }
    }

    /// A P in use over `[a, b]`.
    pub fn p_busy(&mut self, a: i64, b: i64, window: i64, p: u64, timeline: bool) {
        if timeline {
            self.tl_push(1, 0, 0, p, a, b);
        }
        self.x.p_busy = self.x.p_busy.wrapping_add(b.wrapping_sub(a));
        let ov = self.spread(a, b, window);
        for (i, s) in self.secs.iter_mut().enumerate() {
            s.x.p_busy = s.x.p_busy.wrapping_add(ov[i]);
        }
    }

    /// A heap metric: `goal` false for HeapAlloc, true for HeapGoal.
    pub fn heap(&mut self, t: i64, window: i64, v: u64, goal: bool) {
        let sec = self.section_of(t, window);
        let mut xs = vec![&mut self.x];
        if let Some(i) = sec {
            xs.push(&mut self.secs[i].x);
        }
        for x in xs {
            if goal {
                x.goal_last = Some(v);
            } else {
                x.heap_max = Some(x.heap_max.map_or(v, |m| m.max(v)));
            }
        }
    }

    pub fn cpu_sample(&mut self, t: i64, window: i64, rec: u32) {
        self.x.cpu_n += 1;
        *self.x.cpu.entry(rec).or_default() += 1;
        if let Some(i) = self.section_of(t, window) {
            let x = &mut self.secs[i].x;
            x.cpu_n += 1;
            *x.cpu.entry(rec).or_default() += 1;
        }
    }

    pub fn created(&mut self, at: i64, window: i64, kind: u8, entry: u32) {
        if let Some(i) = self.section_of(at, window) {
            let s = &mut self.secs[i];
            if kind == PROGRAM {
                s.created += 1;
                *s.created_by_entry.entry(entry).or_default() += 1;
            } else {
                s.created_other += 1;
            }
        }
    }
}

// ---- The report ----

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Tc {
    pub ns: i64,
    /// Stretches that began in the scope.
    pub count: u64,
}

/// Time by state class. For a set of goroutines it is goroutine-time (two goroutines blocked
/// for 1 ms count 2 ms); for one goroutine it is its wall.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ClassTimes {
    pub running: Tc,
    pub runnable: Tc,
    /// Syscalls that returned with their P (short ones, or long ones sysmon let keep it:
    /// it hands a P off after 20 µs only when other work waits, and always after 10 ms).
    pub syscall: Tc,
    /// Syscalls whose P was handed off (GoSyscallEndBlocked), or still in the kernel at the end.
    pub syscall_blocking: Tc,
    pub network: Tc,
    pub sync: Tc,
    pub sleep: Tc,
    /// Other waits (no reason in the trace, GC assist, system goroutines parked).
    pub other_wait: Tc,
}

impl ClassTimes {
    pub fn from(ns: &[i64; NCLASS], n: &[u64; NCLASS]) -> Self {
        let t = |i: usize| Tc {
            ns: ns[i],
            count: n[i],
        };
        ClassTimes {
            running: t(0),
            runnable: t(1),
            syscall: t(2),
            syscall_blocking: t(3),
            network: t(4),
            sync: t(5),
            sleep: t(6),
            other_wait: t(7),
        }
    }

    pub fn get(&self, c: u8) -> &Tc {
        match c {
            RUNNING => &self.running,
            RUNNABLE => &self.runnable,
            SYSCALL => &self.syscall,
            SYSCALL_BLOCKING => &self.syscall_blocking,
            NETWORK => &self.network,
            SYNC => &self.sync,
            SLEEP => &self.sleep,
            _ => &self.other_wait,
        }
    }

    /// In the kernel, or waiting on the network, sync or a sleep.
    pub fn in_syscalls_ns(&self) -> i64 {
        self.syscall.ns.wrapping_add(self.syscall_blocking.ns)
    }

    /// Parked: network, sync, sleep and other waits.
    pub fn waiting_ns(&self) -> i64 {
        [&self.network, &self.sync, &self.sleep, &self.other_wait]
            .iter()
            .fold(0i64, |t, c| t.wrapping_add(c.ns))
    }

    pub fn blocked_ns(&self) -> i64 {
        (0..NCLASS as u8)
            .filter(|c| is_blocked(*c))
            .fold(0i64, |t, c| t.wrapping_add(self.get(c).ns))
    }

    pub fn total_ns(&self) -> i64 {
        // Wrapping: a damaged trace can hold any times, and no input may panic.
        (0..NCLASS as u8).fold(0i64, |t, c| t.wrapping_add(self.get(c).ns))
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ClassStack {
    pub class: String,
    /// Goroutine-time in this section spent in stretches entered at this stack.
    pub total_ns: i64,
    pub count: u64,
    /// Leaf first, up to 128 frames.
    pub frames: Vec<StackFrame>,
    /// Index in `frames` of the first frame outside the runtime and the standard library.
    pub user_frame: Option<usize>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct NameCount {
    pub name: String,
    pub count: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct StwKindTotal {
    pub kind: String,
    pub count: u64,
    pub total_ns: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ThresholdCount {
    pub name: String,
    pub threshold_ns: i64,
    pub count: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Section {
    /// `before main.main`, `before +D`, `first W after main.main`, `first W after +D`.
    pub name: String,
    /// Relative to the trace start; `end_ns` is cut at the trace end.
    pub start_ns: i64,
    pub end_ns: i64,
    /// GCBegin events in the section, by trigger (from the GCBegin stack).
    pub gc_cycles: u64,
    pub gc_by_trigger: Vec<NameCount>,
    /// STW pauses that began in the section (and ended in the trace).
    pub stw_count: u64,
    pub stw_total_ns: i64,
    pub stw_max_ns: i64,
    pub stw_by_kind: Vec<StwKindTotal>,
    /// Program goroutines created in the section (tracer and golat goroutines apart).
    pub goroutines_created: u64,
    pub tracer_goroutines_created: u64,
    pub created_by_entry: Vec<NameCount>,
    /// Program goroutine-time in the section, by state (overlap of each stretch).
    pub goroutine_time: ClassTimes,
    /// The main goroutine's (G1) wall in the section, by state (`count` is 0).
    pub main_goroutine: ClassTimes,
    /// Stretches that began in the section and lasted longer than each threshold.
    pub over_threshold: Vec<ThresholdCount>,
    /// Goroutine-time in the section by (state, the stack that entered it), runnable and
    /// blocked states only.
    pub top_stacks: Vec<ClassStack>,
    #[serde(default)]
    pub more: More,
}

/// GC mark assist, heap, GOMAXPROCS and P use, CPU samples: of a section or the whole trace.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct More {
    /// Time goroutines (all of them) spent assisting the GC mark; count = assists begun.
    pub mark_assist: Tc,
    /// Largest HeapAlloc metric (bytes of heap objects) and the last heap goal.
    pub heap_alloc_max: Option<u64>,
    pub heap_goal_last: Option<u64>,
    /// GOMAXPROCS in effect at the end, and the time Ps were in use (summed over Ps).
    pub gomaxprocs: Option<u64>,
    pub p_busy_ns: i64,
    /// p_busy_ns / (gomaxprocs × wall).
    pub p_utilization: Option<f64>,
    /// CPU profile samples in the trace (when CPU profiling ran), by the sampled stack's
    /// leaf function and by its first user frame.
    pub cpu_samples: u64,
    pub cpu_top_leaf: Vec<NameCount>,
    pub cpu_top_user: Vec<NameCount>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SpanStat {
    pub name: String,
    pub begun: u64,
    pub ended: u64,
    /// Of those that ended in the trace.
    pub total_ns: i64,
    pub max_ns: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ReasonTime {
    pub reason: String,
    pub ns: i64,
    pub count: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct StretchOut {
    pub class: String,
    pub reason: String,
    pub at_ns: i64,
    pub duration_ns: i64,
    pub frames: Vec<StackFrame>,
    pub user_frame: Option<usize>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct MainGoroutine {
    pub id: u64,
    /// Its wall from its first event to its exit or the trace end, by state.
    pub wall: ClassTimes,
    pub wall_ns: i64,
    /// Its waits by the reason the trace gives.
    pub by_reason: Vec<ReasonTime>,
    /// Its longest stretches not running, with the stack that entered each.
    pub longest: Vec<StretchOut>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct BlockedGoroutine {
    pub id: u64,
    pub entry: String,
    /// syscall + syscall_blocking + network + sync + sleep, its own wall.
    pub blocked_ns: i64,
    pub runnable_ns: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ThresholdGoroutine {
    pub id: u64,
    pub entry: String,
    pub count: u64,
    pub max_ns: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Threshold {
    pub name: String,
    pub threshold_ns: i64,
    pub count: u64,
    pub total_ns: i64,
    pub max_ns: i64,
    /// The goroutines that had them, most first (none for `stw`).
    pub goroutines: Vec<ThresholdGoroutine>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct TracerGoroutine {
    pub id: u64,
    pub entry: String,
    /// `runtime tracer`, `CPU profiler` or `golat`.
    pub owner: String,
    pub time: ClassTimes,
}

/// `--timeline`: Chrome trace-event JSON (Perfetto and chrome://tracing read it).
#[derive(Serialize, Clone, Debug, Default)]
pub struct Timeline {
    #[serde(rename = "traceEvents")]
    pub events: Vec<ChromeEvent>,
    /// Slices past `TIMELINE_CAP`, not kept.
    pub dropped_slices: u64,
}

#[derive(Serialize, Clone, Debug)]
pub struct ChromeEvent {
    pub name: String,
    pub ph: &'static str,
    /// Microseconds from the trace start.
    pub ts: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dur: Option<f64>,
    pub pid: u32,
    pub tid: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<serde_json::Value>,
}

/// Process IDs of the timeline's groups of tracks.
pub const TL_GOROUTINES: u32 = 1;
pub const TL_PS: u32 = 2;
pub const TL_GC: u32 = 3;

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct GcCycle {
    pub at_ns: i64,
    pub trigger: String,
    pub frames: Vec<StackFrame>,
    pub user_frame: Option<usize>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Startup {
    /// `main.main` or `duration`.
    pub split: String,
    /// Relative to the trace start; None when main.main is in no stack.
    pub split_at_ns: Option<i64>,
    pub window_ns: i64,
    /// Before the split, and the window after it; empty without a split.
    pub sections: Vec<Section>,
    /// Program goroutine-time over the whole trace, by state.
    pub goroutine_time: ClassTimes,
    pub main_goroutine: Option<MainGoroutine>,
    pub top_blocked_goroutines: Vec<BlockedGoroutine>,
    pub thresholds: Vec<Threshold>,
    /// The runtime's tracing goroutines and golat's starter: not in the figures above.
    pub tracer_goroutines: Vec<TracerGoroutine>,
    /// GC cycles in order (first 256), with the trigger the GCBegin stack shows.
    pub gc_cycles: Vec<GcCycle>,
    #[serde(default)]
    pub more: More,
    /// GOMAXPROCS changes (first 256), relative to the trace start.
    #[serde(default)]
    pub gomaxprocs_changes: Vec<(i64, u64)>,
    /// runtime/trace user tasks and regions by name, logs by category.
    #[serde(default)]
    pub tasks: Vec<SpanStat>,
    #[serde(default)]
    pub regions: Vec<SpanStat>,
    #[serde(default)]
    pub logs: Vec<NameCount>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fr(func: &str, file: &str) -> StackFrame {
        StackFrame {
            func: func.into(),
            file: file.into(),
            line: 1,
        }
    }

    #[test]
    fn user_frame_skips_runtime_and_std() {
        let s = [
            fr("runtime.gopark", "/go/src/runtime/proc.go"),
            fr("sync.(*Mutex).Lock", "/go/src/sync/mutex.go"),
            fr("golang.org/x/sync/errgroup.(*Group).Wait", "/m/errgroup.go"),
            fr("main.main", "/w/main.go"),
        ];
        assert_eq!(user_frame(&s), Some(2));
        assert_eq!(user_frame(&s[..2]), None);
        // -trimpath: no GOROOT to compare against; the import path rule decides.
        let t = [
            fr("runtime.chanrecv1", "runtime/chan.go"),
            fr("net/http.(*conn).serve", "net/http/server.go"),
            fr("example.com/app/srv.Run", "example.com/app/srv/run.go"),
        ];
        assert_eq!(user_frame(&t), Some(2));
        let m = [
            fr("runtime.gopark", "runtime/proc.go"),
            fr("main.init.0", "x/main.go"),
        ];
        assert_eq!(user_frame(&m), Some(1));
        // golat's starter lives in GOROOT: not user code.
        let g = [
            fr("runtime.gopark", "/go/src/runtime/proc.go"),
            fr(
                "0golat_rtrace.init.0",
                "/go/src/0golat_rtrace/golat_rtrace.go",
            ),
        ];
        assert_eq!(user_frame(&g), None);
    }

    #[test]
    fn durations_and_thresholds_parse() {
        assert_eq!(parse_duration_ns("100us"), Ok(100_000));
        assert_eq!(parse_duration_ns("1.5ms"), Ok(1_500_000));
        assert_eq!(parse_duration_ns("2µs"), Ok(2_000));
        assert_eq!(parse_duration_ns("1s"), Ok(1_000_000_000));
        assert!(
            parse_duration_ns("10")
                .unwrap_err()
                .contains("needs a unit")
        );
        assert!(
            parse_duration_ns("1h")
                .unwrap_err()
                .contains("unknown unit")
        );
        let d = StartupOptions::default().thresholds;
        assert_eq!(
            d,
            [100_000, 1_000_000, 1_000_000, 1_000_000, i64::MAX, 100_000]
        );
        let t = parse_thresholds("sched=1ms, sleep=5ms,stw=off", d).unwrap();
        assert_eq!(
            t,
            [
                1_000_000,
                1_000_000,
                1_000_000,
                1_000_000,
                5_000_000,
                i64::MAX
            ]
        );
        assert!(
            parse_thresholds("cpu=1ms", d)
                .unwrap_err()
                .contains("unknown threshold")
        );
        assert!(
            parse_thresholds("sched", d)
                .unwrap_err()
                .contains("NAME=DURATION")
        );
    }

    #[test]
    fn tracer_goroutines_by_entry() {
        assert_eq!(
            entry_kind("runtime.(*traceAdvancerState).start.func1"),
            TRACER
        );
        assert_eq!(entry_kind("runtime.traceStartReadCPU.func1"), TRACER);
        assert_eq!(entry_kind("runtime/trace.Start.func1"), TRACER);
        assert_eq!(entry_kind("0golat_rtrace.init.0.func2"), GOLAT);
        assert_eq!(entry_kind("golat_rtrace.init.0.func2"), GOLAT);
        assert_eq!(entry_kind("main.main.func1"), PROGRAM);
        assert_eq!(entry_kind("runtime.gcBgMarkWorker"), PROGRAM);
        assert_eq!(entry_kind("runtime/pprof.profileWriter"), PROFILER);
    }

    #[test]
    fn gc_triggers_from_the_begin_stack() {
        assert_eq!(
            gc_trigger(&[("runtime.GC", "", 0), ("main.init", "", 0)]),
            "runtime.GC (forced)"
        );
        assert_eq!(
            gc_trigger(&[
                ("runtime.gcStart", "", 0),
                ("runtime.mallocgcSmallNoscan", "", 0)
            ]),
            "heap goal (an allocation)"
        );
        assert_eq!(gc_trigger(&[]), "unknown (no stack)");
    }

    /// A stretch that straddles the split is cut at it; counts and thresholds go to the
    /// section the stretch began in.
    #[test]
    fn stretches_split_at_the_window_edges() {
        let o = StartupOptions::new(Until::Main, 100, StartupOptions::default().thresholds);
        let mut s = StAcc::default();
        s.set_split(1000, 100);
        s.close(&o, 5, false, 1, PROGRAM, 0, SYNC, 900, 1050, 3, 0);
        s.close(&o, 5, true, 2, PROGRAM, 0, SYNC, 1080, 1200, 3, 0);
        assert_eq!(s.secs[0].time[SYNC as usize], 100);
        assert_eq!(s.secs[1].time[SYNC as usize], 50 + 20);
        assert_eq!((s.secs[0].n[5], s.secs[1].n[5]), (1, 1));
        assert_eq!(s.secs[1].g1[SYNC as usize], 50);
        assert_eq!(s.whole[SYNC as usize], 270);
        // A tracer goroutine's time is apart.
        s.close(&o, 5, false, 3, TRACER, 0, SYNC, 900, 1000, 3, 0);
        assert_eq!(s.whole[SYNC as usize], 270);
        assert_eq!(s.tracer[&3].time[SYNC as usize], 100);
    }
}
