//! `golat env-check`: a doctor for the Go environment — gathers facts without running go
//! (facts.rs), judges them against the GO0xx catalogue (checks.rs), prints doctor-style text or
//! `golat.env-check/v1` JSON, and maps the worst finding to an exit code.

mod checks;
mod facts;
mod network;

pub(crate) use facts::go_env_json;

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use crate::audit::{Severity, exit_code};
use crate::cli::EnvCheckArgs;

pub const SCHEMA: &str = "golat.env-check/v1";

/// A check's outcome as printed and in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Skip,
    Ok,
    Info,
    Warn,
    Error,
}

impl Status {
    fn severity(self) -> Severity {
        match self {
            Status::Skip | Status::Ok => Severity::Ok,
            Status::Info => Severity::Info,
            Status::Warn => Severity::Warn,
            Status::Error => Severity::Error,
        }
    }

    fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Info => "•",
            Status::Warn => "!",
            Status::Error => "✗",
            Status::Skip => "-",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Status::Ok => "\x1b[32m",
            Status::Info => "\x1b[36m",
            Status::Warn => "\x1b[33m",
            Status::Error => "\x1b[31m",
            Status::Skip => "\x1b[2m",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub section: &'static str,
    pub status: Status,
    /// What was found and why it matters, in one line.
    pub message: String,
    /// One line: what to do (None when there is nothing to do).
    pub fix: Option<String>,
}

/// Sections in print order: (json id, title).
pub const SECTIONS: &[(&str, &str)] = &[
    ("go", "Which go runs"),
    ("goroot", "GOROOT and toolchain"),
    ("settings", "Settings"),
    ("modules", "Module and workspace"),
    ("caches", "Caches and temp"),
    ("cgo", "cgo"),
    ("install", "Install dir"),
    ("network", "Network (--network)"),
];

#[derive(Serialize)]
struct GoJson {
    path: Option<String>,
    version: Option<String>,
    goroot: Option<String>,
}

#[derive(Serialize)]
struct SettingJson {
    name: String,
    value: String,
    source: crate::gosrc::goenv::Source,
}

#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    dir: String,
    go: GoJson,
    checks: &'a [Check],
    summary: BTreeMap<&'static str, usize>,
    /// Settings that are not the built-in default, with where they come from.
    settings: Vec<SettingJson>,
    /// The check to fix before any other (the first error, else the first warning), or null.
    first_fix: Option<&'a Check>,
}

/// Runs the check in a child process golat does not wait for at exit (see `detach`).
pub fn run(args: &EnvCheckArgs) -> anyhow::Result<u8> {
    crate::audit::detach::run(|| run_here(args))
}

fn run_here(args: &EnvCheckArgs) -> anyhow::Result<u8> {
    let env: BTreeMap<String, String> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let cwd = std::env::current_dir()
        .map_err(|e| anyhow::anyhow!("cannot read the current directory: {e}"))?;
    let dir = crate::fsinfo::lexical_clean(&args.dir, &cwd);
    let d2 = dir.clone();
    let is_dir = facts::guarded("--dir", move || d2.is_dir()).map_err(|e| anyhow::anyhow!(e))?;
    anyhow::ensure!(is_dir, "--dir {}: not a directory", args.dir.display());

    let path = std::env::var_os("PATH").unwrap_or_default();
    let facts = facts::gather(env, &path, dir);
    let checks = checks::run_all(&facts, args.network);
    let worst = checks
        .iter()
        .map(|c| c.status.severity())
        .max()
        .unwrap_or(Severity::Ok);

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let mut summary = BTreeMap::new();
        for s in ["ok", "info", "warn", "error", "skip"] {
            summary.insert(s, 0);
        }
        for c in &checks {
            *summary.entry(status_name(c.status)).or_insert(0) += 1;
        }
        let report = Report {
            schema: SCHEMA,
            dir: facts.dir.display().to_string(),
            go: GoJson {
                path: facts.go.as_ref().map(|g| g.path.display().to_string()),
                version: facts.go_version.clone(),
                goroot: facts
                    .settings
                    .goroot
                    .as_ref()
                    .map(|p| p.display().to_string()),
            },
            checks: &checks,
            first_fix: checks::first_fix(&checks),
            summary,
            settings: checks::changed_settings(&facts)
                .into_iter()
                .map(|(name, value, source)| SettingJson {
                    name,
                    value,
                    source,
                })
                .collect(),
        };
        // Serialize first: an io error inside serde_json would hide a broken pipe from main.
        let text = serde_json::to_string_pretty(&report)?;
        writeln!(out, "{text}")?;
    } else {
        let colour = crate::audit::stdout_is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        render_text(&mut out, &facts, &checks, colour)?;
    }
    out.flush()?;
    Ok(exit_code(worst, args.fail_on))
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Skip => "skip",
        Status::Ok => "ok",
        Status::Info => "info",
        Status::Warn => "warn",
        Status::Error => "error",
    }
}

fn render_text(
    out: &mut impl Write,
    f: &facts::Facts,
    checks: &[Check],
    colour: bool,
) -> std::io::Result<()> {
    let paint = |s: Status, text: &str| -> String {
        if colour {
            format!("{}{text}\x1b[0m", s.colour())
        } else {
            text.to_string()
        }
    };
    let go = match (&f.go, &f.go_version) {
        (Some(g), Some(v)) => format!("{v} at {}", g.path.display()),
        (Some(g), None) => format!("{} (version unknown)", g.path.display()),
        (None, _) => "no go on PATH".into(),
    };
    let root = f
        .settings
        .goroot
        .as_ref()
        .map_or("not found".into(), |p| p.display().to_string());
    writeln!(
        out,
        "golat env-check: {go}; GOROOT {root}; dir {}",
        f.dir.display()
    )?;
    if let Some(c) = checks::first_fix(checks)
        && let Some(fix) = &c.fix
    {
        writeln!(
            out,
            "{} {}: {fix}",
            paint(c.status, "Fix this first:"),
            c.id
        )?;
    }
    for (id, title) in SECTIONS {
        let items: Vec<&Check> = checks.iter().filter(|c| c.section == *id).collect();
        if items.is_empty() {
            continue;
        }
        let worst = items.iter().map(|c| c.status).max().unwrap_or(Status::Ok);
        let head = match worst {
            Status::Error => Status::Error,
            Status::Warn => Status::Warn,
            _ => Status::Ok,
        };
        writeln!(out)?;
        writeln!(out, "[{}] {title}", paint(head, head.mark()))?;
        for c in items {
            writeln!(
                out,
                "    {} {} {}",
                paint(c.status, c.status.mark()),
                c.id,
                c.message
            )?;
            if let Some(fix) = &c.fix
                && c.status >= Status::Info
            {
                writeln!(out, "        fix: {fix}")?;
            }
        }
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    writeln!(out)?;
    let (e, w) = (count(Status::Error), count(Status::Warn));
    let tail = format!(
        "{} error{}, {} warning{}, {} info, {} ok, {} skipped",
        e,
        if e == 1 { "" } else { "s" },
        w,
        if w == 1 { "" } else { "s" },
        count(Status::Info),
        count(Status::Ok),
        count(Status::Skip)
    );
    if e + w == 0 {
        writeln!(out, "No problems found: {tail}.")
    } else {
        writeln!(out, "Found {tail}.")
    }
}
