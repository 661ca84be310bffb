//! Turns raw runner cells into statistics and writes the results JSON and markdown table.

use crate::model::{AaSummary, Bandwidth, Cell, CellKind, RawCell, Results};
use crate::stats::{cpu_stats, paired_stats, StatsConfig, Verdict};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Bandwidth bound model: a working set up to `cache_fraction` of the last-level cache streams at
/// `cache_gbs`, anything larger at `dram_gbs` (measured in the same run with Raptors's threads,
/// [`crate::bandwidth`], unless given).
#[derive(Clone, Debug)]
pub struct BoundModel {
    pub ll_cache_bytes: u64,
    pub cache_gbs: f64,
    pub dram_gbs: f64,
}

impl BoundModel {
    const CACHE_FRACTION: f64 = 0.75;

    /// The bound for a call whose arrays take `working_set` bytes; `evicted`: the regime read a
    /// buffer larger than the last-level cache before the call (cache-cold), so its inputs come
    /// from DRAM whatever their size.
    pub fn bound(&self, working_set: u64, evicted: bool) -> (&'static str, f64) {
        if !evicted && (working_set as f64) <= self.ll_cache_bytes as f64 * Self::CACHE_FRACTION {
            ("cache", self.cache_gbs)
        } else {
            ("dram", self.dram_gbs)
        }
    }

    /// Largest cache listed by the runner (`machine.caches[].size_bytes`), or 32 MiB if unknown.
    pub fn last_level_cache(machine: &serde_json::Value) -> u64 {
        machine["caches"]
            .as_array()
            .and_then(|cs| cs.iter().filter_map(|c| c["size_bytes"].as_u64()).max())
            .unwrap_or(32 << 20)
    }
}

pub fn analyze(raw: RawCell, cfg: &StatsConfig, bounds: &BoundModel) -> Result<Cell> {
    let stats = paired_stats(&raw.ref_ns, &raw.cand_ns, cfg, &raw.id)
        .with_context(|| format!("cell {}", raw.id))?;
    let gbs = |ns: f64| raw.bytes_per_call as f64 / ns; // bytes/ns == GB/s
    let evicted = raw
        .regime_setup
        .as_ref()
        .is_some_and(|r| r.evict_bytes.is_some());
    // The arrays' size, not the bytes moved, decides where they live: `x *= s` on 16 MiB moves
    // 32 MiB but fits a 32 MiB cache as well as a 16 MiB read does.
    let working_set = raw.working_set_bytes.unwrap_or(raw.bytes_per_call);
    let (kind, bound) = bounds.bound(working_set, evicted);
    let bandwidth = Bandwidth {
        bytes_per_call: raw.bytes_per_call,
        ref_gbs: gbs(stats.ref_median_ns),
        cand_gbs: gbs(stats.cand_median_ns),
        bound_kind: kind.to_string(),
        working_set_bytes: raw.working_set_bytes,
        bound_gbs: bound,
        cand_pct_of_bound: 100.0 * gbs(stats.cand_median_ns) / bound,
        // NumPy's time over the time its bytes take at the bound (bytes / GB/s = ns).
        speedup_ceiling: (raw.bytes_per_call > 0 && bound > 0.0)
            .then(|| stats.ref_median_ns * bound / raw.bytes_per_call as f64),
    };
    let cpu = cpu_stats(
        &raw.ref_cpu_ns,
        &raw.cand_cpu_ns,
        &raw.cand_helper_cpu_ns,
        (stats.ref_median_ns, stats.cand_median_ns),
        cfg,
        &raw.id,
    );
    Ok(Cell {
        raw,
        stats,
        bandwidth,
        cpu,
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
            ", samples of ≥ {} calls each after max(2, {:.1} %) untimed calls of the same side, shorter ones after one (steady state)",
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

/// "3.10x" or "—" (no CPU times in the cell).
fn cpu_ratio_str(c: &Cell) -> String {
    c.cpu
        .as_ref()
        .map_or_else(|| "—".to_string(), |p| format!("{:.2}x", p.cpu_ratio))
}

/// The speedup table (markdown; also printed to the terminal).
pub fn table(cells: &[Cell]) -> String {
    let mut s = String::new();
    s.push_str("| cell | level | regime | NumPy | Raptors | speedup | 95 % CI | verdict | CPU ratio | Raptors cores | Raptors GB/s | bound GB/s | % of bound | speedup at bound | rounds × calls N/R | outliers N/R | check |\n");
    s.push_str(
        "|---|---|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for c in cells.iter().filter(|c| c.raw.kind == CellKind::Compare) {
        let (st, bw) = (&c.stats, &c.bandwidth);
        let _ = writeln!(
            s,
            "| {} {} {} | {} | {} | {} | {} | {:.2}x | {:.2}–{:.2} | {} | {} | {} | {:.1} | {:.0} ({}) | {:.0} % | {} | {} × {}/{} | {}/{} | {} |",
            c.raw.op,
            c.raw.dtype,
            shape_str(&c.raw.shape),
            c.raw.level,
            c.raw.regime,
            fmt_time(st.ref_median_ns),
            fmt_time(st.cand_median_ns),
            st.speedup,
            st.ci_low,
            st.ci_high,
            st.verdict.describe("Raptors", "NumPy"),
            cpu_ratio_str(c),
            c.cpu
                .as_ref()
                .map_or_else(|| "—".to_string(), |p| format!("{:.2}", p.cand_cores)),
            bw.cand_gbs,
            bw.bound_gbs,
            bw.bound_kind,
            bw.cand_pct_of_bound,
            bw.speedup_ceiling
                .map_or_else(|| "—".to_string(), |x| format!("{x:.2}x")),
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

/// The per-regime view: one row per op × dtype × shape × level measured in more than the `hot`
/// regime, one column per regime (table order): speedup, verdict (stored per cell), both
/// medians, CPU-time ratio. Empty string when every cell is `hot`.
pub fn regime_table(cells: &[Cell]) -> String {
    let table = crate::ops::table();
    let compare: Vec<&Cell> = cells
        .iter()
        .filter(|c| c.raw.kind == CellKind::Compare)
        .collect();
    let mut regimes: Vec<&str> = compare.iter().map(|c| c.raw.regime.as_str()).collect();
    regimes.sort_by_key(|r| (table.regime_rank(r), *r));
    regimes.dedup();
    if regimes.iter().all(|r| *r == crate::ops::HOT) {
        return String::new();
    }
    // Rows in first-measured order, keyed by the cell without its regime.
    let mut rows: Vec<(&Cell, Vec<&Cell>)> = Vec::new();
    for c in &compare {
        let same = |r: &Cell| {
            r.raw.op == c.raw.op
                && r.raw.dtype == c.raw.dtype
                && r.raw.shape == c.raw.shape
                && r.raw.level == c.raw.level
        };
        match rows.iter_mut().find(|(first, _)| same(first)) {
            Some((_, list)) => list.push(c),
            None => rows.push((c, vec![c])),
        }
    }
    rows.retain(|(_, list)| list.iter().any(|c| c.raw.regime != crate::ops::HOT));
    let mut s = String::from("| op | dtype | size | level |");
    for r in &regimes {
        let _ = write!(s, " {r} |");
    }
    s.push_str("\n|---|---|---|---|");
    s.push_str(&"---|".repeat(regimes.len()));
    s.push('\n');
    for (first, list) in &rows {
        let _ = write!(
            s,
            "| {} | {} | {} | {} |",
            first.raw.op,
            first.raw.dtype,
            shape_str(&first.raw.shape),
            first.raw.level
        );
        for r in &regimes {
            match list.iter().find(|c| c.raw.regime == *r) {
                Some(c) => {
                    let _ = write!(
                        s,
                        " **{:.2}x** {} · {} vs {} · CPU {} |",
                        c.stats.speedup,
                        c.stats.verdict.describe("Raptors", "NumPy"),
                        fmt_time(c.stats.ref_median_ns),
                        fmt_time(c.stats.cand_median_ns),
                        cpu_ratio_str(c)
                    );
                }
                None => s.push_str(" — |"),
            }
        }
        s.push('\n');
    }
    s
}

/// One line per regime used in the run: what a sample is (from the op table).
fn regime_lines(r: &Results) -> String {
    let table = crate::ops::table();
    let mut used: Vec<&str> = r.cells.iter().map(|c| c.raw.regime.as_str()).collect();
    used.sort_by_key(|n| (table.regime_rank(n), *n));
    used.dedup();
    let mut s = String::new();
    for name in used {
        let about = table
            .regime(name)
            .map_or("not in this build's op table", |g| g.about.as_str());
        let _ = writeln!(s, "  - `{name}`: {about}");
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
    let _ = writeln!(s, "- bandwidth bound: {:.0} GB/s when the working set fits the last-level cache, else {:.0} GB/s (DRAM); {}",
        r.config.bw_cache_gbs, r.config.bw_dram_gbs,
        r.config.bw_method.as_deref().unwrap_or("given (files from before the bound was measured: one core)"));
    let _ = write!(
        s,
        "- timing regimes (each paired and interleaved with NumPy under the same conditions):\n{}",
        regime_lines(r)
    );
    let _ = writeln!(
        s,
        "- CPU ratio = NumPy CPU time per call / Raptors CPU time per call (user + system, mean over rounds; Raptors's includes its \
         helper threads' time over each round, spinning included; > 1: Raptors uses less CPU); Raptors cores = its CPU per call / its median wall time"
    );
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
    let regimes = regime_table(&r.cells);
    if !regimes.is_empty() {
        s.push_str("\n## Timing regimes\n\nSpeedup (NumPy / Raptors, median of paired rounds) and verdict per regime, NumPy vs Raptors median time per call, CPU-time ratio.\n\n");
        s.push_str(&regimes);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::tests::synthetic_results;
    use crate::model::{CpuClockInfo, RegimeSetup};

    /// A results file with `sum` f32 1024² in three regimes (Raptors 2x, 1.5x, 1.1x faster by
    /// construction, CPU per call given) and `add` in `hot` only.
    fn regime_results() -> Results {
        let mut r = synthetic_results(
            7,
            &[("sum", 1.0), ("sum", 1.333), ("sum", 1.818), ("add", 1.0)],
        );
        let cfg = r.config.stats.clone();
        let bounds = BoundModel {
            ll_cache_bytes: 32 << 20,
            cache_gbs: 99.0,
            dram_gbs: 30.0,
        };
        let regimes = ["hot", "after-idle", "cache-cold", "hot"];
        r.cells = std::mem::take(&mut r.cells)
            .into_iter()
            .zip(regimes)
            .enumerate()
            .map(|(i, (c, regime))| {
                let mut raw = c.raw;
                raw.regime = regime.into();
                raw.id = format!("{}/f32/1024/auto/{regime}", raw.op);
                let n = raw.ref_ns.len();
                // NumPy one core; Raptors's CPU twice its wall time in the first cell (a helper
                // thread on the other core), its wall time otherwise.
                raw.ref_cpu_ns = raw.ref_ns.clone();
                raw.cand_cpu_ns = raw
                    .cand_ns
                    .iter()
                    .map(|w| if i == 0 { 2.0 * w } else { *w })
                    .collect();
                raw.cand_helper_cpu_ns = if i == 0 {
                    raw.cand_ns.clone()
                } else {
                    vec![0.0; n]
                };
                raw.cpu_clock = Some(CpuClockInfo {
                    clock: "thread_clocks".into(),
                    window_overhead_ns: 150,
                    helpers_counted: true,
                    threads: vec!["raptors-helper".into()],
                });
                if regime != "hot" {
                    raw.calls_per_sample = 1;
                    raw.cand_calls_per_sample = Some(1);
                    raw.regime_setup = Some(RegimeSetup {
                        calls: Some(1),
                        work_ms: (regime == "after-idle").then_some(2.0),
                        work_iterations_median: (regime == "after-idle").then_some(900),
                        evict_bytes: (regime == "cache-cold").then_some(64 << 20),
                        llc_bytes: (regime == "cache-cold").then_some(32 << 20),
                        llc_source: (regime == "cache-cold").then(|| "sysfs L3 Unified".into()),
                    });
                }
                analyze(raw, &cfg, &bounds).unwrap()
            })
            .collect();
        r
    }

    #[test]
    fn regime_view_has_one_row_per_cell_and_a_column_per_regime() {
        let r = regime_results();
        let t = regime_table(&r.cells);
        // `add` was measured hot only: not in the per-regime view (it is in the speedup table).
        assert!(!t.contains("| add |"), "{t}");
        insta::assert_snapshot!(t);
        // The verdict shown is the one stored per cell (stats::decide), never decided again.
        for c in &r.cells {
            assert!(t.contains(&c.stats.verdict.describe("Raptors", "NumPy")));
        }
        // Every cell hot: no per-regime view at all.
        let hot: Vec<Cell> = r
            .cells
            .iter()
            .filter(|c| c.raw.regime == crate::ops::HOT)
            .cloned()
            .collect();
        assert_eq!(regime_table(&hot), "");
    }

    #[test]
    fn cpu_ratio_sees_the_helper_thread() {
        let r = regime_results();
        let hot = r.cells[0].cpu.as_ref().unwrap();
        let idle = r.cells[1].cpu.as_ref().unwrap();
        // Wall speedup ~2x, but Raptors used two cores: the same CPU time per call as NumPy.
        assert!((hot.cpu_ratio - 1.0).abs() < 0.05, "{hot:?}");
        assert!((hot.cand_cores - 2.0).abs() < 0.1, "{hot:?}");
        assert!(
            (idle.cpu_ratio - r.cells[1].stats.speedup).abs() < 0.1,
            "{idle:?}"
        );
        assert!(hot.cand_helper_cpu_ns.unwrap() > 0.0);
    }

    #[test]
    fn markdown_and_json_carry_the_regime_and_cpu_time_per_cell() {
        let r = regime_results();
        let md = markdown(&r);
        assert!(md.contains("## Timing regimes"), "{md}");
        assert!(md.contains("| cell | level | regime | NumPy | Raptors | speedup |"));
        assert!(
            md.contains("| sum f32 1024×1024 | auto | cache-cold |"),
            "{md}"
        );
        // Each regime used is described from the op table.
        for name in ["hot", "after-idle", "cache-cold"] {
            let about = &crate::ops::table().regime(name).unwrap().about;
            assert!(md.contains(&format!("  - `{name}`: {about}")), "{name}");
        }
        let dir = std::env::temp_dir().join(format!("raptors-bench-report-{}", std::process::id()));
        let path = dir.join("r.json");
        write_json(&path, &r).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let cold = &v["cells"][2];
        assert_eq!(cold["regime"], "cache-cold");
        assert_eq!(cold["id"], "sum/f32/1024/auto/cache-cold");
        assert_eq!(cold["regime_setup"]["evict_bytes"], 64 << 20);
        // 12 MiB fit the 32 MiB cache, but the regime evicted them: the DRAM bound applies.
        assert_eq!(cold["bandwidth"]["bound_kind"], "dram");
        assert_eq!(v["cells"][1]["bandwidth"]["bound_kind"], "cache");
        // The speedup at the bound: NumPy's median over the time the bytes take at the bound.
        let c = &r.cells[2];
        let ceiling = c.stats.ref_median_ns * c.bandwidth.bound_gbs / c.raw.bytes_per_call as f64;
        let stored = cold["bandwidth"]["speedup_ceiling"].as_f64().unwrap();
        assert!(
            (stored - ceiling).abs() < 1e-9 * ceiling,
            "{stored} vs {ceiling}"
        );
        assert!(md.contains(&format!("| {ceiling:.2}x |")), "{md}");
        assert_eq!(cold["cpu_clock"]["clock"], "thread_clocks");
        assert!(cold["cpu"]["cpu_ratio"].as_f64().unwrap() > 1.0);
        let back = read_results(&path).unwrap();
        let (b, o) = (&back.cells[2].raw, &r.cells[2].raw);
        assert_eq!((&b.id, &b.regime, b.key()), (&o.id, &o.regime, o.key()));
        assert_eq!(
            (&b.regime_setup, &b.cpu_clock),
            (&o.regime_setup, &o.cpu_clock)
        );
        assert_eq!(b.cand_cpu_ns.len(), o.cand_cpu_ns.len());
        let (bc, oc) = (
            back.cells[0].cpu.as_ref().unwrap(),
            r.cells[0].cpu.as_ref().unwrap(),
        );
        assert!((bc.cpu_ratio - oc.cpu_ratio).abs() < 1e-9);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn files_from_before_regimes_read_as_hot() {
        let r = regime_results();
        let mut v = serde_json::to_value(&r).unwrap();
        for c in v["cells"].as_array_mut().unwrap() {
            let c = c.as_object_mut().unwrap();
            for k in [
                "regime",
                "ref_cpu_ns",
                "cand_cpu_ns",
                "cand_helper_cpu_ns",
                "cpu_clock",
                "cpu",
                "regime_setup",
            ] {
                c.remove(k);
            }
        }
        let old: Results = serde_json::from_value(v).unwrap();
        assert!(old
            .cells
            .iter()
            .all(|c| c.raw.regime == crate::ops::HOT && c.cpu.is_none()));
        assert_eq!(old.cells[3].raw.key(), "add/f32/1024x1024/auto/hot");
        assert!(markdown(&old).contains("| — | — |"));
    }
}
