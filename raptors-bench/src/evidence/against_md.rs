//! `against.md`: what changed between two revisions, rendered from an [`AgainstReport`]. It opens
//! with the cells whose stored old-vs-new verdict is "faster" or "slower" and, for each, the
//! instruction changes of its hot loops; then the tables (timings, executed instructions, loop
//! metrics) and every loop diff. Nothing here decides: verdicts are the stored ones.

use std::fmt::Write as _;

use super::against::{AgainstReport, LoopChange, LoopMetrics, TimingCell};
use crate::stats::{PairedStats, Verdict};

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(10)]
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Faster => "**faster**",
        Verdict::Slower => "**slower**",
        Verdict::NoDifference => "no difference",
    }
}

fn shape(s: &[usize]) -> String {
    s.iter().map(usize::to_string).collect::<Vec<_>>().join("×")
}

fn ratio(p: &PairedStats) -> String {
    format!("{:.3}x [{:.3}, {:.3}]", p.speedup, p.ci_low, p.ci_high)
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("unknown".into(), |v| format!("{v:.digits$}"))
}

fn cell_name(c: &TimingCell) -> String {
    format!("{} {} {}", c.op, c.dtype, shape(&c.shape))
}

/// ", unstable: …" when either build's time moved by more than `stats::DRIFT_LIMIT` between the
/// first and the second half of the cell's rounds (the machine changed state meanwhile).
fn unstable(p: &PairedStats) -> String {
    if p.drift > crate::stats::DRIFT_LIMIT {
        format!(
            ", unstable: a build's median moved {:.0} % between the halves of the rounds",
            100.0 * p.drift
        )
    } else {
        String::new()
    }
}

/// One line per architecture: what changed in the hot loop.
fn loop_line(l: &LoopChange) -> String {
    let what = match &l.diff {
        Ok(d) if d.identical => "no instruction changes".to_string(),
        Ok(d) => format!("instructions: {} removed, {} added", d.removed, d.added),
        Err(e) => format!("no diff: {e}"),
    };
    let names = match (&l.old, &l.new) {
        (Ok(o), Ok(n)) if o.function == n.function => format!("`{}`", n.function),
        (Ok(o), Ok(n)) => format!("`{}` → `{}`", o.function, n.function),
        _ => "—".into(),
    };
    format!("{} ({}): {names}: {what}", l.arch, l.build)
}

fn diff_block(out: &mut String, l: &LoopChange) {
    match &l.diff {
        Ok(d) if !d.identical => {
            let _ = writeln!(out, "\n```diff\n{}```", d.unified);
        }
        _ => {}
    }
}

/// The Markdown file.
pub fn against_md(r: &AgainstReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# What changed: `{}` ({}) → {} ({})\n",
        r.old.rev,
        short(&r.old.commit),
        short(&r.new.commit),
        r.new.rev
    );
    let _ = writeln!(
        s,
        "Old: {} \"{}\". New: {} \"{}\". Measured on {}{}.\n",
        r.old.commit,
        r.old.subject,
        r.new.commit,
        r.new.subject,
        r.host,
        if r.quick { " (`--quick`)" } else { "" }
    );
    s.push_str(
        "Timing ratios are old time ÷ new time (> 1: the new build is faster), the median of paired, \
         interleaved rounds from several runner processes (the build that goes first alternating) with a 95 % CI \
         that resamples processes and rounds; the verdict is raptors-bench's one rule (99 % interval \
         and a 1.5 % minimum effect). NumPy is timed in the same rounds as the fixed reference.\n",
    );
    summary(&mut s, r);
    timings(&mut s, r);
    executed(&mut s, r);
    loops(&mut s, r);
    s
}

fn summary(s: &mut String, r: &AgainstReport) {
    s.push_str("\n## What changed\n\n");
    let t = match &r.timings {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(s, "No timings: {e}\n");
            return changed_loops(s, r);
        }
    };
    let count = |v: Verdict| t.cells.iter().filter(|c| c.old_vs_new.verdict == v).count();
    let _ = writeln!(
        s,
        "{} cells timed: {} faster, {} slower, {} no difference ({} unstable: drift above {:.0} %, \
         see the timing table).",
        t.cells.len(),
        count(Verdict::Faster),
        count(Verdict::Slower),
        count(Verdict::NoDifference),
        t.cells
            .iter()
            .filter(|c| c.old_vs_new.drift > crate::stats::DRIFT_LIMIT)
            .count(),
        100.0 * crate::stats::DRIFT_LIMIT
    );
    let changed = r.changed_cells();
    if changed.is_empty() {
        s.push_str("\nNo difference: no cell got significantly faster or slower.\n");
    }
    for c in changed {
        let _ = writeln!(
            s,
            "\n### {} — {} ({}{})\n",
            cell_name(c),
            verdict(c.old_vs_new.verdict),
            ratio(&c.old_vs_new),
            unstable(&c.old_vs_new)
        );
        let loops = r.loops_of(&c.op, &c.dtype);
        if loops.is_empty() {
            s.push_str("No hot loops were compared for this op.\n");
        }
        for l in &loops {
            let _ = writeln!(s, "- {}", loop_line(l));
        }
        let unchanged = |l: &&LoopChange| matches!(&l.diff, Ok(d) if d.identical);
        if !loops.is_empty() && loops.iter().all(unchanged) {
            let _ = writeln!(s, "\n{}", outside_the_loops(r, c));
        }
    }
    changed_loops(s, r);
}

/// Why a verdict can come without a hot-loop change, with callgrind's counts of the whole call.
fn outside_the_loops(r: &AgainstReport, c: &TimingCell) -> String {
    let counted = r.executed.as_ref().ok().and_then(|rows| {
        let e = rows.iter().find(|e| e.op == c.op && e.dtype == c.dtype)?;
        Some(format!(
            " callgrind counts {:.3} → {:.3} instructions per element for the whole call.",
            e.old?, e.new?
        ))
    });
    format!(
        "The hot loops did not change: the difference lies outside them (other code the call \
         runs, where the linker placed the code) or is a layout this run's processes did not \
         average out.{}",
        counted.unwrap_or_default()
    )
}

/// Loops whose instructions changed, whatever the timings said.
fn changed_loops(s: &mut String, r: &AgainstReport) {
    let Ok(loops) = &r.loops else { return };
    let changed: Vec<&LoopChange> = loops
        .iter()
        .filter(|l| matches!(&l.diff, Ok(d) if !d.identical))
        .collect();
    let _ = writeln!(
        s,
        "\nHot loops with instruction changes: {} of {}{}",
        changed.len(),
        loops.len(),
        if changed.is_empty() { "." } else { ":" }
    );
    for l in changed {
        let _ = writeln!(s, "- {} {}: {}", l.op, l.dtype, loop_line(l));
    }
}

fn timings(s: &mut String, r: &AgainstReport) {
    s.push_str("\n## Timings: old vs new, NumPy as the reference\n\n");
    let t = match &r.timings {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(s, "Not measured: {e}");
            return;
        }
    };
    let load = |k: &str| match t.machine[k].as_array() {
        Some(l) => l
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        None => "unknown".into(),
    };
    let threads = t.machine["threads"].as_str().unwrap_or("Raptors's default");
    let processes = t.machine["processes"].as_u64().unwrap_or(1);
    let _ = writeln!(
        s,
        "RAPTORS_THREADS: {threads}. Runner processes: {processes}. Load average (1, 5, 15 min) \
         before: {}, after: {}.\n",
        load("load_before"),
        load("load_after")
    );
    for (k, label) in [("old_extension", "old"), ("new_extension", "new")] {
        if let Some(p) = t.machine[k].as_str() {
            let level = t.machine[format!("{label}_simd_level")]
                .as_str()
                .unwrap_or("?");
            let _ = writeln!(s, "- {label}: `{p}` (level {level})");
        }
    }
    s.push_str(
        "\n| op | dtype | shape | old/new | verdict | NumPy/old | NumPy/new | rounds | drift | checks |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in &t.cells {
        let checks = match (c.check_old.as_str(), c.check_new.as_str()) {
            ("ok", "ok") => "ok".to_string(),
            (o, n) => format!("old: {o}; new: {n}"),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.2}x | {:.2}x | {} | {:.0} %{} | {} |",
            c.op,
            c.dtype,
            shape(&c.shape),
            ratio(&c.old_vs_new),
            verdict(c.old_vs_new.verdict),
            c.numpy_vs_old.speedup,
            c.numpy_vs_new.speedup,
            c.old_vs_new.rounds,
            100.0 * c.old_vs_new.drift,
            if c.old_vs_new.drift > crate::stats::DRIFT_LIMIT {
                " ⚠"
            } else {
                ""
            },
            super::one_line(&checks, 80)
        );
    }
    for (id, why) in &t.skipped {
        let _ = writeln!(s, "\nNot timed: {id}: {}", super::one_line(why, 200));
    }
    if let Some(e) = &t.error {
        let _ = writeln!(
            s,
            "\nThe runner stopped part-way: {}",
            super::one_line(e, 200)
        );
    }
}

fn executed(s: &mut String, r: &AgainstReport) {
    s.push_str("\n## Executed instructions per element (callgrind, Raptors's module)\n\n");
    let rows = match &r.executed {
        Ok(rows) => rows,
        Err(e) => {
            let _ = writeln!(s, "Not measured: {e}");
            return;
        }
    };
    s.push_str(
        "| op | dtype | old Ir/element | new Ir/element | new ÷ old |\n|---|---|---|---|---|\n",
    );
    for e in rows {
        let change = match (e.old, e.new) {
            (Some(o), Some(n)) if o > 0.0 => format!("{:.3}", n / o),
            _ => "—".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {change} |",
            e.op,
            e.dtype,
            opt(e.old, 3),
            opt(e.new, 3)
        );
    }
}

fn metrics_cells(m: &Result<LoopMetrics, String>) -> [String; 7] {
    match m {
        Ok(m) => [
            format!("`{}` ({})", super::one_line(&m.function, 60), m.chosen_by),
            opt(m.instructions_per_element, 3),
            format!(
                "{} / {}",
                opt(m.loads_per_element, 3),
                opt(m.stores_per_element, 3)
            ),
            m.vector_bits.to_string(),
            m.unroll.to_string(),
            m.accumulators.to_string(),
            cycles(m),
        ],
        Err(e) => [
            super::one_line(e, 80),
            "—".into(),
            "—".into(),
            "—".into(),
            "—".into(),
            "—".into(),
            "—".into(),
        ],
    }
}

fn cycles(m: &LoopMetrics) -> String {
    let known: Vec<String> = m
        .cycles
        .iter()
        .filter_map(|(cpu, c)| {
            let c = c.as_ref().ok()?;
            Some(match c.per_element {
                Some(e) => format!("{cpu} {e:.3}"),
                None => format!("{cpu} {:.2} c/it", c.per_iteration),
            })
        })
        .collect();
    if known.is_empty() {
        "—".into()
    } else {
        known.join(", ")
    }
}

fn loops(s: &mut String, r: &AgainstReport) {
    s.push_str("\n## Hot loops: old vs new\n\n");
    let loops = match &r.loops {
        Ok(l) => l,
        Err(e) => {
            let _ = writeln!(s, "Not compared: {e}");
            return;
        }
    };
    s.push_str(
        "Per op × dtype × architecture, Raptors's hot loop as each build's profile chose it \
         (`execution`: the loop holding the function's most executed address; `static`: \
         raptors-asm's choice), its metrics per input element and llvm-mca's predicted cycles per \
         element (`c/it`: per iteration, where the loop's elements per iteration are unknown).\n\n\
         | op | dtype | arch | build | function (chosen by) | instr/elt | loads / stores per elt | vector bits | unroll | accumulators | cycles/elt (llvm-mca) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for l in loops {
        for (which, m) in [("old", &l.old), ("new", &l.new)] {
            let c = metrics_cells(m);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {which} | {} | {} | {} | {} | {} | {} | {} |",
                l.op, l.dtype, l.arch, c[0], c[1], c[2], c[3], c[4], c[5], c[6]
            );
        }
    }
    s.push_str(
        "\n### Loop diffs\n\nAddresses, encodings, branch targets and PC-relative displacements are \
         normalised away (`raptors-asm diff`): only real instruction changes show.\n",
    );
    for l in loops {
        let _ = writeln!(s, "\n**{} {}** — {}", l.op, l.dtype, loop_line(l));
        diff_block(s, l);
    }
}
