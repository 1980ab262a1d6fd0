//! The `golat trace` table: plain aligned text, one section per measure.

use std::io::{self, Write};

use super::summary::{Blocking, Distribution, Summary};

fn ms(ns: i64) -> String {
    let v = ns as f64 / 1e6;
    if ns.abs() < 10_000 {
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

fn blocking(
    w: &mut impl Write,
    name: &str,
    pprof: &str,
    b: &Blocking,
    top: usize,
) -> io::Result<()> {
    writeln!(
        w,
        "  {name:<9} {:>11}  n={:<7} p50 {:>10}  p99 {:>10}  max {:>10}   (= go tool trace -pprof={pprof})",
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
    for s in b.top_stacks.iter().take(top.min(3)) {
        let leaf = s
            .frames
            .iter()
            .find(|f| !f.func.starts_with("runtime.") && !f.func.starts_with("internal/"))
            .or(s.frames.first());
        let where_ = match leaf {
            Some(f) if !f.file.is_empty() => format!("{} ({}:{})", f.func, short(&f.file), f.line),
            Some(f) => f.func.clone(),
            None => "(no stack)".into(),
        };
        writeln!(
            w,
            "            {:>11}  n={:<6} {where_}",
            ms(s.total_ns),
            s.count
        )?;
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
        "blocked (per goroutine, clipped to [first run, exit] like go tool trace -pprof):"
    )?;
    blocking(w, "syscall", "syscall", &s.blocking.syscall, top)?;
    blocking(w, "network", "net", &s.blocking.net, top)?;
    blocking(w, "sync", "sync", &s.blocking.sync, top)?;
    blocking(w, "runnable", "sched", &s.blocking.sched, top)?;
    // Warnings go to stderr (see `run`), so they reach a terminal even when stdout is piped.
    Ok(())
}
