//! Parses the Chrome trace-event JSON that `go <cmd> -debug-trace=FILE` writes into nested
//! phases with start, duration and depth.
//!
//! cmd/go's writer (`cmd/go/internal/trace`, Go 1.26) writes `[` then one event per line,
//! each after a `,` from the second on, and `]` when the command exits normally. A go
//! command that was killed leaves the array open, and possibly a half-written last line: the
//! parser keeps every complete event and says the file was incomplete.
//!
//! Events: `B`/`E` (span begin/end, matched per `tid` by name, innermost first: spans of one
//! tid nest except when cmd/go forgets `StartGoroutine`, so an `E` closes the most recent
//! open `B` of the same name even if it is not on top), `X` (complete, with `dur`), `i`/`I`
//! (instant, zero length). Flow events (`s`/`f`, the action graph's edges) and metadata are
//! counted and skipped. `ts` and `dur` are microseconds; cmd/go's `ts` is Unix time.
//! The object form `{"traceEvents": [...]}` other tools write is accepted too.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One span of the go command's work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// The span's name as cmd/go wrote it (`load.loadPackageData fmt`).
    pub name: String,
    /// The name without its per-package detail ([`phase_kind`]).
    pub kind: String,
    pub tid: u64,
    /// Start, ms after the trace's first event.
    pub start_ms: f64,
    pub dur_ms: f64,
    /// Open spans of the same tid around it when it began (0 = top level).
    pub depth: u32,
    /// Index into [`DebugTrace::phases`] of the enclosing span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<usize>,
    /// Never ended in the file: its duration runs to the last event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub open: bool,
}

/// What `-debug-trace` recorded, as stored in `report.go["debug_trace"]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DebugTrace {
    /// The file it was read from.
    pub file: String,
    /// `ts` of the first event (µs; Unix time for cmd/go's traces).
    pub t0_us: f64,
    /// The last event, ms after the first.
    pub end_ms: f64,
    /// In order of their start.
    pub phases: Vec<Phase>,
    /// The array was closed: the go command finished writing.
    pub complete: bool,
    /// `E` events with no open `B` of that name.
    pub unmatched_ends: u64,
    /// Flow, metadata and other events skipped.
    pub skipped_events: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a -debug-trace file: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

/// One event as the file has it. Its strings borrow from the file's text where they need
/// no unescaping: most events are `E`s whose name is only compared.
#[derive(Debug, Deserialize)]
struct RawEvent<'a> {
    #[serde(default, borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    ph: Cow<'a, str>,
    #[serde(default)]
    ts: Option<f64>,
    #[serde(default)]
    dur: Option<f64>,
    #[serde(default)]
    tid: Option<serde_json::Value>,
}

impl RawEvent<'_> {
    fn tid(&self) -> u64 {
        match &self.tid {
            Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(0),
            _ => 0,
        }
    }
}

/// Reads and parses a trace file.
pub fn read(path: &Path) -> anyhow::Result<DebugTrace> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut trace = parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    trace.file = path.display().to_string();
    Ok(trace)
}

/// Parses the text of a trace file.
pub fn parse(text: &str) -> Result<DebugTrace, ParseError> {
    let trimmed = text.trim_start();
    let (events, complete) = if trimmed.starts_with('{') {
        #[derive(Deserialize)]
        struct Object<'a> {
            #[serde(rename = "traceEvents", borrow)]
            trace_events: Vec<RawEvent<'a>>,
        }
        let o: Object = serde_json::from_str(trimmed).map_err(|e| ParseError(e.to_string()))?;
        (o.trace_events, true)
    } else if let Some(body) = trimmed.strip_prefix('[') {
        read_array(body)?
    } else if trimmed.is_empty() {
        // cmd/go creates the file before the first event.
        (Vec::new(), false)
    } else {
        return Err(ParseError("expected a JSON array of trace events".into()));
    };
    Ok(build(events, complete))
}

/// Reads events one at a time so that a truncated file keeps its complete events.
fn read_array(body: &str) -> Result<(Vec<RawEvent<'_>>, bool), ParseError> {
    let mut events = Vec::new();
    let mut rest = body;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            if events.is_empty() {
                return Err(ParseError("`,` before the first event".into()));
            }
            rest = after.trim_start();
        }
        if rest.is_empty() {
            return Ok((events, false));
        }
        if rest.starts_with(']') {
            return Ok((events, true));
        }
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<RawEvent>();
        match stream.next() {
            Some(Ok(ev)) => {
                events.push(ev);
                rest = &rest[stream.byte_offset()..];
            }
            Some(Err(e)) if e.is_eof() => return Ok((events, false)),
            Some(Err(e)) => {
                return Err(ParseError(format!("event {}: {e}", events.len() + 1)));
            }
            None => return Ok((events, false)),
        }
    }
}

fn build(events: Vec<RawEvent<'_>>, complete: bool) -> DebugTrace {
    let t0 = events
        .iter()
        .filter(|e| matches!(&*e.ph, "B" | "E" | "X" | "i" | "I"))
        .filter_map(|e| e.ts)
        .filter(|t| t.is_finite())
        .fold(f64::INFINITY, f64::min);
    let t0 = if t0.is_finite() { t0 } else { 0.0 };
    let ms = |ts: f64| (ts - t0) / 1000.0;
    let mut trace = DebugTrace {
        t0_us: t0,
        complete,
        ..Default::default()
    };
    // Per tid: indices of open phases, outermost first.
    let mut open: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut end = 0f64;
    for ev in events {
        let Some(ts) = ev.ts.filter(|t| t.is_finite()) else {
            trace.skipped_events += 1;
            continue;
        };
        let at = ms(ts);
        end = end.max(at);
        let tid = ev.tid();
        match &*ev.ph {
            "B" | "X" | "i" | "I" => {
                let stack = open.entry(tid).or_default();
                let dur = match &*ev.ph {
                    "X" => ev.dur.filter(|d| d.is_finite() && *d >= 0.0).unwrap_or(0.0) / 1000.0,
                    _ => 0.0,
                };
                end = end.max(at + dur);
                let index = trace.phases.len();
                trace.phases.push(Phase {
                    kind: phase_kind(&ev.name),
                    name: ev.name.into_owned(),
                    tid,
                    start_ms: at,
                    dur_ms: dur,
                    depth: stack.len() as u32,
                    parent: stack.last().copied(),
                    open: false,
                });
                if ev.ph == "B" {
                    stack.push(index);
                }
            }
            "E" => {
                let stack = open.entry(tid).or_default();
                match stack.iter().rposition(|&i| trace.phases[i].name == ev.name) {
                    Some(pos) => {
                        let i = stack.remove(pos);
                        let phase = &mut trace.phases[i];
                        phase.dur_ms = (at - phase.start_ms).max(0.0);
                    }
                    None => trace.unmatched_ends += 1,
                }
            }
            _ => trace.skipped_events += 1,
        }
    }
    for stack in open.values() {
        for &i in stack {
            let phase = &mut trace.phases[i];
            phase.open = true;
            phase.dur_ms = (end - phase.start_ms).max(0.0);
        }
    }
    trace.end_ms = end;
    // Phases were pushed in file order, which is not start order for `E`-closed spans
    // of other tids; sort stably by start and remap the parent indices.
    let mut order: Vec<usize> = (0..trace.phases.len()).collect();
    order.sort_by(|&a, &b| {
        trace.phases[a]
            .start_ms
            .total_cmp(&trace.phases[b].start_ms)
            .then(a.cmp(&b))
    });
    let mut new_pos = vec![0; order.len()];
    for (pos, &old) in order.iter().enumerate() {
        new_pos[old] = pos;
    }
    let mut old: Vec<Option<Phase>> = std::mem::take(&mut trace.phases)
        .into_iter()
        .map(Some)
        .collect();
    trace.phases = order
        .iter()
        .filter_map(|&i| old[i].take())
        .map(|mut p| {
            p.parent = p.parent.map(|parent| new_pos[parent]);
            p
        })
        .collect();
    trace
}

/// The name without its argument: `load.loadPackageData fmt` → `load.loadPackageData`,
/// `Executing action (build check cache fmt)` → `Executing action (build check cache)`,
/// `Running build command` unchanged.
pub fn phase_kind(name: &str) -> String {
    if name.starts_with("Running ") {
        return name.to_string();
    }
    if let (Some(open), true) = (name.find(" ("), name.ends_with(')')) {
        // `mode target`, where the target may be empty (`(go build )`) or a test variant
        // (`(build check cache fmt [fmt.test])`).
        let inner = &name[open + 2..name.len() - 1];
        let inner = match inner.strip_suffix(']').and_then(|s| s.rsplit_once(" [")) {
            Some((head, _)) => head,
            None => inner,
        };
        let mode = inner.rsplit_once(' ').map_or(inner, |(m, _)| m).trim_end();
        return format!("{} ({mode})", &name[..open]);
    }
    name.split_once(' ').map_or(name, |(k, _)| k).to_string()
}

/// Totals of one phase kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindTotal {
    pub kind: String,
    pub count: u64,
    /// Wall time covered by at least one span of this kind (the union over all tids):
    /// what the kind cost the command's wall time.
    pub wall_ms: f64,
    /// The union per tid, summed over tids: work done in parallel counts once per tid,
    /// nested or overlapping repeats of the kind on one tid once. Never below `wall_ms`.
    pub busy_ms: f64,
}

impl DebugTrace {
    /// Totals per [`Phase::kind`], largest wall time first.
    pub fn by_kind(&self) -> Vec<KindTotal> {
        let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, p) in self.phases.iter().enumerate() {
            groups.entry(p.kind.as_str()).or_default().push(i);
        }
        let mut out: Vec<KindTotal> = groups
            .into_iter()
            .map(|(kind, members)| {
                let mut spans: Vec<(f64, f64)> = members
                    .iter()
                    .map(|&i| {
                        let p = &self.phases[i];
                        (p.start_ms, p.start_ms + p.dur_ms)
                    })
                    .collect();
                let mut tids: Vec<u64> = members.iter().map(|&i| self.phases[i].tid).collect();
                tids.sort_unstable();
                tids.dedup();
                let busy_ms = tids
                    .iter()
                    .map(|&tid| {
                        let mut own: Vec<(f64, f64)> = members
                            .iter()
                            .zip(&spans)
                            .filter(|&(&i, _)| self.phases[i].tid == tid)
                            .map(|(_, &s)| s)
                            .collect();
                        union_ms(&mut own)
                    })
                    .sum();
                KindTotal {
                    kind: kind.to_string(),
                    count: members.len() as u64,
                    wall_ms: union_ms(&mut spans),
                    busy_ms,
                }
            })
            .collect();
        out.sort_by(|a, b| b.wall_ms.total_cmp(&a.wall_ms).then(a.kind.cmp(&b.kind)));
        out
    }

    /// A copy with every start moved by `offset_ms` (to put phases on another clock).
    pub fn shifted(&self, offset_ms: f64) -> DebugTrace {
        let mut t = self.clone();
        for p in &mut t.phases {
            p.start_ms += offset_ms;
        }
        t
    }
}

/// Length of the union of intervals.
pub fn union_ms(spans: &mut [(f64, f64)]) -> f64 {
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for &(s, e) in spans.iter() {
        match current {
            Some((cs, ce)) if s <= ce => current = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                current = Some((s, e));
            }
            None => current = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = current {
        total += ce - cs;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape cmd/go writes (Go 1.26, `go build`), shortened.
    const BUILD: &str = r#"[
{"name":"Running build command","ph":"B","ts":1000000.0,"pid":0,"tid":0}
,{"name":"load.PackagesAndErrors","ph":"B","ts":1000100.0,"pid":0,"tid":0}
,{"name":"load.loadPackageData fmt","ph":"B","ts":1000200.0,"pid":0,"tid":0}
,{"name":"load.loadPackageData fmt","ph":"E","ts":1000700.0,"pid":0,"tid":0}
,{"name":"load.PackagesAndErrors","ph":"E","ts":1001100.0,"pid":0,"tid":0}
,{"name":"exec.Builder.Do (go build )","ph":"B","ts":1001200.0,"pid":0,"tid":0}
,{"name":"Executing action (build fmt)","ph":"B","ts":1001300.0,"pid":0,"tid":1}
,{"name":"Executing action (build check cache os)","ph":"B","ts":1001300.0,"pid":0,"tid":2}
,{"name":"Executing action (build check cache os)","ph":"E","ts":1001800.0,"pid":0,"tid":2}
,{"name":"a -> b","ph":"s","ts":1001800.0,"pid":0,"tid":2,"id":1,"cat":"flow"}
,{"name":"Executing action (build fmt)","ph":"E","ts":1003300.0,"pid":0,"tid":1}
,{"name":"exec.Builder.Do (go build )","ph":"E","ts":1003400.0,"pid":0,"tid":0}
,{"name":"Running build command","ph":"E","ts":1003500.0,"pid":0,"tid":0}
]"#;

    fn find<'a>(t: &'a DebugTrace, name: &str) -> &'a Phase {
        t.phases.iter().find(|p| p.name == name).unwrap()
    }

    #[test]
    fn nests_begin_end_pairs_per_tid() {
        let t = parse(BUILD).unwrap();
        assert!(t.complete);
        assert_eq!(t.phases.len(), 6);
        assert_eq!(t.skipped_events, 1);
        assert!((t.end_ms - 3.5).abs() < 1e-9);
        let root = find(&t, "Running build command");
        assert_eq!((root.depth, root.parent, root.start_ms), (0, None, 0.0));
        assert!((root.dur_ms - 3.5).abs() < 1e-9);
        let data = find(&t, "load.loadPackageData fmt");
        assert_eq!(data.depth, 2);
        assert_eq!(
            t.phases[data.parent.unwrap()].name,
            "load.PackagesAndErrors"
        );
        assert!((data.dur_ms - 0.5).abs() < 1e-9);
        let action = find(&t, "Executing action (build fmt)");
        assert_eq!((action.tid, action.depth), (1, 0));
        assert!((action.dur_ms - 2.0).abs() < 1e-9);
    }

    #[test]
    fn kinds_drop_the_package() {
        assert_eq!(
            phase_kind("load.loadPackageData fmt"),
            "load.loadPackageData"
        );
        assert_eq!(
            phase_kind("Executing action (build check cache internal/goarch)"),
            "Executing action (build check cache)"
        );
        assert_eq!(
            phase_kind("exec.Builder.Do (go build )"),
            "exec.Builder.Do (go build)"
        );
        assert_eq!(phase_kind("Running test command"), "Running test command");
        assert_eq!(
            phase_kind("Executing action (vet example.com/x [example.com/x.test])"),
            "Executing action (vet)"
        );
        assert_eq!(phase_kind("modload.matchPackages"), "modload.matchPackages");
    }

    #[test]
    fn kind_totals_count_parallel_work_once_in_wall_time() {
        let t = parse(BUILD).unwrap();
        let kinds = t.by_kind();
        assert_eq!(kinds[0].kind, "Running build command");
        let exec = kinds
            .iter()
            .find(|k| k.kind == "Executing action (build)")
            .unwrap();
        assert!((exec.wall_ms - 2.0).abs() < 1e-9);
        // Two tids overlapping: 0.5 + 2.0 busy, 2.0 wall.
        let mut spans = [(0.0, 2.0), (0.5, 1.0), (3.0, 4.0)];
        assert!((union_ms(&mut spans) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn interleaved_spans_of_one_tid_close_by_name() {
        let text = r#"[{"name":"a x","ph":"B","ts":0,"tid":0}
,{"name":"b y","ph":"B","ts":1000,"tid":0}
,{"name":"a x","ph":"E","ts":2000,"tid":0}
,{"name":"b y","ph":"E","ts":5000,"tid":0}
,{"name":"zzz","ph":"E","ts":5000,"tid":0}
]"#;
        let t = parse(text).unwrap();
        assert_eq!(t.unmatched_ends, 1);
        assert!((find(&t, "a x").dur_ms - 2.0).abs() < 1e-9);
        assert!((find(&t, "b y").dur_ms - 4.0).abs() < 1e-9);
    }

    #[test]
    fn a_killed_go_command_leaves_a_usable_prefix() {
        let cut = BUILD.find(",{\"name\":\"exec.Builder.Do").unwrap() + 30;
        let t = parse(&BUILD[..cut]).unwrap();
        assert!(!t.complete);
        assert_eq!(t.phases.len(), 3);
        let root = find(&t, "Running build command");
        assert!(root.open);
        assert!((root.dur_ms - 1.1).abs() < 1e-9, "{}", root.dur_ms);
        // Only the `[` written yet, or nothing at all.
        assert!(parse("[\n").unwrap().phases.is_empty());
        assert!(parse("").unwrap().phases.is_empty());
    }

    #[test]
    fn complete_instant_and_object_forms() {
        let text = r#"{"traceEvents":[{"name":"x","ph":"X","ts":10,"dur":2000,"tid":3},{"name":"i","ph":"i","ts":1010,"tid":3},{"name":"m","ph":"M","tid":3}]}"#;
        let t = parse(text).unwrap();
        assert_eq!(t.phases.len(), 2);
        assert!((find(&t, "x").dur_ms - 2.0).abs() < 1e-9);
        assert_eq!(find(&t, "i").dur_ms, 0.0);
        assert_eq!(t.skipped_events, 1);
    }

    #[test]
    fn garbage_is_a_one_line_error() {
        for text in [
            "hello",
            "[{\"ph\":",
            "[{\"name\":\"x\"}]",
            "[,{}]",
            "{\"a\":1}",
            "[1,2]",
        ] {
            match parse(text) {
                Ok(t) => assert!(t.phases.is_empty(), "{text:?}"),
                Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
            }
        }
        assert!(parse("hello").is_err());
        assert!(parse("[{\"name\":\"x\"}]").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_cut_traces(cut in 0usize..2000) {
            let cut = cut.min(BUILD.len());
            if BUILD.is_char_boundary(cut) {
                let _ = parse(&BUILD[..cut]);
            }
        }
    }
}
