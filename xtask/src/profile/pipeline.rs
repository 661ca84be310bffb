//! The profile's steps in order. Each step records its outcome; a step that needs what an earlier
//! one did not produce is recorded as skipped with the reason. Artifacts are collected in memory
//! and written at the end with the final provenance.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use raptors_asm::compare::{bodies_side_by_side, compare_text, side_at, Comparison, Side};
use raptors_asm::disasm::{disassemble_functions, TextOptions};
use raptors_asm::simd::{simd_report, simd_text};
use raptors_asm::twin::IsaLevel;
use raptors_bench::callgrind::{self, CallgrindOptions, CallgrindRun};
use raptors_bench::collect::{self, CountersOptions, ValgrindMode};
use raptors_bench::compare::{self, CompareOptions};
use raptors_bench::machine::{self, simd_levels};
use raptors_bench::ops::table;
use raptors_bench::provenance::{tool_version, Content, LibraryInfo, Provenance};
use raptors_bench::sampling::{self, Samples, SamplingError};
use serde_json::json;

use super::artifacts::{self, Artifacts};
use super::functions::{
    self, ArchPicks, Executed, ExecutedLoop, Measured, OpPicks, Picked, SidePicks, EMULATED,
};
use super::inputs::{self, Lib};
use super::report::{self, IsaRow, LoopPair, ReportInput};
use super::Plan;
use crate::cross::Arch;
use crate::setup::{self, SystemNeeds};
use crate::steps::{need, StepRecord, Steps, Unavailable};

type SampleMap = BTreeMap<(String, String), Result<Samples, SamplingError>>;

/// Runs every step into `tmp`; returns the step records.
pub fn profile_into(tmp: &Path, plan: &Plan) -> Result<Vec<StepRecord>> {
    let (host, other) = (plan.host, plan.static_arch());
    let log_path = tmp.join(".profile.log");
    let steps = Steps::logged(&log_path, &format!("# {}\n", plan.command))?;
    let mut art = Artifacts::default();
    let python = setup::venv_python();

    // ---- set-up, environment, the measured side's libraries ------------------------------------
    let _ = steps.step(
        "set-up: system packages (valgrind, perf, cross toolchain)",
        || {
            setup::ensure_system_packages(SystemNeeds {
                host_tools: true,
                cross: other.is_some(),
            })
        },
    );
    let build = "build the raptors module (maturin, release)";
    match steps.step("set-up: Python .venv", setup::ensure_venv) {
        Ok(()) if steps.step(build, setup::build_python_module).is_err() => {
            steps.note("later steps use the previously installed raptors build, if any")
        }
        Ok(()) => {}
        Err(_) => steps.skip(build, "the .venv set-up failed"),
    }
    let env = steps.step(
        "environment: CPU, emulation, NumPy dispatch, Raptors levels",
        || {
            let (raw, env) = machine::probe(&python, None)?;
            art.put("environment.json", Content::Json(raw));
            Ok(env)
        },
    );
    let emulation = env
        .as_ref()
        .map_or_else(|_| machine::emulation(), |e| e.emulation.clone());
    let measured = steps
        .step(
            &format!("{host}: locate the extension modules (raptors-asm locate)"),
            || {
                Ok([
                    Lib::locate("numpy._core._multiarray_umath", &python)?,
                    Lib::locate("raptors", &python)?,
                ])
            },
        )
        .ok();

    // ---- what runs: callgrind and perf sampling ---------------------------------------------------
    let mut cg: Option<CallgrindRun> = None;
    let cg_done = steps.step(
        &format!("{host}: callgrind — what each op executes under valgrind"),
        || {
            if let Some(e) = &emulation {
                bail!(Unavailable(format!(
                    "valgrind cannot run under qemu-user emulation ({})",
                    e.describe()
                )));
            }
            let [np, rp] = need(&measured, "the located extension modules")?;
            let mut o = CallgrindOptions::new(&python);
            (o.ops, o.dtypes) = (plan.ops.clone(), plan.dtypes.clone());
            o.reps = if plan.quick {
                5
            } else {
                callgrind::DEFAULT_REPS
            };
            (o.numpy_lib, o.raptors_lib) = (Some(np.path.clone()), Some(rp.path.clone()));
            let run = cg.insert(callgrind::run(&o)?);
            match run.errors() {
                e if e.is_empty() => Ok(()),
                e => bail!("{}", e.join("; ")),
            }
        },
    );
    let cg = cg.ok_or(cg_done.err().unwrap_or_default());
    let samples: Result<SampleMap, String> = steps.step(
        &format!("{host}: perf sampling — the real run's hot functions (cpu-clock)"),
        || {
            if emulation.is_some() {
                bail!(Unavailable(format!(
                    "{EMULATED} (perf would sample the emulator's translated code)"
                )));
            }
            need(&measured, "the located extension modules")?;
            let work =
                setup::target_dir().join(format!("profile-cache/perf-{}", std::process::id()));
            let seconds = if plan.quick { 0.15 } else { 0.3 };
            let fallback =
                "real-run functions are the ISA twins of callgrind's at this machine's level";
            let map = sampling::sample_ops(&python, &plan.cells(), 512, seconds, &work)
                .map_err(|e| Unavailable(format!("{e}: {fallback}")))?;
            let failed: Vec<String> = map
                .iter()
                .filter_map(|((o, d), r)| Some(format!("{o} {d}: {}", r.as_ref().err()?)))
                .collect();
            if !failed.is_empty() {
                steps.note(&format!("perf sampling failed for {}", failed.join("; ")));
            }
            Ok(map)
        },
    );

    // ---- the static side's libraries -------------------------------------------------------------
    let (mut numpy_other, mut raptors_other) = (None, None);
    if let Some(o) = other {
        let wheel = format!("{o}: NumPy's wheel module (pip download, cached in target/)");
        numpy_other = steps
            .step(&wheel, || inputs::numpy_wheel_module(&steps, &python, o))
            .ok();
        let cross = format!("{o}: cross-build the Raptors kernels cdylib");
        raptors_other = steps.step(&cross, || inputs::cross_kernels(&steps, o)).ok();
    }
    let static_libs = [numpy_other.as_ref(), raptors_other.as_ref()];

    // ---- choose the functions, disassemble them, compare their loops ------------------------------
    let picks: Vec<OpPicks> = steps
        .step(
            "choose the functions that run each op (raptors-asm choose, twin)",
            || {
                let libs = need(&measured, "the located extension modules")?;
                let ev = Evidence {
                    cg: &cg,
                    samples: &samples,
                    env: env.as_ref().ok(),
                    emulated: emulation.is_some(),
                };
                Ok(plan
                    .cells()
                    .iter()
                    .map(|(op, dtype)| choose_op(op, dtype, plan, libs, static_libs, &ev))
                    .collect())
            },
        )
        .unwrap_or_default();
    let mut isa: Vec<IsaRow> = Vec::new();
    let lib_pair = |arch: Arch| match (arch == host, &measured) {
        (true, Some([n, r])) => [Some(n), Some(r)],
        (true, None) => [None, None],
        (false, _) => static_libs,
    };
    for &arch in &plan.archs {
        let step = format!("{arch}: disassembly and SIMD counts of those functions");
        if let Err(why) = steps.step(&step, || {
            disassemble(arch, lib_pair(arch), &picks, &mut art, &mut isa)
        }) {
            art.expect(
                &artifact_names(arch),
                &format!("the {arch} disassembly step did not succeed: {why}"),
            );
        }
    }
    // Rows of a failed check stay in the report (the step fails visibly, nothing is lost).
    let executed_rows = std::cell::RefCell::new(None::<Vec<ExecutedLoop>>);
    let loops: Vec<LoopPair> = steps
        .step("hot loops side by side (raptors-asm compare)", || {
            let pairs: Vec<LoopPair> = picks
                .iter()
                .flat_map(|p| p.archs.iter().map(move |a| (p, a)))
                .filter(|(_, a)| plan.archs.iter().any(|x| x.name() == a.arch))
                .flat_map(|(p, a)| {
                    let libs = lib_pair(if a.arch == host.name() {
                        host
                    } else {
                        host.other()
                    });
                    loop_pairs(p, a, libs)
                })
                .collect();
            match pairs.is_empty() {
                true => bail!("no op had functions on both sides to compare"),
                false => Ok(pairs),
            }
        })
        .unwrap_or_default();

    let executed_loops: Vec<ExecutedLoop> = steps
        .step(
            &format!("{host}: hot loops by execution (callgrind counts; static ≤ measured check)"),
            || {
                let cg = cg
                    .as_ref()
                    .map_err(|e| anyhow::anyhow!("no callgrind run: {e}"))?;
                let rows = executed_loops(&picks, cg, lib_pair(host), host);
                if rows.is_empty() {
                    bail!("no op had a function with execution counts");
                }
                let failed: Vec<String> = rows
                    .iter()
                    .filter(|r| r.passed == Some(false))
                    .map(|r| format!("{} {} {}: {}", r.op, r.dtype, r.library, r.check))
                    .collect();
                match failed.is_empty() {
                    true => Ok(rows),
                    false => {
                        executed_rows.replace(Some(rows));
                        bail!(
                            "{} loop check(s) failed: {}",
                            failed.len(),
                            failed.join("; ")
                        )
                    }
                }
            },
        )
        .unwrap_or_else(|_| executed_rows.take().unwrap_or_default());

    // ---- timings and counters ------------------------------------------------------------------
    let timings = steps.step(
        "timings: raptors-bench compare (paired, interleaved)",
        || {
            let mut o = CompareOptions::new(python.clone(), plan.quick);
            (o.runner.ops, o.runner.dtypes) = (plan.ops.clone(), plan.dtypes.clone());
            (o.out_dir, o.name, o.plot) = (tmp.join(".timings"), Some("timings".into()), true);
            let out = compare::run(&o)?;
            art.put(
                "timings.json",
                Content::Json(serde_json::to_value(&out.results)?),
            );
            art.put(
                "timings.md",
                Content::Markdown(fs::read_to_string(&out.md_path)?),
            );
            match &out.png {
                Ok(png) => art.put("timings.png", Content::Png(fs::read(png)?)),
                Err(e) => steps.note(&format!("no timings plot: {e}")),
            }
            let _ = fs::remove_dir_all(&o.out_dir);
            match &out.results.runner_error {
                Some(e) => bail!(
                    "the runner failed part-way (the cells it measured are in timings.json): {e}"
                ),
                None => Ok(out.results),
            }
        },
    );
    let counters = steps.step("counters: perf stat, else valgrind cachegrind (raptors-bench counters)", || {
        // Quick runs count three ops briefly and skip the ~100 s valgrind fallback: the callgrind
        // step's instruction counts stand in ("Executed instructions per element").
        let quick = ["sum", "mean_axis0", "add"].map(String::from);
        let mut ops: Vec<String> = plan.ops.iter().filter(|o| !plan.quick || quick.contains(o)).cloned().collect();
        if ops.is_empty() {
            ops = plan.ops[..1].to_vec();
        }
        let valgrind = if plan.quick || emulation.is_some() { ValgrindMode::Never } else { ValgrindMode::Auto };
        let (python, dtype, perf_iters) = (python.clone(), plan.dtypes[0].clone(), if plan.quick { 50 } else { 2000 });
        let o = CountersOptions { python, pythonpath: None, ops, dtype, size: 512, perf_iters, valgrind_iters: 10, valgrind, valgrind_level: None, jobs: 2 };
        let rep = collect::run_counters(&o)?;
        art.put("counters.json", Content::Json(serde_json::to_value(&rep)?));
        let text = collect::summary(&rep);
        let mut text = text.split("perf stat, per call:").next().unwrap_or("").trim().to_string();
        if valgrind == ValgrindMode::Never {
            text.push_str(match emulation {
                Some(_) => "\n(valgrind cannot run under qemu-user emulation)",
                None => "\n(quick: no valgrind fallback; the callgrind step's counts stand in: \"Executed instructions per element\")",
            });
        }
        Ok(text)
    });

    // ---- provenance and report -------------------------------------------------------------------
    let mut prov = Provenance::new(&plan.command);
    let (py, cargo) = (
        python.display().to_string(),
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
    );
    let tools: [(&str, &str, &[&str]); 7] = [
        ("cargo", &cargo, &["--version"]),
        ("rustc", "rustc", &["--version"]),
        ("python", &py, &["--version"]),
        (
            "numpy",
            &py,
            &["-c", "import numpy; print(numpy.__version__)"],
        ),
        ("valgrind", "valgrind", &["--version"]),
        ("perf", "perf", &["--version"]),
        (
            "rustc (Debian's, cross builds)",
            "/usr/bin/rustc",
            &["--version"],
        ),
    ];
    for (tool, program, args) in tools {
        prov.tools.insert(tool.into(), tool_version(program, args));
    }
    for arch in std::iter::once(host).chain(other) {
        let how = if arch == host { "measured" } else { "static" };
        for (role, lib) in ["numpy _multiarray_umath", "raptors"]
            .into_iter()
            .zip(lib_pair(arch))
        {
            if let Some(l) = lib {
                prov.libraries
                    .push(LibraryInfo::of(&format!("{role} {arch} ({how})"), &l.path));
            }
        }
    }
    let executed = |r: &CallgrindRun| -> Vec<Executed> {
        let row = |p: &callgrind::OpProfile| {
            let (numpy, raptors) = p.ir_per_element();
            Executed {
                op: p.op.clone(),
                dtype: p.dtype.clone(),
                numpy,
                raptors,
            }
        };
        r.profiles.iter().map(row).collect()
    };
    let mut input = ReportInput {
        provenance: prov.clone(),
        quick: plan.quick,
        command: plan.command.clone(),
        in_container: std::env::var_os("RAPTORS_PROFILE_CONTAINER").is_some(),
        host: host.name().into(),
        archs: plan
            .archs
            .iter()
            .map(|a| (a.name().to_string(), *a == host))
            .collect(),
        steps: Vec::new(),
        environment: env,
        valgrind: cg.as_ref().map(|r| r.level.clone()).map_err(String::clone),
        sampling: samples.as_ref().map(|_| ()).map_err(String::clone),
        executed: cg.as_ref().map(executed).unwrap_or_default(),
        isa,
        functions: picks,
        loops,
        executed_loops,
        timings,
        counters,
        artifacts: Vec::new(),
    };
    let loops_json = json!({"functions": input.functions, "loops": input.loops,
        "executed": input.executed, "executed_loops": input.executed_loops});
    art.put("hot_loops.json", Content::Json(loops_json));
    art.put(
        "hot_loops.md",
        Content::Markdown(report::hot_loops_md(&input)),
    );
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
    art.write(tmp, &prov)?;
    let log = fs::read_to_string(&log_path).unwrap_or_default();
    fs::write(
        tmp.join("profile.log"),
        format!("{}{log}", prov.text_header()),
    )?;
    fs::remove_file(&log_path)?;
    input.steps = steps.records();
    for name in ["findings.md", "report.json"] {
        fs::write(tmp.join(name), "")?;
    }
    input.artifacts = artifacts::list(tmp)?;
    let mut report_json = serde_json::to_value(&input)?;
    // Its provenance is the header every artifact gets.
    report_json.as_object_mut().map(|o| o.remove("provenance"));
    prov.write(&tmp.join("report.json"), &Content::Json(report_json))?;
    prov.write(
        &tmp.join("findings.md"),
        &Content::Markdown(report::findings_md(&input)),
    )?;
    input.artifacts.push(("README.md".into(), 0));
    prov.write(
        &tmp.join("README.md"),
        &Content::Markdown(report::readme(&input)),
    )?;
    Ok(input.steps)
}

/// The measured side's evidence.
struct Evidence<'a> {
    cg: &'a Result<CallgrindRun, String>,
    samples: &'a Result<SampleMap, String>,
    env: Option<&'a machine::Environment>,
    emulated: bool,
}

/// One op × dtype: the measured architecture's functions, then the static one's.
fn choose_op(
    op: &str,
    dtype: &str,
    plan: &Plan,
    [np, rp]: &[Lib; 2],
    others: [Option<&Lib>; 2],
    ev: &Evidence,
) -> OpPicks {
    let (o, d) = (
        table().op(op).expect("checked by Plan::new"),
        table().dtype(dtype).expect("a known dtype"),
    );
    let profile = ev.cg.as_ref().map_err(String::clone).and_then(|r| {
        r.profile(op, dtype)
            .ok_or_else(|| format!("callgrind has no profile of {op} {dtype}"))
    });
    // Without a run to say so, the host's first valgrind candidate and its best level.
    let host = plan.host.name();
    let vg_level = ev.cg.as_ref().map_or_else(
        |_| raptors_bench::valgrind::candidate_levels(host)[0].to_string(),
        |r| r.level.level.clone(),
    );
    let level_name = ev.env.map_or_else(
        || {
            simd_levels(host)
                .last()
                .copied()
                .unwrap_or("scalar")
                .to_string()
        },
        |e| e.raptors_simd_level.clone(),
    );
    let side = |lib: &Lib, numpy: bool| {
        let cg = profile.clone().and_then(|p| {
            if numpy { &p.numpy } else { &p.raptors }
                .as_ref()
                .map_err(String::clone)
        });
        let sampled = match ev
            .samples
            .as_ref()
            .map(|m| m.get(&(op.into(), dtype.into())))
        {
            _ if ev.emulated => Err(EMULATED.to_string()),
            Ok(Some(Ok(s))) => s
                .object(&lib.path)
                .ok_or_else(|| format!("no perf sample fell in {}", lib.path.display())),
            Ok(Some(Err(e))) => Err(format!("perf sampling failed: {e}")),
            Ok(None) => Err("the op was not sampled".into()),
            Err(why) => Err(why.clone()),
        };
        let patterns = match numpy {
            true => (o.numpy_symbol_patterns(d), o.numpy_symbol_patterns(d)),
            false => (
                o.raptors_symbol_patterns(dtype, &vg_level),
                o.raptors_symbol_patterns(dtype, &level_name),
            ),
        };
        let level = match numpy {
            true => ev
                .env
                .and_then(|e| functions::numpy_level(&e.numpy_simd.found)),
            false => ev.env.and_then(|e| IsaLevel::parse(&e.raptors_simd_level)),
        };
        functions::measured(&Measured {
            lib,
            callgrind: cg,
            samples: sampled,
            patterns,
            level,
        })
    };
    let ((np_vg, np_real), (rp_vg, rp_real)) = (side(np, true), side(rp, false));
    let real = SidePicks {
        numpy: np_real,
        raptors: rp_real,
    };
    let valgrind = ev.cg.is_ok().then_some(SidePicks {
        numpy: np_vg,
        raptors: rp_vg,
    });
    let mut archs = vec![ArchPicks {
        arch: plan.host.name().into(),
        measured: true,
        real,
        valgrind,
    }];
    if let Some(other) = plan.static_arch() {
        let best = simd_levels(other.name())
            .last()
            .copied()
            .unwrap_or("scalar");
        let from = &archs[0].real;
        let missing = |what: &str| format!("{what} {other} library is not available (see Status)");
        let np = others[0].ok_or_else(|| missing("NumPy's"));
        let numpy = functions::mapped_statically(np, &from.numpy, &o.numpy_symbol_patterns(d));
        let rp = others[1].ok_or_else(|| missing("the Raptors"));
        let raptors = functions::mapped_statically(
            rp,
            &from.raptors,
            &o.raptors_symbol_patterns(dtype, best),
        );
        archs.push(ArchPicks {
            arch: other.name().into(),
            measured: false,
            real: SidePicks { numpy, raptors },
            valgrind: None,
        });
    }
    OpPicks {
        op: op.into(),
        dtype: dtype.into(),
        archs,
    }
}

/// x86-64: `*_asm.txt`, `*_simd.{txt,json}`; aarch64: `*_neon.{txt,json}` (SIMD counts and disassembly).
pub(super) fn artifact_names(arch: Arch) -> Vec<&'static str> {
    match arch {
        Arch::X86_64 => vec![
            "numpy_asm.txt",
            "raptors_asm.txt",
            "numpy_simd.txt",
            "numpy_simd.json",
            "raptors_simd.txt",
            "raptors_simd.json",
        ],
        Arch::Aarch64 => vec![
            "numpy_neon.txt",
            "numpy_neon.json",
            "raptors_neon.txt",
            "raptors_neon.json",
        ],
    }
}

/// Disassembly and SIMD counts of every function chosen on `arch`, per library side.
fn disassemble(
    arch: Arch,
    libs: [Option<&Lib>; 2],
    picks: &[OpPicks],
    art: &mut Artifacts,
    isa: &mut Vec<IsaRow>,
) -> Result<()> {
    for (side, lib) in ["numpy", "raptors"].into_iter().zip(libs) {
        let lib = lib.ok_or_else(|| {
            Unavailable(format!(
                "{side}'s {arch} library is not available (see Status)"
            ))
        })?;
        let targets = functions::targets(picks, arch.name(), side == "numpy");
        let funcs: Vec<_> = targets
            .keys()
            .filter_map(|(_, a)| lib.table.at(*a))
            .collect();
        if funcs.is_empty() {
            bail!("no {side} function was chosen for any op on {arch}");
        }
        let mut index = format!(
            "# {side}: the functions that run the profiled ops ({arch})\nlibrary: {}\n\n",
            lib.path.display()
        );
        for ((name, address), why) in &targets {
            index.push_str(&format!(
                "{name} at {address:#x}\n    {}\n",
                why.join("\n    ")
            ));
        }
        let mut dis = Vec::new();
        disassemble_functions(
            &lib.elf,
            &lib.table,
            &funcs,
            TextOptions::default(),
            &mut dis,
        )
        .context("disassembling")?;
        let (dis, simd, mut counts) = (
            String::from_utf8_lossy(&dis),
            simd_report(&lib.elf, &funcs),
            String::new(),
        );
        simd_text(&simd, &mut counts);
        for f in &simd.functions {
            let mut ext: Vec<(&String, &u64)> = f
                .counts
                .by_extension
                .iter()
                .filter(|(k, _)| *k != "base")
                .collect();
            ext.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let (side, arch) = (
                if side == "numpy" { "NumPy" } else { "Raptors" }.into(),
                arch.name().into(),
            );
            let extensions = ext.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
            isa.push(IsaRow {
                side,
                arch,
                function: f.name.clone(),
                max_vector_bits: f.counts.max_vector_bits.into(),
                extensions,
            });
        }
        let by_op: Vec<_> = targets
            .iter()
            .map(|((f, a), why)| json!({"function": f, "address": a, "ops": why}))
            .collect();
        let data =
            Content::Json(json!({"library": lib.path, "functions_by_op": by_op, "simd": simd}));
        if arch == Arch::X86_64 {
            art.put(
                &format!("{side}_asm.txt"),
                Content::Text(format!("{index}{dis}")),
            );
            art.put(
                &format!("{side}_simd.txt"),
                Content::Text(format!("{index}{counts}")),
            );
            art.put(&format!("{side}_simd.json"), data);
        } else {
            art.put(
                &format!("{side}_neon.txt"),
                Content::Text(format!("{index}{counts}\n# disassembly\n{dis}")),
            );
            art.put(&format!("{side}_neon.json"), data);
        }
    }
    Ok(())
}

/// The hot loop of a chosen function: the loop holding its most executed address when it has
/// one, else raptors-asm's static choice.
fn hot_side(lib: Option<&Lib>, p: &Picked) -> Result<Side, String> {
    let (lib, p) = (
        lib.ok_or("the library is not available")?,
        p.as_ref().map_err(String::clone)?,
    );
    let f = lib
        .table
        .at(p.address)
        .ok_or_else(|| format!("no function at {:#x}", p.address))?;
    let side = side_at(&lib.elf, &lib.table, f, p.hot_address)
        .or_else(|_| side_at(&lib.elf, &lib.table, f, None));
    side.map_err(|e| e.to_string())
}

/// The real-run (or static) loops of one op on one architecture, and on the measured one also
/// the loops valgrind ran where Raptors's function differs (AVX2 under valgrind, AVX-512 for real).
fn loop_pairs(p: &OpPicks, a: &ArchPicks, [nl, rl]: [Option<&Lib>; 2]) -> Vec<LoopPair> {
    let mut builds = vec![(if a.measured { "real run" } else { "static" }, &a.real)];
    if let Some(v) = a.valgrind.as_ref().filter(
        |v| matches!((&v.raptors, &a.real.raptors), (Ok(x), Ok(y)) if x.address != y.address),
    ) {
        builds.push(("under valgrind", v));
    }
    let hot = |s: &Result<Side, String>| -> Result<(String, raptors_asm::loops::Loop), String> {
        let s = s.as_ref().map_err(String::clone)?;
        let why = || {
            format!(
                "`{}` has no innermost loop ({} loops: straight-line code or calls)",
                s.function, s.loops_found
            )
        };
        s.hot_loop
            .clone()
            .map(|l| (s.function.clone(), l))
            .ok_or_else(why)
    };
    let pair = |(build, s): (&str, &SidePicks)| {
        let (n, r) = (hot_side(nl, &s.numpy), hot_side(rl, &s.raptors));
        let (numpy, raptors) = (hot(&n), hot(&r));
        let c = n.and_then(|n| Ok(Comparison::new(n, r?)));
        let (differences, comparison, bodies) = match c {
            Ok(c) => {
                let mut t = String::new();
                compare_text(&c, &mut t);
                let bodies = bodies_side_by_side(&c, "NumPy", "Raptors");
                (c.differences, t, bodies)
            }
            Err(why) => (Vec::new(), format!("no comparison: {why}\n"), String::new()),
        };
        LoopPair {
            op: p.op.clone(),
            dtype: p.dtype.clone(),
            arch: a.arch.clone(),
            build: build.into(),
            numpy,
            raptors,
            differences,
            comparison,
            bodies,
        }
    };
    builds.into_iter().map(pair).collect()
}

/// For each op on the measured architecture: the loop of the function valgrind ran (NumPy and
/// Raptors) chosen by callgrind's per-instruction counts, and the static-vs-measured check.
fn executed_loops(
    picks: &[OpPicks],
    cg: &CallgrindRun,
    [nl, rl]: [Option<&Lib>; 2],
    host: Arch,
) -> Vec<ExecutedLoop> {
    let mut rows = Vec::new();
    for p in picks {
        let (Some(a), Some(prof)) = (
            p.archs.iter().find(|a| a.measured && a.arch == host.name()),
            cg.profile(&p.op, &p.dtype),
        ) else {
            continue;
        };
        let ran = a.valgrind.as_ref().unwrap_or(&a.real);
        for (library, lib, pick, counted) in [
            ("NumPy", nl, &ran.numpy, &prof.numpy),
            ("Raptors", rl, &ran.raptors, &prof.raptors),
        ] {
            let mut row = ExecutedLoop {
                op: p.op.clone(),
                dtype: p.dtype.clone(),
                arch: a.arch.clone(),
                library: library.into(),
                function: String::new(),
                chosen_by: "static".into(),
                loop_start: None,
                coverage: None,
                instructions_per_element: None,
                measured_instructions_per_element: None,
                function_instructions_per_element: None,
                check: String::new(),
                passed: None,
            };
            let choice = (|| -> Result<raptors_asm::hotloop::LoopChoice, String> {
                let lib = lib.ok_or("the library is not available")?;
                let pick = pick.as_ref().map_err(String::clone)?;
                let f = lib
                    .table
                    .at(pick.address)
                    .ok_or_else(|| format!("no function at {:#x}", pick.address))?;
                let counts = &counted.as_ref().map_err(String::clone)?.instructions;
                let exec = raptors_asm::hotloop::ExecCounts {
                    source: "callgrind",
                    counts,
                };
                raptors_asm::hotloop::choose_loop(
                    &lib.elf,
                    &lib.table,
                    f,
                    Some(exec),
                    Some(prof.elements),
                )
                .map_err(|e| e.to_string())
            })();
            match choice {
                Ok(c) => {
                    row.function = c.function.clone();
                    row.chosen_by = c.chosen_by.clone();
                    row.loop_start = c.hot_loop.as_ref().map(|l| l.start);
                    row.coverage = c.coverage;
                    row.instructions_per_element = c.static_instructions_per_element;
                    row.measured_instructions_per_element = c.measured_instructions_per_element;
                    row.function_instructions_per_element = c.function_instructions_per_element();
                    match c.element_check() {
                        Some(k) => (row.check, row.passed) = (k.describe(), Some(k.passed())),
                        None if c.hot_loop.is_none() => {
                            row.check = "no loop executed in this function".into()
                        }
                        None => {
                            row.check = "elements per iteration unknown: no static figure".into()
                        }
                    }
                }
                Err(why) => row.check = format!("no choice: {why}"),
            }
            rows.push(row);
        }
    }
    rows
}
