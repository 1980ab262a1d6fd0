//! Regressions found by field-testing golat as a user would: each test runs the real binary
//! on real processes and compares with what the native command (or the real go) does.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::*;

/// The `SigIgn:` line of /proc/self/status as `cat` sees it when started by `cmd`.
fn ignored_signals(cmd: &mut Command, ignore: &'static [libc::c_int]) -> String {
    // SAFETY: pre_exec runs in the forked child; signal(2) is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            for &sig in ignore {
                libc::signal(sig, libc::SIG_IGN);
            }
            Ok(())
        });
    }
    let out = output_timeout(cmd, 30);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("SigIgn:"))
        .expect("SigIgn line")
        .to_string()
}

#[test]
fn the_command_gets_the_signal_dispositions_golat_was_given() {
    // Rust ignores SIGPIPE in golat; the command must not inherit that. Signals golat was
    // started with ignored (nohup, a background job) must stay ignored for the command.
    for ignore in [&[][..], &[libc::SIGINT, libc::SIGHUP, libc::SIGTERM][..]] {
        let native = ignored_signals(Command::new("cat").arg("/proc/self/status"), ignore);
        let traced = ignored_signals(
            Command::new(golat()).args(["profile", "-q", "cat", "/proc/self/status"]),
            ignore,
        );
        assert_eq!(traced, native, "ignoring {ignore:?} before golat");
    }
    // What the SIGPIPE disposition changes: `yes` dies quietly of SIGPIPE instead of
    // complaining about EPIPE.
    let out = output_timeout(
        Command::new(golat()).args(["profile", "-q", "sh", "-c", "yes | head -n 1 >/dev/null"]),
        30,
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

