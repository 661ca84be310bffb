//! `raptors-asm choose`, `twin` and compare's `differences` on the assembled fixtures: JSON shapes,
//! execution before patterns, addresses with a load bias, and clean errors.

mod common;

use common::{assert_clean_failure, bin, build_fixture, ok_json, Fx};

fn address_of(lib: &str, name: &str) -> u64 {
    let s = ok_json(bin().args(["symbols", lib, "--json"]));
    s["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap()["address"]
        .as_u64()
        .unwrap()
}

#[test]
fn choose_from_execution_then_patterns() {
    let fx = build_fixture(Fx::X86);
    let lib = fx.shared.to_str().unwrap();

    let c = ok_json(bin().args([
        "choose",
        lib,
        "--hot",
        "sum_f32=10",
        "--hot",
        "add_f32=90",
        "--tool",
        "callgrind",
        "--pattern",
        "dot",
        "--json",
    ]));
    let choice = &c["choice"];
    for k in [
        "function",
        "address",
        "size",
        "chosen_by",
        "cost",
        "share",
        "same_name",
        "evidence",
        "runners_up",
    ] {
        assert!(choice.get(k).is_some(), "choice: missing {k}");
    }
    assert_eq!(choice["function"], "add_f32");
    assert_eq!(choice["chosen_by"], "execution");
    assert_eq!(choice["share"], 0.9);
    assert_eq!(choice["runners_up"][0]["function"], "sum_f32");
    assert_eq!(c["arch"], "x86_64");

    // Executed addresses (runtime = file + bias) decide; counts go to the containing function.
    let sum = address_of(lib, "sum_f32");
    let bias = 0x7000_0000u64;
    let instr = fx.dir.join("instructions.json");
    std::fs::write(
        &instr,
        serde_json::to_string(&[[bias + sum + 0x10, 500], [bias + sum + 0x14, 500]]).unwrap(),
    )
    .unwrap();
    let c = ok_json(
        bin()
            .args(["choose", lib, "--tool", "qemu-exec", "--load-bias"])
            .arg(format!("{bias:#x}"))
            .arg("--instructions")
            .arg(&instr)
            .arg("--json"),
    );
    assert_eq!(c["choice"]["function"], "sum_f32");
    assert_eq!(c["choice"]["cost"], 1000);
    assert!(c["choice"]["evidence"]
        .as_str()
        .unwrap()
        .contains("qemu-exec"));

    // No profile: the documented fallback, and it says so.
    let c = ok_json(bin().args([
        "choose",
        lib,
        "--pattern",
        "^nothing$",
        "--pattern",
        "dot",
        "--json",
    ]));
    assert_eq!(c["choice"]["function"], "dot_f32");
    assert_eq!(c["choice"]["chosen_by"], "pattern");
    let text = bin()
        .args(["choose", lib, "--pattern", "dot"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("dot_f32") && text.contains("chosen by name pattern"),
        "{text}"
    );

    assert_clean_failure(
        &bin()
            .args(["choose", lib, "--hot", "nope=1", "--pattern", "^zzz$"])
            .output()
            .unwrap(),
        &[
            lib,
            "no function chosen",
            "`nope` is not in the symbol table",
            "^zzz$",
        ],
    );
    assert_clean_failure(
        &bin()
            .args(["choose", lib, "--hot", "sum_f32"])
            .output()
            .unwrap(),
        &["NAME=COST"],
    );
}

#[test]
fn twin_and_differences_across_architectures() {
    let x86 = build_fixture(Fx::X86);
    let a64 = build_fixture(Fx::A64);
    let (lx, la) = (x86.shared.to_str().unwrap(), a64.shared.to_str().unwrap());

    let t = ok_json(bin().args(["twin", la, "--name", "sum_f32", "--level", "neon", "--json"]));
    assert_eq!(t["arch"], "aarch64");
    for k in [
        "function",
        "address",
        "size",
        "level",
        "same_name",
        "variants",
        "evidence",
    ] {
        assert!(t["twin"].get(k).is_some(), "twin: missing {k}");
    }
    assert_eq!(t["twin"]["function"], "sum_f32");
    assert_eq!(t["twin"]["level"], "baseline");
    assert_clean_failure(
        &bin()
            .args(["twin", la, "--name", "sum_f32", "--level", "pentium"])
            .output()
            .unwrap(),
        &["not a level"],
    );
    assert_clean_failure(
        &bin()
            .args(["twin", la, "--name", "FLOAT_add_X86_V3"])
            .output()
            .unwrap(),
        &[la, "FLOAT_add"],
    );

    // compare carries the differences, typed.
    let c = ok_json(bin().args([
        "compare",
        lx,
        la,
        "--symbol-a",
        "sum_f32",
        "--symbol-b",
        "sum_f32",
        "--json",
    ]));
    let d = c["differences"].as_array().unwrap();
    let metrics: Vec<&str> = d.iter().map(|x| x["metric"].as_str().unwrap()).collect();
    assert!(metrics.contains(&"vector_bits"), "{metrics:?}");
    let v = d.iter().find(|x| x["metric"] == "vector_bits").unwrap();
    assert_eq!(
        (v["a"].as_f64(), v["b"].as_f64()),
        (Some(256.0), Some(128.0))
    );
    // A loop compared with itself has no differences.
    let same = ok_json(bin().args([
        "compare",
        lx,
        lx,
        "--symbol-a",
        "add_f32",
        "--symbol-b",
        "add_f32",
        "--json",
    ]));
    assert_eq!(same["differences"], serde_json::json!([]));
}

#[test]
fn loop_bodies_side_by_side() {
    use raptors_asm::compare;
    let x86 = build_fixture(Fx::X86);
    let a64 = build_fixture(Fx::A64);
    let (ea, ta) = raptors_asm::open(&x86.object).unwrap();
    let (eb, tb) = raptors_asm::open(&a64.object).unwrap();
    let side = |e, t, n| compare::side(e, t, compare::one_function(e, t, n).unwrap());
    let c = compare::Comparison::new(side(&ea, &ta, "add_f32"), side(&eb, &tb, "add_f32"));
    let s = compare::bodies_side_by_side(&c, "NumPy", "Raptors");
    let lines: Vec<&str> = s.lines().collect();
    assert!(
        lines[0].starts_with("NumPy ") && lines[0].ends_with("| Raptors"),
        "{s}"
    );
    assert!(
        lines[1].starts_with("add_f32") && lines[1].ends_with("add_f32"),
        "{s}"
    );
    assert!(!s.contains("LLVM-MCA"), "{s}");
    assert!(s.contains("vaddps") && s.contains("fadd"), "{s}");
    assert_eq!(
        compare::body_lines(&c.a).len(),
        c.a.hot_loop.as_ref().unwrap().instructions as usize + 1,
        "the label line and one line per instruction"
    );
}
