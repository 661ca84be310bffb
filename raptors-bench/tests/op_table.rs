//! The Python runner and the Rust side read the same op table: `compare_runner.py --list-ops`
//! prints what the script takes from `ops.json` (run from the repository, where it finds
//! `../ops.json`, and from the directory raptors-bench writes its scripts to), and it must equal
//! what `raptors_bench::ops` parsed. Needs the project venv (numpy); without it the test says so.

use std::path::{Path, PathBuf};
use std::process::Command;

use raptors_bench::ops::{self, Suite};
use serde_json::{json, Value};

fn venv_python() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    p.exists().then_some(p)
}

fn listed(python: &Path, script: &Path) -> Value {
    let out = Command::new(python)
        .arg(script)
        .arg("--list-ops")
        .env_remove("RAPTORS_BENCH_OPS")
        .output()
        .expect("run the runner");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(v["type"], "ops");
    v
}

/// What the runner should print, computed from the Rust table.
fn expected() -> Value {
    let t = ops::table();
    let suite = |s: Suite| serde_json::to_value(s).unwrap();
    json!({
        "ops": t.ops.iter().map(|o| json!({
            "name": o.name, "numpy": o.numpy, "raptors": o.raptors, "out": o.out,
            "shape_512": o.shape_for(512), "dtypes": o.dtypes,
            "default_in": o.default_in.iter().map(|s| suite(*s)).collect::<Vec<_>>(),
            "inplace": o.inplace, "levels": o.levels,
        })).collect::<Vec<_>>(),
        "dtypes": t.dtypes.iter().map(|d| json!({
            "name": d.name, "numpy": d.numpy, "itemsize": d.itemsize,
        })).collect::<Vec<_>>(),
        "regimes": t.regimes.iter().map(|r| json!({
            "name": r.name, "default_on": r.default_on, "calls": r.calls, "work_ms": r.work_ms,
            "evict_llc_multiple": r.evict_llc_multiple,
        })).collect::<Vec<_>>(),
        "headline": t.headline,
    })
}

#[test]
fn runner_and_rust_see_the_same_op_table() {
    let Some(python) = venv_python() else {
        eprintln!("SKIPPED: no .venv/bin/python (run `cargo xtask setup`)");
        return;
    };
    let repo_script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/compare_runner.py");
    let written = raptors_bench::runner::python_scripts()
        .unwrap()
        .join("compare_runner.py");
    for script in [repo_script, written] {
        let mut v = listed(&python, &script);
        let path = v["path"].as_str().unwrap().to_string();
        assert!(path.ends_with("ops.json"), "{path}");
        // The file it read is byte for byte the one compiled into the Rust side.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), ops::OPS_JSON);
        v.as_object_mut()
            .unwrap()
            .retain(|k, _| ["ops", "dtypes", "regimes", "headline"].contains(&k.as_str()));
        assert_eq!(v, expected(), "{}", script.display());
    }
    raptors_bench::runner::cleanup_scratch();
}
