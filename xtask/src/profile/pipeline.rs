//! The profile's steps in order. Each step records its outcome; a step that needs what an earlier
//! one did not produce is recorded as skipped with the reason. Artifacts are collected in memory
//! and written at the end with the final provenance.

use std::fs;
use std::path::Path;

use anyhow::{bail, Result};
use raptors_asm::mca::McaError;
use raptors_asm::mca_set;
use raptors_asm::Library;
use raptors_bench::callgrind::{self, CallgrindOptions, CallgrindRun};
use raptors_bench::collect::{self, CountersOptions};
use raptors_bench::compare::{self, CompareOptions};
use raptors_bench::cycles;
use raptors_bench::evidence::against::Current;
use raptors_bench::evidence::choice::{choose_op, Archs, Evidence};
use raptors_bench::evidence::disassembly::{self, artifact_names};
use raptors_bench::evidence::folder::{self, Artifacts};
use raptors_bench::evidence::loops::{
    all_loop_pairs, apply_emulated, check_executed, executed_loops,
};
use raptors_bench::evidence::picks::{Executed, ExecutedLoop, OpPicks, EMULATED};
use raptors_bench::evidence::report::{IsaRow, LoopPair};
use raptors_bench::evidence::revision::Resolved;
use raptors_bench::evidence::{hot_loops_md, predicted, ReportInput};
use raptors_bench::machine;
use raptors_bench::provenance::{Content, Provenance};
use raptors_bench::qemu_exec;
use raptors_bench::sampling::{self, SampleMap};

use super::against;
use super::inputs;
use super::Plan;
use crate::cross::Arch;
use crate::setup::{self, SystemNeeds};
use crate::steps::{need, StepRecord, Steps, Unavailable};

/// Runs every step into `tmp`; returns the step records.
pub fn profile_into(
    tmp: &Path,
    plan: &Plan,
    against: Option<&Resolved>,
) -> Result<Vec<StepRecord>> {
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
                    Library::locate("numpy._core._multiarray_umath", &python)?,
                    Library::locate("raptors", &python)?,
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
            let o = callgrind_options(plan, &python, np, rp);
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
            let failed = sampling::failures(&map);
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
    let mut picks: Vec<OpPicks> = steps
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
                let on = Archs {
                    host: host.name(),
                    other: other.map(Arch::name),
                };
                plan.cells()
                    .iter()
                    .map(|(op, dtype)| choose_op(op, dtype, on, libs, static_libs, &ev))
                    .collect::<Result<Vec<OpPicks>>>()
            },
        )
        .unwrap_or_default();
    // The emulated architecture's functions and loops by execution, before anything shows them.
    let mut emulated: Vec<ExecutedLoop> = Vec::new();
    if let Some(o) = other {
        let _ = steps.step(
            &format!("{o}: hot loops by execution (qemu-user block counts; same check)"),
            || {
                let libs = static_libs;
                emulated = emulated_loops(&steps, emulation.is_some(), plan, &python, o, libs)?;
                apply_emulated(&mut picks, &emulated);
                check_executed(&emulated).map_err(anyhow::Error::msg)
            },
        );
    }
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
                &artifact_names(arch.elf()),
                &format!("the {arch} disassembly step did not succeed: {why}"),
            );
        }
    }
    let loops: Vec<LoopPair> = steps
        .step("hot loops side by side (raptors-asm compare)", || {
            let analysed: Vec<&str> = plan.archs.iter().map(|a| a.name()).collect();
            let libs = |a: &str| lib_pair(if a == host.name() { host } else { host.other() });
            let pairs = all_loop_pairs(&picks, &analysed, libs);
            match pairs.is_empty() {
                true => bail!("no op had functions on both sides to compare"),
                false => Ok(pairs),
            }
        })
        .unwrap_or_default();

    // Rows of a failed check stay in the report (the step fails visibly, nothing is lost).
    let mut executed: Vec<ExecutedLoop> = Vec::new();
    let _ = steps.step(
        &format!("{host}: hot loops by execution (callgrind counts; static ≤ measured check)"),
        || {
            let cg = cg
                .as_ref()
                .map_err(|e| Unavailable(format!("no callgrind run: {e}")))?;
            executed = executed_loops(&picks, cg, lib_pair(host), host.name());
            check_executed(&executed).map_err(anyhow::Error::msg)
        },
    );
    executed.extend(emulated);
    let mca = steps.step("llvm-mca: predicted cycles of every hot loop", || {
        if loops.is_empty() {
            bail!(Unavailable(
                "needs hot loops, which an earlier step did not produce".into()
            ));
        }
        let set = predicted::predict(&loops).map_err(|e| match e.downcast_ref() {
            Some(McaError::ToolMissing { .. }) => Unavailable(e.to_string()).into(),
            _ => e,
        })?;
        art.put("mca.json", Content::Json(serde_json::to_value(&set)?));
        art.put("mca.md", Content::Markdown(mca_set::details_md(&set)));
        Ok(set)
    });
    let host_check = steps.step(
        &format!("{host}: host model check (measured cycles/element)"),
        || {
            if let Some(e) = &emulation {
                bail!(Unavailable(format!(
                    "measured cycles mean nothing under qemu-user emulation ({})",
                    e.describe()
                )));
            }
            let set = mca
                .as_ref()
                .map_err(|e| Unavailable(format!("no predictions: {e}")))?;
            let cpu = cycles::host_model(set, host.elf()).map_err(Unavailable)?;
            let (ops, dtypes) = (&plan.ops, &plan.dtypes);
            cycles::host_check(python.clone(), ops, dtypes, set, cpu, host.elf())
        },
    );

    // ---- timings and counters ------------------------------------------------------------------
    let timings = steps.step(
        "timings: raptors-bench compare (paired, interleaved)",
        || {
            let mut o = CompareOptions::new(python.clone(), plan.quick);
            (o.runner.ops, o.runner.dtypes) = (plan.ops.clone(), plan.dtypes.clone());
            (o.out_dir, o.name, o.plot) = (tmp.join(".timings"), Some("timings".into()), true);
            let out = compare::run(&o)?;
            if let Some(note) = art.put_timings(&out)? {
                steps.note(&note);
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
    let counters = steps.step(
        "counters: perf stat, else valgrind cachegrind (raptors-bench counters)",
        || {
            let (o, note) = CountersOptions::for_profile(
                python.clone(),
                &plan.ops,
                &plan.dtypes[0],
                plan.quick,
                emulation.is_some(),
            );
            let rep = collect::run_counters(&o)?;
            art.put("counters.json", Content::Json(serde_json::to_value(&rep)?));
            let text = collect::status_summary(&rep);
            Ok(note.map_or(text.clone(), |n| format!("{text}\n{n}")))
        },
    );

    // ---- what changed since another revision ---------------------------------------------------
    if let Some(old) = against {
        let [np, rp] = lib_pair(host);
        let current = Current {
            picks: &picks,
            loops: &loops,
            mca: mca.as_ref().ok(),
            cg: &cg,
            numpy: [np, static_libs[0]],
            raptors: [rp, static_libs[1]],
            env: env.as_ref().ok(),
            emulated: emulation.is_some(),
        };
        against::steps(&steps, plan, old, &current, &mut art);
    }

    // ---- provenance and report -------------------------------------------------------------------
    let mut prov = Provenance::new(&plan.command);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    prov.tools.extend(folder::tool_versions(&cargo, &python));
    for arch in std::iter::once(host).chain(other) {
        let paths = lib_pair(arch).map(|l| l.map(|l| l.path.as_path()));
        prov.libraries
            .extend(folder::library_infos(arch.name(), arch == host, paths));
    }
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
        executed: cg.as_ref().map(Executed::of_run).unwrap_or_default(),
        isa,
        functions: picks,
        loops,
        executed_loops: executed,
        timings,
        counters,
        mca,
        host_check,
        artifacts: Vec::new(),
    };
    art.put("hot_loops.json", Content::Json(input.hot_loops_json()));
    art.put("hot_loops.md", Content::Markdown(hot_loops_md(&input)));
    art.expect_measurements();
    art.write(tmp, &prov)?;
    let log = fs::read_to_string(&log_path).unwrap_or_default();
    fs::write(
        tmp.join("profile.log"),
        format!("{}{log}", prov.text_header()),
    )?;
    fs::remove_file(&log_path)?;
    input.steps = steps.records();
    folder::write_reports(tmp, &prov, &mut input)?;
    Ok(input.steps)
}

/// The static architecture's loops chosen by qemu-user's block counts: its Debian Python
/// unpacked under target/, NumPy's wheel module and the cross-built kernels' C API
/// (`raptors_bench::qemu_exec`), at 256² (logging every executed block is slow).
pub(super) fn emulated_loops(
    steps: &Steps,
    emulated: bool,
    plan: &Plan,
    python: &Path,
    arch: Arch,
    libs: [Option<&Library>; 2],
) -> Result<Vec<ExecutedLoop>> {
    if emulated {
        bail!(Unavailable(
            "this machine is itself emulated: qemu-user inside qemu-user is not attempted".into()
        ));
    }
    if setup::which(arch.qemu()).is_none() {
        bail!(Unavailable(format!(
            "{} is not installed (the cross set-up installs it on x86-64 hosts)",
            arch.qemu()
        )));
    }
    let [Some(np), Some(rp)] = libs else {
        bail!(Unavailable(format!(
            "NumPy's or Raptors's {arch} library is not available (see Status)"
        )));
    };
    // The wheel's `numpy/` package sits three levels above its core module.
    let numpy_site = np
        .path
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .ok_or_else(|| anyhow::anyhow!("no site directory above {}", np.path.display()))?;
    let version = inputs::python_version(steps, python)?;
    let cache = setup::target_dir().join("profile-cache");
    let userland = qemu_exec::Userland::prepare(
        &cache.join(format!("python{version}-{}", arch.deb_arch())),
        arch.deb_arch(),
        arch.qemu(),
        &version,
    )?;
    let run = qemu_exec::run(&qemu_exec::QemuExecOptions {
        userland,
        numpy_site,
        raptors_lib: rp.path.clone(),
        ops: plan.ops.clone(),
        dtypes: plan.dtypes.clone(),
        size: 256,
        reps: 3,
        work_dir: cache.join(format!("qemu-exec-{arch}")),
    })?;
    let failed: Vec<String> = run
        .runs
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.dtype)))
        .collect();
    if !failed.is_empty() {
        steps.note(&format!("qemu exec runs failed: {}", failed.join("; ")));
    }
    let rows =
        raptors_bench::evidence::loops::emulated_loops(&plan.cells(), &run, libs, arch.name());
    if rows.is_empty() {
        bail!("no op was counted under qemu-user: {}", failed.join("; "));
    }
    Ok(rows)
}

/// callgrind of the plan's ops with NumPy's and a Raptors build's extension modules.
pub(super) fn callgrind_options(
    plan: &Plan,
    python: &Path,
    np: &Library,
    rp: &Library,
) -> CallgrindOptions {
    let mut o = CallgrindOptions::new(python);
    (o.ops, o.dtypes) = (plan.ops.clone(), plan.dtypes.clone());
    o.reps = if plan.quick {
        5
    } else {
        callgrind::DEFAULT_REPS
    };
    (o.numpy_lib, o.raptors_lib) = (Some(np.path.clone()), Some(rp.path.clone()));
    o
}

/// Disassembly and SIMD counts of every function chosen on `arch`, per library side.
fn disassemble(
    arch: Arch,
    libs: [Option<&Library>; 2],
    picks: &[OpPicks],
    art: &mut Artifacts,
    isa: &mut Vec<IsaRow>,
) -> Result<()> {
    for (side, lib) in disassembly::SIDES.into_iter().zip(libs) {
        let lib = lib.ok_or_else(|| {
            Unavailable(format!(
                "{side}'s {arch} library is not available (see Status)"
            ))
        })?;
        let made = disassembly::files(arch.elf(), side, lib, picks)?;
        for (name, content) in made.files {
            art.put(&name, content);
        }
        isa.extend(made.isa);
    }
    Ok(())
}
