//! Loops from backward branches, their instruction mix, and the innermost/hottest candidate.
//!
//! A loop is `[target, branch_end)` for every direct jump (not a call) whose target is at or
//! before the jump and inside the same function; jumps back to the same target form one loop
//! (the widest). Estimates are documented in the README; they are static guesses, not profiles.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::disasm::function_code;
use crate::elf::{Arch, ElfFile, SymSource};
use crate::insn::{Category, Flow, Group, Insn};
use crate::simd::function_insns;
use crate::streams::{ArrayStreams, Stream};
use crate::symbols::{Function, SymbolTable};

/// One loop.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Loop {
    /// First address of the body (the branch target).
    pub start: u64,
    /// One past the last byte of the closing branch.
    pub end: u64,
    /// Address of the closing backward branch.
    pub branch: u64,
    pub instructions: u64,
    /// Instructions reading memory (explicit operands; loads folded into arithmetic count too).
    pub loads: u64,
    /// Instructions writing memory.
    pub stores: u64,
    /// SIMD/FP arithmetic (category `arithmetic`; includes adds).
    pub arith: u64,
    /// SIMD/FP add/subtract instructions (subset of `arith`).
    pub adds: u64,
    /// Fused multiply-add / multiply-accumulate.
    pub fma: u64,
    pub shuffles: u64,
    pub branches: u64,
    pub calls: u64,
    /// Widest vector register width used by a packed load/store/arithmetic op (0 = scalar).
    pub vector_bits: u16,
    /// Most common element width of those ops (0 = unknown).
    pub element_bits: u16,
    /// Largest number of vector-width accesses to one address stream (same base/index
    /// registers) per iteration; 1 = not unrolled.
    pub unroll: u64,
    /// Distinct vector registers both read and written by one add/FMA in the body whose value
    /// is carried from the previous iteration (no earlier body instruction writes them).
    pub accumulators: u64,
    /// Input elements consumed per iteration: the largest input array's elements, summed over
    /// its streams (rows × columns for a blocked reduction). `None` when not derivable; the
    /// reason is in `elements_basis`. See [`crate::streams`].
    pub elements_per_iteration: Option<f64>,
    /// `instructions / elements_per_iteration` (static, per input element).
    pub instructions_per_element: Option<f64>,
    /// How `elements_per_iteration` was derived, or why it is unknown.
    pub elements_basis: String,
    /// Instruction mix per input element (`None` when elements per iteration is unknown).
    pub per_element: Option<PerElement>,
    /// Address streams of the body (stride, bytes, elements, array).
    pub streams: Vec<Stream>,
    /// The streams grouped by the array they walk.
    pub arrays: Vec<ArrayStreams>,
    /// Distinct address streams read / written per iteration (a blocked reduction over 8 rows
    /// reads 8 row streams + the output).
    pub read_streams: u64,
    pub write_streams: u64,
    /// Bytes read / written per iteration through all streams (stack and PC-relative excluded).
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// The closing branch is conditional (a typical loop latch).
    pub latch_conditional: bool,
    /// Branches besides the latch that leave the body (jumps to outside targets, indirect jumps,
    /// returns) — early exits, or signs that the range is stitched-together cold code.
    pub exits: u64,
    /// Number of enclosing loops (0 = outermost).
    pub depth: u32,
    /// Contains no other loop.
    pub innermost: bool,
    /// The innermost loop judged most likely to dominate run time (see README).
    pub hottest: bool,
    /// Undecodable words inside the body.
    pub undecoded: u64,
    /// Body as llvm-mca input (`# LLVM-MCA-BEGIN`/`END` markers, backward branch to a label).
    pub mca: String,
}

/// Static counts per input element (each count per iteration ÷ `elements_per_iteration`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PerElement {
    pub instructions: f64,
    pub loads: f64,
    pub stores: f64,
    pub arith: f64,
    pub fma: f64,
    pub branches: f64,
}

impl PerElement {
    fn of(l: &Loop) -> Option<PerElement> {
        let e = l.elements_per_iteration.filter(|&e| e > 0.0)?;
        Some(PerElement {
            instructions: l.instructions as f64 / e,
            loads: l.loads as f64 / e,
            stores: l.stores as f64 / e,
            arith: l.arith as f64 / e,
            fma: l.fma as f64 / e,
            branches: l.branches as f64 / e,
        })
    }
}

/// Loops of one function.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionLoops {
    pub name: String,
    pub address: u64,
    pub size: u64,
    pub bounds_source: SymSource,
    pub instructions: u64,
    /// Direct jumps (not calls) whose target is at or before the jump, anywhere.
    pub backward_branches: u64,
    pub loops: Vec<Loop>,
}

/// `loops` result.
#[derive(Debug, Clone, Serialize)]
pub struct LoopsReport {
    pub file: String,
    pub arch: Arch,
    pub functions: Vec<FunctionLoops>,
}

/// Backward direct jumps in `insns`.
pub fn backward_branches(insns: &[Insn]) -> u64 {
    insns.iter().filter(|i| i.is_backward_jump()).count() as u64
}

/// Finds and measures the loops of `f`.
pub fn function_loops(elf: &ElfFile, _table: &SymbolTable, f: &Function) -> FunctionLoops {
    let mut insns = Vec::new();
    function_insns(elf, f, &mut insns);
    let mut by_start: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for i in &insns {
        if i.is_backward_jump() && i.target >= f.address {
            let e = by_start.entry(i.target).or_insert((i.end(), i.addr));
            if i.end() > e.0 {
                *e = (i.end(), i.addr);
            }
        }
    }
    let ranges: Vec<(u64, u64, u64)> = by_start.iter().map(|(&s, &(e, b))| (s, e, b)).collect();
    let effs = if ranges.is_empty() {
        Vec::new()
    } else {
        crate::effects::effects(elf.arch, function_code(elf, f), f.address)
    };
    let origins = crate::origins::Origins::analyse(elf.arch, &effs);
    let code = crate::streams::FunctionCode {
        arch: elf.arch,
        effs: &effs,
        insns: &insns,
        origins: &origins,
    };
    let mut loops: Vec<Loop> = ranges
        .iter()
        .enumerate()
        .map(|(k, &(s, e, b))| {
            let body: Vec<&Insn> = insns.iter().filter(|i| i.addr >= s && i.addr < e).collect();
            let mut l = measure(&body, s, e, b);
            let nested = |a: u64| {
                ranges.iter().any(|&(s2, e2, _)| {
                    (s2, e2) != (s, e) && s <= s2 && e2 <= e && a >= s2 && a < e2
                })
            };
            let lo = effs.partition_point(|x| x.addr < s);
            let hi = effs.partition_point(|x| x.addr < e);
            let sa = crate::streams::analyse(&code, lo, hi, &nested, l.element_bits);
            l.elements_per_iteration = sa.elements_per_iteration;
            l.instructions_per_element = sa
                .elements_per_iteration
                .filter(|&x| x > 0.0)
                .map(|x| l.instructions as f64 / x);
            l.elements_basis = sa.basis;
            l.streams = sa.streams;
            l.arrays = sa.arrays;
            l.per_element = PerElement::of(&l);
            l.depth = ranges
                .iter()
                .filter(|&&(s2, e2, _)| (s2, e2) != (s, e) && s2 <= s && e <= e2)
                .count() as u32;
            l.innermost = !ranges
                .iter()
                .any(|&(s2, e2, _)| (s2, e2) != (s, e) && s <= s2 && e2 <= e);
            l.mca = mca_text(elf, f, s, e, &format!("{}@{s:#x}", f.name), k);
            l
        })
        .collect();
    // Each loop's *own* body: its instructions outside any loop nested in it. A compiler often
    // nests a short remainder loop inside the unrolled main loop; scoring whole ranges (or only
    // innermost loops) would then pick the remainder.
    let own: Vec<Loop> = ranges
        .iter()
        .map(|&(s, e, b)| {
            let nested = |a: u64| {
                ranges.iter().any(|&(s2, e2, _)| {
                    (s2, e2) != (s, e) && s <= s2 && e2 <= e && a >= s2 && a < e2
                })
            };
            let body: Vec<&Insn> = insns
                .iter()
                .filter(|i| i.addr >= s && i.addr < e && !nested(i.addr))
                .collect();
            measure(&body, s, e, b)
        })
        .collect();
    if let Some(h) = hottest(&loops, &own) {
        loops[h].hottest = true;
    }
    FunctionLoops {
        name: f.name.clone(),
        address: f.address,
        size: f.size,
        bounds_source: f.bounds_source,
        instructions: insns.len() as u64,
        backward_branches: backward_branches(&insns),
        loops,
    }
}

fn measure(body: &[&Insn], start: u64, end: u64, branch: u64) -> Loop {
    let mut l = Loop {
        start,
        end,
        branch,
        instructions: body.len() as u64,
        loads: 0,
        stores: 0,
        arith: 0,
        adds: 0,
        fma: 0,
        shuffles: 0,
        branches: 0,
        calls: 0,
        vector_bits: 0,
        element_bits: 0,
        unroll: 1,
        accumulators: 0,
        elements_per_iteration: None,
        instructions_per_element: None,
        elements_basis: String::new(),
        per_element: None,
        streams: Vec::new(),
        arrays: Vec::new(),
        read_streams: 0,
        write_streams: 0,
        bytes_read: 0,
        bytes_written: 0,
        latch_conditional: false,
        exits: 0,
        depth: 0,
        innermost: false,
        hottest: false,
        undecoded: 0,
        mca: String::new(),
    };
    let mut elem_votes: BTreeMap<u16, u64> = BTreeMap::new();
    let mut accs = BTreeSet::new();
    let mut written = 0u64;
    // Per address stream: (bytes read, bytes written, accesses).
    let mut streams: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    for i in body {
        if i.addr == branch {
            l.latch_conditional = i.flow == Flow::CondJump;
        } else {
            let leaves = match i.flow {
                Flow::IndirectJump | Flow::Return => true,
                Flow::Jump | Flow::CondJump => i.target < start || i.target >= end,
                _ => false,
            };
            l.exits += leaves as u64;
        }
        l.loads += i.mem_read as u64;
        l.stores += i.mem_write as u64;
        match i.cat {
            Category::Arithmetic => l.arith += 1,
            Category::Fma => l.fma += 1,
            Category::Shuffle => l.shuffles += 1,
            Category::Branch => l.branches += 1,
            Category::Undecoded => l.undecoded += 1,
            _ => {}
        }
        if i.simd && i.group == Group::Add {
            l.adds += 1;
        }
        if matches!(i.flow, Flow::Call | Flow::IndirectCall) {
            l.calls += 1;
        }
        let data_op = matches!(
            i.cat,
            Category::VectorLoad | Category::VectorStore | Category::Arithmetic | Category::Fma
        );
        if i.simd && data_op {
            l.vector_bits = l.vector_bits.max(i.vector_bits);
            if i.elem_bits > 0 {
                *elem_votes.entry(i.elem_bits).or_default() += 1;
            }
        }
        // Loop-carried only: the add/FMA reads a value no earlier body instruction produced.
        if i.acc_reg != u16::MAX && written & (1u64 << (i.acc_reg & 63)) == 0 {
            accs.insert(i.acc_reg);
        }
        written |= i.dst_mask;
        if i.stream != 0 && (i.mem_read || i.mem_write) {
            let e = streams.entry(i.stream).or_default();
            if i.mem_read {
                e.0 += i.mem_bytes as u64;
            } else {
                e.1 += i.mem_bytes as u64;
            }
        }
    }
    l.element_bits = elem_votes
        .iter()
        .max_by_key(|(b, n)| (**n, **b))
        .map(|(b, _)| *b)
        .unwrap_or(0);
    l.accumulators = accs.len() as u64;
    let unit = if l.vector_bits > 0 {
        l.vector_bits as u64 / 8
    } else {
        (l.element_bits as u64 / 8).max(1)
    };
    l.read_streams = streams.values().filter(|s| s.0 > 0).count() as u64;
    l.write_streams = streams.values().filter(|s| s.1 > 0).count() as u64;
    l.bytes_read = streams.values().map(|s| s.0).sum();
    l.bytes_written = streams.values().map(|s| s.1).sum();
    let busiest_any = streams.values().map(|s| s.0.max(s.1)).max().unwrap_or(0);
    if busiest_any > 0 {
        l.unroll = (busiest_any / unit).max(1);
    }
    l
}

/// The loop whose own body (instructions outside nested loops, `own[i]`) does the most vector
/// work per iteration (FMA+arith+loads weighted by width), ties broken by vector width, the
/// loop's elements per iteration, then the *smaller* body: of two loops doing the same work,
/// the one with fewer instructions is the specialised fast path (Raptors' avx2 sum_axis0_f32
/// has an 8-row tile without row checks, 57 instructions, next to the general up-to-8-row one,
/// 110; callgrind runs the first ~63 % of the function's instructions, the second ~0 %). Main
/// loops are written to move the most data per iteration; tails and prologues move less. Tight loops (no calls, at most one early exit — unrolled main loops
/// commonly break out to their tail, and rotated loops close with an unconditional branch) are
/// preferred; the filters are relaxed only if nothing passes them.
fn hottest(loops: &[Loop], own: &[Loop]) -> Option<usize> {
    // Work is scored on the own body; elements per iteration come from the whole loop.
    let score = |l: &Loop, o: &Loop| {
        let w = (o.vector_bits.max(32) / 32) as u64;
        let elems = l.elements_per_iteration.unwrap_or(0.0) as u64;
        let l = o;
        (
            (l.fma * 2 + l.arith + l.loads) * w,
            l.vector_bits,
            elems,
            std::cmp::Reverse(l.instructions),
        )
    };
    let tiers: [&dyn Fn(&Loop) -> bool; 3] = [
        &|l| l.calls == 0 && l.exits <= 1,
        &|l| l.calls == 0,
        &|_| true,
    ];
    tiers.iter().find_map(|keep| {
        loops
            .iter()
            .zip(own)
            .enumerate()
            .filter(|(_, (l, _))| keep(l))
            .max_by_key(|(i, (l, o))| (score(l, o), std::cmp::Reverse(*i)))
            .map(|(i, _)| i)
    })
}

fn mca_text(elf: &ElfFile, f: &Function, s: u64, e: u64, name: &str, k: usize) -> String {
    let code = function_code(elf, f);
    let lo = (s - f.address) as usize;
    let hi = ((e - f.address) as usize).min(code.len());
    let code = &code[lo.min(hi)..hi];
    // Every branch target gets a label: the loop start `.LloopK`, other targets inside the
    // body `.LloopK_<addr>`, targets outside `exit_<addr>` (left undefined: llvm-mca only
    // assembles the body).
    let label = |t: u64| -> String {
        if t == s {
            format!(".Lloop{k}")
        } else if t > s && t < e {
            format!(".Lloop{k}_{t:x}")
        } else {
            format!("exit_{t:x}")
        }
    };
    let lines = match elf.arch {
        Arch::X86_64 => crate::x86::mca_lines(code, s, &label),
        Arch::Aarch64 => crate::arm64::mca_lines(code, s, &label),
    };
    let mut inner: BTreeSet<String> = BTreeSet::new();
    for (_, l) in &lines {
        for w in l.split([' ', ',']) {
            if w.starts_with(&format!(".Lloop{k}_")) {
                inner.insert(w.to_string());
            }
        }
    }
    let mut out = format!("# LLVM-MCA-BEGIN {name}\n.Lloop{k}:\n");
    for (a, l) in lines {
        let here = format!(".Lloop{k}_{a:x}");
        if inner.contains(&here) {
            out.push_str(&here);
            out.push_str(":\n");
        }
        out.push_str("  ");
        out.push_str(&l);
        out.push('\n');
    }
    out.push_str("# LLVM-MCA-END\n");
    out
}

/// Loops of the selected functions.
pub fn loops_report(elf: &ElfFile, table: &SymbolTable, funcs: &[&Function]) -> LoopsReport {
    LoopsReport {
        file: elf.path.display().to_string(),
        arch: elf.arch,
        functions: funcs
            .iter()
            .map(|f| function_loops(elf, table, f))
            .collect(),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "n/a".into())
}

/// Human-readable loop table.
pub fn loops_text(r: &LoopsReport, out: &mut String) {
    use std::fmt::Write as _;
    let _ = writeln!(out, "# {} ({:?})", r.file, r.arch);
    for f in &r.functions {
        let _ = writeln!(
            out,
            "\n<{}> {:#x} size {} ({}): {} instructions, {} backward branches, {} loops",
            f.name,
            f.address,
            f.size,
            crate::simd::src_name(f.bounds_source),
            f.instructions,
            f.backward_branches,
            f.loops.len()
        );
        for l in &f.loops {
            let tag = match (l.innermost, l.hottest) {
                (true, true) => " innermost HOTTEST",
                (true, false) => " innermost",
                (false, true) => " HOTTEST",
                (false, false) => "",
            };
            let _ = writeln!(
                out,
                "  loop {:#x}..{:#x} depth {}{}: {} insns, loads {}, stores {}, arith {} (adds {}), fma {}, shuffles {}, vector bits {}, elem bits {}, unroll {}, accumulators {}, elems/iter {}, insns/elem {}{}",
                l.start,
                l.end,
                l.depth,
                tag,
                l.instructions,
                l.loads,
                l.stores,
                l.arith,
                l.adds,
                l.fma,
                l.shuffles,
                l.vector_bits,
                l.element_bits,
                l.unroll,
                l.accumulators,
                opt(l.elements_per_iteration),
                opt(l.instructions_per_element),
                if l.undecoded > 0 { format!(", undecoded {}", l.undecoded) } else { String::new() }
            );
            let _ = writeln!(out, "    elements: {}", l.elements_basis);
        }
    }
}
