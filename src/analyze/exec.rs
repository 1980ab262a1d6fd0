//! Processes: per tool counts and wall times, the critical path through the process tree
//! (the chain of processes that decided when the run ended, with each link's share of the
//! wall time), and the network connects made during the run.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{Ctx, FastMap, JSON_ROWS, Kind, ProcIndex, sys_us};
use crate::model::Report;

/// Critical-path segments kept in the JSON.
pub const CHAIN_ROWS: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecAnalysis {
    pub wall_ms: f64,
    pub processes: u64,
    pub execs: u64,
    /// Per tool, most total wall first. Wall times ran under the tracer.
    pub tools: Vec<ToolRow>,
    /// The critical path in time order: who the run was waiting on, from start to end.
    pub critical_path: Vec<Link>,
    /// The same time per process, largest first.
    pub critical_by_process: Vec<CriticalProcess>,
    /// Every `connect`, in time order.
    pub network: Vec<Connect>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolRow {
    pub tool: String,
    pub count: u64,
    /// Sum of exec-to-exit wall times.
    pub total_wall_ms: f64,
    pub max_wall_ms: f64,
    /// Time this tool's processes held on the critical path.
    pub critical_ms: f64,
    /// execve calls that started these processes, replayed/corrected ms.
    pub exec_sys_ms: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Link {
    pub pid: i32,
    pub tool: String,
    /// The process's arguments, shortened.
    pub args: String,
    pub from_ms: f64,
    pub to_ms: f64,
    pub ms: f64,
    pub share: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CriticalProcess {
    pub pid: i32,
    pub tool: String,
    pub args: String,
    pub ms: f64,
    pub share: f64,
    /// Separate stretches of this process on the path (a parent resumes between children).
    pub segments: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Connect {
    pub pid: i32,
    pub tool: String,
    pub addr: String,
    pub t_ms: f64,
    pub result: String,
    /// Replayed/corrected duration of the connect call itself (a non-blocking connect
    /// returns at once: the handshake is not in it).
    pub sys_us: f64,
    pub traced_us: f64,
}

/// Arguments after the program name, shortened for a table cell.
pub fn short_args(argv: &[String]) -> String {
    let mut s = String::new();
    for a in argv.iter().skip(1) {
        if s.len() > 120 {
            s.push_str(" …");
            break;
        }
        if !s.is_empty() {
            s.push(' ');
        }
        if a.len() > 60 {
            let cut = (0..=60).rev().find(|&i| a.is_char_boundary(i)).unwrap_or(0);
            s.push_str(&a[..cut]);
            s.push('…');
        } else {
            s.push_str(a);
        }
    }
    s
}

pub fn compute(report: &Report, ctx: &Ctx) -> ExecAnalysis {
    let procs = &ctx.procs;
    let mut tools: FastMap<&str, ToolRow> = FastMap::default();
    for p in &report.processes {
        let w = p.exec_wall_ms().unwrap_or(0.0).max(0.0);
        let t = tools.entry(p.tool.as_str()).or_insert_with(|| ToolRow {
            tool: p.tool.clone(),
            ..ToolRow::default()
        });
        t.count += 1;
        t.total_wall_ms += w;
        t.max_wall_ms = t.max_wall_ms.max(w);
    }
    let mut network = Vec::new();
    // Only the kinds are scanned; a call's record is read when it is an exec or connect.
    for (i, &kind) in ctx.kinds.iter().enumerate() {
        if !matches!(kind, Kind::Exec | Kind::Connect) {
            continue;
        }
        let c = &report.calls[i];
        let tool = ctx
            .proc_index(i)
            .map(|p| procs.get(p).tool.as_str())
            .unwrap_or("?");
        match kind {
            Kind::Exec if !c.failed() => {
                if let Some(t) = tools.get_mut(tool) {
                    t.exec_sys_ms += sys_us(c).unwrap_or(0.0) / 1000.0;
                }
            }
            Kind::Connect => network.push(Connect {
                pid: c.pid,
                tool: tool.to_string(),
                addr: c
                    .addr
                    .as_deref()
                    .or(c.path.as_deref())
                    .unwrap_or("?")
                    .to_string(),
                t_ms: c.t_ms,
                result: super::result_text(c),
                sys_us: sys_us(c).unwrap_or(0.0),
                traced_us: c.dur_us_inclusive,
            }),
            _ => {}
        }
    }
    network.truncate(JSON_ROWS);

    let (critical_path, critical_by_process) = critical_path(report, procs);
    for cp in &critical_by_process {
        if let Some(t) = tools.get_mut(cp.tool.as_str()) {
            t.critical_ms += cp.ms;
        }
    }
    let mut tools: Vec<ToolRow> = tools.into_values().collect();
    tools.sort_by(|a, b| {
        b.total_wall_ms
            .total_cmp(&a.total_wall_ms)
            .then(a.tool.cmp(&b.tool))
    });
    tools.truncate(JSON_ROWS);
    ExecAnalysis {
        wall_ms: report.wall_ms,
        processes: report.processes.len() as u64,
        execs: report.processes.iter().map(|p| p.execs.len() as u64).sum(),
        tools,
        critical_path,
        critical_by_process,
        network,
    }
}

/// Walks back from the end of the run: the root process was waiting on the child that
/// ended last before the root's end; inside that child, on its own last child; and so on.
/// Between children the parent itself holds the path. Segments come out in time order.
fn critical_path(report: &Report, procs: &ProcIndex) -> (Vec<Link>, Vec<CriticalProcess>) {
    let n = report.processes.len();
    let wall = report.wall_ms;
    let end_of = |i: usize| procs.get(i).end_ms.unwrap_or(wall);
    // Children of each process, by end time.
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut roots = Vec::new();
    for i in 0..n {
        match procs.parent(i) {
            Some(j) => children[j].push(i),
            None => roots.push(i),
        }
    }
    for c in &mut children {
        c.sort_by(|&a, &b| end_of(a).total_cmp(&end_of(b)));
    }
    // The root that decided the end: the one that ended last (usually the only one).
    let Some(&root) = roots.iter().max_by(|&&a, &&b| {
        end_of(a)
            .total_cmp(&end_of(b))
            .then(procs.get(b).start_ms.total_cmp(&procs.get(a).start_ms))
    }) else {
        return (Vec::new(), Vec::new());
    };
    // (process, time cursor, children index bound)
    let mut stack = vec![(root, end_of(root), children[root].len())];
    let mut visited: HashSet<usize> = HashSet::from([root]);
    let mut segments: Vec<(usize, f64, f64)> = Vec::new();
    while let Some((node, t, bound)) = stack.pop() {
        let start = procs.get(node).start_ms;
        let pick = children[node][..bound]
            .iter()
            .enumerate()
            .rev()
            .find(|&(_, &c)| end_of(c) <= t && end_of(c) > start && !visited.contains(&c))
            .map(|(k, &c)| (k, c));
        match pick {
            Some((k, c)) => {
                let c_end = end_of(c);
                segments.push((node, c_end, t));
                visited.insert(c);
                let c_start = procs.get(c).start_ms.max(start).min(c_end);
                stack.push((node, c_start, k));
                stack.push((c, c_end, children[c].len()));
            }
            None => segments.push((node, start.min(t), t)),
        }
    }
    segments.reverse();
    // Merge touching stretches of one process; drop empty ones.
    let mut merged: Vec<(usize, f64, f64)> = Vec::new();
    for (p, from, to) in segments {
        if to - from <= 0.0 {
            continue;
        }
        match merged.last_mut() {
            Some(last) if last.0 == p => last.2 = to,
            _ => merged.push((p, from, to)),
        }
    }
    let share = |ms: f64| if wall > 0.0 { ms / wall } else { 0.0 };
    let mut by_proc: HashMap<usize, CriticalProcess> = HashMap::new();
    for &(p, from, to) in &merged {
        let pr = procs.get(p);
        let e = by_proc.entry(p).or_insert_with(|| CriticalProcess {
            pid: pr.pid,
            tool: pr.tool.clone(),
            args: short_args(&pr.argv),
            ..CriticalProcess::default()
        });
        e.ms += to - from;
        e.segments += 1;
    }
    let mut by_process: Vec<CriticalProcess> = by_proc
        .into_values()
        .map(|mut c| {
            c.share = share(c.ms);
            c
        })
        .collect();
    by_process.sort_by(|a, b| b.ms.total_cmp(&a.ms).then(a.pid.cmp(&b.pid)));
    by_process.truncate(JSON_ROWS);
    let links = merged
        .into_iter()
        .take(CHAIN_ROWS)
        .map(|(p, from, to)| {
            let pr = procs.get(p);
            Link {
                pid: pr.pid,
                tool: pr.tool.clone(),
                args: short_args(&pr.argv),
                from_ms: from,
                to_ms: to,
                ms: to - from,
                share: share(to - from),
            }
        })
        .collect();
    (links, by_process)
}
