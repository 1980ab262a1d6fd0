//! Decides whether and where to add `-debug-trace=<file>` to a go command line, never
//! changing what the user's command does.
//!
//! # Which subcommands, since when
//!
//! `-debug-trace` is one of the "undocumented, unstable debugging flags" that
//! `cmd/go/internal/work.AddBuildFlags` registers (checked in Go 1.26's
//! `$(go env GOROOT)/src/cmd/go/internal/work/build.go`). `AddBuildFlags` is called for
//! build, install, run, test, vet, list (and get, clean, generate, which golat leaves alone:
//! they are not about start-up). `main.go`'s `invoke` starts the trace for ordinary
//! subcommands; test and vet parse their own flags and start it themselves
//! (`internal/test/test.go`, `internal/vet/vet.go`).
//!
//! The flag came with `cmd/go/internal/trace` (2020, golang/go#38714), in the Go 1.16 cycle.
//! golat has only verified a Go 1.17 copy of `build.go` and Go 1.26's source, so it adds the
//! flag from Go 1.17 on: an older toolchain would fail with "flag provided but not defined",
//! and breaking the user's command is worse than missing the phases.
//!
//! # Where it goes
//!
//! Right after the subcommand, so it is parsed as a go flag whatever follows: `go run . -x`
//! passes `-x` to the program and `go test ./... -args -v` passes `-v` to the test binary,
//! and neither changes. The one exception is `-C dir`, which cmd/go accepts only right
//! before the subcommand or as the first flag after it (`handleChdirFlag`): golat inserts
//! after it.
//!
//! If the user already asked for a trace (`-debug-trace` among the go flags, or in
//! GOFLAGS), golat adds nothing and reads their file instead: replacing it would silently
//! stop their file being written.
//!
//! A later toolchain switch (`GOTOOLCHAIN`, Go 1.21+) re-executes the same arguments with
//! a toolchain of Go 1.21 or newer, which accepts the flag.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// The subcommands golat traces with `-debug-trace`.
pub const TRACED_SUBCOMMANDS: &[&str] = &["build", "install", "run", "test", "vet", "list"];

/// The first Go release golat passes `-debug-trace` to (see the module docs).
pub const MIN_VERSION: GoVersion = GoVersion {
    major: 1,
    minor: 17,
};

/// A Go release, major.minor (patch levels never changed the flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoVersion {
    pub major: u32,
    pub minor: u32,
}

impl GoVersion {
    /// Parses `go1.26.8`, `go1.21rc2`, `go1.22`, `devel go1.27-abcdef ...` and
    /// `go version go1.26.8 linux/amd64`.
    pub fn parse(s: &str) -> Option<GoVersion> {
        let start = s.find("go1.")?;
        let rest = &s[start + 2..];
        let (major, rest) = rest.split_once('.')?;
        let minor: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some(GoVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// The version of the toolchain a `go` executable belongs to, from the `VERSION` file
    /// of its GOROOT (`<goroot>/bin/go`), without running it.
    pub fn of_go_binary(program: &Path) -> Option<GoVersion> {
        let real = std::fs::canonicalize(program).ok()?;
        let goroot = real.parent()?.parent()?;
        let text = std::fs::read_to_string(goroot.join("VERSION")).ok()?;
        GoVersion::parse(text.lines().next()?)
    }
}

/// The skip reason when the go command's version is not known.
pub const UNKNOWN_VERSION: &str = "unknown Go version";

/// What golat should run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Run `argv` (the user's with one argument inserted at `inserted_at`); the go command
    /// writes its trace to `trace`.
    Rewrite {
        argv: Vec<OsString>,
        inserted_at: usize,
        trace: PathBuf,
    },
    /// The user asked for a trace themselves: run their argv unchanged and read this file.
    UserTrace { trace: PathBuf },
    /// Leave the command alone.
    Skip { reason: String },
}

/// The facts `plan` decides on.
#[derive(Debug, Clone, Copy)]
pub struct GoInvocation<'a> {
    pub argv: &'a [OsString],
    /// The toolchain's version ([`GoVersion::of_go_binary`]); `None` means unknown, and
    /// golat then adds nothing.
    pub version: Option<GoVersion>,
    /// GOFLAGS of the command's environment.
    pub goflags: Option<&'a OsStr>,
    /// The directory the command starts in (relative trace paths resolve against it).
    pub cwd: &'a Path,
}

/// Go flags of the traced subcommands that take a value as the next argument when written
/// without `=` (build flags, test's and vet's own); any other flag is boolean.
const VALUE_FLAGS: &[&str] = &[
    "C",
    "p",
    "asmflags",
    "buildmode",
    "buildvcs",
    "compiler",
    "gcflags",
    "gccgoflags",
    "installsuffix",
    "ldflags",
    "mod",
    "modfile",
    "overlay",
    "pgo",
    "pkgdir",
    "tags",
    "toolexec",
    "debug-actiongraph",
    "debug-runtime-trace",
    "debug-trace",
    "o",
    "exec",
    "covermode",
    "coverpkg",
    "coverprofile",
    "f",
    "run",
    "skip",
    "bench",
    "benchtime",
    "count",
    "cpu",
    "parallel",
    "timeout",
    "list",
    "shuffle",
    "fuzz",
    "fuzztime",
    "fuzzminimizetime",
    "blockprofile",
    "blockprofilerate",
    "cpuprofile",
    "memprofile",
    "memprofilerate",
    "mutexprofile",
    "mutexprofilefraction",
    "outputdir",
    "trace",
    "vettool",
    "vet",
    "c",
];

/// Whether the go flag `name` (without dashes or `=value`) of build, run, test or vet takes
/// the next argument as its value when written without `=`.
pub fn takes_value(name: &[u8]) -> bool {
    VALUE_FLAGS.iter().any(|v| v.as_bytes() == name)
}

/// The subcommands golat asks for `-debug-actiongraph`: those that run the build's action
/// graph (`go list` builds one only with `-export`, and its graph says nothing of a start).
pub const ACTIONGRAPH_SUBCOMMANDS: &[&str] = &["build", "install", "run", "test", "vet"];

/// Decides how to run `inv` so that the go command writes a `-debug-trace` file to
/// `trace` (which must not exist yet; golat owns it).
pub fn plan(inv: &GoInvocation<'_>, trace: &Path) -> Plan {
    plan_flag(inv, DebugFlag::Trace, trace)
}

/// Decides how to run `inv` so that the go command writes its action graph
/// (`-debug-actiongraph`, the same "undocumented, unstable debugging flags" family and the
/// same placement rules as `-debug-trace`) to `file`. cmd/go writes it once before the
/// build and again, with what each action ran, when the build is done
/// (`cmd/go/internal/work/exec.go`, `writeActionGraph`).
pub fn plan_actiongraph(inv: &GoInvocation<'_>, file: &Path) -> Plan {
    plan_flag(inv, DebugFlag::ActionGraph, file)
}

/// The go debugging flags golat adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DebugFlag {
    Trace,
    ActionGraph,
}

impl DebugFlag {
    fn name(self) -> &'static str {
        match self {
            DebugFlag::Trace => "debug-trace",
            DebugFlag::ActionGraph => "debug-actiongraph",
        }
    }

    fn subcommands(self) -> &'static [&'static str] {
        match self {
            DebugFlag::Trace => TRACED_SUBCOMMANDS,
            DebugFlag::ActionGraph => ACTIONGRAPH_SUBCOMMANDS,
        }
    }
}

fn plan_flag(inv: &GoInvocation<'_>, which: DebugFlag, trace: &Path) -> Plan {
    let flag_name = which.name();
    let skip = |reason: &str| Plan::Skip {
        reason: reason.to_string(),
    };
    let Some(program) = inv.argv.first() else {
        return skip("empty command");
    };
    let base = Path::new(program)
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    // golang.org/dl wrappers (`go1.22.3`) name their release; they exec that go.
    let version = if base == "go" {
        inv.version
    } else if base.starts_with("go1.") {
        GoVersion::parse(&base)
    } else {
        return skip("not the go command");
    };
    // cmd/go takes one -C, either before the subcommand (`go -C dir build`) or as the first
    // flag after it (`go build -C dir`), and requires it to stay there.
    let mut sub_at = 1;
    let mut chdir = match chdir_flag(inv.argv, 1) {
        Ok(Some((d, n))) => {
            sub_at += n;
            Some(d)
        }
        Ok(None) => None,
        Err(()) => return skip("-C without a directory"),
    };
    let Some(sub) = inv.argv.get(sub_at).and_then(|s| s.to_str()) else {
        return skip("no subcommand");
    };
    if !which.subcommands().contains(&sub) {
        return skip(&format!("`go {sub}` does not take -{flag_name}"));
    }
    let mut insert_at = sub_at + 1;
    if chdir.is_none() {
        match chdir_flag(inv.argv, insert_at) {
            Ok(Some((d, n))) => {
                insert_at += n;
                chdir = Some(d);
            }
            Ok(None) => {}
            Err(()) => return skip("-C without a directory"),
        }
    }
    let dir = match chdir {
        Some(d) => inv.cwd.join(Path::new(d)),
        None => inv.cwd.to_path_buf(),
    };

    let user = user_flag(sub, flag_name, &inv.argv[insert_at..]).or_else(|| {
        inv.goflags
            .and_then(|g| goflags_value(g.as_bytes(), flag_name))
    });
    if let Some(path) = user {
        return Plan::UserTrace {
            trace: dir.join(path),
        };
    }
    // -debug-actiongraph is older (Go 1.10) than -debug-trace; golat keeps one floor.
    match version {
        None => return skip(UNKNOWN_VERSION),
        Some(v) if v < MIN_VERSION => {
            return skip(&format!(
                "go1.{} predates -debug-trace (golat needs go1.{} or newer)",
                v.minor, MIN_VERSION.minor
            ));
        }
        Some(_) => {}
    }

    let mut flag = format!("-{flag_name}=").into_bytes();
    flag.extend_from_slice(trace.as_os_str().as_bytes());
    let mut argv = inv.argv.to_vec();
    argv.insert(insert_at, OsString::from_vec(flag));
    Plan::Rewrite {
        argv,
        inserted_at: insert_at,
        trace: trace.to_path_buf(),
    }
}

/// The go subcommand of `argv` (`go [-C dir] SUB ...`, or a `go1.N.M` wrapper); `None` for a
/// command that is not go or has no subcommand.
pub fn subcommand(argv: &[OsString]) -> Option<&str> {
    argv.get(subcommand_index(argv)?)?.to_str()
}

/// `go tool ...` (after a `-C dir`): the go command runs a toolchain tool.
pub fn runs_go_tool(argv: &[String]) -> bool {
    let argv: Vec<OsString> = argv.iter().map(Into::into).collect();
    subcommand(&argv) == Some("tool")
}

/// Where the go subcommand sits in `argv` (after `go` and a `-C dir`), as `subcommand`.
pub fn subcommand_index(argv: &[OsString]) -> Option<usize> {
    let base = Path::new(argv.first()?).file_name()?.to_str()?;
    if base != "go" && !base.starts_with("go1.") {
        return None;
    }
    let at = match chdir_flag(argv, 1) {
        Ok(Some((_, n))) => 1 + n,
        Ok(None) => 1,
        Err(()) => return None,
    };
    (at < argv.len()).then_some(at)
}

/// `-C dir` / `-C=dir` (or `--C`) at `argv[i]`: the directory and how many arguments it
/// takes; `Err` when the directory is missing.
fn chdir_flag(argv: &[OsString], i: usize) -> Result<Option<(&OsStr, usize)>, ()> {
    let Some(arg) = argv.get(i).map(|a| a.as_bytes()) else {
        return Ok(None);
    };
    if arg == b"-C" || arg == b"--C" {
        return argv.get(i + 1).map(|d| Some((d.as_os_str(), 2))).ok_or(());
    }
    Ok(arg
        .strip_prefix(b"-C=")
        .or_else(|| arg.strip_prefix(b"--C="))
        .map(|d| (OsStr::from_bytes(d), 1)))
}

/// The value of a `-<wanted>` flag the user gave among the go flags of `args` (the
/// arguments after the subcommand and `-C`). Go flags end at the first non-flag argument or
/// `--`, except for `go test`, whose flags may follow the packages up to `-args`.
fn user_flag(sub: &str, wanted: &str, args: &[OsString]) -> Option<OsString> {
    let mut found = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_bytes();
        if arg == b"--" || (sub == "test" && (arg == b"-args" || arg == b"--args")) {
            break;
        }
        let Some(flag) = arg
            .strip_prefix(b"--")
            .or_else(|| arg.strip_prefix(b"-"))
            .filter(|f| !f.is_empty())
        else {
            if sub == "test" {
                i += 1;
                continue;
            }
            break;
        };
        let (name, value) = match flag.iter().position(|&b| b == b'=') {
            Some(eq) => (&flag[..eq], Some(&flag[eq + 1..])),
            None => (flag, None),
        };
        let takes_value = takes_value(name);
        let value = match value {
            Some(v) => Some(v.to_vec()),
            None if takes_value => {
                i += 1;
                args.get(i).map(|a| a.as_bytes().to_vec())
            }
            None => None,
        };
        if name == wanted.as_bytes() {
            // The last one wins, as in Go's flag package.
            found = value.map(OsString::from_vec);
        }
        i += 1;
    }
    found.filter(|f| !f.is_empty())
}

/// `-<wanted>=FILE` from GOFLAGS (space-separated `-flag=value` words).
fn goflags_value(goflags: &[u8], wanted: &str) -> Option<OsString> {
    goflags
        .split(|b| b.is_ascii_whitespace())
        .filter_map(|w| {
            w.strip_prefix(b"--")
                .or_else(|| w.strip_prefix(b"-"))?
                .strip_prefix(wanted.as_bytes())?
                .strip_prefix(b"=")
        })
        .next_back()
        .filter(|v| !v.is_empty())
        .map(|v| OsString::from_vec(v.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V126: Option<GoVersion> = Some(GoVersion {
        major: 1,
        minor: 26,
    });

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn run(args: &[&str], version: Option<GoVersion>, goflags: Option<&str>) -> Plan {
        let argv = os(args);
        let goflags = goflags.map(OsStr::new);
        plan(
            &GoInvocation {
                argv: &argv,
                version,
                goflags,
                cwd: Path::new("/work/p"),
            },
            Path::new("/tmp/g/trace.json"),
        )
    }

    fn rewritten(args: &[&str]) -> Vec<String> {
        match run(args, V126, None) {
            Plan::Rewrite { argv, .. } => {
                argv.into_iter().map(|a| a.into_string().unwrap()).collect()
            }
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn the_action_graph_follows_the_same_rules_for_its_own_subcommands() {
        let graph = |args: &[&str], goflags: Option<&str>| {
            let argv = os(args);
            plan_actiongraph(
                &GoInvocation {
                    argv: &argv,
                    version: V126,
                    goflags: goflags.map(OsStr::new),
                    cwd: Path::new("/work/p"),
                },
                Path::new("/tmp/g/graph.json"),
            )
        };
        match graph(&["go", "test", "-C", "sub", "./...", "-run", "X"], None) {
            Plan::Rewrite { argv, .. } => assert_eq!(
                argv,
                os(&[
                    "go",
                    "test",
                    "-C",
                    "sub",
                    "-debug-actiongraph=/tmp/g/graph.json",
                    "./...",
                    "-run",
                    "X"
                ])
            ),
            other => panic!("{other:?}"),
        }
        // go list builds no graph worth reading; the user's own file is read, not replaced.
        assert!(matches!(
            graph(&["go", "list", "./..."], None),
            Plan::Skip { .. }
        ));
        assert_eq!(
            graph(
                &["go", "build", "-debug-actiongraph", "mine.json", "."],
                None
            ),
            Plan::UserTrace {
                trace: PathBuf::from("/work/p/mine.json")
            }
        );
        assert_eq!(
            graph(
                &["go", "build", "."],
                Some("-debug-actiongraph=/a/g.json -x")
            ),
            Plan::UserTrace {
                trace: PathBuf::from("/a/g.json")
            }
        );
        // -debug-trace in GOFLAGS is not the graph's flag.
        assert!(matches!(
            graph(&["go", "build", "."], Some("-debug-trace=/a/t.json")),
            Plan::Rewrite { .. }
        ));
    }

    #[test]
    fn inserts_right_after_the_subcommand() {
        assert_eq!(
            rewritten(&["go", "build", "./..."]),
            ["go", "build", "-debug-trace=/tmp/g/trace.json", "./..."]
        );
        assert_eq!(
            rewritten(&["/usr/local/go/bin/go", "list", "-m", "all"]),
            [
                "/usr/local/go/bin/go",
                "list",
                "-debug-trace=/tmp/g/trace.json",
                "-m",
                "all"
            ]
        );
    }

    #[test]
    fn program_and_test_binary_arguments_are_untouched() {
        // `-debug-trace` after the package is the program's own argument, not a go flag.
        let got = rewritten(&["go", "run", ".", "-debug-trace", "-x"]);
        assert_eq!(&got[2], "-debug-trace=/tmp/g/trace.json");
        assert_eq!(&got[3..], [".", "-debug-trace", "-x"]);
        let got = rewritten(&["go", "test", "./...", "-args", "-debug-trace=mine.json"]);
        assert_eq!(&got[3..], ["./...", "-args", "-debug-trace=mine.json"]);
    }

    #[test]
    fn chdir_flag_stays_first() {
        assert_eq!(
            rewritten(&["go", "build", "-C", "sub", "-o", "x", "."]),
            [
                "go",
                "build",
                "-C",
                "sub",
                "-debug-trace=/tmp/g/trace.json",
                "-o",
                "x",
                "."
            ]
        );
        assert_eq!(
            rewritten(&["go", "test", "--C=sub", "."])[3],
            "-debug-trace=/tmp/g/trace.json"
        );
        // Before the subcommand, as `go -C dir run .`.
        assert_eq!(
            rewritten(&["go", "-C", "sub", "run", ".", "-x"]),
            [
                "go",
                "-C",
                "sub",
                "run",
                "-debug-trace=/tmp/g/trace.json",
                ".",
                "-x"
            ]
        );
        assert_eq!(
            rewritten(&["go", "-C=sub", "vet"])[3],
            "-debug-trace=/tmp/g/trace.json"
        );
    }

    #[test]
    fn users_own_trace_is_read_not_replaced() {
        for (args, want) in [
            (
                &["go", "build", "-debug-trace=t.json", "."][..],
                "/work/p/t.json",
            ),
            (
                &[
                    "go",
                    "build",
                    "-o",
                    "bin",
                    "--debug-trace",
                    "/abs/t.json",
                    ".",
                ][..],
                "/abs/t.json",
            ),
            (
                &["go", "build", "-C", "sub", "-debug-trace=t.json"][..],
                "/work/p/sub/t.json",
            ),
            (
                &["go", "-C", "/abs", "build", "-debug-trace=t.json"][..],
                "/abs/t.json",
            ),
            // go test flags may follow the packages.
            (
                &["go", "test", "./...", "-run", "X", "-debug-trace=t.json"][..],
                "/work/p/t.json",
            ),
        ] {
            assert_eq!(
                run(args, V126, None),
                Plan::UserTrace {
                    trace: PathBuf::from(want)
                },
                "{args:?}"
            );
        }
        assert_eq!(
            run(
                &["go", "build", "."],
                V126,
                Some("-mod=mod -debug-trace=/x/g.json")
            ),
            Plan::UserTrace {
                trace: PathBuf::from("/x/g.json")
            }
        );
        // A value-taking flag's value is not mistaken for the flag.
        assert!(matches!(
            run(&["go", "build", "-o", "-debug-trace=x", "."], V126, None),
            Plan::Rewrite { .. }
        ));
    }

    #[test]
    fn skips_what_it_cannot_do_safely() {
        for (args, version, why) in [
            (&["go", "version"][..], V126, "does not take"),
            (&["go", "mod", "tidy"][..], V126, "does not take"),
            (&["go", "tool", "compile"][..], V126, "does not take"),
            (&["go"][..], V126, "no subcommand"),
            (&["gofmt", "-l", "."][..], V126, "not the go command"),
            (&["make", "build"][..], V126, "not the go command"),
            (&["go", "build", "."][..], None, "unknown Go version"),
            (
                &["go", "build", "."][..],
                Some(GoVersion {
                    major: 1,
                    minor: 15,
                }),
                "predates",
            ),
            (&["go", "build", "-C"][..], V126, "-C without"),
            (&["go", "-C"][..], V126, "-C without"),
            (&["go", "-C", "dir"][..], V126, "no subcommand"),
            (&["go", "-C", "dir", "version"][..], V126, "does not take"),
        ] {
            match run(args, version, None) {
                Plan::Skip { reason } => assert!(reason.contains(why), "{args:?}: {reason}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn dl_wrappers_carry_their_version() {
        assert!(matches!(
            run(&["go1.22.3", "build", "."], None, None),
            Plan::Rewrite { .. }
        ));
        assert!(matches!(
            run(&["go1.14", "build", "."], None, None),
            Plan::Skip { .. }
        ));
    }

    #[test]
    fn version_strings() {
        let v = |s| GoVersion::parse(s);
        assert_eq!(
            v("go1.26.8"),
            Some(GoVersion {
                major: 1,
                minor: 26
            })
        );
        assert_eq!(v("go1.21rc2").map(|v| v.minor), Some(21));
        assert_eq!(v("devel go1.27-4b3c2a1 Tue").map(|v| v.minor), Some(27));
        assert_eq!(
            v("go version go1.22.1 linux/amd64").map(|v| v.minor),
            Some(22)
        );
        assert_eq!(v("gccgo"), None);
        assert_eq!(v("go1."), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_keeps_the_users_arguments(
            args in proptest::collection::vec("[-a-zA-Z=./]{0,12}", 0..8),
            sub in "(build|run|test|vet|list|install|mod|x)",
        ) {
            let mut all = vec!["go".to_string(), sub];
            all.extend(args);
            let argv: Vec<OsString> = all.iter().map(OsString::from).collect();
            let p = plan(
                &GoInvocation { argv: &argv, version: V126, goflags: None, cwd: Path::new("/") },
                Path::new("/t.json"),
            );
            if let Plan::Rewrite { argv: new, inserted_at, .. } = p {
                let mut back = new.clone();
                back.remove(inserted_at);
                proptest::prop_assert_eq!(back, argv);
            }
        }
    }
}
