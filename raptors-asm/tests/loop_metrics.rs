//! Elements per iteration (per input element) and loop choice by execution, on the loops of
//! `tests/fixtures/loops_{x86,a64}.s` (assembled at test time): the loops quoted in issue 17
//! (NumPy `FLOAT_add`, Raptors `sum_axis0_f32` tiles) and hand-made ones with known answers.
//! Exact facts are asserted; the full per-loop table is an insta snapshot.

mod common;

use std::collections::BTreeMap;

use common::{build_named_fixture, Fx};
use raptors_asm::hotloop::{self, ExecCounts};
use raptors_asm::loops::{self, FunctionLoops, Loop};
use raptors_asm::streams::Role;
use raptors_asm::{compare, simd, ElfFile, SymbolTable};

fn open(p: &std::path::Path) -> (ElfFile, SymbolTable) {
    raptors_asm::open(p).unwrap_or_else(|e| panic!("{e}"))
}

fn func(elf: &ElfFile, t: &SymbolTable, name: &str) -> FunctionLoops {
    let f = compare::one_function(elf, t, name).unwrap();
    loops::function_loops(elf, t, f)
}

fn only(fl: &FunctionLoops) -> &Loop {
    assert_eq!(fl.loops.len(), 1, "{}: {:#?}", fl.name, fl.loops);
    &fl.loops[0]
}

fn roles(l: &Loop) -> Vec<(Role, usize)> {
    let mut v: Vec<(Role, usize)> = l.arrays.iter().map(|a| (a.role, a.streams)).collect();
    v.sort_by_key(|(r, n)| (format!("{r:?}"), *n));
    v
}

#[test]
fn x86_elements_per_input_element() {
    let fx = build_named_fixture(Fx::X86, "loops");
    let (elf, t) = open(&fx.shared);

    let l = only(&func(&elf, &t, "numpy_float_add")).clone();
    assert_eq!(l.instructions, 10);
    assert_eq!(l.elements_per_iteration, Some(16.0), "{}", l.elements_basis);
    assert_eq!(l.instructions_per_element, Some(0.625));
    assert_eq!(
        roles(&l),
        vec![(Role::Input, 1), (Role::Input, 1), (Role::Output, 1)]
    );
    let pe = l.per_element.unwrap();
    assert_eq!((pe.loads, pe.stores), (4.0 / 16.0, 2.0 / 16.0));

    let fl = func(&elf, &t, "raptors_sum_axis0_tile");
    let l = fl.loops.iter().find(|l| l.hottest).unwrap();
    // The real loop has 110: the same plus 4 alignment nops.
    assert_eq!(l.instructions, 106);
    assert_eq!(
        l.elements_per_iteration,
        Some(256.0),
        "{}",
        l.elements_basis
    );
    assert_eq!(roles(l), vec![(Role::Accumulator, 1), (Role::Input, 8)]);
    assert!(l.streams.iter().all(|s| s.stride_bytes == Some(128)));
    assert_eq!(
        l.arrays
            .iter()
            .find(|a| a.role == Role::Input)
            .unwrap()
            .origin,
        vec!["entry rdi"]
    );

    let expect = [
        ("fma3_f32", Some(8.0)),
        ("tile4_f64", Some(16.0)),
        ("unrolled_sum_f32", Some(32.0)),
        ("strided_sum_f32", Some(1.0)),
        ("bump_add_scalar_f32", Some(16.0)),
        ("window_f32", Some(8.0)),
        ("invariant_scale_f32", Some(8.0)),
        ("pairwise_sum_f32", Some(8.0)),
        ("strided_end_f32", None),
        ("counter_mismatch_f32", None),
        ("shifted_index_store_f32", Some(4.0)),
    ];
    for (name, e) in expect {
        let l = only(&func(&elf, &t, name)).clone();
        assert_eq!(l.elements_per_iteration, e, "{name}: {}", l.elements_basis);
    }
    let l = only(&func(&elf, &t, "tile4_f64")).clone();
    assert_eq!(roles(&l), vec![(Role::Accumulator, 1), (Role::Input, 4)]);
    // A register stride: counted by the loop counter when one counts exactly the elements
    // accessed, else unknown with the reason.
    let l = only(&func(&elf, &t, "strided_sum_f32")).clone();
    assert!(
        l.elements_basis
            .contains("loop counter rsi (-1 per iteration)"),
        "{}",
        l.elements_basis
    );
    let l = only(&func(&elf, &t, "pairwise_sum_f32")).clone();
    assert!(
        l.elements_basis
            .contains("8 streams at a register stride access 8 distinct elements"),
        "{}",
        l.elements_basis
    );
    assert!(l.elements_basis.contains("rdx (+8 per iteration)"));
    assert_eq!(l.instructions_per_element, Some(13.0 / 8.0));
    let l = only(&func(&elf, &t, "strided_end_f32")).clone();
    assert!(
        l.elements_basis.contains("does not advance by a constant"),
        "{}",
        l.elements_basis
    );
    assert_eq!(l.instructions_per_element, None);
    assert!(l.per_element.is_none());
    let l = only(&func(&elf, &t, "counter_mismatch_f32")).clone();
    assert!(
        l.elements_basis
            .contains("access 2 elements while the loop counter rsi steps by -1"),
        "{}",
        l.elements_basis
    );
    let l = only(&func(&elf, &t, "shifted_index_store_f32")).clone();
    assert_eq!(roles(&l), vec![(Role::Output, 1)]);
    assert_eq!(l.streams[0].stride_bytes, Some(16));
    let l = only(&func(&elf, &t, "invariant_scale_f32")).clone();
    assert!(l.arrays.iter().any(|a| a.role == Role::Invariant));

    let rem = func(&elf, &t, "remainder_sum_f32");
    let main = rem.loops.iter().find(|l| !l.innermost).unwrap();
    let tail = rem.loops.iter().find(|l| l.innermost).unwrap();
    assert_eq!(main.elements_per_iteration, None);
    assert!(
        main.elements_basis.contains("nested loop"),
        "{}",
        main.elements_basis
    );
    assert_eq!(tail.elements_per_iteration, Some(8.0));
    assert!(main.hottest, "the unrolled main loop is the static choice");

    let fast = func(&elf, &t, "fastpath_sum_f32");
    assert_eq!(fast.loops.len(), 2);
    assert!(fast
        .loops
        .iter()
        .all(|l| l.elements_per_iteration == Some(16.0)));
    let h = fast.loops.iter().find(|l| l.hottest).unwrap();
    assert_eq!(
        h.instructions, 5,
        "same work: the smaller (fast-path) loop is chosen"
    );
}

#[test]
fn aarch64_elements_per_input_element() {
    let fx = build_named_fixture(Fx::A64, "loops");
    let (elf, t) = open(&fx.shared);

    let l = only(&func(&elf, &t, "numpy_float_add")).clone();
    assert_eq!(l.instructions, 12);
    assert_eq!(l.elements_per_iteration, Some(8.0), "{}", l.elements_basis);
    assert_eq!(l.instructions_per_element, Some(1.5));
    // Two base registers per array (x4/x7, x12/x6, x3/x5) are one array each.
    assert_eq!(
        roles(&l),
        vec![(Role::Input, 2), (Role::Input, 2), (Role::Output, 2)]
    );

    let fl = func(&elf, &t, "raptors_sum_axis0_tile");
    let l = fl.loops.iter().find(|l| l.hottest).unwrap();
    assert_eq!(
        l.elements_per_iteration,
        Some(128.0),
        "{}",
        l.elements_basis
    );
    assert_eq!(roles(l), vec![(Role::Accumulator, 1), (Role::Input, 8)]);

    for (name, e) in [
        ("postindex_add_f32", Some(8.0)),
        ("fma3_f32", Some(4.0)),
        ("strided_sum_f32", Some(1.0)),
        ("pairwise_sum_f32", Some(8.0)),
    ] {
        let l = only(&func(&elf, &t, name)).clone();
        assert_eq!(l.elements_per_iteration, e, "{name}: {}", l.elements_basis);
    }
}

/// One line per loop: range, size, elements, per-element count, arrays, basis.
fn table(elf: &ElfFile, t: &SymbolTable) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for f in &t.functions {
        let fl = loops::function_loops(elf, t, f);
        for l in &fl.loops {
            let arrays: Vec<String> = l
                .arrays
                .iter()
                .map(|a| {
                    format!(
                        "{:?}x{}={}",
                        a.role,
                        a.streams,
                        a.elements_per_iteration
                            .map(|e| e.to_string())
                            .unwrap_or_else(|| "?".into())
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "{} {:#x}..{:#x}{} insns {} elems {} insns/elem {} [{}]\n    {}",
                f.name,
                l.start,
                l.end,
                if l.hottest { " HOT" } else { "" },
                l.instructions,
                l.elements_per_iteration
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "unknown".into()),
                l.instructions_per_element
                    .map(|e| format!("{e:.4}"))
                    .unwrap_or_else(|| "-".into()),
                arrays.join(" "),
                l.elements_basis
            );
        }
    }
    s
}

#[test]
fn snapshot_loop_metrics() {
    for fx in [Fx::X86, Fx::A64] {
        let f = build_named_fixture(fx, "loops");
        let (elf, t) = open(&f.object);
        let name = match fx {
            Fx::X86 => "loop_metrics_x86",
            Fx::A64 => "loop_metrics_a64",
        };
        insta::assert_snapshot!(name, table(&elf, &t));
    }
}

/// Counts that make the nested remainder loop of `remainder_sum_f32` run most: the choice by
/// execution must follow the counts, not the static guess (the main loop).
#[test]
fn choice_by_execution_follows_the_counts() {
    let fx = build_named_fixture(Fx::X86, "loops");
    let (elf, t) = open(&fx.shared);
    let f = compare::one_function(&elf, &t, "remainder_sum_f32").unwrap();
    let fl = loops::function_loops(&elf, &t, f);
    let main = fl.loops.iter().find(|l| !l.innermost).unwrap().clone();
    let tail = fl.loops.iter().find(|l| l.innermost).unwrap().clone();
    let mut insns = Vec::new();
    simd::function_insns(&elf, f, &mut insns);
    let mut counts = BTreeMap::new();
    let (mut total, mut in_tail) = (0u64, 0u64);
    for i in &insns {
        let n = if i.addr >= tail.start && i.addr < tail.end {
            1000
        } else if i.addr >= main.start && i.addr < main.end {
            10
        } else {
            1
        };
        counts.insert(i.addr, n);
        total += n;
        if n == 1000 {
            in_tail += n;
        }
    }
    let c = hotloop::choose_loop(
        &elf,
        &t,
        f,
        Some(ExecCounts {
            source: "callgrind",
            counts: &counts,
        }),
        Some(8000),
    )
    .unwrap();
    assert_eq!(c.chosen_by, "callgrind");
    let l = c.hot_loop.as_ref().unwrap();
    assert_eq!((l.start, l.end), (tail.start, tail.end));
    assert_eq!(c.function_executed, Some(total));
    assert_eq!(c.loop_executed, Some(in_tail));
    assert_eq!(c.coverage, Some(in_tail as f64 / total as f64));
    assert_eq!(c.iterations, Some(1000));
    assert_eq!(
        c.measured_instructions_per_element,
        Some(in_tail as f64 / 8000.0)
    );
    assert_eq!(c.measured_elements_per_iteration, Some(8.0));
    assert_eq!(c.static_instructions_per_element, Some(4.0 / 8.0));
    assert_eq!(c.ranking.len(), 2);
    assert_eq!(c.ranking[0].start, tail.start);

    // Without counts: the static choice, labelled so.
    let s = hotloop::choose_loop(&elf, &t, f, None, None).unwrap();
    assert_eq!(s.chosen_by, "static");
    assert_eq!(s.hot_loop.as_ref().unwrap().start, main.start);
    assert_eq!(s.coverage, None);

    // Counts from another file (no address of this function) are an error, not a zero.
    let elsewhere = BTreeMap::from([(0xdead_0000u64, 5u64)]);
    let e = hotloop::choose_loop(
        &elf,
        &t,
        f,
        Some(ExecCounts {
            source: "qemu-exec",
            counts: &elsewhere,
        }),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no instruction of remainder_sum_f32"), "{e}");
}

#[test]
fn block_counts_spread_to_the_first_branch() {
    let fx = build_named_fixture(Fx::A64, "loops");
    let (elf, t) = open(&fx.shared);
    let f = compare::one_function(&elf, &t, "numpy_float_add").unwrap();
    let fl = loops::function_loops(&elf, &t, f);
    let l = only(&fl);
    // One block: the loop body (12 instructions ending in `b.gt`), executed 100 times.
    let blocks = BTreeMap::from([(l.start, 100u64)]);
    let per = hotloop::expand_block_counts(&elf, f, &blocks);
    assert_eq!(per.len(), 12);
    assert!(per.values().all(|&n| n == 100));
    assert_eq!(per.keys().next_back(), Some(&l.branch));
    let c = hotloop::choose_loop(
        &elf,
        &t,
        f,
        Some(ExecCounts {
            source: "qemu-exec",
            counts: &per,
        }),
        Some(800),
    )
    .unwrap();
    assert_eq!(c.coverage, Some(1.0));
    assert_eq!(c.measured_elements_per_iteration, Some(8.0));
    assert_eq!(c.measured_instructions_per_element, Some(1200.0 / 800.0));
}

#[test]
fn counts_files_parse_or_name_the_line() {
    let p = std::path::Path::new("counts.txt");
    let m = hotloop::parse_counts(p, "# addr count\n0x10 5\n16 2\n0x20 7 # tail\n").unwrap();
    assert_eq!(m, BTreeMap::from([(0x10, 7), (0x20, 7)]));
    let j = hotloop::parse_counts(p, r#"{"0x10": 3, "32": 4}"#).unwrap();
    assert_eq!(j, BTreeMap::from([(0x10, 3), (0x20, 4)]));
    let e = hotloop::parse_counts(p, "0x10 5\nzzz 1\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("counts.txt") && e.contains("line 2"), "{e}");
}
