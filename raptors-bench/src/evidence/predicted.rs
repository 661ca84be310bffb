//! Predicted cycles: every hot loop of the profile through llvm-mca (`raptors_asm::mca_set`),
//! `mca.json` / `mca.md`, and the README's "Predicted cycles" section with the host check
//! ([`crate::cycles`]).

use std::fmt::Write as _;

use anyhow::{bail, Result};
use raptors_asm::elf::Arch;
use raptors_asm::mca::probe_tool;
use raptors_asm::mca_set::{self, LoopToPredict, McaSet};

use super::report::{LoopPair, ReportInput};
use crate::cycles::{Check, ValidationRow};

/// One library's side of a host-check row.
type PickCheck = fn(&ValidationRow) -> &Check;

fn arch_of(name: &str) -> Option<Arch> {
    [Arch::X86_64, Arch::Aarch64]
        .into_iter()
        .find(|a| a.name() == name)
}

/// Both sides of every loop pair, missing loops with their reason.
pub fn loops_to_predict(pairs: &[LoopPair]) -> Vec<LoopToPredict> {
    let mut out = Vec::new();
    for p in pairs {
        let Some(arch) = arch_of(&p.arch) else {
            continue;
        };
        for (library, hot) in [("numpy", &p.numpy), ("raptors", &p.raptors)] {
            out.push(LoopToPredict {
                op: p.op.clone(),
                dtype: p.dtype.clone(),
                library: library.into(),
                arch,
                build: p.build.clone(),
                hot: hot.clone(),
            });
        }
    }
    out
}

/// Probes llvm-mca and predicts every loop of `pairs`; an error when there is no tool or no loop.
pub fn predict(pairs: &[LoopPair]) -> Result<McaSet> {
    if pairs.is_empty() {
        bail!("no hot loops were chosen (see the step \"hot loops side by side\")");
    }
    let tool = probe_tool()?;
    Ok(mca_set::predict_all(&tool, &loops_to_predict(pairs)))
}

/// The README section.
pub fn section(input: &ReportInput) -> String {
    let mut s = String::from("\n## Predicted cycles (llvm-mca)\n\n");
    match &input.mca {
        Err(why) => {
            let _ = writeln!(s, "No predictions: {why}");
        }
        Ok(set) => {
            let _ = writeln!(
                s,
                "llvm-mca ({}) simulates each chosen hot loop in steady state with its data in L1: \
                 a floor for loop-bound cells, blind to memory bandwidth and cache misses \
                 (docs/profiling.md, \"Predicted cycles\"). All numbers: `mca.json`; per loop IPC \
                 and bottleneck: `mca.md`.",
                set.tool_version
            );
            s.push_str(&mca_set::predicted_cycles_md(set));
        }
    }
    s.push_str("\n### The host model against measurement\n\n");
    let _ = match &input.host_check {
        Ok(c) => writeln!(s, "{}", crate::cycles::host_check_md(c)),
        Err(why) => writeln!(s, "Not checked: {why}"),
    };
    s
}

/// Findings sentences: per analysed architecture, on its first listed model (and the host model
/// when it is another), where Raptors's loop is predicted furthest ahead and behind; then the host
/// check's median ratio per library.
pub fn sentences(input: &ReportInput) -> Vec<String> {
    let Ok(set) = &input.mca else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let mut cpus: Vec<&str> = set
            .models
            .iter()
            .filter(|m| m.arch == arch)
            .take(1)
            .map(|m| m.cpu.as_str())
            .collect();
        if let Some(h) = set.models.iter().find(|m| m.arch == arch && m.host) {
            if !cpus.contains(&h.cpu.as_str()) {
                cpus.push(&h.cpu);
            }
        }
        for cpu in cpus {
            out.extend(mca_set::findings(set, arch, cpu));
        }
    }
    if let Ok(c) = &input.host_check {
        let sides: [(&str, PickCheck); 2] = [("NumPy", |r| &r.numpy), ("Raptors", |r| &r.raptors)];
        for (name, pick) in sides {
            let ratios: Vec<f64> = c.rows.iter().filter_map(|r| pick(r).ratio).collect();
            if ratios.is_empty() {
                continue;
            }
            let (lo, hi) = ratios.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| {
                (lo.min(r), hi.max(r))
            });
            out.push(format!(
                "On this machine ({}), {name}'s loops ran at a median {:.2}x their predicted \
                 cycles per element ({lo:.2}x to {hi:.2}x over {} op × dtype cells, single \
                 thread, L1/L2 sizes); above 1 is time llvm-mca does not model (caches, per-call \
                 and per-row work, the front end).",
                c.cpu,
                crate::stats::median(&ratios),
                ratios.len(),
            ));
        }
    }
    out
}
