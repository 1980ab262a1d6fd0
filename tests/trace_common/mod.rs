//! Shared helpers for the trace tests: finding Go, building the fixture programs, the
//! text→binary converter for Go's test vectors, and golat's event dump.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use golat::exectrace::{Reader, event::dump_line, spec};

/// The Go toolchain, or a test failure in CI; locally a missing `go` skips loudly.
pub fn go() -> Option<PathBuf> {
    let ok = Command::new("go")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some(PathBuf::from("go"));
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("go is not on PATH (CI=true: the trace tests need the machine's Go)");
    }
    eprintln!("SKIPPING: go is not on PATH");
    None
}

pub fn goroot() -> PathBuf {
    let out = Command::new("go")
        .args(["env", "GOROOT"])
        .output()
        .expect("go env GOROOT");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/trace")
}

/// Builds `fixtures/trace/<pkg>` into `dir` once per test binary run.
pub fn build_fixture(pkg: &str, dir: &Path) -> PathBuf {
    let out = dir.join(pkg);
    let st = Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(format!("./{pkg}"))
        .current_dir(fixtures())
        .status()
        .expect("go build");
    assert!(st.success(), "go build ./{pkg} failed");
    out
}

/// golat's events in the oracle's `dump` format; an error becomes a final `error: ...` line.
/// The threaded reader (chunks of 1 or 3 events, and the default size) and the readers that
/// leave batches in a file (one thread, and threaded with both chunk sizes) must give the
/// same events as the one-thread reader over bytes in memory, error included; these
/// comparisons are of whole events (type, time, every argument, context), not of the dump.
pub fn golat_dump(bytes: &[u8]) -> (Vec<String>, Option<String>) {
    golat_dump_counting(bytes).0
}

/// `golat_dump`, and how often the threaded reader had to merge a generation itself.
pub fn golat_dump_counting(bytes: &[u8]) -> ((Vec<String>, Option<String>), u64) {
    let (one, one_full) = dump(Reader::new(bytes));
    let mut fallbacks = 0;
    // Chunks of one event cost a message each: for small inputs only.
    let tiny = if bytes.len() < 64 << 10 { 1 } else { 3 };
    for chunk in [tiny, 16384] {
        let (_, (two, n)) = dump(Reader::threaded_with(
            std::io::Cursor::new(bytes.to_vec()),
            chunk,
        ));
        assert_eq!(
            one_full.0, two,
            "the threaded reader (chunks of {chunk}) differs from the one-thread reader"
        );
        fallbacks += n;
    }
    let file = || temp_file_with(bytes);
    let from_file = Reader::from_file(file());
    if let Ok(r) = &from_file {
        assert!(
            r.batches_in_file(),
            "a regular file's batches are left in it"
        );
    }
    assert_eq!(
        one_full.0,
        dump(from_file).1.0,
        "the reader of a file differs from the reader of bytes"
    );
    for chunk in [tiny, 16384] {
        let (_, (two, n)) = dump(Reader::threaded_file_with(file(), chunk));
        assert_eq!(
            one_full.0, two,
            "the threaded reader of a file (chunks of {chunk}) differs from the one-thread reader"
        );
        fallbacks += n;
    }
    (one, fallbacks)
}

/// An unnamed temporary file holding `bytes`, positioned at its start.
pub fn temp_file_with(bytes: &[u8]) -> std::fs::File {
    use std::io::{Seek, Write};
    let mut f = tempfile::tempfile().expect("temporary file");
    f.write_all(bytes).expect("write temporary file");
    f.rewind().expect("rewind temporary file");
    f
}

/// Events and error as the oracle's dump lines, and whole (every field, for comparing
/// golat's readers with each other), with how often a threaded reader merged a generation
/// itself.
type Dump = (Vec<String>, Option<String>);
fn dump<R: std::io::Read>(
    r: Result<Reader<R>, golat::exectrace::TraceError>,
) -> (Dump, (Dump, u64)) {
    let (mut lines, mut full) = (Vec::new(), Vec::new());
    let mut r = match r {
        Ok(r) => r,
        Err(e) => {
            let e = Some(e.to_string());
            return ((lines, e.clone()), ((full, e), 0));
        }
    };
    let err = loop {
        match r.next_event() {
            Ok(Some(e)) => {
                lines.push(dump_line(&e));
                full.push(format!("{e:?}"));
            }
            Ok(None) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    let n = r.stream_fallbacks();
    ((lines, err.clone()), ((full, err), n))
}

/// Go's `strconv.Unquote` for the double-quoted strings of the raw text format.
fn unquote(s: &str) -> Vec<u8> {
    let s = s.trim();
    let inner = &s[1..s.len() - 1];
    let b = inner.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        match b[i] {
            b'x' => {
                out.push(u8::from_str_radix(&inner[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'n' => {
                out.push(b'\n');
                i += 1;
            }
            b't' => {
                out.push(b'\t');
                i += 1;
            }
            b'r' => {
                out.push(b'\r');
                i += 1;
            }
            b'a' => {
                out.push(7);
                i += 1;
            }
            b'b' => {
                out.push(8);
                i += 1;
            }
            b'f' => {
                out.push(12);
                i += 1;
            }
            b'v' => {
                out.push(11);
                i += 1;
            }
            b'\\' | b'"' | b'\'' => {
                out.push(b[i]);
                i += 1;
            }
            b'0'..=b'7' => {
                out.push(u8::from_str_radix(&inner[i..i + 3], 8).unwrap());
                i += 3;
            }
            b'u' => {
                let c =
                    char::from_u32(u32::from_str_radix(&inner[i + 1..i + 5], 16).unwrap()).unwrap();
                out.extend_from_slice(c.to_string().as_bytes());
                i += 5;
            }
            c => panic!("unsupported escape \\{}", c as char),
        }
    }
    out
}

fn uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn token(s: &str) -> Option<&str> {
    let s = s.split('#').next().unwrap_or("");
    s.split_whitespace().next()
}

/// A Go test vector (`internal/trace/testdata/tests/*.test`): expectation and binary trace,
/// converted as `internal/trace/raw`'s TextReader + Writer do.
pub struct Vector {
    pub name: String,
    /// None = SUCCESS, Some(pattern) = FAILURE with that regexp.
    pub failure: Option<String>,
    pub bytes: Vec<u8>,
}

pub fn parse_vector(path: &Path) -> Vector {
    let text = std::fs::read_to_string(path).unwrap();
    let (expect, trace) = {
        let e = text.find("-- expect --\n").expect("expect section");
        let t = text.find("-- trace --\n").expect("trace section");
        (&text[e + 13..t], &text[t + 12..])
    };
    let first = expect.lines().next().unwrap_or("");
    let failure = first
        .strip_prefix("FAILURE ")
        .map(|q| String::from_utf8(unquote(q)).unwrap());
    assert!(
        failure.is_some() || first.starts_with("SUCCESS"),
        "bad expectation {first:?}"
    );
    let mut lines = trace.lines().filter(|l| token(l).is_some());
    let hdr = lines.next().unwrap();
    let ver: u32 = hdr
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_start_matches("Go1.")
        .parse()
        .unwrap();
    let mut out = format!("go 1.{ver} trace\x00\x00\x00").into_bytes();
    while let Some(line) = lines.next() {
        let mut toks = line.split('#').next().unwrap().split_whitespace();
        let name = toks.next().unwrap();
        let typ = spec::by_name(ver, name).unwrap_or_else(|| panic!("unknown event {name}"));
        let sp = &spec::SPECS[typ as usize];
        out.push(typ);
        let mut args = Vec::new();
        for (want, tok) in sp.args.iter().zip(toks.by_ref()) {
            let (k, v) = tok.split_once('=').unwrap();
            assert_eq!(k, *want, "{line}");
            args.push(v.parse::<u64>().unwrap());
        }
        assert_eq!(args.len(), sp.args.len(), "{line}");
        for a in &args {
            uvarint(&mut out, *a);
        }
        if sp.is_stack {
            for _ in 0..args[1] {
                let fl = lines.next().unwrap();
                for tok in fl.split_whitespace() {
                    let (_, v) = tok.split_once('=').unwrap();
                    uvarint(&mut out, v.parse().unwrap());
                }
            }
        }
        if sp.has_data {
            let dl = lines.next().unwrap();
            let (_, q) = dl.split_once('=').unwrap();
            let data = unquote(q);
            uvarint(&mut out, data.len() as u64);
            out.extend_from_slice(&data);
        }
    }
    Vector {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        failure,
        bytes: out,
    }
}

/// Matches Go's FAILURE patterns, which are plain text optionally wrapped in `.*`.
pub fn pattern_matches(pattern: &str, msg: &str) -> bool {
    let p = pattern.trim_start_matches(".*").trim_end_matches(".*");
    assert!(
        !p.contains(['*', '[', '(', '|', '+', '?', '^', '$']),
        "pattern {pattern:?} needs a real regexp engine"
    );
    msg.contains(p)
}
