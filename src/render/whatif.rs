//! The `golat whatif` table: each trial's medians, saving, interval and verdict, then how
//! each was applied and what was not tried.

use std::fmt::Write;

use super::{Style, Table, bold, ms};
use crate::whatif::{TrialResult, WhatifReport};

pub fn table(r: &WhatifReport, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        bold(
            &format!("golat whatif: {}", super::shell_join(&r.command)),
            style.color
        )
    );
    let _ = writeln!(
        out,
        "traced run: {} ms under golat ({} processes, {} calls); then {} warm-up and {} rounds \
         of {}, each trial paired with a run of the command as given (medians, ms)",
        ms(r.traced.wall_ms),
        r.traced.processes,
        r.traced.calls,
        r.warmup,
        r.rounds,
        if r.trials.iter().all(|t| t.id.starts_with("slow:")) && !r.trials.is_empty() {
            "runs under golat profile (--slow)"
        } else if r.trials.iter().any(|t| t.id.starts_with("slow:")) {
            "untraced runs (--slow trials and their pairs: under golat profile)"
        } else {
            "untraced runs"
        }
    );
    if r.trials.is_empty() {
        let _ = writeln!(
            out,
            "\nnothing to try: the traced run suggested no change whatif can apply{}",
            if r.skipped.is_empty() {
                ""
            } else {
                " (not tried: below)"
            }
        );
    } else {
        let mut t = Table::new(&[
            "trial",
            "change",
            "as given",
            "changed",
            "saving",
            "95% interval",
            "verdict",
        ])
        .numeric(&[2, 3, 4, 5])
        .flex(1);
        for tr in &r.trials {
            t.row(vec![
                tr.id.clone(),
                tr.change.clone(),
                ms(tr.baseline_ms.median),
                ms(tr.changed_ms.median),
                if tr.failed.is_some() {
                    "-".into()
                } else {
                    format!("{} ({:.0}%)", ms(tr.saving_ms), tr.saving_pct)
                },
                if tr.failed.is_some() {
                    "-".into()
                } else {
                    format!("{} .. {}", ms(tr.interval_ms[0]), ms(tr.interval_ms[1]))
                },
                verdict(tr),
            ]);
        }
        let _ = writeln!(out, "\n{}", t.render(style.width));
        let _ = writeln!(out, "\n{}", bold("how each was applied", style.color));
        for tr in &r.trials {
            let _ = writeln!(out, "  {}: {}", tr.id, tr.how);
            // The table cuts a long change (a PATH); the fix must be there whole to be copied.
            if tr.change.chars().count() > 40 {
                let _ = writeln!(out, "    change: {}", tr.change);
            }
            if let Some(c) = &tr.caveat {
                let _ = writeln!(out, "    note: {c}");
            }
            if let Some(f) = &tr.failed {
                let what = if f.timed_out {
                    "did not finish within --timeout".to_string()
                } else {
                    format!("exit {}", f.exit_code.unwrap_or(1))
                };
                let _ = writeln!(out, "    failed: {what}");
                for line in f
                    .stderr_tail
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .iter()
                    .rev()
                {
                    let _ = writeln!(out, "      | {line}");
                }
            }
        }
    }
    if !r.skipped.is_empty() {
        let _ = writeln!(out, "\n{}", bold("not tried", style.color));
        for s in &r.skipped {
            let _ = writeln!(out, "  {}: {}", s.id, s.reason);
        }
    }
    out
}

fn verdict(t: &TrialResult) -> String {
    match t.verdict.as_str() {
        "saves" => format!("saves {} ms", ms(t.saving_ms)),
        "costs" => format!("costs {} ms", ms(-t.saving_ms)),
        "within_noise" => "within noise".into(),
        other => other.into(),
    }
}
