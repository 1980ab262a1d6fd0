//! `golat env-check` against the real go, one broken environment per test: each builds the
//! environment in a temp dir, runs the real go to see what it does, runs golat, asserts the
//! finding agrees (an error exactly where go fails, none where go works), then applies
//! golat's fix and runs go again to show the fix works.
//!
//! Needs go on PATH (CI=true: a missing go fails). The GOROOT-of-another-release test fetches
//! golang.org/toolchain@v0.0.1-go1.22.12.linux-amd64 through the module proxy once into the
//! machine's module cache; in CI an unreachable proxy fails it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

mod common;
use common::{in_ci, machine_go};

/// A temp dir with home/, bin/go (a symlink to the real go), a module in mod/ and a clean
/// environment; go and golat run with the same one.
struct Sandbox {
    tmp: tempfile::TempDir,
    go: PathBuf,
    goroot: PathBuf,
}

impl Sandbox {
    fn new() -> Option<Sandbox> {
        let (go, goroot) = machine_go()?;
        let tmp = tempfile::tempdir().unwrap();
        for d in ["home", "bin", "mod"] {
            std::fs::create_dir_all(tmp.path().join(d)).unwrap();
        }
        std::os::unix::fs::symlink(&go, tmp.path().join("bin/go")).unwrap();
        let sb = Sandbox { tmp, go, goroot };
        sb.write("mod/go.mod", "module example.com/m\n\ngo 1.22\n");
        sb.write(
            "mod/main.go",
            "package main\n\nfunc main() { println(\"hi\") }\n",
        );
        Some(sb)
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn s(&self, rel: &str) -> String {
        self.p(rel).display().to_string()
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.p(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn path(&self) -> String {
        format!("{}:/usr/bin:/bin", self.s("bin"))
    }

    /// The environment both commands get: HOME, PATH, TMPDIR, the module cache of the
    /// machine (so nothing is downloaded twice), then `extra` (an empty value unsets).
    fn env(&self, cmd: &mut Command, extra: &[(&str, &str)]) {
        cmd.env_clear()
            .env("HOME", self.p("home"))
            .env("PATH", self.path())
            .env("TMPDIR", self.tmp.path())
            .env("GOMODCACHE", machine_modcache())
            .env("GOCACHE", self.p("gocache"))
            .env("GOTOOLCHAIN", "local");
        for (k, v) in extra {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
    }

    /// golat env-check --json --dir mod: (exit code, report).
    fn golat(&self, extra: &[(&str, &str)]) -> (i32, Value) {
        let mut cmd = Command::cargo_bin("golat").unwrap();
        cmd.args(["env-check", "--json", "--dir"])
            .arg(self.p("mod"));
        self.env(&mut cmd, extra);
        let out = cmd.output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "bad JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap(), v)
    }

    /// The real go in mod/ with the same environment.
    fn go(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(&self.go);
        cmd.args(args).current_dir(self.p("mod"));
        self.env(&mut cmd, extra);
        cmd.output().unwrap()
    }
}

fn machine_modcache() -> String {
    let out = Command::new("go")
        .args(["env", "GOMODCACHE"])
        .output()
        .expect("go env GOMODCACHE");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn all(v: &Value) -> &Vec<Value> {
    v["checks"].as_array().unwrap()
}

/// The checks with this id (several only when a check has parts).
fn checks<'a>(v: &'a Value, id: &str) -> Vec<&'a Value> {
    all(v).iter().filter(|c| c["id"] == id).collect()
}

fn check<'a>(v: &'a Value, id: &str) -> &'a Value {
    let c = checks(v, id);
    assert_eq!(c.len(), 1, "exactly one {id}: {c:#?}");
    c[0]
}

fn errors(v: &Value) -> Vec<&Value> {
    all(v).iter().filter(|c| c["status"] == "error").collect()
}

fn fix(c: &Value) -> &str {
    c["fix"].as_str().unwrap_or("")
}

/// No fix in the report tells the user to delete something or to `go env -w` a variable
/// that comes from the environment.
fn assert_no_harmful_fix(v: &Value, env_keys: &[&str]) {
    for c in all(v) {
        let f = fix(c);
        assert!(!f.contains("rm -rf"), "{c}");
        for k in env_keys {
            assert!(
                !f.contains(&format!("go env -w {k}")),
                "{k} is exported: {c}"
            );
        }
    }
}

#[test]
fn goroot_of_another_release_is_a_setting_to_unset_not_a_tree_to_delete() {
    let Some(sb) = Sandbox::new() else { return };
    // A real, whole go1.22.12 tree, fetched through the module proxy (cached after once).
    // Fetched as go itself fetches a toolchain, which then sets the execute bits that a
    // module zip does not carry: `go mod download` alone leaves `bin/go` and the tools
    // 0444, and this test then failed on a fresh machine with "fork/exec …/compile:
    // permission denied" instead of the version mismatch it is about.
    let switched = Command::new("go")
        .arg("version")
        .current_dir(sb.tmp.path())
        .env("GOTOOLCHAIN", "go1.22.12")
        .output()
        .unwrap();
    let out = Command::new("go")
        .args([
            "mod",
            "download",
            "-json",
            "golang.org/toolchain@v0.0.1-go1.22.12.linux-amd64",
        ])
        .current_dir(sb.tmp.path())
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    let info: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let Some(old) = info["Dir"]
        .as_str()
        .filter(|_| out.status.success() && switched.status.success())
    else {
        assert!(
            !in_ci(),
            "CI: cannot fetch go1.22.12 through the module proxy: {}{}",
            stderr(&switched),
            stderr(&out)
        );
        eprintln!(
            "*** SKIP: module proxy unreachable: {}{} ***",
            stderr(&switched),
            stderr(&out)
        );
        return;
    };
    std::fs::write(sb.p("home/.profile"), format!("export GOROOT={old}\n")).unwrap();
    let env = [("GOROOT", old)];
    let built = sb.go(&["build", "-o", "/dev/null", "."], &env);
    assert!(!built.status.success());
    assert!(
        stderr(&built).contains("compile: version \"go1.22.12\" does not match go tool version"),
        "{}",
        stderr(&built)
    );

    let (code, v) = sb.golat(&env);
    assert_no_harmful_fix(&v, &["GOROOT"]);
    let c = check(&v, "GO005");
    assert_eq!(c["status"], "error", "{c}");
    assert!(fix(c).contains("~/.profile:1"), "names the export: {c}");
    assert_eq!(
        check(&v, "GO006")["status"],
        "ok",
        "the 1.22 tree itself is whole"
    );
    assert_eq!(code, 3);
    // The fix: drop the export. go builds.
    let built = sb.go(&["build", "-o", "/dev/null", "."], &[("GOROOT", "")]);
    assert!(built.status.success(), "{}", stderr(&built));
}

#[test]
fn exported_goproxy_is_fixed_where_it_is_exported_not_with_go_env_w() {
    let Some(sb) = Sandbox::new() else { return };
    std::fs::write(
        sb.p("home/.bashrc"),
        "alias ll='ls -l'\nexport GOPROXY=off\n",
    )
    .unwrap();
    let env = [("GOPROXY", "off")];
    let (_, v) = sb.golat(&env);
    assert_no_harmful_fix(&v, &["GOPROXY"]);
    let c = check(&v, "GO029");
    assert_eq!(c["status"], "warn");
    assert!(fix(c).contains("~/.bashrc:2"), "{c}");
    // What go does with the fix golat no longer gives: it refuses to override the variable.
    let w = sb.go(
        &["env", "-w", "GOPROXY=https://proxy.golang.org,direct"],
        &env,
    );
    assert!(
        stderr(&w).contains("does not override conflicting OS environment variable"),
        "{}",
        stderr(&w)
    );
    let after = sb.go(&["env", "GOPROXY"], &env);
    assert_eq!(String::from_utf8_lossy(&after.stdout).trim(), "off");
    let _ = sb.go(&["env", "-u", "GOPROXY"], &[]);
    // Applying golat's fix (the export gone): go sees the default again.
    let fixed = sb.go(&["env", "GOPROXY"], &[("GOPROXY", "")]);
    assert_eq!(
        String::from_utf8_lossy(&fixed.stdout).trim(),
        "https://proxy.golang.org,direct"
    );
    let (_, v) = sb.golat(&[]);
    assert_eq!(check(&v, "GO029")["status"], "ok");
    // From the go/env file, `go env -w` is the right fix.
    let (_, v) = sb.golat(&[("GOENV", &sb.s("home/goenv"))]);
    assert_eq!(check(&v, "GO029")["status"], "ok");
    sb.write("home/goenv", "GOPROXY=off\n");
    let (_, v) = sb.golat(&[("GOENV", &sb.s("home/goenv"))]);
    assert!(
        fix(check(&v, "GO029")).starts_with("go env -w GOPROXY="),
        "{v:#}"
    );
}

#[test]
fn goflags_tags_with_a_space_gets_a_fix_go_accepts() {
    let Some(sb) = Sandbox::new() else { return };
    let bad = [("GOFLAGS", "-tags foo")];
    let out = sb.go(&["build", "-o", "/dev/null", "."], &bad);
    assert!(!out.status.success());
    let go_err = stderr(&out).trim().to_string();
    let (code, v) = sb.golat(&bad);
    let c = check(&v, "GO025");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"].as_str().unwrap().contains(&go_err),
        "go said {go_err:?}: {c}"
    );
    assert_eq!(code, 3);
    // Take the value from the fix and give it to go.
    let f = fix(c);
    let value = f
        .split("GOFLAGS=")
        .nth(1)
        .and_then(|r| r.split(['`', ' ']).next())
        .unwrap_or_else(|| panic!("no GOFLAGS= in {f:?}"));
    assert_eq!(value, "-tags=foo");
    let out = sb.go(&["build", "-o", "/dev/null", "."], &[("GOFLAGS", value)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, v) = sb.golat(&[("GOFLAGS", value)]);
    assert!(errors(&v).is_empty(), "{:#?}", errors(&v));
}

#[test]
fn goamd64_v5_builds_so_it_is_no_error() {
    let Some(sb) = Sandbox::new() else { return };
    let env = [("GOAMD64", "v5")];
    let out = sb.go(&["run", "."], &env);
    assert!(
        out.status.success(),
        "go builds and runs with GOAMD64=v5: {}",
        stderr(&out)
    );
    let (code, v) = sb.golat(&env);
    assert!(errors(&v).is_empty(), "{:#?}", errors(&v));
    let c = check(&v, "GO038");
    assert_eq!(c["status"], "warn");
    assert!(
        !fix(c).contains("v4"),
        "a higher level would not start on older CPUs: {c}"
    );
    assert_eq!(code, 0);
}

#[test]
fn goexperiment_bogus_fails_every_go_command() {
    let Some(sb) = Sandbox::new() else { return };
    let env = [("GOEXPERIMENT", "bogus")];
    let out = sb.go(&["version"], &env);
    assert!(!out.status.success());
    let go_err = stderr(&out).trim().to_string();
    assert_eq!(go_err, "go: unknown GOEXPERIMENT bogus");
    let (code, v) = sb.golat(&env);
    let c = check(&v, "GO038");
    assert_eq!(c["status"], "error");
    assert!(c["message"].as_str().unwrap().contains(&go_err), "{c}");
    assert_eq!(code, 3);
    // A real experiment and its negation are fine, as go agrees.
    for ok in ["noregabi", "fieldtrack,nofieldtrack"] {
        let env = [("GOEXPERIMENT", ok)];
        assert!(sb.go(&["version"], &env).status.success(), "{ok}");
        let (_, v) = sb.golat(&env);
        assert_eq!(check(&v, "GO038")["status"], "ok", "{ok}");
    }
}

#[test]
fn no_go_on_path_does_not_cascade() {
    let Some(sb) = Sandbox::new() else { return };
    std::fs::remove_file(sb.p("bin/go")).unwrap();
    let (_, v) = sb.golat(&[]);
    assert_eq!(check(&v, "GO001")["status"], "error");
    for id in ["GO029", "GO032"] {
        for c in checks(&v, id) {
            assert!(c["status"] == "skip" || c["status"] == "ok", "{c}");
        }
    }
}

#[test]
fn gopath_equal_to_goroot_works_and_downloads_into_goroot() {
    let Some(sb) = Sandbox::new() else { return };
    let root = sb.goroot.display().to_string();
    let env = [("GOPATH", root.as_str())];
    let out = sb.go(&["env", "GOMODCACHE"], &env);
    assert!(out.status.success());
    let modcache = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(stderr(&out).contains("both GOPATH and GOROOT are the same directory"));
    // GOMODCACHE is set in the sandbox; without it go puts the cache in GOROOT.
    let out = sb.go(
        &["env", "GOMODCACHE"],
        &[("GOPATH", root.as_str()), ("GOMODCACHE", "")],
    );
    let modcache_default = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(modcache_default, format!("{root}/pkg/mod"));
    assert!(!modcache.is_empty());
    let (code, v) = sb.golat(&env);
    let c = check(&v, "GO020");
    assert_eq!(c["status"], "warn");
    let m = c["message"].as_str().unwrap();
    assert!(
        m.contains(&format!("{root}/pkg/mod")) && !m.contains("ignored"),
        "{c}"
    );
    assert!(fix(c).contains("unset GOPATH"), "{c}");
    assert_eq!(code, 0);
}

#[test]
fn goroot_line_in_goenv_file_is_removed_by_go_env_u() {
    let Some(sb) = Sandbox::new() else { return };
    let file = sb.s("home/goenv");
    sb.write("home/goenv", &format!("GOROOT={}\n", sb.goroot.display()));
    let env = [("GOENV", file.as_str())];
    let (_, v) = sb.golat(&env);
    let c = check(&v, "GO008");
    assert_eq!(c["status"], "warn");
    assert_eq!(fix(c), "go env -u GOROOT");
    let out = sb.go(&["env", "-u", "GOROOT"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!std::fs::read_to_string(&file).unwrap().contains("GOROOT="));
    let (_, v) = sb.golat(&env);
    assert_eq!(check(&v, "GO008")["status"], "ok");
    // A line naming a missing dir: go env -u fails, and golat does not suggest it.
    sb.write("home/goenv", "GOROOT=/nonexistent-golat\n");
    let out = sb.go(&["env", "-u", "GOROOT"], &env);
    assert!(stderr(&out).contains("go: cannot find GOROOT directory: /nonexistent-golat"));
    let (_, v) = sb.golat(&env);
    let c = check(&v, "GO008");
    assert_eq!(c["status"], "error");
    assert!(!fix(c).contains("go env -u"), "{c}");
}

#[test]
fn newer_go_line_never_sends_the_user_back_and_forth() {
    let Some(sb) = Sandbox::new() else { return };
    sb.write("mod/go.mod", "module example.com/m\n\ngo 1.99.0\n");
    // local: go fails; the fix must not be GOTOOLCHAIN=auto, which cannot download here.
    let local = [("GOTOOLCHAIN", "local"), ("GOPROXY", "off")];
    let out = sb.go(&["build", "-o", "/dev/null", "."], &local);
    assert!(
        stderr(&out).contains("requires go >= 1.99.0"),
        "{}",
        stderr(&out)
    );
    let (_, v) = sb.golat(&local);
    let c33 = check(&v, "GO033");
    assert_eq!(c33["status"], "error");
    assert!(!fix(c33).contains("GOTOOLCHAIN=auto"), "{c33}");
    assert!(
        checks(&v, "GO010").iter().all(|c| c["status"] != "ok"),
        "no ✓ next to GO033 ✗: {v:#}"
    );
    // auto: go fails too; the fix must not be GOTOOLCHAIN=local.
    let auto = [("GOTOOLCHAIN", "auto"), ("GOPROXY", "off")];
    let out = sb.go(&["version"], &auto);
    assert!(!out.status.success());
    let (_, v) = sb.golat(&auto);
    let c34 = check(&v, "GO034");
    assert_eq!(c34["status"], "error");
    assert!(!fix(c34).contains("GOTOOLCHAIN=local"), "{c34}");
    // A switch asked only by a toolchain line: GOTOOLCHAIN=local is offered, and works.
    sb.write(
        "mod/go.mod",
        "module example.com/m\n\ngo 1.22\n\ntoolchain go1.99.0\n",
    );
    let out = sb.go(&["build", "-o", "/dev/null", "."], &auto);
    assert!(!out.status.success());
    let (_, v) = sb.golat(&auto);
    let c34 = check(&v, "GO034");
    assert_eq!(c34["status"], "error");
    assert!(fix(c34).contains("GOTOOLCHAIN=local"), "{c34}");
    let out = sb.go(
        &["build", "-o", "/dev/null", "."],
        &[("GOTOOLCHAIN", "local"), ("GOPROXY", "off")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn gobin_under_a_world_writable_dir_is_not_suggested_for_path() {
    let Some(sb) = Sandbox::new() else { return };
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(sb.p("shared/bin")).unwrap();
    std::fs::set_permissions(sb.p("shared"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let gobin = sb.s("shared/bin");
    let (_, v) = sb.golat(&[("GOBIN", &gobin)]);
    let c = check(&v, "GO022");
    assert_eq!(c["status"], "warn");
    assert!(!fix(c).contains("PATH="), "{c}");
    // The default install dir is suggested, and path-audit agrees it is no stale entry.
    let (_, v) = sb.golat(&[]);
    let c = check(&v, "GO022");
    let want = sb.s("home/go/bin");
    assert_eq!(fix(c), format!("export PATH=\"$PATH:{want}\""));
    let mut pa = Command::cargo_bin("golat").unwrap();
    pa.args(["path-audit", "--json", "--fail-on", "warn", "--path"])
        .arg(format!("{}:/usr/bin:{want}", sb.s("bin")));
    sb.env(&mut pa, &[]);
    let out = pa.output().unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    for f in r["findings"].as_array().unwrap() {
        assert!(f["severity"] != "warn" && f["severity"] != "error", "{f}");
    }
    assert!(
        r["suggested_path"].as_str().unwrap().ends_with(&want),
        "{r:#}"
    );
    assert_eq!(out.status.code(), Some(0));
    // With it on PATH, env-check is satisfied, and `go install` then works into it.
    let mut cmd = Command::cargo_bin("golat").unwrap();
    cmd.args(["env-check", "--json", "--dir"]).arg(sb.p("mod"));
    sb.env(
        &mut cmd,
        &[("PATH", &format!("{}:/usr/bin:/bin:{want}", sb.s("bin")))],
    );
    let v: Value = serde_json::from_slice(&cmd.output().unwrap().stdout).unwrap();
    assert_eq!(check(&v, "GO022")["status"], "ok");
    let out = sb.go(&["install", "."], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(Path::new(&want).join("m").is_file());
}

#[test]
fn one_line_per_id_and_the_first_error_is_fixed_first() {
    let Some(sb) = Sandbox::new() else { return };
    // A GOROOT that exists but is no Go tree: found (ok part) and not a tree (error part).
    std::fs::create_dir_all(sb.p("notgo")).unwrap();
    let env = [("GOROOT", sb.s("notgo"))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = sb.go(&["build", "-o", "/dev/null", "."], &env);
    assert!(
        !out.status.success(),
        "go fails with GOROOT at a non-Go dir"
    );
    let (code, v) = sb.golat(&env);
    let mut ids: Vec<&str> = all(&v).iter().map(|c| c["id"].as_str().unwrap()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "an id appears twice: {v:#}");
    assert_eq!(check(&v, "GO004")["status"], "error");
    let first = &v["first_fix"];
    assert_eq!(first["status"], "error");
    assert_eq!(first, errors(&v)[0], "the first error in report order");
    assert_eq!(code, 3);
    // The fix (unset GOROOT) makes go work.
    let out = sb.go(&["build", "-o", "/dev/null", "."], &[("GOROOT", "")]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Text: the line on top.
    let mut cmd = Command::cargo_bin("golat").unwrap();
    cmd.args(["env-check", "--dir"]).arg(sb.p("mod"));
    sb.env(&mut cmd, &env);
    let text = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
    assert!(
        text.lines().nth(1).unwrap().starts_with("Fix this first: "),
        "{text}"
    );
}

#[test]
fn go_line_that_is_not_a_release_fails_and_the_fix_parses() {
    let Some(sb) = Sandbox::new() else { return };
    sb.write("mod/go.mod", "module example.com/m\n\ngo 1.22.x\n");
    let out = sb.go(&["build", "-o", "/dev/null", "."], &[]);
    assert!(!out.status.success());
    let go_err = stderr(&out);
    let want = "invalid go version '1.22.x': must match format 1.23.0";
    assert!(go_err.contains(want), "{go_err}");
    let (code, v) = sb.golat(&[]);
    let c = check(&v, "GO042");
    assert_eq!(c["status"], "error");
    assert!(c["message"].as_str().unwrap().contains(want), "{c}");
    assert!(c["message"].as_str().unwrap().contains("go.mod:3"), "{c}");
    assert_eq!(code, 3);
    // The fix: `go 1.22`.
    let f = fix(c);
    assert!(f.starts_with("write `go 1.22`"), "{c}");
    sb.write("mod/go.mod", "module example.com/m\n\ngo 1.22\n");
    assert!(
        sb.go(&["build", "-o", "/dev/null", "."], &[])
            .status
            .success()
    );
    let (_, v) = sb.golat(&[]);
    assert_eq!(check(&v, "GO042")["status"], "ok");
}

#[test]
fn go_work_listing_a_missing_directory() {
    let Some(sb) = Sandbox::new() else { return };
    sb.write("go.work", "go 1.22\n\nuse (\n\t./mod\n\t./missing\n)\n");
    let out = sb.go(&["build", "-o", "/dev/null", "."], &[]);
    assert!(!out.status.success());
    let go_err = stderr(&out).trim().to_string();
    assert!(
        go_err.starts_with("go: cannot load module ../missing listed in go.work file"),
        "{go_err}"
    );
    let (_, v) = sb.golat(&[]);
    let c = check(&v, "GO042");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"].as_str().unwrap().contains(&go_err),
        "go said {go_err:?}: {c}"
    );
    // Apply the fix golat gives.
    let f = fix(c);
    let arg = f.split_whitespace().nth(3).unwrap();
    assert_eq!(arg, "-dropuse=./missing", "{f}");
    let out = sb.go(&["work", "edit", arg], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        sb.go(&["build", "-o", "/dev/null", "."], &[])
            .status
            .success()
    );
    let (_, v) = sb.golat(&[]);
    assert_eq!(check(&v, "GO042")["status"], "ok");
}

#[test]
fn mod_vendor_without_a_vendor_dir() {
    let Some(sb) = Sandbox::new() else { return };
    sb.write("dep/go.mod", "module example.com/dep\n\ngo 1.22\n");
    sb.write("dep/dep.go", "package dep\n\nconst X = 1\n");
    sb.write(
        "mod/go.mod",
        "module example.com/m\n\ngo 1.22\n\nrequire example.com/dep v0.0.0\n\nreplace example.com/dep => ../dep\n",
    );
    sb.write(
        "mod/main.go",
        "package main\n\nimport \"example.com/dep\"\n\nfunc main() { println(dep.X) }\n",
    );
    let env = [("GOFLAGS", "-mod=vendor")];
    let out = sb.go(&["build", "-o", "/dev/null", "."], &env);
    assert!(!out.status.success());
    let first = stderr(&out)
        .lines()
        .next()
        .unwrap_or("")
        .trim_end_matches(':')
        .to_string();
    assert!(
        first.starts_with("go: inconsistent vendoring in"),
        "{first}"
    );
    let (_, v) = sb.golat(&env);
    let c = check(&v, "GO043");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"].as_str().unwrap().contains(&first),
        "go said {first:?}: {c}"
    );
    assert!(fix(c).starts_with("go mod vendor"), "{c}");
    // Apply it.
    let out = sb.go(&["mod", "vendor"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        sb.go(&["build", "-o", "/dev/null", "."], &env)
            .status
            .success()
    );
    let (_, v) = sb.golat(&env);
    assert!(checks(&v, "GO043").is_empty(), "{v:#}");
}

#[test]
fn race_needs_cgo() {
    let Some(sb) = Sandbox::new() else { return };
    let env = [("GOFLAGS", "-race"), ("CGO_ENABLED", "0")];
    let out = sb.go(&["build", "-o", "/dev/null", "."], &env);
    let go_err = stderr(&out).trim().to_string();
    assert_eq!(
        go_err,
        "go: -race requires cgo; enable cgo by setting CGO_ENABLED=1"
    );
    let (code, v) = sb.golat(&env);
    let c = check(&v, "GO060");
    assert_eq!(c["status"], "error");
    assert!(c["message"].as_str().unwrap().contains(&go_err), "{c}");
    assert!(fix(c).contains("unset CGO_ENABLED"), "{c}");
    assert_eq!(code, 3);
    let out = sb.go(
        &["build", "-o", "/dev/null", "."],
        &[("GOFLAGS", "-race"), ("CGO_ENABLED", "")],
    );
    assert!(
        out.status.success(),
        "with gcc on PATH -race builds: {}",
        stderr(&out)
    );
}

#[test]
fn cc_naming_a_missing_wrapper_keeps_cgo_on_and_fails() {
    let Some(sb) = Sandbox::new() else { return };
    sb.write(
        "mod/main.go",
        "package main\n\n// int one(void) { return 1; }\nimport \"C\"\n\nfunc main() { println(C.one()) }\n",
    );
    let env = [("CC", "golat-no-ccache gcc")];
    let out = sb.go(&["build", "-o", "/dev/null", "."], &env);
    assert!(!out.status.success());
    let go_err = stderr(&out);
    let want = "cgo: C compiler \"golat-no-ccache\" not found: exec: \"golat-no-ccache\": executable file not found in $PATH";
    assert!(go_err.contains(want), "{go_err}");
    let (_, v) = sb.golat(&env);
    let c = check(&v, "GO060");
    assert_eq!(c["status"], "error", "not 'cgo silently disabled': {c}");
    assert!(c["message"].as_str().unwrap().contains(want), "{c}");
    assert!(fix(c).contains("unset CC"), "{c}");
    let out = sb.go(&["build", "-o", "/dev/null", "."], &[("CC", "")]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn no_module_above_dir() {
    let Some(sb) = Sandbox::new() else { return };
    std::fs::remove_file(sb.p("mod/go.mod")).unwrap();
    for gm in ["", "on"] {
        let env = [("GO111MODULE", gm)];
        let out = sb.go(&["build", "-o", "/dev/null", "."], &env);
        let go_err = stderr(&out).trim().to_string();
        assert!(go_err.starts_with("go: go.mod file not found"), "{go_err}");
        let (code, v) = sb.golat(&env);
        let c = check(&v, "GO044");
        assert_eq!(c["status"], "info");
        assert!(c["message"].as_str().unwrap().contains(&go_err), "{c}");
        assert_eq!(code, 0);
        // go run of a file works, as the finding says.
        let out = sb.go(&["run", "main.go"], &env);
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

#[test]
fn empty_path_is_named_as_such() {
    let Some(sb) = Sandbox::new() else { return };
    let (_, v) = sb.golat(&[("PATH", "")]);
    let c = check(&v, "GO001");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"].as_str().unwrap().contains("PATH is empty"),
        "{c}"
    );
    // go by its full path: no gcc, so cgo is off and a cgo package has no files.
    sb.write(
        "mod/main.go",
        "package main\n\n// int one(void) { return 1; }\nimport \"C\"\n\nfunc main() { println(C.one()) }\n",
    );
    let mut cmd = Command::new(&sb.go);
    cmd.args(["build", "-o", "/dev/null", "."])
        .current_dir(sb.p("mod"));
    sb.env(&mut cmd, &[]);
    cmd.env_remove("PATH");
    let out = cmd.output().unwrap();
    assert!(
        stderr(&out).contains("build constraints exclude all Go files"),
        "{}",
        stderr(&out)
    );
    let fixed = fix(c)
        .split('"')
        .nth(1)
        .unwrap()
        .replace("/usr/local/go/bin", &sb.s("bin"));
    let out = sb.go(&["build", "-o", "/dev/null", "."], &[("PATH", &fixed)]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn mod_mod_in_a_workspace() {
    let Some(sb) = Sandbox::new() else { return };
    sb.write("go.work", "go 1.22\n\nuse ./mod\n");
    let env = [("GOFLAGS", "-mod=mod -trimpath")];
    let out = sb.go(&["build", "-o", "/dev/null", "."], &env);
    assert!(!out.status.success());
    let first = stderr(&out).lines().next().unwrap_or("").to_string();
    assert!(
        first.starts_with("go: -mod may only be set to readonly or vendor when in workspace mode"),
        "{first}"
    );
    let (_, v) = sb.golat(&env);
    let c = check(&v, "GO043");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"].as_str().unwrap().contains(&first),
        "go said {first:?}: {c}"
    );
    // The fix keeps the other flag and drops -mod.
    assert!(fix(c).contains("export GOFLAGS=-trimpath"), "{c}");
    let out = sb.go(
        &["build", "-o", "/dev/null", "."],
        &[("GOFLAGS", "-trimpath")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn full_gocache_filesystem() {
    let Some(sb) = Sandbox::new() else { return };
    // A 256 KiB tmpfs, filled, in a private mount namespace (root only; CI runs as root).
    let full = sb.p("full");
    std::fs::create_dir_all(&full).unwrap();
    let cache = full.join("cache");
    let report = sb.p("report.json");
    let go_err = sb.p("go.err");
    let script = format!(
        "mount -t tmpfs -o size=256k golat-full {f} && dd if=/dev/zero of={f}/fill bs=4k count=100 2>/dev/null; \
         {golat} env-check --json --dir {m} > {r}; cd {m} && {go} build -o /dev/null . 2> {e}; echo $? >> {e}",
        f = full.display(),
        golat = env!("CARGO_BIN_EXE_golat"),
        m = sb.s("mod"),
        r = report.display(),
        go = sb.go.display(),
        e = go_err.display(),
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "sh", "-c", &script]);
    sb.env(&mut cmd, &[("GOCACHE", &cache.display().to_string())]);
    let out = cmd.output().unwrap();
    if !out.status.success() || !report.exists() || std::fs::metadata(&report).unwrap().len() == 0 {
        assert!(
            !in_ci(),
            "CI: cannot mount a tmpfs in a mount namespace: {}",
            stderr(&out)
        );
        eprintln!("*** SKIP: no mount namespace: {} ***", stderr(&out));
        return;
    }
    // go fails; how depends on which write hits the wall first ("write …: no space left on
    // device", or packages it could not cache: "cannot find package").
    let go_said = std::fs::read_to_string(&go_err).unwrap();
    let rc = go_said.lines().last().unwrap_or("").trim();
    assert_ne!(rc, "0", "go build must fail on a full GOCACHE: {go_said}");
    assert!(
        go_said.contains("no space left on device") || go_said.contains("cannot find package"),
        "{go_said}"
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let c = check(&v, "GO059");
    assert_eq!(c["status"], "error");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("no space left on device"),
        "{c}"
    );
    // The fix (another filesystem): go builds.
    let out = sb.go(&["build", "-o", "/dev/null", "."], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, v) = sb.golat(&[]);
    assert!(checks(&v, "GO059").is_empty(), "{v:#}");
}

#[test]
fn misspelt_settings_are_ignored_by_go_and_named() {
    let Some(sb) = Sandbox::new() else { return };
    // GOPRXY=off: go ignores it (GOPROXY stays the default).
    let env = [("GOPRXY", "off")];
    let out = sb.go(&["env", "GOPROXY"], &env);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "https://proxy.golang.org,direct"
    );
    let (code, v) = sb.golat(&env);
    let c = check(&v, "GO045");
    assert_eq!(c["status"], "warn");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("GOPRXY (did you mean GOPROXY?)"),
        "{c}"
    );
    assert_eq!(code, 0);
    // An unknown GODEBUG key: go runs, ignoring it; a known one is only info.
    let env = [("GODEBUG", "gctrce=1")];
    assert!(sb.go(&["version"], &env).status.success());
    let (_, v) = sb.golat(&env);
    let c = check(&v, "GO039");
    assert_eq!(c["status"], "warn");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("gctrce (did you mean gctrace?)"),
        "{c}"
    );
    let (_, v) = sb.golat(&[("GODEBUG", "gctrace=0,asynctimerchan=1")]);
    assert_eq!(check(&v, "GO039")["status"], "info");
    // Runtime variables and other tools' GO* names are not flagged.
    let (_, v) = sb.golat(&[("GOGC", "50"), ("GOOGLE_CLOUD_PROJECT", "x")]);
    assert!(checks(&v, "GO045").is_empty(), "{v:#}");
}

#[test]
fn stale_vendor_dir() {
    let Some(sb) = Sandbox::new() else { return };
    sb.write("dep/go.mod", "module example.com/dep\n\ngo 1.22\n");
    sb.write("dep/dep.go", "package dep\n\nconst X = 1\n");
    sb.write(
        "mod/go.mod",
        "module example.com/m\n\ngo 1.22\n\nrequire example.com/dep v0.0.0\n\nreplace example.com/dep => ../dep\n",
    );
    sb.write(
        "mod/main.go",
        "package main\n\nimport \"example.com/dep\"\n\nfunc main() { println(dep.X) }\n",
    );
    let out = sb.go(&["mod", "vendor"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, v) = sb.golat(&[]);
    assert!(checks(&v, "GO043").is_empty(), "fresh vendor/: {v:#}");
    // go.mod moves on, vendor/ does not.
    sb.write(
        "mod/go.mod",
        "module example.com/m\n\ngo 1.22\n\nrequire example.com/dep v0.0.1\n\nreplace example.com/dep => ../dep\n",
    );
    let out = sb.go(&["build", "-o", "/dev/null", "."], &[]);
    assert!(!out.status.success());
    let go_err = stderr(&out);
    let (code, v) = sb.golat(&[]);
    let c = check(&v, "GO043");
    assert_eq!(c["status"], "error");
    let msg = c["message"].as_str().unwrap();
    for line in go_err.lines().skip(1).take(2) {
        assert!(msg.contains(line.trim()), "go said {line:?}: {c}");
    }
    assert_eq!(code, 3);
    // -mod=mod sidesteps vendor/, as go's own hint says; golat agrees.
    let (_, v) = sb.golat(&[("GOFLAGS", "-mod=mod")]);
    assert!(checks(&v, "GO043").is_empty());
    // The fix.
    assert!(fix(c).starts_with("go mod vendor"));
    assert!(sb.go(&["mod", "vendor"], &[]).status.success());
    assert!(
        sb.go(&["build", "-o", "/dev/null", "."], &[])
            .status
            .success()
    );
    let (_, v) = sb.golat(&[]);
    assert!(checks(&v, "GO043").is_empty(), "{v:#}");
}

#[test]
fn gowork_off_where_the_workspace_is_needed() {
    let Some(sb) = Sandbox::new() else { return };
    sb.write("go.work", "go 1.22\n\nuse (\n\t./mod\n\t./lib\n)\n");
    sb.write("lib/go.mod", "module example.com/lib\n\ngo 1.22\n");
    sb.write("lib/lib.go", "package lib\n\nfunc Hi() {}\n");
    sb.write(
        "mod/main.go",
        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/lib\"\n)\n\nfunc main() { lib.Hi(); fmt.Println() }\n",
    );
    // With the workspace go builds; with GOWORK=off it cannot find example.com/lib.
    assert!(
        sb.go(&["build", "-o", "/dev/null", "."], &[])
            .status
            .success()
    );
    let off = [("GOWORK", "off")];
    let out = sb.go(&["build", "-o", "/dev/null", "."], &off);
    assert!(!out.status.success());
    let go_err = stderr(&out);
    let want = "no required module provides package example.com/lib; to add it:";
    assert!(go_err.contains(want), "{go_err}");
    let (code, v) = sb.golat(&off);
    assert_eq!(code, 3);
    let c = check(&v, "GO041");
    assert_eq!(c["status"], "error", "{c}");
    let msg = c["message"].as_str().unwrap();
    assert!(msg.contains(want) && msg.contains("main.go:6"), "{msg}");
    // golat's fix: unset GOWORK; go builds again and golat has nothing against it.
    assert!(fix(c).starts_with("unset GOWORK"), "{c}");
    let (_, v) = sb.golat(&[]);
    assert_ne!(check(&v, "GO041")["status"], "error");

    // GOWORK=off is fine when nothing needs the workspace (fmt only), and when go.mod
    // requires the module itself (a replace makes it buildable without the workspace).
    sb.write(
        "mod/main.go",
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println() }\n",
    );
    assert!(
        sb.go(&["build", "-o", "/dev/null", "."], &off)
            .status
            .success()
    );
    let (_, v) = sb.golat(&off);
    assert_eq!(check(&v, "GO041")["status"], "ok");
    sb.write(
        "mod/main.go",
        "package main\n\nimport \"example.com/lib\"\n\nfunc main() { lib.Hi() }\n",
    );
    sb.write(
        "mod/go.mod",
        "module example.com/m\n\ngo 1.22\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ../lib\n",
    );
    let out = sb.go(&["build", "-o", "/dev/null", "."], &off);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, v) = sb.golat(&off);
    assert_eq!(check(&v, "GO041")["status"], "ok");
}
