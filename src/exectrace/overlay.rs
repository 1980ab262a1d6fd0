//! Capturing a runtime trace of the program a `go run` / `go build` / `go test` command builds,
//! without editing its code: `prepare` rewrites the argv (an `-overlay` that adds a tiny
//! package which starts `runtime/trace` from its `init`, or `-trace` for `go test`) and says
//! which environment to set; `summarize_file` turns the trace into the report's summary and
//! `collect_timeline` into the events `--timeline` draws.
//!
//! Why an exit hook: the runtime writes a generation out only when it ends (an advance or
//! `trace.Stop`), so a program that exits inside the window would leave nothing. User code
//! cannot reach the runtime's exit hooks (`internal/runtime/exithook`), but a package inside
//! GOROOT can, and `-overlay` can add one (`golat_rtrace_exit`) without touching the Go tree.
//!
//! Why a separate package: Go (1.21+) initialises packages in import-path order as soon as
//! their imports are ready, so a package that imports only `runtime/trace` and `os` starts
//! tracing after ~20 std packages, long before the user's own packages and `main.init`.
//! Observer effect: `trace.Start` allocates ≈2 MiB of heap (CPU-sample buffers) and takes
//! ≈1 ms, which can pull the first GC forward.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use super::summary::{SummarizeOptions, Summary, summarize};
use crate::gosrc::goargs::takes_value;
use crate::model::{GoroutineCreated, GoroutineRun, RuntimeSpan, RuntimeTimeline};

/// Names the trace output file in the traced program's environment.
pub const ENV_TRACE: &str = "GOLAT_RUNTIME_TRACE";
/// How long the trace window lasts in the traced program (a Go duration, e.g. `1s`).
pub const ENV_WINDOW: &str = "GOLAT_RUNTIME_TRACE_WINDOW";
/// Names the CPU profile file (`--cpuprofile-out`): with it the starter runs pprof's CPU
/// profiler over the trace's window, so the trace carries CPU samples.
pub const ENV_CPUPROFILE: &str = "GOLAT_CPUPROFILE";
/// The import path of the starter package golat adds to GOROOT/src through `-overlay`. Go
/// initializes ready packages in import-path order, and `0` sorts before every letter: once
/// runtime/trace and its std imports are ready, the starter is the next package to run.
pub const STARTER_PKG: &str = "0golat_rtrace";
/// The starter's package name (an import path element may start with a digit, a package
/// name may not).
const STARTER_NAME: &str = "golat_rtrace";
/// The file golat adds to each package of the build it may touch: an import of the starter.
const HOOK_FILE: &str = "zz_golat_rtrace_hook.go";

/// The starter's directory name inside the main module, for toolchains that do not see a
/// package `-overlay` adds to GOROOT (Go 1.22 and older: their module index reports it "not
/// in std").
const MODULE_STARTER_DIR: &str = "golat_rtrace_0";

/// The first Go release whose go command builds a package `-overlay` adds to GOROOT.
const GOROOT_OVERLAY_SINCE_MINOR: u32 = 23;

fn hook_source(package: &str, starter: &str) -> String {
    format!(
        "// Added by golat (golat profile --runtime-trace) through -overlay: this package's \
         init waits for the trace to start.\npackage {package}\n\nimport _ \"{starter}\"\n"
    )
}

/// The Go release of the tree at `goroot` (its VERSION file), minor only.
fn goroot_minor(goroot: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(goroot.join("VERSION")).ok()?;
    let v = crate::gosrc::goargs::GoVersion::parse(text.lines().next()?)?;
    (v.major == 1).then_some(v.minor)
}

/// The main module's path and directory (`go list -m`), with the flags that choose it.
fn main_module(go: &str, cwd: &Path, flags: &[String]) -> Option<(String, PathBuf)> {
    let out = Command::new(go)
        .current_dir(cwd)
        .args(["list", "-m", "-f", "{{.Path}}\t{{.Dir}}"])
        .args(flags)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (path, dir) = text.lines().next()?.split_once('\t')?;
    (out.status.success() && !path.is_empty() && !dir.is_empty())
        .then(|| (path.to_string(), PathBuf::from(dir)))
}

/// One package of `go list -deps`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    path: String,
    name: String,
    dir: String,
    standard: bool,
    dep_only: bool,
    goroot: String,
    imports: Vec<String>,
    error: Option<String>,
}

impl Listed {
    fn parse(line: &str) -> Option<Listed> {
        let f: Vec<&str> = line.splitn(8, '\t').collect();
        if f.len() < 7 {
            return None;
        }
        Some(Listed {
            path: f[0].to_string(),
            name: f[1].to_string(),
            dir: f[2].to_string(),
            standard: f[3] == "true",
            dep_only: f[4] == "true",
            goroot: f[5].to_string(),
            imports: f[6]
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            error: f.get(7).filter(|e| !e.is_empty()).map(|e| e.to_string()),
        })
    }
}

fn go_env(go: &str, cwd: &Path, var: &str) -> Option<PathBuf> {
    let out = Command::new(go)
        .current_dir(cwd)
        .args(["env", var])
        .output()
        .ok()?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !v.is_empty()).then(|| PathBuf::from(v))
}

/// What the starter imports, with the std packages those import in turn: the packages that
/// must be initialized before it.
const STARTER_IMPORTS: [&str; 4] = ["os", "runtime/trace", "sync", "time"];

fn starter_deps(go: &str, cwd: &Path, cpu: bool) -> Vec<Listed> {
    let Ok(out) = Command::new(go)
        .current_dir(cwd)
        .args(["list", "-deps", "-f"])
        .arg("{{.ImportPath}}\t{{.Name}}\t{{.Dir}}\t{{.Standard}}\ttrue\t\t{{join .Imports \",\"}}")
        .args(STARTER_IMPORTS)
        .args(cpu.then_some("runtime/pprof"))
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(Listed::parse)
        .collect()
}

/// The packages of `unhookable` that Go's init order (cmd/link's inittasks: of the packages
/// whose imports are initialized, the first in import-path order) runs before the starter,
/// given that every other non-std package imports it. Packages with no init work are
/// skipped by the real order; this counts them as if they had some, so it may name a
/// package whose init is empty.
fn inits_before_starter<'a>(
    listed: &[Listed],
    starter_deps: &[Listed],
    unhookable: &[&'a str],
    starter: &'a str,
) -> Vec<&'a str> {
    use std::collections::{BTreeMap, BTreeSet};
    if unhookable.is_empty() {
        return Vec::new();
    }
    let mut imports: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in listed.iter().chain(starter_deps) {
        imports
            .entry(p.path.as_str())
            .or_insert_with(|| p.imports.iter().map(String::as_str).collect());
    }
    imports.insert(starter, STARTER_IMPORTS.to_vec());
    for p in listed {
        if !p.standard
            && !unhookable.contains(&p.path.as_str())
            && p.path != starter
            && let Some(v) = imports.get_mut(p.path.as_str())
        {
            v.push(starter);
        }
    }
    // Kahn's algorithm with the smallest ready path first.
    let mut waiting: BTreeMap<&str, usize> = BTreeMap::new();
    let mut importers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (&p, deps) in &imports {
        let known: BTreeSet<&str> = deps
            .iter()
            .copied()
            .filter(|d| imports.contains_key(d) && *d != p)
            .collect();
        waiting.insert(p, known.len());
        for d in known {
            importers.entry(d).or_default().push(p);
        }
    }
    let mut ready: BTreeSet<&str> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(p, _)| *p)
        .collect();
    let mut early = Vec::new();
    while let Some(p) = ready.pop_first() {
        if p == starter {
            break;
        }
        if let Some(u) = unhookable.iter().find(|u| **u == p) {
            early.push(*u);
        }
        for &i in importers.get(p).map(Vec::as_slice).unwrap_or(&[]) {
            let n = waiting.get_mut(i).expect("every importer is a node");
            *n -= 1;
            if *n == 0 {
                ready.insert(i);
            }
        }
    }
    early
}

/// The std-tree package golat adds (a new directory of GOROOT/src, through `-overlay`): only a
/// package inside GOROOT may import `internal/runtime/exithook`, the hooks the runtime runs
/// when `main.main` returns or `os.Exit` is called.
pub const EXIT_PKG: &str = "golat_rtrace_exit";

const EXIT_HOOK: &str = r#"// Package golat_rtrace_exit is injected by golat (golat profile --runtime-trace) into
// GOROOT/src through -overlay, so that it may register an exit hook.
package golat_rtrace_exit

import "internal/runtime/exithook"

// AtExit runs f when main.main returns or os.Exit is called, whatever the exit code.
func AtExit(f func()) { exithook.Add(exithook.Hook{F: f, RunOnFailure: true}) }
"#;

/// The starter package: `exit_hook` adds the stop at program exit (needs [`EXIT_HOOK`]).
fn starter_source(package: &str, exit_hook: bool, cpu: bool) -> String {
    let (mut import, register) = if exit_hook {
        (
            format!("\t\"{EXIT_PKG}\"\n"),
            format!("\t{EXIT_PKG}.AtExit(stop)\n"),
        )
    } else {
        (String::new(), String::new())
    };
    // CPU profiling stops before the trace, which then flushes the samples it holds.
    let (cpu_start, cpu_stop) = if cpu {
        import.push_str("\t\"runtime/pprof\"\n");
        (
            format!(
                "\tvar cpu *os.File\n\tif p := os.Getenv(\"{ENV_CPUPROFILE}\"); p != \"\" {{\n\
                 \t\tif c, err := os.Create(p); err == nil {{\n\
                 \t\t\tif pprof.StartCPUProfile(c) == nil {{\n\t\t\t\tcpu = c\n\
                 \t\t\t}} else {{\n\t\t\t\tc.Close()\n\t\t\t}}\n\t\t}}\n\t}}\n"
            ),
            "\t\t\tif cpu != nil {\n\t\t\t\tpprof.StopCPUProfile()\n\t\t\t\tcpu.Close()\n\t\t\t}\n"
                .to_string(),
        )
    } else {
        (String::new(), String::new())
    };
    format!(
        r#"// Package {package} is injected by golat through -overlay: it starts runtime/trace
// when GOLAT_RUNTIME_TRACE names an output file and stops after GOLAT_RUNTIME_TRACE_WINDOW
// or at program exit, whichever comes first.
package {package}

import (
{import}	"os"
	"runtime/trace"
	"sync"
	"time"
)

func init() {{
	out := os.Getenv("GOLAT_RUNTIME_TRACE")
	if out == "" {{
		return
	}}
	f, err := os.Create(out)
	if err != nil {{
		return
	}}
	if err := trace.Start(f); err != nil {{
		f.Close()
		return
	}}
{cpu_start}	window, err := time.ParseDuration(os.Getenv("GOLAT_RUNTIME_TRACE_WINDOW"))
	if err != nil || window <= 0 {{
		window = time.Second
	}}
	var once sync.Once
	stop := func() {{
		once.Do(func() {{
{cpu_stop}			trace.Stop()
			f.Close()
		}})
	}}
{register}	go func() {{
		time.Sleep(window)
		stop()
	}}()
}}
"#
    )
}

/// Why the exit hook cannot be used with the Go tree at `goroot`, or `None` when it can:
/// `internal/runtime/exithook` with `Hook.RunOnFailure` exists from Go 1.23 on.
fn exit_hook_unavailable(goroot: &Path) -> Option<String> {
    let hooks = goroot.join("src/internal/runtime/exithook/hooks.go");
    match std::fs::read_to_string(&hooks) {
        Ok(text) if text.contains("func Add(h Hook)") && text.contains("RunOnFailure") => {}
        Ok(_) => {
            return Some(format!(
                "{} has no Add(Hook{{RunOnFailure}})",
                hooks.display()
            ));
        }
        Err(e) => return Some(format!("{}: {e}", hooks.display())),
    }
    let dir = goroot.join("src").join(EXIT_PKG);
    if dir.exists() {
        return Some(format!("{} already exists", dir.display()));
    }
    None
}

/// How the trace is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Method {
    /// `-overlay` adds package `0golat_rtrace` to GOROOT, imported by the build's packages.
    OverlayInitPackage,
    /// Written by golat before the starter moved into GOROOT (kept to read old reports):
    /// the starter sat in package main, after every dependency's init.
    OverlayMainPackage,
    /// `go test -trace FILE`: the testing package traces from `m.Run` on.
    GoTestTraceFlag,
}

/// A prepared command: run `argv` with `env` added (a GODEBUG entry is appended to the
/// environment's GODEBUG, not put in its place); the trace lands in `trace_file`.
#[derive(Debug)]
pub struct RuntimeTrace {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub trace_file: PathBuf,
    pub method: Method,
    /// Facts the report should state (what the trace covers, observer effect).
    pub notes: Vec<String>,
    /// The trace also stops when the program exits (an exit hook), not only after the
    /// window: a program that exits early still leaves a complete trace.
    pub stops_at_exit: bool,
    /// Holds the overlay files; removed on drop.
    _dir: Option<tempfile::TempDir>,
}

fn go_duration(d: Duration) -> String {
    format!("{}us", d.as_micros().max(1))
}

/// Splits `go run|build [flags] [packages|files] [-- args]` into (flags end index, packages).
fn package_args(args: &[String]) -> (usize, Vec<String>) {
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" || !a.starts_with('-') {
            break;
        }
        let name = a.trim_start_matches('-');
        if !a.contains('=') && takes_value(name.as_bytes()) {
            i += 1;
        }
        i += 1;
    }
    let flags_end = i;
    let mut pkgs = Vec::new();
    // `go run` takes one package (or .go files) and then program arguments.
    while i < args.len() && args[i] != "--" {
        pkgs.push(args[i].clone());
        i += 1;
        if pkgs.iter().all(|p| !p.ends_with(".go")) && pkgs.len() == 1 {
            break;
        }
    }
    while i < args.len() && args[i].ends_with(".go") {
        pkgs.push(args[i].clone());
        i += 1;
    }
    if pkgs.is_empty() {
        pkgs.push(".".into());
    }
    (flags_end, pkgs)
}

/// A command golat cannot add a runtime trace to, as given: a usage error (exit 2), unlike
/// a failure to prepare one (go list failing, an unwritable directory).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Prepares `argv` (`go run …`, `go build …`, `go test …`, to be run in directory `cwd`) to
/// write a runtime trace of the program it builds to `trace_file`, for `window` after the
/// program starts (or until it exits).
pub fn prepare(
    argv: &[String],
    cwd: &Path,
    trace_file: &Path,
    window: Duration,
    cpu_profile: Option<&Path>,
) -> anyhow::Result<RuntimeTrace> {
    if argv.len() < 2 || Path::new(&argv[0]).file_name().is_none_or(|n| n != "go") {
        return Err(usage(format!(
            "--runtime-trace needs a go command (go run or go test), got {:?}",
            argv.join(" ")
        )));
    }
    let sub = argv[1].as_str();
    if sub == "-C" || sub.starts_with("-C=") || sub == "--C" || sub.starts_with("--C=") {
        return Err(usage(
            "--runtime-trace does not follow go -C: run golat from that directory instead",
        ));
    }
    let rest = &argv[2..];
    let trace_file = if trace_file.is_absolute() {
        trace_file.to_path_buf()
    } else {
        cwd.join(trace_file)
    };
    match sub {
        "test" if cpu_profile.is_some() => Err(usage(
            "--cpuprofile-out needs go run: go test's own -cpuprofile would also write the test \
             binary into the current directory (as -c does); run the test binary yourself with \
             -test.trace and -test.cpuprofile",
        )),
        "test" => {
            if rest
                .iter()
                .any(|a| a == "-trace" || a.starts_with("-trace=") || a == "--trace")
            {
                return Err(usage(
                    "the go test command already has -trace; drop --runtime-trace or the flag",
                ));
            }
            if test_args(rest)
                .0
                .iter()
                .any(|f| *f == "c" || f.starts_with("c="))
            {
                return Err(usage(
                    "--runtime-trace traces the test golat runs, and go test -c only builds the \
                     test binary: drop -c, or run that binary with -test.trace=FILE and read the \
                     file with golat trace (nothing was built)",
                ));
            }
            // go test refuses -trace for several packages ("cannot use -trace flag with
            // multiple packages"): golat's flag would make the user's command fail.
            let pkgs = test_args(rest).1;
            if pkgs.len() > 1 || pkgs.iter().any(|p| p.contains("...")) {
                return Err(usage(format!(
                    "--runtime-trace traces one test package (go test -trace refuses several); name one package instead of {}",
                    pkgs.join(" ")
                )));
            }
            let mut out = vec![
                argv[0].clone(),
                "test".into(),
                format!("-trace={}", trace_file.display()),
            ];
            out.extend(rest.iter().cloned());
            Ok(RuntimeTrace {
                argv: out,
                env: Vec::new(),
                trace_file,
                method: Method::GoTestTraceFlag,
                stops_at_exit: true,
                notes: vec![
                    "go test -trace traces from testing.(*M).Run: package init is not covered"
                        .into(),
                    "go test -trace works for one package at a time".into(),
                ],
                _dir: None,
            })
        }
        "run" => prepare_overlay(argv, cwd, sub, rest, trace_file, window, cpu_profile),
        "build" | "install" => Err(usage(format!(
            "--runtime-trace traces a program golat runs, and go {sub} only builds one: golat \
             would leave the binary instrumented; profile `go run` with the same flags and \
             package instead (nothing was built)"
        ))),
        _ => Err(usage(format!(
            "--runtime-trace supports go run and go test, not go {sub}"
        ))),
    }
}

/// Splits the arguments of `go test` (before `-args`) into flag names (without dashes) and
/// package arguments (what is neither a flag nor a flag's value).
fn test_args(rest: &[String]) -> (Vec<&str>, Vec<&str>) {
    let (mut flags, mut pkgs) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < rest.len() {
        let a = rest[i].as_str();
        if a == "-args" || a == "--args" || a == "--" {
            break;
        }
        match a.strip_prefix("--").or_else(|| a.strip_prefix('-')) {
            Some(flag) if !flag.is_empty() => {
                flags.push(flag);
                if !flag.contains('=') && takes_value(flag.as_bytes()) {
                    i += 1;
                }
            }
            _ => pkgs.push(a),
        }
        i += 1;
    }
    (flags, pkgs)
}

fn prepare_overlay(
    argv: &[String],
    cwd: &Path,
    sub: &str,
    rest: &[String],
    trace_file: PathBuf,
    window: Duration,
    cpu_profile: Option<&Path>,
) -> anyhow::Result<RuntimeTrace> {
    if rest
        .iter()
        .any(|a| a == "-overlay" || a.starts_with("-overlay="))
    {
        return Err(usage(
            "the go command already has -overlay; golat cannot add its own",
        ));
    }
    let (flags_end, pkgs) = package_args(rest);
    if rest[..flags_end].iter().any(|a| {
        let flag = a.trim_start_matches('-');
        flag == "cover" || flag.starts_with("cover=") || flag.starts_with("covermode")
    }) {
        // cmd/cover opens the package's files by name and does not read -overlay.
        return Err(usage(
            "--runtime-trace cannot trace a -cover build (the cover tool ignores -overlay)",
        ));
    }
    // Every package of the build: the main package, and which packages may get the hook
    // that makes them import the starter.
    let mut list = Command::new(&argv[0]);
    list.current_dir(cwd).arg("list").arg("-e").arg("-deps").arg("-f").arg(
        "{{.ImportPath}}\t{{.Name}}\t{{.Dir}}\t{{.Standard}}\t{{.DepOnly}}\t{{context.GOROOT}}\t{{join .Imports \",\"}}\t{{with .Error}}{{.Err}}{{end}}",
    );
    // The flags that change what go list resolves; others (-o, -ldflags, …) are not its own.
    let flags = &rest[..flags_end];
    let mut list_flags: Vec<String> = Vec::new();
    let mut i = 0;
    while i < flags.len() {
        let a = &flags[i];
        let name = a.trim_start_matches('-').split('=').next().unwrap_or("");
        let takes_value = !a.contains('=') && takes_value(name.as_bytes());
        if matches!(name, "tags" | "mod" | "modfile" | "C") {
            list_flags.push(a.clone());
            if takes_value && i + 1 < flags.len() {
                list_flags.push(flags[i + 1].clone());
            }
        }
        i += if takes_value { 2 } else { 1 };
    }
    list.args(&list_flags);
    list.args(&pkgs);
    let out = list.output().context("running go list")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let listed: Vec<Listed> = text.lines().filter_map(Listed::parse).collect();
    if !out.status.success() || listed.is_empty() {
        bail!(
            "go list {}: {}",
            pkgs.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let Some(main_pkg) = listed.iter().find(|p| !p.dep_only && p.name == "main") else {
        if let Some(err) = listed.iter().find_map(|p| p.error.as_deref()) {
            bail!("go list {}: {err}", pkgs.join(" "));
        }
        return Err(usage(format!(
            "--runtime-trace needs a main package to run; {} is not one (package {})",
            pkgs.join(" "),
            listed
                .iter()
                .find(|p| !p.dep_only)
                .map(|p| p.name.as_str())
                .unwrap_or("?"),
        )));
    };
    let pkg_dir = PathBuf::from(&main_pkg.dir);
    let goroot = PathBuf::from(&main_pkg.goroot);
    let mod_cache = go_env(&argv[0], cwd, "GOMODCACHE");
    let dir = tempfile::Builder::new().prefix("golat-rtrace-").tempdir()?;
    let starter = dir.path().join("starter.go");
    let mut replace = serde_json::Map::new();
    let mut notes = vec![
        "runtime/trace allocates ≈2 MiB of heap when it starts, which can pull the first GC forward".to_string(),
        "the startup table's package-init phase includes golat's starter, an init that starts \
         the trace (and the tracer's own work from then on)"
            .to_string(),
    ];
    if goroot.as_os_str().is_empty() {
        bail!("go list gave no GOROOT");
    }
    // Where the starter goes: GOROOT, or the main module for a go command that cannot see
    // a package -overlay adds to GOROOT.
    let in_module = goroot_minor(&goroot).is_some_and(|m| m < GOROOT_OVERLAY_SINCE_MINOR);
    let (starter_path, starter_dir) = if in_module {
        let Some((module, module_dir)) = main_module(&argv[0], cwd, &list_flags) else {
            return Err(usage(format!(
                "--runtime-trace with this Go release ({}) needs a main module: its go \
                 command does not build a package -overlay adds to GOROOT, so golat's starter \
                 goes into the main module, and there is none here",
                goroot.display()
            )));
        };
        (
            format!("{module}/{MODULE_STARTER_DIR}"),
            module_dir.join(MODULE_STARTER_DIR),
        )
    } else {
        (
            STARTER_PKG.to_string(),
            goroot.join("src").join(STARTER_PKG),
        )
    };
    if starter_dir.exists() {
        bail!(
            "{} already exists: golat cannot add its starter package",
            starter_dir.display()
        );
    }
    let unavailable = exit_hook_unavailable(&goroot);
    let stops_at_exit = unavailable.is_none();
    match &unavailable {
        None => {
            let exit_src = dir.path().join("exit.go");
            std::fs::write(&exit_src, EXIT_HOOK)?;
            replace.insert(
                goroot
                    .join("src")
                    .join(EXIT_PKG)
                    .join("golat_rtrace_exit.go")
                    .display()
                    .to_string(),
                exit_src.display().to_string().into(),
            );
            notes.push(format!(
                "the trace stops after the window or when the program exits (main returns or \
                 os.Exit, through an exit hook of package {EXIT_PKG} that -overlay adds to \
                 GOROOT); a panic or a signal ends it with only its complete generations"
            ));
        }
        Some(why) => notes.push(format!(
            "the trace stops only after the window: no exit hook ({why}); a program that \
             exits earlier leaves only its complete 10 ms generations"
        )),
    }
    std::fs::write(
        &starter,
        starter_source(STARTER_NAME, stops_at_exit, cpu_profile.is_some()),
    )?;
    replace.insert(
        starter_dir.join("golat_rtrace.go").display().to_string(),
        starter.display().to_string().into(),
    );
    // Each package of the build outside GOROOT and the module cache imports the starter
    // (Go refuses overlays beneath GOMODCACHE): none of them can run its init first.
    let in_mod_cache = |d: &str| {
        mod_cache
            .as_deref()
            .is_some_and(|m| !m.as_os_str().is_empty() && Path::new(d).starts_with(m))
    };
    let mut hooked = Vec::new();
    let mut unhookable = Vec::new();
    for p in &listed {
        if p.standard
            || p.dir.is_empty()
            || p.path == "command-line-arguments"
            || p.path == starter_path
        {
            continue;
        }
        if in_mod_cache(&p.dir) {
            unhookable.push(p.path.as_str());
            continue;
        }
        let hook = dir.path().join(format!("hook{}.go", hooked.len()));
        std::fs::write(&hook, hook_source(&p.name, &starter_path))?;
        replace.insert(
            Path::new(&p.dir).join(HOOK_FILE).display().to_string(),
            hook.display().to_string().into(),
        );
        hooked.push(p.path.as_str());
    }
    // Named .go files make package main of exactly those files: its hook is named with them.
    let named_files = pkgs.iter().all(|p| p.ends_with(".go"));
    let main_hook = dir.path().join("hook_main.go");
    if named_files {
        std::fs::write(&main_hook, hook_source("main", &starter_path))?;
        replace.insert(
            pkg_dir.join(HOOK_FILE).display().to_string(),
            main_hook.display().to_string().into(),
        );
    }
    let early = inits_before_starter(
        &listed,
        &starter_deps(&argv[0], cwd, cpu_profile.is_some()),
        &unhookable,
        &starter_path,
    );
    let placed = if in_module {
        "added to the main module by -overlay: this Go release's go command does not build a \
         package -overlay adds to GOROOT"
    } else {
        "added to GOROOT by -overlay"
    };
    notes.push(format!(
        "tracing starts in the init of {starter_path} ({placed}), which the build's {} \
         package(s) outside the module cache import: it runs after the std packages \
         runtime/trace needs and before any of them",
        hooked.len() + usize::from(named_files)
    ));
    if !early.is_empty() {
        let shown: Vec<&str> = early.iter().take(5).copied().collect();
        notes.push(format!(
            "not seen by the trace: the init of {} module-cache package(s) Go's init order may \
             run before the starter (they cannot import it: Go refuses overlays beneath \
             GOMODCACHE): {}{}",
            early.len(),
            shown.join(", "),
            if early.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        ));
    }
    let method = Method::OverlayInitPackage;
    let overlay = dir.path().join("overlay.json");
    std::fs::write(
        &overlay,
        serde_json::to_vec(&serde_json::json!({ "Replace": replace }))?,
    )?;
    let mut out = vec![
        argv[0].clone(),
        sub.to_string(),
        format!("-overlay={}", overlay.display()),
    ];
    out.extend(rest.iter().cloned());
    // Named .go files make the package of exactly those files: the hook must be named too.
    if pkgs.iter().all(|p| p.ends_with(".go")) && rest.len() >= flags_end + pkgs.len() {
        // Spelled in the files' own directory form: go wants them all in one directory.
        let named = Path::new(&pkgs[0])
            .parent()
            .unwrap_or(Path::new(""))
            .join(HOOK_FILE);
        out.insert(3 + flags_end + pkgs.len(), named.display().to_string());
    }
    // Short generations: a program that exits inside the window still leaves complete ones.
    // A GODEBUG setting: the caller appends it to the environment's GODEBUG.
    Ok(RuntimeTrace {
        argv: out,
        env: [
            (ENV_TRACE.into(), trace_file.display().to_string()),
            (ENV_WINDOW.into(), go_duration(window)),
            ("GODEBUG".into(), "traceadvanceperiod=10000000".into()),
        ]
        .into_iter()
        .chain(cpu_profile.map(|p| (ENV_CPUPROFILE.to_string(), p.display().to_string())))
        .collect(),
        trace_file,
        method,
        notes,
        stops_at_exit,
        _dir: Some(dir),
    })
}

/// Summarizes a trace file for the profile report (schema golat.trace/v1).
pub fn summarize_file(path: &Path, top: usize) -> anyhow::Result<Summary> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    summarize(
        std::io::BufReader::with_capacity(1 << 20, f),
        &SummarizeOptions { top },
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// CPU samples of a trace (`--cpuprofile-out`), before `main.main` was first seen and from
/// then on, as stored in `report.go["runtime_trace"]["cpu"]`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CpuSamples {
    /// Samples in the trace (pprof's CPU profiler takes one per 10 ms of CPU, 100 Hz).
    pub samples: u64,
    /// Samples before `main.main` was first seen (all of them when it never was).
    pub before_main: u64,
    /// Functions on CPU before `main.main`, most samples first.
    pub top_before_main: Vec<CpuRow>,
    /// Functions on CPU from `main.main` to the end of the trace.
    pub top_after_main: Vec<CpuRow>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CpuRow {
    /// The function on CPU (the sample's leaf frame).
    pub func: String,
    pub samples: u64,
    /// Its callers, nearest first (at most 4), so an init's loop names its init.
    pub callers: Vec<String>,
}

/// Reads the CPU samples of a trace, split at `main_ns` (ns after the trace's first event,
/// as [`Summary`] counts `first_main_main_ns`), with the `top` functions of each side.
pub fn cpu_samples(path: &Path, main_ns: Option<i64>, top: usize) -> anyhow::Result<CpuSamples> {
    use super::spec::EV_CPU_SAMPLE;
    use std::collections::HashMap;
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let at = |e: super::TraceError| anyhow::anyhow!("{}: {e}", path.display());
    let mut rd = super::Reader::from_file(f).map_err(at)?;
    let mut start: Option<i64> = None;
    let mut out = CpuSamples::default();
    // (before main?, leaf, callers) -> samples
    type Key = (bool, String, Vec<String>);
    let mut counts: HashMap<Key, u64> = HashMap::new();
    loop {
        let e = match rd.next_event() {
            Ok(Some(e)) => e,
            Ok(None) => break,
            // A cut trace keeps the samples read so far.
            Err(e) if e.is_truncation() => break,
            Err(e) => return Err(at(e)),
        };
        let t0 = *start.get_or_insert(e.time);
        if e.typ != EV_CPU_SAMPLE {
            continue;
        }
        out.samples += 1;
        let before = main_ns.is_none_or(|m| e.time.wrapping_sub(t0) < m);
        out.before_main += u64::from(before);
        let g = &rd.generation;
        let frames: Vec<String> = g
            .stack_pcs(e.args[0])
            .iter()
            .take(5)
            .map(|&pc| {
                g.frame(pc)
                    .map_or_else(|| format!("{pc:#x}"), |f| f.0.to_string())
            })
            .collect();
        let Some((leaf, callers)) = frames.split_first() else {
            continue;
        };
        *counts
            .entry((before, leaf.clone(), callers.to_vec()))
            .or_default() += 1;
    }
    let mut rows: Vec<(Key, u64)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for ((before, func, callers), samples) in rows {
        let list = if before {
            &mut out.top_before_main
        } else {
            &mut out.top_after_main
        };
        if list.len() < top {
            list.push(CpuRow {
                func,
                samples,
                callers,
            });
        }
    }
    Ok(out)
}

/// Most entries the report keeps per list of runtime-trace timeline events: a 1 s window of
/// a busy program can switch goroutines a million times, and the report must stay small.
pub const TIMELINE_CAP: usize = 5_000;

/// Reads the GC cycles, stop-the-world pauses, goroutine creations and goroutine run slices
/// of a trace for the timeline, counting them as the summary does (a truncated trace keeps
/// its complete generations, as `summarize` does), at most `cap` of each.
pub fn collect_timeline(path: &Path, cap: usize) -> anyhow::Result<RuntimeTimeline> {
    use super::event::{Resource, transition};
    use super::order::{GoState, NONE};
    use super::spec::{EV_GC_BEGIN, EV_GC_END, EV_READER_SYNC, EV_STW_BEGIN, EV_STW_END};

    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let at = |e: super::TraceError| anyhow::anyhow!("{}: {e}", path.display());
    let mut rd = super::Reader::from_file(f).map_err(at)?;
    let mut tl = RuntimeTimeline {
        cap,
        ..Default::default()
    };
    let mut start: Option<i64> = None;
    let mut end = 0i64;
    // Index of the open GC in `tl.gc` (None inside when it was dropped by the cap).
    let mut gc_open: Option<Option<usize>> = None;
    let mut stw_open: std::collections::HashMap<u64, Option<usize>> = Default::default();
    let mut running: std::collections::HashMap<u64, (i64, u64)> = Default::default();
    // The last run slice kept per P, to merge a goroutine's immediate resumptions.
    let mut last_on_p: std::collections::HashMap<u64, usize> = Default::default();
    const MERGE_GAP_NS: i64 = 10_000;
    // The lists as they were at the last generation boundary.
    let mut committed: Option<RuntimeTimeline> = None;
    fn push_capped<T>(v: &mut Vec<T>, cap: usize, dropped: &mut u64, item: T) -> Option<usize> {
        if v.len() < cap {
            v.push(item);
            Some(v.len() - 1)
        } else {
            *dropped += 1;
            None
        }
    }
    loop {
        let e = match rd.next_event() {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) if e.is_truncation() && committed.is_some() => {
                tl = committed.take().expect("checked");
                break;
            }
            Err(e) => return Err(at(e)),
        };
        let t0 = *start.get_or_insert(e.time);
        let rel = e.time.wrapping_sub(t0);
        end = rel;
        let g = &rd.generation;
        match e.typ {
            EV_READER_SYNC => {
                // Close nothing: ranges and run slices continue into the next generation.
                tl.trace_end_ns = rel;
                committed = Some(tl.clone());
                continue;
            }
            EV_GC_BEGIN => {
                let span = RuntimeSpan {
                    start_ns: rel,
                    dur_ns: 0,
                    kind: None,
                    unfinished: true,
                };
                gc_open = Some(push_capped(&mut tl.gc, cap, &mut tl.dropped.gc, span));
            }
            EV_GC_END => {
                if let Some(Some(i)) = gc_open.take() {
                    let s = &mut tl.gc[i];
                    s.dur_ns = rel - s.start_ns;
                    s.unfinished = false;
                }
            }
            EV_STW_BEGIN => {
                let span = RuntimeSpan {
                    start_ns: rel,
                    dur_ns: 0,
                    kind: Some(g.string(e.args[0]).to_string()),
                    unfinished: true,
                };
                let i = push_capped(&mut tl.stw, cap, &mut tl.dropped.stw, span);
                stw_open.insert(e.ctx.g, i);
            }
            EV_STW_END => {
                if let Some(Some(i)) = stw_open.remove(&e.ctx.g) {
                    let s = &mut tl.stw[i];
                    s.dur_ns = rel - s.start_ns;
                    s.unfinished = false;
                }
            }
            _ => {}
        }
        let Some(t) = transition(&e) else { continue };
        let Resource::Goroutine(id) = t.resource else {
            continue;
        };
        let (from, to) = (
            GoState::from_u64(t.from as u64),
            GoState::from_u64(t.to as u64),
        );
        if from == GoState::NotExist {
            let created = GoroutineCreated {
                at_ns: rel,
                goid: id,
                parent: (e.ctx.g != NONE).then_some(e.ctx.g),
            };
            if push_capped(&mut tl.created, cap, &mut tl.dropped.created, created).is_some()
                && t.stack != 0
            {
                let entry = g
                    .stack_pcs(t.stack)
                    .last()
                    .and_then(|pc| g.frame(*pc))
                    .map(|f| f.0.to_string());
                if let Some(entry) = entry {
                    tl.entries.insert(id, entry);
                }
            }
        }
        if to == GoState::Running {
            // A generation's status event repeats a running goroutine: keep its start.
            running.entry(id).or_insert((rel, e.ctx.p));
        } else if from == GoState::Running
            && let Some((s, p)) = running.remove(&id)
        {
            // Back on the same P right after it stopped: one slice, not thousands (GC's
            // sweep loop yields after every span).
            let merged = last_on_p.get(&p).and_then(|&i| {
                let r = tl.running.get_mut(i)?;
                (r.goid == id && s - (r.start_ns + r.dur_ns) <= MERGE_GAP_NS).then(|| {
                    r.dur_ns = rel - r.start_ns;
                    r.resumed += 1;
                })
            });
            if merged.is_none() {
                let run = GoroutineRun {
                    start_ns: s,
                    dur_ns: rel - s,
                    goid: id,
                    p: (p != NONE).then_some(p),
                    resumed: 0,
                };
                match push_capped(&mut tl.running, cap, &mut tl.dropped.running, run) {
                    Some(i) => {
                        last_on_p.insert(p, i);
                    }
                    None => {
                        last_on_p.remove(&p);
                    }
                }
            }
        }
    }
    if committed.is_none() || tl.trace_end_ns < end {
        tl.trace_end_ns = end;
    }
    for s in tl.gc.iter_mut().chain(tl.stw.iter_mut()) {
        if s.unfinished {
            s.dur_ns = tl.trace_end_ns - s.start_ns;
        }
    }
    // Goroutines still running when the trace stopped run to its end.
    let mut open: Vec<(u64, (i64, u64))> = running.into_iter().collect();
    open.sort_unstable();
    for (id, (s, p)) in open {
        if s <= tl.trace_end_ns {
            let run = GoroutineRun {
                start_ns: s,
                dur_ns: tl.trace_end_ns - s,
                goid: id,
                p: (p != NONE).then_some(p),
                resumed: 0,
            };
            push_capped(&mut tl.running, cap, &mut tl.dropped.running, run);
        }
    }
    tl.running.sort_by_key(|r| (r.start_ns, r.goid));
    tl.trace_start_ns = start.unwrap_or(0);
    Ok(tl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_hook_needs_exithook_with_run_on_failure_and_a_free_package_dir() {
        let root = tempfile::tempdir().unwrap();
        let why = exit_hook_unavailable(root.path()).expect("no Go tree");
        assert!(why.contains("hooks.go"), "{why}");
        let dir = root.path().join("src/internal/runtime/exithook");
        std::fs::create_dir_all(&dir).unwrap();
        // Go 1.22's shape had no exported Add with RunOnFailure.
        std::fs::write(
            dir.join("hooks.go"),
            "package exithook\nfunc Add(f func()) {}\n",
        )
        .unwrap();
        assert!(exit_hook_unavailable(root.path()).is_some());
        std::fs::write(
            dir.join("hooks.go"),
            "package exithook\ntype Hook struct { F func(); RunOnFailure bool }\nfunc Add(h Hook) {}\n",
        )
        .unwrap();
        assert_eq!(exit_hook_unavailable(root.path()), None);
        std::fs::create_dir_all(root.path().join("src").join(EXIT_PKG)).unwrap();
        let why = exit_hook_unavailable(root.path()).expect("the package dir is taken");
        assert!(why.contains("already exists"), "{why}");
    }

    #[test]
    fn cover_builds_are_refused_with_a_reason_but_a_program_flag_is_not_a_go_flag() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().join("t");
        let err = prepare(
            &args(&["go", "run", "-cover", "."]),
            tmp.path(),
            &t,
            Duration::from_secs(1),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("-cover"), "{err}");
        // `-cover` after the package belongs to the program: golat goes on (to go list,
        // which fails here in an empty directory, for its own reason).
        let err = prepare(
            &args(&["go", "run", ".", "-cover"]),
            tmp.path(),
            &t,
            Duration::from_secs(1),
            None,
        )
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(!err.contains("cover"), "{err}");
    }

    #[test]
    fn starter_registers_the_exit_hook_only_when_asked() {
        let with = starter_source(STARTER_NAME, true, false);
        let without = starter_source("main", false, false);
        assert!(with.contains(&format!("\t\"{EXIT_PKG}\"\n")));
        assert!(with.contains(&format!("\t{EXIT_PKG}.AtExit(stop)\n")));
        assert!(without.starts_with("// Package main is injected"));
        assert!(without.contains("package main\n"));
        assert!(!without.contains(EXIT_PKG));
    }

    /// The window-only starter (used when the exit hook is unavailable) is valid Go that
    /// traces: built and run with the machine's Go, it writes a complete trace after its
    /// window even though the program outlives it only by a sleep.
    #[test]
    fn window_only_starter_builds_and_traces() {
        let Ok(out) = Command::new("go").args(["env", "GOROOT"]).output() else {
            assert!(std::env::var("CI").is_err(), "go is required in CI");
            return;
        };
        assert!(out.status.success());
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("go.mod"), "module example.com/w\n\ngo 1.22\n").unwrap();
        std::fs::create_dir(dir.join(STARTER_NAME)).unwrap();
        std::fs::write(
            dir.join(STARTER_NAME).join("s.go"),
            starter_source(STARTER_NAME, false, true),
        )
        .unwrap();
        std::fs::write(
            dir.join("main.go"),
            format!(
                "package main\n\nimport (\n\t_ \"example.com/w/{STARTER_NAME}\"\n\t\"time\"\n)\n\n\
                 func main() {{ time.Sleep(300 * time.Millisecond) }}\n"
            ),
        )
        .unwrap();
        let trace = dir.join("w.trace");
        let st = Command::new("go")
            .args(["run", "."])
            .current_dir(dir)
            .env("GOTOOLCHAIN", "local")
            .env(ENV_TRACE, &trace)
            .env(ENV_WINDOW, "50ms")
            .status()
            .unwrap();
        assert!(st.success());
        let s = summarize_file(&trace, 5).unwrap();
        assert!(s.generations >= 1 && s.events > 10, "{s:?}");
        assert!(s.span.duration_ns < 250_000_000, "stopped by the window");
    }
}
