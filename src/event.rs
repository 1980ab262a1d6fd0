//! What the tracer emits, in the order it saw it: processes appearing, exec'ing and
//! exiting, finished calls, captured runtime output, and notes about lost data.

use crate::model::Call;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new process (not a thread). `t_ns` since the run started.
    ProcessStarted {
        pid: i32,
        ppid: i32,
        t_ns: u64,
        cwd: String,
    },
    /// A new thread of an existing process.
    ThreadStarted { pid: i32, tid: i32 },
    /// A successful exec. `old_tid` differs from `pid` when a non-leader thread exec'd.
    Exec {
        pid: i32,
        old_tid: i32,
        t_ns: u64,
        exe: String,
        argv: Vec<String>,
        path_env: Option<String>,
        godebug: Option<String>,
    },
    /// A finished (or entry-only) call.
    Call(Call),
    /// One complete `GODEBUG=inittrace=1` line a Go process wrote to fd 2, without its
    /// newline. `hidden` when golat kept it from reaching the user's stderr.
    InitTrace {
        pid: i32,
        t_ns: u64,
        line: String,
        hidden: bool,
    },
    /// One `GODEBUG=gocachehash=1` line the go command wrote to fd 2 (with `--explain`),
    /// without its newline; golat kept it from the user's stderr.
    CacheHash { pid: i32, line: String },
    /// golat set startup breakpoints in a Go program at its exec (`table` says where it
    /// found the functions; `missing` the ones it could not arm), or could not
    /// (`unavailable` says why).
    StartupArmed {
        pid: i32,
        table: Option<crate::gosrc::symbols::Table>,
        missing: Vec<String>,
        unavailable: Option<String>,
    },
    /// A Go program reached one of its startup points: `exec`, or the entry of a function in
    /// `tracer::breakpoints::FUNCS`. `t_ns` is when its thread stopped there; `tracing_ns`
    /// what golat's stops had cost the process until then (see `Process::tracing_ms`).
    StartupMark {
        pid: i32,
        mark: &'static str,
        t_ns: u64,
        tracing_ns: u64,
    },
    /// The process's exit was reported (the leader reaped by the tracer).
    ProcessExited {
        pid: i32,
        t_ns: u64,
        exit_code: Option<i32>,
        signal: Option<i32>,
        /// Stops its threads took and the time they cost them (see `Process::tracing_ms`).
        stops: u64,
        tracing_ns: u64,
    },
    /// A thread sat in one call longer than `--stall` (reported live by the watchdog).
    /// `since_ns` is when the watchdog first saw it in the call, `blocked_ns` how long it had
    /// been in it when last seen; `golat` when it was golat's own copy of the call.
    Stall {
        pid: i32,
        tid: i32,
        golat: bool,
        who: String,
        what: String,
        since_ns: u64,
        blocked_ns: u64,
        returned: bool,
    },
    /// Something the report must mention (a read that failed, a process golat had to kill).
    Warning { kind: String, message: String },
}
