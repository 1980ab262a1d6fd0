//! `golat profile`: turns the command line into a traced run and a report.
//!
//! Reads like a table of contents: resolve the command, prepare its environment, calibrate,
//! trace, fold events into a report, analyse, render, and exit with the command's code.

use std::ffi::{CString, OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::ProfileArgs;
use crate::model::{self, Report, RunBuilder};
use crate::tracer::{self, InitCapture, StartError};

/// Exit code when the command was found but could not be executed (as shells use it).
pub const EXIT_CANNOT_EXECUTE: u8 = 126;
/// Exit code when the command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

/// Validated options: the raw flags turned once into what the run needs.
pub struct Options {
    pub command: Vec<OsString>,
    pub program: PathBuf,
    pub init: InitCapture,
    pub exit_stops_all: bool,
    pub json: Option<PathBuf>,
    pub events: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub quiet: bool,
    pub top: usize,
}

impl Options {
    pub fn from_args(args: &ProfileArgs) -> Result<Options, u8> {
        let command: Vec<OsString> = args.command.iter().map(OsString::from).collect();
        let Some(program) = find_program(&command[0]) else {
            eprintln!(
                "golat: command not found: {} (searched PATH)",
                command[0].to_string_lossy()
            );
            return Err(EXIT_NOT_FOUND);
        };
        let user_godebug = std::env::var("GODEBUG").unwrap_or_default();
        let init = if args.no_inittrace {
            InitCapture::Off
        } else if godebug_has_inittrace(&user_godebug) {
            InitCapture::Observe
        } else {
            InitCapture::Hide
        };
        Ok(Options {
            command,
            program,
            init,
            exit_stops_all: args.exact,
            json: args.json.clone(),
            events: args.events.clone(),
            output: args.output.clone(),
            quiet: args.quiet,
            top: args.top,
        })
    }
}

/// True when GODEBUG already turns inittrace on (the last setting of a key wins).
pub fn godebug_has_inittrace(godebug: &str) -> bool {
    godebug
        .split(',')
        .filter_map(|kv| kv.trim().strip_prefix("inittrace="))
        .next_back()
        .is_some_and(|v| v == "1")
}

/// The environment for the command: the user's, with `inittrace=1` appended to GODEBUG
/// when golat captures init chains (theirs is kept; a later key wins in GODEBUG).
fn command_env(init: InitCapture) -> Vec<CString> {
    let mut env: Vec<CString> = Vec::new();
    let mut saw_godebug = false;
    for (k, v) in std::env::vars_os() {
        let mut kv = k.clone().into_vec();
        kv.push(b'=');
        if k == "GODEBUG" && init == InitCapture::Hide {
            saw_godebug = true;
            let mut value = v.into_vec();
            if !value.is_empty() {
                value.push(b',');
            }
            value.extend_from_slice(b"inittrace=1");
            kv.extend_from_slice(&value);
        } else {
            kv.extend_from_slice(v.as_bytes());
        }
        if let Ok(c) = CString::new(kv) {
            env.push(c);
        }
    }
    if init == InitCapture::Hide && !saw_godebug {
        env.push(CString::new("GODEBUG=inittrace=1").expect("no NUL"));
    }
    env
}

/// execvp's lookup: a name with a slash is used as is, else the first executable regular
/// file in PATH (empty entries mean the current directory, as execvp treats them).
pub fn find_program(name: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let is_exec = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.as_bytes().contains(&b'/') {
        return Some(PathBuf::from(name));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                PathBuf::from(".").join(name)
            } else {
                dir.join(name)
            }
        })
        .find(|p| is_exec(p))
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
        envp: command_env(opts.init),
    };
    let (mut report, exec_error) = record(&opts, &cmd)?;
    if let Some(errno) = exec_error {
        let err = std::io::Error::from_raw_os_error(errno);
        eprintln!("golat: cannot execute {}: {err}", opts.program.display());
        return Ok(if errno == libc::ENOENT {
            EXIT_NOT_FOUND
        } else {
            EXIT_CANNOT_EXECUTE
        });
    }
    crate::analyze::analyze(&mut report);
    emit(&opts, &report)?;
    Ok(exit_byte(report.exit_code))
}

fn exit_byte(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}

/// Runs the command (traced if possible) and builds the report.
fn record(opts: &Options, cmd: &tracer::Command) -> anyhow::Result<(Report, Option<i32>)> {
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut builder = RunBuilder::default();
    let mut untraced_reason = None;
    let calibrated = tracer::calibrate(200);
    let (outcome, stop_cost_ns) = match calibrated {
        Ok(stop_cost_ns) => {
            let cfg = tracer::Config {
                stop_cost_ns,
                exit_stops_all: opts.exit_stops_all,
                init: opts.init,
            };
            match tracer::trace(cmd, cfg, &mut |e| builder.add(e)) {
                Ok(o) => (o, stop_cost_ns),
                Err(StartError::Denied(why)) => {
                    untraced_reason = Some(why);
                    (tracer::run_untraced(cmd)?, 0)
                }
                Err(StartError::Other(e)) => return Err(e),
            }
        }
        Err(StartError::Denied(why)) => {
            eprintln!("golat: {why}; running the command untraced (wall time only)");
            untraced_reason = Some(why);
            (tracer::run_untraced(cmd)?, 0)
        }
        Err(StartError::Other(e)) => return Err(e.context("calibrating the tracer")),
    };
    builder.finish_processes();
    let syscalls = Report::summarize_syscalls(&builder.calls);
    let (signal, exit_code) = match outcome.root {
        tracer::RootStatus::Exited(c) => (None, c),
        s @ tracer::RootStatus::Signaled(sig) => (Some(sig), s.shell_code()),
    };
    let traced = untraced_reason.is_none();
    let note = if traced {
        format!(
            "durations: `replayed` calls were repeated by golat at the entry stop (kernel time, \
             no ptrace round trip); `corrected` calls are entry-to-exit minus the calibrated \
             {:.1} us round trip; `inclusive` totals include ptrace overhead",
            stop_cost_ns as f64 / 1000.0
        )
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
            stop_cost_us: stop_cost_ns as f64 / 1000.0,
            stops: outcome.stops,
            entry_only_calls: outcome.entry_only_calls,
            exit_stop_calls: outcome.exit_stop_calls,
            note,
        },
        env: run_env(),
        processes: builder.processes,
        syscalls,
        calls: builder.calls,
        mounts: Vec::new(),
        warnings: builder.warnings,
        init_lines: builder.init_lines,
        hotspots: Default::default(),
        go: Default::default(),
    };
    Ok((report, outcome.exec_error))
}

fn run_env() -> model::RunEnv {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    model::RunEnv {
        path: var("PATH").unwrap_or_default(),
        goroot: var("GOROOT"),
        gocache: var("GOCACHE"),
        gomodcache: var("GOMODCACHE"),
        gopath: var("GOPATH"),
        tmpdir: var("TMPDIR"),
        home: var("HOME"),
    }
}

/// Writes every requested output. The table goes to stderr (or -o), never to stdout: the
/// command's stdout is the user's.
fn emit(opts: &Options, report: &Report) -> anyhow::Result<()> {
    if let Some(path) = &opts.json {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot write --json {}", path.display()))?;
        let mut w = std::io::BufWriter::new(file);
        serde_json::to_writer(&mut w, report)?;
        w.flush()?;
    }
    if let Some(path) = &opts.events {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot write --events {}", path.display()))?;
        let mut w = std::io::BufWriter::new(file);
        for call in &report.calls {
            serde_json::to_writer(&mut w, call)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
    }
    // `Options` has no --timeline field yet: take it from golat's own command line.
    let timeline = {
        use clap::Parser;
        crate::cli::Cli::try_parse_from(std::env::args_os())
            .ok()
            .and_then(|cli| match cli.command {
                crate::cli::Command::Profile(a) => a.timeline,
                _ => None,
            })
    };
    if let Some(path) = &timeline {
        crate::report_cmd::write_timeline(report, path)?;
    }
    if !opts.quiet {
        let style = match &opts.output {
            Some(_) => crate::render::Style::plain(opts.top),
            None => crate::render::Style::for_stderr(opts.top),
        };
        let text = crate::render::summary::render(report, &style);
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
