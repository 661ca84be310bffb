//! End to end under valgrind: the driver, the marker parts and the attribution agree. Runs `add`
//! and `sum` on 64² arrays, 2 repetitions, f64, with the project's venv (the real `raptors` module
//! when it is built there, else the stand-in, with NumPy's module as the "Raptors" library).
//! Needs the venv and valgrind; without them the test says so and does nothing (`cargo xtask
//! setup` provides both).

use std::path::{Path, PathBuf};
use std::process::Command;

use raptors_bench::callgrind::{run, CallgrindOptions};

fn venv_python() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    p.exists().then_some(p)
}

fn python_ok(python: &Path, code: &str) -> bool {
    Command::new(python)
        .args(["-c", code])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn callgrind_attributes_each_op_to_its_functions() {
    let Some(python) = venv_python() else {
        eprintln!("SKIPPED: no .venv/bin/python (run `cargo xtask setup`)");
        return;
    };
    if raptors_bench::valgrind::version().is_none() {
        eprintln!("SKIPPED: valgrind is not installed (`cargo xtask setup` installs it)");
        return;
    }
    let mut opts = CallgrindOptions::new(&python);
    opts.ops = vec!["add".into(), "sum".into()];
    opts.dtypes = vec!["f64".into()];
    opts.size = 64;
    opts.reps = 2;
    let real = python_ok(&python, "import raptors._raptors");
    if !real {
        eprintln!(
            "note: no built raptors module in the venv: using the stand-in (NumPy on both sides)"
        );
        opts.pythonpath = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/testing"));
        let umath = Command::new(&python)
            .args([
                "-c",
                "import numpy._core._multiarray_umath as m; print(m.__file__)",
            ])
            .output()
            .unwrap();
        opts.raptors_lib = Some(PathBuf::from(String::from_utf8_lossy(&umath.stdout).trim()));
    }
    let r = run(&opts).unwrap();
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    assert_eq!(r.profiles.len(), 2);
    let add = r.profile("add", "f64").unwrap();
    assert_eq!(add.elements, 2 * 64 * 64);
    let np = add.numpy.as_ref().unwrap();
    assert!(
        np.hottest().unwrap().name.starts_with("DOUBLE_add"),
        "{:?}",
        np.functions
    );
    // Executions per address add up to the library's instruction count.
    assert_eq!(np.instructions.values().sum::<u64>(), np.library_ir);
    let sum = r.profile("sum", "f64").unwrap();
    let np = sum.numpy.as_ref().unwrap();
    assert!(
        np.hottest().unwrap().name.contains("DOUBLE_"),
        "{:?}",
        np.functions
    );
    if real {
        let rp = add.raptors.as_ref().unwrap();
        assert!(
            rp.hottest()
                .unwrap()
                .name
                .contains(&format!("::{}::add_f64", r.level.level)),
            "{:?} at level {}",
            rp.functions,
            r.level.level
        );
        assert_eq!(
            r.runs[0].raptors_level.as_deref(),
            Some(r.level.level.as_str())
        );
    }
    raptors_bench::runner::cleanup_scratch();
}
