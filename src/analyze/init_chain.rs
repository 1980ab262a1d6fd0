//! Hotspot analysis `init_chain`: per Go process, what package initialisation cost before
//! `main.main`, which packages dominate (clock, allocation), which are outside the
//! standard library, which did file-system I/O, and a concrete hint for each top entry.
//!
//! # Aligning inittrace with the run's clock
//!
//! An inittrace line gives `@start` and `clock` relative to the runtime's start
//! (`runtimeInitTime`), a point golat never observes. Two observations pin it down:
//!
//! * Each line is printed right after its init finished, and golat stamps the line when the
//!   last of its 12 writes stops in the tracer (`InitLine::t_ms`, on the run's clock). So for
//!   every line `runtime_start <= t - start - clock - (11 write stops)`, and the smallest of
//!   these bounds over a process's lines is the estimate (its error is about one line's
//!   printing time, plus the truncation of `start`, under 1 ms). It is never put before the
//!   exec.
//! * For I/O attribution golat does not need the estimate much: the init of package *i* runs
//!   strictly between the stamp of line *i-1* and the stamp of line *i*, because the runtime
//!   prints each line before starting the next init. A file-system call of that process in
//!   that bracket belongs to package *i*. The bracket is narrowed from below by
//!   `runtime_start + start - 0.2 ms - the resolution of start`. The first init has no line before it, and the
//!   runtime's own start-up calls (hugepage size, cgroup, mountinfo in schedinit) come just
//!   before it, within that estimate's error: its bracket starts at the latest the runtime
//!   can have started, the same bound with each write stop at its least cost (the
//!   tracee's polled on-CPU cost), so those calls are not charged to it.
//!
//! When golat's startup breakpoints hit (`--startup`, on by default), neither estimate is
//! needed: the runtime's start is the entry of `runtime.main`, the first init's bracket
//! opens at `runtime.gcenable` (the runtime's own inits are over) and `main_at_ms` ends at
//! the entry of `main.main`, all seen at their own stops whatever the capture costs.
//!
//! # Time to `main.main`
//!
//! `main_at_ms` = exec → stamp of the last line, observed under golat. It decomposes into
//! `bootstrap_ms` (exec → runtime start), the first init's `@start`, `inits_ms` (the sum of
//! clocks) and `capture_ms`: the time between one init's end and the next one's start plus
//! the printing of the last line, which natively is a few microseconds per line and under
//! golat is the cost of stopping on every piece of every line. `main_at_ms - capture_ms` is
//! the estimate without golat's capture.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gosrc::inittrace::{self, InitRecord};
use crate::model::{Call, InitLine, Process, Report};

/// Rows kept per list.
const TOP: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitChain {
    /// Programs first, then the Go toolchain's processes; each by init time.
    pub processes: Vec<ProcessInit>,
    /// The slowest package inits of the whole run.
    pub top: Vec<TopInit>,
    /// Captured lines that did not parse (a newer runtime's format, a torn line).
    pub unparsed_lines: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInit {
    pub pid: i32,
    pub tool: String,
    pub exe: String,
    /// A Go toolchain binary (go, compile, link, ...): its inits are Go's, not the user's.
    pub toolchain: bool,
    /// The exec this init chain followed, ms on the run's clock.
    pub exec_ms: f64,
    /// Estimated runtime start (`runtimeInitTime`) on the run's clock.
    pub runtime_start_ms: f64,
    /// exec → runtime start.
    pub bootstrap_ms: f64,
    /// Number of packages with init work.
    pub packages: u32,
    /// Sum of the packages' init clock times.
    pub inits_ms: f64,
    pub bytes: u64,
    pub allocs: u64,
    /// exec → the last init line: ≈ when `main.main` started, as observed under golat.
    pub main_at_ms: f64,
    /// Part of `main_at_ms` spent between inits and printing lines: golat's capture cost.
    pub capture_ms: f64,
    pub top_by_clock: Vec<PkgInit>,
    pub top_by_bytes: Vec<PkgInit>,
    /// Every package outside the standard library, by clock.
    pub non_std: Vec<PkgInit>,
    /// Packages whose init made file-system calls, by clock.
    pub did_io: Vec<PkgInit>,
    /// Non-std packages grouped by module (guessed from the path), by clock.
    pub modules: Vec<ModuleInit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PkgInit {
    pub pkg: String,
    pub std: bool,
    /// Start of the init on the run's clock (estimate, see the module docs).
    pub start_ms: f64,
    pub clock_ms: f64,
    /// The printed clock is truncated to this resolution (1 ms from 10 ms up).
    pub clock_resolution_ms: f64,
    pub bytes: u64,
    pub allocs: u64,
    /// File-system calls made inside the init's window.
    pub io_calls: u32,
    /// Their summed durations (corrected or replayed, as recorded).
    pub io_ms: f64,
    /// Up to three of their paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub io_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleInit {
    pub module: String,
    pub packages: u32,
    pub clock_ms: f64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopInit {
    pub pid: i32,
    pub tool: String,
    #[serde(flatten)]
    pub init: PkgInit,
}

pub fn analyze(report: &Report) -> Option<serde_json::Value> {
    let chain = compute(report)?;
    serde_json::to_value(chain).ok()
}

/// The typed result (what [`analyze`] serialises).
pub fn compute(report: &Report) -> Option<InitChain> {
    if report.init_lines.is_empty() {
        return None;
    }
    // The twelve writes of a line come back to back, so golat is polling for their stops:
    // the polled round trip is theirs (reports before it was measured have only the other).
    let t = &report.timing;
    let stop_us = if t.stop_cost_polled_us > 0.0 {
        t.stop_cost_polled_us
    } else {
        t.stop_cost_us
    };
    let stop_ms = stop_us / 1000.0;
    let least_stop_ms = t.stop_oncpu_cost_polled_us.min(stop_us) / 1000.0;
    let mut unparsed = 0u64;
    // (process index, exec index) → its lines in order.
    let mut groups: BTreeMap<(usize, usize), Vec<(&InitLine, InitRecord)>> = BTreeMap::new();
    for line in &report.init_lines {
        let Ok(rec) = inittrace::parse_line(&line.line) else {
            unparsed += 1;
            continue;
        };
        let Some(pi) = owner(&report.processes, line) else {
            unparsed += 1;
            continue;
        };
        let execs = &report.processes[pi].execs;
        let ei = execs.iter().rposition(|e| e.t_ms <= line.t_ms).unwrap_or(0);
        groups.entry((pi, ei)).or_default().push((line, rec));
    }

    let mut processes: Vec<ProcessInit> = groups
        .into_iter()
        .map(|((pi, ei), lines)| {
            let p = &report.processes[pi];
            let exec_ms = p.execs.get(ei).map_or(p.start_ms, |e| e.t_ms);
            // Breakpoint marks belong to the process's last exec.
            let marks = p
                .startup
                .as_ref()
                .filter(|_| ei + 1 >= p.execs.len())
                .map(|s| s.marks.as_slice())
                .unwrap_or_default();
            process_init(
                p,
                exec_ms,
                marks,
                &lines,
                &report.calls,
                (stop_ms, least_stop_ms),
                report,
            )
        })
        .collect();
    processes.sort_by(|a, b| {
        a.toolchain
            .cmp(&b.toolchain)
            .then(b.inits_ms.total_cmp(&a.inits_ms))
    });

    let mut top: Vec<TopInit> = processes
        .iter()
        .flat_map(|p| {
            p.top_by_clock.iter().map(|i| TopInit {
                pid: p.pid,
                tool: p.tool.clone(),
                init: i.clone(),
            })
        })
        .collect();
    top.sort_by(|a, b| b.init.clock_ms.total_cmp(&a.init.clock_ms));
    top.truncate(TOP);
    Some(InitChain {
        processes,
        top,
        unparsed_lines: unparsed,
    })
}

/// The process a line came from: same pid, alive at the line's time (pids can be reused).
fn owner(processes: &[Process], line: &InitLine) -> Option<usize> {
    processes
        .iter()
        .rposition(|p| {
            p.pid == line.pid
                && p.start_ms <= line.t_ms
                && p.end_ms.is_none_or(|end| line.t_ms <= end + 1e-6)
        })
        .or_else(|| processes.iter().rposition(|p| p.pid == line.pid))
}

fn process_init(
    p: &Process,
    exec_ms: f64,
    marks: &[crate::model::StartupMark],
    lines: &[(&InitLine, InitRecord)],
    calls: &[Call],
    (stop_ms, least_stop_ms): (f64, f64),
    report: &Report,
) -> ProcessInit {
    let toolchain = is_toolchain_in(report, p);
    // Upper bounds of the runtime start, one per line; the last write's stop is after
    // eleven earlier write stops of the same line.
    let mark = |name: &str| marks.iter().find(|m| m.at == name).map(|m| m.t_ms);
    // With golat's breakpoint on runtime.main the runtime's start is seen, not estimated:
    // runtimeInitTime is read a few microseconds into that function.
    let runtime_mark = mark("runtime.main");
    let runtime_start = runtime_mark.unwrap_or_else(|| {
        lines
            .iter()
            .map(|(l, r)| l.t_ms - r.start.value - r.clock.value - 11.0 * stop_ms)
            .fold(f64::INFINITY, f64::min)
            .max(exec_ms)
    });
    let my_calls: Vec<&Call> = calls
        .iter()
        .filter(|c| c.pid == p.pid && c.name != "execve" && c.t_ms >= exec_ms)
        .collect();

    let mut pkgs = Vec::with_capacity(lines.len());
    // The latest the runtime can have started (see the module notes), for the first init.
    let latest_start = mark("runtime.gcenable").unwrap_or_else(|| {
        lines
            .iter()
            .map(|(l, r)| l.t_ms - r.start.value - r.clock.value - 11.0 * least_stop_ms)
            .fold(f64::INFINITY, f64::min)
            .max(exec_ms)
    });
    let mut prev_t = exec_ms;
    for (line, rec) in lines {
        let start_ms = runtime_start + rec.start.value;
        let lower = if prev_t == exec_ms {
            exec_ms.max(latest_start)
        } else {
            // `@98 ms` is printed truncated: the start may lie up to its resolution (1 ms
            // there) earlier than the estimate built on it, and so may the first call.
            prev_t.max(start_ms - 0.2 - rec.start.resolution)
        };
        let inside: Vec<&&Call> = my_calls
            .iter()
            .filter(|c| c.t_ms > lower && c.t_ms <= line.t_ms)
            .collect();
        let mut io_paths: Vec<String> = Vec::new();
        for c in &inside {
            if let Some(path) = &c.path
                && io_paths.len() < 3
                && !io_paths.iter().any(|p| p == path.as_str())
            {
                io_paths.push(path.to_string());
            }
        }
        pkgs.push(PkgInit {
            std: is_std(&rec.pkg),
            pkg: rec.pkg.clone(),
            start_ms,
            clock_ms: rec.clock.value,
            clock_resolution_ms: rec.clock.resolution,
            bytes: rec.bytes,
            allocs: rec.allocs,
            io_calls: inside.len() as u32,
            io_ms: inside.iter().map(|c| c.dur_us / 1000.0).sum(),
            io_paths,
            hint: None,
        });
        prev_t = line.t_ms;
    }

    let first = &lines[0].1;
    let last_line = lines
        .last()
        .map(|(l, _)| *l)
        .expect("groups are never empty");
    let inits_ms: f64 = lines.iter().map(|(_, r)| r.clock.value).sum();
    let main_at_ms = mark("main.main").unwrap_or(last_line.t_ms) - exec_ms;
    let bootstrap_ms = runtime_start - exec_ms;
    let capture_ms = (main_at_ms - bootstrap_ms - first.start.value - inits_ms).max(0.0);

    let modules = modules_of(&pkgs);
    let by = |key: fn(&PkgInit) -> f64, filter: fn(&PkgInit) -> bool, limit: usize| {
        let mut v: Vec<PkgInit> = pkgs.iter().filter(|x| filter(x)).cloned().collect();
        v.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.pkg.cmp(&b.pkg)));
        v.truncate(limit);
        v
    };
    let mut out = ProcessInit {
        pid: p.pid,
        tool: p.tool.clone(),
        exe: p.exe.clone(),
        toolchain,
        exec_ms,
        runtime_start_ms: runtime_start,
        bootstrap_ms,
        packages: lines.len() as u32,
        inits_ms,
        bytes: lines.iter().map(|(_, r)| r.bytes).sum(),
        allocs: lines.iter().map(|(_, r)| r.allocs).sum(),
        main_at_ms,
        capture_ms,
        top_by_clock: by(|x| x.clock_ms, |_| true, TOP),
        top_by_bytes: by(|x| x.bytes as f64, |x| x.bytes > 0, TOP),
        non_std: by(|x| x.clock_ms, |x| !x.std, usize::MAX),
        did_io: by(|x| x.clock_ms, |x| x.io_calls > 0, usize::MAX),
        modules,
    };
    let modules = out.modules.clone();
    for list in [
        &mut out.top_by_clock,
        &mut out.top_by_bytes,
        &mut out.non_std,
        &mut out.did_io,
    ] {
        for pkg in list.iter_mut() {
            pkg.hint = Some(hint(pkg, toolchain, &modules));
        }
    }
    out
}

/// A concrete suggestion for one package's init.
pub fn hint(p: &PkgInit, toolchain: bool, modules: &[ModuleInit]) -> String {
    if toolchain {
        return "the Go toolchain's own init: paid on every go command; fewer go invocations \
                (build once, run the binary) avoid it"
            .into();
    }
    let mb = p.bytes as f64 / (1024.0 * 1024.0);
    if p.io_calls > 0 {
        let first = p.io_paths.first().map_or("", String::as_str);
        return format!(
            "touches the file system during init ({} call{}, e.g. {first}): do it on first use \
             (sync.OnceValue) or embed the data with //go:embed",
            p.io_calls,
            if p.io_calls == 1 { "" } else { "s" }
        );
    }
    if mb >= 1.0 || p.allocs >= 10_000 {
        return format!(
            "builds {mb:.1} MB in {} allocations at init (a package-level table?): build it \
             lazily with sync.OnceValue on first use, or generate it at build time",
            p.allocs
        );
    }
    if !p.std
        && let Some(m) = modules
            .iter()
            .find(|m| m.packages >= 2 && p.pkg.starts_with(&m.module) && m.clock_ms >= 1.0)
    {
        return format!(
            "{} packages of {} cost {:.1} ms of init together: if you use little of it, drop \
             the import that pulls it in",
            m.packages, m.module, m.clock_ms
        );
    }
    if p.clock_ms >= 1.0 {
        if p.std {
            return format!(
                "standard-library init ({:.1} ms): find who imports it (go list -deps, \
                 go mod why) and drop the import if it is not needed",
                p.clock_ms
            );
        }
        return format!(
            "{:.1} ms of work in init with little allocation (a loop, a compile, a wait): \
             move it out of init() into an explicit call, or do it lazily on first use",
            p.clock_ms
        );
    }
    format!("cheap ({:.3} ms): nothing to gain here", p.clock_ms)
}

/// Top-level directories of `$GOROOT/src` (Go 1.26): an import path whose first element
/// is one of these is standard library; `cmd/...` is the toolchain's own.
const STD_ROOTS: &[&str] = &[
    "archive",
    "arena",
    "bufio",
    "builtin",
    "bytes",
    "cmd",
    "cmp",
    "compress",
    "container",
    "context",
    "crypto",
    "database",
    "debug",
    "embed",
    "encoding",
    "errors",
    "expvar",
    "flag",
    "fmt",
    "go",
    "hash",
    "html",
    "image",
    "index",
    "internal",
    "io",
    "iter",
    "log",
    "maps",
    "math",
    "mime",
    "net",
    "os",
    "path",
    "plugin",
    "reflect",
    "regexp",
    "runtime",
    "simd",
    "slices",
    "sort",
    "strconv",
    "strings",
    "structs",
    "sync",
    "syscall",
    "testing",
    "text",
    "time",
    "unicode",
    "unique",
    "unsafe",
    "vendor",
    "weak",
];

/// Standard library (or the toolchain's `cmd/...`): the first element has no dot and is one
/// of GOROOT's top-level directories. `main` and dot-less module paths (`myapp/...`) are not.
pub fn is_std(pkg: &str) -> bool {
    let first = pkg.split('/').next().unwrap_or(pkg);
    !first.contains('.') && STD_ROOTS.contains(&first)
}

const TOOLCHAIN_TOOLS: &[&str] = &[
    "go",
    "compile",
    "link",
    "asm",
    "cgo",
    "vet",
    "cover",
    "buildid",
    "pack",
    "fix",
    "gofmt",
    "doc",
    "nm",
    "objdump",
    "pprof",
    "trace",
    "covdata",
    "preprofile",
    "test2json",
];

/// `is_toolchain`, or a tool `go tool NAME` started (Go 1.24+ builds tools such as nm, pprof
/// and trace into GOCACHE on demand, so their path does not say they are the toolchain's).
pub fn is_toolchain_in(report: &Report, p: &Process) -> bool {
    is_toolchain(p, report.env.goroot.as_deref())
        || report.processes.iter().any(|parent| {
            parent.pid == p.ppid
                && parent.tool == "go"
                && crate::gosrc::goargs::runs_go_tool(&parent.argv)
        })
}

pub fn is_toolchain(p: &Process, goroot: Option<&str>) -> bool {
    if let Some(root) = goroot.filter(|r| !r.is_empty())
        && p.exe
            .starts_with(&format!("{}/", root.trim_end_matches('/')))
    {
        return true;
    }
    let base = p.exe.rsplit('/').next().unwrap_or(&p.exe);
    TOOLCHAIN_TOOLS.contains(&base) && (p.exe.contains("/pkg/tool/") || base == "go")
}

/// The module a non-std package probably belongs to: `host/owner/repo` for paths under a
/// domain, else the first element (`main` stays `main`).
fn module_of(pkg: &str) -> String {
    let parts: Vec<&str> = pkg.split('/').collect();
    let n = if parts[0].contains('.') { 3 } else { 1 };
    parts[..n.min(parts.len())].join("/")
}

fn modules_of(pkgs: &[PkgInit]) -> Vec<ModuleInit> {
    let mut by: BTreeMap<String, ModuleInit> = BTreeMap::new();
    for p in pkgs.iter().filter(|p| !p.std) {
        let m = module_of(&p.pkg);
        let e = by.entry(m.clone()).or_insert(ModuleInit {
            module: m,
            packages: 0,
            clock_ms: 0.0,
            bytes: 0,
        });
        e.packages += 1;
        e.clock_ms += p.clock_ms;
        e.bytes += p.bytes;
    }
    let mut v: Vec<ModuleInit> = by.into_values().collect();
    v.sort_by(|a, b| b.clock_ms.total_cmp(&a.clock_ms));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExecSpan, Timing};

    fn process(pid: i32, exe: &str, exec_ms: f64) -> Process {
        Process {
            pid,
            ppid: 1,
            tool: exe.rsplit('/').next().unwrap().into(),
            exe: exe.into(),
            argv: vec![exe.into()],
            cwd: "/".into(),
            start_ms: exec_ms - 0.5,
            execs: vec![ExecSpan {
                t_ms: exec_ms,
                exe: exe.into(),
                argv: vec![exe.into()],
            }],
            end_ms: Some(exec_ms + 500.0),
            exit_code: Some(0),
            signal: None,
            threads: 3,
            path_env: None,
            godebug: None,
            stops: 0,
            tracing_ms: 0.0,
            startup: None,
        }
    }

    fn call(pid: i32, t_ms: f64, path: &str) -> Call {
        Call {
            pid,
            tid: pid,
            name: "openat".into(),
            path: Some(path.into()),
            path2: None,
            flags: None,
            addr: None,
            ret: Some(3),
            errno: None,
            t_ms,
            dur_us: 20.0,
            dur_us_inclusive: 40.0,
            timing: Timing::Replayed,
            disturbed_us: None,
        }
    }

    fn line(pid: i32, t_ms: f64, text: &str) -> InitLine {
        InitLine {
            pid,
            t_ms,
            line: text.into(),
            hidden: true,
        }
    }

    fn report() -> Report {
        // A program exec'd at 100 ms whose runtime starts at 102 ms; every line is stamped
        // 0.1 ms after its init ended.
        let mut lines = vec![];
        let mut t = 102.0;
        for (pkg, clock, bytes, allocs) in [
            ("runtime", 0.05, 0, 0),
            ("os", 0.08, 416, 9),
            ("example.com/app/slowvar", 40.0, 9_000_000, 150_000),
            ("example.com/app/spin", 15.0, 0, 0),
            ("example.com/app/cfg", 0.3, 2488, 12),
            ("main", 0.02, 64, 1),
        ] {
            let start = t - 102.0;
            t += clock;
            let fmt = |v: f64| {
                if v >= 10.0 {
                    format!("{}", v as u64)
                } else {
                    format!("{v:.3}")
                }
            };
            lines.push(line(
                7,
                t + 0.1,
                &format!(
                    "init {pkg} @{} ms, {} ms clock, {bytes} bytes, {allocs} allocs",
                    fmt(start),
                    fmt(clock)
                ),
            ));
            t += 0.2;
        }
        let cfg_t = lines[4].t_ms;
        // Built from JSON so fields the model gains later take their defaults.
        let mut report: Report = serde_json::from_value(serde_json::json!({
            "schema": "golat.profile/v1", "golat_version": "test", "command": ["app"],
            "cwd": "/", "exit_code": 0, "wall_ms": 600.0, "traced": true,
            "timing": {"stop_cost_us": 0.0, "stops": 0, "entry_only_calls": 0,
                       "exit_stop_calls": 0, "note": ""},
            "env": {"path": ""}, "processes": [], "syscalls": [], "calls": []
        }))
        .unwrap();
        report.processes = vec![process(7, "/tmp/app", 100.0)];
        report.calls = vec![
            // Runtime start-up reads before the first init: nobody's init.
            call(7, 101.0, "/proc/self/cgroup"),
            call(7, cfg_t - 0.2, "/etc/app.conf"),
        ];
        report.init_lines = lines;
        report
    }

    #[test]
    fn ranks_and_attributes() {
        let chain = compute(&report()).unwrap();
        let p = &chain.processes[0];
        assert!(!p.toolchain);
        assert_eq!(p.packages, 6);
        assert_eq!(p.top_by_clock[0].pkg, "example.com/app/slowvar");
        assert_eq!(p.top_by_clock[1].pkg, "example.com/app/spin");
        assert_eq!(p.top_by_bytes[0].pkg, "example.com/app/slowvar");
        assert_eq!(chain.top[0].init.pkg, "example.com/app/slowvar");
        // Runtime start recovered within the 0.1 ms printing delay.
        assert!(
            (p.runtime_start_ms - 102.0).abs() <= 0.11,
            "{}",
            p.runtime_start_ms
        );
        assert_eq!(p.did_io.len(), 1);
        assert_eq!(p.did_io[0].pkg, "example.com/app/cfg");
        assert_eq!(p.did_io[0].io_paths, ["/etc/app.conf"]);
        let non_std: Vec<_> = p.non_std.iter().map(|x| x.pkg.as_str()).collect();
        assert_eq!(
            non_std,
            [
                "example.com/app/slowvar",
                "example.com/app/spin",
                "example.com/app/cfg",
                "main"
            ]
        );
        // exec → last line: 2 ms bootstrap + inits + 0.2 ms gaps + 0.1 ms last print.
        let inits = 0.05 + 0.08 + 40.0 + 15.0 + 0.3 + 0.02;
        assert!((p.inits_ms - inits).abs() < 1e-9);
        assert!((p.main_at_ms - (2.0 + inits + 5.0 * 0.2 + 0.1)).abs() < 0.01);
        assert!((p.capture_ms - 1.1).abs() < 0.15, "{}", p.capture_ms);
    }

    #[test]
    fn hints_name_the_fix() {
        let chain = compute(&report()).unwrap();
        let p = &chain.processes[0];
        let hint = |name: &str| {
            p.top_by_clock
                .iter()
                .find(|x| x.pkg == name)
                .and_then(|x| x.hint.clone())
                .unwrap()
        };
        assert!(hint("example.com/app/slowvar").contains("sync.OnceValue"));
        assert!(hint("example.com/app/spin").contains("move it out of init()"));
        assert!(hint("example.com/app/cfg").contains("/etc/app.conf"));
    }

    #[test]
    fn std_classification() {
        for pkg in [
            "fmt",
            "net/http",
            "internal/godebug",
            "vendor/golang.org/x/net/idna",
            "cmd/go/internal/load",
        ] {
            assert!(is_std(pkg), "{pkg}");
        }
        for pkg in [
            "main",
            "example.com/x",
            "myapp/internal/db",
            "github.com/spf13/cobra",
        ] {
            assert!(!is_std(pkg), "{pkg}");
        }
        assert_eq!(
            module_of("github.com/spf13/cobra/doc"),
            "github.com/spf13/cobra"
        );
        assert_eq!(module_of("myapp/internal/db"), "myapp");
    }

    #[test]
    fn no_lines_no_hotspot_and_garbage_counts() {
        let mut r = report();
        r.init_lines.clear();
        assert!(analyze(&r).is_none());
        let mut r = report();
        r.init_lines.push(line(7, 400.0, "init torn @"));
        assert_eq!(compute(&r).unwrap().unparsed_lines, 1);
    }

    proptest::proptest! {
        #[test]
        fn any_lines_and_times_never_panic(
            lines in proptest::collection::vec(
                (0i32..3, -10.0f64..1000.0, "[a-z./]{1,12}", 0u32..20000, 0u32..20000, "\\PC{0,20}"),
                0..30,
            ),
            calls in proptest::collection::vec((0i32..3, -10.0f64..1000.0), 0..20),
        ) {
            let mut r = report();
            r.processes.push(process(1, "/usr/local/go/bin/go", 5.0));
            r.init_lines = lines
                .into_iter()
                .map(|(pid, t, pkg, start, clock, junk)| {
                    let text = if junk.len() % 3 == 0 {
                        junk
                    } else {
                        format!("init {pkg} @{}.{} ms, {} ms clock, 1 bytes, 1 allocs", start / 1000, start % 10, clock)
                    };
                    line(pid, t, &text)
                })
                .collect();
            r.calls = calls.into_iter().map(|(pid, t)| call(pid, t, "/x")).collect();
            if let Some(chain) = compute(&r) {
                for p in &chain.processes {
                    proptest::prop_assert!(p.capture_ms >= 0.0);
                    proptest::prop_assert!(p.runtime_start_ms >= p.exec_ms);
                }
            }
        }
    }
}
