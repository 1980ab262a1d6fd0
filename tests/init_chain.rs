//! Init chains end to end: the real golat traces the real `go run` of fixtures/initchain.
//! Needs `go` and ptrace; under CI=true a missing one fails the test instead of skipping.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use golat::model::Report;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `false` (with a note) when the test cannot run here; panics under CI.
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

fn traced(report: &Report) -> bool {
    if !report.traced {
        assert!(
            !in_ci(),
            "CI=true but golat could not trace: {:?}",
            report.untraced_reason
        );
        eprintln!("skipped: ptrace unavailable: {:?}", report.untraced_reason);
    }
    report.traced
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/initchain")
}

fn golat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_golat"))
}

/// Runs `golat profile --quiet --json F <cmd>` in `dir` with extra env; returns the
/// command's output (golat's own report is off) and the report.
fn profile(dir: &Path, cmd: &[&str], env: &[(&str, &str)]) -> (Output, Report) {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("r.json");
    let mut c = golat();
    c.current_dir(dir)
        // Every Go process, the toolchain's tools included (the default leaves them out).
        .args(["profile", "--quiet", "--inittrace", "all", "--json"])
        .arg(&json)
        .arg("--")
        .args(cmd)
        .env_remove("GODEBUG");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "no report ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, serde_json::from_str(&text).unwrap())
}

fn native(dir: &Path, cmd: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(cmd[0]);
    c.current_dir(dir).args(&cmd[1..]).env_remove("GODEBUG");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// Builds the fixture once per test into a temp dir.
fn build_fixture(dir: &Path) -> PathBuf {
    let bin = dir.join("initchain");
    let out = Command::new("go")
        .current_dir(fixture())
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// (clock ms) of `pkg` in the raw captured lines of `pid`, parsed without golat's parser.
fn raw_clock(report: &Report, pid: i32, pkg: &str) -> f64 {
    let prefix = format!("init {pkg} @");
    let line = report
        .init_lines
        .iter()
        .find(|l| l.pid == pid && l.line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no raw line for {pkg}"));
    let after = line.line.split(" ms, ").nth(1).unwrap();
    after.split(" ms clock").next().unwrap().parse().unwrap()
}

#[test]
fn go_run_ranks_the_slow_var_then_the_spinning_init() {
    if !have_go() {
        return;
    }
    let (out, report) = profile(&fixture(), &["go", "run", "."], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if !traced(&report) {
        return;
    }
    let chain: golat::analyze::init_chain::InitChain =
        serde_json::from_value(report.hotspots["init_chain"].clone()).unwrap();
    // The program comes first; the go command, compile and link follow as toolchain.
    let program = &chain.processes[0];
    assert_eq!(program.tool, "initchain");
    assert!(!program.toolchain);
    assert!(
        chain
            .processes
            .iter()
            .any(|p| p.tool == "go" && p.toolchain)
    );
    assert!(
        chain
            .processes
            .iter()
            .any(|p| p.tool == "compile" && p.toolchain)
    );

    let top: Vec<&str> = program
        .top_by_clock
        .iter()
        .map(|p| p.pkg.as_str())
        .collect();
    assert_eq!(
        &top[..2],
        [
            "example.com/initchain/slowvar",
            "example.com/initchain/spin"
        ],
        "{top:?}"
    );
    assert_eq!(chain.top[0].init.pkg, "example.com/initchain/slowvar");
    for entry in &program.top_by_clock[..2] {
        let raw = raw_clock(&report, program.pid, &entry.pkg);
        assert!(
            (entry.clock_ms - raw).abs() <= 0.2 * raw,
            "{}: {} vs raw {raw}",
            entry.pkg,
            entry.clock_ms
        );
        assert!(entry.hint.is_some());
    }
    assert!(
        program.top_by_clock[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("sync.OnceValue")
    );
    // Largest allocator, too.
    assert_eq!(program.top_by_bytes[0].pkg, "example.com/initchain/slowvar");

    // The init that reads files is flagged with its paths; the others are not.
    let io: Vec<&str> = program.did_io.iter().map(|p| p.pkg.as_str()).collect();
    assert_eq!(io, ["example.com/initchain/ioinit"], "{:?}", program.did_io);
    let paths = &program.did_io[0].io_paths;
    assert!(
        paths.iter().any(|p| p == "/proc/self/exe")
            && paths.iter().any(|p| p == "/proc/self/cmdline"),
        "{paths:?}"
    );

    let non_std: Vec<&str> = program.non_std.iter().map(|p| p.pkg.as_str()).collect();
    for pkg in ["slowvar", "spin", "ioinit"] {
        assert!(non_std.contains(&format!("example.com/initchain/{pkg}").as_str()));
    }
    assert!(program.non_std.iter().all(|p| !p.std));

    // main.main comes after all inits and before the process ends.
    let proc_ = report
        .processes
        .iter()
        .find(|p| p.pid == program.pid)
        .unwrap();
    assert!(program.main_at_ms >= program.inits_ms);
    assert!(program.main_at_ms <= proc_.exec_wall_ms().unwrap());
    assert!(program.bootstrap_ms >= 0.0 && program.capture_ms >= 0.0);
    // The lines were hidden from the user.
    assert!(report.init_lines.iter().all(|l| l.hidden));

    let text = golat::render::init_chain::render(&report, 5);
    assert!(text.contains("initchain (pid"), "{text}");
    assert!(text.contains("example.com/initchain/slowvar"), "{text}");
    eprintln!("{text}");
}

#[test]
fn go_run_output_is_byte_identical() {
    if !have_go() {
        return;
    }
    let want = native(&fixture(), &["go", "run", "."], &[]);
    assert!(want.status.success());
    let (got, report) = profile(&fixture(), &["go", "run", "."], &[]);
    if !traced(&report) {
        return;
    }
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&want.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&got.stderr),
        String::from_utf8_lossy(&want.stderr)
    );
    assert_eq!(got.stdout, want.stdout);
    assert_eq!(got.stderr, want.stderr);
    // The fixture's own stderr line written from inside an init passed through.
    assert!(
        String::from_utf8_lossy(&got.stderr).contains("initchain: config loaded from defaults\n")
    );
}

#[test]
fn binary_output_is_byte_identical_with_and_without_user_godebug() {
    if !have_go() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bin = build_fixture(tmp.path());
    let bin = bin.to_str().unwrap();
    for env in [&[][..], &[("GODEBUG", "panicnil=1")][..]] {
        let want = native(tmp.path(), &[bin], env);
        let (got, report) = profile(tmp.path(), &[bin], env);
        if !traced(&report) {
            return;
        }
        assert_eq!(got.stdout, want.stdout, "{env:?}");
        assert_eq!(got.stderr, want.stderr, "{env:?}");
        assert!(report.hotspots.contains_key("init_chain"), "{env:?}");
    }
}

#[test]
fn a_users_godebug_still_takes_effect() {
    if !have_go() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bin = build_fixture(tmp.path());
    let bin = bin.to_str().unwrap();
    // panicnil=1 changes what the program prints: deterministic, so compared exactly.
    let (got, report) = profile(tmp.path(), &[bin], &[("GODEBUG", "panicnil=1")]);
    if !traced(&report) {
        return;
    }
    let stdout = String::from_utf8_lossy(&got.stdout);
    assert!(stdout.contains("recover(panic(nil)) = <nil>\n"), "{stdout}");
    assert!(report.hotspots.contains_key("init_chain"));
    let (plain, _) = profile(tmp.path(), &[bin], &[]);
    assert!(String::from_utf8_lossy(&plain.stdout).contains("= *runtime.PanicNilError\n"));

    // gctrace=1 prints timing-dependent lines, so compare their shape: the program's one
    // runtime.GC() is reported as a forced collection, with golat as without.
    let forced = |o: &Output| {
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter(|l| l.starts_with("gc ") && l.ends_with(" (forced)"))
            .count()
    };
    let want = native(tmp.path(), &[bin], &[("GODEBUG", "gctrace=1")]);
    let (got, report) = profile(tmp.path(), &[bin], &[("GODEBUG", "gctrace=1")]);
    assert_eq!(
        forced(&want),
        1,
        "{}",
        String::from_utf8_lossy(&want.stderr)
    );
    assert_eq!(forced(&got), 1, "{}", String::from_utf8_lossy(&got.stderr));
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert!(!stderr.lines().any(|l| l.starts_with("init ")), "{stderr}");
    assert!(report.hotspots.contains_key("init_chain"));
    let godebug = report.processes[0].godebug.as_deref().unwrap_or("");
    assert!(godebug.starts_with("gctrace=1"), "{godebug}");
}

#[test]
fn a_user_who_asked_for_inittrace_sees_their_lines() {
    if !have_go() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bin = build_fixture(tmp.path());
    let bin = bin.to_str().unwrap();
    let env = [("GODEBUG", "inittrace=1")];
    let want = native(tmp.path(), &[bin], &env);
    let (got, report) = profile(tmp.path(), &[bin], &env);
    if !traced(&report) {
        return;
    }
    assert_eq!(got.stdout, want.stdout);
    // Timings differ run to run; everything else must not.
    let shape = |o: &Output| -> Vec<String> {
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .map(|l| match l.split_once(" @") {
                Some((head, _)) if l.starts_with("init ") => head.to_string(),
                _ => l.to_string(),
            })
            .collect()
    };
    assert_eq!(shape(&got), shape(&want));
    assert!(
        shape(&got)
            .iter()
            .any(|l| l == "init example.com/initchain/slowvar")
    );
    // golat parsed them without hiding them.
    assert!(!report.init_lines.is_empty());
    assert!(report.init_lines.iter().all(|l| !l.hidden));
    let got_stderr = String::from_utf8_lossy(&got.stderr);
    let got_lines: Vec<&str> = got_stderr
        .lines()
        .filter(|l| l.starts_with("init "))
        .collect();
    let captured: Vec<&str> = report.init_lines.iter().map(|l| l.line.as_str()).collect();
    assert_eq!(
        captured, got_lines,
        "the lines golat parsed are the ones the user saw"
    );
    assert!(report.hotspots.contains_key("init_chain"));
}
