//! `golat whatif` on real builds: its measured savings against what the test measures
//! itself by alternating the same two settings, its `--slow` cost against a FUSE mount that
//! really is that slow (fixtures/delayfs), and the promise that no trial leaves a trace in
//! the user's home, go env or caches.
//!
//! Needs go and, for two of the tests, /dev/fuse with root or fusermount3 (.ci/run
//! installs fuse3). Under CI=true a missing tool or a failed mount fails the test.

mod common;
#[path = "common/delayfs.rs"]
mod delayfs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{go_fixture, golat, output_timeout, require};
use delayfs::{Delays, mount_or_skip};
use serde_json::Value;

/// Each test times builds against each other: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A command with the environment a test controls: go settings isolated from the
/// machine's own go env file (GOENV), toolchain pinned, no network.
fn command(program: &Path, args: &[&str], cwd: &Path, env: &[(String, String)]) -> Command {
    let mut c = Command::new(program);
    c.args(args).current_dir(cwd);
    c.env("GOTOOLCHAIN", "local").env("GOPROXY", "off");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Runs `golat whatif --json F ARGS` and returns its output and report. Its table (on
/// stderr) is checked to be what `golat report F` prints again from the JSON.
fn whatif(args: &[&str], cwd: &Path, env: &[(String, String)]) -> (Output, Value) {
    let json = tempfile::NamedTempFile::new().unwrap();
    let mut all = vec!["whatif", "--json", json.path().to_str().unwrap()];
    all.extend_from_slice(args);
    let out = output_timeout(&mut command(&golat(), &all, cwd, env), 600);
    let text = std::fs::read_to_string(json.path()).unwrap_or_default();
    if out.status.success() {
        let again = output_timeout(Command::new(golat()).arg("report").arg(json.path()), 60);
        assert!(again.status.success(), "golat report: {again:?}");
        assert_eq!(
            String::from_utf8_lossy(&again.stdout),
            String::from_utf8_lossy(&out.stderr),
            "golat report of the saved JSON prints the live table"
        );
    }
    (out, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn trial<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["trials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no {id} trial in {report:#}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median of paired differences `b - a` over `rounds` alternations of two runs, ms.
/// Which goes first alternates too, as whatif does, so a drift in load hits both alike.
fn paired_cost(rounds: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64, f64) {
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64() * 1e3
    };
    a();
    b();
    let (mut ta, mut tb, mut diff) = (vec![], vec![], vec![]);
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = time(&mut a);
            (x, time(&mut b))
        } else {
            let y = time(&mut b);
            (time(&mut a), y)
        };
        ta.push(x);
        tb.push(y);
        diff.push(y - x);
    }
    (median(ta), median(tb), median(diff))
}

fn run_ok(c: &mut Command) {
    let out = output_timeout(c, 300);
    assert!(out.status.success(), "{c:?}: {out:?}");
}

fn cgo_app(dir: &Path) -> PathBuf {
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("go.mod"), "module golat.test/cgoapp\n\ngo 1.22\n").unwrap();
    std::fs::write(
        app.join("main.go"),
        "package main\n\n// int answer(void) { return 42; }\nimport \"C\"\n\nimport \"fmt\"\n\n\
         func main() { fmt.Println(C.answer()) }\n",
    )
    .unwrap();
    app
}

#[test]
fn the_cleaned_path_saves_what_the_two_paths_measured_alternately_differ_by() {
    let _g = serial();
    if require("go").is_none() || require("gcc").is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    for d in ["a", "b"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let mnt = t.path().join("mnt");
    // No caching: every lookup of go, gcc, ... in the two entries reaches the server.
    let delays = Delays {
        lookup: Duration::from_millis(10),
        ..Delays::default()
    };
    let Some(_fs) = mount_or_skip(&root, &mnt, &delays) else {
        return;
    };
    let app = cgo_app(t.path());
    // The machine's PATH without what path-audit would drop anyway (missing entries,
    // duplicates), so that the cleaned PATH only moves the two slow entries.
    let mut seen = Vec::new();
    let rest: Vec<String> = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .filter(|d| d.is_absolute())
        .filter_map(|d| {
            let real = std::fs::canonicalize(&d).ok().filter(|r| r.is_dir())?;
            (!seen.contains(&real)).then(|| {
                seen.push(real);
                d.display().to_string()
            })
        })
        .collect();
    let rest = rest.join(":");
    let (a, b) = (mnt.join("a"), mnt.join("b"));
    let slow_path = format!("{}:{}:{rest}", a.display(), b.display());
    let clean_path = format!("{rest}:{}:{}", a.display(), b.display());
    let out = t.path().join("app.bin");
    let base_env = vec![
        (
            "GOENV".to_string(),
            t.path().join("goenv").display().to_string(),
        ),
        (
            "GOCACHE".into(),
            t.path().join("gocache").display().to_string(),
        ),
        ("GOFLAGS".into(), "-buildvcs=false".into()),
        ("CGO_ENABLED".into(), "1".into()),
    ];
    let with_path = |p: &str| {
        let mut e = base_env.clone();
        e.push(("PATH".into(), p.into()));
        e
    };
    let build = ["build", "-o", out.to_str().unwrap(), "."];
    let go = |p: &str| command(Path::new("go"), &build, &app, &with_path(p));
    run_ok(&mut go(&slow_path));

    let mut argv = vec!["--only", "clean_path", "--rounds", "9", "--", "go"];
    argv.extend_from_slice(&build);
    let (res, report) = whatif(&argv, &app, &with_path(&slow_path));
    assert!(res.status.success(), "{res:?}");
    assert_eq!(report["schema"], "golat.whatif/v1");
    let clean = trial(&report, "clean_path");
    assert_eq!(clean["change"], format!("PATH='{clean_path}'"), "{clean:#}");
    assert!(clean["failed"].is_null(), "{clean:#}");
    let whatif_saving = clean["saving_ms"].as_f64().unwrap();

    // The same two PATHs, alternated by the test, natively. Each side runs `go` as whatif
    // does: found through its own PATH.
    let (slow_ms, clean_ms, measured) = paired_cost(
        9,
        || run_ok(&mut go(&clean_path)),
        || run_ok(&mut go(&slow_path)),
    );
    eprintln!(
        "PATH: the test measured {slow_ms:.0} ms against {clean_ms:.0} ms (saving {measured:.1}); \
         whatif says {whatif_saving:.1} ms, interval {}",
        clean["interval_ms"]
    );
    assert!(
        measured > 50.0,
        "two 10 ms-per-lookup entries before go and gcc should cost more than {measured:.1} ms"
    );
    assert!(
        (whatif_saving - measured).abs() <= 0.25 * measured,
        "whatif: clean_path saves {whatif_saving:.1} ms; the test measured {measured:.1} ms"
    );
    for key in ["median", "min", "max", "n"] {
        assert!(clean["baseline_ms"][key].is_number(), "{clean:#}");
        assert!(clean["changed_ms"][key].is_number(), "{clean:#}");
    }
    assert_eq!(clean["changed_ms"]["n"], 9);
    let iv = clean["interval_ms"].as_array().unwrap();
    let (lo, hi) = (iv[0].as_f64().unwrap(), iv[1].as_f64().unwrap());
    assert!(lo <= whatif_saving && whatif_saving <= hi, "{clean:#}");
    assert!(
        clean["verdict"].as_str().unwrap().starts_with("saves"),
        "{clean:#}"
    );
}

/// The modproxy module (fixtures/modproxy) built by a small app: a module cache of a few
/// hundred files whose lookups are what `--slow GOMODCACHE=...` delays.
fn modproxy_app(dir: &Path) -> Option<(PathBuf, Vec<(String, String)>)> {
    let proxy_tool = go_fixture("modproxy")?;
    let proxy = dir.join("proxy");
    let made = Command::new(proxy_tool)
        .arg("-out")
        .arg(&proxy)
        .status()
        .unwrap();
    assert!(made.success(), "modproxy failed");
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("go.mod"),
        "module golat.test/app\n\ngo 1.22\n\nrequire golat.test/slowdep v1.0.0\n",
    )
    .unwrap();
    std::fs::write(
        app.join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"golat.test/slowdep/p0\"\n\t\"golat.test/slowdep/p1\"\n\
         \t\"golat.test/slowdep/p2\"\n\t\"golat.test/slowdep/p3\"\n)\n\n\
         func main() { fmt.Println(p0.F0() + p1.F1() + p2.F2() + p3.F3()) }\n",
    )
    .unwrap();
    let env = vec![
        ("GOENV".to_string(), dir.join("goenv").display().to_string()),
        ("GOPROXY".into(), format!("file://{}", proxy.display())),
        ("GOSUMDB".into(), "off".into()),
        ("GOFLAGS".into(), "-mod=mod -buildvcs=false".into()),
        ("GOCACHE".into(), dir.join("gocache").display().to_string()),
    ];
    Some((app, env))
}

#[test]
fn slow_gomodcache_costs_what_a_fuse_mount_that_slow_costs() {
    let _g = serial();
    if require("go").is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let Some((app, env)) = modproxy_app(t.path()) else {
        return;
    };
    let local = t.path().join("modcache");
    let mnt = t.path().join("mnt");
    let with_mc = |mc: &Path| {
        let mut e = env.clone();
        e.push(("GOMODCACHE".into(), mc.display().to_string()));
        e
    };
    let out = t.path().join("app.bin");
    let build = ["build", "-o", out.to_str().unwrap(), "."];
    let go = |mc: &Path| command(Path::new("go"), &build, &app, &with_mc(mc));
    // Fill the module cache from the proxy; the mount mirrors it from then on.
    run_ok(&mut go(&local));
    // Mounted at the module cache's own root, as --slow counts components below it: a
    // mount one level up would make one more lookup per call than the delay counts.
    let delays = Delays {
        lookup: Duration::from_millis(2),
        ..Delays::default()
    };
    let Some(fs) = mount_or_skip(&local, &mnt, &delays) else {
        return;
    };
    fs.reset();
    let (local_ms, fuse_ms, fuse_cost) =
        paired_cost(7, || run_ok(&mut go(&local)), || run_ok(&mut go(&mnt)));
    // paired_cost runs each side once more to warm up: 8 builds on the mount.
    let served = fs.stats().op("lookup");
    let lookups = served.count / 8;
    let slept_ms = served.injected_ns as f64 / 1e6 / served.count.max(1) as f64;
    drop(fs);

    let mut argv = vec![
        "--slow",
        "GOMODCACHE=2ms",
        "--only",
        "none",
        "--rounds",
        "7",
        "--",
        "go",
    ];
    argv.extend_from_slice(&build);
    let (res, report) = whatif(&argv, &app, &with_mc(&local));
    assert!(res.status.success(), "{res:?}");
    let slow = trial(&report, "slow:GOMODCACHE");
    assert!(slow["failed"].is_null(), "{slow:#}");
    assert!(
        slow["caveat"].as_str().unwrap_or("").contains("traced"),
        "the --slow runs are traced and must say so: {slow:#}"
    );
    let cost = -slow["saving_ms"].as_f64().unwrap();
    eprintln!(
        "GOMODCACHE: local {local_ms:.0} ms, on a 2 ms-per-lookup FUSE mount {fuse_ms:.0} ms \
         ({fuse_cost:.0} ms more; {lookups} lookups a build, each slept {slept_ms:.2} ms by the server); \
         whatif --slow says it costs {cost:.0} ms ({:.2}x)",
        cost / fuse_cost
    );
    assert!(
        fuse_cost > 100.0,
        "the FUSE mount cost only {fuse_cost:.0} ms"
    );
    assert!(
        (cost - fuse_cost).abs() <= 0.30 * fuse_cost,
        "--slow GOMODCACHE=2ms costs {cost:.0} ms; the FUSE mount cost {fuse_cost:.0} ms"
    );
    assert!(
        slow["verdict"].as_str().unwrap().starts_with("costs"),
        "{slow:#}"
    );
    // No trials besides the one asked for, and `none` is not a trial that was skipped.
    assert_eq!(report["trials"].as_array().unwrap().len(), 1, "{report:#}");
    let skipped = report["skipped"].to_string();
    assert!(!skipped.contains("\"none\""), "{skipped}");
}

/// Every file under `dir` with its bytes' hash (and a symlink's target), skipping what
/// `skip` names.
fn snapshot(dir: &Path, skip: &dyn Fn(&Path) -> bool) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if skip(&p) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if meta.is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                out.insert(rel, format!("-> {}", target.display()));
            } else if meta.is_dir() {
                out.insert(rel, "dir".into());
                stack.push(p);
            } else {
                let mut bytes = std::fs::read(&p).unwrap();
                // A build cache action entry (`-a`) ends with the time it was written, and go
                // writes the entry again whenever it repeats the action, natively as well.
                if p.to_string_lossy().ends_with("-a")
                    && let Some(cut) = bytes.trim_ascii_end().iter().rposition(|b| *b == b' ')
                {
                    bytes.truncate(cut);
                }
                out.insert(rel, format!("{:x}", fnv(&bytes)));
            }
        }
    }
    out
}

/// FNV-1a: enough to tell two files' bytes apart in a test.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// What a file set lost or changed between two snapshots (added files are not listed).
fn lost_or_changed(
    before: &BTreeMap<PathBuf, String>,
    after: &BTreeMap<PathBuf, String>,
) -> Vec<String> {
    before
        .iter()
        .filter(|(p, h)| after.get(*p) != Some(*h))
        .map(|(p, h)| format!("{}: {h} -> {:?}", p.display(), after.get(p)))
        .collect()
}

#[test]
fn no_trial_changes_the_users_home_go_env_or_caches_and_a_failing_trial_is_reported() {
    let _g = serial();
    if require("go").is_none() || require("git").is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let Some((app, mut env)) = modproxy_app(t.path()) else {
        return;
    };
    // A home of the test's own, with a go env file and a go config dir that a real user
    // has: the telemetry_off trial works on a private copy of it.
    let home = t.path().join("home");
    let goenv = home.join(".config/go/env");
    std::fs::create_dir_all(goenv.parent().unwrap()).unwrap();
    std::fs::write(&goenv, "GOPRIVATE=example.com/private\n").unwrap();
    let gomodcache = t.path().join("modcache");
    env.retain(|(k, _)| k != "GOENV" && k != "GOFLAGS");
    env.extend([
        ("HOME".to_string(), home.display().to_string()),
        (
            "XDG_CONFIG_HOME".into(),
            home.join(".config").display().to_string(),
        ),
        ("GOMODCACHE".into(), gomodcache.display().to_string()),
        // Settings that differ from go's defaults, for the clean_env trial to drop.
        ("GOFLAGS".into(), "-mod=mod".into()),
        (
            "GOPATH".into(),
            t.path().join("gopath").display().to_string(),
        ),
    ]);
    // A git repository: go build stamps VCS information, the buildvcs_off trial's cue.
    for args in [
        &["init", "-q"][..],
        &["-c", "user.email=t@t", "-c", "user.name=t", "add", "."],
        &[
            "-c",
            "user.email=t@t",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "app",
        ],
    ] {
        run_ok(Command::new("git").args(args).current_dir(&app));
    }
    let out = t.path().join("app.bin");
    let build = ["build", "-o", out.to_str().unwrap(), "."];
    run_ok(&mut command(Path::new("go"), &build, &app, &env));
    run_ok(&mut command(Path::new("go"), &build, &app, &env));
    let native_binary = std::fs::read(&out).unwrap();

    // go itself keeps telemetry counters under the config dir on every run, traced or not;
    // golat keeps its tracer calibration in ~/.cache/golat (docs/timing.md).
    let go_writes = |p: &Path| p.ends_with("telemetry/local") || p.ends_with(".cache");
    let home_before = snapshot(&home, &go_writes);
    let mc_before = snapshot(&gomodcache, &|_| false);
    let cache_before = snapshot(&t.path().join("gocache"), &|p| p.ends_with("trim.txt"));
    let app_before = snapshot(&app, &|p| p.ends_with(".git"));

    let mut argv = vec![
        "--rounds",
        "2",
        "--warmup",
        "0",
        "--try",
        "GOFLAGS=-bogus",
        "--try",
        "GOMAXPROCS=1",
        "--",
        "go",
    ];
    argv.extend_from_slice(&build);
    let (res, report) = whatif(&argv, &app, &env);
    assert!(
        res.status.success(),
        "a failing trial is not fatal: {res:?}"
    );
    let ids: Vec<&str> = report["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    eprintln!("trials: {ids:?}; skipped: {}", report["skipped"]);
    for id in [
        "buildvcs_off",
        "telemetry_off",
        "clean_env",
        "try:GOFLAGS=-bogus",
        "try:GOMAXPROCS=1",
    ] {
        assert!(ids.contains(&id), "no {id} trial: {ids:?}");
    }
    let bogus = trial(&report, "try:GOFLAGS=-bogus");
    assert!(bogus["failed"].is_object(), "{bogus:#}");
    assert_ne!(bogus["failed"]["exit_code"], 0, "{bogus:#}");
    assert!(
        bogus["failed"]["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("-bogus"),
        "go's own complaint is kept: {bogus:#}"
    );
    assert!(trial(&report, "try:GOMAXPROCS=1")["failed"].is_null());

    let home_lost = lost_or_changed(&home_before, &snapshot(&home, &go_writes));
    let home_added: Vec<_> = snapshot(&home, &go_writes)
        .into_keys()
        .filter(|p| !home_before.contains_key(p))
        .collect();
    assert!(home_lost.is_empty(), "whatif changed HOME: {home_lost:?}");
    assert!(
        home_added.is_empty(),
        "whatif added to HOME: {home_added:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&goenv).unwrap(),
        "GOPRIVATE=example.com/private\n"
    );
    // The caches keep every entry they had, byte for byte (trials that build differently,
    // as buildvcs_off does, add entries of their own, as that build run natively would).
    let mc_lost = lost_or_changed(&mc_before, &snapshot(&gomodcache, &|_| false));
    assert!(mc_lost.is_empty(), "GOMODCACHE changed: {mc_lost:?}");
    let cache_lost = lost_or_changed(
        &cache_before,
        &snapshot(&t.path().join("gocache"), &|p| p.ends_with("trim.txt")),
    );
    assert!(cache_lost.is_empty(), "GOCACHE changed: {cache_lost:?}");
    let app_lost = lost_or_changed(&app_before, &snapshot(&app, &|p| p.ends_with(".git")));
    assert!(app_lost.is_empty(), "the module changed: {app_lost:?}");
    // The last run is the command as given: what it leaves is what the native build left.
    assert!(
        std::fs::read(&out).unwrap() == native_binary,
        "{} differs from the native build's",
        out.display()
    );
    // No private copy is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("golat-whatif-"))
        .filter(|e| {
            // Another test binary's whatif may be running; only count what this run made.
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|m| m.elapsed().unwrap_or_default() < Duration::from_secs(600))
        })
        .map(|e| e.path())
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

#[test]
fn usage_errors_exit_2_and_a_failing_command_returns_its_own_code() {
    let _g = serial();
    let cwd = std::env::temp_dir();
    for (args, says) in [
        (&["--copy-limit", "2X", "--", "true"][..], "copy-limit"),
        (&["--slow", "foo", "--", "true"], "DIR=DURATION"),
        (&["--slow", "/tmp=0ms", "--", "true"], "slow"),
        (&["--only", "no_such_trial", "--", "true"], "no_such_trial"),
        (&["--try", "NOEQUALS", "--", "true"], "NAME=VALUE"),
        (&["--rounds", "0", "--", "true"], "rounds"),
    ] {
        let out = output_timeout(
            &mut command(&golat(), &[&["whatif"], args].concat(), &cwd, &[]),
            60,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?} should mention {says}: {err}");
    }
    let out = output_timeout(
        &mut command(&golat(), &["whatif", "--", "sh", "-c", "exit 3"], &cwd, &[]),
        60,
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let out = output_timeout(
        &mut command(
            &golat(),
            &["whatif", "--", "golat-no-such-command"],
            &cwd,
            &[],
        ),
        60,
    );
    assert_eq!(out.status.code(), Some(127), "{out:?}");
}
