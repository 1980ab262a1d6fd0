//! Table rendering of the `startup` hotspot: each Go program's time from exec to
//! `main.main`, phase by phase, with golat's own share of each.

use std::fmt::Write;

use crate::analyze::init_chain::InitChain;
use crate::analyze::startup::{ProcessStartup, Startup};
use crate::model::Report;

/// Programs whose phases get a full table; the rest get one line each.
const DETAILED: usize = 3;

/// The section, or an empty string when the report has no startup hotspot.
pub fn render(report: &Report, top: usize) -> String {
    let Some(startup) = report
        .hotspots
        .get("startup")
        .and_then(|v| serde_json::from_value::<Startup>(v.clone()).ok())
    else {
        return String::new();
    };
    let chain = report
        .hotspots
        .get("init_chain")
        .and_then(|v| serde_json::from_value::<InitChain>(v.clone()).ok());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nStartup before main.main (one breakpoint per phase on the program's own functions; \
         golat = what golat's stops cost inside the phase)"
    );
    for (i, p) in startup.processes.iter().take(top).enumerate() {
        headline(&mut out, p);
        if i < DETAILED {
            phase_rows(&mut out, p);
            if let Some(inits) = slowest_inits(chain.as_ref(), p.pid) {
                let _ = writeln!(out, "  slowest package inits (inittrace): {inits}");
            }
        }
    }
    if startup.processes.len() > top {
        let _ = writeln!(out, "  ... {} more", startup.processes.len() - top);
    }
    for u in &startup.unavailable {
        let _ = writeln!(
            out,
            "{} (pid {}): no phases: {}; its init chain (inittrace) is all there is",
            u.tool, u.pid, u.why
        );
    }
    out
}

fn headline(out: &mut String, p: &ProcessStartup) {
    let from = match p.table {
        crate::gosrc::symbols::Table::Symtab => "",
        crate::gosrc::symbols::Table::Gopclntab => ", functions from .gopclntab (stripped binary)",
    };
    match (p.main_ms, &p.ended) {
        (Some(main), _) => {
            let _ = writeln!(
                out,
                "{} (pid {}): exec → main.main {:.1} ms, of it golat {:.1} ms: native ≈ {:.1} ms{from}",
                p.tool,
                p.pid,
                main,
                p.golat_ms,
                main - p.golat_ms
            );
        }
        (None, Some(ended)) => {
            let _ = writeln!(out, "{} (pid {}): {ended}{from}", p.tool, p.pid);
        }
        (None, None) => {
            let _ = writeln!(
                out,
                "{} (pid {}): had not reached main.main when tracing ended{from}",
                p.tool, p.pid
            );
        }
    }
    if !p.missing.is_empty() {
        let _ = writeln!(
            out,
            "  not armed (absent from the binary): {}",
            p.missing.join(", ")
        );
    }
}

fn phase_rows(out: &mut String, p: &ProcessStartup) {
    let _ = writeln!(
        out,
        "  {:<52} {:>9} {:>9} {:>9} {:>10}",
        "phase", "at ms", "took ms", "golat ms", "native ≈ ms"
    );
    for ph in &p.phases {
        let _ = writeln!(
            out,
            "  {:<52} {:>9.2} {:>9.2} {:>9.2} {:>10.2}",
            ph.name, ph.start_ms, ph.ms, ph.golat_ms, ph.native_ms
        );
    }
}

/// The three slowest package inits of that process, from its init chain.
fn slowest_inits(chain: Option<&InitChain>, pid: i32) -> Option<String> {
    let p = chain?.processes.iter().find(|p| p.pid == pid)?;
    let rows: Vec<String> = p
        .top_by_clock
        .iter()
        .take(3)
        .filter(|x| x.clock_ms >= 0.05)
        .map(|x| format!("{} {:.1} ms", x.pkg, x.clock_ms))
        .collect();
    (!rows.is_empty()).then(|| rows.join(", "))
}
