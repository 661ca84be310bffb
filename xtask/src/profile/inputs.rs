//! The libraries a profile analyses: on the measured side NumPy's and Raptors's extension modules
//! in `.venv` (found by Python's import system), on the static side NumPy's wheel for the other
//! architecture (downloaded once into target/, then reused) and the Raptors kernels cross-built
//! for it as a cdylib.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use raptors_asm::Library;

use crate::cross::{cross_cargo, Arch, CrossPurpose};
use crate::setup::{project_root, target_dir};
use crate::steps::Steps;

/// The manylinux platform tags NumPy publishes wheels under for `arch`, newest first (NumPy ≥ 2.3
/// publishes `manylinux_2_27/2_28` only, older versions `manylinux2014` = `manylinux_2_17`); pip
/// takes the first that has a wheel.
pub fn wheel_platforms(arch: Arch) -> Vec<String> {
    ["manylinux_2_28", "manylinux_2_17", "manylinux2014"]
        .iter()
        .map(|p| format!("{p}_{}", arch.name()))
        .collect()
}

/// What `python -c code` prints, trimmed.
fn ask(steps: &Steps, python: &Path, code: &str) -> Result<String> {
    Ok(steps
        .run(Command::new(python).args(["-c", code]))?
        .trim()
        .to_string())
}

/// `python`'s `major.minor` (e.g. `3.11`): the wheel tag and the emulated userland follow it.
pub fn python_version(steps: &Steps, python: &Path) -> Result<String> {
    ask(
        steps,
        python,
        "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')",
    )
}

/// NumPy's `_multiarray_umath` from the `arch` wheel of the NumPy version `python` has.
pub fn numpy_wheel_module(steps: &Steps, python: &Path, arch: Arch) -> Result<Library> {
    let numpy = ask(steps, python, "import numpy; print(numpy.__version__)")?;
    let py = python_version(steps, python)?;
    let dir = target_dir()
        .join("profile-cache")
        .join(format!("numpy-{numpy}-cp{}-{arch}", py.replace('.', "")));
    let extracted = dir.join("extracted");
    // The whole package (not only the core module): the emulated run imports it. Older caches
    // hold only `_multiarray_umath`; `__init__.py` tells them apart.
    let complete = extracted.join("numpy/__init__.py").is_file();
    if let Some(found) = find_module(&extracted).filter(|_| complete) {
        steps.note(&format!("{arch} NumPy module cached: {}", found.display()));
        return Ok(Library::open(found)?);
    }
    let wheels = dir.join("wheels");
    fs::create_dir_all(&wheels)?;
    let mut pip = Command::new(python);
    pip.args(["-m", "pip", "download", "--only-binary=:all:", "--no-deps"])
        .arg("--disable-pip-version-check");
    for p in wheel_platforms(arch) {
        pip.args(["--platform", &p]);
    }
    pip.args(["--python-version", &py, &format!("numpy=={numpy}"), "-d"])
        .arg(&wheels);
    steps
        .run(&mut pip)
        .with_context(|| format!("pip download of NumPy's {arch} wheel failed"))?;
    let wheel = fs::read_dir(&wheels)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(&format!("{arch}.whl")))
        .with_context(|| {
            format!(
                "pip reported success but no {arch} wheel is in {}",
                wheels.display()
            )
        })?;
    let script = "import sys, zipfile\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        names = [n for n in z.namelist() if n.startswith('numpy/_core/_multiarray_umath') and n.endswith('.so')]\n\
        assert names, 'no numpy/_core/_multiarray_umath*.so in the wheel'\n\
        z.extractall(sys.argv[2])\n";
    steps
        .run(
            Command::new(python)
                .args(["-c", script])
                .arg(&wheel)
                .arg(&extracted),
        )
        .with_context(|| format!("extracting _multiarray_umath from {}", wheel.display()))?;
    let found =
        find_module(&extracted).context("the extracted wheel has no _multiarray_umath module")?;
    Ok(Library::open(found)?)
}

fn find_module(extracted: &Path) -> Option<PathBuf> {
    fs::read_dir(extracted.join("numpy/_core"))
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

/// raptors-kernels (feature `capi`) cross-built for `arch` as a cdylib with Debian's toolchain,
/// for disassembly only.
pub fn cross_kernels(steps: &Steps, arch: Arch) -> Result<Library> {
    let dir = target_dir().join("cross-cdylib");
    Ok(Library::open(cross_kernels_in(
        steps,
        arch,
        &project_root(),
        &dir,
    )?)?)
}

/// The same for the workspace at `tree` with the target dir `dir`: the built library's path.
pub fn cross_kernels_in(steps: &Steps, arch: Arch, tree: &Path, dir: &Path) -> Result<PathBuf> {
    if !Path::new("/usr/bin/cargo").exists() {
        bail!("Debian's cargo (/usr/bin/cargo, package cargo-web) is missing: needed for the {arch} std");
    }
    let mut cmd = cross_cargo(arch, CrossPurpose::Disassemble);
    cmd.current_dir(tree).env("CARGO_TARGET_DIR", dir);
    cmd.args([
        "rustc",
        "-p",
        "raptors-kernels",
        "--release",
        "--features",
        "capi",
    ])
    .args(["--crate-type", "cdylib", "--target", arch.triple()]);
    steps.run(&mut cmd)?;
    let lib = dir
        .join(arch.triple())
        .join("release/libraptors_kernels.so");
    if !lib.is_file() {
        bail!(
            "the cross build succeeded but {} does not exist",
            lib.display()
        );
    }
    Ok(lib)
}
