//! Parses the Go runtime's `GODEBUG=inittrace=1` lines into per-package init records.
//!
//! # The format (Go 1.16 through 1.27)
//!
//! `runtime/proc.go` (`doInit1` since Go 1.21, `doInit` before) prints, after a package's
//! init work finished:
//!
//! ```text
//! init <import path> @<start> ms, <clock> ms clock, <bytes> bytes, <allocs> allocs
//! ```
//!
//! * `<start>` is `nanotime()` at the start of that package's init minus `runtimeInitTime`,
//!   which `runtime.main` records just before the runtime's own init tasks: it is relative to
//!   the runtime's start, **not** to the process's exec.
//! * `<clock>` is the wall time of the package's init functions (package-level variable
//!   initialisers and `init` funcs).
//! * `<bytes>`/`<allocs>` are the heap allocations the init goroutine made meanwhile.
//!
//! Both times go through `fmtNSAsMS` (`runtime/mgc.go`), which **truncates**:
//!
//! * `ns >= 10e6` (10 ms and above): whole milliseconds, `11`, `250`. Resolution 1 ms.
//! * below 10 ms: two significant digits, at most three decimals: `0.035`, `0.70`, `2.5`.
//!   Resolution 0.001, 0.01 or 0.1 ms (one unit of the last digit printed).
//! * below 1 µs: `0`.
//!
//! So the unit never changes (always ms) but the precision drops to a whole millisecond
//! above 10 ms; [`Ms::resolution`] says how wide the truncation interval of each number is.
//!
//! # Sources, per release
//!
//! * Go 1.26 (this machine, `$(go env GOROOT)/src/runtime/proc.go` and `mgc.go`): read
//!   directly; the print statements and `fmtNSAsMS` are as above.
//! * Go 1.21–1.25: `doInit1` with the same five `print` calls (the init order moved into the
//!   linker in 1.21, the line did not change); seen in public copies of `proc.go` found with
//!   the project's code search, and in the research notes' captures.
//! * Go 1.19: verified identical by captures in `/work/shared/research/go-trace-format.md`
//!   §4.1 (one regex matches every line of the Go 1.19 and Go 1.27 captures there).
//! * Go 1.16–1.20: the feature was introduced in 1.16 (golang/go#41378 chose text, not
//!   JSON) with the same statements inside the recursive `doInit`; the only difference is
//!   the order (dependencies first, discovered at run time), not the line.
//! * Go 1.27: the research captures above (Go 1.27.3) match the same grammar.
//!
//! Integers in the line are plain decimal `uint64`s. The import path is printed verbatim
//! (`funcpkgpath`): it never contains spaces, but may be `main`, `vendor/golang.org/x/...`
//! for std's vendored packages, or any module path.

use std::fmt;

/// A millisecond figure as `fmtNSAsMS` printed it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ms {
    /// The printed value (a truncation of the true value).
    pub value: f64,
    /// Width of the truncation interval: the true value lies in `[value, value + resolution)`.
    pub resolution: f64,
}

/// One parsed inittrace line.
#[derive(Debug, Clone, PartialEq)]
pub struct InitRecord {
    pub pkg: String,
    /// Start of the package's init, relative to the runtime's start (`runtimeInitTime`).
    pub start: Ms,
    /// Wall time of the package's init.
    pub clock: Ms,
    pub bytes: u64,
    pub allocs: u64,
}

/// Why a line is not an inittrace line; the message names the first part that did not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an inittrace line: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// Parses one line (a trailing `\n` or `\r\n` is allowed).
pub fn parse_line(line: &str) -> Result<InitRecord, ParseError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let Some(rest) = line.strip_prefix("init ") else {
        return err("does not start with `init `");
    };
    let Some((pkg, rest)) = rest.split_once(" @") else {
        return err("no ` @` after the package");
    };
    if pkg.is_empty() || pkg.chars().any(char::is_whitespace) {
        return err(format!("bad package path {pkg:?}"));
    }
    let Some((start, rest)) = rest.split_once(" ms, ") else {
        return err("no ` ms, ` after the start time");
    };
    let Some((clock, rest)) = rest.split_once(" ms clock, ") else {
        return err("no ` ms clock, ` after the clock time");
    };
    let Some((bytes, rest)) = rest.split_once(" bytes, ") else {
        return err("no ` bytes, ` after the byte count");
    };
    let Some(allocs) = rest.strip_suffix(" allocs") else {
        return err("does not end with ` allocs`");
    };
    Ok(InitRecord {
        pkg: pkg.to_string(),
        start: parse_ms(start).map_err(|e| ParseError(format!("start time: {}", e.0)))?,
        clock: parse_ms(clock).map_err(|e| ParseError(format!("clock time: {}", e.0)))?,
        bytes: parse_count(bytes, "bytes")?,
        allocs: parse_count(allocs, "allocs")?,
    })
}

fn parse_count(s: &str, what: &str) -> Result<u64, ParseError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return err(format!("{what}: {s:?} is not a count"));
    }
    s.parse()
        .map_err(|_| ParseError(format!("{what}: {s:?} is out of range")))
}

/// Parses a `fmtNSAsMS` number: digits, optionally one `.` and 1 to 3 decimals.
pub fn parse_ms(s: &str) -> Result<Ms, ParseError> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f) || f.len() > 3) || int.len() > 20 {
        return err(format!("{s:?} is not a millisecond figure"));
    }
    let value: f64 = s
        .parse()
        .map_err(|_| ParseError(format!("{s:?} is not a number")))?;
    let resolution = match frac {
        Some(f) => 10f64.powi(-(f.len() as i32)),
        // `0` is what fmtNSAsMS prints below one microsecond.
        None if value == 0.0 => 0.001,
        None => 1.0,
    };
    Ok(Ms { value, resolution })
}

/// Parses every inittrace line of a captured stderr text; other lines (the program's own
/// output, `# pkg` headers the go command adds for its children) are skipped.
pub fn parse_text(text: &str) -> Vec<InitRecord> {
    text.lines()
        .filter(|l| l.starts_with("init "))
        .filter_map(|l| parse_line(l).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(value: f64, resolution: f64) -> Ms {
        Ms { value, resolution }
    }

    #[test]
    fn go_1_26_line_below_one_ms() {
        let r = parse_line("init runtime @0.65 ms, 0.032 ms clock, 0 bytes, 0 allocs").unwrap();
        assert_eq!(r.pkg, "runtime");
        assert_eq!(r.start, ms(0.65, 0.01));
        assert_eq!(r.clock, ms(0.032, 0.001));
        assert_eq!((r.bytes, r.allocs), (0, 0));
    }

    #[test]
    fn units_stay_ms_but_precision_drops_to_whole_ms_from_10ms() {
        // Captured from this machine (Go 1.26.8, a traced `go run`).
        let r = parse_line("init internal/godebug @35 ms, 0.13 ms clock, 6856 bytes, 123 allocs")
            .unwrap();
        assert_eq!(r.start, ms(35.0, 1.0));
        assert_eq!(r.clock, ms(0.13, 0.01));
        let r = parse_line(
            "init example.com/initchain/slowvar @3.1 ms, 48 ms clock, 9437184 bytes, 200001 allocs",
        )
        .unwrap();
        assert_eq!(r.start, ms(3.1, 0.1));
        assert_eq!(r.clock, ms(48.0, 1.0));
        assert_eq!((r.bytes, r.allocs), (9_437_184, 200_001));
        // Just below and at the switch: 9.9 ms keeps a decimal, 10 ms does not.
        assert_eq!(parse_ms("9.9").unwrap(), ms(9.9, 0.1));
        assert_eq!(parse_ms("10").unwrap(), ms(10.0, 1.0));
        assert_eq!(parse_ms("1.0").unwrap(), ms(1.0, 0.1));
    }

    #[test]
    fn sub_microsecond_prints_zero() {
        let r = parse_line("init internal/bytealg @0 ms, 0 ms clock, 0 bytes, 0 allocs").unwrap();
        assert_eq!(r.start, ms(0.0, 0.001));
        assert_eq!(r.clock, ms(0.0, 0.001));
    }

    #[test]
    fn go_1_19_to_1_20_shapes() {
        // Go 1.16-1.20 print with the same statements from the recursive doInit; these are
        // the shapes fmtNSAsMS gives there (the go command's `init main @11 ms` is from the
        // research notes' measurements).
        for line in [
            "init internal/bytealg @0.007 ms, 0 ms clock, 0 bytes, 0 allocs",
            "init runtime @0.035 ms, 0.044 ms clock, 0 bytes, 0 allocs",
            "init main @11 ms, 1.6 ms clock, 281080 bytes, 7949 allocs",
        ] {
            parse_line(line).unwrap();
        }
    }

    #[test]
    fn go_1_27_lines_and_odd_package_paths() {
        // The first is quoted in the research notes from a Go 1.27.3 capture.
        for (line, pkg) in [
            (
                "init net/http @2.4 ms, 0.013 ms clock, 1920 bytes, 22 allocs",
                "net/http",
            ),
            (
                "init vendor/golang.org/x/net/dns/dnsmessage @1.2 ms, 0.002 ms clock, 0 bytes, 0 allocs",
                "vendor/golang.org/x/net/dns/dnsmessage",
            ),
            (
                "init gopkg.in/yaml.v3 @4.0 ms, 0.21 ms clock, 30368 bytes, 372 allocs",
                "gopkg.in/yaml.v3",
            ),
            (
                "init cmd/go/internal/modload @11 ms, 0.010 ms clock, 48 bytes, 1 allocs\r\n",
                "cmd/go/internal/modload",
            ),
        ] {
            assert_eq!(parse_line(line).unwrap().pkg, pkg);
        }
    }

    #[test]
    fn rejects_what_is_not_an_init_line_with_a_reason() {
        for (line, why) in [
            ("init failed: no config", "no ` @`"),
            (
                "gc 1 @0.031s 0%: 0.20+0.57+0.004 ms clock",
                "does not start",
            ),
            (
                "init x @1,5 ms, 0 ms clock, 0 bytes, 0 allocs",
                "start time",
            ),
            (
                "init x @1.5 ms, -1 ms clock, 0 bytes, 0 allocs",
                "clock time",
            ),
            (
                "init x @1.5 ms, 1.0001 ms clock, 0 bytes, 0 allocs",
                "clock time",
            ),
            ("init x @1.5 ms, 1 ms clock, 0x10 bytes, 0 allocs", "bytes"),
            (
                "init x @1.5 ms, 1 ms clock, 1 bytes, 99999999999999999999999 allocs",
                "allocs",
            ),
            (
                "init x @1.5 ms, 1 ms clock, 1 bytes, 2 allocs and more",
                "allocs",
            ),
            ("init  @1.5 ms, 1 ms clock, 1 bytes, 2 allocs", "package"),
        ] {
            let e = parse_line(line).unwrap_err().to_string();
            assert!(e.contains(why), "{line:?}: {e}");
        }
    }

    #[test]
    fn parse_text_keeps_only_init_lines() {
        let text = "# example.com/x\ninit a @0 ms, 0 ms clock, 0 bytes, 0 allocs\nhello\ninit broken\ninit b @1.0 ms, 2.0 ms clock, 3 bytes, 4 allocs\n";
        let got: Vec<_> = parse_text(text).into_iter().map(|r| r.pkg).collect();
        assert_eq!(got, ["a", "b"]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse_line(&s);
        }

        #[test]
        fn fmt_ns_as_ms_round_trips(ns in 0u64..10_000_000_000, pkg in "[a-z][a-z0-9./_-]{0,40}") {
            let printed = fmt_ns_as_ms(ns);
            let line = format!("init {pkg} @{printed} ms, {printed} ms clock, 7 bytes, 1 allocs");
            let r = parse_line(&line).unwrap();
            let true_ms = ns as f64 / 1e6;
            // Truncation: the true value lies in [value, value + resolution).
            proptest::prop_assert!(r.clock.value <= true_ms + 1e-9);
            proptest::prop_assert!(true_ms < r.clock.value + r.clock.resolution + 1e-9);
        }
    }

    /// The runtime's `fmtNSAsMS`, transcribed, to generate lines of every shape.
    fn fmt_ns_as_ms(ns: u64) -> String {
        if ns >= 10_000_000 {
            return (ns / 1_000_000).to_string();
        }
        let mut x = ns / 1000;
        if x == 0 {
            return "0".into();
        }
        let mut dec = 3;
        while x >= 100 {
            x /= 10;
            dec -= 1;
        }
        let s = format!("{x:0>width$}", width = dec + 1);
        let (i, f) = s.split_at(s.len() - dec);
        if dec == 0 {
            i.to_string()
        } else {
            format!("{i}.{f}")
        }
    }
}
