//! Analyzers: a [`Report`] in, ranked hotspots out (stored under `report.hotspots`, one key
//! per analysis). They read only the report, so they run the same on a live run and on a
//! saved `--json` file.

pub mod exec;
pub mod fs_blocking;
pub mod go_phases;
pub mod habits;
pub mod init_chain;
pub mod path_scan;

use crate::model::Report;

/// Runs every analysis and stores its result in `report.hotspots`.
pub fn analyze(report: &mut Report) {
    let results = [
        ("path_scan", path_scan::analyze(report)),
        ("fs_blocking", fs_blocking::analyze(report)),
        ("exec", exec::analyze(report)),
        ("habits", habits::analyze(report)),
        ("init_chain", init_chain::analyze(report)),
        ("go_phases", go_phases::analyze(report)),
    ];
    for (key, value) in results {
        if let Some(value) = value {
            report.hotspots.insert(key.to_string(), value);
        }
    }
}
