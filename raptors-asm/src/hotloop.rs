//! Which loop of a function runs: chosen by execution counts when the caller has them
//! (callgrind `--dump-instr=yes`, qemu `-d exec` logs — parsed by the caller into a map from
//! file virtual address to count), else by the static guess of [`crate::loops`].
//!
//! With counts, each loop's *own* executed instructions (its body minus loops nested in it, as
//! for the static guess) are summed; the loop with the most wins. Its **coverage** is that sum
//! over the function's executed instructions, and with the number of input elements the op
//! processed, **measured instructions per element** = own executed instructions ÷ elements,
//! next to the static figure of the same loop.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::elf::ElfFile;
use crate::error::{AsmError, Result};
use crate::insn::{Flow, Insn};
use crate::loops::{function_loops, Loop};
use crate::simd::function_insns;
use crate::symbols::{Function, SymbolTable};

/// Execution counts of one run, keyed by file virtual address (as in the ELF file, not the
/// process's load address).
#[derive(Debug, Clone, Copy)]
pub struct ExecCounts<'a> {
    /// Where they come from (`callgrind`, `qemu-exec`, `perf-sample`, …); becomes `chosen_by`.
    pub source: &'a str,
    /// Executions per instruction address ([`expand_block_counts`] turns basic-block start
    /// counts into these).
    pub counts: &'a BTreeMap<u64, u64>,
}

/// One loop's executed instructions.
#[derive(Debug, Clone, Serialize)]
pub struct LoopExecution {
    pub start: u64,
    pub end: u64,
    /// Executed instructions in the loop's own body (nested loops excluded).
    pub executed: u64,
    /// `executed / function_executed`.
    pub coverage: f64,
}

/// The chosen loop of one function and, with counts, what it executed.
#[derive(Debug, Clone, Serialize)]
pub struct LoopChoice {
    pub function: String,
    pub address: u64,
    /// `static` (shape-based guess) or the counts' `source` label.
    pub chosen_by: String,
    pub loops_found: usize,
    /// The chosen loop (`None` when the function has no loop, or none executed).
    #[serde(rename = "loop")]
    pub hot_loop: Option<Loop>,
    /// Instructions of the function executed in the run (None: static choice).
    pub function_executed: Option<u64>,
    /// Executed instructions in the chosen loop's own body.
    pub loop_executed: Option<u64>,
    /// `loop_executed / function_executed` (0–1).
    pub coverage: Option<f64>,
    /// Executions of the loop's first instruction or of its closing branch, whichever is larger.
    pub iterations: Option<u64>,
    /// Input elements the op processed in the run, as given by the caller.
    pub input_elements: Option<u64>,
    /// `loop_executed / input_elements`.
    pub measured_instructions_per_element: Option<f64>,
    /// `input_elements / iterations`: the elements per iteration the run implies if every
    /// element went through this loop (an upper bound when coverage is below 1).
    pub measured_elements_per_iteration: Option<f64>,
    /// The loop's static instructions per input element (same as `loop.instructions_per_element`).
    pub static_instructions_per_element: Option<f64>,
    /// Every loop that executed, most executed first.
    pub ranking: Vec<LoopExecution>,
}

/// How far the chosen loop's static instructions per input element may exceed the function's
/// measured instructions per element before the loop metrics are called wrong: 5 %. Every
/// element the op processes runs through the function, so the function's executed instructions
/// per element bound the loop's from above; a static figure above it means elements per
/// iteration were under-counted (or the wrong loop was chosen).
pub const PER_ELEMENT_TOLERANCE: f64 = 0.05;

/// The measured figure may exceed the static one by at most this factor before the check calls
/// the loop unrepresentative: the rest of the function (set-up, tails, per-row work) costs more
/// than twice the loop itself per element.
pub const PER_ELEMENT_FACTOR: f64 = 3.0;

/// The static-vs-measured check of a loop chosen by execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElementCheck {
    /// The chosen loop's static instructions per input element.
    pub static_per_element: f64,
    /// The function's executed instructions per input element (the upper bound).
    pub function_per_element: f64,
    /// `static ≤ function × (1 + PER_ELEMENT_TOLERANCE)`.
    pub within_tolerance: bool,
    /// `function ≤ static × PER_ELEMENT_FACTOR`.
    pub within_factor: bool,
}

impl ElementCheck {
    pub fn passed(&self) -> bool {
        self.within_tolerance && self.within_factor
    }

    /// One line: the two figures and what failed, if anything.
    pub fn describe(&self) -> String {
        let (s, f) = (self.static_per_element, self.function_per_element);
        match (self.within_tolerance, self.within_factor) {
            (true, true) => format!("ok: static {s:.3} ≤ function {f:.3} per element"),
            (false, _) => format!(
                "FAILED: static {s:.3} per element exceeds the function's measured {f:.3} by more \
                 than {:.0} % (elements per iteration under-counted, or the wrong loop)",
                PER_ELEMENT_TOLERANCE * 100.0
            ),
            (true, false) => format!(
                "FAILED: the function's measured {f:.3} per element is more than {PER_ELEMENT_FACTOR}x \
                 the loop's static {s:.3} (the loop is not where the op's work is)"
            ),
        }
    }
}

impl LoopChoice {
    /// The function's executed instructions per input element (counts and elements given).
    pub fn function_instructions_per_element(&self) -> Option<f64> {
        let (t, n) = (
            self.function_executed?,
            self.input_elements.filter(|&n| n > 0)?,
        );
        Some(t as f64 / n as f64)
    }

    /// The check of the static figure against execution; `None` when either figure is unknown.
    pub fn element_check(&self) -> Option<ElementCheck> {
        let s = self.static_instructions_per_element?;
        let f = self.function_instructions_per_element()?;
        Some(ElementCheck {
            static_per_element: s,
            function_per_element: f,
            within_tolerance: s <= f * (1.0 + PER_ELEMENT_TOLERANCE),
            within_factor: f <= s * PER_ELEMENT_FACTOR,
        })
    }
}

/// Chooses the loop of `f` that runs: by `exec` when given, else statically (the loop marked
/// `hottest`). `input_elements` is the number of input elements the op processed (for the
/// measured per-element figure). Errors when counts are given but none falls on an instruction
/// of `f` (wrong file, or run-time instead of file addresses).
pub fn choose_loop(
    elf: &ElfFile,
    table: &SymbolTable,
    f: &Function,
    exec: Option<ExecCounts<'_>>,
    input_elements: Option<u64>,
) -> Result<LoopChoice> {
    let fl = function_loops(elf, table, f);
    let mut choice = LoopChoice {
        function: f.name.clone(),
        address: f.address,
        chosen_by: "static".into(),
        loops_found: fl.loops.len(),
        hot_loop: None,
        function_executed: None,
        loop_executed: None,
        coverage: None,
        iterations: None,
        input_elements,
        measured_instructions_per_element: None,
        measured_elements_per_iteration: None,
        static_instructions_per_element: None,
        ranking: Vec::new(),
    };
    let Some(exec) = exec else {
        choice.hot_loop = fl.loops.into_iter().find(|l| l.hottest);
        choice.static_instructions_per_element = choice
            .hot_loop
            .as_ref()
            .and_then(|l| l.instructions_per_element);
        return Ok(choice);
    };
    choice.chosen_by = exec.source.to_string();
    let mut insns = Vec::new();
    function_insns(elf, f, &mut insns);
    let count = |a: u64| exec.counts.get(&a).copied().unwrap_or(0);
    let total: u64 = insns
        .iter()
        .fold(0u64, |t, i| t.saturating_add(count(i.addr)));
    if total == 0 {
        return Err(AsmError::Symbol {
            path: elf.path.clone(),
            reason: format!(
                "no instruction of {} ({:#x}..{:#x}) has an execution count from {}: wrong file, \
                 or run-time addresses where file virtual addresses are expected",
                f.name, f.address, f.end, exec.source
            ),
        });
    }
    choice.function_executed = Some(total);
    let ranges: Vec<(u64, u64)> = fl.loops.iter().map(|l| (l.start, l.end)).collect();
    let own = |s: u64, e: u64| -> u64 {
        insns
            .iter()
            .filter(|i| i.addr >= s && i.addr < e)
            .filter(|i| {
                !ranges.iter().any(|&(s2, e2)| {
                    (s2, e2) != (s, e) && s <= s2 && e2 <= e && i.addr >= s2 && i.addr < e2
                })
            })
            .fold(0u64, |t, i| t.saturating_add(count(i.addr)))
    };
    let mut ranking: Vec<(usize, u64)> = ranges
        .iter()
        .enumerate()
        .map(|(k, &(s, e))| (k, own(s, e)))
        .filter(|&(_, n)| n > 0)
        .collect();
    // Most executed first; ties by address for a stable answer.
    ranking.sort_by_key(|&(k, n)| (std::cmp::Reverse(n), ranges[k].0));
    choice.ranking = ranking
        .iter()
        .map(|&(k, n)| LoopExecution {
            start: ranges[k].0,
            end: ranges[k].1,
            executed: n,
            coverage: n as f64 / total as f64,
        })
        .collect();
    let Some(&(best, executed)) = ranking.first() else {
        return Ok(choice);
    };
    let l = fl
        .loops
        .into_iter()
        .nth(best)
        .expect("index from the same list");
    let iterations = count(l.start).max(count(l.branch));
    choice.loop_executed = Some(executed);
    choice.coverage = Some(executed as f64 / total as f64);
    choice.iterations = Some(iterations);
    if let Some(n) = input_elements.filter(|&n| n > 0) {
        choice.measured_instructions_per_element = Some(executed as f64 / n as f64);
        if iterations > 0 {
            choice.measured_elements_per_iteration = Some(n as f64 / iterations as f64);
        }
    }
    choice.static_instructions_per_element = l.instructions_per_element;
    choice.hot_loop = Some(l);
    Ok(choice)
}

/// Per-instruction counts from basic-block start counts (qemu's `-d exec,nochain` logs one line
/// per executed translation block, named by its first address): each block's count is given to
/// its instructions up to and including the first control-flow instruction. Overlapping blocks
/// (a jump into the middle of a block starts a new one) add up, as they are separate executions.
pub fn expand_block_counts(
    elf: &ElfFile,
    f: &Function,
    blocks: &BTreeMap<u64, u64>,
) -> BTreeMap<u64, u64> {
    let mut insns: Vec<Insn> = Vec::new();
    function_insns(elf, f, &mut insns);
    let mut out = BTreeMap::new();
    for (&start, &n) in blocks.range(f.address..f.end) {
        let Ok(k) = insns.binary_search_by_key(&start, |i| i.addr) else {
            continue;
        };
        for i in &insns[k..] {
            let c = out.entry(i.addr).or_insert(0u64);
            *c = c.saturating_add(n);
            if i.flow != Flow::Next {
                break;
            }
        }
    }
    out
}

/// Reads counts written as `ADDRESS COUNT` lines (hex `0x…` or decimal, `#` comments) or as a
/// JSON object `{"0x…": count}`; the error names the file and line.
pub fn parse_counts(path: &std::path::Path, text: &str) -> Result<BTreeMap<u64, u64>> {
    let bad = |line: usize, why: String| AsmError::Symbol {
        path: path.to_path_buf(),
        reason: format!("counts line {line}: {why}"),
    };
    let num = |s: &str| -> std::result::Result<u64, String> {
        let s = s.trim().trim_matches('"');
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16),
            None => s.parse(),
        }
        .map_err(|e| format!("{s:?}: {e}"))
    };
    let mut out = BTreeMap::new();
    if text.trim_start().starts_with('{') {
        let v: BTreeMap<String, u64> =
            serde_json::from_str(text).map_err(|e| bad(e.line(), e.to_string()))?;
        for (k, n) in v {
            let c = out.entry(num(&k).map_err(|e| bad(1, e))?).or_insert(0u64);
            *c = c.saturating_add(n);
        }
        return Ok(out);
    }
    for (k, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut it = line.split_whitespace();
        let (Some(a), Some(n), None) = (it.next(), it.next(), it.next()) else {
            return Err(bad(
                k + 1,
                format!("expected `ADDRESS COUNT`, got {line:?}"),
            ));
        };
        let a = num(a).map_err(|e| bad(k + 1, e))?;
        let n = num(n).map_err(|e| bad(k + 1, e))?;
        let c = out.entry(a).or_insert(0u64);
        *c = c.saturating_add(n);
    }
    Ok(out)
}

/// Human-readable summary.
pub fn choice_text(c: &LoopChoice, out: &mut String) {
    use std::fmt::Write as _;
    let f3 = |v: Option<f64>| {
        v.map(|x| format!("{x:.3}"))
            .unwrap_or_else(|| "unknown".into())
    };
    let _ = writeln!(
        out,
        "<{}> {:#x}: {} loops, chosen by {}",
        c.function, c.address, c.loops_found, c.chosen_by
    );
    match &c.hot_loop {
        None => {
            let _ = writeln!(out, "  no loop chosen");
        }
        Some(l) => {
            let _ = writeln!(
                out,
                "  loop {:#x}..{:#x}: {} instructions/iteration, elements/iteration {} ({})",
                l.start,
                l.end,
                l.instructions,
                f3(l.elements_per_iteration),
                l.elements_basis
            );
            let measured = match (c.function_executed, c.input_elements) {
                (None, _) => "n/a (no execution counts)".to_string(),
                (Some(_), None) => "n/a (number of input elements not given)".to_string(),
                _ => f3(c.measured_instructions_per_element),
            };
            let _ = writeln!(
                out,
                "  instructions/element: static {}, measured {measured}",
                f3(c.static_instructions_per_element),
            );
        }
    }
    if let (Some(t), Some(cov)) = (c.function_executed, c.coverage) {
        let _ = writeln!(
            out,
            "  executed: function {t}, loop {} ({:.1} % coverage), iterations {}, elements/iteration implied by the run {}",
            c.loop_executed.unwrap_or(0),
            cov * 100.0,
            c.iterations.unwrap_or(0),
            f3(c.measured_elements_per_iteration)
        );
    }
    for r in &c.ranking {
        let _ = writeln!(
            out,
            "    {:#x}..{:#x}  {:>12}  {:5.1} %",
            r.start,
            r.end,
            r.executed,
            r.coverage * 100.0
        );
    }
}

#[cfg(test)]
mod element_check_tests {
    use super::*;

    fn choice(static_ipe: Option<f64>, executed: Option<u64>, elements: Option<u64>) -> LoopChoice {
        LoopChoice {
            function: "f".into(),
            address: 0,
            chosen_by: "callgrind".into(),
            loops_found: 1,
            hot_loop: None,
            function_executed: executed,
            loop_executed: None,
            coverage: None,
            iterations: None,
            input_elements: elements,
            measured_instructions_per_element: None,
            measured_elements_per_iteration: None,
            static_instructions_per_element: static_ipe,
            ranking: Vec::new(),
        }
    }

    #[test]
    fn static_above_measured_fails_and_far_below_fails() {
        // 1000 elements, 1100 instructions: 1.1 per element measured.
        let ok = choice(Some(1.0), Some(1100), Some(1000))
            .element_check()
            .unwrap();
        assert!(ok.passed(), "{}", ok.describe());
        // within 5 %: 1.15 <= 1.1 * 1.05 = 1.155
        assert!(choice(Some(1.15), Some(1100), Some(1000))
            .element_check()
            .unwrap()
            .passed());
        let high = choice(Some(1.2), Some(1100), Some(1000))
            .element_check()
            .unwrap();
        assert!(!high.within_tolerance && high.describe().starts_with("FAILED"));
        let low = choice(Some(0.3), Some(1100), Some(1000))
            .element_check()
            .unwrap();
        assert!(
            low.within_tolerance && !low.within_factor,
            "{}",
            low.describe()
        );
        assert!(choice(None, Some(1100), Some(1000))
            .element_check()
            .is_none());
        assert!(choice(Some(1.0), None, Some(1000))
            .element_check()
            .is_none());
        assert!(choice(Some(1.0), Some(1100), Some(0))
            .element_check()
            .is_none());
    }
}
