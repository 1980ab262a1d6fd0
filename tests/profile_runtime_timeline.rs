//! `golat profile --runtime-trace --timeline`: the program's GC cycles, stop-the-world pauses,
//! goroutine creations and run slices on its own process in the timeline, placed on the run's
//! clock, counted as the report's runtime-trace summary counts them; and a program that exits
//! within a few milliseconds still leaves a complete trace (the exit hook stops it).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

/// Runs `golat profile -q --runtime-trace --timeline T --json J <cmd>` in `dir`; returns
/// (stdout, report, timeline).
fn profile_timeline(cmd: &[&str], dir: &Path) -> (std::process::Output, Value, Value) {
    let tmp = tempfile::tempdir().unwrap();
    let (json, timeline) = (tmp.path().join("r.json"), tmp.path().join("t.json"));
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--runtime-trace", "--timeline"])
            .arg(&timeline)
            .arg("--json")
            .arg(&json)
            .arg("--")
            .args(cmd)
            .current_dir(dir),
        240,
    );
    let read = |p: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_default()).unwrap_or_default()
    };
    (out, read(&json), read(&timeline))
}

/// The timeline's events of `pid` in category `cat`.
fn events<'a>(timeline: &'a Value, pid: i64, cat: &str) -> Vec<&'a Value> {
    timeline["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["pid"] == pid && e["cat"] == cat)
        .collect()
}

fn go_events(timeline: &Value, pid: i64) -> Vec<&Value> {
    timeline["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["pid"] == pid && e["cat"].as_str().is_some_and(|c| c.starts_with("go_")))
        .collect()
}

/// Checks what every runtime-trace timeline must satisfy; returns the program's pid.
fn check_counts_and_alignment(report: &Value, timeline: &Value, aligned_by_clock: bool) -> i64 {
    let rt = &report["go"]["runtime_trace"];
    let summary = &rt["summary"];
    let pid = rt["timeline"]["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("no program pid in {}", rt["timeline"]));
    // The same counts as the summary, on the program's own process.
    assert_eq!(
        events(timeline, pid, "go_gc").len() as u64,
        summary["gc"]["cycles"].as_u64().unwrap(),
        "GC slices = summary.gc.cycles"
    );
    let stw = events(timeline, pid, "go_stw");
    assert_eq!(
        stw.len() as u64,
        summary["stw"]["count"].as_u64().unwrap(),
        "STW slices = summary.stw.count"
    );
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for e in &stw {
        *by_kind
            .entry(e["args"]["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
        assert_eq!(
            e["name"],
            format!("STW: {}", e["args"]["kind"].as_str().unwrap())
        );
    }
    for k in summary["stw"]["by_kind"].as_array().unwrap() {
        assert_eq!(
            by_kind.get(k["kind"].as_str().unwrap()).copied(),
            k["count"].as_u64(),
            "STW slices of kind {}",
            k["kind"]
        );
    }
    assert_eq!(
        events(timeline, pid, "go_create").len() as u64,
        summary["goroutines"]["created"].as_u64().unwrap(),
        "creation instants = summary.goroutines.created"
    );
    assert!(
        !events(timeline, pid, "go_run").is_empty(),
        "goroutine run slices"
    );
    // Slices of every track nest or are disjoint (trace processor drops crossing ones).
    let crossings = crossing_slices(timeline);
    assert!(crossings.is_empty(), "{crossings:#?}");
    // Placed inside the program's own lifetime (its process slice on the timeline).
    let life = timeline["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["pid"] == pid && e["cat"] == "process")
        .expect("the program's process slice");
    let (born, died) = (
        life["ts"].as_f64().unwrap(),
        life["ts"].as_f64().unwrap() + life["dur"].as_f64().unwrap(),
    );
    let how = timeline["otherData"]["runtime_trace"]["aligned_by"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        how.starts_with("CLOCK_MONOTONIC"),
        aligned_by_clock,
        "{how}"
    );
    for e in go_events(timeline, pid) {
        let ts = e["ts"].as_f64().unwrap();
        let end = ts + e["dur"].as_f64().unwrap_or(0.0);
        // 1 ms of slack: the exit is stamped when golat sees it.
        assert!(
            ts >= born && end <= died + 1000.0,
            "{e} outside the program's life [{born}, {died}] us ({how})"
        );
    }
    if aligned_by_clock {
        // Causality on one clock: the program created the trace file (a call golat timed
        // under ptrace) before runtime/trace wrote its first event.
        let file_created = report["calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["pid"] == pid
                    && c["flags"].as_str().is_some_and(|f| f.contains("O_CREAT"))
                    && c["path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with("runtime.trace"))
            })
            .expect("the program's openat of the trace file");
        let created_us = file_created["t_ms"].as_f64().unwrap() * 1000.0;
        let first = go_events(timeline, pid)
            .iter()
            .map(|e| e["ts"].as_f64().unwrap())
            .fold(f64::INFINITY, f64::min);
        assert!(
            first >= created_us && first - created_us < 50_000.0,
            "first runtime event at {first} us, trace file created at {created_us} us"
        );
    }
    pid
}

/// `golat report SAVED --timeline OUT`: the timeline drawn from a saved report alone.
fn redraw(saved: &std::path::Path, out: &std::path::Path) -> Value {
    let st = Command::new(golat())
        .arg("report")
        .arg(saved)
        .arg("--timeline")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

#[test]
fn gc_stw_and_goroutines_of_the_program_are_on_its_timeline_track() {
    let Some(_) = require("go") else { return };
    let (out, report, timeline) = profile_timeline(&["go", "run", "./fixtures/rtrace"], &repo());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"rtrace done 4\n");
    let summary = &report["go"]["runtime_trace"]["summary"];
    assert!(
        summary["gc"]["cycles"].as_u64().unwrap() >= 1,
        "the fixture forces a GC"
    );
    let pid = check_counts_and_alignment(&report, &timeline, true);
    let program = report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|p| p["pid"] == pid)
        .unwrap();
    assert_eq!(
        program["tool"], "rtrace",
        "the built program wrote the trace"
    );
    // The fixture's four workers ran: their run slices carry the entry function.
    let workers: std::collections::BTreeSet<&str> = events(&timeline, pid, "go_run")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .filter(|n| n.ends_with("main.main.func1"))
        .collect();
    assert_eq!(workers.len(), 4, "{workers:?}");

    // The renderer needs only the saved report: `golat report --timeline` draws the same
    // runtime events.
    let tmp = tempfile::tempdir().unwrap();
    let saved = tmp.path().join("r.json");
    std::fs::write(&saved, serde_json::to_vec(&report).unwrap()).unwrap();
    let again = redraw(&saved, &tmp.path().join("t2.json"));
    assert_eq!(go_events(&again, pid), go_events(&timeline, pid));
}

#[test]
fn a_program_that_exits_in_milliseconds_leaves_a_complete_trace() {
    let Some(_) = require("go") else { return };
    let (out, report, timeline) = profile_timeline(&["go", "run", "./fixtures/hello"], &repo());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rt = &report["go"]["runtime_trace"];
    assert_eq!(rt["stops_at_exit"], true, "{}", rt["notes"]);
    let s = &rt["summary"];
    assert!(s["generations"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(s["complete"], true);
    assert!(s["events"].as_u64().unwrap() > 10, "{s}");
    assert!(
        s["main"]["first_main_main_ns"].as_i64().is_some(),
        "main.main ran inside the trace: {s}"
    );
    // The whole trace fits in the program's short life, far under the 1 s window.
    assert!(s["span"]["duration_ns"].as_i64().unwrap() < 500_000_000);
    check_counts_and_alignment(&report, &timeline, true);
}

#[test]
fn os_exit_with_a_failure_code_still_stops_the_trace() {
    let Some(_) = require("go") else { return };
    // No module and named files: the hook is named with the files.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.go"),
        "package main\n\nimport \"os\"\n\nfunc main() {\n\tos.Stdout.WriteString(\"bye\\n\")\n\tos.Exit(3)\n}\n",
    )
    .unwrap();
    let (out, report, timeline) = profile_timeline(&["go", "run", "main.go"], dir.path());
    assert_eq!(out.stdout, b"bye\n");
    assert_eq!(
        shell_code(&out.status),
        1,
        "go run reports the program's failure"
    );
    let rt = &report["go"]["runtime_trace"];
    assert_eq!(rt["method"], "OverlayInitPackage");
    assert!(
        rt["summary"]["generations"].as_u64().unwrap() >= 1,
        "{}",
        report["warnings"]
    );
    check_counts_and_alignment(&report, &timeline, true);
}

#[test]
fn saved_report_renders_runtime_tracks_without_tracing() {
    // fixtures/rtrace/report.json: a real `golat profile --runtime-trace --json` run of
    // fixtures/rtrace (fixtures/rtrace/save-report.sh), calls of other processes left out.
    let saved = repo().join("fixtures/rtrace/report.json");
    let tmp = tempfile::tempdir().unwrap();
    let timeline = redraw(&saved, &tmp.path().join("t.json"));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    let pid = check_counts_and_alignment(&report, &timeline, true);
    let tracks: Vec<&str> = timeline["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["pid"] == pid && e["name"] == "thread_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .filter(|n| n.starts_with("Go runtime:"))
        .collect();
    for want in [
        "Go runtime: GC cycles",
        "Go runtime: stop-the-world",
        "Go runtime: goroutines created",
    ] {
        assert!(tracks.contains(&want), "{want} missing from {tracks:?}");
    }
    assert!(
        tracks.iter().any(|t| t.starts_with("Go runtime: P")),
        "{tracks:?}"
    );

    // Without its clock anchor the trace is put at the program's exec, and says so.
    let mut unanchored = report.clone();
    unanchored["go"]["runtime_trace"]["timeline"]
        .as_object_mut()
        .unwrap()
        .remove("clock");
    let path = tmp.path().join("unanchored.json");
    std::fs::write(&path, serde_json::to_vec(&unanchored).unwrap()).unwrap();
    let timeline = redraw(&path, &tmp.path().join("t.json"));
    check_counts_and_alignment(&unanchored, &timeline, false);
    assert!(go_events(&timeline, pid).iter().all(|e| {
        e["args"]["aligned_by"].is_null()
            || e["args"]["aligned_by"]
                .as_str()
                .unwrap()
                .starts_with("approximate")
    }),);
}
