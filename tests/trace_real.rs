//! Real traces written by the machine's Go: a startup-like program (forced GCs, goroutines,
//! a file read, a sleep, a loopback connection), the same with many generations, and a
//! `go test -trace`. golat's counts must equal the Go oracle's (golang.org/x/exp/trace), its
//! event stream must equal Go's event for event, and its four blocking totals must equal
//! `go tool trace -pprof=sched|syscall|net|sync`. Damaged copies give errors, never panics.

mod trace_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use trace_common::*;

struct Traces {
    _dir: tempfile::TempDir,
    oracle: PathBuf,
    startup: PathBuf,
    multigen: PathBuf,
    gotest: PathBuf,
}

/// Builds the fixtures and records the traces once for all tests in this file.
fn traces() -> Option<&'static Traces> {
    static T: OnceLock<Option<Traces>> = OnceLock::new();
    T.get_or_init(|| {
        go()?;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let oracle = build_fixture("oracle", d);
        let prog = build_fixture("startup", d);
        let startup = d.join("startup.trace");
        let st = Command::new(&prog)
            .env("GOLAT_TRACE_OUT", &startup)
            .current_dir(d)
            .status()
            .unwrap();
        assert!(st.success());
        let multigen = d.join("multigen.trace");
        let st = Command::new(&prog)
            .env("GOLAT_TRACE_OUT", &multigen)
            .env("GODEBUG", "traceadvanceperiod=3000000")
            .current_dir(d)
            .status()
            .unwrap();
        assert!(st.success());
        let gotest = d.join("gotest.trace");
        let st = Command::new("go")
            .args(["test", "-count=1", "-trace"])
            .arg(&gotest)
            .arg("./gotest")
            .current_dir(fixtures())
            .status()
            .unwrap();
        assert!(st.success(), "go test -trace failed");
        Some(Traces {
            _dir: dir,
            oracle,
            startup,
            multigen,
            gotest,
        })
    })
    .as_ref()
}

fn golat_json(path: &Path) -> (Option<i32>, Value, String) {
    let o = Command::cargo_bin("golat")
        .unwrap()
        .args(["trace", "--json"])
        .arg(path)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (
        o.status.code(),
        v,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn oracle_counts(t: &Traces, path: &Path) -> std::collections::HashMap<String, String> {
    let o = Command::new(&t.oracle).arg(path).output().unwrap();
    let s = String::from_utf8(o.stdout).unwrap();
    s.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn assert_counts_match(t: &Traces, path: &Path) {
    let (code, v, stderr) = golat_json(path);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(v["schema"], "golat.trace/v2");
    let o = oracle_counts(t, path);
    let n = |k: &str| o[k].parse::<u64>().unwrap();
    assert_eq!(v["gc"]["cycles"].as_u64().unwrap(), n("gc"), "GC cycles");
    assert_eq!(v["stw"]["count"].as_u64().unwrap(), n("stw"), "STW pauses");
    assert_eq!(
        v["goroutines"]["created"].as_u64().unwrap(),
        n("created"),
        "goroutines created"
    );
    assert_eq!(v["events"].as_u64().unwrap(), n("events"), "events");
    assert_eq!(v["generations"].as_u64().unwrap(), n("gens"), "generations");
    assert!(
        n("gc") >= 1 && n("created") >= 1 && n("stw") >= 1,
        "trace lacks the activity it should have: {o:?}"
    );
}

#[test]
fn counts_equal_go_oracle() {
    let Some(t) = traces() else { return };
    for p in [&t.startup, &t.multigen, &t.gotest] {
        assert_counts_match(t, p);
    }
    let (_, v, _) = golat_json(&t.multigen);
    assert!(
        v["generations"].as_u64().unwrap() >= 3,
        "traceadvanceperiod should give several generations"
    );
    // The startup fixture forces 3 GCs and starts 8 workers from main.main.
    let (_, v, _) = golat_json(&t.startup);
    assert!(v["gc"]["cycles"].as_u64().unwrap() >= 3);
    assert!(v["main"]["first_main_main_ns"].is_i64());
    let entries = v["goroutines"]["by_entry"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["func"] == "main.main.func1" && e["count"] == 8),
        "{entries:?}"
    );
}

#[test]
fn event_stream_equals_go_reader() {
    let Some(t) = traces() else { return };
    for p in [&t.startup, &t.multigen, &t.gotest] {
        let bytes = std::fs::read(p).unwrap();
        let (mine, err) = golat_dump(&bytes);
        assert!(err.is_none(), "{err:?}");
        let o = Command::new(&t.oracle).arg("dump").arg(p).output().unwrap();
        let theirs: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().lines().collect();
        assert!(theirs.len() > 100, "oracle printed too little");
        assert_eq!(mine.len(), theirs.len(), "{}: event count", p.display());
        for (i, (a, b)) in mine.iter().zip(&theirs).enumerate() {
            assert_eq!(a, b, "{}: event {i} differs", p.display());
        }
    }
}

/// `--single-thread` changes how the file is read, never what is reported: the summary is
/// byte for byte the default (two-thread) one's, on one and on many generations.
#[test]
fn single_thread_summary_is_identical() {
    let Some(t) = traces() else { return };
    for p in [&t.startup, &t.multigen, &t.gotest] {
        let run = |extra: &[&str]| {
            let o = Command::cargo_bin("golat")
                .unwrap()
                .args(["trace", "--json"])
                .args(extra)
                .arg(p)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            o.stdout
        };
        assert_eq!(run(&[]), run(&["--single-thread"]), "{}", p.display());
    }
}

/// Sum of `delay/nanoseconds` over all samples of a pprof file, via `go tool pprof -raw`.
fn pprof_total(pb: &Path) -> i64 {
    let o = Command::new("go")
        .args(["tool", "pprof", "-raw"])
        .arg(pb)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "go tool pprof -raw: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    let mut in_samples = false;
    let mut total = 0;
    for line in text.lines() {
        if line.starts_with("Samples:") {
            in_samples = true;
            continue;
        }
        if line.starts_with("Locations") || line.starts_with("Mappings") {
            in_samples = false;
        }
        if !in_samples {
            continue;
        }
        let mut f = line.split_whitespace();
        if let (Some(count), Some(delay)) = (f.next(), f.next())
            && count.parse::<i64>().is_ok()
            && let Ok(d) = delay.trim_end_matches(':').parse::<i64>()
        {
            total += d;
        }
    }
    total
}

#[test]
fn blocking_totals_equal_go_tool_trace_pprof() {
    let Some(t) = traces() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for p in [&t.startup, &t.multigen, &t.gotest] {
        let (_, v, _) = golat_json(p);
        let mut nonzero = 0;
        for (kind, key) in [
            ("sched", "sched"),
            ("syscall", "syscall"),
            ("net", "net"),
            ("sync", "sync"),
        ] {
            let pb = tmp.path().join(format!("{kind}.pb"));
            let o = Command::new("go")
                .args(["tool", "trace", &format!("-pprof={kind}")])
                .arg(p)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "go tool trace -pprof={kind}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            std::fs::write(&pb, &o.stdout).unwrap();
            let want = pprof_total(&pb);
            let got = v["blocking"][key]["total_ns"].as_i64().unwrap();
            assert_eq!(got, want, "{}: -pprof={kind}", p.display());
            if want > 0 {
                nonzero += 1;
            }
        }
        assert!(
            nonzero >= 2,
            "{}: too few non-zero profiles to mean anything",
            p.display()
        );
    }
}

/// File offsets just after each end-of-generation marker of a Go 1.26 trace.
fn generation_ends(b: &[u8]) -> Vec<usize> {
    fn uv(b: &[u8], i: &mut usize) -> u64 {
        let (mut x, mut s) = (0u64, 0);
        loop {
            let c = b[*i];
            *i += 1;
            x |= ((c & 0x7f) as u64) << s;
            if c < 0x80 {
                return x;
            }
            s += 7;
        }
    }
    let mut ends = Vec::new();
    let mut i = 16;
    while i < b.len() {
        match b[i] {
            0x34 => {
                i += 1;
                ends.push(i);
            }
            t => {
                i += 1;
                if t == 0x31 {
                    i += 1;
                }
                for _ in 0..3 {
                    uv(b, &mut i);
                }
                let size = uv(b, &mut i) as usize;
                i += size;
            }
        }
    }
    ends
}

#[test]
fn truncated_traces_report_complete_generations_like_go() {
    let Some(t) = traces() else { return };
    let bytes = std::fs::read(&t.multigen).unwrap();
    assert_eq!(
        &bytes[..16],
        b"go 1.26 trace\0\0\0",
        "this test cuts Go 1.26-format traces"
    );
    let ends = generation_ends(&bytes);
    assert!(
        ends.len() >= 3,
        "want several generations, got {}",
        ends.len()
    );
    let tmp = tempfile::tempdir().unwrap();
    // Cut inside the first generation, and a little way into each later one.
    let mut cuts: Vec<usize> = vec![ends[0] / 2];
    cuts.extend(ends.windows(2).map(|w| w[0] + (w[1] - w[0]) / 3));
    // Both readers agree at every kind of cut (golat_dump checks), batch boundaries included.
    for cut in (16..bytes.len()).step_by(bytes.len() / 41) {
        golat_dump(&bytes[..cut]);
    }
    for (k, &cut) in cuts.iter().enumerate() {
        let p = tmp.path().join(format!("cut{k}.trace"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let (code, v, stderr) = golat_json(&p);
        if k == 0 {
            // No complete generation: an error, as there is nothing to report.
            assert_eq!(code, Some(125), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "one-line error: {stderr}");
            assert!(stderr.contains("truncated trace at byte"), "{stderr}");
            continue;
        }
        assert_eq!(code, Some(0), "cut {cut}: {stderr}");
        assert_eq!(v["complete"], false, "a cut file must be marked incomplete");
        assert_eq!(
            v["generations"].as_u64().unwrap(),
            k as u64,
            "complete generations before cut {cut}"
        );
        assert!(
            stderr.contains("warning: truncated trace at byte"),
            "{stderr}"
        );
        let o = oracle_counts(t, &p);
        assert_eq!(
            v["events"].as_u64().unwrap(),
            o["events"].parse::<u64>().unwrap(),
            "cut {cut}"
        );
        assert_eq!(
            v["gc"]["cycles"].as_u64().unwrap(),
            o["gc"].parse::<u64>().unwrap(),
            "cut {cut}"
        );
        assert_eq!(
            v["stw"]["count"].as_u64().unwrap(),
            o["stw"].parse::<u64>().unwrap(),
            "cut {cut}"
        );
        assert_eq!(
            v["goroutines"]["created"].as_u64().unwrap(),
            o["created"].parse::<u64>().unwrap(),
            "cut {cut}"
        );
    }
}

#[test]
fn corrupted_traces_give_errors_not_panics() {
    let Some(t) = traces() else { return };
    let bytes = std::fs::read(&t.startup).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..150 {
        let mut b = bytes.clone();
        for _ in 0..(1 + i % 4) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let off = 16 + (seed as usize) % (b.len() - 16);
            b[off] ^= (seed >> 32) as u8 | 1;
        }
        // Both readers give the same events and the same error (golat_dump checks).
        golat_dump(&b);
        if i >= 40 {
            continue;
        }
        let p = tmp.path().join(format!("flip{i}.trace"));
        std::fs::write(&p, &b).unwrap();
        let o = Command::cargo_bin("golat")
            .unwrap()
            .arg("trace")
            .arg(&p)
            .output()
            .unwrap();
        let code = o.status.code();
        assert!(
            matches!(code, Some(0) | Some(125)),
            "flip {i}: exit {code:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        if code == Some(125) {
            let e = String::from_utf8_lossy(&o.stderr);
            assert_eq!(e.lines().count(), 1, "{e}");
            assert!(
                e.contains(" at byte ") || e.contains("truncated"),
                "errors name the offset: {e}"
            );
        }
    }
}

#[test]
fn header_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&[u8], &str)] = &[
        (
            b"go 1.19 trace\0\0\0\x41\x02\x00",
            "trace written by Go 1.19 uses the old format, which golat does not read; re-record with Go 1.22 or newer",
        ),
        (
            b"go 1.11 trace\0\0\0",
            "trace written by Go 1.11 uses the old format",
        ),
        (
            b"go 1.99 trace\0\0\0",
            "unknown or unsupported trace version go 1.99",
        ),
        (
            b"go 1.24 trace\0\0\0",
            "unknown or unsupported trace version go 1.24",
        ),
        (
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
            "not a Go execution trace",
        ),
        (b"\x1f\x8b\x08\0\0\0\0\0", "gzip"),
        (b"", "the file is empty"),
        (b"go 1.26 tr", "not a Go execution trace"),
    ];
    for (i, (bytes, want)) in cases.iter().enumerate() {
        let p = tmp.path().join(format!("h{i}.trace"));
        std::fs::write(&p, bytes).unwrap();
        let o = Command::cargo_bin("golat")
            .unwrap()
            .arg("trace")
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(125));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(want), "case {i}: want {want:?} in {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

/// Saved traces written by Go 1.22.0, 1.23.0, 1.24.0, 1.25.0 and 1.26.0 (`fixtures/trace/small`,
/// 2 ms generations): every header version golat reads, including the pre-1.26 generation split.
#[test]
fn saved_traces_of_every_format_version_match_go() {
    let Some(t) = traces() else { return };
    let dir = fixtures().join("testdata");
    let mut headers = std::collections::BTreeSet::new();
    let tmp = tempfile::tempdir().unwrap();
    for v in ["1.22.0", "1.23.0", "1.24.0", "1.25.0", "1.26.0"] {
        let p = dir.join(format!("go{v}.trace"));
        let bytes = std::fs::read(&p).unwrap();
        headers.insert(String::from_utf8_lossy(&bytes[..13]).into_owned());
        assert_counts_match(t, &p);
        let (mine, err) = golat_dump(&bytes);
        assert!(err.is_none(), "{v}: {err:?}");
        let o = Command::new(&t.oracle)
            .arg("dump")
            .arg(&p)
            .output()
            .unwrap();
        let theirs: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().lines().collect();
        assert_eq!(mine, theirs, "{v}: event streams differ");
        let (_, j, _) = golat_json(&p);
        for kind in ["sched", "syscall", "net", "sync"] {
            let o = Command::new("go")
                .args(["tool", "trace", &format!("-pprof={kind}")])
                .arg(&p)
                .output()
                .unwrap();
            assert!(o.status.success(), "{v} -pprof={kind}");
            let pb = tmp.path().join("p.pb");
            std::fs::write(&pb, &o.stdout).unwrap();
            assert_eq!(
                j["blocking"][kind]["total_ns"].as_i64().unwrap(),
                pprof_total(&pb),
                "{v} -pprof={kind}"
            );
        }
        // Cut in the middle: complete generations, as Go's reader gives them before its error.
        let cut = tmp.path().join("cut.trace");
        std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
        let (code, j, stderr) = golat_json(&cut);
        if code == Some(0) {
            let o = oracle_counts(t, &cut);
            assert_eq!(
                j["events"].as_u64().unwrap(),
                o["events"].parse::<u64>().unwrap(),
                "{v} cut"
            );
            assert!(stderr.contains("warning"), "{v}: {stderr}");
        } else {
            assert_eq!(code, Some(125), "{v} cut: {stderr}");
        }
    }
    let want: std::collections::BTreeSet<String> = [
        "go 1.22 trace",
        "go 1.23 trace",
        "go 1.25 trace",
        "go 1.26 trace",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(headers, want);
}
