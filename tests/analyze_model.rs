//! Analyzer logic on small hand-built reports whose right answer is known exactly: the
//! critical path through overlapping children, PATH walks with hits, duplicates and
//! execvp from a forked child, categories, habits. Hostile reports (any ppid graph, any
//! path, any number) are fuzzed with proptest: analysis and every renderer must cope.

use golat::analyze;
use golat::model::{Call, ExecSpan, Process, Report, RunEnv, Timing, TimingInfo};
use golat::render::{self, Style};
use proptest::prelude::*;
use serde_json::Value;

fn process(pid: i32, ppid: i32, tool: &str, start: f64, end: Option<f64>) -> Process {
    Process {
        pid,
        ppid,
        tool: tool.into(),
        exe: format!("/usr/bin/{tool}"),
        argv: vec![tool.into()],
        cwd: "/work".into(),
        start_ms: start,
        execs: vec![ExecSpan {
            t_ms: start,
            exe: format!("/usr/bin/{tool}"),
            argv: vec![tool.into()],
        }],
        end_ms: end,
        exit_code: Some(0),
        signal: None,
        threads: 1,
        path_env: Some("/a:/b:/a:/c".into()),
        godebug: None,
        stops: 0,
        tracing_ms: 0.0,
        startup: None,
    }
}

fn call(pid: i32, t: f64, name: &str, path: &str, errno: Option<&str>) -> Call {
    Call {
        pid,
        tid: pid,
        name: name.into(),
        path: Some(path.into()),
        path2: None,
        flags: None,
        addr: None,
        ret: errno.is_none().then_some(0),
        errno: errno.map(Into::into),
        t_ms: t,
        dur_us: 2.0,
        dur_us_inclusive: 12.0,
        timing: Timing::Replayed,
        disturbed_us: None,
    }
}

fn report(processes: Vec<Process>, calls: Vec<Call>, wall: f64) -> Report {
    Report {
        schema: "golat.profile/v1".into(),
        golat_version: "0".into(),
        command: vec!["root".into()],
        cwd: "/work".into(),
        exit_code: 0,
        signal: None,
        wall_ms: wall,
        traced: true,
        untraced_reason: None,
        timing: TimingInfo::default(),
        env: RunEnv {
            path: "/a:/b:/a:/c".into(),
            goroot: Some("/usr/local/go".into()),
            home: Some("/home/u".into()),
            ..RunEnv::default()
        },
        syscalls: Report::summarize_syscalls(&calls),
        processes,
        calls,
        calls_omitted: 0,
        calls_omitted_failed: 0,
        mounts: Vec::new(),
        hosts: Default::default(),
        warnings: Vec::new(),
        runs: None,
        init_lines: Vec::new(),
        hotspots: Default::default(),
        go: Default::default(),
        cachehash: Default::default(),
    }
}

#[test]
fn critical_path_follows_the_last_child_and_sums_to_wall() {
    // root 0..100; A 10..60 and B 20..90 overlap; B waits on its child G 30..80.
    let mut r = report(
        vec![
            process(1, 0, "root", 0.0, Some(100.0)),
            process(2, 1, "a", 10.0, Some(60.0)),
            process(3, 1, "b", 20.0, Some(90.0)),
            process(4, 3, "g", 30.0, Some(80.0)),
        ],
        Vec::new(),
        100.0,
    );
    analyze::analyze_saved(&mut r);
    let ex = &r.hotspots["exec"];
    let chain: Vec<(String, f64, f64)> = ex["critical_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["tool"].as_str().unwrap().to_string(),
                l["from_ms"].as_f64().unwrap(),
                l["to_ms"].as_f64().unwrap(),
            )
        })
        .collect();
    let expect = [
        ("root", 0.0, 20.0),
        ("b", 20.0, 30.0),
        ("g", 30.0, 80.0),
        ("b", 80.0, 90.0),
        ("root", 90.0, 100.0),
    ];
    assert_eq!(chain.len(), expect.len(), "{chain:?}");
    for (got, want) in chain.iter().zip(expect) {
        assert_eq!((got.0.as_str(), got.1, got.2), want);
    }
    let by = ex["critical_by_process"].as_array().unwrap();
    assert_eq!(by[0]["tool"], "g");
    assert_eq!(by[0]["share"].as_f64().unwrap(), 0.5);
    assert_eq!(by[1]["tool"], "root");
    assert_eq!(by[1]["ms"].as_f64().unwrap(), 30.0);
    assert!(
        r.hotspots["verdict"]["line"]
            .as_str()
            .unwrap()
            .starts_with("g (pid 4) holds 50% of the 100 ms wall")
    );
}

#[test]
fn path_walks_count_lookups_hits_and_duplicates() {
    // PATH /a:/b:/a:/c. Two LookPath-style walks for `tool` found in /c (stat then access
    // at the hit), one walk for `gone` never found, and an execvp walk by a forked child
    // before its exec (it uses its parent's PATH).
    let mut calls = Vec::new();
    let mut t = 1.0;
    for _ in 0..2 {
        for d in ["/a", "/b", "/a"] {
            calls.push(call(
                1,
                t,
                "newfstatat",
                &format!("{d}/tool"),
                Some("ENOENT"),
            ));
            t += 0.01;
        }
        calls.push(call(1, t, "newfstatat", "/c/tool", None));
        calls.push(call(1, t + 0.001, "faccessat2", "/c/tool", None));
        t += 0.01;
    }
    for d in ["/a", "/b", "/a", "/c"] {
        calls.push(call(
            1,
            t,
            "newfstatat",
            &format!("{d}/gone"),
            Some("ENOENT"),
        ));
        t += 0.01;
    }
    let mut child = process(2, 1, "cc", 5.0, Some(9.0));
    child.execs[0].t_ms = 6.0;
    child.path_env = Some("/elsewhere".into());
    for (i, d) in ["/a", "/b", "/a"].iter().enumerate() {
        calls.push(call(
            2,
            5.1 + i as f64 * 0.1,
            "execve",
            &format!("{d}/as"),
            Some("ENOENT"),
        ));
    }
    calls.push(call(2, 5.5, "execve", "/c/as", None));
    let mut r = report(
        vec![process(1, 0, "go", 0.0, Some(10.0)), child],
        calls,
        10.0,
    );
    analyze::analyze_saved(&mut r);
    let ps = &r.hotspots["path_scan"];
    let names = ps["names"].as_array().unwrap();
    let get = |n: &str| names.iter().find(|x| x["name"] == n).unwrap().clone();
    let tool = get("tool");
    assert_eq!(tool["lookups"], 2);
    assert_eq!(tool["probes"], 10);
    assert_eq!(tool["misses"], 6);
    assert_eq!(tool["dirs_walked"], 4);
    assert_eq!(tool["found"], "/c");
    assert_eq!(tool["wasted_probes"], 2, "the second /a is a duplicate");
    let gone = get("gone");
    assert_eq!(
        (gone["lookups"].as_u64(), gone["probes"].as_u64()),
        (Some(1), Some(4))
    );
    assert!(gone["found"].is_null());
    let r#as = get("as");
    assert_eq!(r#as["probes"], 4);
    assert_eq!(r#as["found"], "/c");
    assert_eq!(names[0]["name"], "tool", "most probes first");
    assert_eq!(ps["cleanup"]["saved_probes"], 4);
    // Saved report, never checked live: no directory is called missing.
    let entries = ps["paths"][0]["entries"].as_array().unwrap();
    assert_eq!(entries[2]["status"], "duplicate");
    assert_eq!(entries[0]["status"], "unchecked");
}

#[test]
fn categories_habits_and_storms() {
    let mut p = process(1, 0, "go", 0.0, Some(50.0));
    p.argv = vec!["go".into(), "build".into()];
    let mut v = process(2, 1, "compile", 1.0, Some(5.0));
    v.argv = vec!["compile".into(), "-V=full".into()];
    let mut calls = vec![
        call(1, 1.0, "openat", "/usr/local/go/src/fmt/print.go", None),
        call(1, 1.1, "openat", "/home/u/.cache/go-build/ab/abc-d", None),
        call(1, 1.2, "newfstatat", "/home/u/go/pkg/mod/x@v1/go.mod", None),
        call(1, 1.3, "openat", "/proc/self/cgroup", None),
        call(1, 1.4, "newfstatat", "/work/go.mod", None),
        call(1, 1.5, "newfstatat", "/work/go.work", Some("ENOENT")),
        call(1, 1.6, "newfstatat", "/go.work", Some("ENOENT")),
        call(1, 1.7, "newfstatat", "/work/.git", Some("ENOENT")),
        call(
            2,
            2.0,
            "openat",
            "/home/u/.config/go/telemetry/mode",
            Some("ENOENT"),
        ),
    ];
    for i in 0..7 {
        calls.push(call(
            1,
            3.0 + f64::from(i) * 0.1,
            "newfstatat",
            "/work/pkg",
            None,
        ));
    }
    let mut r = report(vec![p, v], calls, 50.0);
    analyze::analyze_saved(&mut r);
    let fs = &r.hotspots["fs_blocking"];
    let cat = |c: &str| {
        fs["categories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["category"] == c)
            .map(|x| x["times"]["calls"].as_u64().unwrap())
    };
    assert_eq!(cat("goroot"), Some(1));
    assert_eq!(cat("gocache"), Some(1));
    assert_eq!(cat("gomodcache"), Some(1));
    assert_eq!(cat("proc"), Some(1));
    assert_eq!(
        cat("module"),
        Some(10),
        "/work is the module: go.mod found there"
    );
    assert_eq!(fs["stat_storms"][0]["path"], "/work/pkg");
    assert_eq!(fs["stat_storms"][0]["times"]["calls"], 7);
    let habits: Vec<String> = r.hotspots["habits"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["key"].as_str().unwrap().to_string())
        .collect();
    for k in [
        "version_probes",
        "telemetry_mode",
        "go_work_walk",
        "vcs_walk",
    ] {
        assert!(habits.contains(&k.to_string()), "{k} in {habits:?}");
    }
    let gowork = r.hotspots["habits"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["key"] == "go_work_walk")
        .unwrap()
        .clone();
    assert!(gowork["detail"].as_str().unwrap().ends_with("up to /"));
}

#[test]
fn cgo_header_search_and_realpath_storms() {
    let go = process(1, 0, "go", 0.0, Some(20.0));
    let cc1 = process(2, 1, "cc1", 1.0, Some(10.0));
    let mut calls = Vec::new();
    for (i, inc) in [
        "/usr/local/include",
        "/usr/include/x86_64-linux-gnu",
        "/usr/include",
    ]
    .iter()
    .enumerate()
    {
        let t = 2.0 + i as f64 * 0.1;
        calls.push(call(
            2,
            t,
            "openat",
            &format!("{inc}/bits/types.h"),
            Some("ENOENT"),
        ));
        calls.push(call(
            2,
            t + 0.01,
            "openat",
            &format!("{inc}/stdio.h"),
            Some("ENOENT"),
        ));
    }
    calls.push(call(2, 3.0, "openat", "/usr/include/stdio.h", None));
    for i in 0..5 {
        calls.push(call(
            2,
            4.0 + f64::from(i) * 0.01,
            "readlink",
            "/usr/include/stdio.h",
            Some("EINVAL"),
        ));
    }
    // The go command's own readlink is not the C compiler's storm.
    calls.push(call(1, 5.0, "readlink", "/proc/self/exe", None));
    let mut r = report(vec![go, cc1], calls, 20.0);
    analyze::analyze_saved(&mut r);
    let items = r.hotspots["habits"]["items"].as_array().unwrap().clone();
    let get = |k: &str| items.iter().find(|h| h["key"] == k).unwrap().clone();
    let headers = get("cc_header_search");
    assert_eq!(headers["count"], 6);
    assert_eq!(headers["processes"], 1);
    assert!(
        headers["detail"]
            .as_str()
            .unwrap()
            .contains("over 3 include directories")
    );
    assert!(
        headers["examples"][0]
            .as_str()
            .unwrap()
            .starts_with("bits/types.h ×3")
    );
    let realpath = get("cc_realpath");
    assert_eq!(
        (realpath["count"].as_u64(), realpath["failed"].as_u64()),
        (Some(5), Some(5))
    );
}

#[test]
fn a_mount_points_own_path_and_execs_count_on_their_mount() {
    use golat::model::MountRecord;
    let mut calls = vec![
        // A stat of the mount point itself reaches the filesystem mounted there.
        call(1, 1.0, "newfstatat", "/mnt/nfs", None),
        call(1, 2.0, "newfstatat", "/mnt/nfs/go/bin/go", None),
        // PATH walk: failed execs on the slow entry, then the real one.
        call(1, 3.0, "execve", "/mnt/nfs/bin/gcc", Some("ENOENT")),
        call(1, 4.0, "execve", "/usr/bin/gcc", None),
    ];
    for c in &mut calls {
        c.timing = Timing::Corrected;
        c.dur_us = 1000.0;
    }
    let mut r = report(vec![process(1, 0, "go", 0.0, Some(10.0))], calls, 10.0);
    r.mounts = vec![
        MountRecord {
            mount_point: "/".into(),
            fs_type: "ext4".into(),
            source: "/dev/vda".into(),
        },
        MountRecord {
            mount_point: "/mnt/nfs".into(),
            fs_type: "nfs4".into(),
            source: "srv:/x".into(),
        },
    ];
    analyze::analyze_saved(&mut r);
    let mounts = r.hotspots["fs_blocking"]["mounts"].as_array().unwrap();
    let row = |point: &str| {
        mounts
            .iter()
            .find(|m| m["mount_point"] == point)
            .unwrap_or_else(|| panic!("no row for {point}: {mounts:?}"))
    };
    assert_eq!(row("/mnt/nfs")["times"]["calls"], 3, "{mounts:?}");
    assert_eq!(row("/mnt/nfs")["times"]["sys_ms"], 3.0);
    assert_eq!(row("/")["times"]["calls"], 1);
    // The category table counts the execs too: every call is in some category.
    let cats = r.hotspots["fs_blocking"]["categories"].as_array().unwrap();
    let total: u64 = cats
        .iter()
        .map(|c| c["times"]["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 4, "{cats:?}");
}

#[test]
fn untraced_report_gets_a_plain_verdict() {
    let mut r = report(Vec::new(), Vec::new(), 12.5);
    r.traced = false;
    r.untraced_reason = Some("ptrace denied".into());
    analyze::analyze_saved(&mut r);
    assert!(
        r.hotspots["verdict"]["line"]
            .as_str()
            .unwrap()
            .starts_with("untraced run")
    );
    let text = render::summary::render(&r, &Style::plain(10));
    assert!(text.contains("untraced: ptrace denied"));
}

fn arb_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("/".to_string()),
        Just("rel/x".to_string()),
        Just("//".to_string()),
        Just("/a/".to_string()),
        Just("/go.work".to_string()),
        Just("/a/x".to_string()),
        Just("/b/x".to_string()),
        Just("/usr/include/bits/x.h".to_string()),
        Just("/home/u/.config/go/telemetry/mode".to_string()),
        "(/[a-cé]{0,3}){0,4}",
    ]
}

fn arb_report() -> impl Strategy<Value = Report> {
    let procs = prop::collection::vec(
        (
            0i32..6,
            0i32..6,
            prop_oneof![Just("go"), Just("cc1"), Just("compile"), Just("")],
            -10.0f64..100.0,
            prop::option::of(-10.0f64..200.0),
            prop::option::of("[:/a-c.]{0,12}"),
            any::<bool>(),
        ),
        0..8,
    );
    let calls = prop::collection::vec(
        (
            0i32..7,
            prop_oneof![
                Just("newfstatat"),
                Just("openat"),
                Just("execve"),
                Just("connect"),
                Just("readlink"),
                Just("getdents64"),
                Just("faccessat2")
            ],
            prop::option::of(arb_path()),
            -5.0f64..150.0,
            -3.0f64..1e4,
            prop::option::of(Just("ENOENT")),
            0u8..3,
        ),
        0..60,
    );
    (procs, calls, 0.0f64..300.0, "[:/a-c]{0,10}").prop_map(|(procs, calls, wall, path)| {
        let processes = procs
            .into_iter()
            .map(|(pid, ppid, tool, start, end, path_env, exec)| {
                let mut p = process(pid, ppid, tool, start, end);
                p.path_env = path_env;
                if !exec {
                    p.execs.clear();
                }
                p
            })
            .collect();
        let calls = calls
            .into_iter()
            .map(|(pid, name, path, t, dur, errno, timing)| {
                let mut c = call(pid, t, name, "", errno);
                c.path = path.map(Into::into);
                c.dur_us = dur;
                c.addr = (name == "connect").then(|| "10.0.0.1:443".into());
                c.timing = [Timing::Replayed, Timing::Corrected, Timing::None][timing as usize];
                c
            })
            .collect();
        let mut r = report(processes, calls, wall);
        r.env.path = path;
        r
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_report_analyses_and_renders_without_panic(
        r in arb_report(),
        other in arb_report(),
        width in 40usize..200,
        top in 0usize..12,
    ) {
        let mut r = r;
        analyze::analyze_saved(&mut r);
        // A second analysis reads the first one's results back (prior PATH checks).
        analyze::analyze_saved(&mut r);
        let style = Style { top, width, color: false };
        let text = render::summary::render(&r, &style);
        if width >= 60 {
            for line in text.lines().filter(|l| l.starts_with(['╭', '│', '├', '╰'])) {
                prop_assert!(line.chars().count() <= width, "{} > {}: {}", line.chars().count(), width, line);
            }
        }
        let ctx = analyze::Ctx::new(&r, false);
        let mut buf = Vec::new();
        render::timeline::write(&r, &ctx, &mut buf).unwrap();
        let v: Value = serde_json::from_slice(&buf).unwrap();
        prop_assert!(v["traceEvents"].is_array());
        let mut other = other;
        analyze::analyze_saved(&mut other);
        let d = render::diff::compare(&r, "a", &other, "b");
        let _ = render::diff::render(&d, &style);
        // Round trip through JSON, as `golat report` reads it.
        let json = serde_json::to_vec(&r).unwrap();
        let back: Report = serde_json::from_slice(&json).unwrap();
        prop_assert_eq!(back.calls.len(), r.calls.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn text_parsers_take_any_input(text in "\\PC{0,300}", cwd in "/[a-z/.]{0,20}") {
        let mounts = analyze::parse_mountinfo(&text);
        prop_assert!(mounts.len() <= text.lines().count());
        let cleaned = analyze::clean_path(&text, &cwd);
        prop_assert!(cleaned.starts_with('/'));
        prop_assert!(!cleaned.contains("//"));
        let _ = analyze::split_parent(&text);
        let _ = render::ellipsize_middle(&text, 10);
        let wrapped = render::wrap_words(&text, 12);
        prop_assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>(),
            text.split(' ').filter(|w| !w.is_empty()).flat_map(|w| w.split_whitespace()).collect::<Vec<_>>()
        );
    }

    /// A saved report cut short or with a byte changed: a clean error or a report, never a
    /// panic.
    #[test]
    fn damaged_report_files_fail_cleanly(cut in 0usize..45_000, flip in 0usize..45_000, byte in any::<u8>()) {
        let original = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/reports/pathscan.json"),
        ).unwrap();
        let mut bytes = original.clone();
        if flip < bytes.len() {
            bytes[flip] = byte;
        }
        bytes.truncate(cut.max(1).min(bytes.len()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, &bytes).unwrap();
        match golat::report_cmd::load(&path) {
            Ok(r) => {
                let _ = render::summary::render(&r, &Style::plain(5));
            }
            Err(e) => {
                let msg = format!("{e:#}");
                prop_assert!(!msg.contains('\n'), "{}", msg);
            }
        }
    }
}

/// A 1,200-compile build whose path has 2,402 links: the JSON keeps the start and the
/// tail that decided the end, says what it left out, and per-tool totals cover the whole
/// path, not the 100 processes listed.
#[test]
fn a_long_critical_path_keeps_its_tail_and_says_what_it_left_out() {
    let n = 1200;
    let mut procs = vec![process(1, 0, "go", 0.0, Some(3602.0))];
    for k in 0..n {
        let start = 1.0 + 3.0 * k as f64;
        procs.push(process(10 + k, 1, "compile", start, Some(start + 2.0)));
    }
    procs.push(process(10 + n, 1, "link", 3600.5, Some(3601.5)));
    let wall = 3602.0;
    let mut r = report(procs, Vec::new(), wall);
    analyze::analyze_saved(&mut r);
    let ex: golat::analyze::exec::ExecAnalysis =
        serde_json::from_value(r.hotspots["exec"].clone()).unwrap();
    let last = ex.critical_path.last().unwrap();
    assert_eq!((last.tool.as_str(), last.to_ms), ("go", wall));
    assert_eq!(ex.critical_path[ex.critical_path.len() - 2].tool, "link");
    assert_eq!(ex.critical_path_links, 2 * n as u64 + 3);
    let gap = ex.critical_path_gap.clone().expect("a gap is recorded");
    assert_eq!(
        gap.links as usize + ex.critical_path.len(),
        ex.critical_path_links as usize
    );
    let kept: f64 = ex.critical_path.iter().map(|l| l.ms).sum();
    assert!(
        (kept + gap.ms - wall).abs() < 1e-6,
        "{kept} + {} != {wall}",
        gap.ms
    );
    // Continuous across the gap.
    assert_eq!(ex.critical_path[gap.after].to_ms, gap.from_ms);
    assert_eq!(ex.critical_path[gap.after + 1].from_ms, gap.to_ms);
    let on_path: f64 = ex.tools.iter().map(|t| t.critical_ms).sum();
    assert!(
        (on_path - wall).abs() < 1e-6,
        "tools sum to {on_path} of {wall}"
    );
    let compile = ex.tools.iter().find(|t| t.tool == "compile").unwrap();
    assert!((compile.critical_ms - 2.0 * n as f64).abs() < 1e-6);
    assert_eq!(ex.critical_processes, n as u64 + 2);

    let text = golat::render::report(&r, &golat::render::Style::plain(10));
    assert!(text.contains(&format!("({} links;", 2 * n + 3)), "{text}");
    assert!(
        text.contains("(10 of the 1202 processes that held the path"),
        "{text}"
    );
    let path = text.lines().find(|l| l.starts_with("path: ")).unwrap();
    assert!(path.ends_with("link 1.0 → go 0.500"), "{path}");
    // Shown links plus "(N more)" are every link of the path, the ones not in the JSON too.
    let items: Vec<&str> = path["path: ".len()..].split(" → ").collect();
    let more: usize = items
        .iter()
        .find_map(|i| i.strip_prefix("… (")?.strip_suffix(" more)")?.parse().ok())
        .expect("a '(N more)' item");
    assert_eq!(items.len() - 1 + more, 2 * n as usize + 3, "{path}");
}
