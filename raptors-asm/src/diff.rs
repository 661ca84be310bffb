//! Normalised diff of two functions (or of their hot loops) from any two ELF files of one
//! architecture: what changed in the instructions, with layout noise removed.
//!
//! Each instruction is printed without address or encoding. Branch targets inside the listed
//! range become labels `.L0`, `.L1`, … numbered by target address (printed as `.Ln:` lines
//! before their instruction); targets outside become `<function>` when a function starts there,
//! else `<pc-rel>`. x86 RIP-relative displacements print as `<rip>(%rip)`; on AArch64 the
//! `:lo12:` offset that follows an `adrp` (in `add`/loads/stores on the `adrp` register) prints
//! as `#:lo12:`. What remains differs only when an instruction really changed.

use std::collections::BTreeMap;

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::disasm::function_code;
use crate::effects::effects;
use crate::elf::{Arch, ElfFile};
use crate::error::{AsmError, Result};
use crate::symbols::{Function, SymbolTable};

/// Lines of context around each change (as `diff -u`).
pub const CONTEXT: usize = 3;

/// Which code of a function to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole function.
    Function,
    /// Its hottest loop (static choice), or with an address the innermost loop containing it.
    Loop(Option<u64>),
}

/// One side of a diff.
#[derive(Debug, Clone, Serialize)]
pub struct DiffSide {
    pub file: String,
    pub arch: Arch,
    pub function: String,
    pub address: u64,
    /// Listed range `[start, end)` (the function, or the loop).
    pub start: u64,
    pub end: u64,
    pub instructions: usize,
}

/// One line of a hunk.
#[derive(Debug, Clone, Serialize)]
pub struct DiffLine {
    /// `" "` context, `"-"` only in A, `"+"` only in B.
    pub op: &'static str,
    pub text: String,
}

/// A `diff -u` hunk (line numbers 1-based, in the normalised listings).
#[derive(Debug, Clone, Serialize)]
pub struct Hunk {
    pub old_start: usize,
    pub old_lines: usize,
    pub new_start: usize,
    pub new_lines: usize,
    pub lines: Vec<DiffLine>,
}

/// `diff` result.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionDiff {
    pub a: DiffSide,
    pub b: DiffSide,
    /// No instruction changed.
    pub identical: bool,
    /// Lines only in A / only in B.
    pub removed: usize,
    pub added: usize,
    pub hunks: Vec<Hunk>,
    /// The same as unified-diff text (empty when identical).
    pub unified: String,
}

/// Normalised listing of `[start, end)` of `f` (see the module comment).
pub fn normalised_listing(
    elf: &ElfFile,
    table: &SymbolTable,
    f: &Function,
    start: u64,
    end: u64,
) -> Vec<String> {
    let code = function_code(elf, f);
    let lo = (start.saturating_sub(f.address) as usize).min(code.len());
    let hi = (end.saturating_sub(f.address) as usize).clamp(lo, code.len());
    let code = &code[lo..hi];
    // First pass: which targets fall inside the range (they get labels in address order).
    let collect = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let probe = |t: u64| {
        if t >= start && t < end {
            collect.borrow_mut().insert(t);
        }
        String::new()
    };
    let _ = lines(elf.arch, code, start, &probe);
    let inside: BTreeMap<u64, usize> = collect
        .into_inner()
        .into_iter()
        .enumerate()
        .map(|(k, t)| (t, k))
        .collect();
    let label = |t: u64| -> String {
        if let Some(k) = inside.get(&t) {
            format!(".L{k}")
        } else if let Some(g) = table.functions.iter().find(|g| g.address == t) {
            format!("<{}>", g.name)
        } else {
            "<pc-rel>".into()
        }
    };
    let listed = lines(elf.arch, code, start, &label);
    let rip = regex::Regex::new(r"-?0x[0-9a-f]+\(%rip\)").expect("valid regex");
    let lo12 = regex::Regex::new(r"#-?0x[0-9a-f]+").expect("valid regex");
    // AArch64: registers holding an `adrp` page, until overwritten.
    let effs = match elf.arch {
        Arch::Aarch64 => effects(elf.arch, code, start),
        Arch::X86_64 => Vec::new(),
    };
    let mut page_regs: u64 = 0;
    let mut out = Vec::with_capacity(listed.len() + inside.len());
    for (k, (a, text)) in listed.into_iter().enumerate() {
        if let Some(n) = inside.get(&a) {
            out.push(format!(".L{n}:"));
        }
        let mut t = text;
        match elf.arch {
            Arch::X86_64 => {
                t = rip.replace_all(&t, "<rip>(%rip)").into_owned();
            }
            Arch::Aarch64 => {
                if let Some(e) = effs.get(k) {
                    let uses_page = (e.addr_regs | e.reads) & page_regs != 0;
                    if uses_page && !t.starts_with("adrp") {
                        t = lo12.replace_all(&t, "#:lo12:").into_owned();
                    }
                    page_regs &= !e.writes;
                    if t.starts_with("adrp") {
                        page_regs |= e.writes;
                    }
                }
            }
        }
        out.push(format!("  {t}"));
    }
    out
}

fn lines(arch: Arch, code: &[u8], addr: u64, label: &dyn Fn(u64) -> String) -> Vec<(u64, String)> {
    match arch {
        Arch::X86_64 => crate::x86::mca_lines(code, addr, label),
        Arch::Aarch64 => crate::arm64::mca_lines(code, addr, label),
    }
}

fn side(
    elf: &ElfFile,
    table: &SymbolTable,
    f: &Function,
    scope: Scope,
) -> Result<(DiffSide, Vec<String>)> {
    let (start, end) = match scope {
        Scope::Function => (f.address, f.end),
        Scope::Loop(at) => {
            let s = crate::compare::side_at(elf, table, f, at)?;
            let l = s.hot_loop.ok_or_else(|| AsmError::Symbol {
                path: elf.path.clone(),
                reason: format!("{} has no loop", f.name),
            })?;
            (l.start, l.end)
        }
    };
    let listing = normalised_listing(elf, table, f, start, end);
    let instructions = listing.iter().filter(|l| l.starts_with("  ")).count();
    Ok((
        DiffSide {
            file: elf.path.display().to_string(),
            arch: elf.arch,
            function: f.name.clone(),
            address: f.address,
            start,
            end,
            instructions,
        },
        listing,
    ))
}

/// Diff of `fa` in `a` against `fb` in `b` (`scope_a`/`scope_b`: whole functions or loops).
/// Errors when the architectures differ.
pub fn diff_functions(
    (ea, ta, fa): (&ElfFile, &SymbolTable, &Function),
    (eb, tb, fb): (&ElfFile, &SymbolTable, &Function),
    scope_a: Scope,
    scope_b: Scope,
) -> Result<FunctionDiff> {
    if ea.arch != eb.arch {
        return Err(AsmError::Unsupported {
            path: eb.path.clone(),
            reason: format!(
                "is {:?} but {} is {:?}: a machine-code diff needs one architecture",
                eb.arch,
                ea.path.display(),
                ea.arch
            ),
        });
    }
    let (sa, la) = side(ea, ta, fa, scope_a)?;
    let (sb, lb) = side(eb, tb, fb, scope_b)?;
    let ra: Vec<&str> = la.iter().map(String::as_str).collect();
    let rb: Vec<&str> = lb.iter().map(String::as_str).collect();
    let d = TextDiff::from_slices(&ra, &rb);
    let mut hunks = Vec::new();
    let (mut removed, mut added) = (0, 0);
    for group in d.grouped_ops(CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let mut h = Hunk {
            old_start: first.old_range().start + 1,
            old_lines: last.old_range().end - first.old_range().start,
            new_start: first.new_range().start + 1,
            new_lines: last.new_range().end - first.new_range().start,
            lines: Vec::new(),
        };
        for op in &group {
            for c in d.iter_changes(op) {
                let tag = match c.tag() {
                    ChangeTag::Equal => " ",
                    ChangeTag::Delete => {
                        removed += 1;
                        "-"
                    }
                    ChangeTag::Insert => {
                        added += 1;
                        "+"
                    }
                };
                h.lines.push(DiffLine {
                    op: tag,
                    text: c.value().to_string(),
                });
            }
        }
        hunks.push(h);
    }
    let mut unified = String::new();
    if !hunks.is_empty() {
        let name = |s: &DiffSide| format!("{}:{}@{:#x}", s.file, s.function, s.start);
        unified.push_str(&format!("--- {}\n+++ {}\n", name(&sa), name(&sb)));
        for h in &hunks {
            unified.push_str(&format!(
                "@@ -{},{} +{},{} @@\n",
                h.old_start, h.old_lines, h.new_start, h.new_lines
            ));
            for l in &h.lines {
                unified.push_str(l.op);
                unified.push_str(&l.text);
                unified.push('\n');
            }
        }
    }
    Ok(FunctionDiff {
        a: sa,
        b: sb,
        identical: hunks.is_empty(),
        removed,
        added,
        hunks,
        unified,
    })
}

/// Human-readable: the unified diff, or a line saying there is no instruction change.
pub fn diff_text(d: &FunctionDiff, out: &mut String) {
    if d.identical {
        out.push_str(&format!(
            "no instruction changes: {} ({} instructions) and {} ({} instructions) are identical after normalisation\n",
            d.a.function, d.a.instructions, d.b.function, d.b.instructions
        ));
    } else {
        out.push_str(&d.unified);
    }
}
