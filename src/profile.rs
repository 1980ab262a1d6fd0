//! `golat profile`: turns the command line into a traced run and a report.
//!
//! Reads like a table of contents: resolve the command, prepare its environment, calibrate,
//! trace, fold events into a report, analyse, render, and exit with the command's code.

use std::ffi::{CString, OsStr, OsString};
use std::fmt::Write as _;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::{InitTraceScope, ProfileArgs};
use crate::gosrc::{debugtrace, goargs};
use crate::model::{self, Figure, Report, RunBuilder, RunsSummary};
use crate::tracer::{self, InitCapture, InitScope, StartError};

/// Exit code when the command was found but could not be executed (as shells use it).
pub const EXIT_CANNOT_EXECUTE: u8 = 126;
/// Exit code when the command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

/// Validated options: the raw flags turned once into what the run needs.
pub struct Options {
    pub command: Vec<OsString>,
    pub program: PathBuf,
    pub init: InitCapture,
    /// Why init chains are not captured although the user did not turn them off.
    pub init_note: Option<String>,
    pub init_scope: InitScope,
    /// Which programs get startup-phase breakpoints (`--startup`).
    pub phases: Option<InitScope>,
    pub exit_stops_all: bool,
    pub json: Option<PathBuf>,
    pub events: Option<PathBuf>,
    /// `--json-calls`: calls the JSON report keeps at most (0: all).
    pub json_calls: usize,
    pub timeline: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub quiet: bool,
    pub top: usize,
    pub runs: usize,
    pub cold: bool,
    pub debug_trace: bool,
    /// Have the go command write its action graph (`--no-build-cache` turns it off).
    pub build_cache: bool,
    /// `--explain`: capture the inputs of every package's action ID.
    pub explain: bool,
    /// --runtime-trace with its window.
    pub runtime_trace: Option<std::time::Duration>,
    /// Where to keep the raw runtime trace (`--runtime-trace-out`).
    pub runtime_trace_out: Option<PathBuf>,
    /// `--cpuprofile-out`, made absolute (the program writes it from its own directory).
    pub cpuprofile_out: Option<PathBuf>,
    pub stall: Option<std::time::Duration>,
    pub budget_ms: Option<f64>,
    pub recalibrate: bool,
    /// The mount table when golat started (golat's own namespace).
    pub mounts: crate::fsinfo::MountTable,
    /// PATH entries golat's own lookup of the command looked past (they did not answer).
    pub lookup_warnings: Vec<String>,
    /// `--slow`, resolved.
    pub slow: Vec<tracer::SlowDir>,
}

impl Options {
    pub fn from_args(args: &ProfileArgs) -> Result<Options, u8> {
        let command: Vec<OsString> = args.command.clone();
        let mounts = crate::fsinfo::MountTable::load().unwrap_or_default();
        let deadline =
            std::time::Duration::from_secs_f64(if args.stall > 0.0 && args.stall.is_finite() {
                args.stall
            } else {
                5.0
            });
        let (found, lookup_warnings) = find_program(&command[0], &mounts, deadline);
        let Some(program) = found else {
            eprintln!(
                "golat: command not found: {} (searched PATH)",
                command[0].to_string_lossy()
            );
            return Err(EXIT_NOT_FOUND);
        };
        // Found out before a long build, not after it: where the outputs cannot go.
        let outputs = [
            ("--json", &args.json),
            ("--events", &args.events),
            ("--timeline", &args.timeline),
            ("-o", &args.output),
        ];
        for (flag, path) in outputs {
            if let Some(why) = path.as_deref().and_then(unwritable_reason) {
                eprintln!("golat: cannot write {flag} {}: {why}", path_display(path));
                return Err(crate::EXIT_GOLAT_FAILED);
            }
        }
        let budget_ms = match args.budget.as_deref().map(parse_duration_ms) {
            Some(Err(e)) => {
                eprintln!("golat: --budget: {e}");
                return Err(2);
            }
            Some(Ok(ms)) => Some(ms),
            None => None,
        };
        let runtime_trace = if args.runtime_trace {
            match parse_duration_ms(&args.runtime_trace_window) {
                Ok(ms) if ms > 0.0 => Some(std::time::Duration::from_secs_f64(ms / 1000.0)),
                Ok(_) => {
                    eprintln!("golat: --runtime-trace-window must be positive");
                    return Err(2);
                }
                Err(e) => {
                    eprintln!("golat: --runtime-trace-window: {e}");
                    return Err(2);
                }
            }
        } else {
            None
        };
        let mut slow = Vec::new();
        for spec in &args.slow {
            match parse_slow(spec, &program) {
                Ok(s) => slow.push(s),
                Err(e) => {
                    eprintln!("golat: --slow {spec}: {e}");
                    return Err(2);
                }
            }
        }
        let user_godebug = std::env::var("GODEBUG").unwrap_or_default();
        // Under --runtime-trace, init chains only when asked for: their capture stops the
        // program at each init line, inside the startup the trace measures.
        let scope = args.inittrace.unwrap_or(if args.runtime_trace {
            InitTraceScope::Off
        } else {
            InitTraceScope::User
        });
        let off = args.no_inittrace || scope == InitTraceScope::Off;
        let mut init_note = None;
        if args.runtime_trace && args.inittrace.is_none() && !args.no_inittrace {
            init_note = Some(
                "init chains not captured: with --runtime-trace they are off unless --inittrace \
                 user is given (their capture stops the program at each init and would stretch \
                 the startup the trace measures)"
                    .to_string(),
            );
        }
        let init_scope = if scope == InitTraceScope::All {
            InitScope::All
        } else {
            InitScope::User
        };
        let init = if off {
            InitCapture::Off
        } else if godebug_has_inittrace(&user_godebug) {
            InitCapture::Observe
        } else if let Some(sub @ ("env" | "bug")) = goargs::subcommand(&command) {
            // These print GODEBUG from the environment: golat's inittrace=1 would show up in
            // the command's own output.
            init_note = Some(format!(
                "init chains not captured: `go {sub}` prints GODEBUG, so golat leaves it unchanged"
            ));
            InitCapture::Off
        } else {
            InitCapture::Hide
        };
        Ok(Options {
            command,
            program,
            init,
            init_note,
            init_scope,
            phases: match args.startup {
                InitTraceScope::Off => None,
                InitTraceScope::User => Some(InitScope::User),
                InitTraceScope::All => Some(InitScope::All),
            },
            exit_stops_all: args.exact,
            json: args.json.clone(),
            events: args.events.clone(),
            json_calls: args.json_calls,
            timeline: args.timeline.clone(),
            output: args.output.clone(),
            quiet: args.quiet,
            top: args.top,
            runs: args.runs.max(1),
            debug_trace: !args.no_debug_trace,
            build_cache: !args.no_build_cache,
            explain: args.explain,
            runtime_trace,
            runtime_trace_out: args.runtime_trace_out.clone(),
            cpuprofile_out: args.cpuprofile_out.as_ref().map(|p| {
                std::env::current_dir()
                    .map(|d| d.join(p))
                    .unwrap_or_else(|_| p.clone())
            }),
            stall: (args.stall > 0.0 && args.stall.is_finite())
                .then(|| std::time::Duration::from_secs_f64(args.stall)),
            cold: args.cold,
            budget_ms,
            recalibrate: args.recalibrate,
            mounts,
            lookup_warnings,
            slow,
        })
    }
}

/// `DIR=DURATION` for `--slow`: DIR absolute (made so against the current directory, not
/// resolved: the tracer matches the paths calls name), or a go env directory name, looked
/// up by running `go env NAME` with the go the command would run (or the one on PATH).
pub fn parse_slow(spec: &str, program: &Path) -> Result<tracer::SlowDir, String> {
    let (dir, duration) = spec
        .rsplit_once('=')
        .ok_or("expected DIR=DURATION, e.g. GOMODCACHE=2ms or /mnt/src=500us")?;
    let ms = parse_duration_ms(duration)?;
    if ms.is_nan() || ms <= 0.0 || ms > 60_000.0 {
        return Err(format!(
            "the delay must be above 0 and at most 60s, not {duration:?}"
        ));
    }
    let dir = match dir {
        "GOMODCACHE" | "GOCACHE" | "GOROOT" | "GOPATH" | "GOBIN" => {
            let go = if program.file_name().is_some_and(|n| n == "go") {
                program.to_path_buf()
            } else {
                PathBuf::from("go")
            };
            // go reads GOROOT and the go env file, either of which may sit on a hung mount.
            let name = dir.to_string();
            let go_for_probe = go.clone();
            let out = crate::fsinfo::with_timeout(std::time::Duration::from_secs(10), move || {
                std::process::Command::new(&go_for_probe)
                    .args(["env", &name])
                    .stdin(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .output()
            })
            .map_err(|e| format!("`{} env {dir}` {e}", go.display()))?
            .map_err(|e| format!("cannot run `{} env {dir}`: {e}", go.display()))?;
            let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
            // GOPATH may list several: the first holds the module cache and bin.
            let first = value.split(':').next().unwrap_or_default().to_string();
            if !out.status.success() || first.is_empty() {
                return Err(format!("`go env {dir}` gave no directory"));
            }
            PathBuf::from(first)
        }
        "" => return Err("the directory is empty".into()),
        d => {
            let p = PathBuf::from(d);
            if p.is_absolute() {
                p
            } else if !p.is_dir() {
                // Most likely a mistyped variable name (GOMODCACH=2ms), not a directory the
                // command will create.
                return Err(format!(
                    "{d} is neither a directory here nor one of GOMODCACHE, GOCACHE, GOROOT, GOPATH, GOBIN"
                ));
            } else {
                std::env::current_dir()
                    .map_err(|e| format!("current directory: {e}"))?
                    .join(p)
            }
        }
    };
    let dir = crate::gosrc::goenv::clean(&dir);
    let mut bytes = dir.as_os_str().as_encoded_bytes().to_vec();
    while bytes.len() > 1 && bytes.ends_with(b"/") {
        bytes.pop();
    }
    Ok(tracer::SlowDir {
        dir: bytes,
        delay_ns: (ms * 1e6).round() as u64,
    })
}

fn path_display(path: &Option<PathBuf>) -> String {
    path.as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Why an output file could not be written at the end of the run, judged without creating
/// it: a directory in its place, or a parent directory that is missing.
pub fn unwritable_reason(path: &Path) -> Option<String> {
    if path.is_dir() {
        return Some("it is a directory".into());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Some(format!("directory {} does not exist", parent.display()));
    }
    None
}

/// True when GODEBUG already turns inittrace on (the last setting of a key wins).
pub fn godebug_has_inittrace(godebug: &str) -> bool {
    tracer::godebug_inittrace_on(godebug.as_bytes())
}

/// The environment for the command: the user's, with `inittrace=1` appended to GODEBUG
/// when golat captures init chains (theirs is kept; a later key wins in GODEBUG).
/// With `InitCapture::Hide`, golat's GODEBUG (the user's settings plus `inittrace=1`) sits
/// next to the user's own under a same-length name, `GODEBUX`, and the tracer swaps the two
/// names at each exec (`Tracer::steer_inittrace`): a program outside the Go toolchain runs
/// with golat's as its GODEBUG, the go command and its tools with the user's, unchanged
/// (the go command keys its test cache on GODEBUG: `go test` under golat still finds the
/// results native runs cached). `inittrace_on` says which name the first program gets.
///
/// With `explain`, the GODEBUG the go command gets also holds `gocachehash=1` (the user's
/// settings first): the go command prints its action IDs' inputs, which the tracer keeps
/// from the user's stderr. Programs outside the toolchain get golat's or the user's GODEBUG
/// without it.
fn command_env(
    init: InitCapture,
    inittrace_on: bool,
    gocache: Option<&Path>,
    explain: bool,
) -> Vec<CString> {
    let mut env: Vec<CString> = Vec::new();
    let mut user_godebug: Option<Vec<u8>> = None;
    if let Some(dir) = gocache {
        let mut kv = b"GOCACHE=".to_vec();
        kv.extend_from_slice(dir.as_os_str().as_bytes());
        env.push(CString::new(kv).expect("temp dir path has no NUL"));
    }
    for (k, v) in std::env::vars_os() {
        if gocache.is_some() && k == "GOCACHE" {
            continue;
        }
        if k == "GODEBUG" && (init == InitCapture::Hide || explain) {
            user_godebug = Some(v.into_vec());
            continue;
        }
        let mut kv = k.clone().into_vec();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        if let Ok(c) = CString::new(kv) {
            env.push(c);
        }
    }
    let with_cachehash = |value: Option<&Vec<u8>>| -> Vec<u8> {
        let mut v = value.filter(|u| !u.is_empty()).cloned().unwrap_or_default();
        if !v.is_empty() {
            v.push(b',');
        }
        v.extend_from_slice(b"gocachehash=1");
        v
    };
    if explain && init != InitCapture::Hide {
        let value = with_cachehash(user_godebug.as_ref());
        if let Ok(c) = CString::new([b"GODEBUG=".as_slice(), &value].concat()) {
            env.push(c);
        }
        return env;
    }
    if explain {
        // The toolchain's GODEBUG is the user's one: give it gocachehash there.
        user_godebug = Some(with_cachehash(user_godebug.as_ref()));
    }
    if init == InitCapture::Hide {
        let (ours_name, user_name): (&[u8], &[u8]) = if inittrace_on {
            (b"GODEBUG=", b"GODEBUX=")
        } else {
            (b"GODEBUX=", b"GODEBUG=")
        };
        let mut ours = ours_name.to_vec();
        // Programs get the user's settings and inittrace, without golat's gocachehash.
        let user_own = std::env::var_os("GODEBUG").map(|v| v.into_vec());
        if let Some(user) = user_own.as_ref().filter(|u| !u.is_empty()) {
            ours.extend_from_slice(user);
            ours.push(b',');
        }
        ours.extend_from_slice(b"inittrace=1");
        if let Some(c) = user_godebug.and_then(|u| CString::new([user_name, &u].concat()).ok()) {
            env.push(c);
        }
        if let Ok(c) = CString::new(ours) {
            env.push(c);
        }
    }
    env
}

/// Sets `key=value` in an envp; GODEBUG settings are appended to the existing value (the
/// Go runtime reads only the first GODEBUG in the environment).
fn set_env(envp: &mut Vec<CString>, key: &str, value: &str) -> anyhow::Result<()> {
    let prefix = format!("{key}=");
    // golat's own GODEBUG may sit under GODEBUX (see `command_env`): a GODEBUG setting goes
    // to both, so the program gets it whichever name it runs with.
    let names: &[&str] = if key == "GODEBUG" {
        &["GODEBUG=", "GODEBUX="]
    } else {
        &[prefix.as_str()]
    };
    let mut found = false;
    for kv in envp.iter_mut() {
        let Some(name) = names
            .iter()
            .find(|n| kv.as_bytes().starts_with(n.as_bytes()))
        else {
            continue;
        };
        found = true;
        let entry = if key == "GODEBUG" && kv.as_bytes().len() > name.len() {
            format!("{},{value}", kv.to_string_lossy())
        } else {
            format!("{name}{value}")
        };
        *kv = CString::new(entry).context("environment value contains a NUL byte")?;
    }
    if !found {
        envp.push(
            CString::new(format!("{prefix}{value}"))
                .context("environment value contains a NUL byte")?,
        );
    }
    Ok(())
}

/// execvp's lookup: a name with a slash is used as is, else the first executable regular
/// file in PATH, or failing that the first regular file (empty entries mean the current
/// directory, as execvp treats them).
///
/// A PATH entry on a network, FUSE or automount filesystem is probed on a worker thread
/// with `deadline`: one that does not answer is named (returned as a warning, and printed
/// at once) and looked past, so golat starts the command instead of hanging before it; the
/// command's own lookups there are traced, and the stall watchdog names them.
pub fn find_program(
    name: &OsStr,
    mounts: &crate::fsinfo::MountTable,
    deadline: std::time::Duration,
) -> (Option<PathBuf>, Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    if name.as_bytes().contains(&b'/') {
        return (Some(PathBuf::from(name)), Vec::new());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let candidates: Vec<PathBuf> = std::env::split_paths(&path)
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                PathBuf::from(".").join(name)
            } else {
                dir.join(name)
            }
        })
        .collect();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let mut warnings = Vec::new();
    let probe = |p: &Path| {
        std::fs::metadata(p).map_or((false, false), |m| {
            (
                m.is_file(),
                m.is_file() && m.permissions().mode() & 0o111 != 0,
            )
        })
    };
    // Like execvp: the first executable wins; a file that is there but not executable makes
    // it EACCES (126, "Permission denied"), not "not found".
    let mut first_file = None;
    let mut found = None;
    for (i, p) in candidates.iter().enumerate() {
        let abs = crate::fsinfo::lexical_clean(p, &cwd);
        let mount = mounts.lookup(&abs);
        let remote = mount.is_some_and(|m| m.class() != crate::fsinfo::FsClass::Local);
        let owned = p.clone();
        let (is_file, is_exec) =
            match crate::fsinfo::probe_with_deadline(remote, deadline, move || probe(&owned)) {
                Ok(r) => r,
                Err(_) => {
                    let m = mount.expect("only a remote mount's probe has a deadline");
                    let text = format!(
                        "PATH entry #{} {} did not answer a stat of {} within {:.1} s ({} {} on \
                         {}); golat looked past it (run natively, the command would wait there; \
                         golat's stat may still be waiting, and a lookup of the same name by \
                         the command then waits for it too)",
                        i + 1,
                        p.parent().unwrap_or(p).display(),
                        p.display(),
                        deadline.as_secs_f64(),
                        m.fs_type,
                        m.source,
                        m.mount_point
                    );
                    eprintln!("golat: {text}");
                    warnings.push(text);
                    continue;
                }
            };
        if is_exec {
            found = Some(p.clone());
            break;
        }
        if is_file && first_file.is_none() {
            first_file = Some(p.clone());
        }
    }
    let found = found.or(first_file);
    (found, warnings)
}

fn cstring(s: &OsStr) -> anyhow::Result<CString> {
    CString::new(s.as_bytes()).with_context(|| format!("argument {s:?} contains a NUL byte"))
}

pub fn run(args: &ProfileArgs) -> anyhow::Result<u8> {
    let opts = match Options::from_args(args) {
        Ok(o) => o,
        Err(code) => return Ok(code),
    };
    let cmd = tracer::Command {
        program: cstring(opts.program.as_os_str())?,
        argv: opts
            .command
            .iter()
            .map(|a| cstring(a))
            .collect::<anyhow::Result<_>>()?,
        envp: Vec::new(),
    };
    let mut reports = Vec::new();
    let mut cleanup = Cleanup::default();
    // The runtime-trace table of the last run (its summary is not re-readable from JSON).
    for _ in 0..opts.runs {
        // The previous run's files are gone before this one starts.
        cleanup.wait();
        // --cold: a fresh GOCACHE per run, removed when the run is done.
        let cache = if opts.cold {
            Some(
                tempfile::Builder::new()
                    .prefix("golat-gocache-")
                    .tempdir()?,
            )
        } else {
            None
        };
        // The go command's own phases: a fresh -debug-trace file per run, in a directory
        // golat owns and removes (made only when a go command or a runtime trace needs it).
        let trace_tmp =
            if opts.runtime_trace.is_some() || is_go_command(&opts) || wants_graph(&opts) {
                Some(
                    tempfile::Builder::new()
                        .prefix("golat-debug-trace-")
                        .tempdir()?,
                )
            } else {
                None
            };
        let trace_dir = trace_tmp.as_ref().map(|d| d.path());
        // --runtime-trace rewrites the go command first (-overlay or -trace), then
        // -debug-trace is planned on top of that argv.
        let runtime = match opts.runtime_trace {
            Some(window) => match prepare_runtime_trace(
                &opts,
                trace_dir.expect("made for --runtime-trace"),
                window,
            ) {
                Ok(rt) => Some(rt),
                Err(e) if e.is::<crate::exectrace::overlay::UsageError>() => {
                    eprintln!("golat: {e}");
                    return Ok(2);
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        let base_argv: Vec<OsString> = match &runtime {
            Some(rt) => rt.argv.iter().map(OsString::from).collect(),
            None => opts.command.clone(),
        };
        let (plan, plan_warning) = match trace_dir {
            Some(dir) => debug_trace_plan(&opts, &base_argv, &dir.join("go.trace.json")),
            None => (None, None),
        };
        let argv = match &plan {
            Some(goargs::Plan::Rewrite { argv, .. }) => argv,
            _ => &base_argv,
        };
        // The action graph is planned on top of the -debug-trace argv, by the same rules.
        let graph_plan = match trace_dir {
            Some(dir) if wants_graph(&opts) => {
                actiongraph_plan(&opts, argv, &dir.join("actiongraph.json"))
            }
            _ => None,
        };
        let argv = match &graph_plan {
            Some(goargs::Plan::Rewrite { argv, .. }) => argv,
            _ => argv,
        };
        let inittrace_on = opts.init_scope == InitScope::All
            || !tracer::spared_from_inittrace(&opts.program.to_string_lossy());
        let mut envp = command_env(
            opts.init,
            inittrace_on,
            cache.as_ref().map(|d| d.path()),
            opts.explain,
        );
        for (k, v) in runtime.iter().flat_map(|rt| rt.env.iter()) {
            set_env(&mut envp, k, v)?;
        }
        let cmd = tracer::Command {
            envp,
            argv: argv
                .iter()
                .map(|a| cstring(a))
                .collect::<anyhow::Result<_>>()?,
            ..cmd.clone()
        };
        let (mut report, exec_error, clock) = record(&opts, &cmd)?;
        report
            .warnings
            .extend(opts.lookup_warnings.iter().map(|message| model::Warning {
                kind: "path_lookup".into(),
                message: message.clone(),
            }));
        attach_debug_trace(&mut report, plan.as_ref());
        attach_build_cache(&mut report, graph_plan.as_ref(), opts.cold, opts.explain);
        if let Some(message) = plan_warning {
            report.warnings.push(model::Warning {
                kind: "debug_trace".into(),
                message,
            });
        }
        if let Some(note) = &opts.init_note {
            report.warnings.push(model::Warning {
                kind: "inittrace".into(),
                message: note.clone(),
            });
        }
        if let Some(rt) = &runtime {
            attach_runtime_trace(&mut report, rt, opts.top, clock);
            if let Some(out) = &opts.runtime_trace_out {
                keep_runtime_trace(&mut report, &rt.trace_file, out);
            }
        }
        if let Some(errno) = exec_error {
            let err = std::io::Error::from_raw_os_error(errno);
            eprintln!("golat: cannot execute {}: {err}", opts.program.display());
            return Ok(if errno == libc::ENOENT {
                EXIT_NOT_FOUND
            } else {
                EXIT_CANNOT_EXECUTE
            });
        }
        cleanup.remove([cache, trace_tmp]);
        let failed = report.exit_code != 0;
        reports.push(report);
        if failed {
            // A failing run ends the series: its report is the one that matters.
            break;
        }
    }
    // Not dropped: freeing thousands of calls and their analyses took 0.5 ms after the
    // report was written, and the process is about to exit (its memory goes with it).
    let mut report = std::mem::ManuallyDrop::new(summarize_runs(reports, opts.cold));
    // Nothing reads the analysis of a quiet run without --json or --timeline.
    let shown = !opts.quiet || opts.json.is_some() || opts.timeline.is_some();
    if shown {
        crate::analyze::analyze(&mut report);
    }
    emit(&opts, &mut report)?;
    if report.exit_code != 0 {
        return Ok(exit_byte(report.exit_code));
    }
    if let Some(budget_ms) = opts.budget_ms {
        let median = report
            .runs
            .as_ref()
            .and_then(|r| r.figures.iter().find(|f| f.name == "wall_ms"))
            .map_or(report.wall_ms, |f| f.median);
        if median > budget_ms {
            eprintln!("golat: over budget: median wall {median:.1} ms > budget {budget_ms:.1} ms");
            return Ok(EXIT_OVER_BUDGET);
        }
    }
    Ok(0)
}

/// Removes a run's temporary directories (the -debug-trace and action-graph files, a
/// `--cold` GOCACHE) on a thread of their own while golat analyses the run and writes its
/// report, instead of before: the command has exited, and on a local disk that unlinks
/// with discard the removal took 0.6-1.4 ms of golat's wall time after every go command
/// (a fresh GOCACHE: far more). Waited for before the next run starts and before golat
/// exits (on drop), so no run is measured beside it and nothing is left behind.
#[derive(Default)]
struct Cleanup(Option<std::thread::JoinHandle<()>>);

impl Cleanup {
    fn remove<const N: usize>(&mut self, dirs: [Option<tempfile::TempDir>; N]) {
        self.wait();
        if dirs.iter().all(Option::is_none) {
            return;
        }
        // Without a thread (a process limit) the closure, and with it the directories, is
        // dropped here, synchronously.
        self.0 = std::thread::Builder::new()
            .name("golat-cleanup".into())
            .spawn(move || drop(dirs))
            .ok();
    }

    fn wait(&mut self) {
        if let Some(handle) = self.0.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.wait();
    }
}

/// The go command's version: from `VERSION` in the GOROOT the binary sits in or, when
/// `program` is not the toolchain's own binary (an asdf or mise shim script), from the go
/// command itself (`go env -json GOVERSION` with GOTOOLCHAIN=local, 5 s deadline). Asked
/// before tracing starts, so it is not in the measured run.
fn go_version(program: &Path) -> Option<goargs::GoVersion> {
    goargs::GoVersion::of_go_binary(program).or_else(|| {
        let env: std::collections::BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let vars = crate::audit::env::go_env_json(program, &env, &["GOVERSION"]).ok()?;
        goargs::GoVersion::parse(vars.get("GOVERSION")?)
    })
}

/// Decides whether (and how) the go command writes its -debug-trace, from its version and
/// argv. `None` when the command is not a go command or --no-debug-trace was given; the
/// warning says why phases will be missing when the go command should have had them.
fn debug_trace_plan(
    opts: &Options,
    argv: &[OsString],
    trace: &Path,
) -> (Option<goargs::Plan>, Option<String>) {
    if !is_go_command(opts) {
        return (None, None);
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let goflags = std::env::var_os("GOFLAGS");
    let plan = goargs::plan(
        &goargs::GoInvocation {
            argv,
            version: go_version(&opts.program),
            goflags: goflags.as_deref(),
            cwd: &cwd,
        },
        trace,
    );
    match plan {
        goargs::Plan::Skip { reason } if reason == goargs::UNKNOWN_VERSION => (
            None,
            Some(format!(
                "go command phases not captured: cannot tell which Go release {} is (not in \
                 a GOROOT, and `go env GOVERSION` did not say), so golat did not add \
                 -debug-trace",
                opts.program.display()
            )),
        ),
        goargs::Plan::Skip { .. } => (None, None),
        other => (Some(other), None),
    }
}

/// Decides whether (and how) the go command writes its action graph; `None` for anything
/// but a go build, install, run, test or vet of a release golat passes debug flags to.
fn actiongraph_plan(opts: &Options, argv: &[OsString], file: &Path) -> Option<goargs::Plan> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let goflags = std::env::var_os("GOFLAGS");
    match goargs::plan_actiongraph(
        &goargs::GoInvocation {
            argv,
            version: go_version(&opts.program),
            goflags: goflags.as_deref(),
            cwd: &cwd,
        },
        file,
    ) {
        goargs::Plan::Skip { .. } => None,
        other => Some(other),
    }
}

/// Whether golat adds -debug-actiongraph: the command is the go command and the user did
/// not turn it off.
fn wants_graph(opts: &Options) -> bool {
    opts.build_cache && opts.program.file_name() == Some(OsStr::new("go"))
}

/// Whether golat adds -debug-trace: the command is the go command and the user did not
/// turn it off.
fn is_go_command(opts: &Options) -> bool {
    opts.debug_trace && opts.program.file_name() == Some(OsStr::new("go"))
}

/// Rewrites the go command so the program it builds writes a runtime trace of its start.
fn prepare_runtime_trace(
    opts: &Options,
    dir: &Path,
    window: std::time::Duration,
) -> anyhow::Result<crate::exectrace::overlay::RuntimeTrace> {
    let argv: Vec<String> = opts
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cwd = std::env::current_dir().context("current directory")?;
    crate::exectrace::overlay::prepare(
        &argv,
        &cwd,
        &dir.join("runtime.trace"),
        window,
        opts.cpuprofile_out.as_deref(),
    )
}

/// The process that wrote the runtime trace: the one that created the trace file.
fn trace_writer_pid(report: &Report, trace_file: &Path) -> Option<i32> {
    let canonical = std::fs::canonicalize(trace_file).ok();
    report
        .calls
        .iter()
        .find(|c| {
            c.errno.is_none()
                && c.flags.as_deref().is_some_and(|f| f.contains("O_CREAT"))
                && c.path.as_deref().is_some_and(|p| {
                    Path::new(p) == trace_file || canonical.as_deref() == Some(Path::new(p))
                })
        })
        .map(|c| c.pid)
}

/// Copies the raw runtime trace to `out` (`--runtime-trace-out`); a failure is a warning,
/// not a lost report.
fn keep_runtime_trace(report: &mut Report, trace: &Path, out: &Path) {
    let result = if trace.exists() {
        std::fs::copy(trace, out).map(|_| ())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the program wrote no trace",
        ))
    };
    if let Err(e) = result {
        report.warnings.push(model::Warning {
            kind: "runtime_trace".into(),
            message: format!("--runtime-trace-out {}: {e}", out.display()),
        });
    }
}

/// Summarizes the program's runtime trace into `report.go["runtime_trace"]` (with the
/// events the timeline draws, placed by `clock`); the report's renderer prints it.
fn attach_runtime_trace(
    report: &mut Report,
    rt: &crate::exectrace::overlay::RuntimeTrace,
    top: usize,
    clock: Option<model::ClockAnchor>,
) {
    use crate::exectrace::overlay;
    match overlay::summarize_file(&rt.trace_file, top) {
        Ok(summary) => {
            let mut value = serde_json::json!({
                "method": rt.method,
                "stops_at_exit": rt.stops_at_exit,
                "notes": rt.notes,
                "summary": summary,
            });
            match overlay::collect_timeline(&rt.trace_file, overlay::TIMELINE_CAP) {
                Ok(mut tl) => {
                    tl.pid = trace_writer_pid(report, &rt.trace_file);
                    tl.clock = clock;
                    value["timeline"] = serde_json::to_value(&tl).unwrap_or_default();
                }
                Err(e) => report.warnings.push(model::Warning {
                    kind: "runtime_trace".into(),
                    message: format!("runtime trace events left off the timeline: {e:#}"),
                }),
            }
            if rt.env.iter().any(|(k, _)| k == overlay::ENV_CPUPROFILE) {
                match overlay::cpu_samples(&rt.trace_file, summary.main.first_main_main_ns, top) {
                    Ok(cpu) => value["cpu"] = serde_json::to_value(&cpu).unwrap_or_default(),
                    Err(e) => report.warnings.push(model::Warning {
                        kind: "runtime_trace".into(),
                        message: format!("CPU samples of the runtime trace not read: {e:#}"),
                    }),
                }
            }
            report.go.insert("runtime_trace".into(), value);
        }
        Err(e) => {
            report.warnings.push(model::Warning {
                kind: "runtime_trace".into(),
                message: format!("no runtime trace of the program: {e:#}"),
            });
        }
    }
}

/// Reads the go command's -debug-trace into `report.go["debug_trace"]`, or says why not.
fn attach_debug_trace(report: &mut Report, plan: Option<&goargs::Plan>) {
    let path = match plan {
        Some(goargs::Plan::Rewrite { trace, .. }) | Some(goargs::Plan::UserTrace { trace }) => {
            trace
        }
        _ => return,
    };
    match debugtrace::read(path) {
        Ok(trace) => {
            // Asking for the phases makes the go command write them: work it does only
            // under golat, which the report says rather than hides.
            if matches!(plan, Some(goargs::Plan::Rewrite { .. })) {
                let _ = write!(
                    report.timing.note,
                    "\n-debug-trace: golat had the go command write its {} phases; that is work \
                     it does only under golat (9-22 ms on a warm no-op build of fixtures/hello \
                     on a 2-CPU VM, docs/timing.md); --no-debug-trace leaves it out",
                    trace.phases.len()
                );
            }
            if let Ok(value) = serde_json::to_value(&trace) {
                report.go.insert("debug_trace".into(), value);
            }
        }
        Err(e) => report.warnings.push(model::Warning {
            kind: "debug_trace".into(),
            message: format!("the go command's -debug-trace could not be read: {e:#}"),
        }),
    }
}

/// Merges the go command's action graph with the traced processes into
/// `report.go["build_cache"]`, or says why there is none.
fn attach_build_cache(
    report: &mut Report,
    plan: Option<&goargs::Plan>,
    fresh_gocache: bool,
    explain: bool,
) {
    let path = match plan {
        Some(goargs::Plan::Rewrite { trace, .. }) | Some(goargs::Plan::UserTrace { trace }) => {
            trace
        }
        _ => return,
    };
    // A go command that failed before planning its build (a bad flag, no such package)
    // writes no graph: nothing to say about the cache, and nothing wrong with golat.
    if !path.exists() {
        return;
    }
    match crate::gosrc::actiongraph::read(path) {
        Ok(graph) => {
            let mut record = crate::analyze::build_cache::merge(report, &graph, fresh_gocache);
            if explain {
                explain_inputs(report, &mut record);
            }
            if let Ok(value) = serde_json::to_value(&record) {
                report.go.insert("build_cache".into(), value);
            }
        }
        Err(e) => report.warnings.push(model::Warning {
            kind: "build_cache".into(),
            message: format!("the go command's -debug-actiongraph could not be read: {e:#}"),
        }),
    }
}

/// `--explain`: each package's action-ID inputs, from the go command's gocachehash lines.
fn explain_inputs(report: &mut Report, record: &mut crate::analyze::build_cache::BuildCacheRecord) {
    let hashes = std::mem::take(&mut report.cachehash);
    let mut missing = 0;
    let run_start = std::time::SystemTime::now()
        - std::time::Duration::from_secs_f64(report.wall_ms.max(0.0) / 1000.0);
    for pkg in &mut record.packages {
        pkg.inputs = hashes.inputs_of(&pkg.package).cloned();
        missing += usize::from(pkg.inputs.is_none() && !pkg.failed);
        if pkg.rebuilt {
            pkg.newest_file = pkg
                .inputs
                .as_deref()
                .and_then(|i| newest_input(i, run_start));
        }
    }
    let _ = write!(
        report.timing.note,
        "\n--explain: golat had the go command print the inputs of its build-cache keys \
         (GODEBUG=gocachehash=1) and kept its {} lines off your stderr, one stop each",
        hashes.lines
    );
    if hashes.dropped > 0 {
        report.warnings.push(model::Warning {
            kind: "build_cache".into(),
            message: format!(
                "--explain: {} gocachehash lines past the first {} were not kept",
                hashes.dropped,
                crate::gosrc::cachehash::MAX_LINES
            ),
        });
    }
    if missing > 0 {
        report.warnings.push(model::Warning {
            kind: "build_cache".into(),
            message: format!(
                "--explain: the go command printed no inputs for {missing} of {} packages",
                record.packages.len()
            ),
        });
    }
    if crate::gosrc::goargs::subcommand(&report_command(report)) == Some("test") {
        report.warnings.push(model::Warning {
            kind: "build_cache".into(),
            message: "--explain: go test keys its test cache on GODEBUG, so under --explain \
                      tests whose results were cached ran again"
                .into(),
        });
    }
}

/// The most recently modified `file` input of a package (`dir D` + `file NAME HASH`), and
/// how long before `run_start` it was modified.
fn newest_input(
    inputs: &[String],
    run_start: std::time::SystemTime,
) -> Option<crate::analyze::build_cache::NewestFile> {
    let dir = inputs.iter().find_map(|l| l.strip_prefix("dir "))?;
    inputs
        .iter()
        .filter_map(|l| {
            l.strip_prefix("file ")?
                .rsplit_once(' ')
                .map(|(name, _)| name)
        })
        .filter_map(|name| {
            let path = Path::new(dir).join(name);
            let mtime = std::fs::metadata(&path).ok()?.modified().ok()?;
            let age_s = match run_start.duration_since(mtime) {
                Ok(d) => d.as_secs_f64(),
                Err(e) => -e.duration().as_secs_f64(),
            };
            Some(crate::analyze::build_cache::NewestFile {
                path: path.display().to_string(),
                age_s,
            })
        })
        .min_by(|a, b| a.age_s.total_cmp(&b.age_s))
}

fn report_command(report: &Report) -> Vec<OsString> {
    report.command.iter().map(OsString::from).collect()
}

/// Picks the run with the median wall time as the report and records how figures spread.
fn summarize_runs(mut reports: Vec<Report>, cold: bool) -> Report {
    let n = reports.len();
    if n == 1 && !cold {
        return reports.pop().expect("one report");
    }
    let last_failed = reports.last().is_some_and(|r| r.exit_code != 0);
    let mut figures = vec![Figure::from_values(
        "wall_ms",
        &reports.iter().map(|r| r.wall_ms).collect::<Vec<_>>(),
    )];
    figures.push(Figure::from_values(
        "calls",
        &reports
            .iter()
            .map(|r| r.calls.len() as f64)
            .collect::<Vec<_>>(),
    ));
    let mut names: Vec<String> = reports
        .iter()
        .flat_map(|r| r.syscalls.iter().map(|s| s.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    for name in &names {
        let of = |r: &Report, f: &dyn Fn(&model::SyscallSummary) -> f64| {
            r.syscalls.iter().find(|s| &s.name == name).map_or(0.0, f)
        };
        let counts: Vec<f64> = reports.iter().map(|r| of(r, &|s| s.count as f64)).collect();
        let times: Vec<f64> = reports.iter().map(|r| of(r, &|s| s.total_ms)).collect();
        figures.push(Figure::from_values(format!("{name}.count"), &counts));
        figures.push(Figure::from_values(format!("{name}.total_ms"), &times));
    }
    // The report's details come from the median run; a failed run is reported as itself.
    let representative = if last_failed {
        n - 1
    } else {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| reports[a].wall_ms.total_cmp(&reports[b].wall_ms));
        order[(n - 1) / 2]
    };
    let mut report = reports.swap_remove(representative);
    report.runs = Some(RunsSummary {
        n,
        representative,
        cold,
        figures,
    });
    report
}

/// Exit code when `--budget` is exceeded (README, Exit codes).
pub const EXIT_OVER_BUDGET: u8 = 97;

/// Parses `2s`, `500ms`, `1.5s`, `1m`, `250us` into milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 2s, 500ms, 1m"))?;
    let scale = match unit.trim() {
        "ms" => 1.0,
        "s" | "" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        "us" | "µs" => 0.001,
        other => {
            return Err(format!(
                "invalid duration unit {other:?} in {text:?}: use us, ms, s, m or h"
            ));
        }
    };
    Ok(value * scale)
}

pub fn exit_byte(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}

/// The exit code a shell reports for a child's status: the code, or 128+N for signal N.
pub fn status_code(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Runs the command (traced if possible) and builds the report, with where its clock sits
/// on CLOCK_MONOTONIC (when traced).
fn record(
    opts: &Options,
    cmd: &tracer::Command,
) -> anyhow::Result<(Report, Option<i32>, Option<model::ClockAnchor>)> {
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let table = &opts.mounts;
    let mounts = table
        .mounts
        .iter()
        .cloned()
        .map(crate::analyze::mount_record)
        .collect();
    let mut builder = RunBuilder::default();
    let mut untraced_reason = None;
    let mut used = None;
    let outcome = match crate::calibration::load_or_measure(opts.recalibrate, table) {
        Ok(u) => {
            let cfg = tracer::Config {
                calibration: u.calibration,
                exit_stops_all: opts.exit_stops_all,
                init: opts.init,
                init_scope: opts.init_scope,
                stall: opts.stall,
                mounts: table.clone(),
                slow: opts.slow.clone(),
                cachehash: opts.explain,
                phases: opts.phases,
            };
            used = Some(u);
            match tracer::trace(cmd, cfg, &mut |e| builder.add(e)) {
                Ok(o) => o,
                Err(StartError::Denied(why)) if !opts.slow.is_empty() => {
                    anyhow::bail!("--slow needs to trace the command, and cannot: {why}");
                }
                Err(StartError::Denied(why)) => {
                    untraced_reason = Some(why);
                    used = None;
                    tracer::run_untraced(cmd)?
                }
                Err(StartError::Other(e)) => return Err(e),
            }
        }
        Err(StartError::Denied(why)) => {
            eprintln!("golat: {why}; running the command untraced (wall time only)");
            untraced_reason = Some(why);
            tracer::run_untraced(cmd)?
        }
        Err(StartError::Other(e)) => return Err(e.context("calibrating the tracer")),
    };
    let calibration = used.as_ref().map(|u| u.calibration).unwrap_or_default();
    let (tracer_max_rss_kb, tracer_cpu_ms) = tracer::self_usage();
    builder.finish_processes();
    let syscalls = Report::summarize_syscalls(&builder.calls);
    let (signal, exit_code) = match outcome.root {
        tracer::RootStatus::Exited(c) => (None, c),
        s @ tracer::RootStatus::Signaled(sig) => (Some(sig), s.shell_code()),
    };
    let traced = untraced_reason.is_none();
    let (policy, policy_warnings) = timing_policy(&outcome);
    builder.warnings.extend(policy_warnings);
    let note = if traced {
        let mut note = timing_note(&calibration, used.as_ref(), &policy);
        if !opts.slow.is_empty() {
            let dirs: Vec<String> = opts
                .slow
                .iter()
                .map(|d| {
                    format!(
                        "{} +{:.3} ms",
                        String::from_utf8_lossy(&d.dir),
                        d.delay_ns as f64 / 1e6
                    )
                })
                .collect();
            let _ = write!(
                note,
                "\n--slow: golat held {} calls under {} (per path component below it) for \
                 {:.1} ms in all, released {:.2} ms late in sum; the wall and those calls' \
                 durations include it",
                outcome.injected_calls,
                dirs.join(", "),
                outcome.injected_ns as f64 / 1e6,
                outcome.injected_late_ns as f64 / 1e6
            );
        }
        note
    } else {
        "untraced: only wall time was measured".to_string()
    };
    let report = Report {
        schema: model::PROFILE_SCHEMA.to_string(),
        golat_version: env!("CARGO_PKG_VERSION").to_string(),
        command: opts
            .command
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        cwd,
        exit_code,
        signal,
        wall_ms: outcome.wall_ns as f64 / 1e6,
        traced,
        untraced_reason,
        timing: model::TimingInfo {
            stop_cost_us: calibration.stop_cost_ns as f64 / 1000.0,
            stop_oncpu_cost_us: calibration.oncpu_cost_ns as f64 / 1000.0,
            stop_cost_polled_us: calibration.stop_cost_polled_ns as f64 / 1000.0,
            stop_oncpu_cost_polled_us: calibration.oncpu_cost_polled_ns as f64 / 1000.0,
            stops: outcome.stops,
            entry_only_calls: outcome.entry_only_calls,
            exit_stop_calls: outcome.exit_stop_calls,
            note,
            tracer_max_rss_kb,
            tracer_cpu_ms,
            policy,
            calibration: used.as_ref().map_or("", |u| u.source).to_string(),
            calibration_age_s: used.as_ref().and_then(|u| u.age_s),
            slow: (!opts.slow.is_empty()).then(|| model::SlowInfo {
                dirs: opts
                    .slow
                    .iter()
                    .map(|d| model::SlowDirInfo {
                        dir: String::from_utf8_lossy(&d.dir).into_owned(),
                        delay_ms: d.delay_ns as f64 / 1e6,
                    })
                    .collect(),
                calls: outcome.injected_calls,
                injected_ms: outcome.injected_ns as f64 / 1e6,
                late_ms: outcome.injected_late_ns as f64 / 1e6,
            }),
        },
        env: run_env(opts.cold.then_some(cmd).and_then(command_gocache)),
        processes: builder.processes,
        syscalls,
        calls: builder.calls,
        calls_omitted: 0,
        calls_omitted_failed: 0,
        mounts,
        hosts: Default::default(),
        warnings: builder.warnings,
        runs: None,
        init_lines: builder.init_lines,
        hotspots: Default::default(),
        go: Default::default(),
        cachehash: builder.cachehash,
    };
    Ok((report, outcome.exec_error, outcome.clock))
}

/// The tracer's policy record as the report keeps it, with a warning per mount that a slow
/// replay switched to exit-stop measurement.
fn timing_policy(outcome: &tracer::Outcome) -> (model::TimingPolicy, Vec<model::Warning>) {
    use tracer::policy::SLOW_REPLAY_NS;
    let p = &outcome.policy;
    let mut warnings = Vec::new();
    let mut mounts = Vec::new();
    for m in p.mounts() {
        let reason = if m.remote {
            "remote_mount"
        } else if m.switched.is_some() {
            "slow_replay"
        } else {
            continue;
        };
        if m.measured == 0 && m.switched.is_none() {
            continue;
        }
        if let Some((path, ns, at)) = &m.switched {
            warnings.push(model::Warning {
                kind: "timing".into(),
                message: format!(
                    "calls on {} ({} {}) were measured at their exit stops from +{:.1} ms on: \
                     golat's replay of {path} took {:.1} ms (over {} ms), so replays there \
                     would hold up every other thread",
                    m.mount_point,
                    m.fs_type,
                    m.source,
                    *at as f64 / 1e6,
                    *ns as f64 / 1e6,
                    SLOW_REPLAY_NS / 1_000_000,
                ),
            });
        }
        mounts.push(model::PolicyMount {
            mount_point: m.mount_point.clone(),
            fs_type: m.fs_type.clone(),
            source: m.source.clone(),
            reason: reason.into(),
            replayed: m.replayed,
            measured: m.measured,
            switched_at_ms: m.switched.as_ref().map(|s| s.2 as f64 / 1e6),
            switched_by: m.switched.as_ref().map(|s| s.0.clone()),
            switched_replay_us: m.switched.as_ref().map(|s| s.1 as f64 / 1e3),
        });
    }
    let policy = model::TimingPolicy {
        slow_replay_us: SLOW_REPLAY_NS as f64 / 1e3,
        measured: p
            .counts
            .iter()
            .map(|(why, n)| (why.as_str().to_string(), *n))
            .collect(),
        mounts,
        disturbed_calls: outcome.disturbed_calls,
        disturbed_ms: outcome.disturbed_ns as f64 / 1e6,
    };
    (policy, warnings)
}

/// The report's note on how durations were obtained in this run.
fn timing_note(
    c: &tracer::Calibration,
    used: Option<&crate::calibration::Used>,
    policy: &model::TimingPolicy,
) -> String {
    let us = |ns: u64| ns as f64 / 1000.0;
    let mut note = format!(
        "durations: `replayed` calls were repeated by golat at the entry stop (kernel time, no \
         ptrace round trip) on local filesystems, whose cache then answers the program's own \
         call; `corrected` calls were the program's own, timed at their exit stop: its on-CPU \
         time minus the calibrated {:.1} us the stops cost it ({:.1} us when golat was \
         polling), or (when it blocked or was preempted) entry-to-exit minus the calibrated \
         {:.1} us round trip ({:.1} us); `inclusive` totals include ptrace overhead",
        us(c.oncpu_cost_ns),
        us(c.oncpu_cost_polled_ns),
        us(c.stop_cost_ns),
        us(c.stop_cost_polled_ns),
    );
    if let Some(age) = used.and_then(|u| u.age_s) {
        let _ = write!(
            note,
            " (calibration cached {:.0} min ago on this boot; --recalibrate measures anew)",
            age / 60.0
        );
    }
    let measured: Vec<String> = policy
        .mounts
        .iter()
        .map(|m| match m.reason.as_str() {
            "slow_replay" => format!(
                "{} ({}, after a {:.1} ms replay)",
                m.mount_point,
                m.fs_type,
                m.switched_replay_us.unwrap_or(0.0) / 1e3
            ),
            _ => format!("{} ({})", m.mount_point, m.fs_type),
        })
        .collect();
    if !measured.is_empty() {
        let _ = write!(
            note,
            "\ntiming policy: on {} golat measured the program's own calls at their exit \
             stops (a copy there would double the requests and hold up other threads)",
            measured.join(", ")
        );
    }
    let special = policy.measured.get("special_file").copied().unwrap_or(0);
    let foreign = policy
        .measured
        .get("foreign_namespace")
        .copied()
        .unwrap_or(0);
    if special > 0 {
        let _ = write!(
            note,
            "\ntiming policy: {special} opens of FIFOs, devices or sockets were measured at \
             their exit stops"
        );
    }
    if foreign > 0 {
        let _ = write!(
            note,
            "\ntiming policy: {foreign} calls of processes in another mount namespace were \
             measured at their exit stops"
        );
    }
    if policy.disturbed_calls > 0 {
        let _ = write!(
            note,
            "\ndisturbed: {} calls may hold up to {:.1} ms of waiting that was not theirs \
             (golat preempted during its copy, or serving other stops when they returned; \
             `disturbed_us` in --json)",
            policy.disturbed_calls, policy.disturbed_ms
        );
    }
    note
}

/// The GOCACHE golat gave the command (`--cold`'s fresh one), from its environment.
fn command_gocache(cmd: &tracer::Command) -> Option<String> {
    cmd.envp.iter().find_map(|kv| {
        let v = kv.to_bytes().strip_prefix(b"GOCACHE=")?;
        Some(String::from_utf8_lossy(v).into_owned())
    })
}

/// The Go-relevant environment the command ran with: golat's own, but for a GOCACHE golat
/// set itself (`--cold`), which is the command's cache, not a temp directory.
fn run_env(gocache: Option<String>) -> model::RunEnv {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    model::RunEnv {
        path: var("PATH").unwrap_or_default(),
        goroot: var("GOROOT"),
        gocache: gocache.or_else(|| var("GOCACHE")),
        gomodcache: var("GOMODCACHE"),
        gopath: var("GOPATH"),
        tmpdir: var("TMPDIR"),
        home: var("HOME"),
    }
}

/// Writes every requested output. The table goes to stderr (or -o), never to stdout: the
/// command's stdout is the user's.
fn emit(opts: &Options, report: &mut Report) -> anyhow::Result<()> {
    if let Some(path) = &opts.json {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot write --json {}", path.display()))?;
        // One write per MiB: a no-op build's report (1 MB) took 130 writes of 8 KiB.
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        // A big run keeps its slowest calls: the analyses already saw every one, and a
        // million calls would make a report nobody can open.
        let all = (opts.json_calls > 0)
            .then(|| report.trim_calls(opts.json_calls))
            .flatten();
        let written = serde_json::to_writer(&mut w, &*report);
        if let Some(all) = all {
            report.restore_calls(all);
        }
        written?;
        w.flush()?;
    }
    if let Some(path) = &opts.events {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot write --events {}", path.display()))?;
        let mut w = std::io::BufWriter::new(file);
        // Every line carries the schema, so a line cut out of the file still says what it is.
        #[derive(serde::Serialize)]
        struct Line<'a> {
            schema: &'static str,
            #[serde(flatten)]
            call: &'a model::Call,
        }
        for call in &report.calls {
            let line = Line {
                schema: model::EVENTS_SCHEMA,
                call,
            };
            serde_json::to_writer(&mut w, &line)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
    }
    if let Some(path) = &opts.timeline {
        crate::report_cmd::write_timeline(report, path)?;
    }
    if !opts.quiet {
        let style = match &opts.output {
            Some(_) => crate::render::Style::plain(opts.top),
            None => crate::render::Style::for_stderr(opts.top),
        };
        let text = crate::render::report(report, &style);
        match &opts.output {
            Some(path) => std::fs::write(path, text)
                .with_context(|| format!("cannot write -o {}", path.display()))?,
            None => {
                // A closed stderr must not turn the command's exit code into ours.
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn godebug_inittrace_detection_uses_the_last_setting() {
        assert!(godebug_has_inittrace("inittrace=1"));
        assert!(godebug_has_inittrace("gctrace=1,inittrace=1"));
        assert!(!godebug_has_inittrace("inittrace=1,inittrace=0"));
        assert!(!godebug_has_inittrace("gctrace=1"));
        assert!(!godebug_has_inittrace(""));
    }
}
