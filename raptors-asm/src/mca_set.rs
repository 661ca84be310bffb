//! llvm-mca over a whole profile: every chosen hot loop (op × dtype × library × architecture)
//! on the fixed CPU models of its architecture ([`crate::mca::MODELS`], plus the host's model).
//! [`predict_all`] gives the `mca.json` artifact ([`McaSet`]); [`predicted_cycles_md`] its
//! README table, [`details_md`] the per-loop listing with IPC and bottleneck, [`findings`] the
//! sentences a report leads with. A loop that is missing or that llvm-mca rejects stays in the set
//! with the reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::elf::Arch;
use crate::loops::Loop;
use crate::mca::{host_arch, models_for, predict_loop, Prediction, Tool, ITERATIONS, MODELS};

/// Schema tag of `mca.json`.
pub const SCHEMA: &str = "raptors-asm/mca-set/v1";

/// One loop to predict: which op, library and build it belongs to, and the loop (or why there is
/// none).
#[derive(Debug, Clone)]
pub struct LoopToPredict {
    pub op: String,
    pub dtype: String,
    /// `numpy` or `raptors`.
    pub library: String,
    pub arch: Arch,
    /// `real run`, `static` or `under valgrind` (the build the loop was chosen in).
    pub build: String,
    pub hot: Result<(String, Loop), String>,
}

/// A model the set was predicted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelUsed {
    pub arch: Arch,
    pub cpu: String,
    /// `list` or `host` (this machine's model, not in the list).
    pub source: String,
    /// The model of the machine that ran the prediction (compare with its measurements).
    pub host: bool,
    pub note: String,
}

/// One loop's predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopPredictions {
    pub op: String,
    pub dtype: String,
    pub library: String,
    pub arch: Arch,
    pub build: String,
    pub function: Option<String>,
    pub loop_start: Option<u64>,
    pub loop_end: Option<u64>,
    pub elements_per_iteration: Option<f64>,
    pub elements_basis: Option<String>,
    /// Why there is no loop to predict (the other fields are then empty).
    pub unavailable: Option<String>,
    pub predictions: Vec<Prediction>,
}

/// `mca.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McaSet {
    pub schema: String,
    pub tool: String,
    pub tool_version: String,
    /// LLVM's name for the host CPU, if it has a model for it.
    pub host_cpu: Option<String>,
    pub iterations: u32,
    pub models: Vec<ModelUsed>,
    pub loops: Vec<LoopPredictions>,
}

impl McaSet {
    /// The prediction of `cpu` for one loop of the real (or static) build.
    pub fn prediction(
        &self,
        op: &str,
        dtype: &str,
        library: &str,
        arch: Arch,
        cpu: &str,
    ) -> Result<&Prediction, String> {
        let l = self
            .loops
            .iter()
            .find(|l| {
                l.op == op
                    && l.dtype == dtype
                    && l.library == library
                    && l.arch == arch
                    && l.build != "under valgrind"
            })
            .ok_or_else(|| "no loop was chosen".to_string())?;
        if let Some(why) = &l.unavailable {
            return Err(why.clone());
        }
        l.predictions
            .iter()
            .find(|p| p.cpu == cpu)
            .ok_or_else(|| format!("not predicted on {cpu}"))
    }

    /// The model of the machine that ran the prediction, when it has architecture `arch` and
    /// LLVM has a model of its CPU.
    pub fn host_model(&self, arch: Arch) -> Option<&ModelUsed> {
        self.models.iter().find(|m| m.host && m.arch == arch)
    }

    /// The host model's cycles per element for one loop, or why there is none.
    pub fn host_cycles_per_element(
        &self,
        op: &str,
        dtype: &str,
        library: &str,
        arch: Arch,
    ) -> Result<f64, String> {
        let cpu = self
            .host_model(arch)
            .map(|m| m.cpu.as_str())
            .ok_or("llvm-mca has no model of this CPU")?;
        let p = self.prediction(op, dtype, library, arch, cpu)?;
        if let Some(e) = &p.error {
            return Err(e.clone());
        }
        p.cycles_per_element
            .ok_or_else(|| "the loop's elements per iteration are unknown".into())
    }
}

/// Predicts every loop on its architecture's models (llvm-mca runs once per loop and model).
pub fn predict_all(tool: &Tool, loops: &[LoopToPredict]) -> McaSet {
    let mut models: Vec<ModelUsed> = Vec::new();
    for arch in [Arch::X86_64, Arch::Aarch64] {
        if !loops.iter().any(|l| l.arch == arch) {
            continue;
        }
        for (cpu, source) in models_for(arch, tool, &[]) {
            let note = MODELS
                .iter()
                .find(|m| m.cpu == cpu)
                .map_or("this machine's CPU", |m| m.note);
            models.push(ModelUsed {
                arch,
                host: tool.host_cpu.as_deref() == Some(cpu.as_str()) && arch == host_arch(),
                cpu,
                source: source.into(),
                note: note.into(),
            });
        }
    }
    let predicted = loops
        .iter()
        .map(|l| {
            let mut out = LoopPredictions {
                op: l.op.clone(),
                dtype: l.dtype.clone(),
                library: l.library.clone(),
                arch: l.arch,
                build: l.build.clone(),
                function: None,
                loop_start: None,
                loop_end: None,
                elements_per_iteration: None,
                elements_basis: None,
                unavailable: None,
                predictions: Vec::new(),
            };
            match &l.hot {
                Err(why) => out.unavailable = Some(why.clone()),
                Ok((function, lp)) => {
                    let m = models_for(l.arch, tool, &[]);
                    out.function = Some(function.clone());
                    (out.loop_start, out.loop_end) = (Some(lp.start), Some(lp.end));
                    out.elements_per_iteration = lp.elements_per_iteration;
                    out.elements_basis = Some(lp.elements_basis.clone());
                    out.predictions = predict_loop(tool, l.arch, lp, &m);
                }
            }
            out
        })
        .collect();
    McaSet {
        schema: SCHEMA.into(),
        tool: tool.path.clone(),
        tool_version: tool.version.clone(),
        host_cpu: tool.host_cpu.clone(),
        iterations: ITERATIONS,
        models,
        loops: predicted,
    }
}

/// A table cell: cycles per element (`c/it` when the elements are unknown), `–` with the reason
/// kept for [`details_md`].
fn short(p: Option<&Prediction>) -> String {
    match p {
        None => "–".into(),
        Some(p) if p.error.is_some() => "n/a".into(),
        Some(p) => match (p.cycles_per_element, p.cycles_per_iteration) {
            (Some(c), _) => format!("{c:.2}"),
            (None, Some(c)) => format!("{c:.1} c/it"),
            (None, None) => "–".into(),
        },
    }
}

/// The README's "Predicted cycles" tables: per architecture, one row per op × dtype, one column
/// per model, `NumPy / Raptors` cycles per element.
pub fn predicted_cycles_md(set: &McaSet) -> String {
    let mut s = String::new();
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let models: Vec<&ModelUsed> = set.models.iter().filter(|m| m.arch == arch).collect();
        if models.is_empty() {
            continue;
        }
        let mut rows: BTreeMap<(String, String), [Option<&LoopPredictions>; 2]> = BTreeMap::new();
        for l in set
            .loops
            .iter()
            .filter(|l| l.arch == arch && l.build != "under valgrind")
        {
            let slot = rows.entry((l.dtype.clone(), l.op.clone())).or_default();
            slot[usize::from(l.library == "raptors")] = Some(l);
        }
        let _ = writeln!(
            s,
            "\n{} — cycles per element, NumPy / Raptors (n/a: the model cannot run the loop; \
             see mca.md for the reason, IPC and bottleneck):\n",
            arch.display_name()
        );
        let host = |m: &ModelUsed| if m.host { " (host)" } else { "" };
        let head: Vec<String> = models
            .iter()
            .map(|m| format!("{}{}", m.cpu, host(m)))
            .collect();
        let _ = writeln!(s, "| op | dtype | {} |", head.join(" | "));
        let _ = writeln!(s, "|---|---|{}", "---:|".repeat(models.len()));
        for ((dtype, op), [np, rp]) in &rows {
            let cells: Vec<String> = models
                .iter()
                .map(|m| {
                    let p = |l: &Option<&LoopPredictions>| {
                        short(l.and_then(|l| l.predictions.iter().find(|p| p.cpu == m.cpu)))
                    };
                    format!("{} / {}", p(np), p(rp))
                })
                .collect();
            let _ = writeln!(s, "| {op} | {dtype} | {} |", cells.join(" | "));
        }
    }
    s
}

/// `mca.md`: every loop and model with cycles per iteration and element, IPC and the bottleneck,
/// or the reason there is no prediction.
pub fn details_md(set: &McaSet) -> String {
    let mut s = format!(
        "# llvm-mca predictions of the hot loops\n\n{} ({}), {} iterations simulated per loop. \
         Models:\n\n",
        set.tool, set.tool_version, set.iterations
    );
    for m in &set.models {
        let _ = writeln!(
            s,
            "- {} `{}` ({}){}",
            m.arch.display_name(),
            m.cpu,
            m.note,
            if m.host { " [host]" } else { "" }
        );
    }
    for l in &set.loops {
        let _ = write!(
            s,
            "\n## {} {} — {} {} ({})\n\n",
            l.op,
            l.dtype,
            if l.library == "raptors" {
                "Raptors"
            } else {
                "NumPy"
            },
            l.arch.display_name(),
            l.build
        );
        if let Some(why) = &l.unavailable {
            let _ = writeln!(s, "No loop to predict: {why}");
            continue;
        }
        let _ = writeln!(
            s,
            "`{}`, loop {:#x}..{:#x}, {} elements/iteration ({})\n",
            l.function.as_deref().unwrap_or("?"),
            l.loop_start.unwrap_or(0),
            l.loop_end.unwrap_or(0),
            l.elements_per_iteration
                .map_or("unknown".to_string(), |e| format!("{e}")),
            l.elements_basis.as_deref().unwrap_or("")
        );
        s.push_str("| cpu | cycles/iteration | cycles/element | IPC | bottleneck |\n");
        s.push_str("|---|---:|---:|---:|---|\n");
        let f = |v: Option<f64>, d: usize| v.map_or("–".to_string(), |x| format!("{x:.d$}"));
        for p in &l.predictions {
            let what = match (&p.error, &p.bottleneck) {
                (Some(e), _) => format!("no prediction: {e}"),
                (None, Some(b)) => format!("{}: {}", b.kind, b.summary),
                (None, None) => String::new(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                p.cpu,
                f(p.cycles_per_iteration, 2),
                f(p.cycles_per_element, 3),
                f(p.ipc, 2),
                what.replace('|', "\\|")
            );
        }
    }
    s
}

/// Sentences for the findings: on `cpu`, the op × dtype where Raptors's loop is predicted
/// furthest ahead of NumPy's and furthest behind (cycles per element), with both bottlenecks.
pub fn findings(set: &McaSet, arch: Arch, cpu: &str) -> Vec<String> {
    let mut pairs: Vec<(f64, String)> = Vec::new();
    let mut keys: Vec<(&str, &str)> = set
        .loops
        .iter()
        .filter(|l| l.arch == arch)
        .map(|l| (l.op.as_str(), l.dtype.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    for (op, dtype) in keys {
        let get = |lib: &str| -> Option<(f64, &Prediction, String)> {
            let p = set.prediction(op, dtype, lib, arch, cpu).ok()?;
            let f = set
                .loops
                .iter()
                .find(|l| l.op == op && l.dtype == dtype && l.library == lib && l.arch == arch)?
                .function
                .clone()?;
            Some((p.cycles_per_element?, p, f))
        };
        let (Some((n, np, nf)), Some((r, rp, rf))) = (get("numpy"), get("raptors")) else {
            continue;
        };
        if n <= 0.0 || r <= 0.0 {
            continue;
        }
        let bottleneck = |p: &Prediction| {
            p.bottleneck
                .as_ref()
                .map_or("unknown".to_string(), |b| b.summary.clone())
        };
        pairs.push((
            n / r,
            format!(
                "On {cpu} ({}), {op} {dtype}: Raptors's `{rf}` loop is predicted at {r:.2} \
                 cycles/element vs NumPy's `{nf}` at {n:.2} ({:.2}x); bottlenecks — Raptors: {}; \
                 NumPy: {}.",
                arch.display_name(),
                n / r,
                bottleneck(rp),
                bottleneck(np)
            ),
        ));
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    match pairs.len() {
        0 => Vec::new(),
        1 => vec![pairs.remove(0).1],
        n => vec![pairs[0].1.clone(), pairs[n - 1].1.clone()],
    }
}
