//! Analysis on the hand-written kernels in `tests/fixtures/*.s` (assembled at test time): exact
//! loop/backward-branch facts, stripped-library bounds from `.eh_frame`, and insta snapshots of
//! the text outputs (relocatable objects, so addresses start at 0 and do not depend on `ld`).

mod common;

use common::{build_fixture, open, strip_all, Fx};
use raptors_asm::elf::SymSource;
use raptors_asm::{compare, disasm, loops, simd, ElfFile, SymbolTable};

fn func_loops(elf: &ElfFile, t: &SymbolTable, name: &str) -> loops::FunctionLoops {
    let f = compare::one_function(elf, t, name).unwrap();
    loops::function_loops(elf, t, f)
}

fn hot(fl: &loops::FunctionLoops) -> &loops::Loop {
    fl.loops.iter().find(|l| l.hottest).expect("a hottest loop")
}

#[test]
fn x86_loop_facts_are_exact() {
    let fx = build_fixture(Fx::X86);
    let (elf, t) = open(&fx.shared);
    let sum = func_loops(&elf, &t, "sum_f32");
    assert_eq!((sum.backward_branches, sum.loops.len()), (2, 2));
    let h = hot(&sum);
    assert_eq!(
        (h.instructions, h.loads, h.arith, h.adds, h.fma),
        (6, 2, 2, 2, 0)
    );
    assert_eq!(
        (h.vector_bits, h.element_bits, h.unroll, h.accumulators),
        (256, 32, 2, 2)
    );
    assert_eq!(h.elements_per_iteration, Some(16.0));
    let tail = sum.loops.iter().find(|l| !l.hottest).unwrap();
    assert_eq!(
        (tail.vector_bits, tail.accumulators, tail.instructions),
        (0, 1, 4)
    );

    // A main loop with a nested remainder loop: the main loop is hottest, not the innermost one.
    let nested = func_loops(&elf, &t, "sum_nested_f32");
    assert_eq!((nested.backward_branches, nested.loops.len()), (2, 2));
    let h = hot(&nested);
    assert_eq!((h.depth, h.innermost, h.loads), (0, false, 5));
    let inner = nested.loops.iter().find(|l| !l.hottest).unwrap();
    assert_eq!((inner.depth, inner.innermost, inner.loads), (1, true, 1));

    let add = func_loops(&elf, &t, "add_f32");
    assert_eq!((add.backward_branches, add.loops.len()), (1, 1));
    let h = hot(&add);
    assert_eq!(
        (h.loads, h.stores, h.arith, h.accumulators, h.unroll),
        (2, 1, 1, 0, 1)
    );
    assert_eq!(h.elements_per_iteration, Some(8.0));
    assert_eq!(h.instructions_per_element, Some(6.0 / 8.0));
    assert_eq!(
        (
            h.read_streams,
            h.write_streams,
            h.bytes_read,
            h.bytes_written
        ),
        (2, 1, 64, 32)
    );

    let dot = func_loops(&elf, &t, "dot_f32");
    let h = hot(&dot);
    assert_eq!((h.fma, h.accumulators, h.vector_bits), (1, 1, 512));
    assert_eq!(h.elements_per_iteration, Some(16.0));

    let call = func_loops(&elf, &t, "call_dot");
    assert_eq!(
        (call.backward_branches, call.loops.len()),
        (1, 0),
        "a backward tail jump is not a loop"
    );

    let mut out = Vec::new();
    let fpu = compare::one_function(&elf, &t, "fpu_status").unwrap();
    disasm::disassemble_functions(&elf, &t, &[fpu], Default::default(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("\tfstsw  %ax\n"),
        "fwait+fnstsw must print as one fstsw:\n{text}"
    );
    assert!(text.contains("\tcs nopw (%rax,%rax,1)\n"), "{text}");

    // The whole-file text equals objdump's, apart from the `<sym+off>` annotations.
    let mut ours = Vec::new();
    disasm::disassemble_all(&elf, &t, Default::default(), &mut ours).unwrap();
    let objdump = common::run(
        std::process::Command::new(Fx::X86.tool("objdump"))
            .arg("-d")
            .arg(&fx.shared),
    );
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains(":\t"))
            .map(|l| l.split(" <").next().unwrap_or(l).trim_end().to_string())
            .collect()
    };
    assert_eq!(strip(&String::from_utf8(ours).unwrap()), strip(&objdump));
}

#[test]
fn aarch64_loop_facts_are_exact() {
    let fx = build_fixture(Fx::A64);
    let (elf, t) = open(&fx.shared);
    let sum = func_loops(&elf, &t, "sum_f32");
    assert_eq!((sum.backward_branches, sum.loops.len()), (2, 2));
    let h = hot(&sum);
    assert_eq!(
        (h.instructions, h.loads, h.arith, h.accumulators, h.unroll),
        (7, 1, 2, 2, 2)
    );
    assert_eq!((h.vector_bits, h.element_bits), (128, 32));
    assert_eq!(h.elements_per_iteration, Some(8.0));

    let add = func_loops(&elf, &t, "add_f32");
    let h = hot(&add);
    assert_eq!((h.loads, h.stores, h.arith, h.accumulators), (2, 1, 1, 0));
    assert_eq!(h.elements_per_iteration, Some(4.0));
    assert_eq!(
        (
            h.read_streams,
            h.write_streams,
            h.bytes_read,
            h.bytes_written
        ),
        (2, 1, 32, 16)
    );

    let dot = func_loops(&elf, &t, "dot_f32");
    let h = hot(&dot);
    assert_eq!((h.fma, h.accumulators, h.loads), (1, 1, 2));

    let call = func_loops(&elf, &t, "call_dot");
    assert_eq!((call.backward_branches, call.loops.len()), (1, 0));

    let sve = compare::one_function(&elf, &t, "sve_probe").unwrap();
    let r = simd::simd_report(&elf, &[sve]);
    assert_eq!(r.total.undecoded, 2);
    assert_eq!(
        r.total.by_extension.get(raptors_asm::arm64::UNDECODED),
        Some(&2)
    );
}

fn check_stripped(fx: Fx) {
    let f = build_fixture(fx);
    let stripped = f.dir.join("libkernels.stripped.so");
    strip_all(fx, &f.shared, &stripped);
    let (full_elf, full) = open(&f.shared);
    let (elf, t) = open(&stripped);
    assert!(
        !full.stripped && t.stripped,
        "strip-all must remove .symtab"
    );
    assert!(elf.section_by_name(".symtab").is_none());
    for g in &full.functions {
        let s = t
            .functions
            .iter()
            .find(|s| s.address == g.address)
            .unwrap_or_else(|| {
                panic!(
                    "{}: {} at {:#x} lost after stripping",
                    fx.prefix(),
                    g.name,
                    g.address
                )
            });
        assert_eq!(s.size, g.size, "{} size from .eh_frame", g.name);
        if g.name == "dot_f32" {
            // Local: not in .dynsym, so only the FDE knows it.
            assert_eq!(s.bounds_source, SymSource::EhFrame);
            assert_eq!(s.name, format!("sub_{:x}", g.address));
        } else {
            assert_eq!(s.bounds_source, SymSource::Dynsym);
            assert_eq!(s.name, g.name);
        }
    }
    assert_eq!(t.from_eh_frame, 1);
    // The analysis is the same whichever way the bounds were found.
    let a = func_loops(&full_elf, &full, "dot_f32");
    let b = func_loops(&elf, &t, "sub_.*");
    assert_eq!(hot(&a).instructions, hot(&b).instructions);
    assert_eq!(hot(&a).fma, hot(&b).fma);
}

#[test]
fn stripped_x86_bounds_from_eh_frame() {
    check_stripped(Fx::X86);
}

#[test]
fn stripped_aarch64_bounds_from_eh_frame() {
    check_stripped(Fx::A64);
}

fn text_outputs(fx: Fx) -> (String, String, String, String) {
    let f = build_fixture(fx);
    let (elf, t) = open(&f.object);
    let all: Vec<_> = t.functions.iter().collect();
    let mut d = Vec::new();
    disasm::disassemble_functions(&elf, &t, &all, Default::default(), &mut d).unwrap();
    let mut s = String::new();
    simd::simd_text(&simd::simd_report(&elf, &all), &mut s);
    let mut l = String::new();
    let lr = loops::loops_report(&elf, &t, &all);
    loops::loops_text(&lr, &mut l);
    let add = lr.functions.iter().find(|f| f.name == "add_f32").unwrap();
    let json = serde_json::to_string_pretty(add).unwrap();
    let dir = f.dir.display().to_string();
    let clean = |x: String| x.replace(&dir, "[FIXTURE]");
    (String::from_utf8(d).unwrap(), clean(s), clean(l), json)
}

#[test]
fn snapshots_x86() {
    let (d, s, l, j) = text_outputs(Fx::X86);
    insta::assert_snapshot!("x86_disasm", d);
    insta::assert_snapshot!("x86_simd", s);
    insta::assert_snapshot!("x86_loops", l);
    insta::assert_snapshot!("x86_add_f32_loops_json", j);
}

#[test]
fn snapshots_aarch64() {
    let (d, s, l, j) = text_outputs(Fx::A64);
    insta::assert_snapshot!("a64_disasm", d);
    insta::assert_snapshot!("a64_simd", s);
    insta::assert_snapshot!("a64_loops", l);
    insta::assert_snapshot!("a64_add_f32_loops_json", j);
}

#[test]
fn snapshot_compare() {
    let fx = build_fixture(Fx::X86);
    let fa = build_fixture(Fx::A64);
    let (ea, ta) = open(&fx.object);
    let (eb, tb) = open(&fa.object);
    let c = compare::Comparison::new(
        compare::side(
            &ea,
            &ta,
            compare::one_function(&ea, &ta, "sum_f32").unwrap(),
        ),
        compare::side(
            &eb,
            &tb,
            compare::one_function(&eb, &tb, "sum_f32").unwrap(),
        ),
    );
    let mut s = String::new();
    compare::compare_text(&c, &mut s);
    insta::assert_snapshot!("compare_sum_f32", s);
}
