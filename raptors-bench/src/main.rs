//! `raptors-bench`: Raptors-vs-NumPy comparison, counters and power simulation (see README.md).

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use raptors_bench::collect::{run_counters, summary, CountersOptions, ValgrindMode};
use raptors_bench::compare::CompareOptions;
use raptors_bench::model::HeadlineCells;
use raptors_bench::ops::Suite;
use raptors_bench::power;
use raptors_bench::report::{output_paths, read_results, write_atomic};
use raptors_bench::runner;
use raptors_bench::stats::StatsConfig;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Default `--ops` of a subcommand: the op table's set for that tool.
fn default_ops(suite: Suite) -> String {
    raptors_bench::ops::table().default_list(suite)
}

#[derive(Parser)]
#[command(
    name = "raptors-bench",
    version,
    about = "Raptors vs NumPy: paired timing with CIs, counters, power check"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Time Raptors against NumPy in one Python process; write <out-dir>/<name>.json/.md(/.png).
    Compare(CompareArgs),
    /// perf stat (or, where perf cannot count, valgrind cachegrind) per op; write counters.json.
    Counters(CountersArgs),
    /// Simulate power / false-positive rate of the decision rule from recorded results' noise.
    Power(PowerArgs),
    /// Summarise the last `cargo bench -p raptors-bench` into <out-dir>/<name>.md/.json (GB/s per level).
    CriterionReport(CriterionArgs),
    /// Run every op under valgrind's callgrind: hottest function per op and library, executions per
    /// instruction address; write --out (JSON).
    Callgrind(CallgrindArgs),
    /// Measure the read-bandwidth bounds (cache, DRAM) the compare report sets cells against.
    Bandwidth {
        /// Threads reading together (default: the CPUs available, as Raptors uses).
        #[arg(long)]
        threads: Option<usize>,
        /// Rounds to measure (the machine is shared: watch the spread).
        #[arg(long, default_value_t = 1)]
        rounds: usize,
    },
    /// Print the op table (ops.json) as this build reads it.
    Ops {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct CallgrindArgs {
    #[arg(long)]
    python: Option<PathBuf>,
    /// Comma-separated ops (default: the op table's profile set).
    #[arg(long)]
    ops: Option<String>,
    #[arg(long, default_value = "f32,f64")]
    dtypes: String,
    #[arg(long, default_value_t = raptors_bench::callgrind::DEFAULT_SIZE)]
    size: usize,
    #[arg(long, default_value_t = raptors_bench::callgrind::DEFAULT_REPS)]
    reps: usize,
    /// RAPTORS_SIMD under valgrind (default: the best level valgrind runs here).
    #[arg(long)]
    level: Option<String>,
    /// NumPy's / Raptors's extension module (default: what the driver reports it loaded).
    #[arg(long)]
    numpy_lib: Option<PathBuf>,
    #[arg(long)]
    raptors_lib: Option<PathBuf>,
    /// Keep the callgrind profiles in this directory.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    #[arg(long, default_value = "callgrind.json")]
    out: PathBuf,
    #[arg(long, hide = true)]
    pythonpath: Option<PathBuf>,
}

fn callgrind_cmd(a: CallgrindArgs) -> Result<ExitCode> {
    let python = a.python.unwrap_or_else(default_python);
    runner::check_python(&python)?;
    let mut opts = raptors_bench::callgrind::CallgrindOptions::new(&python);
    if let Some(ops) = &a.ops {
        opts.ops = split(ops, "op")?;
    }
    opts.dtypes = split(&a.dtypes, "dtype")?;
    opts.size = a.size;
    opts.reps = a.reps;
    opts.level = a.level;
    opts.numpy_lib = a.numpy_lib;
    opts.raptors_lib = a.raptors_lib;
    opts.work_dir = a.work_dir;
    opts.pythonpath = a.pythonpath;
    let run = raptors_bench::callgrind::run(&opts)?;
    write_atomic(&a.out, serde_json::to_string(&run)?.as_bytes())?;
    print!("{}", raptors_bench::callgrind::summary_text(&run));
    eprintln!("wrote {}", a.out.display());
    Ok(if run.errors().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn ops_cmd(json: bool) -> Result<ExitCode> {
    let t = raptors_bench::ops::table();
    if json {
        println!("{}", serde_json::to_string_pretty(t)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("| op | NumPy | Raptors | reads | result | dtypes | default in |\n|---|---|---|---|---|---|---|");
    for o in &t.ops {
        println!(
            "| {} | `{}` | `{}` | {:?} | {:?}{} | {} | {:?} |",
            o.name,
            o.numpy,
            o.raptors,
            o.reads,
            o.result,
            if o.out { " (into o)" } else { "" },
            o.dtypes.join(","),
            o.default_in
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
struct CriterionArgs {
    #[arg(long, default_value = "target/criterion")]
    dir: PathBuf,
    #[arg(long, default_value = "benchmarks/results")]
    out_dir: PathBuf,
    /// File stem (default: criterion-<machine tag>).
    #[arg(long)]
    name: Option<String>,
}

fn criterion_cmd(a: CriterionArgs) -> Result<ExitCode> {
    let entries = raptors_bench::criterion_report::read_dir(&a.dir)?;
    let machine = serde_json::json!({
        "cpu_model": raptors_bench::machine::cpu_name(),
        "arch": std::env::consts::ARCH,
        "logical_cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
    });
    let tag = runner::machine_tag(&machine);
    let stem = a.name.unwrap_or_else(|| format!("criterion-{tag}"));
    let header = format!(
        "# Criterion kernel benches — {tag}\n\n{} · git {} · {} benchmarks · GB/s = ideal bytes (inputs + output) / median time; \
         0.2 s warm-up + 0.5 s measurement, 10 samples each (`cargo bench -p raptors-bench`)",
        runner::utc_now(),
        runner::git_info().commit,
        entries.len()
    );
    let md = raptors_bench::criterion_report::markdown(&entries, &header);
    let (json_path, md_path, _) = output_paths(&a.out_dir, &stem);
    write_atomic(&md_path, md.as_bytes())?;
    let json = serde_json::json!({"schema": "raptors-bench/criterion/v1", "machine": machine, "machine_tag": tag,
        "date": runner::utc_now(), "git": runner::git_info(), "entries": entries});
    write_atomic(&json_path, serde_json::to_string_pretty(&json)?.as_bytes())?;
    println!("{md}");
    eprintln!("wrote {} and {}", md_path.display(), json_path.display());
    Ok(ExitCode::SUCCESS)
}

fn default_python() -> PathBuf {
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        return Path::new(&venv).join("bin/python");
    }
    let local = Path::new(".venv/bin/python");
    if local.exists() {
        return local.to_path_buf();
    }
    PathBuf::from("python3")
}

fn split<T: std::str::FromStr>(s: &str, what: &str) -> Result<Vec<T>> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.trim()
                .parse::<T>()
                .map_err(|_| anyhow::anyhow!("bad {what} {x:?}"))
        })
        .collect()
}

#[derive(Args)]
struct CompareArgs {
    /// Python interpreter with numpy and raptors (default: $VIRTUAL_ENV, ./.venv, python3).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Smoke mode: sizes 512,1024, 0.25 s per cell (< 60 s). Writes <tag>-quick.*.
    #[arg(long)]
    quick: bool,
    /// Comma-separated ops (default: the op table's compare set).
    #[arg(long)]
    ops: Option<String>,
    #[arg(long, default_value = "f32,f64")]
    dtypes: String,
    /// Square sizes (default 512,1024,2048; quick 512,1024).
    #[arg(long)]
    sizes: Option<String>,
    /// RAPTORS_SIMD per runner process (default: full auto, scalar and this architecture's levels —
    /// x86-64 avx2,avx512, aarch64 neon; quick auto). A forced
    /// level equal to auto's is measured once; one the CPU lacks is skipped with the reason.
    #[arg(long)]
    levels: Option<String>,
    /// Earlier results JSON: flag significant speedup regressions (exit code 3).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Relative change a regression must exceed (besides a CI excluding 1).
    #[arg(long, default_value_t = 0.05)]
    threshold: f64,
    #[arg(long, default_value = "benchmarks/results")]
    out_dir: PathBuf,
    /// File stem (default: machine tag, plus "-threads<N>" with --threads, "-quick" with --quick).
    #[arg(long)]
    name: Option<String>,
    /// Also write a PNG of the speedups with CIs (matplotlib in the same interpreter).
    #[arg(long)]
    plot: bool,
    /// Soft time budget per cell in seconds (default 0.8; quick 0.25): a cell stops once its
    /// speedup is precise enough (--target-se, after a quarter of the budget), else it samples on up
    /// to 3 budgets, as long as the cells of its level average at most 1.5 budgets (time bank).
    #[arg(long)]
    cell_budget: Option<f64>,
    /// Relative standard error of the median speedup at which a cell stops (0: fixed budget).
    #[arg(long, default_value_t = 0.005)]
    target_se: f64,
    /// RAPTORS_THREADS for the runner (default: Raptors's own, all cores). `--threads 1` compares
    /// the kernels without the noise of a shared second core (see docs/performance.md).
    #[arg(long)]
    threads: Option<usize>,
    /// Minimum duration of one timed sub-sample (a batch of calls), ms. Short samples give more
    /// rounds per second; the round-to-round noise here is machine state, not timer resolution.
    #[arg(long, default_value_t = 0.5)]
    target_sample_ms: f64,
    /// Sub-samples per side per round (ABBA order); each side's fastest is the round's value.
    #[arg(long, default_value_t = 2)]
    subsamples: usize,
    /// Untimed calls of the same side before each timed sample of >= 8 calls, as a fraction of the
    /// sample's calls (at least 2; 0: none): a sample measures repeated calls in their steady
    /// state, not the transition from the other library's sample (caches, Raptors's helper
    /// threads parked).
    #[arg(long, default_value_t = 0.125)]
    lead_in: f64,
    #[arg(long, default_value_t = 12345)]
    seed: u64,
    /// Bandwidth bound for working sets that fit the last-level cache (GB/s). Default: measured
    /// after the runner, with the threads Raptors used.
    #[arg(long)]
    bw_cache: Option<f64>,
    /// Bandwidth bound from DRAM (GB/s). Default: measured after the runner, like --bw-cache.
    #[arg(long)]
    bw_dram: Option<f64>,
    /// Timing regimes (op table), each measured on every cell: hot,after-idle,cache-cold,burst.
    /// Default: hot everywhere, the headline regimes on the op table's headline cells.
    #[arg(long)]
    regimes: Option<String>,
    /// Extra PYTHONPATH entry for the runner (tests use a stand-in raptors module).
    #[arg(long, hide = true)]
    pythonpath: Option<PathBuf>,
}

#[derive(Args)]
struct CountersArgs {
    #[arg(long)]
    python: Option<PathBuf>,
    #[arg(long, default_value = "counters.json")]
    out: PathBuf,
    /// Comma-separated ops (default: the op table's compare set).
    #[arg(long)]
    ops: Option<String>,
    #[arg(long, default_value = "f32")]
    dtype: String,
    #[arg(long, default_value_t = 512)]
    size: usize,
    /// Calls per perf run: enough that the op, not interpreter start-up jitter, dominates task-clock.
    #[arg(long, default_value_t = 2000)]
    perf_iters: u64,
    #[arg(long, default_value_t = 10)]
    valgrind_iters: u64,
    #[arg(long, value_enum, default_value = "auto")]
    valgrind: ValgrindMode,
    /// RAPTORS_SIMD under valgrind (default: the best level valgrind runs here; it cannot execute
    /// AVX-512).
    #[arg(long)]
    valgrind_level: Option<String>,
    /// Parallel perf/valgrind processes.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    #[arg(long, hide = true)]
    pythonpath: Option<PathBuf>,
}

#[derive(Args)]
struct PowerArgs {
    /// Results JSON files whose per-round noise is resampled.
    #[arg(required = true)]
    results: Vec<PathBuf>,
    #[arg(long, default_value_t = 0.03)]
    shift: f64,
    #[arg(long, default_value_t = 200)]
    experiments: usize,
    /// Replay the runner's stopping rule on every simulated stream (up to the cell's recorded
    /// time limit) instead of drawing the recorded number of rounds: the power of the procedure
    /// as it runs. Cells of files without `rounds_s` keep their recorded count.
    #[arg(long)]
    sequential: bool,
    #[arg(long)]
    out: Option<PathBuf>,
}

fn compare(a: CompareArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let python = a.python.clone().unwrap_or_else(default_python);
    let versions = runner::check_python(&python)?;
    eprintln!("python {} (Python, NumPy: {versions})", python.display());
    let mut opts = CompareOptions::new(python, a.quick);
    let r = &mut opts.runner;
    if let Some(ops) = &a.ops {
        r.ops = split(ops, "op")?;
    }
    r.dtypes = split(&a.dtypes, "dtype")?;
    if let Some(sizes) = &a.sizes {
        r.sizes = split(sizes, "size")?;
    }
    if let Some(levels) = &a.levels {
        r.levels = split(levels, "level")?;
    }
    r.target_sample_ms = a.target_sample_ms;
    r.subsamples = a.subsamples;
    r.lead_in = a.lead_in;
    if let Some(b) = a.cell_budget {
        r.cell_budget_s = b;
    }
    r.target_se = a.target_se;
    r.threads = a.threads;
    r.seed = a.seed;
    r.pythonpath = a.pythonpath.clone();
    r.regimes = a
        .regimes
        .as_deref()
        .map(|x| split(x, "regime"))
        .transpose()?;
    let ops_given = a.ops.as_deref().map(|o| split(o, "op")).transpose()?;
    r.headline = HeadlineCells::for_selection(ops_given.as_deref(), a.sizes.is_some());
    r.check_regimes()?;
    opts.baseline = a.baseline.clone();
    opts.threshold = a.threshold;
    opts.out_dir = a.out_dir.clone();
    opts.name = a.name.clone();
    opts.plot = a.plot;
    opts.bw_cache_gbs = a.bw_cache;
    opts.bw_dram_gbs = a.bw_dram;
    let out = raptors_bench::compare::run(&opts)?;
    let results = &out.results;
    let mut code = ExitCode::SUCCESS;
    if let (Some((md, regressions)), Some(base)) = (&out.baseline, &a.baseline) {
        println!("{md}");
        if *regressions > 0 {
            eprintln!(
                "{regressions} significant regression(s) against {}",
                base.display()
            );
            code = ExitCode::from(3);
        }
    }
    println!("{}", raptors_bench::report::aa_table(&results.aa_check));
    println!("{}", raptors_bench::report::table(&results.cells));
    for a in results.aa_check.iter().filter(|a| !a.pass) {
        eprintln!(
            "WARNING: self-check {} expected {:?} but got {:?}",
            a.id, a.expected, a.verdict
        );
    }
    for s in &results.skipped {
        eprintln!("not measured: {}: {}", s.id, s.reason);
    }
    eprintln!(
        "wrote {} and {} ({:.1} s)",
        out.json_path.display(),
        out.md_path.display(),
        started.elapsed().as_secs_f64()
    );
    match &out.png {
        Ok(png) => eprintln!("wrote {}", png.display()),
        Err(e) if a.plot => {
            eprintln!("{e}; JSON and table were written");
            code = ExitCode::from(4);
        }
        Err(_) => {}
    }
    if let Some(e) = &results.runner_error {
        eprintln!("runner error: {e}");
        return Ok(ExitCode::FAILURE);
    }
    if results.interrupted {
        eprintln!("interrupted: partial results written");
        return Ok(ExitCode::from(130));
    }
    Ok(code)
}

fn counters(a: CountersArgs) -> Result<ExitCode> {
    let python = a.python.unwrap_or_else(default_python);
    runner::check_python(&python)?;
    let opts = CountersOptions {
        python,
        pythonpath: a.pythonpath,
        ops: split(&a.ops.unwrap_or_else(|| default_ops(Suite::Compare)), "op")?,
        dtype: a.dtype,
        size: a.size,
        perf_iters: a.perf_iters,
        valgrind_iters: a.valgrind_iters,
        valgrind: a.valgrind,
        valgrind_level: a.valgrind_level,
        jobs: a.jobs,
    };
    let rep = run_counters(&opts)?;
    write_atomic(&a.out, serde_json::to_string_pretty(&rep)?.as_bytes())?;
    print!("{}", summary(&rep));
    eprintln!("wrote {}", a.out.display());
    let failed = rep
        .perf_runs
        .iter()
        .chain(&rep.valgrind_runs)
        .any(|r| r.error.is_some());
    Ok(if failed || runner::interrupted() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn power_cmd(a: PowerArgs) -> Result<ExitCode> {
    let results = a
        .results
        .iter()
        .map(|p| read_results(p))
        .collect::<Result<Vec<_>>>()?;
    let rounds = if a.sequential {
        power::Rounds::Sequential
    } else {
        power::Rounds::Fixed
    };
    let rep = power::simulate(
        &results,
        rounds,
        a.shift,
        a.experiments,
        &StatsConfig::default(),
    )
    .context("power simulation")?;
    println!("| cell | rounds (simulated mean) | ratio spread | drift | false-positive rate | power (slower) | power (faster) |\n|---|---:|---:|---:|---:|---:|---:|");
    for c in &rep.cells {
        println!(
            "| {} | {} ({:.0}) | {:.2} % | {:.0} %{} | {:.1} % | {:.1} % | {:.1} % |",
            c.id,
            c.rounds,
            c.simulated_rounds,
            c.rel_spread * 100.0,
            c.drift * 100.0,
            if c.unstable() { " (unstable)" } else { "" },
            c.false_positive_rate * 100.0,
            c.power_slower * 100.0,
            c.power_faster * 100.0
        );
    }
    let line = |what: &str, s: &power::PowerSummary| {
        println!(
            "{what}: {} cells × {} experiments, shift {:.1} %: false positives {:.2} % (worst cell {:.1} %), power {:.1} % \
             (worst cell {:.1} %), {} cells with >= 95 % power both ways",
            s.cells,
            rep.experiments_per_cell,
            rep.shift * 100.0,
            s.false_positive_rate * 100.0,
            s.worst_false_positive_rate * 100.0,
            s.power * 100.0,
            s.worst_power * 100.0,
            s.cells_at_95_power
        );
    };
    println!(
        "\nrounds per experiment: {}",
        match rep.rounds {
            power::Rounds::Fixed => "each cell's recorded count",
            power::Rounds::Sequential => "the runner's stopping rule replayed on each stream",
        }
    );
    line("all cells", &rep.all);
    line("stable cells (drift <= 10 %)", &rep.stable);
    if let Some(out) = a.out {
        write_atomic(&out, serde_json::to_string_pretty(&rep)?.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn bandwidth_cmd(threads: Option<usize>, rounds: usize) -> Result<ExitCode> {
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let llc = raptors_bench::bandwidth::last_level_cache_sysfs().unwrap_or(32 << 20);
    let mut method = String::new();
    for _ in 0..rounds.max(1) {
        let m = raptors_bench::bandwidth::measure(threads, llc);
        println!("cache {:.1} GB/s  dram {:.1} GB/s", m.cache_gbs, m.dram_gbs);
        method = m.method;
    }
    println!("last-level cache {} MiB; {method}", llc >> 20);
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Compare(a) => compare(a),
        Cmd::Counters(a) => counters(a),
        Cmd::Power(a) => power_cmd(a),
        Cmd::CriterionReport(a) => criterion_cmd(a),
        Cmd::Callgrind(a) => callgrind_cmd(a),
        Cmd::Bandwidth { threads, rounds } => bandwidth_cmd(threads, rounds),
        Cmd::Ops { json } => ops_cmd(json),
    };
    runner::cleanup_scratch();
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
