//! `golat profile --runtime-trace`: a runtime trace of the program `go run` builds, taken
//! without editing its code, summarized into the profile.

mod common;

use std::process::Command;

use common::*;

#[test]
fn go_run_program_start_is_traced_and_summarized() {
    let Some(_) = require("go") else { return };
    let json = tempfile::NamedTempFile::new().unwrap();
    let out = output_timeout(
        Command::new(golat())
            .args(["profile", "-q", "--runtime-trace", "--json"])
            .arg(json.path())
            .args(["go", "run", "./fixtures/rtrace"])
            .current_dir(repo()),
        180,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout, b"rtrace done 4\n",
        "the program's output is its own"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json.path()).unwrap()).unwrap();
    let rt = &report["go"]["runtime_trace"];
    assert!(rt.is_object(), "no runtime trace: {}", report["warnings"]);
    let summary = &rt["summary"];
    assert!(summary["events"].as_u64().unwrap() > 100, "{summary}");
    assert!(
        summary["gc"]["cycles"].as_u64().unwrap() >= 1,
        "the fixture forces a GC"
    );
    assert!(
        rt["notes"].to_string().contains("2 MiB"),
        "the observer effect is stated"
    );
    // The -overlay the trace needed is golat's business: the command line in the report is
    // the user's.
    assert_eq!(
        report["command"],
        serde_json::json!(["go", "run", "./fixtures/rtrace"])
    );
}
