//! Which functions run each op: callgrind over the per-op driver, then the symbol tables
//! (callgrind's hottest function, else a documented name pattern), the AVX-512 and aarch64
//! counterparts by name.

use std::fs;
use std::path::Path;

use anyhow::Result;

use super::callgrind::{self, OpHot};
use super::model::{Avail, OpFunctions};
use super::pipeline::Libs;
use super::probes;
use super::runlog::StepLog;
use super::symbols::{self, Chosen, Method, Sym};
use super::Plan;

/// One valgrind process per dtype, both at once (2 cores); returns the per-op attribution, the
/// Raptors level the driver reported, and per-dtype failures.
pub fn run_callgrind(
    log: &StepLog,
    python: &Path,
    plan: &Plan,
    numpy: &Path,
    raptors: &Path,
) -> Result<(Vec<OpHot>, Option<String>, Vec<String>)> {
    let work = probes::cache_dir().join(format!("callgrind-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    let reps = if plan.quick {
        5
    } else {
        callgrind::CALLGRIND_REPS
    };
    type PerDtype = (String, Result<(Vec<OpHot>, Option<String>)>);
    let results: Vec<PerDtype> = std::thread::scope(|s| {
        let handles: Vec<_> = plan
            .dtypes
            .iter()
            .map(|dtype| {
                let work = work.join(dtype);
                s.spawn(move || {
                    let r = (|| {
                        fs::create_dir_all(&work)?;
                        let script = work.join("driver.py");
                        fs::write(
                            &script,
                            callgrind::driver_script(
                                dtype,
                                &plan.ops,
                                callgrind::CALLGRIND_N,
                                reps,
                            )?,
                        )?;
                        let prefix = work.join("callgrind.out");
                        let out =
                            log.run(&mut callgrind::valgrind_command(python, &script, &prefix))?;
                        let (errors, level) = callgrind::parse_driver_output(&out);
                        let dumps = callgrind::read_dumps(&prefix)?;
                        let hot = callgrind::attribute(
                            &dumps, &plan.ops, dtype, numpy, raptors, &errors,
                        )?;
                        Ok((hot, level))
                    })();
                    (dtype.clone(), r)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("callgrind thread panicked"))
            .collect()
    });
    let _ = fs::remove_dir_all(&work);
    let mut hot = Vec::new();
    let mut level = None;
    let mut errors = Vec::new();
    for (dtype, r) in results {
        match r {
            Ok((h, l)) => {
                hot.extend(h);
                level = level.or(l);
            }
            Err(e) => errors.push(format!("{dtype}: {e:#}")),
        }
    }
    Ok((hot, level, errors))
}

/// Picks one side's function: callgrind's if the symbol table has it, else the fallback pattern.
fn pick(
    found: Option<&Result<callgrind::HotFunction, String>>,
    syms: &[Sym],
    patterns: &[String],
    lib: &str,
) -> Avail<Chosen> {
    let why_not = match found {
        Some(Ok(h)) => {
            let copies = symbols::find_all(syms, &h.symbol);
            let evidence = format!(
                "{:.0} % of {lib}'s {} Ir during the op",
                h.share_of_library * 100.0,
                h.library_ir
            );
            match copies.as_slice() {
                [] => format!(
                    "callgrind's hottest `{}` is not in the symbol table",
                    h.symbol
                ),
                [one] => {
                    return Avail::Ok(Chosen {
                        symbol: one.name.clone(),
                        address: None,
                        method: Method::Callgrind,
                        evidence,
                    })
                }
                many => {
                    // Same-named local functions: the executed entry address says which ran.
                    let bias = symbols::load_bias(&h.anchors, syms);
                    match (h.address, bias) {
                        (Some(rt), Some(b)) => match symbols::by_address(syms, &h.symbol, rt, b) {
                            Some(s) => {
                                return Avail::Ok(Chosen {
                                    symbol: s.name.clone(),
                                    address: Some(s.address),
                                    method: Method::Callgrind,
                                    evidence: format!(
                                        "{evidence}; {} functions share this name, the one at {:#x} ran",
                                        many.len(),
                                        s.address
                                    ),
                                })
                            }
                            None => format!(
                                "callgrind's hottest `{}` ran at {rt:#x}, which matches none of its {} copies",
                                h.symbol,
                                many.len()
                            ),
                        },
                        _ => format!(
                            "callgrind's hottest `{}` has {} same-named copies and no address to tell them apart",
                            h.symbol,
                            many.len()
                        ),
                    }
                }
            }
        }
        Some(Err(e)) => format!("callgrind: {e}"),
        None => "callgrind did not run for this op".to_string(),
    };
    match symbols::by_patterns(syms, patterns) {
        Some(mut c) => {
            c.evidence = format!("{}; {why_not}", c.evidence);
            Avail::Ok(c)
        }
        None => Avail::missing(format!(
            "{why_not}; no fallback pattern matched ({})",
            patterns.join(" | ")
        )),
    }
}

pub fn choose_x86(
    plan: &Plan,
    hot: &[OpHot],
    np: &[Sym],
    rp: &[Sym],
    real_level: &str,
) -> Vec<OpFunctions> {
    let mut out = Vec::new();
    for dtype in &plan.dtypes {
        for op in &plan.ops {
            let h = hot.iter().find(|h| &h.op == op && &h.dtype == dtype);
            let numpy = pick(
                h.map(|h| &h.numpy),
                np,
                &symbols::fallback_patterns(op, dtype, true),
                "NumPy",
            );
            let raptors = pick(
                h.map(|h| &h.raptors),
                rp,
                &symbols::fallback_patterns(op, dtype, false),
                "Raptors",
            );
            let variants = numpy
                .ok()
                .map(|c| symbols::numpy_x86_variants(np, &c.symbol))
                .unwrap_or_default();
            let real = match (&raptors, real_level) {
                (Avail::Ok(c), "avx512") => symbols::avx512_twin(rp, &c.symbol)
                    .map(Avail::Ok)
                    .unwrap_or_else(|| {
                        Avail::missing(format!(
                            "no AVX-512 function named like `{}` in the module",
                            symbols::normalize(&c.symbol)
                        ))
                    }),
                (Avail::Ok(c), _) => Avail::Ok(c.clone()),
                (Avail::Missing(why), _) => {
                    Avail::missing(format!("no AVX2 function to map from ({why})"))
                }
            };
            out.push(OpFunctions {
                op: op.clone(),
                dtype: dtype.clone(),
                numpy_x86: numpy,
                numpy_x86_variants: variants,
                raptors_x86_valgrind: raptors,
                raptors_x86_real: real,
                numpy_aarch64: Avail::missing("aarch64 analysis not run"),
                raptors_aarch64: Avail::missing("aarch64 analysis not run"),
            });
        }
    }
    out
}

/// Ir per element inside each module, from the callgrind attribution.
pub fn executed_ir(hot: &[OpHot], plan: &Plan) -> Vec<super::model::ExecutedIr> {
    let elements = (callgrind_reps(plan) * callgrind::CALLGRIND_N * callgrind::CALLGRIND_N) as u64;
    hot.iter()
        .map(|h| super::model::ExecutedIr {
            op: h.op.clone(),
            dtype: h.dtype.clone(),
            elements,
            numpy_ir_per_element: h
                .numpy
                .as_ref()
                .ok()
                .map(|f| f.library_ir as f64 / elements as f64),
            raptors_ir_per_element: h
                .raptors
                .as_ref()
                .ok()
                .map(|f| f.library_ir as f64 / elements as f64),
        })
        .collect()
}

pub fn callgrind_reps(plan: &Plan) -> usize {
    if plan.quick {
        5
    } else {
        callgrind::CALLGRIND_REPS
    }
}

pub fn choose_aarch64(
    functions: &mut [OpFunctions],
    np: &Option<Vec<Sym>>,
    rp: &Option<Vec<Sym>>,
    libs: &Libs,
) {
    for f in functions.iter_mut() {
        f.numpy_aarch64 = match (np, f.numpy_x86.ok()) {
            (None, _) => Avail::missing(if libs.numpy_arm.is_none() {
                "NumPy's aarch64 module is not available"
            } else {
                "its symbols could not be read"
            }),
            (_, None) => Avail::missing("no x86-64 NumPy function to map from"),
            (Some(s), Some(c)) => symbols::numpy_aarch64(s, &c.symbol)
                .map(Avail::Ok)
                .unwrap_or_else(|| {
                    Avail::missing(format!(
                        "no `{}` variant in the aarch64 module",
                        symbols::strip_isa_suffix(&c.symbol)
                    ))
                }),
        };
        f.raptors_aarch64 = match (rp, f.raptors_x86_valgrind.ok()) {
            (None, _) => Avail::missing(if libs.raptors_arm.is_none() {
                "the aarch64 Raptors library was not built"
            } else {
                "its symbols could not be read"
            }),
            (_, None) => Avail::missing("no x86-64 Raptors function to map from"),
            (Some(s), Some(c)) => symbols::neon_twin(s, &c.symbol)
                .map(Avail::Ok)
                .unwrap_or_else(|| {
                    Avail::missing(format!(
                        "no NEON function named like `{}`",
                        symbols::normalize(&c.symbol)
                    ))
                }),
        };
    }
}
