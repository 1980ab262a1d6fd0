//! The tracer's stop-cost calibration, kept between runs: measuring it (200 round trips in a
//! child that re-executes golat) costs 8-20 ms, more than a short command takes, and its
//! figures depend on the machine, not on the command. A measurement is reused while the
//! boot, kernel, CPU model and golat binary are the same and it is less than an hour old;
//! `--recalibrate` measures anew.
//!
//! Where it is kept: `$XDG_RUNTIME_DIR/golat/` (a per-user tmpfs that a reboot clears),
//! else `$XDG_CACHE_HOME/golat/` or `~/.cache/golat/`. A cache directory on a network or
//! FUSE mount is read with a deadline and never written: a hung home directory must not
//! hang golat before the command even starts.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::tracer::{self, Calibration, StartError};

/// How long a cached calibration is trusted. Stop costs move with the machine's load (the
/// round trip measured 26 µs in a quiet hour and 73 µs in a busy one on the same VM), so
/// an hour: a run that measures anew costs 8-20 ms once an hour.
const MAX_AGE: Duration = Duration::from_secs(3600);
/// Round trips measured by a calibration.
const ROUNDS: usize = 200;
/// Deadline for reading a cache file on a network or FUSE mount.
const REMOTE_READ_DEADLINE: Duration = Duration::from_millis(100);
const FILE_NAME: &str = "calibration-v1.json";

/// The calibration a run uses and where it came from.
pub struct Used {
    pub calibration: Calibration,
    /// `measured` or `cached`.
    pub source: &'static str,
    pub age_s: Option<f64>,
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Stored {
    key: String,
    /// Seconds since the Unix epoch when it was measured.
    measured_at: u64,
    stop_cost_ns: u64,
    oncpu_cost_ns: u64,
    stop_cost_polled_ns: u64,
    oncpu_cost_polled_ns: u64,
}

/// The cached calibration when it still fits this machine, else a fresh one (stored for
/// the next run).
pub fn load_or_measure(
    recalibrate: bool,
    mounts: &crate::fsinfo::MountTable,
) -> Result<Used, StartError> {
    let key = machine_key();
    let place = cache_file(mounts);
    if !recalibrate
        && let (Some(key), Some((file, remote))) = (&key, &place)
        && let Some((calibration, age)) = read(file, *remote, key)
    {
        return Ok(Used {
            calibration,
            source: "cached",
            age_s: Some(age.as_secs_f64()),
        });
    }
    let calibration = tracer::calibrate(ROUNDS)?;
    if let (Some(key), Some((file, false))) = (&key, &place) {
        write(file, key, &calibration);
    }
    Ok(Used {
        calibration,
        source: "measured",
        age_s: None,
    })
}

/// What a calibration depends on: boot, kernel, CPU model, and the golat binary (size and
/// modification time, so a rebuilt golat measures anew).
fn machine_key() -> Option<String> {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let boot = read("/proc/sys/kernel/random/boot_id")?;
    let kernel = read("/proc/sys/kernel/osrelease")?;
    let cpu = read("/proc/cpuinfo")
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let exe = std::fs::metadata("/proc/self/exe").ok()?;
    let mtime = exe
        .modified()
        .ok()?
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!(
        "boot={} kernel={} cpu={cpu} golat={} exe={}:{mtime}",
        boot.trim(),
        kernel.trim(),
        env!("CARGO_PKG_VERSION"),
        exe.len()
    ))
}

/// The cache file and whether it lies on a network or FUSE mount.
fn cache_file(mounts: &crate::fsinfo::MountTable) -> Option<(PathBuf, bool)> {
    let env_dir = |k: &str| {
        std::env::var_os(k)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let dir = env_dir("XDG_RUNTIME_DIR")
        .or_else(|| env_dir("XDG_CACHE_HOME"))
        .or_else(|| env_dir("HOME").map(|h| h.join(".cache")))?
        .join("golat");
    let remote = mounts
        .lookup(&dir)
        .is_some_and(|m| m.class() != crate::fsinfo::FsClass::Local);
    Some((dir.join(FILE_NAME), remote))
}

fn read(file: &Path, remote: bool, key: &str) -> Option<(Calibration, Duration)> {
    let owned = file.to_path_buf();
    let text = crate::fsinfo::probe_with_deadline(remote, REMOTE_READ_DEADLINE, move || {
        std::fs::read_to_string(owned).ok()
    })
    .ok()??;
    let stored: Stored = serde_json::from_str(&text).ok()?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_secs();
    let age = Duration::from_secs(now.checked_sub(stored.measured_at)?);
    (stored.key == key && age <= MAX_AGE && stored.stop_cost_ns > 0).then_some((
        Calibration {
            stop_cost_ns: stored.stop_cost_ns,
            oncpu_cost_ns: stored.oncpu_cost_ns,
            stop_cost_polled_ns: stored.stop_cost_polled_ns,
            oncpu_cost_polled_ns: stored.oncpu_cost_polled_ns,
        },
        age,
    ))
}

/// Stores a calibration, atomically (a concurrent golat reads the old file or the new
/// one). A failure only means the next run measures again.
fn write(file: &Path, key: &str, c: &Calibration) {
    let Some(dir) = file.parent() else { return };
    let stored = Stored {
        key: key.to_string(),
        measured_at: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        stop_cost_ns: c.stop_cost_ns,
        oncpu_cost_ns: c.oncpu_cost_ns,
        stop_cost_polled_ns: c.stop_cost_polled_ns,
        oncpu_cost_polled_ns: c.oncpu_cost_polled_ns,
    };
    let Ok(text) = serde_json::to_string(&stored) else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) else {
        return;
    };
    if std::io::Write::write_all(&mut tmp, text.as_bytes()).is_ok() {
        let _ = tmp.persist(file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_calibration_is_used_only_for_the_same_key_and_while_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("golat").join(FILE_NAME);
        let c = Calibration {
            stop_cost_ns: 30_000,
            oncpu_cost_ns: 9_000,
            stop_cost_polled_ns: 20_000,
            oncpu_cost_polled_ns: 3_000,
        };
        write(&file, "k1", &c);
        let (got, age) = read(&file, false, "k1").expect("fresh entry");
        assert_eq!(got.stop_cost_ns, 30_000);
        assert_eq!(got.oncpu_cost_polled_ns, 3_000);
        assert!(age < Duration::from_secs(60));
        assert!(read(&file, false, "k2").is_none(), "another machine state");
        // An entry older than MAX_AGE is measured anew.
        let mut stored: Stored =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        stored.measured_at -= MAX_AGE.as_secs() + 10;
        std::fs::write(&file, serde_json::to_string(&stored).unwrap()).unwrap();
        assert!(read(&file, false, "k1").is_none());
        // Garbage is ignored, not an error.
        std::fs::write(&file, "{not json").unwrap();
        assert!(read(&file, false, "k1").is_none());
    }

    #[test]
    fn the_key_names_this_machine_and_binary() {
        let key = machine_key().expect("a Linux machine has boot_id and osrelease");
        assert!(key.contains("boot=") && key.contains("exe="), "{key}");
        assert_eq!(Some(key), machine_key(), "stable within a run");
    }
}
