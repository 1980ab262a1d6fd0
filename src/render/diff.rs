//! `golat diff`: what changed between two analysed reports, hotspot by hotspot, with the
//! ratio after/before for each figure.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::summary::hotspot;
use super::{Style, Table, bold, ms, yellow_bold};
use crate::analyze::exec::ExecAnalysis;
use crate::analyze::fs_blocking::FsBlocking;
use crate::analyze::habits::Habits;
use crate::analyze::path_scan::PathScan;
use crate::analyze::{JSON_ROWS, Verdict};
use crate::model::Report;

pub const DIFF_SCHEMA: &str = "golat.diff/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub schema: String,
    pub before: Side,
    pub after: Side,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub file: String,
    pub command: String,
    pub wall_ms: f64,
    pub exit_code: i32,
    pub verdict: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// `run`, `tools`, `critical_path`, `path_scan`, `fs_blocking`, `stat_storms`,
    /// `habits`, `syscalls`.
    pub key: String,
    pub title: String,
    /// What the numbers are: `wall ms`, `sys ms`, `probes`, `calls`, ...
    pub unit: String,
    /// Largest change first.
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub item: String,
    pub before: f64,
    pub after: f64,
    /// after / before; `None` when before is 0 (new in `after`).
    pub ratio: Option<f64>,
}

fn section(
    key: &str,
    title: &str,
    unit: &str,
    before: BTreeMap<String, f64>,
    after: BTreeMap<String, f64>,
) -> Section {
    let mut items: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (k, v) in before {
        items.entry(k).or_default().0 = v;
    }
    for (k, v) in after {
        items.entry(k).or_default().1 = v;
    }
    let mut rows: Vec<Row> = items
        .into_iter()
        .map(|(item, (b, a))| Row {
            item,
            before: b,
            after: a,
            ratio: (b != 0.0).then(|| a / b),
        })
        .collect();
    rows.sort_by(|x, y| {
        (y.after - y.before)
            .abs()
            .total_cmp(&(x.after - x.before).abs())
            .then(x.item.cmp(&y.item))
    });
    rows.truncate(JSON_ROWS);
    Section {
        key: key.into(),
        title: title.into(),
        unit: unit.into(),
        rows,
    }
}

/// Figures of one report, keyed by section.
fn figures(
    r: &Report,
) -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    BTreeMap<String, f64>,
)> {
    let mut run = BTreeMap::new();
    run.insert("wall ms".to_string(), r.wall_ms);
    run.insert("processes".to_string(), r.processes.len() as f64);
    run.insert("recorded calls".to_string(), r.calls.len() as f64);
    run.insert(
        "failed calls".to_string(),
        r.calls.iter().filter(|c| c.failed()).count() as f64,
    );
    run.insert(
        "sys ms (all calls)".to_string(),
        r.syscalls.iter().map(|s| s.total_ms).sum(),
    );
    let mut tools = BTreeMap::new();
    let mut crit = BTreeMap::new();
    if let Some(ex) = hotspot::<ExecAnalysis>(r, "exec") {
        for t in ex.tools {
            tools.insert(t.tool.clone(), t.total_wall_ms);
            crit.insert(t.tool, t.critical_ms);
        }
    }
    let mut probes = BTreeMap::new();
    if let Some(ps) = hotspot::<PathScan>(r, "path_scan") {
        probes.insert("(all names)".to_string(), ps.totals.probes as f64);
        for n in ps.names {
            probes.insert(n.name, n.probes as f64);
        }
    }
    let mut fs_cat = BTreeMap::new();
    let mut storms = BTreeMap::new();
    if let Some(fs) = hotspot::<FsBlocking>(r, "fs_blocking") {
        fs_cat.insert("(all)".to_string(), fs.totals.sys_ms);
        for c in fs.categories {
            fs_cat.insert(c.category, c.times.sys_ms);
        }
        for s in fs.stat_storms {
            *storms.entry(work_dir_neutral(&s.path)).or_insert(0.0) += s.times.calls as f64;
        }
    }
    let mut habits = BTreeMap::new();
    if let Some(hb) = hotspot::<Habits>(r, "habits") {
        for h in hb.items {
            habits.insert(format!("{} ({})", h.key, h.cost_kind), h.cost_ms);
        }
    }
    let mut calls = BTreeMap::new();
    for s in &r.syscalls {
        calls.insert(s.name.clone(), s.count as f64);
    }
    vec![
        ("run", "Run", "as named", run),
        ("tools", "Processes by tool", "total wall ms", tools),
        (
            "critical_path",
            "Critical path by tool",
            "wall ms on the path",
            crit,
        ),
        ("path_scan", "PATH scans", "probes", probes),
        ("fs_blocking", "Filesystem by category", "sys ms", fs_cat),
        ("stat_storms", "Stat storms", "calls", storms),
        ("habits", "Toolchain habits", "cost ms", habits),
        ("syscalls", "System calls", "calls", calls),
    ]
}

/// The go command's `$WORK` directory (`/tmp/go-build1234567`) has a new name every run:
/// `/tmp/go-build*` pairs the rows of two runs.
fn work_dir_neutral(path: &str) -> String {
    match path.find("/go-build") {
        Some(i) => {
            let rest = &path[i + "/go-build".len()..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                format!("{}/go-build*{}", &path[..i], &rest[digits..])
            } else {
                path.to_string()
            }
        }
        None => path.to_string(),
    }
}

pub fn compare(before: &Report, before_file: &str, after: &Report, after_file: &str) -> Diff {
    let side = |r: &Report, file: &str| Side {
        file: file.to_string(),
        command: super::shell_join(&r.command),
        wall_ms: r.wall_ms,
        exit_code: r.exit_code,
        verdict: hotspot::<Verdict>(r, "verdict").map(|v| v.line),
    };
    let sections = figures(before)
        .into_iter()
        .zip(figures(after))
        .map(|((key, title, unit, b), (_, _, _, a))| section(key, title, unit, b, a))
        .filter(|s| !s.rows.is_empty())
        .collect();
    Diff {
        schema: DIFF_SCHEMA.into(),
        before: side(before, before_file),
        after: side(after, after_file),
        sections,
    }
}

fn ratio_cell(r: &Row) -> String {
    match r.ratio {
        None if r.after == 0.0 => "=".into(),
        None => "new".into(),
        Some(x) if r.after == 0.0 && x == 0.0 => "gone".into(),
        _ if r.before == r.after => "=".into(),
        Some(x) => format!("×{x:.2}"),
    }
}

fn num(v: f64, unit: &str) -> String {
    if unit.contains("ms") || (unit == "as named" && v.fract() != 0.0) {
        ms(v)
    } else {
        format!("{v:.0}")
    }
}

pub fn render(d: &Diff, style: &Style) -> String {
    let mut out = String::new();
    let _ = write_diff(&mut out, d, style);
    out
}

fn write_diff(out: &mut String, d: &Diff, style: &Style) -> std::fmt::Result {
    let wall_ratio = if d.before.wall_ms > 0.0 {
        format!(" (×{:.2})", d.after.wall_ms / d.before.wall_ms)
    } else {
        String::new()
    };
    writeln!(
        out,
        "{}",
        yellow_bold(
            &format!(
                "golat diff: wall {:.1} ms → {:.1} ms{wall_ratio}",
                d.before.wall_ms, d.after.wall_ms
            ),
            style.color
        )
    )?;
    for (label, s) in [("before", &d.before), ("after", &d.after)] {
        writeln!(
            out,
            "  {label:<6} {}: `{}` exited {}",
            s.file, s.command, s.exit_code
        )?;
        if let Some(v) = &s.verdict {
            writeln!(out, "         verdict: {v}")?;
        }
    }
    for s in &d.sections {
        let rows: Vec<&Row> = s
            .rows
            .iter()
            .filter(|r| r.before != r.after || s.key == "run")
            .take(style.top)
            .collect();
        if rows.is_empty() {
            continue;
        }
        writeln!(
            out,
            "\n{}",
            bold(
                &format!("{} ({}), largest change first", s.title, s.unit),
                style.color
            )
        )?;
        let mut t = Table::new(&["item", "before", "after", "change", "ratio"])
            .numeric(&[1, 2, 3, 4])
            .flex(0);
        for r in rows {
            let delta = r.after - r.before;
            t.row(vec![
                r.item.clone(),
                num(r.before, &s.unit),
                num(r.after, &s.unit),
                format!(
                    "{}{}",
                    if delta > 0.0 { "+" } else { "" },
                    num(delta, &s.unit)
                ),
                ratio_cell(r),
            ]);
        }
        writeln!(out, "{}", t.render(style.width))?;
    }
    Ok(())
}
