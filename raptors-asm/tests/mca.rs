//! llvm-mca: the report parser and failure classification on recorded outputs
//! (`tests/fixtures/mca/*.out|.err`, re-recorded by `record.sh`), insta snapshots of the parsed
//! numbers; and one live run of llvm-mca on fixture loops (requires `llvm-mca-19`: `cargo xtask
//! test` installs Debian's `llvm-19`; a missing tool fails with that hint).

mod common;

use common::{build_fixture, build_named_fixture, Fx};
use raptors_asm::elf::Arch;
use raptors_asm::mca::{self, McaError};
use raptors_asm::mca_parse::parse;
use raptors_asm::{compare, ElfFile, SymbolTable};

fn recorded(name: &str) -> (String, String) {
    let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mca");
    let read = |ext: &str| {
        std::fs::read_to_string(d.join(format!("{name}.{ext}")))
            .unwrap_or_else(|e| panic!("{name}.{ext}: {e}"))
    };
    (read("out"), read("err"))
}

/// What the run gave: parsed numbers or the classified failure, as the prediction reports it.
fn outcome(name: &str, cpu: &str) -> String {
    let (out, err) = recorded(name);
    let exit = if out.is_empty() { Some(1) } else { Some(0) };
    match mca::interpret("llvm-mca-19", cpu, exit, &out, &err).and_then(|o| parse(&o)) {
        Ok(n) => serde_json::to_string_pretty(&n).unwrap(),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn parses_recorded_reports() {
    for (name, cpu) in [
        ("x86_numpy_add.znver3", "znver3"),
        ("x86_numpy_add.sapphirerapids", "sapphirerapids"),
        ("x86_strided.znver4", "znver4"),
        ("x86_dot_zmm.znver4", "znver4"),
        ("a64_numpy_add.neoverse-n1", "neoverse-n1"),
        ("a64_raptors_tile.apple-m1", "apple-m1"),
        ("a64_raptors_tile.neoverse-v2", "neoverse-v2"),
    ] {
        insta::assert_snapshot!(format!("mca_{name}"), outcome(name, cpu));
    }
}

#[test]
fn recorded_numbers_are_read_exactly() {
    let (out, _) = recorded("x86_numpy_add.znver3");
    let n = parse(&out).unwrap();
    assert_eq!((n.iterations, n.instructions), (1000, 10000));
    assert_eq!(n.cycles_per_iteration, n.total_cycles as f64 / 1000.0);
    assert_eq!(n.bottleneck.kind, "resource");
    assert_eq!(n.bottleneck.resources[0].resource, "Zn3FP45");
    let (out, _) = recorded("x86_strided.znver4");
    let n = parse(&out).unwrap();
    assert_eq!(n.bottleneck.kind, "dependency");
    assert_eq!(
        n.bottleneck.critical_instruction.as_deref(),
        Some("addq %rdx, %rdi")
    );
}

#[test]
fn failures_are_named_with_llvm_mca_reason() {
    let avx512 = outcome("x86_dot_zmm.znver3", "znver3");
    assert!(
        avx512.contains("znver3 cannot run this loop")
            && avx512.contains("vfmadd231ps (%rsi,%rax,4), %zmm1, %zmm0"),
        "{avx512}"
    );
    let bad = outcome("x86_bad.znver3", "znver3");
    assert!(
        bad.contains("llvm-mca failed (exit 1)")
            && bad.contains("invalid instruction mnemonic 'bogus'"),
        "{bad}"
    );
    let cpu = outcome("x86_numpy_add.nosuchcpu", "nosuchcpu");
    assert!(
        cpu.contains("no scheduling model for \"nosuchcpu\""),
        "{cpu}"
    );
    // A truncated report is a parse error naming what is missing, not zeros.
    let (out, _) = recorded("x86_numpy_add.znver3");
    let cut: String = out.lines().take(6).collect::<Vec<_>>().join("\n");
    let e = parse(&cut).unwrap_err();
    assert!(e.contains("Total Cycles") || e.contains("Resources"), "{e}");
}

#[test]
fn missing_tool_names_the_package() {
    let e = mca::probe_tool_from(&["/nonexistent/llvm-mca-19"]).unwrap_err();
    assert!(matches!(e, McaError::ToolMissing { .. }));
    let s = e.to_string();
    assert!(
        s.contains("apt-get install llvm-19") && s.contains("/nonexistent/llvm-mca-19"),
        "{s}"
    );
}

#[test]
fn model_list_covers_both_architectures() {
    let x86: Vec<&str> = mca::MODELS
        .iter()
        .filter(|m| m.arch == Arch::X86_64)
        .map(|m| m.cpu)
        .collect();
    let a64: Vec<&str> = mca::MODELS
        .iter()
        .filter(|m| m.arch == Arch::Aarch64)
        .map(|m| m.cpu)
        .collect();
    assert_eq!(x86, ["znver3", "znver4", "sapphirerapids"]);
    assert_eq!(
        a64,
        ["neoverse-n1", "neoverse-v1", "neoverse-v2", "apple-m1"]
    );
}

fn tool() -> mca::Tool {
    mca::probe_tool().unwrap_or_else(|e| panic!("{e}; `cargo xtask test` installs it in CI"))
}

fn open(p: &std::path::Path) -> (ElfFile, SymbolTable) {
    raptors_asm::open(p).unwrap_or_else(|e| panic!("{e}"))
}

/// Live: llvm-mca really runs on fixture loops of both architectures.
#[test]
fn live_predictions_on_fixture_loops() {
    let tool = tool();
    let fx = build_named_fixture(Fx::X86, "loops");
    let (elf, t) = open(&fx.shared);
    let f = compare::one_function(&elf, &t, "numpy_float_add").unwrap();
    let r = mca::predict(&elf, &t, f, None, &tool, &[]).unwrap();
    assert_eq!(r.elements_per_iteration, Some(16.0));
    assert!(r.predictions.len() >= 3);
    for p in r.predictions.iter().filter(|p| p.source == "list") {
        let c = p
            .cycles_per_iteration
            .unwrap_or_else(|| panic!("{}: {:?}", p.cpu, p.error));
        assert!(c > 0.0);
        assert_eq!(p.cycles_per_element, Some(c / 16.0));
        assert!(p.bottleneck.as_ref().is_some_and(|b| !b.summary.is_empty()));
    }

    // AVX-512: predicted on the AVX-512 models whatever the host; znver3 names why not.
    let k = build_fixture(Fx::X86);
    let (elf, t) = open(&k.shared);
    let f = compare::one_function(&elf, &t, "dot_f32").unwrap();
    let r = mca::predict(&elf, &t, f, None, &tool, &[]).unwrap();
    let by = |cpu: &str| r.predictions.iter().find(|p| p.cpu == cpu).unwrap();
    assert!(
        by("znver4").cycles_per_iteration.is_some(),
        "{:?}",
        by("znver4").error
    );
    assert!(by("sapphirerapids").cycles_per_iteration.is_some());
    assert!(by("znver3")
        .error
        .as_deref()
        .unwrap_or("")
        .contains("cannot run this loop"));

    let fa = build_named_fixture(Fx::A64, "loops");
    let (elf, t) = open(&fa.shared);
    let f = compare::one_function(&elf, &t, "raptors_sum_axis0_tile").unwrap();
    let r = mca::predict(&elf, &t, f, None, &tool, &["nosuchcpu".to_string()]).unwrap();
    assert_eq!(r.elements_per_iteration, Some(128.0));
    for cpu in ["neoverse-n1", "neoverse-v1", "neoverse-v2", "apple-m1"] {
        let p = r.predictions.iter().find(|p| p.cpu == cpu).unwrap();
        assert!(p.cycles_per_iteration.is_some(), "{cpu}: {:?}", p.error);
    }
    // An unknown model is reported, never silently simulated as a generic CPU.
    let bogus = r.predictions.iter().find(|p| p.cpu == "nosuchcpu").unwrap();
    assert!(bogus
        .error
        .as_deref()
        .unwrap_or("")
        .contains("no scheduling model"));
}
