//! The runtime-trace hook for `golat profile --runtime-trace`: `prepare` really makes
//! `go run` / `go build` / `go test` write a trace, and the overlay's package starts tracing
//! before `main`'s package init (whose forced GC shows `main.init` in its stack).

mod trace_common;

use std::process::Command;
use std::time::Duration;

use golat::exectrace::overlay::{Method, prepare, summarize_file};
use trace_common::*;

fn run(rt: &golat::exectrace::overlay::RuntimeTrace, dir: &std::path::Path) {
    let st = Command::new(&rt.argv[0])
        .args(&rt.argv[1..])
        .envs(rt.env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(st.success(), "{:?} failed", rt.argv);
}

#[test]
fn go_run_overlay_traces_from_early_init() {
    if go().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run.trace");
    let argv: Vec<String> = ["go", "run", "./startup"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rt = prepare(&argv, &fixtures(), &out, Duration::from_millis(2000), None).unwrap();
    assert_eq!(rt.method, Method::OverlayInitPackage);
    assert!(rt.argv[2].starts_with("-overlay="), "{:?}", rt.argv);
    run(&rt, &fixtures());
    let s = summarize_file(&out, 10).unwrap();
    assert!(s.events > 100);
    let inits: Vec<&str> = s.main.init_frames.iter().map(|f| f.func.as_str()).collect();
    assert!(
        inits.contains(&"main.init"),
        "tracing must begin before main's package init: {inits:?}"
    );
    let main_at = s.main.first_main_main_ns.expect("main.main seen");
    let init_at = s
        .main
        .init_frames
        .iter()
        .find(|f| f.func == "main.init")
        .unwrap()
        .first_seen_ns;
    assert!(
        init_at < main_at,
        "main.init ({init_at}) before main.main ({main_at})"
    );
    // This test drives the overlay by hand, without golat's exit hook: the program exits
    // without trace.Stop, so only the complete 10 ms generations count and the forced GCs
    // at its very end may be cut; the one in main's init is always in.
    assert!(s.gc.cycles >= 1);
}

#[test]
fn commands_that_only_build_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("build.trace");
    for argv in [
        &["go", "build", "-o", "bin", "./startup"][..],
        &["go", "install", "./startup"],
        &["go", "test", "-c", "./gotest"],
    ] {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let err = prepare(&argv, &fixtures(), &out, Duration::from_millis(500), None).unwrap_err();
        assert!(
            err.is::<golat::exectrace::overlay::UsageError>(),
            "{argv:?}: {err}"
        );
        assert!(err.to_string().contains("nothing was built"), "{err}");
    }
}

#[test]
fn go_test_uses_trace_flag() {
    if go().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("test.trace");
    let argv: Vec<String> = ["go", "test", "-count=1", "./gotest"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rt = prepare(&argv, &fixtures(), &out, Duration::from_secs(1), None).unwrap();
    assert_eq!(rt.method, Method::GoTestTraceFlag);
    run(&rt, &fixtures());
    let s = summarize_file(&out, 5).unwrap();
    assert!(s.goroutines.created >= 4, "{:?}", s.goroutines);
    assert!(
        prepare(
            &["go".into(), "vet".into()],
            &fixtures(),
            &out,
            Duration::from_secs(1),
            None
        )
        .is_err()
    );
}
