//! One-shot int3 breakpoints on a Go program's startup functions, set at its exec stop: each
//! is hit once, restored and the program resumed where it was, so a Go process pays one
//! stop per startup phase and nothing after `main.main`.
//!
//! `runtime.schedinit`, `runtime.main`, `runtime.gcenable` and `main.main` are each entered
//! exactly once by a Go program (Go 1.22-1.27: runtime/proc.go `main` calls `doInit` for
//! the runtime's own inits, then `gcenable`, then every package's inits, then `main_main`),
//! and none is inlined into its caller, so their entries split the time from exec to
//! `main.main` into: the loader and the runtime's bootstrap (rt0_go, args, osinit), the
//! scheduler's setup, the runtime package's own inits, and every other package's inits.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::gosrc::symbols::{self, Lookup, Table};

use super::sys;

/// The functions, in the order a Go program enters them.
pub const FUNCS: [&str; 4] = [
    "runtime.schedinit",
    "runtime.main",
    "runtime.gcenable",
    "main.main",
];

const INT3: u8 = 0xcc;
const AT_ENTRY: u64 = 9;

/// The breakpoints a process still has armed.
#[derive(Debug, Clone, Default)]
pub struct Armed {
    /// (address in the process, the byte the int3 replaced, index into `FUNCS`)
    points: Vec<(u64, u8, usize)>,
}

impl Armed {
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// What arming a freshly exec'd program gave.
#[derive(Debug)]
pub enum Arming {
    Armed {
        armed: Armed,
        table: Table,
        /// Functions the binary does not have (they give no phase boundary).
        missing: Vec<&'static str>,
    },
    NotGo,
    /// A Go program whose phases cannot be taken: why.
    Unavailable(String),
}

/// Finds the functions in the program `pid` just exec'd and writes an int3 at each entry.
/// The binary is read through /proc/PID/exe, which is the file that was exec'd even if the
/// go command has since removed or replaced it.
pub fn arm(pid: i32) -> Arming {
    let exe = format!("/proc/{pid}/exe");
    let located = match symbols::lookup(Path::new(&exe), &FUNCS) {
        Lookup::Found(l) => l,
        Lookup::NotGo => return Arming::NotGo,
        Lookup::NoTable(why) => return Arming::Unavailable(why),
    };
    let bias = if located.pie {
        match aux_entry(pid, located.is64) {
            Some(at_entry) => at_entry.wrapping_sub(located.entry),
            None => return Arming::Unavailable("its load address is unknown (no AT_ENTRY)".into()),
        }
    } else {
        0
    };
    let mem = match OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/proc/{pid}/mem"))
    {
        Ok(f) => f,
        Err(e) => return Arming::Unavailable(format!("cannot write its memory: {e}")),
    };
    let mut armed = Armed::default();
    let mut missing = Vec::new();
    for (i, addr) in located.addrs.iter().enumerate() {
        let Some(addr) = addr.map(|a| a.wrapping_add(bias)) else {
            missing.push(FUNCS[i]);
            continue;
        };
        let mut orig = [0u8; 1];
        if mem.read_at(&mut orig, addr).ok() != Some(1) || orig[0] == INT3 {
            missing.push(FUNCS[i]);
            continue;
        }
        if mem.write_at(&[INT3], addr).ok() != Some(1) {
            // Nothing written: this point is just not armed.
            missing.push(FUNCS[i]);
            continue;
        }
        armed.points.push((addr, orig[0], i));
    }
    if armed.is_empty() {
        return Arming::Unavailable(format!(
            "none of {} could be found or armed",
            FUNCS.join(", ")
        ));
    }
    Arming::Armed {
        armed,
        table: located.table,
        missing,
    }
}

/// At a SIGTRAP signal-delivery stop of `tid` (a thread of `pid`): whether it is one of
/// `armed`'s int3s. If so the original byte is back, the pc points at it again, the point
/// is disarmed and its index into `FUNCS` returned; the caller resumes without the signal.
pub fn hit(pid: i32, tid: i32, armed: &mut Armed) -> Option<usize> {
    if sys::sig_code(tid).ok()? != libc::SI_KERNEL {
        return None;
    }
    let regs = sys::get_regs(tid).ok()?;
    let pc = regs.rip.wrapping_sub(1);
    let k = armed.points.iter().position(|&(a, _, _)| a == pc)?;
    let (addr, orig, func) = armed.points.swap_remove(k);
    let mem = File::options()
        .write(true)
        .open(format!("/proc/{pid}/mem"))
        .ok()?;
    mem.write_at(&[orig], addr).ok()?;
    sys::poke_user(tid, sys::USER_REGS_RIP, addr).ok()?;
    Some(func)
}

/// AT_ENTRY from /proc/PID/auxv: where the kernel put the program's entry point.
fn aux_entry(pid: i32, is64: bool) -> Option<u64> {
    let raw = std::fs::read(format!("/proc/{pid}/auxv")).ok()?;
    let w = if is64 { 8 } else { 4 };
    let word = |b: &[u8]| {
        let mut v = [0u8; 8];
        v[..w].copy_from_slice(&b[..w]);
        u64::from_le_bytes(v)
    };
    raw.chunks_exact(2 * w)
        .map(|pair| (word(pair), word(&pair[w..])))
        .take_while(|&(key, _)| key != 0)
        .find(|&(key, _)| key == AT_ENTRY)
        .map(|(_, v)| v)
}
