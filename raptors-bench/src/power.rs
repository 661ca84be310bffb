//! Power and false-positive rate of the decision rule, simulated from recorded noise.
//!
//! Each recorded cell's per-round speedups are divided by their median, leaving that cell's real
//! noise (VM jitter, outliers, skew) around 1.0. A simulated experiment draws as many rounds as the
//! cell really had (same time budget), optionally multiplies them by a known shift, and applies the
//! exact interval + decision the comparison uses. Counting verdicts over many experiments gives the
//! false-positive rate (no shift) and the power (±shift).
//!
//! Two ways to choose "as many rounds": `Fixed` takes the cell's recorded count — right for a
//! fixed-budget procedure, pessimistic for the runner's sequential one, which would have sampled
//! on had a rerun drawn noisier rounds; `Sequential` replays the runner's stopping rule
//! ([`crate::stop_rule`]) on each drawn stream, up to the cell's recorded time limit at its
//! recorded rate of rounds, i.e. it evaluates the procedure as the runner executes it.

use crate::model::Results;
use crate::rng::SplitMix64;
use crate::stats::{
    bootstrap_median_ci, decide, half_drift, median, paired_ratios, StatsConfig, Verdict,
    DRIFT_LIMIT,
};
use crate::stop_rule::CellPlan;
use serde::{Deserialize, Serialize};

/// How many rounds a simulated experiment of a cell gets (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounds {
    #[default]
    Fixed,
    Sequential,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CellPower {
    pub id: String,
    /// Recorded rounds.
    pub rounds: usize,
    /// Mean rounds of the simulated experiments (= `rounds` with `Rounds::Fixed`, and for cells
    /// whose file lacks what the sequential replay needs).
    #[serde(default)]
    pub simulated_rounds: f64,
    pub rel_spread: f64,
    pub false_positive_rate: f64,
    pub power_slower: f64,
    pub power_faster: f64,
    /// The cell's `drift` (machine state change between the halves of its rounds); above
    /// `DRIFT_LIMIT` the cell is "unstable" and resampling its rounds as independent overstates
    /// what a rerun would see.
    #[serde(default)]
    pub drift: f64,
}

impl CellPower {
    pub fn min_power(&self) -> f64 {
        self.power_slower.min(self.power_faster)
    }
    pub fn unstable(&self) -> bool {
        self.drift > DRIFT_LIMIT
    }
}

/// Averages over a set of cells.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PowerSummary {
    pub cells: usize,
    pub false_positive_rate: f64,
    pub worst_false_positive_rate: f64,
    /// Mean over cells of the mean of the two directions' power.
    pub power: f64,
    pub worst_power: f64,
    /// Cells whose power is >= 95 % in both directions.
    pub cells_at_95_power: usize,
}

impl PowerSummary {
    fn of<'a>(cells: impl Iterator<Item = &'a CellPower>) -> PowerSummary {
        let cells: Vec<&CellPower> = cells.collect();
        if cells.is_empty() {
            return PowerSummary::default();
        }
        let k = cells.len() as f64;
        PowerSummary {
            cells: cells.len(),
            false_positive_rate: cells.iter().map(|c| c.false_positive_rate).sum::<f64>() / k,
            worst_false_positive_rate: cells
                .iter()
                .map(|c| c.false_positive_rate)
                .fold(0.0, f64::max),
            power: cells
                .iter()
                .map(|c| (c.power_slower + c.power_faster) / 2.0)
                .sum::<f64>()
                / k,
            worst_power: cells.iter().map(|c| c.min_power()).fold(1.0, f64::min),
            cells_at_95_power: cells.iter().filter(|c| c.min_power() >= 0.95).count(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PowerReport {
    #[serde(default)]
    pub rounds: Rounds,
    pub shift: f64,
    pub experiments_per_cell: usize,
    pub stats: StatsConfig,
    pub cells: Vec<CellPower>,
    /// Averages over every cell.
    pub all: PowerSummary,
    /// The same over the cells without a machine state change (`drift` <= `DRIFT_LIMIT`).
    pub stable: PowerSummary,
}

/// Rates (false positive, power slower, power faster) and the mean rounds per experiment.
fn simulate_cell(
    noise: &[f64],
    plan: Option<&CellPlan>,
    shift: f64,
    experiments: usize,
    cfg: &StatsConfig,
    rng: &mut SplitMix64,
) -> (f64, f64, f64, f64) {
    let n = noise.len();
    let (mut fp, mut slow, mut fast) = (0usize, 0usize, 0usize);
    let mut total_rounds = 0usize;
    let mut sample = vec![0.0; n];
    // The replay works on log ratios; taken once here, not per draw.
    let log_noise: Vec<f64> = match plan {
        Some(_) => noise.iter().map(|v| v.ln()).collect(),
        None => Vec::new(),
    };
    for _ in 0..experiments {
        match plan {
            // The stopping rule looks at the spread of the log ratios only, which a shift does
            // not change: one stopping point serves all three verdicts.
            Some(plan) => {
                let logs = plan.stopping_rounds(|| log_noise[rng.below(n)]);
                sample.clear();
                sample.extend(logs.iter().map(|l| l.exp()));
            }
            None => {
                for s in sample.iter_mut() {
                    *s = noise[rng.below(n)];
                }
            }
        }
        total_rounds += sample.len();
        for (factor, expect) in [
            (1.0, Verdict::NoDifference),
            (1.0 / (1.0 + shift), Verdict::Slower),
            (1.0 + shift, Verdict::Faster),
        ] {
            let xs: Vec<f64> = sample.iter().map(|v| v * factor).collect();
            let iv = bootstrap_median_ci(&xs, cfg, rng);
            let v = decide(median(&xs), iv.decision.0, iv.decision.1, cfg.min_effect);
            match expect {
                Verdict::NoDifference => fp += usize::from(v != Verdict::NoDifference),
                Verdict::Slower => slow += usize::from(v == Verdict::Slower),
                Verdict::Faster => fast += usize::from(v == Verdict::Faster),
            }
        }
    }
    let e = experiments as f64;
    (
        fp as f64 / e,
        slow as f64 / e,
        fast as f64 / e,
        total_rounds as f64 / e,
    )
}

/// Simulate over every cell (all kinds) of the given results files.
pub fn simulate(
    results: &[Results],
    rounds: Rounds,
    shift: f64,
    experiments: usize,
    cfg: &StatsConfig,
) -> anyhow::Result<PowerReport> {
    anyhow::ensure!(
        shift > 0.0 && experiments > 0,
        "need shift > 0 and experiments > 0"
    );
    let mut cells = Vec::new();
    for r in results {
        for c in &r.cells {
            let Ok(ratios) = paired_ratios(&c.raw.ref_ns, &c.raw.cand_ns) else {
                continue;
            };
            if ratios.len() < 5 {
                continue;
            }
            let m = median(&ratios);
            let noise: Vec<f64> = ratios.iter().map(|x| x / m).collect();
            let mut rng = SplitMix64::from_label(cfg.seed, &c.raw.id);
            let plan = match rounds {
                Rounds::Fixed => None,
                Rounds::Sequential => CellPlan::of(&c.raw, &r.config),
            };
            let (fp, ps, pf, mean_rounds) =
                simulate_cell(&noise, plan.as_ref(), shift, experiments, cfg, &mut rng);
            cells.push(CellPower {
                id: format!("{} @ {}", c.raw.id, r.date),
                rounds: noise.len(),
                simulated_rounds: mean_rounds,
                rel_spread: c.stats.ratio_rel_spread,
                false_positive_rate: fp,
                power_slower: ps,
                power_faster: pf,
                // From the raw rounds (files written before `drift` existed have 0 there).
                drift: half_drift(&c.raw.ref_ns).max(half_drift(&c.raw.cand_ns)),
            });
        }
    }
    anyhow::ensure!(
        !cells.is_empty(),
        "no cells with at least 5 rounds in the given results"
    );
    Ok(PowerReport {
        rounds,
        shift,
        experiments_per_cell: experiments,
        stats: cfg.clone(),
        all: PowerSummary::of(cells.iter()),
        stable: PowerSummary::of(cells.iter().filter(|c| !c.unstable())),
        cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::tests::synthetic_results;

    #[test]
    fn low_noise_cells_have_power_and_few_false_positives() {
        let r = synthetic_results(5, &[("add", 1.0), ("sum", 1.0)]);
        let cfg = StatsConfig {
            resamples: 400,
            ..StatsConfig::default()
        };
        let rep = simulate(&[r], Rounds::Fixed, 0.03, 100, &cfg).unwrap();
        assert_eq!(rep.cells.len(), 2);
        assert!(rep.all.power > 0.95, "{rep:#?}");
        assert!(rep.all.false_positive_rate <= 0.02, "{rep:#?}");
    }

    #[test]
    fn very_noisy_cells_show_low_power_instead_of_a_false_pass() {
        let mut r = synthetic_results(6, &[("add", 1.0)]);
        let mut rng = SplitMix64::new(77);
        for v in r.cells[0].raw.cand_ns.iter_mut() {
            *v *= (0.3 * rng.normal()).exp(); // 30 % noise: 3 % cannot be resolved in 80 rounds
        }
        let cfg = StatsConfig {
            resamples: 400,
            ..StatsConfig::default()
        };
        let rep = simulate(&[r], Rounds::Fixed, 0.03, 100, &cfg).unwrap();
        assert!(rep.all.power < 0.5, "{rep:#?}");
    }

    /// The sequential replay stops quiet cells early and lets noisy ones sample on to their time
    /// limit, as the runner would; cells without recorded timing keep their count.
    #[test]
    fn sequential_replay_follows_the_stopping_rule() {
        let mut r = synthetic_results(8, &[("add", 1.0), ("sum", 1.0), ("mean", 1.0)]);
        let mut rng = SplitMix64::new(78);
        for v in r.cells[1].raw.cand_ns.iter_mut() {
            *v *= (0.1 * rng.normal()).exp(); // too noisy for 3 % in 80 rounds
        }
        for c in &mut r.cells[..2] {
            c.raw.rounds_s = Some(0.4); // 80 rounds: 200 per second
            c.raw.rounds_limit_s = Some(2.4); // 480 rounds
        }
        let cfg = StatsConfig {
            resamples: 300,
            ..StatsConfig::default()
        };
        let fixed = simulate(&[r.clone()], Rounds::Fixed, 0.03, 60, &cfg).unwrap();
        let seq = simulate(&[r], Rounds::Sequential, 0.03, 60, &cfg).unwrap();
        assert_eq!(seq.rounds, Rounds::Sequential);
        let (quiet, noisy, untimed) = (&seq.cells[0], &seq.cells[1], &seq.cells[2]);
        assert!(quiet.simulated_rounds < 80.0, "{quiet:?}");
        assert!(quiet.min_power() >= 0.95, "{quiet:?}");
        assert!(noisy.simulated_rounds > 300.0, "{noisy:?}");
        assert!(
            noisy.min_power() > fixed.cells[1].min_power() + 0.2,
            "{noisy:?} vs {:?}",
            fixed.cells[1]
        );
        assert_eq!(untimed.simulated_rounds, 80.0);
        assert!(fixed.cells.iter().all(|c| c.simulated_rounds == 80.0));
    }
}
