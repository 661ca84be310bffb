//! The profile's steps in order. Each step records its outcome; later steps that need an earlier
//! step's output are recorded as skipped with the reason. Artifacts are collected in memory and
//! written at the end with the final provenance (libraries and their hashes are known by then).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::analysis::{self, add_target, Asm, Target};
use super::callgrind::{self, OpHot};
use super::model::{Artifact, Avail, Environment, HotLoopPair, OpFunctions, ReportInput, Timings};
use super::probes;
use super::provenance::{self, library_info, Provenance};
use super::report;
use super::runlog::{Outcome, StepLog};
use super::symbols::{self, Chosen, Method, Sym};
use super::{adapters, Plan};
use crate::setup::{self, SystemNeeds};

pub struct RunOutcome {
    pub report: ReportInput,
    pub failed: Vec<String>,
}

/// Artifact contents, written at the end with provenance in the right form.
enum Content {
    Text(String),
    Markdown(String),
    Json(Value),
    Png(Vec<u8>),
}

#[derive(Default)]
struct Artifacts {
    /// ISA summary rows gathered from the simd outputs, for the report.
    isa: Vec<super::model::IsaRow>,
    files: BTreeMap<String, Content>,
    /// Expected files that could not be produced, with the reason.
    missing: BTreeMap<String, String>,
}

impl Artifacts {
    fn put(&mut self, name: &str, c: Content) {
        self.missing.remove(name);
        self.files.insert(name.to_string(), c);
    }
    fn expect(&mut self, names: &[&str], reason: &str) {
        for n in names {
            if !self.files.contains_key(*n) {
                self.missing
                    .entry(n.to_string())
                    .or_insert_with(|| reason.to_string());
            }
        }
    }
}

/// Libraries analysed, per side.
#[derive(Default)]
struct Libs {
    numpy_x86: Option<PathBuf>,
    raptors_x86: Option<PathBuf>,
    numpy_arm: Option<PathBuf>,
    raptors_arm: Option<PathBuf>,
}

fn need<'a, T>(v: &'a Option<T>, what: &str) -> Result<&'a T> {
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
            let (found, level, errors) = run_callgrind(&log, &python, plan, np, rp)?;
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
            functions = choose_x86(plan, &hot, np, rp, level);
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
                x86_artifacts(&log, asm, &libs, &functions, &mut art)
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
            choose_aarch64(&mut functions, &arm_syms.0, &arm_syms.1, &libs);
            aarch64_artifacts(&log, asm, &libs, &functions, &mut art)
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
        executed: executed_ir(&hot, plan),
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

    write_artifacts(tmp, &prov, &art)?;
    // profile.log: provenance header, then every step as it happened.
    let body = fs::read_to_string(&partial).unwrap_or_default();
    fs::write(
        tmp.join("profile.log"),
        format!("{}{body}", prov.text_header()),
    )?;
    fs::remove_file(&partial).ok();

    input.steps = log.records();
    input.artifacts = list_artifacts(tmp)?;
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

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(setup::project_root());
    setup::pyo3_env(&mut c);
    c
}

fn build_tools(log: &StepLog) -> Result<(PathBuf, PathBuf)> {
    log.run(cargo().args([
        "build",
        "--release",
        "-p",
        "raptors-asm",
        "-p",
        "raptors-bench",
    ]))?;
    let dir = probes::target_dir().join("release");
    let (a, b) = (dir.join("raptors-asm"), dir.join("raptors-bench"));
    for p in [&a, &b] {
        if !p.is_file() {
            bail!("the build succeeded but {} is missing", p.display());
        }
    }
    Ok((a, b))
}

/// One valgrind process per dtype, both at once (2 cores); returns the per-op attribution, the
/// Raptors level the driver reported, and per-dtype failures.
fn run_callgrind(
    log: &StepLog,
    python: &Path,
    plan: &Plan,
    numpy: &Path,
    raptors: &Path,
) -> Result<(Vec<OpHot>, Option<String>, Vec<String>)> {
    let work = probes::cache_dir().join(format!("callgrind-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    let reps = if plan.quick {
        5
    } else {
        callgrind::CALLGRIND_REPS
    };
    type PerDtype = (String, Result<(Vec<OpHot>, Option<String>)>);
    let results: Vec<PerDtype> = std::thread::scope(|s| {
        let handles: Vec<_> = plan
            .dtypes
            .iter()
            .map(|dtype| {
                let work = work.join(dtype);
                s.spawn(move || {
                    let r = (|| {
                        fs::create_dir_all(&work)?;
                        let script = work.join("driver.py");
                        fs::write(
                            &script,
                            callgrind::driver_script(
                                dtype,
                                &plan.ops,
                                callgrind::CALLGRIND_N,
                                reps,
                            )?,
                        )?;
                        let prefix = work.join("callgrind.out");
                        let out =
                            log.run(&mut callgrind::valgrind_command(python, &script, &prefix))?;
                        let (errors, level) = callgrind::parse_driver_output(&out);
                        let dumps = callgrind::read_dumps(&prefix)?;
                        let hot = callgrind::attribute(
                            &dumps, &plan.ops, dtype, numpy, raptors, &errors,
                        )?;
                        Ok((hot, level))
                    })();
                    (dtype.clone(), r)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("callgrind thread panicked"))
            .collect()
    });
    let _ = fs::remove_dir_all(&work);
    let mut hot = Vec::new();
    let mut level = None;
    let mut errors = Vec::new();
    for (dtype, r) in results {
        match r {
            Ok((h, l)) => {
                hot.extend(h);
                level = level.or(l);
            }
            Err(e) => errors.push(format!("{dtype}: {e:#}")),
        }
    }
    Ok((hot, level, errors))
}

/// Picks one side's function: callgrind's if the symbol table has it, else the fallback pattern.
fn pick(
    found: Option<&Result<callgrind::HotFunction, String>>,
    syms: &[Sym],
    patterns: &[String],
    lib: &str,
) -> Avail<Chosen> {
    let why_not = match found {
        Some(Ok(h)) => {
            let copies = symbols::find_all(syms, &h.symbol);
            let evidence = format!(
                "{:.0} % of {lib}'s {} Ir during the op",
                h.share_of_library * 100.0,
                h.library_ir
            );
            match copies.as_slice() {
                [] => format!(
                    "callgrind's hottest `{}` is not in the symbol table",
                    h.symbol
                ),
                [one] => {
                    return Avail::Ok(Chosen {
                        symbol: one.name.clone(),
                        address: None,
                        method: Method::Callgrind,
                        evidence,
                    })
                }
                many => {
                    // Same-named local functions: the executed entry address says which ran.
                    let bias = symbols::load_bias(&h.anchors, syms);
                    match (h.address, bias) {
                        (Some(rt), Some(b)) => match symbols::by_address(syms, &h.symbol, rt, b) {
                            Some(s) => {
                                return Avail::Ok(Chosen {
                                    symbol: s.name.clone(),
                                    address: Some(s.address),
                                    method: Method::Callgrind,
                                    evidence: format!(
                                        "{evidence}; {} functions share this name, the one at {:#x} ran",
                                        many.len(),
                                        s.address
                                    ),
                                })
                            }
                            None => format!(
                                "callgrind's hottest `{}` ran at {rt:#x}, which matches none of its {} copies",
                                h.symbol,
                                many.len()
                            ),
                        },
                        _ => format!(
                            "callgrind's hottest `{}` has {} same-named copies and no address to tell them apart",
                            h.symbol,
                            many.len()
                        ),
                    }
                }
            }
        }
        Some(Err(e)) => format!("callgrind: {e}"),
        None => "callgrind did not run for this op".to_string(),
    };
    match symbols::by_patterns(syms, patterns) {
        Some(mut c) => {
            c.evidence = format!("{}; {why_not}", c.evidence);
            Avail::Ok(c)
        }
        None => Avail::missing(format!(
            "{why_not}; no fallback pattern matched ({})",
            patterns.join(" | ")
        )),
    }
}

fn choose_x86(
    plan: &Plan,
    hot: &[OpHot],
    np: &[Sym],
    rp: &[Sym],
    real_level: &str,
) -> Vec<OpFunctions> {
    let mut out = Vec::new();
    for dtype in &plan.dtypes {
        for op in &plan.ops {
            let h = hot.iter().find(|h| &h.op == op && &h.dtype == dtype);
            let numpy = pick(
                h.map(|h| &h.numpy),
                np,
                &symbols::fallback_patterns(op, dtype, true),
                "NumPy",
            );
            let raptors = pick(
                h.map(|h| &h.raptors),
                rp,
                &symbols::fallback_patterns(op, dtype, false),
                "Raptors",
            );
            let variants = numpy
                .ok()
                .map(|c| symbols::numpy_x86_variants(np, &c.symbol))
                .unwrap_or_default();
            let real = match (&raptors, real_level) {
                (Avail::Ok(c), "avx512") => symbols::avx512_twin(rp, &c.symbol)
                    .map(Avail::Ok)
                    .unwrap_or_else(|| {
                        Avail::missing(format!(
                            "no AVX-512 function named like `{}` in the module",
                            symbols::normalize(&c.symbol)
                        ))
                    }),
                (Avail::Ok(c), _) => Avail::Ok(c.clone()),
                (Avail::Missing(why), _) => {
                    Avail::missing(format!("no AVX2 function to map from ({why})"))
                }
            };
            out.push(OpFunctions {
                op: op.clone(),
                dtype: dtype.clone(),
                numpy_x86: numpy,
                numpy_x86_variants: variants,
                raptors_x86_valgrind: raptors,
                raptors_x86_real: real,
                numpy_aarch64: Avail::missing("aarch64 analysis not run"),
                raptors_aarch64: Avail::missing("aarch64 analysis not run"),
            });
        }
    }
    out
}

/// Ir per element inside each module, from the callgrind attribution.
fn executed_ir(hot: &[OpHot], plan: &Plan) -> Vec<super::model::ExecutedIr> {
    let elements = (callgrind_reps(plan) * callgrind::CALLGRIND_N * callgrind::CALLGRIND_N) as u64;
    hot.iter()
        .map(|h| super::model::ExecutedIr {
            op: h.op.clone(),
            dtype: h.dtype.clone(),
            elements,
            numpy_ir_per_element: h
                .numpy
                .as_ref()
                .ok()
                .map(|f| f.library_ir as f64 / elements as f64),
            raptors_ir_per_element: h
                .raptors
                .as_ref()
                .ok()
                .map(|f| f.library_ir as f64 / elements as f64),
        })
        .collect()
}

fn callgrind_reps(plan: &Plan) -> usize {
    if plan.quick {
        5
    } else {
        callgrind::CALLGRIND_REPS
    }
}

fn choose_aarch64(
    functions: &mut [OpFunctions],
    np: &Option<Vec<Sym>>,
    rp: &Option<Vec<Sym>>,
    libs: &Libs,
) {
    for f in functions.iter_mut() {
        f.numpy_aarch64 = match (np, f.numpy_x86.ok()) {
            (None, _) => Avail::missing(if libs.numpy_arm.is_none() {
                "NumPy's aarch64 module is not available"
            } else {
                "its symbols could not be read"
            }),
            (_, None) => Avail::missing("no x86-64 NumPy function to map from"),
            (Some(s), Some(c)) => symbols::numpy_aarch64(s, &c.symbol)
                .map(Avail::Ok)
                .unwrap_or_else(|| {
                    Avail::missing(format!(
                        "no `{}` variant in the aarch64 module",
                        symbols::strip_isa_suffix(&c.symbol)
                    ))
                }),
        };
        f.raptors_aarch64 = match (rp, f.raptors_x86_valgrind.ok()) {
            (None, _) => Avail::missing(if libs.raptors_arm.is_none() {
                "the aarch64 Raptors library was not built"
            } else {
                "its symbols could not be read"
            }),
            (_, None) => Avail::missing("no x86-64 Raptors function to map from"),
            (Some(s), Some(c)) => symbols::neon_twin(s, &c.symbol)
                .map(Avail::Ok)
                .unwrap_or_else(|| {
                    Avail::missing(format!(
                        "no NEON function named like `{}`",
                        symbols::normalize(&c.symbol)
                    ))
                }),
        };
    }
}

fn why(f: &OpFunctions, c: &Chosen) -> String {
    format!(
        "{} {}: {} — {}",
        f.op,
        f.dtype,
        c.method.label(),
        c.evidence
    )
}

fn x86_artifacts(
    log: &StepLog,
    asm: &Asm,
    libs: &Libs,
    functions: &[OpFunctions],
    art: &mut Artifacts,
) -> Result<()> {
    let (np_lib, rp_lib) = (
        need(&libs.numpy_x86, "NumPy's module")?,
        need(&libs.raptors_x86, "Raptors's module")?,
    );
    let (mut np, mut rp): (Vec<Target>, Vec<Target>) = (Vec::new(), Vec::new());
    for f in functions {
        if let Avail::Ok(c) = &f.numpy_x86 {
            add_target(&mut np, &c.symbol, why(f, c));
            // Higher dispatch variants the real (non-valgrind) run may pick on an AVX-512 CPU.
            for v in f
                .numpy_x86_variants
                .iter()
                .filter(|v| v.contains("AVX512") || v.contains("X86_V4"))
            {
                add_target(
                    &mut np,
                    v,
                    format!(
                        "{} {}: AVX-512 dispatch variant of `{}`",
                        f.op, f.dtype, c.symbol
                    ),
                );
            }
        }
        if let Avail::Ok(c) = &f.raptors_x86_valgrind {
            add_target(&mut rp, &c.symbol, why(f, c));
        }
        if let Avail::Ok(c) = &f.raptors_x86_real {
            add_target(
                &mut rp,
                &c.symbol,
                format!("{} (real run on this CPU)", why(f, c)),
            );
        }
    }
    for (side, lib, targets) in [("numpy", np_lib, &np), ("raptors", rp_lib, &rp)] {
        if targets.is_empty() {
            bail!("no {side} function was chosen for any op");
        }
        let names = analysis::names(targets);
        let title = format!("# {side}: functions that run the profiled ops (x86-64)");
        let text = asm.disasm(log, lib, &names)?;
        art.put(
            &format!("{side}_asm.txt"),
            Content::Text(format!("{}{text}", analysis::index(targets, lib, &title))),
        );
        let (stext, sjson) = asm.simd(log, lib, &names)?;
        art.isa
            .extend(adapters::isa_rows(&sjson, side_label(side), "x86_64"));
        art.put(
            &format!("{side}_simd.txt"),
            Content::Text(format!("{}{stext}", analysis::index(targets, lib, &title))),
        );
        art.put(
            &format!("{side}_simd.json"),
            Content::Json(
                json!({"library": lib, "functions_by_op": targets_json(targets), "simd": sjson}),
            ),
        );
    }
    Ok(())
}

fn side_label(side: &str) -> &'static str {
    if side == "numpy" {
        "NumPy"
    } else {
        "Raptors"
    }
}

fn targets_json(targets: &[Target]) -> Value {
    Value::Array(
        targets
            .iter()
            .map(|t| json!({"symbol": t.symbol, "ops": t.why}))
            .collect(),
    )
}

fn aarch64_artifacts(
    log: &StepLog,
    asm: &Asm,
    libs: &Libs,
    functions: &[OpFunctions],
    art: &mut Artifacts,
) -> Result<()> {
    let mut errors = Vec::new();
    for (side, lib) in [("numpy", &libs.numpy_arm), ("raptors", &libs.raptors_arm)] {
        let Some(lib) = lib else { continue };
        let mut targets = Vec::new();
        for f in functions {
            let c = if side == "numpy" {
                &f.numpy_aarch64
            } else {
                &f.raptors_aarch64
            };
            if let Avail::Ok(c) = c {
                add_target(&mut targets, &c.symbol, why(f, c));
            }
        }
        if targets.is_empty() {
            errors.push(format!("no {side} aarch64 function could be mapped"));
            continue;
        }
        let names = analysis::names(&targets);
        let title = format!("# {side}: aarch64 functions for the profiled ops (A64/NEON)");
        let (stext, sjson) = asm.simd(log, lib, &names)?;
        art.isa
            .extend(adapters::isa_rows(&sjson, side_label(side), "aarch64"));
        let dis = asm.disasm(log, lib, &names)?;
        art.put(
            &format!("{side}_neon.txt"),
            Content::Text(format!(
                "{}{stext}\n# disassembly\n\n{dis}",
                analysis::index(&targets, lib, &title)
            )),
        );
        art.put(
            &format!("{side}_neon.json"),
            Content::Json(
                json!({"library": lib, "functions_by_op": targets_json(&targets), "simd": sjson}),
            ),
        );
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("; "));
    }
    Ok(())
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

fn write_artifacts(dir: &Path, prov: &Provenance, art: &Artifacts) -> Result<()> {
    for (name, content) in &art.files {
        let path = dir.join(name);
        match content {
            Content::Text(t) => fs::write(&path, format!("{}{t}", prov.text_header()))?,
            Content::Markdown(t) => fs::write(&path, format!("{}{t}", prov.markdown_header()))?,
            Content::Json(v) => fs::write(&path, prov.render_json(v.clone()))?,
            Content::Png(bytes) => {
                let text = prov.text_header();
                fs::write(
                    &path,
                    provenance::png_with_text(bytes, "provenance", &text)?,
                )?
            }
        }
    }
    for (name, reason) in &art.missing {
        let path = dir.join(name);
        let note = format!("NOT AVAILABLE in this run: {reason}\n");
        if name.ends_with(".json") {
            fs::write(&path, prov.render_json(json!({"error": note.trim_end()})))?;
        } else if name.ends_with(".md") {
            fs::write(&path, format!("{}{note}", prov.markdown_header()))?;
        } else {
            fs::write(&path, format!("{}{note}", prov.text_header()))?;
        }
    }
    Ok(())
}

fn list_artifacts(dir: &Path) -> Result<Vec<Artifact>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !e.file_type()?.is_file() {
            continue;
        }
        out.push(Artifact {
            name,
            bytes: e.metadata()?.len(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
