//! The go command's phases end to end: argv rewriting run with the machine's Go, the real
//! `-debug-trace` files it writes, and the `go_phases` analysis of a real golat profile.
//! Needs `go` (and ptrace for the profile); under CI=true a missing one fails.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use golat::gosrc::debugtrace;
use golat::gosrc::goargs::{self, GoInvocation, GoVersion, Plan};
use golat::model::Report;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn have_go() -> bool {
    let ok = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!in_ci(), "CI=true but `go` is not on PATH");
        eprintln!("skipped: `go` is not on PATH");
    }
    ok
}

fn go_binary() -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", "command -v go"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A module whose program prints its arguments and whose test checks the ones after -args.
fn module(dir: &Path) {
    std::fs::write(
        dir.join("go.mod"),
        "module example.com/argsprobe\n\ngo 1.22\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() { fmt.Printf(\"args %q\\n\", os.Args[1:]) }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main_test.go"),
        "package main\n\nimport (\n\t\"flag\"\n\t\"testing\"\n)\n\nfunc TestArgs(t *testing.T) {\n\tif got := flag.Args(); len(got) != 2 || got[0] != \"hello\" || got[1] != \"-debug-trace=mine.json\" {\n\t\tt.Fatalf(\"args %q\", got)\n\t}\n}\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(
        dir.join("sub/go.mod"),
        "module example.com/sub\n\ngo 1.22\n",
    )
    .unwrap();
    std::fs::write(dir.join("sub/sub.go"), "package main\n\nfunc main() {}\n").unwrap();
}

fn run(dir: &Path, argv: &[OsString]) -> Output {
    Command::new(&argv[0])
        .current_dir(dir)
        .args(&argv[1..])
        .env("GOFLAGS", "")
        .output()
        .unwrap()
}

#[test]
fn rewritten_commands_run_unchanged_and_write_a_trace() {
    if !have_go() {
        return;
    }
    let version = GoVersion::of_go_binary(&go_binary());
    assert!(
        version.is_some(),
        "cannot read the Go version next to {:?}",
        go_binary()
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    module(dir);
    let bin = dir.join("out");
    let bin = bin.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["go", "run", ".", "-debug-trace", "-x"],
            "Running run command",
        ),
        (vec!["go", "build", "-o", bin, "."], "Running build command"),
        (
            vec!["go", "build", "-C", "sub", "-o", bin, "."],
            "Running build command",
        ),
        (
            vec!["go", "-C", "sub", "run", ".", "-x"],
            "Running run command",
        ),
        (
            vec!["go", "list", "-f", "{{.Name}}", "."],
            "Running list command",
        ),
        (vec!["go", "vet", "."], "load.PackagesAndErrors"),
        (
            vec![
                "go",
                "test",
                "-count=1",
                ".",
                "-args",
                "hello",
                "-debug-trace=mine.json",
            ],
            "load.TestPackagesAndErrors",
        ),
    ];
    for (i, (args, expect_phase)) in cases.iter().enumerate() {
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        let trace = dir.join(format!("trace{i}.json"));
        let plan = goargs::plan(
            &GoInvocation {
                argv: &argv,
                version,
                goflags: None,
                cwd: dir,
            },
            &trace,
        );
        let Plan::Rewrite { argv: new, .. } = plan else {
            panic!("{args:?}: {plan:?}");
        };
        let want = run(dir, &argv);
        let got = run(dir, &new);
        assert!(
            want.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&want.stderr)
        );
        assert_eq!(got.status.code(), want.status.code(), "{args:?}");
        if args[1] != "test" {
            // go test prints its own timing; everything else prints the same bytes.
            assert_eq!(got.stdout, want.stdout, "{args:?}");
            assert_eq!(got.stderr, want.stderr, "{args:?}");
        }
        let parsed = debugtrace::read(&trace).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(parsed.complete, "{args:?}");
        assert!(
            parsed
                .phases
                .iter()
                .any(|p| p.kind.starts_with(expect_phase)),
            "{args:?}: no {expect_phase}: {:?}",
            parsed.by_kind().iter().map(|k| &k.kind).collect::<Vec<_>>()
        );
        assert!(
            !dir.join("mine.json").exists(),
            "the test binary's argument was not a go flag"
        );
    }
    // The program saw exactly its own arguments.
    let out = run(
        dir,
        &[
            "go",
            "run",
            "-debug-trace=/dev/null",
            ".",
            "-debug-trace",
            "-x",
        ]
        .map(OsString::from),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "args [\"-debug-trace\" \"-x\"]\n"
    );
}

fn golat_profile(dir: &Path, json: &Path, cmd: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_golat"))
        .current_dir(dir)
        .args(["profile", "--quiet", "--json"])
        .arg(json)
        .arg("--")
        .args(cmd)
        .env("GOFLAGS", "")
        .output()
        .unwrap()
}

#[test]
fn go_phases_of_a_real_profiled_build() {
    if !have_go() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    module(dir);
    let json = dir.join("r.json");
    let trace = dir.join("trace.json");
    let flag = format!("-debug-trace={}", trace.display());
    let out = golat_profile(dir, &json, &["go", "build", &flag, "-o", "out", "."]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut report: Report =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    if !report.traced {
        assert!(!in_ci(), "CI=true but golat could not trace");
        eprintln!("skipped: ptrace unavailable");
        return;
    }
    // What the profiler stores once it passes -debug-trace itself.
    let parsed = debugtrace::read(&trace).unwrap();
    report
        .go
        .insert("debug_trace".into(), serde_json::to_value(&parsed).unwrap());
    let g = golat::analyze::go_phases::compute(&report).unwrap();
    let go = &report.processes[0];
    assert_eq!(go.tool, "go");
    assert_eq!(g.go_pid, Some(go.pid));
    assert_eq!(g.aligned_by, "trace_file_created");
    // The trace starts after the go process's exec and ends before its exit.
    let exec = go.execs[0].t_ms;
    let end = go.end_ms.unwrap();
    assert!(
        g.offset_ms > exec && g.offset_ms < end,
        "{} not in {exec}..{end}",
        g.offset_ms
    );
    assert!(g.offset_ms + g.traced_ms <= end + 1.0);
    assert!((g.go_wall_ms - go.exec_wall_ms().unwrap()).abs() < 1e-9);
    let root = g
        .by_kind
        .iter()
        .find(|k| k.total.kind == "Running build command")
        .unwrap();
    assert!(root.share > 0.3 && root.share <= 1.0, "{}", root.share);
    assert!(
        g.largest
            .iter()
            .all(|p| p.share <= 1.0 && p.dur_ms <= root.total.wall_ms + 1e-6)
    );
    assert!(
        g.by_kind
            .iter()
            .any(|k| k.total.kind == "load.PackagesAndErrors")
    );
    // The largest phases sit inside the go process's lifetime on the run's clock.
    for p in &g.largest {
        assert!(
            p.start_ms >= exec && p.start_ms + p.dur_ms <= end + 1.0,
            "{p:?}"
        );
    }

    report
        .hotspots
        .insert("go_phases".into(), serde_json::to_value(&g).unwrap());
    let text = golat::render::init_chain::render(&report, 8);
    assert!(text.contains("go command phases (-debug-trace"), "{text}");
    eprintln!("{text}");
}
