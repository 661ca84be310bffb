//! Running the driver under callgrind, one valgrind process per dtype.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::{
    attribute, parse_driver_output, read_dumps, reported_libraries, CallgrindOptions, CallgrindRun,
    DtypeRun, OpProfile, CALLGRIND_SCHEMA,
};
use crate::valgrind::{self, ValgrindLevel};

/// The valgrind command for one dtype: profile parts at `out_prefix`, `out_prefix.1`, ….
pub fn driver_command(
    opts: &CallgrindOptions,
    level: &ValgrindLevel,
    script: &Path,
    dtype: &str,
    out_prefix: &Path,
) -> Command {
    let mut cmd = valgrind::command("callgrind", level, opts.pythonpath.as_deref());
    cmd.arg("--dump-before=getppid")
        // Executions per instruction address: tells same-named local functions apart and finds
        // the hot loop by execution.
        .arg("--dump-instr=yes")
        .arg("--compress-strings=no")
        .arg("--compress-pos=no")
        .arg(format!("--callgrind-out-file={}", out_prefix.display()))
        .arg(&opts.python)
        .arg(script)
        .args(["--dtype", dtype, "--ops", &opts.ops.join(",")])
        .args(["--size", &opts.size.to_string()])
        .args(["--reps", &opts.reps.to_string()])
        // One thread: every instruction of the op is in this process's counts, in order.
        .env("RAPTORS_THREADS", "1");
    cmd
}

/// `A=b C=d prog arg …` with the variables this crate sets, for logs.
pub fn command_line(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| {
            // Set variables only (removed ones have no value).
            let (k, v) = (k.to_string_lossy(), v?.to_string_lossy());
            (k.starts_with("RAPTORS_") || k.starts_with("OPENBLAS_")).then(|| format!("{k}={v}"))
        })
        .collect();
    parts.push(cmd.get_program().to_string_lossy().into_owned());
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Runs every dtype (up to `jobs` at once) and attributes the parts. A dtype that fails is
/// recorded in its [`DtypeRun::error`]; only set-up problems (no valgrind, bad options, no level)
/// are an `Err`.
pub fn run(opts: &CallgrindOptions) -> Result<CallgrindRun> {
    let table = crate::ops::table();
    if opts.ops.is_empty() || opts.dtypes.is_empty() || opts.size == 0 || opts.reps == 0 {
        bail!("callgrind: ops, dtypes, size and repetitions must not be empty or zero");
    }
    for op in &opts.ops {
        table.op(op)?;
    }
    for d in &opts.dtypes {
        table.dtype(d)?;
    }
    let version = valgrind::version();
    if version.is_none() {
        bail!("valgrind is not installed (no `valgrind` on PATH)");
    }
    let level = match &opts.level {
        Some(l) => valgrind::forced_level(std::env::consts::ARCH, l, |l| {
            valgrind::python_accepts(&opts.python, opts.pythonpath.as_deref(), l)
        })?,
        None => valgrind::level_for_python(&opts.python, opts.pythonpath.as_deref())?,
    };
    let script = crate::runner::python_scripts()?.join("callgrind_driver.py");
    let base = match &opts.work_dir {
        Some(d) => d.clone(),
        None => crate::runner::python_scripts()?.join("callgrind"),
    };
    let mut results: Vec<(DtypeRun, Vec<OpProfile>)> = Vec::new();
    for chunk in opts.dtypes.chunks(opts.jobs.max(1)) {
        let done: Vec<(DtypeRun, Vec<OpProfile>)> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|dtype| {
                    let (level, script, dir) = (&level, &script, base.join(dtype));
                    s.spawn(move || run_dtype(opts, level, script, dtype, &dir))
                })
                .collect();
            handles
                .into_iter()
                .zip(chunk)
                .map(|(h, dtype)| {
                    h.join().unwrap_or_else(|_| {
                        (
                            failed_run(dtype, "the callgrind thread panicked".into()),
                            Vec::new(),
                        )
                    })
                })
                .collect()
        });
        results.extend(done);
    }
    if opts.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&base);
    }
    let (runs, profiles): (Vec<DtypeRun>, Vec<Vec<OpProfile>>) = results.into_iter().unzip();
    Ok(CallgrindRun {
        schema: CALLGRIND_SCHEMA.into(),
        valgrind_version: version,
        level,
        size: opts.size,
        reps: opts.reps,
        runs,
        profiles: profiles.into_iter().flatten().collect(),
    })
}

fn failed_run(dtype: &str, error: String) -> DtypeRun {
    DtypeRun {
        dtype: dtype.to_string(),
        command: String::new(),
        raptors_level: None,
        modules: BTreeMap::new(),
        error: Some(error),
    }
}

fn run_dtype(
    opts: &CallgrindOptions,
    level: &ValgrindLevel,
    script: &Path,
    dtype: &str,
    dir: &Path,
) -> (DtypeRun, Vec<OpProfile>) {
    let mut run = failed_run(dtype, String::new());
    let r = (|| -> Result<Vec<OpProfile>> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let prefix = dir.join("callgrind.out");
        let mut cmd = driver_command(opts, level, script, dtype, &prefix);
        run.command = command_line(&cmd);
        let out = cmd.output().context("starting valgrind")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let driver = parse_driver_output(&stdout);
        run.raptors_level = driver.simd_level.clone();
        run.modules = driver.modules.clone();
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(8).collect();
            bail!(
                "valgrind exited with {}: {}",
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            );
        }
        let (numpy_reported, raptors_reported) = reported_libraries(&driver.modules);
        let numpy_lib: PathBuf = opts.numpy_lib.clone().or(numpy_reported).context(
            "the driver reported no numpy._core._multiarray_umath module; pass numpy_lib",
        )?;
        let raptors_lib: PathBuf = opts.raptors_lib.clone().or(raptors_reported).with_context(|| {
            format!(
                "the driver reported no single Raptors extension module (loaded: {}); pass raptors_lib",
                driver.modules.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        let dumps = read_dumps(&prefix)?;
        let table = crate::ops::table();
        let ops: Vec<(String, Vec<usize>)> = opts
            .ops
            .iter()
            .map(|o| Ok((o.clone(), table.op(o)?.shape_for(opts.size))))
            .collect::<Result<_>>()?;
        attribute(
            &dumps,
            &ops,
            dtype,
            opts.reps,
            &numpy_lib,
            &raptors_lib,
            &driver.errors,
        )
    })();
    match r {
        Ok(p) => {
            run.error = None;
            (run, p)
        }
        Err(e) => {
            run.error = Some(format!("{e:#}"));
            (run, Vec::new())
        }
    }
}
