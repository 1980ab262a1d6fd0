//! Go's configuration rules re-implemented without running `go`: the go/env and `$GOROOT/go.env`
//! files, effective settings (env > user file > go.env > default), GOROOT discovery, GOFLAGS
//! splitting (cmd/internal/quoted), go.mod/go.work `go` and `toolchain` lines, GOTOOLCHAIN and
//! Go version comparison (internal/gover).
//!
//! Everything here mirrors a named function of Go 1.26's cmd/go so the doctor predicts what the
//! go command will do; file system access is limited to GOROOT discovery and reading files whose
//! path the caller chose.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where an effective setting came from (the order is cmd/go/internal/cfg.Getenv's precedence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The process environment.
    Env,
    /// The user's go/env file (`$GOENV` or `<config dir>/go/env`).
    UserFile,
    /// `$GOROOT/go.env`.
    GorootFile,
    /// cmd/go's built-in default.
    Default,
}

impl Source {
    pub fn describe(self) -> &'static str {
        match self {
            Source::Env => "environment",
            Source::UserFile => "go/env file",
            Source::GorootFile => "$GOROOT/go.env",
            Source::Default => "default",
        }
    }
}

/// One parsed go/env or go.env file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvFile {
    /// Effective KEY=VALUE pairs (a later line for the same key wins, as in readEnvFile).
    pub values: BTreeMap<String, String>,
    /// Keys that appear more than once.
    pub duplicates: Vec<String>,
    /// 1-based numbers of non-empty lines the go command silently ignores (no `=`, or not A–Z first).
    pub ignored_lines: Vec<usize>,
    /// Values ending in `\r`: the go command keeps the carriage return as part of the value.
    pub carriage_returns: Vec<String>,
}

/// Parses a go/env file exactly as cmd/go/internal/cfg.readEnvFile does: lines split on `\n`,
/// a line counts only if it starts with `A`–`Z` and contains `=`; no trimming, no quoting.
pub fn parse_env_file(data: &[u8]) -> EnvFile {
    let mut out = EnvFile::default();
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        let Some(eq) = line.iter().position(|&b| b == b'=') else {
            if !line.iter().all(|b| b.is_ascii_whitespace()) && !line.starts_with(b"#") {
                out.ignored_lines.push(n + 1);
            }
            continue;
        };
        if !line[0].is_ascii_uppercase() {
            if !line.starts_with(b"#") {
                out.ignored_lines.push(n + 1);
            }
            continue;
        }
        let key = String::from_utf8_lossy(&line[..eq]).into_owned();
        let value = String::from_utf8_lossy(&line[eq + 1..]).into_owned();
        if value.ends_with('\r') && !out.carriage_returns.contains(&key) {
            out.carriage_returns.push(key.clone());
        }
        if out.values.insert(key.clone(), value).is_some() && !out.duplicates.contains(&key) {
            out.duplicates.push(key);
        }
    }
    out
}

/// `cfg.EnvFile`: the user's go/env file, and whether `$GOENV` chose it.
/// `Err` carries the reason there is none (`GOENV=off`, no config dir).
pub fn user_env_file(env: &BTreeMap<String, String>) -> Result<(PathBuf, bool), String> {
    if let Some(file) = nonempty(env, "GOENV") {
        if file == "off" {
            return Err("GOENV=off".into());
        }
        return Ok((PathBuf::from(file), true));
    }
    user_config_dir(env).map(|d| (d.join("go/env"), false))
}

/// `os.UserConfigDir` on Unix.
pub fn user_config_dir(env: &BTreeMap<String, String>) -> Result<PathBuf, String> {
    xdg_dir(env, "XDG_CONFIG_HOME", ".config")
}

/// `os.UserCacheDir` on Unix.
pub fn user_cache_dir(env: &BTreeMap<String, String>) -> Result<PathBuf, String> {
    xdg_dir(env, "XDG_CACHE_HOME", ".cache")
}

fn xdg_dir(env: &BTreeMap<String, String>, var: &str, home_rel: &str) -> Result<PathBuf, String> {
    match nonempty(env, var) {
        Some(d) if d.starts_with('/') => Ok(PathBuf::from(d)),
        Some(_) => Err(format!("path in ${var} is relative")),
        None => match nonempty(env, "HOME") {
            Some(h) => Ok(Path::new(h).join(home_rel)),
            None => Err(format!("neither ${var} nor $HOME are defined")),
        },
    }
}

fn nonempty<'a>(env: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    env.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

/// How GOROOT was found (cmd/go/internal/cfg.findGOROOT).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GorootHow {
    /// `$GOROOT` in the environment.
    Env,
    /// A legacy `GOROOT=` line in the user's go/env file.
    UserFile,
    /// `<exe>/../..` (or `<exe>/../../..`) of the resolved executable contains `pkg/tool`.
    Executable,
    /// The path compiled into a binary built without `-trimpath` (only `go env` can tell it).
    BuiltIn,
    /// Nothing: a trimmed binary outside a GOROOT with no GOROOT set.
    NotFound,
}

/// `findGOROOT` for a go binary at `exe` (as found on PATH; symlinks are resolved like
/// /proc/self/exe does). `explicit` is the env or go/env-file value, already chosen by the caller.
pub fn find_goroot(
    explicit: Option<(&str, GorootHow)>,
    exe: Option<&Path>,
) -> (Option<PathBuf>, GorootHow) {
    if let Some((value, how)) = explicit {
        return (Some(clean(Path::new(value))), how);
    }
    // /proc/self/exe names the file itself: every symlink on the way is already resolved,
    // while a hard link or a copy keeps its own name (which is why copies lose their GOROOT).
    if let Some(real) = exe.and_then(|e| std::fs::canonicalize(e).ok()) {
        for up in [2usize, 3] {
            let mut dir = real.clone();
            for _ in 0..up {
                dir.pop();
            }
            if is_goroot(&dir) {
                return (Some(dir), GorootHow::Executable);
            }
        }
    }
    (None, GorootHow::NotFound)
}

/// `filepath.SplitList` on Unix, over bytes as Go and the kernel take PATH: an empty list
/// has no entries (not one empty entry); entries need not be UTF-8.
pub fn split_path_list(list: &std::ffi::OsStr) -> Vec<&std::ffi::OsStr> {
    use std::os::unix::ffi::OsStrExt;
    if list.is_empty() {
        return Vec::new();
    }
    list.as_bytes()
        .split(|&b| b == b':')
        .map(std::ffi::OsStr::from_bytes)
        .collect()
}

/// `isGOROOT`: the directory has `pkg/tool`.
pub fn is_goroot(dir: &Path) -> bool {
    dir.join("pkg/tool").is_dir()
}

/// Lexical `filepath.Clean` for absolute and relative Unix paths.
pub fn clean(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    if s.is_empty() {
        return PathBuf::from(".");
    }
    let rooted = s.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in s.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => PathBuf::from(format!("/{joined}")),
        (false, true) => PathBuf::from("."),
        (false, false) => PathBuf::from(joined),
    }
}

/// The effective Go settings: what `cfg.Getenv` and friends would return.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The process environment (only what we were given).
    pub env: BTreeMap<String, String>,
    pub user_file_path: Option<PathBuf>,
    /// Why there is no user file path (`GOENV=off`, no HOME), if so.
    pub user_file_error: Option<String>,
    pub user_file: EnvFile,
    /// Reading the user file failed for a reason other than "does not exist".
    pub user_file_read_error: Option<String>,
    pub goroot_file: EnvFile,
    pub goroot: Option<PathBuf>,
    pub goroot_how: Option<GorootHow>,
}

impl Settings {
    /// `cfg.Getenv`: a non-empty environment value, else the user file, else `$GOROOT/go.env`.
    pub fn get(&self, key: &str) -> Option<(&str, Source)> {
        if let Some(v) = nonempty(&self.env, key) {
            return Some((v, Source::Env));
        }
        if let Some(v) = self.user_file.values.get(key) {
            return Some((v, Source::UserFile));
        }
        self.goroot_file
            .values
            .get(key)
            .map(|v| (v.as_str(), Source::GorootFile))
    }

    /// The value or "" (Go's convention for unset).
    pub fn val(&self, key: &str) -> &str {
        self.get(key).map_or("", |(v, _)| v)
    }

    /// `EnvOrAndChanged`-style: the setting or the given default.
    pub fn or_default(&self, key: &str, default: &str) -> (String, Source) {
        match self.get(key) {
            Some((v, s)) => (v.to_string(), s),
            None => (default.to_string(), Source::Default),
        }
    }

    /// Effective GOPATH and its source (go/build.defaultGOPATH + cfg). Empty when `$HOME/go`
    /// would equal GOROOT (cmd/go then refuses to use it).
    pub fn gopath(&self) -> (String, Source) {
        let default = nonempty(&self.env, "HOME")
            .map(|h| {
                let def = clean(&Path::new(h).join("go"));
                // runtime.GOROOT() of a trimmed binary is $GOROOT from the environment.
                let rt = nonempty(&self.env, "GOROOT").map(|g| clean(Path::new(g)));
                if rt.as_deref() == Some(def.as_path()) {
                    String::new()
                } else {
                    def.to_string_lossy().into_owned()
                }
            })
            .unwrap_or_default();
        self.or_default("GOPATH", &default)
    }

    /// First GOPATH element joined with `rel` (`gopathDir`), or None.
    pub fn gopath_dir(&self, rel: &str) -> Option<PathBuf> {
        let (gp, _) = self.gopath();
        let first = gp.split(':').next().unwrap_or("");
        (!first.is_empty()).then(|| Path::new(first).join(rel))
    }

    /// GOCACHE as cache.DefaultDir resolves it: Ok(dir) or Err(the go command's message).
    pub fn gocache(&self) -> (Result<PathBuf, String>, Source) {
        match self.get("GOCACHE") {
            Some(("off", s)) => (
                Err("build cache is disabled by GOCACHE=off, but required as of Go 1.12".into()),
                s,
            ),
            Some((v, s)) if !v.starts_with('/') => (
                Err("build cache is required, but could not be located: GOCACHE is not an absolute path".into()),
                s,
            ),
            Some((v, s)) => (Ok(PathBuf::from(v)), s),
            None => match user_cache_dir(&self.env) {
                Ok(d) => (Ok(d.join("go-build")), Source::Default),
                Err(e) => (
                    Err(format!("build cache is required, but could not be located: GOCACHE is not defined and {e}")),
                    Source::Default,
                ),
            },
        }
    }

    /// GOMODCACHE (default GOPATH[0]/pkg/mod).
    pub fn gomodcache(&self) -> (String, Source) {
        let def = self
            .gopath_dir("pkg/mod")
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.or_default("GOMODCACHE", &def)
    }
}

/// Upstream `$GOROOT/go.env` (Go 1.21+): a distribution that edits it changes defaults silently.
pub const UPSTREAM_GO_ENV: &[(&str, &str)] = &[
    ("GOPROXY", "https://proxy.golang.org,direct"),
    ("GOSUMDB", "sum.golang.org"),
    ("GOTOOLCHAIN", "auto"),
];

/// `internal/cfg.KnownEnv`: the variables `go env -w` accepts and go commands read.
pub const KNOWN_ENV: &[&str] = &[
    "AR",
    "CC",
    "CGO_CFLAGS",
    "CGO_CFLAGS_ALLOW",
    "CGO_CFLAGS_DISALLOW",
    "CGO_CPPFLAGS",
    "CGO_CPPFLAGS_ALLOW",
    "CGO_CPPFLAGS_DISALLOW",
    "CGO_CXXFLAGS",
    "CGO_CXXFLAGS_ALLOW",
    "CGO_CXXFLAGS_DISALLOW",
    "CGO_ENABLED",
    "CGO_FFLAGS",
    "CGO_FFLAGS_ALLOW",
    "CGO_FFLAGS_DISALLOW",
    "CGO_LDFLAGS",
    "CGO_LDFLAGS_ALLOW",
    "CGO_LDFLAGS_DISALLOW",
    "CXX",
    "FC",
    "GCCGO",
    "GO111MODULE",
    "GO386",
    "GOAMD64",
    "GOARCH",
    "GOARM",
    "GOARM64",
    "GOAUTH",
    "GOBIN",
    "GOCACHE",
    "GOCACHEPROG",
    "GOENV",
    "GOEXE",
    "GOEXPERIMENT",
    "GOFIPS140",
    "GOFLAGS",
    "GOGCCFLAGS",
    "GOHOSTARCH",
    "GOHOSTOS",
    "GOINSECURE",
    "GOMIPS",
    "GOMIPS64",
    "GOMODCACHE",
    "GONOPROXY",
    "GONOSUMDB",
    "GOOS",
    "GOPATH",
    "GOPPC64",
    "GOPRIVATE",
    "GOPROXY",
    "GORISCV64",
    "GOROOT",
    "GOSUMDB",
    "GOTMPDIR",
    "GOTOOLCHAIN",
    "GOTOOLDIR",
    "GOVCS",
    "GOWASM",
    "GOWORK",
    "GO_EXTLINK_ENABLED",
    "PKG_CONFIG",
];

// ---------------------------------------------------------------------------------------------
// GOFLAGS

/// `cmd/internal/quoted.Split`: fields separated by space/tab/CR/LF; a field that *starts* with
/// `'` or `"` runs to the matching quote (no escapes). Quotes elsewhere are ordinary bytes.
pub fn quoted_split(s: &str) -> Result<Vec<String>, String> {
    let b = s.as_bytes();
    let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i == b.len() {
            break;
        }
        if b[i] == b'"' || b[i] == b'\'' {
            let q = b[i];
            let start = i + 1;
            let Some(len) = b[start..].iter().position(|&c| c == q) else {
                return Err(format!("unterminated {} string", q as char));
            };
            out.push(s[start..start + len].to_string());
            i = start + len + 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_space(b[i]) {
            i += 1;
        }
        out.push(s[start..i].to_string());
    }
    Ok(out)
}

/// Flags of `go build` (work.AddBuildFlags + `-o` + cover flags), Go 1.26.
pub const BUILD_FLAGS: &[&str] = &[
    "n",
    "x",
    "C",
    "a",
    "p",
    "v",
    "asan",
    "asmflags",
    "compiler",
    "buildmode",
    "buildvcs",
    "gcflags",
    "gccgoflags",
    "mod",
    "modcacherw",
    "modfile",
    "overlay",
    "installsuffix",
    "json",
    "ldflags",
    "linkshared",
    "msan",
    "pgo",
    "pkgdir",
    "race",
    "tags",
    "toolexec",
    "trimpath",
    "work",
    "debug-actiongraph",
    "debug-runtime-trace",
    "debug-trace",
    "o",
    "cover",
    "covermode",
    "coverpkg",
];

/// Boolean build flags (a bare `-x` means true; `-x=value` must parse as a Go bool).
const BOOL_BUILD_FLAGS: &[&str] = &[
    "n",
    "x",
    "a",
    "v",
    "asan",
    "json",
    "linkshared",
    "msan",
    "race",
    "trimpath",
    "work",
    "modcacherw",
    "cover",
];

/// Flags only `go test` has (cmd/go/internal/test/testflag.go); `test.X` forms for those it passes on.
const TEST_FLAGS: &[&str] = &[
    "c",
    "exec",
    "vet",
    "artifacts",
    "bench",
    "benchmem",
    "benchtime",
    "blockprofile",
    "blockprofilerate",
    "count",
    "coverprofile",
    "cpu",
    "cpuprofile",
    "failfast",
    "fullpath",
    "fuzz",
    "fuzzminimizetime",
    "fuzztime",
    "list",
    "memprofile",
    "memprofilerate",
    "mutexprofile",
    "mutexprofilefraction",
    "outputdir",
    "parallel",
    "run",
    "short",
    "shuffle",
    "skip",
    "timeout",
    "trace",
];

/// passFlagToTest (cmd/go/internal/test/flagdefs.go): these also exist as `-test.X`.
const PASSED_TO_TEST: &[&str] = &[
    "artifacts",
    "bench",
    "benchmem",
    "benchtime",
    "blockprofile",
    "blockprofilerate",
    "count",
    "coverprofile",
    "cpu",
    "cpuprofile",
    "failfast",
    "fullpath",
    "fuzz",
    "fuzzminimizetime",
    "fuzztime",
    "list",
    "memprofile",
    "memprofilerate",
    "mutexprofile",
    "mutexprofilefraction",
    "outputdir",
    "parallel",
    "run",
    "short",
    "shuffle",
    "skip",
    "timeout",
    "trace",
    "v",
];

/// Flags of other go subcommands (`go env -w`, `go get -u`, `go mod edit -droprequire`, ...):
/// base.hasFlag accepts them in GOFLAGS, but build commands ignore them.
const OTHER_FLAGS: &[&str] = &[
    "cache",
    "changed",
    "compat",
    "compiled",
    "d",
    "deps",
    "diff",
    "dropexclude",
    "dropgodebug",
    "dropignore",
    "dropreplace",
    "droprequire",
    "dropretract",
    "droptool",
    "dropuse",
    "e",
    "exclude",
    "export",
    "f",
    "find",
    "fix",
    "fmt",
    "fuzzcache",
    "go",
    "godebug",
    "i",
    "ignore",
    "insecure",
    "m",
    "modcache",
    "module",
    "print",
    "r",
    "replace",
    "require",
    "retract",
    "retracted",
    "reuse",
    "t",
    "test",
    "testcache",
    "tool",
    "toolchain",
    "u",
    "use",
    "vendor",
    "versions",
    "w",
];

/// Which commands a GOFLAGS flag name reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagReach {
    Build,
    TestOnly,
    OtherOnly,
    Unknown,
}

pub fn flag_reach(name: &str) -> FlagReach {
    if BUILD_FLAGS.contains(&name) {
        FlagReach::Build
    } else if TEST_FLAGS.contains(&name)
        || name
            .strip_prefix("test.")
            .is_some_and(|n| PASSED_TO_TEST.contains(&n))
    {
        FlagReach::TestOnly
    } else if OTHER_FLAGS.contains(&name) {
        FlagReach::OtherOnly
    } else {
        FlagReach::Unknown
    }
}

/// One GOFLAGS word after parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoFlag {
    pub word: String,
    pub name: String,
    pub value: Option<String>,
    pub reach: FlagReach,
}

/// What the go command will make of GOFLAGS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoflagsAnalysis {
    pub flags: Vec<GoFlag>,
    /// The fatal error every go command (but `go env`/`go bug`) prints, in Go's words.
    pub fatal: Option<String>,
    /// Errors `go build` reports when it applies the flags (bad bool, missing argument, -mod value).
    pub build_errors: Vec<String>,
}

/// base.InitGOFLAGS + the value checks of base.SetFromGOFLAGS for build flags.
pub fn analyze_goflags(s: &str) -> GoflagsAnalysis {
    let mut out = GoflagsAnalysis::default();
    let words = match quoted_split(s) {
        Ok(w) => w,
        Err(e) => {
            out.fatal = Some(format!("go: parsing $GOFLAGS: {e}"));
            return out;
        }
    };
    for w in words {
        let bad = !w.starts_with('-')
            || w == "-"
            || w == "--"
            || w.starts_with("---")
            || w.starts_with("-=")
            || w.starts_with("--=");
        if bad {
            out.fatal
                .get_or_insert_with(|| format!("go: parsing $GOFLAGS: non-flag {}", go_quote(&w)));
            continue;
        }
        let body = w.strip_prefix("--").unwrap_or(&w[1..]);
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (body.to_string(), None),
        };
        let reach = flag_reach(&name);
        if reach == FlagReach::Unknown {
            out.fatal
                .get_or_insert_with(|| format!("go: parsing $GOFLAGS: unknown flag -{name}"));
        }
        if reach == FlagReach::Build
            && let Some(e) = build_flag_value_error(&name, value.as_deref())
        {
            out.build_errors.push(e);
        }
        out.flags.push(GoFlag {
            word: w,
            name,
            value,
            reach,
        });
    }
    out
}

fn build_flag_value_error(name: &str, value: Option<&str>) -> Option<String> {
    const BOOLS: &[&str] = &[
        "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False",
    ];
    if BOOL_BUILD_FLAGS.contains(&name) {
        return match value {
            Some(v) if !BOOLS.contains(&v) => Some(format!(
                "go: invalid boolean value {} for flag -{name} (from $GOFLAGS): parse error",
                go_quote(v)
            )),
            _ => None,
        };
    }
    if name == "buildvcs" {
        return match value {
            Some(v) if !BOOLS.contains(&v) && v != "auto" => Some(format!(
                "go: invalid boolean value {} for flag -buildvcs (from $GOFLAGS): value is neither 'auto' nor a valid bool",
                go_quote(v)
            )),
            _ => None,
        };
    }
    let Some(v) = value else {
        return Some(format!(
            "go: flag needs an argument: -{name} (from $GOFLAGS)"
        ));
    };
    match name {
        // cmd/go/internal/work/init.go reports this through base.Fatalf: no "go: " prefix.
        "mod" if !matches!(v, "" | "mod" | "readonly" | "vendor") => Some(format!(
            "-mod={v} not supported (can be '', 'mod', 'readonly', or 'vendor')"
        )),
        "p" if v.parse::<i64>().is_err() => Some(format!(
            "go: invalid value {} for flag -p (from $GOFLAGS): parse error",
            go_quote(v)
        )),
        _ => None,
    }
}

/// Go's `%q` for the common printable case (enough for messages).
pub fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

// ---------------------------------------------------------------------------------------------
// Versions (internal/gover)

/// A parsed Go version (`1.21rc2`, `1.22.3`); fields are decimal strings as in internal/gover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoVersion {
    pub major: String,
    pub minor: String,
    pub patch: String,
    pub kind: String,
    pub pre: String,
}

/// `gover.Parse`: None for an invalid version.
pub fn parse_version(x: &str) -> Option<GoVersion> {
    let mut v = GoVersion::default();
    let (major, rest) = cut_int(x)?;
    v.major = major.into();
    if rest.is_empty() {
        v.minor = "0".into();
        v.patch = "0".into();
        return Some(v);
    }
    let rest = rest.strip_prefix('.')?;
    let (minor, rest) = cut_int(rest)?;
    v.minor = minor.into();
    if rest.is_empty() {
        if cmp_int(&v.minor, "21").is_lt() {
            v.patch = "0".into();
        }
        return Some(v);
    }
    if let Some(rest) = rest.strip_prefix('.') {
        let (patch, rest) = cut_int(rest)?;
        if !rest.is_empty() {
            return None;
        }
        v.patch = patch.into();
        return Some(v);
    }
    let kind_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
    if kind_len == 0 || !rest[..kind_len].bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    v.kind = rest[..kind_len].into();
    let rest = &rest[kind_len..];
    if rest.is_empty() {
        return Some(v);
    }
    let (pre, rest) = cut_int(rest)?;
    if !rest.is_empty() {
        return None;
    }
    v.pre = pre.into();
    Some(v)
}

fn cut_int(x: &str) -> Option<(&str, &str)> {
    let n = x.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 || (x.starts_with('0') && n != 1) {
        return None;
    }
    Some((&x[..n], &x[n..]))
}

fn cmp_int(x: &str, y: &str) -> std::cmp::Ordering {
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

/// `gover.Compare`: invalid versions compare as the zero version, as in Go.
pub fn compare_versions(x: &str, y: &str) -> std::cmp::Ordering {
    let a = parse_version(x).unwrap_or_default();
    let b = parse_version(y).unwrap_or_default();
    cmp_int(&a.major, &b.major)
        .then_with(|| cmp_int(&a.minor, &b.minor))
        .then_with(|| cmp_int(&a.patch, &b.patch))
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| cmp_int(&a.pre, &b.pre))
}

/// `gover.IsLang`: a language version such as `1.22` (no patch) that is not a toolchain.
pub fn is_lang(x: &str) -> bool {
    parse_version(x).is_some_and(|v| v.patch.is_empty() && v.kind.is_empty() && v.pre.is_empty())
}

/// `gover.FromToolchain`: `go1.22.3` → `1.22.3`, `go1.22.3-bigcorp` → `1.22.3`; None if invalid.
pub fn from_toolchain(name: &str) -> Option<String> {
    if name.contains(['/', '\\']) {
        return None;
    }
    let v = name.strip_prefix("go")?;
    let v = v.split([' ', '\t', '-']).next().unwrap_or("");
    parse_version(v).map(|_| v.to_string())
}

/// `gover.GoModLookup`: the value of the first `key` line (`go`, `toolchain`) of a go.mod/go.work.
pub fn gomod_lookup(data: &[u8], key: &str) -> Option<String> {
    for line in data.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        let Some(rest) = line.strip_prefix(key) else {
            continue;
        };
        if !rest.starts_with([' ', '\t']) {
            continue;
        }
        let rest = rest.split("//").next().unwrap_or("");
        return Some(rest.trim().to_string());
    }
    None
}

/// The items of a go.mod/go.work directive, in its single-line form (`require x v1`) and
/// its block form (`require (` … `)`), with `//` comments dropped: `directive_items(text,
/// "require")` gives `x v1` per requirement, `"use"` the directories of a go.work.
pub fn directive_items<'a>(text: &'a str, keyword: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut block = false;
    for raw in text.lines() {
        let line = raw.split("//").next().unwrap_or("").trim();
        let item = if block {
            if line.starts_with(')') {
                block = false;
                continue;
            }
            line
        } else if let Some(rest) = line.strip_prefix(keyword) {
            if !rest.starts_with([' ', '\t', '(']) {
                continue;
            }
            let rest = rest.trim();
            if let Some(inner) = rest.strip_prefix('(') {
                let inner = inner.trim();
                // `require ()`: an empty block on one line.
                if inner.starts_with(')') {
                    continue;
                }
                block = true;
                inner
            } else {
                rest
            }
        } else {
            continue;
        };
        if !item.is_empty() {
            out.push(item);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// GOTOOLCHAIN

/// How far the go command may go to find a newer toolchain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchMode {
    /// Never switch for go.mod/go.work (`local`, or a bare `goX.Y.Z`).
    None,
    /// PATH, then module cache, then download.
    Auto,
    /// PATH only.
    Path,
}

/// A parsed GOTOOLCHAIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gotoolchain {
    /// The minimum toolchain name (`go1.25.0`); None = the local toolchain.
    pub min: Option<String>,
    pub mode: SwitchMode,
}

/// toolchain.Select's parsing of GOTOOLCHAIN (errors are the go command's texts).
/// An empty value disables toolchain selection entirely (Select returns early).
pub fn parse_gotoolchain(s: &str) -> Result<Gotoolchain, String> {
    match s {
        "auto" => {
            return Ok(Gotoolchain {
                min: None,
                mode: SwitchMode::Auto,
            });
        }
        "path" => {
            return Ok(Gotoolchain {
                min: None,
                mode: SwitchMode::Path,
            });
        }
        "" | "local" => {
            return Ok(Gotoolchain {
                min: None,
                mode: SwitchMode::None,
            });
        }
        _ => {}
    }
    let (min, suffix) = match s.split_once('+') {
        Some((m, suf)) => (m, Some(suf)),
        None => (s, None),
    };
    let min = if min == "local" {
        None
    } else {
        if from_toolchain(min).is_none() {
            return Err(match suffix {
                Some(_) => format!(
                    "go: invalid GOTOOLCHAIN {}: invalid minimum toolchain {}",
                    go_quote(s),
                    go_quote(min)
                ),
                None => format!("go: invalid GOTOOLCHAIN {}", go_quote(s)),
            });
        }
        Some(min.to_string())
    };
    let mode = match suffix {
        None => SwitchMode::None,
        Some("auto") => SwitchMode::Auto,
        Some("path") => SwitchMode::Path,
        Some(_) => {
            return Err(format!(
                "go: invalid GOTOOLCHAIN {}: only version suffixes are +auto and +path",
                go_quote(s)
            ));
        }
    };
    Ok(Gotoolchain { min, mode })
}

/// The `go` and `toolchain` lines of the go.work or go.mod that selects the toolchain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModFile {
    pub path: PathBuf,
    pub go: Option<String>,
    pub toolchain: Option<String>,
}

impl ModFile {
    pub fn parse(path: PathBuf, data: &[u8]) -> ModFile {
        ModFile {
            go: gomod_lookup(data, "go"),
            toolchain: gomod_lookup(data, "toolchain"),
            path,
        }
    }
}

/// The outcome of toolchain.Select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The toolchain that will run (`go1.99.0`), or None for the local one.
    pub target: Option<String>,
    /// The Go version the module needs (go line, else toolchain line), if above what will run.
    pub unmet: Option<String>,
    /// Why, in one phrase.
    pub reason: String,
}

/// toolchain.Select for the local toolchain `local` (`1.26.8`). `modules_on` is false for
/// GO111MODULE=off (and auto outside a module), where selection is skipped.
pub fn select_toolchain(
    gt: &Gotoolchain,
    raw: &str,
    local: &str,
    file: Option<&ModFile>,
    modules_on: bool,
) -> Result<Selection, String> {
    let local_name = format!("go{local}");
    if !modules_on || raw.is_empty() {
        let why = if raw.is_empty() {
            "GOTOOLCHAIN is empty: no selection"
        } else {
            "modules are off: no selection"
        };
        return Ok(Selection {
            target: None,
            unmet: None,
            reason: why.into(),
        });
    }
    let mut name = gt.min.clone().unwrap_or_else(|| local_name.clone());
    let mut min_vers = gt
        .min
        .as_deref()
        .and_then(from_toolchain)
        .unwrap_or_else(|| local.to_string());
    let mut reason = match &gt.min {
        Some(m) => format!("GOTOOLCHAIN={raw} sets the default toolchain {m}"),
        None => "the local toolchain".to_string(),
    };
    let mut unmet = None;
    if let Some(f) = file {
        let short = f.path.display();
        if let Some(tc) = f.toolchain.as_deref().filter(|t| *t != "default") {
            let tv = from_toolchain(tc);
            let Some(tv) = tv.filter(|_| tc.starts_with("go") || tc.contains("-go")) else {
                return Err(format!("go: invalid toolchain {} in {short}", go_quote(tc)));
            };
            if compare_versions(&tv, &min_vers).is_gt() && gt.mode != SwitchMode::None {
                name = tc.to_string();
                reason = format!("toolchain line in {short} asks for {tc}");
                min_vers = tv;
            }
        }
        if let Some(go) = f.go.as_deref().filter(|g| !g.is_empty())
            && compare_versions(go, &min_vers).is_gt()
        {
            if gt.mode != SwitchMode::None {
                name = format!("go{go}");
                if is_lang(go) && compare_versions(go, "1.21").is_ge() {
                    name.push_str(".0");
                }
                reason = format!("go line in {short} requires go {go}");
            } else {
                unmet = Some(go.to_string());
            }
        }
    }
    let target = (name != "local" && name != local_name).then_some(name);
    if let Some(t) = &target
        && !t.starts_with("go1")
        && !t.contains("-go1")
    {
        return Err(format!("go: invalid GOTOOLCHAIN {}", go_quote(t)));
    }
    Ok(Selection {
        target,
        unmet,
        reason,
    })
}

/// Module path of a downloaded toolchain in the module cache.
pub fn toolchain_module_dir(modcache: &Path, toolchain: &str, goos: &str, goarch: &str) -> PathBuf {
    modcache.join(format!(
        "golang.org/toolchain@v0.0.1-{toolchain}.{goos}-{goarch}"
    ))
}

// ---------------------------------------------------------------------------------------------
// Patterns (GOPRIVATE & co.)

/// Whether `pattern` is a valid `path.Match` pattern (Go returns ErrBadPattern only while
/// matching, so the go command accepts broken ones silently).
pub fn valid_path_pattern(pattern: &str) -> bool {
    let b: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            '\\' => {
                if i + 1 >= b.len() {
                    return false;
                }
                i += 2;
            }
            '[' => {
                i += 1;
                if i < b.len() && b[i] == '^' {
                    i += 1;
                }
                let mut first = true;
                loop {
                    if i >= b.len() {
                        return false;
                    }
                    if b[i] == ']' && !first {
                        i += 1;
                        break;
                    }
                    first = false;
                    // lo
                    if !class_char(&b, &mut i) {
                        return false;
                    }
                    if i < b.len() && b[i] == '-' {
                        i += 1;
                        if !class_char(&b, &mut i) {
                            return false;
                        }
                    }
                }
            }
            _ => i += 1,
        }
    }
    true
}

fn class_char(b: &[char], i: &mut usize) -> bool {
    if *i >= b.len() || b[*i] == '-' || b[*i] == ']' {
        return false;
    }
    if b[*i] == '\\' {
        *i += 1;
        if *i >= b.len() {
            return false;
        }
    }
    *i += 1;
    true
}

#[cfg(test)]
mod tests {
    #[test]
    fn directive_items_read_both_forms_and_skip_comments() {
        let text = "module m\n\ngo 1.22\n\nrequire a.com/x v1.0.0 // indirect\nrequire (\n\tb.com/y v0.1.0\n\t// a comment\n\n\tc.com/z v2.0.0\n)\nrequire ()\nrequirements are not a directive\n";
        assert_eq!(
            directive_items(text, "require"),
            ["a.com/x v1.0.0", "b.com/y v0.1.0", "c.com/z v2.0.0"]
        );
        assert!(directive_items("module m\nrequire ()\n", "require").is_empty());
        assert_eq!(
            directive_items("go 1.22\nuse ./a\nuse (\n\t./b\n)\n", "use"),
            ["./a", "./b"]
        );
    }

    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn env_file_rules_match_read_env_file() {
        let f = parse_env_file(
            b"# comment\nGOFLAGS=-mod=mod\nlower=x\nGOPROXY=a\nGOPROXY=b\n\nnoequals\nCC=gcc\r\n",
        );
        assert_eq!(
            f.values.get("GOFLAGS").map(String::as_str),
            Some("-mod=mod")
        );
        assert_eq!(f.values.get("GOPROXY").map(String::as_str), Some("b"));
        assert_eq!(f.values.get("CC").map(String::as_str), Some("gcc\r"));
        assert!(!f.values.contains_key("lower"));
        assert_eq!(f.duplicates, vec!["GOPROXY"]);
        assert_eq!(f.ignored_lines, vec![3, 7]);
        assert_eq!(f.carriage_returns, vec!["CC"]);
    }

    #[test]
    fn quoted_split_matches_go() {
        assert_eq!(
            quoted_split("-ldflags=-s -w").unwrap(),
            vec!["-ldflags=-s", "-w"]
        );
        assert_eq!(
            quoted_split("'-ldflags=-s -w'  -v").unwrap(),
            vec!["-ldflags=-s -w", "-v"]
        );
        // a quote in the middle of a field is an ordinary byte
        assert_eq!(
            quoted_split("-ldflags='-s -w'").unwrap(),
            vec!["-ldflags='-s", "-w'"]
        );
        assert!(quoted_split("'abc").is_err());
        assert_eq!(quoted_split(" \t\n").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn goflags_diagnostics() {
        let a = analyze_goflags("-ldflags=-s -w");
        assert_eq!(a.fatal, None);
        assert_eq!(a.flags[1].reach, FlagReach::OtherOnly);
        let a = analyze_goflags("-ldflags='-s -w'");
        assert_eq!(
            a.fatal.as_deref(),
            Some("go: parsing $GOFLAGS: unknown flag -w'")
        );
        let a = analyze_goflags("ldflags=-s");
        assert_eq!(
            a.fatal.as_deref(),
            Some("go: parsing $GOFLAGS: non-flag \"ldflags=-s\"")
        );
        let a = analyze_goflags("-mod=bogus -count=1 -ldflags");
        assert_eq!(a.fatal, None);
        assert_eq!(a.build_errors.len(), 2);
        assert_eq!(a.flags[1].reach, FlagReach::TestOnly);
    }

    #[test]
    fn versions_compare_like_gover() {
        assert_eq!(compare_versions("1.21rc1", "1.21.0"), Ordering::Less);
        assert_eq!(compare_versions("1.21", "1.21rc1"), Ordering::Less);
        assert_eq!(compare_versions("1.20", "1.20.0"), Ordering::Equal);
        assert_eq!(compare_versions("1.99.0", "1.26.8"), Ordering::Greater);
        assert_eq!(compare_versions("1.9", "1.10"), Ordering::Less);
        assert!(parse_version("1.02").is_none());
        assert!(is_lang("1.22"));
        assert!(!is_lang("1.22.0"));
        assert_eq!(
            from_toolchain("go1.22.3-bigcorp").as_deref(),
            Some("1.22.3")
        );
        assert_eq!(from_toolchain("bogus"), None);
    }

    #[test]
    fn gotoolchain_parsing_and_selection() {
        assert!(parse_gotoolchain("bogus").is_err());
        assert!(
            parse_gotoolchain("go1.22.0+x")
                .unwrap_err()
                .contains("only version suffixes")
        );
        let gt = parse_gotoolchain("local").unwrap();
        let f = ModFile {
            path: "go.mod".into(),
            go: Some("1.99.0".into()),
            toolchain: None,
        };
        let s = select_toolchain(&gt, "local", "1.26.8", Some(&f), true).unwrap();
        assert_eq!((s.target, s.unmet.as_deref()), (None, Some("1.99.0")));
        let gt = parse_gotoolchain("auto").unwrap();
        let f = ModFile {
            path: "go.mod".into(),
            go: Some("1.99".into()),
            toolchain: None,
        };
        let s = select_toolchain(&gt, "auto", "1.26.8", Some(&f), true).unwrap();
        assert_eq!(s.target.as_deref(), Some("go1.99.0"));
        let s = select_toolchain(&gt, "auto", "1.26.8", None, true).unwrap();
        assert_eq!(s.target, None);
    }

    #[test]
    fn gomod_lines() {
        let m = b"module x\n\ngo 1.22 // lang\ntoolchain go1.22.4\ngopher 1\n";
        assert_eq!(gomod_lookup(m, "go").as_deref(), Some("1.22"));
        assert_eq!(gomod_lookup(m, "toolchain").as_deref(), Some("go1.22.4"));
        assert_eq!(gomod_lookup(b"gox 1\n", "go"), None);
    }

    #[test]
    fn patterns() {
        assert!(valid_path_pattern("github.com/org/*"));
        assert!(valid_path_pattern("a[b-c]d"));
        assert!(!valid_path_pattern("["));
        assert!(!valid_path_pattern("a[]"));
        assert!(!valid_path_pattern("abc\\"));
    }

    #[test]
    fn clean_is_lexical() {
        assert_eq!(clean(Path::new("/a/b/../c/./")), PathBuf::from("/a/c"));
        assert_eq!(clean(Path::new("/..")), PathBuf::from("/"));
        assert_eq!(clean(Path::new("a/../..")), PathBuf::from(".."));
    }

    /// Our flag tables against the real go command: every name we call known must be accepted
    /// in GOFLAGS, and a made-up one refused.
    #[test]
    fn flag_tables_agree_with_real_go() {
        let Some(go) = crate::gosrc::goenv::tests::machine_go() else {
            return;
        };
        let passed: Vec<String> = PASSED_TO_TEST.iter().map(|n| format!("test.{n}")).collect();
        let names: Vec<&str> = BUILD_FLAGS
            .iter()
            .chain(TEST_FLAGS)
            .chain(OTHER_FLAGS)
            .copied()
            .chain(passed.iter().map(String::as_str))
            // -C is registered but refused anywhere but first on the command line.
            .filter(|n| *n != "C")
            .collect();
        for n in &names {
            assert_ne!(flag_reach(n), FlagReach::Unknown, "{n}");
        }
        for bogus in ["golat-bogus", "test.c", "b", "l"] {
            assert_eq!(flag_reach(bogus), FlagReach::Unknown, "{bogus}");
        }
        for n in names
            .iter()
            .chain(["golat-bogus", "test.c", "b", "l"].iter())
        {
            let out = std::process::Command::new(&go)
                .arg("version")
                .env("GOFLAGS", format!("-{n}"))
                .env("GOTOOLCHAIN", "local")
                .output()
                .unwrap();
            let unknown = String::from_utf8_lossy(&out.stderr).contains("unknown flag");
            let expect_unknown = flag_reach(n) == FlagReach::Unknown;
            assert_eq!(
                unknown,
                expect_unknown,
                "GOFLAGS=-{n}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    pub(crate) fn machine_go() -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        let found = std::env::split_paths(&path)
            .map(|d| d.join("go"))
            .find(|p| p.is_file());
        if found.is_none() && std::env::var("CI").as_deref() == Ok("true") {
            panic!("go is not on PATH (CI=true: this test must not skip)");
        }
        found
    }
}
