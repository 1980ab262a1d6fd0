//! Capturing a runtime trace of the program a `go run` / `go build` / `go test` command builds,
//! without editing its code: `prepare` rewrites the argv (an `-overlay` that adds a tiny
//! package which starts `runtime/trace` from its `init`, or `-trace` for `go test`) and says
//! which environment to set; `summarize_file` turns the trace into the report's summary.
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

/// Names the trace output file in the traced program's environment.
pub const ENV_TRACE: &str = "GOLAT_RUNTIME_TRACE";
/// How long the trace window lasts in the traced program (a Go duration, e.g. `1s`).
pub const ENV_WINDOW: &str = "GOLAT_RUNTIME_TRACE_WINDOW";
/// The directory name of the injected package inside the main module.
pub const PKG_DIR: &str = "golat_rtrace_0";

const STARTER: &str = r#"// Package golat_rtrace_0 is injected by golat through -overlay: it starts runtime/trace
// when GOLAT_RUNTIME_TRACE names an output file and stops after GOLAT_RUNTIME_TRACE_WINDOW.
package golat_rtrace_0

import (
	"os"
	"runtime/trace"
	"time"
)

func init() {
	out := os.Getenv("GOLAT_RUNTIME_TRACE")
	if out == "" {
		return
	}
	f, err := os.Create(out)
	if err != nil {
		return
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return
	}
	window, err := time.ParseDuration(os.Getenv("GOLAT_RUNTIME_TRACE_WINDOW"))
	if err != nil || window <= 0 {
		window = time.Second
	}
	go func() {
		time.Sleep(window)
		trace.Stop()
		f.Close()
	}()
}
"#;

/// How the trace is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Method {
    /// `-overlay` adds package `<module>/golat_rtrace_0`, imported by the main package.
    OverlayInitPackage,
    /// No module (e.g. `go run file.go` in GOPATH mode): the starter sits in package main,
    /// so it runs after every dependency's init.
    OverlayMainPackage,
    /// `go test -trace FILE`: the testing package traces from `m.Run` on.
    GoTestTraceFlag,
}

/// A prepared command: run `argv` with `env` added; the trace lands in `trace_file`.
#[derive(Debug)]
pub struct RuntimeTrace {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub trace_file: PathBuf,
    pub method: Method,
    /// Facts the report should state (what the trace covers, observer effect).
    pub notes: Vec<String>,
    /// Holds the overlay files; removed on drop.
    _dir: Option<tempfile::TempDir>,
}

fn go_duration(d: Duration) -> String {
    format!("{}us", d.as_micros().max(1))
}

/// Flags of go build/run/test that take a value (so the package arguments can be found).
const VALUE_FLAGS: &[&str] = &[
    "-C",
    "-p",
    "-covermode",
    "-coverpkg",
    "-asmflags",
    "-buildmode",
    "-buildvcs",
    "-compiler",
    "-gccgoflags",
    "-gcflags",
    "-installsuffix",
    "-ldflags",
    "-mod",
    "-modfile",
    "-overlay",
    "-pgo",
    "-pkgdir",
    "-tags",
    "-toolexec",
    "-o",
    "-exec",
    "-run",
    "-bench",
    "-count",
    "-cpu",
    "-parallel",
    "-timeout",
    "-trace",
    "-cpuprofile",
    "-memprofile",
    "-blockprofile",
    "-mutexprofile",
    "-coverprofile",
    "-outputdir",
    "-benchtime",
    "-list",
    "-skip",
    "-fuzz",
    "-fuzztime",
    "-fuzzminimizetime",
    "-shuffle",
    "-vet",
    "-json",
];

/// Splits `go run|build [flags] [packages|files] [-- args]` into (flags end index, packages).
fn package_args(args: &[String]) -> (usize, Vec<String>) {
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" || !a.starts_with('-') {
            break;
        }
        let name = a.trim_start_matches('-');
        let flag = format!("-{}", name.split('=').next().unwrap_or(""));
        if !a.contains('=') && VALUE_FLAGS.contains(&flag.as_str()) && flag != "-json" {
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

/// Prepares `argv` (`go run …`, `go build …`, `go test …`, to be run in directory `cwd`) to
/// write a runtime trace of the program it builds to `trace_file`, for `window` after the
/// program starts (or until it exits).
pub fn prepare(
    argv: &[String],
    cwd: &Path,
    trace_file: &Path,
    window: Duration,
) -> anyhow::Result<RuntimeTrace> {
    if argv.len() < 2 || Path::new(&argv[0]).file_name().is_none_or(|n| n != "go") {
        bail!(
            "--runtime-trace needs a go command (go run, go build or go test), got {:?}",
            argv.join(" ")
        );
    }
    let sub = argv[1].as_str();
    let rest = &argv[2..];
    let trace_file = if trace_file.is_absolute() {
        trace_file.to_path_buf()
    } else {
        cwd.join(trace_file)
    };
    match sub {
        "test" => {
            if rest
                .iter()
                .any(|a| a == "-trace" || a.starts_with("-trace=") || a == "--trace")
            {
                bail!("the go test command already has -trace; drop --runtime-trace or the flag");
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
                notes: vec![
                    "go test -trace traces from testing.(*M).Run: package init is not covered"
                        .into(),
                    "go test -trace works for one package at a time".into(),
                ],
                _dir: None,
            })
        }
        "run" | "build" => prepare_overlay(argv, cwd, sub, rest, trace_file, window),
        _ => bail!("--runtime-trace supports go run, go build and go test, not go {sub}"),
    }
}

fn prepare_overlay(
    argv: &[String],
    cwd: &Path,
    sub: &str,
    rest: &[String],
    trace_file: PathBuf,
    window: Duration,
) -> anyhow::Result<RuntimeTrace> {
    if rest
        .iter()
        .any(|a| a == "-overlay" || a.starts_with("-overlay="))
    {
        bail!("the go command already has -overlay; golat cannot add its own");
    }
    let (flags_end, pkgs) = package_args(rest);
    // Resolve the main package: its directory, module path and module directory.
    let mut list = Command::new(&argv[0]);
    list.current_dir(cwd)
        .arg("list")
        .arg("-f")
        .arg("{{.Name}}\t{{.Dir}}\t{{with .Module}}{{.Path}}\t{{.Dir}}{{end}}");
    // The flags that change what go list resolves; others (-o, -ldflags, …) are not its own.
    let flags = &rest[..flags_end];
    let mut i = 0;
    while i < flags.len() {
        let a = &flags[i];
        let name = a.trim_start_matches('-').split('=').next().unwrap_or("");
        let takes_value = !a.contains('=') && VALUE_FLAGS.contains(&format!("-{name}").as_str());
        if matches!(name, "tags" | "mod" | "modfile" | "C") {
            list.arg(a);
            if takes_value && i + 1 < flags.len() {
                list.arg(&flags[i + 1]);
            }
        }
        i += if takes_value { 2 } else { 1 };
    }
    list.args(&pkgs);
    let out = list.output().context("running go list")?;
    if !out.status.success() {
        bail!(
            "go list {}: {}",
            pkgs.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("main\t"))
        .with_context(|| format!("go list {} found no main package to trace", pkgs.join(" ")))?;
    let f: Vec<&str> = line.split('\t').collect();
    let pkg_dir = PathBuf::from(f[1]);
    let module = f.get(2).filter(|s| !s.is_empty()).map(|s| s.to_string());
    let mod_dir = f.get(3).map(PathBuf::from);
    let dir = tempfile::Builder::new().prefix("golat-rtrace-").tempdir()?;
    let starter = dir.path().join("starter.go");
    let hook = dir.path().join("hook.go");
    let mut replace = serde_json::Map::new();
    let method;
    let mut notes = vec![
        "runtime/trace allocates ≈2 MiB of heap when it starts, which can pull the first GC forward".to_string(),
    ];
    match (module, mod_dir) {
        (Some(module), Some(mod_dir)) => {
            std::fs::write(&starter, STARTER)?;
            std::fs::write(
                &hook,
                format!("package main\n\nimport _ \"{module}/{PKG_DIR}\"\n"),
            )?;
            replace.insert(
                mod_dir
                    .join(PKG_DIR)
                    .join("golat_rtrace.go")
                    .display()
                    .to_string(),
                starter.display().to_string().into(),
            );
            method = Method::OverlayInitPackage;
            notes.push(format!(
                "tracing starts in the init of {module}/{PKG_DIR}, after its std dependencies \
                 (runtime/trace, os, time) and before packages later in import-path order"
            ));
        }
        _ => {
            let body = STARTER.replace("package golat_rtrace_0", "package main");
            std::fs::write(&hook, body)?;
            method = Method::OverlayMainPackage;
            notes.push("no module: the starter is in package main, so it runs after all dependencies' init".into());
        }
    }
    replace.insert(
        pkg_dir
            .join("zz_golat_rtrace_hook.go")
            .display()
            .to_string(),
        hook.display().to_string().into(),
    );
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
    if sub == "build" {
        notes.push(format!(
            "the built binary traces when run with {ENV_TRACE}=FILE"
        ));
    }
    // Short generations: a program that exits inside the window still leaves complete ones.
    let mut godebug = std::env::var("GODEBUG").unwrap_or_default();
    if !godebug.is_empty() {
        godebug.push(',');
    }
    godebug.push_str("traceadvanceperiod=10000000");
    Ok(RuntimeTrace {
        argv: out,
        env: vec![
            (ENV_TRACE.into(), trace_file.display().to_string()),
            (ENV_WINDOW.into(), go_duration(window)),
            ("GODEBUG".into(), godebug),
        ],
        trace_file,
        method,
        notes,
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
