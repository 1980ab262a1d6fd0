//! `golat path-audit`'s suggested PATH is safe and go works with it; repeated findings are
//! collapsed; one "fix this first"; exit codes tell usage errors (2) from findings (1, 3).
//!
//! Needs go on PATH (CI=true: a missing go fails).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn golat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_golat"))
}

fn go_bin() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let go = std::env::split_paths(&path)
        .map(|d| d.join("go"))
        .find(|p| p.is_file());
    if go.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI: go is not on PATH"
        );
        eprintln!("*** SKIP: no go on PATH ***");
    }
    Some(std::fs::canonicalize(go?).ok()?.parent()?.to_path_buf())
}

fn audit(path: &[u8], args: &[&str]) -> (Value, i32) {
    use std::os::unix::ffi::OsStrExt;
    let out = golat()
        .args(["path-audit", "--json"])
        .args(args)
        .arg("--path")
        .arg(std::ffi::OsStr::from_bytes(path))
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (v, out.status.code().unwrap())
}

#[test]
fn suggested_path_is_safe_and_go_works_with_it() {
    let Some(gobin) = go_bin() else { return };
    let t = tempfile::tempdir().unwrap();
    let ww = t.path().join("shared");
    std::fs::create_dir(&ww).unwrap();
    std::fs::set_permissions(&ww, std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = format!(
        ".::{}:{}/nope:relative/bin:{}:/usr/bin",
        ww.display(),
        t.path().display(),
        gobin.display()
    );
    let (v, code) = audit(path.as_bytes(), &[]);
    assert_eq!(code, 3);
    let sug = v["suggested_path"].as_str().unwrap();
    assert_eq!(sug, format!("{}:/usr/bin", gobin.display()));
    for f in v["findings"].as_array().unwrap() {
        let fix = f["fix"].as_str().unwrap();
        assert!(
            !fix.contains(&std::env::temp_dir().display().to_string())
                || f["kind"] == "world_writable",
            "a fix never names the current directory: {f}"
        );
    }
    assert!(v["first_fix"]["severity"] == "error", "{}", v["first_fix"]);
    // Apply the suggestion: go runs, finds gcc (cgo on) and git.
    let out = Command::new(gobin.join("go"))
        .args(["env", "CGO_ENABLED"])
        .env("PATH", sug)
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    assert!(out.status.success());
    let cgo_before = Command::new("/usr/bin/env")
        .args(["PATH=/nonexistent", "CGO_ENABLED="])
        .arg(gobin.join("go"))
        .args(["env", "CGO_ENABLED"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&cgo_before.stdout).trim(),
        "0",
        "no gcc: cgo off"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1",
        "gcc found with the suggested PATH"
    );
    // And the suggestion audits clean of errors and warnings.
    let (v, code) = audit(sug.as_bytes(), &["--fail-on", "warn"]);
    assert_eq!(code, 0, "{:#}", v["findings"]);
}

#[test]
fn empty_path_gets_system_dirs_not_an_empty_export() {
    let (v, code) = audit(b"", &[]);
    assert_eq!(code, 3);
    let line = v["suggested_line"].as_str().unwrap();
    assert_ne!(line, "export PATH=''");
    assert!(
        v["suggested_path"].as_str().unwrap().contains("/usr/bin"),
        "{v:#}"
    );
    assert_eq!(v["suggested_fallback"], true);
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "one PATH005, not one per empty element: {f:#?}");
    assert_eq!(f[0]["id"], "PATH005");
}

#[test]
fn many_missing_entries_are_one_finding() {
    let mut path = String::new();
    for i in 0..300 {
        path.push_str(&format!("/golat-no-such-dir-{i}:"));
    }
    path.push_str("/usr/bin");
    let (v, code) = audit(path.as_bytes(), &["--fail-on", "warn"]);
    let f = v["findings"].as_array().unwrap();
    let missing: Vec<&Value> = f.iter().filter(|x| x["id"] == "PATH011").collect();
    assert_eq!(missing.len(), 1, "{}", missing.len());
    assert_eq!(missing[0]["entries"].as_array().unwrap().len(), 300);
    assert!(missing[0]["message"].as_str().unwrap().contains("#1-#300"));
    assert_eq!(code, 1, "a warning with --fail-on warn");
    assert_eq!(v["suggested_path"], "/usr/bin");
}

#[test]
fn usage_errors_and_findings_exit_differently() {
    let usage = golat()
        .args(["path-audit", "--timeout", "0"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let usage = golat().args(["env-check", "--bogus"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let (_, code) = audit(b"relative:/usr/bin", &[]);
    assert_eq!(code, 3);
}

#[test]
fn non_utf8_suggestion_keeps_its_bytes_in_json() {
    let t = tempfile::tempdir().unwrap();
    use std::os::unix::ffi::OsStrExt;
    let mut dir = t.path().as_os_str().as_bytes().to_vec();
    dir.extend_from_slice(b"/caf\xe9");
    std::fs::create_dir(std::ffi::OsStr::from_bytes(&dir)).unwrap();
    let mut path = dir.clone();
    path.extend_from_slice(b":/usr/bin");
    let (v, _) = audit(&path, &[]);
    let esc = v["suggested_path_escaped"].as_str().unwrap();
    assert!(esc.contains("caf\\xE9:/usr/bin"), "{esc}");
    assert!(v["suggested_path"].as_str().unwrap().contains('\u{FFFD}'));
}

#[test]
fn group_writable_by_another_group_is_left_out() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("team/bin");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        t.path().join("team"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o775)).unwrap();
    // A group this process is not in: nogroup (65534) unless we are in it.
    let c = std::ffi::CString::new(d.display().to_string()).unwrap();
    // SAFETY: chown on a path we created; -1 keeps the owner.
    if unsafe { libc::chown(c.as_ptr(), u32::MAX, 65534) } != 0 {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must run as root to chgrp"
        );
        eprintln!("*** SKIP: cannot chgrp (not root) ***");
        return;
    }
    let path = format!("{}:/usr/bin", d.display());
    let (v, code) = audit(path.as_bytes(), &["--fail-on", "warn"]);
    let f: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "PATH032")
        .collect();
    assert_eq!(f.len(), 1, "{:#}", v["findings"]);
    assert_eq!(f[0]["severity"], "warn");
    assert_eq!(code, 1);
    assert_eq!(v["suggested_path"], "/usr/bin");
    // Our own group's writable dir is not flagged.
    let own = unsafe { libc::getegid() };
    assert_eq!(unsafe { libc::chown(c.as_ptr(), u32::MAX, own) }, 0);
    let (v, _) = audit(path.as_bytes(), &[]);
    assert!(
        !v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "PATH032"),
        "{:#}",
        v["findings"]
    );
}

/// The doctors run in a child whose stdout is a pipe; colour still follows golat's own
/// stdout (a terminal here, through script(1)'s pty).
#[test]
fn colour_follows_the_real_terminal() {
    let Ok(out) = Command::new("script")
        .args([
            "-qc",
            &format!(
                "{} path-audit --path /usr/bin:.",
                env!("CARGO_BIN_EXE_golat")
            ),
            "/dev/null",
        ])
        .env_remove("NO_COLOR")
        .output()
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI: script(1) is needed"
        );
        eprintln!("*** SKIP: no script(1) ***");
        return;
    };
    assert!(
        String::from_utf8_lossy(&out.stdout).contains('\x1b'),
        "colour on a terminal"
    );
    let piped = golat()
        .args(["path-audit", "--path", "/usr/bin:."])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&piped.stdout).contains('\x1b'));
}
