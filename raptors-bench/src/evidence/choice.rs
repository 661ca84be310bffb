//! Choosing the function that runs each op. Measured architecture: what callgrind executed (at
//! the level valgrind runs), and the real run's function — from perf samples, else the ISA twin
//! of callgrind's at this machine's level, else the op table's name patterns. Static
//! architecture: the ISA twin of the measured real-run function, else the patterns. The choices
//! themselves are raptors-asm's (`choose`, `twin`); this module says which evidence goes in, and
//! records why each earlier source gave no answer.

use anyhow::Result;
use raptors_asm::choose::{choose, ChooseRequest, ChosenBy, ExecutedFunction, Execution};
use raptors_asm::segments::load_segments;
use raptors_asm::twin::{twin, IsaLevel, IsaTarget};
use raptors_asm::Library;

use super::picks::{ArchPicks, How, OpPicks, Pick, Picked, SidePicks, EMULATED};
use crate::callgrind::{CallgrindRun, LibraryProfile};
use crate::machine::{simd_levels, Environment};
use crate::ops::table;
use crate::sampling::{ObjectSamples, SampleMap};

/// The evidence of one library on the measured side for one op.
pub struct Measured<'a> {
    pub lib: &'a Library,
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

fn by_patterns(lib: &Library, patterns: &[String], why_not: &[String]) -> Picked {
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
    lib: &Library,
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

/// What a profiler saw run in one library, for `raptors_asm::choose`: (name, cost, entry) per
/// function and executions per address, in the library's own addresses (load bias 0).
fn execution(
    tool: &str,
    functions: impl Iterator<Item = (String, u64, Option<u64>)>,
    instructions: Vec<(u64, u64)>,
) -> Execution {
    let functions = functions.map(|(name, cost, entry)| ExecutedFunction { name, cost, entry });
    Execution {
        tool: tool.into(),
        functions: functions.collect(),
        instructions,
        load_bias: Some(0),
    }
}

/// (valgrind's function, the real run's function) of one measured library.
pub fn measured(m: &Measured) -> (Picked, Picked) {
    let valgrind = m.callgrind.clone().and_then(|p| {
        let functions = p.functions.iter().map(|f| (f.name.clone(), f.ir, f.entry));
        let instructions = p.instructions.iter().map(|(a, n)| (*a, *n)).collect();
        let execution = execution("callgrind", functions, instructions);
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
            let functions = o
                .symbols
                .iter()
                .map(|s| (s.symbol.clone(), s.samples, None));
            let instructions = o
                .file_offsets
                .iter()
                .filter_map(|(off, n)| Some((segments.iter().find_map(|s| s.vaddr_of(*off))?, *n)))
                .collect();
            let execution = execution("perf-sample", functions, instructions);
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
pub fn mapped_statically(
    lib: Result<&Library, String>,
    from: &Picked,
    patterns: &[String],
) -> Picked {
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

/// The measured side's evidence, or why each part is missing.
pub struct Evidence<'a> {
    pub cg: &'a Result<CallgrindRun, String>,
    pub samples: &'a Result<SampleMap, String>,
    pub env: Option<&'a Environment>,
    /// Under qemu-user emulation nothing was executed natively: every choice is static.
    pub emulated: bool,
}

/// The architectures of a run: the measured one (the host's) and the one analysed statically.
#[derive(Clone, Copy, Debug)]
pub struct Archs<'a> {
    pub host: &'a str,
    pub other: Option<&'a str>,
}

/// One op × dtype: the measured architecture's functions (`[NumPy, Raptors]` libraries), then
/// the static one's (`others`, each None when it is not available). An op or dtype the op table
/// does not know is an error.
pub fn choose_op(
    op: &str,
    dtype: &str,
    on: Archs,
    [np, rp]: &[Library; 2],
    others: [Option<&Library>; 2],
    ev: &Evidence,
) -> Result<OpPicks> {
    let (o, d) = (table().op(op)?, table().dtype(dtype)?);
    let profile = ev.cg.as_ref().map_err(String::clone).and_then(|r| {
        r.profile(op, dtype)
            .ok_or_else(|| format!("callgrind has no profile of {op} {dtype}"))
    });
    // Without a run to say so, the host's first valgrind candidate and its best level.
    let host = on.host;
    let vg_level = ev.cg.as_ref().map_or_else(
        |_| crate::valgrind::candidate_levels(host)[0].to_string(),
        |r| r.level.level.clone(),
    );
    let level_name = ev.env.map_or_else(
        || {
            simd_levels(host)
                .last()
                .copied()
                .unwrap_or("scalar")
                .to_string()
        },
        |e| e.raptors_simd_level.clone(),
    );
    let side = |lib: &Library, numpy: bool| {
        let cg = profile.clone().and_then(|p| {
            if numpy { &p.numpy } else { &p.raptors }
                .as_ref()
                .map_err(String::clone)
        });
        let sampled = match ev
            .samples
            .as_ref()
            .map(|m| m.get(&(op.into(), dtype.into())))
        {
            _ if ev.emulated => Err(EMULATED.to_string()),
            Ok(Some(Ok(s))) => s
                .object(&lib.path)
                .ok_or_else(|| format!("no perf sample fell in {}", lib.path.display())),
            Ok(Some(Err(e))) => Err(format!("perf sampling failed: {e}")),
            Ok(None) => Err("the op was not sampled".into()),
            Err(why) => Err(why.clone()),
        };
        let patterns = match numpy {
            true => (o.numpy_symbol_patterns(d), o.numpy_symbol_patterns(d)),
            false => (
                o.raptors_symbol_patterns(dtype, &vg_level),
                o.raptors_symbol_patterns(dtype, &level_name),
            ),
        };
        let level = match numpy {
            true => ev.env.and_then(|e| IsaLevel::highest(&e.numpy_simd.found)),
            false => ev.env.and_then(|e| IsaLevel::parse(&e.raptors_simd_level)),
        };
        measured(&Measured {
            lib,
            callgrind: cg,
            samples: sampled,
            patterns,
            level,
        })
    };
    let ((np_vg, np_real), (rp_vg, rp_real)) = (side(np, true), side(rp, false));
    let real = SidePicks {
        numpy: np_real,
        raptors: rp_real,
    };
    let valgrind = ev.cg.is_ok().then_some(SidePicks {
        numpy: np_vg,
        raptors: rp_vg,
    });
    let mut archs = vec![ArchPicks {
        arch: host.into(),
        measured: true,
        real,
        valgrind,
    }];
    if let Some(other) = on.other {
        let best = simd_levels(other).last().copied().unwrap_or("scalar");
        let from = &archs[0].real;
        let missing = |what: &str| format!("{what} {other} library is not available (see Status)");
        let np = others[0].ok_or_else(|| missing("NumPy's"));
        let numpy = mapped_statically(np, &from.numpy, &o.numpy_symbol_patterns(d));
        let rp = others[1].ok_or_else(|| missing("the Raptors"));
        let raptors = mapped_statically(rp, &from.raptors, &o.raptors_symbol_patterns(dtype, best));
        archs.push(ArchPicks {
            arch: other.into(),
            measured: false,
            real: SidePicks { numpy, raptors },
            valgrind: None,
        });
    }
    Ok(OpPicks {
        op: op.into(),
        dtype: dtype.into(),
        archs,
    })
}
