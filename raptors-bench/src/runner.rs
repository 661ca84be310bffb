//! Drives `python/compare_runner.py`: one child process per SIMD level, JSON lines on its stdout,
//! progress output, and Ctrl-C that keeps every finished cell.

use crate::model::{RawCell, Skipped};
use crate::stats::{median, paired_ratios};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The runner script, embedded so the binary works from any directory.
pub const RUNNER_PY: &str = include_str!("../python/compare_runner.py");
pub const PLOT_PY: &str = include_str!("../python/plot_speedups.py");
pub const COUNTERS_DRIVER_PY: &str = include_str!("../python/counters_driver.py");
pub const CALLGRIND_DRIVER_PY: &str = include_str!("../python/callgrind_driver.py");
pub const AGAINST_PY: &str = include_str!("../python/against_runner.py");
/// The op table module: operands, batches and the check, imported by every runner and driver.
pub const BENCH_OPS_PY: &str = include_str!("../python/bench_ops.py");
/// The machine record (CPU, caches, NumPy and Raptors builds, load), imported by the runners.
pub const MACHINE_FACTS_PY: &str = include_str!("../python/machine_facts.py");
/// The stopping rule, calibration, samples, regimes' preludes and CPU clocks of the runners.
pub const TIMING_PY: &str = include_str!("../python/timing.py");

/// The op table module and the table, which it finds next to itself: every driver imports them,
/// and a driver's directory needs nothing else (the qemu-user driver's holds only these).
pub const OP_TABLE_FILES: [(&str, &str); 2] = [
    ("bench_ops.py", BENCH_OPS_PY),
    ("ops.json", crate::ops::OPS_JSON),
];

/// Every file the Python side needs, written together into one directory by [`python_scripts`]
/// (the scripts import each other from there; a test checks that nothing imported is missing).
pub const SCRIPTS: [(&str, &str); 9] = [
    ("compare_runner.py", RUNNER_PY),
    ("machine_facts.py", MACHINE_FACTS_PY),
    ("timing.py", TIMING_PY),
    ("against_runner.py", AGAINST_PY),
    ("counters_driver.py", COUNTERS_DRIVER_PY),
    ("callgrind_driver.py", CALLGRIND_DRIVER_PY),
    ("plot_speedups.py", PLOT_PY),
    OP_TABLE_FILES[0],
    OP_TABLE_FILES[1],
];

/// The runner's stopping rule (constants of `python/timing.py`, repeated here for the report):
/// the precision check starts after this fraction of the cell budget, and a cell stops at this
/// many budgets. A test keeps the two files in step.
pub const STOP_MIN_TIME_FRACTION: f64 = 0.25;
pub const STOP_HARD_CAP_FACTOR: f64 = 3.0;
/// The time bank: a process's compare cells spend on average at most this many budgets on rounds.
pub const STOP_MEAN_CAP_FACTOR: f64 = 1.5;
/// Normal quantile of the interval the stopping rule's order statistics span: the decision's
/// (`StatsConfig::decision_confidence`, 99 %).
pub const STOP_DECISION_Z: f64 = 2.576;
/// A very slow side still stops at its time limit once this many rounds exist.
pub const STOP_HARD_MIN_ROUNDS: usize = 8;
/// The precision check runs every this many rounds.
pub const STOP_SE_CHECK_EVERY: usize = 5;
/// Self-check cells get at least this budget (s), in --quick runs too.
pub const STOP_AA_MIN_BUDGET_S: f64 = 0.8;
/// Samples of fewer calls than this get one lead-in call, not a fraction of their calls
/// (`LEAD_IN_MIN_CALLS` of `timing.py`).
pub const LEAD_IN_MIN_CALLS: usize = 8;

/// Environment variables that must not leak into the benchmark child (see machine-facts.md).
pub const ENV_REMOVED: [&str; 2] = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];
pub const ENV_SET: [(&str, &str); 1] = [("OPENBLAS_NUM_THREADS", "1")];

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Install the Ctrl-C handler once: the first Ctrl-C lets the runner finish its bookkeeping.
pub fn install_ctrlc() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // If a handler already exists (embedding program), keep theirs; we then simply die on ^C.
        let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    });
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

#[derive(Clone, Debug)]
pub struct RunnerOptions {
    pub python: PathBuf,
    pub ops: Vec<String>,
    pub dtypes: Vec<String>,
    pub sizes: Vec<usize>,
    pub levels: Vec<String>,
    pub quick: bool,
    pub target_sample_ms: f64,
    pub subsamples: usize,
    /// Untimed calls before each timed sample of >= `LEAD_IN_MIN_CALLS` calls, as a fraction of
    /// its calls (at least 2; one before a shorter sample; 0: none).
    pub lead_in: f64,
    pub warmup_ms: f64,
    pub cell_budget_s: f64,
    pub min_rounds: usize,
    pub max_rounds: usize,
    /// Stop a cell once its median speedup's relative standard error is this small (0: fixed budget).
    pub target_se: f64,
    /// RAPTORS_THREADS for the runner (None: Raptors's default).
    pub threads: Option<usize>,
    pub seed: u64,
    /// Prepended to PYTHONPATH (tests use a stand-in `raptors` module).
    pub pythonpath: Option<PathBuf>,
    /// `--regimes`: each measured on every cell; None: the op table's defaults.
    pub regimes: Option<Vec<String>>,
    /// The op table's headline cells that join the run (at the `auto` level).
    pub headline: crate::model::HeadlineCells,
}

impl RunnerOptions {
    /// Unknown regime names are an error naming the known ones (before anything runs).
    pub fn check_regimes(&self) -> Result<()> {
        for r in self.regimes.iter().flatten() {
            crate::ops::table().regime(r)?;
        }
        anyhow::ensure!(
            self.regimes.as_ref().is_none_or(|r| !r.is_empty()),
            "--regimes names no regime"
        );
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct RunOutcome {
    /// Machine description from the first runner process.
    pub machine: Option<serde_json::Value>,
    pub cells: Vec<RawCell>,
    pub skipped: Vec<Skipped>,
    pub interrupted: bool,
    pub error: Option<String>,
}

fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("raptors-bench-{}", std::process::id()))
}

/// Remove the scripts written by [`materialize`] (and the counters' output files).
pub fn cleanup_scratch() {
    let _ = std::fs::remove_dir_all(scratch_dir());
}

/// Writes [`SCRIPTS`] into this process's scratch directory (once) and returns the directory.
/// [`cleanup_scratch`] removes it.
pub fn python_scripts() -> Result<PathBuf> {
    for (name, text) in SCRIPTS {
        materialize(name, text)?;
    }
    Ok(scratch_dir())
}

/// Write an embedded script into a private temp directory and return its path.
pub fn materialize(name: &str, text: &str) -> Result<PathBuf> {
    let dir = scratch_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// A Command for `python` with the benchmark environment applied.
pub fn python_command(python: &Path, pythonpath: Option<&Path>) -> Command {
    let mut cmd = Command::new(python);
    apply_bench_env(&mut cmd, pythonpath);
    cmd
}

/// Remove/set the benchmark environment variables (only for the child, never for us).
pub fn apply_bench_env(cmd: &mut Command, pythonpath: Option<&Path>) {
    for k in ENV_REMOVED {
        cmd.env_remove(k);
    }
    for (k, v) in ENV_SET {
        cmd.env(k, v);
    }
    if let Some(pp) = pythonpath {
        let old = std::env::var_os("PYTHONPATH").unwrap_or_default();
        let mut paths = vec![pp.to_path_buf()];
        paths.extend(std::env::split_paths(&old));
        if let Ok(joined) = std::env::join_paths(paths) {
            cmd.env("PYTHONPATH", joined);
        }
    }
}

/// Check the interpreter exists and runs before a long run starts.
pub fn check_python(python: &Path) -> Result<String> {
    let out = Command::new(python)
        .args([
            "-c",
            "import sys, numpy; print(sys.version.split()[0], numpy.__version__)",
        ])
        .output()
        .with_context(|| format!("cannot run Python interpreter {}", python.display()))?;
    if !out.status.success() {
        bail!(
            "{} cannot import numpy: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn progress_bar() -> ProgressBar {
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} cells  {msg}",
        )
        .expect("static template is valid"),
    );
    pb
}

fn say(pb: &ProgressBar, line: String) {
    if pb.is_hidden() {
        eprintln!("{line}");
    } else {
        pb.println(line);
    }
}

/// Run every requested level; returns what was measured even when interrupted or a child failed.
pub fn run(opts: &RunnerOptions) -> Result<RunOutcome> {
    install_ctrlc();
    let script = python_scripts()?.join("compare_runner.py");
    let pb = progress_bar();
    let mut outcome = RunOutcome::default();
    for level in &opts.levels {
        if outcome.interrupted || outcome.error.is_some() {
            break;
        }
        // A forced level equal to what `auto` resolved to would measure the same code twice.
        let auto_level = outcome
            .machine
            .as_ref()
            .and_then(|m| m["raptors_simd_level"].as_str());
        if level != "auto"
            && opts.levels.iter().any(|l| l == "auto")
            && auto_level == Some(level.as_str())
        {
            let reason = format!(
                "forced {level} is the automatic level on this machine; measured once as `auto`"
            );
            say(&pb, format!("level {level}: {reason}"));
            outcome.skipped.push(Skipped {
                id: format!("level {level}"),
                reason,
            });
            continue;
        }
        let cells_before = outcome.cells.len();
        run_level(opts, &script, level, &pb, &mut outcome)?;
        // A forced level this CPU/build cannot run is reported and skipped, not a failed run.
        if level != "auto" && outcome.cells.len() == cells_before {
            if let Some(reason) = outcome.error.take() {
                say(&pb, format!("level {level} not measured: {reason}"));
                outcome.skipped.push(Skipped {
                    id: format!("level {level}"),
                    reason,
                });
            }
        }
    }
    pb.finish_and_clear();
    Ok(outcome)
}

fn run_level(
    opts: &RunnerOptions,
    script: &Path,
    level: &str,
    pb: &ProgressBar,
    out: &mut RunOutcome,
) -> Result<()> {
    // The NumPy-only self-check cells run once, in the first level's process.
    let first_level_done = out.machine.is_some();
    let join = |v: &[String]| v.join(",");
    let mut cmd = python_command(&opts.python, opts.pythonpath.as_deref());
    cmd.arg(script)
        .args(["--ops", &join(&opts.ops), "--dtypes", &join(&opts.dtypes)])
        .args([
            "--sizes",
            &opts
                .sizes
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ])
        .args(["--level", level, "--seed", &opts.seed.to_string()])
        .args(["--target-sample-ms", &opts.target_sample_ms.to_string()])
        .args(["--warmup-ms", &opts.warmup_ms.to_string()])
        .args(["--subsamples", &opts.subsamples.to_string()])
        .args(["--lead-in", &opts.lead_in.to_string()])
        .args(["--cell-budget-s", &opts.cell_budget_s.to_string()])
        .args([
            "--min-rounds",
            &opts.min_rounds.to_string(),
            "--max-rounds",
            &opts.max_rounds.to_string(),
        ])
        .args(["--target-se", &opts.target_se.to_string()])
        .env("RAPTORS_SIMD", level)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(t) = opts.threads {
        cmd.env("RAPTORS_THREADS", t.to_string());
    }
    if opts.quick {
        cmd.arg("--quick");
    }
    if first_level_done {
        cmd.arg("--no-self-check");
    }
    if let Some(r) = &opts.regimes {
        cmd.args(["--regimes", &join(r)]);
    }
    if let Some(h) = opts.headline.runner_arg() {
        cmd.args(["--headline", &h]);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", opts.python.display()))?;
    let stdout = child.stdout.take().context("child stdout")?;
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut forwarded = false;
    let mut finished = false;
    let mut started = Instant::now();
    loop {
        if interrupted() && !forwarded {
            // A terminal Ctrl-C reaches the child directly; `kill -INT <our pid>` does not. Forward it.
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            forwarded = true;
            out.interrupted = true;
            say(pb, "interrupted: keeping the finished cells".into());
        }
        let line = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) => l,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let msg: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                say(pb, format!("runner printed a non-JSON line ({e}): {line}"));
                continue;
            }
        };
        match msg["type"].as_str().unwrap_or("") {
            "machine" => {
                if out.machine.is_none() {
                    out.machine = Some(msg);
                }
            }
            "plan" => pb.inc_length(msg["cells"].as_array().map_or(0, |a| a.len() as u64)),
            "cell_start" => {
                started = Instant::now();
                pb.set_message(msg["id"].as_str().unwrap_or("?").to_string());
            }
            "cell" => {
                let mut cell: RawCell =
                    serde_json::from_value(msg).context("runner sent a malformed cell")?;
                (cell.bytes_per_call, cell.working_set_bytes) =
                    ideal_bytes(&cell).map(|(moved, working_set)| (moved, Some(working_set)))?;
                let sp = paired_ratios(&cell.ref_ns, &cell.cand_ns)
                    .map(|r| median(&r))
                    .unwrap_or(f64::NAN);
                say(
                    pb,
                    format!(
                        "{:<44} {:>6.3}x  {:>4} rounds × {:<11} {:>5.2} s  {}",
                        cell.id,
                        sp,
                        cell.ref_ns.len(),
                        format!("{}/{}", cell.calls_per_sample, cell.cand_batch()),
                        started.elapsed().as_secs_f64(),
                        if cell.check == "ok" || cell.check.starts_with("ok ") {
                            ""
                        } else {
                            &cell.check
                        }
                    ),
                );
                out.cells.push(cell);
                pb.inc(1);
            }
            "skip" => {
                let sk = Skipped {
                    id: msg["id"].as_str().unwrap_or("?").into(),
                    reason: msg["reason"].as_str().unwrap_or("?").into(),
                };
                say(pb, format!("{:<44} SKIPPED: {}", sk.id, sk.reason));
                out.skipped.push(sk);
                pb.inc(1);
            }
            "done" => finished = true,
            "interrupted" => out.interrupted = true,
            "fatal" => out.error = Some(msg["reason"].as_str().unwrap_or("unknown").to_string()),
            other => say(pb, format!("runner sent unknown message type {other:?}")),
        }
    }
    let status = child.wait().context("waiting for the runner")?;
    let _ = reader.join();
    if !finished && !out.interrupted && out.error.is_none() {
        out.error = Some(format!(
            "runner for level {level} exited early ({status}) without finishing"
        ));
    }
    Ok(())
}

/// Bytes read + written per call by the ideal kernel of the cell's op, and its working set (the op
/// table's figures).
pub fn ideal_bytes(cell: &RawCell) -> Result<(u64, u64)> {
    let table = crate::ops::table();
    let op = table.op(&cell.op)?;
    let dtype = table.dtype(&cell.dtype)?;
    let (read, written) = op.bytes_per_call(&cell.shape, dtype.itemsize);
    Ok((
        read + written,
        op.working_set_bytes(&cell.shape, dtype.itemsize),
    ))
}

/// Modified paths listed in a results file at most (the flag itself covers all).
pub const DIRTY_PATHS_MAX: usize = 20;

/// `git rev-parse HEAD` + dirty flag and paths; "unknown" when git is unavailable.
pub fn git_info() -> crate::model::GitInfo {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
    };
    // Source changes only: the results of an earlier run in the same session (benchmarks/)
    // must not mark the next run's measurements as coming from modified code.
    let status = run(&[
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ":/",
        ":(top,exclude)benchmarks",
    ])
    .unwrap_or_default();
    let (dirty, dirty_paths) = dirty_from_porcelain(&status);
    crate::model::GitInfo {
        commit: run(&["rev-parse", "HEAD"]).map_or_else(|| "unknown".into(), |s| s.trim().into()),
        dirty,
        dirty_paths,
    }
}

/// The dirty flag and up to [`DIRTY_PATHS_MAX`] paths from `git status --porcelain` (v1:
/// two status columns, a space, the path; renames as `old -> new`).
fn dirty_from_porcelain(status: &str) -> (bool, Vec<String>) {
    let paths: Vec<String> = status
        .lines()
        .filter(|l| l.len() > 3)
        .map(|l| l[3..].to_string())
        .collect();
    let dirty = !paths.is_empty();
    (dirty, paths.into_iter().take(DIRTY_PATHS_MAX).collect())
}

/// Current UTC time as RFC 3339 (civil-from-days, avoids a date-time dependency).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `x86_64-amd-epyc-2cpu`: architecture, CPU model slug, logical CPUs.
pub fn machine_tag(machine: &serde_json::Value) -> String {
    let model = machine["cpu_model"].as_str().unwrap_or("unknown-cpu");
    let mut slug = String::new();
    for ch in model.to_lowercase().chars() {
        if ch.is_ascii_alphanumeric() {
            slug.push(ch);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let arch = machine["arch"].as_str().unwrap_or(std::env::consts::ARCH);
    let cpus = machine["logical_cpus"].as_u64().unwrap_or(0);
    format!("{arch}-{slug}-{cpus}cpu")
}

/// What the `.py` files among `files` import from `python/` that `files` does not hold (for the
/// tests of every directory the scripts are written to: a module left out fails only at run time).
#[cfg(test)]
pub(crate) fn unshipped_imports(files: &[(&str, &str)]) -> Vec<String> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
    let mut missing = Vec::new();
    for (name, text) in files.iter().filter(|(n, _)| n.ends_with(".py")) {
        for line in text.lines().map(str::trim_start) {
            let Some(rest) = line
                .strip_prefix("import ")
                .or_else(|| line.strip_prefix("from "))
            else {
                continue;
            };
            let module = rest.split([' ', ',', '.']).next().unwrap_or_default();
            let file = format!("{module}.py");
            if python.join(&file).is_file() && !files.iter().any(|(n, _)| *n == file) {
                missing.push(format!("{name} imports {module}"));
            }
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_imported_script_is_written_with_the_scripts() {
        assert_eq!(
            super::unshipped_imports(&super::SCRIPTS),
            Vec::<String>::new()
        );
        // The check sees the imports: without the op table module the runner lacks it.
        let without: Vec<_> = super::SCRIPTS
            .into_iter()
            .filter(|(n, _)| *n != "bench_ops.py")
            .collect();
        assert!(super::unshipped_imports(&without)
            .contains(&"compare_runner.py imports bench_ops".to_string()));
    }

    #[test]
    fn sampling_constants_match_the_runner_script() {
        for line in [
            format!("MIN_TIME_FRACTION = {:?}", super::STOP_MIN_TIME_FRACTION),
            format!("HARD_CAP_FACTOR = {:?}", super::STOP_HARD_CAP_FACTOR),
            format!("MEAN_CAP_FACTOR = {:?}", super::STOP_MEAN_CAP_FACTOR),
            format!("DECISION_Z = {:?}", super::STOP_DECISION_Z),
            format!("HARD_MIN_ROUNDS = {}", super::STOP_HARD_MIN_ROUNDS),
            format!("SE_CHECK_EVERY = {}", super::STOP_SE_CHECK_EVERY),
            format!("AA_MIN_BUDGET_S = {:?}", super::STOP_AA_MIN_BUDGET_S),
            format!("LEAD_IN_MIN_CALLS = {}", super::LEAD_IN_MIN_CALLS),
        ] {
            assert!(
                super::TIMING_PY.lines().any(|l| l == line),
                "timing.py lacks `{line}`"
            );
        }
        // DECISION_Z is the two-sided normal quantile of the default decision confidence.
        let conf = crate::stats::StatsConfig::default().decision_confidence;
        assert!((conf - 0.99).abs() < 1e-12 && (STOP_DECISION_Z - 2.5758).abs() < 1e-3);
    }

    use super::*;

    #[test]
    fn dirty_paths_come_from_porcelain_status() {
        assert_eq!(dirty_from_porcelain(""), (false, vec![]));
        let (dirty, paths) =
            dirty_from_porcelain(" M docs/ARCHITECTURE.md\nM  crates/a.rs\nR  old.rs -> new.rs\n");
        assert!(dirty);
        assert_eq!(
            paths,
            ["docs/ARCHITECTURE.md", "crates/a.rs", "old.rs -> new.rs"]
        );
        let many: String = (0..30).map(|i| format!(" M f{i}.rs\n")).collect();
        let (dirty, paths) = dirty_from_porcelain(&many);
        assert!(dirty && paths.len() == DIRTY_PATHS_MAX);
    }

    #[test]
    fn machine_tag_is_a_clean_slug() {
        let m = serde_json::json!({"cpu_model": "AMD EPYC 9R14 96-Core Processor", "arch": "x86_64", "logical_cpus": 2});
        assert_eq!(
            machine_tag(&m),
            "x86_64-amd-epyc-9r14-96-core-processor-2cpu"
        );
    }

    #[test]
    fn utc_now_is_rfc3339_shaped() {
        let s = utc_now();
        assert_eq!(s.len(), 20, "{s}");
        assert!(
            s.starts_with("20") && s.ends_with('Z') && &s[10..11] == "T",
            "{s}"
        );
    }

    #[test]
    fn missing_python_is_a_clear_error() {
        let err = check_python(Path::new("/nonexistent/python3")).unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot run Python interpreter"),
            "{err:#}"
        );
    }
}
