//! `golat path-audit`: findings about $PATH entries, shadowed executables and lookup cost.
//!
//! `scan` touches the filesystem (under deadlines), `cost` holds the probe model, this file
//! turns scans into rows, findings and a suggested PATH, and `render` prints them.

pub mod cost;
pub mod render;
pub mod scan;

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Severity, exit_code};
use crate::cli::{PathAuditArgs, Shell};
use crate::fsinfo::{self, FsClass, MountTable};
use crate::gosrc::{buildinfo, goenv};
use scan::{Kind, Outcome, Scan};

pub const SCHEMA: &str = "golat.path-audit/v1";

/// Names always reported under "shadowed executables", found or not.
pub const KEY_NAMES: &[&str] = &["go", "gofmt", "gcc", "cc", "git", "pkg-config"];

/// Files smaller than this are not read for Go build info.
const MIN_GO_BINARY: u64 = 256 * 1024;

/// Lookups slower than this (median, microseconds) are `slow_lookup`.
const SLOW_LOOKUP_US: f64 = 1000.0;

/// How long the first stat of an entry may take before the entry is `unresponsive`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    /// The PATH string audited (bytes that are not UTF-8 shown as U+FFFD; see PATH004).
    pub path: String,
    pub euid: u32,
    pub timeout_ms: u64,
    /// Wall time of the audit itself.
    pub elapsed_ms: f64,
    pub entries: Vec<Entry>,
    /// The finding to fix before any other (most severe; a hang before a security hole
    /// before a slow entry), or null.
    pub first_fix: Option<Finding>,
    pub findings: Vec<Finding>,
    pub shadowed: Vec<Shadowed>,
    pub cost: Cost,
    /// Shown as `path` is; `suggested_line` keeps an entry's bytes exactly.
    pub suggested_path: String,
    pub shell: &'static str,
    /// `suggested_path` as a line for `shell`.
    pub suggested_line: String,
    /// `suggested_path` without loss: `\\` for a backslash, `\xNN` for a byte that is not
    /// part of valid UTF-8.
    pub suggested_path_escaped: String,
    /// True when nothing of PATH was usable and the suggestion is the system directories.
    pub suggested_fallback: bool,
}

/// Findings of one id and severity beyond this many are shown as one (300 missing entries
/// are one warning listing them, not 300).
pub const COLLAPSE_OVER: usize = 3;

fn collapse(findings: Vec<Finding>) -> Vec<Finding> {
    let mut count: std::collections::BTreeMap<(&'static str, Severity), usize> = Default::default();
    for f in &findings {
        *count.entry((f.id, f.severity)).or_default() += 1;
    }
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        let n = count[&(f.id, f.severity)];
        if n <= COLLAPSE_OVER || f.entry.is_none() {
            out.push(f);
            continue;
        }
        // Only groups over the limit get here; their first member is already in `out`.
        if let Some(g) = out
            .iter_mut()
            .find(|g| g.id == f.id && g.severity == f.severity && g.entry.is_some())
        {
            g.entries.extend(f.entries);
            continue;
        }
        out.push(f);
    }
    for g in out.iter_mut().filter(|g| g.entries.len() > 1) {
        g.message = format!(
            "{} entries ({}) have this problem; the first: {}",
            g.entries.len(),
            ranges(&g.entries),
            g.message
        );
        g.fix = format!(
            "{} (and likewise for the other {}; the suggested PATH below does it for all)",
            g.fix,
            g.entries.len() - 1
        );
    }
    out
}

/// Sorted entry numbers as `#1-#4, #9`, at most 8 runs then `...`.
fn ranges(entries: &[usize]) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &e in entries {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == e => *end = e,
            _ => runs.push((e, e)),
        }
    }
    let mut parts: Vec<String> = runs
        .iter()
        .take(8)
        .map(|&(a, b)| {
            if a == b {
                format!("#{a}")
            } else {
                format!("#{a}-#{b}")
            }
        })
        .collect();
    if runs.len() > 8 {
        parts.push("...".into());
    }
    parts.join(", ")
}

/// Which finding to fix first among equally severe ones: what hangs or lets others run
/// code, then what breaks lookups, then cost.
fn priority(id: &str) -> usize {
    const ORDER: &[&str] = &[
        "PATH022", "PATH005", "PATH030", "PATH031", "PATH034", "PATH035", "PATH032", "PATH002",
        "PATH001", "PATH003", "PATH020", "PATH040", "PATH033", "PATH013", "PATH012", "PATH011",
        "PATH010", "PATH015",
    ];
    ORDER.iter().position(|o| *o == id).unwrap_or(ORDER.len())
}

/// The usual system directories (Debian's default PATH), for a PATH with nothing usable.
const SYSTEM_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Bytes as text without loss: valid UTF-8 as is (a backslash doubled), others as `\xNN`.
pub fn escape_bytes(b: &[u8]) -> String {
    let mut out = String::new();
    for chunk in b.utf8_chunks() {
        out.push_str(&chunk.valid().replace('\\', "\\\\"));
        for x in chunk.invalid() {
            out.push_str(&format!("\\x{x:02X}"));
        }
    }
    out
}

/// (entry with the newest go, entry with the go that wins): when an older go shadows a newer.
fn newest_go_behind(shadowed: &[Shadowed]) -> Option<(usize, usize)> {
    let go = shadowed.iter().find(|s| s.name == "go")?;
    let win = go.winner.as_ref()?;
    let wv = goenv::from_toolchain(win.go_version.as_deref()?)?;
    let mut best: Option<(&Location, String)> = None;
    for l in &go.losers {
        let Some(v) = l.go_version.as_deref().and_then(goenv::from_toolchain) else {
            continue;
        };
        if goenv::compare_versions(&v, &wv).is_gt()
            && best
                .as_ref()
                .is_none_or(|(_, b)| goenv::compare_versions(&v, b).is_gt())
        {
            best = Some((l, v));
        }
    }
    best.map(|(l, _)| (l.entry, win.entry))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Missing,
    NotDirectory,
    NotSearchable,
    Unresponsive,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missing => "missing",
            Status::NotDirectory => "not_directory",
            Status::NotSearchable => "not_searchable",
            Status::Unresponsive => "unresponsive",
            Status::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// 1-based position in PATH, as in the findings' "entry #N".
    pub index: usize,
    pub as_written: String,
    /// Symlinks resolved when the directory exists, else the lexically cleaned absolute path.
    pub resolved: String,
    pub status: Status,
    pub fs_type: Option<String>,
    pub mount_point: Option<String>,
    pub owner_uid: Option<u32>,
    pub owner: Option<String>,
    /// Octal permission bits, e.g. `0755`.
    pub mode: Option<String>,
    /// Median time to stat a missing name here (what a PATH miss costs), microseconds.
    pub lookup_us: Option<f64>,
    pub lookup_max_us: Option<f64>,
    pub executables: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The check's id in the research catalogue (PATH0xx); several findings may share it.
    pub id: &'static str,
    pub kind: &'static str,
    pub severity: Severity,
    /// 1-based entry index, or null for a finding about PATH as a whole.
    pub entry: Option<usize>,
    /// Every entry this finding covers: `[entry]`, or more when findings of one id were
    /// collapsed into one (more than [`COLLAPSE_OVER`] of them).
    pub entries: Vec<usize>,
    pub message: String,
    pub fix: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Location {
    pub entry: usize,
    pub path: String,
    /// Go version from the binary's build info (never by running it); null for non-Go files.
    pub go_version: Option<String>,
    pub link_target: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Shadowed {
    pub name: String,
    /// One of the names always reported (go, gofmt, gcc, cc, git, pkg-config).
    pub key: bool,
    /// The one a lookup finds; null when the name is on no entry.
    pub winner: Option<Location>,
    pub losers: Vec<Location>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    /// Where the probe counts come from.
    pub source: &'static str,
    pub commands: Vec<cost::CommandCost>,
}

const COST_SOURCE: &str = "probes per walked PATH entry measured with strace on go1.26.8 \
    (bench/path-audit/probe-counts.sh); lookups per cmd/go/internal/cfg (gcc), work/gccgo.go \
    (gccgo), os/exec.LookPath (stops at first hit, no de-duplication); ms = probes x each \
    entry's measured miss latency";

/// Options after the flags are interpreted once.
pub struct Options {
    pub path: OsString,
    pub timeout: Duration,
    pub shell: Shell,
    pub cwd: PathBuf,
    pub home: Option<String>,
    /// Where `go install` writes (GOBIN or GOPATH/bin): a missing entry naming it is expected.
    pub install_dir: Option<PathBuf>,
}

/// Runs the audit in a child process golat does not wait for at exit (see `detach`).
pub fn run(args: &PathAuditArgs) -> anyhow::Result<u8> {
    super::detach::run(|| run_here(args))
}

fn run_here(args: &PathAuditArgs) -> anyhow::Result<u8> {
    // 0 ms would call every entry unresponsive: a usage error (clap's exit code 2).
    if args.timeout == Some(0) {
        eprintln!("golat: --timeout must be at least 1 ms");
        return Ok(2);
    }
    let path = match &args.path {
        Some(p) => p.clone(),
        None => std::env::var_os("PATH").unwrap_or_default(),
    };
    let opts = Options {
        path,
        timeout: args
            .timeout
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_TIMEOUT),
        shell: args.shell,
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        home: std::env::var("HOME").ok().filter(|h| h.starts_with('/')),
        install_dir: {
            let env = std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect();
            super::go_install_dir(&env, Duration::from_millis(200))
        },
    };
    let report = audit(&opts)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        std::io::Write::write_all(&mut out, b"\n")?;
    } else {
        render::text(&mut out, &report, render::use_colour())?;
    }
    std::io::Write::flush(&mut out)?;
    let worst = report
        .findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Ok);
    Ok(exit_code(worst, args.fail_on))
}

/// How an entry is written, before touching the filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Absolute,
    Empty,
    Relative,
    Unexpanded,
}

fn form(s: &str) -> Form {
    if s.is_empty() {
        Form::Empty
    } else if s.starts_with('~')
        || s.contains(['$', '"', '\'', '\\', '`'])
        || s.trim() != s
        || s.contains("/~/")
    {
        Form::Unexpanded
    } else if s.starts_with('/') {
        Form::Absolute
    } else {
        Form::Relative
    }
}

/// Runs the audit: scans every entry (in parallel, under the timeout) and builds the report.
pub fn audit(opts: &Options) -> anyhow::Result<Report> {
    let start = Instant::now();
    // Entries are bytes, as Go and the kernel take them; `raw` is only for showing them.
    let raw_bytes: Vec<&[u8]> = goenv::split_path_list(&opts.path)
        .into_iter()
        .map(OsStr::as_bytes)
        .collect();
    let shown: Vec<String> = raw_bytes
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    let raw: Vec<&str> = shown.iter().map(String::as_str).collect();
    let forms: Vec<Form> = raw.iter().map(|s| form(s)).collect();
    // What a lookup actually stats: "" means ".", relative means cwd-relative.
    let mut probe_dirs: Vec<PathBuf> = raw_bytes
        .iter()
        .map(|b| {
            opts.cwd
                .join(OsStr::from_bytes(if b.is_empty() { b"." } else { b }))
        })
        .collect();
    // `~/x` expansions, scanned too so the suggested PATH's cost is measured, not guessed.
    let expansions: Vec<Option<Vec<u8>>> = raw_bytes
        .iter()
        .zip(&forms)
        .map(|(b, f)| match (f, &opts.home) {
            (Form::Unexpanded, Some(h)) if *b == b"~" || b.starts_with(b"~/") => {
                Some([h.as_bytes(), &b[1..]].concat())
            }
            _ => None,
        })
        .collect();
    let mut expansion_slot = vec![None; raw.len()];
    for (i, e) in expansions.iter().enumerate() {
        if let Some(e) = e {
            expansion_slot[i] = Some(probe_dirs.len());
            probe_dirs.push(PathBuf::from(OsStr::from_bytes(e)));
        }
    }
    let outcomes = scan::scan_all(&probe_dirs, opts.timeout);
    let mounts = MountTable::load().unwrap_or_default();
    let euid = nix::unistd::geteuid().as_raw();
    let mut my_groups: Vec<u32> = nix::unistd::getgroups()
        .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_default();
    my_groups.push(nix::unistd::getegid().as_raw());
    let users = Users::load();

    let lexical: Vec<PathBuf> = probe_dirs
        .iter()
        .map(|p| fsinfo::lexical_clean(p, &opts.cwd))
        .collect();

    let mut entries = Vec::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
        entries.push(entry_row(i, s, &outcomes[i], &lexical[i], &mounts, &users));
    }
    let usr_bin = entries
        .iter()
        .position(|e| e.resolved == "/usr/bin" && e.status == Status::Ok);

    let mut findings = Vec::new();
    let mut dropped = vec![false; raw.len()];
    // For the suggested PATH only: entries left out although they still answer (relative,
    // writable by others), and entries moved to the end (slow or remote).
    let mut leave_out = vec![false; raw.len()];
    let mut last = vec![false; raw.len()];
    let mut seen_str: HashMap<&Path, usize> = HashMap::new();
    let mut seen_ino: HashMap<(u64, u64), usize> = HashMap::new();
    for i in 0..raw.len() {
        let n = i + 1;
        let s = raw[i];
        let mut add = |id, kind, severity, message: String, fix: String| {
            findings.push(Finding {
                id,
                kind,
                severity,
                entry: Some(n),
                entries: vec![n],
                message,
                fix,
            })
        };
        if forms[i] == Form::Relative {
            leave_out[i] = true;
        }
        let all_empty = raw_bytes.iter().all(|b| b.is_empty());
        match forms[i] {
            // An empty PATH is one finding (PATH005), not one per empty element.
            Form::Empty if all_empty => dropped[i] = true,
            Form::Empty => {
                add(
                    "PATH001",
                    "empty",
                    Severity::Error,
                    format!(
                        "entry #{n} is empty (a leading, trailing or doubled ':'): shells search the current directory there; Go refuses what it finds (exec.ErrDot)"
                    ),
                    "remove the empty element from PATH (look for 'PATH=$PATH:' with an empty variable in your shell rc)".into(),
                );
                dropped[i] = true;
            }
            Form::Unexpanded => add(
                "PATH003",
                "unexpanded",
                Severity::Error,
                format!(
                    "entry #{n} {s:?} contains shell syntax that PATH never expands (~, $, quotes, backslashes or surrounding spaces): Go looks for a directory literally named that"
                ),
                match &expansions[i] {
                    Some(e) => {
                        format!(
                            "write the directory out: {} (use $HOME, not ~, inside quotes)",
                            String::from_utf8_lossy(e)
                        )
                    }
                    None => "write the directory as a plain absolute path in your shell rc".into(),
                },
            ),
            Form::Relative => add(
                "PATH002",
                "relative",
                Severity::Error,
                format!(
                    "entry #{n} {s:?} is relative: what runs depends on the current directory, and Go refuses executables found through it (exec.ErrDot)"
                ),
                // Never "e.g. <the current directory>": that is the same hole, written out.
                format!(
                    "remove entry #{n} (if you meant one fixed directory, write its absolute path; never the current directory)"
                ),
            ),
            Form::Absolute => {}
        }
        if std::str::from_utf8(raw_bytes[i]).is_err() {
            add(
                "PATH004",
                "not_utf8",
                Severity::Info,
                format!(
                    "entry #{n} {s:?} is not valid UTF-8 (shown here with U+FFFD): Go and the shell use its bytes as they are, and so did this audit"
                ),
                "nothing to fix for Go; the suggested line keeps the entry's exact bytes".into(),
            );
        }
        // An unexpanded entry is judged by that alone: its literal directory almost never
        // exists, and the suggested PATH uses the expansion instead.
        if matches!(forms[i], Form::Empty | Form::Unexpanded) {
            dropped[i] = true;
            continue;
        }

        // Duplicates: the same directory after cleaning, or the same inode via a symlink.
        if let Some(&j) = seen_str.get(lexical[i].as_path()) {
            let how = if raw[j] == s {
                String::new()
            } else {
                format!(" (written {:?} there)", raw[j])
            };
            add(
                "PATH010",
                "duplicate",
                Severity::Warn,
                format!(
                    "entry #{n} {s:?} duplicates entry #{}{how}: every lookup that misses stats it twice (Go does not de-duplicate PATH)",
                    j + 1
                ),
                format!("remove entry #{n}"),
            );
            dropped[i] = true;
            continue;
        }
        seen_str.insert(lexical[i].as_path(), i);
        if let Outcome::Done(sc) = &outcomes[i]
            && sc.kind == Kind::Dir
        {
            if let Some(&j) = seen_ino.get(&(sc.dev, sc.ino)) {
                let usrmerge = is_usrmerge_pair(&lexical[j], &lexical[i]);
                add(
                    "PATH015",
                    "duplicate",
                    if usrmerge {
                        Severity::Info
                    } else {
                        Severity::Warn
                    },
                    format!(
                        "entry #{n} {s:?} is the same directory as entry #{} {:?} (through a symlink{}): every miss stats it twice",
                        j + 1,
                        raw[j],
                        if usrmerge {
                            ", the usrmerge layout"
                        } else {
                            ""
                        }
                    ),
                    format!("remove entry #{n}"),
                );
                dropped[i] = true;
                continue;
            }
            seen_ino.insert((sc.dev, sc.ino), i);
        }

        let e = &entries[i];
        match (&outcomes[i], e.status) {
            (Outcome::Unresponsive, _) => {
                add(
                    "PATH022",
                    "unresponsive",
                    Severity::Error,
                    format!(
                        "entry #{n} {s:?} did not answer a stat within {} ms{}: every go command will wait here (a hung or very slow mount)",
                        opts.timeout.as_millis(),
                        e.fs_type
                            .as_deref()
                            .map(|t| format!(" (fs {t})"))
                            .unwrap_or_default()
                    ),
                    format!("remove entry #{n} from PATH; check the mount (findmnt -T {s})"),
                );
                dropped[i] = true;
                continue;
            }
            (Outcome::Done(sc), Status::Missing)
                if sc.kind == Kind::Missing
                    && opts.install_dir.as_deref() == Some(lexical[i].as_path()) =>
            {
                // $HOME/go/bin before the first `go install`: env-check's GO022 asks for it
                // on PATH, so it stays (and is no reason to fail --fail-on warn).
                add(
                    "PATH011",
                    "missing",
                    Severity::Info,
                    format!(
                        "entry #{n} {s:?} does not exist yet: it is where `go install` puts commands (GOBIN or GOPATH/bin) and is created by the first `go install`"
                    ),
                    "nothing to do: keep it".into(),
                );
                continue;
            }
            (Outcome::Done(sc), Status::Missing) => {
                let why = match &sc.kind {
                    Kind::Error(err) => format!("cannot be used ({err})"),
                    _ => "does not exist".into(),
                };
                add(
                    "PATH011",
                    "missing",
                    Severity::Warn,
                    format!(
                        "entry #{n} {s:?} {why}: it still costs a failed stat on every miss, and whoever creates it later controls what runs"
                    ),
                    format!("remove entry #{n}"),
                );
                dropped[i] = true;
                continue;
            }
            (outcome, Status::Error) => {
                // Say why (a symlink loop, a permission error on a parent, ...).
                let why = match outcome {
                    Outcome::Done(sc) => match &sc.kind {
                        Kind::Error(err) => format!(": {err}"),
                        _ => String::new(),
                    },
                    _ => String::new(),
                };
                add(
                    "PATH011",
                    "missing",
                    Severity::Warn,
                    format!("entry #{n} {s:?} cannot be used{why}"),
                    format!("remove entry #{n}"),
                );
                dropped[i] = true;
                continue;
            }
            (_, Status::NotDirectory) => {
                add(
                    "PATH012",
                    "not_directory",
                    Severity::Warn,
                    format!("entry #{n} {s:?} is not a directory: lookups there always fail"),
                    format!("remove entry #{n} (PATH lists directories, not programs)"),
                );
                dropped[i] = true;
                continue;
            }
            (_, Status::NotSearchable) => {
                add(
                    "PATH013",
                    "not_searchable",
                    Severity::Warn,
                    format!(
                        "entry #{n} {s:?} is not searchable by you (uid {euid}): nothing in it can be found"
                    ),
                    format!("remove entry #{n}, or chmod a+x {}", e.resolved),
                );
                dropped[i] = true;
                continue;
            }
            _ => {}
        }
        let Outcome::Done(sc) = &outcomes[i] else {
            continue;
        };
        if sc.mode & 0o002 != 0 || sc.writable_ancestor.is_some() {
            leave_out[i] = true;
        }
        if sc.mode & 0o002 != 0 {
            let sticky = sc.mode & 0o1000 != 0;
            add(
                if sticky { "PATH031" } else { "PATH030" },
                "world_writable",
                Severity::Error,
                format!(
                    "entry #{n} {} is world-writable{}, mode {:04o}: anyone can drop a go, gcc or git there that you will run",
                    e.resolved,
                    if sticky {
                        " (sticky: others cannot delete your files, but can add theirs)"
                    } else {
                        ""
                    },
                    sc.mode
                ),
                if sticky {
                    format!("remove entry #{n}: a shared scratch directory does not belong in PATH")
                } else {
                    format!(
                        "chmod o-w {} (the suggested PATH leaves it out until then)",
                        e.resolved
                    )
                },
            );
        } else if let Some((anc, mode)) = &sc.writable_ancestor {
            add(
                "PATH034",
                "world_writable",
                Severity::Error,
                format!(
                    "entry #{n} {}: its parent {} is world-writable (mode {mode:04o}), so anyone can replace the whole directory",
                    e.resolved,
                    anc.display()
                ),
                format!(
                    "chmod o-w {} (the suggested PATH leaves entry #{n} out until then)",
                    anc.display()
                ),
            );
        }
        // Group-writable by a group you are not in: its members decide what runs, and you
        // cannot see who they are from your own groups.
        if sc.mode & 0o022 == 0o020 && !my_groups.contains(&sc.gid) {
            leave_out[i] = true;
            add(
                "PATH032",
                "group_writable",
                Severity::Warn,
                format!(
                    "entry #{n} {} is writable by group {} (gid {}), which you are not in, mode {:04o}: its members can drop a go, gcc or git there that you will run",
                    e.resolved,
                    group_name(sc.gid).unwrap_or_else(|| "?".into()),
                    sc.gid,
                    sc.mode
                ),
                format!(
                    "chmod g-w {} (the suggested PATH leaves it out until then)",
                    e.resolved
                ),
            );
        }
        if sc.uid != 0 && sc.uid != euid {
            let before_system = euid == 0 && usr_bin.is_some_and(|u| i < u);
            add(
                if before_system { "PATH035" } else { "PATH033" },
                "foreign_owner",
                if euid == 0 {
                    Severity::Error
                } else {
                    Severity::Warn
                },
                format!(
                    "entry #{n} {} is owned by {} (uid {}), not by you or root{}",
                    e.resolved,
                    e.owner.as_deref().unwrap_or("?"),
                    sc.uid,
                    if before_system {
                        ": root's PATH prefers a user-controlled directory over /usr/bin"
                    } else {
                        ": that user decides what runs when you type its commands"
                    }
                ),
                format!(
                    "chown {} {}, or remove entry #{n}",
                    users.name(euid).unwrap_or("root"),
                    e.resolved
                ),
            );
        }
        if let Some(m) = mount_of(e, &mounts) {
            let class = m.class();
            if matches!(class, FsClass::Fuse | FsClass::Network) {
                last[i] = true;
            }
            if class != FsClass::Local {
                let before = usr_bin.is_some_and(|u| i < u);
                let sev = match class {
                    FsClass::Automount => Severity::Info,
                    _ if before => Severity::Error,
                    _ => Severity::Warn,
                };
                let what = match class {
                    FsClass::Fuse => "a FUSE filesystem",
                    FsClass::Network => "a network filesystem",
                    _ => "an automount point (a lookup can trigger a mount)",
                };
                add(
                    "PATH020",
                    "network_fs",
                    sev,
                    format!(
                        "entry #{n} {} is on {what} ({} from {}){}: every go command looks here at least twice, a cgo build {} times",
                        e.resolved,
                        m.fs_type,
                        m.source,
                        if before { ", ahead of /usr/bin" } else { "" },
                        cost::COMMANDS[4].lookups.iter().map(|l| l.1).sum::<u32>()
                    ),
                    format!("move entry #{n} to the end of PATH, or remove it"),
                );
            }
        }
        if let Some((med, _)) = sc.lookup_us
            && med > SLOW_LOOKUP_US
        {
            last[i] = true;
            add(
                "PATH040",
                "slow_lookup",
                Severity::Warn,
                format!(
                    "entry #{n} {}: a lookup that misses takes {:.2} ms here (local disks: a few µs)",
                    e.resolved,
                    med / 1000.0
                ),
                format!("move entry #{n} to the end of PATH, or remove it"),
            );
        }
    }

    // Only an entry on a network, FUSE or automount filesystem can hang a read: the others
    // are read inline (a thread per binary cost 567 clones for 55 entries sharing 18 names).
    let remote: Vec<bool> = entries
        .iter()
        .map(|e| mount_of(e, &mounts).is_none_or(|m| m.class() != FsClass::Local))
        .collect();
    let shadowed = shadowed(&raw, &outcomes, &lexical, &dropped, &remote, opts.timeout);

    // Suggested PATH: problem entries dropped, relative and others-writable ones left out,
    // `~` expanded, the newest go ahead of older ones, slow and remote entries last.
    let mut suggested: Vec<(Vec<u8>, usize, usize)> = Vec::new(); // (bytes, scan slot, entry)
    for i in 0..raw.len() {
        if (dropped[i] || leave_out[i]) && forms[i] != Form::Unexpanded {
            continue;
        }
        match (forms[i], expansion_slot[i]) {
            (Form::Unexpanded, Some(slot)) => {
                let is_dir = matches!(&outcomes[slot], Outcome::Done(sc) if sc.kind == Kind::Dir);
                // ~/go/bin before the first `go install` is kept, written out.
                let install = opts.install_dir.as_deref() == Some(lexical[slot].as_path());
                let safe = match &outcomes[slot] {
                    Outcome::Done(sc) => sc.mode & 0o002 == 0 && sc.writable_ancestor.is_none(),
                    Outcome::Unresponsive => false,
                };
                if (is_dir && safe) || install {
                    suggested.push((expansions[i].clone().unwrap_or_default(), slot, i));
                }
            }
            // Without a `~` to expand there is no safe rewrite: leave it out.
            (Form::Unexpanded, None) => {}
            _ => suggested.push((raw_bytes[i].to_vec(), i, i)),
        }
    }
    // An expansion may duplicate an entry that is already there.
    let mut seen = std::collections::HashSet::new();
    suggested.retain(|(_, slot, _)| match &outcomes[*slot] {
        Outcome::Done(sc) if sc.kind == Kind::Dir => seen.insert((sc.dev, sc.ino)),
        _ => true,
    });
    if let Some((newer, older)) = newest_go_behind(&shadowed) {
        let from = suggested.iter().position(|s| s.2 + 1 == newer);
        let to = suggested.iter().position(|s| s.2 + 1 == older);
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            let item = suggested.remove(from);
            suggested.insert(to, item);
            findings.push(Finding {
                id: "PATH041",
                kind: "older_go_first",
                severity: Severity::Info,
                entry: Some(older),
                entries: vec![older],
                message: format!(
                    "entry #{older}'s go is older than the one at entry #{newer}, which it shadows"
                ),
                fix: format!("the suggested PATH puts entry #{newer} before entry #{older}"),
            });
        }
    }
    let (mut fast, slow): (Vec<_>, Vec<_>) = suggested.into_iter().partition(|s| !last[s.2]);
    fast.extend(slow);
    let mut suggested = fast;
    // An empty result (an empty or all-broken PATH) is never `export PATH=''`, which leaves
    // the shell and go with nothing: the system directories that exist take its place.
    let mut fallback = false;
    if suggested.is_empty() {
        fallback = true;
        let mut seen = std::collections::HashSet::new();
        for d in SYSTEM_PATH {
            if let Ok(m) = std::fs::metadata(d)
                && m.is_dir()
                && seen.insert(std::fs::canonicalize(d).unwrap_or_else(|_| PathBuf::from(d)))
            {
                suggested.push((d.as_bytes().to_vec(), usize::MAX, usize::MAX));
            }
        }
    }
    if raw_bytes.iter().all(|b| b.is_empty()) {
        findings.push(Finding {
            id: "PATH005",
            kind: "empty",
            severity: Severity::Error,
            entry: None,
            entries: Vec::new(),
            message: "PATH is empty or unset: go finds no C compiler, so cgo is silently off and a cgo package fails (\"build constraints exclude all Go files\"); git, pkg-config and go itself are not found".into(),
            fix: "set PATH to the system directories (the suggested PATH below), then add Go's bin".into(),
        });
    }
    let suggested_bytes = suggested
        .iter()
        .map(|(t, _, _)| t.as_slice())
        .collect::<Vec<_>>()
        .join(&b':');

    let costs_now: Vec<(Option<f64>, Option<&Scan>)> =
        (0..raw.len()).map(|i| cost_input(&outcomes[i])).collect();
    let costs_sug: Vec<(Option<f64>, Option<&Scan>)> = suggested
        .iter()
        .filter(|(_, slot, _)| *slot != usize::MAX)
        .map(|(_, slot, _)| cost_input(&outcomes[*slot]))
        .collect();
    let timeout_us = opts.timeout.as_secs_f64() * 1e6;
    let commands = cost::COMMANDS
        .iter()
        .map(|m| {
            let (probes, ms, lower) = run_model(m, &costs_now, timeout_us);
            let (sp, sms, _) = run_model(m, &costs_sug, timeout_us);
            cost::CommandCost {
                command: m.command.to_string(),
                probes,
                ms: (ms * 1000.0).round() / 1000.0,
                suggested_probes: sp,
                suggested_ms: (sms * 1000.0).round() / 1000.0,
                lower_bound: lower,
            }
        })
        .collect();

    findings.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.entry));
    let findings = collapse(findings);
    let first_fix = findings
        .iter()
        .filter(|f| f.severity >= Severity::Warn)
        .min_by_key(|f| (std::cmp::Reverse(f.severity), priority(f.id), f.entry))
        .cloned();
    let shell = opts.shell;
    Ok(Report {
        schema: SCHEMA,
        path: opts.path.to_string_lossy().into_owned(),
        euid,
        timeout_ms: opts.timeout.as_millis() as u64,
        elapsed_ms: round2(start.elapsed().as_secs_f64() * 1000.0),
        entries,
        first_fix,
        findings,
        shadowed,
        cost: Cost {
            source: COST_SOURCE,
            commands,
        },
        suggested_line: shell_line(shell, &suggested_bytes),
        suggested_path: String::from_utf8_lossy(&suggested_bytes).into_owned(),
        suggested_path_escaped: escape_bytes(&suggested_bytes),
        suggested_fallback: fallback,
        shell: match shell {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
        },
    })
}

fn cost_input(o: &Outcome) -> (Option<f64>, Option<&Scan>) {
    match o {
        Outcome::Done(sc) => (sc.lookup_us.map(|l| l.0), Some(sc)),
        Outcome::Unresponsive => (None, None),
    }
}

/// Whether an entry holds an executable of a given name.
type HasFn<'a> = Box<dyn Fn(&str) -> bool + 'a>;

fn run_model(
    m: &cost::CommandModel,
    inputs: &[(Option<f64>, Option<&Scan>)],
    timeout_us: f64,
) -> (u64, f64, bool) {
    let has_fns: Vec<HasFn> = inputs
        .iter()
        .map(|(_, sc)| {
            let sc = *sc;
            Box::new(move |name: &str| sc.is_some_and(|s| s.exes.contains_key(OsStr::new(name))))
                as HasFn
        })
        .collect();
    let entries: Vec<cost::EntryCost> = inputs
        .iter()
        .zip(&has_fns)
        .map(|((lat, sc), has)| cost::EntryCost {
            lookup_us: if sc.is_none() {
                None
            } else {
                Some(lat.unwrap_or(0.0))
            },
            has: has.as_ref(),
        })
        .collect();
    cost::estimate(m, &entries, timeout_us)
}

fn entry_row(
    i: usize,
    s: &str,
    o: &Outcome,
    lexical: &Path,
    mounts: &MountTable,
    users: &Users,
) -> Entry {
    let mut e = Entry {
        index: i + 1,
        as_written: s.to_string(),
        resolved: lexical.display().to_string(),
        status: Status::Unresponsive,
        fs_type: None,
        mount_point: None,
        owner_uid: None,
        owner: None,
        mode: None,
        lookup_us: None,
        lookup_max_us: None,
        executables: None,
    };
    if let Outcome::Done(sc) = o {
        e.status = match &sc.kind {
            Kind::Missing => Status::Missing,
            Kind::NotDirectory => Status::NotDirectory,
            Kind::Error(err) if err.contains("ermission denied") => Status::NotSearchable,
            Kind::Error(_) => Status::Error,
            Kind::Dir if !sc.searchable => Status::NotSearchable,
            Kind::Dir => Status::Ok,
        };
        if let Some(c) = &sc.canonical {
            e.resolved = c.display().to_string();
        }
        if sc.kind == Kind::Dir || sc.kind == Kind::NotDirectory {
            e.owner_uid = Some(sc.uid);
            e.owner = users.name(sc.uid).map(str::to_string);
            e.mode = Some(format!("{:04o}", sc.mode));
        }
        if let Some((med, max)) = sc.lookup_us {
            e.lookup_us = Some(round2(med));
            e.lookup_max_us = Some(round2(max));
        }
        if sc.kind == Kind::Dir && sc.searchable {
            e.executables = Some(sc.exes.len());
        }
    }
    // The mount comes from the table alone (no syscall on the path): safe for dead mounts.
    if let Some(m) = mounts.lookup(Path::new(&e.resolved)) {
        e.fs_type = Some(m.fs_type.clone());
        e.mount_point = Some(m.mount_point.clone());
    }
    e
}

fn mount_of<'a>(e: &Entry, mounts: &'a MountTable) -> Option<&'a fsinfo::Mount> {
    mounts.lookup(Path::new(&e.resolved))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// usrmerge makes /bin, /sbin, /lib* symlinks to their /usr counterparts; listing both is
/// the distribution's default PATH, not a mistake.
fn is_usrmerge_pair(a: &Path, b: &Path) -> bool {
    let strip = |p: &Path| p.strip_prefix("/usr").map(Path::to_path_buf).ok();
    strip(a).is_some_and(|x| Path::new("/").join(&x) == b)
        || strip(b).is_some_and(|x| Path::new("/").join(&x) == a)
}

fn shadowed(
    raw: &[&str],
    outcomes: &[Outcome],
    lexical: &[PathBuf],
    dropped: &[bool],
    remote: &[bool],
    timeout: Duration,
) -> Vec<Shadowed> {
    // name -> entries holding it, in PATH order, skipping duplicate entries.
    let mut holders: std::collections::BTreeMap<&OsStr, Vec<usize>> = Default::default();
    for i in 0..raw.len() {
        if dropped[i] {
            continue;
        }
        if let Outcome::Done(sc) = &outcomes[i] {
            for name in sc.exes.keys() {
                holders.entry(name.as_os_str()).or_default().push(i);
            }
        }
    }
    let loc = |name: &OsStr, i: usize| -> Location {
        let Outcome::Done(sc) = &outcomes[i] else {
            unreachable!("holders only come from scanned entries")
        };
        let exe = &sc.exes[name];
        let path = lexical[i].join(name);
        // A shell script shadowing `go` is common (wrappers) and simply has no version. The
        // read runs under the timeout too: the mount may have died since the scan.
        let p = path.clone();
        // Any Go executable carries the runtime (a stripped hello world is over 1 MB): a
        // smaller file is a script or a C program, not worth an open (792 of them with 55
        // entries sharing 18 names).
        let go_version = (exe.size >= MIN_GO_BINARY)
            .then(|| {
                fsinfo::probe_with_deadline(remote[i], timeout, move || buildinfo::read(&p).ok())
                    .ok()
                    .flatten()
            })
            .flatten()
            .map(|b| b.go_version);
        Location {
            entry: i + 1,
            path: path.display().to_string(),
            go_version,
            link_target: exe.link_target.clone(),
        }
    };
    let mut out = Vec::new();
    for &k in KEY_NAMES {
        let k = OsStr::new(k);
        let hs = holders.get(k).cloned().unwrap_or_default();
        out.push(Shadowed {
            name: k.to_string_lossy().into_owned(),
            key: true,
            winner: hs.first().map(|&i| loc(k, i)),
            losers: hs.iter().skip(1).map(|&i| loc(k, i)).collect(),
        });
    }
    for (name, hs) in &holders {
        if hs.len() < 2 || KEY_NAMES.iter().any(|k| OsStr::new(k) == *name) {
            continue;
        }
        out.push(Shadowed {
            name: name.to_string_lossy().into_owned(),
            key: false,
            winner: Some(loc(name, hs[0])),
            losers: hs.iter().skip(1).map(|&i| loc(name, i)).collect(),
        });
    }
    out
}

/// `suggested` as a line that sets PATH in `shell`, byte for byte.
pub fn shell_line(shell: Shell, path: &[u8]) -> String {
    match shell {
        Shell::Bash | Shell::Zsh => format!("export PATH={}", quoted(path, sh_quote, r"$'\x")),
        Shell::Fish => {
            let parts: Vec<String> = path
                .split(|&b| b == b':')
                .filter(|p| !p.is_empty())
                .map(|p| quoted(p, fish_quote, r"\X"))
                .collect();
            format!("set -gx PATH {}", parts.join(" "))
        }
    }
}

/// `s` as one shell word: its UTF-8 runs quoted with `quote`, each other byte written as
/// `escape` and two hex digits (bash and zsh: `$'\xE9'`; fish: `\XE9`), all adjacent.
fn quoted(s: &[u8], quote: fn(&str) -> String, escape: &str) -> String {
    if let Ok(text) = std::str::from_utf8(s) {
        return quote(text);
    }
    let mut out = String::new();
    for chunk in s.utf8_chunks() {
        if !chunk.valid().is_empty() {
            out.push_str(&quote(chunk.valid()));
        }
        for b in chunk.invalid() {
            out.push_str(&format!("{escape}{b:02X}"));
            if escape.starts_with('$') {
                out.push('\'');
            }
        }
    }
    out
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'"))
}

/// gid → group name, from /etc/group (no NSS, as for users).
fn group_name(gid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == gid).then(|| name.to_string())
    })
}

/// uid → user name, from /etc/passwd (no NSS: a hung LDAP server must not hang the audit).
struct Users(HashMap<u32, String>);

impl Users {
    fn load() -> Users {
        let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        Users(
            text.lines()
                .filter_map(|l| {
                    let mut f = l.split(':');
                    let name = f.next()?;
                    let uid = f.nth(1)?.parse().ok()?;
                    Some((uid, name.to_string()))
                })
                .collect(),
        )
    }
    fn name(&self, uid: u32) -> Option<&str> {
        self.0.get(&uid).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_lines_keep_bytes_that_are_not_utf8() {
        let path = b"/a b/\xe9x:/it's:/usr/bin";
        assert_eq!(
            shell_line(Shell::Bash, path),
            r"export PATH='/a b/'$'\xE9''x:/it'\''s:/usr/bin'"
        );
        assert_eq!(
            shell_line(Shell::Fish, path),
            r"set -gx PATH '/a b/'\XE9'x' '/it\'s' '/usr/bin'"
        );
        assert_eq!(
            shell_line(Shell::Zsh, b"/usr/bin:/bin"),
            "export PATH='/usr/bin:/bin'"
        );
    }

    #[test]
    fn forms() {
        assert_eq!(form(""), Form::Empty);
        assert_eq!(form("."), Form::Relative);
        assert_eq!(form("node_modules/.bin"), Form::Relative);
        assert_eq!(form("~/go/bin"), Form::Unexpanded);
        assert_eq!(form("$HOME/bin"), Form::Unexpanded);
        assert_eq!(form("\"/opt/x\""), Form::Unexpanded);
        assert_eq!(form(" /usr/bin"), Form::Unexpanded);
        assert_eq!(form("/usr/bin"), Form::Absolute);
        assert_eq!(form("/a b/bin"), Form::Absolute);
    }

    #[test]
    fn entry_ranges() {
        assert_eq!(ranges(&[1, 2, 3, 4, 9]), "#1-#4, #9");
        assert_eq!(ranges(&[5]), "#5");
        let many: Vec<usize> = (1..=40).step_by(2).collect();
        assert!(ranges(&many).ends_with("#15, ..."));
    }

    #[test]
    fn usrmerge() {
        assert!(is_usrmerge_pair(Path::new("/usr/bin"), Path::new("/bin")));
        assert!(is_usrmerge_pair(Path::new("/sbin"), Path::new("/usr/sbin")));
        assert!(!is_usrmerge_pair(
            Path::new("/usr/bin"),
            Path::new("/opt/bin")
        ));
    }

    #[test]
    fn shell_lines() {
        assert_eq!(shell_line(Shell::Bash, b"/a:/b c"), "export PATH='/a:/b c'");
        assert_eq!(shell_line(Shell::Zsh, b"/it's"), r"export PATH='/it'\''s'");
        assert_eq!(
            shell_line(Shell::Fish, b"/a:/b'c"),
            r"set -gx PATH '/a' '/b\'c'"
        );
    }
}
