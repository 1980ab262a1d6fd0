//! Thin, checked wrappers over the raw ptrace, wait and memory calls the tracer makes.
//! Every `unsafe` block of golat lives under `src/tracer/`.

use std::ffi::CString;
use std::io;

/// A raw errno value (`libc::ESRCH`, ...). ESRCH from any ptrace request means "that thread
/// is gone": callers treat it as data, not as a failure.
pub type Errno = i32;

fn last_errno() -> Errno {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn check(ret: libc::c_long) -> Result<libc::c_long, Errno> {
    if ret == -1 {
        Err(last_errno())
    } else {
        Ok(ret)
    }
}

/// No PTRACE_O_TRACEEXIT: its stop (one per exiting thread, a thousand in a cold build)
/// would tell golat nothing the death report does not; a call in flight when a thread
/// dies is closed at its death report.
pub const PTRACE_OPTIONS: libc::c_int = libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_TRACESECCOMP
    | libc::PTRACE_O_EXITKILL;

pub fn seize(pid: i32, options: libc::c_int) -> Result<(), Errno> {
    // SAFETY: PTRACE_SEIZE takes the options in `data`; no memory is passed.
    check(unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0usize, options as usize) }).map(|_| ())
}

/// Resume: PTRACE_CONT (run to the next filtered call) or PTRACE_SYSCALL (also stop at the
/// exit of the current call), delivering `sig` (0 for none).
pub fn resume(tid: i32, stop_at_exit: bool, sig: i32) -> Result<(), Errno> {
    let request = if stop_at_exit {
        libc::PTRACE_SYSCALL
    } else {
        libc::PTRACE_CONT
    };
    // SAFETY: resume requests pass the signal number in `data`.
    check(unsafe { libc::ptrace(request, tid, 0usize, sig as usize) }).map(|_| ())
}

/// PTRACE_LISTEN: leave a group-stopped tracee stopped but let it be woken by SIGCONT.
pub fn listen(tid: i32) -> Result<(), Errno> {
    // SAFETY: no memory is passed.
    check(unsafe { libc::ptrace(libc::PTRACE_LISTEN, tid, 0usize, 0usize) }).map(|_| ())
}

pub fn event_msg(tid: i32) -> Result<u64, Errno> {
    let mut msg: libc::c_ulong = 0;
    // SAFETY: PTRACE_GETEVENTMSG writes one unsigned long to `data`.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_GETEVENTMSG,
            tid,
            0usize,
            &mut msg as *mut libc::c_ulong,
        )
    })?;
    Ok(msg as u64)
}

/// `struct ptrace_syscall_info` (linux/ptrace.h), seccomp variant of the union (the largest).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SyscallInfo {
    pub op: u8,
    pad: [u8; 3],
    pub arch: u32,
    pub instruction_pointer: u64,
    pub stack_pointer: u64,
    /// entry/seccomp: nr; exit: rval (as i64)
    pub nr_or_rval: u64,
    /// entry/seccomp: args; exit: args[0] low byte is `is_error`
    pub args: [u64; 6],
    pub ret_data: u32,
    pad2: u32,
}

pub const OP_EXIT: u8 = 2;
pub const OP_SECCOMP: u8 = 3;

impl SyscallInfo {
    pub fn rval(&self) -> i64 {
        self.nr_or_rval as i64
    }
    pub fn is_error(&self) -> bool {
        self.args[0] & 0xff != 0
    }
}

/// PTRACE_GET_SYSCALL_INFO: tells entry, exit and seccomp stops apart without keeping a
/// flag that a lost stop would flip the wrong way (Linux 5.3+).
pub fn syscall_info(tid: i32) -> Result<SyscallInfo, Errno> {
    let mut info = SyscallInfo::default();
    // SAFETY: the kernel writes at most `addr` bytes into `data`.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_GET_SYSCALL_INFO,
            tid,
            std::mem::size_of::<SyscallInfo>(),
            &mut info as *mut SyscallInfo,
        )
    })?;
    Ok(info)
}

/// Offsets into `struct user_regs_struct` (x86_64) of the first argument register of each ABI.
pub const USER_REGS_RDI: usize = 14 * 8;
pub const USER_REGS_RBX: usize = 5 * 8;

/// PTRACE_POKEUSER: change one register of a stopped tracee.
pub fn poke_user(tid: i32, offset: usize, value: u64) -> Result<(), Errno> {
    // SAFETY: POKEUSER writes `data` to the user area at `addr`; no memory of ours is passed.
    check(unsafe { libc::ptrace(libc::PTRACE_POKEUSER, tid, offset, value as usize) }).map(|_| ())
}

/// `struct user_regs_struct` offset of rip (eip for an i386 tracee: the kernel maps it).
pub const USER_REGS_RIP: usize = 16 * 8;

/// PTRACE_GETSIGINFO's `si_code` at a signal-delivery stop (SI_KERNEL for an int3).
pub fn sig_code(tid: i32) -> Result<i32, Errno> {
    // SAFETY: zeroed is a valid siginfo_t (plain integers and unions of them).
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: PTRACE_GETSIGINFO fills one siginfo_t at `data`.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_GETSIGINFO,
            tid,
            0usize,
            &mut info as *mut libc::siginfo_t,
        )
    })?;
    Ok(info.si_code)
}

/// Registers at a stop (clone flags at a clone event, the pc at a breakpoint).
pub fn get_regs(tid: i32) -> Result<libc::user_regs_struct, Errno> {
    // SAFETY: zeroed is a valid user_regs_struct (plain integers).
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: PTRACE_GETREGS fills one user_regs_struct at `data`.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGS,
            tid,
            0usize,
            &mut regs as *mut libc::user_regs_struct,
        )
    })?;
    Ok(regs)
}

/// A decoded wait status; realtime signals and ptrace events keep their raw numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Exited(i32),
    Signaled(i32),
    /// Stopped with `sig` (WSTOPSIG) and `event` (status >> 16).
    Stopped {
        sig: i32,
        event: i32,
    },
}

pub fn decode(status: i32) -> Status {
    if libc::WIFEXITED(status) {
        Status::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Status::Signaled(libc::WTERMSIG(status))
    } else {
        Status::Stopped {
            sig: libc::WSTOPSIG(status),
            event: (status >> 16) & 0xff,
        }
    }
}

/// What `wait_any` found: the stopped or dead thread, its status, and whether it came
/// while polling (so the tracer did not sleep).
pub struct Waited {
    pub tid: i32,
    pub status: i32,
    pub while_polling: bool,
    /// The first poll returned it: the stop was already waiting when golat came to wait.
    pub first_poll: bool,
}

/// waitpid(-1, __WALL) after up to `polls` non-blocking tries. `None` when no tracee is
/// left (ECHILD).
pub fn wait_any(polls: u32) -> Result<Option<Waited>, Errno> {
    match wait_until(polls, None)? {
        Wait::Stop(w) => Ok(Some(w)),
        Wait::NoTracees => Ok(None),
        Wait::Deadline => unreachable!("no deadline was set"),
    }
}

/// What `wait_until` returned.
pub enum Wait {
    Stop(Waited),
    /// No tracee is left (ECHILD).
    NoTracees,
    /// The deadline passed before any stop came.
    Deadline,
}

/// `wait_any`, but a blocking wait returns `Deadline` once the thread's delay timer
/// (`DelayTimer`) fires past `deadline` (CLOCK_MONOTONIC ns): golat holds threads for
/// `--slow` and must release them on time while it keeps waiting for other stops.
pub fn wait_until(polls: u32, deadline: Option<(&DelayTimer, u64)>) -> Result<Wait, Errno> {
    let past = |d: u64| monotonic_ns() >= d;
    for poll in 0..polls {
        let mut status = 0;
        // SAFETY: waitpid writes the status into our local.
        let tid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL | libc::WNOHANG) };
        if tid > 0 {
            return Ok(Wait::Stop(Waited {
                tid,
                status,
                while_polling: true,
                first_poll: poll == 0,
            }));
        }
        if tid < 0 {
            match last_errno() {
                libc::EINTR => continue,
                libc::ECHILD => return Ok(Wait::NoTracees),
                other => return Err(other),
            }
        }
        if deadline.is_some_and(|(_, d)| past(d)) {
            return Ok(Wait::Deadline);
        }
        std::hint::spin_loop();
    }
    if let Some((timer, d)) = deadline {
        if past(d) {
            return Ok(Wait::Deadline);
        }
        timer.arm(d);
    }
    let result = loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into our local.
        let tid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
        if tid >= 0 {
            break Ok(Wait::Stop(Waited {
                tid,
                status,
                while_polling: false,
                first_poll: false,
            }));
        }
        match last_errno() {
            libc::EINTR if deadline.is_some_and(|(_, d)| past(d)) => break Ok(Wait::Deadline),
            libc::EINTR => continue,
            libc::ECHILD => break Ok(Wait::NoTracees),
            other => break Err(other),
        }
    };
    if let Some((timer, _)) = deadline {
        timer.disarm();
    }
    result
}

/// The signal the delay timer interrupts golat's waitpid with: not one a user sends,
/// and golat's handler does nothing but return (without SA_RESTART, so waitpid fails
/// with EINTR).
const DELAY_SIGNAL: libc::c_int = libc::SIGALRM;
/// After its first expiry the timer fires again this often until disarmed: a signal that
/// lands in the instant between golat's deadline check and its waitpid cannot then leave
/// waitpid asleep for longer than this.
const DELAY_TIMER_REPEAT_NS: i64 = 100_000;

extern "C" fn on_delay_signal(_: libc::c_int) {}

/// A POSIX timer that signals the tracer thread alone (SIGEV_THREAD_ID), so its signal
/// interrupts that thread's waitpid and never lands in the stall watcher or elsewhere.
pub struct DelayTimer {
    timer: libc::timer_t,
}

impl DelayTimer {
    /// Creates the timer for the calling thread, which must be the one that waits.
    pub fn for_this_thread() -> Result<DelayTimer, Errno> {
        // SAFETY: a handler that only returns; sigaction reads `act` alone. timer_create
        // reads the sigevent and writes the timer id into our local.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_delay_signal as *const () as usize;
            act.sa_flags = 0;
            libc::sigemptyset(&mut act.sa_mask);
            if libc::sigaction(DELAY_SIGNAL, &act, std::ptr::null_mut()) != 0 {
                return Err(last_errno());
            }
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, DELAY_SIGNAL);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            let mut ev: libc::sigevent = std::mem::zeroed();
            ev.sigev_notify = libc::SIGEV_THREAD_ID;
            ev.sigev_signo = DELAY_SIGNAL;
            ev.sigev_notify_thread_id = libc::gettid();
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
            let mut timer: libc::timer_t = std::mem::zeroed();
            if libc::timer_create(libc::CLOCK_MONOTONIC, &mut ev, &mut timer) != 0 {
                return Err(last_errno());
            }
            Ok(DelayTimer { timer })
        }
    }

    fn set(&self, value_ns: u64, interval_ns: i64) {
        let ts = |ns: u64| libc::timespec {
            tv_sec: (ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (ns % 1_000_000_000) as libc::c_long,
        };
        let spec = libc::itimerspec {
            it_interval: ts(interval_ns as u64),
            it_value: ts(value_ns),
        };
        // SAFETY: the timer is ours and alive; the spec is read only.
        unsafe {
            libc::timer_settime(
                self.timer,
                if value_ns == 0 {
                    0
                } else {
                    libc::TIMER_ABSTIME
                },
                &spec,
                std::ptr::null_mut(),
            )
        };
    }

    /// Fires at `deadline_ns` (CLOCK_MONOTONIC), then every `DELAY_TIMER_REPEAT_NS`.
    fn arm(&self, deadline_ns: u64) {
        self.set(deadline_ns.max(1), DELAY_TIMER_REPEAT_NS);
    }

    fn disarm(&self) {
        self.set(0, 0);
    }
}

impl Drop for DelayTimer {
    fn drop(&mut self) {
        // SAFETY: deleting our own timer once.
        unsafe { libc::timer_delete(self.timer) };
    }
}

pub fn read_mem(pid: i32, addr: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: the local iovec covers exactly `buf`; the remote side is the tracee's.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if n < 0 {
        Err(last_errno())
    } else {
        Ok(n as usize)
    }
}

/// Reads `len` bytes at each of `addrs` in the tracee with one process_vm_readv, into
/// consecutive `len`-byte slots of `buf`. The kernel stops at the first address it cannot
/// read: returns how many slots were read in full, from the first.
pub fn read_mem_many(pid: i32, addrs: &[u64], len: usize, buf: &mut [u8]) -> usize {
    let n = addrs.len().min(buf.len() / len.max(1)).min(1024);
    if n == 0 || len == 0 {
        return 0;
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: n * len,
    };
    let remote: Vec<libc::iovec> = addrs[..n]
        .iter()
        .map(|&a| libc::iovec {
            iov_base: a as *mut libc::c_void,
            iov_len: len,
        })
        .collect();
    // SAFETY: the local iovec covers the first n*len bytes of `buf`; the remote ones are
    // the tracee's (at most IOV_MAX of them).
    let got = unsafe { libc::process_vm_readv(pid, &local, 1, remote.as_ptr(), n as _, 0) };
    usize::try_from(got).map_or(0, |g| g / len)
}

/// The first three argument words of an i386 socketcall (fd, addr, len for connect): 4-byte
/// words at `args` in the tracee.
pub fn socketcall_args(pid: i32, args: u64) -> Option<[u64; 3]> {
    let mut raw = [0u8; 12];
    if read_mem(pid, args, &mut raw).ok()? != raw.len() {
        return None;
    }
    let word = |i: usize| {
        u64::from(u32::from_ne_bytes([
            raw[i],
            raw[i + 1],
            raw[i + 2],
            raw[i + 3],
        ]))
    };
    Some([word(0), word(4), word(8)])
}

/// Reads a NUL-terminated string (at most `max` bytes) page by page, so a string that ends
/// just before an unmapped page is still read. The first read takes 256 bytes, which holds
/// most paths, rather than the rest of the page.
pub fn read_cstr(pid: i32, mut addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut page = [0u8; 4096];
    let mut first = true;
    while out.len() < max {
        let room = 4096 - (addr % 4096) as usize;
        let want = room.min(max - out.len());
        let want = if first { want.min(256) } else { want };
        first = false;
        let n = read_mem(pid, addr, &mut page[..want])?;
        if n == 0 {
            return Err(libc::EFAULT);
        }
        if let Some(end) = page[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&page[..end]);
            return Ok(out);
        }
        out.extend_from_slice(&page[..n]);
        addr += n as u64;
    }
    Ok(out)
}

pub fn kill(pid: i32, sig: i32) {
    // SAFETY: kill has no memory arguments; a dead pid just yields ESRCH.
    unsafe { libc::kill(pid, sig) };
}

/// readlink(2) into a String (lossy); used on /proc links.
pub fn readlink(path: &str) -> Result<String, Errno> {
    let c = CString::new(path).map_err(|_| libc::EINVAL)?;
    let mut buf = [0u8; 4096];
    // SAFETY: the buffer is ours and its length is passed.
    let n = unsafe { libc::readlink(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(last_errno());
    }
    Ok(String::from_utf8_lossy(&buf[..n as usize]).into_owned())
}

/// [`errno_name`] as the interned text a failed call records, made once per errno: the
/// tracer records it before it resumes the thread (a build's ENOENTs come by thousands).
pub fn errno_atom(errno: i32) -> crate::model::Atom {
    thread_local! {
        static SEEN: std::cell::RefCell<Vec<(i32, crate::model::Atom)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some((_, atom)) = seen.iter().find(|(e, _)| *e == errno) {
            return atom.clone();
        }
        let atom = crate::model::Atom::from(errno_name(errno));
        if seen.len() < 64 {
            seen.push((errno, atom.clone()));
        }
        atom
    })
}

/// The errno name strace would print (`ENOENT`), or `E<number>` for rare ones.
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::ENODATA => "ENODATA",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EINPROGRESS => "EINPROGRESS",
        libc::EALREADY => "EALREADY",
        libc::EISCONN => "EISCONN",
        libc::ESTALE => "ESTALE",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENOLCK => "ENOLCK",
        libc::EDQUOT => "EDQUOT",
        libc::ECONNRESET => "ECONNRESET",
        libc::ENETDOWN => "ENETDOWN",
        _ => return format!("E{errno}"),
    };
    name.to_string()
}

/// golat's own peak RSS (KiB) and CPU time (ms, user+system): the tracer's cost, without
/// the command's.
///
/// The peak is VmHWM of golat's own address space. getrusage's ru_maxrss is not: Linux
/// carries it over from the image golat was exec'd from, so under a big parent (a Python
/// benchmark holding reports: 60 MB) it reported the parent's size, not golat's (6 MB).
pub fn self_usage() -> (u64, f64) {
    // SAFETY: zeroed rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let ms = |tv: libc::timeval| tv.tv_sec as f64 * 1e3 + tv.tv_usec as f64 / 1e3;
    let peak_kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| vm_hwm_kb(&status))
        .unwrap_or(ru.ru_maxrss as u64);
    (peak_kb, ms(ru.ru_utime) + ms(ru.ru_stime))
}

fn vm_hwm_kb(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CLOCK_MONOTONIC now, ns (the clock Rust's `Instant` and Go's `nanotime` read on Linux).
pub fn monotonic_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|ts| ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
        .unwrap_or(0)
}

/// A thread's scheduler accounting from /proc/TID/schedstat: (ns on CPU, ns waiting on a
/// run queue, times scheduled in).
pub type SchedStat = (u64, u64, u64);

/// At most this many /proc/TID/schedstat files stay open (see `schedstat`).
const SCHED_FDS_MAX: usize = 64;

thread_local! {
    /// Open /proc/TID/schedstat files by tid, the most recently opened last.
    static SCHED_FDS: std::cell::RefCell<Vec<(i32, std::os::fd::OwnedFd)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Reads a thread's schedstat: (ns on CPU, ns waiting on a run queue, times scheduled in).
///
/// A thread's file is read at the entry and the exit stop of each of its exit-stop calls,
/// both while the thread waits: open, read and close cost 5-6 µs here, a `pread` of the
/// file kept open 1 µs. An open file names its task: once the thread is gone a read fails
/// (ESRCH), and the file is opened anew (a new thread with the same tid). At most
/// `SCHED_FDS_MAX` stay open (a build starts thousands of threads): the oldest is closed.
pub fn schedstat(tid: i32) -> Option<SchedStat> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let mut buf = [0u8; 96];
    let pread = |fd: &OwnedFd, buf: &mut [u8; 96]| {
        // SAFETY: reads into our buffer from an fd we own.
        unsafe { libc::pread(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) }
    };
    let cached = SCHED_FDS.with_borrow_mut(|fds| {
        let i = fds.iter().position(|(t, _)| *t == tid)?;
        let n = pread(&fds[i].1, &mut buf);
        if n <= 0 {
            fds.remove(i);
            return None;
        }
        Some(n)
    });
    let n = match cached {
        Some(n) => n,
        None => {
            let mut path = [0u8; 48];
            let text = format!("/proc/{tid}/schedstat\0");
            path.get_mut(..text.len())?.copy_from_slice(text.as_bytes());
            // SAFETY: NUL-terminated path in our buffer; the fd is owned from here on.
            let fd = unsafe {
                let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return None;
                }
                OwnedFd::from_raw_fd(fd)
            };
            let n = pread(&fd, &mut buf);
            if n > 0 {
                SCHED_FDS.with_borrow_mut(|fds| {
                    if fds.len() >= SCHED_FDS_MAX {
                        fds.remove(0);
                    }
                    fds.push((tid, fd));
                });
            }
            n
        }
    };
    parse_schedstat(buf.get(..usize::try_from(n).ok()?)?)
}

fn parse_schedstat(bytes: &[u8]) -> Option<SchedStat> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    Some((fields.next()??, fields.next()??, fields.next()??))
}

/// Writes into tracee memory with process_vm_writev (also works on its private copies).
pub fn write_mem(pid: i32, addr: u64, data: &[u8]) -> Result<usize, Errno> {
    let local = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: the local iovec covers exactly `data`, which is only read.
    let n = unsafe { libc::process_vm_writev(pid, &local, 1, &remote, 1, 0) };
    if n < 0 {
        Err(last_errno())
    } else {
        Ok(n as usize)
    }
}

/// fork(2), only for a process that has one thread (`/proc/self/task` has one entry; unknown
/// counts as more): the child of a multi-threaded process may inherit locks other threads
/// held and could only call async-signal-safe functions. `None` when there is more than one
/// thread.
pub fn fork_single_threaded() -> Option<nix::Result<nix::unistd::ForkResult>> {
    if !std::fs::read_dir("/proc/self/task").is_ok_and(|d| d.count() == 1) {
        return None;
    }
    // SAFETY: the process has one thread (checked above), so the child inherits no lock
    // held by another thread and may run any code.
    Some(unsafe { nix::unistd::fork() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_files_kept_open_follow_their_thread_and_not_past_it() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn(move || {
            // SAFETY: gettid has no arguments.
            tx.send(unsafe { libc::gettid() }).unwrap();
            let _ = done_rx.recv();
        });
        let tid = rx.recv().unwrap();
        let first = schedstat(tid).expect("a live thread's schedstat");
        // The second read comes from the file kept open.
        let second = schedstat(tid).expect("read again");
        assert!(second.0 >= first.0 && second.2 >= first.2);
        done_tx.send(()).unwrap();
        worker.join().unwrap();
        // Gone (the kernel may take a moment after the join to let the task go): the open
        // file no longer reads, and no new one opens.
        let gone = (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(5));
            schedstat(tid).is_none()
        });
        assert!(gone, "tid {tid} still read after its thread ended");
        // golat's own thread still reads, and the cache stays bounded.
        // SAFETY: gettid has no arguments.
        let me = unsafe { libc::gettid() };
        for _ in 0..3 {
            assert!(schedstat(me).is_some());
        }
        SCHED_FDS.with_borrow(|fds| assert!(fds.len() <= SCHED_FDS_MAX));
    }

    #[test]
    fn many_reads_stop_at_the_first_unreadable_address() {
        let a = *b"GODEBUG=x";
        let b = *b"PATH=/bin";
        // SAFETY: getpid has no arguments.
        let me = unsafe { libc::getpid() };
        let mut buf = [0u8; 24];
        let addrs = [a.as_ptr() as u64, b.as_ptr() as u64, 8];
        assert_eq!(read_mem_many(me, &addrs, 8, &mut buf), 2);
        assert_eq!(&buf[..8], b"GODEBUG=");
        assert_eq!(&buf[8..16], b"PATH=/bi");
        assert_eq!(read_mem_many(me, &addrs[2..], 8, &mut buf), 0);
        assert_eq!(read_mem_many(me, &addrs, 8, &mut buf[..8]), 1);
    }

    #[test]
    fn errno_atoms_read_as_their_names() {
        for _ in 0..2 {
            assert_eq!(errno_atom(libc::ENOENT).as_str(), "ENOENT");
            assert_eq!(errno_atom(4095).as_str(), "E4095");
        }
    }

    #[test]
    fn schedstat_lines_parse() {
        assert_eq!(
            parse_schedstat(b"95236439 48340400 17\n"),
            Some((95_236_439, 48_340_400, 17))
        );
        assert_eq!(parse_schedstat(b"1 2"), None);
    }
}
