//! bench/analyze: generates a `golat.profile/v1` report shaped like a large cgo build (a go
//! command, ~700 tool processes, 1,000,000 recorded calls over ~60,000 paths), then times
//! golat's analysis and each renderer in process and `golat report FILE` end to end, with
//! peak RSS from getrusage. Goal (issue 3): analysis + rendering < 1 s and < 200 MB.
//!
//! Usage: cargo run --release --manifest-path bench/analyze/Cargo.toml -- [--calls N]
//!        [--runs R] [--golat PATH/TO/golat]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use golat::analyze;
use golat::model::{Call, ExecSpan, Process, Report, RunEnv, Timing, TimingInfo};
use golat::render::{self, Style};

/// Deterministic xorshift: the same report on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const PATH: &str = "/usr/local/go/bin:/root/go/bin:/root/.cargo/bin:/root/.cargo/bin:\
/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn generate(n_calls: usize) -> Report {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let tools = ["compile", "asm", "cgo", "gcc", "cc1", "as", "link", "vet"];
    let wall = 60_000.0;
    let mut processes = vec![proc(1000, 999, "go", "/usr/local/go/bin/go", 0.0, wall)];
    for i in 0..700 {
        let tool = tools[rng.below(tools.len())];
        let start = rng.unit() * (wall - 2000.0);
        let len = 5.0 + rng.unit() * 1500.0;
        let exe = if matches!(tool, "gcc" | "as") {
            format!("/usr/bin/{tool}")
        } else if tool == "cc1" {
            "/usr/lib/gcc/x86_64-linux-gnu/12/cc1".to_string()
        } else {
            format!("/usr/local/go/pkg/tool/linux_amd64/{tool}")
        };
        let mut p = proc(1001 + i, 1000, tool, &exe, start, start + len);
        if i % 9 == 0 {
            p.argv.push("-V=full".into());
        }
        processes.push(p);
    }
    // A pool of paths like a cgo build's: GOROOT sources, cache entries, headers, PATH probes.
    let mut pool: Vec<String> = Vec::new();
    for d in 0..400 {
        for f in 0..60 {
            pool.push(format!(
                "/usr/local/go/src/pkg{d}/sub/file_{f}_linux_amd64.go"
            ));
        }
    }
    for c in 0..20_000 {
        pool.push(format!(
            "/root/.cache/go-build/{:02x}/{:064x}-d",
            c % 256,
            c * 7919
        ));
    }
    for inc in [
        "/usr/include",
        "/usr/local/include",
        "/usr/lib/gcc/x86_64-linux-gnu/12/include",
    ] {
        for h in 0..3000 {
            pool.push(format!("{inc}/bits/header{h}.h"));
        }
    }
    let dirs: Vec<&str> = PATH.split(':').collect();
    let mut calls = Vec::with_capacity(n_calls);
    let names = [
        ("newfstatat", 45),
        ("openat", 35),
        ("readlink", 10),
        ("getdents64", 2),
        ("faccessat2", 3),
        ("execve", 1),
        ("unlinkat", 2),
        ("mkdirat", 1),
        ("connect", 1),
    ];
    let total_w: usize = names.iter().map(|n| n.1).sum();
    let mut t_of = vec![0.0f64; processes.len()];
    for i in 0..n_calls {
        let pi = rng.below(processes.len());
        let p = &processes[pi];
        let span = p.end_ms.unwrap() - p.start_ms;
        t_of[pi] = (t_of[pi] + span / 1500.0).min(span);
        let t = p.start_ms + t_of[pi];
        let mut w = rng.below(total_w);
        let name = names
            .iter()
            .find(|(_, k)| {
                if w < *k {
                    true
                } else {
                    w -= k;
                    false
                }
            })
            .unwrap()
            .0;
        let (path, addr) = if name == "connect" {
            (None, Some("142.250.74.113:443".to_string()))
        } else if i % 50 == 0 {
            // A PATH walk step.
            let tool = ["gcc", "as", "gccgo", "pkg-config"][rng.below(4)];
            (
                Some(format!("{}/{tool}", dirs[(i / 50) % dirs.len()])),
                None,
            )
        } else {
            (Some(pool[rng.below(pool.len())].clone()), None)
        };
        let failed = rng.below(100) < 25;
        let dur = 1.0 + rng.unit() * rng.unit() * 200.0;
        calls.push(Call {
            pid: p.pid,
            tid: p.pid,
            name: name.into(),
            path: path.map(Into::into),
            path2: None,
            flags: (name == "openat").then(|| "O_RDONLY|O_CLOEXEC".into()),
            addr: addr.map(Into::into),
            ret: (!failed).then_some(3),
            errno: failed.then(|| "ENOENT".into()),
            t_ms: t,
            dur_us: dur,
            dur_us_inclusive: dur + 8.0,
            timing: if name.starts_with("open") || name.contains("stat") || name == "readlink" {
                Timing::Replayed
            } else {
                Timing::Corrected
            },
            disturbed_us: None,
        });
    }
    // Unstable sort: no n/2 scratch buffer inflating the peak RSS we measure later.
    calls.sort_unstable_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    Report {
        schema: golat::model::PROFILE_SCHEMA.into(),
        golat_version: "bench".into(),
        command: vec!["go".into(), "build".into(), "./...".into()],
        cwd: "/work/app".into(),
        exit_code: 0,
        signal: None,
        wall_ms: wall,
        traced: true,
        untraced_reason: None,
        timing: TimingInfo::default(),
        env: RunEnv {
            path: PATH.into(),
            home: Some("/root".into()),
            ..RunEnv::default()
        },
        syscalls: Report::summarize_syscalls(&calls),
        processes,
        calls,
        calls_omitted: 0,
        calls_omitted_failed: 0,
        mounts: Vec::new(),
        warnings: Vec::new(),
        runs: None,
        init_lines: Vec::new(),
        hotspots: Default::default(),
        go: Default::default(),
    }
}

fn proc(pid: i32, ppid: i32, tool: &str, exe: &str, start: f64, end: f64) -> Process {
    Process {
        pid,
        ppid,
        tool: tool.into(),
        exe: exe.into(),
        argv: vec![exe.into()],
        cwd: "/work/app".into(),
        start_ms: start,
        execs: vec![ExecSpan {
            t_ms: start + 0.3,
            exe: exe.into(),
            argv: vec![exe.into()],
        }],
        end_ms: Some(end),
        exit_code: Some(0),
        signal: None,
        threads: 4,
        path_env: Some(PATH.into()),
        godebug: None,
        stops: 0,
        tracing_ms: 0.0,
    }
}

/// Peak resident set of this process (or of the largest waited-for child), MB.
fn max_rss_mb(who: i32) -> f64 {
    // SAFETY: getrusage writes one struct rusage into the zeroed value we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    ru.ru_maxrss as f64 / 1024.0
}

/// CPU seconds (user + system) this process has used: unlike wall time, not inflated by
/// other jobs waiting for the same cores.
fn cpu_s() -> f64 {
    // SAFETY: getrusage writes one struct rusage into the zeroed value we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Current resident set of this process, MB (from /proc/self/statm).
fn rss_now_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / 1048576.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut n_calls = 1_000_000usize;
    let mut runs = 5usize;
    let mut golat_bin = String::from("target/release/golat");
    let mut cli = true;
    let mut measure: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--calls" => n_calls = args.next().and_then(|v| v.parse().ok()).expect("--calls N"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--golat" => golat_bin = args.next().expect("--golat PATH"),
            "--no-cli" => cli = false,
            "--measure" => measure = Some(args.next().expect("--measure FILE")),
            other => panic!("unknown argument {other}"),
        }
    }
    if let Some(file) = measure {
        measure_in_process(&file, runs);
        return;
    }

    let t0 = Instant::now();
    let report = generate(n_calls);
    let gen_s = t0.elapsed().as_secs_f64();
    let dir = std::env::temp_dir().join(format!("golat-bench-analyze-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.json");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        serde_json::to_writer(&mut w, &report).unwrap();
        w.flush().unwrap();
    }
    let size_mb = std::fs::metadata(&file).unwrap().len() as f64 / 1048576.0;
    println!(
        "generated: {} calls, {} processes in {gen_s:.2} s; {size_mb:.0} MB of JSON",
        report.calls.len(),
        report.processes.len(),
    );
    drop(report);

    // In a fresh process, so its peak RSS is the loaded report's and the analysis's only,
    // and its strings lie in the heap as a real saved report's do (in call order).
    let st = Command::new(std::env::current_exe().unwrap())
        .arg("--measure")
        .arg(&file)
        .args(["--runs", &runs.to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "measuring failed: {st}");

    if cli {
        // End to end, as a user runs it: parse the saved JSON, analyse, print the table.
        let mut t_cli = Vec::new();
        for _ in 0..runs.min(3) {
            let t = Instant::now();
            let st = Command::new(&golat_bin)
                .arg("report")
                .arg(&file)
                .stdout(Stdio::null())
                .status()
                .expect("run golat (build it with cargo build --release)");
            assert!(st.success(), "golat report failed: {st}");
            t_cli.push(t.elapsed().as_secs_f64());
        }
        // The largest child: the measuring process or one `golat report`, whichever peaked.
        let cli_rss = max_rss_mb(libc::RUSAGE_CHILDREN);
        println!(
            "golat report FILE ({size_mb:.0} MB JSON), median of {}: {:.2} s; peak RSS of the \
             largest child {cli_rss:.0} MB",
            t_cli.len(),
            median(t_cli)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn measure_in_process(file: &str, runs: usize) {
    let t = Instant::now();
    let mut report = golat::report_cmd::load(std::path::Path::new(file)).expect("load the report");
    let load_s = t.elapsed().as_secs_f64();
    let model_rss = rss_now_mb();
    let peak_load = max_rss_mb(libc::RUSAGE_SELF);
    println!(
        "loaded (parse + first analysis) in {load_s:.2} s: {model_rss:.0} MB resident \
         ({:.0} bytes per call, {} of them the Call struct); peak while loading {peak_load:.0} MB",
        model_rss * 1048576.0 / report.calls.len().max(1) as f64,
        std::mem::size_of::<Call>()
    );
    let style = Style {
        top: 10,
        width: 120,
        color: false,
    };
    let (mut t_an, mut t_tab, mut t_tl) = (Vec::new(), Vec::new(), Vec::new());
    // Baseline, measured in the same loop so machine noise hits both alike: the one pass
    // over the calls that every run already makes (per-syscall totals).
    let mut t_base = Vec::new();
    let mut cpu_an = Vec::new();
    let mut table_len = 0;
    let mut written = render::timeline::Written::default();
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(Report::summarize_syscalls(&report.calls));
        t_base.push(t.elapsed().as_secs_f64());
        report.hotspots.clear();
        let (t, c) = (Instant::now(), cpu_s());
        analyze::analyze_saved(&mut report);
        t_an.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        table_len = render::summary::render(&report, &style).len();
        t_tab.push(t.elapsed().as_secs_f64());
        cpu_an.push(cpu_s() - c);
        let t = Instant::now();
        let ctx = analyze::Ctx::new(&report, false);
        let mut sink = std::io::BufWriter::new(std::io::sink());
        written = render::timeline::write(&report, &ctx, &mut sink).unwrap();
        t_tl.push(t.elapsed().as_secs_f64());
    }
    let peak = max_rss_mb(libc::RUSAGE_SELF);
    let (an, tab, tl, base) = (median(t_an), median(t_tab), median(t_tl), median(t_base));
    println!(
        "baseline (per-syscall totals, one pass over the calls): {base:.3} s; \
         analysis + table = {:.1}x baseline",
        (an + tab) / base
    );
    println!(
        "in process, median of {runs}: analyze {an:.3} s + table {tab:.3} s ({table_len} bytes) \
         = {:.3} s wall, {:.3} s CPU; timeline {tl:.3} s ({} calls as slices, {} short ones \
         left out)",
        an + tab,
        median(cpu_an),
        written.calls,
        written.omitted_calls
    );
    println!(
        "peak RSS {peak:.0} MB: the loaded report {model_rss:.0} MB + at most {:.0} MB for \
         analysis, table and timeline",
        (peak - model_rss).max(0.0)
    );
}
