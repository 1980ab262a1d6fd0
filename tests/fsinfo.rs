//! fsinfo against the kernel's own answer (`findmnt -T`, which stats the path) on this
//! machine's mounts, and a fuzz of the mountinfo parser.

use std::path::Path;
use std::process::Command;

use golat::fsinfo::{MountTable, with_timeout};

#[test]
fn lookup_agrees_with_findmnt() {
    let table = MountTable::load().unwrap();
    let mut checked = 0;
    for p in [
        "/",
        "/usr/bin",
        "/proc/self",
        "/dev/shm",
        "/sys/fs/cgroup",
        "/tmp",
        "/etc",
    ] {
        let Ok(out) = Command::new("findmnt")
            .args(["-n", "-o", "TARGET,FSTYPE", "-T", p])
            .output()
        else {
            panic!("findmnt (util-linux) is needed");
        };
        let text = String::from_utf8(out.stdout).unwrap();
        let mut f = text.split_whitespace();
        let (Some(target), Some(fstype)) = (f.next(), f.next()) else {
            continue;
        };
        let m = table.lookup(Path::new(p)).unwrap();
        assert_eq!(
            (m.mount_point.as_str(), m.fs_type.as_str()),
            (target, fstype),
            "{p}"
        );
        checked += 1;
    }
    assert!(checked >= 3);
}

#[test]
fn parser_fuzz_never_panics() {
    let real = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!MountTable::parse(&real).unwrap().mounts.is_empty());
    let alphabet: Vec<char> = " -/\\0123456789abc:,=\n\t\u{e9}".chars().collect();
    let mut seed: u64 = 88172645463325252;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let mut s: Vec<char> = real.chars().take(400).collect();
        for _ in 0..(1 + next() % 6) {
            let i = (next() as usize) % s.len();
            s[i] = alphabet[(next() as usize) % alphabet.len()];
        }
        let text: String = s.into_iter().collect();
        if let Ok(t) = MountTable::parse(&text) {
            let _ = t.lookup(Path::new("/usr/bin"));
        }
    }
}

#[test]
fn probe_timeout_bounds_a_stuck_worker() {
    let t0 = std::time::Instant::now();
    let r = with_timeout(std::time::Duration::from_millis(100), || {
        std::thread::sleep(std::time::Duration::from_secs(30));
    });
    assert!(r.is_err());
    assert!(t0.elapsed() < std::time::Duration::from_secs(5));
}
