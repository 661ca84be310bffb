//! Two functions' hottest innermost loops side by side.

use serde::Serialize;

use crate::differences::{loop_differences, Difference};
use crate::elf::{Arch, ElfFile};
use crate::error::{AsmError, Result};
use crate::loops::{function_loops, Loop};
use crate::symbols::{Function, SymbolTable};

/// One side of a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub file: String,
    pub arch: Arch,
    pub function: String,
    pub address: u64,
    pub loops_found: usize,
    /// `hottest` (static guess) or `address` (`--loop-a/--loop-b`).
    pub selected_by: &'static str,
    /// The selected loop (None if the function has no loop).
    #[serde(rename = "loop")]
    pub hot_loop: Option<Loop>,
}

/// `compare` result.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub a: Side,
    pub b: Side,
    /// What measurably differs between the two loops (empty when either side has none, or they
    /// look alike): see [`crate::differences`].
    pub differences: Vec<Difference>,
}

impl Comparison {
    pub fn new(a: Side, b: Side) -> Comparison {
        let differences = match (&a.hot_loop, &b.hot_loop) {
            (Some(la), Some(lb)) => loop_differences(la, lb),
            _ => Vec::new(),
        };
        Comparison { a, b, differences }
    }
}

/// Exactly one function matching `pattern`, or an error listing the candidates.
pub fn one_function<'t>(
    elf: &ElfFile,
    table: &'t SymbolTable,
    pattern: &str,
) -> Result<&'t Function> {
    let found = table.select(pattern)?;
    match found.len() {
        1 => Ok(found[0]),
        0 => Err(AsmError::Symbol {
            path: elf.path.clone(),
            reason: format!("no function matches {pattern:?}"),
        }),
        n => {
            let names: Vec<&str> = found.iter().take(12).map(|f| f.name.as_str()).collect();
            Err(AsmError::Symbol {
                path: elf.path.clone(),
                reason: format!(
                    "{pattern:?} matches {n} functions ({}{}); use a more specific pattern",
                    names.join(", "),
                    if n > 12 { ", …" } else { "" }
                ),
            })
        }
    }
}

/// One side: the hottest innermost loop of `f`.
pub fn side(elf: &ElfFile, table: &SymbolTable, f: &Function) -> Side {
    side_at(elf, table, f, None).expect("no address given, cannot fail")
}

/// One side; with `at`, the innermost loop containing that address (e.g. a hot instruction
/// address from a profile) instead of the static hottest guess.
pub fn side_at(elf: &ElfFile, table: &SymbolTable, f: &Function, at: Option<u64>) -> Result<Side> {
    let fl = function_loops(elf, table, f);
    let loops_found = fl.loops.len();
    let hot_loop = match at {
        None => fl.loops.into_iter().find(|l| l.hottest),
        Some(a) => {
            let l = fl
                .loops
                .into_iter()
                .filter(|l| l.start <= a && a < l.end)
                .min_by_key(|l| l.end - l.start);
            if l.is_none() {
                return Err(AsmError::Symbol {
                    path: elf.path.clone(),
                    reason: format!("no loop of {} contains address {a:#x}", f.name),
                });
            }
            l
        }
    };
    Ok(Side {
        file: elf.path.display().to_string(),
        arch: elf.arch,
        function: f.name.clone(),
        address: f.address,
        loops_found,
        selected_by: if at.is_some() { "address" } else { "hottest" },
        hot_loop,
    })
}

/// The instruction lines of a side's loop body (its `mca` text without llvm-mca's markers).
pub fn body_lines(side: &Side) -> Vec<String> {
    side.hot_loop
        .as_ref()
        .map(|l| {
            l.mca
                .lines()
                .filter(|x| {
                    !x.contains("LLVM-MCA-BEGIN")
                        && !x.contains("LLVM-MCA-END")
                        && !x.trim().is_empty()
                })
                .map(|x| x.trim_end().replace('\t', " "))
                .collect()
        })
        .unwrap_or_default()
}

/// The two loop bodies in columns under their labels and function names (A's column at least 40
/// characters wide; a longer head is cut with `…`).
pub fn bodies_side_by_side(c: &Comparison, label_a: &str, label_b: &str) -> String {
    let (a, b) = (body_lines(&c.a), body_lines(&c.b));
    let width = a
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(40);
    let clip = |s: &str, w: usize| -> String {
        if s.chars().count() > w {
            s.chars().take(w - 1).collect::<String>() + "…"
        } else {
            s.to_string()
        }
    };
    let mut out = format!(
        "{:width$} | {}\n{:width$} | {}\n",
        label_a,
        label_b,
        clip(&c.a.function, width),
        clip(&c.b.function, 60)
    );
    out.push_str(&format!("{}-+-{}\n", "-".repeat(width), "-".repeat(40)));
    for i in 0..a.len().max(b.len()) {
        let l = a.get(i).map_or("", String::as_str);
        let r = b.get(i).map_or("", String::as_str);
        out.push_str(&format!("{l:width$} | {r}\n"));
    }
    out
}

/// Human-readable side-by-side table.
pub fn compare_text(c: &Comparison, out: &mut String) {
    use std::fmt::Write as _;
    let cell = |s: &Side, f: &dyn Fn(&Loop) -> String| {
        s.hot_loop.as_ref().map(f).unwrap_or_else(|| "-".into())
    };
    let f3 = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "n/a".into());
    type Row<'a> = (&'a str, Box<dyn Fn(&Side) -> String + 'a>);
    let rows: Vec<Row<'_>> = vec![
        (
            "file",
            Box::new(|s: &Side| s.file.rsplit('/').next().unwrap_or("").to_string()),
        ),
        ("arch", Box::new(|s: &Side| format!("{:?}", s.arch))),
        ("function", Box::new(|s: &Side| s.function.clone())),
        (
            "loops found",
            Box::new(|s: &Side| s.loops_found.to_string()),
        ),
        (
            "selected by",
            Box::new(|s: &Side| s.selected_by.to_string()),
        ),
        (
            "hot loop",
            Box::new(move |s: &Side| cell(s, &|l| format!("{:#x}..{:#x}", l.start, l.end))),
        ),
        (
            "instructions/iter",
            Box::new(move |s: &Side| cell(s, &|l| l.instructions.to_string())),
        ),
        (
            "elements/iter",
            Box::new(move |s: &Side| cell(s, &|l| f3(l.elements_per_iteration))),
        ),
        (
            "instructions/element",
            Box::new(move |s: &Side| cell(s, &|l| f3(l.instructions_per_element))),
        ),
        (
            "loads/iter",
            Box::new(move |s: &Side| cell(s, &|l| l.loads.to_string())),
        ),
        (
            "stores/iter",
            Box::new(move |s: &Side| cell(s, &|l| l.stores.to_string())),
        ),
        (
            "arith/iter",
            Box::new(move |s: &Side| cell(s, &|l| l.arith.to_string())),
        ),
        (
            "fma/iter",
            Box::new(move |s: &Side| cell(s, &|l| l.fma.to_string())),
        ),
        (
            "vector bits",
            Box::new(move |s: &Side| cell(s, &|l| l.vector_bits.to_string())),
        ),
        (
            "element bits",
            Box::new(move |s: &Side| cell(s, &|l| l.element_bits.to_string())),
        ),
        (
            "unroll",
            Box::new(move |s: &Side| cell(s, &|l| l.unroll.to_string())),
        ),
        (
            "accumulators",
            Box::new(move |s: &Side| cell(s, &|l| l.accumulators.to_string())),
        ),
    ];
    let cells: Vec<(String, String, String)> = rows
        .iter()
        .map(|(n, f)| (n.to_string(), f(&c.a), f(&c.b)))
        .collect();
    let w0 = cells.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = cells
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .max(1);
    let _ = writeln!(out, "{:w0$}  {:w1$}  B", "", "A");
    for (n, a, b) in cells {
        let _ = writeln!(out, "{n:w0$}  {a:w1$}  {b}");
    }
    if c.a.hot_loop.is_some() && c.b.hot_loop.is_some() {
        if c.differences.is_empty() {
            let _ = writeln!(out, "\nthe loops look alike by these measures");
        } else {
            let _ = writeln!(out, "\ndifferences:");
            for d in &c.differences {
                let _ = writeln!(out, "  {}", d.describe("A", "B"));
            }
        }
    }
}
