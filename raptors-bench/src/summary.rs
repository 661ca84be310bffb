//! What a report needs from a results file, typed: one row per comparison cell with the verdict
//! raptors-bench stored (decided once, by [`crate::stats::decide`], when the cell was analysed),
//! never re-decided. Any artifact that shows a verdict takes it from here.

use serde::{Deserialize, Serialize};

use crate::model::{AaSummary, CellKind, Results, Skipped};
use crate::stats::{Verdict, DRIFT_LIMIT};

impl Verdict {
    /// `faster`, `slower`, `no difference` (the candidate relative to the reference).
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::NoDifference => "no difference",
        }
    }

    /// The verdict as a sentence about two named sides: "Raptors faster", "NumPy faster", "no
    /// significant difference".
    pub fn describe(self, candidate: &str, reference: &str) -> String {
        match self {
            Verdict::Faster => format!("{candidate} faster"),
            Verdict::Slower => format!("{reference} faster"),
            Verdict::NoDifference => "no significant difference".to_string(),
        }
    }
}

/// One comparison cell as a report shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// `op/dtype/size/level`.
    pub id: String,
    pub op: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// RAPTORS_SIMD of the runner process (`auto` = not forced).
    pub level: String,
    /// Timing regime (`hot`, `after-idle`, `cache-cold`, `burst`; the op table's `regimes`).
    #[serde(default = "hot")]
    pub regime: String,
    /// Median over rounds of NumPy time / Raptors time (> 1: Raptors faster).
    pub speedup: f64,
    /// Reported interval (95 % by default).
    pub ci_low: f64,
    pub ci_high: f64,
    /// The interval the verdict was decided on (99 % by default).
    pub decision_ci_low: f64,
    pub decision_ci_high: f64,
    /// The stored verdict.
    pub verdict: Verdict,
    /// Largest relative move of either side's median between the halves of the rounds.
    pub drift: f64,
    /// `drift` above [`DRIFT_LIMIT`]: the machine changed state during the cell.
    pub unstable: bool,
    pub numpy_median_ns: f64,
    pub raptors_median_ns: f64,
    pub rounds: usize,
    /// "ok", or what differed when the two sides' results were compared.
    pub check: String,
    pub bytes_per_call: u64,
    pub numpy_gbs: f64,
    pub raptors_gbs: f64,
    /// CPU time per call (mean over rounds, user + system; Raptors's with its helper threads)
    /// and NumPy / Raptors CPU ratio; None when the file has no CPU times.
    #[serde(default)]
    pub numpy_cpu_ns: Option<f64>,
    #[serde(default)]
    pub raptors_cpu_ns: Option<f64>,
    #[serde(default)]
    pub cpu_ratio: Option<f64>,
}

fn hot() -> String {
    crate::ops::HOT.to_string()
}

/// Cells per verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCounts {
    pub faster: usize,
    pub slower: usize,
    pub no_difference: usize,
}

impl VerdictCounts {
    pub fn total(&self) -> usize {
        self.faster + self.slower + self.no_difference
    }
}

/// A results file reduced to what reports show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultsSummary {
    pub machine_tag: String,
    pub date: String,
    pub git_commit: String,
    pub git_dirty: bool,
    pub quick: bool,
    /// Comparison cells (NumPy vs Raptors) in the file's order.
    pub cells: Vec<CellSummary>,
    pub counts: VerdictCounts,
    pub unstable: usize,
    /// The A/A and A/A-shift self-checks, with their verdicts.
    pub self_checks: Vec<AaSummary>,
    pub skipped: Vec<Skipped>,
    pub interrupted: bool,
    pub runner_error: Option<String>,
}

impl ResultsSummary {
    /// The `hot` (steady-state) cell of `op` × `dtype` × `shape` at `level`.
    pub fn cell(
        &self,
        op: &str,
        dtype: &str,
        shape: &[usize],
        level: &str,
    ) -> Option<&CellSummary> {
        self.cell_in(op, dtype, shape, level, crate::ops::HOT)
    }

    /// The cell of `op` × `dtype` × `shape` at `level` in `regime`.
    pub fn cell_in(
        &self,
        op: &str,
        dtype: &str,
        shape: &[usize],
        level: &str,
        regime: &str,
    ) -> Option<&CellSummary> {
        self.cells.iter().find(|c| {
            c.op == op
                && c.dtype == dtype
                && c.shape == shape
                && c.level == level
                && c.regime == regime
        })
    }

    /// Every `hot` cell of `op` × `dtype`, smallest shape first.
    pub fn cells_of(&self, op: &str, dtype: &str) -> Vec<&CellSummary> {
        let mut v: Vec<&CellSummary> = self
            .cells
            .iter()
            .filter(|c| c.op == op && c.dtype == dtype && c.regime == crate::ops::HOT)
            .collect();
        v.sort_by_key(|c| c.shape.iter().product::<usize>());
        v
    }

    /// Whether every self-check came out as expected.
    pub fn self_checks_pass(&self) -> bool {
        self.self_checks.iter().all(|a| a.pass)
    }
}

/// The report view of `r`.
pub fn summarize(r: &Results) -> ResultsSummary {
    let mut counts = VerdictCounts::default();
    let cells: Vec<CellSummary> = r
        .cells
        .iter()
        .filter(|c| c.raw.kind == CellKind::Compare)
        .map(|c| {
            let st = &c.stats;
            match st.verdict {
                Verdict::Faster => counts.faster += 1,
                Verdict::Slower => counts.slower += 1,
                Verdict::NoDifference => counts.no_difference += 1,
            }
            CellSummary {
                id: c.raw.id.clone(),
                op: c.raw.op.clone(),
                dtype: c.raw.dtype.clone(),
                shape: c.raw.shape.clone(),
                level: c.raw.level.clone(),
                regime: c.raw.regime.clone(),
                speedup: st.speedup,
                ci_low: st.ci_low,
                ci_high: st.ci_high,
                decision_ci_low: st.decision_ci_low,
                decision_ci_high: st.decision_ci_high,
                verdict: st.verdict,
                drift: st.drift,
                unstable: st.drift > DRIFT_LIMIT,
                numpy_median_ns: st.ref_median_ns,
                raptors_median_ns: st.cand_median_ns,
                rounds: st.rounds,
                check: c.raw.check.clone(),
                bytes_per_call: c.bandwidth.bytes_per_call,
                numpy_gbs: c.bandwidth.ref_gbs,
                raptors_gbs: c.bandwidth.cand_gbs,
                numpy_cpu_ns: c.cpu.as_ref().map(|p| p.ref_cpu_ns),
                raptors_cpu_ns: c.cpu.as_ref().map(|p| p.cand_cpu_ns),
                cpu_ratio: c.cpu.as_ref().map(|p| p.cpu_ratio),
            }
        })
        .collect();
    ResultsSummary {
        machine_tag: r.machine_tag.clone(),
        date: r.date.clone(),
        git_commit: r.git.commit.clone(),
        git_dirty: r.git.dirty,
        quick: r.config.quick,
        unstable: cells.iter().filter(|c| c.unstable).count(),
        cells,
        counts,
        self_checks: r.aa_check.clone(),
        skipped: r.skipped.clone(),
        interrupted: r.interrupted,
        runner_error: r.runner_error.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Bandwidth, Cell, GitInfo, RawCell, RunConfig};
    use crate::stats::{paired_stats, StatsConfig};

    fn cell(op: &str, n: usize, ratio: f64) -> Cell {
        let reference: Vec<f64> = (0..60).map(|i| 1000.0 + (i % 7) as f64).collect();
        let candidate: Vec<f64> = reference.iter().map(|r| r / ratio).collect();
        let stats = paired_stats(&reference, &candidate, &StatsConfig::default(), op).unwrap();
        Cell {
            raw: RawCell {
                id: format!("{op}/f32/{n}/auto"),
                op: op.into(),
                dtype: "f32".into(),
                shape: vec![n, n],
                level: "auto".into(),
                kind: CellKind::Compare,
                expr: "x".into(),
                cand_expr: None,
                reference: "numpy".into(),
                candidate: "raptors".into(),
                calls_per_sample: 1,
                cand_calls_per_sample: None,
                injected_factor: None,
                bytes_per_call: 3 * 4 * (n * n) as u64,
                working_set_bytes: None,
                ref_ns: reference,
                cand_ns: candidate,
                cand_first_rounds: 30,
                check: "ok".into(),
                warmup_calls: 1,
                elapsed_s: 0.1,
                subsamples: 2,
                lead_in_calls: 0,
                cand_lead_in_calls: 0,
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
            },
            bandwidth: Bandwidth {
                bytes_per_call: 3 * 4 * (n * n) as u64,
                ref_gbs: 1.0,
                cand_gbs: 2.0,
                bound_kind: "cache".into(),
                working_set_bytes: None,
                bound_gbs: 99.0,
                cand_pct_of_bound: 2.0,
                speedup_ceiling: None,
            },
            stats,
            cpu: None,
        }
    }

    fn results(cells: Vec<Cell>) -> Results {
        Results {
            schema: crate::model::RESULTS_SCHEMA.into(),
            machine_tag: "x86_64-test-2cpu".into(),
            machine: serde_json::json!({}),
            git: GitInfo {
                commit: "abc".into(),
                dirty: false,
                dirty_paths: vec![],
            },
            date: "2026-01-01T00:00:00Z".into(),
            config: serde_json::from_value::<RunConfig>(serde_json::json!({
                "quick": true, "ops": [], "dtypes": [], "sizes": [], "levels": [],
                "target_sample_ms": 0.5, "subsamples": 2, "cell_budget_s": 0.25, "min_rounds": 20,
                "max_rounds": 2000, "seed": 1, "stats": StatsConfig::default(),
                "bw_cache_gbs": 99.0, "bw_dram_gbs": 30.0, "env_removed": [], "env_set": []
            }))
            .unwrap(),
            interrupted: false,
            runner_error: None,
            elapsed_s: 1.0,
            aa_check: vec![],
            skipped: vec![],
            cells,
        }
    }

    #[test]
    fn rows_carry_the_stored_verdict_not_a_new_one() {
        // 1 % faster with a tight interval: the interval alone says "faster", the stored verdict
        // (interval and the 1.5 % minimum effect) says "no difference", and the summary keeps it.
        let mut r = results(vec![
            cell("scale", 512, 1.01),
            cell("add", 512, 1.5),
            cell("sum", 64, 0.8),
        ]);
        assert!(r.cells[0].stats.ci_low > 1.0);
        assert_eq!(r.cells[0].stats.verdict, Verdict::NoDifference);
        // A stored verdict is shown as stored, even one this build would decide differently.
        r.cells[2].stats.verdict = Verdict::NoDifference;
        let s = summarize(&r);
        let v: Vec<Verdict> = s.cells.iter().map(|c| c.verdict).collect();
        assert_eq!(
            v,
            [
                Verdict::NoDifference,
                Verdict::Faster,
                Verdict::NoDifference
            ]
        );
        assert_eq!(
            s.counts,
            VerdictCounts {
                faster: 1,
                slower: 0,
                no_difference: 2
            }
        );
        assert_eq!(
            s.cell("add", "f32", &[512, 512], "auto").unwrap().speedup,
            1.5
        );
        assert!(s.cell("add", "f64", &[512, 512], "auto").is_none());
        assert_eq!(s.cells_of("sum", "f32").len(), 1);
        assert!(s.self_checks_pass());
    }

    #[test]
    fn verdict_wording() {
        assert_eq!(
            Verdict::Faster.describe("Raptors", "NumPy"),
            "Raptors faster"
        );
        assert_eq!(Verdict::Slower.describe("Raptors", "NumPy"), "NumPy faster");
        assert_eq!(
            Verdict::NoDifference.describe("Raptors", "NumPy"),
            "no significant difference"
        );
        assert_eq!(Verdict::NoDifference.label(), "no difference");
    }
}
