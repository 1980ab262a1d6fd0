//! The table report of `golat profile` and `golat report`: the verdict, then one ranked
//! table per hotspot (critical path, tools, PATH scans, filesystem, stat storms, slowest
//! calls, habits, network, syscalls), each time column saying which kind of time it is.

use std::fmt::Write;

use serde::de::DeserializeOwned;

use super::{Style, Table, bold, ms, pct, yellow_bold};
use crate::analyze::Verdict;
use crate::analyze::advice::WhatToChange;
use crate::analyze::build_cache::BuildCache;
use crate::analyze::exec::ExecAnalysis;
use crate::analyze::fs_blocking::FsBlocking;
use crate::analyze::habits::Habits;
use crate::analyze::path_scan::PathScan;
use crate::model::{Report, Timing};

/// A hotspot result from the report (as the analyzers stored it).
pub fn hotspot<T: DeserializeOwned>(report: &Report, key: &str) -> Option<T> {
    report
        .hotspots
        .get(key)
        .and_then(|v| T::deserialize(v).ok())
}

const KINDS: &str = "times: wall = elapsed under the tracer; sys = replayed/corrected call time \
                     (ptrace round trip removed); traced = as the tracer saw it, round trips included";

pub fn render(report: &Report, style: &Style) -> String {
    let mut out = String::new();
    let _ = write_report(&mut out, report, style);
    out
}

/// The answer first: each change with what it saves, what golat saw, and the fix to paste.
fn what_to_change(out: &mut String, wc: &WhatToChange, style: &Style) -> std::fmt::Result {
    let threshold = format!("{:.0}%", 100.0 * wc.min_share);
    if wc.findings.is_empty() {
        let largest = match &wc.largest_not_listed {
            Some(f) => format!(
                " (largest: {}, ≈{} ms, {:.2}%)",
                f.title,
                ms(f.saves_ms),
                100.0 * f.share
            ),
            None => String::new(),
        };
        return writeln!(
            out,
            "\n{} nothing would save {threshold} of the {} ms wall{largest}",
            bold("What to change:", style.color),
            ms(wc.wall_ms)
        );
    }
    heading(
        out,
        &format!(
            "What to change (critical-path wall each fix would save, of the {} ms wall under golat)",
            ms(wc.wall_ms)
        ),
        style,
    )?;
    for (k, f) in wc.findings.iter().enumerate() {
        writeln!(
            out,
            "  {}. {}: saves ≈{} ms ({:.1}%), confidence {}",
            k + 1,
            f.title,
            ms(f.saves_ms),
            100.0 * f.share,
            f.confidence
        )?;
        writeln!(out, "     seen: {}", f.evidence)?;
        writeln!(out, "     fix:  {}", f.fix)?;
        writeln!(
            out,
            "     ({} confidence: {})",
            f.confidence, f.why_confidence
        )?;
    }
    if wc.not_listed > 0 {
        writeln!(
            out,
            "  {} more under {threshold} of the wall or past the fifth (--json: hotspots.what_to_change)",
            wc.not_listed
        )?;
    }
    Ok(())
}

fn heading(out: &mut String, title: &str, style: &Style) -> std::fmt::Result {
    writeln!(out, "\n{}", bold(title, style.color))
}

fn write_report(out: &mut String, report: &Report, style: &Style) -> std::fmt::Result {
    let cmd = super::shell_join(&report.command);
    let status = match report.signal {
        Some(sig) => format!("was killed by signal {sig}"),
        None => format!("exited {}", report.exit_code),
    };
    writeln!(
        out,
        "golat: `{cmd}` {status} after {:.1} ms wall",
        report.wall_ms
    )?;
    if let Some(runs) = &report.runs {
        write_runs(out, runs, report.exit_code != 0)?;
    }
    if !report.traced {
        writeln!(
            out,
            "golat: untraced: {}",
            report
                .untraced_reason
                .as_deref()
                .unwrap_or("ptrace unavailable")
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "       {} processes, {} recorded calls ({} failed), {} ptrace stops",
        report.processes.len(),
        report.recorded_calls(),
        report.failed_calls(),
        report.timing.stops
    )?;
    let exec = hotspot::<ExecAnalysis>(report, "exec");
    if let Some(t) = exec
        .as_ref()
        .map(|e| &e.tracing)
        .filter(|t| t.thread_ms > 0.0)
    {
        writeln!(
            out,
            "       tracing: ≈{} ms of this {} ms wall is tracing ({} stops × ≈{:.1} us, on the \
             critical path); native ≈ {} ms",
            ms(t.wall_ms),
            ms(report.wall_ms),
            t.stops,
            t.per_stop_us,
            ms(t.native_wall_ms)
        )?;
    }
    let cache = hotspot::<BuildCache>(report, "build_cache");
    if let Some(bc) = &cache {
        writeln!(out, "       {}", cache_line(bc))?;
        for h in bc.hints.iter().take(3) {
            writeln!(out, "         {h}")?;
        }
    }
    if let Some(v) = hotspot::<Verdict>(report, "verdict") {
        writeln!(
            out,
            "{}",
            yellow_bold(&format!("verdict: {}", v.line), style.color)
        )?;
    }
    if let Some(wc) = hotspot::<WhatToChange>(report, "what_to_change") {
        what_to_change(out, &wc, style)?;
    }
    let top = style.top;
    let w = style.width;

    if let Some(ex) = exec {
        exec_tables(out, &ex, style)?;
    }
    if let Some(bc) = cache.as_ref().filter(|c| !c.top.is_empty()) {
        cache_table(out, bc, style)?;
    }
    if let Some(ps) = hotspot::<PathScan>(report, "path_scan") {
        path_tables(out, &ps, style)?;
    }
    if let Some(fs) = hotspot::<FsBlocking>(report, "fs_blocking") {
        fs_tables(out, &fs, style)?;
    }
    if let Some(hb) = hotspot::<Habits>(report, "habits")
        && !hb.items.is_empty()
    {
        heading(out, "Toolchain habits", style)?;
        let mut t = Table::new(&["habit", "count", "procs", "cost ms", "kind", "detail"])
            .numeric(&[1, 2, 3])
            .wrap(5);
        for h in hb.items.iter().take(top) {
            t.row(vec![
                h.title.clone(),
                h.count.to_string(),
                h.processes.to_string(),
                ms(h.cost_ms),
                h.cost_kind.clone(),
                h.detail.clone(),
            ]);
        }
        writeln!(out, "{}", t.render(w))?;
        for h in hb.items.iter().take(top) {
            writeln!(out, "  {}: {}", h.key, h.advice)?;
        }
    }

    heading(
        out,
        "System calls (sys = round trip removed; traced = as seen)",
        style,
    )?;
    let mut sums = report.syscalls.clone();
    sums.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
    let mut t =
        Table::new(&["call", "count", "failed", "sys ms", "traced ms"]).numeric(&[1, 2, 3, 4]);
    for s in sums.iter().take(top) {
        t.row(vec![
            s.name.clone(),
            s.count.to_string(),
            s.errors.to_string(),
            ms(s.total_ms),
            ms(s.total_ms_inclusive),
        ]);
    }
    writeln!(out, "{}", t.render(w))?;

    writeln!(out, "\n{KINDS}")?;
    if !report.timing.note.is_empty() {
        writeln!(out, "{}", report.timing.note)?;
    }
    for warn in &report.warnings {
        writeln!(out, "warning ({}): {}", warn.kind, warn.message)?;
    }
    Ok(())
}

/// The header's one line on the build cache: how many packages compiled and what that cost
/// the wall.
fn cache_line(bc: &BuildCache) -> String {
    let mut line = if bc.rebuilt == 0 {
        format!(
            "build cache: all {} packages came from the cache; nothing compiled",
            bc.packages
        )
    } else {
        format!(
            "build cache: compiled {} of {} packages ({} from the cache); {} ms of compile, {} ms \
             of it on the critical path",
            bc.rebuilt,
            bc.packages,
            bc.cached,
            ms(bc.compile_ms),
            ms(bc.critical_ms)
        )
    };
    if bc.fresh_gocache {
        line.push_str(" (fresh GOCACHE: --cold)");
    } else if bc.std_rebuilt > 0 {
        let _ = write!(
            line,
            " ({} of them standard library: a kept cache never rebuilds those, so GOCACHE was \
             new or emptied, or a flag changed every package)",
            bc.std_rebuilt
        );
    }
    if bc.failed > 0 {
        let _ = write!(line, "; {} failed", bc.failed);
    }
    if !bc.finished {
        line.push_str("; the go command stopped before rewriting its action graph, so only traced compiles count");
    }
    line
}

fn cache_table(out: &mut String, bc: &BuildCache, style: &Style) -> std::fmt::Result {
    heading(
        out,
        "Build cache: packages compiled (wall ms as traced; critical = what they added to the wall)",
        style,
    )?;
    let mut t = Table::new(&["package", "compile ms", "critical ms", "procs"])
        .numeric(&[1, 2, 3])
        .wrap(0);
    for r in bc.top.iter().take(style.top) {
        t.row(vec![
            r.package.clone(),
            ms(r.compile_ms),
            ms(r.critical_ms),
            r.processes.to_string(),
        ]);
    }
    writeln!(out, "{}", t.render(style.width))?;
    if bc.top.len() > style.top || bc.rebuilt as usize > bc.top.len() {
        writeln!(
            out,
            "  {} more compiled packages not shown (--top)",
            bc.rebuilt as usize - bc.top.len().min(style.top)
        )?;
    }
    Ok(())
}

/// `--runs N` / `--cold`: how the wall time spread and which run the tables describe.
fn write_runs(
    out: &mut String,
    runs: &crate::model::RunsSummary,
    failed: bool,
) -> std::fmt::Result {
    let cold = if runs.cold {
        " (fresh GOCACHE each)"
    } else {
        ""
    };
    let which = if failed {
        "the failed run, which ended the series"
    } else {
        "the median run"
    };
    write!(out, "       {} run(s){cold}", runs.n)?;
    if let Some(w) = runs.figures.iter().find(|f| f.name == "wall_ms") {
        write!(
            out,
            ": wall median {:.1} ms, min {:.1} ms, max {:.1} ms",
            w.median, w.min, w.max
        )?;
        if w.unstable {
            write!(out, " (unstable: max-min > 20% of the median)")?;
        }
    }
    writeln!(
        out,
        "; tables below are run {} ({which})",
        runs.representative + 1
    )
}

fn exec_tables(out: &mut String, ex: &ExecAnalysis, style: &Style) -> std::fmt::Result {
    let (top, w) = (style.top, style.width);
    if !ex.critical_by_process.is_empty() {
        heading(
            out,
            &format!(
                "Critical path: what the run waited on ({} links; wall ms, traced)",
                ex.critical_path_links.max(ex.critical_path.len() as u64)
            ),
            style,
        )?;
        // The package leads the cell: a narrow table cuts the end of the arguments, and
        // `-o /tmp/go-build…` says nothing about what was compiled.
        let mut t = Table::new(&[
            "tool",
            "pid",
            "on path ms",
            "share",
            "stretches",
            "package / args",
        ])
        .numeric(&[1, 2, 3, 4])
        .flex_keep_start(5);
        for c in ex.critical_by_process.iter().take(top) {
            // A grouped tool (`cc`) is named by its own program first: which compiler ran.
            let args = match &c.real_tool {
                Some(real) if c.args.is_empty() => real.clone(),
                Some(real) => format!("{real} {}", c.args),
                None => c.args.clone(),
            };
            t.row(vec![
                c.tool.clone(),
                c.pid.to_string(),
                ms(c.ms),
                pct(c.share),
                c.segments.to_string(),
                match &c.package {
                    Some(p) => format!("{p}  ({args})"),
                    None => args,
                },
            ]);
        }
        writeln!(out, "{}", t.render(w))?;
        let listed = ex.critical_by_process.len().min(top) as u64;
        if ex.critical_processes > listed {
            writeln!(
                out,
                "({listed} of the {} processes that held the path; --top N for more)",
                ex.critical_processes
            )?;
        }
        let mut chain: Vec<String> = ex
            .critical_path
            .iter()
            .map(|l| format!("{} {}", l.tool, ms(l.ms)))
            .collect();
        // (index of the gap's entry in `chain`, links it stands for)
        let gap = ex.critical_path_gap.as_ref().map(|g| {
            let at = (g.after + 1).min(chain.len());
            chain.insert(
                at,
                format!("[{} links, {} ms, not in the report]", g.links, ms(g.ms)),
            );
            (at, g.links as usize)
        });
        writeln!(out, "{}", chain_line(&chain, gap, w))?;
    }
    if !ex.tools.is_empty() {
        heading(
            out,
            &format!(
                "Processes by tool ({} processes, {} execs; wall ms, traced)",
                ex.processes, ex.execs
            ),
            style,
        )?;
        let mut t = Table::new(&[
            "tool",
            "count",
            "total ms",
            "max ms",
            "on critical path ms",
            "execve sys ms",
        ])
        .numeric(&[1, 2, 3, 4, 5])
        .flex(0);
        for r in ex.tools.iter().take(top) {
            t.row(vec![
                r.tool.clone(),
                r.count.to_string(),
                ms(r.total_wall_ms),
                ms(r.max_wall_ms),
                ms(r.critical_ms),
                ms(r.exec_sys_ms),
            ]);
        }
        writeln!(out, "{}", t.render(w))?;
        for r in ex.tools.iter().take(top) {
            if !r.real_tools.is_empty() {
                writeln!(out, "{} groups {}", r.tool, r.real_tools.join(", "))?;
            }
        }
    }
    if !ex.network.is_empty() {
        heading(
            out,
            "Network connects (sys ms = the connect call, round trip removed; names from /etc/hosts)",
            style,
        )?;
        let mut t = Table::new(&["host", "port", "tool", "pid", "at ms", "result", "sys ms"])
            .numeric(&[1, 3, 4, 6])
            .flex(0);
        for n in ex.network.iter().take(top) {
            t.row(vec![
                connect_host(n),
                n.port.map(|p| p.to_string()).unwrap_or_default(),
                n.tool.clone(),
                n.pid.to_string(),
                ms(n.t_ms),
                n.result.clone(),
                ms(n.sys_us / 1000.0),
            ]);
        }
        writeln!(out, "{}", t.render(w))?;
    }
    Ok(())
}

/// A connect's host cell: a name with its IP (`localhost (127.0.0.1)`), else the IP or the
/// socket's path.
fn connect_host(n: &crate::analyze::exec::Connect) -> String {
    match crate::analyze::exec::split_inet(&n.addr) {
        Some((ip, _)) if n.host_source == "etc_hosts" => format!("{} ({ip})", n.host),
        _ => n.host.clone(),
    }
}

/// `path: go 276 → compile 32 → … → link 597 → go 24`, dropping middle links to fit;
/// `gap` is an entry of `links` that stands for that many links left out of the report.
fn chain_line(links: &[String], gap: Option<(usize, usize)>, width: usize) -> String {
    let more = |h: usize, t: usize| {
        let hidden = links.len() - h - t;
        match gap {
            Some((at, n)) if at >= h && at < links.len() - t => hidden - 1 + n,
            _ => hidden,
        }
    };
    let full = format!("path: {}", links.join(" → "));
    if full.chars().count() <= width || links.len() < 3 {
        return full;
    }
    let (mut head, mut tail) = (1, 1);
    loop {
        let grow_head = head <= tail;
        let (h, t) = if grow_head {
            (head + 1, tail)
        } else {
            (head, tail + 1)
        };
        if h + t >= links.len() {
            break;
        }
        let line = format!(
            "path: {} → … ({} more) → {}",
            links[..h].join(" → "),
            more(h, t),
            links[links.len() - t..].join(" → ")
        );
        if line.chars().count() > width {
            break;
        }
        (head, tail) = (h, t);
    }
    format!(
        "path: {} → … ({} more) → {}",
        links[..head].join(" → "),
        more(head, tail),
        links[links.len() - tail..].join(" → ")
    )
}

fn path_tables(out: &mut String, ps: &PathScan, style: &Style) -> std::fmt::Result {
    let (top, w) = (style.top, style.width);
    if ps.names.is_empty() {
        return Ok(());
    }
    let tt = &ps.totals;
    heading(
        out,
        &format!(
            "PATH scans: {} names, {} lookups, {} probes ({} missed), {} ms sys / {} ms traced",
            tt.names,
            tt.lookups,
            tt.probes,
            tt.misses,
            ms(tt.sys_ms),
            ms(tt.traced_ms)
        ),
        style,
    )?;
    let mut t = Table::new(&[
        "name", "procs", "lookups", "probes", "misses", "dirs", "found in", "sys ms", "wasted",
    ])
    .numeric(&[1, 2, 3, 4, 5, 7, 8])
    .flex(6);
    for n in ps.names.iter().take(top) {
        t.row(vec![
            n.name.clone(),
            n.processes.to_string(),
            n.lookups.to_string(),
            n.probes.to_string(),
            n.misses.to_string(),
            n.dirs_walked.to_string(),
            n.found.clone().unwrap_or_else(|| "(not found)".into()),
            ms(n.sys_ms),
            n.wasted_probes.to_string(),
        ]);
    }
    writeln!(out, "{}", t.render(w))?;
    if let Some(list) = ps.paths.first() {
        let bad: Vec<_> = list
            .entries
            .iter()
            .filter(|e| !matches!(e.status.as_str(), "ok" | "unchecked") || e.flag.is_some())
            .collect();
        if !bad.is_empty() {
            let mut t = Table::new(&["#", "PATH entry", "status", "fs", "probes", "sys ms"])
                .numeric(&[0, 4, 5])
                .flex(1);
            for e in bad.iter().take(top) {
                let status = match (e.status.as_str(), e.duplicate_of) {
                    // Numbered from 1, as path-audit and env-check count: "remove #1" must
                    // mean the same entry in all three.
                    ("duplicate", Some(i)) => format!("duplicate of #{}", i + 1),
                    (s, _) => s.to_string(),
                };
                let fs = match (&e.fs_type, &e.flag) {
                    (Some(t), Some(f)) => format!("{t} ({f})"),
                    (Some(t), None) => t.clone(),
                    _ => "?".into(),
                };
                t.row(vec![
                    (e.index + 1).to_string(),
                    if e.raw.is_empty() {
                        "\"\" (cwd)".into()
                    } else {
                        e.raw.clone()
                    },
                    status,
                    fs,
                    e.probes.to_string(),
                    ms(e.sys_ms),
                ]);
            }
            writeln!(out, "{}", t.render(w))?;
        }
    }
    let c = &ps.cleanup;
    if c.saved_probes > 0 {
        const SHOWN: usize = 6;
        let mut drop = c
            .removed
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if c.removed.len() > SHOWN {
            drop.push_str(&format!(" and {} more", c.removed.len() - SHOWN));
        }
        writeln!(
            out,
            "a cleaned PATH saves {} probes ({} ms sys, {} ms traced); drop {} entries: {drop}",
            c.saved_probes,
            ms(c.saved_sys_ms),
            ms(c.saved_traced_ms),
            c.removed.len(),
        )?;
    }
    if c.slow_probes > 0 {
        writeln!(
            out,
            "{} probes went to PATH entries on network/FUSE filesystems ({} ms sys): move them \
             to the end of PATH",
            c.slow_probes,
            ms(c.slow_sys_ms)
        )?;
    }
    Ok(())
}

fn fs_tables(out: &mut String, fs: &FsBlocking, style: &Style) -> std::fmt::Result {
    let (top, w) = (style.top, style.width);
    let tt = &fs.totals;
    heading(
        out,
        &format!(
            "Filesystem by category: {} calls ({} failed), {} ms sys / {} ms traced",
            tt.calls,
            tt.failed,
            ms(tt.sys_ms),
            ms(tt.traced_ms)
        ),
        style,
    )?;
    let fs_cell = |t: &Option<String>, f: &Option<String>| match (t, f) {
        (Some(t), Some(f)) => format!("{t} ({f})"),
        (Some(t), None) => t.clone(),
        _ => "?".into(),
    };
    let mut t = Table::new(&[
        "category",
        "root",
        "fs",
        "calls",
        "failed",
        "sys ms",
        "traced ms",
    ])
    .numeric(&[3, 4, 5, 6])
    .flex(1);
    for c in fs.categories.iter().take(top) {
        t.row(vec![
            c.category.clone(),
            c.root.clone().unwrap_or_default(),
            fs_cell(&c.fs_type, &c.flag),
            c.times.calls.to_string(),
            c.times.failed.to_string(),
            ms(c.times.sys_ms),
            ms(c.times.traced_ms),
        ]);
    }
    writeln!(out, "{}", t.render(w))?;

    if !fs.directories.is_empty() {
        heading(out, "Filesystem by directory (sys ms)", style)?;
        let mut t = Table::new(&[
            "directory",
            "category",
            "fs",
            "calls",
            "failed",
            "sys ms",
            "max us",
        ])
        .numeric(&[3, 4, 5, 6])
        .flex(0);
        for d in fs.directories.iter().take(top) {
            t.row(vec![
                d.dir.clone(),
                d.category.clone(),
                fs_cell(&d.fs_type, &d.flag),
                d.times.calls.to_string(),
                d.times.failed.to_string(),
                ms(d.times.sys_ms),
                format!("{:.0}", d.max_sys_us),
            ]);
        }
        writeln!(out, "{}", t.render(w))?;
    }
    let flagged: Vec<_> = fs.mounts.iter().filter(|m| m.flag.is_some()).collect();
    if !flagged.is_empty() {
        heading(out, "Calls on flagged filesystems", style)?;
        let mut t = Table::new(&["mount", "fs", "why", "calls", "sys ms", "traced ms"])
            .numeric(&[3, 4, 5])
            .flex(0);
        for m in flagged.iter().take(top) {
            t.row(vec![
                m.mount_point.clone(),
                m.fs_type.clone(),
                m.flag.clone().unwrap_or_default(),
                m.times.calls.to_string(),
                ms(m.times.sys_ms),
                ms(m.times.traced_ms),
            ]);
        }
        writeln!(out, "{}", t.render(w))?;
    }
    if !fs.stat_storms.is_empty() {
        heading(out, "Stat storms: one path probed again and again", style)?;
        let mut t = Table::new(&[
            "path",
            "calls",
            "failed",
            "procs",
            "calls by kind",
            "sys ms",
        ])
        .numeric(&[1, 2, 3, 5])
        .flex(0);
        for s in fs.stat_storms.iter().take(top) {
            let kinds: Vec<String> = s
                .by_call
                .iter()
                .take(3)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            t.row(vec![
                s.path.clone(),
                s.times.calls.to_string(),
                s.times.failed.to_string(),
                s.processes.to_string(),
                kinds.join(", "),
                ms(s.times.sys_ms),
            ]);
        }
        writeln!(out, "{}", t.render(w))?;
    }
    if !fs.slowest.is_empty() {
        heading(
            out,
            "Slowest calls (sys us; traced us as the tracer saw it)",
            style,
        )?;
        let mut t = Table::new(&[
            "sys us",
            "traced us",
            "timing",
            "call",
            "result",
            "tool",
            "pid",
            "path",
        ])
        .numeric(&[0, 1, 6])
        .flex(7);
        for s in fs.slowest.iter().take(top) {
            t.row(vec![
                format!("{:.1}", s.sys_us),
                format!("{:.1}", s.traced_us),
                match s.timing {
                    Timing::Replayed => "replayed",
                    Timing::Corrected => "corrected",
                    Timing::None => "none",
                }
                .into(),
                s.name.clone(),
                s.result.clone(),
                s.tool.clone(),
                s.pid.to_string(),
                s.path.clone(),
            ]);
        }
        writeln!(out, "{}", t.render(w))?;
    }
    Ok(())
}
