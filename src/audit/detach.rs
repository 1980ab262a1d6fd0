//! Runs a doctor (`path-audit`, `env-check`) in a forked child whose output the parent relays,
//! so golat exits as soon as the report is written even when a probe is stuck in the kernel.
//!
//! Why a process and not just abandoned threads: a thread blocked in a FUSE request the
//! server has already read waits uninterruptibly (fuse `request_wait_answer`), and a process
//! only finishes exiting when its last thread has — so a report printed in 1 s still kept the
//! shell waiting 60 s (or forever) for `exit`. Here the child writes the report and its exit
//! code into pipes and closes them; the parent copies them out and exits without waiting for
//! the child, which the kernel reaps (through init) whenever the mount answers.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use nix::fcntl::OFlag;
use nix::unistd::{ForkResult, pipe2};

/// Whether golat's own stdout is a terminal. The child's stdout is a pipe to the parent, so
/// the parent asks before forking and the child answers from this.
static STDOUT_TTY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// golat's stdout is a terminal (decides colour), also inside the detached child.
pub fn stdout_is_terminal() -> bool {
    *STDOUT_TTY.get_or_init(|| std::io::IsTerminal::is_terminal(&std::io::stdout()))
}

/// Runs `work` in a child process and returns its exit code, relaying its stdout and stderr.
/// Falls back to running `work` here when the process is not single-threaded (fork would be
/// unsafe) or fork/pipe fail.
pub fn run(work: impl FnOnce() -> anyhow::Result<u8>) -> anyhow::Result<u8> {
    // Settled before the fork: after it, the child's stdout is the pipe.
    stdout_is_terminal();
    let (Ok((out_r, out_w)), Ok((err_r, err_w)), Ok((st_r, st_w))) = (
        pipe2(OFlag::O_CLOEXEC),
        pipe2(OFlag::O_CLOEXEC),
        pipe2(OFlag::O_CLOEXEC),
    ) else {
        return work();
    };
    // The fork lives with golat's other unsafe code, in the tracer's sys module.
    let Some(forked) = crate::tracer::fork_single_threaded() else {
        return work();
    };
    match forked {
        Err(_) => work(),
        Ok(ForkResult::Child) => {
            drop((out_r, err_r, st_r));
            child(work, out_w, err_w, st_w)
        }
        Ok(ForkResult::Parent { child }) => {
            drop((out_w, err_w, st_w));
            parent(child, out_r, err_r, st_r)
        }
    }
}

fn child(
    work: impl FnOnce() -> anyhow::Result<u8>,
    out_w: OwnedFd,
    err_w: OwnedFd,
    st_w: OwnedFd,
) -> ! {
    // dup2 clears close-on-exec on 1 and 2, as for any stdout.
    let redirected =
        nix::unistd::dup2_stdout(&out_w).is_ok() && nix::unistd::dup2_stderr(&err_w).is_ok();
    drop((out_w, err_w));
    let code = if !redirected {
        crate::EXIT_GOLAT_FAILED
    } else {
        match work() {
            Ok(c) => c,
            Err(e) if crate::is_broken_pipe(&e) => 0,
            Err(e) => {
                eprintln!("golat: {e:#}");
                crate::EXIT_GOLAT_FAILED
            }
        }
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    let _ = nix::unistd::write(&st_w, &[code]);
    drop(st_w);
    // The parent reads stdout and stderr to EOF: point them at /dev/null so the pipes close
    // now, even if a stuck probe thread keeps this process from exiting.
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
    }
    std::process::exit(code.into())
}

fn parent(
    child: nix::unistd::Pid,
    out_r: OwnedFd,
    err_r: OwnedFd,
    st_r: OwnedFd,
) -> anyhow::Result<u8> {
    // stderr on its own thread, so neither pipe can fill while the other is read.
    let relay_err = std::thread::Builder::new()
        .name("golat-relay-stderr".into())
        .spawn(move || {
            let _ = std::io::copy(&mut std::fs::File::from(err_r), &mut std::io::stderr());
        });
    let mut out = std::fs::File::from(out_r);
    let stdout = std::io::stdout();
    let mut buf = vec![0u8; 64 * 1024];
    let mut broken = None;
    loop {
        match out.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // Keep draining after a broken pipe so the child never blocks on a full pipe.
                if broken.is_none() {
                    let mut o = stdout.lock();
                    if let Err(e) = o.write_all(&buf[..n]).and_then(|()| o.flush()) {
                        broken = Some(e);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => anyhow::bail!("reading the audit's report: {e}"),
        }
    }
    if let Ok(h) = relay_err {
        let _ = h.join();
    }
    let mut code = [0u8; 1];
    let got = std::fs::File::from(st_r).read(&mut code).unwrap_or(0);
    // Reap the child if it is already gone; never block on it.
    let status = nix::sys::wait::waitpid(child, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
    if let Some(e) = broken {
        return Err(e.into());
    }
    match (got, status) {
        (1, _) => Ok(code[0]),
        (_, Ok(nix::sys::wait::WaitStatus::Signaled(_, sig, _))) => {
            anyhow::bail!("the audit process was killed by {sig}")
        }
        _ => anyhow::bail!("the audit process ended without a result"),
    }
}
