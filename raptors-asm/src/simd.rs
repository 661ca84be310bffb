//! Per-function and total instruction counts by ISA extension and by category.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::disasm::function_code;
use crate::elf::{Arch, ElfFile, SymSource};
use crate::insn::{Category, Insn};
use crate::symbols::Function;

/// Decodes one function into instruction facts.
pub fn function_insns(elf: &ElfFile, f: &Function, out: &mut Vec<Insn>) {
    out.clear();
    let code = function_code(elf, f);
    match elf.arch {
        Arch::X86_64 => crate::x86::decode_facts(code, f.address, out),
        Arch::Aarch64 => crate::arm64::decode_facts(code, f.address, out),
    }
}

/// Counts for one function (or the total).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SimdCounts {
    pub instructions: u64,
    /// Instructions that use vector or floating-point registers.
    pub simd_instructions: u64,
    /// Instruction count per ISA extension ("base" = general-purpose). Sums to `instructions`.
    pub by_extension: BTreeMap<String, u64>,
    /// Instruction count per category (see README). Sums to `instructions`.
    pub by_category: BTreeMap<String, u64>,
    /// SIMD instructions per vector-register width in bits ("0" = scalar FP/SIMD).
    pub by_vector_bits: BTreeMap<String, u64>,
    /// Widest vector register used by a packed operation (0 if none).
    pub max_vector_bits: u16,
    /// Bytes the decoder could not decode ("undecoded (likely SVE)" on AArch64).
    pub undecoded: u64,
}

impl SimdCounts {
    fn merge(&mut self, o: &SimdCounts) {
        self.instructions += o.instructions;
        self.simd_instructions += o.simd_instructions;
        for (k, v) in &o.by_extension {
            *self.by_extension.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.by_category {
            *self.by_category.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.by_vector_bits {
            *self.by_vector_bits.entry(k.clone()).or_default() += v;
        }
        self.max_vector_bits = self.max_vector_bits.max(o.max_vector_bits);
        self.undecoded += o.undecoded;
    }
}

/// Small fixed-key counter used in the hot path (no allocation per instruction).
#[derive(Default)]
struct FastCounts {
    n: u64,
    simd: u64,
    ext: Vec<(&'static str, u64)>,
    cat: [u64; Category::ALL.len()],
    bits: [u64; 5],
    max_bits: u16,
    undecoded: u64,
}

impl FastCounts {
    fn add(&mut self, i: &Insn) {
        self.n += 1;
        match self
            .ext
            .iter_mut()
            .find(|(e, _)| std::ptr::eq(*e, i.ext) || *e == i.ext)
        {
            Some(e) => e.1 += 1,
            None => self.ext.push((i.ext, 1)),
        }
        self.cat[i.cat as usize] += 1;
        if i.simd {
            self.simd += 1;
            let k = match i.vector_bits {
                0 => 0,
                64 => 1,
                128 => 2,
                256 => 3,
                _ => 4,
            };
            self.bits[k] += 1;
            self.max_bits = self.max_bits.max(i.vector_bits);
        }
        if i.cat == Category::Undecoded {
            self.undecoded += 1;
        }
    }
    fn finish(self) -> SimdCounts {
        let mut c = SimdCounts {
            instructions: self.n,
            simd_instructions: self.simd,
            max_vector_bits: self.max_bits,
            undecoded: self.undecoded,
            ..Default::default()
        };
        for (e, n) in self.ext {
            c.by_extension.insert(e.to_string(), n);
        }
        for (k, n) in Category::ALL.iter().zip(self.cat) {
            if n > 0 {
                c.by_category.insert(k.name().to_string(), n);
            }
        }
        for (b, n) in ["0", "64", "128", "256", "512"].iter().zip(self.bits) {
            if n > 0 {
                c.by_vector_bits.insert(b.to_string(), n);
            }
        }
        c
    }
}

/// One function's row.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionSimd {
    pub name: String,
    pub address: u64,
    pub size: u64,
    pub bounds_source: SymSource,
    #[serde(flatten)]
    pub counts: SimdCounts,
}

/// `simd` result.
#[derive(Debug, Clone, Serialize)]
pub struct SimdReport {
    pub file: String,
    pub arch: Arch,
    pub functions: Vec<FunctionSimd>,
    /// Sum over `functions`.
    pub total: SimdCounts,
}

/// Counts for each function (in parallel) and their sum.
pub fn simd_report(elf: &ElfFile, funcs: &[&Function]) -> SimdReport {
    let functions: Vec<FunctionSimd> = funcs
        .par_iter()
        .map_init(Vec::new, |buf, f| {
            function_insns(elf, f, buf);
            let mut c = FastCounts::default();
            for i in buf.iter() {
                c.add(i);
            }
            FunctionSimd {
                name: f.name.clone(),
                address: f.address,
                size: f.size,
                bounds_source: f.bounds_source,
                counts: c.finish(),
            }
        })
        .collect();
    let mut total = SimdCounts::default();
    for f in &functions {
        total.merge(&f.counts);
    }
    SimdReport {
        file: elf.path.display().to_string(),
        arch: elf.arch,
        functions,
        total,
    }
}

/// Human-readable table.
pub fn simd_text(r: &SimdReport, out: &mut String) {
    use std::fmt::Write as _;
    let mut exts: Vec<&String> = r.total.by_extension.keys().collect();
    exts.sort();
    let _ = writeln!(out, "# {} ({:?})", r.file, r.arch);
    let row = |out: &mut String, label: &str, c: &SimdCounts| {
        let _ = write!(
            out,
            "{label}\n  instructions {}  simd {}  max vector bits {}",
            c.instructions, c.simd_instructions, c.max_vector_bits
        );
        if c.undecoded > 0 {
            let what = if r.arch == Arch::Aarch64 {
                crate::arm64::UNDECODED
            } else {
                "undecoded"
            };
            let _ = write!(out, "  {what} {}", c.undecoded);
        }
        let _ = write!(out, "\n  extensions:");
        for (k, v) in &c.by_extension {
            let _ = write!(out, " {k}={v}");
        }
        let _ = write!(out, "\n  categories:");
        for (k, v) in &c.by_category {
            let _ = write!(out, " {k}={v}");
        }
        let _ = write!(out, "\n  vector bits:");
        for (k, v) in &c.by_vector_bits {
            let _ = write!(out, " {k}={v}");
        }
        out.push('\n');
    };
    for f in &r.functions {
        row(
            out,
            &format!(
                "<{}> {:#x} size {} ({})",
                f.name,
                f.address,
                f.size,
                src_name(f.bounds_source)
            ),
            &f.counts,
        );
    }
    row(
        out,
        &format!("TOTAL over {} functions", r.functions.len()),
        &r.total,
    );
}

pub(crate) fn src_name(s: SymSource) -> &'static str {
    match s {
        SymSource::Symtab => ".symtab",
        SymSource::Dynsym => ".dynsym",
        SymSource::EhFrame => ".eh_frame",
    }
}
