//! The `golat trace` table: plain aligned text, one section per measure. Formats what the
//! summary derived (the user frame of a stack included); it computes nothing itself.

use std::io::{self, Write};

use super::startup::{self, ClassTimes, More, Startup};
use super::summary::{Blocking, Distribution, StackFrame, Summary};

/// How to lay the table out.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// Rows per table.
    pub top: usize,
    /// Frames of a stack from the user's frame toward the root.
    pub depth: usize,
}

fn ms(ns: i64) -> String {
    let v = ns as f64 / 1e6;
    if ns.unsigned_abs() < 10_000 {
        return format!("{:.1} µs", ns as f64 / 1e3);
    }
    if v.abs() >= 100.0 {
        format!("{v:.0} ms")
    } else if v.abs() >= 1.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.3} ms")
    }
}

fn dist(d: &Distribution) -> String {
    if d.count == 0 {
        return "none".into();
    }
    format!(
        "{} total, p50 {}, p99 {}, max {} (n={})",
        ms(d.total_ns),
        ms(d.p50_ns),
        ms(d.p99_ns),
        ms(d.max_ns),
        d.count
    )
}

fn frame(f: &StackFrame) -> String {
    if f.file.is_empty() {
        f.func.clone()
    } else {
        format!("{} ({}:{})", f.func, short(&f.file), f.line)
    }
}

/// A stack as lines: the user's frame (or the leaf when the stack has none), what it called
/// into when that was the runtime or the standard library, then callers up to `depth` frames
/// in all; a deeper stack is folded in the middle and ends with its root frame.
pub fn stack_lines(frames: &[StackFrame], user: Option<usize>, depth: usize) -> Vec<String> {
    let Some(first) = frames.first() else {
        return vec!["(no stack)".into()];
    };
    let u = user.filter(|&u| u < frames.len()).unwrap_or(0);
    let mut head = frame(&frames[u]);
    if u > 0 {
        head.push_str(&format!("  in {}", first.func));
    }
    let mut out = vec![head];
    let callers = &frames[u + 1..];
    let room = depth.saturating_sub(1);
    // Folding one frame into a "… 1 frame …" line would save nothing: show it.
    if callers.len() <= room + 1 {
        out.extend(callers.iter().map(|f| format!("← {}", frame(f))));
    } else if room > 0 {
        out.extend(
            callers[..room - 1]
                .iter()
                .map(|f| format!("← {}", frame(f))),
        );
        out.push(format!("← … {} frames …", callers.len() - room));
        out.push(format!("← {}", frame(&callers[callers.len() - 1])));
    }
    out
}

fn write_stack(
    w: &mut impl Write,
    indent: usize,
    lead: &str,
    frames: &[StackFrame],
    user: Option<usize>,
    depth: usize,
) -> io::Result<()> {
    for (i, l) in stack_lines(frames, user, depth).iter().enumerate() {
        if i == 0 {
            writeln!(w, "{:indent$}{lead}{l}", "")?;
        } else {
            writeln!(w, "{:indent$}{:width$}  {l}", "", "", width = lead.len())?;
        }
    }
    Ok(())
}

fn blocking(
    w: &mut impl Write,
    name: &str,
    pprof: &str,
    b: &Blocking,
    o: &RenderOptions,
) -> io::Result<()> {
    // Go's cmd/trace up to 1.25 skipped state changes without a stack, so its -pprof totals
    // differ from these; from 1.26 its tool counts them all, as golat does.
    writeln!(
        w,
        "  {name:<9} {:>11}  n={:<7} p50 {:>10}  p99 {:>10}  max {:>10}   (= go tool trace -pprof={pprof}, Go ≥ 1.26)",
        ms(b.total_ns),
        b.count,
        ms(b.p50_ns),
        ms(b.p99_ns),
        ms(b.max_ns)
    )?;
    if b.dropped_by_go_clip_ns > 0 {
        writeln!(
            w,
            "            + {} in {} interval(s) before the goroutine first ran, which Go's clip drops",
            ms(b.dropped_by_go_clip_ns),
            b.dropped_by_go_clip_count
        )?;
    }
    for s in b.top_stacks.iter().take(o.top.min(3)) {
        let lead = format!("{:>11}  n={:<6} ", ms(s.total_ns), s.count);
        write_stack(w, 12, &lead, &s.frames, s.user_frame, o.depth)?;
    }
    Ok(())
}

fn short(file: &str) -> &str {
    let mut it = file.rsplitn(3, '/');
    let _ = it.next();
    let _ = it.next();
    match it.next() {
        Some(prefix) => &file[prefix.len() + 1..],
        None => file,
    }
}

pub fn table(w: &mut impl Write, s: &Summary, name: &str, top: usize) -> io::Result<()> {
    table_with(w, s, name, &RenderOptions { top, depth: 3 })
}

pub fn table_with(
    w: &mut impl Write,
    s: &Summary,
    name: &str,
    o: &RenderOptions,
) -> io::Result<()> {
    let top = o.top;
    writeln!(
        w,
        "{name}: {} (written by {}), {} bytes, {} events, {} generation(s){}",
        s.header,
        s.written_by,
        s.bytes,
        s.events,
        s.generations,
        if s.complete { "" } else { ", INCOMPLETE" }
    )?;
    writeln!(w, "trace span      {}", ms(s.span.duration_ns))?;
    match s.main.first_main_main_ns {
        Some(t) => writeln!(
            w,
            "main.main       first seen at +{} (goroutine {})",
            ms(t),
            s.main
                .first_main_main_goroutine
                .map_or("?".into(), |g| g.to_string())
        )?,
        None => writeln!(
            w,
            "main.main       not in any stack (tracing began elsewhere, e.g. go test -trace)"
        )?,
    }
    if !s.main.init_frames.is_empty() {
        let names: Vec<String> = s
            .main
            .init_frames
            .iter()
            .take(top)
            .map(|f| format!("{} (+{})", f.func, ms(f.first_seen_ns)))
            .collect();
        writeln!(
            w,
            "init frames     {}{}",
            names.join(", "),
            if s.main.init_frames.len() > top {
                format!(", … {} more", s.main.init_frames.len() - top)
            } else {
                String::new()
            }
        )?;
    }
    writeln!(
        w,
        "GC cycles       {}{}{}",
        s.gc.cycles,
        if s.gc.active_at_start {
            " (+1 already running at trace start)"
        } else {
            ""
        },
        s.gc.first_at_ns.map_or(String::new(), |t| format!(
            ", first at +{}, mark phases {}",
            ms(t),
            dist(&s.gc.completed)
        ))
    )?;
    writeln!(
        w,
        "STW pauses      {} pauses, {} total, max {}",
        s.stw.count,
        ms(s.stw.total_ns),
        ms(s.stw.max_ns)
    )?;
    for k in s.stw.by_kind.iter().take(top) {
        writeln!(
            w,
            "  {:<28} n={:<5} total {:>10}  max {:>10} at +{}",
            k.kind,
            k.count,
            ms(k.total_ns),
            ms(k.max_ns),
            ms(k.max_at_ns)
        )?;
    }
    writeln!(
        w,
        "goroutines      {} created; create→first run: {}",
        s.goroutines.created,
        dist(&s.goroutines.create_to_first_run)
    )?;
    for e in s.goroutines.by_entry.iter().take(top) {
        writeln!(w, "  {:>6}  {}", e.count, e.func)?;
    }
    writeln!(
        w,
        "blocked (goroutine-time of all goroutines, clipped to [first run, exit] like go tool trace -pprof):"
    )?;
    blocking(w, "syscall", "syscall", &s.blocking.syscall, o)?;
    blocking(w, "network", "net", &s.blocking.net, o)?;
    blocking(w, "sync", "sync", &s.blocking.sync, o)?;
    blocking(w, "runnable", "sched", &s.blocking.sched, o)?;
    if let Some(st) = &s.startup {
        startup_table(w, st, o)?;
    }
    // Warnings go to stderr (see `run`), so they reach a terminal even when stdout is piped.
    Ok(())
}

/// `running 3.2 ms · runnable 1.1 ms · …`, the classes with time only.
fn classes(t: &ClassTimes, blocked_only: bool) -> String {
    let names = [
        (startup::RUNNING, "running"),
        (startup::RUNNABLE, "runnable"),
        (startup::SYSCALL, "syscall"),
        (startup::SYSCALL_BLOCKING, "syscall, P handed off"),
        (startup::NETWORK, "network"),
        (startup::SYNC, "sync"),
        (startup::SLEEP, "sleep"),
        (startup::OTHER_WAIT, "other waits"),
    ];
    let parts: Vec<String> = names
        .iter()
        .filter(|(c, _)| !blocked_only || startup::is_blocked(*c))
        .filter(|(c, _)| t.get(*c).ns > 0)
        .map(|(c, n)| format!("{n} {}", ms(t.get(*c).ns)))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(" · ")
    }
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
}

/// The rarer measures of a section or the whole trace, one line each when present.
fn more_lines(w: &mut impl Write, m: &More, top: usize) -> io::Result<()> {
    if m.mark_assist.count > 0 || m.mark_assist.ns > 0 {
        writeln!(
            w,
            "  mark assist     {} in {} assist(s) (goroutines made to help the GC mark)",
            ms(m.mark_assist.ns),
            m.mark_assist.count
        )?;
    }
    if m.heap_alloc_max.is_some() || m.heap_goal_last.is_some() {
        writeln!(
            w,
            "  heap            max {}, goal {}",
            m.heap_alloc_max.map_or("-".into(), mib),
            m.heap_goal_last.map_or("-".into(), mib)
        )?;
    }
    if let Some(g) = m.gomaxprocs {
        writeln!(
            w,
            "  Ps              GOMAXPROCS {g}, in use {}{}",
            ms(m.p_busy_ns),
            m.p_utilization.map_or(String::new(), |u| format!(
                " ({:.0}% of GOMAXPROCS × wall)",
                u * 100.0
            ))
        )?;
    }
    if m.cpu_samples > 0 {
        let u: Vec<String> = m
            .cpu_top_user
            .iter()
            .take(top.min(3))
            .map(|c| format!("{} {}", c.count, c.name))
            .collect();
        let l: Vec<String> = m
            .cpu_top_leaf
            .iter()
            .take(top.min(3))
            .map(|c| format!("{} {}", c.count, c.name))
            .collect();
        writeln!(
            w,
            "  CPU samples     {}: user code {}; leaf {}",
            m.cpu_samples,
            u.join(", "),
            l.join(", ")
        )?;
    }
    Ok(())
}

fn pct(a: i64, b: i64) -> String {
    if b <= 0 {
        return String::new();
    }
    format!(" ({:.0}%)", a as f64 * 100.0 / b as f64)
}

fn startup_table(w: &mut impl Write, st: &Startup, o: &RenderOptions) -> io::Result<()> {
    let top = o.top;
    writeln!(w)?;
    writeln!(
        w,
        "startup (the program's goroutines; the tracer's, profiler's and golat's are listed at the end)"
    )?;
    if st.sections.is_empty() {
        writeln!(
            w,
            "  no split: main.main is in no stack (tracing began after it, e.g. go test -trace); \
             --until DURATION splits at a time instead"
        )?;
    }
    for sec in &st.sections {
        writeln!(
            w,
            "{}  [+{} … +{}]",
            sec.name,
            ms(sec.start_ns),
            ms(sec.end_ns)
        )?;
        let trig: Vec<String> = sec
            .gc_by_trigger
            .iter()
            .map(|t| format!("{} {}", t.count, t.name))
            .collect();
        writeln!(
            w,
            "  GC              {} cycle(s){}",
            sec.gc_cycles,
            if trig.is_empty() {
                String::new()
            } else {
                format!(": {}", trig.join(", "))
            }
        )?;
        writeln!(
            w,
            "  STW             {} pause(s), {} total, max {}{}",
            sec.stw_count,
            ms(sec.stw_total_ns),
            ms(sec.stw_max_ns),
            if sec.stw_by_kind.is_empty() {
                String::new()
            } else {
                let k: Vec<String> = sec
                    .stw_by_kind
                    .iter()
                    .take(top)
                    .map(|k| format!("{} ×{}", k.kind, k.count))
                    .collect();
                format!(" ({})", k.join(", "))
            }
        )?;
        let ent: Vec<String> = sec
            .created_by_entry
            .iter()
            .take(top.min(5))
            .map(|e| format!("{} {}", e.count, e.name))
            .collect();
        writeln!(
            w,
            "  goroutines      {} created{}{}",
            sec.goroutines_created,
            if ent.is_empty() {
                String::new()
            } else {
                format!(": {}", ent.join(", "))
            },
            if sec.tracer_goroutines_created > 0 {
                format!(" (+{} of the tracer/golat)", sec.tracer_goroutines_created)
            } else {
                String::new()
            }
        )?;
        let wall = sec.end_ns.wrapping_sub(sec.start_ns);
        writeln!(
            w,
            "  main goroutine  {} of {} wall: {}",
            ms(sec.main_goroutine.total_ns()),
            ms(wall),
            classes(&sec.main_goroutine, false)
        )?;
        writeln!(
            w,
            "  goroutine-time  {} (all program goroutines, summed: can exceed the wall)",
            classes(&sec.goroutine_time, false)
        )?;
        let over: Vec<String> = sec
            .over_threshold
            .iter()
            .filter(|t| t.count > 0)
            .map(|t| format!("{} > {}: {}", t.name, ms(t.threshold_ns), t.count))
            .collect();
        if !over.is_empty() {
            writeln!(w, "  over threshold  {}", over.join(" · "))?;
        }
        more_lines(w, &sec.more, top)?;
        if !sec.top_stacks.is_empty() {
            writeln!(
                w,
                "  where the goroutine-time went (runnable and blocked, by stack):"
            )?;
            for s in sec.top_stacks.iter().take(top.min(5)) {
                let lead = format!(
                    "{:>10}  {:<16} n={:<5} ",
                    ms(s.total_ns),
                    s.class.replace('_', " "),
                    s.count
                );
                write_stack(w, 4, &lead, &s.frames, s.user_frame, o.depth)?;
            }
        }
    }
    if let Some(g) = &st.main_goroutine {
        writeln!(
            w,
            "main goroutine (G{}), its whole wall in the trace: {}",
            g.id,
            ms(g.wall_ns)
        )?;
        writeln!(
            w,
            "  running {}{} · runnable {}{} · in syscalls {}{} · waiting {}{}",
            ms(g.wall.running.ns),
            pct(g.wall.running.ns, g.wall_ns),
            ms(g.wall.runnable.ns),
            pct(g.wall.runnable.ns, g.wall_ns),
            ms(g.wall.in_syscalls_ns()),
            pct(g.wall.in_syscalls_ns(), g.wall_ns),
            ms(g.wall.waiting_ns()),
            pct(g.wall.waiting_ns(), g.wall_ns),
        )?;
        if g.wall.syscall_blocking.ns > 0 {
            writeln!(
                w,
                "  syscalls: {} kept their P ({}), {} had it handed off ({})",
                g.wall.syscall.count,
                ms(g.wall.syscall.ns),
                g.wall.syscall_blocking.count,
                ms(g.wall.syscall_blocking.ns)
            )?;
        }
        if !g.by_reason.is_empty() {
            let r: Vec<String> = g
                .by_reason
                .iter()
                .take(top)
                .map(|r| format!("{} {} (n={})", r.reason, ms(r.ns), r.count))
                .collect();
            writeln!(w, "  waiting on      {}", r.join(" · "))?;
        }
        if !g.longest.is_empty() {
            writeln!(w, "  longest stretches not running:")?;
            for s in g.longest.iter().take(top.min(5)) {
                let what = if s.reason.is_empty() {
                    s.class.replace('_', " ")
                } else {
                    s.reason.clone()
                };
                let lead = format!(
                    "{:>10}  at +{:<10} {:<16} ",
                    ms(s.duration_ns),
                    ms(s.at_ns),
                    what
                );
                write_stack(w, 4, &lead, &s.frames, s.user_frame, o.depth)?;
            }
        }
    }
    writeln!(
        w,
        "program goroutine-time, whole trace: {}",
        classes(&st.goroutine_time, false)
    )?;
    more_lines(w, &st.more, top)?;
    for (what, list) in [("tasks", &st.tasks), ("regions", &st.regions)] {
        if list.is_empty() {
            continue;
        }
        let v: Vec<String> = list
            .iter()
            .take(top)
            .map(|t| {
                format!(
                    "{} ×{} ({} ended, {} total, max {})",
                    t.name,
                    t.begun,
                    t.ended,
                    ms(t.total_ns),
                    ms(t.max_ns)
                )
            })
            .collect();
        writeln!(w, "user {what:<8} {}", v.join(" · "))?;
    }
    if !st.logs.is_empty() {
        let v: Vec<String> = st
            .logs
            .iter()
            .take(top)
            .map(|l| {
                let n = if l.name.is_empty() {
                    "(no category)"
                } else {
                    &l.name
                };
                format!("{n} ×{}", l.count)
            })
            .collect();
        writeln!(w, "user logs     {}", v.join(" · "))?;
    }
    if !st.top_blocked_goroutines.is_empty() {
        writeln!(
            w,
            "goroutines blocked longest (syscall + network + sync + sleep, each its own wall):"
        )?;
        for g in st.top_blocked_goroutines.iter().take(top.min(5)) {
            writeln!(
                w,
                "  {:>10}  G{:<6} {}  (runnable {})",
                ms(g.blocked_ns),
                g.id,
                g.entry,
                ms(g.runnable_ns)
            )?;
        }
    }
    if !st.thresholds.is_empty() {
        writeln!(
            w,
            "over threshold (whole trace, program goroutines; --threshold NAME=DURATION):"
        )?;
        for t in &st.thresholds {
            let gs: Vec<String> = t
                .goroutines
                .iter()
                .take(top.min(4))
                .map(|g| format!("G{} {} ×{}", g.id, g.entry, g.count))
                .collect();
            let line = format!(
                "  {:<8} > {:<9} {:>6} {}{}",
                t.name,
                ms(t.threshold_ns),
                t.count,
                if t.count > 0 {
                    format!("(total {}, max {})", ms(t.total_ns), ms(t.max_ns))
                } else {
                    String::new()
                },
                if gs.is_empty() {
                    String::new()
                } else {
                    format!(": {}", gs.join(", "))
                }
            );
            writeln!(w, "{}", line.trim_end())?;
        }
    }
    if !st.tracer_goroutines.is_empty() {
        writeln!(
            w,
            "not counted above (the tracer's, the CPU profiler's and golat's own goroutines):"
        )?;
        for t in st.tracer_goroutines.iter().take(top) {
            writeln!(
                w,
                "  G{:<6} {:<15} {}: {}",
                t.id,
                t.owner,
                t.entry,
                classes(&t.time, false)
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fr(func: &str) -> StackFrame {
        StackFrame {
            func: func.into(),
            file: format!("/w/{func}.go"),
            line: 7,
        }
    }

    /// The user's frame leads, with the runtime leaf it called; deep stacks keep their root.
    #[test]
    fn stacks_lead_with_user_frame_and_fold_in_the_middle() {
        let mut frames = vec![fr("runtime.gopark"), fr("main.work")];
        frames.extend((0..10).map(|i| fr(&format!("main.f{i}"))));
        frames.push(fr("runtime.main"));
        let l = stack_lines(&frames, Some(1), 3);
        assert_eq!(
            l,
            [
                "main.work (w/main.work.go:7)  in runtime.gopark",
                "← main.f0 (w/main.f0.go:7)",
                "← … 9 frames …",
                "← runtime.main (w/runtime.main.go:7)",
            ]
        );
        // One frame too many is shown rather than folded.
        let l = stack_lines(&frames[..4], Some(1), 2);
        assert_eq!(l.len(), 3, "{l:?}");
        assert!(!l.iter().any(|x| x.contains('…')));
        assert_eq!(stack_lines(&[], None, 3), ["(no stack)"]);
        // depth 1: the user's frame alone.
        assert_eq!(stack_lines(&frames, Some(1), 1).len(), 1);
    }
}
