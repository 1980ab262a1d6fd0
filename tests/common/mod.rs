//! Shared helpers for integration tests: locating go, strace and cc, building fixtures
//! once, and running the real golat binary with a timeout.
//!
//! In CI (CI=true) a missing tool is a failure, never a quiet skip.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn golat() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_golat"))
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Finds `tool` on PATH. Without it: in CI the test fails; elsewhere it is skipped with a
/// message (returns None).
pub fn require(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(!in_ci(), "{tool} is required in CI but is not on PATH");
        eprintln!("SKIP: {tool} not found on PATH");
    }
    found
}

/// The machine's go (symlinks resolved) and its GOROOT; `None` (a skip) without go on PATH,
/// which fails in CI.
pub fn machine_go() -> Option<(PathBuf, PathBuf)> {
    let go = require("go")?;
    let real = std::fs::canonicalize(&go).unwrap();
    let root = real.parent().unwrap().parent().unwrap().to_path_buf();
    assert!(
        root.join("pkg/tool").is_dir(),
        "{} is not a GOROOT",
        root.display()
    );
    Some((real, root))
}

/// A per-test-binary scratch directory for built fixtures.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"))
        .path()
}

/// Builds `./fixtures/NAME` (a package of the repository's fixture module) once.
pub fn go_fixture(name: &str) -> Option<PathBuf> {
    go_fixture_for(name, None)
}

/// `go_fixture` for another GOARCH (`Some("386")`: a program on the i386 ABI).
pub fn go_fixture_for(name: &str, goarch: Option<&str>) -> Option<PathBuf> {
    require("go")?;
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out = match goarch {
        Some(arch) => scratch().join(format!("{name}-{arch}")),
        None => scratch().join(name),
    };
    if !out.exists() {
        let mut build = Command::new("go");
        build
            .args(["build", "-o"])
            .arg(&out)
            .arg(format!("./fixtures/{name}"))
            .current_dir(repo())
            .env("GOTOOLCHAIN", "local");
        if let Some(arch) = goarch {
            build.env("GOARCH", arch);
        }
        let status = build.status().expect("run go build");
        assert!(status.success(), "go build ./fixtures/{name} failed");
    }
    Some(out)
}

/// Compiles `fixtures/hostile/NAME.c` once with the machine's C compiler.
pub fn c_fixture(name: &str, extra: &[&str]) -> Option<PathBuf> {
    require("cc")?;
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out = scratch().join(name);
    if !out.exists() {
        let status = Command::new("cc")
            .args(["-O1", "-pthread", "-o"])
            .arg(&out)
            .arg(repo().join(format!("fixtures/hostile/{name}.c")))
            .args(extra)
            .status()
            .expect("run cc");
        assert!(status.success(), "cc {name}.c failed");
    }
    Some(out)
}

/// Waits for a child, killing it (and failing) after `secs`.
pub fn wait_timeout(child: &mut Child, secs: u64) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a command to completion with a timeout, capturing stdout and stderr.
pub fn output_timeout(cmd: &mut Command, secs: u64) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut v).ok();
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut v).ok();
        v
    });
    let status = wait_timeout(&mut child, secs);
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// The exit code a shell reports for a status: the code, or 128+N for signal N.
pub fn shell_code(status: &ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().expect("code or signal"))
}

/// Runs `golat profile --json FILE -q <args>` and returns (output, parsed report).
pub fn profile(args: &[&str], secs: u64) -> (Output, serde_json::Value) {
    profile_with(&[], args, secs)
}

/// Like `profile`, with golat options before the command (`--` separates them).
pub fn profile_with(opts: &[&str], args: &[&str], secs: u64) -> (Output, serde_json::Value) {
    let json = tempfile::NamedTempFile::new().unwrap();
    let out = output_timeout(
        Command::new(golat())
            .arg("profile")
            .arg("-q")
            .arg("--json")
            .arg(json.path())
            .args(opts)
            .arg("--")
            .args(args)
            .current_dir(repo()),
        secs,
    );
    let text = std::fs::read_to_string(json.path()).unwrap_or_default();
    let report = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (out, report)
}

/// Count of a syscall in a report's summaries (0 when absent).
pub fn syscall_count(report: &serde_json::Value, name: &str) -> u64 {
    report["syscalls"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == name)
        .and_then(|s| s["count"].as_u64())
        .unwrap_or(0)
}

/// The "X" slices of a timeline that cross another slice of their (pid, tid) track:
/// neither nests in it nor is disjoint from it (touching counts as disjoint). Checked on
/// the exact values written (µs to the ns) and as trace processor reads them (an integer
/// times 1000, a fraction `(x * 1000.0) as i64` ns), which drops such a slice. One line per
/// crossing; empty when every track nests.
pub fn crossing_slices(timeline: &serde_json::Value) -> Vec<String> {
    use std::collections::BTreeMap;
    let exact = |v: &serde_json::Value| (v.as_f64().unwrap_or(0.0) * 1000.0).round() as i64;
    let perfetto = |v: &serde_json::Value| match v.as_i64() {
        Some(i) => i * 1000,
        None => (v.as_f64().unwrap_or(0.0) * 1000.0) as i64,
    };
    /// Start, end (ns) and name.
    type Slice = (i64, i64, String);
    let mut crossings = Vec::new();
    for (reading, ns) in [
        ("as written", &exact as &dyn Fn(&serde_json::Value) -> i64),
        ("as trace processor reads it", &perfetto),
    ] {
        let mut tracks: BTreeMap<(i64, i64), Vec<Slice>> = BTreeMap::new();
        for e in timeline["traceEvents"].as_array().expect("traceEvents") {
            if e["ph"] != "X" {
                continue;
            }
            let start = ns(&e["ts"]);
            tracks
                .entry((e["pid"].as_i64().unwrap(), e["tid"].as_i64().unwrap()))
                .or_default()
                .push((start, start + ns(&e["dur"]), e["name"].to_string()));
        }
        for (track, mut slices) in tracks {
            slices.sort_by_key(|s| (s.0, std::cmp::Reverse(s.1)));
            // The open slices, outermost first.
            let mut open: Vec<&Slice> = Vec::new();
            for s in &slices {
                while open.last().is_some_and(|o| o.1 <= s.0) {
                    open.pop();
                }
                match open.last() {
                    Some(o) if s.1 > o.1 => crossings.push(format!(
                        "{reading}: on {track:?} {} [{}, {}] ns crosses {} [{}, {}] ns",
                        s.2, s.0, s.1, o.2, o.0, o.1
                    )),
                    _ => open.push(s),
                }
            }
        }
    }
    crossings
}
