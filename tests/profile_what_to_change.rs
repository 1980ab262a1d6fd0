//! "What to change" against the real thing: each test makes a run slow for a known reason
//! (a build cache or a PATH entry on a slow FUSE mount, an empty cache, `-a`, slow package
//! inits), checks that golat's first finding names that reason with a fix, then applies the
//! fix and runs go again without golat to see that it does what golat said.
//!
//! Needs go, /dev/fuse and root or fusermount3 (.ci/run installs fuse3). Under CI=true a
//! missing tool or a failed mount fails the test.

mod common;
#[path = "common/delayfs.rs"]
mod delayfs;

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{golat, output_timeout, repo, require};
use delayfs::{Delays, mount_or_skip};
use serde_json::Value;

/// The tests time builds and count a FUSE server's requests: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn hello() -> std::path::PathBuf {
    repo().join("fixtures/hello")
}

/// `go build -o /dev/null .` in fixtures/hello, natively, with `env`; returns its wall.
fn native_build(env: &[(&str, &str)], args: &[&str]) -> Duration {
    let mut cmd = Command::new("go");
    cmd.current_dir(hello())
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-buildvcs=false")
        .arg("build")
        .args(args)
        .args(["-o", "/dev/null", "."]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let t = Instant::now();
    let out = output_timeout(&mut cmd, 300);
    assert!(out.status.success(), "go build: {out:?}");
    t.elapsed()
}

/// The same build under `golat profile`: (table report, JSON report).
fn profiled_build(env: &[(&str, &str)], args: &[&str]) -> (String, Value) {
    let json = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new(golat());
    cmd.current_dir(hello())
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-buildvcs=false")
        .env("COLUMNS", "200")
        .args(["profile", "--json"])
        .arg(json.path())
        .args(["go", "build"])
        .args(args)
        .args(["-o", "/dev/null", "."]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = output_timeout(&mut cmd, 300);
    assert!(out.status.success(), "golat profile: {out:?}");
    let report = serde_json::from_str(&std::fs::read_to_string(json.path()).unwrap()).unwrap();
    (String::from_utf8_lossy(&out.stderr).into_owned(), report)
}

fn findings(report: &Value) -> &Vec<Value> {
    report["hotspots"]["what_to_change"]["findings"]
        .as_array()
        .expect("hotspots.what_to_change.findings")
}

fn copy_dir(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap()
        .success();
    assert!(ok, "cp -a {} {}", from.display(), to.display());
}

#[test]
fn a_build_cache_on_a_slow_mount_comes_first_and_moving_it_saves_what_golat_said() {
    let _g = serial();
    if require("go").is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let cache = root.join("gocache");
    std::fs::create_dir_all(&cache).unwrap();
    // Warmed on the local directory the mount mirrors: a cold build through the mount
    // would take minutes and is not what is measured.
    native_build(&[("GOCACHE", cache.to_str().unwrap())], &[]);
    let mnt = t.path().join("mnt");
    let delays = Delays {
        lookup: Duration::from_millis(1),
        open: Duration::from_millis(1),
        getattr: Duration::from_millis(1),
        ..Delays::default()
    };
    let Some(fs) = mount_or_skip(&root, &mnt, &delays) else {
        return;
    };
    let slow_cache = mnt.join("gocache");
    let slow = slow_cache.to_str().unwrap();
    fs.reset();
    let (text, report) = profiled_build(&[("GOCACHE", slow)], &[]);
    let served_ms = fs.stats().total_injected_ms();
    let first = &findings(&report)[0];
    assert_eq!(first["key"], "slow_mount", "{text}");
    assert!(
        first["title"].as_str().unwrap().contains("build cache"),
        "{first}"
    );
    assert!(
        first["fix"]
            .as_str()
            .unwrap()
            .starts_with("export GOCACHE="),
        "{first}"
    );
    assert!(text.contains("What to change"), "{text}");
    assert!(text.contains("most to gain: the build cache"), "{text}");
    let saves = first["saves_ms"].as_f64().unwrap();
    // It cannot save more than the mount spent in delays plus what the kernel adds to
    // each request, and on a no-op build the go command waits on most of its cache reads.
    assert!(
        saves <= served_ms * 1.5 && saves >= served_ms * 0.3,
        "saves {saves:.1} ms, the server injected {served_ms:.1} ms"
    );

    // The fix: the same cache on a local disk. The mount sees nothing, and the build is
    // faster by about what golat said (delays are sleeps: load stretches both sides).
    let local = t.path().join("local-gocache");
    copy_dir(&cache, &local);
    let before = native_build(&[("GOCACHE", slow)], &[]);
    fs.reset();
    let after = native_build(&[("GOCACHE", local.to_str().unwrap())], &[]);
    assert_eq!(
        fs.stats().total_count(),
        0,
        "the fixed build still used the mount"
    );
    let measured = (before.as_secs_f64() - after.as_secs_f64()) * 1000.0;
    eprintln!(
        "golat said ≈{saves:.0} ms (server injected {served_ms:.0} ms); native {before:?} → {after:?}: saved {measured:.0} ms"
    );
    assert!(
        measured >= saves * 0.5 && measured <= saves * 2.0,
        "golat said ≈{saves:.0} ms; moving the cache saved {measured:.0} ms \
         ({before:?} → {after:?})"
    );
}

#[test]
fn a_slow_path_entry_is_moved_last_and_the_fixed_path_sends_the_mount_fewer_lookups() {
    let _g = serial();
    let Some(go) = require("go") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    let mnt = t.path().join("mnt");
    let delays = Delays {
        lookup: Duration::from_millis(20),
        getattr: Duration::from_millis(20),
        ..Delays::default()
    };
    let Some(fs) = mount_or_skip(&root, &mnt, &delays) else {
        return;
    };
    let slow_bin = mnt.join("bin");
    let go_dir = go.parent().unwrap().to_str().unwrap().to_string();
    let missing = t.path().join("no-such-dir");
    let path = format!(
        "{}:{}:{go_dir}:/usr/bin:/bin",
        slow_bin.display(),
        missing.display()
    );
    let (text, report) = profiled_build(&[("PATH", &path)], &[]);
    let f = findings(&report)
        .iter()
        .find(|f| f["key"] == "path_entries")
        .unwrap_or_else(|| panic!("no PATH finding:\n{text}"));
    assert!(f["title"].as_str().unwrap().contains("#1 "), "{f}");
    let fix = f["fix"].as_str().unwrap();
    let fixed = fix
        .strip_prefix("export PATH='")
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or_else(|| panic!("not a PATH line: {fix}"));
    let entries: Vec<&str> = fixed.split(':').collect();
    assert_eq!(entries.last(), Some(&slow_bin.to_str().unwrap()), "{fix}");
    assert!(!entries.contains(&missing.to_str().unwrap()), "{fix}");
    assert_eq!(entries.first(), Some(&go_dir.as_str()), "{fix}");

    // Applied: go still builds, and the slow entry gets fewer lookups (only names found
    // nowhere still reach it).
    fs.reset();
    native_build(&[("PATH", &path)], &[]);
    let before = fs.stats().op("lookup").count;
    fs.reset();
    native_build(&[("PATH", fixed)], &[]);
    let after = fs.stats().op("lookup").count;
    assert!(
        after < before,
        "lookups on the slow entry: {before} with the old PATH, {after} with golat's"
    );
}

#[test]
fn an_empty_cache_and_a_forced_rebuild_are_told_apart_and_a_kept_cache_ends_the_rebuilds() {
    let _g = serial();
    if require("go").is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("gocache");
    let env = [("GOCACHE", cache.to_str().unwrap())];
    let (text, report) = profiled_build(&env, &[]);
    let f = findings(&report)
        .iter()
        .find(|f| f["key"] == "rebuilt_packages")
        .unwrap_or_else(|| panic!("no rebuilt-packages finding:\n{text}"));
    assert!(
        f["evidence"].as_str().unwrap().contains("standard library"),
        "{f}"
    );
    assert!(f["fix"].as_str().unwrap().contains("GOCACHE"), "{f}");

    let (text, report) = profiled_build(&env, &["-a"]);
    let f = findings(&report)
        .iter()
        .find(|f| f["key"] == "rebuilt_packages")
        .unwrap_or_else(|| panic!("no rebuilt-packages finding for -a:\n{text}"));
    assert!(f["title"].as_str().unwrap().contains("-a"), "{f}");
    assert_eq!(f["confidence"], "high");

    // The fix applied: the cache kept, no -a. Nothing is compiled, nothing is said.
    let (text, report) = profiled_build(&env, &[]);
    assert!(
        !findings(&report)
            .iter()
            .any(|f| f["key"] == "rebuilt_packages"),
        "{text}"
    );
    let compiles = report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["tool"] == "compile" && !p["argv"].to_string().contains("-V=full"))
        .count();
    assert_eq!(compiles, 0, "{text}");
}

#[test]
fn slow_package_inits_name_the_package_and_a_quick_build_says_nothing_is_worth_changing() {
    let _g = serial();
    let Some(go) = require("go") else {
        return;
    };
    let json = tempfile::NamedTempFile::new().unwrap();
    let out = output_timeout(
        Command::new(golat())
            .current_dir(repo().join("fixtures/initchain"))
            .env("GOTOOLCHAIN", "local")
            .args(["profile", "-q", "--json"])
            .arg(json.path())
            .args(["go", "run", "."]),
        300,
    );
    assert!(out.status.success(), "{out:?}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(json.path()).unwrap()).unwrap();
    let f = findings(&report)
        .iter()
        .find(|f| f["key"] == "slow_init")
        .unwrap_or_else(|| panic!("no init finding: {}", report["hotspots"]["what_to_change"]));
    // slowvar builds a 150,000-entry table in a package-level var: the slowest init.
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("example.com/initchain/slowvar"),
        "{f}"
    );
    let main_at = report["hotspots"]["init_chain"]["processes"][0]["main_at_ms"]
        .as_f64()
        .unwrap();
    assert!(f["saves_ms"].as_f64().unwrap() <= main_at, "{f}");

    // A warm build with a short PATH: nothing worth 1% of the wall, in one line.
    let go_dir = go.parent().unwrap().to_str().unwrap().to_string();
    let short_path = format!("{go_dir}:/usr/bin");
    native_build(&[("PATH", &short_path)], &[]);
    let (text, report) = profiled_build(&[("PATH", &short_path)], &[]);
    assert!(findings(&report).is_empty(), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("What to change:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("nothing would save 1% of the"), "{line}");
}

#[test]
fn links_that_go_build_throws_away_are_named_and_building_into_a_directory_ends_them() {
    let _g = serial();
    if require("go").is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let m = t.path().join("m");
    for cmd in ["one", "two"] {
        let dir = m.join("cmd").join(cmd);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("main.go"),
            format!("package main\n\nimport \"fmt\"\n\nfunc main() {{ fmt.Println(\"{cmd}\") }}\n"),
        )
        .unwrap();
    }
    std::fs::write(m.join("go.mod"), "module example.com/m\n\ngo 1.22\n").unwrap();
    let go_in = |args: &[&str], profiled: bool| -> Option<Value> {
        let json = t.path().join("r.json");
        let mut cmd = if profiled {
            let mut c = Command::new(golat());
            c.args(["profile", "-q", "--json"]).arg(&json).arg("go");
            c
        } else {
            Command::new("go")
        };
        cmd.current_dir(&m)
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-buildvcs=false")
            .args(args);
        let out = output_timeout(&mut cmd, 300);
        assert!(out.status.success(), "{args:?}: {out:?}");
        profiled.then(|| serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap())
    };
    let links = |r: &Value| {
        r["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["tool"] == "link" && !p["argv"].to_string().contains("-V=full"))
            .count()
    };
    go_in(&["build", "./..."], false);
    let r = go_in(&["build", "./..."], true).unwrap();
    assert_eq!(
        links(&r),
        2,
        "go build ./... links both commands every time"
    );
    let f = findings(&r)
        .iter()
        .find(|f| f["key"] == "discarded_links")
        .unwrap_or_else(|| panic!("{}", r["hotspots"]["what_to_change"]));
    assert!(f["title"].as_str().unwrap().contains("2 commands"), "{f}");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .starts_with("go build -o ./bin/ ./..."),
        "{f}"
    );

    // The fix: build into a directory. The first build links; the next finds both
    // binaries up to date, links nothing and is not told the same again.
    go_in(&["build", "-o", "./bin/", "./..."], false);
    let r = go_in(&["build", "-o", "./bin/", "./..."], true).unwrap();
    assert_eq!(links(&r), 0, "binaries up to date were linked again");
    assert!(
        !findings(&r).iter().any(|f| f["key"] == "discarded_links"),
        "{}",
        r["hotspots"]["what_to_change"]
    );
    assert!(m.join("bin/one").exists() && m.join("bin/two").exists());
}
