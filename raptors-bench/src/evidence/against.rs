//! What changed between two revisions (`cargo xtask profile --against REV`): `against.json` and
//! `against.md`. The old revision's Raptors is profiled by the same pipeline as the current one
//! (xtask builds it); this module holds the comparison model, its one schema, the old-vs-new
//! timing run, the loop metrics and normalised loop diffs, and the rendering
//! ([`super::against_md`]).
//!
//! Timings: `python/against_runner.py` times NumPy, the old and the new build in one process,
//! paired and interleaved; every verdict is [`crate::stats::paired_stats`]'s (the one rule,
//! `stats::decide`) on the per-round ratio old time / new time (> 1: the new build is faster).
//! Loops: per op × dtype × architecture, the hot loop of each build as the profile chose it
//! ([`super::loops::loop_pairs`] over each build's [`OpPicks`]), its metrics, llvm-mca's cycles
//! and `raptors_asm::diff` of the two loops with addresses and encodings normalised away.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{bail, Context, Result};
use raptors_asm::diff::{diff_functions, Scope};
use raptors_asm::loops::Loop;
use raptors_asm::mca_set::McaSet;
use raptors_asm::Library;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::against_md::against_md;
use super::choice::{choose_op, Archs, Evidence};
use super::folder::Artifacts;
use super::loops::{all_loop_pairs, apply_emulated};
use super::picks::{Executed, ExecutedLoop, How, OpPicks, Pick};
use super::predicted::loops_to_predict;
use super::report::LoopPair;
use crate::callgrind::CallgrindRun;
use crate::provenance::Content;
use crate::stats::{paired_stats_grouped, PairedStats, StatsConfig, Verdict};
use raptors_asm::mca::probe_tool;
use raptors_asm::mca_set::predict_all;

pub const AGAINST_SCHEMA: &str = "raptors-bench/against/v1";

pub use super::revision::Revision;

/// How the old-vs-new timing run is set up.
#[derive(Clone, Debug)]
pub struct TimingOptions {
    /// The interpreter with NumPy and the current `raptors`.
    pub python: PathBuf,
    /// The directory holding the old build's `raptors` package.
    pub old_path: PathBuf,
    pub ops: Vec<String>,
    pub dtypes: Vec<String>,
    pub sizes: Vec<usize>,
    /// Soft budget of a cell's rounds (s); the runner's stopping rule and time bank apply.
    pub cell_budget_s: f64,
    /// `RAPTORS_THREADS` for both builds (None: Raptors's default).
    pub threads: Option<usize>,
    /// Runner processes, one after the other, each with its share of every cell's rounds and
    /// alternating which build is imported first (see [`run_timings`]).
    pub processes: usize,
}

/// Runner processes of an `--against` timing run. An A/A run (both builds the same commit) in one
/// process gave mean_axis0 f64 1024² 1.147x with both halves of its rounds at 1.147x, and
/// 1.009x and 1.017x in two other processes: identical code, a different layout per process
/// (load addresses, heap placement). Processes and a bootstrap that resamples them make such a
/// layout widen the interval instead of posing as an effect (pyperf spawns worker processes for
/// the same reason). Some layout follows the order of the two builds (which one is imported and
/// allocates first: against_runner.py's `--first`), which alternates between processes; an even
/// count gives each order the same weight.
pub const TIMING_PROCESSES: usize = 6;

impl TimingOptions {
    /// The profile's sizes (those of its comparison run); a round times three sides and waits
    /// for helper threads to park between builds, so a cell gets twice the comparison's budget.
    /// One thread: what changed in a kernel, without two builds' helper-thread pools competing
    /// for the second core in one process (threaded, an A/A run of identical builds at load 8
    /// put 5 of 6 1024² cells 0.65–0.82x apart; single-threaded 0.89–1.2x).
    pub fn new(python: PathBuf, old_path: PathBuf, quick: bool) -> TimingOptions {
        let compare = crate::compare::CompareOptions::new(python.clone(), quick);
        TimingOptions {
            python,
            old_path,
            ops: compare.runner.ops,
            dtypes: compare.runner.dtypes,
            sizes: compare.runner.sizes,
            cell_budget_s: 2.0 * compare.runner.cell_budget_s,
            threads: Some(1),
            processes: TIMING_PROCESSES,
        }
    }
}

/// One op × dtype × shape: old vs new, and each vs NumPy (`ref` = NumPy there).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TimingCell {
    pub op: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// Each build's result against NumPy's (`ok` or the mismatch).
    pub check_old: String,
    pub check_new: String,
    pub stop_reason: String,
    /// `ref` = old, `cand` = new: `speedup` = old time / new time, `verdict` the one rule's.
    pub old_vs_new: PairedStats,
    pub numpy_vs_old: PairedStats,
    pub numpy_vs_new: PairedStats,
}

/// The timing run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Timings {
    /// The runner's `machine` line: both extension files, their SIMD levels, NumPy, Python.
    pub machine: Value,
    pub cells: Vec<TimingCell>,
    /// (cell id, why it was not timed).
    pub skipped: Vec<(String, String)>,
    /// The runner stopped part-way (the cells before are kept).
    pub error: Option<String>,
}

/// Parses the runner's JSON lines (one process) into cells with their statistics.
pub fn timings_from_lines(text: &str) -> Result<Timings> {
    timings_from_runs(&[text])
}

/// One cell's rounds as the runner processes printed them, before the statistics.
struct RawCell {
    op: String,
    dtype: String,
    shape: Vec<usize>,
    check_old: String,
    check_new: String,
    stop_reasons: Vec<String>,
    /// Per process: (NumPy, old, new) times per call of each round.
    groups: Vec<[Vec<f64>; 3]>,
}

/// Parses the JSON lines of one or more runner processes: a cell's rounds from each process form
/// one group of [`paired_stats_grouped`] (processes resampled as well as rounds).
pub fn timings_from_runs(texts: &[&str]) -> Result<Timings> {
    let cfg = StatsConfig::default();
    let mut t = Timings {
        machine: Value::Null,
        cells: Vec::new(),
        skipped: Vec::new(),
        error: None,
    };
    let mut raw: Vec<(String, RawCell)> = Vec::new();
    for (k, text) in texts.iter().enumerate() {
        let mut done = false;
        let label = |why: String| match texts.len() {
            1 => why,
            _ => format!("runner process {} of {}: {why}", k + 1, texts.len()),
        };
        for line in text.lines().filter(|l| l.trim_start().starts_with('{')) {
            let v: Value =
                serde_json::from_str(line).with_context(|| format!("runner line {line}"))?;
            let s = |key: &str| v[key].as_str().unwrap_or_default().to_string();
            match v["type"].as_str() {
                Some("machine") if t.machine.is_null() => t.machine = v.clone(),
                Some("cell") => {
                    let ns = |key: &str| -> Result<Vec<f64>> {
                        serde_json::from_value(v[key].clone())
                            .with_context(|| format!("cell {key}"))
                    };
                    let times = [ns("numpy_ns")?, ns("old_ns")?, ns("new_ns")?];
                    let id = s("id");
                    let shape: Vec<usize> = serde_json::from_value(v["shape"].clone())
                        .with_context(|| format!("{id}: shape"))?;
                    match raw.iter_mut().find(|(i, _)| *i == id) {
                        Some((_, c)) => {
                            // A build whose result failed its check in any process keeps that.
                            for (have, now) in [
                                (&mut c.check_old, s("check_old")),
                                (&mut c.check_new, s("check_new")),
                            ] {
                                if have == "ok" && now != "ok" {
                                    *have = now;
                                }
                            }
                            c.stop_reasons.push(s("stop_reason"));
                            c.groups.push(times);
                        }
                        None => raw.push((
                            id,
                            RawCell {
                                op: s("op"),
                                dtype: s("dtype"),
                                shape,
                                check_old: s("check_old"),
                                check_new: s("check_new"),
                                stop_reasons: vec![s("stop_reason")],
                                groups: vec![times],
                            },
                        )),
                    }
                }
                Some("skip") if !t.skipped.iter().any(|(id, _)| *id == s("id")) => {
                    t.skipped.push((s("id"), s("reason")));
                }
                Some("fatal") => {
                    t.error.get_or_insert(label(s("reason")));
                }
                Some("done") => {
                    done = true;
                    t.machine["load_after"] = v["load_after"].clone();
                }
                _ => {}
            }
        }
        if !done && t.error.is_none() {
            t.error = Some(label("the runner ended without finishing its plan".into()));
        }
    }
    if !t.machine.is_null() {
        t.machine["processes"] = texts.len().into();
    }
    for (id, c) in raw {
        // Sides of a group: 0 NumPy, 1 old, 2 new; `r` is the reference, `c` the candidate.
        let stats = |r: usize, c_: usize, what: &str| {
            let groups: Vec<(&[f64], &[f64])> =
                c.groups.iter().map(|g| (&g[r][..], &g[c_][..])).collect();
            paired_stats_grouped(&groups, &cfg, &format!("{id}/{what}"))
                .with_context(|| format!("{id}: {what}"))
        };
        let mut reasons: Vec<&str> = Vec::new();
        for r in &c.stop_reasons {
            if !reasons.contains(&r.as_str()) {
                reasons.push(r);
            }
        }
        let stop_reason = reasons.join(", ");
        t.cells.push(TimingCell {
            old_vs_new: stats(1, 2, "old/new")?,
            numpy_vs_old: stats(0, 1, "numpy/old")?,
            numpy_vs_new: stats(0, 2, "numpy/new")?,
            op: c.op,
            dtype: c.dtype,
            shape: c.shape,
            check_old: c.check_old,
            check_new: c.check_new,
            stop_reason,
        });
    }
    Ok(t)
}

/// Runs `python/against_runner.py` (written with the other scripts) in `o.processes` processes,
/// one after the other, and parses what they printed. Each process times every cell with its
/// share of the rounds; the build that goes first (imported first, first to allocate its results)
/// alternates between processes: the order sets where each library and its buffers land. A runner
/// that fails before its first cell is an error; later failures are in `error`.
pub fn run_timings(o: &TimingOptions) -> Result<Timings> {
    let processes = o.processes.max(1);
    let mut texts = Vec::with_capacity(processes);
    for k in 0..processes {
        if processes > 1 {
            eprintln!("  runner process {} of {processes}", k + 1);
        }
        let text = run_timing_process(o, k, processes)?;
        let failed = timings_from_lines(&text).map_or(true, |t| t.error.is_some());
        texts.push(text);
        if failed {
            break; // the error is reported; later processes would fail the same way
        }
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let t = timings_from_runs(&refs)?;
    if t.cells.is_empty() && t.skipped.is_empty() {
        bail!(
            "against_runner.py timed nothing: {}",
            t.error.as_deref().unwrap_or("no output")
        );
    }
    Ok(t)
}

/// Process `k` of `processes`: its share of each cell's budget and rounds, its own seed, and the
/// build it imports first.
fn run_timing_process(o: &TimingOptions, k: usize, processes: usize) -> Result<String> {
    let dir = crate::runner::python_scripts()?;
    let join = |v: &[String]| v.join(",");
    let sizes: Vec<String> = o.sizes.iter().map(usize::to_string).collect();
    let mut cmd = crate::runner::python_command(&o.python, None);
    cmd.arg(dir.join("against_runner.py"))
        .arg("--old-path")
        .arg(&o.old_path)
        .args(["--ops", &join(&o.ops), "--dtypes", &join(&o.dtypes)])
        .args(["--sizes", &sizes.join(",")])
        .args([
            "--cell-budget-s",
            &(o.cell_budget_s / processes as f64).to_string(),
        ])
        .args(["--first", if k % 2 == 0 { "old" } else { "new" }])
        .args(["--seed", &(12345 + 1000 * k).to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if processes > 1 {
        // The rounds floor applies per process; the cell's total stays near one process's 20.
        let floor = (40 / processes).max(8);
        cmd.args(["--min-rounds", &floor.to_string()]);
    }
    if let Some(n) = o.threads {
        cmd.env("RAPTORS_THREADS", n.to_string());
    }
    let mut child = cmd.spawn().context("starting against_runner.py")?;
    let mut text = String::new();
    let stdout = child.stdout.take().context("runner stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Ok(one) = timings_from_lines(&line) {
            for c in &one.cells {
                let (s, id) = (&c.old_vs_new, format!("{} {} {:?}", c.op, c.dtype, c.shape));
                eprintln!(
                    "  {id}: old/new {:.3}x [{:.3}, {:.3}]",
                    s.speedup, s.ci_low, s.ci_high
                );
            }
            for (id, why) in &one.skipped {
                eprintln!("  {id}: not timed: {why}");
            }
        }
        text.push_str(&line);
        text.push('\n');
    }
    let status = child.wait()?;
    if !status.success() && !text.contains("\"type\": \"fatal\"") {
        text.push_str(&format!(
            "{{\"type\": \"fatal\", \"reason\": \"against_runner.py exited with {status}\"}}\n"
        ));
    }
    Ok(text)
}

/// A hot loop's metrics (raptors-asm's `Loop`), per input element where derivable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoopMetrics {
    pub function: String,
    pub loop_start: u64,
    /// `execution`: the loop holding the function's most executed address (callgrind's counts
    /// or perf samples, `how` says which found the function); `static`: raptors-asm's choice.
    pub chosen_by: String,
    pub how: How,
    pub instructions: u64,
    pub elements_per_iteration: Option<f64>,
    pub instructions_per_element: Option<f64>,
    pub loads_per_element: Option<f64>,
    pub stores_per_element: Option<f64>,
    pub vector_bits: u16,
    pub unroll: u64,
    pub accumulators: u64,
    /// llvm-mca's prediction per CPU model, or why there is none.
    pub cycles: BTreeMap<String, Result<Cycles, String>>,
}

/// llvm-mca's cycles of one loop on one model: per iteration, and per input element when the
/// loop's elements per iteration are known.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cycles {
    pub per_iteration: f64,
    pub per_element: Option<f64>,
}

/// The normalised diff of the two hot loops (`raptors_asm::diff`, A = old).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoopDiff {
    pub identical: bool,
    pub removed: usize,
    pub added: usize,
    pub unified: String,
}

/// One op × dtype × architecture: both builds' hot loops and their diff.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoopChange {
    pub op: String,
    pub dtype: String,
    pub arch: String,
    /// `real run` (measured architecture) or `static`.
    pub build: String,
    pub old: Result<LoopMetrics, String>,
    pub new: Result<LoopMetrics, String>,
    pub diff: Result<LoopDiff, String>,
}

/// Instructions per element inside Raptors's module under callgrind, old and new.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutedChange {
    pub op: String,
    pub dtype: String,
    pub old: Option<f64>,
    pub new: Option<f64>,
}

/// `against.json` (without provenance).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgainstReport {
    pub schema: String,
    pub old: Revision,
    pub new: Revision,
    /// The measured architecture.
    pub host: String,
    pub quick: bool,
    pub timings: Result<Timings, String>,
    pub executed: Result<Vec<ExecutedChange>, String>,
    pub loops: Result<Vec<LoopChange>, String>,
}

/// What one build's profile chose: its functions, their hot loops, llvm-mca's predictions, and
/// its Raptors library per architecture.
pub struct BuildLoops<'a> {
    pub picks: &'a [OpPicks],
    pub loops: &'a [LoopPair],
    pub mca: Option<&'a McaSet>,
    pub raptors: &'a dyn Fn(&str) -> Option<&'a Library>,
}

impl BuildLoops<'_> {
    fn pick(&self, op: &str, dtype: &str, arch: &str) -> Result<&Pick, String> {
        let p = self.picks.iter().find(|p| p.op == op && p.dtype == dtype);
        let a = p.and_then(|p| p.archs.iter().find(|a| a.arch == arch));
        let a = a.ok_or_else(|| format!("no function was chosen for {op} {dtype} on {arch}"))?;
        a.real.raptors.as_ref().map_err(String::clone)
    }

    fn side(&self, p: &LoopPair) -> Result<(LoopMetrics, &Pick), String> {
        let (function, l) = p.raptors.as_ref().map_err(String::clone)?;
        let pick = self.pick(&p.op, &p.dtype, &p.arch)?;
        let cycles = self.mca.map(|set| cycles(set, p, l)).unwrap_or_default();
        Ok((metrics(function, l, pick, cycles), pick))
    }
}

fn metrics(
    function: &str,
    l: &Loop,
    pick: &Pick,
    cycles: BTreeMap<String, Result<Cycles, String>>,
) -> LoopMetrics {
    let per = l.per_element.as_ref();
    LoopMetrics {
        function: function.into(),
        loop_start: l.start,
        chosen_by: if pick.hot_address.is_some() {
            "execution"
        } else {
            "static"
        }
        .into(),
        how: pick.how,
        instructions: l.instructions,
        elements_per_iteration: l.elements_per_iteration,
        instructions_per_element: l.instructions_per_element,
        loads_per_element: per.map(|p| p.loads),
        stores_per_element: per.map(|p| p.stores),
        vector_bits: l.vector_bits,
        unroll: l.unroll,
        accumulators: l.accumulators,
        cycles,
    }
}

fn cycles(set: &McaSet, p: &LoopPair, l: &Loop) -> BTreeMap<String, Result<Cycles, String>> {
    let found = set.loops.iter().find(|x| {
        (
            x.op.as_str(),
            x.dtype.as_str(),
            x.library.as_str(),
            x.arch.name(),
            &x.build,
        ) == (
            p.op.as_str(),
            p.dtype.as_str(),
            "raptors",
            p.arch.as_str(),
            &p.build,
        ) && x.loop_start == Some(l.start)
    });
    let Some(found) = found else {
        return BTreeMap::new();
    };
    found
        .predictions
        .iter()
        .map(|pr| {
            let v = match (&pr.error, pr.cycles_per_iteration) {
                (Some(e), _) => Err(e.clone()),
                (None, Some(c)) => Ok(Cycles {
                    per_iteration: c,
                    per_element: pr.cycles_per_element,
                }),
                (None, None) => Err("llvm-mca gave no cycles".into()),
            };
            (pr.cpu.clone(), v)
        })
        .collect()
}

/// Every op × dtype × architecture of the new build's loops (the real run's or static build;
/// not the loops valgrind ran), paired with the old build's.
pub fn loop_changes(old: &BuildLoops, new: &BuildLoops) -> Vec<LoopChange> {
    let mut out = Vec::new();
    for p in new.loops.iter().filter(|p| p.build != "under valgrind") {
        let o = old
            .loops
            .iter()
            .find(|q| (&q.op, &q.dtype, &q.arch, &q.build) == (&p.op, &p.dtype, &p.arch, &p.build))
            .ok_or_else(|| {
                format!(
                    "the old build has no {} loop of {} {}",
                    p.arch, p.op, p.dtype
                )
            });
        let (o, n) = (o.and_then(|o| old.side(o)), new.side(p));
        let diff = match (&o, &n) {
            (Ok((om, op)), Ok((nm, np))) => {
                loop_diff(&p.arch, (old, op, om.loop_start), (new, np, nm.loop_start))
            }
            (Err(e), _) => Err(format!("old: {e}")),
            (_, Err(e)) => Err(format!("new: {e}")),
        };
        out.push(LoopChange {
            op: p.op.clone(),
            dtype: p.dtype.clone(),
            arch: p.arch.clone(),
            build: p.build.clone(),
            old: o.map(|x| x.0),
            new: n.map(|x| x.0),
            diff,
        });
    }
    out
}

fn loop_diff(
    arch: &str,
    (ob, op, ostart): (&BuildLoops<'_>, &Pick, u64),
    (nb, np, nstart): (&BuildLoops<'_>, &Pick, u64),
) -> Result<LoopDiff, String> {
    let missing = |which: &str| format!("the {which} {arch} library is not available");
    let ol = (ob.raptors)(arch).ok_or_else(|| missing("old"))?;
    let nl = (nb.raptors)(arch).ok_or_else(|| missing("new"))?;
    let f = |l: &Library, p: &Pick| {
        l.table
            .at(p.address)
            .cloned()
            .ok_or_else(|| format!("no function at {:#x} in {}", p.address, l.path.display()))
    };
    let (of, nf) = (f(ol, op)?, f(nl, np)?);
    let d = diff_functions(
        (&ol.elf, &ol.table, &of),
        (&nl.elf, &nl.table, &nf),
        Scope::Loop(Some(ostart)),
        Scope::Loop(Some(nstart)),
    )
    .map_err(|e| e.to_string())?;
    // The header names the builds, not their long paths.
    let unified = d
        .unified
        .replacen(&format!("--- {}:", d.a.file), "--- old:", 1)
        .replacen(&format!("+++ {}:", d.b.file), "+++ new:", 1);
    Ok(LoopDiff {
        identical: d.identical,
        removed: d.removed,
        added: d.added,
        unified,
    })
}

/// Raptors's executed instructions per element, old and new, per op × dtype of the new run.
pub fn executed_changes(old: &[Executed], new: &[Executed]) -> Vec<ExecutedChange> {
    new.iter()
        .map(|n| ExecutedChange {
            op: n.op.clone(),
            dtype: n.dtype.clone(),
            old: old
                .iter()
                .find(|o| o.op == n.op && o.dtype == n.dtype)
                .and_then(|o| o.raptors),
            new: n.raptors,
        })
        .collect()
}

impl AgainstReport {
    /// `against.json`'s content (the provenance is added when written).
    pub fn json(&self) -> Value {
        serde_json::to_value(self).expect("the report serialises")
    }

    /// Cells whose stored old-vs-new verdict is not "no difference", in the timing run's order.
    pub fn changed_cells(&self) -> Vec<&TimingCell> {
        match &self.timings {
            Ok(t) => t
                .cells
                .iter()
                .filter(|c| c.old_vs_new.verdict != Verdict::NoDifference)
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The loop changes of one op × dtype (every analysed architecture).
    pub fn loops_of(&self, op: &str, dtype: &str) -> Vec<&LoopChange> {
        match &self.loops {
            Ok(l) => l
                .iter()
                .filter(|c| c.op == op && c.dtype == dtype)
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// The current build's profile as the pipeline produced it, for the comparison.
pub struct Current<'a> {
    pub picks: &'a [OpPicks],
    pub loops: &'a [LoopPair],
    pub mca: Option<&'a McaSet>,
    pub cg: &'a Result<CallgrindRun, String>,
    /// NumPy's module on the measured and on the static architecture.
    pub numpy: [Option<&'a Library>; 2],
    /// Raptors's library on the measured and on the static architecture.
    pub raptors: [Option<&'a Library>; 2],
    pub env: Option<&'a crate::machine::Environment>,
    /// Under qemu-user emulation: nothing was executed natively.
    pub emulated: bool,
}

/// The old build's side of the comparison, chosen the way the profile chose the current one's.
pub struct OldProfile {
    pub picks: Vec<OpPicks>,
    pub loops: Vec<LoopPair>,
    /// llvm-mca on the old build's loops, or why there are no predictions.
    pub mca: Result<McaSet, String>,
}

/// Why the old build's functions have no perf samples: its real-run function is the ISA twin of
/// what callgrind ran at this machine's level, else the op table's patterns.
pub const OLD_NOT_SAMPLED: &str = "perf sampling is not repeated for the old build";

/// The old build's functions (`choose_op` with its callgrind run `cg`, without perf samples; on
/// the emulated architecture what ran under qemu-user, `emulated`, as for the current build),
/// their hot loops on the analysed architectures, and llvm-mca's predictions of them. `old`:
/// its Raptors library on the measured and on the static architecture.
pub fn profile_old(
    cells: &[(String, String)],
    on: Archs,
    cur: &Current,
    old: [Option<&Library>; 2],
    cg: &Result<CallgrindRun, String>,
    emulated: &[ExecutedLoop],
) -> Result<OldProfile> {
    let (Some(np), Some(rp)) = (cur.numpy[0], old[0]) else {
        bail!("needs NumPy's and the old Raptors module on the measured architecture");
    };
    let libs = [Library::open(&np.path)?, Library::open(&rp.path)?];
    let statics = [cur.numpy[1], old[1]];
    let samples = Err(OLD_NOT_SAMPLED.to_string());
    let ev = Evidence {
        cg,
        samples: &samples,
        env: cur.env,
        emulated: cur.emulated,
    };
    let mut picks = cells
        .iter()
        .map(|(op, dtype)| choose_op(op, dtype, on, &libs, statics, &ev))
        .collect::<Result<Vec<_>>>()?;
    apply_emulated(&mut picks, emulated);
    let analysed: Vec<&str> = std::iter::once(on.host).chain(on.other).collect();
    let lib_pair = |arch: &str| match arch == on.host {
        true => [Some(&libs[0]), Some(&libs[1])],
        false => statics,
    };
    let loops = all_loop_pairs(&picks, &analysed, lib_pair);
    // NumPy's loops are the current build's: only Raptors's are predicted again.
    let mca = probe_tool().map_err(|e| format!("{e:#}")).map(|tool| {
        let raptors = loops_to_predict(&loops).into_iter();
        let raptors: Vec<_> = raptors.filter(|l| l.library == "raptors").collect();
        predict_all(&tool, &raptors)
    });
    Ok(OldProfile { picks, loops, mca })
}

/// The old build as profiled: its profile (or why there is none), its callgrind run, its Raptors
/// library on the measured and on the static architecture.
pub struct Old<'a> {
    pub revision: Revision,
    pub profile: &'a Result<OldProfile, String>,
    pub cg: &'a Result<CallgrindRun, String>,
    pub raptors: [Option<&'a Library>; 2],
}

/// `against.json`'s content: both builds' loops paired and diffed, callgrind's instructions per
/// element of both, and the timings.
pub fn report(
    old: &Old,
    cur: &Current,
    host: &str,
    quick: bool,
    timings: Result<Timings, String>,
) -> AgainstReport {
    let side = |arch: &str| usize::from(arch != host);
    let old_lib = |arch: &str| old.raptors[side(arch)];
    let new_lib = |arch: &str| cur.raptors[side(arch)];
    let loops = old.profile.as_ref().map_err(String::clone).map(|p| {
        let o = BuildLoops {
            picks: &p.picks,
            loops: &p.loops,
            mca: p.mca.as_ref().ok(),
            raptors: &old_lib,
        };
        let n = BuildLoops {
            picks: cur.picks,
            loops: cur.loops,
            mca: cur.mca,
            raptors: &new_lib,
        };
        loop_changes(&o, &n)
    });
    let executed = match (old.cg, cur.cg) {
        (Ok(o), Ok(n)) => Ok(executed_changes(&Executed::of_run(o), &Executed::of_run(n))),
        (Err(e), _) => Err(format!("old build: {e}")),
        (_, Err(e)) => Err(format!("current build: {e}")),
    };
    AgainstReport {
        schema: AGAINST_SCHEMA.into(),
        old: old.revision.clone(),
        new: Revision::current(),
        host: host.into(),
        quick,
        timings,
        executed,
        loops,
    }
}

/// The two files, or stand-ins saying `why` there is no comparison.
pub fn put_files(art: &mut Artifacts, r: Result<&AgainstReport, String>) {
    match r {
        Ok(r) => {
            art.put("against.json", Content::Json(r.json()));
            art.put("against.md", Content::Markdown(against_md(r)));
        }
        Err(why) => art.expect(&["against.json", "against.md"], &why),
    }
}
