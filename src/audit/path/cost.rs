//! The PATH cost model: which names each go command looks up, how many probes each lookup
//! makes per PATH entry it walks, and the resulting milliseconds given measured latencies.
//!
//! Where the counts come from. In the go process (Go 1.26 source):
//! * every go command, even `go version`: `gcc` once via `pathcache.LookPath(DefaultCC(...))`
//!   in `cmd/go/internal/cfg/cfg.go` (defaultContext; skipped when $CC is set) and `gccgo`
//!   once via `pathcache.LookPath(GccgoName)` in `cmd/go/internal/work/gccgo.go` init(), which
//!   almost always misses and so walks all of PATH;
//! * `os/exec.LookPath` (`os/exec/lp_unix.go`) stats `dir/name` for each element in order,
//!   stops at the first executable regular file, does not de-duplicate, and treats "" as ".";
//!   every `exec.Command("gcc"|"git", ...)` repeats that lookup uncached.
//!
//! The per-entry numbers below were measured with strace on this project's machine
//! (go1.26.8, gcc 12, git 2.39.5) by `bench/path-audit/probe-counts.sh`, output in
//! `bench/path-audit/probe-counts.txt`: an empty directory placed first in PATH receives
//! exactly `probes` syscalls on `dir/name` per command. They include the probes of child
//! processes (gcc's driver searching for itself, `as`, collect2 searching `ld`, `nm`,
//! `strip` and their `g`-prefixed variants) and default settings (CC, GCCGO, GOFLAGS unset,
//! `-buildvcs=auto`, warm build cache).

use serde::Serialize;

/// One go command and the names it looks up: `(name, probes per walked entry)`.
pub struct CommandModel {
    pub command: &'static str,
    pub lookups: &'static [(&'static str, u32)],
}

pub const COMMANDS: &[CommandModel] = &[
    CommandModel {
        command: "go version",
        lookups: &[("gcc", 1), ("gccgo", 1)],
    },
    CommandModel {
        command: "go env",
        lookups: &[("gcc", 4), ("gccgo", 1)],
    },
    CommandModel {
        command: "go build",
        lookups: &[("gcc", 4), ("gccgo", 1)],
    },
    CommandModel {
        command: "go build (git checkout)",
        lookups: &[("gcc", 4), ("gccgo", 1), ("git", 8)],
    },
    CommandModel {
        command: "go build (cgo)",
        lookups: &[
            ("gcc", 27),
            ("gccgo", 1),
            ("as", 4),
            ("ld", 5),
            ("nm", 5),
            ("gnm", 5),
            ("strip", 5),
            ("gstrip", 5),
        ],
    },
];

/// Every name the model looks up (the scan records whether each entry holds it).
pub fn model_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = COMMANDS
        .iter()
        .flat_map(|c| c.lookups.iter().map(|(n, _)| *n))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// What the model needs to know about one entry.
pub struct EntryCost<'a> {
    /// Median miss latency in microseconds; `None` when the entry did not answer.
    pub lookup_us: Option<f64>,
    /// Whether `name` is an executable here (a lookup stops at the first such entry).
    pub has: &'a dyn Fn(&str) -> bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandCost {
    pub command: String,
    /// Syscalls on `<entry>/<name>` the command makes.
    pub probes: u64,
    pub ms: f64,
    pub suggested_probes: u64,
    pub suggested_ms: f64,
    /// True when an unresponsive entry is walked: its latency is counted as the timeout,
    /// and the real cost is at least `ms` (or a hang).
    pub lower_bound: bool,
}

/// Probes and milliseconds for one command over `entries`. Unresponsive entries count
/// `timeout_us` per probe.
pub fn estimate(model: &CommandModel, entries: &[EntryCost], timeout_us: f64) -> (u64, f64, bool) {
    let mut probes = 0u64;
    let mut us = 0.0;
    let mut lower = false;
    for &(name, per_entry) in model.lookups {
        for e in entries {
            probes += per_entry as u64;
            match e.lookup_us {
                Some(l) => us += l * per_entry as f64,
                None => {
                    us += timeout_us * per_entry as f64;
                    lower = true;
                }
            }
            if (e.has)(name) {
                // A hit adds the execute-permission check (faccessat2 in os/exec's
                // findExecutable) on the winning entry: exact for the go process's own
                // lookups, an approximation for the gcc driver's access()-based search.
                probes += per_entry as u64;
                if let Some(l) = e.lookup_us {
                    us += l * per_entry as f64;
                }
                break;
            }
        }
    }
    (probes, us / 1000.0, lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misses_walk_everything_hits_stop() {
        let yes = |n: &str| n == "gcc";
        let no = |_: &str| false;
        let entries = [
            EntryCost {
                lookup_us: Some(1000.0),
                has: &no,
            },
            EntryCost {
                lookup_us: Some(10.0),
                has: &yes,
            },
            EntryCost {
                lookup_us: Some(2000.0),
                has: &no,
            },
        ];
        // go version: gcc found in entry 1 (stats 0,1 + access on 1), gccgo misses (0,1,2)
        let (p, ms, lower) = estimate(&COMMANDS[0], &entries, 500_000.0);
        assert_eq!(p, 3 + 3);
        assert!((ms - (1.020 + 3.010)).abs() < 1e-9, "{ms}");
        assert!(!lower);
        let dead = [EntryCost {
            lookup_us: None,
            has: &no,
        }];
        let (_, ms, lower) = estimate(&COMMANDS[0], &dead, 500_000.0);
        assert!(lower && ms == 1000.0);
    }
}
