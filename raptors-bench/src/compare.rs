//! The Raptors-vs-NumPy comparison as a library call: the runner ([`crate::runner`]) per SIMD level,
//! statistics and the stored verdict per cell ([`crate::report::analyze`]), the A/A self-checks,
//! an optional baseline, and the results JSON + markdown (+ plot). `raptors-bench compare` and
//! `cargo xtask bench`/`profile` call [`run`]; neither decides anything about the cells itself.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, ensure, Result};

use crate::model::{Results, RunConfig, Skipped, RESULTS_SCHEMA};
use crate::report::{aa_summaries, analyze, markdown, output_paths, read_results, write_atomic};
use crate::runner::{self, RunnerOptions};
use crate::stats::StatsConfig;

#[derive(Clone, Debug)]
pub struct CompareOptions {
    pub runner: RunnerOptions,
    /// Earlier results: significant speedup regressions are listed (and counted in the outcome).
    pub baseline: Option<PathBuf>,
    /// Relative change a regression must exceed (besides an interval excluding 1).
    pub threshold: f64,
    pub out_dir: PathBuf,
    /// File stem; None: the machine tag, plus `-threads<N>` and `-quick`.
    pub name: Option<String>,
    /// Also write a PNG of the speedups (matplotlib in the same interpreter).
    pub plot: bool,
    /// Bandwidth bounds given by the user (GB/s); None: measured before and after the runner, the
    /// better of the two ([`crate::bandwidth::measure`], with the threads Raptors used).
    pub bw_cache_gbs: Option<f64>,
    pub bw_dram_gbs: Option<f64>,
}

impl CompareOptions {
    /// `raptors-bench compare`'s defaults: the op table's compare set, f32 and f64; full: sizes
    /// 512/1024/2048, the automatic level plus `scalar` and every level of this architecture,
    /// 0.8 s per cell; quick: 512/1024, the automatic level, 0.25 s per cell.
    pub fn new(python: PathBuf, quick: bool) -> CompareOptions {
        let mut levels = vec!["auto".to_string()];
        if !quick {
            levels.push("scalar".into());
            levels.extend(
                crate::machine::simd_levels(std::env::consts::ARCH)
                    .iter()
                    .filter(|l| **l != "sse2")
                    .map(|l| l.to_string()),
            );
        }
        let ops = crate::ops::table().default_ops(crate::ops::Suite::Compare);
        CompareOptions {
            runner: RunnerOptions {
                python,
                ops: ops.iter().map(|o| o.name.clone()).collect(),
                dtypes: vec!["f32".into(), "f64".into()],
                sizes: if quick {
                    vec![512, 1024]
                } else {
                    vec![512, 1024, 2048]
                },
                levels,
                quick,
                target_sample_ms: 0.5,
                subsamples: 2,
                lead_in: 0.125,
                warmup_ms: if quick { 15.0 } else { 30.0 },
                cell_budget_s: if quick { 0.25 } else { 0.8 },
                min_rounds: if quick { 20 } else { 30 },
                max_rounds: 2000,
                target_se: 0.005,
                threads: None,
                seed: 12345,
                pythonpath: None,
                regimes: None,
                headline: crate::model::HeadlineCells::All,
            },
            baseline: None,
            threshold: 0.05,
            out_dir: PathBuf::from("benchmarks/results"),
            name: None,
            plot: false,
            bw_cache_gbs: None,
            bw_dram_gbs: None,
        }
    }
}

/// What a comparison run produced. Every cell carries its stored verdict.
#[derive(Debug)]
pub struct CompareOutcome {
    pub results: Results,
    pub json_path: PathBuf,
    pub md_path: PathBuf,
    /// The plot, when asked for and written; else why not (when asked for).
    pub png: Result<PathBuf, String>,
    /// The baseline comparison (markdown, also appended to the results markdown) and its number
    /// of significant regressions.
    pub baseline: Option<(String, usize)>,
}

/// Runs the comparison and writes `<out_dir>/<stem>.json` and `.md` (and `.png`). An `Err` means
/// nothing was measured; a runner that failed or was interrupted part-way still writes what it
/// measured (`results.runner_error`, `results.interrupted`).
pub fn run(opts: &CompareOptions) -> Result<CompareOutcome> {
    let started = Instant::now();
    let r = &opts.runner;
    ensure!(
        r.cell_budget_s > 0.0 && r.target_sample_ms > 0.0 && r.subsamples > 0,
        "budget, sample time and sub-samples must be positive"
    );
    ensure!(
        r.target_se >= 0.0 && r.lead_in >= 0.0 && r.threads != Some(0),
        "--target-se and --lead-in must be >= 0 and --threads >= 1"
    );
    // Raptors's threads, so the bound is what the cells could reach.
    let bw_threads = r
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let measure_bw = opts.bw_cache_gbs.is_none() || opts.bw_dram_gbs.is_none();
    // Once before and once after the runner (neither disturbs the other): the machine is shared,
    // and one probe of ~0.2 s can land in a minute when other tenants take bandwidth.
    let bw_before = measure_bw.then(|| {
        let llc = crate::bandwidth::last_level_cache_sysfs().unwrap_or(32 << 20);
        crate::bandwidth::measure(bw_threads, llc)
    });
    let outcome = runner::run(r)?;
    let Some(mut machine) = outcome.machine else {
        bail!(
            "runner produced no results: {}",
            outcome.error.unwrap_or_else(|| "no output".into())
        );
    };
    // Other processes' load explains noisy runs; record it next to the runner's start value.
    let load_end: Option<Vec<f64>> = std::fs::read_to_string("/proc/loadavg").ok().map(|s| {
        s.split_whitespace()
            .take(3)
            .filter_map(|v| v.parse().ok())
            .collect()
    });
    machine["load_avg_end"] = serde_json::json!(load_end);
    crate::machine::complete_record(&mut machine);
    let stats_cfg = StatsConfig {
        seed: r.seed,
        ..StatsConfig::default()
    };
    let llc = crate::report::BoundModel::last_level_cache(&machine);
    let (bw_cache, bw_dram, bw_method) = match (opts.bw_cache_gbs, opts.bw_dram_gbs, bw_before) {
        (Some(c), Some(d), _) => (c, d, "given (--bw-cache, --bw-dram)".to_string()),
        (c, d, before) => {
            let after = crate::bandwidth::measure(bw_threads, llc);
            let best = crate::bandwidth::Measured::best_of(before.as_ref(), &after);
            let given = if c.is_some() || d.is_some() {
                " (one bound given, the other measured)"
            } else {
                ""
            };
            (
                c.unwrap_or(best.cache_gbs),
                d.unwrap_or(best.dram_gbs),
                format!("{}{given}", best.method),
            )
        }
    };
    let bounds = crate::report::BoundModel {
        ll_cache_bytes: llc,
        cache_gbs: bw_cache,
        dram_gbs: bw_dram,
    };
    let mut skipped = outcome.skipped;
    let mut cells = Vec::new();
    for raw in outcome.cells {
        let id = raw.id.clone();
        match analyze(raw, &stats_cfg, &bounds) {
            Ok(c) => cells.push(c),
            Err(e) => skipped.push(Skipped {
                id,
                reason: format!("statistics failed: {e:#}"),
            }),
        }
    }
    let tag = runner::machine_tag(&machine);
    let results = Results {
        schema: RESULTS_SCHEMA.into(),
        machine_tag: tag.clone(),
        machine,
        git: runner::git_info(),
        date: runner::utc_now(),
        config: RunConfig {
            quick: r.quick,
            ops: r.ops.clone(),
            dtypes: r.dtypes.clone(),
            sizes: r.sizes.clone(),
            levels: r.levels.clone(),
            target_sample_ms: r.target_sample_ms,
            subsamples: r.subsamples,
            lead_in: r.lead_in,
            cell_budget_s: r.cell_budget_s,
            min_rounds: r.min_rounds,
            max_rounds: r.max_rounds,
            seed: r.seed,
            stats: stats_cfg.clone(),
            bw_cache_gbs: bw_cache,
            bw_dram_gbs: bw_dram,
            bw_method: Some(bw_method),
            env_removed: runner::ENV_REMOVED.iter().map(|s| s.to_string()).collect(),
            env_set: runner::ENV_SET
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            threads: r.threads,
            target_se: r.target_se,
            regimes: r.regimes.clone(),
            headline: Some(r.headline.clone()),
        },
        interrupted: outcome.interrupted,
        runner_error: outcome.error.clone(),
        elapsed_s: started.elapsed().as_secs_f64(),
        aa_check: aa_summaries(&cells),
        skipped,
        cells,
    };
    let stem = opts.name.clone().unwrap_or_else(|| {
        let threads = r
            .threads
            .map(|t| format!("-threads{t}"))
            .unwrap_or_default();
        format!("{tag}{threads}{}", if r.quick { "-quick" } else { "" })
    });
    let (json_path, md_path, png_path) = output_paths(&opts.out_dir, &stem);
    let mut md = markdown(&results);
    let baseline = match &opts.baseline {
        Some(path) => {
            let base = read_results(path)?;
            let rep = crate::baseline::compare(&base, &results, opts.threshold, &stats_cfg)?;
            md.push('\n');
            md.push_str(&rep.markdown());
            Some((rep.markdown(), rep.regressions()))
        }
        None => None,
    };
    crate::report::write_json(&json_path, &results)?;
    write_atomic(&md_path, md.as_bytes())?;
    let png = if !opts.plot {
        Err("no plot was asked for".to_string())
    } else if results.cells.is_empty() {
        Err("no cell was measured".to_string())
    } else {
        plot(r, &json_path, png_path)
    };
    Ok(CompareOutcome {
        results,
        json_path,
        md_path,
        png,
        baseline,
    })
}

fn plot(r: &RunnerOptions, json: &std::path::Path, png: PathBuf) -> Result<PathBuf, String> {
    let script = runner::python_scripts()
        .map_err(|e| format!("{e:#}"))?
        .join("plot_speedups.py");
    let out = std::process::Command::new(&r.python)
        .arg(script)
        .arg(json)
        .arg(&png)
        .output()
        .map_err(|e| format!("the plot failed to start: {e}"))?;
    if out.status.success() {
        Ok(png)
    } else {
        Err(format!(
            "the plot failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
