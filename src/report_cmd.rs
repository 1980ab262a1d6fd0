//! `golat report` and `golat diff`: read saved `golat profile --json` (and `golat whatif
//! --json`) reports, re-analyse
//! them without tracing, and render the table, the JSON, the timeline or a comparison.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::analyze;
use crate::cli::{DiffArgs, ReportArgs};
use crate::model::{PROFILE_SCHEMA, Report};
use crate::render::{self, Style};
use crate::whatif::{SCHEMA as WHATIF_SCHEMA, WhatifReport};

/// Reads and validates a saved report; every failure is one line naming the file.
///
/// The file is parsed straight into the model (a million calls would take gigabytes as a
/// generic JSON value); only when that fails is it read again to say why.
pub fn load(path: &Path) -> anyhow::Result<Report> {
    match load_any(path)? {
        Saved::Profile(report) => Ok(*report),
        Saved::Whatif(_) => anyhow::bail!(
            "{} is a `golat whatif` report ({WHATIF_SCHEMA}); this reads {PROFILE_SCHEMA} (written by `golat profile --json`)",
            path.display()
        ),
    }
}

/// A saved report of either kind `golat report` renders.
pub enum Saved {
    Profile(Box<Report>),
    Whatif(Box<WhatifReport>),
}

/// Like [`load`], and also takes a `golat whatif --json` report.
pub fn load_any(path: &Path) -> anyhow::Result<Saved> {
    let open = || {
        std::fs::File::open(path)
            .map(|f| std::io::BufReader::with_capacity(1 << 20, f))
            .with_context(|| format!("cannot read report {}", path.display()))
    };
    let mut report: Report = match serde_json::from_reader(open()?) {
        Ok(r) => r,
        Err(e) if e.is_io() => {
            return Err(e).with_context(|| format!("cannot read report {}", path.display()));
        }
        Err(e) if e.is_syntax() || e.is_eof() => {
            return Err(e).with_context(|| format!("{} is not valid JSON", path.display()));
        }
        Err(e) => {
            #[derive(serde::Deserialize)]
            struct Head {
                schema: Option<serde_json::Value>,
            }
            let head: Option<Head> = serde_json::from_reader(open()?).ok();
            match head.and_then(|h| h.schema) {
                Some(s) if s == WHATIF_SCHEMA => {
                    let whatif: WhatifReport =
                        serde_json::from_reader(open()?).with_context(|| {
                            format!("{} is not a valid {WHATIF_SCHEMA} report", path.display())
                        })?;
                    return Ok(Saved::Whatif(Box::new(whatif)));
                }
                None => anyhow::bail!(
                    "{} is not a golat profile report (no \"schema\" field)",
                    path.display()
                ),
                Some(s) if s != PROFILE_SCHEMA => anyhow::bail!(
                    "{} has schema {s}; golat reads {PROFILE_SCHEMA} (written by `golat profile --json`)",
                    path.display()
                ),
                Some(_) => {
                    return Err(e).with_context(|| {
                        format!("{} is not a valid {PROFILE_SCHEMA} report", path.display())
                    });
                }
            }
        }
    };
    if report.schema != PROFILE_SCHEMA {
        anyhow::bail!(
            "{} has schema {:?}; golat reads {PROFILE_SCHEMA} (written by `golat profile --json`)",
            path.display(),
            report.schema
        );
    }
    analyze::analyze_saved(&mut report);
    Ok(Saved::Profile(Box::new(report)))
}

pub fn run_report(args: &ReportArgs) -> anyhow::Result<u8> {
    let report = match load_any(&args.file)? {
        Saved::Profile(report) => *report,
        Saved::Whatif(whatif) => return report_whatif(args, &whatif),
    };
    if let Some(path) = &args.timeline {
        let written = write_timeline(&report, path)?;
        eprintln!(
            "golat: wrote {} ({} events, {} calls{}); open it in https://ui.perfetto.dev",
            path.display(),
            written.events,
            written.calls,
            match (written.omitted_calls, report.calls_omitted) {
                (0, 0) => String::new(),
                (short, 0) => format!(", {short} short calls left out"),
                (0, saved) => format!(", {saved} calls are not in the saved report (--json-calls)"),
                (short, saved) => format!(
                    ", {short} short calls left out; {saved} more are not in the saved report (--json-calls)"
                ),
            }
        );
        if !args.json {
            return Ok(0);
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        let text = render::report(&report, &Style::for_stdout(args.top));
        out.write_all(text.as_bytes())?;
    }
    out.flush()?;
    Ok(0)
}

/// A saved whatif report: the table the live run printed (on stdout here), or its JSON.
fn report_whatif(args: &ReportArgs, whatif: &WhatifReport) -> anyhow::Result<u8> {
    if args.timeline.is_some() {
        eprintln!(
            "golat: {} is a whatif report: it has no timeline (golat profile --timeline makes one)",
            args.file.display()
        );
        return Ok(2);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        serde_json::to_writer(&mut out, whatif)?;
        writeln!(out)?;
    } else {
        let text = render::whatif::table(whatif, &Style::for_stdout(args.top));
        out.write_all(text.as_bytes())?;
    }
    out.flush()?;
    Ok(0)
}

/// Writes the Chrome/Perfetto timeline of an analysed report.
pub fn write_timeline(report: &Report, path: &Path) -> anyhow::Result<render::timeline::Written> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("cannot write --timeline {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let ctx = analyze::Ctx::new(report, false);
    let written = render::timeline::write(report, &ctx, &mut w)
        .with_context(|| format!("cannot write --timeline {}", path.display()))?;
    w.flush()
        .with_context(|| format!("cannot write --timeline {}", path.display()))?;
    Ok(written)
}

pub fn run_diff(args: &DiffArgs) -> anyhow::Result<u8> {
    let before = load(&args.before)?;
    let after = load(&args.after)?;
    let diff = render::diff::compare(
        &before,
        &args.before.display().to_string(),
        &after,
        &args.after.display().to_string(),
    );
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        serde_json::to_writer(&mut out, &diff)?;
        writeln!(out)?;
    } else {
        out.write_all(render::diff::render(&diff, &Style::for_stdout(args.top)).as_bytes())?;
    }
    out.flush()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    /// A re-rendered report prints what the live one printed only if every figure reads
    /// back bit for bit: serde_json's default float parser is off by one ulp for about one
    /// float in ten, which flips a rounded cell (0.209 ms live, 0.208 ms saved).
    #[test]
    fn saved_floats_read_back_bit_for_bit() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (x % 10_000_000) as f64 / 1e6 + 1e-4 * ((x >> 40) % 7) as f64;
            let text = serde_json::to_string(&v).unwrap();
            let back: f64 = serde_json::from_reader(text.as_bytes()).unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{text} read back as {back:?}");
        }
    }
}
