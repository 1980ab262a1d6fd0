//! Snapshot tests of every renderer, from reports saved by real runs (fixtures/reports,
//! pids renumbered by fixtures/reports/regenerate.sh). A change in analysis or layout
//! shows up here as a reviewable diff (`cargo insta review`).

use std::path::PathBuf;

use golat::render::{self, Style};
use golat::report_cmd;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/reports")
        .join(name)
}

fn style() -> Style {
    Style {
        top: 8,
        width: 120,
        color: false,
    }
}

#[test]
fn table_report_of_a_noop_build() {
    let r = report_cmd::load(&fixture("hello-noop.json")).unwrap();
    insta::assert_snapshot!(render::summary::render(&r, &style()));
}

#[test]
fn table_report_of_a_path_scan() {
    let r = report_cmd::load(&fixture("pathscan.json")).unwrap();
    insta::assert_snapshot!(render::summary::render(&r, &style()));
}

#[test]
fn table_report_of_a_stat_storm() {
    let r = report_cmd::load(&fixture("statstorm.json")).unwrap();
    insta::assert_snapshot!(render::summary::render(&r, &style()));
}

#[test]
fn narrow_terminal_keeps_every_line_within_width() {
    let r = report_cmd::load(&fixture("hello-noop.json")).unwrap();
    let narrow = Style {
        width: 80,
        ..style()
    };
    let text = render::summary::render(&r, &narrow);
    for line in text.lines().filter(|l| l.starts_with(['╭', '│', '├', '╰'])) {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn colour_only_when_asked() {
    let r = report_cmd::load(&fixture("pathscan.json")).unwrap();
    assert!(!render::summary::render(&r, &style()).contains('\x1b'));
    let coloured = render::summary::render(
        &r,
        &Style {
            color: true,
            ..style()
        },
    );
    assert!(coloured.contains("\x1b[1;33mverdict:"));
}

#[test]
fn top_limits_rows_per_table() {
    let r = report_cmd::load(&fixture("hello-noop.json")).unwrap();
    let two = render::summary::render(&r, &Style { top: 2, ..style() });
    // System calls table: header + 2 rows between its borders.
    let sys = two.split("System calls").nth(1).unwrap();
    let rows = sys
        .lines()
        .take_while(|l| !l.starts_with('╰'))
        .filter(|l| l.starts_with('│'))
        .count();
    assert_eq!(rows, 3, "{sys}");
}

#[test]
fn diff_of_tuned_against_plain_build() {
    let a = report_cmd::load(&fixture("hello-noop.json")).unwrap();
    let b = report_cmd::load(&fixture("hello-tuned.json")).unwrap();
    let d = render::diff::compare(&a, "hello-noop.json", &b, "hello-tuned.json");
    insta::assert_snapshot!(render::diff::render(&d, &style()));
}

#[test]
fn path_scan_hotspot_json() {
    let r = report_cmd::load(&fixture("pathscan.json")).unwrap();
    insta::assert_json_snapshot!(r.hotspots["path_scan"]["names"]);
    insta::assert_json_snapshot!(r.hotspots["verdict"]);
}

/// The timeline as one line per event (kind, category, name, pid, tid): its shape, not
/// its bytes.
#[test]
fn timeline_of_a_path_scan() {
    let r = report_cmd::load(&fixture("pathscan.json")).unwrap();
    let ctx = golat::analyze::Ctx::new(&r, false);
    let mut buf = Vec::new();
    render::timeline::write(&r, &ctx, &mut buf).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    let events = v["traceEvents"].as_array().unwrap();
    let mut lines: Vec<String> = Vec::new();
    let mut slices = 0;
    for e in events {
        let line = format!(
            "{} {} {} pid={} tid={}",
            e["ph"].as_str().unwrap(),
            e["cat"].as_str().unwrap_or("-"),
            e["name"].as_str().unwrap(),
            e["pid"],
            e["tid"]
        );
        if e["cat"] == "syscall,failed" {
            slices += 1;
            if slices > 3 {
                continue;
            }
        }
        lines.push(line);
    }
    lines.push(format!("... {slices} failed-call slices in all"));
    insta::assert_snapshot!(lines.join("\n"));
}
