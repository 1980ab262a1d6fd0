//! `golat report saved.json` prints exactly what the live `golat profile` printed: every
//! section (summary, init chains, go command phases, the program's runtime trace) goes
//! through one render path, from the JSON the live run saved.

mod common;

use std::process::Command;

use common::*;

/// Profiles `args` with the table written to a file and the JSON saved, then re-renders
/// the JSON with `golat report`; returns (live text, re-rendered text).
fn live_and_rerendered(opts: &[&str], cwd: &str, args: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (text, json) = (dir.path().join("live.txt"), dir.path().join("r.json"));
    let out = output_timeout(
        Command::new(golat())
            .arg("profile")
            .args(opts)
            .arg("-o")
            .arg(&text)
            .arg("--json")
            .arg(&json)
            .arg("--")
            .args(args)
            .current_dir(repo().join(cwd))
            .env_remove("COLUMNS"),
        240,
    );
    assert!(out.status.success(), "{out:?}");
    let again = output_timeout(
        Command::new(golat())
            .arg("report")
            .arg(&json)
            .env_remove("COLUMNS"),
        60,
    );
    assert!(again.status.success(), "{again:?}");
    (
        std::fs::read_to_string(&text).unwrap(),
        String::from_utf8(again.stdout).unwrap(),
    )
}

fn assert_same(live: &str, saved: &str) {
    if live != saved {
        let first = live
            .lines()
            .zip(saved.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(live.lines().count().min(saved.lines().count()));
        panic!(
            "golat report differs from the live report from line {}:\nlive:  {:?}\nsaved: {:?}",
            first + 1,
            live.lines().nth(first),
            saved.lines().nth(first)
        );
    }
}

#[test]
fn a_build_with_init_chains_and_go_phases_re_renders_byte_for_byte() {
    let Some(_) = require("go") else { return };
    let (live, saved) = live_and_rerendered(&[], "fixtures/initchain", &["go", "run", "."]);
    for section in ["Critical path", "init chains", "go command phases"] {
        assert!(live.contains(section), "no {section:?} in:\n{live}");
    }
    assert_same(&live, &saved);
}

#[test]
fn the_runtime_trace_section_re_renders_byte_for_byte() {
    let Some(_) = require("go") else { return };
    let (live, saved) = live_and_rerendered(
        &["--runtime-trace"],
        ".",
        &["go", "run", "./fixtures/rtrace"],
    );
    assert!(
        live.contains("Runtime trace of the program's start"),
        "no runtime trace section in:\n{live}"
    );
    assert_same(&live, &saved);
}

#[test]
fn a_report_that_kept_only_its_slowest_calls_re_renders_the_whole_run() {
    if require("go").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (text, json, events) = (
        dir.path().join("live.txt"),
        dir.path().join("r.json"),
        dir.path().join("calls.jsonl"),
    );
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "--json-calls", "100", "-o"])
            .arg(&text)
            .arg("--json")
            .arg(&json)
            .arg("--events")
            .arg(&events)
            .args(["--", "go", "build", "-o", "/dev/null", "./fixtures/hello"])
            .current_dir(repo())
            .env_remove("COLUMNS"),
        240,
    );
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let kept = report["calls"].as_array().unwrap();
    assert_eq!(kept.len(), 100);
    // --events has every call; the JSON the 100 slowest of them.
    let all: Vec<serde_json::Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        report["calls_omitted"].as_u64().unwrap() + 100,
        all.len() as u64
    );
    let summed: u64 = report["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["count"].as_u64().unwrap())
        .sum();
    assert_eq!(summed, all.len() as u64, "syscalls still sum every call");
    let mut durs: Vec<f64> = all.iter().map(|c| c["dur_us"].as_f64().unwrap()).collect();
    durs.sort_by(|a, b| b.total_cmp(a));
    let slowest_left_out = durs[100];
    assert!(
        kept.iter()
            .all(|c| c["dur_us"].as_f64().unwrap() >= slowest_left_out),
        "a kept call is faster than one left out"
    );
    // In the order the run recorded them, as in --events.
    let key = |c: &serde_json::Value| (c["tid"].to_string(), c["t_ms"].to_string());
    let position: std::collections::HashMap<_, usize> =
        all.iter().enumerate().map(|(i, c)| (key(c), i)).collect();
    let order: Vec<usize> = kept.iter().map(|c| position[&key(c)]).collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "kept calls out of the recorded order"
    );

    let again = output_timeout(
        Command::new(golat())
            .arg("report")
            .arg(&json)
            .env_remove("COLUMNS"),
        60,
    );
    assert!(again.status.success(), "{again:?}");
    let live = std::fs::read_to_string(&text).unwrap();
    assert_same(&live, &String::from_utf8(again.stdout).unwrap());
    assert!(
        live.contains(&format!("{} recorded calls", all.len())),
        "{live}"
    );
}
