//! `mca_set`: a whole profile's loops predicted at once (live llvm-mca on fixture loops of both
//! architectures), and the artifact's renderers on a hand-made set (insta).

mod common;

use common::{build_named_fixture, Fx};
use raptors_asm::compare;
use raptors_asm::elf::Arch;
use raptors_asm::mca::{self, Prediction};
use raptors_asm::mca_parse::Bottleneck;
use raptors_asm::mca_set::{self, LoopPredictions, LoopToPredict, McaSet, ModelUsed};

fn hot_loop(fx: Fx, function: &str) -> (String, raptors_asm::loops::Loop) {
    let f = build_named_fixture(fx, "loops");
    let (elf, t) = raptors_asm::open(&f.shared).unwrap_or_else(|e| panic!("{e}"));
    let func = compare::one_function(&elf, &t, function).unwrap();
    let side = compare::side_at(&elf, &t, func, None).unwrap();
    (function.to_string(), side.hot_loop.expect("a loop"))
}

#[test]
fn live_set_keeps_every_loop_and_names_missing_ones() {
    let tool = mca::probe_tool().unwrap_or_else(|e| panic!("{e}; `cargo xtask test` installs it"));
    let loops = vec![
        LoopToPredict {
            op: "add".into(),
            dtype: "f32".into(),
            library: "numpy".into(),
            arch: Arch::X86_64,
            build: "real run".into(),
            hot: Ok(hot_loop(Fx::X86, "numpy_float_add")),
        },
        LoopToPredict {
            op: "add".into(),
            dtype: "f32".into(),
            library: "raptors".into(),
            arch: Arch::X86_64,
            build: "real run".into(),
            hot: Err("`raptors_add` has no innermost loop".into()),
        },
        LoopToPredict {
            op: "sum_axis0".into(),
            dtype: "f32".into(),
            library: "raptors".into(),
            arch: Arch::Aarch64,
            build: "static".into(),
            hot: Ok(hot_loop(Fx::A64, "raptors_sum_axis0_tile")),
        },
    ];
    let set = mca_set::predict_all(&tool, &loops);
    assert_eq!(set.loops.len(), 3, "no loop is dropped");
    let cpus = |a: Arch| -> Vec<&str> {
        set.models
            .iter()
            .filter(|m| m.arch == a)
            .map(|m| m.cpu.as_str())
            .collect()
    };
    assert!(cpus(Arch::X86_64).starts_with(&["znver3", "znver4", "sapphirerapids"]));
    // The fixed list first; an aarch64 host may add its own model after it.
    assert!(cpus(Arch::Aarch64).starts_with(&[
        "neoverse-n1",
        "neoverse-v1",
        "neoverse-v2",
        "apple-m1"
    ]));
    assert_eq!(
        set.loops[1].unavailable.as_deref(),
        Some("`raptors_add` has no innermost loop")
    );
    let n1 = set
        .prediction("sum_axis0", "f32", "raptors", Arch::Aarch64, "neoverse-n1")
        .unwrap();
    assert_eq!(
        n1.cycles_per_element,
        n1.cycles_per_iteration.map(|c| c / 128.0)
    );
    let np = set
        .prediction("add", "f32", "numpy", Arch::X86_64, "znver4")
        .unwrap();
    assert!(np.ipc.is_some_and(|i| i > 0.0), "{np:?}");
    // The JSON artifact reads back to the same set.
    let json = serde_json::to_string(&set).unwrap();
    assert_eq!(serde_json::from_str::<McaSet>(&json).unwrap(), set);
}

fn prediction(cpu: &str, cpi: Option<f64>, epi: f64, error: Option<&str>) -> Prediction {
    Prediction {
        cpu: cpu.into(),
        source: "list".into(),
        host: cpu == "znver3",
        cycles_per_iteration: cpi,
        cycles_per_element: cpi.map(|c| c / epi),
        ipc: cpi.map(|c| 10.0 / c),
        block_rthroughput: cpi,
        bottleneck: cpi.map(|c| Bottleneck {
            kind: "resource".into(),
            summary: format!("FP busy {c:.2} of {c:.2} cycles/iteration"),
            resources: Vec::new(),
            resource_pressure_percent: Some(90.0),
            register_dependency_percent: None,
            memory_dependency_percent: None,
            critical_instruction: None,
        }),
        error: error.map(String::from),
    }
}

fn loop_of(library: &str, function: &str, arch: Arch, p: Vec<Prediction>) -> LoopPredictions {
    LoopPredictions {
        op: "add".into(),
        dtype: "f32".into(),
        library: library.into(),
        arch,
        build: "real run".into(),
        function: Some(function.into()),
        loop_start: Some(0x1000),
        loop_end: Some(0x1040),
        elements_per_iteration: Some(16.0),
        elements_basis: Some("1 stored stream × 16 lanes".into()),
        unavailable: None,
        predictions: p,
    }
}

fn hand_made() -> McaSet {
    let model = |arch, cpu: &str| ModelUsed {
        arch,
        cpu: cpu.into(),
        source: "list".into(),
        host: cpu == "znver3",
        note: format!("{cpu} note"),
    };
    McaSet {
        schema: mca_set::SCHEMA.into(),
        tool: "llvm-mca-19".into(),
        tool_version: "LLVM version 19.1.7".into(),
        host_cpu: Some("znver3".into()),
        iterations: 1000,
        models: vec![
            model(Arch::X86_64, "znver3"),
            model(Arch::X86_64, "znver4"),
            model(Arch::Aarch64, "neoverse-n1"),
        ],
        loops: vec![
            loop_of(
                "numpy",
                "FLOAT_add_AVX2",
                Arch::X86_64,
                vec![
                    prediction("znver3", Some(8.0), 16.0, None),
                    prediction("znver4", Some(6.0), 16.0, None),
                ],
            ),
            loop_of(
                "raptors",
                "add_avx512",
                Arch::X86_64,
                vec![
                    prediction("znver3", None, 16.0, Some("znver3 cannot run this loop")),
                    prediction("znver4", Some(3.0), 16.0, None),
                ],
            ),
            loop_of(
                "numpy",
                "FLOAT_add_NEON",
                Arch::Aarch64,
                vec![prediction("neoverse-n1", Some(4.0), 16.0, None)],
            ),
            LoopPredictions {
                unavailable: Some("the aarch64 library could not be built".into()),
                function: None,
                predictions: Vec::new(),
                ..loop_of("raptors", "", Arch::Aarch64, Vec::new())
            },
        ],
    }
}

#[test]
fn renders_table_details_and_findings() {
    let set = hand_made();
    insta::assert_snapshot!("mca_set_table", mca_set::predicted_cycles_md(&set));
    insta::assert_snapshot!("mca_set_details", mca_set::details_md(&set));
    let f = mca_set::findings(&set, Arch::X86_64, "znver4");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains(
            "predicted at 0.19 cycles/element vs NumPy's `FLOAT_add_AVX2` at 0.38 (2.00x)"
        ),
        "{f:?}"
    );
    // No Raptors loop on aarch64: nothing to compare, no sentence.
    assert!(mca_set::findings(&set, Arch::Aarch64, "neoverse-n1").is_empty());
    assert_eq!(
        set.host_cycles_per_element("add", "f32", "numpy", Arch::X86_64),
        Ok(0.5)
    );
    assert_eq!(
        set.host_cycles_per_element("add", "f32", "raptors", Arch::X86_64),
        Err("znver3 cannot run this loop".into())
    );
}
