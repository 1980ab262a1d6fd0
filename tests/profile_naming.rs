//! Rows that name what they are about, on real traced runs: a connect by host (the
//! recording machine's /etc/hosts name), port and duration, in the table, the JSON, the
//! timeline and a re-rendered saved report; the machine's C compiler as one tool, `cc`,
//! with its own name kept.

mod common;

use std::process::Command;

use common::*;

/// The first name /etc/hosts gives 127.0.0.1 (as the resolver answers a reverse lookup),
/// read here independently of golat's parser.
fn etc_hosts_name_of_loopback() -> Option<String> {
    let text = std::fs::read_to_string("/etc/hosts").ok()?;
    text.lines().find_map(|line| {
        let mut f = line.split('#').next()?.split_whitespace();
        (f.next()? == "127.0.0.1").then(|| f.next().map(str::to_string))?
    })
}

/// `golat report ARGS JSON` at the width a live run without COLUMNS has, or at `columns`.
fn golat_report_at(columns: Option<&str>, args: &[&str], json: &std::path::Path) -> String {
    let mut cmd = Command::new(golat());
    cmd.arg("report").args(args).arg(json);
    match columns {
        Some(c) => cmd.env("COLUMNS", c),
        None => cmd.env_remove("COLUMNS"),
    };
    let out = output_timeout(&mut cmd, 60);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn golat_report(args: &[&str], json: &std::path::Path) -> String {
    golat_report_at(None, args, json)
}

/// The connect slices of a timeline file.
fn connect_slices(path: &std::path::Path) -> Vec<serde_json::Value> {
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    t["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "connect" && e["ph"] == "X")
        .cloned()
        .collect()
}

#[test]
fn a_connect_is_named_by_host_port_and_duration_live_and_saved() {
    let Some(dial) = go_fixture("dial") else {
        return;
    };
    // This machine's /etc/hosts decides the name; the tests' machines name 127.0.0.1
    // `localhost`, and the check says so when one does not.
    let name = etc_hosts_name_of_loopback();
    assert_eq!(
        name.as_deref(),
        Some("localhost"),
        "/etc/hosts does not name 127.0.0.1 localhost first"
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let (text, json, timeline) = (
        dir.path().join("live.txt"),
        dir.path().join("r.json"),
        dir.path().join("t.json"),
    );
    let out = output_timeout(
        Command::new(golat())
            .arg("profile")
            .arg("-o")
            .arg(&text)
            .arg("--json")
            .arg(&json)
            .arg("--timeline")
            .arg(&timeline)
            .arg("--")
            .arg(&dial)
            .arg(&addr)
            .env_remove("COLUMNS"),
        60,
    );
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        report["hosts"]["127.0.0.1"], "localhost",
        "{}",
        report["hosts"]
    );
    let network = report["hotspots"]["exec"]["network"].as_array().unwrap();
    assert_eq!(network.len(), 1, "{network:?}");
    let n = &network[0];
    assert_eq!(n["addr"], addr.as_str());
    assert_eq!(n["host"], "localhost");
    assert_eq!(n["host_source"], "etc_hosts");
    assert_eq!(n["port"], port);
    assert!(n["sys_us"].as_f64().is_some_and(|us| us >= 0.0), "{n}");
    assert!(n["traced_us"].as_f64().is_some_and(|us| us > 0.0), "{n}");

    let live = std::fs::read_to_string(&text).unwrap();
    assert!(live.contains("Network connects (sys ms"), "{live}");
    let row = live
        .lines()
        .find(|l| l.contains("localhost (127.0.0.1)"))
        .unwrap_or_else(|| panic!("no connect row naming localhost in:\n{live}"));
    assert!(row.contains(&format!("│ {port} │")), "{row}");

    for slices in [connect_slices(&timeline), {
        let again = dir.path().join("t2.json");
        golat_report(&["--timeline", again.to_str().unwrap()], &json);
        connect_slices(&again)
    }] {
        assert_eq!(slices.len(), 1, "{slices:?}");
        let args = &slices[0]["args"];
        assert_eq!(args["host"], "localhost", "{args}");
        assert_eq!(args["port"], port, "{args}");
        assert!(args["sys_us"].as_f64().is_some(), "{args}");
        assert!(args["sys_ms"].as_f64().is_some(), "{args}");
    }

    // The saved report renders what the live run printed: the name is the report's.
    assert_eq!(golat_report(&[], &json), live);
    // And only the report's: with another name recorded, that name shows; with none, the IP.
    let mut edited = report.clone();
    edited["hosts"]["127.0.0.1"] = "recorded-elsewhere".into();
    let renamed = dir.path().join("renamed.json");
    std::fs::write(&renamed, edited.to_string()).unwrap();
    let text = golat_report(&[], &renamed);
    assert!(text.contains("recorded-elsewhere (127.0.0.1)"), "{text}");
    edited.as_object_mut().unwrap().remove("hosts");
    std::fs::write(&renamed, edited.to_string()).unwrap();
    let text = golat_report(&[], &renamed);
    assert!(
        !text.contains("localhost") && text.contains("│ 127.0.0.1 "),
        "{text}"
    );
}

#[test]
fn the_c_compiler_is_one_tool_cc_with_its_own_name_kept() {
    let Some(_) = require("cc") else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("x.c");
    std::fs::write(&src, "int f(void) { return 1; }\n").unwrap();
    let obj = dir.path().join("x.o");
    let (out, report) = profile(
        &[
            "cc",
            "-c",
            src.to_str().unwrap(),
            "-o",
            obj.to_str().unwrap(),
        ],
        120,
    );
    assert!(out.status.success(), "{out:?}");
    // The driver under the name its executable has (cc is usually a link to gcc-12,
    // x86_64-linux-gnu-gcc-12 or clang-17): processes keep it.
    let driver = report["processes"][0]["tool"].as_str().unwrap().to_string();
    let tools = report["hotspots"]["exec"]["tools"].as_array().unwrap();
    let cc = tools
        .iter()
        .find(|t| t["tool"] == "cc")
        .unwrap_or_else(|| panic!("no cc row: {tools:?}"));
    assert_eq!(cc["count"], 1, "{cc}");
    assert!(
        !tools.iter().any(|t| t["tool"] == driver.as_str()) || driver == "cc",
        "{driver} listed apart from cc: {tools:?}"
    );
    let root = &report["hotspots"]["exec"]["critical_path"][0];
    assert_eq!(root["tool"], "cc", "{root}");
    if driver != "cc" {
        assert_eq!(cc["real_tools"], serde_json::json!([driver]), "{cc}");
        assert_eq!(root["real_tool"], driver.as_str(), "{root}");
    }
    // The verdict names whichever process held the path most (often cc1), by its group.
    let verdict = report["hotspots"]["verdict"]["line"].as_str().unwrap();
    assert!(driver == "cc" || !verdict.contains(&driver), "{verdict}");

    // The table: the cc row, and the critical path's args cell led by the real name.
    let json = dir.path().join("r.json");
    std::fs::write(&json, report.to_string()).unwrap();
    // Wide enough that no args cell is cut.
    let text = golat_report_at(Some("400"), &["--top", "20"], &json);
    assert!(text.contains("│ cc "), "{text}");
    if driver != "cc" {
        assert!(text.contains(&format!("cc groups {driver}")), "{text}");
        let row = text
            .lines()
            .find(|l| l.starts_with("│ cc ") && l.contains(&format!("{driver} -c")))
            .unwrap_or_else(|| panic!("no critical-path row `cc … {driver} -c`:\n{text}"));
        assert!(row.contains("x.c"), "{row}");
    }
}
