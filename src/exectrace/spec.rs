//! The Go 1.22+ trace event table (`internal/trace/tracev2`): names, argument lists, which
//! arguments are stack or string IDs, and the version in which each event appeared.

/// One event type as the wire format defines it.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    /// Argument names; for timed events the first one is `dt`.
    pub args: &'static [&'static str],
    pub timed: bool,
    /// Indices into `args` (dt = 0) of stack IDs; the first is the event's main stack.
    pub stack_ids: &'static [usize],
    pub string_ids: &'static [usize],
    /// For an "end" event, the event that begins its range.
    pub start_ev: u8,
    pub has_data: bool,
    pub is_stack: bool,
}

const fn s(name: &'static str, args: &'static [&'static str]) -> Spec {
    Spec {
        name,
        args,
        timed: false,
        stack_ids: &[],
        string_ids: &[],
        start_ev: 0,
        has_data: false,
        is_stack: false,
    }
}

const fn t(name: &'static str, args: &'static [&'static str]) -> Spec {
    Spec {
        timed: true,
        ..s(name, args)
    }
}

const fn stk(mut sp: Spec, ids: &'static [usize]) -> Spec {
    sp.stack_ids = ids;
    sp
}

const fn strs(mut sp: Spec, ids: &'static [usize]) -> Spec {
    sp.string_ids = ids;
    sp
}

const fn start(mut sp: Spec, ev: u8) -> Spec {
    sp.start_ev = ev;
    sp
}

pub const EV_EVENT_BATCH: u8 = 1;
pub const EV_STACKS: u8 = 2;
pub const EV_STACK: u8 = 3;
pub const EV_STRINGS: u8 = 4;
pub const EV_STRING: u8 = 5;
pub const EV_CPU_SAMPLES: u8 = 6;
pub const EV_CPU_SAMPLE: u8 = 7;
pub const EV_FREQUENCY: u8 = 8;
pub const EV_PROCS_CHANGE: u8 = 9;
pub const EV_PROC_START: u8 = 10;
pub const EV_PROC_STOP: u8 = 11;
pub const EV_PROC_STEAL: u8 = 12;
pub const EV_PROC_STATUS: u8 = 13;
pub const EV_GO_CREATE: u8 = 14;
pub const EV_GO_CREATE_SYSCALL: u8 = 15;
pub const EV_GO_START: u8 = 16;
pub const EV_GO_DESTROY: u8 = 17;
pub const EV_GO_DESTROY_SYSCALL: u8 = 18;
pub const EV_GO_STOP: u8 = 19;
pub const EV_GO_BLOCK: u8 = 20;
pub const EV_GO_UNBLOCK: u8 = 21;
pub const EV_GO_SYSCALL_BEGIN: u8 = 22;
pub const EV_GO_SYSCALL_END: u8 = 23;
pub const EV_GO_SYSCALL_END_BLOCKED: u8 = 24;
pub const EV_GO_STATUS: u8 = 25;
pub const EV_STW_BEGIN: u8 = 26;
pub const EV_STW_END: u8 = 27;
pub const EV_GC_ACTIVE: u8 = 28;
pub const EV_GC_BEGIN: u8 = 29;
pub const EV_GC_END: u8 = 30;
pub const EV_GC_SWEEP_ACTIVE: u8 = 31;
pub const EV_GC_SWEEP_BEGIN: u8 = 32;
pub const EV_GC_SWEEP_END: u8 = 33;
pub const EV_GC_MARK_ASSIST_ACTIVE: u8 = 34;
pub const EV_GC_MARK_ASSIST_BEGIN: u8 = 35;
pub const EV_GC_MARK_ASSIST_END: u8 = 36;
pub const EV_HEAP_ALLOC: u8 = 37;
pub const EV_HEAP_GOAL: u8 = 38;
pub const EV_GO_LABEL: u8 = 39;
pub const EV_USER_TASK_BEGIN: u8 = 40;
pub const EV_USER_TASK_END: u8 = 41;
pub const EV_USER_REGION_BEGIN: u8 = 42;
pub const EV_USER_REGION_END: u8 = 43;
pub const EV_USER_LOG: u8 = 44;
pub const EV_GO_SWITCH: u8 = 45;
pub const EV_GO_SWITCH_DESTROY: u8 = 46;
pub const EV_GO_CREATE_BLOCKED: u8 = 47;
pub const EV_GO_STATUS_STACK: u8 = 48;
pub const EV_EXPERIMENTAL_BATCH: u8 = 49;
pub const EV_SYNC: u8 = 50;
pub const EV_CLOCK_SNAPSHOT: u8 = 51;
pub const EV_END_OF_GENERATION: u8 = 52;
/// Experimental (AllocFree) events occupy 128..=136.
pub const EV_SPAN: u8 = 128;
pub const MAX_EXPERIMENTAL_EVENT: u8 = 137;

/// Not a wire type: the reader's synthesized Sync event (Go's `evSync`, `^EventType(0)`).
pub const EV_READER_SYNC: u8 = 255;

pub const MAX_BATCH_SIZE: u64 = 64 << 10;
pub const MAX_FRAMES_PER_STACK: u64 = 128;
pub const MAX_STRING_SIZE: u64 = 1 << 10;

const EMPTY: Spec = s("", &[]);

/// The full table, indexed by event type, exactly `len(tracev2.Specs())` long.
pub static SPECS: [Spec; MAX_EXPERIMENTAL_EVENT as usize] = {
    let mut a = [EMPTY; MAX_EXPERIMENTAL_EVENT as usize];
    a[1] = s("EventBatch", &["gen", "m", "time", "size"]);
    a[2] = s("Stacks", &[]);
    a[3] = Spec {
        is_stack: true,
        ..s("Stack", &["id", "nframes"])
    };
    a[4] = s("Strings", &[]);
    a[5] = Spec {
        has_data: true,
        ..s("String", &["id"])
    };
    a[6] = s("CPUSamples", &[]);
    a[7] = stk(s("CPUSample", &["time", "m", "p", "g", "stack"]), &[4]);
    a[8] = s("Frequency", &["freq"]);
    a[9] = stk(t("ProcsChange", &["dt", "procs_value", "stack"]), &[2]);
    a[10] = t("ProcStart", &["dt", "p", "p_seq"]);
    a[11] = t("ProcStop", &["dt"]);
    a[12] = t("ProcSteal", &["dt", "p", "p_seq", "m"]);
    a[13] = t("ProcStatus", &["dt", "p", "pstatus"]);
    a[14] = stk(
        t("GoCreate", &["dt", "new_g", "new_stack", "stack"]),
        &[3, 2],
    );
    a[15] = t("GoCreateSyscall", &["dt", "new_g"]);
    a[16] = t("GoStart", &["dt", "g", "g_seq"]);
    a[17] = t("GoDestroy", &["dt"]);
    a[18] = t("GoDestroySyscall", &["dt"]);
    a[19] = strs(
        stk(t("GoStop", &["dt", "reason_string", "stack"]), &[2]),
        &[1],
    );
    a[20] = strs(
        stk(t("GoBlock", &["dt", "reason_string", "stack"]), &[2]),
        &[1],
    );
    a[21] = stk(t("GoUnblock", &["dt", "g", "g_seq", "stack"]), &[3]);
    a[22] = stk(t("GoSyscallBegin", &["dt", "p_seq", "stack"]), &[2]);
    a[23] = start(t("GoSyscallEnd", &["dt"]), EV_GO_SYSCALL_BEGIN);
    a[24] = start(t("GoSyscallEndBlocked", &["dt"]), EV_GO_SYSCALL_BEGIN);
    a[25] = t("GoStatus", &["dt", "g", "m", "gstatus"]);
    a[26] = strs(
        stk(t("STWBegin", &["dt", "kind_string", "stack"]), &[2]),
        &[1],
    );
    a[27] = start(t("STWEnd", &["dt"]), EV_STW_BEGIN);
    a[28] = start(t("GCActive", &["dt", "gc_seq"]), EV_GC_BEGIN);
    a[29] = stk(t("GCBegin", &["dt", "gc_seq", "stack"]), &[2]);
    a[30] = start(t("GCEnd", &["dt", "gc_seq"]), EV_GC_BEGIN);
    a[31] = start(t("GCSweepActive", &["dt", "p"]), EV_GC_SWEEP_BEGIN);
    a[32] = stk(t("GCSweepBegin", &["dt", "stack"]), &[1]);
    a[33] = start(
        t("GCSweepEnd", &["dt", "swept_value", "reclaimed_value"]),
        EV_GC_SWEEP_BEGIN,
    );
    a[34] = start(
        t("GCMarkAssistActive", &["dt", "g"]),
        EV_GC_MARK_ASSIST_BEGIN,
    );
    a[35] = stk(t("GCMarkAssistBegin", &["dt", "stack"]), &[1]);
    a[36] = start(t("GCMarkAssistEnd", &["dt"]), EV_GC_MARK_ASSIST_BEGIN);
    a[37] = t("HeapAlloc", &["dt", "heapalloc_value"]);
    a[38] = t("HeapGoal", &["dt", "heapgoal_value"]);
    a[39] = strs(t("GoLabel", &["dt", "label_string"]), &[1]);
    a[40] = strs(
        stk(
            t(
                "UserTaskBegin",
                &["dt", "task", "parent_task", "name_string", "stack"],
            ),
            &[4],
        ),
        &[3],
    );
    a[41] = stk(t("UserTaskEnd", &["dt", "task", "stack"]), &[2]);
    a[42] = strs(
        stk(
            t("UserRegionBegin", &["dt", "task", "name_string", "stack"]),
            &[3],
        ),
        &[2],
    );
    a[43] = start(
        strs(
            stk(
                t("UserRegionEnd", &["dt", "task", "name_string", "stack"]),
                &[3],
            ),
            &[2],
        ),
        EV_USER_REGION_BEGIN,
    );
    a[44] = strs(
        stk(
            t(
                "UserLog",
                &["dt", "task", "key_string", "value_string", "stack"],
            ),
            &[4],
        ),
        &[2, 3],
    );
    a[45] = t("GoSwitch", &["dt", "g", "g_seq"]);
    a[46] = t("GoSwitchDestroy", &["dt", "g", "g_seq"]);
    a[47] = stk(
        t("GoCreateBlocked", &["dt", "new_g", "new_stack", "stack"]),
        &[3, 2],
    );
    a[48] = stk(
        t("GoStatusStack", &["dt", "g", "m", "gstatus", "stack"]),
        &[4],
    );
    a[49] = Spec {
        has_data: true,
        ..s("ExperimentalBatch", &["exp", "gen", "m", "time"])
    };
    a[50] = s("Sync", &[]);
    a[51] = t("ClockSnapshot", &["dt", "mono", "sec", "nsec"]);
    a[52] = s("EndOfGeneration", &[]);
    a[128] = t("Span", &["dt", "id", "npages_value", "kindclass"]);
    a[129] = t("SpanAlloc", &["dt", "id", "npages_value", "kindclass"]);
    a[130] = t("SpanFree", &["dt", "id"]);
    a[131] = t("HeapObject", &["dt", "id", "type"]);
    a[132] = t("HeapObjectAlloc", &["dt", "id", "type"]);
    a[133] = t("HeapObjectFree", &["dt", "id"]);
    a[134] = t("GoroutineStack", &["dt", "id", "order"]);
    a[135] = t("GoroutineStackAlloc", &["dt", "id", "order"]);
    a[136] = t("GoroutineStackFree", &["dt", "id"]);
    a
};

/// `WIRE_ARGS[typ]`: how many varint arguments follow `dt` for a timed event type, or
/// `NOT_TIMED` (untimed, unknown or out of range). The decoder reads this per event: one byte
/// instead of a `Spec` and its slices.
pub const NOT_TIMED: u8 = u8::MAX;
pub static WIRE_ARGS: [u8; 256] = {
    let mut a = [NOT_TIMED; 256];
    let mut i = 0;
    while i < SPECS.len() {
        let sp = &SPECS[i];
        if sp.timed && !sp.args.is_empty() {
            a[i] = (sp.args.len() - 1) as u8;
        }
        i += 1;
    }
    a
};

/// `ID_ARGS[typ]`: the indices into `args` (as in `Spec`, dt = 0) of the event's stack IDs
/// (two at most: GoCreate's and the new goroutine's) and string IDs (two at most: UserLog's),
/// 0 for none (a test checks no type has more), so the reader checks an event's IDs with one
/// table load instead of walking its `Spec`.
pub static ID_ARGS: [[u8; 4]; 256] = {
    let mut a = [[0u8; 4]; 256];
    let mut i = 0;
    while i < SPECS.len() {
        let sp = &SPECS[i];
        let mut k = 0;
        while k < sp.stack_ids.len() && k < 2 {
            a[i][k] = sp.stack_ids[k] as u8;
            k += 1;
        }
        let mut k = 0;
        while k < sp.string_ids.len() && k < 2 {
            a[i][2 + k] = sp.string_ids[k] as u8;
            k += 1;
        }
        i += 1;
    }
    a
};

/// The event types a trace version may contain (Go's `version.Specs()` length).
pub fn num_specs_for_version(v: u32) -> usize {
    match v {
        22 => EV_USER_LOG as usize + 1,
        23 => EV_EXPERIMENTAL_BATCH as usize + 1,
        25 => EV_CLOCK_SNAPSHOT as usize + 1,
        _ => SPECS.len(),
    }
}

/// Go's `Version.EventName`, used in error messages so they read like Go's.
pub fn event_name(v: u32, typ: u8) -> String {
    let n = num_specs_for_version(v);
    if (typ as usize) < n && !SPECS[typ as usize].name.is_empty() {
        SPECS[typ as usize].name.to_string()
    } else {
        format!("Invalid({typ})")
    }
}

/// Looks up an event type by name within a version (for the test-vector text format).
pub fn by_name(v: u32, name: &str) -> Option<u8> {
    SPECS[..num_specs_for_version(v)]
        .iter()
        .position(|sp| sp.name == name)
        .map(|i| i as u8)
}

// Go's tracev2 status enums.
pub const GO_BAD: u64 = 0;
pub const GO_RUNNABLE: u64 = 1;
pub const GO_RUNNING: u64 = 2;
pub const GO_SYSCALL: u64 = 3;
pub const GO_WAITING: u64 = 4;

pub const PROC_BAD: u64 = 0;
pub const PROC_RUNNING: u64 = 1;
pub const PROC_IDLE: u64 = 2;
pub const PROC_SYSCALL: u64 = 3;
pub const PROC_SYSCALL_ABANDONED: u64 = 4;

pub fn go_status_name(s: u64) -> &'static str {
    match s {
        GO_RUNNABLE => "Runnable",
        GO_RUNNING => "Running",
        GO_SYSCALL => "Syscall",
        GO_WAITING => "Waiting",
        _ => "Bad",
    }
}

pub fn proc_status_name(s: u64) -> &'static str {
    match s {
        PROC_RUNNING => "Running",
        PROC_IDLE => "Idle",
        PROC_SYSCALL => "Syscall",
        _ => "Bad",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ID_ARGS` holds two stack and two string indices per type: no spec may have more,
    /// and every index must name one of the four decoded arguments.
    #[test]
    fn id_args_cover_every_spec() {
        for (typ, sp) in SPECS.iter().enumerate() {
            assert!(sp.stack_ids.len() <= 2, "{} has three stack IDs", sp.name);
            assert!(sp.string_ids.len() <= 2, "{} has three string IDs", sp.name);
            let want = [
                sp.stack_ids.first().copied().unwrap_or(0),
                sp.stack_ids.get(1).copied().unwrap_or(0),
                sp.string_ids.first().copied().unwrap_or(0),
                sp.string_ids.get(1).copied().unwrap_or(0),
            ];
            assert_eq!(ID_ARGS[typ].map(usize::from), want, "{}", sp.name);
            assert!(
                want.iter().all(|&i| i <= 4),
                "{}: index past the arguments",
                sp.name
            );
        }
    }
}
