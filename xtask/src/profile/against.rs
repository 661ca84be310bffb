//! `--against REV`: the old revision's Raptors, built once per commit under `target/against/`
//! (a detached git worktree `<commit>/`, its `raptors` package in `<commit>.build/site`, its
//! kernels cdylib for the other architecture in `<commit>.build/`), then profiled and timed
//! against the current build. The comparison is `raptors_bench::evidence::against`'s.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use raptors_asm::Library;
use raptors_bench::callgrind;
use raptors_bench::evidence::against::{self, profile_old, run_timings, Current, Old};
use raptors_bench::evidence::choice::Archs;
use raptors_bench::evidence::folder::Artifacts;
use raptors_bench::evidence::revision::Resolved;

use super::inputs::cross_kernels_in;
use super::pipeline::{callgrind_options, emulated_loops};
use super::Plan;
use crate::cross::Arch;
use crate::setup::{project_root, target_dir, venv_python};
use crate::steps::{Steps, Unavailable};

/// The old build: its package directory, extension module and other-architecture kernels.
pub struct OldBuild {
    pub site: PathBuf,
    pub ext: Library,
    pub cross: Result<Library, String>,
}

/// The `--against` steps: build the old revision, profile it as the current build was, time the
/// two builds against each other, and put `against.json` / `against.md` (stand-ins saying why
/// when the old revision did not build).
pub fn steps(steps: &Steps, plan: &Plan, old: &Resolved, cur: &Current, art: &mut Artifacts) {
    let name = |what: &str| format!("against {}: {what}", old.revision.rev);
    let built = steps.step(
        &name("build the old revision (worktree, maturin, cdylib)"),
        || build(steps, old, plan.static_arch()),
    );
    let b = match built {
        Ok(b) => b,
        Err(why) => {
            let commit = &old.revision.commit;
            return against::put_files(art, Err(format!("{commit} did not build: {why}")));
        }
    };
    let cg = steps.step(&name("callgrind of the old build"), || {
        if cur.emulated {
            bail!(Unavailable(
                "valgrind cannot run under qemu-user emulation".into()
            ));
        }
        let np = cur.numpy[0].ok_or_else(|| Unavailable("NumPy was not located".into()))?;
        let mut o = callgrind_options(plan, &venv_python(), np, &b.ext);
        o.pythonpath = Some(b.site.clone());
        let run = callgrind::run(&o)?;
        match run.errors() {
            e if e.is_empty() => Ok(run),
            e => bail!("{}", e.join("; ")),
        }
    });
    if let Err(e) = &b.cross {
        steps.note(&format!(
            "the old build has no library for the other architecture: {e}"
        ));
    }
    let raptors = [Some(&b.ext), b.cross.as_ref().ok()];
    let other = plan.static_arch();
    let on = Archs {
        host: plan.host.name(),
        other: other.map(Arch::name),
    };
    // The same evidence as the current build's: what ran under qemu-user on the other
    // architecture (without it the old side's picks there would be static, and a loop the
    // static choice misses would show as a diff that is not there).
    let emulated = other
        .and_then(|o| {
            let what = format!("{o}: the old build's hot loops by execution (qemu-user)");
            let libs = [cur.numpy[1], b.cross.as_ref().ok()];
            let python = venv_python();
            let run = || emulated_loops(steps, cur.emulated, plan, &python, o, libs);
            steps.step(&name(&what), run).ok()
        })
        .unwrap_or_default();
    let profile = steps.step(
        &name("the old build's functions, hot loops, llvm-mca"),
        || profile_old(&plan.cells(), on, cur, raptors, &cg, &emulated),
    );
    let timings = steps.step(
        &name(&format!(
            "old vs new timings (interleaved, {} processes, NumPy as reference)",
            against::TIMING_PROCESSES
        )),
        || {
            let mut o = against::TimingOptions::new(venv_python(), b.site.clone(), plan.quick);
            (o.ops, o.dtypes) = (plan.ops.clone(), plan.dtypes.clone());
            run_timings(&o)
        },
    );
    let (revision, profile) = (old.revision.clone(), &profile);
    let old = Old {
        revision,
        profile,
        cg: &cg,
        raptors,
    };
    let report = steps.step(&name("hot loop metrics and diffs, old vs new"), || {
        let host = plan.host.name();
        Ok(against::report(&old, cur, host, plan.quick, timings))
    });
    against::put_files(art, report.as_ref().map_err(String::clone));
}

/// Builds (or reuses) the old revision: the Python module with maturin into its own package
/// directory, and the kernels cdylib for `other`. A build failure is the step's error.
pub fn build(steps: &Steps, old: &Resolved, other: Option<Arch>) -> Result<OldBuild> {
    let (rev, py) = (&old.revision, &old.raptors_py);
    let root = target_dir().join("against");
    let (tree, out) = (
        root.join(&rev.commit),
        root.join(format!("{}.build", rev.commit)),
    );
    if !tree.join("Cargo.toml").is_file() {
        let mut git = Command::new("git");
        git.current_dir(project_root())
            .args(["worktree", "add", "--force", "--detach"]);
        steps.run(git.arg(&tree).arg(&rev.commit))?;
    }
    let site = out.join("site");
    let ext = match find_extension(&site) {
        Some(ext) => {
            steps.note(&format!("old build cached: {}", ext.display()));
            ext
        }
        None => {
            let _ = fs::remove_dir_all(&out);
            let mut maturin = crate::setup::maturin();
            maturin
                .current_dir(&tree)
                .env("CARGO_TARGET_DIR", root.join("target"));
            maturin
                .args(["build", "--release", "--quiet", "-m"])
                .arg(tree.join(py).join("Cargo.toml"));
            maturin
                .arg("-i")
                .arg(venv_python())
                .arg("--out")
                .arg(out.join("wheel"));
            let what = format!("building {} failed", rev.commit);
            steps.run(&mut maturin).context(what)?;
            let mut pip = Command::new(venv_python());
            pip.args(["-m", "pip", "install", "-q", "--no-deps", "--target"])
                .arg(&site);
            let wheels = fs::read_dir(out.join("wheel"))?.filter_map(|e| e.ok().map(|e| e.path()));
            steps.run(pip.args(wheels.filter(|p| p.extension().is_some_and(|e| e == "whl"))))?;
            find_extension(&site).context("the old wheel has no raptors extension module")?
        }
    };
    let cross = other.map_or(Err("no other architecture is analysed".into()), |arch| {
        let cached = out.join(format!("libraptors_kernels-{arch}.so"));
        let dir = root.join("cross-cdylib");
        (|| -> Result<Library> {
            if !cached.is_file() {
                fs::copy(cross_kernels_in(steps, arch, &tree, &dir)?, &cached)?;
            }
            Ok(Library::open(&cached)?)
        })()
        .map_err(|e| format!("the old kernels cdylib (feature capi) did not build: {e:#}"))
    });
    Ok(OldBuild {
        site,
        ext: Library::open(ext)?,
        cross,
    })
}

/// `raptors/_raptors*.so` (a package) or `raptors*.so` (a plain module) under `site`.
fn find_extension(site: &Path) -> Option<PathBuf> {
    let files = [site.join("raptors"), site.to_path_buf()]
        .into_iter()
        .flat_map(fs::read_dir);
    files.flatten().flatten().map(|e| e.path()).find(|p| {
        let n = p
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        (n.starts_with("_raptors.") || n.starts_with("raptors.")) && n.ends_with(".so")
    })
}
