//! The build cache, explained, on real builds of fixtures/cachemod (copied to a fresh
//! directory, so its packages have action IDs no earlier run cached): a warm build takes
//! every package from the cache; an edited file, a changed CGO_CFLAGS and -trimpath each
//! rebuild what the go command really compiled (the report's rebuilt packages are exactly
//! the compile processes golat traced, and the packages the change reaches).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A copy of fixtures/cachemod in a temp dir, built once natively so the cache is warm.
fn warm_module() -> Option<(tempfile::TempDir, PathBuf)> {
    require("go")?;
    require("cc")?;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cachemod");
    copy_dir(&repo().join("fixtures/cachemod"), &dir);
    // A -trimpath build does not hash the directory: without a file no earlier run had, a
    // -trimpath build of an earlier test's copy would be found in the cache.
    let nonce = format!(
        "\n// nonce {} {:?}\n",
        std::process::id(),
        std::time::SystemTime::now()
    );
    for f in ["main.go", "leaf/leaf.go", "mid/mid.go", "cgolib/cgolib.go"] {
        let mut text = std::fs::read_to_string(dir.join(f)).unwrap();
        text.push_str(&nonce);
        std::fs::write(dir.join(f), text).unwrap();
    }
    let out = output_timeout(
        Command::new("go")
            .args(["build", "-o", "bin/cachemod", "."])
            .current_dir(&dir),
        600,
    );
    assert!(out.status.success(), "native warm-up build: {out:?}");
    Some((tmp, dir))
}

/// Builds the module's standard-library dependencies with -trimpath, natively: on a machine
/// whose GOCACHE never saw a -trimpath build they would be rebuilt too (65 packages instead
/// of the module's 4), and the module's own packages must stay uncached for the test.
fn warm_std_with_trimpath(dir: &Path) {
    let list = output_timeout(
        Command::new("go")
            .args([
                "list",
                "-deps",
                "-f",
                "{{if .Standard}}{{.ImportPath}}{{end}}",
                ".",
            ])
            .current_dir(dir),
        600,
    );
    assert!(list.status.success(), "go list -deps: {list:?}");
    let std: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    assert!(std.iter().any(|p| p == "runtime"), "{std:?}");
    let out = output_timeout(
        Command::new("go")
            .args(["build", "-trimpath"])
            .args(&std)
            .current_dir(dir),
        600,
    );
    assert!(
        out.status.success(),
        "go build -trimpath of the std deps: {out:?}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// `golat profile --json` of `go build <flags> -o bin/cachemod .` in `dir`, with `env`.
fn profile_build(dir: &Path, flags: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    profile_build_with(dir, &[], flags, env).0
}

/// `profile_build` with golat options; also returns where the JSON is.
fn profile_build_with(
    dir: &Path,
    golat_opts: &[&str],
    flags: &[&str],
    env: &[(&str, &str)],
) -> (serde_json::Value, PathBuf) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let json = dir.join(format!("report-{n}.json"));
    let mut cmd = Command::new(golat());
    cmd.args(["profile", "-q"])
        .args(golat_opts)
        .arg("--json")
        .arg(&json)
        .args(["--", "go", "build"])
        .args(flags)
        .args(["-o", "bin/cachemod", "."])
        .current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = output_timeout(&mut cmd, 600);
    assert!(out.status.success(), "{out:?}");
    let report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (report, json)
}

/// Packages the report says were rebuilt, from `go.build_cache`.
fn rebuilt(report: &serde_json::Value) -> BTreeSet<String> {
    report["go"]["build_cache"]["packages"]
        .as_array()
        .expect("go.build_cache.packages")
        .iter()
        .filter(|p| p["rebuilt"] == true)
        .map(|p| p["package"].as_str().unwrap().to_string())
        .collect()
}

/// The package (`-p`) of every compile process golat traced, with the action's name for a
/// main package (`-p main` is the module's root package here).
fn traced_compiles(report: &serde_json::Value) -> Vec<String> {
    report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["tool"] == "compile")
        .filter_map(|p| {
            let argv: Vec<&str> = p["argv"]
                .as_array()?
                .iter()
                .filter_map(|a| a.as_str())
                .collect();
            if argv.iter().any(|a| a.starts_with("-V")) {
                return None;
            }
            let at = argv.iter().position(|a| *a == "-p")?;
            let pkg = argv.get(at + 1)?;
            Some(if *pkg == "main" {
                "golat.test/cachemod".to_string()
            } else {
                pkg.to_string()
            })
        })
        .collect()
}

fn summary(report: &serde_json::Value) -> &serde_json::Value {
    &report["hotspots"]["build_cache"]
}

/// The report's rebuilt packages are the traced compiles, one each, and its counts add up.
fn assert_rebuilt_is_what_compiled(report: &serde_json::Value) -> BTreeSet<String> {
    let compiles = traced_compiles(report);
    let set = rebuilt(report);
    let compiled: BTreeSet<String> = compiles.iter().cloned().collect();
    assert_eq!(compiles.len(), compiled.len(), "one compile per package");
    assert_eq!(set, compiled, "rebuilt packages vs traced compiles");
    let s = summary(report);
    assert_eq!(s["rebuilt"].as_u64(), Some(set.len() as u64), "{s}");
    assert_eq!(
        s["rebuilt"].as_u64().unwrap() + s["cached"].as_u64().unwrap(),
        s["packages"].as_u64().unwrap(),
        "{s}"
    );
    assert!(s["finished"] == true, "{s}");
    set
}

const MODULE: &[&str] = &[
    "golat.test/cachemod",
    "golat.test/cachemod/cgolib",
    "golat.test/cachemod/leaf",
    "golat.test/cachemod/mid",
];

#[test]
fn warm_edited_cgo_flags_and_trimpath_builds_rebuild_what_the_go_command_compiled() {
    let Some((_tmp, dir)) = warm_module() else {
        return;
    };

    // Warm: nothing compiles; every package of the module is in the graph, from the cache.
    let warm = profile_build(&dir, &[], &[]);
    assert!(assert_rebuilt_is_what_compiled(&warm).is_empty());
    let all: BTreeSet<String> = warm["go"]["build_cache"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["package"].as_str().unwrap().to_string())
        .collect();
    for m in MODULE {
        assert!(all.contains(*m), "{m} in {all:?}");
    }
    assert!(all.contains("fmt") && all.contains("runtime"), "{all:?}");
    assert_eq!(summary(&warm)["compile_ms"].as_f64(), Some(0.0));

    // An edit of leaf rebuilds leaf and what imports it, up to main; not cgolib.
    let leaf = dir.join("leaf/leaf.go");
    let text = std::fs::read_to_string(&leaf).unwrap();
    std::fs::write(&leaf, text.replace("Base = 1", "Base = 2")).unwrap();
    let edited = profile_build(&dir, &[], &[]);
    let set = assert_rebuilt_is_what_compiled(&edited);
    assert_eq!(
        set,
        [
            "golat.test/cachemod",
            "golat.test/cachemod/leaf",
            "golat.test/cachemod/mid"
        ]
        .map(String::from)
        .into(),
    );
    let s = summary(&edited);
    assert!(s["compile_ms"].as_f64().unwrap() > 0.0, "{s}");
    // The compiles held the path (nothing else ran beside them), and the rows say so.
    assert!(s["critical_ms"].as_f64().unwrap() > 0.0, "{s}");
    assert_eq!(s["top"].as_array().unwrap().len(), 3, "{s}");

    // CGO_CFLAGS is an input of cgo packages only: cgolib rebuilds (and main, whose
    // import of it changed), leaf and mid do not.
    let cgo = profile_build(&dir, &[], &[("CGO_CFLAGS", "-O1 -g")]);
    let set = assert_rebuilt_is_what_compiled(&cgo);
    assert!(set.contains("golat.test/cachemod/cgolib"), "{set:?}");
    assert!(!set.contains("golat.test/cachemod/leaf"), "{set:?}");
    assert!(!set.contains("golat.test/cachemod/mid"), "{set:?}");

    // -trimpath changes every package's inputs; the standard library's -trimpath builds
    // may already be in this machine's cache (other runs), so only the module is checked.
    let trim = profile_build(&dir, &["-trimpath"], &[]);
    let set = assert_rebuilt_is_what_compiled(&trim);
    for m in MODULE {
        assert!(set.contains(*m), "{m} in {set:?}");
    }
}

/// The report's header and table say it, and `golat report` of the JSON says it again.
#[test]
fn the_report_leads_with_the_cache_outcome_live_and_saved() {
    let Some((_tmp, dir)) = warm_module() else {
        return;
    };
    let leaf = dir.join("leaf/leaf.go");
    let text = std::fs::read_to_string(&leaf).unwrap();
    std::fs::write(&leaf, text.replace("Base = 1", "Base = 3")).unwrap();
    let json = dir.join("r.json");
    let timeline = dir.join("t.json");
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "--json"])
            .arg(&json)
            .arg("--timeline")
            .arg(&timeline)
            .args(["--", "go", "build", "-o", "bin/cachemod", "."])
            .current_dir(&dir)
            .env("COLUMNS", "120"),
        600,
    );
    assert!(out.status.success(), "{out:?}");
    let live = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let packages = summary(&report)["packages"].as_u64().unwrap();
    let line = format!("build cache: compiled 3 of {packages} packages");
    assert!(live.contains(&line), "{line:?} in\n{live}");
    assert!(live.contains("Build cache: packages compiled"), "{live}");
    assert!(live.contains("golat.test/cachemod/leaf"), "{live}");

    let saved = output_timeout(
        Command::new(golat())
            .arg("report")
            .arg(&json)
            .env("COLUMNS", "120"),
        60,
    );
    assert!(saved.status.success(), "{saved:?}");
    let saved = String::from_utf8_lossy(&saved.stdout);
    assert!(saved.contains(&line), "{saved}");
    assert!(saved.contains("Build cache: packages compiled"), "{saved}");

    // golat's own -debug-actiongraph is not shown as the user's argument.
    assert!(!live.contains("-debug-actiongraph"), "{live}");

    // The timeline marks each build action of the go command's phases.
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&timeline).unwrap()).unwrap();
    let marked = |want: &str| -> BTreeSet<String> {
        t["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["args"]["build_cache"] == want)
            .filter_map(|e| {
                let name = e["name"].as_str()?;
                let pkg = name.strip_prefix("Executing action (build ")?;
                let pkg = pkg.strip_prefix("check cache ").unwrap_or(pkg);
                Some(pkg.trim_end_matches(')').to_string())
            })
            .collect()
    };
    assert_eq!(
        marked("rebuilt"),
        [
            "golat.test/cachemod",
            "golat.test/cachemod/leaf",
            "golat.test/cachemod/mid"
        ]
        .map(String::from)
        .into()
    );
    assert!(marked("cached").contains("golat.test/cachemod/cgolib"));
    assert!(marked("cached").contains("fmt"));
}

/// `--no-build-cache` leaves the go command's argv alone and the section out.
#[test]
fn no_build_cache_adds_no_flag() {
    let Some((_tmp, dir)) = warm_module() else {
        return;
    };
    let json = dir.join("r.json");
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--no-build-cache", "--json"])
            .arg(&json)
            .args(["--", "go", "build", "-o", "bin/cachemod", "."])
            .current_dir(&dir),
        600,
    );
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(report["go"]["build_cache"].is_null());
    let go_argv = report["processes"][0]["argv"].to_string();
    assert!(!go_argv.contains("debug-actiongraph"), "{go_argv}");
    // Without the option golat does add it (so the check above can fail).
    let with = profile_build(&dir, &[], &[])["processes"][0]["argv"].to_string();
    assert!(with.contains("-debug-actiongraph="), "{with}");
}

/// `golat diff A B` of two `--explain` runs, as text.
fn diff(a: &Path, b: &Path) -> String {
    let out = output_timeout(
        Command::new(golat())
            .arg("diff")
            .arg(a)
            .arg(b)
            .env("COLUMNS", "200"),
        60,
    );
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The diff's one line for the cause that rebuilt `n` packages.
fn cause_line(diff: &str, cause: &str) -> String {
    diff.lines()
        .find(|l| l.trim_start().starts_with(cause))
        .unwrap_or_else(|| panic!("no {cause:?} line in\n{diff}"))
        .to_string()
}

#[test]
fn explain_names_the_input_that_rebuilt_each_package_in_a_diff() {
    let Some((_tmp, dir)) = warm_module() else {
        return;
    };
    let explain = &["--explain"][..];
    let (warm, warm_json) = profile_build_with(&dir, explain, &[], &[]);
    assert!(rebuilt(&warm).is_empty());
    // Every package's inputs are captured, cached or not: a later diff needs both sides.
    for p in warm["go"]["build_cache"]["packages"].as_array().unwrap() {
        let inputs = p["inputs"].as_array().unwrap_or_else(|| panic!("{p}"));
        assert!(inputs.iter().any(|i| i == "compile"), "{p}");
    }

    // -trimpath: every module package has it as its own cause, one line of 4 packages; the
    // single report says the setting differs from the default, without an earlier report.
    warm_std_with_trimpath(&dir);
    let (trim, trim_json) = profile_build_with(&dir, explain, &["-trimpath"], &[]);
    let d = diff(&warm_json, &trim_json);
    let line = cause_line(&d, "`-trimpath` added: 4 packages");
    for m in MODULE {
        assert!(line.contains(m), "{m} in {line}");
    }
    let hints = summary(&trim)["hints"].to_string();
    assert!(
        hints.contains("-trimpath is on in the inputs of 4 rebuilt package(s)"),
        "{hints}"
    );

    // An edited file: one root cause, three packages (leaf, and mid and main through it).
    let leaf = dir.join("leaf/leaf.go");
    let text = std::fs::read_to_string(&leaf).unwrap();
    std::fs::write(&leaf, text.replace("Base = 1", "Base = 7")).unwrap();
    let (edited, edited_json) = profile_build_with(&dir, explain, &[], &[]);
    // On its own, the report names the freshest edit among the rebuilt packages' inputs.
    let hints = summary(&edited)["hints"].to_string();
    assert!(
        hints.contains("leaf/leaf.go (golat.test/cachemod/leaf) was modified"),
        "{hints}"
    );
    let d = diff(&warm_json, &edited_json);
    let line = cause_line(
        &d,
        "file leaf.go changed (golat.test/cachemod/leaf): 3 packages",
    );
    assert!(line.contains("(golat.test/cachemod/leaf, "), "{line}");
    assert!(
        d.contains("Rebuilt in after, taken from the cache in before: 3 packages"),
        "{d}"
    );

    // CGO_CFLAGS: the C flags input of cgolib; main follows it, leaf and mid stay cached.
    let (_, cgo_json) = profile_build_with(&dir, explain, &[], &[("CGO_CFLAGS", "-O1 -g")]);
    let d = diff(&edited_json, &cgo_json);
    let line = cause_line(
        &d,
        "C compiler or CGO_CPPFLAGS/CGO_CFLAGS/CGO_CXXFLAGS/CGO_LDFLAGS changed",
    );
    assert!(line.contains("golat.test/cachemod/cgolib"), "{line}");
    assert!(!d.contains("file leaf.go"), "{d}");

    // Without --explain on one side the cause is not guessed.
    std::fs::write(&leaf, text.replace("Base = 1", "Base = 8")).unwrap();
    let (_, plain_json) = profile_build_with(&dir, &[], &[], &[]);
    let d = diff(&warm_json, &plain_json);
    assert!(
        d.contains("without a named cause: profile both runs with --explain"),
        "{d}"
    );
}

/// Under --explain the go command prints thousands of HASH lines; the user's stderr gets
/// none of them: byte for byte what a native run writes (here a failing build, whose error
/// the go command prints between its hashes), with the same exit code.
#[test]
fn explain_keeps_the_go_commands_stderr_byte_for_byte() {
    let Some((_tmp, dir)) = warm_module() else {
        return;
    };
    let mid = dir.join("mid/mid.go");
    let text = std::fs::read_to_string(&mid).unwrap();
    std::fs::write(
        &mid,
        text.replace("leaf.Base + 1", "leaf.Base + undefinedName"),
    )
    .unwrap();
    let native = output_timeout(
        Command::new("go")
            .args(["build", "-o", "bin/cachemod", "."])
            .current_dir(&dir),
        600,
    );
    assert_eq!(native.status.code(), Some(1), "{native:?}");
    assert!(
        String::from_utf8_lossy(&native.stderr).contains("undefinedName"),
        "{native:?}"
    );
    let report = dir.join("report.txt");
    let traced = output_timeout(
        Command::new(golat())
            .args(["profile", "--explain", "--output"])
            .arg(&report)
            .args(["--", "go", "build", "-o", "bin/cachemod", "."])
            .current_dir(&dir),
        600,
    );
    assert_eq!(traced.status.code(), Some(1), "{traced:?}");
    assert_eq!(
        String::from_utf8_lossy(&traced.stderr),
        String::from_utf8_lossy(&native.stderr)
    );
    // The hashes were there to hide: the report counts them.
    let text = std::fs::read_to_string(&report).unwrap();
    let hidden: u64 = text
        .split("kept its ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of hidden lines in\n{text}"));
    assert!(hidden > 100, "{hidden}");
}
