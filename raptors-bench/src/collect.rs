//! `raptors-bench counters`: run a small Python driver per op under `perf stat` and/or valgrind
//! cachegrind and write `counters.json`. Per-call numbers use a delta against a setup-only run.

use crate::counters::{
    cache_geometry, parse_cachegrind, parse_perf_csv, probe_perf, CacheGeometry, CounterStatus,
    PerfProbe, PerfStatus, PERF_EVENTS,
};
use crate::runner::{apply_bench_env, python_scripts};
use crate::valgrind::{self, ValgrindLevel};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

pub const COUNTERS_SCHEMA: &str = "raptors-bench/counters/v1";
const TINY_ITERS_FACTOR: u64 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ValgrindMode {
    /// Only when perf cannot count hardware events.
    Auto,
    Always,
    Never,
}

#[derive(Clone, Debug)]
pub struct CountersOptions {
    pub python: PathBuf,
    pub pythonpath: Option<PathBuf>,
    pub ops: Vec<String>,
    pub dtype: String,
    pub size: usize,
    pub perf_iters: u64,
    pub valgrind_iters: u64,
    pub valgrind: ValgrindMode,
    /// RAPTORS_SIMD under valgrind; None: the best level valgrind runs here
    /// ([`valgrind::level_for_python`]: avx2 or lower on x86-64, neon on aarch64).
    pub valgrind_level: Option<String>,
    pub jobs: usize,
}

impl CountersOptions {
    /// The profile's counters run over `ops` (the first `dtypes` entry, 512²). Quick runs count
    /// three ops briefly and skip the ~100 s valgrind fallback (the callgrind step's instruction
    /// counts stand in); under emulation valgrind cannot run. The note says which, for the report.
    pub fn for_profile(
        python: PathBuf,
        ops: &[String],
        dtype: &str,
        quick: bool,
        emulated: bool,
    ) -> (CountersOptions, Option<&'static str>) {
        let few = ["sum", "mean_axis0", "add"];
        let mut chosen: Vec<String> = ops
            .iter()
            .filter(|o| !quick || few.contains(&o.as_str()))
            .cloned()
            .collect();
        if chosen.is_empty() {
            chosen = ops[..1.min(ops.len())].to_vec();
        }
        let note = match (emulated, quick) {
            (true, _) => Some("(valgrind cannot run under qemu-user emulation)"),
            (false, true) => Some(
                "(quick: no valgrind fallback; the callgrind step's counts stand in: \
                 \"Executed instructions per element\")",
            ),
            (false, false) => None,
        };
        let o = CountersOptions {
            python,
            pythonpath: None,
            ops: chosen,
            dtype: dtype.to_string(),
            size: 512,
            perf_iters: if quick { 50 } else { 2000 },
            valgrind_iters: 10,
            valgrind: match note {
                Some(_) => ValgrindMode::Never,
                None => ValgrindMode::Auto,
            },
            valgrind_level: None,
            jobs: 2,
        };
        (o, note)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CounterValue {
    pub event: String,
    pub unit: String,
    pub status: CounterStatus,
    /// Totals of the op run and of the setup-only run; null when not counted.
    pub total: Option<f64>,
    pub setup_total: Option<f64>,
    /// (total - setup_total) / iters; null unless both runs counted the event.
    pub per_call: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunEntry {
    pub op: String,
    pub dtype: String,
    pub size: usize,
    pub side: String,
    pub tool: String,
    pub iters: u64,
    pub counters: Vec<CounterValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValgrindInfo {
    /// ran | not_installed | skipped | failed
    pub status: String,
    pub reason: String,
    pub version: Option<String>,
    pub forced_env: BTreeMap<String, String>,
    pub geometry: BTreeMap<String, CacheGeometry>,
    pub note: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CountersReport {
    pub schema: String,
    pub date: String,
    pub git: crate::model::GitInfo,
    pub method: String,
    pub perf: PerfProbe,
    pub perf_runs: Vec<RunEntry>,
    pub valgrind: ValgrindInfo,
    pub valgrind_runs: Vec<RunEntry>,
}

#[derive(Clone)]
struct Job {
    tool: &'static str,
    side: String,
    op: String,
    /// The requested square size, or the op's fixed size (its last dimension), for the report.
    size: usize,
    /// `512x512` or `8`: the driver's SHAPE argument.
    shape: String,
    iters: u64,
}

fn run_job(
    job: &Job,
    opts: &CountersOptions,
    driver: &Path,
    tmp: &Path,
    geo: &[(String, CacheGeometry)],
    level: Option<&ValgrindLevel>,
) -> Result<String, String> {
    let tag = format!(
        "{}-{}-{}-{}-{}",
        job.tool, job.side, job.op, job.shape, job.iters
    );
    let outfile = tmp.join(format!("{tag}.out"));
    let py = opts.python.to_string_lossy().to_string();
    let args = [
        driver.to_string_lossy().to_string(),
        job.side.clone(),
        job.op.clone(),
        opts.dtype.clone(),
        job.shape.clone(),
        job.iters.to_string(),
    ];
    let mut cmd = if job.tool == "perf" {
        let mut c = Command::new("perf");
        c.args(["stat", "-x,", "-o"])
            .arg(&outfile)
            .args(["-e", &PERF_EVENTS.join(","), "--", &py]);
        apply_bench_env(&mut c, opts.pythonpath.as_deref());
        c
    } else {
        let level = level.ok_or("no valgrind level was chosen")?;
        let mut c = valgrind::command("cachegrind", level, opts.pythonpath.as_deref());
        c.arg("--cache-sim=yes");
        for (name, g) in geo {
            c.arg(format!("--{name}={}", g.arg()));
        }
        c.arg(format!("--cachegrind-out-file={}", outfile.display()))
            .arg(&py);
        c
    };
    // Fixed string hashing: the op run and the setup-only run then execute the same interpreter
    // paths, so their difference is the op (cachegrind counts are otherwise run-to-run exact).
    cmd.env("PYTHONHASHSEED", "0");
    cmd.args(args);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start {}: {e}", job.tool))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(6).collect();
        return Err(format!(
            "{} exited with {}: {}",
            job.tool,
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ));
    }
    std::fs::read_to_string(&outfile).map_err(|e| format!("reading {}: {e}", outfile.display()))
}

/// (event, unit, status, total) per counter.
type Totals = Vec<(String, String, CounterStatus, Option<f64>)>;

fn totals(tool: &str, text: &str) -> Result<Totals, String> {
    if tool == "perf" {
        Ok(parse_perf_csv(text)
            .into_iter()
            .map(|c| (c.event, c.unit, c.status, c.value))
            .collect())
    } else {
        Ok(parse_cachegrind(text)?
            .into_iter()
            .map(|(e, v)| {
                (
                    e,
                    "count".to_string(),
                    CounterStatus::Counted,
                    Some(v as f64),
                )
            })
            .collect())
    }
}

fn entry(
    job: &Job,
    opts: &CountersOptions,
    result: &Result<String, String>,
    setup: &Result<String, String>,
    label: &str,
) -> RunEntry {
    let mut e = RunEntry {
        op: job.op.clone(),
        dtype: opts.dtype.clone(),
        size: job.size,
        side: job.side.clone(),
        tool: label.to_string(),
        iters: job.iters,
        counters: Vec::new(),
        error: None,
    };
    let parse = |r: &Result<String, String>| r.clone().and_then(|t| totals(job.tool, &t));
    let (run, base) = match (parse(result), parse(setup)) {
        (Ok(r), Ok(b)) => (r, b),
        (Err(x), _) => {
            e.error = Some(x);
            return e;
        }
        (_, Err(x)) => {
            e.error = Some(format!("setup-only run failed: {x}"));
            return e;
        }
    };
    for (event, unit, status, total) in run {
        let setup_total = base.iter().find(|b| b.0 == event).and_then(|b| b.3);
        let per_call = match (total, setup_total) {
            (Some(t), Some(s)) => Some((t - s) / job.iters as f64),
            _ => None,
        };
        e.counters.push(CounterValue {
            event,
            unit,
            status,
            total,
            setup_total,
            per_call,
        });
    }
    e
}

fn tool_version(cmd: &str) -> Option<String> {
    Command::new(cmd)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

pub fn run_counters(opts: &CountersOptions) -> Result<CountersReport> {
    crate::runner::install_ctrlc();
    anyhow::ensure!(
        opts.perf_iters > 0 && opts.valgrind_iters > 0,
        "iteration counts must be positive"
    );
    let tmp = python_scripts()?;
    let driver = tmp.join("counters_driver.py");
    let table = crate::ops::table();
    for op in &opts.ops {
        table.op(op)?;
    }
    table.dtype(&opts.dtype)?;
    let perf = probe_perf();
    let vg_version = tool_version("valgrind");
    let want_vg = match opts.valgrind {
        ValgrindMode::Always => true,
        ValgrindMode::Never => false,
        ValgrindMode::Auto => !matches!(perf.status, PerfStatus::Works),
    };
    let (i1, d1, ll) = cache_geometry();
    let geo = vec![
        ("I1".to_string(), i1),
        ("D1".to_string(), d1),
        ("LL".to_string(), ll),
    ];
    let mut valgrind = ValgrindInfo {
        status: "skipped".into(),
        reason: String::new(),
        version: vg_version.clone(),
        forced_env: BTreeMap::new(),
        geometry: geo.iter().cloned().collect(),
        note:
            "cache numbers are cachegrind's simulation with the geometry above, not hardware counts"
                .into(),
    };
    valgrind.reason = match (want_vg, &vg_version, opts.valgrind) {
        (false, _, ValgrindMode::Never) => "--valgrind never".into(),
        (false, _, _) => {
            "perf counts hardware events; fallback not needed (use --valgrind always)".into()
        }
        (true, None, _) => {
            valgrind.status = "not_installed".into();
            "no `valgrind` executable on PATH".into()
        }
        (true, Some(_), _) => {
            valgrind.status = "ran".into();
            format!("perf status: {}", perf.status.label())
        }
    };
    let mut level = None;
    if valgrind.status == "ran" {
        let chosen = match &opts.valgrind_level {
            Some(l) => valgrind::forced_level(std::env::consts::ARCH, l, |l| {
                valgrind::python_accepts(&opts.python, opts.pythonpath.as_deref(), l)
            }),
            None => valgrind::level_for_python(&opts.python, opts.pythonpath.as_deref()),
        };
        match chosen {
            Ok(l) => {
                valgrind
                    .forced_env
                    .insert("RAPTORS_SIMD".to_string(), l.level.clone());
                valgrind.note = format!("{}; {}", l.note, valgrind.note);
                level = Some(l);
            }
            Err(e) => {
                valgrind.status = "failed".into();
                valgrind.reason = format!("{e:#}");
            }
        }
    }
    // (size, shape argument) per op: the square size, or the op's fixed shape.
    let shape_of = |op: &str| -> (usize, String, bool) {
        let o = table.op(op).expect("checked above");
        let shape = o.shape_for(opts.size);
        let arg: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        (
            *shape.last().unwrap_or(&0),
            arg.join("x"),
            o.shape.is_some(),
        )
    };
    let mut jobs = Vec::new();
    let mut plan = |tool: &'static str, iters: u64| {
        for side in ["numpy", "raptors"] {
            let mut shapes: Vec<(usize, String, bool)> =
                opts.ops.iter().map(|o| shape_of(o)).collect();
            shapes.sort();
            shapes.dedup();
            for (size, shape, _) in shapes {
                jobs.push(Job {
                    tool,
                    side: side.into(),
                    op: "none".into(),
                    size,
                    shape,
                    iters: 0,
                });
            }
            for op in &opts.ops {
                let (size, shape, fixed) = shape_of(op);
                jobs.push(Job {
                    tool,
                    side: side.into(),
                    op: op.clone(),
                    size,
                    shape,
                    // A fixed tiny shape costs ~1/1000 of a 512² call: scale its calls so the op,
                    // not the per-process noise of the two runs being subtracted, sets the count.
                    iters: if fixed {
                        iters * TINY_ITERS_FACTOR
                    } else {
                        iters
                    },
                });
            }
        }
    };
    if perf.status.usable() {
        plan("perf", opts.perf_iters);
    }
    if valgrind.status == "ran" {
        plan("valgrind", opts.valgrind_iters);
    }
    let pb = ProgressBar::new(jobs.len() as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} runs  {msg}",
        )
        .expect("static template"),
    );
    let queue = Mutex::new(jobs.iter().enumerate().collect::<Vec<_>>());
    let results: Mutex<Vec<Option<Result<String, String>>>> = Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            s.spawn(|| loop {
                if crate::runner::interrupted() {
                    break;
                }
                let Some((i, job)) = queue.lock().map_or(None, |mut q| q.pop()) else {
                    break;
                };
                pb.set_message(format!("{} {} {}", job.tool, job.side, job.op));
                let r = run_job(job, opts, &driver, &tmp, &geo, level.as_ref());
                if let Ok(mut res) = results.lock() {
                    res[i] = Some(r);
                }
                pb.inc(1);
            });
        }
    });
    pb.finish_and_clear();
    let results = results.into_inner().unwrap_or_default();
    let interrupted: Result<String, String> = Err("not run (interrupted)".into());
    let get = |i: usize| {
        results
            .get(i)
            .and_then(|r| r.as_ref())
            .unwrap_or(&interrupted)
    };
    let mut perf_runs = Vec::new();
    let mut valgrind_runs = Vec::new();
    let perf_label = format!(
        "perf stat ({})",
        perf.version.clone().unwrap_or_else(|| "perf".into())
    );
    let vg_label = format!("valgrind-cachegrind ({})", vg_version.unwrap_or_default());
    for (i, job) in jobs.iter().enumerate().filter(|(_, j)| j.op != "none") {
        let setup_idx = jobs
            .iter()
            .position(|j| {
                j.tool == job.tool && j.side == job.side && j.op == "none" && j.shape == job.shape
            })
            .context("setup job planned for every size")?;
        if job.tool == "perf" {
            perf_runs.push(entry(job, opts, get(i), get(setup_idx), &perf_label));
        } else {
            valgrind_runs.push(entry(job, opts, get(i), get(setup_idx), &vg_label));
        }
    }
    if valgrind.status == "ran"
        && !valgrind_runs.is_empty()
        && valgrind_runs.iter().all(|r| r.error.is_some())
    {
        valgrind.status = "failed".into();
        valgrind.reason = valgrind_runs[0].error.clone().unwrap_or_default();
    }
    Ok(CountersReport {
        schema: COUNTERS_SCHEMA.into(),
        date: crate::runner::utc_now(),
        git: crate::runner::git_info(),
        method: "per_call = (run with `iters` calls of the op - run with setup only) / iters (ops with a fixed tiny shape, e.g. add_tiny: 100x iters); \
                 PYTHONHASHSEED=0; same arrays, \
                 same process setup; NumPy side and Raptors side run in separate processes; OPENBLAS_NUM_THREADS=1"
            .into(),
        perf,
        perf_runs,
        valgrind,
        valgrind_runs,
    })
}

/// The status part of [`summary`] (perf's classified status and the fallback), without the
/// per-call perf figures: what a report shows.
pub fn status_summary(r: &CountersReport) -> String {
    let text = summary(r);
    let status = text.split("perf stat, per call:").next().unwrap_or("");
    status.trim().to_string()
}

/// The classified perf status a written `counters.json` records (the first two lines of
/// [`summary`]); an error with the reason when the file is the stand-in of a failed run.
pub fn recorded_status(counters_json: &Path) -> Result<String> {
    let text = std::fs::read_to_string(counters_json)
        .with_context(|| format!("no {}", counters_json.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    if let Some(err) = v.get("error").and_then(serde_json::Value::as_str) {
        anyhow::bail!("the counters step failed: {err}");
    }
    let report: CountersReport = serde_json::from_value(v)?;
    Ok(summary(&report)
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join("; "))
}

/// One line per run for the terminal.
pub fn summary(r: &CountersReport) -> String {
    let mut s = format!("perf: {}", r.perf.status.label());
    if let PerfStatus::PermissionDenied {
        errno,
        likely_cause,
        ..
    } = &r.perf.status
    {
        s.push_str(&format!(" ({errno}: {likely_cause})"));
    }
    if let PerfStatus::NoHardwarePmu { unsupported } = &r.perf.status {
        s.push_str(&format!(" (<not supported>: {})", unsupported.join(", ")));
    }
    s.push_str(&format!(
        "\nvalgrind: {} — {}\n",
        r.valgrind.status, r.valgrind.reason
    ));
    let show = |e: &RunEntry, keys: &[&str]| {
        let vals: Vec<String> = keys
            .iter()
            .map(|k| {
                let v = e
                    .counters
                    .iter()
                    .find(|c| c.event.split(':').next() == Some(k));
                match v.map(|c| (c.status, c.per_call)) {
                    Some((_, Some(x))) if x.abs() >= 100.0 => format!("{k}={x:.0}"),
                    Some((_, Some(x))) => format!("{k}={x:.4}"),
                    Some((st, None)) => format!("{k}=<{st:?}>"),
                    None => format!("{k}=<absent>"),
                }
            })
            .collect();
        format!(
            "  {:<8} {:<18} {}\n",
            e.side,
            e.op,
            e.error.clone().unwrap_or_else(|| vals.join(" "))
        )
    };
    if !r.perf_runs.is_empty() {
        s.push_str("perf stat, per call:\n");
        for e in &r.perf_runs {
            s.push_str(&show(
                e,
                &["task-clock", "page-faults", "instructions", "cycles"],
            ));
        }
    }
    if !r.valgrind_runs.is_empty() {
        s.push_str("cachegrind, per call:\n");
        for e in &r.valgrind_runs {
            s.push_str(&show(
                e,
                &["Ir", "Dr", "Dw", "D1mr", "D1mw", "DLmr", "DLmw"],
            ));
        }
    }
    s
}
