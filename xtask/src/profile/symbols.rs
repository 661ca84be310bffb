//! Choosing the functions to disassemble per op: the callgrind result when there is one, else a
//! documented name pattern (and the report says which); Raptors's AVX-512 twin of the AVX2
//! function callgrind saw; the aarch64 functions that correspond to the x86-64 ones.

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A function in a library, from `raptors-asm symbols --json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Sym {
    pub name: String,
    pub address: u64,
    pub size: u64,
}

/// How a function was chosen: recorded next to every function in the artifacts.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Hottest function of the library in a callgrind profile of the op.
    Callgrind,
    /// Documented name pattern (callgrind gave nothing usable for this op).
    Pattern,
    /// Same function name with the ISA level substituted (avx2 → avx512, x86 → aarch64).
    NameMapping,
}

impl Method {
    pub fn label(self) -> &'static str {
        match self {
            Method::Callgrind => "callgrind (hottest in library)",
            Method::Pattern => "name pattern (fallback)",
            Method::NameMapping => "name mapping from the x86-64 function",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Chosen {
    pub symbol: String,
    /// File address of the chosen function when its name is not unique in the library.
    #[serde(default)]
    pub address: Option<u64>,
    pub method: Method,
    /// Why this one: e.g. "87 % of NumPy's Ir during the op", or the pattern that matched.
    pub evidence: String,
}

/// Reads `raptors-asm symbols --json`: an array of functions, or an object holding one under
/// `functions`/`symbols`. Names come from `name` (or `demangled`), bounds from `address`/`size`.
pub fn parse_symbols(v: &Value) -> anyhow::Result<Vec<Sym>> {
    let list = match v {
        Value::Array(a) => a,
        Value::Object(o) => o
            .get("functions")
            .or_else(|| o.get("symbols"))
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow::anyhow!("symbols JSON has no `functions` or `symbols` array"))?,
        _ => anyhow::bail!("symbols JSON is neither an array nor an object"),
    };
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let name = item
            .get("name")
            .or_else(|| item.get("demangled"))
            .and_then(Value::as_str);
        let Some(name) = name else { continue };
        let num = |k: &str| {
            item.get(k).and_then(|x| {
                x.as_u64().or_else(|| {
                    x.as_str()
                        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
                })
            })
        };
        out.push(Sym {
            name: name.to_string(),
            address: num("address").or_else(|| num("addr")).unwrap_or(0),
            size: num("size").unwrap_or(0),
        });
    }
    if out.is_empty() {
        anyhow::bail!("symbols JSON lists no functions");
    }
    Ok(out)
}

/// Rust's legacy mangling hash (`::h0123456789abcdef`) differs between tools; compare without it.
pub fn normalize(name: &str) -> &str {
    match name.rfind("::h") {
        Some(i) if name.len() - i == 19 && name[i + 3..].chars().all(|c| c.is_ascii_hexdigit()) => {
            &name[..i]
        }
        _ => name,
    }
}

pub fn find_exact<'a>(syms: &'a [Sym], name: &str) -> Option<&'a Sym> {
    let want = normalize(name);
    syms.iter().find(|s| normalize(&s.name) == want)
}

pub fn find_all<'a>(syms: &'a [Sym], name: &str) -> Vec<&'a Sym> {
    let want = normalize(name);
    syms.iter().filter(|s| normalize(&s.name) == want).collect()
}

/// The library's load address: runtime entry − file address, agreed on by the uniquely named
/// functions callgrind saw (shared objects load at one page-aligned bias).
pub fn load_bias(anchors: &[(String, u64)], syms: &[Sym]) -> Option<u64> {
    let mut votes: std::collections::BTreeMap<u64, usize> = std::collections::BTreeMap::new();
    for (name, runtime) in anchors {
        if let [only] = find_all(syms, name).as_slice() {
            if let Some(b) = runtime.checked_sub(only.address) {
                if b % 0x1000 == 0 {
                    *votes.entry(b).or_default() += 1;
                }
            }
        }
    }
    votes.into_iter().max_by_key(|(_, n)| *n).map(|(b, _)| b)
}

/// Among same-named functions, the one whose entry is `runtime - bias`.
pub fn by_address<'a>(syms: &'a [Sym], name: &str, runtime: u64, bias: u64) -> Option<&'a Sym> {
    let file_addr = runtime.checked_sub(bias)?;
    find_all(syms, name)
        .into_iter()
        .find(|s| s.address == file_addr)
}

/// NumPy's C type prefix for a dtype.
pub fn numpy_type(dtype: &str) -> &'static str {
    if dtype == "f64" {
        "DOUBLE"
    } else {
        "FLOAT"
    }
}

/// Documented fallback patterns (regexes over demangled names) per op. NumPy's sums and means go
/// through the `add` ufunc's loop (reduction), scale through `multiply`; Raptors's kernels carry
/// the op and dtype in their names.
pub fn fallback_patterns(op: &str, dtype: &str, numpy: bool) -> Vec<String> {
    if numpy {
        let t = numpy_type(dtype);
        let ufunc = if op == "scale" { "multiply" } else { "add" };
        let mut p = vec![format!("^{t}_{ufunc}(_[A-Z0-9_]+)?$")];
        if matches!(op, "sum" | "mean") {
            p.push(format!("^{t}_pairwise_sum(_[A-Z0-9_]+)?$"));
        }
        p
    } else {
        // raptors-kernels names its entry points `arch::<isa>::<kernel>_<dtype>` (README).
        let stem = match op {
            "sum" | "mean" => "sum",
            "mean_axis0" => "sum_axis0",
            "mean_axis1" => "sum_axis1",
            "broadcast_add_row" | "broadcast_add_col" | "add" => "add",
            "scale" => "mul_scalar|mul",
            _ => op,
        };
        vec![
            format!("avx2::({stem})_{dtype}$"),
            format!("(?i)avx2.*({stem}).*{dtype}"),
        ]
    }
}

/// First pattern with a match wins; among its matches the largest function (the loop body, not
/// a thunk).
pub fn by_patterns(syms: &[Sym], patterns: &[String]) -> Option<Chosen> {
    for p in patterns {
        let Ok(re) = Regex::new(p) else { continue };
        let best = syms
            .iter()
            .filter(|s| re.is_match(normalize(&s.name)))
            .max_by_key(|s| (s.size, std::cmp::Reverse(s.name.clone())));
        if let Some(s) = best {
            return Some(Chosen {
                symbol: s.name.clone(),
                address: None,
                method: Method::Pattern,
                evidence: format!("matched /{p}/"),
            });
        }
    }
    None
}

/// Raptors's AVX-512 twin of an AVX2 function: same name with the level substituted.
pub fn avx512_twin(syms: &[Sym], avx2_name: &str) -> Option<Chosen> {
    let candidate = substitute_level(
        avx2_name,
        &[("avx2", "avx512"), ("Avx2", "Avx512"), ("AVX2", "AVX512")],
    )?;
    find_exact(syms, &candidate).map(|s| Chosen {
        symbol: s.name.clone(),
        address: None,
        method: Method::NameMapping,
        evidence: format!(
            "AVX2 function `{}` with avx2 → avx512",
            normalize(avx2_name)
        ),
    })
}

/// Raptors's NEON twin of an x86-64 kernel in the aarch64 build.
pub fn neon_twin(syms: &[Sym], x86_name: &str) -> Option<Chosen> {
    let pairs: &[(&str, &str)] = &[
        ("x86_64::avx512", "aarch64::neon"),
        ("x86_64::avx2", "aarch64::neon"),
        ("x86_64::sse2", "aarch64::neon"),
        ("x86::avx512", "aarch64::neon"),
        ("x86::avx2", "aarch64::neon"),
        ("avx512", "neon"),
        ("Avx512", "Neon"),
        ("avx2", "neon"),
        ("Avx2", "Neon"),
    ];
    for (from, to) in pairs {
        if let Some(candidate) = substitute_level(x86_name, &[(from, to)]) {
            if let Some(s) = find_exact(syms, &candidate) {
                return Some(Chosen {
                    symbol: s.name.clone(),
                    address: None,
                    method: Method::NameMapping,
                    evidence: format!(
                        "x86-64 function `{}` with {from} → {to}",
                        normalize(x86_name)
                    ),
                });
            }
        }
    }
    None
}

fn substitute_level(name: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let base = normalize(name);
    let mut out = base.to_string();
    for (from, to) in pairs {
        out = out.replace(from, to);
    }
    (out != base).then_some(out)
}

/// NumPy's dispatch suffixes (`_X86_V3`, `_AVX2`, `_AVX512_SKX`, `_FMA3__AVX2`, `_ASIMD`, …).
const ISA_TOKENS: &[&str] = &[
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
    "VSX4",
    "VSX3",
    "VSX2",
    "VSX",
    "VXE2",
    "VXE",
    "VX",
    "LSX",
    "RVV",
];

/// `FLOAT_add_X86_V3` → `FLOAT_add`; names without a dispatch suffix are returned unchanged.
pub fn strip_isa_suffix(name: &str) -> &str {
    let mut s = name;
    'outer: loop {
        for tok in ISA_TOKENS {
            if let Some(rest) = s.strip_suffix(tok) {
                if let Some(rest) = rest.strip_suffix('_') {
                    s = rest.strip_suffix('_').unwrap_or(rest);
                    continue 'outer;
                }
            }
        }
        return s;
    }
}

/// Functions of `syms` that are `base` or a dispatch variant of it, best first: SIMD variants
/// (any ISA suffix) before the baseline, then the larger body.
pub fn dispatch_variants<'a>(syms: &'a [Sym], base: &str) -> Vec<&'a Sym> {
    let mut v: Vec<&Sym> = syms
        .iter()
        .filter(|s| {
            s.name == base || (s.name.starts_with(base) && strip_isa_suffix(&s.name) == base)
        })
        .collect();
    v.sort_by(|a, b| {
        let a_simd = a.name != base;
        let b_simd = b.name != base;
        b_simd
            .cmp(&a_simd)
            .then(b.size.cmp(&a.size))
            .then(a.name.cmp(&b.name))
    });
    v.dedup_by(|a, b| a.name == b.name);
    v
}

/// NumPy's aarch64 function for an op, mapped from the x86-64 function callgrind found (NumPy
/// cannot run on aarch64 here).
pub fn numpy_aarch64(syms: &[Sym], x86_name: &str) -> Option<Chosen> {
    let base = strip_isa_suffix(x86_name);
    let variants = dispatch_variants(syms, base);
    let first = variants.first()?;
    let all: Vec<&str> = variants.iter().map(|s| s.name.as_str()).collect();
    // Same-named local copies (several translation units): analyse the largest.
    let copies = find_all(syms, &first.name);
    let biggest = copies
        .iter()
        .max_by_key(|s| s.size)
        .copied()
        .unwrap_or(first);
    let note = if copies.len() > 1 {
        format!(
            "; {} functions share this name, the largest (at {:#x}) is analysed",
            copies.len(),
            biggest.address
        )
    } else {
        String::new()
    };
    Some(Chosen {
        symbol: first.name.clone(),
        address: (copies.len() > 1).then_some(biggest.address),
        method: Method::NameMapping,
        evidence: format!(
            "x86-64 `{x86_name}` → base `{base}`; aarch64 variants: {}{note}",
            all.join(", ")
        ),
    })
}

/// Other dispatch variants of a NumPy function in the same library (e.g. an AVX-512 build the real
/// run could pick where valgrind forced a lower level).
pub fn numpy_x86_variants(syms: &[Sym], name: &str) -> Vec<String> {
    dispatch_variants(syms, strip_isa_suffix(name))
        .into_iter()
        .map(|s| s.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syms(names: &[(&str, u64)]) -> Vec<Sym> {
        names
            .iter()
            .enumerate()
            .map(|(i, (n, size))| Sym {
                name: n.to_string(),
                address: 0x1000 + i as u64 * 0x100,
                size: *size,
            })
            .collect()
    }

    #[test]
    fn strips_numpy_dispatch_suffixes() {
        assert_eq!(strip_isa_suffix("FLOAT_add_X86_V3"), "FLOAT_add");
        assert_eq!(strip_isa_suffix("FLOAT_add_FMA3__AVX2"), "FLOAT_add");
        assert_eq!(
            strip_isa_suffix("DOUBLE_multiply_AVX512_SKX"),
            "DOUBLE_multiply"
        );
        assert_eq!(strip_isa_suffix("FLOAT_add_ASIMD"), "FLOAT_add");
        assert_eq!(strip_isa_suffix("FLOAT_add"), "FLOAT_add");
        assert_eq!(
            strip_isa_suffix("PyInit__multiarray_umath"),
            "PyInit__multiarray_umath"
        );
    }

    #[test]
    fn maps_numpy_x86_function_to_aarch64_variants() {
        let arm = syms(&[
            ("FLOAT_add", 200),
            ("FLOAT_add_ASIMD", 900),
            ("FLOAT_add_indexed", 300),
            ("FLOAT_addsub", 50),
        ]);
        let c = numpy_aarch64(&arm, "FLOAT_add_X86_V3").unwrap();
        assert_eq!(c.symbol, "FLOAT_add_ASIMD");
        assert_eq!(c.method, Method::NameMapping);
        assert!(c.evidence.contains("FLOAT_add_ASIMD, FLOAT_add"));
        assert!(!c.evidence.contains("indexed"));
        assert!(numpy_aarch64(&arm, "DOUBLE_add_X86_V3").is_none());
    }

    #[test]
    fn finds_avx512_and_neon_twins_by_name() {
        let x86 = syms(&[
            (
                "raptors_kernels::arch::x86_64::avx2::sum_f32::h0123456789abcdef",
                400,
            ),
            (
                "raptors_kernels::arch::x86_64::avx512::sum_f32::hfedcba9876543210",
                500,
            ),
        ]);
        let twin = avx512_twin(
            &x86,
            "raptors_kernels::arch::x86_64::avx2::sum_f32::h1111111111111111",
        )
        .unwrap();
        assert_eq!(twin.symbol, x86[1].name);
        assert!(avx512_twin(&x86, "raptors_kernels::scalar::sum_f32").is_none());
        let arm = syms(&[("raptors_kernels::arch::aarch64::neon::sum_f32", 300)]);
        let n = neon_twin(
            &arm,
            "raptors_kernels::arch::x86_64::avx2::sum_f32::h0123456789abcdef",
        )
        .unwrap();
        assert_eq!(n.symbol, "raptors_kernels::arch::aarch64::neon::sum_f32");
    }

    #[test]
    fn pattern_fallback_prefers_first_pattern_and_largest_body() {
        let s = syms(&[
            ("FLOAT_add_X86_V2", 100),
            ("FLOAT_add_X86_V3", 700),
            ("FLOAT_pairwise_sum_X86_V3", 900),
        ]);
        let c = by_patterns(&s, &fallback_patterns("sum", "f32", true)).unwrap();
        assert_eq!(c.symbol, "FLOAT_add_X86_V3");
        assert_eq!(c.method, Method::Pattern);
        let none = by_patterns(&s, &fallback_patterns("scale", "f64", true));
        assert!(none.is_none());
        let r = syms(&[
            ("raptors_kernels::arch::x86_64::avx2::sum_axis0_f32", 10),
            ("raptors_kernels::arch::x86_64::avx2::sum_axis0_f64", 10),
            ("raptors_kernels::arch::x86_64::avx2::sum_f64", 10),
        ]);
        let c = by_patterns(&r, &fallback_patterns("mean_axis0", "f64", false)).unwrap();
        assert_eq!(
            c.symbol,
            "raptors_kernels::arch::x86_64::avx2::sum_axis0_f64"
        );
        let c = by_patterns(&r, &fallback_patterns("sum", "f64", false)).unwrap();
        assert_eq!(c.symbol, "raptors_kernels::arch::x86_64::avx2::sum_f64");
    }

    #[test]
    fn parses_symbol_json_shapes() {
        let v = serde_json::json!({"functions": [{"name": "f", "address": "0x10", "size": 4}, {"nope": 1}]});
        assert_eq!(
            parse_symbols(&v).unwrap(),
            vec![Sym {
                name: "f".into(),
                address: 16,
                size: 4
            }]
        );
        assert!(parse_symbols(&serde_json::json!({"x": 1})).is_err());
        assert!(parse_symbols(&serde_json::json!([])).is_err());
    }

    #[test]
    fn same_named_functions_are_told_apart_by_address() {
        let s = syms(&[
            ("FLOAT_pairwise_sum", 100),
            ("FLOAT_add", 50),
            ("FLOAT_pairwise_sum", 100),
            ("DOUBLE_add", 50),
        ]);
        // Loaded at 0x7f0000000000: FLOAT_add is at file 0x1100, DOUBLE_add at 0x1300.
        let base = 0x7f00_0000_0000u64;
        let anchors = vec![
            ("FLOAT_add".to_string(), base + 0x1100),
            ("DOUBLE_add".to_string(), base + 0x1300),
            ("FLOAT_pairwise_sum".to_string(), base + 0x1200),
        ];
        let bias = load_bias(&anchors, &s).unwrap();
        assert_eq!(bias, base);
        assert_eq!(
            by_address(&s, "FLOAT_pairwise_sum", base + 0x1200, bias)
                .unwrap()
                .address,
            0x1200
        );
        assert!(by_address(&s, "FLOAT_pairwise_sum", base + 0x1250, bias).is_none());
        assert_eq!(load_bias(&[], &s), None);
    }

    #[test]
    fn normalizes_rust_hashes_only() {
        assert_eq!(normalize("a::b::h0123456789abcdef"), "a::b");
        assert_eq!(normalize("a::b::hello"), "a::b::hello");
    }
}
