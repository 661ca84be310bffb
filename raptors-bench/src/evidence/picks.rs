//! Which function runs each op, per architecture and library, and how it was found; the
//! executed instructions and loops of the measured architecture. The types of `hot_loops.json`
//! and `report.json` (`functions`, `executed`, `executed_loops`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::callgrind::{CallgrindRun, OpProfile};

/// Why the measured side has no execution profile under emulation (named on every choice).
pub const EMULATED: &str = "chosen statically: no execution profile under emulation";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    /// Executed under valgrind (callgrind's instruction counts).
    Callgrind,
    /// Sampled in a real run (perf record -e cpu-clock).
    PerfSample,
    /// The ISA twin of a function found by execution (another level or architecture).
    Twin,
    /// Executed under qemu-user on an architecture this machine only emulates (block counts).
    QemuExec,
    /// The op table's name pattern (no execution evidence).
    Pattern,
}

impl How {
    pub fn label(self) -> &'static str {
        match self {
            How::Callgrind => "callgrind",
            How::PerfSample => "perf-sample",
            How::Twin => "twin",
            How::QemuExec => "qemu-exec",
            How::Pattern => "pattern",
        }
    }
}

/// A chosen function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pick {
    pub function: String,
    /// File address (unique where several functions share the name).
    pub address: u64,
    pub how: How,
    pub evidence: String,
    /// The most executed (or sampled) address inside it: its loop is the hot one.
    #[serde(default)]
    pub hot_address: Option<u64>,
}

pub type Picked = Result<Pick, String>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SidePicks {
    pub numpy: Picked,
    pub raptors: Picked,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchPicks {
    pub arch: String,
    pub measured: bool,
    /// The function a real run executes on this architecture's CPU (measured) or would (static).
    pub real: SidePicks,
    /// What ran under valgrind (measured architecture only).
    pub valgrind: Option<SidePicks>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpPicks {
    pub op: String,
    pub dtype: String,
    /// The measured architecture first.
    pub archs: Vec<ArchPicks>,
}

/// Executed instructions per element inside each library under callgrind: (NumPy, Raptors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Executed {
    pub op: String,
    pub dtype: String,
    pub numpy: Option<f64>,
    pub raptors: Option<f64>,
}

impl Executed {
    /// One row per op × dtype callgrind profiled.
    pub fn of_run(run: &CallgrindRun) -> Vec<Executed> {
        let row = |p: &OpProfile| {
            let (numpy, raptors) = p.ir_per_element();
            Executed {
                op: p.op.clone(),
                dtype: p.dtype.clone(),
                numpy,
                raptors,
            }
        };
        run.profiles.iter().map(row).collect()
    }
}

/// One library's hot loop of one op chosen by execution counts (`raptors_asm::hotloop`), with its
/// static and measured instructions per input element and the check between them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutedLoop {
    pub op: String,
    pub dtype: String,
    pub arch: String,
    /// `NumPy` or `Raptors`.
    pub library: String,
    pub function: String,
    /// The function's file address (absent in reports written before it was recorded).
    #[serde(default)]
    pub function_address: Option<u64>,
    /// `callgrind` (`qemu-exec` when counted under emulation), `static` when nothing executed.
    pub chosen_by: String,
    pub loop_start: Option<u64>,
    /// Share of the function's executed instructions spent in the loop (0–1).
    pub coverage: Option<f64>,
    /// The loop's static instructions per input element.
    pub instructions_per_element: Option<f64>,
    /// Executed inside the loop per input element.
    pub measured_instructions_per_element: Option<f64>,
    /// Executed in the whole function per input element (the check's upper bound).
    pub function_instructions_per_element: Option<f64>,
    /// `raptors_asm::hotloop::ElementCheck::describe`, or why there is no check.
    pub check: String,
    pub passed: Option<bool>,
}

/// The functions of one architecture and library side, with why each was chosen, for the index
/// above a disassembly: (function, address) → reasons.
pub fn targets(picks: &[OpPicks], arch: &str, numpy: bool) -> BTreeMap<(String, u64), Vec<String>> {
    let mut out: BTreeMap<(String, u64), Vec<String>> = BTreeMap::new();
    for p in picks {
        for a in p.archs.iter().filter(|a| a.arch == arch) {
            for (label, s) in std::iter::once(("", &a.real))
                .chain(a.valgrind.iter().map(|v| (" under valgrind", v)))
            {
                if let Ok(f) = if numpy { &s.numpy } else { &s.raptors } {
                    let why = format!(
                        "{} {}{label}: {} — {}",
                        p.op,
                        p.dtype,
                        f.how.label(),
                        f.evidence
                    );
                    let reasons = out.entry((f.function.clone(), f.address)).or_default();
                    if !reasons.contains(&why) {
                        reasons.push(why);
                    }
                }
            }
        }
    }
    out
}
