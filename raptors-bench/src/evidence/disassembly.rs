//! The disassembly files of the chosen functions, per architecture and library side: x86-64
//! `{side}_asm.txt` and `{side}_simd.{txt,json}`, aarch64 `{side}_neon.{txt,json}` (SIMD counts and
//! disassembly together), each headed by an index of the functions and why each was chosen; and
//! the report's instruction-set rows of those functions.

use anyhow::{bail, Context, Result};
use raptors_asm::disasm::{disassemble_functions, TextOptions};
use raptors_asm::simd::{simd_report, simd_text};
use raptors_asm::{Arch, Library};
use serde_json::json;

use super::picks::{targets, OpPicks};
use super::report::IsaRow;
use crate::provenance::Content;

/// The library sides, as they appear in file names.
pub const SIDES: [&str; 2] = ["numpy", "raptors"];

/// The disassembly files of `arch`, for both sides.
pub fn artifact_names(arch: Arch) -> Vec<&'static str> {
    match arch {
        Arch::X86_64 => vec![
            "numpy_asm.txt",
            "raptors_asm.txt",
            "numpy_simd.txt",
            "numpy_simd.json",
            "raptors_simd.txt",
            "raptors_simd.json",
        ],
        Arch::Aarch64 => vec![
            "numpy_neon.txt",
            "numpy_neon.json",
            "raptors_neon.txt",
            "raptors_neon.json",
        ],
    }
}

/// One library side's disassembly files on one architecture, and its functions' ISA rows.
pub struct SideFiles {
    /// (file name, content).
    pub files: Vec<(String, Content)>,
    pub isa: Vec<IsaRow>,
}

/// Disassembly and SIMD counts of every function chosen on `arch` for `side` (`numpy` or
/// `raptors`) in `lib`.
pub fn files(arch: Arch, side: &str, lib: &Library, picks: &[OpPicks]) -> Result<SideFiles> {
    let targets = targets(picks, arch.name(), side == "numpy");
    let funcs: Vec<_> = targets
        .keys()
        .filter_map(|(_, a)| lib.table.at(*a))
        .collect();
    if funcs.is_empty() {
        bail!(
            "no {side} function was chosen for any op on {}",
            arch.name()
        );
    }
    let mut index = format!(
        "# {side}: the functions that run the profiled ops ({})\nlibrary: {}\n\n",
        arch.name(),
        lib.path.display()
    );
    for ((name, address), why) in &targets {
        index.push_str(&format!(
            "{name} at {address:#x}\n    {}\n",
            why.join("\n    ")
        ));
    }
    let mut dis = Vec::new();
    disassemble_functions(
        &lib.elf,
        &lib.table,
        &funcs,
        TextOptions::default(),
        &mut dis,
    )
    .context("disassembling")?;
    let (dis, simd, mut counts) = (
        String::from_utf8_lossy(&dis),
        simd_report(&lib.elf, &funcs),
        String::new(),
    );
    simd_text(&simd, &mut counts);
    let mut isa = Vec::new();
    for f in &simd.functions {
        let mut ext: Vec<(&String, &u64)> = f
            .counts
            .by_extension
            .iter()
            .filter(|(k, _)| *k != "base")
            .collect();
        ext.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let (side, arch) = (
            if side == "numpy" { "NumPy" } else { "Raptors" }.into(),
            arch.name().into(),
        );
        let extensions = ext.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        isa.push(IsaRow {
            side,
            arch,
            function: f.name.clone(),
            max_vector_bits: f.counts.max_vector_bits.into(),
            extensions,
        });
    }
    let by_op: Vec<_> = targets
        .iter()
        .map(|((f, a), why)| json!({"function": f, "address": a, "ops": why}))
        .collect();
    let data = Content::Json(json!({"library": lib.path, "functions_by_op": by_op, "simd": simd}));
    let files = match arch {
        Arch::X86_64 => vec![
            (
                format!("{side}_asm.txt"),
                Content::Text(format!("{index}{dis}")),
            ),
            (
                format!("{side}_simd.txt"),
                Content::Text(format!("{index}{counts}")),
            ),
            (format!("{side}_simd.json"), data),
        ],
        Arch::Aarch64 => vec![
            (
                format!("{side}_neon.txt"),
                Content::Text(format!("{index}{counts}\n# disassembly\n{dis}")),
            ),
            (format!("{side}_neon.json"), data),
        ],
    };
    Ok(SideFiles { files, isa })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// File names stay per architecture (the NEON files are aarch64's, wherever it is analysed);
    /// together the two architectures give ten distinct files.
    #[test]
    fn each_architecture_has_its_own_files() {
        let (x86, a64) = (artifact_names(Arch::X86_64), artifact_names(Arch::Aarch64));
        assert!(a64.contains(&"raptors_neon.json") && !a64.contains(&"numpy_asm.txt"));
        assert!(x86.iter().all(|n| !n.contains("neon")));
        let mut every: Vec<_> = x86.into_iter().chain(a64).collect();
        every.sort();
        every.dedup();
        assert_eq!(every.len(), 10);
    }
}
