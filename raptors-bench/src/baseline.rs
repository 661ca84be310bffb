//! `--baseline FILE`: compare this run's speedups with an earlier results file.
//!
//! The compared quantity is the per-cell speedup (NumPy time / Raptors time, measured in the same
//! process), not absolute Raptors time: NumPy serves as the in-process reference, so a noisier or
//! slower VM day moves both sides and does not show up as a Raptors regression.

use crate::model::{CellKind, Results};
use crate::rng::SplitMix64;
use crate::stats::{bootstrap_ratio_of_medians_ci, median, paired_ratios, StatsConfig};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Regression,
    Improvement,
    Unchanged,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CellChange {
    pub id: String,
    pub base_speedup: f64,
    pub cur_speedup: f64,
    /// median(current speedups) / median(baseline speedups); < 1 means Raptors lost ground.
    pub ratio: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub change: Change,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BaselineReport {
    pub baseline_date: String,
    pub baseline_commit: String,
    pub threshold: f64,
    pub cells: Vec<CellChange>,
    pub only_in_baseline: Vec<String>,
    pub only_in_current: Vec<String>,
    pub warnings: Vec<String>,
}

impl BaselineReport {
    pub fn regressions(&self) -> usize {
        self.cells
            .iter()
            .filter(|c| c.change == Change::Regression)
            .count()
    }
    pub fn improvements(&self) -> usize {
        self.cells
            .iter()
            .filter(|c| c.change == Change::Improvement)
            .count()
    }

    pub fn markdown(&self) -> String {
        let mut s = format!(
            "## Baseline comparison (baseline {} @ {}, threshold {:.0} %)\n\n{} regression(s), {} improvement(s)\n\n",
            self.baseline_date,
            self.baseline_commit,
            self.threshold * 100.0,
            self.regressions(),
            self.improvements()
        );
        s.push_str("| cell | baseline speedup | current speedup | ratio | 95 % CI | change |\n|---|---:|---:|---:|---|---|\n");
        for c in &self.cells {
            let _ = writeln!(
                s,
                "| {} | {:.2}x | {:.2}x | {:.3} | {:.3}–{:.3} | {} |",
                c.id,
                c.base_speedup,
                c.cur_speedup,
                c.ratio,
                c.ci_low,
                c.ci_high,
                match c.change {
                    Change::Regression => "**REGRESSION**",
                    Change::Improvement => "improvement",
                    Change::Unchanged => "unchanged",
                }
            );
        }
        for w in &self.warnings {
            let _ = writeln!(s, "\n> warning: {w}");
        }
        if !self.only_in_baseline.is_empty() {
            let _ = writeln!(
                s,
                "\nNot measured this run (present in baseline): {}",
                self.only_in_baseline.join(", ")
            );
        }
        s
    }
}

/// Compare every Raptors cell present in both files.
pub fn compare(
    baseline: &Results,
    current: &Results,
    threshold: f64,
    cfg: &StatsConfig,
) -> Result<BaselineReport> {
    anyhow::ensure!(
        threshold > 0.0 && threshold < 1.0,
        "baseline threshold must be in (0, 1), got {threshold}"
    );
    // Cells are matched by op/dtype/shape/level/regime from their fields, so files written
    // before ids named the regime (all `hot`) still match; the current id is shown.
    let compare_cells = |r: &Results| -> Vec<(String, String, Vec<f64>)> {
        r.cells
            .iter()
            .filter(|c| c.raw.kind == CellKind::Compare)
            .filter_map(|c| {
                paired_ratios(&c.raw.ref_ns, &c.raw.cand_ns)
                    .ok()
                    .map(|v| (c.raw.key(), c.raw.id.clone(), v))
            })
            .collect()
    };
    let base = compare_cells(baseline);
    let cur = compare_cells(current);
    let mut report = BaselineReport {
        baseline_date: baseline.date.clone(),
        baseline_commit: baseline.git.commit.clone(),
        threshold,
        cells: Vec::new(),
        only_in_baseline: Vec::new(),
        only_in_current: Vec::new(),
        warnings: Vec::new(),
    };
    for key in ["numpy_version", "cpu_model", "python"] {
        if baseline.machine[key] != current.machine[key] {
            report.warnings.push(format!(
                "{key} differs: baseline {} vs current {} — speedups are relative to NumPy, so this can move them",
                baseline.machine[key], current.machine[key]
            ));
        }
    }
    for (key, id, cur_ratios) in &cur {
        let Some((_, _, base_ratios)) = base.iter().find(|(b, _, _)| b == key) else {
            report.only_in_current.push(id.clone());
            continue;
        };
        let mut rng = SplitMix64::from_label(cfg.seed, id);
        let iv = bootstrap_ratio_of_medians_ci(cur_ratios, base_ratios, cfg, &mut rng);
        let (ci_low, ci_high) = iv.reported;
        let (dec_low, dec_high) = iv.decision;
        let (cur_speedup, base_speedup) = (median(cur_ratios), median(base_ratios));
        let ratio = cur_speedup / base_speedup;
        // Same rule as a cell verdict: the decision interval (99 %) must exclude 1.
        let change = if dec_high < 1.0 && ratio < 1.0 - threshold {
            Change::Regression
        } else if dec_low > 1.0 && ratio > 1.0 + threshold {
            Change::Improvement
        } else {
            Change::Unchanged
        };
        report.cells.push(CellChange {
            id: id.clone(),
            base_speedup,
            cur_speedup,
            ratio,
            ci_low,
            ci_high,
            change,
        });
    }
    report.only_in_baseline = base
        .iter()
        .filter(|(b, _, _)| !cur.iter().any(|(c, _, _)| c == b))
        .map(|(_, id, _)| id.clone())
        .collect();
    Ok(report)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{GitInfo, RawCell, RunConfig, RESULTS_SCHEMA};
    use crate::report::{analyze, BoundModel};

    /// A synthetic results file: `cells` are (op, Raptors slowdown factor), noise 2 % log-normal.
    pub(crate) fn synthetic_results(seed: u64, cells: &[(&str, f64)]) -> Results {
        let cfg = StatsConfig::default();
        let bounds = BoundModel {
            ll_cache_bytes: 32 << 20,
            cache_gbs: 99.0,
            dram_gbs: 30.0,
        };
        let mut rng = SplitMix64::new(seed);
        let cells = cells
            .iter()
            .map(|(op, slow)| {
                let mut ref_ns = Vec::new();
                let mut cand_ns = Vec::new();
                for _ in 0..80 {
                    let drift = (0.05 * rng.normal()).exp();
                    ref_ns.push(20_000.0 * drift * (0.02 * rng.normal()).exp());
                    cand_ns.push(10_000.0 * slow * drift * (0.02 * rng.normal()).exp());
                }
                let raw = RawCell {
                    id: format!("{op}/f32/1024/auto"),
                    op: op.to_string(),
                    dtype: "f32".into(),
                    shape: vec![1024, 1024],
                    level: "auto".into(),
                    kind: CellKind::Compare,
                    expr: "x + y".into(),
                    cand_expr: None,
                    reference: "numpy".into(),
                    candidate: "raptors".into(),
                    calls_per_sample: 100,
                    cand_calls_per_sample: None,
                    injected_factor: None,
                    bytes_per_call: 12 << 20,
                    working_set_bytes: None,
                    ref_ns,
                    cand_ns,
                    cand_first_rounds: 40,
                    check: "ok".into(),
                    warmup_calls: 10,
                    elapsed_s: 0.5,
                    subsamples: 2,
                    lead_in_calls: 2,
                    cand_lead_in_calls: 2,
                    slow_subsamples_ref: 0,
                    slow_subsamples_cand: 0,
                    rounds_s: None,
                    stop_se: None,
                    stop_reason: None,
                    rounds_limit_s: None,
                    regime: crate::ops::HOT.into(),
                    ref_cpu_ns: vec![],
                    cand_cpu_ns: vec![],
                    cand_helper_cpu_ns: vec![],
                    cpu_clock: None,
                    regime_setup: None,
                };
                analyze(raw, &cfg, &bounds).unwrap()
            })
            .collect();
        Results {
            schema: RESULTS_SCHEMA.into(),
            machine_tag: "test".into(),
            machine: serde_json::json!({"numpy_version": "2.4.6", "cpu_model": "test", "python": "3"}),
            git: GitInfo {
                commit: format!("seed{seed}"),
                dirty: false,
                dirty_paths: Vec::new(),
            },
            date: "2026-01-01T00:00:00Z".into(),
            config: RunConfig {
                quick: false,
                ops: vec![],
                dtypes: vec![],
                sizes: vec![],
                levels: vec![],
                target_sample_ms: 1.0,
                subsamples: 2,
                lead_in: 0.125,
                cell_budget_s: 1.0,
                min_rounds: 30,
                max_rounds: 400,
                seed,
                stats: cfg,
                bw_cache_gbs: 99.0,
                bw_dram_gbs: 30.0,
                bw_method: None,
                env_removed: vec![],
                env_set: vec![],
                threads: None,
                target_se: 0.007,
                regimes: None,
                headline: None,
            },
            interrupted: false,
            runner_error: None,
            elapsed_s: 1.0,
            aa_check: vec![],
            skipped: vec![],
            cells,
        }
    }

    #[test]
    fn deliberately_slowed_kernel_is_flagged_and_nothing_else() {
        let base = synthetic_results(1, &[("add", 1.0), ("sum", 1.0), ("scale", 1.0)]);
        // `sum` made 10 % slower, `scale` 1 % slower (below threshold), `add` unchanged.
        let cur = synthetic_results(2, &[("add", 1.0), ("sum", 1.10), ("scale", 1.01)]);
        let dir =
            std::env::temp_dir().join(format!("raptors-bench-baseline-{}", std::process::id()));
        let (bp, cp) = (dir.join("base.json"), dir.join("cur.json"));
        crate::report::write_json(&bp, &base).unwrap();
        crate::report::write_json(&cp, &cur).unwrap();
        let (base, cur) = (
            crate::report::read_results(&bp).unwrap(),
            crate::report::read_results(&cp).unwrap(),
        );
        let rep = compare(&base, &cur, 0.05, &StatsConfig::default()).unwrap();
        let change = |id: &str| {
            rep.cells
                .iter()
                .find(|c| c.id.starts_with(id))
                .unwrap()
                .change
        };
        assert_eq!(change("sum/"), Change::Regression, "{rep:#?}");
        assert_eq!(change("add/"), Change::Unchanged);
        assert_eq!(change("scale/"), Change::Unchanged);
        assert_eq!(rep.regressions(), 1);
        // and the other way round it is an improvement, not a regression
        let rev = compare(&cur, &base, 0.05, &StatsConfig::default()).unwrap();
        assert_eq!(rev.regressions(), 0);
        assert_eq!(rev.improvements(), 1);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn missing_cells_and_bad_threshold_are_reported() {
        let base = synthetic_results(1, &[("add", 1.0), ("sum", 1.0)]);
        let cur = synthetic_results(2, &[("add", 1.0), ("mean", 1.0)]);
        let rep = compare(&base, &cur, 0.05, &StatsConfig::default()).unwrap();
        assert_eq!(rep.only_in_baseline, vec!["sum/f32/1024/auto".to_string()]);
        assert_eq!(rep.only_in_current, vec!["mean/f32/1024/auto".to_string()]);
        assert!(compare(&base, &cur, 0.0, &StatsConfig::default()).is_err());
    }

    #[test]
    fn wrong_schema_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("raptors-bench-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.json");
        std::fs::write(&p, r#"{"hello": 1}"#).unwrap();
        let err = crate::report::read_results(&p).unwrap_err();
        assert!(format!("{err:#}").contains("parsing"), "{err:#}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
