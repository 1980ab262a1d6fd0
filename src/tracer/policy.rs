//! The timing policy: for each traced call, whether golat repeats it at the entry stop
//! (a replay: one stop, kernel time without the ptrace round trip) or lets the program make
//! it and measures it at its exit stop, decided from the mount its path is on, the kind of
//! call and what the run has seen so far. It owns the mount index the tracer consults per
//! call and the record of which mounts were measured how, and why.
//!
//! Why not always replay: a replay is a second copy of the call. On a filesystem whose
//! dentry cache answers the program's own call (ext4, xfs, btrfs, tmpfs, proc, overlay on
//! those) the copy warms the cache and the program's call costs a cache hit, so the
//! filesystem sees each request once. On a network or FUSE filesystem without negative
//! caching both copies reach the server (twice the requests), and while golat waits on its
//! copy every other thread's stop waits too (the tree is serialized). There the program's
//! own call is measured instead, at its exit stop, and golat serves other stops meanwhile.

use crate::fsinfo::{FsClass, Mount, MountTable};

/// A replay longer than this switches its mount to exit-stop measurement for the rest of
/// the run. While golat replays, every other traced thread's stop waits; an exit stop costs
/// the calling thread one more round trip (20-60 µs on this VM). A lookup served from the
/// dentry cache takes 1-10 µs and one that reads an SSD 0.1-0.3 ms, so local disks stay on
/// the replay; a call that takes a millisecond holds the other threads as long as 15-50
/// exit stops would, and is the mark of a remote filesystem golat did not recognise (a
/// symlink into NFS, a network block device).
pub const SLOW_REPLAY_NS: u64 = 1_000_000;

/// Why a call that could be replayed was measured at its exit stop instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Why {
    /// `--exact`: every call takes its exit stop.
    Exact,
    /// On a network, FUSE or automount filesystem, or an overlay with a layer on one.
    RemoteMount,
    /// An earlier replay on this mount took longer than [`SLOW_REPLAY_NS`].
    SlowReplay,
    /// An open of a FIFO, device or socket: opening it is not a lookup (it may block
    /// until a writer comes, or act on a device), so only the real call tells.
    SpecialFile,
    /// The process runs in another mount namespace: golat's copy would look at golat's
    /// tree, not the program's.
    ForeignNamespace,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Exact => "exact",
            Why::RemoteMount => "remote_mount",
            Why::SlowReplay => "slow_replay",
            Why::SpecialFile => "special_file",
            Why::ForeignNamespace => "foreign_namespace",
        }
    }
}

/// One mount as the policy sees it.
#[derive(Debug, Clone)]
pub struct PolicyMount {
    pub mount_point: String,
    pub fs_type: String,
    pub source: String,
    /// Calls here are measured at their exit stop from the start.
    pub remote: bool,
    /// Set when a slow replay switched this mount: (path, replay ns, ns since start).
    pub switched: Option<(String, u64, u64)>,
    pub replayed: u64,
    pub measured: u64,
}

/// A mount point's bytes and its index in `Policy::mounts`.
type MountPoint = (Box<[u8]>, usize);

/// The mount table in the form the tracer asks per call, plus what the run learned.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    mounts: Vec<PolicyMount>,
    /// Mount indexes by first path component (`b"usr"`), most specific mount point first;
    /// mounts directly on `/` are looked up under their own first component.
    by_first: Vec<(Box<[u8]>, Vec<MountPoint>)>,
    /// The mount on `/`, when there is one.
    root: Option<usize>,
    pub counts: std::collections::BTreeMap<Why, u64>,
}

impl Policy {
    /// Builds the index from a mount table (in mountinfo order: later mounts stack on top).
    pub fn new(table: &MountTable) -> Policy {
        let mounts = &table.mounts;
        let mut policy = Policy::default();
        let classes: Vec<bool> = mounts.iter().map(|m| remote_class(m.class())).collect();
        for (i, m) in mounts.iter().enumerate() {
            let remote = classes[i] || overlay_over_remote(m, table, &classes);
            policy.mounts.push(PolicyMount {
                mount_point: m.mount_point.clone(),
                fs_type: m.fs_type.clone(),
                source: m.source.clone(),
                remote,
                switched: None,
                replayed: 0,
                measured: 0,
            });
            let point = m.mount_point.as_bytes();
            if point == b"/" {
                policy.root = Some(i);
                continue;
            }
            let first = first_component(point).to_vec().into_boxed_slice();
            let slot = match policy.by_first.iter().position(|(f, _)| *f == first) {
                Some(s) => s,
                None => {
                    policy.by_first.push((first, Vec::new()));
                    policy.by_first.len() - 1
                }
            };
            policy.by_first[slot].1.push((point.into(), i));
        }
        // Deepest mount point first; among equal ones the later (stacked on top) first.
        for (_, list) in &mut policy.by_first {
            list.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(b.1.cmp(&a.1)));
        }
        policy
    }

    /// The mount holding an absolute, lexically clean path (a mount point's own path
    /// belongs to the mount on it).
    pub fn mount_of(&self, path: &[u8]) -> Option<usize> {
        if !path.starts_with(b"/") {
            return None;
        }
        let first = first_component(path);
        if let Some((_, list)) = self.by_first.iter().find(|(f, _)| **f == *first) {
            for (point, i) in list {
                if path.starts_with(point)
                    && (path.len() == point.len() || path[point.len()] == b'/')
                {
                    return Some(*i);
                }
            }
        }
        self.root
    }

    /// How a replayable call on `mount` is to be timed: `None` to replay it.
    pub fn exit_stop_reason(&self, mount: Option<usize>) -> Option<Why> {
        let m = &self.mounts[mount?];
        if m.remote {
            Some(Why::RemoteMount)
        } else if m.switched.is_some() {
            Some(Why::SlowReplay)
        } else {
            None
        }
    }

    /// Notes a replay on `mount` that took `dur_ns` undisturbed; a slow one switches the
    /// mount. Returns true when this replay switched it.
    pub fn replayed(&mut self, mount: Option<usize>, path: &str, dur_ns: u64, t_ns: u64) -> bool {
        let Some(m) = mount.and_then(|i| self.mounts.get_mut(i)) else {
            return false;
        };
        m.replayed += 1;
        if dur_ns > SLOW_REPLAY_NS && m.switched.is_none() && !m.remote {
            m.switched = Some((path.to_string(), dur_ns, t_ns));
            return true;
        }
        false
    }

    /// Counts a replayable call measured at its exit stop instead.
    pub fn measured(&mut self, mount: Option<usize>, why: Why) {
        *self.counts.entry(why).or_default() += 1;
        if let Some(m) = mount.and_then(|i| self.mounts.get_mut(i)) {
            m.measured += 1;
        }
    }

    pub fn mount(&self, i: usize) -> &PolicyMount {
        &self.mounts[i]
    }

    pub fn mounts(&self) -> &[PolicyMount] {
        &self.mounts
    }
}

/// Classes whose lookups leave the machine's own kernel: measured for real.
fn remote_class(class: FsClass) -> bool {
    matches!(class, FsClass::Network | FsClass::Fuse | FsClass::Automount)
}

/// An overlay whose lower, upper or data layers sit on a remote mount (Docker Desktop and
/// dev containers stack overlays on virtiofs, 9p or FUSE): its lookups reach them.
fn overlay_over_remote(m: &Mount, table: &MountTable, remote: &[bool]) -> bool {
    if m.fs_type != "overlay" {
        return false;
    }
    m.options
        .split(',')
        .filter_map(|o| o.split_once('='))
        .filter(|(k, _)| matches!(*k, "lowerdir" | "lowerdir+" | "upperdir" | "datadir+"))
        .flat_map(|(_, v)| v.split(':'))
        .filter(|d| d.starts_with('/'))
        .filter_map(|dir| table.lookup_index(std::path::Path::new(dir)))
        .any(|i| remote[i])
}

/// `b"usr"` of `b"/usr/local"`; empty for `/`.
fn first_component(path: &[u8]) -> &[u8] {
    let rest = path.strip_prefix(b"/").unwrap_or(path);
    let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
    &rest[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
43 27 0:39 / /mnt/slow rw,relatime - fuse.delayfs golat-delayfs rw,user_id=0,group_id=0
44 27 0:40 / /home/u rw,relatime - nfs4 srv:/export rw,vers=4.2
45 27 0:41 / /tmp rw,nosuid - tmpfs tmpfs rw
46 45 0:42 / /tmp rw,nosuid - tmpfs tmpfs rw
47 27 0:43 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw,lowerdir=/var/l1:/var/l2,upperdir=/var/u,workdir=/var/w
48 27 0:44 / /work rw - overlay overlay rw,lowerdir=/mnt/slow/img,upperdir=/tmp/up,workdir=/tmp/wk
49 27 0:45 / /mnt rw - tmpfs tmpfs rw
";

    fn policy() -> Policy {
        Policy::new(&MountTable::parse(SAMPLE).unwrap())
    }

    fn point(p: &Policy, path: &str) -> String {
        p.mount_of(path.as_bytes())
            .map(|i| p.mount(i).mount_point.clone())
            .unwrap_or_default()
    }

    #[test]
    fn longest_component_prefix_wins_and_a_mount_point_is_its_own_mount() {
        let p = policy();
        assert_eq!(point(&p, "/usr/local/go/bin/go"), "/");
        assert_eq!(point(&p, "/mnt/slow/bin/go"), "/mnt/slow");
        // The mount point itself: a stat of /mnt/slow reaches the FUSE server.
        assert_eq!(point(&p, "/mnt/slow"), "/mnt/slow");
        assert_eq!(point(&p, "/mnt/slowpoke"), "/mnt");
        assert_eq!(point(&p, "/mnt"), "/mnt");
        assert_eq!(point(&p, "/home/u/.cache/go-build"), "/home/u");
        assert_eq!(point(&p, "/home/user2"), "/");
        assert_eq!(point(&p, "/"), "/");
        assert_eq!(p.mount_of(b"relative"), None);
        // Two tmpfs stacked on /tmp: the later one (on top).
        let tmp = p.mount_of(b"/tmp/x").unwrap();
        assert_eq!(tmp, 5);
    }

    #[test]
    fn remote_mounts_and_overlays_over_them_are_measured_for_real() {
        let p = policy();
        let why = |path: &str| p.exit_stop_reason(p.mount_of(path.as_bytes()));
        assert_eq!(why("/mnt/slow/x"), Some(Why::RemoteMount));
        assert_eq!(why("/home/u/go"), Some(Why::RemoteMount));
        assert_eq!(why("/work/src/main.go"), Some(Why::RemoteMount));
        assert_eq!(why("/var/lib/docker/overlay2/x/merged/etc"), None);
        assert_eq!(why("/usr/lib"), None);
        assert_eq!(why("/proc/self/maps"), None);
    }

    #[test]
    fn one_slow_replay_switches_its_mount_for_the_rest_of_the_run() {
        let mut p = policy();
        let usr = p.mount_of(b"/usr/x");
        assert!(!p.replayed(usr, "/usr/x", SLOW_REPLAY_NS / 2, 5));
        assert_eq!(p.exit_stop_reason(usr), None);
        assert!(p.replayed(usr, "/usr/y", SLOW_REPLAY_NS * 3, 9));
        assert_eq!(p.exit_stop_reason(usr), Some(Why::SlowReplay));
        // Only the first switch is recorded.
        assert!(!p.replayed(usr, "/usr/z", SLOW_REPLAY_NS * 5, 12));
        let m = p.mount(usr.unwrap());
        assert_eq!(m.switched.as_ref().map(|s| s.0.as_str()), Some("/usr/y"));
        assert_eq!(m.replayed, 3);
        // Other mounts are not affected.
        assert_eq!(p.exit_stop_reason(p.mount_of(b"/proc/1")), None);
    }
}
