//! The stall watchdog: while the command runs, names every traced thread that has sat in
//! one filesystem call (or in uninterruptible sleep) longer than `--stall`, with the path
//! and the filesystem it waits on, so a hung NFS or overlay mount is named while it hangs.
//!
//! It runs on its own thread and reads only /proc (never ptrace: every ptrace request comes
//! from the tracer thread). A thread blocked inside golat's own repetition of a call is
//! reported too: then golat itself waits on that mount.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::sys;
use super::syscalls::{self, Kind};

/// A running watchdog; `stop` ends it and returns what it reported.
pub struct Watchdog {
    /// Dropping or sending on it wakes the watchdog at once, so stopping never waits a tick.
    stop: std::sync::mpsc::Sender<()>,
    reports: Arc<Mutex<Vec<String>>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub fn start(stall: Duration) -> Watchdog {
        let (stop, stopped) = std::sync::mpsc::channel();
        let reports = Arc::new(Mutex::new(Vec::new()));
        let tracer_tid = current_tid();
        let handle = {
            let reports = reports.clone();
            std::thread::Builder::new()
                .name("golat-stall".into())
                .spawn(move || watch(stall, tracer_tid, &stopped, &reports))
                .ok()
        };
        Watchdog {
            stop,
            reports,
            handle,
        }
    }

    pub fn stop(mut self) -> Vec<String> {
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

/// What one thread is doing, as /proc shows it.
#[derive(Clone, PartialEq, Eq)]
struct Blocked {
    /// The raw /proc/TID/syscall line (number and arguments): unchanged means still in
    /// the same call.
    syscall_line: String,
}

fn watch(
    stall: Duration,
    tracer_tid: i32,
    stopped: &std::sync::mpsc::Receiver<()>,
    reports: &Mutex<Vec<String>>,
) {
    let me = std::process::id() as i32;
    let mut since: HashMap<(i32, i32), (Blocked, Instant, bool)> = HashMap::new();
    let mounts = crate::fsinfo::MountTable::load().unwrap_or_default();
    // A scan reads /proc for every process on the machine and every traced thread (6% of
    // golat's CPU on a cold build at a 200 ms tick); a tenth of the threshold is late
    // enough.
    let tick = (stall / 10).clamp(Duration::from_millis(20), Duration::from_millis(500));
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
            let traced_fs_call = call_of(arch, &line).is_some_and(|s| s.kind != Kind::WriteStderr);
            if !(traced_fs_call || state == 'D') {
                continue;
            }
            seen.push((pid, tid));
            let entry = since.entry((pid, tid)).or_insert_with(|| {
                (
                    Blocked {
                        syscall_line: line.clone(),
                    },
                    now,
                    false,
                )
            });
            if entry.0.syscall_line != line {
                *entry = (Blocked { syscall_line: line }, now, false);
                continue;
            }
            let waited = now - entry.1;
            if waited >= stall && !entry.2 {
                entry.2 = true;
                let text = describe(
                    pid,
                    tid,
                    tid == tracer_tid,
                    (arch, &line),
                    state,
                    waited,
                    &mounts,
                );
                eprintln!("golat: stall: {text}");
                reports.lock().unwrap_or_else(|e| e.into_inner()).push(text);
            }
        }
        since.retain(|k, _| seen.contains(k));
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

fn describe(
    pid: i32,
    tid: i32,
    is_golat: bool,
    (arch, line): (u32, &str),
    state: char,
    waited: Duration,
    mounts: &crate::fsinfo::MountTable,
) -> String {
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
    format!(
        "{who} blocked {:.1} s in {name}({}){fs}{uninterruptible}",
        waited.as_secs_f64(),
        path.map(|p| format!("{p:?}")).unwrap_or_default()
    )
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
