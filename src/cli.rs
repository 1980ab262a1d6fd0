//! Command-line surface: the clap definitions of every subcommand and nothing else.
//!
//! Raw flags live here; each subcommand's module turns them once into the options its
//! work needs, so no hot loop ever looks at a flag again.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "golat",
    version,
    about = "Why is my Go toolchain, or my Go program, slow to start?",
    long_about = "golat traces go commands under ptrace, parses Go execution traces, \
                  audits $PATH and checks the Go environment, and tells you what to change.",
    after_help = "Examples:\n  \
        golat profile go build ./...\n  \
        golat profile --json report.json -- go test -run TestX ./pkg\n  \
        golat trace trace.out\n  \
        golat path-audit\n  \
        golat env-check --dir .\n  \
        golat whatif -- go build ./..."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command (usually a go command) under ptrace and report where its time went.
    Profile(ProfileArgs),
    /// Re-render a saved `golat profile --json` report.
    Report(ReportArgs),
    /// Compare two saved profile reports.
    Diff(DiffArgs),
    /// Summarize what blocked startup in a Go execution trace (runtime/trace, go test -trace).
    Trace(TraceArgs),
    /// Audit $PATH: duplicates, missing and unsafe entries, slow mounts, shadowed binaries, cost.
    #[command(name = "path-audit")]
    PathAudit(PathAuditArgs),
    /// Check the Go environment: which go runs, GOROOT, versions, caches, settings, modules.
    #[command(name = "env-check")]
    EnvCheck(EnvCheckArgs),
    /// Measure what each suggested change would save: one traced run finds them, then
    /// untraced runs alternate the command as it is and with each change.
    Whatif(WhatifArgs),
}

/// Default of `--json-calls`: a run this size writes about 5 MB of calls (a no-op build
/// records about 4,400, a cold build of a small program 15,000).
pub const JSON_CALLS: usize = 20_000;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    golat profile go version\n  \
    golat profile go run ./cmd/server\n  \
    golat profile --json out.json --events calls.jsonl -- go build ./...\n  \
    golat profile -o report.txt go test ./...\n  \
    golat profile -n 5 --cold --budget 30s go build ./...\n  \
    golat profile --runtime-trace --timeline t.json go run .\n\n\
    The command's stdin, stdout, stderr, exit code and signals are its own; the report goes to \
    stderr (or -o FILE). golat exits with the command's exit code (128+N if signal N killed it).")]
pub struct ProfileArgs {
    /// Write the full report as JSON (schema golat.profile/v1).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write every recorded call as JSON Lines (each line has "schema": "golat.events/v1").
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,

    /// Calls --json keeps at most: above N, the N slowest (the report's tables and totals
    /// still come from every call; --events has them all). 0 keeps every call.
    #[arg(long, default_value_t = JSON_CALLS, value_name = "N")]
    pub json_calls: usize,

    /// Write a Chrome/Perfetto trace-event timeline.
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,

    /// Write the table report to FILE instead of stderr.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Rows per table (at least 1).
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = at_least_one)]
    pub top: usize,

    /// Do not print the table report (useful with --json).
    #[arg(short, long)]
    pub quiet: bool,

    /// Name every thread blocked in one filesystem call (or in uninterruptible sleep) longer
    /// than this many seconds, with its path and mount, while it hangs (0 = never).
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub stall: f64,

    /// Run the command N times and report median/min/max.
    #[arg(short = 'n', long = "runs", default_value_t = 1, value_name = "N")]
    pub runs: usize,

    /// Give each run a fresh temporary GOCACHE (removed afterwards).
    #[arg(long)]
    pub cold: bool,

    /// Exit with code 97 when the median wall time exceeds this (e.g. 2s, 500ms). It gates
    /// the traced wall, as measured under golat with tracing included, not the native
    /// estimate the report prints ("native ≈ ..."): give it headroom for the tracing.
    #[arg(long, value_name = "DURATION")]
    pub budget: Option<String>,

    /// Measure the tracer's stop costs anew instead of using the figures cached for this
    /// boot, kernel, CPU and golat build (less than an hour old).
    #[arg(long)]
    pub recalibrate: bool,

    /// Stop at the exit of every traced call: exact return values (fd numbers) and
    /// entry-to-exit durations for all calls, at a higher tracing cost.
    #[arg(long)]
    pub exact: bool,

    /// Which Go processes' init chains to collect (GODEBUG=inittrace=1): `user` = every
    /// program that is not part of the Go toolchain; `all` also the go command, compile,
    /// link, asm, vet (12 tracer stops per package init: 1.9k for the go command); `off`.
    /// Default: `user`, or `off` with --runtime-trace (capturing init chains stops the
    /// tracee at every init line and would stretch the startup the trace measures).
    #[arg(long, value_enum, value_name = "SCOPE")]
    pub inittrace: Option<InitTraceScope>,

    /// Same as --inittrace off.
    #[arg(long, conflicts_with = "inittrace")]
    pub no_inittrace: bool,

    /// Which Go programs' startup phases to time (exec → runtime.schedinit → runtime.main →
    /// package inits → main.main), with one breakpoint per phase on the program's own
    /// functions (found in its symbol table, or in .gopclntab if it was built with -s -w):
    /// `user` = every program that is not part of the Go toolchain, `all` also the go command,
    /// compile, link, ...; `off`. At most 4 stops per process.
    #[arg(long, value_enum, value_name = "SCOPE", default_value = "user")]
    pub startup: InitTraceScope,

    /// Do not pass -debug-trace to the go command.
    #[arg(long)]
    pub no_debug_trace: bool,

    /// Do not pass -debug-actiongraph to the go command: the report then has no "Build
    /// cache" section (what was compiled, what came from the cache).
    #[arg(long)]
    pub no_build_cache: bool,

    /// Also capture what each package's build-cache key is made of (the go command's
    /// GODEBUG=gocachehash=1 lines, kept off your stderr) into the JSON, so `golat diff
    /// A.json B.json` names why B rebuilt what A took from the cache ("file x.go changed",
    /// "`-trimpath` added", "CGO_CFLAGS changed"). Costs one stop per hash line (off by
    /// default); `go test` then re-runs tests whose results were cached, since GODEBUG is
    /// part of the test cache key.
    #[arg(long, conflicts_with = "no_build_cache")]
    pub explain: bool,

    /// Capture a runtime/trace of the built program's startup (go run/build/test): its
    /// summary goes into the report, its GC/STW/goroutine events onto --timeline. The trace
    /// stops after --runtime-trace-window or when the program exits, whichever is first.
    #[arg(long)]
    pub runtime_trace: bool,

    /// How long the runtime trace window lasts at most.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub runtime_trace_window: String,

    /// Also keep the raw runtime trace in FILE (for go tool trace, Perfetto or golat trace).
    #[arg(long, value_name = "FILE", requires = "runtime_trace")]
    pub runtime_trace_out: Option<PathBuf>,

    /// With --runtime-trace of `go run`: also run pprof's CPU profiler over the trace's
    /// window and write its profile to FILE (for `go tool pprof`); the trace then carries CPU
    /// samples, and the report shows the functions on CPU before main.main and after it.
    #[arg(long, value_name = "FILE", requires = "runtime_trace")]
    pub cpuprofile_out: Option<PathBuf>,

    /// Reproduce a slow filesystem: hold every traced call on a path under DIR (lookups,
    /// opens, stats, readlinks, execs, getdents) DURATION per path component below DIR
    /// before it runs, as a mount that caches no lookups would (e.g. GOMODCACHE=2ms,
    /// /srv/src=500us). DIR may name a go env directory (GOMODCACHE, GOCACHE, GOROOT,
    /// GOPATH). Other threads go on meanwhile. Repeatable.
    #[arg(long, value_name = "DIR=DURATION")]
    pub slow: Vec<String>,

    /// The command to run, e.g. `go build ./...`. Arguments are passed as bytes: file
    /// names need not be UTF-8. Everything after the command's name is its own; a command
    /// whose name starts with `-` follows `--`.
    // No allow_hyphen_values: a mistyped option before the command (`--jsno`) is a usage
    // error with the closest option named, not a command golat goes looking for on PATH.
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    golat whatif -- go build ./...\n  \
    golat whatif --rounds 10 --json whatif.json -- go test ./pkg\n  \
    golat whatif --only buildvcs_off,gowork_off -- go build -o /tmp/app .\n  \
    golat whatif --try GOMAXPROCS=1 --try 'GOFLAGS=-p=1' -- go build ./...\n  \
    golat whatif --slow GOMODCACHE=2ms --only none -- go build ./...\n\n\
    Trials: clean_path, buildvcs_off, gowork_off, telemetry_off, vet_off, toolchain_local, \
    local_gocache, local_gomodcache, clean_env, try:... for --try and slow:DIR for --slow. Each is applied with \
    environment variables, one argument or private copies in a temporary directory; the \
    user's files and go env settings are left as they are. The runs read and write the build \
    cache as the command does, and the last run is the command unchanged, so what it builds \
    is what the command as given builds.\n\n\
    Exit status: 0, or the command's own when it fails as given (as profile), 2 on a usage \
    error. A trial whose runs fail is reported as failed, not fatal.")]
pub struct WhatifArgs {
    /// Rounds of alternated runs (each round runs the baseline, then one trial, for every
    /// trial) [default: as many as fit in about 15 s, 5 to 15].
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub rounds: Option<usize>,

    /// Untraced runs of the baseline and of each trial before the rounds (not counted).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub warmup: usize,

    /// Measure only these trials (comma-separated ids; see below; `none`: only --try and
    /// --slow ones).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub only: Vec<String>,

    /// Also measure the command with these variables set ('NAME=VALUE ...'; repeatable).
    #[arg(long = "try", value_name = "'NAME=VALUE ...'")]
    pub tries: Vec<String>,

    /// Also measure the command with a slow directory: every call under DIR held DURATION
    /// per path component (as `golat profile --slow`; e.g. GOMODCACHE=2ms). These runs are
    /// traced, and so is their baseline. Repeatable.
    #[arg(long, value_name = "DIR=DURATION")]
    pub slow: Vec<String>,

    /// Copy a cache on a slow mount to a local disk for a trial only up to this size
    /// (e.g. 500M, 2G).
    #[arg(long, default_value = "1G", value_name = "SIZE")]
    pub copy_limit: String,

    /// Write the results as JSON (schema golat.whatif/v1).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Do not print the table.
    #[arg(short, long)]
    pub quiet: bool,

    /// Show the command's stdout and stderr (by default they are discarded; a failing run's
    /// stderr is kept for the report).
    #[arg(long)]
    pub show_output: bool,

    /// A run that takes longer than this is stopped and counted as failed
    /// [default: 10x the traced run, at least 60 s].
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// The command, e.g. `go build ./...` (after `--`).
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  golat report out.json\n  golat report out.json --timeline out.trace.json"
)]
pub struct ReportArgs {
    /// A report written by `golat profile --json`.
    pub file: PathBuf,
    /// Write a Chrome/Perfetto trace-event timeline instead of the table.
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
    /// Print the report as JSON (re-analysed) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Rows per table (at least 1).
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = at_least_one)]
    pub top: usize,
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  golat diff before.json after.json")]
pub struct DiffArgs {
    pub before: PathBuf,
    pub after: PathBuf,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
    /// Rows per table (at least 1).
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = at_least_one)]
    pub top: usize,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    go test -trace trace.out ./pkg && golat trace trace.out\n  \
    golat trace --json trace.out > summary.json\n  \
    curl -s localhost:6060/debug/pprof/trace?seconds=5 | golat trace -")]
pub struct TraceArgs {
    /// A Go execution trace (Go 1.22 or newer); `-` reads standard input. A FIFO is read
    /// once a writer opens it (golat says it is waiting).
    pub file: PathBuf,
    /// Fail when one generation of the trace needs more memory than this (MB): an endless
    /// or damaged stream must not grow golat without bound.
    #[arg(long, value_name = "MB", default_value_t = crate::exectrace::generation::DEFAULT_MAX_GENERATION_MB, value_parser = at_least_one)]
    pub max_generation_mb: usize,
    /// Print the summary as JSON (schema golat.trace/v2).
    #[arg(long)]
    pub json: bool,
    /// Rows per table (at least 1).
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = at_least_one)]
    pub top: usize,
    /// Where the "before" section ends: `main` (the first event whose stack holds
    /// main.main) or a time after the trace start (e.g. 50ms).
    #[arg(long, value_name = "main|DURATION", default_value = "main", value_parser = trace_until)]
    pub until: String,
    /// Length of the section after the split (e.g. 1s, 200ms).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = trace_duration)]
    pub window: String,
    /// Count stretches longer than these (NAME=DURATION, comma-separated; NAME is sched,
    /// syscall, net, sync, sleep or stw; `NAME=off` drops one). Added to the defaults
    /// sched=100us,syscall=1ms,net=1ms,sync=1ms,stw=100us.
    #[arg(long, value_name = "LIST", value_parser = trace_thresholds)]
    pub threshold: Option<String>,
    /// Also write the goroutines', Ps' and GC's slices up to the end of --window as Chrome
    /// trace-event JSON (open in Perfetto or chrome://tracing).
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
    /// Stack frames shown from the user's frame toward the root (deeper stacks are folded
    /// in the middle, keeping the root).
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = at_least_one)]
    pub depth: usize,
    /// Use one thread. By default, with two or more CPUs, a second thread reads the file and
    /// merges the per-thread event streams while the first orders them: the same result in
    /// less wall time and more CPU time.
    #[arg(long)]
    pub single_thread: bool,
    /// Only parse and count events (for benchmarks: no summary is built).
    #[arg(long, hide = true)]
    pub parse_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitTraceScope {
    User,
    All,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warn,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    golat path-audit\n  \
    golat path-audit --path \"$HOME/bin:/usr/local/go/bin:/usr/bin\" --json\n  \
    golat path-audit --fail-on warn --shell fish\n  \
    golat path-audit --timeout 200   # entries slower than 200 ms to stat are unresponsive")]
pub struct PathAuditArgs {
    /// Audit this PATH string instead of $PATH (any bytes: entries need not be UTF-8).
    #[arg(long, value_name = "STRING")]
    pub path: Option<std::ffi::OsString>,
    /// Print JSON (schema golat.path-audit/v1).
    #[arg(long)]
    pub json: bool,
    /// Exit non-zero when a finding is at least this severe.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Shell syntax for the suggested PATH line.
    #[arg(long, value_enum, default_value_t = Shell::Bash)]
    pub shell: Shell,
    /// Milliseconds an entry's stat (or its lookup probes) may take before it is reported
    /// unresponsive [default: 500].
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    golat env-check\n  \
    golat env-check --dir ./myservice --json\n  \
    golat env-check --fail-on warn\n  \
    golat env-check --network")]
pub struct EnvCheckArgs {
    /// The module or workspace directory to check.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Print JSON (schema golat.env-check/v1).
    #[arg(long)]
    pub json: bool,
    /// Exit non-zero when a check is at least this severe.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Also ask the network (3 s per probe, all at once): GOPROXY's first proxy and GOSUMDB
    /// answer, the toolchain the module asks for exists, the other GOPROXY hosts resolve.
    #[arg(long)]
    pub network: bool,
}

/// `--top 0` would print every table empty: refuse it as a usage error.
/// `golat trace --window`: a duration golat's trace view reads (checked here so a bad value
/// is a usage error naming the flag).
fn trace_duration(text: &str) -> Result<String, String> {
    crate::exectrace::startup::parse_duration_ns(text).map(|_| text.to_string())
}

fn trace_until(text: &str) -> Result<String, String> {
    if text == "main" {
        return Ok(text.into());
    }
    trace_duration(text).map_err(|e| format!("{e}; or `main`"))
}

fn trace_thresholds(text: &str) -> Result<String, String> {
    crate::exectrace::startup::parse_thresholds(text, [i64::MAX; 6]).map(|_| text.to_string())
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
