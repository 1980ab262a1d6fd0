//! The parser's error type: what went wrong, and where (file offset, generation).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The header is not `go 1.N trace`.
    NotGoTrace,
    /// A pre-1.22 trace; carries N of the `go 1.N trace` header.
    OldFormat(u32),
    /// A header golat does not know.
    UnknownVersion(u32),
    /// The input ends inside a batch or a generation.
    Truncated,
    /// A byte sequence or event order that no Go runtime writes.
    Corrupt,
    /// Reading the input failed.
    Io,
    /// One generation needs more memory than the limit (`--max-generation-mb`).
    TooLarge,
}

#[derive(Debug, Clone)]
pub struct TraceError {
    pub kind: ErrorKind,
    /// Go's wording where Go has one, so messages can be compared with `go tool trace`.
    pub msg: String,
    pub offset: Option<u64>,
    pub generation: Option<u64>,
}

impl TraceError {
    pub fn new(kind: ErrorKind, msg: impl Into<String>) -> Self {
        TraceError {
            kind,
            msg: msg.into(),
            offset: None,
            generation: None,
        }
    }

    pub fn corrupt(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, msg)
    }

    pub fn at(mut self, offset: u64, gn: u64) -> Self {
        if self.offset.is_none() {
            self.offset = Some(offset);
        }
        if self.generation.is_none() && gn != 0 {
            self.generation = Some(gn);
        }
        self
    }

    pub fn is_truncation(&self) -> bool {
        self.kind == ErrorKind::Truncated
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Truncated => f.write_str("truncated trace")?,
            ErrorKind::Corrupt => f.write_str("corrupt trace")?,
            _ => return f.write_str(&self.msg),
        }
        if let Some(off) = self.offset {
            write!(f, " at byte {off}")?;
        }
        if let Some(g) = self.generation {
            write!(f, " (generation {g})")?;
        }
        write!(f, ": {}", self.msg)
    }
}

impl std::error::Error for TraceError {}
