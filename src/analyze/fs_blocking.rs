//! Filesystem blocking: where the run's filesystem calls spent their time, by category
//! (GOROOT, GOCACHE, GOMODCACHE, GOPATH, the module, PATH directories, temp, system,
//! /proc), by directory and by mount (network, FUSE and overlay filesystems flagged); the
//! slowest single calls; and stat storms (one path probed over and over).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use serde::{Deserialize, Serialize};

use super::{Ctx, FastMap, JSON_ROWS, Kind, Times, fs_flag, split_parent, sys_us, under};
use crate::model::{Report, Timing};

/// A path probed at least this often is a storm.
pub const STORM_MIN: u64 = 3;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FsBlocking {
    pub totals: Times,
    pub categories: Vec<CategoryRow>,
    pub directories: Vec<DirRow>,
    pub mounts: Vec<MountRow>,
    pub slowest: Vec<SlowCall>,
    pub stat_storms: Vec<Storm>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CategoryRow {
    /// `goroot`, `gocache`, `gomodcache`, `gopath`, `module`, `path`, `temp`, `proc`,
    /// `system`, `home`, `other`.
    pub category: String,
    /// The directory the category stands for (GOROOT's path, the module root...), when one.
    pub root: Option<String>,
    pub fs_type: Option<String>,
    pub flag: Option<String>,
    pub times: Times,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DirRow {
    pub dir: String,
    pub category: String,
    pub fs_type: Option<String>,
    pub flag: Option<String>,
    pub times: Times,
    /// The slowest single call in it, replayed/corrected microseconds.
    pub max_sys_us: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MountRow {
    pub mount_point: String,
    pub fs_type: String,
    pub flag: Option<String>,
    pub times: Times,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowCall {
    pub pid: i32,
    pub tid: i32,
    pub tool: String,
    pub name: String,
    pub path: String,
    pub result: String,
    pub t_ms: f64,
    pub sys_us: f64,
    pub traced_us: f64,
    pub timing: Timing,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Storm {
    pub path: String,
    pub category: String,
    pub times: Times,
    pub processes: u64,
    /// Calls by syscall, most first, e.g. `newfstatat 4000`.
    pub by_call: Vec<(String, u64)>,
}

/// Category roots of the run, longest first so the first match is the most specific.
pub struct Roots {
    roots: Vec<(String, &'static str)>,
}

impl Roots {
    pub fn new(report: &Report) -> Roots {
        let env = &report.env;
        let home = env.home.clone().filter(|h| h.starts_with('/'));
        let mut roots: Vec<(String, &'static str)> = Vec::new();
        let mut add = |p: Option<String>, cat: &'static str| {
            if let Some(p) = p.filter(|p| p.starts_with('/')) {
                roots.push((super::clean_path(&p, "/"), cat));
            }
        };
        add(goroot(report), "goroot");
        add(
            env.gocache
                .clone()
                .or_else(|| home.as_ref().map(|h| format!("{h}/.cache/go-build"))),
            "gocache",
        );
        let gopath = env
            .gopath
            .as_deref()
            .and_then(|g| g.split(':').find(|s| !s.is_empty()).map(String::from))
            .or_else(|| home.as_ref().map(|h| format!("{h}/go")));
        add(
            env.gomodcache
                .clone()
                .or_else(|| gopath.as_ref().map(|g| format!("{g}/pkg/mod"))),
            "gomodcache",
        );
        add(gopath, "gopath");
        add(Some(module_root(report)), "module");
        for dir in env.path.split(':').filter(|d| d.starts_with('/')) {
            add(Some(dir.to_string()), "path");
        }
        add(
            Some(env.tmpdir.clone().unwrap_or_else(|| "/tmp".into())),
            "temp",
        );
        add(Some("/var/tmp".into()), "temp");
        for d in ["/proc", "/sys", "/dev"] {
            add(Some(d.into()), "proc");
        }
        for d in [
            "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/bin", "/sbin", "/opt", "/var",
            "/run", "/snap", "/nix",
        ] {
            add(Some(d.into()), "system");
        }
        add(home, "home");
        roots.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        roots.dedup_by(|a, b| a.0 == b.0);
        Roots { roots }
    }

    /// The category of a path that is itself a category root (`/usr/local/go`), which its
    /// parent directory's category would get wrong. Compares lengths before bytes: this
    /// runs once per call.
    pub fn exact(&self, path: &str) -> Option<&'static str> {
        self.roots
            .iter()
            .find(|(root, _)| root.len() == path.len() && root == path)
            .map(|(_, cat)| *cat)
    }

    pub fn classify(&self, path: &str) -> &'static str {
        self.roots
            .iter()
            .find(|(root, _)| under(path, root))
            .map_or("other", |(_, cat)| cat)
    }

    /// The root a category stands for, when it is one directory.
    pub fn root_of(&self, cat: &str) -> Option<String> {
        let mut it = self.roots.iter().filter(|(_, c)| *c == cat);
        let first = it.next()?;
        match it.count() {
            0 => Some(first.0.clone()),
            n => Some(format!("{} dirs", n + 1)),
        }
    }
}

/// GOROOT of the run: the environment's, else where the go command and its tools live.
pub fn goroot(report: &Report) -> Option<String> {
    if let Some(g) = &report.env.goroot {
        return Some(g.clone());
    }
    report.processes.iter().find_map(|p| {
        if let Some((root, _)) = p.exe.split_once("/pkg/tool/") {
            return Some(root.to_string());
        }
        p.exe
            .strip_suffix("/bin/go")
            .filter(|r| !r.is_empty())
            .map(String::from)
    })
}

/// The module being built: the deepest directory at or above the run's cwd whose go.mod
/// was found, else the cwd.
pub fn module_root(report: &Report) -> String {
    let mut best: Option<&str> = None;
    for c in &report.calls {
        if c.failed() {
            continue;
        }
        let Some(dir) = c.path.as_deref().and_then(|p| p.strip_suffix("/go.mod")) else {
            continue;
        };
        let dir = if dir.is_empty() { "/" } else { dir };
        if under(&report.cwd, dir) && best.is_none_or(|b| dir.len() > b.len()) {
            best = Some(dir);
        }
    }
    best.map_or_else(|| report.cwd.clone(), String::from)
}

#[derive(Default)]
struct DirAgg {
    times: Times,
    max_sys_us: f64,
    category: &'static str,
}

/// Heap entry for the slowest calls: the smallest on top so it can be replaced.
struct Slow(f64, usize);
impl PartialEq for Slow {
    fn eq(&self, o: &Self) -> bool {
        self.0.total_cmp(&o.0).is_eq() && self.1 == o.1
    }
}
impl Eq for Slow {}
impl PartialOrd for Slow {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Slow {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0).then(o.1.cmp(&self.1))
    }
}

/// Per distinct path: lookups/reads of it, other calls on it (both counted to its
/// directory), and directory listings of it (counted to itself).
#[derive(Default, Clone)]
struct PathAgg {
    probe: Times,
    other: Times,
    listing: Times,
    max_us: f64,
    max_listing_us: f64,
}

pub fn compute(report: &Report, ctx: &Ctx) -> FsBlocking {
    let roots = Roots::new(report);
    let procs = &ctx.procs;
    let mut per_path: Vec<PathAgg> = vec![PathAgg::default(); ctx.paths.len()];
    let mut slow: BinaryHeap<Reverse<Slow>> = BinaryHeap::new();
    for (i, call) in report.calls.iter().enumerate() {
        let kind = ctx.kinds[i];
        // An execve is a filesystem call too (a PATH walk's failed execs are lookups, a
        // successful one reads the binary): it counts where its path lies.
        if kind == Kind::Connect {
            continue;
        }
        let Some(pid) = ctx.path_of(i) else {
            continue;
        };
        let agg = &mut per_path[pid];
        let us = sys_us(call);
        if kind == Kind::Getdents {
            agg.listing.add(call);
            agg.max_listing_us = agg.max_listing_us.max(us.unwrap_or(0.0));
        } else {
            if kind.is_probe() {
                agg.probe.add(call);
            } else {
                agg.other.add(call);
            }
            agg.max_us = agg.max_us.max(us.unwrap_or(0.0));
        }
        if let Some(us) = us
            && (slow.len() < JSON_ROWS || slow.peek().is_some_and(|Reverse(s)| us > s.0))
            && ctx.paths[pid].starts_with('/')
        {
            slow.push(Reverse(Slow(us, i)));
            if slow.len() > JSON_ROWS {
                slow.pop();
            }
        }
    }

    // Per path, in order of first use (so float sums are the same on every run).
    let mut totals = Times::default();
    let mut by_cat: FastMap<&'static str, Times> = FastMap::default();
    let mut by_dir: FastMap<&str, DirAgg> = FastMap::default();
    let mut dir_order: Vec<&str> = Vec::new();
    let mut storms: Vec<(&str, Times)> = Vec::new();
    // By the mount of each path itself: a stat of a mount point reaches the filesystem
    // mounted there, not the one holding its directory.
    let mut mounts: FastMap<&str, MountRow> = FastMap::default();
    for (id, agg) in per_path.iter().enumerate() {
        let path = ctx.paths[id];
        if !path.starts_with('/') {
            continue;
        }
        let mut file = agg.probe;
        file.merge(&agg.other);
        for (dir, times, max) in [
            (
                if path == "/" {
                    path
                } else {
                    split_parent(path).map_or(path, |(d, _)| d)
                },
                &file,
                agg.max_us,
            ),
            (path, &agg.listing, agg.max_listing_us),
        ] {
            if times.calls == 0 {
                continue;
            }
            totals.merge(times);
            let d = by_dir.entry(dir).or_insert_with(|| {
                dir_order.push(dir);
                DirAgg {
                    category: roots.classify(dir),
                    ..DirAgg::default()
                }
            });
            d.times.merge(times);
            d.max_sys_us = d.max_sys_us.max(max);
            let cat = roots.exact(path).unwrap_or(d.category);
            by_cat.entry(cat).or_default().merge(times);
            if let Some(m) = ctx.mount_of(path) {
                mounts
                    .entry(m.mount_point.as_str())
                    .or_insert_with(|| MountRow {
                        mount_point: m.mount_point.clone(),
                        fs_type: m.fs_type.clone(),
                        flag: fs_flag(&m.fs_type).map(String::from),
                        times: Times::default(),
                    })
                    .times
                    .merge(times);
            }
        }
        if agg.probe.calls >= STORM_MIN {
            storms.push((path, agg.probe));
        }
    }

    let mut categories: Vec<CategoryRow> = by_cat
        .into_iter()
        .map(|(cat, times)| {
            let root = roots.root_of(cat);
            let mount = root
                .as_deref()
                .filter(|r| r.starts_with('/'))
                .and_then(|r| ctx.mount_of(r));
            CategoryRow {
                category: cat.to_string(),
                root,
                fs_type: mount.map(|m| m.fs_type.clone()),
                flag: mount.and_then(|m| fs_flag(&m.fs_type)).map(String::from),
                times,
            }
        })
        .collect();
    categories.sort_by(|a, b| {
        b.times
            .sys_ms
            .total_cmp(&a.times.sys_ms)
            .then(b.times.calls.cmp(&a.times.calls))
            .then(a.category.cmp(&b.category))
    });

    let dirs: Vec<(&str, DirAgg)> = dir_order
        .iter()
        .filter_map(|d| by_dir.remove(d).map(|a| (*d, a)))
        .collect();
    let mut mounts: Vec<MountRow> = mounts.into_values().collect();
    // Flagged filesystems first: they are the finding; then by time.
    mounts.sort_by(|a, b| {
        b.flag
            .is_some()
            .cmp(&a.flag.is_some())
            .then(b.times.sys_ms.total_cmp(&a.times.sys_ms))
            .then(a.mount_point.cmp(&b.mount_point))
    });
    mounts.truncate(JSON_ROWS);

    let mut dirs = super::top_by(dirs, JSON_ROWS, |(_, a)| a.times.sys_ms);
    dirs.sort_by(|a, b| {
        b.1.times
            .sys_ms
            .total_cmp(&a.1.times.sys_ms)
            .then(a.0.cmp(b.0))
    });
    let directories = dirs
        .into_iter()
        .map(|(dir, agg)| {
            let mount = ctx.mount_of(dir);
            DirRow {
                dir: dir.to_string(),
                category: agg.category.to_string(),
                fs_type: mount.map(|m| m.fs_type.clone()),
                flag: mount.and_then(|m| fs_flag(&m.fs_type)).map(String::from),
                times: agg.times,
                max_sys_us: agg.max_sys_us,
            }
        })
        .collect();

    let mut slowest: Vec<Slow> = slow.into_iter().map(|Reverse(s)| s).collect();
    slowest.sort_by(|a, b| b.cmp(a));
    let slowest = slowest
        .into_iter()
        .map(|Slow(us, i)| {
            let c = &report.calls[i];
            SlowCall {
                pid: c.pid,
                tid: c.tid,
                tool: procs
                    .at(c.pid, c.t_ms)
                    .map(|p| procs.get(p).tool.clone())
                    .unwrap_or_default(),
                name: c.name.to_string(),
                path: c.path.as_deref().unwrap_or_default().to_string(),
                result: super::result_text(c),
                t_ms: c.t_ms,
                sys_us: us,
                traced_us: c.dur_us_inclusive,
                timing: c.timing,
            }
        })
        .collect();

    let mut storm_list = super::top_by(storms, JSON_ROWS, |(_, t)| t.calls as f64);
    storm_list.sort_by(|a, b| {
        b.1.calls
            .cmp(&a.1.calls)
            .then(b.1.sys_ms.total_cmp(&a.1.sys_ms))
            .then(a.0.cmp(b.0))
    });
    // Second pass, over the few storm paths only: who made the calls and which calls.
    let storm_ids: FastMap<&str, usize> = storm_list
        .iter()
        .enumerate()
        .map(|(i, (p, _))| (*p, i))
        .collect();
    // Path id → storm row, so the second pass needs no hashing.
    let mut wanted: Vec<u32> = vec![u32::MAX; ctx.paths.len()];
    for (id, p) in ctx.paths.iter().enumerate() {
        if let Some(&row) = storm_ids.get(p) {
            wanted[id] = row as u32;
        }
    }
    let mut pids: Vec<HashSet<i32>> = vec![HashSet::new(); storm_list.len()];
    let mut kinds: Vec<FastMap<&str, u64>> = vec![FastMap::default(); storm_list.len()];
    if !storm_ids.is_empty() {
        for (ci, &kind) in ctx.kinds.iter().enumerate() {
            if !kind.is_probe() {
                continue;
            }
            if let Some(i) = ctx
                .path_of(ci)
                .map(|p| wanted[p])
                .filter(|&w| w != u32::MAX)
                .map(|w| w as usize)
            {
                let call = &report.calls[ci];
                pids[i].insert(call.pid);
                *kinds[i].entry(call.name.as_str()).or_default() += 1;
            }
        }
    }
    let stat_storms = storm_list
        .into_iter()
        .enumerate()
        .map(|(i, (path, times))| {
            let mut by_call: Vec<(String, u64)> =
                kinds[i].iter().map(|(k, v)| (k.to_string(), *v)).collect();
            by_call.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            Storm {
                path: path.to_string(),
                category: roots.classify(path).to_string(),
                times,
                processes: pids[i].len() as u64,
                by_call,
            }
        })
        .collect();

    FsBlocking {
        totals,
        categories,
        directories,
        mounts,
        slowest,
        stat_storms,
    }
}
