//! Renderers: the only code that turns a report into text for people or other tools.
//!
//! `summary` is the table report, `timeline` the Chrome/Perfetto trace-event file, `diff`
//! the comparison of two reports. Tables are sized to a width the caller chooses (the
//! terminal's, or a fixed one for files and snapshots); colour is the caller's decision too.

pub mod diff;
pub mod init_chain;
pub mod startup;
pub mod summary;
pub mod timeline;
pub mod whatif;

use std::io::IsTerminal;

use crate::model::Report;

use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::peaker::PriorityMax;
use tabled::settings::{Alignment, Style as TableStyle, Width};

/// The whole table report of an analysed run: what `golat profile` prints and what
/// `golat report` prints again from the saved JSON, byte for byte.
pub fn report(report: &Report, style: &Style) -> String {
    let mut text = summary::render(report, style);
    text.push_str(&startup::render(report, style.top));
    text.push_str(&init_chain::render(report, style.top));
    text.push_str(&runtime_trace(report, style.top));
    text
}

/// The program's runtime trace (`--runtime-trace`), as `golat trace` prints a file.
fn runtime_trace(report: &Report, top: usize) -> String {
    let Some(value) = report.go.get("runtime_trace") else {
        return String::new();
    };
    let summary = value
        .get("summary")
        .cloned()
        .and_then(|s| serde_json::from_value::<crate::exectrace::summary::Summary>(s).ok());
    let Some(summary) = summary else {
        return "\nRuntime trace of the program's start: its summary in this report is not one \
                this golat reads\n"
            .into();
    };
    let mut table = b"\nRuntime trace of the program's start (--runtime-trace)\n".to_vec();
    for note in value["notes"].as_array().into_iter().flatten() {
        if let Some(note) = note.as_str() {
            table.extend_from_slice(format!("  note: {note}\n").as_bytes());
        }
    }
    let _ = crate::exectrace::render::table(&mut table, &summary, "program", top);
    let mut text = String::from_utf8_lossy(&table).into_owned();
    if let Some(cpu) = value.get("cpu").and_then(|c| {
        serde_json::from_value::<crate::exectrace::overlay::CpuSamples>(c.clone()).ok()
    }) {
        text.push_str(&cpu_samples(&cpu, top));
    }
    text
}

/// The CPU samples of the runtime trace (`--cpuprofile-out`): what was on CPU before
/// `main.main` and after.
fn cpu_samples(cpu: &crate::exectrace::overlay::CpuSamples, top: usize) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "CPU samples     {} (pprof's CPU profiler at 100 Hz: one sample ≈ 10 ms of CPU), {} before main.main\n",
        cpu.samples, cpu.before_main
    );
    for (label, rows) in [
        ("before main.main", &cpu.top_before_main),
        ("after main.main", &cpu.top_after_main),
    ] {
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  on CPU {label}:");
        for r in rows.iter().take(top) {
            let callers = if r.callers.is_empty() {
                String::new()
            } else {
                format!("  ← {}", r.callers.join(" ← "))
            };
            let _ = writeln!(out, "    {:>5}  {}{callers}", r.samples, r.func);
        }
    }
    out
}

/// How to lay text out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Rows per table.
    pub top: usize,
    /// Line width to fit tables into.
    pub width: usize,
    /// ANSI colour for headings and the verdict.
    pub color: bool,
}

/// Width when the output is not a terminal and COLUMNS is not set.
pub const DEFAULT_WIDTH: usize = 120;

impl Style {
    /// For output to stdout (`golat report`, `golat diff`).
    pub fn for_stdout(top: usize) -> Style {
        let out = std::io::stdout();
        Style {
            top,
            width: width_of(terminal_size::terminal_size_of(&out)),
            color: color_allowed(out.is_terminal()),
        }
    }

    /// For output to stderr (`golat profile`).
    pub fn for_stderr(top: usize) -> Style {
        let err = std::io::stderr();
        Style {
            top,
            width: width_of(terminal_size::terminal_size_of(&err)),
            color: color_allowed(err.is_terminal()),
        }
    }

    /// For a file: no colour, the default width.
    pub fn plain(top: usize) -> Style {
        Style {
            top,
            width: width_of(None),
            color: false,
        }
    }
}

fn width_of(term: Option<(terminal_size::Width, terminal_size::Height)>) -> usize {
    match term {
        Some((w, _)) if w.0 >= 40 => usize::from(w.0),
        _ => std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse::<usize>().ok())
            .filter(|&c| c >= 40)
            .unwrap_or(DEFAULT_WIDTH),
    }
}

/// Colour only on a terminal, and never when NO_COLOR is set to anything non-empty.
pub fn color_allowed(is_tty: bool) -> bool {
    is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub(crate) fn bold(s: &str, color: bool) -> String {
    if color {
        format!("\x1b[1m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

pub(crate) fn yellow_bold(s: &str, color: bool) -> String {
    if color {
        format!("\x1b[1;33m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// A table under construction: headers, rows, which columns are numbers (right-aligned)
/// and which one may be shortened (with a middle ellipsis) to fit the width.
pub(crate) struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    numeric: Vec<usize>,
    flex: Option<usize>,
    /// The flexible column is prose: wrap it at word boundaries instead of cutting.
    wrap: bool,
    /// The flexible column leads with what matters (a package before its arguments): cut
    /// its end, not its middle.
    keep_start: bool,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            numeric: Vec::new(),
            flex: None,
            wrap: false,
            keep_start: false,
        }
    }

    pub fn numeric(mut self, cols: &[usize]) -> Table {
        self.numeric = cols.to_vec();
        self
    }

    pub fn flex(mut self, col: usize) -> Table {
        self.flex = Some(col);
        self
    }

    /// Like `flex`, but the column wraps at word boundaries (prose, not paths).
    pub fn wrap(mut self, col: usize) -> Table {
        self.flex = Some(col);
        self.wrap = true;
        self
    }

    /// Like `flex`, but a cell too long keeps its start and loses its end.
    pub fn flex_keep_start(mut self, col: usize) -> Table {
        self.flex = Some(col);
        self.keep_start = true;
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self, width: usize) -> String {
        let mut rows = self.rows.clone();
        let mut table = self.build(&rows);
        let total = table.total_width();
        if total > width
            && let Some(f) = self.flex
        {
            let widest = rows
                .iter()
                .map(|r| r.get(f).map_or(0, |c| c.chars().count()))
                .chain(std::iter::once(self.headers[f].chars().count()))
                .max()
                .unwrap_or(0);
            let target = widest.saturating_sub(total - width).max(12);
            for r in &mut rows {
                if let Some(c) = r.get_mut(f) {
                    *c = if self.wrap {
                        wrap_words(c, target)
                    } else if self.keep_start {
                        ellipsize_end(c, target)
                    } else {
                        ellipsize_middle(c, target)
                    };
                }
            }
            table = self.build(&rows);
        }
        if table.total_width() > width {
            table.with(
                Width::truncate(width)
                    .suffix("…")
                    .priority(PriorityMax::right()),
            );
        }
        table.to_string()
    }

    fn build(&self, rows: &[Vec<String>]) -> tabled::Table {
        let mut b = Builder::default();
        b.push_record(self.headers.iter().cloned());
        for r in rows {
            b.push_record(r.iter().cloned());
        }
        let mut t = b.build();
        t.with(TableStyle::rounded());
        for &c in &self.numeric {
            t.modify(Columns::one(c), Alignment::right());
        }
        t
    }
}

/// Breaks prose into lines of at most `max` characters at spaces (a longer word gets a
/// line of its own, cut by the table's last-resort truncation if need be).
pub fn wrap_words(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut line = 0;
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        let n = word.chars().count();
        if line > 0 && line + 1 + n > max {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += n;
    }
    out
}

/// `"runtime  (-o /tmp/go-build1/b002/_pkg_.a …)"` → `"runtime  (-o /tmp/go…"` within `max`
/// characters.
pub fn ellipsize_end(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `"/very/long/path/to/file.go"` → `"/very/lo…/file.go"` within `max` characters.
pub fn ellipsize_middle(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max < 3 {
        return s.to_string();
    }
    let keep = max - 1;
    let tail = keep * 2 / 3;
    let head = keep - tail;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    out
}

/// A command line as a shell would need it typed: arguments with spaces or shell syntax
/// are single-quoted, so `sh -c 'exit 7'` does not read as `sh -c exit 7`.
pub fn shell_join(args: &[String]) -> String {
    let quote = |a: &String| {
        let plain = !a.is_empty()
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%^".contains(&b));
        if plain {
            a.clone()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    args.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// Milliseconds for a table cell: more decimals for small figures.
pub fn ms(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// A fraction as a percentage cell.
pub fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipsis_keeps_both_ends() {
        let s = "/usr/local/go/src/runtime/sys_linux_amd64.s";
        let e = ellipsize_middle(s, 20);
        assert_eq!(e.chars().count(), 20);
        assert!(e.starts_with("/usr/"));
        assert!(e.ends_with("amd64.s"));
        assert_eq!(ellipsize_middle("short", 20), "short");
        assert_eq!(ellipsize_end("runtime  (-o /tmp/x)", 12), "runtime  (-…");
        assert_eq!(ellipsize_end("short", 20), "short");
    }

    #[test]
    fn words_wrap_at_spaces() {
        assert_eq!(
            wrap_words("3 processes run only to print", 12),
            "3 processes\nrun only to\nprint"
        );
        assert_eq!(
            wrap_words("averyveryverylongword x", 5),
            "averyveryverylongword\nx"
        );
    }

    #[test]
    fn tables_fit_the_width() {
        let mut t = Table::new(&["name", "path", "n"]).numeric(&[2]).flex(1);
        t.row(vec!["a".into(), "/x".repeat(100), "1".into()]);
        let out = t.render(60);
        assert!(out.lines().all(|l| l.chars().count() <= 60), "{out}");
        let mut t = Table::new(&["a", "b"]);
        t.row(vec!["x".repeat(200), "y".repeat(200)]);
        assert!(t.render(50).lines().all(|l| l.chars().count() <= 50));
    }

    #[test]
    fn no_color_wins() {
        // Only the TTY half is testable without touching the environment.
        assert!(!color_allowed(false));
    }
}
