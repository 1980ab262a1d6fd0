//! The text form of a path-audit report: entry table, findings, shadowed names, cost, fix.

use std::io::{self, Write};

use super::{Report, Status};
use crate::audit::Severity;

/// Colour only on a terminal, and never when NO_COLOR is set (even to "").
pub fn use_colour() -> bool {
    crate::audit::stdout_is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn paint(colour: bool, code: &str, s: &str) -> String {
    if colour {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn sev(colour: bool, s: Severity) -> String {
    let (code, text) = match s {
        Severity::Error => ("1;31", "error"),
        Severity::Warn => ("33", "warn "),
        Severity::Info => ("2", "info "),
        Severity::Ok => ("32", "ok   "),
    };
    paint(colour, code, text)
}

/// Microseconds, with a unit that keeps 2–3 significant digits.
pub fn fmt_us(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else if us >= 10.0 {
        format!("{us:.0} µs")
    } else {
        format!("{us:.1} µs")
    }
}

fn fmt_ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 1.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.3}")
    }
}

pub fn text(out: &mut impl Write, r: &Report, colour: bool) -> io::Result<()> {
    writeln!(
        out,
        "PATH: {} entries, {} bytes (audited in {:.1} ms, uid {})",
        r.entries.len(),
        r.path.len(),
        r.elapsed_ms,
        r.euid
    )?;
    if let Some(f) = &r.first_fix {
        writeln!(
            out,
            "{} {} {}: {}",
            paint(colour, "1", "Fix this first:"),
            f.id,
            f.kind,
            f.fix
        )?;
    }
    writeln!(out)?;
    let w = r
        .entries
        .iter()
        .map(|e| e.as_written.chars().count())
        .max()
        .unwrap_or(5)
        .clamp(5, 48);
    writeln!(
        out,
        "{:>3}  {:<w$}  {:<14}  {:<12}  {:<8}  {:<4}  {:>9}  {:>5}",
        "#", "entry", "status", "fs", "owner", "mode", "lookup", "exes"
    )?;
    for e in &r.entries {
        let shown = if e.as_written.is_empty() {
            "(empty)".to_string()
        } else {
            e.as_written.clone()
        };
        let status = match e.status {
            Status::Ok => e.status.as_str().to_string(),
            _ => paint(colour, "33", e.status.as_str()),
        };
        // Pad before painting so escape codes do not disturb the columns.
        let status = format!(
            "{status}{}",
            " ".repeat(14usize.saturating_sub(e.status.as_str().len()))
        );
        writeln!(
            out,
            "{:>3}  {:<w$}  {}  {:<12}  {:<8}  {:<4}  {:>9}  {:>5}",
            e.index,
            shown,
            status,
            e.fs_type.as_deref().unwrap_or("-"),
            e.owner
                .clone()
                .or(e.owner_uid.map(|u| u.to_string()))
                .unwrap_or("-".into()),
            e.mode.as_deref().unwrap_or("-"),
            e.lookup_us.map(fmt_us).unwrap_or("-".into()),
            e.executables.map(|n| n.to_string()).unwrap_or("-".into()),
        )?;
        let written_clean = e.as_written.trim_end_matches('/');
        if e.status != Status::Unresponsive
            && !e.as_written.is_empty()
            && written_clean != e.resolved
        {
            writeln!(
                out,
                "{:>3}  {}",
                "",
                paint(colour, "2", &format!("→ {}", e.resolved))
            )?;
        }
    }

    writeln!(out)?;
    let count = |s| r.findings.iter().filter(|f| f.severity == s).count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    writeln!(
        out,
        "Findings: {}, {}, {} info",
        plural(count(Severity::Error), "error", "errors"),
        plural(count(Severity::Warn), "warning", "warnings"),
        count(Severity::Info)
    )?;
    if r.findings.is_empty() {
        writeln!(out, "  none")?;
    }
    for f in &r.findings {
        writeln!(
            out,
            "  {} {} {:<14} {}",
            sev(colour, f.severity),
            f.id,
            f.kind,
            f.message
        )?;
        writeln!(out, "  {:<28} fix: {}", "", f.fix)?;
    }

    writeln!(out)?;
    writeln!(
        out,
        "Executables (winner first; Go versions read from build info, not by running)"
    )?;
    let loc = |l: &super::Location| {
        let mut s = format!("#{} {}", l.entry, l.path);
        if let Some(t) = &l.link_target {
            s.push_str(&format!(" -> {t}"));
        }
        if let Some(v) = &l.go_version {
            s.push_str(&format!(" ({v})"));
        }
        s
    };
    for s in r.shadowed.iter().filter(|s| s.key) {
        match &s.winner {
            None => writeln!(out, "  {:<11} not found", s.name)?,
            Some(win) => {
                writeln!(out, "  {:<11} {}", s.name, loc(win))?;
                for l in &s.losers {
                    writeln!(out, "  {:<11}   shadows {}", "", loc(l))?;
                }
            }
        }
    }
    let others: Vec<&str> = r
        .shadowed
        .iter()
        .filter(|s| !s.key)
        .map(|s| s.name.as_str())
        .collect();
    if !others.is_empty() {
        let list = if others.len() > 12 {
            format!("{}, ... (all in --json)", others[..12].join(", "))
        } else {
            others.join(", ")
        };
        writeln!(
            out,
            "  {} other names are in more than one entry: {list}",
            others.len()
        )?;
    }

    writeln!(out)?;
    writeln!(
        out,
        "PATH cost per go command (now -> with the suggested PATH)"
    )?;
    writeln!(out, "  {:<24} {:>15}  {:>17}", "command", "probes", "ms")?;
    for c in &r.cost.commands {
        let ms = format!(
            "{}{} -> {}",
            if c.lower_bound { ">=" } else { "" },
            fmt_ms(c.ms),
            fmt_ms(c.suggested_ms)
        );
        writeln!(
            out,
            "  {:<24} {:>15}  {:>17}",
            c.command,
            format!("{} -> {}", c.probes, c.suggested_probes),
            ms
        )?;
    }
    writeln!(
        out,
        "  {}",
        paint(colour, "2", &format!("model: {}", r.cost.source))
    )?;

    writeln!(out)?;
    let kept = if r.suggested_path.is_empty() {
        0
    } else {
        r.suggested_path.split(':').count()
    };
    if r.suggested_fallback {
        writeln!(
            out,
            "Suggested PATH ({}; nothing of PATH is usable, so the system directories):",
            r.shell
        )?;
    } else {
        writeln!(
            out,
            "Suggested PATH ({}, {} of {} entries kept; slow and remote entries last):",
            r.shell,
            kept,
            r.entries.len()
        )?;
    }
    writeln!(out, "  {}", r.suggested_line)?;
    Ok(())
}
