//! The startup view of `golat trace` (sections before main.main and after it, the main
//! goroutine's wall, goroutines blocked longest, thresholds, the tracer's goroutines, GC
//! triggers) against the same definitions computed on Go's reader (`fixtures/trace/oracle
//! startup`, golang.org/x/exp/trace): every figure equal, on traces that make each case
//! happen (`fixtures/trace/earlystart`: a GC forced in an init, a blocking syscall, a
//! contended mutex and a CPU-bound init under CPU profiling in a task and region before
//! main, heap-triggered GCs and mark assists after it), the startup fixture, a
//! `go test -trace`, and the saved traces of every format version.

mod trace_common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use trace_common::*;

struct Traces {
    _dir: tempfile::TempDir,
    oracle: PathBuf,
    early: PathBuf,
    startup: PathBuf,
    gotest: PathBuf,
}

fn traces() -> Option<&'static Traces> {
    static T: OnceLock<Option<Traces>> = OnceLock::new();
    T.get_or_init(|| {
        go()?;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let oracle = build_fixture("oracle", d);
        let run = |pkg: &str| {
            let prog = build_fixture(pkg, d);
            let out = d.join(format!("{pkg}.trace"));
            let st = Command::new(&prog)
                .env("GOLAT_TRACE_OUT", &out)
                .current_dir(d)
                .status()
                .unwrap();
            assert!(st.success(), "{pkg} failed");
            out
        };
        let early = run("earlystart");
        let startup = run("startup");
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
            early,
            startup,
            gotest,
        })
    })
    .as_ref()
}

/// A case: golat's flags and the oracle's arguments for the same options.
struct Case {
    flags: Vec<&'static str>,
    until: &'static str,
    window: i64,
    thresholds: [i64; 6],
}

const DEFAULT_THR: [i64; 6] = [100_000, 1_000_000, 1_000_000, 1_000_000, -1, 100_000];

fn cases() -> Vec<Case> {
    vec![
        Case {
            flags: vec![],
            until: "main",
            window: 1_000_000_000,
            thresholds: DEFAULT_THR,
        },
        Case {
            flags: vec![
                "--until",
                "3ms",
                "--window",
                "5ms",
                "--threshold",
                "sched=10us,sleep=1ms,stw=off,net=0ns",
            ],
            until: "3000000",
            window: 5_000_000,
            thresholds: [10_000, 1_000_000, 0, 1_000_000, 1_000_000, -1],
        },
        Case {
            flags: vec!["--window", "2ms"],
            until: "main",
            window: 2_000_000,
            thresholds: DEFAULT_THR,
        },
    ]
}

fn golat(path: &Path, flags: &[&str]) -> Value {
    let o = Command::cargo_bin("golat")
        .unwrap()
        .args(["trace", "--json", "--top", "100000"])
        .args(flags)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema"], "golat.trace/v2");
    v
}

fn oracle(t: &Traces, path: &Path, c: &Case) -> Value {
    let thr: Vec<String> = c.thresholds.iter().map(|t| t.to_string()).collect();
    let o = Command::new(&t.oracle)
        .arg("startup")
        .arg(path)
        .arg(c.until)
        .arg(c.window.to_string())
        .arg(thr.join(","))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "oracle: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn frames_key(frames: &Value) -> String {
    frames
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    format!(
                        "{} {}:{};",
                        f["func"].as_str().unwrap(),
                        f["file"].as_str().unwrap(),
                        f["line"]
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

const CLASSES: [&str; 8] = [
    "running",
    "runnable",
    "syscall",
    "syscall_blocking",
    "network",
    "sync",
    "sleep",
    "other_wait",
];

fn i(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// golat's class times against the oracle's map (absent = 0); `counts` compares counts too.
fn class_times(what: &str, g: &Value, o: &Value, counts: bool) {
    for c in CLASSES {
        let (gn, on) = (
            i(&g[c]["ns"]),
            o.get(c).map_or(0, |x| x.get("ns").map_or_else(|| i(x), i)),
        );
        assert_eq!(gn, on, "{what}: {c} ns");
        if counts {
            assert_eq!(i(&g[c]["count"]), i(&o[c]["count"]), "{what}: {c} count");
        }
    }
}

fn name_counts(list: &Value, key: &str) -> HashMap<String, i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| (e[key].as_str().unwrap().to_string(), i(&e["count"])))
        .collect()
}

fn obj_counts(o: &Value) -> HashMap<String, i64> {
    o.as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), i(v))).collect())
        .unwrap_or_default()
}

/// Mark assists, heap, GOMAXPROCS and Ps in use, CPU samples.
fn compare_more(what: &str, g: &Value, o: &Value) {
    assert_eq!(
        i(&g["mark_assist"]["ns"]),
        i(&o["mark_assist_ns"]),
        "{what}: mark assist ns"
    );
    assert_eq!(
        i(&g["mark_assist"]["count"]),
        i(&o["mark_assist_count"]),
        "{what}: mark assists"
    );
    for k in [
        "heap_alloc_max",
        "heap_goal_last",
        "gomaxprocs",
        "p_busy_ns",
        "cpu_samples",
    ] {
        assert_eq!(g[k].as_u64(), o[k].as_u64(), "{what}: {k}");
    }
    assert_eq!(
        name_counts(&g["cpu_top_leaf"], "name"),
        obj_counts(&o["cpu_leaf"]),
        "{what}: CPU leaf"
    );
    assert_eq!(
        name_counts(&g["cpu_top_user"], "name"),
        obj_counts(&o["cpu_user"]),
        "{what}: CPU user"
    );
}

fn spans(g: &Value) -> HashMap<String, [i64; 4]> {
    g.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                [
                    i(&t["begun"]),
                    i(&t["ended"]),
                    i(&t["total_ns"]),
                    i(&t["max_ns"]),
                ],
            )
        })
        .collect()
}

fn ospans(o: &Value) -> HashMap<String, [i64; 4]> {
    o.as_object()
        .unwrap()
        .iter()
        .map(|(k, t)| {
            (
                k.clone(),
                [
                    i(&t["begun"]),
                    i(&t["ended"]),
                    i(&t["total_ns"]),
                    i(&t["max_ns"]),
                ],
            )
        })
        .collect()
}

/// Every figure of golat's startup view equals the oracle's.
fn compare(p: &Path, g: &Value, o: &Value) {
    let what = p.display().to_string();
    let s = &g["startup"];
    assert_eq!(s["split_at_ns"], o["split_at_ns"], "{what}: split");
    let gs = s["sections"].as_array().unwrap();
    let os = o["sections"]
        .as_array()
        .map(|v| v.to_vec())
        .unwrap_or_default();
    assert_eq!(gs.len(), os.len(), "{what}: sections");
    for (k, (gsec, osec)) in gs.iter().zip(&os).enumerate() {
        let w = format!("{what} section {k} ({})", gsec["name"]);
        for f in [
            "gc_cycles",
            "stw_count",
            "stw_total_ns",
            "stw_max_ns",
            "goroutines_created",
            "tracer_goroutines_created",
        ] {
            assert_eq!(i(&gsec[f]), i(&osec[f]), "{w}: {f}");
        }
        assert_eq!(
            name_counts(&gsec["gc_by_trigger"], "name"),
            obj_counts(&osec["gc_by_trigger"]),
            "{w}: GC triggers"
        );
        assert_eq!(
            name_counts(&gsec["stw_by_kind"], "kind"),
            obj_counts(&osec["stw_by_kind"]),
            "{w}: STW kinds"
        );
        assert_eq!(
            name_counts(&gsec["created_by_entry"], "name"),
            obj_counts(&osec["created_by_entry"]),
            "{w}: created by entry"
        );
        class_times(&w, &gsec["goroutine_time"], &osec["goroutine_time"], true);
        class_times(
            &format!("{w} main goroutine"),
            &gsec["main_goroutine"],
            &osec["main_goroutine"],
            false,
        );
        let over: HashMap<String, i64> = gsec["over_threshold"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap().to_string(), i(&t["count"])))
            .filter(|(_, n)| *n > 0)
            .collect();
        assert_eq!(
            over,
            obj_counts(&osec["over_threshold"]),
            "{w}: over threshold"
        );
        compare_more(&w, &gsec["more"], &osec["more"]);
        let ostacks: HashMap<String, (i64, i64)> = osec["stacks"]
            .as_array()
            .map(|v| v.to_vec())
            .unwrap_or_default()
            .iter()
            .map(|st| {
                (
                    format!(
                        "{}|{}",
                        st["class"].as_str().unwrap(),
                        frames_key(&st["frames"])
                    ),
                    (i(&st["total_ns"]), i(&st["count"])),
                )
            })
            .collect();
        let gstacks = gsec["top_stacks"].as_array().unwrap();
        assert_eq!(gstacks.len(), ostacks.len(), "{w}: stacks");
        for st in gstacks {
            let key = format!(
                "{}|{}",
                st["class"].as_str().unwrap(),
                frames_key(&st["frames"])
            );
            assert_eq!(
                ostacks.get(&key),
                Some(&(i(&st["total_ns"]), i(&st["count"]))),
                "{w}: stack {key}"
            );
        }
    }
    class_times(
        &format!("{what} whole trace"),
        &s["goroutine_time"],
        &o["goroutine_time"],
        true,
    );
    // The main goroutine's wall, reasons and longest stretches.
    let m = &s["main_goroutine"];
    if o["main_wall"].as_object().is_some_and(|x| !x.is_empty()) {
        class_times(&format!("{what} G1"), &m["wall"], &o["main_wall"], true);
        let total: i64 = CLASSES.iter().map(|c| i(&m["wall"][c]["ns"])).sum();
        assert_eq!(
            i(&m["wall_ns"]),
            total,
            "{what}: G1 wall is the sum of its states"
        );
        let reasons: HashMap<String, (i64, i64)> = m["by_reason"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["reason"].as_str().unwrap().to_string(),
                    (i(&r["ns"]), i(&r["count"])),
                )
            })
            .collect();
        let oreasons: HashMap<String, (i64, i64)> = o["main_by_reason"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), (i(&v["ns"]), i(&v["count"]))))
            .collect();
        assert_eq!(reasons, oreasons, "{what}: G1 by reason");
        let longest = m["longest"].as_array().unwrap();
        let olongest = o["main_stretches"]
            .as_array()
            .map(|v| v.to_vec())
            .unwrap_or_default();
        assert_eq!(longest.len(), olongest.len(), "{what}: G1 stretches");
        for (a, b) in longest.iter().zip(&olongest) {
            for f in ["class", "reason", "at_ns", "duration_ns"] {
                assert_eq!(a[f], b[f], "{what}: G1 stretch {f}");
            }
            assert_eq!(
                frames_key(&a["frames"]),
                frames_key(&b["frames"]),
                "{what}: G1 stretch stack"
            );
        }
    } else {
        assert!(m.is_null(), "{what}: no G1 in the oracle");
    }
    // Goroutines blocked longest, in order.
    let gb = s["top_blocked_goroutines"].as_array().unwrap();
    let ob = o["blocked"]
        .as_array()
        .map(|v| v.to_vec())
        .unwrap_or_default();
    assert_eq!(gb.len(), ob.len(), "{what}: blocked goroutines");
    for (a, b) in gb.iter().zip(&ob) {
        assert_eq!(a["id"], b["id"], "{what}: blocked order");
        assert_eq!(
            a["blocked_ns"], b["blocked_ns"],
            "{what}: G{} blocked",
            a["id"]
        );
        assert_eq!(
            a["runnable_ns"], b["runnable_ns"],
            "{what}: G{} runnable",
            a["id"]
        );
        if a["id"] != 1 {
            assert_eq!(a["entry"], b["entry"], "{what}: G{} entry", a["id"]);
        }
    }
    // Thresholds, with the goroutines that had them.
    let ot = o["thresholds"].as_object().unwrap();
    let gt = s["thresholds"].as_array().unwrap();
    assert_eq!(gt.len(), ot.len(), "{what}: thresholds");
    for t in gt {
        let name = t["name"].as_str().unwrap();
        let b = &ot[name];
        for f in ["count", "total_ns", "max_ns"] {
            assert_eq!(i(&t[f]), i(&b[f]), "{what}: threshold {name} {f}");
        }
        let gg: HashMap<String, (i64, i64)> = t["goroutines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["id"].to_string(), (i(&x["count"]), i(&x["max_ns"]))))
            .collect();
        let og: HashMap<String, (i64, i64)> = b["goroutines"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, x)| (k.clone(), (i(&x["count"]), i(&x["max_ns"]))))
            .collect();
        assert_eq!(gg, og, "{what}: threshold {name} goroutines");
    }
    // The tracer's own goroutines.
    let tr: HashMap<String, HashMap<String, i64>> = s["tracer_goroutines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                format!(
                    "{} {} {}",
                    t["id"],
                    t["owner"].as_str().unwrap(),
                    t["entry"].as_str().unwrap()
                ),
                CLASSES
                    .iter()
                    .map(|c| (c.to_string(), i(&t["time"][c]["ns"])))
                    .filter(|(_, n)| *n != 0)
                    .collect(),
            )
        })
        .collect();
    let otr: HashMap<String, HashMap<String, i64>> = o["tracer"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                obj_counts(v).into_iter().filter(|(_, n)| *n != 0).collect(),
            )
        })
        .collect();
    assert_eq!(tr, otr, "{what}: tracer goroutines");
    // GC cycles and their triggers.
    let gc = s["gc_cycles"].as_array().unwrap();
    let ogc = o["gc_cycles"]
        .as_array()
        .map(|v| v.to_vec())
        .unwrap_or_default();
    assert_eq!(gc.len(), ogc.len(), "{what}: GC cycles");
    for (a, b) in gc.iter().zip(&ogc) {
        assert_eq!(a["at_ns"], b["at_ns"], "{what}: GC at");
        assert_eq!(a["trigger"], b["trigger"], "{what}: GC trigger");
        assert_eq!(
            frames_key(&a["frames"]),
            frames_key(&b["frames"]),
            "{what}: GC stack"
        );
    }
    assert_eq!(
        gc.len() as u64,
        g["gc"]["cycles"].as_u64().unwrap(),
        "{what}"
    );
    compare_more(&format!("{what} whole trace"), &s["more"], &o["more"]);
    let procs: Vec<(i64, i64)> = s["gomaxprocs_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (i(&p[0]), i(&p[1])))
        .collect();
    let oprocs: Vec<(i64, i64)> = o["gomaxprocs_changes"]
        .as_array()
        .map(|v| v.iter().map(|p| (i(&p[0]), i(&p[1]))).collect())
        .unwrap_or_default();
    assert_eq!(procs, oprocs, "{what}: GOMAXPROCS changes");
    assert_eq!(spans(&s["tasks"]), ospans(&o["tasks"]), "{what}: tasks");
    assert_eq!(
        spans(&s["regions"]),
        ospans(&o["regions"]),
        "{what}: regions"
    );
    assert_eq!(
        name_counts(&s["logs"], "name"),
        obj_counts(&o["logs"]),
        "{what}: logs"
    );
}

#[test]
fn startup_view_equals_go_reader() {
    let Some(t) = traces() else { return };
    let dir = fixtures().join("testdata");
    let mut paths = vec![t.early.clone(), t.startup.clone(), t.gotest.clone()];
    for v in ["1.22.0", "1.23.0", "1.24.0", "1.25.0", "1.26.0"] {
        paths.push(dir.join(format!("go{v}.trace")));
    }
    // A fresh earlystart trace where main.main was preempted at one line from two PCs:
    // two stack IDs with the same frames, which are one row (Go's reader keys by frames).
    paths.push(dir.join("earlystart-asyncpreempt.trace"));
    // Go's own SUCCESS vectors: synthetic states (syscalls whose P is stolen, goroutines
    // created in syscalls, generation boundaries) the real traces seldom have.
    let tmp = tempfile::tempdir().unwrap();
    let vdir = goroot().join("src/internal/trace/testdata/tests");
    for entry in std::fs::read_dir(&vdir).unwrap() {
        let vec = parse_vector(&entry.unwrap().path());
        if vec.failure.is_none() {
            let p = tmp.path().join(&vec.name);
            std::fs::write(&p, &vec.bytes).unwrap();
            paths.push(p);
        }
    }
    assert!(paths.len() > 20, "too few traces: {paths:?}");
    let mut compared = 0;
    for p in &paths {
        for c in cases() {
            let g = golat(p, &c.flags);
            let o = oracle(t, p, &c);
            compare(p, &g, &o);
            compared += 1;
        }
    }
    assert_eq!(compared, paths.len() * 3);
}

/// The early-start fixture makes each case happen, and golat says so where a reader looks.
#[test]
fn early_start_shows_what_blocked_before_main() {
    let Some(t) = traces() else { return };
    let v = golat(&t.early, &[]);
    let s = &v["startup"];
    let before = &s["sections"][0];
    let after = &s["sections"][1];
    assert_eq!(before["name"], "before main.main");
    assert_eq!(after["name"], "first 1s after main.main");
    assert!(
        i(&s["split_at_ns"]) > 20_000_000,
        "main.main comes after the 15 ms syscall and the mutex queue"
    );
    assert_eq!(i(&before["end_ns"]), i(&s["split_at_ns"]));
    // A GC forced in an init, with main.init in its stack.
    assert!(name_counts(&before["gc_by_trigger"], "name")["runtime.GC (forced)"] >= 1);
    let forced = s["gc_cycles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["trigger"] == "runtime.GC (forced)")
        .unwrap();
    let uf = forced["user_frame"].as_u64().unwrap() as usize;
    assert!(
        forced["frames"][uf]["func"]
            .as_str()
            .unwrap()
            .starts_with("main.init"),
        "{forced}"
    );
    // A heap-triggered GC after main.
    assert!(
        name_counts(&after["gc_by_trigger"], "name")["heap goal (an allocation)"] >= 1,
        "{after}"
    );
    // The 15 ms pipe read had its P handed off; os.Stat's syscalls kept theirs.
    let bl = &before["goroutine_time"]["syscall_blocking"];
    assert!(i(&bl["ns"]) >= 15_000_000 && i(&bl["count"]) >= 1, "{bl}");
    assert!(i(&before["main_goroutine"]["syscall_blocking"]["ns"]) >= 15_000_000);
    assert!(
        i(&s["main_goroutine"]["wall"]["syscall"]["count"]) >= 5,
        "{}",
        s["main_goroutine"]
    );
    // The mutex queue: 3 of 4 workers wait on sync.(*Mutex).Lock in main.init.0.func2.
    let mutex = before["top_stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["class"] == "sync" && st["frames"][0]["func"] == "sync.(*Mutex).Lock")
        .unwrap_or_else(|| panic!("no mutex wait in {}", before["top_stacks"]));
    assert!(i(&mutex["count"]) >= 3, "{mutex}");
    let uf = mutex["user_frame"].as_u64().unwrap() as usize;
    assert_eq!(mutex["frames"][uf]["func"], "main.init.0.func2");
    assert_eq!(
        name_counts(&before["created_by_entry"], "name")["main.init.0.func2"],
        4
    );
    // The tracer's goroutines are apart, and none of the program's lists holds them.
    let tracer: Vec<String> = s["tracer_goroutines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["entry"].as_str().unwrap().to_string())
        .collect();
    for want in [
        "traceAdvancerState",
        "traceStartReadCPU",
        "runtime/trace.",
        "runtime/pprof.profileWriter",
    ] {
        assert!(
            tracer.iter().any(|e| e.contains(want)),
            "{want} in {tracer:?}"
        );
    }
    let text = v.to_string();
    let blocked = s["top_blocked_goroutines"].to_string();
    assert!(
        !blocked.contains("traceAdvancer")
            && !blocked.contains("runtime/trace.")
            && !blocked.contains("profileWriter"),
        "{blocked}"
    );
    assert!(text.contains("main.main.func1"));
    // A CPU-bound init with CPU profiling on: its samples name main.spin, in a task and a
    // region, with logs; mark assists and the heap goal after main.
    let cpu = &before["more"];
    assert!(i(&cpu["cpu_samples"]) >= 1, "{cpu}");
    assert!(
        name_counts(&cpu["cpu_top_user"], "name").contains_key("main.spin"),
        "{cpu}"
    );
    assert!(spans(&s["tasks"])["init-work"][1] == 1, "{}", s["tasks"]);
    let spin = spans(&s["regions"])["spin"];
    assert!(spin[1] == 1 && spin[3] >= 60_000_000, "{spin:?}");
    assert_eq!(name_counts(&s["logs"], "name")["phase"], 2);
    assert!(
        i(&after["more"]["mark_assist"]["count"]) >= 1,
        "{}",
        after["more"]
    );
    assert!(after["more"]["heap_goal_last"].as_u64().unwrap() > 1 << 20);
    assert!(i(&s["more"]["p_busy_ns"]) > 0 && s["more"]["gomaxprocs"].as_u64().unwrap() >= 1);
    // Thresholds name the goroutines: G1 had the > 1 ms syscall.
    let sys = s["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "syscall")
        .unwrap();
    assert!(
        sys["goroutines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == 1),
        "{sys}"
    );
    // The main goroutine's wall is its states' sum, and it spent ≥ 10 ms asleep in main.main.
    let m = &s["main_goroutine"];
    let sleep = m["longest"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["reason"] == "sleep" && i(&st["duration_ns"]) >= 10_000_000)
        .unwrap_or_else(|| panic!("{m}"));
    let uf = sleep["user_frame"].as_u64().unwrap() as usize;
    assert_eq!(sleep["frames"][uf]["func"], "main.main");
}

/// The table says what each total is, and where the user's code is.
#[test]
fn table_names_sections_and_user_frames() {
    let Some(t) = traces() else { return };
    let o = Command::cargo_bin("golat")
        .unwrap()
        .args(["trace", "--depth", "2"])
        .arg(&t.early)
        .output()
        .unwrap();
    assert!(o.status.success());
    let s = String::from_utf8(o.stdout).unwrap();
    for want in [
        "before main.main  [+0.0 µs … +",
        "first 1s after main.main",
        "runtime.GC (forced)",
        "heap goal (an allocation)",
        "syscall, P handed off",
        "main.init.0.func2 (earlystart/main.go:",
        "in sync.(*Mutex).Lock",
        "main goroutine (G1), its whole wall in the trace",
        "all program goroutines, summed: can exceed the wall",
        "goroutine-time of all goroutines",
        "(= go tool trace -pprof=sync, Go ≥ 1.26)",
        "not counted above (the tracer's, the CPU profiler's and golat's own goroutines):",
        "runtime tracer  runtime.(*traceAdvancerState).start.func1",
        "CPU samples     ",
        "main.spin",
        "user tasks    init-work ×1 (1 ended",
        "user logs     phase ×2",
        "  Ps              GOMAXPROCS ",
    ] {
        assert!(s.contains(want), "want {want:?} in:\n{s}");
    }
    // A trace without main.main (Go's GC stress vector) says how to split it instead.
    let vec =
        parse_vector(&goroot().join("src/internal/trace/testdata/tests/go122-gc-stress.test"));
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("gc-stress.trace");
    std::fs::write(&p, &vec.bytes).unwrap();
    let o = Command::cargo_bin("golat")
        .unwrap()
        .args(["trace"])
        .arg(&p)
        .output()
        .unwrap();
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(
        s.contains("--until DURATION splits at a time instead"),
        "{s}"
    );
    // --until with a time.
    let o = Command::cargo_bin("golat")
        .unwrap()
        .args(["trace", "--until", "1ms", "--window", "500us"])
        .arg(&t.gotest)
        .output()
        .unwrap();
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(s.contains("before +1ms  [+0.0 µs … +1.00 ms]"), "{s}");
    assert!(
        s.contains("first 500us after +1ms  [+1.00 ms … +1.50 ms]"),
        "{s}"
    );
}

#[test]
fn bad_flag_values_are_usage_errors_naming_the_flag() {
    for (flags, want) in [
        (&["--window", "10"][..], "needs a unit"),
        (&["--until", "soon"][..], "or `main`"),
        (&["--threshold", "cpu=1ms"][..], "unknown threshold"),
        (&["--depth", "0"][..], "at least 1"),
    ] {
        let o = Command::cargo_bin("golat")
            .unwrap()
            .args(["trace"])
            .args(flags)
            .arg("/nonexistent")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{flags:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(want) && e.contains(flags[0]), "{flags:?}: {e}");
    }
}

/// `--timeline`: Chrome trace events whose slices are the startup view's stretches up to the
/// window's end: G1's slices add up to its wall in the two sections, the Ps' to their time in
/// use, and there is one STW slice per pause the sections count.
#[test]
fn timeline_slices_add_up_to_the_sections() {
    let Some(t) = traces() else { return };
    for (p, flags) in [
        (&t.early, vec![]),
        (&t.early, vec!["--window", "5ms"]),
        (&t.startup, vec!["--until", "2ms", "--window", "3ms"]),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("tl.json");
        let mut args = flags.clone();
        let out_s = out.to_str().unwrap().to_string();
        args.extend(["--timeline", out_s.as_str()]);
        let v = golat(p, &args);
        let tl: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let ev = tl["traceEvents"].as_array().unwrap();
        assert_eq!(tl["dropped_slices"], 0);
        let slices = |pid: i64, tid: Option<i64>| -> (f64, usize) {
            let xs: Vec<&Value> = ev
                .iter()
                .filter(|e| e["ph"] == "X" && i(&e["pid"]) == pid)
                .filter(|e| tid.is_none_or(|t| i(&e["tid"]) == t))
                .collect();
            (
                xs.iter().map(|e| e["dur"].as_f64().unwrap()).sum(),
                xs.len(),
            )
        };
        let secs = v["startup"]["sections"].as_array().unwrap();
        let g1: i64 = secs
            .iter()
            .map(|s| {
                CLASSES
                    .iter()
                    .map(|c| i(&s["main_goroutine"][c]["ns"]))
                    .sum::<i64>()
            })
            .sum();
        let (g1_us, n) = slices(1, Some(1));
        assert!(n > 0, "{}: no G1 slices", p.display());
        assert!(
            (g1_us * 1e3 - g1 as f64).abs() < 1.0 + n as f64 * 1e-3,
            "G1 {g1_us} µs vs {g1} ns"
        );
        let busy: i64 = secs.iter().map(|s| i(&s["more"]["p_busy_ns"])).sum();
        let (p_us, n) = slices(2, None);
        assert!(
            (p_us * 1e3 - busy as f64).abs() < 1.0 + n as f64 * 1e-3,
            "Ps {p_us} µs vs {busy} ns"
        );
        let stw: i64 = secs.iter().map(|s| i(&s["stw_count"])).sum();
        assert_eq!(slices(3, Some(1)).1 as i64, stw, "STW slices");
        let names: Vec<&str> = ev
            .iter()
            .filter(|e| e["name"] == "thread_name")
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"G1 runtime.main"), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("P0")), "{names:?}");
    }
}
