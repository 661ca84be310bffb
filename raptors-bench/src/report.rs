//! Turns raw runner cells into statistics and writes the results JSON and markdown table.

use crate::model::{AaSummary, Bandwidth, Cell, CellKind, RawCell, Results};
use crate::stats::{paired_stats, StatsConfig, Verdict};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Bandwidth bound model: a working set up to `cache_fraction` of the last-level cache streams at
/// `cache_gbs`, anything larger at `dram_gbs` (single-core numbers measured on this machine).
#[derive(Clone, Debug)]
pub struct BoundModel {
    pub ll_cache_bytes: u64,
    pub cache_gbs: f64,
    pub dram_gbs: f64,
}

impl BoundModel {
    const CACHE_FRACTION: f64 = 0.75;

    pub fn bound(&self, bytes: u64) -> (&'static str, f64) {
        if (bytes as f64) <= self.ll_cache_bytes as f64 * Self::CACHE_FRACTION {
            ("cache", self.cache_gbs)
        } else {
            ("dram", self.dram_gbs)
        }
    }

    /// Largest cache listed by the runner (`machine.caches[].size_bytes`), or 32 MiB if unknown.
    pub fn from_machine(machine: &serde_json::Value, cache_gbs: f64, dram_gbs: f64) -> Self {
        let ll = machine["caches"]
            .as_array()
            .and_then(|cs| cs.iter().filter_map(|c| c["size_bytes"].as_u64()).max())
            .unwrap_or(32 << 20);
        BoundModel {
            ll_cache_bytes: ll,
            cache_gbs,
            dram_gbs,
        }
    }
}

pub fn analyze(raw: RawCell, cfg: &StatsConfig, bounds: &BoundModel) -> Result<Cell> {
    let stats = paired_stats(&raw.ref_ns, &raw.cand_ns, cfg, &raw.id)
        .with_context(|| format!("cell {}", raw.id))?;
    let gbs = |ns: f64| raw.bytes_per_call as f64 / ns; // bytes/ns == GB/s
    let (kind, bound) = bounds.bound(raw.bytes_per_call);
    let bandwidth = Bandwidth {
        bytes_per_call: raw.bytes_per_call,
        ref_gbs: gbs(stats.ref_median_ns),
        cand_gbs: gbs(stats.cand_median_ns),
        bound_kind: kind.to_string(),
        bound_gbs: bound,
        cand_pct_of_bound: 100.0 * gbs(stats.cand_median_ns) / bound,
    };
    Ok(Cell {
        raw,
        stats,
        bandwidth,
    })
}

/// A/A (must show no difference) and A/A-shift (must show the injected slowdown) verdicts.
pub fn aa_summaries(cells: &[Cell]) -> Vec<AaSummary> {
    cells
        .iter()
        .filter(|c| c.raw.kind != CellKind::Compare)
        .map(|c| {
            let expected = if c.raw.kind == CellKind::Aa {
                Verdict::NoDifference
            } else {
                Verdict::Slower
            };
            AaSummary {
                id: c.raw.id.clone(),
                kind: c.raw.kind,
                speedup: c.stats.speedup,
                ci_low: c.stats.ci_low,
                ci_high: c.stats.ci_high,
                expected,
                verdict: c.stats.verdict,
                pass: c.stats.verdict == expected,
            }
        })
        .collect()
}

/// Output paths: `<dir>/<tag>.json|.md|.png`.
pub fn output_paths(dir: &Path, stem: &str) -> (PathBuf, PathBuf, PathBuf) {
    (
        dir.join(format!("{stem}.json")),
        dir.join(format!("{stem}.md")),
        dir.join(format!("{stem}.png")),
    )
}

pub fn write_json(path: &Path, results: &Results) -> Result<()> {
    // Compact: the raw per-round samples make a pretty-printed file ~2.5x larger.
    let text = serde_json::to_string(results)?;
    write_atomic(path, text.as_bytes())
}

pub fn read_results(path: &Path) -> Result<Results> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let r: Results = serde_json::from_str(&text)
        .with_context(|| format!("parsing {} as a results file", path.display()))?;
    anyhow::ensure!(
        r.schema == crate::model::RESULTS_SCHEMA,
        "{}: schema {:?}, expected {:?}",
        path.display(),
        r.schema,
        crate::model::RESULTS_SCHEMA
    );
    Ok(r)
}

/// Write to a temporary sibling then rename, so an interrupted write never leaves half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

fn shape_str(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("×")
}

fn fmt_time(ns: f64) -> String {
    if ns < 10_000.0 {
        format!("{ns:.0} ns")
    } else {
        format!("{:.1} µs", ns / 1000.0)
    }
}

/// How samples start, in the method line.
fn lead_in_text(r: &Results) -> String {
    if r.config.lead_in > 0.0 {
        format!(
            ", samples of ≥ {} calls each after max(2, {:.1} %) untimed calls of the same side (steady state)",
            crate::runner::LEAD_IN_MIN_CALLS,
            r.config.lead_in * 100.0
        )
    } else {
        String::new()
    }
}

/// " (dirty: a.md, b.rs)" — which files differed from the commit, so a text edit is told from a
/// code change; " (dirty)" for files from before the paths were recorded.
fn dirty_note(git: &crate::model::GitInfo) -> String {
    match (git.dirty, git.dirty_paths.is_empty()) {
        (false, _) => String::new(),
        (true, true) => " (dirty)".to_string(),
        (true, false) => format!(" (dirty: {})", git.dirty_paths.join(", ")),
    }
}

fn stop_rule(r: &Results) -> String {
    let b = r.config.cell_budget_s;
    let rule = if r.config.target_se > 0.0 {
        format!(
            "a cell stops once the median speedup's standard error is ≤ {:.1} % (after {:.2} s), else at {:.1} s \
             or earlier when the cells before it used their share of {:.1} s per cell on average",
            r.config.target_se * 100.0,
            crate::runner::STOP_MIN_TIME_FRACTION * b,
            crate::runner::STOP_HARD_CAP_FACTOR * b,
            crate::runner::STOP_MEAN_CAP_FACTOR * b
        )
    } else {
        format!("{b:.1} s per cell")
    };
    format!("{rule}{}", stop_counts(&r.cells))
}

/// " (stopped: 120 precision, 60 time limit)" from the cells' recorded reasons; empty for files
/// from before the runner recorded them.
fn stop_counts(cells: &[Cell]) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for c in cells {
        if let Some(reason) = &c.raw.stop_reason {
            *counts.entry(reason.as_str()).or_default() += 1;
        }
    }
    if counts.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(reason, n)| format!("{n} {}", reason.replace('_', " ")))
        .collect();
    format!(" (stopped: {})", parts.join(", "))
}

/// Cells during which the machine changed state: their intervals treat rounds as independent and
/// are too narrow. Empty string when there are none.
pub fn unstable_cells(cells: &[Cell]) -> String {
    let bad: Vec<&Cell> = cells
        .iter()
        .filter(|c| c.stats.drift > crate::stats::DRIFT_LIMIT)
        .collect();
    if bad.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "\n**Unstable cells** ({} of {}): a side's median time moved by more than {:.0} % between the first and the second half of the \
         rounds, i.e. the machine changed state during the cell (another tenant's memory traffic, the second core taken). Their \
         intervals assume a stable machine and are too narrow; rerun them (e.g. `--ops`/`--sizes`) before drawing conclusions.\n\n",
        bad.len(),
        cells.len(),
        crate::stats::DRIFT_LIMIT * 100.0
    );
    for c in bad {
        let _ = writeln!(s, "- {} — moved {:.0} %", c.raw.id, c.stats.drift * 100.0);
    }
    s
}

/// The speedup table (markdown; also printed to the terminal).
pub fn table(cells: &[Cell]) -> String {
    let mut s = String::new();
    s.push_str("| cell | level | NumPy | Raptors | speedup | 95 % CI | verdict | Raptors GB/s | bound GB/s | % of bound | rounds × calls N/R | outliers N/R | check |\n");
    s.push_str("|---|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---|\n");
    for c in cells.iter().filter(|c| c.raw.kind == CellKind::Compare) {
        let (st, bw) = (&c.stats, &c.bandwidth);
        let _ = writeln!(
            s,
            "| {} {} {} | {} | {} | {} | {:.2}x | {:.2}–{:.2} | {} | {:.1} | {:.0} ({}) | {:.0} % | {} × {}/{} | {}/{} | {} |",
            c.raw.op,
            c.raw.dtype,
            shape_str(&c.raw.shape),
            c.raw.level,
            fmt_time(st.ref_median_ns),
            fmt_time(st.cand_median_ns),
            st.speedup,
            st.ci_low,
            st.ci_high,
            st.verdict.describe("Raptors", "NumPy"),
            bw.cand_gbs,
            bw.bound_gbs,
            bw.bound_kind,
            bw.cand_pct_of_bound,
            st.rounds,
            c.raw.calls_per_sample,
            c.raw.cand_batch(),
            st.outliers_ref,
            st.outliers_cand,
            c.raw.check,
        );
    }
    s
}

pub fn aa_table(aa: &[AaSummary]) -> String {
    let mut s = String::from("| self-check cell | speedup | 95 % CI | expected | got | pass |\n|---|---:|---|---|---|---|\n");
    for a in aa {
        let _ = writeln!(
            s,
            "| {} ({:?}) | {:.4}x | {:.4}–{:.4} | {} | {} | {} |",
            a.id,
            a.kind,
            a.speedup,
            a.ci_low,
            a.ci_high,
            a.expected.label(),
            a.verdict.label(),
            if a.pass { "yes" } else { "**NO**" }
        );
    }
    s
}

pub fn markdown(r: &Results) -> String {
    let m = &r.machine;
    let txt = |k: &str| m[k].as_str().unwrap_or("unknown").to_string();
    let mut s = format!("# Raptors vs NumPy — {}\n\n", r.machine_tag);
    if let Some(e) = m["emulation"].as_object() {
        let what = e
            .get("guest_arch")
            .and_then(|g| g.as_str())
            .unwrap_or("this program");
        let _ = writeln!(
            s,
            "**Measured under qemu-user emulation ({what} on {}): not this CPU's speed.** The \
             speedups compare two libraries as emulated code, nothing more.\n",
            e.get("host_cpu")
                .and_then(|h| h.as_str())
                .unwrap_or("another CPU")
        );
    }
    let _ = writeln!(
        s,
        "- date: {}; git {}{}",
        r.date,
        r.git.commit,
        dirty_note(&r.git)
    );
    let _ = writeln!(
        s,
        "- CPU: {} ({} logical CPUs); kernel {}",
        txt("cpu_model"),
        m["logical_cpus"],
        txt("kernel")
    );
    let _ = writeln!(
        s,
        "- Python {}; NumPy {} (SIMD baseline {}, dispatch found {})",
        txt("python"),
        txt("numpy_version"),
        m["numpy_simd"]["baseline"],
        m["numpy_simd"]["found"]
    );
    let _ = writeln!(
        s,
        "- Raptors {} — SIMD level {}",
        txt("raptors_version"),
        txt("raptors_simd_level")
    );
    let _ = writeln!(
        s,
        "- load average (1/5/15 min) at start {} and end {} (2 cores shared with other work)",
        m["load_avg_start"], m["load_avg_end"]
    );
    let _ = writeln!(
        s,
        "- method: paired rounds; per round each side timed {} × (ABBA/BAAB, random start), fastest kept; ≥ {:.1} ms per sample{}; {}; Raptors threads: {}; \
         speedup = median over rounds of NumPy time / Raptors time; {:.0} % percentile-bootstrap CI ({} resamples); \
         verdict needs the {:.0} % interval (same bootstrap) to exclude 1 and |change| ≥ {:.1} %; outliers (> {} MADs) kept and counted",
        r.config.subsamples, r.config.target_sample_ms, lead_in_text(r), stop_rule(r),
        r.config.threads.map_or("all cores (RAPTORS_THREADS unset)".to_string(), |t| format!("RAPTORS_THREADS={t}")),
        r.config.stats.confidence * 100.0,
        r.config.stats.resamples, r.config.stats.decision_confidence * 100.0, r.config.stats.min_effect * 100.0,
        r.config.stats.outlier_mads
    );
    let _ = writeln!(s, "- bandwidth bound: {:.0} GB/s when the working set fits the last-level cache, else {:.0} GB/s (DRAM, one core)",
        r.config.bw_cache_gbs, r.config.bw_dram_gbs);
    let _ = writeln!(
        s,
        "- wall time {:.1} s{}\n",
        r.elapsed_s,
        if r.interrupted {
            " — **INTERRUPTED: partial results**"
        } else {
            ""
        }
    );
    if let Some(e) = &r.runner_error {
        let _ = writeln!(s, "**Runner error:** {e}\n");
    }
    s.push_str("## Self-check (A/A)\n\n");
    s.push_str(&aa_table(&r.aa_check));
    s.push_str("\n## Speedups\n\n");
    s.push_str(&table(&r.cells));
    s.push_str(&unstable_cells(&r.cells));
    if !r.skipped.is_empty() {
        s.push_str("\n## Not measured\n\n");
        for sk in &r.skipped {
            let _ = writeln!(s, "- {}: {}", sk.id, sk.reason);
        }
    }
    s
}
