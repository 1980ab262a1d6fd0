//! golat repeats side-effect-free calls itself at the tracee's entry stop: the result and a
//! duration free of the ptrace round trip, without a second (exit) stop.
//!
//! Only calls that change nothing are repeated: stat family, access family, readlink, and
//! opens without O_CREAT/O_TMPFILE, which golat resolves with O_PATH (path lookup only:
//! no device or FIFO is opened, nothing is truncated).

use std::ffi::CString;
use std::time::Instant;

use super::sys::Errno;

/// The outcome of a repetition: return value or errno, and how long the kernel took.
pub struct Replay {
    pub result: Result<i64, Errno>,
    pub dur_ns: u64,
}

/// golat's own thread: (involuntary context switches, CPU µs), from getrusage.
fn thread_usage() -> (i64, i64) {
    // SAFETY: zeroed rusage is valid; getrusage fills it for the calling thread.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let us = |tv: libc::timeval| tv.tv_sec * 1_000_000 + tv.tv_usec;
    (ru.ru_nivcsw, us(ru.ru_utime) + us(ru.ru_stime))
}

/// Runs one repetition and times it. Wall time is the truth for a call that blocks (a
/// slow mount); but when golat itself was preempted meanwhile (on a busy machine), wall
/// time would charge the wait to the filesystem, so then the thread's CPU time is used.
fn timed(f: impl FnOnce() -> libc::c_long) -> Replay {
    let (switches, cpu_us) = thread_usage();
    let start = Instant::now();
    let ret = f();
    let wall_ns = start.elapsed().as_nanos() as u64;
    let errno = (ret < 0).then(|| {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    });
    let (switches_after, cpu_us_after) = thread_usage();
    let dur_ns = if switches_after != switches {
        (cpu_us_after - cpu_us).max(0) as u64 * 1000
    } else {
        wall_ns
    };
    let result = match errno {
        Some(e) => Err(e),
        None => Ok(ret),
    };
    Replay { result, dur_ns }
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

/// A non-creating open, resolved with O_PATH; the O_PATH fd is closed at once. The errors
/// O_PATH cannot see are derived: ELOOP for O_NOFOLLOW on a symlink, EISDIR for writing a
/// directory, EACCES from an access check when golat is not root.
pub fn open(path: &CString, open_flags: i32) -> Replay {
    let keep = open_flags & (libc::O_NOFOLLOW | libc::O_DIRECTORY);
    // SAFETY: path is NUL-terminated; the fd is closed below.
    let opened = timed(|| unsafe {
        libc::openat(
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::O_PATH | libc::O_CLOEXEC | keep,
        ) as libc::c_long
    });
    let Ok(fd) = opened.result else {
        return opened;
    };
    let fd = fd as i32;
    let accmode = open_flags & libc::O_ACCMODE;
    let mut result = Ok(0);
    if keep & libc::O_NOFOLLOW != 0 || accmode != libc::O_RDONLY {
        // SAFETY: zeroed stat is valid; fd is the O_PATH fd we own.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut st) } == 0 {
            let kind = st.st_mode & libc::S_IFMT;
            if keep & libc::O_NOFOLLOW != 0 && kind == libc::S_IFLNK {
                result = Err(libc::ELOOP);
            } else if accmode != libc::O_RDONLY && kind == libc::S_IFDIR {
                result = Err(libc::EISDIR);
            }
        }
    }
    // SAFETY: geteuid has no arguments.
    if result.is_ok() && unsafe { libc::geteuid() } != 0 {
        let mode = match accmode {
            libc::O_WRONLY => libc::W_OK,
            libc::O_RDWR => libc::R_OK | libc::W_OK,
            _ => libc::R_OK,
        };
        let empty = c"";
        // SAFETY: AT_EMPTY_PATH with our own fd.
        let ok = unsafe {
            libc::syscall(
                libc::SYS_faccessat2,
                fd,
                empty.as_ptr(),
                mode,
                libc::AT_EMPTY_PATH | libc::AT_EACCESS,
            )
        };
        if ok < 0 {
            result = Err(libc::EACCES);
        }
    }
    // SAFETY: we own fd.
    unsafe { libc::close(fd) };
    Replay {
        result,
        dur_ns: opened.dur_ns,
    }
}
