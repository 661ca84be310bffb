//! ELF symbol extraction, x86-64/AArch64 disassembly, SIMD classification and loop analysis.
//!
//! Pipeline: [`elf::ElfFile`] (validated mmap) → [`symbols::SymbolTable`] (functions with the
//! source of their bounds) → per-architecture decoders ([`x86`], [`arm64`]) that either format
//! objdump-compatible text ([`disasm`]) or produce [`insn::Insn`] facts and
//! [`effects::Effect`]s from decoder metadata, which [`simd`], [`loops`] (with [`streams`] and
//! [`origins`] for elements per iteration) and [`compare`] aggregate ([`differences`]: what
//! differs between two loops). [`hotloop`] chooses a loop by execution counts, [`mca`] predicts
//! loops with llvm-mca, [`diff`] diffs two functions' normalised code. For profiling pipelines:
//! [`choose`] picks the function that runs an operation from executed code (a profiler's hot
//! functions or addresses) or caller-given name patterns, [`twin`] maps a function to its
//! counterpart in another ISA build (both directions), [`names`] compares names across tools
//! (Rust hash, recursion marks), and [`segments`] turns a sampling profiler's file offsets into
//! virtual addresses. The CLI (`src/main.rs`) is a thin layer; JSON shapes are documented in the
//! crate README.

pub mod arm64;
mod arm64_tables;
pub mod choose;
pub mod compare;
pub mod diff;
pub mod differences;
pub mod disasm;
pub mod effects;
pub mod elf;
pub mod error;
pub mod hotloop;
pub mod insn;
pub mod locate;
pub mod loops;
pub mod mca;
pub mod mca_parse;
pub mod names;
pub mod origins;
pub mod segments;
pub mod simd;
pub mod streams;
pub mod symbols;
pub mod twin;
pub mod x86;
mod x86_tables;

pub use elf::{Arch, ElfFile};
pub use error::{AsmError, Result};
pub use symbols::SymbolTable;

/// Opens `path` and reads its function table.
pub fn open(path: impl AsRef<std::path::Path>) -> Result<(ElfFile, SymbolTable)> {
    let elf = ElfFile::open(path)?;
    let table = SymbolTable::read(&elf);
    Ok((elf, table))
}
