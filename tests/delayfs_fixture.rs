//! Tests of the delayfs FUSE fixture itself (fixtures/delayfs, tests/common/delayfs.rs),
//! not of golat: its delays are real and measured, its counts match what the kernel sent,
//! it is a faithful read-write mirror, and a Go build cache can live on it.
//!
//! Needs /dev/fuse, root or fusermount3, and go. Under CI=true a failure to mount fails the
//! test; elsewhere it prints a loud "FUSE TEST NOT RUN" and returns.

#[path = "common/delayfs.rs"]
mod delayfs;

use std::io::{ErrorKind, Write};
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use delayfs::{COMMAND_TIMEOUT, Delays, mount_or_skip, run_with_timeout};

/// The tests measure time; running them side by side on a small machine would blur that.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn assert_missing(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        other => panic!("{} should not exist: {other:?}", p.display()),
    }
}

#[test]
fn delays_counts_mirror_hang_and_overlap() {
    let _g = serial();
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir(&root).unwrap();
    for i in 0..5 {
        // Different sizes, one larger than a FUSE read.
        let body: Vec<u8> = (0..(1000 + i * 70_000))
            .map(|b| (b * 7 + i) as u8)
            .collect();
        std::fs::write(root.join(format!("file{i}")), body).unwrap();
    }
    let mnt = t.path().join("mnt");
    let delays = Delays {
        lookup: Duration::from_millis(3),
        open: Duration::from_millis(5),
        hang_names: vec!["slow".into()],
        hang_for: Some(Duration::from_secs(1)),
        ..Delays::default()
    };
    let Some(fs) = mount_or_skip(&root, &mnt, &delays) else {
        return;
    };
    assert_eq!(fs.mountpoint(), mnt);
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        mountinfo
            .lines()
            .any(|l| l.contains(&format!(" {} ", mnt.display()))
                && l.contains(" fuse.delayfs golat-delayfs ")),
        "mountinfo does not show the mount as fuse.delayfs:\n{mountinfo}"
    );

    // Ten missing names: one LOOKUP each (nothing is cached), each delayed 3 ms.
    fs.reset();
    for i in 0..10 {
        assert_missing(&mnt.join(format!("missing{i}")));
    }
    let s = fs.stats();
    let lookup = s.op("lookup");
    assert!(lookup.count >= 10, "lookups: {s:?}");
    // The server counts the sleeps it really made: never shorter than asked (a loaded
    // machine makes them longer, which is why golat is checked against this figure and
    // not against the nominal delay).
    let expected = lookup.count as f64 * 3e6;
    let injected = lookup.injected_ns as f64;
    assert!(
        injected >= expected,
        "lookup injected {injected} ns, less than {} x 3 ms: {s:?}",
        lookup.count
    );
    assert!(lookup.served_ns >= lookup.injected_ns, "{s:?}");
    assert_eq!(s.op("open").count, 0, "{s:?}");
    assert_eq!(s.max_in_flight, 1, "sequential stats overlap: {s:?}");
    assert!(s.total_injected_ms() >= 30.0, "{s:?}");

    // Five existing files: exactly five OPENs, 5 ms each, and the same bytes.
    fs.reset();
    for i in 0..5 {
        let name = format!("file{i}");
        let through = std::fs::read(mnt.join(&name)).unwrap();
        assert!(
            through == std::fs::read(root.join(&name)).unwrap(),
            "{name} differs through the mount"
        );
    }
    let s = fs.stats();
    let open = s.op("open");
    assert_eq!(open.count, 5, "{s:?}");
    assert!(
        // The upper bound catches a delay applied twice (10 ms each), not the sleep's
        // overshoot on a loaded machine (31 ms for five once, with other tests running).
        open.injected_ns >= 5 * 5_000_000 && open.injected_ns < 5 * 9_000_000,
        "{s:?}"
    );
    assert!(s.op("lookup").count >= 5, "{s:?}");

    // Read-write, as a GOCACHE needs: mkdir, create, write, fsync, rename, symlink,
    // readlink, chmod, unlink, rmdir, all landing in the mirrored directory.
    fs.reset();
    let dir = mnt.join("cache/ab");
    std::fs::create_dir_all(&dir).unwrap();
    let tmp = dir.join("entry.tmp");
    let mut f = std::fs::File::create(&tmp).unwrap();
    f.write_all(b"cached output").unwrap();
    f.sync_all().unwrap();
    drop(f);
    std::fs::rename(&tmp, dir.join("entry-d")).unwrap();
    assert_missing(&root.join("cache/ab/entry.tmp"));
    assert_eq!(
        std::fs::read(root.join("cache/ab/entry-d")).unwrap(),
        b"cached output"
    );
    assert_eq!(
        std::fs::read(dir.join("entry-d")).unwrap(),
        b"cached output"
    );
    std::os::unix::fs::symlink("entry-d", dir.join("link")).unwrap();
    assert_eq!(
        std::fs::read_link(dir.join("link")).unwrap(),
        Path::new("entry-d")
    );
    assert_eq!(std::fs::read(dir.join("link")).unwrap(), b"cached output");
    std::fs::set_permissions(
        dir.join("entry-d"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    std::fs::remove_file(dir.join("link")).unwrap();
    std::fs::remove_file(dir.join("entry-d")).unwrap();
    assert_missing(&root.join("cache/ab/entry-d"));
    std::fs::remove_dir_all(mnt.join("cache")).unwrap();
    assert_missing(&root.join("cache"));
    let s = fs.stats();
    assert!(s.op("open").count >= 1, "create counts as open: {s:?}");
    assert!(s.op("readdir").count >= 1, "{s:?}");
    assert!(
        s.op("other").count >= 8,
        "mkdir/rename/symlink/unlink/rmdir...: {s:?}"
    );

    // reset zeroes everything.
    fs.reset();
    let s = fs.stats();
    assert_eq!(s.total_count(), 0, "{s:?}");
    assert_eq!(
        (s.max_in_flight, s.overlapped, s.hung.len()),
        (0, 0, 0),
        "{s:?}"
    );
    assert_eq!(s.total_injected_ms(), 0.0);

    // A hung name: its lookup blocks 1 s, then proceeds (ENOENT: it does not exist).
    let start = Instant::now();
    assert_missing(&mnt.join("slow"));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(1),
        "stat of a hung name took {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "stat of a hung name took {took:?}"
    );
    let s = fs.stats();
    let hung: Vec<_> = s.hung.iter().filter(|(n, _)| n == "slow").collect();
    assert_eq!(hung.len(), 1, "{s:?}");
    assert!(
        hung[0].1 >= 990_000_000 && hung[0].1 < 2_000_000_000,
        "{s:?}"
    );
    assert!(s.op("lookup").injected_ns >= 1_000_000_000, "{s:?}");

    // Four threads statting missing names at once: the server sees the lookups overlap.
    fs.reset();
    std::thread::scope(|sc| {
        for th in 0..4 {
            let mnt = &mnt;
            sc.spawn(move || {
                for i in 0..20 {
                    assert_missing(&mnt.join(format!("t{th}-missing{i}")));
                }
            });
        }
    });
    let s = fs.stats();
    assert!(s.op("lookup").count >= 80, "{s:?}");
    assert!(
        s.overlapped > 0 && s.max_in_flight >= 2,
        "no concurrency seen: {s:?}"
    );
    assert!(s.max_in_flight <= 4, "{s:?}");
}

#[test]
fn go_build_cache_on_the_mount() {
    let _g = serial();
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let hello = root.join("hello");
    std::fs::create_dir_all(&hello).unwrap();
    std::fs::write(
        hello.join("go.mod"),
        "module example.com/hello\n\ngo 1.22\n",
    )
    .unwrap();
    std::fs::write(
        hello.join("main.go"),
        "package main\n\nfunc main() { println(\"hello\") }\n",
    )
    .unwrap();
    let mnt = t.path().join("mnt");
    let delays = Delays {
        lookup: Duration::from_millis(1),
        open: Duration::from_millis(1),
        ..Delays::default()
    };
    let Some(fs) = mount_or_skip(&root, &mnt, &delays) else {
        return;
    };
    let gocache = mnt.join("gocache");
    let build = || {
        let start = Instant::now();
        let out = run_with_timeout(
            Command::new("go")
                .current_dir(mnt.join("hello"))
                .env("GOCACHE", &gocache)
                .env("GOTOOLCHAIN", "local")
                .env("GOFLAGS", "-buildvcs=false")
                .env("GO111MODULE", "on")
                .args(["build", "-o", "/dev/null", "."]),
            COMMAND_TIMEOUT,
        )
        .unwrap();
        assert!(
            out.status.success(),
            "go build with GOCACHE on delayfs failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        start.elapsed()
    };
    fs.reset();
    let cold = build();
    let s = fs.stats();
    assert!(s.op("open").count > 0 && s.op("lookup").count > 0, "{s:?}");
    assert!(
        s.op("other").count > 0,
        "the cache was written through the mount: {s:?}"
    );
    assert!(
        root.join("gocache").read_dir().unwrap().count() > 10,
        "GOCACHE not in the mirror"
    );
    // Again, from the cache the first build left on the mount.
    fs.reset();
    let warm = build();
    let s = fs.stats();
    assert!(s.op("open").count > 0, "{s:?}");
    eprintln!("go build on delayfs: cold {cold:?}, warm {warm:?}; warm stats {s:?}");
}
