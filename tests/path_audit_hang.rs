//! Both doctors against PATH entries on FUSE mounts (fixtures/delayfs) that answer slowly or
//! not at all: a 300 ms entry is slow (not "did not answer"), a 900 ms entry costs env-check
//! one finding (not the whole PATH scan), and a mount whose server is wedged mid-request —
//! the case where a thread cannot be killed, so a process cannot finish exiting — keeps
//! neither command from printing its report and exiting promptly.
//!
//! Needs /dev/fuse and root or fusermount3, and go (to build the server and as the go on
//! PATH). Under CI=true a missing piece fails the test.

#[path = "common/delayfs.rs"]
mod delayfs;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use delayfs::{Delays, mount_or_skip};
use serde_json::Value;

fn golat() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_golat"))
}

fn machine_go_dir() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let go = std::env::split_paths(&path)
        .map(|d| d.join("go"))
        .find(|p| p.is_file());
    if go.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI: go is not on PATH"
        );
        eprintln!("*** SKIP: no go on PATH ***");
    }
    Some(std::fs::canonicalize(go?).ok()?.parent()?.to_path_buf())
}

/// Runs golat with `args`, PATH=`path` and HOME=`home`; returns (exit code, stdout, wall).
/// Fails the test if golat has not exited within `limit`.
fn run(args: &[&str], path: &str, home: &Path, limit: Duration) -> (i32, String, Duration) {
    run_env(args, path, home, &[], limit)
}

fn run_env(
    args: &[&str],
    path: &str,
    home: &Path,
    extra: &[(&str, &str)],
    limit: Duration,
) -> (i32, String, Duration) {
    let start = Instant::now();
    let mut child = Command::new(golat())
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("GOTOOLCHAIN", "local")
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            // stdout must reach EOF too: a child holding it would keep `$(golat ...)` waiting.
            let text = reader.join().unwrap();
            return (st.code().unwrap_or(-1), text, start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("golat {args:?} did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A mirrored root holding an empty `bin`, mounted with `delays`.
fn mount(t: &Path, delays: &Delays) -> Option<(delayfs::DelayFs, PathBuf)> {
    let root = t.join("root");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    let mnt = t.join("mnt");
    let fs = mount_or_skip(&root, &mnt, delays)?;
    Some((fs, mnt))
}

#[test]
fn wedged_mount_keeps_neither_command_from_exiting() {
    let Some(go_dir) = machine_go_dir() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let delays = Delays {
        hang_names: vec!["bin".into()],
        hang_for: None,
        ..Delays::default()
    };
    let Some((fs, mnt)) = mount(t.path(), &delays) else {
        return;
    };
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let entry = format!("{}/bin", mnt.display());
    let path = format!("{entry}:{}:/usr/bin:/bin", go_dir.display());

    for args in [
        vec![
            "path-audit",
            "--json",
            "--timeout",
            "300",
            "--path",
            path.as_str(),
        ],
        vec!["env-check", "--json"],
    ] {
        // Wedge the server while golat's lookup of `bin` is inside it: the kernel's
        // INTERRUPT then goes unanswered and the looking thread cannot die.
        let stopper = {
            let pid = fs.server_pid() as i32;
            let hanging = || fs.hanging();
            let start = Instant::now();
            let mut child = Command::new(golat())
                .args(&args)
                .env_clear()
                .env("PATH", &path)
                .env("HOME", &home)
                .env("GOTOOLCHAIN", "local")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            while hanging() == 0 {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "golat never reached the mount"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
            // SAFETY: signalling the test's own server process.
            unsafe { libc::kill(pid, libc::SIGSTOP) };
            let mut out = child.stdout.take().unwrap();
            let reader = std::thread::spawn(move || {
                let mut s = String::new();
                let _ = out.read_to_string(&mut s);
                s
            });
            let status = loop {
                if let Some(st) = child.try_wait().unwrap() {
                    break Some(st);
                }
                if start.elapsed() > Duration::from_secs(10) {
                    break None;
                }
                std::thread::sleep(Duration::from_millis(10));
            };
            let took = start.elapsed();
            // SAFETY: as above; let the server (and any stuck thread) go on.
            unsafe { libc::kill(pid, libc::SIGCONT) };
            let status = status.unwrap_or_else(|| {
                let _ = child.kill();
                panic!("golat {args:?} did not exit within 10 s of a wedged mount")
            });
            let text = reader.join().unwrap();
            (status, text, took)
        };
        let (status, text, took) = stopper;
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"));
        assert!(took < Duration::from_secs(3), "{args:?} took {took:?}");
        if args[0] == "path-audit" {
            assert_eq!(v["entries"][0]["status"], "unresponsive", "{v:#}");
            assert_eq!(status.code(), Some(3));
        } else {
            let c: Vec<&Value> = v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["id"] == "GO012")
                .collect();
            assert_eq!(c.len(), 1, "{v:#}");
            let go1: Vec<&Value> = v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["id"] == "GO001")
                .collect();
            assert_eq!(
                go1[0]["status"], "ok",
                "the rest of PATH was scanned: {v:#}"
            );
        }
    }
    drop(fs);
}

#[test]
fn slow_entries_are_slow_not_unresponsive() {
    let Some(go_dir) = machine_go_dir() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    // Every LOOKUP takes 300 ms; the kernel caches nothing.
    let delays = Delays {
        lookup: Duration::from_millis(300),
        ..Delays::default()
    };
    let Some((fs, mnt)) = mount(t.path(), &delays) else {
        return;
    };
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let entry = mnt.display().to_string();
    let path = format!("{entry}:/usr/bin:/bin");
    let (code, text, took) = run(
        &["path-audit", "--json", "--path", &path],
        &path,
        &home,
        Duration::from_secs(20),
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    let row = &v["entries"][0];
    assert_eq!(row["status"], "ok", "{row}");
    assert!(row["lookup_us"].as_f64().unwrap() >= 300_000.0, "{row}");
    let kinds: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["entry"] == 1)
        .map(|f| (f["kind"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&("slow_lookup", "warn")), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k.0 == "unresponsive"), "{kinds:?}");
    assert!(
        took < Duration::from_secs(3),
        "one slow probe, not five: {took:?}"
    );
    assert_eq!(
        code, 3,
        "the FUSE entry ahead of /usr/bin is network_fs error"
    );
    // The cleaned PATH keeps it, last.
    let sug = v["suggested_path"].as_str().unwrap();
    assert!(sug.ends_with(&entry), "{sug}");
    drop(fs);

    // 900 ms: env-check does not drop the PATH scan; it finds go and gcc after the entry.
    let t2 = tempfile::tempdir().unwrap();
    let delays = Delays {
        lookup: Duration::from_millis(900),
        ..Delays::default()
    };
    let Some((fs, mnt)) = mount(t2.path(), &delays) else {
        return;
    };
    let path = format!("{}/bin:{}:/usr/bin:/bin", mnt.display(), go_dir.display());
    let (_, text, took) = run(
        &["env-check", "--json"],
        &path,
        &home,
        Duration::from_secs(20),
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    let by_id = |id: &str| -> Vec<Value> {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"] == id)
            .cloned()
            .collect()
    };
    assert_eq!(by_id("GO001")[0]["status"], "ok", "{v:#}");
    assert_eq!(by_id("GO012")[0]["status"], "warn", "{v:#}");
    assert!(
        !by_id("GO060")[0]["message"]
            .as_str()
            .unwrap()
            .contains("no C compiler"),
        "{v:#}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    drop(fs);
}

#[test]
fn goroot_on_a_hung_mount_is_reported_not_waited_for() {
    let Some(go_dir) = machine_go_dir() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("root/goroot")).unwrap();
    let delays = Delays {
        hang_names: vec!["goroot".into()],
        hang_for: None,
        ..Delays::default()
    };
    let Some((fs, mnt)) = mount(t.path(), &delays) else {
        return;
    };
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let path = format!("{}:/usr/bin:/bin", go_dir.display());
    let goroot = format!("{}/goroot", mnt.display());
    let (code, text, took) = run_env(
        &["env-check", "--json"],
        &path,
        &home,
        &[("GOROOT", &goroot)],
        Duration::from_secs(10),
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let c: Vec<&Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "GO004")
        .collect();
    assert_eq!(c[0]["status"], "error", "{v:#}");
    assert!(
        c[0]["message"].as_str().unwrap().contains("did not answer"),
        "{}",
        c[0]
    );
    assert_eq!(code, 3);
    drop(fs);
}
