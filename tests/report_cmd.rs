//! `golat report` and `golat diff` as a user runs them: the real binary on saved reports
//! from real runs, and on broken files (one clear line, exit 125, never a panic).

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/reports")
        .join(name)
}

fn golat() -> Command {
    let mut c = Command::cargo_bin("golat").unwrap();
    c.env_remove("NO_COLOR");
    c
}

#[test]
fn report_prints_the_table_with_the_verdict_first() {
    let out = golat()
        .arg("report")
        .arg(fixture("hello-noop.json"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("golat: `go build -o /dev/null .` exited 0"));
    assert!(lines[2].starts_with("verdict: "), "{}", lines[2]);
    for section in [
        "Critical path",
        "Processes by tool",
        "PATH scans",
        "Filesystem by category",
        "Stat storms",
        "Slowest calls",
        "Toolchain habits",
        "System calls",
    ] {
        assert!(text.contains(section), "missing {section}");
    }
    // Not a terminal: no colour codes.
    assert!(!text.contains('\x1b'));
}

#[test]
fn report_json_carries_every_hotspot_and_the_schema() {
    let out = golat()
        .args(["report", "--json"])
        .arg(fixture("pathscan.json"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["schema"], "golat.profile/v1");
    for key in [
        "path_scan",
        "fs_blocking",
        "exec",
        "habits",
        "verdict",
        "what_to_change",
    ] {
        assert!(v["hotspots"].get(key).is_some(), "no hotspots.{key}");
    }
    assert!(
        v["hotspots"]["verdict"]["line"]
            .as_str()
            .unwrap()
            .contains("most to gain: PATH: drop #2 /nonexistent/a (missing)")
    );
    assert_eq!(
        v["hotspots"]["what_to_change"]["findings"][0]["key"],
        "path_entries"
    );
    // Saved reports keep what the live run checked about PATH.
    let entries = v["hotspots"]["path_scan"]["paths"][0]["entries"]
        .as_array()
        .unwrap();
    assert!(entries.iter().any(|e| e["status"] == "missing"));
}

#[test]
fn report_top_limits_rows() {
    let text = golat()
        .args(["report", "--top", "1"])
        .arg(fixture("hello-noop.json"))
        .output()
        .unwrap()
        .stdout;
    let text = String::from_utf8(text).unwrap();
    let sys = text.split("System calls").nth(1).unwrap();
    let body_rows = sys
        .lines()
        .take_while(|l| !l.starts_with('╰'))
        .filter(|l| l.starts_with('│'))
        .count();
    assert_eq!(body_rows, 2, "header and one row:\n{sys}");
}

#[test]
fn report_timeline_writes_a_trace_event_file_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("t.json");
    golat()
        .args(["report"])
        .arg(fixture("hello-noop.json"))
        .arg("--timeline")
        .arg(&t)
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("ui.perfetto.dev"));
    let v: Value = serde_json::from_slice(&std::fs::read(&t).unwrap()).unwrap();
    let events = v["traceEvents"].as_array().unwrap();
    assert!(events.len() > 4000);
    assert_eq!(v["otherData"]["schema"], "golat.timeline/v1");
}

#[test]
fn diff_shows_ratios_per_hotspot() {
    let out = golat()
        .arg("diff")
        .arg(fixture("hello-noop.json"))
        .arg(fixture("hello-tuned.json"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("golat diff: wall 1257.8 ms → 1081.6 ms (×0.86)"),
        "{text}"
    );
    assert!(text.contains("PATH scans (probes)"));
    assert!(text.contains("Toolchain habits"));
    assert!(text.contains("gone"), "go.work walk gone with GOWORK=off");
}

#[test]
fn diff_json_pairs_rows_and_computes_ratios() {
    let out = golat()
        .args(["diff", "--json"])
        .arg(fixture("hello-noop.json"))
        .arg(fixture("hello-tuned.json"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["schema"], "golat.diff/v1");
    let sections = v["sections"].as_array().unwrap();
    let run = sections.iter().find(|s| s["key"] == "run").unwrap();
    let wall = run["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["item"] == "wall ms")
        .unwrap();
    let (b, a) = (
        wall["before"].as_f64().unwrap(),
        wall["after"].as_f64().unwrap(),
    );
    assert!((wall["ratio"].as_f64().unwrap() - a / b).abs() < 1e-12);
    let habits = sections.iter().find(|s| s["key"] == "habits").unwrap();
    let gowork = habits["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["item"] == "go_work_walk (sys)")
        .unwrap();
    assert_eq!(gowork["after"].as_f64().unwrap(), 0.0);
    // A report against itself: every ratio is 1.
    let same = golat()
        .args(["diff", "--json"])
        .arg(fixture("pathscan.json"))
        .arg(fixture("pathscan.json"))
        .output()
        .unwrap()
        .stdout;
    let v: Value = serde_json::from_slice(&same).unwrap();
    for s in v["sections"].as_array().unwrap() {
        for r in s["rows"].as_array().unwrap() {
            assert_eq!(r["before"], r["after"], "{r}");
        }
    }
}

#[test]
fn bad_input_is_one_line_and_exit_125() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(PathBuf, &str)> = vec![
        (tmp.path().join("missing.json"), "cannot read report"),
        (
            {
                let p = tmp.path().join("garbage.json");
                std::fs::write(&p, "{not json").unwrap();
                p
            },
            "is not valid JSON",
        ),
        (
            {
                let p = tmp.path().join("other.json");
                std::fs::write(&p, r#"{"schema":"golat.trace/v1"}"#).unwrap();
                p
            },
            "golat reads golat.profile/v1",
        ),
        (
            {
                let p = tmp.path().join("noschema.json");
                std::fs::write(&p, "[1,2,3]").unwrap();
                p
            },
            "not a golat profile report",
        ),
        (
            {
                let p = tmp.path().join("partial.json");
                std::fs::write(&p, r#"{"schema":"golat.profile/v1","wall_ms":1}"#).unwrap();
                p
            },
            "is not a valid golat.profile/v1 report",
        ),
    ];
    for (path, msg) in cases {
        for args in [vec!["report"], vec!["diff", "-"]] {
            let mut cmd = golat();
            cmd.args(&args[..1]);
            if args.len() > 1 {
                cmd.arg(fixture("pathscan.json"));
            }
            let out = cmd.arg(&path).output().unwrap();
            assert_eq!(out.status.code(), Some(125), "{path:?}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert!(err.contains(msg), "{path:?}: {err}");
            assert_eq!(err.lines().count(), 1, "one line: {err}");
            assert!(!err.contains("panicked"));
        }
    }
}
