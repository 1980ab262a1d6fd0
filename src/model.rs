//! The model of one profiled run: process tree, exec spans, filesystem calls, and the
//! saved report (`golat.profile/v1`) that analyzers and renderers read.
//!
//! The tracer fills a [`Run`]; [`Report`] is its serializable form. A report read back from
//! JSON is all that analysis and rendering need, so `golat report saved.json` exercises
//! everything after the tracer without tracing.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

/// An interned, immutable string: syscall names, errno names, flags and paths repeat
/// across a run's calls (a build probes the same few thousand paths again and again), so
/// each distinct text is stored once and a call holds a 16-byte handle to it. The interner
/// lives as long as the process, which for a command-line run is the run.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom(Arc<str>);

/// Hashed with FxHash, not SipHash: the tracer interns a call's name and path before it
/// resumes the thread, so each hash is on the traced program's time.
type Interned = HashSet<Arc<str>, std::hash::BuildHasherDefault<crate::analyze::FxHasher>>;

fn interner() -> &'static Mutex<Interned> {
    static INTERNER: OnceLock<Mutex<Interned>> = OnceLock::new();
    INTERNER.get_or_init(Default::default)
}

impl Atom {
    pub fn new(text: &str) -> Atom {
        let mut set = interner().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = set.get(text) {
            return Atom(existing.clone());
        }
        let arc: Arc<str> = Arc::from(text);
        set.insert(arc.clone());
        Atom(arc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the text lives: equal atoms share it, so this identifies the text.
    pub fn address(&self) -> usize {
        self.0.as_ptr() as usize
    }
}

impl std::ops::Deref for Atom {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Default for Atom {
    fn default() -> Atom {
        Atom::new("")
    }
}

impl AsRef<str> for Atom {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Atom {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Atom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for Atom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*self.0, f)
    }
}

impl From<&str> for Atom {
    fn from(s: &str) -> Atom {
        Atom::new(s)
    }
}

impl From<String> for Atom {
    fn from(s: String) -> Atom {
        Atom::new(&s)
    }
}

impl From<&String> for Atom {
    fn from(s: &String) -> Atom {
        Atom::new(s)
    }
}

impl From<Atom> for String {
    fn from(a: Atom) -> String {
        a.0.to_string()
    }
}

impl PartialEq<str> for Atom {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Atom {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Atom {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl PartialEq<Atom> for str {
    fn eq(&self, other: &Atom) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Atom> for &str {
    fn eq(&self, other: &Atom) -> bool {
        *self == &*other.0
    }
}

impl Serialize for Atom {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Atom {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Atom, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Atom;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Atom, E> {
                Ok(Atom::new(v))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// The schema of `golat profile --json`. Change only by adding fields, or bump the version.
pub const PROFILE_SCHEMA: &str = "golat.profile/v1";

/// The schema of each line of `golat profile --events` (a `Call` plus this field).
pub const EVENTS_SCHEMA: &str = "golat.events/v1";

/// How a call's duration was obtained. Every time golat prints says which kind it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// golat repeated the side-effect-free call itself at the entry stop (stat, access,
    /// readlink, a non-creating open resolved with O_PATH): the duration is the kernel time
    /// of that repetition, free of the ptrace round trip.
    Replayed,
    /// Measured from the entry stop to the exit stop, minus the calibrated cost of one
    /// ptrace round trip (never below zero).
    Corrected,
    /// The call never returned while traced (exec success, the process died in it) or was
    /// only counted.
    None,
}

/// One recorded system call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub pid: i32,
    pub tid: i32,
    /// Syscall name as strace spells it (`openat`, `newfstatat`, `execve`, ...).
    pub name: Atom,
    /// The main path argument, absolute (resolved at entry through the dirfd or the cwd).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Atom>,
    /// The second path (rename targets, symlink targets, link names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path2: Option<Atom>,
    /// Decoded flags or mode, e.g. `O_RDONLY|O_CLOEXEC`, `X_OK`, `AT_SYMLINK_NOFOLLOW`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Atom>,
    /// Address for `connect` (`127.0.0.1:443`, `/run/socket`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<Atom>,
    /// Return value when it succeeded (fd, byte count, 0); `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<i64>,
    /// Error name when it failed (`ENOENT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<Atom>,
    /// Entry time, ms since the command started (monotonic clock).
    pub t_ms: f64,
    /// Duration in microseconds, of the kind `timing` says.
    pub dur_us: f64,
    /// What the tracer observed, round trips included: entry stop to exit stop, or for a
    /// replayed call the time the tracee was held at its stop.
    pub dur_us_inclusive: f64,
    pub timing: Timing,
    /// Set when the duration may hold time that was not the call's: golat was preempted
    /// while its replay blocked, or the exit stop waited while golat served other stops.
    /// At most this many of `dur_us` microseconds are such waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disturbed_us: Option<f64>,
}

impl Call {
    pub fn failed(&self) -> bool {
        self.errno.is_some()
    }
}

/// One process (a thread group); threads are folded into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Process {
    pub pid: i32,
    pub ppid: i32,
    /// Short tool name for grouping: go, compile, link, asm, cgo, vet, cc, gcc, cc1, ...
    /// or the basename of the executable.
    pub tool: String,
    /// The executable after the last successful exec (from /proc/PID/exe).
    pub exe: String,
    pub argv: Vec<String>,
    pub cwd: String,
    /// When the process was created (fork/vfork/clone), ms since start.
    pub start_ms: f64,
    /// Every successful exec of this process.
    pub execs: Vec<ExecSpan>,
    /// When its exit was reported, ms since start; `None` if it was still running when
    /// golat stopped tracing.
    pub end_ms: Option<f64>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Threads seen (the leader included).
    pub threads: u32,
    /// The PATH in its environment at its last exec (for PATH-scan analysis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_env: Option<String>,
    /// GODEBUG at its last exec, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub godebug: Option<String>,
    /// ptrace stops its threads took.
    #[serde(default)]
    pub stops: u64,
    /// What those stops cost its threads, ms summed over threads: per stop the calibrated
    /// round trip (stopping, reporting, waking) plus golat's handling of it (path reads,
    /// replays). Time the threads did not run because they were traced.
    #[serde(default)]
    pub tracing_ms: f64,
    /// A Go program's startup as golat's breakpoints saw it (see `StartupCapture`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<StartupCapture>,
}

/// A Go program's startup points, from one-shot breakpoints golat set at its exec on
/// `runtime.schedinit`, `runtime.main`, `runtime.gcenable` and `main.main`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StartupCapture {
    /// Where the functions were found: `symtab` or `gopclntab`; `None` when they could not be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<crate::gosrc::symbols::Table>,
    /// Functions the binary lacks or golat could not arm.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Why no phases could be taken (a Go binary with neither a symbol table nor .gopclntab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// `exec` first, then each function reached, in the order reached.
    pub marks: Vec<StartupMark>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartupMark {
    /// `exec` or the function's name.
    pub at: String,
    /// When the program's thread stopped there, ms since start.
    pub t_ms: f64,
    /// What golat's stops had cost the process until then, ms (see `tracing_ms`).
    pub golat_ms: f64,
}

impl Process {
    /// Time from the last exec (or creation) to the end.
    pub fn exec_wall_ms(&self) -> Option<f64> {
        let begin = self.execs.last().map_or(self.start_ms, |e| e.t_ms);
        self.end_ms.map(|end| end - begin)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecSpan {
    /// When the exec completed (PTRACE_EVENT_EXEC), ms since start.
    pub t_ms: f64,
    pub exe: String,
    pub argv: Vec<String>,
}

/// Per-syscall totals. `total_ms` sums the corrected or replayed durations;
/// `total_ms_inclusive` what the tracer saw, round trips included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyscallSummary {
    pub name: String,
    pub count: u64,
    pub errors: u64,
    pub total_ms: f64,
    pub total_ms_inclusive: f64,
}

/// How durations were measured in this run, so nobody mistakes tracer cost for I/O.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TimingInfo {
    /// Calibrated cost of one ptrace stop round trip (entry stop → exit stop of a no-op
    /// syscall), median, microseconds. Subtracted from `corrected` durations.
    pub stop_cost_us: f64,
    /// The tracee's own on-CPU time over that round trip (leaving one stop, entering the
    /// next), median, microseconds. Subtracted from durations taken from on-CPU time.
    #[serde(default)]
    pub stop_oncpu_cost_us: f64,
    /// The same two when golat was polling for the exit stop rather than asleep (the
    /// tracee then need not wake it): the figures used for such stops.
    #[serde(default)]
    pub stop_cost_polled_us: f64,
    #[serde(default)]
    pub stop_oncpu_cost_polled_us: f64,
    /// Stops the tracer handled (seccomp, syscall-exit, signal, event stops).
    pub stops: u64,
    /// Calls resolved at the entry stop only (replayed or counted).
    pub entry_only_calls: u64,
    /// Calls that also took a syscall-exit stop.
    pub exit_stop_calls: u64,
    /// One line explaining the above, printed with the report.
    pub note: String,
    /// golat's own peak RSS, KiB (getrusage RUSAGE_SELF at the end of tracing).
    #[serde(default)]
    pub tracer_max_rss_kb: u64,
    /// golat's own CPU time while tracing, ms (user + system).
    #[serde(default)]
    pub tracer_cpu_ms: f64,
    /// How the calls golat could have repeated were timed, and why (docs/timing.md,
    /// "The timing policy").
    #[serde(default)]
    pub policy: TimingPolicy,
    /// Where the stop costs above came from: `measured` before this run, or `cached`
    /// from an earlier measurement on the same boot, kernel, CPU and golat build.
    #[serde(default)]
    pub calibration: String,
    /// Age of a cached calibration, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration_age_s: Option<f64>,
    /// `--slow`: the delays golat added on purpose (included in the wall and in the held
    /// calls' durations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow: Option<SlowInfo>,
}

/// What `--slow` added to a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SlowInfo {
    pub dirs: Vec<SlowDirInfo>,
    /// Calls held, and the delay added to them in sum, ms.
    pub calls: u64,
    pub injected_ms: f64,
    /// How late, in sum, golat released them past their delay, ms (also in the wall).
    pub late_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SlowDirInfo {
    pub dir: String,
    /// Per path component below `dir`, ms.
    pub delay_ms: f64,
}

/// The timing policy as applied in one run: replay at the entry stop where the copy is
/// cheap and the program's own call is then answered from the cache; measure the
/// program's own call at its exit stop on network and FUSE mounts, after a slow replay,
/// for FIFOs and devices, and in other mount namespaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TimingPolicy {
    /// A replay longer than this switched its mount to exit-stop measurement, µs.
    pub slow_replay_us: f64,
    /// Calls that could have been replayed but were measured at their exit stop, by
    /// reason: `remote_mount`, `slow_replay`, `special_file`, `foreign_namespace`, `exact`.
    pub measured: BTreeMap<String, u64>,
    /// Mounts whose calls were measured at their exit stops, and why.
    pub mounts: Vec<PolicyMount>,
    /// Calls marked `disturbed_us`, and the sum of those bounds, ms.
    pub disturbed_calls: u64,
    pub disturbed_ms: f64,
}

/// A mount measured at exit stops: from the start (`remote_mount`) or after a replay on it
/// took longer than `slow_replay_us` (`slow_replay`, with that replay).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PolicyMount {
    pub mount_point: String,
    pub fs_type: String,
    pub source: String,
    pub reason: String,
    /// Calls replayed on it (before a switch) and measured at their exit stops.
    pub replayed: u64,
    pub measured: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switched_at_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switched_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switched_replay_us: Option<f64>,
}

/// The Go-relevant environment of the run, used to categorise paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunEnv {
    /// golat's own PATH at start (what the root command inherited).
    pub path: String,
    #[serde(default)]
    pub goroot: Option<String>,
    #[serde(default)]
    pub gocache: Option<String>,
    #[serde(default)]
    pub gomodcache: Option<String>,
    #[serde(default)]
    pub gopath: Option<String>,
    #[serde(default)]
    pub tmpdir: Option<String>,
    #[serde(default)]
    pub home: Option<String>,
}

/// A mount as seen at the start of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MountRecord {
    pub mount_point: String,
    pub fs_type: String,
    pub source: String,
}

/// A note about the run that is not an error: lost events, a straggler process, ptrace
/// denied. Printed with the report and kept in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub kind: String,
    pub message: String,
}

/// How the figures of repeated runs (`--runs N`) spread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunsSummary {
    pub n: usize,
    /// Which run (0-based) this report's details come from: the one with the median wall.
    pub representative: usize,
    /// Set with `--cold`: every run had a fresh temporary GOCACHE.
    pub cold: bool,
    pub figures: Vec<Figure>,
}

/// One figure across runs. `unstable` when (max-min)/median exceeds 20%.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub name: String,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub unstable: bool,
}

impl Figure {
    pub fn from_values(name: impl Into<String>, values: &[f64]) -> Figure {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let median = if v.is_empty() {
            0.0
        } else if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        };
        let (min, max) = (
            v.first().copied().unwrap_or(0.0),
            v.last().copied().unwrap_or(0.0),
        );
        let unstable = median > 0.0 && (max - min) / median > 0.20;
        Figure {
            name: name.into(),
            median,
            min,
            max,
            unstable,
        }
    }
}

/// `golat.profile/v1`: everything one run recorded. Analyzers add `hotspots`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub golat_version: String,
    pub command: Vec<String>,
    pub cwd: String,
    /// Exit code golat reported for the command (128+N when signal N killed it).
    pub exit_code: i32,
    /// The signal that killed the command, if any.
    #[serde(default)]
    pub signal: Option<i32>,
    /// Wall time of the command, from just before its exec to its exit being reported, ms.
    pub wall_ms: f64,
    /// False when ptrace was not permitted and the command ran untraced.
    pub traced: bool,
    #[serde(default)]
    pub untraced_reason: Option<String>,
    pub timing: TimingInfo,
    pub env: RunEnv,
    pub processes: Vec<Process>,
    pub syscalls: Vec<SyscallSummary>,
    /// The recorded calls, in entry order: every one, unless `calls_omitted` says how many
    /// `--json` left out of a big run (`--json-calls`); the analyses saw them all.
    pub calls: Vec<Call>,
    /// Calls recorded but not in `calls` (a `--json` report of a big run keeps the slowest
    /// `--json-calls N`); `hotspots` were computed from all of them, so `golat report`
    /// renders those and does not analyse again.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub calls_omitted: u64,
    /// How many of the omitted calls failed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub calls_omitted_failed: u64,
    #[serde(default)]
    pub mounts: Vec<MountRecord>,
    /// Names for the IPs the run connected to (IP as text → name), from the recording
    /// machine's /etc/hosts: golat does not see the run's DNS answers, and a saved report
    /// must name its connects as the live run did, wherever it is read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<String, String>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// With `--runs N`: how each figure varied across the runs. This report's own figures
    /// are those of the run with the median wall time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs: Option<RunsSummary>,
    /// Raw `GODEBUG=inittrace=1` lines captured per process.
    #[serde(default)]
    pub init_lines: Vec<InitLine>,
    /// Analysis results, keyed by analysis (`path_scan`, `fs_blocking`, `exec`,
    /// `init_chain`, ...). Filled by the analyzers; kept opaque here so the model does not
    /// depend on them.
    #[serde(default)]
    pub hotspots: BTreeMap<String, serde_json::Value>,
    /// Go-side data merged into the run (inittrace, -debug-trace phases, runtime trace),
    /// keyed by source.
    #[serde(default)]
    pub go: BTreeMap<String, serde_json::Value>,
    /// With `--explain`: the go command's `gocachehash` inputs as the tracer captured them,
    /// until they are merged into `go["build_cache"]` (not saved as such).
    #[serde(skip)]
    pub cachehash: crate::gosrc::cachehash::Collector,
}

impl Report {
    /// Calls the run recorded, whether or not `calls` still holds them all.
    pub fn recorded_calls(&self) -> u64 {
        self.calls.len() as u64 + self.calls_omitted
    }

    /// Failed calls the run recorded, whether or not `calls` still holds them all.
    pub fn failed_calls(&self) -> u64 {
        self.calls.iter().filter(|c| c.failed()).count() as u64 + self.calls_omitted_failed
    }

    /// Keeps the `keep` slowest calls (by sys duration, in entry order) and counts the rest
    /// in `calls_omitted`; returns the calls taken out, to put back with [`Report::restore_calls`].
    pub fn trim_calls(&mut self, keep: usize) -> Option<Vec<Call>> {
        if self.calls.len() <= keep {
            return None;
        }
        let all = std::mem::take(&mut self.calls);
        let mut order: Vec<usize> = (0..all.len()).collect();
        let dur = |i: usize| all[i].dur_us;
        if keep > 0 {
            order.select_nth_unstable_by(keep - 1, |&a, &b| dur(b).total_cmp(&dur(a)));
        }
        order.truncate(keep);
        order.sort_unstable();
        self.calls = order.iter().map(|&i| all[i].clone()).collect();
        let failed_all = all.iter().filter(|c| c.failed()).count() as u64;
        let failed_kept = self.calls.iter().filter(|c| c.failed()).count() as u64;
        self.calls_omitted = (all.len() - keep) as u64;
        self.calls_omitted_failed = failed_all - failed_kept;
        Some(all)
    }

    /// Undoes [`Report::trim_calls`].
    pub fn restore_calls(&mut self, all: Vec<Call>) {
        self.calls = all;
        self.calls_omitted = 0;
        self.calls_omitted_failed = 0;
    }

    /// Per-syscall totals computed from `calls`, sorted by name.
    pub fn summarize_syscalls(calls: &[Call]) -> Vec<SyscallSummary> {
        let mut by_name: BTreeMap<&str, SyscallSummary> = BTreeMap::new();
        for call in calls {
            let entry = by_name
                .entry(call.name.as_str())
                .or_insert_with(|| SyscallSummary {
                    name: call.name.to_string(),
                    count: 0,
                    errors: 0,
                    total_ms: 0.0,
                    total_ms_inclusive: 0.0,
                });
            entry.count += 1;
            entry.errors += u64::from(call.failed());
            entry.total_ms += call.dur_us / 1000.0;
            entry.total_ms_inclusive += call.dur_us_inclusive / 1000.0;
        }
        by_name.into_values().collect()
    }
}

/// Tool name for grouping processes: Go's tools by name, the C toolchain, else basename.
pub fn tool_name(exe: &str, argv: &[String]) -> String {
    let base = exe.rsplit('/').next().unwrap_or(exe);
    let base = if base.is_empty() {
        argv.first()
            .map(|a| a.rsplit('/').next().unwrap_or(a))
            .unwrap_or("?")
    } else {
        base
    };
    base.to_string()
}

/// The smallest valid saved report (a `go` command with nothing recorded), as the JSON a
/// reader of old or minimal reports gets: for unit tests of analyzers and renderers.
#[cfg(test)]
pub(crate) fn empty_report_for_tests() -> Report {
    serde_json::from_value(serde_json::json!({
        "schema": "golat.profile/v1", "golat_version": "t", "command": ["go"], "cwd": "/",
        "exit_code": 0, "wall_ms": 1.0, "traced": true, "timing": {"stop_cost_us": 1.0,
        "stops": 0, "entry_only_calls": 0, "exit_stop_calls": 0, "note": ""},
        "env": {"path": ""}, "processes": [], "syscalls": [], "calls": []
    }))
    .expect("a minimal report deserializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, errno: Option<&str>, dur: f64) -> Call {
        Call {
            pid: 1,
            tid: 1,
            name: name.into(),
            path: Some("/x".into()),
            path2: None,
            flags: None,
            addr: None,
            ret: errno.is_none().then_some(0),
            errno: errno.map(Into::into),
            t_ms: 0.0,
            dur_us: dur,
            dur_us_inclusive: dur * 10.0,
            timing: Timing::Replayed,
            disturbed_us: None,
        }
    }

    #[test]
    fn summaries_count_errors_and_sum_both_times() {
        let calls = [
            call("openat", None, 3.0),
            call("openat", Some("ENOENT"), 1.0),
            call("newfstatat", None, 2.0),
        ];
        let sums = Report::summarize_syscalls(&calls);
        assert_eq!(sums.len(), 2);
        assert_eq!(sums[0].name, "newfstatat");
        let open = &sums[1];
        assert_eq!((open.count, open.errors), (2, 1));
        assert!((open.total_ms - 0.004).abs() < 1e-12);
        assert!((open.total_ms_inclusive - 0.04).abs() < 1e-12);
    }
}

/// Folds tracer events into processes, calls and captured inittrace lines.
#[derive(Debug, Default)]
pub struct RunBuilder {
    pub processes: Vec<Process>,
    index: std::collections::HashMap<i32, usize>,
    pub calls: Vec<Call>,
    /// (pid, t_ms, line, hidden)
    pub init_lines: Vec<InitLine>,
    pub warnings: Vec<Warning>,
    /// `--explain`'s gocachehash lines, folded into per-package inputs as they come.
    pub cachehash: crate::gosrc::cachehash::Collector,
}

/// One `GODEBUG=inittrace=1` line captured from a process, raw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitLine {
    pub pid: i32,
    pub t_ms: f64,
    pub line: String,
    /// golat kept it from the user's stderr.
    pub hidden: bool,
}

fn ns_to_ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

impl RunBuilder {
    pub fn add(&mut self, event: crate::event::Event) {
        use crate::event::Event;
        match event {
            Event::ProcessStarted {
                pid,
                ppid,
                t_ns,
                cwd,
            } => {
                // A pid can be reused within one run: the newest process owns it.
                self.index.insert(pid, self.processes.len());
                self.processes.push(Process {
                    pid,
                    ppid,
                    tool: String::new(),
                    exe: String::new(),
                    argv: Vec::new(),
                    cwd,
                    start_ms: ns_to_ms(t_ns),
                    execs: Vec::new(),
                    end_ms: None,
                    exit_code: None,
                    signal: None,
                    threads: 1,
                    path_env: None,
                    godebug: None,
                    stops: 0,
                    tracing_ms: 0.0,
                    startup: None,
                });
            }
            Event::ThreadStarted { pid, .. } => {
                if let Some(p) = self.get(pid) {
                    p.threads += 1;
                }
            }
            Event::Exec {
                pid,
                t_ns,
                exe,
                argv,
                path_env,
                godebug,
                ..
            } => {
                if let Some(p) = self.get(pid) {
                    p.tool = tool_name(&exe, &argv);
                    p.execs.push(ExecSpan {
                        t_ms: ns_to_ms(t_ns),
                        exe: exe.clone(),
                        argv: argv.clone(),
                    });
                    p.exe = exe;
                    p.argv = argv;
                    p.path_env = path_env;
                    p.godebug = godebug;
                    p.startup = None;
                }
            }
            Event::Call(call) => self.calls.push(call),
            Event::InitTrace {
                pid,
                t_ns,
                line,
                hidden,
            } => self.init_lines.push(InitLine {
                pid,
                t_ms: ns_to_ms(t_ns),
                line,
                hidden,
            }),
            Event::ProcessExited {
                pid,
                t_ns,
                exit_code,
                signal,
                stops,
                tracing_ns,
            } => {
                if let Some(p) = self.get(pid) {
                    p.end_ms = Some(ns_to_ms(t_ns));
                    p.exit_code = exit_code;
                    p.signal = signal;
                    p.stops = stops;
                    p.tracing_ms = ns_to_ms(tracing_ns);
                }
            }
            Event::StartupArmed {
                pid,
                table,
                missing,
                unavailable,
            } => {
                if let Some(p) = self.get(pid) {
                    p.startup = Some(StartupCapture {
                        table,
                        missing,
                        unavailable,
                        marks: Vec::new(),
                    });
                }
            }
            Event::StartupMark {
                pid,
                mark,
                t_ns,
                tracing_ns,
            } => {
                if let Some(s) = self.get(pid).and_then(|p| p.startup.as_mut()) {
                    s.marks.push(StartupMark {
                        at: mark.to_string(),
                        t_ms: ns_to_ms(t_ns),
                        golat_ms: ns_to_ms(tracing_ns),
                    });
                }
            }
            Event::Warning { kind, message } => self.warnings.push(Warning { kind, message }),
            Event::CacheHash { line, .. } => self.cachehash.add(&line),
            Event::Stall {
                tid,
                golat,
                who,
                what,
                since_ns,
                blocked_ns,
                returned,
                ..
            } => {
                let message = match self.stalled_call(tid, golat, since_ns) {
                    Some(c) => format!("{who} blocked {:.1} s in {what}", c.dur_us / 1e6),
                    None if returned => {
                        format!("{who} blocked {:.1} s in {what}", blocked_ns as f64 / 1e9)
                    }
                    None => format!(
                        "{who} blocked {:.1} s in {what}, and was still in it when tracing ended",
                        blocked_ns as f64 / 1e9
                    ),
                };
                self.warnings.push(Warning {
                    kind: "stall".into(),
                    message,
                });
            }
        }
    }

    /// The recorded call a stall was in: the thread's own (or, for golat's own copy, a
    /// replayed call) that had begun when the watchdog saw the thread in it and ended after.
    /// Its duration is the exact one; the watchdog's is a tick coarse.
    fn stalled_call(&self, tid: i32, golat: bool, since_ns: u64) -> Option<&Call> {
        let seen_ms = ns_to_ms(since_ns);
        self.calls.iter().rev().find(|c| {
            let ours = if golat {
                c.timing == Timing::Replayed
            } else {
                c.tid == tid && c.timing != Timing::None
            };
            ours && c.t_ms <= seen_ms && c.t_ms + c.dur_us_inclusive / 1000.0 >= seen_ms
        })
    }

    fn get(&mut self, pid: i32) -> Option<&mut Process> {
        let i = *self.index.get(&pid)?;
        self.processes.get_mut(i)
    }

    /// Processes that never exec'd are named after their parent's tool (a fork of `go`
    /// that died before exec is still the go command's work).
    pub fn finish_processes(&mut self) {
        let tools: std::collections::HashMap<i32, String> = self
            .processes
            .iter()
            .map(|p| (p.pid, p.tool.clone()))
            .collect();
        for p in &mut self.processes {
            if p.tool.is_empty() {
                p.tool = tools
                    .get(&p.ppid)
                    .filter(|t| !t.is_empty())
                    .map(|t| format!("{t} (fork)"))
                    .unwrap_or_else(|| "?".into());
            }
        }
    }
}

/// Where the run's clock (`t_ms` = 0) sits on CLOCK_MONOTONIC, so events stamped by another
/// process with that clock (Go's `nanotime`, which stamps runtime traces on Linux) can be
/// placed on the run's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClockAnchor {
    /// CLOCK_MONOTONIC (ns) at `t_ms` = 0: an upper bound, read by the tracer right after
    /// it took its start instant.
    pub t0_monotonic_ns: u64,
    /// How much earlier `t_ms` = 0 can at most be (the clock read just before the start
    /// instant): the guaranteed bound of the alignment error.
    pub bracket_ns: u64,
}

/// The events of a runtime trace (`golat profile --runtime-trace`) that the timeline draws,
/// kept in `go.runtime_trace.timeline`: GC cycles, stop-the-world pauses, goroutine
/// creations and goroutine run slices, each list holding at most `cap` entries (the first
/// ones: startup is what matters), with what was left out counted in `dropped`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RuntimeTimeline {
    /// Trace clock (Go's nanotime: CLOCK_MONOTONIC on Linux) of the trace's first event; the
    /// `*_ns` times below are relative to it.
    pub trace_start_ns: i64,
    /// Trace clock of its last event, relative to `trace_start_ns`.
    pub trace_end_ns: i64,
    /// The traced program's process (the one that created the trace file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Where the run's `t_ms` = 0 sits on CLOCK_MONOTONIC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockAnchor>,
    /// Most entries kept per list.
    pub cap: usize,
    /// One per GCBegin (as `summary.gc.cycles` counts them).
    pub gc: Vec<RuntimeSpan>,
    /// One per STWBegin (as `summary.stw.count` counts them), with its kind.
    pub stw: Vec<RuntimeSpan>,
    /// Goroutine creations (as `summary.goroutines.created` counts them).
    pub created: Vec<GoroutineCreated>,
    /// Intervals a goroutine was running, on its P.
    pub running: Vec<GoroutineRun>,
    /// Entry function of each goroutine created in the trace, by goroutine id.
    #[serde(default)]
    pub entries: BTreeMap<u64, String>,
    pub dropped: RuntimeDropped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeSpan {
    pub start_ns: i64,
    pub dur_ns: i64,
    /// The STW kind (`GC mark termination`, `start trace`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// No end event in the trace: the span is drawn to the trace's end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unfinished: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoroutineCreated {
    pub at_ns: i64,
    pub goid: u64,
    /// The creating goroutine, if the event ran on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoroutineRun {
    pub start_ns: i64,
    pub dur_ns: i64,
    pub goid: u64,
    /// The P it ran on; `None` when it ran without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<u64>,
    /// Times it stopped and ran again on the same P within 10 us with nothing else
    /// between (a `Gosched` loop, a quick wake-up), merged into this slice.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resumed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Entries not kept because a list reached its cap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct RuntimeDropped {
    pub gc: u64,
    pub stw: u64,
    pub created: u64,
    pub running: u64,
}

/// How runtime-trace times map to the run's clock: `t_ms = offset_ms + ns / 1e6`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeAlignment {
    pub offset_ms: f64,
    /// Says how, for the timeline's event args.
    pub how: String,
}

impl RuntimeTimeline {
    /// The timeline events of a report, if its runtime trace recorded them.
    pub fn of(report: &Report) -> Option<RuntimeTimeline> {
        let v = report.go.get("runtime_trace")?.get("timeline")?;
        serde_json::from_value(v.clone()).ok()
    }

    /// Places the trace on the run's clock. Both clocks are CLOCK_MONOTONIC, so with a
    /// clock anchor the mapping is exact up to the anchor's error (and the trace clock's
    /// 64 ns resolution). Without one, or when the result falls outside the program's
    /// lifetime (another time namespace, a report edited by hand), the trace's first event
    /// is put at the program's exec, which places everything early by the runtime's own
    /// start-up (typically well under a millisecond before the tracing package's init).
    pub fn align(&self, program: &Process) -> RuntimeAlignment {
        let exec_ms = program.execs.last().map_or(program.start_ms, |e| e.t_ms);
        if let Some(c) = self.clock {
            let offset_ms = (self.trace_start_ns as f64 - c.t0_monotonic_ns as f64) / 1e6;
            let end_ms = program.end_ms.unwrap_or(f64::INFINITY);
            // 1 ms of slack: the process's exit is stamped when the tracer sees it.
            if offset_ms >= program.start_ms - 1.0
                && offset_ms + self.trace_end_ns as f64 / 1e6 <= end_ms + 1.0
            {
                return RuntimeAlignment {
                    offset_ms,
                    how: format!(
                        "CLOCK_MONOTONIC: the trace's nanotime minus golat's start instant \
                         (anchor bracket {:.1} us)",
                        c.bracket_ns as f64 / 1000.0
                    ),
                };
            }
        }
        RuntimeAlignment {
            offset_ms: exec_ms,
            how: "approximate: trace start placed at the program's exec (no usable clock \
                  anchor), so events appear early by the runtime's start-up"
                .into(),
        }
    }
}

#[cfg(test)]
mod runtime_timeline_tests {
    use super::*;

    fn program() -> Process {
        Process {
            pid: 7,
            ppid: 1,
            tool: "prog".into(),
            exe: "/tmp/prog".into(),
            argv: vec![],
            cwd: "/".into(),
            start_ms: 10.0,
            execs: vec![ExecSpan {
                t_ms: 11.0,
                exe: "/tmp/prog".into(),
                argv: vec![],
            }],
            end_ms: Some(20.0),
            exit_code: Some(0),
            signal: None,
            threads: 1,
            path_env: None,
            godebug: None,
            stops: 0,
            tracing_ms: 0.0,
            startup: None,
        }
    }

    #[test]
    fn clock_anchor_places_the_trace_and_a_wrong_one_falls_back_to_exec() {
        let mut tl = RuntimeTimeline {
            trace_start_ns: 1_000_000_000 + 12_500_000,
            trace_end_ns: 5_000_000,
            clock: Some(ClockAnchor {
                t0_monotonic_ns: 1_000_000_000,
                bracket_ns: 2_000,
            }),
            ..Default::default()
        };
        let a = tl.align(&program());
        assert!((a.offset_ms - 12.5).abs() < 1e-9, "{a:?}");
        assert!(a.how.starts_with("CLOCK_MONOTONIC") && a.how.contains("2.0 us"));
        // A trace that would end after the program died is not trusted to the clock.
        tl.trace_end_ns = 20_000_000;
        let a = tl.align(&program());
        assert_eq!(a.offset_ms, 11.0);
        assert!(a.how.starts_with("approximate"));
        tl.clock = None;
        assert_eq!(tl.align(&program()).offset_ms, 11.0);
    }
}
