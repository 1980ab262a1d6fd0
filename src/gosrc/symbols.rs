//! Finds the entry addresses of named Go functions in an executable without running it: from
//! the ELF symbol table, or, in a binary built with `-ldflags=-s -w` (no symbol table), from
//! Go's own function table (`.gopclntab`), which every Go binary keeps for stack traces.
//!
//! The function table (Go source: runtime/symtab.go `pcHeader`, `_func`; debug/gosym) gives
//! each function's entry as an offset from `runtime.text`. In a binary linked by Go's own
//! linker `runtime.text` is the start of `.text`; an externally linked one (cgo) has C code
//! first, so the start is read from `runtime.firstmoduledata`, the module record whose first
//! word points at the function table and whose `text` field (word 22, the same in Go 1.18
//! through 1.27) is `runtime.text`.

use std::path::Path;

use anyhow::{Context, bail};

use super::elf::{Elf, FileSrc, Source};

/// Go 1.20+ function table (Go 1.22-1.27 all write it).
const PCLNTAB_MAGIC_120: u32 = 0xffff_fff1;
/// Go 1.18-1.19: same layout for what is read here.
const PCLNTAB_MAGIC_118: u32 = 0xffff_fff0;
/// Bigger tables are not read: a corrupt size must not make golat read gigabytes at an exec.
const MAX_TABLE: u64 = 512 << 20;
/// How much data golat scans for the module record.
const MAX_DATA_SCAN: u64 = 64 << 20;
/// The `text` field's index in `runtime.moduledata`, in words: after the pcHeader pointer,
/// six slices (three words each), findfunctab, minpc and maxpc.
const MODULEDATA_TEXT_WORD: usize = 22;

/// Which table the addresses came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Table {
    /// The ELF `.symtab` (a binary that was not stripped).
    Symtab,
    /// Go's `.gopclntab` (a binary built with `-ldflags=-s`).
    Gopclntab,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Symtab => "symbol table",
            Table::Gopclntab => "Go function table (.gopclntab)",
        }
    }
}

/// Where the wanted functions are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Link-time entry address of each wanted name, in the order asked; `None` when the
    /// binary has no such function.
    pub addrs: Vec<Option<u64>>,
    pub table: Table,
    /// ET_DYN: loaded at a bias (PIE); addresses must be moved by `AT_ENTRY - entry`.
    pub pie: bool,
    /// `e_entry`.
    pub entry: u64,
    /// 64-bit ELF (else 32-bit: GOARCH=386).
    pub is64: bool,
}

/// What an executable offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(Located),
    /// Not a Go program (no Go build info and no Go function table).
    NotGo,
    /// A Go program whose functions cannot be found (why).
    NoTable(String),
}

/// Looks the names up in the executable at `path`.
pub fn lookup(path: &Path, names: &[&str]) -> Lookup {
    match FileSrc::open(path) {
        Ok(src) => lookup_in(&src, names),
        Err(_) => Lookup::NotGo,
    }
}

/// [`lookup`] over any byte source (tests, fuzzing).
pub fn lookup_in(src: &dyn Source, names: &[&str]) -> Lookup {
    let Ok(elf) = Elf::parse(src) else {
        return Lookup::NotGo;
    };
    let table = pclntab_section(&elf);
    let go = table.is_some()
        || elf.section(b".go.buildinfo").is_some()
        || (elf.sections.is_empty() && super::buildinfo::read_from_source(src).is_ok());
    if !go {
        return Lookup::NotGo;
    }
    let base = |addrs, table| Located {
        addrs,
        table,
        pie: elf.kind == 3,
        entry: elf.entry,
        is64: elf.is64,
    };
    let mut symtab_error = None;
    if elf.section(b".symtab").is_some() {
        match from_symtab(&elf, src, names) {
            Ok(addrs) if addrs.iter().any(Option::is_some) => {
                return Lookup::Found(base(addrs, Table::Symtab));
            }
            Ok(_) => {}
            Err(e) => symtab_error = Some(e),
        }
    }
    let Some(section) = table else {
        return Lookup::NoTable(match symtab_error {
            Some(e) => format!("its symbol table is unreadable ({e:#}) and it has no .gopclntab"),
            None => "it has neither a symbol table nor a .gopclntab section".into(),
        });
    };
    match from_pclntab(&elf, src, section, names) {
        Ok(addrs) => Lookup::Found(base(addrs, Table::Gopclntab)),
        Err(e) => Lookup::NoTable(format!("its .gopclntab is unreadable: {e:#}")),
    }
}

/// `.gopclntab`, or where a PIE build puts it.
fn pclntab_section(elf: &Elf) -> Option<(u64, u64, u64)> {
    elf.section(b".gopclntab")
        .or_else(|| elf.section(b".data.rel.ro.gopclntab"))
        .map(|s| (s.offset, s.size, s.addr))
}

fn from_symtab(elf: &Elf, src: &dyn Source, names: &[&str]) -> anyhow::Result<Vec<Option<u64>>> {
    let symtab = elf.section(b".symtab").context("no .symtab")?;
    // sh_link of .symtab names its string table; this reader keeps no links, and Go's
    // linker (and every external linker) calls it .strtab.
    let strtab = elf.section(b".strtab").context("no .strtab")?;
    anyhow::ensure!(
        symtab.size <= MAX_TABLE && strtab.size <= MAX_TABLE,
        "symbol table of {} bytes is implausible",
        symtab.size
    );
    let syms = src.read_exact_at(symtab.offset, symtab.size)?;
    let strs = src.read_exact_at(strtab.offset, strtab.size)?;
    let entsize = if elf.is64 { 24 } else { 16 };
    let mut found = vec![None; names.len()];
    for sym in syms.chunks_exact(entsize) {
        let (name_off, value, info) = if elf.is64 {
            (elf.u32(sym) as usize, elf.u64(&sym[8..]), sym[4])
        } else {
            (elf.u32(sym) as usize, elf.u32(&sym[4..]) as u64, sym[12])
        };
        // STT_FUNC only: data symbols may share a function's name prefix.
        if info & 0xf != 2 || value == 0 {
            continue;
        }
        let Some(rest) = strs.get(name_off..) else {
            continue;
        };
        let name = rest.split(|&c| c == 0).next().unwrap_or_default();
        if let Some(k) = names.iter().position(|n| n.as_bytes() == name) {
            found[k].get_or_insert(value);
        }
    }
    Ok(found)
}

fn from_pclntab(
    elf: &Elf,
    src: &dyn Source,
    (offset, size, vaddr): (u64, u64, u64),
    names: &[&str],
) -> anyhow::Result<Vec<Option<u64>>> {
    anyhow::ensure!(size <= MAX_TABLE, "{size} bytes is implausible");
    let mut wanted = names.to_vec();
    wanted.extend_from_slice(&RT0);
    let mut funcs = pclntab_funcs(src, (offset, size), elf.big, &wanted)?;
    let rt0 = funcs.split_off(names.len());
    let text = match moduledata_text(elf, src, vaddr) {
        Some(t) => t,
        None => {
            // No module record: `.text`'s start is right only if the program's entry point,
            // Go's rt0 when Go's own linker linked it, lands where the table puts rt0. A
            // wrong guess would put int3s inside instructions, so no guess is made.
            let text = elf
                .section(b".text")
                .map(|s| s.addr)
                .context("no .text section and no module record to place functions")?;
            anyhow::ensure!(
                rt0.iter()
                    .flatten()
                    .any(|&(off, _)| text + off as u64 == elf.entry),
                "its functions cannot be placed: no module record, and the entry point is not Go's rt0"
            );
            text
        }
    };
    Ok(funcs
        .into_iter()
        .map(|f| f.map(|(entry_off, _)| text + entry_off as u64))
        .collect())
}

/// The entry point of a Go program linked by Go's own linker, per GOARCH.
const RT0: [&str; 2] = ["_rt0_amd64_linux", "_rt0_386_linux"];

/// For each name, (entry offset from `runtime.text`, size) of the largest function by that
/// name: an ABI wrapper (`runtime.schedinit.abi0`, a jump into the real function) carries
/// the same name in this table, and only the real function is reached by every caller.
///
/// Only the header, the name table and the function records are read, not the pc-value
/// tables between them (about 40% of the section): this runs while the program waits at
/// its exec stop.
fn pclntab_funcs(
    src: &dyn Source,
    (offset, size): (u64, u64),
    big: bool,
    names: &[&str],
) -> anyhow::Result<Vec<Option<(u32, u32)>>> {
    let u32_in = |b: &[u8], off: usize| -> anyhow::Result<u32> {
        let b: [u8; 4] = b
            .get(off..off + 4)
            .context("function table cut short")?
            .try_into()
            .expect("4 bytes");
        Ok(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let head = src.read_exact_at(offset, size.min(8 + 8 * 8))?;
    let magic = u32_in(&head, 0)?;
    if magic != PCLNTAB_MAGIC_120 && magic != PCLNTAB_MAGIC_118 {
        bail!(
            "unknown function table version (magic {magic:#x}; Go 1.18 or newer writes 0xfffffff0/1)"
        );
    }
    let ptr = *head.get(7).context("function table cut short")? as usize;
    anyhow::ensure!(ptr == 4 || ptr == 8, "pointer size {ptr}");
    let word = |i: usize| -> anyhow::Result<u64> {
        let off = 8 + i * ptr;
        let b = head
            .get(off..off + ptr)
            .context("function table header cut short")?;
        let mut v = [0u8; 8];
        if big {
            v[8 - ptr..].copy_from_slice(b);
            Ok(u64::from_be_bytes(v))
        } else {
            v[..ptr].copy_from_slice(b);
            Ok(u64::from_le_bytes(v))
        }
    };
    let nfunc = word(0)?;
    let funcnametab = word(3)?;
    let cutab = word(4)?;
    let functab = word(7)?;
    anyhow::ensure!(
        funcnametab < size && functab < size,
        "function table offsets point outside it"
    );
    anyhow::ensure!(
        nfunc <= (size - functab) / 8,
        "{nfunc} functions do not fit the table"
    );
    // The names run up to the next table, which the linker writes right after them.
    let names_end = if cutab > funcnametab && cutab <= size {
        cutab
    } else {
        size
    };
    let names_blob = src.read_exact_at(offset + funcnametab, names_end - funcnametab)?;
    // Each name is stored once; find the offsets of the wanted ones.
    let mut wanted: Vec<(u32, usize)> = Vec::new();
    let mut at = 0usize;
    for name in names_blob.split(|&c| c == 0) {
        if let Some(k) = names.iter().position(|n| n.as_bytes() == name) {
            wanted.push((at as u32, k));
        }
        at += name.len() + 1;
    }
    let mut best: Vec<Option<(u32, u32)>> = vec![None; names.len()];
    if wanted.is_empty() {
        return Ok(best);
    }
    let records = src.read_exact_at(offset + functab, size - functab)?;
    for i in 0..nfunc as usize {
        let entry = u32_in(&records, 8 * i)?;
        let funcoff = u32_in(&records, 8 * i + 4)? as usize;
        let name_off = u32_in(&records, funcoff + 4)?;
        let Some(&(_, k)) = wanted.iter().find(|(o, _)| *o == name_off) else {
            continue;
        };
        let next = u32_in(&records, 8 * (i + 1))?;
        let len = next.saturating_sub(entry);
        if best[k].is_none_or(|(_, l)| len > l) {
            best[k] = Some((entry, len));
        }
    }
    Ok(best)
}

/// `runtime.text` from `runtime.firstmoduledata`: a word equal to the function table's
/// address followed, at words 20-23, by minpc, maxpc, text and etext in that order and
/// inside an executable segment.
fn moduledata_text(elf: &Elf, src: &dyn Source, pclntab_addr: u64) -> Option<u64> {
    const PF_X: u32 = 1;
    const PF_W: u32 = 2;
    let w = if elf.is64 { 8 } else { 4 };
    let exec_range = |a: u64| {
        elf.segments
            .iter()
            .any(|s| s.flags & PF_X != 0 && a >= s.vaddr && a - s.vaddr < s.filesz)
    };
    let regions: Vec<(u64, u64)> = {
        let named: Vec<(u64, u64)> = elf
            .sections
            .iter()
            .filter(|s| {
                matches!(
                    s.name.as_slice(),
                    b".noptrdata" | b".data" | b".data.rel.ro" | b".go.module"
                )
            })
            .map(|s| (s.offset, s.size))
            .collect();
        if named.is_empty() {
            elf.segments
                .iter()
                .filter(|s| s.flags & (PF_X | PF_W) == PF_W)
                .map(|s| (s.offset, s.filesz))
                .collect()
        } else {
            named
        }
    };
    let mut budget = MAX_DATA_SCAN;
    for (off, size) in regions {
        let n = size.min(budget);
        budget -= n;
        let Ok(data) = src.read_exact_at(off, n) else {
            continue;
        };
        let words = MODULEDATA_TEXT_WORD + 2;
        let mut i = 0;
        while i + words * w <= data.len() {
            if elf.word(&data[i..]) == pclntab_addr {
                let at = |k: usize| elf.word(&data[i + k * w..]);
                let (minpc, maxpc) = (at(20), at(21));
                let (text, etext) = (at(MODULEDATA_TEXT_WORD), at(MODULEDATA_TEXT_WORD + 1));
                if text <= minpc && minpc < maxpc && maxpc <= etext && exec_range(text) {
                    return Some(text);
                }
            }
            i += w;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const NAMES: [&str; 4] = [
        "runtime.schedinit",
        "runtime.main",
        "runtime.gcenable",
        "main.main",
    ];

    /// `go tool nm`'s address of each name in an unstripped twin.
    fn nm(bin: &Path) -> Vec<Option<u64>> {
        let out = Command::new("go")
            .args(["tool", "nm"])
            .arg(bin)
            .output()
            .expect("go tool nm");
        let text = String::from_utf8_lossy(&out.stdout);
        NAMES
            .iter()
            .map(|n| {
                text.lines().find_map(|l| {
                    let mut f = l.split_whitespace();
                    let (addr, kind, name) = (f.next()?, f.next()?, f.next()?);
                    (name == *n && (kind == "T" || kind == "t"))
                        .then(|| u64::from_str_radix(addr, 16).ok())
                        .flatten()
                })
            })
            .collect()
    }

    fn build(dir: &Path, out: &Path, env: &[(&str, &str)], flags: &[&str]) -> bool {
        let mut c = Command::new("go");
        c.arg("build")
            .args(flags)
            .arg("-o")
            .arg(out)
            .arg(".")
            .current_dir(dir);
        c.env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-buildvcs=false");
        for (k, v) in env {
            c.env(k, v);
        }
        c.status().is_ok_and(|s| s.success())
    }

    /// Stripped and unstripped, PIE and not, cgo (externally linked) and GOARCH=386 builds
    /// of one program: the stripped binary's addresses, found in .gopclntab, equal what
    /// `go tool nm` reads from the symbol table of the same build unstripped.
    #[test]
    fn stripped_binaries_give_the_symbol_tables_addresses() {
        let Ok(out) = Command::new("go").arg("version").output() else {
            assert!(std::env::var("CI").is_err(), "go is required in CI");
            return;
        };
        assert!(out.status.success());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("go.mod"), "module symtest\ngo 1.22\n").unwrap();
        let cc = Command::new("cc").arg("--version").output().is_ok();
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
        let cases: &[Case] = &[
            ("static", &[("CGO_ENABLED", "0")], &[]),
            ("pie", &[("CGO_ENABLED", "0")], &["-buildmode=pie"]),
            ("i386", &[("CGO_ENABLED", "0"), ("GOARCH", "386")], &[]),
            ("cgo", &[("CGO_ENABLED", "1")], &[]),
            ("cgo-pie", &[("CGO_ENABLED", "1")], &["-buildmode=pie"]),
        ];
        for (name, env, flags) in cases {
            if name.starts_with("cgo") && !cc {
                assert!(std::env::var("CI").is_err(), "cc is required in CI");
                continue;
            }
            // Only the cgo builds get C code (an externally linked binary).
            let main = if name.starts_with("cgo") {
                "package main\n\n/*\nint twice(int x) { return 2*x; }\n*/\nimport \"C\"\n\nfunc main() { println(C.twice(2)) }\n"
            } else {
                "package main\n\nfunc main() { println(2) }\n"
            };
            std::fs::write(dir.path().join("main.go"), main).unwrap();
            let full = dir.path().join(format!("{name}.full"));
            let stripped = dir.path().join(format!("{name}.stripped"));
            assert!(build(dir.path(), &full, env, flags), "{name}: build");
            let mut sflags = flags.to_vec();
            sflags.push("-ldflags=-s -w");
            assert!(
                build(dir.path(), &stripped, env, &sflags),
                "{name}: stripped build"
            );
            let want = nm(&full);
            assert!(
                want.iter().all(Option::is_some),
                "{name}: nm found {want:?}"
            );
            let Lookup::Found(a) = lookup(&full, &NAMES) else {
                panic!("{name}: not found in the full build");
            };
            assert_eq!(a.table, Table::Symtab);
            assert_eq!(a.addrs, want, "{name}: symtab");
            let Lookup::Found(b) = lookup(&stripped, &NAMES) else {
                panic!("{name}: not found in the stripped build");
            };
            assert_eq!(b.table, Table::Gopclntab);
            // The stripped build is the same code at the same addresses.
            assert_eq!(b.addrs, want, "{name}: gopclntab");
            assert_eq!(b.pie, name.contains("pie"), "{name}: pie");
            assert_eq!(b.is64, *name != "i386");
        }
    }

    #[test]
    fn non_go_and_garbage_are_told_apart() {
        assert_eq!(lookup(Path::new("/bin/sh"), &NAMES), Lookup::NotGo);
        assert_eq!(lookup(Path::new("/nonexistent"), &NAMES), Lookup::NotGo);
        assert_eq!(lookup_in(&&b"\x7fELF garbage"[..], &NAMES), Lookup::NotGo);
    }

    /// Cut and flipped copies of a real Go binary never panic.
    #[test]
    fn damaged_binaries_never_panic() {
        let exe = std::env::var("GOROOT")
            .ok()
            .map(std::path::PathBuf::from)
            .or_else(|| {
                let out = Command::new("go").args(["env", "GOROOT"]).output().ok()?;
                Some(String::from_utf8_lossy(&out.stdout).trim().into())
            })
            .map(|r| r.join("bin/gofmt"));
        let Some(data) = exe.and_then(|p| std::fs::read(p).ok()) else {
            assert!(std::env::var("CI").is_err(), "go is required in CI");
            return;
        };
        assert!(matches!(
            lookup_in(&data.as_slice(), &NAMES),
            Lookup::Found(_)
        ));
        for cut in [
            64usize,
            4096,
            data.len() / 3,
            data.len() / 2,
            data.len() - 100,
        ] {
            let _ = lookup_in(&&data[..cut], &NAMES);
        }
        let mut flipped = data.clone();
        let mut x = 12345u64;
        for _ in 0..200 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = (x >> 16) as usize % flipped.len();
            flipped[i] ^= 0xff;
            let _ = lookup_in(&flipped.as_slice(), &NAMES);
        }
    }
}
