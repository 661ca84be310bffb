//! `hot-loop` and `mca` on the command line: the JSON fields the profile step reads, a counts
//! file end to end, and errors (exit 1, the file named). `mca` needs `llvm-mca-19`.

mod common;

use common::{bin, build_named_fixture, ok_json, temp_dir, Fx};

#[test]
fn hot_loop_json_with_and_without_counts() {
    let fx = build_named_fixture(Fx::X86, "loops");
    let lib = fx.shared.to_str().unwrap();
    let s = ok_json(bin().args(["hot-loop", lib, "--symbol", "numpy_float_add", "--json"]));
    assert_eq!(s["chosen_by"], "static");
    assert!(s["coverage"].is_null() && s["measured_instructions_per_element"].is_null());
    assert_eq!(s["static_instructions_per_element"], 0.625);
    for k in [
        "elements_per_iteration",
        "elements_basis",
        "streams",
        "arrays",
        "per_element",
    ] {
        assert!(s["loop"].get(k).is_some(), "loop.{k}");
    }

    // Every instruction of the loop ran 100 times, the rest once.
    let (start, end) = (
        s["loop"]["start"].as_u64().unwrap(),
        s["loop"]["end"].as_u64().unwrap(),
    );
    let d = ok_json(bin().args(["disasm", lib, "--symbol", "numpy_float_add", "--json"]));
    let mut counts = String::from("# address count\n");
    for i in d["functions"][0]["instructions"].as_array().unwrap() {
        let a = i["address"].as_u64().unwrap();
        let n = if a >= start && a < end { 100 } else { 1 };
        counts.push_str(&format!("{a:#x} {n}\n"));
    }
    let dir = temp_dir("cli-counts");
    let file = dir.join("counts.txt");
    std::fs::write(&file, counts).unwrap();
    let c = ok_json(bin().args([
        "hot-loop",
        lib,
        "--symbol",
        "numpy_float_add",
        "--counts",
        file.to_str().unwrap(),
        "--source",
        "callgrind",
        "--elements",
        "1600",
        "--json",
    ]));
    assert_eq!(c["chosen_by"], "callgrind");
    assert_eq!(c["loop_executed"], 1000);
    assert_eq!(c["iterations"], 100);
    assert_eq!(c["measured_instructions_per_element"], 1000.0 / 1600.0);
    assert_eq!(c["measured_elements_per_iteration"], 16.0);
    let cov = c["coverage"].as_f64().unwrap();
    assert!(cov > 0.0 && cov < 1.0);

    // A counts file that cannot be read is an error naming it.
    let o = bin()
        .args(["hot-loop", lib, "--symbol", "numpy_float_add", "--counts"])
        .arg(dir.join("missing.txt"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.txt"));
}

#[test]
fn mca_json_fields() {
    let fx = build_named_fixture(Fx::A64, "loops");
    let lib = fx.shared.to_str().unwrap();
    let m = ok_json(bin().args(["mca", lib, "--symbol", "numpy_float_add", "--json"]));
    for k in [
        "tool",
        "tool_version",
        "iterations",
        "elements_per_iteration",
        "body",
    ] {
        assert!(m.get(k).is_some(), "{k}");
    }
    let p = m["predictions"].as_array().unwrap();
    let cpus: Vec<&str> = p.iter().map(|p| p["cpu"].as_str().unwrap()).collect();
    // The fixed list first (an aarch64 host may add its own model after it).
    assert_eq!(
        cpus[..4],
        ["neoverse-n1", "neoverse-v1", "neoverse-v2", "apple-m1"]
    );
    for x in p {
        for k in [
            "cycles_per_iteration",
            "cycles_per_element",
            "ipc",
            "bottleneck",
            "error",
        ] {
            assert!(x.get(k).is_some(), "{k}");
        }
        if x["source"] == "list" {
            assert!(x["error"].is_null(), "{x}");
        }
    }
}
