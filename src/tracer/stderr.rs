//! Recognises the Go runtime's `GODEBUG=inittrace=1` lines among a process's writes to
//! fd 2, piece by piece, so they can be captured and kept from the user's terminal.
//!
//! The runtime prints each line with `print("init ", pkg, " @")` and friends
//! (runtime/proc.go, doInit1): every argument is its own write(2, ...) call, twelve per line:
//! `init ` PKG ` @` MS ` ms, ` MS ` ms clock, ` N ` bytes, ` N ` allocs` `\n`.
//! A write is only claimed when it is exactly the piece the grammar expects next.

/// What one write to fd 2 turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// Not part of an inittrace line: let it through untouched.
    Other,
    /// A piece of a line that is not finished yet.
    Partial,
    /// The last piece: the whole line, without its newline.
    Line(String),
}

#[derive(Debug, Default, Clone)]
pub struct LineParser {
    /// Index of the piece expected next (0 = `init `).
    next: u8,
    line: String,
}

impl LineParser {
    /// True while a line has started and not ended: a write that breaks the grammar now
    /// means pieces were already claimed.
    pub fn in_line(&self) -> bool {
        self.next != 0
    }

    pub fn feed(&mut self, bytes: &[u8]) -> Piece {
        if !expected(self.next, bytes) {
            self.next = 0;
            self.line.clear();
            return Piece::Other;
        }
        if self.next == 11 {
            self.next = 0;
            return Piece::Line(std::mem::take(&mut self.line));
        }
        self.line
            .push_str(std::str::from_utf8(bytes).unwrap_or_default());
        self.next += 1;
        Piece::Partial
    }
}

fn expected(index: u8, b: &[u8]) -> bool {
    let number = |b: &[u8]| !b.is_empty() && b.iter().all(|c| c.is_ascii_digit() || *c == b'.');
    match index {
        0 => b == b"init ",
        // An import path may hold any Unicode letter (golang.org/ref/mod#module-path
        // allows only ASCII for modules, but GOPATH and `go run file.go` paths do not).
        1 => std::str::from_utf8(b).is_ok_and(|s| {
            !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        }),
        2 => b == b" @",
        3 | 5 | 7 | 9 => number(b),
        4 => b == b" ms, ",
        6 => b == b" ms clock, ",
        8 => b == b" bytes, ",
        10 => b == b" allocs",
        11 => b == b"\n",
        _ => false,
    }
}

/// One whole `GODEBUG=gocachehash=1` line as cmd/go writes it
/// (`cmd/go/internal/cache/hash.go`): `HASH[name]`, `HASH[name]: "input"`,
/// `HASH[name]: <hex sum>`, `HASH subkey ...` or `HASH /file: <hex>`, newline-terminated,
/// with no other newline (inputs are Go-quoted).
pub fn is_cachehash_line(b: &[u8]) -> bool {
    (b.starts_with(b"HASH[") || b.starts_with(b"HASH "))
        && b.last() == Some(&b'\n')
        && !b[..b.len() - 1].contains(&b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(line: &str) -> Vec<&str> {
        // Split the way the runtime writes it.
        let mut out = vec!["init "];
        let rest = line.strip_prefix("init ").unwrap();
        let (pkg, rest) = rest.split_once(" @").unwrap();
        out.push(pkg);
        out.push(" @");
        let (ms, rest) = rest.split_once(" ms, ").unwrap();
        out.extend([ms, " ms, "]);
        let (clock, rest) = rest.split_once(" ms clock, ").unwrap();
        out.extend([clock, " ms clock, "]);
        let (bytes, rest) = rest.split_once(" bytes, ").unwrap();
        out.extend([bytes, " bytes, "]);
        let allocs = rest.strip_suffix(" allocs").unwrap();
        out.extend([allocs, " allocs", "\n"]);
        out
    }

    #[test]
    fn reassembles_a_runtime_line() {
        let line = "init internal/bytealg @0.008 ms, 0.004 ms clock, 0 bytes, 0 allocs";
        let mut p = LineParser::default();
        let mut got = None;
        for piece in pieces(line) {
            match p.feed(piece.as_bytes()) {
                Piece::Line(l) => got = Some(l),
                Piece::Partial => {}
                Piece::Other => panic!("claimed nothing for {piece:?}"),
            }
        }
        assert_eq!(got.as_deref(), Some(line));
        assert!(!p.in_line());
    }

    #[test]
    fn claims_a_package_path_with_unicode_letters() {
        let line = "init example.com/Über/日本 @1.2 ms, 0.3 ms clock, 48 bytes, 2 allocs";
        let mut p = LineParser::default();
        let got: Vec<Piece> = pieces(line).iter().map(|s| p.feed(s.as_bytes())).collect();
        assert_eq!(got.last(), Some(&Piece::Line(line.to_string())));
        assert!(!got.contains(&Piece::Other));
    }

    #[test]
    fn leaves_ordinary_stderr_alone() {
        let mut p = LineParser::default();
        assert_eq!(p.feed(b"init failed: no config\n"), Piece::Other);
        assert_eq!(p.feed(b"panic: boom\n"), Piece::Other);
        assert_eq!(p.feed(b"init "), Piece::Partial);
        assert_eq!(p.feed(b"not a package"), Piece::Other);
        assert!(!p.in_line());
    }

    #[test]
    fn claims_only_whole_gocachehash_lines() {
        for yes in [
            &b"HASH[build fmt]\n"[..],
            b"HASH[build fmt]: \"compile\\n\"\n",
            b"HASH /usr/local/go/src/fmt/doc.go: 00ff\n",
        ] {
            assert!(is_cachehash_line(yes), "{yes:?}");
        }
        for no in [
            &b"HASH[build fmt]"[..],
            b"HASH[a]\nHASH[b]\n",
            b"HASHED\n",
            b"# example.com/x\n",
            b"",
        ] {
            assert!(!is_cachehash_line(no), "{no:?}");
        }
    }
}
