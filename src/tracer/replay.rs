//! golat repeats side-effect-free calls itself at the tracee's entry stop: the result and a
//! duration free of the ptrace round trip, without a second (exit) stop. Which calls are
//! repeated is the timing policy's decision (`policy`); this module only makes the copy.
//!
//! Only calls that change nothing are repeated: stat family, access family, readlink, and
//! opens without O_CREAT/O_TMPFILE, which golat repeats as a stat of the path (the lookup
//! the open makes: no device or FIFO is opened, nothing is truncated). An open that finds
//! a FIFO, device or socket says so (`special`), and the tracer then measures the
//! program's real open.

use std::ffi::CString;
use std::sync::OnceLock;
use std::time::Instant;

use super::sys::Errno;

/// The outcome of a repetition: return value or errno, and how long the kernel took.
pub struct Replay {
    pub result: Result<i64, Errno>,
    pub dur_ns: u64,
    /// Set when golat was preempted while the call also blocked: `dur_ns` is then the
    /// wall time, of which up to this much may be golat waiting for a CPU, not the call.
    pub disturbed_ns: Option<u64>,
    /// An open found a FIFO, character or block device, or socket.
    pub special: bool,
}

/// golat's own thread: (voluntary, involuntary context switches, CPU µs), from getrusage.
fn thread_usage() -> (i64, i64, i64) {
    // SAFETY: zeroed rusage is valid; getrusage fills it for the calling thread.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let us = |tv: libc::timeval| tv.tv_sec * 1_000_000 + tv.tv_usec;
    (ru.ru_nvcsw, ru.ru_nivcsw, us(ru.ru_utime) + us(ru.ru_stime))
}

/// Runs one repetition and times it by the wall clock, which is the truth for a call that
/// runs or blocks undisturbed. When golat was preempted meanwhile (a busy machine), the
/// wall time also holds golat's wait for a CPU: if the call never blocked (no voluntary
/// switch), golat's CPU time is its whole duration; if it blocked too, the wait cannot be
/// told from the block, so the wall time is kept and marked as disturbed by at most the
/// part that was not CPU time.
fn timed(f: impl FnOnce() -> libc::c_long) -> Replay {
    let (voluntary, preempted, cpu_us) = thread_usage();
    let start = Instant::now();
    let ret = f();
    let wall_ns = start.elapsed().as_nanos() as u64;
    let errno = (ret < 0).then(|| {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    });
    let (voluntary_after, preempted_after, cpu_us_after) = thread_usage();
    let cpu_ns = (cpu_us_after - cpu_us).max(0) as u64 * 1000;
    let (dur_ns, disturbed_ns) = duration(
        wall_ns,
        cpu_ns,
        voluntary_after != voluntary,
        preempted_after != preempted,
    );
    let result = match errno {
        Some(e) => Err(e),
        None => Ok(ret),
    };
    Replay {
        result,
        dur_ns,
        disturbed_ns,
        special: false,
    }
}

/// A replay's duration from its wall and CPU time and whether golat blocked (a voluntary
/// switch) or was preempted (an involuntary one) meanwhile: (duration, disturbed by at most).
fn duration(wall_ns: u64, cpu_ns: u64, blocked: bool, preempted: bool) -> (u64, Option<u64>) {
    match (preempted, blocked) {
        (false, _) => (wall_ns, None),
        // It never slept: all of the call was CPU time; the rest was waiting for a CPU.
        (true, false) => (cpu_ns.min(wall_ns), None),
        (true, true) => (wall_ns, Some(wall_ns.saturating_sub(cpu_ns))),
    }
}

pub fn stat(path: &CString, at_flags: i32) -> Replay {
    // SAFETY: zeroed stat is valid plain data; the path is NUL-terminated.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let flags = at_flags & (libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT);
    timed(|| unsafe {
        libc::fstatat(libc::AT_FDCWD, path.as_ptr(), &mut st, flags) as libc::c_long
    })
}

pub fn statx(path: &CString, at_flags: i32, mask: u32) -> Replay {
    // SAFETY: zeroed statx is valid plain data; the kernel fills it.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let flags = at_flags & !libc::AT_EMPTY_PATH;
    timed(|| unsafe {
        libc::syscall(
            libc::SYS_statx,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
            mask,
            &mut stx as *mut libc::statx,
        )
    })
}

pub fn access(path: &CString, mode: i32, at_flags: i32) -> Replay {
    let flags = at_flags & (libc::AT_SYMLINK_NOFOLLOW | libc::AT_EACCESS);
    // SAFETY: no memory is written.
    timed(|| unsafe {
        libc::syscall(
            libc::SYS_faccessat2,
            libc::AT_FDCWD,
            path.as_ptr(),
            mode,
            flags,
        )
    })
}

pub fn readlink(path: &CString) -> Replay {
    let mut buf = [0u8; 4096];
    // SAFETY: the buffer and its length are ours.
    timed(|| unsafe {
        libc::readlink(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) as libc::c_long
    })
}

/// golat's effective uid, asked once (an open replayed by a non-root golat checks access).
fn euid() -> u32 {
    static EUID: OnceLock<u32> = OnceLock::new();
    // SAFETY: geteuid has no arguments.
    *EUID.get_or_init(|| unsafe { libc::geteuid() })
}

/// A non-creating open, resolved with one stat of the path (following symlinks unless
/// O_NOFOLLOW): the lookup the open makes, and the result it would have. The errors a stat
/// cannot give are derived from what the path names: ELOOP for O_NOFOLLOW on a symlink,
/// ENOTDIR for O_DIRECTORY on something else, EISDIR for writing a directory, EACCES from
/// an access check when golat is not root. A FIFO, device or socket is `special` (opening
/// it is more than a lookup: the tracer measures the real open instead).
pub fn open(path: &CString, open_flags: i32) -> Replay {
    let nofollow = open_flags & libc::O_NOFOLLOW != 0;
    // SAFETY: zeroed stat is valid plain data; the path is NUL-terminated.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let mut looked_up = timed(|| unsafe {
        libc::fstatat(
            libc::AT_FDCWD,
            path.as_ptr(),
            &mut st,
            if nofollow {
                libc::AT_SYMLINK_NOFOLLOW
            } else {
                0
            },
        ) as libc::c_long
    });
    if looked_up.result.is_err() {
        return looked_up;
    }
    let kind = st.st_mode & libc::S_IFMT;
    let accmode = open_flags & libc::O_ACCMODE;
    let mut result = Ok(0);
    if nofollow && kind == libc::S_IFLNK {
        result = Err(libc::ELOOP);
    } else if open_flags & libc::O_DIRECTORY != 0 && kind != libc::S_IFDIR {
        result = Err(libc::ENOTDIR);
    } else if accmode != libc::O_RDONLY && kind == libc::S_IFDIR {
        result = Err(libc::EISDIR);
    }
    looked_up.special = matches!(
        kind,
        libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK | libc::S_IFSOCK
    );
    if result.is_ok() && euid() != 0 {
        let mode = match accmode {
            libc::O_WRONLY => libc::W_OK,
            libc::O_RDWR => libc::R_OK | libc::W_OK,
            _ => libc::R_OK,
        };
        let flags = libc::AT_EACCESS
            | if nofollow {
                libc::AT_SYMLINK_NOFOLLOW
            } else {
                0
            };
        // SAFETY: the path is NUL-terminated; no memory is written.
        let ok = unsafe {
            libc::syscall(
                libc::SYS_faccessat2,
                libc::AT_FDCWD,
                path.as_ptr(),
                mode,
                flags,
            )
        };
        if ok < 0 {
            result = Err(libc::EACCES);
        }
    }
    Replay {
        result,
        ..looked_up
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preempted_replay_that_blocked_keeps_its_wall_time_and_is_marked() {
        // Undisturbed: the wall time, blocked or not.
        assert_eq!(duration(5_000_000, 20_000, true, false), (5_000_000, None));
        assert_eq!(duration(3_000, 2_900, false, false), (3_000, None));
        // Preempted, never slept: its CPU time is the call.
        assert_eq!(duration(900_000, 4_000, false, true), (4_000, None));
        // Preempted while it blocked on a slow disk: not golat's CPU time (the bug: a 5 ms
        // lookup reported as 10-64 us), but the wall, marked by the part that was not CPU.
        assert_eq!(
            duration(5_200_000, 30_000, true, true),
            (5_200_000, Some(5_170_000))
        );
    }
}
