//! Inputs gathered from the machine: the environment (CPU, NumPy dispatch, Raptors level), NumPy's
//! aarch64 wheel (downloaded once into target/, then reused) and the cross-built aarch64 Raptors
//! kernels library.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::model::Environment;
use super::runlog::StepLog;
use crate::cross::{cross_cargo, Arch, CrossPurpose};
use crate::setup::target_dir;

const ENV_SCRIPT: &str = r#"
import contextlib, io, json, os, platform, subprocess, sys
import numpy as np
from numpy._core import _multiarray_umath as mu
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    np.show_runtime()
cpu_model, flags = "", []
try:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and not cpu_model:
                cpu_model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1].split()
except OSError:
    pass
out = {
    "cpu_model": cpu_model or platform.processor(),
    "cores": os.cpu_count(),
    "kernel": platform.release(),
    "python": platform.python_version(),
    "cpu_simd_flags": sorted(f for f in flags if f.startswith(("sse", "ssse", "avx", "fma", "f16c"))),
    "numpy_version": np.__version__,
    "numpy_baseline": list(mu.__cpu_baseline__),
    "numpy_dispatch": list(mu.__cpu_dispatch__),
    "numpy_dispatch_available": [d for d in mu.__cpu_dispatch__ if mu.__cpu_features__.get(d)],
    "numpy_show_runtime": buf.getvalue(),
}
try:
    import raptors
    out["raptors_version"] = getattr(raptors, "__version__", "unknown")
    out["raptors_simd_level"] = raptors.simd_level()
    levels = {}
    for level in ["scalar", "sse2", "avx2", "avx512", "neon"]:
        env = dict(os.environ, RAPTORS_SIMD=level)
        r = subprocess.run([sys.executable, "-c", "import raptors; print(raptors.simd_level())"],
                           env=env, capture_output=True, text=True)
        err = (r.stderr.strip().splitlines() or [""])[-1]
        levels[level] = "available" if r.returncode == 0 else err
    out["raptors_levels"] = levels
except Exception as exc:
    out["raptors_error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"#;

/// Runs the probe; returns the raw JSON (for environment.json) and the report's summary.
pub fn environment(log: &StepLog, python: &Path) -> Result<(Value, Environment)> {
    let text = log.run(Command::new(python).arg("-c").arg(ENV_SCRIPT))?;
    let v: Value =
        serde_json::from_str(text.trim()).context("environment probe printed no JSON")?;
    let strs = |k: &str| -> Vec<String> {
        v.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    // NumPy's facts are still worth recording when Raptors does not import; the report shows
    // the import error in place of the level.
    let raptors_error = v
        .get("raptors_error")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(err) = &raptors_error {
        log.note(&format!(
            "import raptors failed in the environment probe: {err}"
        ));
    }

    let levels: Vec<String> = v
        .get("raptors_levels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, st)| st.as_str() == Some("available"))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    let env = Environment {
        cpu_model: s("cpu_model"),
        cores: v.get("cores").and_then(Value::as_u64).unwrap_or(0),
        kernel: s("kernel"),
        python: s("python"),
        numpy_version: s("numpy_version"),
        numpy_baseline: strs("numpy_baseline"),
        numpy_dispatch_available: strs("numpy_dispatch_available"),
        raptors_version: s("raptors_version"),
        raptors_simd_level: match &raptors_error {
            Some(err) => format!("unknown (import raptors failed: {err})"),
            None => s("raptors_simd_level"),
        },
        raptors_levels_available: levels,
    };
    Ok((v, env))
}

/// Cache for downloaded and built inputs that survive between runs (under target/).
pub fn cache_dir() -> PathBuf {
    target_dir().join("profile-cache")
}

/// NumPy's `_multiarray_umath` from the aarch64 manylinux wheel of the installed NumPy version.
/// Downloads with pip once; later runs reuse the extracted module.
pub fn numpy_aarch64_module(log: &StepLog, python: &Path, numpy_version: &str) -> Result<PathBuf> {
    let asked;
    let numpy_version = if numpy_version.is_empty() {
        // The environment probe failed (e.g. raptors would not import): ask NumPy directly.
        asked = log
            .run(Command::new(python).args(["-c", "import numpy; print(numpy.__version__)"]))
            .context("the installed NumPy version is unknown")?;
        asked.trim()
    } else {
        numpy_version
    };
    let py_version = log
        .run(Command::new(python).args([
            "-c",
            "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')",
        ]))?
        .trim()
        .to_string();
    let dir = cache_dir().join(format!(
        "numpy-{numpy_version}-cp{}-aarch64",
        py_version.replace('.', "")
    ));
    let extracted = dir.join("extracted");
    if let Some(found) = find_module(&extracted) {
        log.note(&format!("aarch64 NumPy module cached: {}", found.display()));
        return Ok(found);
    }
    let wheels = dir.join("wheels");
    fs::create_dir_all(&wheels)?;
    let pip = python.with_file_name("pip");
    let pip_cmd = |c: &mut Command| {
        c.args([
            "download",
            "--only-binary=:all:",
            "--no-deps",
            "--disable-pip-version-check",
        ])
        // NumPy >= 2.3 publishes aarch64 wheels as manylinux_2_27/2_28 only, older ones as
        // manylinux2014; pip accepts any of the listed platforms.
        .args(["--platform", "manylinux_2_28_aarch64"])
        .args(["--platform", "manylinux2014_aarch64"])
        .args(["--python-version", &py_version])
        .arg(format!("numpy=={numpy_version}"))
        .arg("-d")
        .arg(&wheels);
    };
    let mut cmd = if pip.exists() {
        Command::new(&pip)
    } else {
        let mut c = Command::new(python);
        c.args(["-m", "pip"]);
        c
    };
    pip_cmd(&mut cmd);
    log.run(&mut cmd)
        .context("pip download of NumPy's aarch64 wheel failed")?;
    let wheel = fs::read_dir(&wheels)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.starts_with("numpy-") && n.ends_with(".whl") && n.contains("aarch64")
        })
        .with_context(|| {
            format!(
                "pip reported success but no aarch64 wheel is in {}",
                wheels.display()
            )
        })?;
    fs::create_dir_all(&extracted)?;
    let script = "import sys, zipfile\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        names = [n for n in z.namelist() if n.startswith('numpy/_core/_multiarray_umath') and n.endswith('.so')]\n\
        assert names, 'no numpy/_core/_multiarray_umath*.so in the wheel'\n\
        for n in names: z.extract(n, sys.argv[2])\n\
        print(names[0])\n";
    log.run(
        Command::new(python)
            .arg("-c")
            .arg(script)
            .arg(&wheel)
            .arg(&extracted),
    )
    .context("extracting _multiarray_umath from the aarch64 wheel")?;
    find_module(&extracted).context("the extracted wheel has no _multiarray_umath module")
}

fn find_module(extracted: &Path) -> Option<PathBuf> {
    let dir = extracted.join("numpy/_core");
    fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.starts_with("_multiarray_umath") && n.ends_with(".so")
        })
}

/// Cross-builds raptors-kernels (feature `capi`) as an aarch64 cdylib with Debian's toolchain, for
/// disassembly only.
pub fn raptors_aarch64_library(log: &StepLog) -> Result<PathBuf> {
    if !Path::new("/usr/bin/cargo").exists() {
        bail!("Debian's cargo (/usr/bin/cargo, package cargo-web) is missing: needed for the aarch64 std");
    }
    let target = Arch::Aarch64;
    let mut cmd = cross_cargo(target, CrossPurpose::Disassemble);
    cmd.args([
        "rustc",
        "-p",
        "raptors-kernels",
        "--release",
        "--features",
        "capi",
    ])
    .args(["--crate-type", "cdylib", "--target", target.triple()]);
    log.run(&mut cmd)?;
    let lib = target_dir()
        .join("cross-cdylib")
        .join(target.triple())
        .join("release/libraptors_kernels.so");
    if !lib.is_file() {
        bail!(
            "the cross build succeeded but {} does not exist",
            lib.display()
        );
    }
    Ok(lib)
}
