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
