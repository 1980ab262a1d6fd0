//! Reads the go command's `GODEBUG=gocachehash=1` lines into the inputs of each package's
//! action ID, and names what differs between two sets of inputs.
//!
//! cmd/go (`cmd/go/internal/cache/hash.go`, Go 1.26) prints, per hash: `HASH[name]` when
//! it starts, `HASH[name]: "<Go-quoted bytes>"` per write into it, and `HASH[name]: <hex>`
//! when it is summed; file hashes print `HASH <file>: <hex>`. The build action of a package
//! hashes under the name `build <import path>` (`buildActionID` in
//! `cmd/go/internal/work/exec.go`), one write per input line: `compile`, `dir ...`,
//! `go 1.22`, `goos linux goarch amd64`, `trimpath`, `CC=...`, `compile <id> <gcflags>`,
//! `GOAMD64=v1`, `file x.go <hash>`, `import fmt <build id>`, ...

use std::collections::BTreeMap;

/// Inputs kept per run at most: a 764-package build hashes about 25k lines.
pub const MAX_LINES: usize = 500_000;

/// Collects the `build <pkg>` hashes from a stream of lines.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Collector {
    /// Per action name (`build fmt`), the inputs of its last complete hash.
    pub builds: BTreeMap<String, Vec<String>>,
    open: BTreeMap<String, Vec<String>>,
    /// `build` hash lines kept.
    pub lines: usize,
    /// Lines past `MAX_LINES`, not kept.
    pub dropped: u64,
}

impl Collector {
    pub fn add(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("HASH[") else {
            return;
        };
        let Some((name, tail)) = rest.split_once(']') else {
            return;
        };
        if !name.starts_with("build ") {
            return;
        }
        if self.lines >= MAX_LINES {
            self.dropped += 1;
            return;
        }
        self.lines += 1;
        match tail.strip_prefix(": ") {
            None => {
                self.open.insert(name.to_string(), Vec::new());
            }
            Some(q) if q.starts_with('"') => {
                if let (Some(inputs), Some(text)) = (self.open.get_mut(name), unquote(q)) {
                    inputs.push(text.trim_end_matches('\n').to_string());
                }
            }
            Some(_) => {
                if let Some(inputs) = self.open.remove(name) {
                    self.builds.insert(name.to_string(), inputs);
                }
            }
        }
    }

    /// The inputs of the build action of `package` (as the action graph names it).
    pub fn inputs_of(&self, package: &str) -> Option<&Vec<String>> {
        self.builds.get(&format!("build {package}"))
    }
}

/// Undoes Go's `%q` (strconv.Quote): `\n`, `\t`, `\"`, `\\`, `\xNN`, `\uNNNN`,
/// `\UNNNNNNNN`, `\a\b\f\r\v`, octal `\NNN`. Invalid UTF-8 the quote escaped as `\xNN`
/// comes back as U+FFFD.
pub fn unquote(q: &str) -> Option<String> {
    let body = q.strip_prefix('"')?.strip_suffix('"')?;
    let mut bytes = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut b = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            continue;
        }
        let esc = chars.next()?;
        let simple = match esc {
            'n' => Some(b'\n'),
            't' => Some(b'\t'),
            'r' => Some(b'\r'),
            'a' => Some(7),
            'b' => Some(8),
            'f' => Some(12),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '"' => Some(b'"'),
            '\'' => Some(b'\''),
            _ => None,
        };
        if let Some(b) = simple {
            bytes.push(b);
            continue;
        }
        let hex = |n: usize, chars: &mut std::str::Chars<'_>| -> Option<u32> {
            let s: String = chars.by_ref().take(n).collect();
            (s.len() == n).then(|| u32::from_str_radix(&s, 16).ok())?
        };
        match esc {
            'x' => bytes.push(u8::try_from(hex(2, &mut chars)?).ok()?),
            'u' | 'U' => {
                let v = hex(if esc == 'u' { 4 } else { 8 }, &mut chars)?;
                let mut b = [0u8; 4];
                bytes.extend_from_slice(char::from_u32(v)?.encode_utf8(&mut b).as_bytes());
            }
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let v = u32::from_str_radix(&format!("{esc}{rest}"), 8).ok()?;
                bytes.push(u8::try_from(v).ok()?);
            }
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// One input that differs between two hashes of a package, named as a cause.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cause {
    /// Lower ranks are more likely the root of a rebuild: a toolchain or flag change
    /// explains a file hash that moved with it, not the other way round.
    pub rank: u8,
    /// What a user reads: "`-trimpath` added", "file leaf.go changed".
    pub text: String,
    /// The dependency whose build ID changed, for an `import` input: the rebuild came
    /// from there.
    pub dependency: Option<String>,
}

/// What differs between the inputs `before` and `after` of one package's action ID, as
/// causes (best root first). Empty when the inputs are the same.
pub fn differences(before: &[String], after: &[String]) -> Vec<Cause> {
    let key_of = |line: &str| -> String {
        // Inputs of one kind pair up by their key: `file x.go`, `import fmt`, `GOAMD64`,
        // `CC`, `compile`, `dir`, ...
        // The salt every hash starts with is the toolchain's version.
        if line.starts_with("go1.") || line.starts_with("devel ") {
            return "toolchain".into();
        }
        let mut words = line.splitn(3, ' ');
        let first = words.next().unwrap_or("");
        if let Some((k, _)) = first.split_once('=') {
            return k.to_string();
        }
        let second = words.next().unwrap_or("");
        match first {
            // `import "path"` is the package's own import path; `import path id` a dependency.
            "import" if second.starts_with('"') => "importpath".into(),
            "file" | "import" | "magic" => format!("{first} {second}"),
            _ => first.to_string(),
        }
    };
    let index = |lines: &[String]| -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for l in lines {
            m.entry(key_of(l)).or_default().push(l.clone());
        }
        m
    };
    let (b, a) = (index(before), index(after));
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        let (old, new) = (b.get(k), a.get(k));
        if old == new {
            continue;
        }
        out.push(cause(
            k,
            old.map(|v| v.join("\n")),
            new.map(|v| v.join("\n")),
        ));
    }
    out.sort();
    out.dedup();
    out
}

fn cause(key: &str, old: Option<String>, new: Option<String>) -> Cause {
    let change = |what: &str| match (&old, &new) {
        (None, Some(_)) => format!("{what} added"),
        (Some(_), None) => format!("{what} removed"),
        _ => format!("{what} changed"),
    };
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let c = |rank: u8, text: String| Cause {
        rank,
        text,
        dependency: None,
    };
    match key {
        "toolchain" => c(
            0,
            format!("Go toolchain changed ({} → {})", value(&old), value(&new)),
        ),
        "trimpath" => c(1, change("`-trimpath`")),
        "importpath" => c(3, "the package's import path changed".into()),
        "compile" => c(
            1,
            "compiler or -gcflags changed (the `compile` input: compiler ID and flags)".into(),
        ),
        "asm" => c(1, "assembler or -asmflags changed".into()),
        "cover" => c(1, change("`-cover`")),
        "fuzz" => c(1, change("fuzzing instrumentation")),
        "omitdebug" => c(
            1,
            "-ldflags=-w, or the package's standard/local kind, changed".into(),
        ),
        "forcelibrary" => c(1, change("-buildmode library")),
        "goos" => c(
            1,
            format!("GOOS/GOARCH changed ({} → {})", value(&old), value(&new)),
        ),
        "CC" | "CC ID" | "CXX" | "CXX ID" | "FC" | "FC ID" | "cgo" => c(
            2,
            "C compiler or CGO_CPPFLAGS/CGO_CFLAGS/CGO_CXXFLAGS/CGO_LDFLAGS changed".into(),
        ),
        "GOEXPERIMENT" => c(2, change("GOEXPERIMENT")),
        "dir" => c(3, "the package's directory changed".into()),
        "go" => c(3, "the go line of go.mod changed".into()),
        "module" => c(3, "the module's version changed".into()),
        "modinfo" => c(
            4,
            "build settings stamped into the binary changed (flags, -ldflags, -tags, VCS)".into(),
        ),
        _ if key.starts_with("file ") => c(5, change(&format!("file {}", &key[5..]))),
        _ if key.starts_with("magic ") => c(2, change(&key[6..])),
        _ if key.starts_with("import ") => Cause {
            rank: 6,
            text: format!("dependency {} rebuilt", &key[7..]),
            dependency: Some(key[7..].to_string()),
        },
        _ if key
            .chars()
            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_') =>
        {
            c(2, change(key))
        }
        _ => c(5, change(&format!("input `{key}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_the_last_complete_build_hash_per_package() {
        let mut c = Collector::default();
        for l in [
            "HASH[build m/leaf]",
            "HASH[build m/leaf]: \"go1.26.8\"",
            "HASH[build m/leaf]: \"compile\\n\"",
            "HASH[build m/leaf]: \"file leaf.go abc\\n\"",
            "HASH /usr/local/go/src/fmt/doc.go: 00ff",
            "HASH[link m]: \"x\"",
            "HASH[build m/leaf]: f4dbfffe",
            "HASH[build m/open]",
            "HASH[build m/open]: \"never summed\"",
        ] {
            c.add(l);
        }
        assert_eq!(
            c.inputs_of("m/leaf").unwrap(),
            &["go1.26.8", "compile", "file leaf.go abc"]
        );
        assert!(c.inputs_of("m/open").is_none());
        assert!(c.inputs_of("m").is_none());
    }

    #[test]
    fn unquotes_what_go_quotes() {
        assert_eq!(unquote(r#""a\tb\n""#).unwrap(), "a\tb\n");
        assert_eq!(unquote(r#""\"x\"\\""#).unwrap(), "\"x\"\\");
        assert_eq!(unquote(r#""\u00e9\U0001F600""#).unwrap(), "é😀");
        assert_eq!(unquote(r#""\x41\101""#).unwrap(), "AA");
        assert_eq!(unquote(r#""é""#).unwrap(), "é");
        for bad in ["", "\"", "x", r#""\q""#, r#""\x4""#, r#""\u12""#] {
            assert!(unquote(bad).is_none(), "{bad:?}");
        }
    }

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_the_input_that_changed() {
        let base = lines(&[
            "go1.26.8",
            "compile",
            "dir /m/leaf",
            "go 1.22",
            "CC=[\"gcc\"] [] [\"-O2\" \"-g\"] [\"-O2\" \"-g\"]",
            "import \"m/leaf\"",
            "GOAMD64=v1",
            "file leaf.go AAA",
            "import m/dep ID1",
        ]);
        assert!(differences(&base, &base).is_empty());
        let mut edited = base.clone();
        edited[7] = "file leaf.go BBB".into();
        edited[8] = "import m/dep ID2".into();
        let d = differences(&base, &edited);
        assert_eq!(
            d.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
            ["file leaf.go changed", "dependency m/dep rebuilt"]
        );
        assert_eq!(d[1].dependency.as_deref(), Some("m/dep"));

        let mut trimmed = base.clone();
        trimmed.remove(2);
        trimmed.insert(2, "trimpath".into());
        let d = differences(&base, &trimmed);
        assert_eq!(d[0].text, "`-trimpath` added");

        let mut cgo = base.clone();
        cgo[4] = "CC=[\"gcc\"] [] [\"-O1\" \"-g\"] [\"-O2\" \"-g\"]".into();
        assert!(differences(&base, &cgo)[0].text.contains("CGO_CFLAGS"));
        let mut amd = base.clone();
        amd[6] = "GOAMD64=v3".into();
        assert_eq!(differences(&base, &amd)[0].text, "GOAMD64 changed");
        let mut newer = base.clone();
        newer[0] = "go1.27.0".into();
        let d = differences(&base, &newer);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].text, "Go toolchain changed (go1.26.8 → go1.27.0)");
    }
}
