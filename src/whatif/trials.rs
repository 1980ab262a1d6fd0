//! The trials of `golat whatif`: which changes a traced run suggests, and how each is applied
//! to the command without touching the user's files or settings (environment variables,
//! an argument, private copies in a temporary directory; never `go env -w`).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::analyze::advice::WhatToChange;
use crate::analyze::habits::Habits;
use crate::fsinfo::{FsClass, MountTable};
use crate::gosrc::goargs;
use crate::model::Report;

/// One change to measure against the baseline.
#[derive(Debug, Default)]
pub struct Trial {
    /// `clean_path`, `buildvcs_off`, `gowork_off`, `telemetry_off`, `vet_off`,
    /// `toolchain_local`, `local_gocache`, `local_gomodcache`, `clean_env`, `try:…`.
    pub id: String,
    /// The change as a user would make it, e.g. `GOFLAGS='-mod=mod -buildvcs=false'`.
    pub change: String,
    /// How whatif applied it for these runs.
    pub how: String,
    /// What else the change changes, when it is not only faster (`vet_off`, ...).
    pub caveat: Option<String>,
    /// Environment variables set for the command.
    pub set: Vec<(OsString, OsString)>,
    pub unset: Vec<OsString>,
    /// The command's argv, when the change is an argument.
    pub argv: Option<Vec<OsString>>,
    /// What the trial's runs are paired with, when not the command as given: `--slow`
    /// trials run under `golat profile`, so their baseline does too.
    pub baseline_argv: Option<Vec<OsString>>,
    /// Private copies the trial runs with, removed when whatif ends.
    pub scratch: Vec<Scratch>,
}

/// The ids of the trials whatif can propose (`--only` takes these).
pub const KNOWN_IDS: &[&str] = &[
    "clean_path",
    "buildvcs_off",
    "gowork_off",
    "telemetry_off",
    "vet_off",
    "toolchain_local",
    "local_gocache",
    "local_gomodcache",
    "clean_env",
];

/// A trial golat could have made but did not, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub id: String,
    pub reason: String,
}

/// A temporary directory whatif made; removed on drop, read-only module directories too.
#[derive(Debug)]
pub struct Scratch(Option<tempfile::TempDir>);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            // The module cache's directories are read-only (0555): make them writable so
            // they can go.
            make_writable(dir.path());
            let _ = dir.close();
        }
    }
}

fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            make_writable(&entry.path());
        }
    }
}

/// What the trials are made from.
pub struct Inputs<'a> {
    pub report: &'a Report,
    pub command: &'a [OsString],
    /// The environment whatif was started with (what the baseline runs get).
    pub env: &'a BTreeMap<OsString, OsString>,
    pub mounts: &'a MountTable,
    /// The go command's GOFLAGS from its go env file (`go env -w`), which a GOFLAGS
    /// variable would replace: a trial adds to it, it does not drop it.
    pub goflags_file: Option<String>,
    /// Caches above this many bytes are not copied for a trial.
    pub copy_limit: u64,
    /// `--try` values, as given.
    pub tries: &'a [String],
    /// `--slow` values, as given and resolved.
    pub slow: &'a [(String, crate::tracer::SlowDir)],
    /// This golat, which runs the `--slow` trials and their baselines.
    pub golat: &'a std::path::Path,
}

/// The trials the traced run suggests, and those it suggested but whatif cannot apply.
pub fn plan(inp: &Inputs) -> (Vec<Trial>, Vec<Skipped>) {
    let mut trials = Vec::new();
    let mut skipped = Vec::new();
    let findings: WhatToChange = inp
        .report
        .hotspots
        .get("what_to_change")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let habits: Habits = inp
        .report
        .hotspots
        .get("habits")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let habit = |key: &str| habits.items.iter().any(|h| h.key == key && h.count > 0);
    let finding_env = |key: &str, var: &str| {
        findings
            .findings
            .iter()
            .chain(findings.largest_not_listed.iter())
            .find(|f| f.key == key)
            .and_then(|f| f.env.get(var).cloned())
    };
    let var = |name: &str| inp.env.get(OsStr::new(name)).cloned();
    let is_go = goargs::subcommand(inp.command).is_some();

    if let Some(path) = finding_env("path_entries", "PATH")
        && var("PATH").as_deref() != Some(OsStr::new(&path))
    {
        trials.push(Trial {
            id: "clean_path".into(),
            change: format!("PATH='{path}'"),
            how: "PATH set for the command".into(),
            set: vec![("PATH".into(), path.into())],
            ..Trial::default()
        });
    }

    let goflags = var("GOFLAGS")
        .filter(|v| !v.is_empty())
        .map(|v| v.to_string_lossy().into_owned())
        .or_else(|| inp.goflags_file.clone())
        .unwrap_or_default();
    if is_go && vcs_processes(inp.report) > 0 {
        if goflags
            .split_whitespace()
            .any(|f| f.starts_with("-buildvcs"))
        {
            skipped.push(Skipped {
                id: "buildvcs_off".into(),
                reason: format!("GOFLAGS already sets -buildvcs ({goflags})"),
            });
        } else {
            let value = join_flags(&goflags, "-buildvcs=false");
            trials.push(Trial {
                id: "buildvcs_off".into(),
                change: format!("GOFLAGS='{value}'"),
                how: if goflags.is_empty() {
                    "GOFLAGS set for the command".into()
                } else {
                    format!(
                        "GOFLAGS set for the command: the user's ({goflags}) plus -buildvcs=false"
                    )
                },
                caveat: Some("the binaries carry no vcs.* build settings".into()),
                set: vec![("GOFLAGS".into(), value.into())],
                ..Trial::default()
            });
        }
    }

    if is_go && habit("go_work_walk") && var("GOWORK").is_none_or(|v| v.is_empty()) {
        trials.push(Trial {
            id: "gowork_off".into(),
            change: "GOWORK=off".into(),
            how: "GOWORK set for the command".into(),
            set: vec![("GOWORK".into(), "off".into())],
            ..Trial::default()
        });
    }

    if is_go && habit("telemetry_mode") {
        match private_config_without_telemetry(inp.env) {
            Ok((trial, dir)) => trials.push(Trial {
                scratch: vec![dir],
                ..trial
            }),
            Err(reason) => skipped.push(Skipped {
                id: "telemetry_off".into(),
                reason,
            }),
        }
    }

    if goargs::subcommand(inp.command) == Some("test")
        && inp.report.processes.iter().any(|p| p.tool == "vet")
        && !inp
            .command
            .iter()
            .any(|a| a.as_bytes().starts_with(b"-vet=") || a.as_bytes().starts_with(b"--vet="))
        && let Some(at) = goargs::subcommand_index(inp.command)
    {
        let mut argv = inp.command.to_vec();
        argv.insert(at + 1, "-vet=off".into());
        trials.push(Trial {
            id: "vet_off".into(),
            change: "go test -vet=off".into(),
            how: "-vet=off added after `test`".into(),
            caveat: Some("changes what is checked: go vet does not run before the tests".into()),
            argv: Some(argv),
            ..Trial::default()
        });
    }

    if is_go
        && inp
            .report
            .processes
            .iter()
            .any(|p| p.tool == "go" && p.exe.contains("/golang.org/toolchain@"))
        && var("GOTOOLCHAIN").is_none_or(|v| v != "local")
    {
        trials.push(Trial {
            id: "toolchain_local".into(),
            change: "GOTOOLCHAIN=local".into(),
            how: "GOTOOLCHAIN set for the command".into(),
            caveat: Some(
                "builds with the go on PATH, not the release go.mod or GOTOOLCHAIN asked for \
                 (go may refuse a go.mod that needs a newer one)"
                    .into(),
            ),
            set: vec![("GOTOOLCHAIN".into(), "local".into())],
            ..Trial::default()
        });
    }

    for (id, var_name, dir) in [
        (
            "local_gocache",
            "GOCACHE",
            inp.report.env.gocache.as_deref(),
        ),
        (
            "local_gomodcache",
            "GOMODCACHE",
            inp.report.env.gomodcache.as_deref(),
        ),
    ] {
        let Some(dir) = dir.filter(|d| d.starts_with('/')) else {
            continue;
        };
        let Some(mount) = inp.mounts.lookup(Path::new(dir)) else {
            continue;
        };
        if mount.class() == FsClass::Local {
            continue;
        }
        match local_copy(Path::new(dir), inp.copy_limit, inp.mounts) {
            Ok((copy, scratch, took, bytes)) => trials.push(Trial {
                id: id.into(),
                change: format!("{var_name} on a local disk"),
                how: format!(
                    "{var_name}={} (a private copy of {dir}, {:.1} MB copied in {:.1} s before the runs)",
                    copy.display(),
                    bytes as f64 / 1e6,
                    took.as_secs_f64()
                ),
                caveat: Some(format!(
                    "{dir} is on {} ({}); the copy's disk is what a move would give",
                    mount.mount_point, mount.fs_type
                )),
                set: vec![(var_name.into(), copy.into_os_string())],
                scratch: vec![scratch],
                ..Trial::default()
            }),
            Err(reason) => skipped.push(Skipped {
                id: id.into(),
                reason: format!("{var_name} {dir} on {} ({}): {reason}", mount.mount_point, mount.fs_type),
            }),
        }
    }

    let polluting: Vec<&str> = ["GOROOT", "GOPATH", "GOFLAGS", "GOBIN", "GOEXPERIMENT"]
        .into_iter()
        .filter(|v| var(v).is_some_and(|x| !x.is_empty()))
        .collect();
    if is_go && !polluting.is_empty() {
        trials.push(Trial {
            id: "clean_env".into(),
            change: format!("unset {}", polluting.join(" ")),
            how: "those variables removed from the command's environment".into(),
            caveat: Some(format!(
                "drops {}: the go command uses its defaults (and the go env file) instead",
                polluting
                    .iter()
                    .map(|v| format!("{v}={}", var(v).unwrap_or_default().to_string_lossy()))
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
            unset: polluting.iter().map(OsString::from).collect(),
            ..Trial::default()
        });
    }

    for t in inp.tries {
        match parse_try(t) {
            Ok(set) => trials.push(Trial {
                id: format!("try:{}", t.trim()),
                change: t.trim().to_string(),
                how: "set for the command (--try)".into(),
                set,
                ..Trial::default()
            }),
            Err(e) => skipped.push(Skipped {
                id: format!("try:{t}"),
                reason: e,
            }),
        }
    }
    for (spec, dir) in inp.slow {
        let traced = |slow: Option<&str>| {
            let mut argv: Vec<OsString> = vec![
                inp.golat.into(),
                "profile".into(),
                "-q".into(),
                "--stall".into(),
                "0".into(),
            ];
            if let Some(spec) = slow {
                argv.extend(["--slow".into(), spec.into()]);
            }
            argv.push("--".into());
            argv.extend(inp.command.iter().cloned());
            argv
        };
        let name = spec.rsplit_once('=').map_or(spec.as_str(), |(d, _)| d);
        let shown = String::from_utf8_lossy(&dir.dir).into_owned();
        trials.push(Trial {
            id: format!("slow:{name}"),
            change: format!(
                "{}+{} ms per lookup",
                if name == shown {
                    format!("{shown} ")
                } else {
                    format!("{name} ({shown}) ")
                },
                dir.delay_ns as f64 / 1e6
            ),
            how: format!(
                "golat profile --slow {spec}: every traced call under {shown} held {} ms per \
                 path component below it, other threads running meanwhile",
                dir.delay_ns as f64 / 1e6
            ),
            caveat: Some(
                "traced runs: both sides run under golat profile (its tracing cost is in both \
                 and cancels in the saving, not in the medians)"
                    .into(),
            ),
            argv: Some(traced(Some(spec))),
            baseline_argv: Some(traced(None)),
            ..Trial::default()
        });
    }
    for t in trials.iter_mut().filter(|t| t.baseline_argv.is_none()) {
        if let Err(why) = private_outputs(t, inp.command, inp.env) {
            t.how.push_str(&format!(
                "; its binaries go where the command's go ({why}), so runs may relink"
            ));
        }
    }
    (trials, skipped)
}

/// Sends the binaries a trial's `go build`, `go install` or `go test -c` writes to a
/// private directory. A trial that changes a link's inputs (buildvcs_off, a GOFLAGS of
/// --try, clean_env) and the command as given would otherwise overwrite one binary in
/// turn, and go relinks whenever the binary it finds is not the one it would build: each
/// run would pay a link the user never pays once they adopt the change. With its own
/// output each side finds its own binary up to date, as it would day to day.
fn private_outputs(
    t: &mut Trial,
    command: &[OsString],
    env: &BTreeMap<OsString, OsString>,
) -> Result<(), String> {
    let Some(at) = goargs::subcommand_index(command) else {
        return Ok(());
    };
    let argv = t.argv.clone().unwrap_or_else(|| command.to_vec());
    let sub = argv[at].to_string_lossy().into_owned();
    // Go flags end at `--` (build has no program arguments; test's `-args` ends them too).
    let flags_end = argv[at + 1..]
        .iter()
        .position(|a| a == "--" || a == "-args" || a == "--args")
        .map_or(argv.len(), |p| at + 1 + p);
    let is_flag = |a: &OsString, name: &str| {
        let b = a.as_bytes();
        let b = b
            .strip_prefix(b"-")
            .map(|r| r.strip_prefix(b"-").unwrap_or(r));
        b == Some(name.as_bytes())
    };
    let writes = match sub.as_str() {
        "build" => true,
        "test" => argv[at + 1..flags_end]
            .iter()
            .any(|a| is_flag(a, "c") || a == "-c=true" || a == "--c=true"),
        "install" => {
            // go refuses GOBIN for cross-compiled installs.
            if ["GOOS", "GOARCH"]
                .iter()
                .any(|v| env.contains_key(OsStr::new(v)))
            {
                return Err("GOOS or GOARCH is set, and go install ignores GOBIN then".into());
            }
            if t.set.iter().any(|(k, _)| k == "GOBIN") {
                return Ok(());
            }
            let dir = tempfile::Builder::new()
                .prefix("golat-whatif-out-")
                .tempdir()
                .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
            t.set.push(("GOBIN".into(), dir.path().into()));
            t.how
                .push_str("; GOBIN set to a private directory, so each side finds its own binaries up to date");
            t.scratch.push(Scratch(Some(dir)));
            return Ok(());
        }
        _ => false,
    };
    if !writes {
        return Ok(());
    }
    let dir = tempfile::Builder::new()
        .prefix("golat-whatif-out-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let private = |given: &OsStr| -> OsString {
        let as_dir = given.as_bytes().ends_with(b"/") || Path::new(given).is_dir();
        match Path::new(given).file_name().filter(|_| !as_dir) {
            Some(name) => dir.path().join(name).into(),
            None => {
                let mut d = dir.path().as_os_str().to_owned();
                d.push("/");
                d
            }
        }
    };
    let mut new = argv.clone();
    let mut found = false;
    let mut i = at + 1;
    while i < flags_end {
        let a = new[i].as_bytes().to_vec();
        if (a == b"-o" || a == b"--o") && i + 1 < flags_end {
            new[i + 1] = private(&new[i + 1]);
            found = true;
            i += 2;
            continue;
        }
        if let Some(v) = a.strip_prefix(b"-o=").or_else(|| a.strip_prefix(b"--o=")) {
            let mut flag = OsString::from("-o=");
            flag.push(private(OsStr::from_bytes(v)));
            new[i] = flag;
            found = true;
        }
        i += 1;
    }
    if !found {
        let mut d = dir.path().as_os_str().to_owned();
        d.push("/");
        new.insert(at + 1, d);
        new.insert(at + 1, "-o".into());
    }
    t.argv = Some(new);
    t.how.push_str(
        "; its binaries written to a private directory (-o), so each side finds its own up to date",
    );
    t.scratch.push(Scratch(Some(dir)));
    Ok(())
}

/// VCS processes the go command started itself, for stamping.
fn vcs_processes(report: &Report) -> usize {
    const VCS_TOOLS: &[&str] = &["git", "hg", "svn", "bzr", "fossil"];
    report
        .processes
        .iter()
        .filter(|p| {
            VCS_TOOLS.contains(&p.tool.as_str())
                && report
                    .processes
                    .iter()
                    .any(|q| q.pid == p.ppid && q.tool == "go")
        })
        .count()
}

fn join_flags(existing: &str, flag: &str) -> String {
    if existing.trim().is_empty() {
        flag.to_string()
    } else {
        format!("{} {flag}", existing.trim())
    }
}

/// `--try 'A=1 B=2'`: the assignments, split at whitespace.
pub fn parse_try(text: &str) -> Result<Vec<(OsString, OsString)>, String> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let Some((name, value)) = word.split_once('=') else {
            return Err(format!("`{word}` is not NAME=VALUE"));
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`{name}` is not a variable name"));
        }
        out.push((name.into(), value.into()));
    }
    if out.is_empty() {
        return Err("nothing to set: give NAME=VALUE".into());
    }
    Ok(out)
}

/// A private XDG_CONFIG_HOME whose `go/telemetry/mode` says `off`: every other entry of
/// the user's config directory (git's, the go env file) is a symlink to the real one, so
/// only the telemetry mode differs.
fn private_config_without_telemetry(
    env: &BTreeMap<OsString, OsString>,
) -> Result<(Trial, Scratch), String> {
    let config = match env
        .get(OsStr::new("XDG_CONFIG_HOME"))
        .filter(|v| !v.is_empty())
    {
        Some(dir) => PathBuf::from(dir),
        None => match env.get(OsStr::new("HOME")).filter(|v| !v.is_empty()) {
            Some(home) => Path::new(home).join(".config"),
            None => return Err("neither XDG_CONFIG_HOME nor HOME is set".into()),
        },
    };
    let dir = tempfile::Builder::new()
        .prefix("golat-whatif-config-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let link_all_but = |from: &Path, to: &Path, except: &str| -> Result<(), String> {
        std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
        if let Ok(entries) = std::fs::read_dir(from) {
            for e in entries.flatten() {
                if e.file_name() != except {
                    std::os::unix::fs::symlink(e.path(), to.join(e.file_name()))
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    };
    let root = dir.path();
    link_all_but(&config, root, "go")?;
    link_all_but(&config.join("go"), &root.join("go"), "telemetry")?;
    std::fs::create_dir_all(root.join("go/telemetry")).map_err(|e| e.to_string())?;
    std::fs::write(root.join("go/telemetry/mode"), "off").map_err(|e| e.to_string())?;
    let trial = Trial {
        id: "telemetry_off".into(),
        change: "go telemetry off".into(),
        how: format!(
            "XDG_CONFIG_HOME={} (links to {}, with go/telemetry/mode off)",
            root.display(),
            config.display()
        ),
        set: vec![("XDG_CONFIG_HOME".into(), root.as_os_str().to_owned())],
        ..Trial::default()
    };
    Ok((trial, Scratch(Some(dir))))
}

/// Copies a cache to a temporary directory on a local filesystem, copy-on-write where the
/// filesystem can (`cp --reflink=auto`), when it is at most `limit` bytes.
fn local_copy(
    dir: &Path,
    limit: u64,
    mounts: &MountTable,
) -> Result<(PathBuf, Scratch, Duration, u64), String> {
    let tmp = std::env::temp_dir();
    if mounts
        .lookup(&tmp)
        .is_some_and(|m| m.class() != FsClass::Local)
    {
        return Err(format!(
            "the temporary directory {} is not on a local disk either",
            tmp.display()
        ));
    }
    // Bounded in time as well as size: a cache on a mount that hangs must not hold whatif.
    let owned = dir.to_path_buf();
    let size =
        crate::fsinfo::with_timeout(Duration::from_secs(30), move || tree_size(&owned, limit))
            .map_err(|_| "measuring its size took over 30 s".to_string())?;
    let Some(bytes) = size else {
        return Err(format!(
            "over --copy-limit ({:.0} MB); give a larger --copy-limit to measure it",
            limit as f64 / 1e6
        ));
    };
    let scratch = tempfile::Builder::new()
        .prefix("golat-whatif-cache-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let copy = scratch.path().join("cache");
    let start = Instant::now();
    let status = std::process::Command::new("cp")
        .args(["-a", "--reflink=auto"])
        .arg(dir)
        .arg(&copy)
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run cp: {e}"))?;
    let took = start.elapsed();
    let scratch = Scratch(Some(scratch));
    if !status.success() {
        return Err(format!("cp -a failed ({status})"));
    }
    Ok((copy, scratch, took, bytes))
}

/// Bytes under `dir`, or `None` as soon as they pass `limit`.
fn tree_size(dir: &Path, limit: u64) -> Option<u64> {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                total += meta.len();
                if total > limit {
                    return None;
                }
            }
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn redirected(command: &[&str], env: &[(&str, &str)]) -> Trial {
        let mut t = Trial::default();
        let env: BTreeMap<OsString, OsString> =
            env.iter().map(|(k, v)| (k.into(), v.into())).collect();
        private_outputs(&mut t, &os(command), &env).unwrap();
        t
    }

    fn private_dir(t: &Trial) -> String {
        let Scratch(Some(d)) = &t.scratch[0] else {
            panic!("no private directory");
        };
        d.path().display().to_string()
    }

    #[test]
    fn a_trials_binaries_go_to_its_own_directory() {
        let t = redirected(&["go", "build", "-o", "/tmp/x/app", "."], &[]);
        let d = private_dir(&t);
        assert_eq!(
            t.argv.unwrap(),
            os(&["go", "build", "-o", &format!("{d}/app"), "."])
        );

        let t = redirected(&["go", "-C", "sub", "build", "-o=bin/", "./..."], &[]);
        let d = private_dir(&t);
        assert_eq!(
            t.argv.unwrap(),
            os(&["go", "-C", "sub", "build", &format!("-o={d}/"), "./..."])
        );

        let t = redirected(&["go", "build", "./cmd/app"], &[]);
        let d = private_dir(&t);
        assert_eq!(
            t.argv.unwrap(),
            os(&["go", "build", "-o", &format!("{d}/"), "./cmd/app"])
        );

        let t = redirected(&["go", "test", "-c", "./pkg"], &[]);
        assert!(t.argv.unwrap().iter().any(|a| a == "-o"));

        let t = redirected(&["go", "install", "./cmd/app"], &[]);
        assert!(t.argv.is_none());
        assert_eq!(t.set[0].0, "GOBIN");
        assert_eq!(t.set[0].1, OsString::from(private_dir(&t)));
    }

    #[test]
    fn commands_that_write_no_binary_are_left_alone() {
        for cmd in [
            &["go", "test", "./..."][..],
            &["go", "vet", "./..."],
            &["go", "run", "."],
            &["make"],
        ] {
            let t = redirected(cmd, &[]);
            assert!(t.argv.is_none() && t.set.is_empty(), "{cmd:?}");
        }
        // A -o after `--` or among a test binary's arguments is not go's.
        let t = redirected(&["go", "test", "./pkg", "-args", "-o", "x"], &[]);
        assert!(t.argv.is_none());
        // go install ignores GOBIN for a cross-compile: say so instead.
        let mut t = Trial::default();
        let env = BTreeMap::from([(OsString::from("GOOS"), OsString::from("windows"))]);
        assert!(private_outputs(&mut t, &os(&["go", "install", "."]), &env).is_err());
    }

    #[test]
    fn try_takes_several_assignments_and_refuses_what_is_not_one() {
        let set = parse_try("GOMAXPROCS=1  GOFLAGS=-p=1").unwrap();
        assert_eq!(
            set,
            vec![
                ("GOMAXPROCS".into(), "1".into()),
                ("GOFLAGS".into(), "-p=1".into())
            ]
        );
        assert!(parse_try("GOMAXPROCS").is_err());
        assert!(parse_try("A-B=1").is_err());
        assert!(parse_try("  ").is_err());
    }

    #[test]
    fn buildvcs_is_added_to_the_users_goflags() {
        assert_eq!(join_flags("", "-buildvcs=false"), "-buildvcs=false");
        assert_eq!(
            join_flags(" -mod=mod ", "-buildvcs=false"),
            "-mod=mod -buildvcs=false"
        );
    }
}
