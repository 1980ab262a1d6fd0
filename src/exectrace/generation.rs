//! One generation: its batches grouped by thread, string and stack tables, CPU samples and
//! clock data (Go's `generation.go` + `batch.go`). Buffers are reused between generations,
//! so memory is bounded by the largest generation, not by the file. From a regular file,
//! event batches stay in the file: only their place is kept, and a cursor reads a batch
//! when it gets to it (`Generation::load_batch`), so memory is one batch per M.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use super::error::{ErrorKind, TraceError};
use super::fxmap::FxMap;
use super::spec::*;
use super::wire::{Src, VarintErr};

pub const NO_THREAD: u64 = u64::MAX;

/// Zero bytes after a batch loaded for decoding (`Generation::load_batch`): the event
/// decoder reads a whole event's varints (at most 1 + 5×10 bytes) without a bounds check per
/// byte, then checks once that the event ended inside its batch.
pub const DATA_PAD: usize = 64;

/// `BatchRef::start` of a batch whose bytes were left in the file.
pub const IN_FILE: usize = usize::MAX;

/// An ID → value table where ID 0 always exists (Go's `dataTable`).
#[derive(Default)]
pub struct IdTable<T> {
    dense: Vec<Option<T>>,
    /// One bit per dense ID: every event's IDs are checked, and a bitset stays in cache.
    present: Vec<u64>,
    sparse: FxMap<u64, T>,
    len: usize,
}

const DENSE_LIMIT: u64 = 1 << 20;

impl<T> IdTable<T> {
    pub fn clear(&mut self) {
        self.dense.clear();
        self.present.clear();
        self.sparse.clear();
        self.len = 0;
    }
    /// Inserts; an existing ID (including 0) is an error as in Go.
    pub fn insert(&mut self, id: u64, v: T) -> bool {
        if self.contains(id) {
            return false;
        }
        if id < DENSE_LIMIT {
            let i = id as usize;
            if self.dense.len() <= i {
                self.dense.resize_with(i + 1, || None);
            }
            self.dense[i] = Some(v);
            if self.present.len() <= i / 64 {
                self.present.resize(i / 64 + 1, 0);
            }
            self.present[i / 64] |= 1 << (i % 64);
        } else {
            self.sparse.insert(id, v);
        }
        self.len += 1;
        true
    }
    #[inline]
    pub fn contains(&self, id: u64) -> bool {
        if id < DENSE_LIMIT {
            let i = id as usize;
            return id == 0
                || self
                    .present
                    .get(i / 64)
                    .is_some_and(|w| w & (1 << (i % 64)) != 0);
        }
        self.sparse.contains_key(&id)
    }
    #[inline]
    pub fn get(&self, id: u64) -> Option<&T> {
        if id < DENSE_LIMIT {
            self.dense.get(id as usize).and_then(|o| o.as_ref())
        } else {
            self.sparse.get(&id)
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.dense
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i as u64, v)))
            .chain(self.sparse.iter().map(|(k, v)| (*k, v)))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub func: u64,
    pub file: u64,
    pub line: u64,
}

/// How much memory one generation may take, in bytes (`golat trace --max-generation-mb`).
/// A generation is read whole before its first event is ordered (Go's reader does the
/// same), so an endless or damaged stream that never ends its generation would otherwise
/// grow without bound.
pub static MAX_GENERATION_BYTES: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(DEFAULT_MAX_GENERATION_MB << 20);

/// The default of `--max-generation-mb`: far above the generations Go writes (one per
/// second by default, a few MB for a busy server), far below what a machine has.
pub const DEFAULT_MAX_GENERATION_MB: usize = 512;

/// A batch of events from one M; `start..start+len` indexes the generation's data arena,
/// unless `start` is `IN_FILE`.
#[derive(Debug, Clone, Copy)]
pub struct BatchRef {
    pub time: u64,
    pub start: usize,
    pub len: usize,
    /// File offset of the batch's first data byte.
    pub file_off: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    pub time: i64,
    pub m: u64,
    pub p: u64,
    pub g: u64,
    pub stack: u64,
}

#[derive(Default)]
pub struct Generation {
    pub num: u64,
    /// Event batch bytes read from a stream (not a regular file).
    pub data: Vec<u8>,
    /// Where `IN_FILE` batches are read from.
    pub file: Option<Arc<File>>,
    /// Event batches per M, in order of the M's first batch in the file (Go's `batchMs`).
    pub ms: Vec<(u64, Vec<BatchRef>)>,
    m_index: FxMap<u64, usize>,
    pub cpu_samples: Vec<CpuSample>,
    pub min_ts: u64,
    pub freq: f64,
    /// `freq` as an integer when it is one (amd64 ticks are 64 ns), and the largest tick
    /// count below which the integer product equals Go's float product exactly (< 2^53).
    int_freq: u64,
    int_freq_limit: u64,
    has_freq: bool,
    pub has_clock_snapshot: bool,
    pub snap_time: u64,
    pub snap_mono: u64,
    pub snap_wall: (u64, u64),
    pub strings: IdTable<Box<str>>,
    /// Stack ID → range in `stack_pcs`.
    pub stacks: IdTable<(u32, u32)>,
    pub stack_pcs: Vec<u64>,
    pub pcs: FxMap<u64, Frame>,
    pub exp_batches: usize,
    scratch: Vec<u8>,
    /// What this generation's batches take in memory so far (see `charge`), bytes.
    mem_bytes: usize,
}

impl Generation {
    fn reset(&mut self) {
        self.num = 0;
        self.data.clear();
        self.ms.clear();
        self.m_index.clear();
        self.cpu_samples.clear();
        self.min_ts = 0;
        self.freq = 0.0;
        self.int_freq = 0;
        self.int_freq_limit = 0;
        self.has_freq = false;
        self.has_clock_snapshot = false;
        self.snap_time = 0;
        self.snap_mono = 0;
        self.snap_wall = (0, 0);
        self.strings.clear();
        self.stacks.clear();
        self.stack_pcs.clear();
        self.pcs.clear();
        self.exp_batches = 0;
        self.mem_bytes = 0;
    }

    /// Counts what a batch costs in memory and fails once the generation is over the limit.
    /// An event batch read from a stream sits in the arena; one left in the file costs its
    /// reference; a table batch grows the string, stack and frame tables by a few times
    /// its bytes.
    fn charge(&mut self, b: &RawBatch) -> Result<(), TraceError> {
        let bytes = if b.in_scratch {
            4 * b.len
        } else if b.start == IN_FILE {
            0
        } else {
            b.len
        };
        self.mem_bytes += bytes + std::mem::size_of::<BatchRef>();
        let limit = MAX_GENERATION_BYTES.load(std::sync::atomic::Ordering::Relaxed);
        if self.mem_bytes > limit {
            return Err(TraceError::new(
                ErrorKind::TooLarge,
                format!(
                    "generation {} needs more than {} MB of memory (--max-generation-mb): an \
                     endless or damaged stream, or a program that traced far more in one \
                     generation than Go's default period writes; raise the limit to read it",
                    self.num,
                    limit >> 20
                ),
            )
            .at(b.file_off, self.num));
        }
        Ok(())
    }

    #[inline]
    pub fn mul(&self, t: u64) -> i64 {
        // Go computes float64(t) * freq. For an integral freq and t·freq < 2^53 both factors
        // and the product are exact in f64, so the integer product is the same number.
        if t < self.int_freq_limit {
            (t * self.int_freq) as i64
        } else {
            (t as f64 * self.freq) as i64
        }
    }

    /// Puts batch `b`'s bytes into `buf`, followed by `DATA_PAD` zero bytes.
    pub fn load_batch(&self, b: &BatchRef, buf: &mut Vec<u8>) -> Result<(), TraceError> {
        let need = b.len + DATA_PAD;
        if buf.len() < need {
            buf.resize(need, 0);
        } else {
            buf.truncate(need);
        }
        buf[b.len..].fill(0);
        let bytes = &mut buf[..b.len];
        if b.start != IN_FILE {
            bytes.copy_from_slice(&self.data[b.start..b.start + b.len]);
            return Ok(());
        }
        let Some(file) = &self.file else {
            return Err(TraceError::new(
                ErrorKind::Io,
                "internal error: a batch left in the file, but no file",
            )
            .at(b.file_off, self.num));
        };
        file.read_exact_at(bytes, b.file_off).map_err(|e| {
            let (off, gn) = (b.file_off, self.num);
            let msg = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                format!(
                    "the trace file changed while golat read it: the batch at byte {off} \
                     (generation {gn}) is now cut short"
                )
            } else {
                format!("reading the batch at byte {off} (generation {gn}): {e}")
            };
            TraceError::new(ErrorKind::Io, msg).at(off, gn)
        })
    }

    pub fn string(&self, id: u64) -> &str {
        if id == 0 {
            return "";
        }
        self.strings.get(id).map(|s| &**s).unwrap_or("")
    }

    pub fn stack_pcs(&self, id: u64) -> &[u64] {
        match self.stacks.get(id) {
            Some(&(s, n)) if id != 0 => &self.stack_pcs[s as usize..(s + n) as usize],
            _ => &[],
        }
    }

    pub fn frame(&self, pc: u64) -> Option<(&str, &str, u64)> {
        self.pcs
            .get(&pc)
            .map(|f| (self.string(f.func), self.string(f.file), f.line))
    }
}

/// The generation for writing. The two-thread reader shares it while the background thread
/// merges, and nobody writes then; a reference found shared anyway is replaced by a new one.
pub fn unshared(g: &mut std::sync::Arc<Generation>) -> &mut Generation {
    if std::sync::Arc::get_mut(g).is_none() {
        *g = std::sync::Arc::default();
    }
    std::sync::Arc::get_mut(g).expect("a new Arc has one reference")
}

/// A raw batch header as read from the file.
struct RawBatch {
    exp: u8,
    m: u64,
    time: u64,
    /// Range in `scratch` (table batches) or in the data arena (event batches).
    start: usize,
    len: usize,
    file_off: u64,
    eog: bool,
    /// Table and experimental batches sit in `scratch`; event batches in the arena.
    in_scratch: bool,
}

/// Outcome of reading one batch: its generation number or end of input.
enum ReadBatch {
    Eof,
    Batch(RawBatch, u64),
}

fn verr(what: &str, e: VarintErr, off: u64) -> TraceError {
    let kind = match e {
        VarintErr::UnexpectedEof | VarintErr::Eof => ErrorKind::Truncated,
        VarintErr::Io(_) => ErrorKind::Io,
        VarintErr::Overflow => ErrorKind::Corrupt,
    };
    let mut err = TraceError::new(kind, format!("error reading batch {what}: {e}"));
    err.offset = Some(off);
    err
}

/// Whether a batch is read whole while scanning its generation (tables, clock data, and
/// experimental batches), by its experiment number and first data byte.
fn is_table(exp: u8, first: Option<u8>) -> bool {
    exp != 0
        || matches!(
            first,
            Some(EV_STRINGS | EV_STACKS | EV_CPU_SAMPLES | EV_FREQUENCY | EV_SYNC)
        )
}

/// Reads the next batch; event batch data goes straight into `arena` (or, when `in_file`,
/// is skipped and left in the file), others into `scratch`.
fn read_batch<R: Read>(
    src: &mut Src<R>,
    arena: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    in_file: bool,
) -> Result<ReadBatch, TraceError> {
    let off = src.offset();
    let b = match src.read_byte() {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(ReadBatch::Eof),
        Err(e) => return Err(TraceError::new(ErrorKind::Io, e.to_string()).at(off, 0)),
    };
    if b == EV_END_OF_GENERATION {
        let rb = RawBatch {
            exp: 0,
            m: NO_THREAD,
            time: 0,
            start: 0,
            len: 0,
            file_off: off,
            eog: true,
            in_scratch: false,
        };
        return Ok(ReadBatch::Batch(rb, 0));
    }
    if b != EV_EVENT_BATCH && b != EV_EXPERIMENTAL_BATCH {
        return Err(TraceError::corrupt(format!("expected batch event, got event {b}")).at(off, 0));
    }
    let mut exp = 0;
    if b == EV_EXPERIMENTAL_BATCH {
        exp = match src.read_byte() {
            Ok(Some(e)) => e,
            Ok(None) => {
                return Err(TraceError::new(ErrorKind::Truncated, "unexpected EOF").at(off, 0));
            }
            Err(e) => return Err(TraceError::new(ErrorKind::Io, e.to_string()).at(off, 0)),
        };
    }
    let gn = src.read_uvarint().map_err(|e| verr("gen", e, off))?;
    let m = src
        .read_uvarint()
        .map_err(|e| verr("M ID", e, off).at(off, gn))?;
    let time = src
        .read_uvarint()
        .map_err(|e| verr("timestamp", e, off).at(off, gn))?;
    let size = src
        .read_uvarint()
        .map_err(|e| verr("size", e, off).at(off, gn))?;
    if size > MAX_BATCH_SIZE {
        return Err(TraceError::corrupt(format!(
            "invalid batch size {size}, maximum is {MAX_BATCH_SIZE}"
        ))
        .at(off, gn));
    }
    let file_off = src.offset();
    let io_err = |e: std::io::Error| TraceError::new(ErrorKind::Io, e.to_string()).at(file_off, gn);
    let short = |n: usize| {
        TraceError::new(
            ErrorKind::Truncated,
            format!("failed to read full batch: read {n} but wanted {size}"),
        )
        .at(file_off, gn)
    };
    let batch = |start, len, in_scratch| {
        let rb = RawBatch {
            exp,
            m,
            time,
            start,
            len,
            file_off,
            eog: false,
            in_scratch,
        };
        Ok(ReadBatch::Batch(rb, gn))
    };
    if in_file {
        // The first data byte says whether this is a table, which is read now, or events,
        // which stay in the file.
        let first = if size == 0 {
            None
        } else {
            src.peek_byte().map_err(io_err)?
        };
        let is_table = is_table(exp, first);
        let (start, n) = if is_table {
            scratch.clear();
            (0, src.read_into(scratch, size as usize).map_err(io_err)?)
        } else {
            (IN_FILE, src.skip(size as usize).map_err(io_err)?)
        };
        if n != size as usize {
            return Err(short(n));
        }
        return batch(start, n, is_table);
    }
    // Event batches (not tables, not experimental) go to the arena; the first data byte
    // decides, so peek by reading into scratch first when it is small is not possible:
    // read into the arena and move table batches out afterwards.
    let start = arena.len();
    let n = src.read_into(arena, size as usize).map_err(io_err)?;
    if n != size as usize {
        arena.truncate(start);
        return Err(short(n));
    }
    let first = arena.get(start).copied();
    if is_table(exp, first) {
        scratch.clear();
        scratch.extend_from_slice(&arena[start..]);
        arena.truncate(start);
        return batch(0, scratch.len(), true);
    }
    batch(start, n, false)
}

/// Reads the generation's structural parts; `Ok(false)` means clean end of input.
pub struct GenReader {
    pub ver: u32,
    /// The trace file, when event batches are left in it.
    file: Option<Arc<File>>,
    /// The first batch of the next generation (traces before Go 1.26 have no end marker).
    spill: Option<(u64, RawBatch, Vec<u8>)>,
}

pub enum GenOutcome {
    /// A complete generation is in `g`.
    Gen,
    /// A generation is in `g`, and reading the next one already failed (pre-1.26 spill).
    GenThenErr(TraceError),
    Done,
}

impl GenReader {
    pub fn new(ver: u32) -> Self {
        GenReader {
            ver,
            file: None,
            spill: None,
        }
    }

    /// A reader that leaves event batches in `file` (the regular file being read, from its
    /// first byte) and records only where they are.
    pub fn in_file(ver: u32, file: Arc<File>) -> Self {
        GenReader {
            ver,
            file: Some(file),
            spill: None,
        }
    }

    pub fn has_spill(&self) -> bool {
        self.spill.is_some()
    }

    pub fn read<R: Read>(
        &mut self,
        src: &mut Src<R>,
        g: &mut Generation,
    ) -> Result<GenOutcome, TraceError> {
        g.reset();
        g.file = self.file.clone();
        if self.ver >= 26 {
            self.read_126(src, g)
        } else {
            self.read_spill(src, g)
        }
    }

    fn read_126<R: Read>(
        &mut self,
        src: &mut Src<R>,
        g: &mut Generation,
    ) -> Result<GenOutcome, TraceError> {
        let in_file = self.file.is_some();
        let mut scratch = std::mem::take(&mut g.scratch);
        let res = (|| {
            loop {
                let (b, gn) = match read_batch(src, &mut g.data, &mut scratch, in_file)? {
                    ReadBatch::Eof => {
                        if !g.ms.is_empty() {
                            return Err(TraceError::new(
                                ErrorKind::Truncated,
                                "incomplete generation found; trace likely truncated",
                            )
                            .at(src.offset(), g.num));
                        }
                        return Ok(GenOutcome::Done);
                    }
                    ReadBatch::Batch(b, gn) => (b, gn),
                };
                if g.num == 0 {
                    g.num = gn;
                }
                if b.eog {
                    break;
                }
                if gn == 0 {
                    return Err(
                        TraceError::corrupt(format!("invalid generation number {gn}"))
                            .at(b.file_off, 0),
                    );
                }
                if gn != g.num {
                    return Err(TraceError::corrupt(
                        "broken trace: missing end-of-generation event, or generations are interleaved",
                    )
                    .at(b.file_off, gn));
                }
                if g.min_ts == 0 || b.time < g.min_ts {
                    g.min_ts = b.time;
                }
                process_batch(g, &b, &scratch, self.ver).map_err(|e| e.at(b.file_off, gn))?;
                g.charge(&b)?;
            }
            finish(g, self.ver).map_err(|e| e.at(src.offset(), g.num))?;
            Ok(GenOutcome::Gen)
        })();
        g.scratch = scratch;
        res
    }

    fn read_spill<R: Read>(
        &mut self,
        src: &mut Src<R>,
        g: &mut Generation,
    ) -> Result<GenOutcome, TraceError> {
        let in_file = self.file.is_some();
        let mut scratch = std::mem::take(&mut g.scratch);
        let res = (|| {
            if let Some((gn, mut b, bytes)) = self.spill.take() {
                g.num = gn;
                g.min_ts = b.time;
                if b.in_scratch {
                    scratch.clear();
                    scratch.extend_from_slice(&bytes);
                } else if b.start != IN_FILE {
                    b.start = g.data.len();
                    g.data.extend_from_slice(&bytes);
                }
                process_batch(g, &b, &scratch, self.ver).map_err(|e| e.at(b.file_off, gn))?;
                g.charge(&b)?;
            }
            let mut spill_err = None;
            loop {
                let (b, gn) = match read_batch(src, &mut g.data, &mut scratch, in_file) {
                    Ok(ReadBatch::Eof) => break,
                    Ok(ReadBatch::Batch(b, gn)) => (b, gn),
                    Err(e) => {
                        if g.num != 0 {
                            spill_err = Some(e);
                            break;
                        }
                        return Err(e);
                    }
                };
                if b.eog {
                    // Not a valid batch before Go 1.26; processBatch rejects it.
                    return Err(TraceError::corrupt(
                        "internal error: unexpectedly processing EndOfGeneration; broken trace?",
                    )
                    .at(b.file_off, g.num));
                }
                if gn == 0 {
                    return Err(
                        TraceError::corrupt(format!("invalid generation number {gn}"))
                            .at(b.file_off, 0),
                    );
                }
                if g.num == 0 {
                    g.num = gn;
                }
                if gn == g.num.wrapping_add(1) {
                    // Keep the batch bytes for the next generation.
                    let bytes = if b.in_scratch {
                        scratch.clone()
                    } else if b.start == IN_FILE {
                        Vec::new()
                    } else {
                        let v = g.data[b.start..b.start + b.len].to_vec();
                        g.data.truncate(b.start);
                        v
                    };
                    self.spill = Some((gn, b, bytes));
                    break;
                }
                if gn != g.num {
                    return Err(TraceError::corrupt("generations out of order").at(b.file_off, gn));
                }
                if g.min_ts == 0 || b.time < g.min_ts {
                    g.min_ts = b.time;
                }
                process_batch(g, &b, &scratch, self.ver).map_err(|e| e.at(b.file_off, gn))?;
                g.charge(&b)?;
            }
            if let Err(e) = finish(g, self.ver) {
                // A generation cut short fails its checks (its tables come last): the cut is
                // the cause worth reporting, as a truncation.
                return Err(match spill_err {
                    Some(t) if t.is_truncation() => t,
                    _ => e.at(src.offset(), g.num),
                });
            }
            Ok(match spill_err {
                Some(e) => GenOutcome::GenThenErr(e),
                None => GenOutcome::Gen,
            })
        })();
        g.scratch = scratch;
        res
    }
}

/// Go's invariant checks after all batches of a generation are in.
fn finish(g: &mut Generation, ver: u32) -> Result<(), TraceError> {
    if !g.has_freq {
        return Err(TraceError::corrupt("no frequency event found"));
    }
    if ver >= 25 && !g.has_clock_snapshot {
        return Err(TraceError::corrupt("no clock snapshot event found"));
    }
    for (id, &(s, n)) in g.stacks.iter() {
        for pc in &g.stack_pcs[s as usize..(s + n) as usize] {
            let Some(f) = g.pcs.get(pc) else {
                return Err(TraceError::corrupt(format!(
                    "found unknown pc {pc:x} for stack {id}"
                )));
            };
            if !g.strings.contains(f.func) {
                return Err(TraceError::corrupt(format!(
                    "found invalid func string ID {} for stack {id}",
                    f.func
                )));
            }
            if !g.strings.contains(f.file) {
                return Err(TraceError::corrupt(format!(
                    "found invalid file string ID {} for stack {id}",
                    f.file
                )));
            }
        }
    }
    let freq = g.freq;
    if freq >= 1.0 && freq <= (1u64 << 20) as f64 && freq.fract() == 0.0 {
        g.int_freq = freq as u64;
        g.int_freq_limit = (1u64 << 53) / g.int_freq;
    }
    for s in &mut g.cpu_samples {
        s.time = (s.time as u64 as f64 * freq) as i64;
    }
    g.cpu_samples.sort_by_key(|s| s.time);
    Ok(())
}

/// A cursor over a table batch's bytes with Go-compatible error texts.
struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cur<'_> {
    fn byte(&mut self) -> Result<u8, TraceError> {
        let v = *self
            .b
            .get(self.pos)
            .ok_or_else(|| TraceError::corrupt("EOF"))?;
        self.pos += 1;
        Ok(v)
    }
    fn uv(&mut self) -> Result<u64, TraceError> {
        match super::wire::uvarint(&self.b[self.pos..]) {
            Some((v, n)) => {
                self.pos += n;
                Ok(v)
            }
            None => {
                // Go's ReadUvarint: EOF inside = unexpected EOF, else overflow.
                let rest = &self.b[self.pos..];
                if rest.is_empty() {
                    Err(TraceError::corrupt("EOF"))
                } else if rest.iter().take(10).all(|&b| b >= 0x80) && rest.len() < 10 {
                    Err(TraceError::corrupt("unexpected EOF"))
                } else {
                    Err(TraceError::corrupt(
                        "binary: varint overflows a 64-bit integer",
                    ))
                }
            }
        }
    }
    fn done(&self) -> bool {
        self.pos >= self.b.len()
    }
}

fn process_batch(
    g: &mut Generation,
    b: &RawBatch,
    scratch: &[u8],
    ver: u32,
) -> Result<(), TraceError> {
    if b.exp != 0 {
        g.exp_batches += 1;
        return Ok(());
    }
    let table = scratch;
    let first = if b.in_scratch {
        table.first().copied()
    } else {
        None
    };
    match first {
        Some(EV_STRINGS) => add_strings(g, table),
        Some(EV_STACKS) => add_stacks(g, table),
        Some(EV_CPU_SAMPLES) => add_cpu_samples(g, table),
        Some(EV_FREQUENCY) if ver < 25 => set_sync(g, table, b.time, ver),
        Some(EV_SYNC) if ver >= 25 => set_sync(g, table, b.time, ver),
        _ => {
            // An event batch, whose bytes were left in the arena. Table-looking batches of
            // the wrong version land here too, as in Go, and fail when decoded.
            let (start, len) = if first.is_some() {
                let s = g.data.len();
                g.data.extend_from_slice(table);
                (s, table.len())
            } else {
                (b.start, b.len)
            };
            let br = BatchRef {
                time: b.time,
                start,
                len,
                file_off: b.file_off,
            };
            match g.m_index.get(&b.m) {
                Some(&i) => g.ms[i].1.push(br),
                None => {
                    g.m_index.insert(b.m, g.ms.len());
                    g.ms.push((b.m, vec![br]));
                }
            }
            Ok(())
        }
    }
}

fn add_strings(g: &mut Generation, data: &[u8]) -> Result<(), TraceError> {
    let mut c = Cur { b: data, pos: 1 };
    while !c.done() {
        let ev = c.byte()?;
        if ev != EV_STRING {
            return Err(TraceError::corrupt(format!(
                "expected string event, got {ev}"
            )));
        }
        let id = c.uv()?;
        let len = c.uv()?;
        if len > MAX_STRING_SIZE {
            return Err(TraceError::corrupt(format!(
                "invalid string size {len}, maximum is {MAX_STRING_SIZE}"
            )));
        }
        let avail = data.len() - c.pos;
        if (len as usize) > avail {
            return Err(TraceError::corrupt(format!(
                "failed to read full string: read {avail} but wanted {len}"
            )));
        }
        let bytes = &data[c.pos..c.pos + len as usize];
        c.pos += len as usize;
        let s: Box<str> = String::from_utf8_lossy(bytes).into();
        if !g.strings.insert(id, s) {
            return Err(TraceError::corrupt(format!(
                "multiple strings with the same ID: id={id}"
            )));
        }
    }
    Ok(())
}

fn add_stacks(g: &mut Generation, data: &[u8]) -> Result<(), TraceError> {
    let mut c = Cur { b: data, pos: 1 };
    while !c.done() {
        let ev = c.byte()?;
        if ev != EV_STACK {
            return Err(TraceError::corrupt(format!(
                "expected stack event, got {ev}"
            )));
        }
        let id = c.uv()?;
        let n = c.uv()?;
        if n > MAX_FRAMES_PER_STACK {
            return Err(TraceError::corrupt(format!(
                "invalid stack size {n}, maximum is {MAX_FRAMES_PER_STACK}"
            )));
        }
        let start = g.stack_pcs.len();
        for i in 0..n {
            let ctx = |what: &str, e: TraceError| {
                TraceError::corrupt(format!(
                    "reading frame {}'s {what} for stack {id}: {}",
                    i + 1,
                    e.msg
                ))
            };
            let pc = c.uv().map_err(|e| ctx("PC", e))?;
            let func = c.uv().map_err(|e| ctx("funcID", e))?;
            let file = c.uv().map_err(|e| ctx("fileID", e))?;
            let line = c.uv().map_err(|e| ctx("line", e))?;
            g.stack_pcs.push(pc);
            g.pcs.entry(pc).or_insert(Frame { func, file, line });
        }
        if !g.stacks.insert(id, (start as u32, n as u32)) {
            g.stack_pcs.truncate(start);
            return Err(TraceError::corrupt(format!(
                "multiple stacks with the same ID: id={id}"
            )));
        }
    }
    Ok(())
}

fn add_cpu_samples(g: &mut Generation, data: &[u8]) -> Result<(), TraceError> {
    let mut c = Cur { b: data, pos: 1 };
    while !c.done() {
        let ev = c.byte()?;
        if ev != EV_CPU_SAMPLE {
            return Err(TraceError::corrupt(format!(
                "expected CPU sample event, got {ev}"
            )));
        }
        let ts = c.uv()?;
        let m = c.uv()?;
        let p = c.uv()?;
        let gid = c.uv()?;
        let stack = c.uv()?;
        let gid = if gid == 0 { u64::MAX } else { gid };
        g.cpu_samples.push(CpuSample {
            time: ts as i64,
            m,
            p,
            g: gid,
            stack,
        });
    }
    Ok(())
}

fn set_sync(g: &mut Generation, data: &[u8], batch_time: u64, ver: u32) -> Result<(), TraceError> {
    let mut c = Cur {
        b: data,
        pos: if ver >= 25 { 1 } else { 0 },
    };
    let mut last = batch_time;
    while !c.done() {
        let ev = c.byte()?;
        match ev {
            EV_FREQUENCY => {
                if g.has_freq {
                    return Err(TraceError::corrupt("found multiple frequency events"));
                }
                let f = c.uv()?;
                g.freq = 1.0 / (f as f64 / 1e9);
                g.has_freq = g.freq != 0.0;
            }
            EV_CLOCK_SNAPSHOT if ver >= 25 => {
                if g.has_clock_snapshot {
                    return Err(TraceError::corrupt("found multiple clock snapshot events"));
                }
                g.has_clock_snapshot = true;
                let dt = c.uv()?;
                last = last.wrapping_add(dt);
                g.snap_time = last;
                g.snap_mono = c.uv()?;
                let sec = c.uv()?;
                let nsec = c.uv()?;
                g.snap_wall = (sec, nsec);
            }
            _ => {
                return Err(TraceError::corrupt(format!(
                    "expected frequency or clock snapshot event, got {ev}"
                )));
            }
        }
    }
    Ok(())
}
