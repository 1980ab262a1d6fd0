//! Reads the Go build-info blob (`\xff Go buildinf:`) from an executable without running it.
//!
//! Mirrors `debug/buildinfo` (Go source: src/debug/buildinfo/buildinfo.go) for ELF files:
//! the blob is the `.go.buildinfo` section, or sits near the start of the first writable
//! non-executable PT_LOAD segment; it is a 32-byte header (14-byte magic, pointer size,
//! flags) followed either by two uvarint-prefixed strings (flags&2, Go 1.18+) or, before
//! 1.18, by two pointers to Go string headers. Only the needed bytes are read (pread), so a
//! 30 MB binary costs a few small reads.

use std::path::Path;

use anyhow::{Context, bail};

use super::elf::{Elf, FileSrc, Source};

/// What a Go binary says about how it was built.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BuildInfo {
    /// e.g. `go1.26.8`
    pub go_version: String,
    /// The `path` line of the module info (`cmd/go`, `cmd/compile`, ...), if any.
    pub path: Option<String>,
    /// The `mod` line's module path, if any.
    pub main_module: Option<String>,
    /// `build` settings such as `-trimpath=true`, `GOOS=linux`, in file order.
    pub settings: Vec<(String, String)>,
    /// The `mod` line's version (`(devel)`, `v1.2.3`), if any.
    pub main_version: Option<String>,
    /// `dep` lines in file order.
    pub deps: Vec<Module>,
}

/// One `dep` (or `mod`) line, with its `=>` replacement if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Module {
    pub path: String,
    pub version: String,
    pub sum: String,
    pub replace: Option<Box<Module>>,
}

impl BuildInfo {
    /// The value of build setting `key` (e.g. `-trimpath`, `CGO_ENABLED`, `vcs.revision`).
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const HEADER_SIZE: usize = 32;
/// Go strings in build info are small; anything above this is a corrupt length, not data.
const MAX_STRING: u64 = 64 << 20;
/// Go's searchMagic scans the whole data segment; the linker puts the blob at its start, so
/// bound the scan to keep a non-Go binary with a huge data segment cheap.
const MAX_SCAN: u64 = 64 << 20;

/// Reads build info from the file at `path`. Errors name the file and why (not a Go binary, ...).
pub fn read(path: &Path) -> anyhow::Result<BuildInfo> {
    let src = FileSrc::open(path)?;
    read_from(&src).with_context(|| path.display().to_string())
}

/// Reads build info from any ELF byte source.
pub fn read_from_source(src: &dyn Source) -> anyhow::Result<BuildInfo> {
    read_from(src)
}

/// Reads build info from the bytes of a whole executable (for tests and fuzzing).
pub fn read_bytes(data: &[u8]) -> anyhow::Result<BuildInfo> {
    read_from(&data)
}

fn read_from(src: &dyn Source) -> anyhow::Result<BuildInfo> {
    let elf = Elf::parse(src)?;
    // Where to look: the dedicated section, else the first writable, non-executable segment.
    let (region_off, region_size, _region_vaddr) = match elf.section(b".go.buildinfo") {
        Some(s) => (s.offset, s.size, s.addr),
        None => {
            const PF_X: u32 = 1;
            const PF_W: u32 = 2;
            let seg = elf
                .segments
                .iter()
                .find(|s| s.flags & (PF_X | PF_W) == PF_W)
                .context("not a Go executable (no .go.buildinfo section and no data segment)")?;
            (seg.offset, seg.filesz, seg.vaddr)
        }
    };
    let scan = region_size
        .min(MAX_SCAN)
        .min(src.len().saturating_sub(region_off));
    let at = find_magic(src, region_off, scan)?
        .context("not a Go executable (no \"\\xff Go buildinf:\" marker)")?;
    let header = src
        .read_exact_at(region_off + at, HEADER_SIZE as u64)
        .context("build info header")?;
    let ptr_size = header[14];
    let flags = header[15];

    let (version, modinfo) = if flags & 2 != 0 {
        // Go 1.18+: the strings follow the header inline.
        let mut off = region_off + at + HEADER_SIZE as u64;
        let version = read_uvarint_string(src, &mut off).context("go version string")?;
        let modinfo = read_uvarint_string(src, &mut off).context("module info string")?;
        (version, modinfo)
    } else {
        // Before 1.18: two pointers to Go string headers {data ptr, len}, in target byte order.
        let mut e = Elf {
            big: flags & 1 != 0,
            ..elf
        };
        e.is64 = match ptr_size {
            4 => false,
            8 => true,
            p => bail!("not a Go executable (build info pointer size {p})"),
        };
        let p = ptr_size as usize;
        let vers_ptr = e.word(&header[16..]);
        let mod_ptr = e.word(&header[16 + p..]);
        let version = read_go_string(&e, src, vers_ptr).context("go version string")?;
        let modinfo = read_go_string(&e, src, mod_ptr).unwrap_or_default();
        (version, modinfo)
    };
    if version.is_empty() {
        bail!("not a Go executable (empty Go version in build info)");
    }
    let version = String::from_utf8_lossy(&version);
    let modinfo = String::from_utf8_lossy(strip_sentinels(&modinfo));
    parse_modinfo(&version, &modinfo)
}

/// Looks for the magic at 16-byte aligned offsets (the linker aligns the blob; so does Go's
/// own search) within `len` bytes from `off`. Returns the offset relative to `off`.
fn find_magic(src: &dyn Source, off: u64, len: u64) -> anyhow::Result<Option<u64>> {
    const CHUNK: u64 = 64 * 1024;
    let mut pos = 0u64;
    while pos < len {
        let n = (CHUNK + MAGIC.len() as u64).min(len - pos);
        let buf = src.read_exact_at(off + pos, n)?;
        let mut i = 0usize;
        while i + MAGIC.len() <= buf.len() && (i as u64) < CHUNK {
            if &buf[i..i + MAGIC.len()] == MAGIC {
                return Ok(Some(pos + i as u64));
            }
            i += 16;
        }
        pos += CHUNK;
    }
    Ok(None)
}

fn read_uvarint_string(src: &dyn Source, off: &mut u64) -> anyhow::Result<Vec<u8>> {
    let avail = src.len().saturating_sub(*off).min(10);
    let b = src.read_exact_at(*off, avail)?;
    let mut len: u64 = 0;
    let mut shift = 0u32;
    let mut used = 0usize;
    loop {
        let Some(&c) = b.get(used) else {
            bail!("truncated length")
        };
        used += 1;
        anyhow::ensure!(shift < 64, "length varint overflows");
        len |= ((c & 0x7f) as u64) << shift;
        if c & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    anyhow::ensure!(len <= MAX_STRING, "string length {len} is implausible");
    *off += used as u64;
    let s = src.read_exact_at(*off, len)?;
    *off += len;
    Ok(s)
}

fn read_go_string(elf: &Elf, src: &dyn Source, addr: u64) -> anyhow::Result<Vec<u8>> {
    let w = if elf.is64 { 8 } else { 4 };
    let hdr = elf.read_vaddr(src, addr, 2 * w)?;
    anyhow::ensure!(hdr.len() as u64 == 2 * w, "string header truncated");
    let data = elf.word(&hdr);
    let len = elf.word(&hdr[w as usize..]);
    anyhow::ensure!(len <= MAX_STRING, "string length {len} is implausible");
    let s = elf.read_vaddr(src, data, len)?;
    anyhow::ensure!(s.len() as u64 == len, "string data truncated");
    Ok(s)
}

/// Removes the 16-byte sentinels cmd/go wraps module info in (modload.infoStart/infoEnd);
/// Go's own rule: only when the byte before the trailing sentinel is a newline.
fn strip_sentinels(m: &[u8]) -> &[u8] {
    if m.len() >= 33 && m[m.len() - 17] == b'\n' {
        &m[16..m.len() - 16]
    } else {
        &[]
    }
}

/// Parses the module-info text (runtime/debug.ParseBuildInfo's format) into a `BuildInfo`.
pub fn parse_modinfo(go_version: &str, text: &str) -> anyhow::Result<BuildInfo> {
    let mut bi = BuildInfo {
        go_version: go_version.to_string(),
        path: None,
        main_module: None,
        settings: Vec::new(),
        main_version: None,
        deps: Vec::new(),
    };
    // Which module a `=>` line replaces: None, the main module, or the last dep.
    enum Last {
        None,
        Main,
        Dep,
    }
    let mut last = Last::None;
    let mut main_mod: Option<Module> = None;
    for (i, line) in text.split('\n').enumerate() {
        let err =
            |msg: String| anyhow::anyhow!("could not parse Go build info: line {}: {msg}", i + 1);
        if let Some(p) = line.strip_prefix("path\t") {
            bi.path = Some(p.to_string());
        } else if let Some(rest) = line.strip_prefix("mod\t") {
            main_mod = Some(module_line(rest).map_err(err)?);
            last = Last::Main;
        } else if let Some(rest) = line.strip_prefix("dep\t") {
            bi.deps.push(module_line(rest).map_err(err)?);
            last = Last::Dep;
        } else if let Some(rest) = line.strip_prefix("=>\t") {
            let f: Vec<&str> = rest.split('\t').collect();
            if f.len() != 3 {
                return Err(err(format!(
                    "expected 3 columns for replacement; got {}",
                    f.len()
                )));
            }
            let rep = Some(Box::new(Module {
                path: f[0].into(),
                version: f[1].into(),
                sum: f[2].into(),
                replace: None,
            }));
            match last {
                Last::Main => main_mod.as_mut().expect("set").replace = rep,
                Last::Dep => bi.deps.last_mut().expect("pushed").replace = rep,
                Last::None => {
                    return Err(err("replacement with no module on previous line".into()));
                }
            }
            last = Last::None;
        } else if let Some(kv) = line.strip_prefix("build\t") {
            bi.settings.push(build_setting(kv).map_err(err)?);
        }
        // Blank and unknown lines are ignored, as Go does.
    }
    if let Some(m) = main_mod {
        bi.main_module = Some(m.path);
        bi.main_version = Some(m.version);
    }
    Ok(bi)
}

fn module_line(rest: &str) -> Result<Module, String> {
    let f: Vec<&str> = rest.split('\t').collect();
    if f.len() != 2 && f.len() != 3 {
        return Err(format!("expected 2 or 3 columns; got {}", f.len()));
    }
    Ok(Module {
        path: f[0].into(),
        version: f[1].into(),
        sum: f.get(2).copied().unwrap_or("").into(),
        replace: None,
    })
}

fn build_setting(kv: &str) -> Result<(String, String), String> {
    let (key, raw) = match kv.as_bytes().first() {
        None => return Err("build line missing '='".into()),
        Some(b'=') => return Err("build line with missing key".into()),
        Some(b'"') | Some(b'`') => {
            let (key, used) = unquote_prefix(kv).ok_or("invalid quoted key in build line")?;
            match kv.as_bytes().get(used) {
                Some(b'=') => (key, &kv[used + 1..]),
                _ => return Err("build line missing '=' after quoted key".into()),
            }
        }
        Some(_) => {
            let (k, v) = kv
                .split_once('=')
                .ok_or("build line missing '=' after key")?;
            (k.to_string(), v)
        }
    };
    let value = match raw.as_bytes().first() {
        Some(b'"') | Some(b'`') => match unquote_prefix(raw) {
            Some((v, used)) if used == raw.len() => v,
            _ => return Err(format!("invalid quoted value in build line: {raw:?}")),
        },
        _ => raw.to_string(),
    };
    Ok((key, value))
}

/// Decodes the Go string literal at the start of `s` (interpreted or raw); returns the value
/// and how many bytes the literal took. Supports the escapes strconv.Quote produces.
fn unquote_prefix(s: &str) -> Option<(String, usize)> {
    let mut chars = s.char_indices();
    let (_, q) = chars.next()?;
    if q == '`' {
        let end = s[1..].find('`')? + 1;
        return Some((s[1..end].to_string(), end + 1));
    }
    let mut out = String::new();
    let mut bytes: Vec<u8> = Vec::new(); // pending \x / octal bytes, flushed as UTF-8 (lossy)
    let flush = |out: &mut String, bytes: &mut Vec<u8>| {
        if !bytes.is_empty() {
            out.push_str(&String::from_utf8_lossy(bytes));
            bytes.clear();
        }
    };
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                flush(&mut out, &mut bytes);
                return Some((out, i + 1));
            }
            '\n' => return None,
            '\\' => {
                let (_, e) = chars.next()?;
                let simple = match e {
                    'a' => Some('\x07'),
                    'b' => Some('\x08'),
                    'f' => Some('\x0c'),
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    'v' => Some('\x0b'),
                    '\\' => Some('\\'),
                    '"' => Some('"'),
                    '\'' => Some('\''),
                    _ => None,
                };
                if let Some(ch) = simple {
                    flush(&mut out, &mut bytes);
                    out.push(ch);
                    continue;
                }
                let take =
                    |chars: &mut std::str::CharIndices, n: usize, radix: u32| -> Option<u32> {
                        let mut v = 0u32;
                        for _ in 0..n {
                            v = v.checked_mul(radix)? + chars.next()?.1.to_digit(radix)?;
                        }
                        Some(v)
                    };
                match e {
                    'x' => bytes.push(take(&mut chars, 2, 16)? as u8),
                    'u' | 'U' => {
                        flush(&mut out, &mut bytes);
                        let v = take(&mut chars, if e == 'u' { 4 } else { 8 }, 16)?;
                        out.push(char::from_u32(v)?);
                    }
                    '0'..='7' => {
                        let rest = take(&mut chars, 2, 8)?;
                        let v = e.to_digit(8)? * 64 + rest;
                        bytes.push(u8::try_from(v).ok()?);
                    }
                    _ => return None,
                }
            }
            c => {
                flush(&mut out, &mut bytes);
                out.push(c);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;

    fn goroot() -> PathBuf {
        let out = Command::new("go")
            .args(["env", "GOROOT"])
            .env("GOTOOLCHAIN", "local")
            .output()
            .expect("`go` must be on PATH for these tests");
        assert!(out.status.success());
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    }

    fn go_version_of(goroot: &Path) -> String {
        // `go env GOVERSION` reports the running toolchain's version: the truth to compare with.
        let out = Command::new(goroot.join("bin/go"))
            .args(["env", "GOVERSION"])
            .env("GOTOOLCHAIN", "local")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn real_go_gofmt_compile() {
        let root = goroot();
        let want = go_version_of(&root);
        let go = read(&root.join("bin/go")).unwrap();
        assert_eq!(go.go_version, want);
        assert_eq!(go.path.as_deref(), Some("cmd/go"));
        // Toolchain binaries carry no `mod` line (std/cmd are not modules in build info).
        assert_eq!(go.main_module, None);
        assert_eq!(
            go.setting("GOOS"),
            Some(std::env::consts::OS),
            "{:?}",
            go.settings
        );
        assert_eq!(go.setting("-compiler"), Some("gc"));
        let gofmt = read(&root.join("bin/gofmt")).unwrap();
        assert_eq!(gofmt.go_version, want);
        assert_eq!(gofmt.path.as_deref(), Some("cmd/gofmt"));
        let tooldir = std::fs::read_dir(root.join("pkg/tool"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.join("compile").exists())
            .expect("pkg/tool/<os>_<arch>/compile");
        let compile = read(&tooldir.join("compile")).unwrap();
        assert_eq!(compile.go_version, want);
        assert_eq!(compile.path.as_deref(), Some("cmd/compile"));
    }

    #[test]
    fn non_go_files_give_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("notes.txt");
        std::fs::write(&txt, "hello").unwrap();
        let e = format!("{:#}", read(&txt).unwrap_err());
        assert!(e.contains("notes.txt") && e.contains("not an ELF"), "{e}");
        // A real non-Go ELF: /bin/sh (dash or bash) is C.
        let e = format!("{:#}", read(Path::new("/bin/sh")).unwrap_err());
        assert!(e.contains("not a Go executable"), "{e}");
        let e = format!("{:#}", read(&dir.path().join("absent")).unwrap_err());
        assert!(e.contains("cannot open"), "{e}");
    }

    #[test]
    fn truncated_and_garbled_copies_never_panic() {
        let go = std::fs::read(goroot().join("bin/gofmt")).unwrap();
        let good = read_bytes(&go).unwrap();
        assert!(good.go_version.starts_with("go"));
        for cut in [0, 3, 16, 63, 64, 200, 4096, go.len() / 2] {
            let _ = read_bytes(&go[..cut]);
        }
        // Flip bytes inside the blob's header and strings.
        let at = go.windows(MAGIC.len()).position(|w| w == MAGIC).unwrap();
        for k in 14..80 {
            let mut bad = go.clone();
            bad[at + k] ^= 0xff;
            let _ = read_bytes(&bad);
        }
    }

    #[test]
    fn pointer_format_blob() {
        // A synthetic pre-1.18 ELF64 LE: one RW PT_LOAD at vaddr 0x1000 mapping file offset 0x100,
        // holding the header (flags=0, ptrsize=8) and two Go string headers.
        let mut f = vec![0u8; 0x400];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
        f[54..56].copy_from_slice(&56u16.to_le_bytes()); // phentsize
        f[56..58].copy_from_slice(&1u16.to_le_bytes()); // phnum
        let ph = 64;
        f[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        f[ph + 4..ph + 8].copy_from_slice(&6u32.to_le_bytes()); // R|W
        f[ph + 8..ph + 16].copy_from_slice(&0x100u64.to_le_bytes());
        f[ph + 16..ph + 24].copy_from_slice(&0x1000u64.to_le_bytes());
        f[ph + 32..ph + 40].copy_from_slice(&0x300u64.to_le_bytes());
        let b = 0x100;
        f[b..b + 14].copy_from_slice(MAGIC);
        f[b + 14] = 8;
        f[b + 15] = 0;
        f[b + 16..b + 24].copy_from_slice(&0x1040u64.to_le_bytes()); // &version
        f[b + 24..b + 32].copy_from_slice(&0x1050u64.to_le_bytes()); // &modinfo
        let vers = b"go1.16.15";
        let modinfo = {
            let mut m = vec![0x30u8; 16];
            m.extend_from_slice(b"path\texample.com/x\nmod\texample.com/x\t(devel)\t\ndep\tgolang.org/x/sys\tv0.1.0\th1:abc=\n=>\t../sys\t(devel)\t\n");
            m.extend_from_slice(&[0xf9u8; 16]);
            m
        };
        f[b + 0x40..b + 0x48].copy_from_slice(&0x1100u64.to_le_bytes());
        f[b + 0x48..b + 0x50].copy_from_slice(&(vers.len() as u64).to_le_bytes());
        f[b + 0x50..b + 0x58].copy_from_slice(&0x1120u64.to_le_bytes());
        f[b + 0x58..b + 0x60].copy_from_slice(&(modinfo.len() as u64).to_le_bytes());
        f[b + 0x100..b + 0x100 + vers.len()].copy_from_slice(vers);
        f[b + 0x120..b + 0x120 + modinfo.len()].copy_from_slice(&modinfo);
        let bi = read_bytes(&f).unwrap();
        assert_eq!(bi.go_version, "go1.16.15");
        assert_eq!(bi.path.as_deref(), Some("example.com/x"));
        assert_eq!(bi.main_version.as_deref(), Some("(devel)"));
        assert_eq!(bi.deps.len(), 1);
        assert_eq!(bi.deps[0].replace.as_ref().unwrap().path, "../sys");
    }

    #[test]
    fn modinfo_lines() {
        let text = "path\tcmd/go\nmod\tcmd\t(devel)\t\nbuild\t-ldflags=\"-X main.v=1 -s\"\nbuild\t\"we ird\"=`raw`\nbuild\tCGO_ENABLED=0\nbuild\tvcs.modified=false\n";
        let bi = parse_modinfo("go1.26.8", text).unwrap();
        assert_eq!(bi.setting("-ldflags"), Some("-X main.v=1 -s"));
        assert_eq!(bi.setting("we ird"), Some("raw"));
        assert_eq!(bi.setting("CGO_ENABLED"), Some("0"));
        assert_eq!(bi.settings.len(), 4);
        for bad in [
            "build\t",
            "build\t=x",
            "build\tnoequals",
            "=>\ta\tb\tc",
            "dep\tonly",
            "build\t\"k\"x",
        ] {
            assert!(parse_modinfo("go1", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            unquote_prefix(r#""a\x41\101\u00e9\n" tail"#),
            Some(("aAAé\n".to_string(), 19))
        );
    }
}
