//! `golat profile --timeline` of a real `go build -a` (every package rebuilt, the go
//! command's actions running in parallel): on every track of the file the slices nest or
//! are disjoint, as trace processor (ui.perfetto.dev) needs (it drops a slice that crosses
//! another), and the go command's phases are all there, on `go phases (-debug-trace) lane N`
//! tracks. Needs go and ptrace; under CI=true a missing one fails the test.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::*;
use serde_json::Value;

#[test]
fn every_track_of_a_parallel_build_nests_and_go_phases_are_packed_into_lanes() {
    let Some(_) = require("go") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (json, timeline) = (tmp.path().join("r.json"), tmp.path().join("T.json"));
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--json"])
            .arg(&json)
            .arg("--timeline")
            .arg(&timeline)
            .args(["--", "go", "build", "-a", "-o"])
            .arg(tmp.path().join("bin"))
            .arg("./fixtures/hello")
            .env("GOTOOLCHAIN", "local")
            .current_dir(repo()),
        600,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |p: &std::path::Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let report = read(&json);
    if report["traced"] != true {
        let why = &report["untraced_reason"];
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true" || v == "1"),
            "CI=true but golat could not trace: {why}"
        );
        eprintln!("SKIP: ptrace unavailable: {why}");
        return;
    }
    let t = read(&timeline);

    let crossings = crossing_slices(&t);
    assert!(
        crossings.is_empty(),
        "{} crossing slices, the first: {:#?}",
        crossings.len(),
        &crossings[..crossings.len().min(10)]
    );

    let events = t["traceEvents"].as_array().unwrap();
    let phases: Vec<&Value> = events.iter().filter(|e| e["cat"] == "go_phase").collect();
    assert!(!phases.is_empty(), "no go phases on the timeline");
    // Every phase the report counted is drawn.
    assert_eq!(
        phases.len() as u64,
        report["hotspots"]["go_phases"]["phase_count"]
            .as_u64()
            .unwrap()
    );
    let go_pid = &report["processes"][0]["pid"];
    assert_eq!(report["processes"][0]["tool"], "go");
    assert!(phases.iter().all(|e| &e["pid"] == go_pid));
    // The lane tracks: named lane 1..N, sorted in that order, holding every phase.
    let mut lanes: BTreeMap<i64, (String, i64)> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e["ph"] == "M" && &e["pid"] == go_pid)
    {
        let (tid, args) = (e["tid"].as_i64().unwrap(), &e["args"]);
        match e["name"].as_str().unwrap() {
            "thread_name" if args["name"].as_str().unwrap().starts_with("go phases") => {
                lanes.entry(tid).or_default().0 = args["name"].as_str().unwrap().into();
            }
            "thread_sort_index" if lanes.contains_key(&tid) => {
                lanes.get_mut(&tid).unwrap().1 = args["sort_index"].as_i64().unwrap();
            }
            _ => {}
        }
    }
    let names: Vec<&str> = lanes.values().map(|l| l.0.as_str()).collect();
    let want: Vec<String> = (1..=lanes.len())
        .map(|n| format!("go phases (-debug-trace) lane {n}"))
        .collect();
    assert_eq!(names, want);
    let sort: Vec<i64> = lanes.values().map(|l| l.1).collect();
    assert!(sort.windows(2).all(|w| w[0] < w[1]), "{sort:?}");
    for e in &phases {
        assert!(lanes.contains_key(&e["tid"].as_i64().unwrap()), "{e}");
        assert!(e["args"]["kind"].is_string(), "{e}");
        assert_eq!(e["args"]["aligned_by"], "trace_file_created", "{e}");
    }
    // Actions run side by side under -a: their phases cross, so need more than one lane.
    assert!(lanes.len() >= 2, "{names:?}");
}

#[test]
fn the_check_finds_crossings_as_written_and_as_trace_processor_reads_them() {
    let x = |name: &str, tid: i64, ts: Value, dur: Value| serde_json::json!({"name": name, "ph": "X", "pid": 1, "tid": tid, "ts": ts, "dur": dur});
    let t = serde_json::json!({"traceEvents": [
        // Nested, touching and zero-length: fine.
        x("outer", 1, 0.into(), 10.into()),
        x("inner", 1, 2.into(), 8.into()),
        x("next", 1, 10.into(), 5.into()),
        x("instant", 1, 15.into(), 0.into()),
        // Crossing (5, 15) over (0, 10) on another track.
        x("a", 2, 0.into(), 10.into()),
        x("b", 2, 5.into(), 10.into()),
        // Equal as written, but read 1 ns apart: a process and its last exec as golat
        // wrote them before whole microseconds.
        x("process", 3, 261.506.into(), 21132423.661.into()),
        x("exec", 3, 3765.131.into(), 21128920.036.into()),
    ]});
    let found = crossing_slices(&t);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with("as written: on (1, 2) \"b\""),
        "{found:#?}"
    );
    assert!(found[1].starts_with("as trace processor reads it: on (1, 2) \"b\""));
    assert!(found[2].starts_with("as trace processor reads it: on (1, 3) \"exec\""));
}
