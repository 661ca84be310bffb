//! The `raptors-asm` binary: JSON shapes the profile step relies on, error reporting (file +
//! reason on stderr, non-zero exit, no panic/backtrace), and `locate` through importlib.

mod common;

use std::process::Command;

use common::{assert_clean_failure, bin, build_fixture, ok_json, temp_dir, Fx};
use serde_json::Value;

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("object")
        .keys()
        .map(|k| k.as_str())
        .collect()
}

#[test]
fn json_shapes() {
    let fx = build_fixture(Fx::X86);
    let lib = fx.shared.to_str().unwrap();

    let s = ok_json(bin().args(["symbols", lib, "--json"]));
    for k in [
        "file",
        "arch",
        "functions",
        "stripped",
        "from_eh_frame",
        "warnings",
    ] {
        assert!(s.get(k).is_some(), "symbols: missing {k}");
    }
    let f = &s["functions"][0];
    for k in [
        "name",
        "raw_name",
        "address",
        "size",
        "end",
        "bounds_source",
        "size_inferred",
        "section",
        "aliases",
    ] {
        assert!(
            f.get(k).is_some(),
            "symbols.functions[]: missing {k} in {:?}",
            keys(f)
        );
    }

    let s = ok_json(bin().args(["simd", lib, "--json", "--symbol", "sum_f32"]));
    let f = &s["functions"][0];
    assert_eq!(f["name"], "sum_f32");
    for k in [
        "address",
        "size",
        "bounds_source",
        "instructions",
        "simd_instructions",
        "by_extension",
        "by_category",
        "by_vector_bits",
        "max_vector_bits",
        "undecoded",
    ] {
        assert!(f.get(k).is_some(), "simd.functions[]: missing {k}");
    }
    assert_eq!(f["by_extension"]["AVX"], 11);
    assert!(s["total"]["instructions"].as_u64().unwrap() > 0);

    let s = ok_json(bin().args(["loops", lib, "--json", "--symbol", "sum_f32"]));
    let l = &s["functions"][0]["loops"][0];
    for k in [
        "start",
        "end",
        "instructions",
        "loads",
        "stores",
        "arith",
        "fma",
        "vector_bits",
        "unroll",
        "accumulators",
        "innermost",
        "hottest",
        "elements_per_iteration",
        "instructions_per_element",
        "mca",
    ] {
        assert!(l.get(k).is_some(), "loops[]: missing {k}");
    }

    // --loop-a picks the innermost loop containing an address (here: the scalar tail loop).
    let loops = s["functions"][0]["loops"].as_array().unwrap();
    let tail = loops.iter().find(|l| l["hottest"] == false).unwrap();
    let at = format!("{:#x}", tail["start"].as_u64().unwrap() + 1);
    let c = ok_json(bin().args([
        "compare",
        lib,
        lib,
        "--symbol-a",
        "sum_f32",
        "--symbol-b",
        "sum_f32",
        "--loop-a",
        &at,
        "--json",
    ]));
    assert_eq!(c["a"]["selected_by"], "address");
    // `0x<addr>` selects a function by its start address.
    let sum_addr = format!("{:#x}", s["functions"][0]["address"].as_u64().unwrap());
    let by_addr = ok_json(bin().args(["loops", lib, "--json", "--symbol", &sum_addr]));
    assert_eq!(by_addr["functions"][0]["name"], "sum_f32");
    assert_eq!(c["a"]["loop"]["start"], tail["start"]);
    assert_eq!(c["b"]["selected_by"], "hottest");
    assert_eq!(c["b"]["loop"]["accumulators"], 2);

    let s = ok_json(bin().args([
        "compare",
        lib,
        lib,
        "--symbol-a",
        "sum_f32",
        "--symbol-b",
        "add_f32",
        "--json",
    ]));
    assert_eq!(s["a"]["loop"]["accumulators"], 2);
    assert_eq!(s["b"]["loop"]["accumulators"], 0);

    let s = ok_json(bin().args(["disasm", lib, "--json", "--symbol", "add_f32"]));
    let i = &s["functions"][0]["instructions"][0];
    assert_eq!(keys(i), ["address", "bytes", "text"]);
}

#[test]
fn loops_exports_llvm_mca_input() {
    let fx = build_fixture(Fx::A64);
    let out = fx.dir.join("loops.s");
    let o = bin()
        .args([
            "loops",
            fx.shared.to_str().unwrap(),
            "--symbol",
            "add_f32",
            "--mca",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let s = std::fs::read_to_string(&out).unwrap();
    assert!(s.starts_with("# LLVM-MCA-BEGIN add_f32@"), "{s}");
    assert!(s.contains("\n  b.cc .Lloop0\n# LLVM-MCA-END\n"), "{s}");
}

#[test]
fn errors_name_the_file_and_exit_non_zero() {
    let d = temp_dir("cli");
    let junk = d.join("junk.so");
    std::fs::write(&junk, b"definitely not an ELF").unwrap();
    let j = junk.to_str().unwrap();
    for sub in [
        vec!["symbols", j],
        vec!["disasm", j],
        vec!["simd", j, "--json"],
        vec!["loops", j, "--symbol", "x"],
    ] {
        assert_clean_failure(&bin().args(&sub).output().unwrap(), &[j, "not an ELF"]);
    }
    let missing = d.join("missing.so");
    assert_clean_failure(
        &bin().arg("symbols").arg(&missing).output().unwrap(),
        &["missing.so", "cannot read"],
    );
    let fx = build_fixture(Fx::X86);
    let lib = fx.shared.to_str().unwrap();
    assert_clean_failure(
        &bin()
            .args(["loops", lib, "--symbol", "no_such_fn"])
            .output()
            .unwrap(),
        &[lib, "no function matches"],
    );
    assert_clean_failure(
        &bin()
            .args([
                "compare",
                lib,
                lib,
                "--symbol-a",
                "_f32",
                "--symbol-b",
                "sum_f32",
            ])
            .output()
            .unwrap(),
        &["matches 4 functions"],
    );
    assert_clean_failure(
        &bin()
            .args(["disasm", lib, "--symbol", "("])
            .output()
            .unwrap(),
        &["invalid symbol pattern"],
    );
}

#[test]
fn locate_uses_importlib() {
    common::require_tool("python3", "python3");
    let d = temp_dir("locate");
    let suffix = common::run(Command::new("python3").args([
        "-c",
        "import importlib.machinery as m; print(m.EXTENSION_SUFFIXES[0])",
    ]));
    let pkg = d.join("fakepkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("__init__.py"), "").unwrap();
    // find_spec only looks at file names, so any bytes will do for an "extension".
    let ext = pkg.join(format!("_native{}", suffix.trim()));
    std::fs::write(&ext, b"").unwrap();
    let run = |module: &str| {
        bin()
            .args(["locate", module, "--json"])
            .env("PYTHONPATH", &d)
            .output()
            .unwrap()
    };
    for module in ["fakepkg", "fakepkg._native"] {
        let o = run(module);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["path"], ext.to_str().unwrap());
        assert_eq!(v["extension_module"], "fakepkg._native");
        assert_eq!(v["method"], "importlib.util.find_spec");
    }
    assert_clean_failure(
        &run("no_such_module_xyz"),
        &["no module named 'no_such_module_xyz'"],
    );
    assert_clean_failure(
        &bin()
            .args(["locate", "json", "--python", "/nonexistent/python"])
            .output()
            .unwrap(),
        &["cannot run Python interpreter"],
    );
}
