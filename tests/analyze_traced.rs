//! Real tracing, no mocks: Go fixture programs run under `golat profile`, and the analyses
//! must agree with the counts the programs print themselves. Under CI=true a machine
//! without go or without ptrace fails these tests instead of skipping them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use serde_json::Value;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// False (and a note) when a prerequisite is missing; a panic under CI.
fn require(ok: bool, what: &str) -> bool {
    if !ok {
        assert!(!in_ci(), "CI=true and {what}");
        eprintln!("skipping: {what}");
    }
    ok
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds fixtures/NAME into DIR/NAME with the machine's go; None when go is missing.
fn build_fixture(name: &str, dir: &Path) -> Option<PathBuf> {
    let out = dir.join(name);
    let status = StdCommand::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(manifest().join("fixtures").join(name))
        .status();
    match status {
        Ok(s) if s.success() => Some(out),
        Ok(s) => panic!("go build of fixtures/{name} failed: {s}"),
        Err(e) => {
            require(false, &format!("go cannot be run: {e}"));
            None
        }
    }
}

fn load(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The report, or None (a panic under CI) when ptrace was not permitted.
fn traced(report: Value) -> Option<Value> {
    let ok = report["traced"] == Value::Bool(true);
    let why = report["untraced_reason"].as_str().unwrap_or("").to_string();
    require(ok, &format!("ptrace is not permitted here: {why}")).then_some(report)
}

/// `key=value` from the fixture's one-line summary.
fn field(stdout: &str, key: &str) -> u64 {
    stdout
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {stdout:?}"))
        .parse()
        .unwrap()
}

#[test]
fn missing_tool_lookups_rank_first_with_probes_equal_calls_times_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(bin) = build_fixture("pathscan", tmp.path()) else {
        return;
    };
    let cwd = tmp.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    std::fs::write(cwd.join("notadir"), "").unwrap();
    // 34 entries: real, missing, duplicate (lexically and through the /bin symlink on
    // merged-/usr systems), empty (the cwd), relative, and a file that is not a directory.
    let mut entries: Vec<String> = [
        "/usr/local/bin",
        "/nonexistent/a",
        "/usr/bin",
        "/usr/bin/",
        "/usr//bin",
        "",
        "rel/dir",
        "/nonexistent/b",
        "notadir",
        "/bin",
        "/usr/bin",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    entries.extend((1..=23).map(|i| format!("/nonexistent/x{i}")));
    let path = entries.join(":");
    let json = tmp.path().join("r.json");
    let calls = 40;
    let out = Command::cargo_bin("golat")
        .unwrap()
        .current_dir(&cwd)
        .env("PATH", &path)
        .arg("profile")
        .arg("-q")
        .arg("--json")
        .arg(&json)
        .arg("--")
        .arg(&bin)
        .args(["-n", &calls.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(field(&stdout, "entries"), entries.len() as u64);
    assert_eq!(field(&stdout, "lookups"), calls);
    assert_eq!(field(&stdout, "found"), 0);
    let Some(report) = traced(load(&json)) else {
        return;
    };
    let first = &report["hotspots"]["path_scan"]["names"][0];
    assert_eq!(first["name"], "golat-no-such-tool", "{first:#}");
    let expected = field(&stdout, "probes_if_missing");
    assert_eq!(expected, calls * entries.len() as u64);
    assert_eq!(first["probes"].as_u64().unwrap(), expected, "{first:#}");
    assert_eq!(first["misses"].as_u64().unwrap(), expected);
    assert_eq!(first["lookups"].as_u64().unwrap(), calls);
    assert_eq!(first["dirs_walked"].as_u64().unwrap(), entries.len() as u64);
    assert!(first["found"].is_null());

    // Entry by entry: every one probed once per lookup; the wasteful ones named.
    let list = &report["hotspots"]["path_scan"]["paths"][0];
    assert_eq!(list["path"], path.as_str());
    let list_entries = list["entries"].as_array().unwrap();
    assert_eq!(list_entries.len(), entries.len());
    for e in list_entries {
        assert_eq!(e["probes"].as_u64().unwrap(), calls, "{e:#}");
    }
    let status = |i: usize| list_entries[i]["status"].as_str().unwrap().to_string();
    assert_eq!(status(0), "ok");
    assert_eq!(status(1), "missing");
    assert_eq!(status(3), "duplicate");
    assert_eq!(status(4), "duplicate");
    assert_eq!(status(5), "ok", "the empty entry is the cwd, which exists");
    assert_eq!(status(6), "missing");
    assert_eq!(status(8), "not_dir");
    assert_eq!(status(10), "duplicate");
    // Wasteful: 2 (x2 /usr/bin copies) + index 10 + missing a, b, rel/dir, 23 x's + notadir,
    // plus /bin when it is a symlink to /usr/bin.
    let bin_is_usr_bin =
        std::fs::canonicalize("/bin").ok() == std::fs::canonicalize("/usr/bin").ok();
    let wasteful = 3 + 3 + 23 + 1 + u64::from(bin_is_usr_bin);
    assert_eq!(
        report["hotspots"]["path_scan"]["cleanup"]["saved_probes"]
            .as_u64()
            .unwrap(),
        wasteful * calls
    );
    assert_eq!(first["wasted_probes"].as_u64().unwrap(), wasteful * calls);
}

#[test]
fn one_directory_statted_thousands_of_times_tops_the_stat_storms() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(bin) = build_fixture("statstorm", tmp.path()) else {
        return;
    };
    let target = tmp.path().join("stormy");
    std::fs::create_dir(&target).unwrap();
    let json = tmp.path().join("r.json");
    let out = Command::cargo_bin("golat")
        .unwrap()
        .args(["profile", "-q", "--json"])
        .arg(&json)
        .arg("--")
        .arg(&bin)
        .arg("-dir")
        .arg(&target)
        .args(["-n", "3000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(field(&stdout, "ok"), 3000);
    let Some(report) = traced(load(&json)) else {
        return;
    };
    let top = &report["hotspots"]["fs_blocking"]["stat_storms"][0];
    assert_eq!(top["path"], target.to_str().unwrap(), "{top:#}");
    assert_eq!(
        top["times"]["calls"].as_u64().unwrap(),
        field(&stdout, "stats")
    );
    assert_eq!(top["processes"].as_u64().unwrap(), 1);
    assert_eq!(top["by_call"][0][0], "newfstatat");
    // The table report names it too.
    let table = Command::cargo_bin("golat")
        .unwrap()
        .arg("report")
        .arg(&json)
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    let storms = text
        .split("Stat storms")
        .nth(1)
        .expect("a stat storm table");
    let first_row = storms
        .lines()
        .find(|l| l.starts_with('│') && !l.contains("path"))
        .unwrap();
    assert!(first_row.contains("3000"), "{first_row}");
}

#[test]
fn timeline_of_a_real_build_parses_and_has_one_track_group_per_process() {
    let tmp = tempfile::tempdir().unwrap();
    if !require(
        StdCommand::new("go").arg("version").output().is_ok(),
        "go is not on PATH",
    ) {
        return;
    }
    let json = tmp.path().join("r.json");
    let timeline = tmp.path().join("t.json");
    let out = Command::cargo_bin("golat")
        .unwrap()
        .current_dir(manifest().join("fixtures/hello"))
        // With CGO_ENABLED unset the go command looks for gcc on PATH: a known PATH walk.
        .env_remove("CGO_ENABLED")
        .args(["profile", "-q", "--json"])
        .arg(&json)
        .arg("--timeline")
        .arg(&timeline)
        .args(["go", "build", "-o"])
        .arg(tmp.path().join("hello"))
        .arg(".")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let Some(report) = traced(load(&json)) else {
        return;
    };
    let procs: BTreeSet<i64> = report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_i64().unwrap())
        .collect();
    assert!(procs.len() >= 3, "go, and at least compile and link");
    for file in [timeline.clone(), tmp.path().join("t2.json")] {
        if file != timeline {
            Command::cargo_bin("golat")
                .unwrap()
                .arg("report")
                .arg(&json)
                .arg("--timeline")
                .arg(&file)
                .assert()
                .success();
        }
        let t = load(&file);
        let events = t["traceEvents"].as_array().expect("traceEvents array");
        let pids: BTreeSet<i64> = events.iter().map(|e| e["pid"].as_i64().unwrap()).collect();
        assert_eq!(pids, procs, "{}", file.display());
        for e in events {
            let ph = e["ph"].as_str().unwrap();
            assert!(["M", "X", "b", "e"].contains(&ph), "{e}");
            if ph == "X" {
                assert!(e["ts"].as_f64().unwrap() >= 0.0, "{e}");
                assert!(e["dur"].as_f64().unwrap() >= 0.0, "{e}");
            }
        }
        let execs = events.iter().filter(|e| e["cat"] == "exec").count();
        assert_eq!(
            execs as u64,
            report["hotspots"]["exec"]["execs"].as_u64().unwrap()
        );
        // gcc/gccgo lookups by the go command appear as PATH-scan bursts.
        assert!(events.iter().any(|e| e["cat"] == "path_scan"));
    }
}
