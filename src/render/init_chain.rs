//! Table rendering of the `init_chain` and `go_phases` hotspots: package init costs per Go
//! process with hints, and the go command's largest `-debug-trace` phases.

use serde::Deserialize;
use std::fmt::Write;

use crate::analyze::go_phases::GoPhases;
use crate::analyze::init_chain::{InitChain, PkgInit, ProcessInit};
use crate::model::Report;

/// Both sections, or an empty string when the report has neither hotspot.
pub fn render(report: &Report, top: usize) -> String {
    let mut out = String::new();
    if let Some(chain) = report
        .hotspots
        .get("init_chain")
        .and_then(|v| InitChain::deserialize(v).ok())
    {
        render_init_chain(&mut out, &chain, top);
    }
    if let Some(phases) = report
        .hotspots
        .get("go_phases")
        .and_then(|v| GoPhases::deserialize(v).ok())
    {
        render_go_phases(&mut out, &phases, top);
    }
    out
}

fn render_init_chain(out: &mut String, chain: &InitChain, top: usize) {
    let _ = writeln!(
        out,
        "\ninit chains (GODEBUG=inittrace=1): {} Go process{}",
        chain.processes.len(),
        if chain.processes.len() == 1 { "" } else { "es" }
    );
    let _ = writeln!(
        out,
        "  {:<20} {:>7} {:>5} {:>10} {:>11} {:>10} {:>10}",
        "process", "pid", "pkgs", "inits ms", "main at ms", "boot ms", "capture ms"
    );
    let programs: Vec<&ProcessInit> = chain.processes.iter().filter(|p| !p.toolchain).collect();
    for p in programs.iter().take(top) {
        let _ = writeln!(
            out,
            "  {:<20} {:>7} {:>5} {:>10.2} {:>11.1} {:>10.1} {:>10.1}",
            clip(&p.tool, 20),
            p.pid,
            p.packages,
            p.inits_ms,
            p.main_at_ms,
            p.bootstrap_ms,
            p.capture_ms
        );
    }
    if programs.len() > top {
        let _ = writeln!(out, "  ... {} more programs", programs.len() - top);
    }
    // The toolchain runs the same binaries many times: one row per tool, averaged.
    let mut tools: Vec<(&str, Vec<&ProcessInit>)> = Vec::new();
    for p in chain.processes.iter().filter(|p| p.toolchain) {
        match tools.iter_mut().find(|(t, _)| *t == p.tool) {
            Some((_, v)) => v.push(p),
            None => tools.push((p.tool.as_str(), vec![p])),
        }
    }
    for (tool, ps) in &tools {
        let n = ps.len() as f64;
        let avg = |f: fn(&ProcessInit) -> f64| ps.iter().map(|p| f(p)).sum::<f64>() / n;
        let label = if ps.len() == 1 {
            tool.to_string()
        } else {
            format!("{tool} (avg of {})", ps.len())
        };
        let pid = if ps.len() == 1 {
            ps[0].pid.to_string()
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:<20} {:>7} {:>5} {:>10.2} {:>11.1} {:>10.1} {:>10.1}",
            clip(&label, 20),
            pid,
            ps[0].packages,
            avg(|p| p.inits_ms),
            avg(|p| p.main_at_ms),
            avg(|p| p.bootstrap_ms),
            avg(|p| p.capture_ms)
        );
    }
    let _ = writeln!(
        out,
        "  main at = exec to the end of the last init (≈ main.main) under golat; capture = the \
         part of it golat added by taking the inittrace lines"
    );
    if chain.unparsed_lines > 0 {
        let _ = writeln!(
            out,
            "  {} captured line(s) did not parse",
            chain.unparsed_lines
        );
    }

    for p in programs.iter().take(3) {
        let _ = writeln!(out, "\n{} (pid {}): slowest package inits", p.tool, p.pid);
        package_rows(out, &p.top_by_clock, top);
        let by_bytes_new: Vec<PkgInit> = p
            .top_by_bytes
            .iter()
            .take(top)
            .filter(|b| b.bytes >= 1 << 20)
            .filter(|b| !p.top_by_clock.iter().take(top).any(|c| c.pkg == b.pkg))
            .cloned()
            .collect();
        if !by_bytes_new.is_empty() {
            let _ = writeln!(out, "  also large by allocation:");
            package_rows(out, &by_bytes_new, top);
        }
        let io: Vec<PkgInit> = p
            .did_io
            .iter()
            .filter(|b| !p.top_by_clock.iter().take(top).any(|c| c.pkg == b.pkg))
            .cloned()
            .collect();
        if !io.is_empty() {
            let _ = writeln!(out, "  also touched the file system:");
            package_rows(out, &io, top);
        }
        let non_std = p.non_std.len();
        if non_std > 0 {
            let names: Vec<&str> = p.non_std.iter().take(5).map(|x| x.pkg.as_str()).collect();
            let _ = writeln!(
                out,
                "  outside the standard library: {non_std} ({}{})",
                names.join(", "),
                if non_std > 5 { ", ..." } else { "" }
            );
        }
    }
    if programs.is_empty()
        && let Some(t) = chain.top.first()
    {
        let _ = writeln!(
            out,
            "  slowest init: {} in {} (pid {}), {:.2} ms: {}",
            t.init.pkg,
            t.tool,
            t.pid,
            t.init.clock_ms,
            t.init.hint.as_deref().unwrap_or("")
        );
    }
}

fn package_rows(out: &mut String, rows: &[PkgInit], top: usize) {
    let _ = writeln!(
        out,
        "  {:>9} {:>9} {:>8} {:>4}  package",
        "clock ms", "MB", "allocs", "io"
    );
    for x in rows.iter().take(top) {
        let io = if x.io_calls > 0 {
            x.io_calls.to_string()
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:>9.3} {:>9.2} {:>8} {:>4}  {}",
            x.clock_ms,
            x.bytes as f64 / (1024.0 * 1024.0),
            x.allocs,
            io,
            x.pkg
        );
        if let Some(h) = x.hint.as_ref().filter(|h| !h.starts_with("cheap")) {
            let _ = writeln!(out, "            hint: {h}");
        }
    }
}

fn render_go_phases(out: &mut String, g: &GoPhases, top: usize) {
    let _ = writeln!(
        out,
        "\ngo command phases (-debug-trace{}): {} phases over {:.1} ms of a {:.1} ms go command{}",
        g.go_pid.map(|p| format!(", pid {p}")).unwrap_or_default(),
        g.phase_count,
        g.traced_ms,
        g.go_wall_ms,
        if g.complete {
            ""
        } else {
            " (trace incomplete)"
        }
    );
    let _ = writeln!(
        out,
        "  {:<44} {:>6} {:>10} {:>10} {:>6}",
        "phase kind", "count", "wall ms", "busy ms", "share"
    );
    for k in g.by_kind.iter().take(top) {
        let _ = writeln!(
            out,
            "  {:<44} {:>6} {:>10.1} {:>10.1} {:>5.1}%",
            clip(&k.total.kind, 44),
            k.total.count,
            k.total.wall_ms,
            k.total.busy_ms,
            k.share * 100.0
        );
    }
    let _ = writeln!(out, "  largest single phases:");
    for p in g.largest.iter().take(top.min(5)) {
        let _ = writeln!(
            out,
            "  {:>10.1} ms {:>5.1}%  at {:>8.1} ms  {}",
            p.dur_ms,
            p.share * 100.0,
            p.start_ms,
            clip(&p.name, 70)
        );
    }
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_report_renders_nothing() {
        let report = crate::model::empty_report_for_tests();
        assert_eq!(render(&report, 10), "");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
