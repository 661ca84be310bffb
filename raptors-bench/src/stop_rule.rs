//! The comparison runner's stopping rule, replayed in Rust for the sequential power simulation
//! (`power --sequential`). `python/timing.py` is the reference (`median_ratio_se`,
//! `stop_reason`); the constants come from [`crate::runner`], which a test keeps in step with the
//! script, and a test here pins this port to values the script computed.

use crate::model::{CellKind, RawCell, RunConfig};
use crate::runner::{
    STOP_AA_MIN_BUDGET_S, STOP_DECISION_Z, STOP_HARD_CAP_FACTOR, STOP_HARD_MIN_ROUNDS,
    STOP_MIN_TIME_FRACTION, STOP_SE_CHECK_EVERY,
};

/// The runner's standard-error estimate of the median speedup, from log ratios sorted ascending:
/// max(1.2533 · 1.4826 · MAD / √n, the wider side of the order statistics bounding the decision's
/// interval / z). `scratch` is reused between calls.
pub fn median_se_sorted(logs: &[f64], scratch: &mut Vec<f64>) -> f64 {
    let n = logs.len();
    if n < 2 {
        return f64::INFINITY;
    }
    let mid = |v: &[f64]| {
        if n % 2 == 1 {
            v[n / 2]
        } else {
            0.5 * (v[n / 2 - 1] + v[n / 2])
        }
    };
    let med = mid(logs);
    scratch.clear();
    scratch.extend(logs.iter().map(|v| (v - med).abs()));
    let mad = crate::stats::median_in_place(scratch);
    let mad_se = 1.2533 * 1.4826 * mad / (n as f64).sqrt();
    let half = STOP_DECISION_Z * (n as f64).sqrt() / 2.0;
    let lo_rank = (n as f64 / 2.0 - half).floor().max(0.0) as usize;
    let hi_rank = ((n as f64 / 2.0 + half).ceil() as usize)
        .saturating_sub(1)
        .min(n - 1);
    let side = (med - logs[lo_rank]).max(logs[hi_rank] - med);
    mad_se.max(side / STOP_DECISION_Z)
}

/// What the runner knew when it ran a cell: its rounds per second and its limits, in rounds.
#[derive(Clone, Debug, PartialEq)]
pub struct CellPlan {
    /// No precision check before this many rounds (min rounds, a quarter of the budget).
    pub first_check: usize,
    /// Stop at this many rounds (time limit or max rounds).
    pub limit: usize,
    pub target_se: f64,
}

impl CellPlan {
    /// The plan of a recorded cell, or None when the file lacks what the replay needs (files from
    /// before `rounds_s`, fixed-budget runs, cells without rounds).
    pub fn of(cell: &RawCell, cfg: &RunConfig) -> Option<CellPlan> {
        let rounds = cell.ref_ns.len();
        let secs = cell.rounds_s.filter(|s| *s > 0.0)?;
        if cfg.target_se <= 0.0 || rounds == 0 {
            return None;
        }
        let rate = rounds as f64 / secs;
        let budget = match cell.kind {
            CellKind::Compare => cfg.cell_budget_s,
            _ => cfg.cell_budget_s.max(STOP_AA_MIN_BUDGET_S),
        };
        let limit_s = cell.rounds_limit_s.unwrap_or(STOP_HARD_CAP_FACTOR * budget);
        let by_time = ((rate * limit_s).round() as usize).max(STOP_HARD_MIN_ROUNDS);
        Some(CellPlan {
            first_check: cfg
                .min_rounds
                .max((rate * STOP_MIN_TIME_FRACTION * budget).ceil() as usize),
            limit: by_time.min(cfg.max_rounds).max(1),
            target_se: cfg.target_se,
        })
    }

    /// Rounds after which the runner would have stopped a cell whose rounds come from `next`
    /// (log ratios, in time order).
    pub fn stopping_rounds(&self, mut next: impl FnMut() -> f64) -> Vec<f64> {
        let mut sorted: Vec<f64> = Vec::with_capacity(self.limit);
        let mut stream = Vec::with_capacity(self.limit);
        let mut scratch = Vec::with_capacity(self.limit);
        loop {
            let done = stream.len();
            if done >= self.limit {
                return stream;
            }
            if done >= self.first_check
                && done % STOP_SE_CHECK_EVERY == 0
                && median_se_sorted(&sorted, &mut scratch) <= self.target_se
            {
                return stream;
            }
            let v = next();
            let at = sorted.partition_point(|x| *x < v);
            sorted.insert(at, v);
            stream.push(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn se_of(logs: &[f64]) -> f64 {
        let mut s = logs.to_vec();
        s.sort_by(f64::total_cmp);
        median_se_sorted(&s, &mut Vec::new())
    }

    /// Values computed by `timing.median_ratio_se` (ref = exp(log), cand = 1) for the same
    /// inputs: the port must agree with the reference implementation.
    #[test]
    fn matches_the_runner_script() {
        let even: Vec<f64> = (0..40)
            .map(|i| ((i * 37 % 40) as f64 - 20.0) * 1e-3)
            .collect();
        let odd: Vec<f64> = (0..41)
            .map(|i| {
                if i % 3 == 0 {
                    -0.15
                } else {
                    (i % 7) as f64 * 1e-3
                }
            })
            .collect();
        assert!(
            (se_of(&even) - 0.003_299_689_440_993_8).abs() < 1e-9,
            "{}",
            se_of(&even)
        );
        assert!(
            (se_of(&odd) - 0.058_618_012_422_360_27).abs() < 1e-9,
            "{}",
            se_of(&odd)
        );
    }

    #[test]
    fn stops_at_precision_or_at_the_limit() {
        let plan = CellPlan {
            first_check: 30,
            limit: 500,
            target_se: 0.005,
        };
        // Identical rounds: precise at the first check.
        assert_eq!(plan.stopping_rounds(|| 0.0).len(), 30);
        // 30 % noise never gets there.
        let mut rng = crate::rng::SplitMix64::new(3);
        assert_eq!(plan.stopping_rounds(|| 0.3 * rng.normal()).len(), 500);
        // 2 % noise: in between, at a multiple of the check interval.
        let mut rng = crate::rng::SplitMix64::new(4);
        let n = plan.stopping_rounds(|| 0.02 * rng.normal()).len();
        assert!(n > 30 && n < 500 && n % STOP_SE_CHECK_EVERY == 0, "{n}");
    }
}
