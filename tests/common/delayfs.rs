//! Test harness for fixtures/delayfs: a passthrough FUSE filesystem (go-fuse loopback) that
//! mirrors a real directory and injects known delays into LOOKUP, OPEN/CREATE, GETATTR and
//! OPENDIR/READDIR, standing in for NFS in tests and benchmarks of golat's timing on slow
//! filesystems. The server measures every request itself; its accounting (`stats`) is the
//! truth golat's figures are checked against.
//!
//! Include it with `#[path = "common/delayfs.rs"] mod delayfs;`. It depends only on std,
//! libc, serde_json and tempfile.
//!
//! Needs /dev/fuse and either root (delayfs mounts with mount(2) directly) or fusermount3,
//! and `go` on PATH plus the Go module proxy (for go-fuse) to build the server.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long building the server, or any command run with [`run_with_timeout`], may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a control-socket exchange may take.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server may take to print `ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The delays (and caching) a mount injects; `Default` is all zero: no delay, no caching.
#[derive(Clone, Debug, Default)]
pub struct Delays {
    /// Before every LOOKUP.
    pub lookup: Duration,
    /// Before every OPEN and CREATE.
    pub open: Duration,
    /// Before every GETATTR (and STATX).
    pub getattr: Duration,
    /// Before every OPENDIR, READDIR and READDIRPLUS.
    pub readdir: Duration,
    /// Entry, attribute and negative-entry timeout given to the kernel (0: every lookup
    /// reaches the server, like NFS with lookupcache=none).
    pub cache: Duration,
    /// A LOOKUP of exactly one of these final names blocks for `hang_for`.
    pub hang_names: Vec<String>,
    /// How long such a lookup blocks; `None`: until the request is interrupted.
    pub hang_for: Option<Duration>,
}

/// One op kind's figures, as measured by the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpStats {
    pub count: u64,
    /// Sum of the delays actually slept.
    pub injected_ns: u64,
    /// Sum of the handler times (entry to return), delays included.
    pub served_ns: u64,
}

/// The server's accounting since mount or the last [`DelayFs::reset`].
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// By op kind: `lookup`, `open` (OPEN and CREATE), `getattr`, `readdir`, `other`.
    pub ops: BTreeMap<String, OpStats>,
    /// The most delayed requests that were being handled at once.
    pub max_in_flight: u64,
    /// Delayed requests that started while another delayed request was in flight.
    pub overlapped: u64,
    /// The last 64 completed hung lookups: (final name, measured hang in ns).
    pub hung: Vec<(String, u64)>,
}

impl Stats {
    /// The figures for one op kind, zero if the server has none.
    pub fn op(&self, name: &str) -> OpStats {
        self.ops.get(name).copied().unwrap_or_default()
    }

    /// Requests of every kind.
    pub fn total_count(&self) -> u64 {
        self.ops.values().map(|o| o.count).sum()
    }

    /// Delay actually slept, all kinds, in milliseconds.
    pub fn total_injected_ms(&self) -> f64 {
        self.ops.values().map(|o| o.injected_ns as f64).sum::<f64>() / 1e6
    }
}

/// A mounted delayfs. Dropping it stops the server and detaches the mount, never hanging.
pub struct DelayFs {
    child: Child,
    mnt: PathBuf,
    control: PathBuf,
    /// Holds the control socket and the server's stderr log.
    dir: tempfile::TempDir,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Runs `cmd` to completion, capturing its output into files (so a grandchild that keeps a
/// pipe open cannot block us); kills its whole process group after `limit`.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Result<Output, String> {
    let mut out = tempfile::tempfile().map_err(|e| e.to_string())?;
    let mut err = tempfile::tempfile().map_err(|e| e.to_string())?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(err.try_clone().map_err(|e| e.to_string())?)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                // SAFETY: signalling the process group we created.
                unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{:?} did not finish within {limit:?} and was killed",
                    cmd.get_program()
                ));
            }
        }
    };
    let read = |f: &mut std::fs::File| {
        let mut v = Vec::new();
        let _ = f.rewind();
        let _ = f.read_to_end(&mut v);
        v
    };
    Ok(Output {
        status,
        stdout: read(&mut out),
        stderr: read(&mut err),
    })
}

/// Builds fixtures/delayfs once per test process.
fn binary() -> Result<PathBuf, String> {
    static BIN: OnceLock<Result<(tempfile::TempDir, PathBuf), String>> = OnceLock::new();
    let built = BIN.get_or_init(|| {
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let bin = dir.path().join("delayfs");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/delayfs");
        let out = run_with_timeout(
            Command::new("go")
                .current_dir(&src)
                .env("GOTOOLCHAIN", "local")
                .env("GOFLAGS", "-mod=mod -buildvcs=false")
                .args(["build", "-o"])
                .arg(&bin)
                .arg("."),
            COMMAND_TIMEOUT,
        )
        .map_err(|e| format!("building fixtures/delayfs: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "building fixtures/delayfs failed (needs go and the Go module proxy for go-fuse): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok((dir, bin))
    });
    built
        .as_ref()
        .map(|(_, bin)| bin.clone())
        .map_err(Clone::clone)
}

fn go_duration(d: Duration) -> String {
    format!("{}ns", d.as_nanos())
}

impl DelayFs {
    /// Builds delayfs once per test process (into a temp dir), mounts `root` at `mnt`
    /// (creating `mnt`). Err(reason) if FUSE is not available or the server cannot be
    /// built or mounted; the caller decides skip vs fail.
    pub fn mount(root: &Path, mnt: &Path, delays: &Delays) -> Result<DelayFs, String> {
        if !Path::new("/dev/fuse").exists() {
            return Err("/dev/fuse is absent on this machine".into());
        }
        let bin = binary()?;
        std::fs::create_dir_all(mnt)
            .map_err(|e| format!("cannot create {}: {e}", mnt.display()))?;
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let control = dir.path().join("ctl");
        let log_path = dir.path().join("stderr.log");
        let log = std::fs::File::create(&log_path).map_err(|e| format!("stderr log: {e}"))?;

        let mut cmd = Command::new(&bin);
        cmd.arg("-lookup")
            .arg(go_duration(delays.lookup))
            .arg("-open")
            .arg(go_duration(delays.open))
            .arg("-getattr")
            .arg(go_duration(delays.getattr))
            .arg("-readdir")
            .arg(go_duration(delays.readdir))
            .arg("-cache")
            .arg(go_duration(delays.cache))
            .arg("-control")
            .arg(&control);
        for name in &delays.hang_names {
            cmd.arg("-hang-name").arg(name);
        }
        if let Some(d) = delays.hang_for {
            // 0 means forever to the server; ask for the shortest real wait instead.
            cmd.arg("-hang-for")
                .arg(go_duration(d.max(Duration::from_nanos(1))));
        }
        let mut child = cmd
            .arg(root)
            .arg(mnt)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start delayfs: {e}"))?;

        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut r = BufReader::new(stdout);
            let _ = r.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the server never blocks on a full pipe.
            let _ = std::io::copy(&mut r, &mut std::io::sink());
        });
        let mut fs = DelayFs {
            child,
            mnt: mnt.to_path_buf(),
            control,
            dir,
        };
        match rx.recv_timeout(READY_TIMEOUT) {
            Ok(line) if line.trim() == "ready" => Ok(fs),
            got => {
                fs.stop();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let why = match got {
                    Ok(_) => "exited before mounting",
                    Err(_) => "did not print `ready` within 30 s",
                };
                Err(format!("delayfs {why}: {}", log.trim()))
            }
        }
    }

    pub fn mountpoint(&self) -> &Path {
        &self.mnt
    }

    fn request(&self, command: &str) -> serde_json::Value {
        let exchange = || -> std::io::Result<String> {
            let mut s = UnixStream::connect(&self.control)?;
            s.set_read_timeout(Some(CONTROL_TIMEOUT))?;
            s.set_write_timeout(Some(CONTROL_TIMEOUT))?;
            s.write_all(format!("{command}\n").as_bytes())?;
            let mut line = String::new();
            BufReader::new(s).read_line(&mut line)?;
            Ok(line)
        };
        let line = exchange().unwrap_or_else(|e| {
            panic!(
                "delayfs control socket {}: `{command}`: {e}",
                self.control.display()
            )
        });
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("delayfs `{command}`: bad reply ({e}): {line:?}"))
    }

    /// The server's accounting since mount or the last reset.
    pub fn stats(&self) -> Stats {
        let v = self.request("stats");
        let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
        let ops = v["ops"]
            .as_object()
            .unwrap_or_else(|| panic!("delayfs stats without ops: {v}"))
            .iter()
            .map(|(k, o)| {
                let op = OpStats {
                    count: n(&o["count"]),
                    injected_ns: n(&o["injected_ns"]),
                    served_ns: n(&o["served_ns"]),
                };
                (k.clone(), op)
            })
            .collect();
        let hung = v["hung"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|h| {
                        (
                            h["name"].as_str().unwrap_or("").to_string(),
                            n(&h["dur_ns"]),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Stats {
            ops,
            max_in_flight: n(&v["max_in_flight"]),
            overlapped: n(&v["overlapped"]),
            hung,
        }
    }

    /// Lookups blocked in a hang right now (the request is in the server, not queued).
    pub fn hanging(&self) -> u64 {
        self.request("stats")["hanging"].as_u64().unwrap_or(0)
    }

    /// The server's process id (to stop it: a stopped server answers nothing, not even the
    /// kernel's INTERRUPT, as a wedged real server would).
    pub fn server_pid(&self) -> u32 {
        self.child.id()
    }

    /// Zeroes the server's counters.
    pub fn reset(&self) {
        let v = self.request("reset");
        assert_eq!(v["ok"], true, "delayfs reset: {v}");
    }

    /// SIGTERM, SIGKILL after 2 s, then detach the mount whatever state the server left.
    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(2);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if matches!(self.child.try_wait(), Ok(None)) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        if let Ok(c) = std::ffi::CString::new(self.mnt.as_os_str().as_encoded_bytes()) {
            // SAFETY: valid C string; MNT_DETACH never blocks.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        let _ = Command::new("fusermount3")
            .arg("-uz")
            .arg(&self.mnt)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for DelayFs {
    fn drop(&mut self) {
        // The fields, the control socket's directory among them, go after the server.
        self.stop();
    }
}

/// Mounts, or: under CI=true panics with the reason; elsewhere prints a loud
/// "*** FUSE TEST NOT RUN: ... ***" and returns None.
pub fn mount_or_skip(root: &Path, mnt: &Path, delays: &Delays) -> Option<DelayFs> {
    match DelayFs::mount(root, mnt, delays) {
        Ok(fs) => Some(fs),
        Err(why) => {
            assert!(!in_ci(), "CI: cannot mount the delayfs FUSE fixture: {why}");
            eprintln!("\n*** FUSE TEST NOT RUN: {why} ***\n");
            None
        }
    }
}
