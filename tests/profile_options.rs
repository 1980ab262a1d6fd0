//! `golat profile` options on real runs: --stall, --runs, --budget, --cold, --events.

mod common;

use std::process::Command;

use common::*;

#[test]
fn stall_names_the_blocked_call_and_path_while_it_hangs() {
    // cat, and a GOARCH=386 Go program, whose blocked call has an i386 number.
    let mut readers = vec![vec!["cat".to_string()]];
    if let Some(bin) = go_fixture_for("catfile", Some("386")) {
        readers.push(vec![bin.to_str().unwrap().to_string()]);
    }
    for reader in readers {
        stall_while_opening_a_fifo(&reader);
    }
}

fn stall_while_opening_a_fifo(reader: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Opening a FIFO for reading blocks until a writer comes: a stand-in for a hung mount.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            std::fs::write(&fifo, "late\n").unwrap();
        })
    };
    let json = dir.path().join("r.json");
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--stall", "0.4", "--json"])
            .arg(&json)
            .args(reader)
            .arg(&fifo),
        30,
    );
    writer.join().unwrap();
    assert!(out.status.success(), "{reader:?}: {out:?}");
    assert_eq!(out.stdout, b"late\n", "{reader:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!("in openat({:?})", fifo.to_str().unwrap());
    assert!(
        err.contains("golat: stall:") && err.contains(&want),
        "{reader:?}: {err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let stalls: Vec<_> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "stall")
        .collect();
    assert_eq!(stalls.len(), 1, "{reader:?}: {stalls:?}");
    // The open blocked until the writer came 1.5 s later: it is timed as the program's own
    // open (a FIFO is not replayed), not as a lookup of the path.
    let open = report["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == fifo.to_str().unwrap() && c["name"] == "openat")
        .unwrap_or_else(|| panic!("{reader:?}: no openat of the FIFO"));
    assert_eq!(open["timing"], "corrected", "{reader:?}: {open}");
    assert!(
        open["dur_us"].as_f64().unwrap() > 1.0e6,
        "{reader:?}: the FIFO open is timed {open}"
    );
    assert_eq!(
        report["timing"]["policy"]["measured"]["special_file"], 1,
        "{reader:?}"
    );
    // The stall line of the report has the real duration, not the threshold.
    let text = stalls[0]["message"].as_str().unwrap();
    assert!(
        !text.contains("blocked 0.4 s"),
        "{reader:?}: stall keeps the threshold: {text}"
    );
}

#[test]
fn runs_report_the_spread_of_each_figure() {
    let json = tempfile::NamedTempFile::new().unwrap();
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--runs", "3", "--json"])
            .arg(json.path())
            .args(["sh", "-c", "ls / > /dev/null"]),
        60,
    );
    assert!(out.status.success());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json.path()).unwrap()).unwrap();
    let runs = &report["runs"];
    assert_eq!(runs["n"], 3);
    let wall = runs["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "wall_ms")
        .expect("wall_ms figure");
    let (min, med, max) = (
        wall["min"].as_f64().unwrap(),
        wall["median"].as_f64().unwrap(),
        wall["max"].as_f64().unwrap(),
    );
    assert!(min <= med && med <= max && min > 0.0);
    // The report's own details are those of the median run.
    assert_eq!(report["wall_ms"].as_f64().unwrap(), med);
}

#[test]
fn budget_is_a_ci_gate_and_a_failure_still_wins() {
    let code = |budget: &str, script: &str| {
        let out = output_timeout(
            Command::new(golat()).args(["profile", "-q", "--budget", budget, "sh", "-c", script]),
            30,
        );
        out.status.code()
    };
    assert_eq!(code("1us", "exit 0"), Some(97));
    assert_eq!(code("1h", "exit 0"), Some(0));
    assert_eq!(code("1us", "exit 3"), Some(3));
    assert_eq!(code("12parsecs", "exit 0"), Some(2));
}

#[test]
fn cold_runs_get_a_fresh_gocache_that_is_removed() {
    let Some(_) = require("go") else { return };
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--cold", "go", "env", "GOCACHE"])
            .env("GOTOOLCHAIN", "local"),
        60,
    );
    assert!(out.status.success());
    let cache = String::from_utf8(out.stdout).unwrap();
    let cache = cache.trim();
    assert!(cache.contains("golat-gocache-"), "{cache}");
    assert!(
        !std::path::Path::new(cache).exists(),
        "{cache} was left behind"
    );
}

#[test]
fn a_cold_runs_fresh_cache_is_the_gocache_category_not_temp() {
    let Some(_) = require("go") else { return };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--cold", "--json"])
            .arg(&json)
            .args(["go", "build", "-o", "/dev/null", "./fixtures/hello"])
            .current_dir(repo())
            .env("GOTOOLCHAIN", "local"),
        300,
    );
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let gocache = report["env"]["gocache"].as_str().unwrap_or_default();
    assert!(
        gocache.contains("golat-gocache-"),
        "env.gocache = {gocache:?}"
    );
    let cats = report["hotspots"]["fs_blocking"]["categories"]
        .as_array()
        .unwrap();
    let cat = |name: &str| cats.iter().find(|c| c["category"] == name);
    let cache_row = cat("gocache").expect("a gocache row");
    assert_eq!(cache_row["root"], gocache);
    assert!(
        cache_row["times"]["calls"].as_u64().unwrap() > 100,
        "{cache_row}"
    );
    // What is left under temp is the build's own work dir, not the cache.
    if let Some(temp) = cat("temp") {
        assert!(
            temp["times"]["calls"].as_u64().unwrap()
                < cache_row["times"]["calls"].as_u64().unwrap()
        );
    }
}

#[test]
fn events_file_holds_every_recorded_call() {
    let dir = tempfile::tempdir().unwrap();
    let (json, events) = (dir.path().join("r.json"), dir.path().join("e.jsonl"));
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--json"])
            .arg(&json)
            .arg("--events")
            .arg(&events)
            .args(["ls", "/nonexistent-golat", "/"]),
        30,
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "ls exits 2 on a missing operand"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), report["calls"].as_array().unwrap().len());
    assert!(
        lines
            .iter()
            .any(|c| c["path"] == "/nonexistent-golat" && c["errno"] == "ENOENT")
    );
    assert!(lines.iter().all(|c| c["schema"] == "golat.events/v1"));
}

#[test]
fn timeline_carries_the_go_commands_phases_on_its_process() {
    let Some(_) = require("go") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (json, timeline) = (dir.path().join("r.json"), dir.path().join("t.json"));
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--json"])
            .arg(&json)
            .arg("--timeline")
            .arg(&timeline)
            .args(["go", "build", "-o", "/dev/null", "./fixtures/hello"])
            .current_dir(repo()),
        120,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let go_pid = report["processes"][0]["pid"].clone();
    assert_eq!(report["processes"][0]["tool"], "go");
    let events: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&timeline).unwrap()).unwrap();
    let phases: Vec<_> = events["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "go_phase")
        .collect();
    assert!(!phases.is_empty(), "no go phases on the timeline");
    assert!(phases.iter().all(|e| e["pid"] == go_pid));
    assert!(phases.iter().any(|e| {
        e["name"]
            .as_str()
            .unwrap()
            .starts_with("load.PackagesAndErrors")
    }));
}

#[test]
fn the_stop_calibration_is_measured_once_then_cached_and_the_report_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let json = dir.path().join("r.json");
        let out = output_timeout(
            Command::new(golat())
                .env("XDG_RUNTIME_DIR", dir.path())
                .args(["profile", "-q", "--json"])
                .arg(&json)
                .args(extra)
                .args(["--", "true"]),
            30,
        );
        assert!(out.status.success(), "{out:?}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        report["timing"].clone()
    };
    let first = run(&[]);
    assert_eq!(first["calibration"], "measured", "{first}");
    assert!(dir.path().join("golat/calibration-v1.json").is_file());
    let second = run(&[]);
    assert_eq!(second["calibration"], "cached", "{second}");
    assert_eq!(second["stop_cost_us"], first["stop_cost_us"]);
    assert!(second["calibration_age_s"].as_f64().is_some());
    assert_eq!(run(&["--recalibrate"])["calibration"], "measured");
}

#[test]
fn the_report_says_how_much_of_the_wall_was_tracing() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let text = dir.path().join("r.txt");
    // 2000 stats of one path: each a stop, on one thread that is the whole critical path.
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "--json"])
            .arg(&json)
            .arg("-o")
            .arg(&text)
            .args([
                "sh",
                "-c",
                "i=0; while [ $i -lt 2000 ]; do [ -e /nonexistent-golat ]; i=$((i+1)); done",
            ]),
        60,
    );
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let t = &report["hotspots"]["exec"]["tracing"];
    let stops = t["stops"].as_u64().unwrap();
    assert!(stops >= 2000, "{t}");
    let wall = report["wall_ms"].as_f64().unwrap();
    let tracing = t["wall_ms"].as_f64().unwrap();
    assert!(tracing > 0.0 && tracing <= wall, "{t} of {wall} ms");
    assert!((t["native_wall_ms"].as_f64().unwrap() - (wall - tracing)).abs() < 1e-6);
    let per_stop = t["per_stop_us"].as_f64().unwrap();
    assert!(per_stop > 1.0 && per_stop < 10_000.0, "{t}");
    let table = std::fs::read_to_string(&text).unwrap();
    assert!(
        table
            .lines()
            .any(|l| l.contains("wall is tracing") && l.contains("native ≈")),
        "{table}"
    );
}

/// The profile's PATH table and path-audit number the same entry the same way (from 1):
/// "remove #1" as one counts must not delete the Go toolchain's directory as the other does.
#[test]
fn path_entries_are_numbered_from_one_as_path_audit_numbers_them() {
    let Some(go) = require("go") else { return };
    let go_dir = go.parent().unwrap().display().to_string();
    let path = format!("/nonexistent/golat-missing:{go_dir}:/usr/bin:/bin");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let text = dir.path().join("r.txt");
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "--json"])
            .arg(&json)
            .arg("-o")
            .arg(&text)
            .args(["--", "go", "version"])
            .env("PATH", &path),
        120,
    );
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let entries = report["hotspots"]["path_scan"]["paths"][0]["entries"]
        .as_array()
        .unwrap();
    let missing = entries
        .iter()
        .find(|e| e["status"] == "missing")
        .unwrap_or_else(|| panic!("no missing entry: {entries:?}"));
    assert_eq!(missing["entry"], 1);
    let row = std::fs::read_to_string(&text)
        .unwrap()
        .lines()
        .find(|l| {
            l.starts_with('│') && l.contains("/nonexistent/golat-missing") && l.contains("missing")
        })
        .map(String::from)
        .expect("a row for the missing entry");
    assert!(
        row.trim_start_matches(['│', '|', ' ']).starts_with("1 "),
        "{row}"
    );

    let audit = output_timeout(
        Command::new(golat())
            .args(["path-audit", "--json"])
            .env("PATH", &path),
        60,
    );
    let audit: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    let finding = audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("golat-missing"))
        .unwrap_or_else(|| panic!("path-audit does not name the entry: {audit}"));
    assert_eq!(finding["entry"], missing["entry"]);
}

/// A mistyped option before the command is a usage error naming the closest option, not a
/// command to look for on PATH; after `--` a name starting with `-` is still a command.
#[test]
fn a_mistyped_option_is_a_usage_error_and_dashdash_still_runs_any_name() {
    let out = output_timeout(
        Command::new(golat()).args(["profile", "--jsno", "out.json", "go", "build"]),
        30,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("'--json'"), "{err}");
    assert!(!std::path::Path::new("out.json").exists());

    let out = output_timeout(
        Command::new(golat()).args(["profile", "-q", "--", "-golat-no-such-command"]),
        30,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(127), "{err}");
    assert!(
        err.contains("command not found: -golat-no-such-command"),
        "{err}"
    );

    // The command's own flags stay the command's.
    let (out, report) = profile(&["go", "version", "-m", "/nonexistent"], 60);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        report["command"],
        serde_json::json!(["go", "version", "-m", "/nonexistent"])
    );
}
