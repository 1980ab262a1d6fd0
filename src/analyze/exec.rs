//! Processes: per tool counts and wall times, the critical path through the process tree
//! (the chain of processes that decided when the run ended, with each link's share of the
//! wall time), and the network connects made during the run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{Ctx, FastMap, JSON_ROWS, Kind, ProcIndex, sys_us, tools};
use crate::model::{Call, Report};

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
    /// The critical path in time order: who the run was waiting on, from start to end. On
    /// a path of more than `CHAIN_ROWS` links the middle is left out (`critical_path_gap`),
    /// never the tail that decided when the run ended.
    pub critical_path: Vec<Link>,
    /// Links on the whole path, kept or not.
    pub critical_path_links: u64,
    /// The links left out of `critical_path`, if any.
    pub critical_path_gap: Option<ChainGap>,
    /// The same time per process, largest first (at most `JSON_ROWS`).
    pub critical_by_process: Vec<CriticalProcess>,
    /// Processes that held the path, listed or not.
    pub critical_processes: u64,
    /// Every `connect`, in time order.
    pub network: Vec<Connect>,
    /// How much of the wall was tracing.
    pub tracing: TracingCost,
    /// Every stretch of the critical path, in time order, for the analyses that weigh
    /// calls by whether they held it up (not in the JSON: `critical_path` is its summary).
    #[serde(skip)]
    pub stretches: Vec<Stretch>,
}

/// What tracing cost the run: each stop costs its thread the calibrated round trip plus
/// golat's handling (`Process::tracing_ms`); the part of it spent by processes while they
/// held the critical path is the part of the wall that was tracing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TracingCost {
    /// ptrace stops of all processes.
    pub stops: u64,
    /// What they cost the traced threads, summed over threads, ms.
    pub thread_ms: f64,
    /// The share of it on the critical path: the part of the wall that was tracing, ms.
    /// Per process on the path: its tracing time times the share of its calls made while
    /// it held the path, at most the time it held it.
    pub wall_ms: f64,
    /// The wall without that: what the run would take untraced, estimated, ms.
    pub native_wall_ms: f64,
    /// Mean cost of one stop to its thread, µs.
    pub per_stop_us: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolRow {
    /// The tool as the tables group it: C compiler drivers under any name are `cc`
    /// ([`super::tools::group`]).
    pub tool: String,
    /// The processes' own tool names when they differ from `tool` (`gcc-12`,
    /// `x86_64-linux-gnu-gcc-12`), sorted.
    pub real_tools: Vec<String>,
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
    /// As in [`ToolRow::tool`].
    pub tool: String,
    /// The process's own tool name when `tool` groups it under another.
    pub real_tool: Option<String>,
    /// As in [`CriticalProcess::package`].
    pub package: Option<String>,
    /// The process's arguments, shortened.
    pub args: String,
    pub from_ms: f64,
    pub to_ms: f64,
    pub ms: f64,
    pub share: f64,
}

/// The middle of a long critical path, left out of the JSON: `links` links after the
/// link at index `after` of `critical_path`, covering `from_ms`..`to_ms`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChainGap {
    pub after: usize,
    pub links: u64,
    pub from_ms: f64,
    pub to_ms: f64,
    pub ms: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CriticalProcess {
    pub pid: i32,
    /// As in [`ToolRow::tool`].
    pub tool: String,
    /// The process's own tool name when `tool` groups it under another.
    pub real_tool: Option<String>,
    /// What the process worked on: the package of a compile, asm or cgo (`-p`,
    /// `-importpath`); absent for other tools.
    pub package: Option<String>,
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
    /// The address as recorded: `127.0.0.1:443`, `[::1]:80`, `/run/x.sock`, `@abstract`.
    pub addr: String,
    /// A name for it: the recording machine's /etc/hosts name of the IP (golat does not
    /// see DNS answers), else the IP; a Unix socket's path.
    pub host: String,
    /// Where `host` came from: `etc_hosts`, `ip` or `unix`.
    pub host_source: String,
    /// The TCP/UDP port; none for a Unix socket.
    pub port: Option<u16>,
    pub t_ms: f64,
    pub result: String,
    /// Replayed/corrected duration of the connect call itself (a non-blocking connect
    /// returns at once: the handshake is not in it).
    pub sys_us: f64,
    pub traced_us: f64,
}

/// A connect's address as recorded (a call without one, `?`).
pub fn connect_addr(c: &Call) -> &str {
    c.addr.as_deref().or(c.path.as_deref()).unwrap_or("?")
}

/// The IP and port of an inet address as [`crate::tracer::decode::sockaddr`] writes it
/// (`127.0.0.1:443`, `[::1]:80`); None for a Unix socket (`/run/x.sock`, `@abstract`) and
/// anything else.
pub fn split_inet(addr: &str) -> Option<(IpAddr, u16)> {
    let (ip, port) = match addr.strip_prefix('[') {
        Some(rest) => rest.split_once("]:")?,
        None => addr.rsplit_once(':')?,
    };
    let ip: IpAddr = ip.parse().ok()?;
    // `[1.2.3.4]:80` is not what the tracer writes for IPv4; refuse it rather than guess.
    if addr.starts_with('[') != ip.is_ipv6() {
        return None;
    }
    Some((ip, port.parse().ok()?))
}

/// (host, where the name came from, port) for a connect's address: the name `hosts` (the
/// report's record of the recording machine's /etc/hosts) gives its IP, else the IP; a
/// Unix socket is named by its path.
pub fn name_target(
    addr: &str,
    hosts: &BTreeMap<String, String>,
) -> (String, &'static str, Option<u16>) {
    match split_inet(addr) {
        Some((ip, port)) => match hosts.get(&ip.to_string()) {
            Some(name) => (name.clone(), "etc_hosts", Some(port)),
            None => (ip.to_string(), "ip", Some(port)),
        },
        None => (addr.to_string(), "unix", None),
    }
}

/// The IPs of a report's connects that `report.hosts` has no name for yet.
pub fn unnamed_ips(report: &Report) -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = report
        .calls
        .iter()
        .filter(|c| c.name == "connect")
        .filter_map(|c| split_inet(connect_addr(c)))
        .map(|(ip, _)| ip)
        .filter(|ip| !report.hosts.contains_key(&ip.to_string()))
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

/// Names for `ips` from the text of a hosts file (hosts(5)): the first name of the first
/// line that lists the IP, as the resolver answers a reverse lookup from it. An IPv4-mapped
/// IPv6 address (a dual-stack socket's `::ffff:127.0.0.1`) takes its IPv4 address's name.
/// Keys are the IPs as text.
pub fn parse_hosts(text: &str, ips: &[IpAddr]) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let (Some(ip), Some(name)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Ok(ip) = ip.parse::<IpAddr>() else {
            continue;
        };
        for want in ips {
            let mapped = match want {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
                IpAddr::V4(_) => None,
            };
            if *want == ip || mapped == Some(ip) {
                names
                    .entry(want.to_string())
                    .or_insert_with(|| name.to_string());
            }
        }
    }
    names
}

/// What a toolchain process worked on, from its arguments: the import path a compile or
/// asm was given with `-p` (cgo: `-importpath`). A link's `-o` is only `$WORK/b001/exe/a.out`,
/// which names nothing the user knows, so links have none.
pub fn package_of(tool: &str, argv: &[String]) -> Option<String> {
    let flag = match tool {
        "compile" | "asm" => "-p",
        "cgo" => "-importpath",
        _ => return None,
    };
    let mut args = argv.iter().skip(1);
    while let Some(a) = args.next() {
        if a == flag {
            return args.next().cloned();
        }
        if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            return Some(v.to_string());
        }
    }
    None
}

/// Arguments after the program name, shortened for a table cell.
pub fn short_args(argv: &[String]) -> String {
    let mut s = String::new();
    // golat's own `-debug-trace` and `-debug-actiongraph` are not the user's arguments: a
    // row shows what they typed.
    let golats = |a: &str| {
        (a.starts_with("-debug-trace=") || a.starts_with("-debug-actiongraph="))
            && a.contains("/golat-debug-trace-")
    };
    for a in argv.iter().skip(1).filter(|a| !golats(a)) {
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
        let group = tools::group(&p.tool);
        let t = tools.entry(group).or_insert_with(|| ToolRow {
            tool: group.to_string(),
            ..ToolRow::default()
        });
        if group != p.tool && !t.real_tools.contains(&p.tool) {
            t.real_tools.push(p.tool.clone());
        }
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
                if let Some(t) = tools.get_mut(tools::group(tool)) {
                    t.exec_sys_ms += sys_us(c).unwrap_or(0.0) / 1000.0;
                }
            }
            Kind::Connect => {
                let addr = connect_addr(c);
                let (host, host_source, port) = name_target(addr, &report.hosts);
                network.push(Connect {
                    pid: c.pid,
                    tool: tool.to_string(),
                    addr: addr.to_string(),
                    host,
                    host_source: host_source.to_string(),
                    port,
                    t_ms: c.t_ms,
                    result: super::result_text(c),
                    sys_us: sys_us(c).unwrap_or(0.0),
                    traced_us: c.dur_us_inclusive,
                });
            }
            _ => {}
        }
    }
    network.truncate(JSON_ROWS);
    for t in tools.values_mut() {
        t.real_tools.sort();
    }

    let chain = critical_path(report, procs);
    let tracing = tracing_cost(report, ctx, &chain.stretches);
    // From every stretch, not from the listed processes: on a big build the top 100
    // processes leave most of the path out.
    for &(p, from, to) in &chain.stretches {
        if let Some(t) = tools.get_mut(tools::group(&procs.get(p).tool)) {
            t.critical_ms += to - from;
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
        critical_path: chain.links,
        critical_path_links: chain.stretches.len() as u64,
        critical_path_gap: chain.gap,
        critical_by_process: chain.by_process,
        critical_processes: chain.processes,
        network,
        tracing,
        stretches: chain.stretches,
    }
}

/// See [`TracingCost`]. `segments` are the critical path's stretches (process index, from,
/// to), in time order.
fn tracing_cost(report: &Report, ctx: &Ctx, segments: &[Stretch]) -> TracingCost {
    let stops: u64 = report.processes.iter().map(|p| p.stops).sum();
    let thread_ms: f64 = report.processes.iter().map(|p| p.tracing_ms).sum();
    let n = report.processes.len();
    let mut stretches: Vec<Vec<(f64, f64)>> = vec![Vec::new(); n];
    for &(p, from, to) in segments {
        if let Some(s) = stretches.get_mut(p) {
            s.push((from, to));
        }
    }
    // Per process: calls in all, and calls made while it held the path.
    let mut calls = vec![(0u64, 0u64); n];
    for i in 0..report.calls.len() {
        let Some(p) = ctx.proc_index(i).filter(|&p| p < n) else {
            continue;
        };
        calls[p].0 += 1;
        let t = report.calls[i].t_ms;
        let s = &stretches[p];
        let k = s.partition_point(|&(from, _)| from <= t);
        if k > 0 && t <= s[k - 1].1 {
            calls[p].1 += 1;
        }
    }
    let mut wall_ms = 0.0;
    for (p, s) in stretches.iter().enumerate() {
        if s.is_empty() {
            continue;
        }
        let proc = ctx.procs.get(p);
        let on_path: f64 = s.iter().map(|(a, b)| b - a).sum();
        let share = match calls[p] {
            (0, _) => {
                let life = proc.end_ms.unwrap_or(report.wall_ms) - proc.start_ms;
                if life > 0.0 { on_path / life } else { 0.0 }
            }
            (all, on) => on as f64 / all as f64,
        };
        wall_ms += (proc.tracing_ms * share.min(1.0)).min(on_path);
    }
    TracingCost {
        stops,
        thread_ms,
        wall_ms,
        native_wall_ms: (report.wall_ms - wall_ms).max(0.0),
        per_stop_us: if stops > 0 {
            thread_ms * 1000.0 / stops as f64
        } else {
            0.0
        },
    }
}

/// Walks back from the end of the run: the root process was waiting on the child that
/// ended last before the root's end; inside that child, on its own last child; and so on.
/// Between children the parent itself holds the path. Segments come out in time order.
/// A stretch of the critical path: (process index, from ms, to ms).
pub type Stretch = (usize, f64, f64);

struct Chain {
    links: Vec<Link>,
    gap: Option<ChainGap>,
    by_process: Vec<CriticalProcess>,
    processes: u64,
    /// Every stretch, in time order.
    stretches: Vec<Stretch>,
}

/// Links kept from the start of a long path; the rest of `CHAIN_ROWS` is its tail.
const CHAIN_HEAD: usize = 100;

/// Link and vet processes name no package in their arguments (link's output is
/// `$WORK/bNNN/exe/a.out`); the go command's `-debug-trace` does: the process belongs to the
/// `Executing action (link P)` span that began last before it started. Left unnamed when
/// two such spans began within a millisecond of each other (parallel actions).
fn action_packages(report: &Report) -> Vec<Option<String>> {
    let mut out = vec![None; report.processes.len()];
    let Some(trace) = report
        .go
        .get("debug_trace")
        .and_then(|v| crate::gosrc::debugtrace::DebugTrace::deserialize(v).ok())
    else {
        return out;
    };
    let (_, offset, _) = super::go_phases::alignment(report, &trace);
    let spans: Vec<(&str, &str, f64, f64)> = trace
        .phases
        .iter()
        .filter_map(|p| {
            let rest = p
                .name
                .strip_prefix("Executing action (")?
                .strip_suffix(')')?;
            let (mode, pkg) = rest.split_once(' ')?;
            let from = p.start_ms + offset;
            matches!(mode, "link" | "vet").then_some((mode, pkg, from, from + p.dur_ms))
        })
        .collect();
    if spans.is_empty() {
        return out;
    }
    for (i, p) in report.processes.iter().enumerate() {
        if !matches!(p.tool.as_str(), "link" | "vet") || p.argv.iter().any(|a| a == "-V=full") {
            continue;
        }
        let t = p.start_ms;
        // The alignment is good to a fraction of a millisecond: allow that much early.
        let mut around: Vec<&(&str, &str, f64, f64)> = spans
            .iter()
            .filter(|s| s.0 == p.tool && s.2 <= t + 0.5 && t <= s.3)
            .collect();
        around.sort_by(|a, b| b.2.total_cmp(&a.2));
        out[i] = match around.as_slice() {
            [one] => Some(one.1.to_string()),
            [last, before, ..] if last.2 - before.2 > 1.0 => Some(last.1.to_string()),
            _ => None,
        };
    }
    out
}

fn critical_path(report: &Report, procs: &ProcIndex) -> Chain {
    let n = report.processes.len();
    let from_actions = action_packages(report);
    let package = |p: usize| {
        let pr = procs.get(p);
        package_of(&pr.tool, &pr.argv).or_else(|| from_actions.get(p).cloned().flatten())
    };
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
        return Chain {
            links: Vec::new(),
            gap: None,
            by_process: Vec::new(),
            processes: 0,
            stretches: Vec::new(),
        };
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
            tool: tools::group(&pr.tool).to_string(),
            real_tool: tools::real_name(&pr.tool),
            package: package(p),
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
    let processes = by_process.len() as u64;
    by_process.truncate(JSON_ROWS);
    // The tail decided when the run ended: a long path loses its middle.
    let (kept, gap): (Vec<Stretch>, Option<ChainGap>) = if merged.len() > CHAIN_ROWS {
        let tail = CHAIN_ROWS - CHAIN_HEAD;
        let middle = &merged[CHAIN_HEAD..merged.len() - tail];
        let (from, to) = (middle[0].1, middle[middle.len() - 1].2);
        let gap = ChainGap {
            after: CHAIN_HEAD - 1,
            links: middle.len() as u64,
            from_ms: from,
            to_ms: to,
            ms: middle.iter().map(|&(_, a, b)| b - a).sum(),
        };
        let mut kept = merged[..CHAIN_HEAD].to_vec();
        kept.extend_from_slice(&merged[merged.len() - tail..]);
        (kept, Some(gap))
    } else {
        (merged.clone(), None)
    };
    let links = kept
        .iter()
        .copied()
        .map(|(p, from, to)| {
            let pr = procs.get(p);
            Link {
                pid: pr.pid,
                tool: tools::group(&pr.tool).to_string(),
                real_tool: tools::real_name(&pr.tool),
                package: package(p),
                args: short_args(&pr.argv),
                from_ms: from,
                to_ms: to,
                ms: to - from,
                share: share(to - from),
            }
        })
        .collect();
    Chain {
        links,
        gap,
        by_process,
        processes,
        stretches: merged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn inet_addresses_split_into_ip_and_port() {
        assert_eq!(split_inet("127.0.0.1:443"), Some((ip("127.0.0.1"), 443)));
        assert_eq!(split_inet("[::1]:80"), Some((ip("::1"), 80)));
        assert_eq!(
            split_inet("[::ffff:10.0.0.1]:8080"),
            Some((ip("::ffff:10.0.0.1"), 8080))
        );
        for other in [
            "/run/x.sock",
            "/tmp/a:80",
            "@abstract:1",
            "family 16",
            "?",
            "127.0.0.1",
            "127.0.0.1:99999",
            "[127.0.0.1]:80",
            "::1:80",
        ] {
            assert_eq!(split_inet(other), None, "{other}");
        }
    }

    #[test]
    fn hosts_file_names_the_ip_by_its_first_line_and_first_name() {
        let text = "# comment 10.0.0.9 nope\n\
                    127.0.0.1\tlocalhost\n\
                    127.0.0.1 runsc vm\n\
                    ::1 ip6-localhost ip6-loopback # trailing\n\
                    10.0.0.2 db.internal db\n\
                    garbage\n\
                    not-an-ip name\n";
        let names = parse_hosts(
            text,
            &[
                ip("127.0.0.1"),
                ip("::1"),
                ip("::ffff:10.0.0.2"),
                ip("10.0.0.9"),
                ip("8.8.8.8"),
            ],
        );
        let want: BTreeMap<String, String> = [
            ("127.0.0.1", "localhost"),
            ("::1", "ip6-localhost"),
            ("::ffff:10.0.0.2", "db.internal"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(names, want);
    }

    #[test]
    fn a_connect_is_named_from_the_reports_hosts_else_by_its_ip() {
        let hosts: BTreeMap<String, String> = [("127.0.0.1".to_string(), "localhost".to_string())]
            .into_iter()
            .collect();
        assert_eq!(
            name_target("127.0.0.1:8080", &hosts),
            ("localhost".into(), "etc_hosts", Some(8080))
        );
        assert_eq!(
            name_target("[::1]:53", &hosts),
            ("::1".into(), "ip", Some(53))
        );
        assert_eq!(
            name_target("/run/dbus/system_bus_socket", &hosts),
            ("/run/dbus/system_bus_socket".into(), "unix", None)
        );
    }

    #[test]
    fn c_compilers_are_one_tool_with_their_own_names_kept() {
        let mut report = crate::model::empty_report_for_tests();
        let proc = |pid: i32, ppid: i32, tool: &str, start: f64, end: f64| {
            serde_json::from_value::<crate::model::Process>(serde_json::json!({
                "pid": pid, "ppid": ppid, "tool": tool, "exe": format!("/usr/bin/{tool}"),
                "argv": [tool, "-c", "x.c"], "cwd": "/", "start_ms": start, "execs": [],
                "end_ms": end, "exit_code": 0, "signal": null, "threads": 1
            }))
            .unwrap()
        };
        report.wall_ms = 10.0;
        report.processes = vec![
            proc(1, 0, "go", 0.0, 10.0),
            proc(2, 1, "x86_64-linux-gnu-gcc-12", 1.0, 4.0),
            proc(3, 1, "gcc", 5.0, 9.0),
            proc(4, 2, "cc1", 1.5, 3.5),
        ];
        let ctx = Ctx::new(&report, false);
        let ex = compute(&report, &ctx);
        let cc = ex.tools.iter().find(|t| t.tool == "cc").expect("a cc row");
        assert_eq!(cc.count, 2);
        assert_eq!(cc.real_tools, ["gcc", "x86_64-linux-gnu-gcc-12"]);
        assert!((cc.total_wall_ms - 7.0).abs() < 1e-9);
        assert!(
            ex.tools
                .iter()
                .any(|t| t.tool == "cc1" && t.real_tools.is_empty())
        );
        assert!(!ex.tools.iter().any(|t| t.tool.contains("gcc")));
        let gcc = ex
            .critical_by_process
            .iter()
            .find(|c| c.pid == 3)
            .expect("gcc held the path");
        assert_eq!(
            (gcc.tool.as_str(), gcc.real_tool.as_deref()),
            ("cc", Some("gcc"))
        );
        let link = ex
            .critical_path
            .iter()
            .find(|l| l.pid == 2)
            .expect("a link");
        assert_eq!(link.tool, "cc");
        assert_eq!(link.real_tool.as_deref(), Some("x86_64-linux-gnu-gcc-12"));
        let go = ex.critical_path.iter().find(|l| l.pid == 1).unwrap();
        assert_eq!(go.real_tool, None);
        let verdict = super::super::Verdict::compute(&report, &ex, &Default::default());
        assert!(
            verdict.line.starts_with("cc (pid 3) holds 40%"),
            "{}",
            verdict.line
        );
    }

    #[test]
    fn golats_own_debug_trace_flag_is_left_out_of_the_args() {
        let argv: Vec<String> = [
            "go",
            "build",
            "-debug-trace=/tmp/golat-debug-trace-Ab12/go.trace.json",
            "-o",
            "/dev/null",
            ".",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(short_args(&argv), "build -o /dev/null .");
        let mine: Vec<String> = ["go", "build", "-debug-trace=t.json", "."]
            .map(String::from)
            .to_vec();
        assert_eq!(short_args(&mine), "build -debug-trace=t.json .");
    }

    #[test]
    fn compile_asm_and_cgo_name_their_package() {
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let compile = argv(
            "compile -o /tmp/go-build1/b002/_pkg_.a -trimpath x -p github.com/ugorji/go/codec -lang=go1.22",
        );
        assert_eq!(
            package_of("compile", &compile).as_deref(),
            Some("github.com/ugorji/go/codec")
        );
        assert_eq!(
            package_of("asm", &argv("asm -p=runtime -o x.o a.s")).as_deref(),
            Some("runtime")
        );
        assert_eq!(
            package_of("cgo", &argv("cgo -objdir /w -importpath net -- -I /w")).as_deref(),
            Some("net")
        );
        assert_eq!(package_of("link", &argv("link -o /w/a.out")), None);
        assert_eq!(package_of("go", &argv("go build -p 4")), None);
    }
}
