//! Touches the filesystem for one PATH entry (stat, search permission, lookup latency, listing,
//! ancestors) on worker threads under a deadline, so an entry on a dead mount becomes an
//! `unresponsive` row instead of a hung audit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Missing-name stats per entry; the median of these is the entry's lookup latency.
pub const LATENCY_PROBES: usize = 5;

/// What stat said about the entry's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    Missing,
    NotDirectory,
    /// stat failed for another reason (EACCES on a parent, ELOOP, ...): the text of the error
    Error(String),
}

/// An executable regular file found in an entry.
#[derive(Debug, Clone)]
pub struct Exe {
    /// Where a symlink points (as stored in the link), for `gcc -> gcc-12`-style display.
    pub link_target: Option<String>,
    pub size: u64,
}

/// Everything learned about one entry. Fields after `kind` are empty unless `kind == Dir`.
#[derive(Debug, Clone)]
pub struct Scan {
    pub kind: Kind,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub dev: u64,
    pub ino: u64,
    pub canonical: Option<PathBuf>,
    pub searchable: bool,
    /// Median and max of the missing-name stats, in microseconds.
    pub lookup_us: Option<(f64, f64)>,
    /// By file name, as bytes (a name need not be UTF-8).
    pub exes: BTreeMap<std::ffi::OsString, Exe>,
    /// The nearest ancestor others can write to without the sticky bit, with its mode.
    pub writable_ancestor: Option<(PathBuf, u32)>,
    /// True when another entry listed this same directory and `exes` must be copied from it.
    pub listing_copied: bool,
}

impl Scan {
    fn new(kind: Kind) -> Scan {
        Scan {
            kind,
            uid: 0,
            gid: 0,
            mode: 0,
            dev: 0,
            ino: 0,
            canonical: None,
            searchable: false,
            lookup_us: None,
            exes: BTreeMap::new(),
            writable_ancestor: None,
            listing_copied: false,
        }
    }
}

/// Result of scanning one entry within the deadlines.
#[derive(Debug, Clone)]
pub enum Outcome {
    Done(Box<Scan>),
    /// The first stat of the directory did not return within the timeout.
    Unresponsive,
}

enum Msg {
    /// The worker is about to stat the directory (it got a CPU; the clock starts now).
    Started(usize),
    /// The directory's stat returned (phase 1 finished).
    Stated(usize),
    Finished(usize, Box<Scan>),
}

/// Per-entry progress as the collecting thread saw it.
#[derive(Clone, Copy)]
enum Progress {
    Waiting,
    Started(Instant),
    Stated(Instant),
    Finished,
    /// Gave up on it: unresponsive.
    Abandoned,
}

/// Scans every directory in `dirs` in parallel, then measures each one's lookup latency in
/// turn. An entry is `Unresponsive` when its first stat takes longer than `timeout` from the
/// moment its worker started it, or its latency probes do; a directory that answered its stat
/// gets `max(4 x timeout, 5 s)` for listing. Clocks start when a worker actually runs, so a
/// starved CPU (2 busy cores) does not turn slow scheduling into a false `unresponsive`.
/// Worker threads stuck in the kernel are left behind, never joined.
pub fn scan_all(dirs: &[PathBuf], timeout: Duration) -> Vec<Outcome> {
    let (tx, rx) = mpsc::channel();
    // The first worker to reach a directory lists it; aliases of it (duplicates, symlinks)
    // copy that listing instead of stat-ing a thousand files again.
    let claimed: Arc<Mutex<HashSet<(u64, u64)>>> = Arc::default();
    let start = Instant::now();
    let mut progress = vec![Progress::Abandoned; dirs.len()];
    for (i, dir) in dirs.iter().enumerate() {
        let tx = tx.clone();
        let dir = dir.clone();
        let claimed = Arc::clone(&claimed);
        let spawned = std::thread::Builder::new()
            .name(format!("golat-path-{i}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                let _ = tx.send(Msg::Started(i));
                let scan = scan_one(&dir, &claimed, || {
                    let _ = tx.send(Msg::Stated(i));
                });
                let _ = tx.send(Msg::Finished(i, Box::new(scan)));
            });
        if spawned.is_ok() {
            progress[i] = Progress::Waiting;
        }
    }
    drop(tx);
    let listing_time = (timeout * 4).max(Duration::from_secs(5));
    // A thread that never gets to run at all is given this long before it is abandoned.
    let never_ran = start + (timeout * 10).max(Duration::from_secs(5));
    let mut done: Vec<Option<Box<Scan>>> = vec![None; dirs.len()];
    loop {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        for p in progress.iter_mut() {
            let deadline = match *p {
                Progress::Waiting => never_ran,
                Progress::Started(t) => t + timeout,
                Progress::Stated(t) => t + listing_time,
                Progress::Finished | Progress::Abandoned => continue,
            };
            if now >= deadline {
                *p = Progress::Abandoned;
            } else {
                next = Some(next.map_or(deadline, |n: Instant| n.min(deadline)));
            }
        }
        let Some(next) = next else { break };
        match rx.recv_timeout(next.saturating_duration_since(now)) {
            Ok(Msg::Started(i)) => {
                if let Progress::Waiting = progress[i] {
                    progress[i] = Progress::Started(Instant::now());
                }
            }
            Ok(Msg::Stated(i)) => {
                if let Progress::Started(_) = progress[i] {
                    progress[i] = Progress::Stated(Instant::now());
                }
            }
            Ok(Msg::Finished(i, scan)) => {
                if let Progress::Stated(_) = progress[i] {
                    progress[i] = Progress::Finished;
                    done[i] = Some(scan);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // Fill in listings skipped because another entry is the same directory.
    let listings: HashMap<(u64, u64), BTreeMap<std::ffi::OsString, Exe>> = done
        .iter()
        .flatten()
        .filter(|s| s.kind == Kind::Dir && s.searchable && !s.listing_copied)
        .map(|s| ((s.dev, s.ino), s.exes.clone()))
        .collect();
    for s in done.iter_mut().flatten() {
        if s.listing_copied
            && let Some(l) = listings.get(&(s.dev, s.ino))
        {
            s.exes = l.clone();
        }
    }
    // Latency is measured afterwards, one entry at a time: probes racing the parallel
    // listings above (or each other on 2 cores) measured lock contention, not lookups.
    // Missing entries and files are measured too: their failed stat is their cost.
    let todo: Vec<(usize, PathBuf)> = (0..dirs.len())
        .filter(|&i| done[i].is_some())
        .map(|i| (i, dirs[i].clone()))
        .collect();
    for (i, lat) in measure_all(todo, timeout) {
        match (lat, done[i].as_mut()) {
            (Some(l), Some(s)) => s.lookup_us = Some(l),
            _ => done[i] = None,
        }
    }
    done.into_iter()
        .map(|d| match d {
            Some(s) => Outcome::Done(s),
            None => Outcome::Unresponsive,
        })
        .collect()
}

/// Measures entries one after another on a single worker thread; an entry whose probes do
/// not finish within `timeout` of the worker starting them gets `None`, and a fresh worker
/// carries on with the rest (the stuck one is left behind).
fn measure_all(
    mut todo: Vec<(usize, PathBuf)>,
    timeout: Duration,
) -> Vec<(usize, Option<(f64, f64)>)> {
    let mut out = Vec::with_capacity(todo.len());
    todo.reverse(); // pop from the front in PATH order
    while !todo.is_empty() {
        let batch: Vec<(usize, PathBuf)> = todo.iter().rev().cloned().collect();
        let (tx, rx) = mpsc::channel::<(usize, Option<(f64, f64)>)>();
        let spawned = std::thread::Builder::new()
            .name("golat-path-latency".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                for (i, dir) in batch {
                    // `None` before each probe: the deadline is per probe, so an entry whose
                    // every stat takes 300 ms is slow, not unresponsive.
                    let l = measure_lookup(&dir, || {
                        let _ = tx.send((i, None));
                    });
                    let _ = tx.send((i, Some(l)));
                }
            });
        if spawned.is_err() {
            out.extend(todo.drain(..).map(|(i, _)| (i, None)));
            break;
        }
        let mut current: Option<usize> = None;
        loop {
            // Before the worker has announced anything, allow it time to be scheduled.
            let wait = if current.is_some() {
                timeout
            } else {
                timeout.max(Duration::from_secs(5))
            };
            match rx.recv_timeout(wait) {
                Ok((i, None)) => current = Some(i),
                Ok((i, Some(l))) => {
                    out.push((i, Some(l)));
                    todo.pop();
                    current = None;
                }
                Err(_) => {
                    // The entry being probed is stuck (or the worker never ran): give up on
                    // it and restart with the rest.
                    if let Some((i, _)) = todo.pop() {
                        out.push((i, None));
                    }
                    break;
                }
            }
            if todo.is_empty() {
                break;
            }
        }
    }
    out
}

fn scan_one(dir: &Path, claimed: &Mutex<HashSet<(u64, u64)>>, stated: impl FnOnce()) -> Scan {
    let meta = std::fs::metadata(dir);
    stated();
    let mut s = match meta {
        Ok(m) => {
            let mut s = Scan::new(if m.is_dir() {
                Kind::Dir
            } else {
                Kind::NotDirectory
            });
            s.uid = m.uid();
            s.gid = m.gid();
            s.mode = m.permissions().mode() & 0o7777;
            s.dev = m.dev();
            s.ino = m.ino();
            s
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Scan::new(Kind::Missing),
        // A component of the path is a file.
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Scan::new(Kind::NotDirectory),
        Err(e) => Scan::new(Kind::Error(e.to_string())),
    };
    if s.kind != Kind::Dir {
        return s;
    }
    s.canonical = std::fs::canonicalize(dir).ok();
    s.searchable = eaccess(dir, nix::unistd::AccessFlags::X_OK);
    let first = claimed
        .lock()
        .map(|mut c| c.insert((s.dev, s.ino)))
        .unwrap_or(true);
    if s.searchable && first {
        list_executables(dir, &mut s.exes);
    } else if s.searchable {
        s.listing_copied = true;
    }
    s.writable_ancestor = writable_ancestor(s.canonical.as_deref().unwrap_or(dir));
    s
}

/// faccessat(AT_EACCESS): what the effective uid may do, as Go's LookPath asks it.
fn eaccess(path: &Path, mode: nix::unistd::AccessFlags) -> bool {
    nix::unistd::faccessat(
        nix::fcntl::AT_FDCWD,
        path,
        mode,
        nix::fcntl::AtFlags::AT_EACCESS,
    )
    .is_ok()
}

/// A first probe slower than this is not repeated: one 300 ms stat says enough, and five
/// would make the audit wait 1.5 s.
const SLOW_PROBE: Duration = Duration::from_millis(20);

/// Times stats of names that cannot exist in `dir` (fresh each time, so no negative dentry
/// cache helps): what a PATH miss costs there. Median and max in microseconds. `starting` is
/// called before each probe.
fn measure_lookup(dir: &Path, mut starting: impl FnMut()) -> (f64, f64) {
    let pid = std::process::id();
    let mut times: Vec<f64> = Vec::with_capacity(LATENCY_PROBES);
    for i in 0..LATENCY_PROBES {
        starting();
        let p = dir.join(format!(".golat-probe-{pid}-{i}"));
        let t = Instant::now();
        let _ = std::fs::metadata(&p);
        let took = t.elapsed();
        times.push(took.as_secs_f64() * 1e6);
        if i == 0 && took > SLOW_PROBE {
            break;
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    (times[times.len() / 2], times[times.len() - 1])
}

/// Regular files (after following symlinks) with any execute bit, as Go's findExecutable
/// would accept them (it uses eaccess, which mode bits approximate without a syscall each).
fn list_executables(dir: &Path, out: &mut BTreeMap<std::ffi::OsString, Exe>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for ent in rd.flatten() {
        let ft = match ent.file_type() {
            Ok(ft) => ft,
            Err(_) => continue,
        };
        if ft.is_dir() {
            continue;
        }
        let path = ent.path();
        // DirEntry::metadata is an fstatat on the open directory (no path walk); only
        // symlinks need the full, following stat.
        let m = if ft.is_symlink() {
            std::fs::metadata(&path)
        } else {
            ent.metadata()
        };
        let Ok(m) = m else {
            continue; // dangling symlink, or removed while listing
        };
        if !m.is_file() || m.permissions().mode() & 0o111 == 0 {
            continue;
        }
        let link_target = if ft.is_symlink() {
            std::fs::read_link(&path)
                .ok()
                .map(|t| t.to_string_lossy().into_owned())
        } else {
            None
        };
        out.insert(
            ent.file_name(),
            Exe {
                link_target,
                size: m.len(),
            },
        );
    }
}

/// The nearest proper ancestor of `dir` that others can write to and that lacks the sticky
/// bit: whoever can write there can rename `dir` away and put their own in its place.
fn writable_ancestor(dir: &Path) -> Option<(PathBuf, u32)> {
    let mut cur = dir.parent();
    while let Some(p) = cur {
        if let Ok(m) = std::fs::metadata(p) {
            let mode = m.permissions().mode() & 0o7777;
            if mode & 0o002 != 0 && mode & 0o1000 == 0 {
                return Some((p.to_path_buf(), mode));
            }
        }
        cur = p.parent();
    }
    None
}
