//! `golat env-check --network` against HTTP servers the test starts on 127.0.0.1 (canned
//! answers, one that accepts and never answers, a closed port), never the outside network;
//! where go prints an error for the same setup, the test runs the real go and checks that
//! golat quotes it. Also: without `--network` no request is made.
//!
//! Needs go on PATH (CI=true: a missing go fails).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

fn goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// A proxy on 127.0.0.1 answering `routes` (path suffix -> status, body), 404 for anything
/// else; counts the requests it gets.
fn canned(routes: Vec<(String, u16, &'static str)>) -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            h.fetch_add(1, Ordering::SeqCst);
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            loop {
                let mut hdr = String::new();
                if r.read_line(&mut hdr).unwrap_or(0) == 0 || hdr == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let (code, body) = routes
                .iter()
                .find(|(p, _, _)| path.ends_with(p.as_str()))
                .map_or((404, "not found"), |(_, c, b)| (*c, *b));
            let _ = write!(
                s,
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, hits)
}

/// A server that accepts connections and never answers (the listener and its sockets are
/// kept for the life of the test binary).
fn silent() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut keep = Vec::new();
        for s in l.incoming().flatten() {
            keep.push(s);
        }
    });
    url
}

/// A module dir with go.mod `go <go_line>` and a clean environment around it.
struct Env {
    tmp: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Env {
    fn new(go_line: &str) -> Option<Env> {
        let go = common::require("go")?;
        let go = std::fs::canonicalize(go).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        for d in ["home", "bin", "mod", "mc"] {
            std::fs::create_dir_all(tmp.path().join(d)).unwrap();
        }
        std::os::unix::fs::symlink(&go, tmp.path().join("bin/go")).unwrap();
        std::fs::write(
            tmp.path().join("mod/go.mod"),
            format!("module example.com/m\n\ngo {go_line}\n"),
        )
        .unwrap();
        std::fs::write(
            tmp.path().join("mod/main.go"),
            "package main\n\nfunc main() {}\n",
        )
        .unwrap();
        let t = tmp.path().display().to_string();
        let vars = vec![
            ("HOME".into(), format!("{t}/home")),
            ("PATH".into(), format!("{t}/bin:/usr/bin:/bin")),
            ("GOMODCACHE".into(), format!("{t}/mc")),
            ("GOCACHE".into(), format!("{t}/home/cache")),
            ("GOTOOLCHAIN".into(), "local".into()),
            ("GOFLAGS".into(), String::new()),
            ("GOENV".into(), "off".into()),
            ("GOTELEMETRY".into(), "off".into()),
        ];
        Some(Env { tmp, vars })
    }

    fn set(&mut self, k: &str, v: &str) {
        self.vars.retain(|(a, _)| a != k);
        self.vars.push((k.into(), v.into()));
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn cmd(&self, mut c: Command) -> Output {
        c.env_clear().current_dir(self.dir().join("mod"));
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    fn go(&self, args: &[&str]) -> Output {
        let mut c = Command::new(self.dir().join("bin/go"));
        c.args(args);
        self.cmd(c)
    }

    /// golat env-check --json (plus `extra`), and how long it took.
    fn golat(&self, extra: &[&str]) -> (Value, Duration) {
        let mut c = Command::cargo_bin("golat").unwrap();
        c.args(["env-check", "--json", "--fail-on", "never"])
            .args(extra);
        let t = Instant::now();
        let out = self.cmd(c);
        let took = t.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (serde_json::from_slice(&out.stdout).unwrap(), took)
    }
}

fn check<'a>(v: &'a Value, id: &str) -> Option<&'a Value> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
}

fn status<'a>(v: &'a Value, id: &str) -> &'a str {
    check(v, id).map_or("absent", |c| c["status"].as_str().unwrap())
}

fn message(v: &Value, id: &str) -> String {
    check(v, id).map_or(String::new(), |c| {
        c["message"].as_str().unwrap().to_string()
    })
}

#[test]
fn without_network_flag_no_request_is_made() {
    let Some(mut e) = Env::new("1.22") else {
        return;
    };
    let (url, hits) = canned(vec![]);
    e.set("GOPROXY", &url);
    let (v, took) = e.golat(&[]);
    for id in ["GO046", "GO047", "GO048"] {
        assert_eq!(status(&v, id), "absent", "{id} without --network");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a request without --network"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn canned_proxy_answers_and_a_missing_toolchain_is_go048_as_go_says() {
    let Some(mut e) = Env::new("1.99.0") else {
        return;
    };
    let a = goarch();
    let (url, hits) = canned(vec![
        (
            "/golang.org/toolchain/@v/list".into(),
            200,
            "v0.0.1-go1.98.0.linux-amd64\n",
        ),
        ("/sumdb/sum.golang.org/supported".into(), 200, ""),
        (
            format!("/v0.0.1-go1.98.0.linux-{a}.info"),
            200,
            "{\"Version\":\"v0.0.1-go1.98.0.linux-amd64\"}",
        ),
    ]);
    e.set("GOPROXY", &url);
    e.set("GOTOOLCHAIN", "auto");
    let (v, _) = e.golat(&["--network"]);
    assert_eq!(status(&v, "GO046"), "ok", "{v:#}");
    assert_eq!(status(&v, "GO047"), "ok", "{v:#}");
    assert_eq!(status(&v, "GO048"), "error", "{v:#}");
    let want = format!("go: download go1.99.0 for linux/{a}: toolchain not available");
    assert!(
        message(&v, "GO048").contains(&want),
        "{}",
        message(&v, "GO048")
    );
    assert!(hits.load(Ordering::SeqCst) >= 3);

    // The real go, with the same proxy: the same words.
    let out = e.go(&["version"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&want), "go said: {err}");

    // A release the proxy has: ok.
    std::fs::write(
        e.dir().join("mod/go.mod"),
        "module example.com/m\n\ngo 1.98.0\n",
    )
    .unwrap();
    let (v, _) = e.golat(&["--network"]);
    assert_eq!(status(&v, "GO048"), "ok", "{v:#}");
}

#[test]
fn a_proxy_that_never_answers_is_reported_within_the_timeout() {
    let Some(mut e) = Env::new("1.22") else {
        return;
    };
    let url = silent();
    e.set("GOPROXY", &url);
    e.set("GOSUMDB", &format!("sum.golang.org {url}"));
    let (v, took) = e.golat(&["--network"]);
    assert_eq!(status(&v, "GO046"), "error", "{v:#}");
    assert!(
        message(&v, "GO046").contains("no answer within 3 s"),
        "{v:#}"
    );
    assert_eq!(status(&v, "GO047"), "error", "{v:#}");
    // Proxy probe and, after it, the database's own: two deadlines at most.
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

#[test]
fn a_refused_proxy_is_quoted_as_go_quotes_it() {
    let Some(mut e) = Env::new("1.22") else {
        return;
    };
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    e.set("GOPROXY", &format!("http://127.0.0.1:{port}"));
    e.set("GOSUMDB", "off");
    let (v, _) = e.golat(&["--network"]);
    let dial = format!("dial tcp 127.0.0.1:{port}: connect: connection refused");
    assert_eq!(status(&v, "GO046"), "error", "{v:#}");
    assert!(message(&v, "GO046").contains(&dial), "{v:#}");
    assert_eq!(status(&v, "GO047"), "skip");

    // go, asked for a module through that proxy, fails with the same dial error.
    let m = e.dir().join("mod");
    std::fs::write(
        m.join("go.mod"),
        "module example.com/m\n\ngo 1.22\n\nrequire example.com/dep v0.0.1\n",
    )
    .unwrap();
    std::fs::write(
        m.join("main.go"),
        "package main\n\nimport _ \"example.com/dep\"\n\nfunc main() {}\n",
    )
    .unwrap();
    e.set("GOFLAGS", "-mod=mod");
    let out = e.go(&["build", "."]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(&dial),
        "go said: {err}"
    );
}

#[test]
fn goproxy_typos_are_go049_with_gos_words() {
    let Some(mut e) = Env::new("1.22") else {
        return;
    };
    let m = e.dir().join("mod");
    std::fs::write(
        m.join("go.mod"),
        "module example.com/m\n\ngo 1.22\n\nrequire example.com/dep v0.0.1\n",
    )
    .unwrap();
    std::fs::write(
        m.join("main.go"),
        "package main\n\nimport _ \"example.com/dep\"\n\nfunc main() {}\n",
    )
    .unwrap();
    e.set("GOFLAGS", "-mod=mod");
    e.set("GOSUMDB", "off");
    for bad in ["htps://proxy.golang.org", "https://proxy golang.org"] {
        e.set("GOPROXY", bad);
        // go refuses the URL before any request.
        let out = e.go(&["build", "."]);
        let err = String::from_utf8_lossy(&out.stderr);
        let go_line = err
            .lines()
            .find_map(|l| l.strip_prefix("main.go:3:8: "))
            .unwrap_or_else(|| panic!("go said: {err}"));
        let (v, _) = e.golat(&[]);
        assert_eq!(status(&v, "GO049"), "error", "{v:#}");
        assert!(
            message(&v, "GO049").contains(go_line),
            "{} vs go: {go_line}",
            message(&v, "GO049")
        );
    }
    // A good one is ok; a later entry whose host does not resolve is a warning with --network.
    let (url, _) = canned(vec![("/golang.org/toolchain/@v/list".into(), 200, "")]);
    e.set("GOPROXY", &format!("{url},https://golat-typo.invalid"));
    let (v, _) = e.golat(&[]);
    assert_eq!(status(&v, "GO049"), "ok", "{v:#}");
    let (v, _) = e.golat(&["--network"]);
    assert_eq!(status(&v, "GO049"), "warn", "{v:#}");
    assert!(message(&v, "GO049").contains("golat-typo.invalid"));
    assert_eq!(status(&v, "GO046"), "ok", "{v:#}");
}
