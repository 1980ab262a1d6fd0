//! Go's own parser test vectors (`internal/trace/testdata/tests/*.test` of the installed Go):
//! golat must succeed and fail exactly where Go's reader does, with the same message, and on
//! the vectors Go reads, produce the same events (time, M, P, G, kind, state transition)
//! as `golang.org/x/exp/trace` does on the same bytes.

mod trace_common;

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use trace_common::*;

#[test]
fn go_test_vectors_same_outcome_as_go() {
    if go().is_none() {
        return;
    }
    let dir = goroot().join("src/internal/trace/testdata/tests");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("Go's trace test vectors")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 20,
        "expected Go's ~22 vectors in {}",
        dir.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let oracle = build_fixture("oracle", tmp.path());
    let mut failures = Vec::new();
    let mut fallbacks = 0;
    for p in &paths {
        let v = parse_vector(p);
        let ((lines, err), n) = golat_dump_counting(&v.bytes);
        fallbacks += n;
        match (&v.failure, &err) {
            (None, Some(e)) => failures.push(format!("{}: want SUCCESS, got error {e}", v.name)),
            (Some(pat), None) => {
                failures.push(format!("{}: want FAILURE {pat:?}, got success", v.name))
            }
            (Some(pat), Some(e)) if !pattern_matches(pat, e) => {
                failures.push(format!("{}: want FAILURE {pat:?}, got {e}", v.name))
            }
            _ => {}
        }
        // Same bytes through Go's reader: identical event stream.
        let bin = tmp.path().join(format!("{}.trace", v.name));
        std::fs::write(&bin, &v.bytes).unwrap();
        let out = Command::new(&oracle)
            .arg("dump")
            .arg(&bin)
            .output()
            .unwrap();
        let go_lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let go_events: Vec<&String> = go_lines
            .iter()
            .filter(|l| !l.starts_with("error:"))
            .collect();
        let go_err = go_lines.iter().any(|l| l.starts_with("error:"));
        assert_eq!(
            go_err,
            err.is_some(),
            "{}: Go error={go_err}, golat error={err:?}",
            v.name
        );
        if go_events.len() != lines.len() || go_events.iter().zip(&lines).any(|(a, b)| *a != b) {
            let first = go_events.iter().zip(&lines).position(|(a, b)| *a != b);
            failures.push(format!(
                "{}: event streams differ (go {} events, golat {}; first difference at {first:?}: go {:?} golat {:?})",
                v.name,
                go_events.len(),
                lines.len(),
                first.map(|i| go_events[i]),
                first.map(|i| &lines[i]),
            ));
        }
        // And through the real binary: exit 0 or a one-line error with exit 125.
        let o = Command::cargo_bin("golat")
            .unwrap()
            .arg("trace")
            .arg(&bin)
            .output()
            .unwrap();
        let code = o.status.code();
        match &v.failure {
            None => assert_eq!(
                code,
                Some(0),
                "{}: {}",
                v.name,
                String::from_utf8_lossy(&o.stderr)
            ),
            Some(_) => {
                assert_eq!(code, Some(125), "{}", v.name);
                let stderr = String::from_utf8_lossy(&o.stderr);
                assert!(
                    stderr.contains("expected a proc but didn't have one"),
                    "{}: {stderr}",
                    v.name
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Some vectors have an earliest event that must wait: the threaded reader's hand-over
    // to its own merge ran, and matched.
    assert!(
        fallbacks > 0,
        "no vector made the threaded reader merge itself"
    );
}

/// Writes the converted vectors as fuzz seeds (`cargo test --test trace_vectors -- --ignored`).
#[test]
#[ignore]
fn write_vectors_as_fuzz_seeds() {
    if go().is_none() {
        return;
    }
    let dir = goroot().join("src/internal/trace/testdata/tests");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/trace_reader");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "test") {
            let v = parse_vector(&p);
            std::fs::write(
                out.join(format!(
                    "seed-vector-{}.trace",
                    v.name.trim_end_matches(".test")
                )),
                v.bytes,
            )
            .unwrap();
        }
    }
}
