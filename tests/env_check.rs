//! `golat env-check` end to end: each test builds a broken Go environment for real in a temp
//! dir, runs the real binary with a controlled environment, and (where the go command has an
//! observable failure) checks that the real go fails the way golat predicts.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

mod common;
use common::machine_go;

/// A sandbox: temp dir with home/, bin/go (symlink to the real go) and a clean environment.
struct Sandbox {
    tmp: tempfile::TempDir,
    go: PathBuf,
    goroot: PathBuf,
}

impl Sandbox {
    fn new() -> Option<Sandbox> {
        let (go, goroot) = machine_go()?;
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("home")).unwrap();
        std::fs::create_dir_all(tmp.path().join("bin")).unwrap();
        std::os::unix::fs::symlink(&go, tmp.path().join("bin/go")).unwrap();
        Some(Sandbox { tmp, go, goroot })
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// PATH for the sandbox: our bin, then the system dirs (for gcc).
    fn path(&self) -> String {
        format!("{}:/usr/bin:/bin", self.p("bin").display())
    }

    fn env(&self, cmd: &mut Command, path: &str) {
        cmd.env_clear()
            .env("HOME", self.p("home"))
            .env("PATH", path)
            .env("TMPDIR", self.tmp.path());
    }

    fn golat(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        self.golat_path(args, extra, &self.path())
    }

    fn golat_path(&self, args: &[&str], extra: &[(&str, &str)], path: &str) -> Command {
        let mut cmd = Command::cargo_bin("golat").unwrap();
        cmd.arg("env-check").args(args);
        self.env(&mut cmd, path);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd
    }

    /// The real go with the same controlled environment (GOTOOLCHAIN=local: never download).
    fn go_cmd(
        &self,
        go: &Path,
        args: &[&str],
        extra: &[(&str, &str)],
        dir: &Path,
    ) -> std::process::Output {
        let mut cmd = Command::new(go);
        cmd.args(args).current_dir(dir);
        self.env(&mut cmd, &self.path());
        cmd.env("GOTOOLCHAIN", "local");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        // A binary copied while another test thread forks can be briefly held open for
        // writing by that child (ETXTBSY): retry, as a shell user would.
        for _ in 0..50 {
            match cmd.output() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => return other.unwrap(),
            }
        }
        panic!("{} stayed busy (ETXTBSY)", go.display())
    }
}

/// Runs with --json and returns (exit code, report).
fn run_json(mut cmd: Command) -> (i32, Value) {
    cmd.arg("--json");
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(v["schema"], "golat.env-check/v1");
    (out.status.code().unwrap(), v)
}

fn checks<'a>(v: &'a Value, id: &str) -> Vec<&'a Value> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == id)
        .collect()
}

/// The single most severe check with this id.
fn check<'a>(v: &'a Value, id: &str) -> &'a Value {
    let rank = |c: &Value| match c["status"].as_str().unwrap() {
        "error" => 4,
        "warn" => 3,
        "info" => 2,
        "ok" => 1,
        _ => 0,
    };
    checks(v, id)
        .into_iter()
        .max_by_key(|c| rank(c))
        .unwrap_or_else(|| {
            panic!(
                "no {id} in {}",
                serde_json::to_string_pretty(&v["checks"]).unwrap()
            )
        })
}

fn errors(v: &Value) -> Vec<&Value> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "error")
        .collect()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn healthy_machine_has_no_error() {
    let Some(_) = machine_go() else { return };
    // The developer's real environment, unchanged.
    let mut cmd = Command::cargo_bin("golat").unwrap();
    cmd.arg("env-check");
    let (code, v) = run_json(cmd);
    assert!(
        errors(&v).is_empty(),
        "errors on the healthy machine: {:#?}",
        errors(&v)
    );
    assert_eq!(code, 0);
    assert!(v["go"]["version"].as_str().unwrap().starts_with("go1."));
    for c in v["checks"].as_array().unwrap() {
        assert!(c["id"].as_str().unwrap().starts_with("GO"));
        assert!(["ok", "info", "warn", "error", "skip"].contains(&c["status"].as_str().unwrap()));
        assert!(
            c["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty() && !m.contains('\n'))
        );
    }
    // Text output: sections with marks and a final count.
    let out = Command::cargo_bin("golat")
        .unwrap()
        .arg("env-check")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[✓] Which go runs"), "{text}");
    assert!(text.lines().last().unwrap().contains("0 errors"), "{text}");
    assert!(!text.contains("\x1b["), "colour without a TTY");
}

#[test]
fn healthy_sandbox_module_has_no_error() {
    let Some(sb) = Sandbox::new() else { return };
    let v = go_version_of(&sb);
    write(
        &sb.p("mod/go.mod"),
        &format!("module example.com/m\n\ngo {v}\n"),
    );
    let (code, r) = run_json(sb.golat(&["--dir", sb.p("mod").to_str().unwrap()], &[]));
    assert!(errors(&r).is_empty(), "{:#?}", errors(&r));
    assert_eq!(code, 0);
    assert_eq!(r["go"]["goroot"], sb.goroot.display().to_string());
    assert!(checks(&r, "GO003").is_empty(), "{r}");
}

fn go_version_of(sb: &Sandbox) -> String {
    let out = sb.go_cmd(&sb.go, &["env", "GOVERSION"], &[], sb.tmp.path());
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .trim_start_matches("go")
        .to_string()
}

#[test]
fn copied_go_binary_without_goroot() {
    let Some(sb) = Sandbox::new() else { return };
    std::fs::create_dir_all(sb.p("copy")).unwrap();
    std::fs::copy(&sb.go, sb.p("copy/go")).unwrap();
    let path = format!("{}:/usr/bin:/bin", sb.p("copy").display());
    // The real go fails this way ...
    let out = sb.go_cmd(&sb.p("copy/go"), &["version"], &[], sb.tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot find GOROOT directory"), "{stderr}");
    // ... and golat says so without running it.
    let (code, v) = run_json(sb.golat_path(&[], &[], &path));
    let c = check(&v, "GO003");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("'go' binary is trimmed"),
        "{c}"
    );
    assert!(c["fix"].as_str().unwrap().contains("symlink"));
    assert_eq!(code, 3);
    // The symlink next to it is fine.
    let (_, v) = run_json(sb.golat(&[], &[]));
    assert!(checks(&v, "GO003").is_empty());
    assert_eq!(check(&v, "GO004")["status"], "ok");
}

#[test]
fn goroot_pointing_at_missing_dir() {
    let Some(sb) = Sandbox::new() else { return };
    let missing = sb.p("no-such-goroot");
    let m = missing.to_str().unwrap();
    let out = sb.go_cmd(&sb.go, &["version"], &[("GOROOT", m)], sb.tmp.path());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("cannot find GOROOT directory: {m}"))
    );
    let (code, v) = run_json(sb.golat(&[], &[("GOROOT", m)]));
    let c = check(&v, "GO004");
    assert_eq!(c["status"], "error");
    assert!(c["message"].as_str().unwrap().contains(m));
    assert!(c["fix"].as_str().unwrap().contains("unset GOROOT"));
    assert_eq!(code, 3);
}

#[test]
fn legacy_goroot_line_in_goenv_file() {
    let Some(sb) = Sandbox::new() else { return };
    let envfile = sb.p("goenv/env");
    let old = sb.p("old-go");
    write(
        &envfile,
        &format!(
            "GOPROXY=https://proxy.golang.org,direct\nGOROOT={}\n",
            old.display()
        ),
    );
    let e = envfile.to_str().unwrap();
    let out = sb.go_cmd(
        &sb.go,
        &["env", "-u", "GOROOT"],
        &[("GOENV", e)],
        sb.tmp.path(),
    );
    assert!(
        !out.status.success(),
        "go env -u GOROOT should not be able to repair it"
    );
    let (code, v) = run_json(sb.golat(&[], &[("GOENV", e)]));
    let c = check(&v, "GO008");
    assert_eq!(c["status"], "error");
    assert!(c["message"].as_str().unwrap().contains(e));
    assert!(
        c["fix"]
            .as_str()
            .unwrap()
            .contains("delete the GOROOT= line")
    );
    // One cause, one error: GO004 defers to GO008.
    assert_eq!(check(&v, "GO004")["status"], "skip");
    assert_eq!(code, 3);
    // A legacy line that still points at a real GOROOT only warns.
    write(&envfile, &format!("GOROOT={}\n", sb.goroot.display()));
    let (_, v) = run_json(sb.golat(&[], &[("GOENV", e)]));
    assert_eq!(check(&v, "GO008")["status"], "warn");
    assert!(errors(&v).is_empty(), "{:#?}", errors(&v));
}

#[test]
fn gopath_equal_to_goroot() {
    let Some(sb) = Sandbox::new() else { return };
    let root = sb.goroot.to_str().unwrap();
    let out = sb.go_cmd(
        &sb.go,
        &["env", "GOPATH"],
        &[("GOPATH", root)],
        sb.tmp.path(),
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("GOPATH and GOROOT are the same directory")
    );
    let (code, v) = run_json(sb.golat(&[], &[("GOPATH", root)]));
    let c = check(&v, "GO020");
    assert_eq!(c["status"], "warn");
    assert!(c["message"].as_str().unwrap().contains("same directory"));
    assert_eq!(code, 0, "a warning does not fail by default");
    // --fail-on decides the exit code.
    let mut cmd = sb.golat(&["--fail-on", "warn"], &[("GOPATH", root)]);
    assert_eq!(cmd.output().unwrap().status.code(), Some(1));
    let mut cmd = sb.golat(&["--fail-on", "never"], &[("GOROOT", "/nonexistent-golat")]);
    assert_eq!(cmd.output().unwrap().status.code(), Some(0));
}

#[test]
fn goflags_with_unquoted_ldflags() {
    let Some(sb) = Sandbox::new() else { return };
    // -w belongs to `go env -w`: accepted, then silently dropped by go build.
    let (code, v) = run_json(sb.golat(&[], &[("GOFLAGS", "-ldflags=-s -w")]));
    assert_eq!(check(&v, "GO025")["status"], "ok");
    let c = check(&v, "GO026");
    assert_eq!(c["status"], "warn");
    assert!(c["message"].as_str().unwrap().contains("-w"));
    assert_eq!(code, 0);
    // Quoting inside the word is not quoting: every go command fails, with this exact text.
    let bad = "-ldflags='-s -w'";
    let out = sb.go_cmd(&sb.go, &["version"], &[("GOFLAGS", bad)], sb.tmp.path());
    let go_err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let (code, v) = run_json(sb.golat(&[], &[("GOFLAGS", bad)]));
    let c = check(&v, "GO025");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"].as_str().unwrap().contains(&go_err),
        "go said {go_err:?}, golat {c}"
    );
    assert_eq!(code, 3);
}

#[test]
fn gotoolchain_local_with_newer_go_mod() {
    let Some(sb) = Sandbox::new() else { return };
    write(&sb.p("mod/go.mod"), "module example.com/m\n\ngo 1.99.0\n");
    write(&sb.p("mod/main.go"), "package main\n\nfunc main() {}\n");
    let out = sb.go_cmd(&sb.go, &["list", "."], &[], &sb.p("mod"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("requires go >= 1.99.0"), "{stderr}");
    let (code, v) = run_json(sb.golat(
        &["--dir", sb.p("mod").to_str().unwrap()],
        &[("GOTOOLCHAIN", "local")],
    ));
    let c = check(&v, "GO033");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("requires go >= 1.99.0"),
        "{c}"
    );
    assert!(c["message"].as_str().unwrap().contains("GOTOOLCHAIN=local"));
    assert_eq!(code, 3);
    // With auto and no proxy, the switch cannot succeed either (and even `go version` fails).
    let (_, v) = run_json(sb.golat(
        &["--dir", sb.p("mod").to_str().unwrap()],
        &[("GOTOOLCHAIN", "auto"), ("GOPROXY", "off")],
    ));
    assert_eq!(check(&v, "GO034")["status"], "error");
    // A pinned GOTOOLCHAIN switches even outside a module; go itself fails the same way.
    for gt in ["go1.99.0", "go1.99.0+path"] {
        let out = sb.go_cmd(
            &sb.go,
            &["version"],
            &[("GOTOOLCHAIN", gt), ("GOPROXY", "off")],
            sb.tmp.path(),
        );
        assert!(!out.status.success(), "go version with GOTOOLCHAIN={gt}");
        let (code, v) = run_json(sb.golat(&[], &[("GOTOOLCHAIN", gt), ("GOPROXY", "off")]));
        assert_eq!(check(&v, "GO034")["status"], "error", "{gt}");
        assert_eq!(code, 3);
    }
    // With go1.99.0 on PATH the switch works: every go command re-executes it (info).
    std::os::unix::fs::symlink(&sb.go, sb.p("bin/go1.99.0")).unwrap();
    let (code, v) = run_json(sb.golat(
        &["--dir", sb.p("mod").to_str().unwrap()],
        &[("GOTOOLCHAIN", "auto")],
    ));
    let c = check(&v, "GO010");
    assert_eq!(c["status"], "info");
    assert!(
        c["message"].as_str().unwrap().contains("re-executes"),
        "{c}"
    );
    assert!(checks(&v, "GO034").is_empty());
    assert_eq!(code, 0);
}

#[test]
fn read_only_gocache() {
    let Some(sb) = Sandbox::new() else { return };
    let cache = sb.p("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let c = cache.to_str().unwrap();
    let golat = assert_cmd::cargo::cargo_bin("golat");
    // Root ignores permission bits, so make the cache really read-only: a read-only tmpfs mounted
    // in a private mount namespace (nothing leaks to the host). Fallback: an immutable directory.
    let script = format!(
        "mount -t tmpfs -o ro,size=64k golat-ro {c} && exec {} env-check --json",
        golat.display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "sh", "-c", &script]);
    sb.env(&mut cmd, &format!("{}:/usr/sbin:/sbin", sb.path()));
    cmd.env("GOCACHE", c);
    let out = cmd.output().unwrap();
    let (out, how) = if out.status.code() == Some(3) || out.status.code() == Some(0) {
        (out, "ro tmpfs")
    } else {
        eprintln!(
            "unshare/mount not possible ({}); trying chattr +i",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(&cache)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "cannot make a directory read-only for root (no mount namespace, no chattr)"
                );
            }
            eprintln!("skipping: cannot make a read-only directory here");
            return;
        }
        let out = sb.golat(&["--json"], &[("GOCACHE", c)]).output().unwrap();
        let _ = Command::new("chattr").arg("-i").arg(&cache).status();
        (out, "immutable dir")
    };
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ch = check(&v, "GO050");
    assert_eq!(ch["status"], "error", "{how}: {ch}");
    let msg = ch["message"].as_str().unwrap();
    assert!(
        msg.contains("read-only file system") || msg.contains("not permitted"),
        "{how}: {msg}"
    );
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn stray_go_work_in_parent() {
    let Some(sb) = Sandbox::new() else { return };
    let v = go_version_of(&sb);
    write(&sb.p("ws/go.work"), &format!("go {v}\n\nuse ./other\n"));
    write(
        &sb.p("ws/other/go.mod"),
        &format!("module example.com/other\n\ngo {v}\n"),
    );
    write(
        &sb.p("ws/mod/go.mod"),
        &format!("module example.com/m\n\ngo {v}\n"),
    );
    write(&sb.p("ws/mod/main.go"), "package main\n\nfunc main() {}\n");
    let out = sb.go_cmd(&sb.go, &["list", "."], &[], &sb.p("ws/mod"));
    assert!(
        !out.status.success(),
        "go should refuse the module outside the workspace"
    );
    let (code, r) = run_json(sb.golat(&["--dir", sb.p("ws/mod").to_str().unwrap()], &[]));
    let c = check(&r, "GO041");
    assert_eq!(c["status"], "error");
    assert!(c["message"].as_str().unwrap().contains("go.work"));
    assert!(c["fix"].as_str().unwrap().contains("GOWORK=off"));
    assert_eq!(code, 3);
    // GOWORK=off makes it go away; `go list` then works.
    let out = sb.go_cmd(
        &sb.go,
        &["list", "."],
        &[("GOWORK", "off")],
        &sb.p("ws/mod"),
    );
    assert!(out.status.success());
    let (_, r) = run_json(sb.golat(
        &["--dir", sb.p("ws/mod").to_str().unwrap()],
        &[("GOWORK", "off")],
    ));
    assert_eq!(check(&r, "GO041")["status"], "ok");
    // A go.work that lists the module is a workspace, not a stray.
    write(
        &sb.p("ws/go.work"),
        &format!("go {v}\n\nuse (\n\t./other\n\t./mod\n)\n"),
    );
    let (_, r) = run_json(sb.golat(&["--dir", sb.p("ws/mod").to_str().unwrap()], &[]));
    assert_eq!(check(&r, "GO041")["status"], "info");
}

#[test]
fn cgo_enabled_without_c_compiler() {
    let Some(sb) = Sandbox::new() else { return };
    // PATH holds only our go: no gcc anywhere.
    let path = sb.p("bin").display().to_string();
    let (code, v) = run_json(sb.golat_path(&[], &[("CGO_ENABLED", "1")], &path));
    let c = check(&v, "GO060");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("C compiler \"gcc\" not found"),
        "{c}"
    );
    assert_eq!(code, 3);
    // Unset: cgo is silently off, which is a warning.
    let (_, v) = run_json(sb.golat_path(&[], &[], &path));
    assert_eq!(check(&v, "GO060")["status"], "warn");
    // A gcc reachable only through "." is refused by Go.
    let dot = sb.p("dot");
    std::fs::create_dir_all(&dot).unwrap();
    std::os::unix::fs::symlink("/bin/true", dot.join("gcc")).unwrap();
    let mut cmd = sb.golat_path(&[], &[], &format!("{path}:."));
    cmd.current_dir(&dot);
    let (_, v) = run_json(cmd);
    assert_eq!(check(&v, "GO061")["status"], "error");
}

#[test]
fn bad_dir_is_a_golat_failure() {
    let Some(sb) = Sandbox::new() else { return };
    let out = sb
        .golat(&["--dir", "/nonexistent/golat"], &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a directory") && stderr.lines().count() == 1,
        "{stderr}"
    );
}

/// A GOROOT-shaped copy: bin/go copied, pkg/tool and src symlinked to the real tree, and a
/// VERSION file saying `version`.
fn fake_goroot(sb: &Sandbox, name: &str, version: &str) -> PathBuf {
    let root = sb.p(name);
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::copy(&sb.go, root.join("bin/go")).unwrap();
    std::os::unix::fs::symlink(sb.goroot.join("pkg/tool"), root.join("pkg/tool")).unwrap();
    std::os::unix::fs::symlink(sb.goroot.join("src"), root.join("src")).unwrap();
    std::fs::write(
        root.join("VERSION"),
        format!("{version}\ntime 2026-01-01T00:00:00Z\n"),
    )
    .unwrap();
    root
}

/// The machine's Go version (`go1.26.8`) and a different one of the same length.
fn versions(sb: &Sandbox) -> (String, String) {
    let v = format!("go{}", go_version_of(sb));
    let mut other = v.clone().into_bytes();
    let last = other.last_mut().unwrap();
    *last = if *last == b'9' { b'0' } else { *last + 1 };
    (v, String::from_utf8(other).unwrap())
}

#[test]
fn stomped_goroot_with_mismatched_version_file() {
    let Some(sb) = Sandbox::new() else { return };
    let (_, other) = versions(&sb);
    let root = fake_goroot(&sb, "stomped", &other);
    let path = format!("{}:/usr/bin:/bin", root.join("bin").display());
    let (code, v) = run_json(sb.golat_path(&[], &[], &path));
    assert_eq!(v["go"]["goroot"], root.display().to_string());
    let c = check(&v, "GO006");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains(&format!("VERSION is {other}")),
        "{c}"
    );
    assert_eq!(code, 3);
}

#[test]
fn goroot_env_disagrees_with_binary() {
    let Some(sb) = Sandbox::new() else { return };
    let (_, other) = versions(&sb);
    let root = fake_goroot(&sb, "othergo", &other);
    let r = root.to_str().unwrap();
    let (code, v) = run_json(sb.golat(&[], &[("GOROOT", r)]));
    let c = check(&v, "GO005");
    assert_eq!(c["status"], "error", "{c}");
    assert!(c["message"].as_str().unwrap().contains(r));
    assert!(c["fix"].as_str().unwrap().contains("unset GOROOT"));
    assert_eq!(code, 3);
    // GOROOT set to the binary's own root is fine.
    let (_, v) = run_json(sb.golat(&[], &[("GOROOT", sb.goroot.to_str().unwrap())]));
    assert_eq!(check(&v, "GO005")["status"], "ok");
}

#[test]
fn several_go_binaries_on_path() {
    let Some(sb) = Sandbox::new() else { return };
    let (v0, _) = versions(&sb);
    let root = fake_goroot(&sb, "second", &v0);
    let path = format!(
        "{}:{}:/usr/bin:/bin",
        sb.p("bin").display(),
        root.join("bin").display()
    );
    let (code, v) = run_json(sb.golat_path(&[], &[], &path));
    let c = check(&v, "GO002");
    assert_eq!(c["status"], "warn");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains(&root.join("bin/go").display().to_string()),
        "{c}"
    );
    assert_eq!(code, 0);
    // The same binary twice (symlink and real path) is one go.
    let path = format!(
        "{}:{}:/usr/bin:/bin",
        sb.p("bin").display(),
        sb.goroot.join("bin").display()
    );
    let (_, v) = run_json(sb.golat_path(&[], &[], &path));
    assert_eq!(check(&v, "GO002")["status"], "ok");
}

#[test]
fn gofmt_from_another_release() {
    let Some(sb) = Sandbox::new() else { return };
    let (v0, other) = versions(&sb);
    // A gofmt whose build info says another release: patch the version bytes of a real copy,
    // then let `go version -m` confirm what the binary now claims.
    let data = std::fs::read(sb.goroot.join("bin/gofmt")).unwrap();
    let (from, to) = (v0.as_bytes(), other.as_bytes());
    let mut patched = data.clone();
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= patched.len() {
        if &patched[i..i + from.len()] == from {
            patched[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(n > 0);
    let dir = sb.p("oldfmt");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("gofmt"), &patched).unwrap();
    std::fs::set_permissions(
        dir.join("gofmt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = sb.go_cmd(
        &sb.go,
        &["version", dir.join("gofmt").to_str().unwrap()],
        &[],
        sb.tmp.path(),
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&other),
        "{:?}",
        out
    );
    let path = format!("{}:{}:/usr/bin:/bin", sb.p("bin").display(), dir.display());
    let (_, v) = run_json(sb.golat_path(&[], &[], &path));
    let c = check(&v, "GO009");
    assert_eq!(c["status"], "warn");
    assert!(c["message"].as_str().unwrap().contains(&other), "{c}");
    // gofmt from go's own bin dir matches.
    let path = format!("{}:/usr/bin:/bin", sb.goroot.join("bin").display());
    let (_, v) = run_json(sb.golat_path(&[], &[], &path));
    assert_eq!(check(&v, "GO009")["status"], "ok");
}

#[test]
fn goenv_file_that_never_answers_does_not_hang() {
    let Some(sb) = Sandbox::new() else { return };
    // Opening a FIFO with no writer blocks forever, like a file on a dead mount.
    let fifo = sb.p("fifo-env");
    let ok = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo failed");
    let start = std::time::Instant::now();
    let (code, v) = run_json(sb.golat(&[], &[("GOENV", fifo.to_str().unwrap())]));
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    let c = check(&v, "GO037");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"].as_str().unwrap().contains("did not answer"),
        "{c}"
    );
    assert_eq!(code, 3);
}

#[test]
fn invalid_settings_use_go_own_words() {
    let Some(sb) = Sandbox::new() else { return };
    for (k, val, id) in [
        ("GO111MODULE", "bogus", "GO028"),
        ("GOTOOLCHAIN", "bogus", "GO032"),
        ("GOPATH", "~/go", "GO021"),
    ] {
        let out = sb.go_cmd(&sb.go, &["list", "std"], &[(k, val)], sb.tmp.path());
        let go_err = String::from_utf8_lossy(&out.stderr);
        let first = go_err.lines().next().unwrap_or_default().trim().to_string();
        assert!(!out.status.success(), "{k}={val} should break go");
        let (code, v) = run_json(sb.golat(&[], &[(k, val)]));
        let c = check(&v, id);
        assert_eq!(c["status"], "error", "{k}={val}: {c}");
        assert!(
            c["message"].as_str().unwrap().contains(&first),
            "{k}={val}: go said {first:?}, golat {c}"
        );
        assert_eq!(code, 3);
    }
}

#[test]
fn copied_untrimmed_go_finds_its_builtin_goroot() {
    let Some(sb) = Sandbox::new() else { return };
    // Distribution builds of go (e.g. Debian's) are not -trimpath: they remember GOROOT, so a
    // copy still works. Build such a go for real (cached after the first run).
    let bin = sb.p("untrimmed");
    let out = Command::new(&sb.go)
        .args(["build", "-buildvcs=false", "-o"])
        .arg(bin.join("go"))
        .arg("cmd/go")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building cmd/go: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = sb.go_cmd(&bin.join("go"), &["env", "GOROOT"], &[], sb.tmp.path());
    assert!(out.status.success(), "the untrimmed copy works: {out:?}");
    let (code, v) = run_json(sb.golat_path(&[], &[], &path));
    assert!(checks(&v, "GO003").is_empty(), "{v}");
    let c = check(&v, "GO004");
    assert_eq!(c["status"], "ok");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("built into the go binary"),
        "{c}"
    );
    assert_eq!(v["go"]["goroot"], sb.goroot.display().to_string());
    assert!(errors(&v).is_empty(), "{:#?}", errors(&v));
    assert_eq!(code, 0);
}

/// A PATH entry that is not UTF-8 is searched under its real bytes, as Go's LookPath does:
/// the go found there is the one that runs.
#[test]
fn go_under_a_non_utf8_path_entry_is_found() {
    use std::ffi::{OsStr, OsString};
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let Some(sb) = Sandbox::new() else { return };
    let mut dir = sb.tmp.path().as_os_str().as_bytes().to_vec();
    dir.extend_from_slice(b"/bin-\xe9");
    let dir = PathBuf::from(OsString::from_vec(dir));
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(&sb.go, dir.join("go")).unwrap();
    let mut path = dir.as_os_str().as_bytes().to_vec();
    path.extend_from_slice(b":/usr/bin:/bin");
    let mut cmd = sb.golat(&[], &[]);
    cmd.env("PATH", OsStr::from_bytes(&path));
    let (_, v) = run_json(cmd);
    let c = check(&v, "GO001");
    assert_eq!(c["status"], "ok", "{c}");
    assert!(
        c["message"].as_str().unwrap().contains("PATH entry #1"),
        "{c}"
    );
}
