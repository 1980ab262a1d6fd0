//! `golat profile --runtime-trace`: a runtime trace of the program `go run` builds, taken
//! without editing its code, summarized into the profile.

mod common;

use std::process::Command;

use common::*;

#[test]
fn go_run_program_start_is_traced_and_summarized() {
    let Some(_) = require("go") else { return };
    let json = tempfile::NamedTempFile::new().unwrap();
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--runtime-trace", "--json"])
            .arg(json.path())
            .args(["go", "run", "./fixtures/rtrace"])
            .current_dir(repo()),
        180,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout, b"rtrace done 4\n",
        "the program's output is its own"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json.path()).unwrap()).unwrap();
    let rt = &report["go"]["runtime_trace"];
    assert!(rt.is_object(), "no runtime trace: {}", report["warnings"]);
    let summary = &rt["summary"];
    assert!(summary["events"].as_u64().unwrap() > 100, "{summary}");
    assert!(
        summary["gc"]["cycles"].as_u64().unwrap() >= 1,
        "the fixture forces a GC"
    );
    assert!(
        rt["notes"].to_string().contains("2 MiB"),
        "the observer effect is stated"
    );
    // The -overlay the trace needed is golat's business: the command line in the report is
    // the user's.
    assert_eq!(
        report["command"],
        serde_json::json!(["go", "run", "./fixtures/rtrace"])
    );
}

/// Runs golat with `args` in `dir`; returns its output and the JSON report when it wrote one.
fn golat_in(
    dir: &std::path::Path,
    args: &[&str],
) -> (std::process::Output, Option<serde_json::Value>) {
    let json = tempfile::NamedTempFile::new().unwrap();
    std::fs::remove_file(json.path()).unwrap();
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--json"])
            .arg(json.path())
            .args(args)
            .current_dir(dir),
        180,
    );
    let report = std::fs::read_to_string(json.path())
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    (out, report)
}

/// fixtures/earlyinit: 40 ms and 45 ms of init in packages (alpha, beta) whose paths sort
/// before any name golat could give a starter package inside the module. The trace must
/// start before both, so main.main comes at least their 85 ms of sleep after it starts.
#[test]
fn the_trace_starts_before_inits_that_sort_early() {
    let Some(_) = require("go") else { return };
    let dir = repo().join("fixtures/earlyinit");
    let (out, report) = golat_in(&dir, &["--runtime-trace", "go", "run", "."]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"earlyinit 3\n");
    let report = report.unwrap();
    let rt = &report["go"]["runtime_trace"];
    let main_at = rt["summary"]["main"]["first_main_main_ns"]
        .as_u64()
        .unwrap();
    assert!(
        main_at >= 85_000_000,
        "main.main at +{main_at} ns: the trace began after alpha's or beta's init"
    );
    let inits: Vec<&str> = rt["summary"]["main"]["init_frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["func"].as_str().unwrap())
        .collect();
    assert!(
        inits.contains(&"golat.test/earlyinit/alpha.init")
            && inits.contains(&"golat.test/earlyinit/beta.init"),
        "{inits:?}"
    );
    assert!(
        !inits.iter().any(|f| f.contains("golat_rtrace")),
        "golat's starter is not one of the program's inits: {inits:?}"
    );
    // Init chains are off under --runtime-trace unless asked for, and the report says so.
    assert!(
        report["warnings"]
            .to_string()
            .contains("init chains not captured"),
        "{}",
        report["warnings"]
    );
    assert!(report["processes"].to_string().contains("earlyinit"));
}

/// Go 1.22's go command reports a package -overlay adds to GOROOT as "not in std": golat's
/// starter goes into the main module there, imported by the same packages, so the early
/// inits are still inside the trace. (The toolchain comes through the module proxy, as
/// GOTOOLCHAIN fetches it.)
#[test]
fn go_1_22_gets_the_starter_in_the_main_module_and_still_sees_early_inits() {
    let Some(_) = require("go") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("earlyinit");
    let copy = Command::new("cp")
        .arg("-r")
        .arg(repo().join("fixtures/earlyinit"))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(copy.success());
    let json = tmp.path().join("r.json");
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--runtime-trace", "--json"])
            .arg(&json)
            .args(["--", "go", "run", "."])
            .env("GOTOOLCHAIN", "go1.22.12")
            .current_dir(&dir),
        600,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"earlyinit 3\n");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rt = &report["go"]["runtime_trace"];
    assert_eq!(rt["summary"]["header"], "go 1.22 trace");
    let notes = rt["notes"].to_string();
    assert!(
        notes.contains("golat.test/earlyinit/golat_rtrace_0 (added to the main module"),
        "{notes}"
    );
    let inits: Vec<&str> = rt["summary"]["main"]["init_frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["func"].as_str().unwrap())
        .collect();
    assert!(
        inits.contains(&"golat.test/earlyinit/alpha.init")
            && inits.contains(&"golat.test/earlyinit/beta.init"),
        "{inits:?}"
    );
    assert!(
        !inits.iter().any(|f| f.contains("golat_rtrace")),
        "{inits:?}"
    );
    // Nothing was written into the module: the starter exists only in the overlay.
    assert!(!dir.join("golat_rtrace_0").exists());
}

/// `--runtime-trace-out` keeps the raw trace: golat trace reads it to the same summary.
#[test]
fn the_raw_trace_is_kept_on_request() {
    let Some(_) = require("go") else { return };
    let dir = repo().join("fixtures/earlyinit");
    let keep = tempfile::tempdir().unwrap();
    let raw = keep.path().join("start.trace");
    let (out, report) = golat_in(
        &dir,
        &[
            "--runtime-trace",
            "--runtime-trace-out",
            raw.to_str().unwrap(),
            "go",
            "run",
            ".",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = report.unwrap()["go"]["runtime_trace"]["summary"]["events"].clone();
    let read = output_timeout(
        Command::new(golat()).args(["trace", "--json"]).arg(&raw),
        60,
    );
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(summary["events"], events);
}

/// go build, go install and go test -c only build: under --runtime-trace golat would leave
/// the binary instrumented, so it refuses before running anything (exit 2, nothing written).
#[test]
fn commands_that_only_build_are_refused_and_nothing_is_built() {
    let Some(_) = require("go") else { return };
    let src = repo().join("fixtures/earlyinit");
    let out_dir = tempfile::tempdir().unwrap();
    let bin = out_dir.path().join("bin");
    let gobin = out_dir.path().join("gobin");
    std::fs::create_dir(&gobin).unwrap();
    for (argv, what) in [
        (
            vec!["go", "build", "-o", bin.to_str().unwrap(), "."],
            "go build",
        ),
        (vec!["go", "install", "."], "go install"),
        (
            vec!["go", "test", "-c", "-o", bin.to_str().unwrap(), "./alpha"],
            "go test -c",
        ),
    ] {
        let mut args = vec!["--runtime-trace"];
        args.extend(argv.iter().copied());
        let out = output_timeout(
            Command::new(golat())
                .arg("profile")
                .args(&args)
                .env("GOBIN", &gobin)
                .current_dir(&src),
            120,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains("nothing was built"), "{what}: {err}");
        assert!(!bin.exists(), "{what} left {}", bin.display());
        assert_eq!(std::fs::read_dir(&gobin).unwrap().count(), 0, "{what}");
    }
    // A package that is not a main package is a usage error too.
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "--runtime-trace", "go", "run", "./alpha"])
            .current_dir(&src),
        120,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not one (package alpha)"), "{err}");
}

/// fixtures/cpuinit burns about 300 ms of CPU in burn's init: with --cpuprofile-out the
/// trace carries CPU samples, the report's top function before main.main is burn.spin
/// called from burn's init, and the pprof file golat had the program write is one
/// `go tool pprof` reads, with as many samples as the trace.
#[test]
fn cpu_samples_name_the_init_that_burns_cpu() {
    let Some(_) = require("go") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let pprof = tmp.path().join("cpu.pprof");
    let dir = repo().join("fixtures/cpuinit");
    let (out, report) = golat_in(
        &dir,
        &[
            "--runtime-trace",
            "--cpuprofile-out",
            pprof.to_str().unwrap(),
            "--",
            "go",
            "run",
            ".",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"cpuinit true\n");
    let cpu = &report.unwrap()["go"]["runtime_trace"]["cpu"];
    let samples = cpu["samples"].as_u64().unwrap();
    assert!(samples >= 10, "{cpu}");
    let top = &cpu["top_before_main"][0];
    assert_eq!(top["func"], "golat.test/cpuinit/burn.spin", "{cpu}");
    assert_eq!(top["callers"][0], "golat.test/cpuinit/burn.init.0", "{cpu}");

    let text = output_timeout(
        Command::new("go")
            .args(["tool", "pprof", "-raw"])
            .arg(&pprof),
        120,
    );
    assert!(text.status.success(), "{text:?}");
    let raw = String::from_utf8_lossy(&text.stdout);
    assert!(raw.contains("golat.test/cpuinit/burn.spin"), "{raw}");
    // -raw prints one "N: addresses" line per distinct stack with its sample count.
    let in_pprof: u64 = raw
        .lines()
        .take_while(|l| !l.starts_with("Locations"))
        .filter_map(|l| {
            l.split_once(':')?
                .0
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert!(
        in_pprof.abs_diff(samples) <= 2,
        "pprof has {in_pprof} samples, the trace {samples}"
    );
}

/// go test's own -cpuprofile would leave the test binary in the directory: refused.
#[test]
fn cpu_samples_of_go_test_are_refused_before_anything_runs() {
    let Some(_) = require("go") else { return };
    let (out, _) = golat_in(
        &repo(),
        &[
            "--runtime-trace",
            "--cpuprofile-out",
            "/tmp/golat-never.pprof",
            "--",
            "go",
            "test",
            "./fixtures/hello",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--cpuprofile-out needs go run"),
        "{out:?}"
    );
}
