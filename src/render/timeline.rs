//! The timeline: Chrome trace-event JSON that ui.perfetto.dev and chrome://tracing open.
//!
//! One process per traced process (named after its tool), one track per thread with the
//! recorded calls as slices (`sys` duration: the round trip taken out), an extra track per
//! process with its lifetime and exec spans, PATH-scan bursts as async slices, the go
//! command's -debug-trace phases, and the program's runtime trace (GC, STW, goroutines)
//! on the program's process. Events are streamed so a report of a million calls never
//! becomes one big JSON value.

use std::collections::BTreeSet;
use std::io::Write;

use serde::Serialize;
use serde_json::{Value, json};

use crate::analyze::{Ctx, result_text, sys_us};
use crate::analyze::{go_phases, path_scan};
use crate::gosrc::debugtrace::DebugTrace;
use crate::model::{Report, RuntimeAlignment, RuntimeTimeline, Timing};

/// Up to this many calls the timeline holds every call; above it, only the long ones.
pub const ALL_CALLS_UP_TO: usize = 200_000;
/// A call at least this long (sys us) is always on the timeline.
pub const LONG_CALL_US: f64 = 100.0;
/// Track ids for the per-process span track and PATH-scan bursts stay clear of real tids
/// (pid_max is at most 2^22).
const SPAN_TID_BASE: i64 = 1 << 30;
/// Tracks of the go command's -debug-trace phases.
const PHASE_TID_BASE: i64 = 1 << 31;
/// Tracks of the program's runtime trace (GC, STW, goroutines created, then one per P).
const RUNTIME_TID_BASE: i64 = PHASE_TID_BASE + (1 << 24);

#[derive(Serialize)]
struct Ev<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    cat: &'a str,
    ph: &'a str,
    ts: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    dur: Option<f64>,
    pid: i32,
    tid: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(skip_serializing_if = "Value::is_null")]
    args: Value,
}

/// What the timeline left out, for the caller to say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub events: u64,
    pub calls: u64,
    pub omitted_calls: u64,
}

/// The two metadata events that name a track (`thread_name`) and place it among its
/// process's tracks (`thread_sort_index`, lower first).
fn track_meta(pid: i32, tid: i64, name: &str, sort_index: i64) -> [Ev<'static>; 2] {
    let meta = |what: &'static str, args: Value| Ev {
        name: what,
        cat: "",
        ph: "M",
        ts: 0.0,
        dur: None,
        pid,
        tid,
        id: None,
        args,
    };
    [
        meta("thread_name", json!({ "name": name })),
        meta("thread_sort_index", json!({ "sort_index": sort_index })),
    ]
}

pub fn write<W: Write>(report: &Report, ctx: &Ctx, w: &mut W) -> std::io::Result<Written> {
    let mut out = Written::default();
    let known: BTreeSet<i32> = report.processes.iter().map(|p| p.pid).collect();
    w.write_all(b"{\"traceEvents\":[\n")?;
    let mut first = true;
    let mut emit = |w: &mut W, ev: &Ev, out: &mut Written| -> std::io::Result<()> {
        if !first {
            w.write_all(b",\n")?;
        }
        first = false;
        serde_json::to_writer(&mut *w, ev)?;
        out.events += 1;
        Ok(())
    };
    let us = |ms: f64| (ms * 1000.0 * 1000.0).round() / 1000.0;

    let mut order: Vec<&crate::model::Process> = report.processes.iter().collect();
    order.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    let mut threads: BTreeSet<(i32, i32)> = BTreeSet::new();
    for c in &report.calls {
        if known.contains(&c.pid) {
            threads.insert((c.pid, c.tid));
        }
    }
    for (rank, p) in order.iter().enumerate() {
        let meta = |name: &'static str, tid: i64, args: Value| Ev {
            name,
            cat: "",
            ph: "M",
            ts: 0.0,
            dur: None,
            pid: p.pid,
            tid,
            id: None,
            args,
        };
        emit(
            w,
            &meta(
                "process_name",
                i64::from(p.pid),
                json!({"name": format!("{} {}", p.tool, p.pid)}),
            ),
            &mut out,
        )?;
        emit(
            w,
            &meta(
                "process_sort_index",
                i64::from(p.pid),
                json!({"sort_index": rank}),
            ),
            &mut out,
        )?;
        let span_tid = SPAN_TID_BASE + i64::from(p.pid);
        for ev in track_meta(p.pid, span_tid, "process / exec", -1) {
            emit(w, &ev, &mut out)?;
        }
        let end = p.end_ms.unwrap_or(report.wall_ms).max(p.start_ms);
        emit(
            w,
            &Ev {
                name: &p.tool,
                cat: "process",
                ph: "X",
                ts: us(p.start_ms),
                dur: Some(us(end - p.start_ms)),
                pid: p.pid,
                tid: span_tid,
                id: None,
                args: json!({
                    "ppid": p.ppid,
                    "argv": p.argv,
                    "exit_code": p.exit_code,
                    "signal": p.signal,
                    "wall_ms (traced)": end - p.start_ms,
                }),
            },
            &mut out,
        )?;
        for (i, e) in p.execs.iter().enumerate() {
            let until = p
                .execs
                .get(i + 1)
                .map_or(end, |n| n.t_ms)
                .clamp(e.t_ms, end.max(e.t_ms));
            let name = format!("exec {}", e.exe.rsplit('/').next().unwrap_or(&e.exe));
            emit(
                w,
                &Ev {
                    name: &name,
                    cat: "exec",
                    ph: "X",
                    ts: us(e.t_ms.max(p.start_ms)),
                    dur: Some(us(until - e.t_ms.max(p.start_ms)).max(0.0)),
                    pid: p.pid,
                    tid: span_tid,
                    id: None,
                    args: json!({"exe": e.exe, "argv": e.argv}),
                },
                &mut out,
            )?;
        }
    }
    for &(pid, tid) in &threads {
        let name = if pid == tid {
            "main thread".to_string()
        } else {
            format!("thread {tid}")
        };
        emit(
            w,
            &Ev {
                name: "thread_name",
                cat: "",
                ph: "M",
                ts: 0.0,
                dur: None,
                pid,
                tid: i64::from(tid),
                id: None,
                args: json!({"name": name}),
            },
            &mut out,
        )?;
    }

    let all = report.calls.len() <= ALL_CALLS_UP_TO;
    for c in &report.calls {
        if !known.contains(&c.pid) {
            out.omitted_calls += 1;
            continue;
        }
        let sys = sys_us(c);
        let keep = all
            || sys.is_some_and(|d| d >= LONG_CALL_US)
            || matches!(c.name.as_str(), "execve" | "execveat" | "connect");
        if !keep {
            out.omitted_calls += 1;
            continue;
        }
        out.calls += 1;
        let cat = if c.name == "connect" {
            "network"
        } else if c.failed() {
            "syscall,failed"
        } else {
            "syscall"
        };
        let timing = match c.timing {
            Timing::Replayed => "replayed",
            Timing::Corrected => "corrected",
            Timing::None => "none",
        };
        emit(
            w,
            &Ev {
                name: &c.name,
                cat,
                ph: "X",
                ts: us(c.t_ms),
                dur: Some(sys.unwrap_or(0.0)),
                pid: c.pid,
                tid: i64::from(c.tid),
                id: None,
                args: json!({
                    "path": c.path.as_deref().or(c.addr.as_deref()),
                    "result": result_text(c),
                    "sys_us": sys,
                    "traced_us": c.dur_us_inclusive,
                    "timing": timing,
                }),
            },
            &mut out,
        )?;
    }

    for (i, b) in path_scan::bursts(report, ctx).iter().enumerate() {
        if !known.contains(&b.pid) {
            continue;
        }
        let name = format!(
            "PATH scan: {} ({} probes, {})",
            b.name,
            b.probes,
            b.found.as_deref().unwrap_or("not found")
        );
        for (ph, t) in [("b", b.start_ms), ("e", b.end_ms)] {
            emit(
                w,
                &Ev {
                    name: &name,
                    cat: "path_scan",
                    ph,
                    ts: us(t),
                    dur: None,
                    pid: b.pid,
                    tid: i64::from(b.tid),
                    id: Some(i as u64 + 1),
                    args: if ph == "b" {
                        json!({"name": b.name, "probes": b.probes, "found": b.found})
                    } else {
                        Value::Null
                    },
                },
                &mut out,
            )?;
        }
    }
    // The go command's own phases (-debug-trace), one track per cmd/go trace tid, placed
    // on the run's clock where the go process created its trace file.
    if let Some(trace) = report
        .go
        .get("debug_trace")
        .and_then(|v| serde_json::from_value::<DebugTrace>(v.clone()).ok())
    {
        let (pid, offset_ms, how) = go_phases::alignment(report, &trace);
        if let Some(pid) = pid.filter(|p| known.contains(p)) {
            let mut tids: BTreeSet<u64> = BTreeSet::new();
            for phase in &trace.phases {
                let tid = PHASE_TID_BASE + phase.tid as i64;
                if tids.insert(phase.tid) {
                    let name = format!("go phases (-debug-trace) {}", phase.tid);
                    for ev in track_meta(pid, tid, &name, -2) {
                        emit(w, &ev, &mut out)?;
                    }
                }
                emit(
                    w,
                    &Ev {
                        name: &phase.name,
                        cat: "go_phase",
                        ph: "X",
                        ts: us(offset_ms + phase.start_ms),
                        dur: Some(us(phase.dur_ms)),
                        pid,
                        tid,
                        id: None,
                        args: json!({"kind": phase.kind, "aligned_by": how}),
                    },
                    &mut out,
                )?;
            }
        }
    }

    let runtime = RuntimeTimeline::of(report);
    let mut runtime_note = Value::Null;
    if let Some(tl) = &runtime
        && let Some(p) = tl
            .pid
            .and_then(|pid| report.processes.iter().rev().find(|p| p.pid == pid))
    {
        let align = tl.align(p);
        runtime_note = json!({
            "pid": p.pid,
            "aligned_by": align.how,
            "cap_per_list": tl.cap,
            "dropped": tl.dropped,
        });
        runtime_events(w, tl, p.pid, &align, &mut |w, ev| emit(w, ev, &mut out))?;
    }

    w.write_all(b"\n],\"displayTimeUnit\":\"ms\",\"otherData\":")?;
    serde_json::to_writer(
        &mut *w,
        &without_nulls(json!({
            "schema": "golat.timeline/v1",
            "command": report.command.join(" "),
            "wall_ms": report.wall_ms,
            "slices": "syscall slices last their sys duration (replayed/corrected, ptrace round trip removed); args.traced_us is what the tracer saw",
            "omitted_calls": out.omitted_calls,
            "omitted_why": format!("above {ALL_CALLS_UP_TO} calls only calls of at least {LONG_CALL_US} us, execs and connects are kept"),
            "runtime_trace": runtime_note,
        })),
    )?;
    w.write_all(b"}\n")?;
    Ok(out)
}

/// The program's runtime trace on its process: a GC track, a stop-the-world track, a track
/// of goroutine creations (instants) and one track per P with the goroutines it ran.
fn runtime_events<W: Write>(
    w: &mut W,
    tl: &RuntimeTimeline,
    pid: i32,
    align: &RuntimeAlignment,
    emit: &mut dyn FnMut(&mut W, &Ev) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let us = |ns: i64| ((align.offset_ms * 1000.0 + ns as f64 / 1000.0) * 1000.0).round() / 1000.0;
    let dur_us = |ns: i64| ns.max(0) as f64 / 1000.0;
    const GC: i64 = RUNTIME_TID_BASE;
    const STW: i64 = RUNTIME_TID_BASE + 1;
    const CREATED: i64 = RUNTIME_TID_BASE + 2;
    const NO_P: i64 = RUNTIME_TID_BASE + 3;
    let p_tid = |p: Option<u64>| p.map_or(NO_P, |p| NO_P + 1 + p.min(1 << 20) as i64);
    let mut tracks: Vec<(i64, String)> = vec![
        (GC, "Go runtime: GC cycles".into()),
        (STW, "Go runtime: stop-the-world".into()),
        (CREATED, "Go runtime: goroutines created".into()),
    ];
    let ps: BTreeSet<Option<u64>> = tl.running.iter().map(|r| r.p).collect();
    for p in ps {
        let name = match p {
            Some(p) => format!("Go runtime: P{p} (goroutines running)"),
            None => "Go runtime: running without a P".into(),
        };
        tracks.push((p_tid(p), name));
    }
    for (rank, (tid, name)) in tracks.iter().enumerate() {
        for ev in track_meta(pid, *tid, name, -10 + rank as i64) {
            emit(w, &ev)?;
        }
    }
    let goroutine = |id: u64| match tl.entries.get(&id) {
        Some(f) => format!("G{id} {f}"),
        None => format!("G{id}"),
    };
    for (tid, cat, list) in [(GC, "go_gc", &tl.gc), (STW, "go_stw", &tl.stw)] {
        for s in list {
            let name = match &s.kind {
                Some(k) => format!("STW: {k}"),
                None => "GC".to_string(),
            };
            emit(
                w,
                &Ev {
                    name: &name,
                    cat,
                    ph: "X",
                    ts: us(s.start_ns),
                    dur: Some(dur_us(s.dur_ns)),
                    pid,
                    tid,
                    id: None,
                    args: without_nulls(json!({
                        "kind": s.kind,
                        "dur_us": s.dur_ns as f64 / 1000.0,
                        "trace_ms": s.start_ns as f64 / 1e6,
                        "unfinished (drawn to the trace's end)": s.unfinished.then_some(true),
                        "aligned_by": align.how,
                    })),
                },
            )?;
        }
    }
    for c in &tl.created {
        let name = format!("go {}", goroutine(c.goid));
        emit(
            w,
            &Ev {
                name: &name,
                cat: "go_create",
                ph: "i",
                ts: us(c.at_ns),
                dur: None,
                pid,
                tid: CREATED,
                id: None,
                args: without_nulls(
                    json!({"goid": c.goid, "parent": c.parent, "trace_ms": c.at_ns as f64 / 1e6}),
                ),
            },
        )?;
    }
    for r in &tl.running {
        let name = goroutine(r.goid);
        emit(
            w,
            &Ev {
                name: &name,
                cat: "go_run",
                ph: "X",
                ts: us(r.start_ns),
                dur: Some(dur_us(r.dur_ns)),
                pid,
                tid: p_tid(r.p),
                id: None,
                args: without_nulls(json!({
                    "goid": r.goid,
                    "p": r.p,
                    "resumed within 10 us (merged)": (r.resumed > 0).then_some(r.resumed),
                })),
            },
        )?;
    }
    Ok(())
}

fn without_nulls(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.retain(|_, x| !x.is_null());
    }
    v
}
