//! PATH scans: executable lookups recognised as probes of `<dir>/<name>` over the
//! directories of the probing process's own PATH (stat, access, execve or a plain open,
//! hits and misses), ranked by name, with the PATH entries that cost probes for nothing
//! (duplicates, missing directories) and the ones on slow filesystems.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Ctx, FastMap, JSON_ROWS, Kind, ProcIndex, Times, clean_path, fs_flag, split_parent};
use crate::model::Report;

/// The step-mask bit of a call that can be a lookup probe: stat, access, execve or a
/// non-creating open. (A readlink is not how anything looks an executable up.)
fn probe_bit(kind: Kind) -> Option<u32> {
    match kind {
        Kind::Stat => Some(1),
        Kind::Access => Some(2),
        Kind::Exec => Some(4),
        Kind::Open => Some(8),
        _ => None,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PathScan {
    pub totals: ScanTotals,
    /// Looked-up names over all processes, most probes first.
    pub names: Vec<NameScan>,
    /// One row per looked-up name and process, most probes first.
    pub scans: Vec<ProcScan>,
    /// Every distinct PATH the processes had, entry by entry.
    pub paths: Vec<PathList>,
    /// What removing duplicate and missing entries would have saved.
    pub cleanup: Cleanup,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScanTotals {
    pub names: u64,
    pub processes: u64,
    pub lookups: u64,
    pub probes: u64,
    pub misses: u64,
    pub sys_ms: f64,
    pub traced_ms: f64,
    pub untimed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NameScan {
    pub name: String,
    pub processes: u64,
    /// Walks over PATH (a probe at or before the previous one's entry starts a new walk).
    pub lookups: u64,
    pub probes: u64,
    pub misses: u64,
    /// Most distinct PATH entries one process probed for this name.
    pub dirs_walked: u64,
    /// Directory of the first hit, if any process found it.
    pub found: Option<String>,
    pub sys_ms: f64,
    pub traced_ms: f64,
    /// Probes that went to duplicate or missing entries.
    pub wasted_probes: u64,
    /// Probes that went to entries on network or FUSE filesystems.
    pub slow_probes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcScan {
    pub name: String,
    pub pid: i32,
    pub tool: String,
    pub lookups: u64,
    pub probes: u64,
    pub misses: u64,
    pub dirs_walked: u64,
    pub found: Option<String>,
    pub sys_ms: f64,
    pub traced_ms: f64,
    pub wasted_probes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PathList {
    pub path: String,
    pub processes: u64,
    pub probes: u64,
    pub entries: Vec<PathEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PathEntry {
    /// 0-based position in PATH (kept for older readers; people see `entry`).
    pub index: usize,
    /// 1-based position in PATH, as path-audit and env-check number entries.
    pub entry: usize,
    /// The entry as written in PATH (empty means the current directory).
    pub raw: String,
    /// Absolute and lexically clean.
    pub dir: String,
    /// `ok`, `duplicate`, `missing`, `not_dir`, `unchecked` (saved report, never checked).
    pub status: String,
    /// 0-based index of the earlier entry naming the same directory (lexically or by
    /// symlink).
    pub duplicate_of: Option<usize>,
    /// What the live run found at the directory: `dir`, `missing` or `not_dir`; absent
    /// when the report was never analysed live.
    pub check: Option<String>,
    /// The directory with symlinks resolved (checked on the live run).
    pub real: Option<String>,
    pub fs_type: Option<String>,
    /// `network`, `fuse` or `overlay` when the filesystem makes each probe expensive.
    pub flag: Option<String>,
    pub probes: u64,
    pub hits: u64,
    pub sys_ms: f64,
    pub traced_ms: f64,
}

impl PathEntry {
    fn wasteful(&self) -> bool {
        matches!(self.status.as_str(), "duplicate" | "missing" | "not_dir")
    }
    fn slow(&self) -> bool {
        matches!(self.flag.as_deref(), Some("network" | "fuse"))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cleanup {
    /// Probes that went to duplicate or missing entries, in every PATH seen.
    pub saved_probes: u64,
    pub saved_sys_ms: f64,
    pub saved_traced_ms: f64,
    /// Probes into entries on network or FUSE filesystems (not removable blindly).
    pub slow_probes: u64,
    pub slow_sys_ms: f64,
    /// For the most probed PATH: the entries to drop and the PATH without them.
    pub path: Option<String>,
    pub removed: Vec<String>,
    pub cleaned_path: Option<String>,
}

/// One walk over PATH for one name by one thread: a burst on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    pub pid: i32,
    pub tid: i32,
    pub name: String,
    pub start_ms: f64,
    pub end_ms: f64,
    pub probes: u64,
    pub found: Option<String>,
}

pub fn compute(report: &Report, ctx: &Ctx) -> PathScan {
    scan(report, ctx, false).0
}

/// The PATH walks of a run, in time order, for the timeline.
pub fn bursts(report: &Report, ctx: &Ctx) -> Vec<Burst> {
    scan(report, ctx, true).1
}

/// One PATH as the probing processes see it: entries and the directory → indices map.
struct ListState {
    list: PathList,
    dirs: FastMap<String, Vec<usize>>,
    /// Path id → which entries its directory is (`dirs` key), looked up once per path.
    cache: Vec<u32>,
    slots: Vec<Vec<usize>>,
}

const UNSEEN: u32 = u32::MAX - 1;
const NOT_IN_PATH: u32 = u32::MAX;

impl ListState {
    /// The PATH entries that are the directory of path `id`, if any (cached per path).
    fn entries_of(&mut self, id: usize, path: &str, use_cache: bool) -> Option<usize> {
        let dir = || split_parent(path).map(|(d, _)| d);
        if !use_cache {
            return self.lookup(dir()?);
        }
        if self.cache.is_empty() {
            return None;
        }
        match self.cache[id] {
            NOT_IN_PATH => None,
            UNSEEN => {
                let slot = dir().and_then(|d| self.lookup(d));
                self.cache[id] = slot.map_or(NOT_IN_PATH, |s| s as u32);
                slot
            }
            s => Some(s as usize),
        }
    }

    fn lookup(&mut self, dir: &str) -> Option<usize> {
        let indices = self.dirs.get(dir)?;
        match self.slots.iter().position(|s| s == indices) {
            Some(i) => Some(i),
            None => {
                self.slots.push(indices.clone());
                Some(self.slots.len() - 1)
            }
        }
    }
}

/// Per (process, name) walk state.
struct Group {
    list: usize,
    pid: i32,
    proc_idx: usize,
    last_idx: Option<usize>,
    step_mask: u32,
    lookups: u64,
    probes: u64,
    misses: u64,
    walked: Vec<u64>,
    found: Option<usize>,
    times: Times,
    wasted: u64,
    slow: u64,
    burst: Option<Burst>,
    bursts: Vec<Burst>,
}

impl Group {
    fn walked_count(&self) -> u64 {
        self.walked.iter().map(|w| u64::from(w.count_ones())).sum()
    }
}

fn scan(report: &Report, ctx: &Ctx, want_bursts: bool) -> (PathScan, Vec<Burst>) {
    let procs = &ctx.procs;
    let n = report.processes.len();

    // The PATH each process had after its exec, and before it (inherited from its parent).
    let mut post: Vec<Option<Option<&str>>> = vec![None; n];
    fn post_env<'r>(
        i: usize,
        report: &'r Report,
        procs: &ProcIndex<'r>,
        memo: &mut [Option<Option<&'r str>>],
    ) -> Option<&'r str> {
        // Walk up to the first process that exec'd (or the root), iteratively: a saved
        // report may hold any ppid graph.
        let mut chain = Vec::new();
        let mut cur = Some(i);
        let mut found: Option<&'r str> = Some(report.env.path.as_str());
        while let Some(c) = cur {
            if let Some(v) = memo[c] {
                found = v;
                break;
            }
            let p = procs.get(c);
            chain.push(c);
            if !p.execs.is_empty() {
                found = p.path_env.as_deref();
                break;
            }
            if chain.len() > memo.len() {
                break;
            }
            cur = procs.parent(c);
        }
        for c in chain {
            memo[c] = Some(found);
        }
        found
    }
    let mut lists: Vec<ListState> = Vec::new();
    let mut list_of: HashMap<(&str, &str), usize> = HashMap::new();
    let mut list_by_path: HashMap<&str, usize> = HashMap::new();
    // (pre-exec list, post-exec list) per process.
    let mut proc_lists: Vec<(Option<usize>, Option<usize>)> = vec![(None, None); n];
    for (i, pl) in proc_lists.iter_mut().enumerate() {
        let p = procs.get(i);
        let post_path = post_env(i, report, procs, &mut post);
        let pre_path = match procs.parent(i) {
            Some(j) => post_env(j, report, procs, &mut post),
            None => Some(report.env.path.as_str()),
        };
        for (slot, path) in [(0, pre_path), (1, post_path)] {
            let Some(path) = path.filter(|s| !s.is_empty()) else {
                continue;
            };
            let key = (path, p.cwd.as_str());
            let id = match list_of.get(&key) {
                Some(&id) => id,
                None => {
                    let id = lists.len();
                    lists.push(new_list(
                        path,
                        &p.cwd,
                        ctx,
                        list_by_path.get(path).map(|&l| &lists[l].list),
                    ));
                    list_by_path.entry(path).or_insert(id);
                    list_of.insert(key, id);
                    id
                }
            };
            if slot == 0 {
                pl.0 = Some(id);
            } else {
                pl.1 = Some(id);
            }
        }
        if let Some(id) = pl.1 {
            lists[id].list.processes += 1;
        }
    }

    // Per-path caches of "is this in a PATH directory" while they stay small.
    let use_cache = lists.len().saturating_mul(ctx.paths.len()) <= 16 << 20;
    if use_cache {
        for l in &mut lists {
            l.cache = vec![UNSEEN; ctx.paths.len()];
        }
    }
    // Paths whose directory is in no PATH at all, decided once per path: their calls are
    // skipped without reading the call records.
    let maybe: Vec<bool> = ctx
        .paths
        .iter()
        .map(|p| split_parent(p).is_some_and(|(d, _)| lists.iter().any(|l| l.dirs.contains_key(d))))
        .collect();
    let mut groups: FastMap<(usize, &str), Group> = FastMap::default();
    let mut bursts = Vec::new();
    for (ci, &kind) in ctx.kinds.iter().enumerate() {
        let Some(bit) = probe_bit(kind) else {
            continue;
        };
        let Some(id) = ctx.path_of(ci).filter(|&id| maybe[id]) else {
            continue;
        };
        let Some(pi) = ctx.proc_index(ci) else {
            continue;
        };
        let call = &report.calls[ci];
        let p = procs.get(pi);
        let pre = p.execs.first().is_none_or(|e| call.t_ms < e.t_ms);
        let Some(li) = (if pre {
            proc_lists[pi].0
        } else {
            proc_lists[pi].1
        }) else {
            continue;
        };
        let path = ctx.paths[id];
        let Some(slot) = lists[li].entries_of(id, path, use_cache) else {
            continue;
        };
        let Some((dir, name)) = split_parent(path) else {
            continue;
        };
        let indices = &lists[li].slots[slot];
        let g = groups.entry((pi, name)).or_insert_with(|| Group {
            list: li,
            pid: p.pid,
            proc_idx: pi,
            last_idx: None,
            step_mask: 0,
            lookups: 0,
            probes: 0,
            misses: 0,
            walked: vec![0; lists[li].list.entries.len().div_ceil(64)],
            found: None,
            times: Times::default(),
            wasted: 0,
            slow: 0,
            burst: None,
            bursts: Vec::new(),
        });
        if g.list != li {
            // The same name looked up again after an exec changed PATH: count it against
            // the list of the first walk only when the directory is in it.
            if !lists[g.list].dirs.contains_key(dir) {
                continue;
            }
        }
        let indices: Vec<usize> = if g.list == li {
            indices.clone()
        } else {
            lists[g.list].dirs[dir].clone()
        };
        // Which entry this probe is: the same step as the last probe (another call on the
        // same path, as LookPath's stat then access), the next occurrence of this directory
        // after the last entry, or a new walk from the first occurrence.
        let (idx, new_walk) = match g.last_idx {
            Some(last) if indices.contains(&last) && g.step_mask & bit == 0 => (last, false),
            Some(last) => match indices.iter().find(|&&i| i > last) {
                Some(&i) => (i, false),
                None => (indices[0], true),
            },
            None => (indices[0], true),
        };
        if Some(idx) != g.last_idx || new_walk {
            g.step_mask = 0;
        }
        g.step_mask |= bit;
        g.last_idx = Some(idx);
        if new_walk {
            g.lookups += 1;
            if let Some(b) = g.burst.take() {
                g.bursts.push(b);
            }
        }
        g.probes += 1;
        g.walked[idx / 64] |= 1 << (idx % 64);
        let hit = !call.failed();
        if hit {
            if g.found.is_none() {
                g.found = Some(idx);
            }
        } else {
            g.misses += 1;
        }
        g.times.add(call);
        let entry = &mut lists[g.list].list.entries[idx];
        entry.probes += 1;
        entry.hits += u64::from(hit);
        if let Some(us) = super::sys_us(call) {
            entry.sys_ms += us / 1000.0;
        }
        entry.traced_ms += call.dur_us_inclusive.max(0.0) / 1000.0;
        if entry.wasteful() {
            g.wasted += 1;
        }
        if entry.slow() {
            g.slow += 1;
        }
        if want_bursts {
            let end = call.t_ms + call.dur_us_inclusive.max(0.0) / 1000.0;
            let found_dir = hit.then(|| lists[g.list].list.entries[idx].dir.clone());
            match &mut g.burst {
                Some(b) => {
                    b.end_ms = b.end_ms.max(end);
                    b.probes += 1;
                    if b.found.is_none() {
                        b.found = found_dir;
                    }
                }
                None => {
                    g.burst = Some(Burst {
                        pid: call.pid,
                        tid: call.tid,
                        name: name.to_string(),
                        start_ms: call.t_ms,
                        end_ms: end,
                        probes: 1,
                        found: found_dir,
                    })
                }
            }
        }
    }

    let mut result = PathScan::default();
    let mut by_name: HashMap<&str, NameScan> = HashMap::new();
    let mut procs_seen = std::collections::HashSet::new();
    let mut scans = Vec::new();
    // Sorted, so float sums come out the same on every run.
    let mut groups: Vec<((usize, &str), Group)> = groups.into_iter().collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    for ((pi, name), mut g) in groups {
        if let Some(b) = g.burst.take() {
            g.bursts.push(b);
        }
        // A lookup walks PATH: probes of one name in one directory only are accesses to a
        // file that happens to live there (go reading its install target, say).
        let walked = g.walked_count();
        let entries = lists[g.list].list.entries.len();
        if walked < 2 && !(entries == 1 && g.misses > 0) {
            continue;
        }
        bursts.append(&mut g.bursts);
        let found = g.found.map(|i| lists[g.list].list.entries[i].dir.clone());
        let ns = by_name.entry(name).or_insert_with(|| NameScan {
            name: name.to_string(),
            ..NameScan::default()
        });
        ns.processes += 1;
        ns.lookups += g.lookups;
        ns.probes += g.probes;
        ns.misses += g.misses;
        ns.dirs_walked = ns.dirs_walked.max(walked);
        if ns.found.is_none() {
            ns.found.clone_from(&found);
        }
        ns.sys_ms += g.times.sys_ms;
        ns.traced_ms += g.times.traced_ms;
        ns.wasted_probes += g.wasted;
        ns.slow_probes += g.slow;
        procs_seen.insert(pi);
        let t = &mut result.totals;
        t.lookups += g.lookups;
        t.probes += g.probes;
        t.misses += g.misses;
        t.sys_ms += g.times.sys_ms;
        t.traced_ms += g.times.traced_ms;
        t.untimed += g.times.untimed;
        scans.push(ProcScan {
            name: name.to_string(),
            pid: g.pid,
            tool: procs.get(g.proc_idx).tool.clone(),
            lookups: g.lookups,
            probes: g.probes,
            misses: g.misses,
            dirs_walked: walked,
            found,
            sys_ms: g.times.sys_ms,
            traced_ms: g.times.traced_ms,
            wasted_probes: g.wasted,
        });
    }
    result.totals.names = by_name.len() as u64;
    result.totals.processes = procs_seen.len() as u64;
    let mut names: Vec<NameScan> = by_name.into_values().collect();
    names.sort_by(|a, b| {
        b.probes
            .cmp(&a.probes)
            .then(b.sys_ms.total_cmp(&a.sys_ms))
            .then(a.name.cmp(&b.name))
    });
    names.truncate(JSON_ROWS);
    scans.sort_by(|a, b| {
        b.probes
            .cmp(&a.probes)
            .then(b.sys_ms.total_cmp(&a.sys_ms))
            .then(a.name.cmp(&b.name))
            .then(a.pid.cmp(&b.pid))
    });
    scans.truncate(JSON_ROWS);
    result.names = names;
    result.scans = scans;

    // Merge lists that differ only by cwd (same PATH string): entries share indices.
    let mut merged: Vec<PathList> = Vec::new();
    let mut merged_of: HashMap<String, usize> = HashMap::new();
    for ls in lists {
        let l = ls.list;
        match merged_of.get(&l.path) {
            Some(&m) => {
                let into = &mut merged[m];
                into.processes += l.processes;
                for (a, b) in into.entries.iter_mut().zip(&l.entries) {
                    a.probes += b.probes;
                    a.hits += b.hits;
                    a.sys_ms += b.sys_ms;
                    a.traced_ms += b.traced_ms;
                }
            }
            None => {
                merged_of.insert(l.path.clone(), merged.len());
                merged.push(l);
            }
        }
    }
    for l in &mut merged {
        l.probes = l.entries.iter().map(|e| e.probes).sum();
    }
    merged.sort_by(|a, b| b.probes.cmp(&a.probes).then(b.processes.cmp(&a.processes)));
    let c = &mut result.cleanup;
    for l in &merged {
        for e in &l.entries {
            if e.wasteful() {
                c.saved_probes += e.probes;
                c.saved_sys_ms += e.sys_ms;
                c.saved_traced_ms += e.traced_ms;
            }
            if e.slow() {
                c.slow_probes += e.probes;
                c.slow_sys_ms += e.sys_ms;
            }
        }
    }
    if let Some(top) = merged.first() {
        c.path = Some(top.path.clone());
        let keep: Vec<&str> = top
            .entries
            .iter()
            .filter(|e| !e.wasteful())
            .map(|e| e.raw.as_str())
            .collect();
        c.removed = top
            .entries
            .iter()
            .filter(|e| e.wasteful())
            .map(|e| format!("{} ({})", display_raw(&e.raw), e.status))
            .collect();
        c.cleaned_path = Some(keep.join(":"));
    }
    merged.truncate(JSON_ROWS);
    result.paths = merged;
    bursts.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    (result, bursts)
}

fn display_raw(raw: &str) -> &str {
    if raw.is_empty() {
        "\"\" (current dir)"
    } else {
        raw
    }
}

/// How long a live check of a PATH directory on a network or FUSE mount may take: the run
/// is over, and a hung mount must not keep golat from printing its report.
const REMOTE_CHECK_DEADLINE: std::time::Duration = std::time::Duration::from_millis(500);

/// A live check of a PATH directory: (`dir`, `not_dir`, `missing` or `unresponsive`, the
/// directory with symlinks resolved). On a remote mount the check has a deadline.
fn check_dir(dir: &str, ctx: &Ctx) -> (Option<String>, Option<String>) {
    let probe = |dir: String| match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => (
            "dir",
            std::fs::canonicalize(&dir)
                .ok()
                .map(|p| p.to_string_lossy().into_owned()),
        ),
        Ok(_) => ("not_dir", None),
        Err(_) => ("missing", None),
    };
    let remote = ctx
        .mount_of(dir)
        .is_some_and(|m| crate::fsinfo::classify(&m.fs_type) != crate::fsinfo::FsClass::Local);
    let owned = dir.to_string();
    let (check, real) =
        crate::fsinfo::probe_with_deadline(remote, REMOTE_CHECK_DEADLINE, move || probe(owned))
            .unwrap_or(("unresponsive", None));
    (Some(check.to_string()), real)
}

/// Splits a PATH into entries and decides each one's status: from the live machine on a
/// live run, from an earlier analysis of the same report otherwise.
fn new_list(path: &str, cwd: &str, ctx: &Ctx, same_path: Option<&PathList>) -> ListState {
    let mut entries: Vec<PathEntry> = Vec::new();
    let mut dirs: FastMap<String, Vec<usize>> = FastMap::default();
    let mut first_by_dir: HashMap<String, usize> = HashMap::new();
    for (index, raw) in path.split(':').enumerate() {
        let dir = clean_path(if raw.is_empty() { "." } else { raw }, cwd);
        dirs.entry(dir.clone()).or_default().push(index);
        let known = same_path
            .and_then(|l| l.entries.get(index))
            .or_else(|| ctx.prior_entries.get(&(path.to_string(), index)))
            .map(|e| (e.check.clone(), e.real.clone()));
        let (check, real) = match known {
            Some(k) => k,
            None if ctx.live => check_dir(&dir, ctx),
            None => (None, None),
        };
        let real_key = real.clone().unwrap_or_else(|| dir.clone());
        let duplicate_of = first_by_dir.get(&real_key).copied();
        first_by_dir.entry(real_key).or_insert(index);
        let status = match (duplicate_of, check.as_deref()) {
            (Some(_), _) => "duplicate",
            (None, Some("dir")) => "ok",
            (None, Some(other)) => other,
            (None, None) => "unchecked",
        };
        let mount = ctx.mount_of(real.as_deref().unwrap_or(&dir));
        entries.push(PathEntry {
            index,
            entry: index + 1,
            raw: raw.to_string(),
            dir,
            status: status.to_string(),
            duplicate_of,
            check,
            real,
            fs_type: mount.map(|m| m.fs_type.clone()),
            flag: mount.and_then(|m| fs_flag(&m.fs_type)).map(String::from),
            ..PathEntry::default()
        });
    }
    ListState {
        list: PathList {
            path: path.to_string(),
            processes: 0,
            probes: 0,
            entries,
        },
        dirs,
        cache: Vec::new(),
        slots: Vec::new(),
    }
}
