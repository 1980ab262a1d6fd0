//! `golat profile --startup`: a Go program's exec → main.main, split at breakpoints on its own
//! functions, checked against what the program and its runtime measure natively, on
//! unstripped, stripped (-s -w), PIE, cgo and GOARCH=386 builds, Go 1.22 to 1.27, and on
//! programs that end in an init.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const MARKS: [&str; 5] = [
    "exec",
    "runtime.schedinit",
    "runtime.main",
    "runtime.gcenable",
    "main.main",
];

fn monotonic_ns() -> i64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
    t.tv_sec() * 1_000_000_000 + t.tv_nsec()
}

/// Builds fixtures/startup with `env` and `flags` into the scratch directory once per name.
/// `None` when a Go release other than the machine's cannot be had (fails in CI).
fn build(name: &str, env: &[(&str, &str)], flags: &[&str]) -> Option<PathBuf> {
    require("go")?;
    let out = scratch().join(format!("startup-{name}"));
    if out.exists() {
        return Some(out);
    }
    let mut c = Command::new("go");
    c.arg("build")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(".")
        .current_dir(repo().join("fixtures/startup"))
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-buildvcs=false")
        .env("CGO_ENABLED", "0");
    for (k, v) in env {
        c.env(k, v);
    }
    let built = output_timeout(&mut c, 300);
    if !built.status.success() {
        let why = String::from_utf8_lossy(&built.stderr);
        let other_release = env.iter().any(|(k, _)| *k == "GOTOOLCHAIN");
        assert!(other_release && !in_ci(), "go build ({name}) failed: {why}");
        eprintln!("SKIP {name}: {why}");
        return None;
    }
    Some(out)
}

/// The program's own figures from a native run: (time to main.main, sum of its inittrace
/// clocks), ms.
fn native(bin: &Path) -> (f64, f64) {
    let t0 = monotonic_ns();
    let out = output_timeout(
        Command::new(bin)
            .env("GOLAT_T0_NS", t0.to_string())
            .env("GODEBUG", "inittrace=1"),
        60,
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let to_main = err
        .lines()
        .find_map(|l| l.strip_prefix("time-to-main-ns "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .expect("the fixture prints its time to main")
        / 1e6;
    let inits: f64 = err
        .lines()
        .filter(|l| l.starts_with("init "))
        .filter_map(|l| {
            let (before, _) = l.split_once(" ms clock")?;
            before.rsplit(", ").next()?.parse::<f64>().ok()
        })
        .sum();
    (to_main, inits)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The startup hotspot's entry for the one program of the run.
fn program_startup(report: &serde_json::Value) -> serde_json::Value {
    let procs = report["hotspots"]["startup"]["processes"]
        .as_array()
        .unwrap_or_else(|| panic!("no startup section: {}", report["warnings"]));
    let p = procs
        .iter()
        .find(|p| p["toolchain"] == false)
        .expect("the program's startup");
    p.clone()
}

fn phase<'a>(p: &'a serde_json::Value, to: &str) -> &'a serde_json::Value {
    p["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["to"] == to)
        .unwrap_or_else(|| panic!("no phase ending at {to}: {p}"))
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn within(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= want * rel
}

/// The phases agree with the program's own clock: exec → main.main (less what golat's stops
/// cost) with the time the program measures to main.main natively, the package-init phase
/// with the sum of the runtime's own inittrace clocks natively, both within ±10% (medians of
/// three runs). Without inittrace capture the raw figure, golat included, is within 10% too.
#[test]
fn phases_agree_with_the_programs_own_figures() {
    let Some(bin) = build("plain", &[], &[]) else {
        return;
    };
    let bin_s = bin.to_str().unwrap();
    let mut nat = (Vec::new(), Vec::new());
    let mut golat_main = Vec::new();
    let mut golat_inits = Vec::new();
    let mut bare_main = Vec::new();
    for _ in 0..3 {
        let (m, i) = native(&bin);
        nat.0.push(m);
        nat.1.push(i);
        let (out, report) = profile(&[bin_s], 60);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"startup 3\n");
        let p = program_startup(&report);
        assert_eq!(p["table"], "symtab");
        let at: Vec<&str> = p["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["to"].as_str().unwrap())
            .collect();
        assert_eq!(at, MARKS[1..], "every phase, in order");
        golat_main.push(f(&p["main_ms"]) - f(&p["golat_ms"]));
        golat_inits.push(f(&phase(&p, "main.main")["native_ms"]));
        // The init chain is anchored on the breakpoints (its exec is the exec stop as
        // golat saw it, the mark half a stop earlier).
        let chain = &report["hotspots"]["init_chain"]["processes"][0];
        assert!(
            (f(&chain["main_at_ms"]) - f(&p["main_ms"])).abs() < 0.1,
            "init chain's main.main is the breakpoint's: {chain}"
        );
        let (out, report) = profile_with(&["--no-inittrace"], &[bin_s], 60);
        assert!(out.status.success());
        bare_main.push(f(&program_startup(&report)["main_ms"]));
    }
    let (to_main, inits) = (median(nat.0), median(nat.1));
    let (g_main, g_inits, b_main) = (median(golat_main), median(golat_inits), median(bare_main));
    eprintln!(
        "native: main.main at {to_main:.2} ms, inits {inits:.2} ms; golat: main.main native ≈ \
         {g_main:.2} ms, package inits native ≈ {g_inits:.2} ms, no inittrace {b_main:.2} ms"
    );
    assert!(
        inits >= 85.0,
        "the fixture sleeps 85 ms in its inits: {inits}"
    );
    assert!(within(g_main, to_main, 0.10), "{g_main} vs {to_main}");
    assert!(within(g_inits, inits, 0.10), "{g_inits} vs {inits}");
    assert!(within(b_main, to_main, 0.10), "{b_main} vs {to_main}");
}

/// Stripped, PIE, cgo (externally linked) and 386 builds, and Go 1.22 and 1.27 builds, all
/// reach every mark; a stripped binary's functions come from .gopclntab.
#[test]
fn stripped_pie_cgo_386_and_other_releases_get_every_phase() {
    if require("go").is_none() {
        return;
    }
    let cc = Command::new("cc").arg("--version").output().is_ok();
    let strip = "-ldflags=-s -w";
    /// (name, environment, build flags, the table the functions come from)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>, &'a str);
    let cases: Vec<Case> = vec![
        ("stripped", vec![], vec![strip], "gopclntab"),
        ("pie", vec![], vec!["-buildmode=pie"], "symtab"),
        (
            "pie-stripped",
            vec![],
            vec!["-buildmode=pie", strip],
            "gopclntab",
        ),
        ("386", vec![("GOARCH", "386")], vec![], "symtab"),
        (
            "386-stripped",
            vec![("GOARCH", "386")],
            vec![strip],
            "gopclntab",
        ),
        (
            "cgo-stripped",
            vec![("CGO_ENABLED", "1")],
            vec!["-ldflags=-s -w -linkmode=external"],
            "gopclntab",
        ),
        (
            "go1.22",
            vec![("GOTOOLCHAIN", "go1.22.12")],
            vec![strip],
            "gopclntab",
        ),
        (
            "go1.27",
            vec![("GOTOOLCHAIN", "go1.27.3")],
            vec![],
            "symtab",
        ),
    ];
    for (name, env, flags, table) in cases {
        if name.starts_with("cgo") && !cc {
            assert!(!in_ci(), "cc is required in CI");
            continue;
        }
        let Some(bin) = build(name, &env, &flags) else {
            continue;
        };
        let (out, report) = profile(&[bin.to_str().unwrap()], 60);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"startup 3\n", "{name}: output untouched");
        let p = program_startup(&report);
        assert_eq!(p["table"], table, "{name}");
        let marks: Vec<&str> = report["processes"][0]["startup"]["marks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["at"].as_str().unwrap())
            .collect();
        assert_eq!(marks, MARKS, "{name}: every mark, once, in order");
        let inits = f(&phase(&p, "main.main")["ms"]);
        assert!(
            inits >= 85.0,
            "{name}: package inits {inits} ms hold 85 ms of sleep"
        );
    }
}

/// A program that exits or panics in an init keeps its exit code and stderr, and the report
/// says where it was when it ended.
#[test]
fn a_program_that_ends_in_an_init_says_where() {
    let Some(bin) = build("plain", &[], &[]) else {
        return;
    };
    for (end, code, says) in [
        ("exit", 3, "exited with code 3 during package inits"),
        (
            "panic",
            2,
            "exited with code 2 (a panic, or os.Exit(2)) during package inits",
        ),
    ] {
        let json = tempfile::NamedTempFile::new().unwrap();
        let out = output_timeout(
            Command::new(golat())
                .args(["profile", "--json"])
                .arg(json.path())
                .arg("--")
                .arg(&bin)
                .env("STARTUP_END", end),
            60,
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "{end}: the exit code is the program's"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        if end == "panic" {
            assert!(err.contains("panic: zeta: init failed"), "{err}");
        }
        assert!(err.contains(says), "{end}: the table says where: {err}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(json.path()).unwrap()).unwrap();
        let p = program_startup(&report);
        assert!(p["main_ms"].is_null(), "{end}: main.main never ran");
        assert!(p["ended"].as_str().unwrap().contains(says), "{p}");
        assert_eq!(phase(&p, "exit")["from"], "runtime.gcenable");
    }
}

/// Under `go run` only the built program gets breakpoints by default; `--startup all` adds
/// the toolchain's own processes, `--startup off` none.
#[test]
fn go_run_times_the_program_and_the_toolchain_only_on_request() {
    if require("go").is_none() {
        return;
    }
    let dir = repo().join("fixtures/startup");
    let run = |opts: &[&str]| {
        let json = tempfile::NamedTempFile::new().unwrap();
        let out = output_timeout(
            Command::new(golat())
                .args(["profile", "-q", "--json"])
                .arg(json.path())
                .args(opts)
                .args(["go", "run", "."])
                .current_dir(&dir)
                .env("GOTOOLCHAIN", "local")
                .env("GOFLAGS", "-buildvcs=false"),
            300,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"startup 3\n");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(json.path()).unwrap()).unwrap();
        report["hotspots"]["startup"]["processes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let user = run(&[]);
    assert_eq!(user.len(), 1, "only the program: {user:?}");
    assert_eq!(user[0]["tool"], "startup");
    assert!(user[0]["main_ms"].as_f64().unwrap() >= 85.0);
    let all = run(&["--startup", "all"]);
    assert!(
        all.iter()
            .any(|p| p["tool"] == "go" && p["toolchain"] == true),
        "the go command too: {all:?}"
    );
    assert!(
        all.iter()
            .any(|p| p["tool"] == "startup" && p["toolchain"] == false)
    );
    assert!(run(&["--startup", "off"]).is_empty());
}

/// A Go binary with neither a symbol table nor a .gopclntab section (here a stripped build
/// whose section is renamed; the program does not need the name) gets no breakpoints: it
/// runs as it would, and the report says why it has no phases.
#[test]
fn a_go_binary_without_function_tables_says_so_and_runs_untouched() {
    let Some(stripped) = build("stripped", &[], &["-ldflags=-s -w"]) else {
        return;
    };
    let mut data = std::fs::read(&stripped).unwrap();
    let at = data
        .windows(11)
        .position(|w| w == b".gopclntab\0")
        .expect("section name");
    data[at..at + 10].copy_from_slice(b".gopclnXXX");
    let bin = scratch().join("startup-notable");
    std::fs::write(&bin, &data).unwrap();
    std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let json = tempfile::NamedTempFile::new().unwrap();
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "--json"])
            .arg(json.path())
            .arg("--")
            .arg(&bin),
        60,
    );
    assert!(out.status.success());
    assert_eq!(out.stdout, b"startup 3\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no phases: it has neither a symbol table nor a .gopclntab section"),
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json.path()).unwrap()).unwrap();
    assert!(
        report["hotspots"]["startup"]["processes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        report["hotspots"]["startup"]["unavailable"][0]["tool"],
        "startup-notable"
    );
    assert!(
        report["hotspots"]["init_chain"]["processes"][0]["main_at_ms"]
            .as_f64()
            .unwrap()
            > 85.0,
        "the init chain still times it"
    );
}

/// In the timeline the phases are slices inside the program's exec slice, in order, and
/// nothing crosses.
#[test]
fn the_timeline_shows_the_phases_inside_the_exec() {
    let Some(bin) = build("plain", &[], &[]) else {
        return;
    };
    let tl = tempfile::NamedTempFile::new().unwrap();
    let (out, _) = profile_with(
        &["--timeline", tl.path().to_str().unwrap()],
        &[bin.to_str().unwrap()],
        60,
    );
    assert!(out.status.success());
    let timeline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tl.path()).unwrap()).unwrap();
    let names: Vec<&str> = timeline["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "startup")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "startup: exec → runtime.schedinit",
            "startup: runtime.schedinit → runtime.main",
            "startup: runtime.main → runtime.gcenable",
            "startup: runtime.gcenable → main.main",
        ]
    );
    assert_eq!(crossing_slices(&timeline), Vec::<String>::new());
}

/// A tool `go tool` runs is the toolchain's even when the go command built it into GOCACHE
/// (Go 1.24+ does so for nm, pprof, trace, ...): no breakpoints and no init chain by
/// default; `--startup all` times it, marked as the toolchain's.
#[test]
fn a_tool_go_tool_built_into_gocache_is_the_toolchains() {
    let Some(bin) = build("plain", &[], &[]) else {
        return;
    };
    let bin = bin.to_str().unwrap();
    let (out, report) = profile(&["go", "tool", "nm", bin], 300);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nm = report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["tool"] == "nm")
        .expect("nm ran")
        .clone();
    assert!(nm["startup"].is_null(), "no breakpoints in nm: {nm}");
    assert!(
        report["init_lines"].as_array().unwrap().is_empty(),
        "no init chain from nm"
    );
    let (out, report) = profile_with(&["--startup", "all"], &["go", "tool", "nm", bin], 300);
    assert!(out.status.success());
    let procs = report["hotspots"]["startup"]["processes"]
        .as_array()
        .unwrap();
    let nm = procs.iter().find(|p| p["tool"] == "nm").expect("nm timed");
    assert_eq!(nm["toolchain"], true, "{nm}");
}

/// `golat diff` compares each program's phases by name: a program whose slow init got
/// faster shows the package-init phase and exec → main.main shrinking.
#[test]
fn diff_compares_the_phases_of_two_runs() {
    let Some(slow) = build("plain", &[], &[]) else {
        return;
    };
    // The same program with beta's 45 ms sleep cut to 5 ms, built from a copy.
    let src = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        let status = Command::new("cp")
            .arg("-r")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    };
    copy(&repo().join("fixtures/startup"), src.path());
    let dir = src.path().join("startup");
    let beta = dir.join("beta/beta.go");
    let text = std::fs::read_to_string(&beta).unwrap();
    std::fs::write(
        &beta,
        text.replace("45 * time.Millisecond", "5 * time.Millisecond"),
    )
    .unwrap();
    let fast = scratch().join("plain-fast-dir");
    std::fs::create_dir_all(&fast).unwrap();
    let fast = fast.join("startup-plain");
    let built = output_timeout(
        Command::new("go")
            .args(["build", "-o"])
            .arg(&fast)
            .arg(".")
            .current_dir(&dir)
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-buildvcs=false")
            .env("CGO_ENABLED", "0"),
        300,
    );
    assert!(built.status.success());
    let save = |bin: &Path| {
        let json = tempfile::NamedTempFile::new().unwrap();
        let out = output_timeout(
            Command::new(golat())
                .args(["profile", "-q", "--json"])
                .arg(json.path())
                .arg("--")
                .arg(bin),
            60,
        );
        assert!(out.status.success());
        json
    };
    let (a, b) = (save(&slow), save(&fast));
    let out = output_timeout(
        Command::new(golat())
            .args(["diff", "--json"])
            .arg(a.path())
            .arg(b.path()),
        60,
    );
    assert!(out.status.success());
    let diff: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let section = diff["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "startup")
        .unwrap_or_else(|| panic!("no startup section: {diff}"));
    let row = |item: &str| {
        section["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["item"] == item)
            .unwrap_or_else(|| panic!("no row {item}: {section}"))
            .clone()
    };
    for item in [
        "startup-plain: exec → main.main",
        "startup-plain: package inits (standard library and yours)",
    ] {
        let r = row(item);
        let saved = f(&r["before"]) - f(&r["after"]);
        assert!(
            (30.0..50.0).contains(&saved),
            "{item}: 40 ms less sleep, {r}"
        );
    }
}
