//! Reads the parts of an ELF executable that golat needs (header, PT_LOAD segments, named
//! sections) with small positioned reads, for build info and Go's function table.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use anyhow::{Context, bail};

/// Where ELF bytes come from: a file read with pread, or a byte slice (tests, fuzzing).
pub trait Source {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads up to `buf.len()` bytes at `off`; returns how many were read (0 at EOF).
    fn read_at(&self, off: u64, buf: &mut [u8]) -> std::io::Result<usize>;

    fn read_exact_at(&self, off: u64, n: u64) -> anyhow::Result<Vec<u8>> {
        let end = off.checked_add(n).context("offset overflow")?;
        anyhow::ensure!(
            end <= self.len(),
            "truncated file (wanted bytes {off}..{end})"
        );
        let mut buf = vec![0u8; n as usize];
        let mut done = 0;
        while done < buf.len() {
            let k = self.read_at(off + done as u64, &mut buf[done..])?;
            anyhow::ensure!(k > 0, "unexpected end of file");
            done += k;
        }
        Ok(buf)
    }
}

pub struct FileSrc {
    file: File,
    len: u64,
}

impl FileSrc {
    pub fn open(path: &Path) -> anyhow::Result<FileSrc> {
        let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let len = file
            .metadata()
            .with_context(|| format!("{}: cannot stat", path.display()))?
            .len();
        Ok(FileSrc { file, len })
    }
}

impl Source for FileSrc {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, off: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read_at(buf, off)
    }
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, off: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(rest) = usize::try_from(off).ok().and_then(|o| self.get(o..)) else {
            return Ok(0);
        };
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Segment {
    pub vaddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub flags: u32,
}

/// One section header with its name.
#[derive(Debug, Clone)]
pub struct Section {
    pub name: Vec<u8>,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
}

pub struct Elf {
    pub big: bool,
    pub is64: bool,
    /// `e_type`: 2 (ET_EXEC) for a fixed-address executable, 3 (ET_DYN) for PIE.
    pub kind: u16,
    /// `e_entry`, the link-time entry address.
    pub entry: u64,
    /// `e_machine` (62 x86-64, 3 i386, ...).
    pub machine: u16,
    pub segments: Vec<Segment>,
    pub sections: Vec<Section>,
}

impl Elf {
    pub fn u16(&self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.big {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }
    pub fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }
    pub fn u64(&self, b: &[u8]) -> u64 {
        let a: [u8; 8] = b[..8].try_into().expect("8 bytes");
        if self.big {
            u64::from_be_bytes(a)
        } else {
            u64::from_le_bytes(a)
        }
    }
    /// A target-sized word (address or offset).
    pub fn word(&self, b: &[u8]) -> u64 {
        if self.is64 {
            self.u64(b)
        } else {
            self.u32(b) as u64
        }
    }

    pub fn parse(src: &dyn Source) -> anyhow::Result<Elf> {
        let ident = src.read_exact_at(0, 16.min(src.len())).unwrap_or_default();
        if ident.len() < 16 || &ident[..4] != b"\x7fELF" {
            bail!("not an ELF executable (no \\x7fELF header), so not a Linux Go binary");
        }
        let is64 = match ident[4] {
            1 => false,
            2 => true,
            c => bail!("ELF header has unknown class {c}"),
        };
        let big = match ident[5] {
            1 => false,
            2 => true,
            d => bail!("ELF header has unknown byte order {d}"),
        };
        let mut elf = Elf {
            big,
            is64,
            kind: 0,
            entry: 0,
            machine: 0,
            segments: Vec::new(),
            sections: Vec::new(),
        };
        let hdr = src
            .read_exact_at(0, if is64 { 64 } else { 52 })
            .context("ELF header")?;
        elf.kind = elf.u16(&hdr[16..]);
        elf.machine = elf.u16(&hdr[18..]);
        elf.entry = elf.word(&hdr[24..]);
        let (phoff, shoff, rest) = if is64 {
            (elf.u64(&hdr[32..]), elf.u64(&hdr[40..]), &hdr[52..])
        } else {
            (
                elf.u32(&hdr[28..]) as u64,
                elf.u32(&hdr[32..]) as u64,
                &hdr[40..],
            )
        };
        let phentsize = elf.u16(&rest[2..]) as u64;
        let phnum = elf.u16(&rest[4..]) as u64;
        let shentsize = elf.u16(&rest[6..]) as u64;
        let shnum = elf.u16(&rest[8..]) as u64;
        let shstrndx = elf.u16(&rest[10..]) as u64;

        let min_ph = if is64 { 56 } else { 32 };
        if phnum > 0 {
            anyhow::ensure!(phentsize >= min_ph, "ELF program header entries too small");
            let table = src
                .read_exact_at(phoff, phentsize * phnum)
                .context("ELF program headers")?;
            for p in table.chunks_exact(phentsize as usize) {
                if elf.u32(p) != 1 {
                    continue; // not PT_LOAD
                }
                let seg = if is64 {
                    Segment {
                        flags: elf.u32(&p[4..]),
                        offset: elf.u64(&p[8..]),
                        vaddr: elf.u64(&p[16..]),
                        filesz: elf.u64(&p[32..]),
                    }
                } else {
                    Segment {
                        offset: elf.u32(&p[4..]) as u64,
                        vaddr: elf.u32(&p[8..]) as u64,
                        filesz: elf.u32(&p[16..]) as u64,
                        flags: elf.u32(&p[24..]),
                    }
                };
                elf.segments.push(seg);
            }
        }

        let min_sh = if is64 { 64 } else { 40 };
        if shnum > 0 && shstrndx < shnum && shentsize >= min_sh {
            // Section headers are optional for execution; a stripped-of-sections file still
            // has its blob in the data segment, so failures here fall through to that path.
            if let Ok(table) = src.read_exact_at(shoff, shentsize * shnum) {
                let sh = |i: u64| &table[(i * shentsize) as usize..((i + 1) * shentsize) as usize];
                let fields = |s: &[u8]| -> (u32, u64, u64, u64) {
                    if is64 {
                        (
                            elf.u32(s),
                            elf.u64(&s[16..]),
                            elf.u64(&s[24..]),
                            elf.u64(&s[32..]),
                        )
                    } else {
                        (
                            elf.u32(s),
                            elf.u32(&s[12..]) as u64,
                            elf.u32(&s[16..]) as u64,
                            elf.u32(&s[20..]) as u64,
                        )
                    }
                };
                let (_, _, stroff, strsize) = fields(sh(shstrndx));
                if let Ok(names) = src.read_exact_at(stroff, strsize.min(1 << 20)) {
                    let mut sections = Vec::with_capacity(shnum as usize);
                    for i in 0..shnum {
                        let (name, addr, off, size) = fields(sh(i));
                        let Some(n) = names.get(name as usize..) else {
                            continue;
                        };
                        let n = n.split(|&c| c == 0).next().unwrap_or_default();
                        sections.push(Section {
                            name: n.to_vec(),
                            addr,
                            offset: off,
                            size,
                        });
                    }
                    elf.sections = sections;
                }
            }
        }
        Ok(elf)
    }

    /// The first section called `name`.
    pub fn section(&self, name: &[u8]) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Reads up to `n` bytes at virtual address `addr` from the PT_LOAD segment holding it;
    /// fewer when the segment's file image ends first (like debug/buildinfo's ReadData).
    pub fn read_vaddr(&self, src: &dyn Source, addr: u64, n: u64) -> anyhow::Result<Vec<u8>> {
        for s in &self.segments {
            if addr >= s.vaddr && addr - s.vaddr < s.filesz {
                let within = addr - s.vaddr;
                let n = n.min(s.filesz - within);
                return src.read_exact_at(s.offset + within, n);
            }
        }
        bail!("address {addr:#x} is not in any loaded segment")
    }
}
