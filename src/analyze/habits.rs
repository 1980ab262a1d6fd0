//! Toolchain habits worth naming when they cost: the go command's `-V=full` and `gcc -###`
//! tool probes, the telemetry-mode file every Go tool reads, go.work and VCS marker walks
//! up to `/`, and the C compiler's header-search and realpath storms in cgo builds.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::tools::is_c_tool;
use super::{Ctx, Kind, Times, split_parent};
use crate::model::Report;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Habits {
    /// Habits seen in this run, most costly first.
    pub items: Vec<Habit>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Habit {
    /// `version_probes`, `telemetry_mode`, `go_work_walk`, `vcs_walk`,
    /// `cc_header_search`, `cc_realpath`.
    pub key: String,
    pub title: String,
    /// Processes for `version_probes`, calls for the others.
    pub count: u64,
    pub failed: u64,
    pub processes: u64,
    pub cost_ms: f64,
    /// `wall` (process wall time, traced) or `sys` (replayed/corrected call time).
    pub cost_kind: String,
    pub detail: String,
    pub advice: String,
    pub examples: Vec<String>,
}

const VCS_MARKERS: &[&str] = &[".git", ".hg", ".svn", ".bzr", ".fslckout", "_FOSSIL_"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathClass {
    Plain,
    Telemetry,
    GoWork,
    Vcs,
    Header,
}

impl PathClass {
    fn of(path: &str) -> PathClass {
        if path.contains("/go/telemetry/") {
            return PathClass::Telemetry;
        }
        match split_parent(path) {
            Some((_, "go.work")) => PathClass::GoWork,
            Some((_, base)) if VCS_MARKERS.contains(&base) => PathClass::Vcs,
            _ if path.ends_with(".h") => PathClass::Header,
            _ => PathClass::Plain,
        }
    }
}

#[derive(Default)]
struct Acc {
    times: Times,
    pids: HashSet<i32>,
    dirs: BTreeSet<String>,
    examples: HashMap<String, u64>,
}

impl Acc {
    fn top_examples(&self, n: usize) -> Vec<String> {
        let mut v: Vec<(&String, &u64)> = self.examples.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.into_iter()
            .take(n)
            .map(|(k, c)| format!("{k} ×{c}"))
            .collect()
    }
}

pub fn compute(report: &Report, ctx: &Ctx) -> Habits {
    let is_c: Vec<bool> = report
        .processes
        .iter()
        .map(|p| is_c_tool(&p.tool))
        .collect();
    let mut items = Vec::new();

    // Tool identity probes: cmd/go runs each tool once per invocation to key its cache.
    let mut probes: Vec<(String, f64)> = Vec::new();
    let mut probe_pids = 0u64;
    let mut probe_cost = 0.0;
    for p in &report.processes {
        let v_full = p.argv.iter().any(|a| a == "-V=full");
        let gcc_hash = is_c_tool(&p.tool) && p.argv.iter().any(|a| a == "-###");
        if v_full || gcc_hash {
            let w = p.exec_wall_ms().unwrap_or(0.0).max(0.0);
            probe_pids += 1;
            probe_cost += w;
            let flag = if v_full { "-V=full" } else { "-###" };
            probes.push((format!("{} {flag} {w:.1} ms", p.tool), w));
        }
    }
    if probe_pids > 0 {
        probes.sort_by(|a, b| b.1.total_cmp(&a.1));
        items.push(Habit {
            key: "version_probes".into(),
            title: "-V=full / gcc -### probes".into(),
            count: probe_pids,
            failed: 0,
            processes: probe_pids,
            cost_ms: probe_cost,
            cost_kind: "wall".into(),
            detail: format!("{probe_pids} processes run only to print their version"),
            advice: "the go command re-runs these on every invocation to key its build cache: \
                     build many packages in one `go build ./...` instead of one go command each"
                .into(),
            examples: probes.into_iter().map(|(s, _)| s).collect(),
        });
    }

    let mut telemetry = Acc::default();
    let mut gowork = Acc::default();
    let mut vcs = Acc::default();
    let mut headers = Acc::default();
    let mut realpath = Acc::default();
    let mut reached_root_work = false;
    let mut reached_root_vcs = false;
    // What each distinct path is, decided once per path.
    let class: Vec<PathClass> = ctx.paths.iter().map(|p| PathClass::of(p)).collect();
    // Kinds, paths and processes are scanned; a call's record is read only when it counts.
    for (i, &kind) in ctx.kinds.iter().enumerate() {
        let Some(id) = ctx.path_of(i) else {
            continue;
        };
        let lookup = matches!(kind, Kind::Stat | Kind::Access | Kind::Open);
        let cls = class[id];
        let by_c_tool = ctx.proc_index(i).filter(|&p| is_c[p]);
        if cls == PathClass::Plain && by_c_tool.is_none() {
            continue;
        }
        let c = &report.calls[i];
        if cls == PathClass::Telemetry {
            telemetry.times.add(c);
            telemetry.pids.insert(c.pid);
            continue;
        }
        if lookup && matches!(cls, PathClass::GoWork | PathClass::Vcs) {
            let Some((dir, base)) = split_parent(ctx.paths[id]) else {
                continue;
            };
            let acc = if cls == PathClass::GoWork {
                reached_root_work |= dir == "/";
                &mut gowork
            } else {
                reached_root_vcs |= dir == "/";
                *vcs.examples.entry(base.to_string()).or_default() += 1;
                &mut vcs
            };
            acc.times.add(c);
            acc.pids.insert(c.pid);
            if !acc.dirs.contains(dir) {
                acc.dirs.insert(dir.to_string());
            }
            continue;
        }
        let Some(pi) = by_c_tool else {
            continue;
        };
        if kind == Kind::Readlink {
            realpath.times.add(c);
            realpath.pids.insert(c.pid);
            let tool = report.processes[pi].tool.as_str();
            if let Some(n) = realpath.examples.get_mut(tool) {
                *n += 1;
            } else {
                realpath.examples.insert(tool.to_string(), 1);
            }
        } else if lookup && c.failed() && cls == PathClass::Header {
            let path = ctx.paths[id];
            headers.times.add(c);
            headers.pids.insert(c.pid);
            // The include directory: the path without the name as #included.
            let short = header_name(path);
            let dir = path[..path.len() - short.len()].trim_end_matches('/');
            if !headers.dirs.contains(dir) {
                headers.dirs.insert(dir.to_string());
            }
            if let Some(n) = headers.examples.get_mut(short) {
                *n += 1;
            } else {
                headers.examples.insert(short.to_string(), 1);
            }
        }
    }
    let mut push =
        |key: &str, title: &str, acc: &Acc, detail: String, advice: &str, ex: Vec<String>| {
            if acc.times.calls == 0 {
                return;
            }
            items.push(Habit {
                key: key.into(),
                title: title.into(),
                count: acc.times.calls,
                failed: acc.times.failed,
                processes: acc.pids.len() as u64,
                cost_ms: acc.times.sys_ms,
                cost_kind: "sys".into(),
                detail,
                advice: advice.into(),
                examples: ex,
            });
        };
    push(
        "telemetry_mode",
        "telemetry mode reads",
        &telemetry,
        format!(
            "{} calls under go/telemetry by {} processes (each Go tool reads the mode at start)",
            telemetry.times.calls,
            telemetry.pids.len()
        ),
        "cheap on a local disk; if $HOME (os.UserConfigDir) is on a network or FUSE mount, \
         each Go tool process pays a round trip here",
        Vec::new(),
    );
    push(
        "go_work_walk",
        "go.work walk up to /",
        &gowork,
        format!(
            "{} probes in {} directories{}",
            gowork.times.calls,
            gowork.dirs.len(),
            if reached_root_work { ", up to /" } else { "" }
        ),
        "set GOWORK=off when you do not use a workspace: the go command then skips the walk",
        gowork.dirs.iter().rev().take(3).cloned().collect(),
    );
    push(
        "vcs_walk",
        "VCS marker walk",
        &vcs,
        format!(
            "{} probes in {} directories{}",
            vcs.times.calls,
            vcs.dirs.len(),
            if reached_root_vcs { ", up to /" } else { "" }
        ),
        "-buildvcs=false (or GOFLAGS=-buildvcs=false) skips VCS stamping and its lookups",
        vcs.top_examples(6),
    );
    push(
        "cc_header_search",
        "C header misses (cgo)",
        &headers,
        format!(
            "{} failed header lookups over {} include directories by {} C compiler processes",
            headers.times.calls,
            headers.dirs.len(),
            headers.pids.len()
        ),
        "fewer or better-ordered -I directories in #cgo CFLAGS; CGO_ENABLED=0 when cgo is not needed",
        headers.top_examples(5),
    );
    push(
        "cc_realpath",
        "C realpath storm (cgo)",
        &realpath,
        format!(
            "{} readlink calls ({} failed: realpath on plain files) by {} processes",
            realpath.times.calls,
            realpath.times.failed,
            realpath.pids.len()
        ),
        "gcc canonicalises every header path; fewer include directories and headers mean fewer calls",
        realpath.top_examples(4),
    );
    items.sort_by(|a, b| b.cost_ms.total_cmp(&a.cost_ms).then(a.key.cmp(&b.key)));
    Habits { items }
}

/// `/usr/include/x86_64-linux-gnu/bits/types.h` → `bits/types.h` (the name as #included,
/// roughly: the last two components when the parent is a known sub-directory).
fn header_name(path: &str) -> &str {
    let mut it = path.rmatch_indices('/');
    let _last = it.next();
    match it.next() {
        Some((i, _)) => {
            let tail = &path[i + 1..];
            let parent = tail.split('/').next().unwrap_or("");
            if matches!(
                parent,
                "bits" | "sys" | "gnu" | "asm" | "linux" | "netinet" | "arpa" | "net"
            ) {
                tail
            } else {
                path.rsplit('/').next().unwrap_or(path)
            }
        }
        None => path,
    }
}
