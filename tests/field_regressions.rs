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

/// Runs golat with its stdout a pipe whose reader is already gone.
fn closed_stdout(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = Command::new(golat());
    cmd.args(args).stdout(writer);
    let mut child = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(cmd);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let status = wait_timeout(&mut child, 60);
    std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: err.into_bytes(),
    }
}

/// Writes the JSON report of `golat profile sh -c 'exit 0'` to `path`.
fn write_exit0_report(path: &std::path::Path) {
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--json"])
            .arg(path)
            .args(["sh", "-c", "exit 0"]),
        60,
    );
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn json_to_a_closed_pipe_is_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    write_exit0_report(&report);
    let r = report.as_os_str();
    let cases: Vec<Vec<&std::ffi::OsStr>> = vec![
        vec!["report".as_ref(), "--json".as_ref(), r],
        vec!["diff".as_ref(), "--json".as_ref(), r, r],
        vec!["path-audit".as_ref(), "--json".as_ref()],
    ];
    for args in cases {
        let out = closed_stdout(&args);
        // As `golat report FILE | head` with the table: the reader's choice, exit 0.
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

#[test]
fn runs_table_shows_the_spread_and_which_run_it_describes() {
    let out = output_timeout(
        Command::new(golat()).args(["profile", "-n", "3", "sh", "-c", "exit 0"]),
        60,
    );
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("3 run(s)"))
        .unwrap_or_else(|| panic!("no runs line in:\n{err}"));
    assert!(line.contains("wall median"), "{line}");
    assert!(line.contains("min") && line.contains("max"), "{line}");
    assert!(line.contains("the median run"), "{line}");
}

#[test]
fn go_env_output_is_the_same_as_without_golat() {
    let Some(_) = require("go") else { return };
    let native = output_timeout(Command::new("go").args(["env", "GODEBUG"]), 60);
    let traced = output_timeout(
        Command::new(golat()).args(["profile", "go", "env", "GODEBUG"]),
        60,
    );
    assert!(traced.status.success(), "{traced:?}");
    assert_eq!(
        String::from_utf8_lossy(&traced.stdout),
        String::from_utf8_lossy(&native.stdout)
    );
    let err = String::from_utf8_lossy(&traced.stderr);
    assert!(err.contains("init chains not captured"), "{err}");
}

#[test]
fn env_check_quotes_the_go_commands_own_goflags_errors() {
    let Some(_) = require("go") else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("go.mod"), "module example.com/m\ngo 1.21\n").unwrap();
    std::fs::write(dir.path().join("main.go"), "package main\nfunc main() {}\n").unwrap();
    for goflags in [
        "-mod=bogus",
        "-buildvcs=maybe",
        "-p=x",
        "-race=maybe",
        "-tags",
    ] {
        let native = output_timeout(
            Command::new("go")
                .args(["build", "-o", "/dev/null", "."])
                .current_dir(dir.path())
                .env("GOFLAGS", goflags)
                .env("GOTOOLCHAIN", "local"),
            120,
        );
        assert!(!native.status.success(), "{goflags}: go build succeeded");
        let first = String::from_utf8_lossy(&native.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let out = output_timeout(
            Command::new(golat())
                .args(["env-check", "--json", "--fail-on", "never", "--dir"])
                .arg(dir.path())
                .env("GOFLAGS", goflags)
                .env("GOTOOLCHAIN", "local"),
            60,
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let msg = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "GO025")
            .map(|c| c["message"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default();
        assert!(
            msg.contains(&format!("`{first}`")),
            "GOFLAGS={goflags}: go says {first:?}, golat says {msg:?}"
        );
    }
}

#[test]
fn path_audit_rejects_a_zero_timeout() {
    let out = output_timeout(
        Command::new(golat()).args(["path-audit", "--timeout", "0", "--path", "/usr/bin"]),
        30,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--timeout"), "{err}");
}

#[test]
fn a_script_without_a_shebang_runs_as_execvp_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("plain-script");
    std::fs::write(&script, "echo \"args: $*\"\nexit 4\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // env(1) execs through execvp, which hands such a file to /bin/sh.
    let native = output_timeout(Command::new("env").arg(&script).args(["a", "b"]), 30);
    let traced = output_timeout(
        Command::new(golat())
            .args(["profile", "-q"])
            .arg(&script)
            .args(["a", "b"]),
        30,
    );
    assert_eq!(native.stdout, b"args: a b\n");
    assert_eq!(traced.stdout, native.stdout);
    assert_eq!(traced.status.code(), Some(4));
}

#[test]
fn an_output_that_cannot_be_written_stops_golat_before_the_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("r.json");
    for (flag, path) in [("--json", &missing), ("-o", &dir.path().to_path_buf())] {
        let out = output_timeout(
            Command::new(golat())
                .args(["profile", flag])
                .arg(path)
                .args(["sh", "-c", "echo ran"]),
            30,
        );
        assert_eq!(out.status.code(), Some(125), "{flag}: {out:?}");
        assert!(out.stdout.is_empty(), "{flag}: the command ran");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&format!("cannot write {flag}")), "{err}");
    }
}

#[test]
fn arguments_that_are_not_utf8_reach_the_command_unchanged() {
    use std::os::unix::ffi::OsStrExt;
    let arg = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.txt");
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "printf", "%s"])
            .arg(arg),
        30,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, arg.as_bytes());
}

#[test]
fn env_check_reads_go_env_defaults_when_go_is_a_shim_script() {
    // Version managers (asdf, mise, goenv) put a shell script named `go` first in PATH;
    // GOROOT then comes from asking go, and $GOROOT/go.env still sets GOPROXY.
    let Some(real_go) = require("go") else { return };
    let dir = tempfile::tempdir().unwrap();
    let shim = dir.path().join("go");
    std::fs::write(
        &shim,
        format!("#!/bin/sh\nexec {} \"$@\"\n", real_go.display()),
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Only $GOROOT/go.env may supply GOPROXY: no environment value, an empty go/env file.
    let goenv = dir.path().join("goenv");
    std::fs::write(&goenv, "").unwrap();
    let want = output_timeout(
        Command::new(&shim)
            .args(["env", "GOPROXY"])
            .env("PATH", &path)
            .env("GOENV", &goenv)
            .env_remove("GOPROXY"),
        60,
    );
    let want = String::from_utf8_lossy(&want.stdout).trim().to_string();
    assert!(!want.is_empty(), "go env GOPROXY is empty here");
    let out = output_timeout(
        Command::new(golat())
            .args(["env-check", "--json", "--fail-on", "never", "--dir"])
            .arg(dir.path())
            .env("PATH", &path)
            .env("GOENV", &goenv)
            .env_remove("GOPROXY"),
        60,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let go029 = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "GO029")
        .cloned()
        .unwrap_or_default();
    assert!(
        go029["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("GOPROXY={want}"))),
        "go says GOPROXY={want}; golat: {go029}"
    );
    // GO001 names the toolchain the shim runs, not "version unknown".
    let go001 = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "GO001")
        .cloned()
        .unwrap_or_default();
    let msg = go001["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("through a wrapper script") && msg.contains("go1."),
        "{go001}"
    );
}

#[test]
fn the_report_header_quotes_the_command_as_it_was_typed() {
    let out = output_timeout(
        Command::new(golat()).args(["profile", "sh", "-c", "echo \"it's\"; exit 0", "x y"]),
        30,
    );
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let header = err.lines().next().unwrap_or_default();
    assert!(
        header.starts_with(r#"golat: `sh -c 'echo "it'\''s"; exit 0' 'x y'` exited 0"#),
        "{header}"
    );
    // golat diff names the commands the same way.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    write_exit0_report(&json);
    let out = output_timeout(Command::new(golat()).arg("diff").arg(&json).arg(&json), 30);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("`sh -c 'exit 0'` exited 0"), "{text}");
}

#[test]
fn a_name_found_in_path_but_not_executable_exits_126_like_execvp() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("golat-field-noexec"), "echo hi\n").unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let native = output_timeout(
        Command::new("env")
            .arg("golat-field-noexec")
            .env("PATH", &path),
        30,
    );
    let traced = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "golat-field-noexec"])
            .env("PATH", &path),
        30,
    );
    assert_eq!(native.status.code(), Some(126));
    assert_eq!(traced.status.code(), native.status.code());
    let err = String::from_utf8_lossy(&traced.stderr);
    assert!(err.contains("Permission denied"), "{err}");
}

#[test]
fn runtime_trace_refuses_go_test_of_several_packages_instead_of_breaking_it() {
    let Some(_) = require("go") else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("go.mod"), "module example.com/m\ngo 1.21\n").unwrap();
    for pkg in ["a", "b"] {
        std::fs::create_dir(dir.path().join(pkg)).unwrap();
        std::fs::write(
            dir.path().join(pkg).join("x_test.go"),
            format!("package {pkg}\nimport \"testing\"\nfunc TestX(t *testing.T) {{}}\n"),
        )
        .unwrap();
    }
    // What golat's -trace would do to the user's command.
    let native = output_timeout(
        Command::new("go")
            .args(["test", "-trace", "/dev/null", "./..."])
            .current_dir(dir.path())
            .env("GOTOOLCHAIN", "local"),
        120,
    );
    assert!(
        String::from_utf8_lossy(&native.stderr).contains("multiple packages"),
        "{native:?}"
    );
    for pkgs in [&["./..."][..], &["./a", "./b"][..]] {
        let out = output_timeout(
            Command::new(golat())
                .args(["profile", "--runtime-trace", "go", "test", "-count", "1"])
                .args(pkgs)
                .current_dir(dir.path())
                .env("GOTOOLCHAIN", "local"),
            120,
        );
        assert_eq!(out.status.code(), Some(2), "{pkgs:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{pkgs:?}: go test ran");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("one test package"), "{err}");
    }
    // `go -C dir run .` is not a subcommand called -C.
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "--runtime-trace", "go", "-C"])
            .arg(dir.path())
            .args(["test", "./a"]),
        60,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("go -C: run golat from that directory"),
        "{err}"
    );
}

#[test]
fn top_zero_is_a_usage_error_not_empty_tables() {
    for sub in [
        &["trace", "--top", "0", "x.trace"][..],
        &["profile", "--top", "0", "true"][..],
    ] {
        let out = output_timeout(Command::new(golat()).args(sub), 30);
        assert_eq!(out.status.code(), Some(2), "{sub:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("must be at least 1"), "{err}");
    }
}

#[test]
fn profile_captures_go_phases_through_a_shim_script_and_says_when_it_cannot() {
    // A version manager's `go` is a script: golat asks it for GOVERSION instead of
    // silently dropping -debug-trace. A shim that will not say gets a warning.
    let Some(real_go) = require("go") else { return };
    let report_of = |shim_body: &str| {
        let dir = tempfile::tempdir().unwrap();
        let shim = dir.path().join("go");
        std::fs::write(
            &shim,
            shim_body.replace("REAL", &real_go.display().to_string()),
        )
        .unwrap();
        std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let json = dir.path().join("r.json");
        let out = output_timeout(
            Command::new(golat())
                .args(["profile", "-q", "--json"])
                .arg(&json)
                .args(["go", "list", "std"])
                .env("PATH", &path)
                .env("GOTOOLCHAIN", "local"),
            120,
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        v
    };
    let v = report_of("#!/bin/sh\nexec REAL \"$@\"\n");
    assert!(v["go"]["debug_trace"].is_object(), "{}", v["warnings"]);
    let v = report_of("#!/bin/sh\n[ \"$1\" = env ] && exit 1\nexec REAL \"$@\"\n");
    assert!(v["go"]["debug_trace"].is_null());
    let warned = v["warnings"].as_array().unwrap().iter().any(|w| {
        w["kind"] == "debug_trace"
            && w["message"]
                .as_str()
                .unwrap()
                .contains("cannot tell which Go release")
    });
    assert!(warned, "{}", v["warnings"]);
}

/// The go command keys its test cache on GODEBUG: golat's inittrace setting must not reach
/// it, or `golat profile go test` re-runs every test a native run had cached. With and
/// without a GODEBUG of the user's.
#[test]
fn go_test_under_golat_finds_the_native_test_cache() {
    let Some(_) = require("go") else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("go.mod"),
        "module example.com/tc\ngo 1.21\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("a_test.go"),
        "package tc\nimport \"testing\"\nfunc TestA(t *testing.T) {}\n",
    )
    .unwrap();
    for godebug in [None, Some("gctrace=0")] {
        let with_env = |c: &mut Command| {
            c.current_dir(dir.path()).env("GOTOOLCHAIN", "local");
            match godebug {
                Some(v) => c.env("GODEBUG", v),
                None => c.env_remove("GODEBUG"),
            };
        };
        let mut native = Command::new("go");
        native.args(["test", "."]);
        with_env(&mut native);
        let first = output_timeout(&mut native, 120);
        assert!(first.status.success(), "{first:?}");
        let mut traced = Command::new(golat());
        traced.args(["profile", "-q", "go", "test", "."]);
        with_env(&mut traced);
        let out = output_timeout(&mut traced, 120);
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("(cached)"), "GODEBUG {godebug:?}: {stdout}");
    }
}

#[test]
fn path_audit_says_why_an_entry_cannot_be_used() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("loopa"), dir.path().join("loopb"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let out = output_timeout(
        Command::new(golat())
            .args(["path-audit", "--json"])
            .env("PATH", format!("{}:/usr/bin:/bin", a.display())),
        60,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    assert!(text.contains("symbolic links"), "{text}");
}
