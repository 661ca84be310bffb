//! The hot loops of the chosen functions: NumPy's and Raptors's side by side (`raptors-asm
//! compare`) per architecture and build, and on the measured architecture the loops chosen by
//! callgrind's per-instruction counts with the static-vs-measured per-element check
//! (`raptors_asm::hotloop`); on an emulated architecture the same from qemu-user's block counts.

use raptors_asm::compare::{bodies_side_by_side, compare_text, side_at, Comparison, Side};
use raptors_asm::Library;

use std::collections::BTreeMap;

use super::picks::{ArchPicks, ExecutedLoop, OpPicks, Picked, SidePicks};
use super::report::LoopPair;
use crate::callgrind::CallgrindRun;
use crate::qemu_exec::QemuExecRun;

/// Whether the loops by execution can stand: `Err` when there are none, or names every row whose
/// static-vs-measured check failed (`op dtype library: check`; the rows stay in the report).
pub fn check_executed(rows: &[ExecutedLoop]) -> Result<(), String> {
    if rows.is_empty() {
        return Err("no op had a function with execution counts".into());
    }
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| r.passed == Some(false))
        .map(|r| format!("{} {} {}: {}", r.op, r.dtype, r.library, r.check))
        .collect();
    match failed.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "{} loop check(s) failed: {}",
            failed.len(),
            failed.join("; ")
        )),
    }
}

/// [`loop_pairs`] of every op on each architecture of `archs` (the analysed ones); `libs` gives
/// an architecture's `[NumPy, Raptors]` libraries.
pub fn all_loop_pairs<'a>(
    picks: &[OpPicks],
    archs: &[&str],
    libs: impl Fn(&str) -> [Option<&'a Library>; 2],
) -> Vec<LoopPair> {
    picks
        .iter()
        .flat_map(|p| p.archs.iter().map(move |a| (p, a)))
        .filter(|(_, a)| archs.contains(&a.arch.as_str()))
        .flat_map(|(p, a)| loop_pairs(p, a, libs(&a.arch)))
        .collect()
}

/// The hot loop of a chosen function: the loop holding its most executed address when it has
/// one, else raptors-asm's static choice.
fn hot_side(lib: Option<&Library>, p: &Picked) -> Result<Side, String> {
    let (lib, p) = (
        lib.ok_or("the library is not available")?,
        p.as_ref().map_err(String::clone)?,
    );
    let f = lib
        .table
        .at(p.address)
        .ok_or_else(|| format!("no function at {:#x}", p.address))?;
    let side = side_at(&lib.elf, &lib.table, f, p.hot_address)
        .or_else(|_| side_at(&lib.elf, &lib.table, f, None));
    side.map_err(|e| e.to_string())
}

/// The real-run (or static) loops of one op on one architecture, and on the measured one also
/// the loops valgrind ran where Raptors's function differs (AVX2 under valgrind, AVX-512 for real).
pub fn loop_pairs(p: &OpPicks, a: &ArchPicks, [nl, rl]: [Option<&Library>; 2]) -> Vec<LoopPair> {
    let counted = |p: &Picked| matches!(p, Ok(p) if p.how == super::picks::How::QemuExec);
    let label = match (
        a.measured,
        counted(&a.real.numpy) || counted(&a.real.raptors),
    ) {
        (true, _) => "real run",
        (false, true) => "counted under qemu",
        (false, false) => "static",
    };
    let mut builds = vec![(label, &a.real)];
    if let Some(v) = a.valgrind.as_ref().filter(
        |v| matches!((&v.raptors, &a.real.raptors), (Ok(x), Ok(y)) if x.address != y.address),
    ) {
        builds.push(("under valgrind", v));
    }
    let hot = |s: &Result<Side, String>| -> Result<(String, raptors_asm::loops::Loop), String> {
        let s = s.as_ref().map_err(String::clone)?;
        let why = || {
            format!(
                "`{}` has no innermost loop ({} loops: straight-line code or calls)",
                s.function, s.loops_found
            )
        };
        s.hot_loop
            .clone()
            .map(|l| (s.function.clone(), l))
            .ok_or_else(why)
    };
    let pair = |(build, s): (&str, &SidePicks)| {
        let (n, r) = (hot_side(nl, &s.numpy), hot_side(rl, &s.raptors));
        let (numpy, raptors) = (hot(&n), hot(&r));
        let c = n.and_then(|n| Ok(Comparison::new(n, r?)));
        let (differences, comparison, bodies) = match c {
            Ok(c) => {
                let mut t = String::new();
                compare_text(&c, &mut t);
                let bodies = bodies_side_by_side(&c, "NumPy", "Raptors");
                (c.differences, t, bodies)
            }
            Err(why) => (Vec::new(), format!("no comparison: {why}\n"), String::new()),
        };
        LoopPair {
            op: p.op.clone(),
            dtype: p.dtype.clone(),
            arch: a.arch.clone(),
            build: build.into(),
            numpy,
            raptors,
            differences,
            comparison,
            bodies,
        }
    };
    builds.into_iter().map(pair).collect()
}

/// For each op on the measured architecture: the loop of the function valgrind ran (NumPy and
/// Raptors) chosen by callgrind's per-instruction counts, and the static-vs-measured check.
pub fn executed_loops(
    picks: &[OpPicks],
    cg: &CallgrindRun,
    [nl, rl]: [Option<&Library>; 2],
    host: &str,
) -> Vec<ExecutedLoop> {
    let mut rows = Vec::new();
    for p in picks {
        let (Some(a), Some(prof)) = (
            p.archs.iter().find(|a| a.measured && a.arch == host),
            cg.profile(&p.op, &p.dtype),
        ) else {
            continue;
        };
        let ran = a.valgrind.as_ref().unwrap_or(&a.real);
        for (library, lib, pick, counted) in [
            ("NumPy", nl, &ran.numpy, &prof.numpy),
            ("Raptors", rl, &ran.raptors, &prof.raptors),
        ] {
            let function = (|| -> Result<(&Library, u64, &BTreeMap<u64, u64>), String> {
                let lib = lib.ok_or("the library is not available")?;
                let pick = pick.as_ref().map_err(String::clone)?;
                let counts = &counted.as_ref().map_err(String::clone)?.instructions;
                Ok((lib, pick.address, counts))
            })();
            let row = row(&p.op, &p.dtype, &a.arch, library);
            rows.push(executed_row(row, function, "callgrind", prof.elements));
        }
    }
    rows
}

/// For each op on an architecture this machine only emulates: the function with the most
/// executed instructions (qemu-user's block counts, expanded to instructions) and its loop chosen
/// by those counts, with the same check as callgrind's.
pub fn emulated_loops(
    ops: &[(String, String)],
    run: &QemuExecRun,
    [nl, rl]: [Option<&Library>; 2],
    arch: &str,
) -> Vec<ExecutedLoop> {
    let mut rows = Vec::new();
    for (op, dtype) in ops {
        let Some(prof) = run.profile(op, dtype) else {
            continue;
        };
        for (library, lib, blocks) in [("NumPy", nl, &prof.numpy), ("Raptors", rl, &prof.raptors)] {
            // The function with the most executed instructions, and its per-instruction counts.
            let hottest = (|| -> Result<(&Library, u64, BTreeMap<u64, u64>), String> {
                let lib = lib.ok_or("the library is not available")?;
                let blocks = blocks.as_ref().map_err(String::clone)?;
                let (address, counts) = hottest_function(lib, &to_virtual(lib, &blocks.blocks))?;
                Ok((lib, address, counts))
            })();
            let row = row(op, dtype, arch, library);
            let function = match &hottest {
                Ok((lib, address, counts)) => Ok((*lib, *address, counts)),
                Err(e) => Err(e.clone()),
            };
            rows.push(executed_row(row, function, "qemu-exec", prof.elements));
        }
    }
    rows
}

/// The emulated architecture's picks become what ran under qemu-user (rows of
/// [`emulated_loops`]): the function with the most executed instructions and, as its hot address,
/// the start of the loop chosen by those counts, so the disassembly and the side-by-side loops
/// show the code that ran. A side qemu could not count keeps its static pick.
pub fn apply_emulated(picks: &mut [OpPicks], rows: &[ExecutedLoop]) {
    for r in rows.iter().filter(|r| r.chosen_by == "qemu-exec") {
        let Some(address) = r.function_address else {
            continue;
        };
        let Some(a) = picks
            .iter_mut()
            .filter(|p| p.op == r.op && p.dtype == r.dtype)
            .flat_map(|p| p.archs.iter_mut())
            .find(|a| a.arch == r.arch && !a.measured)
        else {
            continue;
        };
        let side = match r.library.as_str() {
            "NumPy" => &mut a.real.numpy,
            _ => &mut a.real.raptors,
        };
        let was = match side {
            Ok(p) if p.address == address => "the same as the static choice".to_string(),
            Ok(p) => format!("the static choice was `{}`", p.function),
            Err(e) => format!("no static choice: {e}"),
        };
        *side = Ok(super::picks::Pick {
            function: r.function.clone(),
            address,
            how: super::picks::How::QemuExec,
            evidence: format!(
                "most executed instructions under qemu-user ({}; {was})",
                r.coverage
                    .map_or("loop coverage unknown".into(), |c| format!(
                        "hot loop {:.1} % of them",
                        c * 100.0
                    ))
            ),
            hot_address: r.loop_start,
        });
    }
}

/// Block counts keyed by file offset → by the ELF's virtual addresses.
fn to_virtual(lib: &Library, blocks: &BTreeMap<u64, u64>) -> BTreeMap<u64, u64> {
    let segs = raptors_asm::segments::load_segments(&lib.elf);
    let mut out = BTreeMap::new();
    for (&off, &n) in blocks {
        if let Some(va) = segs.iter().find_map(|s| s.vaddr_of(off)) {
            *out.entry(va).or_insert(0) += n;
        }
    }
    out
}

/// The function with the most executed instructions, and its per-instruction counts.
fn hottest_function(
    lib: &Library,
    blocks: &BTreeMap<u64, u64>,
) -> Result<(u64, BTreeMap<u64, u64>), String> {
    let mut best: Option<(u64, u64, BTreeMap<u64, u64>)> = None;
    for f in &lib.table.functions {
        if blocks.range(f.address..f.end).next().is_none() {
            continue;
        }
        let counts = raptors_asm::hotloop::expand_block_counts(&lib.elf, f, blocks);
        let total: u64 = counts.values().sum();
        if best.as_ref().is_none_or(|(_, t, _)| total > *t) {
            best = Some((f.address, total, counts));
        }
    }
    best.map(|(a, _, c)| (a, c))
        .ok_or_else(|| "no executed block lies in a known function".into())
}

fn row(op: &str, dtype: &str, arch: &str, library: &str) -> ExecutedLoop {
    ExecutedLoop {
        op: op.into(),
        dtype: dtype.into(),
        arch: arch.into(),
        library: library.into(),
        function: String::new(),
        function_address: None,
        chosen_by: "static".into(),
        loop_start: None,
        coverage: None,
        instructions_per_element: None,
        measured_instructions_per_element: None,
        function_instructions_per_element: None,
        check: String::new(),
        passed: None,
    }
}

/// Fills `row` from the loop of the function at `address` chosen by `counts` (labelled `source`).
fn executed_row(
    mut row: ExecutedLoop,
    function: Result<(&Library, u64, &BTreeMap<u64, u64>), String>,
    source: &str,
    elements: u64,
) -> ExecutedLoop {
    let choice = function.and_then(|(lib, address, counts)| {
        let f = lib
            .table
            .at(address)
            .ok_or_else(|| format!("no function at {address:#x}"))?;
        let exec = raptors_asm::hotloop::ExecCounts { source, counts };
        raptors_asm::hotloop::choose_loop(&lib.elf, &lib.table, f, Some(exec), Some(elements))
            .map_err(|e| e.to_string())
    });
    match choice {
        Ok(c) => {
            row.function = c.function.clone();
            row.function_address = Some(c.address);
            row.chosen_by = c.chosen_by.clone();
            row.loop_start = c.hot_loop.as_ref().map(|l| l.start);
            row.coverage = c.coverage;
            row.instructions_per_element = c.static_instructions_per_element;
            row.measured_instructions_per_element = c.measured_instructions_per_element;
            row.function_instructions_per_element = c.function_instructions_per_element();
            match c.element_check() {
                Some(k) => (row.check, row.passed) = (k.describe(), Some(k.passed())),
                None if c.hot_loop.is_none() => {
                    row.check = "no loop executed in this function".into()
                }
                None => row.check = "elements per iteration unknown: no static figure".into(),
            }
        }
        Err(why) => row.check = format!("no choice: {why}"),
    }
    row
}
