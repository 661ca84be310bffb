//! The profile evidence folder (`cargo xtask profile` → benchmarks/profiles/): its typed model,
//! the analysis that fills it from what ran and the libraries' symbols, and its rendering. xtask
//! runs the steps and writes the files; every schema and every sentence of them is defined here.
//!
//! - [`picks`]: which function runs each op and how it was found ([`picks::OpPicks`]), executed
//!   instructions per element and the loops chosen by execution;
//! - [`choice`]: choosing those functions from callgrind, perf samples, ISA twins and the op
//!   table's patterns (raptors-asm `choose`, `twin`);
//! - [`loops`]: the hot loops side by side and by execution (raptors-asm `compare`, `hotloop`);
//! - [`predicted`]: llvm-mca's cycles for every hot loop (`mca.json`, `mca.md`) and the host
//!   check against measured cycles;
//! - [`disassembly`]: the `*_asm.txt`, `*_simd.*`, `*_neon.*` files and their ISA rows;
//! - [`record`]: a step's record ([`record::StepRecord`]);
//! - [`report`]: [`report::ReportInput`] (= `report.json`) and `hot_loops.json`;
//! - [`readme`], [`hot_loops`], [`findings`]: `README.md`, `hot_loops.md`, `findings.md`;
//! - [`against`], [`against_md`]: what changed between two revisions (`against.json`,
//!   `against.md`, `cargo xtask profile --against REV`);
//! - [`folder`]: the files collected during a run, stand-ins for those that could not be
//!   produced, the provenance's tool versions, and the report files written last.

pub mod against;
pub mod against_md;
#[cfg(test)]
mod against_tests;
pub mod choice;
pub mod disassembly;
pub mod findings;
pub mod folder;
pub mod hot_loops;
pub mod loops;
pub mod picks;
pub mod predicted;
pub mod readme;
pub mod record;
pub mod report;
pub mod revision;
#[cfg(test)]
mod tests;

pub use findings::{findings, findings_md};
pub use hot_loops::hot_loops_md;
pub use readme::readme;
pub use report::ReportInput;

/// The first line of `s`, `|` escaped for a Markdown table, cut to `max` characters.
fn one_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("").replace('|', "\\|");
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}
