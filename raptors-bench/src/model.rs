//! JSON shapes shared by the Python runner, the results file and the baseline comparison.
//! Documented field by field in raptors-bench/README.md (xtask profile reads them).

use crate::stats::PairedStats;
use serde::{Deserialize, Serialize};

pub const RESULTS_SCHEMA: &str = "raptors-bench/compare/v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    /// NumPy (reference) vs Raptors (candidate).
    Compare,
    /// NumPy vs the very same NumPy call: must come out as "no difference".
    Aa,
    /// NumPy vs NumPy with the candidate's batch made `injected_factor` times longer (extra calls,
    /// same division): a known slowdown with real timing noise, must come out as "slower".
    AaShift,
}

/// One cell as emitted by `python/compare_runner.py` (one JSON line, `"type": "cell"`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RawCell {
    /// `op/dtype/size/level`, e.g. `mean_axis0/f32/2048/auto`.
    pub id: String,
    pub op: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// RAPTORS_SIMD value the runner process used ("auto" = not forced).
    pub level: String,
    /// Timing regime (the op table's `regimes`): `hot`, `after-idle`, `cache-cold`, `burst`.
    /// Files from before regimes were measured in `hot`.
    #[serde(default = "hot")]
    pub regime: String,
    pub kind: CellKind,
    /// Python expression timed on the reference side, e.g. `x.mean(axis=0)` (the op table's).
    pub expr: String,
    /// Expression timed on the candidate side (the op table's `raptors`; `expr` in A/A cells).
    /// None in files from before the op table had one expression per side (then `expr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cand_expr: Option<String>,
    pub reference: String,
    pub candidate: String,
    /// Reference calls per timed sample (the batch); each stored `ref_ns` is batch time / this.
    pub calls_per_sample: u64,
    /// Candidate calls per timed sample (each side's batch is calibrated to the sample time);
    /// `cand_ns` is batch time / this, except in the A/A-shift cell, whose candidate runs
    /// `injected_factor` times the reference's calls and is divided by `calls_per_sample` (that is
    /// the injected slowdown). None in files from before per-side batches (then equal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cand_calls_per_sample: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected_factor: Option<f64>,
    /// Bytes read + written per call by the ideal kernel (inputs once, output once), from the op
    /// table (`runner::ideal_bytes`): the runner leaves it out, raptors-bench fills it in.
    #[serde(default)]
    pub bytes_per_call: u64,
    /// Bytes of the distinct arrays a call touches (`ops::Op::working_set_bytes`), filled in like
    /// `bytes_per_call`; None in files from before (then `bytes_per_call` stands in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_set_bytes: Option<u64>,
    /// Per-call nanoseconds, one value per round, index-paired with `cand_ns`.
    pub ref_ns: Vec<f64>,
    pub cand_ns: Vec<f64>,
    /// Rounds in which the candidate was timed first (order is randomized per round).
    pub cand_first_rounds: usize,
    /// "ok", or what was wrong when the two sides' results were compared before timing.
    pub check: String,
    pub warmup_calls: u64,
    pub elapsed_s: f64,
    /// Sub-samples per side per round; the round keeps each side's fastest.
    #[serde(default = "one")]
    pub subsamples: usize,
    /// Untimed calls of the same side before each timed sample (0: none, or a file from before
    /// lead-ins), for the reference and the candidate.
    #[serde(default)]
    pub lead_in_calls: usize,
    #[serde(default)]
    pub cand_lead_in_calls: usize,
    /// Sub-samples > 20 % slower than their side's fastest in the same round (preemption hits).
    #[serde(default)]
    pub slow_subsamples_ref: usize,
    #[serde(default)]
    pub slow_subsamples_cand: usize,
    /// Seconds spent in the timed rounds (after warm-up and calibration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds_s: Option<f64>,
    /// The runner's standard-error estimate of the median speedup when it stopped (relative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_se: Option<f64>,
    /// Why the runner stopped the cell: "precision" (standard error reached the target),
    /// "time_limit", "max_rounds", or "budget" (fixed-budget mode). None in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// The time limit of this cell's rounds from the runner's time bank, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds_limit_s: Option<f64>,
    /// CPU time per call (user + system), one value per round, index-paired with `ref_ns`: the
    /// runner thread's CPU over the round's timed samples of that side. Empty in files from
    /// before CPU time was measured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ref_cpu_ns: Vec<f64>,
    /// The candidate's, plus its helper threads' CPU over the round spread over its calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cand_cpu_ns: Vec<f64>,
    /// The helper threads' part of `cand_cpu_ns` (per call, per round); empty when not measured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cand_helper_cpu_ns: Vec<f64>,
    /// How the CPU times were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_clock: Option<CpuClockInfo>,
    /// What preceded each timed sample (regimes other than `hot`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regime_setup: Option<RegimeSetup>,
}

/// How a cell's CPU times were read (`RawCell::cpu`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuClockInfo {
    /// `thread_clocks`: per-thread CPU clocks, exact; `process_time`: the process clock around
    /// each sample (other threads' time arrives in lumps at scheduler ticks, helpers not split).
    pub clock: String,
    /// CPU time of an empty measured window, subtracted from every sample.
    pub window_overhead_ns: u64,
    /// The helper threads' CPU was measured and charged to the candidate.
    pub helpers_counted: bool,
    /// Names of the process's other threads at the end of the cell.
    #[serde(default)]
    pub threads: Vec<String>,
}

/// What the runner did before each timed sample of a regime other than `hot`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegimeSetup {
    /// Calls per timed sample (both sides).
    pub calls: Option<u32>,
    /// Other work before each sample, at least this long (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_ms: Option<f64>,
    /// Loop iterations of that work (median over the cell's samples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_iterations_median: Option<u64>,
    /// Bytes read from the scratch buffer before each sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evict_bytes: Option<u64>,
    /// The last-level cache size the buffer was sized from, and where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llc_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llc_source: Option<String>,
}

impl RawCell {
    /// The candidate's batch (files from before per-side batches: the reference's).
    pub fn cand_batch(&self) -> u64 {
        self.cand_calls_per_sample.unwrap_or(self.calls_per_sample)
    }

    /// `op/dtype/shape/level/regime` from the fields: the same cell in files of any version
    /// (older ids named the square size and no regime).
    pub fn key(&self) -> String {
        let shape: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        format!(
            "{}/{}/{}/{}/{}",
            self.op,
            self.dtype,
            shape.join("x"),
            self.level,
            self.regime
        )
    }
}

fn one() -> usize {
    1
}

fn hot() -> String {
    crate::ops::HOT.to_string()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Bandwidth {
    pub bytes_per_call: u64,
    pub ref_gbs: f64,
    pub cand_gbs: f64,
    /// "cache" when the working set fits comfortably in the last-level cache, else "dram".
    pub bound_kind: String,
    /// The working set that decided `bound_kind` (None in files from before, which used
    /// `bytes_per_call`: an in-place op counted its array twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_set_bytes: Option<u64>,
    pub bound_gbs: f64,
    pub cand_pct_of_bound: f64,
    /// The speedup a call reading its bytes at the bound would have against NumPy's median: a goal
    /// above it cannot be met on this machine (for working sets in L2 the bound is not one).
    /// None in files from before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speedup_ceiling: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cell {
    #[serde(flatten)]
    pub raw: RawCell,
    pub stats: PairedStats,
    pub bandwidth: Bandwidth,
    /// CPU time per call of both sides and their ratio; None when the file has no CPU times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<crate::stats::CpuStats>,
}

/// A cell the runner could not measure, with the reason (never silently dropped).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub id: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AaSummary {
    pub id: String,
    pub kind: CellKind,
    pub speedup: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Expected verdict: `no_difference` for A/A, `slower` for the injected shift.
    pub expected: crate::stats::Verdict,
    pub verdict: crate::stats::Verdict,
    pub pass: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GitInfo {
    pub commit: String,
    /// Tracked files outside `benchmarks/` differ from `commit`.
    pub dirty: bool,
    /// Which ones (at most `runner::DIRTY_PATHS_MAX`), so a reader can tell a text edit from a
    /// code change. Empty in files from before this field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirty_paths: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunConfig {
    pub quick: bool,
    pub ops: Vec<String>,
    pub dtypes: Vec<String>,
    pub sizes: Vec<usize>,
    pub levels: Vec<String>,
    pub target_sample_ms: f64,
    pub subsamples: usize,
    /// Untimed lead-in calls before each sample, fraction of its calls (0 in files written before
    /// lead-ins existed).
    #[serde(default)]
    pub lead_in: f64,
    pub cell_budget_s: f64,
    pub min_rounds: usize,
    pub max_rounds: usize,
    pub seed: u64,
    pub stats: crate::stats::StatsConfig,
    pub bw_cache_gbs: f64,
    pub bw_dram_gbs: f64,
    /// How the two bounds were found (measured, and how; or given). None in files from before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bw_method: Option<String>,
    /// Environment variables removed from / set for the runner process.
    pub env_removed: Vec<String>,
    pub env_set: Vec<(String, String)>,
    /// RAPTORS_THREADS given to the runner (None: Raptors's default, all cores).
    #[serde(default)]
    pub threads: Option<usize>,
    /// Stopping rule: relative standard error at which a cell stops (0: fixed budget).
    #[serde(default)]
    pub target_se: f64,
    /// `--regimes` (every cell in each); None: the op table's defaults (`hot` everywhere, the
    /// headline regimes on headline cells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regimes: Option<Vec<String>>,
    /// Which of the op table's headline cells joined the run. None in files from before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<HeadlineCells>,
}

/// Which of the op table's headline cells a comparison adds (at the `auto` level): all of them
/// for the default selection, those of the named ops with `--ops`, none with `--sizes` (the run
/// is then exactly the requested matrix).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadlineCells {
    None,
    All,
    Ops(Vec<String>),
}

impl HeadlineCells {
    /// The selection for a comparison's `--ops` / `--sizes` (None: not given).
    pub fn for_selection(ops: Option<&[String]>, sizes_given: bool) -> Self {
        match (sizes_given, ops) {
            (true, _) => HeadlineCells::None,
            (false, None) => HeadlineCells::All,
            (false, Some(ops)) => HeadlineCells::Ops(ops.to_vec()),
        }
    }

    /// The runner script's `--headline` value (None: no flag).
    pub fn runner_arg(&self) -> Option<String> {
        match self {
            HeadlineCells::None => None,
            HeadlineCells::All => Some("all".into()),
            HeadlineCells::Ops(ops) if ops.is_empty() => None,
            HeadlineCells::Ops(ops) => Some(ops.join(",")),
        }
    }
}

/// `benchmarks/results/<machine-tag>.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    pub schema: String,
    pub machine_tag: String,
    /// Collected by the runner: cpu_model, cpu_flags, logical_cpus, physical_cores, kernel, python,
    /// numpy_version, numpy_show_runtime (text), numpy_simd {baseline, found, not_found},
    /// raptors_version, raptors_simd_level, raptors_path, caches, env (per level: first runner wins).
    pub machine: serde_json::Value,
    pub git: GitInfo,
    /// UTC, RFC 3339.
    pub date: String,
    pub config: RunConfig,
    /// True when Ctrl-C (or a runner crash) ended the run early; `cells` holds what was finished.
    pub interrupted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_error: Option<String>,
    pub elapsed_s: f64,
    pub aa_check: Vec<AaSummary>,
    pub skipped: Vec<Skipped>,
    pub cells: Vec<Cell>,
}
