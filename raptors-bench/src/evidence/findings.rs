//! The findings: one sentence per op × dtype from this run's loops, executed instructions and
//! stored verdicts (README.md's "Findings" and `findings.md`). Nothing here decides: the verdicts
//! are the ones raptors-bench stored with each cell, the loop differences raptors-asm's.

use std::fmt::Write as _;

use raptors_asm::differences::fmt_num;

use super::hot_loops::describe_loop;
use super::one_line;
use super::picks::Executed;
use super::record::Outcome;
use super::report::ReportInput;
use crate::stats::Verdict;
use crate::summary::{CellSummary, ResultsSummary};

/// The auto-level cell of `op` × `dtype` at `n`² (None: the largest measured).
fn timing(t: &ResultsSummary, op: &str, dtype: &str, n: Option<usize>) -> Option<CellSummary> {
    let mut auto = t
        .cells_of(op, dtype)
        .into_iter()
        .filter(|c| c.level == "auto");
    match n {
        Some(n) => auto.find(|c| c.shape.iter().all(|d| *d == n)).cloned(),
        None => auto.next_back().cloned(),
    }
}

fn speed(c: &CellSummary) -> String {
    let size: Vec<String> = c.shape.iter().map(usize::to_string).collect();
    let v = c.verdict.describe("Raptors", "NumPy");
    format!(
        "measured at {}: speedup {:.2}x (95 % CI {:.2}–{:.2}) — {v}",
        size.join("x"),
        c.speedup,
        c.ci_low,
        c.ci_high
    )
}

fn executed_sentence(e: &Executed) -> Option<String> {
    let (n, r) = (fmt_num(e.numpy?), fmt_num(e.raptors?));
    Some(format!("Executed (callgrind, at valgrind's level): NumPy {n} vs Raptors {r} instructions per element inside their modules."))
}

/// When instruction counts and the stored verdict disagree, the time goes where instructions do
/// not show.
fn contradiction(e: &Executed, c: &CellSummary) -> Option<String> {
    let (n, r) = (e.numpy?, e.raptors?);
    match c.verdict {
        Verdict::Slower if r < 0.8 * n => Some(format!(
            "Raptors executes {:.1}x fewer instructions per element yet is slower: its time goes outside the instructions of \
             the single-threaded callgrind run (threads, page faults of fresh results, memory traffic).",
            n / r.max(1e-12)
        )),
        Verdict::Faster if r > 1.25 * n => Some(format!(
            "Raptors executes {:.1}x more instructions per element yet is faster: wider vectors or threads in the real run make up for it.",
            r / n.max(1e-12)
        )),
        _ => None,
    }
}

/// Bullet points: the verdict counts, then one per op × dtype.
pub fn findings(input: &ReportInput) -> Vec<String> {
    let summary = input.summary();
    let mut out = Vec::new();
    if let Some(t) = &summary {
        let under = input.emulation().map_or(String::new(), |e| {
            format!(" (under qemu-user emulation, {e}: not this CPU's speed)")
        });
        let c = &t.counts;
        out.push(format!(
            "Timings{under}: Raptors is significantly faster in {} of {} cells, NumPy in {}, no significant difference in {} \
             (raptors-bench's stored verdicts).",
            c.faster,
            c.total(),
            c.slower,
            c.no_difference
        ));
        // A self-check that misses says how large a difference this run could invent: readers
        // of the other cells must hear it here, not only in a table row marked **NO**.
        for a in t.self_checks.iter().filter(|a| !a.pass) {
            out.push(format!(
                "Self-check `{}` failed: expected {}, got {} ({:.4}x, 95 % CI {:.4}–{:.4}). In this \
                 run, differences of that size in cells measured the same way (same regime) are \
                 not evidence.",
                a.id,
                a.expected.label(),
                a.verdict.label(),
                a.speedup,
                a.ci_low,
                a.ci_high
            ));
        }
    }
    for f in &input.functions {
        let mut s = String::new();
        for p in input
            .loops
            .iter()
            .filter(|p| p.op == f.op && p.dtype == f.dtype && p.build != "under valgrind")
        {
            if let (Ok((nf, nl)), Ok((rf, rl))) = (&p.numpy, &p.raptors) {
                let d: Vec<String> = p
                    .differences
                    .iter()
                    .map(|d| d.describe("NumPy", "Raptors"))
                    .collect();
                let tail = match d.is_empty() {
                    true => "the inner loops look alike by these measures, so any gap comes from outside them".into(),
                    false => format!("differences: {}", d.join("; ")),
                };
                let _ = write!(
                    s,
                    "{} ({}): NumPy `{nf}` ({}) vs Raptors `{rf}` ({}); {tail}. ",
                    p.arch,
                    p.build,
                    describe_loop(nl),
                    describe_loop(rl)
                );
            }
        }
        let exec = input
            .executed
            .iter()
            .find(|e| e.op == f.op && e.dtype == f.dtype);
        if let Some(t) = exec.and_then(executed_sentence) {
            let _ = write!(s, "{t} ");
        }
        if let Some(c) = summary
            .as_ref()
            .and_then(|t| timing(t, &f.op, &f.dtype, None))
        {
            let _ = write!(
                s,
                "Timing {}. {}",
                speed(&c),
                exec.and_then(|e| contradiction(e, &c)).unwrap_or_default()
            );
        }
        if !s.is_empty() {
            out.push(format!("**{} {}** — {}", f.op, f.dtype, s.trim_end()));
        }
    }
    out.extend(super::predicted::sentences(input));
    out
}

/// One op × dtype × size explained: timing, executed instructions, the measured real-run loops.
pub(super) fn focus(input: &ReportInput, op: &str, dtype: &str, n: usize) -> String {
    let summary = input.summary();
    let at = |n| summary.as_ref().and_then(|t| timing(t, op, dtype, n));
    let mut s = match (at(Some(n)), at(None)) {
        (Some(c), _) => format!("Timing: {}.\n\n", speed(&c)),
        (None, Some(c)) => format!(
            "Timing: not measured at {n}² in this run; nearest: {}.\n\n",
            speed(&c)
        ),
        (None, None) => format!("Timing: not measured at {n}² in this run.\n\n"),
    };
    let exec = input
        .executed
        .iter()
        .find(|e| e.op == op && e.dtype == dtype);
    for t in [
        exec.and_then(executed_sentence),
        exec.zip(at(Some(n)))
            .and_then(|(e, c)| contradiction(e, &c)),
    ]
    .into_iter()
    .flatten()
    {
        let _ = writeln!(s, "{t}\n");
    }
    match input.loops.iter().find(|p| p.op == op && p.dtype == dtype && p.build == "real run") {
        Some(p) => {
            let _ = writeln!(s, "The measured loops ({}, `raptors-asm compare`; A = NumPy, B = Raptors):\n\n```text\n{}```", p.arch, p.comparison);
        }
        None => s.push_str("No measured hot-loop comparison for it in this run (op or dtype not selected, or a step failed — see Status).\n"),
    }
    s
}

/// `findings.md`: the run's findings for readers of the docs.
pub fn findings_md(input: &ReportInput) -> String {
    let p = &input.provenance;
    let mut s = format!(
        "# Findings of the latest profile run\n\nGenerated by `{}` on `{}` at {}, commit `{}`. The evidence is in this folder \
         ([README.md](README.md)); how to read it: [docs/profiling.md](../../docs/profiling.md). Regenerate with \
         `cargo xtask profile`.\n\n## Summary\n\n",
        input.command, p.machine_tag, p.date, p.git_commit
    );
    for f in findings(input) {
        let _ = writeln!(s, "- {f}");
    }
    let _ = writeln!(
        s,
        "\n## mean axis 0, f32, 2048²\n\n{}",
        focus(input, "mean_axis0", "f32", 2048)
    );
    if let Ok(c) = &input.counters {
        let _ = writeln!(s, "## Counters\n\n```text\n{c}\n```\n");
    }
    let failed: Vec<_> = input
        .steps
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .collect();
    if !failed.is_empty() {
        s.push_str("## Steps that failed in that run\n\n");
        for r in failed {
            let _ = writeln!(s, "- {}: {}", r.name, one_line(&r.reason, 200));
        }
    }
    s
}
