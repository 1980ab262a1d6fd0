//! Hotspot analysis `go_phases`: the go command's own phases from its `-debug-trace`
//! (stored by the profiler in `report.go["debug_trace"]` as a
//! [`DebugTrace`](crate::gosrc::debugtrace::DebugTrace)), the largest ones and their share
//! of the go command's wall time.
//!
//! The trace's clock is Unix time; the run's is monotonic from golat's start. They are tied
//! by the go process's own `openat(FILE, O_CREAT...)` of the trace file, which cmd/go does
//! right before its first span (`trace.Start`, then `StartSpan("Running <cmd> command")`):
//! `offset_ms` put on a phase's `start_ms` gives run time. Without that call (an untraced
//! run), the go process's exec time is used, which places phases a little early.

use serde::{Deserialize, Serialize};

use crate::gosrc::debugtrace::{DebugTrace, KindTotal};
use crate::model::Report;

const TOP: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoPhases {
    pub trace_file: String,
    /// The go process that wrote the trace, when it could be told.
    #[serde(default)]
    pub go_pid: Option<i32>,
    /// Its wall time (exec → exit); the trace's own span when the process is unknown.
    pub go_wall_ms: f64,
    /// Run-clock ms of the trace's first event; add to a phase's `start_ms`.
    pub offset_ms: f64,
    /// `trace_file_created`, `go_exec` or `none`.
    pub aligned_by: String,
    /// From the first to the last event of the trace.
    pub traced_ms: f64,
    /// The go command finished writing the trace.
    pub complete: bool,
    pub phase_count: u64,
    /// Per phase kind (the name without its package), largest wall time first.
    pub by_kind: Vec<KindShare>,
    /// The longest single phases other than the top-level `Running <cmd> command`.
    pub largest: Vec<PhaseShare>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindShare {
    #[serde(flatten)]
    pub total: KindTotal,
    /// `wall_ms` / the go command's wall time.
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseShare {
    pub name: String,
    pub kind: String,
    pub tid: u64,
    pub depth: u32,
    /// Start on the run's clock.
    pub start_ms: f64,
    pub dur_ms: f64,
    pub share: f64,
}

pub fn analyze(report: &Report) -> Option<serde_json::Value> {
    serde_json::to_value(compute(report)?).ok()
}

/// The typed result (what [`analyze`] serialises).
pub fn compute(report: &Report) -> Option<GoPhases> {
    // Read from the stored value in place: a clone of it (thousands of phases) cost as
    // much as the analysis.
    let trace = DebugTrace::deserialize(report.go.get("debug_trace")?).ok()?;
    if trace.phases.is_empty() {
        return None;
    }
    let (go_pid, offset_ms, aligned_by) = alignment(report, &trace);
    let go_wall_ms = go_pid
        .and_then(|pid| report.processes.iter().rfind(|p| p.pid == pid))
        .and_then(|p| p.exec_wall_ms())
        .filter(|w| *w > 0.0)
        .unwrap_or(trace.end_ms);
    let share = |ms: f64| {
        if go_wall_ms > 0.0 {
            ms / go_wall_ms
        } else {
            0.0
        }
    };
    let by_kind = trace
        .by_kind()
        .into_iter()
        .take(TOP)
        .map(|total| KindShare {
            share: share(total.wall_ms),
            total,
        })
        .collect();
    let mut largest: Vec<PhaseShare> = trace
        .phases
        .iter()
        .filter(|p| !p.name.starts_with("Running "))
        .map(|p| PhaseShare {
            name: p.name.clone(),
            kind: p.kind.clone(),
            tid: p.tid,
            depth: p.depth,
            start_ms: p.start_ms + offset_ms,
            dur_ms: p.dur_ms,
            share: share(p.dur_ms),
        })
        .collect();
    largest.sort_by(|a, b| b.dur_ms.total_cmp(&a.dur_ms));
    largest.truncate(TOP);
    Some(GoPhases {
        trace_file: trace.file.clone(),
        go_pid,
        go_wall_ms,
        offset_ms,
        aligned_by: aligned_by.into(),
        traced_ms: trace.end_ms,
        complete: trace.complete,
        phase_count: trace.phases.len() as u64,
        by_kind,
        largest,
    })
}

/// The go process that wrote `trace` and the run-clock time of the trace's first event
/// (see the module docs): `(pid, offset_ms, how)`.
pub fn alignment(report: &Report, trace: &DebugTrace) -> (Option<i32>, f64, &'static str) {
    let file = trace.file.as_str();
    let created = report.calls.iter().find(|c| {
        !file.is_empty()
            && c.path.as_deref() == Some(file)
            && c.flags.as_deref().is_some_and(|f| f.contains("O_CREAT"))
    });
    let by_argv = report
        .processes
        .iter()
        .find(|p| !file.is_empty() && p.argv.iter().any(|a| a.contains(file)))
        .map(|p| p.pid);
    let root_go = report
        .processes
        .first()
        .filter(|p| p.tool == "go")
        .map(|p| p.pid);
    let pid = created.map(|c| c.pid).or(by_argv).or(root_go);
    if let Some(c) = created {
        return (pid, c.t_ms, "trace_file_created");
    }
    let exec = pid
        .and_then(|pid| report.processes.iter().find(|p| p.pid == pid))
        .and_then(|p| p.execs.last().map(|e| e.t_ms));
    match exec {
        Some(t) => (pid, t, "go_exec"),
        None => (pid, 0.0, "none"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gosrc::debugtrace;

    #[test]
    fn nothing_without_a_trace() {
        let report = crate::model::empty_report_for_tests();
        assert!(analyze(&report).is_none());
        let mut with_bad = report.clone();
        with_bad
            .go
            .insert("debug_trace".into(), serde_json::json!({"nonsense": 1}));
        assert!(analyze(&with_bad).is_none());
        let mut with_trace = report;
        let mut t = debugtrace::parse(
            r#"[{"name":"Running build command","ph":"B","ts":0,"tid":0}
,{"name":"load.PackagesAndErrors","ph":"B","ts":1000,"tid":0}
,{"name":"load.PackagesAndErrors","ph":"E","ts":31000,"tid":0}
,{"name":"Running build command","ph":"E","ts":40000,"tid":0}]"#,
        )
        .unwrap();
        t.file = "/tmp/t.json".into();
        with_trace
            .go
            .insert("debug_trace".into(), serde_json::to_value(&t).unwrap());
        let g = compute(&with_trace).unwrap();
        assert_eq!(g.aligned_by, "none");
        assert_eq!(g.go_wall_ms, 40.0);
        assert_eq!(g.largest[0].name, "load.PackagesAndErrors");
        assert!((g.largest[0].share - 0.75).abs() < 1e-9);
        assert_eq!(g.by_kind[0].total.kind, "Running build command");
    }
}
