//! Which filesystem a path lives on, from /proc/self/mountinfo by longest prefix (touches
//! nothing under the path, so a dead NFS server cannot hang the caller), and a deadline-bound
//! worker for the probes that do have to touch a path.

use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mount {
    pub mount_point: String,
    /// e.g. `ext4`, `overlay`, `nfs4`, `fuse.sshfs`
    pub fs_type: String,
    pub source: String,
    /// per-mount and super options merged, e.g. `rw,noexec,relatime`
    pub options: String,
}

impl Mount {
    /// True when `name` (e.g. `noexec`, `ro`, `nolock`) is one of the options, either bare or
    /// as `name=value`.
    pub fn has_option(&self, name: &str) -> bool {
        self.option(name).is_some()
    }

    /// The value of option `name`: `Some("")` for a bare flag, `Some(v)` for `name=v`.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .split(',')
            .find_map(|opt| match opt.split_once('=') {
                Some((k, v)) if k == name => Some(v),
                None if opt == name => Some(""),
                _ => None,
            })
    }

    pub fn class(&self) -> FsClass {
        classify(&self.fs_type)
    }
}

/// A coarse class of filesystem, for deciding how worried to be about lookups there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FsClass {
    /// Disk or memory filesystems where a lookup costs microseconds.
    Local,
    /// Each uncached lookup is a network round trip (NFS, SMB, 9p, cluster filesystems).
    Network,
    /// Each uncached lookup is a round trip to a user-space daemon (which may itself be remote).
    Fuse,
    /// autofs: a stat of a trigger point can mount something (and block while doing so).
    Automount,
}

/// Classifies an mountinfo fs type; the list follows the research notes (PATH020/PATH021).
pub fn classify(fs_type: &str) -> FsClass {
    if fs_type == "fuse" || fs_type == "fuseblk" || fs_type.starts_with("fuse.") {
        return FsClass::Fuse;
    }
    if fs_type == "autofs" {
        return FsClass::Automount;
    }
    if is_network_fs(fs_type) {
        return FsClass::Network;
    }
    FsClass::Local
}

/// True for filesystems where each lookup can cost a network round trip.
pub fn is_network_fs(fs_type: &str) -> bool {
    // `nfs`, `nfs4`, and spellings such as `nfsd` are not mounts users put binaries on, but a
    // prefix match on "nfs" would also accept them; list explicitly.
    matches!(
        fs_type,
        "nfs"
            | "nfs4"
            | "cifs"
            | "smb3"
            | "smbfs"
            | "9p"
            | "ceph"
            | "afs"
            | "coda"
            | "lustre"
            | "gpfs"
            | "ocfs2"
            | "gfs2"
            | "glusterfs"
            | "vboxsf"
            | "virtiofs"
            | "davfs"
            | "ncpfs"
            | "drvfs"
    ) || fs_type.starts_with("fuse.")
}

/// True for FUSE filesystems (`fuse`, `fuseblk`, `fuse.<subtype>`).
pub fn is_fuse(fs_type: &str) -> bool {
    classify(fs_type) == FsClass::Fuse
}

/// A snapshot of the mount table.
#[derive(Debug, Clone, Default)]
pub struct MountTable {
    pub mounts: Vec<Mount>,
}

impl MountTable {
    /// Reads /proc/self/mountinfo.
    pub fn load() -> anyhow::Result<MountTable> {
        let text = std::fs::read_to_string("/proc/self/mountinfo")
            .context("reading /proc/self/mountinfo")?;
        MountTable::parse(&text).context("parsing /proc/self/mountinfo")
    }

    /// Parses mountinfo text (proc(5) format). A malformed line is an error naming its number.
    pub fn parse(text: &str) -> anyhow::Result<MountTable> {
        let mut mounts = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            mounts.push(parse_line(line).with_context(|| format!("line {}: {line:?}", i + 1))?);
        }
        Ok(MountTable { mounts })
    }

    /// The mount that holds `path` (an absolute, lexically clean path), by longest prefix.
    ///
    /// Prefixes match whole components (`/mnt/a` does not hold `/mnt/ab`). When several mounts
    /// share a mount point the last one in the table wins: it is the one stacked on top.
    pub fn lookup(&self, path: &Path) -> Option<&Mount> {
        self.lookup_index(path).map(|i| &self.mounts[i])
    }

    /// `lookup`, as the mount's index in `mounts`.
    pub fn lookup_index(&self, path: &Path) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for (i, m) in self.mounts.iter().enumerate() {
            let mp = Path::new(&m.mount_point);
            if path.starts_with(mp) {
                let depth = mp.components().count();
                if best.is_none_or(|(_, d)| depth >= d) {
                    best = Some((i, depth));
                }
            }
        }
        best.map(|(i, _)| i)
    }
}

fn parse_line(line: &str) -> anyhow::Result<Mount> {
    // ID parent major:minor root mountpoint opts [optional fields...] - fstype source superopts
    let fields: Vec<&str> = line.split(' ').collect();
    let sep = fields
        .iter()
        .position(|f| *f == "-")
        .context("no ' - ' separator")?;
    anyhow::ensure!(sep >= 6, "too few fields before the separator");
    anyhow::ensure!(
        fields.len() >= sep + 3,
        "too few fields after the separator"
    );
    let mount_point = unescape(fields[4]);
    anyhow::ensure!(mount_point.starts_with('/'), "mount point is not absolute");
    let mut options = fields[5].to_string();
    let super_opts = fields[sep + 3..].join(" ");
    for opt in super_opts.split(',').filter(|o| !o.is_empty()) {
        // Per-mount options come first; super options repeat `rw`/`ro`, which would only
        // confuse a reader of the merged string.
        if !options.split(',').any(|o| o == opt) {
            options.push(',');
            options.push_str(opt);
        }
    }
    Ok(Mount {
        mount_point,
        fs_type: unescape(fields[sep + 1]),
        source: unescape(fields[sep + 2]),
        options,
    })
}

/// Decodes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134`
/// backslash); anything else is kept as written.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            if v <= 255 {
                out.push(v as u8);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Makes `path` absolute against `cwd` and removes `.`, `..` and repeated slashes without
/// touching the filesystem (like Go's `filepath.Clean`; `..` is taken lexically).
pub fn lexical_clean(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The work did not finish within its deadline; the worker thread is left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut(pub Duration);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "did not answer within {} ms", self.0.as_millis())
    }
}

impl std::error::Error for TimedOut {}

/// Runs `probe` at once when its path is on a local filesystem, else through
/// [`with_timeout`]: a thread costs more than a local stat, and only a remote mount hangs.
pub fn probe_with_deadline<T, F>(remote: bool, timeout: Duration, probe: F) -> Result<T, TimedOut>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    if remote {
        with_timeout(timeout, probe)
    } else {
        Ok(probe())
    }
}

/// Runs `probe` on a worker thread and waits at most `timeout` for it.
///
/// A stat on a dead hard-mounted NFS server sleeps in the kernel forever and cannot be
/// interrupted, so on timeout the worker is detached rather than joined: it costs one
/// parked thread, and the caller keeps going. Panics in `probe` are reported as errors.
pub fn with_timeout<T, F>(timeout: Duration, probe: F) -> Result<T, TimedOut>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("golat-fs-probe".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let _ = tx.send(probe());
        });
    if spawned.is_err() {
        // Cannot get a thread (resource limit): treat like a probe that never answered rather
        // than running it here and risking the hang this function exists to avoid.
        return Err(TimedOut(timeout));
    }
    match rx.recv_timeout(timeout) {
        Ok(v) => Ok(v),
        // Disconnected means the probe panicked; report it as not answering.
        Err(_) => Err(TimedOut(timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
43 27 0:39 / /mnt/slow ro,nosuid,nodev,relatime - fuse.slowfs slowfs ro,user_id=0,group_id=0
44 27 0:40 / /mnt/my\\040share rw,relatime shared:5 master:1 - nfs4 srv:/export rw,vers=4.2,local_lock=none
45 27 0:41 / /tmp rw,nosuid,nodev,noexec shared:7 - tmpfs tmpfs rw,size=100k
46 45 0:42 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw
";

    #[test]
    fn longest_prefix_and_escapes() {
        let t = MountTable::parse(SAMPLE).unwrap();
        assert_eq!(t.mounts.len(), 6);
        assert_eq!(t.lookup(Path::new("/usr/bin")).unwrap().fs_type, "ext4");
        assert_eq!(t.lookup(Path::new("/")).unwrap().fs_type, "ext4");
        let slow = t.lookup(Path::new("/mnt/slow/bin")).unwrap();
        assert_eq!(slow.fs_type, "fuse.slowfs");
        assert_eq!(slow.class(), FsClass::Fuse);
        // component-wise: /mnt/slowpoke is not under /mnt/slow
        assert_eq!(
            t.lookup(Path::new("/mnt/slowpoke")).unwrap().fs_type,
            "ext4"
        );
        let share = t.lookup(Path::new("/mnt/my share/bin")).unwrap();
        assert_eq!(share.mount_point, "/mnt/my share");
        assert_eq!(share.fs_type, "nfs4");
        assert_eq!(share.class(), FsClass::Network);
        assert_eq!(share.option("local_lock"), Some("none"));
        assert_eq!(share.option("vers"), Some("4.2"));
        // the last mount stacked on /tmp wins, and it is not noexec
        let tmp = t.lookup(Path::new("/tmp/x")).unwrap();
        assert!(!tmp.has_option("noexec"));
        assert!(t.mounts[4].has_option("noexec"));
        assert!(slow.has_option("ro") && slow.has_option("nosuid"));
    }

    #[test]
    fn unescape_octal() {
        assert_eq!(unescape("a\\040b\\011c\\012d\\134e"), "a b\tc\nd\\e");
        assert_eq!(unescape("trailing\\04"), "trailing\\04");
        assert_eq!(unescape("\\999"), "\\999");
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        for bad in [
            "",
            "x",
            "1 2 3 4 /a rw",
            "1 2 3 4 /a rw - ",
            "1 2 - ext4 a b",
            "1 2 3 4 rel rw - ext4 s o",
        ] {
            let r = MountTable::parse(bad);
            if !bad.is_empty() {
                assert!(r.is_err(), "{bad:?} parsed");
            }
        }
    }

    #[test]
    fn classes() {
        assert!(is_network_fs("nfs4") && is_network_fs("cifs") && is_network_fs("9p"));
        assert!(is_network_fs("fuse.sshfs"));
        assert!(!is_network_fs("ext4") && !is_network_fs("overlay") && !is_network_fs("tmpfs"));
        assert_eq!(classify("fuseblk"), FsClass::Fuse);
        assert_eq!(classify("autofs"), FsClass::Automount);
        assert_eq!(classify("btrfs"), FsClass::Local);
    }

    #[test]
    fn clean_paths() {
        let cwd = Path::new("/home/u");
        assert_eq!(
            lexical_clean(Path::new("bin"), cwd),
            Path::new("/home/u/bin")
        );
        assert_eq!(
            lexical_clean(Path::new("/usr//bin/"), cwd),
            Path::new("/usr/bin")
        );
        assert_eq!(
            lexical_clean(Path::new("/a/./b/../c"), cwd),
            Path::new("/a/c")
        );
        assert_eq!(lexical_clean(Path::new("/../.."), cwd), Path::new("/"));
    }

    #[test]
    fn live_table_has_root() {
        let t = MountTable::load().unwrap();
        assert_eq!(
            t.lookup(Path::new("/usr/bin"))
                .map(|m| m.mount_point.starts_with('/')),
            Some(true)
        );
    }

    #[test]
    fn timeout_returns_and_fast_work_completes() {
        let start = std::time::Instant::now();
        let r = with_timeout(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(5));
            1
        });
        assert_eq!(r, Err(TimedOut(Duration::from_millis(50))));
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(with_timeout(Duration::from_secs(5), || 7), Ok(7));
        let panicked: Result<(), _> = with_timeout(Duration::from_secs(5), || panic!("boom"));
        assert!(panicked.is_err());
    }
}
