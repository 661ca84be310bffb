//! ISA twins: the function of another build (another architecture, or another SIMD level of the
//! same one) that does the same work, found by name, in either direction.
//!
//! Two naming conventions carry the instruction set in the name:
//! - **module path** (Rust, memchr style): `…::<arch>::<level>::name`, e.g.
//!   `raptors_kernels::arch::x86_64::avx2::sum_f32` ↔ `…::x86_64::avx512::sum_f32` ↔
//!   `…::aarch64::neon::sum_f32`; a portable build sits in `…::scalar::`;
//! - **dispatch suffix** (C, NumPy style): `name_<TARGET>`, e.g. `FLOAT_add_X86_V3`,
//!   `DOUBLE_maximum_X86_V4`, `FLOAT_add_AVX512_SKX`, `FLOAT_add_FMA3__AVX2`; the unsuffixed `FLOAT_add`
//!   is the baseline build (on NumPy's aarch64 wheel it is the only one).
//!
//! A name's *key* is the name with its instruction-set part taken out; functions of the target
//! library with the same key are the variants, each with an [`IsaLevel`]. The twin is the variant a
//! CPU at the target level would run, as a dispatcher picks it: the highest level not above the
//! target (the baseline counts as the lowest).
//!
//! Local helpers compiled once per dispatch target keep one name in every copy (NumPy x86-64 has
//! two `FLOAT_pairwise_sum`, one among the baseline loops, one among the `_X86_V3` ones). Such a
//! copy takes the level of the functions next to it (same translation unit): of the functions
//! within [`NEIGHBOURS`] on each side, the nearest one that belongs to a dispatch family (suffixed,
//! or the unsuffixed baseline of a suffixed family) on each side; if the two disagree the nearer
//! one, a tie decides nothing and the copy stays at the baseline (then the largest copy is taken).
//! The evidence says which.

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::elf::Arch;
use crate::names::normalize;
use crate::symbols::SymbolTable;

/// Instruction-set levels, comparable within one architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IsaLevel {
    /// Built for the architecture's baseline (no instruction set named): NumPy's unsuffixed loops,
    /// a `…::scalar::` module.
    Baseline,
    /// x86-64-v1: SSE2 (Raptors `sse2`).
    X86V1,
    /// x86-64-v2: up to SSE4.2 (NumPy `X86_V2`, `SSE42`, …).
    X86V2,
    /// x86-64-v3: AVX2 + FMA (Raptors `avx2`; NumPy `X86_V3`, `AVX2`, `FMA3`, …).
    X86V3,
    /// x86-64-v4: AVX-512 (Raptors `avx512`; NumPy `X86_V4`, `AVX512F`, `AVX512_SKX`, …).
    X86V4,
    /// Advanced SIMD (Raptors `neon`; NumPy `ASIMD`, `NEON`, …).
    Neon,
    /// Advanced SIMD with the optional half-precision / dot-product extensions (NumPy
    /// `ASIMDHP`, `ASIMDDP`, `ASIMDFHM`).
    NeonExt,
    /// SVE.
    Sve,
}

impl IsaLevel {
    /// The architecture this level belongs to; None for [`IsaLevel::Baseline`] (any).
    pub fn arch(self) -> Option<Arch> {
        match self {
            IsaLevel::Baseline => None,
            IsaLevel::X86V1 | IsaLevel::X86V2 | IsaLevel::X86V3 | IsaLevel::X86V4 => {
                Some(Arch::X86_64)
            }
            IsaLevel::Neon | IsaLevel::NeonExt | IsaLevel::Sve => Some(Arch::Aarch64),
        }
    }

    /// A level from any of the spellings above (case-insensitive): Raptors's level names
    /// (`scalar`, `sse2`, `avx2`, `avx512`, `neon`), NumPy's dispatch targets (`X86_V3`,
    /// `AVX512_SKX`, `ASIMD`, …) and `x86-64-v3`.
    pub fn parse(token: &str) -> Option<IsaLevel> {
        let t = token.to_ascii_uppercase().replace('-', "_");
        Some(match t.as_str() {
            "SCALAR" | "BASELINE" | "GENERIC" | "PORTABLE" => IsaLevel::Baseline,
            "SSE" | "SSE2" | "X86_V1" | "X86_64_V1" => IsaLevel::X86V1,
            "SSE3" | "SSSE3" | "SSE41" | "SSE4_1" | "SSE42" | "SSE4_2" | "POPCNT" | "X86_V2"
            | "X86_64_V2" => IsaLevel::X86V2,
            "AVX" | "F16C" | "FMA" | "FMA3" | "AVX2" | "X86_V3" | "X86_64_V3" => IsaLevel::X86V3,
            "X86_V4" | "X86_64_V4" => IsaLevel::X86V4,
            t if t.starts_with("AVX512") => IsaLevel::X86V4,
            "NEON" | "ASIMD" | "NEON_FP16" | "NEON_VFPV4" => IsaLevel::Neon,
            "ASIMDHP" | "ASIMDDP" | "ASIMDFHM" => IsaLevel::NeonExt,
            t if t.starts_with("SVE") => IsaLevel::Sve,
            _ => return None,
        })
    }

    /// The highest level among `tokens` that [`IsaLevel::parse`] knows (NumPy's dispatch
    /// targets a CPU runs → the level of the kernels it calls); None when none is known.
    pub fn highest<S: AsRef<str>>(tokens: &[S]) -> Option<IsaLevel> {
        tokens
            .iter()
            .filter_map(|t| IsaLevel::parse(t.as_ref()))
            .max()
    }
}

/// Which naming convention a name follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Convention {
    ModulePath,
    DispatchSuffix,
}

/// A name taken apart: its key (the name without the instruction-set part) and level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsaName {
    pub convention: Convention,
    pub key: String,
    pub level: IsaLevel,
    /// The instruction-set part as written (`x86_64::avx2`, `X86_V3`; empty for the baseline).
    pub isa: String,
}

fn module_path_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(^|::)(?:(x86_64|x86|aarch64)::([A-Za-z0-9_]+)|(scalar|generic|portable))::")
            .expect("static regex")
    })
}

/// `name` (any tool's spelling) taken apart. A name with no instruction-set part in either
/// convention is its own key at [`IsaLevel::Baseline`] (its twin is the same name).
pub fn parse_name(name: &str) -> IsaName {
    let name = normalize(name);
    if let Some(p) = parse_module_path(name) {
        return p;
    }
    let (base, tokens) = split_suffix(name);
    let level = tokens
        .iter()
        .filter_map(|t| IsaLevel::parse(t))
        .max()
        .unwrap_or(IsaLevel::Baseline);
    let mut isa: Vec<&str> = tokens;
    isa.reverse();
    IsaName {
        convention: Convention::DispatchSuffix,
        key: base.to_string(),
        level,
        isa: isa.join("_"),
    }
}

/// `…::<arch>::<level>::rest` or `…::scalar::rest` with a level this module knows.
fn parse_module_path(name: &str) -> Option<IsaName> {
    let c = module_path_re().captures(name)?;
    let whole = c.get(0)?;
    let (isa, level) = match (c.get(2), c.get(3), c.get(4)) {
        (Some(arch), Some(lvl), _) => {
            let level = IsaLevel::parse(lvl.as_str())?;
            // The level must belong to the architecture segment (`aarch64::avx2` is not one).
            let arch_ok = match arch.as_str() {
                "aarch64" => level.arch() != Some(Arch::X86_64),
                _ => level.arch() != Some(Arch::Aarch64),
            };
            if !arch_ok {
                return None;
            }
            (format!("{}::{}", arch.as_str(), lvl.as_str()), level)
        }
        (_, _, Some(portable)) => (portable.as_str().to_string(), IsaLevel::Baseline),
        _ => return None,
    };
    let key = format!(
        "{}{}{{isa}}::{}",
        &name[..whole.start()],
        c.get(1).map_or("", |m| m.as_str()),
        &name[whole.end()..]
    );
    Some(IsaName {
        convention: Convention::ModulePath,
        key,
        level,
        isa,
    })
}

/// NumPy-style dispatch tokens a suffix is made of, longest first where one is a prefix of another.
const SUFFIX_TOKENS: &[&str] = &[
    "X86_V2",
    "X86_V3",
    "X86_V4",
    "AVX512_SKX",
    "AVX512_ICL",
    "AVX512_SPR",
    "AVX512_CLX",
    "AVX512_CNL",
    "AVX512_KNL",
    "AVX512_KNM",
    "AVX512F",
    "AVX512CD",
    "AVX2",
    "FMA3",
    "F16C",
    "AVX",
    "SSE42",
    "SSE41",
    "SSSE3",
    "SSE3",
    "SSE2",
    "SSE",
    "POPCNT",
    "ASIMDHP",
    "ASIMDDP",
    "ASIMDFHM",
    "ASIMD",
    "NEON_FP16",
    "NEON_VFPV4",
    "NEON",
    "SVE",
];

/// `FLOAT_add_FMA3__AVX2` → (`FLOAT_add`, [`AVX2`, `FMA3`]); no suffix → (name, []).
fn split_suffix(name: &str) -> (&str, Vec<&'static str>) {
    let mut s = name;
    let mut tokens = Vec::new();
    'outer: loop {
        for tok in SUFFIX_TOKENS {
            if let Some(rest) = s.strip_suffix(tok).and_then(|r| r.strip_suffix('_')) {
                if rest.is_empty() {
                    break 'outer;
                }
                tokens.push(*tok);
                s = rest.strip_suffix('_').unwrap_or(rest);
                continue 'outer;
            }
        }
        break;
    }
    (s, tokens)
}

/// Functions looked at on each side of a same-named copy to infer its level.
pub const NEIGHBOURS: usize = 4;

/// The level of the translation unit around `table.functions[i]`, from its neighbours' names.
fn neighbour_level(table: &SymbolTable, i: usize) -> Option<IsaLevel> {
    let fs = &table.functions;
    let section = &fs[i].section;
    let family_level = |j: usize| -> Option<IsaLevel> {
        let f = &fs[j];
        if &f.section != section {
            return None;
        }
        let p = parse_name(&f.name);
        if p.convention != Convention::DispatchSuffix {
            return None;
        }
        if p.level != IsaLevel::Baseline {
            return Some(p.level);
        }
        // Unsuffixed: a baseline vote only if its family has suffixed members.
        let suffixed = fs.iter().any(|g| {
            g.name.len() > p.key.len()
                && g.name.starts_with(p.key.as_str())
                && parse_name(&g.name).key == p.key
        });
        suffixed.then_some(IsaLevel::Baseline)
    };
    // The nearest family member on each side; if they disagree, the nearer one (a tie decides
    // nothing).
    let before = (i.saturating_sub(NEIGHBOURS)..i)
        .rev()
        .find_map(|j| family_level(j).map(|l| (l, i - j)));
    let after = (i + 1..(i + 1 + NEIGHBOURS).min(fs.len()))
        .find_map(|j| family_level(j).map(|l| (l, j - i)));
    match (before, after) {
        (Some((a, _)), Some((b, _))) if a == b => Some(a),
        (Some((a, da)), Some((b, db))) => match da.cmp(&db) {
            std::cmp::Ordering::Less => Some(a),
            std::cmp::Ordering::Greater => Some(b),
            std::cmp::Ordering::Equal => None,
        },
        (Some((l, _)), None) | (None, Some((l, _))) => Some(l),
        (None, None) => None,
    }
}

/// Which build to map to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsaTarget {
    pub arch: Arch,
    /// The CPU's level; None: the best variant the library has for `arch`.
    pub level: Option<IsaLevel>,
}

/// A function of the target library with the same key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub function: String,
    pub address: u64,
    pub size: u64,
    pub level: IsaLevel,
}

/// The twin and every variant it was chosen from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Twin {
    pub function: String,
    /// File address (of the largest copy when several functions share the name).
    pub address: u64,
    pub size: u64,
    pub level: IsaLevel,
    /// Functions of the target library with the twin's name (> 1: local copies).
    pub same_name: usize,
    /// Every variant of the key in the target library, highest level first.
    pub variants: Vec<Variant>,
    pub evidence: String,
}

/// The function of `table` (the target library) that does what `name` (a function of another
/// build) does, for a CPU at `target`. Err says why there is none.
pub fn twin(table: &SymbolTable, name: &str, target: IsaTarget) -> Result<Twin, String> {
    let src = parse_name(name);
    let mut variants: Vec<Variant> = table
        .functions
        .iter()
        .filter_map(|f| {
            let p = parse_name(&f.name);
            (p.convention == src.convention && p.key == src.key).then(|| Variant {
                function: f.name.clone(),
                address: f.address,
                size: f.size,
                level: p.level,
            })
        })
        .collect();
    // Same-named copies without a level of their own: the level of their translation unit.
    let mut inferred: Vec<u64> = Vec::new();
    for k in 0..variants.len() {
        let copies = variants
            .iter()
            .filter(|v| v.function == variants[k].function)
            .count();
        if copies > 1 && variants[k].level == IsaLevel::Baseline {
            let idx = table
                .functions
                .binary_search_by_key(&variants[k].address, |f| f.address);
            if let Some(l) = idx.ok().and_then(|i| neighbour_level(table, i)) {
                if l != IsaLevel::Baseline {
                    variants[k].level = l;
                    inferred.push(variants[k].address);
                }
            }
        }
    }
    variants.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(b.size.cmp(&a.size))
            .then(a.function.cmp(&b.function))
    });
    if variants.is_empty() {
        return Err(format!(
            "no function named like `{}` in the target library",
            src.key.replace("{isa}", "<isa>")
        ));
    }
    // Baseline is the lowest level, so it fits every target.
    let fits = |v: &&Variant| {
        v.level.arch().is_none_or(|a| a == target.arch) && target.level.is_none_or(|l| v.level <= l)
    };
    let Some(best) = variants.iter().find(fits) else {
        let have: Vec<String> = variants
            .iter()
            .map(|v| format!("{} ({:?})", v.function, v.level))
            .collect();
        return Err(format!(
            "no variant of `{}` runs on {:?}{}: the library has {}",
            src.key.replace("{isa}", "<isa>"),
            target.arch,
            target.level.map_or(String::new(), |l| format!(" at {l:?}")),
            have.join(", ")
        ));
    };
    // Same-named copies at the chosen level: the largest is the one analysed.
    let copies: Vec<&Variant> = variants
        .iter()
        .filter(|v| v.function == best.function)
        .collect();
    let chosen = copies
        .iter()
        .filter(|v| v.level == best.level)
        .max_by(|a, b| a.size.cmp(&b.size).then(b.address.cmp(&a.address)))
        .copied()
        .unwrap_or(best);
    let mut evidence = format!(
        "`{}` ({:?}) → `{}` ({:?}), the highest of {} variant(s) for {:?}{}",
        normalize(name),
        src.level,
        chosen.function,
        chosen.level,
        variants.len(),
        target.arch,
        target
            .level
            .map_or(String::new(), |l| format!(" up to {l:?}"))
    );
    if copies.len() > 1 {
        if inferred.contains(&chosen.address) {
            evidence.push_str(&format!(
                "; {} functions share this name, the one at {:#x} sits among {:?} functions (its \
                 level is inferred from its neighbours)",
                copies.len(),
                chosen.address,
                chosen.level
            ));
        } else if copies.iter().any(|c| inferred.contains(&c.address)) {
            evidence.push_str(&format!(
                "; {} functions share this name, the one at {:#x} sits among baseline functions \
                 (the others' levels are inferred from their neighbours)",
                copies.len(),
                chosen.address
            ));
        } else {
            evidence.push_str(&format!(
                "; {} functions share this name, the largest (at {:#x}) is taken",
                copies.len(),
                chosen.address
            ));
        }
    }
    Ok(Twin {
        function: chosen.function.clone(),
        address: chosen.address,
        size: chosen.size,
        level: chosen.level,
        same_name: copies.len(),
        variants: variants.clone(),
        evidence,
    })
}

#[cfg(test)]
mod tests;
