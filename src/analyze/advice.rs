//! "What to change": the findings of the other analyses turned into at most five changes,
//! ranked by the wall time each would save on the critical path (not by summed call time),
//! each with its evidence, its fix as a setting or a command, and how far the estimate can
//! be trusted. A finding under 1% of the wall is counted, not listed.
//!
//! The saving of a set of calls is the time at least one of them was in flight while its
//! process held the critical path: the union of their `[t, t + sys]` intervals clipped to
//! the process's stretches of the path. Parallel calls of one stretch count once, calls of
//! processes off the path not at all: only that time moves the end of the run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::exec::{ExecAnalysis, Stretch};
use super::fs_blocking::FsBlocking;
use super::habits::Habits;
use super::init_chain::InitChain;
use super::path_scan::{PathEntry, PathScan};
use super::{Ctx, Kind, split_parent, sys_us};
use crate::gosrc::debugtrace::union_ms;
use crate::model::Report;

/// Findings listed at most.
pub const MAX_FINDINGS: usize = 5;

/// A finding is listed when it would save at least this share of the wall.
pub const MIN_SHARE: f64 = 0.01;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WhatToChange {
    /// At most `MAX_FINDINGS`, largest saving first, each at least `MIN_SHARE` of the wall.
    pub findings: Vec<Finding>,
    /// Findings golat made that fell under the threshold or past the fifth.
    pub not_listed: u64,
    /// The largest of those left out, for "nothing worth changing" lines.
    pub largest_not_listed: Option<Finding>,
    /// The wall the shares are of: the run as it ran under golat, ms.
    pub wall_ms: f64,
    pub min_share: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Finding {
    /// `slow_mount`, `path_entries`, `rebuilt_packages`, `slow_init`, `vcs_stamping`,
    /// `go_work_walk`, `repeated_go_commands`, `discarded_links`, `network`.
    pub key: String,
    pub title: String,
    /// Critical-path wall a fix would save, ms (see the module docs: the calls' own time).
    pub saves_ms: f64,
    /// `saves_ms` as a share of `WhatToChange::wall_ms` (0..1).
    pub share: f64,
    /// What golat saw, with the figures.
    pub evidence: String,
    /// The change, as a setting or a command.
    pub fix: String,
    /// `high` (the fix removes the measured calls), `medium` (it moves them somewhere
    /// faster: the saving is what they cost here less what they cost there), `low` (golat
    /// cannot see whether the fix applies).
    pub confidence: String,
    pub why_confidence: String,
    /// The fix as environment settings, when it is one (`PATH`, `GOFLAGS`, `GOWORK`): what
    /// `golat whatif` applies to measure it. A `GOFLAGS` value is added to the user's own.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

/// The critical path's stretches per process, for clipping intervals to them.
struct PathIndex {
    by_proc: Vec<Vec<(f64, f64)>>,
}

impl PathIndex {
    fn new(n: usize, stretches: &[Stretch]) -> PathIndex {
        let mut by_proc = vec![Vec::new(); n];
        for &(p, from, to) in stretches {
            if let Some(v) = by_proc.get_mut(p) {
                v.push((from, to));
            }
        }
        for v in &mut by_proc {
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        PathIndex { by_proc }
    }

    /// `[from, to]` clipped to the stretches of process `p` (pieces pushed onto `out`).
    fn clip(&self, p: usize, from: f64, to: f64, out: &mut Vec<(f64, f64)>) {
        let Some(s) = self.by_proc.get(p) else {
            return;
        };
        let k = s.partition_point(|&(_, end)| end <= from);
        for &(a, b) in &s[k..] {
            if a >= to {
                break;
            }
            let (lo, hi) = (a.max(from), b.min(to));
            if hi > lo {
                out.push((lo, hi));
            }
        }
    }

    fn holds_path(&self, p: usize) -> bool {
        self.by_proc.get(p).is_some_and(|s| !s.is_empty())
    }

    /// The time process `p` held the path, ms.
    fn on_path_ms(&self, p: usize) -> f64 {
        self.by_proc
            .get(p)
            .map_or(0.0, |s| s.iter().map(|(a, b)| b - a).sum())
    }
}

/// Calls picked by `pick`: how many, their summed sys time, and their critical-path time.
struct CallCost {
    calls: u64,
    sys_ms: f64,
    on_path_ms: f64,
}

fn call_cost(
    report: &Report,
    ctx: &Ctx,
    path: &PathIndex,
    pick: impl Fn(usize) -> bool,
) -> CallCost {
    let mut calls = 0;
    let mut sys_ms = 0.0;
    let mut pieces = Vec::new();
    for i in 0..report.calls.len() {
        if !pick(i) {
            continue;
        }
        let c = &report.calls[i];
        let us = sys_us(c).unwrap_or(0.0);
        calls += 1;
        sys_ms += us / 1000.0;
        if let Some(p) = ctx.proc_index(i) {
            path.clip(p, c.t_ms, c.t_ms + us / 1000.0, &mut pieces);
        }
    }
    CallCost {
        calls,
        sys_ms,
        on_path_ms: union_ms(&mut pieces),
    }
}

pub struct Inputs<'a> {
    pub path_scan: &'a PathScan,
    pub fs: &'a FsBlocking,
    pub exec: &'a ExecAnalysis,
    pub habits: &'a Habits,
    pub init_chain: Option<&'a InitChain>,
}

pub fn compute(report: &Report, ctx: &Ctx, inp: &Inputs) -> WhatToChange {
    let wall = report.wall_ms;
    let path = PathIndex::new(report.processes.len(), &inp.exec.stretches);
    let mut all: Vec<Finding> = Vec::new();
    if report.traced {
        slow_mounts(report, ctx, &path, inp.fs, &mut all);
        path_entries(report, ctx, &path, inp.path_scan, &mut all);
        rebuilt_packages(report, &path, &mut all);
        slow_inits(ctx, &path, inp.init_chain, &mut all);
        vcs_stamping(report, ctx, &path, &mut all);
        go_work_walk(report, ctx, &path, inp.habits, &mut all);
        repeated_go_commands(report, ctx, &path, &mut all);
        discarded_links(report, ctx, &path, &mut all);
        network(report, ctx, &path, &mut all);
    }
    for f in &mut all {
        f.share = if wall > 0.0 { f.saves_ms / wall } else { 0.0 };
    }
    all.sort_by(|a, b| b.saves_ms.total_cmp(&a.saves_ms).then(a.key.cmp(&b.key)));
    let (mut findings, mut rest): (Vec<Finding>, Vec<Finding>) =
        all.into_iter().partition(|f| f.share >= MIN_SHARE);
    if findings.len() > MAX_FINDINGS {
        rest.splice(0..0, findings.split_off(MAX_FINDINGS));
    }
    WhatToChange {
        findings,
        not_listed: rest.len() as u64,
        largest_not_listed: rest.into_iter().find(|f| f.saves_ms > 0.0),
        wall_ms: wall,
        min_share: MIN_SHARE,
    }
}

/// Where a Go setting moves a category's files to, when the mount under them is slow.
fn relocation(category: &str) -> Option<(&'static str, &'static str)> {
    Some(match category {
        "gocache" => (
            "export GOCACHE=/var/tmp/go-build-$USER   # any directory on a local disk",
            "the build cache",
        ),
        "gomodcache" => (
            "export GOMODCACHE=/var/tmp/go-mod-$USER   # a local disk; the first build downloads the modules again",
            "the module cache",
        ),
        "temp" => (
            "export GOTMPDIR=/var/tmp   # the go command's work directories ($WORK) on a local disk",
            "the go command's work directories",
        ),
        "goroot" => (
            "install Go on a local disk (e.g. /usr/local/go) and put its bin first on PATH",
            "the Go toolchain (GOROOT)",
        ),
        "module" => (
            "build from a checkout on a local disk",
            "the module's source",
        ),
        "gopath" => (
            "export GOPATH=/var/tmp/go-$USER   # a local disk (GOMODCACHE and GOBIN follow it)",
            "GOPATH",
        ),
        "home" => (
            "export XDG_CONFIG_HOME=/var/tmp/config-$USER after copying ~/.config/go there (it holds `go env -w` settings)",
            "$HOME's Go config (telemetry mode, go env file)",
        ),
        _ => return None,
    })
}

fn slow_mounts(
    report: &Report,
    ctx: &Ctx,
    path: &PathIndex,
    fs: &FsBlocking,
    out: &mut Vec<Finding>,
) {
    if !fs
        .categories
        .iter()
        .any(|c| c.flag.as_deref().is_some_and(|f| f != "overlay"))
    {
        return;
    }
    let roots = super::fs_blocking::Roots::new(report);
    // Categorised as fs_blocking does: a file by its directory (a root itself by its own
    // path), a listing by the directory listed. Once per path, not once per call.
    let file_cat: Vec<&'static str> = ctx
        .paths
        .iter()
        .map(|p| {
            roots
                .exact(p)
                .unwrap_or_else(|| roots.classify(split_parent(p).map_or(p, |(d, _)| d)))
        })
        .collect();
    let list_cat: Vec<&'static str> = ctx.paths.iter().map(|p| roots.classify(p)).collect();
    for cat in &fs.categories {
        // An overlay is local: its lookups are slower, but no setting makes them faster.
        let Some(flag) = cat.flag.as_deref().filter(|f| *f != "overlay") else {
            continue;
        };
        // PATH entries get their own finding (drop or move them), not a relocation.
        if cat.category == "path" {
            continue;
        }
        let Some((fix, what)) = relocation(&cat.category) else {
            continue;
        };
        let cost = call_cost(report, ctx, path, |i| {
            ctx.kinds[i] != Kind::Connect
                && ctx.path_of(i).is_some_and(|p| {
                    let c = if ctx.kinds[i] == Kind::Getdents {
                        list_cat[p]
                    } else {
                        file_cat[p]
                    };
                    c == cat.category
                })
        });
        if cost.calls == 0 {
            continue;
        }
        let root = cat.root.clone().unwrap_or_else(|| cat.category.clone());
        out.push(Finding {
            key: "slow_mount".into(),
            title: format!(
                "{what} is on a {flag} filesystem ({root}, {})",
                cat.fs_type.as_deref().unwrap_or("?")
            ),
            saves_ms: cost.on_path_ms,
            evidence: format!(
                "{} calls there took {:.1} ms sys, {:.1} ms of it while their process held the critical path",
                cost.calls, cost.sys_ms, cost.on_path_ms
            ),
            fix: fix.into(),
            confidence: "medium".into(),
            why_confidence: "a local disk answers the same calls in microseconds, so most of their time goes; the calls stay".into(),
            ..Finding::default()
        });
    }
}

fn path_entries(
    report: &Report,
    ctx: &Ctx,
    path: &PathIndex,
    ps: &PathScan,
    out: &mut Vec<Finding>,
) {
    let Some(list) = ps.paths.first() else {
        return;
    };
    let wasteful = |e: &PathEntry| matches!(e.status.as_str(), "duplicate" | "missing" | "not_dir");
    let slow = |e: &PathEntry| matches!(e.flag.as_deref(), Some("network" | "fuse"));
    // Dropped: duplicates and missing entries. Moved to the end: slow entries in which no
    // command of this run was found (every command still resolves, the slow one last).
    let dropped: Vec<&PathEntry> = list.entries.iter().filter(|e| wasteful(e)).collect();
    let moved: Vec<&PathEntry> = list
        .entries
        .iter()
        .filter(|e| !wasteful(e) && slow(e) && e.hits == 0)
        .collect();
    if dropped.is_empty() && moved.is_empty() {
        return;
    }
    let dropped_dirs: Vec<&str> = dropped.iter().map(|e| e.dir.as_str()).collect();
    let moved_dirs: Vec<&str> = moved.iter().map(|e| e.dir.as_str()).collect();
    // A name found nowhere is still looked up in a moved entry (at the end); only the
    // lookups of names found in a later entry stop before it.
    let found: Vec<&str> = ps
        .names
        .iter()
        .filter(|n| n.found.is_some())
        .map(|n| n.name.as_str())
        .collect();
    let cost = call_cost(report, ctx, path, |i| {
        (ctx.kinds[i].is_probe() || ctx.kinds[i] == Kind::Exec)
            && ctx.path_of(i).is_some_and(|p| {
                split_parent(ctx.paths[p]).is_some_and(|(d, base)| {
                    dropped_dirs.contains(&d) || (moved_dirs.contains(&d) && found.contains(&base))
                })
            })
    });
    let unfound_note = if moved.is_empty() || found.len() == ps.names.len() {
        String::new()
    } else {
        let missing: Vec<&str> = ps
            .names
            .iter()
            .filter(|n| n.found.is_none())
            .map(|n| n.name.as_str())
            .collect();
        format!(
            "; lookups of names found nowhere ({}) still reach the moved entries: remove them if nothing there is needed",
            missing.join(", ")
        )
    };
    if cost.calls == 0 {
        return;
    }
    let mut keep: Vec<&str> = list
        .entries
        .iter()
        .filter(|e| !(wasteful(e) || moved.iter().any(|m| std::ptr::eq(*m, *e))))
        .map(|e| e.raw.as_str())
        .collect();
    keep.extend(moved.iter().map(|e| e.raw.as_str()));
    let name = |e: &&PathEntry| format!("#{} {}", e.entry, e.dir);
    // A title names a few entries; the fix line has the whole PATH.
    let few = |items: Vec<String>| {
        let n = items.len();
        let mut v: Vec<String> = items.into_iter().take(3).collect();
        if n > 3 {
            v.push(format!("{} more", n - 3));
        }
        v.join(", ")
    };
    let mut parts = Vec::new();
    if !moved.is_empty() {
        parts.push(format!(
            "{} after the rest ({}, nothing found there)",
            few(moved.iter().map(name).collect()),
            moved
                .iter()
                .map(|e| e.fs_type.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !dropped.is_empty() {
        parts.push(format!(
            "drop {}",
            few(dropped
                .iter()
                .map(|e| format!("{} ({})", name(e), e.status))
                .collect())
        ));
    }
    let slow_only = dropped.is_empty();
    out.push(Finding {
        key: "path_entries".into(),
        title: format!("PATH: {}", parts.join("; ")),
        saves_ms: cost.on_path_ms,
        evidence: format!(
            "{} lookups the PATH below skips ({:.1} ms sys, {:.1} ms on the critical path){unfound_note}",
            cost.calls, cost.sys_ms, cost.on_path_ms
        ),
        fix: format!("export PATH='{}'", keep.join(":")),
        env: BTreeMap::from([("PATH".to_string(), keep.join(":"))]),
        confidence: if slow_only { "medium" } else { "high" }.into(),
        why_confidence: if slow_only {
            "the lookups that found nothing earlier in PATH go; a command found only there is still found, later"
        } else {
            "the lookups into these entries go; every command resolves as before"
        }
        .into(),
        ..Finding::default()
    });
}

/// Compiles golat saw: what a build cache hit would have skipped.
fn rebuilt_packages(report: &Report, path: &PathIndex, out: &mut Vec<Finding>) {
    if report.runs.as_ref().is_some_and(|r| r.cold) {
        return; // --cold empties the cache on purpose
    }
    let mut n = 0u64;
    let mut std_n = 0u64;
    let mut on_path = 0.0;
    let mut examples: Vec<(f64, String)> = Vec::new();
    for (i, p) in report.processes.iter().enumerate() {
        if !matches!(p.tool.as_str(), "compile" | "asm" | "cgo")
            || p.argv.iter().any(|a| a == "-V=full")
        {
            continue;
        }
        let Some(pkg) = super::exec::package_of(&p.tool, &p.argv) else {
            continue;
        };
        if p.tool == "compile" {
            n += 1;
            if !pkg.split('/').next().unwrap_or("").contains('.') && pkg != "main" {
                std_n += 1;
            }
        }
        let ms = path.on_path_ms(i);
        if ms > 0.0 {
            on_path += ms;
            examples.push((ms, format!("{pkg} {ms:.1} ms")));
        }
    }
    if n == 0 || on_path <= 0.0 {
        return;
    }
    examples.sort_by(|a, b| b.0.total_cmp(&a.0));
    let ex: Vec<String> = examples.into_iter().take(3).map(|e| e.1).collect();
    // `go build -a` rebuilds every package on purpose: the cache is not the cause.
    let forced = report.processes.iter().any(|p| {
        p.tool == "go"
            && p.argv.get(1).is_some_and(|s| {
                matches!(
                    s.as_str(),
                    "build" | "install" | "test" | "run" | "vet" | "list"
                )
            })
            && p.argv.iter().skip(2).any(|a| a == "-a" || a == "-a=true")
    });
    if forced {
        out.push(Finding {
            key: "rebuilt_packages".into(),
            title: format!("{n} packages compiled because of -a"),
            saves_ms: on_path,
            evidence: format!(
                "the go command ran with -a, which rebuilds every package; {on_path:.1} ms of the critical path was compile/asm/cgo ({})",
                ex.join(", ")
            ),
            fix: "drop -a: the build cache already rebuilds what changed".into(),
            confidence: "high".into(),
            why_confidence: "without -a, packages whose inputs did not change come from the cache".into(),
            ..Finding::default()
        });
        return;
    }
    let std_note = if std_n > 0 {
        format!(", {std_n} of them in the standard library, which a warm cache never rebuilds")
    } else {
        String::new()
    };
    out.push(Finding {
        key: "rebuilt_packages".into(),
        title: format!("{n} packages compiled: the build cache did not have them"),
        saves_ms: on_path,
        evidence: format!(
            "{n} compiles{std_note}; {on_path:.1} ms of the critical path was compile/asm/cgo ({})",
            ex.join(", ")
        ),
        fix: "keep GOCACHE (`go env GOCACHE`) from one build to the next (in CI: cache that directory); \
              if it is kept and they still rebuild, a flag, an environment variable or a file changed their inputs \
              (profile this run and one that hit the cache with `golat profile --explain --json`, \
              then `golat diff` them: it names the input)"
            .into(),
        confidence: if std_n > 0 { "medium" } else { "low" }.into(),
        why_confidence: if std_n > 0 {
            "standard-library packages rebuilt mean an empty or new cache; a package whose source changed must still compile"
        } else {
            "a package whose source or flags changed must compile; golat cannot see whether these did"
        }
        .into(),
        ..Finding::default()
    });
}

fn slow_inits(ctx: &Ctx, path: &PathIndex, chain: Option<&InitChain>, out: &mut Vec<Finding>) {
    let Some(chain) = chain else {
        return;
    };
    for p in chain.processes.iter().filter(|p| !p.toolchain) {
        let Some(idx) = ctx.procs.at(p.pid, p.exec_ms) else {
            continue;
        };
        if !path.holds_path(idx) {
            continue;
        }
        // The user's code and its dependencies: the standard library's inits are Go's.
        let mut pieces = Vec::new();
        let mut named: Vec<(f64, &str)> = Vec::new();
        for init in p.non_std.iter().filter(|i| i.clock_ms > 0.0) {
            let before = pieces.len();
            path.clip(
                idx,
                init.start_ms,
                init.start_ms + init.clock_ms,
                &mut pieces,
            );
            let ms: f64 = pieces[before..].iter().map(|(a, b)| b - a).sum();
            if ms > 0.0 {
                named.push((ms, init.pkg.as_str()));
            }
        }
        let saves = union_ms(&mut pieces);
        if saves <= 0.0 {
            continue;
        }
        named.sort_by(|a, b| b.0.total_cmp(&a.0));
        let top: Vec<String> = named
            .iter()
            .take(3)
            .map(|(ms, pkg)| format!("{pkg} {ms:.1} ms"))
            .collect();
        let first = named.first().map(|n| n.1).unwrap_or("");
        out.push(Finding {
            key: "slow_init".into(),
            title: format!("{}'s package inits hold up main.main", p.tool),
            saves_ms: saves,
            evidence: format!(
                "{} non-standard packages ran init work ({}), {saves:.1} ms of it on the critical path",
                named.len(),
                top.join(", ")
            ),
            fix: format!(
                "move the work in {first}'s init (package-level vars and init funcs) to first use, e.g. \
                 behind sync.OnceValue; for a dependency, import it only where it is used"
            ),
            confidence: "medium".into(),
            why_confidence: "the runtime's own clock of each init; under golat an init that makes traced calls runs slower than natively".into(),
            ..Finding::default()
        });
    }
}

const VCS_TOOLS: &[&str] = &["git", "hg", "svn", "bzr", "fossil"];

/// VCS stamping: the go command runs git (or hg, ...) to stamp the binary with -buildvcs.
fn vcs_stamping(report: &Report, ctx: &Ctx, path: &PathIndex, out: &mut Vec<Finding>) {
    let procs = &ctx.procs;
    let mut n = 0u64;
    let mut on_path = 0.0;
    let mut wall = 0.0;
    for (i, p) in report.processes.iter().enumerate() {
        if !VCS_TOOLS.contains(&p.tool.as_str()) {
            continue;
        }
        // Only VCS processes the go command started itself; a user's script may run git.
        let Some(parent) = procs.parent(i) else {
            continue;
        };
        if procs.get(parent).tool != "go" {
            continue;
        }
        n += 1;
        wall += p.exec_wall_ms().unwrap_or(0.0).max(0.0);
        on_path += path.on_path_ms(i);
    }
    if n == 0 || on_path <= 0.0 {
        return;
    }
    out.push(Finding {
        key: "vcs_stamping".into(),
        title: format!("VCS stamping: the go command ran {n} VCS processes"),
        saves_ms: on_path,
        evidence: format!(
            "{n} VCS processes started by go ({wall:.1} ms wall under golat, {on_path:.1} ms on the critical path) \
             to stamp version control information into the binary"
        ),
        fix: "export GOFLAGS=-buildvcs=false   # or go build -buildvcs=false; `go version -m` then shows no vcs.* lines".into(),
        confidence: "high".into(),
        why_confidence: "with -buildvcs=false the go command does not start them".into(),
        env: BTreeMap::from([("GOFLAGS".to_string(), "-buildvcs=false".to_string())]),
        ..Finding::default()
    });
}

fn go_work_walk(report: &Report, ctx: &Ctx, path: &PathIndex, hb: &Habits, out: &mut Vec<Finding>) {
    // habits names the walk only when it reached / without finding a go.work.
    if !hb.items.iter().any(|h| h.key == "go_work_walk") {
        return;
    }
    let cost = call_cost(report, ctx, path, |i| {
        ctx.kinds[i].is_probe()
            && ctx
                .path_of(i)
                .is_some_and(|p| split_parent(ctx.paths[p]).is_some_and(|(_, b)| b == "go.work"))
            && ctx
                .proc_index(i)
                .is_some_and(|p| ctx.procs.get(p).tool == "go")
    });
    if cost.calls == 0 {
        return;
    }
    out.push(Finding {
        key: "go_work_walk".into(),
        title: "go.work search up to /".into(),
        saves_ms: cost.on_path_ms,
        evidence: format!(
            "the go command looked for go.work in every directory up to / ({} lookups, none found, {:.2} ms sys)",
            cost.calls, cost.sys_ms
        ),
        fix: "export GOWORK=off   # only while this module is not part of a workspace".into(),
        confidence: "high".into(),
        why_confidence: "with GOWORK=off the go command does not search".into(),
        env: BTreeMap::from([("GOWORK".to_string(), "off".to_string())]),
        ..Finding::default()
    });
}

/// More than one go command in the run: each one re-probes its tools and reloads packages.
fn repeated_go_commands(report: &Report, ctx: &Ctx, path: &PathIndex, out: &mut Vec<Finding>) {
    let procs = &ctx.procs;
    // A go command is a process that exec'd the go binary and whose parent is not a go
    // command (a `go1.N` wrapper or a toolchain switch is one command).
    let go_cmds: Vec<usize> = (0..report.processes.len())
        .filter(|&i| {
            let p = procs.get(i);
            p.tool == "go"
                && !p.execs.is_empty()
                && procs.parent(i).is_none_or(|j| procs.get(j).tool != "go")
        })
        .collect();
    if go_cmds.len() < 2 {
        return;
    }
    // What one go command would not repeat: the version probes of every command but one.
    let mut probes_on_path: Vec<f64> = Vec::new();
    for &g in &go_cmds {
        let mut ms = 0.0;
        for (i, p) in report.processes.iter().enumerate() {
            if p.argv.iter().any(|a| a == "-V=full" || a == "-###") && procs.parent(i) == Some(g) {
                ms += path.on_path_ms(i);
            }
        }
        probes_on_path.push(ms);
    }
    probes_on_path.sort_by(|a, b| b.total_cmp(a));
    let saves: f64 = probes_on_path.iter().skip(1).sum();
    if saves <= 0.0 {
        return;
    }
    let n = go_cmds.len();
    out.push(Finding {
        key: "repeated_go_commands".into(),
        title: format!("{n} go commands, each probing its tools again"),
        saves_ms: saves,
        evidence: format!(
            "each go command runs compile/link/asm -V=full (and gcc -###) before it builds; \
             {saves:.1} ms of the critical path went to the probes of the {} after the first",
            n - 1
        ),
        fix: "build the packages in one go command (`go build ./... ` or `go test ./...`) instead of one per package".into(),
        confidence: "medium".into(),
        why_confidence: "one go command probes once; it may still do other per-command work (package loading) once more than any of them".into(),
        ..Finding::default()
    });
}

/// `go build` of several packages without `-o` links every command among them and throws
/// the binaries away; with `-o DIR/` the next build finds them up to date and skips the link.
fn discarded_links(report: &Report, ctx: &Ctx, path: &PathIndex, out: &mut Vec<Finding>) {
    let procs = &ctx.procs;
    for (g, p) in report.processes.iter().enumerate() {
        if p.tool != "go" || p.argv.get(1).map(String::as_str) != Some("build") {
            continue;
        }
        let args = &p.argv[2..];
        if args.iter().any(|a| a == "-o" || a.starts_with("-o=")) {
            continue;
        }
        let links: Vec<usize> = (0..report.processes.len())
            .filter(|&i| {
                let l = procs.get(i);
                l.tool == "link"
                    && !l.argv.iter().any(|a| a == "-V=full")
                    && procs.parent(i) == Some(g)
            })
            .collect();
        // One main package and no -o: go build writes its binary, nothing is discarded.
        let many = args.iter().any(|a| a.contains("...")) || links.len() > 1;
        if links.is_empty() || !many {
            continue;
        }
        let saves: f64 = links.iter().map(|&i| path.on_path_ms(i)).sum();
        if saves <= 0.0 {
            continue;
        }
        let n = links.len();
        out.push(Finding {
            key: "discarded_links".into(),
            title: format!("go build linked {n} commands and threw the binaries away"),
            saves_ms: saves,
            evidence: format!(
                "`go build` of several packages without -o links each main package and discards the \
                 result; {n} links, {saves:.1} ms of the critical path"
            ),
            fix: "go build -o ./bin/ ./...   # keeps the binaries; the next build skips the links of those up to date \
                  (go install ./... does the same into GOBIN)"
                .into(),
            confidence: "medium".into(),
            why_confidence: "the first build with -o still links them all; later ones link only the commands whose inputs changed"
                .into(),
            ..Finding::default()
        });
    }
}

fn network(report: &Report, ctx: &Ctx, path: &PathIndex, out: &mut Vec<Finding>) {
    let cost = call_cost(report, ctx, path, |i| {
        ctx.kinds[i] == Kind::Connect
            && report.calls[i]
                .addr
                .as_deref()
                .is_some_and(|a| !a.starts_with('/') && !a.starts_with('@'))
    });
    if cost.calls == 0 || cost.on_path_ms <= 0.0 {
        return;
    }
    let go_made = (0..report.calls.len()).any(|i| {
        ctx.kinds[i] == Kind::Connect
            && ctx
                .proc_index(i)
                .is_some_and(|p| ctx.procs.get(p).tool == "go")
    });
    out.push(Finding {
        key: "network".into(),
        title: format!("{} network connects during the run", cost.calls),
        saves_ms: cost.on_path_ms,
        evidence: format!(
            "{} connects took {:.1} ms sys, {:.1} ms of it on the critical path (the connects alone; the transfers after them are not counted)",
            cost.calls, cost.sys_ms, cost.on_path_ms
        ),
        fix: if go_made {
            "the go command fetched over the network: keep GOMODCACHE between builds (in CI: cache `go env GOMODCACHE`), \
             or run `go mod download` once before building"
        } else {
            "a program in the run connected over the network: see which in the Network table"
        }
        .into(),
        confidence: "low".into(),
        why_confidence: "golat times the connects, not what the program then waited for".into(),
        ..Finding::default()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_counts_parallel_time_once() {
        assert_eq!(union_ms(&mut [(0.0, 2.0), (1.0, 3.0), (5.0, 6.0)]), 4.0);
        assert_eq!(union_ms(&mut []), 0.0);
    }

    #[test]
    fn clip_keeps_only_the_processes_stretches() {
        let idx = PathIndex::new(2, &[(0, 0.0, 1.0), (1, 1.0, 2.0), (0, 2.0, 4.0)]);
        let mut v = Vec::new();
        idx.clip(0, 0.5, 3.0, &mut v);
        assert_eq!(v, vec![(0.5, 1.0), (2.0, 3.0)]);
        v.clear();
        idx.clip(1, 3.0, 5.0, &mut v);
        assert!(v.is_empty());
    }
}
