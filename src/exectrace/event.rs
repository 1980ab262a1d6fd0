//! What an ordered event means: its state transition (Go's `Event.StateTransition`) and its
//! main stack (Go's `Event.Stack`).

use super::order::{Event, GoState, NONE, ProcState};
use super::spec::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Goroutine(u64),
    Proc(u64),
}

#[derive(Debug, Clone, Copy)]
pub struct Transition {
    pub resource: Resource,
    /// `GoState` or `ProcState` as u8, by resource.
    pub from: u8,
    pub to: u8,
    /// String ID of the reason (GoStop/GoBlock), 0 = none.
    pub reason: u64,
    /// Stack ID of the transition stack, 0 = none.
    pub stack: u64,
}

fn go(id: u64, from: GoState, to: GoState) -> Transition {
    Transition {
        resource: Resource::Goroutine(id),
        from: from as u8,
        to: to as u8,
        reason: 0,
        stack: 0,
    }
}

fn proc_(id: u64, from: ProcState, to: ProcState) -> Transition {
    Transition {
        resource: Resource::Proc(id),
        from: from as u8,
        to: to as u8,
        reason: 0,
        stack: 0,
    }
}

/// The event's main stack ID (0 = none).
#[inline]
pub fn main_stack(e: &Event) -> u64 {
    match e.typ {
        EV_READER_SYNC => 0,
        EV_CPU_SAMPLE => e.args[0],
        t => match SPECS[t as usize].stack_ids.first() {
            Some(&i) => e.args[i - 1],
            None => 0,
        },
    }
}

/// Go's `Event.StateTransition` for the events of kind StateTransition.
#[inline]
pub fn transition(e: &Event) -> Option<Transition> {
    use GoState as G;
    Some(match e.typ {
        EV_PROC_START => proc_(e.args[0], ProcState::Idle, ProcState::Running),
        EV_PROC_STOP => proc_(e.ctx.p, ProcState::Running, ProcState::Idle),
        EV_PROC_STEAL => {
            let before = if e.args[Event::extra_idx(EV_PROC_STEAL)] == PROC_SYSCALL_ABANDONED {
                ProcState::Idle
            } else {
                ProcState::Running
            };
            proc_(e.args[0], before, ProcState::Idle)
        }
        EV_PROC_STATUS => proc_(
            e.args[0],
            ProcState::from_u64(e.args[Event::extra_idx(EV_PROC_STATUS)]),
            ProcState::from_status(e.args[1]),
        ),
        EV_GO_CREATE | EV_GO_CREATE_BLOCKED => {
            let to = if e.typ == EV_GO_CREATE_BLOCKED {
                G::Waiting
            } else {
                G::Runnable
            };
            let mut t = go(e.args[0], G::NotExist, to);
            t.stack = e.args[1];
            t
        }
        EV_GO_CREATE_SYSCALL => go(e.args[0], G::NotExist, G::Syscall),
        EV_GO_START => go(e.args[0], G::Runnable, G::Running),
        EV_GO_DESTROY => go(e.ctx.g, G::Running, G::NotExist),
        EV_GO_DESTROY_SYSCALL => go(e.ctx.g, G::Syscall, G::NotExist),
        EV_GO_STOP | EV_GO_BLOCK => {
            let to = if e.typ == EV_GO_STOP {
                G::Runnable
            } else {
                G::Waiting
            };
            let mut t = go(e.ctx.g, G::Running, to);
            t.reason = e.args[0];
            t.stack = e.args[1];
            t
        }
        EV_GO_UNBLOCK | EV_GO_SWITCH | EV_GO_SWITCH_DESTROY => {
            go(e.args[0], G::Waiting, G::Runnable)
        }
        EV_GO_SYSCALL_BEGIN => {
            let mut t = go(e.ctx.g, G::Running, G::Syscall);
            t.stack = e.args[1];
            t
        }
        EV_GO_SYSCALL_END => go(e.ctx.g, G::Syscall, G::Running),
        EV_GO_SYSCALL_END_BLOCKED => go(e.ctx.g, G::Syscall, G::Runnable),
        EV_GO_STATUS | EV_GO_STATUS_STACK => {
            let packed = e.args[2];
            let mut t = go(
                e.args[0],
                G::from_u64(packed >> 32),
                G::from_status(packed & 0xffff_ffff),
            );
            t.stack = main_stack(e);
            t
        }
        _ => return None,
    })
}

/// `-1` for "none", as Go prints IDs.
pub fn id_str(id: u64) -> i64 {
    if id == NONE { -1 } else { id as i64 }
}

/// Go's `EventKind` name for a wire type (`tracev2Type2Kind` in `internal/trace/event.go`).
pub fn kind_name(typ: u8) -> &'static str {
    match typ {
        EV_READER_SYNC => "Sync",
        EV_CPU_SAMPLE => "StackSample",
        EV_PROCS_CHANGE | EV_HEAP_ALLOC | EV_HEAP_GOAL => "Metric",
        EV_STW_BEGIN | EV_GC_BEGIN | EV_GC_SWEEP_BEGIN | EV_GC_MARK_ASSIST_BEGIN => "RangeBegin",
        EV_STW_END | EV_GC_END | EV_GC_SWEEP_END | EV_GC_MARK_ASSIST_END => "RangeEnd",
        EV_GC_ACTIVE | EV_GC_SWEEP_ACTIVE | EV_GC_MARK_ASSIST_ACTIVE => "RangeActive",
        EV_GO_LABEL => "Label",
        EV_USER_TASK_BEGIN => "TaskBegin",
        EV_USER_TASK_END => "TaskEnd",
        EV_USER_REGION_BEGIN => "RegionBegin",
        EV_USER_REGION_END => "RegionEnd",
        EV_USER_LOG => "Log",
        128..=136 => "Experimental",
        _ if transition_type(typ) => "StateTransition",
        _ => "Bad",
    }
}

fn transition_type(typ: u8) -> bool {
    matches!(
        typ,
        EV_PROC_START
            | EV_PROC_STOP
            | EV_PROC_STEAL
            | EV_PROC_STATUS
            | EV_GO_CREATE
            | EV_GO_CREATE_SYSCALL
            | EV_GO_START
            | EV_GO_DESTROY
            | EV_GO_DESTROY_SYSCALL
            | EV_GO_STOP
            | EV_GO_BLOCK
            | EV_GO_UNBLOCK
            | EV_GO_SYSCALL_BEGIN
            | EV_GO_SYSCALL_END
            | EV_GO_SYSCALL_END_BLOCKED
            | EV_GO_STATUS
            | EV_GO_SWITCH
            | EV_GO_SWITCH_DESTROY
            | EV_GO_CREATE_BLOCKED
            | EV_GO_STATUS_STACK
    )
}

/// One line per event in the format of the test oracle's `dump` mode:
/// `time M P G Kind [G<id>|P<id> from->to]`, IDs printed as Go prints them (-1 = none).
pub fn dump_line(e: &Event) -> String {
    let mut s = format!(
        "{} {} {} {} {}",
        e.time,
        id_str(e.ctx.m),
        id_str(e.ctx.p),
        id_str(e.ctx.g),
        kind_name(e.typ)
    );
    if let Some(t) = transition(e) {
        match t.resource {
            Resource::Goroutine(id) => {
                s.push_str(&format!(" G{} {}->{}", id_str(id), t.from, t.to))
            }
            Resource::Proc(id) => s.push_str(&format!(" P{} {}->{}", id_str(id), t.from, t.to)),
        }
    }
    s
}
