//! Hotspot analysis `startup`: per Go program, the time from its exec to `main.main` split
//! into the runtime's phases at golat's breakpoints (see `tracer::breakpoints`), each with
//! what golat's own stops cost inside it, and how a program that never reached `main.main`
//! ended.
//!
//! A phase runs from one mark to the next; its `golat_ms` is what the process's ptrace stops
//! cost it in between (the calibrated round trip of each stop plus golat's work at it: the
//! symbol lookup at the exec stop, every traced call, every captured inittrace line), and
//! `native_ms` = `ms - golat_ms` is the estimate of the phase without golat.

use serde::{Deserialize, Serialize};

use crate::model::{Process, Report, StartupMark};

/// Programs listed at most.
const TOP: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Startup {
    /// Programs first, then the toolchain's processes, each by exec → end of startup.
    pub processes: Vec<ProcessStartup>,
    /// Go programs whose functions could not be found (their phases are unknown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<Unavailable>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessStartup {
    pub pid: i32,
    pub tool: String,
    pub exe: String,
    pub toolchain: bool,
    /// Where the functions were found: `symtab` or `gopclntab`.
    pub table: crate::gosrc::symbols::Table,
    /// The exec, ms on the run's clock.
    pub exec_ms: f64,
    pub phases: Vec<Phase>,
    /// exec → main.main, when it got there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_ms: Option<f64>,
    /// What golat's stops cost the program over the phases.
    pub golat_ms: f64,
    /// How a program that did not reach main.main ended ("exited with code 3 during
    /// package inits").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// What runs in it, e.g. "package inits (standard library and yours)".
    pub name: String,
    /// The marks it lies between (`exec`, a function name, or `exit`).
    pub from: String,
    pub to: String,
    /// When it started, ms after the exec.
    pub start_ms: f64,
    pub ms: f64,
    pub golat_ms: f64,
    pub native_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unavailable {
    pub pid: i32,
    pub tool: String,
    pub why: String,
}

pub fn compute(report: &Report) -> Option<Startup> {
    let mut processes = Vec::new();
    let mut unavailable = Vec::new();
    for p in &report.processes {
        let Some(s) = &p.startup else { continue };
        if let Some(why) = &s.unavailable {
            unavailable.push(Unavailable {
                pid: p.pid,
                tool: p.tool.clone(),
                why: why.clone(),
            });
            continue;
        }
        let Some(table) = s.table else { continue };
        if let Some(ps) = process_startup(report, p, table, &s.marks, &s.missing) {
            processes.push(ps);
        }
    }
    if processes.is_empty() && unavailable.is_empty() {
        return None;
    }
    let span = |p: &ProcessStartup| p.phases.iter().map(|x| x.ms).sum::<f64>();
    processes.sort_by(|a, b| {
        a.toolchain
            .cmp(&b.toolchain)
            .then(span(b).total_cmp(&span(a)))
    });
    processes.truncate(TOP);
    Some(Startup {
        processes,
        unavailable,
    })
}

/// What runs between two consecutive marks.
fn phase_name(from: &str, to: &str) -> String {
    match (from, to) {
        ("exec", "runtime.schedinit") => "loader and runtime bootstrap (rt0_go, args, osinit)",
        ("runtime.schedinit", "runtime.main") => "scheduler and heap setup (schedinit)",
        ("runtime.main", "runtime.gcenable") => "the runtime package's own inits",
        ("runtime.gcenable", "main.main") => "package inits (standard library and yours)",
        (_, "exit") => return format!("from {from} until the process ended"),
        _ => return format!("{from} → {to}"),
    }
    .to_string()
}

/// Where a program that ended after reaching `last` was.
fn during(last: &str) -> &'static str {
    match last {
        "exec" => "before the Go runtime started",
        "runtime.schedinit" => "in the scheduler's setup",
        "runtime.main" => "in the runtime's own inits",
        "runtime.gcenable" => "during package inits",
        _ => "after main.main began",
    }
}

fn process_startup(
    report: &Report,
    p: &Process,
    table: crate::gosrc::symbols::Table,
    marks: &[StartupMark],
    missing: &[String],
) -> Option<ProcessStartup> {
    let exec = marks.first().filter(|m| m.at == "exec")?;
    let mut points: Vec<(&str, f64, f64)> = marks
        .iter()
        .map(|m| (m.at.as_str(), m.t_ms, m.golat_ms))
        .collect();
    let reached_main = points.iter().any(|(at, _, _)| *at == "main.main");
    let mut ended = None;
    if !reached_main && let Some(end) = p.end_ms {
        // The process's whole held time is known at its end.
        points.push((
            "exit",
            end,
            p.tracing_ms.max(points.last().map_or(0.0, |x| x.2)),
        ));
        let last = marks.last().map_or("exec", |m| m.at.as_str());
        let how = match (p.exit_code, p.signal) {
            (Some(2), _) => "exited with code 2 (a panic, or os.Exit(2))".to_string(),
            (Some(c), _) => format!("exited with code {c}"),
            (_, Some(s)) => format!("was killed by signal {s}"),
            _ => "ended".to_string(),
        };
        ended = Some(format!(
            "{how} {} ({:.1} ms after exec), before main.main",
            during(last),
            end - exec.t_ms
        ));
    }
    let phases: Vec<Phase> = points
        .windows(2)
        .map(|w| {
            let ((from, t0, g0), (to, t1, g1)) = (w[0], w[1]);
            let ms = (t1 - t0).max(0.0);
            let golat_ms = (g1 - g0).clamp(0.0, ms);
            Phase {
                name: phase_name(from, to),
                from: from.to_string(),
                to: to.to_string(),
                start_ms: t0 - exec.t_ms,
                ms,
                golat_ms,
                native_ms: ms - golat_ms,
            }
        })
        .collect();
    let main_ms = marks
        .iter()
        .find(|m| m.at == "main.main")
        .map(|m| m.t_ms - exec.t_ms);
    Some(ProcessStartup {
        pid: p.pid,
        tool: p.tool.clone(),
        exe: p.exe.clone(),
        toolchain: super::init_chain::is_toolchain_in(report, p),
        table,
        exec_ms: exec.t_ms,
        golat_ms: phases.iter().map(|x| x.golat_ms).sum(),
        phases,
        main_ms,
        ended,
        missing: missing.to_vec(),
    })
}
