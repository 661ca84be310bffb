//! `hot_loops.md` and the loop tables of the README.

use std::fmt::Write as _;

use raptors_asm::differences::fmt_num;
use raptors_asm::loops::Loop;

use super::one_line;
use super::picks::ExecutedLoop;
use super::report::{LoopPair, ReportInput};

pub(super) fn loops_table(loops: &[LoopPair]) -> String {
    let mut s = String::from("| op | dtype | arch | build | insns/elem NumPy | Raptors | loads/elem NumPy | Raptors | vector bits NumPy | Raptors | accumulators NumPy | Raptors |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    let opt = |x: Option<f64>| x.map_or("n/a".into(), fmt_num);
    let metrics: [&dyn Fn(&Loop) -> String; 4] = [
        &|l| opt(l.instructions_per_element),
        &|l| opt(l.per_element.map(|p| p.loads)),
        &|l| l.vector_bits.to_string(),
        &|l| l.accumulators.to_string(),
    ];
    for p in loops {
        let _ = write!(s, "| {} | {} | {} | {} |", p.op, p.dtype, p.arch, p.build);
        for f in metrics {
            for side in [&p.numpy, &p.raptors] {
                let _ = write!(s, " {} |", side.as_ref().map_or("—".into(), |(_, l)| f(l)));
            }
        }
        s.push('\n');
    }
    s
}

/// "256-bit vectors, 1 accumulator, 2 loads + 1 store per element, 0.75 instructions/element".
pub(super) fn describe_loop(l: &Loop) -> String {
    let bits = if l.vector_bits > 0 {
        format!("{}-bit vectors", l.vector_bits)
    } else {
        "scalar code".into()
    };
    let traffic = match l.per_element.map(|p| (p.loads, p.stores)) {
        Some((a, b)) => format!("{} loads + {} stores per element", fmt_num(a), fmt_num(b)),
        _ => format!("{} loads + {} stores per iteration", l.loads, l.stores),
    };
    let insns = l
        .instructions_per_element
        .map_or(format!("{} instructions/iteration", l.instructions), |i| {
            format!("{} instructions/element", fmt_num(i))
        });
    format!(
        "{bits}, {} accumulator(s), {traffic}, {insns}, unrolled {}x",
        l.accumulators, l.unroll
    )
}

/// `hot_loops.md` (its provenance header is added when it is written).
pub fn hot_loops_md(input: &ReportInput) -> String {
    let mut s = String::from(
        "# Hot loops: NumPy vs Raptors\n\nPer op, the hot loop of the function that runs it (README.md says how each \
         function was found): the loop holding its most executed address where the function was found by \
         execution, else `raptors-asm`'s static choice. `raptors-asm compare`'s table, then the loop bodies.\n\n",
    );
    s.push_str(&loops_table(&input.loops));
    for p in &input.loops {
        let _ = writeln!(s, "\n## {} {} — {} ({})\n", p.op, p.dtype, p.arch, p.build);
        for (side, r) in [("NumPy", &p.numpy), ("Raptors", &p.raptors)] {
            if let Err(why) = r {
                let _ = writeln!(s, "- {side}: no loop — {}", one_line(why, 200));
            }
        }
        let _ = writeln!(s, "```text\n{}\n\n{}", p.comparison.trim_end(), p.bodies);
        s.push_str("```\n");
    }
    s
}

/// The loops chosen by execution: coverage, static and measured instructions per input element,
/// and the check (`raptors_asm::hotloop::ElementCheck`).
pub(super) fn executed_loops_table(rows: &[ExecutedLoop]) -> String {
    if rows.is_empty() {
        return "No loop was chosen by execution in this run (see Status).\n".into();
    }
    let mut s = format!(
        "The loop with the most executed instructions of the function that ran, one thread: on \
         this machine's architecture the function valgrind ran (`callgrind`, `--dump-instr=yes`); \
         on an architecture it only emulates, the function with the most executed instructions \
         under qemu-user (`qemu-exec`: every executed translation block logged and counted, at \
         256²). Instructions per **input element**: *static* from the \
         loop's code (its elements per iteration from the address streams), *loop* and *function* \
         measured (executed ÷ elements processed). Every element passes through the function, so \
         static must not exceed the function's figure by more than {:.0} %, and the function's \
         must stay within {}x of static.\n\n| op | dtype | arch | library | chosen by | function | loop | coverage | \
         static | loop (measured) | function (measured) | check |\n|---|---|---|---|---|---|---|---:|---:|---:|---:|---|\n",
        raptors_asm::hotloop::PER_ELEMENT_TOLERANCE * 100.0,
        raptors_asm::hotloop::PER_ELEMENT_FACTOR
    );
    let f = |v: Option<f64>| v.map_or("unknown".into(), |x| format!("{x:.3}"));
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | `{}` | {} | {} | {} | {} | {} | {} |",
            r.op,
            r.dtype,
            r.arch,
            r.library,
            r.chosen_by,
            one_line(&r.function, 60),
            r.loop_start.map_or("—".into(), |a| format!("{a:#x}")),
            r.coverage
                .map_or("—".into(), |c| format!("{:.1} %", c * 100.0)),
            f(r.instructions_per_element),
            f(r.measured_instructions_per_element),
            f(r.function_instructions_per_element),
            one_line(&r.check, 120)
        );
    }
    s
}
