//! Which function runs each op, per architecture and library, and how it was found. Measured
//! architecture: what callgrind executed (at the level valgrind runs), and the real run's function
//! — from perf samples, else the ISA twin of callgrind's at this machine's level, else the op
//! table's name patterns. Static architecture: the ISA twin of the measured real-run function,
//! else the patterns. The choices are raptors-asm's (`choose`, `twin`); this module only says
//! which evidence goes in, and records why each earlier source gave no answer.

use std::collections::BTreeMap;

use raptors_asm::choose::{choose, ChooseRequest, ChosenBy, ExecutedFunction, Execution};
use raptors_asm::segments::load_segments;
use raptors_asm::twin::{twin, IsaLevel, IsaTarget};
use raptors_bench::callgrind::LibraryProfile;
use raptors_bench::sampling::ObjectSamples;
use serde::{Deserialize, Serialize};

use super::inputs::Lib;

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
    /// The op table's name pattern (no execution evidence).
    Pattern,
}

impl How {
    pub fn label(self) -> &'static str {
        match self {
            How::Callgrind => "callgrind",
            How::PerfSample => "perf-sample",
            How::Twin => "twin",
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

/// The evidence of one library on the measured side for one op.
pub struct Measured<'a> {
    pub lib: &'a Lib,
    /// callgrind's profile of the library during the op, or why there is none.
    pub callgrind: Result<&'a LibraryProfile, String>,
    /// The library's samples in a real run of the op, or why there are none.
    pub samples: Result<&'a ObjectSamples, String>,
    /// Name patterns at valgrind's level and at the real run's level.
    pub patterns: (Vec<String>, Vec<String>),
    /// The level a real run uses on this CPU (None: the best the library has).
    pub level: Option<IsaLevel>,
}

fn pick(
    c: raptors_asm::choose::Choice,
    tool: How,
    executed: &[(u64, u64)],
    why_not: &[String],
) -> Pick {
    let end = c.address + c.size.max(1);
    let hot = executed
        .iter()
        .filter(|(a, _)| (c.address..end).contains(a))
        .max_by_key(|(_, n)| *n);
    let mut evidence = c.evidence;
    for w in why_not {
        evidence.push_str(&format!("; {w}"));
    }
    Pick {
        how: if c.chosen_by == ChosenBy::Execution {
            tool
        } else {
            How::Pattern
        },
        function: c.function,
        address: c.address,
        evidence,
        hot_address: hot.map(|(a, _)| *a),
    }
}

fn by_patterns(lib: &Lib, patterns: &[String], why_not: &[String]) -> Picked {
    let req = ChooseRequest {
        execution: None,
        patterns: patterns.to_vec(),
    };
    match choose(&lib.table, &req) {
        Ok(c) => Ok(pick(c, How::Pattern, &[], why_not)),
        Err(e) => Err(format!("{}; {e}", why_not.join("; "))),
    }
}

fn mapped(
    lib: &Lib,
    from: &Pick,
    level: Option<IsaLevel>,
    why_not: &[String],
) -> Result<Pick, String> {
    let t = twin(
        &lib.table,
        &from.function,
        IsaTarget {
            arch: lib.elf.arch,
            level,
        },
    )?;
    let same = t.address == from.address;
    let mut evidence = t.evidence;
    for w in why_not {
        evidence.push_str(&format!("; {w}"));
    }
    Ok(Pick {
        function: t.function,
        address: t.address,
        how: if same { from.how } else { How::Twin },
        evidence,
        hot_address: if same { from.hot_address } else { None },
    })
}

/// (valgrind's function, the real run's function) of one measured library.
pub fn measured(m: &Measured) -> (Picked, Picked) {
    let valgrind = m.callgrind.clone().and_then(|p| {
        let execution = Execution {
            tool: "callgrind".into(),
            functions: p
                .functions
                .iter()
                .map(|f| ExecutedFunction {
                    name: f.name.clone(),
                    cost: f.ir,
                    entry: f.entry,
                })
                .collect(),
            instructions: p.instructions.iter().map(|(a, n)| (*a, *n)).collect(),
            load_bias: Some(0),
        };
        let req = ChooseRequest {
            execution: Some(execution.clone()),
            patterns: m.patterns.0.clone(),
        };
        choose(&m.lib.table, &req).map(|c| pick(c, How::Callgrind, &execution.instructions, &[]))
    });
    let mut why_not = Vec::new();
    match m.samples {
        Ok(o) => {
            // perf reports file offsets; the table speaks in virtual addresses.
            let segments = load_segments(&m.lib.elf);
            let execution = Execution {
                tool: "perf-sample".into(),
                functions: o
                    .symbols
                    .iter()
                    .map(|s| ExecutedFunction {
                        name: s.symbol.clone(),
                        cost: s.samples,
                        entry: None,
                    })
                    .collect(),
                instructions: o
                    .file_offsets
                    .iter()
                    .filter_map(|(off, n)| {
                        Some((segments.iter().find_map(|s| s.vaddr_of(*off))?, *n))
                    })
                    .collect(),
                load_bias: Some(0),
            };
            let req = ChooseRequest {
                execution: Some(execution.clone()),
                patterns: Vec::new(),
            };
            match choose(&m.lib.table, &req) {
                Ok(c) => {
                    let mut real = pick(c, How::PerfSample, &execution.instructions, &[]);
                    // The same function under valgrind: its exact counts place the hot loop
                    // better than a few hundred samples with skid.
                    if let Some(v) = valgrind.as_ref().ok().filter(|v| v.address == real.address) {
                        real.hot_address = v.hot_address.or(real.hot_address);
                    }
                    return (valgrind, Ok(real));
                }
                Err(e) => why_not.push(format!("perf samples: {e}")),
            }
        }
        Err(ref e) => why_not.push(e.clone()),
    }
    let real = match &valgrind {
        Ok(v) if v.how == How::Callgrind => mapped(m.lib, v, m.level, &why_not),
        Ok(_) => Err("callgrind's function came from a pattern".to_string()),
        Err(e) => Err(format!("no callgrind function ({e})")),
    };
    let real = real.or_else(|e| {
        why_not.push(e);
        by_patterns(m.lib, &m.patterns.1, &why_not)
    });
    (valgrind, real)
}

/// The static architecture's function: the twin of the measured real-run function, else a pattern.
pub fn mapped_statically(lib: Result<&Lib, String>, from: &Picked, patterns: &[String]) -> Picked {
    let lib = lib?;
    let why = match from {
        Ok(p) => match mapped(lib, p, None, &[]) {
            Ok(mut t) => {
                t.how = How::Twin;
                t.hot_address = None;
                return Ok(t);
            }
            Err(e) => e,
        },
        Err(e) => format!("no measured function to map from ({e})"),
    };
    by_patterns(lib, patterns, &[why])
}

/// NumPy's highest dispatch target this CPU runs, as an ISA level.
pub fn numpy_level(found: &[String]) -> Option<IsaLevel> {
    found.iter().filter_map(|t| IsaLevel::parse(t)).max()
}

/// Executed instructions per element inside each library under callgrind: (NumPy, Raptors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Executed {
    pub op: String,
    pub dtype: String,
    pub numpy: Option<f64>,
    pub raptors: Option<f64>,
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
