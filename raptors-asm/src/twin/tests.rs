use super::*;
use crate::choose::tests::table;

#[test]
fn names_are_taken_apart_in_both_conventions() {
    let p = parse_name("raptors_kernels::arch::x86_64::avx2::sum_axis0_f32::h0123456789abcdef");
    assert_eq!(p.convention, Convention::ModulePath);
    assert_eq!(p.key, "raptors_kernels::arch::{isa}::sum_axis0_f32");
    assert_eq!((p.level, p.isa.as_str()), (IsaLevel::X86V3, "x86_64::avx2"));
    let n = parse_name("raptors_kernels::arch::aarch64::neon::sum_axis0_f32");
    assert_eq!((n.key.as_str(), n.level), (p.key.as_str(), IsaLevel::Neon));
    assert_eq!(
        parse_name("raptors_kernels::arch::scalar::sum_f32").level,
        IsaLevel::Baseline
    );
    let d = parse_name("FLOAT_add_FMA3__AVX2");
    assert_eq!(
        (d.convention, d.key.as_str()),
        (Convention::DispatchSuffix, "FLOAT_add")
    );
    assert_eq!((d.level, d.isa.as_str()), (IsaLevel::X86V3, "FMA3_AVX2"));
    assert_eq!(parse_name("DOUBLE_maximum_X86_V4").level, IsaLevel::X86V4);
    assert_eq!(parse_name("FLOAT_add_AVX512_SKX").level, IsaLevel::X86V4);
    assert_eq!(parse_name("FLOAT_add_ASIMDHP").level, IsaLevel::NeonExt);
    let base = parse_name("FLOAT_add_indexed");
    assert_eq!(
        (base.key.as_str(), base.level),
        ("FLOAT_add_indexed", IsaLevel::Baseline)
    );
    // A module segment that is no instruction set is not one.
    let odd = parse_name("crate::x86_64::lanes::load");
    assert_eq!(
        (odd.convention, odd.level),
        (Convention::DispatchSuffix, IsaLevel::Baseline)
    );
    assert_eq!(IsaLevel::parse("avx512"), Some(IsaLevel::X86V4));
    assert_eq!(IsaLevel::parse("x86-64-v3"), Some(IsaLevel::X86V3));
    assert_eq!(IsaLevel::parse("riscv"), None);
}

fn raptors_x86() -> SymbolTable {
    table(&[
        ("raptors_kernels::arch::scalar::sum_f32", 0x1000, 0x100),
        (
            "raptors_kernels::arch::x86_64::sse2::sum_f32",
            0x1100,
            0x200,
        ),
        (
            "raptors_kernels::arch::x86_64::avx2::sum_f32",
            0x1300,
            0x300,
        ),
        (
            "raptors_kernels::arch::x86_64::avx512::sum_f32",
            0x1600,
            0x400,
        ),
        (
            "raptors_kernels::arch::x86_64::avx2::sum_f64",
            0x1a00,
            0x300,
        ),
    ])
}

fn raptors_arm() -> SymbolTable {
    table(&[
        ("raptors_kernels::arch::scalar::sum_f32", 0x100, 0x80),
        (
            "raptors_kernels::arch::aarch64::neon::sum_f32",
            0x180,
            0x200,
        ),
    ])
}

#[test]
fn raptors_kernels_map_between_levels_and_architectures() {
    let x86 = raptors_x86();
    let arm = raptors_arm();
    let to = |arch, level| IsaTarget { arch, level };
    // x86-64 AVX2 (measured under valgrind) → AVX-512 (the real run) → NEON, and back.
    let t = twin(
        &x86,
        "raptors_kernels::arch::x86_64::avx2::sum_f32",
        to(Arch::X86_64, Some(IsaLevel::X86V4)),
    )
    .unwrap();
    assert_eq!(t.function, "raptors_kernels::arch::x86_64::avx512::sum_f32");
    assert_eq!(t.variants.len(), 4);
    let t = twin(
        &arm,
        "raptors_kernels::arch::x86_64::avx512::sum_f32",
        to(Arch::Aarch64, None),
    )
    .unwrap();
    assert_eq!(
        (t.function.as_str(), t.address),
        ("raptors_kernels::arch::aarch64::neon::sum_f32", 0x180)
    );
    // On an aarch64 host the measured side is NEON and the static side x86-64.
    let t = twin(
        &x86,
        "raptors_kernels::arch::aarch64::neon::sum_f32",
        to(Arch::X86_64, Some(IsaLevel::X86V3)),
    )
    .unwrap();
    assert_eq!(t.function, "raptors_kernels::arch::x86_64::avx2::sum_f32");
    assert!(t.evidence.contains("up to X86V3"), "{}", t.evidence);
    let t = twin(
        &x86,
        "raptors_kernels::arch::aarch64::neon::sum_f32",
        to(Arch::X86_64, None),
    )
    .unwrap();
    assert_eq!(
        t.level,
        IsaLevel::X86V4,
        "no level: the best the library has"
    );
    // A CPU below every SIMD variant gets the portable build.
    let t = twin(
        &x86,
        "raptors_kernels::arch::x86_64::avx2::sum_f32",
        to(Arch::X86_64, Some(IsaLevel::Baseline)),
    )
    .unwrap();
    assert_eq!(t.function, "raptors_kernels::arch::scalar::sum_f32");
    let e = twin(
        &arm,
        "raptors_kernels::arch::x86_64::avx2::sum_f64",
        to(Arch::Aarch64, None),
    )
    .unwrap_err();
    assert!(e.contains("sum_f64"), "{e}");
}

fn numpy_x86() -> SymbolTable {
    // Names and layout as in NumPy 2.4.6's x86-64 `_multiarray_umath`: two local
    // FLOAT_pairwise_sum, one among the baseline loops (the larger), one among the X86_V3 ones.
    table(&[
        ("BOOL_argmax", 0x0d00, 0x90),
        ("CFLOAT_pairwise_sum", 0x0e00, 0x60),
        ("CDOUBLE_pairwise_sum", 0x0e80, 0x60),
        ("FLOAT_pairwise_sum", 0x0f00, 0x56d),
        ("DOUBLE_pairwise_sum", 0x1480, 0x56d),
        ("FLOAT_add", 0x1a00, 0x300),
        ("FLOAT_add_indexed", 0x1d00, 0x100),
        ("std::__heap_select<double*>", 0x2000, 0xd4),
        ("CFLOAT_pairwise_sum", 0x2100, 0x60),
        ("CDOUBLE_pairwise_sum", 0x2180, 0x60),
        ("FLOAT_pairwise_sum", 0x2200, 0x565),
        ("DOUBLE_pairwise_sum", 0x2780, 0x535),
        ("FLOAT_add_X86_V3", 0x2d00, 0x4d4),
        ("FLOAT_add_indexed_X86_V3", 0x3200, 0x99),
        ("FLOAT_maximum", 0x4000, 0x200),
        ("FLOAT_maximum_X86_V3", 0x4200, 0x400),
        ("FLOAT_maximum_X86_V4", 0x4600, 0x500),
        ("BOOL_argmax_X86_V3", 0x5000, 0x90),
    ])
}

fn numpy_arm() -> SymbolTable {
    // NumPy 2.4.6's aarch64 wheel: ASIMD is its baseline, loops carry no suffix.
    table(&[
        ("FLOAT_add", 0x100, 0x600),
        ("FLOAT_add_indexed", 0x700, 0x100),
        ("FLOAT_maximum", 0x800, 0x300),
        ("FLOAT_pairwise_sum", 0x900, 0x200),
    ])
}

#[test]
fn numpy_loops_map_both_ways_by_dispatch_suffix() {
    let (x86, arm) = (numpy_x86(), numpy_arm());
    let to = |arch, level| IsaTarget { arch, level };
    let t = twin(
        &arm,
        "FLOAT_add_X86_V3",
        to(Arch::Aarch64, Some(IsaLevel::Neon)),
    )
    .unwrap();
    assert_eq!(
        (t.function.as_str(), t.level),
        ("FLOAT_add", IsaLevel::Baseline)
    );
    assert_eq!(t.variants.len(), 1, "FLOAT_add_indexed is another loop");
    let t = twin(&x86, "FLOAT_add", to(Arch::X86_64, Some(IsaLevel::X86V3))).unwrap();
    assert_eq!(t.function, "FLOAT_add_X86_V3");
    assert_eq!(
        t.variants
            .iter()
            .map(|v| v.function.as_str())
            .collect::<Vec<_>>(),
        ["FLOAT_add_X86_V3", "FLOAT_add"]
    );
    // An AVX-512 CPU runs the V4 loop where there is one, else the V3 one.
    let v4 = to(Arch::X86_64, Some(IsaLevel::X86V4));
    assert_eq!(
        twin(&x86, "FLOAT_maximum", v4).unwrap().function,
        "FLOAT_maximum_X86_V4"
    );
    assert_eq!(
        twin(&x86, "FLOAT_add", v4).unwrap().function,
        "FLOAT_add_X86_V3"
    );
    // Same-named local copies: the one among the X86_V3 loops for an AVX2 or AVX-512 CPU, the one
    // among the baseline loops (although it is larger) for an older one.
    let t = twin(&x86, "FLOAT_pairwise_sum", v4).unwrap();
    assert_eq!(
        (t.address, t.same_name, t.level),
        (0x2200, 2, IsaLevel::X86V3)
    );
    assert!(
        t.evidence.contains("inferred from its neighbours"),
        "{}",
        t.evidence
    );
    let t = twin(
        &x86,
        "FLOAT_pairwise_sum",
        to(Arch::X86_64, Some(IsaLevel::X86V2)),
    )
    .unwrap();
    assert_eq!((t.address, t.level), (0x0f00, IsaLevel::Baseline));
    assert!(
        t.evidence.contains("among baseline functions"),
        "{}",
        t.evidence
    );
    let t = twin(
        &x86,
        "FLOAT_pairwise_sum",
        to(Arch::X86_64, Some(IsaLevel::X86V3)),
    )
    .unwrap();
    assert_eq!(t.address, 0x2200);
    assert!(twin(&arm, "FLOAT_subtract_X86_V3", to(Arch::Aarch64, None))
        .unwrap_err()
        .contains("FLOAT_subtract"));
}

/// NumPy's dispatch targets a CPU runs give the level of the kernels it calls; unknown targets
/// are passed over, none known is None.
#[test]
fn the_highest_known_level_of_a_target_list() {
    let found = ["SSE42", "AVX2", "FMA3", "AVX512F", "AVX512_SKX", "VSX9"];
    assert_eq!(IsaLevel::highest(&found), Some(IsaLevel::X86V4));
    assert_eq!(
        IsaLevel::highest(&["ASIMD", "ASIMDHP"]),
        Some(IsaLevel::NeonExt)
    );
    assert_eq!(IsaLevel::highest(&["VSX9", "VX"]), None);
    assert_eq!(IsaLevel::highest::<&str>(&[]), None);
}
