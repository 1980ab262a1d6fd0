//! The ptrace engine: spawns the command under a seccomp-bpf filter, follows every
//! process and thread it starts, and turns stops into [`Event`]s. All ptrace and `unsafe`
//! code of golat lives in this module tree; one thread (the caller's) owns the tracer.
//!
//! Cost model: a tracee stops only at filtered calls (seccomp) and at signals. Side-effect
//! free calls are answered at that one stop by repeating them (see `replay`); calls that
//! change something, and those whose result cannot be had another way, also take an exit
//! stop, and their duration is corrected by the calibrated round-trip cost.

mod breakpoints;
mod decode;
pub mod policy;
mod replay;
mod seccomp;
mod stall;
mod stderr;
mod sys;
pub use sys::fork_single_threaded;
pub mod syscalls;

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Instant;

use crate::event::Event;
use crate::model::{Atom, Call, Timing};
use policy::Why;
use syscalls::{Kind, Sys};

pub use sys::{errno_name, self_usage};

/// Which processes golat collects init chains from (with `InitCapture::Hide`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitScope {
    /// Every program that is not part of the Go toolchain (see `spared_from_inittrace`).
    User,
    /// Every Go process: the go command, compile, link, asm, vet, ... included.
    All,
}

/// How inittrace lines on fd 2 are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitCapture {
    /// Writes to fd 2 are not traced.
    Off,
    /// golat added `inittrace=1`: capture the lines and keep them from the user's stderr.
    Hide,
    /// The user asked for inittrace themselves: capture, and let them through.
    Observe,
}

/// What one ptrace stop costs, measured on a no-op call before tracing starts, in the two
/// ways an exit stop can find golat: asleep in waitpid (the tracee must wake it, which on
/// a VM can cost the tracee an inter-processor interrupt: 3-4x the CPU) or polling.
#[derive(Debug, Clone, Copy, Default)]
pub struct Calibration {
    /// Round trip (entry stop → exit stop) as golat sees it, ns; subtracted from
    /// entry-to-exit durations.
    pub stop_cost_ns: u64,
    /// The tracee's own on-CPU time over the same round trip, ns: the kernel's work to
    /// leave the entry stop and enter the exit stop (waking golat). Subtracted from
    /// durations taken from the thread's on-CPU time.
    pub oncpu_cost_ns: u64,
    /// The same two when golat was polling for the exit stop.
    pub stop_cost_polled_ns: u64,
    pub oncpu_cost_polled_ns: u64,
}

impl Calibration {
    /// (round trip, tracee on-CPU cost) for an exit stop golat was asleep for, or not.
    fn costs(&self, tracer_slept: bool) -> (u64, u64) {
        if tracer_slept {
            (self.stop_cost_ns, self.oncpu_cost_ns)
        } else {
            (self.stop_cost_polled_ns, self.oncpu_cost_polled_ns)
        }
    }
}

/// Whether a stop found golat asleep in waitpid (so the tracee had to wake it): a wait
/// that polled it, or found it already queued, returns within microseconds.
fn tracer_slept(while_polling: bool, waited_ns: u64) -> bool {
    !while_polling && waited_ns > 5_000
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

#[derive(Debug, Clone)]
pub struct Config {
    pub calibration: Calibration,
    /// Take an exit stop for every call (exact return values, e.g. fds) instead of
    /// repeating side-effect-free calls. Slower.
    pub exit_stops_all: bool,
    pub init: InitCapture,
    pub init_scope: InitScope,
    /// Report threads blocked in one call longer than this, while it happens.
    pub stall: Option<std::time::Duration>,
    /// The mount table at the start (golat's namespace): the timing policy's index.
    pub mounts: crate::fsinfo::MountTable,
    /// `--slow`: directories whose calls are held before they run.
    pub slow: Vec<SlowDir>,
    /// `--explain`: the go command's `GODEBUG=gocachehash=1` lines are captured
    /// (`Event::CacheHash`) and kept from the user's stderr.
    pub cachehash: bool,
    /// Which Go programs get startup-phase breakpoints (`None`: none).
    pub phases: Option<InitScope>,
}

/// `--slow DIR=DURATION`: every traced call on a path under `dir` (a lookup, open, stat,
/// readlink, access, exec, getdents, ...) is held at its entry stop for `delay_ns` per
/// path component below `dir` before it runs, as on a mount that caches no lookups (NFS
/// with lookupcache=none, FUSE with entry_timeout=0) each component costs one round trip;
/// a call on `dir` itself or by fd (getdents) is held once. The call's recorded duration
/// holds its delay, as it would on such a mount.
#[derive(Debug, Clone)]
pub struct SlowDir {
    /// Absolute, without a trailing slash; the recorded (absolute, uncanonicalized) path
    /// is matched against it.
    pub dir: Vec<u8>,
    pub delay_ns: u64,
}

impl SlowDir {
    /// The delay for a call on `path`, when it is under this directory.
    pub fn delay_for(&self, path: &[u8]) -> Option<u64> {
        let rest = path.strip_prefix(self.dir.as_slice())?;
        if !rest.is_empty() && rest[0] != b'/' && !self.dir.ends_with(b"/") {
            return None;
        }
        let components = rest
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .count()
            .max(1) as u64;
        Some(self.delay_ns * components)
    }
}

/// What to run: a resolved executable, its argv and its full environment.
#[derive(Debug, Clone)]
pub struct Command {
    pub program: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootStatus {
    Exited(i32),
    Signaled(i32),
}

impl RootStatus {
    /// The exit code a shell reports: the code, or 128+N for death by signal N.
    pub fn shell_code(self) -> i32 {
        match self {
            RootStatus::Exited(c) => c,
            RootStatus::Signaled(s) => 128 + s,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub root: RootStatus,
    /// From just before the fork of the command to its exit being reported.
    pub wall_ns: u64,
    /// Set when the command could not be executed at all (errno of its execve).
    pub exec_error: Option<i32>,
    /// Where the run's clock (`t_ns` = 0) sits on CLOCK_MONOTONIC; traced runs only.
    pub clock: Option<crate::model::ClockAnchor>,
    pub stops: u64,
    pub entry_only_calls: u64,
    pub exit_stop_calls: u64,
    /// How replayable calls were timed, and which mounts were measured at exit stops.
    pub policy: policy::Policy,
    /// Exit-stop calls whose duration may hold golat's delay (see `Pending`), and the sum
    /// of those bounds, ns.
    pub disturbed_calls: u64,
    pub disturbed_ns: u64,
    /// `--slow`: calls held, and the delay golat added to them, ns.
    pub injected_calls: u64,
    pub injected_ns: u64,
    /// Sum of how late the held calls were released past their deadlines, ns.
    pub injected_late_ns: u64,
}

/// Non-blocking waitpid polls before the tracer sleeps: a short spin (about 8 µs here)
/// catches stops that come back to back (the twelve writes of an inittrace line, a loop of
/// stats) without the sleep and wake-up of the tracer thread, which on a busy VM can cost
/// the tracee hundreds of µs per stop; a long one takes CPU from the tracee's other
/// threads. Warm no-op build of fixtures/hello, medians of 21 alternating runs: 20 polls
/// 318 ms, 100 polls 327 ms, none 335 ms; the initchain fixture's program: 110.5, 112.7
/// and 112.5 ms (with no work at the stops, one earlier run gave 100 polls 216 ms against
/// 175 ms for none: the difference is within this machine's noise, the direction not).
const WAIT_SPIN_POLLS: u32 = 20;
/// Poll only while at most this many traced processes are alive: in a parallel build the
/// tracer sleeps at once.
const SPIN_MAX_PROCS: usize = 2;
/// A sleeping wait that returned within this long would have been caught by polling.
const SPIN_WORTH_NS: u64 = 50_000;

/// A possible delay below this is within what the calibrated round trip already varies by.
const DISTURBED_MIN_NS: u64 = 10_000;

/// How late an exit stop that waited for golat may have been reported: it arrived after
/// the thread was resumed into the call and after golat last saw no stop waiting, so by at
/// most the time from the later of the two to when golat saw it. `None` when that is within
/// a tenth of the call's duration (and of `DISTURBED_MIN_NS`).
fn late_by_at_most(seen_ns: u64, resumed_ns: u64, queue_empty_ns: u64, dur_ns: u64) -> Option<u64> {
    let late = seen_ns
        .saturating_sub(resumed_ns.max(queue_empty_ns))
        .min(dur_ns);
    (late > (dur_ns / 10).max(DISTURBED_MIN_NS)).then_some(late)
}

/// Why tracing could not start; `Denied` lets the caller fall back to an untraced run.
#[derive(Debug)]
pub enum StartError {
    Denied(String),
    Other(anyhow::Error),
}

// Signal forwarding: the handler runs on golat's thread and only calls kill(2).
static ROOT_PID: AtomicI32 = AtomicI32::new(0);
static FORWARDED: AtomicI32 = AtomicI32::new(0);
/// ns since start of the last stop handled; read by the stall watchdog.
pub static LAST_PROGRESS_NS: AtomicU64 = AtomicU64::new(0);

extern "C" fn forward_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to SA_SIGINFO handlers.
    let code = unsafe { (*info).si_code };
    // SIGINT and SIGQUIT come from the terminal to the whole foreground process group, the
    // command included; like time(1), golat only survives them. A hangup the kernel sends
    // (SI_KERNEL) reaches the command the same way. Forwarding either would deliver twice.
    if sig == libc::SIGINT || sig == libc::SIGQUIT || code == libc::SI_KERNEL {
        return;
    }
    let root = ROOT_PID.load(Ordering::Relaxed);
    if root > 0 {
        FORWARDED.store(sig, Ordering::Relaxed);
        sys::kill(root, sig);
    }
}

/// Installs handlers so golat survives SIGINT/SIGQUIT (the command decides what they mean)
/// and forwards SIGTERM/SIGHUP to the command. Handlers, unlike SIG_IGN, are reset by exec,
/// so the command starts with the dispositions golat was given. A signal golat was started
/// with ignored (`nohup`, a shell's background job) stays ignored: the command inherits
/// SIG_IGN across exec, as it would without golat, and there is nothing to forward.
fn install_forwarding() {
    for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction read back (no change), then one with our handler,
        // SA_SIGINFO and SA_RESTART.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = forward_signal as *const () as usize;
            act.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// Forks a child that waits until the parent has seized it, installs `filter` (if any) and
/// execs. Returns the pid, the write end of the go-ahead pipe, and the read end of the
/// exec-error pipe.
fn fork_child(cmd: &Command, filter: &[libc::sock_filter]) -> anyhow::Result<(i32, i32, i32)> {
    let mut go_pipe = [0i32; 2];
    let mut err_pipe = [0i32; 2];
    // SAFETY: pipe2 writes two fds into the arrays.
    unsafe {
        if libc::pipe2(go_pipe.as_mut_ptr(), libc::O_CLOEXEC) != 0
            || libc::pipe2(err_pipe.as_mut_ptr(), libc::O_CLOEXEC) != 0
        {
            anyhow::bail!("pipe2: {}", std::io::Error::last_os_error());
        }
    }
    let argv: Vec<*const libc::c_char> = cmd
        .argv
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let envp: Vec<*const libc::c_char> = cmd
        .envp
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    // execvp's fallback for an executable without a `#!` line (ENOEXEC): run it with
    // /bin/sh, as shells, env(1) and timeout(1) do. Built before the fork: no allocation after.
    let bin_sh = c"/bin/sh";
    let sh_argv: Vec<*const libc::c_char> = [bin_sh.as_ptr(), cmd.program.as_ptr()]
        .into_iter()
        .chain(cmd.argv.iter().skip(1).map(|a| a.as_ptr()))
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: after fork the child calls only async-signal-safe functions (read, prctl,
    // syscall, signal, execve, write, _exit) on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        anyhow::bail!("fork: {}", std::io::Error::last_os_error());
    }
    if pid == 0 {
        unsafe {
            let mut go = [0u8; 1];
            let n = libc::read(go_pipe[0], go.as_mut_ptr().cast(), 1);
            if n != 1 {
                libc::_exit(127);
            }
            if go[0] == b'T' && !filter.is_empty() {
                // Root may install a filter without no_new_privs; others need it, and it
                // only stops setuid binaries from gaining privileges under golat.
                let mut rc =
                    libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &prog);
                if rc != 0 {
                    libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                    rc = libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &prog);
                }
                if rc != 0 {
                    let errno: i32 = -1;
                    libc::write(err_pipe[1], (&errno as *const i32).cast(), 4);
                    libc::_exit(127);
                }
            }
            // Rust's runtime ignores SIGPIPE in golat; std's Command restores it for children,
            // and so must this fork, or `yes | head -1` under golat gets EPIPE instead of dying.
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::execve(cmd.program.as_ptr(), argv.as_ptr(), envp.as_ptr());
            if *libc::__errno_location() == libc::ENOEXEC {
                libc::execve(bin_sh.as_ptr(), sh_argv.as_ptr(), envp.as_ptr());
                *libc::__errno_location() = libc::ENOEXEC;
            }
            let errno = *libc::__errno_location();
            libc::write(err_pipe[1], (&errno as *const i32).cast(), 4);
            libc::_exit(127);
        }
    }
    // SAFETY: closing the child's ends in the parent.
    unsafe {
        libc::close(go_pipe[0]);
        libc::close(err_pipe[1]);
    }
    Ok((pid, go_pipe[1], err_pipe[0]))
}

fn send_go_ahead(fd: i32, byte: u8) {
    // SAFETY: one byte from our stack to a pipe we own; then close it.
    unsafe {
        libc::write(fd, (&byte as *const u8).cast(), 1);
        libc::close(fd);
    }
}

/// Reads the child's exec errno, if it wrote one (the pipe closes on a successful exec).
fn read_exec_error(fd: i32) -> Option<i32> {
    let mut errno = 0i32;
    // SAFETY: reads at most 4 bytes into our i32; then closes our fd.
    let n = unsafe { libc::read(fd, (&mut errno as *mut i32).cast(), 4) };
    unsafe { libc::close(fd) };
    (n == 4).then_some(errno)
}

/// Runs `cmd` untraced (ptrace denied) and returns its status and wall time.
pub fn run_untraced(cmd: &Command) -> anyhow::Result<Outcome> {
    install_forwarding();
    let start = Instant::now();
    let (pid, go, err) = fork_child(cmd, &[])?;
    ROOT_PID.store(pid, Ordering::Relaxed);
    send_go_ahead(go, b'U');
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            anyhow::bail!("waitpid: {e}");
        }
    }
    let wall_ns = start.elapsed().as_nanos() as u64;
    let root = match sys::decode(status) {
        sys::Status::Signaled(s) => RootStatus::Signaled(s),
        sys::Status::Exited(c) => RootStatus::Exited(c),
        sys::Status::Stopped { .. } => RootStatus::Exited(0),
    };
    Ok(Outcome {
        root,
        wall_ns,
        exec_error: read_exec_error(err),
        clock: None,
        stops: 0,
        entry_only_calls: 0,
        exit_stop_calls: 0,
        policy: Default::default(),
        disturbed_calls: 0,
        disturbed_ns: 0,
        injected_calls: 0,
        injected_ns: 0,
        injected_late_ns: 0,
    })
}

/// Measures the round trip of one traced call: a child makes `getppid` calls that stop at
/// entry (seccomp) and exit; the median entry→exit time is what the tracer itself adds to
/// every exit-stop duration (getppid's own kernel time is ~0.1 µs).
pub fn calibrate(rounds: usize) -> Result<Calibration, StartError> {
    let getppid = [Sys {
        nr: libc::SYS_getppid as u32,
        name: "getppid",
        kind: Kind::PathOnly,
    }];
    let filter = seccomp::build(&getppid, &[], false);
    // The child loops in a tiny static program: /bin/sh would add its own calls, so the
    // child is golat itself, re-entered through a hidden argv[1].
    let exe = CString::new("/proc/self/exe").expect("no NUL");
    let cmd = Command {
        program: exe.clone(),
        argv: vec![
            exe,
            CString::new("__golat_calibrate").expect("no NUL"),
            CString::new(rounds.to_string()).expect("no NUL"),
        ],
        envp: vec![],
    };
    let (pid, go, err) = fork_child(&cmd, &filter).map_err(StartError::Other)?;
    if let Err(errno) = sys::seize(pid, sys::PTRACE_OPTIONS) {
        sys::kill(pid, libc::SIGKILL);
        // SAFETY: reap the child we just killed.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        return Err(StartError::Denied(denied_reason(errno)));
    }
    send_go_ahead(go, b'T');
    let _ = read_exec_error(err);
    // [slept, polled] round trips and on-CPU costs. The first half of the rounds waits
    // asleep, the second polls as the tracer does while stops come back to back.
    let mut round_trips: [Vec<u64>; 2] = Default::default();
    let mut oncpu: [Vec<u64>; 2] = Default::default();
    let mut entry: Option<(Instant, Option<sys::SchedStat>)> = None;
    let mut exits = 0usize;
    loop {
        let polls = if exits < rounds / 2 {
            0
        } else {
            WAIT_SPIN_POLLS
        };
        let waiting_since = Instant::now();
        let Ok(Some(sys::Waited {
            tid,
            status,
            while_polling,
            ..
        })) = sys::wait_any(polls)
        else {
            break;
        };
        let slept = tracer_slept(while_polling, waiting_since.elapsed().as_nanos() as u64);
        match sys::decode(status) {
            sys::Status::Stopped { sig, event } => {
                if sig == libc::SIGTRAP && event == libc::PTRACE_EVENT_SECCOMP {
                    let info = sys::syscall_info(tid).ok();
                    if info.is_some_and(|i| i.nr_or_rval == libc::SYS_getppid as u64) {
                        // Same order as at a real entry stop: schedstat, clock, resume.
                        let sched = sys::schedstat(tid);
                        entry = Some((Instant::now(), sched));
                        let _ = sys::resume(tid, true, 0);
                        continue;
                    }
                    let _ = sys::resume(tid, false, 0);
                } else if sig == libc::SIGTRAP | 0x80 {
                    if let Some((at, before)) = entry.take() {
                        exits += 1;
                        let mode = usize::from(!slept);
                        round_trips[mode].push(at.elapsed().as_nanos() as u64);
                        if let Some(cpu) = one_slice_oncpu(before, sys::schedstat(tid)) {
                            oncpu[mode].push(cpu);
                        }
                    }
                    let _ = sys::resume(tid, false, 0);
                } else if sig == libc::SIGTRAP || event != 0 {
                    let _ = sys::resume(tid, false, 0);
                } else {
                    let _ = sys::resume(tid, false, sig);
                }
            }
            _ => {
                if tid == pid {
                    break;
                }
            }
        }
    }
    if round_trips.iter().all(Vec::is_empty) {
        return Err(StartError::Other(anyhow::anyhow!(
            "calibration child made no traced calls"
        )));
    }
    let [rt_slept, rt_polled] = round_trips.map(median);
    let [cpu_slept, cpu_polled] = oncpu.map(median);
    // A mode never seen (polls that always missed) borrows the other's figures.
    let or = |v: u64, other: u64| if v == 0 { other } else { v };
    Ok(Calibration {
        stop_cost_ns: or(rt_slept, rt_polled),
        oncpu_cost_ns: or(cpu_slept, cpu_polled),
        stop_cost_polled_ns: or(rt_polled, rt_slept),
        oncpu_cost_polled_ns: or(cpu_polled, cpu_slept),
    })
}

/// The thread's on-CPU ns between two schedstat readings, when it was scheduled in at
/// most once in between (it neither blocked nor was preempted).
fn one_slice_oncpu(before: Option<(u64, u64, u64)>, after: Option<(u64, u64, u64)>) -> Option<u64> {
    let (before, after) = before.zip(after)?;
    (after.2.saturating_sub(before.2) <= 1).then(|| after.0.saturating_sub(before.0))
}

/// The body of the calibration child (`golat __golat_calibrate N`).
pub fn calibration_child(rounds: usize) -> ! {
    for _ in 0..rounds {
        // SAFETY: getppid has no arguments.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    // SAFETY: exit without running destructors or atexit handlers.
    unsafe { libc::_exit(0) }
}

/// How many polls the next wait may make. Polling pays while stops come back to back and
/// is pure loss while a tracee computes between calls: on a fresh-GOCACHE build, a fixed
/// 100 polls gave up ~4,700 times (470k empty waitpids, ~0.5 s of tracer CPU taken
/// from the compilers). So a wait that polled in vain halves the budget, and a hit, or a
/// sleep short enough that polling would have caught it, restores it.
fn next_polls(budget: u32, polled: u32, while_polling: bool, waited_ns: u64) -> u32 {
    if while_polling || waited_ns < SPIN_WORTH_NS {
        WAIT_SPIN_POLLS
    } else if polled > 0 {
        budget / 2
    } else {
        budget
    }
}

fn denied_reason(errno: i32) -> String {
    let why = match errno {
        libc::EPERM => {
            "ptrace is not permitted here (a container seccomp profile, yama ptrace_scope=3, \
             or golat itself is being traced)"
        }
        libc::ENOSYS => "this kernel has no ptrace",
        _ => "ptrace failed",
    };
    format!("{why}: PTRACE_SEIZE returned {}", errno_name(errno))
}

struct Thread {
    pid: i32,
    pending: Option<Pending>,
}

struct Pending {
    sys: &'static Sys,
    call: Call,
    /// When the tracee was resumed into the call, ns since start.
    resumed_ns: u64,
    /// The thread's (on-CPU ns, run-queue ns, slices) when it was resumed into the call.
    sched: Option<sys::SchedStat>,
}

struct Proc {
    cwd: String,
    init: stderr::LineParser,
    /// Its last exec was the go command (`go`, or a `go1.N` wrapper that execs it): the
    /// only process whose `HASH` lines are claimed with `--explain`.
    go_command: bool,
    /// Runs in a mount namespace other than golat's: nothing of it is replayed.
    foreign_ns: bool,
    /// Stops of its threads and what they cost them (see `Tracer::charge`).
    stops: u64,
    tracing_ns: u64,
    /// The end of the latest held stretch charged (see `Tracer::charge`).
    held_until_ns: u64,
    /// Startup breakpoints not hit yet.
    armed: breakpoints::Armed,
    /// It has exec'd since golat first saw it: its memory is no longer its parent's.
    execd: bool,
    /// Its last exec was the go command running `go tool ...`.
    go_tool: bool,
    /// A `go tool` command forked it: what it execs is a toolchain tool, wherever the go
    /// command built it (Go 1.24+ builds nm, pprof, trace, ... into GOCACHE).
    from_go_tool: bool,
}

struct Tracer<'a> {
    cfg: Config,
    start: Instant,
    threads: HashMap<i32, Thread>,
    procs: HashMap<i32, Proc>,
    /// Tids whose first stop came before their parent's fork/clone event: that event must
    /// not announce them a second time (they may even have exited by then).
    adopted_early: std::collections::HashSet<i32>,
    root: i32,
    root_status: Option<(RootStatus, u64)>,
    sink: &'a mut dyn FnMut(Event),
    /// How many non-blocking polls precede a blocking wait.
    /// Polls before the next sleeping wait (see `next_polls`).
    polls: u32,
    /// The stop being handled found golat asleep in waitpid (see `Calibration`).
    tracer_slept: bool,
    /// When the stop being handled was reported (waitpid returned), ns since start.
    stop_seen_ns: u64,
    /// The latest moment golat saw no stop waiting for it (a wait that slept or a poll that
    /// found nothing): a stop reported by a wait that returned at once arrived after it.
    queue_empty_ns: u64,
    /// The stop being handled had been waiting for golat (the wait returned at once).
    stop_was_queued: bool,
    policy: policy::Policy,
    /// golat's own mount namespace (`mnt:[4026531841]`).
    mnt_ns: Option<String>,
    disturbed_calls: u64,
    disturbed_ns: u64,
    /// Decoded open flags by value.
    open_flag_atoms: HashMap<i64, Atom>,
    /// `--slow`: threads held at an entry stop, by release time (CLOCK_MONOTONIC ns).
    held: std::collections::BinaryHeap<std::cmp::Reverse<(u64, i32)>>,
    /// Interrupts golat's waitpid when a held thread is due; made when `--slow` is set.
    delay_timer: Option<sys::DelayTimer>,
    injected_calls: u64,
    injected_ns: u64,
    injected_late_ns: u64,
    stops: u64,
    entry_only: u64,
    exit_stops: u64,
    /// The values of golat's GODEBUG (with `inittrace=1`) and of the user's, as golat
    /// started the command with them under the names GODEBUG and GODEBUX (see
    /// `steer_inittrace`).
    godebug_ours: Option<(Vec<u8>, Option<Vec<u8>>)>,
}

/// Traces `cmd` to the end of its whole process tree, sending every event to `sink`.
pub fn trace(
    cmd: &Command,
    mut cfg: Config,
    sink: &mut dyn FnMut(Event),
) -> Result<Outcome, StartError> {
    install_forwarding();
    let filter = seccomp::build(
        syscalls::X86_64,
        syscalls::I386,
        cfg.init != InitCapture::Off || cfg.cachehash,
    );
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "/".into());
    // The tracer's clock is this Instant; where it sits on CLOCK_MONOTONIC (Go's nanotime)
    // lets a runtime trace of the command be drawn on the same timeline.
    let before = sys::monotonic_ns();
    let start = Instant::now();
    let after = sys::monotonic_ns();
    let clock = crate::model::ClockAnchor {
        t0_monotonic_ns: after,
        bracket_ns: after - before,
    };
    let (pid, go, err) = fork_child(cmd, &filter).map_err(StartError::Other)?;
    if let Err(errno) = sys::seize(pid, sys::PTRACE_OPTIONS) {
        sys::kill(pid, libc::SIGKILL);
        // SAFETY: reap the child we just killed.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        return Err(StartError::Denied(denied_reason(errno)));
    }
    ROOT_PID.store(pid, Ordering::Relaxed);
    let policy = policy::Policy::new(&std::mem::take(&mut cfg.mounts));
    let mut tracer = Tracer {
        cfg,
        start,
        threads: HashMap::new(),
        procs: HashMap::new(),
        adopted_early: Default::default(),
        root: pid,
        root_status: None,
        sink,
        polls: WAIT_SPIN_POLLS,
        tracer_slept: true,
        stop_seen_ns: 0,
        queue_empty_ns: 0,
        stop_was_queued: false,
        policy,
        mnt_ns: sys::readlink("/proc/self/ns/mnt").ok(),
        disturbed_calls: 0,
        disturbed_ns: 0,
        open_flag_atoms: HashMap::new(),
        held: Default::default(),
        delay_timer: None,
        injected_calls: 0,
        injected_ns: 0,
        injected_late_ns: 0,
        stops: 0,
        entry_only: 0,
        exit_stops: 0,
        godebug_ours: godebug_pair(&cmd.envp),
    };
    if !tracer.cfg.slow.is_empty() {
        match sys::DelayTimer::for_this_thread() {
            Ok(t) => tracer.delay_timer = Some(t),
            Err(e) => {
                sys::kill(pid, libc::SIGKILL);
                // SAFETY: reap the child we just killed.
                unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
                return Err(StartError::Other(anyhow::anyhow!(
                    "--slow: cannot create a timer: {}",
                    errno_name(e)
                )));
            }
        }
    }
    tracer.add_process(pid, std::process::id() as i32, cwd);
    let watchdog = tracer.cfg.stall.map(|s| stall::Watchdog::start(s, start));
    send_go_ahead(go, b'T');
    let traced = tracer.run();
    for s in watchdog.map(stall::Watchdog::stop).unwrap_or_default() {
        tracer.emit(Event::Stall {
            pid: s.pid,
            tid: s.tid,
            golat: s.golat,
            who: s.who,
            what: s.what,
            since_ns: s.since_ns,
            blocked_ns: s.blocked_ns,
            returned: s.returned,
        });
    }
    traced.map_err(StartError::Other)?;
    let exec_error = read_exec_error(err);
    let (root, wall_ns) = tracer
        .root_status
        .unwrap_or((RootStatus::Exited(127), start.elapsed().as_nanos() as u64));
    Ok(Outcome {
        root,
        wall_ns,
        exec_error,
        clock: Some(clock),
        stops: tracer.stops,
        entry_only_calls: tracer.entry_only,
        exit_stop_calls: tracer.exit_stops,
        disturbed_calls: tracer.disturbed_calls,
        disturbed_ns: tracer.disturbed_ns,
        injected_calls: tracer.injected_calls,
        injected_ns: tracer.injected_ns,
        injected_late_ns: tracer.injected_late_ns,
        policy: tracer.policy,
    })
}

impl Tracer<'_> {
    fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn emit(&mut self, event: Event) {
        (self.sink)(event);
    }

    fn add_process(&mut self, pid: i32, ppid: i32, cwd: String) {
        self.threads.insert(pid, Thread { pid, pending: None });
        // A child starts in its parent's mount namespace.
        let foreign_ns = self.procs.get(&ppid).is_some_and(|p| p.foreign_ns);
        let from_go_tool = self.procs.get(&ppid).is_some_and(|p| p.go_tool);
        self.procs.insert(
            pid,
            Proc {
                cwd: cwd.clone(),
                init: stderr::LineParser::default(),
                go_command: false,
                foreign_ns,
                stops: 0,
                tracing_ns: 0,
                held_until_ns: 0,
                armed: breakpoints::Armed::default(),
                execd: false,
                go_tool: false,
                from_go_tool,
            },
        );
        let t_ns = self.now_ns();
        self.emit(Event::ProcessStarted {
            pid,
            ppid,
            t_ns,
            cwd,
        });
    }

    fn add_thread(&mut self, pid: i32, tid: i32) {
        self.threads.insert(tid, Thread { pid, pending: None });
        self.emit(Event::ThreadStarted { pid, tid });
    }

    /// A stop from a tid golat has not been told about yet (a new child's first stop can
    /// arrive before its parent's fork event): learn its process from /proc.
    fn adopt(&mut self, tid: i32) -> i32 {
        self.adopted_early.insert(tid);
        let status = std::fs::read_to_string(format!("/proc/{tid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<i32>().ok())
        };
        let tgid = field("Tgid:").unwrap_or(tid);
        let ppid = field("PPid:").unwrap_or(0);
        if tgid != tid {
            if !self.procs.contains_key(&tgid) {
                let cwd =
                    sys::readlink(&format!("/proc/{tgid}/cwd")).unwrap_or_else(|_| "/".into());
                self.add_process(tgid, ppid, cwd);
            }
            self.add_thread(tgid, tid);
        } else {
            let cwd = sys::readlink(&format!("/proc/{tid}/cwd")).unwrap_or_else(|_| "/".into());
            self.add_process(tid, ppid, cwd);
        }
        tgid
    }

    fn pid_of(&mut self, tid: i32) -> i32 {
        match self.threads.get(&tid) {
            Some(t) => t.pid,
            None => self.adopt(tid),
        }
    }

    /// Resumes a tracee; a thread with a call in flight keeps its exit stop.
    fn resume(&self, tid: i32, sig: i32) {
        let want_exit = self.threads.get(&tid).is_some_and(|t| t.pending.is_some());
        // ESRCH: the thread died meanwhile; its exit is reported by wait.
        let _ = sys::resume(tid, want_exit, sig);
    }

    fn run(&mut self) -> anyhow::Result<()> {
        loop {
            // Polling pays off while few processes make calls back to back; when several
            // run at once (a parallel compile) it would take CPU from them.
            let polls = if self.procs.len() <= SPIN_MAX_PROCS {
                self.polls
            } else {
                0
            };
            let next_release = self.release_due();
            let waiting_since = self.now_ns();
            let deadline = next_release.and_then(|d| self.delay_timer.as_ref().map(|t| (t, d)));
            let sys::Waited {
                tid,
                status,
                while_polling,
                first_poll,
            } = match sys::wait_until(polls, deadline)
                .map_err(|e| anyhow::anyhow!("waitpid: {}", errno_name(e)))?
            {
                sys::Wait::Stop(w) => w,
                sys::Wait::Deadline => continue,
                sys::Wait::NoTracees => return Ok(()),
            };
            let now = self.now_ns();
            self.polls = next_polls(self.polls, polls, while_polling, now - waiting_since);
            self.tracer_slept = tracer_slept(while_polling, now - waiting_since);
            // A stop the first poll (or an unpolled wait that did not sleep) returned was
            // already waiting; any other arrived while golat waited, after `waiting_since`.
            self.stop_was_queued = if while_polling {
                first_poll
            } else {
                polls == 0 && !self.tracer_slept
            };
            if !self.stop_was_queued {
                self.queue_empty_ns = waiting_since;
            }
            self.stop_seen_ns = now;
            self.stops += 1;
            LAST_PROGRESS_NS.store(now, Ordering::Relaxed);
            match sys::decode(status) {
                sys::Status::Exited(code) => self.on_death(tid, RootStatus::Exited(code)),
                sys::Status::Signaled(sig) => self.on_death(tid, RootStatus::Signaled(sig)),
                sys::Status::Stopped { sig, event } => {
                    self.on_stop(tid, sig, event);
                    self.charge(tid);
                }
            }
        }
    }

    /// Resumes the held threads whose delay is over; returns when the next one is due.
    fn release_due(&mut self) -> Option<u64> {
        while let Some(&std::cmp::Reverse((due, tid))) = self.held.peek() {
            let now = sys::monotonic_ns();
            if due > now {
                return Some(due);
            }
            self.held.pop();
            self.injected_late_ns += now - due;
            self.resume(tid, 0);
        }
        None
    }

    /// Adds what a stop cost its process. The thread is held from about half a calibrated
    /// round trip (asleep or polled: the kernel stopping it and reporting the stop) before
    /// golat saw the stop, through golat's handling (path reads, replays, the resume), to
    /// half a round trip after (the kernel waking it). A process is charged the union of
    /// its threads' held times, the time some thread of it was held: while golat handles
    /// one thread's stop, another's stopping and waking overlap it, and counting both
    /// would charge a multi-threaded go command twice for the same wall time.
    fn charge(&mut self, tid: i32) {
        let (round_trip, _) = self.cfg.calibration.costs(self.tracer_slept);
        // From when the thread stopped: the same instant a startup mark carries.
        let (from, to) = (self.mark_ns(), self.now_ns() + round_trip / 2);
        let pid = self.threads.get(&tid).map(|t| t.pid);
        if let Some(proc) = pid.and_then(|pid| self.procs.get_mut(&pid)) {
            proc.stops += 1;
            proc.tracing_ns += to.saturating_sub(from.max(proc.held_until_ns));
            proc.held_until_ns = proc.held_until_ns.max(to);
        }
    }

    fn on_stop(&mut self, tid: i32, sig: i32, event: i32) {
        if sig == libc::SIGTRAP | 0x80 {
            return self.on_syscall_exit(tid);
        }
        if sig == libc::SIGTRAP && event != 0 {
            match event {
                libc::PTRACE_EVENT_SECCOMP => self.on_seccomp(tid),
                libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                    self.on_clone(tid, event)
                }
                libc::PTRACE_EVENT_EXEC => self.on_exec(tid),
                _ => {
                    // PTRACE_EVENT_EXIT, PTRACE_EVENT_STOP (a new tracee's first stop),
                    // PTRACE_EVENT_VFORK_DONE.
                    self.pid_of(tid);
                    self.resume(tid, 0);
                }
            }
            return;
        }
        if event == libc::PTRACE_EVENT_STOP {
            self.pid_of(tid);
            // "If the tracee was attached using PTRACE_SEIZE, group-stop is indicated by
            // PTRACE_EVENT_STOP: status>>16 == PTRACE_EVENT_STOP." Only the four stop
            // signals make group-stops; PTRACE_LISTEN keeps it stopped until SIGCONT.
            if matches!(
                sig,
                libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
            ) {
                let _ = sys::listen(tid);
            } else {
                self.resume(tid, 0);
            }
            return;
        }
        // Signal-delivery stop: re-inject unchanged (Go preempts with SIGURG all the time).
        let pid = self.pid_of(tid);
        if sig == libc::SIGTRAP && self.on_breakpoint(pid, tid) {
            return self.resume(tid, 0);
        }
        self.resume(tid, sig);
    }

    fn on_clone(&mut self, tid: i32, event: i32) {
        let parent_pid = self.pid_of(tid);
        let Ok(new) = sys::event_msg(tid) else {
            return self.resume(tid, 0);
        };
        let new = new as i32;
        let is_thread = event == libc::PTRACE_EVENT_CLONE && clone_is_thread(tid, new);
        let announced = self.adopted_early.remove(&new) || self.threads.contains_key(&new);
        if !announced {
            if is_thread {
                self.add_thread(parent_pid, new);
            } else {
                let cwd = self
                    .procs
                    .get(&parent_pid)
                    .map(|p| p.cwd.clone())
                    .unwrap_or_else(|| "/".into());
                self.add_process(new, parent_pid, cwd);
            }
        }
        // A forked child has its parent's memory, int3s included, until it execs; the
        // parent's fork event can come after the child's exec (a vfork child's first stop
        // and exec may reach golat first), and then the child's own breakpoints stand.
        if !is_thread
            && let Some(armed) = self
                .procs
                .get(&parent_pid)
                .map(|p| p.armed.clone())
                .filter(|a| !a.is_empty())
            && let Some(child) = self.procs.get_mut(&new).filter(|c| !c.execd)
        {
            child.armed = armed;
        }
        self.resume(tid, 0);
    }

    fn on_exec(&mut self, tid: i32) {
        let pid = tid;
        let old_tid = sys::event_msg(tid).map(|m| m as i32).unwrap_or(tid);
        // "execve from a non-leader thread: later stops come under the leader's pid";
        // the old tid vanishes without a death report, so move its state.
        if old_tid != pid
            && let Some(old) = self.threads.remove(&old_tid)
        {
            let moved = Thread {
                pid,
                pending: old.pending,
            };
            self.threads.insert(pid, moved);
        }
        if !self.procs.contains_key(&pid) {
            self.adopt(pid);
        }
        let now = self.now_ns();
        // The exec succeeded: finish its call here instead of taking the exit stop.
        if let Some(mut pending) = self.threads.get_mut(&pid).and_then(|t| t.pending.take()) {
            pending.call.ret = Some(0);
            self.finish(&mut pending, now);
            pending.call.pid = pid;
            self.emit(Event::Call(pending.call));
        }
        // A program that entered another mount namespace (unshare -m, bwrap, a container
        // runtime) is seen at its next exec: from then on its paths are not golat's.
        let ns = sys::readlink(&format!("/proc/{pid}/ns/mnt")).ok();
        let foreign_ns = ns.is_some() && self.mnt_ns.is_some() && ns != self.mnt_ns;
        let exe = sys::readlink(&format!("/proc/{pid}/exe")).unwrap_or_default();
        if let Some(proc) = self.procs.get_mut(&pid) {
            proc.init = stderr::LineParser::default();
            proc.foreign_ns = foreign_ns;
            proc.go_command = is_go_command_binary(&exe);
        }
        let argv = read_nul_list(&format!("/proc/{pid}/cmdline"));
        let mut toolchain = spared_from_inittrace(&exe);
        if let Some(proc) = self.procs.get_mut(&pid) {
            proc.go_tool = proc.go_command && crate::gosrc::goargs::runs_go_tool(&argv);
            toolchain |= proc.from_go_tool;
        }
        let (mut path_env, mut godebug) = (None, None);
        for var in read_nul_list(&format!("/proc/{pid}/environ")) {
            if let Some(v) = var.strip_prefix("PATH=") {
                path_env = Some(v.to_string());
            } else if let Some(v) = var.strip_prefix("GODEBUG=") {
                godebug = Some(v.to_string());
            }
        }
        let phases = match self.cfg.phases {
            Some(InitScope::All) => true,
            Some(InitScope::User) => !toolchain,
            None => false,
        };
        self.emit(Event::Exec {
            pid,
            old_tid,
            t_ns: now,
            exe,
            argv,
            path_env,
            godebug,
        });
        if let Some(proc) = self.procs.get_mut(&pid) {
            proc.armed = breakpoints::Armed::default();
            proc.execd = true;
        }
        if phases {
            self.arm_startup(pid);
        }
        self.resume(pid, 0);
    }

    /// Sets the startup breakpoints of a program at its exec stop and marks the exec.
    fn arm_startup(&mut self, pid: i32) {
        let mark_ns = self.mark_ns();
        let (table, missing, unavailable) = match breakpoints::arm(pid) {
            breakpoints::Arming::NotGo => return,
            breakpoints::Arming::Unavailable(why) => (None, Vec::new(), Some(why)),
            breakpoints::Arming::Armed {
                armed,
                table,
                missing,
            } => {
                if let Some(proc) = self.procs.get_mut(&pid) {
                    proc.armed = armed;
                }
                (Some(table), missing, None)
            }
        };
        let tracing_ns = self.procs.get(&pid).map_or(0, |p| p.tracing_ns);
        self.emit(Event::StartupArmed {
            pid,
            table,
            missing: missing.into_iter().map(String::from).collect(),
            unavailable,
        });
        self.emit(Event::StartupMark {
            pid,
            mark: "exec",
            t_ns: mark_ns,
            tracing_ns,
        });
    }

    /// When the thread of the stop being handled stopped: half a calibrated round trip
    /// before golat saw the stop (the kernel stopping it and waking golat).
    fn mark_ns(&self) -> u64 {
        let (round_trip, _) = self.cfg.calibration.costs(self.tracer_slept);
        self.stop_seen_ns.saturating_sub(round_trip / 2)
    }

    /// A SIGTRAP: whether it was one of the process's startup breakpoints (then the
    /// program is ready to go on where it was, without the signal).
    fn on_breakpoint(&mut self, pid: i32, tid: i32) -> bool {
        let Some(proc) = self.procs.get_mut(&pid) else {
            return false;
        };
        if proc.armed.is_empty() {
            return false;
        }
        let Some(func) = breakpoints::hit(pid, tid, &mut proc.armed) else {
            return false;
        };
        let tracing_ns = proc.tracing_ns;
        let t_ns = self.mark_ns();
        self.emit(Event::StartupMark {
            pid,
            mark: breakpoints::FUNCS[func],
            t_ns,
            tracing_ns,
        });
        true
    }

    fn on_death(&mut self, tid: i32, status: RootStatus) {
        let now = self.now_ns();
        if let Some(thread) = self.threads.remove(&tid)
            && let Some(mut pending) = thread.pending
        {
            // Died inside the call: it has no result and no corrected duration.
            self.finish(&mut pending, now);
            pending.call.timing = Timing::None;
            pending.call.dur_us = 0.0;
            self.emit(Event::Call(pending.call));
        }
        if let Some(proc) = self.procs.remove(&tid) {
            let (exit_code, signal) = match status {
                RootStatus::Exited(c) => (Some(c), None),
                RootStatus::Signaled(s) => (None, Some(s)),
            };
            self.emit(Event::ProcessExited {
                pid: tid,
                t_ns: now,
                exit_code,
                signal,
                stops: proc.stops,
                tracing_ns: proc.tracing_ns,
            });
        }
        if tid == self.root {
            self.root_status = Some((status, now));
            if FORWARDED.load(Ordering::Relaxed) != 0 {
                // golat was told to stop: nothing of the tree may outlive the command.
                for pid in self.procs.keys() {
                    sys::kill(*pid, libc::SIGKILL);
                }
            }
        }
    }

    /// Fills the timing of a call that took an exit stop (or ended otherwise) at `now`.
    ///
    /// Entry-to-exit as golat sees it also holds the time the exit stop waited for golat
    /// while it served other tracees, which the calibrated round trip cannot remove. So
    /// when the thread ran the whole call in one go (scheduled in exactly once between
    /// resume and exit stop: it neither blocked nor was preempted), its own on-CPU time,
    /// less the calibrated on-CPU cost of the stops themselves, is the call's duration;
    /// otherwise entry-to-exit minus the calibrated round trip.
    ///
    /// An exit stop that had to wait for golat (it was serving other stops) was reported
    /// late by an unknown part of that wait, so entry-to-exit then overstates the call by
    /// up to the time since golat last saw no stop waiting: such a call is marked as
    /// disturbed by that bound when it is more than a tenth of the duration.
    fn finish(&mut self, pending: &mut Pending, now: u64) {
        let inclusive = now.saturating_sub(pending.resumed_ns);
        pending.call.dur_us_inclusive = inclusive as f64 / 1000.0;
        let (round_trip, oncpu_cost) = self.cfg.calibration.costs(self.tracer_slept);
        let round_trip_corrected = inclusive.saturating_sub(round_trip);
        let on_cpu = one_slice_oncpu(pending.sched, sys::schedstat(pending.call.tid))
            .map(|cpu| cpu.saturating_sub(oncpu_cost));
        let dur = on_cpu.map_or(round_trip_corrected, |cpu| cpu.min(round_trip_corrected));
        pending.call.dur_us = dur as f64 / 1000.0;
        pending.call.timing = Timing::Corrected;
        if on_cpu.is_none()
            && self.stop_was_queued
            && let Some(late) = late_by_at_most(
                self.stop_seen_ns,
                pending.resumed_ns,
                self.queue_empty_ns,
                dur,
            )
        {
            pending.call.disturbed_us = Some(late as f64 / 1000.0);
            self.disturbed_calls += 1;
            self.disturbed_ns += late;
        }
    }

    fn on_syscall_exit(&mut self, tid: i32) {
        let now = self.now_ns();
        let pending = self.threads.get_mut(&tid).and_then(|t| t.pending.take());
        let Some(mut pending) = pending else {
            return self.resume(tid, 0);
        };
        if let Ok(info) = sys::syscall_info(tid)
            && info.op == sys::OP_EXIT
        {
            if info.is_error() {
                pending.call.errno = Some(sys::errno_atom(-info.rval() as i32));
            } else {
                pending.call.ret = Some(info.rval());
                if matches!(pending.sys.kind, Kind::Chdir | Kind::Fchdir) {
                    let pid = pending.call.pid;
                    if let Ok(cwd) = sys::readlink(&format!("/proc/{tid}/cwd"))
                        && let Some(proc) = self.procs.get_mut(&pid)
                    {
                        proc.cwd = cwd;
                    }
                }
            }
        }
        self.finish(&mut pending, now);
        self.emit(Event::Call(pending.call));
        self.resume(tid, 0);
    }

    fn on_seccomp(&mut self, tid: i32) {
        let stopped_ns = self.now_ns();
        let pid = self.pid_of(tid);
        let info = match sys::syscall_info(tid) {
            Ok(info) if info.op == sys::OP_SECCOMP => info,
            _ => return self.resume(tid, 0),
        };
        let Some(sys) = syscalls::lookup(info.arch, info.nr_or_rval) else {
            return self.resume(tid, 0);
        };
        let compat = info.arch == syscalls::AUDIT_ARCH_I386;
        let a = info.args;
        if sys.kind == Kind::WriteStderr {
            return self.on_stderr_write(tid, pid, &info, compat);
        }
        let mut call = Call {
            pid,
            tid,
            name: Atom::new(sys.name),
            path: None,
            path2: None,
            flags: None,
            addr: None,
            ret: None,
            errno: None,
            t_ms: stopped_ns as f64 / 1e6,
            dur_us: 0.0,
            dur_us_inclusive: 0.0,
            timing: Timing::None,
            disturbed_us: None,
        };
        // (path for the record, path to replay on)
        let mut target: Option<Target> = None;
        let mut replayable = false;
        let mut open_flags = 0i32;
        let as_fd = |v: u64| v as i32;
        match sys.kind {
            Kind::Open | Kind::OpenAt | Kind::OpenAt2 => {
                let (dirfd, path_arg, flags) = match sys.kind {
                    Kind::Open => (libc::AT_FDCWD, a[0], a[1] as i64),
                    Kind::OpenAt => (as_fd(a[0]), a[1], a[2] as i64),
                    _ => {
                        let mut how = [0u8; 8];
                        let flags = sys::read_mem(tid, a[2], &mut how)
                            .map(|_| u64::from_ne_bytes(how) as i64)
                            .unwrap_or(0);
                        (as_fd(a[0]), a[1], flags)
                    }
                };
                let flags = if compat { flags & 0xffff_ffff } else { flags };
                open_flags = flags as i32;
                // A build opens with a handful of flag sets, thousands of times.
                call.flags = Some(
                    self.open_flag_atoms
                        .entry(flags)
                        .or_insert_with(|| decode::open_flags(flags).into())
                        .clone(),
                );
                target = self.resolve(tid, pid, dirfd, path_arg, false);
                let creates = flags & i64::from(libc::O_CREAT) != 0
                    || flags & i64::from(libc::O_TMPFILE) == i64::from(libc::O_TMPFILE);
                replayable = !creates;
            }
            Kind::Creat => {
                call.flags = Some("O_CREAT|O_WRONLY|O_TRUNC".into());
                target = self.resolve(tid, pid, libc::AT_FDCWD, a[0], false);
            }
            Kind::Stat { nofollow } => {
                if nofollow {
                    call.flags = Some("AT_SYMLINK_NOFOLLOW".into());
                }
                target = self.resolve(tid, pid, libc::AT_FDCWD, a[0], false);
                replayable = true;
            }
            Kind::StatAt => {
                call.flags = decode::at_flags_atom(a[3] as i64);
                let empty_ok = a[3] as i32 & libc::AT_EMPTY_PATH != 0;
                target = self.resolve(tid, pid, as_fd(a[0]), a[1], empty_ok);
                replayable = true;
            }
            Kind::Statx => {
                call.flags = decode::at_flags_atom(a[2] as i64 & 0xffff);
                let empty_ok = a[2] as i32 & libc::AT_EMPTY_PATH != 0;
                target = self.resolve(tid, pid, as_fd(a[0]), a[1], empty_ok);
                replayable = true;
            }
            Kind::Readlink => {
                target = self.resolve(tid, pid, libc::AT_FDCWD, a[0], false);
                replayable = true;
            }
            Kind::ReadlinkAt => {
                target = self.resolve(tid, pid, as_fd(a[0]), a[1], false);
                replayable = true;
            }
            Kind::Access => {
                call.flags = Some(decode::access_mode(a[1] as i64).into());
                target = self.resolve(tid, pid, libc::AT_FDCWD, a[0], false);
                replayable = true;
            }
            Kind::AccessAt { has_flags } => {
                call.flags = Some(decode::access_mode(a[2] as i64).into());
                if has_flags && let Some(f) = decode::access_at_flags(a[3] as i64) {
                    call.flags = Some(format!("{}, {f}", decode::access_mode(a[2] as i64)).into());
                }
                let empty_ok = has_flags && a[3] as i32 & libc::AT_EMPTY_PATH != 0;
                target = self.resolve(tid, pid, as_fd(a[0]), a[1], empty_ok);
                replayable = true;
            }
            Kind::Getdents | Kind::Fchdir => {
                target = self.fd_path(tid, as_fd(a[0])).map(|p| (p, None));
            }
            Kind::PathOnly | Kind::Chdir => {
                target = self.resolve(tid, pid, libc::AT_FDCWD, a[0], false);
            }
            Kind::Execve => {
                target = self.resolve(tid, pid, libc::AT_FDCWD, a[0], false);
                self.steer_inittrace(tid, target.as_ref(), a[2], compat);
            }
            Kind::PathAt => {
                target = self.resolve(tid, pid, as_fd(a[0]), a[1], false);
                call.flags = decode::at_flags_atom(a[2] as i64);
            }
            Kind::ExecveAt => {
                let empty_ok = a[4] as i32 & libc::AT_EMPTY_PATH != 0;
                target = self.resolve(tid, pid, as_fd(a[0]), a[1], empty_ok);
                call.flags = decode::at_flags_atom(a[4] as i64);
                self.steer_inittrace(tid, target.as_ref(), a[3], compat);
            }
            Kind::Rename => {
                target = self.resolve(tid, pid, libc::AT_FDCWD, a[0], false);
                call.path2 = self
                    .resolve(tid, pid, libc::AT_FDCWD, a[1], false)
                    .map(|p| Atom::from(p.0));
            }
            Kind::RenameAt => {
                target = self.resolve(tid, pid, as_fd(a[0]), a[1], false);
                call.path2 = self
                    .resolve(tid, pid, as_fd(a[2]), a[3], false)
                    .map(|p| Atom::from(p.0));
            }
            Kind::Connect | Kind::SocketCallConnect => {
                let (addr, len) = match sys.kind {
                    Kind::Connect => (a[1], a[2]),
                    _ => sys::socketcall_args(tid, a[1]).map_or((0, 0), |w| (w[1], w[2])),
                };
                let mut buf = vec![0u8; (len as usize).min(128)];
                if sys::read_mem(tid, addr, &mut buf).is_ok() {
                    call.addr = decode::sockaddr(&buf).map(Atom::from);
                }
            }
            Kind::WriteStderr => unreachable!("handled above"),
        }
        let (record, replay_path) = match target {
            Some((record, replay)) => (Some(record), replay),
            None => (None, None),
        };

        // The timing policy (see `policy`): replay where the copy is cheap and the filesystem
        // answers the program's own call from its cache; measure the real call elsewhere.
        let mut measure_instead = None;
        let mut mount = None;
        if replayable {
            mount = record
                .as_deref()
                .and_then(|p| self.policy.mount_of(p.as_bytes()));
            measure_instead = if self.cfg.exit_stops_all {
                Some(Why::Exact)
            } else if self.procs.get(&pid).is_some_and(|p| p.foreign_ns) {
                Some(Why::ForeignNamespace)
            } else {
                self.policy.exit_stop_reason(mount)
            };
        }
        // `--slow`: a held call runs after its delay and is measured at its exit stop (a
        // replay now would run before the delay, a replay after it would double the call).
        let hold_ns = match record.as_deref() {
            Some(p)
                if !self.cfg.slow.is_empty()
                    && !matches!(sys.kind, Kind::Connect | Kind::SocketCallConnect) =>
            {
                self.cfg
                    .slow
                    .iter()
                    .filter_map(|d| d.delay_for(p.as_bytes()))
                    .max()
                    .unwrap_or(0)
            }
            _ => 0,
        };
        // The path to replay on, NUL-terminated: the recorded one unless it differs.
        let replay_c = match (&replay_path, &record) {
            _ if !replayable || measure_instead.is_some() || hold_ns > 0 => None,
            (Some(r), _) => CString::new(r.as_bytes()).ok(),
            (None, Some(r)) => CString::new(r.as_bytes()).ok(),
            (None, None) => None,
        };
        call.path = record.map(Atom::from);
        if let Some(c) = replay_c {
            let r = match sys.kind {
                Kind::Open | Kind::OpenAt | Kind::OpenAt2 => replay::open(&c, open_flags),
                Kind::Stat { nofollow } => replay::stat(
                    &c,
                    if nofollow {
                        libc::AT_SYMLINK_NOFOLLOW
                    } else {
                        0
                    },
                ),
                Kind::StatAt => replay::stat(&c, a[3] as i32),
                Kind::Statx => replay::statx(&c, a[2] as i32, a[3] as u32),
                Kind::Readlink | Kind::ReadlinkAt => replay::readlink(&c),
                Kind::Access => replay::access(&c, a[1] as i32, 0),
                Kind::AccessAt { has_flags } => {
                    replay::access(&c, a[2] as i32, if has_flags { a[3] as i32 } else { 0 })
                }
                _ => unreachable!("only side-effect-free kinds are replayable"),
            };
            if r.special {
                measure_instead = Some(Why::SpecialFile);
            } else {
                match r.result {
                    Ok(v) => {
                        // A replayed open has no fd number: only the program's own open has one.
                        if !matches!(sys.kind, Kind::Open | Kind::OpenAt | Kind::OpenAt2) {
                            call.ret = Some(v);
                        }
                    }
                    Err(e) => call.errno = Some(sys::errno_atom(e)),
                }
                call.dur_us = r.dur_ns as f64 / 1000.0;
                call.timing = Timing::Replayed;
                match r.disturbed_ns {
                    Some(d) => {
                        call.disturbed_us = Some(d as f64 / 1000.0);
                        self.disturbed_calls += 1;
                        self.disturbed_ns += d;
                    }
                    None => {
                        let path = call.path.as_deref().unwrap_or_default();
                        self.policy.replayed(mount, path, r.dur_ns, stopped_ns);
                    }
                }
                self.entry_only += 1;
                self.resume(tid, 0);
                call.dur_us_inclusive = self.now_ns().saturating_sub(stopped_ns) as f64 / 1000.0;
                self.emit(Event::Call(call));
                return;
            }
        }
        if let Some(why) = measure_instead
            && hold_ns == 0
        {
            self.policy.measured(mount, why);
        }
        self.exit_stops += 1;
        // A held call's duration holds its delay, as the call would last on a slow mount;
        // its on-CPU time (a slice after the hold) would leave the delay out.
        let sched = if hold_ns > 0 {
            None
        } else {
            sys::schedstat(tid)
        };
        let resumed_ns = self.now_ns();
        if let Some(thread) = self.threads.get_mut(&tid) {
            thread.pending = Some(Pending {
                sys,
                call,
                resumed_ns,
                sched,
            });
        }
        if hold_ns > 0 {
            // Held without holding anyone else: golat goes on serving other stops and
            // `release_due` resumes this thread when its time has come.
            self.injected_calls += 1;
            self.injected_ns += hold_ns;
            let due = sys::monotonic_ns() + hold_ns;
            self.held.push(std::cmp::Reverse((due, tid)));
            return;
        }
        self.resume(tid, 0);
    }

    /// With `InitScope::User`, golat's GODEBUG (the user's settings plus `inittrace=1`) and
    /// the user's own sit in the environment under the names GODEBUG and GODEBUX, and at
    /// every exec the names are set for the new program: a program outside the Go toolchain
    /// gets golat's as GODEBUG; the go command and its tools (`$GOROOT/pkg/tool/*/compile`,
    /// link, asm, vet, ...) the user's. A toolchain process's init chain is fixed by the Go
    /// release, capturing it costs twelve stops per package init (1.9k for the go command
    /// alone, more than its inits take), and the go command keys its test cache on GODEBUG.
    /// Names are rewritten in place (one byte) in the envp the exec is handed: for a Go
    /// parent, a copy made for this exec alone (syscall.SlicePtrFromStrings). Only entries
    /// whose values are exactly golat's or the user's are touched. A caller on the i386
    /// ABI (a GOARCH=386 program) hands an array of 4-byte pointers.
    fn steer_inittrace(&self, tid: i32, target: Option<&Target>, envp: u64, compat: bool) {
        if self.cfg.init != InitCapture::Hide || self.cfg.init_scope != InitScope::User {
            return;
        }
        let (Some((ours, user)), Some((path, _))) = (&self.godebug_ours, target) else {
            return;
        };
        let from_go_tool = self
            .threads
            .get(&tid)
            .and_then(|t| self.procs.get(&t.pid))
            .is_some_and(|p| p.from_go_tool);
        let program = !spared_from_inittrace(path) && !from_go_tool;
        let mut ptrs = [0u8; 8 * 256];
        let Ok(n) = sys::read_mem(tid, envp, &mut ptrs) else {
            return;
        };
        let mut todo = 1 + usize::from(user.is_some());
        let width = if compat { 4 } else { 8 };
        let vars: Vec<u64> = ptrs[..n - n % width]
            .chunks_exact(width)
            .map(|chunk| match *chunk {
                [a, b, c, d] => u64::from(u32::from_ne_bytes([a, b, c, d])),
                _ => u64::from_ne_bytes(chunk.try_into().expect("8 bytes")),
            })
            .take_while(|&ptr| ptr != 0)
            .collect();
        // The first 8 bytes of every variable in one read (one read per variable cost the
        // exec'ing thread about a microsecond each): only GODEBUG= and GODEBUX= are read
        // in full. A variable the batch did not reach is read on its own.
        let mut heads = vec![0u8; 8 * vars.len()];
        let got = sys::read_mem_many(tid, &vars, 8, &mut heads);
        for (i, &ptr) in vars.iter().enumerate() {
            if todo == 0 {
                break;
            }
            let head = &heads[i * 8..i * 8 + 8];
            if i < got && head != b"GODEBUG=" && head != b"GODEBUX=" {
                continue;
            }
            let Ok(var) = sys::read_cstr(tid, ptr, 4096) else {
                continue;
            };
            if !(var.starts_with(b"GODEBUG=") || var.starts_with(b"GODEBUX=")) {
                continue;
            }
            let value = &var[8..];
            let is_ours = value == ours.as_slice();
            if !is_ours && user.as_deref() != Some(value) {
                continue;
            }
            todo -= 1;
            let want = if is_ours == program { b'G' } else { b'X' };
            if var[6] != want {
                let _ = sys::write_mem(tid, ptr + 6, &[want]);
            }
        }
    }

    fn on_stderr_write(&mut self, tid: i32, pid: i32, info: &sys::SyscallInfo, compat: bool) {
        let (addr, count) = (info.args[1], info.args[2] as usize);
        let Some(proc) = self.procs.get_mut(&pid) else {
            return self.resume(tid, 0);
        };
        // cmd/go prints each gocachehash line with one Fprintf to os.Stderr: one write of
        // `HASH[name]: ...\n` or `HASH file: ...\n`, from any of its threads.
        if self.cfg.cachehash && proc.go_command && (6..=MAX_HASH_WRITE).contains(&count) {
            let mut buf = vec![0u8; count];
            if sys::read_mem(tid, addr, &mut buf).is_ok_and(|n| n == count)
                && stderr::is_cachehash_line(&buf)
            {
                hide_write(tid, compat);
                buf.pop();
                let line = String::from_utf8(buf)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                self.emit(Event::CacheHash { pid, line });
                return self.resume(tid, 0);
            }
        }
        // Runtime pieces are short; a long write is never one. And the runtime runs package
        // inits on the main thread, locked to it (runtime.main: lockOSThread before
        // doInit), so writes of other threads are never pieces: they must neither be
        // claimed nor break a line in progress.
        let was_in_line = proc.init.in_line();
        let piece = if tid != pid || count == 0 || count > 512 {
            stderr::Piece::Other
        } else {
            let mut buf = vec![0u8; count];
            match sys::read_mem(tid, addr, &mut buf) {
                Ok(n) if n == count => proc.init.feed(&buf),
                _ => stderr::Piece::Other,
            }
        };
        let hide = self.cfg.init == InitCapture::Hide;
        if was_in_line && piece == stderr::Piece::Other && hide && tid == pid {
            self.emit(Event::Warning {
                kind: "inittrace".into(),
                message: format!(
                    "pid {pid}: a write to stderr interrupted an inittrace line; the pieces golat had \
                     already hidden are lost"
                ),
            });
        }
        match piece {
            stderr::Piece::Other => {}
            stderr::Piece::Partial | stderr::Piece::Line(_) if hide => hide_write(tid, compat),
            _ => {}
        }
        if let stderr::Piece::Line(line) = piece {
            let t_ns = self.now_ns();
            self.emit(Event::InitTrace {
                pid,
                t_ns,
                line,
                hidden: hide,
            });
        }
        self.resume(tid, 0);
    }

    /// Reads a path argument and makes it absolute: (path to record, path to replay on).
    /// The recorded path is lexically clean; the replay path keeps `..` so the kernel
    /// resolves it as the tracee's call will, and maps /proc/self to the tracee.
    fn resolve(
        &self,
        tid: i32,
        pid: i32,
        dirfd: i32,
        addr: u64,
        empty_means_fd: bool,
    ) -> Option<Target> {
        let raw = match sys::read_cstr(tid, addr, 4096) {
            Ok(raw) => raw,
            Err(_) if addr == 0 && empty_means_fd => Vec::new(),
            Err(e) => {
                let s = format!("<unreadable: {}>", errno_name(e));
                return Some((s.clone(), Some(s)));
            }
        };
        if raw.is_empty() {
            if empty_means_fd {
                let shown = self.fd_path(tid, dirfd)?;
                return Some((shown, Some(format!("/proc/{tid}/fd/{dirfd}"))));
            }
            return Some((String::new(), None));
        }
        let joined = if raw.first() == Some(&b'/') {
            String::from_utf8(raw)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        } else {
            let rel = String::from_utf8_lossy(&raw);
            let sep = |base: &str| if base.ends_with('/') { "" } else { "/" };
            if dirfd == libc::AT_FDCWD {
                let base = &self.procs.get(&pid)?.cwd;
                format!("{base}{}{rel}", sep(base))
            } else {
                let base = self.fd_path(tid, dirfd)?;
                format!("{base}{}{rel}", sep(&base))
            }
        };
        // The replay keeps `..` (the kernel resolves it as the tracee's call will): it is a
        // path of its own only when the recorded one is cleaned or names /proc/self.
        let proc_self = proc_self_to(&joined, pid, tid);
        if decode::is_clean(&joined) {
            return Some((joined, proc_self));
        }
        let record = decode::clean(joined.clone());
        Some((record, Some(proc_self.unwrap_or(joined))))
    }

    fn fd_path(&self, tid: i32, fd: i32) -> Option<String> {
        sys::readlink(&format!("/proc/{tid}/fd/{fd}")).ok()
    }
}

/// A call's path: (the absolute, lexically clean path to record, the path to replay on when
/// it differs: `..` kept, /proc/self mapped to the tracee, an fd's /proc link).
type Target = (String, Option<String>);

/// `/proc/self/...` and `/proc/thread-self/...` name the tracee, not golat.
fn proc_self_to(path: &str, pid: i32, tid: i32) -> Option<String> {
    if let Some(rest) = path.strip_prefix("/proc/self")
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return Some(format!("/proc/{pid}{rest}"));
    }
    if let Some(rest) = path.strip_prefix("/proc/thread-self")
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return Some(format!("/proc/{pid}/task/{tid}{rest}"));
    }
    None
}

/// golat's GODEBUG value (the entry, named GODEBUG or GODEBUX, whose last `inittrace=`
/// setting is 1) and the user's (the other one), from the environment golat starts with.
fn godebug_pair(envp: &[std::ffi::CString]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let entries: Vec<&[u8]> = envp
        .iter()
        .map(|e| e.as_bytes())
        .filter(|e| e.starts_with(b"GODEBUG=") || e.starts_with(b"GODEBUX="))
        .collect();
    let ours = entries.iter().find(|e| godebug_inittrace_on(&e[8..]))?;
    let user = entries.iter().find(|e| *e != ours).map(|e| e[8..].to_vec());
    Some((ours[8..].to_vec(), user))
}

/// Whether a GODEBUG value turns inittrace on: its last `inittrace=` setting is 1 (the last
/// setting of a key wins).
pub fn godebug_inittrace_on(value: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .filter_map(|kv| kv.trim_ascii().strip_prefix(b"inittrace="))
        .next_back()
        .is_some_and(|v| v == b"1")
}

/// Longest write golat reads as one gocachehash line (a `modinfo` input of a big module can
/// run to kilobytes; no line is near this).
const MAX_HASH_WRITE: usize = 1 << 20;

/// Points the write a thread is stopped at to fd -1: it fails with EBADF, which the
/// runtime's print and cmd/go's `fmt.Fprintf(os.Stderr, ...)` ignore, and nothing reaches
/// the user's stderr. One stop, no exit stop.
fn hide_write(tid: i32, compat: bool) {
    let (offset, value) = if compat {
        (sys::USER_REGS_RBX, 0xffff_ffff)
    } else {
        (sys::USER_REGS_RDI, u64::MAX)
    };
    let _ = sys::poke_user(tid, offset, value);
}

/// The go command itself (`.../bin/go`, or a golang.org/dl `go1.N.M` wrapper).
fn is_go_command_binary(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    base == "go"
        || base.strip_prefix("go1.").is_some_and(|v| {
            !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
        })
}

/// Whether an exec target is part of the Go toolchain, whose init chains `--inittrace user`
/// leaves out: the go command (also a golang.org/dl `go1.N` wrapper, or the toolchain
/// GOTOOLCHAIN switches to) and the tools under `$GOROOT/pkg/tool/`.
pub fn spared_from_inittrace(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    let dl_wrapper = base.strip_prefix("go1.").is_some_and(|v| {
        !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
    });
    base == "go" || dl_wrapper || is_toolchain_tool(path)
}

/// A binary of the Go toolchain's own: `<GOROOT>/pkg/tool/<goos>_<goarch>/<tool>`.
fn is_toolchain_tool(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    let (_tool, platform, tool_dir, pkg) = (parts.next(), parts.next(), parts.next(), parts.next());
    pkg == Some("pkg") && tool_dir == Some("tool") && platform.is_some_and(|p| p.contains('_'))
}

/// Whether a PTRACE_EVENT_CLONE made a thread: CLONE_THREAD in the flags of the clone
/// call, else /proc/NEW/status Tgid.
fn clone_is_thread(parent_tid: i32, new: i32) -> bool {
    if let Ok(regs) = sys::get_regs(parent_tid) {
        let flags = match regs.orig_rax as i64 {
            libc::SYS_clone => Some(regs.rdi),
            libc::SYS_clone3 => {
                let mut buf = [0u8; 8];
                sys::read_mem(parent_tid, regs.rdi, &mut buf)
                    .ok()
                    .map(|_| u64::from_ne_bytes(buf))
            }
            _ => None,
        };
        if let Some(flags) = flags {
            return flags & libc::CLONE_THREAD as u64 != 0;
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{new}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse::<i32>().ok())
        .is_some_and(|tgid| tgid != new)
}

fn read_nul_list(path: &str) -> Vec<String> {
    std::fs::read(path)
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_backs_off_while_tracees_compute_and_returns_with_bursts() {
        let long = SPIN_WORTH_NS * 10;
        // Polled in vain: halve, down to not polling at all.
        let mut budget = WAIT_SPIN_POLLS;
        let mut misses = 0;
        while budget > 0 {
            budget = next_polls(budget, budget, false, long);
            misses += 1;
        }
        assert!(misses <= 8, "{misses}");
        // Sleeping long without polling keeps it off; a quick stop brings polling back.
        assert_eq!(next_polls(0, 0, false, long), 0);
        assert_eq!(next_polls(0, 0, false, SPIN_WORTH_NS / 2), WAIT_SPIN_POLLS);
        assert_eq!(next_polls(3, 3, true, 1_000), WAIT_SPIN_POLLS);
    }

    #[test]
    fn an_exit_stop_that_waited_for_golat_is_marked_by_how_late_it_may_be() {
        // Resumed at 0, golat saw no stop waiting at 1.9 ms, saw this one at 2.0 ms: at
        // most 0.1 ms late on a 2 ms call, within a tenth.
        assert_eq!(late_by_at_most(2_000_000, 0, 1_900_000, 2_000_000), None);
        // golat was busy from 0.5 ms on: the call may have ended any time after that.
        assert_eq!(
            late_by_at_most(2_000_000, 0, 500_000, 1_900_000),
            Some(1_500_000)
        );
        // Never more than the duration itself; short calls need DISTURBED_MIN_NS.
        assert_eq!(late_by_at_most(1_000_000, 0, 0, 300_000), Some(300_000));
        assert_eq!(late_by_at_most(9_000, 0, 0, 9_000), None);
    }

    #[test]
    fn finds_the_inittrace_golat_appended() {
        let on = |s: &str| godebug_inittrace_on(s.as_bytes());
        assert!(on("inittrace=1"));
        assert!(!on("inittrace=0"));
        assert!(on("gctrace=1,inittrace=1"));
        assert!(on("inittrace=1,traceadvanceperiod=10000000"));
        assert!(!on("inittrace=1,inittrace=0"));
        assert!(!on("inittrace=0,inittrace=2"));
        assert!(!on("gctrace=1"));
    }

    #[test]
    fn tells_golats_godebug_from_the_users() {
        let env = |v: &[&str]| -> Vec<std::ffi::CString> {
            v.iter()
                .map(|s| std::ffi::CString::new(*s).unwrap())
                .collect()
        };
        let pair = godebug_pair(&env(&[
            "PATH=/bin",
            "GODEBUG=gctrace=0",
            "GODEBUX=gctrace=0,inittrace=1",
        ]));
        assert_eq!(
            pair,
            Some((
                b"gctrace=0,inittrace=1".to_vec(),
                Some(b"gctrace=0".to_vec())
            ))
        );
        let pair = godebug_pair(&env(&["GODEBUG=inittrace=1,traceadvanceperiod=1"]));
        assert_eq!(
            pair,
            Some((b"inittrace=1,traceadvanceperiod=1".to_vec(), None))
        );
        assert_eq!(godebug_pair(&env(&["GODEBUG=gctrace=0"])), None);
    }

    #[test]
    fn the_go_command_and_its_tools_are_spared_other_programs_not() {
        for spared in [
            "/usr/local/go/bin/go",
            "/root/go/pkg/mod/golang.org/toolchain@v0.0.1-go1.27.0.linux-amd64/bin/go",
            "/root/go/bin/go1.22.3",
            "/usr/local/go/pkg/tool/linux_amd64/compile",
        ] {
            assert!(spared_from_inittrace(spared), "{spared}");
        }
        for traced in [
            "/tmp/go-build1/b001/exe/hello",
            "/usr/bin/gofmt",
            "/bin/sh",
            "/x/go1.",
        ] {
            assert!(!spared_from_inittrace(traced), "{traced}");
        }
    }

    #[test]
    fn toolchain_tools_are_recognised_by_their_place() {
        assert!(is_toolchain_tool(
            "/usr/local/go/pkg/tool/linux_amd64/compile"
        ));
        assert!(!is_toolchain_tool("/usr/local/go/bin/go"));
        assert!(!is_toolchain_tool("/tmp/go-build1/b001/exe/hello"));
    }
}
