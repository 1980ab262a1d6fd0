//! The stall watchdog: while the command runs, names every traced thread that has sat in
//! one filesystem call (or in uninterruptible sleep) longer than `--stall`, with the path
//! and the filesystem it waits on, so a hung NFS or overlay mount is named while it hangs;
//! and when the call returns, says after how long.
//!
//! It runs on its own thread and reads only /proc (never ptrace: every ptrace request comes
//! from the tracer thread). A thread blocked inside golat's own repetition of a call is
//! reported too: then golat itself waits on that mount. A tracee held at a ptrace stop
//! (state `t`: golat is looking at it, or repeating its call) is not blocked in its call;
//! its own wait starts when it runs the call, so a block after golat's copy is its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::sys;
use super::syscalls::{self, Kind};

/// One stall, as the watchdog saw it.
#[derive(Debug, Clone)]
pub struct Stall {
    pub pid: i32,
    /// The blocked thread; for golat's own copy of a call, golat's thread.
    pub tid: i32,
    /// golat itself was blocked, repeating a traced call.
    pub golat: bool,
    /// `pid 22459 (cat) tid 22459`, or `golat itself (repeating a traced call)`.
    pub who: String,
    /// `openat("/tmp/ff") on / (ext4 /dev/vda)`, uninterruptible noted.
    pub what: String,
    /// When the watchdog first saw the thread in the call, ns since the tracer started.
    pub since_ns: u64,
    /// How long it had been blocked when last seen (at most one tick short of the truth).
    pub blocked_ns: u64,
    /// Seen to return (or to leave the call) before tracing ended.
    pub returned: bool,
}

/// A running watchdog; `stop` ends it and returns what it reported.
pub struct Watchdog {
    /// Dropping or sending on it wakes the watchdog at once, so stopping never waits a tick.
    stop: std::sync::mpsc::Sender<()>,
    reports: Arc<Mutex<Vec<Stall>>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Starts watching; `start` is the tracer's clock, which `Stall::since_ns` counts from.
    pub fn start(stall: Duration, start: Instant) -> Watchdog {
        let (stop, stopped) = std::sync::mpsc::channel();
        let reports = Arc::new(Mutex::new(Vec::new()));
        let tracer_tid = current_tid();
        let handle = {
            let reports = reports.clone();
            std::thread::Builder::new()
                .name("golat-stall".into())
                .spawn(move || watch(stall, start, tracer_tid, &stopped, &reports))
                .ok()
        };
        Watchdog {
            stop,
            reports,
            handle,
        }
    }

    pub fn stop(mut self) -> Vec<Stall> {
        let _ = self.stop.send(());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        std::mem::take(&mut *self.reports.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn current_tid() -> i32 {
    // SAFETY: gettid has no arguments.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// A thread seen inside one call: since when, and its report once it has one.
struct Watched {
    syscall_line: String,
    since: Instant,
    report: Option<usize>,
}

fn watch(
    stall: Duration,
    start: Instant,
    tracer_tid: i32,
    stopped: &std::sync::mpsc::Receiver<()>,
    reports: &Mutex<Vec<Stall>>,
) {
    let me = std::process::id() as i32;
    let mut watched: HashMap<(i32, i32), Watched> = HashMap::new();
    // Read when a first stall is described, not at every start: most runs have none.
    let mut mounts: Option<crate::fsinfo::MountTable> = None;
    // A scan reads /proc for every process on the machine and every traced thread (6% of
    // golat's CPU on a cold build at a 200 ms tick); a tenth of the threshold is late
    // enough.
    let tick = (stall / 10).clamp(Duration::from_millis(20), Duration::from_millis(500));
    let since_start = |t: Instant| t.saturating_duration_since(start).as_nanos() as u64;
    // A reported stall has ended: say after how long (as the watchdog saw it; the report
    // gets the tracer's exact figure).
    let ended = |w: &Watched, now: Instant| {
        let Some(i) = w.report else { return };
        let mut list = reports.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = list.get_mut(i) {
            s.blocked_ns = (now - w.since).as_nanos() as u64;
            s.returned = true;
            eprintln!(
                "golat: stall: {} returned from {} after {:.1} s",
                s.who,
                s.what,
                (now - w.since).as_secs_f64()
            );
        }
    };
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
        let now = Instant::now();
        let mut seen = Vec::new();
        let mut tasks: Vec<(i32, i32)> = vec![(me, tracer_tid)];
        for pid in descendants(me) {
            for tid in task_ids(pid) {
                tasks.push((pid, tid));
            }
        }
        for (pid, tid) in tasks {
            let Some(InSyscall {
                state,
                syscall_line: line,
                arch,
            }) = blocked_in(pid, tid)
            else {
                continue;
            };
            // Held at a ptrace stop: not (yet, or any longer) waiting in its call.
            if state == 't' {
                continue;
            }
            let traced_fs_call = call_of(arch, &line).is_some_and(|s| s.kind != Kind::WriteStderr);
            if !(traced_fs_call || state == 'D') {
                continue;
            }
            seen.push((pid, tid));
            let entry = watched.entry((pid, tid)).or_insert_with(|| Watched {
                syscall_line: line.clone(),
                since: now,
                report: None,
            });
            if entry.syscall_line != line {
                ended(entry, now);
                *entry = Watched {
                    syscall_line: line,
                    since: now,
                    report: None,
                };
                continue;
            }
            let waited = now - entry.since;
            if let Some(i) = entry.report {
                let mut list = reports.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(s) = list.get_mut(i) {
                    s.blocked_ns = waited.as_nanos() as u64;
                }
            } else if waited >= stall {
                let golat = tid == tracer_tid;
                let mounts = mounts
                    .get_or_insert_with(|| crate::fsinfo::MountTable::load().unwrap_or_default());
                let (who, what) = describe(pid, tid, golat, (arch, &line), state, mounts);
                eprintln!(
                    "golat: stall: {who} blocked {:.1} s so far in {what}",
                    waited.as_secs_f64()
                );
                let mut list = reports.lock().unwrap_or_else(|e| e.into_inner());
                entry.report = Some(list.len());
                list.push(Stall {
                    pid,
                    tid,
                    golat,
                    who,
                    what,
                    since_ns: since_start(entry.since),
                    blocked_ns: waited.as_nanos() as u64,
                    returned: false,
                });
            }
        }
        watched.retain(|k, w| {
            let keep = seen.contains(k);
            if !keep {
                ended(w, now);
            }
            keep
        });
    }
}

/// All processes below `root`, from the ppid field of /proc/*/stat.
fn descendants(root: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            if let Some(ppid) = stat_field(&stat, 1).and_then(|f| f.parse().ok()) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        for &c in children.get(&p).into_iter().flatten() {
            out.push(c);
            stack.push(c);
        }
    }
    out
}

/// Field `n` after the command name of a /proc stat line (0 = state, 1 = ppid).
fn stat_field(stat: &str, n: usize) -> Option<&str> {
    stat.rsplit_once(')')?.1.split_whitespace().nth(n)
}

fn task_ids(pid: i32) -> Vec<i32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// A thread inside a system call, from /proc alone.
struct InSyscall {
    state: char,
    syscall_line: String,
    /// The ABI of the call's number: a 32-bit program's stack starts below 4 GiB. (Not from
    /// the program's ELF header: opening /proc/PID/exe opens the file, which on a hung
    /// mount would hang the watcher itself.)
    arch: u32,
}

/// The thread's state letter, /proc syscall line and ABI, when it sits in a syscall.
fn blocked_in(pid: i32, tid: i32) -> Option<InSyscall> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    let state = stat_field(&stat, 0)?.chars().next()?;
    // Field 28, startstack.
    let stack: u64 = stat_field(&stat, 25)?.parse().ok()?;
    let arch = if stack != 0 && stack <= u64::from(u32::MAX) {
        syscalls::AUDIT_ARCH_I386
    } else {
        syscalls::AUDIT_ARCH_X86_64
    };
    let line = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")).ok()?;
    let line = line.trim().to_string();
    // "running", or "-1 sp pc" when not in a syscall.
    if line == "running" || line.starts_with("-1") {
        return None;
    }
    Some(InSyscall {
        state,
        syscall_line: line,
        arch,
    })
}

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

/// The traced call a /proc/TID/syscall line names; its number is in the ABI `arch`
/// (i386 numbers for a GOARCH=386 Go program).
fn call_of(arch: u32, line: &str) -> Option<&'static syscalls::Sys> {
    let nr: u64 = line.split_whitespace().next()?.parse().ok()?;
    syscalls::lookup(arch, nr)
}

/// (who, what): `pid 22459 (cat) tid 22459` and `openat("/tmp/ff") on / (ext4 /dev/vda)`.
fn describe(
    pid: i32,
    tid: i32,
    is_golat: bool,
    (arch, line): (u32, &str),
    state: char,
    mounts: &crate::fsinfo::MountTable,
) -> (String, String) {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    let args: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(parse_hex)
        .collect();
    let sys = call_of(arch, line);
    let name = sys.map_or_else(
        || format!("syscall {}", line.split_whitespace().next().unwrap_or("?")),
        |s| s.name.to_string(),
    );
    let path = sys.and_then(|s| path_of(pid, tid, s.kind, &args));
    let fs = path
        .as_deref()
        .filter(|p| p.starts_with('/'))
        .and_then(|p| mounts.lookup(std::path::Path::new(p)))
        .map(|m| format!(" on {} ({} {})", m.mount_point, m.fs_type, m.source))
        .unwrap_or_default();
    let who = if is_golat {
        "golat itself (repeating a traced call)".to_string()
    } else {
        format!("pid {pid} ({comm}) tid {tid}")
    };
    let uninterruptible = if state == 'D' {
        ", uninterruptible"
    } else {
        ""
    };
    let what = format!(
        "{name}({}){fs}{uninterruptible}",
        path.map(|p| format!("{p:?}")).unwrap_or_default()
    );
    (who, what)
}

/// The path argument of a blocked call: a string in the thread's memory, or an fd's target.
fn path_of(pid: i32, tid: i32, kind: Kind, args: &[u64]) -> Option<String> {
    let at = |i: usize| args.get(i).copied();
    let string_arg = |i: usize| -> Option<String> {
        let raw = sys::read_cstr(tid, at(i)?, 4096).ok()?;
        Some(String::from_utf8_lossy(&raw).into_owned())
    };
    let fd_arg = |i: usize| sys::readlink(&format!("/proc/{pid}/fd/{}", at(i)? as i32)).ok();
    match kind {
        Kind::Open
        | Kind::Creat
        | Kind::Stat { .. }
        | Kind::Readlink
        | Kind::Access
        | Kind::PathOnly
        | Kind::Chdir
        | Kind::Execve
        | Kind::Rename => string_arg(0),
        Kind::OpenAt
        | Kind::OpenAt2
        | Kind::StatAt
        | Kind::Statx
        | Kind::ReadlinkAt
        | Kind::AccessAt { .. }
        | Kind::PathAt
        | Kind::RenameAt
        | Kind::ExecveAt => string_arg(1),
        Kind::Getdents | Kind::Fchdir | Kind::Connect | Kind::WriteStderr => fd_arg(0),
        Kind::SocketCallConnect => {
            let fd = sys::socketcall_args(tid, at(1)?)?[0] as i32;
            sys::readlink(&format!("/proc/{pid}/fd/{fd}")).ok()
        }
    }
}
