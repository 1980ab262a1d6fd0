//! `golat whatif`: one traced run finds what to change, then untraced runs of the command as
//! given and with each change, alternated, measure what each change saves.

pub mod stats;
pub mod trials;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{IsTerminal, Read, Seek, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::cli::WhatifArgs;
use crate::model::Report;
use stats::Spread;
use trials::{Skipped, Trial};

pub const SCHEMA: &str = "golat.whatif/v1";

/// The wall the default number of rounds aims at, ms (the rounds, not the warm-up).
const ROUNDS_BUDGET_MS: f64 = 15_000.0;
const MIN_ROUNDS: usize = 5;
const MAX_ROUNDS: usize = 15;

/// `golat.whatif/v1`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhatifReport {
    pub schema: String,
    pub golat_version: String,
    pub command: Vec<String>,
    pub cwd: String,
    /// The traced run the trials come from.
    pub traced: TracedRun,
    pub warmup: usize,
    pub rounds: usize,
    /// How the runs were ordered.
    pub order: String,
    /// Every timed baseline run (each trial's own pairs are in its `baseline_ms`).
    pub baseline_ms: Spread,
    pub trials: Vec<TrialResult>,
    pub skipped: Vec<SkippedTrial>,
    /// What the figures include and leave out.
    pub notes: Vec<String>,
    /// whatif's own wall, from its start to the end of the last run, ms.
    #[serde(default)]
    pub elapsed_ms: f64,
    /// The wall times of every run whatif timed (warm-ups, pairs, the last run), summed:
    /// `elapsed_ms` less this and the traced run is what golat itself took, ms.
    #[serde(default)]
    pub runs_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TracedRun {
    /// Wall under golat profile (tracing included), ms.
    pub wall_ms: f64,
    pub processes: usize,
    pub calls: u64,
    /// The "what to change" findings of that run, by key.
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkippedTrial {
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialResult {
    pub id: String,
    pub change: String,
    pub how: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caveat: Option<String>,
    /// The baseline runs paired with this trial's (each the run just before).
    pub baseline_ms: Spread,
    pub changed_ms: Spread,
    /// Median of the pairs' differences (baseline − changed); negative when it costs.
    pub saving_ms: f64,
    /// `saving_ms` as a share of the paired baseline median, %.
    pub saving_pct: f64,
    /// 95% sign-test interval of `saving_ms` (distribution-free).
    pub interval_ms: [f64; 2],
    /// `saves`, `costs`, `within_noise`, or `failed`.
    pub verdict: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<Failure>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// The command's exit code (128+N for signal N); `null` when it timed out.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// The end of its stderr.
    pub stderr_tail: String,
}

/// One untraced run.
struct Outcome {
    wall_ms: f64,
    failure: Option<Failure>,
}

struct Runner {
    show_output: bool,
    timeout: Duration,
    /// The wall times of every run so far, summed, ms.
    total_ms: std::cell::Cell<f64>,
}

impl Runner {
    fn run(&self, argv: &[OsString], trial: Option<&Trial>) -> anyhow::Result<Outcome> {
        let argv = trial.and_then(|t| t.argv.as_deref()).unwrap_or(argv);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).stdin(Stdio::null());
        if let Some(t) = trial {
            for name in &t.unset {
                cmd.env_remove(name);
            }
            for (k, v) in &t.set {
                cmd.env(k, v);
            }
        }
        let mut err_file = None;
        if self.show_output {
            cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
        } else {
            let f = tempfile::tempfile().context("temporary file for the command's stderr")?;
            cmd.stdout(Stdio::null()).stderr(f.try_clone()?);
            err_file = Some(f);
        }
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot run {}", argv[0].to_string_lossy()))?;
        let pid = child.id() as i32;
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let timeout = self.timeout;
        let watchdog = std::thread::spawn(move || {
            let timed_out = matches!(
                wait.recv_timeout(timeout),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            );
            if timed_out {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            timed_out
        });
        let status = child.wait()?;
        let wall_ms = start.elapsed().as_secs_f64() * 1e3;
        self.total_ms.set(self.total_ms.get() + wall_ms);
        let _ = done.send(());
        let timed_out = watchdog.join().unwrap_or(false);
        let code = crate::profile::status_code(&status);
        let failure = (timed_out || code != 0).then(|| Failure {
            exit_code: (!timed_out).then_some(code),
            timed_out,
            stderr_tail: err_file.map(tail).unwrap_or_default(),
        });
        Ok(Outcome { wall_ms, failure })
    }
}

/// The last lines of a run's stderr (at most 2 KB).
fn tail(mut f: std::fs::File) -> String {
    const KEEP: u64 = 2048;
    let len = f.seek(std::io::SeekFrom::End(0)).unwrap_or(0);
    let _ = f.seek(std::io::SeekFrom::Start(len.saturating_sub(KEEP)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).trim_end().to_string()
}

/// Parses `500M`, `2G`, `1.5G`, `800K` or a plain byte count.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mult = match c.to_ascii_uppercase() {
                'K' => 1e3,
                'M' => 1e6,
                'G' => 1e9,
                'T' => 1e12,
                _ => return Err(format!("unknown size unit in `{t}` (K, M, G or T)")),
            };
            (&t[..i], mult)
        }
        _ => (t, 1.0),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{t}` is not a size (e.g. 500M, 2G)"))?;
    if !n.is_finite() || n < 0.0 {
        return Err(format!("`{t}` is not a size"));
    }
    Ok((n * mult) as u64)
}

pub fn run(args: &WhatifArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let copy_limit = match parse_size(&args.copy_limit) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("golat: --copy-limit: {e}");
            return Ok(2);
        }
    };
    let timeout_ms = match args
        .timeout
        .as_deref()
        .map(crate::profile::parse_duration_ms)
    {
        Some(Err(e)) => {
            eprintln!("golat: --timeout: {e}");
            return Ok(2);
        }
        Some(Ok(ms)) if ms <= 0.0 => {
            eprintln!("golat: --timeout must be positive");
            return Ok(2);
        }
        Some(Ok(ms)) => Some(ms),
        None => None,
    };
    if let Some(json) = &args.json
        && let Some(why) = crate::profile::unwritable_reason(json)
    {
        eprintln!("golat: cannot write --json {}: {why}", json.display());
        return Ok(crate::EXIT_GOLAT_FAILED);
    }
    for spec in &args.tries {
        if let Err(e) = trials::parse_try(spec) {
            eprintln!("golat: --try {spec}: {e}");
            return Ok(2);
        }
    }
    if let Some(id) = args
        .only
        .iter()
        .find(|id| id.as_str() != "none" && !trials::KNOWN_IDS.contains(&id.as_str()))
    {
        eprintln!(
            "golat: --only {id}: not a trial; the trials are {}, or none (only --try and --slow)",
            trials::KNOWN_IDS.join(", ")
        );
        return Ok(2);
    }
    let command = args.command.clone();
    let mounts = crate::fsinfo::MountTable::load().unwrap_or_default();
    let (found, _) = crate::profile::find_program(&command[0], &mounts, Duration::from_secs(5));
    let Some(program) = found else {
        eprintln!(
            "golat: command not found: {} (searched PATH)",
            command[0].to_string_lossy()
        );
        return Ok(crate::profile::EXIT_NOT_FOUND);
    };
    let mut slow = Vec::new();
    for spec in &args.slow {
        match crate::profile::parse_slow(spec, &program) {
            Ok(d) => slow.push((spec.clone(), d)),
            Err(e) => {
                eprintln!("golat: --slow {spec}: {e}");
                return Ok(2);
            }
        }
    }
    let golat = std::env::current_exe().context("finding golat's own executable")?;
    let progress = Progress::new(args.quiet);

    progress.say("tracing one run to find what to change");
    let traced = match traced_run(&command)? {
        Ok(report) => report,
        Err(code) => return Ok(code),
    };
    let env: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
    let goflags_file = go_file_goflags(&program, &command);
    let (mut planned, skipped) = trials::plan(&trials::Inputs {
        report: &traced,
        command: &command,
        env: &env,
        mounts: &mounts,
        goflags_file,
        copy_limit,
        tries: &args.tries,
        slow: &slow,
        golat: &golat,
    });
    let mut skipped: Vec<SkippedTrial> = skipped
        .into_iter()
        .map(|Skipped { id, reason }| SkippedTrial { id, reason })
        .collect();
    if !args.only.is_empty() {
        for id in &args.only {
            if id != "none"
                && !planned.iter().any(|t| &t.id == id)
                && !skipped.iter().any(|s| &s.id == id)
            {
                skipped.push(SkippedTrial {
                    id: id.clone(),
                    reason: "not suggested by the traced run (--only)".into(),
                });
            }
        }
        planned.retain(|t| {
            t.id.starts_with("try:") || t.id.starts_with("slow:") || args.only.contains(&t.id)
        });
    }

    let runner = Runner {
        total_ms: std::cell::Cell::new(0.0),
        show_output: args.show_output,
        timeout: Duration::from_secs_f64(
            timeout_ms.unwrap_or((traced.wall_ms * 10.0).max(60_000.0)) / 1e3,
        ),
    };
    let mut failures: Vec<Option<Failure>> = planned.iter().map(|_| None).collect();

    // Warm-up: caches, page cache, the CPU's frequency; not counted.
    let mut baseline_warm = Vec::new();
    for w in 0..args.warmup {
        progress.say(&format!("warm-up {}/{}", w + 1, args.warmup));
        let base = runner.run(&command, None)?;
        if let Some(f) = base.failure {
            return Ok(baseline_failed(&f));
        }
        baseline_warm.push(base.wall_ms);
        for (i, t) in planned.iter().enumerate() {
            if failures[i].is_none() {
                failures[i] = runner.run(&command, Some(t))?.failure;
            }
        }
        // The traced baseline of `--slow` trials, once.
        if let Some(argv) = planned.iter().find_map(|t| t.baseline_argv.as_ref()) {
            let base = runner.run(argv, None)?;
            if let Some(f) = base.failure {
                return Ok(baseline_failed(&f));
            }
        }
    }
    let per_run = baseline_warm
        .last()
        .copied()
        .unwrap_or(traced.wall_ms)
        .max(1.0);
    let live = failures.iter().filter(|f| f.is_none()).count();
    let rounds = args.rounds.unwrap_or_else(|| {
        ((ROUNDS_BUDGET_MS / (2.0 * live.max(1) as f64 * per_run)).floor() as usize)
            .clamp(MIN_ROUNDS, MAX_ROUNDS)
    });

    // Rounds: a pair of runs, the baseline and a trial, for each trial. The trials' order
    // rotates each round so no trial always follows the same one, and which run of a pair
    // goes first alternates by round: the second run of a pair often finds warmer caches
    // (or a CPU clocked down), and a fixed order would count that as the trial's doing.
    let mut pairs: Vec<Vec<(f64, f64)>> = planned.iter().map(|_| Vec::new()).collect();
    let mut baseline_all = Vec::new();
    for r in 0..rounds {
        progress.say(&format!("round {}/{rounds}", r + 1));
        let n = planned.len();
        for k in 0..n {
            let i = (k + r) % n;
            if failures[i].is_some() {
                continue;
            }
            let trial_first = r % 2 == 1;
            let mut changed = None;
            if trial_first {
                changed = Some(runner.run(&command, Some(&planned[i]))?);
            }
            let base_argv = planned[i].baseline_argv.as_deref().unwrap_or(&command);
            let base = runner.run(base_argv, None)?;
            if let Some(f) = base.failure {
                return Ok(baseline_failed(&f));
            }
            if planned[i].baseline_argv.is_none() {
                baseline_all.push(base.wall_ms);
            }
            let changed = match changed {
                Some(c) => c,
                None => runner.run(&command, Some(&planned[i]))?,
            };
            match changed.failure {
                Some(f) => failures[i] = Some(f),
                None => pairs[i].push((base.wall_ms, changed.wall_ms)),
            }
        }
    }
    // The last run is the command as given: what it builds, it builds as without whatif.
    if !planned.is_empty() {
        progress.say("a last run of the command as given");
        let base = runner.run(&command, None)?;
        if let Some(f) = base.failure {
            return Ok(baseline_failed(&f));
        }
    }
    progress.done();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;

    let results: Vec<TrialResult> = planned
        .iter()
        .zip(pairs)
        .zip(failures)
        .map(|((t, p), failed)| result_of(t, &p, failed))
        .collect();
    let report = WhatifReport {
        schema: SCHEMA.into(),
        golat_version: env!("CARGO_PKG_VERSION").into(),
        command: command
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        cwd: std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        traced: TracedRun {
            wall_ms: traced.wall_ms,
            processes: traced.processes.len(),
            calls: traced.recorded_calls(),
            findings: traced
                .hotspots
                .get("what_to_change")
                .and_then(|v| v["findings"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|f| f["key"].as_str().map(String::from))
                .collect(),
        },
        warmup: args.warmup,
        rounds,
        order: "each round: for every trial (order rotated each round), a run of the command \
                as given and a run with the trial, the trial second in even rounds and first \
                in odd ones; a last run as given at the end"
            .into(),
        baseline_ms: Spread::of(&baseline_all),
        trials: results,
        skipped,
        notes: vec![
            "wall times of untraced runs: from spawning the command to its exit, ms".into(),
            "a saving is the median of (baseline − changed) over pairs of runs made one after \
             the other (which of the two runs first alternates by round), with a 95% sign-test \
             interval; within_noise: the interval holds 0"
                .into(),
            "the runs use the build cache as the command does: a trial that changes build \
             flags or the toolchain may compile, and add cache entries, the first time"
                .into(),
        ],
        elapsed_ms,
        runs_ms: runner.total_ms.get(),
    };
    if let Some(path) = &args.json {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        );
        serde_json::to_writer_pretty(&mut out, &report)?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    if !args.quiet {
        let style = crate::render::Style::for_stderr(10);
        eprint!("{}", crate::render::whatif::table(&report, &style));
    }
    Ok(0)
}

fn baseline_failed(f: &Failure) -> u8 {
    if f.timed_out {
        eprintln!(
            "golat: the command as given did not finish within --timeout; nothing to compare"
        );
    } else {
        eprintln!(
            "golat: the command as given failed (exit {}) in an untraced run; nothing to compare",
            f.exit_code.unwrap_or(1)
        );
    }
    if !f.stderr_tail.is_empty() {
        eprintln!("{}", f.stderr_tail);
    }
    match f.exit_code {
        Some(code) => crate::profile::exit_byte(code),
        None => crate::EXIT_GOLAT_FAILED,
    }
}

fn result_of(t: &Trial, pairs: &[(f64, f64)], failed: Option<Failure>) -> TrialResult {
    let base: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let changed: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let diffs: Vec<f64> = pairs.iter().map(|p| p.0 - p.1).collect();
    let saving = stats::saving(&diffs);
    let base_spread = Spread::of(&base);
    let verdict = if failed.is_some() {
        "failed"
    } else {
        stats::verdict(&saving)
    };
    TrialResult {
        id: t.id.clone(),
        change: t.change.clone(),
        how: t.how.clone(),
        caveat: t.caveat.clone(),
        baseline_ms: base_spread,
        changed_ms: Spread::of(&changed),
        saving_ms: saving.median_ms,
        saving_pct: if base_spread.median > 0.0 {
            saving.median_ms / base_spread.median * 100.0
        } else {
            0.0
        },
        interval_ms: [saving.low_ms, saving.high_ms],
        verdict: verdict.into(),
        failed,
    }
}

/// Runs the command once under `golat profile` (this binary) and reads its report; `Err`
/// with the exit code when the command failed or golat could not trace it.
fn traced_run(command: &[OsString]) -> anyhow::Result<Result<Report, u8>> {
    let dir = tempfile::Builder::new()
        .prefix("golat-whatif-")
        .tempdir()
        .context("temporary directory")?;
    let json = dir.path().join("traced.json");
    let err_path = dir.path().join("stderr");
    let exe = std::env::current_exe().context("finding golat's own binary")?;
    let status = Command::new(exe)
        .args(["profile", "-q", "--json-calls", "0", "--json"])
        .arg(&json)
        .arg("--")
        .args(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path)?)
        .status()
        .context("running golat profile")?;
    let code = crate::profile::status_code(&status);
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    if code != 0 {
        eprintln!("golat: the traced run of the command failed (exit {code}); nothing to compare");
        let lines: Vec<&str> = stderr.lines().collect();
        for l in &lines[lines.len().saturating_sub(20)..] {
            eprintln!("{l}");
        }
        return Ok(Err(crate::profile::exit_byte(code)));
    }
    let text = std::fs::read_to_string(&json)
        .with_context(|| format!("reading the traced run's report {}", json.display()))?;
    let report: Report = serde_json::from_str(&text).context("parsing the traced run's report")?;
    Ok(Ok(report))
}

/// GOFLAGS from the go env file (`go env -w`), which a GOFLAGS variable would replace.
fn go_file_goflags(program: &Path, command: &[OsString]) -> Option<String> {
    crate::gosrc::goargs::subcommand(command)?;
    let env: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let vars = crate::audit::env::go_env_json(program, &env, &["GOFLAGS"]).ok()?;
    vars.get("GOFLAGS").filter(|v| !v.is_empty()).cloned()
}

/// One line of progress on a terminal's stderr, rewritten in place.
struct Progress {
    on: bool,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        Progress {
            on: !quiet && std::io::stderr().is_terminal(),
        }
    }

    fn say(&self, what: &str) {
        if self.on {
            eprint!("\r\x1b[2Kgolat whatif: {what}");
        }
    }

    fn done(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1G"), Ok(1_000_000_000));
        assert_eq!(parse_size("500m"), Ok(500_000_000));
        assert_eq!(parse_size("1.5K"), Ok(1500));
        assert_eq!(parse_size("42"), Ok(42));
        assert!(parse_size("2X").is_err());
        assert!(parse_size("-1G").is_err());
        assert!(parse_size("").is_err());
    }
}
