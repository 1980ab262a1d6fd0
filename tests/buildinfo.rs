//! golat's build-info reader against `go version -m` (the reference reader) on every Go
//! binary of the toolchain and on programs built here, plus a mutation fuzz of the reader.

use std::path::{Path, PathBuf};
use std::process::Command;

use golat::gosrc::buildinfo;

fn goroot() -> PathBuf {
    let out = Command::new("go")
        .args(["env", "GOROOT"])
        .env("GOTOOLCHAIN", "local")
        .output()
        .expect("`go` must be on PATH");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// `go version -m FILE` parsed into (version, lines after the first, tab-split and trimmed).
fn reference(file: &Path) -> (String, Vec<Vec<String>>) {
    let out = Command::new(goroot().join("bin/go"))
        .args(["version", "-m"])
        .arg(file)
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    assert!(out.status.success(), "go version -m {}", file.display());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    let version = first.rsplit(' ').next().unwrap().to_string();
    let rest = lines
        .map(|l| {
            l.trim_start_matches('\t')
                .split('\t')
                .map(str::to_string)
                .collect()
        })
        .collect();
    (version, rest)
}

fn check(file: &Path) {
    let bi = buildinfo::read(file).unwrap_or_else(|e| panic!("{e:#}"));
    let (version, lines) = reference(file);
    assert_eq!(bi.go_version, version, "{}", file.display());
    let mut deps = bi.deps.iter();
    let mut settings = bi.settings.iter();
    for l in &lines {
        match l[0].as_str() {
            "path" => assert_eq!(bi.path.as_deref(), Some(l[1].as_str())),
            "mod" => {
                assert_eq!(bi.main_module.as_deref(), Some(l[1].as_str()));
                assert_eq!(bi.main_version.as_deref(), Some(l[2].as_str()));
            }
            "dep" => {
                let d = deps.next().expect("as many deps as go version -m");
                assert_eq!(
                    (d.path.as_str(), d.version.as_str()),
                    (l[1].as_str(), l[2].as_str())
                );
                if let Some(sum) = l.get(3) {
                    assert_eq!(&d.sum, sum);
                }
            }
            "build" => {
                let (k, v) = settings.next().expect("as many settings as go version -m");
                // go version -m prints settings re-quoted; compare the unquoted pair loosely.
                let shown = l[1..].join("\t");
                assert!(
                    shown == format!("{k}={v}") || shown.contains(k.as_str()),
                    "{shown:?} vs {k}={v}"
                );
            }
            _ => {}
        }
    }
    assert!(
        deps.next().is_none() && settings.next().is_none(),
        "{}",
        file.display()
    );
}

#[test]
fn whole_toolchain_matches_go_version_m() {
    let root = goroot();
    let mut files = vec![root.join("bin/go"), root.join("bin/gofmt")];
    for d in std::fs::read_dir(root.join("pkg/tool")).unwrap() {
        for f in std::fs::read_dir(d.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.is_file() {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        check(f);
    }
}

#[test]
fn built_programs_with_deps_flags_and_versions() {
    let t = tempfile::tempdir().unwrap();
    // The slowfs fixture has real module deps (go-fuse, x/sys) with sums.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pathaudit/slowfs");
    let out = t.path().join("slowfs");
    let st = Command::new("go")
        .current_dir(&src)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod -buildvcs=false")
        .args([
            "build",
            "-trimpath",
            "-ldflags=-s -w -X runtime.buildVersion=go1.19.13",
            "-o",
        ])
        .arg(&out)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    check(&out);
    let bi = buildinfo::read(&out).unwrap();
    assert_eq!(bi.go_version, "go1.19.13");
    assert_eq!(bi.main_module.as_deref(), Some("golat.test/slowfs"));
    assert!(
        bi.deps
            .iter()
            .any(|d| d.path == "github.com/hanwen/go-fuse/v2")
    );
    // With -trimpath cmd/go leaves -ldflags out of build info (it may hold paths).
    assert_eq!(bi.setting("-trimpath"), Some("true"));
    assert_eq!(bi.setting("-ldflags"), None);
}

#[test]
fn mutation_fuzz_never_panics() {
    let data = std::fs::read(goroot().join("bin/gofmt")).unwrap();
    let magic = b"\xff Go buildinf:";
    let at = data.windows(magic.len()).position(|w| w == magic).unwrap();
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut copy = data.clone();
    for _ in 0..400 {
        copy.copy_from_slice(&data);
        // Mutate the blob and, sometimes, the ELF headers that lead to it.
        for _ in 0..(1 + next() % 4) {
            let off = if next() % 4 == 0 {
                (next() % 4096) as usize
            } else {
                at + (next() % 512) as usize
            };
            copy[off] = next() as u8;
        }
        let _ = buildinfo::read_bytes(&copy);
    }
}
