//! The compact end-of-run summary of `golat profile`: wall time, processes by tool,
//! syscall totals, slowest calls.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::Report;

pub fn render(report: &Report, top: usize) -> String {
    let mut out = String::new();
    let cmd = report.command.join(" ");
    let status = match report.signal {
        Some(sig) => format!("was killed by signal {sig}"),
        None => format!("exited {}", report.exit_code),
    };
    let _ = writeln!(
        out,
        "golat: `{cmd}` {status} after {:.1} ms wall",
        report.wall_ms
    );
    if !report.traced {
        let _ = writeln!(
            out,
            "golat: untraced: {}",
            report
                .untraced_reason
                .as_deref()
                .unwrap_or("ptrace unavailable")
        );
        return out;
    }

    let mut by_tool: BTreeMap<&str, (u32, f64, f64)> = BTreeMap::new();
    for p in &report.processes {
        let wall = p.exec_wall_ms().unwrap_or(0.0);
        let e = by_tool.entry(p.tool.as_str()).or_default();
        e.0 += 1;
        e.1 += wall;
        e.2 = e.2.max(wall);
    }
    let mut tools: Vec<_> = by_tool.into_iter().collect();
    tools.sort_by(|a, b| b.1.1.total_cmp(&a.1.1));
    let _ = writeln!(out, "\nprocesses: {}", report.processes.len());
    let _ = writeln!(
        out,
        "  {:<24} {:>6} {:>12} {:>12}",
        "tool", "count", "wall ms", "max ms"
    );
    for (tool, (count, total, max)) in tools.iter().take(top) {
        let _ = writeln!(out, "  {tool:<24} {count:>6} {total:>12.1} {max:>12.1}");
    }

    let _ = writeln!(
        out,
        "\nsyscalls: {} calls, {} failed",
        report.calls.len(),
        report.calls.iter().filter(|c| c.failed()).count()
    );
    let _ = writeln!(
        out,
        "  {:<12} {:>8} {:>8} {:>12} {:>14}",
        "name", "count", "errors", "total ms", "inclusive ms"
    );
    let mut sums = report.syscalls.clone();
    sums.sort_by_key(|s| std::cmp::Reverse(s.count));
    for s in sums.iter().take(top) {
        let _ = writeln!(
            out,
            "  {:<12} {:>8} {:>8} {:>12.2} {:>14.2}",
            s.name, s.count, s.errors, s.total_ms, s.total_ms_inclusive
        );
    }

    let mut slow: Vec<_> = report.calls.iter().collect();
    slow.sort_by(|a, b| b.dur_us.total_cmp(&a.dur_us));
    let _ = writeln!(out, "\nslowest calls:");
    for c in slow.iter().take(top) {
        let result = c
            .errno
            .clone()
            .or_else(|| c.ret.map(|r| r.to_string()))
            .unwrap_or_else(|| "ok".into());
        let _ = writeln!(
            out,
            "  {:>9.1} us  {:<11} {:<7} pid {:<7} {}",
            c.dur_us,
            c.name,
            result,
            c.pid,
            c.path.as_deref().or(c.addr.as_deref()).unwrap_or("")
        );
    }
    let _ = writeln!(
        out,
        "\n{} stops; {}",
        report.timing.stops, report.timing.note
    );
    out
}
