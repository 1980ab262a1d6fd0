//! Byte-level input: the 16-byte header, unsigned LEB128 varints as Go's `encoding/binary`
//! reads them, and a counting buffered source so every error can name its file offset.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use super::error::{ErrorKind, TraceError};

/// Trace format versions golat reads (the `N` in the `go 1.N trace` header).
pub const SUPPORTED: [u32; 4] = [22, 23, 25, 26];

/// Which Go releases write a given header, for messages.
pub fn written_by(v: u32) -> &'static str {
    match v {
        22 => "Go 1.22",
        23 => "Go 1.23–1.24",
        25 => "Go 1.25",
        26 => "Go 1.26–1.27",
        _ => "an unknown Go release",
    }
}

/// A buffered reader that knows the absolute offset of the next byte.
pub struct Src<R> {
    r: R,
    /// Read at offsets of this file instead of from `r` (both the same regular file), so
    /// that bytes skipped are never read.
    at: Option<Arc<File>>,
    /// The file's length when last asked (skips within it need not ask again).
    at_len: u64,
    /// Bytes the next refill reads: after a skip only a little, for the next batch's header.
    want: usize,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
}

/// What a refill reads right after a skip: the next batch header and a bit more.
const FILL_AFTER_SKIP: usize = 512;

#[derive(Debug)]
pub enum VarintErr {
    /// Clean end of input before the first byte.
    Eof,
    /// End of input inside the varint.
    UnexpectedEof,
    Overflow,
    Io(io::Error),
}

impl std::fmt::Display for VarintErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VarintErr::Eof => f.write_str("EOF"),
            VarintErr::UnexpectedEof => f.write_str("unexpected EOF"),
            VarintErr::Overflow => f.write_str("varint overflows a 64-bit integer"),
            VarintErr::Io(e) => write!(f, "{e}"),
        }
    }
}

impl<R: Read> Src<R> {
    pub fn new(r: R) -> Self {
        const BUF: usize = 256 << 10;
        Src {
            r,
            at: None,
            at_len: 0,
            want: BUF,
            buf: vec![0u8; BUF].into_boxed_slice(),
            pos: 0,
            end: 0,
            base: 0,
        }
    }

    /// A source that reads regular file `at` at offsets from its start; `r`, a handle on
    /// the same file, is then not read.
    pub fn at(r: R, at: Arc<File>) -> Self {
        Src {
            at: Some(at),
            ..Self::new(r)
        }
    }

    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Refills the buffer; false at end of input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.pos < self.end {
            return Ok(true);
        }
        self.base += self.end as u64;
        self.pos = 0;
        self.end = 0;
        let want = std::mem::replace(&mut self.want, self.buf.len());
        loop {
            let got = match &self.at {
                Some(f) => f.read_at(&mut self.buf[..want], self.base),
                None => self.r.read(&mut self.buf),
            };
            match got {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub fn read_byte(&mut self) -> io::Result<Option<u8>> {
        if self.pos == self.end && !self.fill()? {
            return Ok(None);
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(Some(b))
    }

    /// `binary.ReadUvarint`: padded (non-minimal) encodings are accepted.
    pub fn read_uvarint(&mut self) -> Result<u64, VarintErr> {
        let mut x: u64 = 0;
        let mut s: u32 = 0;
        for i in 0..10 {
            let b = match self.read_byte() {
                Ok(Some(b)) => b,
                Ok(None) => {
                    return Err(if i > 0 {
                        VarintErr::UnexpectedEof
                    } else {
                        VarintErr::Eof
                    });
                }
                Err(e) => return Err(VarintErr::Io(e)),
            };
            if b < 0x80 {
                if i == 9 && b > 1 {
                    return Err(VarintErr::Overflow);
                }
                return Ok(x | (b as u64) << s);
            }
            x |= ((b & 0x7f) as u64) << s;
            s += 7;
        }
        Err(VarintErr::Overflow)
    }

    /// The next byte without consuming it; None at end of input.
    pub fn peek_byte(&mut self) -> io::Result<Option<u8>> {
        if self.pos == self.end && !self.fill()? {
            return Ok(None);
        }
        Ok(Some(self.buf[self.pos]))
    }

    /// Consumes up to `n` bytes without copying them out; returns how many were available.
    /// Reading at offsets, bytes past the buffer are not read at all.
    pub fn skip(&mut self, n: usize) -> io::Result<usize> {
        let buffered = self.end - self.pos;
        if let Some(f) = &self.at
            && n > buffered
        {
            let off = self.offset();
            let to = off + n as u64;
            if to > self.at_len {
                self.at_len = f.metadata()?.len();
            }
            let to = to.min(self.at_len.max(off));
            self.base = to;
            self.pos = 0;
            self.end = 0;
            self.want = FILL_AFTER_SKIP.min(self.buf.len());
            return Ok((to - off) as usize);
        }
        let mut got = 0;
        while got < n {
            if self.pos == self.end && !self.fill()? {
                break;
            }
            let take = (n - got).min(self.end - self.pos);
            self.pos += take;
            got += take;
        }
        Ok(got)
    }

    /// Appends up to `n` bytes to `out`; returns how many were available.
    pub fn read_into(&mut self, out: &mut Vec<u8>, n: usize) -> io::Result<usize> {
        let mut got = 0;
        while got < n {
            if self.pos == self.end && !self.fill()? {
                break;
            }
            let take = (n - got).min(self.end - self.pos);
            out.extend_from_slice(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
            got += take;
        }
        Ok(got)
    }
}

/// `binary.Uvarint` over a slice: (value, bytes used), or None when too short or overflowing.
#[inline(always)]
pub fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    // Fast path: one byte.
    if let Some(&b0) = b.first()
        && b0 < 0x80
    {
        return Some((b0 as u64, 1));
    }
    let mut x: u64 = 0;
    let mut s: u32 = 0;
    for (i, &byte) in b.iter().enumerate() {
        if i == 10 {
            return None;
        }
        if byte < 0x80 {
            if i == 9 && byte > 1 {
                return None;
            }
            return Some((x | (byte as u64) << s, i + 1));
        }
        x |= ((byte & 0x7f) as u64) << s;
        s += 7;
    }
    None
}

/// Reads and classifies the 16-byte header; returns the format version.
pub fn read_header<R: Read>(src: &mut Src<R>) -> Result<u32, TraceError> {
    let mut hdr = Vec::with_capacity(16);
    let n = src
        .read_into(&mut hdr, 16)
        .map_err(|e| TraceError::new(ErrorKind::Io, format!("reading the header: {e}")))?;
    let not_go = |why: &str| {
        TraceError::new(
            ErrorKind::NotGoTrace,
            format!(
                "not a Go execution trace ({why}); expected a file starting with \"go 1.N trace\""
            ),
        )
    };
    if n >= 2 && hdr[0] == 0x1f && hdr[1] == 0x8b {
        // gzip(1) records the original name (FNAME, flag bit 3); Go's pprof writer, whose
        // profiles are gzip'ed protobuf, records none.
        let named = n >= 4 && hdr[3] & 0x08 != 0;
        return Err(not_go(if named {
            "it is gzip-compressed, by gzip(1) it seems: gunzip it first"
        } else {
            "it is gzip-compressed with no file name, as Go's pprof profiles (CPU, heap, \
             `go test -cpuprofile`) are: read a profile with `go tool pprof FILE`; a trace \
             that was compressed, gunzip first"
        }));
    }
    if n == 0 {
        return Err(not_go("the file is empty"));
    }
    let Some(rest) = hdr.strip_prefix(b"go 1.") else {
        return Err(not_go("bad header"));
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let tail = &rest[digits..];
    let ok_tail = tail.starts_with(b" trace") && tail[6..].iter().all(|&b| b == 0);
    if digits == 0 || digits > 4 || !ok_tail {
        return Err(not_go("bad header"));
    }
    let v: u32 = std::str::from_utf8(&rest[..digits])
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    if n < 16 {
        return Err(TraceError::new(
            ErrorKind::Truncated,
            format!("trace header go 1.{v} is cut short after {n} bytes"),
        ));
    }
    if (5..=21).contains(&v) {
        return Err(TraceError::new(
            ErrorKind::OldFormat(v),
            format!(
                "trace written by Go 1.{v} uses the old format, which golat does not read; \
                 re-record with Go 1.22 or newer"
            ),
        ));
    }
    if !SUPPORTED.contains(&v) {
        let hint = if v > 26 {
            "a newer Go than golat knows; update golat"
        } else {
            "no Go release writes this header"
        };
        return Err(TraceError::new(
            ErrorKind::UnknownVersion(v),
            format!(
                "unknown or unsupported trace version go 1.{v} ({hint}); golat reads go 1.22, 1.23, 1.25 and 1.26 traces"
            ),
        ));
    }
    Ok(v)
}
