//! `golat diff`: what changed between two analysed reports, hotspot by hotspot, with the
//! ratio after/before for each figure.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::summary::hotspot;
use super::{Style, Table, bold, ms, yellow_bold};
use crate::analyze::build_cache::{BuildCacheRecord, RebuildExplanation, explain_rebuilds};
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
    /// Why `after` rebuilt packages `before` took from the build cache, when both reports
    /// have a build cache record (`golat profile`; named causes need `--explain` on both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebuilds: Option<RebuildExplanation>,
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
    /// Ranked by relative change, |after/before - 1|, largest first (`rank_rows`):
    /// rows new in `after` or gone from it first, ties by absolute change then item name,
    /// unchanged rows last. Rows of different units are never ranked against each other: in
    /// `run` the `wall ms` row comes first, then `sys ms (all calls)`, `processes`, and the
    /// two call counts; in `habits` the wall costs come before the sys costs.
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
    rank_rows(key, &mut rows);
    rows.truncate(JSON_ROWS);
    Section {
        key: key.into(),
        title: title.into(),
        unit: unit.into(),
        rows,
    }
}

/// The unit of a row's figure, as a rank: rows are ranked only against rows of the same
/// unit, the units in this order. `run` holds one figure of each kind (wall time first, the
/// figure the diff leads with; then system time; then the counts), `habits` wall and sys
/// costs; every other section has one unit.
fn unit_rank(key: &str, item: &str) -> u8 {
    match (key, item) {
        ("run", "wall ms") => 0,
        ("run", "sys ms (all calls)") => 1,
        ("run", "processes") => 2,
        ("run", _) => 3, // recorded calls, failed calls
        ("habits", i) if i.ends_with("(wall)") => 0,
        ("habits", _) => 1,
        _ => 0,
    }
}

/// Relative change, |after/before - 1|. A row new in `after` (before 0) or gone from it
/// (after 0) counts as infinite: something started or stopped happening, which says more
/// than any ratio, and the formula would give a row that went to 0 only 1, the same as a
/// row that merely doubled.
fn relative_change(r: &Row) -> f64 {
    if r.before == r.after {
        0.0
    } else if r.before == 0.0 || r.after == 0.0 {
        f64::INFINITY
    } else {
        (r.after / r.before - 1.0).abs()
    }
}

/// Orders one section's rows: unchanged rows last (the `run` section's `wall ms` stays
/// first even when unchanged), then by unit ([`unit_rank`]), then largest relative change
/// first ([`relative_change`]), then largest absolute change, then item name, so the order
/// never depends on the input's. Relative first because the absolute changes of different
/// rows are only comparable when their figures are of one size: 1000 → 1100 calls is a
/// smaller change than 2 → 4.
fn rank_rows(key: &str, rows: &mut [Row]) {
    let last = |r: &Row| r.before == r.after && !(key == "run" && r.item == "wall ms");
    rows.sort_by(|x, y| {
        last(x)
            .cmp(&last(y))
            .then(unit_rank(key, &x.item).cmp(&unit_rank(key, &y.item)))
            .then(relative_change(y).total_cmp(&relative_change(x)))
            .then(
                (y.after - y.before)
                    .abs()
                    .total_cmp(&(x.after - x.before).abs()),
            )
            .then(x.item.cmp(&y.item))
    });
}

/// Sections with figures in wall time first: `run` (which leads with `wall ms`), then the
/// sections in wall ms; the others after them. Stable: within each, the order of
/// [`figures`].
fn rank_sections(sections: &mut [Section]) {
    sections.sort_by_key(|s| match s.key.as_str() {
        "run" => 0,
        _ if s.unit.contains("wall") => 1,
        _ => 2,
    });
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
    run.insert("recorded calls".to_string(), r.recorded_calls() as f64);
    run.insert("failed calls".to_string(), r.failed_calls() as f64);
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
    // Programs by name (pids differ between runs); the first of a name is the slowest.
    let mut startup = BTreeMap::new();
    if let Some(st) = hotspot::<crate::analyze::startup::Startup>(r, "startup") {
        for p in st.processes.iter().filter(|p| !p.toolchain) {
            if let Some(main) = p.main_ms {
                startup
                    .entry(format!("{}: exec → main.main", p.tool))
                    .or_insert(main - p.golat_ms);
            }
            for ph in &p.phases {
                startup
                    .entry(format!("{}: {}", p.tool, ph.name))
                    .or_insert(ph.native_ms);
            }
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
        (
            "startup",
            "Startup before main.main",
            "wall ms, native ≈",
            startup,
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
    let mut sections: Vec<Section> = figures(before)
        .into_iter()
        .zip(figures(after))
        .map(|((key, title, unit, b), (_, _, _, a))| section(key, title, unit, b, a))
        .filter(|s| !s.rows.is_empty())
        .collect();
    rank_sections(&mut sections);
    let record = |r: &Report| {
        r.go.get("build_cache")
            .and_then(|v| BuildCacheRecord::deserialize(v).ok())
    };
    let rebuilds = match (record(before), record(after)) {
        (Some(b), Some(a)) => Some(explain_rebuilds(&b, &a)),
        _ => None,
    };
    Diff {
        schema: DIFF_SCHEMA.into(),
        before: side(before, before_file),
        after: side(after, after_file),
        sections,
        rebuilds,
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

/// How a section's rows are ordered, for its heading ([`rank_rows`]).
fn order_note(key: &str) -> &'static str {
    match key {
        "run" => "wall ms first, then per unit, largest relative change first",
        "habits" => "wall costs first, then sys, largest relative change first",
        _ => "largest relative change first",
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
    if let Some(rb) = d.rebuilds.as_ref().filter(|r| r.packages > 0) {
        writeln!(
            out,
            "\n{}",
            bold(
                &format!(
                    "Rebuilt in after, taken from the cache in before: {} packages, {} ms of compile (wall, traced)",
                    rb.packages,
                    ms(rb.compile_ms)
                ),
                style.color
            )
        )?;
        for g in rb.causes.iter().take(style.top) {
            let more = if g.packages as usize > g.examples.len() {
                ", …"
            } else {
                ""
            };
            writeln!(
                out,
                "  {}: {} package{}, {} ms ({}{more})",
                g.cause,
                g.packages,
                if g.packages == 1 { "" } else { "s" },
                ms(g.compile_ms),
                g.examples.join(", ")
            )?;
        }
        if rb.causes.len() > style.top {
            writeln!(out, "  {} more causes (--top)", rb.causes.len() - style.top)?;
        }
        if rb.unexplained > 0 {
            writeln!(
                out,
                "  {} package(s) without a named cause: profile both runs with --explain to \
                 capture what their build-cache keys are made of",
                rb.unexplained
            )?;
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
                &format!("{} ({}), {}", s.title, s.unit, order_note(&s.key)),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The items of a section built from `(item, before, after)`, in rank order.
    fn ranked(key: &str, rows: &[(&str, f64, f64)]) -> Vec<String> {
        let side = |pick: fn(&(&str, f64, f64)) -> f64| {
            rows.iter()
                .map(|r| (r.0.to_string(), pick(r)))
                .collect::<BTreeMap<_, _>>()
        };
        section(key, key, "unit", side(|r| r.1), side(|r| r.2))
            .rows
            .into_iter()
            .map(|r| r.item)
            .collect()
    }

    #[test]
    fn wall_ms_leads_the_run_section_whatever_the_counts_did() {
        let order = ranked(
            "run",
            &[
                ("wall ms", 100.0, 200.0),
                ("recorded calls", 10.0, 1000.0),
                ("failed calls", 1.0, 50.0),
                ("processes", 6.0, 6.0),
                ("sys ms (all calls)", 10.0, 30.0),
            ],
        );
        assert_eq!(
            order,
            [
                "wall ms",
                "sys ms (all calls)",
                "recorded calls",
                "failed calls",
                "processes"
            ]
        );
        // Even unchanged, wall ms comes first.
        let order = ranked(
            "run",
            &[("wall ms", 100.0, 100.0), ("recorded calls", 10.0, 20.0)],
        );
        assert_eq!(order, ["wall ms", "recorded calls"]);
    }

    #[test]
    fn relative_change_outranks_absolute_within_one_unit() {
        // ×2 ranks above ×1.1 though its absolute change is 50 times smaller.
        let order = ranked("syscalls", &[("read", 1000.0, 1100.0), ("close", 2.0, 4.0)]);
        assert_eq!(order, ["close", "read"]);
        // Same for the counts of the run section.
        let order = ranked(
            "run",
            &[
                ("recorded calls", 1000.0, 1100.0),
                ("failed calls", 2.0, 4.0),
            ],
        );
        assert_eq!(order, ["failed calls", "recorded calls"]);
        // A decrease is ranked by the same measure: ×0.25 (0.75) above ×1.5 (0.5).
        let order = ranked(
            "tools",
            &[("link", 100.0, 150.0), ("compile", 400.0, 100.0)],
        );
        assert_eq!(order, ["compile", "link"]);
    }

    #[test]
    fn new_and_gone_first_then_ties_by_absolute_change_then_name_unchanged_last() {
        let order = ranked(
            "syscalls",
            &[
                ("unchanged", 7.0, 7.0),
                ("x1 small", 1.0, 2.0),
                ("x1 big", 10.0, 20.0),
                ("x1 mid b", 4.0, 8.0),
                ("x1 mid a", 4.0, 8.0),
                ("x3", 1.0, 3.0),
                ("new", 0.0, 2.0),
                ("gone", 5.0, 0.0),
            ],
        );
        assert_eq!(
            order,
            [
                "gone",
                "new",
                "x3",
                "x1 big",
                "x1 mid a",
                "x1 mid b",
                "x1 small",
                "unchanged"
            ]
        );
        // Deterministic whatever order the rows come in.
        let mut rows: Vec<Row> = [("b", 1.0, 2.0), ("a", 1.0, 2.0)]
            .into_iter()
            .map(|(item, before, after)| Row {
                item: item.into(),
                before,
                after,
                ratio: Some(after / before),
            })
            .collect();
        rank_rows("syscalls", &mut rows);
        assert_eq!(rows[0].item, "a");
    }

    #[test]
    fn habits_rank_wall_costs_apart_from_sys_costs() {
        let order = ranked(
            "habits",
            &[
                ("go_work_walk (sys)", 0.015, 0.0),
                ("telemetry_mode (sys)", 0.3, 0.2),
                ("version_probes (wall)", 100.0, 110.0),
                ("vcs_stamp (wall)", 5.0, 5.0),
            ],
        );
        assert_eq!(
            order,
            [
                "version_probes (wall)",
                "go_work_walk (sys)",
                "telemetry_mode (sys)",
                "vcs_stamp (wall)"
            ]
        );
    }

    #[test]
    fn sections_in_wall_time_come_first_the_rest_keep_their_order() {
        let s = |key: &str, unit: &str| Section {
            key: key.into(),
            title: key.into(),
            unit: unit.into(),
            rows: Vec::new(),
        };
        let mut sections = vec![
            s("path_scan", "probes"),
            s("tools", "total wall ms"),
            s("fs_blocking", "sys ms"),
            s("critical_path", "wall ms on the path"),
            s("run", "as named"),
            s("syscalls", "calls"),
        ];
        rank_sections(&mut sections);
        let keys: Vec<&str> = sections.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "run",
                "tools",
                "critical_path",
                "path_scan",
                "fs_blocking",
                "syscalls"
            ]
        );
    }
}
