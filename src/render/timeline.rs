//! The timeline: Chrome trace-event JSON that ui.perfetto.dev and chrome://tracing open.
//!
//! One process per traced process (named after its tool), one track per thread with the
//! recorded calls as slices (`sys` duration: the round trip taken out), an extra track per
//! process with its lifetime and exec spans, PATH-scan bursts as async slices, the go
//! command's -debug-trace phases (packed into lanes, [`lanes`]), and the program's runtime
//! trace (GC, STW, goroutines) on the program's process. Events are streamed so a report of
//! a million calls never becomes one big JSON value.
//!
//! Slices of one track must nest or be disjoint: trace processor (ui.perfetto.dev) drops a
//! complete slice that crosses the end of another on its track
//! (`slice_drop_overlapping_complete_event`). It reads `ts` and `dur` separately, as
//! `(x * 1000.0) as i64` ns for a fractional number, which can come out 1 ns short, so
//! slices that share a boundary (a process and its last exec, nested go phases) are written
//! in whole microseconds, which it reads exactly; every track's comment below says why its
//! slices nest.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::analyze::{Ctx, result_text, sys_us};
use crate::analyze::{exec, go_phases, path_scan};
use crate::gosrc::debugtrace::DebugTrace;
use crate::model::{GoroutineRun, Report, RuntimeAlignment, RuntimeSpan, RuntimeTimeline, Timing};

/// Up to this many calls the timeline holds every call; above it, only the long ones.
pub const ALL_CALLS_UP_TO: usize = 200_000;
/// A call at least this long (sys us) is always on the timeline.
pub const LONG_CALL_US: f64 = 100.0;
/// Track ids for the per-process span track and PATH-scan bursts stay clear of real tids
/// (pid_max is at most 2^22).
const SPAN_TID_BASE: i64 = 1 << 30;
/// Tracks of the go command's -debug-trace phases, one per lane.
const PHASE_TID_BASE: i64 = 1 << 31;
/// Sort index of the first phase lane: above the process / exec track (-1), in lane order.
const PHASE_SORT_BASE: i64 = -(1 << 20);
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

/// Puts slices (`(start, end)` in the integer units written to the file) on lanes so that
/// on every lane any two slices either nest or are disjoint; returns each slice's lane, in
/// input order, lanes numbered from 0 with as few as the greedy packing needs.
///
/// Slices are taken by start, the longer first at equal starts (so of two with the same
/// start the longer is the parent, and identical ones nest). Each goes on the first lane
/// whose open slices have all ended by its start (an end equal to the start counts as
/// ended: the two touch), or whose innermost open slice it fits inside (its end at most
/// that slice's end); a slice that fits nowhere opens a new lane. A zero-length slice
/// therefore always fits on lane 0. An end before the start is taken as the start.
pub fn lanes(slices: &[(i64, i64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..slices.len()).collect();
    let span = |i: usize| {
        let (start, end) = slices[i];
        (start, end.max(start))
    };
    order.sort_by_key(|&i| {
        let (start, end) = span(i);
        (start, std::cmp::Reverse(end), i)
    });
    let mut lane = vec![0; slices.len()];
    // Per lane, the ends of its open slices, outermost first (a stack: they nest).
    let mut open: Vec<Vec<i64>> = Vec::new();
    for i in order {
        let (start, end) = span(i);
        let fits = |stack: &mut Vec<i64>| {
            // Later slices start no earlier, so what ended by now is closed for them too.
            while stack.last().is_some_and(|&e| e <= start) {
                stack.pop();
            }
            stack.last().is_none_or(|&e| end <= e)
        };
        let l = match open.iter_mut().position(fits) {
            Some(l) => l,
            None => {
                open.push(Vec::new());
                open.len() - 1
            }
        };
        open[l].push(end);
        lane[i] = l;
    }
    lane
}

/// Whole microseconds of a run-clock time in ms: what the go-phase and process / exec
/// tracks write, and what their nesting is decided on.
fn whole_us(ms: f64) -> i64 {
    (ms * 1000.0).round() as i64
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
        // The process's life and its execs, one after the other inside it, on one track:
        // the boundaries are whole microseconds, each exec's end the next one's start (or
        // the process's end), so they nest exactly as written. A pid is used again only
        // after its process's exit reached golat (a traced process's exit is reported to
        // its tracer before its parent can reap it), so two processes of one pid follow
        // each other on this track.
        let end = p.end_ms.unwrap_or(report.wall_ms).max(p.start_ms);
        let (born_us, died_us) = (
            whole_us(p.start_ms),
            whole_us(end).max(whole_us(p.start_ms)),
        );
        emit(
            w,
            &Ev {
                name: &p.tool,
                cat: "process",
                ph: "X",
                ts: born_us as f64,
                dur: Some((died_us - born_us) as f64),
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
        // Exec starts, made non-decreasing and no earlier than the process's start.
        let mut from_us = born_us;
        let starts: Vec<i64> = p
            .execs
            .iter()
            .map(|e| {
                from_us = from_us.max(whole_us(e.t_ms));
                from_us
            })
            .collect();
        for (i, e) in p.execs.iter().enumerate() {
            let start_us = starts[i];
            // Until the next exec or the process's end; an exec seen after the end is a
            // zero-length slice there.
            let until_us = starts
                .get(i + 1)
                .copied()
                .unwrap_or(died_us)
                .min(died_us)
                .max(start_us);
            let name = format!("exec {}", e.exe.rsplit('/').next().unwrap_or(&e.exe));
            emit(
                w,
                &Ev {
                    name: &name,
                    cat: "exec",
                    ph: "X",
                    ts: start_us as f64,
                    dur: Some((until_us - start_us) as f64),
                    pid: p.pid,
                    tid: span_tid,
                    id: None,
                    args: json!({"exe": e.exe, "argv": e.argv}),
                },
                &mut out,
            )?;
            // The startup phases of the last exec, one after the other inside its slice.
            if i + 1 == p.execs.len()
                && let Some(s) = &p.startup
            {
                let mut at_us = start_us;
                let bounds: Vec<(&str, i64, f64)> = s
                    .marks
                    .iter()
                    .map(|m| {
                        at_us = at_us.max(whole_us(m.t_ms)).min(until_us);
                        (m.at.as_str(), at_us, m.golat_ms)
                    })
                    .collect();
                for w2 in bounds.windows(2) {
                    let ((from, t0, g0), (to, t1, g1)) = (w2[0], w2[1]);
                    let name = format!("startup: {from} → {to}");
                    emit(
                        w,
                        &Ev {
                            name: &name,
                            cat: "startup",
                            ph: "X",
                            ts: t0 as f64,
                            dur: Some((t1 - t0) as f64),
                            pid: p.pid,
                            tid: span_tid,
                            id: None,
                            args: json!({"golat_ms": g1 - g0}),
                        },
                        &mut out,
                    )?;
                }
            }
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

    // Call slices on their thread's track cannot overlap: a thread is in one call at a
    // time, a slice starts at the call's entry stop and lasts its sys time, which is at
    // most what the tracer saw until the exit stop (corrected: entry to exit less the round
    // trip; replayed: measured while the thread was held at its entry stop), and the
    // thread's next entry stop comes after it was resumed and ran to its next call, at least
    // the round trip later, far more than the 1 ns trace processor's reading of fractional
    // microseconds can move an end. A call cut short by the thread's death has no duration
    // (a zero-length slice). So calls stay at sub-microsecond precision.
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
                args: {
                    let mut args = json!({
                        "path": c.path.as_deref().or(c.addr.as_deref()),
                        "result": result_text(c),
                        "sys_us": sys,
                        "traced_us": c.dur_us_inclusive,
                        "timing": timing,
                    });
                    if c.name == "connect" {
                        let (host, source, port) =
                            exec::name_target(exec::connect_addr(c), &report.hosts);
                        args["host"] = json!(host);
                        args["host_source"] = json!(source);
                        args["port"] = json!(port);
                        args["sys_ms"] = json!(sys.map(|us| us / 1000.0));
                    }
                    args
                },
            },
            &mut out,
        )?;
    }

    // PATH-scan bursts are async slices ("b"/"e") with an id of their own: trace processor
    // keys an async track by its id, not by `tid`, so a burst (one "b", one "e") never
    // shares a track with another slice.
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
    // The go command's own phases (-debug-trace), placed on the run's clock where the go
    // process created its trace file. cmd/go's spans of one trace tid mostly nest, but a
    // goroutine it starts without a trace context of its own writes its spans in its
    // parent's tid, where they cross the parent's (a cold build had thousands), and
    // trace processor drops a crossing slice. So all phases are packed into lanes
    // ([`lanes`]) on their whole-microsecond bounds, one track per lane (as many as
    // overlap at once, not one per cmd/go tid), each written in start order (the longer
    // first at equal starts: the order in which they nest); `trace_tid` keeps the tid.
    if let Some(trace) = report
        .go
        .get("debug_trace")
        .and_then(|v| DebugTrace::deserialize(v).ok())
    {
        let (pid, offset_ms, how) = go_phases::alignment(report, &trace);
        if let Some(pid) = pid.filter(|p| known.contains(p)) {
            let bounds: Vec<(i64, i64)> = trace
                .phases
                .iter()
                .map(|p| {
                    let start = whole_us(offset_ms + p.start_ms);
                    (
                        start,
                        whole_us(offset_ms + p.start_ms + p.dur_ms).max(start),
                    )
                })
                .collect();
            let lane = lanes(&bounds);
            let count = lane.iter().max().map_or(0, |l| l + 1);
            for l in 0..count {
                let name = format!("go phases (-debug-trace) lane {}", l + 1);
                let tid = PHASE_TID_BASE + l as i64;
                for ev in track_meta(pid, tid, &name, PHASE_SORT_BASE + l as i64) {
                    emit(w, &ev, &mut out)?;
                }
            }
            // A build action's slice says whether it compiled or came from the cache.
            let outcome: std::collections::HashMap<String, bool> = report
                .go
                .get("build_cache")
                .and_then(|v| crate::analyze::build_cache::BuildCacheRecord::deserialize(v).ok())
                .map(|r| {
                    r.packages
                        .into_iter()
                        .map(|p| (p.package, p.rebuilt))
                        .collect()
                })
                .unwrap_or_default();
            let mut order: Vec<usize> = (0..bounds.len()).collect();
            order.sort_by_key(|&i| (bounds[i].0, std::cmp::Reverse(bounds[i].1), i));
            for i in order {
                let (phase, (start, end)) = (&trace.phases[i], bounds[i]);
                let mut args =
                    json!({"kind": phase.kind, "aligned_by": how, "trace_tid": phase.tid});
                // Go 1.26 splits a build into "build check cache X" and "build X".
                if let Some(rebuilt) = phase
                    .name
                    .strip_prefix("Executing action (build check cache ")
                    .or_else(|| phase.name.strip_prefix("Executing action (build "))
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|pkg| outcome.get(pkg))
                {
                    args["build_cache"] = json!(if *rebuilt { "rebuilt" } else { "cached" });
                }
                emit(
                    w,
                    &Ev {
                        name: &phase.name,
                        cat: "go_phase",
                        ph: "X",
                        ts: start as f64,
                        dur: Some((end - start) as f64),
                        pid,
                        tid: PHASE_TID_BASE + lane[i] as i64,
                        id: None,
                        args,
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
            "calls_not_in_report": (report.calls_omitted > 0).then_some(report.calls_omitted),
            "calls_not_in_report_why": (report.calls_omitted > 0).then_some(
                "a saved --json report of a big run keeps only its slowest calls (--json-calls); --events has them all"
            ),
        })),
    )?;
    w.write_all(b"}\n")?;
    Ok(out)
}

/// The program's runtime trace on its process: a GC track, a stop-the-world track, a track
/// of goroutine creations (instants) and one track per P with the goroutines it ran.
///
/// The runtime's own rules keep each track's slices apart: one GC cycle at a time, one
/// stop-the-world at a time (worldsema), one goroutine at a time on a P, each begin paired
/// with its end and only the last one left open to the trace's end. Goroutines running
/// without a P have no such rule, and a trace decoded wrongly would break the others, so
/// every track also goes through [`lanes`] on the written ns: a slice that would cross
/// another goes on an extra track beside it (`..., lane 2`) instead of being dropped by
/// trace processor, and a trace that keeps the rules gets one lane per track. These slices
/// keep ns precision (goroutines run for microseconds); neighbours on a track are in practice
/// at least a trace-clock tick (16-64 ns) apart, as an M's trace timestamps strictly
/// increase, much more than the 1 ns trace processor's reading of a fractional microsecond
/// can move a bound.
fn runtime_events<W: Write>(
    w: &mut W,
    tl: &RuntimeTimeline,
    pid: i32,
    align: &RuntimeAlignment,
    emit: &mut dyn FnMut(&mut W, &Ev) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // Written ns: the offset is rounded once, so times equal in the trace stay equal.
    let offset_ns = (align.offset_ms * 1e6).round() as i64;
    let at_ns = |ns: i64| offset_ns + ns;
    let us = |ns: i64| ns as f64 / 1000.0;
    const GC: i64 = RUNTIME_TID_BASE;
    const STW: i64 = RUNTIME_TID_BASE + 1;
    const CREATED: i64 = RUNTIME_TID_BASE + 2;
    const NO_P: i64 = RUNTIME_TID_BASE + 3;
    // Extra lanes of a track (see above), numbered in order after every P's track, and
    // below 2^32 (trace processor reads a tid as 32 bits).
    const EXTRA_LANES: i64 = RUNTIME_TID_BASE + (1 << 22);
    let p_tid = |p: Option<u64>| p.map_or(NO_P, |p| NO_P + 1 + p.min(1 << 20) as i64);
    let goroutine = |id: u64| match tl.entries.get(&id) {
        Some(f) => format!("G{id} {f}"),
        None => format!("G{id}"),
    };
    /// A slice of a track: written start and end (ns) and what it draws.
    enum Of<'a> {
        Span(&'a RuntimeSpan, &'static str),
        Run(&'a GoroutineRun),
    }
    struct Track<'a> {
        tid: i64,
        name: String,
        slices: Vec<(i64, i64, Of<'a>)>,
    }
    let track = |tid: i64, name: String| Track {
        tid,
        name,
        slices: Vec::new(),
    };
    let mut tracks: Vec<Track> = vec![
        track(GC, "Go runtime: GC cycles".into()),
        track(STW, "Go runtime: stop-the-world".into()),
        track(CREATED, "Go runtime: goroutines created".into()),
    ];
    for (i, cat, list) in [(0, "go_gc", &tl.gc), (1, "go_stw", &tl.stw)] {
        for s in list {
            let start = at_ns(s.start_ns);
            tracks[i]
                .slices
                .push((start, start + s.dur_ns.max(0), Of::Span(s, cat)));
        }
    }
    let mut of_p: BTreeMap<Option<u64>, usize> = tl.running.iter().map(|r| (r.p, 0)).collect();
    for (p, i) in &mut of_p {
        let name = match p {
            Some(p) => format!("Go runtime: P{p} (goroutines running)"),
            None => "Go runtime: running without a P".into(),
        };
        *i = tracks.len();
        tracks.push(track(p_tid(*p), name));
    }
    for r in &tl.running {
        let i = of_p[&r.p];
        let start = at_ns(r.start_ns);
        tracks[i]
            .slices
            .push((start, start + r.dur_ns.max(0), Of::Run(r)));
    }

    // Per track, the tid of each slice's lane, and the tracks' metadata in order.
    let mut rank = 0i64;
    let mut extra = EXTRA_LANES;
    let mut placed: Vec<Vec<i64>> = Vec::with_capacity(tracks.len());
    for t in &tracks {
        let bounds: Vec<(i64, i64)> = t.slices.iter().map(|(s, e, _)| (*s, *e)).collect();
        let lane = lanes(&bounds);
        let count = lane.iter().max().map_or(1, |l| l + 1);
        let mut tids = vec![t.tid];
        for _ in 1..count {
            tids.push(extra);
            extra += 1;
        }
        for (l, &tid) in tids.iter().enumerate() {
            let name = if l == 0 {
                t.name.clone()
            } else {
                format!("{}, lane {}", t.name, l + 1)
            };
            for ev in track_meta(pid, tid, &name, -10 + rank) {
                emit(w, &ev)?;
            }
            rank += 1;
        }
        placed.push(lane.iter().map(|&l| tids[l]).collect());
    }

    for c in &tl.created {
        let name = format!("go {}", goroutine(c.goid));
        emit(
            w,
            &Ev {
                name: &name,
                cat: "go_create",
                ph: "i",
                ts: us(at_ns(c.at_ns)),
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
    for (t, tids) in tracks.iter().zip(&placed) {
        // In start order, the longer first at equal starts: the order in which they nest.
        let mut order: Vec<usize> = (0..t.slices.len()).collect();
        order.sort_by_key(|&i| (t.slices[i].0, std::cmp::Reverse(t.slices[i].1), i));
        for i in order {
            let (start, end, of) = &t.slices[i];
            let (name, cat, args) = match of {
                Of::Span(s, cat) => (
                    match &s.kind {
                        Some(k) => format!("STW: {k}"),
                        None => "GC".to_string(),
                    },
                    *cat,
                    without_nulls(json!({
                        "kind": s.kind,
                        "dur_us": s.dur_ns as f64 / 1000.0,
                        "trace_ms": s.start_ns as f64 / 1e6,
                        "unfinished (drawn to the trace's end)": s.unfinished.then_some(true),
                        "aligned_by": align.how,
                    })),
                ),
                Of::Run(r) => (
                    goroutine(r.goid),
                    "go_run",
                    without_nulls(json!({
                        "goid": r.goid,
                        "p": r.p,
                        "resumed within 10 us (merged)": (r.resumed > 0).then_some(r.resumed),
                    })),
                ),
            };
            emit(
                w,
                &Ev {
                    name: &name,
                    cat,
                    ph: "X",
                    ts: us(*start),
                    dur: Some(us(end - start)),
                    pid,
                    tid: tids[i],
                    id: None,
                    args,
                },
            )?;
        }
    }
    Ok(())
}

fn without_nulls(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.retain(|_, x| !x.is_null());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gosrc::debugtrace;
    use crate::model::{ExecSpan, Process};

    /// Nested (either way) or disjoint; slices that touch are disjoint.
    fn compatible(a: (i64, i64), b: (i64, i64)) -> bool {
        a.1 <= b.0 || b.1 <= a.0 || (a.0 <= b.0 && b.1 <= a.1) || (b.0 <= a.0 && a.1 <= b.1)
    }

    /// `lanes`, checked: every two slices of a lane are compatible.
    fn checked(slices: &[(i64, i64)]) -> Vec<usize> {
        let lane = lanes(slices);
        assert_eq!(lane.len(), slices.len());
        let norm = |i: usize| (slices[i].0, slices[i].1.max(slices[i].0));
        for i in 0..slices.len() {
            for j in i + 1..slices.len() {
                if lane[i] == lane[j] {
                    assert!(
                        compatible(norm(i), norm(j)),
                        "{:?} and {:?} cross on lane {}",
                        slices[i],
                        slices[j],
                        lane[i]
                    );
                }
            }
        }
        lane
    }

    #[test]
    fn partial_overlaps_go_on_other_lanes_and_nested_ones_stay() {
        assert_eq!(checked(&[]), Vec::<usize>::new());
        // Crossing: the later one moves.
        assert_eq!(checked(&[(0, 10), (5, 15)]), [0, 1]);
        // Input order does not matter: the earlier start keeps lane 0.
        assert_eq!(checked(&[(5, 15), (0, 10)]), [1, 0]);
        // Nested, touching, and after all ended: one lane.
        assert_eq!(
            checked(&[(0, 10), (2, 8), (3, 4), (10, 20), (25, 30)]),
            [0; 5]
        );
        // (5, 12) crosses the end of (2, 8) and of (0, 10); (9, 11) crosses (0, 10) on
        // lane 0 but nests in (5, 12) on lane 1; (11, 13) starts after lane 0 ended.
        assert_eq!(
            checked(&[(0, 10), (2, 8), (5, 12), (9, 11), (11, 13), (20, 21)]),
            [0, 0, 1, 1, 0, 0]
        );
        // Each crosses both before it: three lanes.
        assert_eq!(checked(&[(0, 10), (5, 15), (8, 20)]), [0, 1, 2]);
    }

    #[test]
    fn equal_starts_nest_the_shorter_inside_the_longer() {
        // Whatever the input order, the longest is the parent.
        assert_eq!(checked(&[(0, 5), (0, 10), (0, 7)]), [0; 3]);
        // Identical slices nest.
        assert_eq!(checked(&[(3, 9), (3, 9), (3, 9)]), [0; 3]);
        // Equal start, but the other one crosses the end of the first's parent.
        assert_eq!(checked(&[(0, 10), (5, 8), (5, 12)]), [0, 0, 1]);
    }

    #[test]
    fn zero_length_slices_always_fit_on_the_first_lane() {
        let slices = [
            (0, 10),
            (5, 15),  // lane 1
            (0, 0),   // at the start of (0, 10)
            (10, 10), // at its end, which is where (5, 15) is open
            (7, 7),
            (15, 15),
            (40, 40),
            (8, 3), // ends before it starts: taken as (8, 8)
        ];
        assert_eq!(checked(&slices), [0, 1, 0, 0, 0, 0, 0, 0]);
    }

    proptest::proptest! {
        #[test]
        fn any_slices_nest_or_are_disjoint_per_lane(
            raw in proptest::collection::vec((0i64..60, 0i64..30), 0..50)
        ) {
            let slices: Vec<(i64, i64)> = raw.iter().map(|&(s, d)| (s, s + d)).collect();
            let lane = checked(&slices);
            // Lanes are numbered from 0 without gaps.
            let used: BTreeSet<usize> = lane.iter().copied().collect();
            proptest::prop_assert!(used.iter().copied().eq(0..used.len()));
            // Slices that already nest or are disjoint all stay on one lane.
            let mut family: Vec<(i64, i64)> = Vec::new();
            for s in slices {
                if family.iter().all(|&f| compatible(f, s)) {
                    family.push(s);
                }
            }
            proptest::prop_assert!(checked(&family).iter().all(|&l| l == 0));
        }
    }

    fn process(pid: i32, tool: &str, start_ms: f64, execs: Vec<f64>, end_ms: f64) -> Process {
        Process {
            pid,
            ppid: 1,
            tool: tool.into(),
            exe: format!("/usr/bin/{tool}"),
            argv: vec![tool.into()],
            cwd: "/".into(),
            start_ms,
            execs: execs
                .into_iter()
                .map(|t_ms| ExecSpan {
                    t_ms,
                    exe: format!("/usr/bin/{tool}"),
                    argv: vec![],
                })
                .collect(),
            end_ms: Some(end_ms),
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
    fn runtime_slices_that_would_cross_get_an_extra_lane_beside_their_track() {
        let mut r = crate::model::empty_report_for_tests();
        r.wall_ms = 100.0;
        r.processes.push(process(7, "prog", 1.0, vec![2.0], 90.0));
        let run = |start_ns: i64, dur_ns: i64, goid: u64, p: Option<u64>| GoroutineRun {
            start_ns,
            dur_ns,
            goid,
            p,
            resumed: 0,
        };
        let tl = RuntimeTimeline {
            trace_end_ns: 50_000,
            pid: Some(7),
            cap: 100,
            gc: vec![RuntimeSpan {
                start_ns: 1_000,
                dur_ns: 5_000,
                kind: None,
                unfinished: false,
            }],
            running: vec![
                // P0 one after the other, touching.
                run(0, 10_000, 1, Some(0)),
                run(10_000, 5_000, 2, Some(0)),
                // Without a P, two at once.
                run(20_000, 10_000, 3, None),
                run(25_000, 10_000, 4, None),
            ],
            ..Default::default()
        };
        r.go.insert(
            "runtime_trace".into(),
            json!({ "timeline": serde_json::to_value(&tl).unwrap() }),
        );
        let ctx = Ctx::new(&r, false);
        let mut buf = Vec::new();
        write(&r, &ctx, &mut buf).unwrap();
        let v: Value = serde_json::from_slice(&buf).unwrap();
        let events = v["traceEvents"].as_array().unwrap();
        let track_of = |tid: &Value| {
            events
                .iter()
                .find(|e| e["name"] == "thread_name" && e["pid"] == 7 && &e["tid"] == tid)
                .map(|e| e["args"]["name"].as_str().unwrap().to_string())
                .unwrap()
        };
        let runs: Vec<(String, String)> = events
            .iter()
            .filter(|e| e["cat"] == "go_run")
            .map(|e| (e["name"].as_str().unwrap().into(), track_of(&e["tid"])))
            .collect();
        let want = [
            ("G1", "Go runtime: P0 (goroutines running)"),
            ("G2", "Go runtime: P0 (goroutines running)"),
            ("G3", "Go runtime: running without a P"),
            ("G4", "Go runtime: running without a P, lane 2"),
        ];
        let mut runs = runs;
        runs.sort();
        assert_eq!(
            runs,
            want.map(|(g, t)| (g.to_string(), t.to_string())).to_vec()
        );
        // Placed at the program's exec (no clock anchor), to the ns.
        let g1 = events.iter().find(|e| e["name"] == "G1").unwrap();
        assert_eq!(
            (g1["ts"].as_f64(), g1["dur"].as_f64()),
            (Some(2000.0), Some(10.0))
        );
        let g2 = events.iter().find(|e| e["name"] == "G2").unwrap();
        assert_eq!(g2["ts"].as_f64(), Some(2010.0));
        // The extra lane sorts right after its track, before the GC track's successors.
        let sort = |name: &str| {
            let tid = &events
                .iter()
                .find(|e| e["name"] == "thread_name" && e["args"]["name"] == name)
                .unwrap()["tid"];
            events
                .iter()
                .find(|e| e["name"] == "thread_sort_index" && &e["tid"] == tid)
                .unwrap()["args"]["sort_index"]
                .as_i64()
                .unwrap()
        };
        assert_eq!(
            sort("Go runtime: running without a P, lane 2"),
            sort("Go runtime: running without a P") + 1
        );
        assert!(sort("Go runtime: GC cycles") < sort("Go runtime: P0 (goroutines running)"));
    }

    /// What trace processor reads for a `ts` or `dur`: an integer times 1000, a fraction
    /// `(x * 1000.0) as i64`.
    fn perfetto_ns(v: &Value) -> i64 {
        match v.as_i64() {
            Some(i) => i * 1000,
            None => (v.as_f64().unwrap() * 1000.0) as i64,
        }
    }

    #[test]
    fn go_phases_get_one_track_per_lane_and_every_track_nests_as_read() {
        let mut r = crate::model::empty_report_for_tests();
        r.wall_ms = 50.0;
        // A real process of a real build: written in fractional microseconds, trace
        // processor read its exec as ending 1 ns after it. A second exec out of order is
        // drawn from the first one's start.
        let mut go = process(100, "go", 0.261506, vec![3.765131, 0.5], 21132.685167);
        go.argv = vec![
            "go".into(),
            "build".into(),
            "-debug-trace=/t/dt.json".into(),
        ];
        r.processes.push(go);
        // tid 1: a span that ends after its parent (a goroutine without a trace context),
        // tid 2: parallel work, a zero-length instant, and two spans with equal starts.
        let mut trace = debugtrace::parse(
            r#"[{"name":"Running build command","ph":"B","ts":1000,"tid":1}
,{"name":"load","ph":"B","ts":1500.4,"tid":1}
,{"name":"child","ph":"B","ts":2000.6,"tid":1}
,{"name":"load","ph":"E","ts":3000.2,"tid":1}
,{"name":"child","ph":"E","ts":3500,"tid":1}
,{"name":"act a","ph":"X","ts":1800,"dur":900,"tid":2}
,{"name":"act b","ph":"X","ts":1800,"dur":1900,"tid":2}
,{"name":"mark","ph":"i","ts":2700,"tid":2}
,{"name":"Running build command","ph":"E","ts":9000,"tid":1}]"#,
        )
        .unwrap();
        trace.file = "/t/dt.json".into();
        r.go.insert("debug_trace".into(), serde_json::to_value(&trace).unwrap());
        let ctx = Ctx::new(&r, false);
        let mut buf = Vec::new();
        write(&r, &ctx, &mut buf).unwrap();
        let v: Value = serde_json::from_slice(&buf).unwrap();
        let events = v["traceEvents"].as_array().unwrap();

        let phases: Vec<&Value> = events.iter().filter(|e| e["cat"] == "go_phase").collect();
        assert_eq!(phases.len(), trace.phases.len());
        for e in &phases {
            assert_eq!(e["pid"], 100);
            assert_eq!(e["args"]["aligned_by"], "go_exec");
            assert!(e["args"]["kind"].is_string() && e["args"]["trace_tid"].is_u64());
            // Whole microseconds.
            assert_eq!(e["ts"].as_f64().unwrap().fract(), 0.0, "{e}");
            assert_eq!(e["dur"].as_f64().unwrap().fract(), 0.0, "{e}");
        }
        let names: BTreeMap<i64, (String, i64)> = events
            .iter()
            .filter(|e| {
                e["ph"] == "M" && e["pid"] == 100 && e["tid"].as_i64() >= Some(PHASE_TID_BASE)
            })
            .fold(BTreeMap::new(), |mut m, e| {
                let entry = m
                    .entry(e["tid"].as_i64().unwrap())
                    .or_insert((String::new(), 0));
                match e["name"].as_str().unwrap() {
                    "thread_name" => entry.0 = e["args"]["name"].as_str().unwrap().into(),
                    _ => entry.1 = e["args"]["sort_index"].as_i64().unwrap(),
                }
                m
            });
        // "child" crosses "load"'s end, and tid 2's work crosses tid 1's spans.
        let want: Vec<String> = (1..=names.len())
            .map(|n| format!("go phases (-debug-trace) lane {n}"))
            .collect();
        assert!(names.len() >= 2, "{names:?}");
        assert_eq!(
            names.values().map(|n| n.0.clone()).collect::<Vec<_>>(),
            want
        );
        let sort: Vec<i64> = names.values().map(|n| n.1).collect();
        assert!(
            sort.windows(2).all(|w| w[0] < w[1]) && sort[sort.len() - 1] < -1,
            "{sort:?}"
        );
        for e in &phases {
            assert!(names.contains_key(&e["tid"].as_i64().unwrap()), "{e}");
        }

        // Every track, as trace processor reads it: slices nest or are disjoint.
        let mut tracks: BTreeMap<(i64, i64), Vec<(i64, i64)>> = BTreeMap::new();
        for e in events.iter().filter(|e| e["ph"] == "X") {
            let start = perfetto_ns(&e["ts"]);
            tracks
                .entry((e["pid"].as_i64().unwrap(), e["tid"].as_i64().unwrap()))
                .or_default()
                .push((start, start + perfetto_ns(&e["dur"])));
        }
        for (track, slices) in &tracks {
            for (i, &a) in slices.iter().enumerate() {
                for &b in &slices[i + 1..] {
                    assert!(compatible(a, b), "{a:?} and {b:?} cross on {track:?}");
                }
            }
        }
        // The process track: its life and both execs, inside it.
        let span = &tracks[&(100, SPAN_TID_BASE + 100)];
        assert_eq!(span.len(), 3);
        assert_eq!(span[0], (262_000, 21_132_685_000));
        assert_eq!(span[2].1, span[0].1, "the last exec ends with the process");
    }
}
