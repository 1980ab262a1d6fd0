//! Analyzers: a [`Report`] in, ranked hotspots out (stored under `report.hotspots`, one key
//! per analysis, plus a one-line `verdict`). They read only the report, so they run the same
//! on a live run and on a saved `--json` file; the live run may add what only the live
//! machine knows (the mount table, whether a PATH directory exists), and a saved report
//! keeps it for later re-analysis.
//!
//! Time kinds, everywhere in the results: `sys_ms`/`sys_us` sum the replayed or corrected
//! durations of calls (kernel time without the ptrace round trip), `traced_ms`/`traced_us`
//! what the tracer observed (round trips included), `wall_ms` process or run wall time as it
//! ran under the tracer.

pub mod advice;
pub mod build_cache;
pub mod exec;
pub mod fs_blocking;
pub mod go_phases;
pub mod habits;
pub mod init_chain;
pub mod path_scan;
pub mod startup;
pub mod tools;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{Call, MountRecord, Process, Report, Timing};

/// Rows kept per ranked list in the JSON (tables show `--top N` of them).
pub const JSON_ROWS: usize = 100;

/// From this many calls on, some analyses run on a second thread (see `run`).
const PARALLEL_MIN_CALLS: usize = 2_000;

/// Runs every analysis on a live run: may read the live mount table and check PATH
/// directories, and records the mount table in the report when the tracer left it empty.
pub fn analyze(report: &mut Report) {
    run(report, true);
}

/// Re-runs every analysis on a saved report without looking at this machine: what only
/// the recording machine knew comes from the report itself (mounts, earlier PATH checks).
pub fn analyze_saved(report: &mut Report) {
    // A report that kept only its slowest calls was analysed with all of them: its stored
    // results are the whole answer, and an analysis of what is left would not be.
    if report.calls_omitted > 0 && !report.hotspots.is_empty() {
        return;
    }
    run(report, false);
}

fn run(report: &mut Report, live: bool) {
    if live && report.mounts.is_empty() {
        report.mounts = read_live_mounts();
    }
    if live {
        record_live_hosts(report);
    }
    let results = {
        let ctx = Ctx::new(report, live);
        // The filesystem breakdown (the longest analysis) and the go command's phases run
        // on a second thread beside the others once a run has enough calls to pay for
        // the thread: golat's analysis comes after the command, whose CPUs are then free.
        let parallel = report.calls.len() >= PARALLEL_MIN_CALLS;
        let (path_scan, fs, exec, habits, init, go_phases) = std::thread::scope(|s| {
            let side = parallel.then(|| {
                s.spawn(|| {
                    (
                        fs_blocking::compute(report, &ctx),
                        go_phases::analyze(report),
                    )
                })
            });
            let path_scan = path_scan::compute(report, &ctx);
            let exec = exec::compute(report, &ctx);
            let habits = habits::compute(report, &ctx);
            let init = init_chain::compute(report);
            let (fs, go_phases) = match side.map(|h| h.join()) {
                Some(Ok(done)) => done,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                None => (
                    fs_blocking::compute(report, &ctx),
                    go_phases::analyze(report),
                ),
            };
            (path_scan, fs, exec, habits, init, go_phases)
        });
        let advice = advice::compute(
            report,
            &ctx,
            &advice::Inputs {
                path_scan: &path_scan,
                fs: &fs,
                exec: &exec,
                habits: &habits,
                init_chain: init.as_ref(),
            },
        );
        let verdict = Verdict::compute(report, &exec, &advice);
        let cache = build_cache::compute(report, &exec);
        let startup = startup::compute(report);
        [
            ("path_scan", serde_json::to_value(&path_scan).ok()),
            ("fs_blocking", serde_json::to_value(&fs).ok()),
            ("exec", serde_json::to_value(&exec).ok()),
            ("habits", serde_json::to_value(&habits).ok()),
            ("verdict", serde_json::to_value(&verdict).ok()),
            ("what_to_change", serde_json::to_value(&advice).ok()),
            (
                "init_chain",
                init.and_then(|c| serde_json::to_value(c).ok()),
            ),
            ("go_phases", go_phases),
            (
                "startup",
                startup.and_then(|s| serde_json::to_value(s).ok()),
            ),
            (
                "build_cache",
                cache.and_then(|c| serde_json::to_value(c).ok()),
            ),
        ]
    };
    for (key, value) in results {
        if let Some(value) = value {
            report.hotspots.insert(key.to_string(), value);
        }
    }
}

/// FxHash (rustc's): hashing paths is most of an analysis, and these keys come from one
/// recording, not from an adversary on the network.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

const FX_K: u64 = 0x517c_c1b7_2722_0a95;

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            h = (h.rotate_left(5) ^ w).wrapping_mul(FX_K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(FX_K);
        }
        self.0 = h;
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(FX_K);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;
pub type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<FxHasher>>;

/// What kind of call a record is, decided once per call from its name and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// stat family (`newfstatat`, `statx`, `lstat`, ...).
    Stat,
    /// access family.
    Access,
    /// An open that cannot create (a lookup or a read).
    Open,
    /// An open with O_CREAT/O_TMPFILE, or `creat`.
    OpenCreate,
    Readlink,
    Getdents,
    Exec,
    Connect,
    /// Any other filesystem call (mkdir, unlink, rename, chdir, ...).
    OtherFs,
}

impl Kind {
    pub fn of(call: &Call) -> Kind {
        let n = call.name.as_str();
        if n.starts_with("open") {
            let creates = call
                .flags
                .as_deref()
                .is_some_and(|f| f.contains("O_CREAT") || f.contains("O_TMPFILE"));
            return if creates {
                Kind::OpenCreate
            } else {
                Kind::Open
            };
        }
        match n {
            "creat" => Kind::OpenCreate,
            "execve" | "execveat" => Kind::Exec,
            "connect" => Kind::Connect,
            "getdents64" | "getdents" => Kind::Getdents,
            "readlink" | "readlinkat" => Kind::Readlink,
            _ if n.contains("stat") => Kind::Stat,
            _ if n.contains("access") => Kind::Access,
            _ => Kind::OtherFs,
        }
    }

    /// A lookup or read of a path (what PATH walks and stat storms are made of).
    pub fn is_probe(self) -> bool {
        matches!(
            self,
            Kind::Stat | Kind::Access | Kind::Open | Kind::Readlink
        )
    }
}

/// What the analyses share: the mount table, where the run came from, earlier PATH checks,
/// and per call (computed once, not once per analysis) its kind and its process.
pub struct Ctx<'a> {
    pub live: bool,
    pub mounts: Vec<MountRecord>,
    /// (PATH string, entry index) → the entry as an earlier (live) analysis of this report
    /// checked it: a saved report cannot be checked against this machine.
    pub prior_entries: HashMap<(String, usize), path_scan::PathEntry>,
    pub procs: ProcIndex<'a>,
    /// Per call: index of its process in `report.processes`, or `NO_PROC`.
    pub proc_of: Vec<u32>,
    /// Per call: its kind.
    pub kinds: Vec<Kind>,
    /// Per call: index of its path in `paths`, or `NO_PATH`.
    pub path_id: Vec<u32>,
    /// Every distinct path of the run, in order of first use: per-path work (splitting,
    /// classifying, matching PATH directories) is done once per path, not once per call.
    pub paths: Vec<&'a str>,
}

/// `path_id` for a call without a path.
pub const NO_PATH: u32 = u32::MAX;

/// `proc_of` for a call whose pid matches no process.
pub const NO_PROC: u32 = u32::MAX;

impl<'a> Ctx<'a> {
    pub fn new(report: &'a Report, live: bool) -> Ctx<'a> {
        let mut prior_entries = HashMap::new();
        if let Some(old) = report
            .hotspots
            .get("path_scan")
            .and_then(|v| path_scan::PathScan::deserialize(v).ok())
        {
            for list in old.paths {
                for e in list.entries {
                    if e.check.is_some() {
                        prior_entries.insert((list.path.clone(), e.index), e);
                    }
                }
            }
        }
        let mut mounts = report.mounts.clone();
        // Longest mount point first, so the first prefix match is the right mount.
        mounts.sort_by_key(|m| std::cmp::Reverse(m.mount_point.len()));
        let procs = ProcIndex::new(&report.processes);
        let mut proc_of = Vec::with_capacity(report.calls.len());
        let mut kinds = Vec::with_capacity(report.calls.len());
        let mut path_id = Vec::with_capacity(report.calls.len());
        let mut paths: Vec<&'a str> = Vec::new();
        // Paths are interned (model::Atom): equal paths share one allocation, so its address
        // identifies the path without hashing or comparing its text.
        let mut by_address: HashMap<usize, u32, std::hash::BuildHasherDefault<FxHasher>> =
            HashMap::default();
        // Consecutive calls mostly come from one process: remember the last answer.
        let mut last: Option<(i32, u32)> = None;
        for c in &report.calls {
            kinds.push(Kind::of(c));
            let p = match last {
                Some((pid, p)) if pid == c.pid && !procs.reused(pid) => p,
                _ => procs
                    .at(c.pid, c.t_ms)
                    .and_then(|i| u32::try_from(i).ok())
                    .unwrap_or(NO_PROC),
            };
            last = Some((c.pid, p));
            proc_of.push(p);
            path_id.push(match c.path.as_ref() {
                Some(path) => *by_address.entry(path.address()).or_insert_with(|| {
                    paths.push(path.as_str());
                    u32::try_from(paths.len() - 1).unwrap_or(NO_PATH)
                }),
                None => NO_PATH,
            });
        }
        Ctx {
            live,
            mounts,
            prior_entries,
            procs,
            proc_of,
            kinds,
            path_id,
            paths,
        }
    }

    /// The path of call `i` as its id in `paths`.
    pub fn path_of(&self, i: usize) -> Option<usize> {
        match self.path_id.get(i) {
            Some(&p) if p != NO_PATH => Some(p as usize),
            _ => None,
        }
    }

    /// The process of call `i`, if its pid is known.
    pub fn proc_index(&self, i: usize) -> Option<usize> {
        match self.proc_of.get(i) {
            Some(&p) if p != NO_PROC => Some(p as usize),
            _ => None,
        }
    }

    /// The mount holding an absolute path, by longest prefix.
    pub fn mount_of(&self, path: &str) -> Option<&MountRecord> {
        self.mounts.iter().find(|m| under(path, &m.mount_point))
    }
}

/// True when `path` is `root` or inside it (component-wise, not by string prefix).
pub fn under(path: &str, root: &str) -> bool {
    if root == "/" {
        return path.starts_with('/');
    }
    let root = root.strip_suffix('/').unwrap_or(root);
    path.strip_prefix(root)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Why a filesystem type deserves a flag: each lookup may cost a network round trip
/// (`network`), a userspace daemon (`fuse`), a mount on demand (`automount`), or a walk
/// through layers (`overlay`). The classes are fsinfo's, shared with path-audit.
pub fn fs_flag(fs_type: &str) -> Option<&'static str> {
    match crate::fsinfo::classify(fs_type) {
        crate::fsinfo::FsClass::Network => Some("network"),
        crate::fsinfo::FsClass::Fuse => Some("fuse"),
        crate::fsinfo::FsClass::Automount => Some("automount"),
        crate::fsinfo::FsClass::Local if fs_type == "overlay" => Some("overlay"),
        crate::fsinfo::FsClass::Local => None,
    }
}

/// Parses /proc/self/mountinfo. Only for a live run: a saved report never looks at the
/// machine it is read on.
pub fn read_live_mounts() -> Vec<MountRecord> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|text| parse_mountinfo(&text))
        .unwrap_or_default()
}

/// Adds to `report.hosts` the /etc/hosts names of the IPs its connects went to. Only for a
/// live run, like the mount table; a run without connects does not read the file.
pub fn record_live_hosts(report: &mut Report) {
    let ips = exec::unnamed_ips(report);
    if ips.is_empty() {
        return;
    }
    if let Ok(text) = std::fs::read_to_string("/etc/hosts") {
        report.hosts.extend(exec::parse_hosts(&text, &ips));
    }
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
/// Lenient: a line fsinfo cannot read is skipped, the rest kept.
pub fn parse_mountinfo(text: &str) -> Vec<MountRecord> {
    text.lines()
        .filter_map(|line| crate::fsinfo::MountTable::parse(line).ok())
        .flat_map(|t| t.mounts)
        .map(mount_record)
        .collect()
}

pub fn mount_record(m: crate::fsinfo::Mount) -> MountRecord {
    MountRecord {
        mount_point: m.mount_point,
        fs_type: m.fs_type,
        source: m.source,
    }
}

/// Finds the process a call belongs to (pids can be reused within one run: the process
/// alive at the call's time wins).
pub struct ProcIndex<'a> {
    procs: &'a [Process],
    by_pid: FastMap<i32, Vec<usize>>,
}

impl<'a> ProcIndex<'a> {
    pub fn new(procs: &'a [Process]) -> ProcIndex<'a> {
        let mut by_pid: FastMap<i32, Vec<usize>> = FastMap::default();
        for (i, p) in procs.iter().enumerate() {
            by_pid.entry(p.pid).or_default().push(i);
        }
        for v in by_pid.values_mut() {
            v.sort_by(|&a, &b| procs[a].start_ms.total_cmp(&procs[b].start_ms));
        }
        ProcIndex { procs, by_pid }
    }

    /// True when more than one process had this pid during the run.
    pub fn reused(&self, pid: i32) -> bool {
        self.by_pid.get(&pid).is_some_and(|v| v.len() > 1)
    }

    pub fn len(&self) -> usize {
        self.procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// Index of the process `pid` alive at `t_ms`.
    pub fn at(&self, pid: i32, t_ms: f64) -> Option<usize> {
        let v = self.by_pid.get(&pid)?;
        if v.len() == 1 {
            return Some(v[0]);
        }
        v.iter()
            .rev()
            .find(|&&i| self.procs[i].start_ms <= t_ms)
            .or_else(|| v.first())
            .copied()
    }

    /// Index of the parent of process `i` (alive when `i` was created).
    pub fn parent(&self, i: usize) -> Option<usize> {
        let p = &self.procs[i];
        self.at(p.ppid, p.start_ms).filter(|&j| j != i)
    }

    pub fn get(&self, i: usize) -> &'a Process {
        &self.procs[i]
    }
}

/// The directory and the last component of an absolute path (`/a/b` → `/a`, `b`).
pub fn split_parent(path: &str) -> Option<(&str, &str)> {
    let (dir, base) = path.rsplit_once('/')?;
    if base.is_empty() {
        return None;
    }
    Some((if dir.is_empty() { "/" } else { dir }, base))
}

/// Lexical cleaning of a path as Go's `filepath.Clean` does it; relative paths are joined
/// to `cwd` first.
pub fn clean_path(path: &str, cwd: &str) -> String {
    let joined;
    let p = if path.starts_with('/') {
        path
    } else {
        joined = format!("{cwd}/{path}");
        &joined
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        "/".to_string()
    } else {
        let mut s = String::with_capacity(p.len());
        for c in parts {
            s.push('/');
            s.push_str(c);
        }
        s
    }
}

/// A call's duration with the round trip taken out, in microseconds; `None` when golat has
/// no such figure for it (`timing: none`).
pub fn sys_us(call: &Call) -> Option<f64> {
    match call.timing {
        Timing::Replayed | Timing::Corrected => Some(call.dur_us.max(0.0)),
        Timing::None => None,
    }
}

/// Time sums of one kind each, so no figure mixes kernel time with tracer overhead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Times {
    pub calls: u64,
    pub failed: u64,
    /// Replayed or corrected durations (no ptrace round trip), ms.
    pub sys_ms: f64,
    /// What the tracer observed, round trips included, ms.
    pub traced_ms: f64,
    /// Calls without a duration of their own (timing `none`).
    pub untimed: u64,
}

impl Times {
    pub fn add(&mut self, call: &Call) {
        self.calls += 1;
        self.failed += u64::from(call.failed());
        match sys_us(call) {
            Some(us) => self.sys_ms += us / 1000.0,
            None => self.untimed += 1,
        }
        self.traced_ms += call.dur_us_inclusive.max(0.0) / 1000.0;
    }

    pub fn merge(&mut self, o: &Times) {
        self.calls += o.calls;
        self.failed += o.failed;
        self.sys_ms += o.sys_ms;
        self.traced_ms += o.traced_ms;
        self.untimed += o.untimed;
    }
}

/// A call's result as one short word: the errno name, the return value, or `ok`.
pub fn result_text(call: &Call) -> String {
    match (&call.errno, call.ret) {
        (Some(e), _) => e.to_string(),
        (None, Some(r)) => r.to_string(),
        (None, None) => "ok".to_string(),
    }
}

/// Keeps the `n` largest items by `key`, sorted descending, without sorting everything.
pub fn top_by<T>(mut items: Vec<T>, n: usize, key: impl Fn(&T) -> f64) -> Vec<T> {
    let cmp = |a: &T, b: &T| key(b).total_cmp(&key(a));
    if items.len() > n && n > 0 {
        items.select_nth_unstable_by(n - 1, cmp);
        items.truncate(n);
    } else if n == 0 {
        items.clear();
    }
    items.sort_by(cmp);
    items
}

/// The one-line answer: the biggest hotspot and its share of the wall time, plus the most
/// avoidable cost when that is a different thing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub line: String,
    /// `critical_path`, `version_probes`, `fs_blocking`, `path_scan`, `network`, `none`.
    pub kind: String,
    pub subject: String,
    pub ms: f64,
    /// `wall` or `sys` (see the module docs).
    pub time_kind: String,
    /// `ms` as a fraction of the run's wall time (0..1).
    pub share: f64,
    /// The first of "what to change" (`hotspots.what_to_change`), if any: the change that
    /// would save the most critical-path wall.
    #[serde(default)]
    pub avoidable: Option<String>,
}

struct Candidate {
    kind: &'static str,
    subject: String,
    ms: f64,
    time_kind: &'static str,
    text: String,
}

impl Verdict {
    pub fn compute(
        report: &Report,
        ex: &exec::ExecAnalysis,
        advice: &advice::WhatToChange,
    ) -> Verdict {
        let wall = report.wall_ms;
        if !report.traced {
            return Verdict {
                line: format!(
                    "untraced run: {wall:.1} ms wall, no breakdown (ptrace was not available)"
                ),
                kind: "none".into(),
                time_kind: "wall".into(),
                ms: wall,
                share: 1.0,
                ..Verdict::default()
            };
        }
        let pct = |ms: f64| {
            if wall > 0.0 { 100.0 * ms / wall } else { 0.0 }
        };
        let mut big: Vec<Candidate> = Vec::new();
        if let Some(link) = ex.critical_by_process.first() {
            // The root's own stretches are its work between children, not a child's.
            let root = ex.critical_path.first().map(|l| l.pid) == Some(link.pid)
                && ex.critical_by_process.len() > 1;
            // "compile github.com/x/y", not "compile (pid 9570)": the package is what the
            // user can act on.
            let who = match &link.package {
                Some(p) => format!("{} {p}", link.tool),
                None => link.tool.clone(),
            };
            big.push(Candidate {
                kind: "critical_path",
                subject: format!("{who} (pid {})", link.pid),
                ms: link.ms,
                time_kind: "wall",
                text: format!(
                    "{}{} (pid {}) holds {:.0}% of the {} ms wall on the critical path ({:.1} ms)",
                    who,
                    if root { " itself" } else { "" },
                    link.pid,
                    pct(link.ms),
                    wall_text(wall),
                    link.ms
                ),
            });
        }
        // The change worth most, as "what to change" ranks it: by the critical-path time
        // it would save, not by summed call time.
        let avoid_text = advice.findings.first().map(|f| {
            format!(
                "most to gain: {} (≈{:.1} ms, {:.1}% of wall)",
                f.title,
                f.saves_ms,
                100.0 * f.share
            )
        });
        match big.into_iter().next() {
            Some(c) => Verdict {
                line: match &avoid_text {
                    Some(a) => format!("{}; {a}", c.text),
                    None => c.text.clone(),
                },
                kind: c.kind.into(),
                subject: c.subject,
                ms: c.ms,
                time_kind: c.time_kind.into(),
                share: if wall > 0.0 { c.ms / wall } else { 0.0 },
                avoidable: avoid_text,
            },
            None => Verdict {
                line: format!("{wall:.1} ms wall; no process recorded"),
                kind: "none".into(),
                time_kind: "wall".into(),
                ms: wall,
                share: 1.0,
                ..Verdict::default()
            },
        }
    }
}

/// A run's wall time in the verdict: whole milliseconds, but one decimal below 10 ms (a
/// 1.6 ms run is not "the 2 ms wall").
fn wall_text(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn verdict_wall_keeps_a_decimal_below_ten_ms() {
        assert_eq!(super::wall_text(1.6), "1.6");
        assert_eq!(super::wall_text(9.94), "9.9");
        assert_eq!(super::wall_text(344.1), "344");
    }

    use super::*;

    #[test]
    fn clean_path_matches_go_filepath_clean() {
        assert_eq!(clean_path("/usr//bin/", "/x"), "/usr/bin");
        assert_eq!(clean_path("", "/x/y"), "/x/y");
        assert_eq!(clean_path("rel/./d", "/x"), "/x/rel/d");
        assert_eq!(clean_path("/a/../../b", "/"), "/b");
        assert_eq!(clean_path("/", "/"), "/");
    }

    #[test]
    fn under_is_component_wise() {
        assert!(under("/usr/bin/gcc", "/usr"));
        assert!(under("/usr", "/usr"));
        assert!(!under("/usrx/bin", "/usr"));
        assert!(under("/anything", "/"));
        assert!(under("/tmp/a", "/tmp/"));
    }

    #[test]
    fn split_parent_handles_root() {
        assert_eq!(split_parent("/go.work"), Some(("/", "go.work")));
        assert_eq!(split_parent("/a/b/c"), Some(("/a/b", "c")));
        assert_eq!(split_parent("/a/"), None);
        assert_eq!(split_parent("rel"), None);
    }

    #[test]
    fn mountinfo_lines_parse_with_escapes() {
        let m = parse_mountinfo(
            "36 35 98:0 / /mnt/my\\040disk rw,noatime master:1 - nfs4 srv:/x rw\n\
             garbage line\n\
             1 0 0:1 / / rw - overlay overlay rw,lowerdir=/a\n",
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].mount_point, "/mnt/my disk");
        assert_eq!(m[0].fs_type, "nfs4");
        assert_eq!(fs_flag(&m[0].fs_type), Some("network"));
        assert_eq!(fs_flag(&m[1].fs_type), Some("overlay"));
        assert_eq!(fs_flag("fuse.foo"), Some("fuse"));
        assert_eq!(fs_flag("ext4"), None);
    }

    #[test]
    fn top_by_keeps_the_largest_sorted() {
        let v = vec![3.0, 9.0, 1.0, 7.0, 5.0];
        assert_eq!(top_by(v.clone(), 3, |x| *x), vec![9.0, 7.0, 5.0]);
        assert_eq!(top_by(v.clone(), 10, |x| *x).len(), 5);
        assert!(top_by(v, 0, |x| *x).is_empty());
    }
}
