//! Parses the action graph `go <cmd> -debug-actiongraph=FILE` writes: which build actions
//! the go command planned, for which package, in which work directory, and which of them
//! ran a command, so a run can say what was compiled and what came from the build cache.
//!
//! The file is cmd/go's `actionJSON` list (`cmd/go/internal/work/action.go`, Go 1.26):
//! `ID`, `Mode` (`build`, `build check cache` from Go 1.26, `link`, `link-install`, `vet`,
//! `run`, `test run`, `nop`, `built-in package`, ...), `Package`, `Deps`, `Objdir`,
//! `Failed`, `NeedBuild`, `ActionID`, `BuildID`, `Cmd` (the command lines it ran) and
//! `CmdReal`. cmd/go writes it before the build without timings and again when the build is
//! done; a go command that died in between leaves the first.
//!
//! `Cmd` is not a reliable "it compiled": checked with Go 1.26 on a fresh GOCACHE, the main
//! package's compile ran but its `build` action had no `Cmd`. What golat trusts is the
//! compile processes it traced, matched to an action by its work directory (`Objdir`, the
//! `-o $WORK/bNNN/_pkg_.a` of the compile); `Cmd` only adds actions golat did not trace.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Biggest action graph golat reads: a 764-package build writes about 2 MB.
pub const MAX_BYTES: u64 = 256 << 20;

/// One build action (mode `build`) of the graph, as stored in the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildAction {
    /// The import path as cmd/go describes it (`fmt`, `example.com/x [example.com/x.test]`
    /// for a package recompiled for a test).
    pub package: String,
    /// `$WORK/bNNN/`: where a compile of this action writes.
    pub objdir: String,
    /// The action ID (the hash of the action's inputs that keys the build cache); empty when
    /// the go command never computed it (a build that failed before).
    pub action_id: String,
    /// The command lines the action ran (compile, asm, cgo ...), as cmd/go recorded them.
    pub cmds: Vec<String>,
    /// The go command marked the action failed.
    pub failed: bool,
}

/// The build actions of one go command's graph, as stored in `report.go["action_graph"]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionGraph {
    /// The file it was read from.
    pub file: String,
    /// Actions in the graph, of every mode.
    pub actions: u64,
    /// The `build` actions, in the graph's order.
    pub builds: Vec<BuildAction>,
    /// The graph carries what ran: cmd/go rewrote it after the build (an action has a start
    /// time). False for a go command that stopped before its build finished.
    pub finished: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAction {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    package: String,
    #[serde(default)]
    objdir: String,
    #[serde(default, rename = "ActionID")]
    action_id: String,
    #[serde(default)]
    failed: bool,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    time_start: Option<String>,
}

/// Reads and parses an action graph file.
pub fn read(path: &Path) -> anyhow::Result<ActionGraph> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    if text.len() as u64 > MAX_BYTES {
        anyhow::bail!(
            "{}: larger than {} MB, not read",
            path.display(),
            MAX_BYTES >> 20
        );
    }
    let mut graph = parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    graph.file = path.display().to_string();
    Ok(graph)
}

/// Parses the text of an action graph.
pub fn parse(text: &str) -> Result<ActionGraph, String> {
    let raw: Vec<RawAction> =
        serde_json::from_str(text).map_err(|e| format!("not a -debug-actiongraph file: {e}"))?;
    let mut graph = ActionGraph {
        actions: raw.len() as u64,
        ..ActionGraph::default()
    };
    for a in raw {
        // Go's zero time.Time is what an action that never started carries.
        if a.time_start
            .as_deref()
            .is_some_and(|t| !t.starts_with("0001-"))
        {
            graph.finished = true;
        }
        if a.mode != "build" || a.package.is_empty() {
            continue;
        }
        graph.builds.push(BuildAction {
            package: a.package,
            objdir: a.objdir,
            action_id: a.action_id,
            cmds: a.cmd.unwrap_or_default(),
            failed: a.failed,
        });
    }
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_build_actions_and_tells_a_finished_graph() {
        let text = r#"[
          {"ID":0,"Mode":"link-install","Package":"m/x","Objdir":"/w/b001/","TimeStart":"2026-12-04T17:45:42.65Z","Cmd":null},
          {"ID":1,"Mode":"build","Package":"m/x","Objdir":"/w/b001/","NeedBuild":true,"ActionID":"9Nv","Cmd":null},
          {"ID":2,"Mode":"build","Package":"fmt","Objdir":"/w/b002/","ActionID":"Wr8","Cmd":["/go/pkg/tool/linux_amd64/compile -o /w/b002/_pkg_.a -p fmt"]},
          {"ID":3,"Mode":"build check cache","Package":"fmt","Objdir":"/w/b002/"},
          {"ID":4,"Mode":"built-in package","Package":"unsafe"},
          {"ID":5,"Mode":"nop","Package":""}
        ]"#;
        let g = parse(text).unwrap();
        assert_eq!(g.actions, 6);
        assert!(g.finished);
        assert_eq!(
            g.builds
                .iter()
                .map(|b| b.package.as_str())
                .collect::<Vec<_>>(),
            ["m/x", "fmt"]
        );
        assert_eq!(g.builds[1].cmds.len(), 1);
        assert_eq!(g.builds[0].action_id, "9Nv");
    }

    #[test]
    fn the_graph_written_before_the_build_is_not_finished() {
        let g = parse(r#"[{"ID":0,"Mode":"build","Package":"fmt","Objdir":"/w/b002/"}]"#).unwrap();
        assert!(!g.finished);
        let g = parse(
            r#"[{"ID":0,"Mode":"build","Package":"fmt","TimeStart":"0001-01-01T00:00:00Z"}]"#,
        )
        .unwrap();
        assert!(!g.finished);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in ["", "{", "[1,2]", "null", "[{\"Mode\":3}]", "\u{0}"] {
            assert!(parse(text).is_err(), "{text:?}");
        }
    }
}
