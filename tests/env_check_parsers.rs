//! Property and differential tests of the parsers behind env-check (gosrc::goenv): no input
//! panics, quoting round-trips like cmd/internal/quoted, versions order like internal/gover, and
//! GOPRIVATE pattern validity agrees with Go's own path.Match on thousands of patterns.

use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

use golat::gosrc::goenv;
use proptest::prelude::*;

/// quoted.Join's rule: quote a word that is empty or holds space or a quote.
fn join(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty() && !a.contains([' ', '\t', '\'', '"']) {
                a.clone()
            } else if a.contains('\'') {
                format!("\"{a}\"")
            } else {
                format!("'{a}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

proptest! {
    #[test]
    fn quoted_split_never_panics(s in "\\PC{0,40}") {
        let _ = goenv::quoted_split(&s);
        let _ = goenv::analyze_goflags(&s);
        let _ = goenv::parse_gotoolchain(&s);
        let _ = goenv::valid_path_pattern(&s);
        let _ = goenv::gomod_lookup(s.as_bytes(), "go");
        let _ = goenv::parse_version(&s);
        let _ = goenv::is_lang(&s);
        let _ = goenv::compare_versions(&s, "1.21rc1");
        if let Some(v) = goenv::from_toolchain(&s) {
            prop_assert!(goenv::parse_version(&v).is_some());
        }
        let mf = goenv::ModFile::parse("go.mod".into(), s.as_bytes());
        if let Ok(gt) = goenv::parse_gotoolchain(&s) {
            let _ = goenv::select_toolchain(&gt, &s, "1.26.8", Some(&mf), true);
        }
    }

    /// End to end: hostile values of the settings golat parses never crash it; the exit code
    /// is always a verdict (0/1/2) and stdout is always the JSON report.
    #[test]
    fn hostile_settings_never_crash_the_binary(
        goflags in "\\PC{0,20}",
        gotoolchain in "(go1\\.[0-9]{1,3}(\\.[0-9])?|\\PC{0,8})(\\+\\PC{0,5})?",
        proxy in "[a-z:/|,. ]{0,16}",
        private in "[a-z\\[\\]\\\\*?^-]{0,8}",
    ) {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("golat"))
            .args(["env-check", "--json"])
            .env("GOFLAGS", &goflags)
            .env("GOTOOLCHAIN", &gotoolchain)
            .env("GOPROXY", &proxy)
            .env("GOPRIVATE", &private)
            .output()
            .unwrap();
        let code = out.status.code();
        prop_assert!(matches!(code, Some(0 | 1 | 3)), "exit {:?}: {}", code, String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        prop_assert_eq!(&v["schema"], "golat.env-check/v1");
    }

    #[test]
    fn quoted_join_split_round_trip(args in proptest::collection::vec("[a-z =\\-']{0,8}|[a-z \"]{0,8}", 0..5)) {
        let joined = join(&args);
        prop_assert_eq!(goenv::quoted_split(&joined).unwrap(), args);
    }

    #[test]
    fn env_file_never_panics_and_keys_are_valid(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let f = goenv::parse_env_file(&data);
        for k in f.values.keys() {
            prop_assert!(k.as_bytes()[0].is_ascii_uppercase());
            prop_assert!(!k.contains('=') && !k.contains('\n'));
        }
    }

    #[test]
    fn env_file_reads_what_go_env_w_writes(pairs in proptest::collection::btree_map("[A-Z][A-Z0-9_]{0,10}", "[ -~]{0,20}", 0..6)) {
        let text: String = pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let f = goenv::parse_env_file(text.as_bytes());
        prop_assert_eq!(f.values, pairs);
    }

    #[test]
    fn version_order_is_consistent(a in "1\\.[0-9]{1,2}(\\.[0-9]{1,2}|rc[1-3]|beta[1-2])?",
                                   b in "1\\.[0-9]{1,2}(\\.[0-9]{1,2}|rc[1-3]|beta[1-2])?",
                                   c in "1\\.[0-9]{1,2}(\\.[0-9]{1,2}|rc[1-3]|beta[1-2])?") {
        prop_assert_eq!(goenv::compare_versions(&a, &a), Ordering::Equal);
        prop_assert_eq!(goenv::compare_versions(&a, &b), goenv::compare_versions(&b, &a).reverse());
        if goenv::compare_versions(&a, &b).is_le() && goenv::compare_versions(&b, &c).is_le() {
            prop_assert!(goenv::compare_versions(&a, &c).is_le());
        }
    }

    #[test]
    fn valid_gotoolchain_has_a_valid_minimum(s in "(go1\\.[0-9]{1,2}(\\.[0-9])?|local|auto|path|bogus)(\\+(auto|path|x))?") {
        if let Ok(t) = goenv::parse_gotoolchain(&s)
            && let Some(min) = t.min {
                prop_assert!(goenv::from_toolchain(&min).is_some());
            }
    }
}

/// Differential test: our `valid_path_pattern` against Go's path.Match on generated patterns.
#[test]
fn path_patterns_agree_with_go() {
    let go_on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("go").is_file()));
    if !go_on_path {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "go is not on PATH (CI=true: must not skip)"
        );
        eprintln!("skipping: no go on PATH");
        return;
    }
    // A small LCG over an alphabet rich in pattern syntax; deterministic, so failures repeat.
    let alphabet: Vec<char> = "ab*?[]^-\\/.".chars().collect();
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut patterns = Vec::new();
    for _ in 0..3000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = (x >> 60) as usize % 7;
        let mut p = String::new();
        for i in 0..len {
            let r = x.rotate_left(7 * i as u32 + 3);
            p.push(alphabet[(r >> 33) as usize % alphabet.len()]);
        }
        patterns.push(p);
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/envcheck/pathmatch");
    let mut child = Command::new("go")
        .args(["run", "."])
        .current_dir(dir)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for p in &patterns {
            writeln!(stdin, "{p}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let verdicts: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(verdicts.len(), patterns.len());
    let mut bad_seen = 0;
    for (p, v) in patterns.iter().zip(verdicts) {
        assert_eq!(
            goenv::valid_path_pattern(p),
            v == "ok",
            "pattern {p:?}: go says {v}"
        );
        bad_seen += usize::from(v == "bad");
    }
    assert!(
        bad_seen > 100,
        "the generator should produce many malformed patterns ({bad_seen})"
    );
}
