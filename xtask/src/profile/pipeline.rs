//! The profile's steps in order. Each step records its outcome; later steps that need an earlier
//! step's output are recorded as skipped with the reason. Artifacts are collected in memory and
//! written at the end with the final provenance (libraries and their hashes are known by then).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::analysis::{self, Asm};
use super::artifacts::{self, Artifacts, Content};
use super::callgrind::OpHot;
use super::model::{Artifact, Avail, Environment, HotLoopPair, OpFunctions, ReportInput, Timings};
use super::probes;
use super::provenance::{self, library_info, Provenance};
use super::report;
use super::runlog::{Outcome, StepLog};
use super::select;
use super::symbols::Sym;
use super::{adapters, Plan};
use crate::setup::{self, SystemNeeds};

pub struct RunOutcome {
    pub report: ReportInput,
    pub failed: Vec<String>,
}

/// Libraries analysed, per side.
#[derive(Default)]
pub struct Libs {
    pub numpy_x86: Option<PathBuf>,
    pub raptors_x86: Option<PathBuf>,
    pub numpy_arm: Option<PathBuf>,
    pub raptors_arm: Option<PathBuf>,
}

pub fn need<'a, T>(v: &'a Option<T>, what: &str) -> Result<&'a T> {
    v.as_ref()
        .with_context(|| format!("skipped: {what} is not available (an earlier step failed)"))
}

pub fn profile_into(tmp: &Path, plan: &Plan) -> Result<RunOutcome> {
    let partial = tmp.join(".profile.log.partial");
    // 17 steps with both architectures; the aarch64 ones are 3 of them, the x86-64 disassembly 1.
    let planned = 17 - 3 * u64::from(!plan.aarch64) - u64::from(!plan.x86);
    let log = StepLog::new(planned, Some(&partial), &format!("# {}\n", plan.command))?;
    let mut art = Artifacts::default();
    let python = setup::venv_python();
    let mut libs = Libs::default();

    // ---- set-up ------------------------------------------------------------------------------
    log.step(
        "set-up: system packages (valgrind, perf, cross toolchain)",
        || {
            setup::ensure_system_packages(SystemNeeds {
                host_tools: true,
                cross: plan.aarch64,
            })
        },
    );
    let venv = log.step("set-up: Python .venv", setup::ensure_venv);
    let module = match venv {
        Some(()) => log.step(
            "build the raptors module (maturin, release)",
            setup::build_python_module,
        ),
        None => {
            log.skip(
                "build the raptors module (maturin, release)",
                ".venv set-up failed",
            );
            None
        }
    };
    if module.is_none() {
        // Later steps still import whatever `raptors` build is installed; the Status table shows
        // this step failed, so a stale module is visible.
        log.note("the raptors module was not (re)built: later steps use the previously installed build, if any");
    }
    let tools = log.step("build raptors-asm and raptors-bench (release)", || {
        build_tools(&log)
    });
    let asm = tools.as_ref().map(|(a, _)| Asm { bin: a.clone() });
    let bench = tools.as_ref().map(|(_, b)| b.clone());

    // ---- environment and libraries -------------------------------------------------------------
    let env: Option<Environment> = log.step(
        "environment (CPU, NumPy dispatch, Raptors SIMD level)",
        || {
            let (raw, env) = probes::environment(&log, &python)?;
            art.put("environment.json", Content::Json(raw));
            Ok(env)
        },
    );
    log.step("locate the extension modules (raptors-asm locate)", || {
        let asm = need(&asm, "raptors-asm")?;
        let locate = |module: &str| -> Result<PathBuf> {
            let mut c = Command::new(&asm.bin);
            c.args(["locate", module, "--python"])
                .arg(&python)
                .arg("--json");
            let v: Value = serde_json::from_str(&log.run(&mut c)?)?;
            Ok(PathBuf::from(adapters::located_path(&v)?))
        };
        libs.numpy_x86 = Some(locate("numpy._core._multiarray_umath")?);
        libs.raptors_x86 = Some(locate("raptors")?);
        Ok(())
    });

    // ---- what really runs: callgrind ----------------------------------------------------------
    let mut hot: Vec<OpHot> = Vec::new();
    let mut valgrind_level = None;
    log.step(
        "callgrind: hottest function per op (dtypes in parallel)",
        || {
            let (np, rp) = (
                need(&libs.numpy_x86, "NumPy's module")?,
                need(&libs.raptors_x86, "Raptors's module")?,
            );
            let (found, level, errors) = select::run_callgrind(&log, &python, plan, np, rp)?;
            hot = found;
            valgrind_level = level;
            if !errors.is_empty() {
                bail!("{}", errors.join("; "));
            }
            Ok(())
        },
    );

    // ---- x86-64: choose functions, disassemble, count -------------------------------------------
    let x86_syms = log.step(
        "symbols of the x86-64 modules (raptors-asm symbols)",
        || {
            let asm = need(&asm, "raptors-asm")?;
            let np = asm.symbols(&log, need(&libs.numpy_x86, "NumPy's module")?)?;
            let rp = asm.symbols(&log, need(&libs.raptors_x86, "Raptors's module")?)?;
            Ok((np, rp))
        },
    );
    let mut functions: Vec<OpFunctions> = Vec::new();
    log.step(
        "choose the functions per op (callgrind, else name patterns)",
        || {
            let (np, rp) = need(&x86_syms, "the x86-64 symbol tables")?;
            let level = env
                .as_ref()
                .map(|e| e.raptors_simd_level.as_str())
                .unwrap_or("");
            functions = select::choose_x86(plan, &hot, np, rp, level);
            Ok(())
        },
    );
    if plan.x86 {
        let asm_names = [
            "numpy_asm.txt",
            "raptors_asm.txt",
            "numpy_simd.txt",
            "numpy_simd.json",
            "raptors_simd.txt",
            "raptors_simd.json",
        ];
        let r = log.step(
            "x86-64 disassembly and SIMD counts of those functions",
            || {
                let asm = need(&asm, "raptors-asm")?;
                artifacts::x86_artifacts(&log, asm, &libs, &functions, &mut art)
            },
        );
        if r.is_none() {
            art.expect(
                &asm_names,
                "the x86-64 disassembly step failed (see profile.log)",
            );
        }
    }

    // ---- aarch64: static analysis --------------------------------------------------------------
    let mut arm_syms: (Option<Vec<Sym>>, Option<Vec<Sym>>) = (None, None);
    if plan.aarch64 {
        let numpy_version = env
            .as_ref()
            .map(|e| e.numpy_version.clone())
            .unwrap_or_default();
        libs.numpy_arm = log.step(
            "aarch64: NumPy wheel module (pip download, cached in target/)",
            || probes::numpy_aarch64_module(&log, &python, &numpy_version),
        );
        libs.raptors_arm = log.step("aarch64: cross-build the Raptors kernels cdylib", || {
            probes::raptors_aarch64_library(&log)
        });
        log.step("aarch64: map functions, disassemble, count NEON", || {
            let asm = need(&asm, "raptors-asm")?;
            if let Some(lib) = &libs.numpy_arm {
                arm_syms.0 = Some(asm.symbols(&log, lib)?);
            }
            if let Some(lib) = &libs.raptors_arm {
                arm_syms.1 = Some(asm.symbols(&log, lib)?);
            }
            select::choose_aarch64(&mut functions, &arm_syms.0, &arm_syms.1, &libs);
            artifacts::aarch64_artifacts(&log, asm, &libs, &functions, &mut art)
        });
        art.expect(
            &[
                "numpy_neon.txt",
                "numpy_neon.json",
                "raptors_neon.txt",
                "raptors_neon.json",
            ],
            "the aarch64 library was not available (see the aarch64 steps in profile.log)",
        );
    }

    // ---- hot loops side by side ---------------------------------------------------------------
    let mut loops: Vec<HotLoopPair> = Vec::new();
    let mut compare_json: Vec<Value> = Vec::new();
    log.step("hot loops side by side (raptors-asm compare)", || {
        let asm = need(&asm, "raptors-asm")?;
        (loops, compare_json) = compare_loops(&log, asm, plan, &libs, &functions);
        let failed = loops
            .iter()
            .filter(|p| p.numpy.ok().is_none() && p.raptors.ok().is_none())
            .count();
        if loops.is_empty() {
            bail!("no op had functions on both sides to compare");
        }
        log.note(&format!(
            "{} loop pairs compared, {failed} without data",
            loops.len()
        ));
        Ok(())
    });

    // ---- timings and counters -----------------------------------------------------------------
    let timings: Avail<Timings> = match log.step(
        "timings: raptors-bench compare (paired, interleaved)",
        || {
            run_timings(
                &log,
                need(&bench, "raptors-bench")?,
                &python,
                plan,
                tmp,
                &mut art,
            )
        },
    ) {
        Some(t) => Avail::Ok(t),
        None => Avail::missing(last_reason(&log)),
    };
    let counters = match log.step(
        "counters: raptors-bench counters (perf, else valgrind)",
        || {
            run_counters(
                &log,
                need(&bench, "raptors-bench")?,
                &python,
                plan,
                tmp,
                &mut art,
            )
        },
    ) {
        Some(c) => Avail::Ok(c),
        None => Avail::missing(last_reason(&log)),
    };

    // ---- provenance and report ----------------------------------------------------------------
    let prov = final_provenance(plan, &libs, &asm, &bench, &python);
    let mut input = ReportInput {
        provenance: prov.clone(),
        mode: if plan.quick {
            "quick".into()
        } else {
            "full".into()
        },
        command: plan.command.clone(),
        in_container: std::env::var_os("RAPTORS_PROFILE_CONTAINER").is_some(),
        steps: Vec::new(),
        environment: match &env {
            Some(e) => Avail::Ok(e.clone()),
            None => Avail::missing("the environment probe failed (see Status)"),
        },
        valgrind_raptors_level: valgrind_level,
        executed: select::executed_ir(&hot, plan),
        isa: std::mem::take(&mut art.isa),
        functions,
        loops,
        timings,
        counters,
        artifacts: Vec::new(),
    };
    log.step("write hot_loops.md / hot_loops.json", || {
        let mut v = serde_json::to_value(&input.loops)?;
        if !plan.x86 {
            if let Value::Array(a) = &mut v {
                a.retain(|p| p["arch"] == "aarch64");
            }
        }
        art.put(
            "hot_loops.json",
            Content::Json(json!({
                "loops": v,
                "functions": input.functions,
                "callgrind": hot,
                "raptors_asm_compare": compare_json,
            })),
        );
        art.put(
            "hot_loops.md",
            Content::Markdown(report::render_hot_loops_md(&input)),
        );
        Ok(())
    });
    art.expect(
        &["environment.json"],
        "the environment probe failed (see profile.log)",
    );
    art.expect(
        &["timings.json", "timings.md"],
        "raptors-bench compare failed (see profile.log)",
    );
    art.expect(
        &["counters.json"],
        "raptors-bench counters failed (see profile.log)",
    );
    log.finish_bar();

    artifacts::write_artifacts(tmp, &prov, &art)?;
    // profile.log: provenance header, then every step as it happened.
    let body = fs::read_to_string(&partial).unwrap_or_default();
    fs::write(
        tmp.join("profile.log"),
        format!("{}{body}", prov.text_header()),
    )?;
    fs::remove_file(&partial).ok();

    input.steps = log.records();
    input.artifacts = artifacts::list_artifacts(tmp)?;
    input.artifacts.push(Artifact {
        name: "README.md".into(),
        bytes: 0,
    });
    fs::write(tmp.join("README.md"), report::render_readme(&input))?;
    if let Some(a) = input.artifacts.iter_mut().find(|a| a.name == "README.md") {
        // For callers (docs/findings.md); the README itself says "this file".
        a.bytes = fs::metadata(tmp.join("README.md"))?.len();
    }
    let failed = input
        .steps
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .map(|r| format!("{}: {}", r.name, r.reason.lines().next().unwrap_or("")))
        .collect();
    Ok(RunOutcome {
        report: input,
        failed,
    })
}

fn last_reason(log: &StepLog) -> String {
    log.records()
        .last()
        .map(|r| r.reason.clone())
        .unwrap_or_default()
}

fn build_tools(log: &StepLog) -> Result<(PathBuf, PathBuf)> {
    log.run(crate::cross::host_cargo().args([
        "build",
        "--release",
        "-p",
        "raptors-asm",
        "-p",
        "raptors-bench",
    ]))?;
    let dir = crate::setup::target_dir().join("release");
    let (a, b) = (dir.join("raptors-asm"), dir.join("raptors-bench"));
    for p in [&a, &b] {
        if !p.is_file() {
            bail!("the build succeeded but {} is missing", p.display());
        }
    }
    Ok((a, b))
}

fn compare_loops(
    log: &StepLog,
    asm: &Asm,
    plan: &Plan,
    libs: &Libs,
    functions: &[OpFunctions],
) -> (Vec<HotLoopPair>, Vec<Value>) {
    let mut pairs = Vec::new();
    let mut raw = Vec::new();
    let mut push = |(p, v): (HotLoopPair, Option<Value>)| {
        if let Some(v) = v {
            raw.push(json!({"op": p.op, "dtype": p.dtype, "arch": p.arch, "raptors_variant": p.raptors_variant, "compare": v}));
        }
        pairs.push(p);
    };
    for f in functions {
        if let (Some(np_lib), Some(rp_lib), Some(np)) =
            (&libs.numpy_x86, &libs.raptors_x86, f.numpy_x86.ok())
        {
            let real = f.raptors_x86_real.ok();
            let vg = f.raptors_x86_valgrind.ok();
            if let Some(r) = real {
                push(analysis::loop_pair(
                    asm,
                    log,
                    &f.op,
                    &f.dtype,
                    "x86_64",
                    "real run",
                    (np_lib, np),
                    (rp_lib, r),
                ));
            }
            if let Some(v) = vg.filter(|v| real.is_none_or(|r| r.symbol != v.symbol)) {
                push(analysis::loop_pair(
                    asm,
                    log,
                    &f.op,
                    &f.dtype,
                    "x86_64",
                    "AVX2 (valgrind)",
                    (np_lib, np),
                    (rp_lib, v),
                ));
            }
        }
        if plan.aarch64 {
            if let (Some(np_lib), Some(rp_lib), Some(np), Some(rp)) = (
                &libs.numpy_arm,
                &libs.raptors_arm,
                f.numpy_aarch64.ok(),
                f.raptors_aarch64.ok(),
            ) {
                push(analysis::loop_pair(
                    asm,
                    log,
                    &f.op,
                    &f.dtype,
                    "aarch64",
                    "NEON",
                    (np_lib, np),
                    (rp_lib, rp),
                ));
            }
        }
    }
    (pairs, raw)
}

fn run_timings(
    log: &StepLog,
    bench: &Path,
    python: &Path,
    plan: &Plan,
    tmp: &Path,
    art: &mut Artifacts,
) -> Result<Timings> {
    let work = tmp.join(".timings");
    fs::create_dir_all(&work)?;
    let mut c = Command::new(bench);
    c.current_dir(setup::project_root())
        .arg("compare")
        .arg("--python")
        .arg(python)
        .args([
            "--ops",
            &plan.ops.join(","),
            "--dtypes",
            &plan.dtypes.join(","),
        ])
        .args(["--name", "timings", "--plot", "--out-dir"])
        .arg(&work);
    if plan.quick {
        c.arg("--quick");
    }
    log.run(&mut c)?;
    let json_text = fs::read_to_string(work.join("timings.json"))
        .context("raptors-bench wrote no timings.json")?;
    let v: Value = serde_json::from_str(&json_text)?;
    let mut t = adapters::timings(&v)?;
    art.put("timings.json", Content::Json(v));
    if let Ok(md) = fs::read_to_string(work.join("timings.md")) {
        art.put("timings.md", Content::Markdown(md));
    }
    match fs::read(work.join("timings.png")) {
        Ok(png) => {
            art.put("timings.png", Content::Png(png));
            t.plots.push("timings.png".into());
        }
        Err(e) => log.note(&format!("no timings plot: {e}")),
    }
    fs::remove_dir_all(&work).ok();
    Ok(t)
}

fn run_counters(
    log: &StepLog,
    bench: &Path,
    python: &Path,
    plan: &Plan,
    tmp: &Path,
    art: &mut Artifacts,
) -> Result<super::model::Counters> {
    let out = tmp.join(".counters.json");
    let mut c = Command::new(bench);
    c.current_dir(setup::project_root())
        .arg("counters")
        .arg("--python")
        .arg(python)
        .arg("--out")
        .arg(&out)
        .args(["--dtype", &plan.dtypes[0]]);
    if plan.quick {
        // A smaller set keeps --quick under two minutes; the full run counts every op.
        let quick_ops: Vec<&str> = plan
            .ops
            .iter()
            .map(String::as_str)
            .filter(|o| matches!(*o, "sum" | "mean_axis0" | "add"))
            .collect();
        let ops = if quick_ops.is_empty() {
            plan.ops[..1].join(",")
        } else {
            quick_ops.join(",")
        };
        // The valgrind fallback costs ~100 s; quick runs rely on the callgrind instruction counts
        // of the hot-function step instead (README: executed instructions).
        c.args(["--ops", &ops, "--perf-iters", "50", "--valgrind", "never"]);
    } else {
        c.args(["--ops", &plan.ops.join(",")]);
    }
    log.run(&mut c)?;
    let v: Value = serde_json::from_str(
        &fs::read_to_string(&out).context("raptors-bench wrote no counters file")?,
    )?;
    fs::remove_file(&out).ok();
    let mut counters = adapters::counters(&v)?;
    if plan.quick {
        counters.fallback = Some(format!(
            "quick mode runs no valgrind fallback in raptors-bench counters ({}); instruction counts \
             come from the callgrind step instead (\"Executed instructions per element\")",
            counters.fallback.as_deref().unwrap_or("none")
        ));
    }
    art.put("counters.json", Content::Json(v));
    Ok(counters)
}

fn final_provenance(
    plan: &Plan,
    libs: &Libs,
    asm: &Option<Asm>,
    bench: &Option<PathBuf>,
    python: &Path,
) -> Provenance {
    let mut tools = BTreeMap::new();
    let v = provenance::tool_version;
    tools.insert(
        "cargo".into(),
        v(
            &std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
            &["--version"],
        ),
    );
    tools.insert("rustc".into(), v("rustc", &["--version"]));
    tools.insert(
        "python".into(),
        v(&python.display().to_string(), &["--version"]),
    );
    tools.insert(
        "numpy".into(),
        v(
            &python.display().to_string(),
            &["-c", "import numpy; print(numpy.__version__)"],
        ),
    );
    tools.insert("valgrind".into(), v("valgrind", &["--version"]));
    tools.insert("perf".into(), v("perf", &["--version"]));
    if plan.aarch64 {
        tools.insert(
            "rustc (aarch64 cross)".into(),
            v("/usr/bin/rustc", &["--version"]),
        );
    }
    if let Some(a) = asm {
        tools.insert(
            "raptors-asm".into(),
            v(&a.bin.display().to_string(), &["--version"]),
        );
    }
    if let Some(b) = bench {
        tools.insert(
            "raptors-bench".into(),
            v(&b.display().to_string(), &["--version"]),
        );
    }
    let mut libraries = Vec::new();
    for (role, lib) in [
        ("numpy x86_64 _multiarray_umath", &libs.numpy_x86),
        ("raptors x86_64 extension", &libs.raptors_x86),
        ("numpy aarch64 _multiarray_umath (wheel)", &libs.numpy_arm),
        (
            "raptors-kernels aarch64 cdylib (cross-built)",
            &libs.raptors_arm,
        ),
    ] {
        if let Some(p) = lib {
            match library_info(role, p) {
                Ok(info) => libraries.push(info),
                Err(e) => libraries.push(provenance::LibraryInfo {
                    role: role.into(),
                    path: p.display().to_string(),
                    sha256: format!("unreadable: {e:#}"),
                    bytes: 0,
                }),
            }
        }
    }
    Provenance {
        generated_by: plan.command.clone(),
        date: provenance::utc_now(),
        machine_tag: provenance::machine_tag(),
        git_commit: git_commit(),
        tools,
        libraries,
    }
}

fn git_commit() -> String {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(setup::project_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(c) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if std::env::var_os("RAPTORS_PROFILE_CONTAINER").is_some() {
                // .dockerignore leaves tracked files out of the image, so `git status` would
                // always report changes there.
                format!("{c} (container build context)")
            } else if dirty {
                format!("{c} (with uncommitted changes)")
            } else {
                c
            }
        }
        None => "unknown (not a git checkout)".into(),
    }
}
