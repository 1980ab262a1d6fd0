//! The GO0xx checks of the research catalogue, judged from `Facts`; each one reports ok, info,
//! warn, error or skip with Go's own error text where the go command has one.

use std::path::{Path, PathBuf};

use super::facts::{self, Facts, dir_state, guarded};
use super::network;
use super::{Check, Status};
use crate::gosrc::goenv::{self, FlagReach, GorootHow, Source, SwitchMode};

struct Out(Vec<Check>);

impl Out {
    fn push(
        &mut self,
        id: &'static str,
        section: &'static str,
        status: Status,
        message: impl Into<String>,
        fix: Option<String>,
    ) {
        self.0.push(Check {
            id,
            section,
            status,
            message: message.into(),
            fix,
        });
    }
    fn ok(&mut self, id: &'static str, section: &'static str, message: impl Into<String>) {
        self.push(id, section, Status::Ok, message, None);
    }
    fn info(
        &mut self,
        id: &'static str,
        section: &'static str,
        message: impl Into<String>,
        fix: Option<&str>,
    ) {
        self.push(id, section, Status::Info, message, fix.map(String::from));
    }
    fn warn(
        &mut self,
        id: &'static str,
        section: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(id, section, Status::Warn, message, Some(fix.into()));
    }
    fn error(
        &mut self,
        id: &'static str,
        section: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(id, section, Status::Error, message, Some(fix.into()));
    }
    fn skip(&mut self, id: &'static str, section: &'static str, message: impl Into<String>) {
        self.push(id, section, Status::Skip, message, None);
    }
}

/// All checks; `network` adds the `--network` probes (GO046–GO049's host lookups), which are
/// the only ones that make a request.
pub fn run_all(f: &Facts, network: bool) -> Vec<Check> {
    let mut o = Out(Vec::new());
    which_go(f, &mut o);
    goroot(f, &mut o);
    settings(f, &mut o);
    modules(f, &mut o);
    caches(f, &mut o);
    cgo(f, &mut o);
    install(f, &mut o);
    if network {
        network_checks(f, &mut o);
    }
    merge_repeats(o.0)
}

/// One line per id: a check that has an ok part and a problem (GO004: "GOROOT found" and
/// "it is not a Go tree") shows the problem only, and several problems of one id become
/// one line, at the worst status, in the place of the first.
fn merge_repeats(checks: Vec<Check>) -> Vec<Check> {
    let mut out: Vec<Check> = Vec::with_capacity(checks.len());
    for c in checks {
        let Some(prev) = out.iter_mut().find(|p| p.id == c.id) else {
            out.push(c);
            continue;
        };
        let (pr, cr) = (rank(prev.status), rank(c.status));
        if cr < pr && c.status <= Status::Ok {
            continue; // an ok (or skip) part beside a problem
        }
        if pr < cr && prev.status <= Status::Ok {
            *prev = c;
            continue;
        }
        prev.message = format!("{}; {}", prev.message, c.message);
        prev.fix = match (prev.fix.take(), c.fix) {
            (Some(a), Some(b)) if a != b => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        prev.status = prev.status.max(c.status);
    }
    out
}

/// Skip counts as least, then ok, info, warn, error.
fn rank(s: Status) -> u8 {
    match s {
        Status::Skip => 0,
        Status::Ok => 1,
        Status::Info => 2,
        Status::Warn => 3,
        Status::Error => 4,
    }
}

/// The one problem to fix before any other: the first error in report order (which follows
/// cause to effect: which go, its GOROOT, settings, module, caches), else the first warning.
pub fn first_fix(checks: &[Check]) -> Option<&Check> {
    checks
        .iter()
        .find(|c| c.status == Status::Error && c.fix.is_some())
        .or_else(|| {
            checks
                .iter()
                .find(|c| c.status == Status::Warn && c.fix.is_some())
        })
}

fn from_where(f: &Facts, key: &str) -> String {
    match f.source_of(key) {
        Some(Source::UserFile) => format!(
            " (from {})",
            f.settings
                .user_file_path
                .as_deref()
                .map_or("go/env file".into(), |p| p.display().to_string())
        ),
        Some(Source::GorootFile) => " (from $GOROOT/go.env)".into(),
        _ => String::new(),
    }
}

/// Where an environment variable is exported, as `~/.bashrc:12`, when golat finds the line in
/// one of the usual shell start-up files (only $HOME's own files: nothing off $HOME is read).
fn export_site(f: &Facts, key: &str) -> Option<String> {
    let home = f.settings.env.get("HOME").filter(|h| h.starts_with('/'))?;
    facts::find_export(Path::new(home), key).map(|(file, line)| {
        let shown = file
            .strip_prefix(home)
            .map_or(file.display().to_string(), |r| format!("~/{}", r.display()));
        format!("{shown}:{line}")
    })
}

/// How to undo a setting, depending on where it was set. An environment variable is undone
/// where it is exported: `go env -w`/`-u` never override the OS environment (go says so:
/// "go env -w KEY=... does not override conflicting OS environment variable").
fn unset_fix(f: &Facts, key: &str) -> String {
    match f.source_of(key) {
        Some(Source::UserFile) => format!("go env -u {key}"),
        Some(Source::GorootFile) => format!(
            "override it: go env -w {key}=<value> (the distribution's $GOROOT/go.env sets it)"
        ),
        _ => match export_site(f, key) {
            Some(site) => format!("remove the export of {key} at {site}, then unset {key}"),
            None => format!(
                "unset {key} (it comes from the environment: remove its export from your shell rc or CI job)"
            ),
        },
    }
}

/// How to give `key` the value `value`, depending on where its current value comes from.
fn set_fix(f: &Facts, key: &str, value: &str) -> String {
    let line = if value.contains([' ', ',', '|', '\'', '"', ';', '&']) {
        format!("{key}='{value}'")
    } else {
        format!("{key}={value}")
    };
    match f.source_of(key) {
        Some(Source::Env) => match export_site(f, key) {
            Some(site) => format!(
                "change the export at {site} to `export {line}` (an environment variable: `go env -w` does not override it)"
            ),
            None => format!(
                "export {line} where {key} is exported now (your shell rc or CI job): `go env -w` does not override an environment variable"
            ),
        },
        _ => format!("go env -w {line}"),
    }
}

// ---------------------------------------------------------------------------------------------

const S_GO: &str = "go";

fn which_go(f: &Facts, o: &mut Out) {
    let scan = match &f.scan {
        Ok(s) => s,
        Err(e) => {
            o.error(
                "GO001",
                S_GO,
                format!("could not scan PATH: {e}"),
                "run `golat path-audit` to find the slow or hung entry",
            );
            return;
        }
    };
    // GO012: entries that did not answer. go (and every lookup of every program) waits
    // there too, for as long as the mount takes.
    if !scan.unanswered.is_empty() {
        let list: Vec<String> = scan
            .unanswered
            .iter()
            .map(|(n, d, fs)| {
                format!(
                    "#{n} {d:?}{}",
                    fs.as_deref().map(|t| format!(" ({t})")).unwrap_or_default()
                )
            })
            .collect();
        let first = scan.unanswered[0].0;
        o.warn(
            "GO012",
            S_GO,
            format!(
                "PATH entr{} {} did not answer within {} ms: every go command waits there on each lookup that reaches it (go version looks up gcc and gccgo); checked without {}",
                if list.len() == 1 { "y" } else { "ies" },
                list.join(", "),
                facts::PROBE_TIMEOUT.as_millis(),
                if list.len() == 1 { "it" } else { "them" },
            ),
            format!("move entry #{first} to the end of PATH or remove it (`golat path-audit` measures it)"),
        );
    }
    if f.path_list.iter().all(|e| e.is_empty()) {
        o.error(
            "GO001",
            S_GO,
            "PATH is empty or unset: no go command runs by name, and a go run by its full path finds no C compiler (cgo silently off: \"build constraints exclude all Go files\" for cgo packages) and no git",
            "export PATH=\"/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin\" (with your Go's bin first)",
        );
        return;
    }
    let Some(go) = &f.go else {
        o.error(
            "GO001",
            S_GO,
            "`go` not found in PATH: no go command runs",
            "add <GOROOT>/bin to PATH, e.g. export PATH=\"$PATH:/usr/local/go/bin\"",
        );
        return;
    };
    if go.relative {
        o.error(
            "GO001",
            S_GO,
            format!("`go` is found only through the relative PATH entry {:?} (entry #{}): Go programs refuse it (exec: \"go\": cannot run executable found relative to current directory)", go.dir, go.entry),
            "put an absolute <GOROOT>/bin in PATH and remove relative entries",
        );
    } else {
        // A version manager's shim (asdf, mise) is a script: no build info of its own, but
        // the toolchain it runs is known from the GOROOT it reports.
        let v = match (&go.version, &f.go_version) {
            (Ok(v), _) => v.clone(),
            (Err(_), Some(v)) => {
                let mut head = [0u8; 2];
                let script = std::fs::File::open(&go.path)
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                    .is_ok_and(|()| &head == b"#!");
                let how = if script {
                    "through a wrapper script"
                } else {
                    "from its GOROOT"
                };
                format!("{v}, {how}")
            }
            (Err(_), None) => "version unknown".to_string(),
        };
        o.ok(
            "GO001",
            S_GO,
            format!(
                "go is {} ({v}), PATH entry #{}",
                go.path.display(),
                go.entry
            ),
        );
    }

    // GO002: several distinct go binaries.
    let mut distinct: Vec<&facts::Hit> = Vec::new();
    for h in scan.all("go") {
        if !distinct
            .iter()
            .any(|d| d.real.is_some() && d.real == h.real)
        {
            distinct.push(h);
        }
    }
    if distinct.len() > 1 {
        let others: Vec<String> = distinct[1..]
            .iter()
            .map(|h| {
                format!(
                    "{} ({}, entry #{})",
                    h.path.display(),
                    h.version.as_deref().unwrap_or("?"),
                    h.entry
                )
            })
            .collect();
        let first_v = go.version.as_deref().ok();
        let newer_hidden = distinct[1..].iter().any(|h| {
            matches!((first_v, h.version.as_deref().ok()), (Some(a), Some(b))
                if goenv::compare_versions(&goenv::from_toolchain(b).unwrap_or_default(), &goenv::from_toolchain(a).unwrap_or_default()).is_gt())
        });
        let msg = format!(
            "`go` resolves to {} ({}) but PATH also has {}{}",
            go.path.display(),
            first_v.unwrap_or("?"),
            others.join(", "),
            if newer_hidden {
                "; a newer go is shadowed"
            } else {
                ""
            }
        );
        o.warn("GO002", S_GO, msg, "reorder PATH so the go you want comes first (`golat path-audit` suggests a PATH with the newest go first)");
    } else {
        o.ok("GO002", S_GO, "one go binary on PATH");
    }

    // GO009: gofmt from the same release.
    match scan.first("gofmt") {
        None => o.info(
            "GO009",
            S_GO,
            "no gofmt on PATH (go fmt still works through $GOROOT/bin/gofmt)",
            None,
        ),
        Some(g) => {
            let same_dir = g.real.as_deref().and_then(Path::parent)
                == go.real.as_deref().and_then(Path::parent);
            match (g.version.as_deref(), go.version.as_deref()) {
                (Ok(a), Ok(b)) if a != b => o.warn(
                    "GO009",
                    S_GO,
                    format!(
                        "gofmt on PATH is {} from {}; go is {b}: formatting can differ from CI",
                        a,
                        g.path.display()
                    ),
                    "put $GOROOT/bin first in PATH, or use `go fmt`",
                ),
                (Ok(a), Ok(_)) if !same_dir => o.info(
                    "GO009",
                    S_GO,
                    format!(
                        "gofmt ({a}) comes from {}, not from go's own bin directory",
                        g.path.display()
                    ),
                    None,
                ),
                (Ok(a), Ok(_)) => o.ok("GO009", S_GO, format!("gofmt matches go ({a})")),
                (Err(e), _) | (_, Err(e)) => o.skip(
                    "GO009",
                    S_GO,
                    format!("cannot compare gofmt and go versions: {e}"),
                ),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------

const S_ROOT: &str = "goroot";

fn goroot(f: &Facts, o: &mut Out) {
    let s = &f.settings;
    let how = s.goroot_how.clone().unwrap_or(GorootHow::NotFound);
    let file_root = s.user_file.values.get("GOROOT").filter(|v| !v.is_empty());
    let env_file = s
        .user_file_path
        .as_ref()
        .map_or("go/env file".into(), |p| p.display().to_string());

    // GO008: a GOROOT= line in go/env. go1.26 `go env -u GOROOT` removes it while the
    // directory exists; when it does not, every go command (`go env -u` too) stops at
    // "go: cannot find GOROOT directory", so only an editor can remove it.
    if let Some(v) = file_root {
        let exists = Path::new(v).is_dir();
        if exists {
            o.warn(
                "GO008",
                S_ROOT,
                format!("{env_file} sets GOROOT={v}: every go command uses that tree instead of finding its own, even after you install another Go"),
                "go env -u GOROOT",
            );
        } else {
            o.error(
                "GO008",
                S_ROOT,
                format!("{env_file} sets GOROOT={v}, which does not exist: every go command fails with \"go: cannot find GOROOT directory: {v}\", `go env -u GOROOT` included"),
                format!("delete the GOROOT= line from {env_file} with an editor"),
            );
        }
    } else {
        o.ok("GO008", S_ROOT, "no GOROOT= line in the go/env file");
    }

    if f.goroot_hung {
        let root = s.goroot.as_deref().unwrap_or(Path::new("?"));
        o.error(
            "GO004",
            S_ROOT,
            format!(
                "GOROOT {} did not answer within {} ms (a hung or very slow mount): every go command waits reading it; its files were not checked",
                root.display(),
                facts::PROBE_TIMEOUT.as_millis()
            ),
            if matches!(how, GorootHow::Env | GorootHow::UserFile) {
                unset_fix(f, "GOROOT")
            } else {
                "install Go on a local disk and put its bin first on PATH".into()
            },
        );
        return;
    }

    // GO003 / GO004
    match (&s.goroot, &how) {
        (None, _) if f.go.is_none() => {
            o.skip("GO003", S_ROOT, "no go binary, so no GOROOT to find")
        }
        (None, _) => {
            let go =
                f.go.as_ref()
                    .map(|g| g.path.display().to_string())
                    .unwrap_or_default();
            let trimmed = f.go_info.as_ref().and_then(|b| b.setting("-trimpath")) == Some("true");
            let asked = match &f.go_env_asked {
                Some(Err(e)) => format!(" (go env says: {e})"),
                _ => String::new(),
            };
            let why = if trimmed {
                "go: cannot find GOROOT directory: 'go' binary is trimmed and GOROOT is not set"
                    .to_string()
            } else {
                format!("go cannot locate its GOROOT{asked}")
            };
            o.error(
                "GO003",
                S_ROOT,
                format!("{go} is not inside a GOROOT (no ../../pkg/tool next to it) and GOROOT is not set: {why}"),
                "replace the copy with a symlink to <GOROOT>/bin/go, or call go by its real path",
            );
        }
        (Some(_), GorootHow::UserFile) if file_root.is_some_and(|v| !Path::new(v).is_dir()) => {
            // One cause, one finding: GO008 already says the go/env line names nothing.
            o.skip(
                "GO004",
                S_ROOT,
                "GOROOT comes from the go/env line GO008 reports",
            );
        }
        (Some(root), _) => {
            if !root.is_dir() {
                let from = match how {
                    GorootHow::UserFile => format!(" (from {env_file})"),
                    _ => String::new(),
                };
                o.error(
                    "GO004",
                    S_ROOT,
                    format!("GOROOT={}{from} does not exist: every go command fails with \"go: cannot find GOROOT directory: {}\"", root.display(), root.display()),
                    if how == GorootHow::UserFile { format!("delete the GOROOT= line from {env_file} with an editor") } else { unset_fix(f, "GOROOT") },
                );
            } else {
                let how_s = match how {
                    GorootHow::Env => "from $GOROOT",
                    GorootHow::UserFile => "from the go/env file",
                    GorootHow::Executable => "found next to the go binary",
                    GorootHow::BuiltIn => "built into the go binary (go env)",
                    GorootHow::NotFound => "",
                };
                o.ok(
                    "GO004",
                    S_ROOT,
                    format!("GOROOT {} ({how_s})", root.display()),
                );
                if !goenv::is_goroot(root) {
                    o.error(
                        "GO004",
                        S_ROOT,
                        format!("GOROOT {} has no pkg/tool: it is not a Go installation (package fmt is not in std)", root.display()),
                        "unset GOROOT, or point it at a real Go tree",
                    );
                }
            }
        }
    }

    // GO005: explicit GOROOT vs the binary's own root.
    if matches!(how, GorootHow::Env | GorootHow::UserFile)
        && let (Some(root), Some(own)) = (&s.goroot, &f.exe_goroot)
    {
        let same = std::fs::canonicalize(root).ok().as_ref() == Some(own);
        if !same && root.is_dir() {
            let theirs = read_version(root);
            let mine = f.go_version.clone();
            let differ = theirs.is_some() && mine.is_some() && theirs != mine;
            let msg = format!(
                "GOROOT={} ({}) but the go on PATH lives in {} ({}){}",
                root.display(),
                theirs.as_deref().unwrap_or("?"),
                own.display(),
                mine.as_deref().unwrap_or("?"),
                if differ {
                    format!(
                        ": every build fails with `compile: version \"{}\" does not match go tool version \"{}\"`",
                        theirs.as_deref().unwrap_or("?"),
                        mine.as_deref().unwrap_or("?")
                    )
                } else {
                    String::new()
                }
            );
            let fix = unset_fix(f, "GOROOT");
            if differ {
                o.error("GO005", S_ROOT, msg, fix)
            } else {
                o.warn("GO005", S_ROOT, msg, fix)
            }
        } else if same {
            o.ok(
                "GO005",
                S_ROOT,
                "GOROOT setting agrees with the go binary's location",
            );
        }
    }

    // GO006: VERSION, compile and link from one release, and the go binary from it too.
    // The tree and the binary are judged apart: a healthy tree of another release named by
    // $GOROOT is a wrong setting (GO005), never a reason to touch the tree.
    if let Some(root) = s.goroot.as_ref().filter(|r| r.is_dir()) {
        let mut tree: Vec<(String, String)> = Vec::new();
        if let Some(v) = &f.version_file {
            tree.push(("VERSION".into(), v.clone()));
        }
        let mut missing = Vec::new();
        for (tool, v) in &f.tools {
            match v {
                Ok(v) => tree.push((tool.clone(), v.clone())),
                Err(e) => missing.push(format!("{tool}: {e}")),
            }
        }
        let first = tree.first().map(|p| p.1.clone());
        let mismatched: Vec<String> = tree
            .iter()
            .filter(|p| Some(&p.1) != first.as_ref())
            .map(|p| format!("{} is {}", p.0, p.1))
            .collect();
        let binary = f.go_info.as_ref().map(|b| b.go_version.clone());
        let explicit = matches!(how, GorootHow::Env | GorootHow::UserFile);
        let own_root = f
            .exe_goroot
            .as_ref()
            .is_some_and(|own| std::fs::canonicalize(root).ok().as_ref() == Some(own));
        // Never `rm -rf`: the tree may be someone's working install (or the module cache's
        // read-only copy); a new directory is always safe.
        let reinstall = "unpack one Go release into a new, empty directory and put its bin first on PATH (never unpack over an existing tree)";
        if !missing.is_empty() {
            o.error(
                "GO006",
                S_ROOT,
                format!(
                    "toolchain files missing or unreadable in {}: {}",
                    root.display(),
                    missing.join("; ")
                ),
                if explicit && !own_root {
                    unset_fix(f, "GOROOT")
                } else {
                    reinstall.to_string()
                },
            );
        } else if !mismatched.is_empty() {
            o.error(
                "GO006",
                S_ROOT,
                format!(
                    "toolchain files in {} disagree: VERSION is {}, {}: builds fail with `compile: version ... does not match go tool version ...`",
                    root.display(),
                    first.clone().unwrap_or_default(),
                    mismatched.join(", ")
                ),
                reinstall,
            );
        } else if let (Some(b), Some(t)) = (&binary, &first)
            && b != t
        {
            if explicit && f.exe_goroot.is_some() && !own_root {
                // GO005 reports the wrong setting; the tree itself is a whole release.
                o.ok(
                    "GO006",
                    S_ROOT,
                    format!("VERSION, compile and link in {} are all {t} (a whole release; the {b} go binary is GO005's problem)", root.display()),
                );
            } else if explicit {
                o.error(
                    "GO006",
                    S_ROOT,
                    format!("the go binary is {b} but GOROOT {} is a {t} tree: builds fail with `compile: version \"{t}\" does not match go tool version \"{b}\"`", root.display()),
                    format!("{}, or run {}/bin/go", unset_fix(f, "GOROOT"), root.display()),
                );
            } else {
                o.error(
                    "GO006",
                    S_ROOT,
                    format!("the go binary is {b} but the tree it sits in ({}) is {t}: an install was unpacked over another; builds fail with `compile: version \"{t}\" does not match go tool version \"{b}\"`", root.display()),
                    reinstall,
                );
            }
        } else {
            o.ok(
                "GO006",
                S_ROOT,
                format!(
                    "go, VERSION, compile and link are all {}",
                    first.or(binary).unwrap_or_default()
                ),
            );
        }
    }

    // GO011: downloaded toolchains in the module cache.
    let (mc, _) = s.gomodcache();
    if !mc.is_empty() && mc.starts_with('/') {
        let dir = PathBuf::from(&mc).join("golang.org");
        let listed = guarded("listing the module cache", move || {
            std::fs::read_dir(dir)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.starts_with("toolchain@v0.0.1-go"))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        });
        let in_cache = s.goroot.as_ref().is_some_and(|r| r.starts_with(&mc));
        match listed {
            Ok(l) if !l.is_empty() || in_cache => o.info(
                "GO011",
                S_ROOT,
                format!(
                    "{} downloaded toolchain(s) in {mc}/golang.org{}",
                    l.len(),
                    if in_cache {
                        "; the current GOROOT is one of them"
                    } else {
                        ""
                    }
                ),
                // `go clean -modcache` deletes every downloaded module too, and with the
                // current GOROOT in the cache it would delete the toolchain that runs.
                (!in_cache).then_some(
                    "nothing to do; `go clean -modcache` would remove them with every downloaded module",
                ),
            ),
            Ok(_) => o.ok(
                "GO011",
                S_ROOT,
                "no downloaded toolchains in the module cache",
            ),
            Err(e) => o.warn(
                "GO011",
                S_ROOT,
                e,
                "check the filesystem that holds GOMODCACHE",
            ),
        }
    }
}

fn read_version(root: &Path) -> Option<String> {
    std::fs::read_to_string(root.join("VERSION"))
        .ok()
        .and_then(|s| s.lines().next().map(str::to_string))
}

// ---------------------------------------------------------------------------------------------

const S_SET: &str = "settings";

fn settings(f: &Facts, o: &mut Out) {
    let s = &f.settings;

    // GO037 / GO035: the user file itself.
    match (
        &s.user_file_path,
        &s.user_file_error,
        &s.user_file_read_error,
    ) {
        (_, Some(e), _) if e == "GOENV=off" => o.info(
            "GO035",
            S_SET,
            "GOENV=off: no go/env file is read (but `go env -w` still writes the default one)",
            Some("unset GOENV before using `go env -w`"),
        ),
        (_, Some(e), _) => o.warn(
            "GO037",
            S_SET,
            format!("no go/env file location: {e}"),
            "set HOME (or XDG_CONFIG_HOME)",
        ),
        (Some(p), _, Some(e)) if f.user_file_hung => o.error(
            "GO037",
            S_SET,
            format!(
                "{e}: go reads {} at every start and will hang the same way",
                p.display()
            ),
            format!(
                "replace {} with a regular file, or point GOENV elsewhere",
                p.display()
            ),
        ),
        (Some(p), _, Some(e)) => o.warn(
            "GO037",
            S_SET,
            format!(
                "cannot read {}: {e} (the go command silently ignores it)",
                p.display()
            ),
            format!("fix or delete {}", p.display()),
        ),
        (Some(p), _, None) => {
            let uf = &s.user_file;
            let unknown: Vec<&String> = uf
                .values
                .keys()
                .filter(|k| !goenv::KNOWN_ENV.contains(&k.as_str()))
                .collect();
            let mut problems = Vec::new();
            if !unknown.is_empty() {
                problems.push(format!("unknown keys {}", join(&unknown)));
            }
            if !uf.duplicates.is_empty() {
                problems.push(format!(
                    "duplicate keys {} (the last wins)",
                    uf.duplicates.join(", ")
                ));
            }
            if !uf.ignored_lines.is_empty() {
                problems.push(format!(
                    "lines {:?} are ignored (not KEY=VALUE)",
                    uf.ignored_lines
                ));
            }
            if !uf.carriage_returns.is_empty() {
                problems.push(format!(
                    "values of {} end in a carriage return",
                    uf.carriage_returns.join(", ")
                ));
            }
            if problems.is_empty() {
                o.ok(
                    "GO037",
                    S_SET,
                    format!(
                        "go/env file {} is well-formed ({} settings)",
                        p.display(),
                        uf.values.len()
                    ),
                );
            } else {
                o.warn(
                    "GO037",
                    S_SET,
                    format!("{}: {}", p.display(), problems.join("; ")),
                    format!("edit {} (or go env -u KEY)", p.display()),
                );
            }
        }
        (None, None, _) => {}
    }

    // GO036: env overrides the file.
    let overridden: Vec<String> = s
        .user_file
        .values
        .iter()
        .filter_map(|(k, v)| {
            s.env
                .get(k)
                .filter(|e| !e.is_empty() && *e != v)
                .map(|e| format!("{k} (file {v:?}, env {e:?})"))
        })
        .collect();
    if !overridden.is_empty() {
        o.info(
            "GO036",
            S_SET,
            format!(
                "the environment overrides the go/env file for {}",
                overridden.join(", ")
            ),
            Some("remove one of the two"),
        );
    }

    // GO020 / GO021: GOPATH.
    let (gopath, gp_src) = s.gopath();
    let goroot = s.goroot.as_ref().map(|r| goenv::clean(r));
    if !gopath.is_empty() && goroot.as_deref() == Some(goenv::clean(Path::new(&gopath)).as_path()) {
        // Checked with go1.26.8: builds work, but every command warns and GOMODCACHE is
        // $GOROOT/pkg/mod, so downloads land inside the Go installation.
        let fix = if gp_src == Source::Default {
            "set GOPATH elsewhere (e.g. go env -w GOPATH=$HOME/gopath), or move Go out of $HOME/go"
                .to_string()
        } else {
            unset_fix(f, "GOPATH")
        };
        o.warn(
            "GO020",
            S_SET,
            format!("warning: both GOPATH and GOROOT are the same directory ({gopath}){}: go works, but prints this on every command, downloads modules into {gopath}/pkg/mod and installs commands into {gopath}/bin, inside the Go installation", from_where(f, "GOPATH")),
            fix,
        );
    } else if gopath.is_empty()
        && gp_src == Source::Default
        && s.env.get("HOME").is_some_and(|h| !h.is_empty())
    {
        o.warn(
            "GO020",
            S_SET,
            "GOPATH is empty because $HOME/go is GOROOT: cannot set GOROOT as GOPATH",
            "move Go elsewhere (e.g. /usr/local/go) or set GOPATH",
        );
    } else if gopath.is_empty() {
        o.warn("GO020", S_SET, "GOPATH is not set and $HOME is not defined: go install and module downloads have nowhere to go", "set HOME, or GOPATH to an absolute directory");
    } else {
        o.ok(
            "GO020",
            S_SET,
            format!("GOPATH {gopath} differs from GOROOT"),
        );
    }
    let mut bad = None;
    for p in gopath.split(':').filter(|p| !p.is_empty()) {
        if p.starts_with('~') {
            bad = Some(format!(
                "go: GOPATH entry cannot start with shell metacharacter '~': {p:?}"
            ));
            break;
        }
        if !p.starts_with('/') && gp_src != Source::Default {
            bad = Some(format!(
                "go: GOPATH entry is relative; must be absolute path: {p:?}."
            ));
            break;
        }
    }
    match bad {
        Some(m) => o.error(
            "GO021",
            S_SET,
            format!("{m}{} (every go command fails)", from_where(f, "GOPATH")),
            "use an absolute path such as $HOME/go",
        ),
        None => o.ok("GO021", S_SET, "GOPATH entries are absolute"),
    }

    // GO025 / GO026 / GO027: GOFLAGS.
    let gf = s.val("GOFLAGS");
    if gf.is_empty() {
        o.ok("GO025", S_SET, "GOFLAGS is empty");
    } else {
        let a = goenv::analyze_goflags(gf);
        let w = from_where(f, "GOFLAGS");
        if let Some(fatal) = &a.fatal {
            let fix = match goflags_repair(gf) {
                Some(fixed) => set_fix(f, "GOFLAGS", &fixed),
                None => "quote a whole flag: GOFLAGS=\"'-ldflags=-s -w'\" (quotes only count at the start of a word)".to_string(),
            };
            o.error(
                "GO025",
                S_SET,
                format!("GOFLAGS={gf:?}{w}: every go command fails with `{fatal}`"),
                fix,
            );
        } else if !a.build_errors.is_empty() {
            o.error(
                "GO025",
                S_SET,
                format!(
                    "GOFLAGS={gf:?}{w}: go build fails with `{}`",
                    a.build_errors.join("`; `")
                ),
                "fix the flag value",
            );
        } else {
            o.ok("GO025", S_SET, format!("GOFLAGS={gf:?} parses"));
        }
        let dropped: Vec<&str> = a
            .flags
            .iter()
            .filter(|fl| fl.reach == FlagReach::OtherOnly)
            .map(|fl| fl.word.as_str())
            .collect();
        let test_only: Vec<&str> = a
            .flags
            .iter()
            .filter(|fl| fl.reach == FlagReach::TestOnly)
            .map(|fl| fl.word.as_str())
            .collect();
        if !dropped.is_empty() {
            o.warn(
                "GO026",
                S_SET,
                format!("GOFLAGS word(s) {} are not build flags (they belong to other go subcommands) and are silently ignored by build, run and test", dropped.join(" ")),
                "if it was part of the previous flag's value, quote the whole flag: GOFLAGS=\"'-ldflags=-s -w'\"",
            );
        } else if a.fatal.is_none() {
            o.ok("GO026", S_SET, "every GOFLAGS word reaches go build");
        }
        if !test_only.is_empty() {
            o.info(
                "GO026",
                S_SET,
                format!("GOFLAGS {} only affect go test", test_only.join(" ")),
                None,
            );
        }
        let sticky: Vec<&str> = a
            .flags
            .iter()
            .filter(|fl| {
                matches!(
                    fl.name.as_str(),
                    "mod" | "modcacherw" | "buildvcs" | "trimpath"
                )
            })
            .map(|fl| fl.word.as_str())
            .collect();
        if !sticky.is_empty() && f.source_of("GOFLAGS") != Some(Source::Default) {
            o.info(
                "GO027",
                S_SET,
                format!(
                    "GOFLAGS {}{w} applies to every build of every module",
                    sticky.join(" ")
                ),
                Some("set such flags per project (or per command) rather than globally"),
            );
        }
    }

    // GO028: GO111MODULE.
    match s.val("GO111MODULE") {
        "" | "on" => o.ok("GO028", S_SET, "module mode (GO111MODULE unset or on)"),
        "auto" => o.info("GO028", S_SET, format!("GO111MODULE=auto{}: outside a module the go command falls back to GOPATH mode", from_where(f, "GO111MODULE")), Some(&unset_fix(f, "GO111MODULE"))),
        "off" => o.warn(
            "GO028",
            S_SET,
            format!("GO111MODULE=off{}: GOPATH mode, `go: modules disabled by GO111MODULE=off`, and toolchain switching is skipped", from_where(f, "GO111MODULE")),
            unset_fix(f, "GO111MODULE"),
        ),
        v => o.error("GO028", S_SET, format!("go: unknown environment setting GO111MODULE={v}{}", from_where(f, "GO111MODULE")), unset_fix(f, "GO111MODULE")),
    }

    // GO029: GOPROXY.
    let proxy = s.val("GOPROXY");
    let entries: Vec<&str> = proxy
        .split([',', '|'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let default_proxy = "https://proxy.golang.org,direct";
    if proxy.is_empty() && f.go.is_none() {
        // Without a go there is no $GOROOT/go.env, which is where the default comes from.
        o.skip(
            "GO029",
            S_SET,
            "no go command, so no $GOROOT/go.env default for GOPROXY",
        );
    } else if proxy.is_empty() || entries.is_empty() {
        o.warn("GO029", S_SET, "GOPROXY is empty: module downloads fail (\"GOPROXY list is not the empty string, but contains no entries\" for stray separators)", set_fix(f, "GOPROXY", default_proxy));
    } else if entries[0] == "off" {
        o.warn("GO029", S_SET, format!("GOPROXY=off{}: `module lookup disabled by GOPROXY=off` for anything not in the module cache, and no toolchain downloads", from_where(f, "GOPROXY")), set_fix(f, "GOPROXY", default_proxy));
    } else if let Some(bad) = entries.iter().find(|e| {
        !matches!(**e, "off" | "direct") && !e.contains(":/") && !e.contains(['.', ':', '/'])
    }) {
        o.error(
            "GO029",
            S_SET,
            format!("GOPROXY entry {bad:?}: invalid proxy URL missing scheme: {bad}"),
            "use full URLs, e.g. https://proxy.golang.org,direct",
        );
    } else if entries == ["direct"] {
        o.info(
            "GO029",
            S_SET,
            format!(
                "GOPROXY=direct{}: every module is fetched from its VCS (slower; needs git etc.)",
                from_where(f, "GOPROXY")
            ),
            Some(&set_fix(f, "GOPROXY", default_proxy)),
        );
    } else {
        o.ok("GO029", S_SET, format!("GOPROXY={proxy}"));
    }

    // GO049: a GOPROXY entry go refuses (a typo in the scheme, a space in the host). The
    // single-word entries are GO029's; whether the host resolves is asked only with --network.
    let mut typos = Vec::new();
    for e in &entries {
        if matches!(*e, "off" | "direct") || !e.contains(['.', ':', '/']) {
            continue;
        }
        if let Some(err) = network::proxy_url_error(&network::proxy_url(e)) {
            typos.push(err);
        }
    }
    if typos.is_empty() {
        if entries.iter().any(|e| !matches!(*e, "off" | "direct")) {
            o.ok("GO049", S_SET, "GOPROXY entries are URLs go accepts");
        }
    } else {
        o.error(
            "GO049",
            S_SET,
            format!(
                "GOPROXY{}: every module download fails with `{}`",
                from_where(f, "GOPROXY"),
                typos.join("`, `")
            ),
            set_fix(f, "GOPROXY", default_proxy),
        );
    }

    // GO030 / GO031: checksum database and private patterns.
    let mut posture = Vec::new();
    if s.val("GOSUMDB") == "off" {
        posture.push(format!("GOSUMDB=off{}", from_where(f, "GOSUMDB")));
    }
    if matches!(s.val("GONOSUMDB"), "*" | "*/*") {
        posture.push("GONOSUMDB matches everything".into());
    }
    if !s.val("GOINSECURE").is_empty() {
        posture.push(format!("GOINSECURE={}", s.val("GOINSECURE")));
    }
    if s.env
        .get("GODEBUG")
        .is_some_and(|g| g.contains("execerrdot=0"))
    {
        posture.push(
            "GODEBUG execerrdot=0 (runs binaries found through relative PATH entries)".into(),
        );
    }
    if posture.is_empty() {
        o.ok("GO030", S_SET, "checksum verification is on");
    } else {
        o.warn(
            "GO030",
            S_SET,
            format!("security checks weakened: {}", posture.join("; ")),
            "limit exceptions to your private modules with GOPRIVATE=example.com/org/*",
        );
    }
    let mut bad_patterns = Vec::new();
    for key in ["GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOINSECURE"] {
        for p in s
            .val(key)
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            if !goenv::valid_path_pattern(p) {
                bad_patterns.push(format!("{key} element {p:?}"));
            }
        }
    }
    if bad_patterns.is_empty() {
        o.ok(
            "GO031",
            S_SET,
            "GOPRIVATE/GONOPROXY/GONOSUMDB/GOINSECURE patterns are valid",
        );
    } else {
        o.warn(
            "GO031",
            S_SET,
            format!(
                "{} is not a valid path.Match pattern: it never matches (go accepts it silently)",
                bad_patterns.join(", ")
            ),
            "fix the glob (e.g. example.com/org/*)",
        );
    }

    // GO032: GOTOOLCHAIN syntax.
    let gt = s.val("GOTOOLCHAIN");
    match goenv::parse_gotoolchain(gt) {
        Err(e) => o.error("GO032", S_SET, format!("{e}{}: every go command fails", from_where(f, "GOTOOLCHAIN")), unset_fix(f, "GOTOOLCHAIN")),
        Ok(p) => match p.min.as_deref().and_then(goenv::from_toolchain) {
            Some(v) if goenv::is_lang(&v) && goenv::compare_versions(&v, "1.21").is_ge() => o.error(
                "GO032",
                S_SET,
                format!("GOTOOLCHAIN={gt} names a language version, not a release: `go: download go{v} for ...: toolchain not available`"),
                format!("use a full release: GOTOOLCHAIN=go{v}.0"),
            ),
            _ if gt.is_empty() && f.go.is_none() => o.skip(
                "GO032",
                S_SET,
                "no go command, so no $GOROOT/go.env default for GOTOOLCHAIN",
            ),
            _ if gt.is_empty() => o.warn(
                "GO032",
                S_SET,
                "GOTOOLCHAIN is empty (no $GOROOT/go.env line?): toolchain selection is off, go.mod `toolchain` lines are ignored",
                set_fix(f, "GOTOOLCHAIN", "auto"),
            ),
            _ => o.ok("GO032", S_SET, format!("GOTOOLCHAIN={gt}{}", from_where(f, "GOTOOLCHAIN"))),
        },
    }

    // GO038: target platform values.
    arch_checks(f, o);

    // GO039: GODEBUG, its keys against the toolchain's own lists.
    if let Some(g) = s.env.get("GODEBUG").filter(|g| !g.is_empty()) {
        let known = godebug_keys(f);
        let unknown: Vec<String> = g
            .split(',')
            .filter_map(|kv| kv.split('=').next())
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .filter(|k| !known.is_empty() && !known.iter().any(|n| n == k))
            .map(|k| match known.iter().find(|n| one_edit(k, n)) {
                Some(n) => format!("{k} (did you mean {n}?)"),
                None => k.to_string(),
            })
            .collect();
        if unknown.is_empty() {
            o.info(
                "GO039",
                S_SET,
                format!("GODEBUG={g} applies to every Go program you run, including go itself"),
                Some("set it per command instead of exporting it"),
            );
        } else {
            o.warn(
                "GO039",
                S_SET,
                format!("GODEBUG key{} {} not in {}'s lists (internal/godebugs, runtime): every Go program ignores {}, silently", if unknown.len() == 1 { "" } else { "s" }, unknown.join(", "), f.go_version.as_deref().unwrap_or("the toolchain"), if unknown.len() == 1 { "it" } else { "them" }),
                "fix the spelling, or drop the key",
            );
        }
    }

    // GO045: a GO* variable one letter away from a setting: go ignores the misspelt one.
    let typos: Vec<String> = s
        .env
        .keys()
        .filter(|k| {
            k.starts_with("GO")
                && !goenv::KNOWN_ENV.contains(&k.as_str())
                && !RUNTIME_ENV.contains(&k.as_str())
        })
        .filter_map(|k| {
            goenv::KNOWN_ENV
                .iter()
                .find(|n| n.starts_with("GO") && one_edit(k, n))
                .map(|n| format!("{k} (did you mean {n}?)"))
        })
        .collect();
    if !typos.is_empty() {
        o.warn(
            "GO045",
            S_SET,
            format!(
                "environment variable{} {}: no go setting has that name, so go ignores it",
                if typos.len() == 1 { "" } else { "s" },
                typos.join(", ")
            ),
            "rename it in your shell rc or CI job",
        );
    }

    // GO040: changed-from-default summary (like `go env -changed`).
    let changed = changed_settings(f);
    let shown: Vec<String> = changed
        .iter()
        .filter(|(k, _, _)| k != "GOROOT")
        .map(|(k, v, src)| format!("{k}={v} ({})", src.describe()))
        .collect();
    if !shown.is_empty() {
        o.info(
            "GO040",
            S_SET,
            format!("non-default settings: {}", shown.join(", ")),
            None,
        );
    }
    let distro: Vec<String> = goenv::UPSTREAM_GO_ENV
        .iter()
        .filter_map(|(k, up)| {
            let v = s.goroot_file.values.get(*k);
            (v.map(String::as_str) != Some(*up)).then(|| {
                format!(
                    "{k}={} (upstream {up})",
                    v.map_or("<missing>", String::as_str)
                )
            })
        })
        .collect();
    if !distro.is_empty() && !s.goroot_file.values.is_empty() {
        o.info(
            "GO040",
            S_SET,
            format!(
                "$GOROOT/go.env differs from upstream: {}",
                distro.join(", ")
            ),
            None,
        );
    }
}

/// GOFLAGS with each stray value joined to the flag before it (`-tags foo` → `-tags=foo`:
/// GOFLAGS only takes `-flag=value`), when that makes every word parse; None otherwise.
fn goflags_repair(gf: &str) -> Option<String> {
    let words = goenv::quoted_split(gf).ok()?;
    let mut out: Vec<String> = Vec::new();
    for w in words {
        match out.last_mut() {
            Some(prev) if !w.starts_with('-') && prev.starts_with('-') && !prev.contains('=') => {
                prev.push('=');
                prev.push_str(&w);
            }
            _ => out.push(w),
        }
    }
    // A word with a space needs the quotes cmd/internal/quoted understands.
    let fixed = out
        .iter()
        .map(|w| {
            if w.contains([' ', '\t']) {
                format!("'{w}'")
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let a = goenv::analyze_goflags(&fixed);
    (fixed != gf && a.fatal.is_none() && a.build_errors.is_empty()).then_some(fixed)
}

/// GO* variables the Go runtime (not the go command) reads.
const RUNTIME_ENV: &[&str] = &[
    "GOGC",
    "GOMAXPROCS",
    "GOMEMLIMIT",
    "GOTRACEBACK",
    "GORACE",
    "GOCOVERDIR",
    "GODEBUG",
    "GOROOT_BOOTSTRAP",
    "GOROOT_FINAL",
];

/// GODEBUG keys the toolchain knows: internal/godebugs' table and the runtime's dbgvars.
/// Empty when the sources are not in GOROOT (then nothing is called unknown).
fn godebug_keys(f: &Facts) -> Vec<String> {
    let Some(root) = f.settings.goroot.as_ref().filter(|_| !f.goroot_hung) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for (file, marker) in [
        ("src/internal/godebugs/table.go", "Name: \""),
        ("src/runtime/runtime1.go", "{name: \""),
    ] {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            return Vec::new();
        };
        for part in text.split(marker).skip(1) {
            if let Some(name) = part.split('"').next() {
                keys.push(name.to_string());
            }
        }
    }
    keys
}

/// `a` and `b` differ by one insertion, deletion, substitution or adjacent swap.
fn one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b {
        return false;
    }
    let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[pre..], &b[pre..]);
    match (ra.len(), rb.len()) {
        (x, y) if x == y => {
            ra[1..] == rb[1..] || (x >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        (x, y) if x + 1 == y => ra == &rb[1..],
        (x, y) if y + 1 == x => &ra[1..] == rb,
        _ => false,
    }
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// Settings that are set anywhere but the built-in default: (name, value, source). Values from
/// $GOROOT/go.env count only when they differ from upstream's go.env.
pub fn changed_settings(f: &Facts) -> Vec<(String, String, Source)> {
    let s = &f.settings;
    let mut out = Vec::new();
    for key in goenv::KNOWN_ENV {
        if let Some((v, src)) = s.get(key) {
            let upstream = goenv::UPSTREAM_GO_ENV
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| *v);
            if src == Source::GorootFile && upstream == Some(v) {
                continue;
            }
            out.push((key.to_string(), v.to_string(), src));
        }
    }
    out
}

/// buildcfg.ParseGOEXPERIMENT's verdict, from the toolchain's own list of experiments
/// (the fields of internal/goexperiment.Flags, lower-cased, plus `regabi` and `none`):
/// `go: unknown GOEXPERIMENT bogus` stops every go command, `go version` included.
fn goexperiment_error(f: &Facts) -> Option<String> {
    let s = &f.settings;
    let raw = s.val("GOEXPERIMENT");
    if raw.is_empty() || f.goroot_hung {
        return None;
    }
    let src = std::fs::read_to_string(
        s.goroot
            .as_ref()?
            .join("src/internal/goexperiment/flags.go"),
    )
    .ok()?;
    let body = src
        .split("type Flags struct {")
        .nth(1)?
        .split("\n}")
        .next()?;
    let mut names: Vec<String> = body
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next()?;
            (w.next() == Some("bool")).then(|| name.to_ascii_lowercase())
        })
        .collect();
    names.push("regabi".into());
    for item in raw.split(',').filter(|e| !e.is_empty() && *e != "none") {
        let name = item.strip_prefix("no").unwrap_or(item);
        if !names.iter().any(|n| n == name) {
            return Some(format!(
                "GOEXPERIMENT={raw}{}: every go command fails, `go version` included: go: unknown GOEXPERIMENT {name}",
                from_where(f, "GOEXPERIMENT")
            ));
        }
    }
    None
}

fn arch_checks(f: &Facts, o: &mut Out) {
    let s = &f.settings;
    let goos = s.or_default("GOOS", &f.host.0).0;
    let goarch = s.or_default("GOARCH", &f.host.1).0;
    let mut problems = Vec::new();
    if !f.goroot_hung && (!s.val("GOOS").is_empty() || !s.val("GOARCH").is_empty()) {
        // internal/platform/zosarch.go is the go command's own list.
        if let Some(list) = s
            .goroot
            .as_ref()
            .and_then(|r| std::fs::read_to_string(r.join("src/internal/platform/zosarch.go")).ok())
        {
            let pair = format!("{{{goos:?}, {goarch:?}}}");
            if list.contains("var List") && !list.contains(&pair) {
                problems.push(format!("go: unsupported GOOS/GOARCH pair {goos}/{goarch}"));
            }
        }
    }
    let mut fixes = Vec::new();
    if !problems.is_empty() {
        fixes.push("set GOOS/GOARCH to a pair `go tool dist list` prints".to_string());
    }
    if let Some(e) = goexperiment_error(f) {
        problems.push(e);
        fixes.push(unset_fix(f, "GOEXPERIMENT"));
    }
    // internal/buildcfg sets an error for GOAMD64 outside v1..v4 and falls back to the
    // default level, but cmd/go never reports it: go1.26.8 builds and runs with GOAMD64=v5
    // (and records GOAMD64=v5 in the binary). A performance surprise, not a failure. The fix
    // is never a higher level: a v4 binary does not start on a CPU without AVX-512.
    let mut amd64 = None;
    if goarch == "amd64" {
        let v = s.val("GOAMD64");
        if !v.is_empty() && !matches!(v, "v1" | "v2" | "v3" | "v4") {
            amd64 = Some(format!(
                "GOAMD64={v}{} is not a level go knows (v1, v2, v3, v4): go builds anyway, silently for the default level (internal/buildcfg's \"invalid GOAMD64: must be v1, v2, v3, v4\" is never printed)",
                from_where(f, "GOAMD64")
            ));
            fixes.push(unset_fix(f, "GOAMD64"));
        }
    }
    match (problems.is_empty(), amd64) {
        (true, None) => o.ok("GO038", S_SET, format!("target {goos}/{goarch}")),
        (true, Some(w)) => o.warn("GO038", S_SET, w, fixes.join("; ")),
        (false, w) => {
            problems.extend(w);
            o.error("GO038", S_SET, problems.join("; "), fixes.join("; "))
        }
    }
}

// ---------------------------------------------------------------------------------------------

const S_MOD: &str = "modules";

fn modules(f: &Facts, o: &mut Out) {
    let s = &f.settings;
    let m = match &f.modules {
        Ok(m) => m,
        Err(e) => {
            o.warn(
                "GO010",
                S_MOD,
                e.clone(),
                "check the filesystem holding --dir",
            );
            return;
        }
    };

    // GO041: go.work.
    let gowork_setting = s.val("GOWORK");
    if !gowork_setting.is_empty()
        && gowork_setting != "off"
        && gowork_setting != "auto"
        && !gowork_setting.starts_with('/')
    {
        o.error(
            "GO041",
            S_MOD,
            format!("go: invalid GOWORK: not an absolute path ({gowork_setting})"),
            "set GOWORK to an absolute path or off",
        );
    } else if let Some(p) = &m.gowork_missing {
        o.error(
            "GO041",
            S_MOD,
            format!(
                "go: reading go.work: open {}: no such file or directory (GOWORK)",
                p.display()
            ),
            "unset GOWORK or set GOWORK=off",
        );
    } else if let Some((work, uses)) = &m.gowork {
        let root = m
            .gomod
            .as_ref()
            .and_then(|g| g.path.parent())
            .map(Path::to_path_buf);
        let listed = root.as_ref().is_none_or(|r| uses.iter().any(|u| u == r));
        let wdir = work.path.parent().unwrap_or(Path::new("/"));
        let outside_repo = m.repo_root.as_ref().is_some_and(|r| !wdir.starts_with(r));
        let explicit = !gowork_setting.is_empty() && gowork_setting != "auto";
        if !listed {
            o.error(
                "GO041",
                S_MOD,
                format!(
                    "{} puts --dir in workspace mode but does not list its module {}: go commands fail (\"current directory is contained in a module that is not one of the workspace modules listed in go.work\")",
                    work.path.display(),
                    root.as_ref().map_or(String::new(), |r| r.display().to_string())
                ),
                if explicit { "set GOWORK=off, or `go work use .`".to_string() } else { format!("remove the stray {} (or GOWORK=off, or `go work use .`)", work.path.display()) },
            );
        } else if outside_repo {
            o.warn("GO041", S_MOD, format!("{} (outside the repository {}) applies to this module: builds here differ from a clean checkout", work.path.display(), m.repo_root.as_ref().unwrap().display()), "GOWORK=off for builds meant to match CI, or remove the stray go.work");
        } else {
            o.info(
                "GO041",
                S_MOD,
                format!(
                    "workspace mode: {} ({} module{})",
                    work.path.display(),
                    uses.len(),
                    if uses.len() == 1 { "" } else { "s" }
                ),
                None,
            );
        }
    } else if let Some(problem) = m.off_work.as_ref().and_then(|w| workspace_needed(m, w)) {
        o.error(
            "GO041",
            S_MOD,
            problem.0,
            format!("{} {}", unset_fix(f, "GOWORK"), problem.1),
        );
    } else {
        o.ok(
            "GO041",
            S_MOD,
            if gowork_setting == "off" {
                "GOWORK=off".to_string()
            } else {
                "no go.work in effect".to_string()
            },
        );
    }

    if !module_files(f, o, m) {
        o.skip(
            "GO010",
            S_MOD,
            "go.mod or go.work does not parse (GO042): no toolchain selection",
        );
        return;
    }

    // GO010 / GO033 / GO034: toolchain selection for this module.
    let Some(local) = f.local_version() else {
        o.skip(
            "GO010",
            S_MOD,
            "local Go version unknown: toolchain selection not judged",
        );
        return;
    };
    let file = m.gowork.as_ref().map(|w| &w.0).or(m.gomod.as_ref());
    let gt_raw = s.val("GOTOOLCHAIN");
    let Ok(gt) = goenv::parse_gotoolchain(gt_raw) else {
        o.skip("GO010", S_MOD, "GOTOOLCHAIN is invalid (GO032)");
        return;
    };
    let modules_on = match s.val("GO111MODULE") {
        "" | "on" => true,
        "auto" => m.gomod.is_some(),
        _ => false,
    };
    let sel = match goenv::select_toolchain(&gt, gt_raw, &local, file, modules_on) {
        Ok(sel) => sel,
        Err(e) => {
            o.error(
                "GO010",
                S_MOD,
                format!("{e}: every go command here fails"),
                "fix the toolchain line",
            );
            return;
        }
    };
    let fname = file.map_or(String::new(), |m| m.path.display().to_string());
    // The version that will actually run: the switch target, else the local one.
    let running = sel
        .target
        .as_deref()
        .and_then(goenv::from_toolchain)
        .unwrap_or_else(|| local.clone());
    // Whether the local go satisfies the go line: only then is GOTOOLCHAIN=local a fix (else
    // it trades GO034 for GO033, and GO033's `auto` back for GO034).
    let local_ok = file
        .and_then(|m| m.go.as_deref())
        .is_none_or(|g| goenv::compare_versions(g, &local).is_le());
    if let Some(target) = &sel.target {
        toolchain_availability(f, o, &gt, gt_raw, &sel.reason, target, local_ok);
    } else if sel.unmet.is_none() {
        match file {
            Some(m) => o.ok(
                "GO010",
                S_MOD,
                format!(
                    "{fname} (go {}) runs with the local go{local}",
                    m.go.as_deref().unwrap_or("?")
                ),
            ),
            None => o.ok(
                "GO010",
                S_MOD,
                format!(
                    "no go.mod/go.work above {}; go{local} runs",
                    f.dir.display()
                ),
            ),
        }
    }
    if let Some(need) = &sel.unmet {
        // What `auto` would switch to, and whether that switch could succeed.
        let mut want = format!("go{need}");
        if goenv::is_lang(need) && goenv::compare_versions(need, "1.21").is_ge() {
            want.push_str(".0");
        }
        let fix = match find_toolchain(f, &want) {
            Found::OnPath(p) => format!(
                "allow switching to the {want} at {}: {}",
                p.display(),
                set_fix(f, "GOTOOLCHAIN", "path")
            ),
            Found::Cached(_) => format!(
                "allow switching to the {want} already downloaded: {}",
                set_fix(f, "GOTOOLCHAIN", "auto")
            ),
            Found::Download(proxy) => format!(
                "{} (the first go command downloads {want} from {proxy}), or install Go {need} or newer",
                set_fix(f, "GOTOOLCHAIN", "auto")
            ),
            Found::Nowhere => format!(
                "install Go {need} or newer and put its bin first on PATH (GOPROXY={} cannot download {want}, so letting go switch would fail too)",
                f.settings.val("GOPROXY")
            ),
        };
        o.error(
            "GO033",
            S_MOD,
            format!(
                "go: {fname} requires go >= {need} (running go {running}; GOTOOLCHAIN={gt_raw}{})",
                from_where(f, "GOTOOLCHAIN")
            ),
            fix,
        );
    } else if file.is_some() {
        o.ok(
            "GO033",
            S_MOD,
            format!("{fname} is satisfied by go {running}"),
        );
    }
}

/// GOWORK=off beside a go.work: the first import of this module's code that only a workspace
/// module provides (go.mod does not require that module), as (message, fix). go then fails
/// with `no required module provides package …; to add it: go get …`.
fn workspace_needed(m: &facts::ModuleFacts, w: &facts::OffWork) -> Option<(String, String)> {
    let own = m
        .gomod_text
        .as_deref()
        .and_then(facts::module_path)
        .unwrap_or_default();
    let required: Vec<String> = m
        .gomod_text
        .as_deref()
        .map(gomod_requires)
        .unwrap_or_default()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let provides = |imp: &str, mp: &str| imp == mp || imp.starts_with(&format!("{mp}/"));
    for (imp, file, line) in &w.imports {
        if !own.is_empty() && provides(imp, &own) {
            continue;
        }
        let Some((mp, dir)) = w.modules.iter().find(|(mp, _)| provides(imp, mp)) else {
            continue;
        };
        if required.iter().any(|r| r == mp) {
            continue;
        }
        let root = m
            .gomod
            .as_ref()
            .and_then(|g| g.path.parent())
            .unwrap_or(Path::new("/"));
        return Some((
            format!(
                "GOWORK=off, but {}:{line} imports {imp}, which only the workspace {} provides (module {mp} in {}): go fails with `no required module provides package {imp}; to add it: go get {imp}`",
                short_path(file, root),
                w.file.display(),
                dir.display()
            ),
            format!(
                "so {} applies (or, to build without the workspace, require a published {mp}: go get {imp})",
                w.file.display()
            ),
        ));
    }
    None
}

/// cmd/go's base.ShortPath: `path` relative to `dir` when that is shorter, else `path`.
fn short_path(path: &Path, dir: &Path) -> String {
    let p: Vec<_> = path.components().collect();
    let d: Vec<_> = dir.components().collect();
    let common = p.iter().zip(&d).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..d.len() {
        rel.push("..");
    }
    for c in &p[common..] {
        rel.push(c);
    }
    let rel = if rel.as_os_str().is_empty() {
        ".".to_string()
    } else {
        rel.display().to_string()
    };
    let abs = path.display().to_string();
    if rel.len() < abs.len() { rel } else { abs }
}

/// modfile.GoVersionRE: `^([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?$`.
fn go_version_ok(v: &str) -> bool {
    fn num(s: &str) -> Option<&str> {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (n, rest) = s.split_at(end);
        (!n.is_empty() && (n == "0" || !n.starts_with('0'))).then_some(rest)
    }
    let Some(rest) = num(v).filter(|_| !v.starts_with('0')) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix('.').and_then(num) else {
        return false;
    };
    let rest = match rest.strip_prefix('.') {
        Some(r) => match num(r) {
            Some(r) => r,
            None => return false,
        },
        None => rest,
    };
    if rest.is_empty() {
        return true;
    }
    let letters = rest
        .find(|c: char| !c.is_ascii_lowercase())
        .unwrap_or(rest.len());
    let digits = &rest[letters..];
    letters > 0 && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// GO042 (go.mod / go.work parse as go parses them), GO043 (-mod=vendor), GO044 (no module).
/// False when a file does not parse: go stops there, so nothing later is judged.
fn module_files(f: &Facts, o: &mut Out, m: &facts::ModuleFacts) -> bool {
    let s = &f.settings;
    let mut parses = true;
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let files = m
        .gomod
        .iter()
        .map(|g| (g, "go.mod"))
        .chain(m.gowork.iter().map(|w| (&w.0, "go.work")));
    for (file, kind) in files {
        if let Some(v) = file.go.as_deref().filter(|v| !go_version_ok(v)) {
            let line = std::fs::read_to_string(&file.path)
                .ok()
                .and_then(|t| {
                    t.lines().position(|l| {
                        l.trim_start()
                            .strip_prefix("go")
                            .is_some_and(|r| r.starts_with([' ', '\t']))
                    })
                })
                .map_or(String::new(), |n| format!(":{}", n + 1));
            problems.push(format!(
                "go: errors parsing {kind}: {}{line}: invalid go version '{v}': must match format 1.23.0 (every go command here fails, `go version` aside)",
                file.path.display()
            ));
            let fixed = v
                .split('.')
                .take(3)
                .map(|p| p.trim_end_matches(|c: char| !c.is_ascii_digit()))
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(".");
            fixes.push(if go_version_ok(&fixed) {
                format!("write `go {fixed}` in {}", file.path.display())
            } else {
                format!(
                    "write a release such as `go 1.22.0` in {}",
                    file.path.display()
                )
            });
            parses = false;
        }
    }
    for (u, abs) in &m.work_use_missing {
        // go names the directory as base.ShortPath does: relative to where it runs, if shorter.
        let short = short_path(abs, &f.dir);
        problems.push(format!(
            "go: cannot load module {short} listed in go.work file: open {short}/go.mod: no such file or directory (every build here fails)"
        ));
        fixes.push(format!(
            "go work edit -dropuse={u} (or create the module there)"
        ));
    }
    if problems.is_empty() {
        if m.gomod.is_some() || m.gowork.is_some() {
            o.ok("GO042", S_MOD, "go.mod/go.work parse as go parses them");
        }
    } else {
        o.error("GO042", S_MOD, problems.join("; "), fixes.join("; "));
    }

    // GO043: -mod=vendor without vendor/modules.txt, with requirements to vendor.
    let mod_flag = goenv::analyze_goflags(s.val("GOFLAGS"))
        .flags
        .iter()
        .rev()
        .find(|fl| fl.name == "mod")
        .and_then(|fl| fl.value.clone());
    if let (Some("vendor"), Some(gm), Some(text)) = (mod_flag.as_deref(), &m.gomod, &m.gomod_text)
        && m.gowork.is_none()
    {
        let requires = !goenv::directive_items(text, "require").is_empty();
        let dir = gm.path.parent().unwrap_or(Path::new("/"));
        if requires && !m.vendor_modules_txt {
            o.error(
                "GO043",
                S_MOD,
                format!("GOFLAGS has -mod=vendor{} but {} has no vendor/modules.txt: every build fails with \"go: inconsistent vendoring in {}\"", from_where(f, "GOFLAGS"), dir.display(), dir.display()),
                format!("go mod vendor (in {}), or drop -mod=vendor from GOFLAGS", dir.display()),
            );
        }
    }

    // GO043: vendor/modules.txt out of step with go.mod, in the vendor mode go picks by
    // itself (go line >= 1.14, vendor/ present, no -mod=mod/readonly, no workspace).
    if let (Some(gm), Some(text), Some(vt)) = (&m.gomod, &m.gomod_text, &m.vendor_text)
        && m.gowork.is_none()
        && !matches!(mod_flag.as_deref(), Some("mod" | "readonly"))
        && gm
            .go
            .as_deref()
            .is_some_and(|g| goenv::compare_versions(g, "1.14").is_ge())
    {
        let reqs = gomod_requires(text);
        let explicit = vendor_explicit(vt);
        let mut lines = Vec::new();
        for (p, v) in &reqs {
            if !explicit.iter().any(|(ep, ev)| ep == p && ev == v) {
                lines.push(format!("{p}@{v}: is explicitly required in go.mod, but not marked as explicit in vendor/modules.txt"));
            }
        }
        for (p, v) in &explicit {
            if !reqs.iter().any(|(rp, rv)| rp == p && rv == v) {
                lines.push(format!("{p}@{v}: is marked as explicit in vendor/modules.txt, but not explicitly required in go.mod"));
            }
        }
        if !lines.is_empty() {
            let dir = gm.path.parent().unwrap_or(Path::new("/"));
            o.error(
                "GO043",
                S_MOD,
                format!(
                    "go: inconsistent vendoring in {}: {} (every build here fails)",
                    dir.display(),
                    lines.join("; ")
                ),
                format!("go mod vendor (in {})", dir.display()),
            );
        }
    }

    // GO043: -mod=mod in workspace mode: go refuses it before doing anything.
    if mod_flag.as_deref() == Some("mod") && m.gowork.is_some() && s.val("GOWORK") != "off" {
        let gf = s.val("GOFLAGS");
        let rest: Vec<&str> = gf
            .split_whitespace()
            .filter(|w| !w.trim_start_matches('-').starts_with("mod="))
            .collect();
        let drop = if rest.is_empty() {
            unset_fix(f, "GOFLAGS")
        } else {
            set_fix(f, "GOFLAGS", &rest.join(" "))
        };
        o.error(
            "GO043",
            S_MOD,
            format!("GOFLAGS has -mod=mod{} and {} puts --dir in workspace mode: every build fails with `go: -mod may only be set to readonly or vendor when in workspace mode, but it is set to \"mod\"`", from_where(f, "GOFLAGS"), m.gowork.as_ref().map_or(String::new(), |w| w.0.path.display().to_string())),
            format!("{drop}, or GOWORK=off for this build"),
        );
    }

    // GO044: module mode with no module: package builds fail (files and pkg@version work).
    let modules_on = matches!(s.val("GO111MODULE"), "" | "on");
    if modules_on && m.gomod.is_none() && m.gowork.is_none() {
        o.info(
            "GO044",
            S_MOD,
            format!("no go.mod at or above {}: `go build` and `go test` of packages here fail with \"go: go.mod file not found in current directory or any parent directory; see 'go help modules'\" (`go run file.go` and `go install pkg@version` work)", f.dir.display()),
            Some("go mod init <module path>, if this is meant to be a module"),
        );
    }
    parses
}

/// go.mod's `require` entries (line and block forms): (path, version).
fn gomod_requires(text: &str) -> Vec<(String, String)> {
    goenv::directive_items(text, "require")
        .into_iter()
        .filter_map(|item| {
            let mut w = item.split_whitespace();
            let (p, v) = (w.next()?, w.next()?);
            Some((p.trim_matches('"').to_string(), v.to_string()))
        })
        .collect()
}

/// vendor/modules.txt's modules marked `## explicit`: (path, version).
fn vendor_explicit(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut w = rest.split_whitespace();
            current = match (w.next(), w.next()) {
                (Some(p), Some(v)) if v.starts_with('v') => Some((p.to_string(), v.to_string())),
                _ => None,
            };
        } else if let Some(rest) = line.strip_prefix("## ") {
            if rest.split(';').any(|a| a.trim() == "explicit")
                && let Some(c) = current.take()
            {
                out.push(c);
            }
        } else {
            current = None;
        }
    }
    out
}

/// Where toolchain.Exec would find a toolchain.
enum Found {
    /// A `go1.x.y` executable on PATH (absolute entry).
    OnPath(PathBuf),
    /// Unpacked in the module cache.
    Cached(PathBuf),
    /// Neither, but GOPROXY's first entry may serve it.
    Download(String),
    /// Neither, and GOPROXY is off or empty.
    Nowhere,
}

fn find_toolchain(f: &Facts, target: &str) -> Found {
    let s = &f.settings;
    let scan = facts::scan_path_guarded(
        &f.path_list,
        &[target.to_string()],
        &[],
        f.mounts.as_ref(),
        &f.dir,
    );
    let on_path = scan
        .first(target)
        .filter(|h| !h.relative)
        .map(|h| h.path.clone());
    if let Some(p) = on_path {
        return Found::OnPath(p);
    }
    let (mc, _) = s.gomodcache();
    let cached = (!mc.is_empty() && mc.starts_with('/'))
        .then(|| goenv::toolchain_module_dir(Path::new(&mc), target, &f.host.0, &f.host.1))
        .and_then(|d| {
            guarded("looking in the module cache", move || {
                d.join("bin/go").is_file().then_some(d)
            })
            .ok()
            .flatten()
        });
    if let Some(d) = cached {
        return Found::Cached(d);
    }
    let proxy = s.val("GOPROXY");
    let first_proxy = proxy
        .split([',', '|'])
        .map(str::trim)
        .find(|e| !e.is_empty())
        .unwrap_or("");
    if first_proxy == "off" || first_proxy.is_empty() {
        Found::Nowhere
    } else {
        Found::Download(first_proxy.to_string())
    }
}

/// GO010/GO034: where a toolchain switch to `target` finds it — PATH, the module cache, or a
/// download (toolchain.Exec's order). `local_ok`: the local go satisfies the go line, so
/// GOTOOLCHAIN=local is a fix that works.
fn toolchain_availability(
    f: &Facts,
    o: &mut Out,
    gt: &goenv::Gotoolchain,
    gt_raw: &str,
    reason: &str,
    target: &str,
    local_ok: bool,
) {
    let proxy = f.settings.val("GOPROXY");
    let extra_exec = Some("install that Go as your main toolchain to skip the extra exec");
    let or_local = if local_ok {
        format!(
            ", or stay on the local go: {}",
            set_fix(f, "GOTOOLCHAIN", "local")
        )
    } else {
        String::new()
    };
    match find_toolchain(f, target) {
        Found::OnPath(p) => o.info(
            "GO010",
            S_MOD,
            format!(
                "{reason}: every go command here re-executes {} ({target})",
                p.display()
            ),
            extra_exec,
        ),
        Found::Cached(d) => o.info(
            "GO010",
            S_MOD,
            format!(
                "{reason}: every go command here re-executes the downloaded {target} ({})",
                d.display()
            ),
            extra_exec,
        ),
        _ if gt.mode == SwitchMode::Path => o.error(
            "GO034",
            S_MOD,
            format!("{reason}: go: cannot find {target:?} in PATH (GOTOOLCHAIN={gt_raw}): every go command here fails"),
            format!("put a {target} executable on PATH (unpack Go {} into a new directory and link its bin/go as {target} in a PATH directory){or_local}", target.trim_start_matches("go")),
        ),
        Found::Nowhere => o.error(
            "GO034",
            S_MOD,
            format!("{reason}: {target} is not on PATH or in the module cache and GOPROXY={proxy} cannot download it: every go command here fails, even `go version`"),
            format!("install Go {} and put its bin first on PATH, or let go download it: {}{or_local}", target.trim_start_matches("go"), set_fix(f, "GOPROXY", "https://proxy.golang.org,direct")),
        ),
        Found::Download(first_proxy) => o.warn(
            "GO034",
            S_MOD,
            format!("{reason}: the first go command here downloads {target} from {first_proxy} (fails offline)"),
            format!("install Go {} and put its bin first on PATH{or_local}", target.trim_start_matches("go")),
        ),
    }
}

// ---------------------------------------------------------------------------------------------

const S_CACHE: &str = "caches";

fn caches(f: &Facts, o: &mut Out) {
    let s = &f.settings;
    let mounts = f.mounts.clone();

    // GO050 / GO051: GOCACHE.
    let (gc, _) = s.gocache();
    match gc {
        Err(e) => o.error(
            "GO050",
            S_CACHE,
            format!("{e}{}", from_where(f, "GOCACHE")),
            "set GOCACHE to a writable local directory, e.g. $HOME/.cache/go-build",
        ),
        Ok(dir) => cache_dir(o, "GO050", "GOCACHE", &dir, mounts.clone(), true),
    }

    // GO054 / GO051: GOMODCACHE.
    let (mc, src) = s.gomodcache();
    if mc.is_empty() {
        o.warn(
            "GO054",
            S_CACHE,
            "GOMODCACHE is empty (no GOPATH): module downloads fail",
            "set GOPATH or GOMODCACHE",
        );
    } else if !mc.starts_with('/') {
        o.error(
            "GO054",
            S_CACHE,
            format!(
                "GOMODCACHE={mc}{}: GOMODCACHE entry is relative; must be absolute path",
                if src == Source::Default {
                    String::new()
                } else {
                    from_where(f, "GOMODCACHE")
                }
            ),
            "use an absolute path",
        );
    } else {
        cache_dir(
            o,
            "GO054",
            "GOMODCACHE",
            Path::new(&mc),
            mounts.clone(),
            false,
        );
    }

    // GO055: the temp dir go build/run/test executes binaries from.
    let (tmp, var) = match s.val("GOTMPDIR") {
        "" => (
            s.env
                .get("TMPDIR")
                .filter(|t| !t.is_empty())
                .cloned()
                .unwrap_or_else(|| "/tmp".into()),
            if s.env.get("TMPDIR").is_some_and(|t| !t.is_empty()) {
                "TMPDIR"
            } else {
                "default"
            },
        ),
        v => (v.to_string(), "GOTMPDIR"),
    };
    let p = PathBuf::from(&tmp);
    let m2 = mounts.clone();
    match guarded("examining the temp dir", move || dir_state(&p, m2.as_ref())) {
        Err(e) => o.error("GO055", S_CACHE, e, "point GOTMPDIR at a local directory"),
        Ok(st) if !st.exists => o.error("GO055", S_CACHE, format!("temp dir {tmp} ({var}) does not exist: go build fails creating its work dir"), "create it or point GOTMPDIR/TMPDIR elsewhere"),
        Ok(st) if st.write_error.is_some() => o.error("GO055", S_CACHE, format!("temp dir {tmp} ({var}) is not writable: {}", st.write_error.unwrap_or_default()), "export GOTMPDIR=$HOME/.cache/go-tmp (and mkdir it)"),
        Ok(st) if st.noexec => o.error("GO055", S_CACHE, format!("temp dir {tmp} ({var}) is mounted noexec: go run/go test fail with `fork/exec /tmp/go-build.../exe/main: permission denied`"), "export GOTMPDIR=$HOME/.cache/go-tmp (and mkdir it)"),
        Ok(st) => {
            free_space(o, "the temp dir", Path::new(&tmp), &st);
            o.ok("GO055", S_CACHE, format!("temp dir {tmp} ({var}) is writable and executable{}", st.fs_type.map_or(String::new(), |t| format!(" ({t})"))))
        }
    }

    // GO058: telemetry mode (in the config dir, under $HOME).
    if let Ok(cfg) = goenv::user_config_dir(&s.env) {
        let file = cfg.join("go/telemetry/mode");
        let mode = guarded("reading the telemetry mode", move || {
            std::fs::read_to_string(file).ok()
        })
        .ok()
        .flatten();
        let mode = mode
            .as_deref()
            .and_then(|m| m.split_whitespace().next())
            .unwrap_or("local")
            .to_string();
        match mode.as_str() {
            "off" => o.ok("GO058", S_CACHE, "telemetry off"),
            m => o.info(
                "GO058",
                S_CACHE,
                format!(
                    "telemetry mode {m}: every go command writes counters under {}",
                    cfg.join("go/telemetry").display()
                ),
                Some("go telemetry off"),
            ),
        }
    }
}

/// Below this much free space (or these many inodes) go's writes fail: a build on a full
/// 256 KiB tmpfs GOCACHE fails with "write …: no space left on device".
const FULL_BYTES: u64 = 4 << 20;
const FULL_INODES: u64 = 100;
/// Below this a big build or a module download can run out.
const LOW_BYTES: u64 = 100 << 20;

/// GO059: free space and inodes where the go command writes (GOCACHE, GOMODCACHE, temp dir).
fn free_space(o: &mut Out, what: &str, dir: &Path, st: &facts::DirState) {
    let Some((bytes, inodes)) = st.free else {
        return;
    };
    let base = st.writable_base.as_deref().unwrap_or(dir);
    let mb = bytes as f64 / (1 << 20) as f64;
    if bytes < FULL_BYTES || inodes < FULL_INODES {
        o.error(
            "GO059",
            S_CACHE,
            format!("{what} {}: {} has {mb:.1} MiB and {inodes} inodes free: go's writes there fail with \"no space left on device\"", dir.display(), base.display()),
            format!("free space on {} or point {what} at another filesystem", st.mount_point.as_deref().unwrap_or("that filesystem")),
        );
    } else if bytes < LOW_BYTES {
        o.warn(
            "GO059",
            S_CACHE,
            format!("{what} {}: only {mb:.0} MiB free on {}: a large build or module download may run out", dir.display(), base.display()),
            "free space there (go clean -cache empties the build cache)".to_string(),
        );
    }
}

fn cache_dir(
    o: &mut Out,
    id: &'static str,
    var: &str,
    dir: &Path,
    mounts: Option<crate::fsinfo::MountTable>,
    required: bool,
) {
    let p = dir.to_path_buf();
    let st = match guarded(&format!("examining {var}"), move || {
        dir_state(&p, mounts.as_ref())
    }) {
        Ok(st) => st,
        Err(e) => {
            o.error(
                id,
                S_CACHE,
                format!("{var} {}: {e}", dir.display()),
                format!("move {var} to a local disk"),
            );
            return;
        }
    };
    free_space(o, var, dir, &st);
    if st.not_dir {
        o.error(
            id,
            S_CACHE,
            format!("{var} {} is not a directory", dir.display()),
            format!("remove it or set {var} elsewhere"),
        );
    } else if let Some(err) = &st.write_error {
        let base = st.writable_base.as_deref().unwrap_or(dir);
        let what = if st.exists {
            format!("{var} {} is not writable: {err}", dir.display())
        } else {
            format!(
                "{var} {} does not exist and cannot be created in {}: {err}",
                dir.display(),
                base.display()
            )
        };
        let consequence = if required {
            format!(
                "; every build fails (failed to initialize build cache at {}: ... {err})",
                dir.display()
            )
        } else {
            "; module downloads fail".into()
        };
        let msg = format!("{what}{consequence}");
        let fix = format!(
            "set {var} to a writable local directory (e.g. {})",
            if required {
                "$HOME/.cache/go-build"
            } else {
                "$HOME/go/pkg/mod"
            }
        );
        if required {
            o.error(id, S_CACHE, msg, fix)
        } else {
            o.warn(id, S_CACHE, msg, fix)
        }
    } else if let Some(t) = st
        .fs_type
        .as_deref()
        .filter(|t| crate::fsinfo::is_network_fs(t) || crate::fsinfo::is_fuse(t))
    {
        o.warn(
            "GO051",
            S_CACHE,
            format!("{var} {} is on {t} ({}): every build stats thousands of cache files over the network", dir.display(), st.mount_point.unwrap_or_default()),
            format!("{var}=/var/tmp/$USER/{}", if required { "go-build" } else { "gomodcache" }),
        );
    } else {
        o.ok(
            id,
            S_CACHE,
            format!(
                "{var} {} is {}{}",
                dir.display(),
                if st.exists { "writable" } else { "creatable" },
                st.fs_type.map_or(String::new(), |t| format!(" ({t})"))
            ),
        );
    }
}

// ---------------------------------------------------------------------------------------------

const S_CGO: &str = "cgo";

fn cgo(f: &Facts, o: &mut Out) {
    let s = &f.settings;
    let cc_raw = s.val("CC");
    let words = match goenv::quoted_split(cc_raw) {
        Ok(w) => w,
        Err(e) => {
            o.error(
                "GO062",
                S_CGO,
                format!("CC={cc_raw:?}: {e}"),
                "fix the quoting of CC",
            );
            return;
        }
    };
    let cc = words.first().cloned().unwrap_or_else(|| "gcc".into());
    if cc.contains('/') && !cc.starts_with('/') {
        o.error(
            "GO062",
            S_CGO,
            format!("CC={cc}: CC entry is relative; must be absolute path"),
            "use an absolute path or a bare name found on PATH",
        );
        return;
    }
    let explicit_cgo = s.val("CGO_ENABLED");
    let native = s.or_default("GOOS", &f.host.0).0 == f.host.0
        && s.or_default("GOARCH", &f.host.1).0 == f.host.1;
    // Where is the compiler?
    let (found, relative_hit) = if cc.starts_with('/') {
        let p = PathBuf::from(&cc);
        (
            guarded("looking at CC", move || {
                facts::is_executable(&p).then_some(p)
            })
            .ok()
            .flatten(),
            None,
        )
    } else {
        match f.scan.as_ref().ok().and_then(|sc| sc.first(&cc)) {
            Some(h) if h.relative => (None, Some(h.clone())),
            Some(h) => (Some(h.path.clone()), None),
            None => (None, None),
        }
    };
    if let Some(h) = &relative_hit {
        o.error(
            "GO061",
            S_CGO,
            format!("{cc} is found only at {} through the relative PATH entry {:?}: Go ignores it (exec.ErrDot), so cgo is off and cgo packages fail", h.path.display(), h.dir),
            "remove \".\" and empty entries from PATH; install a C compiler in a system directory",
        );
    }
    match (found.clone(), explicit_cgo) {
        (Some(p), "0") => o.ok("GO060", S_CGO, format!("CGO_ENABLED=0{} (C compiler {} present)", from_where(f, "CGO_ENABLED"), p.display())),
        (Some(p), _) => o.ok("GO060", S_CGO, format!("cgo {}: C compiler {}", if native || explicit_cgo == "1" { "on" } else { "off for cross builds" }, p.display())),
        (None, "1") => o.error(
            "GO060",
            S_CGO,
            format!("CGO_ENABLED=1{} but no C compiler: cgo: C compiler {cc:?} not found: exec: {cc:?}: executable file not found in $PATH", from_where(f, "CGO_ENABLED")),
            "install gcc (apt install build-essential) or set CC, or CGO_ENABLED=0",
        ),
        (None, "0") => o.ok("GO060", S_CGO, format!("CGO_ENABLED=0{}; no C compiler needed", from_where(f, "CGO_ENABLED"))),
        // An explicit CC keeps cgo on (go1.26.8 `go env CGO_ENABLED` says 1 with CC=ccache
        // missing), so every package that needs cgo fails, net and os/user included.
        (None, _) if s.get("CC").is_some() && relative_hit.is_none() => {
            let gcc_on_path = f.scan.as_ref().ok().and_then(|sc| sc.first("gcc")).is_some_and(|h| !h.relative);
            o.error(
                "GO060",
                S_CGO,
                format!("CC={cc_raw}{} but {cc:?} is not on PATH: go keeps cgo on and every cgo build (net, os/user, runtime/cgo) fails with `cgo: C compiler {cc:?} not found: exec: {cc:?}: executable file not found in $PATH`", from_where(f, "CC")),
                if gcc_on_path { format!("install {cc}, or {}", unset_fix(f, "CC")) } else { format!("install {cc}, or CGO_ENABLED=0 for pure-Go builds") },
            )
        }
        (None, _) if relative_hit.is_none() => o.warn(
            "GO060",
            S_CGO,
            format!("no C compiler ({cc}) on PATH: cgo is silently disabled, `-race` fails (go: -race requires cgo) and packages like net use pure-Go fallbacks"),
            "install gcc (apt install build-essential), or set CGO_ENABLED=0 to make it explicit",
        ),
        (None, _) => {}
    }

    // GOFLAGS=-race needs cgo: with CGO_ENABLED=0, or no C compiler (and no CC), every
    // build fails with go's own sentence.
    let race = goenv::analyze_goflags(s.val("GOFLAGS"))
        .flags
        .iter()
        .any(|fl| {
            fl.name == "race"
                && fl
                    .value
                    .as_deref()
                    .is_none_or(|v| matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True"))
        });
    let cgo_off = explicit_cgo == "0"
        || (explicit_cgo.is_empty() && found.is_none() && s.get("CC").is_none());
    if race && cgo_off {
        o.error(
            "GO060",
            S_CGO,
            format!("GOFLAGS has -race{} and cgo is off{}: every build fails with `go: -race requires cgo; enable cgo by setting CGO_ENABLED=1`", from_where(f, "GOFLAGS"), if explicit_cgo == "0" { format!(" (CGO_ENABLED=0{})", from_where(f, "CGO_ENABLED")) } else { " (no C compiler)".into() }),
            if explicit_cgo == "0" { unset_fix(f, "CGO_ENABLED") } else { "install gcc (apt install build-essential), or drop -race from GOFLAGS".into() },
        );
    }
}

// ---------------------------------------------------------------------------------------------

const S_INST: &str = "install";

fn install(f: &Facts, o: &mut Out) {
    let s = &f.settings;
    let gobin = s.val("GOBIN");
    if !gobin.is_empty() && !gobin.starts_with('/') {
        o.error(
            "GO023",
            S_INST,
            format!(
                "GOBIN={gobin}{}: cannot install, GOBIN must be an absolute path",
                from_where(f, "GOBIN")
            ),
            "use an absolute GOBIN or unset it",
        );
        return;
    }
    let dir = if gobin.is_empty() {
        s.gopath_dir("bin")
    } else {
        Some(PathBuf::from(gobin))
    };
    let Some(dir) = dir else {
        o.warn(
            "GO022",
            S_INST,
            "no install dir: GOBIN unset and GOPATH empty, so `go install` fails",
            "set GOBIN or GOPATH",
        );
        return;
    };
    let what = if gobin.is_empty() {
        "GOPATH/bin"
    } else {
        "GOBIN"
    };
    let want = goenv::clean(&dir);
    let pl = f.path_list.clone();
    let d2 = want.clone();
    let on_path = guarded("comparing PATH entries", move || {
        let real = std::fs::canonicalize(&d2).ok();
        pl.iter().filter(|e| Path::new(e).is_absolute()).any(|e| {
            let c = goenv::clean(Path::new(e));
            c == d2 || (real.is_some() && std::fs::canonicalize(&c).ok() == real)
        })
    });
    // Never suggest a PATH entry others can write to: whoever writes there decides what
    // runs (path-audit's PATH030/PATH031/PATH034).
    let d3 = want.clone();
    let unsafe_dir = guarded("checking the install dir's permissions", move || {
        others_can_write(&d3)
    })
    .ok()
    .flatten();
    let exists = want.is_dir();
    match on_path {
        Ok(true) => o.ok("GO022", S_INST, format!("`go install` writes to {} ({what}), which is on PATH", want.display())),
        Ok(false) if !want.is_absolute() => o.skip("GO022", S_INST, format!("{} ({what}) is not absolute (GO021)", want.display())),
        Ok(false) => match unsafe_dir {
            Some((d, mode)) => o.warn(
                "GO022",
                S_INST,
                format!("`go install` writes to {} ({what}), which is not on PATH, and {} is writable by others (mode {mode:04o}): do not add it to PATH", want.display(), d.display()),
                format!("point GOBIN at a directory only you can write: {}, then add it to PATH", set_fix(f, "GOBIN", &format!("{}/.local/go/bin", s.env.get("HOME").map_or("$HOME", String::as_str)))),
            ),
            None => o.warn(
                "GO022",
                S_INST,
                format!("`go install` writes to {} ({what}), which is not on PATH: installed commands are \"not found\"{}", want.display(), if exists { "" } else { " (the directory does not exist yet: `go install` creates it)" }),
                format!("export PATH=\"$PATH:{}\"", want.display()),
            ),
        },
        Err(e) => o.warn("GO022", S_INST, e, "run `golat path-audit`"),
    }
}

/// The directory itself, or its nearest existing ancestor, or any ancestor without the
/// sticky bit, that others can write to: (that directory, its mode).
fn others_can_write(dir: &Path) -> Option<(PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut first_existing = true;
    for a in dir.ancestors() {
        let Ok(m) = std::fs::metadata(a) else {
            continue;
        };
        let mode = m.permissions().mode() & 0o7777;
        let sticky = mode & 0o1000 != 0;
        if mode & 0o002 != 0 && (first_existing || !sticky) {
            return Some((a.to_path_buf(), mode));
        }
        first_existing = false;
    }
    None
}

// ---------------------------------------------------------------------------------------------

const S_NET: &str = "network";

/// HTTP's reason phrase, as go prints a status (`403 Forbidden`).
fn status_text(code: u16) -> String {
    let reason = match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        407 => "Proxy Authentication Required",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    };
    format!("{code} {reason}").trim_end().to_string()
}

/// GOPROXY split as modfetch.proxyList does, each entry with the separator after it (',' falls
/// through to the next only on 404/410, '|' on any error).
fn proxy_list(v: &str) -> Vec<(String, char)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in v.chars() {
        if c == ',' || c == '|' {
            if !cur.trim().is_empty() {
                out.push((cur.trim().to_string(), c));
            }
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        out.push((cur.trim().to_string(), ','));
    }
    out
}

/// The toolchain the module would download (GOTOOLCHAIN=auto or a +auto, newer than local,
/// neither on PATH nor in the module cache) and the proxy it comes from.
fn toolchain_to_download(f: &Facts) -> Option<(String, String)> {
    let s = &f.settings;
    let local = f.local_version()?;
    let m = f.modules.as_ref().ok()?;
    let file = m.gowork.as_ref().map(|w| &w.0).or(m.gomod.as_ref());
    let raw = s.val("GOTOOLCHAIN");
    let gt = goenv::parse_gotoolchain(raw).ok()?;
    if gt.mode == SwitchMode::Path {
        return None;
    }
    let modules_on = match s.val("GO111MODULE") {
        "" | "on" => true,
        "auto" => m.gomod.is_some(),
        _ => false,
    };
    let target = goenv::select_toolchain(&gt, raw, &local, file, modules_on)
        .ok()?
        .target?;
    match find_toolchain(f, &target) {
        // `direct` fetches golang.org/toolchain from its VCS: nothing a proxy GET can tell.
        Found::Download(p) if p != "direct" => Some((target, network::proxy_url(&p))),
        _ => None,
    }
}

/// `--network`: GO046 the first GOPROXY proxy answers, GO047 the checksum database answers,
/// GO048 the toolchain the module asks for exists on the proxy, GO049 the other GOPROXY hosts
/// resolve. All probes start at once, each with network::TIMEOUT, so the section costs at
/// most about 3 s.
fn network_checks(f: &Facts, o: &mut Out) {
    let s = &f.settings;
    let list = proxy_list(s.val("GOPROXY"));
    let usable = |e: &str| {
        !matches!(e, "off" | "direct")
            && e.contains(['.', ':', '/'])
            && network::proxy_url_error(&network::proxy_url(e)).is_none()
    };
    // The first entry go asks, when it is a proxy URL over the network.
    let first = list.first().and_then(|(e, sep)| {
        let url = network::proxy_url(e);
        (usable(e) && !url.starts_with("file:"))
            .then(|| (url.trim_end_matches('/').to_string(), *sep))
    });
    let list_probe = first
        .as_ref()
        .map(|(u, _)| network::get(&format!("{u}/golang.org/toolchain/@v/list")));

    // GOSUMDB: go first asks the proxy whether it serves the database (modfetch's
    // <proxy>/sumdb/<name>/supported), then the database itself.
    let sumdb = s.val("GOSUMDB").trim().to_string();
    let gonosumdb = s.val("GONOSUMDB");
    let sum_off = sumdb == "off"
        || matches!(gonosumdb, "*" | "*/*")
        || matches!(s.val("GOPRIVATE"), "*" | "*/*")
        || s.val("GOFLAGS")
            .split_whitespace()
            .any(|w| w.starts_with("-insecure"));
    let mut words = sumdb.split_whitespace();
    let sum_name = words.next().unwrap_or("sum.golang.org");
    let sum_name = sum_name.split('+').next().unwrap_or(sum_name).to_string();
    let sum_url = words.next().map_or(format!("https://{sum_name}"), |u| {
        u.trim_end_matches('/').to_string()
    });
    let sum_probes = (!sum_off).then(|| {
        first
            .as_ref()
            .map(|(u, _)| network::get(&format!("{u}/sumdb/{sum_name}/supported")))
    });

    let (hos, hos_arch) = (&f.host.0, &f.host.1);
    let tc = toolchain_to_download(f).map(|(target, proxy)| {
        let base = format!(
            "{}/golang.org/toolchain/@v/v0.0.1-{target}.{hos}-{hos_arch}",
            proxy.trim_end_matches('/')
        );
        let p = network::get(&format!("{base}.info"));
        (target, base, p)
    });

    // GO049: the hosts of the other proxies (the first one's is part of its GET).
    let lookups: Vec<(String, network::Lookup)> = list
        .iter()
        .skip(1)
        .filter(|(e, _)| usable(e))
        .filter_map(|(e, _)| {
            let url = network::proxy_url(e);
            let hp = network::host_port(&url).filter(|_| !url.starts_with("file:"))?;
            Some((url, network::resolve(&hp)))
        })
        .collect();

    let default_proxy = "https://proxy.golang.org,direct";
    let secs = network::TIMEOUT.as_secs();
    // GO046.
    match (first, list_probe) {
        (Some((url, sep)), Some(p)) => {
            let probe = format!("{url}/golang.org/toolchain/@v/list");
            let falls_back = sep == '|' && list.len() > 1;
            let problem = match p.wait() {
                network::Answer::Status(code @ (200 | 404 | 410), _, t) => {
                    o.ok(
                        "GO046",
                        S_NET,
                        format!(
                            "GOPROXY's first proxy {url} answered in {} ms (HTTP {code})",
                            t.as_millis()
                        ),
                    );
                    None
                }
                network::Answer::Status(code, body, _) => Some(format!(
                    "reading {probe}: {}{}",
                    status_text(code),
                    if body.is_empty() {
                        String::new()
                    } else {
                        format!(" (server response: {})", body.lines().next().unwrap_or(""))
                    }
                )),
                network::Answer::Failed(e) => Some(format!("Get {probe:?}: {e}")),
                network::Answer::TimedOut => Some(format!(
                    "GET {probe}: no answer within {secs} s (go waits on it: module downloads and toolchain switches stall)"
                )),
            };
            if let Some(problem) = problem {
                let msg = format!(
                    "GOPROXY's first proxy {url}{} does not answer: {problem}",
                    from_where(f, "GOPROXY")
                );
                let fix = format!(
                    "check the host name and your network (a corporate proxy: HTTPS_PROXY), or {}",
                    set_fix(f, "GOPROXY", default_proxy)
                );
                if falls_back {
                    o.warn(
                        "GO046",
                        S_NET,
                        format!("{msg}; go falls back to the next entry ('|')"),
                        fix,
                    );
                } else {
                    o.error("GO046", S_NET, format!("{msg}: module downloads fail"), fix);
                }
            }
        }
        _ => o.skip(
            "GO046",
            S_NET,
            format!(
                "GOPROXY={}: no network proxy first in the list to ask",
                s.val("GOPROXY")
            ),
        ),
    }

    // GO047.
    match sum_probes {
        None => o.skip(
            "GO047",
            S_NET,
            "checksum database off (GO030): nothing to ask",
        ),
        Some(via_proxy) => {
            let proxied = via_proxy.map(network::Pending::wait);
            // The database itself only when the proxy does not serve it, as go asks.
            let direct = match &proxied {
                Some(network::Answer::Status(200, _, _)) => network::Answer::TimedOut,
                _ => network::get(&format!("{sum_url}/latest")).wait(),
            };
            match (proxied, direct) {
                (Some(network::Answer::Status(200, _, t)), _) => o.ok(
                    "GO047",
                    S_NET,
                    format!(
                        "checksum database {sum_name} answers through the proxy in {} ms",
                        t.as_millis()
                    ),
                ),
                (_, network::Answer::Status(200, _, t)) => o.ok(
                    "GO047",
                    S_NET,
                    format!(
                        "checksum database {sum_url} answered in {} ms",
                        t.as_millis()
                    ),
                ),
                (_, a) => {
                    let why = match a {
                        network::Answer::Status(code, _, _) => {
                            format!("reading {sum_url}/latest: {}", status_text(code))
                        }
                        network::Answer::Failed(e) => format!("Get \"{sum_url}/latest\": {e}"),
                        network::Answer::TimedOut => {
                            format!("GET {sum_url}/latest: no answer within {secs} s")
                        }
                    };
                    o.error(
                        "GO047",
                        S_NET,
                        format!("checksum database {sum_name} cannot be reached (neither through GOPROXY nor directly): {why}: go fails with `verifying module: …` for any module not yet in go.sum"),
                        "make it reachable (or use a GOPROXY that serves /sumdb/); for private modules only, GOPRIVATE=example.com/org/*: never GOSUMDB=off for everything",
                    );
                }
            }
        }
    }

    // GO048.
    match tc {
        None => o.skip(
            "GO048",
            S_NET,
            "no toolchain download asked for here (GO010)",
        ),
        Some((target, base, p)) => match p.wait() {
            network::Answer::Status(200, _, t) => o.ok(
                "GO048",
                S_NET,
                format!("{target} ({hos}/{hos_arch}) exists on the proxy ({base}.info answered in {} ms)", t.as_millis()),
            ),
            network::Answer::Status(code, _, _) => {
                let module = format!("golang.org/toolchain@v0.0.1-{target}.{hos}-{hos_arch}");
                let go_says = if matches!(code, 404 | 410) {
                    format!("go: download {target} for {hos}/{hos_arch}: toolchain not available")
                } else {
                    format!("go: download {target}: {module}: reading {base}.zip: {}", status_text(code))
                };
                o.error(
                    "GO048",
                    S_NET,
                    format!("the module asks for {target}, which the proxy does not have (HTTP {code} for {base}.info): every go command here fails with `{go_says}`"),
                    "change the go/toolchain line to a released Go version",
                );
            }
            network::Answer::Failed(e) => o.error(
                "GO048",
                S_NET,
                format!("the module asks for {target}, and the proxy cannot be reached to download it: Get \"{base}.info\": {e}"),
                "fix GOPROXY (GO046), or install that Go and put it on PATH",
            ),
            network::Answer::TimedOut => o.error(
                "GO048",
                S_NET,
                format!("the module asks for {target}; {base}.info did not answer within {secs} s: go waits on the download"),
                "fix GOPROXY (GO046), or install that Go and put it on PATH",
            ),
        },
    }

    // GO049 (network part).
    for (url, l) in lookups {
        if let Err(e) = l.wait() {
            let host = network::host_port(&url).unwrap_or_default();
            let host = host
                .rsplit_once(':')
                .map_or(host.as_str(), |(h, _)| h)
                .to_string();
            // Not the first entry: go only gets there after the one before it failed.
            o.warn(
                "GO049",
                S_SET,
                format!("GOPROXY entry {url}: its host does not resolve ({e}): when go falls back to it, `dial tcp: lookup {host}: no such host`"),
                format!("check the spelling of {host}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_lines_as_modfile_parses_them() {
        for ok in ["1.22", "1.22.0", "1.21rc1", "1.23.4", "1.0", "2.0.10"] {
            assert!(go_version_ok(ok), "{ok}");
        }
        for bad in [
            "1.22.x",
            "1.22.",
            "01.2",
            "1.02",
            "1",
            "v1.22",
            "1.22.0-rc1",
            "1.22rc",
            "",
        ] {
            assert!(!go_version_ok(bad), "{bad}");
        }
    }

    #[test]
    fn one_letter_typos() {
        assert!(one_edit("GOPRXY", "GOPROXY"));
        assert!(one_edit("GOPROXYY", "GOPROXY"));
        assert!(one_edit("GOPORXY", "GOPROXY"));
        assert!(one_edit("GOFLAFS", "GOFLAGS"));
        assert!(!one_edit("GOPROXY", "GOPROXY"));
        assert!(!one_edit("GOOGLE_KEY", "GOPROXY"));
        assert!(!one_edit("GOPX", "GOPROXY"));
    }

    #[test]
    fn vendor_lists() {
        let m = "module m\n\ngo 1.22\n\nrequire a.com/x v1.0.0\n\nrequire (\n\tb.com/y v0.2.0 // indirect\n)\n";
        assert_eq!(
            gomod_requires(m),
            vec![
                ("a.com/x".into(), "v1.0.0".into()),
                ("b.com/y".into(), "v0.2.0".into())
            ]
        );
        let v = "# a.com/x v1.0.0 => ../x\n## explicit; go 1.22\na.com/x\n# b.com/y v0.2.0\nb.com/y\n# a.com/x => ../x\n";
        assert_eq!(
            vendor_explicit(v),
            vec![("a.com/x".into(), "v1.0.0".into())]
        );
    }

    #[test]
    fn short_paths() {
        assert_eq!(
            short_path(Path::new("/a/b/missing"), Path::new("/a/b/mod")),
            "../missing"
        );
        assert_eq!(short_path(Path::new("/x"), Path::new("/a/b/c/d")), "/x");
    }

    #[test]
    fn goflags_repairs() {
        assert_eq!(goflags_repair("-tags foo").as_deref(), Some("-tags=foo"));
        assert_eq!(goflags_repair("-tags=foo"), None);
        assert_eq!(goflags_repair("-tags foo bar"), None);
    }
}
