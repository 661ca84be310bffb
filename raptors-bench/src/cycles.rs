//! Measured cycles per element, to set beside llvm-mca's prediction for the host's CPU model.
//!
//! llvm-mca predicts a loop in steady state with its data in L1. To compare, both libraries are
//! timed single-threaded (`RAPTORS_THREADS=1`) at two sizes whose arrays stay in L1/L2
//! ([`SIZES`]), and the cost per element is the *slope* between them: the per-call overhead
//! (Python's dispatch, allocating the result) is the same at both sizes and cancels, so what is
//! left is the loop plus what it does per element. Nanoseconds become cycles with the measured
//! clock ([`crate::clock`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::{CellKind, HeadlineCells, RawCell};
use crate::runner::RunnerOptions;

/// The two sizes (n for n × n) the slope is taken between: 4,096 and 16,384 elements. At 16,384
/// f64 elements an op with two inputs and one output touches 384 KiB, inside a 512 KiB L2.
pub const SIZES: [usize; 2] = [64, 128];

/// Runner settings for the measurement: the automatic level, single thread, hot regime only,
/// the given ops and dtypes at [`SIZES`].
pub fn runner_options(python: PathBuf, ops: &[String], dtypes: &[String]) -> RunnerOptions {
    // The quick comparison's budgets and statistics; only the matrix and the threads differ.
    let mut r = crate::compare::CompareOptions::new(python, true).runner;
    r.ops = ops.to_vec();
    r.dtypes = dtypes.to_vec();
    r.sizes = SIZES.to_vec();
    r.levels = vec!["auto".into()];
    r.threads = Some(1);
    r.regimes = Some(vec![crate::ops::HOT.into()]);
    r.headline = HeadlineCells::None;
    r
}

/// One op × dtype: cycles per element of each library, or why there is none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasuredCycles {
    pub op: String,
    pub dtype: String,
    /// The element counts the slope is taken between.
    pub elements: [u64; 2],
    pub numpy: Result<f64, String>,
    pub raptors: Result<f64, String>,
}

/// Cycles per element per op × dtype from the runner's cells (hot regime, one level), with the
/// clock in GHz. Each op × dtype needs cells at two distinct sizes; with more, the smallest and
/// the largest are used.
pub fn per_element(cells: &[RawCell], ghz: f64) -> Vec<MeasuredCycles> {
    let mut by_cell: BTreeMap<(String, String), Vec<&RawCell>> = BTreeMap::new();
    for c in cells
        .iter()
        .filter(|c| c.kind == CellKind::Compare && c.regime == crate::ops::HOT)
    {
        by_cell
            .entry((c.op.clone(), c.dtype.clone()))
            .or_default()
            .push(c);
    }
    by_cell
        .into_iter()
        .map(|((op, dtype), mut cs)| {
            cs.sort_by_key(|c| elements(c));
            let (small, large) = (cs[0], cs[cs.len() - 1]);
            let (e0, e1) = (elements(small), elements(large));
            let slope = |a: &[f64], b: &[f64]| -> Result<f64, String> {
                if e1 <= e0 {
                    return Err(format!("measured at one size only ({e0} elements)"));
                }
                let (t0, t1) = (median(a)?, median(b)?);
                let ns = (t1 - t0) / (e1 - e0) as f64;
                if ns <= 0.0 {
                    return Err(format!(
                        "no growth with size ({t0:.0} ns at {e0} elements, {t1:.0} ns at {e1}): \
                         per-call overhead hides the loop"
                    ));
                }
                Ok(ns * ghz)
            };
            MeasuredCycles {
                op,
                dtype,
                elements: [e0, e1],
                numpy: slope(&small.ref_ns, &large.ref_ns),
                raptors: slope(&small.cand_ns, &large.cand_ns),
            }
        })
        .collect()
}

fn elements(c: &RawCell) -> u64 {
    c.shape.iter().map(|&d| d as u64).product()
}

fn median(v: &[f64]) -> Result<f64, String> {
    if v.is_empty() {
        return Err("no timed rounds".into());
    }
    Ok(crate::stats::median(v))
}

/// The host-model check as the report shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostCheck {
    /// llvm-mca's model of this CPU.
    pub cpu: String,
    pub clock: crate::clock::Clock,
    pub rows: Vec<ValidationRow>,
}

/// llvm-mca's model of this machine's CPU in `set` (for the measured architecture `arch`), or
/// why there is none.
pub fn host_model(
    set: &raptors_asm::mca_set::McaSet,
    arch: raptors_asm::elf::Arch,
) -> Result<String, String> {
    set.host_model(arch).map(|m| m.cpu.clone()).ok_or_else(|| {
        format!(
            "llvm-mca ({}) has no model of this CPU (host CPU: {})",
            set.tool_version,
            set.host_cpu.as_deref().unwrap_or("not named by LLVM")
        )
    })
}

/// Runs the host-model check for `cpu` ([`host_model`]): measures the clock, times `ops` ×
/// `dtypes` at [`SIZES`] (one thread), and joins the result with `set`'s predictions for `arch`
/// (the measured architecture).
pub fn host_check(
    python: PathBuf,
    ops: &[String],
    dtypes: &[String],
    set: &raptors_asm::mca_set::McaSet,
    cpu: String,
    arch: raptors_asm::elf::Arch,
) -> anyhow::Result<HostCheck> {
    let clock = crate::clock::measure().map_err(|e| anyhow::anyhow!(e))?;
    let out = crate::runner::run(&runner_options(python, ops, dtypes))?;
    if let Some(e) = out.error.filter(|_| out.cells.is_empty()) {
        anyhow::bail!("the runner failed: {e}");
    }
    let measured = per_element(&out.cells, clock.ghz);
    let rows = validate(&measured, |op, dtype, lib| {
        set.host_cycles_per_element(op, dtype, lib, arch)
    });
    Ok(HostCheck { cpu, clock, rows })
}

/// One row of the host-model check: predicted and measured cycles per element of both libraries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationRow {
    pub op: String,
    pub dtype: String,
    pub numpy: Check,
    pub raptors: Check,
}

/// Predicted vs measured for one library; `ratio` is measured / predicted (1: the loop runs as
/// llvm-mca says; above 1: something it does not model — memory, front end, call overhead).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub predicted: Result<f64, String>,
    pub measured: Result<f64, String>,
    pub ratio: Option<f64>,
}

impl Check {
    pub fn new(predicted: Result<f64, String>, measured: Result<f64, String>) -> Check {
        let ratio = match (&predicted, &measured) {
            (Ok(p), Ok(m)) if *p > 0.0 => Some(m / p),
            _ => None,
        };
        Check {
            predicted,
            measured,
            ratio,
        }
    }
}

/// Joins the measurements with the host model's predictions; `predicted(op, dtype, library)`
/// gives the prediction (library `numpy` or `raptors`) or why there is none.
pub fn validate(
    measured: &[MeasuredCycles],
    predicted: impl Fn(&str, &str, &str) -> Result<f64, String>,
) -> Vec<ValidationRow> {
    measured
        .iter()
        .map(|m| ValidationRow {
            op: m.op.clone(),
            dtype: m.dtype.clone(),
            numpy: Check::new(predicted(&m.op, &m.dtype, "numpy"), m.numpy.clone()),
            raptors: Check::new(predicted(&m.op, &m.dtype, "raptors"), m.raptors.clone()),
        })
        .collect()
}

/// The Markdown table of [`validate`]'s rows (cycles per element; `–` with a footnote-free reason
/// in the cell when a number is missing).
pub fn validation_table(rows: &[ValidationRow]) -> String {
    let mut s = String::from(
        "| op | dtype | NumPy predicted | NumPy measured | ratio | Raptors predicted | Raptors measured | ratio |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let num = |v: &Result<f64, String>| match v {
        Ok(x) => format!("{x:.3}"),
        Err(why) => format!("– ({})", why.replace('|', "\\|")),
    };
    let ratio = |r: Option<f64>| r.map_or("–".to_string(), |r| format!("{r:.2}"));
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.op,
            r.dtype,
            num(&r.numpy.predicted),
            num(&r.numpy.measured),
            ratio(r.numpy.ratio),
            num(&r.raptors.predicted),
            num(&r.raptors.measured),
            ratio(r.raptors.ratio),
        );
    }
    s
}

/// The README's host-check paragraph and table.
pub fn host_check_md(c: &HostCheck) -> String {
    format!(
        "Host model `{}`: predicted vs measured cycles per element, single thread \
         (`RAPTORS_THREADS=1`), `auto` level, slope between {}² and {}² elements (in L1/L2), clock \
         {:.2} GHz ({}). Ratio = measured ÷ predicted.\n\n{}",
        c.cpu,
        SIZES[0],
        SIZES[1],
        c.clock.ghz,
        c.clock.source,
        validation_table(&c.rows)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(op: &str, n: usize, ref_ns: f64, cand_ns: f64) -> RawCell {
        let mut c: RawCell = serde_json::from_value(serde_json::json!({
            "id": format!("{op}-f32-{n}"), "op": op, "dtype": "f32", "shape": [n, n],
            "level": "auto", "kind": "compare", "expr": "x", "reference": "numpy",
            "candidate": "raptors", "calls_per_sample": 1, "ref_ns": [], "cand_ns": [],
            "cand_first_rounds": 0, "check": "ok", "warmup_calls": 0, "elapsed_s": 0.0
        }))
        .expect("a minimal cell");
        c.ref_ns = vec![ref_ns * 0.99, ref_ns, ref_ns * 1.5];
        c.cand_ns = vec![cand_ns, cand_ns * 1.01, cand_ns * 0.9];
        c
    }

    #[test]
    fn slope_cancels_the_per_call_overhead() {
        // NumPy: 1000 ns overhead + 0.1 ns/element; Raptors: 200 ns + 0.05 ns/element; 2 GHz.
        let cells = [
            cell("add", 64, 1000.0 + 0.1 * 4096.0, 200.0 + 0.05 * 4096.0),
            cell("add", 128, 1000.0 + 0.1 * 16384.0, 200.0 + 0.05 * 16384.0),
        ];
        let m = per_element(&cells, 2.0);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].elements, [4096, 16384]);
        assert!((m[0].numpy.clone().unwrap() - 0.2).abs() < 1e-9, "{m:?}");
        assert!((m[0].raptors.clone().unwrap() - 0.1).abs() < 1e-9, "{m:?}");
    }

    #[test]
    fn one_size_or_no_growth_is_named() {
        let m = per_element(&[cell("sum", 64, 900.0, 500.0)], 3.0);
        assert!(m[0].numpy.as_ref().unwrap_err().contains("one size"));
        let m = per_element(
            &[
                cell("sum", 64, 900.0, 500.0),
                cell("sum", 128, 800.0, 600.0),
            ],
            3.0,
        );
        assert!(m[0].numpy.as_ref().unwrap_err().contains("no growth"));
        assert!(m[0].raptors.is_ok());
    }

    #[test]
    fn validation_joins_and_renders() {
        let m = vec![MeasuredCycles {
            op: "add".into(),
            dtype: "f32".into(),
            elements: [4096, 16384],
            numpy: Ok(0.5),
            raptors: Err("no timed rounds".into()),
        }];
        let rows = validate(&m, |op, _, lib| match lib {
            "numpy" => Ok(if op == "add" { 0.25 } else { 9.0 }),
            _ => Err("no loop | none".into()),
        });
        assert_eq!(rows[0].numpy.ratio, Some(2.0));
        assert_eq!(rows[0].raptors.ratio, None);
        insta::assert_snapshot!(validation_table(&rows));
    }
}
