//! `golat profile --slow DIR=DURATION` on real processes: every filesystem call under DIR is
//! held DURATION per path component below DIR (as NFS with lookupcache=none pays one lookup
//! per component), the calls' own durations include the hold, the report counts what was
//! injected, and a held thread does not hold up the others.

mod common;

use std::path::Path;
use std::process::Command;

use common::{golat, output_timeout, require, scratch};
use serde_json::Value;

/// fixtures/statstorm is a module of its own: built in its directory.
fn statstorm() -> Option<std::path::PathBuf> {
    require("go")?;
    let out = scratch().join("statstorm");
    if !out.exists() {
        let status = Command::new("go")
            .args(["build", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(common::repo().join("fixtures/statstorm"))
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-buildvcs=false")
            .status()
            .unwrap();
        assert!(status.success(), "building fixtures/statstorm");
    }
    Some(out)
}

fn profile(opts: &[&str], argv: &[&str]) -> (std::process::Output, Value) {
    common::profile_with(opts, argv, 120)
}

fn dir_row<'a>(report: &'a Value, dir: &Path) -> &'a Value {
    report["hotspots"]["fs_blocking"]["directories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dir"] == dir.to_str().unwrap())
        .unwrap_or_else(|| panic!("no row for {}: {report:#}", dir.display()))
}

#[test]
fn each_call_under_the_slow_dir_is_held_per_component_and_its_duration_includes_it() {
    let Some(prog) = statstorm() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let slow = t.path().join("slow");
    let target = slow.join("a/b/c");
    std::fs::create_dir_all(&target).unwrap();
    let spec = format!("{}=2ms", slow.display());
    let (out, report) = profile(
        &["--slow", &spec],
        &[
            prog.to_str().unwrap(),
            "-dir",
            target.to_str().unwrap(),
            "-n",
            "20",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("dir={} stats=20 ok=20", target.display()),
        "the program's output is its own"
    );
    let info = &report["timing"]["slow"];
    // 20 stats of a/b/c: three components below the slow dir, 2 ms each.
    assert_eq!(info["calls"], 20, "{info:#}");
    assert_eq!(info["injected_ms"].as_f64().unwrap(), 120.0, "{info:#}");
    assert_eq!(info["dirs"][0]["dir"], slow.to_str().unwrap());
    assert_eq!(info["dirs"][0]["delay_ms"], 2.0);
    let late = info["late_ms"].as_f64().unwrap();
    assert!(late >= 0.0, "{info:#}");
    let row = dir_row(&report, &slow.join("a/b"));
    assert_eq!(row["times"]["calls"], 20, "{row:#}");
    let sys = row["times"]["sys_ms"].as_f64().unwrap();
    assert!(
        sys >= 120.0,
        "the calls' durations include the hold: {sys:.1} ms"
    );
    // What they include beyond it: the release's lateness and the calls themselves.
    assert!(
        sys <= 120.0 + late + 20.0,
        "{sys:.1} ms for 20 stats held 120 ms and released {late:.2} ms late"
    );
    assert!(report["wall_ms"].as_f64().unwrap() >= 120.0);
    let note = report["timing"]["note"].as_str().unwrap();
    assert!(note.contains("--slow"), "{note}");
}

#[test]
fn calls_outside_the_slow_dir_are_not_held() {
    let Some(prog) = statstorm() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let slow = t.path().join("slow");
    let other = t.path().join("slower-sibling");
    std::fs::create_dir_all(&slow).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    // A sibling whose name starts with the slow dir's is not under it.
    let spec = format!("{}=5ms", slow.display());
    let (out, report) = profile(
        &["--slow", &spec],
        &[
            prog.to_str().unwrap(),
            "-dir",
            other.to_str().unwrap(),
            "-n",
            "50",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(report["timing"]["slow"]["calls"], 0, "{report:#}");
}

#[test]
fn a_held_thread_does_not_hold_up_the_others() {
    let Some(prog) = statstorm() else {
        return;
    };
    if require("sh").is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let slow = t.path().join("slow");
    std::fs::create_dir_all(&slow).unwrap();
    // Four processes at once, each making 20 stats held 10 ms: 800 ms if golat held them
    // one after another, about 200 ms when each waits on its own.
    let spec = format!("{}=10ms", slow.display());
    let p = prog.display();
    let d = slow.display();
    let script = format!("for i in 1 2 3 4; do {p} -dir {d} -n 20 >/dev/null & done; wait");
    let (out, report) = profile(&["--slow", &spec], &["sh", "-c", &script]);
    assert!(out.status.success(), "{out:?}");
    let info = &report["timing"]["slow"];
    assert_eq!(info["calls"], 80, "{info:#}");
    assert_eq!(info["injected_ms"].as_f64().unwrap(), 800.0);
    let wall = report["wall_ms"].as_f64().unwrap();
    assert!(
        wall < 600.0,
        "800 ms of holds in four processes took {wall:.0} ms: they were served one at a time"
    );
}

#[test]
fn a_bad_slow_spec_is_a_usage_error() {
    for spec in [
        "nodelay",
        "/tmp=",
        "/tmp=fast",
        "/tmp=0s",
        "/tmp=2m",
        "relative/none=1ms",
    ] {
        let out = output_timeout(
            Command::new(golat()).args(["profile", "--slow", spec, "--", "true"]),
            30,
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "--slow {spec}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
