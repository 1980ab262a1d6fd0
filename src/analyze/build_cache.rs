//! Analysis `build_cache`: what the build compiled and what it took from the build cache,
//! per package: the go command's action graph (`-debug-actiongraph`) merged with the
//! compile, asm, cgo and C compiler processes golat traced, weighed by the critical path.
//!
//! [`merge`] runs once, on the live run, and its result is stored in the report as
//! `go["build_cache"]` (the part a saved report needs); [`compute`] ranks it into
//! `hotspots["build_cache"]` on a live run and on a saved report alike.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::exec::{ExecAnalysis, package_of};
use crate::gosrc::actiongraph::ActionGraph;
use crate::model::{Process, Report};

/// Version of the `go["build_cache"]` record.
pub const SCHEMA: &str = "golat.build_cache/1";

/// One package's build action, merged with the processes that rebuilt it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PackageBuild {
    /// The import path as the go command names the action (`example.com/x [example.com/x.test]`
    /// for a package recompiled for its test).
    pub package: String,
    /// Compiled in this run; false: taken from the build cache.
    pub rebuilt: bool,
    /// Wall time of the processes that rebuilt it (compile, asm, cgo, cc), summed, as they
    /// ran under the tracer, ms.
    pub compile_ms: f64,
    /// Those processes.
    pub pids: Vec<i32>,
    /// The go command marked the action failed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// The action ID: the hash of the inputs that keys the build cache.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub action_id: String,
    /// `$WORK/bNNN/` of the action.
    pub objdir: String,
    /// With `--explain`: the inputs the go command hashed into `action_id`
    /// (`GODEBUG=gocachehash=1`), in its order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<String>>,
    /// With `--explain`, for a rebuilt package: its most recently modified input file and
    /// how long before the run started it was modified, s (negative: during the run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_file: Option<NewestFile>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewestFile {
    pub path: String,
    pub age_s: f64,
}

/// What the build did with the cache, as stored in `report.go["build_cache"]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildCacheRecord {
    pub schema: String,
    /// The action graph file the go command wrote.
    pub file: String,
    /// The go command rewrote its graph after the build: `rebuilt` is final. False when it
    /// stopped early; then only the traced processes say what compiled.
    pub finished: bool,
    /// Every build action, in the graph's order.
    pub packages: Vec<PackageBuild>,
    /// GOCACHE was new and empty for this run (`golat profile --cold`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fresh_gocache: bool,
    /// Compile, asm, cgo and cc processes of the run no action claimed (another go command
    /// of the run, or a tool run by hand), listed by pid.
    pub unclaimed_pids: Vec<i32>,
}

/// The tools whose processes rebuild a package.
fn builds_packages(tool: &str) -> bool {
    matches!(tool, "compile" | "asm" | "cgo") || super::tools::is_c_tool(tool)
}

/// The work directory a build process writes into: compile and asm `-o $WORK/bNNN/x`,
/// cgo `-objdir $WORK/bNNN/`, a C compiler `-o $WORK/bNNN/_x001.o`.
fn work_dir_of(p: &Process) -> Option<String> {
    let mut args = p.argv.iter().skip(1);
    while let Some(a) = args.next() {
        let (flag, value) = match a.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let value = || value.clone().or_else(|| args.clone().next().cloned());
        match flag {
            "-objdir" => return value().map(|v| with_slash(&v)),
            "-o" => {
                let v = value()?;
                let dir = std::path::Path::new(&v).parent()?.to_str()?.to_string();
                return Some(with_slash(&dir));
            }
            _ => {}
        }
    }
    None
}

fn with_slash(dir: &str) -> String {
    if dir.ends_with('/') {
        dir.to_string()
    } else {
        format!("{dir}/")
    }
}

/// Merges the go command's action graph with the traced processes.
pub fn merge(report: &Report, graph: &ActionGraph, fresh_gocache: bool) -> BuildCacheRecord {
    let mut by_dir: HashMap<&str, usize> = HashMap::new();
    let mut packages: Vec<PackageBuild> = graph
        .builds
        .iter()
        .map(|b| PackageBuild {
            package: b.package.clone(),
            rebuilt: false,
            failed: b.failed,
            action_id: b.action_id.clone(),
            objdir: b.objdir.clone(),
            ..PackageBuild::default()
        })
        .collect();
    for (i, b) in graph.builds.iter().enumerate() {
        if !b.objdir.is_empty() {
            by_dir.insert(b.objdir.as_str(), i);
        }
    }
    let mut unclaimed = Vec::new();
    for p in &report.processes {
        if !builds_packages(&p.tool) || p.argv.iter().any(|a| a.starts_with("-V")) {
            continue;
        }
        let claimed = work_dir_of(p).and_then(|d| by_dir.get(d.as_str()).copied());
        match claimed {
            Some(i) => {
                let pkg = &mut packages[i];
                pkg.rebuilt = true;
                pkg.compile_ms += p.end_ms.map_or(0.0, |end| (end - p.start_ms).max(0.0));
                pkg.pids.push(p.pid);
            }
            // Only a package's own tool run counts as unclaimed; a C compiler golat could not
            // place is usually cgo's probe of the compiler.
            None if package_of(&p.tool, &p.argv).is_some() => unclaimed.push(p.pid),
            None => {}
        }
    }
    // A command the go command recorded for an action golat did not see run (untraced,
    // e.g. under another tracer): the action still ran.
    for (pkg, b) in packages.iter_mut().zip(&graph.builds) {
        if !pkg.rebuilt && b.cmds.iter().any(|c| !c.contains(" -V=full")) {
            pkg.rebuilt = true;
        }
    }
    BuildCacheRecord {
        schema: SCHEMA.into(),
        file: graph.file.clone(),
        finished: graph.finished,
        packages,
        fresh_gocache,
        unclaimed_pids: unclaimed,
    }
}

/// The ranked summary, as stored in `report.hotspots["build_cache"]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildCache {
    /// Build actions (packages, counting a package recompiled for a test again).
    pub packages: u64,
    pub rebuilt: u64,
    /// Taken from the build cache.
    pub cached: u64,
    pub failed: u64,
    /// Wall of the rebuilding processes, summed, ms (parallel compiles add up).
    pub compile_ms: f64,
    /// The part of the run's critical path those processes held, ms: what the rebuilds
    /// added to the wall.
    pub critical_ms: f64,
    /// Rebuilt packages, most critical-path time first, then most compile time (at most
    /// `JSON_ROWS`).
    pub top: Vec<RebuiltRow>,
    /// The go command's graph was rewritten after the build (`rebuilt` is final).
    pub finished: bool,
    /// Rebuilt packages of the standard library: a cache that was kept never rebuilds them,
    /// so they mean a new or emptied GOCACHE (or a flag such as `-a`, `-race`, `-trimpath`
    /// that changes every package's inputs).
    pub std_rebuilt: u64,
    /// GOCACHE was new and empty for this run (`--cold`).
    pub fresh_gocache: bool,
    /// With `--explain`: settings that differ from the defaults among the inputs of
    /// rebuilt packages ([`single_run_hints`]).
    pub hints: Vec<String>,
    /// The record has inputs (`--explain`).
    pub explained: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RebuiltRow {
    pub package: String,
    pub compile_ms: f64,
    pub critical_ms: f64,
    pub processes: u64,
}

/// Ranks `report.go["build_cache"]`; `None` when the run has none.
pub fn compute(report: &Report, exec: &ExecAnalysis) -> Option<BuildCache> {
    let record = BuildCacheRecord::deserialize(report.go.get("build_cache")?).ok()?;
    let index: HashMap<i32, usize> = report
        .processes
        .iter()
        .enumerate()
        .map(|(i, p)| (p.pid, i))
        .collect();
    let mut held = vec![0.0f64; report.processes.len()];
    for &(p, from, to) in &exec.stretches {
        if let Some(h) = held.get_mut(p) {
            *h += (to - from).max(0.0);
        }
    }
    let mut out = BuildCache {
        packages: record.packages.len() as u64,
        finished: record.finished,
        fresh_gocache: record.fresh_gocache,
        hints: single_run_hints(&record),
        explained: record.packages.iter().any(|p| p.inputs.is_some()),
        ..BuildCache::default()
    };
    for pkg in &record.packages {
        if pkg.failed {
            out.failed += 1;
        }
        if !pkg.rebuilt {
            out.cached += u64::from(!pkg.failed);
            continue;
        }
        out.rebuilt += 1;
        if is_std(&pkg.package) {
            out.std_rebuilt += 1;
        }
        out.compile_ms += pkg.compile_ms;
        let critical: f64 = pkg
            .pids
            .iter()
            .filter_map(|pid| index.get(pid))
            .map(|&i| held[i])
            .sum();
        out.critical_ms += critical;
        out.top.push(RebuiltRow {
            package: pkg.package.clone(),
            compile_ms: pkg.compile_ms,
            critical_ms: critical,
            processes: pkg.pids.len() as u64,
        });
    }
    out.top.sort_by(|a, b| {
        b.critical_ms
            .total_cmp(&a.critical_ms)
            .then(b.compile_ms.total_cmp(&a.compile_ms))
            .then_with(|| a.package.cmp(&b.package))
    });
    out.top.truncate(super::JSON_ROWS);
    Some(out)
}

/// Why a later build rebuilt what an earlier one took from the cache, one line per root
/// cause (`golat diff`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RebuildExplanation {
    /// Packages rebuilt in the later run that the earlier one took from the cache.
    pub packages: u64,
    /// Their compile wall in the later run, ms.
    pub compile_ms: f64,
    /// Root causes, most packages first.
    pub causes: Vec<CauseGroup>,
    /// Neither run captured inputs (`--explain`) for these packages, so the cause is not
    /// named.
    pub unexplained: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CauseGroup {
    /// "`-trimpath` added", "file leaf.go changed (example.com/leaf)", ...
    pub cause: String,
    /// Packages it rebuilt: its own and those that rebuilt only because they import one.
    pub packages: u64,
    pub compile_ms: f64,
    /// Up to five of them, the package the cause is in first.
    pub examples: Vec<String>,
}

/// Names, for each package `after` rebuilt and `before` took from the cache, the input
/// that changed, and follows a package rebuilt only because a dependency's build ID changed
/// to that dependency's own cause, so one root cause is one line.
pub fn explain_rebuilds(before: &BuildCacheRecord, after: &BuildCacheRecord) -> RebuildExplanation {
    use crate::gosrc::cachehash::differences;
    let earlier: HashMap<&str, &PackageBuild> = before
        .packages
        .iter()
        .map(|p| (p.package.as_str(), p))
        .collect();
    let candidates: HashMap<&str, (&PackageBuild, &PackageBuild)> = after
        .packages
        .iter()
        .filter(|p| p.rebuilt)
        .filter_map(|p| {
            let b = earlier.get(p.package.as_str())?;
            (!b.rebuilt).then_some((p.package.as_str(), (*b, p)))
        })
        .collect();
    // The root cause of each candidate (memoised; a cycle cannot happen in an import graph,
    // but a damaged report could, so a package being resolved counts as unexplained).
    fn root<'a>(
        pkg: &'a str,
        candidates: &HashMap<&'a str, (&'a PackageBuild, &'a PackageBuild)>,
        memo: &mut HashMap<&'a str, Option<(String, String)>>,
    ) -> Option<(String, String)> {
        if let Some(r) = memo.get(pkg) {
            return r.clone();
        }
        memo.insert(pkg, None);
        let (b, a) = candidates.get(pkg)?;
        let (Some(bi), Some(ai)) = (&b.inputs, &a.inputs) else {
            return None;
        };
        let causes = differences(bi, ai);
        // A package's own settings and files are its causes, all of them (a flag and a C
        // flag can change together). Its directory, import path and stamped build info
        // move with other changes (-trimpath drops the directory; a flag is stamped into
        // a main package's build info): they are its cause only when nothing else is,
        // neither its own setting nor a rebuilt dependency.
        let own: Vec<&crate::gosrc::cachehash::Cause> =
            causes.iter().filter(|c| c.dependency.is_none()).collect();
        let primary: Vec<String> = own
            .iter()
            .filter(|c| matches!(c.rank, 0..=2 | 5))
            .map(|c| {
                if c.rank == 5 {
                    format!("{} ({pkg})", c.text)
                } else {
                    c.text.clone()
                }
            })
            .collect();
        let mut via_dependency = || {
            causes
                .iter()
                .filter_map(|c| c.dependency.as_deref())
                .find_map(|dep| match candidates.get_key_value(dep) {
                    Some((k, _)) => root(k, candidates, memo),
                    None => Some((format!("dependency {dep} rebuilt"), dep.to_string())),
                })
        };
        let found = if !primary.is_empty() {
            Some((primary.join(" + "), pkg.to_string()))
        } else if let Some(r) = via_dependency() {
            Some(r)
        } else {
            own.first().map(|c| (c.text.clone(), pkg.to_string()))
        };
        memo.insert(pkg, found.clone());
        found
    }
    let mut memo = HashMap::new();
    let mut groups: HashMap<String, CauseGroup> = HashMap::new();
    let mut out = RebuildExplanation::default();
    let mut names: Vec<&str> = candidates.keys().copied().collect();
    names.sort_unstable();
    for pkg in names {
        let (_, a) = candidates[pkg];
        out.packages += 1;
        out.compile_ms += a.compile_ms;
        match root(pkg, &candidates, &mut memo) {
            Some((cause, origin)) => {
                let g = groups.entry(cause.clone()).or_insert_with(|| CauseGroup {
                    cause,
                    ..CauseGroup::default()
                });
                g.packages += 1;
                g.compile_ms += a.compile_ms;
                if pkg == origin {
                    g.examples.insert(0, pkg.to_string());
                } else {
                    g.examples.push(pkg.to_string());
                }
            }
            None => out.unexplained += 1,
        }
    }
    out.causes = groups.into_values().collect();
    for g in &mut out.causes {
        g.examples.truncate(5);
    }
    out.causes.sort_by(|x, y| {
        y.packages
            .cmp(&x.packages)
            .then(y.compile_ms.total_cmp(&x.compile_ms))
            .then_with(|| x.cause.cmp(&y.cause))
    });
    out
}

/// What one report's inputs say about its rebuilds without an earlier report to compare
/// with: settings that differ from the defaults in the inputs of rebuilt packages, each with
/// how many rebuilt packages carry it.
pub fn single_run_hints(record: &BuildCacheRecord) -> Vec<String> {
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    for pkg in record.packages.iter().filter(|p| p.rebuilt) {
        let Some(inputs) = &pkg.inputs else {
            continue;
        };
        let mut seen = std::collections::BTreeSet::new();
        for line in inputs {
            let hint = if line == "trimpath" {
                Some("-trimpath is on".to_string())
            } else if let Some(rest) = line.strip_prefix("compile ") {
                // `compile <tool id> [forced gcflags] [gcflags]`: flags set by hand are
                // the last group.
                bracket_groups(rest)
                    .last()
                    .filter(|f| !f.is_empty())
                    .map(|f| format!("-gcflags {f}"))
            } else if let Some(rest) = line.strip_prefix("CC=") {
                // `CC=[cc] [cppflags] [cflags] [ldflags]`: cmd/go's default CFLAGS are
                // "-O2 -g" (`cmd/go/internal/work.DefaultCFlags`).
                bracket_groups(rest)
                    .get(2)
                    .filter(|cflags| **cflags != "\"-O2\" \"-g\"")
                    .map(|cflags| format!("CGO_CFLAGS is [{cflags}] (default [\"-O2\" \"-g\"])"))
            } else if let Some(v) = line.strip_prefix("GOAMD64=") {
                (v != "v1").then(|| format!("GOAMD64={v} (default v1)"))
            } else if line.starts_with("cover ") {
                Some("-cover is on".to_string())
            } else {
                None
            };
            if let Some(h) = hint
                && seen.insert(h.clone())
            {
                *counts.entry(h).or_default() += 1;
            }
        }
    }
    let mut hints: Vec<(u64, String)> = counts.into_iter().map(|(h, n)| (n, h)).collect();
    hints.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut out: Vec<String> = hints
        .into_iter()
        .map(|(n, h)| format!("{h} in the inputs of {n} rebuilt package(s)"))
        .collect();
    // The freshest edits: a file changed since the last build rebuilds its package and
    // everything that imports it.
    let mut fresh: Vec<(&NewestFile, &str)> = record
        .packages
        .iter()
        .filter(|p| p.rebuilt)
        .filter_map(|p| Some((p.newest_file.as_ref()?, p.package.as_str())))
        .collect();
    fresh.sort_by(|a, b| a.0.age_s.total_cmp(&b.0.age_s));
    for (f, pkg) in fresh.into_iter().take(1) {
        let when = if f.age_s < 0.0 {
            "during the run".to_string()
        } else {
            format!("{} before the run", age(f.age_s))
        };
        out.push(format!(
            "{} ({pkg}) was modified {when}: the most recently modified input of a rebuilt package",
            f.path
        ));
    }
    out
}

fn age(s: f64) -> String {
    match s {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s if s < 172_800.0 => format!("{:.0} h", s / 3600.0),
        s => format!("{:.0} days", s / 86400.0),
    }
}

/// The contents of each `[...]` group of a Go `%q`-formatted string slice list
/// (`["gcc"] [] ["-O2" "-g"]` → `"gcc"`, ``, `"-O2" "-g"`).
fn bracket_groups(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']') else {
            break;
        };
        out.push(&rest[open + 1..open + close]);
        rest = &rest[open + close + 1..];
    }
    out
}

/// A standard-library import path: no dot in its first element (`fmt`, `net/http`), as
/// cmd/go decides (`search.IsStandardImportPath`); a package built for a test is not one.
fn is_std(package: &str) -> bool {
    let first = package.split('/').next().unwrap_or("");
    !package.contains(' ')
        && !first.contains('.')
        && first != "main"
        && first != "command-line-arguments"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: i32, tool: &str, argv: &[&str], wall: f64) -> Process {
        Process {
            pid,
            ppid: 1,
            tool: tool.into(),
            exe: format!("/go/pkg/tool/linux_amd64/{tool}"),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: "/m".into(),
            start_ms: 10.0,
            execs: Vec::new(),
            end_ms: Some(10.0 + wall),
            exit_code: Some(0),
            signal: None,
            threads: 1,
            path_env: None,
            godebug: None,
            stops: 0,
            tracing_ms: 0.0,
            startup: None,
        }
    }

    #[test]
    fn compiles_are_claimed_by_their_work_directory_and_the_rest_came_from_the_cache() {
        let graph = crate::gosrc::actiongraph::parse(
            r#"[
              {"Mode":"build","Package":"example.com/x","Objdir":"/w/b001/","ActionID":"a1"},
              {"Mode":"build","Package":"example.com/y","Objdir":"/w/b002/","ActionID":"a2"},
              {"Mode":"build","Package":"fmt","Objdir":"/w/b003/","ActionID":"a3"}
            ]"#,
        )
        .unwrap();
        let mut report = crate::model::empty_report_for_tests();
        report.processes = vec![
            process(
                2,
                "compile",
                &["compile", "-o", "/w/b001/_pkg_.a", "-p", "main"],
                30.0,
            ),
            process(
                3,
                "asm",
                &["asm", "-p", "example.com/y", "-o", "/w/b002/a.o"],
                2.0,
            ),
            process(
                4,
                "compile",
                &["compile", "-o=/w/b002/_pkg_.a", "-p", "example.com/y"],
                20.0,
            ),
            process(5, "compile", &["compile", "-V=full"], 1.0),
            process(
                6,
                "compile",
                &["compile", "-o", "/elsewhere/_pkg_.a", "-p", "z"],
                5.0,
            ),
        ];
        let rec = merge(&report, &graph, false);
        let got: Vec<(&str, bool, f64)> = rec
            .packages
            .iter()
            .map(|p| (p.package.as_str(), p.rebuilt, p.compile_ms))
            .collect();
        assert_eq!(
            got,
            [
                ("example.com/x", true, 30.0),
                ("example.com/y", true, 22.0),
                ("fmt", false, 0.0)
            ]
        );
        assert_eq!(rec.unclaimed_pids, [6]);

        report
            .go
            .insert("build_cache".into(), serde_json::to_value(&rec).unwrap());
        let exec = ExecAnalysis {
            // m/y's compile (index 2) held the path 15 ms, m/x's 5 ms.
            stretches: vec![(0, 10.0, 15.0), (2, 20.0, 35.0)],
            ..ExecAnalysis::default()
        };
        let bc = compute(&report, &exec).unwrap();
        assert_eq!(
            (bc.packages, bc.rebuilt, bc.cached, bc.std_rebuilt),
            (3, 2, 1, 0)
        );
        assert_eq!(bc.compile_ms, 52.0);
        assert_eq!(bc.critical_ms, 20.0);
        assert_eq!(bc.top[0].package, "example.com/y");
        assert_eq!(bc.top[0].critical_ms, 15.0);
    }

    fn pkg(name: &str, rebuilt: bool, inputs: &[&str]) -> PackageBuild {
        PackageBuild {
            package: name.into(),
            rebuilt,
            compile_ms: 10.0,
            inputs: Some(inputs.iter().map(|s| s.to_string()).collect()),
            ..PackageBuild::default()
        }
    }

    fn record(packages: Vec<PackageBuild>) -> BuildCacheRecord {
        BuildCacheRecord {
            packages,
            ..BuildCacheRecord::default()
        }
    }

    #[test]
    fn a_rebuild_through_imports_is_counted_under_the_root_cause() {
        let before = record(vec![
            pkg("ex.com/leaf", false, &["file a.go 1"]),
            pkg("ex.com/mid", false, &["import ex.com/leaf L1"]),
            pkg(
                "ex.com/top",
                false,
                &["import ex.com/mid M1", "import fmt F"],
            ),
            pkg("ex.com/other", false, &["GOAMD64=v1"]),
            pkg("ex.com/both", true, &["file b.go 1"]),
        ]);
        let after = record(vec![
            pkg("ex.com/leaf", true, &["file a.go 2"]),
            pkg("ex.com/mid", true, &["import ex.com/leaf L2"]),
            pkg(
                "ex.com/top",
                true,
                &["import ex.com/mid M2", "import fmt F"],
            ),
            pkg("ex.com/other", true, &["GOAMD64=v3"]),
            pkg("ex.com/both", true, &["file b.go 2"]),
        ]);
        let e = explain_rebuilds(&before, &after);
        assert_eq!((e.packages, e.unexplained), (4, 0));
        assert_eq!(e.compile_ms, 40.0);
        let got: Vec<(&str, u64, &[String])> = e
            .causes
            .iter()
            .map(|g| (g.cause.as_str(), g.packages, g.examples.as_slice()))
            .collect();
        assert_eq!(got[0].0, "file a.go changed (ex.com/leaf)");
        assert_eq!(got[0].1, 3);
        assert_eq!(got[0].2[0], "ex.com/leaf");
        assert_eq!((got[1].0, got[1].1), ("GOAMD64 changed", 1));
        // A package rebuilt in both runs is not "taken from the cache before".
        assert!(
            !e.causes
                .iter()
                .any(|g| g.examples.iter().any(|p| p == "ex.com/both"))
        );

        // One side without inputs: counted, not guessed.
        let mut bare = after.clone();
        for p in &mut bare.packages {
            p.inputs = None;
        }
        let e = explain_rebuilds(&before, &bare);
        assert_eq!((e.packages, e.unexplained, e.causes.len()), (4, 4, 0));
    }
}
